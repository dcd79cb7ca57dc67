/*
 * storage/procarray.h: finding another server process's PGPROC, PostgreSQL
 * 13-15 compatible (the part of it this server has).
 *
 * BackendPidGetProc(pid) returns the PGPROC held by the live process with
 * that PID, or NULL if no process with shared memory access has that PID
 * (pid 0 included). It takes no lock: it scans the slots, and the answer is
 * a snapshot (see storage/proc.h on what that means for the caller).
 * BackendPidGetProcWithLock is the same function (PostgreSQL's variant for
 * callers already holding ProcArrayLock, which does not exist here).
 *
 * Callable in any process attached to shared memory; NULL elsewhere.
 */
#ifndef BGW_COMPAT_PROCARRAY_H
#define BGW_COMPAT_PROCARRAY_H

#include "postgres.h"
#include "storage/proc.h"

#ifdef __cplusplus
extern "C" {
#endif

extern PGPROC *BackendPidGetProc(int pid);
extern PGPROC *BackendPidGetProcWithLock(int pid);

#ifdef __cplusplus
}
#endif

#endif /* BGW_COMPAT_PROCARRAY_H */
