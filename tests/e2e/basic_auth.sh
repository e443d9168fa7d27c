#!/usr/bin/env bash
# envoy.filters.http.basic_auth through the real binary, with htpasswd lines
# made at test time by htpasswd (apache2-utils) and mkpasswd (whois):
# 200 with each scheme ({SHA}, bcrypt, sha512-crypt, yescrypt); 401 with
# Envoy's WWW-Authenticate and messages on missing / wrong / unknown /
# malformed credentials; a per-route BasicAuthPerRoute replacing the
# users; forward_username_header reaching the upstream (a spoofed one
# removed); the Authorization header passed on; a slow bcrypt (cost 12)
# verification in flight not delaying other requests on the single worker;
# a client leaving during a verification; stats; config errors naming the
# htpasswd line.
. "$(dirname "$0")/lib.sh"

for tool in htpasswd mkpasswd curl; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done

LISTEN_PORT=$(free_port); ADMIN_PORT=$(free_port); APP_PORT=$(free_port)
start_upstream app "$APP_PORT"

# --- credentials, from independent tools ------------------------------------
{
    htpasswd -nbs alice alice-pw | head -n 1          # {SHA}
    htpasswd -nbB bob bob-pw | head -n 1              # bcrypt $2y$ (cost 5)
    printf 'carol:%s\n' "$(mkpasswd -m sha512crypt carol-pw)"
    printf 'dave:%s\n' "$(mkpasswd -m yescrypt dave-pw)"
    htpasswd -nbB -C 12 slow slow-pw | head -n 1      # bcrypt cost 12: ~250 ms per check
} >"$WORK/users.htpasswd"
ROUTE_LINE=$(htpasswd -nbB route route-pw | head -n 1)
for u in alice bob carol dave slow; do
    grep -q "^$u:" "$WORK/users.htpasswd" || { fail "htpasswd line for $u"; finish; }
done

DP_CONCURRENCY=1 # one worker: the slow-hash test needs every request on it

FILTERS=$(cat <<YAML
          - name: envoy.filters.http.basic_auth
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.basic_auth.v3.BasicAuth
              users: { filename: "$WORK/users.htpasswd" }
              forward_username_header: X-Auth-User
YAML
)
VHOSTS=$(cat <<YAML
            - name: app
              domains: ["*"]
              routes:
              - match: { prefix: "/override/" }
                route: { cluster: app, prefix_rewrite: "/echo/" }
                typed_per_filter_config:
                  envoy.filters.http.basic_auth:
                    "@type": type.googleapis.com/envoy.extensions.filters.http.basic_auth.v3.BasicAuthPerRoute
                    users:
                      inline_string: |
                        # per-route users replace the filter's
                        $ROUTE_LINE
              - match: { prefix: "/" }
                route: { cluster: app }
YAML
)
hcm_bootstrap "$VHOSTS" "$(cluster_yaml app "$APP_PORT")" "" "$FILTERS" >"$WORK/bootstrap.yaml"

start_dataplane "$WORK/bootstrap.yaml" || { fail "start"; finish; }
P="http://127.0.0.1:$LISTEN_PORT"

# --- each scheme ------------------------------------------------------------------
for up in alice:alice-pw bob:bob-pw carol:carol-pw dave:dave-pw slow:slow-pw; do
    u=${up%%:*}
    out=$(curl -s -w '\n%{http_code}' -u "$up" -H 'Host: app.test' "$P/echo")
    expect_eq "$u: 200 with the right password" "$(echo "$out" | tail -n 1)" "200"
    expect_contains "$u: the upstream sees the user name" "$out" "[\"x-auth-user\", \"$u\"]"
    out=$(curl -s -o /dev/null -w '%{http_code}' -u "$u:wrong-pw" -H 'Host: app.test' "$P/echo")
    expect_eq "$u: 401 with a wrong password" "$out" "401"
