#!/usr/bin/env bash
# HTTP/1.1 reverse proxy through the real binary with real upstream
# processes and curl: routing by Host, rewrites, direct responses,
# redirects, header handling, keep-alive reuse, pipelining, HTTP/1.0,
# local replies as JSON (404, 503 upstream down, 504 upstream silent),
# and no internal address in any reply.
. "$(dirname "$0")/lib.sh"

LISTEN_PORT=$(free_port); ADMIN_PORT=$(free_port)
APP_PORT=$(free_port); DEAD_PORT=$(free_port)
start_upstream app "$APP_PORT"

cat >"$WORK/bootstrap.yaml" <<YAML
node: { id: e2e-node, cluster: e2e }
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: $ADMIN_PORT } }
static_resources:
  listeners:
  - name: ingress
    address: { socket_address: { address: 127.0.0.1, port_value: $LISTEN_PORT } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress_http
          use_remote_address: true
          strip_any_host_port: true
          http_protocol_options: { accept_http_10: true }
          http_filters:
          - name: envoy.filters.http.router
            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }
          route_config:
            name: local
            response_headers_to_add:
            - header: { key: x-global, value: "1" }
            virtual_hosts:
            - name: app
              domains: ["app.test"]
              request_headers_to_add:
              - header: { key: x-vhost, value: app }
              routes:
              - match: { prefix: "/api/" }
                route: { cluster: app, prefix_rewrite: "/echo/" }
              - match: { path: "/slow" }
                route: { cluster: app, timeout: 1s }
              - match: { prefix: "/" }
                route: { cluster: app, host_rewrite_literal: "internal.app" }
            - name: down
              domains: ["down.test"]
              routes:
              - match: { prefix: "/" }
                route: { cluster: dead }
            - name: direct
              domains: ["direct.test"]
              routes:
              - match: { prefix: "/" }
                direct_response: { status: 200, body: { inline_string: "direct hello\n" } }
            - name: redirect
              domains: ["old.test"]
              routes:
              - match: { prefix: "/" }
                redirect: { host_redirect: "new.test", response_code: PERMANENT_REDIRECT }
            - name: nocluster
              domains: ["nocluster.test"]
              routes:
              - match: { prefix: "/" }
                route: { cluster: does-not-exist }
  clusters:
  - name: app
    connect_timeout: 1s
    type: STATIC
    load_assignment:
      cluster_name: app
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: $APP_PORT } } }
  - name: dead
    connect_timeout: 1s
    type: STATIC
    load_assignment:
      cluster_name: dead
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: $DEAD_PORT } } }
YAML

start_dataplane "$WORK/bootstrap.yaml" || { fail "start"; finish; }
P="http://127.0.0.1:$LISTEN_PORT"

out=$(curl -s -H 'Host: app.test' "$P/hello")
expect_eq "routes by Host to the upstream" "$out" "hello from app"

out=$(curl -s -H 'Host: APP.test:1234' "$P/hello")
expect_eq "Host match is case-insensitive and ignores the port (strip_any_host_port)" "$out" "hello from app"

hdrs=$(curl -s -D - -o /dev/null -H 'Host: app.test' "$P/hello")
expect_contains "response_headers_to_add applied" "$hdrs" "x-global: 1"
expect_contains "server header is envoy's default" "$(echo "$hdrs" | tr -d '\r')" "server: envoy"

echo_json=$(curl -s -H 'Host: app.test' -H 'Connection: x-secret' -H 'x-secret: 1' -H 'Keep-Alive: 5' "$P/api/one?q=1")
expect_contains "prefix_rewrite /api/ -> /echo/" "$echo_json" '"path": "/echo/one?q=1"'
expect_contains "X-Forwarded-For carries the client address" "$echo_json" '["x-forwarded-for", "127.0.0.1"]'
expect_contains "x-forwarded-proto set" "$echo_json" '["x-forwarded-proto", "http"]'
expect_contains "x-request-id generated" "$echo_json" '"x-request-id"'
expect_contains "vhost request_headers_to_add" "$echo_json" '["x-vhost", "app"]'
expect_not_contains "headers named in Connection are removed" "$echo_json" 'x-secret'
expect_not_contains "keep-alive header removed" "$echo_json" 'keep-alive'

echo_json=$(curl -s -H 'Host: app.test' "$P/echo")
expect_contains "host_rewrite_literal" "$echo_json" '["host", "internal.app"]'

out=$(curl -s -w '%{http_code}' -H 'Host: direct.test' "$P/x")
expect_eq "direct_response" "$out" "direct hello
200"

