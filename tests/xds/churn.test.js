'use strict';
// Config churn under load: the control plane pushes a new CDS and LDS
// version every 10 ms (100 pushes per second, alternating the route between
// blue and green and changing a cluster's settings) for 4 s while 8
// keep-alive connections send requests: zero failed requests, both
// upstreams serve, and the data plane ends on the last push.
const test = require('node:test');
const assert = require('node:assert/strict');
const { startControlPlane, TYPE_URL } = require('./server');
const { DP_BIN, Work, Dataplane, freePort, expectHttp, startLoad, describeHttp, sleep } = require('./harness');
const { staticCluster, listener } = require('./resources');

const { CDS, LDS } = TYPE_URL;
const SKIP = !DP_BIN && 'DP_BIN is not set';

test('100 pushes per second under load: zero failed requests', { skip: SKIP, timeout: 60000 }, async () => {
    const work = new Work('churn');
    let cp = null, dp = null;
    try {
        const [blue, green, listen, admin] = [await freePort(), await freePort(), await freePort(), await freePort()];
        await work.startUpstream('blue', blue);
        await work.startUpstream('green', green);
        cp = await startControlPlane({ port: 0 });
        dp = new Dataplane(work, { adminPort: admin, adsPort: cp.port, record: false });
        await dp.start();
        const clusters = (i) => ({
            blue: staticCluster('blue', blue, { connectTimeout: `${1 + (i % 3)}s` }),
            green: staticCluster('green', green),
        });
        cp.setResources(CDS, clusters(0));
        cp.setResources(LDS, { ingress: listener({ port: listen, routes: [['a', ['a.test'], 'blue']] }) });
        const r0 = await expectHttp({ port: listen, host: 'a.test', status: 200, bodyContains: 'hello from blue', withinMs: 5000 });
        assert.ok(r0.ok, `initial config: ${describeHttp(r0.last)}`);

        const load = startLoad({ port: listen, host: 'a.test', conns: 8 });
        const t0 = Date.now();
        let i = 0;
        while (Date.now() - t0 < 4000) {
            i += 1;
            cp.setResources(CDS, clusters(i));
            cp.setResources(LDS, { ingress: listener({ port: listen, routes: [['a', ['a.test'], i % 2 ? 'green' : 'blue']] }) });
            await sleep(10);
        }
        const last = i % 2 ? 'green' : 'blue';
        await sleep(300);
        const stats = await load.stop();
        assert.ok(i >= 200, `pushed ${i} times`);
        assert.ok(stats.total > 500, `load ran: ${JSON.stringify(stats)}`);
        assert.equal(stats.errors + stats.non2xx, 0, `zero failed requests: ${JSON.stringify(stats)}`);
        assert.ok(stats.bodies['hello from blue'] > 0 && stats.bodies['hello from green'] > 0, `both served: ${JSON.stringify(stats.bodies)}`);
        const r = await expectHttp({ port: listen, host: 'a.test', status: 200, bodyContains: `hello from ${last}`, withinMs: 3000 });
        assert.ok(r.ok, `ends on the last push (${last}): ${describeHttp(r.last)}`);
        const exit = await dp.stop();
        assert.deepEqual(exit, { code: 0, signal: null });
        assert.deepEqual(dp.sanitizerReports(), []);
    } catch (e) {
        work.failed = true;
        throw e;
    } finally {
        if (dp) await dp.stop(2000);
        if (cp) await cp.close();
        await work.cleanup();
    }
});
