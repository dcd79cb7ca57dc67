// Tests of the server log: level names and PostgreSQL's ranking (LOG above
// ERROR), the line prefix escapes, the destinations (stderr, file, the skip
// when stderr is the file, the fallback when neither is usable), one write(2)
// per message, and turning a Status into message fields.
#include "common/log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "common/status.h"

namespace bgw::log {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Points fd 2 at `fd` until destroyed (or Restore()), then puts stderr back.
class StderrRedirect {
 public:
  explicit StderrRedirect(int fd) : saved_(dup(2)) {
    fflush(stderr);
    dup2(fd, 2);
  }
  ~StderrRedirect() { Restore(); }
  void Restore() {
    if (saved_ < 0) return;
    fflush(stderr);
    dup2(saved_, 2);
    close(saved_);
    saved_ = -1;
  }

 private:
  int saved_;
};

// Captures everything written to fd 2 into an unlinked temporary file.
class StderrCapture {
 public:
  StderrCapture() : fd_(MakeTemp()), redirect_(fd_) {}
  ~StderrCapture() {
    redirect_.Restore();
    close(fd_);
  }
  std::string Text() {
    std::string out;
    char buf[4096];
    off_t off = 0;
    ssize_t n;
    while ((n = pread(fd_, buf, sizeof buf, off)) > 0) {
      out.append(buf, static_cast<size_t>(n));
      off += n;
    }
    return out;
  }

 private:
  static int MakeTemp() {
    char name[] = "/tmp/bgw_log_test_stderr_XXXXXX";
    int fd = mkostemp(name, O_CLOEXEC);
    unlink(name);
    return fd;
  }
  int fd_;
  StderrRedirect redirect_;
};

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_ = CurrentOptions();
    char tmpl[] = "/tmp/bgw_log_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    SetProcessKind("postmaster");
    SetSessionInfo("", "", "");
  }
  void TearDown() override {
    Configure(saved_);
    SetProcessKind("postmaster");
    SetSessionInfo("", "", "");
    std::string cmd = "rm -rf '" + dir_ + "'";
    EXPECT_EQ(system(cmd.c_str()), 0);
  }

  // Options writing only to `file` with a bare prefix.
  Options FileOnly(const std::string& file, Level min_level = Level::kWarning) {
    Options o;
    o.min_level = min_level;
    o.line_prefix = "";
    o.to_stderr = false;
    o.file_path = file;
    return o;
  }

  Options saved_;
  std::string dir_;
};

TEST_F(LogTest, LevelNamesRoundTripCaseInsensitively) {
  const Level all[] = {Level::kDebug5,  Level::kDebug4, Level::kDebug3, Level::kDebug2,
                       Level::kDebug1,  Level::kLog,    Level::kInfo,   Level::kNotice,
                       Level::kWarning, Level::kError,  Level::kFatal,  Level::kPanic};
  const char* names[] = {"DEBUG5", "DEBUG4", "DEBUG3",  "DEBUG2", "DEBUG1", "LOG",
                         "INFO",   "NOTICE", "WARNING", "ERROR",  "FATAL",  "PANIC"};
  for (size_t i = 0; i < std::size(all); i++) {
    EXPECT_STREQ(LevelName(all[i]), names[i]);
    Level parsed = Level::kPanic;
    std::string lower = names[i];
    for (char& c : lower) c = static_cast<char>(tolower(c));
    ASSERT_TRUE(ParseLevel(lower, &parsed)) << lower;
    EXPECT_EQ(parsed, all[i]);
    ASSERT_TRUE(ParseLevel(names[i], &parsed));
    EXPECT_EQ(parsed, all[i]);
  }
  // PostgreSQL's numeric values, which the C headers reuse.
  EXPECT_EQ(static_cast<int>(Level::kDebug5), 10);
  EXPECT_EQ(static_cast<int>(Level::kLog), 15);
  EXPECT_EQ(static_cast<int>(Level::kError), 21);
  EXPECT_EQ(static_cast<int>(Level::kPanic), 23);
}

