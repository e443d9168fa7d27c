/* HTTP/1.x downstream connection (server-side codec). Parses requests with
 * the strict parser, drives one dp_stream_t at a time (pipelined requests
 * wait in the input buffer), and frames responses. */
#ifndef DP_HTTP1_SERVER_H
#define DP_HTTP1_SERVER_H

#include "dataplane/http/hcm-t.h"

struct dp_worker;

/* Takes ownership of an accepted fd on listener l. */
void dp_h1_server_accept(struct dp_worker *w, dp_listener_cfg_t *l, int fd);
/* Frees the calling worker thread's parser scratch (at thread exit). */
void dp_h1_server_thread_exit(void);

#endif
