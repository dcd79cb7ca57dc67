// The per-database catalogue: creation and migration (version 0 files,
// their C functions and objects), records and OIDs, renames and drops, and
// what DROP ROLE is told.
#include "sql/catalogue.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "storage/catalog.h"

namespace bgw::sql::catalogue {
namespace {

class CatalogueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::temp_directory_path() /
             ("bgw_catalogue_test_" + std::to_string(getpid()) + ".db"))
                .string();
    std::filesystem::remove(path_);
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db_), SQLITE_OK);
  }
  void TearDown() override {
    sqlite3_close(db_);
    std::filesystem::remove(path_);
  }
  void Exec(const char* sql) {
    char* err = nullptr;
    ASSERT_EQ(sqlite3_exec(db_, sql, nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
  }
  int64_t Int(const char* sql) {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql, -1, &st, nullptr), SQLITE_OK);
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return v;
  }

  std::string path_;
  sqlite3* db_ = nullptr;
};

TEST_F(CatalogueTest, OidsAreNeverReused) {
  ASSERT_TRUE(Ensure(db_, 10).ok());
  Relation a;
  a.name = "a";
  a.owner = 10;
  ASSERT_TRUE(PutRelation(db_, a).ok());
  const uint32_t first = Load(db_)->FindRelation("a")->oid;
  ASSERT_TRUE(DeleteRelation(db_, "a").ok());
  ASSERT_TRUE(PutRelation(db_, a).ok());
  const uint32_t second = Load(db_)->FindRelation("a")->oid;
  EXPECT_GT(second, first) << "a dropped object's OID was handed out again";
  Extension e;
  e.name = "x";
  e.version = "1";
  ASSERT_TRUE(PutExtension(db_, e).ok());
  Result<std::vector<Extension>> all = Extensions(db_);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_GT((*all)[0].oid, second);
}

TEST_F(CatalogueTest, AVersionZeroFileIsMigratedOnce) {
  // What an older server left: objects, and C functions in bgw_c_functions.
  Exec(
      "CREATE TABLE t(a); CREATE INDEX ti ON t(a); CREATE VIEW v AS SELECT a FROM t;"
      "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END;"
      "CREATE VIRTUAL TABLE f USING fts5(x);"
      "CREATE TABLE bgw_c_functions(name TEXT NOT NULL, nargs INTEGER NOT NULL, arg_types TEXT "
      "NOT NULL, return_type INTEGER NOT NULL, library TEXT NOT NULL, symbol TEXT NOT NULL, "
      "strict INTEGER NOT NULL, PRIMARY KEY(name, nargs));"
      "INSERT INTO bgw_c_functions VALUES ('add_one', 1, '23', 23, 'lib', 'add_one', 1)");
  Result<Snapshot> before = Load(db_);
  ASSERT_TRUE(before.ok());
  EXPECT_TRUE(before->relations().empty());  // no catalogue yet
  ASSERT_TRUE(Ensure(db_, 77).ok());
  EXPECT_EQ(Int("PRAGMA user_version"), kFormatVersion);
  EXPECT_EQ(Int("SELECT count(*) FROM sqlite_master WHERE name = 'bgw_c_functions'"), 0);
  Result<Snapshot> snap = Load(db_);
  ASSERT_TRUE(snap.ok());
  const Relation* t = snap->FindRelation("T");  // SQLite's names ignore case
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->kind, RelKind::kTable);
  EXPECT_EQ(t->owner, 77u);
  EXPECT_GE(t->oid, storage::kFirstNormalOid);
  EXPECT_EQ(snap->FindRelation(t->oid), t);
  EXPECT_EQ(snap->FindRelation("ti")->parent, "t");
  EXPECT_EQ(snap->FindRelation("tr")->kind, RelKind::kTrigger);
  EXPECT_EQ(snap->FindRelation("v")->kind, RelKind::kView);
  EXPECT_EQ(snap->FindRelation("f")->kind, RelKind::kVirtual);
  EXPECT_EQ(snap->FindRelation("f_data")->kind, RelKind::kShadow);
  EXPECT_EQ(snap->FindRelation("f_data")->parent, "f");
  ASSERT_EQ(snap->functions().size(), 1u);
  EXPECT_EQ(snap->functions()[0].owner, storage::kBootstrapSuperuserOid);
  const Namespace* ns = snap->FindNamespace("public");
  ASSERT_NE(ns, nullptr);
  EXPECT_EQ(ns->owner, storage::kPgDatabaseOwnerOid);
  ASSERT_TRUE(ns->acl.has_value());
  EXPECT_EQ(acl::Encode(*ns->acl), "6171=UC/6171,0=U/6171");
  // A second Ensure has nothing to do and changes nothing.
  const int64_t rows = Int("SELECT count(*) FROM bgw_catalog_class");
  ASSERT_TRUE(Ensure(db_, 99).ok());
  EXPECT_EQ(Int("SELECT count(*) FROM bgw_catalog_class"), rows);
  EXPECT_EQ(Load(db_)->FindRelation("t")->owner, 77u);
}

