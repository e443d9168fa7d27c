/* control-stub: the small xDS management server shipped with the project
 * (issue 4). Reads a fleet file, serves its translation over ADS, and
 * follows edits of the file (inotify); takes the data planes' load reports
 * (LRS) and health reports (HDS), polls their CSDS, and shows it all in
 * GET /status (issue 7). See README.md. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "control-stub/admin_http.h"
#include "control-stub/fleet.h"
#include "control-stub/fleet_xlate.h"
#include "control-stub/replay.h"
#include "control-stub/stub_server.h"
#include "control-stub/stub_util.h"

/* The loop wakes at least this often to read inotify events, signals and
 * the admin port (a container event is pushed within this plus the push
 * itself, the 10 ms budget of one change); an idle wake-up costs a few
 * microseconds. */
#define POLL_MS 2

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void usage(FILE *fp)
{
    fputs("usage: control-stub -c FLEET.yaml [--listen HOST:PORT] [--admin IP:PORT] [--lrs-interval-ms N]\n"
          "                    [--csds NODE=HOST:PORT]...\n"
          "       control-stub --replay STREAM.jsonl [--listen HOST:PORT] [--admin IP:PORT] [...]\n"
          "       control-stub --dump FLEET.yaml [--node NAME]\n"
          "\n"
          "  -c, --config FILE     fleet file to serve; edits are picked up (inotify)\n"
          "  -l, --listen ADDR     ADS (gRPC, plaintext) address, default 127.0.0.1:18000;\n"
          "                        port 0 picks a free one (logged)\n"
          "  -d, --dump FILE       print the Envoy resources of FILE as JSON and exit;\n"
          "                        exits 1 with FILE:LINE:COL: field: reason if invalid\n"
          "  -n, --node NAME       with --dump: only this node\n"
          "  -a, --admin ADDR      serve GET /status (JSON) on this loopback IPv4:PORT\n"
          "  -r, --replay FILE     serve a recorded stream (the data plane's --xds-record)\n"
          "                        instead of a fleet\n"
          "      --lrs-interval-ms N   load_reporting_interval asked of data planes (LRS),\n"
          "                        default 1000\n"
          "      --csds NODE=ADDR  poll that node's CSDS at HOST:PORT (as the fleet's csds:);\n"
          "                        repeatable, works with --replay too\n"
          "  -h, --help            this text\n",
          fp);
}

/* Watches the directory of `path` so that a rename over the file (what
 * editors do) is seen as well as an in-place write. */
typedef struct watch {
    int fd;
    char base[NAME_MAX + 1];
} watch_t;

static int watch_open(watch_t *w, const char *path)
{
    char a[PATH_MAX], b[PATH_MAX];
    snprintf(a, sizeof a, "%s", path);
    snprintf(b, sizeof b, "%s", path);
    snprintf(w->base, sizeof w->base, "%s", basename(a));
    w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (w->fd < 0)
        return -1;
    if (inotify_add_watch(w->fd, dirname(b), IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
        close(w->fd);
        w->fd = -1;
        return -1;
    }
    return 0;
}

/* 1 if the fleet file was written or replaced since the last call. */
static int watch_changed(watch_t *w)
{
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    int hit = 0;
    for (;;) {
        ssize_t n = read(w->fd, buf, sizeof buf);
        if (n <= 0)
            break;
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            if (ev->len > 0 && strcmp(ev->name, w->base) == 0)
                hit = 1;
            p += sizeof *ev + ev->len;
        }
    }
    return hit;
}

static int do_dump(const char *path, const char *node)
{
    char err[1024];
    dp_fleet_t *f = NULL;
    if (dp_fleet_load(path, &f, err, sizeof err) != 0) {
        fprintf(stderr, "control-stub: %s\n", err);
        return 1;
    }
    int rc = dp_fleet_dump(f, node, stdout, err, sizeof err);
    dp_fleet_free(f);
    if (rc) {
        fprintf(stderr, "control-stub: %s\n", err);
        return 1;
    }
    return fflush(stdout) == 0 ? 0 : 1;
}

static void reload(dp_stubsrv_t *srv, const char *path)
{
    char err[1024];
    dp_fleet_t *f = NULL;
    if (dp_fleet_load(path, &f, err, sizeof err) != 0) {
        dp_stub_log("fleet edit rejected, still serving the previous fleet: %s", err);
        return;
    }
    if (dp_stubsrv_set_fleet(srv, f, err, sizeof err) != 0) {
        dp_stub_log("fleet edit rejected, still serving the previous fleet: %s", err);
        dp_fleet_free(f);
    } else {
        dp_stub_log("fleet %s reloaded", path);
    }
}

static char *status_body(void *ctx)
{
    return dp_stubsrv_status_json(ctx);
}

static int container_state(void *ctx, const char *id, int running, char *errbuf, size_t errlen)
{
    int rc = dp_stubsrv_container_state(ctx, id, running, errbuf, errlen);
    if (rc == 0)
        dp_stub_log("container %s %s (admin)", id, running ? "started" : "stopped");
    return rc;
}

static int open_admin(const char *admin, dp_stubsrv_t *srv, dp_stubadm_t **adm)
{
    char err[512];
    int port = 0;
    if (dp_stubadm_open(admin, status_body, container_state, srv, adm, &port, err, sizeof err) != 0) {
        fprintf(stderr, "control-stub: %s\n", err);
        return -1;
    }
    dp_stub_log("admin: GET /status, POST /containers/ID/start|stop on port %d", port);
    return 0;
}

static void handle_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* What serving takes from the command line besides the fleet. */
typedef struct srv_opts {
    const char *listen, *admin;
    unsigned lrs_interval_ms;
    const char **csds; /* NODE=ADDR */
    size_t ncsds;
} srv_opts_t;

