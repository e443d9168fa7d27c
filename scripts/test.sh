#!/bin/sh
# The whole test suite, from a fresh Debian 12 machine: installs the
# packages, builds (warnings are errors), runs every CTest test (unit,
# fuzz corpora, conformance against Envoy's real protos, end-to-end).
#   scripts/test.sh            all tests
#   scripts/test.sh -R e2e/    only those matching a CTest regex
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
BUILD=${BUILD_DIR:-build}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DWERROR=ON >/dev/null
cmake --build "$BUILD" -j"$(nproc)"
ctest --test-dir "$BUILD" --output-on-failure -j2 --timeout 600 "$@"
