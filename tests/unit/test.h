/* Minimal unit test harness: CHECK macros count, main() ends with
 * TEST_DONE() which prints "N passed, N failed" and sets the exit code. */
#ifndef DP_TEST_H
#define DP_TEST_H
#include <stdio.h>
#include <string.h>

static int test_passed_, test_failed_;

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (cond) {                                                              \
            test_passed_++;                                                      \
        } else {                                                                 \
            test_failed_++;                                                      \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                        \
    } while (0)

#define CHECK_INT(a, b)                                                          \
    do {                                                                         \
        long long a_ = (long long)(a), b_ = (long long)(b);                      \
        if (a_ == b_) {                                                          \
            test_passed_++;                                                      \
        } else {                                                                 \
            test_failed_++;                                                      \
            fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", __FILE__, \
                    __LINE__, #a, a_, #b, b_);                                   \
        }                                                                        \
    } while (0)

#define CHECK_STR(a, b)                                                          \
    do {                                                                         \
        const char *a_ = (a), *b_ = (b);                                         \
        if (a_ && b_ && strcmp(a_, b_) == 0) {                                   \
            test_passed_++;                                                      \
        } else {                                                                 \
            test_failed_++;                                                      \
            fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__,  \
                    __LINE__, #a, a_ ? a_ : "(null)", b_ ? b_ : "(null)");       \
        }                                                                        \
    } while (0)

/* slice (ptr,len) equals C string */
#define CHECK_MEM(p, n, s)                                                       \
    do {                                                                         \
        const char *p_ = (const char *)(p); size_t n_ = (n); const char *s_ = (s); \
        if (p_ && strlen(s_) == n_ && memcmp(p_, s_, n_) == 0) {                 \
            test_passed_++;                                                      \
        } else {                                                                 \
            test_failed_++;                                                      \
            fprintf(stderr, "%s:%d: %s == \"%.*s\", expected \"%s\"\n", __FILE__, \
                    __LINE__, #p, p_ ? (int)n_ : 6, p_ ? p_ : "(null)", s_);      \
        }                                                                        \
    } while (0)

/* C string s contains frag */
#define CHECK_HAS(s, frag)                                                       \
    do {                                                                         \
        const char *h_ = (s), *f_ = (frag);                                      \
        if (h_ && strstr(h_, f_)) {                                              \
            test_passed_++;                                                      \
        } else {                                                                 \
            test_failed_++;                                                      \
            fprintf(stderr, "%s:%d: %s == \"%s\", expected to contain \"%s\"\n", \
                    __FILE__, __LINE__, #s, h_ ? h_ : "(null)", f_);             \
        }                                                                        \
    } while (0)

#define TEST_DONE()                                                              \
    do {                                                                         \
        printf("%d passed, %d failed\n", test_passed_, test_failed_);            \
        return test_failed_ ? 1 : 0;                                             \
    } while (0)

#endif
