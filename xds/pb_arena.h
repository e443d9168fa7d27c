/* A protobuf-c allocator for what lives only while one xDS response is
 * processed: the response itself and, for catalogue types, the decoded
 * resources. Bump allocation in chunks mapped with mmap, free() a no-op,
 * everything unmapped at once by dp_pb_arena_release().
 *
 * Why: a 100k-container response decodes into millions of small objects.
 * From malloc they interleave with the catalogue records built meanwhile,
 * and once freed leave holes that pin the heap's pages (tens of MB of RSS
 * that malloc_trim cannot return); here they never touch the heap. */
#ifndef DP_XDS_PB_ARENA_H
#define DP_XDS_PB_ARENA_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

typedef struct dp_pb_chunk dp_pb_chunk_t;

typedef struct dp_pb_arena {
    ProtobufCAllocator alloc; /* pass &arena->alloc to protobuf-c */
    dp_pb_chunk_t *head;
    char *cur;
    size_t left;
    size_t mapped; /* bytes mapped, for the logs and tests */
} dp_pb_arena_t;

void dp_pb_arena_init(dp_pb_arena_t *a);
/* Unmaps every chunk; the arena is empty and usable again. */
void dp_pb_arena_release(dp_pb_arena_t *a);

#endif
