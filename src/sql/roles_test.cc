// Role membership: PostgreSQL 15's INHERIT walk, SET ROLE's, the admin
// option, superusers, and the database owner's implicit pg_database_owner.
#include "sql/roles.h"

#include <gtest/gtest.h>

namespace bgw::sql::roles {
namespace {

storage::RoleInfo Role(uint32_t oid, const char* name, bool inherit = true, bool super = false) {
  storage::RoleInfo r;
  r.oid = oid;
  r.name = name;
  r.inherit = inherit;
  r.superuser = super;
  return r;
}

// admin(10, superuser); staff(20) <- alice(30); alice <- bob(40, NOINHERIT);
// readers(50) <- staff, with the admin option for staff.
RoleGraph Graph(uint32_t database_owner = 0) {
  return RoleGraph(
      {Role(10, "admin", true, true), Role(20, "staff"), Role(30, "alice"), Role(40, "bob", false),
       Role(50, "readers"), Role(storage::kPgDatabaseOwnerOid, "pg_database_owner")},
      {{20, 30, 10, false}, {30, 40, 10, false}, {50, 20, 10, true}}, database_owner);
}

TEST(RoleGraphTest, PrivilegesFollowInheritingMemberships) {
  RoleGraph g = Graph();
  EXPECT_TRUE(g.HasPrivsOf(30, 20));
  EXPECT_TRUE(g.HasPrivsOf(30, 50));   // through staff
  EXPECT_FALSE(g.HasPrivsOf(20, 30));  // not the other way
  EXPECT_FALSE(g.HasPrivsOf(40, 30));  // bob does not inherit ...
  EXPECT_TRUE(g.IsMemberOf(40, 30));   // ... but may SET ROLE alice
  EXPECT_TRUE(g.IsMemberOf(40, 50));
  EXPECT_TRUE(g.HasPrivsOf(10, 40));  // superuser: everyone's
  EXPECT_TRUE(g.IsMemberOf(10, 50));
  EXPECT_FALSE(g.IsMemberOfNoSuper(10, 50));
  std::vector<uint32_t> roles = g.PrivilegeRoles(30);
  EXPECT_EQ(roles, (std::vector<uint32_t>{30, 20, 50}));
  EXPECT_EQ(g.PrivilegeRoles(40), std::vector<uint32_t>{40});
}

TEST(RoleGraphTest, TheDatabaseOwnerIsAMemberOfPgDatabaseOwner) {
  RoleGraph g = Graph(/*database_owner=*/20);
  EXPECT_TRUE(g.HasPrivsOf(20, storage::kPgDatabaseOwnerOid));
  EXPECT_TRUE(g.HasPrivsOf(30, storage::kPgDatabaseOwnerOid));  // alice inherits staff's
  EXPECT_FALSE(g.HasPrivsOf(50, storage::kPgDatabaseOwnerOid));
  EXPECT_FALSE(Graph(0).HasPrivsOf(20, storage::kPgDatabaseOwnerOid));
}

TEST(RoleGraphTest, AdminOptionAndTheSessionUser) {
  RoleGraph g = Graph();
  EXPECT_TRUE(g.IsAdminOf(20, 50, 20));   // WITH ADMIN OPTION
  EXPECT_TRUE(g.IsAdminOf(30, 50, 30));   // through staff (membership, not INHERIT)
  EXPECT_FALSE(g.IsAdminOf(30, 20, 30));  // plain member
  EXPECT_TRUE(g.IsAdminOf(30, 30, 30));   // PostgreSQL 15: the session user of itself
  EXPECT_FALSE(g.IsAdminOf(30, 30, 40));
  EXPECT_TRUE(g.IsAdminOf(10, 20, 10));  // superuser
}

TEST(RoleGraphTest, NamesAndUnknownRoles) {
  RoleGraph g = Graph();
  EXPECT_EQ(g.NameOf(30), "alice");
  EXPECT_EQ(g.NameOf(12345), "12345");
  ASSERT_NE(g.Find("readers"), nullptr);
  EXPECT_EQ(g.Find("nobody"), nullptr);
  EXPECT_FALSE(g.HasPrivsOf(12345, 20));
  EXPECT_TRUE(g.IsSuperuser(10));
  EXPECT_FALSE(g.IsSuperuser(12345));
}

}  // namespace
}  // namespace bgw::sql::roles
