#!/usr/bin/env bash
# envoy.filters.http.jwt_authn through the real binary, with keys made by
# openssl and tokens made by PyJWT (python3-jwt) at test time, and curl:
# a valid token reaches the upstream without the token (forward: false) or
# with it (forward: true), claim_to_headers and forward_payload_header
# reach it (spoofed ones removed); 401 + Envoy's WWW-Authenticate and
# messages for missing / expired / not yet valid / wrong issuer / wrong key
# / alg none / HS256 keyed with the RSA public key / alg mismatch, 403 for
# a disallowed audience; requires_any, requires_all, allow_missing,
# provider_and_audiences, rules with header matchers, requirement_map,
# PerRouteConfig disabled / requirement_name (and an unknown name: 403);
# tokens from a header, the access_token and custom query parameters and a
# cookie; a remote JWKS from a python http.server cluster fetched once per
# worker, a failing / timing-out / abandoned fetch; stats.
. "$(dirname "$0")/lib.sh"

PY=""
for p in /usr/bin/python3 python3; do
    if "$p" -c 'import jwt, cryptography' 2>/dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] || { echo "SKIP: PyJWT (python3-jwt) not installed"; exit 77; }
for tool in openssl curl; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done

LISTEN_PORT=$(free_port); ADMIN_PORT=$(free_port); APP_PORT=$(free_port)
JWKS_PORT=$(free_port); DEAD_PORT=$(free_port)
start_upstream app "$APP_PORT"

# --- keys (openssl) and JWKS / tokens (PyJWT) -----------------------------------
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/rsa.pem" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/rsa2.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/ec.pem" 2>/dev/null
openssl pkey -in "$WORK/rsa.pem" -pubout -out "$WORK/rsa_pub.pem"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/hs.secret"

cat >"$WORK/mint.py" <<'PYEOF'
import base64, hashlib, hmac, json, sys, time
import jwt
from cryptography.hazmat.primitives import serialization
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

cmd, work = sys.argv[1], sys.argv[2]
if cmd == "jwks":
    # the public keys as a JWKS (RSA with "alg", EC without), and the HMAC secret as an oct JWK
    rsa = json.loads(RSAAlgorithm.to_jwk(serialization.load_pem_private_key(open(work + "/rsa.pem", "rb").read(), None).public_key()))
    ec = json.loads(ECAlgorithm.to_jwk(serialization.load_pem_private_key(open(work + "/ec.pem", "rb").read(), None).public_key()))
    rsa.update(kid="rsa1", alg="RS256", use="sig")
    ec.update(kid="ec1")
    json.dump({"keys": [rsa, ec]}, open(work + "/jwks.json", "w"))
    secret = open(work + "/hs.secret").read().encode()
    json.dump({"keys": [{"kty": "oct", "kid": "hs1", "k": b64(secret)}]}, open(work + "/hs_jwks.json", "w"))
    sys.exit(0)
# mint KEY ALG KID CLAIMS_JSON: CLAIMS_JSON may use "exp": "+N" (now + N) / "nbf": "+N"
key, alg, kid, claims = sys.argv[3], sys.argv[4], sys.argv[5], json.loads(sys.argv[6])
now = int(time.time())
for k in ("exp", "nbf", "iat"):
    if isinstance(claims.get(k), str):
        claims[k] = now + int(claims[k])
headers = {"kid": kid} if kid != "-" else None
if cmd == "confusion":
    # HS256 keyed with the bytes of the RSA public key PEM (PyJWT refuses to, so by hand)
    h = b64(json.dumps(dict({"alg": "HS256", "typ": "JWT"}, **(headers or {}))).encode())
    p = b64(json.dumps(claims).encode())
    mac = hmac.new(open(key, "rb").read(), (h + "." + p).encode(), hashlib.sha256).digest()
    print(h + "." + p + "." + b64(mac))
elif alg == "none":
    print(jwt.encode(claims, None, algorithm="none"))
elif alg.startswith("HS"):
    print(jwt.encode(claims, open(key).read().encode(), algorithm=alg, headers=headers))
else:
    print(jwt.encode(claims, open(key, "rb").read(), algorithm=alg, headers=headers))
PYEOF
"$PY" "$WORK/mint.py" jwks "$WORK" || { fail "make JWKS with PyJWT"; finish; }
mint() { "$PY" "$WORK/mint.py" mint "$WORK" "$@"; }

