// PostgreSQL's catalogue views and privilege functions; see catalog_views.h.
#include "sql/catalog_views.h"

#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/strutil.h"
#include "sql/array_text.h"
#include "sql/catalogue.h"
#include "sql/extension.h"
#include "sql/fmgr_call.h"
#include "sql/sandbox.h"
#include "sql/session_internal.h"
#include "sql/system.h"
#include "sql/value.h"
#include "storage/catalog_cache.h"
#include "storage/sqlite_stmt.h"

namespace bgw::sql::catalog_views {
namespace {

using catalogue::Relation;
using catalogue::RelKind;
using system::Row;

struct Context {
  sqlite3* db;
  const SessionInfo* info;
  privileges::AccessControl* ac;
};

Value Bool(bool b) { return Value::Int(b ? 1 : 0); }

std::string NameOf(const Context& c, uint32_t oid) { return c.ac->RoleName(oid); }

Value AclText(const Context& c, const std::optional<acl::Acl>& a) {
  if (!a) return Value::Null();
  return Value::Text(acl::Format(*a, [&c](uint32_t oid) { return NameOf(c, oid); }));
}

// The views compute from the snapshot; a superuser's session loads it only
// when something asks (privileges.h).
Status Ready(const Context& c) {
  if (Status s = c.ac->Refresh(c.db); !s.ok()) return s;
  return c.ac->EnsureSnapshot(c.db);
}

// pg_class.relkind for what the catalogue records; 0 = not shown.
char PgRelKind(RelKind kind) {
  switch (kind) {
    case RelKind::kTable:
    case RelKind::kVirtual:
      return 'r';
    case RelKind::kView:
      return 'v';
    case RelKind::kIndex:
      return 'i';
    default:
      return 0;  // triggers (pg_trigger), shadow tables (a virtual table's storage)
  }
}

struct ColumnInfo {
  std::string name;
  std::string type;
  bool not_null;
  bool has_default;
  bool generated;
};

std::vector<ColumnInfo> ColumnsOf(sqlite3* db, const std::string& relation) {
  sandbox::InternalScope internal;
  storage::Stmt st(db,
                   "SELECT name, type, \"notnull\", dflt_value IS NOT NULL, hidden "
                   "FROM pragma_table_xinfo(?1) ORDER BY cid");
  st.Bind(1, relation);
  std::vector<ColumnInfo> out;
  while (st.Step() == SQLITE_ROW) {
    out.push_back({st.Text(0), st.Text(1), st.Int(2) != 0, st.Int(3) != 0, st.Int(4) >= 2});
  }
  return out;
}

const char kNamespaceSchema[] = "CREATE TABLE x(oid OID, nspname NAME, nspowner OID, nspacl TEXT)";

Result<std::vector<Row>> NamespaceRows(const Context& c) {
  if (Status s = Ready(c); !s.ok()) return s.error();
  std::vector<Row> rows;
  const std::string boot = std::to_string(storage::kBootstrapSuperuserOid);
  rows.push_back({Value::Int(kPgCatalogNamespace), Value::Text("pg_catalog"),
                  Value::Int(storage::kBootstrapSuperuserOid),
                  AclText(c, acl::Decode(boot + "=UC/" + boot + ",0=U/" + boot))});
  if (const catalogue::Namespace* ns = c.ac->snapshot().FindNamespace("public")) {
    rows.push_back(
        {Value::Int(kPublicNamespace), Value::Text(ns->name), Value::Int(ns->owner),
         AclText(c, ns->acl ? ns->acl : acl::DefaultAcl(acl::ObjectKind::kSchema, ns->owner))});
  }
  return rows;
}

const char kClassSchema[] =
    "CREATE TABLE x(oid OID, relname NAME, relnamespace OID, reltype OID, reloftype OID, "
    "relowner OID, relam OID, relfilenode OID, reltablespace OID, relpages INT4, "
    "reltuples FLOAT4, relallvisible INT4, reltoastrelid OID, relhasindex BOOL, "
    "relisshared BOOL, relpersistence TEXT, relkind TEXT, relnatts INT2, relchecks INT2, "
    "relhasrules BOOL, relhastriggers BOOL, relhassubclass BOOL, relrowsecurity BOOL, "
    "relforcerowsecurity BOOL, relispopulated BOOL, relreplident TEXT, relispartition BOOL, "
    "relrewrite OID, relfrozenxid TEXT, relminmxid TEXT, relacl TEXT, reloptions TEXT, "
    "relpartbound TEXT)";

Result<std::vector<Row>> ClassRows(const Context& c) {
  if (Status s = Ready(c); !s.ok()) return s.error();
  const catalogue::Snapshot& snap = c.ac->snapshot();
  std::vector<Row> rows;
  for (const auto& [key, r] : snap.relations()) {
    const char kind = PgRelKind(r.kind);
    if (kind == 0) continue;
    bool has_index = false, has_triggers = false;
    for (const auto& [k2, child] : snap.relations()) {
      if (catalogue::Key(child.parent) != key) continue;
      has_index = has_index || child.kind == RelKind::kIndex;
      has_triggers = has_triggers || child.kind == RelKind::kTrigger;
    }
    const int64_t natts = kind == 'i' ? 0 : static_cast<int64_t>(ColumnsOf(c.db, r.name).size());
    std::optional<acl::Acl> a = r.acl;
    rows.push_back({Value::Int(r.oid),
                    Value::Text(r.name),
                    Value::Int(kPublicNamespace),
                    Value::Int(0),
                    Value::Int(0),
                    Value::Int(r.owner),
                    Value::Int(0),
                    Value::Int(r.oid),
                    Value::Int(0),
                    Value::Int(0),
                    Value::Real(-1),
                    Value::Int(0),
                    Value::Int(0),
                    Bool(has_index),
                    Bool(false),
                    Value::Text("p"),
                    Value::Text(std::string(1, kind)),
                    Value::Int(natts),
                    Value::Int(0),
                    Bool(false),
                    Bool(has_triggers),
                    Bool(false),
                    Bool(false),
                    Bool(false),
                    Bool(true),
                    Value::Text("d"),
                    Bool(false),
                    Value::Int(0),
                    Value::Text("0"),
                    Value::Text("0"),
                    kind == 'i' ? Value::Null() : AclText(c, a),
                    Value::Null(),
                    Value::Null()});
  }
  return rows;
}

const char kAttributeSchema[] =
    "CREATE TABLE x(attrelid OID, attname NAME, atttypid OID, attstattarget INT4, attlen INT2, "
    "attnum INT2, attndims INT4, attcacheoff INT4, atttypmod INT4, attbyval BOOL, "
    "attalign TEXT, attstorage TEXT, attcompression TEXT, attnotnull BOOL, atthasdef BOOL, "
    "atthasmissing BOOL, attidentity TEXT, attgenerated TEXT, attisdropped BOOL, "
    "attislocal BOOL, attinhcount INT4, attcollation OID, attacl TEXT, attoptions TEXT, "
    "attfdwoptions TEXT, attmissingval TEXT)";

Result<std::vector<Row>> AttributeRows(const Context& c) {
  if (Status s = Ready(c); !s.ok()) return s.error();
  const catalogue::Snapshot& snap = c.ac->snapshot();
  std::vector<Row> rows;
  for (const auto& [key, r] : snap.relations()) {
    const char kind = PgRelKind(r.kind);
    if (kind == 0 || kind == 'i') continue;
    int attnum = 0;
    for (const ColumnInfo& col : ColumnsOf(c.db, r.name)) {
      ++attnum;
      const uint32_t type = internal::DeclTypeOid(col.type);
      const int16_t len = TypeLength(type);
      const acl::Acl* a = snap.ColumnAcl(r.name, col.name);
      rows.push_back({Value::Int(r.oid),
                      Value::Text(col.name),
                      Value::Int(type),
                      Value::Int(-1),
                      Value::Int(len),
                      Value::Int(attnum),
                      Value::Int(0),
                      Value::Int(-1),
                      Value::Int(-1),
                      Bool(len > 0),
                      Value::Text(len == 8   ? "d"
                                  : len == 2 ? "s"
                                  : len == 1 ? "c"
                                             : "i"),
                      Value::Text(len > 0 ? "p" : "x"),
                      Value::Text(""),
                      Bool(col.not_null),
                      Bool(col.has_default),
                      Bool(false),
                      Value::Text(""),
                      Value::Text(col.generated ? "s" : ""),
                      Bool(false),
                      Bool(true),
                      Value::Int(0),
                      Value::Int(type == oid::kText || type == oid::kVarchar ? 100 : 0),
                      a != nullptr ? AclText(c, *a) : Value::Null(),
                      Value::Null(),
                      Value::Null(),
                      Value::Null()});
    }
  }
  return rows;
}

const char kRolesSchema[] =
    "CREATE TABLE x(rolname NAME, rolsuper BOOL, rolinherit BOOL, rolcreaterole BOOL, "
    "rolcreatedb BOOL, rolcanlogin BOOL, rolreplication BOOL, rolconnlimit INT4, "
    "rolpassword TEXT, rolvaliduntil TIMESTAMPTZ, rolbypassrls BOOL, rolconfig TEXT, oid OID)";

// pg_roles hides the verifier; pg_authid (superusers only) shows it.
Result<std::vector<Row>> RoleRows(const Context& c, bool authid) {
  if (Status s = c.ac->Refresh(c.db); !s.ok()) return s.error();
  if (authid && !c.info->superuser) {
    return MakeError("42501", "permission denied for table pg_authid");
  }
  std::vector<Row> rows;
  for (const storage::RoleInfo& r : c.ac->graph().roles()) {
    Value password = authid ? (r.password.empty() ? Value::Null() : Value::Text(r.password))
                            : Value::Text("********");
    rows.push_back({Value::Text(r.name), Bool(r.superuser), Bool(r.inherit), Bool(r.create_role),
                    Bool(r.create_db), Bool(r.can_login), Bool(r.replication),
                    Value::Int(r.connection_limit), password, Value::Null(), Bool(r.bypass_rls),
                    Value::Null(), Value::Int(r.oid)});
  }
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a[12].i < b[12].i; });
  return rows;
}

