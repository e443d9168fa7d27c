/* protobuf-c message -> proto3 JSON text (compact or pretty).
 *
 * One growable buffer; an allocation failure latches `oom` and every later
 * write becomes a no-op, so the walk needs no error checks and the result
 * is dropped at the end. Field presence follows protobuf-c's packer
 * exactly, so print -> decode -> pack gives the bytes the original packs
 * to. */
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
#include "xds/pbjson.h"

#define MEMBER(m, off) ((const void *)((const char *)(m) + (off)))
/* Message nesting; a JSON level of Struct costs two (Struct, Value), and
 * decoded trees are at most DP_CFGTREE_MAX_DEPTH deep. */
#define PRINT_MAX_DEPTH (2 * DP_CFGTREE_MAX_DEPTH)

typedef struct pctx {
    char *buf;
    size_t len, cap;
    int oom;
    int too_deep;
    int flags;
    int indent;
    int depth;
    dp_pbjson_resolver_t resolver;
} pctx_t;

static void print_message(pctx_t *p, const ProtobufCMessage *m);

/* ---- output ---- */

static void put(pctx_t *p, const char *s, size_t n)
{
    if (p->oom)
        return;
    if (p->cap - p->len < n) {
        size_t ncap = p->cap ? p->cap : 256;
        while (ncap - p->len < n)
            ncap *= 2;
        char *nb = dp_cfgtree__realloc(p->buf, ncap);
        if (nb == NULL) {
            p->oom = 1;
            return;
        }
        p->buf = nb;
        p->cap = ncap;
    }
    memcpy(p->buf + p->len, s, n);
    p->len += n;
}

static void put_str(pctx_t *p, const char *s)
{
    put(p, s, strlen(s));
}

static void putf(pctx_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void putf(pctx_t *p, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (k > 0)
        put(p, tmp, DP_MIN((size_t)k, sizeof(tmp) - 1));
}

static void newline(pctx_t *p)
{
    static const char spaces[] = "                                ";
    if (!(p->flags & DP_PBJSON_PRETTY))
        return;
    put(p, "\n", 1);
    for (int left = 2 * p->indent; left > 0; left -= (int)sizeof(spaces) - 1)
        put(p, spaces, (size_t)DP_MIN(left, (int)sizeof(spaces) - 1));
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
    else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

/* A JSON string; bytes that are not UTF-8 (possible in messages that came
 * off the wire) become U+FFFD so the output stays valid JSON. */
static void put_json_string(pctx_t *p, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    put(p, "\"", 1);
    size_t run = 0; /* start of bytes copied verbatim */
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        const char *esc = NULL;
        char ubuf[8];
        size_t adv = 1;
        if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c == '\n')
            esc = "\\n";
        else if (c == '\r')
            esc = "\\r";
        else if (c == '\t')
            esc = "\\t";
        else if (c == '\b')
            esc = "\\b";
        else if (c == '\f')
            esc = "\\f";
        else if (c < 0x20 || c == 0x7f) {
            snprintf(ubuf, sizeof(ubuf), "\\u%04x", c);
            esc = ubuf;
        } else if (c >= 0x80) {
            adv = utf8_len(s + i, n - i);
            if (adv == 0) {
                esc = "\\ufffd";
                adv = 1;
            } else if (adv <= 3) {
                /* Characters YAML parsers (ours included) refuse raw or
                 * fold as line breaks: C1 controls, U+2028/9, U+FFFE/F. */
                unsigned cp = adv == 2 ? (unsigned)(c & 0x1f) << 6 | (s[i + 1] & 0x3f)
                                       : (unsigned)(c & 0x0f) << 12 | (unsigned)(s[i + 1] & 0x3f) << 6 |
                                             (s[i + 2] & 0x3f);
                if (cp <= 0x9f || cp == 0x2028 || cp == 0x2029 || cp >= 0xfffe) {
                    snprintf(ubuf, sizeof(ubuf), "\\u%04x", cp);
                    esc = ubuf;
                }
            }
        }
        if (esc) {
            put(p, str + run, i - run);
            put_str(p, esc);
            run = i + adv;
        }
        i += adv;
    }
    put(p, str + run, n - run);
    put(p, "\"", 1);
}

