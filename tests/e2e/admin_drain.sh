#!/usr/bin/env bash
# The admin drain controls, as Envoy: POST /healthcheck/fail makes responses on
# drain_type DEFAULT listeners close their connection (HTTP/1.1 connection:
# close, HTTP/2 GOAWAY), MODIFY_ONLY ones not; POST /drain_listeners stops
# the listeners (inboundonly: traffic_direction INBOUND only) while open
# connections go on; ?graceful runs the drain sequence first (/ready
# DRAINING, responses close, new connections still accepted) and stops the
# listeners at its end unless skip_exit; POST /quitquitquit exits 0.
. "$(dirname "$0")/lib.sh"

APP_PORT=$(free_port)
start_upstream app "$APP_PORT"

DT="          drain_timeout: 0.2s"
# boot FILE: ingress (INBOUND) on $IN_PORT, egress (OUTBOUND, MODIFY_ONLY) on $OUT_PORT
boot() {
    {
        printf 'admin:\n  address: { socket_address: { address: 127.0.0.1, port_value: %s } }\n' "$ADMIN_PORT"
        printf 'static_resources:\n  listeners:\n'
        hcm_listener ingress "$IN_PORT" ingress "$DT" "" "" "    traffic_direction: INBOUND"
        hcm_listener egress "$OUT_PORT" egress "$DT" "" "" "    traffic_direction: OUTBOUND
    drain_type: MODIFY_ONLY"
        printf '  clusters:\n'
        cluster_yaml app "$APP_PORT"
    } >"$1"
}

# connection header of a response on PORT ("" when absent)
conn_hdr() {
    curl -s -D - -o /dev/null "http://127.0.0.1:$1/x" | tr -d '\r' | awk -F': ' 'tolower($1) == "connection" { print $2 }'
}
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$@"; }
refused() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
post() { curl -s -XPOST "http://127.0.0.1:$ADMIN_PORT/$1"; }

# --- /healthcheck/fail --------------------------------------------------------
IN_PORT=$(free_port); OUT_PORT=$(free_port); ADMIN_PORT=$(free_port)
boot "$WORK/boot1.yaml"
start_dataplane "$WORK/boot1.yaml" || { fail "start"; finish; }
expect_eq "keep-alive before anything drains" "$(conn_hdr "$IN_PORT")" ""
expect_eq "POST /healthcheck/fail" "$(post healthcheck/fail)" "OK"
expect_eq "DEFAULT listener: connection: close after /healthcheck/fail" "$(conn_hdr "$IN_PORT")" "close"
expect_eq "MODIFY_ONLY listener keeps its connections" "$(conn_hdr "$OUT_PORT")" ""
h2=$(nghttp -nv "http://127.0.0.1:$IN_PORT/x" 2>&1)
expect_contains "HTTP/2: a GOAWAY after /healthcheck/fail" "$h2" "recv GOAWAY frame"
expect_contains "HTTP/2: the request is still answered" "$h2" ":status: 200"
post healthcheck/ok >/dev/null
expect_eq "keep-alive again after /healthcheck/ok" "$(conn_hdr "$IN_PORT")" ""
h2=$(nghttp -nv "http://127.0.0.1:$IN_PORT/x" 2>&1)
expect_not_contains "HTTP/2: no GOAWAY after /healthcheck/ok" "$h2" "recv GOAWAY frame"

# --- /drain_listeners, not graceful --------------------------------------------
expect_eq "skip_exit without graceful is refused" \
    "$(curl -s -XPOST -w ' %{http_code}' "http://127.0.0.1:$ADMIN_PORT/drain_listeners?skip_exit")" \
    "skip_exit requires graceful
 400"