const char kAuthidSchema[] =
    "CREATE TABLE x(oid OID, rolname NAME, rolsuper BOOL, rolinherit BOOL, rolcreaterole BOOL, "
    "rolcreatedb BOOL, rolcanlogin BOOL, rolreplication BOOL, rolbypassrls BOOL, "
    "rolconnlimit INT4, rolpassword TEXT, rolvaliduntil TIMESTAMPTZ)";

Result<std::vector<Row>> AuthidRows(const Context& c) {
  Result<std::vector<Row>> roles = RoleRows(c, true);
  if (!roles.ok()) return roles;
  std::vector<Row> rows;
  for (const Row& r : *roles) {
    rows.push_back({r[12], r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[10], r[7], r[8], r[9]});
  }
  return rows;
}

const char kUserSchema[] =
    "CREATE TABLE x(usename NAME, usesysid OID, usecreatedb BOOL, usesuper BOOL, userepl BOOL, "
    "usebypassrls BOOL, passwd TEXT, valuntil TIMESTAMPTZ, useconfig TEXT)";

Result<std::vector<Row>> UserRows(const Context& c) {
  Result<std::vector<Row>> roles = RoleRows(c, false);
  if (!roles.ok()) return roles;
  std::vector<Row> rows;
  for (const Row& r : *roles) {
    if (r[5].i == 0) continue;  // pg_user: roles that can log in
    rows.push_back({r[0], r[12], r[4], r[1], r[6], r[10], r[8], r[9], r[11]});
  }
  return rows;
}

