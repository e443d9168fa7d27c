'use strict';
// Envoy resources in proto3 JSON for the integration tests.
const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';

const sock = (port) => ({ socketAddress: { address: '127.0.0.1', portValue: port } });

function cla(name, ...ports) {
    return { clusterName: name, endpoints: [{ lbEndpoints: ports.map((p) => ({ endpoint: { address: sock(p) } })) }] };
}

function staticCluster(name, port, extra = {}) {
    return Object.assign({ name, type: 'STATIC', connectTimeout: '1s', loadAssignment: cla(name, port) }, extra);
}

function edsCluster(name) {
    return { name, type: 'EDS', connectTimeout: '1s', edsClusterConfig: { edsConfig: { ads: {}, resourceApiVersion: 'V3' } } };
}

// routes: [[vhost name, [domains], cluster], ...]
function routeConfig(name, routes) {
    return {
        name,
        virtualHosts: routes.map(([vh, domains, cluster]) => ({ name: vh, domains, routes: [{ match: { prefix: '/' }, route: { cluster } }] })),
    };
}

// {port, routes} for an inline route config or {port, rds: name}.
function listener({ name = 'ingress', port, routes, rds }) {
    const hcm = { '@type': HCM, statPrefix: 'ingress_http' };
    if (rds) hcm.rds = { routeConfigName: rds, configSource: { ads: {}, resourceApiVersion: 'V3' } };
    else hcm.routeConfig = routeConfig('local_route', routes);
    hcm.httpFilters = [{ name: 'envoy.filters.http.router', typedConfig: { '@type': ROUTER } }];
    return {
        name,
        address: sock(port),
        filterChains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typedConfig: hcm }] }],
    };
}

module.exports = { cla, staticCluster, edsCluster, routeConfig, listener, HCM, ROUTER };
