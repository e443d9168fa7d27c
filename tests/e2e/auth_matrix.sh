#!/usr/bin/env bash
# The permission model (docs/permissions.md) as a table, through the real
# binaries: control-stub serves one fleet file over Delta ADS, the data
# plane enforces its `permissions:` on container URLs, a python upstream
# echoes the request heads it receives (tests/e2e/upstream.py /echo).
#
# Every credential is made at test time by tools independent of ours:
# keys by openssl, JWTs by PyJWT (tests/e2e/auth_matrix/mint.py), htpasswd
# lines by `htpasswd -nbs` / `-nbB` and `mkpasswd -m sha512crypt` /
# `sha256crypt` / `yescrypt`, token hashes by sha256sum.
#
# One line per row: "ok - ROW -> WANT" or "FAIL - ROW -> WANT: why". A row
# checks the status; for 401 the exact WWW-Authenticate challenge and JSON
# body; for 403 the JSON body and no challenge; for 200 that the upstream
# got the request and whether the credential reached it; for every denied
# row that the upstream saw nothing.
#
# Tables:
#   matrix  group type (jwt, password, ip, token) x level (project policy,
#           container policy overriding a project's) x default (allow,
#           deny) x service/method (granted web GET/POST, not granted
#           other GET/POST, read-only ro GET/POST) x credential (right,
#           wrong, none); the expectation is docs/permissions.md's
#           "Decision", computed by want_of() below (401 only when a
#           credential group the request is not a member of would grant).
#   level   a container's policy replaces its project's (not merged); no
#           policy anywhere denies.
#   method  READ_ONLY: GET, HEAD, OPTIONS only.
#   passwd  {SHA}, bcrypt, sha512-crypt, sha256-crypt, yescrypt users.
#   jwt     time (exp, nbf and the 60 s skew), audience, issuer, claims,
#           algorithms (RS256, PS256, ES256, EdDSA, HS256/512; RSA PEM
#           key), wrong key / tampered / alg none / HS256 keyed with the
#           RSA public PEM / ES256 against an RSA JWKS / RS384 against an
#           RS256 key, access_token query parameter.
#   mixed   several groups: 401 vs 403 by which group would grant, the
#           challenge's scheme (Basic when a password group would grant),
#           membership without a grant, "*".
#   creds   Authorization and access_token stripped, or forwarded with
#           forward_credentials.
#   ip      IPv4 /32 and /24 edges (curl --interface 127.0.x.y), IPv6 CIDR
#           edges on a [::1] listener, X-Forwarded-For ignored by the
#           stub's HCM (use_remote_address, no trusted hops).
#   xff     the fleet file cannot set xff_num_trusted_hops, so a second
#           data plane runs a static bootstrap (the containers filter, an
#           ORIGINAL_DST cluster, listeners with use_remote_address true /
#           xff_num_trusted_hops 1 and 2, and false / 0) whose catalogue
#           comes from the same control-stub over ADS.
. "$(dirname "$0")/lib.sh"
SECONDS=0

STUB="$(dirname "$DP_BIN")/control-stub/control-stub"
[ -x "$STUB" ] || { fail "control-stub binary not found next to $DP_BIN"; finish; }
PY=""
for p in /usr/bin/python3 python3; do
    if "$p" -c 'import jwt, cryptography' 2>/dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] || { echo "SKIP: PyJWT (python3-jwt) not installed"; exit 77; }
for tool in openssl curl htpasswd sha256sum; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done
HAVE_MKPASSWD=0
command -v mkpasswd >/dev/null && HAVE_MKPASSWD=1
HAVE_V6=0
"$PY" -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null && HAVE_V6=1

NODE=node-us
BASE=containers.example.test
LISTEN_PORT=$(free_port); LISTEN6_PORT=$(free_port); ADMIN_PORT=$(free_port); ADS_PORT=$(free_port)
APP_PORT=$(free_port)
XFF1_PORT=$(free_port); XFF2_PORT=$(free_port); XFF0_PORT=$(free_port); ADMIN2_PORT=$(free_port)
start_upstream app "$APP_PORT" || { fail "upstream did not start"; finish; }
UPLOG="$WORK/app.requests"
touch "$UPLOG"

# --- credentials, by independent tools ------------------------------------------
cd "$WORK" || exit 1
for k in rsa rsa_other; do openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$k.pem" 2>/dev/null; done
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem 2>/dev/null
openssl genpkey -algorithm ED25519 -out ed.pem 2>/dev/null
openssl genpkey -algorithm ED25519 -out ed_other.pem 2>/dev/null
openssl pkey -in rsa.pem -pubout -out rsa_pub.pem
openssl rand -hex 32 >hs.secret
openssl rand -hex 32 >hs_other.secret
"$PY" "$E2E_DIR/auth_matrix/mint.py" "$WORK" || { fail "mint.py (PyJWT) failed"; finish; }
tok() { cat "$WORK/tok/$1"; }

{
    htpasswd -nbs u_sha pw-sha | grep .
    htpasswd -nbB -C 5 u_bcrypt pw-bcrypt | grep .
    htpasswd -nbs u_colon 'pw:with:colons' | grep .
    if [ "$HAVE_MKPASSWD" = 1 ]; then
        printf 'u_sha512:%s\n' "$(mkpasswd -m sha512crypt pw-sha512)"
        printf 'u_sha256:%s\n' "$(mkpasswd -m sha256crypt pw-sha256)"
        printf 'u_yescrypt:%s\n' "$(mkpasswd -m yescrypt pw-yescrypt)"
    fi
} >users.htpasswd
TOK="tok-$(openssl rand -hex 12)"
TOK_SHA=$(printf '%s' "$TOK" | sha256sum | cut -d' ' -f1)
PTOK="ptok-$(openssl rand -hex 12)" # the project's own token (level rows)
PTOK_SHA=$(printf '%s' "$PTOK" | sha256sum | cut -d' ' -f1)
ROTOK="rotok-$(openssl rand -hex 12)"
ROTOK_SHA=$(printf '%s' "$ROTOK" | sha256sum | cut -d' ' -f1)

