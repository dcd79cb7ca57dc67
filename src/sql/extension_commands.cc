// CREATE EXTENSION, ALTER EXTENSION ... UPDATE and DROP EXTENSION: the
// control files and scripts of extension.h run inside the statement's
// transaction, so a failing script leaves nothing behind.
//
// Which objects belong to an extension is learned the simple way: the
// objects (tables, views, indexes, triggers, C functions) that exist after
// its scripts ran and did not before. DROP EXTENSION drops exactly those.
//
// Privileges, as PostgreSQL 15: an extension whose control file says
// superuser = true (the default) needs a superuser, unless it is also
// trusted, when a role with CREATE on the database may install it and its
// script runs as the bootstrap superuser. The extension belongs to the role
// that created it; its owner or a superuser may drop or update it.
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <set>

#include "common/strutil.h"

#include "sql/catalogue.h"
#include "sql/cursor.h"
#include "sql/extension.h"
#include "sql/fmgr_call.h"
#include "sql/sandbox.h"
#include "sql/session_internal.h"
#include "storage/catalog.h"

namespace bgw::sql::internal {
namespace {

class DiscardRows final : public RowSink {
 public:
  Status Row(std::span<const Value>) override { return Status::Ok(); }
};

// Runs the enclosed statements as the bootstrap superuser (a trusted
// extension's script), restoring the roles however it ends.
class RunAsBootstrapSuperuser {
 public:
  RunAsBootstrapSuperuser(SessionImpl* s, bool active)
      : session_(s),
        active_(active),
        session_role_(s->info().session_role_oid),
        current_role_(s->info().role_oid) {
    if (active_) session_->ApplyRoles(session_role_, storage::kBootstrapSuperuserOid);
  }
  ~RunAsBootstrapSuperuser() {
    if (active_) session_->ApplyRoles(session_role_, current_role_);
  }
  RunAsBootstrapSuperuser(const RunAsBootstrapSuperuser&) = delete;
  RunAsBootstrapSuperuser& operator=(const RunAsBootstrapSuperuser&) = delete;

