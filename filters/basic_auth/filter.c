/* envoy.filters.http.basic_auth, with Envoy's config
 * (envoy.extensions.filters.http.basic_auth.v3.BasicAuth / BasicAuthPerRoute)
 * and behaviour (source/extensions/filters/http/basic_auth):
 *
 *  - the user list is the route's BasicAuthPerRoute.users when the route
 *    (or its virtual host / route configuration) has one, else the
 *    filter's users;
 *  - the first Authorization header must read "Basic " + base64 of
 *    "user:password" (split at the first ':'); otherwise, or when the user
 *    is unknown or the password wrong, 401 with
 *    WWW-Authenticate: Basic realm="<scheme>://<host><path, 256 bytes max>"
 *    (Envoy's Http::Utility::buildOriginalUri) and Envoy's message;
 *  - on success the Authorization header goes upstream untouched, and
 *    forward_username_header, if set, carries the user name (replacing any
 *    header of that name the client sent);
 *  - stats http.<stat_prefix>.basic_auth.allowed / .denied.
 *
 * Beyond Envoy's {SHA}, the engine (filters/auth/htpasswd.h) accepts
 * bcrypt, sha-crypt and yescrypt. Those hashes take milliseconds, so on a
 * credential-cache miss the check runs on the offload pool and the filter
 * returns DP_FILTER_STOP; the worker's loop keeps serving other requests.
 * If the client goes away meanwhile, on_destroy cancels the check, whose
 * callback then never touches the freed stream. A full offload queue is
 * answered with 503 at once. */
#include "filters/basic_auth/basic_auth.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/admin/stats.h"
#include "dataplane/core/common.h"
#include "dataplane/core/offload.h"
#include "dataplane/http/stream.h"
#include "dataplane/server/worker.h"
#include "envoy/extensions/filters/http/basic_auth/v3/basic_auth.pb-c.h"
#include "filters/auth/htpasswd.h"
#include "xds/translate_util.h"

/* An htpasswd file is small; this only bounds a mistaken path. */
#define USERS_MAX_BYTES (16u << 20)
/* Envoy's MaximumUriLength for the realm's path. */
#define REALM_PATH_MAX 256

/* Envoy's local reply bodies */
#define MSG_MISSING "User authentication failed. Missing username and password."
#define MSG_SCHEME "User authentication failed. Expected 'Basic' authentication scheme."
#define MSG_FORMAT "User authentication failed. Invalid basic credential format."
#define MSG_INVALID "User authentication failed. Invalid username/password combination."
#define MSG_BUSY "Password verification is overloaded; retry later."

typedef struct ba_stats {
    dp_stat_t *allowed, *denied;
} ba_stats_t;

typedef struct ba_config {
    dp_htpasswd_t *users;
    char *fwd_header; /* lowercase, or NULL */
    size_t fwd_len;
    /* a filter config belongs to one HCM, hence one stat prefix: resolved
     * on the first request (stats live for the whole process) */
    _Atomic(ba_stats_t *) stats;
} ba_config_t;

typedef struct ba_route_config {
    dp_htpasswd_t *users;
} ba_route_config_t;

/* Per request, in the stream's arena (zeroed; on_destroy may see it so). */
typedef struct ba_state {
    dp_stream_t *s;
    const ba_config_t *cfg;
    dp_htpasswd_req_t *req; /* a check in flight */
    dp_slice_t user;        /* in the arena */
} ba_state_t;

/* --- configuration ------------------------------------------------------------ */

/* users -> a table; errors at the current path (.users). empty_ok: the
 * per-route config reads its DataSource with allow_empty (Envoy). */
static int load_users(dp_xlate_t *x, const Envoy__Config__Core__V3__DataSource *ds, bool empty_ok,
                      dp_htpasswd_t **out)
{
    char *text = NULL;
    size_t len = 0;
    char err[512];
    int rc;
    if (ds == NULL)
        return dp_xlate__fail(x, "required");
    if (empty_ok && ds->specifier_case == ENVOY__CONFIG__CORE__V3__DATA_SOURCE__SPECIFIER__NOT_SET) {
        rc = dp_htpasswd_parse("", 0, out, err, sizeof(err));
        return rc < 0 ? dp_xlate__fail(x, "%s", err) : 0;
    }
    rc = dp_xlate__datasource(x, ds, USERS_MAX_BYTES, &text, &len);
    if (rc < 0)
        return rc;
    if (len == 0 && !empty_ok) {
        free(text);
        return dp_xlate__fail(x, "DataSource cannot be empty");
    }
    rc = dp_htpasswd_parse(text, len, out, err, sizeof(err));
    free(text);
    if (rc < 0)
        return dp_xlate__fail(x, "%s", err);
    return 0;
}

