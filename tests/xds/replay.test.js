'use strict';
// Every tests/xds-streams/*.jsonl replayed against the real data plane:
// two real upstreams (blue, green), the replaying ADS server, and
// `dataplane -c bootstrap.yaml --concurrency 2 --xds-record out.jsonl`.
// Every expectation of the stream must hold; at the end the data plane's
// own recording must parse and hold the responses it was sent, and
// SIGTERM must end it with exit code 0.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { startControlPlane } = require('./server');
const { loadStream, isDelta, Replayer, checkRecording } = require('./replay');
const { DP_BIN, Work, Dataplane, freePort } = require('./harness');

const STREAMS = path.resolve(__dirname, '..', 'xds-streams');
const files = fs.readdirSync(STREAMS).filter((f) => f.endsWith('.jsonl')).sort();
const log = process.env.XDS_TEST_VERBOSE ? (m) => process.stderr.write(`${m}\n`) : () => {};

for (const f of files) {
    test(`replay ${f} against the data plane`, { skip: !DP_BIN && 'DP_BIN is not set', timeout: 60000 }, async () => {
        const work = new Work(path.basename(f, '.jsonl'));
        let cp = null;
        try {
            const [blue, green, listen, admin] = [await freePort(), await freePort(), await freePort(), await freePort()];
            await work.startUpstream('blue', blue);
            await work.startUpstream('green', green);
            const lines = loadStream(path.join(STREAMS, f), { UPSTREAM_BLUE: blue, UPSTREAM_GREEN: green, LISTEN_PORT: listen });
            const delta = isDelta(lines);
            cp = await startControlPlane({ port: 0, delta, scripted: true, log });
            const dp = new Dataplane(work, { adminPort: admin, adsPort: cp.port, delta });
            await dp.start();
            const res = await new Replayer({ cp, listenPort: listen, log }).run(lines);
            assert.ok(res.expectations > 0);

            const exit = await dp.stop();
            assert.deepEqual(exit, { code: 0, signal: null }, 'the data plane exits 0 on SIGTERM');
            const problems = checkRecording(dp.record, cp);
            assert.deepEqual(problems, [], `--xds-record ${dp.record}`);
            assert.deepEqual(dp.sanitizerReports(), []);
        } catch (e) {
            work.failed = true;
            throw e;
        } finally {
            if (cp) await cp.close();
            await work.cleanup();
        }
    });
}
