#include "dataplane/transport/sock.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataplane/core/common.h"

#define DIRECT_WRITE_MIN 8192 /* below this, coalesce into the output queue */
#define READS_PER_EVENT 4

static void on_io(struct ev_loop *ev, ev_io *w, int revents);
static void io_update(dp_sock_t *s);
static void feed(dp_sock_t *s, bool rd);

static dp_sock_t *sock_alloc(dp_loop_t *loop, int fd, const dp_transport_ops_t *tops)
{
    dp_sock_t *s = dp_xcalloc(1, sizeof(*s));
    s->loop = loop;
    s->fd = fd;
    s->tops = tops;
    s->read_limit = DP_BUF_CHUNK;
    /* EV__IOFDSET (ev_io_init) on the first start: the fd number may be
     * one closed in this loop iteration, whose removal libev has not seen;
     * later restarts keep the fd (io_update) */
    ev_io_init(&s->io, on_io, fd, EV_READ);
    s->io.data = s;
    return s;
}

dp_sock_t *dp_sock_new(dp_loop_t *loop, int fd, const dp_transport_ops_t *tops)
{
    int fl = fcntl(fd, F_GETFL);
    if (!(fl & O_NONBLOCK))
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    dp_sock_t *s = sock_alloc(loop, fd, tops);
    socklen_t l = sizeof(s->peer);
    getpeername(fd, &s->peer.sa, &l);
    l = sizeof(s->local);
    getsockname(fd, &s->local.sa, &l);
    return s;
}

dp_sock_t *dp_sock_new_accepted(dp_loop_t *loop, int fd, const dp_transport_ops_t *tops, const dp_sockaddr_t *peer)
{
    dp_sock_t *s = sock_alloc(loop, fd, tops);
    s->peer = *peer;
    socklen_t l = sizeof(s->local);
    getsockname(fd, &s->local.sa, &l);
    return s;
}

dp_sock_t *dp_sock_connect(dp_loop_t *loop, const struct sockaddr *addr, socklen_t len, dp_sock_cb on_connect)
{
    return dp_sock_connect_from(loop, addr, len, NULL, on_connect);
}

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

/* Socket options and bind for a chosen source; -1 with errno. */
static int bind_source(int fd, int family, const dp_sock_source_t *src)
{
    int one = 1;

    if (src->bind->sa_family != family) {
        errno = EAFNOSUPPORT;
        return -1;
    }
    if (src->transparent &&
        (family == AF_INET ? setsockopt(fd, IPPROTO_IP, IP_TRANSPARENT, &one, sizeof(one))
                           : setsockopt(fd, IPPROTO_IPV6, IPV6_TRANSPARENT, &one, sizeof(one))) != 0)
        return -1;
    if (src->mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &src->mark, sizeof(src->mark)) != 0)
        return -1;
    /* port 0: the port is picked at connect(), per destination, so one
     * client address can open many upstream connections (no bind-time
     * ephemeral port exhaustion) */
    uint16_t port = family == AF_INET ? ((const struct sockaddr_in *)src->bind)->sin_port
                                      : ((const struct sockaddr_in6 *)src->bind)->sin6_port;
    if (port == 0) /* an IPv4-level option that IPv6 TCP sockets take too */
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    return bind(fd, src->bind, src->bindlen);
}

