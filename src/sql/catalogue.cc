// The catalogue of one database; see catalogue.h.
#include "sql/catalogue.h"

#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "common/strutil.h"
#include "storage/catalog.h"
#include "storage/sqlite_stmt.h"

namespace bgw::sql::catalogue {
namespace {

using storage::Stmt;

constexpr const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS bgw_catalog_namespace(
  name TEXT PRIMARY KEY COLLATE NOCASE,
  owner INTEGER NOT NULL,
  acl TEXT);
CREATE TABLE IF NOT EXISTS bgw_catalog_class(
  name TEXT PRIMARY KEY COLLATE NOCASE,
  oid INTEGER NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  owner INTEGER NOT NULL,
  acl TEXT,
  parent TEXT NOT NULL DEFAULT '' COLLATE NOCASE);
CREATE TABLE IF NOT EXISTS bgw_catalog_column_acl(
  relname TEXT NOT NULL COLLATE NOCASE,
  attname TEXT NOT NULL COLLATE NOCASE,
  acl TEXT NOT NULL,
  PRIMARY KEY(relname, attname));
CREATE TABLE IF NOT EXISTS bgw_catalog_proc(
  name TEXT NOT NULL,
  nargs INTEGER NOT NULL,
  arg_types TEXT NOT NULL,
  return_type INTEGER NOT NULL,
  library TEXT NOT NULL,
  symbol TEXT NOT NULL,
  strict INTEGER NOT NULL,
  owner INTEGER NOT NULL,
  acl TEXT,
  defaults TEXT NOT NULL DEFAULT '',
  PRIMARY KEY(name, nargs));
CREATE TABLE IF NOT EXISTS bgw_catalog_oid(
  id INTEGER PRIMARY KEY CHECK (id = 1),
  next INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS bgw_catalog_extension(
  name TEXT PRIMARY KEY,
  oid INTEGER NOT NULL UNIQUE,
  owner INTEGER NOT NULL,
  version TEXT NOT NULL,
  relocatable INTEGER NOT NULL,
  members TEXT NOT NULL);
)";

ErrorReport Failed(sqlite3* db, const std::string& what) {
  return MakeError("XX000", what + ": " + sqlite3_errmsg(db));
}

Status Exec(sqlite3* db, const char* sql, const char* what) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) return Failed(db, what);
  return Status::Ok();
}

Status Done(Stmt& st, sqlite3* db, const char* what) {
  if (st.Step() != SQLITE_DONE) return Failed(db, what);
  return Status::Ok();
}

void BindAcl(Stmt& st, int i, const std::optional<acl::Acl>& a) {
  if (a) {
    st.Bind(i, acl::Encode(*a));
  } else {
    st.BindNull(i);
  }
}

// A stored ACL; a damaged one reads as "no privileges" (the owner can
// still GRANT again), never as more than was granted.
std::optional<acl::Acl> ReadAcl(const Stmt& st, int col) {
  if (st.IsNull(col)) return std::nullopt;
  std::optional<acl::Acl> a = acl::Decode(st.Text(col));
  return a ? a : std::optional<acl::Acl>(acl::Acl{});
}

std::string JoinOids(const std::vector<uint32_t>& oids) {
  std::string out;
  for (uint32_t o : oids) out += (out.empty() ? "" : ",") + std::to_string(o);
  return out;
}

std::vector<uint32_t> SplitOids(const std::string& s) {
  std::vector<uint32_t> out;
  for (const std::string& part : SplitTrimmed(s, ',')) {
    if (!part.empty())
      out.push_back(static_cast<uint32_t>(std::strtoul(part.c_str(), nullptr, 10)));
  }
  return out;
}

int64_t UserVersion(sqlite3* db) {
  Stmt st(db, "PRAGMA user_version");
  return st.Step() == SQLITE_ROW ? st.Int(0) : -1;
}

bool ColumnExists(sqlite3* db, const char* table, const char* column) {
  Stmt st(db, "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2");
  st.Bind(1, std::string_view(table)).Bind(2, std::string_view(column));
  return st.Step() == SQLITE_ROW;
}

// Argument defaults in one column: each "n" (NULL) or "v<text>", separated
// by the ASCII unit separator, which CREATE FUNCTION refuses in a default.
constexpr char kDefaultSeparator = '\x1f';

