/* Fuzzes the configuration path: text -> dp_cfgtree_parse() ->
 * dp_pbjson_decode() into dp.test.Root (tests/unit/xds/testdata) ->
 * dp_pbjson_print(). For small inputs it also checks the round trip:
 * what we print must decode again and print identically. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "google/protobuf/any.pb-c.h"
#include "google/protobuf/duration.pb-c.h"
#include "google/protobuf/empty.pb-c.h"
#include "google/protobuf/struct.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "google/protobuf/wrappers.pb-c.h"
#include "pbjson_test.pb-c.h"
#include "pbjson_test2.pb-c.h"
#include "xds/cfgtree.h"
#include "xds/pbjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const ProtobufCMessageDescriptor *resolve(const char *url)
{
    static const ProtobufCMessageDescriptor *const known[] = {
        &dp__test__root__descriptor,
        &dp__test__inner__descriptor,
        &dp__test2__legacy__descriptor,
        &google__protobuf__any__descriptor,
        &google__protobuf__duration__descriptor,
        &google__protobuf__timestamp__descriptor,
        &google__protobuf__struct__descriptor,
        &google__protobuf__value__descriptor,
        &google__protobuf__list_value__descriptor,
        &google__protobuf__uint64_value__descriptor,
        &google__protobuf__bytes_value__descriptor,
        &google__protobuf__empty__descriptor,
    };
    const char *slash = strrchr(url, '/');
    if (slash == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strcmp(known[i]->name, slash + 1) == 0)
            return known[i];
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const dp_pbjson_opts_t opts = {resolve, 0};
    const ProtobufCMessageDescriptor *desc = &dp__test__root__descriptor;
    char err[256];
    dp_cfgnode_t *root;
    if (dp_cfgtree_parse((const char *)data, size, "fuzz", &root, err, sizeof(err)) != 0)
        return 0;
    ProtobufCMessage *m;
    int rc = dp_pbjson_decode(root, desc, &opts, &m, "fuzz", err, sizeof(err));
    dp_cfgtree_free(root);
    if (rc != 0)
        return 0;

    char *pretty = dp_pbjson_print(m, resolve, DP_PBJSON_PRETTY | DP_PBJSON_PROTO_NAMES);
    char *json = dp_pbjson_print(m, resolve, 0);
    /* Keys of printed JSON stay under libyaml's 1024-character limit for
     * implicit keys only if the input was small (see cfgtree.h). */
    if (json && size <= 300) {
        ProtobufCMessage *m2;
        if (dp_pbjson_decode_text(json, strlen(json), desc, &opts, &m2, "printed", err, sizeof(err)) != 0)
            abort();
        char *again = dp_pbjson_print(m2, resolve, 0);
        if (again == NULL || strcmp(again, json) != 0)
            abort();
        free(again);
        protobuf_c_message_free_unpacked(m2, NULL);
    }
    free(json);
    free(pretty);
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}
