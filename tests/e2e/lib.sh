# Shared helpers for the end-to-end tests: start real processes, wait for
# ports, assert, and clean everything up. Each test sources this file and
# ends with `finish`, which prints "N passed, N failed".
set -u
: "${DP_BIN:?DP_BIN (the dataplane binary) must be set}"
: "${DP_SRC:?DP_SRC (the source tree) must be set}"
E2E_DIR="$DP_SRC/tests/e2e"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dp-e2e.XXXXXX")
PIDS=()
PASSED=0
FAILED=0

cleanup() {
    for p in "${PIDS[@]:-}"; do
        [ -n "$p" ] && kill "$p" 2>/dev/null
    done
    for p in "${PIDS[@]:-}"; do
        [ -n "$p" ] && wait "$p" 2>/dev/null
    done
    if [ "$FAILED" -gt 0 ] || [ -n "${KEEP_WORK:-}" ]; then
        echo "work dir kept: $WORK" >&2
        for f in "$WORK"/*.log; do [ -f "$f" ] && { echo "--- $f (tail)" >&2; tail -n 30 "$f" >&2; }; done
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

ok() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL - $*"; }

# check DESC CMD...: passes if the command succeeds
check() {
    local desc=$1; shift
    if "$@"; then ok "$desc"; else fail "$desc"; fi
}

# expect_eq DESC GOT WANT
expect_eq() {
    if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: got '$2', want '$3'"; fi
}

# expect_contains DESC HAYSTACK NEEDLE
expect_contains() {
    case "$2" in
    *"$3"*) ok "$1" ;;
    *) fail "$1: '$3' not in: $(printf '%s' "$2" | head -c 400)" ;;
    esac
}

expect_not_contains() {
    case "$2" in
    *"$3"*) fail "$1: '$3' unexpectedly in: $(printf '%s' "$2" | head -c 400)" ;;
    *) ok "$1" ;;
    esac
}

# Stops the data plane with SIGTERM (a drain) and checks it exits 0 with
# no sanitizer report in its log; then prints the summary and exits.
finish() {
    if [ -n "${DP_PID:-}" ] && kill -0 "$DP_PID" 2>/dev/null; then
        kill -TERM "$DP_PID"
        local rc=0
        wait "$DP_PID" || rc=$?
        expect_eq "data plane exits 0 on SIGTERM" "$rc" "0"
    fi
    if [ -f "$WORK/dataplane.log" ]; then
        if grep -qE "AddressSanitizer|LeakSanitizer|runtime error:|ThreadSanitizer" "$WORK/dataplane.log"; then
            fail "sanitizer report in the data plane log"
            grep -m5 -E "AddressSanitizer|LeakSanitizer|runtime error:|ThreadSanitizer" "$WORK/dataplane.log"
        fi
    fi
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
    exit $?
}

# A free TCP port on 127.0.0.1, below the ephemeral range and not handed
# to a test running beside this one (free_port.py).
free_port() {
    python3 "$E2E_DIR/free_port.py"
}

wait_port() { # wait_port PORT [HOST] : up to 10 s
    local port=$1 host=${2:-127.0.0.1} i
    for i in $(seq 1 200); do
        if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    echo "port $host:$port did not open" >&2
    return 1
}

# start_upstream NAME PORT [extra args]: a real HTTP/1.1 server process
start_upstream() {
    local name=$1 port=$2; shift 2
    python3 "$E2E_DIR/upstream.py" --name "$name" --port "$port" --log "$WORK/$name.requests" "$@" \
        >"$WORK/$name.log" 2>&1 &
    PIDS+=($!)
    wait_port "$port"
}

# start_dataplane BOOTSTRAP [args]: sets DP_PID; waits for the admin /ready
start_dataplane() {
    local boot=$1; shift
    "$DP_BIN" -c "$boot" --concurrency "${DP_CONCURRENCY:-2}" "$@" >>"$WORK/dataplane.log" 2>&1 &
    DP_PID=$!
    PIDS+=($DP_PID)
    local i
    for i in $(seq 1 200); do
        if [ -n "${ADMIN_PORT:-}" ] && curl -fs "http://127.0.0.1:$ADMIN_PORT/ready" >/dev/null 2>&1; then return 0; fi
        if [ -z "${ADMIN_PORT:-}" ] && [ -n "${LISTEN_PORT:-}" ] && (exec 3<>"/dev/tcp/127.0.0.1/$LISTEN_PORT") 2>/dev/null; then return 0; fi
        if ! kill -0 "$DP_PID" 2>/dev/null; then
            echo "dataplane exited during start-up:" >&2
            tail -n 20 "$WORK/dataplane.log" >&2
            return 1
        fi
        sleep 0.05
    done
    echo "dataplane did not become ready" >&2
    return 1
}

# stat NAME: a counter or gauge from the admin /stats
stat() {
    curl -fs "http://127.0.0.1:$ADMIN_PORT/stats" | awk -v n="$1" -F': ' '$1 == n { print $2 }'
}

# rss_kb PID
rss_kb() { awk '/VmRSS/ { print $2 }' "/proc/$1/status"; }

# wait_eq WANT MS CMD...: runs CMD every 50 ms until it prints WANT (true),
# for at most MS milliseconds (false)
wait_eq() {
    local want=$1 ms=$2 i
    shift 2
    for i in $(seq 1 $((ms / 50))); do
        [ "$("$@")" = "$want" ] && return 0
        sleep 0.05
    done
    return 1
}

# --- bootstrap builders --------------------------------------------------------
# cluster_yaml NAME PORT... : a STATIC cluster on 127.0.0.1 (indented for
# static_resources.clusters).
cluster_yaml() {
    local name=$1 p; shift
    printf '  - name: %s\n    load_assignment:\n      cluster_name: %s\n      endpoints:\n      - lb_endpoints:\n' "$name" "$name"
    for p in "$@"; do
        printf '        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %s } } }\n' "$p"
    done
}

# catchall_vhost CLUSTER [ROUTE_EXTRA]: one virtual host "*" sending every
# path to CLUSTER (ROUTE_EXTRA: more RouteAction fields in flow style,
# e.g. "timeout: 120s").
catchall_vhost() {
    printf '            - name: app\n              domains: ["*"]\n              routes:\n'
    printf '              - match: { prefix: "/" }\n                route: { cluster: %s%s }\n' "$1" "${2:+, $2}"
}

# ads_bootstrap NODE API_TYPE ADS_PORT ADMIN_PORT: a bootstrap whose whole
# configuration (listeners, clusters, the container catalogue) comes over ADS
# from a management server on 127.0.0.1:ADS_PORT (API_TYPE GRPC or DELTA_GRPC).
ads_bootstrap() {
    cat <<YAML
node: { id: $1, cluster: test }
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: $4 } }
dynamic_resources:
  ads_config:
    api_type: $2
    transport_api_version: V3
    grpc_services:
    - google_grpc: { target_uri: "127.0.0.1:$3", stat_prefix: ads }
  lds_config: { ads: {}, resource_api_version: V3 }
  cds_config: { ads: {}, resource_api_version: V3 }
YAML
}

# hcm_listener NAME PORT STAT_PREFIX [HCM_YAML] [VHOSTS_YAML] [FILTERS_YAML]
# [LISTENER_YAML]: one item of static_resources.listeners, an HCM on
# 127.0.0.1:PORT. HCM_YAML: more HCM fields at their indentation; VHOSTS_YAML:
# the inline route config's virtual hosts (default: everything to cluster
# "app"); FILTERS_YAML: http_filters items before the router; LISTENER_YAML:
# more Listener fields at their indentation.
hcm_listener() {
    cat <<YAML
  - name: $1
    address: { socket_address: { address: 127.0.0.1, port_value: $2 } }
${7:+$7
}    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: $3
${4:+$4
}          http_filters:
${6:+$6
}          - name: envoy.filters.http.router
            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }
          route_config:
            virtual_hosts:
${5:-$(catchall_vhost app)}
YAML
}

# hcm_bootstrap VHOSTS_YAML CLUSTERS_YAML [HCM_YAML] [FILTERS_YAML]: admin on
# $ADMIN_PORT, listener "ingress" on $LISTEN_PORT (hcm_listener, stat_prefix
# ingress_http), then static clusters.
hcm_bootstrap() {
    cat <<YAML
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: $ADMIN_PORT } }
static_resources:
  listeners:
$(hcm_listener ingress "$LISTEN_PORT" ingress_http "${3:-}" "$1" "${4:-}")
  clusters:
$2
YAML
}
