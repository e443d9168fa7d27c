#!/usr/bin/env bash
# envoy.filters.http.rbac through the real binary with curl: allow by
# header, deny by CIDR (direct_remote_ip), remote_ip from X-Forwarded-For
# (use_remote_address false with xff_num_trusted_hops 0 and 1; true ignores
# a spoofed XFF), an IPv6 listener on ::1 with IPv6 ranges, per-route
# override and disable, shadow rules that only count, Envoy's 403 body and
# stats, and a bad policy refused by --mode validate naming its path.
. "$(dirname "$0")/lib.sh"

LISTEN_PORT=$(free_port); ADMIN_PORT=$(free_port)
PB=$(free_port); PC=$(free_port); PD=$(free_port); PE=$(free_port); APP_PORT=$(free_port)
PA=$LISTEN_PORT
start_upstream app "$APP_PORT"

# ::1 may be missing (IPv6 disabled in the container): then the IPv6
# listener is left out and its checks are skipped.
HAVE_V6=0
if python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0)); s.close()' 2>/dev/null; then
    HAVE_V6=1
fi

RBAC_TYPE=type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC
PER_ROUTE=type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACPerRoute
HCM_TYPE=type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
ROUTER='- name: envoy.filters.http.router
            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }'
VHOST_ALL='virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: { prefix: "/" }
                route: { cluster: app }'

