#!/bin/sh
# The demo, from a fresh Debian 12 machine: builds the data plane and
# control-stub, starts a sample upstream (the containers' services), the
# control stub serving examples/fleet/demo.yaml over Delta ADS, and the data
# plane (node node-us), then prints curl lines that show routing and the
# permission model at work. Ctrl-C stops everything.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target dataplane control-stub

# Every service of the demo fleet lives on 127.0.0.1; one upstream stands
# in for the running container's http-8080 service.
python3 tests/e2e/upstream.py --name container --port 8080 >/tmp/dp-demo-upstream.log 2>&1 &
UP=$!
build/control-stub/control-stub -c examples/fleet/demo.yaml --listen 127.0.0.1:18000 \
    --admin 127.0.0.1:18001 2>/tmp/dp-demo-stub.log &
STUB=$!
build/dataplane -c examples/bootstrap/demo-fleet.yaml --concurrency 2 --csds-address 127.0.0.1:9902 &
DP=$!
trap 'kill $UP $STUB $DP 2>/dev/null; wait 2>/dev/null' EXIT INT TERM
for i in $(seq 1 100); do
    curl -fs http://127.0.0.1:9901/ready >/dev/null 2>&1 && break
    sleep 0.1
done

P=64a1f0c2e4b5d6a7b8c9d0e1
C=64a1f0c2e4b5d6a7b8c9d0f1
S=64a1f0c2e4b5d6a7b8c9d0f2
B=node-us.containers.example.test
cat <<TXT

The data plane listens on 127.0.0.1:10000 and HTTPS 127.0.0.1:10443 (admin
127.0.0.1:9901); control-stub
serves examples/fleet/demo.yaml (ADS 127.0.0.1:18000, status 127.0.0.1:18001).
Edit the fleet file and watch the answers change. Try:

  # 200: the developers group (HTTP Basic) may use http-8080
  curl -i -u dev:demo-password -H 'Host: $P-$C-http-8080-1.$B' http://127.0.0.1:10000/hello
  # 401 + WWW-Authenticate: no credentials, default deny
  curl -i -H 'Host: $P-$C-http-8080-1.$B' http://127.0.0.1:10000/hello
  # 403: the viewers' token grants display read-only, and no group grants a POST
  curl -i -X POST -H 'Authorization: Bearer demo-token' -H 'Host: $P-$C-display-1.$B' http://127.0.0.1:10000/
  # 503: the second container is stopped (JSON body, no internal port)
  curl -i -H 'Host: $P-$S-sqlite-1.$B' http://127.0.0.1:10000/
  # the alias and the custom domain of the same service
  curl -i -u dev:demo-password -H 'Host: web.containers.example.test' http://127.0.0.1:10000/
  curl -i -u dev:demo-password -H 'Host: shop.example.com' http://127.0.0.1:10000/
  # 400: a malformed container host; 404: an unknown service
  curl -i -H 'Host: $P-xyz-terminal-1.$B' http://127.0.0.1:10000/
  curl -i -u dev:demo-password -H 'Host: $P-$C-nosuch-1.$B' http://127.0.0.1:10000/
  # HTTPS (HTTP/2 by ALPN; the certificate by SNI, sent over SDS by control-stub)
  curl -i -u dev:demo-password --cacert examples/fleet/certs/ca.pem \
       --resolve '$P-$C-http-8080-1.$B:10443:127.0.0.1' https://$P-$C-http-8080-1.$B:10443/hello
  curl -i -u dev:demo-password --cacert examples/fleet/certs/ca.pem \
       --resolve 'shop.example.com:10443:127.0.0.1' https://shop.example.com:10443/
  # what the control plane knows: per-type ACKs and versions, the load
  # reports (LRS), the services its health checks find down (HDS: only
  # http-8080 runs here), and the data plane's own view (CSDS)
  curl -s http://127.0.0.1:18001/status
  # the platform says a container stopped / started: pushed alone over Delta
  curl -s -X POST http://127.0.0.1:18001/containers/$C/stop    # its URLs answer 503
  curl -s -X POST http://127.0.0.1:18001/containers/$C/start   # routed again

Ctrl-C to stop.
TXT
wait $DP