TEST_F(CatalogueTest, ANewerFormatIsRefused) {
  Exec("PRAGMA user_version = 99");
  Status s = Ensure(db_, 10);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("newer"), std::string::npos);
}

TEST_F(CatalogueTest, RecordsKeepTheirOidAcrossChangesAndFollowRenames) {
  ASSERT_TRUE(Ensure(db_, 10).ok());
  Relation r{"emp", 0, RelKind::kTable, 20, std::nullopt, ""};
  ASSERT_TRUE(PutRelation(db_, r).ok());
  ASSERT_TRUE(
      PutRelation(db_, Relation{"emp_i", 0, RelKind::kIndex, 20, std::nullopt, "emp"}).ok());
  const uint32_t oid = Load(db_)->FindRelation("emp")->oid;
  Relation changed = *Load(db_)->FindRelation("emp");
  acl::Acl a = acl::DefaultAcl(acl::ObjectKind::kTable, 20);
  acl::Grant(&a, 30, 20, acl::kSelect, false);
  changed.acl = a;
  ASSERT_TRUE(PutRelation(db_, changed).ok());
  ASSERT_TRUE(PutColumnAcl(db_, "emp", "salary", a).ok());
  ASSERT_TRUE(RenameRelation(db_, "emp", "staff").ok());
  ASSERT_TRUE(RenameColumn(db_, "staff", "salary", "pay").ok());
  Result<Snapshot> snap = Load(db_);
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->FindRelation("emp"), nullptr);
  ASSERT_NE(snap->FindRelation("staff"), nullptr);
  EXPECT_EQ(snap->FindRelation("staff")->oid, oid);
  EXPECT_EQ(snap->FindRelation("emp_i")->parent, "staff");
  EXPECT_NE(snap->ColumnAcl("STAFF", "pay"), nullptr);
  EXPECT_EQ(snap->ColumnAcl("staff", "salary"), nullptr);
  Result<std::vector<std::string>> refs = References(db_, 30);
  ASSERT_TRUE(refs.ok());
  EXPECT_EQ(*refs, (std::vector<std::string>{"privileges for table staff",
                                             "privileges for column pay of table staff"}));
  ASSERT_TRUE(SetChildrenOwner(db_, "staff", 40).ok());
  EXPECT_EQ(Load(db_)->FindRelation("emp_i")->owner, 40u);
  ASSERT_TRUE(PruneColumnAcls(db_, "staff", {"id"}).ok());
  EXPECT_EQ(Load(db_)->ColumnAcl("staff", "pay"), nullptr);
  ASSERT_TRUE(DeleteRelation(db_, "staff").ok());
  snap = Load(db_);
  EXPECT_EQ(snap->FindRelation("staff"), nullptr);
  EXPECT_EQ(snap->FindRelation("emp_i"), nullptr);  // its children go with it
  EXPECT_TRUE(References(db_, 30)->empty());
  EXPECT_TRUE(ReferencesInFile("/nonexistent/x.db", 30).ok() == false);
}

}  // namespace
}  // namespace bgw::sql::catalogue
