#!/usr/bin/env python3
"""The data plane's side of a one-container change with N containers held,
without control-stub's reload, translation and Delta diff in the way
(those grow with the whole fleet, see bench/containers-scale.sh).

A short session is recorded with the data plane's --xds-record (a fleet of
two containers, then a third added), its big Container response is widened
to N containers (and the added one renamed to container N), and
`control-stub --replay` serves the result to a fresh data plane: the
one-container response goes out as soon as the data plane has ACKed the
previous ones, and we time its way to a routable URL.

  replay.py N --build DIR --work DIR --listen PORT --origin PORT [--changes K]
    (normally run by scale.py; an origin must listen on PORT; prints JSON)
"""
import argparse
import copy
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fleet  # noqa: E402
import scale  # noqa: E402

CONTAINER_URL = "type.googleapis.com/dataplane.containers.v1.Container"


def _container_responses(lines):
    """Indexes of the recorded Container responses (recv lines)."""
    out = []
    for i, d in enumerate(lines):
        if d.get("dir") == "recv" and (d.get("msg") or {}).get("typeUrl") == CONTAINER_URL:
            out.append(i)
    return out


def _rename(res, i):
    """A recorded Container resource turned into container i's."""
    r = copy.deepcopy(res)
    cid = fleet.container_id(i)
    r["name"] = cid
    r["version"] = "%016x" % (0x5eed0000000000 + i)  # Delta versions: any string, unique per content
    r["resource"]["id"] = cid
    for a in r["resource"].get("aliases", []):
        if "name" in a:
            a["name"] = "a%d" % i
    return r


def widen(rec_in, rec_out, n, changes=1):
    """Writes rec_in with its first Container response carrying containers
    0..n-1 and, in place of its second (a one-container change, and the
    data plane's ACK of it), `changes` such changes adding containers n,
    n+1, ... one by one. Returns the line number (from 1, as the stub logs
    it) of the first change."""
    lines = [json.loads(x) for x in open(rec_in) if x.strip()]
    idx = _container_responses(lines)
    if len(idx) < 2 or idx[1] + 1 >= len(lines) or lines[idx[1] + 1].get("dir") != "send":
        raise RuntimeError("%s: expected two Container responses, the second one ACKed" % rec_in)
    big = lines[idx[0]]["msg"]
    template = big["resources"][0]
    big["resources"] = [_rename(template, i) for i in range(n)]
    change, ack = lines[idx[1]], lines[idx[1] + 1]
    out = lines[:idx[1]]
    first = len(out) + 1
    for k in range(changes):
        c = copy.deepcopy(change)
        c["msg"]["resources"] = [_rename(change["msg"]["resources"][0], n + k)]
        c["msg"]["systemVersionInfo"] = str(2 + k)
        out += [c, ack]  # the replay sends a response once the requests before it arrived
    out += lines[idx[1] + 2:]
    with open(rec_out, "w") as f:
        for d in out:
            f.write(json.dumps(d, separators=(",", ":")) + "\n")
    return first


def bootstrap(path, ads):
    with open(path, "w") as f:
        f.write("node: { id: %s, cluster: bench }\n"
                "dynamic_resources:\n  ads_config:\n    api_type: DELTA_GRPC\n"
                "    transport_api_version: V3\n    grpc_services:\n"
                "    - google_grpc: { target_uri: \"127.0.0.1:%d\", stat_prefix: ads }\n"
                "  lds_config: { ads: {}, resource_api_version: V3 }\n"
                "  cds_config: { ads: {}, resource_api_version: V3 }\n" % (fleet.NODE, ads))


def _spawn(argv, log, core):
    return subprocess.Popen(["taskset", "-c", core] + argv, stdout=open(log, "ab"), stderr=subprocess.STDOUT)


def _stop(*procs):
    for p in procs:
        if p is not None and p.poll() is None:
            p.terminate()
    for p in procs:
        if p is not None:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


# the jwt group's key in the recorded fleet (no JWT is sent here)
JWT_KEY = "cmVwbGF5LW9ubHktbm90LWEtc2VjcmV0LWJ1dC0zMmI"


