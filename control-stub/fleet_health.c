/* Status-reporting keys of the fleet file: the active health checks the
 * stub asks data planes to run over HDS, and a node's CSDS address.
 *
 *   defaults:
 *     health_check:            # every running container service
 *       type: tcp              # tcp | http | none (default tcp)
 *       path: /healthz         # http only (default /)
 *       host: app.internal     # http only (default: the HDS cluster name)
 *       interval: 1s           # 1s, 250ms, 1.5s (default 1s)
 *       timeout: 1s            # (default 1s)
 *       unhealthy_threshold: 2 # failures before unhealthy (default 2)
 *       healthy_threshold: 1   # successes before healthy (default 1)
 *       report_interval: 1s    # defaults only: how often data planes report
 *   nodes:
 *   - name: node-us
 *     csds: 127.0.0.1:9902     # the data plane's --csds-address
 *   containers:
 *   - health_check: { ... }    # the container's services
 *     services: { http-8080: { health_check: { type: http } } }
 *
 * Each level replaces only the keys it gives (defaults < container <
 * service), as nginx merges outer into inner scopes; the result is
 * resolved per service at parse time, so the translation never merges. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control-stub/fleet_int.h"
#include "dataplane/core/common.h"

#define perr dp_fleet__err

#define MAX_DURATION_MS 3600000u /* one hour: beyond it is a typo */
#define MAX_THRESHOLD 1000u

void dp_fleet__hc_defaults(dp_fleet_hc_t *hc)
{
    memset(hc, 0, sizeof *hc);
    hc->type = DP_FLEET_HC_TCP;
    hc->interval_ms = DP_FLEET_HC_INTERVAL_MS;
    hc->timeout_ms = DP_FLEET_HC_TIMEOUT_MS;
    hc->unhealthy_threshold = DP_FLEET_HC_UNHEALTHY;
    hc->healthy_threshold = DP_FLEET_HC_HEALTHY;
}

void dp_fleet__hc_copy(dp_fleet_hc_t *dst, const dp_fleet_hc_t *src)
{
    *dst = *src;
    dst->path = src->path ? dp_stub_xstrdup(src->path) : NULL;
    dst->host = src->host ? dp_stub_xstrdup(src->host) : NULL;
}

void dp_fleet__hc_free(dp_fleet_hc_t *hc)
{
    free(hc->path);
    free(hc->host);
    hc->path = hc->host = NULL;
}

/* "1s", "1.5s", "250ms": milliseconds in 1..MAX_DURATION_MS. */
static int parse_duration(dp_fleet_pctx_t *c, const dp_cfgnode_t *v, const char *path, unsigned *out)
{
    const char *s = v->kind == DP_CFG_SCALAR ? v->str : NULL;
    unsigned long long ms = 0, frac = 0, scale = 1;
    size_t i = 0;
    if (s == NULL)
        goto bad;
    for (; s[i] >= '0' && s[i] <= '9' && i < 10; i++)
        ms = ms * 10 + (unsigned)(s[i] - '0');
    if (i == 0)
        goto bad;
    if (strcmp(s + i, "ms") == 0) {
        /* whole milliseconds */
    } else {
        if (s[i] == '.') {
            size_t j = ++i;
            for (; s[i] >= '0' && s[i] <= '9' && i - j < 3; i++) {
                frac = frac * 10 + (unsigned)(s[i] - '0');
                scale *= 10;
            }
            if (i == j)
                goto bad;
        }
        if (strcmp(s + i, "s") != 0)
            goto bad;
        ms = ms * 1000 + frac * 1000 / scale;
    }
    if (ms == 0 || ms > MAX_DURATION_MS)
        return perr(c, v, path, "bad duration '%s': expected 1ms..1h", s);
    *out = (unsigned)ms;
    return 0;
bad:
    return perr(c, v, path, "bad duration '%s': expected e.g. 1s, 1.5s or 250ms",
                s ? s : dp_cfgtree_kind_name(v));
}

static int parse_count(dp_fleet_pctx_t *c, const dp_cfgnode_t *v, const char *path, unsigned *out)
{
    unsigned long x = 0;
    int ok = v->kind == DP_CFG_SCALAR && v->len > 0 && v->len <= 4;
    for (size_t i = 0; ok && i < v->len; i++) {
        ok = v->str[i] >= '0' && v->str[i] <= '9';
        x = x * 10 + (unsigned long)(v->str[i] - '0');
    }
    if (!ok || x < 1 || x > MAX_THRESHOLD)
        return perr(c, v, path, "bad threshold '%s': expected 1..%u",
                    v->kind == DP_CFG_SCALAR ? v->str : dp_cfgtree_kind_name(v), MAX_THRESHOLD);
    *out = (unsigned)x;
    return 0;
}

/* An HTTP request path: absolute, printable ASCII, no space. */
static int is_path(const char *s)
{
    if (s[0] != '/')
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f)
            return 0;
    return 1;
}

