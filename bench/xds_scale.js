'use strict';
// xDS scale: 10,000 clusters and 10,000 virtual hosts pushed over ADS by a
// control plane that encodes with Envoy's real protos (tests/xds/server.js).
// Measures: time from the push to the ACK and to traffic routed to the last
// virtual host; RSS per cluster and per virtual host; time for a
// one-cluster change among 10,000 to be routable.
//   node bench/xds_scale.js [N]        (run by bench/xds-scale.sh)
const fs = require('fs');
const path = require('path');
const { execSync } = require('child_process');
const H = require('../tests/xds/harness.js');
const { startControlPlane, TYPE_URL } = require('../tests/xds/server.js');
const R = require('../tests/xds/resources.js');

const N = parseInt(process.argv[2] || '10000', 10);

function rssKiB(pid) {
    const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/);
    return m ? parseInt(m[1], 10) : 0;
}

async function until(fn, withinMs) {
    const t0 = Date.now();
    for (;;) {
        if (await fn()) return Date.now() - t0;
        if (Date.now() - t0 > withinMs) throw new Error('timed out');
        await H.sleep(2);
    }
}

(async () => {
    const work = new H.Work('xds-scale');
    const upPort = await H.freePort(), listenPort = await H.freePort(), adminPort = await H.freePort();
    work.spawn('origin', 'python3', [path.join(H.DP_SRC, 'tests/e2e/upstream.py'), '--name', 'origin', '--port', String(upPort)]);
    await H.waitPort(upPort, 10000);
    const cp = await startControlPlane({});
    const dp = new H.Dataplane(work, { adminPort, adsPort: cp.port, record: false });
    await dp.start();
    const pid = dp.proc.pid;
    const ok = async (host) => (await H.request({ port: listenPort, host, timeoutMs: 2000 })).status === 200;

    // a small config first, so the baseline includes the listener machinery
    cp.setResources(TYPE_URL.CDS, { c0: R.staticCluster('c0', upPort) });
    cp.setResources(TYPE_URL.LDS, { ingress: R.listener({ port: listenPort, routes: [['v0', ['c0.bench'], 'c0']] }) });
    await until(() => ok('c0.bench'), 10000);
    await H.sleep(300);
    const rss0 = rssKiB(pid);

    const clusters = {};
    for (let i = 0; i < N; i++) clusters[`c${i}`] = R.staticCluster(`c${i}`, upPort);
    let t = Date.now();
    const since = cp.requests.length;
    cp.setResources(TYPE_URL.CDS, clusters);
    const ack = await cp.waitFor((r) => r.typeUrl === TYPE_URL.CDS && r.nonce && r.version !== '1', 60000, since);
    if (ack.error) throw new Error('CDS NACKed: ' + ack.error.message);
    const cdsAckMs = Date.now() - t;
    await H.sleep(500);
    const rss1 = rssKiB(pid);

    const routes = [];
    for (let i = 0; i < N; i++) routes.push([`v${i}`, [`c${i}.bench`], `c${i}`]);
    t = Date.now();
    cp.setResources(TYPE_URL.LDS, { ingress: R.listener({ port: listenPort, routes }) });
    const ldsRoutedMs = await until(() => ok(`c${N - 1}.bench`), 60000);
    await H.sleep(500);
    const rss2 = rssKiB(pid);

    // one cluster changes among N: its endpoint moves; time until requests see it
    const other = await H.freePort();
    work.spawn('origin2', 'python3', [path.join(H.DP_SRC, 'tests/e2e/upstream.py'), '--name', 'moved', '--port', String(other)]);
    await H.waitPort(other, 10000);
    clusters[`c${N - 1}`] = R.staticCluster(`c${N - 1}`, other);
    t = Date.now();
    cp.setResources(TYPE_URL.CDS, clusters);
    const oneChangeMs = await until(async () => {
        const r = await H.request({ port: listenPort, host: `c${N - 1}.bench`, timeoutMs: 2000 });
        return r.status === 200 && r.body.includes('moved');
    }, 60000);
    const firstOk = await ok('c0.bench');
    // the data plane's own processing time of each response (its log)
    const proc = fs.readFileSync(work.file('dataplane.log'), 'utf8').split('\n')
        .map((l) => l.match(/response of (\d+) bytes processed in ([\d.]+) ms/)).filter(Boolean)
        .map((m) => ({ bytes: +m[1], ms: +m[2] }));
    const big = proc.filter((p) => p.bytes > 100000);

    const res = {
        date: new Date().toISOString(),
        commit: (() => { try { return execSync('git rev-parse --short HEAD', { cwd: H.DP_SRC }).toString().trim(); } catch (e) { return 'unknown'; } })(),
        clusters: N, virtual_hosts: N,
        cds_push_to_ack_ms: cdsAckMs,
        lds_push_to_last_vhost_routed_ms: ldsRoutedMs,
        one_cluster_change_routable_ms: oneChangeMs,
        rss_base_kib: rss0,
        rss_per_cluster_bytes: Math.round((rss1 - rss0) * 1024 / N),
        rss_per_vhost_bytes: Math.round((rss2 - rss1) * 1024 / N),
        first_vhost_still_ok: firstOk,
        dataplane_processing_ms: big.map((p) => p.ms),
        dataplane_processing_note: 'time the data plane spent on each large response (10k clusters, 10k vhosts, the one-cluster change), from decode to commit',
        note: 'push-to-ACK and push-to-routed include encoding and sending by the Node control plane',
    };
    console.log(JSON.stringify(res, null, 2));
    fs.mkdirSync(path.join(H.DP_SRC, 'bench/results'), { recursive: true });
    fs.writeFileSync(path.join(H.DP_SRC, `bench/results/xds-scale-${res.date.replace(/[:.]/g, '')}-${res.commit}.json`), JSON.stringify(res, null, 2) + '\n');
    await dp.stop();
    await cp.stop();
    await work.cleanup();
    process.exit(0);
})().catch((e) => { console.error(e); process.exit(1); });
