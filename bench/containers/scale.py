#!/usr/bin/env python3
"""Container catalogue at scale: the driver of bench/containers-scale.sh
(read its header for what is measured and why).

  scale.py N --build DIR --origin-bin PATH [--seconds S] [--rounds R] [--changes K]

Prints a table and writes bench/results/containers-scale-<date>.json.
"""
import argparse
import base64
import calendar
import hashlib
import hmac
import http.client
import json
import os
import platform
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fleet  # noqa: E402  (bench/containers/fleet.py)

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
USER, PASSWORD = "bench", "bench-pass"
# Core 0: the data plane (all its threads). Core 1: the origin, wrk, the
# stub and this driver: the data plane's core is the one being measured.
DP_CORE, TOOLS_CORE = "0", "1"
HZ = os.sysconf("SC_CLK_TCK")


def http_post(port, path):
    """POST path on 127.0.0.1:port; the status code (0 when no answer)."""
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("POST", path)
        code = c.getresponse().status
        c.close()
        return code
    except OSError:
        return 0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, within_s, proc=None):
    t = time.monotonic()
    while time.monotonic() - t < within_s:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("process exited while we waited for port %d" % port)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.01)
    raise RuntimeError("port %d not listening after %d s" % (port, within_s))


def rss_kib(pid, field="VmRSS"):
    with open("/proc/%d/status" % pid) as f:
        m = re.search(r"^%s:\s+(\d+)" % field, f.read(), re.M)
    return int(m.group(1)) if m else 0


def cpu_ns(pid):
    """CPU time of every thread of pid, in ns (schedstat: ns resolution,
    where /proc/PID/stat counts 10 ms ticks)."""
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        except OSError:
            pass  # thread gone
    return total


def user_ticks(pid):
    """User-mode CPU of every thread of pid, in clock ticks (/proc stat
    utime): kernel networking dominates the total on this kind of VM and
    swings with the neighbours' load, the user-space part much less."""
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                total += int(f.read().rsplit(")", 1)[1].split()[11])
        except (OSError, IndexError, ValueError):
            pass
    return total


# perf attribution: self samples of a cpu-clock profile, one sample per
# PERF_PERIOD_NS of CPU. "auth" is the policy's code and what it calls
# (htpasswd, credential cache, CIDR, JWT, all of libcrypto: nothing else in
# a plain-HTTP request uses it); "lookup" the host parser and the catalogue
# maps. Helpers shared with the rest of the request (malloc, memcpy) are
# not counted: the figures are lower bounds of the code's cost.
PERF_PERIOD_NS = 100000
PERF_AUTH = re.compile(r"^(dp_policy_|dp_htpasswd_|dp_credcache_|dp_cidr_|dp_jwt)")
PERF_LOOKUP = re.compile(r"^(dp_host_parse|dp_catalogue_|dp_rcumap_)")


def perf_usable():
    if shutil.which("perf") is None:
        return False
    try:
        return subprocess.run(["perf", "record", "-e", "cpu-clock", "-o", "/dev/null", "--", "true"],
                              capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def perf_attribution(pid, out, seconds, run):
    """Profiles pid while run() drives it for `seconds`; returns sample
    counts {"total", "user", "auth", "lookup"}."""
    rec = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-c", str(PERF_PERIOD_NS), "-o", out, "-p",
                            str(pid), "--", "sleep", str(seconds + 0.5)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.25)
    res = run()
    rec.wait()
    rep = subprocess.run(["perf", "report", "-i", out, "-n", "--no-children", "--sort", "dso,sym", "--stdio"],
                         capture_output=True, text=True).stdout
    counts = {"total": 0, "user": 0, "auth": 0, "lookup": 0}
    for line in rep.splitlines():
        m = re.match(r"\s*[\d.]+%\s+(\d+)\s+(\S+)\s+\[(.)\]\s+(\S+)", line)
        if not m:
            continue
        n, dso, sym = int(m.group(1)), m.group(2), m.group(4)
        counts["total"] += n
        if m.group(3) != "k":
            counts["user"] += n
        if dso.startswith("libcrypto") or PERF_AUTH.match(sym):
            counts["auth"] += n
        elif PERF_LOOKUP.match(sym):
            counts["lookup"] += n
    return counts, res


class Poller:
    """One keep-alive HTTP/1.1 connection to the data plane's listener,
    reconnecting when it fails; `status(host)` is the status code of
    `GET /` with that Host (0 when no answer). A spawned curl costs a few
    ms per try on this machine, more than what is measured; the poll
    period is 1 ms as with `curl` in a loop, minus that noise."""

    def __init__(self, port):
        self.port = port
        self.c = None

    def status(self, host, headers=None):
        for _ in range(2):
            try:
                if self.c is None:
                    self.c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                h = {"Host": host}
                h.update(headers or {})
                self.c.request("GET", "/", headers=h)
                r = self.c.getresponse()
                r.read()
                if r.getheader("connection", "").lower() == "close":
                    self.close()
                return r.status
            except (OSError, http.client.HTTPException):
                self.close()
        return 0

    def close(self):
        if self.c is not None:
            self.c.close()
            self.c = None

    def until(self, host, want, within_s, period_s=0.001, abort=None):
        """Polls every period_s until `host` answers `want`; returns the
        monotonic time of that answer, and the time of the first answer
        of any status (the listener is up). abort(), looked at every
        100 ms, returns a reason to give up (Aborted) or None."""
        t = last_check = time.monotonic()
        first_answer = None
        while time.monotonic() - t < within_s:
            st = self.status(host)
            now = time.monotonic()
            if st and first_answer is None:
                first_answer = now
            if st == want:
                return now, first_answer
            if abort is not None and now - last_check > 0.1:
                last_check = now
                why = abort()
                if why:
                    raise Aborted(why)
            time.sleep(period_s)
        raise Aborted("%s did not answer %d within %d s" % (host, want, within_s))


