/* Fleet file parser: YAML (through xds/cfgtree.h, which keeps positions)
 * into the resolved model of fleet.h. Checks everything the translation
 * relies on, so that a fleet that parses always translates: ids, DNS
 * labels, ports, references and uniqueness. The control stub is a tool,
 * not a reusable decoder: allocation failure aborts (dp_stub_xalloc). */
#include "control-stub/fleet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "control-stub/stub_util.h"
#include "dataplane/core/common.h"
#include "xds/cfgtree.h"

typedef struct pctx {
    const char *file;
    char *errbuf;
    size_t errlen;
    dp_fleet_t *f;
    unsigned defport[3]; /* terminal, display, sqlite */
} pctx_t;

/* "FILE:LINE:COL: PATH: reason" at node `n`. Always returns DP_EINVAL. */
__attribute__((format(printf, 4, 5))) static int perr(pctx_t *c, const dp_cfgnode_t *n, const char *path,
                                                      const char *fmt, ...)
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

/* Keys allowed in a map; anything else is an error naming the key. */
static int check_keys(pctx_t *c, const dp_cfgnode_t *map, const char *path, const char *const *allowed)
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

static int want_map(pctx_t *c, const dp_cfgnode_t *n, const char *path)
{
    if (n == NULL || n->kind != DP_CFG_MAP)
        return perr(c, n, path, "expected a map, got %s", n ? dp_cfgtree_kind_name(n) : "nothing");
    return 0;
}

/* A required (or, with `optional`, possibly absent: *out = NULL) scalar
 * string field of `map`. */