# --- the fleet ----------------------------------------------------------------------
# Every container has three services on the one upstream: web (granted FULL
# by the groups below), ro (granted READ_ONLY), other (granted by none).
declare -A PID CID CPROJ
NPROJ=0; NCONT=0; PROJ_YAML=""; CONT_YAML=""
project() { # KEY [PERMISSIONS]
    NPROJ=$((NPROJ + 1)); PID[$1]=$(printf 'a%023x' "$NPROJ")
    PROJ_YAML+="- id: ${PID[$1]}"$'\n'
    [ -n "${2:-}" ] && PROJ_YAML+="  permissions: $2"$'\n'
    return 0
}
container() { # KEY PROJECT_KEY [PERMISSIONS]
    NCONT=$((NCONT + 1)); CID[$1]=$(printf 'c%023x' "$NCONT"); CPROJ[$1]=$2
    CONT_YAML+="- { id: ${CID[$1]}, project: ${PID[$2]}, node: $NODE, state: running, address: 127.0.0.1,"
    CONT_YAML+=" services: { web: $APP_PORT, ro: $APP_PORT, other: $APP_PORT }${3:+, permissions: $3} }"$'\n'
}
h() { echo "${PID[${CPROJ[$1]}]}-${CID[$1]}-$2-1.$NODE.$BASE"; } # KEY SERVICE -> Host

STD="[{ service: web, access: full }, { service: ro, access: read-only }]"
group() { # TYPE NAME SERVICES
    case $1 in
    jwt) echo "{ name: $2, type: jwt, issuer: 'https://issuer.test', audiences: [containers], jwks_file: rsa.jwks, services: $3 }" ;;
    password) echo "{ name: $2, type: password, htpasswd_file: users.htpasswd, services: $3 }" ;;
    ip) echo "{ name: $2, type: ip, cidrs: [127.0.0.1/32], services: $3 }" ;;
    token) echo "{ name: $2, type: token, sha256: [$TOK_SHA], services: $3 }" ;;
    esac
}
std_policy() { echo "{ default: $2, groups: [$(group "$1" g "$STD")] }"; } # TYPE DEFAULT
deny_with() { echo "{ default: deny, groups: [$1] }"; } # GROUP...
ipgroup() { echo "{ name: net, type: ip, cidrs: [$1], services: [web] }"; }

# The containers with a container-level policy sit in a project whose own
# policy would answer otherwise: allow + a token group for the deny cases,
# plain deny for the allow cases (so a merge or a fallback shows).
project base_allow "{ default: allow, groups: [{ name: proj, type: token, sha256: [$PTOK_SHA], services: ['*'] }] }"
project base_deny "{ default: deny }"
project nopolicy
TYPES="jwt password ip token"
for t in $TYPES; do
    for d in allow deny; do
        project "p_${t}_$d" "$(std_policy "$t" "$d")"
        container "project_${t}_$d" "p_${t}_$d"
        [ "$d" = deny ] && container "container_${t}_$d" base_allow "$(std_policy "$t" "$d")"
        [ "$d" = allow ] && container "container_${t}_$d" base_deny "$(std_policy "$t" "$d")"
    done
done
container proj_plain base_allow
container own_deny base_allow "{ default: deny }"
container nopol nopolicy
JWKS_RSA="{ name: sso, type: jwt, issuer: 'https://issuer.test', audiences: [containers], jwks_file: rsa.jwks, claims: { role: [admin, ops] }, services: [web] }"
container jwt_claims base_allow "$(deny_with "$JWKS_RSA")"
container jwt_pem base_allow "$(deny_with "{ name: pem, type: jwt, jwks_file: rsa_pub.pem, services: [web] }")"
container jwt_ec base_allow "$(deny_with "{ name: ec, type: jwt, jwks_file: ec.jwks, services: [web] }")"
container jwt_ed base_allow "$(deny_with "{ name: ed, type: jwt, jwks_file: ed.jwks, services: [web] }")"
container jwt_hs base_allow "$(deny_with "{ name: hs, type: jwt, jwks_file: hs.jwks, services: [web] }")"
container mix_pt base_allow "$(deny_with "$(group password pw "[web]"), $(group token tk "[web]")")"
container mix_jt base_allow "$(deny_with "$(group jwt sso "[web]"), $(group token tk "[web]")")"
container mix_it base_allow "$(deny_with "$(group ip net "[{ service: ro, access: read-only }]"), $(group token tk "[web]")")"
container mix_scheme base_allow "$(deny_with "$(group password pw "[other]"), $(group token tk "[web]")")"
container mix_star base_allow "$(deny_with "{ name: ro, type: token, sha256: [$ROTOK_SHA], services: [{ service: ro, access: read-only }] }, $(group jwt all "['*']")")"
FWD="default: deny, forward_credentials: true"
container fwd_token base_allow "{ $FWD, groups: [$(group token tk "[web]")] }"
container fwd_pw base_allow "{ $FWD, groups: [$(group password pw "[web]")] }"
container fwd_jwt base_allow "{ $FWD, groups: [$(group jwt sso "[web]")] }"
container fwd_allow base_allow "{ default: allow, forward_credentials: true, groups: [$(group token tk "[web]")] }"
container ip32 base_allow "$(deny_with "$(ipgroup 127.0.0.2/32)")"
container ip24 base_allow "$(deny_with "$(ipgroup 127.0.1.0/24)")"
container ip6_128 base_allow "$(deny_with "$(ipgroup '"::1/128"')")"
container ip6_127 base_allow "$(deny_with "$(ipgroup '"::/127"')")"
container ip6_next base_allow "$(deny_with "$(ipgroup '"::2/127"')")"
container ip6_bare base_allow "$(deny_with "$(ipgroup '"0:0:0:0:0:0:0:1"')")"
container ip6_v4only base_allow "$(deny_with "$(ipgroup 127.0.0.1/32)")"
container ip6_doc base_allow "$(deny_with "$(ipgroup '"2001:db8::/32"')")"
container ipxff base_allow "$(deny_with "$(ipgroup '10.1.2.0/24, "2001:db8:0:1::/64"')")"

