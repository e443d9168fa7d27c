/* HTTP/1.x head parser: request line / status line and header section.
 *
 * One forward pass over the bytes with table-driven character classes
 * (8 bytes tested per branch on the hot runs: target, names, values). The
 * parse is restartable only from the beginning of the head: a DP_EAGAIN
 * leaves nothing behind, which keeps the parser stateless and the caller's
 * buffer the single source of truth. dp_h1_head_complete() keeps a slowly
 * arriving head from costing a quadratic amount of re-parsing.
 *
 * Every byte is judged as soon as it is available, so garbage is rejected
 * on the first read instead of after the head-size limit or a timeout.
 * Header fields with framing or connection semantics are interpreted while
 * they are parsed, so no second pass over the headers is needed. */
#include "dataplane/http1/parser.h"

#include <limits.h>
#include <string.h>

/* Generated from the RFC 9110 grammar; see the DP_H1__* bits in parser.h. */
/* clang-format off */
const uint8_t dp_h1__char_class[256] = {
      0,   0,   0,   0,   0,   0,   0,   0,   0,   2,   0,   0,   0,   0,   0,   0,
      0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
      2,  15,   6,   7,  15,  15,  15,  15,  14,  14,  15,  79,  14,  79,  79,   6,
    127, 127, 127, 127, 127, 127, 127, 127, 127, 127,  14,  14,   6,  14,   6,   6,
      6,  95,  95,  95,  95,  95,  95,  79,  79,  79,  79,  79,  79,  79,  79,  79,
     79,  79,  79,  79,  79,  79,  79,  79,  79,  79,  79,  14,   6,  14,   7,  15,
      7,  95,  95,  95,  95,  95,  95,  79,  79,  79,  79,  79,  79,  79,  79,  79,
     79,  79,  79,  79,  79,  79,  79,  79,  79,  79,  79,   6,   7,   6,  15,   0,
      6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,
      6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,
      6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,
      6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,
      6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,
      6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,
      6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,
      6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,   6,
};
/* clang-format on */

#define CC(c) dp_h1__char_class[(unsigned char)(c)]
#define IS_OWS(c) ((c) == ' ' || (c) == '\t')

/* Values above this are refused: consumers store lengths in off_t/int64. */
#define MAX_CONTENT_LENGTH ((uint64_t)INT64_MAX)

/* State of one head parse. Framing/connection facts are collected here as
 * their header lines go by and turned into the result at the end. */
struct ctx {
    const char *p;          /* next unparsed byte */
    const char *end;        /* buf + min(len, max_header_bytes) */
    unsigned truncated : 1; /* the input goes on beyond max_header_bytes */
    unsigned in_start_line : 1;
    unsigned is_request : 1;
    unsigned cl_seen : 1;
    unsigned te_seen : 1; /* a Transfer-Encoding line was seen (valid means: exactly "chunked") */
    unsigned conn_close : 1;
    unsigned conn_keep_alive : 1;
    unsigned conn_upgrade : 1;
    unsigned expect_continue : 1;
    int minor;
    dp_h1_target_form_t target_form;
    dp_h1_header_t *headers;
    size_t max_headers;
    size_t num_headers;
    uint64_t content_length;
    const char *host;
    size_t host_len;
    unsigned host_count;
    const char *upgrade;
    size_t upgrade_len;
    int err_status;
    const char *err;
};

void dp_h1_limits_init(dp_h1_limits_t *lim)
{
    lim->max_header_bytes = DP_H1_DEFAULT_MAX_HEADER_BYTES;
    lim->max_headers = DP_H1_DEFAULT_MAX_HEADERS;
}

static void ctx_init(struct ctx *x, const char *buf, size_t len, const dp_h1_limits_t *lim,
                     dp_h1_header_t *headers, int is_request)
{
    size_t max_bytes = lim && lim->max_header_bytes ? lim->max_header_bytes : DP_H1_DEFAULT_MAX_HEADER_BYTES;
    /* The consumed count is returned as an int. */
    if (max_bytes > INT_MAX)
        max_bytes = INT_MAX;
    memset(x, 0, sizeof(*x));
    x->p = buf;
    x->end = buf + DP_MIN(len, max_bytes);
    x->truncated = len > max_bytes;
    x->is_request = is_request ? 1 : 0;
    x->headers = headers;
    x->max_headers = lim && lim->max_headers ? lim->max_headers : DP_H1_DEFAULT_MAX_HEADERS;
}

