'use strict';
// Listener and cluster life cycle over xDS with the real data plane:
//  - a listener whose address cannot be bound is NACKed naming the address,
//    and the listeners that were fine keep serving;
//  - a modified listener serves new connections with its new routes while a
//    kept-alive connection finishes on the old ones and is then closed;
//  - a removed listener stops accepting.
const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('net');
const http = require('http');
const { startControlPlane, TYPE_URL } = require('./server');
const { DP_BIN, Work, Dataplane, freePort, expectHttp, describeHttp } = require('./harness');
const { staticCluster, listener } = require('./resources');

const { CDS, LDS } = TYPE_URL;
const SKIP = !DP_BIN && 'DP_BIN is not set';

test('listener life cycle: bind failure NACKed, modification, removal', { skip: SKIP, timeout: 60000 }, async () => {
    const work = new Work('lifecycle');
    let cp = null, dp = null, blocker = null;
    try {
        const [blue, green, listen, busy, admin] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
        await work.startUpstream('blue', blue);
        await work.startUpstream('green', green);
        // something else holds `busy`
        blocker = net.createServer();
        await new Promise((r) => blocker.listen(busy, '127.0.0.1', r));
        cp = await startControlPlane({ port: 0 });
        dp = new Dataplane(work, { adminPort: admin, adsPort: cp.port });
        await dp.start();

        let v = cp.setResources(CDS, { blue: staticCluster('blue', blue), green: staticCluster('green', green) });
        await cp.waitAck(CDS, v);
        v = cp.setResources(LDS, {
            ingress: listener({ port: listen, routes: [['a', ['a.test'], 'blue']] }),
            clash: listener({ name: 'clash', port: busy, routes: [['a', ['a.test'], 'blue']] }),
        });
        const nack = await cp.waitNack(LDS, v);
        assert.match(nack.error.message, /clash/, 'the NACK names the listener');
        assert.match(nack.error.message, new RegExp(`127\\.0\\.0\\.1:${busy}`), 'the NACK names the address');
        let r = await expectHttp({ port: listen, host: 'a.test', status: 200, bodyContains: 'hello from blue', withinMs: 3000 });
        assert.ok(r.ok, `the valid listener serves: ${describeHttp(r.last)}`);

        // a kept-alive connection on the current listener config
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        const get = () => new Promise((resolve, reject) => {
            http.get({ host: '127.0.0.1', port: listen, path: '/', headers: { host: 'a.test' }, agent }, (res) => {
                let b = '';
                res.on('data', (c) => (b += c));
                res.on('end', () => resolve({ status: res.statusCode, body: b, connection: res.headers.connection }));
            }).on('error', reject);
        });
        assert.equal((await get()).body, 'hello from blue\n');

        // modify the listener: a.test now goes to green
        v = cp.setResources(LDS, { ingress: listener({ port: listen, routes: [['a', ['a.test'], 'green']] }) });
        await cp.waitAck(LDS, v);
        r = await expectHttp({ port: listen, host: 'a.test', status: 200, bodyContains: 'hello from green', withinMs: 3000 });
        assert.ok(r.ok, `new connections use the new routes: ${describeHttp(r.last)}`);
        const old = await get();
        assert.equal(old.body, 'hello from blue\n', 'the kept-alive connection finishes on its old config');
        assert.equal(old.connection, 'close', '... and is closed after that response');
        assert.equal((await get()).body, 'hello from green\n', 'its next connection gets the new config');
        agent.destroy();

        // remove the listener: connections are refused
        v = cp.setResources(LDS, {});
        await cp.waitAck(LDS, v);
        r = await expectHttp({ port: listen, host: 'a.test', status: 0, withinMs: 3000 });
        assert.ok(r.ok, `a removed listener stops accepting: ${describeHttp(r.last)}`);

        const exit = await dp.stop();
        assert.deepEqual(exit, { code: 0, signal: null });
        assert.deepEqual(dp.sanitizerReports(), []);
    } catch (e) {
        work.failed = true;
        throw e;
    } finally {
        if (blocker) blocker.close();
        if (dp) await dp.stop(2000);
        if (cp) await cp.close();
        await work.cleanup();
    }
});
