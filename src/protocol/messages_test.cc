// Unit tests for messages.h: each decoder on a well-formed body and on the
// malformed bodies a hostile or buggy client can send (truncated fields,
// counts promising more than the body holds, bad subtypes and format codes,
// trailing garbage), plus the startup "options" splitter.
#include "protocol/messages.h"

#include <gtest/gtest.h>

#include <deque>

#include "protocol/wire.h"

namespace bgw::protocol {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes Body(const MessageWriter& w) { return Bytes(w.Buffer().begin(), w.Buffer().end()); }

// Decoded views point into the body: keep every body alive for the test.
std::span<const uint8_t> Keep(Bytes b) {
  static std::deque<Bytes> kept;
  kept.push_back(std::move(b));
  return kept.back();
}

std::string_view AsText(std::span<const uint8_t> s) {
  return {reinterpret_cast<const char*>(s.data()), s.size()};
}

TEST(ProtocolMessages, MaxBodyLengthByType) {
  EXPECT_EQ(MaxFrontendBodyLength('Q'), kMaxLargeMessageBody);
  EXPECT_EQ(MaxFrontendBodyLength('B'), kMaxLargeMessageBody);
  EXPECT_EQ(MaxFrontendBodyLength('S'), kMaxSmallMessageBody);
  EXPECT_EQ(MaxFrontendBodyLength('E'), kMaxSmallMessageBody);
  EXPECT_FALSE(MaxFrontendBodyLength('z').has_value());
  EXPECT_FALSE(MaxFrontendBodyLength('\0').has_value());
  // 'p' (password) belongs to authentication, not to the query cycle.
  EXPECT_FALSE(MaxFrontendBodyLength('p').has_value());
}

TEST(ProtocolMessages, Query) {
  MessageWriter w;
  w.String("SELECT 1");
  auto q = DecodeQuery(Keep(Body(w)));
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->query, "SELECT 1");
  Bytes no_nul = {'S', 'E'};
  auto bad = DecodeQuery(no_nul);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().sqlstate, "08P01");
  w.Int8(7);  // trailing garbage
  auto trailing = DecodeQuery(Keep(Body(w)));
  ASSERT_FALSE(trailing.ok());
  EXPECT_EQ(trailing.error().message, "invalid message format");
}

TEST(ProtocolMessages, Parse) {
  MessageWriter w;
  w.String("s1");
  w.String("SELECT $1, $2");
  w.Int16(2);
  w.Int32(23);
  w.Int32(0);
  auto p = DecodeParse(Keep(Body(w)));
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->statement, "s1");
  EXPECT_EQ(p->query, "SELECT $1, $2");
  EXPECT_EQ(p->param_types, (std::vector<uint32_t>{23, 0}));
}

TEST(ProtocolMessages, ParseCountBeyondBodyFailsWithoutReading) {
  MessageWriter w;
  w.String("");
  w.String("x");
  w.Int16(-1);  // 65535 types promised, none present
  auto p = DecodeParse(Keep(Body(w)));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().sqlstate, "08P01");
  EXPECT_EQ(p.error().message, "insufficient data left in message");
}

TEST(ProtocolMessages, ParseTruncatedEverywhere) {
  MessageWriter w;
  w.String("name");
  w.String("SELECT 1");
  w.Int16(1);
  w.Int32(25);
  Bytes full = Body(w);
  ASSERT_TRUE(DecodeParse(full).ok());
  for (size_t n = 0; n < full.size(); n++) {
    auto p = DecodeParse(std::span(full).first(n));
    ASSERT_FALSE(p.ok()) << "prefix of " << n << " bytes accepted";
    EXPECT_EQ(p.error().sqlstate, "08P01");
  }
}

