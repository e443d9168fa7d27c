/* xds/pb_arena.h: protobuf-c decodes into the arena (never the heap),
 * big fields get chunks of their own, release unmaps and resets. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

#include "envoy/service/discovery/v3/discovery.pb-c.h"
#include "google/protobuf/any.pb-c.h"
#include "xds/pb_arena.h"

typedef Envoy__Service__Discovery__V3__DeltaDiscoveryResponse pb_resp_t;

/* A DeltaDiscoveryResponse of n Resources, each an Any of `vlen` bytes. */
static uint8_t *encode_response(size_t n, size_t vlen, size_t *len)
{
    pb_resp_t r = ENVOY__SERVICE__DISCOVERY__V3__DELTA_DISCOVERY_RESPONSE__INIT;
    Envoy__Service__Discovery__V3__Resource *res = calloc(n, sizeof(*res));
    Envoy__Service__Discovery__V3__Resource **rp = calloc(n, sizeof(*rp));
    Google__Protobuf__Any *any = calloc(n, sizeof(*any));
    uint8_t *val = malloc(vlen);
    char (*names)[32] = calloc(n, sizeof(*names));
    for (size_t i = 0; i < vlen; i++)
        val[i] = (uint8_t)(i * 7);
    for (size_t i = 0; i < n; i++) {
        envoy__service__discovery__v3__resource__init(&res[i]);
        google__protobuf__any__init(&any[i]);
        snprintf(names[i], sizeof(names[i]), "res-%zu", i);
        res[i].name = names[i];
        res[i].version = "v1";
        any[i].type_url = "type.googleapis.com/x";
        any[i].value.data = val;
        any[i].value.len = vlen;
        res[i].resource = &any[i];
        rp[i] = &res[i];
    }
    r.type_url = "type.googleapis.com/x";
    r.nonce = "n1";
    r.n_resources = n;
    r.resources = rp;
    *len = envoy__service__discovery__v3__delta_discovery_response__get_packed_size(&r);
    uint8_t *buf = malloc(*len);
    envoy__service__discovery__v3__delta_discovery_response__pack(&r, buf);
    free(res);
    free(rp);
    free(any);
    free(val);
    free(names);
    return buf;
}

static void test_decode_into_arena(void)
{
    dp_pb_arena_t ar;
    size_t len;
    uint8_t *buf = encode_response(5000, 40, &len);

    dp_pb_arena_init(&ar);
    pb_resp_t *r = envoy__service__discovery__v3__delta_discovery_response__unpack(&ar.alloc, len, buf);
    CHECK(r != NULL);
    CHECK_INT(r->n_resources, 5000);
    CHECK_STR(r->resources[4321]->name, "res-4321");
    CHECK_STR(r->resources[4999]->version, "v1");
    CHECK_INT(r->resources[17]->resource->value.len, 40);
    CHECK_INT(r->resources[17]->resource->value.data[39], (uint8_t)(39 * 7));
    /* every object came from the arena's chunks: at least the decoded
     * size, in whole 1 MiB chunks */
    CHECK(ar.mapped >= len);
    CHECK_INT(ar.mapped % (1u << 20), 0);
    /* alignment malloc would give */
    CHECK_INT((uintptr_t)r->resources[3] % 16, 0);
    /* free_unpacked through the arena is a no-op, release unmaps */
    envoy__service__discovery__v3__delta_discovery_response__free_unpacked(r, &ar.alloc);
    dp_pb_arena_release(&ar);
    CHECK_INT(ar.mapped, 0);
    CHECK(ar.head == NULL);
    free(buf);
}

static void test_big_field_own_chunk(void)
{
    dp_pb_arena_t ar;
    size_t len;
    uint8_t *buf = encode_response(3, 3u << 20, &len); /* three 3 MiB values */

    dp_pb_arena_init(&ar);
    pb_resp_t *r = envoy__service__discovery__v3__delta_discovery_response__unpack(&ar.alloc, len, buf);
    CHECK(r != NULL);
    CHECK_INT(r->resources[2]->resource->value.len, 3u << 20);
    CHECK_INT(r->resources[2]->resource->value.data[(3u << 20) - 1], (uint8_t)(((3u << 20) - 1) * 7));
    /* the small objects share one 1 MiB chunk, each big value has its own */
    CHECK(ar.mapped >= 9u * (1u << 20) + (1u << 20));
    CHECK(ar.mapped < 9u * (1u << 20) + 2u * (1u << 20) + 3u * 4096);
    dp_pb_arena_release(&ar);
    /* usable again after release */
    r = envoy__service__discovery__v3__delta_discovery_response__unpack(&ar.alloc, len, buf);
    CHECK(r != NULL);
    CHECK_STR(r->resources[0]->name, "res-0");
    dp_pb_arena_release(&ar);
    free(buf);
}

static void test_truncated_input_fails_cleanly(void)
{
    dp_pb_arena_t ar;
    size_t len;
    uint8_t *buf = encode_response(10, 100, &len);

    dp_pb_arena_init(&ar);
    CHECK(envoy__service__discovery__v3__delta_discovery_response__unpack(&ar.alloc, len - 7, buf) == NULL);
    dp_pb_arena_release(&ar);
    CHECK_INT(ar.mapped, 0);
    free(buf);
}

int main(void)
{
    test_decode_into_arena();
    test_big_field_own_chunk();
    test_truncated_input_fails_cleanly();
    TEST_DONE();
}
