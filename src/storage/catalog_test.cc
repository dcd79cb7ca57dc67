// Tests of the shared catalog: what Initialize lays down, OIDs, each
// create/alter/rename/drop with its PostgreSQL error, the database files on
// disk, exact-name comparison, and two connections (as two processes would
// have) seeing each other's changes.
#include "storage/catalog.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

namespace bgw::storage {
namespace {

bool Exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

std::string JournalMode(const std::string& path) {
  sqlite3* db = nullptr;
  std::string mode;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      mode = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return mode;
}

class CatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/bgw_catalog_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    Status s = Catalog::Initialize(dir_, "admin", "md5abc");
    ASSERT_TRUE(s.ok()) << s.error().message;
    auto c = Catalog::Open(dir_);
    ASSERT_TRUE(c.ok()) << c.error().message;
    catalog_ = std::move(*c);
  }
  void TearDown() override {
    catalog_.reset();
    std::string cmd = "rm -rf '" + dir_ + "'";
    EXPECT_EQ(system(cmd.c_str()), 0);
  }

  std::string dir_;
  std::unique_ptr<Catalog> catalog_;
};

TEST_F(CatalogTest, InitializeCreatesSuperuserAndPostgres) {
  EXPECT_TRUE(Exists(dir_ + "/global/catalog.db"));
  EXPECT_FALSE(Exists(dir_ + "/global/catalog.db.tmp"));
  EXPECT_EQ(JournalMode(dir_ + "/global/catalog.db"), "wal");
  auto roles = catalog_->ListRoles();
  ASSERT_TRUE(roles.ok());
  // The bootstrap superuser, then PostgreSQL 15's twelve predefined roles.
  ASSERT_EQ(roles->size(), 13u);
  const RoleInfo& admin = (*roles)[0];  // by OID
  for (const RoleInfo& r : *roles) {
    if (r.oid != kBootstrapSuperuserOid) {
      EXPECT_EQ(r.name.rfind("pg_", 0), 0u) << r.name;
      EXPECT_FALSE(r.can_login);
      EXPECT_FALSE(r.superuser);
    }
  }
  EXPECT_EQ(admin.oid, kBootstrapSuperuserOid);
  EXPECT_EQ(admin.name, "admin");
  EXPECT_TRUE(admin.superuser);
  EXPECT_TRUE(admin.can_login);
  EXPECT_EQ(admin.connection_limit, -1);
  EXPECT_EQ(admin.password, "md5abc");

  auto dbs = catalog_->ListDatabases();
  ASSERT_TRUE(dbs.ok());
  ASSERT_EQ(dbs->size(), 1u);
  EXPECT_EQ((*dbs)[0].oid, kPostgresDatabaseOid);
  EXPECT_EQ((*dbs)[0].name, "postgres");
  EXPECT_EQ((*dbs)[0].owner, kBootstrapSuperuserOid);
  EXPECT_TRUE((*dbs)[0].allow_connections);
  EXPECT_EQ(catalog_->DatabasePath(kPostgresDatabaseOid), dir_ + "/base/5.db");
  EXPECT_TRUE(Exists(dir_ + "/base/5.db"));
  EXPECT_EQ(JournalMode(dir_ + "/base/5.db"), "wal");
}

TEST_F(CatalogTest, InitializeRefusesAnExistingCatalog) {
  Status s = Catalog::Initialize(dir_, "other", "");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("already exists"), std::string::npos);
  auto role = catalog_->FindRole("admin");
  ASSERT_TRUE(role.ok());
  EXPECT_TRUE(role->has_value()) << "the existing catalog is untouched";
}

TEST_F(CatalogTest, OpenWithoutCatalogFails) {
  auto c = Catalog::Open(dir_ + "/nowhere");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().sqlstate, "58P01");
}

