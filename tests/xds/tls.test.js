'use strict';
// The ADS channel over TLS: google_grpc with channel_credentials
// ssl_credentials (root_certs from a file). The data plane verifies the
// management server's certificate: with the right CA it gets its config,
// with another CA it does not.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const { execFileSync } = require('child_process');
const { startControlPlane, TYPE_URL } = require('./server');
const { DP_BIN, Work, Dataplane, freePort, expectHttp, describeHttp, sleep } = require('./harness');
const { staticCluster, listener } = require('./resources');

const SKIP = !DP_BIN && 'DP_BIN is not set';

function makeCa(work, name) {
    const key = work.file(`${name}-ca.key`), crt = work.file(`${name}-ca.crt`);
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', crt, '-days', '2',
        '-subj', `/CN=${name} test CA`], { stdio: 'ignore' });
    return { key, crt };
}

function makeServerCert(work, ca) {
    const key = work.file('server.key'), csr = work.file('server.csr'), crt = work.file('server.crt'), ext = work.file('san.ext');
    fs.writeFileSync(ext, 'subjectAltName=IP:127.0.0.1\n');
    execFileSync('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
    execFileSync('openssl', ['x509', '-req', '-in', csr, '-CA', ca.crt, '-CAkey', ca.key, '-CAcreateserial', '-out', crt,
        '-days', '2', '-extfile', ext], { stdio: 'ignore' });
    return { key: fs.readFileSync(key), cert: fs.readFileSync(crt) };
}

function tlsBootstrap({ adminPort, adsPort, caFile }) {
    return `node: { id: tls-node, cluster: test }
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: ${adminPort} } }
dynamic_resources:
  ads_config:
    api_type: GRPC
    transport_api_version: V3
    grpc_services:
    - google_grpc:
        target_uri: 127.0.0.1:${adsPort}
        stat_prefix: ads
        channel_credentials:
          ssl_credentials:
            root_certs: { filename: ${caFile} }
  lds_config: { ads: {}, resource_api_version: V3 }
  cds_config: { ads: {}, resource_api_version: V3 }
`;
}

for (const trusted of [true, false]) {
    test(`ADS over TLS, ${trusted ? 'server certificate trusted' : 'unknown CA refused'}`, { skip: SKIP, timeout: 60000 }, async () => {
        const work = new Work(`tls-${trusted}`);
        let cp = null, dp = null;
        try {
            const ca = makeCa(work, 'good');
            const other = makeCa(work, 'other');
            const [blue, listen, admin] = [await freePort(), await freePort(), await freePort()];
            await work.startUpstream('blue', blue);
            cp = await startControlPlane({ port: 0, tls: makeServerCert(work, ca) });
            cp.setResources(TYPE_URL.CDS, { blue: staticCluster('blue', blue) });
            cp.setResources(TYPE_URL.LDS, { ingress: listener({ port: listen, routes: [['a', ['a.test'], 'blue']] }) });
            dp = new Dataplane(work, { adminPort: admin, adsPort: cp.port });
            fs.writeFileSync(dp.bootstrap, tlsBootstrap({ adminPort: admin, adsPort: cp.port, caFile: trusted ? ca.crt : other.crt }));
            await dp.start();
            if (trusted) {
                const r = await expectHttp({ port: listen, host: 'a.test', status: 200, bodyContains: 'hello from blue', withinMs: 5000 });
                assert.ok(r.ok, `configured over TLS: ${describeHttp(r.last)}`);
                assert.ok(cp.requests.length >= 2, 'the control plane saw the subscriptions');
            } else {
                await sleep(2000);
                assert.equal(cp.requests.length, 0, 'no request reaches a server whose certificate is not trusted');
                const r = await expectHttp({ port: listen, host: 'a.test', status: 0, withinMs: 500 });
                assert.ok(r.ok, 'no listener configured');
            }
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
}