RSA_CLAIMS='{"iss":"https://rsa.example","aud":"api","sub":"alice","exp":"+3600","ext":{"role":"admin"}}'
T_RSA=$(mint "$WORK/rsa.pem" RS256 rsa1 "$RSA_CLAIMS")
T_EC=$(mint "$WORK/ec.pem" ES256 ec1 '{"iss":"https://rsa.example","aud":"api","sub":"bob","exp":"+3600"}')
T_FWD=$(mint "$WORK/rsa.pem" RS256 rsa1 '{"iss":"https://fwd.example","sub":"fwd-user","exp":"+3600"}')
T_EXPIRED=$(mint "$WORK/rsa.pem" RS256 rsa1 '{"iss":"https://rsa.example","aud":"api","sub":"alice","exp":"-3600"}')
T_NBF=$(mint "$WORK/rsa.pem" RS256 rsa1 '{"iss":"https://rsa.example","aud":"api","sub":"alice","exp":"+7200","nbf":"+3600"}')
T_AUD=$(mint "$WORK/rsa.pem" RS256 rsa1 '{"iss":"https://rsa.example","aud":"somebody-else","sub":"alice","exp":"+3600"}')
T_OTHERAUD=$(mint "$WORK/rsa.pem" RS256 rsa1 '{"iss":"https://rsa.example","aud":"other","sub":"alice","exp":"+3600"}')
T_ISS=$(mint "$WORK/rsa.pem" RS256 rsa1 '{"iss":"https://unknown.example","aud":"api","sub":"alice","exp":"+3600"}')
T_WRONGKEY=$(mint "$WORK/rsa2.pem" RS256 rsa1 "$RSA_CLAIMS")
T_PS=$(mint "$WORK/rsa.pem" PS256 rsa1 "$RSA_CLAIMS")
T_NONE=$(mint - none - "$RSA_CLAIMS")
T_CONF=$("$PY" "$WORK/mint.py" confusion "$WORK" "$WORK/rsa_pub.pem" HS256 rsa1 "$RSA_CLAIMS")
T_CONF_NOKID=$("$PY" "$WORK/mint.py" confusion "$WORK" "$WORK/rsa_pub.pem" HS256 - "$RSA_CLAIMS")
T_REMOTE=$(mint "$WORK/rsa.pem" RS256 rsa1 '{"iss":"https://remote.example","sub":"remote-user","exp":"+3600"}')
T_REMOTEBAD=$(mint "$WORK/rsa.pem" RS256 rsa1 '{"iss":"https://remotebad.example","exp":"+3600"}')
T_SLOW=$(mint "$WORK/rsa.pem" RS256 rsa1 '{"iss":"https://slow.example","exp":"+3600"}')
T_HS=$(mint "$WORK/hs.secret" HS256 hs1 '{"iss":"https://hs.example","sub":"cookie-user","exp":"+3600"}')
for t in T_RSA T_EC T_FWD T_EXPIRED T_NBF T_AUD T_ISS T_WRONGKEY T_PS T_NONE T_CONF T_CONF_NOKID T_REMOTE T_HS; do
    [ -n "${!t}" ] || { fail "mint $t"; finish; }
done

# --- the remote JWKS server ---------------------------------------------------------
mkdir -p "$WORK/jwks_root"
cp "$WORK/jwks.json" "$WORK/jwks_root/jwks.json"
(cd "$WORK/jwks_root" && exec "$PY" -m http.server "$JWKS_PORT" --bind 127.0.0.1) >"$WORK/jwks_server.log" 2>&1 &
PIDS+=($!)
wait_port "$JWKS_PORT"

DP_CONCURRENCY=1 # one worker: one remote JWKS fetch for the whole test

per_route() { # NAME VALUE: a PerRouteConfig in typed_per_filter_config
    printf '                typed_per_filter_config:\n'
    printf '                  envoy.filters.http.jwt_authn:\n'
    printf '                    "@type": type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.PerRouteConfig\n'
    printf '                    %s: %s\n' "$1" "$2"
}