const char kAuthMembersSchema[] =
    "CREATE TABLE x(roleid OID, member OID, grantor OID, admin_option BOOL)";

Result<std::vector<Row>> AuthMembersRows(const Context& c) {
  if (Status s = c.ac->Refresh(c.db); !s.ok()) return s.error();
  std::vector<Row> rows;
  for (const storage::Membership& m : c.ac->graph().memberships()) {
    rows.push_back(
        {Value::Int(m.role), Value::Int(m.member), Value::Int(m.grantor), Bool(m.admin_option)});
  }
  return rows;
}

const char kDatabaseSchema[] =
    "CREATE TABLE x(oid OID, datname NAME, datdba OID, encoding INT4, datlocprovider TEXT, "
    "datistemplate BOOL, datallowconn BOOL, datconnlimit INT4, datfrozenxid TEXT, "
    "datminmxid TEXT, dattablespace OID, datcollate TEXT, datctype TEXT, daticulocale TEXT, "
    "datcollversion TEXT, datacl TEXT)";

Result<std::vector<Row>> DatabaseRows(const Context& c) {
  storage::CatalogLookup lookup(c.info->data_dir);
  Result<std::vector<storage::DatabaseInfo>> list = lookup.ListDatabases();
  if (!list.ok()) return list.error();
  if (Status s = c.ac->Refresh(c.db); !s.ok()) return s.error();
  std::vector<Row> rows;
  for (const storage::DatabaseInfo& d : *list) {
    std::optional<acl::Acl> a;
    if (d.acl) a = acl::Decode(*d.acl).value_or(acl::Acl{});
    rows.push_back({Value::Int(d.oid), Value::Text(d.name), Value::Int(d.owner), Value::Int(6),
                    Value::Text("c"), Bool(false), Bool(d.allow_connections),
                    Value::Int(d.connection_limit), Value::Text("0"), Value::Text("1"),
                    Value::Int(1663), Value::Text("C"), Value::Text("C"), Value::Null(),
                    Value::Null(), AclText(c, a)});
  }
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a[0].i < b[0].i; });
  return rows;
}

const char kPolicySchema[] =
    "CREATE TABLE x(oid OID, polname NAME, polrelid OID, polcmd TEXT, polpermissive BOOL, "
    "polroles TEXT, polqual TEXT, polwithcheck TEXT)";

// PostgreSQL's OID of pg_extension itself (pg_description.classoid).
constexpr uint32_t kPgExtensionClassOid = 3079;

Result<std::vector<catalogue::Extension>> InstalledExtensions(const Context& c) {
  sandbox::InternalScope internal;
  return catalogue::Extensions(c.db);
}

const char kExtensionSchema[] =
    "CREATE TABLE x(oid OID, extname NAME, extowner OID, extnamespace OID, extrelocatable BOOL, "
    "extversion TEXT, extconfig TEXT, extcondition TEXT)";

Result<std::vector<Row>> ExtensionRows(const Context& c) {
  Result<std::vector<catalogue::Extension>> all = InstalledExtensions(c);
  if (!all.ok()) return all.error();
  std::vector<Row> rows;
  for (const catalogue::Extension& e : *all) {
    rows.push_back({Value::Int(e.oid), Value::Text(e.name), Value::Int(e.owner),
                    Value::Int(kPublicNamespace), Bool(e.relocatable), Value::Text(e.version),
                    Value::Null(), Value::Null()});
  }
  return rows;
}

const char kAvailableExtensionsSchema[] =
    "CREATE TABLE x(name NAME, default_version TEXT, installed_version TEXT, comment TEXT)";

// What `make install` put in the share directory, and which are installed.
Result<std::vector<Row>> AvailableExtensionRows(const Context& c) {
  Result<std::vector<catalogue::Extension>> installed = InstalledExtensions(c);
  if (!installed.ok()) return installed.error();
  std::vector<Row> rows;
  for (const extension::Control& x : extension::Available()) {
    Value version = Value::Null();
    for (const catalogue::Extension& e : *installed) {
      if (e.name == x.name) version = Value::Text(e.version);
    }
    rows.push_back({Value::Text(x.name), Value::Text(x.default_version), version,
                    x.comment.empty() ? Value::Null() : Value::Text(x.comment)});
  }
  return rows;
}

