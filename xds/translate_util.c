/* Shared helpers of the translators (see translate_util.h). */
#include "xds/translate_util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dataplane/core/common.h"
#include "envoy/config/core/v3/grpc_service.pb-c.h"
#include "xds/unknown.h"

/* Envoy's HeaderValueOption lists are capped at 1000 entries
 * (validate.rules max_items) and header names/values at 16 KiB. */
#define MAX_HEADERS_TO_ADD 1000
#define MAX_HEADER_BYTES 16384

/* ---- path and errors ------------------------------------------------------ */

void dp_xlate__init(dp_xlate_t *x, char *errbuf, size_t errlen)
{
    x->path[0] = '\0';
    x->len = 0;
    x->truncated = false;
    x->errbuf = errbuf;
    x->errlen = errlen;
    if (errbuf != NULL && errlen > 0)
        errbuf[0] = '\0';
}

/* The saved state packs the length and the truncation flag, so a pop
 * after a step that did not fit restores both. */
static size_t xlate_state(const dp_xlate_t *x)
{
    return x->len * 2 + (x->truncated ? 1 : 0);
}

static void xlate_append(dp_xlate_t *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void xlate_append(dp_xlate_t *x, const char *fmt, ...)
{
    size_t room = sizeof(x->path) - x->len;
    va_list ap;
    int n;

    if (x->truncated)
        return;
    va_start(ap, fmt);
    n = vsnprintf(x->path + x->len, room, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= room) {
        x->path[x->len] = '\0';
        x->truncated = true;
        return;
    }
    x->len += (size_t)n;
}

size_t dp_xlate__push(dp_xlate_t *x, const char *field)
{
    size_t saved = xlate_state(x);
    xlate_append(x, "%s%s", x->len ? "." : "", field);
    return saved;
}

size_t dp_xlate__push_idx(dp_xlate_t *x, const char *field, size_t i)
{
    size_t saved = xlate_state(x);
    xlate_append(x, "%s%s[%zu]", x->len ? "." : "", field, i);
    return saved;
}

size_t dp_xlate__push_key(dp_xlate_t *x, const char *field, const char *key)
{
    size_t saved = xlate_state(x);
    xlate_append(x, "%s%s[\"%s\"]", x->len ? "." : "", field, key ? key : "");
    return saved;
}

void dp_xlate__pop(dp_xlate_t *x, size_t saved)
{
    x->len = saved / 2;
    x->truncated = (saved & 1) != 0;
    x->path[x->len] = '\0';
}

static int xlate_vfail(dp_xlate_t *x, const char *fmt, va_list ap)
{
    char reason[768];

    if (x->errbuf == NULL || x->errlen == 0)
        return DP_EINVAL;
    vsnprintf(reason, sizeof(reason), fmt, ap);
    if (x->len == 0 && !x->truncated)
        snprintf(x->errbuf, x->errlen, "%s", reason);
    else
        snprintf(x->errbuf, x->errlen, "%s%s: %s", x->path, x->truncated ? "..." : "", reason);
    return DP_EINVAL;
}

int dp_xlate__fail(dp_xlate_t *x, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = xlate_vfail(x, fmt, ap);
    va_end(ap);
    return rc;
}

int dp_xlate__fail_at(dp_xlate_t *x, const char *field, const char *fmt, ...)
{
    size_t saved = dp_xlate__push(x, field);
    va_list ap;
    va_start(ap, fmt);
    int rc = xlate_vfail(x, fmt, ap);
    va_end(ap);
    dp_xlate__pop(x, saved);
    return rc;
}

/* Length of the field path that starts `s` and is followed by ": ", or 0
 * when s does not start with one. */
static size_t sub_path_len(const char *s)
{
    size_t i = 0;

    if (!(islower((unsigned char)s[0]) || s[0] == '_'))
        return 0;
    while (s[i] != '\0') {
        unsigned char c = (unsigned char)s[i];
        if (c == ':' && s[i + 1] == ' ')
            return i;
        if (c == '[' && s[i + 1] == '"') {
            const char *q = strchr(s + i + 2, '"');
            if (q == NULL || q[1] != ']')
                return 0;
            i = (size_t)(q - s) + 2;
            continue;
        }
        if (!(islower(c) || isdigit(c) || c == '_' || c == '.' || c == '[' || c == ']'))
            return 0;
        i++;
    }
    return 0;
}

int dp_xlate__fail_sub(dp_xlate_t *x, int rc, const char *sub)
{
    size_t n;

    if (rc >= 0)
        rc = DP_EINVAL;
    if (sub == NULL || sub[0] == '\0')
        sub = "invalid configuration";
    n = sub_path_len(sub);
    if (n == 0) {
        dp_xlate__fail(x, "%s", sub);
        return rc;
    }
    size_t saved = xlate_state(x);
    xlate_append(x, "%s%.*s", x->len && sub[0] != '[' ? "." : "", (int)n, sub);
    dp_xlate__fail(x, "%s", sub + n + 2);
    dp_xlate__pop(x, saved);
    return rc;
}

int dp_xlate__fail_access_log(dp_xlate_t *x, int rc, const char *err)
{
    const char *r = err ? err : "";

    if (strncmp(r, "access_log", 10) == 0) {
        if (r[10] == ':' && r[11] == ' ') {
            r += 12;
        } else if (r[10] == ' ' && r[11] == '\'') {
            const char *q = strstr(r + 12, "': ");
            if (q != NULL)
                r = q + 3;
        }
    }
    if (sub_path_len(r) > 0 && strncmp(r, "typed_config", 12) != 0) {
        size_t saved = dp_xlate__push(x, "typed_config");
        rc = dp_xlate__fail_sub(x, rc, r);
        dp_xlate__pop(x, saved);
        return rc;
    }
    return dp_xlate__fail_sub(x, rc, r);
}

int dp_xlate__fail_unknown(dp_xlate_t *x, const ProtobufCMessageDescriptor *d, const char *err)
{
    size_t tn = strlen(d->name);
    const char *rest = err;

    /* dp_pb_check_unknown() starts its path with the root type name. */
    if (strncmp(err, d->name, tn) == 0 && (err[tn] == '.' || err[tn] == ':'))
        rest = err + tn;
    if (rest[0] == ':' && rest[1] == ' ')
        return dp_xlate__fail(x, "%s", rest + 2);
    if (rest[0] == '.') {
        const char *colon = strstr(rest, ": ");
        if (colon != NULL) {
            size_t saved = xlate_state(x);
            /* At the root the path does not start with a dot. */
            xlate_append(x, "%.*s", (int)(colon - rest - (x->len ? 0 : 1)), rest + (x->len ? 0 : 1));
            dp_xlate__fail(x, "%s", colon + 2);
            dp_xlate__pop(x, saved);
            return DP_EINVAL;
        }
    }
    return dp_xlate__fail(x, "%s", err);
}

/* ---- values ------------------------------------------------------------- */

uint32_t dp_xlate__u32(const Google__Protobuf__UInt32Value *v, uint32_t dflt)
{
    return v ? v->value : dflt;
}

bool dp_xlate__bool(const Google__Protobuf__BoolValue *v, bool dflt)
{
    return v ? v->value != 0 : dflt;
}

int dp_xlate__duration_ms(dp_xlate_t *x, const char *field, const Google__Protobuf__Duration *d,
                          uint64_t dflt, uint64_t *out)
{
    if (d == NULL) {
        *out = dflt;
        return 0;
    }
    if (d->seconds < 0 || d->nanos < 0)
        return dp_xlate__fail_at(x, field, "must not be negative");
    if (d->nanos > 999999999 || d->seconds > 315576000000LL)
        return dp_xlate__fail_at(x, field, "invalid duration");
    *out = (uint64_t)d->seconds * 1000 + (uint64_t)d->nanos / 1000000;
    return 0;
}

const char *dp_xlate__type_name(const char *type_url)
{
    const char *slash;

    if (type_url == NULL)
        return "";
    slash = strrchr(type_url, '/');
    return slash ? slash + 1 : type_url;
}

int dp_xlate__unpack_any(dp_xlate_t *x, const Google__Protobuf__Any *any, const ProtobufCMessageDescriptor *d,
                         ProtobufCMessage **out)
{
    char err[512];
    ProtobufCMessage *m;

    *out = NULL;
    if (any == NULL)
        return dp_xlate__fail(x, "required");
    m = protobuf_c_message_unpack(d, NULL, any->value.len, any->value.data);
    if (m == NULL)
        return dp_xlate__fail(x, "cannot decode %s", d->name);
    if (dp_pb_check_unknown(m, err, sizeof(err)) != 0) {
        protobuf_c_message_free_unpacked(m, NULL);
        return dp_xlate__fail_unknown(x, d, err);
    }
    *out = m;
    return 0;
}

/* ---- data sources --------------------------------------------------------- */

static int read_file(dp_xlate_t *x, const char *path, size_t max, char **out, size_t *outlen)
{
    FILE *f;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = 0;

    if (path[0] == '\0')
        return dp_xlate__fail_at(x, "filename", "must not be empty");
    f = fopen(path, "rb");
    if (f == NULL)
        return dp_xlate__fail_at(x, "filename", "cannot read '%s': %s", path, strerror(errno));
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 4096;
            buf = dp_xrealloc(buf, cap + 1);
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (len > max) {
            /* Keep reading only to report the real size. */
            while ((n = fread(buf, 1, cap, f)) > 0)
                len += n;
            rc = dp_xlate__fail(x, "size is %zu bytes; maximum is %zu", len, max);
            goto out_free;
        }
        if (n == 0) {
            if (ferror(f)) {
                rc = dp_xlate__fail_at(x, "filename", "cannot read '%s': %s", path, strerror(errno));
                goto out_free;
            }
            break;
        }
    }
    if (buf == NULL)
        buf = dp_xmalloc(1);
    buf[len] = '\0';
    fclose(f);
    *out = buf;
    *outlen = len;
    return 0;

out_free:
    free(buf);
    fclose(f);
    return rc;
}

