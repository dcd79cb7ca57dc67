/*
 * storage/proc.h: the per-process shared slot (PGPROC), PostgreSQL 13-15
 * compatible, reduced to what this server has.
 *
 * Every child with shared memory access (background workers with
 * BGWORKER_SHMEM_ACCESS) holds one PGPROC in shared memory while it runs;
 * MyProc points at it (NULL in processes without one: the postmaster,
 * workers without shared memory access). Another process finds a PGPROC by
 * PID with BackendPidGetProc() (storage/procarray.h), or gets one handed
 * over (e.g. shm_mq_get_sender()), and wakes its owner with
 * SetLatch(&proc->procLatch).
 *
 * Only the fields below exist; each means what it means in PostgreSQL:
 *   procLatch   the process's latch (MyLatch points at it). Anyone may set
 *               it; only the owner waits on it.
 *   pid         the owner's PID, 0 while the slot is free. Read from another
 *               process it is a snapshot: the owner may exit (and the slot
 *               be reused) right after; setting the latch of a slot that has
 *               changed hands costs a spurious wake-up, nothing worse.
 *   pgprocno    the slot's index in the array of slots (fixed).
 *   backendId   pgprocno + 1 while the slot is held, InvalidBackendId while
 *               free: unique among live processes, as in PostgreSQL.
 *   databaseId, roleId
 *               always InvalidOid: this server has no databases or roles.
 * Modules read these fields; they must not write them.
 */
#ifndef BGW_COMPAT_PROC_H
#define BGW_COMPAT_PROC_H

#include "postgres.h"
#include "storage/latch.h"

#ifdef __cplusplus
extern "C" {
#endif

/* PostgreSQL's storage/backendid.h, as far as PGPROC needs it. */
#ifndef InvalidBackendId
typedef int BackendId;
#define InvalidBackendId (-1)
#endif

/* procLatch must stay the first member (the server relies on it). */
typedef struct PGPROC
{
	Latch		procLatch;
	int			pid;
	int			pgprocno;
	BackendId	backendId;
	Oid			databaseId;
	Oid			roleId;
} PGPROC;

/* This process's slot; NULL in processes without one. */
extern PGDLLIMPORT PGPROC *MyProc;

#ifdef __cplusplus
}
#endif

#endif /* BGW_COMPAT_PROC_H */
