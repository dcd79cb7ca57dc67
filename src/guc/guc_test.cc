// Unit tests for the settings registry, the configuration file parser and
// the built-in settings: value parsing and its exact error texts, contexts and
// source priority, placeholders, includes, startup and reload semantics, and
// the sample bgw.conf round trip.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "guc/guc.h"
#include "guc/settings.h"

namespace bgw::guc {
namespace {

namespace fs = std::filesystem;

class GucTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ResetForTesting();
    SetReportSinkForTesting([this](const log::Message& m) { reports_.push_back(m); });
    char tmpl[] = "/tmp/guc_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    ResetForTesting();
    SetReportSinkForTesting({});
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Writes dir_/rel (creating directories) and returns its path.
  std::string Write(const std::string& rel, const std::string& text) {
    fs::path p = fs::path(dir_) / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }

  // True when some report's text contains `needle`.
  bool Reported(const std::string& needle) const {
    for (const log::Message& m : reports_) {
      if (m.text.find(needle) != std::string::npos) return true;
    }
    return false;
  }
  std::string AllReports() const {
    std::string out;
    for (const log::Message& m : reports_) out += m.text + "\n";
    return out;
  }

  std::string dir_;
  std::vector<log::Message> reports_;
};

// The message with its detail and hint, in the order and form the assertions
// below spell them.
std::string Message(const Status& s) {
  std::string text = s.message();
  if (!s.detail().empty()) text += "\nDETAIL: " + s.detail();
  if (!s.hint().empty()) text += "\nHINT: " + s.hint();
  return text;
}

// ---------------------------------------------------------------------------
// Values.

TEST_F(GucTest, BoolValues) {
  bool b = false;
  ASSERT_TRUE(DefineBool("b", "test", &b, false, Context::kUserset).ok());
  const std::pair<const char*, bool> good[] = {
      {"on", true},  {"off", false}, {"true", true}, {"false", false}, {"yes", true},
      {"no", false}, {"1", true},    {"0", false},   {"t", true},      {"f", false},
      {"y", true},   {"n", false},   {"TRUE", true}, {"Off", false},   {"of", false},
      {"tru", true}, {"fals", false}};
  for (const auto& [text, want] : good) {
    b = !want;
    ASSERT_TRUE(SetOption("b", text, Context::kUserset, Source::kSession).ok()) << text;
    EXPECT_EQ(b, want) << text;
  }
  for (const char* bad : {"o", "", "2", "truex", "onn", "offf", " on", "10"}) {
    Status s = SetOption("b", bad, Context::kUserset, Source::kSession);
    EXPECT_EQ(Message(s), "parameter \"b\" requires a Boolean value") << bad;
  }
  EXPECT_EQ(ShowValue("b"), "off");
}

// Each refusal carries its SQLSTATE from where it is made, so callers pass
// it through instead of reading the message.
TEST_F(GucTest, RefusalsCarryTheirSqlstate) {
  int n = 0, boot_only = 0, su = 0;
  ASSERT_TRUE(DefineInt("n", "test", &n, 1, 0, 100, Context::kUserset, 0).ok());
  ASSERT_TRUE(DefineInt("boot_only", "test", &boot_only, 1, 0, 100, Context::kPostmaster, 0).ok());
  ASSERT_TRUE(DefineInt("su", "test", &su, 1, 0, 100, Context::kSuset, 0).ok());
  EXPECT_EQ(SetOption("nosuch", "1", Context::kUserset, Source::kSession).sqlstate(), "42704");
  EXPECT_EQ(GetConfigOption("nosuch").status().sqlstate(), "42704");
  EXPECT_EQ(SetOption("bad name.x", "1", Context::kUserset, Source::kSession).sqlstate(), "42602");
  EXPECT_EQ(SetOption("n", "1000", Context::kUserset, Source::kSession).sqlstate(), "22023");
  EXPECT_EQ(SetOption("boot_only", "2", Context::kUserset, Source::kSession).sqlstate(), "55P02");
  EXPECT_EQ(SetOption("su", "2", Context::kUserset, Source::kSession).sqlstate(), "42501");
  EXPECT_EQ(DefineInt("n", "again", &n, 1, 0, 100, Context::kUserset, 0).sqlstate(), "XX000");
}

TEST_F(GucTest, ChangeCountMovesOnlyWhenAValueIsInstalled) {
  int n = 0;
  ASSERT_TRUE(DefineInt("n", "test", &n, 1, 0, 100, Context::kUserset, 0).ok());
  uint64_t before = ChangeCount();
  EXPECT_EQ(ShowValue("n"), "1");
  EXPECT_FALSE(SetOption("n", "1000", Context::kUserset, Source::kSession).ok());
  EXPECT_EQ(ChangeCount(), before);  // reads and refused values change nothing
  ASSERT_TRUE(SetOption("n", "5", Context::kUserset, Source::kSession).ok());
  uint64_t after_set = ChangeCount();
  EXPECT_GT(after_set, before);
  ASSERT_TRUE(ResetOption("n", Context::kUserset).ok());
  EXPECT_GT(ChangeCount(), after_set);
  EXPECT_EQ(n, 1);
}

TEST_F(GucTest, IntValuesAndUnits) {
  int plain = 0, mem = 0, ms = 0, sec = 0, blocks = 0;
  ASSERT_TRUE(DefineInt("plain", "", &plain, 0, -1000, 1000000, Context::kUserset).ok());
  ASSERT_TRUE(DefineInt("mem", "", &mem, 1024, 0, 1 << 30, Context::kUserset, kUnitKB).ok());
  ASSERT_TRUE(DefineInt("ms", "", &ms, 0, 0, 1 << 30, Context::kUserset, kUnitMs).ok());
  ASSERT_TRUE(DefineInt("sec", "", &sec, 0, 0, 1 << 30, Context::kUserset, kUnitS).ok());
  ASSERT_TRUE(DefineInt("blocks", "", &blocks, 0, 0, 1 << 30, Context::kUserset, kUnitBlocks).ok());

  struct Case {
    const char* name;
    const char* text;
    int want;
  } cases[] = {
      {"plain", "42", 42},     {"plain", "-1", -1},    {"plain", "0x10", 16},
      {"plain", "010", 8},     {"plain", "1.6", 2},    {"plain", "1e3", 1000},
      {"plain", " 7", 7},      {"mem", "64MB", 65536}, {"mem", "1GB", 1048576},
      {"mem", "512kB", 512},   {"mem", "2048B", 2},    {"mem", "1.5MB", 1536},
      {"mem", "64 MB", 65536}, {"mem", "100", 100},    {"mem", "1TB", 1 << 30},
      {"ms", "10s", 10000},    {"ms", "1min", 60000},  {"ms", "1500us", 2},
      {"ms", "1h", 3600000},   {"ms", "1d", 86400000}, {"ms", "250ms", 250},
      {"sec", "1.5min", 90},   {"sec", "2h", 7200},    {"sec", "1500ms", 2},
      {"blocks", "1MB", 128},  {"blocks", "8kB", 1},
  };
  for (const Case& c : cases) {
    ASSERT_TRUE(SetOption(c.name, c.text, Context::kUserset, Source::kSession).ok())
        << c.name << "=" << c.text;
    int got = std::string(c.name) == "plain" ? plain
              : std::string(c.name) == "mem" ? mem
              : std::string(c.name) == "ms"  ? ms
              : std::string(c.name) == "sec" ? sec
                                             : blocks;
    EXPECT_EQ(got, c.want) << c.name << "=" << c.text;
  }

  EXPECT_EQ(Message(SetOption("plain", "abc", Context::kUserset, Source::kSession)),
            "invalid value for parameter \"plain\": \"abc\"");
  EXPECT_EQ(Message(SetOption("plain", "10s", Context::kUserset, Source::kSession)),
            "invalid value for parameter \"plain\": \"10s\"");
  EXPECT_EQ(Message(SetOption("mem", "64mb", Context::kUserset, Source::kSession)),
            "invalid value for parameter \"mem\": \"64mb\"\n"
            "HINT: Valid units for this parameter are \"B\", \"kB\", \"MB\", \"GB\", and \"TB\".");
  EXPECT_EQ(Message(SetOption("ms", "10 sec", Context::kUserset, Source::kSession)),
            "invalid value for parameter \"ms\": \"10 sec\"\n"
            "HINT: Valid units for this parameter are \"us\", \"ms\", \"s\", \"min\", \"h\", and "
            "\"d\".");
  EXPECT_EQ(Message(SetOption("plain", "3000000000", Context::kUserset, Source::kSession)),
            "invalid value for parameter \"plain\": \"3000000000\"\n"
            "HINT: Value exceeds integer range.");
  EXPECT_EQ(Message(SetOption("plain", "1000001", Context::kUserset, Source::kSession)),
            "1000001 is outside the valid range for parameter \"plain\" (-1000 .. 1000000)");
  EXPECT_EQ(Message(SetOption("sec", "-1", Context::kUserset, Source::kSession)),
            "-1 s is outside the valid range for parameter \"sec\" (0 .. 1073741824)");
  EXPECT_EQ(Message(SetOption("mem", "2TB", Context::kUserset, Source::kSession)),
            "invalid value for parameter \"mem\": \"2TB\"\nHINT: Value exceeds integer range.");
  EXPECT_EQ(Message(SetOption("plain", "nan", Context::kUserset, Source::kSession)),
            "invalid value for parameter \"plain\": \"nan\"");
  // A failed set leaves the value alone.
  EXPECT_EQ(plain, 7);
}

TEST_F(GucTest, IntRangeMessagesNameTheUnit) {
  DefineBuiltinSettings();
  EXPECT_EQ(Message(SetOption("authentication_timeout", "0", Context::kSighup, Source::kFile)),
            "0 s is outside the valid range for parameter \"authentication_timeout\" (1 .. 600)");
  EXPECT_EQ(Message(SetOption("authentication_timeout", "11min", Context::kSighup, Source::kFile)),
            "660 s is outside the valid range for parameter \"authentication_timeout\" (1 .. 600)");
  EXPECT_EQ(Message(SetOption("port", "70000", Context::kPostmaster, Source::kFile)),
            "70000 is outside the valid range for parameter \"port\" (1 .. 65535)");
  EXPECT_EQ(Message(SetOption("PORT", "abc", Context::kPostmaster, Source::kFile)),
            "invalid value for parameter \"PORT\": \"abc\"");
}

TEST_F(GucTest, RealValues) {
  double r = 0, t = 0;
  ASSERT_TRUE(DefineReal("r", "", &r, 0.5, 0.0, 100.0, Context::kUserset).ok());
  ASSERT_TRUE(DefineReal("t", "", &t, 1.0, 0.0, 1e9, Context::kUserset, kUnitS).ok());
  ASSERT_TRUE(SetOption("r", "1.5e1", Context::kUserset, Source::kSession).ok());
  EXPECT_DOUBLE_EQ(r, 15.0);
  EXPECT_EQ(ShowValue("r"), "15");
  ASSERT_TRUE(SetOption("t", "1.5min", Context::kUserset, Source::kSession).ok());
  EXPECT_DOUBLE_EQ(t, 90.0);
  EXPECT_EQ(ShowValue("t"), "90s");
  ASSERT_TRUE(SetOption("t", "2h", Context::kUserset, Source::kSession).ok());
  EXPECT_EQ(ShowValue("t"), "2h");
  ASSERT_TRUE(SetOption("t", "250ms", Context::kUserset, Source::kSession).ok());
  EXPECT_EQ(ShowValue("t"), "250ms");
  EXPECT_EQ(Message(SetOption("r", "x", Context::kUserset, Source::kSession)),
            "invalid value for parameter \"r\": \"x\"");
  EXPECT_EQ(Message(SetOption("r", "100.5", Context::kUserset, Source::kSession)),
            "100.5 is outside the valid range for parameter \"r\" (0 .. 100)");
  EXPECT_EQ(Message(SetOption("t", "-2", Context::kUserset, Source::kSession)),
            "-2 s is outside the valid range for parameter \"t\" (0 .. 1e+09)");
  EXPECT_EQ(Message(SetOption("r", "NaN", Context::kUserset, Source::kSession)),
            "invalid value for parameter \"r\": \"NaN\"");
  EXPECT_EQ(Message(SetOption("t", "3 weeks", Context::kUserset, Source::kSession)),
            "invalid value for parameter \"t\": \"3 weeks\"\n"
            "HINT: Valid units for this parameter are \"us\", \"ms\", \"s\", \"min\", \"h\", and "
            "\"d\".");
}

TEST_F(GucTest, EnumValues) {
  DefineBuiltinSettings();
  ASSERT_TRUE(SetOption("log_min_messages", "DEBUG1", Context::kSuset, Source::kSession).ok());
  EXPECT_EQ(log_min_messages, static_cast<int>(log::Level::kDebug1));
  EXPECT_EQ(ShowValue("log_min_messages"), "debug1");
  // The hidden alias is accepted and shown by its visible name.
  ASSERT_TRUE(SetOption("log_min_messages", "debug", Context::kSuset, Source::kSession).ok());
  EXPECT_EQ(ShowValue("log_min_messages"), "debug2");
  EXPECT_EQ(Message(SetOption("log_min_messages", "loud", Context::kSuset, Source::kSession)),
            "invalid value for parameter \"log_min_messages\": \"loud\"\n"
            "HINT: Available values: debug5, debug4, debug3, debug2, debug1, info, notice, "
            "warning, error, log, fatal, panic.");
  EXPECT_EQ(Message(SetOption("log_min_messages", "log", Context::kUserset, Source::kSession)),
            "permission denied to set parameter \"log_min_messages\"");
}

TEST_F(GucTest, ShowFormatsLikePostgres) {
  int mem = 0, ms = 0, sec = 0, blocks = 0;
  bool b = true;
  // The registry owns the string and frees it in TearDown (ResetForTesting),
  // after this function returned: the storage must outlive the test body.
  static char* s;
  s = nullptr;
  ASSERT_TRUE(DefineInt("mem", "", &mem, 65536, -1, 1 << 30, Context::kUserset, kUnitKB).ok());
  ASSERT_TRUE(DefineInt("ms", "", &ms, 10000, -1, 1 << 30, Context::kUserset, kUnitMs).ok());
  ASSERT_TRUE(DefineInt("sec", "", &sec, 60, 0, 1 << 30, Context::kUserset, kUnitS).ok());
  ASSERT_TRUE(
      DefineInt("blocks", "", &blocks, 16384, 0, 1 << 30, Context::kUserset, kUnitBlocks).ok());
  ASSERT_TRUE(DefineBool("b", "", &b, true, Context::kUserset).ok());
  ASSERT_TRUE(DefineString("s", "", &s, "hello world", Context::kUserset).ok());
  EXPECT_EQ(ShowValue("mem"), "64MB");
  EXPECT_EQ(ShowValue("ms"), "10s");
  EXPECT_EQ(ShowValue("sec"), "1min");
  EXPECT_EQ(ShowValue("blocks"), "128MB");
  EXPECT_EQ(ShowValue("b"), "on");
  EXPECT_EQ(ShowValue("S"), "hello world");
  ASSERT_TRUE(SetOption("ms", "500", Context::kUserset, Source::kSession).ok());
  EXPECT_EQ(ShowValue("ms"), "500ms");
  ASSERT_TRUE(SetOption("ms", "90s", Context::kUserset, Source::kSession).ok());
  EXPECT_EQ(ShowValue("ms"), "90s");
  ASSERT_TRUE(SetOption("mem", "1000", Context::kUserset, Source::kSession).ok());
  EXPECT_EQ(ShowValue("mem"), "1000kB");
  ASSERT_TRUE(SetOption("mem", "-1", Context::kUserset, Source::kSession).ok());
  EXPECT_EQ(ShowValue("mem"), "-1");
  ASSERT_TRUE(SetOption("sec", "0", Context::kUserset, Source::kSession).ok());
  EXPECT_EQ(ShowValue("sec"), "0");
  ASSERT_TRUE(SetOption("blocks", "1", Context::kUserset, Source::kSession).ok());
  EXPECT_EQ(ShowValue("blocks"), "8kB");

  EXPECT_EQ(ShowValue("nonesuch"), "");
  Result<std::string> r = GetConfigOption("nonesuch");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "unrecognized configuration parameter \"nonesuch\"");
  ASSERT_TRUE(GetConfigOption("MEM").ok());
}

