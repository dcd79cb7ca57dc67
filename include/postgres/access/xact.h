/*
 * access/xact.h: PostgreSQL 13-15 compatible subset: the transaction
 * commands a background worker wraps around its SPI work.
 *
 * A worker connected to a database (BackgroundWorkerInitializeConnection)
 * runs each unit of work as
 *
 *     SetCurrentStatementStartTimestamp();
 *     StartTransactionCommand();
 *     SPI_connect(); PushActiveSnapshot(GetTransactionSnapshot());
 *     ... SPI_execute ...
 *     SPI_finish(); PopActiveSnapshot();
 *     CommitTransactionCommand();
 *
 * and, in PG_CATCH after an ERROR, AbortCurrentTransaction(). The
 * transaction is one transaction of the worker's SQL session (one SQLite
 * transaction on the database file): nothing is visible to others before
 * CommitTransactionCommand(), and a worker that exits or is killed before it
 * leaves nothing behind.
 *
 * Errors: StartTransactionCommand() inside a transaction is an ERROR (25001);
 * CommitTransactionCommand() raises ERROR when the commit fails (the
 * transaction is then rolled back); after an ERROR inside the transaction it
 * rolls back instead, as PostgreSQL does for an aborted transaction.
 * Not thread-safe: like PostgreSQL, one thread per process.
 */
#ifndef BGW_COMPAT_XACT_H
#define BGW_COMPAT_XACT_H

#include "postgres.h"

#ifdef __cplusplus
extern "C" {
#endif

extern void StartTransactionCommand(void);
extern void CommitTransactionCommand(void);
/* Rolls back the current transaction, if any; never raises ERROR. */
extern void AbortCurrentTransaction(void);
/* True between StartTransactionCommand() and its commit or abort. */
extern bool IsTransactionState(void);
/* True while inside a transaction (same as IsTransactionState here). */
extern bool IsTransactionOrTransactionBlock(void);

/* statement_timestamp(): set by the worker before each unit of work. */
extern void SetCurrentStatementStartTimestamp(void);
extern TimestampTz GetCurrentStatementStartTimestamp(void);
extern TimestampTz GetCurrentTransactionStartTimestamp(void);

#ifdef __cplusplus
}
#endif

#endif /* BGW_COMPAT_XACT_H */