int dp_fleet__parse_hc(dp_fleet_pctx_t *c, const dp_cfgnode_t *v, const char *path, const dp_fleet_hc_t *parent,
                       int top, dp_fleet_hc_t *out)
{
    static const char *const keys[] = {"type",      "path",    "host",
                                       "interval",  "timeout", "unhealthy_threshold",
                                       "healthy_threshold", "report_interval", NULL};
    const dp_cfgnode_t *x, *pv = NULL;
    const char *s;
    char p[224];
    int rc;
    dp_fleet__hc_copy(out, parent);
    if (v == NULL || dp_cfgtree_is_null(v))
        return 0;
    if ((rc = dp_fleet__want_map(c, v, path)) || (rc = dp_fleet__check_keys(c, v, path, keys)))
        return rc;
    if ((rc = dp_fleet__get_str(c, v, "type", path, 1, &x, &s)))
        return rc;
    if (s != NULL) {
        snprintf(p, sizeof p, "%s.type", path);
        if (strcmp(s, "tcp") == 0)
            out->type = DP_FLEET_HC_TCP;
        else if (strcmp(s, "http") == 0)
            out->type = DP_FLEET_HC_HTTP;
        else if (strcmp(s, "none") == 0)
            out->type = DP_FLEET_HC_NONE;
        else
            return perr(c, x, p, "bad type '%s': expected tcp, http or none", s);
    }
    for (int k = 0; k < 2; k++) {
        const char *key = k ? "host" : "path";
        if ((rc = dp_fleet__get_str(c, v, key, path, 1, &x, &s)))
            return rc;
        if (s == NULL)
            continue;
        snprintf(p, sizeof p, "%s.%s", path, key);
        if (k == 0 && !is_path(s))
            return perr(c, x, p, "bad path '%s': expected an absolute path without spaces", s);
        if (k == 1 && !dp_fleet__is_domain(s))
            return perr(c, x, p, "bad host '%s': expected a lower-case host name", s);
        char **slot = k ? &out->host : &out->path;
        free(*slot);
        *slot = dp_stub_xstrdup(s);
        pv = x;
    }
    if (out->type != DP_FLEET_HC_HTTP) {
        if (pv != NULL)
            return perr(c, pv, path, "path and host need type: http");
        free(out->path);
        free(out->host);
        out->path = out->host = NULL;
    } else if (out->path == NULL) {
        out->path = dp_stub_xstrdup("/");
    }
    static const char *const durs[] = {"interval", "timeout", "report_interval"};
    for (int k = 0; k < 3; k++) {
        if ((x = dp_cfgtree_get(v, durs[k])) == NULL || dp_cfgtree_is_null(x))
            continue;
        snprintf(p, sizeof p, "%s.%s", path, durs[k]);
        if (k == 2 && !top)
            return perr(c, x, p, "report_interval is a setting of the data planes: only in defaults.health_check");
        unsigned *dst = k == 0 ? &out->interval_ms : k == 1 ? &out->timeout_ms : &c->f->hds_report_ms;
        if ((rc = parse_duration(c, x, p, dst)))
            return rc;
    }
    static const char *const thr[] = {"unhealthy_threshold", "healthy_threshold"};
    for (int k = 0; k < 2; k++) {
        if ((x = dp_cfgtree_get(v, thr[k])) == NULL || dp_cfgtree_is_null(x))
            continue;
        snprintf(p, sizeof p, "%s.%s", path, thr[k]);
        if ((rc = parse_count(c, x, p, k ? &out->healthy_threshold : &out->unhealthy_threshold)))
            return rc;
    }
    return 0;
}

int dp_fleet__parse_csds(dp_fleet_pctx_t *c, const dp_cfgnode_t *node, const char *path, dp_fleet_node_t *n)
{
    const dp_cfgnode_t *v;
    const char *s;
    char p[128], host[64];
    unsigned char b[16];
    int rc;
    if ((rc = dp_fleet__get_str(c, node, "csds", path, 1, &v, &s)) || s == NULL)
        return rc;
    snprintf(p, sizeof p, "%s.csds", path);
    const char *colon = strrchr(s, ':');
    size_t hl = colon ? (size_t)(colon - s) : 0;
    const char *h = s;
    if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') { /* [::1]:9902 */
        h = s + 1;
        hl -= 2;
    }
    if (colon == NULL || hl == 0 || hl >= sizeof host)
        return perr(c, v, p, "bad address '%s': expected IP:PORT ([IPv6]:PORT)", s);
    memcpy(host, h, hl);
    host[hl] = '\0';
    int v6 = inet_pton(AF_INET6, host, b) == 1;
    if (!(inet_pton(AF_INET, host, b) == 1 || (v6 && h != s)))
        return perr(c, v, p, "bad address '%s': expected IP:PORT ([IPv6]:PORT)", s);
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || port < 1 || port > 65535)
        return perr(c, v, p, "bad port in '%s': expected 1..65535", s);
    n->csds = dp_stub_xstrdup(s);
    return 0;
}
