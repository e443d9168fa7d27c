/* Configuration tree -> protobuf-c message, by the proto3 JSON mapping.
 *
 * The walk follows the descriptor: decode_message_into() dispatches on
 * well-known types, decode_fields() matches keys to fields,
 * decode_field() handles singular / repeated / map fields and
 * decode_elem() one value of a field's type. Messages are built in place
 * and stay valid for protobuf_c_message_free_unpacked() at every step (a
 * oneof case, a repeated count or a pointer is written only together with
 * what it describes), so any error simply frees the partial result. */
#include "xds/pbjson.h"

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"
#include "google/protobuf/any.pb-c.h"
#include "google/protobuf/duration.pb-c.h"
#include "google/protobuf/struct.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"

#define MEMBER(m, off) ((void *)((char *)(m) + (off)))

typedef struct dctx {
    const char *fname;
    dp_pbjson_resolver_t resolver;
    int flags;
    char *errbuf;
    size_t errlen;
    size_t plen;
    char path[1024]; /* field path from the root, cut when too long */
    char gotbuf[64];
} dctx_t;

static int decode_message_into(dctx_t *c, const dp_cfgnode_t *n, ProtobufCMessage *m);
static int decode_field(dctx_t *c, const ProtobufCFieldDescriptor *f, const dp_cfgnode_t *n,
                        ProtobufCMessage *m, const dp_cfgnode_t *key);

/* ---- shared helpers (pbjson.h, internal section) ---- */

dp_pbjson__wkt_t dp_pbjson__wkt(const ProtobufCMessageDescriptor *d)
{
    static const struct {
        const char *name;
        dp_pbjson__wkt_t kind;
    } wkts[] = {
        {"Any", DP_PBJSON__WKT_ANY},
        {"Duration", DP_PBJSON__WKT_DURATION},
        {"Timestamp", DP_PBJSON__WKT_TIMESTAMP},
        {"Struct", DP_PBJSON__WKT_STRUCT},
        {"Value", DP_PBJSON__WKT_VALUE},
        {"ListValue", DP_PBJSON__WKT_LIST},
        {"BoolValue", DP_PBJSON__WKT_WRAPPER},
        {"Int32Value", DP_PBJSON__WKT_WRAPPER},
        {"Int64Value", DP_PBJSON__WKT_WRAPPER},
        {"UInt32Value", DP_PBJSON__WKT_WRAPPER},
        {"UInt64Value", DP_PBJSON__WKT_WRAPPER},
        {"FloatValue", DP_PBJSON__WKT_WRAPPER},
        {"DoubleValue", DP_PBJSON__WKT_WRAPPER},
        {"StringValue", DP_PBJSON__WKT_WRAPPER},
        {"BytesValue", DP_PBJSON__WKT_WRAPPER},
    };
    if (strncmp(d->name, "google.protobuf.", 16) != 0)
        return DP_PBJSON__WKT_NONE;
    for (size_t i = 0; i < DP_ARRAY_SIZE(wkts); i++)
        if (strcmp(d->name + 16, wkts[i].name) == 0)
            return wkts[i].kind;
    return DP_PBJSON__WKT_NONE;
}

int dp_pbjson__is_map(const ProtobufCMessageDescriptor *parent, const ProtobufCFieldDescriptor *f)
{
    if (f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_MESSAGE)
        return 0;
    const ProtobufCMessageDescriptor *e = f->descriptor;
    if (e->n_fields != 2 || e->fields[0].id != 1 || e->fields[1].id != 2 ||
        strcmp(e->fields[0].name, "key") != 0 || strcmp(e->fields[1].name, "value") != 0)
        return 0;
    /* protoc names the entry of map field `foo_bar` Parent.FooBarEntry. */
    size_t pl = strlen(parent->name);
    if (strncmp(e->name, parent->name, pl) != 0 || e->name[pl] != '.')
        return 0;
    const char *p = e->name + pl + 1;
    int cap = 1;
    for (const char *s = f->name; *s; s++) {
        if (*s == '_') {
            cap = 1;
            continue;
        }
        char ch = *s;
        if (cap && ch >= 'a' && ch <= 'z')
            ch = (char)(ch - 'a' + 'A');
        cap = 0;
        if (*p++ != ch)
            return 0;
    }
    return strcmp(p, "Entry") == 0;
}

int dp_pbjson__json_name_eq(const char *name, const char *key, size_t klen)
{
    size_t j = 0;
    int up = 0;
    for (const char *s = name; *s; s++) {
        if (*s == '_') {
            up = 1;
            continue;
        }
        char ch = *s;
        if (up && ch >= 'a' && ch <= 'z')
            ch = (char)(ch - 'a' + 'A');
        up = 0;
        if (j >= klen || key[j] != ch)
            return 0;
        j++;
    }
    return j == klen;
}

size_t dp_pbjson__elem_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return 4;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return 8;
    case PROTOBUF_C_TYPE_FLOAT:
        return sizeof(float);
    case PROTOBUF_C_TYPE_DOUBLE:
        return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_ENUM:
        return sizeof(int);
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
    default:
        return sizeof(void *);
    }
}

/* Proleptic Gregorian calendar <-> days since the epoch, by shifting the
 * year to start in March so the leap day is the last day of a year. */
