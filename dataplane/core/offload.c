/* Offload thread pool (see offload.h).
 *
 * One mutex per pool guards everything shared: the queue of waiting jobs,
 * the list of running ones and every port's list of finished ones. Jobs
 * are slow (milliseconds) and few, so one lock costs nothing measurable and
 * keeps cancellation simple: a job is in exactly one of
 *
 *   QUEUED  (pool->queue)  -- a thread picks it -->
 *   RUNNING (pool->running) -- work returns -->
 *   DONE    (port->done)   -- the loop delivers it --> freed
 *
 * and cancel, under the lock, finds it by its state. A pool thread calls
 * ev_async_send while it holds the lock, and a port is unlinked under the
 * same lock before its watcher stops, so no thread ever signals a freed
 * port. */
#include "dataplane/core/offload.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>

#include "dataplane/core/common.h"

typedef enum { JOB_QUEUED, JOB_RUNNING, JOB_DONE } job_state_t;

struct dp_offload_job {
    dp_offload_job_t *prev, *next; /* in the list of its state */
    dp_offload_port_t *port;
    dp_offload_fn work, done, release;
    void *arg;
    job_state_t state;
    bool cancelled; /* while RUNNING: the pool thread releases it */
};

typedef struct job_list {
    dp_offload_job_t *head, *tail;
    size_t n;
} job_list_t;

struct dp_offload {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    job_list_t queue, running;
    size_t max_queued;
    size_t n_ports;
    bool stopping;
    unsigned n_threads;
    pthread_t *threads;
};

struct dp_offload_port {
    dp_offload_t *pool;
    struct ev_loop *ev;
    ev_async async;
    job_list_t done;            /* guarded by pool->mu */
    size_t outstanding;         /* loop thread only: submitted, not yet delivered or cancelled */
    dp_offload_port_t *tl_next; /* the thread's list (dp_offload_port_of_thread) */
};

static void list_push(job_list_t *l, dp_offload_job_t *j)
{
    j->next = NULL;
    j->prev = l->tail;
    if (l->tail)
        l->tail->next = j;
    else
        l->head = j;
    l->tail = j;
    l->n++;
}

static void list_unlink(job_list_t *l, dp_offload_job_t *j)
{
    if (j->prev)
        j->prev->next = j->next;
    else
        l->head = j->next;
    if (j->next)
        j->next->prev = j->prev;
    else
        l->tail = j->prev;
    j->prev = j->next = NULL;
    l->n--;
}

static void job_release(dp_offload_job_t *j)
{
    if (j->release)
        j->release(j->arg);
    free(j);
}

/* --- pool threads ------------------------------------------------------------ */

static void *pool_main(void *arg)
{
    dp_offload_t *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stopping && p->queue.head == NULL)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->stopping)
            break;
        dp_offload_job_t *j = p->queue.head;
        list_unlink(&p->queue, j);
        j->state = JOB_RUNNING;
        list_push(&p->running, j);
        pthread_mutex_unlock(&p->mu);

        j->work(j->arg);

        pthread_mutex_lock(&p->mu);
        list_unlink(&p->running, j);
        if (j->cancelled) {
            /* its requester is gone (and maybe its port): nobody to tell */
            pthread_mutex_unlock(&p->mu);
            job_release(j);
            pthread_mutex_lock(&p->mu);
            continue;
        }
        j->state = JOB_DONE;
        list_push(&j->port->done, j);
        ev_async_send(j->port->ev, &j->port->async);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int dp_offload_create(unsigned n_threads, size_t max_queued, dp_offload_t **out)
{
    *out = NULL;
    if (n_threads == 0 || n_threads > 64 || max_queued == 0)
        return DP_EINVAL;
    dp_offload_t *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return DP_ENOMEM;
    p->threads = calloc(n_threads, sizeof(*p->threads));
    if (p->threads == NULL) {
        free(p);
        return DP_ENOMEM;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->max_queued = max_queued;

    /* the threads inherit a full signal mask: signals belong to the loops */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = 0;
    for (unsigned i = 0; i < n_threads; i++) {
        if (pthread_create(&p->threads[i], NULL, pool_main, p) != 0) {
            rc = DP_ERR;
            break;
        }
        p->n_threads++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc < 0) {
        dp_offload_destroy(p);
        return rc;
    }
    *out = p;
    return 0;
}

void dp_offload_destroy(dp_offload_t *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    job_list_t queued = p->queue;
    p->queue = (job_list_t){0};
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->n_threads; i++)
        pthread_join(p->threads[i], NULL);
    /* no port is left (the contract), so nothing ran to completion unseen */
    while (queued.head) {
        dp_offload_job_t *j = queued.head;
        list_unlink(&queued, j);
        job_release(j);
    }
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p->threads);
    free(p);
}

static dp_offload_t *default_pool;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;

static void default_init(void)
{
    if (dp_offload_create(DP_OFFLOAD_DEFAULT_THREADS, DP_OFFLOAD_DEFAULT_QUEUE, &default_pool) < 0)
        default_pool = NULL;
}

dp_offload_t *dp_offload_default(void)
{
    pthread_once(&default_once, default_init);
    return default_pool;
}

size_t dp_offload_queued(dp_offload_t *p)
{
    pthread_mutex_lock(&p->mu);
    size_t n = p->queue.n;
    pthread_mutex_unlock(&p->mu);
    return n;
}

size_t dp_offload_running(dp_offload_t *p)
{
    pthread_mutex_lock(&p->mu);
    size_t n = p->running.n;
    pthread_mutex_unlock(&p->mu);
    return n;
}

