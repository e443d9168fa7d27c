#!/usr/bin/env bash
# HTTP/2 towards upstreams: a cluster with explicit_http_config
# http2_protocol_options. The HTTP/2 upstream is a second data plane (B,
# an h2c listener in front of the HTTP/1.1 test upstream), so the proxy
# under test (A) speaks h2c to a real HTTP/2 server:
#   client --h1/h2--> A --h2c--> B --h1--> upstream.py
# Many concurrent downstream requests share one upstream connection;
# bodies cross intact both ways with backpressure; an upstream that dies
# mid-response resets the downstream; a connection the server closes is
# replaced; idle_timeout closes an idle connection; use_downstream_protocol_config
# follows the client's protocol.
. "$(dirname "$0")/lib.sh"

LISTEN_PORT=$(free_port); ADMIN_PORT=$(free_port)
B_PORT=$(free_port); B_ADMIN=$(free_port); APP_PORT=$(free_port); TRUNC_PORT=$(free_port)
start_upstream app "$APP_PORT"

# an upstream that promises 1 MB and dies after 1000 bytes
cat >"$WORK/trunc.py" <<'PY'
import socket, struct, sys, threading, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64)
def serve(c):
    buf = b""
    while b"\r\n\r\n" not in buf:
        b = c.recv(4096)
        if not b:
            return c.close()
        buf += b
    c.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 1000000\r\n\r\n" + b"x" * 1000)
    time.sleep(0.2)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
python3 "$WORK/trunc.py" "$TRUNC_PORT" >"$WORK/trunc.log" 2>&1 &
PIDS+=($!)
wait_port "$TRUNC_PORT"

# --- B: h2c listener -> the HTTP/1.1 upstreams -------------------------------
b_vhosts() {
    printf '            - name: app\n              domains: ["*"]\n              routes:\n'
    printf '              - match: { prefix: "/trunc" }\n                route: { cluster: trunc }\n'
    printf '              - match: { prefix: "/" }\n                route: { cluster: app, timeout: 120s }\n'
}
start_b() {
    local SAVE_L=$LISTEN_PORT SAVE_A=$ADMIN_PORT
    LISTEN_PORT=$B_PORT; ADMIN_PORT=$B_ADMIN
    hcm_bootstrap "$(b_vhosts)" "$(cluster_yaml app "$APP_PORT"; cluster_yaml trunc "$TRUNC_PORT")" \
        "          codec_type: HTTP2" >"$WORK/b.yaml"
    LISTEN_PORT=$SAVE_L; ADMIN_PORT=$SAVE_A
    "$DP_BIN" -c "$WORK/b.yaml" --concurrency 1 >>"$WORK/b.log" 2>&1 &
    B_PID=$!
    PIDS+=($B_PID)
    local i
    for i in $(seq 1 200); do
        curl -fs "http://127.0.0.1:$B_ADMIN/ready" >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    echo "B did not start" >&2
    return 1
}

# --- A: the proxy under test ----------------------------------------------------
# h2_cluster NAME PORT PROTOCOL_YAML [COMMON_YAML]
h2_cluster() {
    cat <<YAML
  - name: $1
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
${4:+        $4
}        $3
    load_assignment:
      cluster_name: $1
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: $2 } } }
YAML
}
a_vhosts() {
    printf '            - name: app\n              domains: ["*"]\n              routes:\n'
    printf '              - match: { prefix: "/idle/" }\n                route: { cluster: idle, prefix_rewrite: "/" }\n'
    printf '              - match: { prefix: "/ds/" }\n                route: { cluster: ds, prefix_rewrite: "/" }\n'
    printf '              - match: { prefix: "/capped/" }\n                route: { cluster: capped, prefix_rewrite: "/" }\n'
    printf '              - match: { prefix: "/" }\n                route: { cluster: h2up, timeout: 120s }\n'
}
hcm_bootstrap "$(a_vhosts)" \
    "$(h2_cluster h2up "$B_PORT" 'explicit_http_config: { http2_protocol_options: {} }'
       h2_cluster idle "$B_PORT" 'explicit_http_config: { http2_protocol_options: {} }' 'common_http_protocol_options: { idle_timeout: 1s }'
       h2_cluster ds "$B_PORT" 'use_downstream_protocol_config: { http2_protocol_options: {} }'
       h2_cluster capped "$B_PORT" 'explicit_http_config: { http2_protocol_options: { max_concurrent_streams: 5 } }')" \
    >"$WORK/a.yaml"
# one worker: pools are per worker
DP_CONCURRENCY=1 start_dataplane "$WORK/a.yaml" || { fail "start A"; finish; }
start_b || { fail "start B"; finish; }
P="http://127.0.0.1:$LISTEN_PORT"

# 1. a request crosses as HTTP/2
out=$(curl -s -i "$P/echo?x=1" -H 'x-foo: bar')
expect_contains "response through the h2 upstream" "$out" "HTTP/1.1 200"
expect_contains "headers reach the origin" "$out" '["x-foo", "bar"]'
expect_contains "origin's response header comes back" "$out" "x-upstream: app"
expect_eq "B saw HTTP/2" "$(curl -fs "http://127.0.0.1:$B_ADMIN/stats" | awk -F': ' '$1=="http.ingress_http.downstream_rq_http2_total"{print $2}')" "1"
expect_eq "upstream_cx_http2_total" "$(stat cluster.h2up.upstream_cx_http2_total)" "1"

