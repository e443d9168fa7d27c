/* xds/pbjson: YAML/JSON <-> protobuf-c by the proto3 JSON mapping, against
 * tests/unit/xds/testdata/pbjson_test{,2}.proto (dp.test.Root covers every
 * field kind and well-known type). */
#include "xds/pbjson.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataplane/core/common.h"
#include "tests/unit/xds/pbjson_resolve.h"
#include "test.h"

static char err[1024];

static const dp_pbjson_opts_t opts = {resolve, 0};

static ProtobufCMessage *dec_as(const char *text, const ProtobufCMessageDescriptor *d, const char *fname)
{
    ProtobufCMessage *m = NULL;
    int rc = dp_pbjson_decode_text(text, strlen(text), d, &opts, &m, fname, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "unexpected decode error %d: %s\n", rc, err);
        CHECK(0);
    }
    return m;
}

static Dp__Test__Root *dec(const char *text)
{
    return (Dp__Test__Root *)dec_as(text, &dp__test__root__descriptor, "t.yaml");
}

static void free_msg(const void *m)
{
    protobuf_c_message_free_unpacked((ProtobufCMessage *)m, NULL);
}

/* Packed bytes, for comparing messages. */
static uint8_t *pack(const void *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *b = malloc(*len + 1);
    protobuf_c_message_pack(m, b);
    return b;
}

static int same(const void *a, const void *b)
{
    size_t la, lb;
    uint8_t *pa = pack(a, &la), *pb = pack(b, &lb);
    int eq = la == lb && memcmp(pa, pb, la) == 0;
    free(pa);
    free(pb);
    return eq;
}

/* Decoding `text` fails with DP_EINVAL and an error containing `want`. */
static void check_err_as(int line, const char *text, const ProtobufCMessageDescriptor *d,
                         const dp_pbjson_opts_t *o, const char *want)
{
    ProtobufCMessage *m = (ProtobufCMessage *)1;
    int rc = dp_pbjson_decode_text(text, strlen(text), d, o, &m, "t.yaml", err, sizeof(err));
    if (rc != DP_EINVAL || m != NULL || strstr(err, want) == NULL) {
        fprintf(stderr, "%s:%d: rc=%d error \"%s\", want \"%s\"\n", __FILE__, line, rc, err, want);
        CHECK(0);
        if (rc == 0)
            free_msg(m);
    } else {
        CHECK(1);
    }
}

#define CHECK_ERR(text, want) check_err_as(__LINE__, text, &dp__test__root__descriptor, &opts, want)

/* decode -> print -> decode gives the same packed bytes. */
static void check_roundtrip(int line, const ProtobufCMessage *m, int flags)
{
    char *json = dp_pbjson_print(m, resolve, flags);
    CHECK(json != NULL);
    if (json == NULL)
        return;
    ProtobufCMessage *m2 = NULL;
    int rc =
        dp_pbjson_decode_text(json, strlen(json), m->descriptor, &opts, &m2, "printed", err, sizeof(err));
    if (rc != 0 || !same(m, m2)) {
        fprintf(stderr, "%s:%d: round trip failed (rc=%d %s) for:\n%s\n", __FILE__, line, rc, err, json);
        CHECK(0);
    } else {
        CHECK(1);
    }
    free_msg(m2);
    free(json);
}

#define CHECK_ROUNDTRIP(m)                                                                                   \
    do {                                                                                                     \
        check_roundtrip(__LINE__, (const ProtobufCMessage *)(m), 0);                                         \
        check_roundtrip(__LINE__, (const ProtobufCMessage *)(m), DP_PBJSON_PRETTY);                          \
        check_roundtrip(__LINE__, (const ProtobufCMessage *)(m), DP_PBJSON_PRETTY | DP_PBJSON_PROTO_NAMES);  \
    } while (0)

static void check_print(int line, const void *m, int flags, const char *want)
{
    char *s = dp_pbjson_print(m, resolve, flags);
    if (s == NULL || strcmp(s, want) != 0) {
        fprintf(stderr, "%s:%d: printed\n%s\nexpected\n%s\n", __FILE__, line, s ? s : "(null)", want);
        CHECK(0);
    } else {
        CHECK(1);
    }
    free(s);
}

#define CHECK_PRINT(m, flags, want) check_print(__LINE__, m, flags, want)

static const char *scalars_yaml = "f_int32: -42\n"
                                  "fInt64: \"-9007199254740993\"\n"
                                  "f_uint32: 4294967295\n"
                                  "f_uint64: 18446744073709551615\n"
                                  "f_sint32: '-7'\n"
                                  "f_sint64: -9223372036854775808\n"
                                  "f_fixed32: 1e3\n"
                                  "f_fixed64: \"123\"\n"
                                  "f_sfixed32: -2147483648\n"
                                  "fSfixed64: 9223372036854775807\n"
                                  "f_float: 1.5\n"
                                  "f_double: -2.25e-3\n"
                                  "f_bool: true\n"
                                  "f_string: no\n"
                                  "f_bytes: aGVsbG8=\n"
                                  "color: GREEN\n"
                                  "inner: {name: in, value: 7}\n"
                                  "http2ProtocolOptionsX: h2\n";

static const char *scalars_json = "{\n"
                                  "  \"fInt32\": -42,\n"
                                  "  \"f_int64\": -9007199254740993,\n"
                                  "  \"fUint32\": \"4294967295\",\n"
                                  "  \"fUint64\": \"18446744073709551615\",\n"
                                  "  \"fSint32\": -7,\n"
                                  "  \"fSint64\": \"-9223372036854775808\",\n"
                                  "  \"fFixed32\": 1000,\n"
                                  "  \"fFixed64\": 123,\n"
                                  "  \"fSfixed32\": -2147483648,\n"
                                  "  \"fSfixed64\": \"9223372036854775807\",\n"
                                  "  \"fFloat\": 1.5,\n"
                                  "  \"fDouble\": -0.00225,\n"
                                  "  \"fBool\": true,\n"
                                  "  \"fString\": \"no\",\n"
                                  "  \"fBytes\": \"aGVsbG8\",\n"
                                  "  \"color\": 2,\n"
                                  "  \"inner\": {\"name\": \"in\", \"value\": \"7\"},\n"
                                  "  \"http2_protocol_options_x\": \"h2\"\n"
                                  "}\n";

