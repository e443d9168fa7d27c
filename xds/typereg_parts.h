/* Parts of the type registry contributed by HTTP filter areas: each
 * xds/typereg_<area>.c lists the config messages of its filters (any
 * order, map entry types included); xds/typereg.c merges them. */
#ifndef DP_XDS_TYPEREG_PARTS_H
#define DP_XDS_TYPEREG_PARTS_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

typedef struct dp_typereg_part {
    const ProtobufCMessageDescriptor *const *v;
    size_t n;
} dp_typereg_part_t;

extern const dp_typereg_part_t dp_typereg_part_jwt_authn;  /* xds/typereg_jwt_authn.c */
extern const dp_typereg_part_t dp_typereg_part_basic_auth; /* xds/typereg_basic_auth.c */
extern const dp_typereg_part_t dp_typereg_part_rbac;       /* xds/typereg_rbac.c */
extern const dp_typereg_part_t dp_typereg_part_containers; /* xds/typereg_containers.c */
extern const dp_typereg_part_t dp_typereg_part_tls;        /* xds/typereg_tls.c */
extern const dp_typereg_part_t dp_typereg_part_upstreams;  /* xds/typereg_upstreams.c */
extern const dp_typereg_part_t dp_typereg_part_status;     /* xds/typereg_status.c */
extern const dp_typereg_part_t dp_typereg_part_health;     /* xds/typereg_health.c */
extern const dp_typereg_part_t dp_typereg_part_transparent; /* xds/typereg_transparent.c */

#endif
