/* ADS server of the control stub: see ads_server.h for the protocol.
 *
 * A stream embeds the shared server-call plumbing (stub_call.h: one
 * receive and one send at a time, the close, the status) and adds the
 * xDS state: the node, a subscription per type, the replay position. The
 * stub's acceptor (stub_server.c) hands it the calls of the two ADS
 * methods. */
#include "control-stub/ads_server.h"

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control-stub/fleet_xlate.h"
#include "control-stub/replay.h"
#include "control-stub/stub_call.h"
#include "control-stub/stub_util.h"
#include "dataplane/core/common.h"
#include "envoy/service/discovery/v3/discovery.pb-c.h"
#include "google/protobuf/any.pb-c.h"

typedef struct stream stream_t;

typedef struct sub {
    int active;   /* a request of this type was seen */
    int wildcard; /* LDS/CDS/catalogue with no names, or "*" */
    char **names;
    size_t nnames;
    char nonce[48];   /* last nonce sent ("" none) */
    char version[24]; /* version sent with it */
    uint64_t sent_digest;
    int sent_any;
    int dirty; /* send when the send slot is free */
    int force; /* send even if the view did not change */
    /* delta, dirty through one-resource updates only (dp_stubads_put):
     * the names to diff, not the whole set */
    int partial;
    char **touched;
    size_t ntouched;
    /* delta: what the client holds (name -> version we sent or it
     * declared in initial_resource_versions) */
    char **known;
    char (*known_ver)[24];
    dp_stub_index_t known_ix; /* known name -> index */
    size_t nknown;
} sub_t;

struct stream {
    dp_stub_call_t super; /* first: the plumbing's callbacks cast back */
    dp_stubads_t *srv;
    char *node; /* node id of the first request, or NULL */
    sub_t subs[DP_XT_COUNT];
    int delta;      /* DeltaAggregatedResources */
    int rp_idx;     /* replay: recorded stream served, -1 none */
    size_t rp_pos;  /* replay: next item of that stream */
    size_t rp_reqs; /* replay: requests received, not yet matched */
    stream_t *prev, *next;
};

/* Per node and type, for GET /status. */
typedef struct dp_stub_tstat {
    char sent[24];  /* last version sent ("" none) */
    char acked[24]; /* last version ACKed */
    char nack_ver[24];
    char *nack_msg; /* last NACK's error detail, NULL none */
    char nack_at[32];
} dp_stub_tstat_t;

typedef struct nodestate {
    char *name;
    int present; /* in the current fleet */
    dp_xnode_t x;
    uint64_t version[DP_XT_COUNT];
    uint64_t digest[DP_XT_COUNT];
    dp_stub_tstat_t st[DP_XT_COUNT]; /* for GET /status */
} nodestate_t;

struct dp_stubads {
    stream_t *streams; /* live ones */
    unsigned long long nonce_seq, nonce_epoch;
    nodestate_t *nodes;
    size_t nnodes;
    const dp_replay_t *replay; /* --replay: serve this instead of the fleet */
    int rp_next;               /* next recorded stream to hand out */
};

static void stream_pump(stream_t *s);
static void touched_clear(sub_t *sub);
static void note_node(stream_t *s, const Envoy__Config__Core__V3__Node *node);

static nodestate_t *find_node(dp_stubads_t *srv, const char *name)
{
    for (size_t i = 0; i < srv->nnodes; i++)
        if (strcmp(srv->nodes[i].name, name) == 0)
            return &srv->nodes[i];
    return NULL;
}

/* Like find_node() but creates an absent entry, so that a node that is
 * not (yet) in the fleet still shows in GET /status. */
static nodestate_t *node_get(dp_stubads_t *srv, const char *name)
{
    nodestate_t *ns = find_node(srv, name);
    if (ns != NULL)
        return ns;
    srv->nodes = dp_stub_xrealloc(srv->nodes, (srv->nnodes + 1) * sizeof *srv->nodes);
    ns = &srv->nodes[srv->nnodes++];
    memset(ns, 0, sizeof *ns);
    ns->name = dp_stub_xstrdup(name);
    return ns;
}

static void stat_ack(dp_stubads_t *srv, const char *node, int t, const char *version)
{
    snprintf(node_get(srv, node)->st[t].acked, sizeof(((dp_stub_tstat_t *)0)->acked), "%s", version);
}

