/* `permissions:` of projects and containers (fleet.h, README.md): a
 * default, forward_credentials and groups of type jwt | password | ip |
 * token, each granting services. Everything the data plane would refuse
 * (docs/permissions.md) is refused here with its position, so that a
 * fleet that parses is never NACKed: keys, htpasswd text and CIDRs are
 * checked by the data plane's own engines (filters/auth/). Plain tokens (`tokens:`) are hashed
 * with SHA-256 as they are read and never kept, so they never leave the
 * stub (nor appear in an error message). */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control-stub/fleet_int.h"
#include "control-stub/stub_util.h"
#include "dataplane/core/common.h"
#include "filters/auth/cidr.h"
#include "filters/auth/htpasswd.h"
#include "filters/auth/jwks.h"

/* Field paths of error messages nest into fixed buffers; a path that does
 * not fit is cut, which only shortens an error text. GCC cannot prove the
 * nesting fits and warns at -O2; the truncation is intended. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

typedef dp_fleet_pctx_t pctx_t;
#define perr dp_fleet__err

static const char *const type_names[] = {"jwt", "password", "ip", "token"};

/* Strings of `key`: a list of non-empty strings, or (with `scalar_ok`) one
 * string. Absent: *n = 0. Appends to *arr. */
static int get_strs(pctx_t *c, const dp_cfgnode_t *map, const char *key, const char *path, int scalar_ok,
                    char ***arr, size_t *n)
{
    const dp_cfgnode_t *v = dp_cfgtree_get(map, key);
    char p[256];
    snprintf(p, sizeof p, "%s.%s", path, key);
    if (v == NULL || dp_cfgtree_is_null(v))
        return 0;
    if (v->kind == DP_CFG_SCALAR && scalar_ok) {
        if (v->len == 0 || strlen(v->str) != v->len)
            return perr(c, v, p, "must be a non-empty string");
        *arr = dp_stub_xrealloc(*arr, (*n + 1) * sizeof **arr);
        (*arr)[(*n)++] = dp_stub_xstrdup(v->str);
        return 0;
    }
    if (v->kind != DP_CFG_SEQ)
        return perr(c, v, p, "expected a list of strings, got %s", dp_cfgtree_kind_name(v));
    *arr = dp_stub_xrealloc(*arr, (*n + v->n + 1) * sizeof **arr);
    for (size_t i = 0; i < v->n; i++) {
        const dp_cfgnode_t *it = v->items[i];
        if (it->kind != DP_CFG_SCALAR || it->len == 0 || strlen(it->str) != it->len) {
            char p2[280];
            snprintf(p2, sizeof p2, "%s[%zu]", p, i);
            return perr(c, it, p2, "must be a non-empty string");
        }
        (*arr)[(*n)++] = dp_stub_xstrdup(it->str);
    }
    return 0;
}

static void free_strs(char **arr, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(arr[i]);
    free(arr);
}

/* Exactly one of `key` (inline text) and `key`_file (read, relative to
 * the fleet file). *text is malloc'd; *at is the node to blame. */