int dp_xlate__datasource(dp_xlate_t *x, const Envoy__Config__Core__V3__DataSource *ds, size_t max, char **out,
                         size_t *outlen)
{
    const char *src = NULL;
    size_t len = 0;

    *out = NULL;
    *outlen = 0;
    switch (ds->specifier_case) {
    case ENVOY__CONFIG__CORE__V3__DATA_SOURCE__SPECIFIER_FILENAME:
        return read_file(x, ds->filename ? ds->filename : "", max, out, outlen);
    case ENVOY__CONFIG__CORE__V3__DATA_SOURCE__SPECIFIER_INLINE_BYTES:
        src = (const char *)ds->inline_bytes.data;
        len = ds->inline_bytes.len;
        break;
    case ENVOY__CONFIG__CORE__V3__DATA_SOURCE__SPECIFIER_INLINE_STRING:
        src = ds->inline_string ? ds->inline_string : "";
        len = strlen(src);
        break;
    case ENVOY__CONFIG__CORE__V3__DATA_SOURCE__SPECIFIER_ENVIRONMENT_VARIABLE:
        if (ds->environment_variable == NULL || ds->environment_variable[0] == '\0')
            return dp_xlate__fail_at(x, "environment_variable", "must not be empty");
        src = getenv(ds->environment_variable);
        if (src == NULL)
            return dp_xlate__fail_at(x, "environment_variable", "environment variable '%s' is not set",
                                     ds->environment_variable);
        len = strlen(src);
        break;
    default:
        return dp_xlate__fail(
            x, "one of filename, inline_bytes, inline_string or environment_variable is required");
    }
    if (len > max)
        return dp_xlate__fail(x, "size is %zu bytes; maximum is %zu", len, max);
    *out = dp_xmalloc(len + 1);
    if (len)
        memcpy(*out, src, len);
    (*out)[len] = '\0';
    *outlen = len;
    return 0;
}

