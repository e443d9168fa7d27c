/* control-stub's fleet file and its translation: permissions parsed with
 * their positions (files relative to the fleet file, plain tokens hashed
 * and dropped), containers with several instances, aliases by name and by
 * custom domain, per-node listeners; the translated Container / Project
 * resources are accepted by the data plane's own catalogue and policy
 * compiler, and a node gets only its own containers and projects.
 *
 * The stub is an executable, not part of libdpl: its sources are compiled
 * into this test. */
#include "control-stub/fleet.c"
#include "control-stub/fleet_health.c"
#include "control-stub/fleet_perms.c"
#include "control-stub/fleet_tls.c"
#include "control-stub/fleet_xlate.c"
#include "control-stub/stub_util.c"

#include <unistd.h>

#include "dataplane/containers/v1/catalogue.pb-c.h"
#include "dataplane/containers/v1/routing.pb-c.h"
#include "envoy/config/cluster/v3/cluster.pb-c.h"
#include "envoy/config/listener/v3/listener.pb-c.h"
#include "envoy/config/route/v3/route.pb-c.h"
#include "filters/containers/catalogue.h"
#include "filters/containers/policy.h"
#include "test.h"

typedef Dataplane__Containers__V1__Container pb_container_t;
typedef Dataplane__Containers__V1__Project pb_project_t;

#define P1 "64a1f0c2e4b5d6a7b8c9d0e1"
#define P2 "64a1f0c2e4b5d6a7b8c9d0e2"
#define C1 "64a1f0c2e4b5d6a7b8c9d0f1"
#define C2 "64a1f0c2e4b5d6a7b8c9d0f2"
#define C3 "64a1f0c2e4b5d6a7b8c9d0f3"

static char dir[] = "/tmp/fleet_test.XXXXXX";
static char path[256];
static char err[1024];

/* The fleet text, written to DIR/fleet.yaml and loaded from there. */
static dp_fleet_t *load(const char *text)
{
    FILE *fp = fopen(path, "w");
    fputs(text, fp);
    fclose(fp);
    dp_fleet_t *f = NULL;
    err[0] = '\0';
    if (dp_fleet_load(path, &f, err, sizeof err) != 0)
        return NULL;
    return f;
}

static const char *FLEET =
    "defaults: { ports: { terminal: 7681 } }\n"
    "nodes:\n"
    "- { name: us, base_domain: c.test, listeners: [{address: 127.0.0.1, port: 8080}, {address: '::1', port: "
    "8080}],\n"
    "    port_pod_form: true }\n"
    "- { name: eu, base_domain: c.test, listener: {address: 127.0.0.1, port: 8081} }\n"
    "projects:\n"
    "- id: " P1 "\n"
    "  alias: demo\n"
    "  permissions:\n"
    "    default: deny\n"
    "    forward_credentials: true\n"
    "    groups:\n"
    "    - { name: dev, type: password, htpasswd_file: dev.htpasswd, services: [terminal, {service: "
    "http-8080}] }\n"
    "    - { name: view, type: token, tokens: [tok-1], sha256: [" /* sha256("x") upper-cased */
    "\"2D711642B726B04401627CA9FBAC32F5C8530FB1903CC4DB02258717921A4881\"],\n"
    "        services: [{service: '*', access: read-only}] }\n"
    "    - { name: lan, type: ip, cidrs: [10.0.0.0/8, 192.168.1.7, '::1'], services: [sqlite] }\n"
    "- id: " P2 "\n"
    "containers:\n"
    "- id: " C1 "\n"
    "  project: demo\n"
    "  node: us\n"
    "  state: running\n"
    "  addresses: [10.0.0.1, 10.0.0.2]\n"
    "  services: [terminal, http-8080]\n"
    "  machine: builder\n"
    "  pod_slug: shop\n"
    "  permissions:\n"
    "    groups:\n"
    "    - name: sso\n"
    "      type: jwt\n"
    "      issuer: https://issuer.test\n"
    "      audiences: aud-1\n"
    "      jwks: '{\"keys\": [{\"kty\": \"oct\", \"k\": \"c2VjcmV0\"}]}'\n"
    "      claims: { role: [admin, ops], team: x }\n"
    "      services: ['*']\n"
    "- { id: " C2 ", project: " P1 ", node: us, state: stopped, services: { sqlite: 5005 } }\n"
    "- { id: " C3 ", project: " P2 ", node: eu, state: running, address: 10.0.0.3 }\n"
    "aliases:\n"
    "- { name: web, domain: shop.example.com, container: " C1 ", service: http-8080, index: 2 }\n"
    "- { domain: old.example.com, container: " C2 ", service: sqlite }\n";

