'use strict';
// A scriptable ADS management server for tests (envoy.service.discovery.v3.
// AggregatedDiscoveryService: StreamAggregatedResources = SotW and
// DeltaAggregatedResources = Delta), encoding with Envoy's real protos.
//
//   const cp = await startControlPlane({port: 0, delta: false});
//   cp.setResources(TYPE_URL.CDS, {blue: {...proto3 JSON Cluster...}});
//   await cp.waitFor((r) => r.typeUrl === TYPE_URL.CDS && r.version === '1', 5000);
//   cp.dropStreams(); await cp.stop(); await cp.start(); await cp.close();
//
// Serving rules (what Envoy's own management servers do):
//  - SotW: a response carries the whole set for LDS/CDS (wildcard) and the
//    subscribed names for RDS/EDS. The server answers the first request of
//    a type on a stream, a change of the subscribed names and every
//    setResources(); an ACK or a NACK gets no answer; a request whose
//    response_nonce is not the last one sent for its type is stale and only
//    recorded.
//  - Delta: a response carries what changed for this stream (per-resource
//    versions), removed_resources what the stream knew that is gone;
//    initial_resource_versions on a new stream count as known.
//  - versions: one counter per type, bumped by every setResources(), sent
//    as a string; nonces are unique for the life of the object (restarts
//    included).
// With {scripted: true} nothing is answered automatically: the caller
// drives every stream (replay.js).
const grpc = require('@grpc/grpc-js');
const { encode, decode, encodeAny, typeNameOfUrl, TYPE_URL } = require('./encode');

const SVC = '/envoy.service.discovery.v3.AggregatedDiscoveryService/';
const T_REQ = 'envoy.service.discovery.v3.DiscoveryRequest';
const T_RESP = 'envoy.service.discovery.v3.DiscoveryResponse';
const T_DREQ = 'envoy.service.discovery.v3.DeltaDiscoveryRequest';
const T_DRESP = 'envoy.service.discovery.v3.DeltaDiscoveryResponse';
const WILDCARD_TYPES = new Set([TYPE_URL.LDS, TYPE_URL.CDS]);

const ident = (b) => b;
const method = (name) => ({
    path: SVC + name,
    requestStream: true,
    responseStream: true,
    requestSerialize: ident,
    requestDeserialize: ident,
    responseSerialize: ident,
    responseDeserialize: ident,
});
const ADS_SERVICE = {
    StreamAggregatedResources: method('StreamAggregatedResources'),
    DeltaAggregatedResources: method('DeltaAggregatedResources'),
};

const sameSet = (a, b) => a.size === b.size && [...a].every((x) => b.has(x));

// What tests look at for every request, besides the decoded message.
function summarize(msg, delta) {
    const r = {
        typeUrl: msg.typeUrl || '',
        nonce: msg.responseNonce || '',
        node: msg.node || null,
        error: msg.errorDetail ? { code: msg.errorDetail.code || 0, message: msg.errorDetail.message || '' } : null,
    };
    if (delta) {
        r.subscribe = (msg.resourceNamesSubscribe || []).slice().sort();
        r.unsubscribe = (msg.resourceNamesUnsubscribe || []).slice().sort();
        r.initialVersions = msg.initialResourceVersions || {};
    } else {
        r.version = msg.versionInfo || '';
        r.names = (msg.resourceNames || []).slice().sort();
    }
    return r;
}

class AdsStream {
    constructor(cp, call, delta) {
        this.cp = cp;
        this.call = call;
        this.delta = delta;
        this.id = cp.streams.length + 1;
        this.opened = Date.now();
        this.closed = false;
        this.closeReason = null;
        this.subs = new Map(); // typeUrl -> per-type state
        this.received = 0;
    }

    // Sends one encoded DiscoveryResponse/DeltaDiscoveryResponse.
    sendRaw(bytes, summary) {
        if (this.closed) return false;
        this.cp.responses.push(Object.assign({ time: Date.now(), stream: this.id, delta: this.delta }, summary || {}));
        this.call.write(bytes);
        return true;
    }

    // Sends a response given in proto3 JSON (the stream's message type).
    sendJson(json) {
        const bytes = encode(this.delta ? T_DRESP : T_RESP, json);
        const s = { typeUrl: json.typeUrl || json.type_url || '', nonce: json.nonce || '' };
        if (this.delta) {
            s.version = json.systemVersionInfo || json.system_version_info || '';
            s.names = (json.resources || []).map((r) => r.name).sort();
            s.removed = (json.removedResources || json.removed_resources || []).slice().sort();
        } else {
            s.version = json.versionInfo || json.version_info || '';
            s.names = [];
        }
        return this.sendRaw(bytes, s);
    }

