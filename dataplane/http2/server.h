/* HTTP/2 downstream connection (server-side codec) on nghttp2: one
 * dp_stream_t per HTTP/2 stream, the same protocol-neutral request the
 * HTTP/1.1 codec fills (STYLE.md 3), with flow control bounded by the
 * listener's per_connection_buffer_limit_bytes and the flood defences of
 * Http2ProtocolOptions. */
#ifndef DP_HTTP2_SERVER_H
#define DP_HTTP2_SERVER_H

#include "dataplane/http/hcm-t.h"

struct dp_worker;
struct dp_sock;

/* Takes ownership of an accepted connection (raw: h2c with prior
 * knowledge; TLS: ALPN h2) on listener l, served by filter chain fc (owned
 * by l). Bytes already in sock->in (the sniffed connection preface) are
 * the connection's first. */
void dp_h2_server_attach(struct dp_worker *w, dp_listener_cfg_t *l, const dp_filter_chain_t *fc,
                         struct dp_sock *sock);

#endif
