/* The fleet file: the platform's own description of what runs where
 * (nodes, projects, containers and their services, aliases, permissions),
 * as the control stub reads it. The format is documented in
 * control-stub/README.md.
 *
 * dp_fleet_load() parses a YAML file through xds/cfgtree.h, so every error
 * names "FILE:LINE:COL: field: reason"; the result is a plain immutable
 * model with every reference resolved to an index and every file it
 * names (jwks_file, htpasswd_file) read, which dp_fleet_translate()
 * (fleet_xlate.c) turns into Envoy resources and catalogue resources. */
#ifndef DP_STUB_FLEET_H
#define DP_STUB_FLEET_H

#include <stddef.h>

#define DP_FLEET_ID_LEN 24 /* hex digits of project and container ids */
#define DP_FLEET_SHA256_HEX 64

/* Default internal ports of the named services (operator-configurable in
 * the file's `defaults.ports`). */
#define DP_FLEET_PORT_TERMINAL 76
#define DP_FLEET_PORT_DISPLAY 3998
#define DP_FLEET_PORT_SQLITE 5

typedef struct dp_fleet_listener {
    char *address; /* IP literal */
    unsigned port; /* 1..65535 */
    int tls;       /* HTTPS with the node's certificates (tls: true) */
} dp_fleet_listener_t;

/* A certificate of a node (`certificates:`), files read at parse time and
 * served to the data plane as SDS secrets. */
typedef struct dp_fleet_cert {
    char *cert_pem; /* cert_file's contents (chain, PEM) */
    char *key_pem;  /* key_file's contents (PEM) */
    char **server_names; /* SNI it serves: exact or "*.suffix"; default
                          * "*.<node>.<base_domain>" and "*.<base_domain>" */
    size_t nserver_names;
} dp_fleet_cert_t;

typedef struct dp_fleet_node {
    char *name;                     /* DNS label, unique */
    char *csds;                     /* the data plane's CSDS address "HOST:PORT"
                                     * (its --csds-address), polled by the stub;
                                     * NULL: not polled */
    char *base_domain;              /* e.g. containers.example.test */
    dp_fleet_listener_t *listeners; /* at least one, no duplicates */
    size_t nlisteners;
    int port_pod_form;     /* localhost-<port>-pod-<slug>.<base> */
    int port_machine_form; /* <port>__<machine>.<base> */
    int transparent;       /* containers see the client's address as the TCP source
                            * (envoy.filters.listener.original_src on every listener) */
    int transparent_forward; /* transparent_fallback: forward (else refuse): where the
                              * data plane cannot make transparent sockets, it serves
                              * with X-Forwarded-For / X-Real-IP instead of refusing */
    dp_fleet_cert_t *certs; /* required when a listener has tls */
    size_t ncerts;
} dp_fleet_node_t;

typedef enum dp_fleet_gtype {
    DP_FLEET_G_JWT = 0,
    DP_FLEET_G_PASSWORD,
    DP_FLEET_G_IP,
    DP_FLEET_G_TOKEN,
} dp_fleet_gtype_t;

/* A service a group grants; service "*" is every service. */
typedef struct dp_fleet_grant {
    char *service;
    int read_only; /* GET, HEAD and OPTIONS only */
} dp_fleet_grant_t;

typedef struct dp_fleet_claim {
    char *name;
    char **values; /* at least one */
    size_t nvalues;
} dp_fleet_claim_t;

typedef struct dp_fleet_group {
    char *name; /* unique within its permission set */
    dp_fleet_gtype_t type;
    /* jwt */
    char *issuer; /* or NULL */
    char **audiences;
    size_t naudiences;
    char *jwks; /* JWKS JSON or PEM (jwks_file's contents) */
    dp_fleet_claim_t *claims;
    size_t nclaims;
    /* password: htpasswd lines joined with '\n' (htpasswd_file's contents) */
    char *htpasswd;
    /* ip: CIDRs ("10.0.0.0/8", or a bare address) as written */
    /* token: lowercase hex SHA-256 of each token (plain tokens are
     * hashed at parse time and never kept) */
    char **list; /* cidrs (ip) or sha256 (token) */
    size_t nlist;
    dp_fleet_grant_t *grants;
    size_t ngrants;
} dp_fleet_group_t;

/* `permissions:` of a project or a container. */
typedef struct dp_fleet_perms {
    int set; /* the key was given (a container's replace its project's) */
    int default_allow;
    int forward_credentials;
    dp_fleet_group_t *groups;
    size_t ngroups;
} dp_fleet_perms_t;

