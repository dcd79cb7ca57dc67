#include "common/status.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace bgw {
namespace {

TEST(StatusTest, OkIsEmptyAndCheap) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.sqlstate(), "");
  EXPECT_EQ(s.sys_errno(), 0);
  EXPECT_EQ(s.ToString(), "");
  EXPECT_EQ(sizeof(Status), sizeof(void*));
}

TEST(StatusTest, CarriesEveryFieldWhereItWasMade) {
  Status s = MakeError("42P01", "relation \"t\" does not exist", "d", "h");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().severity, "ERROR");
  EXPECT_EQ(s.sqlstate(), "42P01");
  EXPECT_EQ(s.detail(), "d");
  EXPECT_EQ(s.hint(), "h");
  EXPECT_EQ(s.ToString(), "relation \"t\" does not exist\nDETAIL:  d\nHINT:  h");
  // Copies are deep: changing one leaves the other alone.
  Status copy = s;
  copy.error().hint = "other";
  EXPECT_EQ(s.hint(), "h");
  Status moved = std::move(copy);
  EXPECT_EQ(moved.hint(), "other");
}

TEST(StatusTest, FromErrnoMapsTheCodeInOnePlace) {
  Status s = Status::FromErrno("could not open file \"x\"", ENOENT);
  EXPECT_EQ(s.message(), "could not open file \"x\": No such file or directory");
  EXPECT_EQ(s.sqlstate(), "58P01");
  EXPECT_EQ(s.sys_errno(), ENOENT);
  EXPECT_EQ(Status::FromErrno("x", EACCES).sqlstate(), "42501");
  EXPECT_EQ(Status::FromErrno("x", ENOSPC).sqlstate(), "53100");
  EXPECT_EQ(Status::FromErrno("x", EPIPE, ErrnoSource::kSocket).sqlstate(), "08006");
  EXPECT_EQ(Status::FromErrno("x", EPIPE).sqlstate(), "XX000");
}

TEST(StatusTest, ResultHoldsAValueOrTheStatus) {
  Result<int> r = 7;
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 7);
  EXPECT_TRUE(r.status().ok());
  Result<int> e = MakeError("22012", "division by zero");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().sqlstate, "22012");
  EXPECT_EQ(e.status().message(), "division by zero");
}

}  // namespace
}  // namespace bgw
