/* Per request: the requirement tree (Envoy's Verifier) and one
 * authenticator per leaf (Envoy's AuthenticatorImpl), in the request's
 * arena. A leaf checks its tokens last found first; each token goes
 * through the JWT cache, parsing, the issuer of its location, subject,
 * time, lifetime, audiences, and the signature with the provider's JWKS,
 * fetched first when remote and not cached on this worker.
 *
 * Re-entrancy: completions propagate synchronously up the tree; the root
 * completing cancels the other leaves' fetches. A fetch callback finishes
 * the request (ja_finish) as its very last step, because finishing may
 * dispose of the stream and with it this state. */
#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"
#include "dataplane/http/route.h"
#include "filters/jwt_authn/jwt_authn_int.h"

struct ja_auth {
    ja_req_t *req;
    const ja_verifier_t *v;
    const ja_provider_t *fixed; /* the provider of a provider leaf; NULL for allow_* */
    bool allow_failed, allow_missing;
    ja_token_t *tokens;
    size_t left; /* tokens not yet checked: tokens[0, left) */
    const ja_token_t *cur;
    const ja_provider_t *prov; /* the provider checking cur (Envoy's jwks_data_) */
    dp_jwt_t *owned;           /* parsed, not (yet) given to the cache */
    const dp_jwt_t *jwt;
    ja_fetch_t *fetch;
    bool done;
    ja_auth_t *next;
};

static void stat_inc(dp_stat_t *s)
{
    if (s)
        dp_stat_inc(s);
}

#define STAT(req, f) ((req)->stats ? (req)->stats->f : NULL)

static void verify_node(ja_req_t *req, const ja_verifier_t *v);
static void auth_next(ja_auth_t *a);

/* ---- the tree -------------------------------------------------------------------- */

static void extracted_set(ja_req_t *req, const char *key, json_t *value)
{
    if (value == NULL)
        return;
    if (req->extracted == NULL)
        req->extracted = json_object();
    json_object_set_new(req->extracted, key, value);
}

void ja_verify_cancel(ja_req_t *req)
{
    for (ja_auth_t *a = req->auths; a; a = a->next) {
        if (a->fetch) {
            ja_fetch_cancel(a->fetch);
            a->fetch = NULL;
        }
        dp_jwt_free(a->owned);
        a->owned = NULL;
        a->done = true;
    }
}

static void root_complete(ja_req_t *req, dp_jwt_status_t st)
{
    req->root_done = true;
    req->root_status = st;
    /* Envoy sets what the leaves extracted whatever the outcome */
    if (req->extracted) {
        const char *key;
        json_t *val;
        json_object_foreach(req->extracted, key, val)
            dp_stream_metadata_set(req->s, JA_METADATA_NS, key, json_incref(val));
        json_decref(req->extracted);
        req->extracted = NULL;
    }
    ja_verify_cancel(req);
}

static void complete_with_status(ja_req_t *req, const ja_verifier_t *v, dp_jwt_status_t st);

/* A requires_any / requires_all node hears from a child. */
static void group_on_child(ja_req_t *req, const ja_verifier_t *g, dp_jwt_status_t st)
{
    ja_node_state_t *ns = &req->nodes[g->id];
    if (ns->completed)
        return;
    if (g->kind == JA_V_ALL) {
        if (++ns->n_done == g->n_kids || st != DP_JWT_OK) {
            ns->completed = true;
            complete_with_status(req, g, st);
        }
        return;
    }
    if (st == DP_JWT_OK) {
        ns->completed = true;
        complete_with_status(req, g, st);
        return;
    }
    if (++ns->n_done < g->n_kids)
        return;
    /* every child failed: prefer a real error to "missing" or "unknown
     * issuer" (which only say the token was for another provider) */
    dp_jwt_status_t final = DP_JWT_MISSED;
    for (size_t i = 0; i < g->n_kids; i++) {
        dp_jwt_status_t cs = req->nodes[g->kids[i]->id].status;
        if ((cs != DP_JWT_MISSED && cs != DP_JWT_UNKNOWN_ISSUER) || final == DP_JWT_MISSED)
            final = cs;
    }
    if (g->any_allow_missing_or_failed || (g->any_allow_missing && final == DP_JWT_MISSED))
        final = DP_JWT_OK;
    ns->completed = true;
    complete_with_status(req, g, final);
}

static void complete_with_status(ja_req_t *req, const ja_verifier_t *v, dp_jwt_status_t st)
{
    if (v->parent) {
        req->nodes[v->id].status = st;
        group_on_child(req, v->parent, st);
        return;
    }
    root_complete(req, st);
}

/* A leaf (or allow-all) node is done. */
static void node_complete(ja_req_t *req, const ja_verifier_t *v, dp_jwt_status_t st)
{
    ja_node_state_t *ns = &req->nodes[v->id];
    if (ns->completed)
        return;
    ns->completed = true;
    complete_with_status(req, v, st);
}

