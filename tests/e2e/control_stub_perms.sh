#!/usr/bin/env bash
# control-stub permissions end to end (Delta ADS, the real data plane): the
# fleet's `permissions:` become the Policy of the Project / Container
# resources, and an edit of them changes what the same container URL
# answers: 200 -> 403 (default deny) -> 200 (a container's own permissions
# replace its project's) ...
#
# GROUP CASES (jwt / password / ip / token, marked "[groups]"): they need
# the data plane's group support. While the data plane refuses a Policy
# with groups (it NACKs it: "groups: not supported yet"), they are reported
# as skipped, not failed; once it accepts them they run for real.
. "$(dirname "$0")/lib.sh"

STUB="$(dirname "$DP_BIN")/control-stub/control-stub"
[ -x "$STUB" ] || { fail "control-stub binary not found next to $DP_BIN"; finish; }

LISTEN_PORT=$(free_port); ADMIN_PORT=$(free_port); ADS_PORT=$(free_port)
APP_PORT=$(free_port); APP2_PORT=$(free_port)
start_upstream app "$APP_PORT"
start_upstream app2 "$APP2_PORT"

PROJ=5f0c1a2b3c4d5e6f7a8b9c0d
C1=aa00000000000000000000a1   # http-$APP_PORT
C2=bb00000000000000000000b2   # http-$APP2_PORT
BASE=containers.example.test
NODE=node-us
FLEET="$WORK/fleet.yaml"
H1="$PROJ-$C1-http-$APP_PORT-1.$NODE.$BASE"
H2="$PROJ-$C2-http-$APP2_PORT-1.$NODE.$BASE"

# write_fleet PROJECT_PERMISSIONS_YAML [C1_PERMISSIONS_YAML]: flow-style maps
write_fleet() {
    cat >"$FLEET.new" <<YAML
nodes:
- { name: $NODE, base_domain: $BASE, listener: { address: 127.0.0.1, port: $LISTEN_PORT } }
projects:
- id: $PROJ
  permissions: $1
containers:
- id: $C1
  project: $PROJ
  node: $NODE
  state: running
  address: 127.0.0.1
  services: [http-$APP_PORT]
${2:+  permissions: $2}
- { id: $C2, project: $PROJ, node: $NODE, state: running, address: 127.0.0.1, services: [http-$APP2_PORT] }
YAML
    mv "$FLEET.new" "$FLEET"
}

# code HOST [curl args...] -> the status code; body BODY-and-code likewise
code() { local h=$1; shift; curl -s -o /dev/null -m 5 -w '%{http_code}' -H "Host: $h" "$@" "http://127.0.0.1:$LISTEN_PORT${P:-/}"; }
get() { local h=$1; shift; curl -s -m 5 -w ' %{http_code}' -H "Host: $h" "$@" "http://127.0.0.1:$LISTEN_PORT${P:-/}" | tr -d '\n'; }
wait_code() { # wait_code HOST WANT MS [curl args]
    local h=$1 want=$2 n=$(($3 / 50)) i; shift 3
    for i in $(seq 1 "$n"); do [ "$(code "$h" "$@")" = "$want" ] && return 0; sleep 0.05; done
    return 1
}
# sent_version TYPE: the version of TYPE (Project, Container) the stub last
# sent; wait_acked TYPE V: 0 when the data plane ACKed version V, 1 when it
# NACKed it (the NACK line is in $NACK), 2 on timeout
sent_version() { grep -o "sent $1 version [0-9]*" "$WORK/stub.log" | tail -1 | awk '{print $4}'; }
wait_acked() {
    local i
    NACK=
    for i in $(seq 1 100); do
        grep -q "node $NODE: ACK $1 version $2 " "$WORK/stub.log" && return 0
        NACK=$(grep "node $NODE: NACK $1 version $2 " "$WORK/stub.log" | tail -1)
        [ -n "$NACK" ] && return 1
        sleep 0.05
    done
    return 2
}
# push_groups DESC PROJECT_PERMS [C1_PERMS]: writes the fleet and waits for
# the data plane's answer to the Project / Container versions it caused;
# returns 1 (and says why) if the data plane refuses groups or NACKs
GROUPS_SKIPPED=0
push_groups() {
    local desc=$1 bp bc i t v rc; shift
    bp=$(sent_version Project); bc=$(sent_version Container)
    write_fleet "$@"
    for i in $(seq 1 100); do
        [ "$(sent_version Project)" != "$bp" ] || [ "$(sent_version Container)" != "$bc" ] && break
        sleep 0.02
    done
    sleep 0.1 # both types of one edit are pushed together
    for t in Project Container; do
        v=$(sent_version $t)
        [ "$t" = Project ] && [ "$v" = "$bp" ] && continue
        [ "$t" = Container ] && [ "$v" = "$bc" ] && continue
        wait_acked "$t" "$v"; rc=$?
        if [ "$rc" -eq 1 ] && [[ "$NACK" == *"not supported yet"* ]]; then
            echo "# SKIP [groups] $desc: the data plane refuses groups: ${NACK##*: code }"
            GROUPS_SKIPPED=$((GROUPS_SKIPPED + 1))
            return 1
        fi
        [ "$rc" -eq 0 ] || { fail "[groups] $desc: $t version $v not ACKed: ${NACK:-timeout}"; return 1; }
    done
    return 0
}

