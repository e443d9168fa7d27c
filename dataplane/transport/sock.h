/* A non-blocking stream socket on a dp_loop: a file descriptor, a transport
 * (raw or TLS), an input buffer the codec parses in place and an
 * output queue flushed once per loop iteration.
 *
 * Ownership: the creator owns the dp_sock_t and ends it with
 * dp_sock_close(); memory is released after the current callback returns,
 * so a callback may close its own socket safely. */
#ifndef DP_TRANSPORT_SOCK_H
#define DP_TRANSPORT_SOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "dataplane/core/buf.h"
#include "dataplane/core/loop.h"
#include "dataplane/transport/transport.h"

typedef struct dp_sock dp_sock_t;
/* err is 0, or a negative DP_E* (DP_ECLOSED on EOF). */
typedef void (*dp_sock_cb)(dp_sock_t *s, int err);

/* An IPv4 or IPv6 socket address, read as `(struct sockaddr *)&u`: 28
 * bytes where sockaddr_storage takes 128, for every connection. Another
 * family's address (a socketpair's, in tests) is cut to fit: only its
 * sa_family is reliable. */
typedef union dp_sockaddr {
    struct sockaddr sa;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
} dp_sockaddr_t;

/* Laid out for idle connections (224 bytes, glibc's 240-byte malloc
 * chunk): one ev_io serves both directions, 32-bit buffer offsets, flags
 * as bits, short addresses; no list links (the flush list is an array in
 * the loop, closed sockets go to dp_loop_defer_free). */
struct dp_sock {
    dp_loop_t *loop;
    /* One watcher for both directions, its events the union of what the
     * read side and the write side wait for (sock.c's io_update()). */
    ev_io io;
    const dp_transport_ops_t *tops;
    void *tctx;
    dp_buf_t in;  /* received bytes not yet consumed by the codec */
    dp_buf_t out; /* bytes queued for writing */
    dp_sock_cb on_read;    /* data arrived in `in`, or error/EOF */
    dp_sock_cb on_drain;   /* `out` became empty (optional) */
    dp_sock_cb on_connect; /* outgoing connect finished (err 0 or failure) */
    void *data;            /* the owner's */
    int fd;
    uint32_t read_limit; /* stop reading while in.len >= read_limit */
    unsigned reading : 1;   /* read_start called and not stopped */
    unsigned flush_queued : 1;
    unsigned connecting : 1;
    unsigned closed : 1;
    unsigned shutdown_after_flush : 1;
    unsigned write_error : 1;
    /* Set by the transport (TLS) with its DP_EAGAIN, read by sock.c to
     * know what to wait for: a TLS read may need to send first and a
     * write to receive; during the handshake the transport drives the fd
     * itself and sock.c waits for dp_sock__transport_ready(). */
    unsigned read_wants_write : 1;
    unsigned write_wants_read : 1;
    unsigned transport_busy : 1;
    /* the transport holds received input that the fd will not signal
     * (decrypted records read ahead): deliver it without waiting */
    unsigned transport_buffered : 1;
    unsigned end_pending : 1; /* EOF/error read with data: reported on the next round */
    /* sock.c's watcher state: which side waits on the fd and for what,
     * and callbacks fed to the loop (ev_feed_event) but not yet run */
    unsigned rd_armed : 1, rd_on_write : 1, wr_armed : 1, wr_on_read : 1;
    unsigned feed_rd : 1, feed_wr : 1;
    dp_sockaddr_t peer;  /* remote address */
    dp_sockaddr_t local; /* local address */
};

/* Wraps an accepted or connecting fd (made non-blocking here). */
dp_sock_t *dp_sock_new(dp_loop_t *loop, int fd, const dp_transport_ops_t *tops);
/* Same for an fd accept4() made non-blocking, with the peer address it
 * returned: two system calls fewer per connection (fcntl, getpeername). */
dp_sock_t *dp_sock_new_accepted(dp_loop_t *loop, int fd, const dp_transport_ops_t *tops, const dp_sockaddr_t *peer);
/* Starts a non-blocking connect to addr; on_connect is called once.
 * Returns NULL with errno set if the socket cannot even be created. */
dp_sock_t *dp_sock_connect(dp_loop_t *loop, const struct sockaddr *addr, socklen_t len, dp_sock_cb on_connect);

/* Where a connection comes from when not the kernel's choice: Envoy's
 * original_src (dataplane/transparent/transparent.h). */
typedef struct dp_sock_source {
    const struct sockaddr *bind; /* source address (port 0: any), NULL none */
    socklen_t bindlen;
    bool transparent; /* IP_TRANSPARENT / IPV6_TRANSPARENT: a source that is not ours */
    uint32_t mark;    /* SO_MARK, 0 none */
} dp_sock_source_t;

/* dp_sock_connect from that source. NULL with errno set when the socket
 * cannot be made or bound (EPERM without CAP_NET_ADMIN, EADDRINUSE for a
 * taken port with bind_port, EAFNOSUPPORT for a source of another
 * family than addr). */
dp_sock_t *dp_sock_connect_from(dp_loop_t *loop, const struct sockaddr *addr, socklen_t len,
                                const dp_sock_source_t *src, dp_sock_cb on_connect);

void dp_sock_read_start(dp_sock_t *s, dp_sock_cb on_read);
void dp_sock_read_stop(dp_sock_t *s);

/* Queues data for writing (copying what cannot be written at once). Large
 * writes on an empty queue go straight to the kernel. Errors surface
 * through on_read (a write error closes the reading side too) . */
void dp_sock_write(dp_sock_t *s, const struct iovec *iov, int iovcnt);
static inline size_t dp_sock_pending(const dp_sock_t *s)
{
    return s->out.len;
}
/* After appending to s->out directly (serializers write there to save a
 * copy): schedules the flush. */
void dp_sock_queued(dp_sock_t *s);
/* Writes queued output now instead of at the end of the iteration. */
void dp_sock_flush(dp_sock_t *s);
/* Half-closes (FIN) once the queued output is written. */
void dp_sock_shutdown(dp_sock_t *s);
/* Closes the fd now and frees the socket after the current callback. */
void dp_sock_close(dp_sock_t *s);

/* For transports (TLS): the transport takes the fd over (handshake); the
 * socket's own watchers stop and queued I/O waits for
 * dp_sock__transport_ready(), which resumes reading (if started) and
 * flushing. */
void dp_sock__transport_busy(dp_sock_t *s);
void dp_sock__transport_ready(dp_sock_t *s);

/* Loop hook: writes the output queued during this iteration. */
void dp_sock__flush_all(dp_loop_t *loop);

#endif
