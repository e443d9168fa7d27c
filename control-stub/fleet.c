/* Fleet file parser: YAML (through xds/cfgtree.h, which keeps positions)
 * into the resolved model of fleet.h. Checks everything the translation
 * relies on, so that a fleet that parses always translates: ids, DNS
 * labels, ports, references and uniqueness. Permissions are parsed in
 * fleet_perms.c. The control stub is a tool, not a reusable decoder:
 * allocation failure aborts (dp_stub_xalloc). */
#include "control-stub/fleet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "control-stub/fleet_int.h"
#include "control-stub/stub_util.h"
#include "dataplane/core/common.h"
#include "xds/cfgtree.h"

typedef dp_fleet_pctx_t pctx_t;
#define perr dp_fleet__err

int dp_fleet__err(pctx_t *c, const dp_cfgnode_t *n, const char *path, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->errlen > 0)
        snprintf(c->errbuf, c->errlen, "%s:%u:%u: %s: %s", c->file, n ? n->line : 1, n ? n->col : 1, path,
                 msg);
    return DP_EINVAL;
}

int dp_fleet__check_keys(pctx_t *c, const dp_cfgnode_t *map, const char *path, const char *const *allowed)
{
    for (size_t i = 0; i < map->n; i++) {
        const char *k = map->pairs[i].key->str;
        int ok = 0;
        for (const char *const *a = allowed; *a != NULL; a++)
            if (strcmp(k, *a) == 0)
                ok = 1;
        if (!ok)
            return perr(c, map->pairs[i].key, path, "unknown key '%s'", k);
    }
    return 0;
}

int dp_fleet__want_map(pctx_t *c, const dp_cfgnode_t *n, const char *path)
{
    if (n == NULL || n->kind != DP_CFG_MAP)
        return perr(c, n, path, "expected a map, got %s", n ? dp_cfgtree_kind_name(n) : "nothing");
    return 0;
}

int dp_fleet__get_str(pctx_t *c, const dp_cfgnode_t *map, const char *key, const char *path, int optional,
                      const dp_cfgnode_t **node, const char **out)
{
    const dp_cfgnode_t *v = dp_cfgtree_get(map, key);
    char p[256];
    snprintf(p, sizeof p, "%s.%s", path, key);
    *out = NULL;
    if (node)
        *node = v;
    if (v == NULL || dp_cfgtree_is_null(v)) {
        if (optional)
            return 0;
        return perr(c, v ? v : map, p, "missing");
    }
    if (v->kind != DP_CFG_SCALAR)
        return perr(c, v, p, "expected a string, got %s", dp_cfgtree_kind_name(v));
    if (v->len == 0 || strlen(v->str) != v->len)
        return perr(c, v, p, "must be a non-empty string");
    *out = v->str;
    return 0;
}

int dp_fleet__get_bool(pctx_t *c, const dp_cfgnode_t *map, const char *key, const char *path, int *out)
{
    const dp_cfgnode_t *v = dp_cfgtree_get(map, key);
    if (v == NULL || dp_cfgtree_is_null(v))
        return 0;
    if (v->kind == DP_CFG_SCALAR && strcmp(v->str, "true") == 0)
        *out = 1;
    else if (v->kind == DP_CFG_SCALAR && strcmp(v->str, "false") == 0)
        *out = 0;
    else {
        char p[256];
        snprintf(p, sizeof p, "%s.%s", path, key);
        return perr(c, v, p, "expected true or false, got '%s'",
                    v->kind == DP_CFG_SCALAR ? v->str : dp_cfgtree_kind_name(v));
    }
    return 0;
}

static int parse_port(pctx_t *c, const dp_cfgnode_t *v, const char *path, unsigned *out)
{
    if (v == NULL || v->kind != DP_CFG_SCALAR || v->len == 0 || v->len > 5)
        return perr(c, v, path, "bad port: expected an integer 1..65535");
    unsigned long p = 0;
    for (size_t i = 0; i < v->len; i++) {
        if (v->str[i] < '0' || v->str[i] > '9')
            return perr(c, v, path, "bad port '%s': expected 1..65535", v->str);
        p = p * 10 + (unsigned long)(v->str[i] - '0');
    }
    if (p == 0 || p > 65535)
        return perr(c, v, path, "bad port %lu: expected 1..65535", p);
    *out = (unsigned)p;
    return 0;
}

int dp_fleet__is_label(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return 0;
    return 1;
}

int dp_fleet__is_domain(const char *s)
{
    char buf[256];
    if (strlen(s) > 253)
        return 0;
    strcpy(buf, s);
    char *save = NULL;
    int labels = 0;
    if (s[0] == '.' || s[0] == '\0' || s[strlen(s) - 1] == '.' || strstr(s, ".."))
        return 0;
    for (char *t = strtok_r(buf, ".", &save); t != NULL; t = strtok_r(NULL, ".", &save)) {
        if (!dp_fleet__is_label(t))
            return 0;
        labels++;
    }
    return labels > 0;
}

