/* dataplane/core/offload: completions on the submitting loop, never from
 * inside submit; cancellation in each job state (queued, running, finished
 * but not delivered, from another job's done); a full queue refusing at
 * once; port teardown with jobs out; the per-thread port; and a loop that
 * keeps serving timers while a slow job runs. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "dataplane/core/common.h"
#include "dataplane/core/offload.h"
#include "test.h"

/* A gate work functions wait on, so a test decides when a job finishes. */
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static bool gate_open;

static void gate_set(bool open)
{
    pthread_mutex_lock(&gate_mu);
    gate_open = open;
    pthread_cond_broadcast(&gate_cv);
    pthread_mutex_unlock(&gate_mu);
}

static void gate_wait(void)
{
    pthread_mutex_lock(&gate_mu);
    while (!gate_open)
        pthread_cond_wait(&gate_cv, &gate_mu);
    pthread_mutex_unlock(&gate_mu);
}

typedef struct job_arg {
    int id;
    bool gated;
    int sleep_ms;
    atomic_int worked, done, released;
    pthread_t work_thread, done_thread;
    bool done_in_loop;
    struct job_arg *cancel_in_done; /* a job whose handle to cancel from done */
    dp_offload_job_t *handle;
} job_arg_t;

static bool in_loop; /* set while the test runs ev_run */
static pthread_t main_thread;
static int done_order[64], n_done_order;

static void work_fn(void *p)
{
    job_arg_t *a = p;
    a->work_thread = pthread_self();
    if (a->gated)
        gate_wait();
    if (a->sleep_ms)
        usleep((useconds_t)a->sleep_ms * 1000);
    atomic_fetch_add(&a->worked, 1);
}

static void done_fn(void *p)
{
    job_arg_t *a = p;
    a->done_thread = pthread_self();
    a->done_in_loop = in_loop;
    atomic_fetch_add(&a->done, 1);
    if (n_done_order < 64)
        done_order[n_done_order++] = a->id;
    if (a->cancel_in_done) {
        dp_offload_cancel(a->cancel_in_done->handle);
        a->cancel_in_done->handle = NULL;
    }
}

static void release_fn(void *p)
{
    job_arg_t *a = p;
    atomic_fetch_add(&a->released, 1);
}

static void run_loop(struct ev_loop *ev)
{
    in_loop = true;
    ev_run(ev, 0); /* returns once the port has nothing outstanding */
    in_loop = false;
}

/* Polls cond for up to 5 s. */
#define WAIT_FOR(cond)                                                                                       \
    do {                                                                                                     \
        for (int w_ = 0; w_ < 5000 && !(cond); w_++)                                                         \
            usleep(1000);                                                                                    \
    } while (0)

static void test_completion_on_loop(void)
{
    dp_offload_t *p;
    CHECK_INT(dp_offload_create(2, 8, &p), 0);
    struct ev_loop *ev = ev_loop_new(EVFLAG_AUTO);
    dp_offload_port_t *port = dp_offload_port_new(p, ev);
    job_arg_t a[5] = {0};
    n_done_order = 0;
    for (int i = 0; i < 5; i++) {
        a[i].id = i;
        CHECK_INT(dp_offload_submit(port, work_fn, done_fn, release_fn, &a[i], NULL), 0);
    }
    /* never from inside submit: the submitter's stack may hold state done frees */
    WAIT_FOR(atomic_load(&a[4].worked) == 1);
    CHECK_INT(atomic_load(&a[4].done), 0);
    run_loop(ev);
    for (int i = 0; i < 5; i++) {
        CHECK_INT(atomic_load(&a[i].worked), 1);
        CHECK_INT(atomic_load(&a[i].done), 1);
        CHECK_INT(atomic_load(&a[i].released), 0); /* done owns arg: no release */
        CHECK(a[i].done_in_loop);
        CHECK(pthread_equal(a[i].done_thread, main_thread));
        CHECK(!pthread_equal(a[i].work_thread, main_thread));
    }
    CHECK_INT(n_done_order, 5);
    dp_offload_port_free(port);
    ev_loop_destroy(ev);
    dp_offload_destroy(p);
}

