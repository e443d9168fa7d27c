/* CIDR ranges and sets (filters/auth/cidr.h): parsing, Envoy's masking and
 * clamping, family separation, v4-mapped addresses, /0 /32 /127 /128
 * edges, and sets against a linear reference. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"
#include "filters/auth/cidr.h"
#include "addr_util.h"
#include "test.h"

static dp_cidr_t cidr(const char *s)
{
    dp_cidr_t c;
    const char *err = NULL;
    memset(&c, 0xab, sizeof(c));
    if (dp_cidr_parse(s, &c, &err) != 0) {
        fprintf(stderr, "cannot parse %s: %s\n", s, err ? err : "?");
        abort();
    }
    return c;
}

static bool in(const char *range, const char *addr)
{
    dp_cidr_t c = cidr(range);
    return dp_cidr_match_str(&c, addr);
}

static const char *fmt(const dp_cidr_t *c)
{
    static char buf[64];
    if (dp_cidr_format(c, buf, sizeof(buf)) < 0)
        return "(format failed)";
    return buf;
}

static void test_parse(void)
{
    dp_cidr_t c;
    const char *err = NULL;

    c = cidr("10.0.0.0/8");
    CHECK_INT(c.addr.family, AF_INET);
    CHECK_INT(c.len, 8);
    CHECK_STR(fmt(&c), "10.0.0.0/8");
    /* bits past the prefix are masked off (Envoy ignores them) */
    c = cidr("10.1.2.3/8");
    CHECK_STR(fmt(&c), "10.0.0.0/8");
    c = cidr("192.168.77.255/20");
    CHECK_STR(fmt(&c), "192.168.64.0/20");
    c = cidr("2001:db8:ffff::1/32");
    CHECK_STR(fmt(&c), "2001:db8::/32");
    c = cidr("2001:db8::ff/127");
    CHECK_STR(fmt(&c), "2001:db8::fe/127");
    /* bare address: the host */
    c = cidr("10.1.2.3");
    CHECK_STR(fmt(&c), "10.1.2.3/32");
    c = cidr("::1");
    CHECK_STR(fmt(&c), "::1/128");
    c = cidr("0.0.0.0/0");
    CHECK_STR(fmt(&c), "0.0.0.0/0");
    c = cidr("ffff::/0");
    CHECK_STR(fmt(&c), "::/0");
    /* zone accepted and ignored */
    c = cidr("fe80::1%eth0/64");
    CHECK_STR(fmt(&c), "fe80::/64");

    /* errors */
    CHECK_INT(dp_cidr_parse("10.0.0.0/33", &c, &err), DP_EINVAL);
    CHECK_STR(err, "IPv4 prefix length above 32");
    CHECK_INT(dp_cidr_parse("::/129", &c, &err), DP_EINVAL);
    CHECK_STR(err, "IPv6 prefix length above 128");
    CHECK_INT(dp_cidr_parse("10.0.0.0/", &c, &err), DP_EINVAL);
    CHECK_STR(err, "prefix length is not a number");
    CHECK_INT(dp_cidr_parse("10.0.0.0/-1", &c, &err), DP_EINVAL);
    CHECK_INT(dp_cidr_parse("10.0.0.0/8/8", &c, &err), DP_EINVAL);
    CHECK_INT(dp_cidr_parse("10.0.0.0/ 8", &c, &err), DP_EINVAL);
    CHECK_INT(dp_cidr_parse("10.0.0.0/+8", &c, &err), DP_EINVAL);
    CHECK_INT(dp_cidr_parse("10.0.0.0/99999999999999999999", &c, &err), DP_EINVAL);
    CHECK_STR(err, "IPv4 prefix length above 32");
    /* leading zeros are fine, as Envoy's SimpleAtoi */
    CHECK_INT(dp_cidr_parse("10.1.0.0/0008", &c, &err), 0);
    CHECK_STR(fmt(&c), "10.0.0.0/8");
    CHECK_INT(dp_cidr_parse("10.0.0/8", &c, &err), DP_EINVAL);
    CHECK_STR(err, "not an IP address");
    CHECK_INT(dp_cidr_parse("example.com/8", &c, &err), DP_EINVAL);
    CHECK_INT(dp_cidr_parse("[::1]/128", &c, &err), DP_EINVAL);
    CHECK_INT(dp_cidr_parse("", &c, &err), DP_EINVAL);
    CHECK_INT(dp_cidr_parse(NULL, &c, &err), DP_EINVAL);
    CHECK_INT(dp_cidr_parse("fe80::1%/64", &c, &err), DP_EINVAL);
    CHECK_INT(dp_cidr_parse("10.0.0.1%eth0", &c, &err), DP_EINVAL);
}

