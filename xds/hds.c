/* HDS messages (hds.h). */
#include "xds/hds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"
#include "envoy/service/health/v3/hds.pb-c.h"
#include "xds/hds_hc.h"
#include "xds/translate_util.h"

typedef Envoy__Service__Health__V3__HealthCheckRequestOrEndpointHealthResponse pb_msg_t;
typedef Envoy__Service__Health__V3__HealthCheckSpecifier pb_spec_t;
typedef Envoy__Service__Health__V3__ClusterHealthCheck pb_chc_t;

static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = dp_xmalloc(*len ? *len : 1);
    protobuf_c_message_pack(m, buf);
    return buf;
}

uint8_t *dp_hds_request(const dp_bootstrap_t *boot, size_t *len)
{
    Envoy__Config__Core__V3__Node node;
    dp_bootstrap_node(boot, NULL, 0, &node);
    Envoy__Service__Health__V3__Capability__Protocol protos[2] = {
        ENVOY__SERVICE__HEALTH__V3__CAPABILITY__PROTOCOL__HTTP, ENVOY__SERVICE__HEALTH__V3__CAPABILITY__PROTOCOL__TCP};
    Envoy__Service__Health__V3__Capability cap = ENVOY__SERVICE__HEALTH__V3__CAPABILITY__INIT;
    cap.health_check_protocols = protos;
    cap.n_health_check_protocols = 2;
    Envoy__Service__Health__V3__HealthCheckRequest req = ENVOY__SERVICE__HEALTH__V3__HEALTH_CHECK_REQUEST__INIT;
    req.node = &node;
    req.capability = &cap;
    pb_msg_t m = ENVOY__SERVICE__HEALTH__V3__HEALTH_CHECK_REQUEST_OR_ENDPOINT_HEALTH_RESPONSE__INIT;
    m.request_type_case =
        ENVOY__SERVICE__HEALTH__V3__HEALTH_CHECK_REQUEST_OR_ENDPOINT_HEALTH_RESPONSE__REQUEST_TYPE_HEALTH_CHECK_REQUEST;
    m.health_check_request = &req;
    return pack(&m.base, len);
}

static void cluster_of(const pb_chc_t *p, dp_hds_cluster_t *c, char *errbuf, size_t errlen)
{
    c->name = dp_xstrdup(p->cluster_name ? p->cluster_name : "");
    if (p->n_health_checks > 0) {
        dp_xlate_t x;
        char e[512];
        dp_xlate__init(&x, e, sizeof(e));
        size_t saved = dp_xlate__push_idx(&x, "health_checks", 0);
        if (dp_xlate__health_check(&x, p->health_checks[0], &c->hc) != 0)
            snprintf(errbuf, errlen, "cluster '%s': %s", c->name, e);
        dp_xlate__pop(&x, saved);
        if (p->n_health_checks > 1 && c->hc)
            snprintf(errbuf, errlen, "cluster '%s': only the first of %zu health checks is used", c->name,
                     p->n_health_checks);
    }
    size_t total = 0;
    for (size_t i = 0; i < p->n_locality_endpoints; i++)
        total += p->locality_endpoints[i]->n_endpoints;
    c->localities = dp_xcalloc(p->n_locality_endpoints ? p->n_locality_endpoints : 1, sizeof(*c->localities));
    c->endpoints = dp_xcalloc(total ? total : 1, sizeof(*c->endpoints));
    for (size_t i = 0; i < p->n_locality_endpoints; i++) {
        const Envoy__Service__Health__V3__LocalityEndpoints *le = p->locality_endpoints[i];
        const Envoy__Config__Core__V3__Locality *l = le->locality;
        c->localities[i].region = dp_xstrdup(l && l->region ? l->region : "");
        c->localities[i].zone = dp_xstrdup(l && l->zone ? l->zone : "");
        c->localities[i].sub_zone = dp_xstrdup(l && l->sub_zone ? l->sub_zone : "");
        c->n_localities = i + 1;
        for (size_t j = 0; j < le->n_endpoints; j++) {
            dp_hds_endpoint_t *ep = &c->endpoints[c->n_endpoints];
            dp_xlate_t x;
            char e[256];
            dp_xlate__init(&x, e, sizeof(e));
            if (le->endpoints[j]->address == NULL ||
                dp_xlate__address(&x, le->endpoints[j]->address, &ep->addr, &ep->addrlen, ep->addr_str,
                                  sizeof(ep->addr_str), NULL) != 0) {
                snprintf(errbuf, errlen, "cluster '%s': an endpoint is not an IP socket address", c->name);
                continue;
            }
            ep->locality = (uint32_t)i;
            atomic_init(&ep->healthy, 0);
            c->n_endpoints++;
        }
    }
}

dp_hds_set_t *dp_hds_specifier(const uint8_t *p, size_t n, char *errbuf, size_t errlen)
{
    if (errlen)
        errbuf[0] = '\0';
    pb_spec_t *m = envoy__service__health__v3__health_check_specifier__unpack(NULL, n, p);
    if (m == NULL) {
        snprintf(errbuf, errlen, "HealthCheckSpecifier does not decode");
        return NULL;
    }
    dp_hds_set_t *s = dp_hds_set_new();
    s->interval_ms = 1000; /* Envoy's default when unset */
    if (m->interval) {
        uint64_t ms = (uint64_t)m->interval->seconds * 1000 + (uint64_t)m->interval->nanos / 1000000;
        if (m->interval->seconds >= 0 && ms > 0)
            s->interval_ms = ms;
    }
    s->clusters = dp_xcalloc(m->n_cluster_health_checks ? m->n_cluster_health_checks : 1, sizeof(*s->clusters));
    for (size_t i = 0; i < m->n_cluster_health_checks; i++) {
        cluster_of(m->cluster_health_checks[i], &s->clusters[i], errbuf, errlen);
        s->n_clusters = i + 1;
    }
    protobuf_c_message_free_unpacked(&m->base, NULL);
    return s;
}

