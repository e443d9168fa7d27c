#!/usr/bin/env bash
# CSDS end to end: control-stub --replay serves a recorded SotW stream — a
# cluster "blue" and a listener routing to it, then an update of blue with
# lb_policy MAGLEV (not implemented), which the data plane NACKs. The data
# plane's CSDS server (--csds-address) is asked with FetchClientStatus (the
# unit-test binary xds_csds_test in client mode, a grpc core client): blue
# is NACKED with error_state.details exactly the NACK's error_detail (as the
# data plane logged it), the rejected version 2, and keeps version 1 in
# force, which still serves traffic; the listener is ACKED; the static ADS
# cluster is a static resource; exclude_resource_contents leaves the bytes
# out.
. "$(dirname "$0")/lib.sh"

STUB="$(dirname "$DP_BIN")/control-stub/control-stub"
[ -f "$STUB" ] || STUB="$(dirname "$DP_BIN")/control-stub"
CSDS_CLI="${DP_BUILD:-$(dirname "$DP_BIN")}/tests/xds_csds_test"
[ -x "$CSDS_CLI" ] || CSDS_CLI="$(dirname "$DP_BIN")/tests/xds_csds_test"
if [ ! -x "$STUB" ]; then fail "control-stub binary not found next to $DP_BIN"; finish; fi
if [ ! -x "$CSDS_CLI" ]; then fail "xds_csds_test (CSDS client mode) not built: $CSDS_CLI"; finish; fi

LISTEN_PORT=$(free_port); ADMIN_PORT=$(free_port); ADS_PORT=$(free_port); CSDS_PORT=$(free_port)
BLUE_PORT=$(free_port)
start_upstream blue "$BLUE_PORT" || { fail "upstream"; finish; }

CDS=type.googleapis.com/envoy.config.cluster.v3.Cluster
LDS=type.googleapis.com/envoy.config.listener.v3.Listener
HCM=type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
ROUTER=type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
blue() { # blue EXTRA_FIELDS
    printf '{"@type": "%s", "name": "blue", "type": "STATIC", "connectTimeout": "1s"%s, "loadAssignment": {"clusterName": "blue", "endpoints": [{"lbEndpoints": [{"endpoint": {"address": {"socketAddress": {"address": "127.0.0.1", "portValue": %s}}}}]}]}}' "$CDS" "$1" "$BLUE_PORT"
}
LISTENER=$(printf '{"@type": "%s", "name": "ingress", "address": {"socketAddress": {"address": "127.0.0.1", "portValue": %s}}, "filterChains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager", "typedConfig": {"@type": "%s", "statPrefix": "ingress_http", "routeConfig": {"name": "local", "virtualHosts": [{"name": "all", "domains": ["*"], "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "blue"}}]}]}, "httpFilters": [{"name": "envoy.filters.http.router", "typedConfig": {"@type": "%s"}}]}}]}]}' "$LDS" "$LISTEN_PORT" "$HCM" "$ROUTER")
req() { printf '{"t": 0, "stream": 1, "dir": "send", "type": "envoy.service.discovery.v3.DiscoveryRequest", "msg": {"typeUrl": "%s"}}\n' "$1"; }
resp() { printf '{"t": 0, "stream": 1, "dir": "recv", "type": "envoy.service.discovery.v3.DiscoveryResponse", "msg": {"versionInfo": "%s", "resources": [%s], "typeUrl": "%s", "nonce": "%s"}}\n' "$1" "$2" "$3" "$4"; }
{
    req "$CDS"
    req "$LDS"
    resp 1 "$(blue '')" "$CDS" c1
    req "$CDS"
    resp 1 "$LISTENER" "$LDS" l1
    req "$LDS"
    resp 2 "$(blue ', "lbPolicy": "MAGLEV"')" "$CDS" c2
    req "$CDS"
} >"$WORK/stream.jsonl"

