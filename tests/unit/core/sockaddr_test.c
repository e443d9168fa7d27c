/* dp_sockaddr_split / dp_sockaddr_str: the client address every request
 * formats, checked against inet_ntop over the whole range of byte values. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "dataplane/core/common.h"
#include "test.h"

static void check_v4(uint32_t host_order, uint16_t port)
{
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons(port)};
    in.sin_addr.s_addr = htonl(host_order);
    char want[INET_ADDRSTRLEN], got[48];
    uint16_t p;
    inet_ntop(AF_INET, &in.sin_addr, want, sizeof(want));
    CHECK(dp_sockaddr_split((struct sockaddr *)&in, got, sizeof(got), &p));
    CHECK_STR(got, want);
    CHECK_INT(p, port);
}

static void test_v4(void)
{
    /* every byte value in every position, with its neighbours at the edges */
    for (unsigned v = 0; v < 256; v++) {
        check_v4(v << 24 | 1, 80);
        check_v4(v << 16 | 0xff000000u, 443);
        check_v4(v << 8 | 0x0a0000ffu, 0);
        check_v4(v | 0x7f000000u, 65535);
    }
    check_v4(0, 1);
    check_v4(0xffffffffu, 2);

    /* a buffer shorter than the longest dotted quad still gets inet_ntop's
     * behaviour: the address when it fits, nothing when it does not */
    struct sockaddr_in in = {.sin_family = AF_INET};
    in.sin_addr.s_addr = htonl(0x01020304);
    char small[8];
    uint16_t p;
    CHECK(dp_sockaddr_split((struct sockaddr *)&in, small, sizeof(small), &p));
    CHECK_STR(small, "1.2.3.4");
    in.sin_addr.s_addr = htonl(0xc0a80001);
    CHECK(dp_sockaddr_split((struct sockaddr *)&in, small, sizeof(small), &p));
    CHECK_STR(small, "");
}

static void test_v6_and_str(void)
{
    struct sockaddr_storage ss = {0};
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(8443);
    inet_pton(AF_INET6, "2001:db8::1", &in6->sin6_addr);
    char out[64];
    dp_sockaddr_str(&ss, out, sizeof(out));
    CHECK_STR(out, "[2001:db8::1]:8443");

    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    memset(&ss, 0, sizeof(ss));
    in->sin_family = AF_INET;
    in->sin_port = htons(80);
    in->sin_addr.s_addr = htonl(0x0a000102);
    dp_sockaddr_str(&ss, out, sizeof(out));
    CHECK_STR(out, "10.0.1.2:80");

    ss.ss_family = AF_UNIX;
    dp_sockaddr_str(&ss, out, sizeof(out));
    CHECK_STR(out, "-");
}

int main(void)
{
    test_v4();
    test_v6_and_str();
    TEST_DONE();
}
