/* The container routing filter: Host -> catalogue -> policy -> upstream
 * address. Every outcome but success is a JSON local reply that names the
 * host's parts at most: internal ports and addresses never appear. */
#include "filters/containers/containers.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/containers/v1/routing.pb-c.h"
#include "dataplane/core/common.h"
#include "dataplane/http/stream.h"
#include "filters/containers/catalogue.h"
#include "filters/containers/hostname.h"
#include "filters/containers/policy.h"
#include "xds/translate_util.h"

typedef Dataplane__Containers__V1__ContainerRouting pb_cfg_t;

typedef struct svc_port {
    char *name;
    uint16_t port;
} svc_port_t;

typedef struct cfg {
    dp_hostpat_t pat;
    svc_port_t *defaults;
    size_t n_defaults;
    bool pass_through;
} cfg_t;

typedef struct state {
    dp_container_t *c; /* reference held while the request lives */
    dp_policy_pending_t pending;
} state_t;

/* ---- config ------------------------------------------------------------------ */

static void destroy_config(void *p)
{
    cfg_t *c = p;
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n_defaults; i++)
        free(c->defaults[i].name);
    free(c->defaults);
    free(c);
}

static void add_default(cfg_t *c, const char *name, uint32_t port)
{
    for (size_t i = 0; i < c->n_defaults; i++) {
        if (strcmp(c->defaults[i].name, name) == 0) {
            c->defaults[i].port = (uint16_t)port;
            return;
        }
    }
    c->defaults = dp_xrealloc(c->defaults, (c->n_defaults + 1) * sizeof(*c->defaults));
    c->defaults[c->n_defaults].name = dp_xstrdup(name);
    c->defaults[c->n_defaults++].port = (uint16_t)port;
}

static int create_config(const ProtobufCMessage *msg, void **out, char *errbuf, size_t errlen)
{
    const pb_cfg_t *m = (const pb_cfg_t *)msg;
    dp_xlate_t x;
    int rc;

    dp_xlate__init(&x, errbuf, errlen);
    if (m == NULL)
        return dp_xlate__fail(&x, "a typed_config (dataplane.containers.v1.ContainerRouting) is required");
    if (m->n_base_domains == 0)
        return dp_xlate__fail_at(&x, "base_domains", "at least one base domain is required");
    const char *err = NULL;
    unsigned flags = 0;
    if (m->port_pod_form)
        flags |= DP_HOSTPAT_PORT_POD;
    if (m->port_machine_form)
        flags |= DP_HOSTPAT_PORT_MACHINE;
    dp_hostpat_config_t pc = {(const char *const *)m->base_domains, m->n_base_domains, m->node, flags};
    cfg_t *c = dp_xcalloc(1, sizeof(*c));
    if (dp_hostpat_init(&c->pat, &pc, &err) != 0) {
        destroy_config(c);
        return dp_xlate__fail_at(&x, "base_domains", "%s", err ? err : "invalid");
    }
    if (m->catalogue == NULL) {
        destroy_config(c);
        return dp_xlate__fail_at(&x, "catalogue", "required (ads: {})");
    }
    size_t saved = dp_xlate__push(&x, "catalogue");
    rc = dp_xlate__config_source(&x, m->catalogue);
    if (rc == 0 && m->catalogue->config_source_specifier_case !=
                       ENVOY__CONFIG__CORE__V3__CONFIG_SOURCE__CONFIG_SOURCE_SPECIFIER_ADS)
        rc = dp_xlate__fail(&x, "only ads is supported: the catalogue arrives on the ADS stream");
    dp_xlate__pop(&x, saved);
    if (rc != 0) {
        destroy_config(c);
        return rc;
    }
    /* the platform's defaults, then the operator's */
    add_default(c, "terminal", 76);
    add_default(c, "display", 3998);
    add_default(c, "sqlite", 5);
    for (size_t i = 0; i < m->n_default_ports; i++) {
        const char *k = m->default_ports[i]->key ? m->default_ports[i]->key : "";
        uint32_t v = m->default_ports[i]->value;
        if (k[0] == '\0' || v == 0 || v > 65535) {
            destroy_config(c);
            saved = dp_xlate__push_key(&x, "default_ports", k);
            rc = dp_xlate__fail(&x, "a service name and a port 1-65535 are required");
            dp_xlate__pop(&x, saved);
            return rc;
        }
        add_default(c, k, v);
    }
    c->pass_through = dp_xlate__bool(m->pass_through, true);
    *out = c;
    return 0;
}

/* ---- request -------------------------------------------------------------------- */

static uint16_t service_port(const cfg_t *cfg, const dp_container_t *c, const char *svc, size_t len)
{
    uint16_t p = dp_container_port(c, svc, len);
    if (p)
        return p;
    if (len > 5 && memcmp(svc, "http-", 5) == 0) {
        uint32_t v = 0;
        size_t i = 5;
        if (svc[i] == '0')
            return 0;
        for (; i < len && i < 11 && svc[i] >= '0' && svc[i] <= '9'; i++)
            v = v * 10 + (uint32_t)(svc[i] - '0');
        return i == len && v >= 1 && v <= 65535 ? (uint16_t)v : 0;
    }
    for (size_t i = 0; i < cfg->n_defaults; i++)
        if (strlen(cfg->defaults[i].name) == len && memcmp(cfg->defaults[i].name, svc, len) == 0)
            return cfg->defaults[i].port;
    return 0;
}

static dp_filter_status_t reply(dp_stream_t *s, int status, const char *msg)
{
    s->local_reply_detail = "container_routing";
    dp_stream_local_reply(s, status, msg, NULL);
    return DP_FILTER_REPLIED;
}

