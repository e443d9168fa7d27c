#!/usr/bin/env bash
# Transparent upstreams (issue #7): the container sees the real client
# address as its TCP peer, over IPv4 and IPv6, through HTTP/1.1, HTTP/2
# and WebSocket, with the kernel set up by the data plane itself (nothing
# here runs nft or ip rule). Then the fallbacks, with the data plane
# stripped of CAP_NET_ADMIN/CAP_NET_RAW: refused at start-up without a
# fallback; with FORWARD_CLIENT_ADDRESS the address travels in
# X-Forwarded-For / X-Real-IP, or in a PROXY v2 header to a cluster that
# sends one.
#
# Three network namespaces of the test's own (client, proxy, container),
# addresses from 198.18.0.0/15 and 2001:db8::/32. Reported as skipped (77)
# with the reason where namespaces cannot be made.
. "$(dirname "$0")/lib.sh"

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "network namespaces need root"
command -v ip >/dev/null || skip "ip(8) missing"
command -v setpriv >/dev/null || skip "setpriv missing (util-linux)"

S=$$
CLI=dpt-cli-$S PX=dpt-px-$S CTR=dpt-ctr-$S
ip netns add "$CLI" 2>"$WORK/netns.err" || skip "cannot create a network namespace: $(cat "$WORK/netns.err")"
ns_cleanup() {
    for n in "$CLI" "$PX" "$CTR"; do ip netns pids "$n" 2>/dev/null | xargs -r kill 2>/dev/null; done
    sleep 0.2
    for n in "$CLI" "$PX" "$CTR"; do ip netns del "$n" 2>/dev/null; done
    cleanup
}
trap ns_cleanup EXIT
ip netns add "$PX"
ip netns add "$CTR"
N() { ip netns exec "$@"; }
for n in "$CLI" "$PX" "$CTR"; do
    ip -n "$n" link set lo up
    N "$n" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
done
ip link add c0 netns "$CLI" type veth peer name p0 netns "$PX"
ip link add k0 netns "$CTR" type veth peer name p1 netns "$PX"
ip -n "$CLI" addr add 198.18.0.2/24 dev c0
ip -n "$CLI" addr add 2001:db8:18::2/64 dev c0 nodad
ip -n "$PX" addr add 198.18.0.1/24 dev p0
ip -n "$PX" addr add 2001:db8:18::1/64 dev p0 nodad
ip -n "$PX" addr add 198.19.0.1/24 dev p1
ip -n "$PX" addr add 2001:db8:19::1/64 dev p1 nodad
ip -n "$CTR" addr add 198.19.0.2/24 dev k0
ip -n "$CTR" addr add 2001:db8:19::2/64 dev k0 nodad
for x in "$CLI c0" "$PX p0" "$PX p1" "$CTR k0"; do set -- $x; ip -n "$1" link set "$2" up; done
ip -n "$CLI" route add default via 198.18.0.1
ip -n "$CLI" -6 route add default via 2001:db8:18::1
# the container's replies must go back through the proxy: its default route
ip -n "$CTR" route add default via 198.19.0.1
ip -n "$CTR" -6 route add default via 2001:db8:19::1

# the containers' servers: plain, and one that takes a PROXY header
for b in 198.19.0.2 2001:db8:19::2; do
    N "$CTR" python3 "$E2E_DIR/peer_server.py" --bind "$b" --port 9000 >>"$WORK/peer.log" 2>&1 &
    PIDS+=($!)
done
N "$CTR" python3 "$E2E_DIR/peer_server.py" --bind 198.19.0.2 --port 9001 --proxy-protocol >>"$WORK/peer.log" 2>&1 &
PIDS+=($!)
for hp in 198.19.0.2:9000 '[2001:db8:19::2]:9000' 198.19.0.2:9001; do
    for _ in $(seq 1 100); do
        N "$CTR" curl -s -o /dev/null -m 1 "http://$hp/" && break
        sleep 0.05
    done
done

# bootstrap LISTENER_FILTERS HTTP_FILTERS: listeners on 198.18.0.1:8080 and
# [2001:db8:18::1]:8080, vhosts v4.test / v6.test / pp.test
bootstrap() {
    local lf=$1 hf=$2 fam
    cat <<YAML
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 9901 } }
static_resources:
  listeners:
