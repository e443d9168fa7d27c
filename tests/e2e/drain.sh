#!/usr/bin/env bash
# SIGTERM drains: in-flight requests finish, then the process exits 0.
. "$(dirname "$0")/lib.sh"

LISTEN_PORT=$(free_port); ADMIN_PORT=$(free_port); APP_PORT=$(free_port)
start_upstream app "$APP_PORT"
hcm_bootstrap "$(catchall_vhost app)" "$(cluster_yaml app "$APP_PORT")" >"$WORK/bootstrap.yaml"
start_dataplane "$WORK/bootstrap.yaml" || { fail "start"; finish; }
P="http://127.0.0.1:$LISTEN_PORT"

# an idle keep-alive connection and two slow requests in flight
python3 "$E2E_DIR/rawhttp.py" "$LISTEN_PORT" 'GET / HTTP/1.1\r\nHost: a\r\n\r\n' --timeout 8 >"$WORK/idle.out" &
IDLE=$!
curl -s -o "$WORK/slow1.out" -w '%{http_code}' "$P/slow?ms=1500" >"$WORK/slow1.code" &
S1=$!
curl -s -o "$WORK/slow2.out" -w '%{http_code}' "$P/slow?ms=2000" >"$WORK/slow2.code" &
S2=$!
sleep 0.5
start=$(date +%s%N)
kill -TERM "$DP_PID"
wait "$S1" "$S2"
expect_eq "in-flight request 1 finished with 200" "$(cat "$WORK/slow1.code")" "200"
expect_eq "in-flight request 2 finished with 200" "$(cat "$WORK/slow2.code")" "200"
wait "$DP_PID"; rc=$?
el=$(( ($(date +%s%N) - start) / 1000000 ))
expect_eq "exit status 0 after draining" "$rc" "0"
check "exited soon after the last request (${el} ms)" test "$el" -lt 4000
wait "$IDLE"
expect_contains "the idle keep-alive connection got its response" "$(cat "$WORK/idle.out")" "200"
check "listener closed after exit" bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$LISTEN_PORT) 2>/dev/null"
expect_contains "drain logged" "$(cat "$WORK/dataplane.log")" "draining"
finish