long long dp_pbjson__days_from_civil(long long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

void dp_pbjson__civil_from_days(long long z, long long *y, unsigned *m, unsigned *d)
{
    z += 719468;
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (long long)yoe + era * 400 + (*m <= 2);
}

/* ---- errors and the field path ---- */

static int derr(dctx_t *c, const dp_cfgnode_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int derr(dctx_t *c, const dp_cfgnode_t *at, const char *fmt, ...)
{
    if (c->errlen == 0)
        return DP_EINVAL;
    int k = snprintf(c->errbuf, c->errlen, "%s:%u:%u: %s%s", c->fname, at->line, at->col, c->path,
                     c->plen ? ": " : "");
    if (k >= 0 && (size_t)k < c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->errbuf + k, c->errlen - (size_t)k, fmt, ap);
        va_end(ap);
    }
    return DP_EINVAL;
}

static int doom(dctx_t *c)
{
    if (c->errlen)
        snprintf(c->errbuf, c->errlen, "%s: %s%sout of memory", c->fname, c->path, c->plen ? ": " : "");
    return DP_ENOMEM;
}

static size_t path_push(dctx_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static size_t path_push(dctx_t *c, const char *fmt, ...)
{
    size_t old = c->plen;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(c->path + c->plen, sizeof(c->path) - c->plen, fmt, ap);
    va_end(ap);
    if (k > 0)
        c->plen = DP_MIN(c->plen + (size_t)k, sizeof(c->path) - 1);
    return old;
}

static size_t path_push_key(dctx_t *c, const dp_cfgnode_t *k)
{
    return path_push(c, "%s%.*s", c->plen ? "." : "", (int)DP_MIN(k->len, 200), k->str);
}

static void path_pop(dctx_t *c, size_t old)
{
    c->plen = old;
    c->path[old] = '\0';
}

/* A short, printable rendering of a node for "got ..." in messages. */
static const char *got(const dp_cfgnode_t *n, char *buf, size_t len)
{
    if (n->kind == DP_CFG_MAP)
        return "a map";
    if (n->kind == DP_CFG_SEQ)
        return "a list";
    if (dp_cfgtree_is_null(n))
        return "null";
    size_t j = 0, max = len - 6;
    buf[j++] = '"';
    for (size_t i = 0; i < n->len && j < max; i++) {
        unsigned char ch = (unsigned char)n->str[i];
        buf[j++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
    }
    if (j >= max && n->len > j - 1) {
        memcpy(buf + j, "...", 3);
        j += 3;
    }
    buf[j++] = '"';
    buf[j] = '\0';
    return buf;
}

/* Frames stay small on deep inputs: one buffer for the whole walk. */
#define GOT(n) got((n), c->gotbuf, sizeof(c->gotbuf))

/* A scalar usable as text: not a map/list/null and without NUL bytes. */
static int is_text(const dp_cfgnode_t *n)
{
    return n->kind == DP_CFG_SCALAR && !dp_cfgtree_is_null(n) && strlen(n->str) == n->len;
}

/* ---- scalars ---- */

/* JSON number, leniently (YAML users write +1, .5, 007):
 * [-+]? (digits (. digits*)? | . digits) ([eE] [-+]? digits)?
 * *is_int says whether it is just an optionally signed run of digits. */
static int number_text(const char *s, int *is_int)
{
    const char *p = s;
    int digits = 0, frac = 0;
    if (*p == '-' || *p == '+')
        p++;
    while (*p >= '0' && *p <= '9')
        p++, digits++;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9')
            p++, frac++;
        if (digits == 0 && frac == 0)
            return 0;
        frac = 1;
    } else if (digits == 0) {
        return 0;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        frac = 1;
        if (*p == '-' || *p == '+')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return 0;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    *is_int = !frac;
    return *p == '\0';
}

static int get_int(dctx_t *c, const dp_cfgnode_t *n, const char *tname, int64_t min, int64_t max,
                   int64_t *out)
{
    int is_int;
    if (!is_text(n) || !number_text(n->str, &is_int))
        return derr(c, n, "expected an integer (%s), got %s", tname, GOT(n));
    if (is_int) {
        errno = 0;
        long long v = strtoll(n->str, NULL, 10);
        if (errno == ERANGE || v < min || v > max)
            return derr(c, n, "value %s out of range for %s", GOT(n), tname);
        *out = v;
        return 0;
    }
    double d = strtod(n->str, NULL);
    if (!isfinite(d) || d != floor(d))
        return derr(c, n, "expected an integer (%s), got %s", tname, GOT(n));
    /* 2^63 is exact as a double; INT64_MAX is not. */
    if (d >= 9223372036854775808.0 || d < (double)min || d > (double)max)
        return derr(c, n, "value %s out of range for %s", GOT(n), tname);
    *out = (int64_t)d;
    return 0;
}

static int get_uint(dctx_t *c, const dp_cfgnode_t *n, const char *tname, uint64_t max, uint64_t *out)
{
    int is_int;
    if (!is_text(n) || !number_text(n->str, &is_int))
        return derr(c, n, "expected an integer (%s), got %s", tname, GOT(n));
    if (is_int) {
        const char *s = n->str;
        if (*s == '-') {
            /* strtoull would wrap "-1" around; only "-0" is acceptable. */
            if (strspn(s + 1, "0") != strlen(s + 1))
                return derr(c, n, "value %s out of range for %s", GOT(n), tname);
            *out = 0;
            return 0;
        }
        errno = 0;
        unsigned long long v = strtoull(s, NULL, 10);
        if (errno == ERANGE || v > max)
            return derr(c, n, "value %s out of range for %s", GOT(n), tname);
        *out = v;
        return 0;
    }
    double d = strtod(n->str, NULL);
    if (!isfinite(d) || d != floor(d))
        return derr(c, n, "expected an integer (%s), got %s", tname, GOT(n));
    if (d < 0 || d >= 18446744073709551616.0 || d > (double)max)
        return derr(c, n, "value %s out of range for %s", GOT(n), tname);
    *out = (uint64_t)d;
    return 0;
}

static int get_double(dctx_t *c, const dp_cfgnode_t *n, int is_float, double *out)
{
    static const char *const yaml_inf[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"};
    static const char *const yaml_ninf[] = {"-.inf", "-.Inf", "-.INF"};
    static const char *const yaml_nan[] = {".nan", ".NaN", ".NAN"};
    const char *tname = is_float ? "float" : "double";
    int is_int;
    if (!is_text(n))
        return derr(c, n, "expected a number (%s), got %s", tname, GOT(n));
    const char *s = n->str;
    if (strcmp(s, "NaN") == 0) {
        *out = NAN;
        return 0;
    }
    if (strcmp(s, "Infinity") == 0) {
        *out = INFINITY;
        return 0;
    }
    if (strcmp(s, "-Infinity") == 0) {
        *out = -INFINITY;
        return 0;
    }
    if (n->style == DP_CFG_PLAIN) {
        for (size_t i = 0; i < DP_ARRAY_SIZE(yaml_inf); i++)
            if (strcmp(s, yaml_inf[i]) == 0) {
                *out = INFINITY;
                return 0;
            }
        for (size_t i = 0; i < DP_ARRAY_SIZE(yaml_ninf); i++)
            if (strcmp(s, yaml_ninf[i]) == 0) {
                *out = -INFINITY;
                return 0;
            }
        for (size_t i = 0; i < DP_ARRAY_SIZE(yaml_nan); i++)
            if (strcmp(s, yaml_nan[i]) == 0) {
                *out = NAN;
                return 0;
            }
    }
    if (!number_text(s, &is_int))
        return derr(c, n, "expected a number (%s), got %s", tname, GOT(n));
    double d = strtod(s, NULL);
    if (isinf(d))
        return derr(c, n, "value %s out of range for %s", GOT(n), tname);
    /* Values that round to FLT_MAX are fine, which also makes the
     * printer's shortest form of FLT_MAX ("3.4028235e+38") parse back. */
    if (is_float && isinf((float)d))
        return derr(c, n, "value %s out of range for float", GOT(n));
    *out = d;
    return 0;
}

static int bool_text(const char *s, int *v)
{
    if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0) {
        *v = 1;
        return 1;
    }
    if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0) {
        *v = 0;
        return 1;
    }
    return 0;
}

static int get_bool(dctx_t *c, const dp_cfgnode_t *n, protobuf_c_boolean *out)
{
    int v;
    if (!is_text(n) || !bool_text(n->str, &v))
        return derr(c, n, "expected true or false, got %s", GOT(n));
    *out = v;
    return 0;
}

/* The text of scalar `n`, as a new string. */
static int copy_text(dctx_t *c, const dp_cfgnode_t *n, char **out)
{
    if (strlen(n->str) != n->len)
        return derr(c, n, "string contains a NUL character");
    char *s = dp_cfgtree__malloc(n->len + 1);
    if (s == NULL)
        return doom(c);
    memcpy(s, n->str, n->len + 1);
    *out = s;
    return 0;
}

static int get_string(dctx_t *c, const dp_cfgnode_t *n, char **out)
{
    if (n->kind != DP_CFG_SCALAR || dp_cfgtree_is_null(n))
        return derr(c, n, "expected a string, got %s", GOT(n));
    return copy_text(c, n, out);
}

static int b64_value(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+' || ch == '-')
        return 62;
    if (ch == '/' || ch == '_')
        return 63;
    return -1;
}

/* Standard or URL-safe base64, padding optional; whitespace (line breaks
 * of a YAML block scalar) is skipped. */
static int get_bytes(dctx_t *c, const dp_cfgnode_t *n, ProtobufCBinaryData *out)
{
    if (n->kind != DP_CFG_SCALAR || dp_cfgtree_is_null(n))
        return derr(c, n, "expected a base64 string, got %s", GOT(n));
    uint8_t *buf = dp_cfgtree__malloc(n->len / 4 * 3 + 3);
    if (buf == NULL)
        return doom(c);
    size_t nd = 0, npad = 0, olen = 0;
    uint32_t acc = 0;
    for (size_t i = 0; i < n->len; i++) {
        unsigned char ch = (unsigned char)n->str[i];
        if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t')
            continue;
        if (ch == '=') {
            npad++;
            continue;
        }
        int v = b64_value(ch);
        if (v < 0 || npad)
            goto bad;
        acc = (acc << 6) | (uint32_t)v;
        if (++nd % 4 == 0) {
            buf[olen++] = (uint8_t)(acc >> 16);
            buf[olen++] = (uint8_t)(acc >> 8);
            buf[olen++] = (uint8_t)acc;
            acc = 0;
        }
    }
    if (nd % 4 == 1 || npad > 2 || (npad && (nd + npad) % 4 != 0))
        goto bad;
    if (nd % 4 == 2) {
        buf[olen++] = (uint8_t)(acc >> 4);
    } else if (nd % 4 == 3) {
        buf[olen++] = (uint8_t)(acc >> 10);
        buf[olen++] = (uint8_t)(acc >> 2);
    }
    if (olen == 0) {
        free(buf);
        buf = NULL;
    }
    out->data = buf;
    out->len = olen;
    return 0;

bad:
    free(buf);
    return derr(c, n, "invalid base64 %s", GOT(n));
}

static int get_enum(dctx_t *c, const dp_cfgnode_t *n, const ProtobufCEnumDescriptor *ed, int *out)
{
    if (dp_cfgtree_is_null(n) && ed == &google__protobuf__null_value__descriptor) {
        *out = 0;
        return 0;
    }
    if (!is_text(n))
        return derr(c, n, "expected a value of enum %s, got %s", ed->name, GOT(n));
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value_by_name(ed, n->str);
    if (v) {
        *out = v->value;
        return 0;
    }
    int is_int;
    if (number_text(n->str, &is_int) && is_int && ed != &google__protobuf__null_value__descriptor) {
        int64_t i;
        int rc = get_int(c, n, "enum", INT32_MIN, INT32_MAX, &i);
        if (rc == 0)
            *out = (int)i;
        return rc;
    }
    return derr(c, n, "unknown value %s for enum %s", GOT(n), ed->name);
}

/* ---- well-known types ---- */

static int parse_digits(const char **p, int count, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < count; i++) {
        if ((*p)[i] < '0' || (*p)[i] > '9')
            return 0;
        v = v * 10 + (unsigned)((*p)[i] - '0');
    }
    *p += count;
    *out = v;
    return 1;
}

/* ".fffffffff": 1 to 9 digits scaled to nanoseconds; absent is 0. */
static int parse_nanos(const char **p, int32_t *nanos)
{
    *nanos = 0;
    if (**p != '.')
        return 1;
    (*p)++;
    int nd = 0;
    int32_t v = 0;
    while (**p >= '0' && **p <= '9') {
        if (++nd > 9)
            return 0;
        v = v * 10 + (**p - '0');
        (*p)++;
    }
    if (nd == 0)
        return 0;
    for (; nd < 9; nd++)
        v *= 10;
    *nanos = v;
    return 1;
}

static int decode_duration(dctx_t *c, const dp_cfgnode_t *n, ProtobufCMessage *m)
{
    Google__Protobuf__Duration *dur = (Google__Protobuf__Duration *)m;
    if (dp_cfgtree_is_null(n))
        return 0;
    if (!is_text(n))
        return derr(c, n, "expected a duration like \"1.5s\", got %s", GOT(n));
    const char *p = n->str;
    int neg = *p == '-';
    p += neg;
    int64_t secs = 0;
    int nd = 0;
    while (*p >= '0' && *p <= '9') {
        if (++nd > 12) /* more than DP_PBJSON__DURATION_MAX_SECONDS */
            return derr(c, n, "duration %s out of range", GOT(n));
        secs = secs * 10 + (*p++ - '0');
    }
    int32_t nanos;
    if (nd == 0 || !parse_nanos(&p, &nanos) || strcmp(p, "s") != 0)
        return derr(c, n, "expected a duration like \"1.5s\", got %s", GOT(n));
    if (secs > DP_PBJSON__DURATION_MAX_SECONDS)
        return derr(c, n, "duration %s out of range", GOT(n));
    dur->seconds = neg ? -secs : secs;
    dur->nanos = neg ? -nanos : nanos;
    return 0;
}

static int decode_timestamp(dctx_t *c, const dp_cfgnode_t *n, ProtobufCMessage *m)
{
    Google__Protobuf__Timestamp *ts = (Google__Protobuf__Timestamp *)m;
    if (dp_cfgtree_is_null(n))
        return 0;
    if (!is_text(n))
        goto bad;
    const char *p = n->str;
    unsigned y, mo, d, h, mi, s, oh = 0, om = 0;
    int32_t nanos;
    int off_sign = 0;
    if (!parse_digits(&p, 4, &y) || *p++ != '-' || !parse_digits(&p, 2, &mo) || *p++ != '-' ||
        !parse_digits(&p, 2, &d) || (*p != 'T' && *p != 't') || !(p++, parse_digits(&p, 2, &h)) ||
        *p++ != ':' || !parse_digits(&p, 2, &mi) || *p++ != ':' || !parse_digits(&p, 2, &s) ||
        !parse_nanos(&p, &nanos))
        goto bad;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        off_sign = *p++ == '+' ? 1 : -1;
        if (!parse_digits(&p, 2, &oh) || *p++ != ':' || !parse_digits(&p, 2, &om))
            goto bad;
    } else {
        goto bad;
    }
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (*p != '\0' || y < 1 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
        (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || s > 59 || oh > 23 || om > 59)
        goto bad;
    long long secs = dp_pbjson__days_from_civil(y, mo, d) * 86400 + (long long)h * 3600 + mi * 60LL + s -
                     off_sign * (long long)(oh * 3600 + om * 60);
    if (secs < DP_PBJSON__TIMESTAMP_MIN_SECONDS || secs > DP_PBJSON__TIMESTAMP_MAX_SECONDS)
        return derr(c, n, "timestamp %s out of range", GOT(n));
    ts->seconds = secs;
    ts->nanos = nanos;
    return 0;

bad:
    return derr(c, n, "expected an RFC 3339 timestamp like \"1972-01-01T10:00:20.021Z\", got %s", GOT(n));
}

static int decode_message_alloc(dctx_t *c, const dp_cfgnode_t *n, const ProtobufCMessageDescriptor *d,
                                ProtobufCMessage **out)
{
    *out = NULL;
    ProtobufCMessage *m = dp_cfgtree__malloc(d->sizeof_message);
    if (m == NULL)
        return doom(c);
    protobuf_c_message_init(d, m);
    int rc = decode_message_into(c, n, m);
    if (rc) {
        protobuf_c_message_free_unpacked(m, NULL);
        return rc;
    }
    *out = m;
    return 0;
}

static int decode_value(dctx_t *c, const dp_cfgnode_t *n, ProtobufCMessage *m)
{
    Google__Protobuf__Value *v = (Google__Protobuf__Value *)m;
    if (dp_cfgtree_is_null(n)) {
        v->null_value = GOOGLE__PROTOBUF__NULL_VALUE__NULL_VALUE;
        v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE;
        return 0;
    }
    if (n->kind == DP_CFG_MAP) {
        ProtobufCMessage *sm;
        int rc = decode_message_alloc(c, n, &google__protobuf__struct__descriptor, &sm);
        if (rc)
            return rc;
        v->struct_value = (Google__Protobuf__Struct *)sm;
        v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE;
        return 0;
    }
    if (n->kind == DP_CFG_SEQ) {
        ProtobufCMessage *lm;
        int rc = decode_message_alloc(c, n, &google__protobuf__list_value__descriptor, &lm);
        if (rc)
            return rc;
        v->list_value = (Google__Protobuf__ListValue *)lm;
        v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE;
        return 0;
    }
    /* No schema here: JSON typing of plain scalars (YAML 1.2 core schema,
     * so `yes` stays a string); quoted or !!str-tagged ones are strings. */
    int typed = n->style == DP_CFG_PLAIN && strlen(n->str) == n->len &&
                (n->tag == NULL || strcmp(n->tag, "tag:yaml.org,2002:str") != 0);
    int b, is_int;
    if (typed && bool_text(n->str, &b)) {
        v->bool_value = b;
        v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE;
        return 0;
    }
    if (typed && number_text(n->str, &is_int)) {
        double d;
        int rc = get_double(c, n, 0, &d);
        if (rc)
            return rc;
        v->number_value = d;
        v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE;
        return 0;
    }
    char *s;
    int rc = get_string(c, n, &s);
    if (rc)
        return rc;
    v->string_value = s;
    v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE;
    return 0;
}

static int key_is(const dp_cfgnode_t *k, const char *s)
{
    size_t l = strlen(s);
    return k->len == l && memcmp(k->str, s, l) == 0;
}

static int decode_fields(dctx_t *c, const dp_cfgnode_t *n, ProtobufCMessage *m, int skip_type);

static int decode_any(dctx_t *c, const dp_cfgnode_t *n, ProtobufCMessage *m)
{
    Google__Protobuf__Any *any = (Google__Protobuf__Any *)m;
    if (dp_cfgtree_is_null(n))
        return 0;
    if (n->kind != DP_CFG_MAP)
        return derr(c, n, "expected a map with \"@type\" (google.protobuf.Any), got %s", GOT(n));
    if (n->n == 0)
        return 0;
    const dp_cfgnode_t *tn = NULL;
    for (size_t i = 0; i < n->n && tn == NULL; i++)
        if (key_is(n->pairs[i].key, "@type"))
            tn = n->pairs[i].value;
    if (tn == NULL)
        return derr(c, n, "google.protobuf.Any without \"@type\"");
    size_t old = path_push(c, "%s@type", c->plen ? "." : "");
    if (!is_text(tn))
        return derr(c, tn, "expected a type URL, got %s", GOT(tn));
    if (c->resolver == NULL)
        return derr(c, tn, "cannot decode type \"%s\": no type resolver", tn->str);
    const ProtobufCMessageDescriptor *d = c->resolver(tn->str);
    if (d == NULL)
        return derr(c, tn, "unknown type \"%s\" in \"@type\"", tn->str);
    path_pop(c, old);

    ProtobufCMessage *inner = dp_cfgtree__malloc(d->sizeof_message);
    if (inner == NULL)
        return doom(c);
    protobuf_c_message_init(d, inner);
    int rc = 0;
    if (dp_pbjson__wkt(d) != DP_PBJSON__WKT_NONE) {
        /* Special JSON forms nest under "value". */
        for (size_t i = 0; i < n->n && rc == 0; i++) {
            const dp_cfgnode_t *k = n->pairs[i].key;
            if (key_is(k, "@type"))
                continue;
            if (!key_is(k, "value")) {
                rc = derr(c, k,
                          "unknown field \"%.*s\" in google.protobuf.Any holding %s (only "
                          "\"@type\" and \"value\")",
                          (int)DP_MIN(k->len, 100), k->str, d->name);
                break;
            }
            old = path_push_key(c, k);
            rc = decode_message_into(c, n->pairs[i].value, inner);
            path_pop(c, old);
        }
    } else {
        rc = decode_fields(c, n, inner, 1);
    }
    uint8_t *buf = NULL;
    size_t size = 0;
    char *url = NULL;
    if (rc == 0) {
        size = protobuf_c_message_get_packed_size(inner);
        buf = size ? dp_cfgtree__malloc(size) : NULL;
        url = dp_cfgtree__malloc(tn->len + 1);
        if ((size && buf == NULL) || url == NULL) {
            rc = doom(c);
        } else {
            if (size)
                protobuf_c_message_pack(inner, buf);
            memcpy(url, tn->str, tn->len + 1);
        }
    }
    protobuf_c_message_free_unpacked(inner, NULL);
    if (rc) {
        free(buf);
        free(url);
        return rc;
    }
    any->type_url = url;
    any->value.data = buf;
    any->value.len = size;
    return 0;
}

static int decode_message_into(dctx_t *c, const dp_cfgnode_t *n, ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    switch (dp_pbjson__wkt(d)) {
    case DP_PBJSON__WKT_ANY:
        return decode_any(c, n, m);
    case DP_PBJSON__WKT_DURATION:
        return decode_duration(c, n, m);
    case DP_PBJSON__WKT_TIMESTAMP:
        return decode_timestamp(c, n, m);
    case DP_PBJSON__WKT_STRUCT:
    case DP_PBJSON__WKT_LIST:
        /* Struct is map<string, Value> fields = 1; ListValue is
         * repeated Value values = 1: the JSON is that one field. */
        return decode_field(c, &d->fields[0], n, m, NULL);
    case DP_PBJSON__WKT_VALUE:
        return decode_value(c, n, m);
    case DP_PBJSON__WKT_WRAPPER:
        if (dp_cfgtree_is_null(n))
            return 0;
        return decode_field(c, &d->fields[0], n, m, NULL);
    case DP_PBJSON__WKT_NONE:
    default:
        break;
    }
    if (dp_cfgtree_is_null(n))
        return 0;
    if (n->kind != DP_CFG_MAP)
        return derr(c, n, "expected a map (%s), got %s", d->name, GOT(n));
    return decode_fields(c, n, m, 0);
}

/* ---- fields ---- */

/* Fields for which null is a value rather than "absent". */
static int null_is_value(const ProtobufCFieldDescriptor *f)
{
    return (f->type == PROTOBUF_C_TYPE_MESSAGE && f->descriptor == &google__protobuf__value__descriptor) ||
           (f->type == PROTOBUF_C_TYPE_ENUM && f->descriptor == &google__protobuf__null_value__descriptor);
}

/* One value of f's type from `n` into `dst` (storage of that type). */
static int decode_elem(dctx_t *c, const ProtobufCFieldDescriptor *f, const dp_cfgnode_t *n, void *dst)
{
    int64_t i;
    uint64_t u;
    double d;
    int rc;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        if ((rc = get_int(c, n, "int32", INT32_MIN, INT32_MAX, &i)) == 0)
            *(int32_t *)dst = (int32_t)i;
        return rc;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        if ((rc = get_int(c, n, "int64", INT64_MIN, INT64_MAX, &i)) == 0)
            *(int64_t *)dst = i;
        return rc;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        if ((rc = get_uint(c, n, "uint32", UINT32_MAX, &u)) == 0)
            *(uint32_t *)dst = (uint32_t)u;
        return rc;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        if ((rc = get_uint(c, n, "uint64", UINT64_MAX, &u)) == 0)
            *(uint64_t *)dst = u;
        return rc;
    case PROTOBUF_C_TYPE_FLOAT:
        if ((rc = get_double(c, n, 1, &d)) == 0)
            *(float *)dst = (float)d;
        return rc;
    case PROTOBUF_C_TYPE_DOUBLE:
        if ((rc = get_double(c, n, 0, &d)) == 0)
            *(double *)dst = d;
        return rc;
    case PROTOBUF_C_TYPE_BOOL:
        return get_bool(c, n, dst);
    case PROTOBUF_C_TYPE_ENUM:
        return get_enum(c, n, f->descriptor, dst);
    case PROTOBUF_C_TYPE_STRING:
        return get_string(c, n, dst);
    case PROTOBUF_C_TYPE_BYTES:
        return get_bytes(c, n, dst);
    case PROTOBUF_C_TYPE_MESSAGE:
    default:
        return decode_message_alloc(c, n, f->descriptor, dst);
    }
}

