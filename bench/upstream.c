#define _GNU_SOURCE
/* A deliberately minimal HTTP/1.1 origin for benchmarks: epoll, one
 * thread, answers every request head with the same small 200 response
 * (keep-alive, pipelining-safe). It must never be the bottleneck, so it
 * does no parsing beyond finding the end of each request head; it is not
 * a general server (bodies are not supported). */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static const char resp[] = "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 13\r\n\r\nhello world\r\n";

typedef struct {
    int fd;
    size_t have;
    char buf[16384];
} conn_t;

int main(int argc, char **argv)
{
    int port = argc > 1 ? atoi(argv[1]) : 18081;
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(ls, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(ls, 4096) != 0) {
        perror("bind");
        return 1;
    }
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    struct epoll_event evs[256];
    char out[65536];
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < n; i++) {
            conn_t *c = evs[i].data.ptr;
            if (c == NULL) {
                int fd;
                while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                    conn_t *nc = calloc(1, sizeof(*nc));
                    nc->fd = fd;
                    struct epoll_event e = {.events = EPOLLIN, .data.ptr = nc};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
                }
                continue;
            }
            ssize_t r = read(c->fd, c->buf + c->have, sizeof(c->buf) - c->have);
            if (r <= 0) {
                if (r < 0 && errno == EAGAIN)
                    continue;
                close(c->fd);
                free(c);
                continue;
            }
            c->have += (size_t)r;
            size_t off = 0, olen = 0;
            char *end;
            while ((end = memmem(c->buf + off, c->have - off, "\r\n\r\n", 4)) != NULL) {
                off = (size_t)(end - c->buf) + 4;
                if (olen + sizeof(resp) - 1 <= sizeof(out)) {
                    memcpy(out + olen, resp, sizeof(resp) - 1);
                    olen += sizeof(resp) - 1;
                }
            }
            memmove(c->buf, c->buf + off, c->have - off);
            c->have -= off;
            if (c->have == sizeof(c->buf)) { /* a head larger than we handle */
                close(c->fd);
                free(c);
                continue;
            }
            if (olen && write(c->fd, out, olen) < 0) {
                close(c->fd);
                free(c);
            }
        }
    }
}
