/* Health discovery service of the control stub: see hds_server.h. */
#include "control-stub/hds_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control-stub/stub_call.h"
#include "control-stub/stub_pb.h"
#include "control-stub/stub_util.h"

#define HDS_MSG_TYPE "envoy.service.health.v3.HealthCheckRequestOrEndpointHealthResponse"
#define HDS_SPEC_TYPE "envoy.service.health.v3.HealthCheckSpecifier"

typedef struct hds_ep {
    char *cluster;
    char *address; /* IP:PORT, [IPv6]:PORT */
    char *status;  /* HEALTHY, UNHEALTHY, ... */
    char since[32];
} hds_ep_t;

typedef struct hds_node {
    char *name;
    int present;   /* in the current fleet */
    int stale;     /* spec not built from the current fleet yet */
    size_t fidx;   /* index in the current fleet */
    uint8_t *spec; /* its HealthCheckSpecifier, encoded; NULL: none */
    size_t spec_len, nclusters;
    unsigned gen; /* bumped when spec changes */
    unsigned streams;
    unsigned long reports;
    char last_at[32];
    hds_ep_t *eps; /* the last report */
    size_t neps;
} hds_node_t;

typedef struct hds_stream hds_stream_t;
struct hds_stream {
    dp_stub_call_t super; /* first: the plumbing's callbacks cast back */
    dp_stubhds_t *h;
    char *node; /* NULL until its HealthCheckRequest */
    unsigned sent_gen; /* generation of the specifier sent, 0 none */
    hds_stream_t *prev, *next;
};

struct dp_stubhds {
    const dp_fleet_t *fleet; /* current, not owned */
    hds_node_t *nodes;
    size_t nnodes;
    hds_stream_t *streams;
};

static hds_node_t *hds_node_get(dp_stubhds_t *h, const char *name)
{
    for (size_t i = 0; i < h->nnodes; i++)
        if (strcmp(h->nodes[i].name, name) == 0)
            return &h->nodes[i];
    h->nodes = dp_stub_xrealloc(h->nodes, (h->nnodes + 1) * sizeof *h->nodes);
    hds_node_t *n = &h->nodes[h->nnodes++];
    memset(n, 0, sizeof *n);
    n->name = dp_stub_xstrdup(name);
    return n;
}

/* ---- the specifier ---- */

static json_t *health_check_json(const dp_fleet_hc_t *hc)
{
    char iv[32], to[32];
    dp_stub_ms_duration(hc->interval_ms, iv, sizeof iv);
    dp_stub_ms_duration(hc->timeout_ms, to, sizeof to);
    json_t *j = json_pack("{s:s,s:s,s:s,s:i,s:i}", "timeout", to, "interval", iv, "no_traffic_interval", iv,
                          "unhealthy_threshold", (int)hc->unhealthy_threshold, "healthy_threshold",
                          (int)hc->healthy_threshold);
    if (hc->type == DP_FLEET_HC_HTTP) {
        json_t *http = json_pack("{s:s}", "path", hc->path ? hc->path : "/");
        if (hc->host != NULL)
            json_object_set_new(http, "host", json_string(hc->host));
        json_object_set_new(j, "http_health_check", http);
    } else {
        json_object_set_new(j, "tcp_health_check", json_object()); /* connect only */
    }
    return j;
}

json_t *dp_stubhds_spec_json(const dp_fleet_t *f, size_t node)
{
    json_t *clusters = json_array();
    for (size_t i = 0; i < f->ncontainers; i++) {
        const dp_fleet_container_t *ct = &f->containers[i];
        if (ct->node != node || !ct->running || ct->naddresses == 0)
            continue;
        for (size_t k = 0; k < ct->nservices; k++) {
            const dp_fleet_service_t *sv = &ct->services[k];
            if (sv->hc.type == DP_FLEET_HC_NONE)
                continue;
            json_t *eps = json_array();
            for (size_t a = 0; a < ct->naddresses; a++)
                json_array_append_new(eps, json_pack("{s:{s:{s:s,s:i}}}", "address", "socket_address", "address",
                                                     ct->addresses[a], "port_value", (int)sv->port));
            char name[128];
            snprintf(name, sizeof name, "%s.%s", sv->name, ct->id);
            json_array_append_new(clusters, json_pack("{s:s,s:[o],s:[{s:o}]}", "cluster_name", name,
                                                      "health_checks", health_check_json(&sv->hc),
                                                      "locality_endpoints", "endpoints", eps));
        }
    }
    char iv[32];
    return json_pack("{s:o,s:s}", "cluster_health_checks", clusters, "interval",
                     dp_stub_ms_duration(f->hds_report_ms, iv, sizeof iv));
}

/* ---- streams ---- */

/* (Re)builds node n's specifier from the current fleet: only for nodes
 * with an HDS stream (a fleet of 100,000 containers makes a specifier of
 * 300,000 clusters, seconds of work no node without HDS should cost). */