done
# cached now: the right password again, then a wrong one, then right
out=$(curl -s -o /dev/null -w '%{http_code}' -u bob:bob-pw -H 'Host: app.test' "$P/echo")
expect_eq "bob again (credential cache): 200" "$out" "200"
out=$(curl -s -o /dev/null -w '%{http_code}' -u bob:bob-pwX -H 'Host: app.test' "$P/echo")
expect_eq "bob, wrong password after a right one: 401" "$out" "401"

# --- the Authorization header and forward_username_header -------------------------
auth="Basic $(printf '%s' 'alice:alice-pw' | base64)"
out=$(curl -s -H 'Host: app.test' -H "Authorization: $auth" -H 'X-Auth-User: admin' "$P/echo")
expect_contains "Authorization is passed upstream unchanged" "$out" "[\"authorization\", \"$auth\"]"
expect_contains "forward_username_header carries the user" "$out" '["x-auth-user", "alice"]'
expect_not_contains "the client's X-Auth-User is removed" "$out" '"admin"'
n=$(printf '%s' "$out" | grep -o '"x-auth-user"' | wc -l)
expect_eq "exactly one x-auth-user upstream" "$n" "1"

# --- failures: status, WWW-Authenticate (Envoy's buildOriginalUri), message -------
deny_check() { # DESC MESSAGE CURL_ARGS...
    local desc=$1 msg=$2; shift 2
    local resp
    resp=$(curl -s -D - -H 'Host: app.test' "$@" "$P/echo?x=1" | tr -d '\r')
    expect_contains "$desc: 401" "$(echo "$resp" | head -n 1)" "401"
    expect_contains "$desc: WWW-Authenticate" "$resp" 'www-authenticate: Basic realm="http://app.test/echo?x=1"'
    expect_contains "$desc: Envoy's message" "$resp" "\"error\": \"$msg\""
    expect_contains "$desc: JSON status" "$resp" '"status": 401'
}
deny_check "missing credentials" "User authentication failed. Missing username and password."
deny_check "wrong password" "User authentication failed. Invalid username/password combination." -u alice:nope
deny_check "unknown user" "User authentication failed. Invalid username/password combination." -u mallory:alice-pw
deny_check "bcrypt user, wrong password" "User authentication failed. Invalid username/password combination." -u bob:nope
deny_check "Bearer scheme" "User authentication failed. Expected 'Basic' authentication scheme." -H 'Authorization: Bearer abc'
deny_check "bad base64" "User authentication failed. Invalid basic credential format." -H 'Authorization: Basic !!!!'
deny_check "no colon" "User authentication failed. Invalid basic credential format." \
    -H "Authorization: Basic $(printf alice | base64)"
got=$(grep -c '"target": "/echo?x=1"' "$WORK/app.requests" 2>/dev/null)
expect_eq "no denied request reached the upstream" "${got:-0}" "0"

# --- per-route users ------------------------------------------------------------------
out=$(curl -s -w '\n%{http_code}' -u route:route-pw -H 'Host: app.test' "$P/override/x")
expect_eq "per-route user on its route: 200" "$(echo "$out" | tail -n 1)" "200"
expect_contains "per-route user forwarded" "$out" '["x-auth-user", "route"]'
out=$(curl -s -o /dev/null -w '%{http_code}' -u alice:alice-pw -H 'Host: app.test' "$P/override/x")
expect_eq "filter user on the overridden route: 401" "$out" "401"
out=$(curl -s -o /dev/null -w '%{http_code}' -u route:route-pw -H 'Host: app.test' "$P/echo")
expect_eq "per-route user elsewhere: 401" "$out" "401"

