/* Self-check and lifetime of the transparent-upstream set-up (see
 * transparent.h). */
#include "dataplane/transparent/transparent.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dataplane/core/common.h"
#include "dataplane/core/log.h"
#include "dataplane/transparent/netsetup.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

static struct {
    pthread_mutex_t mu;
    bool inited, install, capable, installed, failed;
    _Atomic bool ready;
    dp_netsetup_t ns;
    char why[256];
} T = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* Can a socket of that family be made transparent? "" when yes. */
static bool probe_family(int family, char *why, size_t len)
{
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1, rc;

    if (fd < 0) {
        /* no IPv6 on this machine is not a reason to refuse IPv4 */
        return family == AF_INET6;
    }
    if (family == AF_INET)
        rc = setsockopt(fd, IPPROTO_IP, IP_TRANSPARENT, &one, sizeof(one));
    else
        rc = setsockopt(fd, IPPROTO_IPV6, IPV6_TRANSPARENT, &one, sizeof(one));
    if (rc != 0) {
        int e = errno;
        snprintf(why, len, "%s: %s%s", family == AF_INET ? "IP_TRANSPARENT" : "IPV6_TRANSPARENT", strerror(e),
                 e == EPERM ? " (CAP_NET_ADMIN missing)" : e == ENOPROTOOPT ? " (kernel without it)" : "");
        close(fd);
        return false;
    }
    if (family == AF_INET && setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one)) != 0) {
        snprintf(why, len, "IP_BIND_ADDRESS_NO_PORT: %s (kernel older than 4.2?)", strerror(errno));
        close(fd);
        return false;
    }
    close(fd);
    return true;
}

bool dp_transparent_init(const dp_transparent_opts_t *o)
{
    pthread_mutex_lock(&T.mu);
    T.inited = true;
    T.install = o ? o->install : true;
    T.ns.mark = o && o->mark ? o->mark : DP_TRANSPARENT_MARK;
    T.ns.table = o && o->table ? o->table : DP_TRANSPARENT_TABLE;
    T.ns.pref = o && o->pref ? o->pref : DP_TRANSPARENT_PREF;
    T.capable = probe_family(AF_INET, T.why, sizeof(T.why)) && probe_family(AF_INET6, T.why, sizeof(T.why));
    if (T.capable)
        DP_INFO("transparent upstreams: available (kernel set-up on first use: fwmark 0x%x, table %u)", T.ns.mark,
                T.ns.table);
    else
        DP_WARN("transparent upstreams unavailable: %s; listeners with original_src follow their fallback "
                "(REFUSE unless dataplane.filters.listener.original_src_fallback says otherwise)",
                T.why);
    bool ok = T.capable;
    pthread_mutex_unlock(&T.mu);
    return ok;
}

bool dp_transparent_require(const char **why)
{
    if (atomic_load_explicit(&T.ready, memory_order_acquire))
        return true;
    pthread_mutex_lock(&T.mu);
    bool ok = false;
    if (!T.inited) {
        *why = "not initialised in this process";
    } else if (!T.capable || T.failed) {
        *why = T.why;
    } else if (!T.install) {
        ok = true; /* validate mode: capable is all we can say */
    } else {
        char err[200];
        if (dp_netsetup_install(&T.ns, err, sizeof(err)) == 0) {
            T.installed = true;
            atomic_store_explicit(&T.ready, true, memory_order_release);
            DP_INFO("transparent upstreams: kernel set up (nftables socket match -> fwmark 0x%x, ip rule -> table "
                    "%u, local default routes on lo)",
                    T.ns.mark, T.ns.table);
            ok = true;
        } else {
            T.failed = true;
            snprintf(T.why, sizeof(T.why), "kernel set-up failed: %s", err);
            DP_WARN("transparent upstreams unavailable: %s", T.why);
            *why = T.why;
        }
    }
    pthread_mutex_unlock(&T.mu);
    return ok;
}

bool dp_transparent_ready(void)
{
    return atomic_load_explicit(&T.ready, memory_order_acquire);
}

void dp_transparent_shutdown(void)
{
    pthread_mutex_lock(&T.mu);
    if (T.installed) {
        dp_netsetup_remove(&T.ns);
        T.installed = false;
        atomic_store(&T.ready, false);
        DP_INFO("transparent upstreams: kernel set-up removed");
    }
    pthread_mutex_unlock(&T.mu);
}