TEST_F(CatalogTest, CreateDatabaseMakesAWalFileAndHandsOutOids) {
  auto a = catalog_->CreateDatabase("a", {});
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->oid, kFirstNormalOid);
  EXPECT_EQ(a->owner, kBootstrapSuperuserOid);
  EXPECT_TRUE(a->allow_connections);
  EXPECT_EQ(a->connection_limit, -1);
  EXPECT_TRUE(Exists(catalog_->DatabasePath(a->oid)));
  EXPECT_EQ(JournalMode(catalog_->DatabasePath(a->oid)), "wal");

  auto r = catalog_->CreateRole("bob", {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->oid, kFirstNormalOid + 1) << "one counter for roles and databases";

  DatabaseOptions o;
  o.owner = r->oid;
  o.allow_connections = false;
  o.connection_limit = 3;
  auto b = catalog_->CreateDatabase("b", o);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->oid, kFirstNormalOid + 2);
  auto found = catalog_->FindDatabase(b->oid);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->name, "b");
  EXPECT_EQ((*found)->owner, r->oid);
  EXPECT_FALSE((*found)->allow_connections);
  EXPECT_EQ((*found)->connection_limit, 3);
}

TEST_F(CatalogTest, CreateDatabaseErrors) {
  ASSERT_TRUE(catalog_->CreateDatabase("a", {}).ok());
  auto dup = catalog_->CreateDatabase("a", {});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().sqlstate, "42P04");
  EXPECT_EQ(dup.error().message, "database \"a\" already exists");

  DatabaseOptions o;
  o.owner = 99999;
  auto bad_owner = catalog_->CreateDatabase("c", o);
  ASSERT_FALSE(bad_owner.ok());
  EXPECT_EQ(bad_owner.error().sqlstate, "42704");
  auto c = catalog_->FindDatabase("c");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->has_value());
}

TEST_F(CatalogTest, NamesCompareExactly) {
  ASSERT_TRUE(catalog_->CreateDatabase("Mixed", {}).ok());
  ASSERT_TRUE(catalog_->CreateDatabase("mixed", {}).ok()) << "a different name";
  auto m = catalog_->FindDatabase("MIXED");
  ASSERT_TRUE(m.ok());
  EXPECT_FALSE(m->has_value());
  ASSERT_TRUE(catalog_->CreateRole("Bob", {}).ok());
  auto r = catalog_->FindRole("bob");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
}

TEST_F(CatalogTest, DropDatabaseRemovesRowAndFiles) {
  auto a = catalog_->CreateDatabase("a", {});
  ASSERT_TRUE(a.ok());
  std::string path = catalog_->DatabasePath(a->oid);
  // A WAL file as a session would leave it.
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(
        sqlite3_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES (1);", nullptr, nullptr, nullptr),
        SQLITE_OK);
    ASSERT_TRUE(Exists(path + "-wal"));
    ASSERT_TRUE(catalog_->DropDatabase("a").ok());
    sqlite3_close(db);
  }
  for (const char* suffix : {"", "-wal", "-shm"}) EXPECT_FALSE(Exists(path + suffix)) << suffix;
  auto gone = catalog_->FindDatabase("a");
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());

  auto again = catalog_->DropDatabase("a");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().sqlstate, "3D000");
  EXPECT_EQ(again.error().message, "database \"a\" does not exist");
}

TEST_F(CatalogTest, ALeftoverFileIsReplaced) {
  // A crash between creating the file and committing the row leaves a file
  // with the next oid; the next CreateDatabase must not inherit its tables.
  std::string path = catalog_->DatabasePath(kFirstNormalOid);
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE stale(x)", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  auto a = catalog_->CreateDatabase("a", {});
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->oid, kFirstNormalOid);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master", -1, &st, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST_F(CatalogTest, RenameAndAlterDatabase) {
  ASSERT_TRUE(catalog_->CreateDatabase("a", {}).ok());
  ASSERT_TRUE(catalog_->CreateDatabase("b", {}).ok());
  auto clash = catalog_->RenameDatabase("a", "b");
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.error().sqlstate, "42P04");
  auto missing = catalog_->RenameDatabase("zz", "c");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().sqlstate, "3D000");
  ASSERT_TRUE(catalog_->RenameDatabase("a", "c").ok());
  auto c = catalog_->FindDatabase("c");
  ASSERT_TRUE(c.ok() && c->has_value());
  EXPECT_EQ((*c)->oid, kFirstNormalOid) << "same oid, same file";

  DatabaseOptions o;
  o.connection_limit = 7;
  ASSERT_TRUE(catalog_->AlterDatabase("c", o).ok());
  c = catalog_->FindDatabase("c");
  EXPECT_EQ((*c)->connection_limit, 7);
  EXPECT_TRUE((*c)->allow_connections) << "unset options stay";
  auto bad = catalog_->AlterDatabase("nope", o);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().sqlstate, "3D000");
}