static int server_open(const srv_opts_t *o, dp_stubsrv_t **srv, int *port)
{
    char err[1024];
    if (dp_stubsrv_create(o->listen, o->lrs_interval_ms, srv, port, err, sizeof err) != 0) {
        fprintf(stderr, "control-stub: %s\n", err);
        return -1;
    }
    for (size_t i = 0; i < o->ncsds; i++)
        dp_stubsrv_add_csds(*srv, o->csds[i]); /* checked by main() */
    return 0;
}

/* --replay: serves the recording until a signal. */
static int do_replay(const char *path, const srv_opts_t *o)
{
    char err[1024];
    dp_replay_t *rp = NULL;
    if (dp_replay_load(path, &rp, err, sizeof err) != 0) {
        fprintf(stderr, "control-stub: %s\n", err);
        return 1;
    }
    handle_signals();
    dp_stubsrv_t *srv = NULL;
    dp_stubadm_t *adm = NULL;
    int port = 0;
    if (server_open(o, &srv, &port) != 0) {
        dp_replay_free(rp);
        return 1;
    }
    dp_stubsrv_set_replay(srv, rp);
    if (o->admin != NULL && open_admin(o->admin, srv, &adm) != 0) {
        dp_stubsrv_destroy(srv);
        dp_replay_free(rp);
        return 1;
    }
    dp_stub_log("replaying %s (%zu recorded streams) over ADS on port %d", path, rp->nstreams, port);
    while (!g_stop) {
        dp_stubsrv_poll(srv, POLL_MS);
        if (adm != NULL)
            dp_stubadm_poll(adm);
    }
    dp_stub_log("stopping");
    dp_stubadm_close(adm);
    dp_stubsrv_destroy(srv);
    dp_replay_free(rp);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'}, {"listen", required_argument, NULL, 'l'},
        {"dump", required_argument, NULL, 'd'},   {"node", required_argument, NULL, 'n'},
        {"admin", required_argument, NULL, 'a'},  {"replay", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},         {"lrs-interval-ms", required_argument, NULL, 'L'},
        {"csds", required_argument, NULL, 'C'},   {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *listen = "127.0.0.1:18000", *dump = NULL, *node = NULL;
    const char *admin = NULL, *replay = NULL;
    const char *csds[64];
    size_t ncsds = 0;
    unsigned lrs_ms = 0;
    char *end;
    int c;
    while ((c = getopt_long(argc, argv, "c:l:d:n:a:r:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'a':
            admin = optarg;
            break;
        case 'r':
            replay = optarg;
            break;
        case 'c':
            config = optarg;
            break;
        case 'l':
            listen = optarg;
            break;
        case 'd':
            dump = optarg;
            break;
        case 'n':
            node = optarg;
            break;
        case 'L':
            lrs_ms = (unsigned)strtoul(optarg, &end, 10);
            if (*end != '\0' || optarg[0] < '1' || optarg[0] > '9' || lrs_ms > 3600000) {
                fprintf(stderr, "control-stub: --lrs-interval-ms %s: expected 1..3600000\n", optarg);
                return 2;
            }
            break;
        case 'C':
            if (strchr(optarg, '=') == NULL || strchr(optarg, '=') == optarg ||
                strchr(strchr(optarg, '='), ':') == NULL || ncsds == sizeof csds / sizeof *csds) {
                fprintf(stderr, "control-stub: --csds %s: expected NODE=HOST:PORT\n", optarg);
                return 2;
            }
            csds[ncsds++] = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc || (dump != NULL) + (config != NULL) + (replay != NULL) != 1 ||
        (node != NULL && dump == NULL) || ((admin != NULL || lrs_ms || ncsds) && dump != NULL)) {
        usage(stderr);
        return 2;
    }
    if (dump != NULL)
        return do_dump(dump, node);
    srv_opts_t o = {listen, admin, lrs_ms, csds, ncsds};
    if (replay != NULL)
        return do_replay(replay, &o);

    char err[1024];
    dp_fleet_t *f = NULL;
    if (dp_fleet_load(config, &f, err, sizeof err) != 0) {
        fprintf(stderr, "control-stub: %s\n", err);
        return 1;
    }
    watch_t w;
    if (watch_open(&w, config) != 0) {
        fprintf(stderr, "control-stub: cannot watch %s: %s\n", config, strerror(errno));
        dp_fleet_free(f);
        return 1;
    }
    handle_signals();

    dp_stubsrv_t *srv = NULL;
    int port = 0;
    if (server_open(&o, &srv, &port) != 0) {
        dp_fleet_free(f);
        close(w.fd);
        return 1;
    }
    int rc = dp_stubsrv_set_fleet(srv, f, err, sizeof err);
    if (rc != 0) {
        dp_fleet_free(f);
        fprintf(stderr, "control-stub: %s\n", err);
        dp_stubsrv_destroy(srv);
        close(w.fd);
        return 1;
    }
    dp_stubadm_t *adm = NULL;
    if (admin != NULL && open_admin(admin, srv, &adm) != 0) {
        dp_stubsrv_destroy(srv);
        close(w.fd);
        return 1;
    }
    dp_stub_log("serving %s over ADS on port %d", config, port);
    while (!g_stop) {
        dp_stubsrv_poll(srv, POLL_MS);
        if (watch_changed(&w))
            reload(srv, config);
        if (adm != NULL)
            dp_stubadm_poll(adm);
    }
    dp_stub_log("stopping");
    dp_stubadm_close(adm);
    dp_stubsrv_destroy(srv);
    close(w.fd);
    return 0;
}
