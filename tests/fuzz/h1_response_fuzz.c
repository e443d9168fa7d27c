/* libFuzzer driver: HTTP/1 response head, parsed as the answer to a GET
 * and to a HEAD, then the chunked body after it.
 *
 * Invariants checked (abort on violation, NDEBUG-proof):
 *  - consumed <= len, every reported pointer lies inside the consumed head;
 *  - the HEAD flag changes the body kind only, never the head's length;
 *  - no-body statuses and HEAD answers report no body; UNTIL_CLOSE is
 *    never keep-alive;
 *  - a successful head is DP_EAGAIN on its proper prefixes;
 *  - the chunked decoder gives the same bytes and end whatever the split. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/http1/parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(c)                                                                                        \
    do {                                                                                                     \
        if (!(c)) {                                                                                          \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #c);                        \
            abort();                                                                                         \
        }                                                                                                    \
    } while (0)

#define MAX_HDRS 100

static int inside(const char *p, size_t n, const char *base, size_t len)
{
    return p != NULL && p >= base && (size_t)(p - base) <= len && n <= len - (size_t)(p - base);
}

struct decoded {
    int rc; /* 1 done, 0 ran out of input, -1 error */
    size_t consumed, out_len;
    uint64_t hash;
};

/* Decodes buf[0..len) as a codec would, the input arriving in two parts:
 * buf[0..split) first, then the rest. */
static void decode(const char *buf, size_t len, size_t split, struct decoded *d)
{
    dp_h1_chunked_t c;
    dp_h1_chunked_init(&c);
    memset(d, 0, sizeof(*d));
    d->hash = 1469598103934665603ull;
    size_t pos = 0, avail = split;
    for (;;) {
        const char *data, *err = NULL;
        size_t dlen;
        int n = dp_h1_chunked_decode(&c, buf + pos, avail - pos, &data, &dlen, &err);
        if (n < 0) {
            FUZZ_CHECK(err != NULL);
            FUZZ_CHECK(!dp_h1_chunked_done(&c));
            d->rc = -1;
            return;
        }
        FUZZ_CHECK((size_t)n <= avail - pos);
        if (dlen > 0) {
            FUZZ_CHECK(inside(data, dlen, buf + pos, (size_t)n));
            FUZZ_CHECK(data + dlen == buf + pos + n); /* data ends the call */
            for (size_t i = 0; i < dlen; i++)
                d->hash = (d->hash ^ (unsigned char)data[i]) * 1099511628211ull;
            d->out_len += dlen;
        }
        pos += (size_t)n;
        if (dp_h1_chunked_done(&c)) {
            d->rc = 1;
            break;
        }
        if (n == 0 && dlen == 0) {
            if (avail == len)
                break;
            avail = len;
        }
    }
    d->consumed = pos;
}

static void check_chunked(const char *buf, size_t len)
{
    struct decoded whole, part;
    decode(buf, len, len, &whole);
    size_t splits[3] = {len / 2, len > 0 ? 1 : 0, len > 3 ? len - 3 : 0};
    for (int i = 0; i < 3; i++) {
        decode(buf, len, splits[i], &part);
        FUZZ_CHECK(part.rc == whole.rc);
        if (whole.rc != -1) {
            FUZZ_CHECK(part.consumed == whole.consumed);
            FUZZ_CHECK(part.out_len == whole.out_len);
            FUZZ_CHECK(part.hash == whole.hash);
        }
    }
    FUZZ_CHECK(whole.consumed <= len);
}

static int parse_copy(const char *src, size_t k, int head, dp_h1_response_t *resp, dp_h1_header_t *hv)
{
    char *pre = malloc(k ? k : 1);
    memcpy(pre, src, k);
    int r = dp_h1_parse_response(pre, k, NULL, head, resp, hv);
    free(pre);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    static dp_h1_header_t hv[MAX_HDRS];
    dp_h1_response_t resp, resp_head;

    int r = dp_h1_parse_response(buf, size, NULL, 0, &resp, hv);
    FUZZ_CHECK(r > 0 || r == DP_EAGAIN || r == DP_ERR);
    FUZZ_CHECK(resp.num_headers <= MAX_HDRS);
    int rh = dp_h1_parse_response(buf, size, NULL, 1, &resp_head, hv);
    FUZZ_CHECK(rh == r);

    if (r == DP_ERR) {
        FUZZ_CHECK(resp.error != NULL && resp_head.error != NULL);
        return 0;
    }
    if (r == DP_EAGAIN) {
        FUZZ_CHECK(size <= DP_H1_DEFAULT_MAX_HEADER_BYTES);
        FUZZ_CHECK(dp_h1_head_complete(buf, size, 0) == DP_EAGAIN);
        return 0;
    }

    size_t head = (size_t)r;
    FUZZ_CHECK(head <= size && head <= DP_H1_DEFAULT_MAX_HEADER_BYTES);
    FUZZ_CHECK(resp.error == NULL);
    FUZZ_CHECK(resp.status >= 100 && resp.status <= 599);
    FUZZ_CHECK(resp.minor_version == 0 || resp.minor_version == 1);
    FUZZ_CHECK(inside(resp.reason, resp.reason_len, buf, head));
    FUZZ_CHECK(resp.headers == hv);
    for (size_t i = 0; i < resp.num_headers; i++) {
        FUZZ_CHECK(inside(hv[i].name, hv[i].name_len, buf, head) && hv[i].name_len > 0);
        FUZZ_CHECK(inside(hv[i].value, hv[i].value_len, buf, head));
    }
    FUZZ_CHECK(resp_head.body == DP_H1_BODY_NONE);
    FUZZ_CHECK(resp_head.status == resp.status);
    int no_body = resp.status < 200 || resp.status == 204 || resp.status == 304;
    if (no_body)
        FUZZ_CHECK(resp.body == DP_H1_BODY_NONE);
    if (resp.body == DP_H1_BODY_UNTIL_CLOSE)
        FUZZ_CHECK(!resp.keep_alive);
    if (resp.body == DP_H1_BODY_LENGTH)
        FUZZ_CHECK(resp.content_length > 0);
    if (resp.body == DP_H1_BODY_CHUNKED)
        FUZZ_CHECK(resp.minor_version == 1);
    dp_h1_body_kind_t body = resp.body;

    FUZZ_CHECK(parse_copy(buf, head - 1, 0, &resp, hv) == DP_EAGAIN);
    FUZZ_CHECK(parse_copy(buf, head / 2, 0, &resp, hv) == DP_EAGAIN);
    FUZZ_CHECK(parse_copy(buf, head, 0, &resp, hv) == r);
    FUZZ_CHECK(resp.body == body);
    FUZZ_CHECK(dp_h1_head_complete(buf, size, 0) == r);

    if (body == DP_H1_BODY_CHUNKED)
        check_chunked(buf + head, size - head);
    return 0;
}