static void test_scalars(void)
{
    Dp__Test__Root *r = dec(scalars_yaml);
    if (r == NULL)
        return;
    CHECK_INT(r->f_int32, -42);
    CHECK(r->f_int64 == -9007199254740993LL);
    CHECK(r->f_uint32 == 4294967295u);
    CHECK(r->f_uint64 == UINT64_MAX);
    CHECK_INT(r->f_sint32, -7);
    CHECK(r->f_sint64 == INT64_MIN);
    CHECK_INT(r->f_fixed32, 1000);
    CHECK_INT(r->f_fixed64, 123);
    CHECK_INT(r->f_sfixed32, INT32_MIN);
    CHECK(r->f_sfixed64 == INT64_MAX);
    CHECK(r->f_float == 1.5f);
    CHECK(r->f_double == -2.25e-3);
    CHECK_INT(r->f_bool, 1);
    CHECK_STR(r->f_string, "no");
    CHECK_MEM(r->f_bytes.data, r->f_bytes.len, "hello");
    CHECK_INT(r->color, DP__TEST__COLOR__GREEN);
    CHECK(r->inner != NULL);
    CHECK_STR(r->inner->name, "in");
    CHECK_INT(r->inner->value, 7);
    CHECK_STR(r->http2_protocol_options_x, "h2");

    Dp__Test__Root *j = (Dp__Test__Root *)dec_as(scalars_json, &dp__test__root__descriptor, "t.json");
    CHECK(j != NULL && same(r, j));
    CHECK_ROUNDTRIP(r);
    free_msg(j);
    free_msg(r);
}

static void test_numbers(void)
{
    Dp__Test__Root *r = dec("f_float: NaN\n"
                            "f_double: -Infinity\n"
                            "r_double: [.inf, 1e308, '-0', 5, Infinity, -.inf, 4.9e-324]\n"
                            "r_float: [3.4028235e38, 1.17549435e-38, 0.1, .nan]\n"
                            "r_uint64: ['18446744073709551615', 0, 1e19, -0, 007]\n"
                            "r_sint64: [-9223372036854775808, '9223372036854775807', 1.0]\n"
                            "r_int32: [+5, 0, -0, 2147483647]\n"
                            "r_bool: [true, 'false', True, FALSE]\n"
                            "f_uint32: 70000\n");
    if (r == NULL)
        return;
    CHECK(isnan(r->f_float));
    CHECK(isinf(r->f_double) && r->f_double < 0);
    CHECK_INT(r->n_r_double, 7);
    CHECK(isinf(r->r_double[0]) && r->r_double[0] > 0);
    CHECK(r->r_double[1] == 1e308);
    CHECK(r->r_double[2] == 0 && signbit(r->r_double[2]));
    CHECK(r->r_double[3] == 5);
    CHECK(isinf(r->r_double[4]) && isinf(r->r_double[5]) && r->r_double[5] < 0);
    CHECK(r->r_double[6] == 4.9e-324);
    CHECK_INT(r->n_r_float, 4);
    CHECK(r->r_float[0] == 3.4028235e38f);
    CHECK(r->r_float[2] == 0.1f);
    CHECK(isnan(r->r_float[3]));
    CHECK_INT(r->n_r_uint64, 5);
    CHECK(r->r_uint64[0] == UINT64_MAX);
    CHECK(r->r_uint64[2] == 10000000000000000000ULL);
    CHECK(r->r_uint64[3] == 0);
    CHECK(r->r_uint64[4] == 7);
    CHECK(r->r_sint64[0] == INT64_MIN && r->r_sint64[1] == INT64_MAX && r->r_sint64[2] == 1);
    CHECK(r->r_int32[0] == 5 && r->r_int32[3] == INT32_MAX);
    CHECK(r->n_r_bool == 4 && r->r_bool[0] && !r->r_bool[1] && r->r_bool[2] && !r->r_bool[3]);
    /* Range validation of ports is the translator's job. */
    CHECK_INT(r->f_uint32, 70000);
    /* NaN has no equal bytes guarantee after a round trip of the bits,
     * but the printed forms must agree. */
    char *s1 = dp_pbjson_print(&r->base, resolve, 0);
    Dp__Test__Root *r2 = dec(s1 ? s1 : "");
    char *s2 = r2 ? dp_pbjson_print(&r2->base, resolve, 0) : NULL;
    CHECK(s1 && s2 && strcmp(s1, s2) == 0);
    CHECK(s1 && strstr(s1, "\"fFloat\":\"NaN\",\"fDouble\":\"-Infinity\""));
    CHECK(s1 && strstr(s1, "\"rDouble\":[\"Infinity\",1e+308,-0,5,\"Infinity\",\"-Infinity\","
                           "4.94065645841247e-324]"));
    CHECK(s1 && strstr(s1, "\"rFloat\":[3.4028235e+38,1.1754944e-38,0.1,\"NaN\"]"));
    CHECK(s1 && strstr(s1, "\"rUint64\":[\"18446744073709551615\",\"0\",\"10000000000000000000\""));
    free(s1);
    free(s2);
    free_msg(r2);
    free_msg(r);
}

static void test_enums_bytes_repeated(void)
{
    Dp__Test__Root *r = dec("color: 2\n"
                            "r_color: [RED, 1, -1, INFRARED, 99, '2']\n"
                            "r_bytes: ['aGk', 'aGk=', '-_8=', '+/8', '', \"aGVs\\nbG8=\"]\n"
                            "r_string: [a, 'b c', 3, true, '']\n"
                            "r_inner: [{name: x}, {}, {children: [{value: 1}]}]\n"
                            "r_value: [null, 1, x]\n"
                            "r_int32: null\n");
    if (r == NULL)
        return;
    CHECK_INT(r->color, 2);
    CHECK_INT(r->n_r_color, 6);
    CHECK(r->r_color[0] == 1 && r->r_color[1] == 1 && r->r_color[2] == -1 && r->r_color[3] == -1 &&
          r->r_color[4] == 99 && r->r_color[5] == 2);
    CHECK_INT(r->n_r_bytes, 6);
    CHECK_MEM(r->r_bytes[0].data, r->r_bytes[0].len, "hi");
    CHECK_MEM(r->r_bytes[1].data, r->r_bytes[1].len, "hi");
    CHECK_MEM(r->r_bytes[2].data, r->r_bytes[2].len, "\xfb\xff");
    CHECK_MEM(r->r_bytes[3].data, r->r_bytes[3].len, "\xfb\xff");
    CHECK_INT(r->r_bytes[4].len, 0);
    CHECK_MEM(r->r_bytes[5].data, r->r_bytes[5].len, "hello");
    CHECK_INT(r->n_r_string, 5);
    CHECK_STR(r->r_string[1], "b c");
    CHECK_STR(r->r_string[2], "3");
    CHECK_STR(r->r_string[3], "true");
    CHECK_STR(r->r_string[4], "");
    CHECK_INT(r->n_r_inner, 3);
    CHECK_STR(r->r_inner[0]->name, "x");
    CHECK_INT(r->r_inner[2]->n_children, 1);
    CHECK_INT(r->r_inner[2]->children[0]->value, 1);
    CHECK_INT(r->n_r_value, 3);
    CHECK_INT(r->r_value[0]->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE);
    CHECK_INT(r->n_r_int32, 0);
    CHECK_ROUNDTRIP(r);
    free_msg(r);
}