# listener NAME ADDR PORT STAT_PREFIX HCM_EXTRA RBAC_CONFIG [ROUTE_CONFIG]
listener() {
    cat <<YAML
  - name: $1
    address: { socket_address: { address: "$2", port_value: $3 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": $HCM_TYPE
          stat_prefix: $4
          $5
          http_filters:
          - name: envoy.filters.http.rbac
            typed_config:
              "@type": $RBAC_TYPE
$6
          $ROUTER
          route_config:
            ${7:-$VHOST_ALL}
YAML
}

# A: allow by header or by the office range (remote_ip, XFF trusted with 0
# hops); shadow rules deny /admin; /open has RBAC disabled, /override its
# own rules.
RBAC_A='              rules:
                action: ALLOW
                policies:
                  header-allow:
                    permissions: [{any: true}]
                    principals: [{header: {name: x-allow, string_match: {exact: "yes"}}}]
                  office:
                    permissions: [{any: true}]
                    principals: [{remote_ip: {address_prefix: 198.51.100.0, prefix_len: 24}}]
              shadow_rules:
                action: DENY
                policies:
                  no-admin:
                    permissions: [{url_path: {path: {prefix: /admin}}}]
                    principals: [{any: true}]'
ROUTES_A="virtual_hosts:
            - name: all
              domains: [\"*\"]
              routes:
              - match: { prefix: \"/open\" }
                route: { cluster: app }
                typed_per_filter_config:
                  envoy.filters.http.rbac: { \"@type\": $PER_ROUTE }
              - match: { prefix: \"/override\" }
                route: { cluster: app }
                typed_per_filter_config:
                  envoy.filters.http.rbac:
                    \"@type\": $PER_ROUTE
                    rbac:
                      rules:
                        policies:
                          key: {permissions: [{any: true}], principals: [{header: {name: x-key, exact_match: k1}}]}
              - match: { prefix: \"/\" }
                route: { cluster: app }"
# B and C: only the office range, as remote_ip
RBAC_OFFICE='              rules:
                policies:
                  office:
                    permissions: [{any: true}]
                    principals: [{remote_ip: {address_prefix: 198.51.100.0, prefix_len: 24}}]'
# D: DENY by CIDR, on the peer (direct_remote_ip) and on the derived remote address
RBAC_D='              rules:
                action: DENY
                policies:
                  loopback-peer:
                    permissions: [{url_path: {path: {prefix: /blocked}}}]
                    principals: [{direct_remote_ip: {address_prefix: 127.0.0.0, prefix_len: 8}}]
                  loopback-remote:
                    permissions: [{url_path: {path: {prefix: /remote-check}}}]
                    principals: [{remote_ip: {address_prefix: 127.0.0.0, prefix_len: 8}}]'
# E: IPv6 ranges
RBAC_E='              rules:
                policies:
                  v6-loopback:
                    permissions: [{url_path: {path: {prefix: /in}}}]
                    principals: [{direct_remote_ip: {address_prefix: "::1", prefix_len: 128}}]
                  v4-anything:
                    permissions: [{url_path: {path: {prefix: /v4}}}]
                    principals: [{direct_remote_ip: {address_prefix: 0.0.0.0, prefix_len: 0}}]
                  v6-net:
                    permissions: [{url_path: {path: {prefix: /net}}}]
                    principals: [{remote_ip: {address_prefix: "2001:db8::", prefix_len: 32}}]'

{
    cat <<YAML
node: { id: e2e-rbac, cluster: e2e }
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: $ADMIN_PORT } }
static_resources:
  listeners:
YAML
    listener a 127.0.0.1 "$PA" rbac_a "use_remote_address: false
          access_log:
          - name: envoy.access_loggers.file
            typed_config:
              \"@type\": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
              path: $WORK/access.log
              log_format: { text_format_source: { inline_string: \"%REQ(:PATH)% %RESPONSE_CODE% %RESPONSE_CODE_DETAILS%\\n\" } }" \
        "$RBAC_A" "$ROUTES_A"
    listener b 127.0.0.1 "$PB" rbac_b "xff_num_trusted_hops: 1" "$RBAC_OFFICE"
    listener c 127.0.0.1 "$PC" rbac_c "use_remote_address: true" "$RBAC_OFFICE"
    listener d 127.0.0.1 "$PD" rbac_d "use_remote_address: false" "$RBAC_D"
    [ "$HAVE_V6" = 1 ] && listener e "::1" "$PE" rbac_e "use_remote_address: false" "$RBAC_E"
    cat <<YAML
  clusters:
$(cluster_yaml app "$APP_PORT")
YAML
} >"$WORK/bootstrap.yaml"

out=$("$DP_BIN" --mode validate -c "$WORK/bootstrap.yaml" 2>&1)
expect_contains "bootstrap validates" "$out" "OK"
start_dataplane "$WORK/bootstrap.yaml" || { fail "data plane start"; finish; }

# code URL [curl args]: the status; the body lands in $WORK/body
code() {
    local url=$1; shift
    curl -s -g -o "$WORK/body" -w '%{http_code}' "$@" "$url"
}
# reached PATH: how many requests for PATH the upstream saw
reached() { grep -c "\"target\": \"$1\"" "$WORK/app.requests" 2>/dev/null || true; }
A=http://127.0.0.1:$PA; B=http://127.0.0.1:$PB; C=http://127.0.0.1:$PC; D=http://127.0.0.1:$PD

# --- allow by header, 403 body, nothing reaches the upstream ------------------
expect_eq "A: no matching policy -> 403" "$(code "$A/denied-1")" "403"
expect_eq "A: Envoy's 403 body" "$(cat "$WORK/body")" '{"error": "RBAC: access denied", "status": 403}'
expect_eq "A: denied request never reached the upstream" "$(reached /denied-1)" "0"
expect_eq "A: x-allow: yes -> 200" "$(code "$A/allowed-1" -H 'x-allow: yes')" "200"
expect_eq "A: allowed request reached the upstream" "$(reached /allowed-1)" "1"
expect_eq "A: x-allow: no -> 403" "$(code "$A/x" -H 'x-allow: no')" "403"
hdrs=$(curl -s -D - -o /dev/null "$A/x")
expect_contains "A: 403 is JSON" "$hdrs" "content-type: application/json"

for i in $(seq 1 50); do grep -q "^/denied-1 " "$WORK/access.log" 2>/dev/null && break; sleep 0.1; done
expect_eq "A: %RESPONSE_CODE_DETAILS% names Envoy's detail" "$(grep "^/denied-1 " "$WORK/access.log")" \
    "/denied-1 403 rbac_access_denied_matched_policy[none]"

# --- remote_ip from XFF: use_remote_address false, 0 trusted hops -> rightmost entry
expect_eq "A (hops 0): XFF office address -> 200" "$(code "$A/xff" -H 'X-Forwarded-For: 198.51.100.7')" "200"
expect_eq "A (hops 0): rightmost XFF entry decides -> 403" \
    "$(code "$A/xff" -H 'X-Forwarded-For: 198.51.100.7, 203.0.113.9')" "403"
expect_eq "A (hops 0): office entry rightmost -> 200" \
    "$(code "$A/xff" -H 'X-Forwarded-For: 203.0.113.9, 198.51.100.7')" "200"
# xff_num_trusted_hops 1: the second entry from the right
expect_eq "B (hops 1): second from the right is the office -> 200" \
    "$(code "$B/xff" -H 'X-Forwarded-For: 198.51.100.7, 203.0.113.9')" "200"
expect_eq "B (hops 1): second from the right is not -> 403" \
    "$(code "$B/xff" -H 'X-Forwarded-For: 203.0.113.9, 198.51.100.7')" "403"
expect_eq "B (hops 1): one entry is not enough, the peer decides -> 403" \
    "$(code "$B/xff" -H 'X-Forwarded-For: 198.51.100.7')" "403"
# use_remote_address true: a client-supplied XFF is not trusted
expect_eq "C (use_remote_address): spoofed XFF ignored -> 403" \
    "$(code "$C/spoof-c" -H 'X-Forwarded-For: 198.51.100.7')" "403"
expect_eq "C: spoofed XFF request never reached the upstream" "$(reached /spoof-c)" "0"

# --- deny by CIDR ----------------------------------------------------------------
expect_eq "D: DENY direct_remote_ip 127.0.0.0/8 on /blocked -> 403" "$(code "$D/blocked")" "403"
expect_eq "D: XFF does not change the direct peer -> 403" \
    "$(code "$D/blocked" -H 'X-Forwarded-For: 203.0.113.9')" "403"
expect_eq "D: other paths allowed -> 200" "$(code "$D/fine")" "200"
expect_eq "D: remote_ip is the peer without XFF -> 403" "$(code "$D/remote-check")" "403"
expect_eq "D: remote_ip follows XFF, direct_remote_ip does not -> 200" \
    "$(code "$D/remote-check" -H 'X-Forwarded-For: 203.0.113.9')" "200"

# --- per-route disable and override --------------------------------------------
expect_eq "A /open: RBACPerRoute without rbac disables the filter -> 200" "$(code "$A/open/x")" "200"
expect_eq "A /override: the route's rules replace the filter's -> 403 with x-allow" \
    "$(code "$A/override/x" -H 'x-allow: yes')" "403"
expect_eq "A /override: the route's principal -> 200" "$(code "$A/override/x" -H 'x-key: k1')" "200"

# --- shadow rules count but do not enforce --------------------------------------
sd0=$(stat http.rbac_a.rbac.shadow_denied); sd0=${sd0:-0}
sa0=$(stat http.rbac_a.rbac.shadow_allowed); sa0=${sa0:-0}
expect_eq "A: shadow DENY on /admin does not block -> 200" "$(code "$A/admin/panel" -H 'x-allow: yes')" "200"
expect_eq "A: shadow-denied request reached the upstream" "$(reached /admin/panel)" "1"
expect_eq "A: shadow_denied counted" "$(stat http.rbac_a.rbac.shadow_denied)" "$((sd0 + 1))"
code "$A/home" -H 'x-allow: yes' >/dev/null
expect_eq "A: shadow_allowed counted" "$(stat http.rbac_a.rbac.shadow_allowed)" "$((sa0 + 1))"
# enforced stats of listener A: count the outcomes of this script
d0=$(stat http.rbac_a.rbac.denied); a0=$(stat http.rbac_a.rbac.allowed)
code "$A/count" >/dev/null
code "$A/count" -H 'x-allow: yes' >/dev/null
expect_eq "A: denied counted" "$(stat http.rbac_a.rbac.denied)" "$((d0 + 1))"
expect_eq "A: allowed counted" "$(stat http.rbac_a.rbac.allowed)" "$((a0 + 1))"
expect_eq "C: denied counted under its own HCM prefix" "$(stat http.rbac_c.rbac.denied)" "1"

# --- IPv6 ---------------------------------------------------------------------------
if [ "$HAVE_V6" = 1 ]; then
    E="http://[::1]:$PE"
    expect_eq "E: ::1/128 peer -> 200" "$(code "$E/in")" "200"
    expect_eq "E: an IPv4 /0 never matches an IPv6 peer -> 403" "$(code "$E/v4")" "403"
    expect_eq "E: remote_ip 2001:db8::/32 from XFF -> 200" "$(code "$E/net" -H 'X-Forwarded-For: 2001:db8:1::5')" "200"
    expect_eq "E: 2001:db9:: is outside -> 403" "$(code "$E/net" -H 'X-Forwarded-For: 2001:db9::5')" "403"
    expect_eq "E: no XFF: the peer ::1 is outside -> 403" "$(code "$E/net")" "403"
else
    echo "# skip: ::1 unavailable here, IPv6 listener checks not run"
fi

# --- a bad policy is refused with its path -----------------------------------------
sed -e 's/address_prefix: 198.51.100.0, prefix_len: 24/address_prefix: 198.51.100.0\/24/' \
    "$WORK/bootstrap.yaml" >"$WORK/bad.yaml"
out=$("$DP_BIN" --mode validate -c "$WORK/bad.yaml" 2>&1); rc=$?
expect_eq "bad CIDR: validate exits 1" "$rc" "1"
expect_contains "bad CIDR: the field path" "$out" \
    'rules.policies["office"].principals[0].remote_ip.address_prefix: not an IP address'
sed -e 's/principals: \[{header: {name: x-allow, string_match: {exact: "yes"}}}\]/principals: [{authenticated: {}}]/' \
    "$WORK/bootstrap.yaml" >"$WORK/omitted.yaml"
out=$("$DP_BIN" --mode validate -c "$WORK/omitted.yaml" 2>&1); rc=$?
expect_eq "omitted field: validate exits 1" "$rc" "1"
expect_contains "omitted field: refused by its Envoy name" "$out" \
    'unknown field "authenticated" in envoy.config.rbac.v3.Principal'

finish
