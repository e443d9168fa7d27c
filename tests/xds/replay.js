'use strict';
// Replays a recorded xDS stream (tests/xds-streams/*.jsonl) against a client.
//
// The file is the data plane's --xds-record format, JSON lines:
//   {"t": ms, "stream": n, "dir": "send"|"recv", "type": "envoy.service.
//    discovery.v3.(Delta)Discovery(Request|Response)", "msg": proto3 JSON}
// seen from the data plane: "recv" lines are responses this server sends,
// "send" lines are requests it must receive. Hand-written streams add:
//   {"dir": "http", "host": h, "path": p, "method": "GET", "status": 200,
//    "body_contains": "..."}  a real request through the listener; status 0
//                             means "connection refused" (no listener)
//   {"dir": "disconnect"}     the server drops the stream; the following
//                             lines belong to the next one
//   {"dir": "sleep", "ms": n}
// and may carry, on "send" lines, "error_contains": [...] (texts the NACK's
// error_detail.message must all contain). Blank lines and lines starting
// with '#' are skipped. ${NAME} in the text is replaced from `vars` before
// parsing (ports: write "portValue": "${UPSTREAM_BLUE}", proto3 JSON takes
// integers as strings).
//
// A "send" expectation is matched with the next request of the same type
// URL on the current stream (requests of other types may interleave),
// waiting up to 5 s, and compared on: type_url, version_info,
// response_nonce, the set of resource_names (SotW) or of subscribe /
// unsubscribe names and initial_resource_versions (Delta), presence of
// error_detail and, when the expectation gives one, its message as a
// substring; node presence (below). A "stream" number higher than the
// current one is an implicit disconnect (recordings of dropped streams).
//
// Node: the first request of every stream must carry the node (id as in the
// first expectation of the stream that has one). Other requests must carry
// it only when their expectation does (Envoy without
// set_node_on_first_message_only sends it on every request). So an
// expectation with a node is also met by a request without one when it is
// the stream's first such expectation and the node came on the stream's
// first request of another type: clients may open a stream with CDS or LDS.
// On a stream's first request of LDS or CDS, an empty name list and ["*"]
// are the same (legacy and explicit wildcard).
//
// At the end every request received must have been matched by an
// expectation (checked after a short settle time).
const fs = require('fs');
const { encode, decode, TYPE_URL } = require('./encode');
const { describe, T_REQ, T_DREQ } = require('./server');
const { expectHttp, describeHttp, sleep } = require('./harness');

const TYPES = new Set([
    'envoy.service.discovery.v3.DiscoveryRequest',
    'envoy.service.discovery.v3.DiscoveryResponse',
    'envoy.service.discovery.v3.DeltaDiscoveryRequest',
    'envoy.service.discovery.v3.DeltaDiscoveryResponse',
]);
const WILDCARD_TYPES = new Set([TYPE_URL.LDS, TYPE_URL.CDS]);

// Parses a .jsonl file (or its text) into line objects {no, ...}.
function loadStream(file, vars = {}) {
    const text = fs.readFileSync(file, 'utf8');
    return parseStream(text, vars, file);
}

function parseStream(text, vars = {}, name = '<stream>') {
    const out = [];
    text.split('\n').forEach((raw, i) => {
        const line = raw.trim();
        if (!line || line.startsWith('#')) return;
        const subst = line.replace(/\$\{([A-Z0-9_]+)\}/g, (_, k) => {
            if (!(k in vars)) throw new Error(`${name}:${i + 1}: no value for \${${k}}`);
            return String(vars[k]);
        });
        let obj;
        try {
            obj = JSON.parse(subst);
        } catch (e) {
            throw new Error(`${name}:${i + 1}: ${e.message}`);
        }
        if (!obj.dir) throw new Error(`${name}:${i + 1}: no "dir"`);
        if ((obj.dir === 'send' || obj.dir === 'recv') && !TYPES.has(obj.type)) throw new Error(`${name}:${i + 1}: bad "type" ${obj.type}`);
        if (!['send', 'recv', 'http', 'disconnect', 'sleep'].includes(obj.dir)) throw new Error(`${name}:${i + 1}: unknown "dir" ${obj.dir}`);
        obj.no = i + 1;
        obj.where = `${name}:${i + 1}`;
        out.push(obj);
    });
    return out;
}

// True if the stream uses Delta messages.
function isDelta(lines) {
    return lines.some((l) => typeof l.type === 'string' && l.type.includes('.Delta'));
}

