// Tests of utils/guc.h: C modules' settings on top of the settings
// registry, with PostgreSQL's hook contracts and error codes.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "compat/compat_testing.h"
#include "guc/guc.h"
#include "guc/guc_c.h"
#include "postgres/miscadmin.h"
#include "postgres/postgres.h"
#include "postgres/utils/guc.h"

namespace {

using bgw::compat::testing::CatchError;
using bgw::compat::testing::CaughtError;
using bgw::compat::testing::RunInChild;

// Module state, as a C module would have it.
int naptime = 0;
int assigned_naptime = -1;
int assigned_extra = -1;
std::vector<GucSource>* sources = nullptr;
int check_calls = 0;

bool CheckEvenNaptime(int* newval, void** extra, GucSource source) {
  check_calls++;
  if (sources != nullptr) sources->push_back(source);
  if (*newval % 2 != 0) {
    GUC_check_errdetail("naptime must be even, got %d.", *newval);
    GUC_check_errhint("Try %d.", *newval + 1);
    return false;
  }
  if (*newval == 50) {
    GUC_check_errcode(ERRCODE_FEATURE_NOT_SUPPORTED);
    GUC_check_errmsg("fifty is not supported");
    return false;
  }
  if (*newval == 62) elog(ERROR, "check hook exploded");
  auto* doubled = static_cast<int*>(malloc(sizeof(int)));
  *doubled = *newval * 2;
  *extra = doubled;
  return true;
}

void AssignNaptime(int newval, void* extra) {
  assigned_naptime = newval;
  assigned_extra = extra != nullptr ? *static_cast<int*>(extra) : -1;
}

const char* ShowNaptime(void) { return "shown by hook"; }

void DefineNaptime() {
  DefineCustomIntVariable("compat_test.naptime", "Sleep between rounds.", "Long description.",
                          &naptime, 10, 1, 100, PGC_SIGHUP, GUC_UNIT_S, CheckEvenNaptime,
                          AssignNaptime, ShowNaptime);
}

class CompatGucTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bgw::guc::ResetForTesting();
    bgw::guc::SetReportSinkForTesting(
        [this](const bgw::log::Message& m) { reports_.push_back(m); });
    naptime = 0;
    assigned_naptime = -1;
    assigned_extra = -1;
    check_calls = 0;
  }
  void TearDown() override {
    bgw::guc::ResetForTesting();
    bgw::guc::SetReportSinkForTesting({});
    EXPECT_EQ(PG_exception_stack, nullptr);
    EXPECT_EQ(CurrentMemoryContext, TopMemoryContext);
  }
  std::vector<bgw::log::Message> reports_;
};

TEST_F(CompatGucTest, DefineSetsBootValueAndRunsHooks) {
  std::vector<GucSource> seen;
  sources = &seen;
  DefineNaptime();
  sources = nullptr;
  EXPECT_EQ(naptime, 10);
  EXPECT_EQ(assigned_naptime, 10);
  EXPECT_EQ(assigned_extra, 20);  // the check hook's extra reached the assign hook
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen[0], PGC_S_DEFAULT);
  EXPECT_TRUE(bgw::guc::IsDefined("compat_test.naptime"));
}

TEST_F(CompatGucTest, CheckHookRejectsWithDetailThroughTheRegistry) {
  DefineNaptime();
  bgw::Status st = bgw::guc::SetOption("compat_test.naptime", "7", bgw::guc::Context::kSighup,
                                       bgw::guc::Source::kFile);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("invalid value for parameter \"compat_test.naptime\": 7"),
            std::string::npos)
      << st.message();
  EXPECT_NE(st.detail().find("naptime must be even, got 7."), std::string::npos) << st.detail();
  EXPECT_EQ(st.hint(), "Try 8.");
  EXPECT_EQ(naptime, 10);

  st = bgw::guc::SetOption("compat_test.naptime", "8", bgw::guc::Context::kSighup,
                           bgw::guc::Source::kFile);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(naptime, 8);
  EXPECT_EQ(assigned_naptime, 8);
  EXPECT_EQ(assigned_extra, 16);
}

TEST_F(CompatGucTest, ResetRecomputesTheExtraForTheRestoredValue) {
  DefineNaptime();
  SetConfigOption("compat_test.naptime", "8", PGC_SIGHUP, PGC_S_SESSION);
  EXPECT_EQ(assigned_extra, 16);
  SetConfigOption("compat_test.naptime", nullptr, PGC_SIGHUP, PGC_S_SESSION);  // RESET
  EXPECT_EQ(naptime, 10);
  EXPECT_EQ(assigned_naptime, 10);
  EXPECT_EQ(assigned_extra, 20);
}

