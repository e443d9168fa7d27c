/* QSBR: a global epoch, one slot per reader holding the epoch it saw when
 * it last came online (0: offline), and a writer-side list of retired
 * objects tagged with the epoch of their retirement. An object retired at
 * epoch E is safe to free once no reader is online with a slot <= E. */
#include "dataplane/core/qsbr.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "dataplane/core/common.h"

#define QSBR_MAX_READERS 256

struct dp_qsbr_reader {
    _Atomic uint64_t seen; /* 0: offline */
    _Atomic bool used;
    ev_prepare prepare;
    ev_check check;
    struct ev_loop *ev;
};

typedef struct retired {
    struct retired *next;
    void (*fn)(void *);
    void *p;
    uint64_t epoch;
} retired_t;

static _Atomic uint64_t g_epoch = 1;
static dp_qsbr_reader_t g_readers[QSBR_MAX_READERS];
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER; /* the retired list (writers may differ over time) */
static retired_t *g_head, **g_tail = &g_head;

dp_qsbr_reader_t *dp_qsbr_reader_register(void)
{
    for (size_t i = 0; i < QSBR_MAX_READERS; i++) {
        bool expect = false;
        if (atomic_compare_exchange_strong(&g_readers[i].used, &expect, true)) {
            atomic_store(&g_readers[i].seen, 0);
            return &g_readers[i];
        }
    }
    return NULL;
}

void dp_qsbr_online(dp_qsbr_reader_t *r)
{
    atomic_store(&r->seen, atomic_load(&g_epoch));
    /* The announcement must be visible before this thread loads any
     * protected pointer (a store-load pair, which x86 reorders). */
    atomic_thread_fence(memory_order_seq_cst);
}

void dp_qsbr_offline(dp_qsbr_reader_t *r)
{
    atomic_store(&r->seen, 0);
}

static void on_prepare(struct ev_loop *ev, ev_prepare *w, int revents)
{
    (void)ev;
    (void)revents;
    dp_qsbr_offline((dp_qsbr_reader_t *)w->data);
}

static void on_check(struct ev_loop *ev, ev_check *w, int revents)
{
    (void)ev;
    (void)revents;
    dp_qsbr_online((dp_qsbr_reader_t *)w->data);
}

dp_qsbr_reader_t *dp_qsbr_reader_attach(struct ev_loop *ev)
{
    dp_qsbr_reader_t *r = dp_qsbr_reader_register();
    if (r == NULL)
        return NULL;
    r->ev = ev;
    /* lowest priority prepare: after every other prepare watcher (flush);
     * highest priority check: before any I/O callback of the iteration */
    ev_prepare_init(&r->prepare, on_prepare);
    ev_set_priority(&r->prepare, EV_MINPRI);
    r->prepare.data = r;
    ev_prepare_start(ev, &r->prepare);
    ev_unref(ev);
    ev_check_init(&r->check, on_check);
    ev_set_priority(&r->check, EV_MAXPRI);
    r->check.data = r;
    ev_check_start(ev, &r->check);
    ev_unref(ev);
    dp_qsbr_online(r);
    return r;
}

void dp_qsbr_reader_detach(dp_qsbr_reader_t *r)
{
    if (r == NULL)
        return;
    if (r->ev) {
        ev_ref(r->ev);
        ev_prepare_stop(r->ev, &r->prepare);
        ev_ref(r->ev);
        ev_check_stop(r->ev, &r->check);
        r->ev = NULL;
    }
    dp_qsbr_offline(r);
    atomic_store(&r->used, false);
}

void dp_qsbr_retire(void (*fn)(void *), void *p)
{
    retired_t *t = dp_xmalloc(sizeof(*t));
    t->next = NULL;
    t->fn = fn;
    t->p = p;
    /* Readers online from now on see a larger epoch than this one. */
    t->epoch = atomic_fetch_add(&g_epoch, 1);
    pthread_mutex_lock(&g_mu);
    *g_tail = t;
    g_tail = &t->next;
    pthread_mutex_unlock(&g_mu);
}

/* The smallest epoch an online reader may still be in (UINT64_MAX: none). */
static uint64_t min_online(void)
{
    uint64_t m = UINT64_MAX;
    for (size_t i = 0; i < QSBR_MAX_READERS; i++) {
        if (!atomic_load(&g_readers[i].used))
            continue;
        uint64_t s = atomic_load(&g_readers[i].seen);
        if (s != 0 && s < m)
            m = s;
    }
    return m;
}

size_t dp_qsbr_reclaim(void)
{
    uint64_t m = min_online();
    retired_t *done = NULL, **dtail = &done;
    size_t waiting = 0;

    pthread_mutex_lock(&g_mu);
    /* The list is in epoch order: free the prefix every reader is past. */
    while (g_head && g_head->epoch < m) {
        retired_t *t = g_head;
        g_head = t->next;
        t->next = NULL;
        *dtail = t;
        dtail = &t->next;
    }
    if (g_head == NULL)
        g_tail = &g_head;
    for (retired_t *t = g_head; t; t = t->next)
        waiting++;
    pthread_mutex_unlock(&g_mu);
    while (done) {
        retired_t *n = done->next;
        done->fn(done->p);
        free(done);
        done = n;
    }
    return waiting;
}

void dp_qsbr_barrier(void)
{
    while (dp_qsbr_reclaim() > 0) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}
