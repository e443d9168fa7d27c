/* HDS messages: the first request (node, capabilities), a specifier
 * turned into a checked set (health check, localities, endpoints, report
 * interval), the set checked by the health service against a real
 * in-process server, and the EndpointHealthResponse reporting it. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dataplane/core/common.h"
#include "envoy/service/health/v3/hds.pb-c.h"
#include "test.h"
#include "xds/hds.h"
#include "xds/pbjson.h"
#include "xds/typereg.h"

typedef Envoy__Service__Health__V3__HealthCheckRequestOrEndpointHealthResponse pb_msg_t;

static uint8_t *specifier(int port_ok, int port_dead, size_t *len)
{
    char yaml[1024];
    snprintf(yaml, sizeof(yaml),
             "interval: 0.5s\n"
             "cluster_health_checks:\n"
             "- cluster_name: svc\n"
             "  health_checks:\n"
             "  - timeout: 0.2s\n    interval: 0.05s\n    no_traffic_interval: 0.05s\n"
             "    unhealthy_threshold: 1\n    healthy_threshold: 1\n"
             "    http_health_check: { path: /ready }\n"
             "  locality_endpoints:\n"
             "  - locality: { zone: z1 }\n"
             "    endpoints: [ { address: { socket_address: { address: 127.0.0.1, port_value: %d } } } ]\n"
             "  - locality: { zone: z2 }\n"
             "    endpoints: [ { address: { socket_address: { address: 127.0.0.1, port_value: %d } } } ]\n"
             "- cluster_name: nocheck\n"
             "  locality_endpoints:\n"
             "  - endpoints: [ { address: { socket_address: { address: 10.0.0.1, port_value: 80 } } } ]\n",
             port_ok, port_dead);
    dp_pbjson_opts_t o = {.resolver = dp_typereg_lookup, .flags = 0};
    ProtobufCMessage *m = NULL;
    char e[512];
    if (dp_pbjson_decode_text(yaml, strlen(yaml), &envoy__service__health__v3__health_check_specifier__descriptor,
                              &o, &m, "t", e, sizeof(e)) != 0) {
        fprintf(stderr, "specifier does not decode: %s\n", e);
        return NULL;
    }
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(*len + 1);
    protobuf_c_message_pack(m, buf);
    protobuf_c_message_free_unpacked(m, NULL);
    return buf;
}

static void test_request(void)
{
    size_t n;
    uint8_t *p = dp_hds_request(NULL, &n);
    pb_msg_t *m = envoy__service__health__v3__health_check_request_or_endpoint_health_response__unpack(NULL, n, p);
    CHECK(m != NULL);
    if (m) {
        CHECK(m->health_check_request != NULL);
        CHECK_STR(m->health_check_request->node->user_agent_name, "dataplane");
        const Envoy__Service__Health__V3__Capability *c = m->health_check_request->capability;
        CHECK_INT(c->n_health_check_protocols, 2);
        CHECK_INT(c->health_check_protocols[0], ENVOY__SERVICE__HEALTH__V3__CAPABILITY__PROTOCOL__HTTP);
        CHECK_INT(c->health_check_protocols[1], ENVOY__SERVICE__HEALTH__V3__CAPABILITY__PROTOCOL__TCP);
        protobuf_c_message_free_unpacked(&m->base, NULL);
    }
    free(p);
}

static int health_of(const Envoy__Service__Health__V3__EndpointHealthResponse *r, const char *cluster, const char *zone,
                     int port)
{
    for (size_t i = 0; i < r->n_cluster_endpoints_health; i++) {
        const Envoy__Service__Health__V3__ClusterEndpointsHealth *c = r->cluster_endpoints_health[i];
        if (strcmp(c->cluster_name, cluster) != 0)
            continue;
        for (size_t l = 0; l < c->n_locality_endpoints_health; l++) {
            const Envoy__Service__Health__V3__LocalityEndpointsHealth *lh = c->locality_endpoints_health[l];
            if (strcmp(lh->locality->zone, zone) != 0)
                continue;
            for (size_t j = 0; j < lh->n_endpoints_health; j++) {
                const Envoy__Config__Core__V3__SocketAddress *sa = lh->endpoints_health[j]->endpoint->address->socket_address;
                if ((int)sa->port_value == port && strcmp(sa->address, "127.0.0.1") == 0)
                    return (int)lh->endpoints_health[j]->health_status;
            }
        }
    }
    return -1;
}

static Envoy__Service__Health__V3__EndpointHealthResponse *report(const dp_hds_set_t *s, pb_msg_t **m)
{
    size_t n;
    uint8_t *p = dp_hds_report(s, &n);
    *m = envoy__service__health__v3__health_check_request_or_endpoint_health_response__unpack(NULL, n, p);
    free(p);
    return *m ? (*m)->endpoint_health_response : NULL;
}

/* a server that answers 200 to everything */
static void on_client(struct ev_loop *ev, ev_io *w, int revents)
{
    (void)revents;
    char buf[2048];
    ssize_t n = read(w->fd, buf, sizeof(buf));
    if (n <= 0) {
        ev_io_stop(ev, w);
        close(w->fd);
        free(w);
        return;
    }
    static const char ok[] = "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
    if (write(w->fd, ok, sizeof(ok) - 1) < 0)
        perror("write");
}

