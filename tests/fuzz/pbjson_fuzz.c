/* Fuzzes the configuration path: text -> dp_cfgtree_parse() ->
 * dp_pbjson_decode() into dp.test.Root (tests/unit/xds/testdata) ->
 * dp_pbjson_print(). For small inputs it also checks the round trip:
 * what we print must decode again and print identically. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/xds/pbjson_resolve.h"
#include "xds/cfgtree.h"
#include "xds/pbjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