static void test_parse(void)
{
    dp_fleet_t *f = load(FLEET);
    CHECK(f != NULL);
    if (f == NULL) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    CHECK_INT(f->default_ports[0], 7681);
    CHECK_INT(f->default_ports[1], DP_FLEET_PORT_DISPLAY);
    CHECK_INT(f->nodes[0].nlisteners, 2);
    CHECK_STR(f->nodes[0].listeners[1].address, "::1");
    CHECK_INT(f->nodes[0].port_pod_form, 1);
    CHECK_INT(f->nodes[0].port_machine_form, 0);
    CHECK_INT(f->nodes[1].nlisteners, 1);

    const dp_fleet_perms_t *pp = &f->projects[0].perms;
    CHECK_INT(pp->set, 1);
    CHECK_INT(pp->default_allow, 0);
    CHECK_INT(pp->forward_credentials, 1);
    CHECK_INT(pp->ngroups, 3);
    CHECK_INT(pp->groups[0].type, DP_FLEET_G_PASSWORD);
    CHECK_STR(pp->groups[0].htpasswd,
              "dev:{SHA}POjQMNQW1NfYyWtu4ZyNpwwV7k4=\n"
              "ops:$2y$05$YCn0LUeh2bwCOZwf/Isns.BcaRNE9369Z6jAXpB3qBAgHotMdy1/u\n"); /* CRs and blank lines
                                                                                        dropped */
    CHECK_INT(pp->groups[0].ngrants, 2);
    CHECK_STR(pp->groups[0].grants[1].service, "http-8080");
    CHECK_INT(pp->groups[0].grants[1].read_only, 0);
    CHECK_INT(pp->groups[1].type, DP_FLEET_G_TOKEN);
    CHECK_INT(pp->groups[1].nlist, 2);
    /* sha256 given: lower-cased; tokens: hashed, the plain token gone */
    CHECK_STR(pp->groups[1].list[0], "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881");
    CHECK_STR(pp->groups[1].list[1],
              "65dcf16ea3dfa49069628089eb4a75483070f5584b2a21ee64912b5f621f12da"); /* sha256("tok-1") */
    CHECK_INT(pp->groups[1].grants[0].read_only, 1);
    CHECK_STR(pp->groups[1].grants[0].service, "*");
    CHECK_INT(pp->groups[2].nlist, 3);
    CHECK_STR(pp->groups[2].list[1], "192.168.1.7"); /* as written */
    CHECK_STR(pp->groups[2].list[2], "::1");
    CHECK_INT(f->projects[1].perms.set, 0);

    const dp_fleet_container_t *c1 = &f->containers[0];
    CHECK_INT(c1->naddresses, 2);
    CHECK_STR(c1->machine, "builder");
    CHECK_STR(c1->pod_slug, "shop");
    CHECK_INT(c1->services[0].port, 7681);
    CHECK_INT(c1->perms.set, 1);
    CHECK_INT(c1->perms.groups[0].type, DP_FLEET_G_JWT);
    CHECK_STR(c1->perms.groups[0].issuer, "https://issuer.test");
    CHECK_INT(c1->perms.groups[0].naudiences, 1);
    CHECK_INT(c1->perms.groups[0].nclaims, 2);
    CHECK_INT(c1->perms.groups[0].claims[0].nvalues, 2);
    CHECK_STR(c1->perms.groups[0].claims[1].values[0], "x");
    CHECK_INT(f->containers[1].naddresses, 0); /* stopped: optional */
    CHECK_INT(f->aliases[0].index, 2);
    CHECK_STR(f->aliases[0].name, "web");
    CHECK_STR(f->aliases[0].domain, "shop.example.com");
    CHECK(f->aliases[1].name == NULL);
    dp_fleet_free(f);
}

