/*
 * access/xlog.h: PostgreSQL 13-15 compatible subset: RecoveryInProgress().
 *
 * True while the server is starting up or recovering (a worker started at
 * BgWorkerStart_PostmasterStart may see it), and on a standby; false once
 * the server runs normally.
 */
#ifndef BGW_COMPAT_XLOG_H
#define BGW_COMPAT_XLOG_H

#include "postgres.h"

#ifdef __cplusplus
extern "C" {
#endif

extern bool RecoveryInProgress(void);

#ifdef __cplusplus
}
#endif

#endif /* BGW_COMPAT_XLOG_H */
