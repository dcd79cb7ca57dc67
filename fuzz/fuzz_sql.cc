// libFuzzer target: arbitrary SQL from an ordinary (non-superuser) role
// through the whole engine (lexer, rewriter, privilege checks, sandbox,
// SQLite), the way the protocol's simple query runs it.
//
// Set up once: a data directory with a catalog, the bootstrap superuser's
// table `secret` (no grants) and `shared` (SELECT granted to alice), and a
// session of alice on it, with statement_timeout and the memory and
// temporary-space caps low so no input can hang or exhaust the run.
//
// After every input the invariants of the sandbox are checked, and any
// failure aborts (libFuzzer keeps the input):
//   - the session is still alice's and not a superuser's;
//   - `secret` still holds exactly its rows, and no grant on it appeared;
//   - the data directory holds only the files it started with (plus the
//     WAL and wal-index files of the database), nothing appeared next to
//     it, and nothing in the fuzzer's working directory (where relative
//     file names in SQL would land).
// A crash, an ASan report or a leak is a bug; an SQL error is the expected
// answer to garbage.
//
// Built only with -DBGW_FUZZ=ON and clang (scripts/fuzz does both).
#include <sqlite3.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "guc/guc.h"
#include "guc/settings.h"
#include "protocol/auth.h"
#include "sql/session.h"
#include "storage/catalog.h"

namespace {

namespace fs = std::filesystem;
using bgw::sql::Session;

struct Discard final : bgw::sql::RowSink {
  bgw::Status Row(std::span<const bgw::sql::Value>) override { return bgw::Status::Ok(); }
};

std::string base_dir;  // holds data/ and nothing else of ours
std::string data_dir;
std::unique_ptr<Session> session;
std::set<std::string> files_before;
std::set<std::string> cwd_before;

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "fuzz_sql invariant broken: %s\n", why.c_str());
  std::abort();
}

std::set<std::string> Files(const std::string& root) {
  std::set<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); it != fs::end(it); it.increment(ec)) {
    const std::string name = it->path().string();
    // The database's WAL and wal-index come and go with SQLite.
    if (name.ends_with("-wal") || name.ends_with("-shm") || name.ends_with("-journal")) continue;
    out.insert(name);
  }
  return out;
}

// The working directory's entries, but what libFuzzer itself writes there.
std::set<std::string> CwdEntries() {
  std::set<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::current_path(), ec)) {
    const std::string name = e.path().filename().string();
    bool fuzzer = false;
    for (const char* prefix : {"corpus", "crash-", "leak-", "timeout-", "oom-", "slow-unit-",
                               "fuzz-", "CMake", "Makefile", "cmake_install"}) {
      fuzzer = fuzzer || name.rfind(prefix, 0) == 0;
    }
    if (!fuzzer) out.insert(name);
  }
  return out;
}

// Runs one statement as the superuser through a plain SQLite connection
// of the test's own (not the sandbox): the reference view of the data.
std::string Query(const char* sql) {
  sqlite3* db = nullptr;
  const std::string path = bgw::storage::DatabaseFilePath(data_dir, 5);
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    Die("cannot open the database to check it");
  }
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* st = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW) {
    const unsigned char* t = sqlite3_column_text(st, 0);
    out = t != nullptr ? reinterpret_cast<const char*>(t) : "NULL";
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

void RunAll(Session& s, std::string_view sql) {
  Discard sink;
  for (const std::string& one : Session::SplitStatements(sql)) {
    auto st = s.Prepare(one, {});
    if (!st.ok()) {
      s.AfterError();
      continue;
    }
    std::vector<bgw::sql::Value> params((*st)->param_types().size(), bgw::sql::Value::Null());
    auto portal = s.Bind(*st, std::move(params));
    if (!portal.ok()) {
      s.AfterError();
      continue;
    }
    if (auto r = (*portal)->Execute(0, sink); !r.ok()) {
      if (r.error().severity == "FATAL") Die("FATAL from a statement: " + r.error().message);
      s.AfterError();
    }
  }
  if (!s.Sync().ok()) s.AfterError();
  (void)s.TakeNotices();
}

std::unique_ptr<Session> Open(const std::string& role, uint32_t oid, bool superuser) {
  bgw::sql::SessionInfo info;
  info.database_oid = 5;
  info.database_name = "postgres";
  info.database_path = bgw::storage::DatabaseFilePath(data_dir, 5);
  info.database_owner = bgw::storage::kBootstrapSuperuserOid;
  info.role_oid = oid;
  info.role_name = role;
  info.superuser = superuser;
  info.data_dir = data_dir;
  auto s = Session::Open(info);
  if (!s.ok()) Die("cannot open a session: " + s.error().message);
  return std::move(*s);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  char tmpl[] = "/tmp/bgw_fuzz_sql_XXXXXX";
  if (mkdtemp(tmpl) == nullptr) Die("mkdtemp");
  base_dir = tmpl;
  data_dir = base_dir + "/data";
  fs::create_directories(data_dir);
  if (!bgw::storage::Catalog::Initialize(data_dir, "admin", "").ok()) Die("catalog");
  {
    auto catalog = bgw::storage::Catalog::Open(data_dir);
    if (!catalog.ok()) Die("catalog open");
    bgw::storage::RoleOptions login;
    login.can_login = true;
    if (!(*catalog)->CreateRole("alice", login).ok()) Die("alice");
  }
  auto admin = Open("admin", bgw::storage::kBootstrapSuperuserOid, true);
  RunAll(*admin,
         "CREATE TABLE secret (id INTEGER PRIMARY KEY, s TEXT);"
         "INSERT INTO secret VALUES (1, 'one'), (2, 'two');"
         "CREATE TABLE shared (x INT); INSERT INTO shared VALUES (7);"
         "GRANT SELECT ON shared TO alice;");
  admin.reset();
  if (Query("SELECT count(*) FROM secret") != "2") Die("setup of secret");
  bgw::guc::session_memory_limit = 64 * 1024;  // kB
  bgw::guc::temp_file_limit = 4 * 1024;
  session = Open("alice", 16384, false);
  RunAll(*session, "SET statement_timeout = 200");
  files_before = Files(base_dir);
  cwd_before = CwdEntries();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  RunAll(*session, std::string_view(reinterpret_cast<const char*>(data), size));
  const bgw::sql::SessionInfo& info = session->info();
  if (info.superuser || info.role_name != "alice" || info.session_role_name != "alice") {
    Die("the session changed identity to " + info.role_name);
  }
  if (Query("SELECT group_concat(id || s, ',') FROM secret") != "1one,2two") {
    Die("secret was changed");
  }
  if (Query("SELECT count(*) FROM bgw_catalog_class WHERE name = 'secret' AND acl IS NOT NULL") !=
      "0") {
    Die("a grant on secret appeared");
  }
  if (Files(base_dir) != files_before) Die("files appeared or vanished under " + base_dir);
  if (CwdEntries() != cwd_before) Die("files appeared in the working directory");
  return 0;
}