static void stat_nack(dp_stubads_t *srv, const char *node, int t, const char *version, const char *msg)
{
    dp_stub_tstat_t *st = &node_get(srv, node)->st[t];
    snprintf(st->nack_ver, sizeof st->nack_ver, "%s", version);
    free(st->nack_msg);
    st->nack_msg = dp_stub_xstrdup(msg);
    dp_stub_now_iso(st->nack_at, sizeof st->nack_at);
}

/* ---- stream life ---- */

static void stream_free(dp_stub_call_t *c)
{
    stream_t *s = (stream_t *)c;
    dp_stubads_t *srv = s->srv;
    if (s->prev)
        s->prev->next = s->next;
    else
        srv->streams = s->next;
    if (s->next)
        s->next->prev = s->prev;
    dp_stub_log("stream %u (node %s): closed%s", c->id, s->node ? s->node : "-", c->cancelled ? " (cancelled)" : "");
    for (int t = 0; t < DP_XT_COUNT; t++) {
        for (size_t i = 0; i < s->subs[t].nnames; i++)
            free(s->subs[t].names[i]);
        free(s->subs[t].names);
        for (size_t i = 0; i < s->subs[t].nknown; i++)
            free(s->subs[t].known[i]);
        free(s->subs[t].known);
        free(s->subs[t].known_ver);
        dp_stub_index_free(&s->subs[t].known_ix);
        touched_clear(&s->subs[t]);
    }
    dp_stub_call_release(c);
    free(s->node);
    free(s);
}

/* ---- SotW protocol ---- */

static void set_names(sub_t *sub, char **names, size_t n)
{
    for (size_t i = 0; i < sub->nnames; i++)
        free(sub->names[i]);
    free(sub->names);
    sub->names = dp_stub_xcalloc(n ? n : 1, sizeof *sub->names);
    for (size_t i = 0; i < n; i++)
        sub->names[i] = dp_stub_xstrdup(names[i]);
    sub->nnames = n;
}

static int contains(char *const *names, size_t n, const char *x)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], x) == 0)
            return 1;
    return 0;
}

static int same_names(const sub_t *sub, char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!contains(sub->names, sub->nnames, names[i]))
            return 0;
    for (size_t i = 0; i < sub->nnames; i++)
        if (!contains(names, n, sub->names[i]))
            return 0;
    return 1;
}

static void touched_clear(sub_t *sub)
{
    for (size_t i = 0; i < sub->ntouched; i++)
        free(sub->touched[i]);
    free(sub->touched);
    sub->touched = NULL;
    sub->ntouched = 0;
    sub->partial = 0;
}

/* The whole view is to be diffed (and sent if forced). */
static void mark_full(sub_t *sub, int force)
{
    touched_clear(sub);
    sub->dirty = 1;
    sub->force |= force;
}

/* Only `name` changed, as far as this subscription knows. */
static void mark_name(sub_t *sub, const char *name)
{
    if (sub->dirty && !sub->partial)
        return; /* a full diff is due anyway */
    sub->dirty = sub->partial = 1;
    for (size_t i = 0; i < sub->ntouched; i++)
        if (strcmp(sub->touched[i], name) == 0)
            return;
    sub->touched = dp_stub_xrealloc(sub->touched, (sub->ntouched + 1) * sizeof *sub->touched);
    sub->touched[sub->ntouched++] = dp_stub_xstrdup(name);
}

/* Builds and starts the response of type t if the view changed (or
 * forced). Returns 1 when a send was started. */
