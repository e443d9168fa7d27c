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

static void on_io_read(struct ev_loop *ev, ev_io *w, int revents);
static void on_io_write(struct ev_loop *ev, ev_io *w, int revents);

static dp_sock_t *sock_alloc(dp_loop_t *loop, int fd, const dp_transport_ops_t *tops)
{
    dp_sock_t *s = dp_xcalloc(1, sizeof(*s));
    s->loop = loop;
    s->fd = fd;
    s->tops = tops;
    s->read_limit = DP_BUF_CHUNK;
    ev_io_init(&s->rio, on_io_read, fd, EV_READ);
    ev_io_init(&s->wio, on_io_write, fd, EV_WRITE);
    s->rio.data = s;
    s->wio.data = s;
    return s;
}

dp_sock_t *dp_sock_new(dp_loop_t *loop, int fd, const dp_transport_ops_t *tops)
{
    int fl = fcntl(fd, F_GETFL);
    if (!(fl & O_NONBLOCK))
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    dp_sock_t *s = sock_alloc(loop, fd, tops);
    socklen_t l = sizeof(s->peer);
    getpeername(fd, (struct sockaddr *)&s->peer, &l);
    l = sizeof(s->local);
    getsockname(fd, (struct sockaddr *)&s->local, &l);
    return s;
}

dp_sock_t *dp_sock_connect(dp_loop_t *loop, const struct sockaddr *addr, socklen_t len, dp_sock_cb on_connect)
{
    int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return NULL;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    dp_sock_t *s = sock_alloc(loop, fd, &dp_transport_raw);
    memcpy(&s->peer, addr, len);
    s->on_connect = on_connect;
    s->connecting = 1;
    if (connect(fd, addr, len) != 0 && errno != EINPROGRESS) {
        /* report asynchronously, like every other connect outcome */
        s->write_error = 1;
        ev_feed_event(loop->ev, &s->wio, EV_WRITE);
        return s;
    }
    ev_io_start(loop->ev, &s->wio);
    return s;
}

/* (Re)starts a watcher on the readiness its transport waits for: a TLS
 * read may wait for writability and a write for readability. Nothing
 * while the transport drives the fd itself (handshake). */
static void arm(dp_sock_t *s, ev_io *w, int events)
{
    if (s->transport_busy)
        return;
    if (ev_is_active(w)) {
        if ((w->events & (EV_READ | EV_WRITE)) == events)
            return;
        ev_io_stop(s->loop->ev, w);
    }
    ev_io_set(w, s->fd, events);
    ev_io_start(s->loop->ev, w);
}

static void arm_read(dp_sock_t *s)
{
    arm(s, &s->rio, s->read_wants_write ? EV_WRITE : EV_READ);
}

static void arm_write(dp_sock_t *s)
{
    arm(s, &s->wio, s->write_wants_read ? EV_READ : EV_WRITE);
}

static void queue_flush(dp_sock_t *s)
{
    if (s->flush_queued || s->closed)
        return;
    s->flush_queued = 1;
    s->flush_next = s->loop->flush_head;
    s->loop->flush_head = s;
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
    if (ev_is_active(&s->wio))
        ev_io_stop(s->loop->ev, &s->wio);
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
    if (ev_is_active(&s->wio))
        ev_io_stop(s->loop->ev, &s->wio);
    /* surfaces through the read callback on the next iteration */
    ev_feed_event(s->loop->ev, &s->rio, EV_READ);
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
    if (!ev_is_active(&s->wio))
        queue_flush(s);
}

void dp_sock_flush(dp_sock_t *s)
{
    if (s->closed || s->connecting || s->write_error)
        return;
    if (flush_out(s) != 0)
        write_failed(s);
}

