/* Envoy's RBAC policy engine (engine.h): the config is compiled into a
 * tree of matcher nodes once; evaluation walks it with a per-call context
 * that parses the request's addresses at most once. */
#include "filters/rbac/engine.h"

#include <jansson.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/http/route.h"
#include "filters/auth/cidr.h"

/* ---- compiled form -------------------------------------------------------- */

/* envoy.type.matcher.v3.ValueMatcher */
typedef enum {
    VM_NULL,
    VM_RANGE,
    VM_EXACT,
    VM_STRING,
    VM_BOOL,
    VM_PRESENT,
    VM_LIST,
    VM_OR,
} vm_kind_t;

typedef struct value_matcher {
    vm_kind_t kind;
    union {
        struct {
            double start, end;
        } range;
        double exact;
        dp_strmatch_t str;
        bool b;                       /* VM_BOOL, VM_PRESENT */
        struct value_matcher *one_of; /* VM_LIST */
        struct {
            struct value_matcher *v;
            size_t n;
        } any; /* VM_OR */
    } u;
} value_matcher_t;

/* envoy.type.matcher.v3.MetadataMatcher */
typedef struct meta_matcher {
    char *filter;
    char **path;
    size_t npath;
    value_matcher_t value;
    bool invert;
} meta_matcher_t;

typedef enum {
    N_ANY,
    N_AND,
    N_OR,
    N_NOT,
    N_HEADER,
    N_URL_PATH,
    N_DEST_IP,
    N_DEST_PORTS, /* destination_port (as [p, p+1)) and destination_port_range */
    N_METADATA,
    N_PEER_IP, /* direct_remote_ip, source_ip */
    N_REMOTE_IP,
} node_kind_t;

typedef struct rbac_node {
    node_kind_t kind;
    union {
        struct {
            struct rbac_node *v;
            size_t n;
        } set; /* N_AND, N_OR; N_NOT has n == 1 */
        dp_hdrmatch_t hdr;
        dp_strmatch_t path;
        dp_cidr_t cidr;
        struct {
            uint32_t start, end;
        } ports;
        meta_matcher_t meta;
    } u;
} rbac_node_t;

typedef struct rbac_policy {
    char *name;
    rbac_node_t perms; /* N_OR of the permissions */
    rbac_node_t ids;   /* N_OR of the principals */
} rbac_policy_t;

struct dp_rbac_engine {
    dp_rbac_action_t action;
    rbac_policy_t *policies; /* sorted by name, distinct */
    size_t n;
};

/* ---- freeing ---------------------------------------------------------------- */

static void vm_clear(value_matcher_t *m)
{
    switch (m->kind) {
    case VM_STRING:
        free(m->u.str.value);
        break;
    case VM_LIST:
        if (m->u.one_of) {
            vm_clear(m->u.one_of);
            free(m->u.one_of);
        }
        break;
    case VM_OR:
        for (size_t i = 0; i < m->u.any.n; i++)
            vm_clear(&m->u.any.v[i]);
        free(m->u.any.v);
        break;
    default:
        break;
    }
}

static void node_clear(rbac_node_t *n)
{
    switch (n->kind) {
    case N_AND:
    case N_OR:
    case N_NOT:
        for (size_t i = 0; i < n->u.set.n; i++)
            node_clear(&n->u.set.v[i]);
        free(n->u.set.v);
        break;
    case N_HEADER:
        free(n->u.hdr.name);
        free(n->u.hdr.str.value);
        break;
    case N_URL_PATH:
        free(n->u.path.value);
        break;
    case N_METADATA:
        free(n->u.meta.filter);
        for (size_t i = 0; i < n->u.meta.npath; i++)
            free(n->u.meta.path[i]);
        free(n->u.meta.path);
        vm_clear(&n->u.meta.value);
        break;
    default:
        break;
    }
}

