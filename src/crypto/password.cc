// Password verifiers; see password.h.
#include "crypto/password.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/internal_error.h"
#include "crypto/scram.h"
#include "guc/settings.h"

namespace bgw::crypto {

void RandomBytes(std::span<uint8_t> out) {
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
    BGW_INTERNAL_ERROR("could not generate random bytes");
  }
}

std::string Md5Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &len, EVP_md5(), nullptr) != 1 || len != 16) {
    BGW_INTERNAL_ERROR("MD5 computation failed");
  }
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; i++) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

bool IsMd5Verifier(std::string_view s) {
  return s.size() == 35 && s.substr(0, 3) == "md5" &&
         s.find_first_not_of("0123456789abcdef", 3) == std::string_view::npos;
}

std::string MakeScramVerifier(const std::string& password) {
  if (scram::ParseSecret(password) || IsMd5Verifier(password)) return password;
  uint8_t salt[scram::kDefaultSaltLen];
  RandomBytes(salt);
  return scram::FormatSecret(scram::MakeSecret(password, salt, scram::kDefaultIterations));
}

std::string MakeMd5Verifier(const std::string& password, const std::string& user) {
  if (scram::ParseSecret(password) || IsMd5Verifier(password)) return password;
  return "md5" + Md5Hex(password + user);
}

std::string MakePasswordVerifier(const std::string& password, const std::string& user) {
  if (guc::password_encryption == static_cast<int>(guc::PasswordEncryption::kMd5)) {
    return MakeMd5Verifier(password, user);
  }
  return MakeScramVerifier(password);
}

}  // namespace bgw::crypto