static int send_type(stream_t *s, int t)
{
    sub_t *sub = &s->subs[t];
    dp_stubads_t *srv = s->srv;
    int force = sub->force;
    sub->dirty = sub->force = 0;
    nodestate_t *ns = s->node ? find_node(srv, s->node) : NULL;
    if (ns == NULL || !ns->present)
        return 0; /* unknown node: serve nothing */
    const dp_xset_t *set = &ns->x.t[t];
    uint64_t dg = sub->wildcard ? set->digest : dp_xset_digest(set, sub->names, sub->nnames);
    if (!force && sub->sent_any && dg == sub->sent_digest)
        return 0;

    Google__Protobuf__Any *anys = dp_stub_xcalloc(set->n, sizeof *anys);
    Google__Protobuf__Any **ptrs = dp_stub_xcalloc(set->n, sizeof *ptrs);
    size_t n = 0;
    for (size_t i = 0; i < set->n; i++) {
        if (!sub->wildcard && !contains(sub->names, sub->nnames, set->items[i].name))
            continue;
        google__protobuf__any__init(&anys[n]);
        anys[n].type_url = (char *)dp_xlate_type_url[t];
        anys[n].value.data = set->items[i].bytes;
        anys[n].value.len = set->items[i].len;
        ptrs[n] = &anys[n];
        n++;
    }
    Envoy__Service__Discovery__V3__DiscoveryResponse r =
        ENVOY__SERVICE__DISCOVERY__V3__DISCOVERY_RESPONSE__INIT;
    snprintf(sub->version, sizeof sub->version, "%" PRIu64, ns->version[t]);
    snprintf(sub->nonce, sizeof sub->nonce, "%llx-%llu", srv->nonce_epoch, ++srv->nonce_seq);
    r.version_info = sub->version;
    r.type_url = (char *)dp_xlate_type_url[t];
    r.nonce = sub->nonce;
    r.resources = ptrs;
    r.n_resources = n;
    size_t len = envoy__service__discovery__v3__discovery_response__get_packed_size(&r);
    uint8_t *buf = dp_stub_xmalloc(len);
    envoy__service__discovery__v3__discovery_response__pack(&r, buf);
    free(anys);
    free(ptrs);
    sub->sent_digest = dg;
    sub->sent_any = 1;
    if (!dp_stub_call_send(&s->super, buf, len))
        return 0;
    snprintf(ns->st[t].sent, sizeof ns->st[t].sent, "%s", sub->version);
    dp_stub_log("stream %u (node %s): sent %s version %s nonce %s (%zu resources)", s->super.id, s->node,
                dp_xlate_type_short[t], sub->version, sub->nonce, n);
    return 1;
}

/* ---- Delta protocol ---- */

/* Version of one resource: a digest of its encoded bytes, so equal bytes
 * mean equal versions across streams and restarts of the stub. */
static void res_version(const dp_xres_t *r, char out[24])
{
    snprintf(out, 24, "%016" PRIx64, r->hash);
}

static long known_find(const sub_t *sub, const char *name)
{
    size_t i = dp_stub_index_get(&sub->known_ix, name);
    return i == (size_t)-1 ? -1 : (long)i;
}

static void known_set(sub_t *sub, const char *name, const char *ver)
{
    long i = known_find(sub, name);
    if (i < 0) {
        if ((sub->nknown & (sub->nknown - 1)) == 0) { /* capacity doubles at each power of two */
            size_t cap = sub->nknown ? 2 * sub->nknown : 1;
            sub->known = dp_stub_xrealloc(sub->known, cap * sizeof *sub->known);
            sub->known_ver = dp_stub_xrealloc(sub->known_ver, cap * sizeof *sub->known_ver);
        }
        i = (long)sub->nknown++;
        sub->known[i] = dp_stub_xstrdup(name);
        dp_stub_index_put(&sub->known_ix, sub->known[i], (size_t)i);
    }
    snprintf(sub->known_ver[i], sizeof sub->known_ver[i], "%s", ver);
}

static void known_del(sub_t *sub, const char *name)
{
    long i = known_find(sub, name);
    if (i < 0)
        return;
    dp_stub_index_del(&sub->known_ix, name);
    free(sub->known[i]);
    sub->nknown--;
    sub->known[i] = sub->known[sub->nknown];
    memcpy(sub->known_ver[i], sub->known_ver[sub->nknown], sizeof sub->known_ver[i]);
    if ((size_t)i < sub->nknown)
        dp_stub_index_set(&sub->known_ix, sub->known[i], (size_t)i);
}

static void names_del(sub_t *sub, const char *name)
{
    for (size_t i = 0; i < sub->nnames; i++) {
        if (strcmp(sub->names[i], name) == 0) {
            free(sub->names[i]);
            sub->names[i] = sub->names[--sub->nnames];
            return;
        }
    }
}

/* The set's items are sorted by name (dp_fleet_translate). */
static int cmp_name_res(const void *key, const void *item)
{
    return strcmp((const char *)key, ((const dp_xres_t *)item)->name);
}