static void on_policy_done(dp_stream_t *s, void *arg, int result, const char *challenge);

static dp_filter_status_t decide(dp_stream_t *s, int result, const char *challenge)
{
    if (result == DP_POLICY_ALLOW)
        return DP_FILTER_CONTINUE;
    if (result == DP_POLICY_UNAUTHENTICATED) {
        dp_headers_t h = {0};
        if (challenge)
            dp_headers_add(&h, dp_slice_cstr("www-authenticate"), dp_slice_cstr(challenge));
        s->local_reply_detail = "container_policy_unauthenticated";
        dp_stream_local_reply(s, 401, "authentication required", challenge ? &h : NULL);
        dp_headers_free(&h);
        return DP_FILTER_REPLIED;
    }
    s->local_reply_detail = "container_policy_denied";
    dp_stream_local_reply(s, 403, "access denied", NULL);
    return DP_FILTER_REPLIED;
}

static void on_policy_done(dp_stream_t *s, void *arg, int result, const char *challenge)
{
    (void)arg;
    if (decide(s, result, challenge) == DP_FILTER_CONTINUE)
        dp_stream_continue(s);
}

static dp_filter_status_t on_request_headers(dp_stream_t *s, const void *config, void *state)
{
    const cfg_t *cfg = config;
    state_t *st = state;
    dp_host_result_t r;
    const dp_container_t *c = NULL;
    dp_slice_t svc = {NULL, 0};
    uint32_t instance = 1;
    uint16_t port = 0;
    const dp_alias_ref_t *ar = NULL;

    switch (dp_host_parse(&cfg->pat, s->authority.base, s->authority.len, &r)) {
    case DP_HOST_NOT_OURS:
        if (r.host.len)
            ar = dp_catalogue_domain(r.host.base, r.host.len);
        if (ar == NULL)
            return cfg->pass_through ? DP_FILTER_CONTINUE : reply(s, 404, "unknown host");
        break;
    case DP_HOST_MALFORMED:
        return reply(s, 400, r.reason ? r.reason : "malformed container host");
    case DP_HOST_WRONG_NODE:
        return reply(s, 503, "container not found on this node");
    case DP_HOST_CONTAINER:
        c = dp_catalogue_container(r.container.base, r.container.len);
        if (c && memcmp(c->project, r.project.base, DP_CONTAINER_ID_LEN) != 0)
            c = NULL; /* another project's container: as unknown */
        svc = r.service;
        instance = r.instance;
        port = r.port;
        break;
    case DP_HOST_NAME:
        ar = dp_catalogue_alias(r.name.base, r.name.len);
        if (ar == NULL)
            return reply(s, 503, "container not found");
        break;
    case DP_HOST_PORT_POD:
        c = dp_catalogue_pod(r.slug.base, r.slug.len);
        port = r.port;
        break;
    case DP_HOST_PORT_MACHINE:
        c = dp_catalogue_machine(r.machine.base, r.machine.len);
        port = r.port;
        break;
    }
    if (ar) {
        c = ar->c;
        svc = dp_slice_cstr(ar->service);
        instance = ar->instance;
    }
    if (c == NULL)
        return reply(s, 503, "container not found");
    if (!c->running)
        return reply(s, 503, "container is stopped");
    if (port == 0 && svc.len)
        port = service_port(cfg, c, svc.base, svc.len);
    if (port == 0)
        return reply(s, 404, "unknown service");
    if (instance == 0 || instance > c->n_addrs)
        return reply(s, 503, "container instance not found");
    if (svc.len == 0) {
        /* the port forms name a port, not a service: "http-<port>" */
        size_t n;
        char *name = dp_arena_printf(&s->arena, &n, "http-%u", (unsigned)port);
        svc = dp_slice(name, n);
    } else {
        /* r lives on this stack frame; a pending policy check outlives it */
        svc = dp_slice(dp_arena_strndup(&s->arena, svc.base, svc.len), svc.len);
    }

    /* the record stays alive for the request, whatever the catalogue does */
    st->c = dp_container_ref(c);
    const dp_caddr_t *a = &c->addrs[instance - 1];
    memset(&s->original_dst, 0, sizeof(s->original_dst));
    if (a->sa.sa_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&s->original_dst;
        *in = a->in;
        in->sin_port = htons(port);
        s->original_dst_len = sizeof(*in);
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&s->original_dst;
        *in6 = a->in6;
        in6->sin6_port = htons(port);
        s->original_dst_len = sizeof(*in6);
    }

    const dp_policy_t *pol = st->c->policy;
    if (pol == NULL) {
        const dp_project_t *p = dp_catalogue_project(st->c->project, DP_CONTAINER_ID_LEN);
        pol = p ? p->policy : NULL;
    }
    const char *challenge = NULL;
    int res = dp_policy_check(pol, s, svc.base, svc.len, &st->pending, on_policy_done, NULL, &challenge);
    if (res == DP_POLICY_PENDING)
        return DP_FILTER_STOP;
    return decide(s, res, challenge);
}

static void on_destroy(dp_stream_t *s, const void *config, void *state)
{
    (void)s;
    (void)config;
    state_t *st = state;
    dp_policy_cancel(&st->pending);
    dp_container_unref(st->c);
    st->c = NULL;
}

const dp_http_filter_factory_t dp_filter_containers = {
    .name = DP_CONTAINERS_FILTER_NAME,
    .type_url = "type.googleapis.com/dataplane.containers.v1.ContainerRouting",
    .descriptor = &dataplane__containers__v1__container_routing__descriptor,
    .create_config = create_config,
    .destroy_config = destroy_config,
    .state_size = sizeof(state_t),
    .on_request_headers = on_request_headers,
    .on_destroy = on_destroy,
};
