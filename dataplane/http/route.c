/* Virtual host selection, route matching and route actions, following
 * Envoy's source/common/router/config_impl.cc (RouteMatcher,
 * RouteEntryImplBase), http/header_utility.cc and http/utility.cc
 * (newUri). See route.h for the contracts. */
#include "dataplane/http/route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/http/hcm-t.h"

static inline unsigned char lc(unsigned char c)
{
    return (unsigned)c - 'A' < 26u ? (unsigned char)(c + 32) : c;
}

static bool mem_eq_nocase(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (lc((unsigned char)a[i]) != lc((unsigned char)b[i]))
            return false;
    }
    return true;
}

static inline bool mem_eq(const char *a, const char *b, size_t n, bool nocase)
{
    if (nocase)
        return mem_eq_nocase(a, b, n);
    return n == 0 || memcmp(a, b, n) == 0;
}

/* ======================================================================
 * Domain index
 *
 * One open-addressing table (linear probing, load <= 1/2) holds every
 * exact domain and every wildcard's fixed part, keyed by (kind, lowercase
 * text). Lookups lowercase the host on the fly while hashing.
 *
 * Wildcards are also grouped by the length of their fixed part. For a
 * host, suffix wildcards are tried by walking the host from its end: the
 * running hash after L characters is the hash of the host's last L
 * characters, so each distinct suffix length costs one probe and the walk
 * costs one pass over the host, whatever the number of vhosts. The
 * longest matching length wins, as Envoy's map ordered by descending
 * length. Prefix wildcards are the mirror image (walk from the start).
 * ==================================================================== */

enum { DOM_EXACT = 0, DOM_SUFFIX = 1, DOM_PREFIX = 2 };

typedef struct dom_slot {
    uint64_t hash;
    const char *key; /* lowercase, in index->keys; NULL: empty slot */
    uint32_t len;
    uint32_t kind;
    const dp_vhost_t *vh;
} dom_slot_t;

struct dp_domain_index {
    dom_slot_t *slots;
    size_t mask;
    uint32_t *suffix_lens; /* distinct, ascending */
    size_t n_suffix_lens;
    uint32_t *prefix_lens; /* distinct, ascending */
    size_t n_prefix_lens;
    const dp_vhost_t *any; /* "*" */
    char *keys;
};

/* FNV-1a, with a per-kind offset basis so that "foo" as an exact name and
 * "foo" as a wildcard part land in different slots. */
#define FNV_PRIME 0x100000001b3ULL
static const uint64_t dom_seed[3] = {
    0xcbf29ce484222325ULL,
    0xcbf29ce484222325ULL ^ 0x9e3779b97f4a7c15ULL,
    0xcbf29ce484222325ULL ^ 0xc2b2ae3d27d4eb4fULL,
};

static inline uint64_t fnv_step(uint64_t h, unsigned char c)
{
    return (h ^ c) * FNV_PRIME;
}

