/* Envoy's substitution format strings: parsing (once, at configuration
 * time) and evaluation (per request, on worker threads: nothing here is
 * mutable after parsing). See access_log_format.h for the rules. */
#include "dataplane/http/access_log_format.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dataplane/core/common.h"
#include "dataplane/http/stream.h"

/* --- output buffer ---------------------------------------------------------- */

void dp_logbuf_append(dp_logbuf_t *b, const char *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 256;
        while (ncap < b->len + n)
            ncap *= 2;
        if (b->heap) {
            b->p = dp_xrealloc(b->p, ncap);
        } else {
            char *np = dp_xmalloc(ncap);
            if (b->len > 0)
                memcpy(np, b->p, b->len);
            b->p = np;
            b->heap = true;
        }
        b->cap = ncap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

void dp_logbuf_free(dp_logbuf_t *b)
{
    if (b->heap)
        free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
    b->heap = false;
}

static void buf_puts(dp_logbuf_t *b, const char *s)
{
    dp_logbuf_append(b, s, strlen(s));
}

static void buf_putc(dp_logbuf_t *b, char c)
{
    dp_logbuf_append(b, &c, 1);
}

/* --- parsed form ------------------------------------------------------------- */

typedef enum {
    OP_LITERAL,
    OP_START_TIME,
    OP_REQ,
    OP_RESP,
    OP_PROTOCOL,
    OP_RESPONSE_CODE,
    OP_RESPONSE_CODE_DETAILS,
    OP_RESPONSE_FLAGS,
    OP_BYTES_RECEIVED,
    OP_BYTES_SENT,
    OP_DURATION,
    OP_REQUEST_DURATION,
    OP_RESPONSE_DURATION,
    OP_UPSTREAM_HOST,
    OP_UPSTREAM_CLUSTER,
    OP_DS_REMOTE,
    OP_DS_REMOTE_NOPORT,
    OP_DS_REMOTE_PORT,
    OP_DS_DIRECT_REMOTE,
    OP_DS_DIRECT_REMOTE_NOPORT,
    OP_DS_DIRECT_REMOTE_PORT,
    OP_DS_LOCAL,
    OP_DS_LOCAL_NOPORT,
    OP_DS_LOCAL_PORT,
    OP_ROUTE_NAME,
    OP_HOSTNAME,
} op_t;

/* Command syntax, as Envoy's CommandSyntaxChecker. */
enum { SYN_COMMAND_ONLY = 0, SYN_PARAMS_REQUIRED = 1, SYN_PARAMS_OPTIONAL = 2, SYN_LENGTH_ALLOWED = 4 };

static const struct {
    const char *name;
    op_t op;
    int syntax;
} ops[] = {
    {"START_TIME", OP_START_TIME, SYN_PARAMS_OPTIONAL},
    {"REQ", OP_REQ, SYN_PARAMS_REQUIRED | SYN_LENGTH_ALLOWED},
    {"REQUEST_HEADER", OP_REQ, SYN_PARAMS_REQUIRED | SYN_LENGTH_ALLOWED},
    {"RESP", OP_RESP, SYN_PARAMS_REQUIRED | SYN_LENGTH_ALLOWED},
    {"RESPONSE_HEADER", OP_RESP, SYN_PARAMS_REQUIRED | SYN_LENGTH_ALLOWED},
    {"PROTOCOL", OP_PROTOCOL, SYN_COMMAND_ONLY},
    {"RESPONSE_CODE", OP_RESPONSE_CODE, SYN_COMMAND_ONLY},
    {"RESPONSE_CODE_DETAILS", OP_RESPONSE_CODE_DETAILS, SYN_COMMAND_ONLY},
    {"RESPONSE_FLAGS", OP_RESPONSE_FLAGS, SYN_COMMAND_ONLY},
    {"BYTES_RECEIVED", OP_BYTES_RECEIVED, SYN_COMMAND_ONLY},
    {"BYTES_SENT", OP_BYTES_SENT, SYN_COMMAND_ONLY},
    {"DURATION", OP_DURATION, SYN_COMMAND_ONLY},
    {"REQUEST_DURATION", OP_REQUEST_DURATION, SYN_COMMAND_ONLY},
    {"RESPONSE_DURATION", OP_RESPONSE_DURATION, SYN_COMMAND_ONLY},
    {"UPSTREAM_HOST", OP_UPSTREAM_HOST, SYN_COMMAND_ONLY},
    {"UPSTREAM_CLUSTER", OP_UPSTREAM_CLUSTER, SYN_COMMAND_ONLY},
    {"DOWNSTREAM_REMOTE_ADDRESS", OP_DS_REMOTE, SYN_COMMAND_ONLY},
    {"DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT", OP_DS_REMOTE_NOPORT, SYN_COMMAND_ONLY},
    {"DOWNSTREAM_REMOTE_PORT", OP_DS_REMOTE_PORT, SYN_COMMAND_ONLY},
    {"DOWNSTREAM_DIRECT_REMOTE_ADDRESS", OP_DS_DIRECT_REMOTE, SYN_COMMAND_ONLY},
    {"DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT", OP_DS_DIRECT_REMOTE_NOPORT, SYN_COMMAND_ONLY},
    {"DOWNSTREAM_DIRECT_REMOTE_PORT", OP_DS_DIRECT_REMOTE_PORT, SYN_COMMAND_ONLY},
    {"DOWNSTREAM_LOCAL_ADDRESS", OP_DS_LOCAL, SYN_COMMAND_ONLY},
    {"DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT", OP_DS_LOCAL_NOPORT, SYN_COMMAND_ONLY},
    {"DOWNSTREAM_LOCAL_PORT", OP_DS_LOCAL_PORT, SYN_COMMAND_ONLY},
    {"ROUTE_NAME", OP_ROUTE_NAME, SYN_COMMAND_ONLY},
    {"HOSTNAME", OP_HOSTNAME, SYN_COMMAND_ONLY},
};

/* One piece of a custom START_TIME format. */
typedef enum {
    TP_STRFTIME, /* text handed to strftime() */
    TP_EPOCH,    /* %s */
    TP_FRAC,     /* %f, %1f .. %9f */
    TP_SECFRAC,  /* %E1S .. %E9S: seconds with a fraction */
} tpiece_kind_t;

typedef struct tpiece {
    tpiece_kind_t kind;
    char *text;
    int digits;
} tpiece_t;

typedef struct node {
    op_t op;
    char *text; /* literal; REQ/RESP main header (lowercase); HOSTNAME value */
    size_t text_len;
    char *alt; /* REQ/RESP alternative header (lowercase), or NULL */
    size_t alt_len;
    bool has_max;
    size_t max_len;
    tpiece_t *tp; /* START_TIME(...) pieces; NULL: Envoy's default format */
    size_t n_tp;
} node_t;

typedef struct seq {
    node_t *v;
    size_t n;
} seq_t;

typedef enum { J_OBJ, J_LIST, J_FMT, J_NUM } jkind_t;

typedef struct jval {
    jkind_t kind;
    char *key;         /* in an object */
    seq_t fmt;         /* J_FMT */
    double num;        /* J_NUM */
    struct jval *kids; /* J_OBJ (sorted by key), J_LIST */
    size_t n;
} jval_t;

struct dp_logfmt {
    bool json;
    bool omit_empty;
    seq_t text;
    jval_t root;
};

static void seq_free(seq_t *s)
{
    for (size_t i = 0; i < s->n; i++) {
        node_t *n = &s->v[i];
        free(n->text);
        free(n->alt);
        for (size_t j = 0; j < n->n_tp; j++)
            free(n->tp[j].text);
        free(n->tp);
    }
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

static void jval_free(jval_t *j)
{
    free(j->key);
    seq_free(&j->fmt);
    for (size_t i = 0; i < j->n; i++)
        jval_free(&j->kids[i]);
    free(j->kids);
}

void dp_logfmt_free(dp_logfmt_t *f)
{
    if (f == NULL)
        return;
    seq_free(&f->text);
    jval_free(&f->root);
    free(f);
}

/* --- parsing ------------------------------------------------------------------ */

static int fail(char *errbuf, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *errbuf, size_t errlen, const char *fmt, ...)
{
    if (errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errbuf, errlen, fmt, ap);
        va_end(ap);
    }
    return DP_EINVAL;
}

static node_t *seq_push(seq_t *s)
{
    s->v = dp_xrealloc(s->v, (s->n + 1) * sizeof(*s->v));
    node_t *n = &s->v[s->n++];
    memset(n, 0, sizeof(*n));
    return n;
}

static char *lower_dup(const char *p, size_t n)
{
    char *r = dp_xmalloc(n + 1);
    for (size_t i = 0; i < n; i++)
        r[i] = (char)tolower((unsigned char)p[i]);
    r[n] = '\0';
    return r;
}

/* Splits a START_TIME argument into strftime runs and Envoy's own
 * specifiers (%s, %f, %Nf, %ENS). */
static int parse_time_format(node_t *n, const char *p, size_t len, char *errbuf, size_t errlen)
{
    dp_logbuf_t run;
    char stack[128];
    dp_logbuf_init(&run, stack, sizeof(stack));
    size_t i = 0;
    int rc = 0;
#define FLUSH_RUN()                                                                                          \
    do {                                                                                                     \
        if (run.len > 0) {                                                                                   \
            n->tp = dp_xrealloc(n->tp, (n->n_tp + 1) * sizeof(*n->tp));                                      \
            n->tp[n->n_tp++] = (tpiece_t){TP_STRFTIME, dp_xstrndup(run.p, run.len), 0};                      \
            run.len = 0;                                                                                     \
        }                                                                                                    \
    } while (0)
#define PUSH_SPECIAL(k, d)                                                                                   \
    do {                                                                                                     \
        FLUSH_RUN();                                                                                         \
        n->tp = dp_xrealloc(n->tp, (n->n_tp + 1) * sizeof(*n->tp));                                          \
        n->tp[n->n_tp++] = (tpiece_t){(k), NULL, (d)};                                                       \
    } while (0)
    while (i < len) {
        if (p[i] != '%' || i + 1 >= len) {
            dp_logbuf_append(&run, &p[i], 1);
            i++;
            continue;
        }
        char c = p[i + 1];
        if (c == 's') {
            PUSH_SPECIAL(TP_EPOCH, 0);
            i += 2;
        } else if (c == 'f') {
            PUSH_SPECIAL(TP_FRAC, 9);
            i += 2;
        } else if (c >= '1' && c <= '9' && i + 2 < len && p[i + 2] == 'f') {
            PUSH_SPECIAL(TP_FRAC, c - '0');
            i += 3;
        } else if (c == 'E' && i + 3 < len && p[i + 2] >= '1' && p[i + 2] <= '9' && p[i + 3] == 'S') {
            PUSH_SPECIAL(TP_SECFRAC, p[i + 2] - '0');
            i += 4;
        } else {
            /* a strftime conversion, flags and all: reject %n (a newline
             * would split the log line), as Envoy does */
            size_t j = i + 1;
            while (j < len && strchr("-_0^#", p[j]))
                j++;
            while (j < len && isdigit((unsigned char)p[j]))
                j++;
            if (j < len && (p[j] == 'E' || p[j] == 'O'))
                j++;
            if (j < len && p[j] == 'n') {
                rc = fail(errbuf, errlen, "START_TIME format contains a newline (%%n)");
                goto out;
            }
            /* copy "%" and the conversion character; "%%" stays "%%" */
            dp_logbuf_append(&run, &p[i], 2);
            i += 2;
        }
    }
    FLUSH_RUN();
out:
#undef FLUSH_RUN
#undef PUSH_SPECIAL
    dp_logbuf_free(&run);
    return rc;
}

/* Builds the node for one command. */
static int make_command(node_t *n, const char *cmd, size_t cmd_len, const char *sub, size_t sub_len,
                        bool has_len, size_t max_len, char *errbuf, size_t errlen)
{
    int syntax = -1;
    for (size_t i = 0; i < DP_ARRAY_SIZE(ops); i++) {
        if (strlen(ops[i].name) == cmd_len && memcmp(ops[i].name, cmd, cmd_len) == 0) {
            n->op = ops[i].op;
            syntax = ops[i].syntax;
            break;
        }
    }
    if (syntax < 0)
        return fail(errbuf, errlen, "unsupported command operator %%%.*s%% (not implemented)", (int)cmd_len,
                    cmd);
    if ((syntax & SYN_PARAMS_REQUIRED) && sub_len == 0)
        return fail(errbuf, errlen, "%%%.*s%% requires parameters", (int)cmd_len, cmd);
    if (syntax == SYN_COMMAND_ONLY && (sub_len > 0 || has_len))
        return fail(errbuf, errlen, "%%%.*s%% does not take any parameters or length", (int)cmd_len, cmd);
    if (!(syntax & SYN_LENGTH_ALLOWED) && has_len)
        return fail(errbuf, errlen, "%%%.*s%% does not allow length to be specified", (int)cmd_len, cmd);
    n->has_max = has_len;
    n->max_len = max_len;

    switch (n->op) {
    case OP_REQ:
    case OP_RESP: {
        if (memchr(sub, '\n', sub_len) || memchr(sub, '\r', sub_len) || memchr(sub, '\0', sub_len))
            return fail(errbuf, errlen, "invalid header configuration in %%%.*s(...)%%: newline or NUL",
                        (int)cmd_len, cmd);
        const char *q = memchr(sub, '?', sub_len);
        if (q) {
            const char *alt = q + 1;
            size_t alt_len = sub_len - (size_t)(alt - sub);
            if (memchr(alt, '?', alt_len))
                return fail(errbuf, errlen, "more than 1 alternative header specified in token: %.*s",
                            (int)sub_len, sub);
            n->text = lower_dup(sub, (size_t)(q - sub));
            n->text_len = (size_t)(q - sub);
            n->alt = lower_dup(alt, alt_len);
            n->alt_len = alt_len;
        } else {
            n->text = lower_dup(sub, sub_len);
            n->text_len = sub_len;
        }
        break;
    }
    case OP_START_TIME:
        if (sub_len > 0)
            return parse_time_format(n, sub, sub_len, errbuf, errlen);
        break;
    case OP_HOSTNAME: {
        char host[256];
        if (gethostname(host, sizeof(host)) == 0) {
            host[sizeof(host) - 1] = '\0';
            n->text = dp_xstrdup(host);
            n->text_len = strlen(host);
        }
        break;
    }
    default:
        break;
    }
    return 0;
}

static bool is_cmd_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* SubstitutionFormatParser::parse: literals and commands into `out`. */
static int parse_seq(const char *f, size_t len, seq_t *out, char *errbuf, size_t errlen)
{
    dp_logbuf_t lit;
    char stack[256];
    dp_logbuf_init(&lit, stack, sizeof(stack));
    int rc = 0;
    for (size_t pos = 0; pos < len; pos++) {
        if (f[pos] != '%') {
            dp_logbuf_append(&lit, &f[pos], 1);
            continue;
        }
        if (pos + 1 < len && f[pos + 1] == '%') { /* "%%" is a literal '%' */
            dp_logbuf_append(&lit, "%", 1);
            pos++;
            continue;
        }
        if (lit.len > 0) {
            node_t *n = seq_push(out);
            n->op = OP_LITERAL;
            n->text = dp_xstrndup(lit.p, lit.len);
            n->text_len = lit.len;
            lit.len = 0;
        }
        /* %COMMAND(SUBCOMMAND):LENGTH% */
        size_t i = pos + 1;
        while (i < len && is_cmd_char(f[i]))
            i++;
        const char *cmd = f + pos + 1;
        size_t cmd_len = i - (pos + 1);
        const char *sub = NULL;
        size_t sub_len = 0;
        bool has_len = false;
        size_t max_len = 0;
        if (cmd_len > 0 && i < len && f[i] == '(') {
            const char *close = memchr(f + i + 1, ')', len - i - 1);
            if (close) {
                sub = f + i + 1;
                sub_len = (size_t)(close - sub);
                i = (size_t)(close - f) + 1;
            }
        }
        if (cmd_len > 0 && i + 1 < len && f[i] == ':' && isdigit((unsigned char)f[i + 1])) {
            size_t j = i + 1;
            uint64_t v = 0;
            bool overflow = false;
            while (j < len && isdigit((unsigned char)f[j])) {
                if (v > (UINT64_MAX - 9) / 10)
                    overflow = true;
                v = v * 10 + (uint64_t)(f[j] - '0');
                j++;
            }
            if (overflow) {
                rc = fail(errbuf, errlen, "length must be an integer, given: %.*s", (int)(j - i - 1),
                          f + i + 1);
                goto out;
            }
            has_len = true;
            max_len = (size_t)v;
            i = j;
        }
        if (cmd_len == 0 || i >= len || f[i] != '%') {
            rc = fail(errbuf, errlen, "couldn't find valid command at position %zu", pos);
            goto out;
        }
        node_t *n = seq_push(out);
        rc = make_command(n, cmd, cmd_len, sub ? sub : "", sub_len, has_len, max_len, errbuf, errlen);
        if (rc != 0)
            goto out;
        pos = i;
    }
    if (lit.len > 0 || out->n == 0) {
        node_t *n = seq_push(out);
        n->op = OP_LITERAL;
        n->text = dp_xstrndup(lit.p ? lit.p : "", lit.len);
        n->text_len = lit.len;
    }
out:
    dp_logbuf_free(&lit);
    return rc;
}

int dp_logfmt_parse_text(const char *fmt, size_t len, bool omit_empty, dp_logfmt_t **out, char *errbuf,
                         size_t errlen)
{
    dp_logfmt_t *f = dp_xcalloc(1, sizeof(*f));
    f->omit_empty = omit_empty;
    int rc = parse_seq(fmt, len, &f->text, errbuf, errlen);
    if (rc != 0) {
        dp_logfmt_free(f);
        *out = NULL;
        return rc;
    }
    *out = f;
    return 0;
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(((const jval_t *)a)->key, ((const jval_t *)b)->key);
}

static int parse_jvalue(const Google__Protobuf__Value *v, jval_t *out, const char *path, char *errbuf,
                        size_t errlen);

static int parse_jstruct(const Google__Protobuf__Struct *st, jval_t *out, const char *path, char *errbuf,
                         size_t errlen)
{
    out->kind = J_OBJ;
    out->kids = dp_xcalloc(st->n_fields ? st->n_fields : 1, sizeof(*out->kids));
    for (size_t i = 0; i < st->n_fields; i++) {
        const Google__Protobuf__Struct__FieldsEntry *e = st->fields[i];
        jval_t *k = &out->kids[out->n++];
        k->key = dp_xstrdup(e->key ? e->key : "");
        char sub[512];
        snprintf(sub, sizeof(sub), "%s.%s", path, k->key);
        if (e->value == NULL)
            return fail(errbuf, errlen,
                        "%s: only string values, nested structs, list values and number "
                        "values are supported in structured access log format",
                        sub);
        int rc = parse_jvalue(e->value, k, sub, errbuf, errlen);
        if (rc != 0)
            return rc;
    }
    qsort(out->kids, out->n, sizeof(*out->kids), cmp_key);
    return 0;
}

static int parse_jvalue(const Google__Protobuf__Value *v, jval_t *out, const char *path, char *errbuf,
                        size_t errlen)
{
    switch (v->kind_case) {
    case GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE: {
        out->kind = J_FMT;
        const char *s = v->string_value ? v->string_value : "";
        char err[256];
        int rc = parse_seq(s, strlen(s), &out->fmt, err, sizeof(err));
        if (rc != 0)
            return fail(errbuf, errlen, "%s: %s", path, err);
        return 0;
    }
    case GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE:
        out->kind = J_NUM;
        out->num = v->number_value;
        return 0;
    case GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE:
        if (v->struct_value == NULL) {
            out->kind = J_OBJ;
            return 0;
        }
        return parse_jstruct(v->struct_value, out, path, errbuf, errlen);
    case GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE: {
        out->kind = J_LIST;
        const Google__Protobuf__ListValue *l = v->list_value;
        size_t n = l ? l->n_values : 0;
        out->kids = dp_xcalloc(n ? n : 1, sizeof(*out->kids));
        for (size_t i = 0; i < n; i++) {
            char sub[512];
            snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
            jval_t *k = &out->kids[out->n++];
            if (l->values[i] == NULL)
                return fail(errbuf, errlen, "%s: empty value", sub);
            int rc = parse_jvalue(l->values[i], k, sub, errbuf, errlen);
            if (rc != 0)
                return rc;
        }
        return 0;
    }
    default:
        return fail(errbuf, errlen,
                    "%s: only string values, nested structs, list values and number values "
                    "are supported in structured access log format",
                    path);
    }
}

int dp_logfmt_parse_json(const Google__Protobuf__Struct *st, bool omit_empty, dp_logfmt_t **out, char *errbuf,
                         size_t errlen)
{
    dp_logfmt_t *f = dp_xcalloc(1, sizeof(*f));
    f->json = true;
    f->omit_empty = omit_empty;
    int rc = parse_jstruct(st, &f->root, "json_format", errbuf, errlen);
    if (rc != 0) {
        dp_logfmt_free(f);
        *out = NULL;
        return rc;
    }
    *out = f;
    return 0;
}

/* --- evaluation ------------------------------------------------------------- */

typedef enum { V_NONE, V_STR, V_NUM } vtype_t;

typedef struct val {
    vtype_t type;
    const char *s;
    size_t len;
    uint64_t num;
    char tmp[256]; /* backing store for formatted strings */
} val_t;

typedef struct ectx {
    const dp_stream_t *s;
    uint64_t start_wall_ns;
    uint64_t now_mono_ns;
} ectx_t;

static void set_str(val_t *v, const char *s, size_t len)
{
    v->type = V_STR;
    v->s = s;
    v->len = len;
}

static void set_tmp(val_t *v, int n)
{
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof(v->tmp))
        n = (int)sizeof(v->tmp) - 1;
    set_str(v, v->tmp, (size_t)n);
}