void dp_rbac_engine_free(dp_rbac_engine_t *e)
{
    if (e == NULL)
        return;
    for (size_t i = 0; i < e->n; i++) {
        free(e->policies[i].name);
        node_clear(&e->policies[i].perms);
        node_clear(&e->policies[i].ids);
    }
    free(e->policies);
    free(e);
}

/* ---- compiling ---------------------------------------------------------------- */

typedef Envoy__Config__Rbac__V3__Permission pb_perm_t;
typedef Envoy__Config__Rbac__V3__Principal pb_id_t;
typedef Envoy__Type__Matcher__V3__ValueMatcher pb_value_t;
typedef Envoy__Type__Matcher__V3__MetadataMatcher pb_meta_t;

/* Every compile step runs with the path of the message it compiles and
 * leaves the node clearable (node_clear) whatever happens. */

static int compile_value(dp_xlate_t *x, const pb_value_t *v, value_matcher_t *o, int depth)
{
    size_t saved;
    int rc = 0;

    /* ValueMatcher nests through list_match / or_match: bound it, since a
     * hostile config could otherwise exhaust the stack */
    if (depth > 32)
        return dp_xlate__fail(x, "value matchers nested too deeply");
    switch (v->match_pattern_case) {
    case ENVOY__TYPE__MATCHER__V3__VALUE_MATCHER__MATCH_PATTERN_NULL_MATCH:
        o->kind = VM_NULL;
        return 0;
    case ENVOY__TYPE__MATCHER__V3__VALUE_MATCHER__MATCH_PATTERN_DOUBLE_MATCH: {
        const Envoy__Type__Matcher__V3__DoubleMatcher *d = v->double_match;
        if (d->match_pattern_case == ENVOY__TYPE__MATCHER__V3__DOUBLE_MATCHER__MATCH_PATTERN_EXACT) {
            o->kind = VM_EXACT;
            o->u.exact = d->exact;
            return 0;
        }
        if (d->match_pattern_case == ENVOY__TYPE__MATCHER__V3__DOUBLE_MATCHER__MATCH_PATTERN_RANGE) {
            o->kind = VM_RANGE;
            o->u.range.start = d->range->start;
            o->u.range.end = d->range->end;
            return 0;
        }
        return dp_xlate__fail_at(x, "double_match", "one of range or exact is required");
    }
    case ENVOY__TYPE__MATCHER__V3__VALUE_MATCHER__MATCH_PATTERN_STRING_MATCH:
        o->kind = VM_STRING;
        saved = dp_xlate__push(x, "string_match");
        rc = dp_xlate__strmatch(x, v->string_match, &o->u.str);
        dp_xlate__pop(x, saved);
        return rc;
    case ENVOY__TYPE__MATCHER__V3__VALUE_MATCHER__MATCH_PATTERN_BOOL_MATCH:
        o->kind = VM_BOOL;
        o->u.b = v->bool_match != 0;
        return 0;
    case ENVOY__TYPE__MATCHER__V3__VALUE_MATCHER__MATCH_PATTERN_PRESENT_MATCH:
        o->kind = VM_PRESENT;
        o->u.b = v->present_match != 0;
        return 0;
    case ENVOY__TYPE__MATCHER__V3__VALUE_MATCHER__MATCH_PATTERN_LIST_MATCH:
        o->kind = VM_LIST;
        saved = dp_xlate__push(x, "list_match");
        if (v->list_match->match_pattern_case !=
            ENVOY__TYPE__MATCHER__V3__LIST_MATCHER__MATCH_PATTERN_ONE_OF) {
            rc = dp_xlate__fail_at(x, "one_of", "required");
        } else {
            o->u.one_of = dp_xcalloc(1, sizeof(*o->u.one_of));
            size_t s2 = dp_xlate__push(x, "one_of");
            rc = compile_value(x, v->list_match->one_of, o->u.one_of, depth + 1);
            dp_xlate__pop(x, s2);
        }
        dp_xlate__pop(x, saved);
        return rc;
    case ENVOY__TYPE__MATCHER__V3__VALUE_MATCHER__MATCH_PATTERN_OR_MATCH: {
        const Envoy__Type__Matcher__V3__OrMatcher *om = v->or_match;
        o->kind = VM_OR;
        saved = dp_xlate__push(x, "or_match");
        if (om->n_value_matchers < 2) {
            rc = dp_xlate__fail_at(x, "value_matchers", "at least 2 are required");
        } else {
            o->u.any.v = dp_xcalloc(om->n_value_matchers, sizeof(*o->u.any.v));
            for (size_t i = 0; i < om->n_value_matchers && rc == 0; i++) {
                o->u.any.n = i + 1;
                size_t s2 = dp_xlate__push_idx(x, "value_matchers", i);
                rc = compile_value(x, om->value_matchers[i], &o->u.any.v[i], depth + 1);
                dp_xlate__pop(x, s2);
            }
        }
        dp_xlate__pop(x, saved);
        return rc;
    }
    default:
        o->kind = VM_NULL;
        return dp_xlate__fail(x, "one of null_match, double_match, string_match, bool_match, present_match, "
                                 "list_match or or_match is required");
    }
}

