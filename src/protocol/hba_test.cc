// Tests of hba.conf: the syntax PostgreSQL accepts (lists, quotes, keywords,
// CIDR and netmask forms, IPv4 and IPv6), each refusal with its file:line
// message, first-match-wins matching, and LoadHba keeping the old rules when
// a reload fails.
#include "protocol/hba.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "protocol/auth.h"

namespace bgw::protocol {
namespace {

sockaddr_storage Ip(const char* text) {
  sockaddr_storage ss{};
  if (inet_pton(AF_INET, text, &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr) == 1) {
    ss.ss_family = AF_INET;
  } else if (inet_pton(AF_INET6, text, &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr) == 1) {
    ss.ss_family = AF_INET6;
  } else {
    ADD_FAILURE() << "bad test address " << text;
  }
  return ss;
}

std::vector<HbaRule> Parse(const std::string& text) {
  auto r = ParseHba(text, "hba.conf");
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : std::vector<HbaRule>{};
}

std::string ParseError(const std::string& text) {
  auto r = ParseHba(text, "/d/hba.conf");
  EXPECT_FALSE(r.ok()) << text;
  return r.ok() ? "" : r.status().message();
}

// Line of the matching rule, 0 for none.
int MatchLine(const std::vector<HbaRule>& rules, const char* addr, const std::string& user,
              const std::string& db) {
  sockaddr_storage ss{};
  HbaRequest req;
  req.user = user;
  req.database = db;
  if (addr == nullptr) {
    req.is_unix = true;
  } else {
    ss = Ip(addr);
    req.addr = &ss;
  }
  const HbaRule* r = MatchHba(rules, req);
  return r == nullptr ? 0 : r->line;
}

TEST(HbaTest, ParsesTheInitTemplateShape) {
  auto rules = Parse(
      "# comment\n"
      "\n"
      "local   all   all                  trust\n"
      "host    all   all   127.0.0.1/32   scram-sha-256   # trailing comment\n"
      "host    all   all   ::1/128        md5\n");
  ASSERT_EQ(rules.size(), 3u);
  EXPECT_EQ(rules[0].line, 3);
  EXPECT_EQ(rules[0].type, HbaConnType::kLocal);
  EXPECT_EQ(rules[0].method, HbaMethod::kTrust);
  EXPECT_EQ(rules[1].line, 4);
  EXPECT_EQ(rules[1].method, HbaMethod::kScramSha256);
  EXPECT_EQ(rules[1].text, "host    all   all   127.0.0.1/32   scram-sha-256   # trailing comment");
  EXPECT_EQ(rules[2].method, HbaMethod::kMd5);
  EXPECT_EQ(MatchLine(rules, nullptr, "u", "d"), 3);
  EXPECT_EQ(MatchLine(rules, "127.0.0.1", "u", "d"), 4);
  EXPECT_EQ(MatchLine(rules, "::1", "u", "d"), 5);
  EXPECT_EQ(MatchLine(rules, "127.0.0.2", "u", "d"), 0);
  EXPECT_EQ(MatchLine(rules, "::2", "u", "d"), 0);
}

TEST(HbaTest, FirstMatchWins) {
  auto rules = Parse(
      "local app alice reject\n"
      "local all alice password\n"
      "local all all trust\n");
  EXPECT_EQ(MatchLine(rules, nullptr, "alice", "app"), 1);
  EXPECT_EQ(MatchLine(rules, nullptr, "alice", "other"), 2);
  EXPECT_EQ(MatchLine(rules, nullptr, "bob", "app"), 3);
}

TEST(HbaTest, ListsQuotesAndKeywords) {
  auto rules = Parse(
      "local a,b,\"C d\" x, y trust\n"       // list with a quoted name, "x, y" one field
      "local sameuser all md5\n"             // database = user name
      "local \"all\" u1 password\n"          // quoted keyword = a database named all
      "local replication all reject\n"       // never matches ordinary connections
      "local all \"all\" scram-sha-256\n");  // a role named all
  ASSERT_EQ(rules.size(), 5u);
  EXPECT_EQ(MatchLine(rules, nullptr, "x", "a"), 1);
  EXPECT_EQ(MatchLine(rules, nullptr, "y", "C d"), 1);
  EXPECT_EQ(MatchLine(rules, nullptr, "y", "c d"), 0) << "case-sensitive";
  EXPECT_EQ(MatchLine(rules, nullptr, "bob", "bob"), 2);
  EXPECT_EQ(MatchLine(rules, nullptr, "u1", "all"), 3);
  EXPECT_EQ(MatchLine(rules, nullptr, "u1", "zzz"), 0);
  EXPECT_EQ(MatchLine(rules, nullptr, "all", "replication"), 5);
  EXPECT_EQ(MatchLine(rules, nullptr, "all", "zzz"), 5);
  EXPECT_EQ(MatchLine(rules, nullptr, "u2", "replication"), 0);
}

TEST(HbaTest, AddressesAndMasks) {
  auto rules = Parse(
      "host all all 10.1.0.0/16 trust\n"
      "host all all 192.168.1.0 255.255.255.0 md5\n"
      "hostnossl all all fe80::/10 password\n"
      "hostssl all all all reject\n"             // never: no TLS
      "host all all 10.9.9.9/8 scram-sha-256\n"  // host bits ignored
      "host all all 0.0.0.0/0 reject\n");
  EXPECT_EQ(MatchLine(rules, "10.1.200.3", "u", "d"), 1);
  EXPECT_EQ(MatchLine(rules, "192.168.1.77", "u", "d"), 2);
  EXPECT_EQ(MatchLine(rules, "192.168.2.77", "u", "d"), 6);
  EXPECT_EQ(MatchLine(rules, "fe80::1234", "u", "d"), 3);
  EXPECT_EQ(MatchLine(rules, "10.2.0.1", "u", "d"), 5);
  EXPECT_EQ(MatchLine(rules, "2001:db8::1", "u", "d"), 0) << "IPv6 never matches IPv4 rules";
  EXPECT_EQ(MatchLine(rules, nullptr, "u", "d"), 0) << "host rules never match local";
  auto all = Parse("host all all all trust\n");
  EXPECT_EQ(MatchLine(all, "2001:db8::1", "u", "d"), 1);
  EXPECT_EQ(MatchLine(all, "1.2.3.4", "u", "d"), 1);
  auto v6mask = Parse("host all all 2001:db8:: ffff:ffff:: trust\n");
  EXPECT_EQ(MatchLine(v6mask, "2001:db8:1::1", "u", "d"), 1);
  EXPECT_EQ(MatchLine(v6mask, "2001:db9::1", "u", "d"), 0);
}

TEST(HbaTest, ErrorsNameFileAndLine) {
  const std::string p = "configuration file \"/d/hba.conf\" line ";
  EXPECT_EQ(ParseError("local all all trust\nlocal all all peer\n"),
            p + "2: authentication method \"peer\" not supported");
  EXPECT_EQ(ParseError("host all all 127.0.0.1/32 cert\n"),
            p + "1: authentication method \"cert\" not supported");
  EXPECT_EQ(ParseError("local all all magic\n"), p + "1: invalid authentication method \"magic\"");
  EXPECT_EQ(ParseError("hots all all trust\n"), p + "1: invalid connection type \"hots\"");
  EXPECT_EQ(ParseError("local\n"), p + "1: end-of-line before database specification");
  EXPECT_EQ(ParseError("local all\n"), p + "1: end-of-line before role specification");
  EXPECT_EQ(ParseError("local all all\n"), p + "1: end-of-line before authentication method");
  EXPECT_EQ(ParseError("host all all\n"), p + "1: end-of-line before IP address specification");
  EXPECT_EQ(ParseError("host all all 1.2.3.4 trust\n"), p + "1: invalid IP mask \"trust\"");
  EXPECT_EQ(ParseError("host all all 1.2.3.4\n"),
            p + "1: end-of-line before netmask specification");
  EXPECT_EQ(ParseError("host all all 1.2.3.4/33 trust\n"),
            p + "1: invalid CIDR mask in address \"1.2.3.4/33\"");
  EXPECT_EQ(ParseError("host all all ::1/129 trust\n"),
            p + "1: invalid CIDR mask in address \"::1/129\"");
  EXPECT_EQ(ParseError("host all all 1.2.3.4/x trust\n"),
            p + "1: invalid CIDR mask in address \"1.2.3.4/x\"");
  EXPECT_EQ(ParseError("host all all 1.2.3.4 255.0.255.0 trust\n"),
            p + "1: invalid IP mask \"255.0.255.0\"");
  EXPECT_EQ(ParseError("host all all 1.2.3.4 ffff:: trust\n"),
            p + "1: IP address and mask do not match");
  EXPECT_EQ(ParseError("host all all 1.2.3.999/32 trust\n"),
            p + "1: invalid IP address \"1.2.3.999\"");
  EXPECT_EQ(ParseError("host all all example.com trust\n"),
            p + "1: host names are not supported: \"example.com\"");
  EXPECT_EQ(ParseError("host all all samenet trust\n"), p + "1: \"samenet\" is not supported");
  EXPECT_EQ(ParseError("local all +admins trust\n"),
            p + "1: group membership (\"+admins\") is not supported");
  EXPECT_EQ(ParseError("local @dbs all trust\n"),
            p + "1: file inclusion (\"@dbs\") is not supported");
  EXPECT_EQ(ParseError("local samerole all trust\n"),
            p + "1: \"samerole\" (role membership) is not supported");
  EXPECT_EQ(ParseError("local all all md5 clientcert=verify-full\n"),
            p + "1: authentication option \"clientcert=verify-full\" not supported");
  EXPECT_EQ(ParseError("local all \"unterminated trust\n"), p + "1: unterminated quoted string");
  // "a, all" is one field (a list), so "trust" is the user and the method is missing.
  EXPECT_EQ(ParseError("local a, all trust\n"), p + "1: end-of-line before authentication method");
  EXPECT_EQ(ParseError("local a, # x\n"), p + "1: list ends with a comma");
  EXPECT_EQ(ParseError("local,host all all trust\n"),
            p + "1: multiple values specified for connection type");
  EXPECT_EQ(ParseError("local all all trust,md5\n"),
            p + "1: multiple values specified for authentication type");
  EXPECT_EQ(ParseError("local \"\" all trust\n"), p + "1: empty database name");
  EXPECT_EQ(ParseError("# nothing\n\n"), "configuration file \"/d/hba.conf\" contains no entries");
  EXPECT_EQ(ParseError(""), "configuration file \"/d/hba.conf\" contains no entries");
  EXPECT_EQ(ParseError(std::string("local all all trust\nlocal all al\0l trust\n", 40)),
            p + "2: invalid character in line");
}

class LoadHbaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/bgw_hba_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/hba.conf";
  }
  void TearDown() override {
    std::string cmd = "rm -rf '" + dir_ + "'";
    EXPECT_EQ(system(cmd.c_str()), 0);
  }
  void Write(const std::string& text) {
    std::ofstream out(path_, std::ios::trunc);
    out << text;
  }
  std::string dir_, path_;
};

