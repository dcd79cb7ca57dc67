// Password verifiers as the catalog stores them, and the hashing and
// randomness they need. Shared by authentication (src/protocol/auth.cc),
// CREATE/ALTER ROLE ... PASSWORD (src/sql) and `bgw init --pwfile`.
//
// A verifier is "SCRAM-SHA-256$<iter>:<salt b64>$<StoredKey b64>:<ServerKey
// b64>" (4096 iterations, 16-byte random salt) or "md5" + md5hex(password +
// user). A password that already looks like a verifier is stored as given,
// as PostgreSQL does.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace bgw::crypto {

std::string MakeScramVerifier(const std::string& password);
std::string MakeMd5Verifier(const std::string& password, const std::string& user);
// password_encryption decides which MakePasswordVerifier produces.
std::string MakePasswordVerifier(const std::string& password, const std::string& user);

bool IsMd5Verifier(std::string_view s);
// Lower-case hex MD5 of `data`.
std::string Md5Hex(std::string_view data);
// Cryptographically strong random bytes (OpenSSL's generator).
void RandomBytes(std::span<uint8_t> out);

}  // namespace bgw::crypto