TEST_F(LogTest, ParseLevelRejectsUnknownNamesAndLeavesOutputAlone) {
  for (const char* bad : {"", "debug", "debug6", "warn", "LOG ", " log", "errors", "fatal\n"}) {
    Level out = Level::kNotice;
    EXPECT_FALSE(ParseLevel(bad, &out)) << '"' << bad << '"';
    EXPECT_EQ(out, Level::kNotice) << '"' << bad << '"';
  }
}

// PostgreSQL's is_log_level_output(): LOG ranks between ERROR and FATAL.
TEST_F(LogTest, ServerLogRanksLogBetweenErrorAndFatal) {
  struct Case {
    Level min;
    Level level;
    bool emitted;
  };
  const Case cases[] = {
      {Level::kWarning, Level::kNotice, false}, {Level::kWarning, Level::kWarning, true},
      {Level::kWarning, Level::kLog, true},     {Level::kWarning, Level::kError, true},
      {Level::kError, Level::kWarning, false},  {Level::kError, Level::kError, true},
      {Level::kError, Level::kLog, true},       {Level::kLog, Level::kError, false},
      {Level::kLog, Level::kWarning, false},    {Level::kLog, Level::kLog, true},
      {Level::kLog, Level::kFatal, true},       {Level::kFatal, Level::kLog, false},
      {Level::kFatal, Level::kFatal, true},     {Level::kPanic, Level::kFatal, false},
      {Level::kPanic, Level::kPanic, true},     {Level::kDebug5, Level::kDebug5, true},
      {Level::kDebug1, Level::kDebug2, false},  {Level::kInfo, Level::kLog, true},
      {Level::kNotice, Level::kInfo, false},
  };
  for (const Case& c : cases) {
    Options o = CurrentOptions();
    o.min_level = c.min;
    Configure(o);
    EXPECT_EQ(ShouldEmit(c.level), c.emitted)
        << "min " << LevelName(c.min) << ", level " << LevelName(c.level);
  }
}

TEST_F(LogTest, FilteredMessagesAreNotWritten) {
  std::string file = dir_ + "/server.log";
  Configure(FileOnly(file, Level::kLog));
  Log(Level::kError, "an error");      // below LOG in the server log
  Log(Level::kWarning, "a warning");   // below too
  Log(Level::kLog, "a log line");      // emitted
  Log(Level::kFatal, "a fatal line");  // emitted
  EXPECT_EQ(ReadFile(file), "LOG:  a log line\nFATAL:  a fatal line\n");
}

TEST_F(LogTest, PrefixExpandsEveryEscape) {
  std::string file = dir_ + "/server.log";
  Options o = FileOnly(file);
  o.line_prefix = "<%p|%b|%u|%d|%a|%%|%q> ";
  Configure(o);
  SetProcessKind("my worker");
  SetSessionInfo("alice", "db1", "psql");
  Log(Level::kWarning, "hello");
  EXPECT_EQ(ReadFile(file),
            "<" + std::to_string(getpid()) + "|my worker|alice|db1|psql|%|> WARNING:  hello\n");
}

TEST_F(LogTest, SessionFieldsAreEmptyWhenUnknown) {
  std::string file = dir_ + "/server.log";
  Options o = FileOnly(file);
  o.line_prefix = "[%u@%d %a] ";
  Configure(o);
  Log(Level::kWarning, "x");
  EXPECT_EQ(ReadFile(file), "[@ ] WARNING:  x\n");
}

TEST_F(LogTest, TimestampEscapesHaveTheirFormats) {
  std::string file = dir_ + "/server.log";
  Options o = FileOnly(file);
  o.line_prefix = "%m|%t|";
  Configure(o);
  Log(Level::kWarning, "t");
  std::string text = ReadFile(file);
  std::regex re(
      R"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3} \S+\|\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \S+\|WARNING:  t\n)");
  EXPECT_TRUE(std::regex_match(text, re)) << text;
}

TEST_F(LogTest, PidEscapeIsReadPerLineAfterFork) {
  std::string file = dir_ + "/server.log";
  Options o = FileOnly(file);
  o.line_prefix = "%p ";
  Configure(o);
  fflush(nullptr);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    AfterFork();
    Log(Level::kWarning, "from child");
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  Log(Level::kWarning, "from parent");
  EXPECT_EQ(ReadFile(file), std::to_string(pid) + " WARNING:  from child\n" +
                                std::to_string(getpid()) + " WARNING:  from parent\n");
}