static int compile_meta(dp_xlate_t *x, const pb_meta_t *m, meta_matcher_t *o)
{
    int rc;
    if (m->filter == NULL || m->filter[0] == '\0')
        return dp_xlate__fail_at(x, "filter", "required");
    o->filter = dp_xstrdup(m->filter);
    o->invert = m->invert != 0;
    if (m->n_path == 0)
        return dp_xlate__fail_at(x, "path", "at least one segment is required");
    o->path = dp_xcalloc(m->n_path, sizeof(*o->path));
    for (size_t i = 0; i < m->n_path; i++) {
        const Envoy__Type__Matcher__V3__MetadataMatcher__PathSegment *seg = m->path[i];
        if (seg->segment_case != ENVOY__TYPE__MATCHER__V3__METADATA_MATCHER__PATH_SEGMENT__SEGMENT_KEY ||
            seg->key == NULL || seg->key[0] == '\0') {
            size_t saved = dp_xlate__push_idx(x, "path", i);
            rc = dp_xlate__fail_at(x, "key", "required");
            dp_xlate__pop(x, saved);
            return rc;
        }
        o->path[i] = dp_xstrdup(seg->key);
        o->npath = i + 1;
    }
    if (m->value == NULL)
        return dp_xlate__fail_at(x, "value", "required");
    size_t saved = dp_xlate__push(x, "value");
    rc = compile_value(x, m->value, &o->value, 0);
    dp_xlate__pop(x, saved);
    return rc;
}

/* A CidrRange field `field` of the message at the current path. */
static int compile_cidr(dp_xlate_t *x, const char *field, const Envoy__Config__Core__V3__CidrRange *c,
                        dp_cidr_t *o)
{
    const char *err = NULL;
    size_t saved = dp_xlate__push(x, field);
    int rc = dp_cidr_from_range(c->address_prefix, c->prefix_len ? c->prefix_len->value : 0, o, &err);
    if (rc != 0)
        rc = dp_xlate__fail_sub(x, rc, err);
    dp_xlate__pop(x, saved);
    return rc;
}

static int compile_hdr(dp_xlate_t *x, const Envoy__Config__Route__V3__HeaderMatcher *h, dp_hdrmatch_t *o)
{
    size_t saved = dp_xlate__push(x, "header");
    int rc = dp_xlate__hdrmatch(x, h, o);
    dp_xlate__pop(x, saved);
    return rc;
}

static int compile_url_path(dp_xlate_t *x, const Envoy__Type__Matcher__V3__PathMatcher *p, dp_strmatch_t *o)
{
    size_t saved = dp_xlate__push(x, "url_path");
    int rc;
    if (p->rule_case != ENVOY__TYPE__MATCHER__V3__PATH_MATCHER__RULE_PATH || p->path == NULL) {
        rc = dp_xlate__fail_at(x, "path", "required");
    } else {
        size_t s2 = dp_xlate__push(x, "path");
        rc = dp_xlate__strmatch(x, p->path, o);
        dp_xlate__pop(x, s2);
    }
    dp_xlate__pop(x, saved);
    return rc;
}

