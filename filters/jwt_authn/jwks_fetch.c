/* Remote JWKS fetch (Envoy's JwksFetcher): "GET <path>" with the URI's
 * host through the named cluster's per-worker connection pool, within
 * http_uri.timeout. Only a 200 with a non-empty body that parses as a
 * JWKS succeeds; anything else is a failure ("Jwks remote fetch is
 * failed"). One attempt, no retries (retry_policy is not modelled).
 *
 * The fetch belongs to one request and lives on its worker's loop; the
 * request cancels it when it goes away, so the cluster config it borrows
 * (held by the request's snapshot) outlives it. */
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "dataplane/core/common.h"
#include "dataplane/core/log.h"
#include "dataplane/server/worker.h"
#include "dataplane/upstream/cluster.h"
#include "dataplane/upstream/pool.h"
#include "filters/jwt_authn/jwt_authn_int.h"

#define MAX_JWKS_BODY (1024 * 1024)

struct ja_fetch {
    dp_loop_t *loop;
    const dp_cluster_cfg_t *cluster;
    dp_pool_t *pool;
    dp_pool_waiter_t waiter;
    bool waiting;          /* queued in the pool */
    dp_h1_client_t *conn;  /* bound connection, or NULL */
    ev_timer timer;
    bool timer_on;
    char *req;             /* the request bytes */
    size_t req_len;
    int status;
    char *body;
    size_t body_len, body_cap;
    const char *uri;       /* for logs */
    ja_fetch_done_fn fn;
    void *ctx;
};

static void timer_stop(ja_fetch_t *f)
{
    if (f->timer_on) {
        ev_timer_stop(f->loop->ev, &f->timer);
        f->timer_on = false;
    }
}

/* Gives back the pool slot and the connection (reused only when clean). */
static void release(ja_fetch_t *f, bool clean)
{
    timer_stop(f);
    if (f->waiting) {
        dp_pool_cancel(&f->waiter);
        dp_pool_done(f->pool, NULL, false);
        f->waiting = false;
    } else if (f->conn) {
        bool reusable = dp_h1_client_detach(f->conn) && clean;
        dp_pool_done(f->pool, f->conn, reusable);
        f->conn = NULL;
    } else if (f->pool) {
        dp_pool_done(f->pool, NULL, false);
    }
    f->pool = NULL;
}

static void destroy(ja_fetch_t *f)
{
    free(f->req);
    free(f->body);
    f->req = f->body = NULL;
    /* callbacks up the stack (the h1 client's) may still hold f */
    dp_loop_defer_free(f->loop, f);
}

/* Releases everything, then reports: the callee may cancel other fetches
 * or finish its request. */
static void finish(ja_fetch_t *f, dp_jwks_t *jwks)
{
    ja_fetch_done_fn fn = f->fn;
    void *ctx = f->ctx;
    destroy(f);
    fn(ctx, jwks);
}

static void fail(ja_fetch_t *f, const char *why)
{
    DP_DEBUG("jwt_authn: fetch of %s failed: %s", f->uri, why);
    release(f, false);
    finish(f, NULL);
}

void ja_fetch_cancel(ja_fetch_t *f)
{
    if (f == NULL)
        return;
    release(f, false);
    destroy(f);
}

static void complete(ja_fetch_t *f)
{
    dp_stat_inc(f->cluster->rt->rq_completed);
    release(f, true);
    dp_jwks_t *jwks = NULL;
    if (f->status == 200 && f->body_len > 0) {
        char err[256];
        jwks = dp_jwks_parse_ex(f->body, f->body_len, DP_JWKS_FMT_JSON, NULL, err, sizeof(err));
        if (jwks == NULL)
            DP_DEBUG("jwt_authn: invalid JWKS from %s: %s", f->uri, err);
    } else {
        DP_DEBUG("jwt_authn: fetch of %s: status %d, %zu body bytes", f->uri, f->status, f->body_len);
    }
    finish(f, jwks);
}

/* ---- response ---------------------------------------------------------------------------- */

static void on_head(void *ctx, int status, dp_headers_t *h, int64_t content_length, bool end_stream)
{
    (void)h;
    ja_fetch_t *f = ctx;
    f->status = status;
    if (status >= 100 && status < 600)
        dp_stat_inc(f->cluster->rt->rq_xx[status / 100]);
    if (content_length > MAX_JWKS_BODY) {
        fail(f, "body too large");
        return;
    }
    if (end_stream)
        complete(f);
}