Bytes BindBody(const std::vector<int16_t>& pformats,
               const std::vector<std::optional<std::string>>& params,
               const std::vector<int16_t>& rformats) {
  MessageWriter w;
  w.String("portal");
  w.String("stmt");
  w.Int16(static_cast<int16_t>(pformats.size()));
  for (int16_t f : pformats) w.Int16(f);
  w.Int16(static_cast<int16_t>(params.size()));
  for (const auto& p : params) {
    if (!p) {
      w.Int32(-1);
      continue;
    }
    w.Int32(static_cast<int32_t>(p->size()));
    w.Bytes(std::span(reinterpret_cast<const uint8_t*>(p->data()), p->size()));
  }
  w.Int16(static_cast<int16_t>(rformats.size()));
  for (int16_t f : rformats) w.Int16(f);
  return Body(w);
}

TEST(ProtocolMessages, BindFormatsExpandAndNullsSurvive) {
  Bytes body = BindBody({1}, {std::string("\x00\x00\x00\x05", 4), std::nullopt}, {0, 1});
  auto b = DecodeBind(Keep(body));
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(b->portal, "portal");
  EXPECT_EQ(b->statement, "stmt");
  EXPECT_EQ(b->param_formats, (std::vector<int16_t>{1, 1}));
  ASSERT_EQ(b->params.size(), 2u);
  ASSERT_TRUE(b->params[0].has_value());
  EXPECT_EQ(b->params[0]->size(), 4u);
  EXPECT_FALSE(b->params[1].has_value());
  EXPECT_EQ(b->result_formats, (std::vector<int16_t>{0, 1}));

  auto none = DecodeBind(Keep(BindBody({}, {std::string("abc")}, {})));
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->param_formats, (std::vector<int16_t>{0}));
  EXPECT_EQ(AsText(*none->params[0]), "abc");

  auto per_param = DecodeBind(Keep(BindBody({0, 1}, {std::string("a"), std::string("b")}, {})));
  ASSERT_TRUE(per_param.ok());
  EXPECT_EQ(per_param->param_formats, (std::vector<int16_t>{0, 1}));
}

TEST(ProtocolMessages, BindFormatCountMismatch) {
  auto b = DecodeBind(Keep(BindBody({0, 0}, {std::string("a")}, {})));
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().sqlstate, "08P01");
  EXPECT_EQ(b.error().message, "bind message has 2 parameter formats but 1 parameters");
}

TEST(ProtocolMessages, BindUnsupportedFormatCode) {
  auto p = DecodeBind(Keep(BindBody({2}, {std::string("a")}, {})));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().sqlstate, "22023");
  EXPECT_EQ(p.error().message, "unsupported format code: 2");
  auto r = DecodeBind(Keep(BindBody({}, {}, {-1})));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "unsupported format code: -1");
}

TEST(ProtocolMessages, BindHostileLengths) {
  // A parameter length larger than the body, and one below -1.
  MessageWriter w;
  w.String("");
  w.String("");
  w.Int16(0);
  w.Int16(1);
  w.Int32(0x7fffffff);
  auto big = DecodeBind(Keep(Body(w)));
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().message, "insufficient data left in message");

  MessageWriter w2;
  w2.String("");
  w2.String("");
  w2.Int16(0);
  w2.Int16(1);
  w2.Int32(-2);
  w2.Int16(0);
  auto neg = DecodeBind(Keep(Body(w2)));
  ASSERT_FALSE(neg.ok());
  EXPECT_EQ(neg.error().sqlstate, "08P01");

  // 65535 parameters promised in a tiny body.
  MessageWriter w3;
  w3.String("");
  w3.String("");
  w3.Int16(0);
  w3.Int16(-1);
  auto many = DecodeBind(Keep(Body(w3)));
  ASSERT_FALSE(many.ok());
  EXPECT_EQ(many.error().message, "insufficient data left in message");
}

TEST(ProtocolMessages, BindTruncatedEverywhere) {
  Bytes full = BindBody({0, 1}, {std::string("xy"), std::nullopt}, {1});
  ASSERT_TRUE(DecodeBind(full).ok());
  for (size_t n = 0; n < full.size(); n++) {
    auto b = DecodeBind(std::span(full).first(n));
    ASSERT_FALSE(b.ok()) << "prefix of " << n << " bytes accepted";
  }
  full.push_back(0);
  EXPECT_FALSE(DecodeBind(full).ok());
}