YAML
    for fam in 198.18.0.1 2001:db8:18::1; do
        cat <<YAML
  - name: in-$fam
    address: { socket_address: { address: "$fam", port_value: 8080 } }
${lf:+    listener_filters:
$lf
}    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: in
          xff_num_trusted_hops: 1
          upgrade_configs: [{ upgrade_type: websocket }]
          http_filters:
${hf:+$hf
}          - name: envoy.filters.http.router
            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }
          route_config:
            virtual_hosts:
            - { name: v4, domains: ["v4.test"], routes: [{ match: { prefix: "/" }, route: { cluster: ctr4 } }] }
            - { name: v6, domains: ["v6.test"], routes: [{ match: { prefix: "/" }, route: { cluster: ctr6 } }] }
            - { name: pp, domains: ["pp.test"], routes: [{ match: { prefix: "/" }, route: { cluster: ctr4pp } }] }
            - { name: down, domains: ["down.test"], routes: [{ match: { prefix: "/" }, route: { cluster: ctrdown } }] }
YAML
    done
    cat <<YAML
  clusters:
  - name: ctr4
    load_assignment: { cluster_name: ctr4, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 198.19.0.2, port_value: 9000 } } } }] }] }
  - name: ctr6
    load_assignment: { cluster_name: ctr6, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "2001:db8:19::2", port_value: 9000 } } } }] }] }
  - name: ctrdown
    load_assignment: { cluster_name: ctrdown, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 198.19.0.2, port_value: 9999 } } } }] }] }
  - name: ctr4pp
    transport_socket:
      name: envoy.transport_sockets.upstream_proxy_protocol
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.transport_sockets.proxy_protocol.v3.ProxyProtocolUpstreamTransport
        config: { version: V2 }
        transport_socket:
          name: envoy.transport_sockets.raw_buffer
          typed_config: { "@type": type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer }
    load_assignment: { cluster_name: ctr4pp, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 198.19.0.2, port_value: 9001 } } } }] }] }
YAML
}

ORIGSRC_LF='    - name: envoy.filters.listener.original_src
      typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.listener.original_src.v3.OriginalSrc }'
FALLBACK_LF='    - name: dataplane.filters.listener.original_src_fallback
      typed_config: { "@type": type.googleapis.com/dataplane.transparent.v1.OriginalSrcFallback, action: FORWARD_CLIENT_ADDRESS }'
ORIGSRC_HF='          - name: envoy.filters.http.original_src
            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.original_src.v3.OriginalSrc }'

# run_dp BOOTSTRAP [PREFIX...]: the data plane in the proxy namespace; waits for /ready
run_dp() {
    local boot=$1; shift
    # not through N (a function): a background function is a subshell, and
    # DP_PID must be the data plane itself
    ip netns exec "$PX" "$@" "$DP_BIN" -c "$boot" --concurrency 2 --drain-time-s 2 >>"$WORK/dataplane.log" 2>&1 &
    DP_PID=$!
    PIDS+=($DP_PID)
    for _ in $(seq 1 200); do
        N "$PX" curl -fs http://127.0.0.1:9901/ready >/dev/null 2>&1 && return 0
        kill -0 "$DP_PID" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}
stop_dp() {
    kill -TERM "$DP_PID"
    local rc=0
    wait "$DP_PID" || rc=$?
    expect_eq "$1: data plane exits 0 on SIGTERM" "$rc" "0"
    DP_PID=
}
get() { # get HOST URL [curl args]: the JSON the container answered
    local host=$1 url=$2; shift 2
    N "$CLI" curl -s -m 10 -H "Host: $host" "$@" "$url"
}
field() { /usr/bin/python3 -c 'import json,sys; d=json.loads(sys.stdin.read() or "{}"); print(d.get(sys.argv[1]))' "$1"; }
ws_get() { # ws_get PROXY_IP HOST: the container's JSON frame through a WebSocket
    N "$CLI" /usr/bin/python3 - "$1" "$2" <<'PY'
import asyncio, socket, sys, websockets
async def main():
    sock = socket.create_connection((sys.argv[1], 8080), timeout=10)
    async with websockets.connect("ws://%s/ws" % sys.argv[2], sock=sock, open_timeout=10) as ws:
        print(await asyncio.wait_for(ws.recv(), 10))
asyncio.run(main())
PY
}

