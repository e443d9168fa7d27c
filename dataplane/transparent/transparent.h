/* Transparent upstreams: connections to a container that carry the real
 * client's address as their TCP source (Envoy's original_src filters).
 *
 *   dp_transparent_init()    start-up self-check: can this process make
 *                            transparent sockets here (CAP_NET_ADMIN,
 *                            IP_TRANSPARENT / IPV6_TRANSPARENT,
 *                            IP_BIND_ADDRESS_NO_PORT)? Logs the verdict.
 *   dp_transparent_require() a listener wants it: the kernel routing is set
 *                            up over netlink on first need (netsetup.h);
 *                            false + reason when it cannot be. Thread-safe
 *                            (translation runs on the xDS thread).
 *   dp_transparent_shutdown() removes the set-up at exit.
 *
 * Before dp_transparent_init() (unit tests, tools) everything reports
 * "unavailable" without touching the kernel. */
#ifndef DP_TRANSPARENT_TRANSPARENT_H
#define DP_TRANSPARENT_TRANSPARENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Defaults of the kernel set-up: an fwmark and table unlikely to collide
 * ("dp" in hex), and a rule priority before the main table's. */
#define DP_TRANSPARENT_MARK 0x6470u
#define DP_TRANSPARENT_TABLE 6470u
#define DP_TRANSPARENT_PREF 6470u

typedef struct dp_transparent_opts {
    bool install;   /* set up the kernel when needed (false: --mode validate, probe only) */
    uint32_t mark, table, pref; /* 0: the defaults above */
} dp_transparent_opts_t;

/* Probes once; returns whether transparent upstreams can work here. */
bool dp_transparent_init(const dp_transparent_opts_t *o);
/* true when usable (the kernel set-up done, or done now). Otherwise
 * false and *why (static, or valid until exit) says what is missing. */
bool dp_transparent_require(const char **why);
/* Whether it is usable right now, without setting anything up. */
bool dp_transparent_ready(void);
void dp_transparent_shutdown(void);

#endif
