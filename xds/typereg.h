/* Type registry: maps protobuf full names and Any type URLs to the
 * protobuf-c descriptors generated from proto/ (our Envoy API subset) and
 * the well-known types compiled with it.
 *
 * The registry is one sorted const table: no registration at start-up, no
 * allocation, safe from any thread. A type Envoy has but we did not model is
 * simply absent (lookups return NULL), which callers report as an
 * unsupported type. */
#ifndef DP_XDS_TYPEREG_H
#define DP_XDS_TYPEREG_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

/* Descriptor for a full message name such as
 * "envoy.config.cluster.v3.Cluster" or
 * "envoy.config.cluster.v3.CircuitBreakers.Thresholds" (nested types use
 * dots). Returns NULL for NULL, empty or unknown names. */
const ProtobufCMessageDescriptor *dp_typereg_lookup_name(const char *full_name);

/* Descriptor for an Any type URL. As for google.protobuf.Any, the type name
 * is whatever follows the last '/', and the prefix before it is not
 * interpreted: "type.googleapis.com/envoy.config.cluster.v3.Cluster" and
 * "example.com/x/envoy.config.cluster.v3.Cluster" both resolve. Returns NULL
 * for NULL, a URL without '/', an empty name or an unknown type. */
const ProtobufCMessageDescriptor *dp_typereg_lookup(const char *type_url);

/* Iteration over the table, in strcmp order of full names (tests and the
 * conformance check use it to prove the table is complete and sorted).
 * dp_typereg_at() returns NULL when i >= dp_typereg_count(). */
size_t dp_typereg_count(void);
const ProtobufCMessageDescriptor *dp_typereg_at(size_t i);

#endif
