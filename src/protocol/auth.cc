// Client authentication: hba.conf rules, the password exchanges on the wire,
// and the verifiers the catalog stores; see auth.h.
//
// The exchanges follow PostgreSQL's backend (auth.c, auth-scram.c):
//   password       R 3, then 'p' with the password
//   md5            R 5 + 4 random salt bytes, then 'p' with "md5" + hex
//   scram-sha-256  R 10 with the mechanism list, 'p' SASLInitialResponse,
//                  R 11 SASLContinue, 'p' SASLResponse, R 12 SASLFinal
// A role that does not exist, or has no usable password, still gets the
// whole exchange (SCRAM with a salt derived from the user name and a
// per-server secret, so it is stable for a name while the server runs), and
// then the same 28P01 as a wrong password: a client cannot probe for roles.
//
// On success nothing is sent: the caller sends AuthenticationOk with the
// session's first messages (one round trip, as PostgreSQL does). Every
// client message is read with a 65535-byte cap (PostgreSQL's
// PG_MAX_AUTH_TOKEN_LENGTH) before anything is allocated for it.
#include "protocol/auth.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/random.h>

#include <array>
#include <fstream>
#include <sstream>

#include "common/internal_error.h"
#include "common/log.h"
#include "common/strutil.h"
#include "crypto/password.h"
#include "crypto/scram.h"
#include "guc/settings.h"
#include "protocol/hba.h"

namespace bgw::protocol {

namespace scram = crypto::scram;
using crypto::IsMd5Verifier;
using crypto::MakeMd5Verifier;
using crypto::Md5Hex;
using crypto::RandomBytes;

namespace {

constexpr size_t kMaxAuthMessageLen = 65535;

// Authentication request codes (the Int32 after 'R').
constexpr int32_t kAuthCleartextPassword = 3;
constexpr int32_t kAuthMd5Password = 5;
constexpr int32_t kAuthSasl = 10;
constexpr int32_t kAuthSaslContinue = 11;
constexpr int32_t kAuthSaslFinal = 12;

constexpr char kScramMechanism[] = "SCRAM-SHA-256";

// Written by the postmaster in LoadHba (and lazily by a process that
// authenticates without having loaded rules: tests); children inherit both
// through fork and never write them.
std::vector<HbaRule>* g_rules = nullptr;
std::array<uint8_t, 32> g_mock_secret{};
bool g_mock_secret_set = false;

void EnsureMockSecret() {
  if (g_mock_secret_set) return;
  // getrandom, not RAND_bytes: the postmaster sets this in LoadHba, and
  // OpenSSL's generator would initialize its providers there (~250 kB of
  // heap in the postmaster that every fork then copies and tears down).
  if (getrandom(g_mock_secret.data(), g_mock_secret.size(), 0) !=
      static_cast<ssize_t>(g_mock_secret.size())) {
    BGW_INTERNAL_ERROR("could not generate random bytes");
  }
  g_mock_secret_set = true;
}

std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string HostText(const ClientInfo& client) {
  if (client.is_unix) return "[local]";
  char host[INET6_ADDRSTRLEN] = "";
  if (client.addr.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&client.addr)->sin_addr, host,
              sizeof host);
  } else if (client.addr.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&client.addr)->sin6_addr, host,
              sizeof host);
  } else {
    return "[unknown]";
  }
  return host;
}

// One authentication attempt: the rule that matched, the connection, and the
// failure reporting every method shares.
class Attempt {
 public:
  Attempt(Connection& conn, const ClientInfo& client, const HbaRule* rule, Deadline deadline)
      : conn_(conn), client_(client), rule_(rule), deadline_(deadline) {}

