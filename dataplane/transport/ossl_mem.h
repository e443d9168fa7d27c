/* OpenSSL's allocations through a per-thread cache of blocks.
 *
 * A TLS 1.3 handshake makes ~800 mallocs and ~1500 frees inside OpenSSL.
 * In a process with more than one thread (ours: the main thread and the
 * workers) glibc takes its arena lock on every allocation its own small
 * per-thread cache (tcache, 7 blocks per size) cannot serve; nginx's
 * single-threaded workers skip the lock altogether. This cache holds up
 * to DP_OSSL_MEM_PER_CLASS freed blocks per 16-byte size class up to
 * DP_OSSL_MEM_MAX bytes (and a few record buffers), per thread, without
 * locks (at most ~2.7 MB per thread); blocks are plain
 * malloc blocks (sized by malloc_usable_size), so a block may be freed on
 * another thread than the one that allocated it. What OpenSSL clears
 * before freeing (keys, CRYPTO_clear_free) it still clears.
 *
 * Under AddressSanitizer the cache is off (recycled blocks would hide a
 * use after free from it). */
#ifndef DP_TRANSPORT_OSSL_MEM_H
#define DP_TRANSPORT_OSSL_MEM_H

#include <stdbool.h>
#include <stddef.h>

#define DP_OSSL_MEM_MAX 1024
#define DP_OSSL_MEM_PER_CLASS 64
/* and OpenSSL's record buffers (~17-18 KiB, allocated and freed per read
 * and write with SSL_MODE_RELEASE_BUFFERS): 4 KiB classes, a few each */
#define DP_OSSL_MEM_BIG_MAX (20 * 1024)
#define DP_OSSL_MEM_BIG_PER_CLASS 8

/* Installs the cache as OpenSSL's allocator: call before anything
 * allocates through OpenSSL (first thing in main). Returns false when
 * OpenSSL already allocated (then plain malloc stays) or under ASan. */
bool dp_ossl_mem_install(void);

/* The allocator itself (also for tests). */
void *dp_ossl_mem_malloc(size_t n, const char *file, int line);
void *dp_ossl_mem_realloc(void *p, size_t n, const char *file, int line);
void dp_ossl_mem_free(void *p, const char *file, int line);

/* Frees the calling thread's cached blocks (also done at thread exit). */
void dp_ossl_mem_trim(void);

/* Blocks cached by the calling thread. */
size_t dp_ossl_mem_cached(void);

#endif
