/*
 * libpq/pqsignal.h: the signal masks processes switch between,
 * PostgreSQL 13-15 compatible.
 *
 * BlockSig blocks everything that can be blocked except SIGQUIT (immediate
 * exit) and the synchronous fault signals; UnBlockSig blocks only SIGURG,
 * which latches consume through a signalfd. Background workers start with
 * BlockSig in force.
 */
#ifndef BGW_COMPAT_PQSIGNAL_H
#define BGW_COMPAT_PQSIGNAL_H

#include <signal.h>

#include "postgres.h"

#ifdef __cplusplus
extern "C" {
#endif

extern PGDLLIMPORT sigset_t UnBlockSig;
extern PGDLLIMPORT sigset_t BlockSig;
extern PGDLLIMPORT sigset_t StartupBlockSig;

extern void pqinitmask(void);

#ifdef __cplusplus
}
#endif

#endif /* BGW_COMPAT_PQSIGNAL_H */
