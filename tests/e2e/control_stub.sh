#!/usr/bin/env bash
# control-stub end to end: a fleet file served over ADS (SotW) to the real
# data plane. Container and alias URLs reach a real upstream, a stopped
# container answers 503 with a JSON body, an edit of the fleet file is
# routable within 2 s, an invalid edit is rejected (with its line) and the
# previous routes keep working; --dump of a broken file fails with FILE:LINE.
. "$(dirname "$0")/lib.sh"

# CMake builds it in the control-stub/ folder of the build tree, next to
# the dataplane binary.
STUB="$(dirname "$DP_BIN")/control-stub/control-stub"
[ -f "$STUB" ] || STUB="$(dirname "$DP_BIN")/control-stub"
if [ ! -f "$STUB" ] || [ ! -x "$STUB" ]; then fail "control-stub binary not found next to $DP_BIN"; finish; fi

LISTEN_PORT=$(free_port); ADMIN_PORT=$(free_port); ADS_PORT=$(free_port)
APP_PORT=$(free_port); APP2_PORT=$(free_port)
start_upstream app "$APP_PORT"
start_upstream app2 "$APP2_PORT"

PROJ=5f0c1a2b3c4d5e6f7a8b9c0d
C1=aa00000000000000000000a1   # running, http-$APP_PORT
C2=bb00000000000000000000b2   # stopped
C3=cc00000000000000000000c3   # added by an edit
BASE=containers.example.test
NODE=node-us
FLEET="$WORK/fleet.yaml"

# write_fleet FILE [extra container yaml]
write_fleet() {
    cat >"$1" <<YAML
nodes:
- name: $NODE
  base_domain: $BASE
  listener: { address: 127.0.0.1, port: $LISTEN_PORT }
projects:
- id: $PROJ
  alias: demo
  permissions: { default: allow }
containers:
- id: $C1
  project: $PROJ
  node: $NODE
  state: running
  address: 127.0.0.1
  services: [http-$APP_PORT, terminal]
- id: $C2
  project: demo
  node: $NODE
  state: stopped
  address: 127.0.0.1
  services: [http-$APP2_PORT]
${2:-}
aliases:
- name: web
  container: $C1
  service: http-$APP_PORT
  index: 1
YAML
}

# --- --dump: good and broken files -------------------------------------
write_fleet "$FLEET"
out=$("$STUB" --dump "$FLEET" 2>&1); rc=$?
expect_eq "--dump of a valid fleet exits 0" "$rc" "0"
expect_contains "--dump prints typed resources" "$out" '"@type": "type.googleapis.com/envoy.config.listener.v3.Listener"'
expect_contains "--dump: vhost domain" "$out" "\"$PROJ-$C1-http-$APP_PORT-1.$NODE.$BASE\""
expect_contains "--dump: alias domain" "$out" "\"web.$NODE.$BASE\""
expect_contains "--dump: EDS cluster" "$out" "\"name\": \"$C1-http-$APP_PORT\""
expect_not_contains "--dump: no cluster for the stopped container" "$out" "\"name\": \"$C2-http-$APP2_PORT\""
expect_not_contains "--dump: the stopped container's port appears nowhere" "$out" "$APP2_PORT\": "
printf 'nodes:\n- name: n1\n  base_domain: a.test\n  listener: { address: 127.0.0.1, port: 1 }\nprojects:\n- id: 123\n' >"$WORK/bad.yaml"
out=$("$STUB" --dump "$WORK/bad.yaml" 2>&1); rc=$?
check "--dump of a broken file exits non-zero" [ "$rc" -ne 0 ]
expect_contains "--dump names FILE:LINE:COL and field" "$out" "$WORK/bad.yaml:6:7: projects[0].id: bad id '123'"
# each error class names its line
bad_case() { # bad_case DESC EXPECTED-TEXT <<< yaml
    cat >"$WORK/case.yaml"
    local o; o=$("$STUB" --dump "$WORK/case.yaml" 2>&1) && { fail "$1: accepted"; return; }
    expect_contains "$1" "$o" "$2"
}
N1='nodes: [{name: n1, base_domain: a.test, listener: {address: 127.0.0.1, port: 80}}]'
bad_case "unknown key" "case.yaml:2:1: fleet: unknown key 'colour'" <<<"$N1
colour: blue"
bad_case "unknown node" "case.yaml:3:122: containers[0].node: unknown node 'n2'" <<<"$N1
projects: [{id: $PROJ}]
containers: [{id: $C1, project: $PROJ, state: running, address: 127.0.0.1, node: n2}]"
bad_case "unknown project" "containers[0].project: unknown project 'nope'" <<<"$N1
containers: [{id: $C1, project: nope, node: n1, state: running, address: 127.0.0.1}]"
bad_case "duplicate container id" "case.yaml:5:8: containers[1]: duplicate container id '$C1'" <<<"$N1
projects: [{id: $PROJ}]
containers:
- {id: $C1, project: $PROJ, node: n1, state: running, address: 127.0.0.1}
- {id: $C1, project: $PROJ, node: n1, state: running, address: 127.0.0.1}" 
bad_case "bad port" "nodes[0].listener.port: bad port 70000" <<<'nodes: [{name: n1, base_domain: a.test, listener: {address: 127.0.0.1, port: 70000}}]'
bad_case "unknown alias target" "aliases[0].container: unknown container" <<<"$N1
aliases: [{name: x, container: $C3, service: terminal}]"
bad_case "service without a default port" "service 'web' has no default port" <<<"$N1
projects: [{id: $PROJ}]
containers: [{id: $C1, project: $PROJ, node: n1, state: running, address: 127.0.0.1, services: [web]}]"

