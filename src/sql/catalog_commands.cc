// Databases and roles, the statements that change the shared catalog:
// CREATE/ALTER/DROP DATABASE and CREATE/ALTER/DROP ROLE (USER, GROUP), with
// PostgreSQL 15's privilege rules (superuser, CREATEDB, CREATEROLE, owner,
// the admin option) and its membership clauses (IN ROLE, ROLE, ADMIN).
//
// These change the catalog at once: unlike PostgreSQL they are not undone
// by a rollback (docs/sql.md). A role still referenced by any database's
// objects (owner, grants) cannot be dropped (2BP01), as PostgreSQL's
// pg_shdepend check.
#include <sqlite3.h>

#include "common/strutil.h"
#include "crypto/password.h"
#include "ipc/backend_status.h"
#include "ipc/pmsignal.h"
#include "postgres/miscadmin.h"
#include "sql/catalogue.h"
#include "sql/cursor.h"
#include "sql/sandbox.h"
#include "sql/session_internal.h"
#include "storage/catalog.h"

namespace bgw::sql::internal {

Result<UtilityResult> SessionImpl::RunDatabase(const StatementImpl& st) {
  Cursor c(st.tokens);
  const Kind kind = st.kind;
  c.Accept(kind == Kind::kCreateDatabase  ? "create"
           : kind == Kind::kAlterDatabase ? "alter"
                                          : "drop");
  c.Accept("database");
  Result<bool> if_exists = kind == Kind::kDropDatabase ? c.IfExists() : Result<bool>(false);
  if (!if_exists.ok()) return if_exists.error();
  std::optional<std::string> name = c.Ident();
  if (!name) return c.SyntaxError();

  if (kind == Kind::kCreateDatabase || kind == Kind::kDropDatabase) {
    if (state_ == TxState::kBlock) {
      return MakeError("25001", StringPrintf("%s cannot run inside a transaction block",
                                             kind == Kind::kCreateDatabase ? "CREATE DATABASE"
                                                                           : "DROP DATABASE"));
    }
  } else if (Status s = EnsureTransaction(false, false); !s.ok()) {
    return s.error();
  }

  // Options: [WITH] key [=] value ...
  storage::DatabaseOptions options;
  std::optional<std::string> rename_to;
  std::optional<std::string> owner_name;
  if (kind == Kind::kAlterDatabase && c.Accept("rename")) {
    if (!c.Accept("to")) return c.SyntaxError();
    rename_to = c.Ident();
    if (!rename_to) return c.SyntaxError();
  } else if (kind == Kind::kAlterDatabase && c.Accept("owner")) {
    if (!c.Accept("to")) return c.SyntaxError();
    owner_name = c.Ident();
    if (!owner_name) return c.SyntaxError();
  } else if (kind == Kind::kAlterDatabase && (c.PeekWord() == "set" || c.PeekWord() == "reset")) {
    return MakeError("0A000", "ALTER DATABASE ... SET is not supported");
  } else if (kind == Kind::kDropDatabase) {
    // [WITH] (FORCE) is refused below: we never terminate other sessions.
    if (c.Accept("with") || c.PeekWord().empty()) {
      if (!c.AtEnd()) {
        return MakeError("0A000", "DROP DATABASE ... WITH (FORCE) is not supported");
      }
    }
  } else {
    c.Accept("with");
    while (!c.AtEnd()) {
      std::string key = c.PeekWord();
      if (key.empty()) return c.SyntaxError();
      c.Accept(key.c_str());
      if (key == "connection") {
        if (!c.Accept("limit")) return c.SyntaxError();
        c.AcceptOp("=");
        std::optional<int64_t> n = c.Integer();
        if (!n || *n < -1 || *n > 2147483647) return c.SyntaxError();
        options.connection_limit = static_cast<int>(*n);
        continue;
      }
      c.AcceptOp("=");
      if (key == "owner") {
        owner_name = c.Ident();
        if (!owner_name) owner_name = c.String();
        if (!owner_name) return c.SyntaxError();
      } else if (key == "allow_connections") {
        std::string v;
        if (std::optional<std::string> s = c.String()) {
          v = *s;
        } else if (std::optional<int64_t> n = c.Integer()) {
          v = std::to_string(*n);
        } else if (std::optional<std::string> w = c.Ident()) {
          v = *w;
        } else {
          return c.SyntaxError();
        }
        options.allow_connections = IsTrue(v);
      } else if (key == "template" || key == "encoding" || key == "lc_collate" ||
                 key == "lc_ctype" || key == "locale" || key == "tablespace" ||
                 key == "is_template" || key == "strategy" || key == "locale_provider" ||
                 key == "icu_locale" || key == "collation_version" || key == "oid") {
        // Accepted for compatibility; every database is a UTF-8 SQLite file.
        if (!c.String() && !c.Ident() && !c.Integer()) return c.SyntaxError();
      } else {
        return MakeError("42601", StringPrintf("option \"%s\" not recognized", key.c_str()));
      }
    }
  }
  if (!c.AtEnd()) return c.SyntaxError();

  Result<storage::Catalog*> cat = Catalog();
  if (kind == Kind::kCreateDatabase && !info_.superuser &&
      !HasAttribute(&storage::RoleInfo::create_db)) {
    return MakeError("42501", "permission denied to create database");
  }
  if (!cat.ok()) return cat.error();
  storage::Catalog* catalog = *cat;
  if (owner_name) {
    Result<uint32_t> owner = RoleOid(*owner_name, false);
    if (!owner.ok()) return owner.error();
    // Giving a database away takes being able to act as the new owner.
    if (!access_.graph().IsMemberOf(info_.role_oid, *owner)) {
      return MakeError("42501", StringPrintf("must be member of role \"%s\"", owner_name->c_str()));
    }
    options.owner = *owner;
  }

  if (kind == Kind::kCreateDatabase) {
    if (!options.owner) options.owner = info_.role_oid;
    Result<storage::DatabaseInfo> made = catalog->CreateDatabase(*name, options);
    if (!made.ok()) return made.error();
    access_.RolesChanged();
    // The postmaster then holds the new file's wal-index, so that later
    // connections to it skip SQLite's first-connection reset. A session
    // outside a server (unit tests) has no postmaster to tell.
    if (IsUnderPostmaster) pmsignal::Send(pmsignal::Reason::kDatabaseFilesChange);
    return Tag("CREATE DATABASE");
  }

  Result<std::optional<storage::DatabaseInfo>> found = catalog->FindDatabase(*name);
  if (!found.ok()) return found.error();
  if (!found->has_value()) {
    if (*if_exists) {
      Notice("NOTICE", "00000",
             StringPrintf("database \"%s\" does not exist, skipping", name->c_str()));
      return Tag("DROP DATABASE");
    }
    return MakeError("3D000", StringPrintf("database \"%s\" does not exist", name->c_str()));
  }
  const storage::DatabaseInfo db = **found;
  if (!access_.HasPrivsOf(info_.role_oid, db.owner)) {
    return MakeError("42501", StringPrintf("must be owner of database %s", name->c_str()));
  }
  if (options.owner && !info_.superuser && !HasAttribute(&storage::RoleInfo::create_db)) {
    return MakeError("42501", "permission denied to change owner of database");
  }
  access_.RolesChanged();
  if (kind == Kind::kAlterDatabase) {
    if (rename_to) {
      if (db.oid == info_.database_oid) {
        return MakeError("0A000", "current database cannot be renamed");
      }
      if (int others = backend_status::CountOtherBackendsInDatabase(db.oid); others > 0) {
        return MakeError(
            "55006",
            StringPrintf("database \"%s\" is being accessed by other users", name->c_str()),
            others == 1 ? std::string("There is 1 other session using the database.")
                        : StringPrintf("There are %d other sessions using the "
                                       "database.",
                                       others));
      }
      if (Status s = catalog->RenameDatabase(*name, *rename_to); !s.ok()) return s.error();
      return Tag("ALTER DATABASE");
    }
    if (Status s = catalog->AlterDatabase(*name, options); !s.ok()) return s.error();
    return Tag("ALTER DATABASE");
  }
  // DROP DATABASE
  if (db.oid == info_.database_oid) {
    return MakeError("55006", "cannot drop the currently open database");
  }
  if (int others = backend_status::CountOtherBackendsInDatabase(db.oid); others > 0) {
    return MakeError(
        "55006", StringPrintf("database \"%s\" is being accessed by other users", name->c_str()),
        others == 1 ? std::string("There is 1 other session using the database.")
                    : StringPrintf("There are %d other sessions using the database.", others));
  }
  if (Status s = catalog->DropDatabase(*name); !s.ok()) return s.error();
  // The postmaster's lock keeps the removed -shm file's inode alive until
  // it lets go of it.
  if (IsUnderPostmaster) pmsignal::Send(pmsignal::Reason::kDatabaseFilesChange);
  return Tag("DROP DATABASE");
}

namespace {

// What CREATE/ALTER ROLE set; nullopt = not mentioned.
struct RoleSpec {
  storage::RoleOptions options;
  std::optional<std::string> plain_password;
  bool password_null = false;
  bool only_password = true;          // nothing but [ENCRYPTED] PASSWORD
  std::vector<std::string> in_roles;  // IN ROLE / IN GROUP
  std::vector<std::string> members;   // ROLE / USER
  std::vector<std::string> admins;    // ADMIN
};

Result<std::vector<std::string>> NameList(Cursor& c) {
  std::vector<std::string> names;
  do {
    std::optional<std::string> n = c.Ident();
    if (!n) return c.SyntaxError();
    names.push_back(*n);
  } while (c.AcceptKind(TokenKind::kComma));
  return names;
}

Status ParseRoleOptions(Cursor& c, RoleSpec* spec) {
  c.Accept("with");
  while (!c.AtEnd()) {
    std::string w = c.PeekWord();
    if (w.empty()) return c.SyntaxError();
    c.Accept(w.c_str());
    auto flag = [&](const char* yes, std::optional<bool>* field) {
      const std::string no = std::string("no") + yes;
      if (w != yes && w != no) return false;
      *field = w == yes;
      spec->only_password = false;
      return true;
    };
    if (flag("superuser", &spec->options.superuser) || flag("login", &spec->options.can_login) ||
        flag("createdb", &spec->options.create_db) ||
        flag("createrole", &spec->options.create_role) || flag("inherit", &spec->options.inherit) ||
        flag("replication", &spec->options.replication) ||
        flag("bypassrls", &spec->options.bypass_rls)) {
      continue;
    }
    if (w == "connection") {
      if (!c.Accept("limit")) return c.SyntaxError();
      std::optional<int64_t> n = c.Integer();
      if (!n || *n < -1 || *n > 2147483647) return c.SyntaxError();
      spec->options.connection_limit = static_cast<int>(*n);
      spec->only_password = false;
    } else if (w == "encrypted" || w == "password") {
      if (w == "encrypted" && !c.Accept("password")) return c.SyntaxError();
      if (c.Accept("null")) {
        spec->password_null = true;
      } else if (std::optional<std::string> p = c.String()) {
        spec->plain_password = *p;
      } else {
        return c.SyntaxError();
      }
    } else if (w == "valid") {
      // Stored by PostgreSQL and checked at password authentication; we
      // keep no expiry, so say so rather than pretend.
      if (!c.Accept("until") || !c.String()) return c.SyntaxError();
      return MakeError("0A000", "VALID UNTIL is not supported",
                       "Passwords do not expire on this server.");
    } else if (w == "in") {
      if (!c.Accept("role") && !c.Accept("group")) return c.SyntaxError();
      Result<std::vector<std::string>> names = NameList(c);
      if (!names.ok()) return names.error();
      spec->in_roles.insert(spec->in_roles.end(), names->begin(), names->end());
      spec->only_password = false;
    } else if (w == "role" || w == "user" || w == "admin") {
      Result<std::vector<std::string>> names = NameList(c);
      if (!names.ok()) return names.error();
      std::vector<std::string>& into = w == "admin" ? spec->admins : spec->members;
      into.insert(into.end(), names->begin(), names->end());
      spec->only_password = false;
    } else if (w == "sysid") {
      if (!c.Integer()) return c.SyntaxError();
    } else {
      return MakeError("42601", StringPrintf("syntax error at or near \"%s\"", w.c_str()));
    }
  }
  return Status::Ok();
}

bool IsReservedRoleName(const std::string& name) { return name.rfind("pg_", 0) == 0; }

ErrorReport ReservedRoleName(const std::string& name) {
  return MakeError("42939", StringPrintf("role name \"%s\" is reserved", name.c_str()),
                   "Role names starting with \"pg_\" are reserved.");
}

}  // namespace

bool SessionImpl::HasAttribute(bool storage::RoleInfo::*attribute) const {
  const storage::RoleInfo* r = access_.graph().Find(info_.role_oid);
  return r != nullptr && r->*attribute;
}

Result<uint32_t> SessionImpl::RoleOid(const std::string& name, bool allow_public) {
  if (name == "public") {
    if (allow_public) return acl::kPublic;
    return MakeError("42704", "role \"public\" does not exist");
  }
  if (name == "current_user" || name == "current_role") return info_.role_oid;
  if (name == "session_user") return info_.session_role_oid;
  const storage::RoleInfo* r = access_.graph().Find(name);
  if (r == nullptr)
    return MakeError("42704", StringPrintf("role \"%s\" does not exist", name.c_str()));
  return r->oid;
}

Status SessionImpl::RequireRoleAdmin(const storage::RoleInfo& target, const char* verb) {
  if (info_.superuser) return Status::Ok();
  if (target.superuser) {
    return MakeError("42501", StringPrintf("must be superuser to %s superusers", verb));
  }
  if (!HasAttribute(&storage::RoleInfo::create_role)) {
    return MakeError("42501", StringPrintf("permission denied to %s role", verb));
  }
  return Status::Ok();
}

Status SessionImpl::AddMembership(uint32_t role, uint32_t member, bool admin) {
  const roles::RoleGraph& g = access_.graph();
  const storage::RoleInfo* r = g.Find(role);
  const storage::RoleInfo* m = g.Find(member);
  if (r == nullptr || m == nullptr) return MakeError("42704", "role does not exist");
  if (role == storage::kPgDatabaseOwnerOid) {
    return MakeError("0LP01", "role \"pg_database_owner\" cannot have explicit members");
  }
  // PostgreSQL 15's AddRoleMems: superusers' roles need a superuser; else
  // CREATEROLE or the admin option on the role.
  if (r->superuser && !info_.superuser) {
    return MakeError("42501", "must be superuser to alter superusers");
  }
  if (!info_.superuser && !HasAttribute(&storage::RoleInfo::create_role) &&
      !g.IsAdminOf(info_.role_oid, role, info_.session_role_oid)) {
    return MakeError("42501",
                     StringPrintf("must have admin option on role \"%s\"", r->name.c_str()));
  }
  if (role == member || g.IsMemberOfNoSuper(role, member)) {
    return MakeError("0LP01", StringPrintf("role \"%s\" is a member of role \"%s\"",
                                           r->name.c_str(), m->name.c_str()));
  }
  Result<storage::Catalog*> cat = Catalog();
  if (!cat.ok()) return cat.error();
  for (const storage::Membership& existing : g.memberships()) {
    if (existing.role == role && existing.member == member && (existing.admin_option || !admin)) {
      Notice("NOTICE", "00000",
             StringPrintf("role \"%s\" is already a member of role \"%s\"", m->name.c_str(),
                          r->name.c_str()));
      return Status::Ok();
    }
  }
  if (Status s = (*cat)->GrantMembership({role, member, info_.role_oid, admin}); !s.ok()) {
    return s;
  }
  access_.RolesChanged();
  return access_.Refresh(db_);
}

Result<UtilityResult> SessionImpl::RunRole(const StatementImpl& st) {
  Cursor c(st.tokens);
  const Kind kind = st.kind;
  c.Accept(kind == Kind::kCreateRole ? "create" : kind == Kind::kAlterRole ? "alter" : "drop");
  const std::string noun = c.PeekWord();  // role, user or group
  c.Accept(noun.c_str());

  if (kind == Kind::kDropRole) {
    Result<bool> if_exists = c.IfExists();
    if (!if_exists.ok()) return if_exists.error();
    Result<std::vector<std::string>> names = NameList(c);
    if (!names.ok()) return names.error();
    if (!c.AtEnd()) return c.SyntaxError();
    if (!info_.superuser && !HasAttribute(&storage::RoleInfo::create_role)) {
      return MakeError("42501", "permission denied to drop role");
    }
    for (const std::string& n : *names) {
      const storage::RoleInfo* r = access_.graph().Find(n);
      if (r == nullptr) {
        if (*if_exists) {
          Notice("NOTICE", "00000",
                 StringPrintf("role \"%s\" does not exist, skipping", n.c_str()));
          continue;
        }
        return MakeError("42704", StringPrintf("role \"%s\" does not exist", n.c_str()));
      }
      if (r->oid == info_.role_oid) return MakeError("55006", "current user cannot be dropped");
      if (r->oid == info_.session_role_oid)
        return MakeError("55006", "session user cannot be dropped");
      if (Status s = RequireRoleAdmin(*r, "drop"); !s.ok()) return s.error();
      if (r->oid < storage::kFirstNormalOid) {
        return MakeError("2BP01", StringPrintf("cannot drop role %s because it is required by the "
                                               "database system",
                                               n.c_str()));
      }
      if (Status s = CheckRoleUnreferenced(*r); !s.ok()) return s.error();
      Result<storage::Catalog*> cat = Catalog();
      if (!cat.ok()) return cat.error();
      if (Status s = (*cat)->DropRole(n); !s.ok()) return s.error();
      access_.RolesChanged();
      if (Status s = access_.Refresh(db_); !s.ok()) return s.error();
    }
    return Tag("DROP ROLE");
  }

  std::optional<std::string> name;
  if (c.Accept("current_user") || c.Accept("current_role")) {
    name = info_.role_name;
  } else if (c.Accept("session_user")) {
    name = info_.session_role_name;
  } else {
    name = c.Ident();
  }
  if (!name) return c.SyntaxError();
  const storage::RoleInfo* existing = access_.graph().Find(*name);

  if (kind == Kind::kAlterRole && c.Accept("rename")) {
    if (!c.Accept("to")) return c.SyntaxError();
    std::optional<std::string> to = c.Ident();
    if (!to || !c.AtEnd()) return c.SyntaxError();
    if (existing == nullptr) {
      return MakeError("42704", StringPrintf("role \"%s\" does not exist", name->c_str()));
    }
    if (existing->oid == info_.session_role_oid) {
      return MakeError("0A000", "session user cannot be renamed");
    }
    if (existing->oid == info_.role_oid)
      return MakeError("0A000", "current user cannot be renamed");
    if (existing->oid < storage::kFirstNormalOid &&
        existing->oid != storage::kBootstrapSuperuserOid) {
      return MakeError("42939", StringPrintf("role name \"%s\" is reserved", name->c_str()));
    }
    if (IsReservedRoleName(*to)) return ReservedRoleName(*to);
    if (Status s = RequireRoleAdmin(*existing, "rename"); !s.ok()) return s.error();
    Result<storage::Catalog*> cat = Catalog();
    if (!cat.ok()) return cat.error();
    const bool md5 = existing->password.rfind("md5", 0) == 0;
    if (Status s = (*cat)->RenameRole(*name, *to); !s.ok()) return s.error();
    if (md5) Notice("NOTICE", "00000", "MD5 password cleared because of role rename");
    access_.RolesChanged();
    if (Status s = access_.Refresh(db_); !s.ok()) return s.error();
    return Tag("ALTER ROLE");
  }
  if (kind == Kind::kAlterRole && (c.PeekWord() == "set" || c.PeekWord() == "reset")) {
    return MakeError("0A000", "ALTER ROLE ... SET is not supported");
  }

  RoleSpec spec;
  if (kind == Kind::kCreateRole && noun == "user") spec.options.can_login = true;
  if (Status s = ParseRoleOptions(c, &spec); !s.ok()) return s.error();
  const storage::RoleOptions& o = spec.options;

  if (kind == Kind::kCreateRole) {
    if (IsReservedRoleName(*name)) return ReservedRoleName(*name);
    if (!info_.superuser) {
      if (o.superuser.value_or(false)) {
        return MakeError("42501", "must be superuser to create superusers");
      }
      if (o.replication.value_or(false)) {
        return MakeError("42501", "must be superuser to create replication users");
      }
      if (o.bypass_rls.value_or(false)) {
        return MakeError("42501", "must be superuser to create bypassrls users");
      }
      if (!HasAttribute(&storage::RoleInfo::create_role)) {
        return MakeError("42501", "permission denied to create role");
      }
    }
  } else {
    if (existing == nullptr) {
      return MakeError("42704", StringPrintf("role \"%s\" does not exist", name->c_str()));
    }
    // PostgreSQL 15's AlterRole: superusers' attributes need a superuser;
    // then replication, bypassrls; then CREATEROLE, or only one's own
    // password.
    if (!info_.superuser) {
      if (existing->superuser || o.superuser) {
        return MakeError(
            "42501", "must be superuser to alter superuser roles or change superuser attribute");
      }
      if (existing->replication || o.replication) {
        return MakeError(
            "42501",
            "must be superuser to alter replication roles or change replication attribute");
      }
      if (o.bypass_rls)
        return MakeError("42501", "must be superuser to change bypassrls attribute");
      if (!HasAttribute(&storage::RoleInfo::create_role) &&
          (!spec.only_password || existing->oid != info_.role_oid)) {
        return MakeError("42501", "permission denied");
      }
    }
  }
  storage::RoleOptions options = o;
  if (spec.plain_password) {
    if (spec.plain_password->empty()) {
      Notice("NOTICE", "00000", "empty string is not a valid password, clearing password");
      options.password = "";
    } else {
      options.password = crypto::MakePasswordVerifier(*spec.plain_password, *name);
    }
  } else if (spec.password_null) {
    options.password = "";
  }
  Result<storage::Catalog*> cat = Catalog();
  if (!cat.ok()) return cat.error();
  uint32_t role_oid = 0;
  if (kind == Kind::kCreateRole) {
    Result<storage::RoleInfo> made = (*cat)->CreateRole(*name, options);
    if (!made.ok()) return made.error();
    role_oid = made->oid;
  } else {
    if (Status s = (*cat)->AlterRole(*name, options); !s.ok()) return s.error();
    role_oid = existing->oid;
  }
  access_.RolesChanged();
  if (Status s = access_.Refresh(db_); !s.ok()) return s.error();
  // IN ROLE g: the new role joins g; ROLE m / ADMIN m: m joins it.
  for (const std::string& g : spec.in_roles) {
    Result<uint32_t> group = RoleOid(g, false);
    if (!group.ok()) return group.error();
    if (Status s = AddMembership(*group, role_oid, false); !s.ok()) return s.error();
  }
  for (const auto* list : {&spec.members, &spec.admins}) {
    for (const std::string& m : *list) {
      Result<uint32_t> member = RoleOid(m, false);
      if (!member.ok()) return member.error();
      if (Status s = AddMembership(role_oid, *member, list == &spec.admins); !s.ok()) {
        return s.error();
      }
    }
  }
  return Tag(kind == Kind::kCreateRole ? "CREATE ROLE" : "ALTER ROLE");
}

Status SessionImpl::CheckRoleUnreferenced(const storage::RoleInfo& role) {
  // PostgreSQL tracks this in pg_shdepend; here each database's catalogue
  // says it. Objects of this database are listed, others counted.
  Result<storage::Catalog*> cat = Catalog();
  if (!cat.ok()) return cat.error();
  Result<std::vector<storage::DatabaseInfo>> databases = (*cat)->ListDatabases();
  if (!databases.ok()) return databases.error();
  std::string detail;
  for (const storage::DatabaseInfo& d : *databases) {
    std::vector<std::string> found;
    if (d.oid == info_.database_oid) {
      sandbox::InternalScope internal;
      Result<std::vector<std::string>> here = catalogue::References(db_, role.oid);
      if (!here.ok()) return here.error();
      found = std::move(*here);
    } else {
      Result<std::vector<std::string>> there =
          catalogue::ReferencesInFile(storage::DatabaseFilePath(info_.data_dir, d.oid), role.oid);
      if (!there.ok()) return there.error();
      found = std::move(*there);
    }
    if (found.empty()) continue;
    if (!detail.empty()) detail += "\n";
    if (d.oid == info_.database_oid) {
      for (size_t i = 0; i < found.size(); i++) detail += (i > 0 ? "\n" : "") + found[i];
    } else {
      detail += StringPrintf("%zu object%s in database %s", found.size(),
                             found.size() == 1 ? "" : "s", d.name.c_str());
    }
  }
  if (detail.empty()) return Status::Ok();
  return MakeError("2BP01",
                   StringPrintf("role \"%s\" cannot be dropped because some objects depend on it",
                                role.name.c_str()),
                   detail);
}

}  // namespace bgw::sql::internal
