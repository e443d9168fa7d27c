#!/usr/bin/env bash
# The control plane misbehaving under load, end to end (control-stub over
# Delta ADS, the real data plane, a keep-alive load on one container URL):
#   - config churn: container events pushed at 100 per second (each a new
#     Container version the data plane applies) while the load runs: zero
#     failed requests, and the last state wins;
#   - the control plane killed (SIGKILL) under load: zero failed requests,
#     the last config keeps serving; a restarted control plane gets the data
#     plane back (it reconnects) and its pushes apply again.
. "$(dirname "$0")/lib.sh"

STUB="$(dirname "$DP_BIN")/control-stub/control-stub"
[ -x "$STUB" ] || { fail "control-stub binary not found next to $DP_BIN"; finish; }

LISTEN_PORT=$(free_port); ADMIN_PORT=$(free_port); ADS_PORT=$(free_port); STUB_ADMIN=$(free_port)
APP_PORT=$(free_port)
start_upstream app "$APP_PORT"

PROJ=6a0c1a2b3c4d5e6f7a8b9c0d
C1=a100000000000000000000a1 # under load
C2=b200000000000000000000b2 # churned
NODE=node-churn
BASE=containers.example.test
cat >"$WORK/fleet.yaml" <<YAML
nodes:
- { name: $NODE, base_domain: $BASE, listener: { address: 127.0.0.1, port: $LISTEN_PORT } }
projects: [{ id: $PROJ, alias: churn, permissions: { default: allow } }]
containers:
- { id: $C1, project: churn, node: $NODE, state: running, address: 127.0.0.1, services: [http-$APP_PORT] }
- { id: $C2, project: churn, node: $NODE, state: running, address: 127.0.0.1, services: [http-$APP_PORT] }
YAML
H1="$PROJ-$C1-http-$APP_PORT-1.$NODE.$BASE"
H2="$PROJ-$C2-http-$APP_PORT-1.$NODE.$BASE"

start_stub() {
    "$STUB" -c "$WORK/fleet.yaml" --listen "127.0.0.1:$ADS_PORT" --admin "127.0.0.1:$STUB_ADMIN" \
        >>"$WORK/stub.log" 2>&1 &
    STUB_PID=$!; PIDS+=($STUB_PID)
    wait_port "$ADS_PORT" && wait_port "$STUB_ADMIN"
}
get() { curl -s -m 3 -o /dev/null -w '%{http_code}' -H "Host: $1" "http://127.0.0.1:$LISTEN_PORT/"; }
wait_get() { wait_eq "$2" "$3" get "$1"; } # wait_get HOST CODE MS
jfield() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d['$2'])" "$1"; }

start_stub || { fail "control-stub did not start"; finish; }
ads_bootstrap "$NODE" DELTA_GRPC "$ADS_PORT" "$ADMIN_PORT" >"$WORK/boot.yaml"
start_dataplane "$WORK/boot.yaml" || { fail "data plane start"; finish; }
check "the loaded container is routed" wait_get "$H1" 200 5000

# --- churn: 100 pushes per second under load -----------------------------
# events.py PORT ID RATE SECONDS: POST stop/start alternately at RATE per
# second; prints {"sent": n, "ok": n (200s), "rate": achieved per second}
cat >"$WORK/events.py" <<'PY'
import http.client, json, sys, time
port, cid, rate, secs = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
sent = ok = 0
t0 = time.monotonic()
while time.monotonic() - t0 < secs:
    due = t0 + sent / rate
    now = time.monotonic()
    if due > now:
        time.sleep(due - now)
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        c.request("POST", "/containers/%s/%s" % (cid, "stop" if sent % 2 == 0 else "start"))
        ok += c.getresponse().status == 200
    except OSError:
        pass
    c.close()
    sent += 1
el = time.monotonic() - t0
print(json.dumps({"sent": sent, "ok": ok, "rate": round(sent / el, 1)}))
PY
python3 "$E2E_DIR/loadgen.py" --port "$LISTEN_PORT" --host "$H1" --conns 8 --seconds 5 >"$WORK/load1.json" &
LOAD=$!
sleep 0.5
python3 "$WORK/events.py" "$STUB_ADMIN" "$C2" 100 4 >"$WORK/events.json"
wait "$LOAD"
cat "$WORK/load1.json" "$WORK/events.json"
expect_eq "churn: zero failed requests under 100 pushes per second" "$(jfield "$WORK/load1.json" failures)" "0"
check "churn: the load ran ($(jfield "$WORK/load1.json" total) requests)" test "$(jfield "$WORK/load1.json" total)" -gt 100
sent=$(jfield "$WORK/events.json" sent)
expect_eq "churn: every push accepted by the stub" "$(jfield "$WORK/events.json" ok)" "$sent"
check "churn: at least 90 pushes per second ($(jfield "$WORK/events.json" rate))" \
    python3 -c "import sys; sys.exit(0 if $(jfield "$WORK/events.json" rate) >= 90 else 1)"
n_sent=$(grep -c "sent Container version" "$WORK/stub.log")
check "churn: the stub pushed the changes to the data plane ($n_sent Container versions for $sent events)" test "$n_sent" -ge $((sent * 3 / 4))
# an even number of alternating events ends on "start", an odd one on "stop"
want=200; [ $((sent % 2)) -eq 1 ] && want=503
check "churn: the last state wins ($H2 -> $want)" wait_get "$H2" "$want" 3000
expect_eq "churn: the loaded container still routed" "$(get "$H1")" "200"

# --- the control plane killed under load ---------------------------------
python3 "$E2E_DIR/loadgen.py" --port "$LISTEN_PORT" --host "$H1" --conns 8 --seconds 4 >"$WORK/load2.json" &
LOAD=$!
sleep 1
kill -KILL "$STUB_PID"; wait "$STUB_PID" 2>/dev/null
wait "$LOAD"
cat "$WORK/load2.json"
expect_eq "control plane killed: zero failed requests" "$(jfield "$WORK/load2.json" failures)" "0"
check "control plane killed: the load ran ($(jfield "$WORK/load2.json" total) requests)" \
    test "$(jfield "$WORK/load2.json" total)" -gt 100
expect_eq "control plane gone: the last config still serves" "$(get "$H1")" "200"
check "the data plane is alive" kill -0 "$DP_PID"

# --- a new control plane: the data plane comes back to it ----------------
start_stub || { fail "control-stub restart"; finish; }
status_connected() {
    curl -s -m 2 "http://127.0.0.1:$STUB_ADMIN/status" |
        python3 -c "import json,sys; sys.exit(0 if json.load(sys.stdin)['nodes']['$NODE']['connected'] else 1)" 2>/dev/null
}
ok_connected=0
for i in $(seq 1 300); do status_connected && { ok_connected=1; break; }; sleep 0.1; done
check "the data plane reconnects to the restarted control plane" test "$ok_connected" = 1
expect_eq "restarted: a push applies again (stop the loaded container)" \
    "$(curl -s -m 3 -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$STUB_ADMIN/containers/$C1/stop")" "200"
check "restarted: the container stopped (503)" wait_get "$H1" 503 3000
finish
