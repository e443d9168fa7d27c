/* Fuzzes the reading side of our TLS 1.3 record layer (what a server
 * connection runs on after the hand-over: dataplane/transport/
 * tls_offload.c over tls_record.c). The input is a script of what a
 * client sends:
 *   byte 0: the suite (AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305)
 *   then steps [op][len hi][len lo][len bytes]:
 *     op & 7 = 0  an application data record with the bytes
 *              1  a handshake record (a KeyUpdate, or anything else)
 *              2  an alert record
 *              3  the bytes as they are, on the wire (framing, forgeries)
 *              4  application data padded with (op >> 3) * 37 zeros
 *              5  the reader's room from now on (the bytes' length, 1..)
 *              6  a record of another content type (op >> 3; unexpected)
 * The records are sealed with the client's keys (which follow the
 * KeyUpdates it sends) and written to a socketpair; the server side reads
 * with dp_tls__rec_read until the end.
 * Invariants: the application data read is a prefix of what was sealed,
 * all of it when nothing in the script may end the connection early; an
 * end, once returned, is returned again. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dataplane/core/common.h"
#include "dataplane/transport/tls_int.h"
#include "dataplane/transport/tls_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_WIRE (1 << 17)

static uint8_t wire[MAX_WIRE], expect[MAX_WIRE], got[MAX_WIRE], rbuf[1 << 16];

/* Seals one record of type with the plaintext p (n bytes) onto the wire. */
static size_t seal(dp_tls_rec_t *c, uint8_t type, const uint8_t *p, size_t n, size_t at)
{
    if (n > DP_TLS_REC_PLAIN_MAX || at + n + DP_TLS_REC_OVERHEAD > MAX_WIRE)
        return at;
    struct iovec v = {(void *)p, n};
    long r = dp_tls_rec_seal(c, type, &v, 1, n, wire + at);
    if (r <= 0)
        abort();
    return at + (size_t)r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint16_t suites[] = {0x1301, 0x1302, 0x1303};
    if (size < 1)
        return 0;
    uint16_t suite = suites[data[0] % 3];
    size_t slen = suite == 0x1302 ? 48 : 32;
    uint8_t cs[48], ss[48];
    memset(cs, 0xc1, sizeof(cs));
    memset(ss, 0x5e, sizeof(ss));
    dp_tls_rec_t cli;
    tls_conn_t t;
    memset(&t, 0, sizeof(t));
    t.rec = malloc(sizeof(*t.rec));
    if (t.rec == NULL || dp_tls_rec_init(&cli, suite, ss, 0, cs, 0, slen) != 0 ||
        dp_tls_rec_init(t.rec, suite, cs, 0, ss, 0, slen) != 0)
        abort();

    /* the script */
    size_t at = 0, nexp = 0, room = sizeof(rbuf);
    bool may_end = false; /* something that ends the connection early */
    size_t i = 1;
    while (i + 3 <= size) {
        uint8_t op = data[i];
        size_t n = ((size_t)data[i + 1] << 8) | data[i + 2];
        i += 3;
        if (n > size - i)
            n = size - i;
        const uint8_t *p = data + i;
        i += n;
        switch (op & 7) {
        case 0: {
            size_t before = at;
            at = seal(&cli, DP_TLS_CT_APPDATA, p, n, at);
            if (at != before && !may_end) {
                memcpy(expect + nexp, p, n);
                nexp += n;
            }
            break;
        }
        case 1: {
            size_t before = at;
            at = seal(&cli, DP_TLS_CT_HANDSHAKE, p, n, at);
            bool ku = n == 5 && p[0] == 24 && p[1] == 0 && p[2] == 0 && p[3] == 1 && p[4] <= 1;
            if (ku && at != before)
                dp_tls_rec_update(&cli, &cli.wr); /* our following records use the next keys */
            else
                may_end = true;
            break;
        }
        case 2:
            at = seal(&cli, DP_TLS_CT_ALERT, p, n, at);
            if (!(n == 2 && p[1] == DP_TLS_AD_USER_CANCELED))
                may_end = true;
            break;
        case 3:
            if (n > 0 && at + n <= MAX_WIRE) {
                memcpy(wire + at, p, n);
                at += n;
                may_end = true;
            }
            break;
        case 4: {
            uint8_t padded[DP_TLS_REC_PLAIN_MAX];
            size_t pad = (size_t)(op >> 3) * 37;
            if (n + 1 + pad <= sizeof(padded)) {
                memcpy(padded, p, n);
                padded[n] = DP_TLS_CT_APPDATA;
                memset(padded + n + 1, 0, pad);
                /* type 0: the last zero of the padding */
                size_t before = at;
                at = seal(&cli, 0, padded, n + 1 + pad, at);
                if (at != before && !may_end) {
                    memcpy(expect + nexp, p, n);
                    nexp += n;
                }
            }
            break;
        }
        case 5:
            room = n > 0 ? DP_MIN(n, sizeof(rbuf)) : room;
            break;
        case 6: {
            /* a type that is none of ours (0 would make the plaintext's
             * last byte the type) */
            uint8_t type = (uint8_t)(op >> 3);
            if (type == 0 || (type >= DP_TLS_CT_ALERT && type <= DP_TLS_CT_APPDATA))
                type = 20; /* change_cipher_spec: never protected in TLS 1.3 */
            size_t before = at;
            at = seal(&cli, type, p, n, at);
            if (at != before)
                may_end = true;
            break;
        }
        default:
            break;
        }
    }

    /* the wire, then the end of the stream */
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0)
        abort();
    int sz = MAX_WIRE * 2;
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    size_t off = 0, ngot = 0;
    dp_sock_t s;
    memset(&s, 0, sizeof(s));
    s.fd = sv[0];
    ssize_t r = DP_EAGAIN;
    for (int k = 0; k < 100000; k++) {
        if (off < at) {
            ssize_t w = write(sv[1], wire + off, at - off);
            if (w > 0)
                off += (size_t)w;
            if (off == at)
                shutdown(sv[1], SHUT_WR);
        } else if (at == 0 && k == 0) {
            shutdown(sv[1], SHUT_WR);
        }
        r = dp_tls__rec_read(&s, &t, rbuf, room);
        if (r > 0) {
            if (ngot + (size_t)r > sizeof(got))
                abort();
            memcpy(got + ngot, rbuf, (size_t)r);
            ngot += (size_t)r;
            continue;
        }
        if (r != DP_EAGAIN)
            break;
    }
    if (r == DP_EAGAIN) /* the stream ended: so must the reads */
        abort();
    /* the end stays */
    ssize_t again = dp_tls__rec_read(&s, &t, rbuf, room);
    if (again != r && !(r == 0 && again == 0))
        abort();
    if (ngot > nexp || memcmp(got, expect, ngot) != 0)
        abort();
    if (!may_end && ngot != nexp)
        abort();

    close(sv[0]);
    close(sv[1]);
    dp_tls__rec_dispose(&t);
    dp_tls_rec_clear(&cli);
    return 0;
}
