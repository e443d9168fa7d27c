/* A node's certificates in the fleet file:
 *
 *   certificates:
 *     - cert_file: certs/wildcard.pem      # chain, PEM
 *       key_file: certs/wildcard.key       # PEM
 *       server_names: ["*.node-us.containers.example.test"]   # optional
 *
 * Without server_names a certificate serves the node's container names
 * ("*.<node>.<base>") and aliases ("*.<base>"); a custom domain's
 * certificate names it. Two certificates may not claim the same name: the
 * data plane's filter chains would be ambiguous. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "control-stub/fleet_int.h"
#include "dataplane/core/common.h"

#define perr dp_fleet__err

static int is_server_name(const char *s)
{
    if (s[0] == '*' && s[1] == '.')
        s += 2;
    return dp_fleet__is_domain(s);
}

static int has_pem(const char *text, const char *label)
{
    char begin[64];
    snprintf(begin, sizeof begin, "-----BEGIN %s", label);
    return strstr(text, begin) != NULL;
}

static int parse_cert(dp_fleet_pctx_t *c, const dp_cfgnode_t *m, const char *path, dp_fleet_node_t *n)
{
    static const char *const keys[] = {"cert_file", "key_file", "server_names", NULL};
    dp_fleet_cert_t *ct = &n->certs[n->ncerts];
    const dp_cfgnode_t *v;
    const char *s;
    char p[192];
    int rc;
    if ((rc = dp_fleet__want_map(c, m, path)) || (rc = dp_fleet__check_keys(c, m, path, keys)))
        return rc;
    n->ncerts++;
    if ((rc = dp_fleet__get_str(c, m, "cert_file", path, 0, &v, &s)))
        return rc;
    snprintf(p, sizeof p, "%s.cert_file", path);
    if ((ct->cert_pem = dp_fleet__read_rel(c, v, p, s)) == NULL)
        return DP_EINVAL;
    if (!has_pem(ct->cert_pem, "CERTIFICATE"))
        return perr(c, v, p, "'%s' holds no PEM certificate", s);
    if ((rc = dp_fleet__get_str(c, m, "key_file", path, 0, &v, &s)))
        return rc;
    snprintf(p, sizeof p, "%s.key_file", path);
    if ((ct->key_pem = dp_fleet__read_rel(c, v, p, s)) == NULL)
        return DP_EINVAL;
    if (!has_pem(ct->key_pem, "PRIVATE KEY") && !has_pem(ct->key_pem, "RSA PRIVATE KEY") &&
        !has_pem(ct->key_pem, "EC PRIVATE KEY"))
        return perr(c, v, p, "'%s' holds no PEM private key", s);

    const dp_cfgnode_t *sn = dp_cfgtree_get(m, "server_names");
    snprintf(p, sizeof p, "%s.server_names", path);
    if (sn == NULL || dp_cfgtree_is_null(sn)) {
        ct->server_names = dp_stub_xcalloc(2, sizeof(char *));
        size_t l1 = strlen(n->name) + strlen(n->base_domain) + 4, l2 = strlen(n->base_domain) + 3;
        ct->server_names[0] = dp_stub_xcalloc(1, l1);
        snprintf(ct->server_names[0], l1, "*.%s.%s", n->name, n->base_domain);
        ct->server_names[1] = dp_stub_xcalloc(1, l2);
        snprintf(ct->server_names[1], l2, "*.%s", n->base_domain);
        ct->nserver_names = 2;
        return 0;
    }
    if (sn->kind != DP_CFG_SEQ || sn->n == 0)
        return perr(c, sn, p, "expected a non-empty list of names");
    ct->server_names = dp_stub_xcalloc(sn->n, sizeof(char *));
    for (size_t i = 0; i < sn->n; i++) {
        const dp_cfgnode_t *e = sn->items[i];
        char p2[224];
        snprintf(p2, sizeof p2, "%s[%zu]", p, i);
        if (e->kind != DP_CFG_SCALAR || !is_server_name(e->str))
            return perr(c, e, p2, "bad server name '%s': a domain or *.domain", e->kind == DP_CFG_SCALAR ? e->str : "");
        ct->server_names[ct->nserver_names++] = dp_stub_xstrdup(e->str);
    }
    return 0;
}

int dp_fleet__parse_certs(dp_fleet_pctx_t *c, const dp_cfgnode_t *node, const char *path, dp_fleet_node_t *n)
{
    const dp_cfgnode_t *seq = dp_cfgtree_get(node, "certificates");
    char p[128];
    int rc;
    snprintf(p, sizeof p, "%s.certificates", path);
    if (seq != NULL && !dp_cfgtree_is_null(seq)) {
        if (seq->kind != DP_CFG_SEQ || seq->n == 0)
            return perr(c, seq, p, "expected a non-empty list of {cert_file, key_file, server_names}");
        n->certs = dp_stub_xcalloc(seq->n, sizeof *n->certs);
        for (size_t i = 0; i < seq->n; i++) {
            char p2[160];
            snprintf(p2, sizeof p2, "%s[%zu]", p, i);
            if ((rc = parse_cert(c, seq->items[i], p2, n)))
                return rc;
            /* a name claimed twice would make two filter chains match alike */
            const dp_fleet_cert_t *ct = &n->certs[n->ncerts - 1];
            for (size_t k = 0; k + 1 < n->ncerts; k++)
                for (size_t a = 0; a < n->certs[k].nserver_names; a++)
                    for (size_t b = 0; b < ct->nserver_names; b++)
                        if (strcasecmp(n->certs[k].server_names[a], ct->server_names[b]) == 0)
                            return perr(c, seq->items[i], p2, "server name '%s' is already served by certificates[%zu]",
                                        ct->server_names[b], k);
        }
    }
    for (size_t i = 0; i < n->nlisteners; i++)
        if (n->listeners[i].tls && n->ncerts == 0)
            return perr(c, node, p, "missing: listener %s port %u has tls: true", n->listeners[i].address,
                        n->listeners[i].port);
    return 0;
}

void dp_fleet__certs_free(dp_fleet_node_t *n)
{
    for (size_t i = 0; i < n->ncerts; i++) {
        free(n->certs[i].cert_pem);
        free(n->certs[i].key_pem);
        for (size_t k = 0; k < n->certs[i].nserver_names; k++)
            free(n->certs[i].server_names[k]);
        free(n->certs[i].server_names);
    }
    free(n->certs);
    n->certs = NULL;
    n->ncerts = 0;
}
