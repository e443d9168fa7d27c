#!/usr/bin/env bash
# Side-by-side benchmark in one run: the data plane, nginx and HAProxy with
# equivalent configs (Host-based routing to the same origin), each pinned to
# core 0, driven by wrk (HTTP/1.1 keep-alive) pinned to core 1 together with
# the origin (bench/upstream.c). Prints a table and writes JSON to
# bench/results/.
#   bench/run.sh [SECONDS]       default 10 s per run
set -eu
ulimit -n 65536 2>/dev/null || true
cd "$(dirname "$0")/.."
DUR=${1:-10}
scripts/install-deps.sh --bench
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target dataplane >/dev/null
W=$(mktemp -d /tmp/dp-bench.XXXXXX)
cc -O2 -o "$W/origin" bench/upstream.c
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT

ORIGIN=18081 DP=18090 NGX=18091 HAP=18092
taskset -c 1 "$W/origin" $ORIGIN & PIDS+=($!)

cat >"$W/dp.yaml" <<YAML
static_resources:
  listeners:
  - name: bench
    address: { socket_address: { address: 127.0.0.1, port_value: $DP } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: bench
          http_filters:
          - name: envoy.filters.http.router
            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }
          route_config:
            virtual_hosts:
            - name: bench
              domains: ["bench.test"]
              routes:
              - match: { prefix: "/" }
                route: { cluster: origin }
  clusters:
  - name: origin
    load_assignment:
      cluster_name: origin
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: $ORIGIN } } }
YAML
taskset -c 0 build/dataplane -c "$W/dp.yaml" --concurrency 1 -l error & PIDS+=($!); DP_PID=$!

cat >"$W/nginx.conf" <<NGX
worker_processes 1;
pid $W/nginx.pid;
error_log $W/nginx-error.log error;
events { worker_connections 20000; }
http {
  access_log off;
  upstream origin { server 127.0.0.1:$ORIGIN; keepalive 128; }
  server {
    listen 127.0.0.1:$NGX reuseport;
    server_name bench.test;
    location / { proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
  server { listen 127.0.0.1:$NGX; server_name _; return 404; }
}
NGX
taskset -c 0 nginx -c "$W/nginx.conf" -g 'daemon off;' & PIDS+=($!); NGX_MASTER=$!

cat >"$W/haproxy.cfg" <<HAP
global
  nbthread 1
  maxconn 4000
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  http-reuse always
frontend fe
  bind 127.0.0.1:$HAP
  acl is_bench hdr(host) -i bench.test
  use_backend origin if is_bench
backend origin
  server o1 127.0.0.1:$ORIGIN
HAP
taskset -c 0 haproxy -f "$W/haproxy.cfg" -db & PIDS+=($!); HAP_PID=$!
sleep 1

# pid of nginx's worker (the process doing the work)
NGX_PID=$(pgrep -P "$NGX_MASTER" | head -1)

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

run() { # run NAME PORT PID
    local name=$1 port=$2 pid=$3 t0 t1 out
    t0=$([ "$pid" = - ] && echo 0 || cpu_ticks "$pid")
    out=$(taskset -c 1 wrk -t1 -c64 -d"${DUR}s" --latency -H 'Host: bench.test' "http://127.0.0.1:$port/")
    t1=$([ "$pid" = - ] && echo 0 || cpu_ticks "$pid")
    local rps p50 p99 reqs rss
    rps=$(echo "$out" | awk '/Requests\/sec/ { print $2 }')
    p50=$(echo "$out" | awk '$1 == "50%" { print $2 }')
    p99=$(echo "$out" | awk '$1 == "99%" { print $2 }')
    reqs=$(echo "$out" | awk '/requests in/ { print $1 }')
    rss=$([ "$pid" = - ] && echo 0 || awk '/VmRSS/ { print $2 }' "/proc/$pid/status")
    local hz; hz=$(getconf CLK_TCK)
    local cpu_us; cpu_us=$(python3 -c "print(round(($t1-$t0)/$hz*1e6/max($reqs,1), 2))")
    local non2xx; non2xx=$(echo "$out" | awk '/Non-2xx/ { print $4 }')
    echo "$name $rps $p50 $p99 $cpu_us $rss ${non2xx:-0}"
}

{
    run direct $ORIGIN -
    run dataplane $DP $DP_PID
    run nginx $NGX "$NGX_PID"
    run haproxy $HAP $HAP_PID
} >"$W/results.txt"

mkdir -p bench/results
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
python3 - "$W/results.txt" "$commit" "$DUR" <<'PY'
import json, sys, time, platform, os
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
res = {r[0]: {"rps": float(r[1]), "p50": r[2], "p99": r[3], "cpu_us_per_req": float(r[4]),
              "rss_kib": int(r[5]), "non_2xx": int(r[6])} for r in rows}
print("%-10s %12s %10s %10s %12s %10s" % ("proxy", "req/s", "p50", "p99", "cpu us/req", "RSS KiB"))
for name, v in res.items():
    print("%-10s %12.0f %10s %10s %12.2f %10d" % (name, v["rps"], v["p50"], v["p99"], v["cpu_us_per_req"], v["rss_kib"]))
dp = res["dataplane"]["rps"]
print("\nratios: dataplane/nginx %.2f   dataplane/haproxy %.2f   dataplane/no-proxy %.2f" % (
    dp / res["nginx"]["rps"], dp / res["haproxy"]["rps"], dp / res["direct"]["rps"]))
if any(v["non_2xx"] for v in res.values()):
    print("WARNING: non-2xx responses:", {k: v["non_2xx"] for k, v in res.items()})
out = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "commit": sys.argv[2],
       "machine": {"cpus": os.cpu_count(), "kernel": platform.release()}, "seconds": float(sys.argv[3]),
       "tool": "wrk -t1 -c64, HTTP/1.1 keep-alive", "results": res}
path = "bench/results/http1-%s-%s.json" % (time.strftime("%Y%m%d-%H%M%S"), sys.argv[2])
json.dump(out, open(path, "w"), indent=2)
print("written", path)
PY