const char kDescriptionSchema[] =
    "CREATE TABLE x(objoid OID, classoid OID, objsubid INT4, description TEXT)";

// Comments: so far those of installed extensions (their control files').
Result<std::vector<Row>> DescriptionRows(const Context& c) {
  Result<std::vector<catalogue::Extension>> installed = InstalledExtensions(c);
  if (!installed.ok()) return installed.error();
  std::vector<Row> rows;
  for (const catalogue::Extension& e : *installed) {
    Result<extension::Control> control = extension::ReadControl(e.name);
    if (!control.ok() || control->comment.empty()) continue;
    rows.push_back({Value::Int(e.oid), Value::Int(kPgExtensionClassOid), Value::Int(0),
                    Value::Text(control->comment)});
  }
  return rows;
}

// ---- functions ------------------------------------------------------------------

const Context& Ctx(sqlite3_context* ctx) {
  return *static_cast<const Context*>(sqlite3_user_data(ctx));
}

std::string ArgText(sqlite3_value* v) {
  const unsigned char* p = sqlite3_value_text(v);
  return p != nullptr ? std::string(reinterpret_cast<const char*>(p),
                                    static_cast<size_t>(sqlite3_value_bytes(v)))
                      : std::string();
}

bool IsNumber(sqlite3_value* v) {
  const int t = sqlite3_value_type(v);
  return t == SQLITE_INTEGER || t == SQLITE_FLOAT;
}

// A name as PostgreSQL's regclass/regrole input reads it: folded to lower
// case unless double-quoted; `schema.` dropped when it is public or
// pg_catalog (nullopt for another schema).
std::optional<std::string> ObjectName(const std::string& text) {
  std::vector<std::string> parts;
  std::string cur;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); i++) {
    const char ch = text[i];
    if (quoted) {
      if (ch == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        cur += '"';
        i++;
      } else if (ch == '"') {
        quoted = false;
      } else {
        cur += ch;
      }
    } else if (ch == '"') {
      quoted = true;
    } else if (ch == '.') {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    }
  }
  parts.push_back(cur);
  if (parts.size() > 2 || parts.back().empty()) return std::nullopt;
  if (parts.size() == 2 && parts[0] != "public" && parts[0] != "pg_catalog") return std::nullopt;
  return parts.back();
}

// The role argument: a name (PUBLIC allowed) or an OID. Fails the call.
std::optional<uint32_t> RoleArg(sqlite3_context* ctx, sqlite3_value* v) {
  const Context& c = Ctx(ctx);
  if (IsNumber(v)) return static_cast<uint32_t>(sqlite3_value_int64(v));
  const std::string name = ArgText(v);
  if (name == "public") return acl::kPublic;
  if (const storage::RoleInfo* r = c.ac->graph().Find(name)) return r->oid;
  fmgr::ResultError(ctx,
                    MakeError("42704", StringPrintf("role \"%s\" does not exist", name.c_str())));
  return std::nullopt;
}

// "SELECT, UPDATE WITH GRANT OPTION": the bits asked for, each with its
// option flag; unknown names fail the call (22023), as PostgreSQL.
struct Asked {
  uint32_t privileges = 0;
  uint32_t options = 0;
  bool ok = true;
};
Asked ParsePrivileges(sqlite3_context* ctx, sqlite3_value* v,
                      const std::vector<std::pair<std::string, uint32_t>>& allowed) {
  Asked out;
  for (std::string item : SplitTrimmed(ArgText(v), ',')) {
    for (char& ch : item) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    bool option = false;
    for (const char* suffix : {" WITH GRANT OPTION", " WITH ADMIN OPTION"}) {
      const size_t n = std::strlen(suffix);
      if (item.size() > n && item.compare(item.size() - n, n, suffix) == 0) {
        item = std::string(Trim(item.substr(0, item.size() - n)));
        option = true;
      }
    }
    auto it = std::find_if(allowed.begin(), allowed.end(),
                           [&](const auto& p) { return p.first == item; });
    if (it == allowed.end()) {
      fmgr::ResultError(ctx, MakeError("22023", StringPrintf("unrecognized privilege type: \"%s\"",
                                                             item.c_str())));
      out.ok = false;
      return out;
    }
    (option ? out.options : out.privileges) |= it->second;
  }
  return out;
}

const std::vector<std::pair<std::string, uint32_t>> kTablePrivileges = {
    {"SELECT", acl::kSelect},  {"INSERT", acl::kInsert},     {"UPDATE", acl::kUpdate},
    {"DELETE", acl::kDelete},  {"TRUNCATE", acl::kTruncate}, {"REFERENCES", acl::kReferences},
    {"TRIGGER", acl::kTrigger}};
const std::vector<std::pair<std::string, uint32_t>> kColumnPrivileges = {
    {"SELECT", acl::kSelect},
    {"INSERT", acl::kInsert},
    {"UPDATE", acl::kUpdate},
    {"REFERENCES", acl::kReferences}};
const std::vector<std::pair<std::string, uint32_t>> kSchemaPrivileges = {{"CREATE", acl::kCreate},
                                                                         {"USAGE", acl::kUsage}};