/* A resource of set t named `name`, decoded. */
static const ProtobufCMessage *res(const dp_xnode_t *x, int t, const char *name)
{
    for (size_t i = 0; i < x->t[t].n; i++)
        if (strcmp(x->t[t].items[i].name, name) == 0)
            return x->t[t].items[i].msg;
    return NULL;
}

static void test_translate(void)
{
    dp_fleet_t *f = load(FLEET);
    dp_xnode_t us, eu;
    CHECK(f != NULL);
    if (f == NULL)
        return;
    CHECK_INT(dp_fleet_translate(f, 0, &us, err, sizeof err), 0);
    CHECK_INT(dp_fleet_translate(f, 1, &eu, err, sizeof err), 0);

    /* per node: its containers and the projects they belong to */
    CHECK_INT(us.t[DP_XT_CONTAINER].n, 2);
    CHECK_INT(us.t[DP_XT_PROJECT].n, 1);
    CHECK(res(&us, DP_XT_PROJECT, P1) != NULL);
    CHECK_INT(eu.t[DP_XT_CONTAINER].n, 1);
    CHECK(res(&eu, DP_XT_CONTAINER, C3) != NULL);
    CHECK(res(&eu, DP_XT_PROJECT, P2) != NULL && res(&eu, DP_XT_PROJECT, P1) == NULL);
    CHECK_INT(us.t[DP_XT_EDS].n, 0);
    CHECK_INT(us.t[DP_XT_LDS].n, 2);
    CHECK(res(&us, DP_XT_LDS, "ingress-1") != NULL && res(&us, DP_XT_LDS, "ingress-2") != NULL);
    CHECK(res(&eu, DP_XT_LDS, "ingress") != NULL);

    const Envoy__Config__Cluster__V3__Cluster *cl = (const void *)res(&us, DP_XT_CDS, "containers");
    CHECK(cl != NULL && cl->type == ENVOY__CONFIG__CLUSTER__V3__CLUSTER__DISCOVERY_TYPE__ORIGINAL_DST &&
          cl->lb_policy == ENVOY__CONFIG__CLUSTER__V3__CLUSTER__LB_POLICY__CLUSTER_PROVIDED &&
          cl->load_assignment == NULL);
    const Envoy__Config__Route__V3__RouteConfiguration *rc = (const void *)res(&us, DP_XT_RDS, "containers");
    CHECK(rc != NULL && rc->n_virtual_hosts == 1);
    if (rc && rc->n_virtual_hosts == 1) {
        const Envoy__Config__Route__V3__VirtualHost *vh = rc->virtual_hosts[0];
        CHECK_INT(vh->n_domains, 3);
        CHECK_STR(vh->domains[0], "*.c.test");
        CHECK_STR(vh->domains[1], "shop.example.com");
        CHECK_STR(vh->domains[2], "old.example.com");
        CHECK_STR(vh->routes[0]->route->cluster, "containers");
    }
    rc = (const void *)res(&eu, DP_XT_RDS, "containers");
    CHECK(rc != NULL && rc->virtual_hosts[0]->n_domains == 1);

    /* the routing filter's config, unpacked from the HCM */
    const Envoy__Config__Listener__V3__Listener *l = (const void *)res(&us, DP_XT_LDS, "ingress-2");
    CHECK(l != NULL && strcmp(l->address->socket_address->address, "::1") == 0);

    const pb_container_t *c1 = (const void *)res(&us, DP_XT_CONTAINER, C1);
    CHECK(c1 != NULL);
    if (c1) {
        CHECK_STR(c1->project, P1);
        CHECK_INT(c1->n_addresses, 2);
        CHECK_INT(c1->n_services, 2);
        CHECK_INT(c1->services[0]->port, 7681);
        CHECK_INT(c1->n_aliases, 2);
        CHECK_STR(c1->aliases[0]->name, "web");
        CHECK_STR(c1->aliases[1]->domain, "shop.example.com");
        CHECK_INT(c1->aliases[1]->instance, 2);
        CHECK_STR(c1->pod_slug, "shop");
        CHECK(c1->policy != NULL && c1->policy->n_groups == 1 &&
              c1->policy->groups[0]->kind_case == DATAPLANE__CONTAINERS__V1__GROUP__KIND_JWT);
        if (c1->policy && c1->policy->n_groups == 1 && c1->policy->groups[0]->jwt) {
            const Dataplane__Containers__V1__JwtGroup *j = c1->policy->groups[0]->jwt;
            CHECK_STR(j->issuer, "https://issuer.test");
            CHECK_INT(j->n_claims, 2);
            CHECK_STR(j->claims[0]->values[1], "ops");
        }
    }
    /* stopped: no address, no service port reaches the data plane */
    const pb_container_t *c2 = (const void *)res(&us, DP_XT_CONTAINER, C2);
    CHECK(c2 != NULL && c2->n_addresses == 0 && c2->n_services == 0 && c2->n_aliases == 1 &&
          c2->state == DATAPLANE__CONTAINERS__V1__CONTAINER__STATE__STOPPED);
    const pb_project_t *p1 = (const void *)res(&us, DP_XT_PROJECT, P1);
    CHECK(p1 != NULL && p1->policy != NULL && p1->policy->n_groups == 3 && p1->policy->forward_credentials);
    if (p1 && p1->policy && p1->policy->n_groups == 3) {
        CHECK(p1->policy->groups[1]->services[0]->access ==
              DATAPLANE__CONTAINERS__V1__SERVICE_PERMISSION__ACCESS__READ_ONLY);
        CHECK_INT(p1->policy->groups[1]->token->n_sha256, 2);
    }
    const pb_project_t *p2 = (const void *)res(&eu, DP_XT_PROJECT, P2);
    CHECK(p2 != NULL && p2->policy == NULL);

    /* the data plane's own validation accepts every catalogue resource */
    for (int t = DP_XT_PROJECT; t <= DP_XT_CONTAINER; t++) {
        for (size_t i = 0; i < us.t[t].n; i++) {
            const dp_xres_t *r = &us.t[t].items[i];
            int rc2 = t == DP_XT_PROJECT ? dp_catalogue_put_project(r->name, r->msg, err, sizeof err)
                                         : dp_catalogue_put_container(r->name, r->msg, "v1", err, sizeof err);
            if (rc2 != 0)
                fprintf(stderr, "%s: %s\n", r->name, err);
            CHECK_INT(rc2, 0);
        }
    }
    const dp_alias_ref_t *a = dp_catalogue_domain("shop.example.com", 16);
    CHECK(a != NULL && a->instance == 2 && strcmp(a->c->id, C1) == 0);
    CHECK(dp_catalogue_pod("shop", 4) != NULL);
    CHECK(dp_catalogue_machine("builder", 7) != NULL);

    /* resources are deterministic: translating again gives the same bytes */
    dp_xnode_t again;
    CHECK_INT(dp_fleet_translate(f, 0, &again, err, sizeof err), 0);
    for (int t = 0; t < DP_XT_COUNT; t++)
        CHECK(again.t[t].digest == us.t[t].digest);
    dp_xnode_clear(&again);
    dp_xnode_clear(&us);
    dp_xnode_clear(&eu);
    dp_fleet_free(f);
}