static void test_maps(void)
{
    Dp__Test__Root *r = dec("labels: {a: b, 'x y': '', ~: n}\n"
                            "by_id: {'1': {name: one}, -5: {}}\n"
                            "flags: {true: '5', 'false': -1}\n"
                            "colors: {'18446744073709551615': GREEN}\n"
                            "timeouts: {t: 1.5s}\n");
    if (r == NULL)
        return;
    CHECK_INT(r->n_labels, 3);
    CHECK_STR(r->labels[0]->key, "a");
    CHECK_STR(r->labels[0]->value, "b");
    CHECK_STR(r->labels[1]->key, "x y");
    CHECK_STR(r->labels[1]->value, "");
    CHECK_STR(r->labels[2]->key, "~");
    CHECK_INT(r->n_by_id, 2);
    CHECK_INT(r->by_id[0]->key, 1);
    CHECK_STR(r->by_id[0]->value->name, "one");
    CHECK_INT(r->by_id[1]->key, -5);
    CHECK(r->by_id[1]->value != NULL);
    CHECK_INT(r->n_flags, 2);
    CHECK(r->flags[0]->key == 1 && r->flags[0]->value == 5);
    CHECK(r->flags[1]->key == 0 && r->flags[1]->value == -1);
    CHECK(r->colors[0]->key == UINT64_MAX && r->colors[0]->value == 2);
    CHECK(r->timeouts[0]->value && r->timeouts[0]->value->seconds == 1 &&
          r->timeouts[0]->value->nanos == 500000000);
    CHECK_ROUNDTRIP(r);
    CHECK_PRINT(r, 0,
                "{\"labels\":{\"a\":\"b\",\"x y\":\"\",\"~\":\"n\"},"
                "\"byId\":{\"1\":{\"name\":\"one\"},\"-5\":{}},"
                "\"flags\":{\"true\":\"5\",\"false\":\"-1\"},"
                "\"colors\":{\"18446744073709551615\":\"GREEN\"},"
                "\"timeouts\":{\"t\":\"1.500s\"}}");
    free_msg(r);
}

static void test_null_and_oneof(void)
{
    Dp__Test__Root *r = dec("f_string: null\n"
                            "choice_str: ~\n"
                            "choice_int: 3\n"
                            "value: null\n"
                            "null_value: null\n"
                            "w_int32: null\n"
                            "inner:\n"
                            "other_str: ''\n");
    if (r == NULL)
        return;
    CHECK_STR(r->f_string, "");
    CHECK_INT(r->choice_case, DP__TEST__ROOT__CHOICE_CHOICE_INT);
    CHECK_INT(r->choice_int, 3);
    CHECK(r->value && r->value->kind_case == GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE);
    CHECK(r->w_int32 == NULL);
    CHECK(r->inner == NULL);
    /* A set oneof member prints even at its default value. */
    CHECK_INT(r->other_choice_case, DP__TEST__ROOT__OTHER_CHOICE_OTHER_STR);
    CHECK_PRINT(r, 0, "{\"choiceInt\":3,\"otherStr\":\"\",\"value\":null}");
    CHECK_ROUNDTRIP(r);
    free_msg(r);

    r = dec("choice_empty: {}\nother_bool: false\n");
    CHECK(r && r->choice_case == DP__TEST__ROOT__CHOICE_CHOICE_EMPTY && r->choice_empty);
    CHECK(r && r->other_choice_case == DP__TEST__ROOT__OTHER_CHOICE_OTHER_BOOL);
    CHECK_PRINT(r, DP_PBJSON_PROTO_NAMES, "{\"choice_empty\":{},\"other_bool\":false}");
    CHECK_ROUNDTRIP(r);
    free_msg(r);

    r = dec("choice_msg: {name: m}\n");
    CHECK(r && r->choice_case == DP__TEST__ROOT__CHOICE_CHOICE_MSG && strcmp(r->choice_msg->name, "m") == 0);
    free_msg(r);
    r = dec("choiceBytes: ''\n");
    CHECK(r && r->choice_case == DP__TEST__ROOT__CHOICE_CHOICE_BYTES && r->choice_bytes.len == 0);
    CHECK_PRINT(r, 0, "{\"choiceBytes\":\"\"}");
    free_msg(r);

    /* No tree, empty and null documents give an empty message. */
    ProtobufCMessage *m0 = NULL;
    CHECK_INT(dp_pbjson_decode(NULL, &dp__test__root__descriptor, NULL, &m0, NULL, err, sizeof(err)), 0);
    CHECK(m0 && protobuf_c_message_get_packed_size(m0) == 0);
    free_msg(m0);
    r = dec("");
    CHECK(r && protobuf_c_message_get_packed_size(&r->base) == 0);
    CHECK_PRINT(r, DP_PBJSON_PRETTY, "{}");
    free_msg(r);
    r = dec("{}");
    CHECK(r && protobuf_c_message_get_packed_size(&r->base) == 0);
    free_msg(r);
}

