/* Configuration trees (xds/cfgtree.h) <-> protobuf-c messages, following
 * the proto3 JSON mapping (https://protobuf.dev/programming-guides/proto3/#json).
 *
 * Decoding is driven by the message descriptor, never by YAML's implicit
 * typing: a plain `no` is the string "no" in a string field and an error
 * in a bool field. Every error names FILE:LINE:COL and the field path from
 * the root, e.g.
 *   bootstrap.yaml:31:25: static_resources.clusters[0].load_assignment
 *   .endpoints[0].lb_endpoints[1].endpoint.address.socket_address
 *   .port_value: expected an integer, got "abc"
 * (one line). Path elements are the keys as written in the input, [i] for
 * list items and ["k"] for map entries.
 *
 * The mapping, as implemented:
 *   - keys: the proto field name or its lowerCamelCase JSON name (computed
 *     from the field name as protoc does; protobuf-c descriptors do not
 *     carry custom `json_name` options, so those are not recognised); an
 *     unknown key is an error (unless DP_PBJSON_IGNORE_UNKNOWN), as is the
 *     same field given twice (as `foo_bar` and `fooBar`);
 *   - null (plain null, ~ or nothing) leaves the field at its default and
 *     does not select a oneof member; for google.protobuf.Value it is
 *     null_value and for a google.protobuf.NullValue enum it is 0;
 *   - integers: JSON numbers or strings of them; an exponent or fraction
 *     is accepted when the value is integral ("1e3"); out of the field
 *     type's range is an error (-1 in a uint32, 2^40 in an int32);
 *   - float/double: numbers, "NaN", "Infinity", "-Infinity" (and YAML's
 *     .nan/.inf/-.inf when unquoted); a float out of range is an error;
 *   - bool: true/false (True/TRUE/False/FALSE too), quoted or not;
 *   - string: any scalar (UTF-8 guaranteed by the parser; a NUL is an
 *     error); bytes: standard or URL-safe base64, padding optional;
 *   - enum: value name, or an integer (unknown numbers are kept, as proto3
 *     enums are open); an unknown name is an error;
 *   - repeated: sequence (null = empty); map<K,V>: map whose keys are
 *     converted to K (decimal integers, true/false); a key given twice
 *     after conversion ("1" and "01") is an error;
 *   - oneof: two members set is an error naming both fields;
 *   - proto2 required fields missing are an error (proto3 has none);
 *   - well-known types: Duration "1.5s" (|seconds| <= 315576000000, up to
 *     9 fraction digits), Timestamp RFC 3339 ("1972-01-01T10:00:20.021Z",
 *     "+01:00" offsets, years 0001-9999), wrappers as bare values,
 *     Struct/Value/ListValue as any JSON (a plain scalar in a Value is a
 *     bool if true/false, a number if it reads as a JSON number, else a
 *     string; quoted scalars are strings), Empty as {}, Any as
 *     {"@type": URL, fields...} or {"@type": URL, "value": <special JSON>}
 *     when the packed type is one of the special WKTs above (Empty is not:
 *     {"@type": ".../google.protobuf.Empty"}). google.protobuf.FieldMask's
 *     string form is not implemented (not in dp_proto).
 *   - map fields are recognised by protoc's layout: a repeated message
 *     field `foo_bar` whose type is the nested `FooBarEntry` with fields
 *     key = 1 and value = 2.
 *
 * Memory: results are allocated with malloc exactly as protobuf-c's
 * unpack would (every string and bytes value its own block, repeated
 * fields as arrays), so protobuf_c_message_free_unpacked(m, NULL) frees a
 * decoded message. Allocation failure returns DP_ENOMEM, never aborts. */
#ifndef DP_XDS_PBJSON_H
#define DP_XDS_PBJSON_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

#include "xds/cfgtree.h"

/* Maps a type URL ("type.googleapis.com/envoy.config.cluster.v3.Cluster")
 * to the descriptor of that type, or NULL if unknown. Must be callable
 * from any thread that decodes or prints. */
typedef const ProtobufCMessageDescriptor *(*dp_pbjson_resolver_t)(const char *type_url);

/* Decoder option bits. */
#define DP_PBJSON_IGNORE_UNKNOWN 0x1 /* skip unknown keys instead of failing */

typedef struct dp_pbjson_opts {
    dp_pbjson_resolver_t resolver; /* for Any; NULL: any "@type" is an error */
    int flags;                     /* DP_PBJSON_IGNORE_UNKNOWN */
} dp_pbjson_opts_t;

/* Builds a message of type `desc` from `node` (a map; a null node, or
 * node == NULL, gives a message with every field at its default). The
 * tree is only read and may be freed right after. `opts` may be NULL;
 * `filename` labels errors (NULL: "<input>"). On success *out is a new
 * message owned by the caller (protobuf_c_message_free_unpacked(*out,
 * NULL)); on failure *out is NULL and errbuf (if errlen > 0) holds
 * "FILE:LINE:COL: PATH: reason" (no "PATH: " at the root).
 * Returns 0, DP_EINVAL (the input does not fit the schema) or DP_ENOMEM. */