std::string EncodeDefaults(const std::vector<std::optional<std::string>>& defaults) {
  std::string out;
  for (size_t i = 0; i < defaults.size(); i++) {
    if (i > 0) out += kDefaultSeparator;
    out += defaults[i] ? "v" + *defaults[i] : std::string("n");
  }
  return out;
}

std::vector<std::optional<std::string>> DecodeDefaults(const std::string& text) {
  std::vector<std::optional<std::string>> out;
  if (text.empty()) return out;
  size_t start = 0;
  while (true) {
    const size_t end = text.find(kDefaultSeparator, start);
    const std::string item = text.substr(start, end == std::string::npos ? end : end - start);
    if (!item.empty() && item[0] == 'v') {
      out.emplace_back(item.substr(1));
    } else {
      out.emplace_back(std::nullopt);
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

bool TableExists(sqlite3* db, const char* name) {
  Stmt st(db, "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1");
  st.Bind(1, std::string_view(name));
  return st.Step() == SQLITE_ROW;
}

// Records every object SQLite has that the catalogue does not, as the
// database owner's (version 0 files, and files changed by other SQLite
// clients while the server was down).
Status TrackUntracked(sqlite3* db, uint32_t database_owner) {
  Result<std::vector<SchemaObject>> objects = SchemaObjects(db);
  if (!objects.ok()) return objects.error();
  Result<Snapshot> known = Load(db);
  if (!known.ok()) return known.error();
  std::vector<std::string> virtual_tables;
  for (const SchemaObject& o : *objects) {
    if (KindOf(o) == RelKind::kVirtual) virtual_tables.push_back(Key(o.name));
  }
  for (const SchemaObject& o : *objects) {
    if (known->FindRelation(o.name) != nullptr) continue;
    Relation r;
    r.name = o.name;
    r.kind = KindOf(o);
    r.owner = database_owner;
    if (r.kind == RelKind::kIndex || r.kind == RelKind::kTrigger) r.parent = o.table;
    if (r.kind == RelKind::kTable) {
      for (const std::string& v : virtual_tables) {
        if (Key(o.name).compare(0, v.size() + 1, v + "_") == 0) {
          r.kind = RelKind::kShadow;
          r.parent = v;
        }
      }
    }
    if (Status s = PutRelation(db, r); !s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace

std::string Key(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

const Relation* Snapshot::FindRelation(std::string_view name) const {
  auto it = relations_.find(Key(name));
  return it == relations_.end() ? nullptr : &it->second;
}

const Relation* Snapshot::FindRelation(uint32_t oid) const {
  for (const auto& [key, r] : relations_) {
    if (r.oid == oid) return &r;
  }
  return nullptr;
}

const acl::Acl* Snapshot::ColumnAcl(std::string_view relation, std::string_view column) const {
  auto it = column_acls_.find({Key(relation), Key(column)});
  return it == column_acls_.end() ? nullptr : &it->second.second;
}

std::vector<std::pair<std::string, const acl::Acl*>> Snapshot::ColumnAcls(
    std::string_view relation) const {
  std::vector<std::pair<std::string, const acl::Acl*>> out;
  const std::string key = Key(relation);
  for (auto it = column_acls_.lower_bound({key, ""});
       it != column_acls_.end() && it->first.first == key; ++it) {
    out.emplace_back(it->second.first, &it->second.second);
  }
  return out;
}

const Namespace* Snapshot::FindNamespace(std::string_view name) const {
  auto it = namespaces_.find(Key(name));
  return it == namespaces_.end() ? nullptr : &it->second;
}

const Function* Snapshot::FindFunction(std::string_view name, size_t nargs) const {
  for (const Function& f : functions_) {
    if (f.name == name && f.arg_types.size() == nargs) return &f;
  }
  return nullptr;
}

Status Ensure(sqlite3* db, uint32_t database_owner) {
  const int64_t found = UserVersion(db);
  if (found == kFormatVersion) return Status::Ok();
  if (found > kFormatVersion) {
    return MakeError("XX000", StringPrintf("database file format %lld is newer than this server's "
                                           "(%d)",
                                           static_cast<long long>(found), kFormatVersion));
  }
  if (Status s = Exec(db, "BEGIN IMMEDIATE", "could not lock the database"); !s.ok()) return s;
  Status result = [&]() -> Status {
    if (UserVersion(db) == kFormatVersion) return Status::Ok();  // someone else did it
    if (Status s = Exec(db, kSchema, "could not create the catalogue"); !s.ok()) return s;
    // PostgreSQL 15: the database owner (through pg_database_owner) may
    // create in public; everyone may use it.
    const std::string owner = std::to_string(storage::kPgDatabaseOwnerOid);
    Stmt ns(db,
            "INSERT OR IGNORE INTO bgw_catalog_namespace(name, owner, acl) VALUES "
            "('public', ?1, ?2)");
    ns.Bind(1, storage::kPgDatabaseOwnerOid).Bind(2, owner + "=UC/" + owner + ",0=U/" + owner);
    if (Status s = Done(ns, db, "could not create schema public"); !s.ok()) return s;
    if (TableExists(db, "bgw_c_functions")) {
      const std::string move = StringPrintf(
          "INSERT OR IGNORE INTO bgw_catalog_proc(name, nargs, arg_types, return_type, library, "
          "symbol, strict, owner, acl) SELECT name, nargs, arg_types, return_type, library, "
          "symbol, strict, %u, NULL FROM bgw_c_functions; DROP TABLE bgw_c_functions;",
          storage::kBootstrapSuperuserOid);
      if (Status s = Exec(db, move.c_str(), "could not migrate C functions"); !s.ok()) return s;
    }
    // Format 3: argument defaults (a table made by an older format lacks the column).
    if (!ColumnExists(db, "bgw_catalog_proc", "defaults")) {
      if (Status s = Exec(db,
                          "ALTER TABLE bgw_catalog_proc ADD COLUMN defaults TEXT NOT NULL "
                          "DEFAULT ''",
                          "could not migrate C functions");
          !s.ok()) {
        return s;
      }
    }
    if (Status s = TrackUntracked(db, database_owner); !s.ok()) return s;
    const std::string version = StringPrintf("PRAGMA user_version = %d", kFormatVersion);
    return Exec(db, version.c_str(), "could not record the catalogue version");
  }();
  if (!result.ok()) {
    (void)sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return result;
  }
  return Exec(db, "COMMIT", "could not create the catalogue");
}

Result<Snapshot> Load(sqlite3* db) {
  Snapshot snap;
  // A file Ensure never saw (only raw connections: a session always
  // ensures) has no objects of ours yet.
  if (UserVersion(db) < kFormatVersion) return snap;
  {
    Stmt st(db, "SELECT name, kind, owner, acl, parent, oid FROM bgw_catalog_class");
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      Relation r;
      r.name = st.Text(0);
      r.oid = static_cast<uint32_t>(st.Int(5));
      const std::string kind = st.Text(1);
      r.kind = kind.empty() ? RelKind::kTable : static_cast<RelKind>(kind[0]);
      r.owner = static_cast<uint32_t>(st.Int(2));
      r.acl = ReadAcl(st, 3);
      r.parent = st.Text(4);
      snap.relations_[Key(r.name)] = std::move(r);
    }
    if (rc != SQLITE_DONE) return Failed(db, "could not read the catalogue");
  }
  {
    Stmt st(db, "SELECT relname, attname, acl FROM bgw_catalog_column_acl");
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      std::optional<acl::Acl> a = ReadAcl(st, 2);
      snap.column_acls_[{Key(st.Text(0)), Key(st.Text(1))}] = {st.Text(1), a.value_or(acl::Acl{})};
    }
    if (rc != SQLITE_DONE) return Failed(db, "could not read the catalogue");
  }
  {
    Stmt st(db, "SELECT name, owner, acl FROM bgw_catalog_namespace");
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      Namespace n{st.Text(0), static_cast<uint32_t>(st.Int(1)), ReadAcl(st, 2)};
      snap.namespaces_[Key(n.name)] = std::move(n);
    }
    if (rc != SQLITE_DONE) return Failed(db, "could not read the catalogue");
  }
  {
    Stmt st(db,
            "SELECT name, arg_types, return_type, library, symbol, strict, owner, acl, nargs, "
            "defaults FROM bgw_catalog_proc ORDER BY name, nargs");
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      Function f;
      f.name = st.Text(0);
      f.arg_types = SplitOids(st.Text(1));
      f.return_type = static_cast<uint32_t>(st.Int(2));
      f.library = st.Text(3);
      f.symbol = st.Text(4);
      f.strict = st.Int(5) != 0;
      f.owner = static_cast<uint32_t>(st.Int(6));
      f.acl = ReadAcl(st, 7);
      f.defaults = DecodeDefaults(st.Text(9));
      if (static_cast<int64_t>(f.arg_types.size()) != st.Int(8) ||
          f.defaults.size() > f.arg_types.size()) {
        continue;  // damaged
      }
      snap.functions_.push_back(std::move(f));
    }
    if (rc != SQLITE_DONE) return Failed(db, "could not read the catalogue");
  }
  return snap;
}

// The next OID of this database: user objects start at 16384, as
// PostgreSQL's, and an OID is never handed out twice (a dropped object's
// OID is not reused), so an OID names one object for good. The counter
// starts above every OID a file of an older format already holds.
Result<uint32_t> NextOid(sqlite3* db) {
  if (Status s = Exec(db,
                      "INSERT OR IGNORE INTO bgw_catalog_oid(id, next) SELECT 1, max(o) FROM "
                      "(SELECT 16384 AS o UNION ALL SELECT oid + 1 FROM bgw_catalog_class UNION "
                      "ALL SELECT oid + 1 FROM bgw_catalog_extension)",
                      "could not allocate an OID");
      !s.ok()) {
    return s.error();
  }
  Stmt get(db, "SELECT next FROM bgw_catalog_oid WHERE id = 1");
  if (get.Step() != SQLITE_ROW) return Failed(db, "could not allocate an OID");
  const int64_t oid = get.Int(0);
  Stmt bump(db, "UPDATE bgw_catalog_oid SET next = next + 1 WHERE id = 1");
  if (Status s = Done(bump, db, "could not allocate an OID"); !s.ok()) return s.error();
  return static_cast<uint32_t>(oid);
}

Status PutRelation(sqlite3* db, const Relation& r) {
  // A new record gets a new OID; a record replaced keeps its own.
  uint32_t oid = r.oid;
  if (oid == 0) {
    Result<uint32_t> next = NextOid(db);
    if (!next.ok()) return next.error();
    oid = *next;
  }
  Stmt st(db,
          "INSERT OR REPLACE INTO bgw_catalog_class(name, kind, owner, acl, parent, oid) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  st.Bind(1, r.name).Bind(2, std::string(1, static_cast<char>(r.kind))).Bind(3, r.owner);
  BindAcl(st, 4, r.acl);
  st.Bind(5, r.parent).Bind(6, oid);
  return Done(st, db, "could not record an object");
}

Status DeleteRelation(sqlite3* db, std::string_view name) {
  for (const char* sql : {"DELETE FROM bgw_catalog_column_acl WHERE relname = ?1",
                          "DELETE FROM bgw_catalog_class WHERE name = ?1 OR parent = ?1"}) {
    Stmt st(db, sql);
    st.Bind(1, name);
    if (Status s = Done(st, db, "could not forget an object"); !s.ok()) return s;
  }
  return Status::Ok();
}

Status RenameRelation(sqlite3* db, std::string_view from, std::string_view to) {
  for (const char* sql : {"UPDATE bgw_catalog_class SET name = ?2 WHERE name = ?1",
                          "UPDATE bgw_catalog_class SET parent = ?2 WHERE parent = ?1",
                          "UPDATE bgw_catalog_column_acl SET relname = ?2 WHERE relname = ?1"}) {
    Stmt st(db, sql);
    st.Bind(1, from).Bind(2, to);
    if (Status s = Done(st, db, "could not rename an object"); !s.ok()) return s;
  }
  return Status::Ok();
}

Status SetChildrenOwner(sqlite3* db, std::string_view name, uint32_t owner) {
  Stmt st(db, "UPDATE bgw_catalog_class SET owner = ?2 WHERE parent = ?1");
  st.Bind(1, name).Bind(2, owner);
  return Done(st, db, "could not change an owner");
}

Status PutColumnAcl(sqlite3* db, std::string_view relation, std::string_view column,
                    const std::optional<acl::Acl>& a) {
  if (!a) {
    Stmt st(db, "DELETE FROM bgw_catalog_column_acl WHERE relname = ?1 AND attname = ?2");
    st.Bind(1, relation).Bind(2, column);
    return Done(st, db, "could not change a column's privileges");
  }
  Stmt st(db,
          "INSERT OR REPLACE INTO bgw_catalog_column_acl(relname, attname, acl) "
          "VALUES (?1, ?2, ?3)");
  st.Bind(1, relation).Bind(2, column).Bind(3, acl::Encode(*a));
  return Done(st, db, "could not change a column's privileges");
}

Status RenameColumn(sqlite3* db, std::string_view relation, std::string_view from,
                    std::string_view to) {
  Stmt st(db, "UPDATE bgw_catalog_column_acl SET attname = ?3 WHERE relname = ?1 AND attname = ?2");
  st.Bind(1, relation).Bind(2, from).Bind(3, to);
  return Done(st, db, "could not rename a column's privileges");
}

Status PruneColumnAcls(sqlite3* db, std::string_view relation,
                       const std::vector<std::string>& columns) {
  std::vector<std::string> stale;
  {
    Stmt st(db, "SELECT attname FROM bgw_catalog_column_acl WHERE relname = ?1");
    st.Bind(1, relation);
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      const std::string col = st.Text(0);
      if (std::none_of(columns.begin(), columns.end(),
                       [&](const std::string& c) { return Key(c) == Key(col); })) {
        stale.push_back(col);
      }
    }
    if (rc != SQLITE_DONE) return Failed(db, "could not read the catalogue");
  }
  for (const std::string& col : stale) {
    if (Status s = PutColumnAcl(db, relation, col, std::nullopt); !s.ok()) return s;
  }
  return Status::Ok();
}

Status PutNamespace(sqlite3* db, const Namespace& ns) {
  Stmt st(db, "INSERT OR REPLACE INTO bgw_catalog_namespace(name, owner, acl) VALUES (?1, ?2, ?3)");
  st.Bind(1, ns.name).Bind(2, ns.owner);
  BindAcl(st, 3, ns.acl);
  return Done(st, db, "could not record a schema");
}

Status PutFunction(sqlite3* db, const Function& f) {
  Stmt st(db,
          "INSERT OR REPLACE INTO bgw_catalog_proc(name, nargs, arg_types, return_type, "
          "library, symbol, strict, owner, acl, defaults) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
          "?9, ?10)");
  st.Bind(1, f.name).Bind(2, static_cast<int64_t>(f.arg_types.size()));
  st.Bind(3, JoinOids(f.arg_types)).Bind(4, f.return_type).Bind(5, f.library).Bind(6, f.symbol);
  st.Bind(7, f.strict ? 1 : 0).Bind(8, f.owner);
  BindAcl(st, 9, f.acl);
  st.Bind(10, EncodeDefaults(f.defaults));
  return Done(st, db, "could not record a function");
}

Status DeleteFunction(sqlite3* db, std::string_view name, size_t nargs) {
  Stmt st(db, "DELETE FROM bgw_catalog_proc WHERE name = ?1 AND nargs = ?2");
  st.Bind(1, name).Bind(2, static_cast<int64_t>(nargs));
  return Done(st, db, "could not forget a function");
}

Result<std::vector<Extension>> Extensions(sqlite3* db) {
  std::vector<Extension> out;
  if (UserVersion(db) < kFormatVersion) return out;
  Stmt st(db,
          "SELECT name, oid, owner, version, relocatable, members FROM bgw_catalog_extension "
          "ORDER BY name");
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    Extension e;
    e.name = st.Text(0);
    e.oid = static_cast<uint32_t>(st.Int(1));
    e.owner = static_cast<uint32_t>(st.Int(2));
    e.version = st.Text(3);
    e.relocatable = st.Int(4) != 0;
    for (const std::string& m : SplitTrimmed(st.Text(5), '\n')) {
      if (!m.empty()) e.members.push_back(m);
    }
    out.push_back(std::move(e));
  }
  if (rc != SQLITE_DONE) return Failed(db, "could not read the extensions");
  return out;
}

Status PutExtension(sqlite3* db, const Extension& e) {
  std::string members;
  for (const std::string& m : e.members) members += m + "\n";
  // OIDs from the same counter as the relations', so none is shared.
  uint32_t oid = e.oid;
  if (oid == 0) {
    Result<uint32_t> next = NextOid(db);
    if (!next.ok()) return next.error();
    oid = *next;
  }
  Stmt st(db,
          "INSERT OR REPLACE INTO bgw_catalog_extension(name, oid, owner, version, relocatable, "
          "members) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  st.Bind(1, e.name).Bind(2, oid).Bind(3, e.owner).Bind(4, e.version);
  st.Bind(5, int64_t{e.relocatable ? 1 : 0}).Bind(6, members);
  return Done(st, db, "could not record an extension");
}

Status DeleteExtension(sqlite3* db, std::string_view name) {
  Stmt st(db, "DELETE FROM bgw_catalog_extension WHERE name = ?1");
  st.Bind(1, name);
  return Done(st, db, "could not forget an extension");
}

Result<std::vector<std::string>> References(sqlite3* db, uint32_t role) {
  Result<Snapshot> snap = Load(db);
  if (!snap.ok()) return snap.error();
  std::vector<std::string> out;
  auto mentions = [role](const std::optional<acl::Acl>& a) { return a && acl::Mentions(*a, role); };
  for (const Namespace* ns : {snap->FindNamespace("public")}) {
    if (ns == nullptr) continue;
    if (ns->owner == role) out.push_back("owner of schema " + ns->name);
    if (mentions(ns->acl)) out.push_back("privileges for schema " + ns->name);
  }
  for (const auto& [key, r] : snap->relations()) {
    if (r.kind == RelKind::kIndex || r.kind == RelKind::kTrigger || r.kind == RelKind::kShadow) {
      continue;  // they follow their table
    }
    const char* noun = r.kind == RelKind::kView ? "view" : "table";
    if (r.owner == role) out.push_back(StringPrintf("owner of %s %s", noun, r.name.c_str()));
    if (mentions(r.acl)) out.push_back(StringPrintf("privileges for %s %s", noun, r.name.c_str()));
    for (const auto& [column, a] : snap->ColumnAcls(r.name)) {
      if (acl::Mentions(*a, role)) {
        out.push_back(StringPrintf("privileges for column %s of %s %s", column.c_str(), noun,
                                   r.name.c_str()));
      }
    }
  }
  for (const Function& f : snap->functions()) {
    if (f.owner == role) out.push_back("owner of function " + f.name);
    if (mentions(f.acl)) out.push_back("privileges for function " + f.name);
  }
  return out;
}

Result<std::vector<std::string>> ReferencesInFile(const std::string& path, uint32_t role) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr) !=
      SQLITE_OK) {
    std::string msg = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return MakeError("58030", StringPrintf("could not open \"%s\": %s", path.c_str(), msg.c_str()));
  }
  sqlite3_busy_timeout(db, 10000);
  Result<std::vector<std::string>> out = std::vector<std::string>{};
  if (UserVersion(db) >= kFormatVersion) out = References(db, role);
  sqlite3_close(db);
  return out;
}

