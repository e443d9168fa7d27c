/*
 * floor: the least a user-space TCP proxy can do per request, to put a floor
 * under the benchmark's proxies. Each accepted connection gets its own
 * upstream connection; whatever arrives on one side is written to the other,
 * with no parsing, routing or headers at all. That is exactly right for wrk
 * against a keep-alive origin (one request in flight per connection) and
 * nothing else.
 *
 *   floor epoll PORT UPSTREAM_PORT   epoll (level-triggered), recv + send
 *                                    per message, all receives of a loop
 *                                    turn before its sends: 4 system calls
 *                                    a request, what every event-loop
 *                                    proxy does at least
 *   floor uring PORT UPSTREAM_PORT   io_uring: multishot receives into a
 *                                    provided-buffer ring, sends submitted
 *                                    in one io_uring_enter per loop turn
 *
 * Built by bench/run.sh (liburing from install-deps.sh --bench). Not part of
 * the product.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_FD 65536
static int peer_of[MAX_FD];
static int upstream_port;

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static int listen_on(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4096) < 0)
        die("listen");
    return fd;
}

/* a connected upstream socket for the accepted cfd (blocking connect: over
 * loopback it is done before the client's first request arrives) */
static int pair_with_upstream(int cfd)
{
    int ufd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)upstream_port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (ufd < 0 || ufd >= MAX_FD || cfd >= MAX_FD || connect(ufd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        close(cfd);
        if (ufd >= 0)
            close(ufd);
        return -1;
    }
    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(ufd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    peer_of[cfd] = ufd;
    peer_of[ufd] = cfd;
    return ufd;
}

static void close_pair(int fd)
{
    int p = peer_of[fd];
    close(fd);
    close(p);
}

/* ---- epoll ---- */

static void send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EAGAIN)
            continue; /* small messages over loopback: never seen in practice */
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static void run_epoll(int lfd)
{
    /* reads first, then the writes (what the data plane and HAProxy do: a
     * peer woken by the first write is still awake for the next ones) */
    static char bufs[512][4096];
    static int to[512];
    static ssize_t len[512];
    struct epoll_event evs[512], ev = {.events = EPOLLIN};
    int ep = epoll_create1(0);
    ev.data.fd = lfd;
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    for (;;) {
        int n = epoll_wait(ep, evs, 512, -1), m = 0;
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == lfd) {
                int cfd, ufd;
                while ((cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    if ((ufd = pair_with_upstream(cfd)) < 0)
                        continue;
                    ev.data.fd = cfd;
                    epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ev);
                    ev.data.fd = ufd;
                    epoll_ctl(ep, EPOLL_CTL_ADD, ufd, &ev);
                }
                continue;
            }
            ssize_t r = recv(fd, bufs[m], sizeof(bufs[m]), 0);
            if (r > 0) {
                to[m] = peer_of[fd];
                len[m++] = r;
            } else if (r == 0 || errno != EAGAIN) {
                close_pair(fd);
            }
        }
        for (int i = 0; i < m; i++)
            send_all(to[i], bufs[i], (size_t)len[i]);
    }
}

/* ---- io_uring ---- */

#define NBUF 4096
#define BUFSZ 4096
#define BGID 1
enum { OP_ACCEPT = 1, OP_RECV, OP_SEND };
#define UD(op, fd, bid) ((uint64_t)(op) << 56 | (uint64_t)(bid) << 32 | (uint32_t)(fd))

static struct io_uring ring;
static struct io_uring_buf_ring *br;
static char *bufs;

static struct io_uring_sqe *sqe_get(void)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
    if (sqe == NULL) {
        io_uring_submit(&ring);
        sqe = io_uring_get_sqe(&ring);
    }
    return sqe;
}

static void arm_recv(int fd)
{
    struct io_uring_sqe *sqe = sqe_get();
    io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = BGID;
    io_uring_sqe_set_data64(sqe, UD(OP_RECV, fd, 0));
}

