// SCRAM-SHA-256 key derivation, secrets and the server's exchange; see scram.h.
#include "crypto/scram.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>
#include <cstring>

#include "common/internal_error.h"

namespace bgw::crypto::scram {
namespace {

constexpr char kB64Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int B64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

ErrorReport Malformed(std::string detail) {
  return MakeError("08P01", "malformed SCRAM message", std::move(detail));
}

// A SCRAM attribute value may not contain ',' (RFC 5802 "value").
std::string_view TakeUntilComma(std::string_view* rest) {
  size_t comma = rest->find(',');
  std::string_view v = rest->substr(0, comma);
  rest->remove_prefix(comma == std::string_view::npos ? rest->size() : comma);
  return v;
}

// printable = %x21-2B / %x2D-7E: every visible ASCII character except ','.
bool IsPrintableNonce(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < 0x21 || c > 0x7E || c == ',') return false;
  }
  return true;
}

// Reads "<attr>=" at the front of *rest and returns the value up to the next
// ',' (consumed too, if present).
std::optional<std::string_view> ReadAttribute(std::string_view* rest, char attr) {
  if (rest->size() < 2 || (*rest)[0] != attr || (*rest)[1] != '=') return std::nullopt;
  rest->remove_prefix(2);
  std::string_view v = TakeUntilComma(rest);
  if (!rest->empty()) rest->remove_prefix(1);
  return v;
}

}  // namespace

std::string Base64Encode(std::span<const uint8_t> data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8) | data[i + 2];
    out += kB64Alphabet[(v >> 18) & 63];
    out += kB64Alphabet[(v >> 12) & 63];
    out += kB64Alphabet[(v >> 6) & 63];
    out += kB64Alphabet[v & 63];
  }
  size_t left = data.size() - i;
  if (left == 1) {
    uint32_t v = uint32_t{data[i]} << 16;
    out += kB64Alphabet[(v >> 18) & 63];
    out += kB64Alphabet[(v >> 12) & 63];
    out += "==";
  } else if (left == 2) {
    uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8);
    out += kB64Alphabet[(v >> 18) & 63];
    out += kB64Alphabet[(v >> 12) & 63];
    out += kB64Alphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::optional<std::vector<uint8_t>> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::vector<uint8_t> out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    bool last = i + 4 == text.size();
    int pad = 0;
    if (last && text[i + 3] == '=') pad = text[i + 2] == '=' ? 2 : 1;
    uint32_t v = 0;
    for (size_t j = 0; j < 4; j++) {
      int d = 0;
      if (j >= 4 - static_cast<size_t>(pad)) {
        if (text[i + j] != '=') return std::nullopt;
      } else {
        d = B64Value(text[i + j]);
        if (d < 0) return std::nullopt;
      }
      v = (v << 6) | static_cast<uint32_t>(d);
    }
    out.push_back(static_cast<uint8_t>(v >> 16));
    if (pad < 2) out.push_back(static_cast<uint8_t>(v >> 8));
    if (pad < 1) out.push_back(static_cast<uint8_t>(v));
  }
  return out;
}

Key Sha256(std::span<const uint8_t> data) {
  Key out{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) != 1 ||
      len != kKeyLen) {
    BGW_INTERNAL_ERROR("SHA-256 computation failed");
  }
  return out;
}

Key HmacSha256(std::span<const uint8_t> key, std::string_view message) {
  Key out{};
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(message.data()), message.size(), out.data(),
           &len) == nullptr ||
      len != kKeyLen) {
    BGW_INTERNAL_ERROR("HMAC-SHA-256 computation failed");
  }
  return out;
}

Key SaltedPassword(std::string_view password, std::span<const uint8_t> salt, int iterations) {
  Key out{};
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt.data(),
                        static_cast<int>(salt.size()), iterations, EVP_sha256(),
                        static_cast<int>(out.size()), out.data()) != 1) {
    BGW_INTERNAL_ERROR("PBKDF2 computation failed");
  }
  return out;
}