static int decode_repeated(dctx_t *c, const ProtobufCFieldDescriptor *f, const dp_cfgnode_t *n,
                           ProtobufCMessage *m)
{
    if (dp_cfgtree_is_null(n))
        return 0;
    if (n->kind != DP_CFG_SEQ)
        return derr(c, n, "expected a list, got %s", GOT(n));
    if (n->n == 0)
        return 0;
    size_t es = dp_pbjson__elem_size(f->type);
    if (n->n > SIZE_MAX / es)
        return doom(c);
    char *arr = dp_cfgtree__malloc(n->n * es);
    if (arr == NULL)
        return doom(c);
    memset(arr, 0, n->n * es);
    size_t *count = MEMBER(m, f->quantifier_offset);
    *(void **)MEMBER(m, f->offset) = arr;
    *count = 0;
    for (size_t i = 0; i < n->n; i++) {
        const dp_cfgnode_t *el = n->items[i];
        size_t old = path_push(c, "[%zu]", i);
        int rc;
        if (dp_cfgtree_is_null(el) && !null_is_value(f))
            rc = derr(c, el, "null is not allowed in a list");
        else
            rc = decode_elem(c, f, el, arr + i * es);
        path_pop(c, old);
        if (rc)
            return rc;
        (*count)++;
    }
    return 0;
}

