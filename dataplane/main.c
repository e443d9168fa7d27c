/* dataplane: Envoy-style command line, bootstrap, workers, admin, signals.
 *
 *   dataplane -c bootstrap.yaml [--mode serve|validate] [--concurrency N]
 *             [-l LEVEL] [--service-node ID] [--service-cluster NAME]
 *             [--drain-time-s S] [--drain-strategy gradual|immediate]
 *             [--xds-record FILE] [--csds-address HOST:PORT]
 *
 * SIGTERM/SIGINT: stop accepting, let in-flight requests finish (bounded by
 * --drain-time-s), exit 0. SIGHUP: re-read the bootstrap's static resources;
 * a bootstrap that does not load is logged and the running config stays.
 * POST /quitquitquit on the admin port: exit 0 at once (Envoy's). The
 * drain sequence of POST /drain_listeners?graceful: dataplane/server/drain.h. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataplane/admin/admin.h"
#include "dataplane/core/arena.h"
#include "dataplane/core/buf.h"
#include "dataplane/core/common.h"
#include "dataplane/core/log.h"
#include "dataplane/core/loop.h"
#include "dataplane/server/config.h"
#include "dataplane/server/drain.h"
#include "dataplane/server/worker.h"
#include "dataplane/transparent/transparent.h"
#include "dataplane/upstream/health.h"
#include "dataplane/transport/ossl_mem.h"
#include "dataplane/version.h"
#include "xds/ads_client.h"
#include "xds/bootstrap.h"
#include "xds/csds_server.h"
#include "xds/hds_client.h"
#include "xds/lrs_client.h"

static struct {
    const char *config_path;
    const char *mode;
    int concurrency;
    dp_bootstrap_opts_t bopts;
    double drain_time_s;
    dp_drain_strategy_t drain_strategy;
    const char *xds_record;
    const char *csds_address;
    char *command_line;
} opt = {.mode = "serve", .drain_time_s = 600};

static dp_loop_t main_loop;
static dp_bootstrap_t *boot;
/* Bootstraps replaced by SIGHUP while the ADS client still reads its Node
 * from the first one: freed at exit. */
static dp_bootstrap_t **retired;
static size_t n_retired;
static ev_timer drain_timer, quit_timer;
static uint64_t drain_deadline_ms;

static void usage(FILE *f)
{
    fprintf(f, "usage: dataplane -c FILE [--mode serve|validate] [--concurrency N] [-l LEVEL]\n"
               "                 [--service-node ID] [--service-cluster NAME] [--drain-time-s S]\n"
               "                 [--drain-strategy gradual|immediate] [--xds-record FILE]\n"
               "                 [--csds-address HOST:PORT] [--version]\n");
}

static void parse_args(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config-path", required_argument, NULL, 'c'},
        {"mode", required_argument, NULL, 'm'},
        {"concurrency", required_argument, NULL, 'n'},
        {"log-level", required_argument, NULL, 'l'},
        {"service-node", required_argument, NULL, 'N'},
        {"service-cluster", required_argument, NULL, 'C'},
        {"drain-time-s", required_argument, NULL, 'd'},
        {"drain-strategy", required_argument, NULL, 'D'},
        {"xds-record", required_argument, NULL, 'R'},
        {"csds-address", required_argument, NULL, 'S'},
        {"version", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "c:l:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            opt.config_path = optarg;
            break;
        case 'm':
            if (strcmp(optarg, "serve") != 0 && strcmp(optarg, "validate") != 0) {
                fprintf(stderr, "error: --mode must be serve or validate, not '%s'\n", optarg);
                exit(1);
            }
            opt.mode = optarg;
            break;
        case 'n': {
            char *end;
            long n = strtol(optarg, &end, 10);
            if (*end || n < 1 || n > 256) {
                fprintf(stderr, "error: --concurrency takes a number from 1 to 256\n");
                exit(1);
            }
            opt.concurrency = (int)n;
            break;
        }
        case 'l':
            if (dp_log_set_level(optarg) != 0) {
                fprintf(stderr, "error: unknown log level '%s' (trace, debug, info, warning, error, critical, off)\n",
                        optarg);
                exit(1);
            }
            break;
        case 'N':
            opt.bopts.service_node = optarg;
            break;
        case 'C':
            opt.bopts.service_cluster = optarg;
            break;
        case 'd':
            opt.drain_time_s = atof(optarg);
            break;
        case 'D':
            if (strcmp(optarg, "gradual") == 0) {
                opt.drain_strategy = DP_DRAIN_GRADUAL;
            } else if (strcmp(optarg, "immediate") == 0) {
                opt.drain_strategy = DP_DRAIN_IMMEDIATE;
            } else {
                fprintf(stderr, "error: --drain-strategy must be gradual or immediate, not '%s'\n", optarg);
                exit(1);
            }
            break;
        case 'R':
            opt.xds_record = optarg;
            break;
        case 'S':
            opt.csds_address = optarg;
            break;
        case 'v':
            printf("dataplane version %s\n", DP_VERSION);
            exit(0);
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            exit(1);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "error: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        exit(1);
    }
    if (opt.config_path == NULL) {
        fprintf(stderr, "error: a bootstrap is required (-c FILE)\n");
        usage(stderr);
        exit(1);
    }
    if (opt.concurrency == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        opt.concurrency = n > 0 ? (int)n : 1;
    }
    size_t len = 0;
    for (int i = 0; i < argc; i++)
        len += strlen(argv[i]) + 1;
    opt.command_line = dp_xcalloc(1, len + 1);
    for (int i = 0; i < argc; i++) {
        strcat(opt.command_line, argv[i]);
        if (i + 1 < argc)
            strcat(opt.command_line, " ");
    }
}