static void test_wkt(void)
{
    static const struct {
        const char *text;
        int64_t s;
        int32_t ns;
        const char *printed;
    } durations[] = {
        {"1.5s", 1, 500000000, "\"1.500s\""},
        {"-2s", -2, 0, "\"-2s\""},
        {"0.000000001s", 0, 1, "\"0.000000001s\""},
        {"-0.5s", 0, -500000000, "\"-0.500s\""},
        {"315576000000s", 315576000000LL, 0, "\"315576000000s\""},
        {"'10.000020s'", 10, 20000, "\"10.000020s\""},
        {"0s", 0, 0, NULL},
    };
    char buf[256];
    for (size_t i = 0; i < DP_ARRAY_SIZE(durations); i++) {
        snprintf(buf, sizeof(buf), "duration: %s\n", durations[i].text);
        Dp__Test__Root *r = dec(buf);
        CHECK(r && r->duration);
        if (!r || !r->duration)
            continue;
        CHECK(r->duration->seconds == durations[i].s);
        CHECK_INT(r->duration->nanos, durations[i].ns);
        char want[128];
        snprintf(want, sizeof(want), "{\"duration\":%s}",
                 durations[i].printed ? durations[i].printed : "\"0s\"");
        CHECK_PRINT(r, 0, want);
        CHECK_ROUNDTRIP(r);
        free_msg(r);
    }

    static const struct {
        const char *text;
        int64_t s;
        int32_t ns;
        const char *printed;
    } stamps[] = {
        {"1970-01-01T00:00:00Z", 0, 0, "1970-01-01T00:00:00Z"},
        {"1972-01-01T10:00:20.021Z", 63108020, 21000000, "1972-01-01T10:00:20.021Z"},
        {"2024-02-29T12:00:00+01:00", 1709204400, 0, "2024-02-29T11:00:00Z"},
        {"1969-12-31t23:59:59.5-00:30", 1799, 500000000, "1970-01-01T00:29:59.500Z"},
        {"0001-01-01T00:00:00Z", -62135596800LL, 0, "0001-01-01T00:00:00Z"},
        {"9999-12-31T23:59:59.999999999Z", 253402300799LL, 999999999, "9999-12-31T23:59:59.999999999Z"},
    };
    for (size_t i = 0; i < DP_ARRAY_SIZE(stamps); i++) {
        snprintf(buf, sizeof(buf), "timestamp: '%s'\n", stamps[i].text);
        Dp__Test__Root *r = dec(buf);
        CHECK(r && r->timestamp);
        if (!r || !r->timestamp)
            continue;
        CHECK(r->timestamp->seconds == stamps[i].s);
        CHECK_INT(r->timestamp->nanos, stamps[i].ns);
        char want[128];
        snprintf(want, sizeof(want), "{\"timestamp\":\"%s\"}", stamps[i].printed);
        CHECK_PRINT(r, 0, want);
        CHECK_ROUNDTRIP(r);
        free_msg(r);
    }

    Dp__Test__Root *r = dec("struct_val:\n"
                            "  a: 1\n"
                            "  b: [true, null, 'x', {c: 2.5}]\n"
                            "  d: yes\n"
                            "  e: '1'\n"
                            "  f: !!str 2\n"
                            "  g: {}\n"
                            "value: [1, {}]\n"
                            "list_value: [1, \"a\", []]\n"
                            "w_bool: false\n"
                            "w_uint32: 4294967295\n"
                            "w_uint64: '18446744073709551615'\n"
                            "w_int32: -1\n"
                            "w_int64: 5\n"
                            "w_double: 0.5\n"
                            "w_float: NaN\n"
                            "w_string: ''\n"
                            "w_bytes: aGk=\n"
                            "r_w_uint32: [1, 0]\n"
                            "empty: {}\n");
    if (r == NULL)
        return;
    Google__Protobuf__Struct *st = r->struct_val;
    CHECK(st && st->n_fields == 6);
    if (st && st->n_fields == 6) {
        CHECK_STR(st->fields[0]->key, "a");
        CHECK_INT(st->fields[0]->value->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE);
        CHECK(st->fields[0]->value->number_value == 1);
        Google__Protobuf__ListValue *l = st->fields[1]->value->list_value;
        CHECK(l && l->n_values == 4);
        CHECK_INT(l->values[0]->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE);
        CHECK_INT(l->values[1]->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE);
        CHECK_INT(l->values[2]->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE);
        CHECK_INT(l->values[3]->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE);
        /* No YAML 1.1 booleans, and quoting/tags make strings. */
        CHECK_INT(st->fields[2]->value->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE);
        CHECK_STR(st->fields[2]->value->string_value, "yes");
        CHECK_INT(st->fields[3]->value->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE);
        CHECK_INT(st->fields[4]->value->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE);
        CHECK_INT(st->fields[5]->value->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE);
    }
    CHECK(r->value && r->value->kind_case == GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE);
    CHECK(r->list_value && r->list_value->n_values == 3);
    CHECK(r->w_bool && r->w_bool->value == 0);
    CHECK(r->w_uint32 && r->w_uint32->value == 4294967295u);
    CHECK(r->w_uint64 && r->w_uint64->value == UINT64_MAX);
    CHECK(r->w_int32 && r->w_int32->value == -1);
    CHECK(r->w_int64 && r->w_int64->value == 5);
    CHECK(r->w_double && r->w_double->value == 0.5);
    CHECK(r->w_float && isnan(r->w_float->value));
    CHECK(r->w_string && strcmp(r->w_string->value, "") == 0);
    CHECK(r->w_bytes && r->w_bytes->value.len == 2);
    CHECK(r->n_r_w_uint32 == 2 && r->r_w_uint32[1]->value == 0);
    CHECK(r->empty != NULL);
    CHECK_PRINT(r, 0,
                "{\"structVal\":{\"a\":1,\"b\":[true,null,\"x\",{\"c\":2.5}],\"d\":\"yes\","
                "\"e\":\"1\",\"f\":\"2\",\"g\":{}},\"value\":[1,{}],\"listValue\":[1,\"a\",[]],"
                "\"wBool\":false,\"wUint32\":4294967295,\"wUint64\":\"18446744073709551615\","
                "\"wInt32\":-1,\"wInt64\":\"5\",\"wDouble\":0.5,\"wFloat\":\"NaN\","
                "\"wString\":\"\",\"wBytes\":\"aGk=\",\"rWUint32\":[1,0],\"empty\":{}}");
    CHECK_PRINT(r->list_value, DP_PBJSON_PRETTY, "[\n  1,\n  \"a\",\n  []\n]");
    free_msg(r);
}

