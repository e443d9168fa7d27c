#!/usr/bin/env bash
# Hostile HTTP/2 clients against the real binary (frames made by hand in
# h2frames.py): rapid reset (CVE-2023-44487), CONTINUATION floods, SETTINGS
# and PING floods at a client that never reads, empty DATA and HEADERS
# frames, PRIORITY and WINDOW_UPDATE floods, an HPACK bomb, a header block
# that never ends (request_headers_timeout), request trailers over the
# limit, and a request body pushed at an upstream that never reads. Each
# flood is answered by GOAWAY ENHANCE_YOUR_CALM and a closed connection (the
# bomb by a 431), with the data plane's memory bounded and a normal request
# served right after.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
FRAMES="$E2E_DIR/h2frames.py"
LISTEN_PORT=$(free_port); ADMIN_PORT=$(free_port); APP_PORT=$(free_port); HOLE_PORT=$(free_port)
start_upstream app "$APP_PORT"
# an upstream that accepts and never reads
$PY -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16); held = []
while True: held.append(s.accept()[0])' "$HOLE_PORT" >"$WORK/hole.log" 2>&1 &
PIDS+=($!)
wait_port "$HOLE_PORT"

vhosts='            - name: app
              domains: ["*"]
              routes:
              - match: { prefix: "/hole" }
                route: { cluster: hole, timeout: 60s }
              - match: { prefix: "/" }
                route: { cluster: app }'
hcm_bootstrap "$vhosts" "$(cluster_yaml app "$APP_PORT")
$(cluster_yaml hole "$HOLE_PORT")" "          codec_type: HTTP2
          request_headers_timeout: 1s
          stream_idle_timeout: 2s" >"$WORK/bootstrap.yaml"
# ASAN's quarantine of freed memory would count in RSS: keep it small
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=4"
start_dataplane "$WORK/bootstrap.yaml" || { fail "start"; finish; }
P="http://127.0.0.1:$LISTEN_PORT"
rss0=$(rss_kb "$DP_PID")
errors=0

field() { # field JSON KEY: a top-level field of h2frames.py's summary
    printf '%s' "$1" | $PY -c 'import json, sys; print(json.dumps(json.load(sys.stdin)[sys.argv[1]]))' "$2"
}
still_serving() {
    local out
    out=$(curl -s --http2-prior-knowledge -w '%{http_code}' -o /dev/null "$P/after")
    expect_eq "$1: a normal request is served afterwards" "$out" 200
}
# flood NAME DESC ARGS...: the server answers GOAWAY ENHANCE_YOUR_CALM (11) and closes
flood() {
    local name=$1 desc=$2 out; shift 2
    out=$(timeout 60 $PY "$FRAMES" "$LISTEN_PORT" "$@")
    expect_eq "$name: GOAWAY ENHANCE_YOUR_CALM ($desc)" "$(field "$out" goaway)" 11
    expect_eq "$name: connection closed" "$(field "$out" closed)" true
    errors=$((errors + 1))
    still_serving "$name"
    LAST="$out"
}

flood "rapid reset" "300 streams opened and reset at once" rapid_reset 300
rx=$(stat http.ingress_http.downstream_rq_rx_reset)
check "rapid reset: stopped after ~100 client resets (downstream_rq_rx_reset $rx)" test "$rx" -ge 100 -a "$rx" -le 160

flood "CONTINUATION flood" "10000 CONTINUATION frames of 1 KB" continuation_flood 10000 1000
flood "CONTINUATION flood (large frames)" "over the header block limit" continuation_flood 10000 16000
flood "CONTINUATION flood (empty frames)" "empty CONTINUATION frames" continuation_flood 10000 0
flood "empty DATA frames" "max_consecutive_inbound_frames_with_empty_payload 1" empty_data 10
flood "empty HEADERS frames" "empty header blocks without END_STREAM" empty_headers 10
flood "PRIORITY flood" "max_inbound_priority_frames_per_stream 100" priority_flood 1000
flood "WINDOW_UPDATE flood" "no DATA sent to justify them" window_update_flood 1000
flood "SETTINGS flood" "ACKs queued for a client that never reads" settings_flood 3000000
flood "PING flood" "ACKs queued for a client that never reads" ping_flood 3000000

out=$(timeout 60 $PY "$FRAMES" "$LISTEN_PORT" hpack_bomb 12000)
expect_contains "HPACK bomb (12 KB decoding to 48 MB of headers): 431" "$out" '"1": {"status": 431'
expect_contains "HPACK bomb: the same connection serves the next request" "$out" '"3": {"status": 200'
expect_eq "HPACK bomb: no GOAWAY" "$(field "$out" goaway)" null
still_serving "HPACK bomb"

out=$(timeout 60 $PY "$FRAMES" "$LISTEN_PORT" slow_headers 5)
expect_eq "header block never ended: GOAWAY" "$(field "$out" goaway)" 0
expect_eq "header block never ended: connection closed" "$(field "$out" closed)" true
ms=$(field "$out" ms)
check "... at request_headers_timeout (${ms} ms)" test "$ms" -ge 800 -a "$ms" -lt 3000
expect_eq "downstream_rq_header_timeout counted" "$(stat http.ingress_http.downstream_rq_header_timeout)" 1
still_serving "slow header block"

out=$(timeout 60 $PY "$FRAMES" "$LISTEN_PORT" big_trailers 1.5)
expect_contains "request trailers over the limit: that stream is reset" "$out" '"1": {"status": null, "body_len": 0, "rst": 2'
expect_contains "... and the connection outlives request_headers_timeout" "$out" '"3": {"status": 200'
expect_eq "... without GOAWAY" "$(field "$out" goaway)" null

out=$(timeout 60 $PY "$FRAMES" "$LISTEN_PORT" upload_stall 268435456)
sent=$(field "$out" sent)
check "upload to an upstream that never reads: the server stops taking it (${sent} bytes)" \
    test "$sent" -lt 67108864
still_serving "stalled upload"
# the client is gone but the server stopped reading its socket: the stream's
# idle timeout ends the stream, which lets the connection see the EOF
for i in $(seq 1 60); do
    [ "$(stat http.ingress_http.downstream_cx_active)" = 0 ] && break
    sleep 0.1
done
expect_eq "stalled upload: stream_idle_timeout frees the connection" "$(stat http.ingress_http.downstream_cx_active)" 0
expect_eq "... counted in downstream_rq_idle_timeout" "$(stat http.ingress_http.downstream_rq_idle_timeout)" 1

peak=$(awk '/VmHWM/ { print $2 }' "/proc/$DP_PID/status")
check "memory stays bounded through all of it (peak RSS +$((peak - rss0)) KiB)" test $((peak - rss0)) -lt 65536
check "downstream_cx_protocol_error counts each connection closed for abuse" \
    test "$(stat http.ingress_http.downstream_cx_protocol_error)" -ge "$errors"

finish