TEST_F(GucTest, StringsAreOwnedAndHooksRun) {
  static char* s;  // outlives the body: TearDown frees it (see above)
  s = nullptr;
  std::vector<std::string> assigned;
  ASSERT_TRUE(DefineString(
                  "s", "", &s, "boot", Context::kUserset, 0,
                  [](std::string& v, ErrorReport* why) {
                    if (v == "bad") {
                      why->detail = "Bad is bad.";
                      return false;
                    }
                    if (v == "upper") v = "UPPER";
                    return true;
                  },
                  [&](const char* v) { assigned.push_back(v != nullptr ? v : "(null)"); })
                  .ok());
  EXPECT_STREQ(s, "boot");
  ASSERT_TRUE(SetOption("s", "one", Context::kUserset, Source::kSession).ok());
  ASSERT_TRUE(SetOption("s", "upper", Context::kUserset, Source::kSession).ok());
  EXPECT_STREQ(s, "UPPER");
  EXPECT_EQ(Message(SetOption("s", "bad", Context::kUserset, Source::kSession)),
            "invalid value for parameter \"s\": \"bad\"\nDETAIL: Bad is bad.");
  EXPECT_STREQ(s, "UPPER");
  ASSERT_TRUE(ResetOption("s").ok());
  EXPECT_STREQ(s, "boot");
  EXPECT_EQ(assigned, (std::vector<std::string>{"boot", "one", "UPPER", "boot"}));

  static char* null_boot;                    // outlives the body (TearDown frees it)
  null_boot = reinterpret_cast<char*>(0x1);  // not owned: must be overwritten, not freed
  ASSERT_TRUE(DefineString("n", "", &null_boot, nullptr, Context::kUserset).ok());
  EXPECT_EQ(null_boot, nullptr);
  EXPECT_EQ(ShowValue("n"), "");
}