static void test_any(void)
{
    Dp__Test__Root *r = dec("any:\n"
                            "  value: 3\n"
                            "  '@type': type.googleapis.com/dp.test.Inner\n"
                            "  name: n\n"
                            "r_any:\n"
                            "- {'@type': type.googleapis.com/google.protobuf.Duration, value: 2s}\n"
                            "- {'@type': type.googleapis.com/google.protobuf.Empty}\n"
                            "- {}\n"
                            "- '@type': type.googleapis.com/google.protobuf.Value\n"
                            "  value: {k: [1]}\n"
                            "- {'@type': type.googleapis.com/google.protobuf.Int32Value, "
                            "value: '7'}\n");
    if (r == NULL)
        return;
    CHECK(r->any != NULL);
    CHECK_STR(r->any->type_url, "type.googleapis.com/dp.test.Inner");
    Dp__Test__Inner want = DP__TEST__INNER__INIT;
    want.name = "n";
    want.value = 3;
    size_t wl;
    uint8_t *wb = pack(&want, &wl);
    CHECK(r->any->value.len == wl && memcmp(r->any->value.data, wb, wl) == 0);
    free(wb);
    CHECK_INT(r->n_r_any, 5);
    Google__Protobuf__Duration *d =
        google__protobuf__duration__unpack(NULL, r->r_any[0]->value.len, r->r_any[0]->value.data);
    CHECK(d && d->seconds == 2);
    google__protobuf__duration__free_unpacked(d, NULL);
    CHECK_STR(r->r_any[1]->type_url, "type.googleapis.com/google.protobuf.Empty");
    CHECK_INT(r->r_any[1]->value.len, 0);
    CHECK_STR(r->r_any[2]->type_url, "");
    CHECK_PRINT(r, 0,
                "{\"any\":{\"@type\":\"type.googleapis.com/dp.test.Inner\",\"name\":\"n\","
                "\"value\":3},\"rAny\":["
                "{\"@type\":\"type.googleapis.com/google.protobuf.Duration\",\"value\":\"2s\"},"
                "{\"@type\":\"type.googleapis.com/google.protobuf.Empty\"},{},"
                "{\"@type\":\"type.googleapis.com/google.protobuf.Value\",\"value\":{\"k\":[1]}},"
                "{\"@type\":\"type.googleapis.com/google.protobuf.Int32Value\",\"value\":7}]}");
    CHECK_PRINT(r->any, DP_PBJSON_PRETTY,
                "{\n  \"@type\": \"type.googleapis.com/dp.test.Inner\",\n  \"name\": \"n\",\n"
                "  \"value\": 3\n}");
    CHECK_ROUNDTRIP(r);
    /* Without a resolver the printer falls back to base64. */
    char *s = dp_pbjson_print(&r->any->base, NULL, 0);
    CHECK_STR(s, "{\"@type\":\"type.googleapis.com/dp.test.Inner\",\"value\":\"CgFuEAM=\"}");
    free(s);
    free_msg(r);

    /* Any inside a message inside an Any inside a message inside an Any. */
    const char *nested = "{\"any\": {\n"
                         "  \"@type\": \"type.googleapis.com/dp.test.Inner\",\n"
                         "  \"name\": \"outer\",\n"
                         "  \"typedConfig\": {\n"
                         "    \"@type\": \"type.googleapis.com/dp.test.Root\",\n"
                         "    \"fInt32\": 5,\n"
                         "    \"any\": {\n"
                         "      \"@type\": \"type.googleapis.com/google.protobuf.Struct\",\n"
                         "      \"value\": {\"deep\": true}\n"
                         "    }\n"
                         "  }\n"
                         "}}";
    r = (Dp__Test__Root *)dec_as(nested, &dp__test__root__descriptor, "t.json");
    if (r == NULL)
        return;
    Dp__Test__Inner *in = dp__test__inner__unpack(NULL, r->any->value.len, r->any->value.data);
    CHECK(in && strcmp(in->name, "outer") == 0 && in->typed_config);
    Dp__Test__Root *mid =
        in ? dp__test__root__unpack(NULL, in->typed_config->value.len, in->typed_config->value.data) : NULL;
    CHECK(mid && mid->f_int32 == 5 && mid->any);
    if (mid && mid->any)
        CHECK_STR(mid->any->type_url, "type.googleapis.com/google.protobuf.Struct");
    Google__Protobuf__Struct *st =
        mid && mid->any ? google__protobuf__struct__unpack(NULL, mid->any->value.len, mid->any->value.data)
                        : NULL;
    CHECK(st && st->n_fields == 1 && st->fields[0]->value->bool_value);
    CHECK_PRINT(r, 0,
                "{\"any\":{\"@type\":\"type.googleapis.com/dp.test.Inner\",\"name\":\"outer\","
                "\"typedConfig\":{\"@type\":\"type.googleapis.com/dp.test.Root\",\"fInt32\":5,"
                "\"any\":{\"@type\":\"type.googleapis.com/google.protobuf.Struct\","
                "\"value\":{\"deep\":true}}}}}");
    CHECK_ROUNDTRIP(r);
    google__protobuf__struct__free_unpacked(st, NULL);
    free_msg(mid);
    free_msg(in);
    free_msg(r);
}

