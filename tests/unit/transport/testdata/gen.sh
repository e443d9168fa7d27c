#!/bin/sh
# Regenerates the TLS unit-test certificates (run from this directory).
# ca: test CA; other-ca: an unrelated CA; a: ECDSA server cert for
# a.example.com; b: RSA server cert for b.example.com (both signed by ca);
# a-rsa: RSA cert for a.example.com (RSA+ECDSA in one context); client:
# client certificate (CN=client.example.com) signed by ca.
set -e
days=36500
ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key"; }
rsa() { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1.key"; }
ca() {
    ec "$1"
    openssl req -x509 -new -key "$1.key" -days $days -subj "/O=dp test/CN=$2" -out "$1.pem" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
}
leaf() { # name subject-CN san ext
    openssl req -new -key "$1.key" -subj "/O=dp test/CN=$2" -out "$1.csr"
    printf 'subjectAltName=%s\nextendedKeyUsage=%s\nbasicConstraints=CA:FALSE\n' "$3" "$4" > "$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days $days \
        -extfile "$1.ext" -out "$1.pem"
    rm -f "$1.csr" "$1.ext"
}
ca ca "dp test CA"
ca other-ca "dp other CA"
ec a;     leaf a a.example.com "DNS:a.example.com,DNS:localhost" serverAuth
rsa b;    leaf b b.example.com "DNS:b.example.com" serverAuth
rsa a-rsa; leaf a-rsa a.example.com "DNS:a.example.com,DNS:localhost" serverAuth
ec client; leaf client client.example.com "DNS:client.example.com" clientAuth
rm -f ca.srl other-ca.key
