/* Listener filter chains, TLS transport sockets, SDS secret references and
 * a cluster's upstream protocol and TLS: Envoy resources written as YAML,
 * packed and decoded as xDS would, then translated. The PEM material is in
 * tls_testdata.h; filename DataSources read copies written to a temporary
 * directory. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataplane/server/accept.h"
#include "envoy/config/listener/v3/listener.pb-c.h"
#include "envoy/extensions/transport_sockets/tls/v3/secret.pb-c.h"
#include "envoy/extensions/transport_sockets/tls/v3/tls.pb-c.h"
#include "test.h"
#include "tls_testdata.h"
#include "yaml_util.h"
#include "xds/pbjson.h"
#include "xds/translate.h"
#include "xds/translate_tls.h"
#include "xds/typereg.h"
#include "xds/unknown.h"

static char err[4096];
static char dir[64];

/* ---- YAML helpers ------------------------------------------------------------------ */

static const char *path_of(const char *name)
{
    return Y("%s/%s", dir, name);
}

static void write_file(const char *name, const char *data)
{
    FILE *f = fopen(path_of(name), "w");
    if (f == NULL) {
        perror("test file");
        exit(1);
    }
    fputs(data, f);
    fclose(f);
}

static ProtobufCMessage *from_yaml(const ProtobufCMessageDescriptor *d, const char *yaml)
{
    dp_pbjson_opts_t o = {.resolver = dp_typereg_lookup, .flags = 0};
    ProtobufCMessage *m = NULL;
    char e[1024];
    /* the error stays in err: the YAML path refuses fields we do not
     * model by name, which some tests check */
    if (dp_pbjson_decode_text(yaml, strlen(yaml), d, &o, &m, "test", e, sizeof(e)) != 0) {
        snprintf(err, sizeof(err), "%s", e);
        return NULL;
    }
    return m;
}

/* YAML -> message -> bytes -> dp_resource_decode: the xDS path. NULL with
 * err when decoding refuses it. */
static ProtobufCMessage *res(dp_res_type_t t, const char *yaml)
{
    err[0] = '\0';
    ProtobufCMessage *m = from_yaml(dp_resource_descriptor(t), yaml), *m2 = NULL;
    if (m == NULL)
        return NULL;
    size_t len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(len + 1);
    protobuf_c_message_pack(m, buf);
    protobuf_c_message_free_unpacked(m, NULL);
    dp_resource_decode(t, buf, len, &m2, err, sizeof(err));
    free(buf);
    return m2;
}

/* ---- a secret source for the tests ------------------------------------------------ */

typedef struct fake_secrets {
    ProtobufCMessage *v[8];
    bool dynamic[8];
    size_t n;
    int asked_static, asked_dynamic;
} fake_secrets_t;

static fake_secrets_t FS;

static const ProtobufCMessage *fake_find(void *ctx, const char *name,
                                         const Envoy__Config__Core__V3__ConfigSource *sds_config)
{
    fake_secrets_t *fs = ctx;
    if (sds_config)
        fs->asked_dynamic++;
    else
        fs->asked_static++;
    for (size_t i = 0; i < fs->n; i++)
        if (fs->dynamic[i] == (sds_config != NULL) &&
            strcmp(((Envoy__Extensions__TransportSockets__Tls__V3__Secret *)fs->v[i])->name, name) == 0)
            return fs->v[i];
    return NULL;
}

static void fs_add(bool dynamic, const char *yaml)
{
    ProtobufCMessage *m = res(DP_RES_SECRET, yaml);
    CHECK(m != NULL);
    if (m == NULL)
        return;
    FS.v[FS.n] = m;
    FS.dynamic[FS.n++] = dynamic;
}

static void fs_clear(void)
{
    for (size_t i = 0; i < FS.n; i++)
        protobuf_c_message_free_unpacked(FS.v[i], NULL);
    memset(&FS, 0, sizeof(FS));
}

static const dp_secret_source_t SRC = {fake_find, &FS};

/* ---- listeners ------------------------------------------------------------------------ */

#define HCM_URL                                                                                              \
    "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
#define ROUTER                                                                                               \
    "{name: envoy.filters.http.router, typed_config: {'@type': "                                             \
    "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}}"
#define DTLS "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext"
#define UTLS "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext"
#define INSPECTOR "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector"
#define ADDR "address: {socket_address: {address: 127.0.0.1, port_value: 10443}}\n"

/* The filters of a chain: one HCM with stat_prefix `sp` and RDS `rds`. */
static const char *hcm(const char *sp, const char *rds)
{
    return Y("filters: [{name: hcm, typed_config: {'@type': " HCM_URL
             ", stat_prefix: %s, http_filters: [" ROUTER
             "], rds: {route_config_name: %s, config_source: {ads: {}}}}}]",
             sp, rds);
}

/* A transport socket with a DownstreamTlsContext made of `body`. */
static const char *dtls(const char *body)
{
    return Y("transport_socket: {name: envoy.transport_sockets.tls, typed_config: {'@type': " DTLS ", %s}}",
             body);
}

/* common_tls_context with one certificate from files */
static const char *cert_files(const char *chain, const char *key)
{
    return Y("common_tls_context: {tls_certificates: [{certificate_chain: {filename: '%s'}, private_key: "
             "{filename: '%s'}}]}",
             path_of(chain), path_of(key));
}

static int listener_src(const char *yaml, const dp_secret_source_t *src, dp_listener_cfg_t **out)
{
    ProtobufCMessage *m = res(DP_RES_LISTENER, yaml);
    *out = NULL;
    if (m == NULL)
        return -100;
    err[0] = '\0';
    int rc = dp_translate_listener_ex(m, src, out, err, sizeof(err));
    protobuf_c_message_free_unpacked(m, NULL);
    if (rc == 0 && *out == NULL)
        rc = -101;
    return rc;
}

/* A listener of one chain `chain` (flow mapping body) expected to fail;
 * returns the error (the decoder's for refused fields). */
static const char *chain_err(const char *chain)
{
    dp_listener_cfg_t *l = NULL;
    int rc = listener_src(Y("name: l\n" ADDR "filter_chains: [{%s}]", chain), &SRC, &l);
    CHECK(rc < 0 && rc != -101);
    dp_listener_cfg_unref(l);
    return err;
}

static dp_listener_cfg_t *chain_ok(const char *chain)
{
    dp_listener_cfg_t *l = NULL;
    int rc = listener_src(Y("name: l\n" ADDR "filter_chains: [{%s}]", chain), &SRC, &l);
    if (rc != 0)
        fprintf(stderr, "unexpected error: %s\n", err);
    CHECK_INT(rc, 0);
    return l;
}