    // Ends the stream with an error status: the client must open a new one.
    drop(code = grpc.status.UNAVAILABLE, details = 'stream dropped by the test control plane') {
        if (this.closed) return;
        this.markClosed('dropped');
        this.call.emit('error', { code, details });
    }

    markClosed(reason) {
        if (this.closed) return;
        this.closed = true;
        this.closeReason = reason;
        this.closedAt = Date.now();
    }

    state(typeUrl) {
        let st = this.subs.get(typeUrl);
        if (!st) {
            st = { names: new Set(), wildcard: false, lastNonce: null, sent: new Map(), fresh: true };
            this.subs.set(typeUrl, st);
        }
        return st;
    }

    // ---- SotW ----

    onSotwRequest(r) {
        const st = this.state(r.typeUrl);
        const first = st.fresh;
        st.fresh = false;
        if (!first && st.lastNonce !== null && r.nonce !== st.lastNonce) return; // stale
        const names = new Set(r.names);
        const changed = first || !sameSet(names, st.names);
        st.names = names;
        st.wildcard = (names.size === 0 && WILDCARD_TYPES.has(r.typeUrl)) || names.has('*');
        if (r.error) return; // NACK: wait for the next update
        if (changed) this.sotwSend(r.typeUrl, true);
    }

    // Sends the current set of typeUrl to this stream. Without `force`,
    // RDS/EDS are only sent when a subscribed resource changed.
    sotwSend(typeUrl, force) {
        const set = this.cp.sets.get(typeUrl);
        const st = this.subs.get(typeUrl);
        if (!set || !st || st.fresh || this.closed) return;
        const picked = [];
        for (const [name, item] of set.items) {
            if (st.wildcard || st.names.has(name)) picked.push([name, item]);
        }
        if (!force && !st.wildcard) {
            const now = new Map(picked.map(([n, it]) => [n, it.version]));
            const same = now.size === st.sent.size && [...now].every(([n, v]) => st.sent.get(n) === v);
            if (same) return;
        }
        st.sent = new Map(picked.map(([n, it]) => [n, it.version]));
        const nonce = this.cp.nextNonce();
        st.lastNonce = nonce;
        const bytes = encode(T_RESP, {
            versionInfo: String(set.version),
            resources: picked.map(([, it]) => ({ typeUrl: it.typeUrl, value: it.bytes })),
            typeUrl,
            nonce,
        });
        this.sendRaw(bytes, { typeUrl, version: String(set.version), nonce, names: picked.map(([n]) => n).sort() });
    }

    // ---- Delta ----

    onDeltaRequest(r) {
        const st = this.state(r.typeUrl);
        const first = st.fresh;
        st.fresh = false;
        if (first) {
            for (const [n, v] of Object.entries(r.initialVersions)) st.sent.set(n, v);
            if (WILDCARD_TYPES.has(r.typeUrl) && r.subscribe.length === 0) st.wildcard = true;
        }
        for (const n of r.subscribe) {
            if (n === '*') st.wildcard = true;
            else st.names.add(n);
        }
        for (const n of r.unsubscribe) {
            if (n === '*') st.wildcard = false;
            else {
                st.names.delete(n);
                st.sent.delete(n);
            }
        }
        if (r.error) return; // NACK
        if (first || r.subscribe.length > 0) this.deltaSend(r.typeUrl);
    }

    deltaSend(typeUrl) {
        const set = this.cp.sets.get(typeUrl);
        const st = this.subs.get(typeUrl);
        if (!set || !st || st.fresh || this.closed) return;
        const wants = (n) => st.wildcard || st.names.has(n);
        const resources = [];
        const removed = [];
        for (const [name, item] of set.items) {
            if (wants(name) && st.sent.get(name) !== item.version) resources.push([name, item]);
        }
        for (const name of st.sent.keys()) {
            if (!set.items.has(name)) removed.push(name);
        }
        if (resources.length === 0 && removed.length === 0) return;
        for (const [n, it] of resources) st.sent.set(n, it.version);
        for (const n of removed) st.sent.delete(n);
        const nonce = this.cp.nextNonce();
        st.lastNonce = nonce;
        const bytes = encode(T_DRESP, {
            systemVersionInfo: String(set.version),
            resources: resources.map(([n, it]) => ({
                name: n,
                version: it.version,
                resource: { typeUrl: it.typeUrl, value: it.bytes },
            })),
            typeUrl,
            removedResources: removed,
            nonce,
        });
        this.sendRaw(bytes, {
            typeUrl,
            version: String(set.version),
            nonce,
            names: resources.map(([n]) => n).sort(),
            removed: removed.slice().sort(),
        });
    }

    push(typeUrl) {
        if (this.delta) this.deltaSend(typeUrl);
        else this.sotwSend(typeUrl, false);
    }
}

