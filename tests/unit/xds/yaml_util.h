/* Test helpers shared by the xDS unit tests: a bootstrap from YAML text,
 * printf into a rotating set of buffers for building YAML, and a PEM as a
 * YAML scalar. Header-only (static functions), included by one test
 * file each. */
#ifndef DP_TESTS_UNIT_XDS_YAML_UTIL_H
#define DP_TESTS_UNIT_XDS_YAML_UTIL_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xds/bootstrap.h"

/* The bootstrap `yaml` loads into (through a temporary file, as the data
 * plane reads one); NULL after printing the loader's error. */
static inline dp_bootstrap_t *boot_from_yaml(const char *yaml)
{
    char path[] = "/tmp/dp_unit_boot_XXXXXX.yaml";
    char err[1024];
    dp_bootstrap_t *b = NULL;
    int fd = mkstemps(path, 5);
    if (fd < 0)
        return NULL;
    if (write(fd, yaml, strlen(yaml)) != (ssize_t)strlen(yaml))
        fprintf(stderr, "short write\n");
    close(fd);
    if (dp_bootstrap_load(path, NULL, &b, err, sizeof(err)) != 0)
        fprintf(stderr, "bootstrap: %s\n", err);
    unlink(path);
    return b;
}

/* printf into the next of Y_NBUF rotating buffers of Y_BUFSZ bytes: the
 * YAML pieces of one response or bootstrap. y_free() at the end. */
#define Y_NBUF 256
#define Y_BUFSZ 16384
static char *y_bufs[Y_NBUF];
static int y_next;

static const char *Y(const char *f, ...) __attribute__((format(printf, 1, 2), unused));
static const char *Y(const char *f, ...)
{
    va_list ap;
    char *b = y_bufs[y_next];
    if (b == NULL)
        b = y_bufs[y_next] = malloc(Y_BUFSZ);
    y_next = (y_next + 1) % Y_NBUF;
    va_start(ap, f);
    vsnprintf(b, Y_BUFSZ, f, ap);
    va_end(ap);
    return b;
}

/* A PEM (or any text) as a YAML double-quoted scalar, newlines escaped. */
static inline const char *y_pem(const char *pem)
{
    char tmp[Y_BUFSZ];
    size_t k = 0;
    tmp[k++] = '"';
    for (const char *p = pem; *p && k < sizeof(tmp) - 4; p++) {
        if (*p == '\n') {
            tmp[k++] = '\\';
            tmp[k++] = 'n';
        } else {
            tmp[k++] = *p;
        }
    }
    tmp[k++] = '"';
    tmp[k] = '\0';
    return Y("%s", tmp);
}

static inline void y_free(void)
{
    for (int i = 0; i < Y_NBUF; i++) {
        free(y_bufs[i]);
        y_bufs[i] = NULL;
    }
}

#endif