TEST_F(GucTest, LogDestinationCheck) {
  DefineBuiltinSettings();
  EXPECT_STREQ(log_destination, "stderr,file");
  ASSERT_TRUE(SetOption("log_destination", "STDERR", Context::kSighup, Source::kFile).ok());
  ASSERT_TRUE(
      SetOption("log_destination", " file , stderr ", Context::kSighup, Source::kFile).ok());
  ASSERT_TRUE(SetOption("log_destination", "", Context::kSighup, Source::kFile).ok());
  EXPECT_EQ(Message(SetOption("log_destination", "stderr,syslog", Context::kSighup, Source::kFile)),
            "invalid value for parameter \"log_destination\": \"stderr,syslog\"\n"
            "DETAIL: Unrecognized key word: \"syslog\".");
  EXPECT_EQ(Message(SetOption("log_destination", "stderr,,file", Context::kSighup, Source::kFile)),
            "invalid value for parameter \"log_destination\": \"stderr,,file\"\n"
            "DETAIL: List syntax is invalid.");
}

TEST_F(GucTest, DefinitionErrors) {
  int i = 0;
  bool b = false;
  ASSERT_TRUE(DefineInt("x", "", &i, 1, 0, 10, Context::kUserset).ok());
  EXPECT_EQ(Message(DefineBool("X", "", &b, false, Context::kUserset)),
            "attempt to redefine parameter \"X\"");
  EXPECT_FALSE(DefineInt("y", "", &i, 11, 0, 10, Context::kUserset).ok());
  EXPECT_FALSE(DefineInt("bad name", "", &i, 1, 0, 10, Context::kUserset).ok());
  EXPECT_FALSE(DefineInt("a..b", "", &i, 1, 0, 10, Context::kUserset).ok());
  EXPECT_FALSE(DefineInt("z", "", nullptr, 1, 0, 10, Context::kUserset).ok());
  const EnumOption opts[] = {{"a", 1, false}, {nullptr, 0, false}};
  EXPECT_FALSE(DefineEnum("e", "", &i, 2, opts, Context::kUserset).ok());
  Status s = DefineInt("c", "", &i, 5, 0, 10, Context::kUserset, 0,
                       [](int& v, ErrorReport*) { return v != 5; });
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(IsDefined("c"));
  EXPECT_TRUE(IsDefined("x"));
}