static const dp_xres_t *set_find(const dp_xset_t *set, const char *name)
{
    return set->n ? bsearch(name, set->items, set->n, sizeof(*set->items), cmp_name_res) : NULL;
}

/* Sends what the client's view lacks: resources whose version differs
 * from the one it holds, and removals of the names it holds that are
 * gone. Nothing to send and not forced: no message. Returns 1 when a send
 * was started. */
static int send_delta(stream_t *s, int t)
{
    sub_t *sub = &s->subs[t];
    dp_stubads_t *srv = s->srv;
    int force = sub->force;
    sub->dirty = sub->force = 0;
    /* partial: only the touched names are looked at, O(changes) */
    char **touched = sub->touched;
    size_t ntouched = sub->partial ? sub->ntouched : 0;
    int partial = sub->partial;
    sub->touched = NULL;
    sub->ntouched = 0;
    sub->partial = 0;
    nodestate_t *ns = s->node ? find_node(srv, s->node) : NULL;
    const dp_xset_t *set = ns && ns->present ? &ns->x.t[t] : NULL;
    size_t cap = partial ? ntouched : set ? set->n : 0;
    Envoy__Service__Discovery__V3__Resource *rs = dp_stub_xcalloc(cap + 1, sizeof *rs);
    Envoy__Service__Discovery__V3__Resource **rp = dp_stub_xcalloc(cap + 1, sizeof *rp);
    Google__Protobuf__Any *anys = dp_stub_xcalloc(cap + 1, sizeof *anys);
    char(*vers)[24] = dp_stub_xcalloc(cap + 1, sizeof *vers);
    char **removed = dp_stub_xcalloc((partial ? ntouched : sub->nknown) + 1, sizeof *removed);
    size_t n = 0, nrm = 0;
    int started = 0;
    if (set == NULL)
        goto done;
    for (size_t i = 0; i < cap; i++) {
        const dp_xres_t *r = partial ? set_find(set, touched[i]) : &set->items[i];
        if (r == NULL) {
            long k = known_find(sub, touched[i]);
            if (k >= 0)
                removed[nrm++] = sub->known[k];
            continue;
        }
        if (!sub->wildcard && !contains(sub->names, sub->nnames, r->name))
            continue;
        res_version(r, vers[n]);
        long k = known_find(sub, r->name);
        if (k >= 0 && strcmp(sub->known_ver[k], vers[n]) == 0)
            continue;
        envoy__service__discovery__v3__resource__init(&rs[n]);
        google__protobuf__any__init(&anys[n]);
        anys[n].type_url = (char *)dp_xlate_type_url[t];
        anys[n].value.data = r->bytes;
        anys[n].value.len = r->len;
        rs[n].name = r->name;
        rs[n].version = vers[n];
        rs[n].resource = &anys[n];
        rp[n] = &rs[n];
        n++;
    }
    for (size_t i = 0; !partial && i < sub->nknown; i++)
        if (set_find(set, sub->known[i]) == NULL)
            removed[nrm++] = sub->known[i];
    if (n == 0 && nrm == 0 && !force)
        goto done;
    Envoy__Service__Discovery__V3__DeltaDiscoveryResponse r =
        ENVOY__SERVICE__DISCOVERY__V3__DELTA_DISCOVERY_RESPONSE__INIT;
    snprintf(sub->version, sizeof sub->version, "%" PRIu64, ns->version[t]);
    snprintf(sub->nonce, sizeof sub->nonce, "%llx-%llu", srv->nonce_epoch, ++srv->nonce_seq);
    r.system_version_info = sub->version;
    r.type_url = (char *)dp_xlate_type_url[t];
    r.nonce = sub->nonce;
    r.resources = rp;
    r.n_resources = n;
    r.removed_resources = removed;
    r.n_removed_resources = nrm;
    size_t len = envoy__service__discovery__v3__delta_discovery_response__get_packed_size(&r);
    uint8_t *buf = dp_stub_xmalloc(len);
    envoy__service__discovery__v3__delta_discovery_response__pack(&r, buf);
    if (!dp_stub_call_send(&s->super, buf, len))
        goto done;
    started = 1;
    snprintf(ns->st[t].sent, sizeof ns->st[t].sent, "%s", sub->version);
    dp_stub_log("stream %u (node %s): sent %s version %s nonce %s (delta: %zu resources, %zu removed)", s->super.id,
                s->node, dp_xlate_type_short[t], sub->version, sub->nonce, n, nrm);
    /* the client now holds what was sent (a NACK does not change what
     * it was offered: the next change is diffed against the same view) */
    for (size_t i = 0; i < n; i++)
        known_set(sub, rs[i].name, rs[i].version);
    for (size_t i = 0; i < nrm; i++) {
        char *name = dp_stub_xstrdup(removed[i]);
        known_del(sub, name);
        free(name);
    }
done:
    free(rs);
    free(rp);
    free(anys);
    free(vers);
    free(removed);
    for (size_t i = 0; i < ntouched; i++)
        free(touched[i]);
    free(touched);
    return started;
}