/* ---- headers ---------------------------------------------------------------- */

bool dp_xlate__is_token(const char *s)
{
    if (s == NULL || *s == '\0')
        return false;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c))
            continue;
        if (strchr("!#$%&'*+-.^_`|~", c) == NULL)
            return false;
    }
    return true;
}

char *dp_xlate__lower_dup(const char *s)
{
    char *d = dp_xstrdup(s);
    for (char *p = d; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return d;
}

/* Pseudo headers and Host are what Envoy's HeaderUtility refuses to let
 * route configs modify (isModifiableHeader / isRemovableHeader). */
static bool is_protected_header(const char *name)
{
    return name[0] == ':' || strcasecmp(name, "host") == 0;
}

/* Envoy parses header values with its substitution formatter: '%' starts
 * an operator and "%%" is a literal '%'. We implement no operator yet, so
 * any other use of '%' is refused rather than sent verbatim. Returns the
 * unescaped value (malloc'd) or NULL with the error written. */
static char *header_value(dp_xlate_t *x, const char *v)
{
    size_t n = strlen(v);
    char *out, *o;

    if (n > MAX_HEADER_BYTES) {
        dp_xlate__fail_at(x, "header.value", "longer than %d bytes", MAX_HEADER_BYTES);
        return NULL;
    }
    for (const char *p = v; *p; p++) {
        if (*p == '\r' || *p == '\n') {
            dp_xlate__fail_at(x, "header.value", "must not contain CR or LF");
            return NULL;
        }
    }
    out = o = dp_xmalloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        if (v[i] != '%') {
            *o++ = v[i];
            continue;
        }
        if (v[i + 1] == '%') {
            *o++ = '%';
            i++;
            continue;
        }
        const char *end = strchr(v + i + 1, '%');
        if (end == NULL)
            dp_xlate__fail_at(x, "header.value", "unterminated '%%' in \"%s\" (write %%%% for a literal %%)",
                              v);
        else
            dp_xlate__fail_at(x, "header.value", "unsupported header formatter %.*s",
                              (int)(end - (v + i) + 1), v + i);
        free(out);
        return NULL;
    }
    *o = '\0';
    return out;
}

