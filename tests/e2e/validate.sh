#!/usr/bin/env bash
# --mode validate accepts the example bootstraps and rejects broken ones
# with file, line, field path and reason (exit 1).
. "$(dirname "$0")/lib.sh"

for f in "$DP_SRC"/examples/bootstrap/*.yaml "$DP_SRC"/examples/bootstrap/*.json; do
    [ -f "$f" ] || continue
    out=$("$DP_BIN" --mode validate -c "$f" 2>&1); rc=$?
    expect_eq "validate accepts $(basename "$f")" "$rc" "0"
    expect_contains "validate says OK for $(basename "$f")" "$out" "OK"
done

cat >"$WORK/broken.yaml" <<'YAML'
static_resources:
  clusters:
  - name: app
    connect_timeout: 1s
    lb_policy: RING_HASH_TYPO
YAML
out=$("$DP_BIN" --mode validate -c "$WORK/broken.yaml" 2>&1); rc=$?
expect_eq "broken enum: exit 1" "$rc" "1"
expect_contains "broken enum: file and line" "$out" "broken.yaml:5:"
expect_contains "broken enum: field path" "$out" "lb_policy"

cat >"$WORK/unknown.yaml" <<'YAML'
static_resources:
  clusters:
  - name: app
    dns_lookup_family: V4_ONLY
YAML
out=$("$DP_BIN" --mode validate -c "$WORK/unknown.yaml" 2>&1); rc=$?
expect_eq "unimplemented field: exit 1" "$rc" "1"
expect_contains "unimplemented field named with its line" "$out" "unknown.yaml:4:"
expect_contains "unimplemented field named" "$out" "dns_lookup_family"

cat >"$WORK/semantic.yaml" <<'YAML'
static_resources:
  clusters:
  - name: app
    lb_policy: MAGLEV
YAML
out=$("$DP_BIN" --mode validate -c "$WORK/semantic.yaml" 2>&1); rc=$?
expect_eq "unsupported policy: exit 1" "$rc" "1"
expect_contains "unsupported policy: line of the field" "$out" "semantic.yaml:4:"
expect_contains "unsupported policy: named" "$out" "MAGLEV"

out=$("$DP_BIN" --mode validate -c "$WORK/nonexistent.yaml" 2>&1); rc=$?
expect_eq "missing file: exit 1" "$rc" "1"
expect_contains "missing file named" "$out" "nonexistent.yaml"

out=$("$DP_BIN" -c "$WORK/broken.yaml" 2>&1); rc=$?
expect_eq "serve mode refuses a broken bootstrap" "$rc" "1"
finish