/* What every request (SotW or Delta) starts with: the node of the stream,
 * and the subscription of its type, or NULL for a type we do not serve. */
static sub_t *request_sub(stream_t *s, const Envoy__Config__Core__V3__Node *node, const char *type_url,
                          int *t)
{
    note_node(s, node);
    *t = dp_xlate_type_of(type_url);
    if (*t < 0) {
        dp_stub_log("stream %u (node %s): type %s is not served: ignored", s->super.id, s->node,
                    type_url && type_url[0] ? type_url : "(none)");
        return NULL;
    }
    return &s->subs[*t];
}

static void on_delta_request(stream_t *s, const Envoy__Service__Discovery__V3__DeltaDiscoveryRequest *req)
{
    int t;
    sub_t *sub = request_sub(s, req->node, req->type_url, &t);
    if (sub == NULL)
        return;
    const char *nonce = req->response_nonce ? req->response_nonce : "";
    int changed = 0;
    if (!sub->active) {
        /* legacy wildcard: the first LDS/CDS/catalogue request naming nothing */
        sub->active = changed = 1;
        sub->wildcard = dp_xlate_type_wildcard(t) && req->n_resource_names_subscribe == 0;
        for (size_t i = 0; i < req->n_initial_resource_versions; i++) {
            const Envoy__Service__Discovery__V3__DeltaDiscoveryRequest__InitialResourceVersionsEntry *e =
                req->initial_resource_versions[i];
            if (e->key && e->value)
                known_set(sub, e->key, e->value);
        }
    }
    for (size_t i = 0; i < req->n_resource_names_subscribe; i++) {
        const char *nm = req->resource_names_subscribe[i];
        if (strcmp(nm, "*") == 0) {
            changed |= !sub->wildcard;
            sub->wildcard = 1;
        } else if (!contains(sub->names, sub->nnames, nm)) {
            sub->names = dp_stub_xrealloc(sub->names, (sub->nnames + 1) * sizeof *sub->names);
            sub->names[sub->nnames++] = dp_stub_xstrdup(nm);
            changed = 1;
        }
    }
    for (size_t i = 0; i < req->n_resource_names_unsubscribe; i++) {
        const char *nm = req->resource_names_unsubscribe[i];
        if (strcmp(nm, "*") == 0) {
            sub->wildcard = 0;
        } else {
            names_del(sub, nm);
            if (!sub->wildcard)
                known_del(sub, nm); /* unsubscribed: forgotten, not "removed" */
        }
    }
    if (nonce[0]) {
        if (strcmp(nonce, sub->nonce) != 0) {
            dp_stub_log("stream %u (node %s): %s request with stale nonce '%s' (last sent %s)", s->super.id,
                        s->node, dp_xlate_type_short[t], nonce, sub->nonce);
        } else if (req->error_detail != NULL) {
            const char *m = req->error_detail->message ? req->error_detail->message : "";
            dp_stub_log("node %s: NACK %s version %s nonce %s (stream %u): code %d: %s", s->node,
                        dp_xlate_type_short[t], sub->version, nonce, s->super.id, req->error_detail->code, m);
            stat_nack(s->srv, s->node, t, sub->version, m);
        } else {
            dp_stub_log("node %s: ACK %s version %s nonce %s (stream %u)", s->node, dp_xlate_type_short[t],
                        sub->version, nonce, s->super.id);
            stat_ack(s->srv, s->node, t, sub->version);
        }
    }
    if (changed) {
        mark_full(sub, 1);
        stream_pump(s);
    }
}

/* ---- replay ---- */