static void put_cstring(pctx_t *p, const char *s)
{
    put_json_string(p, s ? s : "", s ? strlen(s) : 0);
}

static void put_base64(pctx_t *p, const uint8_t *d, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    put(p, "\"", 1);
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)d[i + 1] << 8;
        if (i + 2 < n)
            v |= d[i + 2];
        char q[4] = {tab[(v >> 18) & 63], tab[(v >> 12) & 63], i + 1 < n ? tab[(v >> 6) & 63] : '=',
                     i + 2 < n ? tab[v & 63] : '='};
        put(p, q, 4);
    }
    put(p, "\"", 1);
}

/* Non-finite values are the strings proto3 JSON defines for them. */
static int put_special(pctx_t *p, double d)
{
    if (isnan(d))
        put_str(p, "\"NaN\"");
    else if (isinf(d))
        put_str(p, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    else
        return 0;
    return 1;
}

/* Shortest %g form that reads back to the same value. */
static void put_double(pctx_t *p, double d)
{
    char tmp[40];
    if (put_special(p, d))
        return;
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    put_str(p, tmp);
}

static void put_float(pctx_t *p, float f)
{
    char tmp[40];
    if (put_special(p, f))
        return;
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, (double)f);
        if (strtof(tmp, NULL) == f)
            break;
    }
    put_str(p, tmp);
}

/* ---- objects and arrays ---- */

static void open_(pctx_t *p, char ch)
{
    put(p, &ch, 1);
    p->indent++;
}

static void close_(pctx_t *p, char ch, int empty)
{
    p->indent--;
    if (!empty)
        newline(p);
    put(p, &ch, 1);
}

static void sep(pctx_t *p, int *first)
{
    if (!*first)
        put(p, ",", 1);
    *first = 0;
    newline(p);
}

static void key_raw(pctx_t *p, int *first, const char *key, size_t len)
{
    sep(p, first);
    put_json_string(p, key, len);
    put_str(p, (p->flags & DP_PBJSON_PRETTY) ? ": " : ":");
}

static void key_field(pctx_t *p, int *first, const ProtobufCFieldDescriptor *f)
{
    if (p->flags & DP_PBJSON_PROTO_NAMES) {
        key_raw(p, first, f->name, strlen(f->name));
        return;
    }
    char tmp[256];
    size_t j = 0;
    int up = 0;
    for (const char *s = f->name; *s && j < sizeof(tmp); s++) {
        if (*s == '_') {
            up = 1;
            continue;
        }
        tmp[j++] = (up && *s >= 'a' && *s <= 'z') ? (char)(*s - 'a' + 'A') : *s;
        up = 0;
    }
    key_raw(p, first, tmp, j);
}

/* ---- values ---- */

static void print_enum(pctx_t *p, const ProtobufCEnumDescriptor *ed, int v)
{
    if (ed == &google__protobuf__null_value__descriptor) {
        put_str(p, "null");
        return;
    }
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(ed, v);
    if (ev)
        put_cstring(p, ev->name);
    else
        putf(p, "%d", v);
}

