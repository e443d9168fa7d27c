/* dataplane.filters.http.containers: the container routing filter
 * (config dataplane.containers.v1.ContainerRouting, docs/containers.md).
 * Parses the Host into (container, service, instance) with
 * filters/containers/hostname.h, finds the container in the catalogue
 * (filters/containers/catalogue.h), enforces its policy
 * (filters/containers/policy.h) and sets the stream's original_dst for the
 * route's ORIGINAL_DST cluster. Hosts of no container form continue to the
 * standard virtual hosts. */
#ifndef DP_FILTERS_CONTAINERS_H
#define DP_FILTERS_CONTAINERS_H

#include "filters/filter.h"

#define DP_CONTAINERS_FILTER_NAME "dataplane.filters.http.containers"

extern const dp_http_filter_factory_t dp_filter_containers;

#endif
