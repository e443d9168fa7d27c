/* TLS transport sockets and SDS secrets -> TLS contexts (translate_tls.h).
 *
 *   transport_socket --typed_config--> Downstream/UpstreamTlsContext
 *        |                                   |
 *        |      common_tls_context: certificates, CA, SANs, params, ALPN
 *        |      (inline DataSources read now, SdsSecretConfigs looked up
 *        |       through the caller's dp_secret_source_t)
 *        v                                   v
 *   tls_parts_t (PEM bytes, keys) ---> dp_tls_ctx_new() ---> fc->tls / c->tls
 *
 * A missing SDS secret stops before the context: the chain or cluster is
 * then "not ready" (translate.h) and names the secrets in sds_names. */
#include "xds/translate_tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"
#include "dataplane/transport/tls.h"
#include "envoy/extensions/transport_sockets/proxy_protocol/v3/upstream_proxy_protocol.pb-c.h"
#include "envoy/extensions/transport_sockets/raw_buffer/v3/raw_buffer.pb-c.h"
#include "envoy/extensions/transport_sockets/tls/v3/common.pb-c.h"
#include "envoy/extensions/transport_sockets/tls/v3/secret.pb-c.h"
#include "envoy/extensions/transport_sockets/tls/v3/tls.pb-c.h"
#include "google/protobuf/any.pb-c.h"
#include "xds/typereg.h"

typedef Envoy__Extensions__TransportSockets__Tls__V3__CommonTlsContext pb_common_t;
typedef Envoy__Extensions__TransportSockets__Tls__V3__DownstreamTlsContext pb_down_t;
typedef Envoy__Extensions__TransportSockets__Tls__V3__UpstreamTlsContext pb_up_t;
typedef Envoy__Extensions__TransportSockets__Tls__V3__TlsCertificate pb_cert_t;
typedef Envoy__Extensions__TransportSockets__Tls__V3__CertificateValidationContext pb_cvc_t;
typedef Envoy__Extensions__TransportSockets__Tls__V3__TlsSessionTicketKeys pb_keys_t;
typedef Envoy__Extensions__TransportSockets__Tls__V3__SdsSecretConfig pb_sds_t;
typedef Envoy__Extensions__TransportSockets__Tls__V3__Secret pb_secret_t;
typedef Envoy__Extensions__TransportSockets__Tls__V3__TlsParameters pb_params_t;
typedef Envoy__Extensions__TransportSockets__Tls__V3__SubjectAltNameMatcher pb_san_t;
typedef Envoy__Config__Core__V3__DataSource pb_ds_t;

#define TLS_ENUM(x) ENVOY__EXTENSIONS__TRANSPORT_SOCKETS__TLS__V3__##x

#define DOWNSTREAM_TYPE "envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext"
#define PROXY_PROTOCOL_TYPE "envoy.extensions.transport_sockets.proxy_protocol.v3.ProxyProtocolUpstreamTransport"
#define UPSTREAM_TYPE "envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext"
#define RAW_TYPE "envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer"

#define MAX_PEM (1024 * 1024)
#define MAX_PASSWORD 1024
#define TICKET_KEY_LEN 80 /* Envoy's format: 16 name | 32 HMAC | 32 AES */
#define MAX_TICKET_KEYS 64
#define MAX_CERTS 8

/* What a context is built from, gathered from the message and secrets.
 * Every buffer read is in `owned`, freed with the parts. */
typedef struct tls_parts {
    dp_tls_cert_t certs[MAX_CERTS];
    const char *cert_field[MAX_CERTS]; /* where certs[i] came from, for errors */
    size_t cert_idx[MAX_CERTS];
    size_t n_certs;
    const char *ca;
    size_t ca_len;
    const char *verify_name;
    const uint8_t *keys;
    size_t n_keys;
    int min_version, max_version;
    char *ciphers, *curves;
    const char **alpn; /* into the message, or static strings */
    size_t n_alpn;
    char **sds; /* SDS secret names used, unique; handed to the config */
    size_t n_sds;
    bool missing; /* one of them is not held */
    void **owned;
    size_t n_owned;
} tls_parts_t;

static void *own(tls_parts_t *p, void *buf)
{
    p->owned = dp_xrealloc(p->owned, (p->n_owned + 1) * sizeof(*p->owned));
    p->owned[p->n_owned++] = buf;
    return buf;
}

static void parts_free(tls_parts_t *p)
{
    for (size_t i = 0; i < p->n_owned; i++)
        free(p->owned[i]);
    free(p->owned);
    for (size_t i = 0; i < p->n_sds; i++)
        free(p->sds[i]);
    free(p->sds);
    free(p->ciphers);
    free(p->curves);
    free(p->alpn);
    memset(p, 0, sizeof(*p));
}

static void add_sds(tls_parts_t *p, const char *name)
{
    for (size_t i = 0; i < p->n_sds; i++)
        if (strcmp(p->sds[i], name) == 0)
            return;
    p->sds = dp_xrealloc(p->sds, (p->n_sds + 1) * sizeof(*p->sds));
    p->sds[p->n_sds++] = dp_xstrdup(name);
}

/* ---- pieces ---------------------------------------------------------------------------- */

/* DataSource `field` of the message at the current path. */
static int read_ds(dp_xlate_t *x, const char *field, const pb_ds_t *ds, size_t max, tls_parts_t *p,
                   char **out, size_t *len)
{
    size_t saved = dp_xlate__push(x, field);
    int rc = ds ? dp_xlate__datasource(x, ds, max, out, len) : dp_xlate__fail(x, "required");
    dp_xlate__pop(x, saved);
    if (rc == 0)
        own(p, *out);
    return rc;
}