const std::vector<std::pair<std::string, uint32_t>> kDatabasePrivileges = {
    {"CREATE", acl::kCreate},
    {"CONNECT", acl::kConnect},
    {"TEMPORARY", acl::kTemporary},
    {"TEMP", acl::kTemporary}};
const std::vector<std::pair<std::string, uint32_t>> kFunctionPrivileges = {
    {"EXECUTE", acl::kExecute}};

// Whether the privileges held (and grant options) cover any one asked.
void ResultAny(sqlite3_context* ctx, const Asked& asked, uint32_t held, uint32_t options) {
  const bool yes = (asked.privileges & held) != 0 || (asked.options & options) != 0;
  sqlite3_result_int(ctx, yes ? 1 : 0);
}

// Splits (role?, object..., privilege) into the role and the rest.
struct Args {
  uint32_t role;
  sqlite3_value** rest;
  bool ok;
};
Args SplitArgs(sqlite3_context* ctx, int argc, sqlite3_value** argv, int without_role) {
  const Context& c = Ctx(ctx);
  for (int i = 0; i < argc; i++) {
    if (sqlite3_value_type(argv[i]) == SQLITE_NULL) {
      sqlite3_result_null(ctx);
      return {0, argv, false};
    }
  }
  if (argc == without_role) return {c.info->role_oid, argv, true};
  std::optional<uint32_t> role = RoleArg(ctx, argv[0]);
  return {role.value_or(0), argv + 1, role.has_value()};
}

// The relation argument; nullptr after failing the call (or NULL result
// for an unknown OID, as PostgreSQL).
const Relation* RelationArg(sqlite3_context* ctx, sqlite3_value* v) {
  const Context& c = Ctx(ctx);
  if (Status s = Ready(c); !s.ok()) {
    fmgr::ResultError(ctx, s.error());
    return nullptr;
  }
  const Relation* rel = nullptr;
  if (IsNumber(v)) {
    rel = c.ac->snapshot().FindRelation(static_cast<uint32_t>(sqlite3_value_int64(v)));
    if (rel == nullptr) sqlite3_result_null(ctx);
    return rel;
  }
  const std::string text = ArgText(v);
  std::optional<std::string> name = ObjectName(text);
  if (name) rel = c.ac->FindRelation(*name);
  if (rel == nullptr || PgRelKind(rel->kind) == 0) {
    fmgr::ResultError(
        ctx, MakeError("42P01", StringPrintf("relation \"%s\" does not exist", text.c_str())));
    return nullptr;
  }
  return c.ac->PrivilegeTarget(*rel);
}

void HasTablePrivilege(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  Args a = SplitArgs(ctx, argc, argv, 2);
  if (!a.ok) return;
  const Relation* rel = RelationArg(ctx, a.rest[0]);
  if (rel == nullptr) return;
  Asked asked = ParsePrivileges(ctx, a.rest[1], kTablePrivileges);
  if (!asked.ok) return;
  const privileges::AccessControl& ac = *Ctx(ctx).ac;
  if (ac.graph().IsSuperuser(a.role)) return sqlite3_result_int(ctx, 1);
  ResultAny(ctx, asked, ac.TablePrivileges(a.role, *rel), ac.TableGrantOptions(a.role, *rel));
}

void HasAnyColumnPrivilege(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  Args a = SplitArgs(ctx, argc, argv, 2);
  if (!a.ok) return;
  const Relation* rel = RelationArg(ctx, a.rest[0]);
  if (rel == nullptr) return;
  Asked asked = ParsePrivileges(ctx, a.rest[1], kColumnPrivileges);
  if (!asked.ok) return;
  const privileges::AccessControl& ac = *Ctx(ctx).ac;
  if (ac.graph().IsSuperuser(a.role)) return sqlite3_result_int(ctx, 1);
  ResultAny(ctx, asked, ac.TablePrivileges(a.role, *rel, std::string_view()),
            ac.TableGrantOptions(a.role, *rel));
}

void HasColumnPrivilege(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  Args a = SplitArgs(ctx, argc, argv, 3);
  if (!a.ok) return;
  const Relation* rel = RelationArg(ctx, a.rest[0]);
  if (rel == nullptr) return;
  const Context& c = Ctx(ctx);
  std::string column;
  std::vector<ColumnInfo> columns = ColumnsOf(c.db, rel->name);
  if (IsNumber(a.rest[1])) {
    const int64_t n = sqlite3_value_int64(a.rest[1]);
    if (n < 1 || n > static_cast<int64_t>(columns.size())) return sqlite3_result_null(ctx);
    column = columns[static_cast<size_t>(n - 1)].name;
  } else {
    column = ArgText(a.rest[1]);
    const bool exists = std::any_of(columns.begin(), columns.end(), [&](const ColumnInfo& ci) {
      return catalogue::Key(ci.name) == catalogue::Key(column);
    });
    if (!exists) {
      fmgr::ResultError(
          ctx, MakeError("42703", StringPrintf("column \"%s\" of relation \"%s\" does not exist",
                                               column.c_str(), rel->name.c_str())));
      return;
    }
  }
  Asked asked = ParsePrivileges(ctx, a.rest[2], kColumnPrivileges);
  if (!asked.ok) return;
  if (c.ac->graph().IsSuperuser(a.role)) return sqlite3_result_int(ctx, 1);
  ResultAny(ctx, asked, c.ac->TablePrivileges(a.role, *rel, column),
            c.ac->TableGrantOptions(a.role, *rel));
}

