/* The raw_buffer transport (Envoy's name for plain TCP). */
#include <errno.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "dataplane/core/common.h"
#include "dataplane/transport/sock.h"

static ssize_t raw_read(dp_sock_t *s, void *buf, size_t len)
{
    for (;;) {
        ssize_t n = read(s->fd, buf, len);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return DP_EAGAIN;
        return DP_ECLOSED;
    }
}

static ssize_t raw_writev(dp_sock_t *s, const struct iovec *iov, int iovcnt)
{
    for (;;) {
        ssize_t n = writev(s->fd, iov, iovcnt > IOV_MAX ? IOV_MAX : iovcnt);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return DP_EAGAIN;
        return DP_ECLOSED;
    }
}

static void raw_shutdown(dp_sock_t *s)
{
    shutdown(s->fd, SHUT_WR);
}

static void raw_dispose(dp_sock_t *s)
{
    (void)s;
}

const dp_transport_ops_t dp_transport_raw = {
    .name = "raw_buffer",
    .read = raw_read,
    .writev = raw_writev,
    .shutdown = raw_shutdown,
    .dispose = raw_dispose,
};