/* Activates a snapshot (binding its listeners). Returns 0 or -1 logged. */
static int apply(dp_snapshot_t *snap)
{
    char err[512];
    const char *failed = NULL;
    if (dp_config_commit(snap, &failed, err, sizeof(err)) != 0) {
        DP_ERROR("%s", err);
        return -1;
    }
    return 0;
}

static void on_sighup(struct ev_loop *ev, ev_signal *w, int revents)
{
    (void)ev;
    (void)w;
    (void)revents;
    char err[1024];
    dp_bootstrap_t *nb = NULL;
    DP_INFO("SIGHUP: reloading %s", opt.config_path);
    if (dp_bootstrap_load(opt.config_path, &opt.bopts, &nb, err, sizeof(err)) != 0) {
        DP_ERROR("reload rejected, keeping the running configuration: %s", err);
        return;
    }
    if (boot->has_ads) {
        /* merged with the dynamic resources on the xDS thread */
        dp_ads_client_set_static(nb->snap);
        retired = dp_xrealloc(retired, (n_retired + 1) * sizeof(*retired));
        retired[n_retired++] = nb;
        return;
    }
    if (apply(nb->snap) != 0) {
        DP_ERROR("reload rejected, keeping the running configuration");
        dp_bootstrap_free(nb);
        return;
    }
    dp_bootstrap_free(boot);
    boot = nb;
    DP_INFO("reload applied: %zu listeners, %zu clusters", boot->snap->n_listeners, boot->snap->n_clusters);
}

static void on_drain_tick(struct ev_loop *ev, ev_timer *t, int revents)
{
    (void)t;
    (void)revents;
    size_t n = dp_workers_conns();
    if (n == 0 || dp_now_ms() >= drain_deadline_ms) {
        if (n)
            DP_WARN("drain time over with %zu connections open", n);
        ev_break(ev, EVBREAK_ALL);
    }
}

static void on_sigterm(struct ev_loop *ev, ev_signal *w, int revents)
{
    (void)w;
    (void)revents;
    if (ev_is_active(&drain_timer)) {
        ev_break(ev, EVBREAK_ALL); /* second signal: now */
        return;
    }
    DP_INFO("caught signal, draining (up to %.0f s)", opt.drain_time_s);
    dp_admin_set_state("DRAINING");
    dp_workers_drain();
    drain_deadline_ms = dp_now_ms() + (uint64_t)(opt.drain_time_s * 1000);
    ev_timer_init(&drain_timer, on_drain_tick, 0.05, 0.05);
    ev_timer_start(ev, &drain_timer);
}

static void on_quit_timer(struct ev_loop *ev, ev_timer *t, int revents)
{
    (void)t;
    (void)revents;
    DP_INFO("POST /quitquitquit: exiting");
    ev_break(ev, EVBREAK_ALL);
}

/* POST /quitquitquit: out of the loop on the next turn, once the admin's
 * "OK" has been written. */
static void quit_soon(void)
{
    if (!ev_is_active(&quit_timer))
        ev_timer_start(main_loop.ev, &quit_timer);
}

