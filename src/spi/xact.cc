// Transaction commands of access/xact.h, snapshots of utils/snapmgr.h and
// ProcessCompletedNotifies of commands/async.h for background workers, over
// the worker's SQL session (spi_internal.h).
//
// A worker's transaction is an explicit block of its session: BEGIN at
// StartTransactionCommand, COMMIT (or ROLLBACK) at its end. Explicit rather
// than the engine's implicit transaction because PostgreSQL's rule for an
// error inside a transaction must hold: every later statement fails with
// 25P02 until the worker aborts, instead of silently running in a new
// transaction. The memory contexts follow PostgreSQL too: the transaction
// runs in TopTransactionContext, deleted at its end, and CurrentMemoryContext
// is TopMemoryContext afterwards.
//
// A worker that exits (FATAL, SIGTERM via bgworker_die, kill -9) with a
// transaction open is deliberately not cleaned up here: the exit may come
// from a signal handler in the middle of an SQLite call, where calling back
// into SQLite is unsafe. Nothing is lost by that: SQLite ignores WAL frames
// without a commit record, and the kernel drops the dead process's locks.
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "common/log.h"
#include "postgres/access/xact.h"
#include "postgres/commands/async.h"
#include "postgres/datatype/timestamp.h"
#include "postgres/miscadmin.h"
#include "postgres/utils/elog.h"
#include "postgres/utils/memutils.h"
#include "postgres/utils/snapmgr.h"
#include "spi/spi_internal.h"
#include "sql/functions.h"