TEST_F(CatalogTest, RoleLifecycle) {
  RoleOptions o;
  o.can_login = true;
  o.password = "SCRAM-SHA-256$4096:x$y:z";
  auto bob = catalog_->CreateRole("bob", o);
  ASSERT_TRUE(bob.ok());
  EXPECT_FALSE(bob->superuser);
  EXPECT_TRUE(bob->can_login);
  EXPECT_EQ(bob->password, *o.password);

  auto dup = catalog_->CreateRole("bob", {});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().sqlstate, "42710");
  EXPECT_EQ(dup.error().message, "role \"bob\" already exists");

  RoleOptions alter;
  alter.superuser = true;
  alter.password = "";
  ASSERT_TRUE(catalog_->AlterRole("bob", alter).ok());
  auto found = catalog_->FindRole("bob");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_TRUE((*found)->superuser);
  EXPECT_TRUE((*found)->can_login) << "unset options stay";
  EXPECT_EQ((*found)->password, "") << "PASSWORD NULL clears";

  auto missing = catalog_->AlterRole("nobody", alter);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().sqlstate, "42704");
  EXPECT_EQ(missing.error().message, "role \"nobody\" does not exist");

  ASSERT_TRUE(catalog_->DropRole("bob").ok());
  auto dropped = catalog_->DropRole("bob");
  ASSERT_FALSE(dropped.ok());
  EXPECT_EQ(dropped.error().sqlstate, "42704");
}

TEST_F(CatalogTest, DropRoleOwningADatabaseFails) {
  auto bob = catalog_->CreateRole("bob", {});
  ASSERT_TRUE(bob.ok());
  DatabaseOptions o;
  o.owner = bob->oid;
  ASSERT_TRUE(catalog_->CreateDatabase("bobs", o).ok());
  auto s = catalog_->DropRole("bob");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().sqlstate, "2BP01");
  EXPECT_EQ(s.error().message, "role \"bob\" cannot be dropped because some objects depend on it");
  EXPECT_EQ(s.error().detail, "owner of database bobs");
  ASSERT_TRUE(catalog_->DropDatabase("bobs").ok());
  EXPECT_TRUE(catalog_->DropRole("bob").ok());

  auto boot = catalog_->DropRole("admin");
  ASSERT_FALSE(boot.ok());
  EXPECT_EQ(boot.error().sqlstate, "2BP01");
}

TEST_F(CatalogTest, TwoConnectionsSeeEachOther) {
  auto other = Catalog::Open(dir_);
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(catalog_->CreateRole("carol", {}).ok());
  auto seen = (*other)->FindRole("carol");
  ASSERT_TRUE(seen.ok());
  EXPECT_TRUE(seen->has_value());
  auto dup = (*other)->CreateRole("carol", {});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().sqlstate, "42710");
  auto d = (*other)->CreateDatabase("x", {});
  ASSERT_TRUE(d.ok());
  auto d2 = catalog_->CreateDatabase("y", {});
  ASSERT_TRUE(d2.ok());
  EXPECT_NE(d->oid, d2->oid);
}

TEST_F(CatalogTest, AWriterWaitsForAnotherWriter) {
  // Another process holding the write lock briefly must not make a catalog
  // change fail: the busy timeout waits it out.
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    sqlite3* db = nullptr;
    if (sqlite3_open((dir_ + "/global/catalog.db").c_str(), &db) != SQLITE_OK ||
        sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
      _exit(1);
    }
    (void)!write(ready[1], "x", 1);
    usleep(300 * 1000);
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
    sqlite3_close(db);
    _exit(0);
  }
  close(ready[1]);
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  close(ready[0]);
  auto r = catalog_->CreateRole("dave", {});
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_TRUE(r.ok()) << r.error().message;
}

}  // namespace
}  // namespace bgw::storage
