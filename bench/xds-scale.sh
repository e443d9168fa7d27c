#!/bin/sh
# xDS at scale: 10,000 clusters and 10,000 virtual hosts over ADS (see
# bench/xds_scale.js). Prints and writes JSON to bench/results/.
#   bench/xds-scale.sh [N]
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target dataplane >/dev/null
(cd tests/xds && { [ -d node_modules ] || npm ci --silent --no-audit --no-fund; })
DP_BIN="$PWD/build/dataplane" DP_SRC="$PWD" node bench/xds_scale.js "${1:-10000}"