/* A TlsCertificate at the current path; field[idx] names it in errors of
 * the context (relative to common_tls_context). */
static int xt_cert(dp_xlate_t *x, const pb_cert_t *c, tls_parts_t *p, const char *field, size_t idx)
{
    char *chain, *key, *pw = NULL;
    size_t chain_len, key_len, pw_len = 0;
    int rc;

    if (p->n_certs == MAX_CERTS)
        return dp_xlate__fail(x, "too many certificates (at most %d)", MAX_CERTS);
    if ((rc = read_ds(x, "certificate_chain", c->certificate_chain, MAX_PEM, p, &chain, &chain_len)) != 0 ||
        (rc = read_ds(x, "private_key", c->private_key, MAX_PEM, p, &key, &key_len)) != 0)
        return rc;
    if (c->password != NULL) {
        if ((rc = read_ds(x, "password", c->password, MAX_PASSWORD, p, &pw, &pw_len)) != 0)
            return rc;
        if (strlen(pw) != pw_len)
            return dp_xlate__fail_at(x, "password", "must not contain NUL bytes");
    }
    dp_tls_cert_t *o = &p->certs[p->n_certs];
    o->chain_pem = chain;
    o->chain_len = chain_len;
    o->key_pem = key;
    o->key_len = key_len;
    o->password = pw;
    p->cert_field[p->n_certs] = field;
    p->cert_idx[p->n_certs] = idx;
    p->n_certs++;
    return 0;
}

/* match_typed_subject_alt_names[i] (current path): a DNS name, exact. */
static int xt_san(dp_xlate_t *x, const pb_san_t *s, tls_parts_t *p)
{
    const Envoy__Type__Matcher__V3__StringMatcher *m = s->matcher;

    switch ((int)s->san_type) {
    case TLS_ENUM(SUBJECT_ALT_NAME_MATCHER__SAN_TYPE__DNS):
        break;
    case TLS_ENUM(SUBJECT_ALT_NAME_MATCHER__SAN_TYPE__SAN_TYPE_UNSPECIFIED):
        return dp_xlate__fail_at(x, "san_type", "required");
    default: {
        const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
            &envoy__extensions__transport_sockets__tls__v3__subject_alt_name_matcher__san_type__descriptor,
            (int)s->san_type);
        if (v == NULL)
            return dp_xlate__fail_at(x, "san_type", "unknown value %d", (int)s->san_type);
        return dp_xlate__fail_at(x, "san_type", "%s is not supported yet (only DNS)", v->name);
    }
    }
    if (m == NULL)
        return dp_xlate__fail_at(x, "matcher", "required");
    if (m->match_pattern_case != ENVOY__TYPE__MATCHER__V3__STRING_MATCHER__MATCH_PATTERN_EXACT)
        return dp_xlate__fail_at(x, "matcher", "only exact is supported yet");
    if (m->exact == NULL || m->exact[0] == '\0')
        return dp_xlate__fail_at(x, "matcher.exact", "must not be empty");
    /* DNS names compare without case: ignore_case changes nothing */
    p->verify_name = own(p, dp_xstrdup(m->exact));
    return 0;
}

/* A CertificateValidationContext at the current path. Client certificates
 * (downstream) are checked against trusted_ca only. */
static int xt_validation(dp_xlate_t *x, const pb_cvc_t *vc, bool upstream, tls_parts_t *p)
{
    int rc;

    if (vc->trusted_ca != NULL) {
        char *ca;
        if ((rc = read_ds(x, "trusted_ca", vc->trusted_ca, MAX_PEM, p, &ca, &p->ca_len)) != 0)
            return rc;
        p->ca = ca;
    }
    for (size_t i = 0; i < vc->n_match_typed_subject_alt_names; i++) {
        size_t saved = dp_xlate__push_idx(x, "match_typed_subject_alt_names", i);
        if (!upstream)
            rc = dp_xlate__fail(x,
                                "matching the subject alt names of client certificates is not supported yet");
        else if (i > 0)
            rc = dp_xlate__fail(x, "only one subject alt name matcher is supported yet");
        else
            rc = xt_san(x, vc->match_typed_subject_alt_names[i], p);
        dp_xlate__pop(x, saved);
        if (rc != 0)
            return rc;
    }
    /* Envoy: SAN-based verification without a trusted CA is insecure and
     * not allowed */
    if (p->verify_name != NULL && p->ca == NULL)
        return dp_xlate__fail_at(x, "match_typed_subject_alt_names", "requires trusted_ca");
    return 0;
}

/* A TlsSessionTicketKeys at the current path. */
static int xt_keys(dp_xlate_t *x, const pb_keys_t *k, tls_parts_t *p)
{
    if (k->n_keys == 0)
        return dp_xlate__fail_at(x, "keys", "at least one key is required");
    if (k->n_keys > MAX_TICKET_KEYS)
        return dp_xlate__fail_at(x, "keys", "too many keys (at most %d)", MAX_TICKET_KEYS);
    uint8_t *keys = own(p, dp_xmalloc(k->n_keys * TICKET_KEY_LEN));
    for (size_t i = 0; i < k->n_keys; i++) {
        char *key;
        size_t len;
        size_t saved = dp_xlate__push_idx(x, "keys", i);
        int rc = k->keys[i] ? dp_xlate__datasource(x, k->keys[i], 4096, &key, &len)
                            : dp_xlate__fail(x, "required");
        if (rc == 0) {
            if (len != TICKET_KEY_LEN)
                rc = dp_xlate__fail(x, "must be %d bytes (Envoy's session ticket key format), not %zu",
                                    TICKET_KEY_LEN, len);
            else
                memcpy(keys + i * TICKET_KEY_LEN, key, TICKET_KEY_LEN);
            free(key);
        }
        dp_xlate__pop(x, saved);
        if (rc != 0)
            return rc;
    }
    p->keys = keys;
    p->n_keys = k->n_keys;
    return 0;
}

