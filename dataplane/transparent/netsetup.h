/* The kernel side of transparent upstreams, set up over netlink by the
 * proxy itself (no iptables, no ip(8) scripts):
 *
 *   nft:  table inet dataplane_transparent { chain prerouting { type filter
 *         hook prerouting priority mangle; meta l4proto tcp socket
 *         transparent 1 meta mark set MARK } }
 *   ip rule add fwmark MARK lookup TABLE pref PREF        (IPv4 and IPv6)
 *   ip route add local 0.0.0.0/0 dev lo table TABLE       (and ::/0)
 *
 * An upstream socket bound to the client's address (IP_TRANSPARENT) sends
 * from that address; the container's replies come back addressed to the
 * client. The nftables socket match finds our transparent socket for them
 * and marks them, and the rule + local route deliver marked packets to the
 * local stack instead of forwarding them. (SO_MARK on the upstream socket
 * marks what it sends, not the replies: the socket match is what works.)
 *
 * Install deletes before it adds, so a crash that left the set-up behind
 * never blocks the next start; remove deletes whatever is there. Both
 * need CAP_NET_ADMIN in the network namespace. */
#ifndef DP_TRANSPARENT_NETSETUP_H
#define DP_TRANSPARENT_NETSETUP_H

#include <stddef.h>
#include <stdint.h>

typedef struct dp_netsetup {
    uint32_t mark;  /* fwmark the replies get */
    uint32_t table; /* routing table holding the local default routes */
    uint32_t pref;  /* ip rule priority (before the main table's 32766) */
} dp_netsetup_t;

/* 0, or DP_ERR with errbuf naming the step and the kernel's reason (what
 * was added before the failure is removed again). */
int dp_netsetup_install(const dp_netsetup_t *ns, char *errbuf, size_t errlen);
void dp_netsetup_remove(const dp_netsetup_t *ns);

#endif
