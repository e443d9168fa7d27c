#!/usr/bin/env bash
# The HTTP/2 downstream codec through the real binary, with real clients
# (curl, nghttp, h2load) and hand-made frames (h2frames.py) in front of the
# python HTTP/1.1 upstream: h2c prior knowledge on a codec_type HTTP2
# listener and sniffed on an AUTO one, h2 over TLS by ALPN, 5 MB bodies both
# ways, the SETTINGS the config asks for, h2load, many concurrent streams on
# one connection and max_concurrent_streams, request trailers, cookies,
# :authority/Host, CONNECT, header limits (431), local replies, HEAD,
# 204/304, a slow reader with bounded memory, stream idle timeout, idle
# timeout, soft drain (listener changed) and hard drain (SIGTERM) GOAWAYs,
# and the stats.
. "$(dirname "$0")/lib.sh"

for tool in nghttp h2load; do
    command -v $tool >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done
PY=/usr/bin/python3
FRAMES="$E2E_DIR/h2frames.py"

H2_PORT=$(free_port); AUTO_PORT=$(free_port); TLS_PORT=$(free_port); ADMIN_PORT=$(free_port); APP_PORT=$(free_port)
LISTEN_PORT=$H2_PORT
start_upstream app "$APP_PORT"
# h2 over TLS (ALPN) once the TLS transport and its xDS translation exist
TLS=
if [ -f "$DP_SRC/xds/translate_tls.c" ] && ! grep -q PLACEHOLDER "$DP_SRC/dataplane/transport/tls.c"; then
    TLS=1
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/key.pem" -out "$WORK/cert.pem" -days 2 \
        -subj "/CN=h2.test" -addext "subjectAltName=DNS:h2.test,IP:127.0.0.1,IP:2001:db8::1,URI:spiffe://e2e/h2" \
        2>/dev/null
fi

# routes shared by both listeners: the upstream's paths, direct 204/304,
# anything else has no route (404)
routes() {
    cat <<YAML
          route_config:
            virtual_hosts:
            - name: app
              domains: ["*"]
              routes:
              - match: { path: "/direct204" }
                direct_response: { status: 204 }
              - match: { path: "/direct304" }
                direct_response: { status: 304 }
              - match: { prefix: "/echo" }
                route: { cluster: app }
              - match: { prefix: "/bytes/" }
                route: { cluster: app, timeout: 120s }
              - match: { prefix: "/upload" }
                route: { cluster: app, timeout: 120s }
              - match: { prefix: "/slow" }
                route: { cluster: app, timeout: 30s }
              - match: { prefix: "/status/" }
                route: { cluster: app }
YAML
}
hcm() { # hcm STAT_PREFIX EXTRA_FIELDS
    cat <<YAML
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: $1
$2
          http_filters:
          - name: envoy.filters.http.router
            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }
$(routes)
YAML
}
bootstrap() {
cat <<YAML
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: $ADMIN_PORT } }
static_resources:
  listeners:
  - name: h2
    address: { socket_address: { address: 127.0.0.1, port_value: $H2_PORT } }