static int fail(struct ctx *x, int status, const char *reason)
{
    x->err_status = status;
    x->err = reason;
    return DP_ERR;
}

/* The input ran out inside the head. That is only a reason to wait if the
 * caller's buffer really ends here, not if we stopped at the size limit. */
static int need_more(struct ctx *x)
{
    if (!x->truncated)
        return DP_EAGAIN;
    if (x->in_start_line)
        return x->is_request ? fail(x, 414, "request line too long") : fail(x, 431, "status line too long");
    return fail(x, 431, "header section too large");
}

/* Skips bytes of class `cls`; returns the first other byte or end. */
static inline const char *scan(const char *p, const char *end, uint8_t cls)
{
    while (end - p >= 8) {
        if (!(CC(p[0]) & CC(p[1]) & CC(p[2]) & CC(p[3]) & CC(p[4]) & CC(p[5]) & CC(p[6]) & CC(p[7]) & cls))
            break;
        p += 8;
    }
    while (p < end && (CC(*p) & cls))
        p++;
    return p;
}

/* SWAR tests on 8 bytes at once (exact for "is there any such byte"):
 * a byte below n (n <= 128), a byte equal to DEL. Bytes >= 0x80 (obs-text)
 * never match, which is what both value and target grammars want. */
/* clang-format off */
#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull
#define HAS_LESS(w, n) (((w) - ONES * (n)) & ~(w) & HIGHS)
#define HAS_DEL(w) HAS_LESS((w) ^ (ONES * 0x7f), 1)
/* clang-format on */

/* Like scan() for the two long runs of a head, values and targets: whole
 * words are skipped while they hold no byte below `lowest` and no DEL;
 * the word holding the terminator is then walked with the table. */
static inline const char *scan_fast(const char *p, const char *end, uint8_t cls, unsigned lowest)
{
    while (end - p >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        if (HAS_LESS(w, lowest) | HAS_DEL(w)) {
            for (int i = 0; i < 8; i++, p++)
                if (!(CC(*p) & cls))
                    return p;
            continue; /* an HTAB in a value: valid, go on */
        }
        p += 8;
    }
    while (p < end && (CC(*p) & cls))
        p++;
    return p;
}

/* ASCII case-insensitive comparison with a lower-case literal. */
static int eq_lower(const char *s, size_t n, const char *lit, size_t lit_len)
{
    if (n != lit_len)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((unsigned)(c - 'A') < 26u)
            c += 32;
        if (c != (unsigned char)lit[i])
            return 0;
    }
    return 1;
}
#define EQ_LIT(s, n, lit) eq_lower((s), (n), lit, sizeof(lit) - 1)

/* Iterates a comma-separated list (RFC 9110 5.6.1), trimming OWS around
 * each element. Empty elements are returned too: callers decide. */
struct list_iter {
    const char *p, *end;
    int done;
};

static int list_next(struct list_iter *it, const char **elem, size_t *elem_len)
{
    if (it->done)
        return 0;
    const char *s = it->p;
    const char *comma = memchr(s, ',', (size_t)(it->end - s));
    const char *stop = comma ? comma : it->end;
    if (comma)
        it->p = comma + 1;
    else
        it->done = 1;
    while (s < stop && IS_OWS(*s))
        s++;
    while (stop > s && IS_OWS(stop[-1]))
        stop--;
    *elem = s;
    *elem_len = (size_t)(stop - s);
    return 1;
}

static struct list_iter list_of(const dp_h1_header_t *h)
{
    return (struct list_iter){h->value, h->value + h->value_len, 0};
}

/* Line terminator: exactly CRLF. */
static int expect_crlf(struct ctx *x, const char *what)
{
    if (x->p == x->end)
        return need_more(x);
    if (*x->p != '\r')
        return fail(x, 400, *x->p == '\n' ? "bare LF line ending" : what);
    if (x->end - x->p < 2)
        return need_more(x);
    if (x->p[1] != '\n')
        return fail(x, 400, "bare CR");
    x->p += 2;
    return 0;
}

/* RFC 9112 2.2: a server SHOULD ignore at least one empty line before the
 * request line. We ignore exactly one (clients that add a CRLF after a
 * body), a second one is an error. */
static int skip_empty_line(struct ctx *x)
{
    if (*x->p != '\r')
        return 0;
    if (x->end - x->p < 2)
        return need_more(x);
    if (x->p[1] != '\n')
        return fail(x, 400, "bare CR");
    x->p += 2;
    return 0;
}