/* Sends the recorded responses that follow the requests received so far:
 * a recorded "send" is passed once the stream has received one more
 * request, a recorded "recv" is sent as it is. */
static void replay_pump(stream_t *s)
{
    const dp_replay_t *rp = s->srv->replay;
    if (s->rp_idx < 0)
        return;
    const dp_replay_stream_t *rs = &rp->streams[s->rp_idx];
    while (s->rp_pos < rs->n) {
        const dp_replay_item_t *it = &rs->items[s->rp_pos];
        if (it->is_request) {
            if (s->rp_reqs == 0)
                return;
            s->rp_reqs--;
            s->rp_pos++;
            continue;
        }
        uint8_t *buf = dp_stub_xmalloc(it->len);
        memcpy(buf, it->bytes, it->len);
        if (!dp_stub_call_send(&s->super, buf, it->len))
            return;
        s->rp_pos++;
        dp_stub_log("stream %u (node %s): replayed line %zu (%zu bytes)", s->super.id, s->node ? s->node : "-",
                    it->line, it->len);
        return; /* one in flight: the next on its completion */
    }
}

/* Sends the next pending type, in LDS, CDS, RDS, EDS, Project, Container
 * order. */
static void stream_pump(stream_t *s)
{
    if (!dp_stub_call_can_send(&s->super))
        return;
    if (s->srv->replay != NULL) {
        replay_pump(s);
        return;
    }
    for (int t = 0; t < DP_XT_COUNT; t++)
        if (s->subs[t].dirty && (s->delta ? send_delta(s, t) : send_type(s, t)))
            return;
}

/* A stream belongs to the node of its first request. */
static void note_node(stream_t *s, const Envoy__Config__Core__V3__Node *node)
{
    if (s->node != NULL)
        return;
    const char *id = node && node->id ? node->id : "";
    s->node = dp_stub_xstrdup(id);
    nodestate_t *ns = node_get(s->srv, id);
    dp_stub_log("stream %u from %s: node '%s'%s%s", s->super.id, s->super.peer, id, s->delta ? " (delta)" : "",
                ns->present ? "" : " is not in the fleet: serving it nothing");
}

static void on_request(stream_t *s, const Envoy__Service__Discovery__V3__DiscoveryRequest *req)
{
    int t;
    sub_t *sub = request_sub(s, req->node, req->type_url, &t);
    if (sub == NULL)
        return;
    const char *nonce = req->response_nonce ? req->response_nonce : "";
    int first = !sub->active;
    if (!first && sub->nonce[0] && strcmp(nonce, sub->nonce) != 0) {
        dp_stub_log("stream %u (node %s): %s request with stale nonce '%s' (last sent %s): ignored", s->super.id,
                    s->node, dp_xlate_type_short[t], nonce, sub->nonce);
        return;
    }
    sub->active = 1;
    int changed = !same_names(sub, req->resource_names, req->n_resource_names);
    if (changed)
        set_names(sub, req->resource_names, req->n_resource_names);
    sub->wildcard = (dp_xlate_type_wildcard(t) && sub->nnames == 0) || contains(sub->names, sub->nnames, "*");
    if (req->error_detail != NULL) {
        dp_stub_log("node %s: NACK %s version %s nonce %s (stream %u): code %d: %s", s->node,
                    dp_xlate_type_short[t], sub->version, nonce, s->super.id, req->error_detail->code,
                    req->error_detail->message ? req->error_detail->message : "");
        stat_nack(s->srv, s->node, t, sub->version,
                  req->error_detail->message ? req->error_detail->message : "");
        return;
    }
    if (!first && nonce[0]) {
        dp_stub_log("node %s: ACK %s version %s nonce %s (stream %u)", s->node, dp_xlate_type_short[t],
                    req->version_info ? req->version_info : "", nonce, s->super.id);
        stat_ack(s->srv, s->node, t, req->version_info ? req->version_info : "");
        if (!changed)
            return;
    }
    mark_full(sub, 1);
    stream_pump(s);
}