  // Logs at FATAL (with `log_detail` and the rule in the DETAIL) and sends a
  // FATAL ErrorResponse carrying `client_detail`. Always returns false.
  bool Fail(const std::string& sqlstate, const std::string& message,
            const std::string& log_detail = {}, const std::string& client_detail = {}) {
    log::Message m;
    m.level = log::Level::kFatal;
    m.sqlstate = sqlstate;
    m.text = message;
    m.detail = log_detail;
    if (rule_ != nullptr) {
      if (!m.detail.empty()) m.detail += "\n";
      m.detail += StringPrintf("Connection matched pg_hba.conf line %d: \"%s\"", rule_->line,
                               rule_->text.c_str());
    }
    log::Emit(m);
    conn_.Out().Clear();
    conn_.Out().ErrorResponse(ErrorFields{"FATAL", sqlstate, message, client_detail, ""});
    (void)conn_.Flush(deadline_);
    return false;
  }

  bool FailPassword(const std::string& log_detail) {
    return Fail(
        "28P01",
        StringPrintf("password authentication failed for user \"%s\"", client_.user.c_str()),
        log_detail);
  }

  bool FailSql(const ErrorReport& e) { return Fail(e.sqlstate, e.message, e.detail, e.detail); }

  // Sends AuthenticationXXX. False (quietly) if the client is gone.
  bool SendRequest(int32_t code, std::span<const uint8_t> extra = {}) {
    MessageWriter& w = conn_.Out();
    w.Begin('R');
    w.Int32(code);
    w.Bytes(extra);
    w.End();
    Status st = conn_.Flush(deadline_);
    if (!st.ok()) return Gone(st);
    return true;
  }

  // Reads the client's 'p' message. False when the client left (quietly),
  // or sent something else (reported).
  bool ReadResponse(FrontendMessage* msg, const char* expected) {
    Status st = conn_.ReadMessage(msg, kMaxAuthMessageLen, deadline_);
    if (!st.ok()) {
      if (IoCodeOf(st) == IoCode::kProtocolViolation) {
        return Fail("08P01", st.message());
      }
      return Gone(st);
    }
    if (msg->type != 'p') {
      return Fail("08P01", StringPrintf("expected %s response, got message type %d", expected,
                                        static_cast<int>(static_cast<unsigned char>(msg->type))));
    }
    return true;
  }

  // A password packet: one NUL-terminated string filling the body.
  bool ReadPasswordString(std::string* out) {
    FrontendMessage msg;
    if (!ReadResponse(&msg, "password")) return false;
    MessageReader r(msg.body);
    Result<std::string_view> s = r.String();
    if (!s.ok() || !r.ExpectEnd().ok()) return Fail("08P01", "invalid password packet size");
    *out = std::string(*s);
    return true;
  }

  // A client that leaves mid-exchange is routine (libpq closes the
  // connection to prompt for a password, then reconnects); so is the
  // authentication timeout, which PostgreSQL also obeys silently.
  bool Gone(const Status& st) {
    if (IoCodeOf(st) == IoCode::kError) {
      BGW_LOG("could not exchange authentication messages with client: %s", st.message().c_str());
    }
    return false;
  }

  bool Password(const std::optional<storage::RoleInfo>& role);
  bool Md5(const std::optional<storage::RoleInfo>& role);
  bool Scram(const std::optional<scram::Secret>& secret, const std::string& doomed_detail);

  const ClientInfo& client() const { return client_; }

 private:
  Connection& conn_;
  const ClientInfo& client_;
  const HbaRule* rule_;
  Deadline deadline_;
};

std::string NoRoleDetail(const std::string& user) {
  return StringPrintf("Role \"%s\" does not exist.", user.c_str());
}
std::string NoPasswordDetail(const std::string& user) {
  return StringPrintf("User \"%s\" has no password assigned.", user.c_str());
}
std::string MismatchDetail(const std::string& user) {
  return StringPrintf("Password does not match for user \"%s\".", user.c_str());
}

