/* Fuzzes the ADS state machine (xds/ads.h) as a hostile management server
 * would drive it. The input is one byte of mode (bit 0: Delta) followed by
 * records [op][len:2 little endian][len bytes]:
 *   op % 4 == 0  a response (the bytes)      op % 4 == 1  the clock moves
 *   op % 4 == 2  the stream breaks and restarts; op % 4 == 3  a tick
 * Requests are checked to decode; commits succeed except for a listener
 * named "bindfail". Nothing may crash, leak or trip a sanitizer. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataplane/core/common.h"
#include "envoy/service/discovery/v3/discovery.pb-c.h"
#include "xds/ads.h"
#include "xds/bootstrap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static dp_bootstrap_t *boot;
static bool delta;
static uint64_t now_ms;
static dp_snapshot_t *current;

static const char BOOT[] =
    "node: {id: fuzz, cluster: fuzz}\n"
    "dynamic_resources:\n"
    "  ads_config: {api_type: GRPC, transport_api_version: V3,\n"
    "               grpc_services: [{envoy_grpc: {cluster_name: xds}}]}\n"
    "  lds_config: {ads: {}, resource_api_version: V3}\n"
    "  cds_config: {ads: {}, resource_api_version: V3}\n"
    "static_resources:\n"
    "  clusters:\n"
    "  - name: xds\n"
    "    type: STATIC\n"
    "    load_assignment: {cluster_name: xds, endpoints: [{lb_endpoints: [{endpoint: {address:\n"
    "      {socket_address: {address: 127.0.0.1, port_value: 18000}}}}]}]}\n"
    "  - name: se\n"
    "    type: EDS\n"
    "    eds_cluster_config: {eds_config: {ads: {}, resource_api_version: V3}}\n";

static void fz_send(void *ctx, const uint8_t *msg, size_t len)
{
    (void)ctx;
    ProtobufCMessage *m =
        delta ? (ProtobufCMessage *)envoy__service__discovery__v3__delta_discovery_request__unpack(NULL, len, msg)
              : (ProtobufCMessage *)envoy__service__discovery__v3__discovery_request__unpack(NULL, len, msg);
    if (m == NULL)
        abort(); /* we sent something that is not a request */
    protobuf_c_message_free_unpacked(m, NULL);
}

static int fz_commit(void *ctx, dp_snapshot_t *snap, const char **failed, char *errbuf, size_t errlen)
{
    (void)ctx;
    for (size_t i = 0; i < snap->n_listeners; i++) {
        if (strcmp(snap->listeners[i]->name, "bindfail") == 0) {
            *failed = snap->listeners[i]->name;
            snprintf(errbuf, errlen, "Address already in use");
            return DP_ERR;
        }
    }
    /* The snapshot must be usable: lookups over what was sealed. */
    for (size_t i = 0; i < snap->n_clusters; i++)
        if (dp_snapshot_find_cluster(snap, snap->clusters[i]->name, strlen(snap->clusters[i]->name)) == NULL)
            abort();
    dp_snapshot_unref(current);
    current = dp_snapshot_ref(snap);
    return 0;
}

static uint64_t fz_now(void *ctx)
{
    (void)ctx;
    return now_ms;
}

static void init(void)
{
    char path[] = "/tmp/ads_fuzz_XXXXXX.yaml";
    char err[512];
    int fd = mkstemps(path, 5);
    if (fd < 0 || write(fd, BOOT, sizeof(BOOT) - 1) != (ssize_t)(sizeof(BOOT) - 1))
        abort();
    close(fd);
    if (dp_bootstrap_load(path, NULL, &boot, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        abort();
    }
    unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const dp_ads_env_t env = {NULL, fz_send, fz_commit, fz_now};

    if (boot == NULL)
        init();
    if (size < 1)
        return 0;
    delta = data[0] & 1;
    now_ms = 1000;
    dp_ads_t *a = dp_ads_new(boot, delta, &env);
    dp_ads_stream_start(a);
    size_t off = 1;
    while (off + 3 <= size) {
        uint8_t op = data[off];
        size_t len = (size_t)data[off + 1] | (size_t)data[off + 2] << 8;
        off += 3;
        if (len > size - off)
            len = size - off;
        switch (op % 4) {
        case 0:
            if (dp_ads_on_response(a, data + off, len) < 0) {
                dp_ads_stream_closed(a);
                dp_ads_stream_start(a);
            }
            break;
        case 1:
            now_ms += (uint64_t)len * 100;
            if (dp_ads_next_deadline(a) <= now_ms)
                dp_ads_on_tick(a);
            break;
        case 2:
            dp_ads_stream_closed(a);
            dp_ads_stream_start(a);
            break;
        default:
            dp_ads_on_tick(a);
            break;
        }
        off += len;
    }
    (void)dp_ads_initialized(a);
    dp_ads_free(a);
    dp_snapshot_unref(current);
    current = NULL;
    return 0;
}
