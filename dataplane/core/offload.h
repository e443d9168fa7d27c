/* Offload: a small fixed pool of threads for CPU-heavy work that must not
 * run on an event loop (password hashing: bcrypt at cost 10 is ~60 ms, and
 * a worker loop stalled that long stalls every request it carries).
 *
 *   worker loop                         pool thread
 *   dp_offload_submit(port, ...) ──queue──▶ work(arg)
 *        done(arg) ◀──port (ev_async)───────┘
 *
 * A port ties completions to one libev loop: work runs on a pool thread,
 * done runs back on the port's loop thread, so the submitter never shares
 * its state with another thread except through `arg`. The queue is
 * bounded: when it is full, submit fails at once (DP_EAGAIN) and the caller
 * answers an error instead of blocking its loop. A job can be cancelled
 * (the request it serves went away): done is then never called.
 *
 * Threads: dp_offload_submit / cancel / port_new / port_free are called on
 * the port's loop thread; work and release may run on a pool thread. */
#ifndef DP_CORE_OFFLOAD_H
#define DP_CORE_OFFLOAD_H

#include <stddef.h>

#include <ev.h>

typedef struct dp_offload dp_offload_t;           /* the thread pool */
typedef struct dp_offload_port dp_offload_port_t; /* completions towards one loop */
typedef struct dp_offload_job dp_offload_job_t;   /* one submitted job */

typedef void (*dp_offload_fn)(void *arg);

#define DP_OFFLOAD_DEFAULT_THREADS 2
#define DP_OFFLOAD_DEFAULT_QUEUE 256

/* A pool of n_threads threads (1..64) with room for max_queued waiting
 * jobs (>= 1; running jobs do not count). The threads block every signal.
 * Returns 0, DP_EINVAL, DP_ENOMEM or DP_ERR (a thread could not start). */
int dp_offload_create(unsigned n_threads, size_t max_queued, dp_offload_t **out);

/* Stops the pool: waits for the running jobs, releases the queued ones
 * (their release callback runs, done does not) and joins the threads.
 * Every port of the pool must have been freed before. p may be NULL. */
void dp_offload_destroy(dp_offload_t *p);

/* The process-wide pool (DP_OFFLOAD_DEFAULT_THREADS threads,
 * DP_OFFLOAD_DEFAULT_QUEUE waiting jobs), started on first use and never
 * destroyed. NULL only if its threads could not be started. */
dp_offload_t *dp_offload_default(void);

/* Waiting / running jobs right now (for stats and tests). */
size_t dp_offload_queued(dp_offload_t *p);
size_t dp_offload_running(dp_offload_t *p);

/* A port on loop `ev`, created on ev's thread (or before its loop runs).
 * The port's watcher only keeps the loop alive while it has outstanding
 * jobs. Never NULL (allocation failure aborts: server glue). */
dp_offload_port_t *dp_offload_port_new(dp_offload_t *p, struct ev_loop *ev);

/* Frees a port on its loop's thread, or once its loop no longer runs.
 * Outstanding jobs are cancelled as by dp_offload_cancel. Not from inside
 * one of the port's done callbacks. port may be NULL. */
void dp_offload_port_free(dp_offload_port_t *port);

/* The calling thread's port on `ev` for the default pool: created on first
 * use, freed when the thread exits (its jobs are then cancelled). NULL if
 * the default pool is unavailable. For worker threads (one loop each). */
dp_offload_port_t *dp_offload_port_of_thread(struct ev_loop *ev);

/* Queues work(arg) on the pool; after it returns, done(arg) runs on the
 * port's loop thread, from the loop (never from inside submit). `arg`
 * belongs to the job until done is called; work and done never run
 * concurrently with each other. done may be NULL.
 *
 * release (may be NULL) frees `arg` when the job is cancelled; it may run
 * on a pool thread (if work was running at cancel time), so it must only
 * free memory. It is not called after done: done owns arg then.
 *
 * *job (may be NULL) receives a handle for dp_offload_cancel, valid until
 * done starts or cancel returns.
 * Returns 0, DP_EAGAIN when max_queued jobs are already waiting (nothing
 * was queued: the caller still owns arg), DP_ENOMEM. */
int dp_offload_submit(dp_offload_port_t *port, dp_offload_fn work, dp_offload_fn done, dp_offload_fn release,
                      void *arg, dp_offload_job_t **job);

/* Cancels a job whose done has not started: done will never be called
 * for it. If work has not started it never will; if it is running, the
 * pool thread releases arg when it returns; otherwise arg is released
 * before cancel returns. On the port's loop thread. */
void dp_offload_cancel(dp_offload_job_t *job);

#endif