class ControlPlane {
    constructor(opts) {
        this.port = opts.port || 0;
        this.delta = !!opts.delta;
        this.scripted = !!opts.scripted;
        this.log = opts.log || (() => {});
        this.server = null;
        this.streams = [];
        this.requests = [];
        this.responses = [];
        this.errors = [];
        this.sets = new Map(); // typeUrl -> {version, items: Map name -> {bytes, typeUrl, version}}
        this.waiters = [];
        this.nonce = 0;
        this.t0 = Date.now();
        this.onStream = opts.onStream || null;
        // TLS: {rootCert, key, cert} (PEM Buffers); default plaintext
        this.tls = opts.tls || null;
    }

    nextNonce() {
        this.nonce += 1;
        return `n${this.nonce}`;
    }

    async start() {
        if (this.server) throw new Error('control plane already running');
        const server = new grpc.Server();
        server.addService(ADS_SERVICE, {
            StreamAggregatedResources: (call) => this.serve(call, false),
            DeltaAggregatedResources: (call) => this.serve(call, true),
        });
        // A restart reuses the port: right after a stop the kernel may still
        // hold it for a moment.
        const deadline = Date.now() + 5000;
        for (;;) {
            try {
                this.port = await new Promise((resolve, reject) => {
                    const creds = this.tls
                        ? grpc.ServerCredentials.createSsl(this.tls.rootCert || null, [{ private_key: this.tls.key, cert_chain: this.tls.cert }], false)
                        : grpc.ServerCredentials.createInsecure();
                    server.bindAsync(`127.0.0.1:${this.port}`, creds, (err, port) => (err ? reject(err) : resolve(port)));
                });
                break;
            } catch (e) {
                if (this.port === 0 || Date.now() > deadline) throw e;
                await new Promise((r) => setTimeout(r, 50));
            }
        }
        this.server = server;
        return this;
    }

    // Stops serving: every stream is cancelled, the port is closed.
    async stop() {
        if (!this.server) return;
        for (const s of this.streams) s.markClosed('server stopped');
        this.server.forceShutdown();
        this.server = null;
    }

    // Stops and forgets waiters (end of a test).
    async close() {
        await this.stop();
        for (const w of this.waiters) {
            clearTimeout(w.timer);
            w.reject(new Error('control plane closed'));
        }
        this.waiters = [];
    }

    dropStreams(code, details) {
        for (const s of this.liveStreams()) s.drop(code, details);
    }

    liveStreams() {
        return this.streams.filter((s) => !s.closed);
    }

    serve(call, delta) {
        const s = new AdsStream(this, call, delta);
        this.streams.push(s);
        this.log(`stream ${s.id} opened (${delta ? 'delta' : 'sotw'}) from ${call.getPeer()}`);
        if (delta !== this.delta) {
            // The data plane must use the api_type its bootstrap names.
            this.errors.push(`stream ${s.id}: ${delta ? 'Delta' : 'SotW'} stream on a ${this.delta ? 'Delta' : 'SotW'} control plane`);
        }
        call.on('data', (buf) => this.onRequest(s, buf));
        call.on('end', () => {
            s.markClosed('client half-closed');
            call.end();
        });
        call.on('cancelled', () => s.markClosed('cancelled'));
        call.on('error', () => s.markClosed('error'));
        call.on('close', () => s.markClosed('closed'));
        if (this.onStream) this.onStream(s);
        this.notify();
    }

    onRequest(s, buf) {
        let msg;
        try {
            msg = decode(s.delta ? T_DREQ : T_REQ, buf);
        } catch (e) {
            this.errors.push(`stream ${s.id}: undecodable request: ${e.message}`);
            return;
        }
        s.received += 1;
        const r = Object.assign(
            {
                index: this.requests.length,
                time: Date.now(),
                t: Date.now() - this.t0,
                stream: s.id,
                delta: s.delta,
                firstOfStream: s.received === 1,
                msg,
            },
            summarize(msg, s.delta),
        );
        this.requests.push(r);
        this.log(`stream ${s.id} <- ${describe(r)}`);
        if (!this.scripted) {
            if (s.delta) s.onDeltaRequest(r);
            else s.onSotwRequest(r);
        }
        this.notify();
    }

    notify() {
        const still = [];
        for (const w of this.waiters) {
            const hit = w.check();
            if (hit !== undefined) {
                clearTimeout(w.timer);
                w.resolve(hit);
            } else {
                still.push(w);
            }
        }
        this.waiters = still;
    }

    // Resolves with the first request (index >= since) that matches, now
    // or when it arrives; rejects after timeoutMs naming what was seen.
    waitFor(pred, timeoutMs = 5000, since = 0) {
        return this.waitUntil(() => this.requests.slice(since).find(pred), timeoutMs, 'request');
    }