/* ---- one token ---------------------------------------------------------------------- */

static const ja_provider_t *find_by_issuer(const ja_config_t *c, const char *iss)
{
    for (size_t i = 0; i < c->n_providers; i++)
        if (strcmp(c->providers[i].issuer, iss) == 0)
            return &c->providers[i];
    if (iss[0] == '\0')
        return NULL;
    /* the first provider without issuer takes any */
    for (size_t i = 0; i < c->n_providers; i++)
        if (c->providers[i].issuer[0] == '\0')
            return &c->providers[i];
    return NULL;
}

/* The token verified: headers, token removal, metadata, cache. */
static void good(ja_auth_t *a, bool cache_hit)
{
    ja_req_t *req = a->req;
    const ja_provider_t *p = a->prov;
    ja_add_headers(req->s, p, a->jwt);
    if (!p->forward)
        ja_remove_token(req->s, a->cur);
    if (p->header_in_metadata)
        extracted_set(req, p->header_in_metadata, json_deep_copy(a->jwt->header));
    if (p->payload_in_metadata)
        extracted_set(req, p->payload_in_metadata, ja_payload_metadata(p, a->jwt));
    if (a->fixed && !cache_hit && p->cache_enabled && a->owned) {
        ja_slot_t *slot = ja_slot(p, req->s);
        if (slot && slot->cache == NULL)
            slot->cache = dp_jwt_cache_new(p->cache_size);
        if (slot && slot->cache && dp_jwt_cache_insert(slot->cache, a->owned))
            a->owned = NULL;
    }
}

static void on_jwks(void *ctx, dp_jwks_t *jwks);

/* Checks the next token. Returns false when it waits for a JWKS fetch,
 * else true with its status in *st. */
static bool token_step(ja_auth_t *a, dp_jwt_status_t *st)
{
    ja_req_t *req = a->req;
    dp_stream_t *s = req->s;
    uint64_t now = dp_wall_ms() / 1000;
    bool cache_hit = false;
    a->cur = &a->tokens[--a->left];
    a->prov = a->fixed;
    a->jwt = NULL;
    ja_slot_t *slot = a->fixed ? ja_slot(a->fixed, s) : NULL;
    if (a->fixed) {
        const dp_jwt_t *hit = NULL;
        if (a->fixed->cache_enabled && slot && slot->cache)
            hit = dp_jwt_cache_lookup(slot->cache, a->cur->tok, a->cur->len, now);
        if (hit) {
            a->jwt = hit;
            cache_hit = true;
            stat_inc(STAT(req, jwt_cache_hit));
        } else {
            stat_inc(STAT(req, jwt_cache_miss));
        }
    }
    if (!cache_hit) {
        if ((*st = dp_jwt_parse(a->cur->tok, a->cur->len, &a->owned)) != DP_JWT_OK)
            return true;
        a->jwt = a->owned;
    }
    const dp_jwt_t *jwt = a->jwt;
    if (!ja_issuer_allowed(&a->cur->loc->issuers, jwt->iss)) {
        *st = DP_JWT_UNKNOWN_ISSUER;
        return true;
    }
    if (a->prov == NULL && (a->prov = find_by_issuer(req->cfg, jwt->iss)) == NULL) {
        *st = DP_JWT_UNKNOWN_ISSUER;
        return true;
    }
    const ja_provider_t *p = a->prov;
    if (p->has_subjects && !dp_route_strmatch(&p->subjects, jwt->sub, strlen(jwt->sub))) {
        *st = DP_JWT_VERIFICATION_FAIL;
        return true;
    }
    if ((*st = dp_jwt_check_time(jwt, now, p->clock_skew_s)) != DP_JWT_OK)
        return true;
    if (p->has_max_lifetime) {
        /* remaining lifetime exp - now must stay under max_lifetime; no exp fails */
        bool ok = jwt->exp != 0;
        if (ok && jwt->exp > now && p->max_lifetime_ns != UINT64_MAX) {
            uint64_t left = jwt->exp - now;
            ok = left < p->max_lifetime_ns / 1000000000u ||
                 (left == p->max_lifetime_ns / 1000000000u && p->max_lifetime_ns % 1000000000u != 0);
        }
        if (!ok) {
            *st = DP_JWT_VERIFICATION_FAIL;
            return true;
        }
    }
    bool aud_ok = a->v->has_audiences
                      ? dp_jwt_audience_allowed(jwt, (const char *const *)a->v->audiences, a->v->n_aud)
                      : dp_jwt_audience_allowed(jwt, (const char *const *)p->audiences, p->n_aud);
    if (!aud_ok) {
        *st = DP_JWT_AUDIENCE_NOT_ALLOWED;
        return true;
    }
    if (cache_hit) {
        good(a, true);
        *st = DP_JWT_OK;
        return true;
    }
    if (slot == NULL)
        slot = ja_slot(p, s);
    const dp_jwks_t *jwks = NULL;
    if (!p->remote)
        jwks = p->local;
    else if (slot && slot->jwks && dp_now_ms() < slot->expire_ms)
        jwks = slot->jwks;
    if (jwks) {
        if ((*st = dp_jwt_verify(jwt, jwks)) == DP_JWT_OK)
            good(a, false);
        return true;
    }
    if (p->remote) {
        a->fetch = ja_fetch_start(s, p, on_jwks, a);
        if (a->fetch)
            return false;
        stat_inc(STAT(req, jwks_fetch_failed));
        *st = DP_JWKS_FETCH_FAIL;
        return true;
    }
    *st = DP_JWKS_NO_VALID_KEYS;
    return true;
}