static int inline_or_file(pctx_t *c, const dp_cfgnode_t *g, const char *key, const char *path,
                          const dp_cfgnode_t **at, char **text)
{
    char fkey[32], p[256];
    const dp_cfgnode_t *iv, *fv;
    const char *is, *fs;
    int rc;
    snprintf(fkey, sizeof fkey, "%s_file", key);
    if ((rc = dp_fleet__get_str(c, g, fkey, path, 1, &fv, &fs)))
        return rc;
    iv = dp_cfgtree_get(g, key);
    if (iv && dp_cfgtree_is_null(iv))
        iv = NULL;
    if (iv && fs)
        return perr(c, fv, path, "give %s or %s, not both", key, fkey);
    if (fs) {
        snprintf(p, sizeof p, "%s.%s", path, fkey);
        *at = fv;
        return (*text = dp_fleet__read_rel(c, fv, p, fs)) ? 0 : DP_EINVAL;
    }
    if (iv == NULL)
        return perr(c, g, path, "%s or %s required", key, fkey);
    *at = iv;
    if (iv->kind == DP_CFG_SEQ && strcmp(key, "htpasswd") == 0) {
        /* htpasswd as a list of lines */
        size_t len = 1;
        for (size_t i = 0; i < iv->n; i++) {
            snprintf(p, sizeof p, "%s.%s[%zu]", path, key, i);
            if (iv->items[i]->kind != DP_CFG_SCALAR)
                return perr(c, iv->items[i], p, "expected a line user:hash");
            len += iv->items[i]->len + 1;
        }
        *text = dp_stub_xmalloc(len);
        (*text)[0] = '\0';
        for (size_t i = 0; i < iv->n; i++) {
            strcat(*text, iv->items[i]->str);
            strcat(*text, "\n");
        }
        return 0;
    }
    if ((rc = dp_fleet__get_str(c, g, key, path, 0, NULL, &is)))
        return rc;
    *text = dp_stub_xstrdup(is);
    return 0;
}

/* A JWKS or a PEM public key, checked by the data plane's own key parser
 * (filters/auth/jwks.h), so a fleet that parses is not NACKed for it. */
static int check_jwks(pctx_t *c, const dp_cfgnode_t *at, const char *path, const char *text)
{
    char msg[256] = "";
    dp_jwks_t *k = dp_jwks_parse(text, strlen(text), msg, sizeof msg);
    if (k == NULL)
        return perr(c, at, path, "expected a JWKS (JSON) or a PEM public key: %s", msg);
    dp_jwks_unref(k);
    return 0;
}

/* htpasswd text: CRs and trailing blanks at line ends and blank lines
 * dropped (block scalars and files edited elsewhere carry them), then
 * checked by the data plane's own parser (filters/auth/htpasswd.h: hash
 * schemes, unique users). Rewrites *text normalized. */
static int check_htpasswd(pctx_t *c, const dp_cfgnode_t *at, const char *path, char **text)
{
    char *out = dp_stub_xmalloc(strlen(*text) + 2), *o = out, msg[512] = "";
    for (char *line = *text; line != NULL && *line != '\0';) {
        char *nl = strchr(line, '\n');
        size_t l = nl ? (size_t)(nl - line) : strlen(line);
        while (l > 0 && (line[l - 1] == '\r' || line[l - 1] == ' ' || line[l - 1] == '\t'))
            l--;
        if (l > 0) {
            memcpy(o, line, l);
            o += l;
            *o++ = '\n';
        }
        line = nl ? nl + 1 : NULL;
    }
    *o = '\0';
    free(*text);
    *text = out;
    dp_htpasswd_t *t = NULL;
    if (dp_htpasswd_parse(out, strlen(out), &t, msg, sizeof msg) != 0)
        return perr(c, at, path, "%s", msg);
    size_t users = dp_htpasswd_count(t);
    dp_htpasswd_free(t);
    if (users == 0)
        return perr(c, at, path, "no user");
    return 0;
}