/* Envoy's address forms: "1.2.3.4:80", "[::1]:80"; without port the bare
 * IP; just port the number. */
static void addr_val(const struct sockaddr *sa, int mode, val_t *v)
{
    char ip[INET6_ADDRSTRLEN];
    uint16_t port;
    if (!dp_sockaddr_split(sa, ip, sizeof(ip), &port))
        return;
    if (mode == 1) /* without port */
        set_tmp(v, snprintf(v->tmp, sizeof(v->tmp), "%s", ip));
    else if (mode == 2) /* port */
        set_tmp(v, snprintf(v->tmp, sizeof(v->tmp), "%u", port));
    else if (sa->sa_family == AF_INET6)
        set_tmp(v, snprintf(v->tmp, sizeof(v->tmp), "[%s]:%u", ip, port));
    else
        set_tmp(v, snprintf(v->tmp, sizeof(v->tmp), "%s:%u", ip, port));
}

/* The trusted client address the HCM derived (XFF), else the peer. */
static void remote_val(const dp_stream_t *s, int mode, val_t *v)
{
    if (s->remote_addr[0] == '\0') {
        addr_val(s->peer, mode, v);
        return;
    }
    bool v6 = strchr(s->remote_addr, ':') != NULL;
    if (mode == 1)
        set_tmp(v, snprintf(v->tmp, sizeof(v->tmp), "%s", s->remote_addr));
    else if (mode == 2)
        set_tmp(v, snprintf(v->tmp, sizeof(v->tmp), "%u", (unsigned)s->remote_port));
    else
        set_tmp(v, snprintf(v->tmp, sizeof(v->tmp), v6 ? "[%s]:%u" : "%s:%u", s->remote_addr,
                            (unsigned)s->remote_port));
}