TEST_F(CompatGucTest, SetConfigOptionRaisesErrorWithDetailHintAndCode) {
  DefineNaptime();
  std::vector<GucSource> seen;
  sources = &seen;
  CaughtError e =
      CatchError([] { SetConfigOption("compat_test.naptime", "9", PGC_USERSET, PGC_S_SESSION); });
  sources = nullptr;
  ASSERT_TRUE(e.raised);
  EXPECT_EQ(e.sqlerrcode, ERRCODE_CANT_CHANGE_RUNTIME_PARAM);  // a SIGHUP setting
  EXPECT_TRUE(seen.empty());

  sources = &seen;
  e = CatchError([] { SetConfigOption("compat_test.naptime", "9", PGC_SIGHUP, PGC_S_SESSION); });
  sources = nullptr;
  ASSERT_TRUE(e.raised);
  EXPECT_EQ(e.sqlerrcode, ERRCODE_INVALID_PARAMETER_VALUE);
  EXPECT_EQ(e.message, "invalid value for parameter \"compat_test.naptime\": 9");
  EXPECT_EQ(e.detail, "naptime must be even, got 9.");
  EXPECT_EQ(e.hint, "Try 10.");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], PGC_S_SESSION);

  e = CatchError([] { SetConfigOption("compat_test.naptime", "50", PGC_SIGHUP, PGC_S_SESSION); });
  EXPECT_EQ(e.sqlerrcode, ERRCODE_FEATURE_NOT_SUPPORTED);
  EXPECT_EQ(e.detail, "fifty is not supported");

  e = CatchError([] { SetConfigOption("compat_test.naptime", "62", PGC_SIGHUP, PGC_S_SESSION); });
  EXPECT_TRUE(e.raised);
  EXPECT_EQ(e.detail, "check hook exploded");

  e = CatchError([] { SetConfigOption("compat_test.naptime", "1000", PGC_SIGHUP, PGC_S_SESSION); });
  EXPECT_TRUE(e.raised);
  EXPECT_EQ(e.sqlerrcode, ERRCODE_INVALID_PARAMETER_VALUE);

  e = CatchError([] { SetConfigOption("compat_test.nope", "1", PGC_SIGHUP, PGC_S_SESSION); });
  EXPECT_FALSE(e.raised);  // an unknown dotted name is a placeholder

  e = CatchError([] { SetConfigOption("no_such_setting", "1", PGC_SIGHUP, PGC_S_SESSION); });
  EXPECT_EQ(e.sqlerrcode, ERRCODE_UNDEFINED_OBJECT);
  EXPECT_EQ(naptime, 10);
}

TEST_F(CompatGucTest, SetConfigOptionFromFileOnlyLogs) {
  DefineNaptime();
  CaughtError e =
      CatchError([] { SetConfigOption("compat_test.naptime", "9", PGC_SIGHUP, PGC_S_FILE); });
  EXPECT_FALSE(e.raised);
  EXPECT_EQ(naptime, 10);
}

TEST_F(CompatGucTest, ScopedCheckSourceReachesHooks) {
  DefineNaptime();
  std::vector<GucSource> seen;
  sources = &seen;
  {
    bgw::compat::ScopedGucCheckSource scope(PGC_S_CLIENT);
    ASSERT_TRUE(bgw::guc::SetOption("compat_test.naptime", "4", bgw::guc::Context::kSighup,
                                    bgw::guc::Source::kClient)
                    .ok());
  }
  sources = nullptr;
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], PGC_S_CLIENT);
}

TEST_F(CompatGucTest, DefinitionErrors) {
  DefineNaptime();
  CaughtError e = CatchError([] {
    static int x;
    DefineCustomIntVariable("nodot", "x", nullptr, &x, 1, 0, 2, PGC_USERSET, 0, nullptr, nullptr,
                            nullptr);
  });
  EXPECT_EQ(e.sqlerrcode, ERRCODE_INVALID_NAME);
  EXPECT_EQ(e.message, "invalid configuration parameter name \"nodot\"");

  e = CatchError([] { DefineNaptime(); });
  EXPECT_TRUE(e.raised);
  EXPECT_NE(e.message.find("attempt to redefine parameter"), std::string::npos) << e.message;

  e = CatchError([] {
    static int x;
    DefineCustomIntVariable("compat_test.range", "x", nullptr, &x, 5, 0, 2, PGC_USERSET, 0, nullptr,
                            nullptr, nullptr);
  });
  EXPECT_TRUE(e.raised);

  e = CatchError([] {
    static int x;
    DefineCustomIntVariable("compat_test.odd_boot", "x", nullptr, &x, 3, 0, 10, PGC_USERSET, 0,
                            CheckEvenNaptime, nullptr, nullptr);
  });
  EXPECT_TRUE(e.raised);
  EXPECT_FALSE(bgw::guc::IsDefined("compat_test.odd_boot"));
}

