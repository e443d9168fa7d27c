/* PROXY protocol headers, byte for byte as HAProxy's spec gives them. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "dataplane/upstream/proxy_protocol.h"
#include "addr_util.h"
#include "test.h"

#define CHECK_BYTES(p, n, want, wn) CHECK((n) == (wn) && memcmp((p), (want), (wn)) == 0)

int main(void)
{
    uint8_t out[DP_PROXY_PROTOCOL_MAX];
    struct sockaddr_in c4 = sa4("198.18.0.2", 40000), l4 = sa4("198.18.0.1", 443);
    struct sockaddr_in6 c6 = sa6("2001:db8:18::2", 40001), l6 = sa6("2001:db8:18::1", 8443);
    struct sockaddr_in6 mapped = sa6("::ffff:198.18.0.2", 40000);
    size_t n;

    n = dp_proxy_protocol_header(1, (struct sockaddr *)&c4, (struct sockaddr *)&l4, out);
    CHECK_BYTES(out, n, "PROXY TCP4 198.18.0.2 198.18.0.1 40000 443\r\n",
                strlen("PROXY TCP4 198.18.0.2 198.18.0.1 40000 443\r\n"));
    n = dp_proxy_protocol_header(1, (struct sockaddr *)&c6, (struct sockaddr *)&l6, out);
    CHECK_BYTES(out, n, "PROXY TCP6 2001:db8:18::2 2001:db8:18::1 40001 8443\r\n",
                strlen("PROXY TCP6 2001:db8:18::2 2001:db8:18::1 40001 8443\r\n"));
    /* families differ: UNKNOWN */
    n = dp_proxy_protocol_header(1, (struct sockaddr *)&c4, (struct sockaddr *)&l6, out);
    CHECK_BYTES(out, n, "PROXY UNKNOWN\r\n", strlen("PROXY UNKNOWN\r\n"));
    /* an IPv4-mapped client on a dual-stack listener is an IPv4 client */
    struct sockaddr_in6 lm = sa6("::ffff:198.18.0.1", 443);
    n = dp_proxy_protocol_header(1, (struct sockaddr *)&mapped, (struct sockaddr *)&lm, out);
    CHECK_BYTES(out, n, "PROXY TCP4 198.18.0.2 198.18.0.1 40000 443\r\n",
                strlen("PROXY TCP4 198.18.0.2 198.18.0.1 40000 443\r\n"));

    static const uint8_t want4[] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49,
                                    0x54, 0x0A, 0x21, 0x11, 0x00, 0x0C, 198,  18,   0,    2,
                                    198,  18,   0,    1,    0x9C, 0x40, 0x01, 0xBB};
    n = dp_proxy_protocol_header(2, (struct sockaddr *)&c4, (struct sockaddr *)&l4, out);
    CHECK_BYTES(out, n, want4, sizeof(want4));

    n = dp_proxy_protocol_header(2, (struct sockaddr *)&c6, (struct sockaddr *)&l6, out);
    CHECK_INT((int)n, 16 + 36);
    CHECK_INT(out[12], 0x21);
    CHECK_INT(out[13], 0x21);
    CHECK_INT(out[15], 36);
    CHECK_BYTES(out + 16, 16, &c6.sin6_addr, 16);
    CHECK_BYTES(out + 32, 16, &l6.sin6_addr, 16);
    CHECK_INT(out[48] << 8 | out[49], 40001);
    CHECK_INT(out[50] << 8 | out[51], 8443);

    /* no usable addresses: LOCAL with no address block */
    n = dp_proxy_protocol_header(2, NULL, NULL, out);
    CHECK_INT((int)n, 16);
    CHECK_INT(out[12], 0x20);
    CHECK_INT(out[13], 0x00);
    CHECK_INT(out[14] << 8 | out[15], 0);
    TEST_DONE();
}
