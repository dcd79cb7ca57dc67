/*
 * commands/async.h: PostgreSQL 13-15 compatible subset: LISTEN/NOTIFY for
 * background workers.
 *
 * A worker's NOTIFY (SPI_execute("NOTIFY ch, 'x'") or pg_notify) is sent
 * when its transaction commits. A worker that LISTENs has no client to pass
 * notifications to: ProcessCompletedNotifies() writes each notification
 * received since the last call to the server log at LOG, as
 *     NOTIFY for "ch" payload "x" from PID n
 * Call it outside a transaction (e.g. after CommitTransactionCommand() in
 * the worker's loop); its latch is set when one arrives.
 */
#ifndef BGW_COMPAT_ASYNC_H
#define BGW_COMPAT_ASYNC_H

#include "postgres.h"

#ifdef __cplusplus
extern "C" {
#endif

extern void ProcessCompletedNotifies(void);

#ifdef __cplusplus
}
#endif

#endif /* BGW_COMPAT_ASYNC_H */
