/* Container URL host forms: see hostname.h for the forms and the choices.
 *
 * One pass lowercases the host into the result's buffer; the base domain is
 * found by suffix (longest first); the labels in front of it are checked
 * once; then only the first label is taken apart, by the form its start
 * announces. Nothing is allocated and nothing is copied but the host. */
#include "filters/containers/hostname.h"

#include <stddef.h>
#include <string.h>

#define TOO_LONG "host longer than 253 characters"

static inline char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c + ('a' - 'A')) : c;
}

static inline int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static inline int is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f');
}

/* letters, digits, hyphen: the label characters, after lowercasing */
static inline int is_ldh(char c)
{
    return (c >= 'a' && c <= 'z') || is_digit(c) || c == '-';
}

static int all_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_hex(s[i]))
            return 0;
    return 1;
}

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_digit(s[i]))
            return 0;
    return 1;
}

/* Length of in[0..len) once ":<digits>" at the end and then one trailing
 * '.' are stripped. An empty port ("host:") is stripped too: RFC 9110's
 * port is *DIGIT. */
static size_t host_span(const char *in, size_t len)
{
    size_t i = len;
    while (i > 0 && is_digit(in[i - 1]))
        i--;
    if (i > 0 && in[i - 1] == ':')
        len = i - 1;
    if (len > 0 && in[len - 1] == '.')
        len--;
    return len;
}

/* Checks that s[0..n) (lowercase) is a run of labels. '_' is let through in
 * the first label when us_first: the port-machine parser checks it then.
 * Returns NULL or why not. */
static const char *check_labels(const char *s, size_t n, int us_first)
{
    size_t start = 0;
    int first = 1;
    if (n == 0)
        return "empty label";
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '.') {
            size_t l = i - start;
            if (l == 0)
                return "empty label";
            if (l > DP_HOST_LABEL_MAX)
                return "label longer than 63 characters";
            if (s[start] == '-' || s[i - 1] == '-')
                return "label starts or ends with '-'";
            start = i + 1;
            first = 0;
        } else if (!is_ldh(s[i]) && !(s[i] == '_' && first && us_first)) {
            return "bad character in host";
        }
    }
    return NULL;
}

/* The longest base domain s[0..n) is a strict subdomain of, compared
 * case-insensitively (the too-long path compares the raw input). *apex is
 * set when s is a base domain itself: the search stops there, a shorter base
 * must not claim the apex of a longer one. */
static const dp_hostpat_base_t *match_base(const dp_hostpat_t *pat, const char *s, size_t n,
                                           int *apex)
{
    *apex = 0;
    for (size_t i = 0; i < pat->nbases; i++) {
        const dp_hostpat_base_t *b = &pat->bases[i];
        const char *tail;
        size_t k;
        if (n < b->len)
            continue;
        tail = s + n - b->len;
        for (k = 0; k < b->len && lower(tail[k]) == b->name[k]; k++)
            ;
        if (k < b->len)
            continue;
        if (n == b->len) {
            *apex = 1;
            return NULL;
        }
        if (tail[-1] == '.')
            return b;
    }
    return NULL;
}

/* A port or an instance: 1..65535, decimal, no leading zero. */
static int parse_u16(const char *s, size_t n, uint16_t *out)
{
    uint32_t v = 0;
    if (n == 0 || n > 5 || s[0] == '0' || !all_digits(s, n))
        return -1;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (uint32_t)(s[i] - '0');
    if (v > 65535)
        return -1;
    *out = (uint16_t)v;
    return 0;
}

/* <24 hex>-<24 hex>-<service>-<instance>; the caller saw the first 24 hex
 * digits and the '-'. */
static const char *parse_container(const char *l, size_t n, int has_us, dp_host_result_t *res)
{
    const char *rest, *svc;
    size_t rn, dash;
    uint16_t inst, port = 0;
    if (has_us)
        return "bad character in host";
    if (n < 49 || !all_hex(l + 25, 24) || (n > 49 && l[49] != '-'))
        return "container id is not 24 hex digits";
    if (n == 49)
        return "missing service or instance";
    rest = l + 50;
    rn = n - 50;
    for (dash = rn; dash > 0 && rest[dash - 1] != '-'; dash--)
        ;
    if (dash == 0)
        return "missing service or instance";
    dash--; /* index of the last '-' */
    svc = rest;
    if (dash == 0)
        return "empty service";
    if (svc[0] == '-' || svc[dash - 1] == '-')
        return "service starts or ends with '-'";
    if (parse_u16(rest + dash + 1, rn - dash - 1, &inst) != 0)
        return "instance is not 1..65535 without leading zeros";
    if (dash > 5 && memcmp(svc, "http-", 5) == 0 && all_digits(svc + 5, dash - 5) &&
        parse_u16(svc + 5, dash - 5, &port) != 0)
        return "port of the http-<port> service is not 1..65535 without leading zeros";
    res->project = dp_slice(l, 24);
    res->container = dp_slice(l + 25, 24);
    res->service = dp_slice(svc, dash);
    res->instance = inst;
    res->port = port;
    return NULL;
}

