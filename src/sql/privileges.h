// A session's access control: PostgreSQL's privilege model on the objects
// of one database, enforced through the sandbox's authorizer (sandbox.h).
//
// Who: the current role (SET ROLE changes it; superusers bypass every check
// below), the roles whose privileges it has (roles.h), PUBLIC, and the
// predefined pg_read_all_data / pg_write_all_data. What: the catalogue's
// owners and ACLs (catalogue.h) of tables, views, columns, schema public,
// the database's ACL from the shared catalog. When: while SQLite prepares a
// statement, for every table and column it reads or writes and every object
// it creates, drops or alters, as PostgreSQL checks at executor start:
//
//   read t.c         SELECT on t or on t.c; reading through a view checks
//                    the view's owner on what the view reads, and the
//                    reader on the view
//   insert / update  INSERT on t; UPDATE on t or the column; OR REPLACE
//                    also needs DELETE (it deletes the rows it replaces)
//   delete           DELETE on t (TRUNCATE for TRUNCATE)
//   create           CREATE on schema public (PostgreSQL 15: the database
//                    owner has it, PUBLIC does not); TEMPORARY on the
//                    database for temporary objects; FOREIGN KEY needs
//                    REFERENCES on the referenced table
//   index, trigger,  owner of the table (a trigger also with TRIGGER)
//   drop, alter
//
// A prepared statement is authorized for the epoch it was prepared in; the
// epoch moves when the current role, its memberships or attributes, or any
// owner or ACL in the database change (the shared generations of
// storage/catalog_cache.h tell other sessions), and the engine re-prepares
// a statement whose epoch is stale before running it, so a REVOKE takes
// effect at the next execution of every session's statements.
//
// After a statement that created, dropped or altered objects succeeds, the
// engine calls AfterDdl, which records the new objects' owners (the current
// role), forgets dropped ones and follows renames, in the same transaction.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "sql/acl.h"
#include "sql/catalogue.h"
#include "sql/lexer.h"
#include "sql/roles.h"
#include "sql/sandbox.h"
#include "sql/session.h"

struct sqlite3;

namespace bgw::sql::privileges {

// What the authorizer learned about one statement while SQLite prepared it
// (and re-prepared it while stepping).
struct StatementAuth {
  // Set by the engine before preparing.
  bool replace = false;   // INSERT/UPDATE OR REPLACE, REPLACE INTO
  bool truncate = false;  // the DELETE behind TRUNCATE
  // Learned.
  bool ddl = false;
  struct Created {
    int action;  // SQLITE_CREATE_*
    std::string name;
    std::string table;  // index, trigger: the table
  };
  std::vector<Created> created;
  std::vector<std::string> dropped;
  std::vector<std::string> altered;   // ALTER TABLE targets
  std::vector<std::string> ctes;      // WITH names: not tables (set by the engine)
  bool reloaded = false;              // the snapshot was read again for this statement
  bool view_context = false;          // something was read through a view
  bool bare_read = false;             // a table read for no column, outside views
  bool missing = false;               // named an object the snapshot lacks
  std::vector<std::string> warnings;  // e.g. ANALYZE skipping a table
};

class AccessControl final : public sandbox::Authorizer {
 public:
  // `info` is the session's (its current role fields are updated by SET
  // ROLE); it must outlive this object.
  explicit AccessControl(SessionInfo* info);

  // At each statement (prepare, execution): re-reads roles and the
  // catalogue if their generations moved, and loads what a check needs.
  // Runs SQL on `db` (inside an InternalScope).
  Status Refresh(sqlite3* db);
  // The catalogue was changed by this session (its snapshot is stale now;
  // at commit other sessions are told).
  void CatalogueChanged() {
    snapshot_valid_ = false;
    changed_in_transaction_ = true;
  }
  // Loads the catalogue snapshot if it is not current (superusers skip it
  // in Refresh; the privilege statements need it).
  Status EnsureSnapshot(sqlite3* db) {
    return snapshot_valid_ ? Status(Status::Ok()) : LoadSnapshot(db);
  }
  // Another session may have created what a statement named: read the
  // catalogue again at the next Refresh.
  void CatalogueStale() { snapshot_valid_ = false; }
  // The roles changed (CREATE/ALTER/DROP ROLE, GRANT role ...).
  void RolesChanged() { graph_valid_ = false; }
  // At transaction end: tells other sessions about a committed change and
  // forgets what a rollback undid.
  void TransactionEnded(bool committed);
  // Authorization epoch: statements prepared in another are re-prepared.
  uint64_t epoch() const { return epoch_; }

