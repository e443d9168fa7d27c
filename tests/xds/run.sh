#!/usr/bin/env bash
# The xDS tests (node:test): encode.js against protoc, the test control
# plane and the replayer checked on their own (selfcheck), every recorded
# stream of tests/xds-streams/ replayed against the real data plane, and the
# integration tests driving it through server.js.
#
#   DP_BIN=build/dataplane DP_SRC=. bash tests/xds/run.sh [test files...]
#
# Node packages (package-lock.json, exact versions) are installed with
# `npm ci` into tests/xds/node_modules (git-ignored) when the lock file
# changed since the last install. Exits 0 if all pass, 1 if any fails, 77
# (CTest skip) only if the npm registry cannot be reached for that install.
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${DP_BIN:?DP_BIN (the dataplane binary) must be set}"
export DP_BIN
export DP_SRC=${DP_SRC:-$(cd "$HERE/../.." && pwd)}
[ -x "$DP_BIN" ] || { echo "DP_BIN $DP_BIN is not an executable"; exit 1; }
command -v node >/dev/null || { echo "node not found"; exit 1; }
command -v python3 >/dev/null || { echo "python3 not found (the upstreams)"; exit 1; }
[ -f "$DP_SRC/tests/e2e/upstream.py" ] || { echo "DP_SRC=$DP_SRC has no tests/e2e/upstream.py"; exit 1; }

cd "$HERE" || exit 1

# --- packages ---------------------------------------------------------------
bash "$HERE/install.sh" || exit $?

# --- tests ------------------------------------------------------------------
if [ $# -gt 0 ]; then
    files=("$@")
else
    files=(encode.test.js selfcheck.test.js replay.test.js integration.test.js lifecycle.test.js tls.test.js churn.test.js)
fi
# One file at a time: the machine is shared and the tests measure latency.
exec node --test --test-concurrency=1 --test-reporter=spec "${files[@]}"
