#!/usr/bin/env bash
# The admin endpoint and access log, on the demo bootstrap (ports moved):
# /ready and /healthcheck/fail|ok, /stats (plain, filter, json, prometheus),
# /listeners, /clusters, /config_dump, /server_info, and the access log line.
. "$(dirname "$0")/lib.sh"

LISTEN_PORT=$(free_port); ADMIN_PORT=$(free_port); APP_PORT=$(free_port)
start_upstream app "$APP_PORT"
sed -e "s/port_value: 10000/port_value: $LISTEN_PORT/; s/port_value: 9901/port_value: $ADMIN_PORT/; s/port_value: 18080/port_value: $APP_PORT/" \
    "$DP_SRC/examples/bootstrap/demo.yaml" >"$WORK/bootstrap.yaml"
start_dataplane "$WORK/bootstrap.yaml" || { fail "start"; finish; }
A="http://127.0.0.1:$ADMIN_PORT"
P="http://127.0.0.1:$LISTEN_PORT"

expect_eq "/ready is LIVE" "$(curl -s -w '%{http_code}' "$A/ready" | tr '\n' ' ')" "LIVE 200"
expect_eq "POST /healthcheck/fail" "$(curl -s -XPOST "$A/healthcheck/fail")" "OK"
expect_eq "/ready is 503 after healthcheck/fail" "$(curl -s -o /dev/null -w '%{http_code}' "$A/ready")" "503"
expect_eq "GET on a POST endpoint is 405" "$(curl -s -o /dev/null -w '%{http_code}' "$A/healthcheck/ok")" "405"
curl -s -XPOST "$A/healthcheck/ok" >/dev/null
expect_eq "/ready is 200 after healthcheck/ok" "$(curl -s -o /dev/null -w '%{http_code}' "$A/ready")" "200"
expect_eq "unknown admin path is 404" "$(curl -s -o /dev/null -w '%{http_code}' "$A/nope")" "404"

curl -s -H 'Host: direct.localhost' -A smoke/1 "$P/x?y=1" >/dev/null
curl -s -H 'Host: app.localhost' "$P/hello" >/dev/null
sleep 0.2
expect_eq "/stats filter" "$(curl -s "$A/stats?filter=^http\.ingress_http\.downstream_rq_2xx$")" "http.ingress_http.downstream_rq_2xx: 2"
check "server.live in /stats" bash -c "curl -s '$A/stats' | grep -qx 'server.live: 1'"
expect_eq "cluster upstream_rq_total" "$(stat cluster.app.upstream_rq_total)" "1"
check "/stats?format=json has server.live" bash -c "curl -s '$A/stats?format=json' | python3 -c 'import json,sys; d=json.load(sys.stdin); assert any(s[\"name\"]==\"server.live\" and s[\"value\"]==1 for s in d[\"stats\"])'"
prom=$(curl -s "$A/stats/prometheus")
expect_contains "prometheus http family" "$prom" 'envoy_http_downstream_rq_xx{envoy_response_code_class="2",envoy_http_conn_manager_prefix="ingress_http"} 2'
expect_contains "prometheus TYPE line" "$prom" '# TYPE envoy_server_live gauge'
expect_contains "prometheus listener label" "$prom" "envoy_listener_downstream_cx_total{envoy_listener_address=\"127.0.0.1_$LISTEN_PORT\"}"
expect_eq "/listeners" "$(curl -s "$A/listeners")" "ingress::127.0.0.1:$LISTEN_PORT"
clusters=$(curl -s "$A/clusters")
expect_contains "/clusters host health" "$clusters" "app::127.0.0.1:$APP_PORT::health_flags::healthy"
expect_contains "/clusters circuit breaker" "$clusters" "app::default_priority::max_connections::1024"
dump=$(curl -s "$A/config_dump")
types=$(printf '%s' "$dump" | python3 -c 'import json,sys; print(" ".join(c["@type"].rsplit(".",1)[1] for c in json.load(sys.stdin)["configs"]))')
expect_eq "/config_dump sections" "$types" "BootstrapConfigDump ClustersConfigDump ListenersConfigDump RoutesConfigDump SecretsConfigDump"
node=$(printf '%s' "$dump" | python3 -c 'import json,sys; print(json.load(sys.stdin)["configs"][0]["bootstrap"]["node"]["id"])')
expect_eq "/config_dump bootstrap node" "$node" "demo-node"
lt=$(printf '%s' "$dump" | python3 -c 'import json,sys; print(json.load(sys.stdin)["configs"][2]["static_listeners"][0]["listener"]["@type"])')
expect_eq "/config_dump static listener" "$lt" "type.googleapis.com/envoy.config.listener.v3.Listener"
si=$(curl -s "$A/server_info")
expect_contains "/server_info state" "$si" '"state": "LIVE"'
expect_contains "/server_info node" "$si" '"id": "demo-node"'

line=$(grep -m1 'smoke/1' "$WORK/dataplane.log")
check "access log default format: $line" bash -c "printf '%s' '$line' | grep -Eq '^\[[0-9T:.-]+Z\] \"GET /x\?y=1 HTTP/1.1\" 200 - 0 26 [0-9]+ - \"-\" \"smoke/1\" \"[0-9a-f-]{36}\" \"direct.localhost\" \"-\"$'"

# absolute-form target: its authority wins over Host
resp=$(python3 "$E2E_DIR/rawhttp.py" "$LISTEN_PORT" 'GET http://direct.localhost/abs HTTP/1.1\r\nHost: app.localhost\r\nConnection: close\r\n\r\n')
expect_contains "absolute-form target routes by its authority" "$resp" "hello from the data plane"
# Expect: 100-continue is answered by the proxy before the body
resp=$(python3 "$E2E_DIR/rawhttp.py" "$LISTEN_PORT" 'POST /echo HTTP/1.1\r\nHost: app.localhost\r\nExpect: 100-continue\r\nContent-Length: 4\r\nConnection: close\r\n\r\n' --timeout 1)
expect_contains "100 Continue sent" "$resp" "HTTP/1.1 100 Continue"

# /logging changes the running level: debug lines appear, then stop again
expect_eq "POST /logging?level=debug" "$(curl -s -XPOST "$A/logging?level=debug")" "active loggers:
  dataplane: debug"
before=$(grep -c '\[debug\]' "$WORK/dataplane.log")
curl -s -H 'Host: app.localhost' "$P/debugged" >/dev/null
check "debug lines logged at level debug" test "$(grep -c '\[debug\]' "$WORK/dataplane.log")" -gt "$before"
curl -s -XPOST "$A/logging?level=info" >/dev/null
before=$(grep -c '\[debug\]' "$WORK/dataplane.log")
curl -s -H 'Host: app.localhost' "$P/quiet" >/dev/null
expect_eq "none at level info" "$(grep -c '\[debug\]' "$WORK/dataplane.log")" "$before"
check "/memory is Envoy's Memory" bash -c "curl -s '$A/memory' | python3 -c 'import json,sys; d=json.load(sys.stdin); assert int(d[\"allocated\"]) > 0 and int(d[\"total_physical_bytes\"]) > 0'"
check "a counter is not 0 before /reset_counters" test "$(stat cluster.app.upstream_rq_total)" -gt 0
expect_eq "POST /reset_counters" "$(curl -s -XPOST "$A/reset_counters")" "OK"
expect_eq "counters read 0 after it" "$(stat cluster.app.upstream_rq_total)" "0"
finish
