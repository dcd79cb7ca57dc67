// Tests of Authenticate over a socket pair: the server side runs in a thread
// exactly as a backend would run it, the test plays a libpq-like client
// (written here from the protocol, including a SCRAM client), and checks
// every message on the wire: trust, reject, no rule, password, md5 (and md5
// rules turning into SCRAM), SCRAM, unknown roles getting a full mock
// exchange, wrong passwords, and hostile or vanishing clients.
#include "protocol/auth.h"

#include "crypto/password.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <stdlib.h>

#include <poll.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <future>
#include <string>
#include <thread>

#include "crypto/scram.h"
#include "guc/guc.h"
#include "guc/settings.h"
#include "protocol/startup_packet.h"
#include "protocol/wire_testing.h"

namespace bgw::protocol {
namespace {

namespace scram = crypto::scram;
using crypto::MakeMd5Verifier;
using crypto::MakePasswordVerifier;
using crypto::MakeScramVerifier;

using test_util::Bytes;
using test_util::ServerMessage;

std::string Md5HexForTest(const std::string& s) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(s.data(), s.size(), d, &n, EVP_md5(), nullptr);
  std::string out;
  char buf[3];
  for (unsigned int i = 0; i < n; i++) {
    snprintf(buf, sizeof buf, "%02x", d[i]);
    out += buf;
  }
  return out;
}

std::span<const uint8_t> AsSpan(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

int32_t Be32(const uint8_t* p) {
  return static_cast<int32_t>((uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
                              (uint32_t{p[2]} << 8) | p[3]);
}

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/bgw_auth_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    pair_ = test_util::MakeSocketPair();
    guc::password_encryption = static_cast<int>(guc::PasswordEncryption::kScramSha256);
  }
  void TearDown() override {
    if (server_.valid()) server_.wait();
    std::string cmd = "rm -rf '" + dir_ + "'";
    EXPECT_EQ(system(cmd.c_str()), 0);
    guc::password_encryption = static_cast<int>(guc::PasswordEncryption::kScramSha256);
  }

  void Hba(const std::string& text) {
    std::ofstream(dir_ + "/hba.conf", std::ios::trunc) << text;
    Status s = LoadHba(dir_ + "/hba.conf");
    ASSERT_TRUE(s.ok()) << s.message();
  }

  // Starts Authenticate for `user` (role row `role`) in a thread. TCP from
  // 127.0.0.1 unless `local`.
  void Start(const std::string& user, std::optional<storage::RoleInfo> role, bool local = false) {
    client_info_.is_unix = local;
    client_info_.user = user;
    client_info_.database = "db";
    if (!local) {
      auto* sin = reinterpret_cast<sockaddr_in*>(&client_info_.addr);
      sin->sin_family = AF_INET;
      inet_pton(AF_INET, "127.0.0.1", &sin->sin_addr);
    }
    role_ = std::move(role);
    int fd = pair_.server.release();
    server_ = std::async(std::launch::async, [this, fd] {
      Connection conn{UniqueFd(fd)};
      return Authenticate(conn, client_info_, role_,
                          std::chrono::steady_clock::now() + std::chrono::seconds(10));
    });
  }
  bool Result() { return server_.get(); }

  // Reads one server message (5 s idle limit); type 0 on EOF.
  ServerMessage Read() {
    Bytes head = test_util::ReadN(pair_.client.get(), 5);
    if (head.size() < 5) return {};
    int32_t len = Be32(head.data() + 1);
    Bytes body = test_util::ReadN(pair_.client.get(), static_cast<size_t>(len) - 4);
    return {static_cast<char>(head[0]), body};
  }
  // An 'R' message's code, or -1.
  int32_t ReadAuthCode(ServerMessage* msg_out = nullptr) {
    ServerMessage m = Read();
    if (msg_out != nullptr) *msg_out = m;
    if (m.type != 'R' || m.body.size() < 4) return -1;
    return Be32(m.body.data());
  }
  std::map<char, std::string> ReadError() {
    ServerMessage m = Read();
    EXPECT_EQ(m.type, 'E');
    return test_util::ParseErrorFields(m.body);
  }
  void Send(char type, std::span<const uint8_t> body) {
    MessageWriter w;
    w.Begin(type);
    w.Bytes(body);
    w.End();
    test_util::WriteAll(pair_.client.get(), w.Buffer());
  }
  void SendString(const std::string& s) {
    std::string body = s + '\0';
    Send('p', AsSpan(body));
  }
  void SendSaslInitial(const std::string& mech, const std::string& data) {
    MessageWriter w;
    w.Begin('p');
    w.String(mech);
    w.Int32(static_cast<int32_t>(data.size()));
    w.Bytes(AsSpan(data));
    w.End();
    test_util::WriteAll(pair_.client.get(), w.Buffer());
  }
  void ExpectNothingMore() {
    Bytes rest = test_util::ReadUntilEof(pair_.client.get(), std::chrono::milliseconds(200));
    EXPECT_TRUE(rest.empty()) << rest.size() << " unexpected bytes";
  }

  // A SCRAM client as libpq runs it. Returns the server's verdict, and
  // checks the server signature on success.
  bool ScramClient(const std::string& password, std::string* server_first_out = nullptr) {
    ServerMessage m;
    EXPECT_EQ(ReadAuthCode(&m), 10);
    std::string mechs(m.body.begin() + 4, m.body.end());
    EXPECT_EQ(mechs, std::string("SCRAM-SHA-256\0\0", 15));
    const std::string client_nonce = "fyko+d2lbbFgONRv9qkxdawL";
    const std::string first_bare = "n=,r=" + client_nonce;
    SendSaslInitial("SCRAM-SHA-256", "n,," + first_bare);
    if (ReadAuthCode(&m) != 11) return false;
    std::string server_first(m.body.begin() + 4, m.body.end());
    if (server_first_out != nullptr) *server_first_out = server_first;
    // r=<nonce>,s=<salt>,i=<iter>
    size_t s_at = server_first.find(",s=");
    size_t i_at = server_first.find(",i=");
    EXPECT_NE(s_at, std::string::npos);
    EXPECT_NE(i_at, std::string::npos);
    std::string nonce = server_first.substr(2, s_at - 2);
    EXPECT_EQ(nonce.rfind(client_nonce, 0), 0u) << "server nonce extends ours";
    EXPECT_EQ(nonce.size(), client_nonce.size() + 24) << "18 random bytes, base64";
    auto salt = scram::Base64Decode(server_first.substr(s_at + 3, i_at - s_at - 3));
    EXPECT_TRUE(salt.has_value());
    int iterations = std::stoi(server_first.substr(i_at + 3));
    std::string without_proof = "c=biws,r=" + nonce;
    std::string auth_message = first_bare + "," + server_first + "," + without_proof;
    scram::Key salted = scram::SaltedPassword(password, *salt, iterations);
    scram::Key client_key = scram::HmacSha256(salted, "Client Key");
    scram::Key stored_key = scram::Sha256(client_key);
    scram::Key signature = scram::HmacSha256(stored_key, auth_message);
    scram::Key proof{};
    for (size_t i = 0; i < proof.size(); i++) proof[i] = client_key[i] ^ signature[i];
    std::string final_msg = without_proof + ",p=" + scram::Base64Encode(proof);
    Send('p', AsSpan(final_msg));
    ServerMessage fin = Read();
    if (fin.type != 'R') {
      // The error: leave it for the caller to read? It has been consumed;
      // record it.
      last_error_ = test_util::ParseErrorFields(fin.body);
      return false;
    }
    EXPECT_EQ(Be32(fin.body.data()), 12);
    std::string server_final(fin.body.begin() + 4, fin.body.end());
    scram::Key server_key = scram::HmacSha256(salted, "Server Key");
    EXPECT_EQ(server_final,
              "v=" + scram::Base64Encode(scram::HmacSha256(server_key, auth_message)));
    return true;
  }

  storage::RoleInfo RoleWith(const std::string& name, const std::string& verifier) {
    storage::RoleInfo r;
    r.oid = 16384;
    r.name = name;
    r.can_login = true;
    r.password = verifier;
    return r;
  }

  std::string dir_;
  test_util::SocketPair pair_;
  ClientInfo client_info_;
  std::optional<storage::RoleInfo> role_;
  std::future<bool> server_;
  std::map<char, std::string> last_error_;
};

TEST_F(AuthTest, TrustSendsNothing) {
  Hba("host all all 127.0.0.1/32 trust\n");
  Start("alice", std::nullopt);
  EXPECT_TRUE(Result());
  ExpectNothingMore();
}

TEST_F(AuthTest, RejectAndNoRule) {
  Hba("host all alice 127.0.0.1/32 reject\nlocal all bob trust\n");
  Start("alice", std::nullopt);
  auto e = ReadError();
  EXPECT_FALSE(Result());
  EXPECT_EQ(e['S'], "FATAL");
  EXPECT_EQ(e['C'], "28000");
  EXPECT_EQ(e['M'],
            "pg_hba.conf rejects connection for host \"127.0.0.1\", user \"alice\", database "
            "\"db\", no encryption");
}

TEST_F(AuthTest, NoMatchingRuleTcp) {
  Hba("local all all trust\n");
  Start("x", std::nullopt);
  auto e = ReadError();
  EXPECT_FALSE(Result());
  EXPECT_EQ(e['C'], "28000");
  EXPECT_EQ(e['M'],
            "no pg_hba.conf entry for host \"127.0.0.1\", user \"x\", database \"db\", no "
            "encryption");
}

TEST_F(AuthTest, NoMatchingRuleLocal) {
  Hba("host all all all trust\n");
  Start("x", std::nullopt, /*local=*/true);
  auto e = ReadError();
  EXPECT_FALSE(Result());
  EXPECT_EQ(e['M'],
            "no pg_hba.conf entry for host \"[local]\", user \"x\", database \"db\", no "
            "encryption");
}

TEST_F(AuthTest, CleartextPasswordWithScramVerifier) {
  Hba("local all all password\n");
  Start("alice", RoleWith("alice", MakeScramVerifier("s3cret")), true);
  EXPECT_EQ(ReadAuthCode(), 3);
  SendString("s3cret");
  EXPECT_TRUE(Result());
  ExpectNothingMore();
}

TEST_F(AuthTest, CleartextPasswordWithMd5Verifier) {
  Hba("local all all password\n");
  Start("alice", RoleWith("alice", MakeMd5Verifier("s3cret", "alice")), true);
  EXPECT_EQ(ReadAuthCode(), 3);
  SendString("s3cret");
  EXPECT_TRUE(Result());
}

TEST_F(AuthTest, CleartextWrongPassword) {
  Hba("local all all password\n");
  Start("alice", RoleWith("alice", MakeScramVerifier("s3cret")), true);
  EXPECT_EQ(ReadAuthCode(), 3);
  SendString("guess");
  auto e = ReadError();
  EXPECT_FALSE(Result());
  EXPECT_EQ(e['S'], "FATAL");
  EXPECT_EQ(e['C'], "28P01");
  EXPECT_EQ(e['M'], "password authentication failed for user \"alice\"");
  EXPECT_EQ(e.count('D'), 0u) << "the rule and the reason go to the log only";
}

TEST_F(AuthTest, CleartextUnknownRoleStillAsks) {
  Hba("local all all password\n");
  Start("ghost", std::nullopt, true);
  EXPECT_EQ(ReadAuthCode(), 3);
  SendString("anything");
  auto e = ReadError();
  EXPECT_FALSE(Result());
  EXPECT_EQ(e['C'], "28P01");
  EXPECT_EQ(e['M'], "password authentication failed for user \"ghost\"");
}

TEST_F(AuthTest, PasswordPacketWithTrailingBytes) {
  Hba("local all all password\n");
  Start("alice", RoleWith("alice", MakeScramVerifier("s3cret")), true);
  EXPECT_EQ(ReadAuthCode(), 3);
  std::string body("s3cret\0extra", 12);
  Send('p', AsSpan(body));
  auto e = ReadError();
  EXPECT_FALSE(Result());
  EXPECT_EQ(e['C'], "08P01");
  EXPECT_EQ(e['M'], "invalid password packet size");
}

TEST_F(AuthTest, Md5Exchange) {
  Hba("host all all 127.0.0.1/32 md5\n");
  Start("alice", RoleWith("alice", MakeMd5Verifier("s3cret", "alice")));
  ServerMessage m;
  ASSERT_EQ(ReadAuthCode(&m), 5);
  ASSERT_EQ(m.body.size(), 8u);
  std::string salt(m.body.begin() + 4, m.body.end());
  SendString("md5" + Md5HexForTest(Md5HexForTest("s3cret" + std::string("alice")) + salt));
  EXPECT_TRUE(Result());
  ExpectNothingMore();
}

TEST_F(AuthTest, Md5WrongPasswordAndFreshSalts) {
  Hba("host all all 127.0.0.1/32 md5\n");
  Start("alice", RoleWith("alice", MakeMd5Verifier("s3cret", "alice")));
  ServerMessage m;
  ASSERT_EQ(ReadAuthCode(&m), 5);
  std::string salt(m.body.begin() + 4, m.body.end());
  SendString("md5" + Md5HexForTest(Md5HexForTest("wrong" + std::string("alice")) + salt));
  auto e = ReadError();
  EXPECT_FALSE(Result());
  EXPECT_EQ(e['C'], "28P01");
}

TEST_F(AuthTest, Md5RuleWithScramVerifierRunsScram) {
  Hba("host all all 127.0.0.1/32 md5\n");
  Start("alice", RoleWith("alice", MakeScramVerifier("s3cret")));
  EXPECT_TRUE(ScramClient("s3cret"));
  EXPECT_TRUE(Result());
}

TEST_F(AuthTest, Md5RuleUnknownRoleFollowsPasswordEncryption) {
  Hba("host all all 127.0.0.1/32 md5\n");
  guc::password_encryption = static_cast<int>(guc::PasswordEncryption::kMd5);
  Start("ghost", std::nullopt);
  ServerMessage m;
  ASSERT_EQ(ReadAuthCode(&m), 5) << "md5 challenge for a role that does not exist";
  SendString("md5" + std::string(32, 'a'));
  auto e = ReadError();
  EXPECT_FALSE(Result());
  EXPECT_EQ(e['C'], "28P01");
  EXPECT_EQ(e['M'], "password authentication failed for user \"ghost\"");
}

TEST_F(AuthTest, ScramExchange) {
  Hba("host all all 127.0.0.1/32 scram-sha-256\n");
  Start("alice", RoleWith("alice", MakeScramVerifier("pencil")));
  EXPECT_TRUE(ScramClient("pencil"));
  EXPECT_TRUE(Result());
  ExpectNothingMore();
}

TEST_F(AuthTest, ScramWrongPassword) {
  Hba("host all all 127.0.0.1/32 scram-sha-256\n");
  Start("alice", RoleWith("alice", MakeScramVerifier("pencil")));
  EXPECT_FALSE(ScramClient("crayon"));
  EXPECT_FALSE(Result());
  EXPECT_EQ(last_error_['C'], "28P01");
  EXPECT_EQ(last_error_['M'], "password authentication failed for user \"alice\"");
}

TEST_F(AuthTest, ScramWithMd5VerifierIsAMockExchange) {
  Hba("host all all 127.0.0.1/32 scram-sha-256\n");
  Start("alice", RoleWith("alice", MakeMd5Verifier("pencil", "alice")));
  EXPECT_FALSE(ScramClient("pencil"));
  EXPECT_FALSE(Result());
  EXPECT_EQ(last_error_['C'], "28P01");
}

// A role that does not exist: the same messages as a real one, a salt that
// does not change between attempts, then the wrong-password error.
TEST_F(AuthTest, ScramUnknownRoleMockIsStablePerUser) {
  Hba("host all all 127.0.0.1/32 scram-sha-256\n");
  std::string first_a, first_b, first_c;
  Start("ghost", std::nullopt);
  EXPECT_FALSE(ScramClient("x", &first_a));
  EXPECT_FALSE(Result());
  EXPECT_EQ(last_error_['C'], "28P01");
  EXPECT_EQ(last_error_['M'], "password authentication failed for user \"ghost\"");

  pair_ = test_util::MakeSocketPair();
  Start("ghost", std::nullopt);
  EXPECT_FALSE(ScramClient("x", &first_b));
  EXPECT_FALSE(Result());

  pair_ = test_util::MakeSocketPair();
  Start("phantom", std::nullopt);
  EXPECT_FALSE(ScramClient("x", &first_c));
  EXPECT_FALSE(Result());

  auto salt_of = [](const std::string& f) { return f.substr(f.find(",s=")); };
  EXPECT_EQ(salt_of(first_a), salt_of(first_b));
  EXPECT_NE(salt_of(first_a), salt_of(first_c));
  EXPECT_NE(first_a, first_b) << "fresh server nonce every time";
}

TEST_F(AuthTest, ScramRoleWithoutPassword) {
  Hba("host all all 127.0.0.1/32 scram-sha-256\n");
  Start("alice", RoleWith("alice", ""));
  EXPECT_FALSE(ScramClient(""));
  EXPECT_FALSE(Result());
  EXPECT_EQ(last_error_['C'], "28P01");
}

TEST_F(AuthTest, SaslInitialResponseWithoutData) {
  Hba("host all all 127.0.0.1/32 scram-sha-256\n");
  Start("alice", RoleWith("alice", MakeScramVerifier("pencil")));
  ASSERT_EQ(ReadAuthCode(), 10);
  MessageWriter w;
  w.Begin('p');
  w.String("SCRAM-SHA-256");
  w.Int32(-1);
  w.End();
  test_util::WriteAll(pair_.client.get(), w.Buffer());
  ServerMessage m;
  ASSERT_EQ(ReadAuthCode(&m), 11);
  EXPECT_EQ(m.body.size(), 4u) << "an empty SASLContinue asks for the data";
  std::string first = "n,,n=,r=abcdef";
  Send('p', AsSpan(first));
  ASSERT_EQ(ReadAuthCode(&m), 11);
  std::string server_first(m.body.begin() + 4, m.body.end());
  EXPECT_EQ(server_first.rfind("r=abcdef", 0), 0u);
  pair_.client.reset();  // and go away
  EXPECT_FALSE(Result());
}

TEST_F(AuthTest, SaslWrongMechanismAndChannelBinding) {
  Hba("host all all 127.0.0.1/32 scram-sha-256\n");
  Start("alice", RoleWith("alice", MakeScramVerifier("pencil")));
  ASSERT_EQ(ReadAuthCode(), 10);
  SendSaslInitial("SCRAM-SHA-256-PLUS", "p=tls-server-end-point,,n=,r=abc");
  auto e = ReadError();
  EXPECT_FALSE(Result());
  EXPECT_EQ(e['C'], "08P01");
  EXPECT_EQ(e['M'], "client selected an invalid SASL authentication mechanism");

  pair_ = test_util::MakeSocketPair();
  Start("alice", RoleWith("alice", MakeScramVerifier("pencil")));
  ASSERT_EQ(ReadAuthCode(), 10);
  SendSaslInitial("SCRAM-SHA-256", "p=tls-server-end-point,,n=,r=abc");
  e = ReadError();
  EXPECT_FALSE(Result());
  EXPECT_EQ(e['C'], "08P01");
  EXPECT_EQ(e['M'], "channel binding is not supported");
}

TEST_F(AuthTest, SaslInitialResponseLengthMismatch) {
  Hba("host all all 127.0.0.1/32 scram-sha-256\n");
  Start("alice", RoleWith("alice", MakeScramVerifier("pencil")));
  ASSERT_EQ(ReadAuthCode(), 10);
  MessageWriter w;
  w.Begin('p');
  w.String("SCRAM-SHA-256");
  w.Int32(1000);  // says 1000, carries 5
  w.Bytes(AsSpan("n,,n="));
  w.End();
  test_util::WriteAll(pair_.client.get(), w.Buffer());
  auto e = ReadError();
  EXPECT_FALSE(Result());
  EXPECT_EQ(e['C'], "08P01");
}

TEST_F(AuthTest, OversizedMessageIsRefusedBeforeAllocation) {
  Hba("local all all password\n");
  Start("alice", RoleWith("alice", MakeScramVerifier("s3cret")), true);
  ASSERT_EQ(ReadAuthCode(), 3);
  // Announces 1 GB and sends only the header.
  uint8_t header[5] = {'p', 0x40, 0, 0, 0};
  test_util::WriteAll(pair_.client.get(), header);
  auto e = ReadError();
  EXPECT_FALSE(Result());
  EXPECT_EQ(e['C'], "08P01");
  EXPECT_EQ(e['M'], "invalid message length");
}

TEST_F(AuthTest, WrongMessageType) {
  Hba("local all all password\n");
  Start("alice", RoleWith("alice", MakeScramVerifier("s3cret")), true);
  ASSERT_EQ(ReadAuthCode(), 3);
  std::string q("SELECT 1\0", 9);  // the query string with its NUL
  Send('Q', AsSpan(q));
  auto e = ReadError();
  EXPECT_FALSE(Result());
  EXPECT_EQ(e['C'], "08P01");
  EXPECT_EQ(e['M'], "expected password response, got message type 81");
}

TEST_F(AuthTest, ClientLeavesMidExchange) {
  Hba("local all all scram-sha-256\n");
  Start("alice", RoleWith("alice", MakeScramVerifier("s3cret")), true);
  ASSERT_EQ(ReadAuthCode(), 10);
  pair_.client.reset();  // libpq does this to prompt for a password
  EXPECT_FALSE(Result());
}

TEST_F(AuthTest, TruncatedMessageThenHangUp) {
  Hba("local all all password\n");
  Start("alice", RoleWith("alice", MakeScramVerifier("s3cret")), true);
  ASSERT_EQ(ReadAuthCode(), 3);
  uint8_t partial[7] = {'p', 0, 0, 0, 20, 'a', 'b'};
  test_util::WriteAll(pair_.client.get(), partial);
  pair_.client.reset();
  EXPECT_FALSE(Result());
}

TEST(VerifierTest, FormatsAndPassThrough) {
  std::string scram = MakeScramVerifier("pencil");
  auto secret = scram::ParseSecret(scram);
  ASSERT_TRUE(secret.has_value()) << scram;
  EXPECT_EQ(secret->iterations, 4096);
  EXPECT_EQ(secret->salt.size(), 16u);
  EXPECT_TRUE(scram::VerifyPlainPassword(*secret, "pencil"));
  EXPECT_NE(MakeScramVerifier("pencil"), scram) << "a fresh salt each time";
  // md5 of "pencil" + "user", as PostgreSQL stores it.
  EXPECT_EQ(MakeMd5Verifier("pencil", "user"), "md5" + Md5HexForTest("penciluser"));
  // Already a verifier: stored as given.
  EXPECT_EQ(MakeScramVerifier(scram), scram);
  EXPECT_EQ(MakeMd5Verifier(scram, "user"), scram);
  std::string md5 = MakeMd5Verifier("pencil", "user");
  EXPECT_EQ(MakeScramVerifier(md5), md5);
  EXPECT_EQ(MakePasswordVerifier(md5, "user"), md5);

  guc::password_encryption = static_cast<int>(guc::PasswordEncryption::kMd5);
  EXPECT_EQ(MakePasswordVerifier("pencil", "user"), md5);
  guc::password_encryption = static_cast<int>(guc::PasswordEncryption::kScramSha256);
  EXPECT_TRUE(scram::ParseSecret(MakePasswordVerifier("pencil", "user")).has_value());
}

// password_encryption is a user-settable enum of PostgreSQL 15's two values.
TEST(VerifierTest, PasswordEncryptionSetting) {
  guc::DefineBuiltinSettings();
  EXPECT_EQ(guc::ShowValue("password_encryption"), "scram-sha-256");
  ASSERT_TRUE(
      guc::SetOption("password_encryption", "md5", guc::Context::kUserset, guc::Source::kSession)
          .ok());
  EXPECT_EQ(guc::password_encryption, static_cast<int>(guc::PasswordEncryption::kMd5));
  EXPECT_FALSE(
      guc::SetOption("password_encryption", "on", guc::Context::kUserset, guc::Source::kSession)
          .ok());
  ASSERT_TRUE(guc::ResetOption("password_encryption", guc::Context::kUserset).ok());
  EXPECT_EQ(guc::password_encryption, static_cast<int>(guc::PasswordEncryption::kScramSha256));
}

// The judge that matters: libpq. A one-connection server (startup packet,
// Authenticate, then just enough of a session for psql -c) on a loopback
// port, and the real psql as the client. Skipped without psql.
class LibpqAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (system("command -v psql >/dev/null 2>&1") != 0) GTEST_SKIP() << "psql not installed";
    char tmpl[] = "/tmp/bgw_libpq_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    listener_ = UniqueFd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(listener_);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(listener_.get(), reinterpret_cast<sockaddr*>(&sin), sizeof sin), 0);
    ASSERT_EQ(listen(listener_.get(), 4), 0);
    socklen_t len = sizeof sin;
    ASSERT_EQ(getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&sin), &len), 0);
    port_ = ntohs(sin.sin_port);
    guc::password_encryption = static_cast<int>(guc::PasswordEncryption::kScramSha256);
  }
  void TearDown() override {
    if (!dir_.empty()) {
      std::string cmd = "rm -rf '" + dir_ + "'";
      EXPECT_EQ(system(cmd.c_str()), 0);
    }
  }

  void Hba(const std::string& text) {
    std::ofstream(dir_ + "/hba.conf", std::ios::trunc) << text;
    Status s = LoadHba(dir_ + "/hba.conf");
    ASSERT_TRUE(s.ok()) << s.message();
  }

  // Serves one connection: true if Authenticate succeeded.
  bool ServeOne(const std::optional<storage::RoleInfo>& role) {
    pollfd p{listener_.get(), POLLIN, 0};
    if (poll(&p, 1, 20000) != 1) return false;
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    int fd = accept4(listener_.get(), reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC);
    if (fd < 0) return false;
    Connection conn{UniqueFd(fd)};
    Deadline deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    StartupOptions opts;
    opts.deadline = deadline;
    StartupResult r = ProcessStartupPacket(conn, opts);
    if (r.kind != StartupResult::Kind::kStartup) return false;
    ClientInfo client;
    client.addr = peer;
    client.user = r.user;
    client.database = r.database;
    std::optional<storage::RoleInfo> row = role && role->name == r.user ? role : std::nullopt;
    if (!Authenticate(conn, client, row, deadline)) return false;
    MessageWriter& w = conn.Out();
    w.AuthenticationOk();
    for (auto [k, v] : {std::pair{"server_version", "15.0"},
                        {"server_encoding", "UTF8"},
                        {"client_encoding", "UTF8"},
                        {"DateStyle", "ISO, MDY"},
                        {"integer_datetimes", "on"},
                        {"standard_conforming_strings", "on"}}) {
      w.ParameterStatus(k, v);
    }
    w.BackendKeyData(1, 2);
    w.ReadyForQuery('I');
    if (!conn.Flush(deadline).ok()) return true;
    for (;;) {
      FrontendMessage msg;
      if (!conn.ReadMessage(&msg, 1 << 20, deadline).ok() || msg.type == 'X') break;
      if (msg.type == 'Q') {
        w.Begin('I');  // EmptyQueryResponse: enough for psql -c
        w.End();
        w.ReadyForQuery('I');
        if (!conn.Flush(deadline).ok()) break;
      }
    }
    return true;
  }

  // Runs psql against the server; returns its exit status, stderr in *err.
  int Psql(const std::string& user, const char* password, std::string* err) {
    std::string cmd = "PGPASSFILE=/dev/null PGCONNECT_TIMEOUT=20 ";
    if (password != nullptr) cmd += std::string("PGPASSWORD='") + password + "' ";
    cmd += "psql -X -q -w \"host=127.0.0.1 port=" + std::to_string(port_) + " user=" + user +
           " dbname=db sslmode=disable gssencmode=disable\" -c ';' 2>" + dir_ + "/err";
    int status = system(cmd.c_str());
    std::ifstream in(dir_ + "/err");
    err->assign(std::istreambuf_iterator<char>(in), {});
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  // One psql run against one served connection.
  std::pair<int, bool> Run(const std::string& user, const char* password,
                           const std::optional<storage::RoleInfo>& role, std::string* err) {
    auto server = std::async(std::launch::async, [&] { return ServeOne(role); });
    int rc = Psql(user, password, err);
    return {rc, server.get()};
  }

  storage::RoleInfo Role(const std::string& name, const std::string& verifier) {
    storage::RoleInfo r;
    r.oid = 16384;
    r.name = name;
    r.can_login = true;
    r.password = verifier;
    return r;
  }

  std::string dir_;
  UniqueFd listener_;
  int port_ = 0;
};