void HasSchemaPrivilege(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  Args a = SplitArgs(ctx, argc, argv, 2);
  if (!a.ok) return;
  const Context& c = Ctx(ctx);
  if (Status s = Ready(c); !s.ok()) return fmgr::ResultError(ctx, s.error());
  Asked asked = ParsePrivileges(ctx, a.rest[1], kSchemaPrivileges);
  if (!asked.ok) return;
  const std::string name = ArgText(a.rest[0]);
  const bool by_oid = IsNumber(a.rest[0]);
  const int64_t oid = by_oid ? sqlite3_value_int64(a.rest[0]) : 0;
  if ((by_oid && oid == kPgCatalogNamespace) || (!by_oid && name == "pg_catalog")) {
    return sqlite3_result_int(ctx, (asked.privileges & acl::kUsage) != 0 ? 1 : 0);
  }
  const catalogue::Namespace* ns =
      (by_oid && oid == kPublicNamespace) || (!by_oid && name == "public")
          ? c.ac->snapshot().FindNamespace("public")
          : nullptr;
  if (ns == nullptr) {
    if (by_oid) return sqlite3_result_null(ctx);
    return fmgr::ResultError(
        ctx, MakeError("3F000", StringPrintf("schema \"%s\" does not exist", name.c_str())));
  }
  if (c.ac->graph().IsSuperuser(a.role)) return sqlite3_result_int(ctx, 1);
  const uint32_t options =
      c.ac->HasPrivsOf(a.role, ns->owner) ? acl::AllPrivileges(acl::ObjectKind::kSchema) : 0;
  ResultAny(ctx, asked, c.ac->SchemaPrivileges(a.role, *ns), options);
}

void HasDatabasePrivilege(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  Args a = SplitArgs(ctx, argc, argv, 2);
  if (!a.ok) return;
  const Context& c = Ctx(ctx);
  Asked asked = ParsePrivileges(ctx, a.rest[1], kDatabasePrivileges);
  if (!asked.ok) return;
  storage::CatalogLookup lookup(c.info->data_dir);
  const bool by_oid = IsNumber(a.rest[0]);
  Result<std::optional<storage::DatabaseInfo>> d =
      by_oid ? lookup.FindDatabase(static_cast<uint32_t>(sqlite3_value_int64(a.rest[0])))
             : lookup.FindDatabase(ArgText(a.rest[0]));
  if (!d.ok()) return fmgr::ResultError(ctx, d.error());
  if (!d->has_value()) {
    if (by_oid) return sqlite3_result_null(ctx);
    return fmgr::ResultError(ctx, MakeError("3D000", StringPrintf("database \"%s\" does not exist",
                                                                  ArgText(a.rest[0]).c_str())));
  }
  if (c.ac->graph().IsSuperuser(a.role)) return sqlite3_result_int(ctx, 1);
  std::optional<acl::Acl> stored;
  if ((*d)->acl) stored = acl::Decode(*(*d)->acl).value_or(acl::Acl{});
  const acl::Acl acl_now =
      stored ? *stored : acl::DefaultAcl(acl::ObjectKind::kDatabase, (*d)->owner);
  const uint32_t held = acl::Mask(acl_now, [&](uint32_t grantee) {
    return grantee == acl::kPublic || c.ac->HasPrivsOf(a.role, grantee);
  });
  const uint32_t options = c.ac->HasPrivsOf(a.role, (*d)->owner)
                               ? acl::AllPrivileges(acl::ObjectKind::kDatabase)
                               : acl::GrantOptionMask(acl_now, [&](uint32_t grantee) {
                                   return c.ac->HasPrivsOf(a.role, grantee);
                                 });
  ResultAny(ctx, asked, held, options);
}

void HasFunctionPrivilege(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  Args a = SplitArgs(ctx, argc, argv, 2);
  if (!a.ok) return;
  const Context& c = Ctx(ctx);
  if (Status s = Ready(c); !s.ok()) return fmgr::ResultError(ctx, s.error());
  Asked asked = ParsePrivileges(ctx, a.rest[1], kFunctionPrivileges);
  if (!asked.ok) return;
  // 'name(type, ...)' or 'name': C functions only (built-ins are PUBLIC).
  std::string text = ArgText(a.rest[0]);
  const size_t paren = text.find('(');
  std::string name = std::string(Trim(text.substr(0, paren)));
  std::optional<std::string> plain = ObjectName(name);
  const catalogue::Function* fn = nullptr;
  for (const catalogue::Function& f : c.ac->snapshot().functions()) {
    if (plain && f.name == *plain) fn = &f;
  }
  if (fn == nullptr) {
    bool builtin = false;
    if (plain) {
      sandbox::InternalScope internal;
      storage::Stmt st(c.db, "SELECT 1 FROM pragma_function_list WHERE name = ?1");
      st.Bind(1, *plain);
      builtin = st.Step() == SQLITE_ROW;
    }
    // A built-in function: everyone may execute it.
    if (builtin) return sqlite3_result_int(ctx, (asked.privileges & acl::kExecute) != 0 ? 1 : 0);
    return fmgr::ResultError(
        ctx, MakeError("42883", StringPrintf("function \"%s\" does not exist", text.c_str())));
  }
  if (c.ac->graph().IsSuperuser(a.role)) return sqlite3_result_int(ctx, 1);
  const uint32_t options =
      c.ac->HasPrivsOf(a.role, fn->owner) ? acl::AllPrivileges(acl::ObjectKind::kFunction) : 0;
  ResultAny(ctx, asked, c.ac->FunctionPrivileges(a.role, *fn), options);
}