FILTERS=$(cat <<YAML
          - name: envoy.filters.http.jwt_authn
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication
              providers:
                rsa:
                  issuer: https://rsa.example
                  audiences: [api]
                  local_jwks: { filename: "$WORK/jwks.json" }
                  forward_payload_header: x-jwt-payload
                  claim_to_headers:
                  - { header_name: x-jwt-sub, claim_name: sub }
                  - { header_name: x-jwt-role, claim_name: ext.role }
                  payload_in_metadata: rsa_payload
                  jwt_cache_config: { jwt_cache_size: 10 }
                fwd:
                  issuer: https://fwd.example
                  local_jwks: { filename: "$WORK/jwks.json" }
                  from_headers: [{ name: x-token }]
                  forward: true
                remote:
                  issuer: https://remote.example
                  remote_jwks:
                    http_uri: { uri: "http://jwks.test/jwks.json", cluster: jwks, timeout: 2s }
                    cache_duration: 300s
                  from_params: [tok]
                remote_bad:
                  issuer: https://remotebad.example
                  remote_jwks:
                    http_uri: { uri: "http://dead.test/jwks.json", cluster: dead, timeout: 1s }
                slow:
                  issuer: https://slow.example
                  remote_jwks:
                    http_uri: { uri: "http://app.test/slow?ms=1500", cluster: app, timeout: 0.5s }
                hs:
                  issuer: https://hs.example
                  local_jwks: { inline_string: '$(cat "$WORK/hs_jwks.json")' }
                  from_cookies: [session]
              rules:
              - match: { prefix: /echo/public }
              - match: { prefix: /echo/any }
                requires: { requires_any: { requirements: [{ provider_name: rsa }, { provider_name: fwd }] } }
              - match: { prefix: /echo/all }
                requires: { requires_all: { requirements: [{ provider_name: rsa }, { provider_name: fwd }] } }
              - match: { prefix: /echo/optional }
                requires: { requires_any: { requirements: [{ provider_name: rsa }, { allow_missing: {} }] } }
              - match: { prefix: /echo/remotebad }
                requires: { provider_name: remote_bad }
              - match: { prefix: /echo/remote }
                requires: { provider_name: remote }
              - match: { prefix: /echo/slow }
                requires: { provider_name: slow }
              - match: { prefix: /echo/hs }
                requires: { provider_name: hs }
              - match: { prefix: /echo/aud }
                requires: { provider_and_audiences: { provider_name: rsa, audiences: [other] } }
              - match: { prefix: /echo/hdr, headers: [{ name: x-mode, string_match: { exact: strict } }] }
                requirement_name: rsa_only
              - match: { prefix: /echo/hdr }
              - match: { prefix: / }
                requires: { provider_name: rsa }
              requirement_map:
                rsa_only: { provider_name: rsa }
YAML
)
VHOSTS=$(cat <<YAML
            - name: app
              domains: ["*"]
              routes:
              - match: { prefix: "/echo/disabled" }
                route: { cluster: app }
$(per_route disabled true)
              - match: { prefix: "/echo/named" }
                route: { cluster: app }
$(per_route requirement_name rsa_only)
              - match: { prefix: "/echo/badname" }
                route: { cluster: app }
$(per_route requirement_name nope)
              - match: { prefix: "/" }
                route: { cluster: app }
YAML
)
CLUSTERS=$(cat <<YAML
$(cluster_yaml app "$APP_PORT")
$(cluster_yaml jwks "$JWKS_PORT")
$(cluster_yaml dead "$DEAD_PORT")
YAML
)
hcm_bootstrap "$VHOSTS" "$CLUSTERS" "" "$FILTERS" >"$WORK/bootstrap.yaml"

start_dataplane "$WORK/bootstrap.yaml" || { fail "start"; finish; }
P="http://127.0.0.1:$LISTEN_PORT"

code() { curl -s -o /dev/null -w '%{http_code}' -H 'Host: app.test' "$@"; }
body() { curl -s -H 'Host: app.test' "$@"; }

# --- a valid token ------------------------------------------------------------------------
out=$(body -H "Authorization: Bearer $T_RSA" -H 'X-Jwt-Sub: mallory' -H 'X-Jwt-Payload: forged' "$P/echo/x")
expect_contains "RS256: the upstream answers" "$out" '"path": "/echo/x"'
expect_not_contains "forward: false removes the Authorization header" "$out" '"authorization"'
expect_contains "claim_to_headers: sub" "$out" '["x-jwt-sub", "alice"]'
expect_contains "claim_to_headers: nested ext.role" "$out" '["x-jwt-role", "admin"]'
expect_not_contains "a client's x-jwt-sub is removed" "$out" 'mallory'
expect_not_contains "a client's x-jwt-payload is removed" "$out" 'forged'
payload=$(printf '%s' "$T_RSA" | cut -d. -f2)
expect_contains "forward_payload_header carries the payload part" "$out" "[\"x-jwt-payload\", \"$payload\"]"
expect_eq "ES256 token: 200" "$(code -H "Authorization: Bearer $T_EC" "$P/echo/x")" "200"
out=$(body "$P/echo/x?a=1&access_token=$T_RSA&b=2")
expect_contains "access_token query parameter: accepted, and removed upstream" "$out" '"path": "/echo/x?a=1&b=2"'
for i in 1 2 3; do code -H "Authorization: Bearer $T_RSA" "$P/echo/x" >/dev/null; done
hits=$(stat http.ingress_http.jwt_authn.jwt_cache_hit)
check "jwt_cache_config: repeated tokens hit the cache ($hits)" [ "${hits:-0}" -ge 3 ]

