/* dp_sha256: FIPS 180-2 test vectors, parts equal to their concatenation,
 * and the same answers from several threads (one context each). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "test.h"

#include "filters/auth/sha256.h"

static void hex(const uint8_t *d, char *out)
{
    for (int i = 0; i < DP_SHA256_LEN; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

static void check_one(const char *msg, const char *want)
{
    uint8_t d[DP_SHA256_LEN];
    char h[2 * DP_SHA256_LEN + 1];
    dp_slice_t s = {msg, strlen(msg)};
    CHECK(dp_sha256(&s, 1, d));
    hex(d, h);
    CHECK_STR(h, want);
}

static void test_vectors(void)
{
    check_one("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check_one("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    check_one("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_parts(void)
{
    uint8_t a[DP_SHA256_LEN], b[DP_SHA256_LEN];
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    dp_slice_t whole = {m, strlen(m)};
    dp_slice_t parts[] = {{m, 5}, {NULL, 0}, {m + 5, 30}, {m + 35, strlen(m) - 35}};
    CHECK(dp_sha256(&whole, 1, a));
    CHECK(dp_sha256(parts, 4, b));
    CHECK(memcmp(a, b, sizeof(a)) == 0);
    /* the context is reused: a second digest is not the first continued */
    CHECK(dp_sha256(&whole, 1, b));
    CHECK(memcmp(a, b, sizeof(a)) == 0);
}

static void *thread_main(void *arg)
{
    int *ok = arg;
    *ok = 1;
    for (int i = 0; i < 1000; i++) {
        uint8_t d[DP_SHA256_LEN];
        char h[2 * DP_SHA256_LEN + 1];
        dp_slice_t s = DP_SLICE_LIT("abc");
        if (!dp_sha256(&s, 1, d))
            *ok = 0;
        hex(d, h);
        if (strcmp(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") != 0)
            *ok = 0;
    }
    return NULL;
}

static void test_threads(void)
{
    pthread_t t[4];
    int ok[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, thread_main, &ok[i]);
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK_INT(ok[i], 1);
    }
}

int main(void)
{
    test_vectors();
    test_parts();
    test_threads();
    TEST_DONE();
}
