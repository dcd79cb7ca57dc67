// utils/hsearch.h in local memory: PostgreSQL's actions (FIND, ENTER,
// ENTER_NULL, REMOVE), string/blob/custom keys, entries that never move
// while the table grows, sequential scans that may remove what they
// return, hash_update_hash_key, freezing and the refusals.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "compat/compat_testing.h"
// After gtest: c.h's Max/Min macros would break its headers.
#include "postgres/utils/hsearch.h"
#include "postgres/utils/memutils.h"

namespace {

using bgw::compat::testing::CatchError;
using bgw::compat::testing::CaughtError;

struct IntEntry {
  int key;
  int value;
};

struct NameEntry {
  char name[16];
  long count;
};

HTAB* IntTable(const char* name) {
  HASHCTL ctl;
  memset(&ctl, 0, sizeof(ctl));
  ctl.keysize = sizeof(int);
  ctl.entrysize = sizeof(IntEntry);
  return hash_create(name, 4, &ctl, HASH_ELEM | HASH_BLOBS);
}

TEST(DynahashTest, EnterFindRemoveAndEntriesStayPut) {
  HTAB* t = IntTable("ints");
  std::vector<IntEntry*> first(10);
  for (int i = 0; i < 1000; i++) {
    bool found = true;
    auto* e = static_cast<IntEntry*>(hash_search(t, &i, HASH_ENTER, &found));
    ASSERT_NE(e, nullptr);
    EXPECT_FALSE(found);
    EXPECT_EQ(e->key, i);  // the key is copied in
    e->value = i * 2;
    if (i < 10) first[static_cast<size_t>(i)] = e;
  }
  EXPECT_EQ(hash_get_num_entries(t), 1000);
  // Growing never moved an entry.
  for (int i = 0; i < 10; i++) {
    bool found = false;
    EXPECT_EQ(hash_search(t, &i, HASH_FIND, &found), first[static_cast<size_t>(i)]);
    EXPECT_TRUE(found);
  }
  int k = 500;
  bool found = false;
  auto* again = static_cast<IntEntry*>(hash_search(t, &k, HASH_ENTER, &found));
  EXPECT_TRUE(found);
  EXPECT_EQ(again->value, 1000);
  auto* removed = static_cast<IntEntry*>(hash_search(t, &k, HASH_REMOVE, &found));
  EXPECT_TRUE(found);
  EXPECT_EQ(removed, again);  // valid until the next insertion
  EXPECT_EQ(removed->value, 1000);
  EXPECT_EQ(hash_search(t, &k, HASH_FIND, &found), nullptr);
  EXPECT_FALSE(found);
  EXPECT_EQ(hash_search(t, &k, HASH_REMOVE, nullptr), nullptr);
  EXPECT_EQ(hash_get_num_entries(t), 999);
  hash_destroy(t);
}

TEST(DynahashTest, StringKeysAreBoundedByKeysize) {
  HASHCTL ctl;
  memset(&ctl, 0, sizeof(ctl));
  ctl.keysize = sizeof(NameEntry::name);
  ctl.entrysize = sizeof(NameEntry);
  HTAB* t = hash_create("names", 8, &ctl, HASH_ELEM | HASH_STRINGS);
  char key[64] = "a-rather-long-name-beyond-the-key";
  bool found;
  auto* e = static_cast<NameEntry*>(hash_search(t, key, HASH_ENTER, &found));
  EXPECT_FALSE(found);
  EXPECT_EQ(std::string(e->name), std::string(key, 15));  // truncated, terminated
  // Keys equal in their first keysize - 1 bytes are the same key.
  key[20] = 'X';
  EXPECT_EQ(hash_search(t, key, HASH_FIND, &found), e);
  EXPECT_TRUE(found);
  EXPECT_EQ(hash_search(t, "other", HASH_FIND, &found), nullptr);
  hash_destroy(t);
}

uint32 ModHash(const void* key, Size) {
  return static_cast<uint32>(*static_cast<const int*>(key) % 3);
}

TEST(DynahashTest, CustomHashAndCollisions) {
  HASHCTL ctl;
  memset(&ctl, 0, sizeof(ctl));
  ctl.keysize = sizeof(int);
  ctl.entrysize = sizeof(IntEntry);
  ctl.hash = ModHash;  // three hash values for everything: long chains
  HTAB* t = hash_create("mod", 4, &ctl, HASH_ELEM | HASH_FUNCTION);
  for (int i = 0; i < 200; i++) {
    auto* e = static_cast<IntEntry*>(hash_search(t, &i, HASH_ENTER, nullptr));
    e->value = -i;
  }
  for (int i = 0; i < 200; i++) {
    auto* e = static_cast<IntEntry*>(hash_search(t, &i, HASH_FIND, nullptr));
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->value, -i);
  }
  EXPECT_EQ(get_hash_value(t, &ctl.keysize), ModHash(&ctl.keysize, 0));
  hash_destroy(t);
}

