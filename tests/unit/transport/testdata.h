/* The TLS tests' certificates and keys (testdata/, made by gen.sh),
 * read whole; tests run from the source root. */
#ifndef DP_TESTS_UNIT_TRANSPORT_TESTDATA_H
#define DP_TESTS_UNIT_TRANSPORT_TESTDATA_H

#include <stdio.h>
#include <stdlib.h>

#define TD "tests/unit/transport/testdata/"

typedef struct pem {
    char *p;
    size_t n;
} pem_t;

/* The file's bytes, NUL-terminated (the caller frees p); exits if missing. */
static inline pem_t td_load(const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), TD "%s", name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(2);
    }
    pem_t r = {malloc(65536), 0};
    r.n = fread(r.p, 1, 65535, f);
    r.p[r.n] = 0;
    fclose(f);
    return r;
}

#endif
