#!/bin/sh
# Installs the Debian 12 packages the project needs. Idempotent: does nothing
# (not even 'apt-get update') when every package is already installed.
#   scripts/install-deps.sh            build + test dependencies
#   scripts/install-deps.sh --bench    also nginx, haproxy, wrk, h2load, liburing for bench/
set -eu

PKGS="build-essential cmake pkg-config clang llvm libclang-rt-14-dev
 protobuf-c-compiler libprotobuf-c-dev protobuf-compiler libprotobuf-dev
 libev-dev libnghttp2-dev libngtcp2-dev libnghttp3-dev libssl-dev libgrpc-dev
 libmnl-dev libnftnl-dev libjansson-dev libyaml-dev libcrypt-dev
 curl nghttp2-client python3 iproute2 nftables procps
 apache2-utils whois python3-jwt python3-cryptography openssl
 python3-websockets python3-grpcio"
# The auth tests make their credentials with independent tools: htpasswd
# (apache2-utils: {SHA}, bcrypt), mkpasswd (whois: sha512-crypt, yescrypt),
# PyJWT + cryptography (JWTs of every algorithm) and openssl (keys).
# Node.js runs the real-Envoy-proto conformance encoder. Some images carry a
# Node.js of their own whose bundled npm conflicts with Debian's npm package:
# install Debian's only where there is no node at all.
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || PKGS="$PKGS nodejs npm"

case "${1:-}" in
  --bench) PKGS="$PKGS nginx-light haproxy wrk apache2-utils liburing-dev" ;;
  "") ;;
  *) echo "usage: $0 [--bench]" >&2; exit 2 ;;
esac

missing=""
for p in $PKGS; do
  # dpkg-query prints "install ok installed" only for a fully installed package
  st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$st" = "install ok installed" ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing:$missing" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
