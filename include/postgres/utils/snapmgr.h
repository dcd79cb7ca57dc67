/*
 * utils/snapmgr.h: PostgreSQL 13-15 compatible subset.
 *
 * Snapshots are SQLite's: a transaction sees the database as of its first
 * read (writers take the write lock up front, so an UPDATE always works on
 * the newest committed row). These calls exist so PostgreSQL's SPI idiom
 * PushActiveSnapshot(GetTransactionSnapshot()) ... PopActiveSnapshot()
 * compiles and runs unchanged; they only count pushes and pops.
 */
#ifndef BGW_COMPAT_SNAPMGR_H
#define BGW_COMPAT_SNAPMGR_H

#include "postgres.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct SnapshotData *Snapshot;

/* A token for the current transaction; NULL outside a transaction. */
extern Snapshot GetTransactionSnapshot(void);
extern Snapshot GetLatestSnapshot(void);
extern void PushActiveSnapshot(Snapshot snapshot);
extern void PopActiveSnapshot(void);
extern bool ActiveSnapshotSet(void);

#ifdef __cplusplus
}
#endif

#endif /* BGW_COMPAT_SNAPMGR_H */