static void give_back(unsigned bid)
{
    io_uring_buf_ring_add(br, bufs + (size_t)bid * BUFSZ, BUFSZ, (unsigned short)bid, io_uring_buf_ring_mask(NBUF), 0);
    io_uring_buf_ring_advance(br, 1);
}

/* End of stream or error on fd: its receive is over, so fd closes now; the
 * peer is shut down, which ends its receive, and closes when that comes in
 * (never by number from here: the number may be a new connection's by then) */
static void end_uring(int fd)
{
    int p = peer_of[fd];
    if (p >= 0) {
        shutdown(p, SHUT_RDWR);
        peer_of[p] = -1;
    }
    peer_of[fd] = -1;
    close(fd);
}

static void run_uring(int lfd)
{
    struct io_uring_params p = {.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN};
    if (io_uring_queue_init_params(4096, &ring, &p) < 0)
        die("io_uring_queue_init_params");
    br = mmap(NULL, NBUF * sizeof(struct io_uring_buf), PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    bufs = malloc((size_t)NBUF * BUFSZ);
    if (br == MAP_FAILED || bufs == NULL)
        die("buffers");
    io_uring_buf_ring_init(br);
    struct io_uring_buf_reg reg = {.ring_addr = (unsigned long)br, .ring_entries = NBUF, .bgid = BGID};
    if (io_uring_register_buf_ring(&ring, &reg, 0) < 0)
        die("io_uring_register_buf_ring");
    for (unsigned i = 0; i < NBUF; i++)
        io_uring_buf_ring_add(br, bufs + (size_t)i * BUFSZ, BUFSZ, (unsigned short)i, io_uring_buf_ring_mask(NBUF),
                              (int)i);
    io_uring_buf_ring_advance(br, NBUF);

    struct io_uring_sqe *sqe = sqe_get();
    io_uring_prep_multishot_accept(sqe, lfd, NULL, NULL, 0);
    io_uring_sqe_set_data64(sqe, UD(OP_ACCEPT, lfd, 0));
    for (;;) {
        if (io_uring_submit_and_wait(&ring, 1) < 0 && errno != EINTR)
            die("io_uring_submit_and_wait");
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&ring, head, cqe)
        {
            seen++;
            uint64_t ud = cqe->user_data;
            int op = (int)(ud >> 56), fd = (int)(uint32_t)ud, res = cqe->res;
            unsigned bid = (unsigned)(ud >> 32) & 0xffffff;
            if (op == OP_ACCEPT) {
                if (res >= 0 && pair_with_upstream(res) >= 0) {
                    arm_recv(res);
                    arm_recv(peer_of[res]);
                }
                if (!(cqe->flags & IORING_CQE_F_MORE)) {
                    sqe = sqe_get();
                    io_uring_prep_multishot_accept(sqe, lfd, NULL, NULL, 0);
                    io_uring_sqe_set_data64(sqe, UD(OP_ACCEPT, lfd, 0));
                }
            } else if (op == OP_RECV) {
                if (res > 0) {
                    bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
                    sqe = sqe_get();
                    io_uring_prep_send(sqe, peer_of[fd], bufs + (size_t)bid * BUFSZ, (size_t)res, 0);
                    io_uring_sqe_set_data64(sqe, UD(OP_SEND, fd, bid));
                    if (!(cqe->flags & IORING_CQE_F_MORE))
                        arm_recv(fd);
                } else if (res == -ENOBUFS) {
                    arm_recv(fd);
                } else if (!(cqe->flags & IORING_CQE_F_MORE)) {
                    end_uring(fd);
                }
            } else if (op == OP_SEND) {
                give_back(bid); /* short sends do not happen with these sizes */
            }
        }
        io_uring_cq_advance(&ring, seen);
    }
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: floor epoll|uring PORT UPSTREAM_PORT\n");
        return 2;
    }
    upstream_port = atoi(argv[3]);
    int lfd = listen_on(atoi(argv[2]));
    if (strcmp(argv[1], "uring") == 0)
        run_uring(lfd);
    else
        run_epoll(lfd);
    return 0;
}