write_fleet "{ default: allow }"
"$STUB" -c "$FLEET" --listen "127.0.0.1:$ADS_PORT" >>"$WORK/stub.log" 2>&1 &
STUB_PID=$!; PIDS+=($STUB_PID)
wait_port "$ADS_PORT" || { fail "control-stub did not listen"; finish; }
ads_bootstrap "$NODE" DELTA_GRPC "$ADS_PORT" "$ADMIN_PORT" >"$WORK/boot.yaml"
start_dataplane "$WORK/boot.yaml" || { fail "data plane start"; finish; }

# --- default allow / deny -------------------------------------------------
check "default allow: 200" wait_code "$H1" 200 5000
expect_eq "default allow: reaches the upstream" "$(get "$H1")" "hello from app 200"
write_fleet "{ default: deny }"
check "default deny: the same URL goes 403" wait_code "$H1" 403 2000
expect_eq "default deny: 403 JSON" "$(get "$H1")" '{"error": "access denied", "status": 403} 403'
expect_eq "default deny: the other container too" "$(code "$H2")" "403"
check "the project change went as one Project resource" grep -q "sent Project version 2 .*(delta: 1 resources, 0 removed)" "$WORK/stub.log"
write_fleet "{ default: deny }" "{ default: allow }"
check "a container's own permissions replace its project's: 200" wait_code "$H1" 200 2000
expect_eq "the other container still follows its project: 403" "$(code "$H2")" "403"
write_fleet "{ default: allow }" "{ default: deny }"
check "container deny under a project allow: 403" wait_code "$H1" 403 2000
expect_eq "and the other container is allowed" "$(code "$H2")" "200"
write_fleet "~"
check "no permissions at all: the data plane denies (403)" wait_code "$H2" 403 2000
write_fleet "{ default: allow }"
check "back to allow: 200" wait_code "$H1" 200 2000
expect_eq "back to allow: the other container too" "$(code "$H2")" "200"
check "no NACK so far" bash -c "! grep -q NACK '$WORK/stub.log'"

# --- [groups] password and token ---------------------------------------------
printf 'dev:%s\n' "$(python3 -c "import base64,hashlib; print('{SHA}' + base64.b64encode(hashlib.sha1(b'dev-pass').digest()).decode())")" >"$WORK/dev.htpasswd"
htpasswd -nbB -C 5 ops ops-pass 2>/dev/null | grep . >>"$WORK/dev.htpasswd" || echo "# htpasswd (apache2-utils) missing: no bcrypt user"
PW_TOKEN="{ default: deny, groups: [
    { name: developers, type: password, htpasswd_file: dev.htpasswd, services: [{ service: http-$APP_PORT, access: full }] },
    { name: viewers, type: token, tokens: [view-token], services: [{ service: '*', access: read-only }] } ] }"
if push_groups "password and token" "$PW_TOKEN"; then
    r=$(curl -s -i -m 5 -H "Host: $H1" "http://127.0.0.1:$LISTEN_PORT/" | tr -d '\r')
    expect_contains "[groups] no credentials: 401" "$r" "HTTP/1.1 401"
    expect_contains "[groups] 401 carries a Basic challenge" "$(printf '%s' "$r" | grep -i '^www-authenticate:')" "Basic realm="
    expect_eq "[groups] wrong password: 401" "$(code "$H1" -u dev:nope)" "401"
    expect_eq "[groups] right password: 200" "$(get "$H1" -u dev:dev-pass)" "hello from app 200"
    grep -q '^ops:' "$WORK/dev.htpasswd" && expect_eq "[groups] bcrypt user: 200" "$(code "$H1" -u ops:ops-pass)" "200"
    echo=$(P=/echo get "$H1" -u dev:dev-pass)
    expect_not_contains "[groups] Authorization is not forwarded by default" "$echo" '"authorization"'
    # docs/permissions.md: 401 while a credential group (here the viewers' token) would grant it
    expect_eq "[groups] password user on a service only a token grants: 401" "$(code "$H2" -u dev:dev-pass)" "401"
    expect_contains "[groups] ... with a Bearer challenge" "$(curl -s -i -m 5 -u dev:dev-pass -H "Host: $H2" "http://127.0.0.1:$LISTEN_PORT/" | tr -d '\r' | grep -i '^www-authenticate:')" "Bearer realm="
    expect_eq "[groups] read-only token: GET 200" "$(code "$H2" -H 'Authorization: Bearer view-token')" "200"
    expect_eq "[groups] read-only token: POST 403" "$(code "$H2" -X POST -d x -H 'Authorization: Bearer view-token')" "403"
    expect_eq "[groups] wrong token: 401" "$(code "$H2" -H 'Authorization: Bearer other-token')" "401"
