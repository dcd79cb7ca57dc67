// hba.conf parsing and rule matching; see hba.h.
#include "protocol/hba.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <optional>
#include <span>

#include "common/strutil.h"

namespace bgw::protocol {
namespace {

struct Item {
  std::string text;
  bool quoted = false;
};
using Field = std::vector<Item>;

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

// Splits one line into fields; a field is a comma-separated list of items
// ("a,b" and "a, b" are one field of two items). Quotes make spaces, commas
// and '#' literal and turn keywords into names. Returns an error text for an
// unterminated quote.
std::optional<std::string> Tokenize(std::string_view line, std::vector<Field>* fields) {
  size_t i = 0;
  auto skip_blanks = [&] {
    while (i < line.size() && IsBlank(line[i])) i++;
  };
  while (true) {
    skip_blanks();
    if (i >= line.size() || line[i] == '#') return std::nullopt;
    Field field;
    while (true) {
      Item item;
      bool in_quote = false;
      while (i < line.size()) {
        char c = line[i];
        if (c == '"') {
          in_quote = !in_quote;
          item.quoted = true;
          i++;
          continue;
        }
        if (!in_quote && (IsBlank(c) || c == ',' || c == '#')) break;
        item.text += c;
        i++;
      }
      if (in_quote) return std::string("unterminated quoted string");
      field.push_back(std::move(item));
      if (i < line.size() && line[i] == ',') {
        i++;
        skip_blanks();
        if (i >= line.size() || line[i] == '#') {
          return std::string("list ends with a comma");
        }
        continue;
      }
      break;
    }
    fields->push_back(std::move(field));
  }
}

std::optional<sockaddr_storage> ParseIp(const std::string& text) {
  sockaddr_storage ss{};
  auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
  if (inet_pton(AF_INET, text.c_str(), &sin->sin_addr) == 1) {
    sin->sin_family = AF_INET;
    return ss;
  }
  ss = {};
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET6, text.c_str(), &sin6->sin6_addr) == 1) {
    sin6->sin6_family = AF_INET6;
    return ss;
  }
  return std::nullopt;
}

// The address bytes of an AF_INET/AF_INET6 sockaddr.
std::span<const uint8_t> AddrBytes(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(&ss);
    return {reinterpret_cast<const uint8_t*>(&sin->sin_addr), 4};
  }
  const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&ss);
  return {reinterpret_cast<const uint8_t*>(&sin6->sin6_addr), 16};
}

std::span<uint8_t> AddrBytesMut(sockaddr_storage& ss) {
  auto c = AddrBytes(ss);
  return {const_cast<uint8_t*>(c.data()), c.size()};
}

sockaddr_storage MaskFromBits(int family, int bits) {
  sockaddr_storage ss{};
  ss.ss_family = static_cast<sa_family_t>(family);
  std::span<uint8_t> b = AddrBytesMut(ss);
  for (size_t i = 0; i < b.size(); i++) {
    int n = bits - static_cast<int>(i) * 8;
    b[i] = n >= 8 ? 0xFF : n <= 0 ? 0 : static_cast<uint8_t>(0xFF << (8 - n));
  }
  return ss;
}

// A netmask must be contiguous ones then zeros.
bool IsContiguousMask(std::span<const uint8_t> b) {
  bool zero_seen = false;
  for (uint8_t byte : b) {
    for (int bit = 7; bit >= 0; bit--) {
      bool one = (byte >> bit) & 1;
      if (one && zero_seen) return false;
      if (!one) zero_seen = true;
    }
  }
  return true;
}

bool IsUnsupportedMethod(const std::string& m) {
  for (const char* known :
       {"peer", "ident", "gss", "sspi", "pam", "ldap", "radius", "cert", "bsd", "krb5", "crypt"}) {
    if (m == known) return true;
  }
  return false;
}

class LineParser {
 public:
  LineParser(const std::string& file, int line) : file_(file), line_(line) {}

  Status Error(const std::string& what) const {
    return Status::Error(
        StringPrintf("configuration file \"%s\" line %d: %s", file_.c_str(), line_, what.c_str()));
  }

  // A field that must be one unquoted word.
  Result<std::string> Single(const Field& f, const char* what) const {
    if (f.size() != 1) return Error(StringPrintf("multiple values specified for %s", what));
    return f[0].text;
  }

