/* One event loop per thread (libev), plus what every loop needs: a list of
 * sockets whose queued output is flushed once per iteration (so a response
 * head and body produced in one callback go out in one writev), and a list
 * of objects to free once the current callback stack has unwound (closed
 * sockets among them), after that flush. */
#ifndef DP_CORE_LOOP_H
#define DP_CORE_LOOP_H

#include <ev.h>

struct dp_sock;

typedef struct dp_loop {
    struct ev_loop *ev;
    ev_prepare flush_watcher;
    /* sockets with output queued this iteration: an array here rather
     * than a link in every socket, which idle connections would carry */
    struct dp_sock **flush;
    size_t n_flush, cap_flush;
    void *owner;                /* dp_worker_t, or NULL for the main loop */
    void **deferred;            /* freed after the current callbacks unwind */
    size_t n_deferred, cap_deferred;
} dp_loop_t;

/* Initialises l on an existing libev loop (ev_default_loop or ev_loop_new). */
void dp_loop_init(dp_loop_t *l, struct ev_loop *ev, void *owner);
void dp_loop_dispose(dp_loop_t *l);

/* Frees p (with free()) once the current callback stack has unwound: for
 * objects a callback may release while a caller up the stack still looks
 * at them. */
void dp_loop_defer_free(dp_loop_t *l, void *p);
/* For sock.c: adds s to the sockets flushed before the loop blocks. */
void dp_loop__grow_flush(dp_loop_t *l);
static inline void dp_loop__queue_flush(dp_loop_t *l, struct dp_sock *s)
{
    if (l->n_flush == l->cap_flush)
        dp_loop__grow_flush(l);
    l->flush[l->n_flush++] = s;
}

static inline dp_loop_t *dp_loop_of(struct ev_loop *ev)
{
    return (dp_loop_t *)ev_userdata(ev);
}

#endif
