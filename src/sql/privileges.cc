// A session's access control; see privileges.h.
//
// The authorizer callback may not run SQL on its connection, so everything
// a check needs (roles, the catalogue) is loaded beforehand by Refresh, and
// a check that meets an object the snapshot does not know (created by
// another session since) marks the statement `missing`: the engine reloads
// and prepares it once more before refusing.
#include "sql/privileges.h"

#include <sqlite3.h>

#include <algorithm>

#include "common/strutil.h"
#include "sql/system.h"
#include "storage/catalog_cache.h"
#include "storage/sqlite_stmt.h"

namespace bgw::sql::privileges {
namespace {

using catalogue::Key;
using catalogue::Relation;
using catalogue::RelKind;

std::string Lower(const char* s) { return s != nullptr ? Key(s) : std::string(); }

bool Is(const char* s, const char* name) { return s != nullptr && sqlite3_stricmp(s, name) == 0; }

// SQLite's own schema tables, which its DDL reads and writes.
bool IsSchemaTable(const char* t) {
  return Is(t, "sqlite_master") || Is(t, "sqlite_schema") || Is(t, "sqlite_temp_master") ||
         Is(t, "sqlite_temp_schema");
}

bool IsTempDatabase(const char* database) { return Is(database, "temp"); }

// Table-valued functions anyone may read (their arguments are checked like
// any other expression; pragma_* also go through the PRAGMA rules).
bool IsSafeEponymous(const std::string& name) {
  return name.rfind("pragma_", 0) == 0 || name == "json_each" || name == "json_tree" ||
         system::IsView(name);
}

// Virtual table modules an ordinary role may instantiate: they store their
// own data only. fts5vocab, fts4aux and dbstat read other tables' data
// without the authorizer seeing it, so they are for superusers.
bool IsSafeModule(const char* module) {
  return Is(module, "fts3") || Is(module, "fts4") || Is(module, "fts5") || Is(module, "rtree") ||
         Is(module, "rtree_i32") || Is(module, "geopoly");
}

// Pragmas an ordinary role may read (never set): introspection of the
// schema and of the file's format.
bool IsReadablePragma(const std::string& p) {
  static const char* const kNames[] = {
      "table_info",      "table_xinfo",   "table_list",       "index_list",
      "index_info",      "index_xinfo",   "foreign_key_list", "collation_list",
      "encoding",        "function_list", "module_list",      "pragma_list",
      "compile_options", "data_version",  "user_version",     "application_id",
      "page_size",       "page_count",    "freelist_count",   "schema_version",
      "journal_mode",    "synchronous",   "foreign_keys",     "recursive_triggers"};
  return std::any_of(std::begin(kNames), std::end(kNames), [&](const char* n) { return p == n; });
}
// Pragmas whose argument names a table or index rather than a new value.
bool TakesTableArgument(const std::string& p) {
  return p == "table_info" || p == "table_xinfo" || p == "table_list" || p == "index_list" ||
         p == "index_info" || p == "index_xinfo" || p == "foreign_key_list";
}

const char* Noun(RelKind kind) {
  switch (kind) {
    case RelKind::kView:
      return "view";
    case RelKind::kIndex:
      return "index";
    default:
      return "table";
  }
}

bool r_kind_has_body(RelKind kind) { return kind == RelKind::kView || kind == RelKind::kTrigger; }

RelKind KindOfAction(int action) {
  switch (action) {
    case SQLITE_CREATE_VIEW:
    case SQLITE_CREATE_TEMP_VIEW:
      return RelKind::kView;
    case SQLITE_CREATE_INDEX:
    case SQLITE_CREATE_TEMP_INDEX:
      return RelKind::kIndex;
    case SQLITE_CREATE_TRIGGER:
    case SQLITE_CREATE_TEMP_TRIGGER:
      return RelKind::kTrigger;
    case SQLITE_CREATE_VTABLE:
      return RelKind::kVirtual;
    default:
      return RelKind::kTable;
  }
}

bool IsTempCreate(int action) {
  return action == SQLITE_CREATE_TEMP_TABLE || action == SQLITE_CREATE_TEMP_VIEW ||
         action == SQLITE_CREATE_TEMP_INDEX || action == SQLITE_CREATE_TEMP_TRIGGER;
}

void AddUnique(std::vector<std::string>* v, const char* s) {
  if (s == nullptr) return;
  std::string k = Key(s);
  for (const std::string& e : *v) {
    if (Key(e) == k) return;
  }
  v->push_back(s);
}

// ALTER TABLE [IF EXISTS] [schema.]t RENAME TO new / RENAME [COLUMN] a TO b.
struct AlterRename {
  std::string table;
  std::string to;           // table rename
  std::string column_from;  // column rename
  std::string column_to;
};
std::optional<AlterRename> ParseAlterRename(const std::vector<Token>& t) {
  auto word = [&](size_t i, const char* w) {
    return i < t.size() && t[i].kind == TokenKind::kWord && IdentifierValue(t[i]) == w;
  };
  auto ident = [&](size_t i) {
    return i < t.size() && (t[i].kind == TokenKind::kWord || t[i].kind == TokenKind::kQuotedIdent);
  };
  size_t i = 0;
  if (!word(i, "alter") || !word(i + 1, "table")) return std::nullopt;
  i += 2;
  if (word(i, "if") && word(i + 1, "exists")) i += 2;
  if (word(i, "only")) i++;
  if (!ident(i)) return std::nullopt;
  AlterRename r;
  r.table = IdentifierValue(t[i++]);
  if (i < t.size() && t[i].kind == TokenKind::kDot && ident(i + 1)) {
    r.table = IdentifierValue(t[i + 1]);
    i += 2;
  }
  if (!word(i, "rename")) return std::nullopt;
  i++;
  if (word(i, "to") && ident(i + 1)) {
    r.to = IdentifierValue(t[i + 1]);
    return r;
  }
  if (word(i, "column")) i++;
  if (ident(i) && word(i + 1, "to") && ident(i + 2)) {
    r.column_from = IdentifierValue(t[i]);
    r.column_to = IdentifierValue(t[i + 2]);
    return r;
  }
  return std::nullopt;
}

}  // namespace

AccessControl::AccessControl(SessionInfo* info) : info_(info) {}

AccessControl::Scope::Scope(AccessControl* ac, StatementAuth* auth)
    : ac_(ac), saved_(ac->current_) {
  ac_->current_ = auth;
}
AccessControl::Scope::~Scope() { ac_->current_ = saved_; }

Status AccessControl::LoadGraph() {
  storage::CatalogLookup lookup(info_->data_dir);
  Result<std::vector<storage::RoleInfo>> roles = lookup.ListRoles();
  if (!roles.ok()) {
    // No catalog at all (a session on a bare file, as unit tests open): the
    // session's own role, as the caller described it, is all there is.
    if (roles.error().sqlstate != "58P01") return roles.error();
    storage::RoleInfo self;
    self.oid = info_->session_role_oid;
    self.name = info_->session_role_name;
    self.superuser = info_->session_superuser;
    graph_ = roles::RoleGraph({self}, {}, info_->database_owner);
    graph_valid_ = true;
    return Status::Ok();
  }
  Result<std::vector<storage::Membership>> members = lookup.ListMemberships();
  if (!members.ok()) return members.error();
  Result<std::optional<storage::DatabaseInfo>> db = lookup.FindDatabase(info_->database_oid);
  if (!db.ok()) return db.error();
  if (db->has_value()) {
    info_->database_owner = (*db)->owner;
    info_->database_acl = (*db)->acl;
  }
  graph_ = roles::RoleGraph(std::move(*roles), std::move(*members), info_->database_owner);
  // Attributes change under a live session (ALTER ROLE ... NOSUPERUSER):
  // PostgreSQL asks the catalog each time, so do we.
  if (const storage::RoleInfo* r = graph_.Find(info_->session_role_oid)) {
    info_->session_superuser = r->superuser;
  }
  if (const storage::RoleInfo* r = graph_.Find(info_->role_oid)) {
    info_->superuser = r->superuser;
    info_->role_name = r->name;
  }
  graph_valid_ = true;
  return Status::Ok();
}

Status AccessControl::LoadSnapshot(sqlite3* db) {
  sandbox::InternalScope internal;
  Result<catalogue::Snapshot> snap = catalogue::Load(db);
  if (!snap.ok()) return snap.error();
  snapshot_ = std::move(*snap);
  snapshot_valid_ = true;
  // Read inside an open transaction, it shows that transaction's view: good
  // for now, stale once the transaction ends (TransactionEnded).
  loaded_in_transaction_ = sqlite3_get_autocommit(db) == 0;
  unsigned int version = 0;
  (void)sqlite3_file_control(db, "main", SQLITE_FCNTL_DATA_VERSION, &version);
  snapshot_data_version_ = version;
  return Status::Ok();
}

Status AccessControl::Refresh(sqlite3* db) {
  const uint64_t roles_generation = storage::catalog_cache::Generation();
  if (!graph_valid_ || roles_generation != graph_generation_) {
    graph_generation_ = roles_generation;
    if (Status s = LoadGraph(); !s.ok()) return s;
    epoch_++;
  }
  const uint64_t objects_generation = storage::catalog_cache::ObjectsGeneration();
  if (objects_generation != snapshot_generation_) {
    snapshot_generation_ = objects_generation;
    snapshot_valid_ = false;
  } else if (objects_generation == 0 && snapshot_valid_) {
    // No shared memory to tell us: any commit by another connection may
    // have changed the catalogue.
    unsigned int version = 0;
    if (sqlite3_file_control(db, "main", SQLITE_FCNTL_DATA_VERSION, &version) != SQLITE_OK ||
        version != snapshot_data_version_) {
      snapshot_valid_ = false;
    }
  }
  // Superusers are never checked, so they load the catalogue only when
  // AfterDdl needs it, and their statements stay valid across changes.
  if (!snapshot_valid_ && !superuser()) {
    if (Status s = LoadSnapshot(db); !s.ok()) return s;
    epoch_++;
  }
  return Status::Ok();
}

void AccessControl::TransactionEnded(bool committed) {
  if (changed_in_transaction_) {
    if (committed) storage::catalog_cache::InvalidateObjects();
    changed_in_transaction_ = false;
    snapshot_valid_ = false;
    epoch_++;
  }
  if (loaded_in_transaction_) {
    snapshot_valid_ = false;
    loaded_in_transaction_ = false;
  }
}

Status AccessControl::SetCurrentRole(uint32_t role) {
  const storage::RoleInfo* r = graph_.Find(role);
  if (r == nullptr)
    return MakeError("42704", StringPrintf("role with OID %u does not exist", role));
  info_->role_oid = r->oid;
  info_->role_name = r->name;
  info_->superuser = r->superuser;
  epoch_++;
  return Status::Ok();
}

Status AccessControl::SetSessionRole(uint32_t role) {
  const storage::RoleInfo* r = graph_.Find(role);
  if (r == nullptr)
    return MakeError("42704", StringPrintf("role with OID %u does not exist", role));
  info_->session_role_oid = r->oid;
  info_->session_role_name = r->name;
  info_->session_superuser = r->superuser;
  return SetCurrentRole(role);
}

// ---- privilege arithmetic -----------------------------------------------------

uint32_t AccessControl::Holds(uint32_t role, const acl::Acl& a) const {
  return acl::Mask(a, [&](uint32_t grantee) {
    return grantee == acl::kPublic || graph_.HasPrivsOf(role, grantee);
  });
}

const Relation* AccessControl::FindRelation(std::string_view name) const {
  if (const Relation* r = snapshot_.FindRelation(name)) return r;
  auto it = temp_.find(Key(name));
  return it == temp_.end() ? nullptr : &it->second;
}

const Relation* AccessControl::PrivilegeTarget(const Relation& rel) const {
  if (rel.kind == RelKind::kIndex || rel.kind == RelKind::kTrigger ||
      rel.kind == RelKind::kShadow) {
    return FindRelation(rel.parent);
  }
  return &rel;
}

uint32_t AccessControl::TablePrivileges(uint32_t role, const Relation& rel,
                                        std::optional<std::string_view> column) const {
  const acl::Acl defaults = acl::DefaultAcl(acl::ObjectKind::kTable, rel.owner);
  uint32_t mask = Holds(role, rel.acl ? *rel.acl : defaults);
  if (graph_.HasPrivsOf(role, storage::kPgReadAllDataOid)) mask |= acl::kSelect;
  if (graph_.HasPrivsOf(role, storage::kPgWriteAllDataOid)) {
    mask |= acl::kInsert | acl::kUpdate | acl::kDelete;
  }
  if (column) {
    const uint32_t column_privileges = acl::AllPrivileges(acl::ObjectKind::kColumn);
    if (column->empty()) {
      for (const auto& [name, a] : snapshot_.ColumnAcls(rel.name)) {
        mask |= Holds(role, *a) & column_privileges;
      }
    } else if (const acl::Acl* a = snapshot_.ColumnAcl(rel.name, *column)) {
      mask |= Holds(role, *a) & column_privileges;
    }
  }
  return mask;
}

uint32_t AccessControl::TableGrantOptions(uint32_t role, const Relation& rel) const {
  if (IsOwner(role, rel.owner)) return acl::AllPrivileges(acl::ObjectKind::kTable);
  const acl::Acl defaults = acl::DefaultAcl(acl::ObjectKind::kTable, rel.owner);
  return acl::GrantOptionMask(rel.acl ? *rel.acl : defaults,
                              [&](uint32_t grantee) { return graph_.HasPrivsOf(role, grantee); });
}

uint32_t AccessControl::SchemaPrivileges(uint32_t role, const catalogue::Namespace& ns) const {
  uint32_t mask =
      Holds(role, ns.acl ? *ns.acl : acl::DefaultAcl(acl::ObjectKind::kSchema, ns.owner));
  if (graph_.HasPrivsOf(role, storage::kPgReadAllDataOid) ||
      graph_.HasPrivsOf(role, storage::kPgWriteAllDataOid)) {
    mask |= acl::kUsage;
  }
  return mask;
}

uint32_t AccessControl::DatabasePrivileges(uint32_t role) const {
  std::optional<acl::Acl> stored;
  if (info_->database_acl) stored = acl::Decode(*info_->database_acl).value_or(acl::Acl{});
  return Holds(
      role, stored ? *stored : acl::DefaultAcl(acl::ObjectKind::kDatabase, info_->database_owner));
}

uint32_t AccessControl::FunctionPrivileges(uint32_t role, const catalogue::Function& fn) const {
  return Holds(role, fn.acl ? *fn.acl : acl::DefaultAcl(acl::ObjectKind::kFunction, fn.owner));
}

// ---- the authorizer -----------------------------------------------------------

void AccessControl::Collect(int action, const char* a1, const char* a2, const char* database) {
  StatementAuth* a = current_;
  switch (action) {
    case SQLITE_CREATE_TABLE:
    case SQLITE_CREATE_VIEW:
    case SQLITE_CREATE_VTABLE:
    case SQLITE_CREATE_INDEX:
    case SQLITE_CREATE_TRIGGER:
    case SQLITE_CREATE_TEMP_TABLE:
    case SQLITE_CREATE_TEMP_VIEW:
    case SQLITE_CREATE_TEMP_INDEX:
    case SQLITE_CREATE_TEMP_TRIGGER: {
      if (a1 == nullptr) return;
      a->ddl = true;
      const bool with_table = action == SQLITE_CREATE_INDEX || action == SQLITE_CREATE_TRIGGER ||
                              action == SQLITE_CREATE_TEMP_INDEX ||
                              action == SQLITE_CREATE_TEMP_TRIGGER;
      for (const StatementAuth::Created& c : a->created) {
        if (c.action == action && Key(c.name) == Key(a1)) return;
      }
      a->created.push_back({action, a1, with_table && a2 != nullptr ? a2 : ""});
      return;
    }
    case SQLITE_DROP_TABLE:
    case SQLITE_DROP_VIEW:
    case SQLITE_DROP_VTABLE:
    case SQLITE_DROP_INDEX:
    case SQLITE_DROP_TRIGGER:
    case SQLITE_DROP_TEMP_TABLE:
    case SQLITE_DROP_TEMP_VIEW:
    case SQLITE_DROP_TEMP_INDEX:
    case SQLITE_DROP_TEMP_TRIGGER:
      a->ddl = true;
      AddUnique(&a->dropped, a1);
      return;
    case SQLITE_ALTER_TABLE:
      a->ddl = true;
      AddUnique(&a->altered, a2);
      return;
    default:
      (void)database;
      return;
  }
}

int AccessControl::Authorize(int action, const char* a1, const char* a2, const char* database,
                             const char* inner) {
  if (current_ != nullptr) Collect(action, a1, a2, database);
  if (superuser()) return SQLITE_OK;
  return Check(action, a1, a2, database, inner);
}

int AccessControl::Missing(const char* name) {
  if (current_ != nullptr) current_->missing = true;
  return sandbox::Deny(MakeError("42501", "permission denied for table " + Lower(name)));
}

bool AccessControl::CreatedByThisStatement(const char* name) const {
  if (current_ == nullptr || name == nullptr) return false;
  for (const StatementAuth::Created& c : current_->created) {
    if (Key(c.name) == Key(name)) return true;
  }
  return false;
}

int AccessControl::RequireTable(uint32_t role, const char* table, const char* database,
                                uint32_t privileges, const char* column) {
  // What the statement itself creates (CREATE TABLE builds its indexes by
  // reading it) is its creator's.
  if (role == current_role() && CreatedByThisStatement(table)) return SQLITE_OK;
  const Relation* rel = IsTempDatabase(database) ? nullptr : snapshot_.FindRelation(table);
  if (rel == nullptr) {
    auto it = temp_.find(Key(table));
    if (it != temp_.end()) rel = &it->second;
  }
  if (rel == nullptr) return Missing(table);
  const Relation* target = PrivilegeTarget(*rel);
  if (target == nullptr) return Missing(rel->parent.c_str());
  std::optional<std::string_view> col;
  if (column != nullptr) col = column;
  if ((TablePrivileges(role, *target, col) & privileges) == privileges) return SQLITE_OK;
  return sandbox::Deny(MakeError("42501", StringPrintf("permission denied for %s %s",
                                                       Noun(target->kind), target->name.c_str())));
}

int AccessControl::RequireOwner(const char* object, const char* database, const char* noun) {
  if (CreatedByThisStatement(object)) return SQLITE_OK;
  const Relation* rel = IsTempDatabase(database) ? nullptr : snapshot_.FindRelation(object);
  if (rel == nullptr) {
    auto it = temp_.find(Key(object));
    if (it != temp_.end()) rel = &it->second;
  }
  if (rel == nullptr) return Missing(object);
  const Relation* target = PrivilegeTarget(*rel);
  if (target == nullptr) return Missing(rel->parent.c_str());
  if (IsOwner(current_role(), target->owner)) return SQLITE_OK;
  return sandbox::Deny(MakeError(
      "42501", StringPrintf("must be owner of %s %s", noun != nullptr ? noun : Noun(rel->kind),
                            rel->name.c_str())));
}

int AccessControl::CheckRead(const char* table, const char* column, const char* database,
                             const char* inner) {
  if (IsSchemaTable(table) || Is(table, "sqlite_stat1") || Is(table, "sqlite_stat4")) {
    return SQLITE_OK;
  }
  if (sandbox::IsReservedName(table) || Is(table, "sqlite_sequence")) {
    return sandbox::Deny(MakeError("42501", "permission denied for table " + Lower(table)));
  }
  const std::string name = Lower(table);
  if (FindRelation(name) == nullptr) {
    if (IsSafeEponymous(name)) return SQLITE_OK;
    // A common table expression or a subquery read for no column (count(*)
    // over it): SQLite reports it like a table. Not a table of ours even
    // after looking again: nothing of anyone's is read.
    if (column != nullptr && column[0] == '\0' && current_ != nullptr &&
        (current_->reloaded || std::any_of(current_->ctes.begin(), current_->ctes.end(),
                                           [&](const std::string& c) { return Key(c) == name; }))) {
      return SQLITE_OK;
    }
  }
  // Inside a view, the view's owner reads (and is checked); the reader was
  // checked on the view itself.
  uint32_t role = current_role();
  if (inner != nullptr) {
    const Relation* view = FindRelation(inner);
    if (view != nullptr && view->kind == RelKind::kView) {
      role = view->owner;
      if (current_ != nullptr) current_->view_context = true;
    }
  }
  if (column != nullptr && column[0] == '\0' && current_ != nullptr &&
      (inner == nullptr || role == current_role())) {
    current_->bare_read = true;
  }
  return RequireTable(role, table, database, acl::kSelect, column != nullptr ? column : "");
}

int AccessControl::Check(int action, const char* a1, const char* a2, const char* database,
                         const char* inner) {
  const uint32_t role = current_role();
  const bool in_created = CreatedByThisStatement(a2);
  switch (action) {
    case SQLITE_SELECT:
    case SQLITE_RECURSIVE:
    case SQLITE_FUNCTION:
      return SQLITE_OK;
    case SQLITE_READ:
      return CheckRead(a1, a2, database, inner);
    case SQLITE_INSERT:
    case SQLITE_UPDATE:
    case SQLITE_DELETE: {
      if (IsSchemaTable(a1)) return SQLITE_OK;  // SQLite's own DDL bookkeeping
      if (Is(a1, "sqlite_sequence") || Is(a1, "sqlite_stat1") || Is(a1, "sqlite_stat4")) {
        return sandbox::Deny(MakeError("42501", "permission denied for table " + Lower(a1)));
      }
      uint32_t needed = action == SQLITE_INSERT                     ? acl::kInsert
                        : action == SQLITE_UPDATE                   ? acl::kUpdate
                        : current_ != nullptr && current_->truncate ? acl::kTruncate
                                                                    : acl::kDelete;
      if (current_ != nullptr && current_->replace && action != SQLITE_DELETE) {
        needed |= acl::kDelete;
      }
      return RequireTable(role, a1, database, needed, action == SQLITE_UPDATE ? a2 : nullptr);
    }
    case SQLITE_CREATE_TABLE:
    case SQLITE_CREATE_VIEW:
    case SQLITE_CREATE_VTABLE: {
      if (action == SQLITE_CREATE_VTABLE && !IsSafeModule(a2)) {
        return sandbox::Deny(MakeError(
            "42501",
            StringPrintf("permission denied for virtual table module %s", Lower(a2).c_str()), "",
            "Only superusers may use this module."));
      }
      const catalogue::Namespace* ns = snapshot_.FindNamespace("public");
      if (ns == nullptr || (SchemaPrivileges(role, *ns) & acl::kCreate) == 0) {
        return sandbox::Deny(MakeError("42501", "permission denied for schema public"));
      }
      return SQLITE_OK;
    }
    case SQLITE_CREATE_TEMP_TABLE:
    case SQLITE_CREATE_TEMP_VIEW:
      if ((DatabasePrivileges(role) & acl::kTemporary) == 0) {
        return sandbox::Deny(MakeError(
            "42501", StringPrintf("permission denied to create temporary tables in database \"%s\"",
                                  info_->database_name.c_str())));
      }
      return SQLITE_OK;
    case SQLITE_CREATE_INDEX:
    case SQLITE_CREATE_TEMP_INDEX:
      // An index SQLite makes for a table the same statement creates
      // (UNIQUE, PRIMARY KEY) belongs to that table.
      if (in_created) return SQLITE_OK;
      return RequireOwner(a2, database, "table");
    case SQLITE_CREATE_TRIGGER:
    case SQLITE_CREATE_TEMP_TRIGGER: {
      if (action == SQLITE_CREATE_TEMP_TRIGGER &&
          (DatabasePrivileges(role) & acl::kTemporary) == 0) {
        return sandbox::Deny(MakeError(
            "42501", StringPrintf("permission denied to create temporary tables in database \"%s\"",
                                  info_->database_name.c_str())));
      }
      if (in_created) return SQLITE_OK;
      const Relation* rel = FindRelation(a2 != nullptr ? a2 : "");
      if (rel != nullptr && IsOwner(role, rel->owner)) return SQLITE_OK;
      return RequireTable(role, a2, database, acl::kTrigger, nullptr);
    }
    case SQLITE_DROP_TABLE:
    case SQLITE_DROP_TEMP_TABLE:
    case SQLITE_DROP_VTABLE:
      return RequireOwner(a1, database, "table");
    case SQLITE_DROP_VIEW:
    case SQLITE_DROP_TEMP_VIEW:
      return RequireOwner(a1, database, "view");
    case SQLITE_DROP_INDEX:
    case SQLITE_DROP_TEMP_INDEX:
    case SQLITE_DROP_TRIGGER:
    case SQLITE_DROP_TEMP_TRIGGER:
      return RequireOwner(a2, database, "table");
    case SQLITE_ALTER_TABLE:
      return RequireOwner(a2, a1, "table");
    case SQLITE_REINDEX: {
      if (CreatedByThisStatement(a1)) return SQLITE_OK;  // CREATE INDEX builds it
      if (FindRelation(a1 != nullptr ? a1 : "") != nullptr)
        return RequireOwner(a1, "main", nullptr);
      if (IsOwner(role, info_->database_owner)) return SQLITE_OK;
      return sandbox::Deny(MakeError(
          "42501", StringPrintf("must be owner of database %s", info_->database_name.c_str())));
    }
    case SQLITE_ANALYZE: {
      const Relation* rel = FindRelation(a1 != nullptr ? a1 : "");
      if (IsOwner(role, info_->database_owner) || (rel != nullptr && IsOwner(role, rel->owner))) {
        return SQLITE_OK;
      }
      if (current_ != nullptr) {
        current_->warnings.push_back(
            StringPrintf("permission denied to analyze \"%s\", skipping it", Lower(a1).c_str()));
      }
      return SQLITE_IGNORE;
    }
    case SQLITE_PRAGMA: {
      const std::string name = Lower(a1);
      if (IsReadablePragma(name) && (a2 == nullptr || TakesTableArgument(name))) return SQLITE_OK;
      return sandbox::Deny(MakeError("42501", "permission denied for PRAGMA " + name, "",
                                     "Only superusers may use this pragma."));
    }
    default:
      return sandbox::Deny(MakeError("42501", "permission denied"));
  }
}

// ---- after DDL ------------------------------------------------------------------

Status AccessControl::AfterDdl(sqlite3* db, const StatementAuth& auth,
                               const std::vector<Token>& tokens) {
  sandbox::InternalScope internal;
  if (!snapshot_valid_) {
    if (Status s = LoadSnapshot(db); !s.ok()) return s;
  }
  const uint32_t role = current_role();
  bool changed = false;
  // Records made by this statement, so later ones (an index on a table the
  // statement created) find their parent.
  std::map<std::string, Relation> added;
  auto find = [&](const std::string& name) -> const Relation* {
    auto it = added.find(Key(name));
    if (it != added.end()) return &it->second;
    return FindRelation(name);
  };
  std::vector<std::string> virtual_tables;
  for (const StatementAuth::Created& c : auth.created) {
    if (c.action == SQLITE_CREATE_VTABLE) virtual_tables.push_back(Key(c.name));
  }
  for (const StatementAuth::Created& c : auth.created) {
    if (IsTempCreate(c.action)) {
      Relation r{c.name, 0, KindOfAction(c.action), role, std::nullopt, c.table};
      if (r.kind == RelKind::kIndex || r.kind == RelKind::kTrigger) {
        if (const Relation* parent = find(c.table)) r.owner = parent->owner;
      }
      temp_[Key(c.name)] = r;
      continue;
    }
    Result<std::vector<catalogue::SchemaObject>> objects = catalogue::SchemaObjects(db, c.name);
    if (!objects.ok()) return objects.error();
    // The object of the kind created (a view and a trigger may share a name
    // in SQLite's schema); none: IF NOT EXISTS, or a shadow table not made.
    const RelKind made = KindOfAction(c.action);
    auto it = std::find_if(
        objects->begin(), objects->end(),
        [&](const catalogue::SchemaObject& so) { return catalogue::KindOf(so) == made; });
    if (it == objects->end()) continue;
    const catalogue::SchemaObject& o = *it;
    // A view or trigger body naming the server's tables could never run
    // (the sandbox refuses them whoever fires it); say so now.
    if (r_kind_has_body(made)) {
      for (const Token& t : SignificantTokens(o.sql)) {
        const std::string word = IdentifierValue(t);
        if ((t.kind == TokenKind::kWord || t.kind == TokenKind::kQuotedIdent) &&
            sandbox::IsReservedName(word.c_str())) {
          return MakeError("42501", "permission denied for table " + Key(word));
        }
      }
    }
    Relation r{o.name, 0, catalogue::KindOf(o), role, std::nullopt, ""};
    if (const Relation* known = snapshot_.FindRelation(o.name)) {
      // IF NOT EXISTS on an existing object keeps its owner; one name for
      // two kinds (a trigger named like a view) would confuse whose
      // privileges apply inside it, so it is refused.
      if (known->kind == r.kind || (known->kind == RelKind::kShadow && r.kind == RelKind::kTable)) {
        continue;
      }
      return MakeError("42P07", StringPrintf("relation \"%s\" already exists", o.name.c_str()));
    }
    if (r.kind == RelKind::kIndex || r.kind == RelKind::kTrigger) {
      r.parent = o.table;
      if (const Relation* parent = find(o.table)) r.owner = parent->owner;
    } else if (r.kind == RelKind::kTable) {
      for (const std::string& v : virtual_tables) {
        if (Key(o.name).compare(0, v.size() + 1, v + "_") == 0) {
          r.kind = RelKind::kShadow;
          r.parent = v;
        }
      }
    }
    if (Status s = catalogue::PutRelation(db, r); !s.ok()) return s;
    added[Key(r.name)] = r;
    changed = true;
  }
  // Foreign keys of new or altered tables: PostgreSQL's REFERENCES check.
  std::vector<std::string> with_keys;
  for (const auto& [key, r] : added) {
    if (r.kind == RelKind::kTable) with_keys.push_back(r.name);
  }
  for (const std::string& t : auth.altered) with_keys.push_back(t);
  for (const std::string& t : with_keys) {
    storage::Stmt fk(db, "SELECT DISTINCT \"table\" FROM pragma_foreign_key_list(?1)");
    fk.Bind(1, t);
    while (fk.Step() == SQLITE_ROW) {
      const std::string parent = fk.Text(0);
      const Relation* p = find(parent);
      if (p == nullptr || graph_.IsSuperuser(role) || IsOwner(role, p->owner) ||
          (TablePrivileges(role, *p) & acl::kReferences) != 0) {
        continue;
      }
      return MakeError("42501", StringPrintf("permission denied for table %s", p->name.c_str()));
    }
  }
  for (const std::string& name : auth.dropped) {
    Result<std::vector<catalogue::SchemaObject>> objects = catalogue::SchemaObjects(db, name);
    if (!objects.ok()) return objects.error();
    if (!objects->empty()) continue;
    if (snapshot_.FindRelation(name) != nullptr) {
      if (Status s = catalogue::DeleteRelation(db, name); !s.ok()) return s;
      changed = true;
    }
    temp_.erase(Key(name));
  }
  for (const std::string& table : auth.altered) {
    std::optional<AlterRename> rename = ParseAlterRename(tokens);
    if (rename && Key(rename->table) == Key(table) && !rename->to.empty()) {
      if (sandbox::IsReservedName(rename->to.c_str()) || system::IsView(Key(rename->to))) {
        return MakeError("42P07",
                         StringPrintf("relation \"%s\" already exists", rename->to.c_str()));
      }
      if (temp_.count(Key(table)) != 0) {
        Relation r = temp_[Key(table)];
        temp_.erase(Key(table));
        r.name = rename->to;
        temp_[Key(r.name)] = r;
        continue;
      }
      if (Status s = catalogue::RenameRelation(db, table, rename->to); !s.ok()) return s;
      changed = true;
      continue;
    }
    if (rename && Key(rename->table) == Key(table) && !rename->column_from.empty()) {
      if (Status s = catalogue::RenameColumn(db, table, rename->column_from, rename->column_to);
          !s.ok()) {
        return s;
      }
      changed = true;
      continue;
    }
    Result<std::vector<std::string>> columns = catalogue::Columns(db, table);
    if (!columns.ok()) return columns.error();
    if (Status s = catalogue::PruneColumnAcls(db, table, *columns); !s.ok()) return s;
    changed = true;
  }
  if (changed) CatalogueChanged();
  return Status::Ok();
}

}  // namespace bgw::sql::privileges
