#!/usr/bin/env bash
# Installs the pinned node packages of tests/xds (package-lock.json, npm ci)
# into tests/xds/node_modules when the lock file changed since the last
# install; one install at a time across build trees and parallel tests.
# Exits 0 when installed, 77 when the npm registry cannot be reached, 1 on
# another failure. Used by tests/xds/run.sh and the control-stub e2e tests.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$HERE" || exit 1
STAMP=node_modules/.dp-package-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
    command -v npm >/dev/null || { echo "npm not found"; exit 1; }
    # Two build trees may run this at once: one install at a time.
    LOCK=${TMPDIR:-/tmp}/dp-xds-npm-$(printf '%s' "$HERE" | sha256sum | cut -c1-16).lock
    exec 9>"$LOCK"
    flock -w 300 9 || { echo "timed out waiting for $LOCK"; exit 1; }
    if [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
        LOG=$(mktemp "${TMPDIR:-/tmp}/dp-xds-npm.XXXXXX")
        if ! npm ci --no-audit --no-fund >"$LOG" 2>&1; then
            if grep -qiE 'ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|network|socket hang up' "$LOG"; then
                echo "SKIP: npm registry unreachable (npm ci):"
                tail -n 5 "$LOG"
                rm -f "$LOG"
                exit 77
            fi
            echo "npm ci failed:"
            cat "$LOG"
            rm -f "$LOG"
            exit 1
        fi
        rm -f "$LOG"
        printf '%s\n' "$want" >"$STAMP"
    fi
    exec 9>&-
fi

exit 0