static int compile_perm(dp_xlate_t *x, const pb_perm_t *p, rbac_node_t *o, int depth);
static int compile_id(dp_xlate_t *x, const pb_id_t *p, rbac_node_t *o, int depth);

/* and_rules / or_rules / permissions (is_perm: `items` is a pb_perm_t
 * array) or and_ids / or_ids / principals (a pb_id_t array): the repeated
 * field `field` of `set_field` (NULL: of the current message) compiled
 * into an N_AND / N_OR node. */
static int compile_set(dp_xlate_t *x, const char *set_field, const char *field, const void *items, size_t n,
                       bool is_perm, node_kind_t kind, rbac_node_t *o, int depth)
{
    int rc = 0;
    size_t saved = set_field ? dp_xlate__push(x, set_field) : x->len;
    o->kind = kind;
    if (n == 0) {
        rc = dp_xlate__fail_at(x, field, "at least one is required");
        goto out;
    }
    o->u.set.v = dp_xcalloc(n, sizeof(*o->u.set.v));
    for (size_t i = 0; i < n && rc == 0; i++) {
        o->u.set.n = i + 1;
        size_t s2 = dp_xlate__push_idx(x, field, i);
        rc = is_perm ? compile_perm(x, ((pb_perm_t *const *)items)[i], &o->u.set.v[i], depth + 1)
                     : compile_id(x, ((pb_id_t *const *)items)[i], &o->u.set.v[i], depth + 1);
        dp_xlate__pop(x, s2);
    }
out:
    if (set_field)
        dp_xlate__pop(x, saved);
    return rc;
}

/* not_rule / not_id */
static int compile_not(dp_xlate_t *x, const char *field, const void *inner, bool is_perm, rbac_node_t *o,
                       int depth)
{
    o->kind = N_NOT;
    o->u.set.v = dp_xcalloc(1, sizeof(*o->u.set.v));
    o->u.set.n = 1;
    size_t saved = dp_xlate__push(x, field);
    int rc =
        is_perm ? compile_perm(x, inner, o->u.set.v, depth + 1) : compile_id(x, inner, o->u.set.v, depth + 1);
    dp_xlate__pop(x, saved);
    return rc;
}

/* and/or/not nest without bound in the proto; the evaluator recurses */
#define MAX_DEPTH 64

