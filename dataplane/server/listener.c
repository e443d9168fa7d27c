#include "dataplane/server/listener.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataplane/core/common.h"
#include "xds/snapshot.h"

int dp_listen_socket(const struct sockaddr *addr, socklen_t len, int reuseport)
{
    int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (reuseport)
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (addr->sa_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, addr, len) != 0 || listen(fd, 4096) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

dp_lsock_t *dp_lsock_ref(dp_lsock_t *l)
{
    atomic_fetch_add(&l->refcnt, 1);
    return l;
}

void dp_lsock_unref(dp_lsock_t *l)
{
    if (l == NULL || atomic_fetch_sub(&l->refcnt, 1) != 1)
        return;
    for (int i = 0; i < l->n_fds; i++)
        if (l->fds[i] >= 0)
            close(l->fds[i]);
    free(l->fds);
    dp_listener_cfg_unref(l->cfg);
    free(l->name);
    free(l);
}

dp_lset_t *dp_lset_ref(dp_lset_t *s)
{
    atomic_fetch_add(&s->refcnt, 1);
    return s;
}

void dp_lset_unref(dp_lset_t *s)
{
    if (s == NULL || atomic_fetch_sub(&s->refcnt, 1) != 1)
        return;
    for (size_t i = 0; i < s->n; i++)
        dp_lsock_unref(s->v[i]);
    free(s->v);
    free(s);
}

static const dp_lsock_t *find_prev(const dp_lset_t *prev, const dp_listener_cfg_t *cfg, int n_workers)
{
    if (prev == NULL)
        return NULL;
    for (size_t i = 0; i < prev->n; i++) {
        const dp_lsock_t *l = prev->v[i];
        if (strcmp(l->name, cfg->name) == 0 && l->n_fds == n_workers && l->cfg->addrlen == cfg->addrlen &&
            memcmp(&l->cfg->addr, &cfg->addr, cfg->addrlen) == 0)
            return l;
    }
    return NULL;
}

static bool is_stopped(const dp_listener_cfg_t *cfg, dp_lstop_t stop)
{
    return stop == DP_LSTOP_ALL || (stop == DP_LSTOP_INBOUND && cfg->inbound);
}

dp_lset_t *dp_lset_build(const dp_lset_t *prev, dp_listener_cfg_t *const *listeners, size_t n, int n_workers,
                         dp_lstop_t stop, size_t *failed, char *errbuf, size_t errlen)
{
    dp_lset_t *s = dp_xcalloc(1, sizeof(*s));
    s->refcnt = 1;
    s->v = dp_xcalloc(n ? n : 1, sizeof(*s->v));
    for (size_t i = 0; i < n; i++) {
        dp_listener_cfg_t *cfg = listeners[i];
        dp_lsock_t *l = dp_xcalloc(1, sizeof(*l));
        l->refcnt = 1;
        l->name = dp_xstrdup(cfg->name);
        l->cfg = dp_listener_cfg_ref(cfg);
        s->v[s->n++] = l;
        if (is_stopped(cfg, stop))
            continue; /* no socket: its connections go on, nothing new comes */
        l->n_fds = n_workers;
        l->fds = dp_xmalloc(sizeof(int) * (size_t)n_workers);
        const dp_lsock_t *old = find_prev(prev, cfg, n_workers);
        for (int w = 0; w < n_workers; w++) {
            if (old) {
                l->fds[w] = dup(old->fds[w]);
            } else {
                l->fds[w] = dp_listen_socket((const struct sockaddr *)&cfg->addr, cfg->addrlen, 1);
            }
            if (l->fds[w] < 0) {
                snprintf(errbuf, errlen, "listener '%s': cannot bind %s: %s", cfg->name, cfg->addr_str,
                         strerror(errno));
                for (int k = w; k < n_workers; k++)
                    l->fds[k] = -1;
                if (failed)
                    *failed = i;
                dp_lset_unref(s);
                return NULL;
            }
        }
    }
    return s;
}