/* Errors: FILE:LINE:COL: path: reason. */
static void expect_err(const char *text, const char *want)
{
    dp_fleet_t *f = load(text);
    CHECK(f == NULL);
    dp_fleet_free(f);
    /* the fleet's directory varies: compare from its file name on, with
     * the directory written /tmp/FLEET elsewhere in the message */
    char norm[1024];
    const char *d;
    snprintf(norm, sizeof norm, "%s", err);
    while ((d = strstr(norm, dir)) != NULL) {
        char rest[1024];
        snprintf(rest, sizeof rest, "%s", d + strlen(dir));
        snprintf((char *)d, sizeof norm - (size_t)(d - norm), "/tmp/FLEET%s", rest);
    }
    const char *base = strstr(norm, "/fleet.yaml:");
    if (base == NULL || strcmp(base + 1, want) != 0)
        fprintf(stderr, "got:  %s\nwant: .../%s\n", norm, want);
    CHECK(base != NULL && strcmp(base + 1, want) == 0);
}

#define N1 "nodes: [{name: n1, base_domain: a.test, listener: {address: 127.0.0.1, port: 80}}]\n"
#define PP N1 "projects:\n- id: " P1 "\n  permissions:\n"

/* One container translated alone is byte for byte its item of the full
 * translation (aliases included); dp_xset_put replaces it and keeps the
 * set's digest equal to a full recomputation. */
