#include "dataplane/server/config.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "dataplane/admin/admin.h"
#include "dataplane/core/common.h"
#include "dataplane/core/log.h"
#include "dataplane/server/listener.h"
#include "dataplane/server/worker.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static dp_snapshot_t *current;  /* guarded by lock */
static dp_lset_t *lset;         /* guarded by lock */
static dp_snapshot_t *for_admin; /* guarded by lock: next snapshot for the admin endpoint */
static ev_async admin_wakeup;
static dp_loop_t *main_loop;
static dp_lstop_t stopped;      /* guarded by lock; only grows */

/* The admin endpoint lives on the main loop: hand it the snapshot there. */
static void on_admin_wakeup(struct ev_loop *ev, ev_async *a, int revents)
{
    (void)ev;
    (void)a;
    (void)revents;
    pthread_mutex_lock(&lock);
    dp_snapshot_t *s = for_admin;
    for_admin = NULL;
    pthread_mutex_unlock(&lock);
    if (s) {
        dp_admin_set_snapshot(s);
        dp_snapshot_unref(s);
    }
}

void dp_config_init(dp_loop_t *loop)
{
    main_loop = loop;
    ev_async_init(&admin_wakeup, on_admin_wakeup);
    ev_async_start(loop->ev, &admin_wakeup);
    ev_unref(loop->ev); /* does not keep the main loop alive by itself */
}

int dp_config_commit(dp_snapshot_t *snap, const char **failed_listener, char *errbuf, size_t errlen)
{
    pthread_mutex_lock(&lock);
    size_t failed = SIZE_MAX;
    dp_lset_t *n = dp_lset_build(lset, snap->listeners, snap->n_listeners, dp_workers_count(), stopped, &failed,
                                 errbuf, errlen);
    if (n == NULL) {
        pthread_mutex_unlock(&lock);
        if (failed_listener)
            *failed_listener = failed < snap->n_listeners ? snap->listeners[failed]->name : NULL;
        return DP_EINVAL;
    }
    dp_workers_publish(snap, n);
    dp_lset_unref(lset);
    lset = n;
    dp_snapshot_unref(current);
    current = dp_snapshot_ref(snap);
    dp_snapshot_unref(for_admin);
    for_admin = dp_snapshot_ref(snap);
    pthread_mutex_unlock(&lock);
    if (main_loop)
        ev_async_send(main_loop->ev, &admin_wakeup);
    return 0;
}

void dp_config_stop_listeners(bool inbound_only)
{
    pthread_mutex_lock(&lock);
    dp_lstop_t want = inbound_only ? DP_LSTOP_INBOUND : DP_LSTOP_ALL;
    if (want > stopped)
        stopped = want;
    char err[256];
    /* the listeners still running keep their sockets (dup) */
    dp_lset_t *n = current ? dp_lset_build(lset, current->listeners, current->n_listeners, dp_workers_count(),
                                           stopped, NULL, err, sizeof(err))
                           : NULL;
    if (n) {
        dp_workers_publish(NULL, n);
        dp_lset_unref(lset);
        lset = n;
    } else if (current) {
        DP_ERROR("listeners not stopped: %s", err);
    }
    pthread_mutex_unlock(&lock);
}

dp_snapshot_t *dp_config_current(void)
{
    pthread_mutex_lock(&lock);
    dp_snapshot_t *s = current ? dp_snapshot_ref(current) : NULL;
    pthread_mutex_unlock(&lock);
    return s;
}

void dp_config_shutdown(void)
{
    pthread_mutex_lock(&lock);
    dp_lset_unref(lset);
    lset = NULL;
    dp_snapshot_unref(current);
    current = NULL;
    dp_snapshot_unref(for_admin);
    for_admin = NULL;
    pthread_mutex_unlock(&lock);
    if (main_loop) {
        ev_ref(main_loop->ev);
        ev_async_stop(main_loop->ev, &admin_wakeup);
    }
}
