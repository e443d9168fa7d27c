#!/bin/sh
# The whole test suite, from a fresh Debian 12 machine: installs the
# packages, then
#   1. runs every libFuzzer driver briefly (tests/fuzz/run, clang),
#   2. builds with ASan + UBSan (warnings as errors, as CI does) and runs
#      the suite under them (leaks too),
#   3. builds Release with warnings as errors and runs every CTest test
#      (unit, fuzz corpora, conformance against Envoy's real protos,
#      end-to-end, xDS).
#   scripts/test.sh            all of it
#   scripts/test.sh -R e2e/    only stage 3, only tests matching a CTest regex
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
BUILD=${BUILD_DIR:-build}
if [ $# -eq 0 ]; then
    echo "== fuzzing each driver for ${FUZZ_SECONDS:-10} s"
    tests/fuzz/run "${FUZZ_SECONDS:-10}"
    echo "== the suite under ASan + UBSan"
    cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSANITIZE=address,undefined -DWERROR=ON >/dev/null
    cmake --build build-asan -j"$(nproc)" >/dev/null
    # the 1 GiB streaming test and the proto conformance add nothing under sanitizers but time
    ASAN_OPTIONS=detect_leaks=1 ctest --test-dir build-asan --output-on-failure -j2 --timeout 600 \
        -E "e2e/streaming|conformance"
fi
echo "== the suite, Release build"
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DWERROR=ON >/dev/null
cmake --build "$BUILD" -j"$(nproc)"
ctest --test-dir "$BUILD" --output-on-failure -j2 --timeout 600 "$@"
