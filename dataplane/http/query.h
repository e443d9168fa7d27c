/* Query strings of request paths: percent-decoding, finding a parameter,
 * removing one. Shared by jwt_authn (from_params, forward: false) and the
 * container policy (access_token). Keys are compared percent-decoded. */
#ifndef DP_HTTP_QUERY_H
#define DP_HTTP_QUERY_H

#include <stdbool.h>
#include <stddef.h>

#include "dataplane/core/arena.h"
#include "dataplane/core/common.h"

/* The value of a hex digit, or -1. */
int dp_hexval(char c);

/* The first value of parameter `name` in path's query (after '?', before
 * '#'), percent-decoded ('+' as ' '), NUL-terminated in the arena; NULL
 * when absent. */
char *dp_query_param(dp_arena_t *a, dp_slice_t path, const char *name, size_t *len);

/* Rewrites *path (into the arena) without every pair named `name`, other
 * bytes as they were, and without the '?' when nothing is left. Returns
 * whether something was removed (*path unchanged otherwise). */
bool dp_query_remove(dp_arena_t *a, dp_slice_t *path, const char *name);

#endif
