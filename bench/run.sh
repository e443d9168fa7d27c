#!/usr/bin/env bash
# Side-by-side benchmark in one run: the data plane, nginx and HAProxy with
# equivalent configs (Host-based routing to the same origin), each pinned to
# core 0, driven by wrk (HTTP/1.1 keep-alive) pinned to core 1 together with
# the origin (bench/upstream.c). Scenarios:
#   plain   routed requests
#   basic   the same behind HTTP Basic auth ({SHA} htpasswd for the data
#           plane and nginx; HAProxy's userlist has no {SHA}, so it gets an
#           insecure-password entry: the cheapest check it has)
#   idle    RSS per idle keep-alive connection (IDLE connections, default
#           10000, each having served one request), plain and TLS
#   tls     h2 over TLS (h2load -c64 -m10, one thread, ECDSA P-256 cert,
#           TLS 1.3) and full TLS handshakes per second (rounds of h2load
#           with one request per connection, no resumption)
#   floor   next to the plain scenario: bench/floor.c, a forwarder with no
#           HTTP work at all (epoll and io_uring), on the same core: the
#           least CPU per request a user-space proxy making the same system
#           calls can cost here, so the most any ratio against nginx and
#           HAProxy can be on this machine
# Prints tables and writes JSON to bench/results/.
#   bench/run.sh [SECONDS]       default 5 s per run, ROUNDS=3 interleaved
#                                rounds (medians), IDLE=N env
set -eu
ulimit -n 65536 2>/dev/null || true
cd "$(dirname "$0")/.."
DUR=${1:-5}
ROUNDS=${ROUNDS:-3}
scripts/install-deps.sh --bench
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target dataplane >/dev/null
W=$(mktemp -d /tmp/dp-bench.XXXXXX)
chmod 755 "$W" # nginx's workers (www-data) read the htpasswd file from here
cc -O2 -o "$W/origin" bench/upstream.c
cc -O2 -o "$W/floor" bench/floor.c -luring
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT

ORIGIN=18081 DP=18090 NGX=18091 HAP=18092
DPA=18093 NGXA=18094 HAPA=18095 # Basic auth variants
DPT=18096 NGXT=18097 HAPT=18098 # TLS (h2 and http/1.1 by ALPN)
FLE=18088 FLU=18089 # floor forwarders, epoll and io_uring
IDLE=${IDLE:-10000} # the issue's 10,000 (the sandbox caps open files at 20000 per process)
# a process already listening on one of these ports would take a share of
# the connections (the data plane and nginx bind with SO_REUSEPORT) and
# silently falsify the run
for p in $ORIGIN $DP $NGX $HAP $DPA $NGXA $HAPA $DPT $NGXT $HAPT $FLE $FLU; do
    if ss -Hltn "sport = :$p" | grep -q .; then
        echo "bench: port $p is already in use: $(ss -Hltnp "sport = :$p" | awk '{ print $NF }')" >&2
        exit 1
    fi
done
# user bench, password benchpw; {SHA} = base64(sha1(password))
SHA=$(printf benchpw | openssl dgst -sha1 -binary | base64)
printf 'bench:{SHA}%s\n' "$SHA" >"$W/htpasswd"
chmod 644 "$W/htpasswd"
AUTH="Authorization: Basic $(printf bench:benchpw | base64)"
taskset -c 1 "$W/origin" $ORIGIN & PIDS+=($!)
taskset -c 0 "$W/floor" epoll $FLE $ORIGIN & PIDS+=($!); FLE_PID=$!
taskset -c 0 "$W/floor" uring $FLU $ORIGIN & PIDS+=($!); FLU_PID=$!
sleep 0.2
kill -0 $FLU_PID 2>/dev/null || FLU_PID= # io_uring may be disabled (kernel.io_uring_disabled)
# one certificate for all three (ECDSA P-256: what a modern edge serves)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=bench.test \
    -addext subjectAltName=DNS:bench.test -keyout "$W/key.pem" -out "$W/cert.pem" 2>/dev/null
