/*
 * storage/procsignal.h: SIGUSR1 multiplexing, PostgreSQL 13-15 compatible
 * subset. The handler sets the process's latch, which is what background
 * worker notifications (bgw_notify_pid) rely on.
 */
#ifndef BGW_COMPAT_PROCSIGNAL_H
#define BGW_COMPAT_PROCSIGNAL_H

#include "postgres.h"

#ifdef __cplusplus
extern "C" {
#endif

extern void procsignal_sigusr1_handler(SIGNAL_ARGS);

#ifdef __cplusplus
}
#endif

#endif /* BGW_COMPAT_PROCSIGNAL_H */