static int compile_perm(dp_xlate_t *x, const pb_perm_t *p, rbac_node_t *o, int depth)
{
    size_t saved;
    int rc;

    if (depth > MAX_DEPTH)
        return dp_xlate__fail(x, "rules nested deeper than %d levels", MAX_DEPTH);
    switch (p->rule_case) {
    case ENVOY__CONFIG__RBAC__V3__PERMISSION__RULE_AND_RULES:
        return compile_set(x, "and_rules", "rules", p->and_rules->rules, p->and_rules->n_rules, true, N_AND,
                           o, depth);
    case ENVOY__CONFIG__RBAC__V3__PERMISSION__RULE_OR_RULES:
        return compile_set(x, "or_rules", "rules", p->or_rules->rules, p->or_rules->n_rules, true, N_OR, o,
                           depth);
    case ENVOY__CONFIG__RBAC__V3__PERMISSION__RULE_ANY:
        o->kind = N_ANY;
        return p->any ? 0 : dp_xlate__fail_at(x, "any", "must be true");
    case ENVOY__CONFIG__RBAC__V3__PERMISSION__RULE_HEADER:
        o->kind = N_HEADER;
        return compile_hdr(x, p->header, &o->u.hdr);
    case ENVOY__CONFIG__RBAC__V3__PERMISSION__RULE_URL_PATH:
        o->kind = N_URL_PATH;
        return compile_url_path(x, p->url_path, &o->u.path);
    case ENVOY__CONFIG__RBAC__V3__PERMISSION__RULE_DESTINATION_IP:
        o->kind = N_DEST_IP;
        return compile_cidr(x, "destination_ip", p->destination_ip, &o->u.cidr);
    case ENVOY__CONFIG__RBAC__V3__PERMISSION__RULE_DESTINATION_PORT:
        o->kind = N_DEST_PORTS;
        if (p->destination_port > 65535)
            return dp_xlate__fail_at(x, "destination_port", "must be at most 65535");
        o->u.ports.start = p->destination_port;
        o->u.ports.end = p->destination_port + 1;
        return 0;
    case ENVOY__CONFIG__RBAC__V3__PERMISSION__RULE_DESTINATION_PORT_RANGE: {
        /* Envoy's PortRangeMatcher checks, with its wording */
        int32_t start = p->destination_port_range->start, end = p->destination_port_range->end;
        o->kind = N_DEST_PORTS;
        saved = dp_xlate__push(x, "destination_port_range");
        rc = 0;
        if (start < 0 || start > 65536)
            rc = dp_xlate__fail_at(x, "start", "range start %d is out of bounds", (int)start);
        else if (end < 0 || end > 65536)
            rc = dp_xlate__fail_at(x, "end", "range end %d is out of bounds", (int)end);
        else if (start >= end)
            rc = dp_xlate__fail(x, "range start %d cannot be greater or equal than range end %d", (int)start,
                                (int)end);
        dp_xlate__pop(x, saved);
        o->u.ports.start = (uint32_t)start;
        o->u.ports.end = (uint32_t)end;
        return rc;
    }
    case ENVOY__CONFIG__RBAC__V3__PERMISSION__RULE_METADATA:
        o->kind = N_METADATA;
        saved = dp_xlate__push(x, "metadata");
        rc = compile_meta(x, p->metadata, &o->u.meta);
        dp_xlate__pop(x, saved);
        return rc;
    case ENVOY__CONFIG__RBAC__V3__PERMISSION__RULE_NOT_RULE:
        return compile_not(x, "not_rule", p->not_rule, true, o, depth);
    default:
        o->kind = N_ANY;
        return dp_xlate__fail(x,
                              "one of and_rules, or_rules, any, header, url_path, destination_ip, "
                              "destination_port, destination_port_range, metadata or not_rule is required");
    }
}