static void test_translate_one(void)
{
    dp_fleet_t *f = load(FLEET);
    CHECK(f != NULL);
    if (f == NULL)
        return;
    dp_xnode_t us;
    CHECK_INT(dp_fleet_translate(f, 0, &us, err, sizeof err), 0);
    dp_xset_t *set = &us.t[DP_XT_CONTAINER];
    for (size_t ci = 0; ci < f->ncontainers; ci++) {
        if (f->containers[ci].node != 0)
            continue;
        dp_xres_t one;
        CHECK_INT(dp_fleet_translate_container(f, ci, &one, err, sizeof err), 0);
        const dp_xres_t *full = NULL;
        for (size_t i = 0; i < set->n; i++)
            if (strcmp(set->items[i].name, one.name) == 0)
                full = &set->items[i];
        CHECK(full != NULL && full->len == one.len && memcmp(full->bytes, one.bytes, one.len) == 0 &&
              full->hash == one.hash);
        /* the same bytes again: no change, same digest */
        uint64_t before = set->digest;
        CHECK_INT(dp_xset_put(set, &one), 0);
        CHECK(set->digest == before && one.name == NULL);
        dp_xres_clear(&one);
    }
    /* C1 (two aliases, policy) stopped: a different resource, the digest
     * follows, and equals the digest of the set computed afresh */
    size_t c1 = 0;
    while (strcmp(f->containers[c1].id, C1) != 0)
        c1++;
    uint64_t running_digest = set->digest;
    f->containers[c1].running = 0;
    dp_xres_t stopped;
    CHECK_INT(dp_fleet_translate_container(f, c1, &stopped, err, sizeof err), 0);
    const pb_container_t *pc = (const void *)stopped.msg;
    CHECK(pc != NULL && pc->state == DATAPLANE__CONTAINERS__V1__CONTAINER__STATE__STOPPED && pc->n_services == 0 &&
          pc->n_addresses == 0 && pc->n_aliases == 2 && pc->policy != NULL);
    CHECK_INT(dp_xset_put(set, &stopped), 1);
    CHECK(set->digest != running_digest);
    CHECK(set->digest == dp_xset_digest(set, NULL, 0));
    CHECK_INT(set->n, 2);
    /* and back: the first digest again (a sum, order-free) */
    f->containers[c1].running = 1;
    dp_xres_t again;
    CHECK_INT(dp_fleet_translate_container(f, c1, &again, err, sizeof err), 0);
    CHECK_INT(dp_xset_put(set, &again), 1);
    CHECK(set->digest == running_digest);
    /* a new name is inserted in order */
    dp_xres_t extra;
    CHECK_INT(dp_fleet_translate_container(f, c1, &extra, err, sizeof err), 0);
    free(extra.name);
    extra.name = strdup("00000000000000000000000a");
    CHECK_INT(dp_xset_put(set, &extra), 1);
    CHECK_INT(set->n, 3);
    CHECK(strcmp(set->items[0].name, "00000000000000000000000a") == 0 &&
          strcmp(set->items[1].name, set->items[2].name) < 0);
    CHECK(set->digest == dp_xset_digest(set, NULL, 0));
    dp_xnode_clear(&us);
    dp_fleet_free(f);
}

