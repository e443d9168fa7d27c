/* The platform's permission model (docs/permissions.md): compile a
 * dataplane.containers.v1.Policy, evaluate it per request with the engines
 * of the Envoy filters (filters/auth/: JWT, htpasswd, CIDR). */
#include "filters/containers/policy.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dataplane/containers/v1/catalogue.pb-c.h"
#include "dataplane/core/common.h"
#include "dataplane/core/offload.h"
#include "dataplane/http/query.h"
#include "dataplane/http/stream.h"
#include "dataplane/server/worker.h"
#include "filters/auth/cidr.h"
#include "filters/auth/htpasswd.h"
#include "filters/auth/jwks.h"
#include "filters/auth/sha256.h"
#include "filters/auth/jwt.h"
#include "filters/auth/jwt_cache.h"

typedef Dataplane__Containers__V1__Policy pb_policy_t;
typedef Dataplane__Containers__V1__Group pb_group_t;

#define POLICY_MAX_WORKERS 256

typedef enum { G_JWT, G_PASSWORD, G_IP, G_TOKEN } gkind_t;

typedef struct grant {
    char *service; /* "*" for all */
    bool read_only;
} grant_t;

typedef struct claim {
    char *name;
    char **values;
    size_t n_values;
} claim_t;

typedef struct group {
    gkind_t kind;
    grant_t *grants;
    size_t n_grants;
    /* jwt */
    dp_jwks_t *jwks;
    char *issuer;
    char **audiences;
    size_t n_audiences;
    claim_t *claims;
    size_t n_claims;
    _Atomic(dp_jwt_cache_t *) caches[POLICY_MAX_WORKERS]; /* per worker, verified tokens */
    /* password */
    dp_htpasswd_t *users;
    /* ip */
    dp_cidr_set_t *cidrs;
    /* token: SHA-256 digests */
    unsigned char (*digests)[SHA256_DIGEST_LENGTH];
    size_t n_digests;
} group_t;

struct dp_policy {
    _Atomic int refcnt;
    bool default_allow;
    bool forward_credentials;
    group_t *groups;
    size_t n_groups;
};

/* ---- life cycle ----------------------------------------------------------------- */

static void group_free(group_t *g)
{
    for (size_t i = 0; i < g->n_grants; i++)
        free(g->grants[i].service);
    free(g->grants);
    dp_jwks_unref(g->jwks);
    free(g->issuer);
    for (size_t i = 0; i < g->n_audiences; i++)
        free(g->audiences[i]);
    free(g->audiences);
    for (size_t i = 0; i < g->n_claims; i++) {
        free(g->claims[i].name);
        for (size_t k = 0; k < g->claims[i].n_values; k++)
            free(g->claims[i].values[k]);
        free(g->claims[i].values);
    }
    free(g->claims);
    for (size_t i = 0; i < POLICY_MAX_WORKERS; i++)
        dp_jwt_cache_free(atomic_load(&g->caches[i]));
    dp_htpasswd_free(g->users);
    if (g->cidrs)
        dp_cidr_set_free(g->cidrs);
    free(g->digests);
}

dp_policy_t *dp_policy_ref(dp_policy_t *p)
{
    atomic_fetch_add_explicit(&p->refcnt, 1, memory_order_relaxed);
    return p;
}

