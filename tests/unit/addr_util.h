/* Socket addresses from text for unit tests: sa4 / sa6 give the typed
 * address, set_sa fills a sockaddr_storage by the address's family (a ':'
 * makes it IPv6). Header-only. */
#ifndef DP_TESTS_UNIT_ADDR_UTIL_H
#define DP_TESTS_UNIT_ADDR_UTIL_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

static inline struct sockaddr_in sa4(const char *ip, uint16_t port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

static inline struct sockaddr_in6 sa6(const char *ip, uint16_t port)
{
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof(a));
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    inet_pton(AF_INET6, ip, &a.sin6_addr);
    return a;
}

static inline void set_sa(struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
    memset(ss, 0, sizeof(*ss));
    if (strchr(ip, ':')) {
        struct sockaddr_in6 a = sa6(ip, port);
        memcpy(ss, &a, sizeof(a));
    } else {
        struct sockaddr_in a = sa4(ip, port);
        memcpy(ss, &a, sizeof(a));
    }
}

#endif
