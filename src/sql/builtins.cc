#include "sql/builtins.h"

#include <sqlite3.h>

#include <string>
#include <unordered_map>

#include "common/strutil.h"
#include "sql/catalog_views.h"
#include "sql/functions.h"
#include "sql/system.h"
#include "sql/value.h"

namespace bgw::sql::builtins {
namespace {

// SQLite's own functions, typed as PostgreSQL types its functions of the
// same name (SQLite's values alone would say int8 for length's int4).
const Function kSqliteFunctions[] = {
    {"count", -1, oid::kInt8, 0},  {"exists", -1, oid::kBool, 0},
    {"length", -1, oid::kInt4, 0}, {"char_length", -1, oid::kInt4, 0},
    {"lower", -1, oid::kText, 0},  {"upper", -1, oid::kText, 0},
    {"substr", -1, oid::kText, 0}, {"substring", -1, oid::kText, 0},
    {"concat", -1, oid::kText, 0},
};

}  // namespace

Status Register(sqlite3* db, std::span<const Function> functions, void* user_data,
                void (*destroy)(void*)) {
  bool first = true;
  for (const Function& f : functions) {
    // The first registration owns user_data: SQLite calls destroy when the
    // connection closes (or at once, should this registration fail).
    const int rc = sqlite3_create_function_v2(db, f.name, f.nargs, SQLITE_UTF8 | f.flags, user_data,
                                              f.scalar, f.step, f.final, first ? destroy : nullptr);
    first = false;
    if (rc != SQLITE_OK) {
      return MakeError("XX000",
                       StringPrintf("could not register %s: %s", f.name, sqlite3_errmsg(db)));
    }
  }
  return Status::Ok();
}

uint32_t ReturnType(std::string_view name) {
  // Built once: every table is constant.
  static const std::unordered_map<std::string, uint32_t> types = [] {
    std::unordered_map<std::string, uint32_t> m;
    for (std::span<const Function> table :
         {functions::Functions(), system::Functions(), catalog_views::Functions(),
          std::span<const Function>(kSqliteFunctions)}) {
      for (const Function& f : table) {
        if (f.return_type != 0) m.emplace(f.name, f.return_type);
      }
    }
    return m;
  }();
  auto it = types.find(std::string(name));
  return it != types.end() ? it->second : 0;
}

}  // namespace bgw::sql::builtins
