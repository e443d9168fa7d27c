#include "filters/auth/sha256.h"

#include <openssl/evp.h>
#include <pthread.h>

static EVP_MD *md;
static pthread_key_t ctx_key; /* the thread's EVP_MD_CTX, freed at thread exit */
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void free_ctx(void *p)
{
    EVP_MD_CTX_free(p);
}

static void init(void)
{
    md = EVP_MD_fetch(NULL, "SHA256", NULL);
    pthread_key_create(&ctx_key, free_ctx);
}

bool dp_sha256(const dp_slice_t *parts, size_t n, uint8_t out[DP_SHA256_LEN])
{
    pthread_once(&once, init);
    if (md == NULL)
        return false;
    EVP_MD_CTX *ctx = pthread_getspecific(ctx_key);
    if (ctx == NULL) {
        if ((ctx = EVP_MD_CTX_new()) == NULL)
            return false;
        pthread_setspecific(ctx_key, ctx);
    }
    if (EVP_DigestInit_ex(ctx, md, NULL) != 1)
        return false;
    for (size_t i = 0; i < n; i++)
        if (parts[i].len && EVP_DigestUpdate(ctx, parts[i].base, parts[i].len) != 1)
            return false;
    unsigned int len = 0;
    return EVP_DigestFinal_ex(ctx, out, &len) == 1 && len == DP_SHA256_LEN;
}
