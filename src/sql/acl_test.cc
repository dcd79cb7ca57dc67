// ACLs: PostgreSQL's defaults, text forms, GRANT/REVOKE arithmetic with
// grant options and CASCADE, and masks through role membership.
#include "sql/acl.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace bgw::sql::acl {
namespace {

std::string Names(uint32_t oid) {
  static const std::map<uint32_t, std::string> kNames = {
      {10, "admin"}, {20, "alice"}, {30, "bob"}, {40, "Carol Q"}};
  auto it = kNames.find(oid);
  return it == kNames.end() ? std::to_string(oid) : it->second;
}

TEST(AclTest, DefaultsArePostgresqls) {
  EXPECT_EQ(Format(DefaultAcl(ObjectKind::kTable, 10), Names), "{admin=arwdDxt/admin}");
  EXPECT_EQ(Format(DefaultAcl(ObjectKind::kDatabase, 10), Names), "{=Tc/admin,admin=CTc/admin}");
  EXPECT_EQ(Format(DefaultAcl(ObjectKind::kFunction, 10), Names), "{=X/admin,admin=X/admin}");
  EXPECT_EQ(Format(DefaultAcl(ObjectKind::kSchema, 10), Names), "{admin=UC/admin}");
  EXPECT_TRUE(DefaultAcl(ObjectKind::kColumn, 10).empty());
}

TEST(AclTest, StorageFormRoundTripsAndRejectsDamage) {
  Acl a = DefaultAcl(ObjectKind::kTable, 10);
  Grant(&a, 20, 10, kSelect | kUpdate, true);
  Grant(&a, kPublic, 10, kSelect, false);
  const std::string stored = Encode(a);
  EXPECT_EQ(stored, "10=arwdDxt/10,20=r*w*/10,0=r/10");
  std::optional<Acl> back = Decode(stored);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, a);
  EXPECT_EQ(Decode(""), Acl{});
  for (const char* bad : {"10", "x=r/10", "10=q/10", "10=r/", "10=*r/10", "=r/10", "10=r/10,,"}) {
    EXPECT_FALSE(Decode(bad).has_value()) << bad;
  }
}

TEST(AclTest, DisplayQuotesNamesAndElementsLikeArrayOut) {
  Acl a;
  Grant(&a, 40, 10, kSelect, false);
  Grant(&a, 99, 10, kInsert, false);  // a dropped role shows as its OID
  EXPECT_EQ(Format(a, Names), "{\"\\\"Carol Q\\\"=r/admin\",99=a/admin}");
  EXPECT_EQ(Letters(kSelect | kInsert | kTruncate, kSelect), "ar*D");
  EXPECT_EQ(FromName("temp"), kTemporary);
  EXPECT_EQ(FromName("Select"), kSelect);
  EXPECT_EQ(FromName("all"), 0u);
  EXPECT_STREQ(Name(kReferences), "REFERENCES");
  EXPECT_EQ(Letter(kConnect), 'c');
}

TEST(AclTest, GrantMergesAndRevokeRemovesOnlyTheGrantorsItems) {
  Acl a;
  Grant(&a, 20, 10, kSelect, false);
  Grant(&a, 20, 10, kInsert, false);
  Grant(&a, 20, 30, kSelect, false);  // another grantor: its own item
  EXPECT_EQ(Encode(a), "20=ar/10,20=r/30");
  ASSERT_TRUE(Revoke(&a, 20, 10, kSelect | kInsert, false, false));
  EXPECT_EQ(Encode(a), "20=r/30");  // bob's grant stays, as in PostgreSQL
  ASSERT_TRUE(Revoke(&a, 20, 30, kSelect, false, false));
  EXPECT_TRUE(a.empty());
}

TEST(AclTest, RevokingAGrantOptionNeedsCascadeForWhatWasPassedOn) {
  Acl a = DefaultAcl(ObjectKind::kTable, 10);
  Grant(&a, 20, 10, kSelect, true);   // alice may pass SELECT on
  Grant(&a, 30, 20, kSelect, true);   // she gives it to bob, with the option
  Grant(&a, 40, 30, kSelect, false);  // he gives it to Carol
  Acl restrict = a;
  EXPECT_FALSE(Revoke(&restrict, 20, 10, kSelect, true, false));
  EXPECT_EQ(restrict, a);  // nothing changed
  ASSERT_TRUE(Revoke(&a, 20, 10, kSelect, true, true));
  EXPECT_EQ(Encode(a), "10=arwdDxt/10,20=r/10");  // alice keeps SELECT, not the option
}

TEST(AclTest, ReplaceRoleMergesAndMentionsFindsBothSides) {
  Acl a = DefaultAcl(ObjectKind::kTable, 10);
  Grant(&a, 20, 10, kSelect, false);
  Grant(&a, 30, 20, kSelect, false);
  EXPECT_TRUE(Mentions(a, 30));
  EXPECT_FALSE(Mentions(a, 40));
  ReplaceRole(&a, 10, 20);  // ALTER ... OWNER TO alice
  EXPECT_EQ(Encode(a), "20=arwdDxt/20,30=r/20");
  RemoveGrantee(&a, 30);
  EXPECT_EQ(Encode(a), "20=arwdDxt/20");
}

TEST(AclTest, MasksFollowWhoHoldsAGrantee) {
  Acl a;
  Grant(&a, kPublic, 10, kSelect, false);
  Grant(&a, 30, 10, kUpdate, true);
  auto only_public = [](uint32_t g) { return g == kPublic; };
  auto bob = [](uint32_t g) { return g == kPublic || g == 30; };
  EXPECT_EQ(Mask(a, only_public), kSelect);
  EXPECT_EQ(Mask(a, bob), kSelect | kUpdate);
  EXPECT_EQ(GrantOptionMask(a, bob), kUpdate);
  EXPECT_EQ(GrantOptionMask(a, only_public), 0u);
}

}  // namespace
}  // namespace bgw::sql::acl