namespace bgw::spi {
namespace {

// PostgreSQL's TimestampTz counts microseconds from 2000-01-01 00:00 UTC.
constexpr int64_t kPostgresEpochMicros =
    static_cast<int64_t>(POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;

std::unique_ptr<sql::Session>& SessionHolder() {
  // Never destroyed at exit (see the banner): a leaked pointer on purpose.
  static auto* holder = new std::unique_ptr<sql::Session>();
  return *holder;
}

bool in_transaction = false;
int active_snapshots = 0;
TimestampTz statement_start = 0;
TimestampTz transaction_start = 0;

TimestampTz Now() { return sql::functions::NowMicros() - kPostgresEpochMicros; }

void EnterTransactionMemory() {
  TopTransactionContext =
      AllocSetContextCreate(TopMemoryContext, "TopTransactionContext", ALLOCSET_DEFAULT_SIZES);
  CurTransactionContext = TopTransactionContext;
  MemoryContextSwitchTo(TopTransactionContext);
}

void LeaveTransactionMemory() {
  MemoryContextSwitchTo(TopMemoryContext);
  if (TopTransactionContext != nullptr) MemoryContextDelete(TopTransactionContext);
  TopTransactionContext = nullptr;
  CurTransactionContext = nullptr;
}

// Passes on the engine's notices (e.g. a WARNING about a COMMIT of a failed
// block) to the server log: a worker has no client.
void LogNotices(sql::Session& session) {
  for (const ErrorReport& n : session.TakeNotices()) {
    log::Message m;
    m.level = n.severity == "WARNING" ? log::Level::kWarning : log::Level::kNotice;
    m.sqlstate = n.sqlstate;
    m.text = n.message;
    m.detail = n.detail;
    m.hint = n.hint;
    log::Emit(m);
  }
}

void StartImpl(PendingError* err) {
  if (in_transaction) {
    CaptureOwn(ERROR, ERRCODE_ACTIVE_SQL_TRANSACTION,
               "StartTransactionCommand: a transaction is already in progress",
               "End it with CommitTransactionCommand() or AbortCurrentTransaction().", err);
    return;
  }
  sql::Session* session = CurrentSession();
  if (session != nullptr) {
    Status st = RunUtility(*session, "BEGIN");
    if (!st.ok()) {
      (void)session->Sync();
      Capture(st.error(), err);
      return;
    }
  }
  in_transaction = true;
  transaction_start = Now();
  if (statement_start == 0) statement_start = transaction_start;
  EnterTransactionMemory();
}

// Ends the session's block: COMMIT (a failed block rolls back, as COMMIT
// does in PostgreSQL), then Sync. A failing commit is recorded in *err.
void CommitImpl(PendingError* err) {
  sql::Session* session = CurrentSession();
  if (session == nullptr) return;
  Status st = RunUtility(*session, "COMMIT");
  Status synced = session->Sync();
  LogNotices(*session);
  if (!st.ok()) {
    Capture(st.error(), err);
  } else if (!synced.ok()) {
    Capture(synced.error(), err);
  }
}

void AbortImpl() {
  sql::Session* session = CurrentSession();
  if (session == nullptr) return;
  if (session->TransactionStatus() != 'I') (void)RunUtility(*session, "ROLLBACK");
  (void)session->Sync();
  (void)session->TakeNotices();
}

void EndTransactionState() {
  in_transaction = false;
  active_snapshots = 0;
  statement_start = 0;
  LeaveTransactionMemory();
}

void ProcessNotifiesImpl() {
  sql::Session* session = CurrentSession();
  if (session == nullptr) return;
  for (const sql::Notification& n : session->TakeNotifications()) {
    log::Message m;
    m.level = log::Level::kLog;
    m.text = "NOTIFY for \"" + n.channel + "\" payload \"" + n.payload + "\" from PID " +
             std::to_string(n.sender_pid);
    log::Emit(m);
  }
}

}  // namespace

sql::Session* CurrentSession() { return SessionHolder().get(); }

void InstallSession(std::unique_ptr<sql::Session> session) { SessionHolder() = std::move(session); }

void ResetForTesting() {
  if (in_transaction) {
    (void)AtEndOfTransaction();
    AbortImpl();
    EndTransactionState();
  }
  SessionHolder().reset();
}

Status RunUtility(sql::Session& session, const char* sql) {
  class Discard : public sql::RowSink {
   public:
    Status Row(std::span<const sql::Value>) override { return Status::Ok(); }
  } discard;
  auto statement = session.Prepare(sql, {});
  if (!statement.ok()) {
    session.AfterError();
    return statement.error();
  }
  auto portal = session.Bind(*statement, {});
  if (!portal.ok()) {
    session.AfterError();
    return portal.error();
  }
  auto result = (*portal)->Execute(0, discard);
  if (!result.ok()) {
    session.AfterError();
    return result.error();
  }
  return Status::Ok();
}

}  // namespace bgw::spi

using bgw::spi::PendingError;

extern "C" {

void StartTransactionCommand(void) {
  CHECK_FOR_INTERRUPTS();
  PendingError err;
  bgw::spi::StartImpl(&err);
  bgw::spi::RaiseIfSet(err);
}

void CommitTransactionCommand(void) {
  if (!bgw::spi::in_transaction) return;  // PostgreSQL: nothing to do outside one
  if (bgw::spi::AtEndOfTransaction()) {
    ereport(WARNING, errmsg("transaction left non-empty SPI stack"),
            errhint("Check for missing \"SPI_finish\" calls."));
  }
  PendingError err;
  bgw::spi::CommitImpl(&err);
  bgw::spi::EndTransactionState();
  // The transaction is over either way: a failed commit was rolled back.
  bgw::spi::RaiseIfSet(err);
}

void AbortCurrentTransaction(void) {
  (void)bgw::spi::AtEndOfTransaction();
  bgw::spi::AbortImpl();
  if (bgw::spi::in_transaction) bgw::spi::EndTransactionState();
}

bool IsTransactionState(void) { return bgw::spi::in_transaction; }
bool IsTransactionOrTransactionBlock(void) { return bgw::spi::in_transaction; }

void SetCurrentStatementStartTimestamp(void) { bgw::spi::statement_start = bgw::spi::Now(); }
TimestampTz GetCurrentStatementStartTimestamp(void) { return bgw::spi::statement_start; }
TimestampTz GetCurrentTransactionStartTimestamp(void) { return bgw::spi::transaction_start; }

// The snapshot token: any non-NULL pointer will do (see utils/snapmgr.h).
Snapshot GetTransactionSnapshot(void) {
  static char token;
  if (!bgw::spi::in_transaction) {
    ereport(ERROR, errcode(ERRCODE_INVALID_TRANSACTION_STATE),
            errmsg("cannot take query snapshot outside a transaction"));
  }
  return reinterpret_cast<Snapshot>(&token);
}
Snapshot GetLatestSnapshot(void) { return GetTransactionSnapshot(); }
void PushActiveSnapshot(Snapshot snapshot) {
  if (snapshot == nullptr) elog(ERROR, "PushActiveSnapshot: invalid snapshot");
  bgw::spi::active_snapshots++;
}
void PopActiveSnapshot(void) {
  if (bgw::spi::active_snapshots == 0) elog(ERROR, "PopActiveSnapshot: no active snapshot");
  bgw::spi::active_snapshots--;
}
bool ActiveSnapshotSet(void) { return bgw::spi::active_snapshots > 0; }

void ProcessCompletedNotifies(void) { bgw::spi::ProcessNotifiesImpl(); }

}  // extern "C"
