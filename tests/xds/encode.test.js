'use strict';
// encode.js against protoc: the same message written as proto3 JSON (ours)
// and as text format (protoc --encode, Envoy's real protos) must give the
// same bytes; protoc --decode of our bytes must print the same as of its
// own; decode() must give back canonical proto3 JSON.
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { encode, decode, encodeAny, INCLUDE_DIRS } = require('./encode');

const PROTOS = [
    'envoy/config/cluster/v3/cluster.proto',
    'envoy/config/listener/v3/listener.proto',
    'envoy/config/route/v3/route.proto',
    'envoy/config/endpoint/v3/endpoint.proto',
    'envoy/config/core/v3/extension.proto',
    'envoy/config/core/v3/base.proto',
    'envoy/type/v3/range.proto',
    'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
    'envoy/extensions/filters/http/router/v3/router.proto',
    'envoy/service/discovery/v3/discovery.proto',
];

// protoc with a copy of validate.proto that knows StringRules.ignore_empty
// (the package's copy is older than its Envoy protos; options do not
// change the wire format). Null when protoc is missing.
function protocSetup() {
    if (spawnSync('protoc', ['--version']).status !== 0) return null;
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-xds-protoc-'));
    const pgv = INCLUDE_DIRS.find((d) => d.endsWith('protoc-gen-validate'));
    let v = fs.readFileSync(path.join(pgv, 'validate', 'validate.proto'), 'utf8');
    if (!/ignore_empty/.test(v.slice(v.indexOf('message StringRules')))) {
        // (the file has CRLF line ends)
        v = v.replace(/^message StringRules \{\r?\n/m, (m) => `${m}    optional bool ignore_empty = 26;\n`);
    }
    fs.mkdirSync(path.join(scratch, 'validate'));
    fs.writeFileSync(path.join(scratch, 'validate', 'validate.proto'), v);
    const inc = [scratch, ...INCLUDE_DIRS, '/usr/include'].map((d) => `-I${d}`);
    const run = (args, input) => {
        const r = spawnSync('protoc', [...inc, ...args, ...PROTOS], { input, maxBuffer: 1 << 24 });
        if (r.status !== 0) throw new Error(`protoc ${args.join(' ')}: ${r.stderr.toString()}`);
        return r.stdout;
    };
    return {
        encode: (type, text) => run([`--encode=${type}`], Buffer.from(text)),
        decode: (type, bytes) => run([`--decode=${type}`], bytes).toString(),
        cleanup: () => fs.rmSync(scratch, { recursive: true, force: true }),
    };
}

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';

// [type, proto3 JSON, text format, canonical JSON or null (= same as
// given), exact bytes (false when a map has several entries: map order
// on the wire is not defined)]
const SAMPLES0 = [
    [
        'envoy.config.cluster.v3.Cluster',
        {
            name: 'blue',
            type: 'STATIC',
            connect_timeout: '1.5s',
            lbPolicy: 'LEAST_REQUEST',
            load_assignment: {
                clusterName: 'blue',
                endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '127.0.0.1', portValue: '8080' } } }, loadBalancingWeight: 3 }] }],
            },
            circuitBreakers: { thresholds: [{ maxConnections: 100, maxRetries: 0 }] },
            perConnectionBufferLimitBytes: 32768,
            dnsLookupFamily: 'V4_ONLY',
            metadata: { filterMetadata: { 'envoy.lb': { canary: true } } },
        },
        `name: "blue" type: STATIC connect_timeout { seconds: 1 nanos: 500000000 } lb_policy: LEAST_REQUEST
         load_assignment { cluster_name: "blue" endpoints { lb_endpoints {
           endpoint { address { socket_address { address: "127.0.0.1" port_value: 8080 } } }
           load_balancing_weight { value: 3 } } } }
         circuit_breakers { thresholds { max_connections { value: 100 } max_retries { } } }
         per_connection_buffer_limit_bytes { value: 32768 }
         dns_lookup_family: V4_ONLY
         metadata { filter_metadata { key: "envoy.lb" value { fields { key: "canary" value { bool_value: true } } } } }`,
        {
            name: 'blue',
            type: 'STATIC',
            connectTimeout: '1.500s',
            lbPolicy: 'LEAST_REQUEST',
            loadAssignment: {
                clusterName: 'blue',
                endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '127.0.0.1', portValue: 8080 } } }, loadBalancingWeight: 3 }] }],
            },
            circuitBreakers: { thresholds: [{ maxConnections: 100, maxRetries: 0 }] },
            perConnectionBufferLimitBytes: 32768,
            dnsLookupFamily: 'V4_ONLY',
            metadata: { filterMetadata: { 'envoy.lb': { canary: true } } },
        },
        true,
    ],
    [
        'envoy.config.listener.v3.Listener',
        {
            name: 'ingress',
            address: { socketAddress: { address: '127.0.0.1', portValue: 10000 } },
            filterChains: [{
                filters: [{
                    name: 'envoy.filters.network.http_connection_manager',
                    typedConfig: {
                        '@type': HCM,
                        statPrefix: 'ingress_http',
                        codecType: 'AUTO',
                        rds: { routeConfigName: 'local_route', configSource: { ads: {}, resourceApiVersion: 'V3', initialFetchTimeout: '0s' } },
                        httpFilters: [{ name: 'envoy.filters.http.router', typedConfig: { '@type': ROUTER } }],
                        requestTimeout: '-0.250s',
                    },
                }],
            }],
        },
        `name: "ingress" address { socket_address { address: "127.0.0.1" port_value: 10000 } }
         filter_chains { filters { name: "envoy.filters.network.http_connection_manager"
           typed_config { [${HCM}] {
             stat_prefix: "ingress_http" codec_type: AUTO
             rds { config_source { ads { } resource_api_version: V3 initial_fetch_timeout { } } route_config_name: "local_route" }
             http_filters { name: "envoy.filters.http.router" typed_config { [${ROUTER}] { } } }
             request_timeout { nanos: -250000000 } } } } }`,
        'listener-canonical',
        true,
    ],
    [
        'envoy.service.discovery.v3.DiscoveryResponse',
        {
            versionInfo: '7',
            resources: [{ '@type': 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment', clusterName: 'green', endpoints: [{ priority: 0, lbEndpoints: [{ healthStatus: 'HEALTHY', endpoint: { address: { socketAddress: { address: '127.0.0.1', portValue: 9 } } } }] }] }],
            typeUrl: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
            nonce: 'e1',
            controlPlane: { identifier: 'test' },
        },
        `version_info: "7"
         resources { [type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment] {
           cluster_name: "green" endpoints { lb_endpoints { endpoint { address { socket_address { address: "127.0.0.1" port_value: 9 } } } health_status: HEALTHY } } } }
         type_url: "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment" nonce: "e1"
         control_plane { identifier: "test" }`,
        {
            versionInfo: '7',
            resources: [{ '@type': 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment', clusterName: 'green', endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '127.0.0.1', portValue: 9 } } }, healthStatus: 'HEALTHY' }] }] }],
            typeUrl: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
            nonce: 'e1',
            controlPlane: { identifier: 'test' },
        },
        true,
    ],
    [
        'envoy.service.discovery.v3.DeltaDiscoveryRequest',
        {
            node: { id: 'test-node', cluster: 'test', userAgentName: 'dp', metadata: { a: [1, 'x', null, { b: false }] } },
            typeUrl: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
            resourceNamesSubscribe: ['*', 'blue'],
            initial_resource_versions: { blue: '3' },
            responseNonce: 'c2',
            errorDetail: { code: 3, message: 'blue: lb_policy', details: [{ '@type': 'type.googleapis.com/google.protobuf.Duration', value: '3s' }] },
        },
        `node { id: "test-node" cluster: "test" user_agent_name: "dp"
           metadata { fields { key: "a" value { list_value { values { number_value: 1 } values { string_value: "x" } values { null_value: NULL_VALUE } values { struct_value { fields { key: "b" value { bool_value: false } } } } } } } } }
         type_url: "type.googleapis.com/envoy.config.cluster.v3.Cluster"
         resource_names_subscribe: "*" resource_names_subscribe: "blue"
         initial_resource_versions { key: "blue" value: "3" }
         response_nonce: "c2"
         error_detail { code: 3 message: "blue: lb_policy" details { [type.googleapis.com/google.protobuf.Duration] { seconds: 3 } } }`,
        null,
        true,
    ],
    [
        'envoy.config.core.v3.TypedExtensionConfig',
        { name: 'ranges', typedConfig: { '@type': 'type.googleapis.com/envoy.type.v3.Int64Range', start: '-9007199254740993', end: 18446744073 } },
        `name: "ranges" typed_config { [type.googleapis.com/envoy.type.v3.Int64Range] { start: -9007199254740993 end: 18446744073 } }`,
        { name: 'ranges', typedConfig: { '@type': 'type.googleapis.com/envoy.type.v3.Int64Range', start: '-9007199254740993', end: '18446744073' } },
        true,
    ],
    [
        'envoy.config.core.v3.DataSource',
        { inlineBytes: 'AAEC/w==' },
        'inline_bytes: "\\000\\001\\002\\377"',
        null,
        true,
    ],
    [
        'envoy.config.core.v3.Metadata',
        { filterMetadata: { z: { k: 1.25, s: 'v' }, a: { t: true } }, typedFilterMetadata: { x: { '@type': 'type.googleapis.com/google.protobuf.StringValue', value: 'hi' } } },
        `filter_metadata { key: "a" value { fields { key: "t" value { bool_value: true } } } }
         filter_metadata { key: "z" value { fields { key: "k" value { number_value: 1.25 } } fields { key: "s" value { string_value: "v" } } } }
         typed_filter_metadata { key: "x" value { [type.googleapis.com/google.protobuf.StringValue] { value: "hi" } } }`,
        null,
        false,
    ],
];

// The Listener's canonical form: codec_type AUTO is the default, so absent.
const SAMPLES = SAMPLES0.map((s) => {
    if (s[3] !== 'listener-canonical') return s;
    const c = JSON.parse(JSON.stringify(s[1]));
    delete c.filterChains[0].filters[0].typedConfig.codecType;
    return [s[0], s[1], s[2], c, s[4]];
});

test('encode.js gives the bytes protoc gives, with Envoy\'s protos', (t) => {
    const pc = protocSetup();
    if (!pc) {
        t.skip('protoc not installed');
        return;
    }
    try {
        for (const [type, json, text, , exact] of SAMPLES) {
            const ours = encode(type, json);
            const theirs = pc.encode(type, text);
            if (exact) assert.equal(ours.toString('hex'), theirs.toString('hex'), `${type}: bytes differ`);
            // protoc reads our bytes as the same message (no unknown fields)
            const a = pc.decode(type, ours);
            assert.equal(a, pc.decode(type, theirs), `${type}: protoc --decode differs`);
            assert.doesNotMatch(a, /^\s*\d+:/m, `${type}: unknown fields in ${a}`);
        }
    } finally {
        pc.cleanup();
    }
});

test('decode gives canonical proto3 JSON', () => {
    for (const [type, json, , canonicalJson] of SAMPLES) {
        const want = canonicalJson || json;
        const got = decode(type, encode(type, json));
        assert.deepEqual(normalizeKeys(got), normalizeKeys(want), type);
        // and canonical JSON is a fixed point
        assert.deepEqual(decode(type, encode(type, got)), got, `${type}: not a fixed point`);
    }
});

// deepEqual on objects ignores key order already; canonicalise the
// snake_case keys of hand-written inputs to compare with decode's output.
function normalizeKeys(v) {
    if (Array.isArray(v)) return v.map(normalizeKeys);
    if (v && typeof v === 'object') {
        const o = {};
        for (const [k, x] of Object.entries(v)) {
            const key = k.includes('_') && !k.includes('.') ? k.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase()) : k;
            o[key] = normalizeKeys(x);
        }
        return o;
    }
    return v;
}

test('well-known types in their JSON form', () => {
    const d = (s) => decode('google.protobuf.Duration', encode('google.protobuf.Duration', s));
    assert.equal(d('1s'), '1s');
    assert.equal(d('0.5s'), '0.500s');
    assert.equal(d('-0.000001s'), '-0.000001s');
    assert.equal(d('-3.000000001s'), '-3.000000001s');
    assert.equal(d('0s'), '0s');
    const ts = (s) => decode('google.protobuf.Timestamp', encode('google.protobuf.Timestamp', s));
    assert.equal(ts('2024-02-29T12:34:56Z'), '2024-02-29T12:34:56Z');
    assert.equal(ts('2024-02-29T12:34:56.120Z'), '2024-02-29T12:34:56.120Z');
    assert.equal(ts('2024-02-29T14:34:56+02:00'), '2024-02-29T12:34:56Z');
    assert.equal(decode('google.protobuf.UInt32Value', encode('google.protobuf.UInt32Value', 7)), 7);
    assert.equal(decode('google.protobuf.UInt64Value', encode('google.protobuf.UInt64Value', '18446744073709551615')), '18446744073709551615');
    assert.equal(decode('google.protobuf.BoolValue', encode('google.protobuf.BoolValue', false)), false);
    assert.equal(decode('google.protobuf.BytesValue', encode('google.protobuf.BytesValue', 'aGk=')), 'aGk=');
    assert.equal(decode('google.protobuf.FieldMask', encode('google.protobuf.FieldMask', 'a.bC,d')), 'a.bC,d');
    assert.deepEqual(decode('google.protobuf.Struct', encode('google.protobuf.Struct', { a: [1, 'x', null, { b: {} }] })), { a: [1, 'x', null, { b: {} }] });
    assert.deepEqual(decode('google.protobuf.Value', encode('google.protobuf.Value', 'NaN')), 'NaN');
    // an Any holding a well-known type keeps it in "value"
    const any = { '@type': 'type.googleapis.com/google.protobuf.Struct', value: { k: 'v' } };
    assert.deepEqual(decode('google.protobuf.Any', encode('google.protobuf.Any', any)), any);
    const a = encodeAny({ '@type': 'type.googleapis.com/google.protobuf.Duration', value: '2s' });
    assert.equal(a.typeUrl, 'type.googleapis.com/google.protobuf.Duration');
    assert.equal(a.value.toString('hex'), '0802');
});

test('mistakes in the JSON are errors, not silently dropped', () => {
    const C = 'envoy.config.cluster.v3.Cluster';
    assert.throws(() => encode(C, { name: 'x', lbPolicyy: 'RANDOM' }), /unknown field "lbPolicyy"/);
    assert.throws(() => encode(C, { lbPolicy: 'NOPE' }), /unknown value "NOPE"/);
    assert.throws(() => encode(C, { connectTimeout: '5' }), /bad Duration/);
    assert.throws(() => encode(C, { type: 'STATIC', clusterType: { name: 'x' } }), /oneof/);
    assert.throws(() => encode(C, { perConnectionBufferLimitBytes: -1 }), /out of range/);
    assert.throws(() => encode(C, { transportSocket: { typedConfig: { '@type': 'type.googleapis.com/no.such.Type' } } }), /unknown protobuf type no\.such\.Type/);
    assert.throws(() => encode(C, { name: 5 }), /expected a string/);
});
