/* One event loop per thread (libev), plus what every loop needs: a list of
 * sockets whose queued output is flushed once per iteration (so a response
 * head and body produced in one callback go out in one writev), and a list
 * of objects to free once the current callback stack has unwound. */
#ifndef DP_CORE_LOOP_H
#define DP_CORE_LOOP_H

#include <ev.h>

struct dp_sock;

typedef struct dp_loop {
    struct ev_loop *ev;
    ev_prepare flush_watcher;
    struct dp_sock *flush_head; /* sockets with pending output */
    struct dp_sock *dead_head;  /* closed sockets to free */
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

static inline dp_loop_t *dp_loop_of(struct ev_loop *ev)
{
    return (dp_loop_t *)ev_userdata(ev);
}

#endif
