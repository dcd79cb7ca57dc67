// Client authentication: the hba.conf rule for a connection, then the
// method's exchange on the wire (trust, reject, password, md5,
// scram-sha-256), with PostgreSQL's messages and SQLSTATEs.
//
// hba.conf is read by the postmaster at start (an error there stops the
// start, naming file:line) and on reload (an error keeps the previous rules
// and logs file:line); children inherit the parsed rules through fork.
#pragma once

#include <sys/socket.h>

#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "protocol/wire.h"
#include "storage/catalog.h"

namespace bgw::protocol {

// Postmaster: parse <data_dir>/hba.conf (or hba_file) into the rules children
// inherit. At start a failure is returned (fatal); on reload too, and the
// previous rules stay in force.
Status LoadHba(const std::string& path);

struct ClientInfo {
  bool is_unix = false;     // Unix-domain socket ("local" rules)
  sockaddr_storage addr{};  // the peer, for host rules
  std::string user;
  std::string database;
};

// Finds the matching rule and runs its exchange. `role` is the catalog row
// for client.user (nullopt = no such role: the exchange still runs to the
// end for password methods, as PostgreSQL does, then fails). Returns true
// when the client is authenticated. On failure a FATAL ErrorResponse has
// been sent and logged (28P01 password authentication failed for user "x";
// 28000 no pg_hba.conf entry for host "...", user "x", database "y", no
// encryption; 28000 for reject), and the caller exits. On success nothing
// has been sent beyond the exchange itself (for SCRAM, SASLFinal): the caller
// sends AuthenticationOk with the session's first messages. A client that
// hangs up mid-exchange (libpq does, to prompt for a password) gets false
// with nothing logged above LOG.
bool Authenticate(Connection& conn, const ClientInfo& client,
                  const std::optional<storage::RoleInfo>& role, Deadline deadline);

}  // namespace bgw::protocol
