'use strict';
// A small ADS client (grpc-js) that follows the xDS protocol the way the
// data plane must: used to check server.js and replay.js on their own, and
// as the reference of what the hand-written streams expect.
//
//  - first request of every stream carries the Node; CDS first, then LDS;
//    LDS/CDS wildcard, RDS/EDS by name (names taken from the accepted
//    listeners' HCM rds and the EDS clusters);
//  - ACK: version_info + nonce of the response; NACK: last accepted version,
//    the nonce, error_detail {code 3, message naming resource and field};
//    valid resources of a partly rejected response are still applied;
//  - SotW: LDS/CDS resources missing from a response are deleted;
//  - Delta: subscribe/unsubscribe, initial_resource_versions on a new
//    stream, removed_resources;
//  - a broken stream is reopened after a backoff with the last accepted
//    versions (never an old nonce).
const grpc = require('@grpc/grpc-js');
const { encode, decode, TYPE_URL } = require('./encode');
const { ADS_SERVICE, T_REQ, T_RESP, T_DREQ, T_DRESP } = require('./server');

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ORDER = [TYPE_URL.CDS, TYPE_URL.EDS, TYPE_URL.LDS, TYPE_URL.RDS];

// The default validation: what our data plane refuses, as far as the
// self-checks need it.
function defaultValidate(typeUrl, name, res) {
    if (typeUrl === TYPE_URL.CDS) {
        if (res.lbPolicy && !['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM'].includes(res.lbPolicy)) {
            return `${name}: lb_policy: unsupported lb_policy ${res.lbPolicy}`;
        }
        if (res.dnsLookupFamily) return `${name}: dns_lookup_family: unsupported field (not implemented)`;
    }
    return null;
}

class FakeAdsClient {
    // nodeOnEveryRequest: misbehave like Envoy without
    // set_node_on_first_message_only (self-checks of the replayer).
    constructor({ target, delta = false, node = { id: 'test-node', cluster: 'test' }, validate = defaultValidate, backoffMs = 200, nodeOnEveryRequest = false }) {
        this.nodeOnEveryRequest = nodeOnEveryRequest;
        const Client = grpc.makeGenericClientConstructor(ADS_SERVICE, 'AggregatedDiscoveryService');
        this.client = new Client(target, grpc.credentials.createInsecure());
        this.delta = delta;
        this.node = node;
        this.validate = validate;
        this.backoffMs = backoffMs;
        this.stopped = false;
        this.call = null;
        this.streams = 0;
        this.sentOnStream = 0;
        // per type: accepted resources (name -> {json, version}), last
        // accepted version, latest nonce, subscribed names (RDS/EDS)
        this.types = new Map(ORDER.map((t) => [t, { resources: new Map(), version: '', nonce: '', names: new Set(), started: false }]));
        this.events = [];
    }

    start() {
        this.openStream();
        return this;
    }

    stop() {
        this.stopped = true;
        clearTimeout(this.retry);
        if (this.call) this.call.cancel();
        this.client.close();
    }

    openStream() {
        if (this.stopped) return;
        this.streams += 1;
        this.sentOnStream = 0;
        for (const st of this.types.values()) {
            st.nonce = '';
            st.started = false;
        }
        const call = this.delta ? this.client.DeltaAggregatedResources() : this.client.StreamAggregatedResources();
        this.call = call;
        call.on('data', (buf) => this.onResponse(buf));
        const broken = () => {
            if (this.call !== call) return;
            this.call = null;
            this.events.push({ time: Date.now(), event: 'stream closed' });
            if (!this.stopped) this.retry = setTimeout(() => this.openStream(), this.backoffMs);
        };
        call.on('error', broken);
        call.on('end', broken);
        // CDS first (and EDS for what it names), then LDS and RDS.
        this.subscribe(TYPE_URL.CDS);
        if (this.types.get(TYPE_URL.EDS).names.size) this.subscribe(TYPE_URL.EDS);
        this.subscribe(TYPE_URL.LDS);
        if (this.types.get(TYPE_URL.RDS).names.size) this.subscribe(TYPE_URL.RDS);
    }

    send(json) {
        if (!this.call) return;
        if (this.sentOnStream === 0 || this.nodeOnEveryRequest) json.node = this.node;
        this.sentOnStream += 1;
        this.call.write(encode(this.delta ? T_DREQ : T_REQ, json));
    }