TEST(ProtocolMessages, DescribeAndClose) {
  MessageWriter w;
  w.Int8('P');
  w.String("c1");
  auto d = DecodeDescribe(Keep(Body(w)));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->kind, 'P');
  EXPECT_EQ(d->name, "c1");
  auto c = DecodeClose(Keep(Body(w)));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->kind, 'P');

  MessageWriter bad;
  bad.Int8('X');
  bad.String("");
  auto bd = DecodeDescribe(Keep(Body(bad)));
  ASSERT_FALSE(bd.ok());
  EXPECT_EQ(bd.error().sqlstate, "08P01");
  EXPECT_EQ(bd.error().message, "invalid DESCRIBE message subtype 88");
  auto bc = DecodeClose(Keep(Body(bad)));
  ASSERT_FALSE(bc.ok());
  EXPECT_EQ(bc.error().message, "invalid CLOSE message subtype 88");

  EXPECT_FALSE(DecodeDescribe(Bytes{}).ok());
  EXPECT_FALSE(DecodeDescribe(Bytes{'S'}).ok());            // no name
  EXPECT_FALSE(DecodeClose(Bytes{'S', 'a', 0, 'b'}).ok());  // trailing bytes
}

TEST(ProtocolMessages, Execute) {
  MessageWriter w;
  w.String("");
  w.Int32(10);
  auto e = DecodeExecute(Keep(Body(w)));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->portal, "");
  EXPECT_EQ(e->max_rows, 10);
  EXPECT_FALSE(DecodeExecute(Bytes{0, 0, 0}).ok());
  EXPECT_FALSE(DecodeExecute(Bytes{0, 0, 0, 0, 1, 9}).ok());
}

TEST(ProtocolMessages, ResultFormats) {
  std::vector<int16_t> none, one = {1}, two = {0, 1};
  EXPECT_EQ(ResultFormat(none, 5), kFormatText);
  EXPECT_EQ(ResultFormat(one, 5), kFormatBinary);
  EXPECT_EQ(ResultFormat(two, 1), kFormatBinary);
  EXPECT_EQ(ResultFormat(two, 7), kFormatText);  // beyond the list: text, never out of bounds
  EXPECT_TRUE(CheckResultFormats(two, 2).ok());
  EXPECT_TRUE(CheckResultFormats(one, 9).ok());
  auto bad = CheckResultFormats(two, 3);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "bind message has 2 result formats but query has 3 columns");
}

TEST(ProtocolMessages, StartupOptions) {
  auto s = ParseStartupOptions(
      "-c search_path=a  -cwork_mem=4MB --statement-timeout=5s "
      "-c application_name=with\\ space");
  ASSERT_TRUE(s.ok()) << s.error().message;
  std::vector<std::pair<std::string, std::string>> want = {{"search_path", "a"},
                                                           {"work_mem", "4MB"},
                                                           {"statement_timeout", "5s"},
                                                           {"application_name", "with space"}};
  EXPECT_EQ(*s, want);
  auto empty = ParseStartupOptions("   ");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(ProtocolMessages, StartupOptionsErrors) {
  auto no_value = ParseStartupOptions("-c work_mem");
  ASSERT_FALSE(no_value.ok());
  EXPECT_EQ(no_value.error().sqlstate, "42601");
  EXPECT_EQ(no_value.error().message, "-c work_mem requires a value");
  auto long_no_value = ParseStartupOptions("--work_mem");
  ASSERT_FALSE(long_no_value.ok());
  EXPECT_EQ(long_no_value.error().message, "--work_mem requires a value");
  auto dangling = ParseStartupOptions("-c");
  EXPECT_FALSE(dangling.ok());
  auto other = ParseStartupOptions("-B 100");
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().message, "invalid command-line argument for server process: -B");
}

}  // namespace
}  // namespace bgw::protocol