class Aborted(Exception):
    pass


def stub_log_times(path, pattern, after_wall):
    """Wall-clock times (s) of the stub log lines matching pattern, at or
    after after_wall (the log has ms resolution: lines of the same ms as
    after_wall count)."""
    out = []
    for line in open(path, errors="replace"):
        m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{3})Z control-stub: (.*)", line)
        if not m or not re.search(pattern, m.group(3)):
            continue
        t = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")) + int(m.group(2)) / 1000
        if t >= after_wall - 0.001:
            out.append((t, m.group(3)))
    return out


def dp_processed(path, after_wall):
    """The data plane's own processing of each ADS response it logged
    after after_wall: (end wall time, bytes, ms)."""
    out = []
    for line in open(path, errors="replace"):
        m = re.match(r"\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\.(\d{3})\]\[\w+\] ads: response of (\d+) bytes "
                     r"processed in ([\d.]+) ms", line)
        if not m:
            continue
        t = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")) + int(m.group(2)) / 1000
        if t >= after_wall - 0.001:
            out.append((t, int(m.group(3)), float(m.group(4))))
    return out


def dp_stream_closures(path, after_wall):
    """The data plane's ADS streams that ended after after_wall, with the
    reason it logged: [(wall time, reason)]."""
    out = []
    for line in open(path, errors="replace"):
        m = re.match(r"\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\.(\d{3})\]\[\w+\] ads: stream \d+ to \S+ closed: (.*)",
                     line)
        if not m:
            continue
        t = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")) + int(m.group(2)) / 1000
        if t >= after_wall - 0.001:
            out.append((t, m.group(3).strip()))
    return out


def stuck_reason(dp_log, after_wall):
    """A reason the data plane cannot get an update any more: its
    reconnections are refused for a cause that will not go away (the
    server's receive limit on the data plane's resync request)."""
    for _, why in dp_stream_closures(dp_log, after_wall):
        if "larger than max" in why:
            return "the data plane's ADS stream is refused on every reconnection: " + why
    return None


def change_timeline(stub_log, dp_log, wall_c, wall_ok):
    """What the two logs say about one fleet edit made at wall_c and seen
    routable at wall_ok (None: never): ms from the edit to the stub's
    translation, reload and send, and the data plane's processing. When the
    ADS stream died meanwhile, the send that counts is the last one before
    wall_ok (on the new stream), and the first one is reported apart."""
    ch = {}
    ms = lambda t: round((t - wall_c) * 1e3, 1)  # noqa: E731
    xl = stub_log_times(stub_log, r"^node %s: .* containers; versions" % fleet.NODE, wall_c)
    if xl:  # inotify wake-up + YAML load + translation of the whole fleet
        ch["stub_translated_ms"] = ms(xl[0][0])
    rel = stub_log_times(stub_log, r"^fleet .* reloaded", wall_c)
    if rel:
        ch["stub_reloaded_ms"] = ms(rel[0][0])
    snt = [t for t, _ in stub_log_times(stub_log, r"sent Container version", wall_c)]
    if wall_ok is not None:
        before = [t for t in snt if t <= wall_ok + 0.002]
        if before and before[-1] != snt[0]:
            ch["stub_first_sent_ms"] = ms(snt[0])
        snt = before[-1:]
    if snt:
        ch["stub_sent_ms"] = ms(snt[0])
    closed = dp_stream_closures(dp_log, wall_c)
    if closed:  # the stream did not survive the change
        ch["dp_stream_closures"] = len(closed)
        ch["dp_stream_closure_reasons"] = sorted(set(re.sub(r"\d+ vs\. ", "N vs. ", w) for _, w in closed))
    proc = [p for p in dp_processed(dp_log, snt[0] if snt else wall_c) if p[1] > 0]
    if proc:
        ch["dp_apply_ms"] = proc[0][2]
        ch["dp_response_bytes"] = proc[0][1]
        if snt:  # the stub's send to the data plane's end of processing: transfer + decode + apply
            ch["stub_sent_to_dp_done_ms"] = round((proc[0][0] - snt[0]) * 1e3, 1)
    return ch