static void test_errors(void)
{
    CHECK_ERR("dns_lookup_family: V4_ONLY\n",
              "t.yaml:1:1: unknown field \"dns_lookup_family\" in dp.test.Root (not supported)");
    CHECK_ERR("inner:\n  name: x\n  bogus: 1\n",
              "t.yaml:3:3: inner: unknown field \"bogus\" in dp.test.Inner (not supported)");
    CHECK_ERR("r_inner:\n  - {value: 1}\n  - {value: abc}\n",
              "t.yaml:3:13: r_inner[1].value: expected an integer (int32), got \"abc\"");
    CHECK_ERR("child:\n  r_inner:\n  - children:\n    - {}\n    - value: [1]\n",
              "t.yaml:5:14: child.r_inner[0].children[1].value: expected an integer (int32), "
              "got a list");
    CHECK_ERR("{\n  \"inner\": {\n    \"value\": \"x\"\n  }\n}",
              "t.yaml:3:14: inner.value: expected an integer (int32), got \"x\"");
    CHECK_ERR("f_bool: yes\n", "t.yaml:1:9: f_bool: expected true or false, got \"yes\"");
    CHECK_ERR("f_bool: 1\n", "f_bool: expected true or false, got \"1\"");
    CHECK_ERR("color: PURPLE\n", "t.yaml:1:8: color: unknown value \"PURPLE\" for enum dp.test.Color");
    CHECK_ERR("r_color: [RED, red]\n", "t.yaml:1:16: r_color[1]: unknown value \"red\"");
    CHECK_ERR("f_bytes: 'abc!'\n", "t.yaml:1:10: f_bytes: invalid base64 \"abc!\"");
    CHECK_ERR("f_bytes: abcde\n", "f_bytes: invalid base64");
    CHECK_ERR("f_bytes: 'ab=c'\n", "f_bytes: invalid base64");
    CHECK_ERR("f_bytes: 'a==='\n", "f_bytes: invalid base64");
    CHECK_ERR("duration: 5\n", "t.yaml:1:11: duration: expected a duration like \"1.5s\", got \"5\"");
    CHECK_ERR("duration: 1.5m\n", "duration: expected a duration like");
    CHECK_ERR("duration: 1.0000000001s\n", "duration: expected a duration like");
    CHECK_ERR("duration: {seconds: 1}\n", "duration: expected a duration like \"1.5s\", got a map");
    CHECK_ERR("duration: 315576000001s\n", "duration: duration \"315576000001s\" out of range");
    CHECK_ERR("duration: -99999999999999s\n", "out of range");
    CHECK_ERR("timestamp: 2020-02-30T00:00:00Z\n", "timestamp: expected an RFC 3339 timestamp");
    CHECK_ERR("timestamp: 2021-02-29T00:00:00Z\n", "timestamp: expected an RFC 3339 timestamp");
    CHECK_ERR("timestamp: 2020-01-01 00:00:00Z\n", "timestamp: expected an RFC 3339");
    CHECK_ERR("timestamp: 2020-01-01T00:00:00\n", "timestamp: expected an RFC 3339");
    CHECK_ERR("timestamp: 0001-01-01T00:00:00+00:01\n", "timestamp: timestamp");
    CHECK_ERR("choice_str: a\nchoice_int: 3\n",
              "t.yaml:2:1: choice_int: fields \"choice_str\" and \"choice_int\" are both set but "
              "belong to the same oneof");
    CHECK_ERR("otherBool: true\nother_str: x\n", "fields \"other_bool\" and \"other_str\"");
    CHECK_ERR("f_int32: 1\nf_int32: 2\n", "t.yaml:2:1: duplicate key \"f_int32\"");
    CHECK_ERR("f_int32: 1\nfInt32: 2\n", "t.yaml:2:1: field \"f_int32\" is set twice");
    CHECK_ERR("f_int32: 1099511627776\n",
              "t.yaml:1:10: f_int32: value \"1099511627776\" out of range for int32");
    CHECK_ERR("f_int32: 2147483648\n", "out of range for int32");
    CHECK_ERR("f_int32: 1e10\n", "out of range for int32");
    CHECK_ERR("f_int64: 9223372036854775808\n", "out of range for int64");
    CHECK_ERR("f_int64: 1e19\n", "out of range for int64");
    CHECK_ERR("f_uint32: -1\n", "t.yaml:1:11: f_uint32: value \"-1\" out of range for uint32");
    CHECK_ERR("f_uint64: 18446744073709551616\n", "out of range for uint64");
    CHECK_ERR("f_uint64: -1e0\n", "out of range for uint64");
    CHECK_ERR("f_int32: 1.5\n", "f_int32: expected an integer (int32), got \"1.5\"");
    CHECK_ERR("f_int32: 0x10\n", "f_int32: expected an integer (int32), got \"0x10\"");
    CHECK_ERR("f_int32: ' 1'\n", "expected an integer");
    CHECK_ERR("f_float: 1e39\n", "f_float: value \"1e39\" out of range for float");
    CHECK_ERR("f_double: 1e400\n", "out of range for double");
    CHECK_ERR("f_double: nan\n", "f_double: expected a number (double), got \"nan\"");
    CHECK_ERR("any: {'@type': type.googleapis.com/x.Nope, a: 1}\n",
              "t.yaml:1:16: any.@type: unknown type \"type.googleapis.com/x.Nope\" in \"@type\"");
    CHECK_ERR("any: {a: 1}\n", "t.yaml:1:6: any: google.protobuf.Any without \"@type\"");
    CHECK_ERR("any: {'@type': [1]}\n", "any.@type: expected a type URL, got a list");
    CHECK_ERR("any: {'@type': type.googleapis.com/google.protobuf.Duration, value: 1s, x: 1}\n",
              "any: unknown field \"x\" in google.protobuf.Any holding google.protobuf.Duration");
    CHECK_ERR("any: {'@type': type.googleapis.com/google.protobuf.Duration, value: 1}\n",
              "any.value: expected a duration");
    CHECK_ERR("any:\n  '@type': type.googleapis.com/dp.test.Inner\n  value: x\n",
              "t.yaml:3:10: any.value: expected an integer (int32), got \"x\"");
    CHECK_ERR("any:\n  '@type': type.googleapis.com/dp.test.Inner\n  typed_config:\n"
              "    '@type': type.googleapis.com/dp.test.Root\n    nope: 1\n",
              "t.yaml:5:5: any.typed_config: unknown field \"nope\" in dp.test.Root");
    CHECK_ERR("a: [1, 2\n", "t.yaml:2:1: did not find expected ',' or ']'");
    CHECK_ERR("inner: 5\n", "t.yaml:1:8: inner: expected a map (dp.test.Inner), got \"5\"");
    CHECK_ERR("5\n", "t.yaml:1:1: expected a map (dp.test.Root), got \"5\"");
    CHECK_ERR("r_int32: 5\n", "r_int32: expected a list, got \"5\"");
    CHECK_ERR("r_int32: [1, null]\n", "t.yaml:1:14: r_int32[1]: null is not allowed in a list");
    CHECK_ERR("labels: [a]\n", "labels: expected a map, got a list");
    CHECK_ERR("labels: {a: null}\n", "labels[\"a\"]: null is not allowed as a map value");
    CHECK_ERR("labels: {a: [x]}\n", "labels[\"a\"]: expected a string, got a list");
    CHECK_ERR("by_id: {abc: {}}\n", "t.yaml:1:9: by_id[\"abc\"]: expected an integer (int32), got \"abc\"");
    CHECK_ERR("by_id: {'1': {}, '01': {}}\n", "t.yaml:1:18: by_id[\"01\"]: duplicate map key \"01\"");
    CHECK_ERR("by_id: {'1': {value: z}}\n", "by_id[\"1\"].value: expected an integer");
    CHECK_ERR("flags: {yes: 1}\n", "flags[\"yes\"]: expected true or false");
    CHECK_ERR("{\"f_string\": \"a\\u0000b\"}", "f_string: string contains a NUL character");
    CHECK_ERR("f_string: {a: 1}\n", "f_string: expected a string, got a map");
    CHECK_ERR("struct_val: [1]\n", "struct_val: expected a map, got a list");
    CHECK_ERR("struct_val: {a: {b: 1e999}}\n", "struct_val[\"a\"][\"b\"]: value \"1e999\" out of range");
    CHECK_ERR("list_value: {a: 1}\n", "list_value: expected a list, got a map");
    CHECK_ERR("w_bool: 1\n", "w_bool: expected true or false");
    CHECK_ERR("w_uint32: -5\n", "w_uint32: value \"-5\" out of range for uint32");
    CHECK_ERR("value: 1e400\n", "value: value \"1e400\" out of range for double");
    CHECK_ERR("empty: {a: 1}\n", "empty: unknown field \"a\" in google.protobuf.Empty");
    CHECK_ERR("empty: []\n", "empty: expected a map (google.protobuf.Empty), got a list");
    CHECK_ERR("null_value: 2\n", "null_value: unknown value \"2\" for enum google.protobuf.NullValue");
    CHECK_ERR("r_w_uint32: [1, null]\n", "r_w_uint32[1]: null is not allowed in a list");
    CHECK_ERR("f_string: \"x\"\n\"@type\": y\n", "unknown field \"@type\" in dp.test.Root");

    /* No resolver: any "@type" is an error. */
    check_err_as(__LINE__, "any: {'@type': type.googleapis.com/dp.test.Inner}\n", &dp__test__root__descriptor,
                 NULL,
                 "any.@type: cannot decode type \"type.googleapis.com/dp.test.Inner\": no type "
                 "resolver");

    /* proto2: required fields. */
    check_err_as(__LINE__, "count: 1\n", &dp__test2__legacy__descriptor, &opts,
                 "t.yaml:1:1: missing required field \"id\" in dp.test2.Legacy");
    check_err_as(__LINE__, "id: ~\n", &dp__test2__legacy__descriptor, &opts, "missing required field \"id\"");
    check_err_as(__LINE__, "id: a\nnext: {count: 2}\n", &dp__test2__legacy__descriptor, &opts,
                 "t.yaml:2:7: next: missing required field \"id\"");

    /* errbuf may be absent. */
    ProtobufCMessage *m;
    CHECK_INT(dp_pbjson_decode_text("x: 1", 4, &dp__test__root__descriptor, &opts, &m, NULL, NULL, 0),
              DP_EINVAL);
    CHECK_INT(
        dp_pbjson_decode_text("x: 1", 4, &dp__test__root__descriptor, &opts, &m, NULL, err, sizeof(err)),
        DP_EINVAL);
    CHECK(strncmp(err, "<input>:1:1: unknown field", 26) == 0);
    /* A short errbuf is truncated, not overrun. */
    char small[12];
    memset(small, 'z', sizeof(small));
    CHECK_INT(dp_pbjson_decode_text("x: 1", 4, &dp__test__root__descriptor, &opts, &m, "f", small, 8),
              DP_EINVAL);
    CHECK(strlen(small) == 7 && small[8] == 'z');
}

