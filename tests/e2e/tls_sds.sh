#!/usr/bin/env bash
# TLS listeners from the bootstrap: one listener, several filter chains
# chosen by SNI (Envoy's filter_chain_match), each with its certificate:
#  - "*.node-us.example.test" from a static secret (static_resources.secrets,
#    referred to by tls_certificate_sds_secret_configs without sds_config),
#  - a customer's own domain with its certificate from files,
#  - a plaintext default chain.
# openssl s_client shows the right certificate for each name; a name no
# chain serves fails the handshake (no_filter_chain_match); ALPN picks h2
# or http/1.1; curl --cacert gets 200 from the upstream over HTTPS with
# either protocol; KeyUpdates from s_client in the middle of a
# connection are followed.
# Then SDS over ADS: a static listener whose certificate comes from a
# management server (sds_server.py: control-stub does not serve Secrets
# yet) warms until it arrives; a new version rotates it while a connection
# opened before keeps its certificate and keeps working; a bad version is
# NACKed and the last good one stays.
. "$(dirname "$0")/lib.sh"

LISTEN_PORT=$(free_port); ADMIN_PORT=$(free_port); APP_PORT=$(free_port)

C="$WORK/certs"; mkdir -p "$C"
# one CA for the node's wildcard, another for the customer's domain
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -keyout "$C/ca.key" \
    -out "$C/ca.pem" -subj "/CN=e2e node CA" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$C/wild.key" -out "$C/wild.csr" \
    -subj "/CN=*.node-us.example.test" 2>/dev/null
printf 'subjectAltName=DNS:*.node-us.example.test\nextendedKeyUsage=serverAuth\n' >"$C/wild.ext"
openssl x509 -req -in "$C/wild.csr" -CA "$C/ca.pem" -CAkey "$C/ca.key" -CAcreateserial -days 2 \
    -extfile "$C/wild.ext" -out "$C/wild.pem" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -keyout "$C/shop.key" -out "$C/shop.pem" \
    -subj "/CN=shop.customer.example" -addext "subjectAltName=DNS:shop.customer.example" 2>/dev/null
[ -s "$C/wild.pem" ] && [ -s "$C/shop.pem" ] || { fail "openssl made no certificates"; finish; }

start_upstream app "$APP_PORT"

HCM_TYPE=type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
DTLS_TYPE=type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
# hcm STAT_PREFIX: the chain's filters (codec AUTO: ALPN, else sniffing)
hcm() {
    cat <<YAML
      filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": $HCM_TYPE
          stat_prefix: $1
          http_filters:
          - name: envoy.filters.http.router
            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }
          route_config:
            virtual_hosts:
            - name: app
              domains: ["*"]
              routes:
              - match: { prefix: "/" }
                route: { cluster: app }
YAML
}
cat >"$WORK/bootstrap.yaml" <<YAML
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: $ADMIN_PORT } }
static_resources:
  secrets:
  - name: node_wildcard
    tls_certificate:
      certificate_chain: { filename: "$C/wild.pem" }
      private_key: { filename: "$C/wild.key" }
  listeners:
  - name: https
    address: { socket_address: { address: 127.0.0.1, port_value: $LISTEN_PORT } }
    listener_filters:
    - name: envoy.filters.listener.tls_inspector
      typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector }
    listener_filters_timeout: 5s
    filter_chains:
    - name: node_wildcard
      filter_chain_match: { server_names: ["*.node-us.example.test"], transport_protocol: tls }
      transport_socket:
        name: envoy.transport_sockets.tls
        typed_config:
          "@type": $DTLS_TYPE
          common_tls_context:
            alpn_protocols: [h2, http/1.1]
            tls_certificate_sds_secret_configs: [{ name: node_wildcard }]
$(hcm wildcard)
    - name: customer_shop
      filter_chain_match: { server_names: [shop.customer.example] }
      transport_socket:
        name: envoy.transport_sockets.tls
        typed_config:
          "@type": $DTLS_TYPE
          common_tls_context:
            alpn_protocols: [h2, http/1.1]
            tls_certificates:
            - certificate_chain: { filename: "$C/shop.pem" }
              private_key: { filename: "$C/shop.key" }
$(hcm shop)
    default_filter_chain:
      name: plaintext
$(hcm plain)
  clusters:
$(cluster_yaml app "$APP_PORT")
YAML
start_dataplane "$WORK/bootstrap.yaml" || { fail "start"; finish; }

