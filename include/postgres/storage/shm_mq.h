/*
 * storage/shm_mq.h: single-reader, single-writer shared memory message
 * queues, PostgreSQL 13-15 compatible (PostgreSQL 15 semantics).
 *
 * A queue is a ring buffer placed in shared memory (usually a chunk of a DSM
 * segment laid out with shm_toc) by shm_mq_create(). One process declares
 * itself the receiver (shm_mq_set_receiver(mq, MyProc)) and one the sender;
 * each side is set once, and setting it again raises ERROR. Each side then
 * calls shm_mq_attach() to get a process-local handle for sending or
 * receiving.
 *
 * Messages: any length from 0 to MaxAllocSize bytes, framed as a length word
 * and the payload, each MAXALIGN'd in the ring. A message larger than the
 * ring is streamed through it. A received message is returned by pointer:
 * into the ring when it lies there contiguously, otherwise into a buffer of
 * the handle; either stays valid until the next shm_mq_receive() or
 * shm_mq_detach() on that handle.
 *
 * Results: SHM_MQ_SUCCESS; SHM_MQ_WOULD_BLOCK (only with nowait = true: the
 * operation could not complete without waiting. A send that returned it has
 * possibly sent part of the message and MUST be called again with the same
 * arguments until it returns something else; a different message in between
 * raises ERROR); SHM_MQ_DETACHED (the other side detached, or, for a handle
 * given a BackgroundWorkerHandle, the worker behind it stopped or never
 * started). The receiver still gets every message sent before the sender
 * detached, then SHM_MQ_DETACHED.
 *
 * Waiting (nowait = false) sleeps on MyLatch (wait events
 * WAIT_EVENT_MQ_SEND, WAIT_EVENT_MQ_RECEIVE, WAIT_EVENT_MQ_INTERNAL); the
 * other side sets it through its process slot. Waits honour
 * CHECK_FOR_INTERRUPTS() and exit the process if the postmaster dies.
 *
 * Batching (PostgreSQL 15): a send is made visible to the receiver when
 * force_flush is true, when more than a quarter of the ring is pending, when
 * the ring is full, and at shm_mq_detach(). PostgreSQL 13/14 code calls
 * shm_mq_send(mqh, nbytes, data, nowait) and shm_mq_sendv(mqh, iov, iovcnt,
 * nowait) with four arguments; that form is accepted too and flushes every
 * message, as those versions did.
 *
 * Detaching: shm_mq_detach() marks the queue detached and wakes the other
 * side. A handle attached with a DSM segment detaches by itself when the
 * segment is detached (on_dsm_detach), including at process exit.
 *
 * Who may call: processes with a process slot (MyProc != NULL): background
 * workers with BGWORKER_SHMEM_ACCESS. Elsewhere these raise ERROR.
 */
#ifndef BGW_COMPAT_SHM_MQ_H
#define BGW_COMPAT_SHM_MQ_H

#include "postgres.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "storage/proc.h"		/* PGPROC, MyProc */

#ifdef __cplusplus
extern "C" {
#endif

/* The shared queue, and a process's handle on it. */
typedef struct shm_mq shm_mq;
typedef struct shm_mq_handle shm_mq_handle;

/* One piece of a message sent with shm_mq_sendv(). */
typedef struct
{
	const char *data;
	Size		len;
} shm_mq_iovec;

typedef enum
{
	SHM_MQ_SUCCESS,				/* Sent or received a message. */
	SHM_MQ_WOULD_BLOCK,			/* Not completed; would need to block. */
	SHM_MQ_DETACHED				/* Other process has detached queue. */
} shm_mq_result;

/*
 * Lays out a queue in `size` bytes at `address` (MAXALIGN'd); odd bytes at
 * the end are ignored. ERROR if size < shm_mq_minimum_size.
 */
extern shm_mq *shm_mq_create(void *address, Size size);

/* Set once each; the second call raises ERROR. */
extern void shm_mq_set_receiver(shm_mq *mq, PGPROC *);
extern void shm_mq_set_sender(shm_mq *mq, PGPROC *);
/* NULL until set. */
extern PGPROC *shm_mq_get_receiver(shm_mq *);
extern PGPROC *shm_mq_get_sender(shm_mq *);

/*
 * This process must be the queue's sender or receiver (ERROR otherwise).
 * seg: the DSM segment holding the queue, or NULL. handle: the background
 * worker on the other side, or NULL; with it, a peer that stops or never
 * starts before attaching is reported as SHM_MQ_DETACHED. The handle is
 * palloc'd in CurrentMemoryContext.
 */
extern shm_mq_handle *shm_mq_attach(shm_mq *mq, dsm_segment *seg,
									BackgroundWorkerHandle *handle);
/* Gives a handle its worker handle later (ERROR if it has one). */
extern void shm_mq_set_handle(shm_mq_handle *, BackgroundWorkerHandle *);
/* Flushes pending sends, marks the queue detached, frees the handle. */
extern void shm_mq_detach(shm_mq_handle *mqh);
extern shm_mq *shm_mq_get_queue(shm_mq_handle *mqh);

/* ERROR "cannot send a message of size %zu ..." above MaxAllocSize. */
extern shm_mq_result (shm_mq_send)(shm_mq_handle *mqh, Size nbytes, const void *data,
								   bool nowait, bool force_flush);
extern shm_mq_result (shm_mq_sendv)(shm_mq_handle *mqh, shm_mq_iovec *iov, int iovcnt,
									bool nowait, bool force_flush);
extern shm_mq_result shm_mq_receive(shm_mq_handle *mqh, Size *nbytesp, void **datap,
									bool nowait);
/* Waits until the other side has attached: SUCCESS or DETACHED. */
extern shm_mq_result shm_mq_wait_for_attach(shm_mq_handle *mqh);

/* The smallest size shm_mq_create() accepts. */
extern PGDLLIMPORT const Size shm_mq_minimum_size;

/*
 * PostgreSQL 13/14 spelled shm_mq_send and shm_mq_sendv without
 * force_flush; both spellings compile, chosen by the argument count. (A
 * function-like macro: &shm_mq_send still names the 5-argument function.)
 */
static inline shm_mq_result
bgw_shm_mq_send_pg14(shm_mq_handle *mqh, Size nbytes, const void *data, bool nowait)
{
	return (shm_mq_send) (mqh, nbytes, data, nowait, true);
}

static inline shm_mq_result
bgw_shm_mq_sendv_pg14(shm_mq_handle *mqh, shm_mq_iovec *iov, int iovcnt, bool nowait)
{
	return (shm_mq_sendv) (mqh, iov, iovcnt, nowait, true);
}

#define BGW_SHM_MQ_PICK5(a1, a2, a3, a4, a5, name, ...) name
#define shm_mq_send(...) \
	BGW_SHM_MQ_PICK5(__VA_ARGS__, (shm_mq_send), bgw_shm_mq_send_pg14, )(__VA_ARGS__)
#define shm_mq_sendv(...) \
	BGW_SHM_MQ_PICK5(__VA_ARGS__, (shm_mq_sendv), bgw_shm_mq_sendv_pg14, )(__VA_ARGS__)

#ifdef __cplusplus
}
#endif

#endif /* BGW_COMPAT_SHM_MQ_H */