/* --- ports ------------------------------------------------------------------- */

/* The watcher holds a reference on the loop only while jobs are out, so a
 * loop (a test's, or a worker's at shutdown) can end when it is idle. */
static void outstanding_inc(dp_offload_port_t *port)
{
    if (port->outstanding++ == 0)
        ev_ref(port->ev);
}

static void outstanding_dec(dp_offload_port_t *port)
{
    if (--port->outstanding == 0)
        ev_unref(port->ev);
}

static void on_async(struct ev_loop *ev, ev_async *a, int revents)
{
    (void)ev;
    (void)revents;
    dp_offload_port_t *port = a->data;
    dp_offload_t *p = port->pool;
    /* one at a time: a done callback may cancel another finished job of
     * this port, which must still be findable in port->done */
    for (;;) {
        pthread_mutex_lock(&p->mu);
        dp_offload_job_t *j = port->done.head;
        if (j)
            list_unlink(&port->done, j);
        pthread_mutex_unlock(&p->mu);
        if (j == NULL)
            break;
        outstanding_dec(port);
        if (j->done)
            j->done(j->arg);
        free(j);
    }
}

dp_offload_port_t *dp_offload_port_new(dp_offload_t *p, struct ev_loop *ev)
{
    dp_offload_port_t *port = dp_xcalloc(1, sizeof(*port));
    port->pool = p;
    port->ev = ev;
    ev_async_init(&port->async, on_async);
    port->async.data = port;
    ev_async_start(ev, &port->async);
    ev_unref(ev);
    pthread_mutex_lock(&p->mu);
    p->n_ports++;
    pthread_mutex_unlock(&p->mu);
    return port;
}

void dp_offload_port_free(dp_offload_port_t *port)
{
    if (port == NULL)
        return;
    dp_offload_t *p = port->pool;
    job_list_t drop = {0};
    pthread_mutex_lock(&p->mu);
    for (dp_offload_job_t *j = p->queue.head, *next; j; j = next) {
        next = j->next;
        if (j->port == port) {
            list_unlink(&p->queue, j);
            list_push(&drop, j);
        }
    }
    for (dp_offload_job_t *j = p->running.head; j; j = j->next)
        if (j->port == port)
            j->cancelled = true;
    while (port->done.head) {
        dp_offload_job_t *j = port->done.head;
        list_unlink(&port->done, j);
        list_push(&drop, j);
    }
    p->n_ports--;
    pthread_mutex_unlock(&p->mu);
    while (drop.head) {
        dp_offload_job_t *j = drop.head;
        list_unlink(&drop, j);
        job_release(j);
    }
    /* libev: a watcher that was ev_unref'd is ev_ref'd again before it stops */
    if (port->outstanding == 0)
        ev_ref(port->ev);
    ev_async_stop(port->ev, &port->async);
    free(port);
}

static pthread_key_t tl_key;
static pthread_once_t tl_once = PTHREAD_ONCE_INIT;

static void tl_free(void *head)
{
    for (dp_offload_port_t *port = head, *next; port; port = next) {
        next = port->tl_next;
        dp_offload_port_free(port);
    }
}

static void tl_init(void)
{
    pthread_key_create(&tl_key, tl_free);
}

dp_offload_port_t *dp_offload_port_of_thread(struct ev_loop *ev)
{
    dp_offload_t *p = dp_offload_default();
    if (p == NULL)
        return NULL;
    pthread_once(&tl_once, tl_init);
    dp_offload_port_t *head = pthread_getspecific(tl_key);
    for (dp_offload_port_t *port = head; port; port = port->tl_next)
        if (port->ev == ev)
            return port;
    dp_offload_port_t *port = dp_offload_port_new(p, ev);
    port->tl_next = head;
    pthread_setspecific(tl_key, port);
    return port;
}

/* --- jobs -------------------------------------------------------------------- */

int dp_offload_submit(dp_offload_port_t *port, dp_offload_fn work, dp_offload_fn done, dp_offload_fn release,
                      void *arg, dp_offload_job_t **job)
{
    if (job)
        *job = NULL;
    dp_offload_job_t *j = calloc(1, sizeof(*j));
    if (j == NULL)
        return DP_ENOMEM;
    j->port = port;
    j->work = work;
    j->done = done;
    j->release = release;
    j->arg = arg;
    j->state = JOB_QUEUED;
    dp_offload_t *p = port->pool;
    pthread_mutex_lock(&p->mu);
    if (p->stopping || p->queue.n >= p->max_queued) {
        pthread_mutex_unlock(&p->mu);
        free(j);
        return DP_EAGAIN;
    }
    list_push(&p->queue, j);
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    outstanding_inc(port);
    if (job)
        *job = j;
    return 0;
}

void dp_offload_cancel(dp_offload_job_t *j)
{
    if (j == NULL)
        return;
    dp_offload_port_t *port = j->port;
    dp_offload_t *p = port->pool;
    bool release_now = true;
    pthread_mutex_lock(&p->mu);
    switch (j->state) {
    case JOB_QUEUED:
        list_unlink(&p->queue, j);
        break;
    case JOB_RUNNING:
        j->cancelled = true;
        release_now = false;
        break;
    case JOB_DONE:
        list_unlink(&port->done, j);
        break;
    }
    pthread_mutex_unlock(&p->mu);
    outstanding_dec(port);
    if (release_now)
        job_release(j);
}
