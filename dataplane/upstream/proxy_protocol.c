#include "dataplane/upstream/proxy_protocol.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static const uint8_t v2_sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

/* An IPv4-mapped IPv6 address counts as IPv4 (a dual-stack listener's
 * view of an IPv4 client). Returns the family of the unwrapped address. */
static int unwrap(const struct sockaddr *a, struct sockaddr_storage *out)
{
    memset(out, 0, sizeof(*out));
    if (a == NULL)
        return AF_UNSPEC;
    if (a->sa_family == AF_INET) {
        memcpy(out, a, sizeof(struct sockaddr_in));
        return AF_INET;
    }
    if (a->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)a;
        if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
            struct sockaddr_in *s4 = (struct sockaddr_in *)out;
            s4->sin_family = AF_INET;
            s4->sin_port = s6->sin6_port;
            memcpy(&s4->sin_addr, &s6->sin6_addr.s6_addr[12], 4);
            return AF_INET;
        }
        memcpy(out, a, sizeof(*s6));
        return AF_INET6;
    }
    return AF_UNSPEC;
}

static size_t v1(int fam, const struct sockaddr_storage *s, const struct sockaddr_storage *d, uint8_t *out)
{
    char sa[INET6_ADDRSTRLEN], da[INET6_ADDRSTRLEN];
    int n;

    if (fam == AF_UNSPEC)
        return (size_t)snprintf((char *)out, DP_PROXY_PROTOCOL_MAX, "PROXY UNKNOWN\r\n");
    if (fam == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)s, *b = (const struct sockaddr_in *)d;
        inet_ntop(AF_INET, &a->sin_addr, sa, sizeof(sa));
        inet_ntop(AF_INET, &b->sin_addr, da, sizeof(da));
        n = snprintf((char *)out, DP_PROXY_PROTOCOL_MAX, "PROXY TCP4 %s %s %u %u\r\n", sa, da, ntohs(a->sin_port),
                     ntohs(b->sin_port));
    } else {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)s, *b = (const struct sockaddr_in6 *)d;
        inet_ntop(AF_INET6, &a->sin6_addr, sa, sizeof(sa));
        inet_ntop(AF_INET6, &b->sin6_addr, da, sizeof(da));
        n = snprintf((char *)out, DP_PROXY_PROTOCOL_MAX, "PROXY TCP6 %s %s %u %u\r\n", sa, da,
                     ntohs(a->sin6_port), ntohs(b->sin6_port));
    }
    return (size_t)n;
}

static size_t v2(int fam, const struct sockaddr_storage *s, const struct sockaddr_storage *d, uint8_t *out)
{
    size_t alen = 0;

    memcpy(out, v2_sig, sizeof(v2_sig));
    if (fam == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)s, *b = (const struct sockaddr_in *)d;
        out[12] = 0x21; /* version 2, PROXY */
        out[13] = 0x11; /* TCP over IPv4 */
        memcpy(out + 16, &a->sin_addr, 4);
        memcpy(out + 20, &b->sin_addr, 4);
        memcpy(out + 24, &a->sin_port, 2);
        memcpy(out + 26, &b->sin_port, 2);
        alen = 12;
    } else if (fam == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)s, *b = (const struct sockaddr_in6 *)d;
        out[12] = 0x21;
        out[13] = 0x21; /* TCP over IPv6 */
        memcpy(out + 16, &a->sin6_addr, 16);
        memcpy(out + 32, &b->sin6_addr, 16);
        memcpy(out + 48, &a->sin6_port, 2);
        memcpy(out + 50, &b->sin6_port, 2);
        alen = 36;
    } else {
        out[12] = 0x20; /* version 2, LOCAL */
        out[13] = 0x00; /* UNSPEC */
    }
    out[14] = (uint8_t)(alen >> 8);
    out[15] = (uint8_t)alen;
    return 16 + alen;
}

size_t dp_proxy_protocol_header(int version, const struct sockaddr *src, const struct sockaddr *dst, uint8_t *out)
{
    struct sockaddr_storage s, d;
    int fs = unwrap(src, &s), fd = unwrap(dst, &d);
    int fam = fs == fd ? fs : AF_UNSPEC;

    return version == 1 ? v1(fam, &s, &d, out) : v2(fam, &s, &d, out);
}