static void destroy_config(void *config)
{
    ba_config_t *c = config;
    if (c == NULL)
        return;
    dp_htpasswd_free(c->users);
    free(c->fwd_header);
    free(atomic_load(&c->stats));
    free(c);
}

static int create_config(const ProtobufCMessage *msg, void **config, char *errbuf, size_t errlen)
{
    dp_xlate_t x;
    dp_xlate__init(&x, errbuf, errlen);
    *config = NULL;
    const Envoy__Extensions__Filters__Http__BasicAuth__V3__BasicAuth *m =
        (const Envoy__Extensions__Filters__Http__BasicAuth__V3__BasicAuth *)msg;
    ba_config_t *c = dp_xcalloc(1, sizeof(*c));
    int rc;
    size_t saved = dp_xlate__push(&x, "users");
    rc = load_users(&x, m ? m->users : NULL, false, &c->users);
    if (rc < 0)
        goto fail;
    dp_xlate__pop(&x, saved);

    const char *fh = m ? m->forward_username_header : NULL;
    if (fh && fh[0]) {
        /* Envoy only forbids NUL/CR/LF; a header our codecs could not
         * write, a pseudo header or Host (which would duplicate the
         * authority upstream) is refused instead of being sent broken */
        if (!dp_xlate__is_token(fh)) {
            rc = dp_xlate__fail_at(&x, "forward_username_header", "'%s' is not a valid header name", fh);
            goto fail;
        }
        c->fwd_header = dp_xlate__lower_dup(fh);
        c->fwd_len = strlen(c->fwd_header);
        if (strcmp(c->fwd_header, "host") == 0) {
            rc = dp_xlate__fail_at(&x, "forward_username_header", "must not be 'host'");
            goto fail;
        }
    }
    *config = c;
    return 0;

fail:
    destroy_config(c);
    return rc;
}

static void destroy_route_config(void *config)
{
    ba_route_config_t *c = config;
    if (c == NULL)
        return;
    dp_htpasswd_free(c->users);
    free(c);
}

static int create_route_config(const ProtobufCMessage *msg, void **config, char *errbuf, size_t errlen)
{
    dp_xlate_t x;
    dp_xlate__init(&x, errbuf, errlen);
    *config = NULL;
    const Envoy__Extensions__Filters__Http__BasicAuth__V3__BasicAuthPerRoute *m =
        (const Envoy__Extensions__Filters__Http__BasicAuth__V3__BasicAuthPerRoute *)msg;
    ba_route_config_t *c = dp_xcalloc(1, sizeof(*c));
    dp_xlate__push(&x, "users");
    /* users is required (validate: message required) but may be empty */
    int rc = load_users(&x, m ? m->users : NULL, true, &c->users);
    if (rc < 0) {
        destroy_route_config(c);
        return rc;
    }
    *config = c;
    return 0;
}

/* --- requests ------------------------------------------------------------------ */

static ba_stats_t *stats_of(dp_stream_t *s, const ba_config_t *cfg)
{
    ba_config_t *c = (ba_config_t *)cfg; /* the lazily resolved field is the only mutable one */
    ba_stats_t *st = atomic_load_explicit(&c->stats, memory_order_acquire);
    if (st)
        return st;
    const char *prefix = s->hcm && s->hcm->stat_prefix ? s->hcm->stat_prefix : "";
    ba_stats_t *n = dp_xmalloc(sizeof(*n));
    n->allowed = dp_stats_counterf("http.%s.basic_auth.allowed", prefix);
    n->denied = dp_stats_counterf("http.%s.basic_auth.denied", prefix);
    ba_stats_t *expected = NULL;
    if (atomic_compare_exchange_strong(&c->stats, &expected, n))
        return n;
    free(n); /* another worker won; same stats */
    return expected;
}

/* 401 with Envoy's WWW-Authenticate. The stream may be gone on return. */
static dp_filter_status_t deny(dp_stream_t *s, const ba_config_t *cfg, const char *msg)
{
    dp_stat_inc(stats_of(s, cfg)->denied);
    size_t pl = DP_MIN(s->path.len, (size_t)REALM_PATH_MAX);
    size_t cap = 14 + s->scheme.len + 3 + s->authority.len + pl + 1;
    char *v = dp_arena_alloc(&s->arena, cap);
    size_t n = 0;
    memcpy(v + n, "Basic realm=\"", 13);
    n += 13;
    memcpy(v + n, s->scheme.base, s->scheme.len);
    n += s->scheme.len;
    memcpy(v + n, "://", 3);
    n += 3;
    if (s->authority.len)
        memcpy(v + n, s->authority.base, s->authority.len);
    n += s->authority.len;
    if (pl)
        memcpy(v + n, s->path.base, pl);
    n += pl;
    v[n++] = '"';
    dp_headers_t extra = {0};
    dp_headers_add(&extra, DP_SLICE_LIT("www-authenticate"), dp_slice(v, n));
    dp_stream_local_reply(s, 401, msg, &extra);
    dp_headers_free(&extra);
    return DP_FILTER_REPLIED;
}