static void test_cancel_queued_running_finished(void)
{
    dp_offload_t *p;
    CHECK_INT(dp_offload_create(1, 8, &p), 0);
    struct ev_loop *ev = ev_loop_new(EVFLAG_AUTO);
    dp_offload_port_t *port = dp_offload_port_new(p, ev);
    job_arg_t running = {.id = 1, .gated = true}, queued = {.id = 2}, finished = {.id = 3};
    gate_set(false);
    CHECK_INT(dp_offload_submit(port, work_fn, done_fn, release_fn, &running, &running.handle), 0);
    WAIT_FOR(dp_offload_running(p) == 1);
    CHECK_INT(dp_offload_submit(port, work_fn, done_fn, release_fn, &queued, &queued.handle), 0);
    CHECK_INT(dp_offload_queued(p), 1);

    /* queued: released at once, work never runs */
    dp_offload_cancel(queued.handle);
    CHECK_INT(atomic_load(&queued.released), 1);
    CHECK_INT(dp_offload_queued(p), 0);

    /* running: released by the pool thread once work returns */
    dp_offload_cancel(running.handle);
    CHECK_INT(atomic_load(&running.released), 0);
    gate_set(true);
    WAIT_FOR(atomic_load(&running.released) == 1);
    CHECK_INT(atomic_load(&running.released), 1);
    CHECK_INT(atomic_load(&running.worked), 1);

    /* finished but not yet delivered: released at once, done never runs */
    CHECK_INT(dp_offload_submit(port, work_fn, done_fn, release_fn, &finished, &finished.handle), 0);
    WAIT_FOR(atomic_load(&finished.worked) == 1 && dp_offload_running(p) == 0);
    usleep(2000);
    dp_offload_cancel(finished.handle);
    CHECK_INT(atomic_load(&finished.released), 1);

    run_loop(ev); /* returns at once: nothing is outstanding */
    ev_run(ev, EVRUN_NOWAIT);
    CHECK_INT(atomic_load(&running.done) + atomic_load(&queued.done) + atomic_load(&finished.done), 0);
    CHECK_INT(atomic_load(&queued.worked), 0);
    dp_offload_port_free(port);
    ev_loop_destroy(ev);
    dp_offload_destroy(p);
}

static void test_cancel_from_done(void)
{
    dp_offload_t *p;
    CHECK_INT(dp_offload_create(2, 8, &p), 0);
    struct ev_loop *ev = ev_loop_new(EVFLAG_AUTO);
    dp_offload_port_t *port = dp_offload_port_new(p, ev);
    job_arg_t a = {.id = 1}, b = {.id = 2};
    CHECK_INT(dp_offload_submit(port, work_fn, done_fn, release_fn, &a, &a.handle), 0);
    CHECK_INT(dp_offload_submit(port, work_fn, done_fn, release_fn, &b, &b.handle), 0);
    WAIT_FOR(atomic_load(&a.worked) == 1 && atomic_load(&b.worked) == 1 && dp_offload_running(p) == 0);
    usleep(2000);
    /* both are finished; whichever is delivered first cancels the other (a
     * done callback destroying another request with a finished check) */
    a.cancel_in_done = &b;
    b.cancel_in_done = &a;
    n_done_order = 0;
    run_loop(ev);
    CHECK_INT(atomic_load(&a.done) + atomic_load(&b.done), 1);
    CHECK_INT(atomic_load(&a.released) + atomic_load(&b.released), 1);
    CHECK_INT(n_done_order, 1);
    dp_offload_port_free(port);
    ev_loop_destroy(ev);
    dp_offload_destroy(p);
}

static void test_full_queue(void)
{
    dp_offload_t *p;
    CHECK_INT(dp_offload_create(1, 2, &p), 0);
    struct ev_loop *ev = ev_loop_new(EVFLAG_AUTO);
    dp_offload_port_t *port = dp_offload_port_new(p, ev);
    job_arg_t j[4] = {{.id = 0, .gated = true}, {.id = 1}, {.id = 2}, {.id = 3}};
    gate_set(false);
    CHECK_INT(dp_offload_submit(port, work_fn, done_fn, release_fn, &j[0], NULL), 0);
    WAIT_FOR(dp_offload_running(p) == 1);
    CHECK_INT(dp_offload_submit(port, work_fn, done_fn, release_fn, &j[1], NULL), 0);
    CHECK_INT(dp_offload_submit(port, work_fn, done_fn, release_fn, &j[2], NULL), 0);
    /* two waiting: the third is refused at once and stays the caller's */
    dp_offload_job_t *h = (dp_offload_job_t *)&h;
    uint64_t t0 = dp_now_ms();
    CHECK_INT(dp_offload_submit(port, work_fn, done_fn, release_fn, &j[3], &h), DP_EAGAIN);
    CHECK(dp_now_ms() - t0 < 50);
    CHECK(h == NULL);
    CHECK_INT(atomic_load(&j[3].released), 0);
    gate_set(true);
    run_loop(ev);
    for (int i = 0; i < 3; i++)
        CHECK_INT(atomic_load(&j[i].done), 1);
    CHECK_INT(atomic_load(&j[3].worked) + atomic_load(&j[3].done), 0);
    /* room again */
    CHECK_INT(dp_offload_submit(port, work_fn, done_fn, release_fn, &j[3], NULL), 0);
    run_loop(ev);
    CHECK_INT(atomic_load(&j[3].done), 1);
    dp_offload_port_free(port);
    ev_loop_destroy(ev);
    dp_offload_destroy(p);
}