dp_sock_t *dp_sock_connect_from(dp_loop_t *loop, const struct sockaddr *addr, socklen_t len,
                                const dp_sock_source_t *src, dp_sock_cb on_connect)
{
    int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return NULL;
    if (src && src->bind && bind_source(fd, addr->sa_family, src) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return NULL;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    dp_sock_t *s = sock_alloc(loop, fd, &dp_transport_raw);
    if (len <= sizeof(s->peer))
        memcpy(&s->peer, addr, len);
    else
        s->peer.sa.sa_family = addr->sa_family;
    s->on_connect = on_connect;
    s->connecting = 1;
    if (connect(fd, addr, len) != 0 && errno != EINPROGRESS) {
        /* report asynchronously, like every other connect outcome */
        s->write_error = 1;
        feed(s, false);
        return s;
    }
    s->wr_armed = 1;
    io_update(s);
    return s;
}

/* The one watcher waits for the union of what each side waits for: the
 * read side (rd_armed) for readability, or writability when a TLS read
 * must send first (rd_on_write); the write side (wr_armed) for
 * writability, or readability (wr_on_read). libev needs a stop/start to
 * change the events, and a stop drops the watcher's pending events, so
 * the callbacks fed by feed() are fed again. */
static void io_update(dp_sock_t *s)
{
    int events = 0;
    if (s->rd_armed)
        events |= s->rd_on_write ? EV_WRITE : EV_READ;
    if (s->wr_armed)
        events |= s->wr_on_read ? EV_READ : EV_WRITE;
    struct ev_loop *ev = s->loop->ev;
    bool active = ev_is_active(&s->io);
    if (active && (s->io.events & (EV_READ | EV_WRITE)) == events)
        return;
    if (active)
        ev_io_stop(ev, &s->io);
    if (events) {
        /* same fd: no new EV__IOFDSET, which would make libev re-add the
         * fd to epoll (a failing EPOLL_CTL_ADD, EEXIST, per change) */
        ev_io_modify(&s->io, events);
        ev_io_start(ev, &s->io);
    }
    if (active && (s->feed_rd || s->feed_wr))
        ev_feed_event(ev, &s->io, EV_CUSTOM);
}

/* Runs the read (or write) side from the loop, without fd readiness. */
static void feed(dp_sock_t *s, bool rd)
{
    if (rd)
        s->feed_rd = 1;
    else
        s->feed_wr = 1;
    ev_feed_event(s->loop->ev, &s->io, EV_CUSTOM);
}

/* (Re)arms a side on the readiness its transport waits for: a TLS read
 * may wait for writability and a write for readability. Nothing while the
 * transport drives the fd itself (handshake). */
static void arm_read(dp_sock_t *s)
{
    if (s->transport_busy || (s->rd_armed && s->rd_on_write == s->read_wants_write))
        return; /* already waiting for that */
    s->rd_armed = 1;
    s->rd_on_write = s->read_wants_write;
    io_update(s);
}

static void arm_write(dp_sock_t *s)
{
    if (s->transport_busy || (s->wr_armed && s->wr_on_read == s->write_wants_read))
        return;
    s->wr_armed = 1;
    s->wr_on_read = s->write_wants_read;
    io_update(s);
}

static void disarm_read(dp_sock_t *s)
{
    if (s->rd_armed) {
        s->rd_armed = 0;
        io_update(s);
    }
}

static void disarm_write(dp_sock_t *s)
{
    if (s->wr_armed) {
        s->wr_armed = 0;
        io_update(s);
    }
}

static void queue_flush(dp_sock_t *s)
{
    if (s->flush_queued || s->closed)
        return;
    s->flush_queued = 1;
    dp_loop__queue_flush(s->loop, s);
}

/* Writes as much of `out` as the transport takes. Returns 0, or a negative
 * error after which the socket is unusable for writing. */
static int flush_out(dp_sock_t *s)
{
    while (s->out.len > 0) {
        struct iovec iov = {dp_buf_data(&s->out), s->out.len};
        ssize_t n = s->tops->writev(s, &iov, 1);
        if (n == DP_EAGAIN) {
            arm_write(s);
            return 0;
        }
        if (n < 0)
            return (int)n;
        dp_buf_consume(&s->out, (size_t)n);
    }
    disarm_write(s);
    if (s->shutdown_after_flush && !s->transport_busy) {
        s->shutdown_after_flush = 0;
        s->tops->shutdown(s);
    }
    return 0;
}

static void write_failed(dp_sock_t *s)
{
    s->write_error = 1;
    dp_buf_free(&s->out);
    disarm_write(s);
    /* surfaces through the read callback on the next iteration */
    feed(s, true);
}

void dp_sock_write(dp_sock_t *s, const struct iovec *iov, int iovcnt)
{
    if (s->closed || s->write_error)
        return;
    size_t total = 0;
    for (int i = 0; i < iovcnt; i++)
        total += iov[i].iov_len;
    if (total == 0)
        return;
    int skip = 0;
    size_t skip_off = 0;
    if (s->out.len == 0 && total >= DIRECT_WRITE_MIN && !s->connecting) {
        ssize_t n = s->tops->writev(s, iov, iovcnt);
        if (n < 0 && n != DP_EAGAIN) {
            write_failed(s);
            return;
        }
        size_t done = n > 0 ? (size_t)n : 0;
        if (done == total)
            return;
        while (skip < iovcnt && done >= iov[skip].iov_len) {
            done -= iov[skip].iov_len;
            skip++;
        }
        skip_off = done;
    }
    for (int i = skip; i < iovcnt; i++) {
        size_t off = i == skip ? skip_off : 0;
        dp_buf_append(&s->out, (const char *)iov[i].iov_base + off, iov[i].iov_len - off);
    }
    if (!s->wr_armed)
        queue_flush(s);
}

void dp_sock_flush(dp_sock_t *s)
{
    if (s->closed || s->connecting || s->write_error)
        return;
    if (flush_out(s) != 0)
        write_failed(s);
}

static void flush_one(dp_sock_t *s)
{
    s->flush_queued = 0;
    if (s->closed || s->connecting)
        return;
    size_t before = s->out.len;
    dp_sock_flush(s);
    /* a flush that emptied the queue synchronously also counts as a drain */
    if (before > 0 && s->out.len == 0 && !s->write_error && s->on_drain && !s->closed)
        s->on_drain(s, 0);
}

void dp_sock__flush_all(dp_loop_t *l)
{
    /* newest first: libev ran the callbacks of this turn in reverse order of
     * readiness, so this sends in the order the peers' data came in */
    size_t n = l->n_flush;
    for (size_t i = n; i-- > 0;)
        flush_one(l->flush[i]);
    /* on_drain may queue more (l->flush may move): index, not pointer */
    for (size_t i = n; i < l->n_flush; i++)
        flush_one(l->flush[i]);
    l->n_flush = 0;
}

void dp_sock_shutdown(dp_sock_t *s)
{
    if (s->closed)
        return;
    if (s->out.len == 0 && !s->connecting && !s->transport_busy) {
        s->tops->shutdown(s);
        return;
    }
    s->shutdown_after_flush = 1; /* after the output, or the TLS handshake */
}

static void on_writable(dp_sock_t *s)
{
    if (s->connecting) {
        int err = 0;
        socklen_t l = sizeof(err);
        if (s->write_error || getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &l) != 0)
            err = s->write_error ? ECONNREFUSED : errno;
        s->connecting = 0;
        disarm_write(s);
        if (err == 0) {
            l = sizeof(s->local);
            getsockname(s->fd, &s->local.sa, &l);
        }
        s->write_error = 0;
        s->on_connect(s, err == 0 ? 0 : DP_ECLOSED);
        if (!s->closed && err == 0 && s->out.len > 0)
            queue_flush(s);
        return;
    }
    if (flush_out(s) != 0) {
        write_failed(s);
        return;
    }
    if (s->out.len == 0 && s->on_drain && !s->closed)
        s->on_drain(s, 0);
}

