/* The container catalogue: validation errors name the field, names are
 * claimed by one container, an update moves aliases atomically, removal
 * drops every index, and lookups of 100k containers stay O(1). */
#include <stdio.h>
#include <string.h>

#include "dataplane/containers/v1/catalogue.pb-c.h"
#include "dataplane/core/qsbr.h"
#include "filters/containers/catalogue.h"
#include "test.h"

typedef Dataplane__Containers__V1__Container pb_c_t;

#define P1 "64a1f0c2e4b5d6a7b8c9d0e1"
#define C1 "64a1f0c2e4b5d6a7b8c9d0f1"
#define C2 "64a1f0c2e4b5d6a7b8c9d0f2"

static char err[512];

static int put(const char *id, const char *project, int state, const char *addr, const char *alias,
               const char *domain, const char *machine)
{
    pb_c_t c = DATAPLANE__CONTAINERS__V1__CONTAINER__INIT;
    Dataplane__Containers__V1__Service svc = DATAPLANE__CONTAINERS__V1__SERVICE__INIT;
    Dataplane__Containers__V1__Service *svcs[] = {&svc};
    Dataplane__Containers__V1__Alias al = DATAPLANE__CONTAINERS__V1__ALIAS__INIT;
    Dataplane__Containers__V1__Alias *als[] = {&al};
    char *addrs[] = {(char *)addr};
    c.id = (char *)id;
    c.project = (char *)project;
    c.state = state;
    c.n_addresses = addr ? 1 : 0;
    c.addresses = addrs;
    svc.name = (char *)"terminal";
    svc.port = 7681;
    c.n_services = 1;
    c.services = svcs;
    if (alias || domain) {
        al.name = (char *)(alias ? alias : "");
        al.domain = (char *)(domain ? domain : "");
        al.service = (char *)"terminal";
        c.n_aliases = 1;
        c.aliases = als;
    }
    c.machine = (char *)(machine ? machine : "");
    err[0] = '\0';
    return dp_catalogue_put_container(id, &c.base, "v1", err, sizeof(err));
}

#define RUNNING DATAPLANE__CONTAINERS__V1__CONTAINER__STATE__RUNNING
#define STOPPED DATAPLANE__CONTAINERS__V1__CONTAINER__STATE__STOPPED

static void test_validation(void)
{
    CHECK(put("64A1F0C2E4B5D6A7B8C9D0F1", P1, RUNNING, "10.0.0.1", NULL, NULL, NULL) != 0);
    CHECK(strstr(err, "id: '64A1F0C2E4B5D6A7B8C9D0F1' is not 24 lowercase hex digits") != NULL);
    CHECK(put(C1, "nothex", RUNNING, "10.0.0.1", NULL, NULL, NULL) != 0);
    CHECK(strstr(err, "project:") == err);
    CHECK(put(C1, P1, 0, "10.0.0.1", NULL, NULL, NULL) != 0);
    CHECK_STR(err, "state: must be RUNNING or STOPPED");
    CHECK(put(C1, P1, RUNNING, NULL, NULL, NULL, NULL) != 0);
    CHECK_STR(err, "addresses: a running container needs at least one");
    CHECK(put(C1, P1, RUNNING, "10.0.0.300", NULL, NULL, NULL) != 0);
    CHECK_STR(err, "addresses[0]: '10.0.0.300' is not an IP address");
    CHECK(put(C1, P1, RUNNING, "10.0.0.1", "Bad_Alias", NULL, NULL) != 0);
    CHECK(strstr(err, "aliases[0].name:") == err);
    CHECK(put(C1, P1, RUNNING, "10.0.0.1", NULL, "shop..example.com", NULL) != 0);
    CHECK(strstr(err, "aliases[0].domain:") == err);
    CHECK(dp_catalogue_container(C1, 24) == NULL); /* nothing applied */
    /* a stopped container needs no address */
    CHECK_INT(put(C2, P1, STOPPED, NULL, NULL, NULL, NULL), 0);
    const dp_container_t *c = dp_catalogue_container(C2, 24);
    CHECK(c != NULL && !c->running);
    dp_catalogue_del_container(C2);
    CHECK(dp_catalogue_container(C2, 24) == NULL);
}

