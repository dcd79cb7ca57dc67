// The catalogue of one database: what the server knows about the objects in
// a database file beyond SQLite's own schema: who owns each table, view,
// index and trigger, their ACLs and column ACLs, the schema "public" and its
// ACL, and the C functions bound with CREATE FUNCTION (their definition,
// owner and ACL).
//
// It lives in the database file itself, in tables named bgw_catalog_*, so
// every change commits or rolls back with the DDL it belongs to, and a
// crash never separates a table from its owner. User SQL can neither read
// nor write those tables (the sandbox refuses the names), so nobody can
// make a function point at another symbol or give themselves a grant.
//
//   bgw_catalog_namespace(name, owner, acl)
//   bgw_catalog_class(name, oid, kind, owner, acl, parent)   names unique across
//       kinds (NOCASE, as SQLite compares names); parent = an index's or a
//       trigger's table, a shadow table's virtual table
//   bgw_catalog_column_acl(relname, attname, acl)
//   bgw_catalog_proc(name, nargs, arg_types, return_type, library, symbol,
//       strict, owner, acl, defaults)
//   bgw_catalog_oid(next)   the next OID; OIDs are never reused
//   bgw_catalog_extension(name, oid, owner, version, relocatable, members)
//       CREATE EXTENSION's record; members are the objects its scripts made
//       (what DROP EXTENSION drops), one "kind name" per line
//
// ACLs are acl.h's storage form; NULL = the kind's defaults. The format
// version is the file's PRAGMA user_version (which nobody may set from
// SQL): Ensure creates the tables in a new file and migrates an older one
// (its objects become the database owner's; bgw_c_functions, the C
// functions of version 0, move into bgw_catalog_proc).
//
// Every function here runs SQL on the connection: callers hold a
// sandbox::InternalScope, and mutations run inside the caller's transaction.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "sql/acl.h"

struct sqlite3;

namespace bgw::sql::catalogue {

// 2: bgw_catalog_extension. 3: bgw_catalog_proc.defaults, bgw_catalog_oid.
inline constexpr int kFormatVersion = 3;

enum class RelKind : char {
  kTable = 'r',
  kView = 'v',
  kIndex = 'i',
  kTrigger = 't',
  kVirtual = 'x',  // a virtual table (fts5, rtree, ...)
  kShadow = 's',   // a virtual table's shadow table: its privileges are the parent's
};

struct Relation {
  std::string name;
  uint32_t oid = 0;  // 0 until recorded (PutRelation assigns one)
  RelKind kind = RelKind::kTable;
  uint32_t owner = 0;
  std::optional<acl::Acl> acl;  // nullopt = defaults
  std::string parent;
};

struct Namespace {
  std::string name;
  uint32_t owner = 0;
  std::optional<acl::Acl> acl;
};

// A SQL-callable C function (CREATE FUNCTION ... LANGUAGE C).
struct Function {
  std::string name;  // lower-cased unless quoted; schema dropped
  std::vector<uint32_t> arg_types;
  uint32_t return_type = 0;
  std::string library;
  std::string symbol;
  bool strict = false;
  uint32_t owner = 0;
  std::optional<acl::Acl> acl;
  // Defaults of the last defaults.size() arguments, in their types' text
  // form (nullopt: DEFAULT NULL). The function may be called with that many
  // arguments fewer.
  std::vector<std::optional<std::string>> defaults;
};

// An installed extension (CREATE EXTENSION).
struct Extension {
  std::string name;
  uint32_t oid = 0;  // 0 until recorded (PutExtension assigns one)
  uint32_t owner = 0;
  std::string version;
  bool relocatable = false;
  // What its scripts created, as "function name/nargs", "table name",
  // "view name", "index name", "trigger name".
  std::vector<std::string> members;
};

// Case-insensitive (ASCII) key, as SQLite compares identifiers.
std::string Key(std::string_view name);

class Snapshot {
 public:
  const Relation* FindRelation(std::string_view name) const;
  const Relation* FindRelation(uint32_t oid) const;
  // The column ACL, or null when the column has none.
  const acl::Acl* ColumnAcl(std::string_view relation, std::string_view column) const;
  // Every column ACL of a relation, as (column, acl).
  std::vector<std::pair<std::string, const acl::Acl*>> ColumnAcls(std::string_view relation) const;
  const Namespace* FindNamespace(std::string_view name) const;
  const Function* FindFunction(std::string_view name, size_t nargs) const;
  const std::vector<Function>& functions() const { return functions_; }
  const std::map<std::string, Relation>& relations() const { return relations_; }

 private:
  friend Result<Snapshot> Load(sqlite3* db);
  std::map<std::string, Relation> relations_;  // by Key(name)
  std::map<std::pair<std::string, std::string>, std::pair<std::string, acl::Acl>> column_acls_;
  std::map<std::string, Namespace> namespaces_;
  std::vector<Function> functions_;
};

// Creates or migrates the catalogue (outside a transaction: takes the write
// lock only when there is work). `database_owner` owns what a migration
// finds untracked.
Status Ensure(sqlite3* db, uint32_t database_owner);
Result<Snapshot> Load(sqlite3* db);

Status PutRelation(sqlite3* db, const Relation& relation);
// Also removes its column ACLs and the records whose parent it is.
Status DeleteRelation(sqlite3* db, std::string_view name);
Status RenameRelation(sqlite3* db, std::string_view from, std::string_view to);
// The records whose parent is `name` (its indexes, triggers, shadow
// tables) follow their table's owner.
Status SetChildrenOwner(sqlite3* db, std::string_view name, uint32_t owner);
// nullopt removes the column's ACL.
Status PutColumnAcl(sqlite3* db, std::string_view relation, std::string_view column,
                    const std::optional<acl::Acl>& acl);
Status RenameColumn(sqlite3* db, std::string_view relation, std::string_view from,
                    std::string_view to);
// Removes the column ACLs of `relation` whose column is not in `columns`.
Status PruneColumnAcls(sqlite3* db, std::string_view relation,
                       const std::vector<std::string>& columns);
Status PutNamespace(sqlite3* db, const Namespace& ns);
// Insert or replace, by name and number of arguments.
Status PutFunction(sqlite3* db, const Function& function);
Status DeleteFunction(sqlite3* db, std::string_view name, size_t nargs);
// Installed extensions, by name.
Result<std::vector<Extension>> Extensions(sqlite3* db);
// Insert or replace, by name.
Status PutExtension(sqlite3* db, const Extension& extension);
Status DeleteExtension(sqlite3* db, std::string_view name);

// What in the catalogue names `role` (as owner or in an ACL), described as
// PostgreSQL's DROP ROLE detail does ("owner of table t", "privileges for
// column c of table t"). ReferencesInFile opens another database's file
// read-only; a file without a catalogue refers to nobody.
Result<std::vector<std::string>> References(sqlite3* db, uint32_t role);
Result<std::vector<std::string>> ReferencesInFile(const std::string& path, uint32_t role);

// One object of SQLite's schema (main), as sqlite_schema lists it.
struct SchemaObject {
  std::string type;  // table, view, index, trigger
  std::string name;
  std::string table;  // tbl_name
  std::string sql;
};
// Every tracked object (not sqlite_* nor bgw_catalog_*), or only `name`.
Result<std::vector<SchemaObject>> SchemaObjects(sqlite3* db,
                                                std::optional<std::string_view> name = {});
RelKind KindOf(const SchemaObject& object);
// The column names of a table or view (PRAGMA table_info).
Result<std::vector<std::string>> Columns(sqlite3* db, std::string_view relation);

}  // namespace bgw::sql::catalogue
