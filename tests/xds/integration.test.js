'use strict';
// The real data plane driven by the scriptable ADS server (server.js):
//  (a) traffic follows each push (RDS, EDS), visible in /config_dump and
//      /clusters;
//  (b) an invalid push is NACKed naming the field while keep-alive load
//      continues without a failure on the last good config;
//  (c) the control plane stops under load: no failed request while it is
//      down; when it is back the data plane resubscribes (node, last
//      versions) and applies the next push;
//  (d) (a) over Delta, plus removed_resources.
const test = require('node:test');
const assert = require('node:assert/strict');
const { startControlPlane, TYPE_URL } = require('./server');
const { DP_BIN, Work, Dataplane, freePort, expectHttp, request, startLoad, describeHttp, sleep } = require('./harness');
const { cla, staticCluster, edsCluster, routeConfig, listener } = require('./resources');

const { CDS, EDS, LDS, RDS } = TYPE_URL;
const SKIP = !DP_BIN && 'DP_BIN is not set';
const log = process.env.XDS_TEST_VERBOSE ? (m) => process.stderr.write(`${m}\n`) : () => {};

// Upstreams blue and green, a control plane, the data plane.
async function withSetup(name, { delta = false }, fn) {
    const work = new Work(name);
    let cp = null;
    let dp = null;
    try {
        const [blue, green, listen, admin] = [await freePort(), await freePort(), await freePort(), await freePort()];
        await work.startUpstream('blue', blue);
        await work.startUpstream('green', green);
        cp = await startControlPlane({ port: 0, delta, log });
        dp = new Dataplane(work, { adminPort: admin, adsPort: cp.port, delta });
        await dp.start();
        await fn({ cp, dp, blue, green, listen, work });
        const exit = await dp.stop();
        assert.deepEqual(exit, { code: 0, signal: null }, 'the data plane exits 0 on SIGTERM');
        assert.deepEqual(dp.sanitizerReports(), []);
        assert.deepEqual(cp.errors, []);
    } catch (e) {
        work.failed = true;
        throw e;
    } finally {
        if (dp) await dp.stop(2000);
        if (cp) await cp.close();
        await work.cleanup();
    }
}

// Pushes and waits for the ACK of that version.
async function pushAcked(cp, typeUrl, resources, timeoutMs = 5000) {
    const v = cp.setResources(typeUrl, resources);
    await cp.waitAck(typeUrl, v, timeoutMs);
    return v;
}

async function mustHttp(opts, what) {
    const r = await expectHttp(opts);
    assert.ok(r.ok, `${what}: want ${opts.status} ${opts.bodyContains || ''} within ${opts.withinMs} ms, got ${describeHttp(r.last)}`);
    return r;
}

// After a push: the change shows within 1 s, and then stays (10 requests
// in a row).
async function followsPush({ listen, host, status = 200, body, what }) {
    const r = await mustHttp({ port: listen, host, status, bodyContains: body, withinMs: 1000 }, what);
    for (let i = 0; i < 10; i++) {
        const x = await request({ port: listen, host });
        assert.ok(x.status === status && (!body || x.body.includes(body)), `${what}: request ${i + 1} after the change: ${describeHttp(x)}`);
    }
    return r.elapsed;
}

function section(dump, kind) {
    const s = dump.configs.find((c) => c['@type'] === `type.googleapis.com/envoy.admin.v3.${kind}`);
    assert.ok(s, `/config_dump has a ${kind}`);
    return s;
}

function dumpedCluster(dump, name) {
    return (section(dump, 'ClustersConfigDump').dynamic_active_clusters || []).find((c) => c.cluster && c.cluster.name === name);
}

function dumpedListener(dump, name) {
    return (section(dump, 'ListenersConfigDump').dynamic_listeners || []).find((l) => l.name === name);
}

function dumpedRoute(dump, name) {
    return (section(dump, 'RoutesConfigDump').dynamic_route_configs || []).find((r) => r.route_config && r.route_config.name === name);
}