static void on_readable(dp_sock_t *s)
{
    if (s->closed)
        return;
    if (s->write_error) {
        disarm_read(s);
        if (s->on_read)
            s->on_read(s, DP_ECLOSED);
        return;
    }
    if (!s->reading)
        return;
    int err = 0, got = 0;
    for (int i = 0; i < READS_PER_EVENT && s->in.len < s->read_limit; i++) {
        size_t avail;
        char *p = dp_buf_reserve(&s->in, 4096, &avail);
        if (avail > s->read_limit - s->in.len && s->read_limit - s->in.len >= 4096)
            avail = s->read_limit - s->in.len;
        s->end_pending = 0;
        ssize_t n = s->tops->read(s, p, avail);
        if (n > 0) {
            dp_buf_commit(&s->in, (size_t)n);
            got = 1;
            if ((size_t)n < avail && !s->transport_buffered)
                break;
            continue;
        }
        if (n == DP_EAGAIN)
            break;
        err = n == 0 ? DP_ECLOSED : (int)n;
        break;
    }
    if (err && got) {
        /* data and the end in one round (TLS reads on while records are
         * buffered): the data first; a read finds the end again */
        err = 0;
        s->end_pending = 1;
    }
    if (s->in.len == 0 && !got && s->in.base) /* reserve with nothing read: give the chunk back */
        dp_buf_free(&s->in);
    if (s->in.len >= s->read_limit)
        disarm_read(s); /* backpressure: the codec restarts us */
    /* also when fed with buffered data after a pause (dp_sock_read_start) */
    if (got || err || s->in.len > 0)
        s->on_read(s, err);
    /* the codec consumed what it could: read again if there is room */
    if (!s->closed && s->reading && !err && s->in.len < s->read_limit) {
        arm_read(s);
        if (s->transport_buffered || s->end_pending) /* what the fd will not announce */
            feed(s, true);
    }
    /* a write waiting for the peer's data may have been unblocked by what
     * this read processed, while the fd has nothing more to signal */
    if (!s->closed && s->write_wants_read && s->out.len > 0 && !s->write_error) {
        s->write_wants_read = 0;
        disarm_write(s);
        queue_flush(s);
    }
}

