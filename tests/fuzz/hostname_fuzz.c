/* Fuzzes the container host parser (filters/containers/hostname.c).
 * Input: one byte choosing the pattern (low 5 bits: bit 0 port-pod, bit 1
 * port-machine, bit 2 container without node, bit 3 node name "node-us",
 * bit 4 container form off), then the raw Host value.
 * Invariants: every slice lies inside the result's buffer; the fields of each
 * form re-format to the normalised host; parsing the normalised host (or the
 * input in uppercase) gives the same result; dp_host_normalise() agrees with
 * the host the parser gives. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filters/containers/hostname.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ASSERT(c)                                                              \
    do {                                                                       \
        if (!(c)) {                                                            \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #c); \
            abort();                                                           \
        }                                                                      \
    } while (0)

static dp_hostpat_t pats[32];

static void init_pats(void)
{
    static const char *const bases[] = {"example.test", "containers.example.test"};
    for (unsigned v = 0; v < 32; v++) {
        dp_hostpat_config_t cfg = {bases, 2, (v & 8) ? "node-us" : NULL, 0};
        if (v & 1)
            cfg.flags |= DP_HOSTPAT_PORT_POD;
        if (v & 2)
            cfg.flags |= DP_HOSTPAT_PORT_MACHINE;
        if (v & 4)
            cfg.flags |= DP_HOSTPAT_CONTAINER_NO_NODE;
        if (v & 16)
            cfg.flags |= DP_HOSTPAT_NO_CONTAINER;
        ASSERT(dp_hostpat_init(&pats[v], &cfg, NULL) == 0);
    }
}

static int in_buf(const dp_host_result_t *r, dp_slice_t s)
{
    return s.len == 0 || (s.base >= r->buf && s.base + s.len <= r->buf + r->host.len);
}

static int seq(dp_slice_t a, dp_slice_t b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.base, b.base, a.len) == 0);
}

typedef struct out {
    char b[1024];
    size_t n;
} out_t;

static void put(out_t *o, const char *s, size_t n)
{
    ASSERT(o->n + n < sizeof(o->b));
    memcpy(o->b + o->n, s, n);
    o->n += n;
}

static void put_s(out_t *o, dp_slice_t s)
{
    put(o, s.base, s.len);
}

static void put_u(out_t *o, unsigned v)
{
    char tmp[20];
    put(o, tmp, dp_u64toa(v, tmp));
}

static void same_result(const dp_host_result_t *a, const dp_host_result_t *b)
{
    ASSERT(a->kind == b->kind && a->form == b->form && a->reason == b->reason);
    ASSERT(seq(a->host, b->host) && seq(a->base, b->base) && seq(a->node, b->node));
    ASSERT(seq(a->project, b->project) && seq(a->container, b->container));
    ASSERT(seq(a->service, b->service) && seq(a->name, b->name));
    ASSERT(seq(a->slug, b->slug) && seq(a->machine, b->machine));
    ASSERT(a->instance == b->instance && a->port == b->port);
}

static void check(const dp_hostpat_t *pat, const dp_host_result_t *r)
{
    const dp_slice_t all[] = {r->host, r->base, r->node, r->project, r->container,
                              r->service, r->name, r->slug, r->machine};
    out_t o = {.n = 0};

    ASSERT(r->host.len <= DP_HOST_MAX);
    ASSERT(r->host.len == 0 || (r->host.base == r->buf && r->buf[r->host.len] == '\0'));
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        ASSERT(in_buf(r, all[i]));
    for (size_t i = 0; i < r->host.len; i++)
        ASSERT(!(r->buf[i] >= 'A' && r->buf[i] <= 'Z'));
    ASSERT(r->kind == r->form || (r->kind == DP_HOST_WRONG_NODE &&
                                  (r->form == DP_HOST_CONTAINER || r->form == DP_HOST_NAME)));
    if (r->kind == DP_HOST_NOT_OURS) {
        ASSERT((r->reason == NULL) == (r->host.len != 0));
        ASSERT(r->base.len == 0);
        return;
    }
    ASSERT(r->reason != NULL || r->kind != DP_HOST_MALFORMED);
    ASSERT(r->reason == NULL || r->kind == DP_HOST_MALFORMED);
    if (r->kind == DP_HOST_MALFORMED) {
        ASSERT(r->node.len == 0 && r->name.len == 0 && r->service.len == 0 && r->port == 0);
        /* too long: decided on the raw input, nothing copied */
        ASSERT(r->host.len != 0 || r->base.len == 0);
        return;
    }
    /* an outcome under a base: base is one of the pattern's, after a '.' */
    ASSERT(r->base.len != 0 && r->base.base + r->base.len == r->host.base + r->host.len);
    ASSERT(r->base.len < r->host.len && r->base.base[-1] == '.');
    {
        int known = 0;
        for (size_t i = 0; i < pat->nbases; i++)
            known |= seq(r->base, dp_slice(pat->bases[i].name, pat->bases[i].len));
        ASSERT(known);
    }
    if (r->kind == DP_HOST_WRONG_NODE)
        ASSERT(pat->node_len != 0 && !seq(r->node, dp_slice(pat->node, pat->node_len)));
    else if (pat->node_len != 0 && r->node.len != 0)
        ASSERT(seq(r->node, dp_slice(pat->node, pat->node_len)));

    /* the parts re-format to the normalised host */
    switch (r->form) {
    case DP_HOST_CONTAINER:
        ASSERT(r->project.len == 24 && r->container.len == 24 && r->service.len != 0);
        ASSERT(r->instance != 0);
        ASSERT(r->node.len != 0 || (pat->flags & DP_HOSTPAT_CONTAINER_NO_NODE));
        put_s(&o, r->project);
        put(&o, "-", 1);
        put_s(&o, r->container);
        put(&o, "-", 1);
        put_s(&o, r->service);
        put(&o, "-", 1);
        put_u(&o, r->instance);
        if (r->port != 0) { /* the service is exactly http-<port> */
            out_t s = {.n = 0};
            put(&s, "http-", 5);
            put_u(&s, r->port);
            ASSERT(s.n == r->service.len && memcmp(s.b, r->service.base, s.n) == 0);
        }
        break;
    case DP_HOST_PORT_POD:
        ASSERT(r->node.len == 0 && r->port != 0 && r->slug.len != 0);
        put(&o, "localhost-", 10);
        put_u(&o, r->port);
        put(&o, "-pod-", 5);
        put_s(&o, r->slug);
        break;
    case DP_HOST_PORT_MACHINE:
        ASSERT(r->node.len == 0 && r->port != 0 && r->machine.len != 0);
        put_u(&o, r->port);
        put(&o, "__", 2);
        put_s(&o, r->machine);
        break;
    case DP_HOST_NAME:
        ASSERT(r->name.len != 0 && r->port == 0);
        put_s(&o, r->name);
        break;
    default:
        ASSERT(0);
    }
    if (r->node.len != 0) {
        put(&o, ".", 1);
        put_s(&o, r->node);
    }
    put(&o, ".", 1);
    put_s(&o, r->base);
    ASSERT(o.n == r->host.len && memcmp(o.b, r->host.base, o.n) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    static dp_host_result_t r, r2;
    const dp_hostpat_t *pat;
    const char *in = (const char *)data + 1;
    size_t len;
    char norm[DP_HOST_BUFSZ];
    int nn;

    if (!ready) {
        init_pats();
        ready = 1;
    }
    if (size == 0)
        return 0;
    pat = &pats[data[0] & 31];
    len = size - 1;

    ASSERT(dp_host_parse(pat, in, len, &r) == r.kind);
    check(pat, &r);

    /* idempotent on the normalised form */
    if (r.host.len != 0) {
        char *copy = malloc(r.host.len); /* exact size: ASan sees overreads */
        ASSERT(copy != NULL);
        memcpy(copy, r.host.base, r.host.len);
        dp_host_parse(pat, copy, r.host.len, &r2);
        free(copy);
        same_result(&r, &r2);
    }

    /* case-insensitive: the uppercased input gives the same result */
    if (len != 0) {
        char *up = malloc(len);
        ASSERT(up != NULL);
        for (size_t i = 0; i < len; i++)
            up[i] = (in[i] >= 'a' && in[i] <= 'z') ? (char)(in[i] - 32) : in[i];
        dp_host_parse(pat, up, len, &r2);
        free(up);
        same_result(&r, &r2);
    }

    /* dp_host_normalise() gives the host the parser keeps: whenever it
     * accepts the input, and for every valid NOT_OURS host */
    nn = dp_host_normalise(in, len, norm, sizeof(norm));
    ASSERT(nn > 0 || nn == DP_EINVAL);
    if (nn > 0)
        ASSERT(r.host.len == (size_t)nn && memcmp(r.host.base, norm, (size_t)nn) == 0 &&
               norm[nn] == '\0');
    if (r.kind == DP_HOST_NOT_OURS && r.host.len != 0)
        ASSERT(nn > 0);
    return 0;
}