/* An SdsSecretConfig at the current path: *out is the secret, or NULL
 * for an SDS secret not held yet (p->missing). */
static int xt_sds(dp_xlate_t *x, const pb_sds_t *s, const dp_secret_source_t *src, tls_parts_t *p,
                  const pb_secret_t **out)
{
    const ProtobufCMessage *m;

    *out = NULL;
    if (s->name == NULL || s->name[0] == '\0')
        return dp_xlate__fail_at(x, "name", "required");
    if (s->sds_config != NULL) {
        size_t saved = dp_xlate__push(x, "sds_config");
        int rc = dp_xlate__config_source(x, s->sds_config);
        if (rc == 0 && s->sds_config->config_source_specifier_case !=
                           ENVOY__CONFIG__CORE__V3__CONFIG_SOURCE__CONFIG_SOURCE_SPECIFIER_ADS)
            rc = dp_xlate__fail(x,
                                "only ads: {} is supported yet (SDS over its own api_config_source is not)");
        dp_xlate__pop(x, saved);
        if (rc != 0)
            return rc;
    }
    m = src && src->find ? src->find(src->ctx, s->name, s->sds_config) : NULL;
    if (m != NULL && m->descriptor != &envoy__extensions__transport_sockets__tls__v3__secret__descriptor)
        m = NULL;
    if (s->sds_config == NULL) {
        /* no sds_config: a static secret, Envoy's rule */
        if (m == NULL)
            return dp_xlate__fail_at(x, "name", "unknown static secret '%s' (static_resources.secrets)",
                                     s->name);
    } else {
        add_sds(p, s->name);
        if (m == NULL)
            p->missing = true;
    }
    *out = (const pb_secret_t *)m;
    return 0;
}

static const char *secret_kind(const pb_secret_t *s)
{
    switch (s->type_case) {
    case TLS_ENUM(SECRET__TYPE_TLS_CERTIFICATE):
        return "tls_certificate";
    case TLS_ENUM(SECRET__TYPE_VALIDATION_CONTEXT):
        return "validation_context";
    case TLS_ENUM(SECRET__TYPE_SESSION_TICKET_KEYS):
        return "session_ticket_keys";
    default:
        return "nothing we know";
    }
}

/* The part of secret `s` (looked up by name at the current path) that the
 * referring field wants, translated relative to the secret's root; errors
 * come out as "PATH: secret 'NAME': FIELD: reason". */
typedef enum { WANT_CERT, WANT_VALIDATION, WANT_KEYS } want_t;

static int xt_secret_part(dp_xlate_t *x, const pb_secret_t *s, want_t want, bool upstream, tls_parts_t *p,
                          size_t idx)
{
    static const char *const names[] = {"tls_certificate", "validation_context", "session_ticket_keys"};
    char err[768] = "";
    dp_xlate_t sx;
    int rc;

    bool ok = (want == WANT_CERT && s->type_case == TLS_ENUM(SECRET__TYPE_TLS_CERTIFICATE)) ||
              (want == WANT_VALIDATION && s->type_case == TLS_ENUM(SECRET__TYPE_VALIDATION_CONTEXT)) ||
              (want == WANT_KEYS && s->type_case == TLS_ENUM(SECRET__TYPE_SESSION_TICKET_KEYS));
    if (!ok)
        return dp_xlate__fail(x, "secret '%s' holds %s, not a %s", s->name, secret_kind(s), names[want]);
    dp_xlate__init(&sx, err, sizeof(err));
    size_t saved = dp_xlate__push(&sx, names[want]);
    if (want == WANT_CERT)
        rc = xt_cert(&sx, s->tls_certificate, p, "tls_certificate_sds_secret_configs", idx);
    else if (want == WANT_VALIDATION)
        rc = xt_validation(&sx, s->validation_context, upstream, p);
    else
        rc = xt_keys(&sx, s->session_ticket_keys, p);
    dp_xlate__pop(&sx, saved);
    if (rc != 0)
        return dp_xlate__fail(x, "secret '%s': %s", s->name, err);
    return 0;
}

static int tls_version(dp_xlate_t *x, const char *field, int v, int *out)
{
    switch (v) {
    case TLS_ENUM(TLS_PARAMETERS__TLS_PROTOCOL__TLS_AUTO):
        *out = DP_TLS_AUTO;
        return 0;
    case TLS_ENUM(TLS_PARAMETERS__TLS_PROTOCOL__TLSv1_0):
        *out = DP_TLS_V10;
        return 0;
    case TLS_ENUM(TLS_PARAMETERS__TLS_PROTOCOL__TLSv1_1):
        *out = DP_TLS_V11;
        return 0;
    case TLS_ENUM(TLS_PARAMETERS__TLS_PROTOCOL__TLSv1_2):
        *out = DP_TLS_V12;
        return 0;
    case TLS_ENUM(TLS_PARAMETERS__TLS_PROTOCOL__TLSv1_3):
        *out = DP_TLS_V13;
        return 0;
    default:
        return dp_xlate__fail_at(x, field, "unknown value %d", v);
    }
}

