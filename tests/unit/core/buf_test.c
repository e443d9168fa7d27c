/* dp_buf_t and dp_arena_t: growth, consumption, release when empty, the
 * arena's per-thread spare chunks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/core/arena.h"
#include "dataplane/core/buf.h"
#include "test.h"

static void test_buf(void)
{
    dp_buf_t b = {0};
    CHECK(b.base == NULL);
    dp_buf_append(&b, "hello", 5);
    CHECK_INT(b.len, 5);
    CHECK_INT(b.cap, DP_BUF_CHUNK);
    CHECK_MEM(dp_buf_data(&b), b.len, "hello");
    dp_buf_consume(&b, 2);
    CHECK_MEM(dp_buf_data(&b), b.len, "llo");
    dp_buf_consume(&b, 3);
    CHECK(b.base == NULL); /* released when empty: idle connections hold nothing */
    CHECK_INT(b.len, 0);

    /* growth past one chunk keeps the data */
    char *big = malloc(100000);
    for (int i = 0; i < 100000; i++)
        big[i] = (char)(i * 7);
    dp_buf_append(&b, big, 40000);
    dp_buf_append(&b, big + 40000, 60000);
    CHECK_INT(b.len, 100000);
    CHECK(memcmp(dp_buf_data(&b), big, 100000) == 0);
    dp_buf_consume(&b, 99990);
    CHECK(memcmp(dp_buf_data(&b), big + 99990, 10) == 0);
    /* reserving compacts before growing */
    size_t avail;
    char *p = dp_buf_reserve(&b, 100, &avail);
    CHECK(p == dp_buf_data(&b) + b.len);
    CHECK(avail >= 100);
    dp_buf_free(&b);
    CHECK(b.base == NULL);
    free(big);
}

static void test_arena(void)
{
    dp_arena_t a = {0};
    char *s = dp_arena_strndup(&a, "abcdef", 3);
    CHECK_STR(s, "abc");
    size_t n;
    char *f = dp_arena_printf(&a, &n, "%d-%s", 42, "x");
    CHECK_STR(f, "42-x");
    CHECK_INT(n, 4);
    void *big = dp_arena_alloc(&a, 100000); /* larger than a chunk */
    memset(big, 1, 100000);
    CHECK(((uintptr_t)dp_arena_alloc(&a, 3) & 7) == 0);
    CHECK_STR(s, "abc"); /* earlier allocations stay valid */
    dp_arena_free(&a);
    CHECK(a.head == NULL);
}

/* A freed standard chunk serves the thread's next arena (not under ASan,
 * where every chunk goes back to malloc); the release at thread exit frees
 * them (valgrind sees no leak). */
static void test_arena_spare(void)
{
    dp_arena_t a = {0}, b = {0};
    char *p = dp_arena_alloc(&a, 16);
    memset(p, 7, 16);
    dp_arena_free(&a);
    char *q = dp_arena_alloc(&b, 16);
    memset(q, 9, 16);
#if !defined(__SANITIZE_ADDRESS__)
    CHECK(q == p);
#endif
    memset(dp_arena_alloc(&b, 50000), 1, 50000); /* an oversized block: freed, not kept */
    dp_arena_free(&b);
    dp_arena_cache_release();
    char *r = dp_arena_alloc(&a, 8); /* works after the release */
    CHECK(r != NULL);
    dp_arena_free(&a);
    dp_arena_cache_release();
}

int main(void)
{
    test_buf();
    test_arena();
    test_arena_spare();
    TEST_DONE();
}
