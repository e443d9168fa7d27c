/* IP prefixes and prefix sets with Envoy's CidrRange semantics (cidr.h). */
#include "filters/auth/cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"

/* ---- addresses ------------------------------------------------------------ */

static int width(int family)
{
    return family == AF_INET ? 32 : 128;
}

int dp_ipaddr_parse(const char *s, size_t len, dp_ipaddr_t *out)
{
    /* inet_pton wants a NUL-terminated string; nothing valid is longer
     * than an IPv6 literal with a short zone */
    char buf[64];
    if (s == NULL || len == 0 || len >= sizeof(buf))
        return DP_EINVAL;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (memchr(buf, '\0', len) != NULL)
        return DP_EINVAL;
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, buf, out->b) == 1) {
        out->family = AF_INET;
        return 0;
    }
    /* Envoy parses IPv6 with getaddrinfo(AI_NUMERICHOST), which takes a
     * zone; ranges compare addresses only, so the zone is dropped. */
    char *zone = strchr(buf, '%');
    if (zone != NULL) {
        if (zone[1] == '\0')
            return DP_EINVAL;
        for (const char *z = zone + 1; *z; z++)
            if (*z <= ' ' || *z >= 0x7f || *z == '/' || *z == '%')
                return DP_EINVAL;
        *zone = '\0';
    }
    if (inet_pton(AF_INET6, buf, out->b) == 1) {
        out->family = AF_INET6;
        return 0;
    }
    memset(out, 0, sizeof(*out));
    return DP_EINVAL;
}

int dp_ipaddr_from_sa(const struct sockaddr *sa, dp_ipaddr_t *out)
{
    if (sa == NULL)
        return DP_EINVAL;
    memset(out, 0, sizeof(*out));
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        out->family = AF_INET;
        memcpy(out->b, &in->sin_addr, 4);
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
            /* a dual-stack socket's IPv4 peer: Envoy sees it as IPv4 */
            out->family = AF_INET;
            memcpy(out->b, &in6->sin6_addr.s6_addr[12], 4);
            return 0;
        }
        out->family = AF_INET6;
        memcpy(out->b, &in6->sin6_addr, 16);
        return 0;
    }
    return DP_EINVAL;
}

/* ---- ranges --------------------------------------------------------------- */

/* Zeroes every bit of a past the first len. */
static void mask_to(dp_ipaddr_t *a, unsigned len)
{
    unsigned nbytes = (unsigned)width(a->family) / 8;
    for (unsigned i = 0; i < nbytes; i++) {
        unsigned bit = i * 8;
        if (bit >= len)
            a->b[i] = 0;
        else if (len - bit < 8)
            a->b[i] &= (uint8_t)(0xffu << (8 - (len - bit)));
    }
}

static void make(dp_cidr_t *out, const dp_ipaddr_t *a, unsigned len)
{
    out->addr = *a;
    out->len = (uint8_t)len;
    mask_to(&out->addr, len);
}

int dp_cidr_parse(const char *s, dp_cidr_t *out, const char **err)
{
    const char *e = NULL;
    if (s == NULL || *s == '\0') {
        e = "empty CIDR range";
        goto fail;
    }
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    dp_ipaddr_t a;
    if (dp_ipaddr_parse(s, alen, &a) != 0) {
        e = "not an IP address";
        goto fail;
    }
    unsigned len = (unsigned)width(a.family);
    if (slash != NULL) {
        const char *p = slash + 1;
        unsigned v = 0;
        size_t nd = 0;
        for (; *p >= '0' && *p <= '9'; p++, nd++)
            if (v <= 1000)
                v = v * 10 + (unsigned)(*p - '0');
        if (nd == 0 || *p != '\0') {
            e = "prefix length is not a number";
            goto fail;
        }
        if (v > len) {
            e = a.family == AF_INET ? "IPv4 prefix length above 32" : "IPv6 prefix length above 128";
            goto fail;
        }
        len = v;
    }
    make(out, &a, len);
    return 0;
fail:
    if (err)
        *err = e;
    return DP_EINVAL;
}