cat "$W/cert.pem" "$W/key.pem" >"$W/haproxy.pem"

# dp_listener NAME PORT [FILTER_YAML] [TRANSPORT_SOCKET_YAML]: one listener
# routing bench.test to the origin, with an HTTP filter before the router
# and a transport socket when given (at their indentation)
dp_listener() {
    cat <<YAML
  - name: $1
    address: { socket_address: { address: 127.0.0.1, port_value: $2 } }
    filter_chains:
    - ${4:+transport_socket:
$4
      }filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: $1
          http_filters:
${3:+$3
}          - name: envoy.filters.http.router
            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }
          route_config:
            virtual_hosts:
            - name: bench
              domains: ["bench.test"]
              routes:
              - match: { prefix: "/" }
                route: { cluster: origin }
YAML
}
BASIC_YAML="          - name: envoy.filters.http.basic_auth
            typed_config:
              \"@type\": type.googleapis.com/envoy.extensions.filters.http.basic_auth.v3.BasicAuth
              users: { filename: $W/htpasswd }"
TLS_YAML="        name: envoy.transport_sockets.tls
        typed_config:
          \"@type\": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
          common_tls_context:
            alpn_protocols: [h2, http/1.1]
            tls_certificates:
            - certificate_chain: { filename: $W/cert.pem }
              private_key: { filename: $W/key.pem }"
{
    echo "static_resources:"
    echo "  listeners:"
    dp_listener bench "$DP"
    dp_listener bench_auth "$DPA" "$BASIC_YAML"
    dp_listener bench_tls "$DPT" "" "$TLS_YAML"
    cat <<YAML
  clusters:
  - name: origin
    load_assignment:
      cluster_name: origin
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: $ORIGIN } } }
YAML
} >"$W/dp.yaml"