bool Attempt::Password(const std::optional<storage::RoleInfo>& role) {
  if (!SendRequest(kAuthCleartextPassword)) return false;
  std::string password;
  if (!ReadPasswordString(&password)) return false;
  const std::string& user = client_.user;
  if (!role) return FailPassword(NoRoleDetail(user));
  if (role->password.empty()) return FailPassword(NoPasswordDetail(user));
  if (password.empty()) return FailPassword("Empty password returned by client.");
  bool match = false;
  if (std::optional<scram::Secret> secret = scram::ParseSecret(role->password)) {
    match = scram::VerifyPlainPassword(*secret, password);
  } else if (IsMd5Verifier(role->password)) {
    match =
        scram::ConstantTimeEqual(AsBytes(MakeMd5Verifier(password, user)), AsBytes(role->password));
  } else {
    return FailPassword(
        StringPrintf("User \"%s\" has a password in an unrecognized format.", user.c_str()));
  }
  return match ? true : FailPassword(MismatchDetail(user));
}

bool Attempt::Md5(const std::optional<storage::RoleInfo>& role) {
  uint8_t salt[4];
  RandomBytes(salt);
  if (!SendRequest(kAuthMd5Password, salt)) return false;
  std::string response;
  if (!ReadPasswordString(&response)) return false;
  const std::string& user = client_.user;
  if (!role) return FailPassword(NoRoleDetail(user));
  if (!IsMd5Verifier(role->password)) return FailPassword(NoPasswordDetail(user));
  std::string expected =
      "md5" + Md5Hex(role->password.substr(3) +
                     std::string(reinterpret_cast<const char*>(salt), sizeof salt));
  if (!scram::ConstantTimeEqual(AsBytes(expected), AsBytes(response))) {
    return FailPassword(MismatchDetail(user));
  }
  return true;
}

bool Attempt::Scram(const std::optional<scram::Secret>& secret, const std::string& doomed_detail) {
  // The mechanism list: one name, then an empty string ends it.
  std::string mechanisms = std::string(kScramMechanism) + '\0' + '\0';
  if (!SendRequest(kAuthSasl, AsBytes(mechanisms))) return false;

  // A mock salt for doomed exchanges: stable per user name (while this
  // server runs), so repeated probes see what a real role would show.
  EnsureMockSecret();
  scram::Key mock = scram::HmacSha256(g_mock_secret, "mock salt:" + client_.user);
  scram::ServerExchange exchange(
      secret, std::vector<uint8_t>(mock.begin(), mock.begin() + scram::kDefaultSaltLen));

  FrontendMessage msg;
  if (!ReadResponse(&msg, "SASL")) return false;
  MessageReader r(msg.body);
  Result<std::string_view> mech = r.String();
  Result<int32_t> len = mech.ok() ? r.Int32() : Result<int32_t>(mech.status());
  if (!mech.ok() || !len.ok()) return Fail("08P01", "invalid SASLInitialResponse message");
  if (*mech != kScramMechanism) {
    return Fail("08P01", "client selected an invalid SASL authentication mechanism");
  }
  std::string client_first;
  if (*len == -1) {
    // No initial response: ask for it with an empty SASLContinue.
    if (!r.ExpectEnd().ok()) return Fail("08P01", "invalid SASLInitialResponse message");
    if (!SendRequest(kAuthSaslContinue)) return false;
    if (!ReadResponse(&msg, "SASL")) return false;
    client_first.assign(msg.body.begin(), msg.body.end());
  } else {
    if (*len < 0 || static_cast<size_t>(*len) != r.Remaining()) {
      return Fail("08P01", "invalid SASLInitialResponse message");
    }
    Result<std::span<const uint8_t>> data = r.Bytes(static_cast<size_t>(*len));
    if (!data.ok()) return Fail("08P01", "invalid SASLInitialResponse message");
    client_first.assign(data->begin(), data->end());
  }

  uint8_t nonce[scram::kServerNonceLen];
  RandomBytes(nonce);
  Result<std::string> server_first = exchange.ReadClientFirst(client_first, nonce);
  if (!server_first.ok()) return FailSql(server_first.error());
  if (!SendRequest(kAuthSaslContinue, AsBytes(*server_first))) return false;

  if (!ReadResponse(&msg, "SASL")) return false;
  std::string client_final(msg.body.begin(), msg.body.end());
  auto final_result = exchange.ReadClientFinal(client_final);
  if (!final_result.ok()) return FailSql(final_result.error());
  if (!final_result->authenticated) {
    return FailPassword(secret ? MismatchDetail(client_.user) : doomed_detail);
  }
  return SendRequest(kAuthSaslFinal, AsBytes(final_result->server_final));
}

}  // namespace

