/* The platform's permission model (docs/permissions.md), compiled from a
 * dataplane.containers.v1.Policy: groups of type jwt | password | ip |
 * token, each granting services (full or read-only); a request is granted
 * when any group that the request's credentials satisfy grants its
 * service and method; otherwise the default action decides. The checks use
 * the same engines as the Envoy filters (filters/auth/). */
#ifndef DP_FILTERS_CONTAINERS_POLICY_H
#define DP_FILTERS_CONTAINERS_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

struct dp_stream;

typedef struct dp_policy dp_policy_t;

/* msg: a dataplane.containers.v1.Policy. NULL with errbuf on error (the
 * path is relative to the policy: "groups[1].ip.cidrs[0]: ..."). */
dp_policy_t *dp_policy_compile(const ProtobufCMessage *msg, char *errbuf, size_t errlen);
dp_policy_t *dp_policy_ref(dp_policy_t *p);
void dp_policy_unref(dp_policy_t *p);

typedef enum {
    DP_POLICY_ALLOW = 0,
    DP_POLICY_UNAUTHENTICATED = 401, /* no group matched and credentials were missing or wrong */
    DP_POLICY_FORBIDDEN = 403,       /* authenticated, but no group grants this service / method */
} dp_policy_result_t;

#endif

/* Evaluation. The decision may need slow work (a bcrypt or yescrypt hash
 * off the event loop): then dp_policy_check() returns DP_POLICY_PENDING and
 * later calls done(s, arg, result) on the stream's worker, unless
 * dp_policy_cancel(pending) was called first (the stream went away).
 * `pending` is caller-provided storage (the filter's per-request state).
 * On 401, *challenge is the WWW-Authenticate value to send (static or in
 * the stream's arena), or NULL. On ALLOW, the credentials the policy used
 * are removed from the request unless the policy forwards them. */
#define DP_POLICY_PENDING 1
typedef struct dp_policy_pending {
    void *job; /* in flight, NULL when idle */
} dp_policy_pending_t;
typedef void (*dp_policy_done_t)(struct dp_stream *s, void *arg, int result, const char *challenge);
int dp_policy_check(const dp_policy_t *p, struct dp_stream *s, const char *service, size_t service_len,
                    dp_policy_pending_t *pending, dp_policy_done_t done, void *arg, const char **challenge);
void dp_policy_cancel(dp_policy_pending_t *pending);