static void test_from_range(void)
{
    dp_cidr_t c;
    const char *err = NULL;

    CHECK_INT(dp_cidr_from_range("10.1.2.3", 16, &c, &err), 0);
    CHECK_STR(fmt(&c), "10.1.0.0/16");
    /* unset prefix_len is 0: the whole family */
    CHECK_INT(dp_cidr_from_range("10.1.2.3", 0, &c, &err), 0);
    CHECK_STR(fmt(&c), "0.0.0.0/0");
    CHECK(dp_cidr_match_str(&c, "203.0.113.9"));
    CHECK(!dp_cidr_match_str(&c, "::1"));
    /* Envoy clamps an IPv4 prefix_len above 32 (validation allows 128) */
    CHECK_INT(dp_cidr_from_range("10.1.2.3", 64, &c, &err), 0);
    CHECK_STR(fmt(&c), "10.1.2.3/32");
    CHECK_INT(dp_cidr_from_range("2001:db8::1", 128, &c, &err), 0);
    CHECK_STR(fmt(&c), "2001:db8::1/128");
    CHECK_INT(dp_cidr_from_range("2001:db8::1", 129, &c, &err), DP_EINVAL);
    CHECK_STR(err, "prefix_len: must be at most 128");
    CHECK_INT(dp_cidr_from_range("", 8, &c, &err), DP_EINVAL);
    CHECK_STR(err, "address_prefix: required");
    CHECK_INT(dp_cidr_from_range("10.0.0.0/8", 8, &c, &err), DP_EINVAL);
    CHECK_STR(err, "address_prefix: not an IP address");
}

static void test_match(void)
{
    /* /0 */
    CHECK(in("0.0.0.0/0", "255.255.255.255"));
    CHECK(in("0.0.0.0/0", "0.0.0.0"));
    CHECK(!in("0.0.0.0/0", "::"));
    CHECK(in("::/0", "2001:db8::1"));
    CHECK(!in("::/0", "10.0.0.1"));
    /* /32 */
    CHECK(in("10.1.2.3/32", "10.1.2.3"));
    CHECK(!in("10.1.2.3/32", "10.1.2.2"));
    CHECK(!in("10.1.2.3/32", "10.1.2.4"));
    /* odd lengths */
    CHECK(in("10.1.2.0/23", "10.1.3.255"));
    CHECK(!in("10.1.2.0/23", "10.1.4.0"));
    CHECK(!in("10.1.2.0/23", "10.1.1.255"));
    CHECK(in("128.0.0.0/1", "200.1.1.1"));
    CHECK(!in("128.0.0.0/1", "127.255.255.255"));
    /* /128 and ::1 */
    CHECK(in("::1/128", "::1"));
    CHECK(!in("::1/128", "::2"));
    CHECK(!in("::1/128", "::"));
    CHECK(!in("::1/128", "127.0.0.1"));
    CHECK(in("::1", "0:0:0:0:0:0:0:1"));
    /* /127: a pair */
    CHECK(in("2001:db8::fe/127", "2001:db8::fe"));
    CHECK(in("2001:db8::fe/127", "2001:db8::ff"));
    CHECK(!in("2001:db8::fe/127", "2001:db8::fd"));
    CHECK(!in("2001:db8::fe/127", "2001:db8::100"));
    /* /32 in IPv6 */
    CHECK(in("2001:db8::/32", "2001:db8:ffff:ffff::1"));
    CHECK(!in("2001:db8::/32", "2001:db9::1"));
    /* strings that are no address never match */
    CHECK(!in("0.0.0.0/0", ""));
    CHECK(!in("0.0.0.0/0", "localhost"));
    CHECK(!in("0.0.0.0/0", "10.0.0.1:80"));
    dp_cidr_t any = cidr("0.0.0.0/0");
    CHECK(!dp_cidr_match_str(&any, NULL));
    CHECK(!dp_cidr_match_sa(&any, NULL));
}

/* IPv4-mapped IPv6, as Envoy: a mapped socket peer is IPv4, a mapped
 * string stays IPv6. */
static void test_v4_mapped(void)
{
    dp_cidr_t v4 = cidr("10.0.0.0/8"), mapped96 = cidr("::ffff:0:0/96"), m104 = cidr("::ffff:10.0.0.0/104");
    CHECK_STR(fmt(&m104), "::ffff:10.0.0.0/104");

    struct sockaddr_in6 p = sa6("::ffff:10.1.2.3", 4000);
    CHECK(dp_cidr_match_sa(&v4, (struct sockaddr *)&p));
    CHECK(!dp_cidr_match_sa(&mapped96, (struct sockaddr *)&p));
    CHECK(!dp_cidr_match_sa(&m104, (struct sockaddr *)&p));
    dp_ipaddr_t a;
    CHECK_INT(dp_ipaddr_from_sa((struct sockaddr *)&p, &a), 0);
    CHECK_INT(a.family, AF_INET);
    CHECK_INT(a.b[0], 10);
    CHECK_INT(a.b[3], 3);

    CHECK(!dp_cidr_match_str(&v4, "::ffff:10.1.2.3"));
    CHECK(dp_cidr_match_str(&mapped96, "::ffff:10.1.2.3"));
    CHECK(dp_cidr_match_str(&m104, "::ffff:10.1.2.3"));
    CHECK(!dp_cidr_match_str(&m104, "::ffff:11.1.2.3"));
    CHECK(!dp_cidr_match_str(&m104, "10.1.2.3"));
}

