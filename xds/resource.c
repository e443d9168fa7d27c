/* Decoding of encoded xDS resources (translate.h): one descriptor per
 * resource type, and the unknown-field check that makes "a field we do not
 * implement" an error rather than silently ignored. */
#include <stdio.h>
#include <string.h>

#include "dataplane/core/common.h"
#include "dataplane/containers/v1/catalogue.pb-c.h"
#include "envoy/config/cluster/v3/cluster.pb-c.h"
#include "envoy/config/endpoint/v3/endpoint.pb-c.h"
#include "envoy/config/listener/v3/listener.pb-c.h"
#include "envoy/config/route/v3/route.pb-c.h"
#include "envoy/extensions/transport_sockets/tls/v3/secret.pb-c.h"
#include "xds/translate.h"
#include "xds/unknown.h"

const ProtobufCMessageDescriptor *dp_resource_descriptor(dp_res_type_t type)
{
    switch (type) {
    case DP_RES_LISTENER:
        return &envoy__config__listener__v3__listener__descriptor;
    case DP_RES_ROUTE:
        return &envoy__config__route__v3__route_configuration__descriptor;
    case DP_RES_CLUSTER:
        return &envoy__config__cluster__v3__cluster__descriptor;
    case DP_RES_ENDPOINT:
        return &envoy__config__endpoint__v3__cluster_load_assignment__descriptor;
    case DP_RES_SECRET:
        return &envoy__extensions__transport_sockets__tls__v3__secret__descriptor;
    case DP_RES_CONTAINER:
        return &dataplane__containers__v1__container__descriptor;
    case DP_RES_PROJECT:
        return &dataplane__containers__v1__project__descriptor;
    default:
        return NULL;
    }
}

int dp_resource_decode(dp_res_type_t type, const uint8_t *data, size_t len, ProtobufCMessage **out,
                       char *errbuf, size_t errlen)
{
    return dp_resource_decode_with(type, NULL, data, len, out, errbuf, errlen);
}

int dp_resource_decode_with(dp_res_type_t type, ProtobufCAllocator *alloc, const uint8_t *data, size_t len,
                            ProtobufCMessage **out, char *errbuf, size_t errlen)
{
    const ProtobufCMessageDescriptor *d = dp_resource_descriptor(type);
    ProtobufCMessage *m;
    int rc;

    *out = NULL;
    if (d == NULL) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "unknown resource type %d", (int)type);
        return DP_EINVAL;
    }
    m = protobuf_c_message_unpack(d, alloc, len, data);
    if (m == NULL) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "cannot decode %s (%zu bytes)", d->name, len);
        return DP_EINVAL;
    }
    rc = dp_pb_check_unknown(m, errbuf, errlen);
    if (rc != 0) {
        protobuf_c_message_free_unpacked(m, alloc);
        return rc;
    }
    *out = m;
    return 0;
}

const char *dp_resource_name(dp_res_type_t type, const ProtobufCMessage *m)
{
    const char *n = NULL;

    if (m == NULL || m->descriptor != dp_resource_descriptor(type))
        return NULL;
    switch (type) {
    case DP_RES_LISTENER:
        n = ((const Envoy__Config__Listener__V3__Listener *)m)->name;
        break;
    case DP_RES_ROUTE:
        n = ((const Envoy__Config__Route__V3__RouteConfiguration *)m)->name;
        break;
    case DP_RES_CLUSTER:
        n = ((const Envoy__Config__Cluster__V3__Cluster *)m)->name;
        break;
    case DP_RES_ENDPOINT:
        n = ((const Envoy__Config__Endpoint__V3__ClusterLoadAssignment *)m)->cluster_name;
        break;
    case DP_RES_SECRET:
        n = ((const Envoy__Extensions__TransportSockets__Tls__V3__Secret *)m)->name;
        break;
    case DP_RES_CONTAINER:
        n = ((const Dataplane__Containers__V1__Container *)m)->id;
        break;
    case DP_RES_PROJECT:
        n = ((const Dataplane__Containers__V1__Project *)m)->id;
        break;
    default:
        break;
    }
    return n ? n : "";
}