TEST_F(LoadHbaTest, AFailedReloadKeepsThePreviousRules) {
  Write("local all all reject\nhost all all 127.0.0.1/32 md5\n");
  ASSERT_TRUE(LoadHba(path_).ok());
  ASSERT_EQ(CurrentHbaRules().size(), 2u);
  EXPECT_EQ(CurrentHbaRules()[1].method, HbaMethod::kMd5);

  Write("local all all trust\nlocal all all ident\n");
  Status s = LoadHba(path_);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("line 2: authentication method \"ident\" not supported"),
            std::string::npos)
      << s.message();
  EXPECT_NE(s.detail().find("previous rules stay in force"), std::string::npos) << s.detail();
  ASSERT_EQ(CurrentHbaRules().size(), 2u);
  EXPECT_EQ(CurrentHbaRules()[0].method, HbaMethod::kReject);

  Status missing = LoadHba(dir_ + "/nope.conf");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.message().find("could not open configuration file"), std::string::npos);
  EXPECT_EQ(CurrentHbaRules().size(), 2u);

  Write("local all all password\n");
  ASSERT_TRUE(LoadHba(path_).ok());
  ASSERT_EQ(CurrentHbaRules().size(), 1u);
  EXPECT_EQ(CurrentHbaRules()[0].method, HbaMethod::kPassword);
}

}  // namespace
}  // namespace bgw::protocol
