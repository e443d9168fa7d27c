#!/usr/bin/env bash
# Upstream health: an active HTTP health check (250 ms interval, unhealthy
# after 2 failures) over two real upstreams: a killed upstream is marked
# /failed_active_hc in /clusters and gets no more requests, and comes back
# once restarted; outlier detection ejects an upstream that answers 503 to
# everything (consecutive_5xx), with Envoy's stats.
. "$(dirname "$0")/lib.sh"

LISTEN_PORT=$(free_port); ADMIN_PORT=$(free_port)
U1=$(free_port); U2=$(free_port); U3=$(free_port); BAD=$(free_port)
start_upstream one "$U1"
U1_PID=$!
start_upstream two "$U2"
start_upstream three "$U3"

# an upstream that fails everything
cat >"$WORK/bad.py" <<'PY'
import socketserver, sys
class H(socketserver.StreamRequestHandler):
    def handle(self):
        while True:
            line = self.rfile.readline()
            if not line:
                return
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            self.wfile.write(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 3\r\n\r\nbad")
socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
python3 "$WORK/bad.py" "$BAD" >"$WORK/bad.log" 2>&1 &
PIDS+=($!)
wait_port "$BAD"

eps() { for p in "$@"; do echo "        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: $p } } }"; done; }
cat >"$WORK/vhosts.yaml" <<YAML
            - name: hc
              domains: ["hc.test"]
              routes: [ { match: { prefix: "/" }, route: { cluster: hc } } ]
            - name: od
              domains: ["od.test"]
              routes: [ { match: { prefix: "/" }, route: { cluster: od } } ]
YAML
cat >"$WORK/clusters.yaml" <<YAML
  - name: hc
    connect_timeout: 0.25s
    load_assignment:
      cluster_name: hc
      endpoints:
      - lb_endpoints:
$(eps "$U1" "$U2")
    health_checks:
    - timeout: 0.2s
      interval: 0.25s
      no_traffic_interval: 0.25s
      unhealthy_threshold: 2
      healthy_threshold: 1
      http_health_check: { path: /healthz }
  - name: od
    load_assignment:
      cluster_name: od
      endpoints:
      - lb_endpoints:
$(eps "$U3" "$BAD")
    outlier_detection:
      consecutive_5xx: 3
      interval: 0.5s
      base_ejection_time: 30s
      max_ejection_percent: 50
YAML
hcm_bootstrap "$(cat "$WORK/vhosts.yaml")" "$(cat "$WORK/clusters.yaml")" >"$WORK/bootstrap.yaml"
start_dataplane "$WORK/bootstrap.yaml" || { fail "data plane starts"; finish; }

flags() { # flags CLUSTER PORT
    curl -fs "http://127.0.0.1:$ADMIN_PORT/clusters" | awk -F'::' -v c="$1" -v a="127.0.0.1:$2" \
        '$1 == c && $2 == a && $3 == "health_flags" { print $4 }'
}
wait_flags() { # wait_flags CLUSTER PORT WANT SECONDS
    local i n=$(( $4 * 20 ))
    for i in $(seq 1 "$n"); do
        [ "$(flags "$1" "$2")" = "$3" ] && return 0
        sleep 0.05
    done
    return 1
}
names() { # names HOST N: the upstream names that answered N requests, sorted and counted
    local i
    for i in $(seq 1 "$2"); do
        curl -s -H "host: $1" "http://127.0.0.1:$LISTEN_PORT/" | awk '{ print $3 }'
    done | sort | uniq -c | awk '{ print $2 "=" $1 }' | tr '\n' ' '
}

# --- active health checks ------------------------------------------------------
check "both endpoints pass their first check" wait_flags hc "$U1" healthy 5
check "  the second too" wait_flags hc "$U2" healthy 5
got=$(curl -s "http://127.0.0.1:$ADMIN_PORT/clusters?format=json")
expect_not_contains "JSON: no failed_active_health_check while healthy" "$got" failed_active_health_check
req=$(grep -m1 healthz "$WORK/one.requests" || true)
expect_contains "the check is GET /healthz" "$req" '/healthz'
expect_contains "  with user-agent Envoy/HC" "$req" 'Envoy/HC'
expect_contains "  and host = the cluster name" "$req" '"hc"'
both=$(names hc.test 10)
expect_contains "requests go to one" "$both" "one="
expect_contains "  and two" "$both" "two="

kill "$U1_PID"; wait "$U1_PID" 2>/dev/null
t0=$(date +%s%N)
check "a killed upstream is marked unhealthy within interval * threshold (+ slack)" \
    wait_flags hc "$U1" /failed_active_hc 2
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
check "  in ${ms} ms (< 1500)" [ "$ms" -lt 1500 ]
only=$(names hc.test 10)
expect_eq "then every request goes to the other" "$only" "two=10 "
got=$(curl -s "http://127.0.0.1:$ADMIN_PORT/clusters?format=json")
expect_contains "JSON: failed_active_health_check" "$(printf '%s' "$got" | tr -d ' \n')" '"failed_active_health_check":true'
f=$(stat cluster.hc.health_check.failure); check "health_check.failure counted ($f)" [ "${f:-0}" -ge 2 ]
f=$(stat cluster.hc.health_check.network_failure); check "health_check.network_failure counted ($f)" [ "${f:-0}" -ge 2 ]
expect_eq "health_check.healthy gauge" "$(stat cluster.hc.health_check.healthy)" "1"
expect_eq "membership_healthy" "$(stat cluster.hc.membership_healthy)" "1"

start_upstream one "$U1"
check "restarted: healthy again" wait_flags hc "$U1" healthy 3
back=$(names hc.test 10)
expect_contains "requests reach it again" "$back" "one="
a=$(stat cluster.hc.health_check.attempt); s=$(stat cluster.hc.health_check.success)
check "health_check.attempt ($a) >= success ($s) > 0" [ "${s:-0}" -gt 0 ] && [ "${a:-0}" -ge "${s:-0}" ]

# --- outlier detection ------------------------------------------------------------
codes=""
for i in $(seq 1 12); do
    codes="$codes$(curl -s -o /dev/null -w '%{http_code}' -H 'host: od.test' "http://127.0.0.1:$LISTEN_PORT/") "
done
expect_contains "the bad upstream answered 503 first" "$codes" "503"
check "it is ejected (/failed_outlier_check)" wait_flags od "$BAD" /failed_outlier_check 3
expect_eq "ejections_enforced_consecutive_5xx" "$(stat cluster.od.outlier_detection.ejections_enforced_consecutive_5xx)" "1"
expect_eq "ejections_detected_consecutive_5xx" "$(stat cluster.od.outlier_detection.ejections_detected_consecutive_5xx)" "1"
expect_eq "ejections_active" "$(stat cluster.od.outlier_detection.ejections_active)" "1"
expect_eq "ejections_enforced_total" "$(stat cluster.od.outlier_detection.ejections_enforced_total)" "1"
codes=""
for i in $(seq 1 10); do
    codes="$codes$(curl -s -o /dev/null -w '%{http_code}' -H 'host: od.test' "http://127.0.0.1:$LISTEN_PORT/")"
done
expect_eq "then only the good one answers" "$codes" "200200200200200200200200200200"
expect_eq "the good one stays" "$(flags od "$U3")" "healthy"

finish