static void test_errors(void)
{
    expect_err(PP "    groups: [{name: t, type: token, tokens: [secret-token, '']}]\n",
               "fleet.yaml:5:60: projects[0].permissions.groups[0].tokens[1]: expected a non-empty token");
    CHECK(strstr(err, "secret-token") == NULL); /* a token never appears in an error */
    expect_err(PP "    groups: [{name: t, type: token}]\n",
               "fleet.yaml:5:14: projects[0].permissions.groups[0]: a token group needs sha256 or tokens");
    expect_err(PP "    groups: [{name: j, type: jwt, jwks: 'not a key'}]\n",
               "fleet.yaml:5:41: projects[0].permissions.groups[0].jwks: expected a JWKS (JSON) or a PEM "
               "public key: "
               "Jwks is an invalid JSON");
    expect_err(PP "    groups: [{name: j, type: jwt}]\n",
               "fleet.yaml:5:14: projects[0].permissions.groups[0]: jwks or jwks_file required");
    expect_err(
        PP "    groups: [{name: j, type: jwt, jwks_file: k.pem}]\n",
        "fleet.yaml:5:46: projects[0].permissions.groups[0].jwks_file: cannot read '/tmp/FLEET/k.pem': No "
        "such file or directory");
    expect_err(PP
               "    groups: [{name: j, type: jwt, jwks: '{\"keys\": [{\"kty\": \"oct\", \"k\": \"eHl6\"}]}',"
               " claims: {role: []}}]\n",
               "fleet.yaml:5:99: projects[0].permissions.groups[0].claims.role: at least one value required");
    expect_err(PP "    groups: [{name: p, type: password, htpasswd: "
                  "\"a:{SHA}POjQMNQW1NfYyWtu4ZyNpwwV7k4=\\na:{SHA}POjQMNQW1NfYyWtu4ZyNpwwV7k4=\"}]\n",
               "fleet.yaml:5:50: projects[0].permissions.groups[0].htpasswd: line 2: duplicate user 'a' "
               "(first defined on line 1)");
    expect_err(PP "    groups: [{name: i, type: ip, cidrs: [10.0.0.0/33]}]\n",
               "fleet.yaml:5:42: projects[0].permissions.groups[0].cidrs[0]: bad CIDR '10.0.0.0/33': IPv4 "
               "prefix length above 32");
    expect_err(
        PP "    forward_credentials: sure\n",
        "fleet.yaml:5:26: projects[0].permissions.forward_credentials: expected true or false, got 'sure'");
    expect_err(PP "    colour: blue\n", "fleet.yaml:5:5: projects[0].permissions: unknown key 'colour'");
    expect_err(
        N1 "projects: [{id: " P1 "}]\n"
           "containers: [{id: " C1 ", project: " P1 ", node: n1, state: running, address: 10.0.0.1,"
           " pod_slug: Shop}]\n",
        "fleet.yaml:3:135: containers[0].pod_slug: bad pod_slug 'Shop': expected a DNS label [a-z0-9-]");
    expect_err(
        N1 "projects: [{id: " P1 "}]\n"
           "containers: [{id: " C1 ", project: " P1 ", node: n1, state: running, address: 10.0.0.1,"
           " services: [terminal]}]\n"
           "aliases: [{domain: a.test, container: " C1 ", service: terminal}]\n",
        "fleet.yaml:4:20: aliases[0].domain: domain 'a.test' is under the base domain a.test of node n1: "
        "use name instead");
    expect_err(
        N1 "projects: [{id: " P1 "}]\n"
           "containers: [{id: " C1 ", project: " P1 ", node: n1, state: running, address: 10.0.0.1,"
           " services: [terminal]}]\n"
           "aliases: [{domain: localhost, container: " C1 ", service: terminal}]\n",
        "fleet.yaml:4:20: aliases[0].domain: bad domain 'localhost': expected a lower-case host name with "
        "a dot");
}

static void write_file(const char *name, const char *text)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *fp = fopen(p, "w");
    fputs(text, fp);
    fclose(fp);
}

static void remove_file(const char *name)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    unlink(p);
}