# --- failures (inv: the challenge has error="invalid_token"; skip: not checked) -------------------------------------------------------------------------------
deny_check() { # DESC STATUS MESSAGE INVALID_TOKEN(yes/no) CURL_ARGS...
    local desc=$1 st=$2 msg=$3 inv=$4; shift 4
    local resp
    resp=$(curl -s -D - -H 'Host: app.test' "$@" "$P/echo/deny?q=1" | tr -d '\r')
    expect_contains "$desc: $st" "$(echo "$resp" | head -n 1)" " $st"
    expect_contains "$desc: Envoy's message" "$resp" "\"error\": \"$msg\""
    if [ "$st" = 401 ] && [ "$inv" != skip ]; then
        if [ "$inv" = yes ]; then
            expect_contains "$desc: WWW-Authenticate" "$resp" \
                'www-authenticate: Bearer realm="http://app.test/echo/deny?q=1", error="invalid_token"'
        else
            expect_contains "$desc: WWW-Authenticate" "$resp" 'www-authenticate: Bearer realm="http://app.test/echo/deny?q=1"'
            expect_not_contains "$desc: no error= when missing" "$resp" 'invalid_token'
        fi
    fi
}
deny_check "missing token" 401 "Jwt is missing" no
deny_check "lowercase bearer is no token" 401 "Jwt is missing" no -H "Authorization: bearer $T_RSA"
deny_check "expired" 401 "Jwt is expired" yes -H "Authorization: Bearer $T_EXPIRED"
deny_check "not yet valid" 401 "Jwt not yet valid" yes -H "Authorization: Bearer $T_NBF"
deny_check "wrong audience" 403 "Audiences in Jwt are not allowed" yes -H "Authorization: Bearer $T_AUD"
deny_check "unknown issuer" 401 "Jwt issuer is not configured" yes -H "Authorization: Bearer $T_ISS"
deny_check "signed by another key" 401 "Jwt verification fails" yes -H "Authorization: Bearer $T_WRONGKEY"
deny_check "alg none" 401 "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections" yes \
    -H "Authorization: Bearer $T_NONE"
# the RSA JWK says alg RS256: no key for an HS256 token under its kid; without kid the
# keys without alg (the EC one) are candidates but no public key serves as an HMAC secret
deny_check "HS256 keyed with the RSA public key (kid rsa1)" 401 "Jwks doesn't have key to match kid or alg from Jwt" yes \
    -H "Authorization: Bearer $T_CONF"
deny_check "HS256 keyed with the RSA public key (no kid)" 401 "Jwt verification fails" yes \
    -H "Authorization: Bearer $T_CONF_NOKID"
deny_check "PS256 against a key with alg RS256" 401 "Jwks doesn't have key to match kid or alg from Jwt" yes \
    -H "Authorization: Bearer $T_PS"
deny_check "garbage token" 401 "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections" yes \
    -H "Authorization: Bearer abc"
deny_check "a good and a bad token: all must verify" 401 "Jwt is expired" skip \
    -H "Authorization: Bearer $T_RSA" --data-urlencode "x=1" -G --data-urlencode "access_token=$T_EXPIRED"

# --- requirements ------------------------------------------------------------------------------
out=$(body -H "x-token: $T_FWD" "$P/echo/any")
expect_contains "requires_any: the second provider alone" "$out" '"path": "/echo/any"'
expect_contains "forward: true keeps the token for the upstream" "$out" "[\"x-token\", \"$T_FWD\"]"
expect_eq "requires_any: the first provider alone" "$(code -H "Authorization: Bearer $T_RSA" "$P/echo/any")" "200"
expect_eq "requires_any: neither: 401" "$(code "$P/echo/any")" "401"
expect_eq "requires_all: both: 200" "$(code -H "Authorization: Bearer $T_RSA" -H "x-token: $T_FWD" "$P/echo/all")" "200"
expect_eq "requires_all: one missing: 401" "$(code -H "Authorization: Bearer $T_RSA" "$P/echo/all")" "401"
expect_eq "allow_missing: no token: 200" "$(code "$P/echo/optional")" "200"
expect_eq "allow_missing: a good token: 200" "$(code -H "Authorization: Bearer $T_RSA" "$P/echo/optional")" "200"
expect_eq "allow_missing: a bad token: 401" "$(code -H "Authorization: Bearer $T_EXPIRED" "$P/echo/optional")" "401"
expect_eq "rule without requirement: 200" "$(code "$P/echo/public")" "200"
expect_eq "provider_and_audiences replaces the audiences: api refused" \
    "$(code -H "Authorization: Bearer $T_RSA" "$P/echo/aud")" "403"