  // Brackets the preparation (and stepping) of one user statement; `auth`
  // collects what the authorizer saw. Nests (SPI from a C function).
  class Scope {
   public:
    Scope(AccessControl* ac, StatementAuth* auth);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    AccessControl* ac_;
    StatementAuth* saved_;
  };

  int Authorize(int action, const char* arg1, const char* arg2, const char* database,
                const char* inner) override;

  // After a statement that did DDL succeeded: records owners, follows
  // drops and renames, checks REFERENCES of new foreign keys. `tokens` are
  // the statement's significant tokens (ALTER TABLE ... RENAME).
  Status AfterDdl(sqlite3* db, const StatementAuth& auth, const std::vector<Token>& tokens);

  // ---- identity -------------------------------------------------------
  uint32_t current_role() const { return info_->role_oid; }
  uint32_t session_role() const { return info_->session_role_oid; }
  bool superuser() const { return info_->superuser; }
  const roles::RoleGraph& graph() const { return graph_; }
  // SET ROLE / RESET ROLE / SET SESSION AUTHORIZATION: `role` must exist.
  Status SetCurrentRole(uint32_t role);
  Status SetSessionRole(uint32_t role);

  // ---- questions (has_*_privilege, GRANT, ALTER ... OWNER) --------------
  const catalogue::Snapshot& snapshot() const { return snapshot_; }
  // The relation, also temporary ones; null if unknown.
  const catalogue::Relation* FindRelation(std::string_view name) const;
  // The privileges `role` holds on a table (or, with a column, on that
  // column through the table or the column's own ACL).
  uint32_t TablePrivileges(uint32_t role, const catalogue::Relation& rel,
                           std::optional<std::string_view> column = {}) const;
  // Grant options `role` holds (the owner holds them all).
  uint32_t TableGrantOptions(uint32_t role, const catalogue::Relation& rel) const;
  uint32_t SchemaPrivileges(uint32_t role, const catalogue::Namespace& ns) const;
  uint32_t DatabasePrivileges(uint32_t role) const;
  uint32_t FunctionPrivileges(uint32_t role, const catalogue::Function& fn) const;
  bool HasPrivsOf(uint32_t member, uint32_t role) const { return graph_.HasPrivsOf(member, role); }
  // The table a privilege on `rel` is checked on (indexes, triggers and
  // shadow tables answer with their parent).
  const catalogue::Relation* PrivilegeTarget(const catalogue::Relation& rel) const;
  // Role names for display.
  std::string RoleName(uint32_t oid) const { return graph_.NameOf(oid); }

 private:
  Status LoadGraph();
  Status LoadSnapshot(sqlite3* db);
  int Check(int action, const char* a1, const char* a2, const char* database, const char* inner);
  int CheckRead(const char* table, const char* column, const char* database, const char* inner);
  int RequireTable(uint32_t role, const char* table, const char* database, uint32_t privileges,
                   const char* column);
  int RequireOwner(const char* object, const char* database, const char* noun);
  int Missing(const char* name);
  bool CreatedByThisStatement(const char* name) const;
  uint32_t Holds(uint32_t role, const acl::Acl& acl) const;
  bool IsOwner(uint32_t role, uint32_t owner) const { return graph_.HasPrivsOf(role, owner); }
  void Collect(int action, const char* a1, const char* a2, const char* database);

  SessionInfo* info_;
  roles::RoleGraph graph_;
  bool graph_valid_ = false;
  uint64_t graph_generation_ = 0;
  catalogue::Snapshot snapshot_;
  bool snapshot_valid_ = false;
  uint64_t snapshot_generation_ = 0;
  uint32_t snapshot_data_version_ = 0;
  bool changed_in_transaction_ = false;
  bool loaded_in_transaction_ = false;
  // Temporary objects of this session (their owner is who created them).
  std::map<std::string, catalogue::Relation> temp_;
  uint64_t epoch_ = 1;
  StatementAuth* current_ = nullptr;
};

}  // namespace bgw::sql::privileges