void dp_policy_unref(dp_policy_t *p)
{
    if (p == NULL || atomic_fetch_sub_explicit(&p->refcnt, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < p->n_groups; i++)
        group_free(&p->groups[i]);
    free(p->groups);
    free(p);
}

/* ---- compile ---------------------------------------------------------------------- */

static int compile_group(const pb_group_t *m, size_t gi, group_t *g, char *errbuf, size_t errlen)
{
    char sub[512];
    switch (m->kind_case) {
    case DATAPLANE__CONTAINERS__V1__GROUP__KIND_JWT: {
        const Dataplane__Containers__V1__JwtGroup *j = m->jwt;
        g->kind = G_JWT;
        if (j->jwks == NULL || j->jwks[0] == '\0') {
            snprintf(errbuf, errlen, "groups[%zu].jwt.jwks: required (a JWKS or a PEM public key)", gi);
            return DP_EINVAL;
        }
        if ((g->jwks = dp_jwks_parse(j->jwks, strlen(j->jwks), sub, sizeof(sub))) == NULL) {
            snprintf(errbuf, errlen, "groups[%zu].jwt.jwks: %s", gi, sub);
            return DP_EINVAL;
        }
        g->issuer = j->issuer && j->issuer[0] ? dp_xstrdup(j->issuer) : NULL;
        g->audiences = dp_xcalloc(j->n_audiences + 1, sizeof(*g->audiences));
        for (size_t i = 0; i < j->n_audiences; i++)
            g->audiences[g->n_audiences++] = dp_xstrdup(j->audiences[i] ? j->audiences[i] : "");
        g->claims = dp_xcalloc(j->n_claims + 1, sizeof(*g->claims));
        for (size_t i = 0; i < j->n_claims; i++) {
            const Dataplane__Containers__V1__ClaimRequirement *c = j->claims[i];
            if (c->name == NULL || c->name[0] == '\0' || c->n_values == 0) {
                snprintf(errbuf, errlen, "groups[%zu].jwt.claims[%zu]: a name and at least one value are required",
                         gi, i);
                return DP_EINVAL;
            }
            claim_t *o = &g->claims[g->n_claims++];
            o->name = dp_xstrdup(c->name);
            o->values = dp_xcalloc(c->n_values, sizeof(*o->values));
            for (size_t k = 0; k < c->n_values; k++)
                o->values[o->n_values++] = dp_xstrdup(c->values[k] ? c->values[k] : "");
        }
        break;
    }
    case DATAPLANE__CONTAINERS__V1__GROUP__KIND_PASSWORD: {
        const char *t = m->password->htpasswd ? m->password->htpasswd : "";
        g->kind = G_PASSWORD;
        if (dp_htpasswd_parse(t, strlen(t), &g->users, sub, sizeof(sub)) != 0) {
            snprintf(errbuf, errlen, "groups[%zu].password.htpasswd: %s", gi, sub);
            return DP_EINVAL;
        }
        break;
    }
    case DATAPLANE__CONTAINERS__V1__GROUP__KIND_IP: {
        g->kind = G_IP;
        g->cidrs = dp_cidr_set_new();
        if (m->ip->n_cidrs == 0) {
            snprintf(errbuf, errlen, "groups[%zu].ip.cidrs: at least one is required", gi);
            return DP_EINVAL;
        }
        for (size_t i = 0; i < m->ip->n_cidrs; i++) {
            const char *e = NULL;
            if (dp_cidr_set_add_str(g->cidrs, m->ip->cidrs[i] ? m->ip->cidrs[i] : "", &e) != 0) {
                snprintf(errbuf, errlen, "groups[%zu].ip.cidrs[%zu]: %s", gi, i, e ? e : "not a CIDR");
                return DP_EINVAL;
            }
        }
        dp_cidr_set_build(g->cidrs);
        break;
    }
    case DATAPLANE__CONTAINERS__V1__GROUP__KIND_TOKEN: {
        g->kind = G_TOKEN;
        g->digests = dp_xcalloc(m->token->n_sha256 + 1, sizeof(*g->digests));
        if (m->token->n_sha256 == 0) {
            snprintf(errbuf, errlen, "groups[%zu].token.sha256: at least one is required", gi);
            return DP_EINVAL;
        }
        for (size_t i = 0; i < m->token->n_sha256; i++) {
            const char *h = m->token->sha256[i] ? m->token->sha256[i] : "";
            bool ok = strlen(h) == 2 * SHA256_DIGEST_LENGTH;
            for (size_t k = 0; ok && k < SHA256_DIGEST_LENGTH; k++) {
                int hi = dp_hexval(h[2 * k]), lo = dp_hexval(h[2 * k + 1]);
                ok = hi >= 0 && lo >= 0 && !(h[2 * k] >= 'A' && h[2 * k] <= 'F') &&
                     !(h[2 * k + 1] >= 'A' && h[2 * k + 1] <= 'F');
                g->digests[i][k] = (unsigned char)(hi << 4 | lo);
            }
            if (!ok) {
                snprintf(errbuf, errlen, "groups[%zu].token.sha256[%zu]: not 64 lowercase hex digits", gi, i);
                return DP_EINVAL;
            }
            g->n_digests++;
        }
        break;
    }
    default:
        snprintf(errbuf, errlen, "groups[%zu]: one of jwt, password, ip or token is required", gi);
        return DP_EINVAL;
    }
    g->grants = dp_xcalloc(m->n_services + 1, sizeof(*g->grants));
    for (size_t i = 0; i < m->n_services; i++) {
        const Dataplane__Containers__V1__ServicePermission *sp = m->services[i];
        if (sp->service == NULL || sp->service[0] == '\0') {
            snprintf(errbuf, errlen, "groups[%zu].services[%zu].service: required (a service name or \"*\")", gi, i);
            return DP_EINVAL;
        }
        if ((int)sp->access != DATAPLANE__CONTAINERS__V1__SERVICE_PERMISSION__ACCESS__FULL &&
            (int)sp->access != DATAPLANE__CONTAINERS__V1__SERVICE_PERMISSION__ACCESS__READ_ONLY) {
            snprintf(errbuf, errlen, "groups[%zu].services[%zu].access: unknown value %d", gi, i, (int)sp->access);
            return DP_EINVAL;
        }
        g->grants[g->n_grants].service = dp_xstrdup(sp->service);
        g->grants[g->n_grants++].read_only =
            sp->access == DATAPLANE__CONTAINERS__V1__SERVICE_PERMISSION__ACCESS__READ_ONLY;
    }
    return 0;
}

dp_policy_t *dp_policy_compile(const ProtobufCMessage *msg, char *errbuf, size_t errlen)
{
    if (msg == NULL || msg->descriptor != &dataplane__containers__v1__policy__descriptor) {
        snprintf(errbuf, errlen, "not a dataplane.containers.v1.Policy");
        return NULL;
    }
    const pb_policy_t *m = (const pb_policy_t *)msg;
    dp_policy_t *p = dp_xcalloc(1, sizeof(*p));
    atomic_init(&p->refcnt, 1);
    if ((int)m->default_action != DATAPLANE__CONTAINERS__V1__POLICY__ACTION__ALLOW &&
        (int)m->default_action != DATAPLANE__CONTAINERS__V1__POLICY__ACTION__DENY) {
        snprintf(errbuf, errlen, "default_action: unknown value %d", (int)m->default_action);
        dp_policy_unref(p);
        return NULL;
    }
    p->default_allow = m->default_action == DATAPLANE__CONTAINERS__V1__POLICY__ACTION__ALLOW;
    p->forward_credentials = m->forward_credentials;
    p->groups = dp_xcalloc(m->n_groups + 1, sizeof(*p->groups));
    for (size_t i = 0; i < m->n_groups; i++) {
        int rc = compile_group(m->groups[i], i, &p->groups[i], errbuf, errlen);
        p->n_groups++;
        if (rc != 0) {
            dp_policy_unref(p);
            return NULL;
        }
    }
    return p;
}

/* ---- evaluation ------------------------------------------------------------------------ */

static bool read_only_method(dp_slice_t m)
{
    return (m.len == 3 && memcmp(m.base, "GET", 3) == 0) || (m.len == 4 && memcmp(m.base, "HEAD", 4) == 0) ||
           (m.len == 7 && memcmp(m.base, "OPTIONS", 7) == 0);
}

static bool grants(const group_t *g, const char *svc, size_t len, dp_slice_t method)
{
    for (size_t i = 0; i < g->n_grants; i++) {
        const grant_t *gr = &g->grants[i];
        bool name_ok = strcmp(gr->service, "*") == 0 ||
                       (strlen(gr->service) == len && memcmp(gr->service, svc, len) == 0);
        if (name_ok && (!gr->read_only || read_only_method(method)))
            return true;
    }
    return false;
}

/* The credentials a request carries, found once. */
typedef struct creds {
    dp_slice_t bearer; /* Authorization: Bearer, else ?access_token= */
    bool bearer_from_query;
    dp_slice_t user, password;
    bool basic;
    char *basic_buf;
} creds_t;

static void find_creds(dp_stream_t *s, creds_t *c)
{
    memset(c, 0, sizeof(*c));
    const dp_slice_t *auth = dp_headers_get(&s->req_headers, "authorization", 13);
    if (auth && auth->len > 7 && strncasecmp(auth->base, "Bearer ", 7) == 0) {
        c->bearer = dp_slice(auth->base + 7, auth->len - 7);
    } else if (auth && auth->len > 6 && strncmp(auth->base, "Basic ", 6) == 0) {
        c->basic_buf = dp_arena_alloc(&s->arena, auth->len + 1);
        c->basic = dp_htpasswd_parse_basic(*auth, c->basic_buf, &c->user, &c->password) == DP_BASIC_OK;
    }
    if (c->bearer.len == 0) {
        size_t n = 0;
        const char *v = dp_query_param(&s->arena, s->path, "access_token", &n);
        c->bearer = dp_slice(v, v ? n : 0);
        c->bearer_from_query = c->bearer.len > 0;
    }
}

static dp_jwt_cache_t *worker_cache(group_t *g, const dp_stream_t *s)
{
    int id = s->worker ? s->worker->id : 0;
    if (id < 0 || id >= POLICY_MAX_WORKERS)
        return NULL;
    dp_jwt_cache_t *c = atomic_load_explicit(&g->caches[id], memory_order_acquire);
    if (c == NULL) {
        c = dp_jwt_cache_new(0);
        atomic_store_explicit(&g->caches[id], c, memory_order_release); /* only this worker writes slot id */
    }
    return c;
}

static bool claim_ok(const dp_jwt_t *jwt, const claim_t *c)
{
    const json_t *v = dp_jwt_claim(jwt, c->name);
    if (v == NULL)
        return false;
    for (size_t k = 0; k < c->n_values; k++) {
        if (json_is_string(v) && strcmp(json_string_value(v), c->values[k]) == 0)
            return true;
        if (json_is_array(v)) {
            size_t i;
            const json_t *e;
            json_array_foreach(v, i, e) if (json_is_string(e) && strcmp(json_string_value(e), c->values[k]) == 0) return true;
        }
    }
    return false;
}

static bool jwt_member(group_t *g, const dp_stream_t *s, dp_slice_t tok)
{
    uint64_t now = (uint64_t)time(NULL);
    dp_jwt_cache_t *cache = worker_cache(g, s);
    const dp_jwt_t *jwt = cache ? dp_jwt_cache_lookup(cache, tok.base, tok.len, now) : NULL;
    dp_jwt_t *fresh = NULL;
    if (jwt == NULL) {
        if (dp_jwt_parse(tok.base, tok.len, &fresh) != DP_JWT_OK)
            return false;
        if (dp_jwt_verify(fresh, g->jwks) != DP_JWT_OK) {
            dp_jwt_free(fresh);
            return false;
        }
        jwt = fresh;
    }
    bool ok = dp_jwt_check_time(jwt, now, DP_JWT_DEFAULT_SKEW_S) == DP_JWT_OK &&
              (g->issuer == NULL || dp_jwt_issuer_allowed(jwt, g->issuer)) &&
              (g->n_audiences == 0 ||
               dp_jwt_audience_allowed(jwt, (const char *const *)g->audiences, g->n_audiences));
    for (size_t i = 0; ok && i < g->n_claims; i++)
        ok = claim_ok(jwt, &g->claims[i]);
    if (fresh && !(cache && dp_jwt_cache_insert(cache, fresh)))
        dp_jwt_free(fresh);
    return ok;
}

static bool token_member(const group_t *g, dp_slice_t tok)
{
    unsigned char d[SHA256_DIGEST_LENGTH];
    if (!dp_sha256(&tok, 1, d))
        return false;
    bool hit = false;
    for (size_t i = 0; i < g->n_digests; i++)
        hit |= CRYPTO_memcmp(d, g->digests[i], sizeof(d)) == 0; /* no early exit */
    return hit;
}

/* An evaluation in progress: the groups are visited in order; a password
 * group whose hash must run off the loop suspends it. */
typedef struct eval {
    const dp_policy_t *p; /* reference held while pending */
    dp_stream_t *s;
    dp_slice_t svc;
    creds_t c;
    size_t next;   /* next group to look at */
    bool *member;  /* per group: the request is a member */
    dp_policy_pending_t *pending;
    dp_policy_done_t done;
    void *arg;
    dp_htpasswd_req_t *req;
} eval_t;

static void strip_creds(eval_t *e)
{
    if (e->p->forward_credentials)
        return;
    dp_headers_remove(&e->s->req_headers, "authorization", 13);
    if (e->c.bearer_from_query)
        dp_query_remove(&e->s->arena, &e->s->path, "access_token");
}

/* The final decision once every group was looked at and none granted:
 * 401 when credentials could still get the request through (a credential
 * group the request is not a member of grants the service and method),
 * else 403. The challenge names the scheme of such a group: Basic when a
 * password group would grant, else Bearer. */
static int conclude(eval_t *e, const char **challenge)
{
    bool basic = false, bearer = false;
    *challenge = NULL;
    if (e->p->default_allow)
        return DP_POLICY_ALLOW;
    for (size_t i = 0; i < e->p->n_groups; i++) {
        const group_t *g = &e->p->groups[i];
        if (g->kind == G_IP || e->member[i] || !grants(g, e->svc.base, e->svc.len, e->s->method))
            continue;
        basic |= g->kind == G_PASSWORD;
        bearer |= g->kind != G_PASSWORD;
    }
    if (!basic && !bearer)
        return DP_POLICY_FORBIDDEN;
    size_t n;
    dp_slice_t host = e->s->authority;
    *challenge = dp_arena_printf(&e->s->arena, &n, "%s realm=\"%.*s\"", basic ? "Basic" : "Bearer", (int)host.len,
                                 host.base);
    return DP_POLICY_UNAUTHENTICATED;
}

static void on_password_done(void *arg, int result);

/* Visits groups from e->next. Returns ALLOW/401/403, or PENDING. */
static int run(eval_t *e, const char **challenge)
{
    const dp_policy_t *p = e->p;
    while (e->next < p->n_groups) {
        group_t *g = &p->groups[e->next++];
        bool is_member = false;
        switch (g->kind) {
        case G_IP:
            is_member = dp_cidr_set_match_str(g->cidrs, e->s->remote_addr);
            break;
        case G_TOKEN:
            /* an opaque token only in Authorization (docs/permissions.md);
             * the access_token parameter is for JWTs */
            is_member = e->c.bearer.len > 0 && !e->c.bearer_from_query && token_member(g, e->c.bearer);
            break;
        case G_JWT:
            is_member = e->c.bearer.len > 0 && jwt_member(g, e->s, e->c.bearer);
            break;
        case G_PASSWORD: {
            if (!e->c.basic)
                break;
            dp_offload_port_t *port =
                e->s->worker ? dp_offload_port_of_thread(e->s->worker->loop.ev) : NULL;
            int rc = dp_htpasswd_check_async(g->users, e->c.user, e->c.password, port, on_password_done, e,
                                             &e->req);
            if (rc == DP_HTPASSWD_PENDING) {
                e->pending->job = e;
                return DP_POLICY_PENDING;
            }
            if (rc < 0) {
                /* the offload queue is full: fail closed */
                *challenge = NULL;
                return DP_POLICY_FORBIDDEN;
            }
            is_member = rc == DP_HTPASSWD_ALLOW;
            break;
        }
        }
        if (is_member) {
            e->member[e->next - 1] = true;
            if (grants(g, e->svc.base, e->svc.len, e->s->method)) {
                strip_creds(e);
                return DP_POLICY_ALLOW;
            }
        }
    }
    int r = conclude(e, challenge);
    if (r == DP_POLICY_ALLOW)
        strip_creds(e);
    return r;
}

/* The evaluation lives in the stream's arena (it never outlives the
 * stream: the filter cancels it in on_destroy); only the policy reference
 * is released here. */
static void eval_free(eval_t *e)
{
    dp_policy_unref((dp_policy_t *)e->p);
}

static void on_password_done(void *arg, int result)
{
    eval_t *e = arg;
    group_t *g = &e->p->groups[e->next - 1];
    const char *challenge = NULL;
    int r;

    e->req = NULL;
    e->pending->job = NULL;
    if (result == DP_HTPASSWD_ALLOW) {
        e->member[e->next - 1] = true;
        if (grants(g, e->svc.base, e->svc.len, e->s->method)) {
            strip_creds(e);
            r = DP_POLICY_ALLOW;
            goto out;
        }
    }
    r = run(e, &challenge);
    if (r == DP_POLICY_PENDING)
        return;
out:;
    dp_stream_t *s = e->s;
    dp_policy_done_t done = e->done;
    void *darg = e->arg;
    eval_free(e);
    done(s, darg, r, challenge);
}

int dp_policy_check(const dp_policy_t *p, struct dp_stream *s, const char *service, size_t service_len,
                    dp_policy_pending_t *pending, dp_policy_done_t done, void *arg, const char **challenge)
{
    *challenge = NULL;
    pending->job = NULL;
    if (p == NULL)
        return DP_POLICY_FORBIDDEN;
    if (p->n_groups == 0)
        return p->default_allow ? DP_POLICY_ALLOW : DP_POLICY_FORBIDDEN;
    eval_t *e = memset(dp_arena_alloc(&s->arena, sizeof(*e)), 0, sizeof(*e));
    e->p = dp_policy_ref((dp_policy_t *)p);
    e->member = memset(dp_arena_alloc(&s->arena, p->n_groups * sizeof(*e->member)), 0,
                       p->n_groups * sizeof(*e->member));
    e->s = s;
    e->svc = dp_slice(service, service_len);
    e->pending = pending;
    e->done = done;
    e->arg = arg;
    find_creds(s, &e->c);
    int r = run(e, challenge);
    if (r != DP_POLICY_PENDING)
        eval_free(e);
    return r;
}

void dp_policy_cancel(dp_policy_pending_t *pending)
{
    eval_t *e = pending->job;
    if (e == NULL)
        return;
    if (e->req)
        dp_htpasswd_cancel(e->req);
    pending->job = NULL;
    eval_free(e);
}