TEST_F(LibpqAuthTest, Scram) {
  Hba("host all all 127.0.0.1/32 scram-sha-256\n");
  std::string err;
  auto [rc, ok] = Run("alice", "pencil", Role("alice", MakeScramVerifier("pencil")), &err);
  EXPECT_EQ(rc, 0) << err;
  EXPECT_TRUE(ok);
}

TEST_F(LibpqAuthTest, ScramWrongPassword) {
  Hba("host all all 127.0.0.1/32 scram-sha-256\n");
  std::string err;
  auto [rc, ok] = Run("alice", "crayon", Role("alice", MakeScramVerifier("pencil")), &err);
  EXPECT_NE(rc, 0);
  EXPECT_FALSE(ok);
  EXPECT_NE(err.find("password authentication failed for user \"alice\""), std::string::npos)
      << err;
}

TEST_F(LibpqAuthTest, ScramUnknownRole) {
  Hba("host all all 127.0.0.1/32 scram-sha-256\n");
  std::string err;
  auto [rc, ok] = Run("ghost", "pencil", std::nullopt, &err);
  EXPECT_NE(rc, 0);
  EXPECT_FALSE(ok);
  EXPECT_NE(err.find("password authentication failed for user \"ghost\""), std::string::npos)
      << err;
}

TEST_F(LibpqAuthTest, Md5) {
  Hba("host all all 127.0.0.1/32 md5\n");
  std::string err;
  auto [rc, ok] = Run("alice", "pencil", Role("alice", MakeMd5Verifier("pencil", "alice")), &err);
  EXPECT_EQ(rc, 0) << err;
  EXPECT_TRUE(ok);
}

