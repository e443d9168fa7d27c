#!/usr/bin/env bash
# The container catalogue at scale, end to end: control-stub serves a fleet
# of N containers over Delta ADS to the data plane, and we measure what an
# operator of a large node sees. One command:
#   bench/containers-scale.sh [N]          default N=100000
# Environment: BUILD (build directory, default build; configured Release),
# SECONDS_PER_RATE (each wrk run, default 3), ROUNDS (interleaved rounds of
# the eight rate cases, default 5), PERF_ROUNDS (rounds of the perf
# attribution, default 3; 0 skips it), CHANGES (one-container edits timed,
# default 3; 1 above 20000 containers), EVENTS (container stop/start
# events on the stub's admin port timed, default 20), REPLAY_CHANGES (default 200; 0
# skips that part), TIMEOUT (s, per wait, default 3600), KEEP=1 (keep the
# work directory with the logs).
#
# The fleet (bench/containers/fleet.py): one node, one project, N running
# containers, each on 127.0.0.1 with three services on one local origin
# (bench/upstream.c) and an alias `a<i>` -> pub. The project's permissions
# are default deny with
#   password group (a bcrypt line from `htpasswd -nbB`) -> http-<origin port>
#   token group (the stub sends the token's SHA-256)    -> tok
#   jwt group (HS256 JWT made by the driver with hmac)  -> tok
#   ip group 127.0.0.1/32                               -> pub
# so every measured request is a 200 reached through one group, and the
# driver checks first that the same URLs answer 401 without or with wrong
# credentials (a benchmark of requests that are refused measures nothing).
#
# Measured (bench/containers/scale.py):
#   - control-stub: time to load and translate the fleet, RSS;
#   - data plane start -> last container routable (its URL polled every
#     1 ms on a keep-alive connection), with the breakdown from the two
#     logs: start -> the stub's "sent Container" line, the data plane's own
#     "response of N bytes processed in X ms"; RSS after load (VmRSS) and
#     peak (VmHWM), and the stub's;
#   - req/s with wrk -t1 -c2 (keep-alive) on the FIRST and the LAST
#     container: no credentials (pub), Basic (http-<port>; bcrypt verified
#     once, then from the credential cache), Bearer token (tok), JWT (tok;
#     verified once, then from the per-worker JWT cache); the perf
#     attribution of the auth code and libcrypto per request; and the
#     data plane's CPU per request (schedstat of all its threads / requests,
#     ns resolution), the figure the "added by auth" differences use, since
#     with 2 connections req/s is bound by the round trip as much as by the
#     data plane;
#   - container events: POST /containers/ID/stop and /start alternately
#     on the stub's admin port (the platform's way of saying a container
#     stopped or started) -> the new state served (503 / 200), polled
#     every 1 ms: the stub translates that one container and pushes it
#     alone over Delta, in time independent of N;
#   - one container added to the fleet file (rewritten and renamed over the
#     old one) -> routable, polled every 1 ms. It includes the stub's
#     inotify wake-up (its loop checks every 20 ms), the reload and
#     translation of the WHOLE file, the Delta diff and the push; the stub's
#     log gives "reloaded" and "sent" times (1 ms resolution) and the data
#     plane's log its apply time, so the parts are reported apart.
#   - the data plane alone (bench/containers/replay.py): a short recorded
#     session (--xds-record) widened to N containers followed by 200
#     one-container changes, served by `control-stub --replay` to a fresh
#     data plane: start -> routable, the stub's send of the first change ->
#     routable, and the data plane's processing time of each change. This
#     is the data plane's own cost, free of the stub's per-edit work.
# The data plane runs with --concurrency 1 pinned to core 0; the origin,
# wrk, the stub and the driver share core 1 (as bench/run.sh).
#
# Targets printed beside the numbers, not asserted: 100k applied < 1 s, data
# plane RSS < 100 MB, one change routable < 10 ms, first and last container
# at the same rate, cached auth < 2 us added. Exit status 1 only when a
# functional check failed (a wrong status code), not for a missed target.
#
# Output: a table, and bench/results/containers-scale-<date>.json with the
# machine (nproc, CPU model, kernel, memory), the commit built and measured
# (git rev-parse before the build; tree_dirty when tracked files differed
# from it), N and every number.
#
# Polling uses a keep-alive Python client, not a curl per try: spawning curl
# costs several ms on this machine, the same order as what is measured.
set -eu
ulimit -n 65536 2>/dev/null || true
cd "$(dirname "$0")/.."
N=${1:-100000}
BUILD=${BUILD:-build}
CHANGES=${CHANGES:-$([ "$N" -gt 20000 ] && echo 1 || echo 3)}
scripts/install-deps.sh --bench
# the commit of what is built and measured (the tree may move during a run)
COMMIT=$(git rev-parse HEAD 2>/dev/null || echo unknown)
DIRTY=$(git status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo 1 || echo 0)
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target dataplane control-stub >/dev/null
export PYTHONDONTWRITEBYTECODE=1 # no __pycache__ in the tree
W=$(mktemp -d /tmp/dp-containers-scale.XXXXXX)
trap 'rm -rf "$W"' EXIT
cc -O2 -o "$W/origin" bench/upstream.c
python3 bench/containers/scale.py "$N" --build "$(cd "$BUILD" && pwd)" --origin-bin "$W/origin" \
    --seconds "${SECONDS_PER_RATE:-3}" --rounds "${ROUNDS:-5}" --changes "$CHANGES" --events "${EVENTS:-20}" --timeout "${TIMEOUT:-3600}" \
    --replay-changes "${REPLAY_CHANGES:-200}" --perf-rounds "${PERF_ROUNDS:-3}" \
    --commit "$COMMIT" --dirty "$DIRTY" \
    ${KEEP:+--keep}
