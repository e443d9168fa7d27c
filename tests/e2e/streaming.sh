#!/usr/bin/env bash
# Bodies stream both ways with bounded buffers: 1 GiB up and down, with
# Content-Length and chunked framing, pass through intact while the data
# plane's peak RSS stays under 64 MiB; a slow client gets everything.
. "$(dirname "$0")/lib.sh"

LISTEN_PORT=$(free_port); ADMIN_PORT=$(free_port); APP_PORT=$(free_port)
start_upstream app "$APP_PORT"
hcm_bootstrap "$(catchall_vhost app "timeout: 120s")" "$(cluster_yaml app "$APP_PORT")" >"$WORK/bootstrap.yaml"
start_dataplane "$WORK/bootstrap.yaml" || { fail "start"; finish; }
P="http://127.0.0.1:$LISTEN_PORT"
GIB=1073741824

zero_sha=$(head -c $GIB /dev/zero | sha256sum | cut -d' ' -f1)
truncate -s $GIB "$WORK/zeros.bin"

out=$(curl -s -T "$WORK/zeros.bin" "$P/upload")
expect_contains "1 GiB upload with content-length arrives whole" "$out" "\"length\": $GIB, \"sha256\": \"$zero_sha\""
rm -f "$WORK/zeros.bin"

out=$(head -c $GIB /dev/zero | curl -s -T - "$P/upload")
expect_contains "1 GiB chunked upload arrives whole" "$out" "\"length\": $GIB, \"sha256\": \"$zero_sha\""

pattern_sha() {
    python3 -c '
import hashlib, sys
p = (b"0123456789abcdefghijklmnopqrstuvwxyz" * 1820)[:65536]
n = int(sys.argv[1]); h = hashlib.sha256()
while n:
    k = min(n, len(p)); h.update(p[:k]); n -= k
print(h.hexdigest())' "$1"
}
want=$(pattern_sha $GIB)
got=$(curl -s "$P/bytes/$GIB" | sha256sum | cut -d' ' -f1)
expect_eq "1 GiB download with content-length arrives whole" "$got" "$want"
got=$(curl -s "$P/bytes/$GIB?chunked=1" | sha256sum | cut -d' ' -f1)
expect_eq "1 GiB chunked download arrives whole" "$got" "$want"

# slow reader: the proxy must hold back the upstream, not buffer it all
want8=$(pattern_sha 8388608)
got=$(curl -s --limit-rate 4M "$P/bytes/8388608" | sha256sum | cut -d' ' -f1)
expect_eq "slow client gets the whole body" "$got" "$want8"

# slow writer: a body trickling in still arrives whole
out=$( (for i in 1 2 3 4 5; do head -c 100000 /dev/zero; sleep 0.2; done) | curl -s -T - "$P/upload")
expect_contains "slow uploader's body arrives whole" "$out" '"length": 500000'

hwm=$(awk '/VmHWM/ { print $2 }' "/proc/$DP_PID/status")
check "peak RSS ${hwm} KiB stays under 64 MiB" test "$hwm" -lt 65536

finish
