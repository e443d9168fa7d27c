#!/usr/bin/env bash
# One control-stub, two data planes with different node ids (node-us,
# node-eu): each receives only its own node's containers, live.
. "$(dirname "$0")/lib.sh"

STUB="$(dirname "$DP_BIN")/control-stub/control-stub"
[ -x "$STUB" ] || STUB="$(dirname "$DP_BIN")/control-stub"
[ -x "$STUB" ] || { fail "control-stub binary not found next to $DP_BIN"; finish; }

ADS_PORT=$(free_port); US_LISTEN=$(free_port); EU_LISTEN=$(free_port)
US_ADMIN=$(free_port); EU_ADMIN=$(free_port); APP_US=$(free_port); APP_EU=$(free_port)
start_upstream us "$APP_US"
start_upstream eu "$APP_EU"
PROJ=64a1f0c2e4b5d6a7b8c9d0e1; CUS=64a1f0c2e4b5d6a7b8c9d0a1; CEU=64a1f0c2e4b5d6a7b8c9d0b2
BASE=containers.example.test
cat >"$WORK/fleet.yaml" <<YAML
nodes:
- { name: node-us, base_domain: $BASE, listener: { address: 127.0.0.1, port: $US_LISTEN } }
- { name: node-eu, base_domain: $BASE, listener: { address: 127.0.0.1, port: $EU_LISTEN } }
projects:
- { id: $PROJ, alias: demo }
containers:
- { id: $CUS, project: demo, node: node-us, state: running, address: 127.0.0.1, services: [http-$APP_US] }
- { id: $CEU, project: demo, node: node-eu, state: running, address: 127.0.0.1, services: [http-$APP_EU] }
YAML
"$STUB" -c "$WORK/fleet.yaml" --listen "127.0.0.1:$ADS_PORT" >>"$WORK/stub.log" 2>&1 &
PIDS+=($!)
wait_port "$ADS_PORT" || { fail "control-stub did not listen"; finish; }

boot() { # boot NODE ADMIN_PORT
    cat <<YAML
node: { id: $1, cluster: test }
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: $2 } }
dynamic_resources:
  ads_config:
    api_type: GRPC
    transport_api_version: V3
    grpc_services:
    - google_grpc: { target_uri: "127.0.0.1:$ADS_PORT", stat_prefix: ads }
  lds_config: { ads: {}, resource_api_version: V3 }
  cds_config: { ads: {}, resource_api_version: V3 }
YAML
}
boot node-us "$US_ADMIN" >"$WORK/us.yaml"
boot node-eu "$EU_ADMIN" >"$WORK/eu.yaml"
ADMIN_PORT=$US_ADMIN start_dataplane "$WORK/us.yaml" || { fail "node-us data plane"; finish; }
"$DP_BIN" -c "$WORK/eu.yaml" --concurrency 1 >>"$WORK/dataplane-eu.log" 2>&1 &
EU_PID=$!
PIDS+=($EU_PID)

get() { # get PORT HOST -> "BODY CODE"
    curl -s -m 3 -H "Host: $2" -w ' %{http_code}' "http://127.0.0.1:$1/" | tr -d '\n'
}
wait_get() { # wait_get PORT HOST WANT
    local i
    for i in $(seq 1 100); do [ "$(get "$1" "$2")" = "$3" ] && return 0; sleep 0.05; done
    return 1
}
HUS="$PROJ-$CUS-http-$APP_US-1.node-us.$BASE"
HEU="$PROJ-$CEU-http-$APP_EU-1.node-eu.$BASE"
check "node-us serves its container" wait_get "$US_LISTEN" "$HUS" "hello from us 200"
check "node-eu serves its container" wait_get "$EU_LISTEN" "$HEU" "hello from eu 200"
code=$(curl -s -o /dev/null -m 3 -w '%{http_code}' -H "Host: $HEU" "http://127.0.0.1:$US_LISTEN/")
expect_eq "node-us does not route node-eu's container" "$code" "404"
code=$(curl -s -o /dev/null -m 3 -w '%{http_code}' -H "Host: $HUS" "http://127.0.0.1:$EU_LISTEN/")
expect_eq "node-eu does not route node-us's container" "$code" "404"
us_clusters=$(curl -s "http://127.0.0.1:$US_ADMIN/clusters")
expect_contains "node-us holds its own cluster" "$us_clusters" "$CUS-http-$APP_US::"
expect_not_contains "node-us holds nothing of node-eu" "$us_clusters" "$CEU"
eu_clusters=$(curl -s "http://127.0.0.1:$EU_ADMIN/clusters")
expect_contains "node-eu holds its own cluster" "$eu_clusters" "$CEU-http-$APP_EU::"
expect_not_contains "node-eu holds nothing of node-us" "$eu_clusters" "$CUS"

kill -TERM "$EU_PID"; rc=0; wait "$EU_PID" || rc=$?
expect_eq "node-eu data plane exits 0" "$rc" "0"
check "no sanitizer report from node-eu" bash -c "! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' '$WORK/dataplane-eu.log'"
ADMIN_PORT=$US_ADMIN finish
