// Tests of the never-as-root check with made-up user IDs: the test process
// runs unprivileged, yet root and set-user-ID combinations must be refused
// with the message the CLI prints. tests/test_cli.py checks the commands
// themselves under a user namespace that maps the test user to root.
#include "cli/privilege.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

namespace bgw::cli {
namespace {

bool Contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

TEST(PrivilegeTest, AcceptsOneUnprivilegedUser) {
  EXPECT_TRUE(CheckUnprivileged({1000, 1000, 1000}, "init").ok());
  EXPECT_TRUE(CheckUnprivileged({1, 1, 1}, "run").ok());
}

TEST(PrivilegeTest, RefusesEffectiveRootWhateverTheOtherIds) {
  for (UserIds ids :
       {UserIds{0, 0, 0}, UserIds{1000, 0, 0}, UserIds{1000, 0, 1000}, UserIds{0, 0, 1000}}) {
    SCOPED_TRACE(testing::Message() << ids.real << "/" << ids.effective << "/" << ids.saved);
    Status s = CheckUnprivileged(ids, "start");
    ASSERT_FALSE(s.ok());
    EXPECT_TRUE(Contains(s.message(), "refusing to run \"bgw start\" as root\n")) << s.message();
    EXPECT_TRUE(Contains(s.message(), "must run under an unprivileged user ID")) << s.message();
    EXPECT_TRUE(Contains(s.message(), "\nHINT:  ")) << s.message();
    EXPECT_TRUE(Contains(s.message(), "runuser -u bgw -- bgw start -D DATADIR")) << s.message();
  }
}

// Root as the real or saved ID can be switched back to; so can another
// user's, which would make the server act for two users.
TEST(PrivilegeTest, RefusesDifferingIds) {
  for (UserIds ids : {UserIds{0, 1000, 1000}, UserIds{1000, 1000, 0}, UserIds{1001, 1000, 1000},
                      UserIds{1000, 1000, 1001}}) {
    SCOPED_TRACE(testing::Message() << ids.real << "/" << ids.effective << "/" << ids.saved);
    Status s = CheckUnprivileged(ids, "run");
    ASSERT_FALSE(s.ok());
    EXPECT_TRUE(Contains(s.message(), "refusing to run \"bgw run\" with differing user IDs (real " +
                                          std::to_string(ids.real) + ", effective " +
                                          std::to_string(ids.effective) + ", saved " +
                                          std::to_string(ids.saved) + ")\n"))
        << s.message();
    EXPECT_TRUE(Contains(s.message(), "set-user-ID")) << s.message();
  }
}

TEST(PrivilegeTest, CurrentUserIdsAreThisProcesss) {
  UserIds ids = CurrentUserIds();
  EXPECT_EQ(ids.real, getuid());
  EXPECT_EQ(ids.effective, geteuid());
  // The tests never run set-user-ID, so all three agree.
  EXPECT_EQ(ids.saved, ids.effective);
}

}  // namespace
}  // namespace bgw::cli