hdrs=$(curl -s -D - -o /dev/null -H 'Host: old.test' "$P/a/b?c=d" | tr -d '\r')
expect_contains "redirect status" "$hdrs" "HTTP/1.1 308"
expect_contains "redirect location" "$hdrs" "location: http://new.test/a/b?c=d"

body=$(curl -s -w '\n%{http_code}' -H 'Host: nowhere.test' "$P/")
expect_contains "no route -> 404" "$body" "404"
expect_contains "404 body is JSON" "$body" '"status": 404'

body=$(curl -s -w '\n%{http_code} %{content_type}' -H 'Host: down.test' "$P/")
expect_contains "upstream down -> 503" "$body" "503 application/json"
expect_contains "503 JSON error" "$body" '"error": "upstream connect error'
expect_not_contains "no internal port in 503" "$body" "$DEAD_PORT"
expect_not_contains "no internal address in 503" "$body" "127.0.0.1"

body=$(curl -s -w '\n%{http_code}' -H 'Host: nocluster.test' "$P/")
expect_contains "unknown cluster -> 503" "$body" "503"

start=$(date +%s%N)
body=$(curl -s -w '\n%{http_code}' -H 'Host: app.test' "$P/slow?ms=3000")
el=$(( ($(date +%s%N) - start) / 1000000 ))
expect_contains "upstream silent -> 504" "$body" "504"
expect_contains "504 says upstream request timeout" "$body" '"error": "upstream request timeout"'
check "504 after the route timeout (1 s), took ${el} ms" test "$el" -ge 900 -a "$el" -lt 2900

# keep-alive reuse: 50 requests over one client connection, upstream connections stay few
before=$(curl -s "http://127.0.0.1:$APP_PORT/conns")
urls=(); for i in $(seq 1 50); do urls+=("$P/hello"); done
n200=$(curl -s -H 'Host: app.test' -o /dev/null -w '%{http_code}\n' "${urls[@]}" | grep -c 200)
expect_eq "50 keep-alive requests all 200" "$n200" "50"
after=$(curl -s "http://127.0.0.1:$APP_PORT/conns")
check "upstream connections reused ($((after - before)) new for 50 requests)" test $((after - before)) -le 3
cx=$(stat cluster.app.upstream_cx_total)
rq=$(stat cluster.app.upstream_rq_total)
check "stats: upstream_rq_total ($rq) > upstream_cx_total ($cx)" test "$rq" -gt "$cx"

# pipelining: three requests in one write, three responses in order
resp=$(python3 "$E2E_DIR/rawhttp.py" "$LISTEN_PORT" 'GET /echo?n=1 HTTP/1.1\r\nHost: app.test\r\n\r\nGET /echo?n=2 HTTP/1.1\r\nHost: app.test\r\n\r\nGET /echo?n=3 HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n')
order=$(printf '%s' "$resp" | grep -o '/echo?n=[0-9]' | tr '\n' ' ')
expect_eq "pipelined responses in order" "$order" "/echo?n=1 /echo?n=2 /echo?n=3 "

# HTTP/1.0 with and without keep-alive
resp=$(python3 "$E2E_DIR/rawhttp.py" "$LISTEN_PORT" 'GET /hello HTTP/1.0\r\nHost: app.test\r\n\r\n')
expect_contains "HTTP/1.0 answered as 1.0" "$resp" "HTTP/1.0 200"
expect_contains "HTTP/1.0 body" "$resp" "hello from app"

# local reply for a malformed request, connection closed, nothing forwarded
lines_before=$(wc -l <"$WORK/app.requests")
resp=$(python3 "$E2E_DIR/rawhttp.py" "$LISTEN_PORT" 'POST /echo HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n')
expect_contains "CL+TE -> 400" "$resp" "HTTP/1.1 400"
expect_contains "400 JSON body" "$resp" '"status": 400'
expect_contains "400 closes the connection" "$(echo "$resp" | tr -d '\r')" "connection: close"
lines_after=$(wc -l <"$WORK/app.requests")
expect_eq "smuggling vector never reached the upstream" "$lines_after" "$lines_before"

# stats
expect_eq "downstream_rq_2xx counted" "$( [ "$(stat http.ingress_http.downstream_rq_2xx)" -ge 55 ] && echo yes)" "yes"
check "downstream_rq_5xx counted" test "$(stat http.ingress_http.downstream_rq_5xx)" -ge 2
check "downstream_rq_4xx counted" test "$(stat http.ingress_http.downstream_rq_4xx)" -ge 2

finish
