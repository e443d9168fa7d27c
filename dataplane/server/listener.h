/* Listening sockets. The main thread turns the listeners of a snapshot into
 * a listener set: one entry per listener, with one SO_REUSEPORT socket per
 * worker. Entries whose name and address did not change are carried over
 * (same sockets, new config), so a listener update never closes a socket
 * that is accepting; removed listeners' sockets close when the last worker
 * lets go of them. */
#ifndef DP_SERVER_LISTENER_H
#define DP_SERVER_LISTENER_H

#include <stddef.h>

#include "dataplane/http/hcm-t.h"

typedef struct dp_lsock {
    _Atomic int refcnt;
    char *name;
    dp_listener_cfg_t *cfg; /* ref held */
    int *fds;               /* one per worker; none (n_fds 0) when stopped */
    int n_fds;
} dp_lsock_t;

typedef struct dp_lset {
    _Atomic int refcnt;
    dp_lsock_t **v;
    size_t n;
} dp_lset_t;

/* Which listeners are stopped (POST /drain_listeners): they stay in the
 * set, so their connections are not drained as removed ones, but have no
 * socket. */
typedef enum { DP_LSTOP_NONE, DP_LSTOP_INBOUND, DP_LSTOP_ALL } dp_lstop_t;

/* Builds the listener set for `listeners`, reusing sockets from `prev`
 * (may be NULL) and binding none for the stopped ones. On a bind failure
 * returns NULL with errbuf naming the listener and address and *failed (if
 * not NULL) its index; nothing is changed then. */
dp_lset_t *dp_lset_build(const dp_lset_t *prev, dp_listener_cfg_t *const *listeners, size_t n, int n_workers,
                         dp_lstop_t stop, size_t *failed, char *errbuf, size_t errlen);
dp_lset_t *dp_lset_ref(dp_lset_t *s);
void dp_lset_unref(dp_lset_t *s);
dp_lsock_t *dp_lsock_ref(dp_lsock_t *l);
void dp_lsock_unref(dp_lsock_t *l);

/* Binds a listening TCP socket (SO_REUSEADDR, SO_REUSEPORT if reuseport,
 * non-blocking). Returns the fd or -1 with errno. */
int dp_listen_socket(const struct sockaddr *addr, socklen_t len, int reuseport);

#endif
