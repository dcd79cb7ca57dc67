/*
 * storage/condition_variable.h: condition variables, PostgreSQL 13-15
 * compatible.
 *
 * A condition variable lets processes sleep until another process says a
 * shared condition may have changed. The pattern (PostgreSQL's):
 *
 *     ConditionVariablePrepareToSleep(cv);      optional
 *     while (!condition_holds())
 *         ConditionVariableSleep(cv, wait_event_info);
 *     ConditionVariableCancelSleep();
 *
 * and, on the other side, change the state, then ConditionVariableSignal(cv)
 * (wakes one sleeper) or ConditionVariableBroadcast(cv) (wakes all).
 *
 * Sleeping is on the process latch (MyLatch), with WL_EXIT_ON_PM_DEATH, so
 * interrupts are processed (CHECK_FOR_INTERRUPTS) while sleeping. A wake-up
 * between the condition check and the sleep is never lost: the sleeper is
 * on the variable's list from PrepareToSleep (or its first Sleep, which
 * returns at once so the caller re-checks) until it is woken. Spurious
 * returns are possible; always re-check the condition.
 *
 * ConditionVariableTimedSleep(cv, timeout_ms, ...) returns true if the
 * timeout elapsed without a wake-up. A process is prepared on at most one
 * condition variable at a time; preparing on another cancels the first.
 * Exiting through proc_exit cancels any pending sleep. Only processes with
 * shared memory access (a process slot) may sleep.
 *
 * The struct is trivially copyable and position independent (a spinlock
 * and a list head of process slot numbers): it may live in any shared
 * memory, including DSM.
 */
#ifndef BGW_COMPAT_CONDITION_VARIABLE_H
#define BGW_COMPAT_CONDITION_VARIABLE_H

#include "c.h"
#include "storage/proclist_types.h"
#include "storage/s_lock.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct
{
	slock_t		mutex;			/* protects wakeup */
	proclist_head wakeup;		/* list of waiting processes */
} ConditionVariable;

/* Padded to avoid false sharing when stored in arrays. */
typedef union ConditionVariableMinimallyPadded
{
	ConditionVariable cv;
	char		pad[16];
} ConditionVariableMinimallyPadded;

extern void ConditionVariableInit(ConditionVariable *cv);
extern void ConditionVariableSleep(ConditionVariable *cv, uint32 wait_event_info);
extern bool ConditionVariableTimedSleep(ConditionVariable *cv, long timeout,
										uint32 wait_event_info);
extern void ConditionVariableCancelSleep(void);
extern void ConditionVariablePrepareToSleep(ConditionVariable *cv);
extern void ConditionVariableSignal(ConditionVariable *cv);
extern void ConditionVariableBroadcast(ConditionVariable *cv);

#ifdef __cplusplus
}
#endif

#endif /* BGW_COMPAT_CONDITION_VARIABLE_H */