# 2. many concurrent downstream connections share one upstream connection
h2load --h1 -n 300 -c 30 "$P/echo" >"$WORK/h2load.out" 2>&1
expect_contains "300 concurrent requests succeed" "$(cat "$WORK/h2load.out")" "300 succeeded"
expect_eq "one upstream connection carried them all" "$(stat cluster.h2up.upstream_cx_total)" "1"
expect_eq "all completed" "$(stat cluster.h2up.upstream_rq_completed)" "301"
h2load -n 200 -c 2 -m 20 "$P/echo" >"$WORK/h2load2.out" 2>&1
expect_contains "HTTP/2 clients multiplexed onto it too" "$(cat "$WORK/h2load2.out")" "200 succeeded"
expect_eq "still one upstream connection" "$(stat cluster.h2up.upstream_cx_total)" "1"

# http2_protocol_options.max_concurrent_streams caps the streams per
# connection: 20 concurrent requests need 4 connections
h2load --h1 -n 20 -c 20 "$P/capped/slow?ms=500" >"$WORK/h2load3.out" 2>&1
expect_contains "20 concurrent requests on a capped cluster succeed" "$(cat "$WORK/h2load3.out")" "20 succeeded"
expect_eq "5 streams per connection: 4 connections" "$(stat cluster.capped.upstream_cx_total)" "4"

# 3. bodies both ways, with backpressure
MIB32=33554432
zero_sha=$(head -c $MIB32 /dev/zero | sha256sum | cut -d' ' -f1)
truncate -s $MIB32 "$WORK/zeros.bin"
out=$(curl -s -T "$WORK/zeros.bin" "$P/upload")
expect_contains "32 MiB upload (content-length) arrives whole" "$out" "\"length\": $MIB32, \"sha256\": \"$zero_sha\""
out=$(head -c $MIB32 /dev/zero | curl -s -T - "$P/upload")
expect_contains "32 MiB chunked upload arrives whole" "$out" "\"length\": $MIB32, \"sha256\": \"$zero_sha\""
pattern_sha() {
    python3 -c '
import hashlib, sys
p = (b"0123456789abcdefghijklmnopqrstuvwxyz" * 1820)[:65536]
n = int(sys.argv[1]); h = hashlib.sha256()
while n:
    k = min(n, len(p)); h.update(p[:k]); n -= k
print(h.hexdigest())' "$1"
}
got=$(curl -s "$P/bytes/$MIB32" | sha256sum | cut -d' ' -f1)
expect_eq "32 MiB download arrives whole" "$got" "$(pattern_sha $MIB32)"
got=$(curl -s --limit-rate 4M "$P/bytes/8388608" | sha256sum | cut -d' ' -f1)
expect_eq "slow client gets the whole body" "$got" "$(pattern_sha 8388608)"
got=$(curl -s --http2-prior-knowledge "$P/bytes/8388608?chunked=1" | sha256sum | cut -d' ' -f1)
expect_eq "HTTP/2 client, chunked origin: whole body" "$got" "$(pattern_sha 8388608)"

# 4. the upstream stream dies after the headers: the downstream is reset
code=0; curl -s -o /dev/null "$P/trunc" || code=$?
check "mid-body upstream reset reaches the client (curl exit $code)" test "$code" -ne 0

# 5. use_downstream_protocol_config: HTTP/1.1 clients -> HTTP/1.1, HTTP/2 clients -> HTTP/2
curl -s -o /dev/null "$P/ds/echo"
curl -s -o /dev/null --http2-prior-knowledge "$P/ds/echo"
expect_eq "downstream protocol: one h1 connection" "$(stat cluster.ds.upstream_cx_http1_total)" "1"
expect_eq "downstream protocol: one h2 connection" "$(stat cluster.ds.upstream_cx_http2_total)" "1"

# 6. idle_timeout closes an unused connection
curl -s -o /dev/null "$P/idle/echo"
expect_eq "idle cluster connected" "$(stat cluster.idle.upstream_cx_active)" "1"
sleep 1.6
expect_eq "idle connection closed after idle_timeout" "$(stat cluster.idle.upstream_cx_active)" "0"
expect_eq "upstream_cx_idle_timeout" "$(stat cluster.idle.upstream_cx_idle_timeout)" "1"

# 7. the server goes away (B restarts): the next requests use a new connection
kill -TERM "$B_PID"; wait "$B_PID" 2>/dev/null
start_b || fail "restart B"
codes=""
for i in 1 2 3; do codes="$codes $(curl -s -o /dev/null -w '%{http_code}' "$P/echo")"; done
expect_eq "requests after the upstream restarted" "$codes" " 200 200 200"
expect_eq "a second upstream connection" "$(stat cluster.h2up.upstream_cx_total)" "2"

if grep -qE "AddressSanitizer|LeakSanitizer|runtime error:" "$WORK/b.log"; then
    fail "sanitizer report in B's log"
    grep -m5 -E "AddressSanitizer|LeakSanitizer|runtime error:" "$WORK/b.log"
fi
kill -TERM "$B_PID" 2>/dev/null
finish