int main(int argc, char **argv)
{
    /* before anything allocates through OpenSSL (ossl_mem.h) */
    bool ossl_mem = dp_ossl_mem_install();
    parse_args(argc, argv);
    char err[2048];
    /* the self-check before any listener is translated: listeners with
     * original_src are refused or fall back on its verdict (validate
     * mode probes only, it never sets up the kernel) */
    dp_transparent_init(&(dp_transparent_opts_t){.install = strcmp(opt.mode, "validate") != 0});
    atexit(dp_transparent_shutdown); /* every exit path removes the kernel set-up it made */
    if (dp_bootstrap_load(opt.config_path, &opt.bopts, &boot, err, sizeof(err)) != 0) {
        fprintf(stderr, "error: %s\n", err);
        return 1;
    }
    if (strcmp(opt.mode, "validate") == 0) {
        printf("configuration '%s' OK\n", opt.config_path);
        dp_bootstrap_free(boot);
        return 0;
    }
    signal(SIGPIPE, SIG_IGN);
    DP_INFO("dataplane %s starting: node '%s', %d workers", DP_VERSION, boot->node_id ? boot->node_id : "",
            opt.concurrency);
    DP_DEBUG("OpenSSL allocations: %s", ossl_mem ? "per-thread cache" : "malloc");

    struct ev_loop *ev = ev_default_loop(EVFLAG_AUTO);
    dp_loop_init(&main_loop, ev, NULL);
    if (dp_workers_start(opt.concurrency) != 0) {
        fprintf(stderr, "error: cannot start worker threads\n");
        return 1;
    }
    dp_config_init(&main_loop);
    dp_drain_configure(opt.drain_time_s, opt.drain_strategy);
    ev_timer_init(&quit_timer, on_quit_timer, 0.01, 0);
    if (boot->has_admin) {
        dp_admin_info_t info = {
            .version = DP_VERSION,
            .node_id = boot->node_id,
            .node_cluster = boot->node_cluster,
            .command_line = opt.command_line,
            .concurrency = opt.concurrency,
            .start_wall_ms = dp_wall_ms(),
            .service_node = opt.bopts.service_node,
            .service_cluster = opt.bopts.service_cluster,
            .drain_time_s = opt.drain_time_s,
            .drain_strategy = opt.drain_strategy,
            .quit = quit_soon,
        };
        if (dp_admin_start(&main_loop, boot, &info, err, sizeof(err)) != 0) {
            fprintf(stderr, "error: %s\n", err);
            return 1;
        }
    }
    if (apply(boot->snap) != 0) {
        fprintf(stderr, "error: cannot bind the bootstrap's listeners (see above)\n");
        return 1;
    }
    for (size_t i = 0; i < boot->snap->n_listeners; i++)
        DP_INFO("listener '%s' on %s", boot->snap->listeners[i]->name, boot->snap->listeners[i]->addr_str);
    if (boot->has_ads) {
        dp_ads_client_opts_t aopts = {.record_path = opt.xds_record};
        if (dp_ads_client_start(boot, &aopts, err, sizeof(err)) != 0) {
            fprintf(stderr, "error: %s\n", err);
            return 1;
        }
    }
    /* status back to the control plane: load reports, health, CSDS */
    if (boot->has_lrs && dp_lrs_client_start(boot, err, sizeof(err)) != 0) {
        fprintf(stderr, "error: %s\n", err);
        return 1;
    }
    if (boot->has_hds && dp_hds_client_start(boot, err, sizeof(err)) != 0) {
        fprintf(stderr, "error: %s\n", err);
        return 1;
    }
    if (opt.csds_address && dp_csds_server_start(boot, opt.csds_address, NULL, err, sizeof(err)) != 0) {
        fprintf(stderr, "error: %s\n", err);
        return 1;
    }
    dp_admin_set_state("LIVE");

    ev_signal sigterm, sigint, sighup;
    ev_signal_init(&sigterm, on_sigterm, SIGTERM);
    ev_signal_init(&sigint, on_sigterm, SIGINT);
    ev_signal_init(&sighup, on_sighup, SIGHUP);
    ev_signal_start(ev, &sigterm);
    ev_signal_start(ev, &sigint);
    ev_signal_start(ev, &sighup);
    ev_timer_init(&drain_timer, on_drain_tick, 0.05, 0.05);

    ev_run(ev, 0);

    DP_INFO("exiting");
    dp_csds_server_stop();
    dp_hds_client_stop();
    dp_health_stop(); /* the health-check thread, after HDS which feeds it */
    dp_lrs_client_stop();
    dp_ads_client_stop();
    dp_workers_stop();
    dp_transparent_shutdown();
    dp_config_shutdown();
    dp_admin_stop();
    dp_bootstrap_free(boot);
    for (size_t i = 0; i < n_retired; i++)
        dp_bootstrap_free(retired[i]);
    free(retired);
    ev_timer_stop(ev, &drain_timer);
    ev_timer_stop(ev, &quit_timer);
    dp_drain_reset();
    ev_signal_stop(ev, &sigterm);
    ev_signal_stop(ev, &sigint);
    ev_signal_stop(ev, &sighup);
    dp_loop_dispose(&main_loop);
    dp_buf_cache_release();
    dp_arena_cache_release();
    free(opt.command_line);
    return 0;
}