/* "HTTP/" DIGIT "." DIGIT followed by `next` (not consumed). A well-formed
 * version other than 1.0/1.1 is 505, anything else is garbage (400). */
static int parse_version(struct ctx *x, char next)
{
    static const char pattern[] = "HTTP/d.d";
    const char *p = x->p;
    for (int i = 0; i < 8; i++) {
        if (p + i == x->end)
            return need_more(x);
        char c = p[i];
        int ok = pattern[i] == 'd' ? (CC(c) & DP_H1__DIGIT) != 0 : c == pattern[i];
        if (!ok)
            return fail(x, 400, "invalid HTTP version");
    }
    if (p + 8 == x->end)
        return need_more(x);
    if (p[8] != next) {
        if (p[8] == '\n')
            return fail(x, 400, "bare LF line ending");
        return fail(x, 400,
                    next == '\r' ? "unexpected character after HTTP version" : "invalid HTTP version");
    }
    if (p[5] != '1' || p[7] > '1')
        return fail(x, 505, "HTTP version not supported");
    x->minor = p[7] - '0';
    x->p = p + 8;
    return 0;
}

static int method_is(const dp_h1_request_t *req, const char *lit, size_t n)
{
    return req->method_len == n && memcmp(req->method, lit, n) == 0;
}

/* Which form the target has, and whether the method allows it (RFC 9112
 * 3.2): a proxy must not let an ambiguous target through to a backend. */
static int check_target(struct ctx *x, const dp_h1_request_t *req)
{
    const char *t = req->target;
    size_t n = req->target_len, i;

    if (method_is(req, "CONNECT", 7)) {
        /* authority-form: uri-host ":" port, port mandatory */
        for (i = 0; i < n; i++)
            if (!(CC(t[i]) & DP_H1__HOST))
                return fail(x, 400, "CONNECT target must be host:port");
        i = n;
        while (i > 0 && (CC(t[i - 1]) & DP_H1__DIGIT))
            i--;
        if (i == n || i < 2 || t[i - 1] != ':')
            return fail(x, 400, "CONNECT target must be host:port");
        x->target_form = DP_H1_TARGET_AUTHORITY;
        return 0;
    }
    if (t[0] == '/') {
        x->target_form = DP_H1_TARGET_ORIGIN;
        return 0;
    }
    if (n == 1 && t[0] == '*') {
        if (!method_is(req, "OPTIONS", 7))
            return fail(x, 400, "asterisk-form target is only valid with OPTIONS");
        x->target_form = DP_H1_TARGET_ASTERISK;
        return 0;
    }
    /* absolute-form: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" */
    if ((unsigned)((t[0] | 0x20) - 'a') >= 26u)
        return fail(x, 400, "invalid request-target");
    for (i = 1; i < n && (CC(t[i]) & DP_H1__SCHEME); i++)
        ;
    if (i == n || t[i] != ':')
        return fail(x, 400, "invalid request-target");
    x->target_form = DP_H1_TARGET_ABSOLUTE;
    return 0;
}

static int parse_request_line(struct ctx *x, dp_h1_request_t *req)
{
    int r;
    x->in_start_line = 1;
    if ((r = skip_empty_line(x)) != 0)
        return r;

    const char *m = x->p, *p = scan(m, x->end, DP_H1__TCHAR);
    if (p == x->end)
        return need_more(x);
    if (*p != ' ') {
        if (p == m && *p == '\r')
            return fail(x, 400, "empty request line");
        if (*p == '\n')
            return fail(x, 400, "bare LF line ending");
        return fail(x, 400, "invalid character in method");
    }
    if (p == m)
        return fail(x, 400, "empty method");
    req->method = m;
    req->method_len = (size_t)(p - m);

    const char *t = ++p;
    p = scan_fast(t, x->end, DP_H1__TARGET, 0x21);
    if (p == x->end)
        return need_more(x);
    if (*p != ' ' || p == t) {
        if (p == t && *p == ' ')
            return fail(x, 400, "more than one SP in request line");
        if (p == t)
            return fail(x, 400, "empty request-target");
        if (*p == '\r' || *p == '\n')
            return fail(x, 400, "missing HTTP version");
        if (*p == '\0')
            return fail(x, 400, "NUL in request-target");
        return fail(x, 400, "invalid character in request-target");
    }
    req->target = t;
    req->target_len = (size_t)(p - t);
    if ((r = check_target(x, req)) != 0)
        return r;

    x->p = p + 1;
    if ((r = parse_version(x, '\r')) != 0)
        return r;
    if ((r = expect_crlf(x, "unexpected character after HTTP version")) != 0)
        return r;
    x->in_start_line = 0;
    return 0;
}

