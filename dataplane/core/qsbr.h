/* Quiescent-state-based reclamation for data that one writer thread
 * changes while the worker threads read it without locks (the container
 * catalogue: a one-container change must not rebuild or lock anything).
 *
 * A worker is "online" while it runs callbacks and "offline" while its
 * loop blocks in poll: dp_qsbr_reader_attach() hooks both transitions into
 * the libev loop. A pointer a reader loads from a QSBR-protected structure
 * stays valid until that reader goes offline (the end of the current loop
 * iteration); to keep an object longer, take a reference on it.
 *
 * The writer retires what it unlinked with dp_qsbr_retire(); the free
 * function runs once every reader was offline or started a new iteration
 * since, in dp_qsbr_reclaim() (the writer calls it after its updates, and
 * dp_qsbr_barrier() waits for it in tests and at shutdown). */
#ifndef DP_CORE_QSBR_H
#define DP_CORE_QSBR_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct dp_qsbr_reader dp_qsbr_reader_t;

/* Registers the calling thread's loop as a reader (workers do it at start)
 * and hooks online/offline to its iterations. Returns NULL if the fixed
 * table of readers is full (then the loop must not read protected data). */
dp_qsbr_reader_t *dp_qsbr_reader_attach(struct ev_loop *ev);
void dp_qsbr_reader_detach(dp_qsbr_reader_t *r);

/* For threads without a libev loop (tests): explicit transitions. */
dp_qsbr_reader_t *dp_qsbr_reader_register(void);
void dp_qsbr_online(dp_qsbr_reader_t *r);
void dp_qsbr_offline(dp_qsbr_reader_t *r);

/* Writer side (one thread at a time). */
void dp_qsbr_retire(void (*fn)(void *), void *p);
/* Frees what no reader can still see; returns how many are still waiting. */
size_t dp_qsbr_reclaim(void);
/* Waits until everything retired so far is freed (polls every 1 ms). */
void dp_qsbr_barrier(void);

#endif
