// Internals shared by the SPI and transaction-command implementations
// (src/spi): the process's SQL session, and the hand-off of engine errors to
// ereport.
//
// Every public entry point does its work in a function whose C++ objects die
// before it returns and raises only once back in a frame that owns nothing
// (the hand-off is compat/pending_error.h's).
#pragma once

#include <memory>

#include "compat/pending_error.h"
#include "postgres/postgres.h"
#include "sql/session.h"

namespace bgw::spi {

// Failures cross ereport's siglongjmp as PendingErrors (compat/pending_error.h).
using bgw::Capture;
using bgw::CaptureOwn;
using bgw::PendingError;
using bgw::RaiseIfSet;

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
Status RunUtility(sql::Session& session, const char* sql);

// SPI's part of the end of a transaction (PostgreSQL's AtEOXact_SPI): drops
// every open SPI connection and the plans not kept. Returns true when a
// connection was still open (a WARNING-worthy leak at commit).
bool AtEndOfTransaction();

}  // namespace bgw::spi