void PgHasRole(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  Args a = SplitArgs(ctx, argc, argv, 2);
  if (!a.ok) return;
  const Context& c = Ctx(ctx);
  std::optional<uint32_t> role = RoleArg(ctx, a.rest[0]);
  if (!role) return;
  std::string what = ArgText(a.rest[1]);
  for (char& ch : what) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  const roles::RoleGraph& g = c.ac->graph();
  bool yes = false;
  bool known = false;
  for (std::string item : SplitTrimmed(what, ',')) {
    const bool option = item.find(" WITH ") != std::string::npos;
    item = item.substr(0, item.find(' '));
    if (item != "MEMBER" && item != "USAGE" && item != "SET") {
      return fmgr::ResultError(
          ctx,
          MakeError("22023", StringPrintf("unrecognized privilege type: \"%s\"", what.c_str())));
    }
    known = true;
    if (option) {
      yes = yes || g.IsAdminOf(a.role, *role, c.info->session_role_oid);
    } else if (item == "USAGE") {
      yes = yes || g.HasPrivsOf(a.role, *role);
    } else {
      yes = yes || g.IsMemberOf(a.role, *role);
    }
  }
  sqlite3_result_int(ctx, known && yes ? 1 : 0);
}

void PgGetUserById(sqlite3_context* ctx, int, sqlite3_value** argv) {
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) return sqlite3_result_null(ctx);
  const Context& c = Ctx(ctx);
  (void)c.ac->Refresh(c.db);
  const uint32_t oid = static_cast<uint32_t>(sqlite3_value_int64(argv[0]));
  const storage::RoleInfo* r = c.ac->graph().Find(oid);
  const std::string name = r != nullptr ? r->name : StringPrintf("unknown (OID=%u)", oid);
  sqlite3_result_text(ctx, name.c_str(), static_cast<int>(name.size()), SQLITE_TRANSIENT);
}

void PgEncodingToChar(sqlite3_context* ctx, int, sqlite3_value** argv) {
  const int64_t e = sqlite3_value_int64(argv[0]);
  sqlite3_result_text(ctx, e == 6 ? "UTF8" : e == 0 ? "SQL_ASCII" : "", -1, SQLITE_STATIC);
}

// PostgreSQL's OIDs of the system catalogs our views stand for, so that
// 'pg_extension'::regclass matches pg_description.classoid as psql expects.
constexpr std::pair<const char*, uint32_t> kSystemRelations[] = {
    {"pg_type", 1247},      {"pg_attribute", 1249},      {"pg_proc", 1255},
    {"pg_class", 1259},     {"pg_authid", 1260},         {"pg_auth_members", 1261},
    {"pg_database", 1262},  {"pg_description", 2609},    {"pg_namespace", 2615},
    {"pg_extension", 3079}, {"pg_policy", 3256},         {"pg_roles", 12001},
    {"pg_user", 12002},     {"pg_stat_activity", 12003},
};

// x::regclass: a relation's OID from its name (or the OID itself, as text
// or number); 42P01 for a name that is no relation.
void Regclass(sqlite3_context* ctx, int, sqlite3_value** argv) {
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) return sqlite3_result_null(ctx);
  if (IsNumber(argv[0])) return sqlite3_result_int64(ctx, sqlite3_value_int64(argv[0]));
  const std::string text = ArgText(argv[0]);
  if (!text.empty() && std::all_of(text.begin(), text.end(), [](char ch) {
        return std::isdigit(static_cast<unsigned char>(ch)) != 0;
      })) {
    return sqlite3_result_int64(ctx, std::strtoll(text.c_str(), nullptr, 10));
  }
  std::optional<std::string> name = ObjectName(text);
  if (name) {
    for (const auto& [relname, oid] : kSystemRelations) {
      if (*name == relname) return sqlite3_result_int64(ctx, oid);
    }
    const Context& c = Ctx(ctx);
    if (Status s = c.ac->Refresh(c.db); !s.ok()) return fmgr::ResultError(ctx, s.error());
    if (const catalogue::Relation* r = c.ac->FindRelation(*name); r != nullptr && r->oid != 0) {
      return sqlite3_result_int64(ctx, r->oid);
    }
  }
  fmgr::ResultError(ctx, MakeError("42P01", "relation \"" + text + "\" does not exist"));
}

void True(sqlite3_context* ctx, int, sqlite3_value**) { sqlite3_result_int(ctx, 1); }
void Null(sqlite3_context* ctx, int, sqlite3_value**) { sqlite3_result_null(ctx); }

