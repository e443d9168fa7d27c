#!/bin/sh
# Demo-only certificates for examples/fleet/demo.yaml (committed so that the
# demo and its tests run anywhere; never use these keys for anything else):
#   ca.pem                 the demo CA (curl --cacert examples/fleet/certs/ca.pem)
#   wildcard.{pem,key}     *.node-us.containers.example.test, *.containers.example.test
#   shop.{pem,key}         shop.example.com (a custom domain's own certificate)
# Re-run to make new ones (ECDSA P-256, 10 years).
set -eu
cd "$(dirname "$0")"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -keyout "$T/ca.key" -out ca.pem -subj "/CN=dataplane demo CA" 2>/dev/null
leaf() { # leaf NAME CN SAN
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$T/$1.csr" \
        -subj "/CN=$2" 2>/dev/null
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$3" >"$T/$1.ext"
    openssl x509 -req -in "$T/$1.csr" -CA ca.pem -CAkey "$T/ca.key" -CAcreateserial -days 3650 \
        -extfile "$T/$1.ext" -out "$1.pem" 2>/dev/null
}
leaf wildcard '*.node-us.containers.example.test' \
    'DNS:*.node-us.containers.example.test,DNS:*.containers.example.test'
leaf shop shop.example.com 'DNS:shop.example.com'
rm -f ca.srl