// ---------------------------------------------------------------------------
// Contexts and sources.

TEST_F(GucTest, ContextRules) {
  int pm = 0, hup = 0, internal = 0, su = 0;
  ASSERT_TRUE(DefineInt("pm", "", &pm, 1, 0, 100, Context::kPostmaster).ok());
  ASSERT_TRUE(DefineInt("hup", "", &hup, 1, 0, 100, Context::kSighup).ok());
  ASSERT_TRUE(DefineInt("internal", "", &internal, 1, 0, 100, Context::kInternal).ok());
  ASSERT_TRUE(DefineInt("su", "", &su, 1, 0, 100, Context::kSuset).ok());

  EXPECT_TRUE(SetOption("pm", "2", Context::kPostmaster, Source::kFile).ok());
  EXPECT_EQ(Message(SetOption("pm", "3", Context::kUserset, Source::kSession)),
            "parameter \"pm\" cannot be changed without restarting the server");
  EXPECT_EQ(Message(SetOption("pm", "3", Context::kSighup, Source::kFile)),
            "parameter \"pm\" cannot be changed without restarting the server");
  EXPECT_TRUE(SetOption("pm", "2", Context::kSighup, Source::kFile).ok());  // same value
  EXPECT_EQ(pm, 2);

  EXPECT_TRUE(SetOption("hup", "5", Context::kSighup, Source::kFile).ok());
  EXPECT_EQ(hup, 5);
  EXPECT_EQ(Message(SetOption("hup", "6", Context::kSuset, Source::kSession)),
            "parameter \"hup\" cannot be changed now");
  EXPECT_EQ(Message(SetOption("internal", "6", Context::kPostmaster, Source::kFile)),
            "parameter \"internal\" cannot be changed");
  EXPECT_EQ(Message(SetOption("su", "6", Context::kUserset, Source::kSession)),
            "permission denied to set parameter \"su\"");
  EXPECT_TRUE(SetOption("su", "6", Context::kSuset, Source::kSession).ok());
  EXPECT_EQ(Message(SetOption("nonesuch", "1", Context::kUserset, Source::kSession)),
            "unrecognized configuration parameter \"nonesuch\"");
}

TEST_F(GucTest, SourcePriorityAndReset) {
  int v = 0;
  ASSERT_TRUE(DefineInt("v", "", &v, 1, 0, 100, Context::kUserset).ok());
  ASSERT_TRUE(SetOption("v", "20", Context::kPostmaster, Source::kArgv).ok());
  ASSERT_TRUE(SetOption("v", "10", Context::kPostmaster, Source::kFile).ok());
  EXPECT_EQ(v, 20);  // the file never overrides the command line
  ASSERT_TRUE(SetOption("v", "30", Context::kUserset, Source::kSession).ok());
  EXPECT_EQ(v, 30);
  ASSERT_TRUE(ResetOption("v", Context::kUserset).ok());
  EXPECT_EQ(v, 20);

  int w = 0;
  ASSERT_TRUE(DefineInt("w", "", &w, 1, 0, 100, Context::kUserset).ok());
  ASSERT_TRUE(SetOption("w", "10", Context::kPostmaster, Source::kFile).ok());
  ASSERT_TRUE(SetOption("w", "30", Context::kUserset, Source::kSession).ok());
  // A reload changes the reset value under a session setting, not the value.
  ASSERT_TRUE(SetOption("w", "15", Context::kSighup, Source::kFile).ok());
  EXPECT_EQ(w, 30);
  ASSERT_TRUE(ResetOption("w", Context::kUserset).ok());
  EXPECT_EQ(w, 15);
  std::vector<VariableInfo> all = AllVariables();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].name, "w");
  EXPECT_EQ(all[1].source, Source::kFile);
  EXPECT_STREQ(SourceName(all[1].source), "configuration file");
  EXPECT_EQ(all[1].reset_val, "15");
}

TEST_F(GucTest, PlaceholdersAndReservedPrefixes) {
  ASSERT_TRUE(SetOption("mymod.naptime", "5s", Context::kPostmaster, Source::kFile).ok());
  ASSERT_TRUE(SetOption("mymod.bad", "zzz", Context::kPostmaster, Source::kFile).ok());
  ASSERT_TRUE(SetOption("mymod.stray", "1", Context::kPostmaster, Source::kFile).ok());
  ASSERT_TRUE(SetOption("other.thing", "x", Context::kPostmaster, Source::kFile).ok());
  EXPECT_EQ(ShowValue("MyMod.NapTime"), "5s");
  EXPECT_FALSE(IsDefined("mymod.naptime"));
  EXPECT_TRUE(AllVariables().empty());  // placeholders are not listed

  int naptime = 0, bad = 0;
  ASSERT_TRUE(DefineInt("mymod.naptime", "", &naptime, 10, 1, 3600, Context::kSighup, kUnitS).ok());
  EXPECT_EQ(naptime, 5);
  EXPECT_EQ(AllVariables().at(0).source, Source::kFile);
  ASSERT_TRUE(DefineInt("mymod.bad", "", &bad, 3, 0, 10, Context::kSighup).ok());
  EXPECT_EQ(bad, 3);  // invalid placeholder value: warned, boot value kept
  EXPECT_TRUE(Reported("invalid value for parameter \"mymod.bad\": \"zzz\""));

  reports_.clear();
  MarkPrefixReserved("mymod");
  ASSERT_EQ(reports_.size(), 1u);
  EXPECT_EQ(reports_[0].level, log::Level::kWarning);
  EXPECT_EQ(reports_[0].text, "invalid configuration parameter name \"mymod.stray\", removing it");
  EXPECT_EQ(reports_[0].detail, "\"mymod\" is now a reserved prefix.");
  EXPECT_EQ(ShowValue("mymod.stray"), "");
  EXPECT_EQ(ShowValue("other.thing"), "x");
  EXPECT_EQ(Message(SetOption("mymod.other", "1", Context::kUserset, Source::kSession)),
            "invalid configuration parameter name \"mymod.other\"\n"
            "DETAIL: \"mymod\" is a reserved prefix.");
  EXPECT_TRUE(SetOption("mymod.naptime", "7", Context::kSighup, Source::kFile).ok());
  EXPECT_EQ(naptime, 7);
  EXPECT_EQ(Message(SetOption("bad..name", "1", Context::kUserset, Source::kSession)),
            "invalid configuration parameter name \"bad..name\"\n"
            "DETAIL: Custom parameter names must be two or more simple identifiers separated by "
            "dots.");
}