# s_client NAME [ALPN]: the handshake's transcript (stdin closed at once)
s_client() {
    timeout 10 openssl s_client -connect "127.0.0.1:$LISTEN_PORT" -servername "$1" ${2:+-alpn "$2"} \
        </dev/null 2>&1 | tr -d '\000'
}
subject() { printf '%s' "$1" | sed -n 's/^subject=//p' | head -n1; }

out=$(s_client a.node-us.example.test)
expect_contains "SNI under the wildcard: the node's certificate" "$(subject "$out")" "CN = *.node-us.example.test"
out=$(s_client deep.api.node-us.example.test)
expect_contains "a deeper name under the wildcard chain" "$(subject "$out")" "CN = *.node-us.example.test"
out=$(s_client shop.customer.example)
expect_contains "the customer's domain: its own certificate" "$(subject "$out")" "CN = shop.customer.example"
out=$(s_client SHOP.Customer.Example)
expect_contains "SNI matches without case" "$(subject "$out")" "CN = shop.customer.example"
before=$(stat "listener.127.0.0.1_$LISTEN_PORT.no_filter_chain_match")
out=$(s_client nomatch.example.org)
expect_not_contains "no chain for that name: no certificate" "$out" "subject="
expect_contains "no chain for that name: the handshake fails" "$out" "alert"
after=$(stat "listener.127.0.0.1_$LISTEN_PORT.no_filter_chain_match")
expect_eq "listener no_filter_chain_match counts it" "$(( ${after:-0} - ${before:-0} ))" "1"
expect_eq "but not as ssl.connection_error (no chain, no TLS)" \
    "$(stat "listener.127.0.0.1_$LISTEN_PORT.ssl.connection_error")" "0"
out=$(timeout 10 openssl s_client -connect "127.0.0.1:$LISTEN_PORT" -servername a.node-us.example.test -tls1_3 \
    -ciphersuites TLS_AES_128_CCM_8_SHA256 </dev/null 2>&1)
expect_contains "a TLS 1.3 suite the chain does not take: handshake failure" "$out" "alert handshake failure"
expect_eq "ssl.connection_error counts it" "$(stat "listener.127.0.0.1_$LISTEN_PORT.ssl.connection_error")" "1"

out=$(s_client a.node-us.example.test h2,http/1.1)
expect_contains "ALPN h2 when offered first" "$out" "ALPN protocol: h2"
out=$(s_client a.node-us.example.test http/1.1)
expect_contains "ALPN http/1.1" "$out" "ALPN protocol: http/1.1"
out=$(s_client shop.customer.example h2)
expect_contains "ALPN h2 on the customer's chain" "$out" "ALPN protocol: h2"

# HTTPS through to the upstream
H="a.node-us.example.test"
out=$(curl -s --cacert "$C/ca.pem" --resolve "$H:$LISTEN_PORT:127.0.0.1" --http1.1 \
    -w ' %{http_code} %{http_version}' "https://$H:$LISTEN_PORT/hello")
expect_contains "HTTPS (HTTP/1.1) to the upstream: 200" "$out" " 200 1.1"
out=$(curl -s --cacert "$C/ca.pem" --resolve "$H:$LISTEN_PORT:127.0.0.1" --http2 \
    -w ' %{http_code} %{http_version}' "https://$H:$LISTEN_PORT/hello")
expect_contains "HTTPS (HTTP/2 by ALPN) to the upstream: 200" "$out" " 200 2"
S="shop.customer.example"
out=$(curl -s --cacert "$C/shop.pem" --resolve "$S:$LISTEN_PORT:127.0.0.1" -w ' %{http_code}' \
    "https://$S:$LISTEN_PORT/cart")
expect_contains "HTTPS on the customer's domain: 200" "$out" " 200"
code=$(curl -s -o /dev/null --cacert "$C/ca.pem" --resolve "$S:$LISTEN_PORT:127.0.0.1" -w '%{http_code}' \
    "https://$S:$LISTEN_PORT/cart")
expect_eq "the customer's certificate does not chain to the node CA" "$code" "000"
# plaintext goes to the default chain
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$LISTEN_PORT/plain")
expect_eq "plaintext on the same port: the default chain" "$code" "200"
expect_eq "each chain has its HCM (stats by stat_prefix)" \
    "$(stat http.wildcard.downstream_rq_total) $(stat http.plain.downstream_rq_total)" "2 1"