/* status-line = HTTP-version SP 3DIGIT SP [ reason-phrase ] CRLF; like most
 * proxies we also take "HTTP/1.1 200" CRLF without the second SP. */
static int parse_status_line(struct ctx *x, dp_h1_response_t *resp)
{
    int r;
    x->in_start_line = 1;
    if ((r = skip_empty_line(x)) != 0)
        return r;
    if ((r = parse_version(x, ' ')) != 0)
        return r;

    const char *p = x->p + 1;
    int status = 0;
    for (int i = 0; i < 3; i++, p++) {
        if (p == x->end)
            return need_more(x);
        if (!(CC(*p) & DP_H1__DIGIT))
            return fail(x, 400, "invalid status code");
        status = status * 10 + (*p - '0');
    }
    if (p == x->end)
        return need_more(x);
    const char *reason = p;
    if (*p == ' ') {
        reason = ++p;
        p = scan(p, x->end, DP_H1__VALUE);
        if (p == x->end)
            return need_more(x);
    } else if (*p != '\r' && *p != '\n') {
        return fail(x, 400, "invalid status code");
    }
    if (status < 100 || status > 599)
        return fail(x, 400, "status code out of range");
    resp->status = status;
    resp->reason = reason;
    resp->reason_len = (size_t)(p - reason);
    x->p = p;
    if ((r = expect_crlf(x, *p == '\0' ? "NUL in reason phrase" : "invalid character in reason phrase")) != 0)
        return r;
    x->in_start_line = 0;
    return 0;
}

/* --- header fields with framing or connection semantics -------------- */

static int on_content_length(struct ctx *x, const dp_h1_header_t *h)
{
    if (x->te_seen)
        return fail(x, 400, "content-length and transfer-encoding both present");
    /* RFC 9110 8.6: a list of identical values may be taken as one value;
     * any disagreement is unrecoverable framing ambiguity. */
    struct list_iter it = list_of(h);
    const char *e;
    size_t n;
    while (list_next(&it, &e, &n)) {
        if (n == 0)
            return fail(x, 400, "invalid content-length");
        uint64_t v = 0;
        for (size_t i = 0; i < n; i++) {
            if (!(CC(e[i]) & DP_H1__DIGIT))
                return fail(x, 400, "invalid content-length");
            unsigned d = (unsigned)(e[i] - '0');
            if (v > (MAX_CONTENT_LENGTH - d) / 10)
                return fail(x, 400, "content-length too large");
            v = v * 10 + d;
        }
        if (x->cl_seen && v != x->content_length)
            return fail(x, 400, "conflicting content-length values");
        x->cl_seen = 1;
        x->content_length = v;
    }
    return 0;
}

/* The only coding we implement is chunked, and it must be the final one.
 * Since any other coding is refused, the only accepted outcome over all
 * Transfer-Encoding lines together is exactly one "chunked". */
static int on_transfer_encoding(struct ctx *x, const dp_h1_header_t *h)
{
    if (x->minor == 0)
        return fail(x, 400, "transfer-encoding in an HTTP/1.0 message");
    if (x->cl_seen)
        return fail(x, 400, "content-length and transfer-encoding both present");
    if (h->value_len == 0)
        return fail(x, 400, "empty transfer-encoding");
    struct list_iter it = list_of(h);
    const char *e;
    size_t n;
    while (list_next(&it, &e, &n)) {
        if (n == 0)
            return fail(x, 400, "empty element in transfer-encoding");
        if (EQ_LIT(e, n, "chunked")) {
            if (x->te_seen)
                return fail(x, 400, "chunked transfer-coding applied more than once");
            x->te_seen = 1;
            continue;
        }
        if (x->te_seen)
            return fail(x, 400, "chunked is not the final transfer-coding");
        size_t i = 0;
        while (i < n && (CC(e[i]) & DP_H1__TCHAR))
            i++;
        if (i == 0 || (i < n && e[i] != ';' && !IS_OWS(e[i])))
            return fail(x, 400, "invalid transfer-encoding");
        return fail(x, 501, "unsupported transfer-coding");
    }
    return 0;
}

