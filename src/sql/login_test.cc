// Session admission: the role and database checks shared by client backends
// and workers, with PostgreSQL's SQLSTATEs and wording, all FATAL.
#include "sql/login.h"

#include <gtest/gtest.h>

namespace bgw::sql::login {
namespace {

storage::RoleInfo Role(const char* name, bool can_login) {
  storage::RoleInfo r;
  r.oid = 16384;
  r.name = name;
  r.can_login = can_login;
  return r;
}

storage::DatabaseInfo Database(const char* name, bool allow_connections) {
  storage::DatabaseInfo d;
  d.oid = 16400;
  d.name = name;
  d.allow_connections = allow_connections;
  return d;
}

void ExpectFatal(const ErrorReport& e, const char* sqlstate, const char* message) {
  EXPECT_EQ(e.severity, "FATAL");
  EXPECT_EQ(e.sqlstate, sqlstate);
  EXPECT_EQ(e.message, message);
}

TEST(Login, MissingRoleIsNamedAsTheCallerNamedIt) {
  auto by_name = AdmitRole(std::nullopt, Target::Named("ghost"), false);
  ASSERT_FALSE(by_name.ok());
  ExpectFatal(by_name.error(), "28000", "role \"ghost\" does not exist");
  auto by_oid = AdmitRole(std::nullopt, Target::WithOid(4242), false);
  ASSERT_FALSE(by_oid.ok());
  ExpectFatal(by_oid.error(), "28000", "role with OID 4242 does not exist");
}

TEST(Login, NologinRoleIsRefusedUnlessBypassed) {
  auto refused = AdmitRole(Role("nologin", false), Target::Named("nologin"), false);
  ASSERT_FALSE(refused.ok());
  ExpectFatal(refused.error(), "28000", "role \"nologin\" is not permitted to log in");
  auto bypassed = AdmitRole(Role("nologin", false), Target::Named("nologin"), true);
  ASSERT_TRUE(bypassed.ok());
  EXPECT_EQ(bypassed->name, "nologin");
}

TEST(Login, DatabaseMustExistAndAcceptConnections) {
  auto missing = AdmitDatabase(std::nullopt, Target::Named("nodb"), false);
  ASSERT_FALSE(missing.ok());
  ExpectFatal(missing.error(), "3D000", "database \"nodb\" does not exist");
  auto by_oid = AdmitDatabase(std::nullopt, Target::WithOid(99), false);
  ASSERT_FALSE(by_oid.ok());
  ExpectFatal(by_oid.error(), "3D000", "database 99 does not exist");

  auto closed = AdmitDatabase(Database("closed", false), Target::WithOid(16400), false);
  ASSERT_FALSE(closed.ok());
  ExpectFatal(closed.error(), "55000",
              "database \"closed\" is not currently accepting connections");
  EXPECT_TRUE(AdmitDatabase(Database("closed", false), Target::Named("closed"), true).ok());
}

TEST(Login, SessionInfoNamesTheRoleAndTheDatabaseFile) {
  storage::RoleInfo r = Role("alice", true);
  r.superuser = true;
  SessionInfo info = SessionInfoFor(r, Database("app", true), "/data");
  EXPECT_EQ(info.role_oid, 16384u);
  EXPECT_EQ(info.role_name, "alice");
  EXPECT_TRUE(info.superuser);
  EXPECT_EQ(info.database_oid, 16400u);
  EXPECT_EQ(info.database_name, "app");
  EXPECT_EQ(info.database_path, storage::DatabaseFilePath("/data", 16400));
  EXPECT_EQ(info.data_dir, "/data");
}

}  // namespace
}  // namespace bgw::sql::login
