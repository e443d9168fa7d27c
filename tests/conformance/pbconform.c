/* pbconform: the C half of the conformance test (run.sh).
 *
 *   pbconform decode TYPE   reads TYPE's wire bytes (encoded by protoc from
 *                           Envoy's real protos) on stdin, decodes them with
 *                           our descriptor, refuses unknown fields, and
 *                           writes our re-encoding on stdout
 *   pbconform list          prints every full name in the type registry
 *
 * Exit codes: 0 success; 2 the input uses a field we do not model (the
 * dp_pb_check_unknown() message is on stderr); 1 anything else (usage,
 * unknown type, undecodable input, I/O). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xds/typereg.h"
#include "xds/unknown.h"

static uint8_t *read_all(FILE *f, size_t *len)
{
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);

    if (buf == NULL)
        return NULL;
    for (;;) {
        size_t got;

        if (n == cap) {
            uint8_t *nb = realloc(buf, cap * 2);

            if (nb == NULL)
                goto fail;
            buf = nb;
            cap *= 2;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f))
        goto fail;
    *len = n;
    return buf;

fail:
    free(buf);
    return NULL;
}

static int cmd_decode(const char *type)
{
    const ProtobufCMessageDescriptor *d = dp_typereg_lookup_name(type);
    ProtobufCMessage *m = NULL;
    uint8_t *in = NULL, *out = NULL;
    size_t in_len = 0, out_len;
    char err[1024];
    int rc = 1;

    if (d == NULL) {
        fprintf(stderr, "pbconform: type %s is not in the registry\n", type);
        return 1;
    }
    in = read_all(stdin, &in_len);
    if (in == NULL) {
        fprintf(stderr, "pbconform: cannot read stdin\n");
        return 1;
    }
    m = protobuf_c_message_unpack(d, NULL, in_len, in);
    if (m == NULL) {
        fprintf(stderr, "pbconform: %s: cannot decode %zu bytes\n", type, in_len);
        goto free_in;
    }
    if (dp_pb_check_unknown(m, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        rc = 2;
        goto free_msg;
    }
    out_len = protobuf_c_message_get_packed_size(m);
    out = malloc(out_len ? out_len : 1);
    if (out == NULL)
        goto free_msg;
    if (protobuf_c_message_pack(m, out) != out_len ||
        fwrite(out, 1, out_len, stdout) != out_len || fflush(stdout) != 0) {
        fprintf(stderr, "pbconform: %s: cannot write %zu bytes\n", type, out_len);
        goto free_out;
    }
    rc = 0;

free_out:
    free(out);
free_msg:
    protobuf_c_message_free_unpacked(m, NULL);
free_in:
    free(in);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "decode") == 0)
        return cmd_decode(argv[2]);
    if (argc == 2 && strcmp(argv[1], "list") == 0) {
        for (size_t i = 0; i < dp_typereg_count(); i++)
            printf("%s\n", dp_typereg_at(i)->name);
        return 0;
    }
    fprintf(stderr, "usage: pbconform decode TYPE <in >out | pbconform list\n");
    return 1;
}
