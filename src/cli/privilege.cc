// The never-as-root check of `bgw init`, `bgw start` and `bgw run`; see
// privilege.h for why it exists and what it refuses.
#include "cli/privilege.h"

#include <unistd.h>

#include <string>

#include "common/strutil.h"

namespace bgw::cli {

UserIds CurrentUserIds() {
  UserIds ids{};
  if (getresuid(&ids.real, &ids.effective, &ids.saved) != 0) {
    // Unreachable with valid pointers; fall back on what cannot fail.
    ids.real = getuid();
    ids.effective = geteuid();
    ids.saved = ids.effective;
  }
  return ids;
}

Status CheckUnprivileged(const UserIds& ids, std::string_view command) {
  const std::string cmd(command);
  if (ids.effective == 0) {
    return Status::Error(
        "refusing to run \"bgw " + cmd +
        "\" as root\n"
        "DETAIL:  The server must run under an unprivileged user ID. Superusers and modules "
        "run code with the server's rights; as root, those rights would be the whole "
        "machine's.\n"
        "HINT:  Create an ordinary user to own the data directory (e.g. \"useradd --system "
        "--create-home bgw\") and run the command as that user: \"runuser -u bgw -- bgw " +
        cmd + " -D DATADIR\", or with su. scripts/demo does all of this when started as root.");
  }
  if (ids.real != ids.effective || ids.saved != ids.effective) {
    return Status::Error(StringPrintf(
        "refusing to run \"bgw %s\" with differing user IDs (real %ld, effective %ld, saved "
        "%ld)\n"
        "DETAIL:  The server must run under one unprivileged user ID. A process can switch "
        "its effective user ID to its real or saved one, so the server would hold the rights "
        "of more than one user (root's, if one of them is 0).\n"
        "HINT:  Do not install bgw set-user-ID; start it as the user that owns the data "
        "directory (with runuser or su, for example).",
        cmd.c_str(), static_cast<long>(ids.real), static_cast<long>(ids.effective),
        static_cast<long>(ids.saved)));
  }
  return Status::Ok();
}

}  // namespace bgw::cli