  Result<std::vector<HbaName>> Names(const Field& f, bool database) const {
    std::vector<HbaName> out;
    for (const Item& item : f) {
      HbaName n;
      n.name = item.text;
      if (!item.quoted) {
        if (item.text == "all") {
          n.kind = HbaName::Kind::kAll;
        } else if (database && item.text == "sameuser") {
          n.kind = HbaName::Kind::kSameUser;
        } else if (database && item.text == "replication") {
          n.kind = HbaName::Kind::kReplication;
        } else if (database && (item.text == "samerole" || item.text == "samegroup")) {
          return Error("\"" + item.text + "\" (role membership) is not supported");
        } else if (!item.text.empty() && item.text[0] == '+') {
          return Error("group membership (\"" + item.text + "\") is not supported");
        } else if (!item.text.empty() && item.text[0] == '@') {
          return Error("file inclusion (\"" + item.text + "\") is not supported");
        }
      }
      if (n.kind == HbaName::Kind::kName && n.name.empty()) {
        return Error(StringPrintf("empty %s name", database ? "database" : "role"));
      }
      out.push_back(std::move(n));
    }
    return out;
  }

  Result<HbaRule> Parse(const std::vector<Field>& fields) const {
    HbaRule rule;
    rule.line = line_;
    size_t next = 0;
    Result<std::string> type = Single(fields[next++], "connection type");
    if (!type.ok()) return type.status();
    if (*type == "local") {
      rule.type = HbaConnType::kLocal;
    } else if (*type == "host") {
      rule.type = HbaConnType::kHost;
    } else if (*type == "hostssl") {
      rule.type = HbaConnType::kHostSsl;
    } else if (*type == "hostnossl") {
      rule.type = HbaConnType::kHostNoSsl;
    } else if (*type == "hostgssenc") {
      rule.type = HbaConnType::kHostGssEnc;
    } else if (*type == "hostnogssenc") {
      rule.type = HbaConnType::kHostNoGssEnc;
    } else {
      return Error("invalid connection type \"" + *type + "\"");
    }

    if (next >= fields.size()) return Error("end-of-line before database specification");
    Result<std::vector<HbaName>> dbs = Names(fields[next++], /*database=*/true);
    if (!dbs.ok()) return dbs.status();
    rule.databases = std::move(*dbs);

    if (next >= fields.size()) return Error("end-of-line before role specification");
    Result<std::vector<HbaName>> users = Names(fields[next++], /*database=*/false);
    if (!users.ok()) return users.status();
    rule.users = std::move(*users);

    if (rule.type != HbaConnType::kLocal) {
      if (next >= fields.size()) return Error("end-of-line before IP address specification");
      Result<std::string> addr = Single(fields[next++], "IP address");
      if (!addr.ok()) return addr.status();
      if (Status s = ParseAddress(*addr, fields, &next, &rule); !s.ok()) return s;
    }

    if (next >= fields.size()) return Error("end-of-line before authentication method");
    Result<std::string> method = Single(fields[next++], "authentication type");
    if (!method.ok()) return method.status();
    if (*method == "trust") {
      rule.method = HbaMethod::kTrust;
    } else if (*method == "reject") {
      rule.method = HbaMethod::kReject;
    } else if (*method == "scram-sha-256") {
      rule.method = HbaMethod::kScramSha256;
    } else if (*method == "md5") {
      rule.method = HbaMethod::kMd5;
    } else if (*method == "password") {
      rule.method = HbaMethod::kPassword;
    } else if (IsUnsupportedMethod(*method)) {
      return Error("authentication method \"" + *method + "\" not supported");
    } else {
      return Error("invalid authentication method \"" + *method + "\"");
    }
    if (next < fields.size()) {
      return Error("authentication option \"" + fields[next][0].text + "\" not supported");
    }
    return rule;
  }

