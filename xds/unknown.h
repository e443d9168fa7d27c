/* Refusing what we do not implement.
 *
 * proto/ models only the Envoy fields the data plane implements; every other
 * field of a resource decodes into protobuf-c's unknown-field list. Envoy
 * would act on such a field, so silently ignoring it would change behaviour:
 * a config using one is refused with a message naming the field. */
#ifndef DP_XDS_UNKNOWN_H
#define DP_XDS_UNKNOWN_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

/* Walks the decoded tree rooted at `m` (set sub-messages, repeated messages,
 * map values and the active member of each oneof) and looks for unknown
 * fields. It does not look inside google.protobuf.Any payloads: those are
 * opaque bytes here, and whoever unpacks an Any checks the result itself.
 *
 * Returns 0 when there is none. Otherwise returns DP_EINVAL and, if errbuf is
 * not NULL and errlen > 0, writes (truncated to errlen, NUL-terminated) the
 * first unknown field found, depth first in field order:
 *
 *   "<root type><path>: unsupported field number <N> (not implemented)"
 *
 * followed by " in <type>" when the field is not in the root message itself,
 * e.g. "envoy.config.cluster.v3.Cluster.circuit_breakers.thresholds[0]:
 * unsupported field number 7 (not implemented) in
 * envoy.config.cluster.v3.CircuitBreakers.Thresholds". Path steps are
 * ".field", ".field[index]" for repeated fields and ".field[\"key\"]" (or
 * ".field[key]" for non-string keys) for map values.
 * Returns DP_EINVAL with "null message" when m is NULL. */
int dp_pb_check_unknown(const ProtobufCMessage *m, char *errbuf, size_t errlen);

#endif
