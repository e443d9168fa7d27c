/* Helpers shared by the control stub's files. */
#include "control-stub/stub_util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static void oom(void)
{
    fputs("control-stub: out of memory\n", stderr);
    abort();
}

void *dp_stub_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        oom();
    return p;
}

void *dp_stub_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL)
        oom();
    return p;
}

void *dp_stub_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        oom();
    return q;
}

char *dp_stub_xstrdup(const char *s)
{
    char *p = strdup(s);
    if (p == NULL)
        oom();
    return p;
}

char *dp_stub_read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = dp_stub_xmalloc(cap);
    for (;;) {
        if (n + 1 >= cap)
            buf = dp_stub_xrealloc(buf, cap *= 2);
        size_t got = fread(buf + n, 1, cap - n - 1, fp);
        n += got;
        if (got == 0)
            break;
    }
    int bad = ferror(fp);
    fclose(fp);
    if (bad) {
        free(buf);
        errno = EIO;
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

void dp_stub_log(const char *fmt, ...)
{
    char ts[32];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    va_list ap;
    va_start(ap, fmt);
    /* One fprintf per line so lines of concurrent writers do not mix. */
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s.%03dZ control-stub: %s\n", ts, (int)(tv.tv_usec / 1000), msg);
    fflush(stderr);
}

static size_t index_hash(const char *k)
{
    uint64_t h = 1469598103934665603ull;
    for (; *k; k++)
        h = (h ^ (unsigned char)*k) * 1099511628211ull;
    return (size_t)(h ^ (h >> 29));
}

void dp_stub_index_put(dp_stub_index_t *x, const char *key, size_t val)
{
    if (2 * (x->n + 1) > x->cap) {
        dp_stub_index_t g = {NULL, NULL, x->cap ? 2 * x->cap : 64, 0};
        g.keys = dp_stub_xcalloc(g.cap, sizeof(*g.keys));
        g.vals = dp_stub_xcalloc(g.cap, sizeof(*g.vals));
        for (size_t i = 0; i < x->cap; i++)
            if (x->keys[i])
                dp_stub_index_put(&g, x->keys[i], x->vals[i]);
        dp_stub_index_free(x);
        *x = g;
    }
    size_t i = index_hash(key) & (x->cap - 1);
    while (x->keys[i])
        i = (i + 1) & (x->cap - 1);
    x->keys[i] = key;
    x->vals[i] = val;
    x->n++;
}

void dp_stub_index_free(dp_stub_index_t *x)
{
    free(x->keys);
    free(x->vals);
    x->keys = NULL;
    x->vals = NULL;
    x->cap = x->n = 0;
}

static size_t index_slot(const dp_stub_index_t *x, const char *key)
{
    if (x->cap == 0)
        return (size_t)-1;
    for (size_t i = index_hash(key) & (x->cap - 1);; i = (i + 1) & (x->cap - 1)) {
        if (x->keys[i] == NULL)
            return (size_t)-1;
        if (strcmp(x->keys[i], key) == 0)
            return i;
    }
}

size_t dp_stub_index_get(const dp_stub_index_t *x, const char *key)
{
    size_t i = index_slot(x, key);
    return i == (size_t)-1 ? (size_t)-1 : x->vals[i];
}

void dp_stub_index_set(dp_stub_index_t *x, const char *key, size_t val)
{
    size_t i = index_slot(x, key);
    if (i != (size_t)-1)
        x->vals[i] = val;
}

/* Linear probing's backward-shift deletion: later entries of the probe run
 * move up so that no lookup stops early at the hole. */
void dp_stub_index_del(dp_stub_index_t *x, const char *key)
{
    size_t hole = index_slot(x, key);
    if (hole == (size_t)-1)
        return;
    size_t mask = x->cap - 1;
    x->keys[hole] = NULL;
    x->n--;
    for (size_t j = (hole + 1) & mask; x->keys[j]; j = (j + 1) & mask) {
        size_t home = index_hash(x->keys[j]) & mask;
        /* j's entry may fill the hole if its home is not in (hole, j] */
        bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (stays)
            continue;
        x->keys[hole] = x->keys[j];
        x->vals[hole] = x->vals[j];
        x->keys[j] = NULL;
        hole = j;
    }
}