TEST_F(GucTest, PlaceholderSessionValueSurvivesDefinition) {
  ASSERT_TRUE(SetOption("m.level", "2", Context::kPostmaster, Source::kFile).ok());
  ASSERT_TRUE(SetOption("m.level", "4", Context::kUserset, Source::kSession).ok());
  int level = 0;
  ASSERT_TRUE(DefineInt("m.level", "", &level, 1, 0, 9, Context::kUserset).ok());
  EXPECT_EQ(level, 4);
  ASSERT_TRUE(ResetOption("m.level", Context::kUserset).ok());
  EXPECT_EQ(level, 2);
}

TEST_F(GucTest, CommandLine) {
  DefineBuiltinSettings();
  ASSERT_TRUE(SetFromCommandLine("port=6543").ok());
  EXPECT_EQ(port, 6543);
  ASSERT_TRUE(SetFromCommandLine("cluster-name=blue").ok());
  EXPECT_STREQ(cluster_name, "blue");
  ASSERT_TRUE(SetFromCommandLine("cluster_name=").ok());
  EXPECT_STREQ(cluster_name, "");
  EXPECT_EQ(Message(SetFromCommandLine("port=abc")),
            "invalid command-line argument \"-c port=abc\": invalid value for parameter "
            "\"port\": \"abc\"");
  EXPECT_EQ(Message(SetFromCommandLine("port=")),
            "invalid command-line argument \"-c port=\": invalid value for parameter \"port\": "
            "\"\"");
  EXPECT_EQ(Message(SetFromCommandLine("port")),
            "invalid command-line argument \"-c port\": expected name=value");
  EXPECT_EQ(Message(SetFromCommandLine("nonesuch=1")),
            "invalid command-line argument \"-c nonesuch=1\": unrecognized configuration "
            "parameter \"nonesuch\"");
  EXPECT_EQ(Message(SetFromCommandLine("log_destination=syslog")),
            "invalid command-line argument \"-c log_destination=syslog\": invalid value for "
            "parameter \"log_destination\": \"syslog\"\nDETAIL: Unrecognized key word: "
            "\"syslog\".");
  EXPECT_EQ(port, 6543);
}

// ---------------------------------------------------------------------------
// The file parser.

TEST_F(GucTest, ParseGrammar) {
  std::string path = Write("bgw.conf",
                           "# a comment line\n"
                           "\n"
                           "   \t\n"
                           "port = 5433   # trailing comment\n"
                           "listen_addresses '*'\n"
                           "a_string = 'it''s \\'quoted\\' # not a comment'\n"
                           "escapes='tab\\there\\nnl\\\\bs\\101\\x'\n"
                           "neg=-1\n"
                           "mem = 64MB\n"
                           "real = 1.5e3\n"
                           "hex = 0x1F\n"
                           "ident = on\n"
                           "unquoted = /tmp\n"
                           "path_word = a-b.c:d/e\n"
                           "my.custom = x.y\n"
                           "Deep.Er.Name = 'v'\n"
                           "empty = ''\n"
                           "last = 1");  // no final newline
  Result<std::vector<ConfigItem>> r = ParseConfigFile(path);
  ASSERT_FALSE(r.ok());  // "/tmp" is not a valid unquoted value
  EXPECT_EQ(r.status().message(),
            "syntax error in file \"" + path + "\" line 13, near token \"/\"");

  path = Write("bgw.conf",
               "# a comment line\n"
               "\n"
               "   \t\n"
               "port = 5433   # trailing comment\n"
               "listen_addresses '*'\n"
               "a_string = 'it''s \\'quoted\\' # not a comment'\n"
               "escapes='tab\\there\\nnl\\\\bs\\101\\x'\n"
               "neg=-1\n"
               "mem = 64MB\n"
               "real = 1.5e3\n"
               "hex = 0x1F\n"
               "ident = on\n"
               "unquoted = '/tmp'\n"
               "path_word = a-b.c:d/e\n"
               "my.custom = x.y\n"
               "Deep.Er.Name = 'v'\n"
               "empty = ''\n"
               "last = 1");
  r = ParseConfigFile(path);
  ASSERT_TRUE(r.ok()) << r.status().message();
  std::vector<std::pair<std::string, std::string>> got;
  for (const ConfigItem& item : *r) {
    got.emplace_back(item.name, item.value);
    EXPECT_EQ(item.file, path);
  }
  std::vector<std::pair<std::string, std::string>> want = {
      {"port", "5433"},
      {"listen_addresses", "*"},
      {"a_string", "it's 'quoted' # not a comment"},
      {"escapes", "tab\there\nnl\\bsAx"},
      {"neg", "-1"},
      {"mem", "64MB"},
      {"real", "1.5e3"},
      {"hex", "0x1F"},
      {"ident", "on"},
      {"unquoted", "/tmp"},
      {"path_word", "a-b.c:d/e"},
      {"my.custom", "x.y"},
      {"Deep.Er.Name", "v"},
      {"empty", ""},
      {"last", "1"},
  };
  EXPECT_EQ(got, want);
  EXPECT_EQ((*r)[0].line, 4);
  EXPECT_EQ((*r)[1].line, 5);
  EXPECT_EQ(r->back().line, 18);
}

