/* TLS transport sockets (envoy.transport_sockets.tls) and SDS secrets for
 * the translators: a filter chain's DownstreamTlsContext and a cluster's
 * UpstreamTlsContext into dataplane/transport/tls.h contexts, with the
 * certificates, CAs and ticket keys read from DataSources or from secrets
 * (dp_secret_source_t, translate.h); plus the redaction of key material
 * for dumps. What is supported and refused: docs/tls.md.
 *
 * Errors follow translate.h: "PATH: reason" with PATH from the resource
 * root, and OpenSSL's reason for PEM and key problems, e.g.
 *   "filter_chains[1].transport_socket.typed_config.common_tls_context
 *    .tls_certificates[0]: private key does not match the certificate: ..." */
#ifndef DP_XDS_TRANSLATE_TLS_H
#define DP_XDS_TRANSLATE_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "dataplane/http/hcm-t.h"
#include "dataplane/upstream/cluster-t.h"
#include "envoy/config/core/v3/base.pb-c.h"
#include "xds/translate.h"
#include "xds/translate_util.h"
#include "xds/typereg_parts.h"

#define DP_TLS_SOCKET_NAME "envoy.transport_sockets.tls"
#define DP_RAW_SOCKET_NAME "envoy.transport_sockets.raw_buffer"

/* A listener filter chain's transport_socket (the current path is that
 * field; ts may be NULL: raw_buffer). raw_buffer leaves fc->tls NULL and
 * *is_tls false. A DownstreamTlsContext sets *is_tls, fc->sds_names (the
 * SDS secrets it uses, unique) and fc->tls, unless one of those secrets is
 * not held: then fc->tls stays NULL (translate.h: not ready). */
int dp_xlate__downstream_tls(dp_xlate_t *x, const Envoy__Config__Core__V3__TransportSocket *ts,
                             const dp_secret_source_t *src, dp_filter_chain_t *fc, bool *is_tls);

/* A cluster's transport_socket (the current path is that field; ts not
 * NULL): an UpstreamTlsContext into c->tls, c->tls_sni and c->sds_names
 * (as above: no tls while a secret is missing); raw_buffer: nothing.
 * c->proto must be set already: without common_tls_context.alpn_protocols
 * the context offers "http/1.1", "h2" or both (use_downstream_protocol)
 * as the protocol asks. */
int dp_xlate__upstream_tls(dp_xlate_t *x, const Envoy__Config__Core__V3__TransportSocket *ts,
                           const dp_secret_source_t *src, dp_cluster_cfg_t *c);

/* Redacts key material in place, as Envoy's config dump does: every string
 * and bytes field under a sensitive field (TlsCertificate.private_key and
 * .password, TlsSessionTicketKeys.keys) becomes "[redacted]", in `m` and
 * in the google.protobuf.Any payloads it holds (a transport socket's
 * DownstreamTlsContext in a Listener, a Bootstrap's static resources),
 * which are unpacked with dp_xds_type_lookup, redacted and packed again.
 * Returns true when something was redacted. */
bool dp_xds_redact(ProtobufCMessage *m);
/* The same on an encoded message of type d: *out is a malloc'd encoding
 * (redacted or not), or NULL with 0 when the bytes do not decode. */
void dp_xds_redact_raw(const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t len, uint8_t **out,
                       size_t *outlen);

#endif
