/* HTTP/1.x parser: valid heads (whole and byte by byte), every smuggling
 * vector we know with its status, limits, responses, the incremental
 * end-of-head finder and the chunked decoder under every split. */
#include "dataplane/http1/parser.h"

#include <stdlib.h>
#include <time.h>

#include "test.h"

#define HDRS 128

/* Prints a raw HTTP message with escapes, to say which case failed. */
static void dump(const char *what, const char *s, size_t n)
{
    fprintf(stderr, "  in %s: \"", what);
    for (size_t i = 0; i < n && i < 200; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\r')
            fputs("\\r", stderr);
        else if (c == '\n')
            fputs("\\n", stderr);
        else if (c < 0x20 || c >= 0x7f)
            fprintf(stderr, "\\x%02x", c);
        else
            fputc(c, stderr);
    }
    fputs(n > 200 ? "...\"\n" : "\"\n", stderr);
}

/* Exactly-sized heap copy, so that ASan catches any read beyond len. */
static char *exact(const char *s, size_t n)
{
    char *p = malloc(n ? n : 1);
    memcpy(p, s, n);
    return p;
}

/* ---- valid requests ---------------------------------------------------- */

struct req_ok {
    const char *raw;
    size_t raw_len;  /* 0: strlen(raw) */
    size_t trailing; /* bytes after the head (body, next request) */
    const char *method, *target;
    int minor;
    size_t num_headers;
    dp_h1_body_kind_t body;
    uint64_t content_length;
    int keep_alive, expect_continue, upgrade;
    const char *host; /* NULL: absent */
    dp_h1_target_form_t form;
};

static const struct req_ok req_ok[] = {
    {"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", 0, 0, "GET", "/", 1, 1, DP_H1_BODY_NONE, 0, 1, 0, 0,
     "example.com", DP_H1_TARGET_ORIGIN},
    {"HEAD /index.html?q=1&r=%20 HTTP/1.1\r\nHost: a:8080\r\nAccept: */*\r\n\r\n", 0, 0, "HEAD",
     "/index.html?q=1&r=%20", 1, 2, DP_H1_BODY_NONE, 0, 1, 0, 0, "a:8080", DP_H1_TARGET_ORIGIN},
    {"POST /submit HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", 0, 5, "POST", "/submit", 1, 2,
     DP_H1_BODY_LENGTH, 5, 1, 0, 0, "a", DP_H1_TARGET_ORIGIN},
    {"PUT /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 0, 15, "PUT",
     "/x", 1, 2, DP_H1_BODY_CHUNKED, 0, 1, 0, 0, "a", DP_H1_TARGET_ORIGIN},
    {"DELETE /r/1 HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", 0, 0, "DELETE", "/r/1", 1, 1, DP_H1_BODY_NONE, 0, 1, 0,
     0, "[::1]:80", DP_H1_TARGET_ORIGIN},
    {"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 0, 0, "OPTIONS", "*", 1, 1, DP_H1_BODY_NONE, 0, 1, 0, 0, "a",
     DP_H1_TARGET_ASTERISK},
    {"OPTIONS /p HTTP/1.1\r\nHost: a\r\n\r\n", 0, 0, "OPTIONS", "/p", 1, 1, DP_H1_BODY_NONE, 0, 1, 0, 0, "a",
     DP_H1_TARGET_ORIGIN},
    {"TRACE / HTTP/1.1\r\nHost: a\r\n\r\n", 0, 0, "TRACE", "/", 1, 1, DP_H1_BODY_NONE, 0, 1, 0, 0, "a",
     DP_H1_TARGET_ORIGIN},
    {"PATCH /p HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", 0, 0, "PATCH", "/p", 1, 2, DP_H1_BODY_NONE,
     0, 1, 0, 0, "a", DP_H1_TARGET_ORIGIN},
    {"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 0, 0, "CONNECT", "example.com:443",
     1, 1, DP_H1_BODY_NONE, 0, 1, 0, 0, "example.com:443", DP_H1_TARGET_AUTHORITY},
    {"CONNECT [2001:db8::1]:8443 HTTP/1.1\r\nHost: [2001:db8::1]:8443\r\n\r\n", 0, 0, "CONNECT",
     "[2001:db8::1]:8443", 1, 1, DP_H1_BODY_NONE, 0, 1, 0, 0, "[2001:db8::1]:8443", DP_H1_TARGET_AUTHORITY},
    {"M-SEARCH /upnp HTTP/1.1\r\nHost: a\r\nMAN: \"ssdp:discover\"\r\n\r\n", 0, 0, "M-SEARCH", "/upnp", 1, 2,
     DP_H1_BODY_NONE, 0, 1, 0, 0, "a", DP_H1_TARGET_ORIGIN},
    {"PROPFIND /dav HTTP/1.1\r\nHost: a\r\nDepth: 1\r\n\r\n", 0, 0, "PROPFIND", "/dav", 1, 2, DP_H1_BODY_NONE,
     0, 1, 0, 0, "a", DP_H1_TARGET_ORIGIN},
    {"GET http://example.com/x?y HTTP/1.1\r\nHost: example.com\r\n\r\n", 0, 0, "GET",
     "http://example.com/x?y", 1, 1, DP_H1_BODY_NONE, 0, 1, 0, 0, "example.com", DP_H1_TARGET_ABSOLUTE},
    {"GET urn:isbn:123 HTTP/1.1\r\nHost:\r\n\r\n", 0, 0, "GET", "urn:isbn:123", 1, 1, DP_H1_BODY_NONE, 0, 1,
     0, 0, "", DP_H1_TARGET_ABSOLUTE},
    /* HTTP/1.0: no Host needed, keep-alive only when asked for */
    {"GET / HTTP/1.0\r\n\r\n", 0, 0, "GET", "/", 0, 0, DP_H1_BODY_NONE, 0, 0, 0, 0, NULL,
     DP_H1_TARGET_ORIGIN},
    {"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 0, 0, "GET", "/", 0, 1, DP_H1_BODY_NONE, 0, 1, 0, 0,
     NULL, DP_H1_TARGET_ORIGIN},
    {"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", 0, 0, "GET", "/", 0, 1, DP_H1_BODY_NONE, 0, 0,
     0, 0, NULL, DP_H1_TARGET_ORIGIN},
    {"POST / HTTP/1.0\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nabc", 0, 3, "POST", "/", 0, 2,
     DP_H1_BODY_LENGTH, 3, 0, 0, 0, NULL, DP_H1_TARGET_ORIGIN},
    {"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 0, 0, "GET", "/", 1, 2, DP_H1_BODY_NONE, 0, 0,
     0, 0, "a", DP_H1_TARGET_ORIGIN},
    {"GET / HTTP/1.1\r\nHost: a\r\nConnection: foo,,  CLOSE ,bar\r\n\r\n", 0, 0, "GET", "/", 1, 2,
     DP_H1_BODY_NONE, 0, 0, 0, 0, "a", DP_H1_TARGET_ORIGIN},
    {"GET /chat HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n", 0, 0,
     "GET", "/chat", 1, 3, DP_H1_BODY_NONE, 0, 1, 0, 1, "a", DP_H1_TARGET_ORIGIN},
    {"GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n", 0, 0, "GET", "/chat", 1, 2,
     DP_H1_BODY_NONE, 0, 1, 0, 0, "a", DP_H1_TARGET_ORIGIN},
    {"POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\nExpect: 100-Continue\r\n\r\n", 0, 0, "POST", "/u",
     1, 3, DP_H1_BODY_LENGTH, 10, 1, 1, 0, "a", DP_H1_TARGET_ORIGIN},
    /* pipelined: only the first head is consumed */
    {"GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n", 0, 28, "GET", "/a", 1, 1,
     DP_H1_BODY_NONE, 0, 1, 0, 0, "a", DP_H1_TARGET_ORIGIN},
    /* one leading empty line is skipped (and counted as consumed) */
    {"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 0, 0, "GET", "/", 1, 1, DP_H1_BODY_NONE, 0, 1, 0, 0, "a",
     DP_H1_TARGET_ORIGIN},
    /* tabs, obs-text, empty values, OWS trimmed on both sides */
    {"GET / HTTP/1.1\r\nHost:\ta\t\r\nX-Obs: \t caf\xc3\xa9 \xff\tz \t\r\nX-Empty:\r\nX-Sp:   \r\n\r\n", 0, 0,
     "GET", "/", 1, 4, DP_H1_BODY_NONE, 0, 1, 0, 0, "a", DP_H1_TARGET_ORIGIN},
    /* identical duplicate Content-Length, as separate lines and as a list */
    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 0, 5, "POST", "/",
     1, 3, DP_H1_BODY_LENGTH, 5, 1, 0, 0, "a", DP_H1_TARGET_ORIGIN},
    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 7, 7,7\r\n\r\n", 0, 0, "POST", "/", 1, 2,
     DP_H1_BODY_LENGTH, 7, 1, 0, 0, "a", DP_H1_TARGET_ORIGIN},
    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0009223372036854775807\r\n\r\n", 0, 0, "POST", "/", 1, 2,
     DP_H1_BODY_LENGTH, 9223372036854775807ull, 1, 0, 0, "a", DP_H1_TARGET_ORIGIN},
    /* "Transfer-Encoding:\tchunked" is valid (OWS), and codings are case-insensitive */
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tchunked\r\n\r\n", 0, 0, "POST", "/", 1, 2,
     DP_H1_BODY_CHUNKED, 0, 1, 0, 0, "a", DP_H1_TARGET_ORIGIN},
    {"POST / HTTP/1.1\r\nHost: a\r\ntransfer-encoding: ChUnKeD \r\n\r\n", 0, 0, "POST", "/", 1, 2,
     DP_H1_BODY_CHUNKED, 0, 1, 0, 0, "a", DP_H1_TARGET_ORIGIN},
    /* GET with a body is framed normally */
    {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi", 0, 2, "GET", "/", 1, 2, DP_H1_BODY_LENGTH, 2,
     1, 0, 0, "a", DP_H1_TARGET_ORIGIN},
    /* methods are case-sensitive tokens: lower-case is just another method */
    {"get / HTTP/1.1\r\nHost: a\r\n\r\n", 0, 0, "get", "/", 1, 1, DP_H1_BODY_NONE, 0, 1, 0, 0, "a",
     DP_H1_TARGET_ORIGIN},
    /* obs-text in the target is passed through */
    {"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 0, 0, "GET", "/caf\xc3\xa9", 1, 1, DP_H1_BODY_NONE, 0, 1,
     0, 0, "a", DP_H1_TARGET_ORIGIN},
    {"GET / HTTP/1.1\r\nHost: a\r\nX-Tok: !#$%&'*+-.^_`|~09azAZ\r\n!#$%&'*+-.^_`|~09azAZ: v\r\n\r\n", 0, 0,
     "GET", "/", 1, 3, DP_H1_BODY_NONE, 0, 1, 0, 0, "a", DP_H1_TARGET_ORIGIN},
};