LISTENERS="{ address: 127.0.0.1, port: $LISTEN_PORT }"
[ "$HAVE_V6" = 1 ] && LISTENERS+=", { address: \"::1\", port: $LISTEN6_PORT }"
cat >fleet.yaml <<YAML
nodes:
- { name: $NODE, base_domain: $BASE, listeners: [$LISTENERS] }
projects:
$PROJ_YAML
containers:
$CONT_YAML
YAML
"$STUB" --dump fleet.yaml >fleet.dump 2>&1 || { fail "control-stub refuses the fleet: $(head -c 400 fleet.dump)"; finish; }
check "the stub's HCM: use_remote_address true, no xff_num_trusted_hops (the fleet cannot set them)" \
    bash -c "grep -q '\"use_remote_address\": true' fleet.dump && ! grep -q xff_num_trusted_hops fleet.dump"

"$STUB" -c fleet.yaml --listen "127.0.0.1:$ADS_PORT" >>stub.log 2>&1 &
STUB_PID=$!; PIDS+=($STUB_PID)
wait_port "$ADS_PORT" || { fail "control-stub did not listen"; finish; }
ads_bootstrap "$NODE" DELTA_GRPC "$ADS_PORT" "$ADMIN_PORT" >boot.yaml
start_dataplane boot.yaml || { fail "data plane start"; finish; }

# --- the row machinery ------------------------------------------------------------
ADDR4="127.0.0.1:$LISTEN_PORT"
ADDR=$ADDR4
# fire METHOD HOST PATH [curl args]: one request to $ADDR; sets CODE, HDRS, BODY
fire() {
    local m=$1 host=$2 path=$3 out; shift 3
    local ma=()
    case $m in
    GET) ;;
    HEAD) ma=(-I) ;;
    POST) ma=(-X POST --data-binary x) ;;
    *) ma=(-X "$m") ;;
    esac
    out=$(curl -gs -i -m 5 "${ma[@]}" -H "Host: $host" "$@" "http://$ADDR$path")
    HDRS=${out%%$'\r\n\r\n'*}
    BODY=${out#*$'\r\n\r\n'}
    [ "$BODY" = "$out" ] && BODY=""
    CODE=$(printf '%s' "$HDRS" | head -1 | awk '{print $2}')
    CODE=${CODE:-000}
}
challenges() { printf '%s\n' "$HDRS" | tr -d '\r' | grep -i '^www-authenticate:' | sed 's/^[^:]*: *//'; }
echo_path() { [[ $BODY =~ \"path\":\ \"([^\"]*)\" ]] && printf '%s' "${BASH_REMATCH[1]}"; }
# row DESC WANT FWD METHOD HOST PATH [curl args]
#   WANT: 200 | 403 | 401:Basic | 401:Bearer
#   FWD (200 only): - (nothing to check) | strip (no Authorization, no
#   access_token reached the upstream) | fwd (Authorization reached it) |
#   path=P (the upstream's path is exactly P, no Authorization)
row() {
    local desc=$1 want=$2 fwd=$3 m=$4 host=$5 path=$6 why="" before after ch
    shift 6
    before=$(wc -l <"$UPLOG")
    fire "$m" "$host" "$path" "$@"
    after=$(wc -l <"$UPLOG")
    ch=$(challenges)
    case $want in
    200)
        if [ "$CODE" != 200 ]; then
            why="status $CODE ($(printf '%s' "$BODY" | head -c 120))"
        elif [ "$after" != $((before + 1)) ]; then
            why="200 but the upstream saw $((after - before)) requests"
        elif [ "$m" != HEAD ] && [[ $BODY != *"\"method\": \"$m\""* ]]; then
            why="200 but not the upstream's echo: $(printf '%s' "$BODY" | head -c 120)"
        else
            case $fwd in
            strip)
                [[ $BODY == *'"authorization"'* ]] && why="Authorization reached the upstream"
                [[ $(echo_path) == *access_token* ]] && why="access_token reached the upstream: $(echo_path)" ;;
            fwd) [[ $BODY == *'"authorization"'* ]] || why="Authorization did not reach the upstream (forward_credentials)" ;;
            path=*)
                [ "$(echo_path)" = "${fwd#path=}" ] || why="upstream path '$(echo_path)', want '${fwd#path=}'"
                [[ $BODY == *'"authorization"'* ]] && why="Authorization reached the upstream" ;;
            esac
        fi ;;
    401:*)
        if [ "$CODE" != 401 ]; then
            why="status $CODE"
        elif [ "$ch" != "${want#401:} realm=\"$host\"" ]; then
            why="WWW-Authenticate '$ch', want '${want#401:} realm=\"$host\"'"
        elif [ "$BODY" != '{"error": "authentication required", "status": 401}' ]; then
            why="body '$BODY'"
        fi ;;
    403)
        if [ "$CODE" != 403 ]; then
            why="status $CODE"
        elif [ -n "$ch" ]; then
            why="a 403 with a challenge: '$ch'"
        elif [ "$BODY" != '{"error": "access denied", "status": 403}' ]; then
            why="body '$BODY'"
        fi ;;
    esac
    [ -z "$why" ] && [ "$want" != 200 ] && [ "$after" != "$before" ] && why="denied, yet the upstream saw the request"
    local what=$want
    if [ "$want" = 200 ]; then
        case $fwd in
        strip) what="200, credential stripped" ;;
        fwd) what="200, credential forwarded" ;;
        path=*) what="200, upstream path ${fwd#path=}" ;;
        esac
        [ "${#what}" -gt 90 ] && what="${what:0:87}..."
    fi
    if [ -z "$why" ]; then ok "$desc -> $what"; else fail "$desc -> $what: $why"; fi
}

