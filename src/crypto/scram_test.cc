// Tests of SCRAM-SHA-256: base64, RFC 7677's example exchange reproduced
// byte for byte (user "user", password "pencil"), secrets and their parsing,
// and every malformed client message the server must refuse.
#include "crypto/scram.h"

#include <gtest/gtest.h>

#include <string>

namespace bgw::crypto::scram {
namespace {

std::vector<uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }

// RFC 7677 section 3.
constexpr char kClientFirst[] = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
constexpr char kServerNonce[] = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
constexpr char kServerFirst[] =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
constexpr char kClientFinal[] =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
constexpr char kServerFinal[] = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

Secret RfcSecret() {
  auto salt = Base64Decode("W22ZaJ0SNY7soEsUEjb6gQ==");
  EXPECT_TRUE(salt.has_value());
  return MakeSecret("pencil", *salt, 4096);
}

TEST(ScramTest, Base64RoundTripsAndRejectsGarbage) {
  EXPECT_EQ(Base64Encode(Bytes("")), "");
  EXPECT_EQ(Base64Encode(Bytes("f")), "Zg==");
  EXPECT_EQ(Base64Encode(Bytes("fo")), "Zm8=");
  EXPECT_EQ(Base64Encode(Bytes("foo")), "Zm9v");
  EXPECT_EQ(Base64Encode(Bytes("foobar")), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode(Bytes("n,,")), "biws");
  for (const char* s : {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYmFy"}) {
    auto d = Base64Decode(s);
    ASSERT_TRUE(d.has_value()) << s;
    EXPECT_EQ(Base64Encode(*d), s);
  }
  for (const char* bad : {"Zg", "Zg=", "Z===", "Zm9v!", "Zm 9v", "=Zm9", "Zg==Zg=="}) {
    EXPECT_FALSE(Base64Decode(bad).has_value()) << bad;
  }
}

TEST(ScramTest, Rfc7677ExchangeByteForByte) {
  ServerExchange ex(RfcSecret(), {});
  ex.SetServerNonceTextForTesting(kServerNonce);
  auto first = ex.ReadClientFirst(kClientFirst, {});
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(*first, kServerFirst);
  auto final_result = ex.ReadClientFinal(kClientFinal);
  ASSERT_TRUE(final_result.ok()) << final_result.error().message;
  EXPECT_TRUE(final_result->authenticated);
  EXPECT_EQ(final_result->server_final, kServerFinal);
}

TEST(ScramTest, WrongProofFails) {
  ServerExchange ex(RfcSecret(), {});
  ex.SetServerNonceTextForTesting(kServerNonce);
  ASSERT_TRUE(ex.ReadClientFirst(kClientFirst, {}).ok());
  std::string final_msg = kClientFinal;
  final_msg[final_msg.size() - 5] = final_msg[final_msg.size() - 5] == 'A' ? 'B' : 'A';
  auto r = ex.ReadClientFinal(final_msg);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->authenticated);
  EXPECT_EQ(r->server_final, "");
}

TEST(ScramTest, DoomedExchangeLooksNormalThenFails) {
  std::vector<uint8_t> mock(16, 7);
  ServerExchange ex(std::nullopt, mock);
  uint8_t nonce[kServerNonceLen] = {1, 2, 3};
  auto first = ex.ReadClientFirst("n,,n=,r=abc", nonce);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, "r=abc" + Base64Encode(nonce) + ",s=" + Base64Encode(mock) + ",i=4096");
  // Even the right proof for the mock secret does not authenticate.
  Secret fake = MakeSecret("pw", mock, 4096);
  std::string without_proof = "c=biws,r=abc" + Base64Encode(nonce);
  std::string auth_message = "n=,r=abc," + *first + "," + without_proof;
  Key salted = SaltedPassword("pw", mock, 4096);
  Key client_key = HmacSha256(salted, "Client Key");
  Key sig = HmacSha256(fake.stored_key, auth_message);
  Key proof{};
  for (size_t i = 0; i < kKeyLen; i++) proof[i] = client_key[i] ^ sig[i];
  auto r = ex.ReadClientFinal(without_proof + ",p=" + Base64Encode(proof));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->authenticated);
}

