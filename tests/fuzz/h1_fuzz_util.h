/* Invariant helpers shared by the HTTP/1 fuzz drivers (request and
 * response): included by both, static so each driver is self-contained. */
#ifndef DP_TESTS_FUZZ_H1_FUZZ_UTIL_H
#define DP_TESTS_FUZZ_H1_FUZZ_UTIL_H

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

#endif