static void spec_build(dp_stubhds_t *h, hds_node_t *n)
{
    n->stale = 0;
    json_t *j = dp_stubhds_spec_json(h->fleet, n->fidx);
    uint8_t *buf = NULL;
    size_t len = 0;
    char err[512];
    if (dp_stub_pb_encode(HDS_SPEC_TYPE, j, &buf, &len, err, sizeof err) != 0) {
        dp_stub_log("node %s: no HDS: cannot encode its HealthCheckSpecifier: %s", n->name, err);
        free(n->spec);
        n->spec = NULL;
    } else if (n->spec == NULL || len != n->spec_len || memcmp(buf, n->spec, len) != 0) {
        free(n->spec);
        n->spec = buf;
        n->spec_len = len;
        n->nclusters = json_array_size(json_object_get(j, "cluster_health_checks"));
        n->gen++;
        buf = NULL;
    }
    free(buf);
    json_decref(j);
}

static void hds_pump(hds_stream_t *s)
{
    if (s->node == NULL || !dp_stub_call_can_send(&s->super))
        return;
    hds_node_t *n = hds_node_get(s->h, s->node);
    if (n->present && n->stale)
        spec_build(s->h, n);
    if (!n->present || n->spec == NULL || s->sent_gen == n->gen)
        return;
    uint8_t *buf = dp_stub_xmalloc(n->spec_len ? n->spec_len : 1);
    memcpy(buf, n->spec, n->spec_len);
    if (dp_stub_call_send(&s->super, buf, n->spec_len)) {
        s->sent_gen = n->gen;
        dp_stub_log("HDS stream %u (node %s): sent the specifier (%zu clusters)", s->super.id, s->node,
                    n->nclusters);
    }
}

static void hds_endpoint_note(hds_ep_t **eps, size_t *n, const char *cluster, const json_t *eh)
{
    const json_t *sa = json_object_get(json_object_get(json_object_get(eh, "endpoint"), "address"),
                                       "socket_address");
    const char *ip = json_string_value(json_object_get(sa, "address"));
    const char *st = json_string_value(json_object_get(eh, "health_status"));
    char addr[96];
    snprintf(addr, sizeof addr, strchr(ip ? ip : "", ':') ? "[%s]:%llu" : "%s:%llu", ip ? ip : "",
             (unsigned long long)dp_stub_json_u64(json_object_get(sa, "port_value")));
    *eps = dp_stub_xrealloc(*eps, (*n + 1) * sizeof **eps);
    hds_ep_t *e = &(*eps)[(*n)++];
    memset(e, 0, sizeof *e);
    e->cluster = dp_stub_xstrdup(cluster);
    e->address = dp_stub_xstrdup(addr);
    e->status = dp_stub_xstrdup(st ? st : "UNKNOWN"); /* proto3 omits the default, UNKNOWN */
}

static void hds_eps_free(hds_ep_t *eps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(eps[i].cluster);
        free(eps[i].address);
        free(eps[i].status);
    }
    free(eps);
}

void dp_stubhds_note_response(dp_stubhds_t *h, const char *node, const json_t *resp)
{
    hds_node_t *n = hds_node_get(h, node);
    hds_ep_t *eps = NULL;
    size_t neps = 0, i, j, k;
    json_t *ceh, *leh, *eh;
    char now[32];
    dp_stub_now_iso(now, sizeof now);
    json_array_foreach(json_object_get(resp, "cluster_endpoints_health"), i, ceh) {
        const char *cluster = json_string_value(json_object_get(ceh, "cluster_name"));
        json_array_foreach(json_object_get(ceh, "locality_endpoints_health"), j, leh) {
            json_array_foreach(json_object_get(leh, "endpoints_health"), k, eh) {
                hds_endpoint_note(&eps, &neps, cluster ? cluster : "", eh);
            }
        }
    }
    /* the deprecated flat list names no cluster */
    json_array_foreach(json_object_get(resp, "endpoints_health"), i, eh) {
        hds_endpoint_note(&eps, &neps, "", eh);
    }
    for (i = 0; i < neps; i++) {
        hds_ep_t *e = &eps[i];
        int healthy = strcmp(e->status, "HEALTHY") == 0;
        snprintf(e->since, sizeof e->since, "%s", now);
        for (j = 0; j < n->neps; j++) {
            const hds_ep_t *p = &n->eps[j];
            if (strcmp(p->cluster, e->cluster) == 0 && strcmp(p->address, e->address) == 0) {
                if ((strcmp(p->status, "HEALTHY") == 0) == healthy)
                    snprintf(e->since, sizeof e->since, "%s", p->since); /* still (un)healthy */
                else
                    dp_stub_log("HDS node %s: %s %s is now %s (was %s)", node, e->cluster, e->address, e->status,
                                p->status);
                break;
            }
        }
    }
    hds_eps_free(n->eps, n->neps);
    n->eps = eps;
    n->neps = neps;
    n->reports++;
    snprintf(n->last_at, sizeof n->last_at, "%s", now);
}