// The admin view of the dynamic resources: versions in /config_dump,
// clusters and their hosts in /clusters.
async function checkAdmin(dp, { listeners, clusters, routes = {}, absentClusters = [] }) {
    const dump = await dp.configDump();
    for (const [name, version] of Object.entries(listeners)) {
        const l = dumpedListener(dump, name);
        assert.ok(l, `/config_dump lists dynamic listener ${name}`);
        assert.equal(l.active_state && l.active_state.version_info, version, `listener ${name} version_info`);
        assert.equal(l.active_state.listener.name, name);
    }
    for (const [name, version] of Object.entries(clusters)) {
        const c = dumpedCluster(dump, name);
        assert.ok(c, `/config_dump lists dynamic cluster ${name}`);
        assert.equal(c.version_info, version, `cluster ${name} version_info`);
    }
    for (const [name, version] of Object.entries(routes)) {
        const r = dumpedRoute(dump, name);
        assert.ok(r, `/config_dump lists dynamic route config ${name}`);
        assert.equal(r.version_info, version, `route config ${name} version_info`);
    }
    for (const name of absentClusters) assert.equal(dumpedCluster(dump, name), undefined, `cluster ${name} is gone from /config_dump`);
    const cl = await dp.admin('/clusters');
    assert.equal(cl.status, 200);
    return { dump, clusters: cl.body };
}

test('(a) SotW: traffic follows each push; /config_dump and /clusters show the dynamic resources', { skip: SKIP, timeout: 60000 }, async () => {
    await withSetup('follow', {}, async ({ cp, dp, blue, green, listen }) => {
        const vC = await pushAcked(cp, CDS, { blue: staticCluster('blue', blue), green: edsCluster('green') });
        const vE = await pushAcked(cp, EDS, { green: cla('green', green) });
        const vL = await pushAcked(cp, LDS, { ingress: listener({ port: listen, rds: 'local_route' }) });
        let vR = await pushAcked(cp, RDS, { local_route: routeConfig('local_route', [['a', ['a.test'], 'blue'], ['all', ['*'], 'green']]) });
        await mustHttp({ port: listen, host: 'a.test', status: 200, bodyContains: 'hello from blue', withinMs: 3000 }, 'a.test -> blue');
        await mustHttp({ port: listen, host: 'b.test', status: 200, bodyContains: 'hello from green', withinMs: 1000 }, 'b.test -> green (EDS)');

        // RDS push: a.test -> green
        vR = cp.setResources(RDS, { local_route: routeConfig('local_route', [['a', ['a.test'], 'green'], ['all', ['*'], 'green']]) });
        await followsPush({ listen, host: 'a.test', body: 'hello from green', what: 'RDS push a.test -> green' });
        await cp.waitAck(RDS, vR);
        // EDS push: green's endpoint moves to the blue upstream
        const vE2 = cp.setResources(EDS, { green: cla('green', blue) });
        await followsPush({ listen, host: 'a.test', body: 'hello from blue', what: 'EDS push green -> blue upstream' });
        await cp.waitAck(EDS, vE2);
        const vE3 = await pushAcked(cp, EDS, { green: cla('green', green) });
        await followsPush({ listen, host: 'a.test', body: 'hello from green', what: 'EDS push green back' });
        assert.notEqual(vE3, vE);

        const { clusters } = await checkAdmin(dp, { listeners: { ingress: vL }, clusters: { blue: vC, green: vC }, routes: { local_route: vR } });
        assert.match(clusters, /^blue::added_via_api::true$/m);
        assert.match(clusters, /^green::added_via_api::true$/m);
        assert.ok(clusters.includes(`blue::127.0.0.1:${blue}::health_flags::healthy`), `/clusters shows blue's host:\n${clusters}`);
        assert.ok(clusters.includes(`green::127.0.0.1:${green}::health_flags::healthy`), `/clusters shows green's host from EDS:\n${clusters}`);
        const listeners = await dp.admin('/listeners');
        assert.ok(listeners.body.includes(`ingress::127.0.0.1:${listen}`), `/listeners: ${listeners.body}`);
    });
});