Result<std::vector<SchemaObject>> SchemaObjects(sqlite3* db, std::optional<std::string_view> name) {
  Stmt st(db, name ? "SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE name = ?1 "
                     "COLLATE NOCASE"
                   : "SELECT type, name, tbl_name, sql FROM sqlite_schema");
  if (name) st.Bind(1, *name);
  std::vector<SchemaObject> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    SchemaObject o{st.Text(0), st.Text(1), st.Text(2), st.Text(3)};
    if (sqlite3_strnicmp(o.name.c_str(), "sqlite_", 7) == 0 ||
        sqlite3_strnicmp(o.name.c_str(), "bgw_catalog_", 12) == 0) {
      continue;
    }
    out.push_back(std::move(o));
  }
  if (rc != SQLITE_DONE) return Failed(db, "could not read the schema");
  return out;
}

RelKind KindOf(const SchemaObject& o) {
  if (o.type == "view") return RelKind::kView;
  if (o.type == "index") return RelKind::kIndex;
  if (o.type == "trigger") return RelKind::kTrigger;
  if (sqlite3_strnicmp(o.sql.c_str(), "CREATE VIRTUAL TABLE", 20) == 0) return RelKind::kVirtual;
  return RelKind::kTable;
}

Result<std::vector<std::string>> Columns(sqlite3* db, std::string_view relation) {
  Stmt st(db, "SELECT name FROM pragma_table_info(?1)");
  st.Bind(1, relation);
  std::vector<std::string> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) out.push_back(st.Text(0));
  if (rc != SQLITE_DONE) return Failed(db, "could not read the columns");
  return out;
}

}  // namespace bgw::sql::catalogue
