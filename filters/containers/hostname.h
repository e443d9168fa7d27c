/* Container URL host forms of the platform: a sans-I/O parser from the raw
 * Host / :authority value to one outcome with its parts. First step of the
 * container routing filter (filters/containers/).
 *
 * No allocation, no I/O: dp_host_parse() lowercases the host into the
 * result's own buffer and returns slices into it. It costs O(length of the
 * host) (times the number of base domains, at most DP_HOSTPAT_MAX_BASES).
 *
 * Forms, under one of the configured base domains (case-insensitive):
 *
 *   <project>-<container>-<service>-<instance>.<node>.<base>   CONTAINER
 *   <project>-<container>-<service>-<instance>.<base>          CONTAINER (only
 *                                             with DP_HOSTPAT_CONTAINER_NO_NODE)
 *   localhost-<port>-pod-<slug>.<base>                         PORT_POD
 *   <port>__<machine>.<base>                                   PORT_MACHINE
 *   <label>.<base>  or  <label>.<node>.<base>                  NAME
 *
 * project and container are 24 hex digits each; service is everything between
 * the container id's '-' and the label's last '-' (it may hold '-': "http-8080");
 * instance and every port are decimals 1..65535 without leading zeros.
 *
 * Choices where the forms leave it open (all tested in
 * tests/unit/containers/hostname_test.c):
 *  - Normalising strips ":<digits>" at the end (an empty port, "host:", too,
 *    as RFC 9110 allows it), then one trailing '.', then lowercases. A host
 *    that starts with '[' (IPv6 literal) is never ours.
 *  - "Under a base domain" means a strict subdomain. The base domain itself
 *    (the apex) is NOT_OURS even if a shorter base also matches it: the
 *    platform's own apex is served by the standard virtual hosts.
 *  - When several base domains match, the longest wins.
 *  - Every label is 1..63 characters (the DNS limit, so the wildcard
 *    certificate and DNS work): that includes the whole "<port>__<machine>"
 *    label, so machine is at most 63 - len(port) - 2 characters.
 *  - service, slug and machine follow the label rules: [a-z0-9-], neither
 *    starting nor ending with '-'.
 *  - A form is recognised by its start: CONTAINER by 24 hex digits and '-';
 *    PORT_POD by "localhost-" and a digit; PORT_MACHINE by a '_'. A label that
 *    starts like an enabled form and then breaks it is MALFORMED, it is never
 *    taken as a NAME. A disabled form is not recognised at all (its label is
 *    a NAME, or MALFORMED when it holds '_').
 *  - A CONTAINER label directly under the base without
 *    DP_HOSTPAT_CONTAINER_NO_NODE, or a PORT_POD / PORT_MACHINE label under a
 *    node label, is MALFORMED.
 *  - WRONG_NODE applies to CONTAINER and NAME hosts under a node label that
 *    is not the pattern's node; the parts are filled as for the form
 *    (result.form). A malformed first label is reported as MALFORMED first.
 */
#ifndef DP_FILTERS_CONTAINERS_HOSTNAME_H
#define DP_FILTERS_CONTAINERS_HOSTNAME_H

#include <stdint.h>

#include "dataplane/core/common.h"

#define DP_HOST_MAX 253        /* longest normalised host */
#define DP_HOST_LABEL_MAX 63   /* longest label */
#define DP_HOST_BUFSZ (DP_HOST_MAX + 1) /* a normalised host and its NUL */
#define DP_HOSTPAT_MAX_BASES 8

/* Pattern flags. The zero value is the default: container form on, without
 * the node-less variant, port forms off. */
enum {
    DP_HOSTPAT_NO_CONTAINER = 1u << 0,      /* container form off */
    DP_HOSTPAT_CONTAINER_NO_NODE = 1u << 1, /* also <container label>.<base> */
    DP_HOSTPAT_PORT_POD = 1u << 2,          /* localhost-<port>-pod-<slug> */
    DP_HOSTPAT_PORT_MACHINE = 1u << 3,      /* <port>__<machine> */
};

/* Configuration, read only during dp_hostpat_init(); nothing of it is kept. */
typedef struct dp_hostpat_config {
    const char *const *bases; /* 1..DP_HOSTPAT_MAX_BASES hostnames, any case,
                                 one trailing '.' allowed, no port */
    size_t nbases;
    const char *node;         /* NULL or "": any node label is accepted and
                                 returned as is; else one label (any case) */
    unsigned flags;           /* DP_HOSTPAT_* */
} dp_hostpat_config_t;

