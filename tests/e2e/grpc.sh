#!/usr/bin/env bash
# gRPC through the proxy: grpcio clients (h2c prior knowledge) -> HTTP/2
# listener -> router -> HTTP/2 cluster -> grpcio server. Unary, server
# streaming, client streaming, a bidirectional stream held open for more
# than 60 s (route timeout 0s: none), grpc-status, messages and trailing
# metadata intact, and the proxy's own gRPC answers (trailers-only, HTTP
# 200 + grpc-status) for a path without a route (UNIMPLEMENTED) and a
# route whose cluster does not exist (UNAVAILABLE).
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
if ! $PY -c 'import grpc' 2>/dev/null; then
    echo "python3-grpcio is not installed: skipping"
    exit 77
fi

LISTEN_PORT=$(free_port); ADMIN_PORT=$(free_port); GRPC_PORT=$(free_port)
$PY "$E2E_DIR/grpc_server.py" "$GRPC_PORT" >"$WORK/grpc_server.log" 2>&1 &
PIDS+=($!)
wait_port "$GRPC_PORT"

vhosts() {
    printf '            - name: grpc\n              domains: ["*"]\n              routes:\n'
    printf '              - match: { prefix: "/test.Echo/" }\n                route: { cluster: grpc, timeout: 0s }\n'
    printf '              - match: { prefix: "/nocluster.Svc/" }\n                route: { cluster_header: x-no-such-header }\n'
}
clusters() {
    cat <<YAML
  - name: grpc
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config: { http2_protocol_options: {} }
    load_assignment:
      cluster_name: grpc
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: $GRPC_PORT } } }
YAML
}
hcm_bootstrap "$(vhosts)" "$(clusters)" "          codec_type: HTTP2" >"$WORK/bootstrap.yaml"
start_dataplane "$WORK/bootstrap.yaml" || { fail "start"; finish; }
ADDR="127.0.0.1:$LISTEN_PORT"
call() { $PY "$E2E_DIR/grpc_client.py" "$ADDR" "$@" 2>>"$WORK/grpc_client.log"; }

# the long stream runs in the background while the short calls go on
call bidi_long 63 >"$WORK/bidi.json" &
BIDI=$!

out=$(call unary)
expect_contains "unary: ok" "$out" '"ok": true'
expect_contains "unary: 5000-byte message back intact" "$out" '"len": 5000, "ok": true, "same": true'
expect_contains "unary: grpc-status OK" "$out" '"code": "OK"'
expect_contains "unary: trailing metadata intact" "$out" '"x-echo-trailer": "5000"'

out=$(call server_stream)
expect_contains "server streaming: 50 messages in order" "$out" '"first": "m-0", "last": "m-49", "n": 50'
expect_contains "server streaming: grpc-status OK" "$out" '"code": "OK"'

out=$(call client_stream)
expect_contains "client streaming: every message arrived" "$out" '"head": "a|bb|", "ok": true, "resp_len": 30005'

out=$(call fail)
expect_contains "error status passes through" "$out" '"code": "NOT_FOUND"'
expect_contains "error message passes through" "$out" '"details": "no such thing"'
expect_contains "error trailing metadata passes through" "$out" '"x-why": "missing"'

out=$(call unknown_route)
expect_contains "no route: the proxy answers UNIMPLEMENTED" "$out" '"code": "UNIMPLEMENTED"'
expect_contains "no route: its message" "$out" '"details": "route not found"'
out=$(call unknown_cluster)
expect_contains "no cluster: the proxy answers UNAVAILABLE" "$out" '"code": "UNAVAILABLE"'

wait "$BIDI"
out=$(cat "$WORK/bidi.json")
expect_contains "bidi stream stays open for more than 60 s" "$out" '"ok": true'
expect_contains "bidi: every message echoed as it went" "$out" '"all_echoed": true'
expect_contains "bidi: the last message after a minute" "$out" '"last": "echo:last"'
expect_contains "bidi: clean end" "$out" '"code": "OK"'
secs=$(printf '%s' "$out" | $PY -c 'import json,sys; print(int(json.load(sys.stdin).get("seconds", 0)))')
check "bidi stream lived ${secs}s (> 60)" test "$secs" -gt 60

expect_eq "every upstream connection is HTTP/2" "$(stat cluster.grpc.upstream_cx_total)" "$(stat cluster.grpc.upstream_cx_http2_total)"
expect_eq "no upstream request left active" "$(stat cluster.grpc.upstream_rq_active)" "0"
finish
