'use strict';
// The test machinery checked on its own, without the data plane: server.js
// against the protocol-following fake client (fake-client.js), every
// stream of tests/xds-streams/ replayed against that client, and the
// replayer catching clients that break the protocol.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { startControlPlane, TYPE_URL } = require('./server');
const { FakeAdsClient } = require('./fake-client');
const { loadStream, parseStream, isDelta, Replayer } = require('./replay');
const { sleep } = require('./harness');

const STREAMS = path.resolve(__dirname, '..', 'xds-streams');
const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const VARS = { UPSTREAM_BLUE: 1001, UPSTREAM_GREEN: 1002, LISTEN_PORT: 1003 };

const cluster = (name, extra = {}) => Object.assign({ name, type: 'STATIC', connectTimeout: '1s', loadAssignment: { clusterName: name, endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '127.0.0.1', portValue: 1001 } } } }] }] } }, extra);
const edsCluster = (name) => ({ name, type: 'EDS', edsClusterConfig: { edsConfig: { ads: {}, resourceApiVersion: 'V3' } } });
const listener = (rds) => ({ name: 'ingress', address: { socketAddress: { address: '127.0.0.1', portValue: 1003 } }, filterChains: [{ filters: [{ name: 'hcm', typedConfig: { '@type': HCM, statPrefix: 'x', rds: { routeConfigName: rds, configSource: { ads: {}, resourceApiVersion: 'V3' } } } }] }] });

async function withCp(opts, fn) {
    const cp = await startControlPlane(opts);
    const clients = [];
    try {
        await fn(cp, (o) => {
            const c = new FakeAdsClient(Object.assign({ target: `127.0.0.1:${cp.port}`, delta: opts.delta, backoffMs: 100 }, o)).start();
            clients.push(c);
            return c;
        });
    } finally {
        for (const c of clients) c.stop();
        await cp.close();
    }
}

for (const delta of [false, true]) {
    const kind = delta ? 'Delta' : 'SotW';
    test(`${kind} server: pushes, ACK/NACK, dropped streams, restart on the same port`, { timeout: 30000 }, async () => {
        await withCp({ port: 0, delta }, async (cp, client) => {
            const c = client({});
            const first = await cp.waitFor((r) => r.typeUrl === TYPE_URL.CDS, 3000);
            assert.equal(first.firstOfStream, true);
            assert.equal(first.node.id, 'test-node');
            const vC = cp.setResources(TYPE_URL.CDS, { blue: cluster('blue'), green: edsCluster('green') });
            cp.setResources(TYPE_URL.EDS, { green: { clusterName: 'green' }, other: { clusterName: 'other' } });
            cp.setResources(TYPE_URL.LDS, { ingress: listener('r1') });
            cp.setResources(TYPE_URL.RDS, { r1: { name: 'r1' }, r2: { name: 'r2' } });
            // ACKs (SotW: with the version) of every type
            const ack = (t, extra = () => true) => cp.waitFor((r) => r.typeUrl === t && r.nonce !== '' && !r.error && extra(r), 3000);
            await ack(TYPE_URL.CDS, (r) => delta || r.version === vC);
            await ack(TYPE_URL.EDS);
            await ack(TYPE_URL.RDS);
            await ack(TYPE_URL.LDS);
            assert.deepEqual([...c.resources(TYPE_URL.CDS).keys()].sort(), ['blue', 'green']);
            // only the subscribed names of RDS/EDS are sent
            assert.deepEqual([...c.resources(TYPE_URL.EDS).keys()], ['green']);
            assert.deepEqual([...c.resources(TYPE_URL.RDS).keys()], ['r1']);
            for (const r of cp.responses) if (r.typeUrl === TYPE_URL.RDS) assert.deepEqual(r.names, ['r1']);
            const nonces = cp.responses.map((r) => r.nonce);
            assert.equal(new Set(nonces).size, nonces.length, 'nonces are unique');

            // an invalid resource is NACKed; the response to it is not resent
            let mark = cp.requests.length;
            const vBad = cp.setResources(TYPE_URL.CDS, { blue: cluster('blue', { lbPolicy: 'MAGLEV' }), green: edsCluster('green') });
            const nack = await cp.waitFor((r) => r.typeUrl === TYPE_URL.CDS && r.error, 3000, mark);
            assert.match(nack.error.message, /blue: lb_policy/);
            if (!delta) assert.equal(nack.version, vC, 'a NACK carries the last accepted version');
            assert.equal(nack.nonce, cp.responses.filter((r) => r.typeUrl === TYPE_URL.CDS).pop().nonce);
            assert.notEqual(vBad, vC);

            // raw bytes are sent as they are
            mark = cp.requests.length;
            cp.setResources(TYPE_URL.CDS, { blue: cluster('blue'), green: edsCluster('green'), raw: Buffer.from('0a03726177', 'hex') });
            await ack(TYPE_URL.CDS, (r) => r.index >= mark);
            assert.equal(c.resources(TYPE_URL.CDS).get('raw').name, 'raw');

            // removal
            mark = cp.requests.length;
            cp.setResources(TYPE_URL.CDS, { blue: cluster('blue') });
            await ack(TYPE_URL.CDS, (r) => r.index >= mark);
            assert.deepEqual([...c.resources(TYPE_URL.CDS).keys()], ['blue']);
            if (delta) assert.deepEqual(cp.responses.filter((r) => r.typeUrl === TYPE_URL.CDS).pop().removed, ['green', 'raw']);
            // the client drops EDS for the removed cluster
            await cp.waitFor((r) => r.typeUrl === TYPE_URL.EDS && (delta ? r.unsubscribe.includes('green') : r.names.length === 0), 3000, mark);

            // a dropped stream: the client comes back with node and versions
            const before = cp.streams.length;
            cp.dropStreams();
            const again = await cp.waitFor((r) => r.stream > before && r.typeUrl === TYPE_URL.LDS, 3000);
            const firstNew = cp.requests.find((r) => r.stream === again.stream && r.firstOfStream);
            assert.equal(firstNew.node.id, 'test-node');
            if (delta) assert.deepEqual(again.initialVersions, { ingress: '1' });
            else assert.equal(again.version, '1');
            assert.equal(again.nonce, '', 'no nonce of the old stream');

            // stop and restart on the same port
            const port = cp.port;
            await cp.stop();
            await sleep(200);
            await cp.start();
            assert.equal(cp.port, port);
            const n = cp.streams.length;
            await cp.waitForStream(n, 8000);
            mark = cp.requests.length;
            cp.setResources(TYPE_URL.LDS, {});
            await ack(TYPE_URL.LDS, (r) => r.index >= mark);
            assert.equal(c.resources(TYPE_URL.LDS).size, 0);
            assert.deepEqual(cp.errors, []);
        });
    });
}