/* repeated string -> "a:b:c"; entries must be non-empty words. */
static int join_list(dp_xlate_t *x, const char *field, char *const *v, size_t n, char **out)
{
    size_t total = 1;
    for (size_t i = 0; i < n; i++) {
        if (v[i] == NULL || v[i][0] == '\0' || strpbrk(v[i], ":, \t") != NULL) {
            size_t saved = dp_xlate__push_idx(x, field, i);
            int rc = dp_xlate__fail(x, "must be one non-empty name");
            dp_xlate__pop(x, saved);
            return rc;
        }
        total += strlen(v[i]) + 1;
    }
    if (n == 0)
        return 0;
    char *s = dp_xmalloc(total);
    s[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (i)
            strcat(s, ":");
        strcat(s, v[i]);
    }
    *out = s;
    return 0;
}

static int xt_params(dp_xlate_t *x, const pb_params_t *t, tls_parts_t *p)
{
    int rc;
    if ((rc = tls_version(x, "tls_minimum_protocol_version", (int)t->tls_minimum_protocol_version,
                          &p->min_version)) != 0 ||
        (rc = tls_version(x, "tls_maximum_protocol_version", (int)t->tls_maximum_protocol_version,
                          &p->max_version)) != 0 ||
        (rc = join_list(x, "cipher_suites", t->cipher_suites, t->n_cipher_suites, &p->ciphers)) != 0 ||
        (rc = join_list(x, "ecdh_curves", t->ecdh_curves, t->n_ecdh_curves, &p->curves)) != 0)
        return rc;
    return 0;
}

/* A CommonTlsContext at the current path. */
static int xt_common(dp_xlate_t *x, const pb_common_t *c, const dp_secret_source_t *src, bool upstream,
                     tls_parts_t *p)
{
    const pb_secret_t *sec;
    size_t saved;
    int rc = 0;

    if (c->tls_params != NULL) {
        saved = dp_xlate__push(x, "tls_params");
        rc = xt_params(x, c->tls_params, p);
        dp_xlate__pop(x, saved);
        if (rc != 0)
            return rc;
    }
    for (size_t i = 0; i < c->n_tls_certificates; i++) {
        saved = dp_xlate__push_idx(x, "tls_certificates", i);
        rc = xt_cert(x, c->tls_certificates[i], p, "tls_certificates", i);
        dp_xlate__pop(x, saved);
        if (rc != 0)
            return rc;
    }
    for (size_t i = 0; i < c->n_tls_certificate_sds_secret_configs; i++) {
        saved = dp_xlate__push_idx(x, "tls_certificate_sds_secret_configs", i);
        rc = xt_sds(x, c->tls_certificate_sds_secret_configs[i], src, p, &sec);
        if (rc == 0 && sec != NULL)
            rc = xt_secret_part(x, sec, WANT_CERT, upstream, p, i);
        dp_xlate__pop(x, saved);
        if (rc != 0)
            return rc;
    }
    switch (c->validation_context_type_case) {
    case TLS_ENUM(COMMON_TLS_CONTEXT__VALIDATION_CONTEXT_TYPE_VALIDATION_CONTEXT):
        saved = dp_xlate__push(x, "validation_context");
        rc = xt_validation(x, c->validation_context, upstream, p);
        dp_xlate__pop(x, saved);
        break;
    case TLS_ENUM(COMMON_TLS_CONTEXT__VALIDATION_CONTEXT_TYPE_VALIDATION_CONTEXT_SDS_SECRET_CONFIG):
        saved = dp_xlate__push(x, "validation_context_sds_secret_config");
        rc = xt_sds(x, c->validation_context_sds_secret_config, src, p, &sec);
        if (rc == 0 && sec != NULL)
            rc = xt_secret_part(x, sec, WANT_VALIDATION, upstream, p, 0);
        dp_xlate__pop(x, saved);
        break;
    default:
        break;
    }
    if (rc != 0)
        return rc;
    if (c->n_alpn_protocols) {
        p->alpn = dp_xcalloc(c->n_alpn_protocols, sizeof(*p->alpn));
        for (size_t i = 0; i < c->n_alpn_protocols; i++) {
            size_t l = c->alpn_protocols[i] ? strlen(c->alpn_protocols[i]) : 0;
            if (l == 0 || l > 255) {
                saved = dp_xlate__push_idx(x, "alpn_protocols", i);
                rc = dp_xlate__fail(x, "must be 1 to 255 bytes");
                dp_xlate__pop(x, saved);
                return rc;
            }
            p->alpn[p->n_alpn++] = c->alpn_protocols[i];
        }
    }
    return 0;
}

/* dp_tls_ctx_new()'s error at the Tls context's root (current path): its
 * "certificate N: ..." goes to the field certificate N came from, its
 * session and client-certificate errors to the root, the rest (which start
 * with a CommonTlsContext field name) under common_tls_context. */
static int ctx_fail(dp_xlate_t *x, const tls_parts_t *p, const char *err)
{
    const char *r = err && err[0] ? err : "cannot build the TLS context";
    size_t saved;
    int rc;

    if (strncmp(r, "certificate ", 12) == 0) {
        char *end;
        unsigned long n = strtoul(r + 12, &end, 10);
        if (end != r + 12 && end[0] == ':' && end[1] == ' ' && n < p->n_certs) {
            saved = dp_xlate__push(x, "common_tls_context");
            dp_xlate__push_idx(x, p->cert_field[n], p->cert_idx[n]);
            rc = dp_xlate__fail(x, "%s", end + 2);
            dp_xlate__pop(x, saved);
            return rc;
        }
    }
    if (strncmp(r, "session_ticket_keys", 19) == 0 || strncmp(r, "require_client_certificate", 26) == 0)
        return dp_xlate__fail_sub(x, DP_EINVAL, r);
    saved = dp_xlate__push(x, "common_tls_context");
    rc = dp_xlate__fail_sub(x, DP_EINVAL, r);
    dp_xlate__pop(x, saved);
    return rc;
}

