/* Memory of idle TLS connections on a dp_loop server.
 *
 * A child process opens N TLS connections to a loopback listener, sends a
 * small request on each and reads the echo, then keeps them open. The
 * parent (the server: dp_tls_accept, echo through dp_sock) measures what
 * the N idle connections hold: OpenSSL's heap (counted through
 * CRYPTO_set_mem_functions, exact under any sanitizer) and the process RSS
 * (meaningful only without ASAN, whose quarantine and redzones dwarf it).
 *
 * TLS_MEM_CONNS overrides N (default 2000, 400 under ASAN); TLS_MEM_SITES=1
 * prints which OpenSSL source lines hold the memory. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dataplane/core/common.h"
#include "dataplane/core/loop.h"
#include "dataplane/transport/sock.h"
#include "dataplane/transport/tls.h"
#include "tests/unit/ev_run.h"
#include "tests/unit/test.h"
#include "tests/unit/transport/testdata.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

#define PING "GET / HTTP/1.1\r\nhost: a\r\n\r\n"

/* ---- OpenSSL's heap, counted ---- */

static long long live_bytes, live_allocs;
#define HDR 32

/* TLS_MEM_SITES=1: which OpenSSL lines hold the memory (a debugging aid) */
#define N_SITES 4096
static struct site {
    const char *file;
    int line;
    long long bytes, n;
} sites[N_SITES];
static int track;

static struct site *site_of(const char *file, int line)
{
    size_t h = ((size_t)(uintptr_t)file * 31 + (size_t)line) % N_SITES;
    for (size_t i = 0; i < N_SITES; i++) {
        struct site *s = &sites[(h + i) % N_SITES];
        if (s->file == file && s->line == line)
            return s;
        if (s->file == NULL) {
            s->file = file;
            s->line = line;
            return s;
        }
    }
    return &sites[0];
}

static void *m_malloc(size_t n, const char *file, int line)
{
    (void)file, (void)line;
    size_t *p = malloc(n + HDR);
    if (p == NULL)
        return NULL;
    p[0] = n;
    p[1] = 0;
    live_bytes += (long long)n;
    live_allocs++;
    if (track) {
        struct site *st = site_of(file, line);
        st->bytes += (long long)n;
        st->n++;
        p[1] = (size_t)(uintptr_t)st;
    }
    return (char *)p + HDR;
}

static void m_free(void *q, const char *file, int line)
{
    (void)file, (void)line;
    if (q == NULL)
        return;
    size_t *p = (size_t *)((char *)q - HDR);
    live_bytes -= (long long)p[0];
    live_allocs--;
    if (p[1]) {
        struct site *st = (struct site *)(uintptr_t)p[1];
        st->bytes -= (long long)p[0];
        st->n--;
    }
    free(p);
}

static void *m_realloc(void *q, size_t n, const char *file, int line)
{
    if (q == NULL)
        return m_malloc(n, file, line);
    if (n == 0) {
        m_free(q, file, line);
        return NULL;
    }
    size_t *p = (size_t *)((char *)q - HDR);
    size_t old = p[0];
    size_t *np = realloc(p, n + HDR);
    if (np == NULL)
        return NULL;
    np[0] = n;
    live_bytes += (long long)n - (long long)old;
    if (np[1])
        ((struct site *)(uintptr_t)np[1])->bytes += (long long)n - (long long)old;
    return (char *)np + HDR;
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, res = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &size, &res) != 2)
            res = 0;
        fclose(f);
    }
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static double cpu_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* Turns l until *count reaches want (never, without count) or ms pass. */
static void run_until(dp_loop_t *l, const int *count, int want, int ms)
{
    EV_RUN_UNTIL(l->ev, count != NULL && *count >= want, ms);
}

/* ---- the client (child process) ---- */

typedef struct client {
    dp_loop_t loop;
    dp_tls_ctx_t *ctx;
    struct sockaddr_in addr;
    int n, started, connected, answered, failed;
    dp_sock_t **socks; /* the open connections, for the second round */
    int n_socks;
    int second; /* the second round: answers do not open connections */
} client_t;

static client_t C;
static void start_one(void);

static void cli_read(dp_sock_t *s, int err)
{
    if (err) {
        C.failed++;
        dp_sock_read_stop(s);
        return;
    }
    size_t want = strlen(PING);
    if (s->in.len >= want) {
        dp_buf_consume(&s->in, s->in.len);
        C.answered++;
        if (!C.second)
            start_one();
    }
}

