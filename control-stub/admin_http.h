/* The control stub's loopback admin port: a tiny HTTP/1.1 responder,
 * polled (non-blocking) from the stub's main loop, on the same thread as
 * the ADS server:
 *   GET  /status                   the status JSON
 *   POST /containers/ID/start|stop a container's state changed (the
 *                                  platform's event): 200, or 404 / 409
 *                                  with {"error": ..., "status": ...} Bounded: at most 8 connections, a request head
 * of at most 4 KiB, 2 s to send it; one response per connection
 * ("Connection: close"). */
#ifndef DP_STUB_ADMIN_HTTP_H
#define DP_STUB_ADMIN_HTTP_H

#include <stddef.h>

typedef struct dp_stubadm dp_stubadm_t;

/* Body of GET /status: a malloc'd JSON string (NULL: 500). */
typedef char *(*dp_stubadm_status_fn)(void *ctx);

/* POST /containers/ID/start|stop: returns 0 or a negative DP_E* with
 * errbuf (DP_ENOENT: 404, else 409). */
typedef int (*dp_stubadm_state_fn)(void *ctx, const char *id, int running, char *errbuf, size_t errlen);

/* Listens on `addr` ("IP:PORT", port 0 picks one: *port receives it).
 * Returns 0 or DP_ERR (errbuf). */
int dp_stubadm_open(const char *addr, dp_stubadm_status_fn fn, dp_stubadm_state_fn state, void *ctx,
                    dp_stubadm_t **out, int *port, char *errbuf, size_t errlen);

/* Accepts, reads and answers what is ready, without blocking. */
void dp_stubadm_poll(dp_stubadm_t *a);

void dp_stubadm_close(dp_stubadm_t *a);

#endif
