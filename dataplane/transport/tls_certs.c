/* What a TLS context's certificates say, for the admin's /certs: serial,
 * subject alternative names, validity (Envoy's CertificateDetails). */
#include <arpa/inet.h>
#include <ctype.h>
#include <openssl/bn.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dataplane/transport/tls.h"
#include "dataplane/transport/tls_int.h"

static int64_t asn1_time_s(const ASN1_TIME *t)
{
    struct tm tm;
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
        return 0;
    return (int64_t)timegm(&tm);
}

static void serial_hex(X509 *x, char *out, size_t outlen)
{
    out[0] = '\0';
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    if (hex) {
        snprintf(out, outlen, "%s", hex);
        for (char *p = out; *p; p++)
            *p = (char)tolower((unsigned char)*p);
    }
    OPENSSL_free(hex);
    BN_free(bn);
}

/* DNS, URI and IP SANs: the kinds Envoy's SubjectAlternateName has. */
static void sans_of(X509 *x, dp_tls_cert_info_t *ci)
{
    GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; names && i < sk_GENERAL_NAME_num(names) && ci->n_sans < DP_TLS_MAX_SANS; i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
        char *v = ci->sans[ci->n_sans].value;
        size_t vl = sizeof(ci->sans[0].value);
        if (g->type == GEN_DNS || g->type == GEN_URI) {
            const ASN1_IA5STRING *s = g->type == GEN_DNS ? g->d.dNSName : g->d.uniformResourceIdentifier;
            snprintf(v, vl, "%.*s", ASN1_STRING_length(s), (const char *)ASN1_STRING_get0_data(s));
            ci->sans[ci->n_sans++].kind = g->type == GEN_DNS ? "dns" : "uri";
        } else if (g->type == GEN_IPADD) {
            int n = ASN1_STRING_length(g->d.iPAddress);
            int af = n == 4 ? AF_INET : n == 16 ? AF_INET6 : 0;
            if (af && inet_ntop(af, ASN1_STRING_get0_data(g->d.iPAddress), v, (socklen_t)vl))
                ci->sans[ci->n_sans++].kind = "ip_address";
        }
    }
    GENERAL_NAMES_free(names);
}

static void report(X509 *x, bool ca, void (*fn)(void *arg, const dp_tls_cert_info_t *ci), void *arg)
{
    dp_tls_cert_info_t ci;
    memset(&ci, 0, sizeof(ci));
    ci.ca = ca;
    serial_hex(x, ci.serial, sizeof(ci.serial));
    ci.not_before = asn1_time_s(X509_get0_notBefore(x));
    ci.not_after = asn1_time_s(X509_get0_notAfter(x));
    sans_of(x, &ci);
    fn(arg, &ci);
}

void dp_tls_ctx_certs(const dp_tls_ctx_t *c, void (*fn)(void *arg, const dp_tls_cert_info_t *ci), void *arg)
{
    for (int i = 0; c->leaves && i < sk_X509_num(c->leaves); i++)
        report(sk_X509_value(c->leaves, i), false, fn, arg);
    for (int i = 0; c->cas && i < sk_X509_num(c->cas); i++)
        report(sk_X509_value(c->cas, i), true, fn, arg);
}