// array_to_string(anyarray, delimiter [, null_string]) over an array's text
// form ({a,"b c",NULL}); elements that are NULL are skipped unless a
// null_string is given, as PostgreSQL.
void ArrayToString(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL || sqlite3_value_type(argv[1]) == SQLITE_NULL) {
    return sqlite3_result_null(ctx);
  }
  const std::string text = ArgText(argv[0]);
  const std::string sep = ArgText(argv[1]);
  const bool has_null_text = argc > 2 && sqlite3_value_type(argv[2]) != SQLITE_NULL;
  const std::string null_text = has_null_text ? ArgText(argv[2]) : "";
  std::optional<TextArray> elements = ParseTextArray(text);
  if (!elements) {
    return fmgr::ResultError(
        ctx, MakeError("22P02", StringPrintf("malformed array literal: \"%s\"", text.c_str())));
  }
  std::string out;
  bool first = true;
  for (const std::optional<std::string>& e : *elements) {
    if (!e && !has_null_text) continue;
    if (!first) out += sep;
    first = false;
    out += e ? *e : null_text;
  }
  sqlite3_result_text(ctx, out.data(), static_cast<int>(out.size()), SQLITE_TRANSIENT);
}

constexpr int kSafe = SQLITE_INNOCUOUS;
const builtins::Function kFunctions[] = {
    {"has_table_privilege", 2, oid::kBool, kSafe, HasTablePrivilege},
    {"has_table_privilege", 3, oid::kBool, kSafe, HasTablePrivilege},
    {"has_any_column_privilege", 2, oid::kBool, kSafe, HasAnyColumnPrivilege},
    {"has_any_column_privilege", 3, oid::kBool, kSafe, HasAnyColumnPrivilege},
    {"has_column_privilege", 3, oid::kBool, kSafe, HasColumnPrivilege},
    {"has_column_privilege", 4, oid::kBool, kSafe, HasColumnPrivilege},
    {"has_schema_privilege", 2, oid::kBool, kSafe, HasSchemaPrivilege},
    {"has_schema_privilege", 3, oid::kBool, kSafe, HasSchemaPrivilege},
    {"has_database_privilege", 2, oid::kBool, kSafe, HasDatabasePrivilege},
    {"has_database_privilege", 3, oid::kBool, kSafe, HasDatabasePrivilege},
    {"has_function_privilege", 2, oid::kBool, kSafe, HasFunctionPrivilege},
    {"has_function_privilege", 3, oid::kBool, kSafe, HasFunctionPrivilege},
    {"pg_has_role", 2, oid::kBool, kSafe, PgHasRole},
    {"pg_has_role", 3, oid::kBool, kSafe, PgHasRole},
    {"pg_get_userbyid", 1, oid::kName, kSafe, PgGetUserById},
    {"pg_encoding_to_char", 1, oid::kName, kSafe, PgEncodingToChar},
    {"pg_table_is_visible", 1, oid::kBool, kSafe, True},
    {"bgw_regclass", 1, oid::kOid, kSafe, Regclass},
    {"obj_description", 1, oid::kText, kSafe, Null},
    {"obj_description", 2, oid::kText, kSafe, Null},
    {"col_description", 2, oid::kText, kSafe, Null},
    {"shobj_description", 2, oid::kText, kSafe, Null},
    {"array_to_string", 2, oid::kText, kSafe, ArrayToString},
    {"array_to_string", 3, oid::kText, kSafe, ArrayToString},
};

}  // namespace

Status Register(sqlite3* db, const SessionInfo* info, privileges::AccessControl* access) {
  // Owned by the connection (freed with the last function's destructor).
  auto* context = new Context{db, info, access};
  const Context& c = *context;
  struct View {
    const char* name;
    const char* schema;
    system::ViewRows rows;
  };
  const View views[] = {
      {"pg_namespace", kNamespaceSchema, [&c] { return NamespaceRows(c); }},
      {"pg_class", kClassSchema, [&c] { return ClassRows(c); }},
      {"pg_attribute", kAttributeSchema, [&c] { return AttributeRows(c); }},
      {"pg_roles", kRolesSchema, [&c] { return RoleRows(c, false); }},
      {"pg_authid", kAuthidSchema, [&c] { return AuthidRows(c); }},
      {"pg_user", kUserSchema, [&c] { return UserRows(c); }},
      {"pg_auth_members", kAuthMembersSchema, [&c] { return AuthMembersRows(c); }},
      {"pg_database", kDatabaseSchema, [&c] { return DatabaseRows(c); }},
      {"pg_extension", kExtensionSchema, [&c] { return ExtensionRows(c); }},
      {"pg_available_extensions", kAvailableExtensionsSchema,
       [&c] { return AvailableExtensionRows(c); }},
      {"pg_description", kDescriptionSchema, [&c] { return DescriptionRows(c); }},
      {"pg_policy", kPolicySchema, [] { return Result<std::vector<Row>>(std::vector<Row>{}); }},
  };
  for (const View& v : views) {
    if (Status s = system::AddView(db, v.name, v.schema, v.rows); !s.ok()) return s;
  }
  // Read-only questions: safe anywhere, also inside views. SQLite frees
  // the context with the connection.
  return builtins::Register(db, kFunctions, context,
                            [](void* p) { delete static_cast<Context*>(p); });
}

std::span<const builtins::Function> Functions() { return kFunctions; }

}  // namespace bgw::sql::catalog_views
