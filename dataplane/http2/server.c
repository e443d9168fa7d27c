/* PLACEHOLDER until the HTTP/2 codec lands: h2 connections are closed. */
#include "dataplane/http2/server.h"

#include "dataplane/transport/sock.h"

void dp_h2_server_attach(struct dp_worker *w, dp_listener_cfg_t *l, const dp_filter_chain_t *fc, struct dp_sock *sock)
{
    (void)w, (void)l, (void)fc;
    dp_sock_close(sock);
}