typedef struct dp_hostpat_base {
    size_t len;
    char name[DP_HOST_BUFSZ]; /* normalised, NUL-terminated */
} dp_hostpat_base_t;

/* A compiled pattern: self-contained (no pointers, no allocation), may be
 * copied by value, immutable after dp_hostpat_init() and so shareable between
 * threads. */
typedef struct dp_hostpat {
    unsigned flags;
    size_t nbases;
    dp_hostpat_base_t bases[DP_HOSTPAT_MAX_BASES]; /* longest first */
    size_t node_len;                               /* 0: no node name */
    char node[DP_HOST_LABEL_MAX + 1];
} dp_hostpat_t;

/* Builds *pat from *cfg. Returns 0, or DP_EINVAL with *err (may be NULL)
 * pointing to a static message: no base domain, too many, a base that is
 * not a valid hostname, a duplicate base, a node that is not one valid label,
 * an unknown flag. *pat is unusable after a failure. */
int dp_hostpat_init(dp_hostpat_t *pat, const dp_hostpat_config_t *cfg, const char **err);

typedef enum dp_host_kind {
    DP_HOST_NOT_OURS = 0, /* not under a base domain (or the apex itself) */
    DP_HOST_CONTAINER,
    DP_HOST_PORT_POD,
    DP_HOST_PORT_MACHINE,
    DP_HOST_NAME,         /* alias candidate: result.name */
    DP_HOST_WRONG_NODE,   /* CONTAINER or NAME (result.form) of another node */
    DP_HOST_MALFORMED,    /* under a base domain but broken: result.reason */
} dp_host_kind_t;

/* The outcome of dp_host_parse(). Every slice points into buf (or is empty),
 * so the struct must not be copied by value while its slices are in use.
 * Slices not listed for an outcome are empty. */
typedef struct dp_host_result {
    dp_host_kind_t kind;
    dp_host_kind_t form;  /* == kind, except for WRONG_NODE: CONTAINER or NAME */
    /* MALFORMED: why (static, names no part of the host; fit for a 400 body).
     * NOT_OURS with an empty host: why the host is not a valid hostname.
     * Otherwise NULL. */
    const char *reason;
    /* The normalised host, NUL-terminated in buf: set for every outcome
     * except a host too long to normalise and a NOT_OURS host that is not a
     * valid hostname. For NOT_OURS it is what dp_host_normalise() gives: the
     * key for the custom-domain lookup. */
    dp_slice_t host;
    dp_slice_t base;      /* every outcome under a base domain */
    dp_slice_t node;      /* CONTAINER, NAME, WRONG_NODE: the node label, if any */
    dp_slice_t project;   /* CONTAINER: 24 lowercase hex digits */
    dp_slice_t container; /* CONTAINER: 24 lowercase hex digits */
    dp_slice_t service;   /* CONTAINER */
    dp_slice_t name;      /* NAME: the alias candidate */
    dp_slice_t slug;      /* PORT_POD */
    dp_slice_t machine;   /* PORT_MACHINE */
    uint16_t instance;    /* CONTAINER: 1..65535 */
    uint16_t port;        /* PORT_POD, PORT_MACHINE, CONTAINER whose service is
                             "http-<port>"; else 0 */
    char buf[DP_HOST_BUFSZ];
} dp_host_result_t;

/* Classifies the raw Host / :authority value in[0..len) (any bytes; in need
 * not be NUL-terminated) against *pat. Fills *res and returns res->kind.
 * Never fails otherwise, never allocates. */
dp_host_kind_t dp_host_parse(const dp_hostpat_t *pat, const char *in, size_t len,
                             dp_host_result_t *res);

/* Normalises a Host value as dp_host_parse() does (port and one trailing
 * '.' stripped, lowercased) and checks it is a hostname (1..253 chars,
 * labels of 1..63 [a-z0-9-] not starting or ending with '-'). Writes it,
 * NUL-terminated, to out. Returns its length (> 0); DP_EINVAL if it is not a
 * hostname (empty, IPv6 literal, bad label, too long); DP_ERR if outlen is
 * too small (DP_HOST_BUFSZ always suffices). out is unspecified on error. */
int dp_host_normalise(const char *in, size_t len, char *out, size_t outlen);

/* "not_ours", "container", ... for logs and stats; "?" for other values. */
const char *dp_host_kind_name(dp_host_kind_t kind);

#endif
