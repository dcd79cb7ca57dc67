// SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL uses it: the stored
// secret, the key derivations, and the server side of one exchange.
//
// Kept apart from the wire code (auth.cc) so the arithmetic and the message
// parsing can be tested against RFC 7677's vector without sockets. Nothing
// here touches the network or the catalog; messages are plain strings.
//
// Differences from PostgreSQL, on purpose: passwords are not passed through
// SASLprep (PostgreSQL also falls back to the raw bytes when SASLprep fails;
// for ASCII passwords both give the same bytes), and channel binding
// (SCRAM-SHA-256-PLUS) is refused because the server has no TLS.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace bgw::crypto::scram {

inline constexpr int kDefaultIterations = 4096;
inline constexpr size_t kDefaultSaltLen = 16;
inline constexpr size_t kServerNonceLen = 18;  // random bytes, sent base64-encoded
inline constexpr size_t kKeyLen = 32;          // SHA-256 output

using Key = std::array<uint8_t, kKeyLen>;

// Standard base64 with padding (RFC 4648). Decode rejects anything else
// (whitespace, bad padding, wrong length) with nullopt.
std::string Base64Encode(std::span<const uint8_t> data);
std::optional<std::vector<uint8_t>> Base64Decode(std::string_view text);

Key Sha256(std::span<const uint8_t> data);
Key HmacSha256(std::span<const uint8_t> key, std::string_view message);
// Hi() of RFC 5802: PBKDF2-HMAC-SHA-256 with one output block.
Key SaltedPassword(std::string_view password, std::span<const uint8_t> salt, int iterations);
// Length-independent-time comparison (the lengths themselves are not secret).
bool ConstantTimeEqual(std::span<const uint8_t> a, std::span<const uint8_t> b);

// What the catalog stores: "SCRAM-SHA-256$<iterations>:<salt b64>$<StoredKey
// b64>:<ServerKey b64>".
struct Secret {
  int iterations = kDefaultIterations;
  std::vector<uint8_t> salt;
  Key stored_key{};
  Key server_key{};
};

Secret MakeSecret(std::string_view password, std::span<const uint8_t> salt, int iterations);
std::string FormatSecret(const Secret& secret);
// nullopt unless `text` is a well-formed secret (iterations > 0, keys 32 bytes).
std::optional<Secret> ParseSecret(std::string_view text);
// Does `password` (plain text) match `secret`? For the cleartext method.
bool VerifyPlainPassword(const Secret& secret, std::string_view password);

// The server side of one exchange:
//   ReadClientFirst(client-first-message) -> server-first-message
//   ReadClientFinal(client-final-message) -> server-final-message if the
//   proof is right.
// Malformed messages fail with a ErrorReport (08P01 / 0A000, PostgreSQL's
// wording). A "doomed" exchange (unknown role, no usable secret) runs to the
// end with a mock secret and then fails like a wrong password, so a client
// cannot tell a missing role from a wrong password.
class ServerExchange {
 public:
  // `secret` nullopt = doomed: `mock_salt` stands in for the salt so the
  // server-first-message looks like any other.
  ServerExchange(std::optional<Secret> secret, std::vector<uint8_t> mock_salt);

  // `server_nonce` is the raw random bytes (kServerNonceLen); tests pass a
  // fixed one to reproduce RFC 7677's exchange, which uses a text nonce: see
  // SetServerNonceTextForTesting.
  Result<std::string> ReadClientFirst(std::string_view message,
                                      std::span<const uint8_t> server_nonce);

  struct FinalResult {
    bool authenticated = false;
    std::string server_final;  // "v=..."; empty unless authenticated
  };
  Result<FinalResult> ReadClientFinal(std::string_view message);

  // Uses `nonce_text` verbatim as the server's part of the nonce.
  void SetServerNonceTextForTesting(std::string nonce_text) {
    forced_nonce_ = std::move(nonce_text);
  }

 private:
  std::optional<Secret> secret_;
  Secret effective_;  // the real secret, or the mock
  std::string gs2_header_;
  std::string client_first_bare_;
  std::string client_nonce_;
  std::string server_first_;
  std::string combined_nonce_;
  std::optional<std::string> forced_nonce_;
  bool first_done_ = false;
};

}  // namespace bgw::crypto::scram
