// Between SQLite and PostgreSQL: SQLite's errors as PostgreSQL's SQLSTATEs,
// its column values and declared types as PostgreSQL values and type OIDs.
#include "sql/session_internal.h"

#include <sqlite3.h>

#include <cstring>

#include "common/strutil.h"

namespace bgw::sql {
namespace internal {

uint32_t DeclTypeOid(std::string_view decl) {
  const std::string d = AsciiLower(decl);
  std::string base = d.substr(0, d.find('('));
  while (!base.empty() && base.back() == ' ') base.pop_back();
  // SQLite's rowid aliases are 64-bit: "INTEGER" means int8 here.
  if (base == "integer") return oid::kInt8;
  // SQLite's REAL is 8 bytes: presenting it as float4 would lose digits.
  if (base == "real") return oid::kFloat8;
  if (uint32_t known = TypeOidFromName(d); known != 0) return known;
  // SQLite's affinity rules, in its order.
  if (d.find("int") != std::string::npos) return oid::kInt8;
  if (d.find("char") != std::string::npos || d.find("clob") != std::string::npos ||
      d.find("text") != std::string::npos) {
    return oid::kText;
  }
  if (d.find("blob") != std::string::npos) return oid::kBytea;
  if (d.find("real") != std::string::npos || d.find("floa") != std::string::npos ||
      d.find("doub") != std::string::npos) {
    return oid::kFloat8;
  }
  return oid::kNumeric;
}

ErrorReport TranslateSqliteError(int rc, int extended, const std::string& msg) {
  auto after = [&](const char* prefix) -> std::string {
    size_t n = std::strlen(prefix);
    return msg.compare(0, n, prefix) == 0 ? msg.substr(n) : std::string();
  };
  auto split_table_column = [](const std::string& s, std::string* table, std::string* column) {
    size_t dot = s.find('.');
    *table = dot == std::string::npos ? "" : s.substr(0, dot);
    *column = dot == std::string::npos ? s : s.substr(dot + 1);
  };
  const int primary = rc & 0xFF;
  if (primary == SQLITE_CONSTRAINT) {
    if (extended == SQLITE_CONSTRAINT_UNIQUE || extended == SQLITE_CONSTRAINT_PRIMARYKEY) {
      std::string cols = after("UNIQUE constraint failed: ");
      std::string table, column;
      std::string first = cols.substr(0, cols.find(','));
      split_table_column(first, &table, &column);
      std::string key_cols;
      for (const std::string& tc : SplitTrimmed(cols, ',')) {
        std::string tt, cc;
        split_table_column(tc, &tt, &cc);
        key_cols += (key_cols.empty() ? "" : ", ") + cc;
      }
      std::string name = extended == SQLITE_CONSTRAINT_PRIMARYKEY ? table + "_pkey"
                                                                  : table + "_" + column + "_key";
      return MakeError(
          "23505",
          StringPrintf("duplicate key value violates unique constraint \"%s\"", name.c_str()),
          StringPrintf("Key (%s) already exists.", key_cols.c_str()));
    }
    if (extended == SQLITE_CONSTRAINT_NOTNULL) {
      std::string table, column;
      split_table_column(after("NOT NULL constraint failed: "), &table, &column);
      return MakeError("23502",
                       StringPrintf("null value in column \"%s\" of relation \"%s\" violates "
                                    "not-null constraint",
                                    column.c_str(), table.c_str()));
    }
    if (extended == SQLITE_CONSTRAINT_FOREIGNKEY) {
      return MakeError("23503", "insert or update violates foreign key constraint", msg);
    }
    if (extended == SQLITE_CONSTRAINT_CHECK) {
      std::string name = after("CHECK constraint failed: ");
      return MakeError("23514",
                       StringPrintf("new row violates check constraint \"%s\"", name.c_str()));
    }
    return MakeError("23000", msg);
  }
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
    if (extended == SQLITE_BUSY_SNAPSHOT) {
      return MakeError("40001", "could not serialize access due to concurrent update",
                       "Another transaction committed a write after this transaction read.",
                       "The transaction might succeed if retried.");
    }
    return MakeError("55P03", "could not obtain lock on the database: " + msg);
  }
  if (primary == SQLITE_READONLY) return MakeError("25006", msg);
  if (primary == SQLITE_FULL) return MakeError("53100", "could not extend database file: " + msg);
  if (primary == SQLITE_TOOBIG) return MakeError("54000", msg);
  if (primary == SQLITE_MISMATCH) return MakeError("42804", msg);
  if (primary == SQLITE_NOMEM) return MakeError("53200", "out of memory");
  if (primary == SQLITE_INTERRUPT)
    return MakeError("57014", "canceling statement due to user request");
  if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) return MakeError("XX001", msg);
  if (primary == SQLITE_IOERR) return MakeError("58030", "I/O error: " + msg);
  if (std::string s = after("no such table: "); !s.empty()) {
    size_t dot = s.find('.');
    if (dot != std::string::npos) s = s.substr(dot + 1);
    return MakeError("42P01", StringPrintf("relation \"%s\" does not exist", s.c_str()));
  }
  if (std::string s = after("no such column: "); !s.empty()) {
    return MakeError("42703", StringPrintf("column \"%s\" does not exist", s.c_str()));
  }
  if (std::string s = after("no such function: "); !s.empty()) {
    return MakeError("42883", StringPrintf("function %s does not exist", s.c_str()), "",
                     "No function matches the given name and argument types.");
  }
  if (std::string s = after("wrong number of arguments to function "); !s.empty()) {
    return MakeError("42883", "function " + s + " does not exist", "",
                     "No function matches the given name and argument types.");
  }
  if (std::string s = after("no such savepoint: "); !s.empty()) {
    return MakeError("3B001", StringPrintf("savepoint \"%s\" does not exist", s.c_str()));
  }
  if (std::string s = after("ambiguous column name: "); !s.empty()) {
    return MakeError("42702", StringPrintf("column reference \"%s\" is ambiguous", s.c_str()));
  }
  for (const char* what : {"table ", "index ", "view ", "trigger "}) {
    std::string s = after(what);
    size_t pos = s.find(" already exists");
    if (!s.empty() && pos != std::string::npos) {
      return MakeError("42P07",
                       StringPrintf("relation \"%s\" already exists", s.substr(0, pos).c_str()));
    }
  }
  if (std::string s = after("table ");
      !s.empty() && s.find(" may not be modified") != std::string::npos) {
    return MakeError("42501", "permission denied for table " + s.substr(0, s.find(' ')));
  }
  if (std::string s = after("no such index: "); !s.empty()) {
    return MakeError("42704", StringPrintf("index \"%s\" does not exist", s.c_str()));
  }
  if (std::string s = after("duplicate column name: "); !s.empty()) {
    return MakeError("42701", StringPrintf("column \"%s\" specified more than once", s.c_str()));
  }
  if (msg.compare(0, 6, "near \"") == 0) {
    size_t end = msg.find("\": syntax error");
    if (end != std::string::npos) {
      return MakeError("42601", "syntax error at or near \"" + msg.substr(6, end - 6) + "\"");
    }
  }
  if (msg == "incomplete input") return MakeError("42601", "syntax error at end of input");
  if (msg.find("syntax error") != std::string::npos) return MakeError("42601", msg);
  if (msg.find("datatype mismatch") != std::string::npos) return MakeError("42804", msg);
  return MakeError("XX000", msg);
}

