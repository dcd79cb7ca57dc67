/*
 * storage/proclist_types.h: lists of waiting processes, PostgreSQL 13-15
 * compatible types.
 *
 * A proclist links process slots by number, not by pointer, so a list head
 * can live in any shared memory (main segment or DSM, mapped anywhere). The
 * links themselves are kept in the server's per-process slots; modules only
 * embed heads (inside LWLock and ConditionVariable) and never walk them.
 * An empty list has head == tail == INVALID_PGPROCNO.
 */
#ifndef BGW_COMPAT_PROCLIST_TYPES_H
#define BGW_COMPAT_PROCLIST_TYPES_H

#include "c.h"

#ifndef INVALID_PGPROCNO
#define INVALID_PGPROCNO PG_INT32_MAX
#endif

typedef struct proclist_node
{
	int			next;
	int			prev;
} proclist_node;

typedef struct proclist_head
{
	int			head;
	int			tail;
} proclist_head;

#endif /* BGW_COMPAT_PROCLIST_TYPES_H */
