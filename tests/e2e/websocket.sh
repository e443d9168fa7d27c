#!/usr/bin/env bash
# WebSocket through the proxy (HCM upgrade_configs websocket): python3-
# websockets clients and server. Over an HTTP/1.1 upgrade: text, binary and
# a 1 MiB message echoed, clean close; two clients on one URL get their own
# upstream connections to one shared session (the server broadcasts to
# both); a tunnel outlives the route timeout (none for upgrades) and an
# active one its stream idle timeout; a route with the upgrade disabled
# answers 403; an upstream that does not upgrade gives a normal response.
# Over HTTP/2: extended CONNECT (RFC 8441), raw frames (ws_h2.py).
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
if ! $PY -c 'import websockets' 2>/dev/null; then
    echo "python3-websockets is not installed: skipping"
    exit 77
fi

LISTEN_PORT=$(free_port); ADMIN_PORT=$(free_port); WS_PORT=$(free_port); APP_PORT=$(free_port)
$PY "$E2E_DIR/ws_server.py" "$WS_PORT" >"$WORK/ws_server.log" 2>&1 &
PIDS+=($!)
wait_port "$WS_PORT"
start_upstream app "$APP_PORT"

vhosts() {
    printf '            - name: ws\n              domains: ["*"]\n              routes:\n'
    printf '              - match: { prefix: "/nows" }\n'
    printf '                route: { cluster: ws, upgrade_configs: [ { upgrade_type: websocket, enabled: false } ] }\n'
    printf '              - match: { prefix: "/plain/" }\n                route: { cluster: app, prefix_rewrite: "/" }\n'
    printf '              - match: { prefix: "/" }\n                route: { cluster: ws, timeout: 2s }\n'
}
HCM='          codec_type: AUTO
          stream_idle_timeout: 4s
          upgrade_configs: [ { upgrade_type: websocket } ]
          http2_protocol_options: { allow_connect: true }'
hcm_bootstrap "$(vhosts)" "$(cluster_yaml ws "$WS_PORT"; cluster_yaml app "$APP_PORT")" "$HCM" >"$WORK/bootstrap.yaml"
start_dataplane "$WORK/bootstrap.yaml" || { fail "start"; finish; }
U="ws://127.0.0.1:$LISTEN_PORT"
client() { $PY "$E2E_DIR/ws_client.py" "$@" 2>>"$WORK/ws_client.log"; }

# HTTP/1.1 upgrade
out=$(client "$U/echo" echo)
expect_contains "text message echoed" "$out" '"text": "hello"'
expect_contains "binary message echoed" "$out" '"binary_ok": true'
expect_contains "1 MiB message echoed" "$out" '"big_ok": true'
expect_contains "101 carries Upgrade: websocket" "$out" '"upgrade_header": "websocket"'
expect_contains "clean close (1000)" "$out" '"close_code": 1000'

before=$(client "$U/count" count | $PY -c 'import json,sys; print(json.load(sys.stdin)["count"])')
out=$(client "$U/chat" chat)
expect_contains "client a sees both messages of the shared session" "$out" '"a": ["from-a", "from-b"]'
expect_contains "client b sees both messages of the shared session" "$out" '"b": ["from-a", "from-b"]'
expect_contains "two distinct upstream sessions" "$out" '"senders_differ": true'
after=$(client "$U/count" count | $PY -c 'import json,sys; print(json.load(sys.stdin)["count"])')
expect_eq "one upstream connection per client (count $before -> $after)" "$((after - before))" "3"

out=$(client "$U/echo" idle 3)
expect_contains "the tunnel outlives the 2 s route timeout" "$out" '"after": "after"'
out=$($PY - "$U/echo" <<'PYEOF' 2>>"$WORK/ws_client.log"
import asyncio, json, sys, websockets
async def main():
    n = 0
    async with websockets.connect(sys.argv[1], ping_interval=None) as ws:
        for i in range(14):  # 7 s of traffic, twice the stream idle timeout
            await ws.send("m%d" % i)
            if await ws.recv() == "m%d" % i:
                n += 1
            await asyncio.sleep(0.5)
    print(json.dumps({"echoed": n}))
asyncio.run(main())
PYEOF
)
expect_contains "an active tunnel outlives the 4 s stream idle timeout" "$out" '"echoed": 14'

out=$(client "$U/nows" refused)
expect_contains "upgrade disabled on the route: 403" "$out" '"status": 403'
expect_eq "ws_on_non_ws_route counted" "$(stat http.ingress_http.downstream_rq_ws_on_non_ws_route)" "1"

# an upstream that does not upgrade answers normally
out=$(curl -s -i "http://127.0.0.1:$LISTEN_PORT/plain/echo" -H 'Connection: Upgrade' -H 'Upgrade: websocket')
expect_contains "non-101 answer to an upgrade is a normal response" "$out" "HTTP/1.1 200"
expect_contains "the upstream was asked to upgrade" "$out" '["connection", "upgrade"], ["upgrade", "websocket"]'
expect_contains "as a GET" "$out" '"method": "GET"'

# HTTP/2 extended CONNECT
out=$($PY "$E2E_DIR/ws_h2.py" "$LISTEN_PORT" /echo 2>>"$WORK/ws_client.log")
expect_contains "h2: SETTINGS_ENABLE_CONNECT_PROTOCOL" "$out" '"enable_connect_protocol": 1'
expect_contains "h2: CONNECT answered 200" "$out" '"status": 200'
expect_contains "h2: text message echoed" "$out" '"text": "hello-h2"'
expect_contains "h2: 100 kB binary message echoed" "$out" '"binary_ok": true'
expect_contains "h2: WebSocket close echoed" "$out" '"close_code": 1000'
expect_contains "h2: the stream ends cleanly" "$out" '"stream_end": true'

expect_eq "every request to the ws cluster was upgraded (101)" "$(stat cluster.ws.upstream_rq_1xx)" "$(stat cluster.ws.upstream_rq_total)"
finish