static int compile_id(dp_xlate_t *x, const pb_id_t *p, rbac_node_t *o, int depth)
{
    size_t saved;
    int rc;

    if (depth > MAX_DEPTH)
        return dp_xlate__fail(x, "principals nested deeper than %d levels", MAX_DEPTH);
    switch (p->identifier_case) {
    case ENVOY__CONFIG__RBAC__V3__PRINCIPAL__IDENTIFIER_AND_IDS:
        return compile_set(x, "and_ids", "ids", p->and_ids->ids, p->and_ids->n_ids, false, N_AND, o, depth);
    case ENVOY__CONFIG__RBAC__V3__PRINCIPAL__IDENTIFIER_OR_IDS:
        return compile_set(x, "or_ids", "ids", p->or_ids->ids, p->or_ids->n_ids, false, N_OR, o, depth);
    case ENVOY__CONFIG__RBAC__V3__PRINCIPAL__IDENTIFIER_ANY:
        o->kind = N_ANY;
        return p->any ? 0 : dp_xlate__fail_at(x, "any", "must be true");
    case ENVOY__CONFIG__RBAC__V3__PRINCIPAL__IDENTIFIER_SOURCE_IP:
        o->kind = N_PEER_IP;
        return compile_cidr(x, "source_ip", p->source_ip, &o->u.cidr);
    case ENVOY__CONFIG__RBAC__V3__PRINCIPAL__IDENTIFIER_DIRECT_REMOTE_IP:
        o->kind = N_PEER_IP;
        return compile_cidr(x, "direct_remote_ip", p->direct_remote_ip, &o->u.cidr);
    case ENVOY__CONFIG__RBAC__V3__PRINCIPAL__IDENTIFIER_REMOTE_IP:
        o->kind = N_REMOTE_IP;
        return compile_cidr(x, "remote_ip", p->remote_ip, &o->u.cidr);
    case ENVOY__CONFIG__RBAC__V3__PRINCIPAL__IDENTIFIER_HEADER:
        o->kind = N_HEADER;
        return compile_hdr(x, p->header, &o->u.hdr);
    case ENVOY__CONFIG__RBAC__V3__PRINCIPAL__IDENTIFIER_URL_PATH:
        o->kind = N_URL_PATH;
        return compile_url_path(x, p->url_path, &o->u.path);
    case ENVOY__CONFIG__RBAC__V3__PRINCIPAL__IDENTIFIER_METADATA:
        o->kind = N_METADATA;
        saved = dp_xlate__push(x, "metadata");
        rc = compile_meta(x, p->metadata, &o->u.meta);
        dp_xlate__pop(x, saved);
        return rc;
    case ENVOY__CONFIG__RBAC__V3__PRINCIPAL__IDENTIFIER_NOT_ID:
        return compile_not(x, "not_id", p->not_id, false, o, depth);
    default:
        o->kind = N_ANY;
        return dp_xlate__fail(x,
                              "one of and_ids, or_ids, any, source_ip, direct_remote_ip, remote_ip, header, "
                              "url_path, metadata or not_id is required");
    }
}

typedef struct policy_ref {
    const Envoy__Config__Rbac__V3__RBAC__PoliciesEntry *e;
    size_t idx; /* position in the map, to keep the last of equal keys */
} policy_ref_t;