static void on_message(dp_stub_call_t *c, const uint8_t *buf, size_t len)
{
    stream_t *s = (stream_t *)c;
    const ProtobufCMessageDescriptor *d =
        s->delta ? &envoy__service__discovery__v3__delta_discovery_request__descriptor
                 : &envoy__service__discovery__v3__discovery_request__descriptor;
    ProtobufCMessage *req = protobuf_c_message_unpack(d, NULL, len, buf);
    if (req == NULL) {
        dp_stub_log("stream %u (node %s) from %s: undecodable %s: ending the stream", c->id,
                    s->node ? s->node : "-", c->peer, d->short_name);
        dp_stub_call_finish(c, GRPC_STATUS_INVALID_ARGUMENT,
                            s->delta ? "cannot decode DeltaDiscoveryRequest" : "cannot decode DiscoveryRequest");
        return;
    }
    if (s->srv->replay != NULL) {
        note_node(s, s->delta ? ((Envoy__Service__Discovery__V3__DeltaDiscoveryRequest *)req)->node
                              : ((Envoy__Service__Discovery__V3__DiscoveryRequest *)req)->node);
        s->rp_reqs++;
        stream_pump(s);
    } else if (s->delta) {
        on_delta_request(s, (Envoy__Service__Discovery__V3__DeltaDiscoveryRequest *)req);
    } else {
        on_request(s, (Envoy__Service__Discovery__V3__DiscoveryRequest *)req);
    }
    protobuf_c_message_free_unpacked(req, NULL);
}

static void on_sent(dp_stub_call_t *c)
{
    stream_pump((stream_t *)c);
}

static const dp_stub_call_ops_t ads_ops = {on_message, on_sent, stream_free};

void dp_stubads_accept(dp_stubads_t *srv, grpc_call *call, int delta, unsigned id, int *live)
{
    stream_t *s = dp_stub_xcalloc(1, sizeof *s);
    s->srv = srv;
    s->delta = delta;
    s->rp_idx = -1;
    s->next = srv->streams;
    if (srv->streams)
        srv->streams->prev = s;
    srv->streams = s;
    if (dp_stub_call_start(&s->super, &ads_ops, call, id, live) != 0)
        return; /* freed */
    if (srv->replay != NULL) {
        /* the k-th stream accepted replays the k-th recorded stream */
        if (srv->rp_next < (int)srv->replay->nstreams) {
            s->rp_idx = srv->rp_next++;
            if (srv->replay->streams[s->rp_idx].delta != s->delta)
                dp_stub_log("stream %u: replaying a %s recording on a %s stream", id, s->delta ? "SotW" : "delta",
                            s->delta ? "delta" : "SotW");
            dp_stub_log("stream %u from %s: replaying recorded stream %u", id, s->super.peer,
                        srv->replay->streams[s->rp_idx].no);
        } else {
            dp_stub_log("stream %u from %s: recording exhausted: serving nothing", id, s->super.peer);
        }
    }
}

/* ---- public ---- */

dp_stubads_t *dp_stubads_create(void)
{
    dp_stubads_t *srv = dp_stub_xcalloc(1, sizeof *srv);
    srv->nonce_epoch = (unsigned long long)time(NULL);
    return srv;
}

int dp_stubads_set_fleet(dp_stubads_t *srv, const dp_fleet_t *f, char *errbuf, size_t errlen)
{
    dp_xnode_t *xs = dp_stub_xcalloc(f->nnodes, sizeof *xs);
    for (size_t i = 0; i < f->nnodes; i++) {
        int rc = dp_fleet_translate(f, i, &xs[i], errbuf, errlen);
        if (rc) {
            for (size_t k = 0; k < i; k++)
                dp_xnode_clear(&xs[k]);
            free(xs);
            return DP_EINVAL;
        }
    }
    for (size_t i = 0; i < srv->nnodes; i++) {
        srv->nodes[i].present = 0;
        dp_xnode_clear(&srv->nodes[i].x);
    }
    for (size_t i = 0; i < f->nnodes; i++) {
        nodestate_t *ns = find_node(srv, f->nodes[i].name);
        if (ns == NULL) {
            srv->nodes = dp_stub_xrealloc(srv->nodes, (srv->nnodes + 1) * sizeof *srv->nodes);
            ns = &srv->nodes[srv->nnodes++];
            memset(ns, 0, sizeof *ns);
            ns->name = dp_stub_xstrdup(f->nodes[i].name);
        }
        ns->present = 1;
        ns->x = xs[i];
        char vers[224] = "";
        for (int t = 0; t < DP_XT_COUNT; t++) {
            if (ns->version[t] == 0 || ns->digest[t] != ns->x.t[t].digest) {
                ns->version[t]++;
                ns->digest[t] = ns->x.t[t].digest;
            }
            size_t l = strlen(vers);
            snprintf(vers + l, sizeof vers - l, "%s%s %" PRIu64, t ? ", " : "", dp_xlate_type_short[t],
                     ns->version[t]);
        }
        dp_stub_log("node %s: %zu listeners, %zu clusters, %zu route configs, %zu assignments, %zu secrets, "
                    "%zu projects, %zu containers; versions %s",
                    ns->name, ns->x.t[DP_XT_LDS].n, ns->x.t[DP_XT_CDS].n, ns->x.t[DP_XT_RDS].n,
                    ns->x.t[DP_XT_EDS].n, ns->x.t[DP_XT_SDS].n, ns->x.t[DP_XT_PROJECT].n,
                    ns->x.t[DP_XT_CONTAINER].n, vers);
    }
    free(xs);
    for (stream_t *s = srv->streams; s != NULL; s = s->next) {
        for (int t = 0; t < DP_XT_COUNT; t++)
            if (s->subs[t].active)
                mark_full(&s->subs[t], 0);
        stream_pump(s);
    }
    return 0;
}

