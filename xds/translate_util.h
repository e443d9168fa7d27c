/* Helpers shared by the translators (xds/translate_*.c) and the bootstrap
 * loader: the field-path error writer, Duration and wrapper defaults,
 * DataSource reading, header mutations, socket addresses, config sources
 * and checked Any unpacking.
 *
 * Error paths: a dp_xlate_t carries the path of the field being
 * translated, built with the proto field names ("filter_chains[0].filters")
 * exactly as translate.h promises, so the bootstrap loader can map it back
 * to a YAML/JSON node and xDS can put it in a NACK. Every dp_xlate__fail*
 * writes "PATH: reason" (or just "reason" at the root) into the caller's
 * errbuf and returns DP_EINVAL, so a translator can `return
 * dp_xlate__fail(...)` or `rc = ...; goto fail;`. */
#ifndef DP_XDS_TRANSLATE_UTIL_H
#define DP_XDS_TRANSLATE_UTIL_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dataplane/http/route-t.h"
#include "envoy/config/core/v3/address.pb-c.h"
#include "envoy/config/core/v3/base.pb-c.h"
#include "envoy/config/core/v3/config_source.pb-c.h"
#include "envoy/config/core/v3/protocol.pb-c.h"
#include "dataplane/http/hcm-t.h"
#include "envoy/config/route/v3/route.pb-c.h"
#include "envoy/config/route/v3/route_components.pb-c.h"
#include "envoy/type/matcher/v3/string.pb-c.h"
#include "google/protobuf/any.pb-c.h"
#include "google/protobuf/duration.pb-c.h"
#include "google/protobuf/wrappers.pb-c.h"

#define DP_XLATE_PATH_MAX 1024

typedef struct dp_xlate {
    char path[DP_XLATE_PATH_MAX];
    size_t len;
    bool truncated; /* a step did not fit: the path ends with "..." */
    char *errbuf;
    size_t errlen;
} dp_xlate_t;

/* Starts at the resource root (empty path). errbuf may be NULL. */
void dp_xlate__init(dp_xlate_t *x, char *errbuf, size_t errlen);

/* Path steps. Each returns the state to give back to dp_xlate__pop().
 *   push      ".field"          (no dot at the root)
 *   push_idx  ".field[i]"
 *   push_key  ".field[\"key\"]" (map entries, as xds/unknown.c prints them) */
size_t dp_xlate__push(dp_xlate_t *x, const char *field);
size_t dp_xlate__push_idx(dp_xlate_t *x, const char *field, size_t i);
size_t dp_xlate__push_key(dp_xlate_t *x, const char *field, const char *key);
void dp_xlate__pop(dp_xlate_t *x, size_t saved);