/* certificates: files read, default server names, TLS listeners need one */
static void test_certs(void)
{
    write_file("w.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    write_file("w.key", "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n");
    dp_fleet_t *f = load("nodes:\n"
                         "- name: us\n"
                         "  base_domain: c.test\n"
                         "  listeners: [{address: 127.0.0.1, port: 8443, tls: true}, {address: 127.0.0.1, port: 80}]\n"
                         "  certificates:\n"
                         "  - {cert_file: w.pem, key_file: w.key}\n"
                         "  - {cert_file: w.pem, key_file: w.key, server_names: [shop.example.com, '*.shop.example.com']}\n");
    CHECK(f != NULL);
    if (f == NULL) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    const dp_fleet_node_t *n = &f->nodes[0];
    CHECK(n->listeners[0].tls);
    CHECK(!n->listeners[1].tls);
    CHECK_INT(n->ncerts, 2);
    CHECK(strstr(n->certs[0].cert_pem, "BEGIN CERTIFICATE") != NULL);
    CHECK(strstr(n->certs[0].key_pem, "BEGIN PRIVATE KEY") != NULL);
    CHECK_INT(n->certs[0].nserver_names, 2);
    CHECK_STR(n->certs[0].server_names[0], "*.us.c.test");
    CHECK_STR(n->certs[0].server_names[1], "*.c.test");
    CHECK_INT(n->certs[1].nserver_names, 2);
    CHECK_STR(n->certs[1].server_names[1], "*.shop.example.com");
    dp_fleet_free(f);

    expect_err("nodes: [{name: n1, base_domain: a.test, listener: {address: 127.0.0.1, port: 443, tls: true}}]\n",
               "fleet.yaml:1:9: nodes[0].certificates: missing: listener 127.0.0.1 port 443 has tls: true");
    expect_err("nodes: [{name: n1, base_domain: a.test, listener: {address: 127.0.0.1, port: 443, tls: yes}}]\n",
               "fleet.yaml:1:88: nodes[0].listener.tls: expected true or false, got 'yes'");
    expect_err("nodes: [{name: n1, base_domain: a.test, listener: {address: 127.0.0.1, port: 443},\n"
               "  certificates: [{cert_file: w.key, key_file: w.key}]}]\n",
               "fleet.yaml:2:30: nodes[0].certificates[0].cert_file: 'w.key' holds no PEM certificate");
    expect_err("nodes: [{name: n1, base_domain: a.test, listener: {address: 127.0.0.1, port: 443},\n"
               "  certificates: [{cert_file: w.pem, key_file: w.pem}]}]\n",
               "fleet.yaml:2:47: nodes[0].certificates[0].key_file: 'w.pem' holds no PEM private key");
    expect_err("nodes: [{name: n1, base_domain: a.test, listener: {address: 127.0.0.1, port: 443},\n"
               "  certificates: [{cert_file: nope.pem, key_file: w.key}]}]\n",
               "fleet.yaml:2:30: nodes[0].certificates[0].cert_file: cannot read '/tmp/FLEET/nope.pem': No such file or "
               "directory");
    expect_err("nodes: [{name: n1, base_domain: a.test, listener: {address: 127.0.0.1, port: 443},\n"
               "  certificates: [{cert_file: w.pem, key_file: w.key, server_names: ['*.*.a.test']}]}]\n",
               "fleet.yaml:2:69: nodes[0].certificates[0].server_names[0]: bad server name '*.*.a.test': a domain or "
               "*.domain");
    expect_err("nodes: [{name: n1, base_domain: a.test, listener: {address: 127.0.0.1, port: 443},\n"
               "  certificates: [{cert_file: w.pem, key_file: w.key},\n"
               "                 {cert_file: w.pem, key_file: w.key, server_names: ['*.a.test']}]}]\n",
               "fleet.yaml:3:18: nodes[0].certificates[1]: server name '*.a.test' is already served by certificates[0]");
    remove_file("w.pem");
    remove_file("w.key");
}

int main(void)
{
    if (mkdtemp(dir) == NULL)
        return 1;
    snprintf(path, sizeof path, "%s/fleet.yaml", dir);
    char hp[256];
    snprintf(hp, sizeof hp, "%s/dev.htpasswd", dir);
    FILE *fp = fopen(hp, "w");
    fputs("dev:{SHA}POjQMNQW1NfYyWtu4ZyNpwwV7k4=\r\n\r\nops:$2y$05$YCn0LUeh2bwCOZwf/"
          "Isns.BcaRNE9369Z6jAXpB3qBAgHotMdy1/u\n",
          fp);
    fclose(fp);
    test_parse();
    test_translate();
    test_translate_one();
    test_errors();
    test_certs();
    unlink(hp);
    unlink(path);
    rmdir(dir);
    TEST_DONE();
}