static bool header_val(const dp_stream_t *s, const char *name, size_t len, val_t *v)
{
    dp_slice_t sl = DP_SLICE_NULL;
    if (len > 0 && name[0] == ':') {
        if (len == 7 && memcmp(name, ":method", 7) == 0)
            sl = s->method;
        else if (len == 5 && memcmp(name, ":path", 5) == 0)
            sl = s->path;
        else if (len == 10 && memcmp(name, ":authority", 10) == 0)
            sl = s->authority;
        else if (len == 7 && memcmp(name, ":scheme", 7) == 0)
            sl = s->scheme;
        if (sl.base == NULL)
            return false;
        set_str(v, sl.base, sl.len);
        return true;
    }
    if (len == 4 && memcmp(name, "host", 4) == 0) { /* Host is :authority, as in Envoy */
        if (s->authority.base == NULL)
            return false;
        set_str(v, s->authority.base, s->authority.len);
        return true;
    }
    const dp_slice_t *h = dp_headers_get(&s->req_headers, name, len);
    if (h == NULL) {
        if (len == 12 && memcmp(name, "x-request-id", 12) == 0 && s->request_id.base) {
            set_str(v, s->request_id.base, s->request_id.len);
            return true;
        }
        return false;
    }
    set_str(v, h->base ? h->base : "", h->len);
    return true;
}