int dp_stubads_put(dp_stubads_t *srv, const char *node, int t, dp_xres_t *r)
{
    nodestate_t *ns = find_node(srv, node);
    if (ns == NULL || !ns->present || srv->replay != NULL) {
        dp_xres_clear(r);
        return DP_EINVAL;
    }
    char *name = dp_stub_xstrdup(r->name);
    if (!dp_xset_put(&ns->x.t[t], r)) {
        free(name);
        return 0;
    }
    ns->version[t]++;
    ns->digest[t] = ns->x.t[t].digest;
    dp_stub_log("node %s: %s %s changed; version %" PRIu64, ns->name, dp_xlate_type_short[t], name,
                ns->version[t]);
    for (stream_t *s = srv->streams; s != NULL; s = s->next) {
        if (s->node == NULL || strcmp(s->node, node) != 0 || !s->subs[t].active)
            continue;
        if (s->delta)
            mark_name(&s->subs[t], name);
        else
            mark_full(&s->subs[t], 0);
        stream_pump(s);
    }
    free(name);
    return 1;
}

void dp_stubads_set_replay(dp_stubads_t *srv, const dp_replay_t *rp)
{
    srv->replay = rp;
}

json_t *dp_stubads_status(const dp_stubads_t *srv)
{
    json_t *nodes = json_object();
    for (size_t i = 0; i < srv->nnodes; i++) {
        const nodestate_t *ns = &srv->nodes[i];
        int streams = 0;
        for (const stream_t *s = srv->streams; s != NULL; s = s->next)
            if (!s->super.closed && s->node != NULL && strcmp(s->node, ns->name) == 0)
                streams++;
        json_t *types = json_object();
        for (int t = 0; t < DP_XT_COUNT; t++) {
            const dp_stub_tstat_t *st = &ns->st[t];
            json_t *o = json_pack("{s:s,s:s,s:s?}", "type_url", dp_xlate_type_url[t], "version_sent",
                                  st->sent, "version_acked", st->acked[0] ? st->acked : NULL);
            if (st->nack_msg != NULL)
                json_object_set_new(o, "last_nack",
                                    json_pack("{s:s,s:s,s:s}", "version", st->nack_ver, "error", st->nack_msg,
                                              "time", st->nack_at));
            json_object_set_new(types, dp_xlate_type_short[t], o);
        }
        json_object_set_new(nodes, ns->name,
                            json_pack("{s:b,s:i,s:b,s:o}", "connected", streams > 0, "streams", streams,
                                      "in_fleet", ns->present, "types", types));
    }
    return nodes;
}

void dp_stubads_destroy(dp_stubads_t *srv)
{
    if (srv == NULL)
        return;
    for (size_t i = 0; i < srv->nnodes; i++) {
        dp_xnode_clear(&srv->nodes[i].x);
        free(srv->nodes[i].name);
        for (int t = 0; t < DP_XT_COUNT; t++)
            free(srv->nodes[i].st[t].nack_msg);
    }
    free(srv->nodes);
    free(srv);
}