# --- a slow verification does not hold the worker ---------------------------------------
# Two cost-12 bcrypt checks with wrong passwords (never cached) keep both
# offload threads busy; a {SHA} request sent meanwhile on the same (only)
# worker must be answered at once, before they finish.
t0=$(date +%s%N)
(curl -s -o /dev/null -w '%{http_code} %{time_total}' -u slow:wrong1 "$P/echo" >"$WORK/slow1.out"; date +%s%N >"$WORK/slow1.end") &
s1=$!
(curl -s -o /dev/null -w '%{http_code} %{time_total}' -u slow:wrong2 "$P/echo" >"$WORK/slow2.out"; date +%s%N >"$WORK/slow2.end") &
s2=$!
sleep 0.05
fast=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' -u alice:alice-pw "$P/echo")
fast_end=$(date +%s%N)
# a plain request with no credential work at all, too
plain=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' "$P/echo")
wait "$s1" "$s2"
expect_eq "fast request during slow checks: 200" "${fast%% *}" "200"
expect_eq "no-credential request during slow checks: 401" "${plain%% *}" "401"
fast_ms=$(awk -v t="${fast#* }" 'BEGIN { printf "%d", t * 1000 }')
check "fast request not delayed (${fast_ms} ms)" test "$fast_ms" -lt 100
read -r c1 t1 <"$WORK/slow1.out"; read -r c2 t2 <"$WORK/slow2.out"
expect_eq "slow check 1 denied" "$c1" "401"
expect_eq "slow check 2 denied" "$c2" "401"
slow_ms=$(awk -v t="$t1" 'BEGIN { printf "%d", t * 1000 }')
check "the slow check really was slow (${slow_ms} ms)" test "$slow_ms" -ge 150
check "the fast request finished before the slow ones" \
    test "$fast_end" -lt "$(cat "$WORK/slow1.end")" -a "$fast_end" -lt "$(cat "$WORK/slow2.end")"
echo "# slow checks took $t1 s and $t2 s; the fast request ${fast#* } s, done $(( (fast_end - t0) / 1000000 )) ms after the slow ones started"

# --- the client leaves during a verification ---------------------------------------------
for i in 1 2 3; do
    curl -s -o /dev/null --max-time 0.05 -u "slow:gone$i" "$P/echo"
done
sleep 0.5 # let the abandoned hashes finish on the pool
out=$(curl -s -o /dev/null -w '%{http_code}' -u slow:slow-pw "$P/echo")
expect_eq "after abandoned checks: still 200 (cached)" "$out" "200"
out=$(curl -s -o /dev/null -w '%{http_code}' -u carol:carol-pw "$P/echo")
expect_eq "after abandoned checks: sha512-crypt user 200" "$out" "200"
check "data plane alive after abandoned checks" kill -0 "$DP_PID"

# --- stats --------------------------------------------------------------------------------
allowed=$(stat http.ingress_http.basic_auth.allowed)
denied=$(stat http.ingress_http.basic_auth.denied)
check "allowed counter counts (${allowed:-none})" test "${allowed:-0}" -ge 10
check "denied counter counts (${denied:-none})" test "${denied:-0}" -ge 15
curl -s -o /dev/null -u alice:nope "$P/echo"
expect_eq "denied counter +1 per 401" "$(stat http.ingress_http.basic_auth.denied)" "$((denied + 1))"

# --- config errors name the htpasswd line ----------------------------------------------
htpasswd -nbm frank frank-pw | head -n 1 >"$WORK/apr1.htpasswd"     # apr1: refused
{ htpasswd -nbs alice a | head -n 1; htpasswd -nbs alice b | head -n 1; } >"$WORK/dup.htpasswd"
for case in "apr1:line 1: user 'frank': apr1" "dup:line 2: duplicate user 'alice' (first defined on line 1)"; do
    name=${case%%:*}; want=${case#*:}
    sed -e "s#$WORK/users.htpasswd#$WORK/$name.htpasswd#" "$WORK/bootstrap.yaml" >"$WORK/$name.yaml"
    out=$("$DP_BIN" --mode validate -c "$WORK/$name.yaml" 2>&1); rc=$?
    expect_eq "$name htpasswd: bootstrap refused" "$rc" "1"
    expect_contains "$name htpasswd: error names the field" "$out" "users"
    expect_contains "$name htpasswd: error names the line" "$out" "$want"
done

finish