static void start_time_val(const node_t *n, const ectx_t *c, val_t *v)
{
    time_t secs = (time_t)(c->start_wall_ns / 1000000000u);
    uint32_t nanos = (uint32_t)(c->start_wall_ns % 1000000000u);
    struct tm tm;
    gmtime_r(&secs, &tm);
    if (n->tp == NULL) { /* Envoy's default: %Y-%m-%dT%H:%M:%E3SZ */
        set_tmp(v, snprintf(v->tmp, sizeof(v->tmp), "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
                            tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, nanos / 1000000u));
        return;
    }
    size_t o = 0, cap = sizeof(v->tmp);
    for (size_t i = 0; i < n->n_tp && o < cap - 1; i++) {
        const tpiece_t *p = &n->tp[i];
        int w = 0;
        switch (p->kind) {
        case TP_STRFTIME:
            w = (int)strftime(v->tmp + o, cap - o, p->text, &tm);
            break;
        case TP_EPOCH:
            w = snprintf(v->tmp + o, cap - o, "%lld", (long long)secs);
            break;
        case TP_FRAC: {
            uint32_t div = 1;
            for (int d = p->digits; d < 9; d++)
                div *= 10;
            w = snprintf(v->tmp + o, cap - o, "%0*u", p->digits, nanos / div);
            break;
        }
        case TP_SECFRAC: {
            uint32_t div = 1;
            for (int d = p->digits; d < 9; d++)
                div *= 10;
            w = snprintf(v->tmp + o, cap - o, "%02d.%0*u", tm.tm_sec, p->digits, nanos / div);
            break;
        }
        }
        if (w < 0)
            w = 0;
        o += (size_t)w;
        if (o >= cap)
            o = cap - 1;
    }
    v->tmp[o] = '\0';
    set_str(v, v->tmp, o);
}