def record(build, work, listen, origin, htpasswd, token):
    """Records a two-container session and a third container added."""
    stub_bin = os.path.join(build, "control-stub", "control-stub")
    path = os.path.join(work, "rec-fleet.yaml")
    fleet.write(path, 2, origin, listen, htpasswd, token, JWT_KEY)
    ads = scale.free_port()
    stub = dp = None
    rec = os.path.join(work, "rec-small.jsonl")
    try:
        stub = _spawn([stub_bin, "-c", path, "--listen", "127.0.0.1:%d" % ads], os.path.join(work, "rec-stub.log"),
                      scale.TOOLS_CORE)
        scale.wait_port(ads, 30, stub)
        boot = os.path.join(work, "rec-boot.yaml")
        bootstrap(boot, ads)
        dp = _spawn([os.path.join(build, "dataplane"), "-c", boot, "--concurrency", "1", "--xds-record", rec],
                    os.path.join(work, "rec-dataplane.log"), scale.DP_CORE)
        poll = scale.Poller(listen)
        poll.until(fleet.host(1, "pub"), 200, 60)
        fleet.write(path, 3, origin, listen, htpasswd, token, JWT_KEY)
        poll.until(fleet.host(2, "pub"), 200, 60)
        time.sleep(0.3)  # the ACK of the change is recorded too
        poll.close()
    finally:
        _stop(dp, stub)
    return rec


def run(n, build, work, listen, origin, htpasswd, token, changes=200, timeout=600):
    """Returns the data plane's side of one-container changes with n
    containers held (see the module's docstring)."""
    res = {"changes": changes}
    small = record(build, work, listen, origin, htpasswd, token)
    wide = os.path.join(work, "rec-wide.jsonl")
    first_line = widen(small, wide, n, changes)
    res["recording_bytes"] = os.path.getsize(wide)
    ads = scale.free_port()
    stub_log = os.path.join(work, "replay-stub.log")
    dp_log = os.path.join(work, "replay-dataplane.log")
    stub = dp = None
    try:
        t = time.monotonic()
        stub = _spawn([os.path.join(build, "control-stub", "control-stub"), "--replay", wide, "--listen",
                       "127.0.0.1:%d" % ads], stub_log, scale.TOOLS_CORE)
        while not scale.stub_log_times(stub_log, r"^replaying ", 0):
            if stub.poll() is not None:
                raise RuntimeError("control-stub --replay exited:\n" + open(stub_log).read()[-1500:])
            if time.monotonic() - t > timeout:
                raise RuntimeError("control-stub --replay did not load within %d s" % timeout)
            time.sleep(0.05)
        res["stub_replay_load_s"] = round(time.monotonic() - t, 2)
        boot = os.path.join(work, "replay-boot.yaml")
        bootstrap(boot, ads)
        poll = scale.Poller(listen)
        wall0, t0 = time.time(), time.monotonic()
        dp = _spawn([os.path.join(build, "dataplane"), "-c", boot, "--concurrency", "1", "-l", "info"], dp_log,
                    scale.DP_CORE)
        t_new, _ = poll.until(fleet.host(n, "pub"), 200, timeout,
                              abort=lambda: scale.stuck_reason(dp_log, wall0))
        wall_new = wall0 + (t_new - t0)
        res["start_to_first_change_routable_s"] = round(t_new - t0, 3)
        # the rest of the changes follow at the pace of the data plane's ACKs
        t_last, _ = poll.until(fleet.host(n + changes - 1, "pub"), 200, timeout,
                               abort=lambda: scale.stuck_reason(dp_log, wall0))
        res["all_changes_s"] = round(t_last - t_new, 3)
        res["last_held_routable"] = poll.status(fleet.host(n - 1, "pub")) == 200
        poll.close()
        sent = [t_s for t_s, line in scale.stub_log_times(stub_log, r"replayed line %d " % first_line, wall0)]
        if sent:
            res["stub_sent_first_change_to_routable_ms"] = round((wall_new - sent[0]) * 1e3, 1)
        time.sleep(0.3)
        proc = scale.dp_processed(dp_log, wall0)
        big = [k for k, p in enumerate(proc) if p[1] > 100000]
        if big:
            res["dp_apply_big_ms"] = proc[big[0]][2]
            # the responses after the big one: RDS, then the changes in order
            ch = [p[2] for p in proc[big[0] + 1:]][-changes:]
            if ch:
                srt = sorted(ch)
                res["dp_apply_change_ms"] = {"first": ch[0], "p50": srt[len(srt) // 2],
                                             "p90": srt[int(len(srt) * 0.9)], "max": srt[-1], "n": len(ch)}
        res["dp_rss_kib"] = scale.rss_kib(dp.pid)
        res["dp_rss_peak_kib"] = scale.rss_kib(dp.pid, "VmHWM")
    finally:
        _stop(dp, stub)
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int)
    ap.add_argument("--build", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--listen", type=int, required=True)
    ap.add_argument("--origin", type=int, required=True)
    ap.add_argument("--changes", type=int, default=200)
    a = ap.parse_args()
    ht = subprocess.run(["htpasswd", "-nbB", scale.USER, scale.PASSWORD], capture_output=True, text=True,
                        check=True).stdout.strip()
    print(json.dumps(run(a.n, a.build, a.work, a.listen, a.origin, ht, "bench-token", a.changes), indent=2))


if __name__ == "__main__":
    main()