def wrk(port, host, seconds, headers):
    cmd = ["taskset", "-c", TOOLS_CORE, "wrk", "-t1", "-c2", "-d%ds" % seconds, "--latency", "-H", "Host: " + host]
    for k, v in headers.items():
        cmd += ["-H", "%s: %s" % (k, v)]
    out = subprocess.run(cmd + ["http://127.0.0.1:%d/" % port], capture_output=True, text=True, check=True).stdout

    def grab(rx, cast=str, default=None):
        m = re.search(rx, out, re.M)
        return cast(m.group(1)) if m else default

    def us(v):
        m = re.match(r"([\d.]+)(us|ms|s)$", v or "")
        return None if not m else float(m.group(1)) * {"us": 1, "ms": 1e3, "s": 1e6}[m.group(2)]

    return {
        "rps": grab(r"^Requests/sec:\s+([\d.]+)", float, 0.0),
        "requests": grab(r"^\s*(\d+) requests in", int, 0),
        "latency_avg_us": us(grab(r"^\s+Latency\s+(\S+)")),
        "latency_p50_us": us(grab(r"^\s+50%\s+(\S+)")),
        "latency_p99_us": us(grab(r"^\s+99%\s+(\S+)")),
        "non_2xx": grab(r"Non-2xx or 3xx responses:\s+(\d+)", int, 0),
        "socket_errors": grab(r"(Socket errors:.*)$", str, ""),
    }


def machine():
    model = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        mem = int(re.search(r"MemTotal:\s+(\d+)", open("/proc/meminfo").read()).group(1))
    except (OSError, AttributeError):
        pass
    return {"nproc": os.cpu_count(), "cpu_model": model, "kernel": platform.release(), "mem_kib": mem}