$(hcm h2_http "          codec_type: HTTP2
          drain_timeout: 1s
          http2_protocol_options:
            max_concurrent_streams: ${H2_MAX_STREAMS:-77}
            initial_stream_window_size: 1048576
            initial_connection_window_size: 4194304
            hpack_table_size: 8192")
  - name: auto
    address: { socket_address: { address: 127.0.0.1, port_value: $AUTO_PORT } }
$(hcm auto_http "          codec_type: AUTO
          stream_idle_timeout: 1s
          common_http_protocol_options: { idle_timeout: 1s }")
$([ -n "$TLS" ] && cat <<TLSYAML
  - name: tls
    address: { socket_address: { address: 127.0.0.1, port_value: $TLS_PORT } }
    filter_chains:
    - transport_socket:
        name: envoy.transport_sockets.tls
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
          common_tls_context:
            alpn_protocols: ["h2", "http/1.1"]
            tls_certificates:
            - certificate_chain: { filename: "$WORK/cert.pem" }
              private_key: { filename: "$WORK/key.pem" }
      filters:
$(hcm tls_http "" | tail -n +3)
TLSYAML
)
  clusters:
$(cluster_yaml app "$APP_PORT")
YAML
}
bootstrap >"$WORK/bootstrap.yaml"
# ASAN keeps freed memory in quarantine (256 MB by default), which RSS would
# count as if the codec held it: keep it small for the memory bound below
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=4"
start_dataplane "$WORK/bootstrap.yaml" || { fail "start"; finish; }
H2="http://127.0.0.1:$H2_PORT"
AUTO="http://127.0.0.1:$AUTO_PORT"
C="curl -s --http2-prior-knowledge"

# --- prior knowledge, sniffed, and HTTP/1.1 on the same AUTO listener ------------------
out=$($C -w '\n%{http_code} %{http_version}' "$H2/echo")
expect_contains "h2c prior knowledge (codec HTTP2): 200 over HTTP/2" "$out" $'\n200 2'
expect_contains "the upstream got the request over HTTP/1.1" "$out" '"version": "HTTP/1.1"'
expect_contains ":authority became the upstream's Host" "$out" "[\"host\", \"127.0.0.1:$H2_PORT\"]"
out=$($C -w '\n%{http_code} %{http_version}' "$AUTO/echo")
expect_contains "h2c prior knowledge sniffed on an AUTO listener" "$out" $'\n200 2'
out=$(curl -s -w '\n%{http_code} %{http_version}' "$AUTO/echo")
expect_contains "HTTP/1.1 still served on the AUTO listener" "$out" $'\n200 1.1'

# --- 5 MB both ways (window updates: the stream window is 1 MiB) ---------------------------
head -c 5242880 /dev/urandom >"$WORK/up.bin"
up_sha=$(sha256sum <"$WORK/up.bin" | cut -d' ' -f1)
for p in "$H2" "$AUTO"; do
    out=$($C --data-binary @"$WORK/up.bin" -H 'content-type: application/octet-stream' "$p/upload")
    expect_contains "5 MB POST body arrives whole ($p)" "$out" "\"length\": 5242880, \"sha256\": \"$up_sha\""
done
out=$(head -c 3000000 /dev/urandom | $C -T - -X POST "$H2/upload")
expect_contains "3 MB POST without content-length arrives whole" "$out" '"length": 3000000'
pattern_sha() {
    $PY -c '
import hashlib, sys
p = (b"0123456789abcdefghijklmnopqrstuvwxyz" * 1820)[:65536]
n = int(sys.argv[1]); h = hashlib.sha256()
while n:
    k = min(n, len(p)); h.update(p[:k]); n -= k
print(h.hexdigest())' "$1"
}
want5=$(pattern_sha 5242880)
got=$($C "$H2/bytes/5242880" | sha256sum | cut -d' ' -f1)
expect_eq "5 MB response body arrives whole" "$got" "$want5"
got=$($C "$AUTO/bytes/5242880?chunked=1" | sha256sum | cut -d' ' -f1)
expect_eq "5 MB chunked upstream response arrives whole over h2" "$got" "$want5"

# --- SETTINGS from http2_protocol_options --------------------------------------------------
nv=$(nghttp -nv "$H2/echo" 2>&1)
expect_contains "SETTINGS_MAX_CONCURRENT_STREAMS from the config" "$nv" "[SETTINGS_MAX_CONCURRENT_STREAMS(0x03):77]"
expect_contains "SETTINGS_INITIAL_WINDOW_SIZE from the config" "$nv" "[SETTINGS_INITIAL_WINDOW_SIZE(0x04):1048576]"
expect_contains "SETTINGS_HEADER_TABLE_SIZE from hpack_table_size" "$nv" "[SETTINGS_HEADER_TABLE_SIZE(0x01):8192]"
expect_contains "connection window raised by WINDOW_UPDATE on stream 0" "$nv" "(window_size_increment=$((4194304 - 65535)))"
expect_not_contains "no ENABLE_CONNECT_PROTOCOL without allow_connect" "$nv" "ENABLE_CONNECT_PROTOCOL"
expect_contains "nghttp gets its response" "$nv" ":status: 200"
nv=$(nghttp -nv "$AUTO/echo" 2>&1)
expect_contains "Envoy's default max_concurrent_streams" "$nv" "[SETTINGS_MAX_CONCURRENT_STREAMS(0x03):2147483647]"
expect_contains "Envoy's default stream window (256 MiB)" "$nv" "[SETTINGS_INITIAL_WINDOW_SIZE(0x04):268435456]"

# --- load: h2load, and many concurrent streams on one connection --------------------------
out=$(h2load -n 2000 -c 4 -m 20 "$H2/echo" 2>&1)
expect_contains "h2load -n 2000 -c 4 -m 20: all succeeded" "$out" "2000 succeeded, 0 failed, 0 errored"
t0=$(date +%s%N)
out=$(h2load -n 308 -c 1 -m 77 "$H2/slow?ms=300" 2>&1)
ms=$((($(date +%s%N) - t0) / 1000000))
expect_contains "308 requests as 77 concurrent streams on one connection" "$out" "308 succeeded, 0 failed"
check "... served concurrently (${ms} ms for 4 rounds of 300 ms, not 92 s)" test "$ms" -lt 15000

out=$($PY "$FRAMES" "$H2_PORT" concurrency 80)
expect_eq "80 streams at once before SETTINGS ACK, max_concurrent_streams 77: 77 answered, 3 REFUSED_STREAM" \
    "$out" '{"ok": 77, "refused": 3, "goaway": null, "closed": false}'
out=$($PY "$FRAMES" "$H2_PORT" concurrency_acked 80)
expect_eq "80 streams at once after SETTINGS ACK: GOAWAY PROTOCOL_ERROR" "$out" \
    '{"ok": 0, "refused": 0, "goaway": 1, "closed": true}'

# --- request shapes curl does not make ------------------------------------------------------
out=$($PY "$FRAMES" "$H2_PORT" trailers)
expect_contains "request trailers: the body reaches the upstream, 200" "$out" '"1": {"status": 200'
expect_contains "... whole (14 bytes)" "$out" '\"body_length\": 14'
expect_contains "... and the connection serves the next stream" "$out" '"3": {"status": 200'
out=$($PY "$FRAMES" "$H2_PORT" cookies)
expect_contains "cookie crumbs joined with '; '" "$out" '[\"cookie\", \"a=1; b=2; c=3\"]'
out=$($PY "$FRAMES" "$H2_PORT" no_authority)
expect_contains "no :authority: Host is the authority" "$out" '[\"host\", \"from-host.test\"]'
expect_contains "neither :authority nor Host: stream reset PROTOCOL_ERROR (RFC 9113 8.3.1)" "$out" '"3": {"status": null, "body_len": 0, "rst": 1'
out=$($PY "$FRAMES" "$H2_PORT" connect)
expect_contains "plain CONNECT: 403" "$out" '"status": 403'
expect_contains "... as a JSON local reply" "$out" 'CONNECT is not supported'
out=$($PY "$FRAMES" "$H2_PORT" extended_connect)
expect_contains "extended CONNECT without allow_connect: stream reset" "$out" '"1": {"status": null, "body_len": 0, "rst": 1'
out=$($PY "$FRAMES" "$H2_PORT" big_headers)
expect_contains "headers over max_request_headers_kb: 431" "$out" '"1": {"status": 431'
expect_contains "... and the connection goes on" "$out" '"3": {"status": 200'
out=$($PY "$FRAMES" "$H2_PORT" split_headers 2000)
expect_contains "a 40 KB header block in 21 frames (HEADERS + 20 CONTINUATION) is served" "$out" '"1": {"status": 200'
expect_contains "... its field reaches the upstream" "$out" '[\"x-big\", \"vvvv'
out=$($PY "$FRAMES" "$H2_PORT" many_headers)
expect_contains "more fields than max_headers_count: 431" "$out" '"1": {"status": 431'

# --- local replies, HEAD, bodiless statuses ---------------------------------------------------
out=$($C -D "$WORK/h404" -w '\n%{http_code}' "$H2/nothing")
expect_contains "no route over h2: 404" "$out" $'\n404'
expect_contains "... with a JSON body" "$out" '"status": 404'
expect_contains "... typed application/json" "$(cat "$WORK/h404")" "content-type: application/json"
out=$($C -I -w '%{size_download}' "$H2/bytes/1000")
expect_contains "HEAD over h2: 200" "$out" "HTTP/2 200"
expect_contains "... with the upstream's content-length" "$out" "content-length: 1000"
expect_contains "... and no body" "$out" $'\r\n\r\n0'
for st in 204 304; do
    out=$($C -D "$WORK/h$st" -w '%{http_code} %{size_download}' "$H2/direct$st")
    expect_eq "$st over h2: no body" "$out" "$st 0"
    expect_not_contains "$st over h2: no content-length" "$(cat "$WORK/h$st")" "content-length"
done
out=$($C -w '%{http_code}' "$H2/status/503")
expect_contains "upstream status passes through" "$out" "503"

# --- flow control: a slow reader holds the upstream back -----------------------------------
rss0=$(rss_kb "$DP_PID")
want=$(pattern_sha 50331648)
$C --limit-rate 12M "$H2/bytes/50331648" | sha256sum | cut -d' ' -f1 >"$WORK/slow.sha" &
reader=$!
peak=$rss0
while kill -0 $reader 2>/dev/null; do
    r=$(rss_kb "$DP_PID"); [ "$r" -gt "$peak" ] && peak=$r
    sleep 0.2
done
wait $reader
expect_eq "slow reader gets 48 MB whole" "$(cat "$WORK/slow.sha")" "$want"
check "memory stays bounded for a slow reader (RSS +$((peak - rss0)) KiB for a 48 MiB body)" \
    test $((peak - rss0)) -lt 20480

# --- timeouts ---------------------------------------------------------------------------------
out=$($C -w '\n%{http_code}' "$AUTO/slow?ms=3000")
expect_contains "stream_idle_timeout with nothing answered: 408" "$out" $'\n408'
out=$($PY "$FRAMES" "$AUTO_PORT" idle 5)
expect_contains "idle_timeout: GOAWAY NO_ERROR" "$out" '"goaway": 0'
expect_contains "... and the connection closed" "$out" '"closed": true'
ms=$(printf '%s' "$out" | $PY -c 'import json,sys; print(json.load(sys.stdin)["idle_ms"])')
check "... after about 1 s idle (${ms} ms)" test "$ms" -ge 700 -a "$ms" -lt 3500

# --- over TLS (ALPN h2) ------------------------------------------------------------------------
if [ -n "$TLS" ]; then
    T="https://h2.test:$TLS_PORT"
    R="--resolve h2.test:$TLS_PORT:127.0.0.1 --cacert $WORK/cert.pem"
    out=$(curl -s --http2 $R -w '\n%{http_code} %{http_version}' "$T/echo")
    expect_contains "TLS with ALPN h2: 200 over HTTP/2" "$out" $'\n200 2'
    expect_contains "... x-forwarded-proto https" "$out" '["x-forwarded-proto", "https"]'
    out=$(curl -s --http1.1 $R -w '\n%{http_code} %{http_version}' "$T/echo")
    expect_contains "TLS with ALPN http/1.1 on the same listener: HTTP/1.1" "$out" $'\n200 1.1'
    # /certs: the listener's certificate, as openssl reads it
    serial=$(openssl x509 -noout -serial -in "$WORK/cert.pem" | cut -d= -f2 | tr 'A-F' 'a-f')
    end=$(date -u -d "$(openssl x509 -noout -enddate -in "$WORK/cert.pem" | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ)
    got=$(curl -s "http://127.0.0.1:$ADMIN_PORT/certs" | $PY -c '
import json, sys
c = json.load(sys.stdin)["certificates"]
d = c[0]["cert_chain"][0]
print(len(c), len(c[0]["ca_cert"]), d["serial_number"], d["subject_alt_names"], d["expiration_time"], d["days_until_expiration"])')
    expect_eq "/certs: the TLS listener's certificate" "$got" \
        "1 0 $serial [{'dns': 'h2.test'}, {'ip_address': '127.0.0.1'}, {'ip_address': '2001:db8::1'}, {'uri': 'spiffe://e2e/h2'}] $end 1"
    got=$(curl -s --http2 $R "$T/bytes/5242880" | sha256sum | cut -d' ' -f1)
    expect_eq "TLS h2: 5 MB response whole" "$got" "$want5"
    out=$(curl -s --http2 $R --data-binary @"$WORK/up.bin" "$T/upload")
    expect_contains "TLS h2: 5 MB request body whole" "$out" "\"length\": 5242880, \"sha256\": \"$up_sha\""
    out=$(h2load -n 1000 -c 2 -m 10 "https://127.0.0.1:$TLS_PORT/echo" 2>&1)
    expect_contains "TLS h2load: negotiated h2" "$out" "Application protocol: h2"
    expect_contains "TLS h2load: 1000 succeeded" "$out" "1000 succeeded, 0 failed, 0 errored"
    check "TLS h2 connections counted as http2" test "$(stat http.tls_http.downstream_cx_http2_total)" -ge 4
else
    echo "# TLS not available yet: h2 over TLS not tested"
fi

# --- stats --------------------------------------------------------------------------------------
for i in $(seq 1 50); do
    [ "$(stat http.h2_http.downstream_cx_active)" = 0 ] && [ "$(stat http.auto_http.downstream_cx_active)" = 0 ] && break
    sleep 0.1
done
expect_eq "http.h2_http.downstream_cx_active back to 0" "$(stat http.h2_http.downstream_cx_active)" 0
total=$(stat http.h2_http.downstream_cx_total)
check "downstream_cx_total counts the h2 connections ($total)" test "${total:-0}" -ge 20
expect_eq "downstream_cx_http2_total == downstream_cx_total" "$(stat http.h2_http.downstream_cx_http2_total)" "$total"
expect_eq "downstream_cx_destroy == downstream_cx_total" "$(stat http.h2_http.downstream_cx_destroy)" "$total"
rq=$(stat http.h2_http.downstream_rq_http2_total)
check "downstream_rq_http2_total counts the streams ($rq)" test "${rq:-0}" -ge 2300
expect_eq "downstream_rq_total == downstream_rq_http2_total" "$(stat http.h2_http.downstream_rq_total)" "$rq"
expect_eq "downstream_rq_active back to 0" "$(stat http.h2_http.downstream_rq_active)" 0
check "downstream_rq_4xx counted (404/431/403)" test "$(stat http.h2_http.downstream_rq_4xx)" -ge 4
check "downstream_rq_tx_reset counted (malformed requests)" test "$(stat http.h2_http.downstream_rq_tx_reset)" -ge 2
expect_eq "downstream_rq_idle_timeout on the AUTO listener" "$(stat http.auto_http.downstream_rq_idle_timeout)" 1
expect_eq "HTTP/1.1 on AUTO is not counted as http2" "$(stat http.auto_http.downstream_rq_http1_total)" 1
expect_eq "listener.*.downstream_cx_active back to 0" "$(stat "listener.127.0.0.1_$H2_PORT.downstream_cx_active")" 0
expect_eq "listener.*.downstream_cx_destroy == _total" "$(stat "listener.127.0.0.1_$H2_PORT.downstream_cx_destroy")" \
    "$(stat "listener.127.0.0.1_$H2_PORT.downstream_cx_total")"

# --- soft drain: the listener changed (SIGHUP), its connections are told to go ------------------
$PY "$FRAMES" "$H2_PORT" idle 10 >"$WORK/soft.json" &
client=$!
sleep 0.5
H2_MAX_STREAMS=78 bootstrap >"$WORK/bootstrap.yaml"
kill -HUP "$DP_PID"
wait $client
out=$(cat "$WORK/soft.json")
expect_contains "soft drain: GOAWAY shutdown notice, then after drain_timeout the final GOAWAY" "$out" \
    '"goaways": [[2147483647, 0], [1, 0]]'
expect_contains "... and the idle connection closed" "$out" '"closed": true'
ms=$(printf '%s' "$out" | $PY -c 'import json,sys; print(json.load(sys.stdin)["idle_ms"])')
check "... after drain_timeout (${ms} ms)" test "$ms" -ge 900 -a "$ms" -lt 4000
nv=$(nghttp -nv "$H2/echo" 2>&1)
expect_contains "new connections run on the new listener config" "$nv" "[SETTINGS_MAX_CONCURRENT_STREAMS(0x03):78]"

# --- drain: an open connection gets GOAWAY and the data plane exits ----------------------------
$PY "$FRAMES" "$H2_PORT" idle 10 >"$WORK/drain.json" &
client=$!
sleep 0.5
kill -TERM "$DP_PID"
rc=0
wait "$DP_PID" || rc=$?
wait $client
out=$(cat "$WORK/drain.json")
expect_contains "drain: the open h2 connection gets GOAWAY NO_ERROR" "$out" '"goaway": 0'
expect_contains "... and is closed" "$out" '"closed": true'
expect_eq "data plane exits 0 after the drain" "$rc" 0

finish