static void allow(dp_stream_t *s, const ba_config_t *cfg, dp_slice_t user)
{
    dp_stat_inc(stats_of(s, cfg)->allowed);
    if (cfg->fwd_header) {
        /* a client-sent header of that name must not pass for ours */
        dp_headers_remove(&s->req_headers, cfg->fwd_header, cfg->fwd_len);
        dp_headers_add(&s->req_headers, dp_slice(cfg->fwd_header, cfg->fwd_len), user);
    }
}

/* The offloaded check finished (on the worker's loop). on_destroy cancels
 * a pending check, so the stream is alive here. */
static void on_checked(void *arg, int result)
{
    ba_state_t *st = arg;
    dp_stream_t *s = st->s;
    st->req = NULL;
    if (result == DP_HTPASSWD_ALLOW) {
        allow(s, st->cfg, st->user);
        dp_stream_continue(s);
    } else {
        deny(s, st->cfg, MSG_INVALID);
    }
}

static dp_filter_status_t on_request_headers(dp_stream_t *s, const void *config, void *state)
{
    const ba_config_t *cfg = config;
    ba_state_t *st = state;
    const ba_route_config_t *rc = dp_stream_route_config(s);
    const dp_htpasswd_t *users = rc ? rc->users : cfg->users;

    const dp_slice_t *auth = dp_headers_get(&s->req_headers, "authorization", 13);
    if (auth == NULL)
        return deny(s, cfg, MSG_MISSING);
    char *buf = dp_arena_alloc(&s->arena, auth->len + 1);
    dp_slice_t user, password;
    switch (dp_htpasswd_parse_basic(*auth, buf, &user, &password)) {
    case DP_BASIC_OK:
        break;
    case DP_BASIC_NOT_BASIC:
        return deny(s, cfg, MSG_SCHEME);
    case DP_BASIC_BAD_FORMAT:
    default:
        return deny(s, cfg, MSG_FORMAT);
    }

    dp_offload_port_t *port = NULL;
    if (dp_htpasswd_needs_offload(users) && s->worker)
        port = dp_offload_port_of_thread(s->worker->loop.ev);
    st->s = s;
    st->cfg = cfg;
    st->user = user;
    int r = dp_htpasswd_check_async(users, user, password, port, on_checked, st, &st->req);
    /* the engine copied what it needs: no decoded password stays in the arena */
    if (password.len)
        memset((char *)password.base, 0, password.len);
    switch (r) {
    case DP_HTPASSWD_ALLOW:
        allow(s, cfg, st->user);
        return DP_FILTER_CONTINUE;
    case DP_HTPASSWD_DENY:
        return deny(s, cfg, MSG_INVALID);
    case DP_HTPASSWD_PENDING:
        return DP_FILTER_STOP;
    default:
        /* queue full or no pool: answer now rather than stall the loop */
        dp_stream_local_reply(s, 503, MSG_BUSY, NULL);
        return DP_FILTER_REPLIED;
    }
}

static void on_destroy(dp_stream_t *s, const void *config, void *state)
{
    (void)s;
    (void)config;
    ba_state_t *st = state;
    if (st && st->req) {
        dp_htpasswd_cancel(st->req);
        st->req = NULL;
    }
}

const dp_http_filter_factory_t dp_filter_basic_auth = {
    .name = "envoy.filters.http.basic_auth",
    .type_url = "type.googleapis.com/envoy.extensions.filters.http.basic_auth.v3.BasicAuth",
    .descriptor = &envoy__extensions__filters__http__basic_auth__v3__basic_auth__descriptor,
    .create_config = create_config,
    .destroy_config = destroy_config,
    .state_size = sizeof(ba_state_t),
    .on_request_headers = on_request_headers,
    .on_destroy = on_destroy,
    .route_type_url = "type.googleapis.com/envoy.extensions.filters.http.basic_auth.v3.BasicAuthPerRoute",
    .route_descriptor = &envoy__extensions__filters__http__basic_auth__v3__basic_auth_per_route__descriptor,
    .create_route_config = create_route_config,
    .destroy_route_config = destroy_route_config,
};
