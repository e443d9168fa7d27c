/* The container catalogue: validation of Container / Project resources,
 * the immutable records, and their indexes in lock-free-read maps. */
#include "filters/containers/catalogue.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"
#include "dataplane/core/qsbr.h"
#include "dataplane/core/rcumap.h"
#include "dataplane/containers/v1/catalogue.pb-c.h"
#include "filters/containers/policy.h"

typedef Dataplane__Containers__V1__Container pb_container_t;
typedef Dataplane__Containers__V1__Project pb_project_t;

/* ---- records ---------------------------------------------------------------- */

dp_container_t *dp_container_ref(const dp_container_t *c)
{
    dp_container_t *m = (dp_container_t *)c;
    atomic_fetch_add_explicit(&m->refcnt, 1, memory_order_relaxed);
    return m;
}

void dp_container_unref(dp_container_t *c)
{
    if (c == NULL || atomic_fetch_sub_explicit(&c->refcnt, 1, memory_order_acq_rel) != 1)
        return;
    if (c->packed) {
        dp_policy_unref(c->policy);
        free(c);
        return;
    }
    for (size_t i = 0; i < c->n_services; i++)
        free(c->services[i].name);
    for (size_t i = 0; i < c->n_aliases; i++) {
        free(c->aliases[i].name);
        free(c->aliases[i].domain);
        free(c->aliases[i].service);
    }
    free(c->services);
    free(c->aliases);
    free(c->addrs);
    free(c->machine);
    free(c->pod_slug);
    dp_policy_unref(c->policy);
    free(c);
}

dp_project_t *dp_project_ref(const dp_project_t *p)
{
    dp_project_t *m = (dp_project_t *)p;
    atomic_fetch_add_explicit(&m->refcnt, 1, memory_order_relaxed);
    return m;
}

void dp_project_unref(dp_project_t *p)
{
    if (p == NULL || atomic_fetch_sub_explicit(&p->refcnt, 1, memory_order_acq_rel) != 1)
        return;
    free(p->alias);
    dp_policy_unref(p->policy);
    free(p);
}

static void release_container(void *p)
{
    dp_container_unref(p);
}

static void release_project(void *p)
{
    dp_project_unref(p);
}

static void release_alias(void *p)
{
    dp_alias_ref_t *a = p;
    if (atomic_fetch_sub_explicit(&a->refcnt, 1, memory_order_acq_rel) != 1)
        return;
    dp_container_unref(a->c);
    free(a);
}

uint16_t dp_container_port(const dp_container_t *c, const char *service, size_t len)
{
    for (size_t i = 0; i < c->n_services; i++)
        if (strlen(c->services[i].name) == len && memcmp(c->services[i].name, service, len) == 0)
            return c->services[i].port;
    return 0;
}

/* ---- the indexes -------------------------------------------------------------- */

static struct {
    dp_rcumap_t *by_id, *projects, *aliases, *domains, *machines, *pods;
} cat;
static pthread_once_t cat_once = PTHREAD_ONCE_INIT;

static void cat_init(void)
{
    cat.by_id = dp_rcumap_new(release_container);
    cat.projects = dp_rcumap_new(release_project);
    cat.aliases = dp_rcumap_new(release_alias);
    cat.domains = dp_rcumap_new(release_alias);
    cat.machines = dp_rcumap_new(release_container);
    cat.pods = dp_rcumap_new(release_container);
}

#define CAT() pthread_once(&cat_once, cat_init)

const dp_container_t *dp_catalogue_container(const char *id, size_t len)
{
    CAT();
    return dp_rcumap_get(cat.by_id, id, len);
}

const dp_project_t *dp_catalogue_project(const char *id, size_t len)
{
    CAT();
    return dp_rcumap_get(cat.projects, id, len);
}

const dp_alias_ref_t *dp_catalogue_alias(const char *name, size_t len)
{
    CAT();
    return dp_rcumap_get(cat.aliases, name, len);
}

const dp_alias_ref_t *dp_catalogue_domain(const char *host, size_t len)
{
    CAT();
    return dp_rcumap_get(cat.domains, host, len);
}

const dp_container_t *dp_catalogue_machine(const char *name, size_t len)
{
    CAT();
    return dp_rcumap_get(cat.machines, name, len);
}

const dp_container_t *dp_catalogue_pod(const char *slug, size_t len)
{
    CAT();
    return dp_rcumap_get(cat.pods, slug, len);
}