static int map_key_eq(const ProtobufCFieldDescriptor *kf, const ProtobufCMessage *a,
                      const ProtobufCMessage *b)
{
    const void *ka = MEMBER(a, kf->offset), *kb = MEMBER(b, kf->offset);
    if (kf->type == PROTOBUF_C_TYPE_STRING)
        return strcmp(*(char *const *)ka, *(char *const *)kb) == 0;
    return memcmp(ka, kb, dp_pbjson__elem_size(kf->type)) == 0;
}

static int decode_map(dctx_t *c, const ProtobufCFieldDescriptor *f, const dp_cfgnode_t *n,
                      ProtobufCMessage *m)
{
    if (dp_cfgtree_is_null(n))
        return 0;
    if (n->kind != DP_CFG_MAP)
        return derr(c, n, "expected a map, got %s", GOT(n));
    if (n->n == 0)
        return 0;
    const ProtobufCMessageDescriptor *ed = f->descriptor;
    const ProtobufCFieldDescriptor *kf = &ed->fields[0], *vf = &ed->fields[1];
    if (n->n > SIZE_MAX / sizeof(void *))
        return doom(c);
    ProtobufCMessage **arr = dp_cfgtree__malloc(n->n * sizeof(*arr));
    if (arr == NULL)
        return doom(c);
    size_t *count = MEMBER(m, f->quantifier_offset);
    *(void **)MEMBER(m, f->offset) = arr;
    *count = 0;
    for (size_t i = 0; i < n->n; i++) {
        const dp_cfgnode_t *k = n->pairs[i].key, *v = n->pairs[i].value;
        size_t old = path_push(c, "[\"%.*s\"]", (int)DP_MIN(k->len, 100), k->str);
        ProtobufCMessage *e = dp_cfgtree__malloc(ed->sizeof_message);
        if (e == NULL)
            return doom(c);
        protobuf_c_message_init(ed, e);
        arr[(*count)++] = e;
        /* Keys are strings in JSON; decode_elem() reads numbers and
         * booleans from strings already. A string key is its text, even
         * one that reads as null in YAML (`~: x`). */
        int rc = kf->type == PROTOBUF_C_TYPE_STRING ? copy_text(c, k, MEMBER(e, kf->offset))
                                                    : decode_elem(c, kf, k, MEMBER(e, kf->offset));
        if (rc == 0 && kf->label == PROTOBUF_C_LABEL_OPTIONAL && kf->type != PROTOBUF_C_TYPE_STRING)
            *(protobuf_c_boolean *)MEMBER(e, kf->quantifier_offset) = 1;
        for (size_t j = 0; rc == 0 && j + 1 < *count; j++)
            if (map_key_eq(kf, arr[j], e))
                rc = derr(c, k, "duplicate map key %s", GOT(k));
        if (rc == 0 && dp_cfgtree_is_null(v) && !null_is_value(vf))
            rc = derr(c, v, "null is not allowed as a map value");
        if (rc == 0)
            rc = decode_field(c, vf, v, e, NULL);
        path_pop(c, old);
        if (rc)
            return rc;
    }
    return 0;
}

