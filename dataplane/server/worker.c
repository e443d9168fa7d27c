#include "dataplane/server/worker.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dataplane/core/arena.h"
#include "dataplane/core/buf.h"
#include "dataplane/core/common.h"
#include "dataplane/core/qsbr.h"
#include "dataplane/core/log.h"
#include "dataplane/http1/server.h"
#include "dataplane/server/accept.h"
#include "dataplane/upstream/pool.h"

static dp_worker_t *workers;
static int n_workers;
static _Thread_local dp_worker_t *self;

dp_worker_t *dp_worker_self(void)
{
    return self;
}

int dp_workers_count(void)
{
    return n_workers;
}

dp_worker_t *dp_worker_get(int i)
{
    return &workers[i];
}

uint64_t dp_worker_random(dp_worker_t *w)
{
    /* xorshift64*: fast, per worker, good enough for load balancing and ids */
    uint64_t x = w->rand_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    w->rand_state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

void dp_worker_conn_add(dp_worker_t *w, dp_conn_link_t *l)
{
    l->prev = NULL;
    l->next = w->conns;
    if (w->conns)
        w->conns->prev = l;
    w->conns = l;
    __atomic_add_fetch(&w->n_conns, 1, __ATOMIC_RELAXED);
}

void dp_worker_conn_remove(dp_worker_t *w, dp_conn_link_t *l)
{
    if (l->prev)
        l->prev->next = l->next;
    else
        w->conns = l->next;
    if (l->next)
        l->next->prev = l->prev;
    l->prev = l->next = NULL;
    __atomic_sub_fetch(&w->n_conns, 1, __ATOMIC_RELAXED);
}

static void on_accept(struct ev_loop *ev, ev_io *io, int revents)
{
    (void)ev;
    (void)revents;
    dp_worker_listener_t *wl = io->data;
    dp_worker_t *w = wl->w;
    for (int i = 0; i < 64; i++) {
        dp_sockaddr_t peer;
        socklen_t plen = sizeof(peer);
        int fd = accept4(io->fd, &peer.sa, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                DP_WARN("accept on listener '%s': %s", wl->ls->name, strerror(errno));
            return;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        dp_accept_conn(w, wl->ls->cfg, fd, &peer);
    }
}

static void stop_listeners(dp_worker_t *w)
{
    for (size_t i = 0; i < w->n_listeners; i++) {
        ev_io_stop(w->loop.ev, &w->listeners[i].io);
        dp_lsock_unref(w->listeners[i].ls);
    }
    free(w->listeners);
    w->listeners = NULL;
    w->n_listeners = 0;
}

/* Watches this worker's socket of every listener in the set. */
static void start_listeners(dp_worker_t *w, dp_lset_t *set)
{
    stop_listeners(w);
    if (set == NULL || w->draining)
        return;
    w->listeners = dp_xcalloc(set->n ? set->n : 1, sizeof(*w->listeners));
    for (size_t i = 0; i < set->n; i++) {
        if (set->v[i]->n_fds == 0)
            continue; /* stopped */
        dp_worker_listener_t *wl = &w->listeners[w->n_listeners++];
        wl->ls = dp_lsock_ref(set->v[i]);
        wl->w = w;
        ev_io_init(&wl->io, on_accept, wl->ls->fds[w->id], EV_READ);
        wl->io.data = wl;
        ev_io_start(w->loop.ev, &wl->io);
    }
}

static void drain_conns(dp_worker_t *w)
{
    dp_conn_link_t *l = w->conns;
    while (l) {
        dp_conn_link_t *next = l->next; /* drain may unlink l */
        l->drain(l, true);
        l = next;
    }
}

/* Connections whose listener config is not in the new set are on a
 * modified or removed listener: they finish on their config and close. */
static void drain_stale_conns(dp_worker_t *w, const dp_lset_t *set)
{
    for (dp_conn_link_t *l = w->conns; l; l = l->next) {
        bool current = false;
        for (size_t i = 0; i < set->n && !current; i++)
            current = set->v[i]->cfg == l->listener;
        if (!current)
            l->drain(l, false);
    }
}

static void on_wakeup(struct ev_loop *ev, ev_async *a, int revents)
{
    (void)revents;
    dp_worker_t *w = a->data;
    pthread_mutex_lock(&w->mu);
    dp_snapshot_t *snap = w->next_snap;
    dp_lset_t *set = w->next_lset;
    bool stop = w->stop_requested, drain = w->drain_requested;
    w->next_snap = NULL;
    w->next_lset = NULL;
    pthread_mutex_unlock(&w->mu);
    if (snap) {
        dp_snapshot_unref(w->snap);
        w->snap = snap;
        dp_pool_table_prune(w->pools, snap);
    }
    if (set) {
        drain_stale_conns(w, set);
        start_listeners(w, set);
        dp_lset_unref(w->lset);
        w->lset = set;
    }
    if (drain && !w->draining) {
        w->draining = true;
        stop_listeners(w);
        drain_conns(w);
    }
    if (stop)
        ev_break(ev, EVBREAK_ALL);
}

static void *worker_main(void *arg)
{
    dp_worker_t *w = arg;
    self = w;
    /* readers of the container catalogue (lock-free, QSBR) */
    dp_qsbr_reader_t *qr = dp_qsbr_reader_attach(w->loop.ev);
    ev_run(w->loop.ev, 0);
    dp_qsbr_reader_detach(qr);
    stop_listeners(w);
    dp_pool_table_free(w->pools);
    w->pools = NULL;
    dp_loop_dispose(&w->loop);
    dp_buf_cache_release();
    dp_arena_cache_release();
    dp_h1_server_thread_exit();
    return NULL;
}

int dp_workers_start(int n)
{
    n_workers = n;
    workers = dp_xcalloc((size_t)n, sizeof(*workers));
    for (int i = 0; i < n; i++) {
        dp_worker_t *w = &workers[i];
        w->id = i;
        w->rand_state = (dp_now_ns() ^ ((uint64_t)(i + 1) * 0x9E3779B97F4A7C15ull)) | 1;
        pthread_mutex_init(&w->mu, NULL);
        dp_loop_init(&w->loop, ev_loop_new(EVFLAG_AUTO), w);
        ev_async_init(&w->wakeup, on_wakeup);
        w->wakeup.data = w;
        ev_async_start(w->loop.ev, &w->wakeup);
        w->pools = dp_pool_table_new(w);
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
            return DP_ERR;
    }
    return 0;
}

void dp_workers_publish(dp_snapshot_t *snap, dp_lset_t *lset)
{
    for (int i = 0; i < n_workers; i++) {
        dp_worker_t *w = &workers[i];
        pthread_mutex_lock(&w->mu);
        if (snap) {
            dp_snapshot_unref(w->next_snap);
            w->next_snap = dp_snapshot_ref(snap);
        }
        if (lset) {
            dp_lset_unref(w->next_lset);
            w->next_lset = dp_lset_ref(lset);
        }
        pthread_mutex_unlock(&w->mu);
        ev_async_send(w->loop.ev, &w->wakeup);
    }
}

void dp_workers_drain(void)
{
    for (int i = 0; i < n_workers; i++) {
        dp_worker_t *w = &workers[i];
        pthread_mutex_lock(&w->mu);
        w->drain_requested = true;
        pthread_mutex_unlock(&w->mu);
        ev_async_send(w->loop.ev, &w->wakeup);
    }
}

size_t dp_workers_conns(void)
{
    size_t n = 0;
    for (int i = 0; i < n_workers; i++)
        n += __atomic_load_n(&workers[i].n_conns, __ATOMIC_RELAXED);
    return n;
}

void dp_workers_stop(void)
{
    for (int i = 0; i < n_workers; i++) {
        dp_worker_t *w = &workers[i];
        pthread_mutex_lock(&w->mu);
        w->stop_requested = true;
        pthread_mutex_unlock(&w->mu);
        ev_async_send(w->loop.ev, &w->wakeup);
    }
    for (int i = 0; i < n_workers; i++) {
        dp_worker_t *w = &workers[i];
        pthread_join(w->thread, NULL);
        dp_snapshot_unref(w->snap);
        dp_lset_unref(w->lset);
        dp_snapshot_unref(w->next_snap);
        dp_lset_unref(w->next_lset);
        ev_loop_destroy(w->loop.ev);
        pthread_mutex_destroy(&w->mu);
    }
    free(workers);
    workers = NULL;
    n_workers = 0;
}
