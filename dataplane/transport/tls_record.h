/* TLS 1.3 record protection (RFC 8446 5.2-5.5, 7.1-7.3, 4.6.3), sans
 * I/O: what the kernel's TLS does once a handshake hands it the traffic
 * secrets. tls_offload.c moves an established server connection from
 * OpenSSL onto it, so that an idle connection keeps ~200 bytes of record
 * state instead of OpenSSL's ~13 KB SSL object, session and cipher
 * contexts (docs/tls.md).
 *
 * The AEAD work is OpenSSL's (EVP, one cipher context per thread and
 * suite, re-keyed per record when the connection changes); only the
 * framing, nonces, padding and the key schedule of a KeyUpdate live here.
 * Suites: TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384,
 * TLS_CHACHA20_POLY1305_SHA256 (not the CCM ones: they stay on OpenSSL). */
#ifndef DP_TRANSPORT_TLS_RECORD_H
#define DP_TRANSPORT_TLS_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define DP_TLS_REC_HDR 5
#define DP_TLS_REC_TAG 16
#define DP_TLS_REC_PLAIN_MAX 16384                                /* 2^14 */
#define DP_TLS_REC_BODY_MAX (DP_TLS_REC_PLAIN_MAX + 256)          /* 2^14 + 256 */
#define DP_TLS_REC_OVERHEAD (DP_TLS_REC_HDR + 1 + DP_TLS_REC_TAG) /* what we add to a record we seal */
#define DP_TLS_REC_MAX (DP_TLS_REC_HDR + DP_TLS_REC_BODY_MAX)

/* content types (RFC 8446 5.1) */
enum { DP_TLS_CT_ALERT = 21, DP_TLS_CT_HANDSHAKE = 22, DP_TLS_CT_APPDATA = 23 };

/* alert descriptions we send (RFC 8446 6) */
enum {
    DP_TLS_AD_CLOSE_NOTIFY = 0,
    DP_TLS_AD_UNEXPECTED_MESSAGE = 10,
    DP_TLS_AD_BAD_RECORD_MAC = 20,
    DP_TLS_AD_RECORD_OVERFLOW = 22,
    DP_TLS_AD_ILLEGAL_PARAMETER = 47,
    DP_TLS_AD_DECODE_ERROR = 50,
    DP_TLS_AD_INTERNAL_ERROR = 80,
    DP_TLS_AD_USER_CANCELED = 90,
};

/* One direction: its current traffic secret (for the next KeyUpdate),
 * the key and IV derived from it, and the record sequence number. */
typedef struct dp_tls_rec_dir {
    uint8_t secret[48];
    uint8_t key[32];
    uint8_t iv[12];
    uint64_t seq;
} dp_tls_rec_dir_t;

typedef struct dp_tls_rec {
    uint8_t suite;    /* internal index, see tls_record.c */
    uint8_t hash_len; /* 32 or 48 */
    uint8_t key_len;  /* 16 or 32 */
    dp_tls_rec_dir_t rd, wr;
} dp_tls_rec_t;

/* Our write side re-keys (a KeyUpdate of its own) after this many records
 * under one key: RFC 8446 5.5 allows 2^24.5 for AES-GCM. A variable so that
 * tests can lower it. */
extern uint64_t dp_tls_rec_rekey_after;

/* Whether the suite (IANA number, 0x1301...) is one of ours. */
bool dp_tls_rec_suite_supported(uint16_t suite);

/* Sets up both directions from the traffic secrets (hash_len bytes each)
 * with the given sequence numbers. Returns 0, DP_EINVAL for a suite we
 * do not do or a secret of the wrong length, DP_ERR if OpenSSL fails. */
int dp_tls_rec_init(dp_tls_rec_t *r, uint16_t suite, const uint8_t *rd_secret, uint64_t rd_seq,
                    const uint8_t *wr_secret, uint64_t wr_seq, size_t secret_len);

/* KeyUpdate of one direction (RFC 8446 7.2): next secret, key, IV,
 * sequence 0. Returns 0 or DP_ERR. */
int dp_tls_rec_update(const dp_tls_rec_t *r, dp_tls_rec_dir_t *d);

/* Erases the keys. */
void dp_tls_rec_clear(dp_tls_rec_t *r);

/* Framing: the length of the record starting at p (header included) if
 * all of it is in the n bytes, 0 if more bytes are needed, or
 * -alert (DP_TLS_AD_*) if the header is not one of a protected TLS 1.3
 * record (RFC 8446 5.1: outer type application_data, length 17 .. 2^14+256). */
long dp_tls_rec_complete(const uint8_t *p, size_t n);

/* Seals the plaintext of iov (total bytes, at most DP_TLS_REC_PLAIN_MAX)
 * as one record of content type `type` into out (room for total +
 * DP_TLS_REC_OVERHEAD) and advances the write sequence. Returns the
 * record's length, or -DP_TLS_AD_INTERNAL_ERROR. */
long dp_tls_rec_seal(dp_tls_rec_t *r, uint8_t type, const struct iovec *iov, int iovcnt, size_t total,
                     uint8_t *out);

/* Opens the complete record at rec (rec_len bytes, as returned by
 * dp_tls_rec_complete()) into out, which may be rec + DP_TLS_REC_HDR (in
 * place) or have room for rec_len - DP_TLS_REC_HDR - DP_TLS_REC_TAG bytes,
 * and advances the read sequence. Returns the content's length with its
 * type in *type (padding and type byte removed), or -alert:
 * bad_record_mac (not authentic), record_overflow, unexpected_message (no
 * content type). */
long dp_tls_rec_open(dp_tls_rec_t *r, const uint8_t *rec, size_t rec_len, uint8_t *out, uint8_t *type);

#endif