# two nodes: each gets only its own containers
cat >"$WORK/two.yaml" <<YAML
nodes:
- { name: node-us, base_domain: $BASE, listener: { address: 127.0.0.1, port: 10001 } }
- { name: node-eu, base_domain: $BASE, listener: { address: 127.0.0.1, port: 10002 } }
projects: [{ id: $PROJ }]
containers:
- { id: $C1, project: $PROJ, node: node-us, state: running, address: 10.0.0.1, services: [terminal] }
- { id: $C3, project: $PROJ, node: node-eu, state: running, address: 10.0.0.3, services: [display] }
YAML
us=$("$STUB" --dump "$WORK/two.yaml" --node node-us 2>&1)
eu=$("$STUB" --dump "$WORK/two.yaml" --node node-eu 2>&1)
expect_contains "node-us dump has its container" "$us" "\"$C1-terminal\""
expect_not_contains "node-us dump lacks node-eu's container" "$us" "$C3"
expect_contains "node-eu dump has its container" "$eu" "\"address\": \"10.0.0.3\""
expect_not_contains "node-eu dump lacks node-us's container" "$eu" "$C1"
expect_contains "node-eu's listener port" "$eu" '"port_value": 10002'
out=$("$STUB" --dump "$WORK/two.yaml" --node nowhere 2>&1); rc=$?
check "--dump --node of an unknown node fails" [ "$rc" -ne 0 ]

# --- serving -----------------------------------------------------------
"$STUB" -c "$FLEET" --listen "127.0.0.1:$ADS_PORT" >>"$WORK/stub.log" 2>&1 &
STUB_PID=$!
PIDS+=($STUB_PID)
wait_port "$ADS_PORT" || { fail "control-stub did not listen"; finish; }

cat >"$WORK/bootstrap.yaml" <<YAML
node: { id: $NODE, cluster: test }
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: $ADMIN_PORT } }
dynamic_resources:
  ads_config:
    api_type: GRPC
    transport_api_version: V3
    grpc_services:
    - google_grpc: { target_uri: "127.0.0.1:$ADS_PORT", stat_prefix: ads }
  lds_config: { ads: {}, resource_api_version: V3 }
  cds_config: { ads: {}, resource_api_version: V3 }
YAML
start_dataplane "$WORK/bootstrap.yaml" || { fail "data plane start"; finish; }

# get HOST [PATH] -> "CODE BODY"
get() { curl -s -m 3 -H "Host: $1" -w ' %{http_code}' "http://127.0.0.1:$LISTEN_PORT${2:-/}" | tr -d '\n'; }
# wait_get HOST WANT_CODE MS: polls until the answer ends with WANT_CODE
wait_get() {
    local i n=$(($3 / 50))
    for i in $(seq 1 "$n"); do
        case "$(get "$1")" in *" $2") return 0 ;; esac
        sleep 0.05
    done
    return 1
}
H1="$PROJ-$C1-http-$APP_PORT-1.$NODE.$BASE"
H2="$PROJ-$C2-http-$APP2_PORT-1.$NODE.$BASE"
H3="$PROJ-$C3-http-$APP2_PORT-1.$NODE.$BASE"
check "container URL is routed (converged within 5 s)" wait_get "$H1" 200 5000
expect_eq "container URL reaches the upstream" "$(get "$H1")" "hello from app 200"
expect_eq "Host with a port is routed too" "$(get "$H1:$LISTEN_PORT")" "hello from app 200"
expect_eq "alias reaches the same upstream" "$(get "web.$NODE.$BASE")" "hello from app 200"
out=$(get "$H2")
expect_eq "stopped container: 503 with a JSON body" "$out" '{"error": "container stopped", "status": 503} 503'
expect_not_contains "stopped container: no internal port in the answer" "$out" "$APP2_PORT"
expect_eq "unknown host: 404" "$(get "nope.$NODE.$BASE" | tail -c 4)" " 404"
check "the stub logged the data plane's ACKs" grep -q "node $NODE: ACK RDS" "$WORK/stub.log"

# --- live edit: add a running container --------------------------------
write_fleet "$WORK/fleet.new" "- id: $C3
  project: $PROJ
  node: $NODE
  state: running
  address: 127.0.0.1
  services: [http-$APP2_PORT]"
