// Extension control files and scripts: PostgreSQL's control-file syntax and
// its errors (file and line), the install and update paths chosen, and the
// substitutions made in a script.
#include "sql/extension.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace bgw::sql::extension {
namespace {

class ExtensionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/bgw_extension_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/" + name) << text;
  }
  std::string dir_;
};

TEST_F(ExtensionTest, ReadsPostgresControlFiles) {
  Write("demo.control",
        "# demo extension\n"
        "comment = 'it''s a demo'   # trailing comment\n"
        "default_version = '1.2'\n"
        "module_pathname = '$libdir/demo'\n"
        "relocatable = true\n"
        "superuser = off\n"
        "trusted = yes\n"
        "requires = 'a, b'\n");
  Result<Control> c = ReadControl("demo", dir_);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->comment, "it's a demo");
  EXPECT_EQ(c->default_version, "1.2");
  EXPECT_EQ(c->module_pathname, "$libdir/demo");
  EXPECT_TRUE(c->relocatable);
  EXPECT_FALSE(c->superuser);
  EXPECT_TRUE(c->trusted);
  EXPECT_EQ(c->required, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(c->directory, dir_);
}

TEST_F(ExtensionTest, ControlErrorsNameFileAndLine) {
  Result<Control> missing = ReadControl("nope", dir_);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().sqlstate, "58P01");
  EXPECT_EQ(missing.error().message, "extension \"nope\" is not available");
  Write("bad.control", "comment = 'x'\nsuperuser = maybe\n");
  Result<Control> bad = ReadControl("bad", dir_);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().sqlstate, "42601");
  EXPECT_NE(bad.error().message.find("bad.control\" line 2"), std::string::npos)
      << bad.error().message;
  Write("open.control", "comment = 'unterminated\n");
  Result<Control> open = ReadControl("open", dir_);
  ASSERT_FALSE(open.ok());
  EXPECT_NE(open.error().message.find("unterminated quoted string"), std::string::npos);
  Write("unknown.control", "colour = 'blue'\n");
  Result<Control> unknown = ReadControl("unknown", dir_);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("unrecognized parameter \"colour\""), std::string::npos);
}

TEST_F(ExtensionTest, NamesThatAreNotFileNamePartsAreRefused) {
  // A control file outside the share directory must not be reachable.
  Write("evil.control", "default_version = '1.0'\ntrusted = true\n");
  const std::string up = "../" + std::filesystem::path(dir_).filename().string() + "/evil";
  for (const std::string& name : {up, std::string("a--b"), std::string("-a"), std::string("a-"),
                                  std::string(""), std::string("a\\b")}) {
    Result<Control> c = ReadControl(name, dir_ + "/sub");
    ASSERT_FALSE(c.ok()) << name;
    EXPECT_EQ(c.error().sqlstate, "22023") << name;
    EXPECT_NE(c.error().message.find("invalid extension name"), std::string::npos) << name;
  }
  Write("demo.control", "default_version = '1.0'\n");
  Result<Control> c = ReadControl("demo", dir_);
  ASSERT_TRUE(c.ok());
  for (const char* version : {"../1.0", "1--0", "-1", ""}) {
    Result<std::vector<std::string>> path = ScriptPath(*c, version);
    ASSERT_FALSE(path.ok()) << version;
    EXPECT_NE(path.error().message.find("invalid extension version name"), std::string::npos);
  }
  EXPECT_FALSE(ScriptPath(*c, "1.0", std::string("../0.9")).ok());
}

TEST_F(ExtensionTest, ScriptPathPrefersInstallScriptsThenShortestUpdateChain) {
  Write("demo.control", "default_version = '1.3'\n");
  for (const char* f :
       {"demo--1.0.sql", "demo--1.0--1.1.sql", "demo--1.1--1.2.sql", "demo--1.2--1.3.sql",
        "demo--1.1--1.3.sql", "demo--2.0.sql", "other--1.0.sql"}) {
    Write(f, "SELECT 1;\n");
  }
  Result<Control> c = ReadControl("demo", dir_);
  ASSERT_TRUE(c.ok());
  Result<std::vector<std::string>> direct = ScriptPath(*c, "2.0");
  ASSERT_TRUE(direct.ok());
  EXPECT_EQ(*direct, (std::vector<std::string>{dir_ + "/demo--2.0.sql"}));
  Result<std::vector<std::string>> chain = ScriptPath(*c, "1.3");
  ASSERT_TRUE(chain.ok()) << chain.error().message;
  EXPECT_EQ(*chain, (std::vector<std::string>{dir_ + "/demo--1.0.sql", dir_ + "/demo--1.0--1.1.sql",
                                              dir_ + "/demo--1.1--1.3.sql"}));
  Result<std::vector<std::string>> update = ScriptPath(*c, "1.3", std::string("1.1"));
  ASSERT_TRUE(update.ok());
  EXPECT_EQ(*update, (std::vector<std::string>{dir_ + "/demo--1.1--1.3.sql"}));
  Result<std::vector<std::string>> none = ScriptPath(*c, "9.9");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().sqlstate, "22023");
  Result<std::vector<std::string>> back = ScriptPath(*c, "1.0", std::string("1.3"));
  ASSERT_FALSE(back.ok());
  EXPECT_NE(back.error().message.find("no update path from version \"1.3\" to version \"1.0\""),
            std::string::npos);
}

TEST_F(ExtensionTest, ScriptsAreSubstitutedAsPostgresDoes) {
  Write("demo.control", "default_version = '1.0'\nmodule_pathname = '$libdir/demo'\n");
  Write("demo--1.0.sql",
        "\\echo Use \"CREATE EXTENSION demo\" to load this file. \\quit\n"
        "CREATE FUNCTION f() RETURNS int4 AS 'MODULE_PATHNAME' LANGUAGE C;\n"
        "CREATE TABLE @extschema@.t (v text DEFAULT '@extowner@');\n");
  Result<Control> c = ReadControl("demo", dir_);
  ASSERT_TRUE(c.ok());
  Result<std::string> sql = ReadScript(*c, dir_ + "/demo--1.0.sql", "public", "al\"ice");
  ASSERT_TRUE(sql.ok());
  EXPECT_EQ(*sql,
            "\n"
            "CREATE FUNCTION f() RETURNS int4 AS '$libdir/demo' LANGUAGE C;\n"
            "CREATE TABLE \"public\".t (v text DEFAULT '\"al\"\"ice\"');\n");
  Result<std::string> missing = ReadScript(*c, dir_ + "/demo--9.sql", "public", "x");
  EXPECT_FALSE(missing.ok());
}

}  // namespace
}  // namespace bgw::sql::extension