void dp_sock__flush_all(dp_loop_t *l)
{
    while (l->flush_head) {
        dp_sock_t *s = l->flush_head;
        l->flush_head = s->flush_next;
        s->flush_queued = 0;
        if (s->closed || s->connecting)
            continue;
        size_t before = s->out.len;
        dp_sock_flush(s);
        /* a flush that emptied the queue synchronously also counts as a drain */
        if (before > 0 && s->out.len == 0 && !s->write_error && s->on_drain && !s->closed)
            s->on_drain(s, 0);
    }
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

static void on_io_write(struct ev_loop *ev, ev_io *w, int revents)
{
    (void)ev;
    (void)revents;
    dp_sock_t *s = w->data;
    if (s->connecting) {
        int err = 0;
        socklen_t l = sizeof(err);
        if (s->write_error || getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &l) != 0)
            err = s->write_error ? ECONNREFUSED : errno;
        s->connecting = 0;
        ev_io_stop(s->loop->ev, &s->wio);
        if (err == 0) {
            l = sizeof(s->local);
            getsockname(s->fd, (struct sockaddr *)&s->local, &l);
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

static void on_io_read(struct ev_loop *ev, ev_io *w, int revents)
{
    (void)ev;
    (void)revents;
    dp_sock_t *s = w->data;
    if (s->closed)
        return;
    if (s->write_error) {
        if (ev_is_active(&s->rio))
            ev_io_stop(s->loop->ev, &s->rio);
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
    if (s->in.len >= s->read_limit && ev_is_active(&s->rio))
        ev_io_stop(s->loop->ev, &s->rio); /* backpressure: the codec restarts us */
    /* also when fed with buffered data after a pause (dp_sock_read_start) */
    if (got || err || s->in.len > 0)
        s->on_read(s, err);
    /* the codec consumed what it could: read again if there is room */
    if (!s->closed && s->reading && !err && s->in.len < s->read_limit) {
        arm_read(s);
        if (s->transport_buffered || s->end_pending) /* what the fd will not announce */
            ev_feed_event(s->loop->ev, &s->rio, EV_READ);
    }
    /* a write waiting for the peer's data may have been unblocked by what
     * this read processed, while the fd has nothing more to signal */
    if (!s->closed && s->write_wants_read && s->out.len > 0 && !s->write_error) {
        s->write_wants_read = 0;
        if (ev_is_active(&s->wio))
            ev_io_stop(s->loop->ev, &s->wio);
        queue_flush(s);
    }
}

void dp_sock_read_start(dp_sock_t *s, dp_sock_cb on_read)
{
    s->on_read = on_read;
    s->reading = 1;
    if (s->closed)
        return;
    if (s->write_error) {
        ev_feed_event(s->loop->ev, &s->rio, EV_READ);
        return;
    }
    if (s->in.len < s->read_limit)
        arm_read(s);
    /* deliver what was buffered while paused (here or in the transport),
     * from the loop */
    if (s->in.len > 0 || ((s->transport_buffered || s->end_pending) && !s->transport_busy))
        ev_feed_event(s->loop->ev, &s->rio, EV_READ);
}

void dp_sock_queued(dp_sock_t *s)
{
    if (!ev_is_active(&s->wio))
        queue_flush(s);
}

void dp_sock__transport_busy(dp_sock_t *s)
{
    s->transport_busy = 1;
    if (ev_is_active(&s->rio))
        ev_io_stop(s->loop->ev, &s->rio);
    if (ev_is_active(&s->wio))
        ev_io_stop(s->loop->ev, &s->wio);
}

void dp_sock__transport_ready(dp_sock_t *s)
{
    s->transport_busy = 0;
    if (s->closed)
        return;
    if (s->reading && s->in.len < s->read_limit)
        arm_read(s);
    if (s->reading && (s->in.len > 0 || s->transport_buffered || s->end_pending))
        ev_feed_event(s->loop->ev, &s->rio, EV_READ);
    if ((s->out.len > 0 || s->shutdown_after_flush) && !s->connecting)
        queue_flush(s);
}

void dp_sock_read_stop(dp_sock_t *s)
{
    s->reading = 0;
    if (ev_is_active(&s->rio))
        ev_io_stop(s->loop->ev, &s->rio);
}

void dp_sock_close(dp_sock_t *s)
{
    if (s->closed)
        return;
    s->closed = 1;
    ev_io_stop(s->loop->ev, &s->rio);
    ev_io_stop(s->loop->ev, &s->wio);
    ev_clear_pending(s->loop->ev, &s->rio);
    ev_clear_pending(s->loop->ev, &s->wio);
    if (s->tops->dispose)
        s->tops->dispose(s);
    close(s->fd);
    s->fd = -1;
    dp_buf_free(&s->in);
    dp_buf_free(&s->out);
    s->dead_next = s->loop->dead_head;
    s->loop->dead_head = s;
}

void dp_sock__reap(dp_loop_t *l)
{
    while (l->dead_head) {
        dp_sock_t *s = l->dead_head;
        l->dead_head = s->dead_next;
        free(s);
    }
}
