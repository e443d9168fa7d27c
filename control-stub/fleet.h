/* The fleet file: the platform's own description of what runs where
 * (nodes, projects, containers and their services, aliases), as the
 * control stub reads it. The format is documented in control-stub/README.md.
 *
 * dp_fleet_load() parses a YAML file through xds/cfgtree.h, so every error
 * names "FILE:LINE:COL: field: reason"; the result is a plain immutable
 * model with every reference resolved to an index, which
 * dp_fleet_translate() (fleet_xlate.c) turns into Envoy resources. */
#ifndef DP_STUB_FLEET_H
#define DP_STUB_FLEET_H

#include <stddef.h>

#define DP_FLEET_ID_LEN 24 /* hex digits of project and container ids */

/* Default internal ports of the named services (operator-configurable in
 * the file's `defaults.ports`). */
#define DP_FLEET_PORT_TERMINAL 76
#define DP_FLEET_PORT_DISPLAY 3998
#define DP_FLEET_PORT_SQLITE 5

typedef struct dp_fleet_node {
    char *name;        /* DNS label, unique */
    char *base_domain; /* e.g. containers.example.test */
    char *listen_addr; /* IP literal of the node's listener */
    unsigned listen_port;
} dp_fleet_node_t;

typedef struct dp_fleet_project {
    char id[DP_FLEET_ID_LEN + 1]; /* lower-case hex */
    char *alias;                  /* DNS label, unique, or NULL */
} dp_fleet_project_t;

typedef struct dp_fleet_service {
    char *name;    /* terminal, display, sqlite, http-<port>, ... */
    unsigned port; /* internal port in the container, 1..65535 */
} dp_fleet_service_t;

typedef struct dp_fleet_container {
    char id[DP_FLEET_ID_LEN + 1];
    size_t project; /* index into dp_fleet_t.projects */
    size_t node;    /* index into dp_fleet_t.nodes */
    int running;    /* state: running (1) or stopped (0) */
    char *address;  /* IP literal the node reaches the container at */
    dp_fleet_service_t *services;
    size_t nservices;
} dp_fleet_container_t;

typedef struct dp_fleet_alias {
    char *name;       /* DNS label, unique */
    size_t container; /* index into dp_fleet_t.containers */
    size_t service;   /* index into that container's services */
    unsigned index;   /* instance, 1-based (one instance per service today) */
} dp_fleet_alias_t;

typedef struct dp_fleet {
    dp_fleet_node_t *nodes;
    size_t nnodes;
    dp_fleet_project_t *projects;
    size_t nprojects;
    dp_fleet_container_t *containers;
    size_t ncontainers;
    dp_fleet_alias_t *aliases;
    size_t naliases;
} dp_fleet_t;

/* Parses `len` bytes of fleet YAML; `filename` labels errors. On success
 * *out is a new fleet owned by the caller (dp_fleet_free()); on failure
 * *out is NULL and errbuf holds "FILE:LINE:COL: field: reason".
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
