/* PLACEHOLDER until the TLS transport lands: contexts cannot be built. */
#include "dataplane/transport/tls.h"

#include <stdio.h>

dp_tls_ctx_t *dp_tls_ctx_new(const dp_tls_opts_t *o, char *errbuf, size_t errlen)
{
    (void)o;
    snprintf(errbuf, errlen, "TLS is not implemented yet");
    return NULL;
}

dp_tls_ctx_t *dp_tls_ctx_ref(dp_tls_ctx_t *c)
{
    return c;
}

void dp_tls_ctx_unref(dp_tls_ctx_t *c)
{
    (void)c;
}

int dp_tls_accept(dp_sock_t *s, dp_tls_ctx_t *initial, dp_tls_select_cb select, void *arg, dp_tls_done_cb on_done)
{
    (void)s, (void)initial, (void)select, (void)arg, (void)on_done;
    return -1;
}

int dp_tls_connect(dp_sock_t *s, dp_tls_ctx_t *ctx, const char *sni, dp_tls_done_cb on_done)
{
    (void)s, (void)ctx, (void)sni, (void)on_done;
    return -1;
}

const char *dp_tls_alpn(const dp_sock_t *s)
{
    (void)s;
    return "";
}
const char *dp_tls_sni(const dp_sock_t *s)
{
    (void)s;
    return NULL;
}
const char *dp_tls_version(const dp_sock_t *s)
{
    (void)s;
    return "";
}
bool dp_tls_resumed(const dp_sock_t *s)
{
    (void)s;
    return false;
}
const char *dp_tls_peer_subject(const dp_sock_t *s)
{
    (void)s;
    return NULL;
}
const dp_transport_ops_t dp_transport_tls = {.name = "tls"};