test('a SotW client on a Delta control plane is reported', { timeout: 10000 }, async () => {
    await withCp({ port: 0, delta: true }, async (cp) => {
        const c = new FakeAdsClient({ target: `127.0.0.1:${cp.port}`, delta: false }).start();
        try {
            await cp.waitFor(() => true, 3000);
            assert.match(cp.errors.join(), /SotW stream on a Delta control plane/);
        } finally {
            c.stop();
        }
    });
});

async function replayAgainstFake(lines, clientOpts = {}) {
    const delta = isDelta(lines);
    const cp = await startControlPlane({ port: 0, delta, scripted: true });
    const c = new FakeAdsClient(Object.assign({ target: `127.0.0.1:${cp.port}`, delta, backoffMs: 100 }, clientOpts)).start();
    try {
        return await new Replayer({ cp, listenPort: VARS.LISTEN_PORT, skipHttp: true, expectTimeoutMs: 2000 }).run(lines);
    } finally {
        c.stop();
        await cp.close();
    }
}

const files = fs.readdirSync(STREAMS).filter((f) => f.endsWith('.jsonl')).sort();

test('the stream files are there and well-formed', () => {
    for (const want of ['first-config', 'added-cluster', 'invalid-cluster-nacked-then-fixed', 'removed-listener', 'delta-add-remove', 'reconnect']) {
        assert.ok(files.includes(`${want}.jsonl`), `${want}.jsonl`);
    }
    const all = files.map((f) => loadStream(path.join(STREAMS, f), VARS));
    const types = new Set(all.flat().filter((l) => l.dir === 'recv').map((l) => l.msg.typeUrl));
    for (const t of Object.values(TYPE_URL)) assert.ok(types.has(t), `some stream uses ${t}`);
    assert.throws(() => loadStream(path.join(STREAMS, files[0]), {}), /no value for \$\{/);
});

for (const f of files) {
    test(`replay ${f} against the protocol-following fake client`, { timeout: 20000 }, async () => {
        const r = await replayAgainstFake(loadStream(path.join(STREAMS, f), VARS));
        assert.ok(r.expectations > 0 && r.responses > 0);
    });
}

test('a recording without control lines replays: a higher "stream" number is a disconnect', { timeout: 20000 }, async () => {
    // what --xds-record writes: "t", "stream", no disconnect/http/sleep lines
    const text = fs.readFileSync(path.join(STREAMS, 'reconnect.jsonl'), 'utf8').split('\n')
        .filter((l) => l.startsWith('{"stream"'))
        .map((l, i) => `{"t": ${i * 10}, ${l.slice(1)}`)
        .join('\n');
    const r = await replayAgainstFake(parseStream(text, VARS));
    assert.equal(r.streams, 2);
});

test('the replayer catches clients that break the protocol', { timeout: 30000 }, async () => {
    const first = loadStream(path.join(STREAMS, 'first-config.jsonl'), VARS);
    await assert.rejects(replayAgainstFake(first, { nodeOnEveryRequest: true }), /a node on a request that is not the first/);
    await assert.rejects(replayAgainstFake(first, { validate: () => 'rejected: everything' }), /want an ACK/);
    await assert.rejects(replayAgainstFake(first, { node: { id: 'someone-else' } }), /node\.id "someone-else"/);
    const nacked = loadStream(path.join(STREAMS, 'invalid-cluster-nacked-then-fixed.jsonl'), VARS);
    await assert.rejects(replayAgainstFake(nacked, { validate: () => null }), /no error_detail \(an ACK\), want a NACK/);
    await assert.rejects(replayAgainstFake(nacked, { validate: (t, n, r) => (r.lbPolicy === 'MAGLEV' ? `${n}: unsupported` : null) }), /does not contain "lb_policy"/);
    // a wrong version in the file
    const text = fs.readFileSync(path.join(STREAMS, 'first-config.jsonl'), 'utf8').replace('"versionInfo": "1", "typeUrl": "type.googleapis.com/envoy.config.cluster.v3.Cluster", "responseNonce": "c1"', '"versionInfo": "9", "typeUrl": "type.googleapis.com/envoy.config.cluster.v3.Cluster", "responseNonce": "c1"');
    await assert.rejects(replayAgainstFake(parseStream(text, VARS)), /version_info "1", want "9"/);
    // a request nobody expected
    const lines = first.filter((l) => !(l.dir === 'send' && l.msg.responseNonce === 'l1'));
    await assert.rejects(replayAgainstFake(lines), /unexpected request\(s\) at the end/);
});
