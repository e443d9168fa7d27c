#!/usr/bin/env bash
# control-stub's HTTPS listeners end to end: a fleet node with a plain and a
# `tls: true` listener and two certificates (the node's wildcard, and a
# custom domain's own) is served over ADS with the certificates as SDS
# Secrets; the real data plane terminates TLS with SNI selection, speaks
# HTTP/2 or HTTP/1.1 by ALPN, and routes container URLs and the custom
# domain. A fleet edit that replaces a certificate file rotates it.
. "$(dirname "$0")/lib.sh"

STUB="$(dirname "$DP_BIN")/control-stub/control-stub"
[ -f "$STUB" ] || STUB="$(dirname "$DP_BIN")/control-stub"
[ -x "$STUB" ] || { fail "control-stub binary not found next to $DP_BIN"; finish; }
command -v openssl >/dev/null || { echo "SKIP: openssl missing"; exit 77; }

LISTEN_PORT=$(free_port); TLS_PORT=$(free_port); ADMIN_PORT=$(free_port); ADS_PORT=$(free_port)
APP_PORT=$(free_port)
start_upstream app "$APP_PORT"
C="$DP_SRC/examples/fleet/certs"
cp "$C/wildcard.pem" "$C/wildcard.key" "$C/shop.pem" "$C/shop.key" "$WORK/"

PROJ=5f0c1a2b3c4d5e6f7a8b9c0d
C1=aa00000000000000000000a1
BASE=containers.example.test
NODE=node-us
cat >"$WORK/fleet.yaml" <<YAML
nodes:
- name: $NODE
  base_domain: $BASE
  listeners:
  - { address: 127.0.0.1, port: $LISTEN_PORT }
  - { address: 127.0.0.1, port: $TLS_PORT, tls: true }
  certificates:
  - { cert_file: wildcard.pem, key_file: wildcard.key }
  - { cert_file: shop.pem, key_file: shop.key, server_names: [shop.example.com] }
projects:
- { id: $PROJ, alias: demo, permissions: { default: allow } }
containers:
- { id: $C1, project: $PROJ, node: $NODE, state: running, address: 127.0.0.1, services: [http-$APP_PORT] }
aliases:
- { name: web, domain: shop.example.com, container: $C1, service: http-$APP_PORT }
YAML

"$STUB" -c "$WORK/fleet.yaml" --listen "127.0.0.1:$ADS_PORT" >>"$WORK/stub.log" 2>&1 &
PIDS+=($!)
wait_port "$ADS_PORT" || { fail "control-stub did not listen"; finish; }
ads_bootstrap "$NODE" GRPC "$ADS_PORT" "$ADMIN_PORT" >"$WORK/bootstrap.yaml"
start_dataplane "$WORK/bootstrap.yaml" || { fail "data plane start"; finish; }

H1="$PROJ-$C1-http-$APP_PORT-1.$NODE.$BASE"
# https HOST [curl args]: "BODY HTTP_VERSION CODE"
https() {
    local h=$1; shift
    curl -s -m 5 --cacert "$C/ca.pem" --resolve "$h:$TLS_PORT:127.0.0.1" -w ' %{http_version} %{http_code}' "$@" \
        "https://$h:$TLS_PORT/" | tr -d '\n'
}
subject() { # subject SNI: the served certificate's subject
    openssl s_client -connect "127.0.0.1:$TLS_PORT" -servername "$1" </dev/null 2>/dev/null |
        openssl x509 -noout -subject 2>/dev/null
}
for _ in $(seq 1 100); do
    case "$(https "$H1")" in *" 200") break ;; esac
    sleep 0.05
done
expect_eq "container URL over HTTPS, HTTP/2 by ALPN" "$(https "$H1")" "hello from app 2 200"
expect_eq "container URL over HTTPS, HTTP/1.1" "$(https "$H1" --http1.1)" "hello from app 1.1 200"
expect_contains "the node's wildcard certificate for container URLs" "$(subject "$H1")" \
    "CN = *.node-us.containers.example.test"
expect_eq "custom domain over HTTPS" "$(https shop.example.com)" "hello from app 2 200"
expect_contains "the custom domain's own certificate, by SNI" "$(subject shop.example.com)" "CN = shop.example.com"
expect_eq "the plain listener still serves" \
    "$(curl -s -m 3 -H "Host: $H1" -w ' %{http_code}' "http://127.0.0.1:$LISTEN_PORT/" | tr -d '\n')" \
    "hello from app 200"
out=$(curl -s "http://127.0.0.1:$ADMIN_PORT/config_dump")
expect_contains "the certificates arrived as SDS secrets" "$out" '"@type": "type.googleapis.com/envoy.admin.v3.SecretsConfigDump"'
expect_not_contains "... with their private keys redacted" "$out" "BEGIN PRIVATE KEY"
expect_not_contains "... (EC keys too)" "$out" "BEGIN EC PRIVATE KEY"

# rotation: the wildcard entry now points at the shop certificate (any
# other valid pair would do); new handshakes get it
sed -i 's/{ cert_file: wildcard.pem, key_file: wildcard.key }/{ cert_file: shop.pem, key_file: shop.key }/' \
    "$WORK/fleet.yaml"
for _ in $(seq 1 100); do
    case "$(subject "$H1")" in *"CN = shop.example.com"*) break ;; esac
    sleep 0.05
done
expect_contains "a fleet edit rotates the certificate (SDS update)" "$(subject "$H1")" "CN = shop.example.com"
finish
