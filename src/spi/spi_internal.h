// Internals shared by the SPI and transaction-command implementations
// (src/spi): the process's SQL session, and the hand-off of engine errors to
// ereport.
//
// Why the hand-off: ereport(ERROR) unwinds with siglongjmp (utils/elog.h),
// which skips C++ destructors. So every public entry point does its work in
// a function whose C++ objects (strings, vectors, smart pointers) die before
// it returns, records a failure in a PendingError (trivially destructible,
// strings palloc'd), and raises only once back in a frame that owns nothing.
#pragma once

#include <memory>

#include "common/sql_error.h"
#include "postgres/postgres.h"
#include "sql/session.h"

namespace bgw::spi {

// A failure to raise once the C++ frames are gone. elevel 0 = none.
struct PendingError {
  int elevel = 0;
  int sqlerrcode = 0;
  char* message = nullptr;  // palloc'd in CurrentMemoryContext
  char* detail = nullptr;   // nullptr = omitted
  char* hint = nullptr;
};

// Records e (ERROR, or FATAL when the engine says so) in *out.
void Capture(const sql::SqlError& e, PendingError* out);
// Records an error of our own.
void CaptureOwn(int elevel, int sqlerrcode, const char* message, const char* hint,
                PendingError* out);
// ereport()s *e if one was recorded; returns otherwise.
void RaiseIfSet(const PendingError& e);

// The session of this worker, or nullptr when it is not connected to a
// database (BackgroundWorkerInitializeConnection not called, or called
// with no database).
sql::Session* CurrentSession();
// Takes ownership: installs the session every later SPI call uses. For
// BackgroundWorkerInitializeConnection and unit tests.
void InstallSession(std::unique_ptr<sql::Session> session);
// Unit tests: forgets the session, the transaction state and SPI's stack.
void ResetForTesting();

// Runs one statement of the session to completion, discarding rows; on
// failure calls AfterError and returns the error.
sql::SqlStatus RunUtility(sql::Session& session, const char* sql);

// SPI's part of the end of a transaction (PostgreSQL's AtEOXact_SPI): drops
// every open SPI connection and the plans not kept. Returns true when a
// connection was still open (a WARNING-worthy leak at commit).
bool AtEndOfTransaction();

}  // namespace bgw::spi