# One keep-alive connection, three requests, with KeyUpdates from the
# client between them (one asking for ours, one not): by then the
# connection runs on our TLS 1.3 record layer (docs/tls.md), which must
# follow the client's new keys and answer with its own.
out=$( (printf 'GET /k1 HTTP/1.1\nHost: %s\n\n' "$H"; sleep 0.5; printf 'K\n'; sleep 0.3
        printf 'GET /k2 HTTP/1.1\nHost: %s\n\n' "$H"; sleep 0.5; printf 'k\n'; sleep 0.3
        printf 'GET /k3 HTTP/1.1\nHost: %s\n\n' "$H"; sleep 0.5) |
    timeout 10 openssl s_client -connect "127.0.0.1:$LISTEN_PORT" -servername "$H" -tls1_3 -alpn http/1.1 \
        -crlf 2>&1 | tr -d '\000')
expect_eq "TLS 1.3 KeyUpdates both ways: all three answered" "$(printf '%s\n' "$out" | grep -c '^HTTP/1.1 200')" "3"
expect_eq "TLS 1.3 KeyUpdates both ways: two sent" "$(printf '%s\n' "$out" | grep -c '^KEYUPDATE')" "2"
expect_not_contains "TLS 1.3 KeyUpdates both ways: no alert" "$out" "alert"
# Envoy's listener TLS stats (listener.<address>.ssl.*)
L="listener.127.0.0.1_$LISTEN_PORT.ssl"
hs=$(stat "$L.handshake")
expect_eq "ssl.handshake counts every handshake, ssl.no_certificate those without a client certificate" \
    "$(( hs > 5 )) $(stat "$L.no_certificate")" "1 $hs"
expect_eq "ssl.versions / ssl.ciphers: per version and cipher" \
    "$(( $(stat "$L.versions.TLSv1.3") + 0 > 0 )) $(( $(stat "$L.ciphers.TLS_AES_128_GCM_SHA256") + 0 > 0 ))" "1 1"

dump=$(curl -s "http://127.0.0.1:$ADMIN_PORT/config_dump?resource=static_secrets")
expect_contains "config_dump lists the static secret" "$dump" '"name": "node_wildcard"'

kill -TERM "$DP_PID"
rc=0
wait "$DP_PID" || rc=$?
expect_eq "first data plane exits 0 on SIGTERM" "$rc" "0"
DP_PID=

# --- SDS over ADS ----------------------------------------------------------------
PY=/usr/bin/python3
if ! $PY -c 'import grpc' 2>/dev/null; then
    echo "python3-grpcio missing: SDS part skipped"
    finish
fi
LISTEN_PORT=$(free_port); ADMIN_PORT=$(free_port); ADS_PORT=$(free_port)
for v in v1 v2; do
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$C/$v.key" -out "$C/$v.csr" \
        -subj "/CN=$v.sds.example.test" 2>/dev/null
    printf 'subjectAltName=DNS:*.sds.example.test\nextendedKeyUsage=serverAuth\n' >"$C/$v.ext"
    openssl x509 -req -in "$C/$v.csr" -CA "$C/ca.pem" -CAkey "$C/ca.key" -CAcreateserial -days 2 \
        -extfile "$C/$v.ext" -out "$C/$v.pem" 2>/dev/null
done
CONTROL="$WORK/sds.control"
echo "s1 rotating $C/v1.pem $C/v1.key" >"$CONTROL"
$PY "$E2E_DIR/sds_server.py" "$ADS_PORT" "$CONTROL" "$WORK/sds_requests.log" >"$WORK/sds_server.log" 2>&1 &
PIDS+=($!)
wait_port "$ADS_PORT"
cat >"$WORK/bootstrap_sds.yaml" <<YAML
node: { id: sds-node, cluster: test }
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: $ADMIN_PORT } }
dynamic_resources:
  ads_config:
    api_type: GRPC
    transport_api_version: V3
    grpc_services:
    - google_grpc: { target_uri: "127.0.0.1:$ADS_PORT", stat_prefix: ads }
static_resources:
  listeners:
  - name: sds_https
    address: { socket_address: { address: 127.0.0.1, port_value: $LISTEN_PORT } }
    filter_chains:
    - filter_chain_match: { server_names: ["*.sds.example.test"] }
      transport_socket:
        name: envoy.transport_sockets.tls
        typed_config:
          "@type": $DTLS_TYPE
          common_tls_context:
            alpn_protocols: [http/1.1]
            tls_certificate_sds_secret_configs:
            - name: rotating
              sds_config: { ads: {}, resource_api_version: V3 }
$(hcm sds)
  clusters:
$(cluster_yaml app "$APP_PORT")
YAML
start_dataplane "$WORK/bootstrap_sds.yaml" || { fail "start with SDS"; finish; }
# subject_wait NAME WANT: the served certificate's subject, once it has WANT (5 s)
subject_wait() {
    local i s=""
    for i in $(seq 1 100); do
        s=$(subject "$(s_client "$1")")
        case "$s" in *"$2"*) break ;; esac
        sleep 0.05
    done
    printf '%s' "$s"
}
expect_contains "the SDS secret arrives: its certificate is served" \
    "$(subject_wait a.sds.example.test "CN = v1.sds.example.test")" "CN = v1.sds.example.test"

