'use strict';
// Misbehaving and concurrent ADS clients against a running control-stub
// (used by tests/e2e/control_stub.sh). Prints "ok - ..." / "FAIL - ..."
// lines; exits 0 even on failures (the shell counts them).
//   node ads_probe.js TARGET NODE
// Needs tests/xds/node_modules (npm ci in tests/xds).
const path = require('path');
const XDS = path.join(__dirname, '..', 'tests', 'xds');
const grpc = require(path.join(XDS, 'node_modules', '@grpc', 'grpc-js'));
const { encode, decode, TYPE_URL } = require(path.join(XDS, 'encode'));

const [target, nodeId] = process.argv.slice(2);
const SVC = '/envoy.service.discovery.v3.AggregatedDiscoveryService/';
const id = (b) => b;
const client = new grpc.Client(target, grpc.credentials.createInsecure());
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const report = (ok, what) => console.log(`${ok ? 'ok' : 'FAIL'} - ${what}`);

// A stream that records responses and its end status.
function open(method = 'StreamAggregatedResources') {
    const call = client.makeBidiStreamRequest(SVC + method, id, id);
    const s = { call, responses: [], status: null };
    call.on('data', (b) => s.responses.push(decode('envoy.service.discovery.v3.DiscoveryResponse', b)));
    call.on('status', (st) => (s.status = st));
    call.on('error', () => {});
    s.send = (json) => call.write(encode('envoy.service.discovery.v3.DiscoveryRequest', json));
    s.wait = async (pred, ms = 2000) => {
        const end = Date.now() + ms;
        while (Date.now() < end) {
            if (pred()) return true;
            await sleep(10);
        }
        return pred();
    };
    return s;
}
const node = (n) => ({ id: n, cluster: 'probe' });