/* One element of f's type stored at `ptr`. */
static void print_elem(pctx_t *p, const ProtobufCFieldDescriptor *f, const void *ptr)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        putf(p, "%" PRId32, *(const int32_t *)ptr);
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        putf(p, "%" PRIu32, *(const uint32_t *)ptr);
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        putf(p, "\"%" PRId64 "\"", *(const int64_t *)ptr);
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        putf(p, "\"%" PRIu64 "\"", *(const uint64_t *)ptr);
        break;
    case PROTOBUF_C_TYPE_FLOAT:
        put_float(p, *(const float *)ptr);
        break;
    case PROTOBUF_C_TYPE_DOUBLE:
        put_double(p, *(const double *)ptr);
        break;
    case PROTOBUF_C_TYPE_BOOL:
        put_str(p, *(const protobuf_c_boolean *)ptr ? "true" : "false");
        break;
    case PROTOBUF_C_TYPE_ENUM:
        print_enum(p, f->descriptor, *(const int *)ptr);
        break;
    case PROTOBUF_C_TYPE_STRING:
        put_cstring(p, *(char *const *)ptr);
        break;
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = ptr;
        put_base64(p, b->data, b->data ? b->len : 0);
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE:
    default: {
        const ProtobufCMessage *sm = *(const ProtobufCMessage *const *)ptr;
        if (sm)
            print_message(p, sm);
        else if (f->descriptor == &google__protobuf__value__descriptor)
            put_str(p, "null");
        else
            put_str(p, "{}");
        break;
    }
    }
}

/* Presence as protobuf-c's packer sees it. */
static int field_present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    const void *ptr = MEMBER(m, f->offset);
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        return *(const uint32_t *)MEMBER(m, f->quantifier_offset) == f->id;
    switch (f->label) {
    case PROTOBUF_C_LABEL_REPEATED:
        return *(const size_t *)MEMBER(m, f->quantifier_offset) > 0;
    case PROTOBUF_C_LABEL_REQUIRED:
        return 1;
    case PROTOBUF_C_LABEL_OPTIONAL:
        if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE)
            return *(const void *const *)ptr != NULL && *(const void *const *)ptr != f->default_value;
        return *(const protobuf_c_boolean *)MEMBER(m, f->quantifier_offset);
    case PROTOBUF_C_LABEL_NONE:
    default:
        break;
    }
    switch (f->type) {
    case PROTOBUF_C_TYPE_FLOAT:
        return *(const float *)ptr != 0;
    case PROTOBUF_C_TYPE_DOUBLE:
        return *(const double *)ptr != 0;
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(const char *const *)ptr;
        return s != NULL && s[0] != '\0';
    }
    case PROTOBUF_C_TYPE_BYTES:
        return ((const ProtobufCBinaryData *)ptr)->len > 0;
    case PROTOBUF_C_TYPE_MESSAGE:
        return *(const void *const *)ptr != NULL;
    default: {
        static const char zero[8];
        return memcmp(ptr, zero, dp_pbjson__elem_size(f->type)) != 0;
    }
    }
}

static void print_map(pctx_t *p, const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    size_t n = *(const size_t *)MEMBER(m, f->quantifier_offset);
    const ProtobufCMessage *const *arr = *(const ProtobufCMessage *const *const *)MEMBER(m, f->offset);
    const ProtobufCMessageDescriptor *ed = f->descriptor;
    const ProtobufCFieldDescriptor *kf = &ed->fields[0], *vf = &ed->fields[1];
    int first = 1;
    open_(p, '{');
    for (size_t i = 0; i < n; i++) {
        const ProtobufCMessage *e = arr[i];
        if (e == NULL)
            continue;
        const void *k = MEMBER(e, kf->offset);
        char tmp[32];
        switch (kf->type) {
        case PROTOBUF_C_TYPE_STRING: {
            const char *s = *(char *const *)k;
            key_raw(p, &first, s ? s : "", s ? strlen(s) : 0);
            break;
        }
        case PROTOBUF_C_TYPE_BOOL:
            key_raw(p, &first, *(const protobuf_c_boolean *)k ? "true" : "false",
                    *(const protobuf_c_boolean *)k ? 4 : 5);
            break;
        case PROTOBUF_C_TYPE_INT64:
        case PROTOBUF_C_TYPE_SINT64:
        case PROTOBUF_C_TYPE_SFIXED64:
            key_raw(p, &first, tmp, (size_t)snprintf(tmp, sizeof(tmp), "%" PRId64, *(const int64_t *)k));
            break;
        case PROTOBUF_C_TYPE_UINT64:
        case PROTOBUF_C_TYPE_FIXED64:
            key_raw(p, &first, tmp, (size_t)snprintf(tmp, sizeof(tmp), "%" PRIu64, *(const uint64_t *)k));
            break;
        case PROTOBUF_C_TYPE_UINT32:
        case PROTOBUF_C_TYPE_FIXED32:
            key_raw(p, &first, tmp, (size_t)snprintf(tmp, sizeof(tmp), "%" PRIu32, *(const uint32_t *)k));
            break;
        default:
            key_raw(p, &first, tmp, (size_t)snprintf(tmp, sizeof(tmp), "%" PRId32, *(const int32_t *)k));
            break;
        }
        print_elem(p, vf, MEMBER(e, vf->offset));
    }
    close_(p, '}', first);
}