// Proto3 JSON -> canonical proto3 JSON (field names, defaults, Any) by a
// round trip through the real proto.
function canonical(typeName, json) {
    return decode(typeName, encode(typeName, json));
}

const setOf = (a) => new Set(a || []);
const setStr = (s) => `[${[...s].sort().join(', ')}]`;
function sameSet(a, b) {
    return a.size === b.size && [...a].every((x) => b.has(x));
}
function wildcardSame(a, b) {
    const w = (s) => s.size === 0 || (s.size === 1 && s.has('*'));
    return w(a) && w(b);
}

class Replayer {
    // cp: a ControlPlane started with {scripted: true}; listenPort: the
    // data plane listener for "http" lines.
    // skipHttp: ignore "http" lines (self-checks without a data plane).
    constructor({ cp, listenPort, expectTimeoutMs = 5000, httpWithinMs = 3000, settleMs = 300, skipHttp = false, log = () => {} }) {
        this.skipHttp = skipHttp;
        this.cp = cp;
        this.listenPort = listenPort;
        this.expectTimeoutMs = expectTimeoutMs;
        this.httpWithinMs = httpWithinMs;
        this.settleMs = settleMs;
        this.log = log;
        this.current = 1;
        this.consumed = new Set(); // request indexes matched
        this.streamNode = new Map(); // stream -> {id, designatedLine}
        this.seenType = new Map(); // `${stream} ${typeUrl}` -> count matched
        this.responsesSent = 0;
        this.expectations = 0;
        this.httpChecks = 0;
    }

    async run(lines) {
        for (const line of lines) {
            await this.step(line);
        }
        await sleep(this.settleMs);
        const extra = this.cp.requests.filter((r) => !this.consumed.has(r.index));
        if (extra.length) {
            throw new Error(`unexpected request(s) at the end:\n${extra.map((r) => `  stream ${r.stream}: ${describe(r)}`).join('\n')}`);
        }
        if (this.cp.errors.length) throw new Error(`control plane errors: ${this.cp.errors.join('; ')}`);
        return { responses: this.responsesSent, expectations: this.expectations, http: this.httpChecks, streams: this.current };
    }

    async stream(n) {
        const prev = this.cp.streams.find((s) => s.id === n);
        if (prev) return prev;
        return this.cp.waitForStream(n - 1, this.expectTimeoutMs).catch(() => {
            throw new Error(`ADS stream #${n} was not opened within ${this.expectTimeoutMs} ms`);
        });
    }

    disconnect() {
        const s = this.cp.streams.find((x) => x.id === this.current);
        if (s) s.drop();
        this.current += 1;
    }

    async step(line) {
        if ((line.dir === 'send' || line.dir === 'recv') && line.stream !== undefined) {
            if (line.stream < this.current) throw new Error(`${line.where}: stream ${line.stream} after stream ${this.current}`);
            while (line.stream > this.current) this.disconnect();
        }
        switch (line.dir) {
        case 'recv': {
            const s = await this.stream(this.current);
            if (s.delta !== line.type.includes('.Delta')) throw new Error(`${line.where}: ${line.type} on a ${s.delta ? 'Delta' : 'SotW'} stream`);
            if (s.closed) throw new Error(`${line.where}: stream ${s.id} closed (${s.closeReason}) before this response`);
            s.sendJson(line.msg);
            this.responsesSent += 1;
            this.log(`${line.where}: -> ${line.msg.typeUrl} nonce ${line.msg.nonce}`);
            break;
        }
        case 'send':
            await this.expect(line);
            this.expectations += 1;
            break;
        case 'http': {
            if (this.skipHttp) break;
            const want = line.status === undefined ? 200 : line.status;
            const r = await expectHttp({
                port: this.listenPort,
                host: line.host,
                path: line.path || '/',
                method: line.method || 'GET',
                status: want,
                bodyContains: line.body_contains,
                withinMs: line.within_ms || this.httpWithinMs,
            });
            if (!r.ok) {
                throw new Error(`${line.where}: ${line.method || 'GET'} http://${line.host || ''}${line.path || '/'}: want ${want === 0 ? 'connection refused' : want}${line.body_contains ? ` with ${JSON.stringify(line.body_contains)}` : ''}, got ${describeHttp(r.last)} (for ${r.elapsed} ms)`);
            }
            this.httpChecks += 1;
            this.log(`${line.where}: http ${line.host} ${line.path || '/'} -> ${describeHttp(r.last)}`);
            break;
        }
        case 'disconnect':
            this.disconnect();
            this.log(`${line.where}: disconnect, next stream #${this.current}`);
            break;
        case 'sleep':
            await sleep(line.ms || 0);
            break;
        default:
            throw new Error(`${line.where}: unknown dir ${line.dir}`);
        }
    }

