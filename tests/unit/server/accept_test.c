/* Filter chain selection (dp_filter_chain_select): Envoy's order of
 * criteria for the FilterChainMatch fields we implement. */
#include <stdlib.h>

#include "dataplane/server/accept.h"
#include "tests/unit/test.h"

static void *allocs[64];
static size_t n_allocs;

static void *keep(void *p)
{
    allocs[n_allocs++] = p;
    return p;
}

static dp_filter_chain_t chain(const char *name, const char *names, const char *tp, const char *alpn)
{
    dp_filter_chain_t c = {0};
    c.name = (char *)name;
    /* space-separated lists; the strings live for the whole test */
    char *copy = names ? keep(strdup(names)) : NULL;
    for (char *t = copy ? strtok(copy, " ") : NULL; t; t = strtok(NULL, " ")) {
        c.server_names = realloc(c.server_names, (c.n_server_names + 1) * sizeof(char *));
        c.server_names[c.n_server_names++] = t;
    }
    c.transport_protocol = (char *)tp;
    char *ac = alpn ? keep(strdup(alpn)) : NULL;
    for (char *t = ac ? strtok(ac, " ") : NULL; t; t = strtok(NULL, " ")) {
        c.application_protocols = realloc(c.application_protocols, (c.n_application_protocols + 1) * sizeof(char *));
        c.application_protocols[c.n_application_protocols++] = t;
    }
    if (c.server_names)
        keep(c.server_names);
    if (c.application_protocols)
        keep(c.application_protocols);
    return c;
}

static const char *sel(const dp_listener_cfg_t *l, const char *sni, bool tls, const char *alpn_wire, size_t alen)
{
    const dp_filter_chain_t *fc = dp_filter_chain_select(l, sni, tls, (const uint8_t *)alpn_wire, alen);
    return fc ? fc->name : "(none)";
}

int main(void)
{
    dp_filter_chain_t chains[] = {
        chain("wild", "*.node-us.example.test", "tls", NULL),
        chain("deeper", "*.a.node-us.example.test", "tls", NULL),
        chain("exact", "shop.example.com www.shop.example.com", "tls", NULL),
        chain("h2only", "h2.example.com", "tls", "h2"),
        chain("h1only", "h2.example.com", "tls", "http/1.1"),
        chain("plain", NULL, "raw_buffer", NULL),
        chain("anytls", NULL, "tls", NULL),
    };
    dp_listener_cfg_t l = {0};
    l.chains = chains;
    l.n_chains = sizeof(chains) / sizeof(chains[0]);

    /* exact beats wildcards; the longest wildcard wins; deeper names match */
    CHECK_STR(sel(&l, "shop.example.com", true, NULL, 0), "exact");
    CHECK_STR(sel(&l, "WWW.Shop.Example.Com", true, NULL, 0), "exact");
    CHECK_STR(sel(&l, "p-c-terminal-1.node-us.example.test", true, NULL, 0), "wild");
    CHECK_STR(sel(&l, "x.y.node-us.example.test", true, NULL, 0), "wild");
    CHECK_STR(sel(&l, "x.a.node-us.example.test", true, NULL, 0), "deeper");
    /* the wildcard does not match the bare suffix */
    CHECK_STR(sel(&l, "node-us.example.test", true, NULL, 0), "anytls");
    /* no SNI: only chains without server_names */
    CHECK_STR(sel(&l, NULL, true, NULL, 0), "anytls");
    /* plaintext: transport_protocol raw_buffer */
    CHECK_STR(sel(&l, NULL, false, NULL, 0), "plain");
    /* ALPN narrows among equal server names */
    CHECK_STR(sel(&l, "h2.example.com", true, "\x02h2\x08http/1.1", 12), "h2only");
    CHECK_STR(sel(&l, "h2.example.com", true, "\x08http/1.1", 9), "h1only");
    /* server name first: a matching name without a matching ALPN falls to
     * the next criterion's chains only if the name matched nothing */
    CHECK_STR(sel(&l, "h2.example.com", true, "\x03spdy", 5), "anytls");
    /* malformed ALPN wire (length past the end) matches nothing */
    CHECK_STR(sel(&l, "h2.example.com", true, "\x09h2", 3), "anytls");

    /* no match and no default: none; with a default: the default */
    dp_filter_chain_t only[] = {chain("exact", "shop.example.com", "tls", NULL)};
    dp_listener_cfg_t l2 = {0};
    l2.chains = only;
    l2.n_chains = 1;
    CHECK_STR(sel(&l2, "other.example.com", true, NULL, 0), "(none)");
    CHECK_STR(sel(&l2, NULL, false, NULL, 0), "(none)");
    dp_filter_chain_t dflt = chain("default", NULL, NULL, NULL);
    l2.default_chain = &dflt;
    CHECK_STR(sel(&l2, "other.example.com", true, NULL, 0), "default");
    CHECK_STR(sel(&l2, NULL, false, NULL, 0), "default");
    CHECK_INT(dp_listener_n_chains(&l2), 2);
    CHECK(dp_listener_chain(&l2, 1) == &dflt);

    /* transport_protocol: exact beats unset */
    dp_filter_chain_t tp[] = {chain("any", NULL, NULL, NULL), chain("tls", NULL, "tls", NULL)};
    dp_listener_cfg_t l3 = {0};
    l3.chains = tp;
    l3.n_chains = 2;
    CHECK_STR(sel(&l3, NULL, true, NULL, 0), "tls");
    CHECK_STR(sel(&l3, NULL, false, NULL, 0), "any");
    for (size_t i = 0; i < n_allocs; i++)
        free(allocs[i]);
    TEST_DONE();
}