TEST_F(LogTest, DetailHintContextEachGetAPrefixedLine) {
  std::string file = dir_ + "/server.log";
  Options o = FileOnly(file);
  o.line_prefix = "P ";
  Configure(o);
  Message m;
  m.level = Level::kError;
  m.text = "main";
  m.detail = "the detail";
  m.hint = "the hint";
  m.context = "the context";
  m.sqlstate = "XX000";
  Emit(m);
  EXPECT_EQ(ReadFile(file),
            "P ERROR:  main\nP DETAIL:  the detail\nP HINT:  the hint\nP CONTEXT:  the context\n");
}

// Every message, with all of its lines, reaches a destination in one
// write(2): a datagram socket as stderr keeps the boundaries of each write.
TEST_F(LogTest, WholeMessageIsOneWrite) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
  Options o;
  o.min_level = Level::kWarning;
  o.line_prefix = "%p %b ";
  o.to_stderr = true;
  Configure(o);
  Message m;
  m.level = Level::kWarning;
  m.text = std::string(300, 'w');  // longer than StringPrintf's stack buffer
  m.detail = "d";
  m.hint = "h";
  m.context = "c";
  {
    StderrRedirect redirect(sv[0]);
    Emit(m);
    Log(Level::kWarning, "second %s", "message");
  }
  std::string prefix = std::to_string(getpid()) + " postmaster ";
  std::vector<char> buf(65536);
  ssize_t n = recv(sv[1], buf.data(), buf.size(), MSG_DONTWAIT);
  ASSERT_GT(n, 0) << strerror(errno);
  EXPECT_EQ(std::string(buf.data(), static_cast<size_t>(n)),
            prefix + "WARNING:  " + m.text + "\n" + prefix + "DETAIL:  d\n" + prefix +
                "HINT:  h\n" + prefix + "CONTEXT:  c\n");
  n = recv(sv[1], buf.data(), buf.size(), MSG_DONTWAIT);
  ASSERT_GT(n, 0) << strerror(errno);
  EXPECT_EQ(std::string(buf.data(), static_cast<size_t>(n)), prefix + "WARNING:  second message\n");
  EXPECT_LT(recv(sv[1], buf.data(), buf.size(), MSG_DONTWAIT), 0);
  close(sv[0]);
  close(sv[1]);
}

TEST_F(LogTest, StderrAndFileBothGetTheLine) {
  std::string file = dir_ + "/server.log";
  Options o = FileOnly(file);
  o.to_stderr = true;
  StderrCapture capture;
  Configure(o);
  Log(Level::kWarning, "both");
  EXPECT_EQ(capture.Text(), "WARNING:  both\n");
  EXPECT_EQ(ReadFile(file), "WARNING:  both\n");
}

TEST_F(LogTest, FileOnlyLeavesStderrAlone) {
  std::string file = dir_ + "/server.log";
  StderrCapture capture;
  Configure(FileOnly(file));
  Log(Level::kWarning, "file only");
  EXPECT_EQ(capture.Text(), "");
  EXPECT_EQ(ReadFile(file), "WARNING:  file only\n");
}