/* FNV's low bits are weak for short keys and we mask with them. */
static inline uint64_t hash_fin(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

/* Hash of s[0..len) in the direction its kind is walked at lookup. */
static uint64_t dom_hash(uint32_t kind, const char *s, size_t len)
{
    uint64_t h = dom_seed[kind];
    if (kind == DOM_SUFFIX) {
        for (size_t i = len; i-- > 0;)
            h = fnv_step(h, lc((unsigned char)s[i]));
    } else {
        for (size_t i = 0; i < len; i++)
            h = fnv_step(h, lc((unsigned char)s[i]));
    }
    return hash_fin(h);
}

static const dom_slot_t *dom_find(const struct dp_domain_index *ix, uint32_t kind, uint64_t hash,
                                  const char *s, size_t len)
{
    for (size_t i = hash & ix->mask;; i = (i + 1) & ix->mask) {
        const dom_slot_t *e = &ix->slots[i];
        if (e->key == NULL)
            return NULL;
        if (e->hash == hash && e->kind == kind && e->len == len && mem_eq_nocase(e->key, s, len))
            return e;
    }
}

/* Inserts, or returns the existing slot holding the same (kind, key). */
static const dom_slot_t *dom_insert(struct dp_domain_index *ix, uint32_t kind, const char *key, size_t len,
                                    const dp_vhost_t *vh)
{
    uint64_t hash = dom_hash(kind, key, len);
    size_t i = hash & ix->mask;
    for (;; i = (i + 1) & ix->mask) {
        dom_slot_t *e = &ix->slots[i];
        if (e->key == NULL)
            break;
        if (e->hash == hash && e->kind == kind && e->len == len && memcmp(e->key, key, len) == 0)
            return e;
    }
    ix->slots[i] = (dom_slot_t){hash, key, (uint32_t)len, kind, vh};
    return NULL;
}

static void dom_index_free(struct dp_domain_index *ix)
{
    if (ix == NULL)
        return;
    free(ix->slots);
    free(ix->suffix_lens);
    free(ix->prefix_lens);
    free(ix->keys);
    free(ix);
}

void dp_route_config_free_index(dp_route_config_t *rc)
{
    dom_index_free(rc->index);
    rc->index = NULL;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Sorts and dedups lens[0..n), returns the new count. */
static size_t uniq_lens(uint32_t *lens, size_t n)
{
    if (n == 0)
        return 0;
    qsort(lens, n, sizeof(*lens), cmp_u32);
    size_t w = 1;
    for (size_t r = 1; r < n; r++) {
        if (lens[r] != lens[w - 1])
            lens[w++] = lens[r];
    }
    return w;
}

/* Classifies a domain; on success *fixed / *fixed_len is the part without
 * the '*'. Returns -1 on a misplaced '*' or an empty domain. */
static int dom_classify(const char *d, size_t len, uint32_t *kind, const char **fixed, size_t *fixed_len)
{
    if (len == 0)
        return -1;
    if (len == 1 && d[0] == '*') {
        *kind = UINT32_MAX; /* the default vhost */
        return 0;
    }
    const char *body = d;
    size_t blen = len;
    *kind = DOM_EXACT;
    if (d[0] == '*') {
        *kind = DOM_SUFFIX;
        body++;
        blen--;
    } else if (d[len - 1] == '*') {
        *kind = DOM_PREFIX;
        blen--;
    }
    if (memchr(body, '*', blen) != NULL)
        return -1;
    *fixed = body;
    *fixed_len = blen;
    return 0;
}

static const char *vh_name(const dp_vhost_t *vh)
{
    return vh->name ? vh->name : "(unnamed)";
}

int dp_route_config_index(dp_route_config_t *rc, char *errbuf, size_t errlen)
{
    char dummy[1];
    if (errbuf == NULL || errlen == 0) {
        errbuf = dummy;
        errlen = sizeof(dummy);
    }
    errbuf[0] = '\0';
    const char *rc_name = rc->name ? rc->name : "";
    dp_route_config_free_index(rc);

    /* Pass 1: validate shapes and size the allocations. */
    size_t n_keys = 0, key_bytes = 0, n_suffix = 0, n_prefix = 0;
    const dp_vhost_t *any = NULL;
    for (size_t v = 0; v < rc->n_vhosts; v++) {
        const dp_vhost_t *vh = &rc->vhosts[v];
        for (size_t d = 0; d < vh->n_domains; d++) {
            const char *dom = vh->domains[d] ? vh->domains[d] : "";
            const char *fixed = NULL;
            size_t flen = 0;
            uint32_t kind;
            if (dom_classify(dom, strlen(dom), &kind, &fixed, &flen) < 0) {
                snprintf(errbuf, errlen,
                         "invalid domain '%s' in virtual host %s of route %s: '*' may only be the whole "
                         "domain, its first or its last character",
                         dom, vh_name(vh), rc_name);
                return DP_EINVAL;
            }
            if (kind == UINT32_MAX) {
                if (any != NULL) {
                    snprintf(errbuf, errlen,
                             "Only a single wildcard domain is permitted in route %s (virtual hosts %s and %s)",
                             rc_name, vh_name(any), vh_name(vh));
                    return DP_EINVAL;
                }
                any = vh;
                continue;
            }
            n_keys++;
            key_bytes += flen;
            n_suffix += kind == DOM_SUFFIX;
            n_prefix += kind == DOM_PREFIX;
        }
    }

    size_t cap = 8;
    while (cap < n_keys * 2)
        cap *= 2;
    struct dp_domain_index *ix = calloc(1, sizeof(*ix));
    if (ix == NULL)
        goto enomem;
    ix->any = any;
    ix->mask = cap - 1;
    ix->slots = calloc(cap, sizeof(*ix->slots));
    ix->keys = malloc(key_bytes ? key_bytes : 1);
    ix->suffix_lens = malloc((n_suffix ? n_suffix : 1) * sizeof(uint32_t));
    ix->prefix_lens = malloc((n_prefix ? n_prefix : 1) * sizeof(uint32_t));
    if (ix->slots == NULL || ix->keys == NULL || ix->suffix_lens == NULL || ix->prefix_lens == NULL)
        goto enomem;

    /* Pass 2: lowercase copies of the fixed parts, inserted. */
    char *kp = ix->keys;
    for (size_t v = 0; v < rc->n_vhosts; v++) {
        const dp_vhost_t *vh = &rc->vhosts[v];
        for (size_t d = 0; d < vh->n_domains; d++) {
            const char *dom = vh->domains[d] ? vh->domains[d] : "";
            const char *fixed = NULL;
            size_t flen = 0;
            uint32_t kind = UINT32_MAX;
            dom_classify(dom, strlen(dom), &kind, &fixed, &flen);
            if (kind == UINT32_MAX)
                continue;
            for (size_t i = 0; i < flen; i++)
                kp[i] = (char)lc((unsigned char)fixed[i]);
            const dom_slot_t *dup = dom_insert(ix, kind, kp, flen, vh);
            if (dup != NULL) {
                snprintf(errbuf, errlen,
                         "Only unique values for domains are permitted. Duplicate entry of domain %s in "
                         "route %s (virtual hosts %s and %s)",
                         dom, rc_name, vh_name(dup->vh), vh_name(vh));
                dom_index_free(ix);
                return DP_EINVAL;
            }
            if (kind == DOM_SUFFIX)
                ix->suffix_lens[ix->n_suffix_lens++] = (uint32_t)flen;
            else if (kind == DOM_PREFIX)
                ix->prefix_lens[ix->n_prefix_lens++] = (uint32_t)flen;
            kp += flen;
        }
    }
    ix->n_suffix_lens = uniq_lens(ix->suffix_lens, ix->n_suffix_lens);
    ix->n_prefix_lens = uniq_lens(ix->prefix_lens, ix->n_prefix_lens);
    rc->index = ix;
    return 0;

enomem:
    dom_index_free(ix);
    snprintf(errbuf, errlen, "out of memory indexing the domains of route %s", rc_name);
    return DP_ENOMEM;
}

const dp_vhost_t *dp_route_select_vhost(const dp_route_config_t *rc, const char *host, size_t host_len)
{
    const struct dp_domain_index *ix = rc ? rc->index : NULL;
    if (ix == NULL)
        return NULL;
    if (host == NULL)
        host_len = 0;

    const dom_slot_t *e = dom_find(ix, DOM_EXACT, dom_hash(DOM_EXACT, host, host_len), host, host_len);
    if (e != NULL)
        return e->vh;

    /* Suffix wildcards: the fixed part must leave at least one character
     * for the '*', hence L < host_len. */
    const dp_vhost_t *best = NULL;
    uint64_t h = dom_seed[DOM_SUFFIX];
    size_t k = 0;
    for (size_t l = 1; l < host_len && k < ix->n_suffix_lens; l++) {
        h = fnv_step(h, lc((unsigned char)host[host_len - l]));
        if (l == ix->suffix_lens[k]) {
            k++;
            e = dom_find(ix, DOM_SUFFIX, hash_fin(h), host + host_len - l, l);
            if (e != NULL)
                best = e->vh; /* a longer one found later wins */
        }
    }
    if (best != NULL)
        return best;

    h = dom_seed[DOM_PREFIX];
    k = 0;
    for (size_t l = 1; l < host_len && k < ix->n_prefix_lens; l++) {
        h = fnv_step(h, lc((unsigned char)host[l - 1]));
        if (l == ix->prefix_lens[k]) {
            k++;
            e = dom_find(ix, DOM_PREFIX, hash_fin(h), host, l);
            if (e != NULL)
                best = e->vh;
        }
    }
    if (best != NULL)
        return best;
    return ix->any;
}

/* Envoy's HeaderUtility::getPortStart + stripPortFromHost. */
size_t dp_host_strip_port(const char *host, size_t len, int mode, uint16_t listener_port)
{
    if (mode != DP_STRIP_MATCHING_PORT && mode != DP_STRIP_ANY_PORT)
        return len;
    size_t colon = len;
    while (colon > 0 && host[colon - 1] != ':') {
        if (host[colon - 1] == ']')
            return len; /* "[v6]" without port, or ':' only inside the brackets */
        colon--;
    }
    if (colon == 0)
        return len;
    colon--; /* index of the ':' */
    if (colon + 1 == len)
        return len; /* "host:" has no number to parse */
    uint64_t port = 0;
    for (size_t i = colon + 1; i < len; i++) {
        unsigned d = (unsigned char)host[i] - '0';
        if (d > 9)
            return len;
        port = port * 10 + d;
        if (port > UINT32_MAX)
            return len; /* absl::SimpleAtoi into uint32 fails */
    }
    if (mode == DP_STRIP_MATCHING_PORT && port != listener_port)
        return len;
    return colon;
}

/* ======================================================================
 * Route matching
 * ==================================================================== */

bool dp_route_strmatch(const dp_strmatch_t *m, const char *s, size_t len)
{
    const char *p = m->value ? m->value : "";
    size_t n = m->value_len;
    bool ic = m->ignore_case;
    switch (m->kind) {
    case DP_STRMATCH_EXACT:
        return len == n && mem_eq(s, p, n, ic);
    case DP_STRMATCH_PREFIX:
        return len >= n && mem_eq(s, p, n, ic);
    case DP_STRMATCH_SUFFIX:
        return len >= n && mem_eq(s + len - n, p, n, ic);
    case DP_STRMATCH_CONTAINS:
        if (n == 0)
            return true;
        if (len < n)
            return false;
        if (!ic)
            return memmem(s, len, p, n) != NULL;
        for (size_t i = 0; i + n <= len; i++) {
            if (lc((unsigned char)s[i]) == lc((unsigned char)p[0]) && mem_eq_nocase(s + i, p, n))
                return true;
        }
        return false;
    }
    return false;
}

/* A cursor over the values of a repeated header as if joined with ","
 * (Envoy's getAllOfHeaderAsString), without building the joined string.
 * At off == len of entry i the cursor is on the ',' that follows it, or
 * at the end when i is the last entry with the name. */
typedef struct jcur {
    const dp_header_t *v;
    const char *name;
    size_t name_len;
    size_t i, last, off;
} jcur_t;

static inline bool jc_end(const jcur_t *c)
{
    return c->i == c->last && c->off == c->v[c->i].value.len;
}

static inline unsigned char jc_byte(const jcur_t *c)
{
    const dp_slice_t *val = &c->v[c->i].value;
    return c->off < val->len ? (unsigned char)val->base[c->off] : ',';
}

static inline void jc_next(jcur_t *c)
{
    if (c->off < c->v[c->i].value.len) {
        c->off++;
        return;
    }
    size_t j = c->i + 1;
    while (c->v[j].name.len != c->name_len || memcmp(c->v[j].name.base, c->name, c->name_len) != 0)
        j++;
    c->i = j;
    c->off = 0;
}

static bool jc_match_at(jcur_t c, const char *p, size_t n, bool ic)
{
    for (size_t k = 0; k < n; k++) {
        if (jc_end(&c))
            return false;
        unsigned char a = jc_byte(&c), b = (unsigned char)p[k];
        if (ic ? lc(a) != lc(b) : a != b)
            return false;
        jc_next(&c);
    }
    return true;
}

static bool joined_strmatch(const dp_strmatch_t *m, jcur_t c, size_t total)
{
    const char *p = m->value ? m->value : "";
    size_t n = m->value_len;
    bool ic = m->ignore_case;
    switch (m->kind) {
    case DP_STRMATCH_EXACT:
        return total == n && jc_match_at(c, p, n, ic);
    case DP_STRMATCH_PREFIX:
        return total >= n && jc_match_at(c, p, n, ic);
    case DP_STRMATCH_SUFFIX:
        if (total < n)
            return false;
        for (size_t k = 0; k < total - n; k++)
            jc_next(&c);
        return jc_match_at(c, p, n, ic);
    case DP_STRMATCH_CONTAINS:
        for (size_t start = 0; start + n <= total; start++) {
            if (jc_match_at(c, p, n, ic))
                return true;
            if (!jc_end(&c))
                jc_next(&c);
        }
        return false;
    }
    return false;
}

/* The pseudo headers come from the input, not the header list. Returns
 * false when `name` is not one of them. */
static bool pseudo_value(const char *name, const dp_route_input_t *in, dp_slice_t *out)
{
    if (strcmp(name, ":path") == 0)
        *out = in->path;
    else if (strcmp(name, ":authority") == 0)
        *out = in->authority;
    else if (strcmp(name, ":method") == 0)
        *out = in->method;
    else if (strcmp(name, ":scheme") == 0)
        *out = in->scheme;
    else
        return false;
    return true;
}

bool dp_route_hdrmatch(const dp_hdrmatch_t *m, const dp_route_input_t *in)
{
    const char *name = m->name ? m->name : "";
    dp_slice_t single = DP_SLICE_NULL;
    bool present = false, repeated = false;
    jcur_t jc = {0};
    size_t total = 0;

    if (name[0] == ':' && pseudo_value(name, in, &single)) {
        present = single.base != NULL;
    } else if (in->headers != NULL) {
        const dp_headers_t *h = in->headers;
        size_t nlen = strlen(name);
        long first = dp_headers_find(h, name, nlen, 0);
        if (first >= 0) {
            present = true;
            single = h->v[first].value;
            size_t last = (size_t)first, count = 1;
            total = single.len;
            for (long j = dp_headers_find(h, name, nlen, (size_t)first + 1); j >= 0;
                 j = dp_headers_find(h, name, nlen, (size_t)j + 1)) {
                last = (size_t)j;
                count++;
                total += 1 + h->v[j].value.len;
            }
            if (count > 1) {
                repeated = true;
                jc = (jcur_t){h->v, name, nlen, (size_t)first, last, 0};
            }
        }
    }

    if (m->kind == DP_HDRMATCH_PRESENT)
        return (present == m->present) != m->invert;
    if (!present) {
        /* Envoy: a missing header fails a value matcher, inverted or not,
         * unless it is to be treated as "". */
        if (!m->treat_missing_as_empty)
            return false;
        return dp_route_strmatch(&m->str, "", 0) != m->invert;
    }
    bool match = repeated ? joined_strmatch(&m->str, jc, total)
                          : dp_route_strmatch(&m->str, single.base ? single.base : "", single.len);
    return match != m->invert;
}

/* Envoy matches prefix / path / path_separated_prefix on the path without
 * query string or fragment (PathUtil::removeQueryAndFragment). */
static size_t path_part_len(dp_slice_t path)
{
    for (size_t i = 0; i < path.len; i++) {
        if (path.base[i] == '?' || path.base[i] == '#')
            return i;
    }
    return path.len;
}

static bool path_matches(const dp_route_t *r, dp_slice_t path)
{
    if (path.base == NULL)
        return false;
    size_t plen = path_part_len(path);
    const char *want = r->path ? r->path : "";
    size_t n = r->path_len;
    bool ic = !r->case_sensitive;
    switch (r->path_kind) {
    case DP_PATHMATCH_PREFIX:
        return plen >= n && mem_eq(path.base, want, n, ic);
    case DP_PATHMATCH_PATH:
        return plen == n && mem_eq(path.base, want, n, ic);
    case DP_PATHMATCH_SEPARATED_PREFIX:
        /* "prefix must match exactly or be followed by a /" */
        return plen >= n && mem_eq(path.base, want, n, ic) && (plen == n || path.base[n] == '/');
    }
    return false;
}

const dp_route_t *dp_route_match(const dp_vhost_t *vh, const dp_route_input_t *in)
{
    if (vh == NULL)
        return NULL;
    for (size_t i = 0; i < vh->n_routes; i++) {
        const dp_route_t *r = &vh->routes[i];
        if (!path_matches(r, in->path))
            continue;
        size_t k = 0;
        while (k < r->n_headers && dp_route_hdrmatch(&r->headers[k], in))
            k++;
        if (k == r->n_headers)
            return r;
    }
    return NULL;
}

/* ======================================================================
 * Actions
 * ==================================================================== */

const dp_weighted_cluster_t *dp_route_pick_weighted(const dp_route_t *r, uint64_t random)
{
    if (r == NULL || r->n_weighted == 0 || r->total_weight == 0)
        return NULL;
    uint64_t pick = random % r->total_weight, begin = 0;
    for (size_t i = 0; i < r->n_weighted; i++) {
        uint64_t end = begin + r->weighted[i].weight;
        if (pick >= begin && pick < end)
            return &r->weighted[i];
        begin = end;
    }
    return NULL;
}

/* Envoy's processRequestHost: the request's host for the Location, with
 * its port dropped when a port_redirect replaces it, or when the scheme
 * changes and the port is the default one of the request's scheme
 * ("http://foo:80" -> "https://foo", but "http://foo:8080" keeps 8080).
 * Envoy compares against x-forwarded-proto, which the HCM sets to the
 * request's scheme. */
static dp_slice_t redirect_host(dp_slice_t host, dp_slice_t new_scheme, dp_slice_t req_scheme, bool new_port)
{
    if (host.len == 0)
        return host;
    size_t end = host.len; /* index of the ':' before the port; len: none */
    if (host.base[0] == '[') {
        for (size_t i = host.len - 1; i > 0; i--) {
            if (host.base[i] == ':' && host.base[i - 1] == ']') {
                end = i;
                break;
            }
        }
    } else {
        for (size_t i = host.len; i-- > 0;) {
            if (host.base[i] == ':') {
                end = i;
                break;
            }
        }
    }
    if (end == host.len)
        return host;
    dp_slice_t port = dp_slice(host.base + end, host.len - end);
    bool remove = new_port;
    if (!dp_slice_eq(new_scheme, req_scheme)) {
        remove |= dp_slice_eq_nocase(req_scheme, DP_SLICE_LIT("https")) && dp_slice_eq(port, DP_SLICE_LIT(":443"));
        remove |= dp_slice_eq_nocase(req_scheme, DP_SLICE_LIT("http")) && dp_slice_eq(port, DP_SLICE_LIT(":80"));
    }
    return remove ? dp_slice(host.base, end) : host;
}

typedef struct wbuf {
    char *p;
    size_t n, cap;
    bool overflow;
} wbuf_t;

static void wput(wbuf_t *w, const char *s, size_t n)
{
    if (w->overflow || n > w->cap - w->n) {
        w->overflow = true;
        return;
    }
    if (n)
        memcpy(w->p + w->n, s, n);
    w->n += n;
}

static const char *find_q(dp_slice_t s)
{
    return s.len ? memchr(s.base, '?', s.len) : NULL;
}

/* Envoy's Http::Utility::newUri, with the route's prefix_rewrite applied
 * to :path first as the router does for redirects (rewritePathHeader).
 *
 *   scheme: redirect_scheme (scheme_redirect / https_redirect) or the
 *           request's;
 *   host:   redirect_host as is (the request's port is NOT kept), else the
 *           request's host minus the port per redirect_host() above;
 *   port:   ":<port_redirect>" appended when set;
 *   path:   path_redirect replaces the path; its own query, if any,
 *           replaces the request's and survives strip_query, otherwise the
 *           request's query is kept. prefix_rewrite swaps the route's
 *           matched prefix (or path) and keeps the rest and the query.
 *           strip_query then drops "?..." (not for a path_redirect with a
 *           query). A path not starting with '/' gets one.
 *
 * Examples from the RedirectAction.path_redirect docs
 * (envoy.config.route.v3.RedirectAction):
 *   match {path: "/old-path-1"} redirect {path_redirect: "/new-path-1"}:
 *       "/old-path-1?bar=1" -> "/new-path-1?bar=1"
 *   match {path: "/old-path-2"} redirect {path_redirect: "/new-path-2", strip_query: true}:
 *       "/old-path-2?bar=1" -> "/new-path-2"
 *   match {path: "/old-path-3"} redirect {path_redirect: "/new-path-3?foo=1", strip_query: true}:
 *       "/old-path-3?bar=1" -> "/new-path-3?foo=1"
 * and from RouteAction.prefix_rewrite (same rule for redirects):
 *   prefix "/prefix/" rewrite "/": "/prefix/etc" -> "/etc";
 *   prefix "/prefix"  rewrite "/": "/prefix"     -> "/". */
int dp_route_build_redirect(const dp_route_t *r, dp_slice_t scheme, dp_slice_t host, dp_slice_t path,
                            char *out, size_t outlen)
{
    if (r == NULL || r->action != DP_ROUTE_ACTION_REDIRECT || out == NULL || outlen == 0)
        return -1;
    if (path.base == NULL)
        path = DP_SLICE_LIT("");

    dp_slice_t fscheme = r->redirect_scheme ? dp_slice_cstr(r->redirect_scheme) : scheme;
    char port[16];
    size_t port_len = 0;
    if (r->redirect_port != 0)
        port_len = (size_t)snprintf(port, sizeof(port), ":%u", (unsigned)r->redirect_port);
    dp_slice_t fhost = r->redirect_host ? dp_slice_cstr(r->redirect_host)
                                        : redirect_host(host, fscheme, scheme, port_len != 0);

    /* The final path is a + b. */
    dp_slice_t a = path, b = DP_SLICE_LIT("");
    bool redirect_has_query = false;
    if (r->redirect_path != NULL) {
        a = dp_slice_cstr(r->redirect_path);
        redirect_has_query = find_q(a) != NULL;
        const char *q = find_q(path);
        if (!redirect_has_query && q != NULL)
            b = dp_slice(q, (size_t)(path.base + path.len - q));
    } else if (r->redirect_prefix != NULL && path.len >= r->path_len) {
        a = dp_slice_cstr(r->redirect_prefix);
        b = dp_slice(path.base + r->path_len, path.len - r->path_len);
    }
    bool need_slash = a.len ? a.base[0] != '/' : (b.len == 0 || b.base[0] != '/');
    if (!redirect_has_query && r->strip_query) {
        const char *q = find_q(a);
        if (q != NULL) {
            a.len = (size_t)(q - a.base);
            b.len = 0;
        } else if ((q = find_q(b)) != NULL) {
            b.len = (size_t)(q - b.base);
        }
    }

    wbuf_t w = {out, 0, outlen - 1, false};
    wput(&w, fscheme.base, fscheme.len);
    wput(&w, "://", 3);
    wput(&w, fhost.base, fhost.len);
    wput(&w, port, port_len);
    if (need_slash)
        wput(&w, "/", 1);
    wput(&w, a.base, a.len);
    wput(&w, b.base, b.len);
    if (w.overflow || w.n > INT32_MAX)
        return -1;
    out[w.n] = '\0';
    return (int)w.n;
}