TEST_F(CompatGucTest, PostmasterSettingsOnlyWhilePreloading) {
  int status = RunInChild([] {
    static int x;
    DefineCustomIntVariable("compat_test.pm", "x", nullptr, &x, 1, 0, 2, PGC_POSTMASTER, 0, nullptr,
                            nullptr, nullptr);
  });
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1);  // FATAL

  static int pm = 0;
  process_shared_preload_libraries_in_progress = true;
  CaughtError e = CatchError([] {
    DefineCustomIntVariable("compat_test.pm", "x", nullptr, &pm, 1, 0, 2, PGC_POSTMASTER, 0,
                            nullptr, nullptr, nullptr);
  });
  process_shared_preload_libraries_in_progress = false;
  EXPECT_FALSE(e.raised);
  EXPECT_EQ(pm, 1);
}

TEST_F(CompatGucTest, MarkPrefixReservedWarnsAboutPlaceholders) {
  ASSERT_TRUE(bgw::guc::SetOption("compat_test.typo", "1", bgw::guc::Context::kSighup,
                                  bgw::guc::Source::kFile)
                  .ok());
  DefineNaptime();
  MarkGUCPrefixReserved("compat_test");
  bool warned = false;
  for (const bgw::log::Message& m : reports_) {
    if (m.level == bgw::log::Level::kWarning &&
        m.text == "invalid configuration parameter name \"compat_test.typo\", removing it") {
      warned = true;
      EXPECT_EQ(m.detail, "\"compat_test\" is now a reserved prefix.");
    }
  }
  EXPECT_TRUE(warned);
  CaughtError e =
      CatchError([] { SetConfigOption("compat_test.other", "1", PGC_SIGHUP, PGC_S_SESSION); });
  EXPECT_TRUE(e.raised);
  EXPECT_EQ(e.sqlerrcode, ERRCODE_INVALID_NAME);

  // The PostgreSQL <= 14 spelling does the same.
  reports_.clear();
  ASSERT_TRUE(bgw::guc::SetOption("compat_old.typo", "1", bgw::guc::Context::kSighup,
                                  bgw::guc::Source::kFile)
                  .ok());
  EmitWarningsOnPlaceholders("compat_old");
  ASSERT_EQ(reports_.size(), 1u);
  EXPECT_EQ(reports_[0].level, bgw::log::Level::kWarning);
}

TEST_F(CompatGucTest, PlaceholderValueAppliesOnDefinition) {
  ASSERT_TRUE(bgw::guc::SetOption("compat_test.naptime", "42", bgw::guc::Context::kSighup,
                                  bgw::guc::Source::kFile)
                  .ok());
  DefineNaptime();
  EXPECT_EQ(naptime, 42);
  EXPECT_EQ(assigned_extra, 84);
}

TEST_F(CompatGucTest, ReadingValues) {
  DefineNaptime();
  SetConfigOption("compat_test.naptime", "1min", PGC_SIGHUP, PGC_S_OVERRIDE);
  EXPECT_EQ(naptime, 60);
  EXPECT_STREQ(GetConfigOption("compat_test.naptime", false, false), "60");
  EXPECT_STREQ(GetConfigOption("COMPAT_TEST.NAPTIME", false, false), "60");
  EXPECT_EQ(GetConfigOption("compat_test.missing_entirely", true, false), nullptr);
  EXPECT_EQ(GetConfigOption("missing_entirely", true, false), nullptr);
  CaughtError e = CatchError([] { GetConfigOption("missing_entirely", false, false); });
  EXPECT_EQ(e.sqlerrcode, ERRCODE_UNDEFINED_OBJECT);
  EXPECT_EQ(e.message, "unrecognized configuration parameter \"missing_entirely\"");

  EXPECT_STREQ(GetConfigOptionResetString("compat_test.naptime"), "60");  // OVERRIDE resets too

  const char* varname = nullptr;
  char* shown = GetConfigOptionByName("Compat_Test.Naptime", &varname, false);
  EXPECT_STREQ(shown, "shown by hook");
  EXPECT_STREQ(varname, "compat_test.naptime");
  pfree(shown);
  EXPECT_EQ(GetConfigOptionByName("missing_entirely", &varname, true), nullptr);
  EXPECT_EQ(GetConfigOptionFlags("compat_test.naptime", false) & GUC_UNIT, GUC_UNIT_S);
}

