// The rule that the server never runs as root, as one pure check.
//
// Superusers and module code are trusted with the server's own rights; run
// as root, those rights are the whole machine's, so `bgw init`, `bgw start`
// and `bgw run` refuse before they open or create anything. The check takes
// the user IDs as a value so tests can hand it root's without being root.
#pragma once

#include <sys/types.h>

#include <string_view>

#include "common/status.h"

namespace bgw::cli {

// A process's real, effective and saved set-user-ID (getresuid(2)).
struct UserIds {
  uid_t real;
  uid_t effective;
  uid_t saved;
};

// This process's user IDs. Cannot fail (getresuid only fails on bad pointers).
UserIds CurrentUserIds();

// Ok when `ids` are one unprivileged user's; otherwise an error whose message
// says why `command` (e.g. "init") will not go on and how to run it instead
// (DETAIL:/HINT: lines, as every Status message).
//
// Refused: an effective ID of 0, and any mismatch between the three IDs. A
// process may switch its effective ID to its real or saved one, so with a
// mismatch it holds two users' rights at once, root's if either is 0 (a
// set-user-ID bgw started from a root shell, for one).
Status CheckUnprivileged(const UserIds& ids, std::string_view command);

}  // namespace bgw::cli
