// Tests of port.h: signal handlers, sleeping, sockets, string and path
// helpers, random bytes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <signal.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>

#include "postgres/port.h"
#include "postgres/postgres.h"

namespace {

volatile sig_atomic_t alarms = 0;
void HandlerA(int) {}
void HandlerB(int) {}
void CountAlarm(int) { alarms = alarms + 1; }

TEST(CompatPort, PqsignalReturnsThePreviousHandler) {
  const pqsigfunc original = pqsignal(SIGUSR2, HandlerA);
  ASSERT_NE(original, SIG_ERR);
  EXPECT_EQ(pqsignal(SIGUSR2, HandlerB), HandlerA);
  struct sigaction current;
  ASSERT_EQ(sigaction(SIGUSR2, nullptr, &current), 0);
  EXPECT_NE(current.sa_flags & SA_RESTART, 0);
  EXPECT_EQ(current.sa_handler, HandlerB);
  EXPECT_EQ(pqsignal(SIGUSR2, SIG_IGN), HandlerB);
  EXPECT_EQ(pqsignal(SIGUSR2, SIG_DFL), SIG_IGN);
  EXPECT_EQ(pqsignal(SIGUSR2, original), SIG_DFL);
  EXPECT_EQ(pqsignal(-1, HandlerA), SIG_ERR);
}

TEST(CompatPort, PgUsleepSleepsAndASignalEndsItEarly) {
  using Clock = std::chrono::steady_clock;
  auto start = Clock::now();
  pg_usleep(20000L);
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(20));
  pg_usleep(0);
  pg_usleep(-5);

  const pqsigfunc previous = pqsignal(SIGALRM, CountAlarm);
  alarms = 0;
  struct itimerval timer = {};
  timer.it_value.tv_usec = 50000;  // 50 ms
  ASSERT_EQ(setitimer(ITIMER_REAL, &timer, nullptr), 0);
  start = Clock::now();
  pg_usleep(5000000L);  // 5 s, cut short by the alarm
  const auto slept = Clock::now() - start;
  pqsignal(SIGALRM, previous);
  EXPECT_EQ(alarms, 1);
  EXPECT_LT(slept, std::chrono::seconds(4));
}

TEST(CompatPort, BlockingModeOfSockets) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  EXPECT_TRUE(pg_set_noblock(fds[0]));
  EXPECT_NE(fcntl(fds[0], F_GETFL) & O_NONBLOCK, 0);
  EXPECT_TRUE(pg_set_block(fds[0]));
  EXPECT_EQ(fcntl(fds[0], F_GETFL) & O_NONBLOCK, 0);
  close(fds[0]);
  close(fds[1]);
  EXPECT_FALSE(pg_set_noblock(fds[0]));
}

TEST(CompatPort, StrlcpyAndStrlcat) {
  char buf[8];
  EXPECT_EQ(strlcpy(buf, "hello world", sizeof buf), 11u);
  EXPECT_STREQ(buf, "hello w");
  EXPECT_EQ(strlcpy(buf, "hi", sizeof buf), 2u);
  EXPECT_EQ(strlcat(buf, " there", sizeof buf), 8u);
  EXPECT_STREQ(buf, "hi ther");
  EXPECT_EQ(strlcpy(buf, "x", 0), 1u);
}

TEST(CompatPort, CaseInsensitiveComparison) {
  EXPECT_EQ(pg_strcasecmp("Hello", "hELLO"), 0);
  EXPECT_LT(pg_strcasecmp("abc", "ABD"), 0);
  EXPECT_GT(pg_strcasecmp("abcd", "ABC"), 0);
  EXPECT_EQ(pg_strncasecmp("ABCx", "abcy", 3), 0);
  EXPECT_NE(pg_strncasecmp("ABCx", "abcy", 4), 0);
  EXPECT_EQ(pg_toupper('a'), 'A');
  EXPECT_EQ(pg_tolower('Z'), 'z');
  EXPECT_EQ(pg_ascii_toupper('1'), '1');
  EXPECT_EQ(pg_ascii_tolower('Q'), 'q');
}

TEST(CompatPort, Paths) {
  EXPECT_TRUE(is_absolute_path("/a"));
  EXPECT_FALSE(is_absolute_path("a/b"));
  const char* p = "dir/sub/file";
  EXPECT_EQ(first_dir_separator(p), p + 3);
  EXPECT_EQ(last_dir_separator(p), p + 7);
  EXPECT_EQ(last_dir_separator("file"), nullptr);

  char path[MAXPGPATH];
  join_path_components(path, "/data", "base");
  EXPECT_STREQ(path, "/data/base");
  join_path_components(path, "", "base");
  EXPECT_STREQ(path, "base");
  join_path_components(path, path, "x");  // in place
  EXPECT_STREQ(path, "base/x");

  struct Case {
    const char* in;
    const char* out;
  };
  for (Case c : {Case{"/a//b/./c/", "/a/b/c"}, Case{"/a/b/../c", "/a/c"}, Case{"/..", "/"},
                 Case{"/", "/"}, Case{"a/..", "."}, Case{"../x/../..", "../.."},
                 Case{"./a/./", "a"}, Case{"a/b/c/../../d", "a/d"}}) {
    strlcpy(path, c.in, sizeof path);
    canonicalize_path(path);
    EXPECT_STREQ(path, c.out) << c.in;
  }

  strlcpy(path, "/a/b/c", sizeof path);
  get_parent_directory(path);
  EXPECT_STREQ(path, "/a/b");
  strlcpy(path, "/a", sizeof path);
  get_parent_directory(path);
  EXPECT_STREQ(path, "/");
  EXPECT_TRUE(path_contains_parent_reference("a/../b"));
  EXPECT_FALSE(path_contains_parent_reference("a/..b"));
  EXPECT_TRUE(path_is_prefix_of_path("/a", "/a/b"));
  EXPECT_FALSE(path_is_prefix_of_path("/a", "/ab"));
}

TEST(CompatPort, StrerrorNeverFails) {
  EXPECT_STREQ(pg_strerror(ENOENT), "No such file or directory");
  char buf[PG_STRERROR_R_BUFLEN];
  EXPECT_STREQ(pg_strerror_r(EACCES, buf, sizeof buf), "Permission denied");
  EXPECT_NE(std::string(pg_strerror(123456)), "");
}

TEST(CompatPort, UserName) {
  char name[256];
  ASSERT_TRUE(pg_get_user_name(getuid(), name, sizeof name)) << name;
  struct passwd* pw = getpwuid(getuid());
  ASSERT_NE(pw, nullptr);
  EXPECT_STREQ(name, pw->pw_name);
  char home[MAXPGPATH];
  EXPECT_TRUE(pg_get_user_home_dir(getuid(), home, sizeof home));
  EXPECT_FALSE(pg_get_user_name(static_cast<uid_t>(-7), name, sizeof name));
  EXPECT_NE(std::string(name).find("could not look up local user ID"), std::string::npos);
}

TEST(CompatPort, StrongRandom) {
  unsigned char a[32] = {};
  unsigned char b[32] = {};
  pg_strong_random_init();
  ASSERT_TRUE(pg_strong_random(a, sizeof a));
  ASSERT_TRUE(pg_strong_random(b, sizeof b));
  EXPECT_NE(memcmp(a, b, sizeof a), 0);
  EXPECT_TRUE(pg_strong_random(a, 0));
}

}  // namespace
