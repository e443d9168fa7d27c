#!/usr/bin/env python3
"""Bounded HTTP/1.1 keep-alive load: C connections for D seconds against
127.0.0.1:PORT with Host H and path P. Prints one JSON line: total, failures
(non-2xx or transport errors), and the count of each distinct x-upstream."""
import argparse
import http.client
import json
import threading
import time

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--host", default="app.test")
ap.add_argument("--path", default="/")
ap.add_argument("--conns", type=int, default=8)
ap.add_argument("--seconds", type=float, default=3)
a = ap.parse_args()

lock = threading.Lock()
stats = {"total": 0, "failures": 0, "upstreams": {}, "errors": []}


def worker():
    end = time.time() + a.seconds
    conn = None
    while time.time() < end:
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=10)
            conn.request("GET", a.path, headers={"Host": a.host})
            r = conn.getresponse()
            r.read()
            ok = 200 <= r.status < 300
            up = r.getheader("x-upstream", "-")
            if r.getheader("connection", "").lower() == "close":
                conn.close()
                conn = None
        except Exception as e:  # noqa: BLE001 - every failure counts
            ok, up = False, "error"
            with lock:
                if len(stats["errors"]) < 5:
                    stats["errors"].append(repr(e))
            if conn:
                conn.close()
            conn = None
        with lock:
            stats["total"] += 1
            if not ok:
                stats["failures"] += 1
            stats["upstreams"][up] = stats["upstreams"].get(up, 0) + 1


ts = [threading.Thread(target=worker) for _ in range(a.conns)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print(json.dumps(stats))