/* Which side the event is for: the events each armed side waits for,
 * and fed callbacks. Write first: a connect completes before reads. */
static void on_io(struct ev_loop *ev, ev_io *w, int revents)
{
    (void)ev;
    dp_sock_t *s = w->data;
    bool wr = s->feed_wr || (s->wr_armed && (revents & (s->wr_on_read ? EV_READ : EV_WRITE)));
    bool rd = s->feed_rd || (s->rd_armed && (revents & (s->rd_on_write ? EV_WRITE : EV_READ)));
    s->feed_wr = s->feed_rd = 0;
    if (wr)
        on_writable(s);
    if (rd)
        on_readable(s);
}

void dp_sock_read_start(dp_sock_t *s, dp_sock_cb on_read)
{
    s->on_read = on_read;
    s->reading = 1;
    if (s->closed)
        return;
    if (s->write_error) {
        feed(s, true);
        return;
    }
    if (s->in.len < s->read_limit)
        arm_read(s);
    /* deliver what was buffered while paused (here or in the transport),
     * from the loop */
    if (s->in.len > 0 || ((s->transport_buffered || s->end_pending) && !s->transport_busy))
        feed(s, true);
}

void dp_sock_queued(dp_sock_t *s)
{
    if (!s->wr_armed)
        queue_flush(s);
}

void dp_sock__transport_busy(dp_sock_t *s)
{
    s->transport_busy = 1;
    s->rd_armed = s->wr_armed = 0;
    io_update(s);
    /* the transport's own watcher keeps the open fd in epoll (the
     * listener's peek or this socket's watcher registered it): when this
     * watcher takes over again, libev must not re-add it (EEXIST) */
    s->io.events &= ~EV__IOFDSET;
}

void dp_sock__transport_ready(dp_sock_t *s)
{
    s->transport_busy = 0;
    if (s->closed)
        return;
    if (s->reading && s->in.len < s->read_limit)
        arm_read(s);
    if (s->reading && (s->in.len > 0 || s->transport_buffered || s->end_pending))
        feed(s, true);
    if ((s->out.len > 0 || s->shutdown_after_flush) && !s->connecting)
        queue_flush(s);
}

void dp_sock_read_stop(dp_sock_t *s)
{
    s->reading = 0;
    disarm_read(s);
}

void dp_sock_close(dp_sock_t *s)
{
    if (s->closed)
        return;
    s->closed = 1;
    ev_io_stop(s->loop->ev, &s->io);
    ev_clear_pending(s->loop->ev, &s->io);
    s->rd_armed = s->wr_armed = s->feed_rd = s->feed_wr = 0;
    if (s->tops->dispose)
        s->tops->dispose(s);
    close(s->fd);
    s->fd = -1;
    dp_buf_free(&s->in);
    dp_buf_free(&s->out);
    /* freed after this iteration's flush, which may still list it */
    dp_loop_defer_free(s->loop, s);
}