static void opts_from_parts(dp_tls_opts_t *o, const tls_parts_t *p)
{
    o->certs = p->certs;
    o->n_certs = p->n_certs;
    o->params.min_version = p->min_version;
    o->params.max_version = p->max_version;
    o->params.cipher_suites = p->ciphers;
    o->params.ecdh_curves = p->curves;
    o->alpn = p->alpn;
    o->n_alpn = p->n_alpn;
    o->ca_pem = p->ca;
    o->ca_len = p->ca_len;
    o->verify_name = p->verify_name;
    o->ticket_keys = p->keys;
    o->n_ticket_keys = p->n_keys;
}

/* ---- transport sockets --------------------------------------------------------------------- */

/* Which transport socket: 0 raw_buffer, 1 TLS (*any: its typed_config, or
 * NULL when only the name says TLS), negative: refused. */
static int socket_kind(dp_xlate_t *x, const Envoy__Config__Core__V3__TransportSocket *ts, const char *want,
                       const char *other, const Google__Protobuf__Any **any)
{
    *any = NULL;
    if (ts == NULL)
        return 0;
    /* As for every extension, the typed_config's type decides; the name
     * only without one. */
    if (ts->config_type_case == ENVOY__CONFIG__CORE__V3__TRANSPORT_SOCKET__CONFIG_TYPE_TYPED_CONFIG &&
        ts->typed_config != NULL) {
        const char *t = dp_xlate__type_name(ts->typed_config->type_url);
        if (strcmp(t, want) == 0) {
            *any = ts->typed_config;
            return 1;
        }
        if (strcmp(t, RAW_TYPE) == 0) {
            ProtobufCMessage *raw = NULL;
            size_t saved = dp_xlate__push(x, "typed_config");
            int rc = dp_xlate__unpack_any(
                x, ts->typed_config,
                &envoy__extensions__transport_sockets__raw_buffer__v3__raw_buffer__descriptor, &raw);
            dp_xlate__pop(x, saved);
            if (raw)
                protobuf_c_message_free_unpacked(raw, NULL);
            return rc;
        }
        if (strcmp(t, other) == 0)
            return dp_xlate__fail_at(x, "typed_config", "%s is for the other side; this one takes an %s", t,
                                     want);
        return dp_xlate__fail_at(x, "typed_config",
                                 "transport socket type '%s' is not supported yet (only %s or %s)", t, want,
                                 RAW_TYPE);
    }
    const char *name = ts->name ? ts->name : "";
    if (strcmp(name, DP_RAW_SOCKET_NAME) == 0)
        return 0;
    if (strcmp(name, DP_TLS_SOCKET_NAME) == 0)
        return 1;
    if (name[0] == '\0')
        return dp_xlate__fail(x, "typed_config or name is required");
    return dp_xlate__fail_at(x, "name", "transport socket '%s' is not supported yet (only %s or %s)", name,
                             DP_TLS_SOCKET_NAME, DP_RAW_SOCKET_NAME);
}

/* A DownstreamTlsContext at the current path (typed_config). */
static int xt_downstream(dp_xlate_t *x, const pb_down_t *d, const dp_secret_source_t *src,
                         dp_filter_chain_t *fc)
{
    tls_parts_t p;
    dp_tls_opts_t o;
    const pb_secret_t *sec;
    char err[512] = "";
    size_t saved;
    int rc = 0;

    memset(&p, 0, sizeof(p));
    memset(&o, 0, sizeof(o));
    o.server = true;
    if (d->common_tls_context != NULL) {
        saved = dp_xlate__push(x, "common_tls_context");
        rc = xt_common(x, d->common_tls_context, src, false, &p);
        dp_xlate__pop(x, saved);
        if (rc != 0)
            goto out;
    }
    o.require_client_certificate = dp_xlate__bool(d->require_client_certificate, false);
    switch (d->session_ticket_keys_type_case) {
    case TLS_ENUM(DOWNSTREAM_TLS_CONTEXT__SESSION_TICKET_KEYS_TYPE_SESSION_TICKET_KEYS):
        saved = dp_xlate__push(x, "session_ticket_keys");
        rc = xt_keys(x, d->session_ticket_keys, &p);
        dp_xlate__pop(x, saved);
        break;
    case TLS_ENUM(DOWNSTREAM_TLS_CONTEXT__SESSION_TICKET_KEYS_TYPE_SESSION_TICKET_KEYS_SDS_SECRET_CONFIG):
        saved = dp_xlate__push(x, "session_ticket_keys_sds_secret_config");
        rc = xt_sds(x, d->session_ticket_keys_sds_secret_config, src, &p, &sec);
        if (rc == 0 && sec != NULL)
            rc = xt_secret_part(x, sec, WANT_KEYS, false, &p, 0);
        dp_xlate__pop(x, saved);
        break;
    case TLS_ENUM(DOWNSTREAM_TLS_CONTEXT__SESSION_TICKET_KEYS_TYPE_DISABLE_STATELESS_SESSION_RESUMPTION):
        o.disable_stateless_session_resumption = d->disable_stateless_session_resumption != 0;
        break;
    default:
        break;
    }
    if (rc != 0)
        goto out;
    o.disable_stateful_session_resumption = d->disable_stateful_session_resumption != 0;
    if (d->session_timeout != NULL) {
        uint64_t ms;
        if ((rc = dp_xlate__duration_ms(x, "session_timeout", d->session_timeout, 0, &ms)) != 0)
            goto out;
        if (ms / 1000 > UINT32_MAX) {
            rc = dp_xlate__fail_at(x, "session_timeout", "must be less than 4294967296s");
            goto out;
        }
        /* OpenSSL counts whole seconds and 0 would expire every session
         * at once; disable_stateful_session_resumption says that */
        if (ms / 1000 == 0) {
            rc = dp_xlate__fail_at(x, "session_timeout", "must be at least 1s");
            goto out;
        }
        o.session_timeout_s = (uint32_t)(ms / 1000);
    }
    if (o.require_client_certificate && p.ca == NULL && !p.missing) {
        rc = dp_xlate__fail_at(x, "require_client_certificate",
                               "requires common_tls_context.validation_context with trusted_ca");
        goto out;
    }
    /* the chain refers to these secrets whether or not they are held */
    fc->sds_names = p.sds;
    fc->n_sds_names = p.n_sds;
    p.sds = NULL;
    p.n_sds = 0;
    if (p.missing)
        goto out; /* not ready: no context until the secrets arrive */
    opts_from_parts(&o, &p);
    fc->tls = dp_tls_ctx_new(&o, err, sizeof(err));
    if (fc->tls == NULL)
        rc = ctx_fail(x, &p, err);
out:
    parts_free(&p);
    return rc;
}

