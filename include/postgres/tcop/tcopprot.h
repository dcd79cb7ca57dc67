/*
 * tcop/tcopprot.h: signal handlers of server processes, PostgreSQL 13-15
 * compatible subset.
 */
#ifndef BGW_COMPAT_TCOPPROT_H
#define BGW_COMPAT_TCOPPROT_H

#include "postgres.h"
/* As PostgreSQL's tcopprot.h, which modules rely on for both. */
#include "storage/procsignal.h"
#include "utils/guc.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The statement this process is running, for error reports and debugging:
 * set by the server for a client's query; a worker may point it at its own
 * SQL (as worker_spi does) and must keep that string alive while it does.
 */
extern PGDLLIMPORT const char *debug_query_string;

/* SIGTERM: ProcDiePending; the next CHECK_FOR_INTERRUPTS() ends the process. */
extern void die(SIGNAL_ARGS);
/* SIGINT: QueryCancelPending; the next CHECK_FOR_INTERRUPTS() raises ERROR. */
extern void StatementCancelHandler(SIGNAL_ARGS);
extern void FloatExceptionHandler(SIGNAL_ARGS);

#ifdef __cplusplus
}
#endif

#endif /* BGW_COMPAT_TCOPPROT_H */