int dp_cidr_from_range(const char *address_prefix, uint32_t prefix_len, dp_cidr_t *out, const char **err)
{
    const char *e = NULL;
    dp_ipaddr_t a;
    if (address_prefix == NULL || *address_prefix == '\0') {
        e = "address_prefix: required";
        goto fail;
    }
    if (prefix_len > 128) {
        e = "prefix_len: must be at most 128";
        goto fail;
    }
    if (dp_ipaddr_parse(address_prefix, strlen(address_prefix), &a) != 0) {
        e = "address_prefix: not an IP address";
        goto fail;
    }
    /* Envoy clamps rather than refuses: an IPv4 /33../128 is a /32 */
    unsigned w = (unsigned)width(a.family);
    make(out, &a, prefix_len > w ? w : prefix_len);
    return 0;
fail:
    if (err)
        *err = e;
    return DP_EINVAL;
}

bool dp_cidr_contains(const dp_cidr_t *c, const dp_ipaddr_t *a)
{
    if (c->addr.family != a->family)
        return false;
    unsigned full = c->len / 8u, rest = c->len % 8u;
    if (memcmp(c->addr.b, a->b, full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t m = (uint8_t)(0xffu << (8 - rest));
    return (a->b[full] & m) == c->addr.b[full];
}

bool dp_cidr_match_sa(const dp_cidr_t *c, const struct sockaddr *sa)
{
    dp_ipaddr_t a;
    return dp_ipaddr_from_sa(sa, &a) == 0 && dp_cidr_contains(c, &a);
}

bool dp_cidr_match_str(const dp_cidr_t *c, const char *addr)
{
    dp_ipaddr_t a;
    return addr != NULL && dp_ipaddr_parse(addr, strlen(addr), &a) == 0 && dp_cidr_contains(c, &a);
}

int dp_cidr_format(const dp_cidr_t *c, char *out, size_t outlen)
{
    char ip[INET6_ADDRSTRLEN];
    if (inet_ntop(c->addr.family, c->addr.b, ip, sizeof(ip)) == NULL)
        return -1;
    int n = snprintf(out, outlen, "%s/%u", ip, (unsigned)c->len);
    return n < 0 || (size_t)n >= outlen ? -1 : n;
}

/* ---- sets ----------------------------------------------------------------- */

/* After build, the ranges of one family sorted by (len, address), with one
 * run per distinct length: a lookup masks the address to each run's
 * length and binary-searches the run. */
typedef struct cidr_run {
    uint8_t len;
    size_t start, n;
} cidr_run_t;

typedef struct cidr_family {
    dp_cidr_t *v;
    size_t n;
    cidr_run_t runs[129];
    size_t nruns;
} cidr_family_t;

struct dp_cidr_set {
    dp_cidr_t *v; /* everything added, in order */
    size_t n, cap;
    bool built;
    cidr_family_t fam[2]; /* [0] IPv4, [1] IPv6: slices of v after build */
};

dp_cidr_set_t *dp_cidr_set_new(void)
{
    return calloc(1, sizeof(dp_cidr_set_t));
}

int dp_cidr_set_add(dp_cidr_set_t *s, const dp_cidr_t *c)
{
    if ((c->addr.family != AF_INET && c->addr.family != AF_INET6) || c->len > width(c->addr.family))
        return DP_EINVAL;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        dp_cidr_t *v = realloc(s->v, cap * sizeof(*v));
        if (v == NULL)
            return DP_ENOMEM;
        s->v = v;
        s->cap = cap;
    }
    /* lookups compare all 16 bytes: normalize a hand-made range */
    dp_cidr_t *d = &s->v[s->n++];
    memset(d, 0, sizeof(*d));
    d->addr.family = c->addr.family;
    memcpy(d->addr.b, c->addr.b, (size_t)width(c->addr.family) / 8);
    d->len = c->len;
    mask_to(&d->addr, d->len);
    s->built = false;
    return 0;
}

int dp_cidr_set_add_str(dp_cidr_set_t *s, const char *cidr, const char **err)
{
    dp_cidr_t c;
    int rc = dp_cidr_parse(cidr, &c, err);
    return rc != 0 ? rc : dp_cidr_set_add(s, &c);
}

/* IPv4 before IPv6, then by length, then by address bytes. */
static int cmp_cidr(const void *pa, const void *pb)
{
    const dp_cidr_t *a = pa, *b = pb;
    if (a->addr.family != b->addr.family)
        return a->addr.family == AF_INET ? -1 : 1;
    if (a->len != b->len)
        return a->len < b->len ? -1 : 1;
    return memcmp(a->addr.b, b->addr.b, 16);
}

void dp_cidr_set_build(dp_cidr_set_t *s)
{
    if (s->built)
        return;
    if (s->n > 0)
        qsort(s->v, s->n, sizeof(*s->v), cmp_cidr);
    /* drop duplicates in place */
    size_t w = 0;
    for (size_t i = 0; i < s->n; i++)
        if (w == 0 || cmp_cidr(&s->v[w - 1], &s->v[i]) != 0)
            s->v[w++] = s->v[i];
    s->n = w;
    memset(s->fam, 0, sizeof(s->fam));
    size_t n4 = 0;
    while (n4 < s->n && s->v[n4].addr.family == AF_INET)
        n4++;
    s->fam[0].v = s->v;
    s->fam[0].n = n4;
    s->fam[1].v = s->v + n4;
    s->fam[1].n = s->n - n4;
    for (int f = 0; f < 2; f++) {
        cidr_family_t *fa = &s->fam[f];
        for (size_t i = 0; i < fa->n; i++) {
            if (fa->nruns == 0 || fa->runs[fa->nruns - 1].len != fa->v[i].len)
                fa->runs[fa->nruns++] = (cidr_run_t){fa->v[i].len, i, 0};
            fa->runs[fa->nruns - 1].n++;
        }
    }
    s->built = true;
}

size_t dp_cidr_set_size(const dp_cidr_set_t *s)
{
    return s->n;
}

bool dp_cidr_set_contains(const dp_cidr_set_t *s, const dp_ipaddr_t *a)
{
    if (a->family != AF_INET && a->family != AF_INET6)
        return false;
    if (!s->built) {
        for (size_t i = 0; i < s->n; i++)
            if (dp_cidr_contains(&s->v[i], a))
                return true;
        return false;
    }
    const cidr_family_t *fa = &s->fam[a->family == AF_INET ? 0 : 1];
    for (size_t r = 0; r < fa->nruns; r++) {
        const cidr_run_t *run = &fa->runs[r];
        dp_ipaddr_t m = *a;
        mask_to(&m, run->len);
        size_t lo = run->start, hi = run->start + run->n;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            int c = memcmp(fa->v[mid].addr.b, m.b, 16);
            if (c == 0)
                return true;
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
    }
    return false;
}

bool dp_cidr_set_match_sa(const dp_cidr_set_t *s, const struct sockaddr *sa)
{
    dp_ipaddr_t a;
    return dp_ipaddr_from_sa(sa, &a) == 0 && dp_cidr_set_contains(s, &a);
}

bool dp_cidr_set_match_str(const dp_cidr_set_t *s, const char *addr)
{
    dp_ipaddr_t a;
    return addr != NULL && dp_ipaddr_parse(addr, strlen(addr), &a) == 0 && dp_cidr_set_contains(s, &a);
}

void dp_cidr_set_free(dp_cidr_set_t *s)
{
    if (s == NULL)
        return;
    free(s->v);
    free(s);
}