# ---- 1. transparent: listener filter -------------------------------------------------
bootstrap "$ORIGSRC_LF" "" >"$WORK/t1.yaml"
if run_dp "$WORK/t1.yaml"; then ok "data plane with original_src starts"; else fail "data plane with original_src starts"; fi
o=$(N "$PX" nft list table inet dataplane_transparent 2>&1)
expect_contains "the data plane set up the nftables socket match itself" "$o" "socket transparent 1 meta mark set 0x00006470"
o=$(ip -n "$PX" rule show; ip -n "$PX" -6 rule show)
expect_contains "... and the ip rules (IPv4 and IPv6)" "$(echo "$o" | grep -c 'fwmark 0x6470 lookup 6470')" "2"
o=$(ip -n "$PX" route show table 6470; ip -n "$PX" -6 route show table 6470)
expect_contains "... and the local routes on lo" "$(echo "$o" | grep -c 'local default dev lo')" "2"

expect_eq "IPv4, HTTP/1.1: the container sees the client" "$(get v4.test http://198.18.0.1:8080/ | field peer)" "198.18.0.2"
expect_eq "IPv4, HTTP/2: the container sees the client" \
    "$(get v4.test http://198.18.0.1:8080/ --http2-prior-knowledge | field peer)" "198.18.0.2"
expect_eq "IPv6, HTTP/1.1: the container sees the client" "$(get v6.test 'http://[2001:db8:18::1]:8080/' -g | field peer)" \
    "2001:db8:18::2"
expect_eq "IPv6, HTTP/2: the container sees the client" \
    "$(get v6.test 'http://[2001:db8:18::1]:8080/' -g --http2-prior-knowledge | field peer)" "2001:db8:18::2"
expect_eq "IPv4, WebSocket: the container sees the client" "$(ws_get 198.18.0.1 v4.test | field peer)" \
    "198.18.0.2"
expect_eq "IPv6, WebSocket: the container sees the client" \
    "$(ws_get 2001:db8:18::1 v6.test | field peer)" "2001:db8:18::2"