expect_eq "provider_and_audiences: other accepted" "$(code -H "Authorization: Bearer $T_OTHERAUD" "$P/echo/aud")" "200"
expect_eq "rule with a header matcher (requirement_name): no token: 401" "$(code -H 'x-mode: strict' "$P/echo/hdr")" "401"
expect_eq "same prefix without the header: no requirement" "$(code -H 'x-mode: lax' "$P/echo/hdr")" "200"
expect_eq "HS256 token from a cookie" "$(code -H "Cookie: a=b; session=$T_HS" "$P/echo/hs")" "200"
expect_eq "HS256: the cookie is the only location" "$(code -H "Authorization: Bearer $T_HS" "$P/echo/hs")" "401"

# --- per-route configs -----------------------------------------------------------------------------
expect_eq "PerRouteConfig disabled: no token needed" "$(code "$P/echo/disabled")" "200"
expect_eq "PerRouteConfig requirement_name: no token: 401" "$(code "$P/echo/named")" "401"
expect_eq "PerRouteConfig requirement_name: token: 200" "$(code -H "Authorization: Bearer $T_RSA" "$P/echo/named")" "200"
resp=$(curl -s -D - -H 'Host: app.test' "$P/echo/badname" | tr -d '\r')
expect_contains "unknown requirement_name: 403" "$(echo "$resp" | head -n 1)" " 403"
expect_contains "unknown requirement_name: Envoy's message" "$resp" \
    'Failed JWT authentication: Wrong requirement_name: nope. It should be one of [rsa_only]'

# --- remote JWKS ------------------------------------------------------------------------------------
out=$(body "$P/echo/remote?tok=$T_REMOTE&keep=1")
expect_contains "remote JWKS: 200, the tok parameter removed" "$out" '"path": "/echo/remote?keep=1"'
expect_eq "remote JWKS: again" "$(code "$P/echo/remote?tok=$T_REMOTE")" "200"
expect_eq "remote JWKS: a wrong token" "$(code "$P/echo/remote?tok=$T_WRONGKEY")" "401"
fetches=$(grep -c 'GET /jwks.json' "$WORK/jwks_server.log")
expect_eq "remote JWKS fetched once (cache_duration)" "$fetches" "1"
expect_eq "jwks_fetch_success stat" "$(stat http.ingress_http.jwt_authn.jwks_fetch_success)" "1"
resp=$(curl -s -D - -H 'Host: app.test' "$P/echo/remotebad?access_token=$T_REMOTEBAD" | tr -d '\r')
expect_contains "unreachable JWKS cluster: 401" "$(echo "$resp" | head -n 1)" " 401"
expect_contains "unreachable JWKS cluster: Envoy's message" "$resp" '"error": "Jwks remote fetch is failed"'
t0=$(date +%s%N)
expect_eq "JWKS fetch past http_uri.timeout: 401" "$(code "$P/echo/slow?access_token=$T_SLOW")" "401"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "the timeout (0.5s) cut the 1.5s fetch short (${ms} ms)" [ "$ms" -lt 1400 ]
# a client leaving while its JWKS fetch is in flight, then the worker still serves
curl -s -o /dev/null --max-time 0.2 -H 'Host: app.test' "$P/echo/slow?access_token=$T_SLOW"
expect_eq "after an abandoned fetch: 200" "$(code -H "Authorization: Bearer $T_RSA" "$P/echo/x")" "200"
check "jwks_fetch_failed counts the failures" [ "$(stat http.ingress_http.jwt_authn.jwks_fetch_failed)" -ge 2 ]
check "allowed counted" [ "$(stat http.ingress_http.jwt_authn.allowed)" -ge 10 ]
check "denied counted" [ "$(stat http.ingress_http.jwt_authn.denied)" -ge 10 ]

# --- config errors name the field ----------------------------------------------------------------------
sed -e 's/provider_name: rsa_only_missing/x/' -e 's/rsa_only: { provider_name: rsa }/rsa_only: { provider_name: nobody }/' \
    "$WORK/bootstrap.yaml" >"$WORK/bad.yaml"
err=$("$DP_BIN" -c "$WORK/bad.yaml" --mode validate 2>&1)
expect_contains "unknown provider: refused naming the field" "$err" \
    "requirement_map[\"rsa_only\"].provider_name: Required provider ['nobody'] is not configured."
finish
