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

#include "h1_fuzz_util.h"

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
