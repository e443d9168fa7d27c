/* A recorded xDS stream (the data plane's --xds-record format) loaded for
 * `control-stub --replay`: JSON lines {"t", "stream", "dir", "type",
 * "msg"}; "send" lines are the data plane's requests (kept as markers),
 * "recv" lines the responses, decoded from proto3 JSON against their type
 * (DiscoveryResponse or DeltaDiscoveryResponse) and packed. */
#ifndef DP_STUB_REPLAY_H
#define DP_STUB_REPLAY_H

#include <stddef.h>
#include <stdint.h>

typedef struct dp_replay_item {
    int is_request; /* a "send" line: only its position matters */
    uint8_t *bytes; /* a "recv" line: the packed response */
    size_t len;
    size_t line; /* in the file, for logs */
} dp_replay_item_t;

typedef struct dp_replay_stream {
    unsigned no; /* "stream" of the file */
    int delta;   /* its messages are the Delta* ones */
    dp_replay_item_t *items;
    size_t n;
} dp_replay_stream_t;

typedef struct dp_replay {
    dp_replay_stream_t *streams; /* in order of first appearance */
    size_t nstreams;
} dp_replay_t;

/* Loads `path`. Returns 0, or DP_EINVAL / DP_ERR with errbuf
 * "FILE:LINE: reason" (unreadable file, bad JSON, unknown dir or type, a
 * msg that does not decode). Free with dp_replay_free(). */
int dp_replay_load(const char *path, dp_replay_t **out, char *errbuf, size_t errlen);

void dp_replay_free(dp_replay_t *rp);

#endif