int dp_xlate__downstream_tls(dp_xlate_t *x, const Envoy__Config__Core__V3__TransportSocket *ts,
                             const dp_secret_source_t *src, dp_filter_chain_t *fc, bool *is_tls)
{
    const Google__Protobuf__Any *any;
    ProtobufCMessage *msg = NULL;
    int rc;

    *is_tls = false;
    rc = socket_kind(x, ts, DOWNSTREAM_TYPE, UPSTREAM_TYPE, &any);
    if (rc <= 0)
        return rc;
    if (any == NULL)
        return dp_xlate__fail_at(x, "typed_config", "required (an %s with the chain's certificates)",
                                 DOWNSTREAM_TYPE);
    *is_tls = true;
    size_t saved = dp_xlate__push(x, "typed_config");
    rc = dp_xlate__unpack_any(
        x, any, &envoy__extensions__transport_sockets__tls__v3__downstream_tls_context__descriptor, &msg);
    if (rc == 0)
        rc = xt_downstream(x, (const pb_down_t *)msg, src, fc);
    dp_xlate__pop(x, saved);
    if (msg)
        protobuf_c_message_free_unpacked(msg, NULL);
    return rc;
}

/* An UpstreamTlsContext (NULL: the empty one) at the current path. */
static int xt_upstream(dp_xlate_t *x, const pb_up_t *u, const dp_secret_source_t *src, dp_cluster_cfg_t *c)
{
    static const char *const h1[] = {"http/1.1"}, *const h2[] = {"h2"}, *const both[] = {"h2", "http/1.1"};
    tls_parts_t p;
    dp_tls_opts_t o;
    char err[512] = "";
    int rc = 0;

    memset(&p, 0, sizeof(p));
    memset(&o, 0, sizeof(o));
    if (u != NULL && u->common_tls_context != NULL) {
        size_t saved = dp_xlate__push(x, "common_tls_context");
        rc = xt_common(x, u->common_tls_context, src, true, &p);
        dp_xlate__pop(x, saved);
        if (rc != 0)
            goto out;
    }
    if (u != NULL && u->sni != NULL && u->sni[0] != '\0') {
        if (strlen(u->sni) > 255) {
            rc = dp_xlate__fail_at(x, "sni", "must be at most 255 bytes");
            goto out;
        }
        c->tls_sni = dp_xstrdup(u->sni);
    }
    c->sds_names = p.sds;
    c->n_sds_names = p.n_sds;
    p.sds = NULL;
    p.n_sds = 0;
    if (p.missing)
        goto out;
    opts_from_parts(&o, &p);
    if (p.n_alpn == 0) {
        /* what the upstream protocol speaks, as Envoy's connection pools
         * ask for it */
        const char *const *v = c->proto == DP_UPSTREAM_HTTP2        ? h2
                               : c->proto == DP_UPSTREAM_DOWNSTREAM ? both
                                                                    : h1;
        o.alpn = (const char *const *)v;
        o.n_alpn = c->proto == DP_UPSTREAM_DOWNSTREAM ? 2 : 1;
    }
    c->tls = dp_tls_ctx_new(&o, err, sizeof(err));
    if (c->tls == NULL)
        rc = ctx_fail(x, &p, err);
out:
    parts_free(&p);
    return rc;
}

/* envoy.transport_sockets.upstream_proxy_protocol: a PROXY protocol
 * header first (pool.c), then the wrapped transport socket (required). */
