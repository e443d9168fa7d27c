'use strict';
// Processes and HTTP for the xDS integration tests: real upstreams
// (tests/e2e/upstream.py), the real data plane with a written bootstrap,
// HTTP checks and a keep-alive load generator. Only 127.0.0.1 is used.
// Every process started here is killed by cleanup() (and, as a last resort,
// when node exits).
const { spawn } = require('child_process');
const fs = require('fs');
const http = require('http');
const net = require('net');
const os = require('os');
const path = require('path');

const DP_BIN = process.env.DP_BIN || '';
const DP_SRC = process.env.DP_SRC || path.resolve(__dirname, '..', '..');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Last resort: whatever a test left running dies with this process (also
// when the runner or CTest stops it with a signal).
const children = new Set();
function killChildren() {
    for (const c of children) {
        try {
            c.kill('SIGKILL');
        } catch (e) {
            /* already gone */
        }
    }
}
process.on('exit', killChildren);
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
    process.on(sig, () => {
        killChildren();
        process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGHUP' ? 1 : 15));
    });
}

// A free TCP port on 127.0.0.1 (the kernel picks it; closed again).
function freePort() {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.on('error', reject);
        s.listen(0, '127.0.0.1', () => {
            const { port } = s.address();
            s.close(() => resolve(port));
        });
    });
}

function canConnect(port) {
    return new Promise((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port });
        s.on('connect', () => {
            s.destroy();
            resolve(true);
        });
        s.on('error', () => resolve(false));
    });
}

async function waitPort(port, timeoutMs = 10000, proc = null) {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
        if (await canConnect(port)) return;
        if (proc && proc.exitCode !== null) throw new Error(`${proc.label} exited (${proc.exitCode}) before opening port ${port}`);
        await sleep(30);
    }
    throw new Error(`port 127.0.0.1:${port} did not open within ${timeoutMs} ms`);
}

// A fresh work directory, removed by cleanup() unless a test failed.
class Work {
    constructor(name) {
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `dp-xds-${name}-`));
        this.procs = [];
        this.failed = false;
    }

    file(name) {
        return path.join(this.dir, name);
    }

    spawn(label, cmd, args, logName) {
        const log = fs.openSync(this.file(logName || `${label}.log`), 'a');
        const p = spawn(cmd, args, { stdio: ['ignore', log, log] });
        fs.closeSync(log);
        p.label = label;
        p.exited = new Promise((resolve) => {
            p.on('exit', (code, signal) => {
                children.delete(p);
                resolve({ code, signal });
            });
            p.on('error', (e) => {
                children.delete(p);
                p.spawnError = e;
                resolve({ code: -1, signal: null, error: e });
            });
        });
        children.add(p);
        this.procs.push(p);
        return p;
    }

    async startUpstream(name, port) {
        const p = this.spawn(`upstream-${name}`, 'python3', [path.join(DP_SRC, 'tests', 'e2e', 'upstream.py'), '--name', name, '--port', String(port)]);
        await waitPort(port, 10000, p);
        return p;
    }

    // Kills whatever is still running; keeps the directory if a test
    // failed (its path and the data plane log tail are printed).
    async cleanup() {
        for (const p of this.procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
        await Promise.all(this.procs.map((p) => Promise.race([p.exited, sleep(3000)])));
        if (this.failed || process.env.KEEP_WORK) {
            process.stderr.write(`work dir kept: ${this.dir}\n`);
            const log = this.file('dataplane.log');
            if (fs.existsSync(log)) {
                const lines = fs.readFileSync(log, 'utf8').split('\n');
                process.stderr.write(`--- dataplane.log (last 40 lines)\n${lines.slice(-40).join('\n')}\n`);
            }
        } else {
            fs.rmSync(this.dir, { recursive: true, force: true });
        }
    }
}

// The bootstrap of every test: node test-node/test, admin on adminPort,
// everything else from the ADS server on adsPort.
function bootstrapYaml({ adminPort, adsPort, delta }) {
    return `node:
  id: test-node
  cluster: test
admin:
  address:
    socket_address: { address: 127.0.0.1, port_value: ${adminPort} }
dynamic_resources:
  ads_config:
    api_type: ${delta ? 'DELTA_GRPC' : 'GRPC'}
    transport_api_version: V3
    grpc_services:
    - google_grpc:
        target_uri: 127.0.0.1:${adsPort}
        stat_prefix: ads
  lds_config:
    ads: {}
    resource_api_version: V3
  cds_config:
    ads: {}
    resource_api_version: V3
`;
}

class Dataplane {
    constructor(work, { adminPort, adsPort, delta, record = true }) {
        this.work = work;
        this.adminPort = adminPort;
        this.bootstrap = work.file('bootstrap.yaml');
        this.record = record ? work.file('xds-record.jsonl') : null;
        fs.writeFileSync(this.bootstrap, bootstrapYaml({ adminPort, adsPort, delta }));
    }