r=$(get v4.test http://198.18.0.1:8080/)
expect_eq "no forwarding headers needed when transparent" "$(echo "$r" | field x_real_ip)" "None"
# an IPv4 client cannot reach an IPv6 container from its own address
r=$(get v6.test http://198.18.0.1:8080/ -w '\n%{http_code}')
expect_eq "address-family mismatch: 503" "$(echo "$r" | tail -n1)" "503"
expect_contains "... saying why" "$r" "the client is IPv4, the upstream IPv6"
expect_not_contains "... never showing the internal port" "$r" "9000"
# a container that refuses: 503 each time, the client's pool does not linger
expect_eq "transparent connect refused: 503" "$(get down.test http://198.18.0.1:8080/ -o /dev/null -w '%{http_code}')" "503"
expect_eq "... again" "$(get down.test http://198.18.0.1:8080/ -o /dev/null -w '%{http_code}')" "503"
expect_eq "... and the others still served" "$(get v4.test http://198.18.0.1:8080/ | field peer)" "198.18.0.2"
# a PROXY cluster behind a transparent listener gets both
r=$(get pp.test http://198.18.0.1:8080/)
expect_eq "PROXY v2 cluster: transparent peer" "$(echo "$r" | field peer)" "198.18.0.2"
expect_eq "PROXY v2 cluster: header names the client" "$(echo "$r" | field pp_src)" "198.18.0.2"
stop_dp "transparent"
o=$(N "$PX" nft list table inet dataplane_transparent 2>&1; ip -n "$PX" rule show; ip -n "$PX" route show table 6470)
expect_not_contains "exit removes the kernel set-up" "$o" "6470"

# ---- 2. the HTTP filter: the trusted X-Forwarded-For hop -------------------------------
bootstrap "" "$ORIGSRC_HF" >"$WORK/t2.yaml"
run_dp "$WORK/t2.yaml" || fail "data plane with the original_src HTTP filter starts"
# xff_num_trusted_hops 1: the last hop (198.18.0.9) is trusted, the one before it is the client
expect_eq "HTTP filter: the trusted X-Forwarded-For hop is the source" \
    "$(get v4.test http://198.18.0.1:8080/ -H 'X-Forwarded-For: 198.18.0.77, 198.18.0.9' | field peer)" "198.18.0.77"
expect_eq "HTTP filter: without X-Forwarded-For, the peer" "$(get v4.test http://198.18.0.1:8080/ | field peer)" \
    "198.18.0.2"
stop_dp "http filter"

# ---- 3. no CAP_NET_ADMIN: refused, or the fallbacks --------------------------------------
NOCAP=(setpriv --bounding-set=-net_admin,-net_raw --inh-caps=-net_admin,-net_raw)
if run_dp "$WORK/t1.yaml" "${NOCAP[@]}"; then
    fail "without CAP_NET_ADMIN and no fallback the listener is refused"
    stop_dp "refused"
else
    o=$(cat "$WORK/dataplane.log")
    expect_contains "without CAP_NET_ADMIN and no fallback: start-up refused" "$o" \
        "envoy.filters.listener.original_src: transparent upstreams unavailable here"
    expect_contains "... the self-check names the missing capability" "$o" "CAP_NET_ADMIN missing"
    expect_contains "... with the file and line" "$o" "t1.yaml:"
fi
bootstrap "$ORIGSRC_LF
$FALLBACK_LF" "" >"$WORK/t3.yaml"
run_dp "$WORK/t3.yaml" "${NOCAP[@]}" || fail "fallback FORWARD_CLIENT_ADDRESS starts without CAP_NET_ADMIN"
expect_contains "the self-check logs why transparency is off" "$(cat "$WORK/dataplane.log")" \
    "transparent upstreams unavailable: IP_TRANSPARENT"
r=$(get v4.test http://198.18.0.1:8080/)
expect_eq "fallback: the container sees the proxy" "$(echo "$r" | field peer)" "198.19.0.1"
expect_eq "fallback: X-Real-IP carries the client" "$(echo "$r" | field x_real_ip)" "198.18.0.2"
expect_eq "fallback: X-Forwarded-For carries the client" "$(echo "$r" | field xff)" "198.18.0.2"
r=$(get v6.test 'http://[2001:db8:18::1]:8080/' -g --http2-prior-knowledge)
expect_eq "fallback, IPv6 over HTTP/2: X-Real-IP" "$(echo "$r" | field x_real_ip)" "2001:db8:18::2"
r=$(get pp.test http://198.18.0.1:8080/)
expect_eq "fallback: PROXY v2 to the cluster that takes it" "$(echo "$r" | field pp_src)" "198.18.0.2"
expect_eq "fallback: PROXY v2 version" "$(echo "$r" | field pp_version)" "2"
o=$(N "$PX" nft list tables 2>&1)
expect_not_contains "fallback: no kernel set-up attempted" "$o" "dataplane_transparent"
stop_dp "fallback"

# ---- 4. the product path: control-stub's fleet says transparent: true ------------------
STUB="$(dirname "$DP_BIN")/control-stub/control-stub"
PROJ=5f0c1a2b3c4d5e6f7a8b9c0d C1=aa00000000000000000000a1
cat >"$WORK/fleet.yaml" <<YAML
nodes:
- name: node-t
  base_domain: containers.example.test
  listener: { address: 198.18.0.1, port: 8081 }
  transparent: true
projects:
- { id: $PROJ, permissions: { default: allow } }
containers:
- { id: $C1, project: $PROJ, node: node-t, state: running, address: 198.19.0.2, services: [http-9000] }
YAML
ip netns exec "$PX" "$STUB" -c "$WORK/fleet.yaml" --listen 127.0.0.1:18000 >>"$WORK/stub.log" 2>&1 &
PIDS+=($!)
ads_bootstrap node-t GRPC 18000 9901 >"$WORK/t4.yaml"
run_dp "$WORK/t4.yaml" || fail "data plane on control-stub starts"
H="$PROJ-$C1-http-9000-1.node-t.containers.example.test"
for _ in $(seq 1 100); do
    [ "$(get "$H" http://198.18.0.1:8081/ | field peer)" = 198.18.0.2 ] && break
    sleep 0.05
done
expect_eq "fleet transparent: true: the container sees the client through its URL" \
    "$(get "$H" http://198.18.0.1:8081/ | field peer)" "198.18.0.2"
stop_dp "control-stub"

finish
