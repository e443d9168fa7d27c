/* The type resolver of the pbjson tests and fuzz driver: the messages of
 * tests/unit/xds/testdata/pbjson_test{,2}.proto and the well-known types
 * they use, by type URL. Header-only. */
#ifndef DP_TESTS_UNIT_XDS_PBJSON_RESOLVE_H
#define DP_TESTS_UNIT_XDS_PBJSON_RESOLVE_H

#include <string.h>

#include "google/protobuf/any.pb-c.h"
#include "google/protobuf/duration.pb-c.h"
#include "google/protobuf/empty.pb-c.h"
#include "google/protobuf/struct.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "google/protobuf/wrappers.pb-c.h"
#include "pbjson_test.pb-c.h"
#include "pbjson_test2.pb-c.h"

static inline const ProtobufCMessageDescriptor *resolve(const char *url)
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
        &google__protobuf__int32_value__descriptor,
        &google__protobuf__uint64_value__descriptor,
        &google__protobuf__string_value__descriptor,
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

#endif
