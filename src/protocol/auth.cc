// STUB (replaced by the authentication implementation).
#include "protocol/auth.h"
namespace bgw::protocol {
Status LoadHba(const std::string&) { return Status::Ok(); }
bool Authenticate(Connection&, const ClientInfo&, const std::optional<storage::RoleInfo>&,
                  Deadline) {
  return false;
}
std::string MakeScramVerifier(const std::string&) { return ""; }
std::string MakeMd5Verifier(const std::string&, const std::string&) { return ""; }
std::string MakePasswordVerifier(const std::string&, const std::string&) { return ""; }
}  // namespace bgw::protocol