static void cli_done(dp_sock_t *s, int err, void *chosen)
{
    (void)chosen;
    if (err) {
        C.failed++;
        start_one();
        return;
    }
    C.connected++;
    C.socks[C.n_socks++] = s;
    struct iovec iov = {(void *)PING, strlen(PING)};
    dp_sock_write(s, &iov, 1);
    dp_sock_read_start(s, cli_read);
}

static void cli_connected(dp_sock_t *s, int err)
{
    if (err || dp_tls_connect(s, C.ctx, "a.example.com", cli_done) != 0) {
        C.failed++;
        start_one();
    }
}

static void start_one(void)
{
    if (C.started >= C.n)
        return;
    C.started++;
    dp_sock_connect(&C.loop, (struct sockaddr *)&C.addr, sizeof(C.addr), cli_connected);
}

static void child(struct sockaddr_in addr, int n, int ready_fd, int quit_fd)
{
    dp_loop_init(&C.loop, ev_loop_new(EVFLAG_AUTO), NULL);
    C.addr = addr;
    C.n = n;
    C.socks = calloc((size_t)n, sizeof(*C.socks));
    char err[256];
    dp_tls_opts_t o = {0};
    C.ctx = dp_tls_ctx_new(&o, err, sizeof(err));
    if (C.ctx == NULL)
        _exit(3);
    for (int i = 0; i < 32; i++) /* 32 handshakes in flight */
        start_one();
    run_until(&C.loop, &C.answered, n, 60000);
    char r = C.answered == n ? 'y' : 'n';
    if (write(ready_fd, &r, 1) != 1)
        _exit(4);
    /* the second round, on the idle connections: one more request each */
    char b;
    if (read(quit_fd, &b, 1) == 1) {
        int failed1 = C.failed;
        C.second = 1;
        struct iovec iov = {(void *)PING, strlen(PING)};
        for (int i = 0; i < C.n_socks; i++)
            dp_sock_write(C.socks[i], &iov, 1);
        run_until(&C.loop, &C.answered, 2 * n, 60000);
        r = C.answered == 2 * n ? (C.failed == failed1 ? 'y' : 'f') : 'n';
        if (write(ready_fd, &r, 1) != 1)
            _exit(4);
    }
    while (read(quit_fd, &b, 1) > 0)
        ;
    _exit(0);
}

/* ---- the server ---- */

static dp_loop_t L;
static dp_tls_ctx_t *S;
static dp_sock_t **conns;
static int n_conns, n_done, n_failed, n_echoed;

static void srv_read(dp_sock_t *s, int err)
{
    if (err) {
        dp_sock_read_stop(s);
        return;
    }
    struct iovec iov = {dp_buf_data(&s->in), s->in.len};
    dp_sock_write(s, &iov, 1);
    dp_buf_consume(&s->in, s->in.len);
    n_echoed++;
}

static void srv_done(dp_sock_t *s, int err, void *chosen)
{
    (void)chosen;
    if (err) {
        n_failed++;
        return;
    }
    n_done++;
    dp_sock_read_start(s, srv_read);
}

