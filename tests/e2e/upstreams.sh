#!/usr/bin/env bash
# Upstream behaviour: load-balancing policies across real upstream
# processes, circuit breakers (503 overflow), weighted clusters and
# cluster_header, an upstream that resets mid-response, and stats.
. "$(dirname "$0")/lib.sh"

LISTEN_PORT=$(free_port); ADMIN_PORT=$(free_port)
U1=$(free_port); U2=$(free_port); U3=$(free_port)
start_upstream one "$U1"
start_upstream two "$U2"
start_upstream three "$U3"
eps() { # eps PORT... : lb_endpoints YAML
    for p in "$@"; do
        echo "        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: $p } } }"
    done
}
cat >"$WORK/vhosts.yaml" <<YAML
            - name: rr
              domains: ["rr.test"]
              routes: [ { match: { prefix: "/" }, route: { cluster: rr } } ]
            - name: random
              domains: ["random.test"]
              routes: [ { match: { prefix: "/" }, route: { cluster: random } } ]
            - name: lr
              domains: ["lr.test"]
              routes: [ { match: { prefix: "/" }, route: { cluster: lr } } ]
            - name: tiny
              domains: ["tiny.test"]
              routes: [ { match: { prefix: "/" }, route: { cluster: tiny, timeout: 10s } } ]
            - name: weighted
              domains: ["weighted.test"]
              routes:
              - match: { prefix: "/" }
                route:
                  weighted_clusters:
                    clusters:
                    - { name: only-one, weight: 75 }
                    - { name: only-two, weight: 25 }
            - name: byheader
              domains: ["byheader.test"]
              routes: [ { match: { prefix: "/" }, route: { cluster_header: x-cluster } } ]
YAML
cat >"$WORK/clusters.yaml" <<YAML
  - name: rr
    lb_policy: ROUND_ROBIN
    load_assignment:
      cluster_name: rr
      endpoints:
      - lb_endpoints:
$(eps "$U1" "$U2" "$U3")
  - name: random
    lb_policy: RANDOM
    load_assignment:
      cluster_name: random
      endpoints:
      - lb_endpoints:
$(eps "$U1" "$U2" "$U3")
  - name: lr
    lb_policy: LEAST_REQUEST
    load_assignment:
      cluster_name: lr
      endpoints:
      - lb_endpoints:
$(eps "$U1" "$U2")
  - name: tiny
    circuit_breakers:
      thresholds:
      - { max_connections: 1, max_pending_requests: 1, max_requests: 2 }
    load_assignment:
      cluster_name: tiny
      endpoints:
      - lb_endpoints:
$(eps "$U1")
  - name: only-one
    load_assignment:
      cluster_name: only-one
      endpoints:
      - lb_endpoints:
$(eps "$U1")
  - name: only-two
    load_assignment:
      cluster_name: only-two
      endpoints:
      - lb_endpoints:
$(eps "$U2")
YAML
hcm_bootstrap "$(cat "$WORK/vhosts.yaml")" "$(cat "$WORK/clusters.yaml")" >"$WORK/bootstrap.yaml"
DP_CONCURRENCY=1 start_dataplane "$WORK/bootstrap.yaml" || { fail "start"; finish; }
P="http://127.0.0.1:$LISTEN_PORT"

count() { # count HOST N -> "one:A two:B three:C"
    local urls=() i
    for i in $(seq 1 "$2"); do urls+=("$P/"); done
    curl -s -H "Host: $1" "${urls[@]}" | sort | uniq -c | awk '{ printf "%s:%s ", $4, $1 }'
}
got=$(count rr.test 30)
expect_eq "ROUND_ROBIN spreads evenly over 3 endpoints" "$got" "one:10 three:10 two:10 "
got=$(count random.test 60)
for n in one two three; do expect_contains "RANDOM reaches $n" "$got" "$n:"; done
got=$(count lr.test 20)
for n in one two; do expect_contains "LEAST_REQUEST reaches $n" "$got" "$n:"; done

got=$(count weighted.test 400)
w1=$(echo "$got" | tr ' ' '\n' | awk -F: '$1=="one" {print $2}')
check "weighted 75/25 (one got ${w1:-0} of 400)" test "${w1:-0}" -gt 250 -a "${w1:-0}" -lt 350

out=$(curl -s -H 'Host: byheader.test' -H 'x-cluster: only-two' "$P/")
expect_eq "cluster_header picks the cluster" "$out" "hello from two"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: byheader.test' "$P/")
expect_eq "cluster_header missing -> 503" "$code" "503"

# circuit breakers: max_requests 2 -> of 6 concurrent slow requests some overflow
for i in 1 2 3 4 5 6; do
    curl -s -o /dev/null -w '%{http_code}\n' -H 'Host: tiny.test' "$P/slow?ms=800" >>"$WORK/cb.codes" &
done
wait_for_curls() { local i; for i in $(seq 1 60); do [ "$(wc -l <"$WORK/cb.codes")" -ge 6 ] && return; sleep 0.1; done; }
wait_for_curls
n503=$(grep -c 503 "$WORK/cb.codes"); n200=$(grep -c 200 "$WORK/cb.codes")
check "circuit breaker: some requests pass ($n200)" test "$n200" -ge 1
check "circuit breaker: overflow answered 503 ($n503)" test "$n503" -ge 1
check "overflow counted in upstream_rq_pending_overflow" test "$(stat cluster.tiny.upstream_rq_pending_overflow)" -ge 1
check "max_connections 1 respected" test "$(stat cluster.tiny.upstream_cx_total)" -le 1

# an upstream that dies: requests to it fail over to 503, the others keep working
kill "${PIDS[2]}" 2>/dev/null; wait "${PIDS[2]}" 2>/dev/null
codes=$(for i in 1 2 3 4 5 6; do curl -s -o /dev/null -w '%{http_code} ' -H 'Host: rr.test' "$P/"; done)
expect_contains "dead endpoint gives 503" "$codes" "503"
expect_contains "live endpoints still 200" "$codes" "200"
check "connect failures counted" test "$(stat cluster.rr.upstream_cx_connect_fail)" -ge 1
finish