TEST_F(LogTest, FileIsCreatedPrivateAndAppendedTo) {
  std::string file = dir_ + "/server.log";
  {
    std::ofstream pre(file);
    pre << "existing\n";
  }
  chmod(file.c_str(), 0600);
  Configure(FileOnly(file));
  Log(Level::kWarning, "appended");
  EXPECT_EQ(ReadFile(file), "existing\nWARNING:  appended\n");

  std::string fresh = dir_ + "/fresh.log";
  Configure(FileOnly(fresh));
  Log(Level::kWarning, "x");
  struct stat st;
  ASSERT_EQ(stat(fresh.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077, 0u) << std::oct << (st.st_mode & 0777);
}

// bgw start points stderr at the log file: each line must land there once.
TEST_F(LogTest, StderrThatIsTheLogFileIsWrittenOnce) {
  std::string file = dir_ + "/server.log";
  int fd = open(file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  {
    StderrRedirect redirect(fd);
    Options o = FileOnly(file);
    o.to_stderr = true;
    Configure(o);
    Log(Level::kWarning, "once");
    Configure(saved_);  // while stderr is still the file
  }
  close(fd);
  EXPECT_EQ(ReadFile(file), "WARNING:  once\n");
}

TEST_F(LogTest, UnopenableFileIsReportedAndDropped) {
  std::string file = dir_ + "/no/such/dir/server.log";
  StderrCapture capture;
  Options o = FileOnly(file);
  o.to_stderr = true;
  Configure(o);
  EXPECT_EQ(CurrentOptions().file_path, "");
  std::string text = capture.Text();
  EXPECT_NE(text.find("could not open log file \"" + file + "\": No such file or directory\n"),
            std::string::npos)
      << text;
  Log(Level::kWarning, "still logged");
  EXPECT_NE(capture.Text().find("WARNING:  still logged\n"), std::string::npos);
}

// With stderr switched off and no file, stderr is the last resort.
TEST_F(LogTest, NoUsableDestinationFallsBackToStderr) {
  StderrCapture capture;
  Configure(FileOnly(dir_ + "/missing/x.log"));
  Log(Level::kWarning, "last resort");
  EXPECT_NE(capture.Text().find("WARNING:  last resort\n"), std::string::npos) << capture.Text();
}

TEST_F(LogTest, EmitPreservesErrno) {
  std::string file = dir_ + "/server.log";
  Configure(FileOnly(file));
  errno = EACCES;
  Log(Level::kWarning, "keeps errno");
  EXPECT_EQ(errno, EACCES);
  errno = ENOSPC;
  Log(Level::kDebug5, "filtered");
  EXPECT_EQ(errno, ENOSPC);
}

TEST_F(LogTest, ReconfiguringKeepsTheFileOpenAndAppliesNewOptions) {
  std::string file = dir_ + "/server.log";
  Configure(FileOnly(file));
  Log(Level::kWarning, "one");
  Options o = FileOnly(file, Level::kDebug1);
  o.line_prefix = "> ";
  Configure(o);
  Log(Level::kDebug1, "two");
  EXPECT_EQ(CurrentOptions().line_prefix, "> ");
  EXPECT_EQ(ReadFile(file), "WARNING:  one\n> DEBUG1:  two\n");
}

TEST_F(LogTest, LongFormattedMessagesAreComplete) {
  std::string file = dir_ + "/server.log";
  Configure(FileOnly(file));
  std::string big(10000, 'b');
  Log(Level::kWarning, "[%s]", big.c_str());
  EXPECT_EQ(ReadFile(file), "WARNING:  [" + big + "]\n");
}

TEST_F(LogTest, MessageFromStatusCopiesTheFields) {
  Message m = MessageFromStatus(
      Level::kFatal, MakeError("F0001", "lock file exists", "It is ours.", "Remove it."));
  EXPECT_EQ(m.level, Level::kFatal);
  EXPECT_EQ(m.text, "lock file exists");
  EXPECT_EQ(m.detail, "It is ours.");
  EXPECT_EQ(m.hint, "Remove it.");
  EXPECT_EQ(m.context, "");
}

TEST_F(LogTest, MessageFromStatusNeverParsesTheText) {
  // A message that merely looks like it has DETAIL/HINT lines stays text.
  Message m = MessageFromStatus(Level::kLog, Status::Error("first\nHINT: h\nDETAIL: d"));
  EXPECT_EQ(m.text, "first\nHINT: h\nDETAIL: d");
  EXPECT_EQ(m.hint, "");
  EXPECT_EQ(m.detail, "");
  m = MessageFromStatus(Level::kLog, Status::Ok());
  EXPECT_EQ(m.text, "");
  EXPECT_EQ(m.detail, "");
}

TEST_F(LogTest, EmitStatusWritesTheFields) {
  std::string file = dir_ + "/server.log";
  Configure(FileOnly(file));
  EmitStatus(Level::kWarning, Status::FromErrno("could not open file \"x\"", ENOENT));
  EmitStatus(Level::kWarning, MakeError("XX000", "bad thing", {}, "Fix it."));
  EmitStatus(Level::kNotice, Status::Error("filtered out"));
  EXPECT_EQ(ReadFile(file),
            "WARNING:  could not open file \"x\": No such file or directory\n"
            "WARNING:  bad thing\nHINT:  Fix it.\n");
}

}  // namespace
}  // namespace bgw::log