static int on_connection(struct ctx *x, const dp_h1_header_t *h)
{
    struct list_iter it = list_of(h);
    const char *e;
    size_t n;
    while (list_next(&it, &e, &n)) {
        if (EQ_LIT(e, n, "close"))
            x->conn_close = 1;
        else if (EQ_LIT(e, n, "keep-alive"))
            x->conn_keep_alive = 1;
        else if (EQ_LIT(e, n, "upgrade"))
            x->conn_upgrade = 1;
    }
    return 0;
}

static int on_host(struct ctx *x, const dp_h1_header_t *h)
{
    if (++x->host_count > 1)
        return fail(x, 400, "multiple host headers");
    /* RFC 9112 3.2: an empty Host only makes sense when the target carries
     * no authority, i.e. for an absolute-form URI without one. */
    if (h->value_len == 0 && x->target_form != DP_H1_TARGET_ABSOLUTE)
        return fail(x, 400, "empty host header");
    for (size_t i = 0; i < h->value_len; i++)
        if (!(CC(h->value[i]) & DP_H1__HOST))
            return fail(x, 400, "invalid host header");
    x->host = h->value;
    x->host_len = h->value_len;
    return 0;
}

static int on_expect(struct ctx *x, const dp_h1_header_t *h)
{
    if (!EQ_LIT(h->value, h->value_len, "100-continue"))
        return fail(x, 417, "unsupported expectation");
    x->expect_continue = 1;
    return 0;
}

static int on_header(struct ctx *x, const dp_h1_header_t *h)
{
    const char *nm = h->name;
    size_t n = h->name_len;
    switch (n) {
    case 4:
        if (x->is_request && EQ_LIT(nm, n, "host"))
            return on_host(x, h);
        break;
    case 6:
        if (x->is_request && EQ_LIT(nm, n, "expect"))
            return on_expect(x, h);
        break;
    case 7:
        if (EQ_LIT(nm, n, "upgrade") && x->upgrade == NULL && h->value_len > 0) {
            x->upgrade = h->value;
            x->upgrade_len = h->value_len;
        }
        break;
    case 10:
        if (EQ_LIT(nm, n, "connection"))
            return on_connection(x, h);
        break;
    case 14:
        if (EQ_LIT(nm, n, "content-length"))
            return on_content_length(x, h);
        break;
    case 17:
        if (EQ_LIT(nm, n, "transfer-encoding"))
            return on_transfer_encoding(x, h);
        break;
    }
    return 0;
}

/* --- header section ---------------------------------------------------- */

static const char *bad_name_reason(const char *name, const char *p, size_t num_headers)
{
    switch (*p) {
    case ' ':
    case '\t':
        if (p == name)
            return num_headers ? "obs-fold (line folding) is not allowed"
                               : "whitespace before the first header";
        return "whitespace between header name and colon";
    case '\n':
        return "bare LF line ending";
    case '\r':
        return "header line without colon";
    case '\0':
        return "NUL in header name";
    case ':':
        return "empty header name";
    default:
        return "invalid character in header name";
    }
}

static const char *bad_value_reason(char c)
{
    switch (c) {
    case '\n':
        return "bare LF line ending";
    case '\0':
        return "NUL in header value";
    default:
        return "invalid character in header value";
    }
}

static int parse_headers(struct ctx *x)
{
    const char *p = x->p, *end = x->end;
    for (;;) {
        if (p == end)
            goto more;
        if (*p == '\r') {
            if (end - p < 2)
                goto more;
            if (p[1] != '\n')
                return fail(x, 400, "bare CR");
            x->p = p + 2;
            return 0;
        }
        if (x->num_headers == x->max_headers)
            return fail(x, 431, "too many headers");

        const char *name = p;
        p = scan(p, end, DP_H1__TCHAR);
        if (p == end)
            goto more;
        if (*p != ':' || p == name)
            return fail(x, 400, bad_name_reason(name, p, x->num_headers));
        size_t name_len = (size_t)(p - name);

        p++;
        while (p < end && IS_OWS(*p))
            p++;
        const char *value = p;
        p = scan_fast(p, end, DP_H1__VALUE, 0x20);
        if (p == end)
            goto more;
        if (*p != '\r')
            return fail(x, 400, bad_value_reason(*p));
        if (end - p < 2)
            goto more;
        if (p[1] != '\n')
            return fail(x, 400, "bare CR in header value");
        const char *vend = p;
        while (vend > value && IS_OWS(vend[-1]))
            vend--;

        dp_h1_header_t *h = &x->headers[x->num_headers++];
        h->name = name;
        h->name_len = name_len;
        h->value = value;
        h->value_len = (size_t)(vend - value);
        int r = on_header(x, h);
        if (r != 0)
            return r;
        p += 2;
    }
more:
    return need_more(x);
}

