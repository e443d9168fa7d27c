/* The PROXY protocol header (HAProxy's spec, versions 1 and 2) that an
 * upstream connection starts with when its cluster's transport_socket is
 * envoy.transport_sockets.upstream_proxy_protocol: it tells the upstream
 * the downstream connection's addresses. Sans-I/O: builds bytes. */
#ifndef DP_UPSTREAM_PROXY_PROTOCOL_H
#define DP_UPSTREAM_PROXY_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* The longest header: v1 "PROXY TCP6 " + 2 * 39 + 2 * 5 + separators,
 * v2 16 + 36 bytes of IPv6 addresses. */
#define DP_PROXY_PROTOCOL_MAX 108

/* Writes the header for a connection from src to dst (the downstream's
 * peer and local address) into out (DP_PROXY_PROTOCOL_MAX bytes) and
 * returns its length. version 1 or 2. Addresses of different families,
 * or not IP: v1 "PROXY UNKNOWN", v2 LOCAL (as the spec says for a
 * connection whose addresses cannot be told). */
size_t dp_proxy_protocol_header(int version, const struct sockaddr *src, const struct sockaddr *dst, uint8_t *out);

#endif