static int decode_field(dctx_t *c, const ProtobufCFieldDescriptor *f, const dp_cfgnode_t *n,
                        ProtobufCMessage *m, const dp_cfgnode_t *key)
{
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return dp_pbjson__is_map(m->descriptor, f) ? decode_map(c, f, n, m) : decode_repeated(c, f, n, m);
    if (dp_cfgtree_is_null(n) && !null_is_value(f))
        return 0;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        uint32_t cur = *(uint32_t *)MEMBER(m, f->quantifier_offset);
        if (cur != 0 && cur != f->id) {
            const ProtobufCFieldDescriptor *other =
                protobuf_c_message_descriptor_get_field(m->descriptor, cur);
            return derr(c, key ? key : n,
                        "fields \"%s\" and \"%s\" are both set but belong to "
                        "the same oneof",
                        other ? other->name : "?", f->name);
        }
    }
    union {
        int32_t i32;
        int64_t i64;
        double d;
        void *p;
        ProtobufCBinaryData b;
    } tmp;
    memset(&tmp, 0, sizeof(tmp));
    int rc = decode_elem(c, f, n, &tmp);
    if (rc)
        return rc;
    memcpy(MEMBER(m, f->offset), &tmp, dp_pbjson__elem_size(f->type));
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        *(uint32_t *)MEMBER(m, f->quantifier_offset) = f->id;
    else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
             f->type != PROTOBUF_C_TYPE_MESSAGE)
        *(protobuf_c_boolean *)MEMBER(m, f->quantifier_offset) = 1;
    return 0;
}