static void duration_val(uint64_t from_ns, uint64_t to_ns, val_t *v)
{
    if (from_ns == 0 || to_ns == 0 || to_ns < from_ns)
        return;
    v->type = V_NUM;
    v->num = (to_ns - from_ns) / 1000000u;
}

static void eval(const node_t *n, const ectx_t *c, val_t *v)
{
    const dp_stream_t *s = c->s;
    v->type = V_NONE;
    switch (n->op) {
    case OP_LITERAL:
        set_str(v, n->text, n->text_len);
        break;
    case OP_START_TIME:
        start_time_val(n, c, v);
        break;
    case OP_REQ:
        if (!header_val(s, n->text, n->text_len, v) && n->alt)
            header_val(s, n->alt, n->alt_len, v);
        break;
    case OP_RESP:
        /* The response head is not kept past send_head (its values may
         * point into freed buffers), so response headers log as unset. */
        break;
    case OP_PROTOCOL:
        switch (s->http_version) {
        case 10:
            set_str(v, "HTTP/1.0", 8);
            break;
        case 11:
            set_str(v, "HTTP/1.1", 8);
            break;
        case 20:
            set_str(v, "HTTP/2", 6);
            break;
        case 30:
            set_str(v, "HTTP/3", 6);
            break;
        default:
            break;
        }
        break;
    case OP_RESPONSE_CODE:
        v->type = V_NUM;
        v->num = s->status > 0 ? (uint64_t)s->status : 0;
        break;
    case OP_RESPONSE_CODE_DETAILS:
        if (s->local_reply_detail)
            set_str(v, s->local_reply_detail, strlen(s->local_reply_detail));
        else if (s->status > 0 && s->upstream_host)
            set_str(v, "via_upstream", 12);
        break;
    case OP_RESPONSE_FLAGS:
        dp_response_flags_str(s->response_flags, v->tmp, sizeof(v->tmp));
        set_str(v, v->tmp, strlen(v->tmp));
        break;
    case OP_BYTES_RECEIVED:
        v->type = V_NUM;
        v->num = s->bytes_received;
        break;
    case OP_BYTES_SENT:
        v->type = V_NUM;
        v->num = s->bytes_sent;
        break;
    case OP_DURATION:
        duration_val(s->start_ns, c->now_mono_ns, v);
        break;
    case OP_REQUEST_DURATION:
        /* the time the last request byte arrived is not recorded */
        break;
    case OP_RESPONSE_DURATION:
        duration_val(s->start_ns, s->first_upstream_byte_ns, v);
        break;
    case OP_UPSTREAM_HOST:
        if (s->upstream_host)
            set_str(v, s->upstream_host, strlen(s->upstream_host));
        break;
    case OP_UPSTREAM_CLUSTER:
        if (s->cluster_name && s->cluster_name[0])
            set_str(v, s->cluster_name, strlen(s->cluster_name));
        break;
    case OP_DS_REMOTE:
        remote_val(s, 0, v);
        break;
    case OP_DS_REMOTE_NOPORT:
        remote_val(s, 1, v);
        break;
    case OP_DS_REMOTE_PORT:
        remote_val(s, 2, v);
        break;
    case OP_DS_DIRECT_REMOTE:
        addr_val(s->peer, 0, v);
        break;
    case OP_DS_DIRECT_REMOTE_NOPORT:
        addr_val(s->peer, 1, v);
        break;
    case OP_DS_DIRECT_REMOTE_PORT:
        addr_val(s->peer, 2, v);
        break;
    case OP_DS_LOCAL:
        addr_val(s->local, 0, v);
        break;
    case OP_DS_LOCAL_NOPORT:
        addr_val(s->local, 1, v);
        break;
    case OP_DS_LOCAL_PORT:
        addr_val(s->local, 2, v);
        break;
    case OP_ROUTE_NAME:
        if (s->route && s->route->name && s->route->name[0])
            set_str(v, s->route->name, strlen(s->route->name));
        break;
    case OP_HOSTNAME:
        if (n->text)
            set_str(v, n->text, n->text_len);
        break;
    }
    if (v->type == V_STR && n->has_max && v->len > n->max_len)
        v->len = n->max_len;
}