static int cmp_policy_ref(const void *pa, const void *pb)
{
    const policy_ref_t *a = pa, *b = pb;
    int c = strcmp(a->e->key ? a->e->key : "", b->e->key ? b->e->key : "");
    if (c != 0)
        return c;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

int dp_rbac_engine_create(dp_xlate_t *x, const Envoy__Config__Rbac__V3__RBAC *rbac, dp_rbac_engine_t **out)
{
    int rc = 0;
    policy_ref_t *refs = NULL;
    dp_rbac_engine_t *e = dp_xcalloc(1, sizeof(*e));

    *out = NULL;
    switch (rbac->action) {
    case ENVOY__CONFIG__RBAC__V3__RBAC__ACTION__ALLOW:
        e->action = DP_RBAC_ALLOW;
        break;
    case ENVOY__CONFIG__RBAC__V3__RBAC__ACTION__DENY:
        e->action = DP_RBAC_DENY;
        break;
    case ENVOY__CONFIG__RBAC__V3__RBAC__ACTION__LOG:
        e->action = DP_RBAC_LOG;
        break;
    default:
        rc = dp_xlate__fail_at(x, "action", "unknown value %d", (int)rbac->action);
        goto fail;
    }

    /* Envoy keeps the policies in a std::map: name order, and a repeated
     * map key (possible on the wire) keeps its last value */
    if (rbac->n_policies > 0) {
        refs = dp_xcalloc(rbac->n_policies, sizeof(*refs));
        for (size_t i = 0; i < rbac->n_policies; i++)
            refs[i] = (policy_ref_t){rbac->policies[i], i};
        qsort(refs, rbac->n_policies, sizeof(*refs), cmp_policy_ref);
        e->policies = dp_xcalloc(rbac->n_policies, sizeof(*e->policies));
    }
    for (size_t i = 0; i < rbac->n_policies; i++) {
        const char *name = refs[i].e->key ? refs[i].e->key : "";
        if (i + 1 < rbac->n_policies && strcmp(name, refs[i + 1].e->key ? refs[i + 1].e->key : "") == 0)
            continue; /* a later entry with the same name wins */
        const Envoy__Config__Rbac__V3__Policy *p = refs[i].e->value;
        rbac_policy_t *o = &e->policies[e->n++];
        o->name = dp_xstrdup(name);
        o->perms.kind = N_OR;
        o->ids.kind = N_OR;
        size_t saved = dp_xlate__push_key(x, "policies", name);
        if (p == NULL) {
            rc = dp_xlate__fail_at(x, "permissions", "at least one is required");
        } else {
            rc = compile_set(x, NULL, "permissions", p->permissions, p->n_permissions, true, N_OR, &o->perms,
                             0);
            if (rc == 0)
                rc = compile_set(x, NULL, "principals", p->principals, p->n_principals, false, N_OR, &o->ids,
                                 0);
        }
        dp_xlate__pop(x, saved);
        if (rc != 0)
            goto fail;
    }
    free(refs);
    *out = e;
    return 0;
fail:
    free(refs);
    dp_rbac_engine_free(e);
    return rc;
}

dp_rbac_action_t dp_rbac_engine_action(const dp_rbac_engine_t *e)
{
    return e->action;
}

size_t dp_rbac_engine_policy_count(const dp_rbac_engine_t *e)
{
    return e->n;
}

/* ---- evaluation ---------------------------------------------------------------- */

/* Per-call state: each address is parsed on first use. */
typedef struct eval_ctx {
    const dp_rbac_request_t *r;
    dp_route_input_t in;
    int8_t peer_st, local_st, remote_st; /* 0 not parsed yet, 1 parsed, -1 unavailable */
    dp_ipaddr_t peer, local, remote;
} eval_ctx_t;

static const dp_ipaddr_t *peer_addr(eval_ctx_t *c)
{
    if (c->peer_st == 0)
        c->peer_st = dp_ipaddr_from_sa(c->r->peer, &c->peer) == 0 ? 1 : -1;
    return c->peer_st > 0 ? &c->peer : NULL;
}

static const dp_ipaddr_t *local_addr(eval_ctx_t *c)
{
    if (c->local_st == 0)
        c->local_st = dp_ipaddr_from_sa(c->r->local, &c->local) == 0 ? 1 : -1;
    return c->local_st > 0 ? &c->local : NULL;
}

static const dp_ipaddr_t *remote_addr(eval_ctx_t *c)
{
    if (c->remote_st == 0) {
        const char *s = c->r->remote_addr;
        c->remote_st = s && s[0] && dp_ipaddr_parse(s, strlen(s), &c->remote) == 0 ? 1 : -1;
    }
    return c->remote_st > 0 ? &c->remote : NULL;
}

static bool local_port(const eval_ctx_t *c, uint32_t *port)
{
    const struct sockaddr *sa = c->r->local;
    if (sa == NULL)
        return false;
    if (sa->sa_family == AF_INET)
        *port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
    else if (sa->sa_family == AF_INET6)
        *port = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
    else
        return false;
    return true;
}

/* Envoy's ValueMatcher on a google.protobuf.Value, the JSON form of
 * metadata: NULL is an unset Value (KIND_NOT_SET), JSON numbers are
 * number_value (doubles), objects struct_value, arrays list_value. */
static bool vm_match(const value_matcher_t *m, const json_t *v)
{
    switch (m->kind) {
    case VM_NULL:
        return v != NULL && json_is_null(v);
    case VM_RANGE:
    case VM_EXACT: {
        if (v == NULL || !json_is_number(v))
            return false;
        double d = json_number_value(v);
        if (m->kind == VM_EXACT)
            return d == m->u.exact;
        return m->u.range.start <= d && d < m->u.range.end;
    }
    case VM_STRING:
        return v != NULL && json_is_string(v) &&
               dp_route_strmatch(&m->u.str, json_string_value(v), json_string_length(v));
    case VM_BOOL:
        return v != NULL && json_is_boolean(v) && json_is_true(v) == m->u.b;
    case VM_PRESENT:
        /* Envoy's PresentMatcher: present_match false never matches */
        return m->u.b && v != NULL;
    case VM_LIST:
        if (v == NULL || !json_is_array(v))
            return false;
        for (size_t i = 0; i < json_array_size(v); i++)
            if (vm_match(m->u.one_of, json_array_get(v, i)))
                return true;
        return false;
    case VM_OR:
        for (size_t i = 0; i < m->u.any.n; i++)
            if (vm_match(&m->u.any.v[i], v))
                return true;
        return false;
    }
    return false;
}

/* Envoy's Metadata::metadataValue: walk the keys through nested structs;
 * any miss is an unset value. */
static bool meta_match(const meta_matcher_t *m, const json_t *md)
{
    const json_t *v = md && json_is_object(md) ? json_object_get(md, m->filter) : NULL;
    for (size_t i = 0; i < m->npath && v != NULL; i++)
        v = json_is_object(v) ? json_object_get(v, m->path[i]) : NULL;
    return vm_match(&m->value, v) != m->invert;
}

static bool node_match(const rbac_node_t *n, eval_ctx_t *c)
{
    switch (n->kind) {
    case N_ANY:
        return true;
    case N_AND:
        for (size_t i = 0; i < n->u.set.n; i++)
            if (!node_match(&n->u.set.v[i], c))
                return false;
        return true;
    case N_OR:
        for (size_t i = 0; i < n->u.set.n; i++)
            if (node_match(&n->u.set.v[i], c))
                return true;
        return false;
    case N_NOT:
        return !node_match(&n->u.set.v[0], c);
    case N_HEADER:
        return dp_route_hdrmatch(&n->u.hdr, &c->in);
    case N_URL_PATH: {
        dp_slice_t p = c->r->path;
        if (p.base == NULL)
            return false;
        size_t len = 0;
        while (len < p.len && p.base[len] != '?' && p.base[len] != '#')
            len++;
        return dp_route_strmatch(&n->u.path, p.base, len);
    }
    case N_DEST_IP: {
        const dp_ipaddr_t *a = local_addr(c);
        return a != NULL && dp_cidr_contains(&n->u.cidr, a);
    }
    case N_DEST_PORTS: {
        uint32_t port;
        return local_port(c, &port) && port >= n->u.ports.start && port < n->u.ports.end;
    }
    case N_METADATA:
        return meta_match(&n->u.meta, c->r->metadata);
    case N_PEER_IP: {
        const dp_ipaddr_t *a = peer_addr(c);
        return a != NULL && dp_cidr_contains(&n->u.cidr, a);
    }
    case N_REMOTE_IP: {
        const dp_ipaddr_t *a = remote_addr(c);
        return a != NULL && dp_cidr_contains(&n->u.cidr, a);
    }
    }
    return false;
}

void dp_rbac_engine_eval(const dp_rbac_engine_t *e, const dp_rbac_request_t *r, dp_rbac_result_t *res)
{
    eval_ctx_t c;
    memset(&c, 0, sizeof(c));
    c.r = r;
    c.in.method = r->method;
    c.in.path = r->path;
    c.in.authority = r->authority;
    c.in.scheme = r->scheme;
    c.in.headers = r->headers;

    res->matched = false;
    res->policy = NULL;
    for (size_t i = 0; i < e->n; i++) {
        const rbac_policy_t *p = &e->policies[i];
        if (node_match(&p->perms, &c) && node_match(&p->ids, &c)) {
            res->matched = true;
            res->policy = p->name;
            break;
        }
    }
    switch (e->action) {
    case DP_RBAC_ALLOW:
        res->allowed = res->matched;
        break;
    case DP_RBAC_DENY:
        res->allowed = !res->matched;
        break;
    case DP_RBAC_LOG:
        res->allowed = true;
        break;
    }
}
