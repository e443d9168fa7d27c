/* libFuzzer driver: HTTP/1 request head, then the chunked body after it.
 *
 * Invariants checked (abort on violation, NDEBUG-proof):
 *  - consumed <= len, every reported pointer lies inside the consumed head;
 *  - a successful head is DP_EAGAIN on its proper prefixes, and is found at
 *    the same offset by dp_h1_head_complete(), whole and incrementally;
 *  - DP_EAGAIN implies the head end is not in the buffer;
 *  - a tighter limit never yields a different successful parse;
 *  - the chunked decoder gives the same bytes and end whatever the split. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/http1/parser.h"

#include "h1_fuzz_util.h"

static int parse_copy(const char *src, size_t k, const dp_h1_limits_t *lim, dp_h1_request_t *req,
                      dp_h1_header_t *hv)
{
    /* exact-size copy: any read past k is a heap overflow under ASan */
    char *pre = malloc(k ? k : 1);
    memcpy(pre, src, k);
    int r = dp_h1_parse_request(pre, k, lim, req, hv);
    free(pre);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    static dp_h1_header_t hv[MAX_HDRS];
    dp_h1_request_t req;
    dp_h1_limits_t lim = {0, MAX_HDRS};

    int r = dp_h1_parse_request(buf, size, &lim, &req, hv);
    FUZZ_CHECK(r > 0 || r == DP_EAGAIN || r == DP_ERR);
    FUZZ_CHECK(req.num_headers <= MAX_HDRS);

    if (r == DP_ERR) {
        FUZZ_CHECK(req.error != NULL);
        int s = req.error_status;
        FUZZ_CHECK(s == 400 || s == 414 || s == 417 || s == 431 || s == 501 || s == 505);
        return 0;
    }
    if (r == DP_EAGAIN) {
        FUZZ_CHECK(size <= DP_H1_DEFAULT_MAX_HEADER_BYTES);
        FUZZ_CHECK(dp_h1_head_complete(buf, size, 0) == DP_EAGAIN);
        return 0;
    }

    size_t head = (size_t)r;
    FUZZ_CHECK(head <= size && head <= DP_H1_DEFAULT_MAX_HEADER_BYTES);
    FUZZ_CHECK(req.error == NULL && req.error_status == 0);
    FUZZ_CHECK(inside(req.method, req.method_len, buf, head) && req.method_len > 0);
    FUZZ_CHECK(inside(req.target, req.target_len, buf, head) && req.target_len > 0);
    FUZZ_CHECK(req.minor_version == 0 || req.minor_version == 1);
    FUZZ_CHECK(req.headers == hv);
    for (size_t i = 0; i < req.num_headers; i++) {
        FUZZ_CHECK(inside(hv[i].name, hv[i].name_len, buf, head) && hv[i].name_len > 0);
        FUZZ_CHECK(inside(hv[i].value, hv[i].value_len, buf, head));
    }
    if (req.host)
        FUZZ_CHECK(inside(req.host, req.host_len, buf, head));
    if (req.minor_version == 1)
        FUZZ_CHECK(req.host != NULL);
    FUZZ_CHECK(req.body == DP_H1_BODY_NONE || req.body == DP_H1_BODY_LENGTH ||
               req.body == DP_H1_BODY_CHUNKED);
    FUZZ_CHECK((req.body == DP_H1_BODY_LENGTH) == (req.content_length > 0));
    FUZZ_CHECK(req.body != DP_H1_BODY_CHUNKED || req.minor_version == 1);
    dp_h1_body_kind_t body = req.body;

    /* resumability: proper prefixes need more; the head alone is enough */
    FUZZ_CHECK(parse_copy(buf, head - 1, &lim, &req, hv) == DP_EAGAIN);
    FUZZ_CHECK(parse_copy(buf, head / 2, &lim, &req, hv) == DP_EAGAIN);
    FUZZ_CHECK(parse_copy(buf, head, &lim, &req, hv) == r);
    FUZZ_CHECK(req.body == body);

    /* the end-of-head finder agrees, whole and fed in steps */
    FUZZ_CHECK(dp_h1_head_complete(buf, size, 0) == r);
    int found = DP_EAGAIN;
    size_t last = 0;
    for (size_t k = 7; found == DP_EAGAIN; k += 7) {
        if (k > size)
            k = size;
        found = dp_h1_head_complete(buf, k, last);
        last = k;
        if (k == size)
            break;
    }
    FUZZ_CHECK(found == r);

    /* a tighter limit gives the same head or refuses it, never another one */
    dp_h1_limits_t tight = {64, 4};
    int t = dp_h1_parse_request(buf, size, &tight, &req, hv);
    FUZZ_CHECK(t == r || t == DP_ERR);
    if (t == DP_ERR)
        FUZZ_CHECK(req.error_status == 431 || req.error_status == 414);

    if (body == DP_H1_BODY_CHUNKED)
        check_chunked(buf + head, size - head);
    return 0;
}