/* Text form of a value; unset values as `empty`. */
static void put_text(dp_logbuf_t *b, const val_t *v, const char *empty)
{
    char num[24];
    switch (v->type) {
    case V_NONE:
        buf_puts(b, empty);
        break;
    case V_STR:
        dp_logbuf_append(b, v->s, v->len);
        break;
    case V_NUM:
        dp_logbuf_append(b, num, (size_t)snprintf(num, sizeof(num), "%" PRIu64, v->num));
        break;
    }
}

static void write_seq_text(const seq_t *q, const ectx_t *c, const char *empty, dp_logbuf_t *b)
{
    for (size_t i = 0; i < q->n; i++) {
        val_t v;
        eval(&q->v[i], c, &v);
        put_text(b, &v, empty);
    }
}

/* Length of the valid UTF-8 sequence at p (at most n bytes), 0 if none. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

/* JSON string; bytes that are not UTF-8 become U+FFFD. */
static void put_json_str(dp_logbuf_t *b, const char *s, size_t len)
{
    buf_putc(b, '"');
    size_t i = 0, run = 0;
    while (i < len) {
        unsigned char ch = (unsigned char)s[i];
        const char *esc = NULL;
        char ubuf[8];
        size_t adv = 1;
        if (ch == '"')
            esc = "\\\"";
        else if (ch == '\\')
            esc = "\\\\";
        else if (ch == '\n')
            esc = "\\n";
        else if (ch == '\r')
            esc = "\\r";
        else if (ch == '\t')
            esc = "\\t";
        else if (ch < 0x20) {
            snprintf(ubuf, sizeof(ubuf), "\\u%04x", ch);
            esc = ubuf;
        } else if (ch >= 0x80) {
            adv = utf8_len((const unsigned char *)s + i, len - i);
            if (adv == 0) {
                esc = "\\ufffd";
                adv = 1;
            }
        }
        if (esc) {
            dp_logbuf_append(b, s + i - run, run);
            run = 0;
            buf_puts(b, esc);
            i += adv;
        } else {
            run += adv;
            i += adv;
        }
    }
    dp_logbuf_append(b, s + len - run, run);
    buf_putc(b, '"');
}