static void test_sockaddr(void)
{
    dp_cidr_t c4 = cidr("192.0.2.0/24"), c6 = cidr("2001:db8::/32");
    struct sockaddr_in a = sa4("192.0.2.77", 80), b = sa4("192.0.3.1", 80);
    struct sockaddr_in6 x = sa6("2001:db8::5", 443), y = sa6("::1", 443);
    CHECK(dp_cidr_match_sa(&c4, (struct sockaddr *)&a));
    CHECK(!dp_cidr_match_sa(&c4, (struct sockaddr *)&b));
    CHECK(!dp_cidr_match_sa(&c4, (struct sockaddr *)&x));
    CHECK(dp_cidr_match_sa(&c6, (struct sockaddr *)&x));
    CHECK(!dp_cidr_match_sa(&c6, (struct sockaddr *)&y));
    CHECK(!dp_cidr_match_sa(&c6, (struct sockaddr *)&a));
    struct sockaddr un = {.sa_family = AF_UNIX};
    CHECK(!dp_cidr_match_sa(&c4, &un));
    dp_ipaddr_t ip;
    CHECK_INT(dp_ipaddr_from_sa(&un, &ip), DP_EINVAL);
}

static void test_ipaddr_parse(void)
{
    dp_ipaddr_t a;
    CHECK_INT(dp_ipaddr_parse("10.0.0.1xyz", 8, &a), 0); /* only the first len bytes */
    CHECK_INT(a.family, AF_INET);
    CHECK_INT(dp_ipaddr_parse("10.0.0.1", 0, &a), DP_EINVAL);
    CHECK_INT(dp_ipaddr_parse("10.0.0.1\0", 9, &a), DP_EINVAL);
    CHECK_INT(dp_ipaddr_parse("1.2.3.4.5", 9, &a), DP_EINVAL);
    CHECK_INT(dp_ipaddr_parse("::ffff:1.2.3.4", 14, &a), 0);
    CHECK_INT(a.family, AF_INET6);
    char big[100];
    memset(big, '1', sizeof(big));
    CHECK_INT(dp_ipaddr_parse(big, sizeof(big), &a), DP_EINVAL);
}

/* xorshift, deterministic */
static uint32_t rnd_state = 2463534242u;
static uint32_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 17;
    rnd_state ^= rnd_state << 5;
    return rnd_state;
}