static void print_array(pctx_t *p, const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    size_t n = *(const size_t *)MEMBER(m, f->quantifier_offset);
    const char *arr = *(const char *const *)MEMBER(m, f->offset);
    size_t es = dp_pbjson__elem_size(f->type);
    int first = 1;
    open_(p, '[');
    for (size_t i = 0; arr && i < n; i++) {
        sep(p, &first);
        print_elem(p, f, arr + i * es);
    }
    close_(p, ']', first);
}

static void print_fields(pctx_t *p, const ProtobufCMessage *m, int *first)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (!field_present(m, f))
            continue;
        key_field(p, first, f);
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            if (dp_pbjson__is_map(d, f))
                print_map(p, m, f);
            else
                print_array(p, m, f);
        } else {
            print_elem(p, f, MEMBER(m, f->offset));
        }
    }
}

/* ---- well-known types ---- */

static void put_nanos(pctx_t *p, uint32_t nanos)
{
    if (nanos == 0)
        return;
    if (nanos % 1000000 == 0)
        putf(p, ".%03" PRIu32, nanos / 1000000);
    else if (nanos % 1000 == 0)
        putf(p, ".%06" PRIu32, nanos / 1000);
    else
        putf(p, ".%09" PRIu32, nanos);
}

static void print_duration(pctx_t *p, const Google__Protobuf__Duration *d)
{
    int neg = d->seconds < 0 || d->nanos < 0;
    uint64_t s = d->seconds < 0 ? 0 - (uint64_t)d->seconds : (uint64_t)d->seconds;
    uint32_t ns = d->nanos < 0 ? 0 - (uint32_t)d->nanos : (uint32_t)d->nanos;
    putf(p, "\"%s%" PRIu64, neg ? "-" : "", s);
    put_nanos(p, ns);
    put_str(p, "s\"");
}

static void print_timestamp(pctx_t *p, const Google__Protobuf__Timestamp *t)
{
    long long secs = t->seconds;
    /* Out-of-range values would not survive the calendar arithmetic. */
    if (secs < DP_PBJSON__TIMESTAMP_MIN_SECONDS)
        secs = DP_PBJSON__TIMESTAMP_MIN_SECONDS;
    if (secs > DP_PBJSON__TIMESTAMP_MAX_SECONDS)
        secs = DP_PBJSON__TIMESTAMP_MAX_SECONDS;
    long long days = secs / 86400, rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    long long y;
    unsigned mo, d;
    dp_pbjson__civil_from_days(days, &y, &mo, &d);
    putf(p, "\"%04lld-%02u-%02uT%02u:%02u:%02u", y, mo, d, (unsigned)(rem / 3600), (unsigned)(rem / 60 % 60),
         (unsigned)(rem % 60));
    put_nanos(p, t->nanos < 0 ? 0 : (uint32_t)t->nanos);
    put_str(p, "Z\"");
}