static int one_header_add(dp_xlate_t *x, const Envoy__Config__Core__V3__HeaderValueOption *h, dp_hdr_add_t *a)
{
    const char *key;

    if (h->header == NULL)
        return dp_xlate__fail_at(x, "header", "required");
    key = h->header->key ? h->header->key : "";
    if (key[0] == '\0')
        return dp_xlate__fail_at(x, "header.key", "must not be empty");
    if (is_protected_header(key))
        return dp_xlate__fail_at(x, "header.key", "'%s': :-prefixed or host headers may not be modified",
                                 key);
    if (strlen(key) > MAX_HEADER_BYTES || !dp_xlate__is_token(key))
        return dp_xlate__fail_at(x, "header.key", "'%s' is not a valid header name", key);
    if (h->append != NULL &&
        h->append_action !=
            ENVOY__CONFIG__CORE__V3__HEADER_VALUE_OPTION__HEADER_APPEND_ACTION__APPEND_IF_EXISTS_OR_ADD)
        return dp_xlate__fail(x, "append and append_action are both set; use only append_action");
    switch ((int)h->append_action) {
    case ENVOY__CONFIG__CORE__V3__HEADER_VALUE_OPTION__HEADER_APPEND_ACTION__APPEND_IF_EXISTS_OR_ADD:
        a->action = DP_APPEND_IF_EXISTS_OR_ADD;
        break;
    case ENVOY__CONFIG__CORE__V3__HEADER_VALUE_OPTION__HEADER_APPEND_ACTION__ADD_IF_ABSENT:
        a->action = DP_ADD_IF_ABSENT;
        break;
    case ENVOY__CONFIG__CORE__V3__HEADER_VALUE_OPTION__HEADER_APPEND_ACTION__OVERWRITE_IF_EXISTS_OR_ADD:
        a->action = DP_OVERWRITE_IF_EXISTS_OR_ADD;
        break;
    case ENVOY__CONFIG__CORE__V3__HEADER_VALUE_OPTION__HEADER_APPEND_ACTION__OVERWRITE_IF_EXISTS:
        a->action = DP_OVERWRITE_IF_EXISTS;
        break;
    default:
        return dp_xlate__fail_at(x, "append_action", "unknown value %d", (int)h->append_action);
    }
    /* The deprecated BoolValue: true is the default action, false means
     * overwrite. */
    if (h->append != NULL)
        a->action = h->append->value ? DP_APPEND_IF_EXISTS_OR_ADD : DP_OVERWRITE_IF_EXISTS_OR_ADD;
    a->keep_empty_value = h->keep_empty_value != 0;
    a->value = header_value(x, h->header->value ? h->header->value : "");
    if (a->value == NULL)
        return DP_EINVAL;
    a->name = dp_xlate__lower_dup(key);
    return 0;
}

