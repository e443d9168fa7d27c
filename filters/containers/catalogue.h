/* The container catalogue: what the dataplane.containers.v1 Container and
 * Project resources say, indexed for the container routing filter.
 *
 * One process-wide catalogue. The xDS thread is its only writer (put/del,
 * each O(1): a one-container change touches that container's keys only);
 * worker threads read it without locks (QSBR, dataplane/core/qsbr.h). A
 * pointer a lookup returns is valid until the reader's loop iteration ends;
 * a request that outlives it takes a reference (dp_container_ref), so an
 * in-flight request finishes on the record it started with.
 *
 * Indexes: container id, project id, alias name (`<name>.<base>`), custom
 * domain (full host), machine name, pod slug. An alias, domain, machine or
 * slug belongs to one container: a second claim is refused. */
#ifndef DP_FILTERS_CONTAINERS_CATALOGUE_H
#define DP_FILTERS_CONTAINERS_CATALOGUE_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <protobuf-c/protobuf-c.h>

struct dp_policy; /* filters/containers/policy.h */

#define DP_CONTAINER_ID_LEN 24

typedef union dp_caddr {
    struct sockaddr sa;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
} dp_caddr_t;

typedef struct dp_cservice {
    char *name;
    uint16_t port;
} dp_cservice_t;

typedef struct dp_calias {
    char *name;   /* label under a base domain, or NULL */
    char *domain; /* full custom domain, or NULL */
    char *service;
    uint32_t instance; /* >= 1 */
} dp_calias_t;

typedef struct dp_container {
    _Atomic int refcnt;
    char id[DP_CONTAINER_ID_LEN + 1];
    char project[DP_CONTAINER_ID_LEN + 1];
    bool running;
    dp_caddr_t *addrs; /* instance i+1 */
    size_t n_addrs;
    dp_cservice_t *services;
    size_t n_services;
    dp_calias_t *aliases;
    size_t n_aliases;
    char *machine, *pod_slug; /* NULL: none */
    struct dp_policy *policy; /* NULL: the project's */
    bool packed;              /* one allocation holds the record, its arrays and strings */
} dp_container_t;

typedef struct dp_project {
    _Atomic int refcnt;
    char id[DP_CONTAINER_ID_LEN + 1];
    char *alias;
    struct dp_policy *policy; /* NULL: default deny, no groups */
} dp_project_t;

/* What an alias or custom domain resolves to. */
typedef struct dp_alias_ref {
    _Atomic int refcnt;
    dp_container_t *c; /* reference held */
    const char *service; /* into c */
    uint32_t instance;
} dp_alias_ref_t;

/* ---- writer (xDS thread) ---- */
/* msg: a decoded dataplane.containers.v1.Container / Project (not taken);
 * name: the resource name, which must equal its id. On error nothing
 * changes and errbuf names the field. */
int dp_catalogue_put_container(const char *name, const ProtobufCMessage *msg, const char *version, char *errbuf,
                               size_t errlen);
void dp_catalogue_del_container(const char *name);
int dp_catalogue_put_project(const char *name, const ProtobufCMessage *msg, char *errbuf, size_t errlen);
void dp_catalogue_del_project(const char *name);
/* Frees what readers can no longer see (called after a batch of changes). */
void dp_catalogue_reclaim(void);

/* ---- readers (any thread online in QSBR) ---- */
const dp_container_t *dp_catalogue_container(const char *id, size_t len);
const dp_project_t *dp_catalogue_project(const char *id, size_t len);
const dp_alias_ref_t *dp_catalogue_alias(const char *name, size_t len);
const dp_alias_ref_t *dp_catalogue_domain(const char *host, size_t len);
const dp_container_t *dp_catalogue_machine(const char *name, size_t len);
const dp_container_t *dp_catalogue_pod(const char *slug, size_t len);

dp_container_t *dp_container_ref(const dp_container_t *c);
void dp_container_unref(dp_container_t *c);
dp_project_t *dp_project_ref(const dp_project_t *p);
void dp_project_unref(dp_project_t *p);

/* The port of a service of c (the container's own list), 0 if absent. */
uint16_t dp_container_port(const dp_container_t *c, const char *service, size_t len);

typedef struct dp_catalogue_stats {
    size_t containers, projects, aliases, domains, index_bytes;
} dp_catalogue_stats_t;
void dp_catalogue_stats(dp_catalogue_stats_t *out);

#endif