test('(b) an invalid push is NACKed naming the field; keep-alive load sees no failure', { skip: SKIP, timeout: 60000 }, async () => {
    await withSetup('nack', {}, async ({ cp, dp, blue, green, listen }) => {
        const vC = await pushAcked(cp, CDS, { blue: staticCluster('blue', blue) });
        await pushAcked(cp, LDS, { ingress: listener({ port: listen, routes: [['all', ['*'], 'blue']] }) });
        await mustHttp({ port: listen, host: 'a.test', status: 200, bodyContains: 'hello from blue', withinMs: 3000 }, 'before');

        const load = startLoad({ port: listen, host: 'a.test', conns: 8 });
        const t0 = Date.now();
        await sleep(500);
        // dns_lookup_family: a real Envoy field the data plane does not implement
        const vBad = cp.setResources(CDS, {
            blue: staticCluster('blue', blue),
            bad: staticCluster('bad', green, { dnsLookupFamily: 'V4_ONLY' }),
        });
        const nack = await cp.waitNack(CDS, vBad, 5000);
        await sleep(Math.max(0, 3000 - (Date.now() - t0)));
        const stats = await load.stop();

        assert.equal(nack.version, vC, 'the NACK carries the last accepted version');
        assert.match(nack.error.message, /\bbad\b/, 'error_detail names the rejected cluster');
        assert.match(nack.error.message, /\bdns_lookup_family \(field 17\): not supported/, 'error_detail names the field');
        assert.equal(stats.errors, 0, `connection errors under load: ${stats.samples.join('; ')}`);
        assert.equal(stats.non2xx, 0, `non-2xx under load: ${stats.samples.join('; ')}`);
        assert.ok(stats.ok > 50, `only ${stats.ok} requests in 3 s`);
        assert.deepEqual(Object.keys(stats.bodies), ['hello from blue'], 'served by the last good config');

        await checkAdmin(dp, { listeners: {}, clusters: { blue: vC }, absentClusters: ['bad'] });
        // the stream is still good: a fixed push is ACKed and used
        const vFix = await pushAcked(cp, CDS, { blue: staticCluster('blue', blue), bad: staticCluster('bad', green) });
        await pushAcked(cp, LDS, { ingress: listener({ port: listen, routes: [['bad', ['bad.test'], 'bad'], ['all', ['*'], 'blue']] }) });
        await followsPush({ listen, host: 'bad.test', body: 'hello from green', what: 'fixed cluster' });
        assert.notEqual(vFix, vBad);
    });
});

test('(c) the control plane stops under load: no failure, resubscription, next push applied', { skip: SKIP, timeout: 60000 }, async () => {
    await withSetup('cpdown', {}, async ({ cp, blue, green, listen }) => {
        const vC = await pushAcked(cp, CDS, { blue: staticCluster('blue', blue), green: staticCluster('green', green) });
        const vL = await pushAcked(cp, LDS, { ingress: listener({ port: listen, routes: [['all', ['*'], 'blue']] }) });
        await mustHttp({ port: listen, host: 'a.test', status: 200, bodyContains: 'hello from blue', withinMs: 3000 }, 'before');

        const load = startLoad({ port: listen, host: 'a.test', conns: 8 });
        await sleep(300);
        const streamsBefore = cp.streams.length;
        const mark = cp.requests.length;
        await cp.stop();
        const okAtStop = load.stats.ok;
        await sleep(3000);
        const okDuringDown = load.stats.ok - okAtStop;
        await cp.start();
        const tBack = Date.now();
        const lds = await cp.waitFor((r) => r.stream > streamsBefore && r.typeUrl === LDS, 10000, mark);
        const cds = await cp.waitFor((r) => r.stream === lds.stream && r.typeUrl === CDS, 2000, mark);
        const resubscribedMs = Date.now() - tBack;
        await sleep(300);
        const stats = await load.stop();

        assert.ok(okDuringDown > 20, `only ${okDuringDown} requests served while the control plane was down`);
        assert.equal(stats.errors, 0, `connection errors: ${stats.samples.join('; ')}`);
        assert.equal(stats.non2xx, 0, `non-2xx: ${stats.samples.join('; ')}`);
        assert.deepEqual(Object.keys(stats.bodies), ['hello from blue']);
        const first = cp.requests.find((r) => r.stream === lds.stream && r.firstOfStream);
        assert.ok(first.node && first.node.id === 'test-node', 'the new stream starts with the node');
        assert.equal(cds.version, vC, 'CDS resubscribes with the last accepted version');
        assert.equal(lds.version, vL, 'LDS resubscribes with the last accepted version');
        assert.equal(cds.nonce, '', 'no nonce from the old stream');
        assert.equal(lds.nonce, '', 'no nonce from the old stream');
        log(`resubscribed ${resubscribedMs} ms after the control plane came back`);

        const vL2 = cp.setResources(LDS, { ingress: listener({ port: listen, routes: [['all', ['*'], 'green']] }) });
        await followsPush({ listen, host: 'a.test', body: 'hello from green', what: 'push after the restart' });
        await cp.waitAck(LDS, vL2);
    });
});

