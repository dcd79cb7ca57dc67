/*
 * storage/dsm.h: dynamic shared memory segments, PostgreSQL 13-15
 * compatible.
 *
 * A process creates a segment with dsm_create() and hands its dsm_handle to
 * others (typically in bgw_main_arg of a dynamic worker); they map it with
 * dsm_attach(). Each process sees the segment at its own address: store
 * offsets in it, never pointers into it.
 *
 * Lifetime: the server counts, in the main shared memory segment, the
 * processes attached to each segment. The segment is destroyed when the last
 * one detaches, unless it is pinned with dsm_pin_segment(), in which case it
 * lives, attached or not, until dsm_unpin_segment() and the last detach, or
 * until the server stops or reinitializes after a crash. A process detaches
 * with dsm_detach() or, implicitly, when it exits (proc_exit, FATAL, ERROR
 * at the top level of a worker); a process killed outright leaves the
 * cleanup to the postmaster's crash handling.
 *
 * Mappings: bgw has no resource owners, so every mapping lasts until
 * dsm_detach() or process exit, as a pinned mapping does in PostgreSQL;
 * dsm_pin_mapping() and dsm_unpin_mapping() are accepted and change nothing.
 *
 * Callbacks registered with on_dsm_detach() run, newest first and with
 * interrupts held, when the segment is detached (explicitly or at exit).
 *
 * Who may call: any server process attached to shared memory (background
 * workers registered with BGWORKER_SHMEM_ACCESS). In the postmaster, or in a
 * worker without shared memory access, dsm_create and dsm_attach raise
 * ERROR. Failures of the operating system (no space in /dev/shm, too many
 * open files...) raise ERROR; dsm_attach() of a handle whose segment no
 * longer exists returns NULL.
 */
#ifndef BGW_COMPAT_DSM_H
#define BGW_COMPAT_DSM_H

#include "postgres.h"
#include "storage/dsm_impl.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dsm_segment dsm_segment;

/* dsm_create flag: return NULL instead of ERROR when every slot is taken. */
#define DSM_CREATE_NULL_IF_MAXSEGMENTS 0x0001

/* No segment ever has this handle. */
#define DSM_HANDLE_INVALID ((dsm_handle) 0)

/* Detach every segment this process has mapped (callbacks run). */
extern void dsm_detach_all(void);
/* The same, as the exit path does it (PostgreSQL's name). */
extern void dsm_backend_shutdown(void);

/*
 * Creates a segment of `size` bytes (> 0), zero-filled, attached to this
 * process. ERROR when size is 0 or cannot be backed, or when the server's
 * segment table is full (NULL instead with DSM_CREATE_NULL_IF_MAXSEGMENTS).
 */
extern dsm_segment *dsm_create(Size size, int flags);
/*
 * Maps an existing segment. NULL if no segment with this handle exists (any
 * more). ERROR if this process already has it mapped.
 */
extern dsm_segment *dsm_attach(dsm_handle h);
/* Runs the on_dsm_detach callbacks, unmaps, and drops the reference. */
extern void dsm_detach(dsm_segment *seg);

/* Mapping lifetime (no-ops here, see above). */
extern void dsm_pin_mapping(dsm_segment *seg);
extern void dsm_unpin_mapping(dsm_segment *seg);
/*
 * Keeps the segment alive with no process attached. ERROR if it is already
 * pinned. dsm_unpin_segment() undoes it by handle, from any process (ERROR
 * if the handle is unknown or the segment is not pinned), and destroys the
 * segment if nobody is attached.
 */
extern void dsm_pin_segment(dsm_segment *seg);
extern void dsm_unpin_segment(dsm_handle h);
/* This process's mapping of the segment, or NULL. */
extern dsm_segment *dsm_find_mapping(dsm_handle h);

extern void *dsm_segment_address(dsm_segment *seg);
extern Size dsm_segment_map_length(dsm_segment *seg);
extern dsm_handle dsm_segment_handle(dsm_segment *seg);

typedef void (*on_dsm_detach_callback) (dsm_segment *, Datum arg);
extern void on_dsm_detach(dsm_segment *seg, on_dsm_detach_callback function, Datum arg);
/* Removes the newest registration of (function, arg), if any. */
extern void cancel_on_dsm_detach(dsm_segment *seg, on_dsm_detach_callback function,
								 Datum arg);
/* Forgets every callback of every segment without running it. */
extern void reset_on_dsm_detach(void);

#ifdef __cplusplus
}
#endif

#endif /* BGW_COMPAT_DSM_H */