static int xt_upstream_proxy_protocol(dp_xlate_t *x, const Google__Protobuf__Any *any, const dp_secret_source_t *src,
                                      dp_cluster_cfg_t *c)
{
    const Envoy__Extensions__TransportSockets__ProxyProtocol__V3__ProxyProtocolUpstreamTransport *pp = NULL;
    ProtobufCMessage *msg = NULL;
    size_t saved = dp_xlate__push(x, "typed_config");
    int rc = dp_xlate__unpack_any(
        x, any, &envoy__extensions__transport_sockets__proxy_protocol__v3__proxy_protocol_upstream_transport__descriptor,
        &msg);
    pp = (const Envoy__Extensions__TransportSockets__ProxyProtocol__V3__ProxyProtocolUpstreamTransport *)msg;
    if (rc == 0 && c->proxy_protocol)
        rc = dp_xlate__fail(x, "a PROXY protocol transport socket inside another");
    if (rc == 0) {
        c->proxy_protocol = pp->config && pp->config->version == ENVOY__CONFIG__CORE__V3__PROXY_PROTOCOL_CONFIG__VERSION__V2
                                ? 2
                                : 1;
        if (pp->config && pp->config->version != ENVOY__CONFIG__CORE__V3__PROXY_PROTOCOL_CONFIG__VERSION__V1 &&
            pp->config->version != ENVOY__CONFIG__CORE__V3__PROXY_PROTOCOL_CONFIG__VERSION__V2)
            rc = dp_xlate__fail_at(x, "config.version", "unknown value %d", (int)pp->config->version);
        else if (pp->transport_socket == NULL)
            rc = dp_xlate__fail_at(x, "transport_socket", "required");
    }
    if (rc == 0) {
        size_t s2 = dp_xlate__push(x, "transport_socket");
        rc = dp_xlate__upstream_tls(x, pp->transport_socket, src, c);
        dp_xlate__pop(x, s2);
    }
    dp_xlate__pop(x, saved);
    if (msg)
        protobuf_c_message_free_unpacked(msg, NULL);
    return rc;
}

int dp_xlate__upstream_tls(dp_xlate_t *x, const Envoy__Config__Core__V3__TransportSocket *ts,
                           const dp_secret_source_t *src, dp_cluster_cfg_t *c)
{
    const Google__Protobuf__Any *any;
    ProtobufCMessage *msg = NULL;
    int rc;

    if (ts && ts->config_type_case == ENVOY__CONFIG__CORE__V3__TRANSPORT_SOCKET__CONFIG_TYPE_TYPED_CONFIG &&
        ts->typed_config != NULL &&
        strcmp(dp_xlate__type_name(ts->typed_config->type_url), PROXY_PROTOCOL_TYPE) == 0)
        return xt_upstream_proxy_protocol(x, ts->typed_config, src, c);
    rc = socket_kind(x, ts, UPSTREAM_TYPE, DOWNSTREAM_TYPE, &any);
    if (rc <= 0)
        return rc;
    if (any == NULL) /* envoy.transport_sockets.tls by name: TLS, nothing verified */
        return xt_upstream(x, NULL, src, c);
    size_t saved = dp_xlate__push(x, "typed_config");
    rc = dp_xlate__unpack_any(
        x, any, &envoy__extensions__transport_sockets__tls__v3__upstream_tls_context__descriptor, &msg);
    if (rc == 0)
        rc = xt_upstream(x, (const pb_up_t *)msg, src, c);
    dp_xlate__pop(x, saved);
    if (msg)
        protobuf_c_message_free_unpacked(msg, NULL);
    return rc;
}

/* ---- secrets ------------------------------------------------------------------------------- */

int dp_translate_secret(const ProtobufCMessage *m, char *errbuf, size_t errlen)
{
    const pb_secret_t *s = (const pb_secret_t *)m;
    tls_parts_t p;
    dp_tls_opts_t o;
    dp_tls_ctx_t *ctx = NULL;
    char err[512] = "";
    dp_xlate_t x;
    size_t saved;
    int rc;

    dp_xlate__init(&x, errbuf, errlen);
    if (m == NULL || m->descriptor != &envoy__extensions__transport_sockets__tls__v3__secret__descriptor)
        return dp_xlate__fail(&x, "not an envoy.extensions.transport_sockets.tls.v3.Secret");
    if (s->name == NULL || s->name[0] == '\0')
        return dp_xlate__fail_at(&x, "name", "required");
    memset(&p, 0, sizeof(p));
    memset(&o, 0, sizeof(o));
    switch (s->type_case) {
    case TLS_ENUM(SECRET__TYPE_TLS_CERTIFICATE):
        saved = dp_xlate__push(&x, "tls_certificate");
        rc = xt_cert(&x, s->tls_certificate, &p, "tls_certificate", 0);
        if (rc == 0) {
            /* a context of its own proves the PEM and the key pair */
            o.server = true;
            opts_from_parts(&o, &p);
            ctx = dp_tls_ctx_new(&o, err, sizeof(err));
            if (ctx == NULL) {
                const char *r = err;
                if (strncmp(r, "certificate 0: ", 15) == 0)
                    r += 15;
                rc = dp_xlate__fail(&x, "%s", r[0] ? r : "cannot build a TLS context");
            }
        }
        dp_xlate__pop(&x, saved);
        break;
    case TLS_ENUM(SECRET__TYPE_VALIDATION_CONTEXT):
        saved = dp_xlate__push(&x, "validation_context");
        /* SAN matchers are checked for their form; a listener using
         * them on client certificates refuses them itself */
        rc = xt_validation(&x, s->validation_context, true, &p);
        dp_xlate__pop(&x, saved);
        if (rc == 0 && p.ca != NULL) {
            opts_from_parts(&o, &p);
            ctx = dp_tls_ctx_new(&o, err, sizeof(err));
            if (ctx == NULL)
                rc = dp_xlate__fail_sub(&x, DP_EINVAL,
                                        err[0] ? err : "validation_context: cannot build a TLS context");
        }
        break;
    case TLS_ENUM(SECRET__TYPE_SESSION_TICKET_KEYS):
        saved = dp_xlate__push(&x, "session_ticket_keys");
        rc = xt_keys(&x, s->session_ticket_keys, &p);
        dp_xlate__pop(&x, saved);
        break;
    default:
        rc = dp_xlate__fail(&x,
                            "one of tls_certificate, validation_context or session_ticket_keys is required");
        break;
    }
    dp_tls_ctx_unref(ctx);
    parts_free(&p);
    return rc;
}