static void test_ignore_unknown(void)
{
    dp_pbjson_opts_t o = {resolve, DP_PBJSON_IGNORE_UNKNOWN};
    ProtobufCMessage *m = NULL;
    const char *text = "bogus: {a: [1]}\nf_int32: 4\ninner: {nope: 1, value: 2}\n";
    CHECK_INT(
        dp_pbjson_decode_text(text, strlen(text), &dp__test__root__descriptor, &o, &m, "t", err, sizeof(err)),
        0);
    Dp__Test__Root *r = (Dp__Test__Root *)m;
    CHECK(r && r->f_int32 == 4 && r->inner && r->inner->value == 2);
    free_msg(m);
}

static void test_proto2(void)
{
    Dp__Test2__Legacy *l = (Dp__Test2__Legacy *)dec_as("id: x\n", &dp__test2__legacy__descriptor, "t");
    CHECK(l != NULL);
    if (l == NULL)
        return;
    CHECK_STR(l->id, "x");
    CHECK(!l->has_count && l->count == 7);
    CHECK_STR(l->label, "none");
    CHECK(!l->has_kind && l->kind == DP__TEST2__LEGACY__KIND__KIND_B);
    CHECK_PRINT(l, 0, "{\"id\":\"x\"}");
    free_msg(l);

    l = (Dp__Test2__Legacy *)dec_as("id: ''\ncount: 0\nlabel: none\nblob: ''\nenabled: false\n"
                                    "next: {id: n}\nvalues: [1, '2']\nkind: KIND_A\n",
                                    &dp__test2__legacy__descriptor, "t");
    CHECK(l != NULL);
    if (l == NULL)
        return;
    CHECK(l->has_count && l->count == 0);
    CHECK(l->has_blob && l->blob.len == 0);
    CHECK(l->has_enabled && !l->enabled);
    CHECK(l->has_kind && l->kind == DP__TEST2__LEGACY__KIND__KIND_A);
    CHECK(l->next && strcmp(l->next->id, "n") == 0);
    /* Explicitly set fields print even at their default values. */
    CHECK_PRINT(l, 0,
                "{\"id\":\"\",\"count\":0,\"label\":\"none\",\"blob\":\"\",\"enabled\":false,"
                "\"next\":{\"id\":\"n\"},\"values\":[\"1\",\"2\"],\"kind\":\"KIND_A\"}");
    CHECK_ROUNDTRIP(l);
    free_msg(l);
}

static void test_print(void)
{
    Dp__Test__Root r = DP__TEST__ROOT__INIT;
    Dp__Test__Inner inner = DP__TEST__INNER__INIT;
    Google__Protobuf__Duration dur = GOOGLE__PROTOBUF__DURATION__INIT;
    Google__Protobuf__BoolValue wb = GOOGLE__PROTOBUF__BOOL_VALUE__INIT;
    Dp__Test__Root__LabelsEntry le = DP__TEST__ROOT__LABELS_ENTRY__INIT;
    Dp__Test__Root__LabelsEntry *lep = &le;
    int32_t ints[] = {1, 2};
    r.f_int32 = 1;
    r.f_int64 = 2;
    r.f_string = "x\"y\\\x01\n\xc3\xa9\xff\xed\xa0\x80";
    r.color = DP__TEST__COLOR__RED;
    r.inner = &inner;
    r.n_r_int32 = 2;
    r.r_int32 = ints;
    le.key = "a";
    le.value = "b";
    r.n_labels = 1;
    r.labels = &lep;
    dur.seconds = 1;
    dur.nanos = 500000000;
    r.duration = &dur;
    r.w_bool = &wb;
    r.f_double = 0.1;
    r.f_float = 0.1f;
    CHECK_PRINT(&r, 0,
                "{\"fInt32\":1,\"fInt64\":\"2\",\"fFloat\":0.1,\"fDouble\":0.1,"
                "\"fString\":\"x\\\"y\\\\\\u0001\\n\xc3\xa9\\ufffd\\ufffd\\ufffd\\ufffd\","
                "\"color\":\"RED\",\"inner\":{},\"rInt32\":[1,2],\"labels\":{\"a\":\"b\"},"
                "\"duration\":\"1.500s\",\"wBool\":false}");
    r.f_string = "";
    r.f_double = 0;
    r.f_float = 0;
    r.color = 7; /* unknown enum values print as numbers */
    CHECK_PRINT(&r, DP_PBJSON_PRETTY | DP_PBJSON_PROTO_NAMES,
                "{\n"
                "  \"f_int32\": 1,\n"
                "  \"f_int64\": \"2\",\n"
                "  \"color\": 7,\n"
                "  \"inner\": {},\n"
                "  \"r_int32\": [\n"
                "    1,\n"
                "    2\n"
                "  ],\n"
                "  \"labels\": {\n"
                "    \"a\": \"b\"\n"
                "  },\n"
                "  \"duration\": \"1.500s\",\n"
                "  \"w_bool\": false\n"
                "}");

    /* Characters a YAML parser would refuse raw or fold as line breaks
     * are escaped, so our own output always parses back. */
    Dp__Test__Inner u = DP__TEST__INNER__INIT;
    u.name = "\x7f\xc2\x85\xe2\x80\xa8\xe2\x80\xa9\xef\xbf\xbf\xc2\xa0\xf0\x9f\x98\x80";
    CHECK_PRINT(&u, 0, "{\"name\":\"\\u007f\\u0085\\u2028\\u2029\\uffff\xc2\xa0\xf0\x9f\x98\x80\"}");
    CHECK_ROUNDTRIP(&u);

    /* Base indentation, to splice into a larger document. */
    Dp__Test__Inner small = DP__TEST__INNER__INIT;
    small.value = 3;
    char *out = NULL;
    size_t len = 0;
    CHECK_INT(dp_pbjson_print_buf(&small.base, resolve, DP_PBJSON_PRETTY, 2, &out, &len), 0);
    CHECK_STR(out, "{\n      \"value\": 3\n    }");
    CHECK_INT(len, strlen("{\n      \"value\": 3\n    }"));
    free(out);
    CHECK_INT(dp_pbjson_print_buf(NULL, resolve, 0, 0, &out, &len), DP_EINVAL);

    /* Any whose bytes do not decode as the named type: base64 form. */
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    uint8_t junk[] = {0xff, 0xff};
    any.type_url = "type.googleapis.com/dp.test.Inner";
    any.value.data = junk;
    any.value.len = 2;
    CHECK_PRINT(&any, 0, "{\"@type\":\"type.googleapis.com/dp.test.Inner\",\"value\":\"//8=\"}");
    any.type_url = "type.googleapis.com/unknown.Type";
    CHECK_PRINT(&any, 0, "{\"@type\":\"type.googleapis.com/unknown.Type\",\"value\":\"//8=\"}");

    /* Nesting deeper than the printer's limit fails cleanly. */
    enum { CHAIN = 2 * DP_CFGTREE_MAX_DEPTH + 20 };
    Dp__Test__Root *chain = malloc(CHAIN * sizeof(*chain));
    for (int i = 0; i < CHAIN; i++) {
        dp__test__root__init(&chain[i]);
        chain[i].child = i + 1 < CHAIN ? &chain[i + 1] : NULL;
    }
    CHECK(dp_pbjson_print(&chain[0].base, resolve, 0) == NULL);
    CHECK_INT(dp_pbjson_print_buf(&chain[0].base, resolve, 0, 0, &out, &len), DP_EINVAL);
    char *s30 = dp_pbjson_print(&chain[30].base, resolve, 0); /* 390 levels */
    CHECK(s30 != NULL);
    free(s30);
    free(chain);
}