    // The first request of a type on this stream.
    subscribe(typeUrl) {
        const st = this.types.get(typeUrl);
        st.started = true;
        const byName = typeUrl === TYPE_URL.RDS || typeUrl === TYPE_URL.EDS;
        if (this.delta) {
            const initial = {};
            for (const [n, r] of st.resources) initial[n] = r.version;
            this.send({
                typeUrl,
                resourceNamesSubscribe: byName ? [...st.names].sort() : [],
                initialResourceVersions: initial,
            });
        } else {
            this.send({ typeUrl, versionInfo: st.version, resourceNames: byName ? [...st.names].sort() : [] });
        }
    }

    onResponse(buf) {
        const msg = decode(this.delta ? T_DRESP : T_RESP, buf);
        const typeUrl = msg.typeUrl;
        const st = this.types.get(typeUrl);
        if (!st) return;
        st.nonce = msg.nonce || '';
        const errors = [];
        const incoming = new Map();
        const list = this.delta ? (msg.resources || []).map((r) => [r.name, r.resource, r.version || '']) : (msg.resources || []).map((a) => [null, a, msg.versionInfo || '']);
        for (const [n, any, ver] of list) {
            const res = Object.assign({}, any);
            delete res['@type'];
            const name = n || res.name || res.clusterName;
            if (incoming.has(name)) {
                errors.push(`duplicate resource ${name}`);
                continue;
            }
            const err = this.validate(typeUrl, name, res);
            if (err) errors.push(err);
            else incoming.set(name, { json: res, version: ver });
        }
        // apply what is valid
        if (this.delta) {
            for (const [n, r] of incoming) st.resources.set(n, r);
            for (const n of msg.removedResources || []) st.resources.delete(n);
        } else if (typeUrl === TYPE_URL.LDS || typeUrl === TYPE_URL.CDS) {
            const rejected = new Set(errors.map((e) => e.split(':')[0]));
            for (const n of [...st.resources.keys()]) if (!incoming.has(n) && !rejected.has(n)) st.resources.delete(n);
            for (const [n, r] of incoming) st.resources.set(n, r);
        } else {
            for (const [n, r] of incoming) st.resources.set(n, r);
        }
        this.events.push({ time: Date.now(), event: errors.length ? 'nack' : 'ack', typeUrl, nonce: st.nonce, errors });
        if (this.delta) {
            const req = { typeUrl, responseNonce: st.nonce };
            if (errors.length) req.errorDetail = { code: 3, message: errors.join('; ') };
            this.send(req);
        } else {
            if (!errors.length) st.version = msg.versionInfo || '';
            const byName = typeUrl === TYPE_URL.RDS || typeUrl === TYPE_URL.EDS;
            const req = { typeUrl, versionInfo: st.version, responseNonce: st.nonce, resourceNames: byName ? [...st.names].sort() : [] };
            if (errors.length) req.errorDetail = { code: 3, message: errors.join('; ') };
            this.send(req);
        }
        if (typeUrl === TYPE_URL.CDS) this.updateNames(TYPE_URL.EDS, this.edsNames());
        if (typeUrl === TYPE_URL.LDS) this.updateNames(TYPE_URL.RDS, this.rdsNames());
    }

    edsNames() {
        const names = new Set();
        for (const [n, r] of this.types.get(TYPE_URL.CDS).resources) {
            if (r.json.type === 'EDS') names.add((r.json.edsClusterConfig && r.json.edsClusterConfig.serviceName) || n);
        }
        return names;
    }

    rdsNames() {
        const names = new Set();
        for (const r of this.types.get(TYPE_URL.LDS).resources.values()) {
            for (const fc of r.json.filterChains || []) {
                for (const f of fc.filters || []) {
                    const tc = f.typedConfig;
                    if (tc && tc['@type'] === HCM && tc.rds) names.add(tc.rds.routeConfigName);
                }
            }
        }
        return names;
    }

    updateNames(typeUrl, names) {
        const st = this.types.get(typeUrl);
        const added = [...names].filter((n) => !st.names.has(n)).sort();
        const removed = [...st.names].filter((n) => !names.has(n)).sort();
        if (!added.length && !removed.length) return;
        st.names = names;
        for (const n of removed) st.resources.delete(n);
        if (this.delta) {
            if (!st.started) {
                this.subscribe(typeUrl);
            } else {
                this.send({ typeUrl, resourceNamesSubscribe: added, resourceNamesUnsubscribe: removed });
            }
        } else if (!st.started) {
            this.subscribe(typeUrl);
        } else {
            this.send({ typeUrl, versionInfo: st.version, responseNonce: st.nonce, resourceNames: [...names].sort() });
        }
    }

    // Accepted resources of a type, name -> proto3 JSON.
    resources(typeUrl) {
        return new Map([...this.types.get(typeUrl).resources].map(([n, r]) => [n, r.json]));
    }
}

module.exports = { FakeAdsClient, defaultValidate };