TEST(DynahashTest, ScansSeeEveryEntryAndMayRemoveIt) {
  HTAB* t = IntTable("scan");
  for (int i = 0; i < 300; i++) hash_search(t, &i, HASH_ENTER, nullptr);
  HASH_SEQ_STATUS status;
  hash_seq_init(&status, t);
  std::set<int> seen;
  while (auto* e = static_cast<IntEntry*>(hash_seq_search(&status))) {
    seen.insert(e->key);
    if (e->key % 2 == 0) hash_search(t, &e->key, HASH_REMOVE, nullptr);
  }
  EXPECT_EQ(seen.size(), 300u);
  EXPECT_EQ(hash_get_num_entries(t), 150);
  EXPECT_EQ(hash_seq_search(&status), nullptr);  // ended stays ended
  // An abandoned scan is ended with hash_seq_term; inserting then grows again.
  hash_seq_init(&status, t);
  ASSERT_NE(hash_seq_search(&status), nullptr);
  hash_seq_term(&status);
  for (int i = 1000; i < 2000; i++) hash_search(t, &i, HASH_ENTER, nullptr);
  EXPECT_EQ(hash_get_num_entries(t), 1150);
  hash_destroy(t);
}

TEST(DynahashTest, UpdateKeyFreezeAndRefusals) {
  HTAB* t = IntTable("update");
  int a = 1, b = 2, c = 3;
  auto* ea = static_cast<IntEntry*>(hash_search(t, &a, HASH_ENTER, nullptr));
  hash_search(t, &b, HASH_ENTER, nullptr);
  EXPECT_FALSE(hash_update_hash_key(t, ea, &b));  // taken
  EXPECT_TRUE(hash_update_hash_key(t, ea, &c));
  EXPECT_EQ(ea->key, 3);
  EXPECT_EQ(hash_search(t, &c, HASH_FIND, nullptr), ea);
  EXPECT_EQ(hash_search(t, &a, HASH_FIND, nullptr), nullptr);
  hash_freeze(t);
  int d = 4;
  CaughtError e = CatchError([&] { hash_search(t, &d, HASH_ENTER, nullptr); });
  EXPECT_TRUE(e.raised);
  EXPECT_NE(e.message.find("frozen"), std::string::npos) << e.message;
  hash_destroy(t);

  HASHCTL ctl;
  memset(&ctl, 0, sizeof(ctl));
  ctl.keysize = sizeof(int);
  ctl.entrysize = sizeof(IntEntry);
  e = CatchError([&] { hash_create("nohash", 4, &ctl, HASH_ELEM); });
  EXPECT_TRUE(e.raised);
  EXPECT_EQ(e.sqlstate, "22023");
  e = CatchError([&] { hash_create("noelem", 4, &ctl, HASH_BLOBS); });
  EXPECT_TRUE(e.raised);
}

TEST(DynahashTest, LivesInTheGivenContext) {
  MemoryContext cxt = AllocSetContextCreate(TopMemoryContext, "owner", ALLOCSET_DEFAULT_SIZES);
  HASHCTL ctl;
  memset(&ctl, 0, sizeof(ctl));
  ctl.keysize = sizeof(int);
  ctl.entrysize = sizeof(IntEntry);
  ctl.hcxt = cxt;
  HTAB* t = hash_create("ctx", 4, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
  for (int i = 0; i < 100; i++) hash_search(t, &i, HASH_ENTER, nullptr);
  MemoryContextDelete(cxt);  // takes the table with it
  EXPECT_GT(hash_estimate_size(100, sizeof(IntEntry)), 100 * sizeof(IntEntry));
}

}  // namespace