def git(*args):
    try:
        return subprocess.run(["git", "-C", SRC] + list(args), capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


class Run:
    def __init__(self, a):
        self.a = a
        self.work = tempfile.mkdtemp(prefix="dp-containers-scale.")
        self.procs = []
        self.res = {"notes": {}}

    def spawn(self, name, argv, core):
        log = open(os.path.join(self.work, name + ".log"), "ab")
        p = subprocess.Popen(["taskset", "-c", core] + argv, stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(p)
        return p

    def cleanup(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        if self.a.keep:
            print("work directory kept:", self.work)
        else:
            shutil.rmtree(self.work, ignore_errors=True)

    def check(self, what, got, want):
        ok = got == want
        self.res.setdefault("checks", []).append({"what": what, "got": got, "want": want, "ok": ok})
        if not ok:
            print("CHECK FAILED: %s: got %s, want %s" % (what, got, want), file=sys.stderr)

    def main(self):
        a, r = self.a, self.res
        n = a.n
        self.origin = free_port()
        self.listen = free_port()
        ads, admin = free_port(), free_port()
        self.spawn("origin", [a.origin_bin, str(self.origin)], TOOLS_CORE)
        wait_port(self.origin, 10)

        # --- the fleet ---------------------------------------------------------
        self.htpasswd = subprocess.run(["htpasswd", "-nbB", USER, PASSWORD], capture_output=True, text=True,
                                       check=True).stdout.strip()
        self.token = "bench-" + secrets.token_hex(16)
        # an HS256 JWT made here with the standard library (hmac), not by
        # the data plane's code; valid for a day
        secret = secrets.token_bytes(32)
        self.jwt_key = base64.urlsafe_b64encode(secret).rstrip(b"=").decode()
        b64 = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()  # noqa: E731
        signing = b64({"alg": "HS256", "typ": "JWT", "kid": "k1"}) + "." + b64(
            {"iss": fleet.JWT_ISSUER, "aud": fleet.JWT_AUDIENCE, "sub": "bench", "exp": int(time.time()) + 86400})
        sig = hmac.new(secret, signing.encode(), hashlib.sha256).digest()
        self.jwt = signing + "." + base64.urlsafe_b64encode(sig).rstrip(b"=").decode()
        self.fleet = os.path.join(self.work, "fleet.yaml")
        t = time.monotonic()
        self.write_fleet(n)
        r["fleet_generate_s"] = round(time.monotonic() - t, 2)
        r["fleet_bytes"] = os.path.getsize(self.fleet)

        # --- control-stub: load the fleet ---------------------------------------
        stub_log = os.path.join(self.work, "stub.log")
        t = time.monotonic()
        self.stub_admin = free_port()
        self.stub = self.spawn("stub", [os.path.join(a.build, "control-stub", "control-stub"), "-c", self.fleet,
                                        "--listen", "127.0.0.1:%d" % ads,
                                        "--admin", "127.0.0.1:%d" % self.stub_admin], TOOLS_CORE)
        while not stub_log_times(stub_log, r"^serving ", 0):
            if self.stub.poll() is not None:
                raise RuntimeError("control-stub exited:\n" + open(stub_log).read()[-2000:])
            if time.monotonic() - t > a.timeout:
                raise RuntimeError("control-stub did not load the fleet within %d s" % a.timeout)
            time.sleep(0.05)
        r["stub_load_s"] = round(time.monotonic() - t, 3)
        r["stub_rss_loaded_kib"] = rss_kib(self.stub.pid)

        # --- the data plane: start to the last container routable ----------------
        boot = os.path.join(self.work, "boot.yaml")
        with open(boot, "w") as f:
            f.write("node: { id: %s, cluster: bench }\n"
                    "admin:\n  address: { socket_address: { address: 127.0.0.1, port_value: %d } }\n"
                    "dynamic_resources:\n  ads_config:\n    api_type: DELTA_GRPC\n"
                    "    transport_api_version: V3\n    grpc_services:\n"
                    "    - google_grpc: { target_uri: \"127.0.0.1:%d\", stat_prefix: ads }\n"
                    "  lds_config: { ads: {}, resource_api_version: V3 }\n"
                    "  cds_config: { ads: {}, resource_api_version: V3 }\n" % (fleet.NODE, admin, ads))
        dp_log = os.path.join(self.work, "dataplane.log")
        poll = Poller(self.listen)
        last = fleet.host(n - 1, "pub")
        wall0, t0 = time.time(), time.monotonic()
        self.dp = self.spawn("dataplane", [os.path.join(a.build, "dataplane"), "-c", boot, "--concurrency", "1",
                                           "-l", "info"], DP_CORE)
        t_last, t_listener = poll.until(last, 200, a.timeout, abort=lambda: stuck_reason(dp_log, wall0))
        r["start_to_listener_s"] = round(t_listener - t0, 3)
        r["start_to_last_routable_s"] = round(t_last - t0, 3)
        # the timeline from both logs: when the stub sent each type, when the
        # data plane finished processing each response (ends, bytes, ms)
        sent = {}
        for t_s, line in stub_log_times(stub_log, r"sent \w+ version", wall0):
            typ = line.split(" sent ")[1].split()[0]
            sent.setdefault(typ, round(t_s - wall0, 3))
        r["start_to_stub_sent_s"] = sent
        if "Container" in sent:
            r["start_to_stub_sent_containers_s"] = sent["Container"]
        proc = dp_processed(dp_log, wall0)
        r["dp_responses"] = [{"done_s": round(t_p - wall0, 3), "bytes": b, "ms": ms} for t_p, b, ms in proc]
        big = [p for p in proc if p[1] > 100000]
        if big:
            r["dp_apply_ms"] = big[0][2]
            r["dp_containers_response_bytes"] = big[0][1]
        st = poll.status(fleet.host(0, "pub"))
        self.check("first container routable once the last is", st, 200)
        time.sleep(1.0)
        r["dp_rss_kib"] = rss_kib(self.dp.pid)
        r["dp_rss_peak_kib"] = rss_kib(self.dp.pid, "VmHWM")
        r["stub_rss_kib"] = rss_kib(self.stub.pid)
        r["stub_rss_peak_kib"] = rss_kib(self.stub.pid, "VmHWM")

        # --- the policy answers what it should (so the rates below mean it) -------
        basic = {"Authorization": "Basic " + base64.b64encode(("%s:%s" % (USER, PASSWORD)).encode()).decode()}
        bad = {"Authorization": "Basic " + base64.b64encode(b"bench:wrong").decode()}
        bearer = {"Authorization": "Bearer " + self.token}
        jwt = {"Authorization": "Bearer " + self.jwt}
        bad_jwt = {"Authorization": "Bearer " + self.jwt[:-2] + ("AA" if not self.jwt.endswith("AA") else "BB")}
        svc = "http-%d" % self.origin
        for i in (0, n - 1):
            self.check("container %d pub, no credentials" % i, poll.status(fleet.host(i, "pub")), 200)
            self.check("container %d alias" % i, poll.status(fleet.alias_host(i)), 200)
            self.check("container %d %s, no credentials" % (i, svc), poll.status(fleet.host(i, svc)), 401)
            self.check("container %d %s, wrong password" % (i, svc), poll.status(fleet.host(i, svc), bad), 401)
            self.check("container %d %s, Basic" % (i, svc), poll.status(fleet.host(i, svc), basic), 200)
            self.check("container %d tok, Bearer" % (i), poll.status(fleet.host(i, "tok"), bearer), 200)
            self.check("container %d tok, Basic (not granted)" % i, poll.status(fleet.host(i, "tok"), basic), 401)
            self.check("container %d tok, JWT" % i, poll.status(fleet.host(i, "tok"), jwt), 200)
            self.check("container %d tok, no credentials" % i, poll.status(fleet.host(i, "tok")), 401)
            self.check("container %d tok, tampered JWT" % i, poll.status(fleet.host(i, "tok"), bad_jwt), 401)
            self.check("container %d %s, JWT (not granted)" % (i, svc), poll.status(fleet.host(i, svc), jwt), 401)
        self.check("unknown container", poll.status(fleet.host(n + 1000, "pub")), 503)
        poll.close()

        # --- request rates: first and last container, three ways in ----------------
        # The eight cases are run in interleaved rounds and summarised by their
        # medians: the machine is shared and a few us per request is the
        # effect looked for, so drift must hit every case alike.
        cases = []
        for which, i in (("first", 0), ("last", n - 1)):
            for mode, host, hdr in (("none", fleet.host(i, "pub"), {}), ("basic", fleet.host(i, svc), basic),
                                    ("bearer", fleet.host(i, "tok"), bearer), ("jwt", fleet.host(i, "tok"), jwt)):
                cases.append(("%s_%s" % (which, mode), host, hdr))
        for _, host, hdr in cases:  # warm-up: connections, the credential cache
            wrk(self.listen, host, 1, hdr)
        c0 = cpu_ns(self.dp.pid)
        time.sleep(2)
        idle_ns_per_s = (cpu_ns(self.dp.pid) - c0) / 2
        r["dp_idle_cpu_ms_per_s"] = round(idle_ns_per_s / 1e6, 3)
        samples = {name: [] for name, _, _ in cases}
        for _ in range(a.rounds):
            for name, host, hdr in cases:
                c0, u0, t = cpu_ns(self.dp.pid), user_ticks(self.dp.pid), time.monotonic()
                w = wrk(self.listen, host, a.seconds, hdr)
                busy = cpu_ns(self.dp.pid) - c0 - idle_ns_per_s * (time.monotonic() - t)
                w["dp_cpu_us_per_req"] = round(busy / 1e3 / max(w["requests"], 1), 3)
                w["dp_user_us_per_req"] = round((user_ticks(self.dp.pid) - u0) * 1e6 / HZ / max(w["requests"], 1), 3)
                samples[name].append(w)
                if w["non_2xx"] or w["socket_errors"]:
                    print("WARNING: %s: %d non-2xx, %s" % (name, w["non_2xx"], w["socket_errors"]), file=sys.stderr)
        rates = {}
        for name, ws in samples.items():
            med = lambda k: statistics.median(w[k] for w in ws if w[k] is not None)  # noqa: E731
            rates[name] = {
                "rps": round(med("rps"), 1),
                "dp_cpu_us_per_req": round(med("dp_cpu_us_per_req"), 3),
                "dp_user_us_per_req": round(med("dp_user_us_per_req"), 3),
                "latency_p50_us": med("latency_p50_us"),
                "latency_p99_us": med("latency_p99_us"),
                "wall_us_per_req": round(1e6 / med("rps"), 3) if med("rps") else None,
                "non_2xx": sum(w["non_2xx"] for w in ws),
                "rounds": ws,
            }
        r["rates"] = rates
        added = {}
        for which in ("first", "last"):
            base = rates[which + "_none"]
            for mode in ("basic", "bearer", "jwt"):
                m = rates["%s_%s" % (which, mode)]
                # median of the per-round differences: each round's pair ran
                # seconds apart, which cancels the machine's slower drift
                pairs = list(zip(samples["%s_%s" % (which, mode)], samples[which + "_none"]))
                d = statistics.median(x["dp_cpu_us_per_req"] - y["dp_cpu_us_per_req"] for x, y in pairs)
                du = statistics.median(x["dp_user_us_per_req"] - y["dp_user_us_per_req"] for x, y in pairs)
                added["%s_%s" % (which, mode)] = {
                    "dp_cpu_us": round(d, 3),
                    "dp_user_us": round(du, 3),
                    "wall_us": round(m["wall_us_per_req"] - base["wall_us_per_req"], 3)
                    if m["wall_us_per_req"] and base["wall_us_per_req"] else None,
                }
        r["auth_added_us"] = added
        if a.perf and a.perf_rounds > 0 and perf_usable():
            # interleaved rounds again, summarised by medians (as above)
            runs = {name: [] for name, _, _ in cases}
            for _ in range(a.perf_rounds):
                for name, host, hdr in cases:
                    cnt, w = perf_attribution(self.dp.pid, os.path.join(self.work, "perf.data"), a.seconds,
                                              lambda: wrk(self.listen, host, a.seconds, hdr))
                    per = lambda k: cnt[k] * PERF_PERIOD_NS / 1e3 / max(w["requests"], 1)  # noqa: E731
                    runs[name].append({"requests": w["requests"], "samples": cnt, "total": per("total"),
                                       "user": per("user"), "auth": per("auth"), "lookup": per("lookup")})
            prof = {}
            for name, rs in runs.items():
                med = lambda k: round(statistics.median(x[k] for x in rs), 3)  # noqa: E731
                prof[name] = {"total_us_per_req": med("total"), "user_us_per_req": med("user"),
                              "auth_us_per_req": med("auth"), "lookup_us_per_req": med("lookup"), "rounds": rs}
            r["perf"] = prof
            for which in ("first", "last"):
                for mode in ("basic", "bearer", "jwt"):
                    pairs = zip(runs["%s_%s" % (which, mode)], runs[which + "_none"])
                    added["%s_%s" % (which, mode)]["perf_auth_us"] = round(
                        statistics.median(x["auth"] - y["auth"] for x, y in pairs), 3)
        else:
            r["notes"]["perf"] = "perf not usable here: no attribution"
        r["last_vs_first_rps"] = round(rates["last_none"]["rps"] / rates["first_none"]["rps"], 3) \
            if rates["first_none"]["rps"] else None

        # --- one container added to the fleet file: time to routable -----------------
        changes = []
        poll = Poller(self.listen)
        for k in range(a.changes):
            idx = n + k
            host = fleet.host(idx, "pub")
            self.check("container %d not there before the edit" % idx, poll.status(host), 503)
            fleet_tmp_written = self.write_fleet(n + k + 1, rename=False)
            wall_c, t_c = time.time(), time.monotonic()
            os.rename(fleet_tmp_written, self.fleet)
            try:
                t_ok, _ = poll.until(host, 200, a.timeout, abort=lambda: stuck_reason(dp_log, wall_c))
                ch = {"routable_ms": round((t_ok - t_c) * 1e3, 2)}
            except Aborted as e:
                ch = {"routable_ms": None, "failed": str(e),
                      "gave_up_after_s": round(time.monotonic() - t_c, 1)}
                print("one change #%d: %s" % (k + 1, e), file=sys.stderr)
            time.sleep(0.2)  # let the log lines land
            ch.update(change_timeline(stub_log, dp_log, wall_c,
                                      wall_c + ch["routable_ms"] / 1e3 if ch["routable_ms"] is not None else None))
            changes.append(ch)
            self.check("one change #%d routable" % (k + 1), ch.get("failed", "yes"), "yes")
            if ch["routable_ms"] is None:
                break  # the next edits would wait for the same stuck stream
        # --- container events (POST /containers/ID/stop|start on the stub's
        # admin port, the platform's way): POST sent -> the new state served
        events = []
        victim = n // 2
        vhost = fleet.host(victim, "pub")
        for k in range(a.events):
            verb, want = ("stop", 503) if k % 2 == 0 else ("start", 200)
            t_c = time.monotonic()
            code = http_post(self.stub_admin, "/containers/%s/%s" % (fleet.container_id(victim), verb))
            try:
                t_ok, _ = poll.until(vhost, want, 10)
                events.append({"event": verb, "admin_status": code, "served_ms": round((t_ok - t_c) * 1e3, 2)})
            except Aborted as e:
                events.append({"event": verb, "admin_status": code, "served_ms": None, "failed": str(e)})
            self.check("event %d (%s) answered 200" % (k + 1, verb), code, 200)
            self.check("event %d (%s) served" % (k + 1, verb), events[-1].get("failed", "yes"), "yes")
        r["container_events"] = events
        ok_ev = sorted(e["served_ms"] for e in events if e["served_ms"] is not None)
        r["container_event_served_ms"] = {
            "p50": statistics.median(ok_ev), "max": ok_ev[-1], "n": len(ok_ev)} if ok_ev else None
        poll.close()
        r["one_change"] = changes
        ok = [c["routable_ms"] for c in changes if c["routable_ms"] is not None]
        r["one_change_routable_ms_median"] = statistics.median(ok) if ok else None
        r["dp_rss_after_changes_kib"] = rss_kib(self.dp.pid)
        r["stub_rss_after_changes_kib"] = rss_kib(self.stub.pid)
        r["stub_rss_peak_kib"] = rss_kib(self.stub.pid, "VmHWM")
        if self.dp.poll() is not None or self.stub.poll() is not None:
            raise RuntimeError("the data plane or the stub exited during the run")

        # --- the data plane alone: one-container changes with N held ---------------
        if a.replay_changes > 0:
            import replay  # bench/containers/replay.py (imports this module)
            for p in (self.dp, self.stub):  # a quiet machine for it
                p.terminate()
                p.wait(timeout=30)
            sub = os.path.join(self.work, "replay")
            os.makedirs(sub)
            try:
                r["dp_only_change"] = replay.run(n, a.build, sub, free_port(), self.origin, self.htpasswd,
                                                 self.token, a.replay_changes, a.timeout)
                self.check("replay: container N-1 routable with the changes applied",
                           r["dp_only_change"].get("last_held_routable"), True)
            except Exception as e:
                r["dp_only_change"] = {"error": str(e)}
                self.check("replay: one-container changes routable", str(e), "routable")

    def finish(self):
        """What the logs say about the whole run, also after an error."""
        dp_log = os.path.join(self.work, "dataplane.log")
        if os.path.exists(dp_log):
            closed = dp_stream_closures(dp_log, 0)
            reasons = {}
            for _, w in closed:
                w = re.sub(r"\d+ vs\. ", "N vs. ", w)
                reasons[w] = reasons.get(w, 0) + 1
            self.res["dp_ads_stream_closures"] = reasons

    def write_fleet(self, count, rename=True):
        path = self.fleet if rename else self.fleet + ".next"
        fleet.write(path, count, self.origin, self.listen, self.htpasswd, self.token, self.jwt_key)
        return path


def report(a, r):
    n = a.n
    out = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "commit": a.commit or git("rev-parse", "HEAD"),
        "commit_short": (a.commit or git("rev-parse", "HEAD"))[:7],
        "tree_dirty": bool(a.dirty) if a.dirty is not None else
        git("status", "--porcelain", "--untracked-files=no") not in ("", "unknown"),
        "machine": machine(),
        "containers": n,
        "setup": {
            "fleet": "1 node, 1 project (default deny; password group -> http-<origin>, token group -> tok, "
                     "ip group 127.0.0.1/32 -> pub), N running containers on 127.0.0.1 with those 3 services "
                     "(all on one origin, bench/upstream.c) and one alias each",
            "ads": "control-stub, Delta ADS",
            "dataplane": "--concurrency 1, pinned to core 0 (all threads); origin, wrk, stub, driver on core 1",
            "rates": "wrk -t1 -c2 -d%ds keep-alive, %d interleaved rounds, medians; none = service pub "
                     "(ip group), basic = http-<origin> (bcrypt, cached after the first request), "
                     "bearer = tok (SHA-256 of the token), jwt = tok with a JWT (HS256, verified once, then "
                     "from the per-worker JWT cache; it walks past the token group, a SHA-256 that misses)" % (a.seconds, a.rounds),
            "dp_cpu_us_per_req": "CPU time of all data plane threads (schedstat) minus its idle rate / requests; "
                                 "auth_added_us.dp_cpu_us = median over rounds of (case - no credentials)",
            "dp_user_us_per_req": "user-mode CPU of all data plane threads (utime ticks) / requests",
            "wall_us_per_req": "1e6 / req/s (2 connections)",
            "perf": "separate wrk runs (%d interleaved rounds, medians) under perf record -e cpu-clock -c %d (ns); "
                    "self samples of "
                    "the policy code and libcrypto (auth) and of the host parser and catalogue maps (lookup) "
                    "x period / requests; auth_added_us.perf_auth_us = case - no credentials. Shared helpers "
                    "(malloc, memcpy) are not attributed" % (a.perf_rounds, PERF_PERIOD_NS),
            "dp_only_change": "bench/containers/replay.py: a recorded session widened to N containers plus "
                              "K one-container changes, served by control-stub --replay to a fresh data plane: "
                              "the data plane's side without the stub's reload, translation and diff",
            "container_events": "POST /containers/ID/stop, then /start, alternately, on the stub's admin port "
                                "for container N/2: served_ms = POST sent to the new state served (503 / 200, "
                                "keep-alive poll every 1 ms): the stub's wake-up (<= 2 ms), its translation of "
                                "that container alone and a one-resource Delta push, the data plane's apply",
            "one_change": "fleet file rewritten with one more container and renamed over the old one; "
                          "routable_ms = rename to first 200 (keep-alive poll every 1 ms); it includes the "
                          "stub's inotify wake-up (<= 2 ms), YAML reload and translation of the whole fleet, "
                          "the Delta diff, the push and the data plane's apply; stub_* from the stub's log "
                          "(1 ms resolution), dp_apply_ms from the data plane's log",
        },
        "results": r,
    }
    os.makedirs(os.path.join(SRC, "bench", "results"), exist_ok=True)
    path = os.path.join(SRC, "bench", "results", "containers-scale-%s.json" % time.strftime("%Y%m%d-%H%M%S"))
    with open(path, "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")

    def g(d, *ks):
        for k in ks:
            if not isinstance(d, dict) or k not in d:
                return None
            d = d[k]
        return d

    def fmt(v, unit=""):
        if v is None:
            return "-"
        if isinstance(v, float):
            v = ("%.3f" % v).rstrip("0").rstrip(".")
        return "%s%s" % (v, unit)

    mb = lambda kib: None if kib is None else round(kib / 1024, 1)  # noqa: E731
    rows = [
        ("containers", fmt(n), ""),
        ("stub: load + translate fleet", fmt(g(r, "stub_load_s"), " s"), ""),
        ("dp start -> listener up", fmt(g(r, "start_to_listener_s"), " s"), ""),
        ("dp start -> stub sent Containers", fmt(g(r, "start_to_stub_sent_containers_s"), " s"), ""),
        ("dp start -> stub sent RDS", fmt(g(r, "start_to_stub_sent_s", "RDS"), " s"), ""),
        ("dp processing of the Containers response", fmt(g(r, "dp_apply_ms"), " ms"), ""),
        ("dp start -> last container routable", fmt(g(r, "start_to_last_routable_s"), " s"), "< 1 s (100k)"),
        ("dataplane RSS after load", fmt(mb(g(r, "dp_rss_kib")), " MB"), "< 100 MB"),
        ("dataplane RSS peak", fmt(mb(g(r, "dp_rss_peak_kib")), " MB"), ""),
        ("control-stub RSS after load", fmt(mb(g(r, "stub_rss_kib")), " MB"), ""),
        ("control-stub RSS peak (whole run)", fmt(mb(g(r, "stub_rss_peak_kib")), " MB"), ""),
    ]
    for which in ("first", "last"):
        for mode in ("none", "basic", "bearer", "jwt"):
            name = "%s_%s" % (which, mode)
            w = g(r, "rates", name) or {}
            rows.append(("req/s %s container, %s" % (which, mode),
                         "%s (dp CPU %s, user %s us/req)" % (fmt(w.get("rps") and round(w["rps"])),
                                                             fmt(w.get("dp_cpu_us_per_req")),
                                                             fmt(w.get("dp_user_us_per_req"))),
                         "= first" if mode == "none" and which == "last" else ""))
    rows.append(("last / first req/s (no auth)", fmt(g(r, "last_vs_first_rps")), "1.0"))
    for which in ("first", "last"):
        p = g(r, "perf", which + "_none")
        if p:
            rows.append(("perf: host parse + catalogue, %s" % which, fmt(p["lookup_us_per_req"], " us/req"),
                         "= first" if which == "last" else ""))
    for which in ("first", "last"):
        for mode in ("basic", "bearer", "jwt"):
            ad = g(r, "auth_added_us", "%s_%s" % (which, mode)) or {}
            rows.append(("added by %s, %s container" % (mode, which),
                         "perf %s | user %s | CPU %s us" % (fmt(ad.get("perf_auth_us")), fmt(ad.get("dp_user_us")),
                                                           fmt(ad.get("dp_cpu_us"))),
                         "< 2 us (cached)" if mode in ("basic", "jwt") else ""))
    for k, ch in enumerate(g(r, "one_change") or []):
        rows.append(("one change #%d -> routable" % (k + 1),
                     fmt(ch.get("routable_ms"), " ms") if not ch.get("failed") else
                     "NEVER (gave up after %s s, see JSON)" % ch.get("gave_up_after_s"), "< 10 ms"))
        rows.append(("  stub: translated / sent", "%s / %s" % (fmt(ch.get("stub_translated_ms"), " ms"),
                                                              fmt(ch.get("stub_sent_ms"), " ms")), ""))
        rows.append(("  dp: apply / sent->applied", "%s / %s" % (fmt(ch.get("dp_apply_ms"), " ms"),
                                                                fmt(ch.get("stub_sent_to_dp_done_ms"), " ms")), ""))
    ev = g(r, "container_event_served_ms")
    if ev:
        rows.append(("container event (stop/start) -> served", "p50 %s, max %s (%d events)" % (
            fmt(ev["p50"], " ms"), fmt(ev["max"], " ms"), ev["n"]), "< 10 ms"))
    rp = g(r, "dp_only_change") or {}
    if rp.get("error"):
        rows.append(("data plane alone (replay)", "ERROR: " + rp["error"][:80], ""))
    elif rp:
        ac = rp.get("dp_apply_change_ms") or {}
        rows += [
            ("data plane alone (control-stub --replay):", "", ""),
            ("  dp start -> first change routable", fmt(rp.get("start_to_first_change_routable_s"), " s"),
             "< 1 s (100k)"),
            ("  dp processing of the N containers", fmt(rp.get("dp_apply_big_ms"), " ms"), ""),
            ("  one change: stub sent -> routable", fmt(rp.get("stub_sent_first_change_to_routable_ms"), " ms"),
             "< 10 ms"),
            ("  one change: dp processing p50/p90/max", "%s / %s / %s ms (%s changes)" % (
                fmt(ac.get("p50")), fmt(ac.get("p90")), fmt(ac.get("max")), fmt(ac.get("n"))), ""),
            ("  dataplane RSS after", fmt(mb(rp.get("dp_rss_kib")), " MB"), "< 100 MB"),
        ]
    for why, cnt in (g(r, "dp_ads_stream_closures") or {}).items():
        rows.append(("dp ADS stream closed x%d" % cnt, why[:90], ""))
    if r.get("error"):
        rows.append(("ERROR", r["error"][:120], ""))
    bad = [c for c in r.get("checks", []) if not c["ok"]]
    print()
    print("%-40s %-46s %s" % ("containers-scale", "measured", "target"))
    for row in rows:
        print("%-40s %-46s %s" % row)
    print("checks: %d passed, %d failed" % (len(r.get("checks", [])) - len(bad), len(bad)))
    print("written", os.path.relpath(path, SRC))
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int)
    ap.add_argument("--build", required=True)
    ap.add_argument("--origin-bin", required=True)
    ap.add_argument("--seconds", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--changes", type=int, default=3)
    ap.add_argument("--events", type=int, default=20, help="container stop/start events timed")
    ap.add_argument("--timeout", type=int, default=3600, help="for each wait (load, routable, change)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    ap.add_argument("--no-perf", dest="perf", action="store_false", help="skip the perf attribution")
    ap.add_argument("--perf-rounds", type=int, default=3)
    ap.add_argument("--commit", help="the commit built (default: git rev-parse HEAD when the report is written)")
    ap.add_argument("--dirty", type=int, help="1 when tracked files differed from --commit at build time")
    ap.add_argument("--replay-changes", type=int, default=200,
                    help="one-container changes replayed to a fresh data plane holding N (0: skip)")
    a = ap.parse_args()
    if a.n < 2:
        ap.error("N must be at least 2")
    run = Run(a)
    rc = 1
    try:
        run.main()
        run.finish()
        rc = report(a, run.res)
    except BaseException as e:  # report what we have (also on ^C), with the logs' tails
        run.finish()
        print("ERROR:", e, file=sys.stderr)
        for name in ("stub", "dataplane"):
            p = os.path.join(run.work, name + ".log")
            if os.path.exists(p):
                print("--- %s.log (tail)" % name, file=sys.stderr)
                print("".join(open(p, errors="replace").readlines()[-15:]), file=sys.stderr)
        run.res["error"] = str(e) or type(e).__name__
        report(a, run.res)
    finally:
        run.cleanup()
    return rc


if __name__ == "__main__":
    sys.exit(main())