ErrorReport SettingsError(const Status& status) {
  // The registry names its SQLSTATE at the source (guc.cc); 22023 when it
  // gave none (a value refused for a reason it did not classify).
  ErrorReport e = status.error();
  if (e.sqlstate.empty()) e.sqlstate = "22023";
  return e;
}

Value ColumnValue(sqlite3_stmt* st, int k) {
  switch (sqlite3_column_type(st, k)) {
    case SQLITE_INTEGER:
      return Value::Int(sqlite3_column_int64(st, k));
    case SQLITE_FLOAT:
      return Value::Real(sqlite3_column_double(st, k));
    case SQLITE_TEXT: {
      const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, k));
      int n = sqlite3_column_bytes(st, k);
      return Value::Text(std::string(p, static_cast<size_t>(n)));
    }
    case SQLITE_BLOB: {
      const void* p = sqlite3_column_blob(st, k);
      int n = sqlite3_column_bytes(st, k);
      return Value::Blob(n > 0 ? std::string(static_cast<const char*>(p), static_cast<size_t>(n))
                               : std::string());
    }
    default:
      return Value::Null();
  }
}

uint32_t ValueTypeOid(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kInt:
      return oid::kInt8;
    case Value::Kind::kReal:
      return oid::kFloat8;
    case Value::Kind::kBlob:
      return oid::kBytea;
    default:
      return oid::kText;
  }
}

}  // namespace internal
}  // namespace bgw::sql
