#!/usr/bin/env bash
# TLS towards upstreams (cluster transport_socket UpstreamTlsContext): the
# handshake is part of the connect, the SNI is the context's, the upstream
# certificate is verified against trusted_ca, and the codec follows the
# protocol (HTTP/1.1 over TLS with ALPN http/1.1; HTTP/2 over TLS to a
# grpcio server with ALPN h2). A certificate from another CA fails the
# connect: 503 UF, upstream_cx_connect_fail.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
LISTEN_PORT=$(free_port); ADMIN_PORT=$(free_port); TLS1_PORT=$(free_port); GRPC_PORT=$(free_port)

# a CA and a leaf for up.example.test, and an unrelated CA
C="$WORK/certs"; mkdir -p "$C"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -keyout "$C/ca.key" \
    -out "$C/ca.pem" -subj "/CN=e2e upstream CA" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$C/up.key" -out "$C/up.csr" \
    -subj "/CN=up.example.test" 2>/dev/null
printf 'subjectAltName=DNS:up.example.test\nextendedKeyUsage=serverAuth\n' >"$C/up.ext"
openssl x509 -req -in "$C/up.csr" -CA "$C/ca.pem" -CAkey "$C/ca.key" -CAcreateserial -days 2 \
    -extfile "$C/up.ext" -out "$C/up.pem" 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -keyout "$C/other.key" \
    -out "$C/other.pem" -subj "/CN=another CA" 2>/dev/null

# HTTP/1.1 over TLS: answers JSON with the SNI and ALPN it saw
cat >"$WORK/tls_upstream.py" <<'PY'
import json, ssl, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
seen = {}
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ctx.set_alpn_protocols(["http/1.1"])
def on_sni(sock, name, c):
    seen[id(sock)] = name
ctx.sni_callback = on_sni
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = json.dumps({"sni": seen.get(id(self.connection)), "alpn": self.connection.selected_alpn_protocol(),
                           "path": self.path, "tls": self.connection.version()}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
srv = ThreadingHTTPServer(("127.0.0.1", port), H)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print("tls upstream on", port, flush=True)
srv.serve_forever()
PY
$PY "$WORK/tls_upstream.py" "$TLS1_PORT" "$C/up.pem" "$C/up.key" >"$WORK/tls_upstream.log" 2>&1 &
PIDS+=($!)
wait_port "$TLS1_PORT"

# HTTP/2 over TLS: a grpcio server with TLS credentials
HAVE_GRPC=0
if $PY -c 'import grpc' 2>/dev/null; then
    HAVE_GRPC=1
    cat >"$WORK/grpc_tls.py" <<'PY'
import sys, time
from concurrent import futures
import grpc
port, cert, key = int(sys.argv[1]), open(sys.argv[2], "rb").read(), open(sys.argv[3], "rb").read()
def unary(req, ctx):
    return b"tls:" + req
h = {"Unary": grpc.unary_unary_rpc_method_handler(unary, lambda b: b, lambda b: b)}
srv = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
srv.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("test.Echo", h),))
srv.add_secure_port("127.0.0.1:%d" % port, grpc.ssl_server_credentials([(key, cert)]))
srv.start()
print("grpc tls on", port, flush=True)
time.sleep(3600)
PY
    $PY "$WORK/grpc_tls.py" "$GRPC_PORT" "$C/up.pem" "$C/up.key" >"$WORK/grpc_tls.log" 2>&1 &
    PIDS+=($!)
    wait_port "$GRPC_PORT"
fi

# tls_cluster NAME PORT CA [PROTOCOL_OPTIONS_YAML]
tls_cluster() {
    cat <<YAML
  - name: $1
    transport_socket:
      name: envoy.transport_sockets.tls
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
        sni: up.example.test
        common_tls_context:
          validation_context: { trusted_ca: { filename: "$3" } }
YAML
    [ -n "${4:-}" ] && cat <<YAML
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        $4
YAML
    cat <<YAML
    load_assignment:
      cluster_name: $1
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: $2 } } }
YAML
}
vhosts() {
    printf '            - name: app\n              domains: ["*"]\n              routes:\n'
    printf '              - match: { prefix: "/test.Echo/" }\n                route: { cluster: tls2 }\n'
    printf '              - match: { prefix: "/bad/" }\n                route: { cluster: badca }\n'
    printf '              - match: { prefix: "/" }\n                route: { cluster: tls1 }\n'
}
hcm_bootstrap "$(vhosts)" \
    "$(tls_cluster tls1 "$TLS1_PORT" "$C/ca.pem"
       tls_cluster badca "$TLS1_PORT" "$C/other.pem"
       tls_cluster tls2 "$GRPC_PORT" "$C/ca.pem" 'explicit_http_config: { http2_protocol_options: {} }')" \
    "          codec_type: AUTO" >"$WORK/bootstrap.yaml"
# one worker: pools (and so connection reuse) are per worker
DP_CONCURRENCY=1 start_dataplane "$WORK/bootstrap.yaml" || { fail "start"; finish; }
P="http://127.0.0.1:$LISTEN_PORT"

out=$(curl -s "$P/hello")
expect_contains "HTTP/1.1 over TLS: answered" "$out" '"path": "/hello"'
expect_contains "the context's SNI is sent" "$out" '"sni": "up.example.test"'
expect_contains "ALPN http/1.1" "$out" '"alpn": "http/1.1"'
expect_contains "TLS 1.3 by default" "$out" '"tls": "TLSv1.3"'
curl -s -o /dev/null "$P/again"
expect_eq "the TLS connection is kept alive and reused" "$(stat cluster.tls1.upstream_cx_total)" "1"

out=$(curl -s -w ' %{http_code}' "$P/bad/x")
expect_contains "untrusted upstream certificate: 503" "$out" " 503"
expect_contains "as a connection failure" "$out" "reset reason: connection failure"
expect_eq "upstream_cx_connect_fail" "$(stat cluster.badca.upstream_cx_connect_fail)" "1"

if [ "$HAVE_GRPC" = 1 ]; then
    out=$($PY - "127.0.0.1:$LISTEN_PORT" <<'PYEOF' 2>>"$WORK/grpc_client.log"
import sys, grpc
ch = grpc.insecure_channel(sys.argv[1])
try:
    r, c = ch.unary_unary("/test.Echo/Unary", lambda b: b, lambda b: b).with_call(b"hi", timeout=10)
    print("ok", r.decode(), c.code().name)
except grpc.RpcError as e:
    print("error", e.code().name, e.details())
PYEOF
)
    expect_eq "HTTP/2 over TLS (ALPN h2) to a gRPC server" "$out" "ok tls:hi OK"
    expect_eq "an h2 connection" "$(stat cluster.tls2.upstream_cx_http2_total)" "1"
fi

# /certs: a context per TLS cluster (by name: badca, tls1, tls2), each with its trusted CA
serial() { openssl x509 -noout -serial -in "$1" | cut -d= -f2 | tr 'A-F' 'a-f'; }
got=$(curl -s "http://127.0.0.1:$ADMIN_PORT/certs" | $PY -c '
import json, sys
for c in json.load(sys.stdin)["certificates"]:
    print(",".join(d["serial_number"] for d in c["ca_cert"]), len(c["cert_chain"]))')
expect_eq "/certs: the clusters' trusted CAs" "$got" "$(serial "$C/other.pem") 0
$(serial "$C/ca.pem") 0
$(serial "$C/ca.pem") 0"
finish