/* --- public entry points ----------------------------------------------- */

int dp_h1_parse_request(const char *buf, size_t len, const dp_h1_limits_t *lim, dp_h1_request_t *req,
                        dp_h1_header_t *headers)
{
    struct ctx x;
    int r;

    memset(req, 0, sizeof(*req));
    req->headers = headers;
    if (len == 0)
        return DP_EAGAIN;
    ctx_init(&x, buf, len, lim, headers, 1);

    if ((r = parse_request_line(&x, req)) != 0)
        goto out;
    req->minor_version = x.minor;
    req->target_form = x.target_form;
    if ((r = parse_headers(&x)) != 0)
        goto out;

    if (x.minor == 1 && x.host_count == 0) {
        r = fail(&x, 400, "missing host header");
        goto out;
    }
    if (x.te_seen) {
        req->body = DP_H1_BODY_CHUNKED;
    } else if (x.cl_seen && x.content_length > 0) {
        req->body = DP_H1_BODY_LENGTH;
        req->content_length = x.content_length;
    } else {
        req->body = DP_H1_BODY_NONE;
    }
    req->keep_alive = x.minor == 1 ? !x.conn_close : (x.conn_keep_alive && !x.conn_close);
    /* RFC 9110 10.1.1: a 100-continue in HTTP/1.0 must be ignored, and so
     * must an Upgrade (RFC 9110 7.8). */
    req->expect_continue = x.minor == 1 && x.expect_continue;
    if (x.minor == 1 && x.conn_upgrade && x.upgrade != NULL) {
        req->upgrade = 1;
        req->upgrade_value = x.upgrade;
        req->upgrade_value_len = x.upgrade_len;
    }
    req->host = x.host;
    req->host_len = x.host_len;
    r = (int)(x.p - buf);
out:
    req->num_headers = x.num_headers;
    if (r == DP_ERR) {
        req->error_status = x.err_status;
        req->error = x.err;
    }
    return r;
}

int dp_h1_parse_response(const char *buf, size_t len, const dp_h1_limits_t *lim, int request_was_head,
                         dp_h1_response_t *resp, dp_h1_header_t *headers)
{
    struct ctx x;
    int r;

    memset(resp, 0, sizeof(*resp));
    resp->headers = headers;
    if (len == 0)
        return DP_EAGAIN;
    ctx_init(&x, buf, len, lim, headers, 0);

    if ((r = parse_status_line(&x, resp)) != 0)
        goto out;
    resp->minor_version = x.minor;
    if ((r = parse_headers(&x)) != 0)
        goto out;

    int status = resp->status;
    int no_body = request_was_head || status < 200 || status == 204 || status == 304;
    if (no_body) {
        resp->body = DP_H1_BODY_NONE;
        resp->content_length = x.cl_seen ? x.content_length : 0;
    } else if (x.te_seen) {
        resp->body = DP_H1_BODY_CHUNKED;
    } else if (x.cl_seen) {
        resp->body = x.content_length ? DP_H1_BODY_LENGTH : DP_H1_BODY_NONE;
        resp->content_length = x.content_length;
    } else {
        resp->body = DP_H1_BODY_UNTIL_CLOSE;
    }
    resp->keep_alive = resp->body != DP_H1_BODY_UNTIL_CLOSE &&
                       (x.minor == 1 ? !x.conn_close : (x.conn_keep_alive && !x.conn_close));
    r = (int)(x.p - buf);
out:
    resp->num_headers = x.num_headers;
    if (r == DP_ERR)
        resp->error = x.err;
    return r;
}

int dp_h1_head_complete(const char *buf, size_t len, size_t last_len)
{
    /* The previous call saw no end in buf[0..last_len); an end can only
     * straddle its last bytes, so 3 bytes of overlap are enough. */
    size_t i = last_len <= len && last_len > 3 ? last_len - 3 : 0;
    while (i < len) {
        const char *lf = memchr(buf + i, '\n', len - i);
        if (lf == NULL)
            break;
        size_t k = (size_t)(lf - buf), end = 0;
        if (k + 1 < len && buf[k + 1] == '\n')
            end = k + 2;
        else if (k + 2 < len && buf[k + 1] == '\r' && buf[k + 2] == '\n')
            end = k + 3;
        if (end)
            return end <= INT_MAX ? (int)end : DP_ERR;
        i = k + 1;
    }
    return DP_EAGAIN;
}