cat >"$W/nginx.conf" <<NGX
worker_processes 1;
pid $W/nginx.pid;
error_log $W/nginx-error.log error;
events { worker_connections 20000; }
http {
  access_log off;
  # the default (1000) closes an h2 connection after 1000 requests, and
  # h2load -D does not reconnect: HAProxy and the data plane have no limit
  keepalive_requests 100000000;
  upstream origin { server 127.0.0.1:$ORIGIN; keepalive 128; }
  server {
    listen 127.0.0.1:$NGX reuseport;
    server_name bench.test;
    location / { proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
  server { listen 127.0.0.1:$NGX; server_name _; return 404; }
  server {
    listen 127.0.0.1:$NGXA reuseport;
    server_name bench.test;
    auth_basic bench;
    auth_basic_user_file $W/htpasswd;
    location / { proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
  server { listen 127.0.0.1:$NGXA; server_name _; return 404; }
  server {
    listen 127.0.0.1:$NGXT ssl http2 reuseport;
    server_name bench.test;
    ssl_certificate $W/cert.pem;
    ssl_certificate_key $W/key.pem;
    ssl_session_tickets on; # as the data plane (Envoy default) and HAProxy: tickets issued
    # Debian 12's nginx (1.22) leaves TLS 1.3 off unless told: without
    # this line it negotiates TLS 1.2, a cheaper handshake than the others'
    ssl_protocols TLSv1.2 TLSv1.3;
    # the data plane's (Envoy's) TLS 1.3 preference, so all three pick AES-128-GCM
    ssl_prefer_server_ciphers on;
    ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384;
    ssl_session_cache shared:SSL:10m;
    location / { proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
NGX

cat >"$W/haproxy.cfg" <<HAP
global
  nbthread 1
  maxconn 10100
  # HAProxy reserves 2 fds per connection (client and server) and refuses
  # to start when the limit (20000 here) is below that; idle keep-alive
  # clients hold one each (server connections are pooled), so 10000 fit
  no strict-limits
  # the data plane's (Envoy's) TLS 1.3 preference, so all three pick AES-128-GCM
  ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384
defaults
  maxconn 10100
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  http-reuse always
frontend fe
  bind 127.0.0.1:$HAP
  acl is_bench hdr(host) -i bench.test
  use_backend origin if is_bench
  default_backend notfound
frontend fe_tls
  bind 127.0.0.1:$HAPT ssl crt $W/haproxy.pem alpn h2,http/1.1
  acl is_bench hdr(host) -i bench.test
  use_backend origin if is_bench
  default_backend notfound
frontend fe_auth
  bind 127.0.0.1:$HAPA
  acl is_bench hdr(host) -i bench.test
  http-request auth realm bench if is_bench !{ http_auth(bench_users) }
  use_backend origin if is_bench
  default_backend notfound
userlist bench_users
  user bench insecure-password benchpw
backend origin
  server o1 127.0.0.1:$ORIGIN
backend notfound
  http-request return status 404
HAP
# the three proxies, pinned to core 0; NGX_PID is nginx's worker (the
# process doing the work)
start_proxies() {
    taskset -c 0 build/dataplane -c "$W/dp.yaml" --concurrency 1 -l error & PIDS+=($!); DP_PID=$!
    taskset -c 0 nginx -c "$W/nginx.conf" -g 'daemon off;' & PIDS+=($!); NGX_MASTER=$!
    taskset -c 0 haproxy -f "$W/haproxy.cfg" -db & PIDS+=($!); HAP_PID=$!
    sleep 1
    NGX_PID=$(pgrep -P "$NGX_MASTER" | head -1)
}
stop_proxies() {
    kill "$DP_PID" "$NGX_MASTER" "$HAP_PID" 2>/dev/null || true
    wait "$DP_PID" "$NGX_MASTER" "$HAP_PID" 2>/dev/null || true
}
start_proxies

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

run() { # run NAME PORT PID [HEADER]
    local name=$1 port=$2 pid=$3 hdr=${4:-X-Bench: 1} t0 t1 out
    t0=$([ "$pid" = - ] && echo 0 || cpu_ticks "$pid")
    out=$(taskset -c 1 wrk -t1 -c64 -d"${DUR}s" --latency -H 'Host: bench.test' -H "$hdr" "http://127.0.0.1:$port/")
    t1=$([ "$pid" = - ] && echo 0 || cpu_ticks "$pid")
    local rps p50 p99 reqs rss
    rps=$(echo "$out" | awk '/Requests\/sec/ { print $2 }')
    p50=$(echo "$out" | awk '$1 == "50%" { print $2 }')
    p99=$(echo "$out" | awk '$1 == "99%" { print $2 }')
    reqs=$(echo "$out" | awk '/requests in/ { print $1 }')
    rss=$([ "$pid" = - ] && echo 0 || awk '/VmRSS/ { print $2 }' "/proc/$pid/status")
    local hz; hz=$(getconf CLK_TCK)
    local cpu_us; cpu_us=$(python3 -c "print(round(($t1-$t0)/$hz*1e6/max($reqs,1), 2))")
    local non2xx; non2xx=$(echo "$out" | awk '/Non-2xx/ { print $NF }')
    echo "$name $rps $p50 $p99 $cpu_us $rss ${non2xx:-0}"
}

rss_kib() { awk '/VmRSS/ { print $2 }' "/proc/$1/status"; }

# h2 NAME PORT PID: h2 over TLS with h2load (64 connections, 10 streams
# each), p50/p99 from its per-request log (microseconds)
h2() {
    local name=$1 port=$2 pid=$3 t0 t1 out
    t0=$(cpu_ticks "$pid")
    out=$(taskset -c 1 h2load -t1 -c64 -m10 -D "$DUR" --log-file="$W/h2-$name.log" -H ':authority: bench.test' \
        "https://127.0.0.1:$port/")
    t1=$(cpu_ticks "$pid")
    local rps reqs ok
    rps=$(echo "$out" | awk '/^finished in/ { print $4 }')
    reqs=$(echo "$out" | awk '/^requests:/ { print $8 }')
    ok=$(echo "$out" | awk '/^status codes:/ { print $3 }')
    python3 - "$W/h2-$name.log" "$name" "$rps" "$(( (t1 - t0) ))" "$(getconf CLK_TCK)" "${reqs:-0}" "${ok:-0}" \
        "$(rss_kib "$pid")" <<'PY'
import sys
path, name, rps, ticks, hz, reqs, ok, rss = sys.argv[1:]
lat = sorted(int(l.split()[2]) for l in open(path) if l.strip())
pct = lambda p: ("%.2fms" % (lat[min(len(lat) - 1, int(len(lat) * p))] / 1000)) if lat else "-"
cpu = int(ticks) / int(hz) * 1e6 / max(int(reqs), 1)
print(name, rps, pct(0.5), pct(0.99), round(cpu, 2), rss, int(reqs) - int(ok))
PY
}

# handshakes NAME PORT PID: full TLS handshakes per second (rounds of 200
# new connections, one request each, for DUR seconds) and the proxy's CPU
# per handshake
handshakes() {
    local name=$1 port=$2 pid=$3 t0 t1 start n=0 now
    t0=$(cpu_ticks "$pid")
    start=$(date +%s.%N)
    while :; do
        taskset -c 1 h2load -t1 -c200 -n200 -H ':authority: bench.test' "https://127.0.0.1:$port/" >"$W/hs.out" 2>&1
        n=$((n + $(awk '/^requests:/ { print $8 }' "$W/hs.out")))
        now=$(date +%s.%N)
        python3 -c "import sys; sys.exit(0 if $now - $start < $DUR else 1)" || break
    done
    t1=$(cpu_ticks "$pid")
    python3 -c "print('$name', round($n / ($now - $start)), round(($t1 - $t0) / $(getconf CLK_TCK) * 1e6 / max($n, 1), 1))"
}

# tls_version NAME PORT: the protocol and cipher a default client gets
# (all three must be compared on the same handshake: TLS 1.3, AES-128-GCM)
tls_version() {
    local v
    v=$(openssl s_client -connect "127.0.0.1:$2" -servername bench.test -alpn h2 </dev/null 2>/dev/null |
        awk '/^New, / { sub(/,$/, "", $2); print $2 "/" $NF; exit }')
    echo "$1 ${v:-none}"
    case $v in TLSv1.3/TLS_AES_128_GCM_SHA256) ;; *) echo "bench: $1 negotiated ${v:-nothing}, not TLS 1.3 with AES-128-GCM" >&2; exit 1 ;; esac
}

# idle NAME PORT PID: KiB of RSS per idle keep-alive connection
idle() { # idle NAME PORT PID [--tls]
    local name=$1 port=$2 pid=$3 tls=${4:-} before after
    before=$(rss_kib "$pid")
    coproc IDLER { taskset -c 1 python3 bench/idle_conns.py "$port" "$IDLE" $tls; }
    local line; read -r line <&"${IDLER[0]}"
    sleep 1
    after=$(rss_kib "$pid")
    exec {IDLER[1]}>&-
    wait "$IDLER_PID" 2>/dev/null || true
    echo "$name $(python3 -c "print(round(($after-$before)/$IDLE, 3))") $before $after ${line#ready }"
}

# idle connections first, each kind on fresh processes: memory freed by
# earlier connections would hold the new ones without growing RSS
{
    idle dataplane $DP $DP_PID
    idle nginx $NGX "$NGX_PID"
    idle haproxy $HAP $HAP_PID
} >"$W/results-idle.txt"
stop_proxies
start_proxies
{
    idle dataplane $DPT $DP_PID --tls
    idle nginx $NGXT "$NGX_PID" --tls
    idle haproxy $HAPT $HAP_PID --tls
} >"$W/results-idle-tls.txt"
# Throughput scenarios in ROUNDS interleaved rounds, the proxies' order
# rotated each round (this shared machine drifts over minutes; sequential
# runs measured the drift as much as the proxies); medians are reported.
{
    tls_version dataplane $DPT
    tls_version nginx $NGXT
    tls_version haproxy $HAPT
} >"$W/results-tlsver.txt"
cat "$W/results-tlsver.txt"
PROXIES=("dataplane $DP $DPA $DPT $DP_PID" "nginx $NGX $NGXA $NGXT $NGX_PID" "haproxy $HAP $HAPA $HAPT $HAP_PID")
for r in $(seq 1 "$ROUNDS"); do
    echo "round $r of $ROUNDS" >&2
    run direct $ORIGIN - >>"$W/results.txt"
    run floor-epoll $FLE $FLE_PID >>"$W/results.txt"
    [ -z "$FLU_PID" ] || run floor-uring $FLU $FLU_PID >>"$W/results.txt"
    for k in 0 1 2; do
        read -r name plain auth tls pid <<<"${PROXIES[$(( (k + r - 1) % 3 ))]}"
        run "$name" "$plain" "$pid" >>"$W/results.txt"
        run "$name" "$auth" "$pid" "$AUTH" >>"$W/results-basic.txt"
        h2 "$name" "$tls" "$pid" >>"$W/results-h2tls.txt"
        handshakes "$name" "$tls" "$pid" >>"$W/results-handshakes.txt"
    done
done

mkdir -p bench/results
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
python3 - "$W" "$commit" "$DUR" "$IDLE" "$ROUNDS" <<'PY'
import json, sys, time, platform, os
W = sys.argv[1]

import statistics

def to_us(t):
    for suffix, mul in (("us", 1), ("ms", 1e3), ("s", 1e6)):
        if t.endswith(suffix):
            return float(t[:-len(suffix)]) * mul
    return float("nan")

def table(path, title):
    """One line per proxy and round; the medians over the rounds."""
    by = {}
    for l in open(path):
        r = l.split()
        if len(r) == 7:
            by.setdefault(r[0], []).append(r)
    med = lambda rows, i, f=float: statistics.median(f(x[i]) for x in rows)
    res = {name: {"rps": med(rows, 1), "p50": "%.2fms" % (med(rows, 2, to_us) / 1e3),
                  "p99": "%.2fms" % (med(rows, 3, to_us) / 1e3), "cpu_us_per_req": med(rows, 4),
                  "rss_kib": int(med(rows, 5)), "non_2xx": sum(int(x[6]) for x in rows),
                  "rounds": [{"rps": float(x[1]), "p50": x[2], "p99": x[3], "cpu_us_per_req": float(x[4])}
                             for x in rows]}
           for name, rows in by.items()}
    print("\n== %s" % title)
    print("%-10s %12s %10s %10s %12s %10s" % ("proxy", "req/s", "p50", "p99", "cpu us/req", "RSS KiB"))
    for name, v in res.items():
        print("%-10s %12.0f %10s %10s %12.2f %10d" % (name, v["rps"], v["p50"], v["p99"], v["cpu_us_per_req"], v["rss_kib"]))
    dp = res["dataplane"]["rps"]
    line = "ratios: dataplane/nginx %.2f   dataplane/haproxy %.2f" % (dp / res["nginx"]["rps"], dp / res["haproxy"]["rps"])
    if "direct" in res:
        line += "   dataplane/no-proxy %.2f" % (dp / res["direct"]["rps"])
    print(line)
    cpu = res["dataplane"]["cpu_us_per_req"]
    if cpu > 0:
        print("CPU per request ratios: nginx/dataplane %.2f   haproxy/dataplane %.2f" % (
            res["nginx"]["cpu_us_per_req"] / cpu, res["haproxy"]["cpu_us_per_req"] / cpu))
    floor = min((res[k]["cpu_us_per_req"] for k in ("floor-epoll", "floor-uring") if k in res), default=0)
    if floor > 0:
        # what a proxy doing no HTTP work costs: no proxy can beat these ratios here
        print("floor (no HTTP work) CPU per request ratios: nginx/floor %.2f   haproxy/floor %.2f   "
              "dataplane/floor %.2f" % (res["nginx"]["cpu_us_per_req"] / floor,
                                        res["haproxy"]["cpu_us_per_req"] / floor, cpu / floor))
    if any(v["non_2xx"] for v in res.values()):
        print("WARNING: non-2xx responses:", {k: v["non_2xx"] for k, v in res.items()})
    return res

res = table(W + "/results.txt", "HTTP/1.1 keep-alive, routed (wrk -t1 -c64)")
basic = table(W + "/results-basic.txt", "the same behind HTTP Basic auth")
h2tls = table(W + "/results-h2tls.txt", "h2 over TLS 1.3 (h2load -t1 -c64 -m10)")

def idle_table(path, title):
    idle = {}
    print("\n== %s (%s each)" % (title, sys.argv[4]))
    print("%-10s %14s %12s %12s %8s" % ("proxy", "KiB per conn", "RSS before", "RSS after", "opened"))
    for l in open(path):
        r = l.split()
        if len(r) < 5:
            continue
        idle[r[0]] = {"kib_per_conn": float(r[1]), "rss_before_kib": int(r[2]), "rss_after_kib": int(r[3]),
                      "connections": int(r[4])}
        print("%-10s %14.3f %12s %12s %8s" % (r[0], float(r[1]), r[2], r[3], r[4]))
    return idle

idle = idle_table(W + "/results-idle.txt", "idle keep-alive connections, plain")
idle_tls = idle_table(W + "/results-idle-tls.txt", "idle keep-alive connections, TLS")
hs = {}
print("\n== full TLS handshakes (new connection, one request, no resumption)")
print("%-10s %14s %16s" % ("proxy", "handshakes/s", "cpu us/handshake"))
hs_rounds = {}
for l in open(W + "/results-handshakes.txt"):
    r = l.split()
    if len(r) == 3:
        hs_rounds.setdefault(r[0], []).append((float(r[1]), float(r[2])))
for name, rows in hs_rounds.items():
    hs[name] = {"per_sec": statistics.median(x[0] for x in rows), "cpu_us": statistics.median(x[1] for x in rows),
                "rounds_cpu_us": [x[1] for x in rows]}
    print("%-10s %14.0f %16.1f" % (name, hs[name]["per_sec"], hs[name]["cpu_us"]))
if all(k in hs for k in ("dataplane", "nginx", "haproxy")):
    # the rate is bound by the one-core client; the CPU each handshake costs
    # the proxy is the comparable figure (above 1: the data plane is cheaper)
    print("CPU ratios: nginx/dataplane %.2f   haproxy/dataplane %.2f" % (
        hs["nginx"]["cpu_us"] / hs["dataplane"]["cpu_us"], hs["haproxy"]["cpu_us"] / hs["dataplane"]["cpu_us"]))
tlsver = dict(l.split() for l in open(W + "/results-tlsver.txt") if len(l.split()) == 2)
out = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "commit": sys.argv[2],
       "machine": {"cpus": os.cpu_count(), "kernel": platform.release()}, "seconds": float(sys.argv[3]), "rounds": int(sys.argv[5]),
       "tool": "wrk -t1 -c64, HTTP/1.1 keep-alive", "results": res, "basic_auth": basic,
       "idle_connections": idle, "h2_tls": h2tls, "tls_handshakes": hs, "tls_negotiated": tlsver, "idle_connections_tls": idle_tls}
path = "bench/results/http1-%s-%s.json" % (time.strftime("%Y%m%d-%H%M%S"), sys.argv[2])
json.dump(out, open(path, "w"), indent=2)
print("written", path)
PY
