#include "xds/pb_arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

struct dp_pb_chunk {
    dp_pb_chunk_t *next;
    size_t size; /* mapped, this header included */
};

#define PB_CHUNK (1u << 20)     /* 1 MiB */
#define PB_ALIGN 16u            /* what malloc gives: any field type fits */
#define PB_HDR (((sizeof(dp_pb_chunk_t) + PB_ALIGN - 1) / PB_ALIGN) * PB_ALIGN)

static void *arena_alloc(void *data, size_t n)
{
    dp_pb_arena_t *a = data;
    n = (n + PB_ALIGN - 1) & ~(size_t)(PB_ALIGN - 1);
    if (n == 0)
        n = PB_ALIGN;
    if (n > a->left) {
        /* a big object (a bytes field) gets a chunk of its own; the
         * current chunk keeps serving small ones */
        size_t size = n + PB_HDR > PB_CHUNK ? n + PB_HDR : PB_CHUNK;
        void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return NULL; /* protobuf-c fails the decode */
        dp_pb_chunk_t *c = p;
        c->size = size;
        c->next = a->head;
        a->head = c;
        a->mapped += size;
        if (size > PB_CHUNK)
            return (char *)p + PB_HDR;
        a->cur = (char *)p + PB_HDR;
        a->left = size - PB_HDR;
    }
    void *r = a->cur;
    a->cur += n;
    a->left -= n;
    return r;
}

static void arena_free(void *data, void *p)
{
    (void)data;
    (void)p; /* released with the arena */
}

void dp_pb_arena_init(dp_pb_arena_t *a)
{
    a->alloc.alloc = arena_alloc;
    a->alloc.free = arena_free;
    a->alloc.allocator_data = a;
    a->head = NULL;
    a->cur = NULL;
    a->left = 0;
    a->mapped = 0;
}

void dp_pb_arena_release(dp_pb_arena_t *a)
{
    dp_pb_chunk_t *c = a->head;
    while (c) {
        dp_pb_chunk_t *next = c->next;
        munmap(c, c->size);
        c = next;
    }
    dp_pb_arena_init(a);
}