static const ProtobufCFieldDescriptor *find_field(const ProtobufCMessageDescriptor *d, const dp_cfgnode_t *k)
{
    if (strlen(k->str) != k->len)
        return NULL;
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, k->str);
    if (f)
        return f;
    for (unsigned i = 0; i < d->n_fields; i++)
        if (dp_pbjson__json_name_eq(d->fields[i].name, k->str, k->len))
            return &d->fields[i];
    return NULL;
}

static int decode_fields(dctx_t *c, const dp_cfgnode_t *n, ProtobufCMessage *m, int skip_type)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    unsigned char seen_small[64], *seen = seen_small;
    size_t nbytes = (d->n_fields + 7) / 8;
    if (nbytes > sizeof(seen_small) && (seen = dp_cfgtree__malloc(nbytes)) == NULL)
        return doom(c);
    memset(seen, 0, nbytes);
    int rc = 0;
    for (size_t i = 0; i < n->n && rc == 0; i++) {
        const dp_cfgnode_t *k = n->pairs[i].key;
        if (skip_type && key_is(k, "@type"))
            continue;
        const ProtobufCFieldDescriptor *f = find_field(d, k);
        if (f == NULL) {
            if (c->flags & DP_PBJSON_IGNORE_UNKNOWN)
                continue;
            rc = derr(c, k, "unknown field \"%.*s\" in %s (not supported)", (int)DP_MIN(k->len, 100), k->str,
                      d->name);
            break;
        }
        size_t idx = (size_t)(f - d->fields);
        if (seen[idx / 8] & (1u << (idx % 8))) {
            rc = derr(c, k, "field \"%s\" is set twice", f->name);
            break;
        }
        seen[idx / 8] |= (unsigned char)(1u << (idx % 8));
        size_t old = path_push_key(c, k);
        rc = decode_field(c, f, n->pairs[i].value, m, k);
        path_pop(c, old);
    }
    for (unsigned i = 0; i < d->n_fields && rc == 0; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->label != PROTOBUF_C_LABEL_REQUIRED)
            continue;
        int missing = !(seen[i / 8] & (1u << (i % 8)));
        if ((f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE) &&
            *(void **)MEMBER(m, f->offset) == NULL)
            missing = 1;
        if (missing)
            rc = derr(c, n, "missing required field \"%s\" in %s", f->name, d->name);
    }
    if (seen != seen_small)
        free(seen);
    return rc;
}