/* localhost-<port>-pod-<slug>; the caller saw "localhost-" and a digit. */
static const char *parse_port_pod(const char *l, size_t n, int has_us, dp_host_result_t *res)
{
    size_t i = 10, sn;
    uint16_t port;
    if (has_us)
        return "bad character in host";
    while (i < n && is_digit(l[i]))
        i++;
    if (parse_u16(l + 10, i - 10, &port) != 0)
        return "port is not 1..65535 without leading zeros";
    if (n - i < 5 || memcmp(l + i, "-pod-", 5) != 0)
        return "expected localhost-<port>-pod-<slug>";
    sn = n - i - 5;
    if (sn == 0)
        return "empty pod slug";
    if (l[i + 5] == '-')
        return "pod slug starts with '-'";
    res->slug = dp_slice(l + i + 5, sn);
    res->port = port;
    return NULL;
}

/* <port>__<machine>; the caller saw a '_'. */
static const char *parse_port_machine(const char *l, size_t n, dp_host_result_t *res)
{
    size_t u = 0, mn;
    uint16_t port;
    while (u < n && l[u] != '_')
        u++;
    if (u + 1 >= n || l[u + 1] != '_')
        return "expected <port>__<machine>";
    if (parse_u16(l, u, &port) != 0)
        return "port is not 1..65535 without leading zeros";
    mn = n - u - 2;
    if (mn == 0)
        return "empty machine name";
    if (memchr(l + u + 2, '_', mn) != NULL)
        return "expected <port>__<machine>";
    if (l[u + 2] == '-')
        return "machine name starts with '-'";
    res->machine = dp_slice(l + u + 2, mn);
    res->port = port;
    return NULL;
}

/* Takes the first label apart by the form its start announces; sets
 * res->form. Returns NULL or why it is malformed. */
static const char *classify(const dp_hostpat_t *pat, const char *l, size_t n, dp_host_result_t *res)
{
    int has_us = memchr(l, '_', n) != NULL;
    if (!(pat->flags & DP_HOSTPAT_NO_CONTAINER) && n >= 25 && all_hex(l, 24) && l[24] == '-') {
        res->form = DP_HOST_CONTAINER;
        return parse_container(l, n, has_us, res);
    }
    if ((pat->flags & DP_HOSTPAT_PORT_POD) && n > 10 && memcmp(l, "localhost-", 10) == 0 &&
        is_digit(l[10])) {
        res->form = DP_HOST_PORT_POD;
        return parse_port_pod(l, n, has_us, res);
    }
    if (has_us) { /* check_labels let it through only for this form */
        res->form = DP_HOST_PORT_MACHINE;
        return parse_port_machine(l, n, res);
    }
    res->form = DP_HOST_NAME;
    res->name = dp_slice(l, n);
    return NULL;
}

static dp_host_kind_t not_ours(dp_host_result_t *res, const char *why)
{
    res->kind = res->form = DP_HOST_NOT_OURS;
    res->reason = why;
    return res->kind;
}

/* Keeps host and base, drops whatever the form parsers had filled. */
static dp_host_kind_t malformed(dp_host_result_t *res, const char *why)
{
    dp_slice_t host = res->host, base = res->base;
    memset(res, 0, offsetof(dp_host_result_t, buf));
    res->host = host;
    res->base = base;
    res->kind = res->form = DP_HOST_MALFORMED;
    res->reason = why;
    return res->kind;
}

dp_host_kind_t dp_host_parse(const dp_hostpat_t *pat, const char *in, size_t len,
                             dp_host_result_t *res)
{
    const dp_hostpat_base_t *b;
    const char *why, *l1;
    dp_slice_t node = DP_SLICE_NULL;
    size_t n, pn, n1;
    int apex;

    memset(res, 0, offsetof(dp_host_result_t, buf));
    res->buf[0] = '\0';
    if (len > 0 && in[0] == '[')
        return not_ours(res, "IPv6 literal");
    n = host_span(in, len);
    if (n == 0)
        return not_ours(res, "empty host");
    if (n > DP_HOST_MAX) /* decided on the raw input: it does not fit buf */
        return match_base(pat, in, n, &apex) ? malformed(res, TOO_LONG) : not_ours(res, TOO_LONG);
    for (size_t i = 0; i < n; i++)
        res->buf[i] = lower(in[i]);
    res->buf[n] = '\0';

    b = match_base(pat, res->buf, n, &apex);
    if (b == NULL) {
        why = check_labels(res->buf, n, 0);
        if (why == NULL)
            res->host = dp_slice(res->buf, n);
        return not_ours(res, why);
    }
    res->host = dp_slice(res->buf, n);
    res->base = dp_slice(res->buf + n - b->len, b->len);

    pn = n - b->len - 1; /* the labels in front of ".<base>" */
    why = check_labels(res->buf, pn, (pat->flags & DP_HOSTPAT_PORT_MACHINE) != 0);
    if (why != NULL)
        return malformed(res, why);
    l1 = res->buf;
    for (n1 = 0; n1 < pn && l1[n1] != '.'; n1++)
        ;
    if (n1 < pn) {
        node = dp_slice(l1 + n1 + 1, pn - n1 - 1);
        if (memchr(node.base, '.', node.len) != NULL)
            return malformed(res, "too many labels under the base domain");
    }
    why = classify(pat, l1, n1, res);
    if (why != NULL)
        return malformed(res, why);

    if (node.len == 0) {
        if (res->form == DP_HOST_CONTAINER && !(pat->flags & DP_HOSTPAT_CONTAINER_NO_NODE))
            return malformed(res, "container host without the node label");
        res->kind = res->form;
        return res->kind;
    }
    if (res->form == DP_HOST_PORT_POD || res->form == DP_HOST_PORT_MACHINE)
        return malformed(res, "port form under a node label");
    res->node = node;
    if (pat->node_len != 0 && !(node.len == pat->node_len && memcmp(node.base, pat->node, node.len) == 0))
        res->kind = DP_HOST_WRONG_NODE;
    else
        res->kind = res->form;
    return res->kind;
}

