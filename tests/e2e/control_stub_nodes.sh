#!/usr/bin/env bash
# One control-stub, two data planes with different node ids (node-us,
# node-eu): each receives only its own node's containers, projects, aliases
# and custom domains, live.
. "$(dirname "$0")/lib.sh"

STUB="$(dirname "$DP_BIN")/control-stub/control-stub"
[ -x "$STUB" ] || STUB="$(dirname "$DP_BIN")/control-stub"
[ -x "$STUB" ] || { fail "control-stub binary not found next to $DP_BIN"; finish; }

ADS_PORT=$(free_port); US_LISTEN=$(free_port); EU_LISTEN=$(free_port)
US_ADMIN=$(free_port); EU_ADMIN=$(free_port); APP_US=$(free_port); APP_EU=$(free_port)
start_upstream us "$APP_US"
start_upstream eu "$APP_EU"
PROJ=64a1f0c2e4b5d6a7b8c9d0e1; PROJ2=64a1f0c2e4b5d6a7b8c9d0e2
CUS=64a1f0c2e4b5d6a7b8c9d0a1; CEU=64a1f0c2e4b5d6a7b8c9d0b2; CEU2=64a1f0c2e4b5d6a7b8c9d0b3
BASE=containers.example.test
write_fleet() { # write_fleet FILE [extra container line]
    cat >"$1" <<YAML
nodes:
- { name: node-us, base_domain: $BASE, listener: { address: 127.0.0.1, port: $US_LISTEN } }
- { name: node-eu, base_domain: $BASE, listener: { address: 127.0.0.1, port: $EU_LISTEN } }
projects:
- { id: $PROJ, alias: demo, permissions: { default: allow } }
- { id: $PROJ2, permissions: { default: allow } }
containers:
- { id: $CUS, project: demo, node: node-us, state: running, address: 127.0.0.1, services: [http-$APP_US] }
- { id: $CEU, project: demo, node: node-eu, state: running, address: 127.0.0.1, services: [http-$APP_EU] }
${2:-}
aliases:
- { name: us-app, domain: us.example.com, container: $CUS, service: http-$APP_US }
- { name: eu-app, domain: eu.example.com, container: $CEU, service: http-$APP_EU }
YAML
}
write_fleet "$WORK/fleet.yaml"
"$STUB" -c "$WORK/fleet.yaml" --listen "127.0.0.1:$ADS_PORT" >>"$WORK/stub.log" 2>&1 &
PIDS+=($!)
wait_port "$ADS_PORT" || { fail "control-stub did not listen"; finish; }

boot() { # boot NODE ADMIN_PORT
    ads_bootstrap "$1" GRPC "$ADS_PORT" "$2"
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
HEU2="$PROJ2-$CEU2-http-$APP_EU-1.node-eu.$BASE"
check "node-us serves its container" wait_get "$US_LISTEN" "$HUS" "hello from us 200"
check "node-eu serves its container" wait_get "$EU_LISTEN" "$HEU" "hello from eu 200"
expect_eq "node-us: its alias" "$(get "$US_LISTEN" "us-app.$BASE")" "hello from us 200"
expect_eq "node-eu: its alias" "$(get "$EU_LISTEN" "eu-app.$BASE")" "hello from eu 200"
expect_eq "node-us: its custom domain" "$(get "$US_LISTEN" "us.example.com")" "hello from us 200"
expect_eq "node-eu: its custom domain" "$(get "$EU_LISTEN" "eu.example.com")" "hello from eu 200"
# the other node's container is not in this node's catalogue: its alias is
# unknown (503), its custom domain has no virtual host (404)
expect_eq "node-us does not know node-eu's alias" "$(get "$US_LISTEN" "eu-app.$BASE")" '{"error": "container not found", "status": 503} 503'
expect_eq "node-eu does not know node-us's alias" "$(get "$EU_LISTEN" "us-app.$BASE")" '{"error": "container not found", "status": 503} 503'
expect_eq "node-us has no route for node-eu's domain" "$(get "$US_LISTEN" "eu.example.com" | tail -c 4)" " 404"
expect_eq "node-eu has no route for node-us's domain" "$(get "$EU_LISTEN" "us.example.com" | tail -c 4)" " 404"
expect_eq "node-us: a node-eu URL is not served here" "$(get "$US_LISTEN" "$HEU" | tail -c 4)" " 503"
check "the stub translated one container per node" \
    bash -c "grep -q 'node node-us: .* 1 projects, 1 containers;' '$WORK/stub.log' && grep -q 'node node-eu: .* 1 projects, 1 containers;' '$WORK/stub.log'"

# live: a container added on node-eu (in a project of its own) reaches
# node-eu only; node-us is not even sent a new version
write_fleet "$WORK/fleet.new" "- { id: $CEU2, project: $PROJ2, node: node-eu, state: running, address: 127.0.0.1, services: [http-$APP_EU] }"
mv "$WORK/fleet.new" "$WORK/fleet.yaml"
check "node-eu routes the added container" wait_get "$EU_LISTEN" "$HEU2" "hello from eu 200"
check "node-eu was sent its new project" grep -q "(node node-eu): sent Project version 2 " "$WORK/stub.log"
check "node-us was sent nothing new" bash -c "! grep -qE '\(node node-us\): sent [A-Za-z]+ version 2 ' '$WORK/stub.log'"
expect_eq "node-us still serves its container" "$(get "$US_LISTEN" "$HUS")" "hello from us 200"

kill -TERM "$EU_PID"; rc=0; wait "$EU_PID" || rc=$?
expect_eq "node-eu data plane exits 0" "$rc" "0"
check "no sanitizer report from node-eu" bash -c "! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' '$WORK/dataplane-eu.log'"
ADMIN_PORT=$US_ADMIN finish
