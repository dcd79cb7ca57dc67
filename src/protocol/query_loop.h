// The query cycle of a client backend: PostgreSQL's PostgresMain loop over
// the v3 protocol, from the first ReadyForQuery to the end of the connection.
//
// It reads one frontend message at a time, drives the SQL engine
// (sql::Session) through the extended-query model for both simple and
// extended queries, and answers with the same messages, in the same order,
// as PostgreSQL: so psql, libpq, pgbench and drivers see a PostgreSQL server.
// Output is buffered and sent once per round trip (at ReadyForQuery, Flush,
// or when a large result fills the buffer).
//
// While idle it sleeps on the socket and the process latch together, so a
// NOTIFY committed elsewhere, a pg_terminate_backend() or a SIGHUP reaches an
// idle session at once.
#pragma once

#include "protocol/wire.h"
#include "sql/session.h"

namespace bgw::protocol {

enum class SessionEnd {
  kTerminate,       // the client sent Terminate
  kClientGone,      // EOF or socket error (nothing more can be sent)
  kFatal,           // a FATAL error was sent (bad protocol, termination, engine FATAL)
  kPostmasterDied,  // the postmaster is gone
};

// Client backend only, after authentication: conn.Out() may hold the
// startup answers (AuthenticationOk, ParameterStatus, BackendKeyData); the
// first ReadyForQuery is added and sent here. Uses MyLatch and the
// interrupt flags of miscadmin.h (InterruptPending, QueryCancelPending,
// ProcDiePending, ConfigReloadPending), which the caller's signal handlers
// set. Returns how the session ended; every message owed to the client has
// been sent (best effort). The caller destroys `session` and exits.
SessionEnd RunSession(Connection& conn, sql::Session& session);

// Flushes output early once the buffer holds this much (bounds memory on big
// results while keeping one send per round trip for ordinary ones).
inline constexpr size_t kOutputFlushThreshold = 64 * 1024;

}  // namespace bgw::protocol
