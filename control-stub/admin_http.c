/* Loopback admin port of the control stub (see admin_http.h). */
#include "control-stub/admin_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "control-stub/stub_util.h"
#include "dataplane/core/common.h"

#define MAX_CONNS 8
#define MAX_HEAD 4096
#define HEAD_TIMEOUT_S 2

typedef struct conn {
    int fd; /* -1: free slot */
    time_t since;
    char in[MAX_HEAD];
    size_t nin;
    char *out; /* response being written */
    size_t nout, off;
} conn_t;

struct dp_stubadm {
    int lfd;
    dp_stubadm_status_fn fn;
    dp_stubadm_state_fn state;
    void *ctx;
    conn_t c[MAX_CONNS];
};

int dp_stubadm_open(const char *addr, dp_stubadm_status_fn fn, dp_stubadm_state_fn state, void *ctx,
                    dp_stubadm_t **out, int *port, char *errbuf, size_t errlen)
{
    char host[64];
    const char *colon = strrchr(addr, ':');
    struct sockaddr_in sa = {.sin_family = AF_INET};
    if (colon == NULL || (size_t)(colon - addr) >= sizeof host) {
        snprintf(errbuf, errlen, "--admin %s: expected IP:PORT", addr);
        return DP_ERR;
    }
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end != '\0' || p < 0 || p > 65535 || inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        snprintf(errbuf, errlen, "--admin %s: expected IPv4:PORT", addr);
        return DP_ERR;
    }
    sa.sin_port = htons((uint16_t)p);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0)
        goto fail;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 16) != 0)
        goto fail;
    socklen_t sl = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    dp_stubadm_t *a = dp_stub_xcalloc(1, sizeof *a);
    a->lfd = fd;
    a->fn = fn;
    a->state = state;
    a->ctx = ctx;
    for (int i = 0; i < MAX_CONNS; i++)
        a->c[i].fd = -1;
    *port = ntohs(sa.sin_port);
    *out = a;
    return 0;
fail:
    snprintf(errbuf, errlen, "--admin %s: %s", addr, strerror(errno));
    if (fd >= 0)
        close(fd);
    return DP_ERR;
}

static void conn_close(conn_t *c)
{
    close(c->fd);
    free(c->out);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

/* POST /containers/ID/start|stop (the request line's target in t,
 * ending at the first space): the status code, *body a malloc'd JSON. */
static int post_state(dp_stubadm_t *a, const char *t, char **body)
{
    static const char pre[] = "/containers/";
    char id[64], verb[8], err[256];
    size_t n = strcspn(t, " ");
    int idlen = 0;
    if (strncmp(t, pre, sizeof pre - 1) != 0 || n >= 128 ||
        sscanf(t + sizeof pre - 1, "%63[0-9a-f]/%7[a-z]%n", id, verb, &idlen) != 2 ||
        (size_t)idlen != n - (sizeof pre - 1) || (strcmp(verb, "start") != 0 && strcmp(verb, "stop") != 0)) {
        *body = dp_stub_xstrdup("{\"error\": \"expected POST /containers/ID/start or /stop\", \"status\": 404}");
        return 404;
    }
    int running = strcmp(verb, "start") == 0;
    int rc = a->state ? a->state(a->ctx, id, running, err, sizeof err) : DP_ENOENT;
    int code = rc == 0 ? 200 : rc == DP_ENOENT ? 404 : 409;
    json_t *j = rc == 0 ? json_pack("{s:s,s:s}", "container", id, "state", running ? "running" : "stopped")
                        : json_pack("{s:s,s:i}", "error", err, "status", code);
    *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return *body ? code : 500;
}

static void respond(dp_stubadm_t *a, conn_t *c)
{
    int code = 200;
    char *body = NULL;
    if (strncmp(c->in, "POST ", 5) == 0) {
        code = post_state(a, c->in + 5, &body);
    } else if (strncmp(c->in, "GET ", 4) != 0) {
        code = 405;
    } else if (strncmp(c->in + 4, "/status ", 8) != 0 && strncmp(c->in + 4, "/status? ", 8) != 0) {
        code = 404;
    } else if ((body = a->fn(a->ctx)) == NULL) {
        code = 500;
    }
    const char *reason = code == 200   ? "OK"
                         : code == 404 ? "Not Found"
                         : code == 405 ? "Method Not Allowed"
                         : code == 409 ? "Conflict"
                                       : "Internal Server Error";
    const char *b = body ? body : "";
    size_t blen = strlen(b) + (body ? 1 : 0);
    size_t cap = blen + 200;
    c->out = dp_stub_xmalloc(cap);
    int h = snprintf(c->out, cap,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s%s",
                     code, reason, body ? "application/json" : "text/plain", blen, b, body ? "\n" : "");
    c->nout = (size_t)h;
    c->off = 0;
    free(body);
}

void dp_stubadm_poll(dp_stubadm_t *a)
{
    for (;;) {
        int fd = accept4(a->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            break;
        conn_t *c = NULL;
        for (int i = 0; i < MAX_CONNS && c == NULL; i++)
            if (a->c[i].fd < 0)
                c = &a->c[i];
        if (c == NULL) { /* full: refuse rather than queue */
            close(fd);
            continue;
        }
        c->fd = fd;
        c->since = time(NULL);
    }
    time_t now = time(NULL);
    for (int i = 0; i < MAX_CONNS; i++) {
        conn_t *c = &a->c[i];
        if (c->fd < 0)
            continue;
        if (c->out == NULL) {
            ssize_t n = read(c->fd, c->in + c->nin, sizeof c->in - 1 - c->nin);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                conn_close(c);
                continue;
            }
            if (n > 0) {
                c->nin += (size_t)n;
                c->in[c->nin] = '\0';
            }
            if (strstr(c->in, "\r\n\r\n") != NULL || strstr(c->in, "\n\n") != NULL)
                respond(a, c);
            else if (c->nin >= sizeof c->in - 1 || now - c->since > HEAD_TIMEOUT_S) {
                conn_close(c);
                continue;
            }
        }
        if (c->out != NULL) {
            ssize_t n = write(c->fd, c->out + c->off, c->nout - c->off);
            if (n > 0)
                c->off += (size_t)n;
            if (c->off == c->nout || (n < 0 && errno != EAGAIN && errno != EINTR) ||
                now - c->since > HEAD_TIMEOUT_S)
                conn_close(c);
        }
    }
}

void dp_stubadm_close(dp_stubadm_t *a)
{
    if (a == NULL)
        return;
    for (int i = 0; i < MAX_CONNS; i++)
        if (a->c[i].fd >= 0)
            conn_close(&a->c[i]);
    close(a->lfd);
    free(a);
}