typedef struct dp_fleet_project {
    char id[DP_FLEET_ID_LEN + 1]; /* lower-case hex */
    char *alias;                  /* DNS label, unique, or NULL */
    dp_fleet_perms_t perms;       /* not set: the data plane denies everything */
} dp_fleet_project_t;

/* Active health check of a container service, asked of the node's data
 * plane over HDS (health_check: in defaults, a container, a service; each
 * level replaces the keys it gives). */
typedef enum dp_fleet_hc_type {
    DP_FLEET_HC_TCP = 0, /* connect only */
    DP_FLEET_HC_HTTP,    /* GET `path`: healthy on 200 (Envoy's default) */
    DP_FLEET_HC_NONE,    /* not checked */
} dp_fleet_hc_type_t;

#define DP_FLEET_HC_INTERVAL_MS 1000
#define DP_FLEET_HC_TIMEOUT_MS 1000
#define DP_FLEET_HC_UNHEALTHY 2
#define DP_FLEET_HC_HEALTHY 1
#define DP_FLEET_HC_REPORT_MS 1000

typedef struct dp_fleet_hc {
    dp_fleet_hc_type_t type;
    char *path; /* HTTP: request path (default "/"); NULL for TCP / none */
    char *host; /* HTTP: Host header, NULL: the cluster name (Envoy's default) */
    unsigned interval_ms, timeout_ms; /* 1..3600000 */
    unsigned unhealthy_threshold, healthy_threshold; /* 1..1000 */
} dp_fleet_hc_t;

typedef struct dp_fleet_service {
    char *name;       /* terminal, display, sqlite, http-<port>, ... */
    unsigned port;    /* internal port in the container, 1..65535 */
    dp_fleet_hc_t hc; /* resolved: defaults < container < service */
} dp_fleet_service_t;

typedef struct dp_fleet_container {
    char id[DP_FLEET_ID_LEN + 1];
    size_t project;   /* index into dp_fleet_t.projects */
    size_t node;      /* index into dp_fleet_t.nodes */
    int running;      /* state: running (1) or stopped (0) */
    char **addresses; /* IP literals, instance i+1 = addresses[i]; a
                       * running container has at least one */
    size_t naddresses;
    dp_fleet_service_t *services;
    size_t nservices;
    char *machine;  /* DNS label, unique, or NULL */
    char *pod_slug; /* DNS label, unique, or NULL */
    dp_fleet_perms_t perms;
} dp_fleet_container_t;

typedef struct dp_fleet_alias {
    char *name;       /* DNS label (<name>.<base>), unique, or NULL */
    char *domain;     /* full custom domain, unique, or NULL (one of the
                       * two at least) */
    size_t container; /* index into dp_fleet_t.containers */
    size_t service;   /* index into that container's services */
    unsigned index;   /* instance, 1-based */
} dp_fleet_alias_t;

typedef struct dp_fleet {
    unsigned default_ports[3]; /* terminal, display, sqlite */
    dp_fleet_hc_t default_hc;  /* defaults.health_check */
    unsigned hds_report_ms;    /* defaults.health_check.report_interval: how
                                * often data planes send HDS reports */
    dp_fleet_node_t *nodes;
    size_t nnodes;
    dp_fleet_project_t *projects;
    size_t nprojects;
    dp_fleet_container_t *containers;
    size_t ncontainers;
    dp_fleet_alias_t *aliases;
    size_t naliases;
} dp_fleet_t;

/* Parses `len` bytes of fleet YAML; `filename` labels errors, and files
 * the fleet names (jwks_file, htpasswd_file) are relative to its
 * directory. On success *out is a new fleet owned by the caller
 * (dp_fleet_free()); on failure *out is NULL and errbuf holds
 * "FILE:LINE:COL: field: reason".
 * Returns 0, DP_EINVAL or DP_ENOMEM. */
int dp_fleet_parse(const char *text, size_t len, const char *filename, dp_fleet_t **out, char *errbuf,
                   size_t errlen);

/* Same for a file. Also returns DP_ERR when it cannot be read. */
int dp_fleet_load(const char *path, dp_fleet_t **out, char *errbuf, size_t errlen);

/* NULL is fine. */
void dp_fleet_free(dp_fleet_t *f);

/* Index of the node named `name`, or -1. */
long dp_fleet_find_node(const dp_fleet_t *f, const char *name);

#endif