async function main() {
    // garbage instead of a DiscoveryRequest: the stream ends, the stub stays
    const g = open();
    g.call.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x99]));
    await g.wait(() => g.status !== null);
    report(g.status && g.status.code === grpc.status.INVALID_ARGUMENT, `garbage message ends the stream with INVALID_ARGUMENT (got ${g.status && g.status.code})`);

    // Delta: garbage ends that stream too
    const d = open('DeltaAggregatedResources');
    d.call.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x99]));
    await d.wait(() => d.status !== null);
    report(d.status && d.status.code === grpc.status.INVALID_ARGUMENT, `garbage Delta message ends the stream with INVALID_ARGUMENT (got ${d.status && d.status.code})`);

    // Delta: wildcard CDS, then a new stream declaring what it holds gets only what differs
    const dopen = () => {
        const call = client.makeBidiStreamRequest(SVC + 'DeltaAggregatedResources', id, id);
        const x = { call, responses: [] };
        call.on('data', (b) => x.responses.push(decode('envoy.service.discovery.v3.DeltaDiscoveryResponse', b)));
        call.on('error', () => {});
        x.send = (json) => call.write(encode('envoy.service.discovery.v3.DeltaDiscoveryRequest', json));
        return x;
    };
    const waitFor = async (pred, ms = 2000) => { const end = Date.now() + ms; while (Date.now() < end && !pred()) await sleep(10); return pred(); };
    const d1 = dopen();
    d1.send({ node: node(nodeId), typeUrl: TYPE_URL.CDS });
    await waitFor(() => d1.responses.length > 0);
    const all = (d1.responses[0] && d1.responses[0].resources) || [];
    report(all.length >= 1 && all.every((r) => r.name && r.version), `delta wildcard CDS: ${all.length} clusters, each with a version`);
    d1.call.cancel();
    if (all.length >= 1) {
        const d2 = dopen();
        const held = { [all[0].name]: all[0].version, 'gone-cluster': 'v0' };
        d2.send({ node: node(nodeId), typeUrl: TYPE_URL.CDS, initialResourceVersions: held });
        await waitFor(() => d2.responses.length > 0);
        const r0 = d2.responses[0] || {};
        const r = { resources: r0.resources || [], removedResources: r0.removedResources || [] };
        report(!r.resources.some((x) => x.name === all[0].name) && r.resources.length === all.length - 1,
            `initial_resource_versions: the held cluster is not resent (${r.resources.length} of ${all.length} sent)`);
        report(JSON.stringify(r.removedResources) === '["gone-cluster"]', `a held name that does not exist is removed (${JSON.stringify(r.removedResources)})`);
        // the catalogue: a wildcard Container subscription sends every
        // container of the node, named by its id, each with a version
        const CONTAINER = 'type.googleapis.com/dataplane.containers.v1.Container';
        d2.send({ typeUrl: CONTAINER });
        await waitFor(() => d2.responses.length > 1);
        const cr = d2.responses[1] || {};
        const cs = cr.resources || [];
        report(cr.typeUrl === CONTAINER && cs.length >= 1 && cs.every((r) => /^[0-9a-f]{24}$/.test(r.name) && r.version),
            `delta wildcard Container: ${cs.length} containers named by id, each with a version`);
        // EDS by name: the stub has no assignments any more; a subscription
        // is still answered (empty)
        d2.send({ typeUrl: TYPE_URL.EDS, resourceNamesSubscribe: ['no-such-cluster'] });
        await waitFor(() => d2.responses.length > 2);
        const e = d2.responses[2];
        report(e && e.typeUrl === TYPE_URL.EDS && (e.resources || []).length === 0, 'delta EDS subscribe answered (no assignments)');
        d2.call.cancel();
    }

    // a node the fleet does not know: nothing is served, the stream stays
    const u = open();
    u.send({ node: node('ghost'), typeUrl: TYPE_URL.CDS });
    await sleep(300);
    report(u.responses.length === 0 && u.status === null, 'unknown node: no response, stream kept open');
    u.call.cancel();

    // many concurrent streams, each served its node's resources
    const many = [];
    for (let i = 0; i < 8; i++) {
        const s = open();
        s.send({ node: node(nodeId), typeUrl: TYPE_URL.CDS });
        many.push(s);
    }
    await Promise.all(many.map((s) => s.wait(() => s.responses.length > 0)));
    const versions = new Set(many.map((s) => (s.responses[0] ? s.responses[0].versionInfo : 'none')));
    report(many.every((s) => s.responses.length === 1 && s.responses[0].typeUrl === TYPE_URL.CDS) && versions.size === 1 && !versions.has('none'),
        `8 concurrent streams each get CDS once, same version (${[...versions]})`);
    const nonces = new Set(many.map((s) => s.responses[0] && s.responses[0].nonce));
    report(nonces.size === 8, 'nonces are unique across streams');
    // cancelled in the middle of things
    for (const s of many.slice(0, 4)) s.call.cancel();

    // ACK, NACK and stale nonces on one stream
    const s = many[4];
    const r1 = s.responses[0];
    s.send({ typeUrl: TYPE_URL.CDS, versionInfo: r1.versionInfo, responseNonce: r1.nonce }); // ACK
    s.send({ typeUrl: TYPE_URL.RDS, resourceNames: ['containers'] });
    await s.wait(() => s.responses.length === 2);
    const r2 = s.responses[1];
    report(r2 && r2.typeUrl === TYPE_URL.RDS && r2.resources.length === 1, 'RDS subscription answered with the route configuration');
    s.send({ typeUrl: TYPE_URL.RDS, versionInfo: '', responseNonce: r2.nonce, resourceNames: ['containers'],
        errorDetail: { code: 3, message: 'probe rejects this route configuration' } }); // NACK
    s.send({ typeUrl: TYPE_URL.RDS, responseNonce: 'not-a-nonce-we-sent', resourceNames: ['other'] }); // stale
    s.send({ typeUrl: TYPE_URL.CDS, versionInfo: r1.versionInfo, responseNonce: r1.nonce }); // ACK again
    await sleep(300);
    report(s.responses.length === 2 && s.status === null, `ACK, NACK and a stale nonce get no answer (responses: ${s.responses.length})`);
    // a real change of names is answered
    s.send({ typeUrl: TYPE_URL.RDS, versionInfo: r2.versionInfo, responseNonce: r2.nonce, resourceNames: ['containers', 'other'] });
    await s.wait(() => s.responses.length === 3);
    report(s.responses.length === 3 && s.responses[2].nonce !== r2.nonce, 'a change of subscribed names is answered');

    // half-close: the stub ends the stream with OK
    const h = many[5];
    h.call.end();
    await h.wait(() => h.status !== null);
    report(h.status && h.status.code === grpc.status.OK, `half-close ends the stream with OK (got ${h.status && h.status.code})`);

    // still serving after all that
    const f = open();
    f.send({ node: node(nodeId), typeUrl: TYPE_URL.LDS });
    await f.wait(() => f.responses.length > 0);
    report(f.responses.length === 1 && f.responses[0].resources.length === 1, 'a new stream is still served LDS');
    for (const x of [...many, f]) x.call.cancel();
    client.close();
}

main().catch((e) => {
    report(false, `probe crashed: ${e.stack}`);
}).finally(() => setTimeout(() => process.exit(0), 50));