    // Resolves with the first stream (id > afterId) that opens.
    waitForStream(afterId = 0, timeoutMs = 5000) {
        return this.waitUntil(() => this.streams.find((s) => s.id > afterId), timeoutMs, `stream after #${afterId}`);
    }

    waitUntil(check, timeoutMs, what) {
        const now = check();
        if (now !== undefined) return Promise.resolve(now);
        return new Promise((resolve, reject) => {
            const w = { check, resolve, reject };
            w.timer = setTimeout(() => {
                this.waiters = this.waiters.filter((x) => x !== w);
                const recent = this.requests.slice(-8).map((r) => `  #${r.index} +${r.t}ms stream ${r.stream}: ${describe(r)}`);
                reject(new Error(`timed out after ${timeoutMs} ms waiting for a ${what}; last requests:\n${recent.join('\n') || '  (none)'}`));
            }, timeoutMs);
            this.waiters.push(w);
        });
    }

    // The current resources of a type, replaced as a whole. Values: proto3
    // JSON of the type (optionally with "@type"), or a Buffer (sent as is:
    // e.g. an invalid resource), or {typeUrl, value: Buffer}. Pushes to
    // every stream that subscribed to the type. Returns the new version.
    setResources(typeUrl, resources) {
        const prev = this.sets.get(typeUrl);
        const version = (prev ? prev.version : 0) + 1;
        const items = new Map();
        for (const [name, v] of Object.entries(resources || {})) {
            let bytes;
            let url = typeUrl;
            if (Buffer.isBuffer(v)) {
                bytes = v;
            } else if (v && Buffer.isBuffer(v.value) && typeof v.typeUrl === 'string') {
                bytes = v.value;
                url = v.typeUrl;
            } else if (v && typeof v === 'object' && v['@type']) {
                const a = encodeAny(v);
                bytes = a.value;
                url = a.typeUrl;
            } else {
                bytes = encode(typeNameOfUrl(typeUrl), v);
            }
            const old = prev && prev.items.get(name);
            const same = old && old.typeUrl === url && old.bytes.equals(bytes);
            items.set(name, { bytes, typeUrl: url, version: same ? old.version : String(version) });
        }
        this.sets.set(typeUrl, { version, items });
        if (!this.scripted) for (const s of this.liveStreams()) s.push(typeUrl);
        return String(version);
    }

    version(typeUrl) {
        const s = this.sets.get(typeUrl);
        return s ? String(s.version) : '';
    }

    // The per-resource version (Delta): the type version at which the
    // resource last changed.
    resourceVersion(typeUrl, name) {
        const s = this.sets.get(typeUrl);
        const it = s && s.items.get(name);
        return it ? it.version : '';
    }

    // Resolves with the ACK (or, with nack, the NACK) of a response of
    // typeUrl carrying `version`: a request on the same stream whose
    // response_nonce is that response's nonce.
    waitAck(typeUrl, version, timeoutMs = 5000, nack = false) {
        const match = (r) => {
            if (r.typeUrl !== typeUrl || !!r.error !== nack) return false;
            return this.responses.some((p) => p.stream === r.stream && p.typeUrl === typeUrl && p.version === String(version) && p.nonce === r.nonce);
        };
        return this.waitUntil(() => this.requests.find(match), timeoutMs, `${nack ? 'NACK' : 'ACK'} of ${typeUrl} version ${version}`);
    }

    waitNack(typeUrl, version, timeoutMs = 5000) {
        return this.waitAck(typeUrl, version, timeoutMs, true);
    }
}

function describe(r) {
    const t = r.typeUrl.slice(r.typeUrl.lastIndexOf('.') + 1);
    const parts = [t];
    if (r.delta) {
        if (r.subscribe.length) parts.push(`sub=[${r.subscribe}]`);
        if (r.unsubscribe.length) parts.push(`unsub=[${r.unsubscribe}]`);
        if (Object.keys(r.initialVersions).length) parts.push(`initial=${JSON.stringify(r.initialVersions)}`);
    } else {
        parts.push(`version=${JSON.stringify(r.version)}`);
        if (r.names.length) parts.push(`names=[${r.names}]`);
    }
    parts.push(`nonce=${JSON.stringify(r.nonce)}`);
    if (r.node) parts.push(`node=${r.node.id}`);
    if (r.error) parts.push(`NACK ${JSON.stringify(r.error.message)}`);
    return parts.join(' ');
}

async function startControlPlane(opts = {}) {
    const cp = new ControlPlane(opts);
    await cp.start();
    return cp;
}

module.exports = { startControlPlane, ControlPlane, ADS_SERVICE, describe, TYPE_URL, T_REQ, T_RESP, T_DREQ, T_DRESP };