int dp_pbjson_decode(const dp_cfgnode_t *node, const ProtobufCMessageDescriptor *desc,
                     const dp_pbjson_opts_t *opts, ProtobufCMessage **out, const char *filename, char *errbuf,
                     size_t errlen);

/* dp_cfgtree_parse() + dp_pbjson_decode() + dp_cfgtree_free(): decodes
 * YAML or JSON text. Same results and return codes as dp_pbjson_decode(). */
int dp_pbjson_decode_text(const char *text, size_t len, const ProtobufCMessageDescriptor *desc,
                          const dp_pbjson_opts_t *opts, ProtobufCMessage **out, const char *filename,
                          char *errbuf, size_t errlen);

/* Same for a whole file (Envoy's -c FILE). Also returns DP_ERR when the
 * file cannot be read. */
int dp_pbjson_decode_file(const char *path, const ProtobufCMessageDescriptor *desc,
                          const dp_pbjson_opts_t *opts, ProtobufCMessage **out, char *errbuf, size_t errlen);

/* Printer flag bits. Newlines and 2-space indentation: */
#define DP_PBJSON_PRETTY 0x1
/* Original field names (snake_case), as Envoy's admin /config_dump prints
 * them; without it, lowerCamelCase JSON names (canonical proto3 JSON). */
#define DP_PBJSON_PROTO_NAMES 0x2

/* Prints `m` as proto3 JSON: fields in field-number order, fields at
 * their default omitted (set oneof members and proto2 fields with has_
 * set are printed), 64-bit integers as strings, enums by name (number
 * when unknown), bytes as standard base64, floats in shortest round-trip
 * form with "NaN"/"Infinity"/"-Infinity", well-known types in their
 * special forms, Any with "@type" (its value unpacked through `resolver`;
 * unknown type or undecodable value: {"@type": URL, "value": base64}).
 * Non-finite numbers in a google.protobuf.Value print as those strings
 * too (proto3 JSON has no form for them). Timestamps outside years
 * 0001-9999 are clamped to that range. Returns a malloc'd NUL-terminated
 * string the caller frees, or NULL on allocation failure or nesting deeper
 * than 2 * DP_CFGTREE_MAX_DEPTH messages. */
char *dp_pbjson_print(const ProtobufCMessage *m, dp_pbjson_resolver_t resolver, int flags);

/* Same, returning the length too, and with `indent` levels of base
 * indentation for lines after the first (PRETTY only), to splice the text
 * into a larger pretty document. *out (malloc'd) is set on success only.
 * Returns 0, DP_ENOMEM or DP_EINVAL (NULL message, nesting too deep). */
int dp_pbjson_print_buf(const ProtobufCMessage *m, dp_pbjson_resolver_t resolver, int flags, int indent,
                        char **out, size_t *outlen);

/* ---- internal: shared by pbjson.c and pbjson_print.c ---- */

typedef enum dp_pbjson__wkt {
    DP_PBJSON__WKT_NONE = 0, /* ordinary message (Empty too) */
    DP_PBJSON__WKT_ANY,
    DP_PBJSON__WKT_DURATION,
    DP_PBJSON__WKT_TIMESTAMP,
    DP_PBJSON__WKT_STRUCT,
    DP_PBJSON__WKT_VALUE,
    DP_PBJSON__WKT_LIST,
    DP_PBJSON__WKT_WRAPPER, /* field 1 "value" printed bare */
} dp_pbjson__wkt_t;

dp_pbjson__wkt_t dp_pbjson__wkt(const ProtobufCMessageDescriptor *d);

/* Is `f` (a field of `parent`) a map<K,V>, i.e. repeated entries? */
int dp_pbjson__is_map(const ProtobufCMessageDescriptor *parent, const ProtobufCFieldDescriptor *f);

/* Bytes of one element of type `t` in a protobuf-c message or array. */
size_t dp_pbjson__elem_size(ProtobufCType t);

/* Does `key` (klen bytes) equal protoc's JSON name for field `name`? */
int dp_pbjson__json_name_eq(const char *name, const char *key, size_t klen);

/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
long long dp_pbjson__days_from_civil(long long y, unsigned m, unsigned d);
void dp_pbjson__civil_from_days(long long z, long long *y, unsigned *m, unsigned *d);

#define DP_PBJSON__DURATION_MAX_SECONDS 315576000000LL
#define DP_PBJSON__TIMESTAMP_MIN_SECONDS (-62135596800LL) /* 0001-01-01T00:00:00Z */
#define DP_PBJSON__TIMESTAMP_MAX_SECONDS 253402300799LL   /* 9999-12-31T23:59:59Z */

#endif
