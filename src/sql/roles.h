// Who has whose privileges: PostgreSQL 15's role membership rules over a
// snapshot of the shared catalog's roles and memberships.
//
//   HasPrivsOf(member, role): member uses role's privileges without SET
//     ROLE: it is role, or a superuser, or reaches role through memberships
//     whose every intermediate role (and member itself) has INHERIT. The
//     database owner is an implicit member of pg_database_owner.
//   IsMemberOf(member, role): member may SET ROLE role: the same walk
//     ignoring INHERIT.
//   IsAdminOf(member, role): member may GRANT/REVOKE membership in role
//     (WITH ADMIN OPTION somewhere on the way, or superuser; as PostgreSQL
//     15, the session user counts as admin of itself).
//
// Immutable once built; the session rebuilds it when the catalog's
// generation moves (storage/catalog_cache.h).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "storage/catalog.h"

namespace bgw::sql::roles {

class RoleGraph {
 public:
  RoleGraph() = default;
  RoleGraph(std::vector<storage::RoleInfo> roles, std::vector<storage::Membership> memberships,
            uint32_t database_owner);

  const storage::RoleInfo* Find(uint32_t oid) const;
  const storage::RoleInfo* Find(std::string_view name) const;
  // The role's name, or its OID as text when it no longer exists (what
  // PostgreSQL prints for a dangling reference).
  std::string NameOf(uint32_t oid) const;
  bool IsSuperuser(uint32_t role) const;

  bool HasPrivsOf(uint32_t member, uint32_t role) const;
  bool IsMemberOf(uint32_t member, uint32_t role) const;
  // The same walk without the superuser shortcut (circularity checks).
  bool IsMemberOfNoSuper(uint32_t member, uint32_t role) const;
  bool IsAdminOf(uint32_t member, uint32_t role, uint32_t session_user) const;
  // Every role whose privileges `member` has (itself first), for ACL checks.
  std::vector<uint32_t> PrivilegeRoles(uint32_t member) const;

  const std::vector<storage::Membership>& memberships() const { return memberships_; }
  const std::vector<storage::RoleInfo>& roles() const { return roles_; }
  uint32_t database_owner() const { return database_owner_; }

 private:
  // roles_is_member_of: the closure from `member`, following only
  // inheriting roles when `privileges`; *admin set when some edge into
  // `admin_of` carries the admin option.
  std::vector<uint32_t> Closure(uint32_t member, bool privileges, uint32_t admin_of,
                                bool* admin) const;

  std::vector<storage::RoleInfo> roles_;
  std::map<uint32_t, size_t> by_oid_;
  std::vector<storage::Membership> memberships_;
  std::multimap<uint32_t, const storage::Membership*> by_member_;
  uint32_t database_owner_ = 0;
};

}  // namespace bgw::sql::roles
