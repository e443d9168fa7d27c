#!/usr/bin/env bash
# Swapping the configuration (SIGHUP re-reads the bootstrap) while traffic
# flows fails zero requests, and traffic follows the new routes.
. "$(dirname "$0")/lib.sh"

LISTEN_PORT=$(free_port); ADMIN_PORT=$(free_port); A_PORT=$(free_port); B_PORT=$(free_port)
start_upstream blue "$A_PORT"
start_upstream green "$B_PORT"
write_boot() { # write_boot CLUSTER FILE
    hcm_bootstrap "$(catchall_vhost "$1" | sed 's/domains: \["\*"\]/domains: ["app.test"]/')" \
        "$(cluster_yaml blue "$A_PORT"; cluster_yaml green "$B_PORT")" >"$2"
}
write_boot blue "$WORK/blue.yaml"
write_boot green "$WORK/green.yaml"
cp "$WORK/blue.yaml" "$WORK/bootstrap.yaml"
start_dataplane "$WORK/bootstrap.yaml" || { fail "start"; finish; }

out=$(curl -s -H 'Host: app.test' "http://127.0.0.1:$LISTEN_PORT/")
expect_eq "serves blue first" "$out" "hello from blue"

python3 "$E2E_DIR/loadgen.py" --port "$LISTEN_PORT" --conns 8 --seconds 6 >"$WORK/load.json" &
LOAD=$!
for i in $(seq 1 25); do
    if [ $((i % 2)) -eq 1 ]; then cp "$WORK/green.yaml" "$WORK/bootstrap.yaml"; else cp "$WORK/blue.yaml" "$WORK/bootstrap.yaml"; fi
    kill -HUP "$DP_PID"
    sleep 0.2
done
wait $LOAD
res=$(cat "$WORK/load.json")
echo "load: $res"
total=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total"])' "$WORK/load.json")
failures=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["failures"])' "$WORK/load.json")
check "load ran ($total requests)" test "$total" -gt 500
expect_eq "zero failed requests across 25 config swaps" "$failures" "0"
expect_contains "traffic reached blue" "$res" '"blue"'
expect_contains "traffic reached green" "$res" '"green"'

# the last swap wins: odd count of swaps -> green
cp "$WORK/green.yaml" "$WORK/bootstrap.yaml"; kill -HUP "$DP_PID"; sleep 0.3
out=$(curl -s -H 'Host: app.test' "http://127.0.0.1:$LISTEN_PORT/")
expect_eq "after the last swap traffic follows the new route" "$out" "hello from green"

# a broken bootstrap on SIGHUP is rejected and the old config keeps serving
echo "static_resources: { clusters: [ { name: x, lb_policy: MAGLEV } ] }" >"$WORK/bootstrap.yaml"
kill -HUP "$DP_PID"; sleep 0.3
out=$(curl -s -H 'Host: app.test' "http://127.0.0.1:$LISTEN_PORT/")
expect_eq "a broken reload keeps the last good config" "$out" "hello from green"
expect_contains "the rejected reload is logged with the reason" "$(cat "$WORK/dataplane.log")" "MAGLEV"
check "still running" kill -0 "$DP_PID"

finish