/* Nesting near the tree's limit decodes, prints and reads back. */
static void test_deep(void)
{
    enum { LEVELS = DP_CFGTREE_MAX_DEPTH - 10 };
    char *t = malloc(LEVELS * 5 + 64);
    size_t n = (size_t)sprintf(t, "struct_val: ");
    for (int i = 0; i < LEVELS; i++)
        n += (size_t)sprintf(t + n, "{a: ");
    n += (size_t)sprintf(t + n, "1");
    for (int i = 0; i < LEVELS; i++)
        t[n++] = '}';
    t[n] = '\0';
    Dp__Test__Root *r = dec(t);
    CHECK(r != NULL);
    if (r)
        CHECK_ROUNDTRIP(r);
    free_msg(r);
    free(t);
}

static void test_file(void)
{
    char path[] = "/tmp/pbjson_testXXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    const char *text = "inner:\n  value: 1\n  name: [x]\n";
    CHECK_INT(write(fd, text, strlen(text)), (long long)strlen(text));
    close(fd);
    ProtobufCMessage *m = (ProtobufCMessage *)1;
    CHECK_INT(dp_pbjson_decode_file(path, &dp__test__root__descriptor, &opts, &m, err, sizeof(err)),
              DP_EINVAL);
    CHECK(m == NULL);
    char want[128];
    snprintf(want, sizeof(want), "%s:3:9: inner.name: expected a string, got a list", path);
    CHECK_STR(err, want);
    unlink(path);
    CHECK_INT(dp_pbjson_decode_file(path, &dp__test__root__descriptor, &opts, &m, err, sizeof(err)), DP_ERR);
}

/* Every allocation failing in turn: DP_ENOMEM (never a crash or a leak
 * under ASAN/valgrind) until the decode succeeds; then the same for the
 * printer. */
static void test_oom(void)
{
    char *text = malloc(8192);
    snprintf(text, 8192,
             "%sr_string: [a, b]\nr_bytes: [aGk=]\nlabels: {a: b, c: d}\n"
             "by_id: {'1': {name: x, children: [{}]}}\nr_value: [1, x, {a: [null]}]\n"
             "any: {'@type': type.googleapis.com/dp.test.Inner, name: y,\n"
             "      typed_config: {'@type': type.googleapis.com/google.protobuf.Duration,"
             " value: 1s}}\n"
             "timestamp: 1970-01-01T00:00:00Z\nchoice_str: s\nw_string: w\n",
             scalars_yaml);
    dp_cfgnode_t *tree;
    CHECK_INT(dp_cfgtree_parse(text, strlen(text), "t", &tree, err, sizeof(err)), 0);
    int ok = 0, nomem = 0, other = 0;
    ProtobufCMessage *m = NULL;
    for (long n = 0; n < 5000 && !ok; n++) {
        dp_cfgtree__test_fail_alloc(n);
        int rc = dp_pbjson_decode(tree, &dp__test__root__descriptor, &opts, &m, "t", err, sizeof(err));
        dp_cfgtree__test_fail_alloc(-1);
        if (rc == 0)
            ok = 1;
        else if (rc == DP_ENOMEM && m == NULL && strstr(err, "out of memory"))
            nomem++;
        else
            other++;
    }
    CHECK(ok);
    CHECK(nomem > 40);
    CHECK_INT(other, 0);

    char *want = dp_pbjson_print(m, resolve, DP_PBJSON_PRETTY);
    CHECK(want != NULL);
    ok = nomem = other = 0;
    for (long n = 0; n < 1000 && !ok; n++) {
        char *out = (char *)1;
        size_t len;
        dp_cfgtree__test_fail_alloc(n);
        int rc = dp_pbjson_print_buf(m, resolve, DP_PBJSON_PRETTY, 0, &out, &len);
        dp_cfgtree__test_fail_alloc(-1);
        if (rc == 0) {
            ok = 1;
            CHECK_STR(out, want);
            free(out);
        } else if (rc == DP_ENOMEM && out == (char *)1) {
            nomem++;
        } else {
            other++;
        }
    }
    CHECK(ok);
    CHECK(nomem > 0);
    CHECK_INT(other, 0);
    free(want);
    free_msg(m);
    dp_cfgtree_free(tree);

    /* Text -> message including the parse. */
    ok = other = 0;
    for (long n = 0; n < 5000 && !ok; n++) {
        dp_cfgtree__test_fail_alloc(n);
        int rc = dp_pbjson_decode_text(text, strlen(text), &dp__test__root__descriptor, &opts, &m, "t", err,
                                       sizeof(err));
        dp_cfgtree__test_fail_alloc(-1);
        if (rc == 0) {
            ok = 1;
            free_msg(m);
        } else if (rc != DP_ENOMEM) {
            other++;
        }
    }
    CHECK(ok);
    CHECK_INT(other, 0);
    free(text);
}

int main(void)
{
    test_scalars();
    test_numbers();
    test_enums_bytes_repeated();
    test_maps();
    test_null_and_oneof();
    test_wkt();
    test_any();
    test_errors();
    test_ignore_unknown();
    test_proto2();
    test_print();
    test_deep();
    test_file();
    test_oom();
    TEST_DONE();
}