int dp_host_normalise(const char *in, size_t len, char *out, size_t outlen)
{
    size_t n;
    if (len > 0 && in[0] == '[')
        return DP_EINVAL;
    n = host_span(in, len);
    if (n == 0 || n > DP_HOST_MAX)
        return DP_EINVAL;
    if (out == NULL || outlen < n + 1)
        return DP_ERR;
    for (size_t i = 0; i < n; i++)
        out[i] = lower(in[i]);
    out[n] = '\0';
    if (check_labels(out, n, 0) != NULL)
        return DP_EINVAL;
    return (int)n;
}

int dp_hostpat_init(dp_hostpat_t *pat, const dp_hostpat_config_t *cfg, const char **err)
{
    static const unsigned known = DP_HOSTPAT_NO_CONTAINER | DP_HOSTPAT_CONTAINER_NO_NODE |
                                  DP_HOSTPAT_PORT_POD | DP_HOSTPAT_PORT_MACHINE;
    const char *why;

    memset(pat, 0, sizeof(*pat));
    if (cfg == NULL || cfg->nbases == 0 || cfg->bases == NULL) {
        why = "no base domain";
        goto fail;
    }
    if (cfg->flags & ~known) {
        why = "unknown host pattern flag";
        goto fail;
    }
    if (cfg->nbases > DP_HOSTPAT_MAX_BASES) {
        why = "too many base domains (at most 8)";
        goto fail;
    }
    for (size_t i = 0; i < cfg->nbases; i++) {
        const char *s = cfg->bases[i];
        dp_hostpat_base_t nb;
        size_t at;
        int r;
        /* a base with a port would be stripped of it silently: refuse it */
        r = s != NULL && strchr(s, ':') == NULL ? dp_host_normalise(s, strlen(s), nb.name, sizeof(nb.name))
                                                : DP_EINVAL;
        if (r < 0) {
            why = "base domain is not a valid hostname";
            goto fail;
        }
        nb.len = (size_t)r;
        if (nb.len > DP_HOST_MAX - 2) {
            why = "base domain too long to have a label under it";
            goto fail;
        }
        for (size_t j = 0; j < pat->nbases; j++) {
            if (pat->bases[j].len == nb.len && memcmp(pat->bases[j].name, nb.name, nb.len) == 0) {
                why = "duplicate base domain";
                goto fail;
            }
        }
        /* longest first, so the first match is the longest one */
        for (at = pat->nbases; at > 0 && pat->bases[at - 1].len < nb.len; at--)
            pat->bases[at] = pat->bases[at - 1];
        pat->bases[at] = nb;
        pat->nbases++;
    }
    if (cfg->node != NULL && cfg->node[0] != '\0') {
        size_t n = strlen(cfg->node);
        if (n > DP_HOST_LABEL_MAX) {
            why = "node name is not one valid label";
            goto fail;
        }
        for (size_t i = 0; i < n; i++)
            pat->node[i] = lower(cfg->node[i]);
        if (memchr(pat->node, '.', n) != NULL || check_labels(pat->node, n, 0) != NULL) {
            why = "node name is not one valid label";
            goto fail;
        }
        pat->node_len = n;
    }
    pat->flags = cfg->flags;
    return 0;

fail:
    memset(pat, 0, sizeof(*pat));
    if (err != NULL)
        *err = why;
    return DP_EINVAL;
}

const char *dp_host_kind_name(dp_host_kind_t kind)
{
    switch (kind) {
    case DP_HOST_NOT_OURS: return "not_ours";
    case DP_HOST_CONTAINER: return "container";
    case DP_HOST_PORT_POD: return "port_pod";
    case DP_HOST_PORT_MACHINE: return "port_machine";
    case DP_HOST_NAME: return "name";
    case DP_HOST_WRONG_NODE: return "wrong_node";
    case DP_HOST_MALFORMED: return "malformed";
    }
    return "?";
}