# a connection opened now, kept open across the rotation
cat >"$WORK/keepalive.py" <<'PYEOF'
import socket, ssl, sys, time, os
port, ca, go, out = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=ca)
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="keep.sds.example.test")
def get(path):
    s.sendall(("GET %s HTTP/1.1\r\nHost: keep.sds.example.test\r\n\r\n" % path).encode())
    data = b""
    while b"\r\n\r\n" not in data:
        data += s.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    n = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
    while len(body) < n:
        body += s.recv(65536)
    return head.split(b"\r\n")[0].decode()
cn = lambda: dict(x[0] for x in s.getpeercert()["subject"])["commonName"]
with open(out, "w") as f:
    f.write("before %s %s\n" % (get("/before"), cn()))
    f.flush()
    for _ in range(200):
        if os.path.exists(go):
            break
        time.sleep(0.05)
    f.write("after %s %s\n" % (get("/after"), cn()))
PYEOF
$PY "$WORK/keepalive.py" "$LISTEN_PORT" "$C/ca.pem" "$WORK/go" "$WORK/keepalive.out" 2>"$WORK/keepalive.log" &
KA=$!
PIDS+=($KA)
for i in $(seq 1 100); do [ -s "$WORK/keepalive.out" ] && break; sleep 0.05; done

# and a download in flight across the rotation (8 MB at 2 MB/s: ~4 s)
curl -s --cacert "$C/ca.pem" --resolve "dl.sds.example.test:$LISTEN_PORT:127.0.0.1" --limit-rate 2M \
    -o "$WORK/download.bin" -w '%{http_code} %{size_download}' \
    "https://dl.sds.example.test:$LISTEN_PORT/bytes/8000000" >"$WORK/download.out" 2>&1 &
DL=$!
PIDS+=($DL)
sleep 0.5

echo "s2 rotating $C/v2.pem $C/v2.key" >"$CONTROL"
expect_contains "rotation: new connections get the new certificate" \
    "$(subject_wait b.sds.example.test "CN = v2.sds.example.test")" "CN = v2.sds.example.test"
touch "$WORK/go"
wait "$KA"
ka=$(cat "$WORK/keepalive.out")
expect_contains "the connection opened before answered" "$ka" "before HTTP/1.1 200 OK v1.sds.example.test"
expect_contains "the same connection still works after the rotation, on its certificate" "$ka" \
    "after HTTP/1.1 200 OK v1.sds.example.test"
dl_rc=0
wait "$DL" || dl_rc=$?
expect_eq "a download in flight during the rotation completes" "$dl_rc $(cat "$WORK/download.out")" "0 200 8000000"
expect_eq "... with every byte right" "$(python3 -c 'import sys; print(open(sys.argv[1],"rb").read() == ((b"0123456789abcdefghijklmnopqrstuvwxyz" * 1820)[:65536] * 123)[:8000000])' "$WORK/download.bin")" "True"
out=$(curl -s --cacert "$C/ca.pem" --resolve "c.sds.example.test:$LISTEN_PORT:127.0.0.1" -w ' %{http_code}' \
    "https://c.sds.example.test:$LISTEN_PORT/new")
expect_contains "HTTPS with the rotated certificate: 200" "$out" " 200"

# a key that does not match: NACKed, the last good secret stays
echo "s3 rotating $C/v2.pem $C/v1.key" >"$CONTROL"
for i in $(seq 1 100); do grep -q "error=.*private key does not match" "$WORK/sds_requests.log" && break; sleep 0.05; done
nack=$(grep "error=" "$WORK/sds_requests.log" | grep -v "error=$" | tail -n1)
expect_contains "the bad secret is NACKed naming it" "$nack" "rotating: tls_certificate: private key does not match"
expect_contains "the NACK keeps the last good version" "$nack" "version=s2"
expect_contains "the last good certificate stays" "$(subject "$(s_client d.sds.example.test)")" \
    "CN = v2.sds.example.test"
dump=$(curl -s "http://127.0.0.1:$ADMIN_PORT/config_dump")
expect_contains "config_dump: the SDS secret with its version" "$dump" '"version_info": "s2"'
expect_contains "config_dump: the rejected version's error" "$dump" "private key does not match"
expect_contains "config_dump: the private key redacted" "$dump" '[redacted]'
expect_not_contains "config_dump: no private key material" "$dump" "PRIVATE KEY"
finish
