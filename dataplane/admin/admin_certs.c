/* GET /certs: the certificates of every TLS context in force (listener
 * filter chains, then clusters' upstream TLS), as Envoy's admin.v3.
 * Certificates: per context the trusted CAs (ca_cert) and the leaf of each
 * configured certificate (cert_chain), with serial, SANs and validity. */
#include <stdio.h>
#include <stdlib.h>

#include "dataplane/admin/admin_int.h"
#include "dataplane/core/common.h"
#include "dataplane/transport/tls.h"
#include "dataplane/upstream/cluster-t.h"
#include "xds/snapshot.h"

typedef struct certs_walk {
    dp_jw_t *w;
    bool ca; /* this pass writes the CAs, else the leaves */
    uint64_t now_ms;
} certs_walk_t;

static void write_detail(void *arg, const dp_tls_cert_info_t *ci)
{
    certs_walk_t *cw = arg;
    if (ci->ca != cw->ca)
        return;
    dp_jw_t *w = cw->w;
    char t[32];
    dp_jw_obj(w);
    dp_jw_key(w, "serial_number");
    dp_jw_str(w, ci->serial);
    dp_jw_key(w, "subject_alt_names");
    dp_jw_arr(w);
    for (size_t i = 0; i < ci->n_sans; i++) {
        dp_jw_obj(w);
        dp_jw_key(w, ci->sans[i].kind);
        dp_jw_str(w, ci->sans[i].value);
        dp_jw_obj_end(w);
    }
    dp_jw_arr_end(w);
    /* whole days left, 0 once expired (Envoy's); 64-bit as a string */
    int64_t left = ci->not_after - (int64_t)(cw->now_ms / 1000);
    snprintf(t, sizeof(t), "%lld", (long long)(left > 0 ? left / 86400 : 0));
    dp_jw_key(w, "days_until_expiration");
    dp_jw_str(w, t);
    dp_admin__rfc3339((uint64_t)(ci->not_before > 0 ? ci->not_before : 0) * 1000, t, sizeof(t));
    dp_jw_key(w, "valid_from");
    dp_jw_str(w, t);
    dp_admin__rfc3339((uint64_t)(ci->not_after > 0 ? ci->not_after : 0) * 1000, t, sizeof(t));
    dp_jw_key(w, "expiration_time");
    dp_jw_str(w, t);
    dp_jw_obj_end(w);
}

static void write_ctx(dp_jw_t *w, const dp_tls_ctx_t *c)
{
    certs_walk_t cw = {w, true, dp_wall_ms()};
    dp_jw_obj(w);
    dp_jw_key(w, "ca_cert");
    dp_jw_arr(w);
    dp_tls_ctx_certs(c, write_detail, &cw);
    dp_jw_arr_end(w);
    cw.ca = false;
    dp_jw_key(w, "cert_chain");
    dp_jw_arr(w);
    dp_tls_ctx_certs(c, write_detail, &cw);
    dp_jw_arr_end(w);
    dp_jw_obj_end(w);
}

/* Each context once: chains of one listener may share one. */
static bool seen(const dp_tls_ctx_t **v, size_t *n, size_t cap, const dp_tls_ctx_t *c)
{
    for (size_t i = 0; i < *n; i++)
        if (v[i] == c)
            return true;
    if (*n < cap)
        v[(*n)++] = c;
    return false;
}

void dp_admin__certs(const char *q, size_t ql, dp_admin_resp_t *r)
{
    (void)q;
    (void)ql;
    const dp_snapshot_t *snap = dp_admin__state()->snap;
    size_t cap = 0;
    for (size_t i = 0; snap && i < snap->n_listeners; i++)
        cap += dp_listener_n_chains(snap->listeners[i]);
    cap += snap ? snap->n_clusters : 0;
    const dp_tls_ctx_t **done = dp_xcalloc(cap ? cap : 1, sizeof(*done));
    size_t n = 0;
    dp_jw_t w;
    dp_jw_init(&w, &r->body, true);
    r->ctype = DP_ADMIN_CT_JSON;
    dp_jw_obj(&w);
    dp_jw_key(&w, "certificates");
    dp_jw_arr(&w);
    for (size_t i = 0; snap && i < snap->n_listeners; i++) {
        const dp_listener_cfg_t *l = snap->listeners[i];
        for (size_t k = 0; k < dp_listener_n_chains(l); k++) {
            const dp_tls_ctx_t *c = dp_listener_chain(l, k)->tls;
            if (c && !seen(done, &n, cap, c))
                write_ctx(&w, c);
        }
    }
    for (size_t i = 0; snap && i < snap->n_clusters; i++) {
        const dp_tls_ctx_t *c = snap->clusters[i]->tls;
        if (c && !seen(done, &n, cap, c))
            write_ctx(&w, c);
    }
    dp_jw_arr_end(&w);
    dp_jw_obj_end(&w);
    dp_admin__buf_puts(&r->body, "\n");
    free(done);
}