char *dp_fleet__read_rel(pctx_t *c, const dp_cfgnode_t *n, const char *path, const char *name)
{
    char full[4096];
    const char *slash = strrchr(c->file, '/');
    if (name[0] == '/' || slash == NULL)
        snprintf(full, sizeof full, "%s", name);
    else
        snprintf(full, sizeof full, "%.*s/%s", (int)(slash - c->file), c->file, name);
    size_t len = 0;
    char *text = dp_stub_read_file(full, &len);
    if (text == NULL) {
        perr(c, n, path, "cannot read '%s': %s", full, strerror(errno));
        return NULL;
    }
    if (strlen(text) != len) {
        free(text);
        perr(c, n, path, "'%s' holds a NUL byte", full);
        return NULL;
    }
    return text;
}

static int is_ip(const char *s)
{
    unsigned char b[16];
    return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

static int parse_id(pctx_t *c, const dp_cfgnode_t *map, const char *path, char id[DP_FLEET_ID_LEN + 1])
{
    const dp_cfgnode_t *v;
    const char *s;
    char p[256];
    int rc = dp_fleet__get_str(c, map, "id", path, 0, &v, &s);
    if (rc)
        return rc;
    snprintf(p, sizeof p, "%s.id", path);
    if (strlen(s) != DP_FLEET_ID_LEN)
        return perr(c, v, p, "bad id '%s': expected 24 hex digits", s);
    for (size_t i = 0; i < DP_FLEET_ID_LEN; i++) {
        char ch = s[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F')))
            return perr(c, v, p, "bad id '%s': expected 24 hex digits", s);
        id[i] = (ch >= 'A' && ch <= 'F') ? (char)(ch - 'A' + 'a') : ch;
    }
    id[DP_FLEET_ID_LEN] = '\0';
    return 0;
}

/* An optional top-level sequence; absent or null is empty. */
static int get_seq(pctx_t *c, const dp_cfgnode_t *root, const char *key, const dp_cfgnode_t **out)
{
    const dp_cfgnode_t *v = dp_cfgtree_get(root, key);
    *out = NULL;
    if (v == NULL || dp_cfgtree_is_null(v))
        return 0;
    if (v->kind != DP_CFG_SEQ)
        return perr(c, v, key, "expected a list, got %s", dp_cfgtree_kind_name(v));
    *out = v;
    return 0;
}

static int parse_defaults(pctx_t *c, const dp_cfgnode_t *root)
{
    static const char *const keys[] = {"ports", "health_check", NULL};
    static const char *const pkeys[] = {"terminal", "display", "sqlite", NULL};
    const dp_cfgnode_t *d = dp_cfgtree_get(root, "defaults");
    if (d == NULL || dp_cfgtree_is_null(d))
        return 0;
    int rc = dp_fleet__want_map(c, d, "defaults");
    if (rc == 0)
        rc = dp_fleet__check_keys(c, d, "defaults", keys);
    if (rc)
        return rc;
    dp_fleet_hc_t builtin;
    dp_fleet__hc_defaults(&builtin);
    dp_fleet__hc_free(&c->f->default_hc);
    if ((rc = dp_fleet__parse_hc(c, dp_cfgtree_get(d, "health_check"), "defaults.health_check", &builtin, 1,
                                 &c->f->default_hc)))
        return rc;
    const dp_cfgnode_t *p = dp_cfgtree_get(d, "ports");
    if (p == NULL || dp_cfgtree_is_null(p))
        return 0;
    if ((rc = dp_fleet__want_map(c, p, "defaults.ports")) ||
        (rc = dp_fleet__check_keys(c, p, "defaults.ports", pkeys)))
        return rc;
    for (int i = 0; i < 3; i++) {
        const dp_cfgnode_t *v = dp_cfgtree_get(p, pkeys[i]);
        char path[64];
        snprintf(path, sizeof path, "defaults.ports.%s", pkeys[i]);
        if (v && (rc = parse_port(c, v, path, &c->f->default_ports[i])))
            return rc;
    }
    return 0;
}

/* One {address, port} of a node's listener(s). */
static int parse_listener(pctx_t *c, dp_fleet_node_t *n, const dp_cfgnode_t *l, const char *path)
{
    static const char *const lkeys[] = {"address", "port", "tls", NULL};
    const dp_cfgnode_t *v;
    const char *s;
    char p[160];
    int rc;
    if ((rc = dp_fleet__want_map(c, l, path)) || (rc = dp_fleet__check_keys(c, l, path, lkeys)))
        return rc;
    if ((rc = dp_fleet__get_str(c, l, "address", path, 0, &v, &s)))
        return rc;
    snprintf(p, sizeof p, "%s.address", path);
    if (!is_ip(s))
        return perr(c, v, p, "bad IP address '%s'", s);
    const dp_cfgnode_t *pv = dp_cfgtree_get(l, "port");
    unsigned port = 0;
    snprintf(p, sizeof p, "%s.port", path);
    if (pv == NULL)
        return perr(c, l, p, "missing");
    if ((rc = parse_port(c, pv, p, &port)))
        return rc;
    for (size_t i = 0; i < n->nlisteners; i++)
        if (n->listeners[i].port == port && strcmp(n->listeners[i].address, s) == 0)
            return perr(c, l, path, "duplicate listener %s port %u", s, port);
    n->listeners[n->nlisteners].address = dp_stub_xstrdup(s);
    n->listeners[n->nlisteners].port = port;
    n->nlisteners++;
    return dp_fleet__get_bool(c, l, "tls", path, &n->listeners[n->nlisteners - 1].tls);
}

/* `listener: {...}` (one) or `listeners: [{...}, ...]`, not both. */
static int parse_listeners(pctx_t *c, dp_fleet_node_t *n, const dp_cfgnode_t *m, const char *path)
{
    const dp_cfgnode_t *one = dp_cfgtree_get(m, "listener"), *many = dp_cfgtree_get(m, "listeners");
    char p[128];
    int rc;
    if (one && many) {
        snprintf(p, sizeof p, "%s.listeners", path);
        return perr(c, many, p, "give listener (one) or listeners (a list), not both");
    }
    if (one) {
        snprintf(p, sizeof p, "%s.listener", path);
        n->listeners = dp_stub_xcalloc(1, sizeof *n->listeners);
        return parse_listener(c, n, one, p);
    }
    snprintf(p, sizeof p, "%s.listeners", path);
    if (many == NULL)
        return perr(c, m, p, "missing (listener or listeners)");
    if (many->kind != DP_CFG_SEQ || many->n == 0)
        return perr(c, many, p, "expected a non-empty list of {address, port}");
    n->listeners = dp_stub_xcalloc(many->n, sizeof *n->listeners);
    for (size_t i = 0; i < many->n; i++) {
        char p2[160];
        snprintf(p2, sizeof p2, "%s[%zu]", p, i);
        if ((rc = parse_listener(c, n, many->items[i], p2)))
            return rc;
    }
    return 0;
}

static int parse_nodes(pctx_t *c, const dp_cfgnode_t *seq)
{
    static const char *const keys[] = {"name",          "base_domain",       "listener",     "listeners",
                                       "port_pod_form", "port_machine_form", "certificates", "csds",
                                       "transparent",   "transparent_fallback", NULL};
    dp_fleet_t *f = c->f;
    f->nodes = dp_stub_xcalloc(seq->n ? seq->n : 1, sizeof *f->nodes);
    for (size_t i = 0; i < seq->n; i++) {
        const dp_cfgnode_t *m = seq->items[i], *v;
        const char *s;
        char path[64], p2[96];
        int rc;
        snprintf(path, sizeof path, "nodes[%zu]", i);
        if ((rc = dp_fleet__want_map(c, m, path)) || (rc = dp_fleet__check_keys(c, m, path, keys)))
            return rc;
        dp_fleet_node_t *n = &f->nodes[f->nnodes];
        if ((rc = dp_fleet__get_str(c, m, "name", path, 0, &v, &s)))
            return rc;
        snprintf(p2, sizeof p2, "%s.name", path);
        if (!dp_fleet__is_label(s))
            return perr(c, v, p2, "bad node name '%s': expected a DNS label [a-z0-9-]", s);
        for (size_t j = 0; j < f->nnodes; j++)
            if (strcmp(f->nodes[j].name, s) == 0)
                return perr(c, v, p2, "duplicate node name '%s'", s);
        n->name = dp_stub_xstrdup(s);
        f->nnodes++;
        if ((rc = dp_fleet__get_str(c, m, "base_domain", path, 0, &v, &s)))
            return rc;
        snprintf(p2, sizeof p2, "%s.base_domain", path);
        if (!dp_fleet__is_domain(s))
            return perr(c, v, p2, "bad domain '%s'", s);
        n->base_domain = dp_stub_xstrdup(s);
        if ((rc = parse_listeners(c, n, m, path)))
            return rc;
        if ((rc = dp_fleet__get_bool(c, m, "port_pod_form", path, &n->port_pod_form)) ||
            (rc = dp_fleet__get_bool(c, m, "port_machine_form", path, &n->port_machine_form)))
            return rc;
        if ((rc = dp_fleet__parse_certs(c, m, path, n)) || (rc = dp_fleet__parse_csds(c, m, path, n)))
            return rc;
        if ((rc = dp_fleet__get_bool(c, m, "transparent", path, &n->transparent)) ||
            (rc = dp_fleet__get_str(c, m, "transparent_fallback", path, 1, &v, &s)))
            return rc;
        if (v != NULL) {
            snprintf(p2, sizeof p2, "%s.transparent_fallback", path);
            if (strcmp(s, "forward") != 0 && strcmp(s, "refuse") != 0)
                return perr(c, v, p2, "expected refuse or forward, got '%s'", s);
            if (!n->transparent)
                return perr(c, v, p2, "only with transparent: true");
            n->transparent_forward = strcmp(s, "forward") == 0;
        }
    }
    return 0;
}

static int parse_projects(pctx_t *c, const dp_cfgnode_t *seq)
{
    static const char *const keys[] = {"id", "alias", "permissions", NULL};
    dp_fleet_t *f = c->f;
    f->projects = dp_stub_xcalloc(seq->n ? seq->n : 1, sizeof *f->projects);
    for (size_t i = 0; i < seq->n; i++) {
        const dp_cfgnode_t *m = seq->items[i], *v;
        const char *s;
        char path[64], p2[96];
        int rc;
        snprintf(path, sizeof path, "projects[%zu]", i);
        if ((rc = dp_fleet__want_map(c, m, path)) || (rc = dp_fleet__check_keys(c, m, path, keys)))
            return rc;
        dp_fleet_project_t *p = &f->projects[f->nprojects];
        if ((rc = parse_id(c, m, path, p->id)))
            return rc;
        for (size_t j = 0; j < f->nprojects; j++)
            if (strcmp(f->projects[j].id, p->id) == 0)
                return perr(c, dp_cfgtree_get(m, "id"), path, "duplicate project id '%s'", p->id);
        f->nprojects++;
        if ((rc = dp_fleet__get_str(c, m, "alias", path, 1, &v, &s)))
            return rc;
        if (s) {
            snprintf(p2, sizeof p2, "%s.alias", path);
            if (!dp_fleet__is_label(s))
                return perr(c, v, p2, "bad alias '%s': expected a DNS label [a-z0-9-]", s);
            for (size_t j = 0; j + 1 < f->nprojects; j++)
                if (f->projects[j].alias && strcmp(f->projects[j].alias, s) == 0)
                    return perr(c, v, p2, "duplicate project alias '%s'", s);
            p->alias = dp_stub_xstrdup(s);
        }
        snprintf(p2, sizeof p2, "%s.permissions", path);
        if ((rc = dp_fleet__parse_perms(c, dp_cfgtree_get(m, "permissions"), p2, &p->perms)))
            return rc;
    }
    return 0;
}

/* Port of service `name` with no explicit port: the defaults, or the N of
 * http-N. 0 when there is none. */
static unsigned default_port(const pctx_t *c, const char *name)
{
    if (strcmp(name, "terminal") == 0)
        return c->f->default_ports[0];
    if (strcmp(name, "display") == 0)
        return c->f->default_ports[1];
    if (strcmp(name, "sqlite") == 0)
        return c->f->default_ports[2];
    if (strncmp(name, "http-", 5) == 0 && name[5] != '\0' && name[5] != '0' && strlen(name) <= 10) {
        unsigned long p = 0;
        for (const char *s = name + 5; *s; s++) {
            if (*s < '0' || *s > '9')
                return 0;
            p = p * 10 + (unsigned long)(*s - '0');
        }
        return p >= 1 && p <= 65535 ? (unsigned)p : 0;
    }
    return 0;
}

static int parse_services_hc(pctx_t *c, dp_fleet_container_t *ct, const dp_cfgnode_t *m, const char *path,
                             const dp_fleet_hc_t *chc);

/* One service: `name` (key or list item) with an optional explicit port,
 * or a map {port, health_check}; `chc` is its container's health check. */
static int add_service(pctx_t *c, dp_fleet_container_t *ct, const dp_cfgnode_t *name,
                       const dp_cfgnode_t *port, const char *path, const dp_fleet_hc_t *chc)
{
    static const char *const skeys[] = {"port", "health_check", NULL};
    const dp_cfgnode_t *hcn = NULL;
    char sp[160];
    int rc;
    if (name->kind != DP_CFG_SCALAR || !dp_fleet__is_label(name->str))
        return perr(c, name, path, "bad service name '%s': expected [a-z0-9-]",
                    name->kind == DP_CFG_SCALAR ? name->str : dp_cfgtree_kind_name(name));
    for (size_t j = 0; j < ct->nservices; j++)
        if (strcmp(ct->services[j].name, name->str) == 0)
            return perr(c, name, path, "duplicate service '%s'", name->str);
    unsigned def = default_port(c, name->str), p = def;
    if (port != NULL && port->kind == DP_CFG_MAP) { /* { port: N, health_check: {...} } */
        snprintf(sp, sizeof sp, "%s.%s", path, name->str);
        if ((rc = dp_fleet__check_keys(c, port, sp, skeys)))
            return rc;
        hcn = dp_cfgtree_get(port, "health_check");
        port = dp_cfgtree_get(port, "port");
    }
    if (port != NULL && !dp_cfgtree_is_null(port)) {
        char p2[160];
        snprintf(p2, sizeof p2, "%s.%s", path, name->str);
        if ((rc = parse_port(c, port, p2, &p)))
            return rc;
        if (strncmp(name->str, "http-", 5) == 0 && def != 0 && p != def)
            return perr(c, port, p2, "bad port %u: service %s means port %u", p, name->str, def);
    } else if (def == 0) {
        return perr(c, name, path,
                    "service '%s' has no default port: give one (name: port) or use http-<port>", name->str);
    }
    dp_fleet_service_t *sv = &ct->services[ct->nservices++];
    sv->name = dp_stub_xstrdup(name->str);
    sv->port = p;
    snprintf(sp, sizeof sp, "%s.%s.health_check", path, name->str);
    return dp_fleet__parse_hc(c, hcn, sp, chc, 0, &sv->hc);
}

static int parse_services(pctx_t *c, dp_fleet_container_t *ct, const dp_cfgnode_t *m, const char *path)
{
    char p2[128];
    dp_fleet_hc_t chc; /* the container's health_check over the defaults */
    snprintf(p2, sizeof p2, "%s.health_check", path);
    int rc = dp_fleet__parse_hc(c, dp_cfgtree_get(m, "health_check"), p2, &c->f->default_hc, 0, &chc);
    if (rc == 0)
        rc = parse_services_hc(c, ct, m, path, &chc);
    dp_fleet__hc_free(&chc);
    return rc;
}

static int parse_services_hc(pctx_t *c, dp_fleet_container_t *ct, const dp_cfgnode_t *m, const char *path,
                             const dp_fleet_hc_t *chc)
{
    char p2[128];
    int rc;
    const dp_cfgnode_t *s = dp_cfgtree_get(m, "services");
    snprintf(p2, sizeof p2, "%s.services", path);
    if (s == NULL || dp_cfgtree_is_null(s))
        return 0;
    if (s->kind == DP_CFG_SEQ) {
        ct->services = dp_stub_xcalloc(s->n ? s->n : 1, sizeof *ct->services);
        for (size_t i = 0; i < s->n; i++)
            if ((rc = add_service(c, ct, s->items[i], NULL, p2, chc)))
                return rc;
        return 0;
    }
    if (s->kind == DP_CFG_MAP) {
        ct->services = dp_stub_xcalloc(s->n ? s->n : 1, sizeof *ct->services);
        for (size_t i = 0; i < s->n; i++)
            if ((rc = add_service(c, ct, s->pairs[i].key, s->pairs[i].value, p2, chc)))
                return rc;
        return 0;
    }
    return perr(c, s, p2, "expected a list of service names or a map name: port (or {port, health_check})");
}

/* `address: IP` (one instance) or `addresses: [IP, ...]`, not both;
 * optional for a stopped container. */
static int parse_addresses(pctx_t *c, dp_fleet_container_t *ct, const dp_cfgnode_t *m, const char *path)
{
    const dp_cfgnode_t *one = dp_cfgtree_get(m, "address"), *many = dp_cfgtree_get(m, "addresses");
    char p[128];
    int rc;
    if (one && dp_cfgtree_is_null(one))
        one = NULL;
    if (many && dp_cfgtree_is_null(many))
        many = NULL;
    if (one && many) {
        snprintf(p, sizeof p, "%s.addresses", path);
        return perr(c, many, p, "give address (one instance) or addresses (a list), not both");
    }
    if (one) {
        const char *s;
        const dp_cfgnode_t *v;
        if ((rc = dp_fleet__get_str(c, m, "address", path, 0, &v, &s)))
            return rc;
        snprintf(p, sizeof p, "%s.address", path);
        if (!is_ip(s))
            return perr(c, v, p, "bad IP address '%s'", s);
        ct->addresses = dp_stub_xcalloc(1, sizeof *ct->addresses);
        ct->addresses[ct->naddresses++] = dp_stub_xstrdup(s);
        return 0;
    }
    snprintf(p, sizeof p, "%s.addresses", path);
    if (many == NULL) {
        if (ct->running)
            return perr(c, m, p, "missing: a running container needs address or addresses");
        return 0;
    }
    if (many->kind != DP_CFG_SEQ || (many->n == 0 && ct->running))
        return perr(c, many, p, "expected a non-empty list of IP addresses");
    ct->addresses = dp_stub_xcalloc(many->n ? many->n : 1, sizeof *ct->addresses);
    for (size_t i = 0; i < many->n; i++) {
        const dp_cfgnode_t *v = many->items[i];
        char p2[160];
        snprintf(p2, sizeof p2, "%s[%zu]", p, i);
        if (v->kind != DP_CFG_SCALAR || !is_ip(v->str))
            return perr(c, v, p2, "bad IP address '%s'",
                        v->kind == DP_CFG_SCALAR ? v->str : dp_cfgtree_kind_name(v));
        ct->addresses[ct->naddresses++] = dp_stub_xstrdup(v->str);
    }
    return 0;
}

/* Optional `machine` / `pod_slug`: a DNS label no other container has. */
static int parse_unique_label(pctx_t *c, const dp_cfgnode_t *m, const char *key, const char *path,
                              size_t self, char **out)
{
    const dp_cfgnode_t *v;
    const char *s;
    char p[128];
    int rc = dp_fleet__get_str(c, m, key, path, 1, &v, &s);
    if (rc || s == NULL)
        return rc;
    snprintf(p, sizeof p, "%s.%s", path, key);
    if (!dp_fleet__is_label(s))
        return perr(c, v, p, "bad %s '%s': expected a DNS label [a-z0-9-]", key, s);
    dp_stub_index_t *ix = strcmp(key, "machine") == 0 ? &c->machines : &c->pods;
    size_t j = dp_stub_index_get(ix, s);
    if (j != (size_t)-1)
        return perr(c, v, p, "%s '%s' already belongs to container %s", key, s, c->f->containers[j].id);
    *out = dp_stub_xstrdup(s);
    dp_stub_index_put(ix, *out, self);
    return 0;
}

static int parse_containers(pctx_t *c, const dp_cfgnode_t *seq)
{
    static const char *const keys[] = {"id",       "project",     "node",     "state",
                                       "address",  "addresses",   "services", "machine",
                                       "pod_slug", "permissions", "health_check", NULL};
    dp_fleet_t *f = c->f;
    f->containers = dp_stub_xcalloc(seq->n ? seq->n : 1, sizeof *f->containers);
    for (size_t i = 0; i < seq->n; i++) {
        const dp_cfgnode_t *m = seq->items[i], *v;
        const char *s;
        char path[64], p2[96];
        int rc;
        snprintf(path, sizeof path, "containers[%zu]", i);
        if ((rc = dp_fleet__want_map(c, m, path)) || (rc = dp_fleet__check_keys(c, m, path, keys)))
            return rc;
        dp_fleet_container_t *ct = &f->containers[f->ncontainers];
        if ((rc = parse_id(c, m, path, ct->id)))
            return rc;
        if (dp_stub_index_get(&c->ids, ct->id) != (size_t)-1)
            return perr(c, dp_cfgtree_get(m, "id"), path, "duplicate container id '%s'", ct->id);
        dp_stub_index_put(&c->ids, ct->id, f->ncontainers);
        f->ncontainers++;

        if ((rc = dp_fleet__get_str(c, m, "project", path, 0, &v, &s)))
            return rc;
        snprintf(p2, sizeof p2, "%s.project", path);
        size_t pj = f->nprojects;
        for (size_t j = 0; j < f->nprojects; j++)
            if (strcasecmp(f->projects[j].id, s) == 0 ||
                (f->projects[j].alias && strcmp(f->projects[j].alias, s) == 0))
                pj = j;
        if (pj == f->nprojects)
            return perr(c, v, p2, "unknown project '%s'", s);
        ct->project = pj;

        if ((rc = dp_fleet__get_str(c, m, "node", path, 0, &v, &s)))
            return rc;
        snprintf(p2, sizeof p2, "%s.node", path);
        long nd = dp_fleet_find_node(f, s);
        if (nd < 0)
            return perr(c, v, p2, "unknown node '%s'", s);
        ct->node = (size_t)nd;

        if ((rc = dp_fleet__get_str(c, m, "state", path, 0, &v, &s)))
            return rc;
        snprintf(p2, sizeof p2, "%s.state", path);
        if (strcmp(s, "running") == 0)
            ct->running = 1;
        else if (strcmp(s, "stopped") == 0)
            ct->running = 0;
        else
            return perr(c, v, p2, "bad state '%s': expected running or stopped", s);

        if ((rc = parse_addresses(c, ct, m, path)) || (rc = parse_services(c, ct, m, path)))
            return rc;
        if ((rc = parse_unique_label(c, m, "machine", path, i, &ct->machine)) ||
            (rc = parse_unique_label(c, m, "pod_slug", path, i, &ct->pod_slug)))
            return rc;
        snprintf(p2, sizeof p2, "%s.permissions", path);
        if ((rc = dp_fleet__parse_perms(c, dp_cfgtree_get(m, "permissions"), p2, &ct->perms)))
            return rc;
    }
    return 0;
}

/* A custom domain: a hostname of its own, under no node's base domain
 * (hosts there are read as container URLs and aliases, never looked up
 * as custom domains), claimed by one alias only. */
static int check_domain(pctx_t *c, const dp_cfgnode_t *v, const char *path, const char *s)
{
    const dp_fleet_t *f = c->f;
    if (!dp_fleet__is_domain(s) || strchr(s, '.') == NULL)
        return perr(c, v, path, "bad domain '%s': expected a lower-case host name with a dot", s);
    size_t n = strlen(s);
    for (size_t j = 0; j < f->nnodes; j++) {
        const char *b = f->nodes[j].base_domain;
        size_t bl = strlen(b);
        if (strcmp(s, b) == 0 || (n > bl && s[n - bl - 1] == '.' && strcmp(s + n - bl, b) == 0))
            return perr(c, v, path, "domain '%s' is under the base domain %s of node %s: use name instead", s,
                        b, f->nodes[j].name);
    }
    if (dp_stub_index_get(&c->domains, s) != (size_t)-1)
        return perr(c, v, path, "duplicate domain '%s'", s);
    return 0;
}

static int parse_aliases(pctx_t *c, const dp_cfgnode_t *seq)
{
    static const char *const keys[] = {"name", "domain", "container", "service", "index", NULL};
    dp_fleet_t *f = c->f;
    f->aliases = dp_stub_xcalloc(seq->n ? seq->n : 1, sizeof *f->aliases);
    for (size_t i = 0; i < seq->n; i++) {
        const dp_cfgnode_t *m = seq->items[i], *v, *dv;
        const char *s, *d;
        char path[64], p2[96];
        int rc;
        snprintf(path, sizeof path, "aliases[%zu]", i);
        if ((rc = dp_fleet__want_map(c, m, path)) || (rc = dp_fleet__check_keys(c, m, path, keys)))
            return rc;
        dp_fleet_alias_t *a = &f->aliases[f->naliases];
        if ((rc = dp_fleet__get_str(c, m, "name", path, 1, &v, &s)) ||
            (rc = dp_fleet__get_str(c, m, "domain", path, 1, &dv, &d)))
            return rc;
        if (s == NULL && d == NULL)
            return perr(c, m, path, "name or domain (or both) required");
        if (s) {
            snprintf(p2, sizeof p2, "%s.name", path);
            if (!dp_fleet__is_label(s))
                return perr(c, v, p2, "bad alias name '%s': expected a DNS label [a-z0-9-]", s);
            if (dp_stub_index_get(&c->aliases, s) != (size_t)-1)
                return perr(c, v, p2, "duplicate alias '%s'", s);
        }
        if (d) {
            snprintf(p2, sizeof p2, "%s.domain", path);
            if ((rc = check_domain(c, dv, p2, d)))
                return rc;
        }
        a->name = s ? dp_stub_xstrdup(s) : NULL;
        a->domain = d ? dp_stub_xstrdup(d) : NULL;
        if (a->name)
            dp_stub_index_put(&c->aliases, a->name, f->naliases);
        if (a->domain)
            dp_stub_index_put(&c->domains, a->domain, f->naliases);
        f->naliases++;

        if ((rc = dp_fleet__get_str(c, m, "container", path, 0, &v, &s)))
            return rc;
        snprintf(p2, sizeof p2, "%s.container", path);
        char low[DP_FLEET_ID_LEN + 1] = "";
        size_t sl = strlen(s);
        for (size_t k = 0; k < sl && k < DP_FLEET_ID_LEN; k++)
            low[k] = (char)tolower((unsigned char)s[k]);
        size_t ci = sl == DP_FLEET_ID_LEN ? dp_stub_index_get(&c->ids, low) : (size_t)-1;
        if (ci == (size_t)-1)
            return perr(c, v, p2, "unknown container '%s'", s);
        a->container = ci;

        const dp_fleet_container_t *ct = &f->containers[ci];
        if ((rc = dp_fleet__get_str(c, m, "service", path, 0, &v, &s)))
            return rc;
        snprintf(p2, sizeof p2, "%s.service", path);
        size_t si = ct->nservices;
        for (size_t j = 0; j < ct->nservices; j++)
            if (strcmp(ct->services[j].name, s) == 0)
                si = j;
        if (si == ct->nservices)
            return perr(c, v, p2, "container %s has no service '%s'", ct->id, s);
        a->service = si;

        /* instance N is the container's N-th address */
        size_t ninst = ct->naddresses ? ct->naddresses : 1;
        a->index = 1;
        v = dp_cfgtree_get(m, "index");
        snprintf(p2, sizeof p2, "%s.index", path);
        if (v && !dp_cfgtree_is_null(v)) {
            unsigned long x = 0;
            int okn = v->kind == DP_CFG_SCALAR && v->len > 0 && v->len <= 5 && v->str[0] != '0';
            for (size_t k = 0; okn && k < v->len; k++) {
                okn = v->str[k] >= '0' && v->str[k] <= '9';
                x = x * 10 + (unsigned long)(v->str[k] - '0');
            }
            if (!okn || x < 1 || x > ninst)
                return perr(c, v, p2, "bad index '%s': container %s has instances 1..%zu",
                            v->kind == DP_CFG_SCALAR ? v->str : dp_cfgtree_kind_name(v), ct->id, ninst);
            a->index = (unsigned)x;
        }
    }
    return 0;
}

int dp_fleet_parse(const char *text, size_t len, const char *filename, dp_fleet_t **out, char *errbuf,
                   size_t errlen)
{
    static const char *const keys[] = {"defaults", "nodes", "projects", "containers", "aliases", NULL};
    dp_cfgnode_t *root = NULL;
    const dp_cfgnode_t *seq;
    pctx_t c = {.file = filename ? filename : "<input>", .errbuf = errbuf, .errlen = errlen};
    *out = NULL;
    int rc = dp_cfgtree_parse(text, len, c.file, &root, errbuf, errlen);
    if (rc)
        return rc;
    c.f = dp_stub_xcalloc(1, sizeof *c.f);
    c.f->default_ports[0] = DP_FLEET_PORT_TERMINAL;
    c.f->default_ports[1] = DP_FLEET_PORT_DISPLAY;
    c.f->default_ports[2] = DP_FLEET_PORT_SQLITE;
    dp_fleet__hc_defaults(&c.f->default_hc);
    c.f->hds_report_ms = DP_FLEET_HC_REPORT_MS;
    if (dp_cfgtree_is_null(root)) {
        rc = perr(&c, root, "fleet", "empty file");
        goto fail;
    }
    if ((rc = dp_fleet__want_map(&c, root, "fleet")) || (rc = dp_fleet__check_keys(&c, root, "fleet", keys)))
        goto fail;
    if ((rc = parse_defaults(&c, root)))
        goto fail;
    /* Order matters: containers refer to nodes and projects, aliases to
     * containers (and custom domains are checked against base domains). */
    if ((rc = get_seq(&c, root, "nodes", &seq)) || (seq && (rc = parse_nodes(&c, seq))))
        goto fail;
    if ((rc = get_seq(&c, root, "projects", &seq)) || (seq && (rc = parse_projects(&c, seq))))
        goto fail;
    if ((rc = get_seq(&c, root, "containers", &seq)) || (seq && (rc = parse_containers(&c, seq))))
        goto fail;
    if ((rc = get_seq(&c, root, "aliases", &seq)) || (seq && (rc = parse_aliases(&c, seq))))
        goto fail;
    rc = 0;
    *out = c.f;
    c.f = NULL;
fail:
    dp_stub_index_free(&c.ids);
    dp_stub_index_free(&c.aliases);
    dp_stub_index_free(&c.domains);
    dp_stub_index_free(&c.machines);
    dp_stub_index_free(&c.pods);
    dp_cfgtree_free(root);
    dp_fleet_free(c.f);
    return rc;
}

int dp_fleet_load(const char *path, dp_fleet_t **out, char *errbuf, size_t errlen)
{
    size_t len = 0;
    char *text = dp_stub_read_file(path, &len);
    *out = NULL;
    if (text == NULL) {
        snprintf(errbuf, errlen, "%s: cannot read: %s", path, strerror(errno));
        return DP_ERR;
    }
    int rc = dp_fleet_parse(text, len, path, out, errbuf, errlen);
    free(text);
    return rc;
}

void dp_fleet_free(dp_fleet_t *f)
{
    if (f == NULL)
        return;
    for (size_t i = 0; i < f->nnodes; i++) {
        free(f->nodes[i].name);
        free(f->nodes[i].base_domain);
        free(f->nodes[i].csds);
        for (size_t j = 0; j < f->nodes[i].nlisteners; j++)
            free(f->nodes[i].listeners[j].address);
        free(f->nodes[i].listeners);
        dp_fleet__certs_free(&f->nodes[i]);
    }
    for (size_t i = 0; i < f->nprojects; i++) {
        free(f->projects[i].alias);
        dp_fleet__perms_free(&f->projects[i].perms);
    }
    for (size_t i = 0; i < f->ncontainers; i++) {
        dp_fleet_container_t *ct = &f->containers[i];
        for (size_t j = 0; j < ct->nservices; j++) {
            free(ct->services[j].name);
            dp_fleet__hc_free(&ct->services[j].hc);
        }
        free(ct->services);
        for (size_t j = 0; j < ct->naddresses; j++)
            free(ct->addresses[j]);
        free(ct->addresses);
        free(ct->machine);
        free(ct->pod_slug);
        dp_fleet__perms_free(&ct->perms);
    }
    for (size_t i = 0; i < f->naliases; i++) {
        free(f->aliases[i].name);
        free(f->aliases[i].domain);
    }
    dp_fleet__hc_free(&f->default_hc);
    free(f->nodes);
    free(f->projects);
    free(f->containers);
    free(f->aliases);
    free(f);
}

long dp_fleet_find_node(const dp_fleet_t *f, const char *name)
{
    for (size_t i = 0; i < f->nnodes; i++)
        if (strcmp(f->nodes[i].name, name) == 0)
            return (long)i;
    return -1;
}
