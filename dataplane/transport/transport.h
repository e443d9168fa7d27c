/* Transport ops: what lies under a codec. Plain TCP now; TLS and QUIC
 * later implement the same table, so the codecs never see which one they
 * run on (STYLE.md 2). All functions are non-blocking. */
#ifndef DP_TRANSPORT_TRANSPORT_H
#define DP_TRANSPORT_TRANSPORT_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

struct dp_sock;

typedef struct dp_transport_ops {
    const char *name; /* "raw_buffer", "tls" */
    /* Reads up to len plaintext bytes. Returns >0 bytes, 0 on orderly EOF,
     * DP_EAGAIN when nothing is available, another negative DP_E* on error. */
    ssize_t (*read)(struct dp_sock *s, void *buf, size_t len);
    /* Writes plaintext. Returns bytes accepted (>=0, possibly fewer than
     * offered), DP_EAGAIN when none could be, another negative on error. */
    ssize_t (*writev)(struct dp_sock *s, const struct iovec *iov, int iovcnt);
    /* Half-close of the write side after everything was written. */
    void (*shutdown)(struct dp_sock *s);
    /* Releases the transport state (not the fd). */
    void (*dispose)(struct dp_sock *s);
} dp_transport_ops_t;

extern const dp_transport_ops_t dp_transport_raw;

#endif
