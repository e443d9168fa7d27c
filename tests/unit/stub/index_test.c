/* control-stub's string -> index map: puts, updates, and deletions that
 * must not break the probe runs of the keys that stay (backward shift),
 * checked against a plain array model over many random operations. */
#include "control-stub/stub_util.c"

#include <stdio.h>

#include "test.h"

#define NKEYS 4000

static char keys[NKEYS][16];
static size_t model[NKEYS]; /* (size_t)-1: absent */

int main(void)
{
    dp_stub_index_t x = {0};
    for (size_t i = 0; i < NKEYS; i++) {
        snprintf(keys[i], sizeof keys[i], "k%zu", i);
        model[i] = (size_t)-1;
    }
    CHECK_INT((long)dp_stub_index_get(&x, "k1"), -1); /* empty index */
    unsigned seed = 7;
    size_t mismatches = 0, present = 0;
    for (int op = 0; op < 200000; op++) {
        seed = seed * 1103515245u + 12345u;
        size_t k = (seed >> 8) % NKEYS;
        int what = (int)((seed >> 4) % 3);
        if (what == 0 && model[k] == (size_t)-1) {
            dp_stub_index_put(&x, keys[k], (size_t)op);
            model[k] = (size_t)op;
            present++;
        } else if (what == 1 && model[k] != (size_t)-1) {
            dp_stub_index_set(&x, keys[k], (size_t)op);
            model[k] = (size_t)op;
        } else if (what == 2) {
            if (model[k] != (size_t)-1)
                present--;
            dp_stub_index_del(&x, keys[k]);
            model[k] = (size_t)-1;
        }
        if (op % 997 == 0) /* full check now and then */
            for (size_t i = 0; i < NKEYS; i++)
                mismatches += dp_stub_index_get(&x, keys[i]) != model[i];
    }
    for (size_t i = 0; i < NKEYS; i++)
        mismatches += dp_stub_index_get(&x, keys[i]) != model[i];
    CHECK_INT((long)mismatches, 0);
    CHECK_INT((long)x.n, (long)present);
    dp_stub_index_del(&x, "absent"); /* no-op */
    CHECK_INT((long)x.n, (long)present);
    dp_stub_index_free(&x);
    TEST_DONE();
}