    async expect(line) {
        const delta = line.type.includes('.Delta');
        const typeName = delta ? T_DREQ : T_REQ;
        let want;
        try {
            want = canonical(typeName, line.msg);
        } catch (e) {
            throw new Error(`${line.where}: cannot encode the expectation: ${e.message}`);
        }
        const typeUrl = want.typeUrl || '';
        const stream = this.current;
        let got;
        try {
            got = await this.cp.waitFor((r) => r.stream === stream && r.typeUrl === typeUrl && !this.consumed.has(r.index), this.expectTimeoutMs);
        } catch (e) {
            throw new Error(`${line.where}: expected on stream ${stream}: ${summarizeWant(want, delta)}\n${e.message}`);
        }
        this.consumed.add(got.index);
        const key = `${stream} ${typeUrl}`;
        const firstOfType = !this.seenType.has(key);
        this.seenType.set(key, (this.seenType.get(key) || 0) + 1);
        if (got.delta !== delta) throw new Error(`${line.where}: got a ${got.delta ? 'Delta' : 'SotW'} request, the stream file is ${delta ? 'Delta' : 'SotW'}`);

        const errs = [];
        const g = got.msg;
        if (delta) {
            const ws = setOf(want.resourceNamesSubscribe);
            const gs = setOf(g.resourceNamesSubscribe);
            if (!sameSet(ws, gs) && !(firstOfType && WILDCARD_TYPES.has(typeUrl) && wildcardSame(ws, gs))) errs.push(`resource_names_subscribe ${setStr(gs)}, want ${setStr(ws)}`);
            const wu = setOf(want.resourceNamesUnsubscribe);
            const gu = setOf(g.resourceNamesUnsubscribe);
            if (!sameSet(wu, gu)) errs.push(`resource_names_unsubscribe ${setStr(gu)}, want ${setStr(wu)}`);
            const wi = want.initialResourceVersions || {};
            const gi = g.initialResourceVersions || {};
            if (JSON.stringify(sortObj(wi)) !== JSON.stringify(sortObj(gi))) errs.push(`initial_resource_versions ${JSON.stringify(sortObj(gi))}, want ${JSON.stringify(sortObj(wi))}`);
        } else {
            if ((g.versionInfo || '') !== (want.versionInfo || '')) errs.push(`version_info ${JSON.stringify(g.versionInfo || '')}, want ${JSON.stringify(want.versionInfo || '')}`);
            const wn = setOf(want.resourceNames);
            const gn = setOf(g.resourceNames);
            if (!sameSet(wn, gn) && !(firstOfType && WILDCARD_TYPES.has(typeUrl) && wildcardSame(wn, gn))) errs.push(`resource_names ${setStr(gn)}, want ${setStr(wn)}`);
        }
        if ((g.responseNonce || '') !== (want.responseNonce || '')) errs.push(`response_nonce ${JSON.stringify(g.responseNonce || '')}, want ${JSON.stringify(want.responseNonce || '')}`);
        // error_detail
        if (!!want.errorDetail !== !!g.errorDetail) {
            errs.push(want.errorDetail ? 'no error_detail (an ACK), want a NACK' : `error_detail ${JSON.stringify(g.errorDetail)} (a NACK), want an ACK`);
        } else if (g.errorDetail) {
            const msg = g.errorDetail.message || '';
            const subs = [];
            if (want.errorDetail.message) subs.push(want.errorDetail.message);
            for (const s of line.error_contains || []) subs.push(s);
            for (const s of subs) if (!msg.includes(s)) errs.push(`error_detail.message ${JSON.stringify(msg)} does not contain ${JSON.stringify(s)}`);
        }
        this.checkNode(line, want, got, errs);
        if (errs.length) {
            throw new Error(`${line.where}: request #${got.index} on stream ${stream} (${describe(got)}):\n  ${errs.join('\n  ')}`);
        }
        this.log(`${line.where}: <- ${describe(got)} ok`);
    }