static void put_json_num(dp_logbuf_t *b, double d)
{
    char num[40];
    if (!isfinite(d)) {
        buf_puts(b, isnan(d) ? "\"NaN\"" : d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
        return;
    }
    if (d == floor(d) && fabs(d) < 9007199254740992.0) {
        snprintf(num, sizeof(num), "%.0f", d);
    } else {
        snprintf(num, sizeof(num), "%.15g", d);
        if (strtod(num, NULL) != d)
            snprintf(num, sizeof(num), "%.17g", d);
    }
    buf_puts(b, num);
}

/* Writes one JSON value; returns false (and writes nothing) when the value
 * is null and omit_empty is set, so the caller drops the key. */
static bool write_json(const dp_logfmt_t *f, const jval_t *j, const ectx_t *c, dp_logbuf_t *b, bool may_omit)
{
    switch (j->kind) {
    case J_NUM:
        put_json_num(b, j->num);
        return true;
    case J_OBJ:
    case J_LIST: {
        buf_putc(b, j->kind == J_OBJ ? '{' : '[');
        bool first = true;
        for (size_t i = 0; i < j->n; i++) {
            size_t mark = b->len;
            if (!first)
                buf_putc(b, ',');
            if (j->kind == J_OBJ) {
                put_json_str(b, j->kids[i].key, strlen(j->kids[i].key));
                buf_putc(b, ':');
            }
            if (write_json(f, &j->kids[i], c, b, f->omit_empty))
                first = false;
            else
                b->len = mark; /* dropped */
        }
        buf_putc(b, j->kind == J_OBJ ? '}' : ']');
        return true;
    }
    case J_FMT:
        break;
    }
    if (j->fmt.n == 1 && j->fmt.v[0].op != OP_LITERAL) {
        /* a lone command keeps its type */
        val_t v;
        eval(&j->fmt.v[0], c, &v);
        switch (v.type) {
        case V_NONE:
            if (may_omit)
                return false;
            buf_puts(b, "null");
            return true;
        case V_NUM: {
            char num[24];
            dp_logbuf_append(b, num, (size_t)snprintf(num, sizeof(num), "%" PRIu64, v.num));
            return true;
        }
        case V_STR:
            put_json_str(b, v.s, v.len);
            return true;
        }
    }
    /* several pieces: one string */
    char stack[512];
    dp_logbuf_t tmp;
    dp_logbuf_init(&tmp, stack, sizeof(stack));
    write_seq_text(&j->fmt, c, f->omit_empty ? "" : "-", &tmp);
    put_json_str(b, tmp.p, tmp.len);
    dp_logbuf_free(&tmp);
    return true;
}

void dp_logfmt_write(const dp_logfmt_t *f, const dp_stream_t *s, uint64_t now_wall_ns, uint64_t now_mono_ns,
                     dp_logbuf_t *out)
{
    ectx_t c = {.s = s, .now_mono_ns = now_mono_ns, .start_wall_ns = now_wall_ns};
    /* the stream's start is on the monotonic clock: project it onto the
     * wall clock through the time of emission */
    if (s->start_ns != 0 && s->start_ns <= now_mono_ns && now_mono_ns - s->start_ns <= now_wall_ns)
        c.start_wall_ns = now_wall_ns - (now_mono_ns - s->start_ns);
    if (f->json) {
        write_json(f, &f->root, &c, out, false);
        buf_putc(out, '\n');
        return;
    }
    write_seq_text(&f->text, &c, f->omit_empty ? "" : "-", out);
}