static void on_body(void *ctx, const char *data, size_t len, bool end_stream)
{
    ja_fetch_t *f = ctx;
    if (len > 0) {
        if (f->body_len + len > MAX_JWKS_BODY) {
            fail(f, "body too large");
            return;
        }
        if (f->body_len + len > f->body_cap) {
            size_t cap = f->body_cap ? f->body_cap : 4096;
            while (cap < f->body_len + len)
                cap *= 2;
            f->body = dp_xrealloc(f->body, cap);
            f->body_cap = cap;
        }
        memcpy(f->body + f->body_len, data, len);
        f->body_len += len;
    }
    if (end_stream)
        complete(f);
}

static void on_error(void *ctx, int err, bool got_bytes, const char *detail)
{
    (void)err;
    (void)got_bytes;
    fail(ctx, detail ? detail : "connection error");
}

static const dp_h1_client_cbs_t cbs = {
    .on_head = on_head,
    .on_body = on_body,
    .on_error = on_error,
};

/* ---- request ---------------------------------------------------------------------------- */

static void bind_conn(ja_fetch_t *f, dp_h1_client_t *c)
{
    f->conn = c;
    dp_h1_client_bind(c, &cbs, f, false);
    struct iovec iov = {f->req, f->req_len};
    dp_h1_client_write(c, &iov, 1);
    dp_h1_client_request_done(c);
}

static void on_pool_ready(dp_pool_waiter_t *w, dp_h1_client_t *c, int err, const char *detail)
{
    ja_fetch_t *f = (ja_fetch_t *)((char *)w - offsetof(ja_fetch_t, waiter));
    (void)err;
    f->waiting = false;
    if (c == NULL) {
        fail(f, detail ? detail : "connection failure");
        return;
    }
    bind_conn(f, c);
}

static void on_timeout(struct ev_loop *ev, ev_timer *t, int revents)
{
    (void)ev;
    (void)revents;
    ja_fetch_t *f = t->data;
    f->timer_on = false;
    dp_stat_inc(f->cluster->rt->rq_timeout);
    fail(f, "timeout");
}

ja_fetch_t *ja_fetch_start(dp_stream_t *s, const ja_provider_t *p, ja_fetch_done_fn fn, void *ctx)
{
    dp_worker_t *w = s->worker;
    if (w == NULL || s->snap == NULL)
        return NULL;
    const dp_cluster_cfg_t *cl = dp_snapshot_find_cluster(s->snap, p->cluster, strlen(p->cluster));
    if (cl == NULL) {
        DP_DEBUG("jwt_authn: fetch of %s: cluster '%s' is not configured", p->uri, p->cluster);
        return NULL;
    }
    dp_stat_inc(cl->rt->rq_total);
    const dp_endpoint_t *ep = dp_lb_pick(cl, w);
    if (ep == NULL)
        return NULL;
    ja_fetch_t *f = dp_xcalloc(1, sizeof(*f));
    f->loop = &w->loop;
    f->cluster = cl;
    f->uri = p->uri;
    f->fn = fn;
    f->ctx = ctx;
    size_t pl = strlen(p->uri_path), hl = strlen(p->uri_host);
    f->req = dp_xmalloc(pl + hl + 64);
    char *o = f->req;
    memcpy(o, "GET ", 4), o += 4;
    memcpy(o, p->uri_path, pl), o += pl;
    memcpy(o, " HTTP/1.1\r\nhost: ", 17), o += 17;
    memcpy(o, p->uri_host, hl), o += hl;
    memcpy(o, "\r\n\r\n", 4), o += 4;
    f->req_len = (size_t)(o - f->req);
    f->pool = dp_pool_get(w, cl, ep);
    f->waiter.ready = on_pool_ready;
    dp_h1_client_t *c = NULL;
    switch (dp_pool_acquire(f->pool, cl, &f->waiter, &c)) {
    case DP_POOL_OVERFLOW:
        free(f->req);
        free(f);
        return NULL;
    case DP_POOL_WAIT:
        f->waiting = true;
        break;
    case DP_POOL_READY:
        bind_conn(f, c);
        break;
    }
    if (p->timeout_ms > 0) {
        ev_timer_init(&f->timer, on_timeout, (double)p->timeout_ms / 1000.0, 0);
        f->timer.data = f;
        ev_timer_start(f->loop->ev, &f->timer);
        f->timer_on = true;
    }
    return f;
}
