// Role membership rules; see roles.h.
#include "sql/roles.h"

#include <algorithm>

namespace bgw::sql::roles {

RoleGraph::RoleGraph(std::vector<storage::RoleInfo> roles,
                     std::vector<storage::Membership> memberships, uint32_t database_owner)
    : roles_(std::move(roles)),
      memberships_(std::move(memberships)),
      database_owner_(database_owner) {
  for (size_t i = 0; i < roles_.size(); i++) by_oid_[roles_[i].oid] = i;
  for (const storage::Membership& m : memberships_) by_member_.emplace(m.member, &m);
}

const storage::RoleInfo* RoleGraph::Find(uint32_t oid) const {
  auto it = by_oid_.find(oid);
  return it == by_oid_.end() ? nullptr : &roles_[it->second];
}

const storage::RoleInfo* RoleGraph::Find(std::string_view name) const {
  for (const storage::RoleInfo& r : roles_) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

std::string RoleGraph::NameOf(uint32_t oid) const {
  const storage::RoleInfo* r = Find(oid);
  return r != nullptr ? r->name : std::to_string(oid);
}

bool RoleGraph::IsSuperuser(uint32_t role) const {
  const storage::RoleInfo* r = Find(role);
  return r != nullptr && r->superuser;
}

std::vector<uint32_t> RoleGraph::Closure(uint32_t member, bool privileges, uint32_t admin_of,
                                         bool* admin) const {
  std::vector<uint32_t> list{member};
  for (size_t i = 0; i < list.size(); i++) {
    const uint32_t id = list[i];
    if (privileges) {
      const storage::RoleInfo* r = Find(id);
      if (r == nullptr || !r->inherit) continue;
    }
    auto [begin, end] = by_member_.equal_range(id);
    for (auto it = begin; it != end; ++it) {
      const storage::Membership& m = *it->second;
      if (admin != nullptr && m.role == admin_of && m.admin_option) *admin = true;
      if (std::find(list.begin(), list.end(), m.role) == list.end()) list.push_back(m.role);
    }
    if (id == database_owner_ && database_owner_ != 0 &&
        std::find(list.begin(), list.end(), storage::kPgDatabaseOwnerOid) == list.end()) {
      list.push_back(storage::kPgDatabaseOwnerOid);
    }
  }
  return list;
}

bool RoleGraph::HasPrivsOf(uint32_t member, uint32_t role) const {
  if (member == role || IsSuperuser(member)) return true;
  std::vector<uint32_t> list = Closure(member, true, 0, nullptr);
  return std::find(list.begin(), list.end(), role) != list.end();
}

bool RoleGraph::IsMemberOf(uint32_t member, uint32_t role) const {
  if (member == role || IsSuperuser(member)) return true;
  std::vector<uint32_t> list = Closure(member, false, 0, nullptr);
  return std::find(list.begin(), list.end(), role) != list.end();
}

bool RoleGraph::IsMemberOfNoSuper(uint32_t member, uint32_t role) const {
  if (member == role) return true;
  std::vector<uint32_t> list = Closure(member, false, 0, nullptr);
  return std::find(list.begin(), list.end(), role) != list.end();
}

bool RoleGraph::IsAdminOf(uint32_t member, uint32_t role, uint32_t session_user) const {
  if (IsSuperuser(member)) return true;
  if (member == role) return member == session_user;
  bool admin = false;
  (void)Closure(member, false, role, &admin);
  return admin;
}

std::vector<uint32_t> RoleGraph::PrivilegeRoles(uint32_t member) const {
  return Closure(member, true, 0, nullptr);
}

}  // namespace bgw::sql::roles