static void test_chains(void)
{
    const char *yaml = Y(
        "name: tls\n" ADDR
        "listener_filters: [{name: envoy.filters.listener.tls_inspector, typed_config: {'@type': " INSPECTOR
        "}}]\n"
        "listener_filters_timeout: 5s\n"
        "filter_chains:\n"
        "- name: wildcard\n"
        "  filter_chain_match: {server_names: ['*.Node-US.example.test'], transport_protocol: tls}\n"
        "  %s\n"
        "  %s\n"
        "- name: custom\n"
        "  filter_chain_match: {server_names: [custom.example.com], application_protocols: [h2, http/1.1]}\n"
        "  %s\n"
        "  %s\n"
        "- name: plain\n"
        "  filter_chain_match: {transport_protocol: raw_buffer}\n"
        "  %s\n"
        "default_filter_chain:\n"
        "  name: fallback\n"
        "  %s\n",
        hcm("wild", "r_wild"),
        dtls(Y("%s, require_client_certificate: false, session_timeout: 600s, "
               "disable_stateful_session_resumption: true",
               Y("common_tls_context: {alpn_protocols: [h2, http/1.1], tls_params: "
                 "{tls_minimum_protocol_version: "
                 "TLSv1_2, tls_maximum_protocol_version: TLSv1_3, cipher_suites: "
                 "[ECDHE-ECDSA-AES128-GCM-SHA256, "
                 "ECDHE-ECDSA-CHACHA20-POLY1305], ecdh_curves: [X25519, P-256]}, tls_certificates: "
                 "[{certificate_chain: {filename: '%s'}, private_key: {filename: '%s'}}]}",
                 path_of("srv.pem"), path_of("srv.key")))),
        hcm("custom", "r_custom"),
        dtls(
            Y("common_tls_context: {tls_certificates: [{certificate_chain: {inline_string: %s}, private_key: "
              "{inline_bytes: %s}}]}, disable_stateless_session_resumption: true",
              y_pem(SRV2_PEM), Y("'%s'", "LS0tLS1CRUdJTg=="))),
        hcm("plain", "r_plain"), hcm("fallback", "r_fallback"));
    dp_listener_cfg_t *l = NULL;

    /* inline_bytes above is not a key: the custom chain fails, naming it */
    int rc = listener_src(yaml, &SRC, &l);
    CHECK(rc < 0);
    CHECK_HAS(err, "filter_chains[1].transport_socket.typed_config.common_tls_context.tls_certificates[0]: ");
    CHECK_HAS(err, "private_key is not valid PEM");

    /* now with the real key as base64 inline_bytes */
    char b64[1024];
    {
        static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        const unsigned char *in = (const unsigned char *)SRV2_KEY;
        size_t n = strlen(SRV2_KEY), k = 0;
        for (size_t i = 0; i < n; i += 3) {
            unsigned v = in[i] << 16 | (i + 1 < n ? in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
            b64[k++] = tbl[v >> 18 & 63];
            b64[k++] = tbl[v >> 12 & 63];
            b64[k++] = i + 1 < n ? tbl[v >> 6 & 63] : '=';
            b64[k++] = i + 2 < n ? tbl[v & 63] : '=';
        }
        b64[k] = '\0';
    }
    char *fixed = strdup(yaml);
    char *at = strstr(fixed, "LS0tLS1CRUdJTg==");
    CHECK(at != NULL);
    size_t fixed_len = strlen(fixed) + strlen(b64) + 1;
    char *full = malloc(fixed_len);
    snprintf(full, fixed_len, "%.*s%s%s", (int)(at - fixed), fixed, b64, at + strlen("LS0tLS1CRUdJTg=="));
    rc = listener_src(full, &SRC, &l);
    free(fixed);
    free(full);
    CHECK_INT(rc, 0);
    if (rc != 0) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    CHECK_INT(l->n_chains, 3);
    CHECK(l->any_tls);
    CHECK_INT(l->listener_filters_timeout_ms, 5000);
    CHECK_STR(l->chains[0].name, "wildcard");
    CHECK_INT(l->chains[0].n_server_names, 1);
    CHECK_STR(l->chains[0].server_names[0], "*.node-us.example.test"); /* lowercase */
    CHECK_STR(l->chains[0].transport_protocol, "tls");
    CHECK(l->chains[0].tls != NULL);
    CHECK_INT(l->chains[0].n_sds_names, 0);
    CHECK_STR(l->chains[0].hcm->stat_prefix, "wild");
    CHECK_STR(l->chains[0].hcm->rds_name, "r_wild");
    CHECK_STR(l->chains[1].name, "custom");
    CHECK(l->chains[1].transport_protocol == NULL);
    CHECK_INT(l->chains[1].n_application_protocols, 2);
    CHECK_STR(l->chains[1].application_protocols[0], "h2");
    CHECK_STR(l->chains[1].application_protocols[1], "http/1.1");
    CHECK(l->chains[1].tls != NULL && l->chains[1].tls != l->chains[0].tls);
    CHECK_STR(l->chains[1].hcm->rds_name, "r_custom");
    CHECK_STR(l->chains[2].transport_protocol, "raw_buffer");
    CHECK(l->chains[2].tls == NULL);
    CHECK(l->default_chain != NULL);
    if (l->default_chain) {
        CHECK_STR(l->default_chain->name, "fallback");
        CHECK(l->default_chain->tls == NULL);
        CHECK_STR(l->default_chain->hcm->stat_prefix, "fallback");
    }
    CHECK_INT(dp_listener_n_chains(l), 4);
    /* the accept stage picks them as Envoy would */
    CHECK(dp_filter_chain_select(l, "a.node-us.example.test", true, NULL, 0) == &l->chains[0]);
    CHECK(dp_filter_chain_select(l, "A.NODE-US.example.test", true, NULL, 0) == &l->chains[0]);
    CHECK(dp_filter_chain_select(l, "custom.example.com", true, (const uint8_t *)"\x02h2", 3) ==
          &l->chains[1]);
    CHECK(dp_filter_chain_select(l, "custom.example.com", true, NULL, 0) == l->default_chain);
    CHECK(dp_filter_chain_select(l, NULL, false, NULL, 0) == &l->chains[2]);
    CHECK(dp_filter_chain_select(l, "other.example.org", true, NULL, 0) == l->default_chain);
    dp_listener_cfg_unref(l);
}

static void test_listener_defaults(void)
{
    dp_listener_cfg_t *l = chain_ok(hcm("s", "r"));
    if (l) {
        CHECK(!l->any_tls);
        CHECK_INT(l->listener_filters_timeout_ms, 15000);
        CHECK(l->default_chain == NULL);
        CHECK(l->chains[0].name == NULL && l->chains[0].n_server_names == 0 && l->chains[0].tls == NULL);
    }
    dp_listener_cfg_unref(l);
    /* 0: no timeout; a raw_buffer transport socket by name or by type is plaintext;
     * the inspector by name alone */
    int rc = listener_src(
        Y("name: l\n" ADDR "listener_filters_timeout: 0s\nlistener_filters: [{name: "
          "envoy.filters.listener.tls_inspector}]\nfilter_chains:\n"
          "- {filter_chain_match: {server_names: [a.example]}, transport_socket: {name: "
          "envoy.transport_sockets.raw_buffer}, %s}\n"
          "- {transport_socket: {name: x, typed_config: {'@type': "
          "type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer}}, %s}\n",
          hcm("a", "r"), hcm("b", "r")),
        &SRC, &l);
    CHECK_INT(rc, 0);
    if (l) {
        CHECK_INT(l->listener_filters_timeout_ms, 0);
        CHECK(!l->any_tls);
        CHECK(l->chains[0].tls == NULL && l->chains[1].tls == NULL);
    }
    dp_listener_cfg_unref(l);
    /* only a default chain, with TLS */
    rc = listener_src(Y("name: l\n" ADDR "default_filter_chain: {%s, %s}", hcm("d", "r"),
                        dtls(cert_files("srv.pem", "srv.key"))),
                      &SRC, &l);
    CHECK_INT(rc, 0);
    if (l) {
        CHECK_INT(l->n_chains, 0);
        CHECK(l->any_tls);
        CHECK(l->default_chain && l->default_chain->tls != NULL);
    }
    dp_listener_cfg_unref(l);
}

static void test_listener_errors(void)
{
    dp_listener_cfg_t *l = NULL;
    char *h = strdup(hcm("s", "r"));

    /* listener filters */
    listener_src(Y("name: l\n" ADDR "listener_filters: [{name: envoy.filters.listener.original_dst}]\n"
                   "filter_chains: [{%s}]",
                   h),
                 &SRC, &l);
    CHECK_STR(err, "listener_filters[0].name: listener filter 'envoy.filters.listener.original_dst' is not "
                   "supported (supported: envoy.filters.listener.tls_inspector, envoy.filters.listener.original_src, "
                   "dataplane.filters.listener.original_src_fallback)");
    listener_src(Y("name: l\n" ADDR "listener_filters: [{name: x, typed_config: {'@type': " UTLS "}}]\n"
                   "filter_chains: [{%s}]",
                   h),
                 &SRC, &l);
    CHECK_STR(err,
              "listener_filters[0].typed_config: listener filter type "
              "'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext' is not supported (supported: "
              "envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector, "
              "envoy.extensions.filters.listener.original_src.v3.OriginalSrc, "
              "dataplane.transparent.v1.OriginalSrcFallback)");
    listener_src(Y("name: l\n" ADDR "listener_filters: [{}]\nfilter_chains: [{%s}]", h), &SRC, &l);
    CHECK_STR(err, "listener_filters[0].name: required");
    listener_src(Y("name: l\n" ADDR "listener_filters_timeout: -1s\nfilter_chains: [{%s}]", h), &SRC, &l);
    CHECK_STR(err, "listener_filters_timeout: must not be negative");
    CHECK(l == NULL);

    /* matches */
    CHECK_STR(chain_err(Y("filter_chain_match: {destination_port: 443}, %s", h)),
              "filter_chains[0].filter_chain_match.destination_port: not supported yet");
    CHECK_STR(
        chain_err(Y("filter_chain_match: {server_names: ['foo.*.example.com']}, %s", h)),
        "filter_chains[0].filter_chain_match.server_names[0]: 'foo.*.example.com': partial wildcards are "
        "not supported (only a leading '*.')");
    CHECK_HAS(chain_err(Y("filter_chain_match: {server_names: [a.example, '*']}, %s", h)),
              "filter_chains[0].filter_chain_match.server_names[1]: '*': partial wildcards");
    CHECK_HAS(chain_err(Y("filter_chain_match: {server_names: ['*example.com']}, %s", h)),
              "server_names[0]: '*example.com': partial wildcards");
    CHECK_HAS(chain_err(Y("filter_chain_match: {server_names: ['*.']}, %s", h)),
              "server_names[0]: '*.': partial");
    CHECK_STR(chain_err(Y("filter_chain_match: {server_names: ['']}, %s", h)),
              "filter_chains[0].filter_chain_match.server_names[0]: must not be empty");
    CHECK_STR(chain_err(Y("filter_chain_match: {transport_protocol: quic}, %s", h)),
              "filter_chains[0].filter_chain_match.transport_protocol: 'quic' is not supported yet (tls or "
              "raw_buffer)");
    CHECK_STR(chain_err(Y("filter_chain_match: {application_protocols: [h2, '']}, %s", h)),
              "filter_chains[0].filter_chain_match.application_protocols[1]: must be 1 to 255 bytes");
    /* a match field we do not implement is refused by name (the YAML path;
     * xDS bytes: unknown_fields_in_any below) */
    CHECK_HAS(chain_err(Y("filter_chain_match: {source_type: LOCAL}, %s", h)),
              "filter_chains[0].filter_chain_match: unknown field \"source_type\"");

    /* Envoy's duplicate check: the same leaf of server name x transport x ALPN */
    listener_src(Y("name: l\n" ADDR "filter_chains: [{name: one, %s}, {name: two, %s}]", h, h), &SRC, &l);
    CHECK_STR(err, "filter_chains[1]: multiple filter chains with the same matching rules are defined "
                   "(filter_chains[0] 'one' and filter_chains[1] 'two')");
    listener_src(Y("name: l\n" ADDR
                   "filter_chains: [{%s}, {filter_chain_match: {server_names: [a.test, B.test]}, %s},\n"
                   "  {filter_chain_match: {server_names: [c.test, b.test]}, %s}]",
                   Y("filter_chain_match: {server_names: [z.test]}, %s", h), h, h),
                 &SRC, &l);
    CHECK_STR(err, "filter_chains[2]: multiple filter chains with the same matching rules are defined "
                   "(filter_chains[1] and filter_chains[2])");
    listener_src(Y("name: l\n" ADDR
                   "filter_chains: [{filter_chain_match: {application_protocols: [h2]}, %s}, "
                   "{filter_chain_match: {application_protocols: [http/1.1, h2]}, %s}]",
                   h, h),
                 &SRC, &l);
    CHECK_HAS(err, "filter_chains[1]: multiple filter chains with the same matching rules are defined");
    /* not duplicates: different transport, a name vs none, ALPN vs none */
    int rc = listener_src(Y("name: l\n" ADDR
                            "filter_chains: [{%s}, {filter_chain_match: {transport_protocol: tls}, %s}, "
                            "{filter_chain_match: {server_names: [a.test]}, %s}, "
                            "{filter_chain_match: {application_protocols: [h2]}, %s}]",
                            h, h, h, h),
                          &SRC, &l);
    CHECK_INT(rc, 0);
    CHECK(l && l->n_chains == 4);
    dp_listener_cfg_unref(l);

    /* no chain at all */
    listener_src("name: l\n" ADDR, &SRC, &l);
    CHECK_STR(err, "filter_chains: at least one filter chain (or a default_filter_chain) is required");
    /* the default chain's errors name it */
    listener_src(Y("name: l\n" ADDR "default_filter_chain: {filters: []}"), &SRC, &l);
    CHECK_STR(
        err,
        "default_filter_chain.filters: exactly one filter (envoy.filters.network.http_connection_manager) "
        "is required");
    /* HCM: max_requests_per_connection is for clusters only */
    listener_src(Y("name: l\n" ADDR "filter_chains: [{filters: [{name: hcm, typed_config: {'@type': " HCM_URL
                   ", stat_prefix: s, http_filters: [" ROUTER "], rds: {route_config_name: r, config_source: "
                   "{ads: {}}}, common_http_protocol_options: {max_requests_per_connection: 5}}}]}]"),
                 &SRC, &l);
    CHECK_STR(
        err,
        "filter_chains[0].filters[0].typed_config.common_http_protocol_options.max_requests_per_connection: "
        "not supported yet on downstream connections");
    free(h);
}

#define TS "filter_chains[0].transport_socket"
#define CTX TS ".typed_config.common_tls_context"

static void test_tls_errors(void)
{
    char *h = strdup(hcm("s", "r"));
    char *cert = strdup(Y("certificate_chain: {filename: '%s'}", path_of("srv.pem")));

    /* the OpenSSL side: key mismatch, bad PEM, wrong password */
    const char *e =
        chain_err(Y("%s, %s", h,
                    dtls(Y("common_tls_context: {tls_certificates: [{%s, private_key: {inline_string: %s}}]}",
                           cert, y_pem(OTHER_KEY)))));
    CHECK_HAS(e, CTX ".tls_certificates[0]: private key does not match the certificate: ");
    e = chain_err(
        Y("%s, %s", h,
          dtls("common_tls_context: {tls_certificates: [{certificate_chain: {inline_string: 'junk'}, "
               "private_key: {inline_string: 'junk'}}]}")));
    CHECK_HAS(e, CTX ".tls_certificates[0]: certificate_chain is not valid PEM");
    write_file("enc.key", SRV_KEY_ENC);
    e = chain_err(
        Y("%s, %s", h,
          dtls(Y("common_tls_context: {tls_certificates: [{%s, private_key: {filename: '%s'}, password: "
                 "{inline_string: wrong}}]}",
                 cert, path_of("enc.key")))));
    CHECK_HAS(e, CTX ".tls_certificates[0]: private_key is not valid PEM or the password is wrong");
    dp_listener_cfg_t *l =
        chain_ok(Y("%s, %s", h,
                   dtls(Y("common_tls_context: {tls_certificates: [{%s, private_key: {filename: "
                          "'%s'}, password: {inline_string: s3cret}}]}",
                          cert, path_of("enc.key")))));
    CHECK(l && l->chains[0].tls != NULL);
    dp_listener_cfg_unref(l);

    /* reading */
    CHECK_STR(
        chain_err(Y("%s, %s", h, dtls(cert_files("nope.pem", "srv.key")))),
        Y(CTX ".tls_certificates[0].certificate_chain.filename: cannot read '%s': No such file or directory",
          path_of("nope.pem")));
    CHECK_STR(chain_err(Y("%s, %s", h, dtls(Y("common_tls_context: {tls_certificates: [{%s}]}", cert)))),
              CTX ".tls_certificates[0].private_key: required");
    CHECK_STR(chain_err(Y("%s, %s", h, dtls("common_tls_context: {alpn_protocols: [h2]}"))),
              CTX ".tls_certificates: a server needs at least one certificate");
    CHECK_STR(
        chain_err(Y("%s, %s", h,
                    dtls(Y("%s, session_ticket_keys: {keys: [{inline_string: abc}]}",
                           cert_files("srv.pem", "srv.key"))))),
        TS ".typed_config.session_ticket_keys.keys[0]: must be 80 bytes (Envoy's session ticket key format), "
           "not 3");
    CHECK_STR(
        chain_err(Y("%s, %s", h, dtls(Y("%s, session_ticket_keys: {}", cert_files("srv.pem", "srv.key"))))),
        TS ".typed_config.session_ticket_keys.keys: at least one key is required");
    CHECK_STR(
        chain_err(Y("%s, %s", h, dtls(Y("%s, session_timeout: 0.5s", cert_files("srv.pem", "srv.key"))))),
        TS ".typed_config.session_timeout: must be at least 1s");
    CHECK_STR(chain_err(Y("%s, %s", h,
                          dtls(Y("%s, require_client_certificate: true", cert_files("srv.pem", "srv.key"))))),
              TS
              ".typed_config.require_client_certificate: requires common_tls_context.validation_context with "
              "trusted_ca");
    CHECK_STR(
        chain_err(
            Y("%s, %s", h,
              dtls(Y("common_tls_context: {tls_certificates: [{%s, private_key: {filename: '%s'}}], "
                     "validation_context: {trusted_ca: {filename: '%s'}, match_typed_subject_alt_names: "
                     "[{san_type: DNS, matcher: {exact: a.test}}]}}",
                     cert, path_of("srv.key"), path_of("ca.pem"))))),
        CTX ".validation_context.match_typed_subject_alt_names[0]: matching the subject alt names of client "
            "certificates is not supported yet");
    CHECK_HAS(chain_err(Y("%s, %s", h,
                          dtls(Y("common_tls_context: {tls_params: {cipher_suites: [NOT-A-CIPHER]}, "
                                 "tls_certificates: [{%s, private_key: {filename: '%s'}}]}",
                                 cert, path_of("srv.key"))))),
              CTX ".tls_params: unknown cipher suite \"NOT-A-CIPHER\"");
    CHECK_STR(chain_err(Y("%s, %s", h, dtls("common_tls_context: {tls_params: {cipher_suites: ['a:b']}}"))),
              CTX ".tls_params.cipher_suites[0]: must be one non-empty name");
    CHECK_STR(chain_err(Y("%s, %s", h, dtls("common_tls_context: {alpn_protocols: ['']}"))),
              CTX ".alpn_protocols[0]: must be 1 to 255 bytes");

    /* transport sockets */
    CHECK_STR(
        chain_err(Y("%s, transport_socket: {name: envoy.transport_sockets.tls}", h)),
        TS ".typed_config: required (an envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext with "
           "the chain's certificates)");
    CHECK_STR(
        chain_err(Y("%s, transport_socket: {name: x, typed_config: {'@type': " UTLS "}}", h)), TS
        ".typed_config: envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext is for the other side; "
        "this one takes an envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext");
    CHECK_STR(chain_err(Y("%s, transport_socket: {name: envoy.transport_sockets.alts}", h)),
              TS ".name: transport socket 'envoy.transport_sockets.alts' is not supported yet (only "
                 "envoy.transport_sockets.tls or envoy.transport_sockets.raw_buffer)");
    CHECK_STR(chain_err(Y("%s, transport_socket: {}", h)), TS ": typed_config or name is required");

    /* fields we do not implement are refused by name */
    e = chain_err(
        Y("%s, %s", h, dtls(Y("%s, ocsp_staple_policy: MUST_STAPLE", cert_files("srv.pem", "srv.key")))));
    CHECK_HAS(e, TS ".typed_config: unknown field \"ocsp_staple_policy\"");
    e = chain_err(Y(
        "%s, %s", h,
        dtls("common_tls_context: {custom_handshaker: {name: x, typed_config: {'@type': " INSPECTOR "}}}")));
    CHECK_HAS(e, TS ".typed_config.common_tls_context: unknown field \"custom_handshaker\"");
    e = chain_err(
        Y("%s, %s", h, dtls("common_tls_context: {tls_certificate_provider_instance: {instance_name: x}}")));
    CHECK_HAS(e, "unknown field \"tls_certificate_provider_instance\"");
    e = chain_err(
        Y("%s, %s", h, dtls("common_tls_context: {tls_certificates: [{ocsp_staple: {inline_string: x}}]}")));
    CHECK_HAS(e, TS ".typed_config.common_tls_context.tls_certificates[0]: unknown field \"ocsp_staple\"");
    e = chain_err(Y("%s, %s", h, dtls("common_tls_context: {tls_params: {signature_algorithms: [x]}}")));
    CHECK_HAS(e, "tls_params: unknown field \"signature_algorithms\"");
    e = chain_err(Y("%s, %s", h, dtls("require_sni: true")));
    CHECK_HAS(e, "unknown field \"require_sni\"");

    /* secrets by reference */
    CHECK_STR(chain_err(Y("%s, %s", h,
                          dtls("common_tls_context: {tls_certificate_sds_secret_configs: [{name: nope}]}"))),
              CTX ".tls_certificate_sds_secret_configs[0].name: unknown static secret 'nope' "
                  "(static_resources.secrets)");
    CHECK_STR(
        chain_err(Y("%s, %s", h, dtls("common_tls_context: {tls_certificate_sds_secret_configs: [{}]}"))),
        CTX ".tls_certificate_sds_secret_configs[0].name: required");
    CHECK_STR(
        chain_err(Y("%s, %s", h,
                    dtls("common_tls_context: {tls_certificate_sds_secret_configs: [{name: s, sds_config: "
                         "{api_config_source: {api_type: GRPC, transport_api_version: V3, grpc_services: "
                         "[{envoy_grpc: {cluster_name: sds}}]}}}]}"))),
        CTX
        ".tls_certificate_sds_secret_configs[0].sds_config: only ads: {} is supported yet (SDS over its own "
        "api_config_source is not)");
    free(h);
    free(cert);
}

static void test_secret_refs(void)
{
    char *h = strdup(hcm("s", "r"));
    dp_listener_cfg_t *l;

    fs_add(false,
           Y("name: static_cert\ntls_certificate: {certificate_chain: {inline_string: %s}, private_key: "
             "{inline_string: %s}}",
             y_pem(SRV_PEM), y_pem(SRV_KEY)));
    fs_add(true, Y("name: dyn_cert\ntls_certificate: {certificate_chain: {inline_string: %s}, private_key: "
                   "{inline_string: %s}}",
                   y_pem(SRV2_PEM), y_pem(SRV2_KEY)));
    fs_add(true, Y("name: dyn_ca\nvalidation_context: {trusted_ca: {inline_string: %s}}", y_pem(CA_PEM)));
    fs_add(true, "name: dyn_keys\nsession_ticket_keys: {keys: [{inline_string: "
                 "'0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'}]}");

    /* a static secret: the chain is ready, with no SDS name */
    l = chain_ok(Y("%s, %s", h,
                   dtls("common_tls_context: {tls_certificate_sds_secret_configs: [{name: static_cert}]}")));
    CHECK(l && l->chains[0].tls != NULL && l->chains[0].n_sds_names == 0);
    dp_listener_cfg_unref(l);
    /* the same name asked over SDS is another secret (Envoy keeps them apart) */
    l = chain_ok(
        Y("%s, %s", h,
          dtls("common_tls_context: {tls_certificate_sds_secret_configs: [{name: static_cert, sds_config: "
               "{ads: {}}}]}")));
    CHECK(l && l->any_tls && l->chains[0].tls == NULL);
    CHECK(l && l->chains[0].n_sds_names == 1 && strcmp(l->chains[0].sds_names[0], "static_cert") == 0);
    dp_listener_cfg_unref(l);
    /* SDS secrets held: ready; each name once */
    FS.asked_dynamic = 0;
    l = chain_ok(
        Y("%s, %s", h,
          dtls("common_tls_context: {tls_certificate_sds_secret_configs: [{name: dyn_cert, sds_config: {ads: "
               "{}}}], validation_context_sds_secret_config: {name: dyn_ca, sds_config: {ads: {}, "
               "initial_fetch_timeout: 3s}}}, require_client_certificate: true, "
               "session_ticket_keys_sds_secret_config: {name: dyn_keys, sds_config: {ads: {}}}")));
    CHECK_INT(FS.asked_dynamic, 3);
    if (l) {
        CHECK(l->chains[0].tls != NULL);
        CHECK_INT(l->chains[0].n_sds_names, 3);
        CHECK_STR(l->chains[0].sds_names[0], "dyn_cert");
        CHECK_STR(l->chains[0].sds_names[1], "dyn_ca");
        CHECK_STR(l->chains[0].sds_names[2], "dyn_keys");
    }
    dp_listener_cfg_unref(l);
    /* one missing (no translation error: the caller warms it) */
    l = chain_ok(
        Y("%s, %s", h,
          dtls("common_tls_context: {tls_certificate_sds_secret_configs: [{name: dyn_cert, sds_config: {ads: "
               "{}}}], validation_context_sds_secret_config: {name: later, sds_config: {ads: {}}}}, "
               "require_client_certificate: true")));
    CHECK(l && l->chains[0].tls == NULL && l->chains[0].n_sds_names == 2);
    dp_listener_cfg_unref(l);
    /* the wrong kind of secret */
    CHECK_STR(chain_err(Y(
                  "%s, %s", h,
                  dtls("common_tls_context: {tls_certificate_sds_secret_configs: [{name: dyn_ca, sds_config: "
                       "{ads: {}}}]}"))),
              CTX ".tls_certificate_sds_secret_configs[0]: secret 'dyn_ca' holds validation_context, not a "
                  "tls_certificate");
    CHECK_STR(
        chain_err(
            Y("%s, %s", h,
              dtls(Y("%s, session_ticket_keys_sds_secret_config: {name: dyn_cert, sds_config: {ads: {}}}",
                     cert_files("srv.pem", "srv.key"))))),
        TS
        ".typed_config.session_ticket_keys_sds_secret_config: secret 'dyn_cert' holds tls_certificate, not "
        "a session_ticket_keys");
    fs_clear();
    /* a secret whose file went away since it was accepted */
    write_file("gone.pem", SRV_PEM);
    fs_add(true,
           Y("name: files\ntls_certificate: {certificate_chain: {filename: '%s'}, private_key: {filename: "
             "'%s'}}",
             path_of("gone.pem"), path_of("srv.key")));
    unlink(path_of("gone.pem"));
    CHECK_HAS(chain_err(Y(
                  "%s, %s", h,
                  dtls("common_tls_context: {tls_certificate_sds_secret_configs: [{name: files, sds_config: "
                       "{ads: {}}}]}"))),
              CTX ".tls_certificate_sds_secret_configs[0]: secret 'files': "
                  "tls_certificate.certificate_chain.filename: cannot read");
    fs_clear();
    free(h);
}

/* ---- secrets on their own ------------------------------------------------------------- */

static const char *secret_err(const char *yaml)
{
    ProtobufCMessage *m = res(DP_RES_SECRET, yaml);
    if (m == NULL)
        return err; /* refused while decoding */
    err[0] = '\0';
    int rc = dp_translate_secret(m, err, sizeof(err));
    protobuf_c_message_free_unpacked(m, NULL);
    return rc == 0 ? "" : err;
}

static void test_secrets(void)
{
    CHECK_STR(secret_err(Y("name: s\ntls_certificate: {certificate_chain: {inline_string: %s}, private_key: "
                           "{inline_string: %s}}",
                           y_pem(SRV_PEM), y_pem(SRV_KEY))),
              "");
    CHECK_HAS(secret_err(Y("name: s\ntls_certificate: {certificate_chain: {inline_string: %s}, private_key: "
                           "{inline_string: %s}}",
                           y_pem(SRV_PEM), y_pem(OTHER_KEY))),
              "tls_certificate: private key does not match the certificate: ");
    CHECK_HAS(secret_err("name: s\ntls_certificate: {certificate_chain: {inline_string: x}, private_key: "
                         "{inline_string: y}}"),
              "tls_certificate: certificate_chain is not valid PEM");
    CHECK_STR(secret_err("name: s\ntls_certificate: {}"), "tls_certificate.certificate_chain: required");
    CHECK_STR(secret_err(Y("name: s\nvalidation_context: {trusted_ca: {inline_string: %s}}", y_pem(CA_PEM))), "");
    CHECK_HAS(secret_err("name: s\nvalidation_context: {trusted_ca: {inline_string: nope}}"),
              "validation_context: trusted_ca is not valid PEM");
    CHECK_STR(
        secret_err("name: s\nvalidation_context: {match_typed_subject_alt_names: [{san_type: URI, matcher: "
                   "{exact: a}}]}"),
        "validation_context.match_typed_subject_alt_names[0].san_type: URI is not supported yet (only DNS)");
    CHECK_STR(
        secret_err("name: s\nsession_ticket_keys: {keys: [{inline_string: "
                   "'0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'}]}"),
        "");
    CHECK_STR(secret_err("name: s\nsession_ticket_keys: {keys: [{inline_string: short}]}"),
              "session_ticket_keys.keys[0]: must be 80 bytes (Envoy's session ticket key format), not 5");
    CHECK_STR(secret_err("name: s"),
              "one of tls_certificate, validation_context or session_ticket_keys is required");
    CHECK_STR(secret_err("tls_certificate: {}"), "name: required");
    /* generic_secret is not modelled: refused by number while decoding */
    CHECK_HAS(secret_err("name: s\ngeneric_secret: {secret: {inline_string: x}}"),
              "unknown field \"generic_secret\"");
}

/* ---- clusters ---------------------------------------------------------------------------- */

#define HPO "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
#define HPO_URL "type.googleapis.com/" HPO
#define STATIC_EP                                                                                            \
    "load_assignment: {cluster_name: c, endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: "  \
    "{address: 127.0.0.1, port_value: 8443}}}}]}]}\n"

static int cluster_src(const char *more, dp_cluster_cfg_t **out)
{
    ProtobufCMessage *m = res(DP_RES_CLUSTER, Y("name: c\n" STATIC_EP "%s", more));
    *out = NULL;
    if (m == NULL)
        return -100;
    err[0] = '\0';
    int rc = dp_translate_cluster_ex(m, NULL, &SRC, out, err, sizeof(err));
    protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}

static const char *cluster_err(const char *more)
{
    dp_cluster_cfg_t *c = NULL;
    int rc = cluster_src(more, &c);
    CHECK(rc < 0 && c == NULL);
    dp_cluster_cfg_unref(c);
    return err;
}

static const char *hpo(const char *body)
{
    return Y("typed_extension_protocol_options: {" HPO ": {'@type': " HPO_URL ", %s}}\n", body);
}

static void test_cluster_protocol(void)
{
    dp_cluster_cfg_t *c = NULL;

    CHECK_INT(cluster_src("", &c), 0);
    if (c) {
        CHECK_INT(c->proto, DP_UPSTREAM_HTTP1);
        CHECK_INT(c->idle_timeout_ms, 3600000);
        CHECK_INT(c->max_requests_per_connection, 0);
        CHECK_INT(c->h2.hpack_table_size, 4096);
        CHECK_INT(c->h2.max_concurrent_streams, 2147483647);
        CHECK_INT(c->h2.initial_stream_window_size, 268435456);
        CHECK(c->tls == NULL && c->tls_sni == NULL && c->n_sds_names == 0);
    }
    dp_cluster_cfg_unref(c);

    CHECK_INT(
        cluster_src(hpo("common_http_protocol_options: {idle_timeout: 30s, max_requests_per_connection: 10}, "
                        "explicit_http_config: {http2_protocol_options: {max_concurrent_streams: 100, "
                        "initial_stream_window_size: 65536}}"),
                    &c),
        0);
    if (c) {
        CHECK_INT(c->proto, DP_UPSTREAM_HTTP2);
        CHECK_INT(c->idle_timeout_ms, 30000);
        CHECK_INT(c->max_requests_per_connection, 10);
        CHECK_INT(c->h2.max_concurrent_streams, 100);
        CHECK_INT(c->h2.initial_stream_window_size, 65536);
        CHECK_INT(c->h2.hpack_table_size, 4096);
    }
    dp_cluster_cfg_unref(c);

    CHECK_INT(cluster_src(hpo("common_http_protocol_options: {idle_timeout: 0s}, explicit_http_config: "
                              "{http_protocol_options: {accept_http_10: true}}"),
                          &c),
              0);
    if (c) {
        CHECK_INT(c->proto, DP_UPSTREAM_HTTP1);
        CHECK_INT(c->idle_timeout_ms, 0);
    }
    dp_cluster_cfg_unref(c);

    CHECK_INT(
        cluster_src(hpo("use_downstream_protocol_config: {http_protocol_options: {}, http2_protocol_options: "
                        "{hpack_table_size: 0}}"),
                    &c),
        0);
    if (c) {
        CHECK_INT(c->proto, DP_UPSTREAM_DOWNSTREAM);
        CHECK_INT(c->h2.hpack_table_size, 0);
        CHECK_INT(c->idle_timeout_ms, 3600000);
    }
    dp_cluster_cfg_unref(c);

#define TEPO "typed_extension_protocol_options[\"" HPO "\"]"
    CHECK_STR(
        cluster_err("typed_extension_protocol_options: {envoy.filters.network.tcp_proxy: {'@type': " HPO_URL
                    "}}\n"),
        "typed_extension_protocol_options[\"envoy.filters.network.tcp_proxy\"]: not supported yet (only " HPO
        ")");
    CHECK_STR(cluster_err(hpo("common_http_protocol_options: {}")),
              TEPO ": one of explicit_http_config or use_downstream_protocol_config is required");
    CHECK_STR(cluster_err(hpo("explicit_http_config: {}")), TEPO
              ".explicit_http_config: one of http_protocol_options or http2_protocol_options is required");
    CHECK_STR(
        cluster_err(hpo("explicit_http_config: {http2_protocol_options: {initial_stream_window_size: 1}}")),
        TEPO ".explicit_http_config.http2_protocol_options.initial_stream_window_size: 1 is out of range "
             "(65535..2147483647)");
    CHECK_STR(cluster_err(hpo("common_http_protocol_options: {max_headers_count: 10}, explicit_http_config: "
                              "{http_protocol_options: {}}")),
              TEPO
              ".common_http_protocol_options.max_headers_count: not supported yet on upstream connections");
    CHECK_STR(
        cluster_err(hpo("common_http_protocol_options: {max_stream_duration: 1s}, explicit_http_config: "
                        "{http_protocol_options: {}}")),
        TEPO ".common_http_protocol_options.max_stream_duration: not supported yet");
    CHECK_STR(cluster_err(hpo("common_http_protocol_options: {idle_timeout: -2s}, explicit_http_config: "
                              "{http_protocol_options: {}}")),
              TEPO ".common_http_protocol_options.idle_timeout: must not be negative");
    /* auto_config is not modelled: refused by number inside the Any */
    CHECK_HAS(cluster_err(hpo("auto_config: {}")), "unknown field \"auto_config\"");
    CHECK_HAS(cluster_err(hpo("explicit_http_config: {http3_protocol_options: {}}")),
              "unknown field \"http3_protocol_options\"");
    CHECK_HAS(cluster_err(hpo(
                  "explicit_http_config: {http_protocol_options: {}}, upstream_http_protocol_options: {}")),
              "unknown field \"upstream_http_protocol_options\"");
}

static void test_cluster_tls(void)
{
    dp_cluster_cfg_t *c = NULL;
    char *ca = strdup(Y("trusted_ca: {filename: '%s'}", path_of("ca.pem")));

    /* verified upstream: CA + DNS SAN; SNI */
    CHECK_INT(
        cluster_src(Y("transport_socket: {name: envoy.transport_sockets.tls, typed_config: {'@type': " UTLS
                      ", sni: api.node-us.example.test, common_tls_context: {validation_context: {%s, "
                      "match_typed_subject_alt_names: [{san_type: DNS, matcher: {exact: "
                      "api.node-us.example.test}}]}}}}\n%s",
                      ca, hpo("explicit_http_config: {http2_protocol_options: {}}")),
                    &c),
        0);
    if (c) {
        CHECK(c->tls != NULL);
        CHECK_STR(c->tls_sni, "api.node-us.example.test");
        CHECK_INT(c->proto, DP_UPSTREAM_HTTP2);
    } else {
        fprintf(stderr, "%s\n", err);
    }
    dp_cluster_cfg_unref(c);
    /* by name only: TLS, nothing verified, no SNI */
    CHECK_INT(cluster_src("transport_socket: {name: envoy.transport_sockets.tls}\n", &c), 0);
    CHECK(c && c->tls != NULL && c->tls_sni == NULL);
    dp_cluster_cfg_unref(c);
    /* a client certificate; its secret over SDS, missing: not ready */
    CHECK_INT(
        cluster_src(Y("transport_socket: {typed_config: {'@type': " UTLS ", common_tls_context: "
                      "{tls_certificates: [{certificate_chain: {filename: '%s'}, private_key: {filename: "
                      "'%s'}}]}}}\n",
                      path_of("srv.pem"), path_of("srv.key")),
                    &c),
        0);
    CHECK(c && c->tls != NULL);
    dp_cluster_cfg_unref(c);
    CHECK_INT(
        cluster_src("transport_socket: {typed_config: {'@type': " UTLS ", common_tls_context: "
                    "{validation_context_sds_secret_config: {name: upstream_ca, sds_config: {ads: {}}}}}}\n",
                    &c),
        0);
    CHECK(c && c->tls == NULL && c->n_sds_names == 1 && strcmp(c->sds_names[0], "upstream_ca") == 0);
    dp_cluster_cfg_unref(c);

#define UCTX "transport_socket.typed_config.common_tls_context"
    CHECK_STR(
        cluster_err(Y("transport_socket: {typed_config: {'@type': " UTLS ", common_tls_context: "
                      "{validation_context: {%s, match_typed_subject_alt_names: [{san_type: DNS, matcher: "
                      "{prefix: api}}]}}}}\n",
                      ca)),
        UCTX ".validation_context.match_typed_subject_alt_names[0].matcher: only exact is supported yet");
    CHECK_STR(
        cluster_err(Y("transport_socket: {typed_config: {'@type': " UTLS ", common_tls_context: "
                      "{validation_context: {%s, match_typed_subject_alt_names: [{san_type: URI, matcher: "
                      "{exact: 'spiffe://x'}}]}}}}\n",
                      ca)),
        UCTX ".validation_context.match_typed_subject_alt_names[0].san_type: URI is not supported yet (only "
             "DNS)");
    CHECK_STR(
        cluster_err(Y("transport_socket: {typed_config: {'@type': " UTLS ", common_tls_context: "
                      "{validation_context: {%s, match_typed_subject_alt_names: [{san_type: DNS, matcher: "
                      "{exact: a}}, {san_type: DNS, matcher: {exact: b}}]}}}}\n",
                      ca)),
        UCTX ".validation_context.match_typed_subject_alt_names[1]: only one subject alt name matcher is "
             "supported yet");
    CHECK_STR(
        cluster_err("transport_socket: {typed_config: {'@type': " UTLS ", common_tls_context: "
                    "{validation_context: {match_typed_subject_alt_names: [{san_type: DNS, matcher: {exact: "
                    "a}}]}}}}\n"),
        UCTX ".validation_context.match_typed_subject_alt_names: requires trusted_ca");
    CHECK_STR(
        cluster_err(Y("transport_socket: {typed_config: {'@type': " UTLS ", common_tls_context: "
                      "{tls_certificates: [{certificate_chain: {filename: '%s'}, private_key: {filename: "
                      "'%s'}}, {certificate_chain: {filename: '%s'}, private_key: {filename: '%s'}}]}}}\n",
                      path_of("srv.pem"), path_of("srv.key"), path_of("srv.pem"), path_of("srv.key"))),
        UCTX ".tls_certificates: a client takes at most one certificate");
    CHECK_STR(
        cluster_err("transport_socket: {typed_config: {'@type': " DTLS "}}\n"),
        "transport_socket.typed_config: envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext is "
        "for "
        "the other side; this one takes an envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext");
    CHECK_HAS(
        cluster_err("transport_socket: {typed_config: {'@type': " UTLS ", allow_renegotiation: true}}\n"),
        "transport_socket.typed_config");
    CHECK_HAS(err, "unknown field \"allow_renegotiation\"");
    free(ca);
}

/* xDS bytes: a field we do not model inside a transport socket's Any is
 * refused with its path and number (and Envoy's name once
 * xds/envoy_fields.inc covers the TLS messages). */
static void test_unknown_in_any(void)
{
    ProtobufCMessage *m = from_yaml(&envoy__config__listener__v3__listener__descriptor,
                                    Y("name: l\n" ADDR "filter_chains: [{%s, %s}]", hcm("s", "r"),
                                      dtls(cert_files("srv.pem", "srv.key"))));
    CHECK(m != NULL);
    if (m == NULL)
        return;
    Envoy__Config__Listener__V3__Listener *l = (void *)m;
    Google__Protobuf__Any *any = l->filter_chains[0]->transport_socket->typed_config;
    uint8_t extra[2] = {0x40, 0x02}; /* field 8 (ocsp_staple_policy), varint MUST_STAPLE */
    any->value.data = realloc(any->value.data, any->value.len + 2);
    memcpy(any->value.data + any->value.len, extra, 2);
    any->value.len += 2;
    dp_listener_cfg_t *cfg = NULL;
    CHECK(dp_translate_listener_ex(m, &SRC, &cfg, err, sizeof(err)) < 0);
    CHECK(cfg == NULL);
    CHECK_HAS(err, TS ".typed_config");
    CHECK_HAS(err, "(field 8): not supported");
    if (dp_pb_envoy_field_name("envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext", 8))
        CHECK_HAS(err, "ocsp_staple_policy");
    protobuf_c_message_free_unpacked(m, NULL);
}

/* ---- redaction ----------------------------------------------------------------------------- */

static void test_redaction(void)
{
    /* a Listener with an inline key in its transport socket's Any */
    ProtobufCMessage *m = from_yaml(
        &envoy__config__listener__v3__listener__descriptor,
        Y("name: l\nfilter_chains: [{%s}]",
          dtls(Y(
              "common_tls_context: {tls_certificates: [{certificate_chain: {inline_string: %s}, private_key: "
              "{inline_string: %s}, password: {filename: /etc/pw}}]}, session_ticket_keys: {keys: "
              "[{inline_bytes: 'AAAA'}]}",
              y_pem(SRV_PEM), y_pem(SRV_KEY)))));
    CHECK(m != NULL);
    if (m == NULL)
        return;
    CHECK(dp_xds_redact(m));
    Envoy__Config__Listener__V3__Listener *l = (void *)m;
    const Google__Protobuf__Any *any = l->filter_chains[0]->transport_socket->typed_config;
    Envoy__Extensions__TransportSockets__Tls__V3__DownstreamTlsContext *d =
        envoy__extensions__transport_sockets__tls__v3__downstream_tls_context__unpack(NULL, any->value.len,
                                                                                      any->value.data);
    CHECK(d != NULL);
    if (d) {
        const Envoy__Extensions__TransportSockets__Tls__V3__TlsCertificate *tc =
            d->common_tls_context->tls_certificates[0];
        CHECK_STR(tc->private_key->inline_string, "[redacted]");
        CHECK_STR(tc->password->filename, "[redacted]");
        CHECK_STR(tc->certificate_chain->inline_string, SRV_PEM); /* not sensitive */
        CHECK_MEM(d->session_ticket_keys->keys[0]->inline_bytes.data,
                  d->session_ticket_keys->keys[0]->inline_bytes.len, "[redacted]");
        envoy__extensions__transport_sockets__tls__v3__downstream_tls_context__free_unpacked(d, NULL);
    }
    CHECK(!dp_xds_redact(m)); /* nothing left */
    protobuf_c_message_free_unpacked(m, NULL);

    /* an encoded Secret */
    m = from_yaml(
        &envoy__extensions__transport_sockets__tls__v3__secret__descriptor,
        Y("name: s\ntls_certificate: {certificate_chain: {inline_string: %s}, private_key: {inline_string: "
          "%s}}",
          y_pem(SRV_PEM), y_pem(SRV_KEY)));
    size_t len = protobuf_c_message_get_packed_size(m), olen = 0;
    uint8_t *buf = malloc(len), *out = NULL;
    protobuf_c_message_pack(m, buf);
    protobuf_c_message_free_unpacked(m, NULL);
    dp_xds_redact_raw(&envoy__extensions__transport_sockets__tls__v3__secret__descriptor, buf, len, &out,
                      &olen);
    CHECK(out != NULL && olen > 0);
    Envoy__Extensions__TransportSockets__Tls__V3__Secret *s =
        envoy__extensions__transport_sockets__tls__v3__secret__unpack(NULL, olen, out);
    CHECK(s != NULL);
    if (s) {
        CHECK_STR(s->name, "s");
        CHECK_STR(s->tls_certificate->private_key->inline_string, "[redacted]");
        envoy__extensions__transport_sockets__tls__v3__secret__free_unpacked(s, NULL);
    }
    free(buf);
    free(out);
}

int main(void)
{
    snprintf(dir, sizeof(dir), "/tmp/dp_tls_test_XXXXXX");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    write_file("ca.pem", CA_PEM);
    write_file("srv.pem", SRV_PEM);
    write_file("srv.key", SRV_KEY);

    test_chains();
    test_listener_defaults();
    test_listener_errors();
    test_tls_errors();
    test_secret_refs();
    test_secrets();
    test_cluster_protocol();
    test_cluster_tls();
    test_unknown_in_any();
    test_redaction();

    fs_clear();
    const char *files[] = {"ca.pem", "srv.pem", "srv.key", "enc.key"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        unlink(path_of(files[i]));
    rmdir(dir);
    y_free();
    TEST_DONE();
}