static int get_str(pctx_t *c, const dp_cfgnode_t *map, const char *key, const char *path, int optional,
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

/* Lower-case DNS label: [a-z0-9-], 1..63, no leading/trailing '-'. */
static int is_label(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return 0;
    return 1;
}

static int is_domain(const char *s)
{
    char buf[256];
    if (strlen(s) >= sizeof buf)
        return 0;
    strcpy(buf, s);
    char *save = NULL;
    int labels = 0;
    if (s[0] == '.' || s[strlen(s) - 1] == '.' || strstr(s, ".."))
        return 0;
    for (char *t = strtok_r(buf, ".", &save); t != NULL; t = strtok_r(NULL, ".", &save)) {
        if (!is_label(t))
            return 0;
        labels++;
    }
    return labels > 0;
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
    int rc = get_str(c, map, "id", path, 0, &v, &s);
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
    static const char *const keys[] = {"ports", NULL};
    static const char *const pkeys[] = {"terminal", "display", "sqlite", NULL};
    const dp_cfgnode_t *d = dp_cfgtree_get(root, "defaults");
    if (d == NULL || dp_cfgtree_is_null(d))
        return 0;
    int rc = want_map(c, d, "defaults");
    if (rc == 0)
        rc = check_keys(c, d, "defaults", keys);
    if (rc)
        return rc;
    const dp_cfgnode_t *p = dp_cfgtree_get(d, "ports");
    if (p == NULL || dp_cfgtree_is_null(p))
        return 0;
    if ((rc = want_map(c, p, "defaults.ports")) || (rc = check_keys(c, p, "defaults.ports", pkeys)))
        return rc;
    for (int i = 0; i < 3; i++) {
        const dp_cfgnode_t *v = dp_cfgtree_get(p, pkeys[i]);
        char path[64];
        snprintf(path, sizeof path, "defaults.ports.%s", pkeys[i]);
        if (v && (rc = parse_port(c, v, path, &c->defport[i])))
            return rc;
    }
    return 0;
}

static int parse_nodes(pctx_t *c, const dp_cfgnode_t *seq)
{
    static const char *const keys[] = {"name", "base_domain", "listener", NULL};
    static const char *const lkeys[] = {"address", "port", NULL};
    dp_fleet_t *f = c->f;
    f->nodes = dp_stub_xcalloc(seq->n ? seq->n : 1, sizeof *f->nodes);
    for (size_t i = 0; i < seq->n; i++) {
        const dp_cfgnode_t *m = seq->items[i], *v;
        const char *s;
        char path[64], p2[96];
        int rc;
        snprintf(path, sizeof path, "nodes[%zu]", i);
        if ((rc = want_map(c, m, path)) || (rc = check_keys(c, m, path, keys)))
            return rc;
        dp_fleet_node_t *n = &f->nodes[f->nnodes];
        if ((rc = get_str(c, m, "name", path, 0, &v, &s)))
            return rc;
        snprintf(p2, sizeof p2, "%s.name", path);
        if (!is_label(s))
            return perr(c, v, p2, "bad node name '%s': expected a DNS label [a-z0-9-]", s);
        for (size_t j = 0; j < f->nnodes; j++)
            if (strcmp(f->nodes[j].name, s) == 0)
                return perr(c, v, p2, "duplicate node name '%s'", s);
        n->name = dp_stub_xstrdup(s);
        f->nnodes++;
        if ((rc = get_str(c, m, "base_domain", path, 0, &v, &s)))
            return rc;
        snprintf(p2, sizeof p2, "%s.base_domain", path);
        if (!is_domain(s))
            return perr(c, v, p2, "bad domain '%s'", s);
        n->base_domain = dp_stub_xstrdup(s);
        const dp_cfgnode_t *l = dp_cfgtree_get(m, "listener");
        snprintf(p2, sizeof p2, "%s.listener", path);
        if (l == NULL)
            return perr(c, m, p2, "missing");
        if ((rc = want_map(c, l, p2)) || (rc = check_keys(c, l, p2, lkeys)))
            return rc;
        if ((rc = get_str(c, l, "address", p2, 0, &v, &s)))
            return rc;
        if (!is_ip(s)) {
            char p3[128];
            snprintf(p3, sizeof p3, "%s.address", p2);
            return perr(c, v, p3, "bad IP address '%s'", s);
        }
        n->listen_addr = dp_stub_xstrdup(s);
        const dp_cfgnode_t *pv = dp_cfgtree_get(l, "port");
        char p3[128];
        snprintf(p3, sizeof p3, "%s.port", p2);
        if (pv == NULL)
            return perr(c, l, p3, "missing");
        if ((rc = parse_port(c, pv, p3, &n->listen_port)))
            return rc;
    }
    return 0;
}

static int parse_projects(pctx_t *c, const dp_cfgnode_t *seq)
{
    /* permissions: enforced by issue 5; accepted and not translated yet */
    static const char *const keys[] = {"id", "alias", "permissions", NULL};
    dp_fleet_t *f = c->f;
    f->projects = dp_stub_xcalloc(seq->n ? seq->n : 1, sizeof *f->projects);
    for (size_t i = 0; i < seq->n; i++) {
        const dp_cfgnode_t *m = seq->items[i], *v;
        const char *s;
        char path[64], p2[96];
        int rc;
        snprintf(path, sizeof path, "projects[%zu]", i);
        if ((rc = want_map(c, m, path)) || (rc = check_keys(c, m, path, keys)))
            return rc;
        dp_fleet_project_t *p = &f->projects[f->nprojects];
        if ((rc = parse_id(c, m, path, p->id)))
            return rc;
        for (size_t j = 0; j < f->nprojects; j++)
            if (strcmp(f->projects[j].id, p->id) == 0)
                return perr(c, dp_cfgtree_get(m, "id"), path, "duplicate project id '%s'", p->id);
        f->nprojects++;
        if ((rc = get_str(c, m, "alias", path, 1, &v, &s)))
            return rc;
        if (s) {
            snprintf(p2, sizeof p2, "%s.alias", path);
            if (!is_label(s))
                return perr(c, v, p2, "bad alias '%s': expected a DNS label [a-z0-9-]", s);
            for (size_t j = 0; j + 1 < f->nprojects; j++)
                if (f->projects[j].alias && strcmp(f->projects[j].alias, s) == 0)
                    return perr(c, v, p2, "duplicate project alias '%s'", s);
            p->alias = dp_stub_xstrdup(s);
        }
    }
    return 0;
}

/* Port of service `name` with no explicit port: the defaults, or the N of
 * http-N. 0 when there is none. */
static unsigned default_port(const pctx_t *c, const char *name)
{
    if (strcmp(name, "terminal") == 0)
        return c->defport[0];
    if (strcmp(name, "display") == 0)
        return c->defport[1];
    if (strcmp(name, "sqlite") == 0)
        return c->defport[2];
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

/* One service: `name` (key or list item) with an optional explicit port. */
static int add_service(pctx_t *c, dp_fleet_container_t *ct, const dp_cfgnode_t *name,
                       const dp_cfgnode_t *port, const char *path)
{
    int rc;
    if (name->kind != DP_CFG_SCALAR || !is_label(name->str))
        return perr(c, name, path, "bad service name '%s': expected [a-z0-9-]",
                    name->kind == DP_CFG_SCALAR ? name->str : dp_cfgtree_kind_name(name));
    for (size_t j = 0; j < ct->nservices; j++)
        if (strcmp(ct->services[j].name, name->str) == 0)
            return perr(c, name, path, "duplicate service '%s'", name->str);
    unsigned def = default_port(c, name->str), p = def;
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
    ct->services[ct->nservices].name = dp_stub_xstrdup(name->str);
    ct->services[ct->nservices].port = p;
    ct->nservices++;
    return 0;
}

static int parse_services(pctx_t *c, dp_fleet_container_t *ct, const dp_cfgnode_t *m, const char *path)
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
            if ((rc = add_service(c, ct, s->items[i], NULL, p2)))
                return rc;
        return 0;
    }
    if (s->kind == DP_CFG_MAP) {
        ct->services = dp_stub_xcalloc(s->n ? s->n : 1, sizeof *ct->services);
        for (size_t i = 0; i < s->n; i++)
            if ((rc = add_service(c, ct, s->pairs[i].key, s->pairs[i].value, p2)))
                return rc;
        return 0;
    }
    return perr(c, s, p2, "expected a list of service names or a map name: port");
}