/* ---- redaction ------------------------------------------------------------------------------------ */

#define REDACTED "[redacted]"
#define REDACT_DEPTH 64

/* Fields Envoy marks (udpa.annotations.sensitive) among those we model. */
static const struct {
    const char *msg;
    uint32_t field;
} sensitive[] = {
    {"envoy.extensions.filters.http.basic_auth.v3.BasicAuth", 1},
    {"envoy.extensions.filters.http.basic_auth.v3.BasicAuthPerRoute", 1},
    {"envoy.extensions.transport_sockets.tls.v3.TlsCertificate", 2},
    {"envoy.extensions.transport_sockets.tls.v3.TlsCertificate", 3},
    {"envoy.extensions.transport_sockets.tls.v3.TlsSessionTicketKeys", 1},
};

static bool is_sensitive(const ProtobufCMessageDescriptor *d, const ProtobufCFieldDescriptor *f)
{
    for (size_t i = 0; i < DP_ARRAY_SIZE(sensitive); i++)
        if (sensitive[i].field == f->id && strcmp(sensitive[i].msg, d->name) == 0)
            return true;
    return false;
}

/* The values of field f present in m: an array of *n of them. */
static void *field_values(ProtobufCMessage *m, const ProtobufCFieldDescriptor *f, size_t *n)
{
    char *member = (char *)m + f->offset;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        *n = *(size_t *)((char *)m + f->quantifier_offset);
        return *(void **)member;
    }
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        *n = *(uint32_t *)((char *)m + f->quantifier_offset) == f->id;
        return member;
    }
    *n = 1;
    return member;
}

static bool redact_string(char **ps, const ProtobufCFieldDescriptor *f)
{
    char *s = *ps;
    if (s == NULL || s[0] == '\0' || strcmp(s, REDACTED) == 0)
        return false;
    if (s != f->default_value)
        free(s);
    *ps = dp_xstrdup(REDACTED);
    return true;
}

static bool redact_bytes(ProtobufCBinaryData *b, const ProtobufCFieldDescriptor *f)
{
    const ProtobufCBinaryData *dflt = f->default_value;
    if (b->len == 0 || (b->len == strlen(REDACTED) && memcmp(b->data, REDACTED, b->len) == 0))
        return false;
    if (b->data != NULL && (dflt == NULL || dflt->data != b->data))
        free(b->data);
    b->len = strlen(REDACTED);
    b->data = dp_xmalloc(b->len);
    memcpy(b->data, REDACTED, b->len);
    return true;
}

static bool walk(ProtobufCMessage *m, bool all, int depth);

static bool redact_any(Google__Protobuf__Any *a, int depth)
{
    const ProtobufCMessageDescriptor *d = dp_typereg_lookup(a->type_url);
    bool changed = false;
    if (d == NULL || a->value.len == 0)
        return false;
    ProtobufCMessage *in = protobuf_c_message_unpack(d, NULL, a->value.len, a->value.data);
    if (in == NULL)
        return false;
    if (walk(in, false, depth + 1)) {
        size_t len = protobuf_c_message_get_packed_size(in);
        uint8_t *buf = dp_xmalloc(len ? len : 1);
        protobuf_c_message_pack(in, buf);
        free(a->value.data);
        a->value.data = buf;
        a->value.len = len;
        changed = true;
    }
    protobuf_c_message_free_unpacked(in, NULL);
    return changed;
}

/* all: inside a sensitive field, every string and bytes leaf goes. */
static bool walk(ProtobufCMessage *m, bool all, int depth)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    bool changed = false;

    if (depth > REDACT_DEPTH)
        return false;
    if (!all && d == &google__protobuf__any__descriptor)
        return redact_any((Google__Protobuf__Any *)m, depth);
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        bool sub_all = all || is_sensitive(d, f);
        size_t n;
        if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
            void *v = field_values(m, f, &n);
            ProtobufCMessage **pm = v;
            for (size_t k = 0; pm && k < n; k++)
                if (pm[k] != NULL && walk(pm[k], sub_all, depth + 1))
                    changed = true;
        } else if (sub_all && f->type == PROTOBUF_C_TYPE_STRING) {
            char **ps = field_values(m, f, &n);
            for (size_t k = 0; ps && k < n; k++)
                changed |= redact_string(&ps[k], f);
        } else if (sub_all && f->type == PROTOBUF_C_TYPE_BYTES) {
            ProtobufCBinaryData *pb = field_values(m, f, &n);
            for (size_t k = 0; pb && k < n; k++)
                changed |= redact_bytes(&pb[k], f);
        }
    }
    return changed;
}

bool dp_xds_redact(ProtobufCMessage *m)
{
    return m != NULL && walk(m, false, 0);
}

void dp_xds_redact_raw(const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t len, uint8_t **out,
                       size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, len, data);
    if (m == NULL)
        return;
    dp_xds_redact(m);
    *outlen = protobuf_c_message_get_packed_size(m);
    *out = dp_xmalloc(*outlen ? *outlen : 1);
    protobuf_c_message_pack(m, *out);
    protobuf_c_message_free_unpacked(m, NULL);
}