static void sha256_hex(const char *s, char out[DP_FLEET_SHA256_HEX + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL) != 1 || n != 32) {
        fputs("control-stub: SHA-256 failed\n", stderr);
        abort();
    }
    for (unsigned i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* token: sha256 (hex, lower-cased here) and/or tokens (hashed here). */
static int parse_token(pctx_t *c, const dp_cfgnode_t *g, const char *path, dp_fleet_group_t *gr)
{
    char p[256];
    int rc = get_strs(c, g, "sha256", path, 0, &gr->list, &gr->nlist);
    if (rc)
        return rc;
    for (size_t i = 0; i < gr->nlist; i++) {
        char *h = gr->list[i];
        size_t ok = strlen(h) == DP_FLEET_SHA256_HEX;
        for (size_t k = 0; ok && h[k]; k++) {
            if (h[k] >= 'A' && h[k] <= 'F')
                h[k] = (char)(h[k] - 'A' + 'a');
            ok = (h[k] >= '0' && h[k] <= '9') || (h[k] >= 'a' && h[k] <= 'f');
        }
        if (!ok) {
            snprintf(p, sizeof p, "%s.sha256[%zu]", path, i);
            return perr(c, dp_cfgtree_get(g, "sha256")->items[i], p, "expected 64 hex digits (a SHA-256)");
        }
    }
    const dp_cfgnode_t *tv = dp_cfgtree_get(g, "tokens");
    snprintf(p, sizeof p, "%s.tokens", path);
    if (tv && !dp_cfgtree_is_null(tv)) {
        if (tv->kind != DP_CFG_SEQ)
            return perr(c, tv, p, "expected a list of tokens");
        gr->list = dp_stub_xrealloc(gr->list, (gr->nlist + tv->n + 1) * sizeof *gr->list);
        for (size_t i = 0; i < tv->n; i++) {
            const dp_cfgnode_t *it = tv->items[i];
            char p2[280];
            snprintf(p2, sizeof p2, "%s[%zu]", p, i);
            /* never echo a token */
            if (it->kind != DP_CFG_SCALAR || it->len == 0 || strlen(it->str) != it->len)
                return perr(c, it, p2, "expected a non-empty token");
            gr->list[gr->nlist] = dp_stub_xmalloc(DP_FLEET_SHA256_HEX + 1);
            sha256_hex(it->str, gr->list[gr->nlist++]);
        }
    }
    if (gr->nlist == 0)
        return perr(c, g, path, "a token group needs sha256 or tokens");
    return 0;
}

static int parse_jwt(pctx_t *c, const dp_cfgnode_t *g, const char *path, dp_fleet_group_t *gr)
{
    const dp_cfgnode_t *at = NULL;
    const char *s;
    char p[256];
    int rc;
    if ((rc = dp_fleet__get_str(c, g, "issuer", path, 1, NULL, &s)))
        return rc;
    gr->issuer = s ? dp_stub_xstrdup(s) : NULL;
    if ((rc = get_strs(c, g, "audiences", path, 1, &gr->audiences, &gr->naudiences)))
        return rc;
    if ((rc = inline_or_file(c, g, "jwks", path, &at, &gr->jwks)))
        return rc;
    snprintf(p, sizeof p, "%s.%s", path, dp_cfgtree_get(g, "jwks_file") ? "jwks_file" : "jwks");
    if ((rc = check_jwks(c, at, p, gr->jwks)))
        return rc;
    const dp_cfgnode_t *cl = dp_cfgtree_get(g, "claims");
    snprintf(p, sizeof p, "%s.claims", path);
    if (cl == NULL || dp_cfgtree_is_null(cl))
        return 0;
    if (cl->kind != DP_CFG_MAP)
        return perr(c, cl, p, "expected a map claim: [values]");
    gr->claims = dp_stub_xcalloc(cl->n, sizeof *gr->claims);
    for (size_t i = 0; i < cl->n; i++) {
        dp_fleet_claim_t *cr = &gr->claims[gr->nclaims++];
        cr->name = dp_stub_xstrdup(cl->pairs[i].key->str);
        if (cr->name[0] == '\0')
            return perr(c, cl->pairs[i].key, p, "empty claim name");
        if ((rc = get_strs(c, cl, cr->name, p, 1, &cr->values, &cr->nvalues)))
            return rc;
        if (cr->nvalues == 0) {
            char p2[320];
            snprintf(p2, sizeof p2, "%s.%s", p, cr->name);
            return perr(c, cl->pairs[i].value, p2, "at least one value required");
        }
    }
    return 0;
}

/* services: [{service, access: full|read-only}] or plain names (full). */
static int parse_grants(pctx_t *c, const dp_cfgnode_t *g, const char *path, dp_fleet_group_t *gr)
{
    static const char *const keys[] = {"service", "access", NULL};
    const dp_cfgnode_t *sv = dp_cfgtree_get(g, "services");
    char p[256];
    int rc;
    snprintf(p, sizeof p, "%s.services", path);
    if (sv == NULL || dp_cfgtree_is_null(sv))
        return 0;
    if (sv->kind != DP_CFG_SEQ)
        return perr(c, sv, p, "expected a list of {service, access}");
    gr->grants = dp_stub_xcalloc(sv->n ? sv->n : 1, sizeof *gr->grants);
    for (size_t i = 0; i < sv->n; i++) {
        const dp_cfgnode_t *it = sv->items[i], *v = it;
        const char *name = it->kind == DP_CFG_SCALAR ? it->str : NULL, *acc = NULL;
        char p2[280];
        snprintf(p2, sizeof p2, "%s[%zu]", p, i);
        if (name == NULL) {
            if ((rc = dp_fleet__want_map(c, it, p2)) || (rc = dp_fleet__check_keys(c, it, p2, keys)) ||
                (rc = dp_fleet__get_str(c, it, "service", p2, 0, &v, &name)) ||
                (rc = dp_fleet__get_str(c, it, "access", p2, 1, NULL, &acc)))
                return rc;
        }
        if (strcmp(name, "*") != 0 && !dp_fleet__is_label(name))
            return perr(c, v, p2, "bad service '%s': expected a service name or \"*\"", name);
        dp_fleet_grant_t *gt = &gr->grants[gr->ngrants++];
        gt->service = dp_stub_xstrdup(name);
        if (acc && strcmp(acc, "read-only") == 0)
            gt->read_only = 1;
        else if (acc && strcmp(acc, "full") != 0)
            return perr(c, dp_cfgtree_get(it, "access"), p2, "bad access '%s': expected full or read-only",
                        acc);
    }
    return 0;
}

static int parse_group(pctx_t *c, const dp_cfgnode_t *g, const char *path, dp_fleet_perms_t *pm)
{
    /* keys of every type, then the type's own */
    static const char *const tkeys[4][9] = {
        {"name", "type", "services", "issuer", "audiences", "jwks", "jwks_file", "claims", NULL},
        {"name", "type", "services", "htpasswd", "htpasswd_file", NULL},
        {"name", "type", "services", "cidrs", NULL},
        {"name", "type", "services", "sha256", "tokens", NULL},
    };
    const dp_cfgnode_t *v;
    const char *s;
    char p[256];
    int rc;
    if ((rc = dp_fleet__want_map(c, g, path)))
        return rc;
    dp_fleet_group_t *gr = &pm->groups[pm->ngroups];
    if ((rc = dp_fleet__get_str(c, g, "name", path, 0, &v, &s)))
        return rc;
    snprintf(p, sizeof p, "%s.name", path);
    for (size_t j = 0; j < pm->ngroups; j++)
        if (strcmp(pm->groups[j].name, s) == 0)
            return perr(c, v, p, "duplicate group '%s'", s);
    gr->name = dp_stub_xstrdup(s);
    pm->ngroups++;
    if ((rc = dp_fleet__get_str(c, g, "type", path, 0, &v, &s)))
        return rc;
    int t = -1;
    for (int k = 0; k < 4; k++)
        if (strcmp(s, type_names[k]) == 0)
            t = k;
    snprintf(p, sizeof p, "%s.type", path);
    if (t < 0)
        return perr(c, v, p, "bad type '%s': expected jwt, password, ip or token", s);
    gr->type = (dp_fleet_gtype_t)t;
    if ((rc = dp_fleet__check_keys(c, g, path, tkeys[t])))
        return rc;
    switch (gr->type) {
    case DP_FLEET_G_JWT:
        rc = parse_jwt(c, g, path, gr);
        break;
    case DP_FLEET_G_PASSWORD: {
        const dp_cfgnode_t *at = NULL;
        rc = inline_or_file(c, g, "htpasswd", path, &at, &gr->htpasswd);
        snprintf(p, sizeof p, "%s.%s", path,
                 dp_cfgtree_get(g, "htpasswd_file") ? "htpasswd_file" : "htpasswd");
        if (rc == 0)
            rc = check_htpasswd(c, at, p, &gr->htpasswd);
        break;
    }
    case DP_FLEET_G_IP:
        rc = get_strs(c, g, "cidrs", path, 0, &gr->list, &gr->nlist);
        if (rc == 0 && gr->nlist == 0)
            rc = perr(c, g, path, "an ip group needs cidrs");
        for (size_t i = 0; rc == 0 && i < gr->nlist; i++) {
            dp_cidr_t cidr;
            const char *why = NULL;
            if (dp_cidr_parse(gr->list[i], &cidr, &why) != 0) {
                snprintf(p, sizeof p, "%s.cidrs[%zu]", path, i);
                rc = perr(c, dp_cfgtree_get(g, "cidrs")->items[i], p, "bad CIDR '%s': %s", gr->list[i],
                          why ? why : "invalid");
            }
        }
        break;
    case DP_FLEET_G_TOKEN:
        rc = parse_token(c, g, path, gr);
        break;
    }
    if (rc == 0)
        rc = parse_grants(c, g, path, gr);
    return rc;
}

int dp_fleet__parse_perms(pctx_t *c, const dp_cfgnode_t *v, const char *path, dp_fleet_perms_t *out)
{
    static const char *const keys[] = {"default", "forward_credentials", "groups", NULL};
    const dp_cfgnode_t *d, *gs;
    const char *s;
    char p[256];
    int rc;
    memset(out, 0, sizeof *out);
    if (v == NULL || dp_cfgtree_is_null(v))
        return 0;
    if ((rc = dp_fleet__want_map(c, v, path)) || (rc = dp_fleet__check_keys(c, v, path, keys)))
        return rc;
    out->set = 1;
    if ((rc = dp_fleet__get_str(c, v, "default", path, 1, &d, &s)))
        return rc;
    snprintf(p, sizeof p, "%s.default", path);
    if (s && strcmp(s, "allow") == 0)
        out->default_allow = 1;
    else if (s && strcmp(s, "deny") != 0)
        return perr(c, d, p, "bad default '%s': expected allow or deny", s);
    if ((rc = dp_fleet__get_bool(c, v, "forward_credentials", path, &out->forward_credentials)))
        return rc;
    gs = dp_cfgtree_get(v, "groups");
    snprintf(p, sizeof p, "%s.groups", path);
    if (gs == NULL || dp_cfgtree_is_null(gs))
        return 0;
    if (gs->kind != DP_CFG_SEQ)
        return perr(c, gs, p, "expected a list of groups");
    out->groups = dp_stub_xcalloc(gs->n ? gs->n : 1, sizeof *out->groups);
    for (size_t i = 0; i < gs->n; i++) {
        char p2[280];
        snprintf(p2, sizeof p2, "%s[%zu]", p, i);
        if ((rc = parse_group(c, gs->items[i], p2, out)))
            return rc;
    }
    return 0;
}

void dp_fleet__perms_free(dp_fleet_perms_t *p)
{
    for (size_t i = 0; i < p->ngroups; i++) {
        dp_fleet_group_t *g = &p->groups[i];
        free(g->name);
        free(g->issuer);
        free_strs(g->audiences, g->naudiences);
        free(g->jwks);
        for (size_t k = 0; k < g->nclaims; k++) {
            free(g->claims[k].name);
            free_strs(g->claims[k].values, g->claims[k].nvalues);
        }
        free(g->claims);
        free(g->htpasswd);
        free_strs(g->list, g->nlist);
        for (size_t k = 0; k < g->ngrants; k++)
            free(g->grants[k].service);
        free(g->grants);
    }
    free(p->groups);
    memset(p, 0, sizeof *p);
}