expect_eq "GET /drain_listeners is 405" "$(code "http://127.0.0.1:$ADMIN_PORT/drain_listeners")" "405"
# a keep-alive connection opened before the stop serves a request after it
got=$(python3 - "$IN_PORT" "$ADMIN_PORT" <<'PY'
import socket, sys, urllib.request
port, admin = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(3)
def ask():
    s.sendall(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += s.recv(4096)
    head, _, body = buf.partition(b"\r\n\r\n")
    n = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
    while len(body) < n:
        body += s.recv(4096)
    return head.split(b"\r\n")[0].decode()
first = ask()
r = urllib.request.urlopen(urllib.request.Request("http://127.0.0.1:%d/drain_listeners?inboundonly" % admin, method="POST"))
print(first, "|", r.read().decode().strip(), "|", ask())
PY
)
expect_eq "inboundonly stop: OK, the open connection goes on" "$got" "HTTP/1.1 200 OK | OK | HTTP/1.1 200 OK"
check "the INBOUND listener accepts no connection" refused "$IN_PORT"
expect_eq "the OUTBOUND listener still serves" "$(code "http://127.0.0.1:$OUT_PORT/x")" "200"
expect_eq "/ready stays LIVE (no drain sequence)" "$(curl -s "http://127.0.0.1:$ADMIN_PORT/ready")" "LIVE"
expect_eq "POST /drain_listeners" "$(post drain_listeners)" "OK"
check "then no listener accepts" refused "$OUT_PORT"
kill -TERM "$DP_PID"; rc=0; wait "$DP_PID" || rc=$?
expect_eq "exits 0 on SIGTERM with stopped listeners" "$rc" "0"

# --- graceful, inboundonly, skip_exit --------------------------------------------
IN_PORT=$(free_port); OUT_PORT=$(free_port); ADMIN_PORT=$(free_port)
boot "$WORK/boot2.yaml"
start_dataplane "$WORK/boot2.yaml" --drain-time-s 0.6 --drain-strategy immediate || { fail "start 2"; finish; }
expect_contains "/server_info drain_strategy" "$(curl -s "http://127.0.0.1:$ADMIN_PORT/server_info")" '"drain_strategy": "Immediate"'
expect_eq "POST /drain_listeners?inboundonly&graceful&skip_exit" "$(post 'drain_listeners?inboundonly&graceful&skip_exit')" "OK"
expect_eq "/ready is DRAINING during the drain sequence" \
    "$(curl -s -w ' %{http_code}' "http://127.0.0.1:$ADMIN_PORT/ready" | tr -d '\n')" "DRAINING 503"
expect_eq "INBOUND: connection: close while draining" "$(conn_hdr "$IN_PORT")" "close"
expect_eq "OUTBOUND: not drained (inboundonly)" "$(conn_hdr "$OUT_PORT")" ""
sleep 0.9
expect_eq "skip_exit: the INBOUND listener still accepts after the drain time" "$(code "http://127.0.0.1:$IN_PORT/x")" "200"
kill -TERM "$DP_PID"; wait "$DP_PID"

# --- graceful, then the listeners stop; /quitquitquit -----------------------------
IN_PORT=$(free_port); OUT_PORT=$(free_port); ADMIN_PORT=$(free_port)
boot "$WORK/boot3.yaml"
start_dataplane "$WORK/boot3.yaml" --drain-time-s 1.5 || { fail "start 3"; finish; }
expect_eq "POST /drain_listeners?graceful" "$(post 'drain_listeners?graceful')" "OK"
expect_eq "a second graceful call while draining is OK too" "$(post 'drain_listeners?graceful')" "OK"
expect_eq "new connections are still accepted while draining" "$(code "http://127.0.0.1:$OUT_PORT/x")" "200"
check "at the end of the drain time no listener accepts" \
    wait_eq yes 5000 bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$IN_PORT) 2>/dev/null && ! (exec 3<>/dev/tcp/127.0.0.1/$OUT_PORT) 2>/dev/null && echo yes"
expect_eq "GET /quitquitquit is 405" "$(code "http://127.0.0.1:$ADMIN_PORT/quitquitquit")" "405"
expect_eq "POST /quitquitquit" "$(post quitquitquit)" "OK"
check "the process is gone within 3 s" wait_eq gone 3000 bash -c "kill -0 $DP_PID 2>/dev/null || echo gone"
rc=0; wait "$DP_PID" || rc=$?
expect_eq "and exited 0" "$rc" "0"
finish
