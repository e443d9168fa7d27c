#!/usr/bin/env bash
# A cluster removed from the configuration drains its pools: its idle
# upstream connections are closed (the same commit path serves SIGHUP and
# xDS), while a request in flight to it finishes.
. "$(dirname "$0")/lib.sh"

LISTEN_PORT=$(free_port); ADMIN_PORT=$(free_port); APP_PORT=$(free_port)
start_upstream app "$APP_PORT"
write_boot() { # write_boot WITH_APP FILE
    hcm_bootstrap "$(catchall_vhost app)" \
        "$(cluster_yaml other "$APP_PORT"; [ "$1" = yes ] && cluster_yaml app "$APP_PORT")" >"$2"
}
write_boot yes "$WORK/bootstrap.yaml"
DP_CONCURRENCY=1 start_dataplane "$WORK/bootstrap.yaml" || { fail "start"; finish; }
P="http://127.0.0.1:$LISTEN_PORT"

expect_eq "request through cluster app" "$(curl -s "$P/")" "hello from app"
expect_eq "one idle upstream connection kept" "$(stat cluster.app.upstream_cx_active)" "1"

# a slow request in flight while the cluster goes away
curl -s -o "$WORK/slow.out" -w '%{http_code}' "$P/slow?ms=1000" >"$WORK/slow.code" &
SLOW=$!
sleep 0.3
write_boot no "$WORK/bootstrap.yaml"
kill -HUP "$DP_PID"
sleep 0.3
code=$(curl -s -o /dev/null -w '%{http_code}' "$P/")
expect_eq "cluster gone: 503" "$code" "503"
wait $SLOW
expect_eq "the request in flight finished" "$(cat "$WORK/slow.code")" "200"
for i in $(seq 1 20); do [ "$(stat cluster.app.upstream_cx_active)" = 0 ] && break; sleep 0.1; done
expect_eq "the removed cluster's upstream connections are closed" "$(stat cluster.app.upstream_cx_active)" "0"
finish