test('(d) Delta: traffic follows each push; removed_resources', { skip: SKIP, timeout: 60000 }, async () => {
    await withSetup('delta', { delta: true }, async ({ cp, dp, blue, green, listen }) => {
        await pushAcked(cp, CDS, { blue: staticCluster('blue', blue), green: edsCluster('green') });
        await pushAcked(cp, EDS, { green: cla('green', green) });
        await pushAcked(cp, LDS, { ingress: listener({ port: listen, rds: 'local_route' }) });
        await pushAcked(cp, RDS, { local_route: routeConfig('local_route', [['a', ['a.test'], 'blue'], ['g', ['g.test'], 'green']]) });
        await mustHttp({ port: listen, host: 'a.test', status: 200, bodyContains: 'hello from blue', withinMs: 3000 }, 'a.test -> blue');
        await mustHttp({ port: listen, host: 'g.test', status: 200, bodyContains: 'hello from green', withinMs: 1000 }, 'g.test -> green');

        // the subscriptions: wildcard LDS/CDS, RDS and EDS by name
        const sub = (t) => cp.requests.filter((r) => r.typeUrl === t).flatMap((r) => r.subscribe);
        assert.deepEqual(sub(EDS), ['green']);
        assert.deepEqual(sub(RDS), ['local_route']);

        const vR = cp.setResources(RDS, { local_route: routeConfig('local_route', [['a', ['a.test'], 'green'], ['g', ['g.test'], 'green']]) });
        await followsPush({ listen, host: 'a.test', body: 'hello from green', what: 'RDS push a.test -> green' });
        await cp.waitAck(RDS, vR);
        // a listener change (per-resource version moves, others stay)
        const vL = cp.setResources(LDS, { ingress: listener({ port: listen, routes: [['a', ['a.test'], 'blue'], ['g', ['g.test'], 'green']] }) });
        await followsPush({ listen, host: 'a.test', body: 'hello from blue', what: 'LDS push with an inline route' });
        await cp.waitAck(LDS, vL);
        // the listener no longer names local_route: the client unsubscribes it
        await cp.waitFor((r) => r.typeUrl === RDS && r.unsubscribe.includes('local_route'), 3000);

        const { clusters } = await checkAdmin(dp, {
            listeners: { ingress: cp.resourceVersion(LDS, 'ingress') },
            clusters: { blue: cp.resourceVersion(CDS, 'blue'), green: cp.resourceVersion(CDS, 'green') },
        });
        assert.ok(clusters.includes(`green::127.0.0.1:${green}::health_flags::healthy`), `/clusters shows green's host:\n${clusters}`);

        // removed_resources: green goes while g.test still routes to it
        const mark = cp.requests.length;
        const vC = cp.setResources(CDS, { blue: staticCluster('blue', blue) });
        assert.deepEqual(cp.responses.filter((r) => r.typeUrl === CDS).pop().removed, ['green']);
        await followsPush({ listen, host: 'g.test', status: 503, what: 'route to a removed cluster' });
        await cp.waitAck(CDS, vC);
        await cp.waitFor((r) => r.typeUrl === EDS && r.unsubscribe.includes('green'), 3000, mark);
        await mustHttp({ port: listen, host: 'a.test', status: 200, bodyContains: 'hello from blue', withinMs: 1000 }, 'a.test still served');
        const after = await checkAdmin(dp, { listeners: {}, clusters: { blue: cp.resourceVersion(CDS, 'blue') }, absentClusters: ['green'] });
        assert.doesNotMatch(after.clusters, /^green::/m, '/clusters no longer shows green');
    });
});