static void test_claims_and_moves(void)
{
    CHECK_INT(put(C1, P1, RUNNING, "10.0.0.1", "web", NULL, "m1"), 0);
    const dp_alias_ref_t *a = dp_catalogue_alias("web", 3);
    CHECK(a != NULL && strcmp(a->c->id, C1) == 0 && a->instance == 1 && strcmp(a->service, "terminal") == 0);
    CHECK(dp_catalogue_machine("m1", 2) != NULL);
    CHECK_INT(dp_container_port(dp_catalogue_container(C1, 24), "terminal", 8), 7681);
    /* another container cannot take C1's names */
    CHECK(put(C2, P1, RUNNING, "10.0.0.2", "web", NULL, NULL) != 0);
    CHECK_STR(err, "aliases[0].name: 'web' already belongs to container " C1);
    CHECK(put(C2, P1, RUNNING, "10.0.0.2", NULL, NULL, "m1") != 0);
    CHECK_STR(err, "machine: 'm1' already belongs to container " C1);
    CHECK(dp_catalogue_container(C2, 24) == NULL);
    /* C1 renames its alias and takes a custom domain: the old name goes */
    CHECK_INT(put(C1, P1, RUNNING, "10.0.0.9", NULL, "shop.example.com", NULL), 0);
    CHECK(dp_catalogue_alias("web", 3) == NULL);
    CHECK(dp_catalogue_machine("m1", 2) == NULL);
    a = dp_catalogue_domain("shop.example.com", 16);
    CHECK(a != NULL && strcmp(a->c->id, C1) == 0);
    /* now C2 may take "web" */
    CHECK_INT(put(C2, P1, RUNNING, "10.0.0.2", "web", NULL, "m1"), 0);
    CHECK(strcmp(dp_catalogue_alias("web", 3)->c->id, C2) == 0);
    /* a request holding the old record keeps it intact after an update */
    dp_container_t *held = dp_container_ref(dp_catalogue_container(C1, 24));
    CHECK_INT(put(C1, P1, STOPPED, NULL, NULL, NULL, NULL), 0);
    dp_qsbr_barrier();
    CHECK(held->running && held->n_addrs == 1);
    CHECK(!dp_catalogue_container(C1, 24)->running);
    dp_container_unref(held);
    dp_catalogue_del_container(C1);
    dp_catalogue_del_container(C2);
    CHECK(dp_catalogue_alias("web", 3) == NULL && dp_catalogue_domain("shop.example.com", 16) == NULL);
    dp_qsbr_barrier();
    dp_catalogue_stats_t st;
    dp_catalogue_stats(&st);
    CHECK_INT(st.containers, 0);
    CHECK_INT(st.aliases, 0);
}

static void test_scale(void)
{
    char id[32], alias[32];
    for (int i = 0; i < 100000; i++) {
        snprintf(id, sizeof(id), "%024x", i);
        snprintf(alias, sizeof(alias), "a%d", i);
        if (put(id, P1, RUNNING, "10.1.2.3", alias, NULL, NULL) != 0) {
            CHECK_STR(err, "");
            break;
        }
    }
    dp_catalogue_stats_t st;
    dp_catalogue_stats(&st);
    CHECK_INT(st.containers, 100000);
    CHECK_INT(st.aliases, 100000);
    CHECK(dp_catalogue_container("000000000000000000000000", 24) != NULL);
    CHECK(dp_catalogue_container("00000000000000000001869f", 24) != NULL); /* 99999 */
    CHECK(strcmp(dp_catalogue_alias("a99999", 6)->c->id, "00000000000000000001869f") == 0);
    for (int i = 0; i < 100000; i++) {
        snprintf(id, sizeof(id), "%024x", i);
        dp_catalogue_del_container(id);
    }
    dp_qsbr_barrier();
    dp_catalogue_stats(&st);
    CHECK_INT(st.containers, 0);
}

int main(void)
{
    test_validation();
    test_claims_and_moves();
    test_scale();
    TEST_DONE();
}