TEST_F(GucTest, ParseSyntaxErrors) {
  struct Case {
    const char* text;
    std::string want;  // after `syntax error in file "<path>" `
  } cases[] = {
      {"port = = 5\n", "line 1, near token \"=\""},
      {"a = 1\n\nport =\nb = 2\n", "line 3, near end of line"},
      {"a = 1\nport =", "line 2, near end of line"},
      {"x = 'unterminated\n", "line 1, near token \"'\""},
      {"x = 1 2\n", "line 1, near token \"2\""},
      {"x = 1e3\n", "line 1, near token \"3\""},
      {"x = 1.5GB\n", "line 1, near token \"GB\""},
      {"= 5\n", "line 1, near token \"=\""},
      {"5 = x\n", "line 1, near token \"5\""},
      {"x = 'a\\\nb'\n", "line 1, near token \"'\""},
      {"bad-name = 1\n", "line 1, near token \"bad-name\""},
  };
  for (const Case& c : cases) {
    std::string path = Write("bad.conf", c.text);
    Result<std::vector<ConfigItem>> r = ParseConfigFile(path);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.status().message(), "syntax error in file \"" + path + "\" " + c.want) << c.text;
  }
  std::string missing = dir_ + "/nonesuch.conf";
  Result<std::vector<ConfigItem>> r = ParseConfigFile(missing);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "could not open configuration file \"" + missing + "\": No such file or directory");
}

TEST_F(GucTest, IncludesAreRelativeToTheIncludingFile) {
  Write("conf/sub/inner.conf", "inner = 2\ninclude_if_exists 'nope.conf'\n");
  Write("conf/extra.conf", "extra = 3\n");
  std::string top = Write("conf/bgw.conf",
                          "first = 1\n"
                          "include 'sub/inner.conf'\n"
                          "INCLUDE_IF_EXISTS = 'extra.conf'\n"
                          "include_if_exists 'missing.conf'\n"
                          "last = 4\n");
  Result<std::vector<ConfigItem>> r = ParseConfigFile(top);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 4u);
  EXPECT_EQ((*r)[0].name, "first");
  EXPECT_EQ((*r)[1].name, "inner");
  EXPECT_EQ((*r)[1].file, dir_ + "/conf/sub/inner.conf");
  EXPECT_EQ((*r)[1].line, 1);
  EXPECT_EQ((*r)[2].name, "extra");
  EXPECT_EQ((*r)[3].name, "last");
  EXPECT_EQ((*r)[3].line, 5);
  EXPECT_TRUE(Reported("skipping missing configuration file \"" + dir_ + "/conf/missing.conf\""));
  EXPECT_TRUE(Reported("skipping missing configuration file \"" + dir_ + "/conf/sub/nope.conf\""));
  EXPECT_EQ(reports_[0].level, log::Level::kLog);

  std::string strict = Write("conf/strict.conf", "a = 1\ninclude 'gone.conf'\n");
  r = ParseConfigFile(strict);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "could not open configuration file \"" + dir_ +
                                      "/conf/gone.conf\": No such file or directory");
}

TEST_F(GucTest, IncludeDirReadsConfFilesInNameOrder) {
  Write("conf.d/20-b.conf", "b = 2\n");
  Write("conf.d/10-a.conf", "a = 1\n");
  Write("conf.d/30-c.conf", "c = 3\n");
  Write("conf.d/.hidden.conf", "hidden = 1\n");
  Write("conf.d/notes.txt", "txt = 1\n");
  Write("conf.d/dir.conf/x.conf", "nested = 1\n");
  std::string top = Write("bgw.conf", "include_dir 'conf.d'\nafter = 9\n");
  Result<std::vector<ConfigItem>> r = ParseConfigFile(top);
  ASSERT_TRUE(r.ok()) << r.status().message();
  std::vector<std::string> names;
  for (const ConfigItem& item : *r) names.push_back(item.name);
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b", "c", "after"}));

  std::string bad = Write("bad.conf", "include_dir 'nonesuch.d'\n");
  r = ParseConfigFile(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "could not open configuration directory \"" + dir_ +
                                      "/nonesuch.d\": No such file or directory");
}

TEST_F(GucTest, IncludeDepthAndRecursionAreBounded) {
  // A chain of 11 nested includes below the top file: one too many.
  for (int i = 0; i < 12; i++) {
    Write("chain" + std::to_string(i) + ".conf",
          i < 11 ? "include 'chain" + std::to_string(i + 1) + ".conf'\n" : "x = 1\n");
  }
  Result<std::vector<ConfigItem>> r = ParseConfigFile(dir_ + "/chain0.conf");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "could not open configuration file \"chain11.conf\": maximum nesting depth exceeded");
  // Ten levels are fine.
  r = ParseConfigFile(dir_ + "/chain1.conf");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].file, dir_ + "/chain11.conf");

  std::string self = Write("self.conf", "include 'self.conf'\n");
  r = ParseConfigFile(self);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "configuration file recursion in \"" + self + "\"");

  Write("loop_a.conf", "include 'loop_b.conf'\n");
  Write("loop_b.conf", "include 'loop_a.conf'\n");
  r = ParseConfigFile(dir_ + "/loop_a.conf");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("maximum nesting depth exceeded"), std::string::npos);
}

TEST_F(GucTest, HostileFilesFailCleanly) {
  std::string bin = Write("bin.conf", std::string("a = 1\n\x01\x02\xff = \0\0\n", 14));
  EXPECT_FALSE(ParseConfigFile(bin).ok());
  std::string garbage;
  for (int i = 0; i < 300; i++) garbage += "=== ''' \\\n";
  std::string g = Write("garbage.conf", garbage);
  Result<std::vector<ConfigItem>> r = ParseConfigFile(g);
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(ParseConfigFile(dir_).ok());  // a directory, not a file
}

// ---------------------------------------------------------------------------
// Applying the file.