/* Envoy's doneWithStatus for one token. */
static void token_done(ja_auth_t *a, dp_jwt_status_t st)
{
    ja_req_t *req = a->req;
    if (st != DP_JWT_OK) {
        const ja_provider_t *p = a->prov;
        if (p == NULL && req->cfg->n_providers == 1)
            p = &req->cfg->providers[0];
        if (p && p->failed_status_in_metadata)
            extracted_set(req, p->failed_status_in_metadata,
                          json_pack("{s:i,s:s}", "code", (int)st, "message", dp_jwt_status_str(st)));
    }
    dp_jwt_free(a->owned);
    a->owned = NULL;
    a->jwt = NULL;
    /* every token must verify, unless failures or absence are allowed */
    if ((st != DP_JWT_OK && !a->allow_failed && !a->allow_missing) || a->left == 0) {
        if (a->allow_failed || (a->allow_missing && st == DP_JWT_MISSED))
            st = DP_JWT_OK;
        a->done = true;
        node_complete(req, a->v, st);
    }
}

static void auth_next(ja_auth_t *a)
{
    while (!a->done) {
        dp_jwt_status_t st = DP_JWT_OK;
        if (!token_step(a, &st))
            return;
        token_done(a, st);
    }
}

static void on_jwks(void *ctx, dp_jwks_t *jwks)
{
    ja_auth_t *a = ctx;
    ja_req_t *req = a->req;
    dp_jwt_status_t st;
    a->fetch = NULL;
    if (jwks == NULL) {
        stat_inc(STAT(req, jwks_fetch_failed));
        st = DP_JWKS_FETCH_FAIL;
    } else {
        stat_inc(STAT(req, jwks_fetch_success));
        const ja_provider_t *p = a->prov;
        ja_slot_t *slot = ja_slot(p, req->s);
        if ((st = dp_jwt_verify(a->jwt, jwks)) == DP_JWT_OK)
            good(a, false);
        if (slot) {
            dp_jwks_unref(slot->jwks);
            slot->jwks = jwks;
            slot->expire_ms = dp_now_ms() + p->cache_ms;
        } else {
            dp_jwks_unref(jwks);
        }
    }
    token_done(a, st);
    auth_next(a);
    /* the last action: finishing may dispose of the stream and this state */
    if (req->root_done && !req->finished)
        ja_finish(req);
}

/* ---- leaves and groups ------------------------------------------------------------------ */

static void start_auth(ja_req_t *req, const ja_verifier_t *v)
{
    ja_auth_t *a = dp_arena_alloc(&req->s->arena, sizeof(*a));
    memset(a, 0, sizeof(*a));
    a->req = req;
    a->v = v;
    a->fixed = v->kind == JA_V_PROVIDER ? v->provider : NULL;
    a->allow_failed = v->kind == JA_V_ALLOW_FAILED;
    a->allow_missing = v->kind == JA_V_ALLOW_FAILED || v->kind == JA_V_ALLOW_MISSING;
    a->next = req->auths;
    req->auths = a;
    /* the headers a provider fills cannot come from the client */
    ja_sanitize(&v->ex, req->s);
    a->left = ja_extract(&v->ex, req->s, &a->tokens);
    if (a->left == 0) {
        token_done(a, DP_JWT_MISSED);
        return;
    }
    auth_next(a);
}

static void verify_node(ja_req_t *req, const ja_verifier_t *v)
{
    switch (v->kind) {
    case JA_V_ALLOW_ALL:
        node_complete(req, v, DP_JWT_OK);
        return;
    case JA_V_PROVIDER:
    case JA_V_ALLOW_FAILED:
    case JA_V_ALLOW_MISSING:
        start_auth(req, v);
        return;
    case JA_V_ANY:
    case JA_V_ALL:
        for (size_t i = 0; i < v->n_kids; i++) {
            if (req->nodes[v->id].completed)
                return;
            verify_node(req, v->kids[i]);
        }
        return;
    }
}

void ja_verify_start(ja_req_t *req)
{
    size_t n = req->tree->n_nodes ? req->tree->n_nodes : 1;
    req->nodes = dp_arena_alloc(&req->s->arena, n * sizeof(*req->nodes));
    memset(req->nodes, 0, n * sizeof(*req->nodes));
    verify_node(req, req->tree->root);
}