void dp_catalogue_reclaim(void)
{
    dp_qsbr_reclaim();
}

void dp_catalogue_stats(dp_catalogue_stats_t *out)
{
    CAT();
    out->containers = dp_rcumap_count(cat.by_id);
    out->projects = dp_rcumap_count(cat.projects);
    out->aliases = dp_rcumap_count(cat.aliases);
    out->domains = dp_rcumap_count(cat.domains);
    out->index_bytes = dp_rcumap_bytes(cat.by_id) + dp_rcumap_bytes(cat.projects) + dp_rcumap_bytes(cat.aliases) +
                       dp_rcumap_bytes(cat.domains) + dp_rcumap_bytes(cat.machines) + dp_rcumap_bytes(cat.pods);
}

/* ---- validation ----------------------------------------------------------------- */

static bool is_hex_id(const char *s)
{
    if (s == NULL || strlen(s) != DP_CONTAINER_ID_LEN)
        return false;
    for (size_t i = 0; i < DP_CONTAINER_ID_LEN; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* A DNS label as the URL forms use it: 1..63 of [a-z0-9-], no '-' at
 * either end. */
static bool is_label(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return false;
    return true;
}

/* A lowercase host name: labels separated by dots, at most 253 chars. */
static bool is_domain(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 253)
        return false;
    char buf[256];
    memcpy(buf, s, n + 1);
    for (char *save = NULL, *l = strtok_r(buf, ".", &save); l; l = strtok_r(NULL, ".", &save))
        if (!is_label(l))
            return false;
    return s[0] != '.' && s[n - 1] != '.' && strstr(s, "..") == NULL;
}

static int fail(char *errbuf, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *errbuf, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (errbuf && errlen)
        vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
    return DP_EINVAL;
}

static int parse_addr(const char *s, dp_caddr_t *out)
{
    memset(out, 0, sizeof(*out));
    if (s && inet_pton(AF_INET, s, &out->in.sin_addr) == 1) {
        out->in.sin_family = AF_INET;
        return 0;
    }
    if (s && inet_pton(AF_INET6, s, &out->in6.sin6_addr) == 1) {
        out->in6.sin6_family = AF_INET6;
        return 0;
    }
    return DP_EINVAL;
}

static int build_container(const char *name, const pb_container_t *m, dp_container_t **out, char *errbuf,
                           size_t errlen)
{
    dp_container_t *c = dp_xcalloc(1, sizeof(*c));
    int rc = DP_EINVAL;

    atomic_init(&c->refcnt, 1);
    if (!is_hex_id(m->id)) {
        fail(errbuf, errlen, "id: '%.64s' is not 24 lowercase hex digits", m->id ? m->id : "");
        goto out;
    }
    if (strcmp(m->id, name) != 0) {
        fail(errbuf, errlen, "id: '%s' differs from the resource name '%.64s'", m->id, name);
        goto out;
    }
    memcpy(c->id, m->id, DP_CONTAINER_ID_LEN + 1);
    if (!is_hex_id(m->project)) {
        fail(errbuf, errlen, "project: '%.64s' is not 24 lowercase hex digits", m->project ? m->project : "");
        goto out;
    }
    memcpy(c->project, m->project, DP_CONTAINER_ID_LEN + 1);
    switch ((int)m->state) {
    case DATAPLANE__CONTAINERS__V1__CONTAINER__STATE__RUNNING:
        c->running = true;
        break;
    case DATAPLANE__CONTAINERS__V1__CONTAINER__STATE__STOPPED:
        break;
    default:
        fail(errbuf, errlen, "state: must be RUNNING or STOPPED");
        goto out;
    }
    if (c->running && m->n_addresses == 0) {
        fail(errbuf, errlen, "addresses: a running container needs at least one");
        goto out;
    }
    c->addrs = dp_xcalloc(m->n_addresses + 1, sizeof(*c->addrs));
    for (size_t i = 0; i < m->n_addresses; i++) {
        if (parse_addr(m->addresses[i], &c->addrs[i]) != 0) {
            fail(errbuf, errlen, "addresses[%zu]: '%.64s' is not an IP address", i, m->addresses[i]);
            goto out;
        }
        c->n_addrs++;
    }
    c->services = dp_xcalloc(m->n_services + 1, sizeof(*c->services));
    for (size_t i = 0; i < m->n_services; i++) {
        const Dataplane__Containers__V1__Service *s = m->services[i];
        if (s == NULL || !is_label(s->name)) {
            fail(errbuf, errlen, "services[%zu].name: must be 1-63 characters of [a-z0-9-]", i);
            goto out;
        }
        if (s->port == 0 || s->port > 65535) {
            fail(errbuf, errlen, "services[%zu].port: must be 1-65535", i);
            goto out;
        }
        if (dp_container_port(c, s->name, strlen(s->name)) != 0) {
            fail(errbuf, errlen, "services[%zu].name: '%s' listed twice", i, s->name);
            goto out;
        }
        c->services[c->n_services].name = dp_xstrdup(s->name);
        c->services[c->n_services++].port = (uint16_t)s->port;
    }
    c->aliases = dp_xcalloc(m->n_aliases + 1, sizeof(*c->aliases));
    for (size_t i = 0; i < m->n_aliases; i++) {
        const Dataplane__Containers__V1__Alias *a = m->aliases[i];
        bool has_name = a && a->name && a->name[0], has_domain = a && a->domain && a->domain[0];
        if (has_name == has_domain) {
            fail(errbuf, errlen, "aliases[%zu]: exactly one of name or domain is required", i);
            goto out;
        }
        if (has_name && !is_label(a->name)) {
            fail(errbuf, errlen, "aliases[%zu].name: '%.64s' is not a DNS label of [a-z0-9-]", i, a->name);
            goto out;
        }
        if (has_domain && !is_domain(a->domain)) {
            fail(errbuf, errlen, "aliases[%zu].domain: '%.255s' is not a lowercase host name", i, a->domain);
            goto out;
        }
        if (!is_label(a->service)) {
            fail(errbuf, errlen, "aliases[%zu].service: must be 1-63 characters of [a-z0-9-]", i);
            goto out;
        }
        dp_calias_t *o = &c->aliases[c->n_aliases++];
        o->name = has_name ? dp_xstrdup(a->name) : NULL;
        o->domain = has_domain ? dp_xstrdup(a->domain) : NULL;
        o->service = dp_xstrdup(a->service);
        o->instance = a->instance ? a->instance : 1;
        for (size_t k = 0; k + 1 < c->n_aliases; k++) {
            const dp_calias_t *p = &c->aliases[k];
            if ((o->name && p->name && strcmp(o->name, p->name) == 0) ||
                (o->domain && p->domain && strcmp(o->domain, p->domain) == 0)) {
                fail(errbuf, errlen, "aliases[%zu]: '%s' listed twice", i, o->name ? o->name : o->domain);
                goto out;
            }
        }
    }
    if (m->machine && m->machine[0]) {
        if (!is_label(m->machine)) {
            fail(errbuf, errlen, "machine: '%.64s' is not a DNS label of [a-z0-9-]", m->machine);
            goto out;
        }
        c->machine = dp_xstrdup(m->machine);
    }
    if (m->pod_slug && m->pod_slug[0]) {
        if (!is_label(m->pod_slug)) {
            fail(errbuf, errlen, "pod_slug: '%.64s' is not a DNS label of [a-z0-9-]", m->pod_slug);
            goto out;
        }
        c->pod_slug = dp_xstrdup(m->pod_slug);
    }
    if (m->policy) {
        char perr[768];
        c->policy = dp_policy_compile(&m->policy->base, perr, sizeof(perr));
        if (c->policy == NULL) {
            fail(errbuf, errlen, "policy.%s", perr);
            goto out;
        }
    }
    *out = c;
    c = NULL;
    rc = 0;
out:
    dp_container_unref(c);
    return rc;
}

/* A validated record, repacked into one allocation: 100k containers cost
 * one block each instead of a dozen small ones (and their malloc headers).
 * Takes over t's policy; t is released. */
static size_t str_size(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

static char *put_str(char **cur, const char *s)
{
    if (s == NULL)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = memcpy(*cur, s, n);
    *cur += n;
    return d;
}

static dp_container_t *pack(dp_container_t *t)
{
    size_t sz = sizeof(*t) + t->n_addrs * sizeof(dp_caddr_t) + t->n_services * sizeof(dp_cservice_t) +
                t->n_aliases * sizeof(dp_calias_t);
    for (size_t i = 0; i < t->n_services; i++)
        sz += str_size(t->services[i].name);
    for (size_t i = 0; i < t->n_aliases; i++)
        sz += str_size(t->aliases[i].name) + str_size(t->aliases[i].domain) + str_size(t->aliases[i].service);
    sz += str_size(t->machine) + str_size(t->pod_slug);
    dp_container_t *c = dp_xmalloc(sz);
    *c = *t;
    atomic_init(&c->refcnt, 1);
    c->packed = true;
    char *cur = (char *)(c + 1);
    /* arrays first, most aligned first (pointers, then the 4-byte aligned
     * addresses), strings after */
    _Static_assert(sizeof(dp_cservice_t) % _Alignof(dp_calias_t) == 0, "packing order");
    _Static_assert(sizeof(dp_calias_t) % _Alignof(dp_caddr_t) == 0, "packing order");
    c->services = (dp_cservice_t *)(void *)cur;
    cur += t->n_services * sizeof(dp_cservice_t);
    c->aliases = (dp_calias_t *)(void *)cur;
    cur += t->n_aliases * sizeof(dp_calias_t);
    c->addrs = (dp_caddr_t *)(void *)cur;
    memcpy(c->addrs, t->addrs, t->n_addrs * sizeof(dp_caddr_t));
    cur += t->n_addrs * sizeof(dp_caddr_t);
    for (size_t i = 0; i < t->n_services; i++) {
        c->services[i].port = t->services[i].port;
        c->services[i].name = put_str(&cur, t->services[i].name);
    }
    for (size_t i = 0; i < t->n_aliases; i++) {
        c->aliases[i].instance = t->aliases[i].instance;
        c->aliases[i].name = put_str(&cur, t->aliases[i].name);
        c->aliases[i].domain = put_str(&cur, t->aliases[i].domain);
        c->aliases[i].service = put_str(&cur, t->aliases[i].service);
    }
    c->machine = put_str(&cur, t->machine);
    c->pod_slug = put_str(&cur, t->pod_slug);
    t->policy = NULL; /* moved */
    dp_container_unref(t);
    return c;
}

/* ---- writer -------------------------------------------------------------------- */

static const dp_container_t *owner_of(dp_rcumap_t *m, bool alias_map, const char *key)
{
    void *v = dp_rcumap_get(m, key, strlen(key));
    if (v == NULL)
        return NULL;
    return alias_map ? ((dp_alias_ref_t *)v)->c : (dp_container_t *)v;
}

/* Another container already claims one of c's names? */
static int check_claims(const dp_container_t *c, char *errbuf, size_t errlen)
{
    for (size_t i = 0; i < c->n_aliases; i++) {
        const dp_calias_t *a = &c->aliases[i];
        const dp_container_t *o =
            a->name ? owner_of(cat.aliases, true, a->name) : owner_of(cat.domains, true, a->domain);
        if (o && strcmp(o->id, c->id) != 0)
            return fail(errbuf, errlen, "aliases[%zu].%s: '%s' already belongs to container %s", i,
                        a->name ? "name" : "domain", a->name ? a->name : a->domain, o->id);
    }
    const dp_container_t *o;
    if (c->machine && (o = owner_of(cat.machines, false, c->machine)) && strcmp(o->id, c->id) != 0)
        return fail(errbuf, errlen, "machine: '%s' already belongs to container %s", c->machine, o->id);
    if (c->pod_slug && (o = owner_of(cat.pods, false, c->pod_slug)) && strcmp(o->id, c->id) != 0)
        return fail(errbuf, errlen, "pod_slug: '%s' already belongs to container %s", c->pod_slug, o->id);
    return 0;
}

static dp_alias_ref_t *alias_ref(dp_container_t *c, const dp_calias_t *a)
{
    dp_alias_ref_t *r = dp_xcalloc(1, sizeof(*r));
    atomic_init(&r->refcnt, 1);
    r->c = dp_container_ref(c);
    r->service = a->service;
    r->instance = a->instance;
    return r;
}

static bool has_alias(const dp_container_t *c, const char *name, const char *domain)
{
    for (size_t i = 0; c && i < c->n_aliases; i++)
        if ((name && c->aliases[i].name && strcmp(name, c->aliases[i].name) == 0) ||
            (domain && c->aliases[i].domain && strcmp(domain, c->aliases[i].domain) == 0))
            return true;
    return false;
}

static bool same_str(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* Removes the names `old` has and `now` (may be NULL) no longer has. */
static void drop_names(const dp_container_t *old, const dp_container_t *now)
{
    for (size_t i = 0; i < old->n_aliases; i++) {
        const dp_calias_t *a = &old->aliases[i];
        if (a->name && !has_alias(now, a->name, NULL))
            dp_rcumap_del(cat.aliases, a->name, strlen(a->name));
        if (a->domain && !has_alias(now, NULL, a->domain))
            dp_rcumap_del(cat.domains, a->domain, strlen(a->domain));
    }
    if (old->machine && !(now && same_str(old->machine, now->machine)))
        dp_rcumap_del(cat.machines, old->machine, strlen(old->machine));
    if (old->pod_slug && !(now && same_str(old->pod_slug, now->pod_slug)))
        dp_rcumap_del(cat.pods, old->pod_slug, strlen(old->pod_slug));
}

int dp_catalogue_put_container(const char *name, const ProtobufCMessage *msg, const char *version, char *errbuf,
                               size_t errlen)
{
    dp_container_t *c = NULL;
    int rc;

    CAT();
    if (msg == NULL || msg->descriptor != &dataplane__containers__v1__container__descriptor)
        return fail(errbuf, errlen, "not a dataplane.containers.v1.Container");
    if ((rc = build_container(name, (const pb_container_t *)msg, &c, errbuf, errlen)) != 0)
        return rc;
    if ((rc = check_claims(c, errbuf, errlen)) != 0) {
        dp_container_unref(c);
        return rc;
    }
    (void)version; /* the ADS client keeps it (CSDS, config_dump) */
    c = pack(c);
    const dp_container_t *old = dp_rcumap_get(cat.by_id, c->id, DP_CONTAINER_ID_LEN);
    if (old)
        dp_container_ref(old); /* the map's reference goes with the put below */
    /* New names first, then the old ones that went: a lookup never misses
     * a name both versions have. */
    dp_rcumap_put(cat.by_id, c->id, DP_CONTAINER_ID_LEN, c);
    for (size_t i = 0; i < c->n_aliases; i++) {
        const dp_calias_t *a = &c->aliases[i];
        if (a->name)
            dp_rcumap_put(cat.aliases, a->name, strlen(a->name), alias_ref(c, a));
        else
            dp_rcumap_put(cat.domains, a->domain, strlen(a->domain), alias_ref(c, a));
    }
    if (c->machine)
        dp_rcumap_put(cat.machines, c->machine, strlen(c->machine), dp_container_ref(c));
    if (c->pod_slug)
        dp_rcumap_put(cat.pods, c->pod_slug, strlen(c->pod_slug), dp_container_ref(c));
    if (old) {
        drop_names(old, c);
        dp_container_unref((dp_container_t *)old);
    }
    return 0;
}

void dp_catalogue_del_container(const char *name)
{
    CAT();
    const dp_container_t *old = dp_rcumap_get(cat.by_id, name, strlen(name));
    if (old == NULL)
        return;
    drop_names(old, NULL);
    dp_rcumap_del(cat.by_id, name, strlen(name)); /* last: old stays valid until the grace period */
}

int dp_catalogue_put_project(const char *name, const ProtobufCMessage *msg, char *errbuf, size_t errlen)
{
    CAT();
    if (msg == NULL || msg->descriptor != &dataplane__containers__v1__project__descriptor)
        return fail(errbuf, errlen, "not a dataplane.containers.v1.Project");
    const pb_project_t *m = (const pb_project_t *)msg;
    if (!is_hex_id(m->id))
        return fail(errbuf, errlen, "id: '%.64s' is not 24 lowercase hex digits", m->id ? m->id : "");
    if (strcmp(m->id, name) != 0)
        return fail(errbuf, errlen, "id: '%s' differs from the resource name '%.64s'", m->id, name);
    if (m->alias && m->alias[0] && !is_label(m->alias))
        return fail(errbuf, errlen, "alias: '%.64s' is not a DNS label of [a-z0-9-]", m->alias);
    dp_policy_t *pol = NULL;
    if (m->policy) {
        char perr[768];
        if ((pol = dp_policy_compile(&m->policy->base, perr, sizeof(perr))) == NULL)
            return fail(errbuf, errlen, "policy.%s", perr);
    }
    dp_project_t *p = dp_xcalloc(1, sizeof(*p));
    atomic_init(&p->refcnt, 1);
    memcpy(p->id, m->id, DP_CONTAINER_ID_LEN + 1);
    p->alias = m->alias && m->alias[0] ? dp_xstrdup(m->alias) : NULL;
    p->policy = pol;
    dp_rcumap_put(cat.projects, p->id, DP_CONTAINER_ID_LEN, p);
    return 0;
}

void dp_catalogue_del_project(const char *name)
{
    CAT();
    dp_rcumap_del(cat.projects, name, strlen(name));
}