TEST_F(GucTest, StartupErrorsNameFileLineAndSetting) {
  DefineBuiltinSettings();
  std::string path = Write("bgw.conf",
                           "max_connections = 20\n"
                           "\n"
                           "port = 'abc'\n"
                           "authentication_timeout = 0\n");
  Status s = ProcessConfigFile(path, Phase::kStartup);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "configuration file \"" + path +
                             "\" line 3: invalid value for parameter \"port\": \"abc\"");
  // Every error is logged at LOG, not only the first.
  EXPECT_TRUE(
      Reported("line 4: 0 s is outside the valid range for parameter "
               "\"authentication_timeout\" (1 .. 600)"));
  EXPECT_EQ(reports_.at(0).level, log::Level::kLog);

  path = Write("bgw.conf", "port = 5555\nbogus_setting = 1\n");
  s = ProcessConfigFile(path, Phase::kStartup);
  EXPECT_EQ(s.message(), "configuration file \"" + path +
                             "\" line 2: unrecognized configuration parameter \"bogus_setting\"");
  EXPECT_EQ(port, 5432);  // nothing applied

  path = Write("bgw.conf", "log_min_messages = chatty\n");
  s = ProcessConfigFile(path, Phase::kStartup);
  EXPECT_EQ(Message(s), "configuration file \"" + path +
                            "\" line 1: invalid value for parameter \"log_min_messages\": "
                            "\"chatty\"\nHINT: Available values: debug5, debug4, debug3, "
                            "debug2, debug1, info, notice, warning, error, log, fatal, panic.");

  path = Write("bgw.conf", "port 5555 5556\n");
  s = ProcessConfigFile(path, Phase::kStartup);
  EXPECT_EQ(s.message(), "syntax error in file \"" + path + "\" line 1, near token \"5556\"");

  path = Write("bgw.conf", "restart_after_crash = maybe\n");
  s = ProcessConfigFile(path, Phase::kStartup);
  EXPECT_EQ(s.message(), "configuration file \"" + path +
                             "\" line 1: parameter \"restart_after_crash\" requires a Boolean "
                             "value");
}

TEST_F(GucTest, StartupAppliesFileBelowCommandLine) {
  DefineBuiltinSettings();
  ASSERT_TRUE(SetFromCommandLine("max_connections=50").ok());
  std::string path = Write("bgw.conf",
                           "max_connections = 200\n"
                           "port = 6000\n"
                           "port = 6001\n"  // the later line wins
                           "log_line_prefix = '%p: '\n"
                           "mymodule.setting = 'later'\n");
  Status s = ProcessConfigFile(path, Phase::kStartup);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(max_connections, 50);
  EXPECT_EQ(port, 6001);
  EXPECT_STREQ(log_line_prefix, "%p: ");
  EXPECT_EQ(ShowValue("mymodule.setting"), "later");
  EXPECT_TRUE(reports_.empty()) << AllReports();
  for (const VariableInfo& v : AllVariables()) {
    if (v.name == "port") {
      EXPECT_EQ(v.source_file, path);
      EXPECT_EQ(v.source_line, 3);
      EXPECT_EQ(v.source, Source::kFile);
    }
    if (v.name == "max_connections") {
      EXPECT_EQ(v.source, Source::kArgv);
    }
  }
  // An earlier bad line superseded by a later one is not an error.
  ResetForTesting();
  DefineBuiltinSettings();
  path = Write("bgw.conf", "port = junk\nport = 7000\n");
  ASSERT_TRUE(ProcessConfigFile(path, Phase::kStartup).ok());
  EXPECT_EQ(port, 7000);
}

TEST_F(GucTest, ReloadSemantics) {
  DefineBuiltinSettings();
  ASSERT_TRUE(SetFromCommandLine("max_connections=50").ok());
  std::string path = Write("bgw.conf",
                           "port = 5433\n"
                           "authentication_timeout = 30s\n"
                           "log_filename = 'a.log'\n"
                           "max_connections = 60\n"
                           "restart_after_crash = off\n");
  ASSERT_TRUE(ProcessConfigFile(path, Phase::kStartup).ok());
  EXPECT_EQ(authentication_timeout, 30);
  EXPECT_STREQ(log_filename, "a.log");
  EXPECT_FALSE(restart_after_crash);

  Write("bgw.conf",
        "port = 5434\n"                  // postmaster: reported, not applied
        "authentication_timeout = 45\n"  // sighup: applied
        "max_connections = 70\n"         // argv wins, silently
        "restart_after_crash = off\n"    // unchanged: nothing logged
        "log_directory = 'logs'\n");     // log_filename removed: back to default
  Status s = ProcessConfigFile(path, Phase::kReload);
  EXPECT_EQ(port, 5433);
  EXPECT_EQ(authentication_timeout, 45);
  EXPECT_EQ(max_connections, 50);
  EXPECT_STREQ(log_filename, "bgw.log");
  EXPECT_STREQ(log_directory, "logs");
  const std::string all = AllReports();
  EXPECT_TRUE(Reported("configuration file \"" + path +
                       "\" line 1: parameter \"port\" cannot be changed without restarting the "
                       "server"))
      << all;
  EXPECT_TRUE(Reported("parameter \"authentication_timeout\" changed to \"45\"")) << all;
  EXPECT_TRUE(Reported("parameter \"log_directory\" changed to \"logs\"")) << all;
  EXPECT_TRUE(
      Reported("parameter \"log_filename\" removed from configuration file, reset to "
               "default"))
      << all;
  EXPECT_FALSE(Reported("max_connections")) << all;
  EXPECT_FALSE(Reported("restart_after_crash")) << all;
  EXPECT_EQ(s.message(),
            "configuration file \"" + path + "\" contains errors; unaffected changes were applied");
  EXPECT_TRUE(Reported("contains errors; unaffected changes were applied"));
  bool pending = false;
  for (const VariableInfo& v : AllVariables()) {
    if (v.name == "port") pending = v.pending_restart;
  }
  EXPECT_TRUE(pending);

  // Partial errors: the good lines apply, each bad one is logged with file:line.
  reports_.clear();
  Write("bgw.conf",
        "port = 5433\n"
        "authentication_timeout = 9999\n"
        "log_directory = 'logs2'\n"
        "log_destination = 'carrier_pigeon'\n"
        "custom.x = 1\n");
  s = ProcessConfigFile(path, Phase::kReload);
  EXPECT_FALSE(s.ok());
  EXPECT_STREQ(log_directory, "logs2");
  EXPECT_EQ(authentication_timeout, 45);
  EXPECT_TRUE(Reported("configuration file \"" + path +
                       "\" line 2: 9999 s is outside the valid range for parameter "
                       "\"authentication_timeout\" (1 .. 600)"))
      << AllReports();
  EXPECT_TRUE(Reported("line 4: invalid value for parameter \"log_destination\""));
  EXPECT_FALSE(Reported("\"port\"")) << AllReports();  // back to the running value
  EXPECT_EQ(ShowValue("custom.x"), "1");

  // A syntax error or an unknown name applies nothing.
  for (const char* broken : {"log_directory = 'logs3'\nport = = 1\n",
                             "log_directory = 'logs3'\nno_such_setting = 1\n"}) {
    reports_.clear();
    Write("bgw.conf", broken);
    s = ProcessConfigFile(path, Phase::kReload);
    EXPECT_EQ(s.message(),
              "configuration file \"" + path + "\" contains errors; no changes were applied");
    EXPECT_STREQ(log_directory, "logs2");
    EXPECT_TRUE(Reported("contains errors; no changes were applied"));
    EXPECT_EQ(reports_.size(), 2u) << AllReports();
  }

  // A clean reload reports only what changed.
  reports_.clear();
  Write("bgw.conf", "port = 5433\nlog_directory = 'logs2'\nauthentication_timeout = '1min'\n");
  s = ProcessConfigFile(path, Phase::kReload);
  EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(authentication_timeout, 60);
  EXPECT_TRUE(Reported("parameter \"authentication_timeout\" changed to \"1min\""));
  EXPECT_TRUE(Reported("parameter \"custom.x\" removed from configuration file, reset to default"))
      << AllReports();
  EXPECT_EQ(reports_.size(), 2u) << AllReports();
}