/* "PATH: reason". Returns DP_EINVAL. */
int dp_xlate__fail(dp_xlate_t *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Same at PATH.field. */
int dp_xlate__fail_at(dp_xlate_t *x, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Wraps an error of a callee that reports relative to a sub-message (a
 * filter factory, the access logger): "PATH.SUB: reason" when `sub` reads
 * "SUB: reason" with SUB a field path (lowercase names, dots, [i],
 * ["key"]), else "PATH: sub". Returns rc if negative, else DP_EINVAL. */
int dp_xlate__fail_sub(dp_xlate_t *x, int rc, const char *sub);
/* dp_xlate__fail_sub() for an error of dp_access_log_create() at the
 * current path (an access_log[i]): drops its own "access_log['name']: "
 * lead, and puts the field paths it reports (relative to the logger's
 * typed_config) under ".typed_config". */
int dp_xlate__fail_access_log(dp_xlate_t *x, int rc, const char *err);

/* ---- values ------------------------------------------------------------- */

uint32_t dp_xlate__u32(const Google__Protobuf__UInt32Value *v, uint32_t dflt);
bool dp_xlate__bool(const Google__Protobuf__BoolValue *v, bool dflt);

/* Duration field `field` (of the message at the current path) in
 * milliseconds, truncated as Envoy's DurationUtil does; `dflt` when unset.
 * Negative or malformed durations are errors. */
int dp_xlate__duration_ms(dp_xlate_t *x, const char *field, const Google__Protobuf__Duration *d,
                          uint64_t dflt, uint64_t *out);

/* The type name of an Any type URL: what follows the last '/'. */
const char *dp_xlate__type_name(const char *type_url);

/* Unpacks `any` (at the current path) with descriptor d, and rejects
 * unknown fields anywhere in the result with their path below the current
 * one ("typed_config: envoy.foo.Bar.baz (field 9): not supported").
 * *out is freed with protobuf_c_message_free_unpacked(*out, NULL). */
int dp_xlate__unpack_any(dp_xlate_t *x, const Google__Protobuf__Any *any, const ProtobufCMessageDescriptor *d,
                         ProtobufCMessage **out);

/* Turns an error of dp_pb_check_unknown() on a message of type `d`
 * ("<type>.a.b[0]: reason") into one relative to the current path. */
int dp_xlate__fail_unknown(dp_xlate_t *x, const ProtobufCMessageDescriptor *d, const char *err);

/* ---- data sources --------------------------------------------------------- */

/* envoy.config.core.v3.DataSource (at the current path): inline_string,
 * inline_bytes, filename (read now) or environment_variable (read now). A
 * result longer than max bytes is an error. *out is malloc'd and
 * NUL-terminated (may contain NULs; *outlen excludes the terminator). */
int dp_xlate__datasource(dp_xlate_t *x, const Envoy__Config__Core__V3__DataSource *ds, size_t max, char **out,
                         size_t *outlen);

/* ---- headers ---------------------------------------------------------------- */

/* RFC 9110 token (non-empty). */
bool dp_xlate__is_token(const char *s);
/* malloc'd lowercase copy. */
char *dp_xlate__lower_dup(const char *s);

/* One level of header mutations: `add` from a repeated HeaderValueOption
 * field named add_field, `rm` from the repeated string field rm_field.
 * Names must be tokens, neither pseudo headers nor "host" (Envoy forbids
 * modifying those); values follow Envoy's header formatter syntax, of
 * which only the "%%" escape is implemented. Appends to *m, which the
 * caller frees with its owner even on error. */
int dp_xlate__mutations(dp_xlate_t *x, Envoy__Config__Core__V3__HeaderValueOption *const *add, size_t n_add,
                        const char *add_field, char *const *rm, size_t n_rm, const char *rm_field,
                        dp_hdr_mutations_t *m);

/* ---- addresses and config sources ------------------------------------------- */

/* An envoy.config.core.v3.Address (the current path is the Address
 * field): socket_address with an IPv4/IPv6 literal, TCP, port 1..65535.
 * Fills *ss, *len and str ("127.0.0.1:80", "[::1]:80"); *port is the port
 * (may be NULL). */
int dp_xlate__address(dp_xlate_t *x, const Envoy__Config__Core__V3__Address *a, struct sockaddr_storage *ss,
                      socklen_t *len, char *str, size_t strsz, uint16_t *port);

/* Parses an IP literal + port; no DNS. Returns 0 or -1. */
int dp_xlate__parse_ip(const char *ip, uint16_t port, struct sockaddr_storage *ss, socklen_t *len, char *str,
                       size_t strsz);

/* A ConfigSource for RDS / EDS (the current path is the ConfigSource
 * field): `ads: {}` or an api_config_source (validated with
 * dp_xlate__api_config_source); resource_api_version AUTO or V3. */
int dp_xlate__config_source(dp_xlate_t *x, const Envoy__Config__Core__V3__ConfigSource *cs);

/* An ApiConfigSource (current path): api_type GRPC or DELTA_GRPC,
 * transport_api_version V3, exactly one grpc_service (envoy_grpc with a
 * cluster_name, or google_grpc with a target_uri), no cluster_names.
 * When `cluster` is not NULL it receives the envoy_grpc cluster name (or
 * NULL for google_grpc), borrowed from the message. */
int dp_xlate__api_config_source(dp_xlate_t *x, const Envoy__Config__Core__V3__ApiConfigSource *api,
                                const char **cluster);

/* ---- translators, callable at any path ------------------------------------ */

/* envoy.type.matcher.v3.StringMatcher / envoy.config.route.v3.HeaderMatcher
 * into the forms route.c matches with (dp_route_strmatch / dp_route_hdrmatch);
 * regex is refused naming the field. The output owns its strings (free
 * value / name with free()). */
int dp_xlate__strmatch(dp_xlate_t *x, const Envoy__Type__Matcher__V3__StringMatcher *sm, dp_strmatch_t *o);
int dp_xlate__hdrmatch(dp_xlate_t *x, const Envoy__Config__Route__V3__HeaderMatcher *h, dp_hdrmatch_t *o);

/* envoy.config.route.v3.RouteMatch into the match fields of *o (path kind,
 * path, case_sensitive, headers), as route.c matches them. On error what
 * was allocated is owned by *o (header entries not reached are zeroed). */
int dp_xlate__route_match(dp_xlate_t *x, const Envoy__Config__Route__V3__RouteMatch *m, dp_route_t *o);

/* dp_translate_route_config() at the current path (the HCM's inline
 * route_config uses it). */
int dp_xlate__route_config(dp_xlate_t *x, const Envoy__Config__Route__V3__RouteConfiguration *rc,
                           dp_route_config_t **out);

/* Http2ProtocolOptions with Envoy's defaults and validation rules (NULL:
 * all defaults); the HCM's and the clusters' upstream options. */
int dp_xlate__h2_options(dp_xlate_t *x, const Envoy__Config__Core__V3__Http2ProtocolOptions *p,
                         dp_h2_options_t *o);

#endif