static void on_accept(struct ev_loop *ev, ev_io *w, int revents)
{
    (void)revents;
    int fd = accept(w->fd, NULL, NULL);
    if (fd < 0)
        return;
    ev_io *c = malloc(sizeof(*c));
    ev_io_init(c, on_client, fd, EV_READ);
    ev_io_start(ev, c);
}

static void test_set_and_report(void)
{
    static dp_loop_t loop;
    dp_loop_init(&loop, EV_DEFAULT, NULL);
    dp_health_attach(&loop);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(fd, (struct sockaddr *)&sin, sizeof(sin));
    socklen_t sl = sizeof(sin);
    getsockname(fd, (struct sockaddr *)&sin, &sl);
    listen(fd, 8);
    ev_io srv;
    ev_io_init(&srv, on_accept, fd, EV_READ);
    ev_io_start(loop.ev, &srv);
    int port = ntohs(sin.sin_port);

    size_t n;
    uint8_t *p = specifier(port, 1, &n);
    CHECK(p != NULL);
    if (p == NULL)
        return;
    char err[512];
    dp_hds_set_t *s = dp_hds_specifier(p, n, err, sizeof(err));
    free(p);
    CHECK(s != NULL);
    if (s == NULL)
        return;
    CHECK_STR(err, "");
    CHECK_INT(s->interval_ms, 500);
    CHECK_INT(s->n_clusters, 2);
    CHECK_STR(s->clusters[0].name, "svc");
    CHECK(s->clusters[0].hc != NULL && s->clusters[0].hc->interval_ms == 50);
    CHECK_INT(s->clusters[0].n_localities, 2);
    CHECK_INT(s->clusters[0].n_endpoints, 2);
    CHECK(s->clusters[1].hc == NULL);
    CHECK(dp_hds_specifier((const uint8_t *)"\xff\xff", 2, err, sizeof(err)) == NULL);

    /* before any check: all UNHEALTHY */
    pb_msg_t *m;
    Envoy__Service__Health__V3__EndpointHealthResponse *r = report(s, &m);
    CHECK(r != NULL);
    if (r) {
        CHECK_INT(r->n_cluster_endpoints_health, 2);
        CHECK_INT(health_of(r, "svc", "z1", port), ENVOY__CONFIG__CORE__V3__HEALTH_STATUS__UNHEALTHY);
        protobuf_c_message_free_unpacked(&m->base, NULL);
    }

    dp_health_set_hds(s);
    uint64_t until = dp_now_ms() + 400;
    while (dp_now_ms() < until)
        ev_run(loop.ev, EVRUN_NOWAIT);
    r = report(s, &m);
    CHECK(r != NULL);
    if (r) {
        CHECK_INT(health_of(r, "svc", "z1", port), ENVOY__CONFIG__CORE__V3__HEALTH_STATUS__HEALTHY);
        CHECK_INT(health_of(r, "svc", "z2", 1), ENVOY__CONFIG__CORE__V3__HEALTH_STATUS__UNHEALTHY);
        CHECK_INT(health_of(r, "svc", "z1", 1), -1); /* each endpoint under its own locality */
        protobuf_c_message_free_unpacked(&m->base, NULL);
    }
    dp_health_set_hds(NULL);
    ev_run(loop.ev, EVRUN_NOWAIT);
    dp_hds_set_unref(s);
    dp_health_detach();
    ev_io_stop(loop.ev, &srv);
    close(fd);
    dp_loop_dispose(&loop);
}

int main(void)
{
    test_request();
    test_set_and_report();
    TEST_DONE();
}