 private:
  SessionImpl* session_;
  bool active_;
  uint32_t session_role_;
  uint32_t current_role_;
};

// The objects an extension can own, as catalogue::Extension::members
// spells them: "kind name\tidentity", the identity being a relation's OID
// or a function's owner. A member is dropped only while its identity is the
// same: an object of the same name made later by someone else (after the
// member itself was dropped) is not the extension's, and DROP EXTENSION,
// which drops as the bootstrap superuser, must not touch it.
Result<std::set<std::string>> Objects(sqlite3* db) {
  sandbox::InternalScope internal;
  std::set<std::string> out;
  Result<catalogue::Snapshot> snap = catalogue::Load(db);
  if (!snap.ok()) return snap.error();
  Result<std::vector<catalogue::SchemaObject>> objects = catalogue::SchemaObjects(db);
  if (!objects.ok()) return objects.error();
  for (const catalogue::SchemaObject& o : *objects) {
    const catalogue::Relation* r = snap->FindRelation(o.name);
    out.insert(o.type + " " + o.name + "\t" + std::to_string(r != nullptr ? r->oid : 0));
  }
  for (const catalogue::Function& f : snap->functions()) {
    out.insert("function " + f.name + "/" + std::to_string(f.arg_types.size()) + "\t" +
               std::to_string(f.owner));
  }
  return out;
}

Result<std::optional<catalogue::Extension>> Installed(sqlite3* db, const std::string& name) {
  sandbox::InternalScope internal;
  Result<std::vector<catalogue::Extension>> all = catalogue::Extensions(db);
  if (!all.ok()) return all.error();
  for (catalogue::Extension& e : *all) {
    if (e.name == name) return std::optional<catalogue::Extension>(std::move(e));
  }
  return std::optional<catalogue::Extension>();
}

// Drop order: what depends on others first.
int DropRank(const std::string& member) {
  static const char* const kOrder[] = {"view ", "trigger ", "index ", "table ", "function "};
  for (int i = 0; i < 5; ++i) {
    if (StartsWith(member, kOrder[i])) return i;
  }
  return 5;
}

}  // namespace

Status SessionImpl::RunExtensionScript(const std::string& sql, const std::string& file) {
  for (const std::string& text : SplitSql(sql)) {
    Result<std::shared_ptr<Statement>> prepared = Prepare(text, {});
    if (!prepared.ok()) {
      ErrorReport e = prepared.error();
      e.detail = e.detail.empty() ? "In extension script file \"" + file + "\"." : e.detail;
      return e;
    }
    const auto& st = static_cast<const StatementImpl&>(**prepared);
    switch (st.kind) {
      case Kind::kBegin:
      case Kind::kCommit:
      case Kind::kRollback:
      case Kind::kSavepoint:
      case Kind::kRelease:
      case Kind::kRollbackTo:
      case Kind::kCreateDatabase:
      case Kind::kDropDatabase:
        return MakeError("0A000", "this statement cannot run in an extension script",
                         "In extension script file \"" + file + "\": " + text);
      default:
        break;
    }
    Result<std::unique_ptr<Portal>> portal = Bind(*prepared, {});
    if (!portal.ok()) return portal.error();
    DiscardRows sink;
    Result<ExecuteResult> done = (*portal)->Execute(0, sink);
    if (!done.ok()) {
      ErrorReport e = done.error();
      if (e.detail.empty()) e.detail = "In extension script file \"" + file + "\".";
      return e;
    }
  }
  return Status::Ok();
}

Status SessionImpl::RunExtensionScripts(const extension::Control& control,
                                        const std::vector<std::string>& files) {
  // The installing role names @extowner@; a trusted extension's scripts run
  // as the bootstrap superuser when a non-superuser installs it.
  const std::string owner_name = info_.role_name;
  RunAsBootstrapSuperuser as(this, control.superuser && !info_.superuser);
  for (const std::string& file : files) {
    Result<std::string> sql = extension::ReadScript(
        control, file, control.schema.empty() ? "public" : control.schema, owner_name);
    if (!sql.ok()) return sql.error();
    if (Status s = RunExtensionScript(*sql, file); !s.ok()) return s;
  }
  return Status::Ok();
}

Status SessionImpl::CreateExtension(const std::string& name,
                                    const std::optional<std::string>& version, bool cascade,
                                    std::vector<std::string>* chain) {
  if (std::find(chain->begin(), chain->end(), name) != chain->end()) {
    return MakeError("42P17", "cyclic dependency detected between extensions \"" + name +
                                  "\" and \"" + chain->back() + "\"");
  }
  Result<extension::Control> control = extension::ReadControl(name);
  if (!control.ok()) return control.error();
  const bool superuser = info_.superuser;
  if (control->superuser && !superuser && !control->trusted) {
    return MakeError("42501", "permission denied to create extension \"" + name + "\"", "",
                     "Must be superuser to create this extension.");
  }
  if (control->superuser && !superuser &&
      (access_.DatabasePrivileges(access_.current_role()) & acl::kCreate) == 0) {
    return MakeError("42501", "permission denied to create extension \"" + name + "\"", "",
                     "Must have CREATE privilege on current database to create this "
                     "extension.");
  }
  const std::string target = version ? *version : control->default_version;
  if (target.empty()) {
    return MakeError("22023", "version to install must be specified", "",
                     "Give VERSION, or default_version in " + name + ".control.");
  }
  // What it requires comes first (with CASCADE, installed now).
  chain->push_back(name);
  for (const std::string& required : control->required) {
    Result<std::optional<catalogue::Extension>> have = Installed(db_, required);
    if (!have.ok()) return have.error();
    if (*have) continue;
    if (!cascade) {
      return MakeError("42704", "required extension \"" + required + "\" is not installed", "",
                       "Use CREATE EXTENSION ... CASCADE to install required extensions too.");
    }
    Notice("NOTICE", "00000", "installing required extension \"" + required + "\"");
    if (Status s = CreateExtension(required, std::nullopt, cascade, chain); !s.ok()) return s;
  }
  chain->pop_back();
  Result<std::vector<std::string>> scripts = extension::ScriptPath(*control, target);
  if (!scripts.ok()) return scripts.error();
  Result<std::set<std::string>> before = Objects(db_);
  if (!before.ok()) return before.error();
  const uint32_t owner = info_.role_oid;
  if (Status s = RunExtensionScripts(*control, *scripts); !s.ok()) return s;
  Result<std::set<std::string>> after = Objects(db_);
  if (!after.ok()) return after.error();
  catalogue::Extension e;
  e.name = name;
  e.owner = owner;
  e.version = target;
  e.relocatable = control->relocatable;
  std::set_difference(after->begin(), after->end(), before->begin(), before->end(),
                      std::back_inserter(e.members));
  sandbox::InternalScope internal;
  return catalogue::PutExtension(db_, e);
}

Status SessionImpl::DropExtension(const catalogue::Extension& e) {
  std::vector<std::string> members = e.members;
  std::stable_sort(members.begin(), members.end(), [](const std::string& a, const std::string& b) {
    return DropRank(a) < DropRank(b);
  });
  // Members are dropped whoever owns them (a trusted extension's objects
  // are the bootstrap superuser's): the right to drop the extension is
  // checked by the caller.
  Result<std::set<std::string>> current = Objects(db_);
  if (!current.ok()) return current.error();
  RunAsBootstrapSuperuser as(this, !info_.superuser);
  for (const std::string& m : members) {
    const size_t space = m.find(' ');
    const size_t tab = m.rfind('\t');
    const std::string kind = m.substr(0, space);
    const std::string object =
        m.substr(space + 1, tab == std::string::npos ? std::string::npos : tab - space - 1);
    if (current->count(m) == 0) continue;  // gone, or no longer the one the scripts made
    if (kind == "function") {
      const size_t slash = object.rfind('/');
      const std::string fname = object.substr(0, slash);
      const size_t nargs = std::strtoul(object.substr(slash + 1).c_str(), nullptr, 10);
      Result<std::vector<fmgr::CFunction>> all = fmgr::LoadAll(db_);
      if (!all.ok()) return all.error();
      for (const fmgr::CFunction& f : *all) {
        if (f.name != fname || f.arg_types.size() != nargs) continue;
        sandbox::InternalScope internal;
        if (Status s = fmgr::Remove(db_, f.name, static_cast<int>(nargs)); !s.ok()) return s;
        fmgr::Unbind(db_, f);
      }
      continue;
    }
    std::string upper = kind;
    for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (Status s = ExecUser("DROP " + upper + " IF EXISTS " + QuoteIdent(object), {}, false);
        !s.ok()) {
      return s;
    }
  }
  sandbox::InternalScope internal;
  return catalogue::DeleteExtension(db_, e.name);
}

Result<UtilityResult> SessionImpl::RunCreateExtension(const StatementImpl& st) {
  // CREATE EXTENSION [IF NOT EXISTS] name [WITH] [SCHEMA s] [VERSION v] [CASCADE]
  Cursor c(st.tokens);
  c.Accept("create");
  c.Accept("extension");
  Result<bool> if_not_exists = c.IfExists(/*not_exists=*/true);
  if (!if_not_exists.ok()) return if_not_exists.error();
  std::optional<std::string> name = c.Ident();
  if (!name) return c.SyntaxError();
  c.Accept("with");
  std::optional<std::string> version;
  bool cascade = false;
  while (!c.AtEnd()) {
    if (c.Accept("schema")) {
      std::optional<std::string> schema = c.Ident();
      if (!schema) return c.SyntaxError();
      if (*schema != "public" && *schema != "pg_catalog") {
        return MakeError("3F000", "schema \"" + *schema + "\" does not exist");
      }
    } else if (c.Accept("version")) {
      version = c.StringOrIdent();
      if (!version) return c.SyntaxError();
    } else if (c.Accept("cascade")) {
      cascade = true;
    } else {
      return c.SyntaxError();
    }
  }
  if (Status s = EnsureTransaction(true, true); !s.ok()) return s.error();
  Result<std::optional<catalogue::Extension>> have = Installed(db_, *name);
  if (!have.ok()) return have.error();
  if (*have) {
    if (!*if_not_exists) return MakeError("42710", "extension \"" + *name + "\" already exists");
    Notice("NOTICE", "42710", "extension \"" + *name + "\" already exists, skipping");
    return Tag("CREATE EXTENSION");
  }
  std::vector<std::string> chain;
  if (Status s = CreateExtension(*name, version, cascade, &chain); !s.ok()) return s.error();
  InvalidateStatementCache();
  return Tag("CREATE EXTENSION");
}

Result<UtilityResult> SessionImpl::RunAlterExtension(const StatementImpl& st) {
  // ALTER EXTENSION name UPDATE [TO version]
  Cursor c(st.tokens);
  c.Accept("alter");
  c.Accept("extension");
  std::optional<std::string> name = c.Ident();
  if (!name) return c.SyntaxError();
  if (!c.Accept("update")) {
    return MakeError("0A000", "ALTER EXTENSION supports only UPDATE [TO version] here");
  }
  std::optional<std::string> version;
  if (c.Accept("to")) {
    version = c.StringOrIdent();
    if (!version) return c.SyntaxError();
  }
  if (!c.AtEnd()) return c.SyntaxError();
  if (Status s = EnsureTransaction(true, true); !s.ok()) return s.error();
  Result<std::optional<catalogue::Extension>> have = Installed(db_, *name);
  if (!have.ok()) return have.error();
  if (!*have) return MakeError("42704", "extension \"" + *name + "\" does not exist");
  catalogue::Extension e = **have;
  if (!info_.superuser && e.owner != info_.role_oid) {
    return MakeError("42501", "must be owner of extension " + *name);
  }
  Result<extension::Control> control = extension::ReadControl(*name);
  if (!control.ok()) return control.error();
  const std::string target = version ? *version : control->default_version;
  if (target == e.version) {
    Notice("NOTICE", "00000",
           "version \"" + target + "\" of extension \"" + *name + "\" is already installed");
    return Tag("ALTER EXTENSION");
  }
  Result<std::vector<std::string>> scripts = extension::ScriptPath(*control, target, e.version);
  if (!scripts.ok()) return scripts.error();
  Result<std::set<std::string>> before = Objects(db_);
  if (!before.ok()) return before.error();
  if (Status s = RunExtensionScripts(*control, *scripts); !s.ok()) return s.error();
  Result<std::set<std::string>> after = Objects(db_);
  if (!after.ok()) return after.error();
  // Members: those still there, and what the updates made.
  std::vector<std::string> members;
  for (const std::string& m : e.members) {
    if (after->count(m) != 0) members.push_back(m);
  }
  std::set_difference(after->begin(), after->end(), before->begin(), before->end(),
                      std::back_inserter(members));
  e.members = std::move(members);
  e.version = target;
  {
    sandbox::InternalScope internal;
    if (Status s = catalogue::PutExtension(db_, e); !s.ok()) return s.error();
  }
  InvalidateStatementCache();
  return Tag("ALTER EXTENSION");
}

Result<UtilityResult> SessionImpl::RunDropExtension(const StatementImpl& st) {
  // DROP EXTENSION [IF EXISTS] name [, ...] [CASCADE | RESTRICT]
  Cursor c(st.tokens);
  c.Accept("drop");
  c.Accept("extension");
  Result<bool> if_exists = c.IfExists();
  if (!if_exists.ok()) return if_exists.error();
  std::vector<std::string> names;
  do {
    std::optional<std::string> name = c.Ident();
    if (!name) return c.SyntaxError();
    names.push_back(*name);
  } while (c.AcceptKind(TokenKind::kComma));
  const bool cascade = c.Accept("cascade");
  if (!cascade) c.Accept("restrict");
  if (!c.AtEnd()) return c.SyntaxError();
  if (Status s = EnsureTransaction(true, true); !s.ok()) return s.error();
  for (const std::string& name : names) {
    Result<std::optional<catalogue::Extension>> have = Installed(db_, name);
    if (!have.ok()) return have.error();
    if (!*have) {
      if (*if_exists) {
        Notice("NOTICE", "00000", "extension \"" + name + "\" does not exist, skipping");
        continue;
      }
      return MakeError("42704", "extension \"" + name + "\" does not exist");
    }
    if (!info_.superuser && (*have)->owner != info_.role_oid) {
      return MakeError("42501", "must be owner of extension " + name);
    }
    // Installed extensions that require this one.
    std::vector<catalogue::Extension> dependents;
    {
      sandbox::InternalScope internal;
      Result<std::vector<catalogue::Extension>> all = catalogue::Extensions(db_);
      if (!all.ok()) return all.error();
      for (const catalogue::Extension& other : *all) {
        if (other.name == name ||
            std::find(names.begin(), names.end(), other.name) != names.end()) {
          continue;
        }
        Result<extension::Control> oc = extension::ReadControl(other.name);
        if (oc.ok() &&
            std::find(oc->required.begin(), oc->required.end(), name) != oc->required.end()) {
          dependents.push_back(other);
        }
      }
    }
    if (!dependents.empty() && !cascade) {
      return MakeError("2BP01",
                       "cannot drop extension " + name + " because other objects depend on it",
                       "extension " + dependents[0].name + " depends on extension " + name,
                       "Use DROP ... CASCADE to drop the dependent objects too.");
    }
    for (const catalogue::Extension& d : dependents) {
      Notice("NOTICE", "00000", "drop cascades to extension " + d.name);
      if (Status s = DropExtension(d); !s.ok()) return s.error();
    }
    if (Status s = DropExtension(**have); !s.ok()) return s.error();
  }
  InvalidateStatementCache();
  return Tag("DROP EXTENSION");
}

}  // namespace bgw::sql::internal