fi
if push_groups "forward_credentials" "{ default: deny, forward_credentials: true, groups: [
    { name: developers, type: password, htpasswd_file: dev.htpasswd, services: [http-$APP_PORT] } ] }"; then
    check "[groups] forward_credentials: still granted" wait_code "$H1" 200 2000 -u dev:dev-pass
    expect_contains "[groups] forward_credentials: the upstream sees Authorization" "$(P=/echo get "$H1" -u dev:dev-pass)" '"authorization"'
fi

# --- [groups] ip ---------------------------------------------------------------
if push_groups "ip" "{ default: deny, groups: [
    { name: local, type: ip, cidrs: [127.0.0.1/32], services: [http-$APP2_PORT] },
    { name: developers, type: password, htpasswd_file: dev.htpasswd, services: [http-$APP_PORT] } ] }"; then
    expect_eq "[groups] ip group grants its service without credentials" "$(code "$H2")" "200"
    expect_eq "[groups] ip member, service only the password group grants: 401" "$(code "$H1")" "401"
    expect_eq "[groups] and the password group still grants: 200" "$(code "$H1" -u dev:dev-pass)" "200"
fi
if push_groups "ip elsewhere" "{ default: deny, groups: [
    { name: office, type: ip, cidrs: [10.99.0.0/16], services: ['*'] },
    { name: developers, type: password, htpasswd_file: dev.htpasswd, services: [http-$APP_PORT] } ] }"; then
    expect_eq "[groups] not in the ip group, no credential group grants the service: 403" "$(code "$H2")" "403"
    expect_eq "[groups] not in the ip group, the password group grants: 401" "$(code "$H1")" "401"
fi

# --- [groups] jwt (a container's own permissions) --------------------------
python3 - "$WORK" <<'PY'
import base64, json, sys, time
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
work = sys.argv[1]
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
n = key.public_key().public_numbers()
jwks = {"keys": [{"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig",
                  "n": b64(n.n.to_bytes((n.n.bit_length() + 7) // 8, "big")), "e": b64(n.e.to_bytes(3, "big"))}]}
open(f"{work}/jwks.json", "w").write(json.dumps(jwks))
def tok(claims):
    h = b64(json.dumps({"alg": "RS256", "kid": "k1", "typ": "JWT"}).encode())
    p = b64(json.dumps(claims).encode())
    s = key.sign(f"{h}.{p}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{h}.{p}.{b64(s)}"
now = int(time.time())
base = {"iss": "https://issuer.test", "aud": "containers", "exp": now + 3600, "iat": now}
open(f"{work}/jwt.admin", "w").write(tok(dict(base, role="admin")))
open(f"{work}/jwt.guest", "w").write(tok(dict(base, role="guest")))
open(f"{work}/jwt.expired", "w").write(tok(dict(base, role="admin", exp=now - 600)))
PY
if [ -f "$WORK/jwks.json" ] && push_groups "jwt" "{ default: allow }" "{ default: deny, groups: [
    { name: admins, type: jwt, issuer: 'https://issuer.test', audiences: [containers], jwks_file: jwks.json,
      claims: { role: [admin] }, services: ['*'] } ] }"; then
    check "[groups] jwt: no token: 401" wait_code "$H1" 401 2000
    expect_eq "[groups] jwt: admin token: 200" "$(code "$H1" -H "Authorization: Bearer $(cat "$WORK/jwt.admin")")" "200"
    expect_eq "[groups] jwt: the access_token parameter works too" "$(P="/?access_token=$(cat "$WORK/jwt.admin")" code "$H1")" "200"
    expect_eq "[groups] jwt: claim not matching: 401" "$(code "$H1" -H "Authorization: Bearer $(cat "$WORK/jwt.guest")")" "401"
    expect_eq "[groups] jwt: expired: 401" "$(code "$H1" -H "Authorization: Bearer $(cat "$WORK/jwt.expired")")" "401"
    expect_eq "[groups] jwt: the project's allow still applies to the other container" "$(code "$H2")" "200"
fi
[ "$GROUPS_SKIPPED" -gt 0 ] && echo "# [groups]: $GROUPS_SKIPPED group cases skipped (the data plane refuses groups)"

# --- the fleet's plain tokens never reach the data plane ------------------
check "the data plane's log never shows the plain token" bash -c "! grep -q view-token '$WORK/dataplane.log'"
kill -TERM "$STUB_PID"; rc=0; wait "$STUB_PID" || rc=$?
expect_eq "control-stub exits 0 on SIGTERM" "$rc" "0"
grep -qE "AddressSanitizer|LeakSanitizer|runtime error:" "$WORK/stub.log" && fail "sanitizer report in the stub log"
finish
