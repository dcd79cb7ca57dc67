// hba.conf: parsing PostgreSQL's pg_hba.conf format and finding the rule
// that applies to a connection.
//
// Supported: connection types local, host, hostssl (never matches: the
// server has no TLS), hostnossl, hostgssenc (never matches), hostnogssenc;
// DATABASE "all", "sameuser", "replication" (matches no ordinary
// connection), names, quoted names and comma-separated lists; USER "all",
// names, quoted names, lists; ADDRESS "all", ADDRESS/CIDR or ADDRESS MASK,
// IPv4 and IPv6; METHOD trust, reject, scram-sha-256, md5, password. Every
// other PostgreSQL feature (group "+name", "@file" includes, host names,
// samehost/samenet, other methods, options after the method) is an error
// naming file and line, never silently ignored: a rule that means less than
// it says would open the door wider than the administrator intended.
#pragma once

#include <sys/socket.h>

#include <string>
#include <vector>

#include "common/status.h"

namespace bgw::protocol {

enum class HbaConnType { kLocal, kHost, kHostSsl, kHostNoSsl, kHostGssEnc, kHostNoGssEnc };
enum class HbaMethod { kTrust, kReject, kScramSha256, kMd5, kPassword };

const char* HbaMethodName(HbaMethod method);  // "trust", "scram-sha-256", ...

// One DATABASE or USER item. A quoted word is always a name, never a keyword.
struct HbaName {
  enum class Kind { kName, kAll, kSameUser, kReplication } kind = Kind::kName;
  std::string name;
};

struct HbaRule {
  int line = 0;
  std::string text;  // the line as written (trimmed), for log DETAILs
  HbaConnType type = HbaConnType::kLocal;
  std::vector<HbaName> databases;
  std::vector<HbaName> users;
  bool any_address = false;  // ADDRESS "all" (host rules)
  sockaddr_storage address{};
  sockaddr_storage mask{};
  HbaMethod method = HbaMethod::kReject;
};

// Parses hba.conf text; `file` names it in errors ("configuration file
// "<file>" line N: ..."). Fails on the first bad line, or if there is no
// rule at all (PostgreSQL refuses an empty pg_hba.conf).
Result<std::vector<HbaRule>> ParseHba(const std::string& text, const std::string& file);

// The connection facts a rule is matched against.
struct HbaRequest {
  bool is_unix = false;
  const sockaddr_storage* addr = nullptr;  // for TCP connections
  std::string user;
  std::string database;
};

// First matching rule, or nullptr. Names compare exactly (case-sensitive).
const HbaRule* MatchHba(const std::vector<HbaRule>& rules, const HbaRequest& request);

// The rules LoadHba (auth.h) installed in this process.
const std::vector<HbaRule>& CurrentHbaRules();

}  // namespace bgw::protocol
