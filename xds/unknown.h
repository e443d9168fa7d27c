/* Refusing what we do not implement.
 *
 * proto/ models only the Envoy fields the data plane implements; every other
 * field of a resource decodes into protobuf-c's unknown-field list. Envoy
 * would act on such a field, so silently ignoring it would change behaviour:
 * a config using one is refused with a message naming the field. */
#ifndef DP_XDS_UNKNOWN_H
#define DP_XDS_UNKNOWN_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/* Walks the decoded tree rooted at `m` (set sub-messages, repeated messages,
 * map values and the active member of each oneof) and looks for unknown
 * fields. It does not look inside google.protobuf.Any payloads: those are
 * opaque bytes here, and whoever unpacks an Any checks the result itself.
 *
 * Returns 0 when there is none. Otherwise returns DP_EINVAL and, if errbuf is
 * not NULL and errlen > 0, writes (truncated to errlen, NUL-terminated) the
 * first unknown field found, depth first in field order, by its Envoy name
 * (see dp_pb_envoy_field_name()):
 *
 *   "<type>.<field name> (field <N>): not supported"
 *
 * e.g. "envoy.config.cluster.v3.Cluster.dns_lookup_family (field 17): not
 * supported". When the field is not in the root message itself, the path to
 * the message holding it comes first, "<root type><path>: ", e.g.
 * "envoy.config.cluster.v3.Cluster.circuit_breakers.thresholds[0]:
 * envoy.config.cluster.v3.CircuitBreakers.Thresholds.max_connection_pools
 * (field 7): not supported". Path steps are ".field", ".field[index]" for
 * repeated fields and ".field[\"key\"]" (or ".field[key]" for non-string
 * keys) for map values; a path too long to print ends in "...". A number
 * Envoy's protos do not define for <type> is printed without a name:
 * "<type> (field <N>): not supported".
 * Returns DP_EINVAL with "null message" when m is NULL. */
int dp_pb_check_unknown(const ProtobufCMessage *m, char *errbuf, size_t errlen);

/* Envoy's name for field `number` of the message with full name `message`
 * ("envoy.config.cluster.v3.Cluster", 17 -> "dns_lookup_family"), for the
 * Envoy messages proto/ models (nested ones and map entries included; not
 * google.*). Covers every field of Envoy's protos, modelled or not. Returns
 * a static string, or NULL for a NULL or unknown message or number. */
const char *dp_pb_envoy_field_name(const char *message, uint32_t number);

#endif