bool ConstantTimeEqual(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Secret MakeSecret(std::string_view password, std::span<const uint8_t> salt, int iterations) {
  Secret s;
  s.iterations = iterations;
  s.salt.assign(salt.begin(), salt.end());
  Key salted = SaltedPassword(password, salt, iterations);
  Key client_key = HmacSha256(salted, "Client Key");
  s.stored_key = Sha256(client_key);
  s.server_key = HmacSha256(salted, "Server Key");
  return s;
}

std::string FormatSecret(const Secret& secret) {
  return "SCRAM-SHA-256$" + std::to_string(secret.iterations) + ":" + Base64Encode(secret.salt) +
         "$" + Base64Encode(secret.stored_key) + ":" + Base64Encode(secret.server_key);
}

std::optional<Secret> ParseSecret(std::string_view text) {
  constexpr std::string_view kPrefix = "SCRAM-SHA-256$";
  if (text.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  text.remove_prefix(kPrefix.size());
  size_t colon = text.find(':');
  size_t dollar = text.find('$');
  if (colon == std::string_view::npos || dollar == std::string_view::npos || dollar < colon) {
    return std::nullopt;
  }
  Secret s;
  std::string_view iter = text.substr(0, colon);
  auto [ptr, ec] = std::from_chars(iter.data(), iter.data() + iter.size(), s.iterations);
  if (ec != std::errc() || ptr != iter.data() + iter.size() || s.iterations <= 0) {
    return std::nullopt;
  }
  auto salt = Base64Decode(text.substr(colon + 1, dollar - colon - 1));
  std::string_view keys = text.substr(dollar + 1);
  size_t key_colon = keys.find(':');
  if (!salt || salt->empty() || key_colon == std::string_view::npos) return std::nullopt;
  auto stored = Base64Decode(keys.substr(0, key_colon));
  auto server = Base64Decode(keys.substr(key_colon + 1));
  if (!stored || !server || stored->size() != kKeyLen || server->size() != kKeyLen) {
    return std::nullopt;
  }
  s.salt = std::move(*salt);
  std::memcpy(s.stored_key.data(), stored->data(), kKeyLen);
  std::memcpy(s.server_key.data(), server->data(), kKeyLen);
  return s;
}

bool VerifyPlainPassword(const Secret& secret, std::string_view password) {
  Secret computed = MakeSecret(password, secret.salt, secret.iterations);
  // Both keys, as PostgreSQL checks: a secret whose halves disagree matches nothing.
  bool stored_ok = ConstantTimeEqual(computed.stored_key, secret.stored_key);
  bool server_ok = ConstantTimeEqual(computed.server_key, secret.server_key);
  return stored_ok && server_ok;
}

ServerExchange::ServerExchange(std::optional<Secret> secret, std::vector<uint8_t> mock_salt)
    : secret_(std::move(secret)) {
  if (secret_) {
    effective_ = *secret_;
  } else {
    effective_.iterations = kDefaultIterations;
    effective_.salt = std::move(mock_salt);
  }
}

Result<std::string> ServerExchange::ReadClientFirst(std::string_view message,
                                                    std::span<const uint8_t> server_nonce) {
  if (first_done_) return Malformed("Unexpected client-first-message.");
  first_done_ = true;
  std::string_view rest = message;
  // gs2-cbind-flag: "n" (client cannot bind), "y" (client could, thinks we
  // cannot: correct, we have no TLS), "p=..." (binding asked: impossible here).
  if (rest.empty()) return Malformed("Attribute expected, but found end of string.");
  char flag = rest[0];
  if (flag == 'p') {
    return MakeError("08P01", "channel binding is not supported",
                     "The client selected SCRAM channel binding, but this server does not "
                     "use SSL.");
  }
  if (flag != 'n' && flag != 'y') {
    return Malformed(std::string("Unexpected channel-binding flag \"") + flag + "\".");
  }
  rest.remove_prefix(1);
  if (rest.empty() || rest[0] != ',')
    return Malformed("Comma expected after channel-binding flag.");
  rest.remove_prefix(1);
  if (rest.size() >= 2 && rest[0] == 'a' && rest[1] == '=') {
    return MakeError("0A000", "client uses authorization identity, but it is not supported");
  }
  if (rest.empty() || rest[0] != ',')
    return Malformed("Unexpected attribute in client-first-message.");
  rest.remove_prefix(1);
  gs2_header_ = std::string(message.substr(0, message.size() - rest.size()));
  client_first_bare_ = std::string(rest);

  if (rest.size() >= 2 && rest[0] == 'm' && rest[1] == '=') {
    return MakeError("0A000", "client requires an unsupported SCRAM extension");
  }
  // The user name: PostgreSQL ignores it (the startup packet's user counts;
  // libpq sends it empty), so it is only checked for shape.
  if (!ReadAttribute(&rest, 'n')) return Malformed("Expected attribute \"n\".");
  auto nonce = ReadAttribute(&rest, 'r');
  if (!nonce) return Malformed("Expected attribute \"r\".");
  if (!IsPrintableNonce(*nonce)) return Malformed("Invalid nonce in client-first-message.");
  // Further extensions are allowed by the RFC and ignored.
  client_nonce_ = std::string(*nonce);

  std::string server_part = forced_nonce_ ? *forced_nonce_ : Base64Encode(server_nonce);
  combined_nonce_ = client_nonce_ + server_part;
  server_first_ = "r=" + combined_nonce_ + ",s=" + Base64Encode(effective_.salt) +
                  ",i=" + std::to_string(effective_.iterations);
  return server_first_;
}

Result<ServerExchange::FinalResult> ServerExchange::ReadClientFinal(std::string_view message) {
  if (!first_done_ || server_first_.empty()) return Malformed("Unexpected client-final-message.");
  size_t proof_at = message.rfind(",p=");
  if (proof_at == std::string_view::npos)
    return Malformed("Could not find proof in client-final-message.");
  std::string_view without_proof = message.substr(0, proof_at);
  std::string_view proof_text = message.substr(proof_at + 3);

  std::string_view rest = without_proof;
  auto binding = ReadAttribute(&rest, 'c');
  if (!binding) return Malformed("Expected attribute \"c\".");
  auto binding_bytes = Base64Decode(*binding);
  if (!binding_bytes) return Malformed("Malformed channel-binding data.");
  if (std::string(binding_bytes->begin(), binding_bytes->end()) != gs2_header_) {
    return MakeError("08P01", "SCRAM channel binding check failed");
  }
  auto nonce = ReadAttribute(&rest, 'r');
  if (!nonce) return Malformed("Expected attribute \"r\".");
  if (*nonce != combined_nonce_) {
    return Malformed("Nonce does not match.");
  }
  auto proof = Base64Decode(proof_text);
  if (!proof || proof->size() != kKeyLen)
    return Malformed("Malformed proof in client-final-message.");

  std::string auth_message =
      client_first_bare_ + "," + server_first_ + "," + std::string(without_proof);
  Key client_signature = HmacSha256(effective_.stored_key, auth_message);
  Key client_key{};
  for (size_t i = 0; i < kKeyLen; i++) client_key[i] = (*proof)[i] ^ client_signature[i];
  Key stored = Sha256(client_key);
  bool match = ConstantTimeEqual(stored, effective_.stored_key);

  FinalResult r;
  if (!secret_ || !match) return r;
  r.authenticated = true;
  r.server_final = "v=" + Base64Encode(HmacSha256(effective_.server_key, auth_message));
  return r;
}

}  // namespace bgw::crypto::scram