static void hds_on_message(dp_stub_call_t *c, const uint8_t *buf, size_t len)
{
    hds_stream_t *s = (hds_stream_t *)c;
    char err[256];
    json_t *m = dp_stub_pb_decode(HDS_MSG_TYPE, buf, len, err, sizeof err);
    if (m == NULL) {
        dp_stub_log("HDS stream %u (node %s) from %s: %s: ending the stream", c->id, s->node ? s->node : "-",
                    c->peer, err);
        dp_stub_call_finish(c, GRPC_STATUS_INVALID_ARGUMENT,
                            "cannot decode HealthCheckRequestOrEndpointHealthResponse");
        return;
    }
    const json_t *req = json_object_get(m, "health_check_request");
    const json_t *resp = json_object_get(m, "endpoint_health_response");
    if (req != NULL && s->node == NULL) {
        const char *id = json_string_value(json_object_get(json_object_get(req, "node"), "id"));
        s->node = dp_stub_xstrdup(id ? id : "");
        hds_node_t *n = hds_node_get(s->h, s->node);
        n->streams++;
        dp_stub_log("HDS stream %u from %s: node '%s'%s", c->id, c->peer, s->node,
                    n->present ? "" : " is not in the fleet: asking it nothing");
        hds_pump(s);
    } else if (resp != NULL && s->node != NULL) {
        dp_stubhds_note_response(s->h, s->node, resp);
    } else if (resp != NULL) {
        dp_stub_log("HDS stream %u from %s: a health report before any HealthCheckRequest: ignored", c->id,
                    c->peer);
    }
    json_decref(m);
}

static void hds_on_sent(dp_stub_call_t *c)
{
    hds_pump((hds_stream_t *)c);
}

static void hds_stream_free(dp_stub_call_t *c)
{
    hds_stream_t *s = (hds_stream_t *)c;
    dp_stubhds_t *h = s->h;
    if (s->prev)
        s->prev->next = s->next;
    else
        h->streams = s->next;
    if (s->next)
        s->next->prev = s->prev;
    dp_stub_log("HDS stream %u (node %s): closed%s", c->id, s->node ? s->node : "-",
                c->cancelled ? " (cancelled)" : "");
    if (s->node != NULL)
        hds_node_get(h, s->node)->streams--;
    dp_stub_call_release(c);
    free(s->node);
    free(s);
}

static const dp_stub_call_ops_t hds_ops = {hds_on_message, hds_on_sent, hds_stream_free};

void dp_stubhds_accept(dp_stubhds_t *h, grpc_call *call, unsigned id, int *live)
{
    hds_stream_t *s = dp_stub_xcalloc(1, sizeof *s);
    s->h = h;
    s->next = h->streams;
    if (h->streams)
        h->streams->prev = s;
    h->streams = s;
    dp_stub_call_start(&s->super, &hds_ops, call, id, live);
}

/* ---- state ---- */

dp_stubhds_t *dp_stubhds_create(void)
{
    return dp_stub_xcalloc(1, sizeof(dp_stubhds_t));
}

void dp_stubhds_set_fleet(dp_stubhds_t *h, const dp_fleet_t *f)
{
    h->fleet = f;
    for (size_t i = 0; i < h->nnodes; i++)
        h->nodes[i].present = 0;
    for (size_t i = 0; i < f->nnodes; i++) {
        hds_node_t *n = hds_node_get(h, f->nodes[i].name);
        n->present = n->stale = 1;
        n->fidx = i;
    }
    for (hds_stream_t *s = h->streams; s != NULL; s = s->next)
        hds_pump(s); /* builds the specifiers of the nodes streaming */
}

void dp_stubhds_status(dp_stubhds_t *h, json_t *nodes)
{
    for (size_t i = 0; i < h->nnodes; i++) {
        hds_node_t *n = &h->nodes[i];
        if (n->streams == 0 && n->reports == 0)
            continue; /* never spoke HDS */
        if (n->present && n->stale)
            spec_build(h, n); /* for its cluster count */
        json_t *bad = json_array();
        size_t healthy = 0;
        for (size_t k = 0; k < n->neps; k++) {
            const hds_ep_t *e = &n->eps[k];
            if (strcmp(e->status, "HEALTHY") == 0) {
                healthy++;
                continue;
            }
            json_array_append_new(bad, json_pack("{s:s,s:s,s:s,s:s}", "cluster", e->cluster, "address", e->address,
                                                 "status", e->status, "since", e->since));
        }
        json_t *o = dp_stub_status_node(nodes, n->name);
        json_object_set_new(o, "unhealthy", bad);
        json_t *health = json_pack("{s:i,s:I,s:I,s:I,s:I}", "streams", (int)n->streams, "reports",
                                   (json_int_t)n->reports, "clusters", (json_int_t)(n->present ? n->nclusters : 0),
                                   "endpoints", (json_int_t)n->neps, "healthy", (json_int_t)healthy);
        json_object_set_new(health, "last_report", n->last_at[0] ? json_string(n->last_at) : json_null());
        json_object_set_new(o, "health", health);
    }
}

void dp_stubhds_destroy(dp_stubhds_t *h)
{
    if (h == NULL)
        return;
    for (size_t i = 0; i < h->nnodes; i++) {
        free(h->nodes[i].name);
        free(h->nodes[i].spec);
        hds_eps_free(h->nodes[i].eps, h->nodes[i].neps);
    }
    free(h->nodes);
    free(h);
}