TEST_F(GucTest, ReloadReportsRemovedPostmasterSetting) {
  DefineBuiltinSettings();
  std::string path = Write("bgw.conf", "port = 5433\n");
  ASSERT_TRUE(ProcessConfigFile(path, Phase::kStartup).ok());
  Write("bgw.conf", "\n");
  Status s = ProcessConfigFile(path, Phase::kReload);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(port, 5433);
  EXPECT_TRUE(Reported("parameter \"port\" cannot be changed without restarting the server"));
}

TEST_F(GucTest, ReloadOfMissingFileAppliesNothing) {
  DefineBuiltinSettings();
  Status s = ProcessConfigFile(dir_ + "/nonesuch.conf", Phase::kReload);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(Reported("could not open configuration file"));
  EXPECT_TRUE(Reported("no changes were applied"));
  s = ProcessConfigFile(dir_ + "/nonesuch.conf", Phase::kStartup);
  EXPECT_EQ(s.message(), "could not open configuration file \"" + dir_ +
                             "/nonesuch.conf\": No such file or directory");
}

// ---------------------------------------------------------------------------
// Built-ins and the sample file.

TEST_F(GucTest, BuiltinDefaults) {
  DefineBuiltinSettings();
  DefineBuiltinSettings();  // idempotent
  EXPECT_EQ(port, 5432);
  EXPECT_STREQ(listen_addresses, "localhost");
  EXPECT_STREQ(unix_socket_directories, "/tmp");
  EXPECT_EQ(max_connections, 100);
  EXPECT_EQ(max_worker_processes, 8);
  EXPECT_STREQ(shared_preload_libraries, "");
  EXPECT_STREQ(dynamic_library_path, "$libdir:$datadir/modules");
  EXPECT_EQ(authentication_timeout, 60);
  EXPECT_TRUE(restart_after_crash);
  EXPECT_STREQ(cluster_name, "");
  EXPECT_EQ(log_min_messages, static_cast<int>(log::Level::kWarning));
  EXPECT_STREQ(log_line_prefix, "%m [%p] %b ");
  EXPECT_STREQ(log_destination, "stderr,file");
  EXPECT_STREQ(log_directory, "log");
  EXPECT_STREQ(log_filename, "bgw.log");
  EXPECT_EQ(ShowValue("authentication_timeout"), "1min");

  std::vector<VariableInfo> all = AllVariables();
  // 18 server settings + password_encryption + 24 session settings
  // (DefineSessionSettings, which DefineBuiltinSettings includes).
  EXPECT_EQ(all.size(), 43u);
  for (const VariableInfo& v : all) {
    if (v.name == "authentication_timeout") {
      EXPECT_EQ(v.unit, "s");
      EXPECT_EQ(v.setting, "60");
      EXPECT_EQ(v.shown, "1min");
      EXPECT_EQ(v.min_val, "1");
      EXPECT_EQ(v.max_val, "600");
      EXPECT_EQ(v.context, Context::kSighup);
      EXPECT_STREQ(ContextName(v.context), "sighup");
    }
    if (v.name == "log_min_messages") {
      EXPECT_EQ(v.enum_values.size(), 12u);
      EXPECT_EQ(v.type, VarType::kEnum);
    }
    EXPECT_FALSE(v.short_desc.empty()) << v.name;
  }
}

TEST_F(GucTest, SampleConfigFileRoundTrip) {
  std::string sample = SampleConfigFile();
  // Every built-in appears, commented out, with its default.
  for (const VariableInfo& v : AllVariables()) {
    if (v.flags & kNotInSample) continue;  // session settings are not listed
    EXPECT_NE(sample.find("\n#" + v.name + " = "), std::string::npos) << v.name;
  }
  EXPECT_NE(sample.find("#port = 5432"), std::string::npos);
  EXPECT_NE(sample.find("#listen_addresses = 'localhost'"), std::string::npos);
  EXPECT_NE(sample.find("#authentication_timeout = 1min"), std::string::npos);
  EXPECT_NE(sample.find("#log_min_messages = warning"), std::string::npos);
  EXPECT_NE(sample.find("#log_line_prefix = '%m [%p] %b '"), std::string::npos);
  EXPECT_NE(sample.find("change requires restart"), std::string::npos);
  for (const char* group : {"CONNECTIONS", "RESOURCES", "MODULES", "LOGGING", "ERROR HANDLING"}) {
    EXPECT_NE(sample.find("# " + std::string(group) + "\n"), std::string::npos) << group;
  }

  // As written it parses to nothing.
  std::string path = Write("bgw.conf", sample);
  Result<std::vector<ConfigItem>> r = ParseConfigFile(path);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->empty());

  // Uncommented, every line parses and applies cleanly, to the defaults.
  std::vector<VariableInfo> before = AllVariables();
  std::istringstream in(sample);
  std::string line, uncommented;
  const std::regex setting_line("^#[a-z_]+ = .*");
  int settings = 0;
  while (std::getline(in, line)) {
    if (std::regex_match(line, setting_line)) {
      line = line.substr(1);
      settings++;
    }
    uncommented += line + "\n";
  }
  int listed = 0;
  for (const VariableInfo& v : before) listed += (v.flags & kNotInSample) ? 0 : 1;
  EXPECT_EQ(settings, listed);
  Write("bgw.conf", uncommented);
  r = ParseConfigFile(path);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(static_cast<int>(r->size()), settings);
  ResetForTesting();
  DefineBuiltinSettings();
  Status s = ProcessConfigFile(path, Phase::kStartup);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(reports_.empty()) << AllReports();
  std::vector<VariableInfo> after = AllVariables();
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < after.size(); i++) {
    EXPECT_EQ(after[i].setting, before[i].setting) << after[i].name;
    if (after[i].flags & kNotInSample) continue;
    EXPECT_EQ(after[i].source, Source::kFile) << after[i].name;
  }
}

}  // namespace
}  // namespace bgw::guc