TEST_F(LibpqAuthTest, Md5RuleWithScramVerifier) {
  Hba("host all all 127.0.0.1/32 md5\n");
  std::string err;
  auto [rc, ok] = Run("alice", "pencil", Role("alice", MakeScramVerifier("pencil")), &err);
  EXPECT_EQ(rc, 0) << err;
  EXPECT_TRUE(ok);
}

TEST_F(LibpqAuthTest, Password) {
  Hba("host all all 127.0.0.1/32 password\n");
  std::string err;
  auto [rc, ok] = Run("alice", "pencil", Role("alice", MakeScramVerifier("pencil")), &err);
  EXPECT_EQ(rc, 0) << err;
  EXPECT_TRUE(ok);
}

TEST_F(LibpqAuthTest, NoPasswordSuppliedClientHangsUp) {
  Hba("host all all 127.0.0.1/32 scram-sha-256\n");
  std::string err;
  auto [rc, ok] = Run("alice", nullptr, Role("alice", MakeScramVerifier("pencil")), &err);
  EXPECT_NE(rc, 0);
  EXPECT_FALSE(ok);
  EXPECT_NE(err.find("no password supplied"), std::string::npos) << err;
}

TEST_F(LibpqAuthTest, NoRule) {
  Hba("local all all trust\n");
  std::string err;
  auto [rc, ok] = Run("alice", "pencil", std::nullopt, &err);
  EXPECT_NE(rc, 0);
  EXPECT_FALSE(ok);
  EXPECT_NE(err.find("no pg_hba.conf entry for host \"127.0.0.1\", user \"alice\", database "
                     "\"db\", no encryption"),
            std::string::npos)
      << err;
}

}  // namespace
}  // namespace bgw::protocol
