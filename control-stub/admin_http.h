/* The control stub's loopback admin port: a tiny HTTP/1.1 responder for
 * GET /status, polled (non-blocking) from the stub's main loop, on the same
 * thread as the ADS server. Bounded: at most 8 connections, a request head
 * of at most 4 KiB, 2 s to send it; one response per connection
 * ("Connection: close"). */
#ifndef DP_STUB_ADMIN_HTTP_H
#define DP_STUB_ADMIN_HTTP_H

#include <stddef.h>

typedef struct dp_stubadm dp_stubadm_t;

/* Body of GET /status: a malloc'd JSON string (NULL: 500). */
typedef char *(*dp_stubadm_status_fn)(void *ctx);

/* Listens on `addr` ("IP:PORT", port 0 picks one: *port receives it).
 * Returns 0 or DP_ERR (errbuf). */
int dp_stubadm_open(const char *addr, dp_stubadm_status_fn fn, void *ctx, dp_stubadm_t **out, int *port,
                    char *errbuf, size_t errlen);

/* Accepts, reads and answers what is ready, without blocking. */
void dp_stubadm_poll(dp_stubadm_t *a);

void dp_stubadm_close(dp_stubadm_t *a);

#endif