# ready: the catalogue is in (a default-allow container answers 200) and ACKed without NACK
ready=0
for i in $(seq 1 200); do
    [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' -H "Host: $(h project_token_allow web)" "http://$ADDR/")" = 200 ] && { ready=1; break; }
    sleep 0.05
done
[ "$ready" = 1 ] || { fail "the data plane never routed the fleet's containers"; finish; }
check "the data plane ACKed every Container and Project version (no NACK)" \
    bash -c "grep -q 'ACK Container' stub.log && grep -q 'ACK Project' stub.log && ! grep -q NACK stub.log"

# --- matrix -------------------------------------------------------------------------
# want_of TYPE DEFAULT MEMBER SERVICE METHOD: docs/permissions.md "Decision"
# for a policy of one group granting web FULL and ro READ_ONLY: granted;
# else default allow; else 401 when a credential group the request is not
# a member of would grant S with M (Basic for a password group); else 403.
want_of() {
    local grant=0
    case $4:$5 in web:*) grant=1 ;; ro:GET | ro:HEAD | ro:OPTIONS) grant=1 ;; esac
    if [ "$3" = 1 ] && [ "$grant" = 1 ]; then echo 200
    elif [ "$2" = allow ]; then echo 200
    elif [ "$3" = 1 ] || [ "$grant" = 0 ] || [ "$1" = ip ]; then echo 403
    elif [ "$1" = password ]; then echo 401:Basic
    else echo 401:Bearer
    fi
}
cred() { # TYPE right|wrong|none -> CRED (curl args)
    case $1:$2 in
    jwt:right) CRED=(-H "Authorization: Bearer $(tok rs_ok)") ;;
    jwt:wrong) CRED=(-H "Authorization: Bearer $(tok rs_other)") ;;
    password:right) CRED=(-u u_sha:pw-sha) ;;
    password:wrong) CRED=(-u u_sha:pw-bcrypt) ;;
    token:right) CRED=(-H "Authorization: Bearer $TOK") ;;
    token:wrong) CRED=(-H "Authorization: Bearer x$TOK") ;;
    ip:right) CRED=(--interface 127.0.0.1) ;;
    ip:wrong) CRED=(--interface 127.0.0.2) ;;
    *) CRED=() ;;
    esac
}
for t in $TYPES; do
    creds="right wrong none"
    [ "$t" = ip ] && creds="right wrong"
    for lvl in project container; do
        for d in allow deny; do
            key="${lvl}_${t}_$d"
            for sm in web:GET web:POST other:GET other:POST ro:GET ro:POST; do
                s=${sm%:*}; m=${sm#*:}
                for c in $creds; do
                    cred "$t" "$c"
                    member=0; [ "$c" = right ] && member=1
                    want=$(want_of "$t" "$d" "$member" "$s" "$m")
                    fwd=strip; { [ "$t" = ip ] || [ "$c" = none ]; } && fwd=-
                    row "[matrix] $t $lvl-level default $d: $m $s, ${c/none/no} credential" "$want" "$fwd" "$m" "$(h "$key" "$s")" /echo "${CRED[@]}"
                done
            done
        done
    done
done

# --- level: the container's policy replaces its project's ------------------------
B="Authorization: Bearer"
row "[level] project-level token group grants the project's token" 200 strip GET "$(h proj_plain other)" /echo -H "$B $PTOK"
for t in jwt password token; do
    w=401:Bearer; [ "$t" = password ] && w=401:Basic
    row "[level] container $t policy (deny): the project's token is no credential there" "$w" - GET "$(h "container_${t}_deny" web)" /echo -H "$B $PTOK"
done
row "[level] container ip policy (deny), outside, with the project's token" 403 - GET "$(h container_ip_deny web)" /echo --interface 127.0.0.2 -H "$B $PTOK"
row "[level] container { default: deny } without groups under a granting project: project token" 403 - GET "$(h own_deny web)" /echo -H "$B $PTOK"
row "[level] container { default: deny } without groups: no credential (no credential group, 403)" 403 - GET "$(h own_deny web)" /echo
row "[level] project without permissions: denied" 403 - GET "$(h nopol web)" /echo
row "[level] project without permissions: denied even with a credential" 403 - GET "$(h nopol web)" /echo -H "$B $TOK"

# --- method: READ_ONLY is GET, HEAD, OPTIONS -------------------------------------
for m in HEAD OPTIONS; do
    p=/echo; [ "$m" = HEAD ] && p=/bytes/0
    row "[method] read-only grant: $m ro" 200 - "$m" "$(h project_token_deny ro)" "$p" -H "$B $TOK"
done
for m in PUT DELETE PATCH get; do
    row "[method] read-only grant: $m ro (member, not granted)" 403 - "$m" "$(h project_token_deny ro)" /echo -H "$B $TOK"
done
row "[method] full grant: DELETE web" 200 strip DELETE "$(h project_token_deny web)" /echo -H "$B $TOK"

# --- passwd: each hash scheme, right then wrong (the cache must not confuse them) ---
PW_USERS="u_sha:pw-sha u_bcrypt:pw-bcrypt"
[ "$HAVE_MKPASSWD" = 1 ] && PW_USERS+=" u_sha512:pw-sha512 u_sha256:pw-sha256 u_yescrypt:pw-yescrypt"
[ "$HAVE_MKPASSWD" = 1 ] || echo "# SKIP [passwd] sha512-crypt, sha256-crypt, yescrypt rows: mkpasswd (whois) not installed"
HP=$(h project_password_deny web)
for up in $PW_USERS; do
    u=${up%%:*}; pw=${up#*:}
    row "[passwd] $u ($(grep "^$u:" "$WORK/users.htpasswd" | cut -d: -f2 | cut -c1-4)...) right password" 200 strip GET "$HP" /echo -u "$u:$pw"
    row "[passwd] $u wrong password" 401:Basic - GET "$HP" /echo -u "$u:$pw-x"
    row "[passwd] $u right password again (cached)" 200 strip GET "$HP" /echo -u "$u:$pw"
done
row "[passwd] a password with colons (split at the first one)" 200 strip GET "$HP" /echo -u 'u_colon:pw:with:colons'
row "[passwd] unknown user" 401:Basic - GET "$HP" /echo -u nobody:pw-sha
row "[passwd] a user with another user's password" 401:Basic - GET "$HP" /echo -u u_bcrypt:pw-sha
row "[passwd] Basic header that is not base64 user:pass" 401:Basic - GET "$HP" /echo -H "Authorization: Basic !!!"
row "[passwd] a Bearer token on a password-only policy" 401:Basic - GET "$HP" /echo -H "$B $TOK"

# --- jwt ------------------------------------------------------------------------------
HJ=$(h jwt_claims web)
jrow() { row "[jwt] $1" "$2" "${4:-strip}" GET "$HJ" /echo -H "$B $(tok "$3")"; } # DESC WANT TOKEN [FWD]
jrow "valid RS256, role admin" 200 rs_ok
jrow "valid RS256 without kid" 200 rs_no_kid
jrow "expired 600 s ago" 401:Bearer rs_expired
jrow "expired 30 s ago (within the 60 s skew)" 200 rs_expired_skew
jrow "no exp claim" 200 rs_no_exp
jrow "nbf 600 s ahead" 401:Bearer rs_nbf_future
jrow "nbf 30 s ahead (within the skew)" 200 rs_nbf_skew
jrow "wrong audience" 401:Bearer rs_aud_wrong
jrow "audience list containing the audience" 200 rs_aud_list
jrow "no audience" 401:Bearer rs_aud_missing
jrow "wrong issuer" 401:Bearer rs_iss_wrong
jrow "no issuer" 401:Bearer rs_iss_missing
jrow "required claim role missing" 401:Bearer rs_role_missing
jrow "required claim role=guest (not a listed value)" 401:Bearer rs_role_guest
jrow "required claim role=[guest, ops] (array with a listed value)" 200 rs_role_list
jrow "required claim role=7 (not a string)" 401:Bearer rs_role_number
jrow "signed by another RSA key (same kid)" 401:Bearer rs_other
jrow "payload tampered after signing" 401:Bearer tampered
jrow "ES256 token (kid of the RSA key) against an RSA JWKS" 401:Bearer es_kid_rsa
jrow "RS384 token against the JWKS key with alg RS256" 401:Bearer rs384
jrow "alg none, empty signature" 401:Bearer none_empty
jrow "alg none carrying an RS256 signature" 401:Bearer none_sig
jrow "HS256 keyed with the RSA public key's PEM (alg confusion), kid rsa1" 401:Bearer hs_pem_kid
row "[jwt] a token as ?access_token= (only parameter): granted, parameter removed" 200 path=/echo GET "$HJ" "/echo?access_token=$(tok rs_ok)"
row "[jwt] ?a=1&access_token=...&b=2: granted, the other parameters kept" 200 "path=/echo?a=1&b=2" GET "$HJ" "/echo?a=1&access_token=$(tok rs_ok)&b=2"
row "[jwt] ?a=1&access_token=... last: granted" 200 "path=/echo?a=1" GET "$HJ" "/echo?a=1&access_token=$(tok rs_ok)"
row "[jwt] ?access_token= with an expired token" 401:Bearer - GET "$HJ" "/echo?access_token=$(tok rs_expired)"
row "[jwt] a JWT as Basic credentials is not a bearer" 401:Bearer - GET "$HJ" /echo -u "x:$(tok rs_ok)"
row "[jwt] PEM key: RS256" 200 strip GET "$(h jwt_pem web)" /echo -H "$B $(tok rs_ok)"
row "[jwt] PEM key: PS256 with the same RSA key" 200 strip GET "$(h jwt_pem web)" /echo -H "$B $(tok ps256)"
row "[jwt] PEM key: HS256 keyed with that PEM (alg confusion)" 401:Bearer - GET "$(h jwt_pem web)" /echo -H "$B $(tok hs_pem)"
row "[jwt] PEM key: ES256 token" 401:Bearer - GET "$(h jwt_pem web)" /echo -H "$B $(tok es_kid_rsa)"
row "[jwt] EC JWKS: ES256" 200 strip GET "$(h jwt_ec web)" /echo -H "$B $(tok es_ok)"
row "[jwt] EC JWKS: an RS256 token" 401:Bearer - GET "$(h jwt_ec web)" /echo -H "$B $(tok rs_ok)"
row "[jwt] OKP JWKS: EdDSA" 200 strip GET "$(h jwt_ed web)" /echo -H "$B $(tok ed_ok)"
row "[jwt] OKP JWKS: EdDSA by another Ed25519 key" 401:Bearer - GET "$(h jwt_ed web)" /echo -H "$B $(tok ed_other)"
row "[jwt] oct JWKS: HS256" 200 strip GET "$(h jwt_hs web)" /echo -H "$B $(tok hs_ok)"
row "[jwt] oct JWKS: HS512 with the same secret" 200 strip GET "$(h jwt_hs web)" /echo -H "$B $(tok hs512_ok)"
row "[jwt] oct JWKS: HS256 with another secret" 401:Bearer - GET "$(h jwt_hs web)" /echo -H "$B $(tok hs_other)"
row "[jwt] oct JWKS: an RS256 token" 401:Bearer - GET "$(h jwt_hs web)" /echo -H "$B $(tok rs_ok)"

# --- mixed groups -------------------------------------------------------------------
row "[mixed] password + token, no credential: Basic challenge" 401:Basic - GET "$(h mix_pt web)" /echo
row "[mixed] password + token, wrong token: Basic challenge" 401:Basic - GET "$(h mix_pt web)" /echo -H "$B x$TOK"
row "[mixed] password + token, the token" 200 strip GET "$(h mix_pt web)" /echo -H "$B $TOK"
row "[mixed] password + token, the password" 200 strip GET "$(h mix_pt web)" /echo -u u_sha:pw-sha
row "[mixed] jwt + token, no credential: Bearer challenge" 401:Bearer - GET "$(h mix_jt web)" /echo
row "[mixed] jwt + token, the JWT" 200 strip GET "$(h mix_jt web)" /echo -H "$B $(tok rs_ok)"
row "[mixed] jwt + token, the token" 200 strip GET "$(h mix_jt web)" /echo -H "$B $TOK"
row "[mixed] ip(ro read-only) + token(web): inside, no token, web (the token group would grant)" 401:Bearer - GET "$(h mix_it web)" /echo
row "[mixed] ip(ro read-only) + token(web): outside, no token, web" 401:Bearer - GET "$(h mix_it web)" /echo --interface 127.0.0.2
row "[mixed] ip(ro read-only) + token(web): inside, token, web" 200 strip GET "$(h mix_it web)" /echo -H "$B $TOK"
row "[mixed] ip(ro read-only) + token(web): inside, GET ro" 200 - GET "$(h mix_it ro)" /echo
row "[mixed] ip(ro read-only) + token(web): inside, POST ro" 403 - POST "$(h mix_it ro)" /echo
row "[mixed] ip(ro read-only) + token(web): inside, wrong token, web (the token group would grant)" 401:Bearer - GET "$(h mix_it web)" /echo -H "$B x$TOK"
row "[mixed] token(ro read-only) + jwt('*'): POST ro with the JWT" 200 strip POST "$(h mix_star ro)" /echo -H "$B $(tok rs_ok)"
row "[mixed] token(ro read-only) + jwt('*'): POST ro with the token (member; the jwt group would grant)" 401:Bearer - POST "$(h mix_star ro)" /echo -H "$B $ROTOK"
row "[mixed] token(ro read-only) + jwt('*'): POST ro, no credential" 401:Bearer - POST "$(h mix_star ro)" /echo
row "[mixed] token(ro read-only) + jwt('*'): GET ro with the token" 200 strip GET "$(h mix_star ro)" /echo -H "$B $ROTOK"
row "[mixed] password(other) + token(web): web, no credential: only the token group would grant" 401:Bearer - GET "$(h mix_scheme web)" /echo
row "[mixed] password(other) + token(web): other, no credential: only the password group would grant" 401:Basic - GET "$(h mix_scheme other)" /echo
row "[mixed] password(other) + token(web): ro, no credential: no group would grant" 403 - GET "$(h mix_scheme ro)" /echo
row "[mixed] password(other) + token(web): web with the password (member, the token group would grant)" 401:Bearer - GET "$(h mix_scheme web)" /echo -u u_sha:pw-sha
row "[mixed] password(other) + token(web): other with the password" 200 strip GET "$(h mix_scheme other)" /echo -u u_sha:pw-sha
row "[mixed] password(other) + token(web): other with the token (member, the password group would grant)" 401:Basic - GET "$(h mix_scheme other)" /echo -H "$B $TOK"
row "[mixed] token(ro read-only) + jwt('*'): service other via '*'" 200 strip POST "$(h mix_star other)" /echo -H "$B $(tok rs_ok)"

row "[token] the token as ?access_token= (a token group's credential is Authorization: Bearer only)" 401:Bearer - GET "$(h project_token_deny web)" "/echo?access_token=$TOK"
row "[token] the token's SHA-256 hex as the bearer" 401:Bearer - GET "$(h project_token_deny web)" /echo -H "$B $TOK_SHA"

# --- creds: stripping and forward_credentials ----------------------------------------
row "[creds] default allow, no group grants: the wrong token is still removed" 200 strip GET "$(h project_token_allow other)" /echo -H "$B x$TOK"
row "[creds] default allow: a Basic header the policy looked at is removed" 200 strip GET "$(h project_password_allow other)" /echo -u u_sha:pw-sha
row "[creds] forward_credentials: the token reaches the upstream" 200 fwd GET "$(h fwd_token web)" /echo -H "$B $TOK"
row "[creds] forward_credentials: Basic reaches the upstream" 200 fwd GET "$(h fwd_pw web)" /echo -u u_sha:pw-sha
row "[creds] forward_credentials: the JWT reaches the upstream" 200 fwd GET "$(h fwd_jwt web)" /echo -H "$B $(tok rs_ok)"
row "[creds] forward_credentials: ?access_token= reaches the upstream" 200 "path=/echo?access_token=$(tok rs_ok)" GET "$(h fwd_jwt web)" "/echo?access_token=$(tok rs_ok)"
row "[creds] forward_credentials, default allow: a wrong token reaches the upstream" 200 fwd GET "$(h fwd_allow other)" /echo -H "$B x$TOK"
row "[creds] forward_credentials: still 401 without a credential" 401:Bearer - GET "$(h fwd_token web)" /echo

# --- ip: IPv4 edges, XFF not trusted by the stub's HCM -------------------------------
for a in 127.0.0.1:403 127.0.0.2:200 127.0.0.3:403; do
    row "[ip] 127.0.0.2/32 from ${a%:*}" "${a#*:}" - GET "$(h ip32 web)" /echo --interface "${a%:*}"
done
for a in 127.0.1.0:200 127.0.1.255:200 127.0.1.77:200 127.0.0.255:403 127.0.2.0:403; do
    row "[ip] 127.0.1.0/24 from ${a%:*}" "${a#*:}" - GET "$(h ip24 web)" /echo --interface "${a%:*}"
done
row "[ip] 127.0.0.2/32 from 127.0.0.1 claiming X-Forwarded-For: 127.0.0.2 (no trusted hops)" 403 - GET "$(h ip32 web)" /echo -H "X-Forwarded-For: 127.0.0.2"
row "[ip] 10.1.2.0/24 from 127.0.0.1 claiming X-Forwarded-For: 10.1.2.3 (no trusted hops)" 403 - GET "$(h ipxff web)" /echo -H "X-Forwarded-For: 10.1.2.3"
row "[ip] 127.0.0.2/32 from 127.0.0.2 with X-Forwarded-For: 10.9.9.9 (the peer counts)" 200 - GET "$(h ip32 web)" /echo --interface 127.0.0.2 -H "X-Forwarded-For: 10.9.9.9"

# --- ip: IPv6 on the stub's [::1] listener -----------------------------------------------
if [ "$HAVE_V6" = 1 ]; then
    ADDR="[::1]:$LISTEN6_PORT"
    ready6=0
    for i in $(seq 1 100); do
        [ "$(curl -gs -o /dev/null -m 2 -w '%{http_code}' -H "Host: $(h ip6_128 web)" "http://$ADDR/")" = 200 ] && { ready6=1; break; }
        sleep 0.05
    done
    check "[ip6] the fleet's [::1] listener serves" [ "$ready6" = 1 ]
    row "[ip6] ::1/128 from ::1" 200 - GET "$(h ip6_128 web)" /echo
    row "[ip6] ::/127 from ::1 (last address of the prefix)" 200 - GET "$(h ip6_127 web)" /echo
    row "[ip6] ::2/127 from ::1 (just below the prefix)" 403 - GET "$(h ip6_next web)" /echo
    row "[ip6] bare address 0:0:0:0:0:0:0:1 (a /128) from ::1" 200 - GET "$(h ip6_bare web)" /echo
    row "[ip6] 127.0.0.1/32 from ::1 (no family crossing)" 403 - GET "$(h ip6_v4only web)" /echo
    row "[ip6] 2001:db8::/32 from ::1" 403 - GET "$(h ip6_doc web)" /echo
    row "[ip6] token group over IPv6" 200 strip GET "$(h project_token_deny web)" /echo -H "$B $TOK"
    ADDR=$ADDR4
    row "[ip6] ::1/128 from 127.0.0.1 (no family crossing)" 403 - GET "$(h ip6_128 web)" /echo
else
    echo "# SKIP [ip6] rows: no IPv6 loopback (cannot bind ::1)"
fi

# --- xff: a static bootstrap with trusted hops, the catalogue from the same stub ------
# xff_listener NAME PORT USE_REMOTE_ADDRESS HOPS
xff_listener() {
    hcm_listener "$1" "$2" "$1" "          use_remote_address: $3
          xff_num_trusted_hops: $4" "            - name: containers
              domains: [\"*.$BASE\"]
              routes: [{ match: { prefix: / }, route: { cluster: xff_containers } }]" \
        "          - name: dataplane.filters.http.containers
            typed_config:
              \"@type\": type.googleapis.com/dataplane.containers.v1.ContainerRouting
              base_domains: [$BASE]
              node: $NODE
              catalogue: { ads: {} }"
}

# boot2 [EXTRA_DYNAMIC_RESOURCES]: the static listeners, ADS for the catalogue
boot2() {
    cat <<YAML
node: { id: $NODE, cluster: test }
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: $ADMIN2_PORT } }
dynamic_resources:
  ads_config:
    api_type: DELTA_GRPC
    transport_api_version: V3
    grpc_services:
    - google_grpc: { target_uri: "127.0.0.1:$ADS_PORT", stat_prefix: ads }
${1:+  $1
}static_resources:
  listeners:
YAML
    xff_listener xff1 "$XFF1_PORT" true 1
    xff_listener xff2 "$XFF2_PORT" true 2
    xff_listener xff0 "$XFF0_PORT" false 0
    cat <<YAML
  clusters:
  - { name: xff_containers, type: ORIGINAL_DST, lb_policy: CLUSTER_PROVIDED, connect_timeout: 5s }
YAML
}
# start_dp2 BOOTSTRAP TRIES: sets DP2_PID; ready2=1 once a container URL answers
start_dp2() {
    "$DP_BIN" -c "$1" --concurrency 1 >>dataplane2.log 2>&1 &
    DP2_PID=$!; PIDS+=($DP2_PID)
    ready2=0
    for i in $(seq 1 "$2"); do
        [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' -H "Host: $(h project_token_allow web)" "http://127.0.0.1:$XFF1_PORT/")" = 200 ] && { ready2=1; break; }
        kill -0 "$DP2_PID" 2>/dev/null || break
        sleep 0.05
    done
}
stop_dp2() {
    kill -0 "$DP2_PID" 2>/dev/null || return 0
    kill -TERM "$DP2_PID"; rc=0; wait "$DP2_PID" || rc=$?
    expect_eq "second data plane exits 0 on SIGTERM" "$rc" "0"
}
# docs/containers.md: the catalogue is subscribed once a listener in force
# (static or dynamic) runs the filter, so static listeners alone should do.
boot2 >boot2.yaml
start_dp2 boot2.yaml 200
if [ "$ready2" = 1 ]; then
    ok "[xff] static listeners alone: their containers filter gets the stub's catalogue over ADS"
else
    fail "[xff] static listeners alone: their containers filter gets the stub's catalogue over ADS (no catalogue after 10 s)"
    stop_dp2
    # the rows below still run: CDS on the same stream makes the data plane
    # look at its subscriptions (the stub's cluster 'containers' goes unused)
    boot2 "cds_config: { ads: {}, resource_api_version: V3 }" >boot2.yaml
    start_dp2 boot2.yaml 200
    [ "$ready2" = 1 ] && echo "# [xff] with cds_config added the static listeners get the catalogue"
fi
if [ "$ready2" = 1 ]; then
    HX=$(h ipxff web)
    xrow() { # LISTENER_PORT DESC WANT XFF...
        local port=$1 desc=$2 want=$3 a=() x; shift 3
        for x in "$@"; do a+=(-H "X-Forwarded-For: $x"); done
        ADDR="127.0.0.1:$port" row "[xff] $desc" "$want" - GET "$HX" /echo "${a[@]}"
    }
    xrow "$XFF1_PORT" "hops 1: XFF 10.1.2.3 (the rightmost is the client)" 200 "10.1.2.3"
    xrow "$XFF1_PORT" "hops 1: XFF 10.1.2.3, 192.0.2.1 (rightmost outside)" 403 "10.1.2.3, 192.0.2.1"
    xrow "$XFF1_PORT" "hops 1: XFF 192.0.2.1,10.1.2.255 (rightmost inside, /24 edge)" 200 "192.0.2.1,10.1.2.255"
    xrow "$XFF1_PORT" "hops 1: XFF 10.1.3.0 (just past the /24)" 403 "10.1.3.0"
    xrow "$XFF1_PORT" "hops 1: no XFF: the peer 127.0.0.1" 403
    xrow "$XFF1_PORT" "hops 1: XFF not an address: the peer" 403 "not-an-ip"
    xrow "$XFF1_PORT" "hops 1: XFF on two lines, the rightmost on the second" 200 "192.0.2.1" "10.1.2.3"
    xrow "$XFF1_PORT" "hops 1: XFF 2001:db8:0:1:ffff:ffff:ffff:ffff (last of the /64)" 200 "2001:db8:0:1:ffff:ffff:ffff:ffff"
    xrow "$XFF1_PORT" "hops 1: XFF 2001:db8:0:1:: (first of the /64)" 200 "2001:db8:0:1::"
    xrow "$XFF1_PORT" "hops 1: XFF 2001:db8:0:2:: (past the /64)" 403 "2001:db8:0:2::"
    xrow "$XFF1_PORT" "hops 1: XFF 2001:db8::ffff (below the /64)" 403 "2001:db8::ffff"
    xrow "$XFF2_PORT" "hops 2: XFF 10.1.2.3, 192.0.2.1 (second from the right)" 200 "10.1.2.3, 192.0.2.1"
    xrow "$XFF2_PORT" "hops 2: XFF 192.0.2.1, 10.1.2.3" 403 "192.0.2.1, 10.1.2.3"
    xrow "$XFF2_PORT" "hops 2: XFF 10.1.2.3 only (too short: the peer)" 403 "10.1.2.3"
    xrow "$XFF0_PORT" "use_remote_address false: XFF 192.0.2.1, 10.1.2.3 (the last)" 200 "192.0.2.1, 10.1.2.3"
    xrow "$XFF0_PORT" "use_remote_address false: XFF 10.1.2.3, 192.0.2.1" 403 "10.1.2.3, 192.0.2.1"
    ADDR="127.0.0.1:$XFF1_PORT" row "[xff] the other policies hold there too: token container, the token" 200 strip GET "$(h project_token_deny web)" /echo -H "$B $TOK"
    ADDR="127.0.0.1:$XFF1_PORT" row "[xff] hops 1, 127.0.0.1/32 container, XFF not an address: the peer (127.0.0.1) counts" 200 - GET "$(h project_ip_deny web)" /echo -H "X-Forwarded-For: not-an-ip"
    ADDR="127.0.0.1:$XFF2_PORT" row "[xff] hops 2, 127.0.0.1/32 container, XFF too short: the peer counts" 200 - GET "$(h project_ip_deny web)" /echo -H "X-Forwarded-For: 10.9.9.9"
    ADDR="127.0.0.1:$XFF1_PORT" row "[xff] ip container 127.0.0.1/32, XFF 10.9.9.9: the XFF address, not the peer" 403 - GET "$(h project_ip_deny web)" /echo -H "X-Forwarded-For: 10.9.9.9"
else
    fail "[xff] the static-bootstrap data plane never served the stub's catalogue ($(tail -3 dataplane2.log | tr '\n' ' '))"
fi

# --- shut down ------------------------------------------------------------------------
stop_dp2
grep -qE "AddressSanitizer|LeakSanitizer|runtime error:" dataplane2.log && fail "sanitizer report in the second data plane's log"
check "no plain token in the data planes' logs" bash -c "! grep -q -e '$TOK' -e '$PTOK' dataplane.log dataplane2.log"
kill -TERM "$STUB_PID"; rc=0; wait "$STUB_PID" || rc=$?
expect_eq "control-stub exits 0 on SIGTERM" "$rc" "0"
grep -qE "AddressSanitizer|LeakSanitizer|runtime error:" stub.log && fail "sanitizer report in the stub log"
echo "# elapsed ${SECONDS} s"
finish