static void check_req_result(const struct req_ok *tc, const dp_h1_request_t *r, size_t raw_len)
{
    int failed = test_failed_;
    CHECK_MEM(r->method, r->method_len, tc->method);
    CHECK_MEM(r->target, r->target_len, tc->target);
    CHECK_INT(r->minor_version, tc->minor);
    CHECK_INT(r->num_headers, tc->num_headers);
    CHECK_INT(r->body, tc->body);
    CHECK_INT(r->content_length, tc->content_length);
    CHECK_INT(r->keep_alive, tc->keep_alive);
    CHECK_INT(r->expect_continue, tc->expect_continue);
    CHECK_INT(r->upgrade, tc->upgrade);
    CHECK_INT(r->target_form, tc->form);
    if (tc->host)
        CHECK_MEM(r->host, r->host_len, tc->host);
    else
        CHECK(r->host == NULL);
    CHECK_INT(r->error_status, 0);
    CHECK(r->error == NULL);
    if (failed != test_failed_)
        dump("request", tc->raw, raw_len);
}

static void test_valid_requests(void)
{
    for (size_t i = 0; i < DP_ARRAY_SIZE(req_ok); i++) {
        const struct req_ok *tc = &req_ok[i];
        size_t len = tc->raw_len ? tc->raw_len : strlen(tc->raw);
        size_t head = len - tc->trailing;
        dp_h1_header_t hv[HDRS];
        dp_h1_request_t req;
        dp_h1_limits_t lim = {0, HDRS};

        char *buf = exact(tc->raw, len);
        int n = dp_h1_parse_request(buf, len, &lim, &req, hv);
        CHECK_INT(n, head);
        if (n != (int)head) {
            dump("request", tc->raw, len);
            fprintf(stderr, "  error: %d %s\n", req.error_status, req.error ? req.error : "-");
            free(buf);
            continue;
        }
        check_req_result(tc, &req, len);
        /* every pointer lies inside the buffer */
        CHECK(req.headers == hv);
        for (size_t k = 0; k < req.num_headers; k++) {
            CHECK(hv[k].name >= buf && hv[k].name + hv[k].name_len <= buf + head);
            CHECK(hv[k].value >= buf && hv[k].value + hv[k].value_len <= buf + head);
        }
        free(buf);

        /* byte by byte: need-more on every proper prefix, then the same result */
        int bad = 0;
        for (size_t k = 1; k < head && !bad; k++) {
            char *pre = exact(tc->raw, k);
            int r = dp_h1_parse_request(pre, k, &lim, &req, hv);
            if (r != DP_EAGAIN) {
                fprintf(stderr, "prefix %zu returned %d (%s)\n", k, r, req.error ? req.error : "-");
                dump("request", tc->raw, len);
                bad = 1;
            }
            free(pre);
        }
        CHECK(!bad);
        buf = exact(tc->raw, head);
        CHECK_INT(dp_h1_parse_request(buf, head, &lim, &req, hv), head);
        check_req_result(tc, &req, len);
        free(buf);
        /* a limit of exactly the head size is enough */
        buf = exact(tc->raw, len);
        dp_h1_limits_t tight = {head, HDRS};
        CHECK_INT(dp_h1_parse_request(buf, len, &tight, &req, hv), head);
        tight.max_header_bytes = head - 1;
        CHECK_INT(dp_h1_parse_request(buf, len, &tight, &req, hv), DP_ERR);
        CHECK(req.error_status == 431 || req.error_status == 414);
        free(buf);
    }
}

static void test_request_details(void)
{
    dp_h1_header_t hv[HDRS];
    dp_h1_request_t req;
    const char *raw = "GET / HTTP/1.1\r\nHost:\ta\t\r\nX-Obs: \t caf\xc3\xa9 \xff\tz \t\r\nX-Empty:\r\n\r\n";
    int n = dp_h1_parse_request(raw, strlen(raw), NULL, &req, hv);
    CHECK_INT(n, strlen(raw));
    CHECK_INT(req.num_headers, 3);
    CHECK_MEM(hv[0].name, hv[0].name_len, "Host");
    CHECK_MEM(hv[0].value, hv[0].value_len, "a");
    CHECK_MEM(hv[1].name, hv[1].name_len, "X-Obs");
    CHECK_MEM(hv[1].value, hv[1].value_len, "caf\xc3\xa9 \xff\tz");
    CHECK_MEM(hv[2].name, hv[2].name_len, "X-Empty");
    CHECK_INT(hv[2].value_len, 0);

    raw = "GET /chat HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n";
    CHECK(dp_h1_parse_request(raw, strlen(raw), NULL, &req, hv) > 0);
    CHECK_INT(req.upgrade, 1);
    CHECK_MEM(req.upgrade_value, req.upgrade_value_len, "h2c");
    /* HTTP/1.0 Upgrade must be ignored */
    raw = "GET /chat HTTP/1.0\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n";
    CHECK(dp_h1_parse_request(raw, strlen(raw), NULL, &req, hv) > 0);
    CHECK_INT(req.upgrade, 0);

    /* the parse never looks past len, even when the byte there would decide */
    raw = "GET / HTTP/1.1\r\nHost: a\r\n\r";
    CHECK_INT(dp_h1_parse_request(raw, strlen(raw), NULL, &req, hv), DP_EAGAIN);
    CHECK_INT(dp_h1_parse_request(raw, 0, NULL, &req, hv), DP_EAGAIN);
    CHECK_INT(dp_h1_parse_request("\r", 1, NULL, &req, hv), DP_EAGAIN);
}

