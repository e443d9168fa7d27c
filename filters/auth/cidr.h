/* IP prefixes (CIDR ranges) and sets of them, with Envoy's semantics
 * (Network::Address::CidrRange): used by the RBAC filter's destination_ip /
 * direct_remote_ip / remote_ip / source_ip rules and by the container
 * permission model's IP groups (one dp_cidr_set_t per group).
 *
 * Semantics, as Envoy's CidrRange:
 *  - A range is an IPv4 or an IPv6 prefix. IPv4 and IPv6 never match each
 *    other: 10.0.0.0/8 does not contain ::ffff:10.1.2.3 and ::/0 does not
 *    contain 10.1.2.3.
 *  - Bits of the address beyond the prefix length are ignored (masked off
 *    when the range is made): 10.1.2.3/8 is 10.0.0.0/8.
 *  - From Envoy's proto (envoy.config.core.v3.CidrRange, dp_cidr_from_range)
 *    an unset prefix_len is 0, so {address_prefix: "10.1.2.3"} alone is
 *    the whole IPv4 space; a prefix_len above the family's width is clamped
 *    (an IPv4 range with prefix_len 33..128 is a /32, as Envoy's
 *    truncateIpAddressAndLength does); above 128 is an error (Envoy's
 *    validation: lte 128).
 *  - From a string (dp_cidr_parse) "addr/len" needs len <= 32 (IPv4) or
 *    <= 128 (IPv6), as Envoy's CidrRange::create(string); a bare address is
 *    the single host (/32 or /128), our convenience.
 *
 * IPv4-mapped IPv6 addresses (::ffff:a.b.c.d), as Envoy:
 *  - a socket address (dp_ipaddr_from_sa, dp_cidr_match_sa) that is
 *    v4-mapped is the IPv4 address a.b.c.d: Envoy converts peers of
 *    dual-stack sockets that way (Address::addressFromSockAddr with
 *    v6only false). Our listeners are IPV6_V6ONLY, so our own peers are
 *    never v4-mapped; the rule matters for callers with other sockets;
 *  - an address string (dp_ipaddr_parse, dp_cidr_match_str) such as an
 *    X-Forwarded-For entry "::ffff:10.1.2.3" stays IPv6, as Envoy's
 *    Utility::parseInternetAddress keeps it: it matches ::ffff:0:0/96, not
 *    10.0.0.0/8;
 *  - a range written "::ffff:10.0.0.0/104" is an IPv6 range.
 * An IPv6 zone ("fe80::1%eth0") is accepted in strings and ignored, as
 * Envoy's ranges compare addresses only.
 *
 * No allocation except in dp_cidr_set_*; nothing here blocks or uses DNS.
 * Ranges and built sets are immutable and safe to share between threads. */
#ifndef DP_FILTERS_AUTH_CIDR_H
#define DP_FILTERS_AUTH_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* One IP address: family AF_INET (the 4 bytes in b[0..3], rest zero) or
 * AF_INET6; bytes in network order. */
typedef struct dp_ipaddr {
    int family;
    uint8_t b[16];
} dp_ipaddr_t;

/* One range: addr with every bit past len zero; len 0..32 (IPv4) or
 * 0..128 (IPv6). */
typedef struct dp_cidr {
    dp_ipaddr_t addr;
    uint8_t len;
} dp_cidr_t;

/* ---- addresses ------------------------------------------------------------ */

/* An IPv4 dotted quad or an IPv6 literal (no brackets, no port; optional
 * "%zone", ignored), `len` bytes of s (need not be NUL-terminated).
 * Returns 0, or DP_EINVAL when it is not an IP literal. */
int dp_ipaddr_parse(const char *s, size_t len, dp_ipaddr_t *out);

/* The address of an AF_INET / AF_INET6 sockaddr, a v4-mapped IPv6 one as
 * IPv4 (see above). Returns 0, or DP_EINVAL (NULL, other family). */
int dp_ipaddr_from_sa(const struct sockaddr *sa, dp_ipaddr_t *out);

/* ---- ranges --------------------------------------------------------------- */

/* "10.0.0.0/8", "2001:db8::/32", or a bare address ("10.1.2.3" = /32,
 * "::1" = /128). Returns 0, or DP_EINVAL with *err (static, may be NULL)
 * saying what is wrong. */
int dp_cidr_parse(const char *s, dp_cidr_t *out, const char **err);

/* Envoy's envoy.config.core.v3.CidrRange {address_prefix, prefix_len}
 * (pass 0 for an unset prefix_len). Returns 0, or DP_EINVAL with *err
 * (static, may be NULL). */
int dp_cidr_from_range(const char *address_prefix, uint32_t prefix_len, dp_cidr_t *out, const char **err);

/* Whether the range contains the address (false across families). */
bool dp_cidr_contains(const dp_cidr_t *c, const dp_ipaddr_t *a);
/* The same for a sockaddr (false for NULL or a non-IP family). */
bool dp_cidr_match_sa(const dp_cidr_t *c, const struct sockaddr *sa);
/* The same for an address string (NUL-terminated; false if not an IP). */
bool dp_cidr_match_str(const dp_cidr_t *c, const char *addr);

/* "10.0.0.0/8" into out (NUL-terminated). Returns the length, or -1 if it
 * does not fit (out needs at most 50 bytes). */
int dp_cidr_format(const dp_cidr_t *c, char *out, size_t outlen);

/* ---- sets ----------------------------------------------------------------- */

/* A set of ranges matched as one: contains an address when any range does.
 * Build it once (new, add..., build), then query it from any thread; a
 * lookup costs one binary search per distinct prefix length present in
 * the address's family. Queries before build are correct but linear. */
typedef struct dp_cidr_set dp_cidr_set_t;

/* Returns an empty set, or NULL when out of memory. */
dp_cidr_set_t *dp_cidr_set_new(void);
/* Adds one range (copied, masked; duplicates are fine). Returns 0,
 * DP_EINVAL (not an IPv4/IPv6 range) or DP_ENOMEM. Not after the set is
 * shared. */
int dp_cidr_set_add(dp_cidr_set_t *s, const dp_cidr_t *c);
/* dp_cidr_parse() then add. Returns 0, DP_EINVAL with *err, or DP_ENOMEM. */
int dp_cidr_set_add_str(dp_cidr_set_t *s, const char *cidr, const char **err);
/* Sorts and indexes the set (idempotent; adding afterwards needs another
 * build). Never fails. */
void dp_cidr_set_build(dp_cidr_set_t *s);
/* Number of distinct ranges (after build; before, the number added). */
size_t dp_cidr_set_size(const dp_cidr_set_t *s);
bool dp_cidr_set_contains(const dp_cidr_set_t *s, const dp_ipaddr_t *a);
bool dp_cidr_set_match_sa(const dp_cidr_set_t *s, const struct sockaddr *sa);
bool dp_cidr_set_match_str(const dp_cidr_set_t *s, const char *addr);
/* NULL is fine. */
void dp_cidr_set_free(dp_cidr_set_t *s);

#endif
