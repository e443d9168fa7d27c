#include "dataplane/core/loop.h"

#include <stdlib.h>

#include "dataplane/core/common.h"

#include "dataplane/transport/sock.h"

static void on_prepare(struct ev_loop *ev, ev_prepare *w, int revents)
{
    (void)w;
    (void)revents;
    dp_loop_t *l = dp_loop_of(ev);
    dp_sock__flush_all(l); /* before the frees: closed sockets may be queued */
    for (size_t i = 0; i < l->n_deferred; i++)
        free(l->deferred[i]);
    l->n_deferred = 0;
}

void dp_loop_defer_free(dp_loop_t *l, void *p)
{
    if (l->n_deferred == l->cap_deferred) {
        l->cap_deferred = l->cap_deferred ? l->cap_deferred * 2 : 64;
        l->deferred = dp_xrealloc(l->deferred, l->cap_deferred * sizeof(void *));
    }
    l->deferred[l->n_deferred++] = p;
}

void dp_loop__grow_flush(dp_loop_t *l)
{
    l->cap_flush = l->cap_flush ? l->cap_flush * 2 : 64;
    l->flush = dp_xrealloc(l->flush, l->cap_flush * sizeof(*l->flush));
}

void dp_loop_init(dp_loop_t *l, struct ev_loop *ev, void *owner)
{
    l->ev = ev;
    l->flush = NULL;
    l->n_flush = l->cap_flush = 0;
    l->owner = owner;
    l->deferred = NULL;
    l->n_deferred = l->cap_deferred = 0;
    ev_set_userdata(ev, l);
    ev_prepare_init(&l->flush_watcher, on_prepare);
    ev_prepare_start(ev, &l->flush_watcher);
    /* the prepare watcher must not keep the loop alive by itself */
    ev_unref(ev);
}

void dp_loop_dispose(dp_loop_t *l)
{
    on_prepare(l->ev, &l->flush_watcher, 0);
    free(l->deferred);
    l->deferred = NULL;
    free(l->flush);
    l->flush = NULL;
    l->n_flush = l->cap_flush = 0;
    ev_ref(l->ev);
    ev_prepare_stop(l->ev, &l->flush_watcher);
}