static void on_accept(struct ev_loop *ev, ev_io *w, int revents)
{
    (void)ev, (void)revents;
    for (;;) {
        int fd = accept4(w->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
            return;
        dp_sock_t *s = dp_sock_new(&L, fd, &dp_transport_raw);
        conns[n_conns++] = s;
        if (dp_tls_accept(s, S, NULL, NULL, srv_done) != 0)
            n_failed++;
    }
}

int main(void)
{
    int ok = CRYPTO_set_mem_functions(m_malloc, m_realloc, m_free);
    CHECK(ok == 1);
    signal(SIGPIPE, SIG_IGN);
    /* ASAN makes OpenSSL's many small allocations slow: fewer there */
    int n = getenv("TLS_MEM_CONNS") ? atoi(getenv("TLS_MEM_CONNS")) : UNDER_ASAN ? 400 : 2000;
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < (rlim_t)n + 64) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < (rlim_t)n + 64)
            n = (int)rl.rlim_cur - 64;
    }

    pem_t certp = td_load("a.pem"), keyp = td_load("a.key");
    dp_tls_cert_t a = cert(certp, keyp);
    static const char *const alpn[] = {"h2", "http/1.1"};
    dp_tls_opts_t o = {.server = true, .certs = &a, .n_certs = 1, .alpn = alpn, .n_alpn = 2};
    char err[256];
    S = dp_tls_ctx_new(&o, err, sizeof(err));
    CHECK(S != NULL);
    if (S == NULL)
        TEST_DONE();

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    CHECK(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    CHECK(listen(lfd, 1024) == 0);
    getsockname(lfd, (struct sockaddr *)&sa, &sl);

    int ready[2], quit[2];
    CHECK(pipe(ready) == 0 && pipe(quit) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(lfd);
        close(ready[0]);
        close(quit[1]);
        child(sa, n, ready[1], quit[0]);
    }
    close(ready[1]);
    close(quit[0]);

    dp_loop_init(&L, ev_loop_new(EVFLAG_AUTO), NULL);
    conns = calloc((size_t)n + 64, sizeof(*conns));
    ev_io lio;
    ev_io_init(&lio, on_accept, lfd, EV_READ);
    ev_io_start(L.ev, &lio);

    /* warm up: the first connections allocate what every later one shares
     * (OpenSSL's method and cipher caches, the loop's fd tables) */
    run_until(&L, &n_echoed, 32, 10000);
    uint64_t t0 = dp_now_ms();
    double cpu0 = cpu_us();
    long long bytes0 = live_bytes, allocs0 = live_allocs;
    long rss0 = rss_kib();
    int base = n_conns;
    track = getenv("TLS_MEM_SITES") != NULL;

    run_until(&L, &n_echoed, n, 60000);
    run_until(&L, NULL, 0, 100); /* tickets and echoes flushed, buffers released */
    uint64_t t1 = dp_now_ms();
    double cpu1 = cpu_us();
    long long bytes1 = live_bytes, allocs1 = live_allocs;
    long rss1 = rss_kib();
    int measured = n_conns - base;
    track = 0;
    if (getenv("TLS_MEM_SITES")) {
        for (int i = 0; i < N_SITES; i++)
            if (sites[i].file && sites[i].bytes > 1000)
                printf("%8.0f bytes %5.2f allocs  %s:%d\n", (double)sites[i].bytes / measured,
                       (double)sites[i].n / measured, sites[i].file, sites[i].line);
    }

    char r = 0;
    fcntl(ready[0], F_SETFL, 0);
    CHECK(read(ready[0], &r, 1) == 1 && r == 'y');
    CHECK_INT(n_done, n);
    CHECK_INT(n_failed, 0);
    CHECK_INT(n_echoed, n);

    if (measured > 0) {
        double ossl = (double)(bytes1 - bytes0) / measured;
        double nalloc = (double)(allocs1 - allocs0) / measured;
        double rss = (double)(rss1 - rss0) * 1024.0 / measured;
        printf("idle TLS connections: %d (%.0f handshakes/s with the client in the same machine, "
               "server CPU %.0f us each)\n",
               measured, measured * 1000.0 / (double)(t1 - t0 ? t1 - t0 : 1), (cpu1 - cpu0) / measured);
        printf("  OpenSSL heap per connection: %.0f bytes in %.1f allocations\n", ossl, nalloc);
        printf("  RSS per connection: %.0f bytes%s\n", rss,
               UNDER_ASAN ? " (ASAN build: not meaningful)" : "");
        /* nginx and HAProxy hold about 15 KiB, OpenSSL 3.0 alone ~13 KiB
         * (docs/tls.md). Handed over to our record layer (tls_offload.c),
         * the SSL object is gone: OpenSSL keeps nothing per connection and
         * the target is 8 KiB of RSS. */
        CHECK(ossl < 512);
        if (!UNDER_ASAN)
            CHECK(rss < 8 * 1024);
    }

    /* the idle connections still work: one more request on each, over
     * the record layer */
    CHECK(write(quit[1], "p", 1) == 1);
    run_until(&L, &n_echoed, 2 * n, 60000);
    CHECK_INT(n_echoed, 2 * n);
    /* serve on until the client has read every answer */
    fcntl(ready[0], F_SETFL, O_NONBLOCK);
    r = 0;
    for (uint64_t end = dp_now_ms() + 60000; read(ready[0], &r, 1) != 1 && dp_now_ms() < end;)
        run_until(&L, NULL, 0, 10);
    CHECK_INT(r, 'y');

    /* closing gives it all back */
    for (int i = 0; i < n_conns; i++)
        dp_sock_close(conns[i]);
    run_until(&L, NULL, 0, 10);
    long long leaked = live_bytes - bytes0;
    CHECK(leaked < 64 * 1024);
    if (leaked >= 64 * 1024)
        fprintf(stderr, "OpenSSL heap after closing: %lld bytes more than before\n", leaked);

    close(quit[1]);
    int status;
    waitpid(pid, &status, 0);
    ev_io_stop(L.ev, &lio);
    close(lfd);
    dp_tls_ctx_unref(S);
    dp_loop_dispose(&L);
    ev_loop_destroy(L.ev);
    free(conns);
    free(certp.p);
    free(keyp.p);
    TEST_DONE();
}
