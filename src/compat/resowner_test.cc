// utils/resowner.h: the owner tree, release phases reaching children first,
// callbacks registered and unregistered, deletion.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "compat/compat_testing.h"
// After gtest: c.h's Max/Min macros would break its headers.
#include "postgres/utils/resowner.h"

namespace {

std::vector<std::string>* seen = nullptr;

void Record(ResourceReleasePhase phase, bool isCommit, bool isTopLevel, void* arg) {
  seen->push_back(std::string(static_cast<const char*>(arg)) + ":" + std::to_string(phase) +
                  (isCommit ? "c" : "a") + (isTopLevel ? "t" : "s"));
}

TEST(ResourceOwnerTest, ReleaseRunsCallbacksPerOwnerAndPhase) {
  std::vector<std::string> log;
  seen = &log;
  ResourceOwner top = ResourceOwnerCreate(nullptr, "top");
  ResourceOwner child = ResourceOwnerCreate(top, "child");
  EXPECT_EQ(ResourceOwnerGetParent(child), top);
  EXPECT_EQ(ResourceOwnerGetParent(top), nullptr);
  static char tag[] = "cb";
  RegisterResourceReleaseCallback(Record, tag);
  ResourceOwnerRelease(top, RESOURCE_RELEASE_BEFORE_LOCKS, true, true);
  ResourceOwnerRelease(top, RESOURCE_RELEASE_AFTER_LOCKS, false, false);
  // Once for the child, once for the owner, at each phase.
  EXPECT_EQ(log, (std::vector<std::string>{"cb:0ct", "cb:0ct", "cb:2as", "cb:2as"}));
  UnregisterResourceReleaseCallback(Record, tag);
  log.clear();
  ResourceOwnerRelease(top, RESOURCE_RELEASE_LOCKS, true, true);
  EXPECT_TRUE(log.empty());
  ResourceOwner other = ResourceOwnerCreate(nullptr, "other");
  ResourceOwnerNewParent(child, other);
  EXPECT_EQ(ResourceOwnerGetParent(child), other);
  ResourceOwnerDelete(top);
  ResourceOwnerDelete(other);  // and its new child
  seen = nullptr;
}

TEST(ResourceOwnerTest, TheCurrentOwnerCannotBeDeleted) {
  ResourceOwner owner = ResourceOwnerCreate(nullptr, "current");
  CurrentResourceOwner = owner;
  bgw::compat::testing::CaughtError e =
      bgw::compat::testing::CatchError([&] { ResourceOwnerDelete(owner); });
  EXPECT_TRUE(e.raised);
  CurrentResourceOwner = nullptr;
  ResourceOwnerDelete(owner);
  CreateAuxProcessResourceOwner();
  EXPECT_EQ(CurrentResourceOwner, AuxProcessResourceOwner);
  ReleaseAuxProcessResources(true);
  CurrentResourceOwner = nullptr;
}

}  // namespace