/* ---- API ---- */

int dp_pbjson_decode(const dp_cfgnode_t *node, const ProtobufCMessageDescriptor *desc,
                     const dp_pbjson_opts_t *opts, ProtobufCMessage **out, const char *filename, char *errbuf,
                     size_t errlen)
{
    dctx_t c;
    c.fname = filename ? filename : "<input>";
    c.resolver = opts ? opts->resolver : NULL;
    c.flags = opts ? opts->flags : 0;
    c.errbuf = errbuf;
    c.errlen = errlen;
    c.plen = 0;
    c.path[0] = '\0';
    if (errlen)
        errbuf[0] = '\0';
    if (node == NULL) {
        /* No tree at all reads like a null document. */
        static const dp_cfgnode_t null_node = {DP_CFG_SCALAR, DP_CFG_PLAIN, 1, 1, NULL, "", 0, 0, NULL, NULL};
        node = &null_node;
    }
    return decode_message_alloc(&c, node, desc, out);
}

int dp_pbjson_decode_text(const char *text, size_t len, const ProtobufCMessageDescriptor *desc,
                          const dp_pbjson_opts_t *opts, ProtobufCMessage **out, const char *filename,
                          char *errbuf, size_t errlen)
{
    dp_cfgnode_t *root;
    *out = NULL;
    int rc = dp_cfgtree_parse(text, len, filename, &root, errbuf, errlen);
    if (rc)
        return rc;
    rc = dp_pbjson_decode(root, desc, opts, out, filename, errbuf, errlen);
    dp_cfgtree_free(root);
    return rc;
}

int dp_pbjson_decode_file(const char *path, const ProtobufCMessageDescriptor *desc,
                          const dp_pbjson_opts_t *opts, ProtobufCMessage **out, char *errbuf, size_t errlen)
{
    dp_cfgnode_t *root;
    *out = NULL;
    int rc = dp_cfgtree_load_file(path, &root, errbuf, errlen);
    if (rc)
        return rc;
    rc = dp_pbjson_decode(root, desc, opts, out, path, errbuf, errlen);
    dp_cfgtree_free(root);
    return rc;
}
