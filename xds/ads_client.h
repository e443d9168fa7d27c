/* The ADS transport: one gRPC stream (grpc core C API) to the management
 * server named by the bootstrap's dynamic_resources.ads_config, on its own
 * thread and completion queue. It feeds the sans-I/O protocol state
 * (xds/ads.h) and reconnects with jittered exponential backoff (500 ms
 * base, 30 s cap, reset after a response) while the data plane keeps
 * serving its last good configuration. */
#ifndef DP_XDS_ADS_CLIENT_H
#define DP_XDS_ADS_CLIENT_H

#include <stddef.h>

#include "xds/bootstrap.h"

typedef struct dp_ads_client_opts {
    const char *record_path; /* --xds-record: JSON lines of every request/response, or NULL */
    size_t max_recv_bytes;   /* default 64 MiB; the bootstrap's
                                envoy_grpc.max_receive_message_length wins (0: unlimited) */
} dp_ads_client_opts_t;

/* Starts the client thread. The bootstrap must outlive the client.
 * Returns 0, or a negative DP_E* with errbuf (bad target, cannot open the
 * record file). */
int dp_ads_client_start(const dp_bootstrap_t *boot, const dp_ads_client_opts_t *opts, char *errbuf,
                        size_t errlen);
/* A new static base after SIGHUP: merged with the dynamic resources on the
 * client thread. */
void dp_ads_client_set_static(dp_snapshot_t *static_snap);
/* Stops the stream and joins the thread. */
void dp_ads_client_stop(void);

/* The gRPC target for an ApiConfigSource's first grpc_service (envoy_grpc:
 * the first endpoint of that static cluster; google_grpc: target_uri).
 * Returns a malloc'd string or NULL with errbuf. Exposed for tests. */
char *dp_ads_client_target(const dp_bootstrap_t *boot, char *errbuf, size_t errlen);

/* The same for any ApiConfigSource of the bootstrap (LRS, HDS); field
 * names it in errors. */
struct Envoy__Config__Core__V3__ApiConfigSource;
char *dp_grpc_source_target(const dp_bootstrap_t *b, const struct Envoy__Config__Core__V3__ApiConfigSource *a,
                            const char *field, char *errbuf, size_t errlen);
/* Channel credentials for it: google_grpc ssl_credentials, else insecure.
 * The caller releases them (grpc_channel_credentials_release). */
struct grpc_channel_credentials;
struct grpc_channel_credentials *dp_grpc_source_creds(const struct Envoy__Config__Core__V3__ApiConfigSource *a);

#endif
