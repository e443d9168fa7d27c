#!/bin/sh
# The demo, from a fresh Debian 12 machine: builds the data plane, starts a
# sample upstream and the data plane from examples/bootstrap/demo.yaml, and
# prints curl lines to try. Ctrl-C stops everything.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target dataplane

python3 tests/e2e/upstream.py --name app --port 18080 >/tmp/dp-demo-upstream.log 2>&1 &
UP=$!
build/dataplane -c examples/bootstrap/demo.yaml --concurrency 2 &
DP=$!
trap 'kill $UP $DP 2>/dev/null; wait 2>/dev/null' EXIT INT TERM
for i in $(seq 1 100); do
    curl -fs http://127.0.0.1:9901/ready >/dev/null 2>&1 && break
    sleep 0.1
done

cat <<'TXT'

The data plane is listening on 127.0.0.1:10000 (admin on 127.0.0.1:9901). Try:

  curl -i -H 'Host: app.localhost' http://127.0.0.1:10000/hello          # 200, proxied to the upstream
  curl -s -H 'Host: app.localhost' http://127.0.0.1:10000/echo           # what the upstream received
  curl -i -H 'Host: direct.localhost' http://127.0.0.1:10000/            # 200, direct_response
  curl -i -H 'Host: redirect.localhost' http://127.0.0.1:10000/some/path # 302 redirect
  curl -i -H 'Host: nowhere.localhost' http://127.0.0.1:10000/           # 404 JSON, no route
  curl -s http://127.0.0.1:9901/stats | grep downstream_rq               # Envoy-named stats
  curl -s http://127.0.0.1:9901/config_dump | head -40                    # active config

Ctrl-C to stop.
TXT
wait $DP
