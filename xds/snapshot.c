#include "xds/snapshot.h"

#include "dataplane/transport/tls.h"
#include "dataplane/upstream/health.h"
#include "dataplane/upstream/outlier.h"

#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"
#include "dataplane/http/access_log.h"
#include "dataplane/http/route.h"
#include "filters/filter.h"

dp_snapshot_t *dp_snapshot_new(void)
{
    dp_snapshot_t *s = dp_xcalloc(1, sizeof(*s));
    s->refcnt = 1;
    return s;
}

dp_snapshot_t *dp_snapshot_ref(dp_snapshot_t *s)
{
    atomic_fetch_add_explicit(&s->refcnt, 1, memory_order_relaxed);
    return s;
}

void dp_snapshot_unref(dp_snapshot_t *s)
{
    if (s == NULL || atomic_fetch_sub_explicit(&s->refcnt, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < s->n_listeners; i++)
        dp_listener_cfg_unref(s->listeners[i]);
    for (size_t i = 0; i < s->n_clusters; i++)
        dp_cluster_cfg_unref(s->clusters[i]);
    for (size_t i = 0; i < s->n_routes; i++)
        dp_route_config_unref(s->routes[i]);
    for (size_t i = 0; i < s->n_meta; i++) {
        free(s->meta[i].name);
        free(s->meta[i].version);
        free(s->meta[i].raw.data);
        free(s->meta[i].error_details);
        free(s->meta[i].error_version);
    }
    free(s->listeners);
    free(s->clusters);
    free(s->routes);
    free(s->meta);
    free(s->bootstrap.data);
    free(s);
}

static int cmp_cluster(const void *a, const void *b)
{
    return strcmp((*(dp_cluster_cfg_t *const *)a)->name, (*(dp_cluster_cfg_t *const *)b)->name);
}

static int cmp_route(const void *a, const void *b)
{
    return strcmp((*(dp_route_config_t *const *)a)->name, (*(dp_route_config_t *const *)b)->name);
}

void dp_snapshot_seal(dp_snapshot_t *s)
{
    if (s->n_clusters > 1) /* qsort(NULL, 0, ...) is undefined */
        qsort(s->clusters, s->n_clusters, sizeof(*s->clusters), cmp_cluster);
    if (s->n_routes > 1)
        qsort(s->routes, s->n_routes, sizeof(*s->routes), cmp_route);
}

const dp_cluster_cfg_t *dp_snapshot_find_cluster(const dp_snapshot_t *s, const char *name, size_t len)
{
    size_t lo = 0, hi = s->n_clusters;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const char *n = s->clusters[mid]->name;
        int c = strncmp(n, name, len);
        if (c == 0 && n[len] != '\0')
            c = 1;
        if (c == 0)
            return s->clusters[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

dp_route_config_t *dp_snapshot_find_route(const dp_snapshot_t *s, const char *name)
{
    size_t lo = 0, hi = s->n_routes;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(s->routes[mid]->name, name);
        if (c == 0)
            return s->routes[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* --- route configs --- */

static void free_mutations(dp_hdr_mutations_t *m)
{
    for (size_t i = 0; i < m->n_add; i++) {
        free(m->add[i].name);
        free(m->add[i].value);
    }
    for (size_t i = 0; i < m->n_remove; i++)
        free(m->remove[i]);
    free(m->add);
    free(m->remove);
}

static void free_overrides(dp_filter_overrides_t *o)
{
    for (size_t i = 0; i < o->n; i++) {
        free(o->v[i].name);
        if (o->v[i].factory && o->v[i].factory->destroy_route_config)
            o->v[i].factory->destroy_route_config(o->v[i].config);
    }
    free(o->v);
}

static void free_route(dp_route_t *r)
{
    free(r->name);
    free(r->path);
    for (size_t i = 0; i < r->n_headers; i++) {
        free(r->headers[i].name);
        free(r->headers[i].str.value);
    }
    free(r->headers);
    free(r->cluster);
    free(r->cluster_header);
    for (size_t i = 0; i < r->n_weighted; i++) {
        free(r->weighted[i].name);
        free_mutations(&r->weighted[i].req);
        free_mutations(&r->weighted[i].resp);
    }
    free(r->weighted);
    free(r->prefix_rewrite);
    free(r->host_rewrite_literal);
    for (size_t k = 0; k < r->n_upgrades; k++)
        free(r->upgrades[k].upgrade_type);
    free(r->upgrades);
    free(r->redirect_scheme);
    free(r->redirect_host);
    free(r->redirect_path);
    free(r->redirect_prefix);
    free(r->direct_body);
    free_mutations(&r->req);
    free_mutations(&r->resp);
    free_overrides(&r->per_filter);
}

dp_route_config_t *dp_route_config_ref(dp_route_config_t *r)
{
    atomic_fetch_add_explicit(&r->refcnt, 1, memory_order_relaxed);
    return r;
}

void dp_route_config_unref(dp_route_config_t *rc)
{
    if (rc == NULL || atomic_fetch_sub_explicit(&rc->refcnt, 1, memory_order_acq_rel) != 1)
        return;
    dp_route_config_free_index(rc);
    for (size_t i = 0; i < rc->n_vhosts; i++) {
        dp_vhost_t *v = &rc->vhosts[i];
        free(v->name);
        for (size_t k = 0; k < v->n_domains; k++)
            free(v->domains[k]);
        free(v->domains);
        for (size_t k = 0; k < v->n_routes; k++)
            free_route(&v->routes[k]);
        free(v->routes);
        free_mutations(&v->req);
        free_mutations(&v->resp);
        free_overrides(&v->per_filter);
    }
    free(rc->vhosts);
    free_mutations(&rc->req);
    free_mutations(&rc->resp);
    free_overrides(&rc->per_filter);
    free(rc->name);
    free(rc);
}

/* --- listeners --- */

static void free_access_logs(dp_access_log_t **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dp_access_log_free(v[i]);
    free(v);
}

dp_listener_cfg_t *dp_listener_cfg_ref(dp_listener_cfg_t *l)
{
    atomic_fetch_add_explicit(&l->refcnt, 1, memory_order_relaxed);
    return l;
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void free_hcm(dp_hcm_cfg_t *h)
{
    if (h == NULL)
        return;
    free(h->stat_prefix);
    dp_route_config_unref(h->route_config);
    free(h->rds_name);
    for (size_t i = 0; i < h->n_filters; i++) {
        if (h->filters[i].factory && h->filters[i].factory->destroy_config)
            h->filters[i].factory->destroy_config(h->filters[i].config);
        free(h->filters[i].name);
    }
    free(h->filters);
    free(h->server_name);
    free(h->default_host_for_http_10);
    for (size_t i = 0; i < h->n_upgrades; i++)
        free(h->upgrades[i].upgrade_type);
    free(h->upgrades);
    free_access_logs(h->access_logs, h->n_access_logs);
    free(h);
}

void dp_filter_chain_free(dp_filter_chain_t *fc)
{
    free(fc->name);
    free_strv(fc->server_names, fc->n_server_names);
    free(fc->transport_protocol);
    free_strv(fc->application_protocols, fc->n_application_protocols);
    dp_tls_ctx_unref(fc->tls);
    free_strv(fc->sds_names, fc->n_sds_names);
    free_hcm(fc->hcm);
}

void dp_listener_cfg_unref(dp_listener_cfg_t *l)
{
    if (l == NULL || atomic_fetch_sub_explicit(&l->refcnt, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < l->n_chains; i++)
        dp_filter_chain_free(&l->chains[i]);
    free(l->chains);
    if (l->default_chain) {
        dp_filter_chain_free(l->default_chain);
        free(l->default_chain);
    }
    free_access_logs(l->access_logs, l->n_access_logs);
    free(l->name);
    free(l);
}

/* --- clusters --- */

dp_cluster_cfg_t *dp_cluster_cfg_ref(dp_cluster_cfg_t *c)
{
    atomic_fetch_add_explicit(&c->refcnt, 1, memory_order_relaxed);
    return c;
}

void dp_cluster_cfg_unref(dp_cluster_cfg_t *c)
{
    if (c == NULL || atomic_fetch_sub_explicit(&c->refcnt, 1, memory_order_acq_rel) != 1)
        return;
    free(c->name);
    free(c->endpoints);
    free(c->eds_service_name);
    for (size_t i = 0; i < c->n_localities; i++) {
        free(c->localities[i].region);
        free(c->localities[i].zone);
        free(c->localities[i].sub_zone);
    }
    free(c->localities);
    dp_hc_cfg_free(c->hc);
    dp_outlier_cfg_free(c->outlier);
    dp_tls_ctx_unref(c->tls);
    free(c->tls_sni);
    free_strv(c->sds_names, c->n_sds_names);
    free(c);
}
