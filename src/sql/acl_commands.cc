// The privilege statements: GRANT and REVOKE (on tables, columns, schema
// public, databases and functions, and of role membership), ALTER ... OWNER
// TO, REASSIGN OWNED, DROP OWNED, SET ROLE and SET SESSION AUTHORIZATION.
//
// Semantics are PostgreSQL 15's: who may grant (the owner, through its
// implicit grant options, or a holder of the grant option, who then is the
// grantor), the warnings when only part of a request could be granted or
// revoked, REVOKE's CASCADE/RESTRICT for privileges passed on, and which
// roles SET ROLE may take. Changes to a database's objects are part of the
// current transaction (the catalogue lives in the database file); changes
// to databases' ACLs and memberships commit at once in the shared catalog,
// like the other role and database statements (docs/sql.md).
#include <sqlite3.h>

#include <algorithm>

#include "common/strutil.h"
#include "guc/guc.h"
#include "sql/catalogue.h"
#include "sql/cursor.h"
#include "sql/fmgr_call.h"
#include "sql/sandbox.h"
#include "sql/session_internal.h"
#include "storage/catalog.h"

namespace bgw::sql::internal {
namespace {

using catalogue::RelKind;

struct PrivilegeItem {
  uint32_t privilege = 0;  // 0 with all = ALL PRIVILEGES
  bool all = false;
  std::vector<std::string> columns;
  std::string word;  // as written, for role membership
};

enum class Target {
  kTable,
  kAllTables,
  kAllSequences,
  kSchema,
  kDatabase,
  kFunction,
  kAllFunctions
};

struct ObjectName {
  std::string name;
  std::optional<std::vector<uint32_t>> arg_types;  // functions with (...)
};

struct GrantStatement {
  bool grant = true;
  bool option_only = false;  // REVOKE GRANT OPTION FOR / ADMIN OPTION FOR
  bool roles = false;        // GRANT role TO role
  std::vector<PrivilegeItem> items;
  Target target = Target::kTable;
  std::vector<ObjectName> objects;
  std::vector<std::string> grantees;
  bool with_option = false;  // WITH GRANT OPTION / WITH ADMIN OPTION
  bool cascade = false;
};

// A possibly schema-qualified name; only schema public exists.
Result<std::string> QualifiedName(Cursor& c) {
  std::optional<std::string> name = c.Ident();
  if (!name) return c.SyntaxError();
  if (c.AcceptKind(TokenKind::kDot)) {
    std::optional<std::string> rel = c.Ident();
    if (!rel) return c.SyntaxError();
    if (*name != "public" && *name != "pg_catalog") {
      return MakeError("3F000", StringPrintf("schema \"%s\" does not exist", name->c_str()));
    }
    name = rel;
  }
  return *name;
}

// A role specification: [GROUP] name | PUBLIC | CURRENT_USER | ...
Result<std::string> RoleSpec(Cursor& c) {
  c.Accept("group");
  std::optional<std::string> name = c.Ident();
  if (!name) return c.SyntaxError();
  return *name;
}

Result<GrantStatement> ParseGrant(const std::vector<Token>& tokens) {
  Cursor c(tokens);
  GrantStatement g;
  g.grant = c.Accept("grant");
  if (!g.grant) {
    c.Accept("revoke");
    if (c.Accept("grant") || c.Accept("admin")) {
      if (!c.Accept("option") || !c.Accept("for")) return c.SyntaxError();
      g.option_only = true;
    }
  }
  do {
    PrivilegeItem item;
    std::string w = c.PeekWord();
    if (w.empty()) {
      std::optional<std::string> quoted = c.Ident();
      if (!quoted) return c.SyntaxError();
      item.word = *quoted;
    } else {
      c.Accept(w.c_str());
      item.word = w;
      if (w == "all") {
        item.all = true;
        c.Accept("privileges");
      } else {
        item.privilege = acl::FromName(w);
      }
    }
    if (c.AcceptKind(TokenKind::kLParen)) {
      do {
        std::optional<std::string> col = c.Ident();
        if (!col) return c.SyntaxError();
        item.columns.push_back(*col);
      } while (c.AcceptKind(TokenKind::kComma));
      if (!c.AcceptKind(TokenKind::kRParen)) return c.SyntaxError();
    }
    g.items.push_back(std::move(item));
  } while (c.AcceptKind(TokenKind::kComma));

  if (c.Accept("on")) {
    for (const PrivilegeItem& item : g.items) {
      if (!item.all && item.privilege == 0) {
        return MakeError("42601",
                         StringPrintf("unrecognized privilege type \"%s\"", item.word.c_str()));
      }
    }
    if (c.Accept("all")) {
      if (c.Accept("tables")) {
        g.target = Target::kAllTables;
      } else if (c.Accept("functions") || c.Accept("routines")) {
        g.target = Target::kAllFunctions;
      } else if (c.Accept("sequences")) {
        g.target = Target::kAllSequences;  // there are no sequences: nothing to do
      } else {
        return c.SyntaxError();
      }
      if (!c.Accept("in") || !c.Accept("schema")) return c.SyntaxError();
    } else if (c.Accept("schema")) {
      g.target = Target::kSchema;
    } else if (c.Accept("database")) {
      g.target = Target::kDatabase;
    } else if (c.Accept("function") || c.Accept("routine") || c.Accept("procedure")) {
      g.target = Target::kFunction;
    } else if (c.Accept("sequence")) {
      return MakeError("0A000", "sequences are not supported");
    } else if (c.Accept("language") || c.Accept("tablespace") || c.Accept("type") ||
               c.Accept("domain") || c.Accept("foreign") || c.Accept("large") ||
               c.Accept("parameter")) {
      return MakeError("0A000", "privileges on this kind of object are not supported");
    } else {
      c.Accept("table");
    }
    do {
      ObjectName o;
      if (g.target == Target::kFunction) {
        Result<std::string> name = QualifiedName(c);
        if (!name.ok()) return name.error();
        o.name = *name;
        if (c.AcceptKind(TokenKind::kLParen)) {
          std::vector<uint32_t> types;
          while (!c.AcceptKind(TokenKind::kRParen)) {
            std::string type;
            c.Accept("in");
            while (!c.AtEnd() && c.Peek()->kind != TokenKind::kComma &&
                   c.Peek()->kind != TokenKind::kRParen) {
              type += (type.empty() ? "" : " ") + std::string(c.Peek()->text);
              c.AcceptKind(c.Peek()->kind);
            }
            if (c.AtEnd()) return c.SyntaxError();
            uint32_t oid = TypeOidFromName(type);
            if (oid == 0) {
              return MakeError("42704", StringPrintf("type \"%s\" does not exist", type.c_str()));
            }
            types.push_back(oid);
            c.AcceptKind(TokenKind::kComma);
          }
          o.arg_types = std::move(types);
        }
      } else if (g.target == Target::kTable) {
        Result<std::string> name = QualifiedName(c);
        if (!name.ok()) return name.error();
        o.name = *name;
      } else {
        std::optional<std::string> name = c.Ident();
        if (!name) return c.SyntaxError();
        o.name = *name;
      }
      g.objects.push_back(std::move(o));
    } while (c.AcceptKind(TokenKind::kComma));
  } else {
    g.roles = true;
    for (const PrivilegeItem& item : g.items) {
      if (!item.columns.empty()) return c.SyntaxError();
    }
  }
  if (!c.Accept(g.grant ? "to" : "from")) return c.SyntaxError();
  do {
    Result<std::string> grantee = RoleSpec(c);
    if (!grantee.ok()) return grantee.error();
    g.grantees.push_back(*grantee);
  } while (c.AcceptKind(TokenKind::kComma));
  if (g.grant && c.Accept("with")) {
    if (!c.Accept(g.roles ? "admin" : "grant") || !c.Accept("option")) return c.SyntaxError();
    g.with_option = true;
  }
  if (c.Accept("granted")) {
    if (!c.Accept("by")) return c.SyntaxError();
    Result<std::string> grantor = RoleSpec(c);
    if (!grantor.ok()) return grantor.error();
    // PostgreSQL 15 accepts only the current user here.
    if (*grantor != "current_user" && *grantor != "current_role") {
      return MakeError("0A000", "grantor must be current user");
    }
  }
  if (!g.grant) {
    if (c.Accept("cascade")) {
      g.cascade = true;
    } else {
      c.Accept("restrict");
    }
  }
  if (!c.AtEnd()) return c.SyntaxError();
  return g;
}

}  // namespace

Result<UtilityResult> SessionImpl::RunGrant(const StatementImpl& st) {
  Result<GrantStatement> parsed = ParseGrant(st.tokens);
  if (!parsed.ok()) return parsed.error();
  const GrantStatement& g = *parsed;
  const char* tag = g.grant ? "GRANT" : "REVOKE";
  if (g.target == Target::kAllSequences) return Tag(tag);
  if (Status s = access_.Refresh(db_); !s.ok()) return s.error();
  if (Status s = access_.EnsureSnapshot(db_); !s.ok()) return s.error();

  std::vector<uint32_t> grantees;
  for (const std::string& name : g.grantees) {
    Result<uint32_t> oid = RoleOid(name, !g.roles);
    if (!oid.ok()) return oid.error();
    if (*oid == acl::kPublic && g.with_option) {
      return MakeError("0LP01", "grant options can only be granted to roles");
    }
    grantees.push_back(*oid);
  }

  if (g.roles) {
    for (const PrivilegeItem& item : g.items) {
      Result<uint32_t> role = RoleOid(item.word, false);
      if (!role.ok()) return role.error();
      for (uint32_t member : grantees) {
        if (g.grant) {
          if (Status s = AddMembership(*role, member, g.with_option); !s.ok()) return s.error();
          continue;
        }
        if (Status s = RemoveMembership(*role, member, g.option_only); !s.ok()) {
          return s.error();
        }
      }
    }
    return Tag(tag);
  }

  // What was asked, as (privileges, columns) for tables and plain masks for
  // the rest.
  const acl::ObjectKind kind = g.target == Target::kSchema     ? acl::ObjectKind::kSchema
                               : g.target == Target::kDatabase ? acl::ObjectKind::kDatabase
                               : g.target == Target::kFunction || g.target == Target::kAllFunctions
                                   ? acl::ObjectKind::kFunction
                                   : acl::ObjectKind::kTable;
  uint32_t table_privileges = 0;
  std::vector<std::pair<uint32_t, std::string>> column_privileges;
  for (const PrivilegeItem& item : g.items) {
    const uint32_t asked =
        item.all ? acl::AllPrivileges(item.columns.empty() ? kind : acl::ObjectKind::kColumn)
                 : item.privilege;
    if (!item.columns.empty()) {
      if (kind != acl::ObjectKind::kTable)
        return MakeError("42601", "syntax error at or near \"(\"");
      if ((asked & ~acl::AllPrivileges(acl::ObjectKind::kColumn)) != 0) {
        return MakeError(
            "0LP01",
            StringPrintf("invalid privilege type %s for column",
                         acl::Name(asked & ~acl::AllPrivileges(acl::ObjectKind::kColumn))));
      }
      if ((asked & (acl::kInsert | acl::kReferences)) != 0) {
        return MakeError("0A000", "column-level INSERT and REFERENCES privileges are not supported",
                         "", "Grant them on the table.");
      }
      for (const std::string& col : item.columns) column_privileges.emplace_back(asked, col);
      continue;
    }
    if ((asked & ~acl::AllPrivileges(kind)) != 0) {
      const char* what = kind == acl::ObjectKind::kSchema     ? "schema"
                         : kind == acl::ObjectKind::kDatabase ? "database"
                         : kind == acl::ObjectKind::kFunction ? "function"
                                                              : "relation";
      return MakeError("0LP01", StringPrintf("invalid privilege type %s for %s",
                                             acl::Name(asked & ~acl::AllPrivileges(kind)), what));
    }
    table_privileges |= asked;
  }

  // Who grants: the owner (also for a superuser or whoever has the owner's
  // privileges), else a role holding grant options (select_best_grantor).
  struct Grantor {
    uint32_t role;
    uint32_t options;
  };
  auto best_grantor = [&](uint32_t owner, const acl::Acl& current) -> Grantor {
    if (info_.superuser || access_.HasPrivsOf(info_.role_oid, owner)) {
      return {owner, acl::AllPrivileges(kind == acl::ObjectKind::kColumn ? acl::ObjectKind::kTable
                                                                         : kind) |
                         acl::AllPrivileges(acl::ObjectKind::kColumn)};
    }
    Grantor best{info_.role_oid, 0};
    for (uint32_t r : access_.graph().PrivilegeRoles(info_.role_oid)) {
      const uint32_t options =
          acl::GrantOptionMask(current, [r](uint32_t grantee) { return grantee == r; });
      if (__builtin_popcount(options) > __builtin_popcount(best.options)) best = {r, options};
    }
    return best;
  };
  // Applies the request to one ACL as `grantor`; false when REVOKE would
  // leave dependent grants (RESTRICT).
  auto apply = [&](acl::Acl* a, uint32_t grantor, uint32_t privileges) {
    for (uint32_t grantee : grantees) {
      if (g.grant) {
        acl::Grant(a, grantee, grantor, privileges, g.with_option);
      } else if (!acl::Revoke(a, grantee, grantor, privileges, g.option_only, g.cascade)) {
        return false;
      }
    }
    return true;
  };
  // PostgreSQL's restrict_and_check_grant: what the grantor may pass on, and
  // its warnings when that is less than was asked.
  auto restrict = [&](uint32_t asked, uint32_t available, bool holds_any,
                      const std::string& object) -> Result<uint32_t> {
    if (available == 0 && !holds_any) {
      return MakeError("42501", "permission denied for " + object);
    }
    const uint32_t allowed = asked & available;
    if (allowed == 0) {
      Notice("WARNING", g.grant ? "01007" : "01006",
             StringPrintf(g.grant ? "no privileges were granted for \"%s\""
                                  : "no privileges could be revoked for \"%s\"",
                          object.substr(object.find(' ') + 1).c_str()));
    } else if (allowed != asked) {
      Notice("WARNING", g.grant ? "01007" : "01006",
             StringPrintf(g.grant ? "not all privileges were granted for \"%s\""
                                  : "not all privileges could be revoked for \"%s\"",
                          object.substr(object.find(' ') + 1).c_str()));
    }
    return allowed;
  };
  const ErrorReport dependents =
      MakeError("2BP01", "dependent privileges exist", "", "Use CASCADE to revoke them too.");

  if (kind == acl::ObjectKind::kTable) {
    std::vector<std::string> names;
    if (g.target == Target::kAllTables) {
      for (const ObjectName& schema : g.objects) {
        if (schema.name != "public") {
          return MakeError("3F000",
                           StringPrintf("schema \"%s\" does not exist", schema.name.c_str()));
        }
      }
      for (const auto& [key, rel] : access_.snapshot().relations()) {
        if (rel.kind == RelKind::kTable || rel.kind == RelKind::kView ||
            rel.kind == RelKind::kVirtual) {
          names.push_back(rel.name);
        }
      }
    } else {
      for (const ObjectName& o : g.objects) names.push_back(o.name);
    }
    sandbox::InternalScope internal;
    for (const std::string& name : names) {
      const catalogue::Relation* found = access_.snapshot().FindRelation(name);
      if (found == nullptr) {
        return MakeError("42P01", StringPrintf("relation \"%s\" does not exist", name.c_str()));
      }
      if (found->kind == RelKind::kIndex || found->kind == RelKind::kTrigger ||
          found->kind == RelKind::kShadow) {
        return MakeError("42809", StringPrintf("\"%s\" is not a table", found->name.c_str()));
      }
      catalogue::Relation rel = *found;
      const std::string object =
          std::string(rel.kind == RelKind::kView ? "view " : "table ") + rel.name;
      acl::Acl a = rel.acl ? *rel.acl : acl::DefaultAcl(acl::ObjectKind::kTable, rel.owner);
      const Grantor grantor = best_grantor(rel.owner, a);
      const bool holds_any = access_.TablePrivileges(info_.role_oid, rel, std::string_view()) != 0;
      if (table_privileges != 0) {
        Result<uint32_t> allowed = restrict(table_privileges, grantor.options, holds_any, object);
        if (!allowed.ok()) return allowed.error();
        if (!apply(&a, grantor.role, *allowed)) return dependents;
        rel.acl = a;
        if (Status s = catalogue::PutRelation(db_, rel); !s.ok()) return s.error();
      }
      if (!column_privileges.empty()) {
        Result<std::vector<std::string>> columns = catalogue::Columns(db_, rel.name);
        if (!columns.ok()) return columns.error();
        for (const auto& [privileges, column] : column_privileges) {
          const std::string wanted = catalogue::Key(column);
          auto it = std::find_if(columns->begin(), columns->end(), [&wanted](const std::string& c) {
            return catalogue::Key(c) == wanted;
          });
          if (it == columns->end()) {
            return MakeError("42703",
                             StringPrintf("column \"%s\" of relation \"%s\" does not exist",
                                          column.c_str(), rel.name.c_str()));
          }
          const acl::Acl* existing = access_.snapshot().ColumnAcl(rel.name, *it);
          acl::Acl ca = existing != nullptr ? *existing : acl::Acl{};
          Result<uint32_t> allowed = restrict(privileges, grantor.options, holds_any, object);
          if (!allowed.ok()) return allowed.error();
          if (!apply(&ca, grantor.role, *allowed)) return dependents;
          std::optional<acl::Acl> stored;
          if (!ca.empty()) stored = ca;
          if (Status s = catalogue::PutColumnAcl(db_, rel.name, *it, stored); !s.ok()) {
            return s.error();
          }
        }
      }
      access_.CatalogueChanged();
      if (Status s = access_.EnsureSnapshot(db_); !s.ok()) return s.error();
    }
    return Tag(tag);
  }

  if (kind == acl::ObjectKind::kSchema) {
    sandbox::InternalScope internal;
    for (const ObjectName& o : g.objects) {
      const catalogue::Namespace* found = access_.snapshot().FindNamespace(o.name);
      if (found == nullptr) {
        return MakeError("3F000", StringPrintf("schema \"%s\" does not exist", o.name.c_str()));
      }
      catalogue::Namespace ns = *found;
      acl::Acl a = ns.acl ? *ns.acl : acl::DefaultAcl(acl::ObjectKind::kSchema, ns.owner);
      const Grantor grantor = best_grantor(ns.owner, a);
      const bool holds_any = access_.SchemaPrivileges(info_.role_oid, ns) != 0;
      Result<uint32_t> allowed =
          restrict(table_privileges, grantor.options, holds_any, "schema " + ns.name);
      if (!allowed.ok()) return allowed.error();
      if (!apply(&a, grantor.role, *allowed)) return dependents;
      ns.acl = a;
      if (Status s = catalogue::PutNamespace(db_, ns); !s.ok()) return s.error();
      access_.CatalogueChanged();
    }
    return Tag(tag);
  }

  if (kind == acl::ObjectKind::kFunction) {
    std::vector<catalogue::Function> targets;
    for (const catalogue::Function& f : access_.snapshot().functions()) {
      bool match = g.target == Target::kAllFunctions;
      for (const ObjectName& o : g.objects) {
        if (g.target == Target::kAllFunctions) {
          if (o.name != "public") {
            return MakeError("3F000", StringPrintf("schema \"%s\" does not exist", o.name.c_str()));
          }
          continue;
        }
        if (f.name == o.name && (!o.arg_types || *o.arg_types == f.arg_types)) match = true;
      }
      if (match) targets.push_back(f);
    }
    if (g.target == Target::kFunction) {
      for (const ObjectName& o : g.objects) {
        const bool any =
            std::any_of(targets.begin(), targets.end(),
                        [&](const catalogue::Function& f) { return f.name == o.name; });
        if (!any) {
          return MakeError("42883", StringPrintf("function %s does not exist", o.name.c_str()));
        }
      }
    }
    sandbox::InternalScope internal;
    for (catalogue::Function& f : targets) {
      acl::Acl a = f.acl ? *f.acl : acl::DefaultAcl(acl::ObjectKind::kFunction, f.owner);
      const Grantor grantor = best_grantor(f.owner, a);
      const bool holds_any = access_.FunctionPrivileges(info_.role_oid, f) != 0;
      Result<uint32_t> allowed =
          restrict(table_privileges, grantor.options, holds_any, "function " + f.name);
      if (!allowed.ok()) return allowed.error();
      if (!apply(&a, grantor.role, *allowed)) return dependents;
      f.acl = a;
      if (Status s = catalogue::PutFunction(db_, f); !s.ok()) return s.error();
      access_.CatalogueChanged();
    }
    return Tag(tag);
  }

  // Databases: their ACL lives in the shared catalog.
  Result<storage::Catalog*> cat = Catalog();
  if (!cat.ok()) return cat.error();
  for (const ObjectName& o : g.objects) {
    Result<std::optional<storage::DatabaseInfo>> found = (*cat)->FindDatabase(o.name);
    if (!found.ok()) return found.error();
    if (!found->has_value()) {
      return MakeError("3D000", StringPrintf("database \"%s\" does not exist", o.name.c_str()));
    }
    const storage::DatabaseInfo& d = **found;
    std::optional<acl::Acl> stored;
    if (d.acl) stored = acl::Decode(*d.acl).value_or(acl::Acl{});
    acl::Acl a = stored ? *stored : acl::DefaultAcl(acl::ObjectKind::kDatabase, d.owner);
    const Grantor grantor = best_grantor(d.owner, a);
    const bool holds_any =
        acl::Mask(a, [&](uint32_t grantee) {
          return grantee == acl::kPublic || access_.HasPrivsOf(info_.role_oid, grantee);
        }) != 0;
    Result<uint32_t> allowed =
        restrict(table_privileges, grantor.options, holds_any, "database " + d.name);
    if (!allowed.ok()) return allowed.error();
    if (!apply(&a, grantor.role, *allowed)) return dependents;
    storage::DatabaseOptions options;
    options.acl = std::optional<std::string>(acl::Encode(a));
    if (Status s = (*cat)->AlterDatabase(d.name, options); !s.ok()) return s.error();
  }
  access_.RolesChanged();
  if (Status s = access_.Refresh(db_); !s.ok()) return s.error();
  return Tag(tag);
}

Status SessionImpl::RemoveMembership(uint32_t role, uint32_t member, bool admin_only) {
  const roles::RoleGraph& graph = access_.graph();
  const storage::RoleInfo* r = graph.Find(role);
  const storage::RoleInfo* m = graph.Find(member);
  if (r == nullptr || m == nullptr) return MakeError("42704", "role does not exist");
  if (r->superuser && !info_.superuser) {
    return MakeError("42501", "must be superuser to alter superusers");
  }
  if (!info_.superuser && !HasAttribute(&storage::RoleInfo::create_role) &&
      !graph.IsAdminOf(info_.role_oid, role, info_.session_role_oid)) {
    return MakeError("42501",
                     StringPrintf("must have admin option on role \"%s\"", r->name.c_str()));
  }
  Result<storage::Catalog*> cat = Catalog();
  if (!cat.ok()) return cat.error();
  Result<bool> removed = (*cat)->RevokeMembership(role, member, admin_only);
  if (!removed.ok()) return removed.error();
  if (!*removed) {
    Notice("WARNING", "01000",
           StringPrintf("role \"%s\" is not a member of role \"%s\"", m->name.c_str(),
                        r->name.c_str()));
  }
  access_.RolesChanged();
  return access_.Refresh(db_);
}

Status SessionImpl::ChangeOwner(const catalogue::Relation& rel, uint32_t new_owner) {
  sandbox::InternalScope internal;
  catalogue::Relation updated = rel;
  if (updated.acl) acl::ReplaceRole(&*updated.acl, rel.owner, new_owner);
  updated.owner = new_owner;
  if (Status s = catalogue::PutRelation(db_, updated); !s.ok()) return s;
  if (Status s = catalogue::SetChildrenOwner(db_, rel.name, new_owner); !s.ok()) return s;
  access_.CatalogueChanged();
  return Status::Ok();
}

Result<UtilityResult> SessionImpl::RunAlterOwner(const StatementImpl& st) {
  Cursor c(st.tokens);
  c.Accept("alter");
  std::string what = c.PeekWord();
  c.Accept(what.c_str());
  if (what == "materialized") {
    if (!c.Accept("view")) return c.SyntaxError();
    what = "view";
  }
  Result<bool> if_exists = c.IfExists();
  if (!if_exists.ok()) return if_exists.error();
  Result<std::string> name = QualifiedName(c);
  if (!name.ok()) return name.error();
  if (what == "function") {
    // The argument list, if any: C functions are told apart by name and
    // arity here.
    if (c.AcceptKind(TokenKind::kLParen)) {
      while (!c.AtEnd() && !c.AcceptKind(TokenKind::kRParen)) c.AcceptKind(c.Peek()->kind);
    }
  }
  if (!c.Accept("owner") || !c.Accept("to")) return c.SyntaxError();
  Result<std::string> spec = RoleSpec(c);
  if (!spec.ok()) return spec.error();
  if (!c.AtEnd()) return c.SyntaxError();
  Result<uint32_t> new_owner = RoleOid(*spec, false);
  if (!new_owner.ok()) return new_owner.error();
  if (Status s = access_.Refresh(db_); !s.ok()) return s.error();
  if (Status s = access_.EnsureSnapshot(db_); !s.ok()) return s.error();
  const std::string upper_tag = "ALTER " + std::string(what == "view"       ? "VIEW"
                                                       : what == "index"    ? "INDEX"
                                                       : what == "sequence" ? "SEQUENCE"
                                                       : what == "schema"   ? "SCHEMA"
                                                       : what == "function" ? "FUNCTION"
                                                                            : "TABLE");
  // ALTER OWNER's checks (ATExecChangeOwner): owner of the object, able to
  // act as the new owner, and the new owner may create in the schema.
  auto check = [&](uint32_t owner, const std::string& object) -> Status {
    if (info_.superuser || owner == *new_owner) return Status::Ok();
    if (!access_.HasPrivsOf(info_.role_oid, owner)) {
      return MakeError("42501", "must be owner of " + object);
    }
    if (!access_.graph().IsMemberOf(info_.role_oid, *new_owner)) {
      return MakeError("42501", StringPrintf("must be member of role \"%s\"", spec->c_str()));
    }
    return Status::Ok();
  };
  if (what == "schema") {
    const catalogue::Namespace* found = access_.snapshot().FindNamespace(*name);
    if (found == nullptr) {
      return MakeError("3F000", StringPrintf("schema \"%s\" does not exist", name->c_str()));
    }
    if (Status s = check(found->owner, "schema " + found->name); !s.ok()) return s.error();
    catalogue::Namespace ns = *found;
    if (ns.acl) acl::ReplaceRole(&*ns.acl, ns.owner, *new_owner);
    ns.owner = *new_owner;
    sandbox::InternalScope internal;
    if (Status s = catalogue::PutNamespace(db_, ns); !s.ok()) return s.error();
    access_.CatalogueChanged();
    return Tag(upper_tag);
  }
  if (what == "function") {
    if (!info_.superuser)
      return MakeError("42501", "must be superuser to change the owner of a C function");
    sandbox::InternalScope internal;
    bool any = false;
    for (catalogue::Function f : access_.snapshot().functions()) {
      if (f.name != *name) continue;
      if (f.acl) acl::ReplaceRole(&*f.acl, f.owner, *new_owner);
      f.owner = *new_owner;
      if (Status s = catalogue::PutFunction(db_, f); !s.ok()) return s.error();
      any = true;
    }
    if (!any) return MakeError("42883", StringPrintf("function %s does not exist", name->c_str()));
    access_.CatalogueChanged();
    return Tag(upper_tag);
  }
  const catalogue::Relation* rel = access_.FindRelation(*name);
  if (rel == nullptr || rel->kind == RelKind::kTrigger || rel->kind == RelKind::kShadow) {
    if (*if_exists) {
      Notice("NOTICE", "00000",
             StringPrintf("relation \"%s\" does not exist, skipping", name->c_str()));
      return Tag(upper_tag);
    }
    return MakeError("42P01", StringPrintf("relation \"%s\" does not exist", name->c_str()));
  }
  if (rel->kind == RelKind::kIndex) {
    Notice("WARNING", "42809",
           StringPrintf("cannot change owner of index \"%s\"", rel->name.c_str()));
    return Tag(upper_tag);
  }
  const char* noun = rel->kind == RelKind::kView ? "view " : "table ";
  if (Status s = check(rel->owner, noun + rel->name); !s.ok()) return s.error();
  if (!info_.superuser) {
    const catalogue::Namespace* ns = access_.snapshot().FindNamespace("public");
    if (ns == nullptr || (access_.SchemaPrivileges(*new_owner, *ns) & acl::kCreate) == 0) {
      return MakeError("42501", "permission denied for schema public");
    }
  }
  if (Status s = ChangeOwner(*rel, *new_owner); !s.ok()) return s.error();
  return Tag(upper_tag);
}

Result<UtilityResult> SessionImpl::RunOwned(const StatementImpl& st) {
  Cursor c(st.tokens);
  const bool reassign = c.Accept("reassign");
  if (!reassign) c.Accept("drop");
  if (!c.Accept("owned") || !c.Accept("by")) return c.SyntaxError();
  std::vector<uint32_t> old_roles;
  do {
    Result<std::string> spec = RoleSpec(c);
    if (!spec.ok()) return spec.error();
    Result<uint32_t> oid = RoleOid(*spec, false);
    if (!oid.ok()) return oid.error();
    // PostgreSQL: only with the privileges of each role named.
    if (!access_.HasPrivsOf(info_.role_oid, *oid)) {
      return MakeError("42501", reassign ? "permission denied to reassign objects"
                                         : "permission denied to drop objects");
    }
    old_roles.push_back(*oid);
  } while (c.AcceptKind(TokenKind::kComma));
  uint32_t new_owner = 0;
  if (reassign) {
    if (!c.Accept("to")) return c.SyntaxError();
    Result<std::string> spec = RoleSpec(c);
    if (!spec.ok()) return spec.error();
    Result<uint32_t> oid = RoleOid(*spec, false);
    if (!oid.ok()) return oid.error();
    if (!access_.HasPrivsOf(info_.role_oid, *oid)) {
      return MakeError("42501", "permission denied to reassign objects");
    }
    new_owner = *oid;
  } else if (!c.Accept("cascade")) {
    c.Accept("restrict");
  }
  if (!c.AtEnd()) return c.SyntaxError();
  for (uint32_t role : old_roles) {
    if (role < storage::kFirstNormalOid) {
      return MakeError("2BP01",
                       StringPrintf("cannot %s objects owned by %s because they are required "
                                    "by the database system",
                                    reassign ? "reassign ownership of" : "drop",
                                    access_.RoleName(role).c_str()));
    }
  }
  if (Status s = access_.Refresh(db_); !s.ok()) return s.error();
  if (Status s = access_.EnsureSnapshot(db_); !s.ok()) return s.error();
  // Work from a copy: the snapshot is reloaded as the catalogue changes.
  const catalogue::Snapshot snap = access_.snapshot();
  for (uint32_t role : old_roles) {
    for (const auto& [key, rel] : snap.relations()) {
      if (rel.kind == RelKind::kIndex || rel.kind == RelKind::kTrigger ||
          rel.kind == RelKind::kShadow) {
        continue;
      }
      if (rel.owner == role) {
        if (reassign) {
          if (Status s = ChangeOwner(rel, new_owner); !s.ok()) return s.error();
        } else {
          const char* noun = rel.kind == RelKind::kView ? "VIEW " : "TABLE ";
          if (Status s = ExecUser(std::string("DROP ") + noun + QuoteIdent(rel.name), {}, false);
              !s.ok()) {
            return s.error();
          }
        }
        continue;
      }
      if (reassign) continue;
      // DROP OWNED also revokes what was granted to the role.
      sandbox::InternalScope internal;
      if (rel.acl && acl::Mentions(*rel.acl, role)) {
        catalogue::Relation updated = rel;
        acl::RemoveGrantee(&*updated.acl, role);
        if (Status s = catalogue::PutRelation(db_, updated); !s.ok()) return s.error();
      }
      for (const auto& [column, a] : snap.ColumnAcls(rel.name)) {
        if (!acl::Mentions(*a, role)) continue;
        acl::Acl updated = *a;
        acl::RemoveGrantee(&updated, role);
        std::optional<acl::Acl> stored;
        if (!updated.empty()) stored = updated;
        if (Status s = catalogue::PutColumnAcl(db_, rel.name, column, stored); !s.ok()) {
          return s.error();
        }
      }
      access_.CatalogueChanged();
    }
    sandbox::InternalScope internal;
    if (const catalogue::Namespace* found = snap.FindNamespace("public")) {
      catalogue::Namespace ns = *found;
      bool changed = false;
      if (reassign && ns.owner == role) {
        if (ns.acl) acl::ReplaceRole(&*ns.acl, role, new_owner);
        ns.owner = new_owner;
        changed = true;
      } else if (!reassign && ns.acl && acl::Mentions(*ns.acl, role)) {
        acl::RemoveGrantee(&*ns.acl, role);
        changed = true;
      }
      if (changed) {
        if (Status s = catalogue::PutNamespace(db_, ns); !s.ok()) return s.error();
        access_.CatalogueChanged();
      }
    }
    for (catalogue::Function f : snap.functions()) {
      if (f.owner == role) {
        if (!reassign) {
          if (Status s = catalogue::DeleteFunction(db_, f.name, f.arg_types.size()); !s.ok()) {
            return s.error();
          }
          fmgr::Unbind(db_, f);
        } else {
          if (f.acl) acl::ReplaceRole(&*f.acl, role, new_owner);
          f.owner = new_owner;
          if (Status s = catalogue::PutFunction(db_, f); !s.ok()) return s.error();
        }
        access_.CatalogueChanged();
      } else if (!reassign && f.acl && acl::Mentions(*f.acl, role)) {
        acl::RemoveGrantee(&*f.acl, role);
        if (Status s = catalogue::PutFunction(db_, f); !s.ok()) return s.error();
        access_.CatalogueChanged();
      }
    }
  }
  // Databases: REASSIGN gives them away, DROP OWNED revokes the role's
  // grants on them (PostgreSQL does not drop databases).
  Result<storage::Catalog*> cat = Catalog();
  if (!cat.ok()) return cat.error();
  Result<std::vector<storage::DatabaseInfo>> databases = (*cat)->ListDatabases();
  if (!databases.ok()) return databases.error();
  for (const storage::DatabaseInfo& d : *databases) {
    for (uint32_t role : old_roles) {
      storage::DatabaseOptions options;
      std::optional<acl::Acl> a;
      if (d.acl) a = acl::Decode(*d.acl).value_or(acl::Acl{});
      if (reassign && d.owner == role) {
        options.owner = new_owner;
        if (a) acl::ReplaceRole(&*a, role, new_owner);
      } else if (!reassign && a && acl::Mentions(*a, role)) {
        acl::RemoveGrantee(&*a, role);
      } else {
        continue;
      }
      if (a) options.acl = std::optional<std::string>(acl::Encode(*a));
      if (Status s = (*cat)->AlterDatabase(d.name, options); !s.ok()) return s.error();
    }
  }
  access_.RolesChanged();
  if (Status s = access_.Refresh(db_); !s.ok()) return s.error();
  return Tag(reassign ? "REASSIGN OWNED" : "DROP OWNED");
}

Result<UtilityResult> SessionImpl::RunSetRole(const StatementImpl& st, bool local, bool session) {
  Cursor c(st.tokens);
  const bool reset = c.Accept("reset");
  if (!reset) {
    c.Accept("set");
    c.Accept("local");
  }
  // SET [SESSION] ROLE, SET SESSION AUTHORIZATION, RESET ROLE, RESET
  // SESSION AUTHORIZATION.
  const bool said_session = c.Accept("session");
  if (c.Accept("authorization")) {
    if (!said_session) return c.SyntaxError();
    session = true;
  } else if (c.Accept("role")) {
    session = false;
  } else {
    return c.SyntaxError();
  }
  if (!reset) c.Accept("to") || c.AcceptOp("=");
  if (Status s = access_.Refresh(db_); !s.ok()) return s.error();
  const roles::RoleGraph& graph = access_.graph();
  // None / DEFAULT / RESET: back to the session user (ROLE), or to the
  // login (SESSION AUTHORIZATION).
  std::optional<uint32_t> target;
  if (reset || c.Accept("none") || c.Accept("default")) {
    target = session ? authenticated_role_ : info_.session_role_oid;
  } else {
    std::optional<std::string> name = c.String();
    if (!name) name = c.Ident();
    if (!name) return c.SyntaxError();
    const storage::RoleInfo* r = graph.Find(*name);
    if (r == nullptr) {
      return MakeError(session ? "42704" : "22023",
                       StringPrintf("role \"%s\" does not exist", name->c_str()));
    }
    target = r->oid;
    if (session) {
      if (!authenticated_superuser_ && r->oid != authenticated_role_) {
        return MakeError("42501", "permission denied to set session authorization");
      }
    } else if (!graph.IsMemberOf(info_.session_role_oid, r->oid)) {
      return MakeError("42501",
                       StringPrintf("permission denied to set role \"%s\"", name->c_str()));
    }
  }
  if (!c.AtEnd()) return c.SyntaxError();
  if (local && state_ != TxState::kBlock) {
    Notice("WARNING", "25P01", "SET LOCAL can only be used in transaction blocks");
    return Tag(reset ? "RESET" : "SET");
  }
  GucUndo undo;
  undo.name = "role";
  undo.local = local;
  undo.old_current_role = info_.role_oid;
  undo.old_session_role = info_.session_role_oid;
  guc_undo_.push_back(undo);
  if (session) {
    ApplyRoles(*target, *target);
  } else {
    ApplyRoles(info_.session_role_oid, *target);
  }
  return Tag(reset ? "RESET" : "SET");
}

}  // namespace bgw::sql::internal