    checkNode(line, want, got, errs) {
        const stream = got.stream;
        let sn = this.streamNode.get(stream);
        if (want.node && !sn) {
            sn = { id: want.node.id || '', designated: line.no };
            this.streamNode.set(stream, sn);
        }
        const first = this.cp.requests.find((r) => r.stream === stream && r.firstOfStream);
        if (first && !first.node) errs.push(`the first request of stream ${stream} (${describe(first)}) has no node`);
        else if (first && sn && sn.id && first.node.id !== sn.id) errs.push(`node.id ${JSON.stringify(first.node.id)} on the first request of stream ${stream}, want ${JSON.stringify(sn.id)}`);
        if (want.node) {
            if (got.node) {
                if (want.node.id && got.node.id !== want.node.id) errs.push(`node.id ${JSON.stringify(got.node.id)}, want ${JSON.stringify(want.node.id)}`);
            } else if (!(sn.designated === line.no && first && first.node && !got.firstOfStream)) {
                errs.push('no node, want one');
            }
        } else if (got.node && !got.firstOfStream) {
            errs.push('a node on a request that is not the first of its stream');
        }
    }
}

function sortObj(o) {
    const r = {};
    for (const k of Object.keys(o).sort()) r[k] = o[k];
    return r;
}

function summarizeWant(w, delta) {
    const parts = [w.typeUrl];
    if (delta) {
        if (w.resourceNamesSubscribe) parts.push(`subscribe=${setStr(setOf(w.resourceNamesSubscribe))}`);
        if (w.resourceNamesUnsubscribe) parts.push(`unsubscribe=${setStr(setOf(w.resourceNamesUnsubscribe))}`);
        if (w.initialResourceVersions) parts.push(`initial=${JSON.stringify(w.initialResourceVersions)}`);
    } else {
        parts.push(`version=${JSON.stringify(w.versionInfo || '')}`);
        if (w.resourceNames) parts.push(`names=${setStr(setOf(w.resourceNames))}`);
    }
    parts.push(`nonce=${JSON.stringify(w.responseNonce || '')}`);
    if (w.errorDetail) parts.push('NACK');
    return parts.join(' ');
}

// Checks a data plane recording (--xds-record) against what the replay
// did: it parses, and its responses are the ones sent (type URL and nonce,
// in order); the requests received are among its "send" lines, in order.
// Returns a list of problems (empty when fine).
function checkRecording(file, cp) {
    const problems = [];
    if (!fs.existsSync(file)) return [`no recording at ${file}`];
    const text = fs.readFileSync(file, 'utf8');
    const recs = [];
    text.split('\n').forEach((l, i) => {
        if (!l.trim()) return;
        try {
            const o = JSON.parse(l);
            if (typeof o.t !== 'number' || typeof o.stream !== 'number' || !['send', 'recv'].includes(o.dir) || !TYPES.has(o.type) || typeof o.msg !== 'object') {
                problems.push(`line ${i + 1}: not a recording line: ${l.slice(0, 160)}`);
            }
            recs.push(o);
        } catch (e) {
            problems.push(`line ${i + 1}: ${e.message}`);
        }
    });
    const recv = recs.filter((o) => o.dir === 'recv');
    const sent = cp.responses;
    if (recv.length !== sent.length) problems.push(`${recv.length} responses recorded, ${sent.length} sent`);
    for (let i = 0; i < Math.min(recv.length, sent.length); i++) {
        const m = recv[i].msg || {};
        if ((m.typeUrl || '') !== sent[i].typeUrl || (m.nonce || '') !== sent[i].nonce) {
            problems.push(`response ${i + 1}: recorded ${m.typeUrl} nonce ${m.nonce}, sent ${sent[i].typeUrl} nonce ${sent[i].nonce}`);
            break;
        }
    }
    // every request that arrived is recorded, in order (a recording may hold
    // more: a request written just before a stream broke)
    const sends = recs.filter((o) => o.dir === 'send');
    let j = 0;
    for (const r of cp.requests) {
        const same = (o) => (o.msg.typeUrl || '') === r.typeUrl && (o.msg.responseNonce || '') === r.nonce && (r.delta || (o.msg.versionInfo || '') === r.version);
        while (j < sends.length && !same(sends[j])) j++;
        if (j >= sends.length) {
            problems.push(`request #${r.index} (${describe(r)}) is not in the recording (in order)`);
            break;
        }
        j++;
    }
    const streams = new Set(recs.map((o) => o.stream));
    const seen = new Set(cp.streams.map((s) => s.id));
    if (streams.size !== seen.size) problems.push(`recording names streams ${[...streams].join(',')}, the server saw ${cp.streams.length}`);
    return problems;
}

module.exports = { loadStream, parseStream, isDelta, Replayer, checkRecording, canonical };