TEST(ScramTest, SecretFormatRoundTrips) {
  Secret s = RfcSecret();
  std::string text = FormatSecret(s);
  EXPECT_EQ(text.rfind("SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$", 0), 0u) << text;
  auto parsed = ParseSecret(text);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->iterations, 4096);
  EXPECT_EQ(parsed->salt, s.salt);
  EXPECT_EQ(parsed->stored_key, s.stored_key);
  EXPECT_EQ(parsed->server_key, s.server_key);
  EXPECT_TRUE(VerifyPlainPassword(*parsed, "pencil"));
  EXPECT_FALSE(VerifyPlainPassword(*parsed, "Pencil"));
  EXPECT_FALSE(VerifyPlainPassword(*parsed, ""));
}

TEST(ScramTest, ParseSecretRejectsMalformedText) {
  std::string good = FormatSecret(RfcSecret());
  EXPECT_TRUE(ParseSecret(good).has_value());
  for (const std::string& bad : {
           std::string(""),
           std::string("md5abcdef"),
           std::string("SCRAM-SHA-256$"),
           std::string("SCRAM-SHA-256$0:W22ZaJ0SNY7soEsUEjb6gQ==$AAAA:AAAA"),
           std::string("SCRAM-SHA-256$x:W22ZaJ0SNY7soEsUEjb6gQ==$AAAA:AAAA"),
           std::string("SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$AAAA:AAAA"),  // short keys
           good.substr(0, good.size() - 4),
           good + "x",
       }) {
    EXPECT_FALSE(ParseSecret(bad).has_value()) << bad;
  }
}

// The client messages PostgreSQL refuses, refused with 08P01 or 0A000.
TEST(ScramTest, MalformedClientFirstMessages) {
  struct Case {
    const char* msg;
    const char* sqlstate;
  };
  for (const Case& c : {
           Case{"", "08P01"},
           Case{"p=tls-server-end-point,,n=,r=abc", "08P01"},
           Case{"x,,n=,r=abc", "08P01"},
           Case{"n,a=someone,n=,r=abc", "0A000"},
           Case{"n,,m=ext,n=,r=abc", "0A000"},
           Case{"n,,r=abc", "08P01"},
           Case{"n,,n=", "08P01"},
           Case{"n,,n=,r=", "08P01"},
           Case{"n,,n=,r=ab\x01", "08P01"},
           Case{"n", "08P01"},
           Case{"n,", "08P01"},
       }) {
    ServerExchange ex(RfcSecret(), {});
    auto r = ex.ReadClientFirst(c.msg, {});
    ASSERT_FALSE(r.ok()) << c.msg;
    EXPECT_EQ(r.error().sqlstate, c.sqlstate) << c.msg << ": " << r.error().message;
  }
  ServerExchange ex(RfcSecret(), {});
  auto r = ex.ReadClientFirst("p=tls-server-end-point,,n=,r=abc", {});
  EXPECT_EQ(r.error().message, "channel binding is not supported");
}

TEST(ScramTest, MalformedClientFinalMessages) {
  for (const std::string& msg : {
           std::string(""),
           std::string("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"),  // no proof
           std::string("c=eSws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=AAAA"),
           std::string("c=biws,r=wrongnonce,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="),
           std::string("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=AAAA"),
           std::string("c=b!ws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=AAAA"),
           std::string("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=AAAA"),
       }) {
    ServerExchange ex(RfcSecret(), {});
    ex.SetServerNonceTextForTesting(kServerNonce);
    ASSERT_TRUE(ex.ReadClientFirst(kClientFirst, {}).ok());
    auto r = ex.ReadClientFinal(msg);
    ASSERT_FALSE(r.ok()) << msg;
    EXPECT_EQ(r.error().sqlstate, "08P01") << msg;
  }
  // Out of order.
  ServerExchange ex(RfcSecret(), {});
  EXPECT_FALSE(ex.ReadClientFinal(kClientFinal).ok());
}

TEST(ScramTest, YFlagIsAcceptedAndBound) {
  // "y": the client could bind but believes the server cannot; the final
  // message must then carry "eSws" (base64 of "y,,").
  ServerExchange ex(RfcSecret(), {});
  ex.SetServerNonceTextForTesting("srv");
  ASSERT_TRUE(ex.ReadClientFirst("y,,n=user,r=cli", {}).ok());
  auto r = ex.ReadClientFinal("c=biws,r=clisrv,p=" + Base64Encode(Key{}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "SCRAM channel binding check failed");
}

}  // namespace
}  // namespace bgw::crypto::scram