static int parse_containers(pctx_t *c, const dp_cfgnode_t *seq)
{
    static const char *const keys[] = {"id", "project", "node", "state", "address", "services", NULL};
    dp_fleet_t *f = c->f;
    f->containers = dp_stub_xcalloc(seq->n ? seq->n : 1, sizeof *f->containers);
    for (size_t i = 0; i < seq->n; i++) {
        const dp_cfgnode_t *m = seq->items[i], *v;
        const char *s;
        char path[64], p2[96];
        int rc;
        snprintf(path, sizeof path, "containers[%zu]", i);
        if ((rc = want_map(c, m, path)) || (rc = check_keys(c, m, path, keys)))
            return rc;
        dp_fleet_container_t *ct = &f->containers[f->ncontainers];
        if ((rc = parse_id(c, m, path, ct->id)))
            return rc;
        for (size_t j = 0; j < f->ncontainers; j++)
            if (strcmp(f->containers[j].id, ct->id) == 0)
                return perr(c, dp_cfgtree_get(m, "id"), path, "duplicate container id '%s'", ct->id);
        f->ncontainers++;

        if ((rc = get_str(c, m, "project", path, 0, &v, &s)))
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

        if ((rc = get_str(c, m, "node", path, 0, &v, &s)))
            return rc;
        snprintf(p2, sizeof p2, "%s.node", path);
        long nd = dp_fleet_find_node(f, s);
        if (nd < 0)
            return perr(c, v, p2, "unknown node '%s'", s);
        ct->node = (size_t)nd;

        if ((rc = get_str(c, m, "state", path, 0, &v, &s)))
            return rc;
        snprintf(p2, sizeof p2, "%s.state", path);
        if (strcmp(s, "running") == 0)
            ct->running = 1;
        else if (strcmp(s, "stopped") == 0)
            ct->running = 0;
        else
            return perr(c, v, p2, "bad state '%s': expected running or stopped", s);

        if ((rc = get_str(c, m, "address", path, 0, &v, &s)))
            return rc;
        snprintf(p2, sizeof p2, "%s.address", path);
        if (!is_ip(s))
            return perr(c, v, p2, "bad IP address '%s'", s);
        ct->address = dp_stub_xstrdup(s);

        if ((rc = parse_services(c, ct, m, path)))
            return rc;
    }
    return 0;
}

