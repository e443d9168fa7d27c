/* An accepted connection before a codec owns it: what Envoy's listener
 * does between accept() and the network filter chain.
 *
 *   accept --> [peek: TLS ClientHello?] --> filter chain selection
 *                  |                           (server_names, transport_protocol,
 *                  | TLS                        application_protocols; default chain)
 *                  v
 *              handshake (chain picked from SNI/ALPN inside it)
 *                  |
 *                  v
 *              codec: ALPN h2 / http/1.1, else the HCM's codec_type, AUTO
 *              sniffing the HTTP/2 connection preface --> h1 or h2 server
 *
 * Sniffing and handshake together are bounded by the listener's
 * listener_filters_timeout (Envoy's default 15 s); a connection that no
 * filter chain matches is closed (listener.<addr>.no_filter_chain_match).
 *
 * Stats: listener.<addr>.downstream_cx_total/_active count from accept
 * here; the codec that takes the connection decrements _active and counts
 * _destroy when it closes it (and counts its http.<prefix>.* itself). */
#ifndef DP_SERVER_ACCEPT_H
#define DP_SERVER_ACCEPT_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane/http/hcm-t.h"
#include "dataplane/transport/sock.h"

struct dp_worker;

/* Takes ownership of an accepted, non-blocking fd on listener l. */
void dp_accept_conn(struct dp_worker *w, dp_listener_cfg_t *l, int fd, const dp_sockaddr_t *peer);

/* Envoy's filter chain match for what we implement: the most specific
 * server_names entry (exact, then the longest wildcard suffix, then chains
 * without server_names), then transport_protocol, then
 * application_protocols; else the default chain; NULL: none.
 * sni may be NULL (no SNI, or plaintext); alpn is the ClientHello's list in
 * wire format (length-prefixed), NULL/0 if none. Sans-I/O: unit tested. */
const dp_filter_chain_t *dp_filter_chain_select(const dp_listener_cfg_t *l, const char *sni, bool tls,
                                                const uint8_t *alpn, size_t alpn_len);

#endif