static void test_set(void)
{
    const char *err = NULL;
    dp_cidr_set_t *s = dp_cidr_set_new();
    CHECK(s != NULL);
    CHECK(!dp_cidr_set_match_str(s, "10.0.0.1")); /* empty */
    CHECK_INT(dp_cidr_set_add_str(s, "10.0.0.0/8", &err), 0);
    CHECK_INT(dp_cidr_set_add_str(s, "192.168.1.0/24", &err), 0);
    CHECK_INT(dp_cidr_set_add_str(s, "192.168.1.7", &err), 0);
    CHECK_INT(dp_cidr_set_add_str(s, "2001:db8::/32", &err), 0);
    CHECK_INT(dp_cidr_set_add_str(s, "::1", &err), 0);
    CHECK_INT(dp_cidr_set_add_str(s, "10.9.9.9/8", &err), 0); /* same as the first once masked */
    CHECK_INT(dp_cidr_set_add_str(s, "nope", &err), DP_EINVAL);
    CHECK_STR(err, "not an IP address");
    /* before build: linear, same answers */
    CHECK(dp_cidr_set_match_str(s, "10.200.0.1"));
    CHECK(!dp_cidr_set_match_str(s, "11.0.0.1"));
    dp_cidr_set_build(s);
    CHECK_INT(dp_cidr_set_size(s), 5);
    CHECK(dp_cidr_set_match_str(s, "10.200.0.1"));
    CHECK(dp_cidr_set_match_str(s, "192.168.1.255"));
    CHECK(!dp_cidr_set_match_str(s, "192.168.2.1"));
    CHECK(dp_cidr_set_match_str(s, "::1"));
    CHECK(!dp_cidr_set_match_str(s, "::2"));
    CHECK(dp_cidr_set_match_str(s, "2001:db8:1::1"));
    CHECK(!dp_cidr_set_match_str(s, "::ffff:10.0.0.1")); /* string: IPv6 */
    struct sockaddr_in6 m = sa6("::ffff:10.0.0.1", 1);
    CHECK(dp_cidr_set_match_sa(s, (struct sockaddr *)&m)); /* socket: IPv4 */
    struct sockaddr_in p = sa4("172.16.0.1", 1);
    CHECK(!dp_cidr_set_match_sa(s, (struct sockaddr *)&p));

    /* a hand-made range with junk past the prefix is normalized */
    dp_cidr_t junk;
    memset(&junk, 0xff, sizeof(junk));
    junk.addr.family = AF_INET;
    junk.len = 16;
    CHECK_INT(dp_cidr_set_add(s, &junk), 0);
    dp_cidr_set_build(s);
    CHECK(dp_cidr_set_match_str(s, "255.255.1.2"));
    CHECK(!dp_cidr_set_match_str(s, "255.254.1.2"));
    junk.len = 33;
    CHECK_INT(dp_cidr_set_add(s, &junk), DP_EINVAL);
    junk.addr.family = AF_UNIX;
    junk.len = 8;
    CHECK_INT(dp_cidr_set_add(s, &junk), DP_EINVAL);
    dp_cidr_set_free(s);
    dp_cidr_set_free(NULL);

    /* random sets against the linear reference */
    for (int round = 0; round < 20; round++) {
        dp_cidr_set_t *r = dp_cidr_set_new();
        dp_cidr_t v[64];
        size_t n = 1 + rnd() % 64;
        for (size_t i = 0; i < n; i++) {
            dp_cidr_t c;
            memset(&c, 0, sizeof(c));
            c.addr.family = (rnd() & 1) ? AF_INET : AF_INET6;
            for (int k = 0; k < (c.addr.family == AF_INET ? 4 : 16); k++)
                c.addr.b[k] = (uint8_t)(rnd() & 0x3); /* few distinct values: many hits */
            unsigned w = c.addr.family == AF_INET ? 32 : 128;
            c.len = (uint8_t)(rnd() % (w + 1));
            CHECK_INT(dp_cidr_set_add(r, &c), 0);
            v[i] = c;
        }
        dp_cidr_set_build(r);
        for (int q = 0; q < 200; q++) {
            dp_ipaddr_t a;
            memset(&a, 0, sizeof(a));
            a.family = (rnd() & 1) ? AF_INET : AF_INET6;
            for (int k = 0; k < (a.family == AF_INET ? 4 : 16); k++)
                a.b[k] = (uint8_t)(rnd() & 0x3);
            bool want = false;
            for (size_t i = 0; i < n; i++) {
                dp_cidr_t m2;
                char txt[64];
                /* the reference: each range as masked text, reparsed */
                if (dp_cidr_format(&v[i], txt, sizeof(txt)) > 0 && dp_cidr_parse(txt, &m2, NULL) == 0 &&
                    dp_cidr_contains(&m2, &a))
                    want = true;
            }
            if (dp_cidr_set_contains(r, &a) != want) {
                CHECK(!"set disagrees with the linear reference");
                break;
            }
        }
        dp_cidr_set_free(r);
    }
}

/* dp_cidr_contains against a bit-by-bit reference, every length */
static void test_bits(void)
{
    int bad = 0;
    for (int round = 0; round < 2000; round++) {
        dp_ipaddr_t net, a;
        memset(&net, 0, sizeof(net));
        net.family = (round & 1) ? AF_INET6 : AF_INET;
        unsigned w = net.family == AF_INET ? 32 : 128;
        for (unsigned k = 0; k < w / 8; k++)
            net.b[k] = (uint8_t)rnd();
        a = net;
        /* flip one random bit (or none) so that both outcomes occur */
        unsigned flip = rnd() % (w + 1);
        if (flip < w)
            a.b[flip / 8] ^= (uint8_t)(0x80u >> (flip % 8));
        unsigned len = rnd() % (w + 1);
        char txt[64], ip[INET6_ADDRSTRLEN];
        inet_ntop(net.family, net.b, ip, sizeof(ip));
        snprintf(txt, sizeof(txt), "%s/%u", ip, len);
        dp_cidr_t c = cidr(txt);
        bool want = true;
        for (unsigned bit = 0; bit < len; bit++)
            if (((net.b[bit / 8] ^ a.b[bit / 8]) >> (7 - bit % 8)) & 1)
                want = false;
        if (dp_cidr_contains(&c, &a) != want)
            bad++;
    }
    CHECK_INT(bad, 0);
}

int main(void)
{
    test_bits();
    test_parse();
    test_from_range();
    test_match();
    test_v4_mapped();
    test_sockaddr();
    test_ipaddr_parse();
    test_set();
    TEST_DONE();
}