int dp_xlate__mutations(dp_xlate_t *x, Envoy__Config__Core__V3__HeaderValueOption *const *add, size_t n_add,
                        const char *add_field, char *const *rm, size_t n_rm, const char *rm_field,
                        dp_hdr_mutations_t *m)
{
    if (n_add > MAX_HEADERS_TO_ADD)
        return dp_xlate__fail_at(x, add_field, "at most %d headers (got %zu)", MAX_HEADERS_TO_ADD, n_add);
    if (n_add) {
        m->add = dp_xrealloc(m->add, (m->n_add + n_add) * sizeof(*m->add));
        for (size_t i = 0; i < n_add; i++) {
            dp_hdr_add_t *a = &m->add[m->n_add];
            memset(a, 0, sizeof(*a));
            size_t saved = dp_xlate__push_idx(x, add_field, i);
            int rc = one_header_add(x, add[i], a);
            dp_xlate__pop(x, saved);
            if (rc != 0) {
                free(a->name);
                free(a->value);
                return rc;
            }
            m->n_add++;
        }
    }
    if (n_rm) {
        m->remove = dp_xrealloc(m->remove, (m->n_remove + n_rm) * sizeof(*m->remove));
        for (size_t i = 0; i < n_rm; i++) {
            const char *name = rm[i] ? rm[i] : "";
            size_t saved = dp_xlate__push_idx(x, rm_field, i);
            int rc = 0;
            if (name[0] == '\0')
                rc = dp_xlate__fail(x, "must not be empty");
            else if (is_protected_header(name))
                rc = dp_xlate__fail(x, "'%s': :-prefixed or host headers may not be removed", name);
            else if (!dp_xlate__is_token(name))
                rc = dp_xlate__fail(x, "'%s' is not a valid header name", name);
            dp_xlate__pop(x, saved);
            if (rc != 0)
                return rc;
            m->remove[m->n_remove++] = dp_xlate__lower_dup(name);
        }
    }
    return 0;
}

/* ---- addresses and config sources ------------------------------------------- */

int dp_xlate__parse_ip(const char *ip, uint16_t port, struct sockaddr_storage *ss, socklen_t *len, char *str,
                       size_t strsz)
{
    char text[INET6_ADDRSTRLEN];

    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        *len = sizeof(*sin);
        inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text));
        snprintf(str, strsz, "%s:%u", text, (unsigned)port);
        return 0;
    }
    if (inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        *len = sizeof(*sin6);
        inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof(text));
        snprintf(str, strsz, "[%s]:%u", text, (unsigned)port);
        return 0;
    }
    return -1;
}

int dp_xlate__address(dp_xlate_t *x, const Envoy__Config__Core__V3__Address *a, struct sockaddr_storage *ss,
                      socklen_t *len, char *str, size_t strsz, uint16_t *port)
{
    const Envoy__Config__Core__V3__SocketAddress *sa;
    size_t saved;
    int rc = 0;

    if (a == NULL)
        return dp_xlate__fail(x, "required");
    if (a->address_case != ENVOY__CONFIG__CORE__V3__ADDRESS__ADDRESS_SOCKET_ADDRESS ||
        a->socket_address == NULL)
        return dp_xlate__fail(x, "socket_address is required");
    sa = a->socket_address;
    saved = dp_xlate__push(x, "socket_address");
    if (sa->protocol != ENVOY__CONFIG__CORE__V3__SOCKET_ADDRESS__PROTOCOL__TCP) {
        rc = dp_xlate__fail_at(x, "protocol", "only TCP is supported yet");
        goto out;
    }
    if (sa->address == NULL || sa->address[0] == '\0') {
        rc = dp_xlate__fail_at(x, "address", "required");
        goto out;
    }
    if (sa->port_specifier_case != ENVOY__CONFIG__CORE__V3__SOCKET_ADDRESS__PORT_SPECIFIER_PORT_VALUE ||
        sa->port_value == 0) {
        rc = dp_xlate__fail_at(x, "port_value", "required (1..65535; port 0 is not supported yet)");
        goto out;
    }
    if (sa->port_value > 65535) {
        rc = dp_xlate__fail_at(x, "port_value", "%u is out of range (1..65535)", (unsigned)sa->port_value);
        goto out;
    }
    if (dp_xlate__parse_ip(sa->address, (uint16_t)sa->port_value, ss, len, str, strsz) != 0) {
        rc = dp_xlate__fail_at(
            x, "address", "'%s' is not an IPv4 or IPv6 address (DNS names are not supported)", sa->address);
        goto out;
    }
    if (port)
        *port = (uint16_t)sa->port_value;
out:
    dp_xlate__pop(x, saved);
    return rc;
}

