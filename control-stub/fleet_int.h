/* Internal to the fleet parser (fleet.c, fleet_perms.c): the parse
 * context and the checks both files use. Every function that fails
 * returns DP_EINVAL with "FILE:LINE:COL: PATH: reason" in c->errbuf. */
#ifndef DP_STUB_FLEET_INT_H
#define DP_STUB_FLEET_INT_H

#include <stddef.h>

#include "control-stub/fleet.h"
#include "control-stub/stub_util.h"
#include "xds/cfgtree.h"

typedef struct dp_fleet_pctx {
    const char *file;
    char *errbuf;
    size_t errlen;
    dp_fleet_t *f;
    /* O(1) uniqueness checks and lookups while parsing */
    dp_stub_index_t ids;     /* container id -> index */
    dp_stub_index_t aliases; /* alias name -> index */
    dp_stub_index_t domains; /* custom domain -> index */
    dp_stub_index_t machines, pods; /* machine name / pod slug -> container index */
} dp_fleet_pctx_t;

/* "FILE:LINE:COL: PATH: reason" at node `n`. Always returns DP_EINVAL. */
__attribute__((format(printf, 4, 5))) int dp_fleet__err(dp_fleet_pctx_t *c, const dp_cfgnode_t *n,
                                                        const char *path, const char *fmt, ...);

/* Keys allowed in a map (NULL-terminated); anything else is an error
 * naming the key. */
int dp_fleet__check_keys(dp_fleet_pctx_t *c, const dp_cfgnode_t *map, const char *path,
                         const char *const *allowed);

int dp_fleet__want_map(dp_fleet_pctx_t *c, const dp_cfgnode_t *n, const char *path);

/* A required (or, with `optional`, possibly absent: *out = NULL) scalar
 * string field `key` of `map`; *node (if not NULL) receives its node. */
int dp_fleet__get_str(dp_fleet_pctx_t *c, const dp_cfgnode_t *map, const char *key, const char *path,
                      int optional, const dp_cfgnode_t **node, const char **out);

/* Optional boolean `key` of `map` (true/false); absent leaves *out. */
int dp_fleet__get_bool(dp_fleet_pctx_t *c, const dp_cfgnode_t *map, const char *key, const char *path,
                       int *out);

/* Lower-case DNS label [a-z0-9-], 1..63, no leading/trailing '-'. */
int dp_fleet__is_label(const char *s);
/* Dot-separated labels, at most 253 characters. */
int dp_fleet__is_domain(const char *s);

/* Reads `name` relative to the fleet file's directory (absolute names as
 * they are). NULL with errbuf set at node `n` on failure. */
char *dp_fleet__read_rel(dp_fleet_pctx_t *c, const dp_cfgnode_t *n, const char *path, const char *name);

/* `permissions:` at `v` (a map; v may be NULL or null: not set). */
int dp_fleet__parse_perms(dp_fleet_pctx_t *c, const dp_cfgnode_t *v, const char *path, dp_fleet_perms_t *out);

void dp_fleet__perms_free(dp_fleet_perms_t *p);

/* A node's `certificates:` (fleet_tls.c), after its name and base domain;
 * checks that a node with a TLS listener has some. */
int dp_fleet__parse_certs(dp_fleet_pctx_t *c, const dp_cfgnode_t *node, const char *path, dp_fleet_node_t *n);
void dp_fleet__certs_free(dp_fleet_node_t *n);

/* Health checks and CSDS (fleet_health.c). */
void dp_fleet__hc_defaults(dp_fleet_hc_t *hc);
void dp_fleet__hc_copy(dp_fleet_hc_t *dst, const dp_fleet_hc_t *src);
void dp_fleet__hc_free(dp_fleet_hc_t *hc);
/* `health_check:` at `v` (NULL or null: *out = a copy of parent) over
 * `parent`; `top` (defaults only) allows report_interval, stored in
 * c->f->hds_report_ms. *out is always initialised (free it on error too). */
int dp_fleet__parse_hc(dp_fleet_pctx_t *c, const dp_cfgnode_t *v, const char *path, const dp_fleet_hc_t *parent,
                       int top, dp_fleet_hc_t *out);
/* A node's optional `csds: IP:PORT` into n->csds. */
int dp_fleet__parse_csds(dp_fleet_pctx_t *c, const dp_cfgnode_t *node, const char *path, dp_fleet_node_t *n);

#endif