static void test_port_free_cancels(void)
{
    dp_offload_t *p;
    CHECK_INT(dp_offload_create(1, 8, &p), 0);
    struct ev_loop *ev = ev_loop_new(EVFLAG_AUTO);
    dp_offload_port_t *port = dp_offload_port_new(p, ev);
    job_arg_t r = {.gated = true}, q = {0};
    gate_set(false);
    CHECK_INT(dp_offload_submit(port, work_fn, done_fn, release_fn, &r, NULL), 0);
    WAIT_FOR(dp_offload_running(p) == 1);
    CHECK_INT(dp_offload_submit(port, work_fn, done_fn, release_fn, &q, NULL), 0);
    dp_offload_port_free(port); /* the loop's owner goes away with jobs out */
    CHECK_INT(atomic_load(&q.released), 1);
    gate_set(true);
    WAIT_FOR(atomic_load(&r.released) == 1);
    CHECK_INT(atomic_load(&r.released), 1);
    CHECK_INT(atomic_load(&r.done) + atomic_load(&q.done) + atomic_load(&q.worked), 0);
    ev_loop_destroy(ev);
    dp_offload_destroy(p);
}

static void test_create_args(void)
{
    dp_offload_t *p = (dp_offload_t *)&p;
    CHECK_INT(dp_offload_create(0, 8, &p), DP_EINVAL);
    CHECK(p == NULL);
    CHECK_INT(dp_offload_create(65, 8, &p), DP_EINVAL);
    CHECK_INT(dp_offload_create(1, 0, &p), DP_EINVAL);
    CHECK_INT(dp_offload_create(3, 1, &p), 0);
    CHECK_INT(dp_offload_queued(p) + dp_offload_running(p), 0);
    dp_offload_destroy(p);
    dp_offload_destroy(NULL);
}

/* A slow job does not hold the loop: a 10 ms timer fires on time while a
 * 300 ms job runs. */
static uint64_t timer_at_ms;
static void on_timer(struct ev_loop *ev, ev_timer *t, int revents)
{
    (void)ev;
    (void)t;
    (void)revents;
    timer_at_ms = dp_now_ms();
}

static void test_loop_not_blocked(void)
{
    dp_offload_t *p;
    CHECK_INT(dp_offload_create(1, 8, &p), 0);
    struct ev_loop *ev = ev_loop_new(EVFLAG_AUTO);
    dp_offload_port_t *port = dp_offload_port_new(p, ev);
    job_arg_t slow = {.sleep_ms = 300};
    ev_timer t;
    ev_timer_init(&t, on_timer, 0.010, 0);
    uint64_t t0 = dp_now_ms();
    CHECK_INT(dp_offload_submit(port, work_fn, done_fn, release_fn, &slow, NULL), 0);
    ev_timer_start(ev, &t);
    timer_at_ms = 0;
    run_loop(ev);
    uint64_t t1 = dp_now_ms();
    CHECK(timer_at_ms != 0);
    CHECK(timer_at_ms - t0 < 150); /* not after the 300 ms job */
    CHECK(t1 - t0 >= 290);         /* the loop did wait for the job */
    CHECK_INT(atomic_load(&slow.done), 1);
    dp_offload_port_free(port);
    ev_loop_destroy(ev);
    dp_offload_destroy(p);
}

/* The per-thread port of the default pool: one per (thread, loop), freed
 * with the thread (ASan checks nothing leaks). */
static void *thread_main(void *arg)
{
    int *ok = arg;
    struct ev_loop *ev = ev_loop_new(EVFLAG_AUTO);
    dp_offload_port_t *a = dp_offload_port_of_thread(ev);
    dp_offload_port_t *b = dp_offload_port_of_thread(ev);
    job_arg_t j = {0};
    *ok = a != NULL && a == b;
    if (a && dp_offload_submit(a, work_fn, done_fn, release_fn, &j, NULL) == 0) {
        ev_run(ev, 0);
        *ok = *ok && atomic_load(&j.done) == 1 && pthread_equal(j.done_thread, pthread_self());
    } else {
        *ok = 0;
    }
    /* the loop must outlive the thread's ports: they are freed at thread
     * exit, as a worker's loop outlives its thread */
    return ev;
}

static void test_port_of_thread(void)
{
    pthread_t th;
    int ok = 0;
    CHECK(dp_offload_default() != NULL);
    CHECK(dp_offload_default() == dp_offload_default());
    pthread_create(&th, NULL, thread_main, &ok);
    void *ev = NULL;
    pthread_join(th, &ev);
    CHECK(ok);
    CHECK(ev != NULL);
    if (ev)
        ev_loop_destroy(ev);
}

int main(void)
{
    main_thread = pthread_self();
    test_completion_on_loop();
    test_cancel_queued_running_finished();
    test_cancel_from_done();
    test_full_queue();
    test_port_free_cancels();
    test_create_args();
    test_loop_not_blocked();
    test_port_of_thread();
    TEST_DONE();
}