static int grpc_service(dp_xlate_t *x, const Envoy__Config__Core__V3__GrpcService *g, const char **cluster)
{
    switch (g->target_specifier_case) {
    case ENVOY__CONFIG__CORE__V3__GRPC_SERVICE__TARGET_SPECIFIER_ENVOY_GRPC:
        if (g->envoy_grpc->cluster_name == NULL || g->envoy_grpc->cluster_name[0] == '\0')
            return dp_xlate__fail_at(x, "envoy_grpc.cluster_name", "required");
        if (cluster)
            *cluster = g->envoy_grpc->cluster_name;
        return 0;
    case ENVOY__CONFIG__CORE__V3__GRPC_SERVICE__TARGET_SPECIFIER_GOOGLE_GRPC:
        if (g->google_grpc->target_uri == NULL || g->google_grpc->target_uri[0] == '\0')
            return dp_xlate__fail_at(x, "google_grpc.target_uri", "required");
        if (g->google_grpc->stat_prefix == NULL || g->google_grpc->stat_prefix[0] == '\0')
            return dp_xlate__fail_at(x, "google_grpc.stat_prefix", "required");
        if (cluster)
            *cluster = NULL;
        return 0;
    default:
        return dp_xlate__fail(x, "one of envoy_grpc or google_grpc is required");
    }
}

int dp_xlate__api_config_source(dp_xlate_t *x, const Envoy__Config__Core__V3__ApiConfigSource *api,
                                const char **cluster)
{
    size_t saved;
    int rc;

    switch ((int)api->api_type) {
    case ENVOY__CONFIG__CORE__V3__API_CONFIG_SOURCE__API_TYPE__GRPC:
    case ENVOY__CONFIG__CORE__V3__API_CONFIG_SOURCE__API_TYPE__DELTA_GRPC:
        break;
    case ENVOY__CONFIG__CORE__V3__API_CONFIG_SOURCE__API_TYPE__DEPRECATED_AND_UNAVAILABLE_DO_NOT_USE:
        return dp_xlate__fail_at(x, "api_type", "required (GRPC or DELTA_GRPC)");
    default: {
        const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
            &envoy__config__core__v3__api_config_source__api_type__descriptor, (int)api->api_type);
        if (v == NULL)
            return dp_xlate__fail_at(x, "api_type", "unknown value %d", (int)api->api_type);
        return dp_xlate__fail_at(x, "api_type", "%s is not supported yet (GRPC or DELTA_GRPC)", v->name);
    }
    }
    if (api->transport_api_version != ENVOY__CONFIG__CORE__V3__API_VERSION__V3)
        return dp_xlate__fail_at(x, "transport_api_version",
                                 "must be V3 (AUTO and V2 are no longer supported)");
    if (api->n_cluster_names > 0)
        return dp_xlate__fail_at(x, "cluster_names", "must not be set for a gRPC API config source");
    if (api->n_grpc_services != 1)
        return dp_xlate__fail_at(x, "grpc_services", "exactly one gRPC service is required (got %zu)",
                                 api->n_grpc_services);
    saved = dp_xlate__push_idx(x, "grpc_services", 0);
    rc = grpc_service(x, api->grpc_services[0], cluster);
    dp_xlate__pop(x, saved);
    return rc;
}

int dp_xlate__config_source(dp_xlate_t *x, const Envoy__Config__Core__V3__ConfigSource *cs)
{
    size_t saved;
    int rc;

    if (cs == NULL)
        return dp_xlate__fail(x, "required");
    if (cs->resource_api_version == ENVOY__CONFIG__CORE__V3__API_VERSION__V2)
        return dp_xlate__fail_at(x, "resource_api_version", "V2 is no longer supported (use V3)");
    if (cs->resource_api_version != ENVOY__CONFIG__CORE__V3__API_VERSION__AUTO &&
        cs->resource_api_version != ENVOY__CONFIG__CORE__V3__API_VERSION__V3)
        return dp_xlate__fail_at(x, "resource_api_version", "unknown value %d",
                                 (int)cs->resource_api_version);
    if (cs->initial_fetch_timeout != NULL) {
        uint64_t ms;
        rc = dp_xlate__duration_ms(x, "initial_fetch_timeout", cs->initial_fetch_timeout, 0, &ms);
        if (rc != 0)
            return rc;
    }
    switch (cs->config_source_specifier_case) {
    case ENVOY__CONFIG__CORE__V3__CONFIG_SOURCE__CONFIG_SOURCE_SPECIFIER_ADS:
        return 0;
    case ENVOY__CONFIG__CORE__V3__CONFIG_SOURCE__CONFIG_SOURCE_SPECIFIER_API_CONFIG_SOURCE:
        saved = dp_xlate__push(x, "api_config_source");
        rc = dp_xlate__api_config_source(x, cs->api_config_source, NULL);
        dp_xlate__pop(x, saved);
        return rc;
    default:
        return dp_xlate__fail(x, "one of ads or api_config_source is required");
    }
}
