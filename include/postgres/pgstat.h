/*
 * pgstat.h: activity reporting, PostgreSQL 13-15 compatible subset: wait
 * events (utils/wait_event.h) and pgstat_report_activity().
 */
#ifndef BGW_COMPAT_PGSTAT_H
#define BGW_COMPAT_PGSTAT_H

#include "postgres.h"
#include "utils/wait_event.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum BackendState
{
	STATE_UNDEFINED,
	STATE_IDLE,
	STATE_RUNNING,
	STATE_IDLEINTRANSACTION,
	STATE_FASTPATH,
	STATE_IDLEINTRANSACTION_ABORTED,
	STATE_DISABLED
} BackendState;

/* Publishes this process's state and current query text. */
extern void pgstat_report_activity(BackendState state, const char *cmd_str);
/*
 * Flushes pending table and function statistics. There are none to flush
 * here (no cumulative statistics yet): returns 0, "nothing pending".
 */
extern long pgstat_report_stat(bool force);

#ifdef __cplusplus
}
#endif

#endif /* BGW_COMPAT_PGSTAT_H */
