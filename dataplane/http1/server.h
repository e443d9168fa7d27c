/* HTTP/1.x downstream connection (server-side codec). Parses requests with
 * the strict parser, drives one dp_stream_t at a time (pipelined requests
 * wait in the input buffer), and frames responses. */
#ifndef DP_HTTP1_SERVER_H
#define DP_HTTP1_SERVER_H

#include "dataplane/http/hcm-t.h"

struct dp_worker;

struct dp_sock;

/* Takes ownership of an accepted connection (raw or TLS, handshake done)
 * on listener l, served by filter chain fc (owned by l). Bytes already in
 * sock->in (read while sniffing the protocol) are the first request's. */
void dp_h1_server_attach(struct dp_worker *w, dp_listener_cfg_t *l, const dp_filter_chain_t *fc,
                         struct dp_sock *sock);
/* Frees the calling worker thread's parser scratch (at thread exit). */
void dp_h1_server_thread_exit(void);

#endif
