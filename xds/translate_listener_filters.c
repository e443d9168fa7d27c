/* Listener.listener_filters -> dp_listener_cfg_t:
 *   envoy.filters.listener.tls_inspector   accepted: the listener always
 *       looks at the first byte when a chain terminates TLS (accept.c),
 *       as Envoy does when it injects the inspector;
 *   envoy.filters.listener.original_src    transparent upstreams;
 *   dataplane.filters.listener.original_src_fallback   what original_src
 *       does where transparent sockets cannot be made (docs/transparent.md).
 * Filters are resolved by typed_config type, else by name, as Envoy does. */
#include <stdio.h>
#include <string.h>

#include "dataplane/core/common.h"
#include "dataplane/transparent/transparent.h"
#include "dataplane/transparent/v1/fallback.pb-c.h"
#include "envoy/config/listener/v3/listener.pb-c.h"
#include "envoy/config/listener/v3/listener_components.pb-c.h"
#include "envoy/extensions/filters/listener/original_src/v3/original_src.pb-c.h"
#include "envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.pb-c.h"
#include "filters/filter.h"
#include "xds/translate_listener_filters.h"

typedef Envoy__Extensions__Filters__Listener__OriginalSrc__V3__OriginalSrc pb_origsrc_t;
typedef Dataplane__Transparent__V1__OriginalSrcFallback pb_fallback_t;

enum { LF_TLS_INSPECTOR, LF_ORIGINAL_SRC, LF_FALLBACK, LF_N };

static const struct {
    const char *name, *type;
    const ProtobufCMessageDescriptor *d;
} lf[LF_N] = {
    [LF_TLS_INSPECTOR] = {"envoy.filters.listener.tls_inspector",
                          "envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector",
                          &envoy__extensions__filters__listener__tls_inspector__v3__tls_inspector__descriptor},
    [LF_ORIGINAL_SRC] = {"envoy.filters.listener.original_src",
                         "envoy.extensions.filters.listener.original_src.v3.OriginalSrc",
                         &envoy__extensions__filters__listener__original_src__v3__original_src__descriptor},
    [LF_FALLBACK] = {"dataplane.filters.listener.original_src_fallback",
                     "dataplane.transparent.v1.OriginalSrcFallback",
                     &dataplane__transparent__v1__original_src_fallback__descriptor},
};

static int lookup(dp_xlate_t *x, const Envoy__Config__Listener__V3__ListenerFilter *f, int *kind)
{
    const char *name = f->name ? f->name : "";
    bool typed = f->config_type_case == ENVOY__CONFIG__LISTENER__V3__LISTENER_FILTER__CONFIG_TYPE_TYPED_CONFIG &&
                 f->typed_config != NULL;
    const char *t = typed ? dp_xlate__type_name(f->typed_config->type_url) : NULL;

    for (int k = 0; k < LF_N; k++)
        if (typed ? strcmp(t, lf[k].type) == 0 : strcmp(name, lf[k].name) == 0) {
            *kind = k;
            return 0;
        }
    if (typed)
        return dp_xlate__fail_at(x, "typed_config",
                                 "listener filter type '%s' is not supported (supported: %s, %s, %s)", t,
                                 lf[0].type, lf[1].type, lf[2].type);
    if (name[0] == '\0')
        return dp_xlate__fail_at(x, "name", "required");
    return dp_xlate__fail_at(x, "name", "listener filter '%s' is not supported (supported: %s, %s, %s)", name,
                             lf[0].name, lf[1].name, lf[2].name);
}

int dp_xlate__listener_filters(dp_xlate_t *x, const Envoy__Config__Listener__V3__Listener *m, dp_listener_cfg_t *l,
                               dp_lf_state_t *st)
{
    memset(st, 0, sizeof(*st));
    st->original_src_idx = -1;
    for (size_t i = 0; i < m->n_listener_filters; i++) {
        const Envoy__Config__Listener__V3__ListenerFilter *f = m->listener_filters[i];
        size_t saved = dp_xlate__push_idx(x, "listener_filters", i);
        ProtobufCMessage *msg = NULL;
        int kind = -1, rc = lookup(x, f, &kind);

        if (rc == 0 && f->config_type_case == ENVOY__CONFIG__LISTENER__V3__LISTENER_FILTER__CONFIG_TYPE_TYPED_CONFIG &&
            f->typed_config != NULL) {
            size_t s2 = dp_xlate__push(x, "typed_config");
            rc = dp_xlate__unpack_any(x, f->typed_config, lf[kind].d, &msg);
            dp_xlate__pop(x, s2);
        }
        if (rc == 0 && kind == LF_ORIGINAL_SRC) {
            const pb_origsrc_t *o = (const pb_origsrc_t *)msg;
            if (st->original_src_idx >= 0)
                rc = dp_xlate__fail(x, "%s appears twice", lf[kind].name);
            l->original_src = true;
            l->original_src_bind_port = o && o->bind_port;
            l->original_src_mark = o ? o->mark : 0;
            st->original_src_idx = (int)i;
        } else if (rc == 0 && kind == LF_FALLBACK) {
            const pb_fallback_t *o = (const pb_fallback_t *)msg;
            int a = o ? (int)o->action : 0;
            if (a != DATAPLANE__TRANSPARENT__V1__ORIGINAL_SRC_FALLBACK__ACTION__REFUSE &&
                a != DATAPLANE__TRANSPARENT__V1__ORIGINAL_SRC_FALLBACK__ACTION__FORWARD_CLIENT_ADDRESS) {
                size_t s2 = dp_xlate__push(x, "typed_config");
                rc = dp_xlate__fail_at(x, "action", "unknown value %d", a);
                dp_xlate__pop(x, s2);
            }
            st->fallback_forward = a == DATAPLANE__TRANSPARENT__V1__ORIGINAL_SRC_FALLBACK__ACTION__FORWARD_CLIENT_ADDRESS;
        }
        if (msg)
            protobuf_c_message_free_unpacked(msg, NULL);
        dp_xlate__pop(x, saved);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static bool chain_has_http_original_src(const dp_filter_chain_t *c)
{
    if (c == NULL || c->hcm == NULL)
        return false;
    for (size_t i = 0; i < c->hcm->n_filters; i++)
        if (strcmp(c->hcm->filters[i].factory->name, DP_HTTP_ORIGINAL_SRC_NAME) == 0)
            return true;
    return false;
}

int dp_xlate__transparent_check(dp_xlate_t *x, dp_listener_cfg_t *l, const dp_lf_state_t *st)
{
    bool http = chain_has_http_original_src(l->default_chain);
    for (size_t i = 0; i < l->n_chains && !http; i++)
        http = chain_has_http_original_src(&l->chains[i]);
    if (!l->original_src && !http)
        return 0;

    const char *why = "";
    if (dp_transparent_require(&why))
        return 0;
    if (st->fallback_forward) {
        l->forward_client_address = true;
        return 0;
    }
    size_t saved = st->original_src_idx >= 0 ? dp_xlate__push_idx(x, "listener_filters", (size_t)st->original_src_idx)
                                             : dp_xlate__push(x, "filter_chains");
    int rc = dp_xlate__fail(x,
                            "%s: transparent upstreams unavailable here: %s (refused: add the listener filter "
                            "dataplane.filters.listener.original_src_fallback with action FORWARD_CLIENT_ADDRESS "
                            "to serve without them)",
                            st->original_src_idx >= 0 ? lf[LF_ORIGINAL_SRC].name : DP_HTTP_ORIGINAL_SRC_NAME, why);
    dp_xlate__pop(x, saved);
    return rc;
}