static int parse_aliases(pctx_t *c, const dp_cfgnode_t *seq)
{
    static const char *const keys[] = {"name", "container", "service", "index", NULL};
    dp_fleet_t *f = c->f;
    f->aliases = dp_stub_xcalloc(seq->n ? seq->n : 1, sizeof *f->aliases);
    for (size_t i = 0; i < seq->n; i++) {
        const dp_cfgnode_t *m = seq->items[i], *v;
        const char *s;
        char path[64], p2[96];
        int rc;
        snprintf(path, sizeof path, "aliases[%zu]", i);
        if ((rc = want_map(c, m, path)) || (rc = check_keys(c, m, path, keys)))
            return rc;
        dp_fleet_alias_t *a = &f->aliases[f->naliases];
        if ((rc = get_str(c, m, "name", path, 0, &v, &s)))
            return rc;
        snprintf(p2, sizeof p2, "%s.name", path);
        if (!is_label(s))
            return perr(c, v, p2, "bad alias name '%s': expected a DNS label [a-z0-9-]", s);
        for (size_t j = 0; j < f->naliases; j++)
            if (strcmp(f->aliases[j].name, s) == 0)
                return perr(c, v, p2, "duplicate alias '%s'", s);
        a->name = dp_stub_xstrdup(s);
        f->naliases++;

        if ((rc = get_str(c, m, "container", path, 0, &v, &s)))
            return rc;
        snprintf(p2, sizeof p2, "%s.container", path);
        size_t ci = f->ncontainers;
        for (size_t j = 0; j < f->ncontainers; j++)
            if (strcasecmp(f->containers[j].id, s) == 0)
                ci = j;
        if (ci == f->ncontainers)
            return perr(c, v, p2, "unknown container '%s'", s);
        a->container = ci;

        const dp_fleet_container_t *ct = &f->containers[ci];
        if ((rc = get_str(c, m, "service", path, 0, &v, &s)))
            return rc;
        snprintf(p2, sizeof p2, "%s.service", path);
        size_t si = ct->nservices;
        for (size_t j = 0; j < ct->nservices; j++)
            if (strcmp(ct->services[j].name, s) == 0)
                si = j;
        if (si == ct->nservices)
            return perr(c, v, p2, "container %s has no service '%s'", ct->id, s);
        a->service = si;

        a->index = 1;
        v = dp_cfgtree_get(m, "index");
        snprintf(p2, sizeof p2, "%s.index", path);
        if (v && !dp_cfgtree_is_null(v)) {
            if (v->kind != DP_CFG_SCALAR || strcmp(v->str, "1") != 0)
                return perr(c, v, p2, "bad index '%s': each service has one instance, index 1",
                            v->kind == DP_CFG_SCALAR ? v->str : dp_cfgtree_kind_name(v));
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
    pctx_t c = {filename ? filename : "<input>",
                errbuf,
                errlen,
                NULL,
                {DP_FLEET_PORT_TERMINAL, DP_FLEET_PORT_DISPLAY, DP_FLEET_PORT_SQLITE}};
    *out = NULL;
    int rc = dp_cfgtree_parse(text, len, c.file, &root, errbuf, errlen);
    if (rc)
        return rc;
    c.f = dp_stub_xcalloc(1, sizeof *c.f);
    if (dp_cfgtree_is_null(root)) {
        rc = perr(&c, root, "fleet", "empty file");
        goto fail;
    }
    if ((rc = want_map(&c, root, "fleet")) || (rc = check_keys(&c, root, "fleet", keys)))
        goto fail;
    if ((rc = parse_defaults(&c, root)))
        goto fail;
    /* Order matters: containers refer to nodes and projects, aliases to
     * containers. */
    if ((rc = get_seq(&c, root, "nodes", &seq)) || (seq && (rc = parse_nodes(&c, seq))))
        goto fail;
    if ((rc = get_seq(&c, root, "projects", &seq)) || (seq && (rc = parse_projects(&c, seq))))
        goto fail;
    if ((rc = get_seq(&c, root, "containers", &seq)) || (seq && (rc = parse_containers(&c, seq))))
        goto fail;
    if ((rc = get_seq(&c, root, "aliases", &seq)) || (seq && (rc = parse_aliases(&c, seq))))
        goto fail;
    dp_cfgtree_free(root);
    *out = c.f;
    return 0;

fail:
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
        free(f->nodes[i].listen_addr);
    }
    for (size_t i = 0; i < f->nprojects; i++)
        free(f->projects[i].alias);
    for (size_t i = 0; i < f->ncontainers; i++) {
        for (size_t j = 0; j < f->containers[i].nservices; j++)
            free(f->containers[i].services[j].name);
        free(f->containers[i].services);
        free(f->containers[i].address);
    }
    for (size_t i = 0; i < f->naliases; i++)
        free(f->aliases[i].name);
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