const std::vector<HbaRule>& CurrentHbaRules() {
  static const std::vector<HbaRule> kNone;
  return g_rules != nullptr ? *g_rules : kNone;
}

Status LoadHba(const std::string& path) {
  EnsureMockSecret();
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::FromErrno("could not open configuration file \"" + path + "\"");
  std::stringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return Status::FromErrno("could not read configuration file \"" + path + "\"");
  Result<std::vector<HbaRule>> rules = ParseHba(buf.str(), path);
  if (!rules.ok()) {
    Status failed = rules.status();
    failed.error().detail =
        std::string("hba.conf was not ") +
        (g_rules != nullptr ? "reloaded; the previous rules stay in force." : "loaded.");
    return failed;
  }
  if (g_rules == nullptr) g_rules = new std::vector<HbaRule>();  // lives as long as the process
  *g_rules = std::move(*rules);
  return Status::Ok();
}

bool Authenticate(Connection& conn, const ClientInfo& client,
                  const std::optional<storage::RoleInfo>& role, Deadline deadline) {
  HbaRequest request{client.is_unix, &client.addr, client.user, client.database};
  const HbaRule* rule = MatchHba(CurrentHbaRules(), request);
  Attempt attempt(conn, client, rule, deadline);
  const std::string host = HostText(client);
  if (rule == nullptr) {
    return attempt.Fail(
        "28000", StringPrintf("no pg_hba.conf entry for host \"%s\", user \"%s\", database \"%s\", "
                              "no encryption",
                              host.c_str(), client.user.c_str(), client.database.c_str()));
  }
  const std::string& user = client.user;
  switch (rule->method) {
    case HbaMethod::kTrust:
      return true;
    case HbaMethod::kReject:
      return attempt.Fail(
          "28000", StringPrintf("pg_hba.conf rejects connection for host \"%s\", user \"%s\", "
                                "database \"%s\", no encryption",
                                host.c_str(), user.c_str(), client.database.c_str()));
    case HbaMethod::kPassword:
      return attempt.Password(role);
    case HbaMethod::kMd5:
    case HbaMethod::kScramSha256:
      break;
  }
  std::optional<scram::Secret> secret;
  std::string doomed_detail;
  if (!role) {
    doomed_detail = NoRoleDetail(user);
  } else if (role->password.empty()) {
    doomed_detail = NoPasswordDetail(user);
  } else {
    secret = scram::ParseSecret(role->password);
    if (!secret) {
      doomed_detail = StringPrintf("User \"%s\" does not have a valid SCRAM secret.", user.c_str());
    }
  }
  if (rule->method == HbaMethod::kMd5) {
    // PostgreSQL's rule: md5 in hba.conf means SCRAM when the stored
    // verifier is SCRAM; without a verifier, password_encryption decides
    // which exchange the doomed attempt imitates.
    bool md5_exchange =
        role && !role->password.empty()
            ? IsMd5Verifier(role->password)
            : guc::password_encryption == static_cast<int>(guc::PasswordEncryption::kMd5);
    if (md5_exchange) return attempt.Md5(role);
  }
  return attempt.Scram(secret, doomed_detail);
}

}  // namespace bgw::protocol