uint8_t *dp_hds_report(const dp_hds_set_t *s, size_t *len)
{
    Envoy__Service__Health__V3__EndpointHealthResponse r = ENVOY__SERVICE__HEALTH__V3__ENDPOINT_HEALTH_RESPONSE__INIT;
    size_t nc = s ? s->n_clusters : 0, neps = 0, nlocs = 0;
    for (size_t i = 0; i < nc; i++) {
        neps += s->clusters[i].n_endpoints;
        nlocs += s->clusters[i].n_localities;
    }
    /* one allocation per kind; pointers into them */
    Envoy__Service__Health__V3__ClusterEndpointsHealth *ch = dp_xcalloc(nc + 1, sizeof(*ch));
    Envoy__Service__Health__V3__ClusterEndpointsHealth **chp = dp_xcalloc(nc + 1, sizeof(*chp));
    Envoy__Service__Health__V3__LocalityEndpointsHealth *lh = dp_xcalloc(nlocs + 1, sizeof(*lh));
    Envoy__Service__Health__V3__LocalityEndpointsHealth **lhp = dp_xcalloc(nlocs + 1, sizeof(*lhp));
    Envoy__Config__Core__V3__Locality *loc = dp_xcalloc(nlocs + 1, sizeof(*loc));
    Envoy__Service__Health__V3__EndpointHealth *eh = dp_xcalloc(neps + 1, sizeof(*eh));
    Envoy__Service__Health__V3__EndpointHealth **ehp = dp_xcalloc(neps + 1, sizeof(*ehp));
    Envoy__Config__Endpoint__V3__Endpoint *ep = dp_xcalloc(neps + 1, sizeof(*ep));
    Envoy__Config__Core__V3__Address *ad = dp_xcalloc(neps + 1, sizeof(*ad));
    Envoy__Config__Core__V3__SocketAddress *sa = dp_xcalloc(neps + 1, sizeof(*sa));
    char (*ips)[64] = dp_xcalloc(neps + 1, sizeof(*ips));
    size_t li = 0, ei = 0;
    for (size_t i = 0; i < nc; i++) {
        const dp_hds_cluster_t *c = &s->clusters[i];
        envoy__service__health__v3__cluster_endpoints_health__init(&ch[i]);
        ch[i].cluster_name = c->name;
        ch[i].locality_endpoints_health = &lhp[li];
        for (size_t l = 0; l < c->n_localities; l++, li++) {
            envoy__service__health__v3__locality_endpoints_health__init(&lh[li]);
            envoy__config__core__v3__locality__init(&loc[li]);
            loc[li].region = c->localities[l].region;
            loc[li].zone = c->localities[l].zone;
            loc[li].sub_zone = c->localities[l].sub_zone;
            lh[li].locality = &loc[li];
            lh[li].endpoints_health = &ehp[ei];
            lhp[li] = &lh[li];
            ch[i].n_locality_endpoints_health++;
            for (size_t j = 0; j < c->n_endpoints; j++) {
                const dp_hds_endpoint_t *e = &c->endpoints[j];
                if (e->locality != l)
                    continue;
                uint16_t port = 0;
                envoy__config__core__v3__socket_address__init(&sa[ei]);
                dp_sockaddr_split((const struct sockaddr *)&e->addr, ips[ei], sizeof(ips[ei]), &port);
                sa[ei].address = ips[ei];
                sa[ei].port_specifier_case = ENVOY__CONFIG__CORE__V3__SOCKET_ADDRESS__PORT_SPECIFIER_PORT_VALUE;
                sa[ei].port_value = port;
                envoy__config__core__v3__address__init(&ad[ei]);
                ad[ei].address_case = ENVOY__CONFIG__CORE__V3__ADDRESS__ADDRESS_SOCKET_ADDRESS;
                ad[ei].socket_address = &sa[ei];
                envoy__config__endpoint__v3__endpoint__init(&ep[ei]);
                ep[ei].address = &ad[ei];
                envoy__service__health__v3__endpoint_health__init(&eh[ei]);
                eh[ei].endpoint = &ep[ei];
                eh[ei].health_status = atomic_load(&((dp_hds_endpoint_t *)e)->healthy)
                                           ? ENVOY__CONFIG__CORE__V3__HEALTH_STATUS__HEALTHY
                                           : ENVOY__CONFIG__CORE__V3__HEALTH_STATUS__UNHEALTHY;
                ehp[ei] = &eh[ei];
                lh[li].n_endpoints_health++;
                ei++;
            }
        }
        chp[i] = &ch[i];
    }
    r.cluster_endpoints_health = chp;
    r.n_cluster_endpoints_health = nc;
    pb_msg_t m = ENVOY__SERVICE__HEALTH__V3__HEALTH_CHECK_REQUEST_OR_ENDPOINT_HEALTH_RESPONSE__INIT;
    m.request_type_case =
        ENVOY__SERVICE__HEALTH__V3__HEALTH_CHECK_REQUEST_OR_ENDPOINT_HEALTH_RESPONSE__REQUEST_TYPE_ENDPOINT_HEALTH_RESPONSE;
    m.endpoint_health_response = &r;
    uint8_t *out = pack(&m.base, len);
    free(ch);
    free(chp);
    free(lh);
    free(lhp);
    free(loc);
    free(eh);
    free(ehp);
    free(ep);
    free(ad);
    free(sa);
    free(ips);
    return out;
}