static void print_value(pctx_t *p, const Google__Protobuf__Value *v)
{
    switch (v->kind_case) {
    case GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE:
        put_double(p, v->number_value);
        break;
    case GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE:
        put_cstring(p, v->string_value);
        break;
    case GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE:
        put_str(p, v->bool_value ? "true" : "false");
        break;
    case GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE:
        if (v->struct_value)
            print_message(p, &v->struct_value->base);
        else
            put_str(p, "{}");
        break;
    case GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE:
        if (v->list_value)
            print_message(p, &v->list_value->base);
        else
            put_str(p, "[]");
        break;
    case GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE:
    default:
        put_str(p, "null");
        break;
    }
}

static void print_any(pctx_t *p, const Google__Protobuf__Any *any)
{
    const char *url = any->type_url ? any->type_url : "";
    size_t vlen = any->value.data ? any->value.len : 0;
    if (url[0] == '\0' && vlen == 0) {
        put_str(p, "{}");
        return;
    }
    int first = 1;
    open_(p, '{');
    key_raw(p, &first, "@type", 5);
    put_cstring(p, url);
    const ProtobufCMessageDescriptor *d = p->resolver && url[0] ? p->resolver(url) : NULL;
    ProtobufCMessage *inner = d ? protobuf_c_message_unpack(d, NULL, vlen, any->value.data) : NULL;
    if (inner == NULL) {
        key_raw(p, &first, "value", 5);
        put_base64(p, any->value.data, vlen);
    } else if (dp_pbjson__wkt(d) != DP_PBJSON__WKT_NONE) {
        key_raw(p, &first, "value", 5);
        print_message(p, inner);
    } else {
        print_fields(p, inner, &first);
    }
    if (inner)
        protobuf_c_message_free_unpacked(inner, NULL);
    close_(p, '}', first);
}

static void print_message(pctx_t *p, const ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    if (p->depth >= PRINT_MAX_DEPTH) {
        p->too_deep = 1;
        put_str(p, "null");
        return;
    }
    p->depth++;
    switch (dp_pbjson__wkt(d)) {
    case DP_PBJSON__WKT_ANY:
        print_any(p, (const Google__Protobuf__Any *)m);
        break;
    case DP_PBJSON__WKT_DURATION:
        print_duration(p, (const Google__Protobuf__Duration *)m);
        break;
    case DP_PBJSON__WKT_TIMESTAMP:
        print_timestamp(p, (const Google__Protobuf__Timestamp *)m);
        break;
    case DP_PBJSON__WKT_STRUCT:
        print_map(p, m, &d->fields[0]);
        break;
    case DP_PBJSON__WKT_LIST:
        print_array(p, m, &d->fields[0]);
        break;
    case DP_PBJSON__WKT_VALUE:
        print_value(p, (const Google__Protobuf__Value *)m);
        break;
    case DP_PBJSON__WKT_WRAPPER:
        print_elem(p, &d->fields[0], MEMBER(m, d->fields[0].offset));
        break;
    case DP_PBJSON__WKT_NONE:
    default: {
        int first = 1;
        open_(p, '{');
        print_fields(p, m, &first);
        close_(p, '}', first);
        break;
    }
    }
    p->depth--;
}

/* ---- API ---- */

int dp_pbjson_print_buf(const ProtobufCMessage *m, dp_pbjson_resolver_t resolver, int flags, int indent,
                        char **out, size_t *outlen)
{
    if (m == NULL)
        return DP_EINVAL;
    pctx_t p;
    memset(&p, 0, sizeof(p));
    p.flags = flags;
    p.indent = indent > 0 ? indent : 0;
    p.resolver = resolver;
    print_message(&p, m);
    put(&p, "", 1);
    if (p.oom || p.too_deep) {
        free(p.buf);
        return p.oom ? DP_ENOMEM : DP_EINVAL;
    }
    *out = p.buf;
    if (outlen)
        *outlen = p.len - 1;
    return 0;
}

char *dp_pbjson_print(const ProtobufCMessage *m, dp_pbjson_resolver_t resolver, int flags)
{
    char *out;
    if (dp_pbjson_print_buf(m, resolver, flags, 0, &out, NULL))
        return NULL;
    return out;
}