char* database = nullptr;
char* assigned_database = nullptr;

bool UppercaseDatabase(char** newval, void** extra, GucSource) {
  (void)extra;
  if (strcmp(*newval, "bad") == 0) {
    GUC_check_errmsg("\"%s\" is not allowed", *newval);
    return false;
  }
  char* upper = strdup(*newval);
  for (char* p = upper; *p != '\0'; p++) *p = static_cast<char>(toupper(*p));
  free(*newval);
  *newval = upper;
  return true;
}

void AssignDatabase(const char* newval, void*) {
  free(assigned_database);
  assigned_database = newval != nullptr ? strdup(newval) : nullptr;
}

TEST_F(CompatGucTest, StringSettingsWithReplacingCheckHook) {
  DefineCustomStringVariable("compat_test.database", "Database.", nullptr, &database, "postgres",
                             PGC_USERSET, 0, UppercaseDatabase, AssignDatabase, nullptr);
  EXPECT_STREQ(database, "POSTGRES");
  EXPECT_STREQ(assigned_database, "POSTGRES");
  SetConfigOption("compat_test.database", "mydb", PGC_USERSET, PGC_S_SESSION);
  EXPECT_STREQ(database, "MYDB");
  EXPECT_STREQ(GetConfigOption("compat_test.database", false, false), "MYDB");
  CaughtError e = CatchError(
      [] { SetConfigOption("compat_test.database", "bad", PGC_USERSET, PGC_S_SESSION); });
  EXPECT_EQ(e.detail, "\"bad\" is not allowed");
  EXPECT_STREQ(database, "MYDB");
  free(assigned_database);
  assigned_database = nullptr;
}

bool flag = false;
double ratio = 0;
int mode = 0;
const struct config_enum_entry kModes[] = {
    {"off", 0, false}, {"on", 1, false}, {"auto", 2, true}, {nullptr, 0, false}};

TEST_F(CompatGucTest, BoolRealAndEnumSettings) {
  DefineCustomBoolVariable("compat_test.flag", "Flag.", nullptr, &flag, true, PGC_USERSET, 0,
                           nullptr, nullptr, nullptr);
  DefineCustomRealVariable("compat_test.ratio", "Ratio.", nullptr, &ratio, 0.5, 0.0, 1.0,
                           PGC_USERSET, 0, nullptr, nullptr, nullptr);
  DefineCustomEnumVariable("compat_test.mode", "Mode.", nullptr, &mode, 1, kModes, PGC_USERSET, 0,
                           nullptr, nullptr, nullptr);
  EXPECT_TRUE(flag);
  EXPECT_EQ(ratio, 0.5);
  EXPECT_EQ(mode, 1);
  SetConfigOption("compat_test.flag", "off", PGC_USERSET, PGC_S_SESSION);
  SetConfigOption("compat_test.ratio", "0.25", PGC_USERSET, PGC_S_SESSION);
  SetConfigOption("compat_test.mode", "auto", PGC_USERSET, PGC_S_SESSION);
  EXPECT_FALSE(flag);
  EXPECT_EQ(ratio, 0.25);
  EXPECT_EQ(mode, 2);
  EXPECT_STREQ(GetConfigOption("compat_test.flag", false, false), "off");
  EXPECT_STREQ(GetConfigOption("compat_test.mode", false, false), "auto");
  CaughtError e =
      CatchError([] { SetConfigOption("compat_test.ratio", "2", PGC_USERSET, PGC_S_SESSION); });
  EXPECT_TRUE(e.raised);
  EXPECT_EQ(ratio, 0.25);
  e = CatchError(
      [] { SetConfigOption("compat_test.mode", "sideways", PGC_USERSET, PGC_S_SESSION); });
  EXPECT_TRUE(e.raised);
  EXPECT_NE(e.hint.find("Available values: off, on."), std::string::npos) << e.hint;
}

TEST_F(CompatGucTest, ProcessConfigFileRereadsConfigFileName) {
  DefineNaptime();
  char path[] = "/tmp/compat_guc_test.XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << "compat_test.naptime = 12\n";
  ConfigFileName = path;
  ProcessConfigFile(PGC_SIGHUP);
  EXPECT_EQ(naptime, 12);
  EXPECT_EQ(assigned_extra, 24);

  std::ofstream(path) << "compat_test.naptime = 13\n";  // rejected by the check hook
  ProcessConfigFile(PGC_SIGHUP);                        // logged, not raised
  EXPECT_EQ(naptime, 12);
  ConfigFileName = nullptr;
  unlink(path);
}

}  // namespace
