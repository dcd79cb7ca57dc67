/*
 * storage/ipc.h: process exit callbacks, PostgreSQL 13-15 compatible.
 *
 * proc_exit(code) runs, newest first, the before_shmem_exit callbacks, then
 * the on_shmem_exit ones, then the on_proc_exit ones, and ends the process
 * with `code`. Exit 0 unregisters a background worker, 1 restarts it after
 * bgw_restart_time, anything else is a crash.
 */
#ifndef BGW_COMPAT_IPC_H
#define BGW_COMPAT_IPC_H

#include "postgres.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*pg_on_exit_callback) (int code, Datum arg);
typedef void (*shmem_startup_hook_type) (void);

extern PGDLLIMPORT bool proc_exit_inprogress;
extern PGDLLIMPORT bool shmem_exit_inprogress;

pg_noreturn extern void proc_exit(int code);
extern void shmem_exit(int code);
extern void on_proc_exit(pg_on_exit_callback function, Datum arg);
extern void on_shmem_exit(pg_on_exit_callback function, Datum arg);
extern void before_shmem_exit(pg_on_exit_callback function, Datum arg);
extern void cancel_before_shmem_exit(pg_on_exit_callback function, Datum arg);
extern void on_exit_reset(void);
extern void check_on_shmem_exit_lists_are_empty(void);

/* Called once shared memory is set up (postmaster, and after a crash). */
extern PGDLLIMPORT shmem_startup_hook_type shmem_startup_hook;

#ifdef __cplusplus
}
#endif

#endif /* BGW_COMPAT_IPC_H */