    // Starts the data plane and waits for its admin port.
    async start() {
        if (!DP_BIN) throw new Error('DP_BIN (the dataplane binary) is not set');
        const args = ['-c', this.bootstrap, '--concurrency', '2', '--drain-time-s', '5'];
        if (this.record) args.push('--xds-record', this.record);
        this.proc = this.work.spawn('dataplane', DP_BIN, args, 'dataplane.log');
        await waitPort(this.adminPort, 10000, this.proc);
        return this;
    }

    // SIGTERM; resolves with the exit code (null and a signal name if it
    // had to be killed after timeoutMs).
    async stop(timeoutMs = 10000) {
        const p = this.proc;
        if (!p) return { code: null, signal: 'not started' };
        if (p.exitCode !== null || p.signalCode !== null) return { code: p.exitCode, signal: p.signalCode };
        p.kill('SIGTERM');
        const res = await Promise.race([p.exited, sleep(timeoutMs).then(() => null)]);
        if (res === null) {
            p.kill('SIGKILL');
            await p.exited;
            return { code: null, signal: `still running ${timeoutMs} ms after SIGTERM (killed)` };
        }
        return res;
    }

    // Lines of the log that are sanitizer reports.
    sanitizerReports() {
        const f = this.work.file('dataplane.log');
        if (!fs.existsSync(f)) return [];
        return fs.readFileSync(f, 'utf8').split('\n').filter((l) => /AddressSanitizer|LeakSanitizer|runtime error:|ThreadSanitizer/.test(l));
    }

    async admin(pathname) {
        return request({ port: this.adminPort, path: pathname, agent: false, timeoutMs: 5000 });
    }

    async configDump() {
        const r = await this.admin('/config_dump');
        if (r.status !== 200) throw new Error(`/config_dump answered ${r.status}: ${r.body.slice(0, 200)}`);
        return JSON.parse(r.body);
    }
}

// One HTTP/1.1 request to 127.0.0.1:port. Resolves with {status, body,
// headers} or {status: 0, error: code} when the connection failed.
function request({ port, host, path: p = '/', method = 'GET', agent = false, timeoutMs = 3000, body }) {
    return new Promise((resolve) => {
        const headers = {};
        if (host) headers.host = host;
        const req = http.request({ host: '127.0.0.1', port, path: p, method, headers, agent }, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
            res.on('error', (e) => resolve({ status: 0, error: e.code || e.message }));
        });
        req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
        req.on('error', (e) => resolve({ status: 0, error: e.code || e.message }));
        if (body) req.write(body);
        req.end();
    });
}

// Repeats a request (new connection each time) until it gives the wanted
// status (0 = connection refused) and body text, or withinMs passes.
// Resolves with {ok, last, elapsed}.
async function expectHttp({ port, host, path: p = '/', method = 'GET', status, bodyContains, withinMs = 3000 }) {
    const t0 = Date.now();
    let last;
    for (;;) {
        last = await request({ port, host, path: p, method, timeoutMs: 2000 });
        const statusOk = status === 0 ? last.status === 0 && last.error === 'ECONNREFUSED' : last.status === status;
        const bodyOk = !bodyContains || (last.body || '').includes(bodyContains);
        if (statusOk && bodyOk) return { ok: true, last, elapsed: Date.now() - t0 };
        if (Date.now() - t0 >= withinMs) return { ok: false, last, elapsed: Date.now() - t0 };
        await sleep(40);
    }
}

function describeHttp(r) {
    if (!r) return 'nothing';
    if (r.status === 0) return `connection error ${r.error}`;
    return `${r.status} ${JSON.stringify((r.body || '').slice(0, 120))}`;
}

// Keep-alive load: `conns` connections, each sending requests back to back
// until stop(). stop() resolves with {total, ok, non2xx, errors, bodies:
// {first line -> count}, samples: first failures}.
function startLoad({ port, host, path: p = '/', conns = 8 }) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: conns });
    const stats = { total: 0, ok: 0, non2xx: 0, errors: 0, bodies: {}, samples: [] };
    let running = true;
    const one = async () => {
        while (running) {
            const r = await request({ port, host, path: p, agent, timeoutMs: 5000 });
            stats.total += 1;
            if (r.status >= 200 && r.status < 300) {
                stats.ok += 1;
                const k = (r.body || '').split('\n')[0];
                stats.bodies[k] = (stats.bodies[k] || 0) + 1;
            } else {
                if (r.status === 0) stats.errors += 1;
                else stats.non2xx += 1;
                if (stats.samples.length < 5) stats.samples.push(`${new Date().toISOString()} ${describeHttp(r)}`);
            }
        }
    };
    const loops = Array.from({ length: conns }, one);
    return {
        stats,
        async stop() {
            running = false;
            await Promise.all(loops);
            agent.destroy();
            return stats;
        },
    };
}

module.exports = {
    DP_BIN,
    DP_SRC,
    sleep,
    freePort,
    waitPort,
    canConnect,
    Work,
    Dataplane,
    bootstrapYaml,
    request,
    expectHttp,
    describeHttp,
    startLoad,
};
