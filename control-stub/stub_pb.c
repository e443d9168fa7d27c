/* Status-service messages as proto3 JSON: see stub_pb.h. */
#include "control-stub/stub_pb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"
#include "xds/pbjson.h"
#include "xds/typereg.h"

json_t *dp_stub_pb_decode(const char *full_name, const uint8_t *buf, size_t len, char *errbuf, size_t errlen)
{
    const ProtobufCMessageDescriptor *d = dp_typereg_lookup_name(full_name);
    if (d == NULL) {
        snprintf(errbuf, errlen, "%s is not in the type registry", full_name);
        return NULL;
    }
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, len, buf);
    if (m == NULL) {
        snprintf(errbuf, errlen, "cannot decode %s (%zu bytes)", full_name, len);
        return NULL;
    }
    char *text = dp_pbjson_print(m, dp_typereg_lookup, DP_PBJSON_PROTO_NAMES);
    protobuf_c_message_free_unpacked(m, NULL);
    if (text == NULL) {
        snprintf(errbuf, errlen, "cannot print %s", full_name);
        return NULL;
    }
    json_error_t je;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &je);
    free(text);
    if (j == NULL)
        snprintf(errbuf, errlen, "%s: %s", full_name, je.text);
    return j;
}

int dp_stub_pb_encode(const char *full_name, const json_t *j, uint8_t **out, size_t *outlen, char *errbuf,
                      size_t errlen)
{
    const ProtobufCMessageDescriptor *d = dp_typereg_lookup_name(full_name);
    if (d == NULL) {
        snprintf(errbuf, errlen, "%s is not in the type registry", full_name);
        return DP_EINVAL;
    }
    char *text = json_dumps(j, JSON_COMPACT);
    if (text == NULL) {
        snprintf(errbuf, errlen, "%s: cannot print the JSON", full_name);
        return DP_EINVAL;
    }
    dp_pbjson_opts_t o = {dp_typereg_lookup, 0};
    ProtobufCMessage *m = NULL;
    int rc = dp_pbjson_decode_text(text, strlen(text), d, &o, &m, full_name, errbuf, errlen);
    free(text);
    if (rc != 0)
        return DP_EINVAL;
    *outlen = protobuf_c_message_get_packed_size(m);
    *out = malloc(*outlen ? *outlen : 1);
    if (*out == NULL) {
        protobuf_c_message_free_unpacked(m, NULL);
        snprintf(errbuf, errlen, "out of memory");
        return DP_ENOMEM;
    }
    protobuf_c_message_pack(m, *out);
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}

uint64_t dp_stub_json_u64(const json_t *v)
{
    if (json_is_integer(v))
        return json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        unsigned long long x = strtoull(s, &end, 10);
        return s[0] >= '0' && s[0] <= '9' && *end == '\0' ? (uint64_t)x : 0;
    }
    return 0;
}

int64_t dp_stub_json_ms(const json_t *v)
{
    if (!json_is_string(v))
        return -1;
    const char *s = json_string_value(v);
    char *end;
    long long sec = strtoll(s, &end, 10);
    if (end == s || sec < 0)
        return -1;
    int64_t ms = sec * 1000;
    if (*end == '.') {
        int64_t scale = 100;
        for (end++; *end >= '0' && *end <= '9'; end++, scale /= 10)
            ms += (*end - '0') * scale;
    }
    return strcmp(end, "s") == 0 ? ms : -1;
}

const char *dp_stub_ms_duration(unsigned ms, char *buf, size_t len)
{
    snprintf(buf, len, "%u.%03us", ms / 1000, ms % 1000);
    return buf;
}

json_t *dp_stub_status_node(json_t *nodes, const char *name)
{
    json_t *o = json_object_get(nodes, name);
    if (o == NULL) {
        o = json_pack("{s:b}", "connected", 0);
        json_object_set_new(nodes, name, o);
    }
    return o;
}