"$STUB" --replay "$WORK/stream.jsonl" --listen "127.0.0.1:$ADS_PORT" >>"$WORK/stub.log" 2>&1 &
PIDS+=($!)
wait_port "$ADS_PORT" || { fail "control-stub --replay did not listen"; cat "$WORK/stub.log"; finish; }
ads_bootstrap csds-node GRPC "$ADS_PORT" "$ADMIN_PORT" >"$WORK/boot.yaml"
cat >>"$WORK/boot.yaml" <<YAML
static_resources:
  clusters:
  - name: ads_static
    type: STATIC
    load_assignment:
      cluster_name: ads_static
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: $ADS_PORT } } } }] }]
YAML
start_dataplane "$WORK/boot.yaml" --csds-address "127.0.0.1:$CSDS_PORT" || { fail "data plane start"; finish; }
wait_port "$CSDS_PORT" || { fail "CSDS port"; finish; }

get() { curl -s -m 3 -w ' %{http_code}' "http://127.0.0.1:$LISTEN_PORT/" | tr -d '\n'; }
for i in $(seq 1 100); do grep -q "NACK $CDS version 2" "$WORK/dataplane.log" && break; sleep 0.05; done
check "the data plane NACKed cluster version 2" grep -q "NACK $CDS version 2" "$WORK/dataplane.log"
NACK=$(grep -m1 -F "xds: NACK $CDS version 2: " "$WORK/dataplane.log" | sed 's/.*version 2: //')
expect_contains "the NACK names blue and MAGLEV" "$NACK" "blue: lb_policy"
expect_eq "blue version 1 still serves" "$(get | tail -c 4)" " 200"

"$CSDS_CLI" --fetch "127.0.0.1:$CSDS_PORT" >"$WORK/csds.json" 2>"$WORK/csds.err"
check "FetchClientStatus answered" [ -s "$WORK/csds.json" ]
q() { # q PY_EXPR over c = {(type_url, name): GenericXdsConfig}, cfg = the ClientConfig
    python3 - "$WORK/csds.json" "$1" <<'PY' 2>&1
import json, sys
d = json.load(open(sys.argv[1]))
cfg = d["config"][0]
c = {(g.get("type_url"), g.get("name")): g for g in cfg.get("generic_xds_configs", [])}
print(eval(sys.argv[2]))
PY
}
B="c[('$CDS', 'blue')]"
expect_eq "node id" "$(q "cfg['node']['id']")" "csds-node"
expect_eq "blue is NACKED" "$(q "$B['client_status']")" "NACKED"
expect_eq "blue keeps version 1 in force" "$(q "$B['version_info']")" "1"
expect_eq "blue's xds_config is version 1 (no lb_policy)" "$(q "$B['xds_config']['@type'] + ' ' + str('lb_policy' in $B['xds_config'])")" "$CDS False"
expect_eq "error_state.details is the NACK's error_detail" "$(q "$B['error_state']['details']")" "$NACK"
expect_eq "error_state.version_info is the rejected version" "$(q "$B['error_state']['version_info']")" "2"
expect_eq "error_state has the rejected resource" "$(q "$B['error_state']['failed_configuration']['lb_policy']")" "MAGLEV"
expect_eq "error_state has last_update_attempt" "$(q "$B['error_state']['last_update_attempt'].endswith('Z')")" "True"
expect_eq "listener ingress ACKED at version 1" "$(q "c[('$LDS', 'ingress')]['client_status'] + ' ' + c[('$LDS', 'ingress')]['version_info']")" "ACKED 1"
expect_eq "the bootstrap's cluster is static" "$(q "c[('$CDS', 'ads_static')].get('is_static_resource')")" "True"

"$CSDS_CLI" --fetch "127.0.0.1:$CSDS_PORT" --exclude >"$WORK/csds2.json" 2>>"$WORK/csds.err"
expect_eq "exclude_resource_contents: no xds_config" "$(python3 -c "
import json,sys; d=json.load(open('$WORK/csds2.json'))
print(any('xds_config' in g for g in d['config'][0]['generic_xds_configs']))")" "False"
expect_eq "still serving after the NACK" "$(get | tail -c 4)" " 200"
finish