 private:
  Status ParseAddress(const std::string& addr, const std::vector<Field>& fields, size_t* next,
                      HbaRule* rule) const {
    if (addr == "all") {
      rule->any_address = true;
      return Status::Ok();
    }
    if (addr == "samehost" || addr == "samenet") {
      return Error("\"" + addr + "\" is not supported");
    }
    size_t slash = addr.find('/');
    std::string ip = addr.substr(0, slash);
    std::optional<sockaddr_storage> parsed = ParseIp(ip);
    if (!parsed) {
      if (slash == std::string::npos && ip.find(':') == std::string::npos &&
          ip.find_first_not_of("0123456789.") != std::string::npos) {
        return Error("host names are not supported: \"" + addr + "\"");
      }
      return Error("invalid IP address \"" + ip + "\"");
    }
    rule->address = *parsed;
    const int family = parsed->ss_family;
    const int max_bits = family == AF_INET ? 32 : 128;
    if (slash != std::string::npos) {
      std::string bits_text = addr.substr(slash + 1);
      int bits = -1;
      if (!bits_text.empty() && bits_text.size() <= 3 &&
          bits_text.find_first_not_of("0123456789") == std::string::npos) {
        bits = std::stoi(bits_text);
      }
      if (bits < 0 || bits > max_bits) {
        return Error("invalid CIDR mask in address \"" + addr + "\"");
      }
      rule->mask = MaskFromBits(family, bits);
    } else {
      if (*next >= fields.size()) {
        return Error("end-of-line before netmask specification");
      }
      Result<std::string> mask_text = Single(fields[(*next)++], "netmask");
      if (!mask_text.ok()) return mask_text.status();
      std::optional<sockaddr_storage> mask = ParseIp(*mask_text);
      if (!mask || !IsContiguousMask(AddrBytes(*mask))) {
        return Error("invalid IP mask \"" + *mask_text + "\"");
      }
      if (mask->ss_family != family) return Error("IP address and mask do not match");
      rule->mask = *mask;
    }
    // Host bits set in the address would never match; clear them, as
    // PostgreSQL compares (addr & mask) with (client & mask).
    std::span<uint8_t> a = AddrBytesMut(rule->address);
    std::span<const uint8_t> m = AddrBytes(rule->mask);
    for (size_t i = 0; i < a.size(); i++) a[i] &= m[i];
    return Status::Ok();
  }

  const std::string& file_;
  int line_;
};

bool NameMatches(const std::vector<HbaName>& names, const std::string& value,
                 const std::string& user) {
  for (const HbaName& n : names) {
    switch (n.kind) {
      case HbaName::Kind::kAll:
        return true;
      case HbaName::Kind::kSameUser:
        if (value == user) return true;
        break;
      case HbaName::Kind::kReplication:
        break;  // only replication connections, which this server has none of
      case HbaName::Kind::kName:
        if (n.name == value) return true;
        break;
    }
  }
  return false;
}

bool AddressMatches(const HbaRule& rule, const sockaddr_storage* client) {
  if (rule.any_address) return true;
  if (client == nullptr || client->ss_family != rule.address.ss_family) return false;
  std::span<const uint8_t> c = AddrBytes(*client);
  std::span<const uint8_t> a = AddrBytes(rule.address);
  std::span<const uint8_t> m = AddrBytes(rule.mask);
  for (size_t i = 0; i < c.size(); i++) {
    if ((c[i] & m[i]) != a[i]) return false;
  }
  return true;
}

}  // namespace

const char* HbaMethodName(HbaMethod method) {
  switch (method) {
    case HbaMethod::kTrust:
      return "trust";
    case HbaMethod::kReject:
      return "reject";
    case HbaMethod::kScramSha256:
      return "scram-sha-256";
    case HbaMethod::kMd5:
      return "md5";
    case HbaMethod::kPassword:
      return "password";
  }
  return "?";
}

Result<std::vector<HbaRule>> ParseHba(const std::string& text, const std::string& file) {
  std::vector<HbaRule> rules;
  int line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    line_no++;
    if (line.find('\0') != std::string_view::npos) {
      return LineParser(file, line_no).Error("invalid character in line");
    }
    std::vector<Field> fields;
    LineParser parser(file, line_no);
    if (std::optional<std::string> err = Tokenize(line, &fields)) return parser.Error(*err);
    if (fields.empty()) continue;
    Result<HbaRule> rule = parser.Parse(fields);
    if (!rule.ok()) return rule.status();
    rule->text = std::string(Trim(line));
    rules.push_back(std::move(*rule));
  }
  if (rules.empty()) {
    return Status::Error("configuration file \"" + file + "\" contains no entries");
  }
  return rules;
}

const HbaRule* MatchHba(const std::vector<HbaRule>& rules, const HbaRequest& request) {
  for (const HbaRule& rule : rules) {
    switch (rule.type) {
      case HbaConnType::kLocal:
        if (!request.is_unix) continue;
        break;
      case HbaConnType::kHost:
      case HbaConnType::kHostNoSsl:
      case HbaConnType::kHostNoGssEnc:
        if (request.is_unix || !AddressMatches(rule, request.addr)) continue;
        break;
      case HbaConnType::kHostSsl:
      case HbaConnType::kHostGssEnc:
        continue;  // no TLS, no GSSAPI encryption: never
    }
    if (!NameMatches(rule.databases, request.database, request.user)) continue;
    if (!NameMatches(rule.users, request.user, request.user)) continue;
    return &rule;
  }
  return nullptr;
}

}  // namespace bgw::protocol