/* Every byte value at every offset of a value / target / name: accepted
 * exactly when the grammar allows it (covers the word-at-a-time scans). */
static void test_byte_classes(void)
{
    dp_h1_header_t hv[HDRS];
    dp_h1_request_t req;
    char buf[128];
    int bad = 0;
    for (int b = 0; b < 256 && !bad; b++) {
        int vchar = b > 0x20 && b < 0x7f;
        int obs = b >= 0x80;
        int value_ok = vchar || obs || b == ' ' || b == '\t';
        int target_ok = vchar || obs;
        int tchar = (b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') ||
                    (b && strchr("!#$%&'*+-.^_`|~", b) != NULL);
        for (int pos = 0; pos < 20; pos++) {
            /* header value "aaaa...<b>...aaz" */
            int n = sprintf(buf, "GET / HTTP/1.1\r\nHost: a\r\nX: ");
            for (int i = 0; i < 20; i++)
                buf[n++] = i == pos ? (char)b : 'a';
            buf[n++] = 'z';
            n += sprintf(buf + n, "\r\n\r\n");
            int r = dp_h1_parse_request(buf, (size_t)n, NULL, &req, hv);
            if ((r > 0) != value_ok) {
                fprintf(stderr, "value byte 0x%02x at %d: %d\n", b, pos, r);
                bad = 1;
            }
            /* target "/aaaa...<b>...aa" */
            n = sprintf(buf, "GET /");
            for (int i = 0; i < 20; i++)
                buf[n++] = i == pos ? (char)b : 'a';
            n += sprintf(buf + n, " HTTP/1.1\r\nHost: a\r\n\r\n");
            r = dp_h1_parse_request(buf, (size_t)n, NULL, &req, hv);
            if ((r > 0) != target_ok) {
                fprintf(stderr, "target byte 0x%02x at %d: %d\n", b, pos, r);
                bad = 1;
            }
            /* header name "Xaaaa...<b>...aa: v" */
            n = sprintf(buf, "GET / HTTP/1.1\r\nHost: a\r\nX");
            for (int i = 0; i < 20; i++)
                buf[n++] = i == pos ? (char)b : 'a';
            n += sprintf(buf + n, ": v\r\n\r\n");
            r = dp_h1_parse_request(buf, (size_t)n, NULL, &req, hv);
            if ((r > 0) != (tchar || b == ':')) { /* a colon just ends the name early */
                fprintf(stderr, "name byte 0x%02x at %d: %d\n", b, pos, r);
                bad = 1;
            }
        }
    }
    CHECK(!bad);
}

/* ---- invalid requests: each smuggling vector with its answer ----------- */

struct req_bad {
    const char *raw;
    size_t raw_len; /* 0: strlen */
    int status;
    const char *reason; /* exact reason, or NULL to only require one */
};

#define H "GET / HTTP/1.1\r\nHost: a\r\n"
#define P "POST / HTTP/1.1\r\nHost: a\r\n"

static const struct req_bad req_bad[] = {
    /* CL.TE and TE.CL */
    {P "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 0, 400,
     "content-length and transfer-encoding both present"},
    {P "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 0, 400,
     "content-length and transfer-encoding both present"},
    {P "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n", 0, 400,
     "content-length and transfer-encoding both present"},
    /* TE.TE obfuscations */
    {P "Transfer-Encoding: xchunked\r\n\r\n", 0, 501, "unsupported transfer-coding"},
    {P "Transfer-Encoding: chunkedx\r\n\r\n", 0, 501, "unsupported transfer-coding"},
    {P "Transfer-Encoding : chunked\r\n\r\n", 0, 400, "whitespace between header name and colon"},
    {P "Transfer-Encoding\t: chunked\r\n\r\n", 0, 400, "whitespace between header name and colon"},
    {P "Transfer-Encoding: chunked, identity\r\n\r\n", 0, 400, "chunked is not the final transfer-coding"},
    {P "Transfer-Encoding: chunked, gzip\r\n\r\n", 0, 400, "chunked is not the final transfer-coding"},
    {P "Transfer-Encoding: chunked, chunked\r\n\r\n", 0, 400,
     "chunked transfer-coding applied more than once"},
    {P "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 0, 400,
     "chunked transfer-coding applied more than once"},
    {P "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n", 0, 400,
     "chunked is not the final transfer-coding"},
    {P "Transfer-Encoding: identity\r\n\r\n", 0, 501, "unsupported transfer-coding"},
    {P "Transfer-Encoding: gzip, chunked\r\n\r\n", 0, 501, "unsupported transfer-coding"},
    {P "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", 0, 501,
     "unsupported transfer-coding"},
    {P "Transfer-Encoding: chunked;q=1\r\n\r\n", 0, 501, "unsupported transfer-coding"},
    {P "Transfer-Encoding: \"chunked\"\r\n\r\n", 0, 400, "invalid transfer-encoding"},
    {P "Transfer-Encoding: chunked,\r\n\r\n", 0, 400, "empty element in transfer-encoding"},
    {P "Transfer-Encoding: ,chunked\r\n\r\n", 0, 400, "empty element in transfer-encoding"},
    {P "Transfer-Encoding:\r\n\r\n", 0, 400, "empty transfer-encoding"},
    {P "Transfer-Encoding:  \t \r\n\r\n", 0, 400, "empty transfer-encoding"},
    {P "Transfer-Encoding: \x0b"
       "chunked\r\n\r\n",
     0, 400, "invalid character in header value"},
    {P "Transfer-Encoding: \r\n chunked\r\n\r\n", 0, 400, "empty transfer-encoding"},
    {P "Transfer-Encoding: chunk\r\n ed\r\n\r\n", 0, 501, "unsupported transfer-coding"},
    {P "X-Folded: a\r\n Transfer-Encoding: chunked\r\n\r\n", 0, 400,
     "obs-fold (line folding) is not allowed"},
    {"POST / HTTP/1.1\r\n Transfer-Encoding: chunked\r\nHost: a\r\n\r\n", 0, 400,
     "whitespace before the first header"},
    {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 0, 400,
     "transfer-encoding in an HTTP/1.0 message"},
    /* Content-Length */
    {P "Content-Length: +5\r\n\r\n", 0, 400, "invalid content-length"},
    {P "Content-Length: -5\r\n\r\n", 0, 400, "invalid content-length"},
    {P "Content-Length: 0x5\r\n\r\n", 0, 400, "invalid content-length"},
    {P "Content-Length: 5 5\r\n\r\n", 0, 400, "invalid content-length"},
    {P "Content-Length: 5a\r\n\r\n", 0, 400, "invalid content-length"},
    {P "Content-Length: 5.0\r\n\r\n", 0, 400, "invalid content-length"},
    {P "Content-Length:\r\n\r\n", 0, 400, "invalid content-length"},
    {P "Content-Length: 5,\r\n\r\n", 0, 400, "invalid content-length"},
    {P "Content-Length: 5, 6\r\n\r\n", 0, 400, "conflicting content-length values"},
    {P "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", 0, 400, "conflicting content-length values"},
    {P "Content-Length: 5\r\nContent-Length: 05\r\nContent-Length: 6\r\n\r\n", 0, 400,
     "conflicting content-length values"},
    {P "Content-Length: 9223372036854775808\r\n\r\n", 0, 400, "content-length too large"},
    {P "Content-Length: 99999999999999999999999\r\n\r\n", 0, 400, "content-length too large"},
    {P "Content-Length : 5\r\n\r\n", 0, 400, "whitespace between header name and colon"},
    /* line endings */
    {"GET / HTTP/1.1\nHost: a\n\n", 0, 400, "bare LF line ending"},
    {H "X: a\n\r\n", 0, 400, "bare LF line ending"},
    {H "X: a\r\n\n", 0, 400, "bare LF line ending"},
    {H "\n", 0, 400, "bare LF line ending"},
    {"\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 0, 400, "bare LF line ending"},
    {H "X: a\rb\r\n\r\n", 0, 400, "bare CR in header value"},
    {H "X: a\r\r\n\r\n", 0, 400, "bare CR in header value"},
    {H "\rX: a\r\n\r\n", 0, 400, "bare CR"},
    {H "\r\r", 0, 400, "bare CR"},
    {"GET / HTTP/1.1\rHost: a\r\n\r\n", 0, 400, "bare CR"},
    {"GET /\r HTTP/1.1\r\nHost: a\r\n\r\n", 0, 400, "missing HTTP version"},
    {"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 0, 400, "empty request line"},
    {"\r\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 0, 400, "bare CR"},
    /* NUL and other control characters */
    {H "X\0Y: a\r\n\r\n", sizeof(H "X\0Y: a\r\n\r\n") - 1, 400, "NUL in header name"},
    {H "X: a\0b\r\n\r\n", sizeof(H "X: a\0b\r\n\r\n") - 1, 400, "NUL in header value"},
    {H "X: \x7f\r\n\r\n", 0, 400, "invalid character in header value"},
    {H "X: a\x01\r\n\r\n", 0, 400, "invalid character in header value"},
    {"GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n", sizeof("GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n") - 1, 400,
     "NUL in request-target"},
    {"GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n", 0, 400, "invalid character in request-target"},
    {"GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", 0, 400, "invalid character in request-target"},
    /* obs-fold, whitespace, invalid token characters */
    {H "X: a\r\n\tb\r\n\r\n", 0, 400, "obs-fold (line folding) is not allowed"},
    {H "Host2 : a\r\n\r\n", 0, 400, "whitespace between header name and colon"},
    {H "X(Y): a\r\n\r\n", 0, 400, "invalid character in header name"},
    {H "X@Y: a\r\n\r\n", 0, 400, "invalid character in header name"},
    {H "X\"Y: a\r\n\r\n", 0, 400, "invalid character in header name"},
    {H "H\xc3\xa9: a\r\n\r\n", 0, 400, "invalid character in header name"},
    {H ": a\r\n\r\n", 0, 400, "empty header name"},
    {H "NoColon\r\n\r\n", 0, 400, "header line without colon"},
    {"G(ET / HTTP/1.1\r\nHost: a\r\n\r\n", 0, 400, "invalid character in method"},
    {"GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 0, 400, "invalid character in method"},
    {" GET / HTTP/1.1\r\nHost: a\r\n\r\n", 0, 400, "empty method"},
    {"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 0, 400, "more than one SP in request line"},
    {"GET /  HTTP/1.1\r\nHost: a\r\n\r\n", 0, 400, "invalid HTTP version"},
    {"GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 0, 400, "unexpected character after HTTP version"},
    /* versions */
    {"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 0, 505, "HTTP version not supported"},
    {"GET / HTTP/1.2\r\nHost: a\r\n\r\n", 0, 505, "HTTP version not supported"},
    {"GET / HTTP/0.9\r\n\r\n", 0, 505, "HTTP version not supported"},
    {"GET / HTTP/1.10\r\nHost: a\r\n\r\n", 0, 400, "unexpected character after HTTP version"},
    {"GET / HTTP/11\r\nHost: a\r\n\r\n", 0, 400, "invalid HTTP version"},
    {"GET / http/1.1\r\nHost: a\r\n\r\n", 0, 400, "invalid HTTP version"},
    {"GET / HTTP/1.1x\r\nHost: a\r\n\r\n", 0, 400, "unexpected character after HTTP version"},
    {"GET /\r\n\r\n", 0, 400, "missing HTTP version"},
    {"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 0, 400, "invalid character in method"},
    /* targets */
    {"GET * HTTP/1.1\r\nHost: a\r\n\r\n", 0, 400, "asterisk-form target is only valid with OPTIONS"},
    {"CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n", 0, 400, "CONNECT target must be host:port"},
    {"CONNECT example.com HTTP/1.1\r\nHost: a\r\n\r\n", 0, 400, "CONNECT target must be host:port"},
    {"CONNECT example.com: HTTP/1.1\r\nHost: a\r\n\r\n", 0, 400, "CONNECT target must be host:port"},
    {"CONNECT a@b:443 HTTP/1.1\r\nHost: a\r\n\r\n", 0, 400, "CONNECT target must be host:port"},
    {"GET example.com/x HTTP/1.1\r\nHost: a\r\n\r\n", 0, 400, "invalid request-target"},
    {"GET 1http://a/ HTTP/1.1\r\nHost: a\r\n\r\n", 0, 400, "invalid request-target"},
    /* Host */
    {"GET / HTTP/1.1\r\n\r\n", 0, 400, "missing host header"},
    {"GET / HTTP/1.1\r\nX: a\r\n\r\n", 0, 400, "missing host header"},
    {H "Host: a\r\n\r\n", 0, 400, "multiple host headers"},
    {H "host: b\r\n\r\n", 0, 400, "multiple host headers"},
    {"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 0, 400, "invalid host header"},
    {"GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 0, 400, "invalid host header"},
    {"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 0, 400, "invalid host header"},
    {"GET / HTTP/1.1\r\nHost:\r\n\r\n", 0, 400, "empty host header"},
    /* Expect */
    {P "Expect: 200-ok\r\n\r\n", 0, 417, "unsupported expectation"},
    {P "Expect: 100-continue, foo\r\n\r\n", 0, 417, "unsupported expectation"},
    {P "Expect:\r\n\r\n", 0, 417, "unsupported expectation"},
};

static void test_invalid_requests(void)
{
    for (size_t i = 0; i < DP_ARRAY_SIZE(req_bad); i++) {
        const struct req_bad *tc = &req_bad[i];
        size_t len = tc->raw_len ? tc->raw_len : strlen(tc->raw);
        dp_h1_header_t hv[HDRS];
        dp_h1_request_t req;
        dp_h1_limits_t lim = {0, HDRS};
        char *buf = exact(tc->raw, len);
        int failed = test_failed_;
        int n = dp_h1_parse_request(buf, len, &lim, &req, hv);
        CHECK_INT(n, DP_ERR);
        CHECK_INT(req.error_status, tc->status);
        CHECK(req.error != NULL);
        if (tc->reason)
            CHECK_STR(req.error, tc->reason);
        /* byte by byte: prefixes wait or fail the same way, never succeed */
        for (size_t k = 1; k < len; k++) {
            char *pre = exact(tc->raw, k);
            int r = dp_h1_parse_request(pre, k, &lim, &req, hv);
            free(pre);
            if (r != DP_EAGAIN && !(r == DP_ERR && req.error_status == tc->status)) {
                CHECK(!"prefix of an invalid request gave another result");
                fprintf(stderr, "  prefix %zu -> %d %d %s\n", k, r, req.error_status,
                        req.error ? req.error : "-");
                break;
            }
        }
        if (failed != test_failed_)
            dump("invalid request", tc->raw, len);
        free(buf);
    }
}

/* ---- limits --------------------------------------------------------- */

static void test_limits(void)
{
    static dp_h1_header_t hv[200];
    dp_h1_request_t req;
    size_t cap = 200 * 1024;
    char *big = malloc(cap);
    size_t n;

    /* 100 headers pass with the defaults, 101 are too many */
    for (int count = 100; count <= 101; count++) {
        n = (size_t)sprintf(big, "GET / HTTP/1.1\r\n");
        for (int i = 0; i < count; i++)
            n += (size_t)sprintf(big + n, "%s: %d\r\n", i == 0 ? "Host" : "X-H", i);
        n += (size_t)sprintf(big + n, "\r\n");
        int r = dp_h1_parse_request(big, n, NULL, &req, hv);
        if (count == 100) {
            CHECK_INT(r, n);
            CHECK_INT(req.num_headers, 100);
        } else {
            CHECK_INT(r, DP_ERR);
            CHECK_INT(req.error_status, 431);
            CHECK_STR(req.error, "too many headers");
        }
    }
    /* a small max_headers applies to the caller's smaller array */
    dp_h1_limits_t lim = {0, 2};
    const char *three = "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n";
    CHECK_INT(dp_h1_parse_request(three, strlen(three), &lim, &req, hv), DP_ERR);
    CHECK_INT(req.error_status, 431);
    CHECK_INT(req.num_headers, 2);

    /* a complete head bigger than 60 KiB */
    n = (size_t)sprintf(big, "GET / HTTP/1.1\r\nHost: a\r\nX-Big: ");
    memset(big + n, 'a', 61 * 1024);
    n += 61 * 1024;
    memcpy(big + n, "\r\n\r\n", 4);
    n += 4;
    CHECK_INT(dp_h1_parse_request(big, n, NULL, &req, hv), DP_ERR);
    CHECK_INT(req.error_status, 431);
    CHECK_STR(req.error, "header section too large");
    /* ...and the same head still incomplete: rejected as soon as the
     * buffered part exceeds the limit, not only when complete */
    CHECK_INT(dp_h1_parse_request(big, 60 * 1024, NULL, &req, hv), DP_EAGAIN);
    CHECK_INT(dp_h1_parse_request(big, 60 * 1024 + 1, NULL, &req, hv), DP_ERR);
    CHECK_INT(req.error_status, 431);
    /* many small headers adding up */
    n = (size_t)sprintf(big, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < 90; i++) {
        memcpy(big + n, "X-Fill: ", 8);
        memset(big + n + 8, 'b', 1000);
        memcpy(big + n + 1008, "\r\n", 2);
        n += 1010;
    }
    memcpy(big + n, "\r\n", 2);
    n += 2;
    CHECK_INT(dp_h1_parse_request(big, n, NULL, &req, hv), DP_ERR);
    CHECK_INT(req.error_status, 431);
    dp_h1_limits_t roomy = {128 * 1024, 200};
    CHECK_INT(dp_h1_parse_request(big, n, &roomy, &req, hv), n);
    /* an overlong request line: 414 */
    n = (size_t)sprintf(big, "GET /");
    memset(big + n, 'p', 70 * 1024);
    n += 70 * 1024;
    n += (size_t)sprintf(big + n, " HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK_INT(dp_h1_parse_request(big, n, NULL, &req, hv), DP_ERR);
    CHECK_INT(req.error_status, 414);
    CHECK_INT(dp_h1_parse_request(big, 60 * 1024 + 1, NULL, &req, hv), DP_ERR);
    CHECK_INT(req.error_status, 414);
    CHECK_INT(dp_h1_parse_request(big, 60 * 1024, NULL, &req, hv), DP_EAGAIN);
    /* a complete head within the limit is returned even when more
     * (pipelined) bytes follow beyond the limit */
    const char *small = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    n = strlen(small);
    memcpy(big, small, n);
    memset(big + n, 'z', 100);
    dp_h1_limits_t lim30 = {30, 10};
    CHECK_INT(dp_h1_parse_request(big, n + 100, &lim30, &req, hv), n);
    free(big);
}

/* ---- responses ------------------------------------------------------ */

struct resp_ok {
    const char *raw;
    size_t trailing;
    int head;
    int status, minor;
    const char *reason;
    size_t num_headers;
    dp_h1_body_kind_t body;
    uint64_t content_length;
    int keep_alive;
};

static const struct resp_ok resp_ok[] = {
    {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 5, 0, 200, 1, "OK", 1, DP_H1_BODY_LENGTH, 5, 1},
    {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0, 0, 200, 1, "OK", 1, DP_H1_BODY_NONE, 0, 1},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 5, 0, 200, 1, "OK", 1,
     DP_H1_BODY_CHUNKED, 0, 1},
    {"HTTP/1.1 200 OK\r\nServer: x\r\n\r\nbody until close", 16, 0, 200, 1, "OK", 1, DP_H1_BODY_UNTIL_CLOSE,
     0, 0},
    {"HTTP/1.0 200 OK\r\n\r\n", 0, 0, 200, 0, "OK", 0, DP_H1_BODY_UNTIL_CLOSE, 0, 0},
    {"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\n", 0, 0, 200, 0, "OK", 1, DP_H1_BODY_LENGTH, 3, 0},
    {"HTTP/1.0 200 OK\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\n", 0, 0, 200, 0, "OK", 2,
     DP_H1_BODY_LENGTH, 3, 1},
    {"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\n", 0, 0, 200, 1, "OK", 2,
     DP_H1_BODY_LENGTH, 3, 0},
    {"HTTP/1.1 204 No Content\r\n\r\n", 0, 0, 204, 1, "No Content", 0, DP_H1_BODY_NONE, 0, 1},
    {"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", 0, 0, 204, 1, "No Content", 1, DP_H1_BODY_NONE,
     10, 1},
    {"HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\nETag: \"x\"\r\n\r\n", 0, 0, 304, 1, "Not Modified",
     2, DP_H1_BODY_NONE, 100, 1},
    {"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", 0, 0, 304, 1, "Not Modified", 1,
     DP_H1_BODY_NONE, 0, 1},
    {"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", 0, 1, 200, 1, "OK", 1, DP_H1_BODY_NONE, 100, 1},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 0, 1, 200, 1, "OK", 1, DP_H1_BODY_NONE, 0, 1},
    {"HTTP/1.1 200 OK\r\n\r\n", 0, 1, 200, 1, "OK", 0, DP_H1_BODY_NONE, 0, 1},
    {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n", 19, 0, 100, 1, "Continue", 0, DP_H1_BODY_NONE, 0,
     1},
    {"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n", 0, 0, 103, 1, "Early Hints", 1,
     DP_H1_BODY_NONE, 0, 1},
    {"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x05hello", 7,
     0, 101, 1, "Switching Protocols", 2, DP_H1_BODY_NONE, 0, 1},
    {"HTTP/1.1 200\r\nContent-Length: 1\r\n\r\n", 0, 0, 200, 1, "", 1, DP_H1_BODY_LENGTH, 1, 1},
    {"HTTP/1.1 404 \r\nContent-Length: 1\r\n\r\n", 0, 0, 404, 1, "", 1, DP_H1_BODY_LENGTH, 1, 1},
    {"HTTP/1.1 503 Service\tUn avail\xe4"
     "ble \r\nContent-Length: 0\r\n\r\n",
     0, 0, 503, 1,
     "Service\tUn avail\xe4"
     "ble ",
     1, DP_H1_BODY_NONE, 0, 1},
    {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n", 0, 0, 200, 1, "OK", 2,
     DP_H1_BODY_LENGTH, 2, 1},
    {"\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", 0, 0, 200, 1, "OK", 1, DP_H1_BODY_LENGTH, 2, 1},
};

static void check_resp_result(const struct resp_ok *tc, const dp_h1_response_t *r)
{
    int failed = test_failed_;
    CHECK_INT(r->status, tc->status);
    CHECK_INT(r->minor_version, tc->minor);
    CHECK_MEM(r->reason, r->reason_len, tc->reason);
    CHECK_INT(r->num_headers, tc->num_headers);
    CHECK_INT(r->body, tc->body);
    CHECK_INT(r->content_length, tc->content_length);
    CHECK_INT(r->keep_alive, tc->keep_alive);
    CHECK(r->error == NULL);
    if (failed != test_failed_)
        dump("response", tc->raw, strlen(tc->raw));
}

static void test_valid_responses(void)
{
    for (size_t i = 0; i < DP_ARRAY_SIZE(resp_ok); i++) {
        const struct resp_ok *tc = &resp_ok[i];
        size_t len = strlen(tc->raw), head = len - tc->trailing;
        dp_h1_header_t hv[HDRS];
        dp_h1_response_t resp;
        dp_h1_limits_t lim = {0, HDRS};
        char *buf = exact(tc->raw, len);
        int n = dp_h1_parse_response(buf, len, &lim, tc->head, &resp, hv);
        CHECK_INT(n, head);
        if (n != (int)head) {
            dump("response", tc->raw, len);
            fprintf(stderr, "  error: %s\n", resp.error ? resp.error : "-");
            free(buf);
            continue;
        }
        check_resp_result(tc, &resp);
        free(buf);
        int bad = 0;
        for (size_t k = 1; k < head && !bad; k++) {
            char *pre = exact(tc->raw, k);
            if (dp_h1_parse_response(pre, k, &lim, tc->head, &resp, hv) != DP_EAGAIN) {
                fprintf(stderr, "prefix %zu: %s\n", k, resp.error ? resp.error : "-");
                dump("response", tc->raw, len);
                bad = 1;
            }
            free(pre);
        }
        CHECK(!bad);
        buf = exact(tc->raw, head);
        CHECK_INT(dp_h1_parse_response(buf, head, &lim, tc->head, &resp, hv), head);
        check_resp_result(tc, &resp);
        free(buf);
    }
}

struct resp_bad {
    const char *raw;
    const char *reason;
};

static const struct resp_bad resp_bad[] = {
    {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
     "content-length and transfer-encoding both present"},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
     "content-length and transfer-encoding both present"},
    {"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
     "content-length and transfer-encoding both present"},
    {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
     "conflicting content-length values"},
    {"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "invalid content-length"},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "unsupported transfer-coding"},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
     "chunked is not the final transfer-coding"},
    {"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "transfer-encoding in an HTTP/1.0 message"},
    {"HTTP/1.1 20 OK\r\n\r\n", "invalid status code"},
    {"HTTP/1.1 2000 OK\r\n\r\n", "invalid status code"},
    {"HTTP/1.1 2x0 OK\r\n\r\n", "invalid status code"},
    {"HTTP/1.1 099 Low\r\n\r\n", "status code out of range"},
    {"HTTP/1.1 600 High\r\n\r\n", "status code out of range"},
    {"HTTP/2.0 200 OK\r\n\r\n", "HTTP version not supported"},
    {"HTTP/1.1  200 OK\r\n\r\n", "invalid status code"},
    {"HTTP/1.1\t200 OK\r\n\r\n", "invalid HTTP version"},
    {"ICY 200 OK\r\n\r\n", "invalid HTTP version"},
    {"HTTP/1.1 200 OK\n\r\n", "bare LF line ending"},
    {"HTTP/1.1 200 OK\r\nX: a\n\r\n", "bare LF line ending"},
    {"HTTP/1.1 200 O\x01K\r\n\r\n", "invalid character in reason phrase"},
    {"HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", "obs-fold (line folding) is not allowed"},
    {"HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\n", "whitespace between header name and colon"},
};

static void test_invalid_responses(void)
{
    for (size_t i = 0; i < DP_ARRAY_SIZE(resp_bad); i++) {
        const struct resp_bad *tc = &resp_bad[i];
        size_t len = strlen(tc->raw);
        dp_h1_header_t hv[HDRS];
        dp_h1_response_t resp;
        char *buf = exact(tc->raw, len);
        int failed = test_failed_;
        CHECK_INT(dp_h1_parse_response(buf, len, NULL, 0, &resp, hv), DP_ERR);
        CHECK_STR(resp.error, tc->reason);
        if (failed != test_failed_)
            dump("invalid response", tc->raw, len);
        free(buf);
    }
    /* NUL in the reason phrase */
    const char nul[] = "HTTP/1.1 200 O\0K\r\n\r\n";
    dp_h1_header_t hv[4];
    dp_h1_response_t resp;
    CHECK_INT(dp_h1_parse_response(nul, sizeof(nul) - 1, NULL, 0, &resp, hv), DP_ERR);
    CHECK_STR(resp.error, "NUL in reason phrase");
    /* an oversized response head */
    char *big = malloc(70 * 1024);
    size_t n = (size_t)sprintf(big, "HTTP/1.1 200 OK\r\nX: ");
    memset(big + n, 'v', 70 * 1024 - n);
    CHECK_INT(dp_h1_parse_response(big, 70 * 1024, NULL, 0, &resp, hv), DP_ERR);
    CHECK_STR(resp.error, "header section too large");
    free(big);
}

/* ---- end-of-head finder ---------------------------------------------- */

static void test_head_complete(void)
{
    for (size_t i = 0; i < DP_ARRAY_SIZE(req_ok); i++) {
        const struct req_ok *tc = &req_ok[i];
        size_t len = strlen(tc->raw), head = len - tc->trailing;
        /* whole buffer */
        CHECK_INT(dp_h1_head_complete(tc->raw, len, 0), head);
        /* one byte at a time, with the previous length as the hint */
        size_t found = 0;
        for (size_t k = 1; k <= len && !found; k++) {
            int r = dp_h1_head_complete(tc->raw, k, k - 1);
            if (r > 0)
                found = (size_t)r;
            else
                CHECK_INT(r, DP_EAGAIN);
        }
        CHECK_INT(found, head);
    }
    /* bare-LF heads are found too, so the parser can reject them */
    CHECK_INT(dp_h1_head_complete("GET / HTTP/1.1\nHost: a\n\nX", 25, 0), 24);
    CHECK_INT(dp_h1_head_complete("GET / HTTP/1.1\nHost: a\n\r\n", 25, 20), 25);
    CHECK_INT(dp_h1_head_complete("GET / HTTP/1.1\r\nHost: a\r\n\r", 27, 0), DP_EAGAIN);
    CHECK_INT(dp_h1_head_complete("", 0, 0), DP_EAGAIN);
    /* a bogus hint beyond len is ignored */
    CHECK_INT(dp_h1_head_complete("A: b\r\n\r\n", 8, 100), 8);

    /* a 60 KiB head arriving one byte at a time: linear with the hint */
    size_t cap = 60 * 1024;
    char *big = malloc(cap);
    size_t n = (size_t)sprintf(big, "GET / HTTP/1.1\r\nHost: a\r\n");
    while (n + 20 < cap)
        n += (size_t)sprintf(big + n, "X-Some-Header: v\r\n");
    memcpy(big + n, "\r\n", 2);
    n += 2;
    clock_t t0 = clock();
    int r = DP_EAGAIN;
    size_t k;
    for (k = 1; k <= n && r == DP_EAGAIN; k++)
        r = dp_h1_head_complete(big, k, k - 1);
    double ms = (double)(clock() - t0) * 1000.0 / CLOCKS_PER_SEC;
    CHECK_INT(r, n);
    CHECK_INT(k - 1, n);
    dp_h1_header_t *hv = malloc(sizeof(*hv) * 4000);
    dp_h1_request_t req;
    dp_h1_limits_t lim = {0, 4000};
    CHECK_INT(dp_h1_parse_request(big, n, &lim, &req, hv), n);
    printf("60 KiB head byte by byte via dp_h1_head_complete: %.2f ms\n", ms);
    CHECK(ms < 1000.0);
    free(hv);
    free(big);
}

/* ---- chunked ---------------------------------------------------------- */

struct chunk_ok {
    const char *raw;
    size_t trailing; /* bytes after the chunked body */
    const char *data;
    size_t raw_len, data_len; /* 0: strlen (set for embedded NULs) */
};

static const struct chunk_ok chunk_ok[] = {
    {"5\r\nhello\r\n0\r\n\r\n", 0, "hello", 0, 0},
    {"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", 0, "hello world", 0, 0},
    {"0\r\n\r\n", 0, "", 0, 0},
    {"A\r\n0123456789\r\na\r\nabcdefghij\r\n0\r\n\r\n", 0, "0123456789abcdefghij", 0, 0},
    {"0005\r\nhello\r\n000\r\n\r\n", 0, "hello", 0, 0},
    {"000000000000000a\r\n0123456789\r\n0\r\n\r\n", 0, "0123456789", 0, 0},
    {"5;ext\r\nhello\r\n6;a=b;c=\"q\\\"x; y\"\r\n world\r\n0;last=1\r\n\r\n", 0, "hello world", 0, 0},
    {"3;a=\"\"\r\nabc\r\n0\r\n\r\n", 0, "abc", 0, 0},
    {"3\r\na\r\n\r\n0\r\nX-Trailer: v\r\nX-Empty:\r\nX-Tab:\tq \xe9\r\n\r\n", 0, "a\r\n", 0, 0},
    {"2\r\n\0\n\r\n0\r\n\r\nGET / HTTP/1.1\r\n", 16, "\0\n", 28, 2},
    {"1\r\nx\r\n0\r\n\r\n\r\n", 2, "x", 0, 0},
};

struct feed_result {
    char out[256];
    size_t out_len;
    size_t consumed;
    int done, error, calls;
    const char *err;
};

/* Feeds buf[0..len) to the decoder the way a codec would: the receive
 * buffer grows by `step` bytes at a time (step 0: everything at once, or
 * the bytes up to `split` first), unconsumed bytes stay in place. */
static void feed(const char *buf, size_t len, size_t step, size_t split, struct feed_result *fr)
{
    dp_h1_chunked_t c;
    dp_h1_chunked_init(&c);
    memset(fr, 0, sizeof(*fr));
    size_t avail = step ? DP_MIN(step, len) : (split ? split : len);
    size_t pos = 0;
    for (;;) {
        const char *data, *err = NULL;
        size_t dlen;
        char *win = exact(buf + pos, avail - pos);
        int n = dp_h1_chunked_decode(&c, win, avail - pos, &data, &dlen, &err);
        fr->calls++;
        if (n < 0) {
            fr->error = 1;
            fr->err = err;
            CHECK(err != NULL);
            free(win);
            break;
        }
        CHECK((size_t)n <= avail - pos);
        if (dlen) {
            CHECK(data >= win && data + dlen <= win + n);
            if (fr->out_len + dlen <= sizeof(fr->out))
                memcpy(fr->out + fr->out_len, data, dlen);
            fr->out_len += dlen;
        } else {
            CHECK(data == NULL);
        }
        free(win);
        pos += (size_t)n;
        if (dp_h1_chunked_done(&c)) {
            fr->done = 1;
            break;
        }
        if (n == 0 && dlen == 0) {
            if (avail == len)
                break;
            avail = step ? DP_MIN(avail + step, len) : len;
        }
    }
    fr->consumed = pos;
}

static void test_chunked_valid(void)
{
    for (size_t i = 0; i < DP_ARRAY_SIZE(chunk_ok); i++) {
        const struct chunk_ok *tc = &chunk_ok[i];
        size_t len = tc->raw_len ? tc->raw_len : strlen(tc->raw);
        size_t dlen = tc->data_len ? tc->data_len : strlen(tc->data);
        size_t body = len - tc->trailing;
        struct feed_result fr;
        int failed = test_failed_;

        feed(tc->raw, len, 0, 0, &fr);
        CHECK(!fr.error);
        CHECK(fr.done);
        CHECK_INT(fr.consumed, body);
        CHECK_INT(fr.out_len, dlen);
        CHECK(memcmp(fr.out, tc->data, dlen) == 0);
        for (size_t split = 1; split < len; split++) {
            feed(tc->raw, len, 0, split, &fr);
            CHECK(!fr.error && fr.done && fr.consumed == body && fr.out_len == dlen &&
                  memcmp(fr.out, tc->data, dlen) == 0);
        }
        for (size_t step = 1; step <= 3; step++) {
            feed(tc->raw, len, step, 0, &fr);
            CHECK(!fr.error && fr.done && fr.consumed == body && fr.out_len == dlen &&
                  memcmp(fr.out, tc->data, dlen) == 0);
        }
        if (failed != test_failed_)
            dump("chunked", tc->raw, len);
    }

    /* framing-only calls report data_len 0; data comes in the next call */
    dp_h1_chunked_t c;
    const char *data, *err = NULL;
    size_t dlen;
    dp_h1_chunked_init(&c);
    CHECK_INT(dp_h1_chunked_decode(&c, "5\r\n", 3, &data, &dlen, &err), 3);
    CHECK_INT(dlen, 0);
    CHECK_INT(c.remaining, 5);
    CHECK_INT(dp_h1_chunked_decode(&c, "", 0, &data, &dlen, &err), 0);
    CHECK_INT(dp_h1_chunked_decode(&c, "hel", 3, &data, &dlen, &err), 3);
    CHECK_MEM(data, dlen, "hel");
    CHECK_INT(c.remaining, 2);
    /* data stops at the chunk end even when more bytes are there */
    const char *rest = "lo\r\n0\r\n\r\nNEXT";
    CHECK_INT(dp_h1_chunked_decode(&c, rest, strlen(rest), &data, &dlen, &err), 2);
    CHECK_MEM(data, dlen, "lo");
    CHECK_INT(dp_h1_chunked_decode(&c, rest + 2, strlen(rest) - 2, &data, &dlen, &err), 7);
    CHECK_INT(dlen, 0);
    CHECK(dp_h1_chunked_done(&c));
    /* done: consumes nothing more */
    CHECK_INT(dp_h1_chunked_decode(&c, rest + 9, 4, &data, &dlen, &err), 0);
    CHECK_INT(dlen, 0);

    /* the largest size is accepted and counted down */
    dp_h1_chunked_init(&c);
    CHECK_INT(dp_h1_chunked_decode(&c, "ffffffffffffffff\r\nab", 20, &data, &dlen, &err), 20);
    CHECK_INT(dlen, 2);
    CHECK(c.remaining == UINT64_MAX - 2);

    /* a decoder that was never initialised refuses to run */
    memset(&c, 0, sizeof(c));
    CHECK_INT(dp_h1_chunked_decode(&c, "0\r\n\r\n", 5, &data, &dlen, &err), DP_ERR);
}

struct chunk_bad {
    const char *raw;
    size_t raw_len;
    const char *reason;
};

static const struct chunk_bad chunk_bad[] = {
    {"0x5\r\nhello\r\n0\r\n\r\n", 0, "invalid character after chunk size"},
    {"-5\r\nhello\r\n0\r\n\r\n", 0, "invalid chunk size"},
    {"+5\r\nhello\r\n0\r\n\r\n", 0, "invalid chunk size"},
    {" 5\r\nhello\r\n0\r\n\r\n", 0, "invalid chunk size"},
    {"5 \r\nhello\r\n0\r\n\r\n", 0, "invalid character after chunk size"},
    {"5\t\r\nhello\r\n0\r\n\r\n", 0, "invalid character after chunk size"},
    {"\r\nhello\r\n0\r\n\r\n", 0, "invalid chunk size"},
    {"g\r\n", 0, "invalid chunk size"},
    {"10000000000000000\r\n", 0, "chunk size too long"},
    {"00000000000000005\r\nhello\r\n0\r\n\r\n", 0, "chunk size too long"},
    {"ffffffffffffffffff\r\n", 0, "chunk size too long"},
    {"5\nhello\r\n0\r\n\r\n", 0, "bare LF in chunked framing"},
    {"5\r\rhello\r\n0\r\n\r\n", 0, "bare CR in chunk size line"},
    {"5\r\nhelloX\r\n0\r\n\r\n", 0, "missing CRLF after chunk data"},
    {"5\r\nhello\n0\r\n\r\n", 0, "missing CRLF after chunk data"},
    {"5\r\nhello\r0\r\n\r\n", 0, "missing CRLF after chunk data"},
    {"5\r\nhello0\r\n\r\n", 0, "missing CRLF after chunk data"},
    {"5\r\nhelloX\n0\r\n\r\n", 0, "missing CRLF after chunk data"},
    {"5\r\nhello\n\n0\r\n\r\n", 0, "missing CRLF after chunk data"},
    {"5\r\nhello\r\r0\r\n\r\n", 0, "missing CRLF after chunk data"},
    {"5\0\r\nhello\r\n0\r\n\r\n", 6, "NUL in chunked framing"},
    {"\0"
     "5\r\n",
     4, "NUL in chunked framing"},
    {"5;\r\nhello\r\n0\r\n\r\n", 0, "invalid chunk extension"},
    {"5;=x\r\nhello\r\n0\r\n\r\n", 0, "invalid chunk extension"},
    {"5; a=b\r\nhello\r\n0\r\n\r\n", 0, "invalid chunk extension"},
    {"5 ;a=b\r\nhello\r\n0\r\n\r\n", 0, "invalid character after chunk size"},
    {"5;a =b\r\nhello\r\n0\r\n\r\n", 0, "invalid chunk extension"},
    {"5;a=\r\nhello\r\n0\r\n\r\n", 0, "invalid chunk extension"},
    {"5;a=b c\r\nhello\r\n0\r\n\r\n", 0, "invalid chunk extension"},
    {"5;a=\"open\r\nhello\r\n0\r\n\r\n", 0, "invalid chunk extension"},
    {"5;a=\"q\"x\r\nhello\r\n0\r\n\r\n", 0, "invalid chunk extension"},
    {"5;a=\"\x01\"\r\nhello\r\n0\r\n\r\n", 0, "invalid chunk extension"},
    {"5;a\0\r\nhello\r\n0\r\n\r\n", 8, "NUL in chunked framing"},
    {"5;a\nhello\r\n0\r\n\r\n", 0, "bare LF in chunked framing"},
    {"0\r\nX: a\r\n b\r\n\r\n", 0, "obs-fold in trailer section"},
    {"0\r\nX : a\r\n\r\n", 0, "whitespace between trailer name and colon"},
    {"0\r\nX a\r\n\r\n", 0, "whitespace between trailer name and colon"},
    {"0\r\nX(: a\r\n\r\n", 0, "invalid trailer field name"},
    {"0\r\nX: a\0\r\n\r\n", 11, "NUL in chunked framing"},
    {"0\r\nX: a\nY: b\r\n\r\n", 0, "bare LF in chunked framing"},
    {"0\r\nX: a\rY: b\r\n\r\n", 0, "bare CR in trailer section"},
    {"0\r\nX: a\r\n\n", 0, "bare LF in chunked framing"},
    {"0\r\n\rX", 0, "bare CR in trailer section"},
    {"0\r\n\n", 0, "bare LF in chunked framing"},
    {"0\r\nNoColon\r\n\r\n", 0, "invalid trailer field name"},
};

static void test_chunked_invalid(void)
{
    for (size_t i = 0; i < DP_ARRAY_SIZE(chunk_bad); i++) {
        const struct chunk_bad *tc = &chunk_bad[i];
        size_t len = tc->raw_len ? tc->raw_len : strlen(tc->raw);
        struct feed_result fr;
        int failed = test_failed_;
        feed(tc->raw, len, 0, 0, &fr);
        CHECK(fr.error);
        CHECK_STR(fr.err, tc->reason);
        feed(tc->raw, len, 1, 0, &fr);
        CHECK(fr.error);
        CHECK_STR(fr.err, tc->reason);
        if (failed != test_failed_)
            dump("invalid chunked", tc->raw, len);
    }

    /* extensions: 4 KiB per size line */
    char *big = malloc(80 * 1024);
    size_t n = (size_t)sprintf(big, "1;a=");
    memset(big + n, 'x', 4093);
    n += 4093;
    n += (size_t)sprintf(big + n, "\r\nz\r\n0\r\n\r\n");
    struct feed_result fr;
    feed(big, n, 0, 0, &fr);
    CHECK(!fr.error && fr.done);
    n = (size_t)sprintf(big, "1;a=");
    memset(big + n, 'x', 4094);
    n += 4094;
    n += (size_t)sprintf(big + n, "\r\nz\r\n0\r\n\r\n");
    feed(big, n, 0, 0, &fr);
    CHECK(fr.error);
    CHECK_STR(fr.err, "chunk extensions too long");

    /* trailers: bounded by max_trailer_bytes (60 KiB) */
    n = (size_t)sprintf(big, "0\r\n");
    while (n < 62 * 1024)
        n += (size_t)sprintf(big + n, "X-Trailer: 0123456789abcdef\r\n");
    n += (size_t)sprintf(big + n, "\r\n");
    feed(big, n, 0, 0, &fr);
    CHECK(fr.error);
    CHECK_STR(fr.err, "trailer section too large");
    free(big);

    /* errors are sticky */
    dp_h1_chunked_t c;
    const char *data, *err = NULL;
    size_t dlen;
    dp_h1_chunked_init(&c);
    CHECK_INT(dp_h1_chunked_decode(&c, "z", 1, &data, &dlen, &err), DP_ERR);
    err = NULL;
    CHECK_INT(dp_h1_chunked_decode(&c, "0\r\n\r\n", 5, &data, &dlen, &err), DP_ERR);
    CHECK_STR(err, "invalid chunk size");
    CHECK(!dp_h1_chunked_done(&c));
}

/* A request with a chunked body: head, then the body from the same buffer. */
static void test_request_with_chunked_body(void)
{
    const char *raw = "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "4\r\nWiki\r\n5;x=y\r\npedia\r\n0\r\nExpires: never\r\n\r\n"
                      "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    size_t len = strlen(raw);
    dp_h1_header_t hv[HDRS];
    dp_h1_request_t req;
    int n = dp_h1_parse_request(raw, len, NULL, &req, hv);
    CHECK(n > 0);
    CHECK_INT(req.body, DP_H1_BODY_CHUNKED);
    struct feed_result fr;
    feed(raw + n, len - (size_t)n, 0, 0, &fr);
    CHECK(fr.done);
    CHECK_MEM(fr.out, fr.out_len, "Wikipedia");
    size_t next = (size_t)n + fr.consumed;
    int m = dp_h1_parse_request(raw + next, len - next, NULL, &req, hv);
    CHECK_INT(m, len - next);
    CHECK_MEM(req.method, req.method_len, "GET");
}

int main(void)
{
    test_valid_requests();
    test_request_details();
    test_byte_classes();
    test_invalid_requests();
    test_limits();
    test_valid_responses();
    test_invalid_responses();
    test_head_complete();
    test_chunked_valid();
    test_chunked_invalid();
    test_request_with_chunked_body();
    TEST_DONE();
}
