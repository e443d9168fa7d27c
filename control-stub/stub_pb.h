/* Messages of the status services (LRS, HDS, CSDS) as proto3 JSON.
 *
 * The stub reads and writes these few messages (one per second and per
 * node at most) through the data plane's type registry and its proto3 JSON
 * codec (xds/pbjson.h), as fleet_xlate.c builds resources, rather than
 * through generated structs: what the stub sends is checked against the
 * same schema the data plane decodes with, and a field that proto/ does
 * not model is an error here, not a silently dropped setting. Received
 * messages are printed with original field names (snake_case), 64-bit
 * integers as strings and durations as "1.5s" (dp_stub_json_u64,
 * dp_stub_json_ms read them back). */
#ifndef DP_STUB_PB_H
#define DP_STUB_PB_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Decodes `len` bytes as message `full_name` (e.g.
 * "envoy.service.load_stats.v3.LoadStatsRequest") into a new JSON object
 * (json_decref). NULL with errbuf set: unknown type (not in the registry),
 * undecodable bytes. */
json_t *dp_stub_pb_decode(const char *full_name, const uint8_t *buf, size_t len, char *errbuf, size_t errlen);

/* Encodes `j` as message `full_name`: *out (malloc'd) and *outlen.
 * Returns 0, or DP_EINVAL with errbuf ("FIELD: reason", unknown type). */
int dp_stub_pb_encode(const char *full_name, const json_t *j, uint8_t **out, size_t *outlen, char *errbuf,
                      size_t errlen);

/* An integer field as printed (number or decimal string); 0 if absent or
 * not a number. */
uint64_t dp_stub_json_u64(const json_t *v);

/* A Duration as printed ("1s", "0.250s"), in milliseconds; -1 if absent or
 * malformed. */
int64_t dp_stub_json_ms(const json_t *v);

/* A Duration in milliseconds as proto3 JSON ("1.500s"), in buf. */
const char *dp_stub_ms_duration(unsigned ms, char *buf, size_t len);

/* GET /status: the object of node `name` in `nodes` (borrowed), added as
 * {"connected": false} when absent (a node known to LRS, HDS or CSDS but
 * not to ADS). */
json_t *dp_stub_status_node(json_t *nodes, const char *name);

#endif