t0=$(date +%s%N)
mv "$WORK/fleet.new" "$FLEET"   # rename over, as editors do
check "added container routable within 2 s" wait_get "$H3" 200 2000
echo "# routable after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
expect_eq "added container reaches its upstream" "$(get "$H3")" "hello from app2 200"
sent=$(grep -m1 "sent CDS version 2 " "$WORK/stub.log" | cut -d' ' -f1)
if [ -n "$sent" ]; then
    push_ms=$(( $(date -d "$sent" +%s%3N) - t0 / 1000000 ))
    check "edit pushed within 100 ms (took $push_ms ms)" [ "$push_ms" -lt 100 ]
else
    fail "no CDS version 2 push in the stub log"
fi

# --- invalid edit: rejected with its line, old routes keep working -----
lines_before=$(wc -l <"$WORK/stub.log")
sed -i "s/^- id: $C3/- id: not-a-hex-id/" "$FLEET"   # in-place write
line=$(grep -n "not-a-hex-id" "$FLEET" | cut -d: -f1)
for i in $(seq 1 40); do tail -n +"$lines_before" "$WORK/stub.log" | grep -q "rejected" && break; sleep 0.05; done
rej=$(tail -n +"$lines_before" "$WORK/stub.log" | grep "rejected")
expect_contains "invalid edit rejected, naming its line" "$rej" "fleet.yaml:$line:7: containers[2].id: bad id 'not-a-hex-id'"
sleep 0.3
expect_eq "old route still served after the bad edit" "$(get "$H1")" "hello from app 200"
expect_eq "the container of the previous fleet still served" "$(get "$H3")" "hello from app2 200"

# --- misbehaving clients -------------------------------------------------
head -c 300 /dev/urandom >"$WORK/garbage"
(exec 3<>"/dev/tcp/127.0.0.1/$ADS_PORT"; cat "$WORK/garbage" >&3; sleep 0.2) 2>/dev/null
(exec 3<>"/dev/tcp/127.0.0.1/$ADS_PORT"; printf 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' >&3; cat "$WORK/garbage" >&3) 2>/dev/null
check "stub alive after garbage bytes" kill -0 "$STUB_PID"
# gRPC-level misbehaviour, concurrency, ACK/NACK/stale (tests/xds node modules)
# the probe needs the pinned node packages of tests/xds
bash "$DP_SRC/tests/xds/install.sh" >"$WORK/npm.log" 2>&1; npm_rc=$?
[ "$npm_rc" -eq 77 ] && echo "# npm registry unreachable: gRPC probe skipped"
[ "$npm_rc" -ne 0 ] && [ "$npm_rc" -ne 77 ] && { cat "$WORK/npm.log"; fail "tests/xds packages install"; }
if [ "$npm_rc" -eq 0 ]; then
    while IFS= read -r l; do
        case "$l" in
        "ok - "*) ok "${l#ok - }" ;;
        "FAIL - "*) fail "${l#FAIL - }" ;;
        *) echo "# $l" ;;
        esac
    done < <(timeout 30 node "$DP_SRC/control-stub/ads_probe.js" "127.0.0.1:$ADS_PORT" "$NODE" 2>&1)
    check "stub logged the NACK with its error detail" \
        grep -q "node $NODE: NACK RDS version .*: code 3: probe rejects this route configuration" "$WORK/stub.log"
    check "stub logged the unknown node" grep -q "node 'ghost' is not in the fleet" "$WORK/stub.log"
    check "stub alive after the probe" kill -0 "$STUB_PID"
    expect_eq "data plane still served after the probe" "$(get "$H1")" "hello from app 200"
else
    echo "# node or tests/xds/node_modules missing: gRPC probe skipped"
fi

# --- stub restart: the data plane keeps serving, then converges --------
kill -TERM "$STUB_PID"; rc=0; wait "$STUB_PID" || rc=$?
expect_eq "control-stub exits 0 on SIGTERM" "$rc" "0"
# while it is down: stop C1, drop C3
write_fleet "$WORK/fleet.new"
sed -i "0,/state: running/s//state: stopped/" "$WORK/fleet.new"
mv "$WORK/fleet.new" "$FLEET"
sleep 0.3
expect_eq "stub down: the data plane keeps its routes" "$(get "$H1")" "hello from app 200"
"$STUB" -c "$FLEET" --listen "127.0.0.1:$ADS_PORT" >>"$WORK/stub.log" 2>&1 &
STUB_PID=$!
PIDS+=($STUB_PID)
check "after the restart: stopped container answers 503" wait_get "$H1" 503 5000
check "after the restart: removed container no longer routed" wait_get "$H3" 404 2000
expect_eq "after the restart: alias of the stopped container is 503 too" "$(get "web.$NODE.$BASE" | tail -c 4)" " 503"

kill -TERM "$STUB_PID"; rc=0; wait "$STUB_PID" || rc=$?
expect_eq "restarted control-stub exits 0 on SIGTERM" "$rc" "0"
if grep -qE "AddressSanitizer|LeakSanitizer|runtime error:" "$WORK/stub.log"; then fail "sanitizer report in the stub log"; fi
finish
