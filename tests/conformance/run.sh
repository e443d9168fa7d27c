#!/usr/bin/env bash
# Conformance of proto/ (our trimmed Envoy v3 API) with Envoy's real protos.
#
#   run.sh BUILD_DIR [PBCONFORM]
#
# Envoy's protos come from `npm pack @grpc/grpc-js-xds@1.14.1` (it ships
# them under package/deps), unpacked once into BUILD_DIR/conformance-envoy-protos.
# Checks, each counted as passed or failed:
#  - structure: every message, field (name, number, label, type, type name,
#    oneof) and enum value of proto/ exists identically in Envoy's protos;
#  - registry: xds/typereg.c lists exactly the messages protoc-c generates;
#  - field names: xds/envoy_fields.inc (Envoy's name for each field number,
#    used to name a refused field) is what gen_fields.sh makes of Envoy's
#    protos;
#  - samples/: each modelled message has a sample; each sample, encoded by
#    protoc with Envoy's protos, decodes with our descriptors without unknown
#    fields, and our re-encoding prints exactly like the original;
#  - coverage: every modelled field is set by some sample;
#  - negative/: a field Envoy has and we omitted is reported by pbconform
#    with the "# expect:" text of the sample.
# Exits 0 if all pass, 1 if any fails, 77 (skip) only if npm cannot reach the
# registry.
set -u

BUILD=$(cd "${1:?usage: run.sh BUILD_DIR [PBCONFORM]}" && pwd) || exit 1
PBC=${2:-$BUILD/tests/conformance/pbconform}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROTO=$(cd "$HERE/../../proto" && pwd)
PKG=@grpc/grpc-js-xds@1.14.1
SCRATCH=$BUILD/conformance-envoy-protos
DEPS=$SCRATCH/package/deps
WORK=$SCRATCH/work
WKT_DIR=/usr/include
WKTS="google/protobuf/any.proto google/protobuf/duration.proto google/protobuf/struct.proto
      google/protobuf/wrappers.proto google/protobuf/empty.proto google/protobuf/timestamp.proto"

passed=0
failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }

[ -x "$PBC" ] || { echo "pbconform not found at $PBC"; exit 1; }
command -v protoc >/dev/null || { echo "protoc not found"; exit 1; }

# --- Envoy's protos ---------------------------------------------------------
if [ ! -f "$SCRATCH/.unpacked" ]; then
    command -v npm >/dev/null || { echo "npm not found"; exit 1; }
    rm -rf "$SCRATCH/package" "$SCRATCH"/grpc-grpc-js-xds-*.tgz
    mkdir -p "$SCRATCH"
    if ! (cd "$SCRATCH" && npm pack --cache "$SCRATCH/npm-cache" "$PKG") >"$SCRATCH/npm.log" 2>&1; then
        if grep -qiE 'ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|network|socket hang up' \
            "$SCRATCH/npm.log"; then
            echo "SKIP: npm registry unreachable (npm pack $PKG):"
            tail -n 5 "$SCRATCH/npm.log"
            exit 77
        fi
        echo "npm pack $PKG failed:"
        cat "$SCRATCH/npm.log"
        exit 1
    fi
    tar -xzf "$SCRATCH"/grpc-grpc-js-xds-*.tgz -C "$SCRATCH" package/deps || exit 1
    [ -f "$DEPS/envoy-api/envoy/config/cluster/v3/cluster.proto" ] || { echo "no Envoy protos in $PKG"; exit 1; }
    touch "$SCRATCH/.unpacked"
fi

# The package's protoc-gen-validate is older than its Envoy protos, which
# use StringRules.ignore_empty: protobufjs ignores option values, protoc
# checks them. Options do not change the wire format, so a copy that knows
# the field is enough; it is searched before the package's own.
PGV_COMPAT=$SCRATCH/pgv-compat
mkdir -p "$PGV_COMPAT/validate"
if grep -q 'ignore_empty' "$DEPS/protoc-gen-validate/validate/validate.proto"; then
    cp "$DEPS/protoc-gen-validate/validate/validate.proto" "$PGV_COMPAT/validate/"
else
    sed -e '/^message StringRules {/a\    optional bool ignore_empty = 26;' \
        "$DEPS/protoc-gen-validate/validate/validate.proto" >"$PGV_COMPAT/validate/validate.proto"
fi

rm -rf "$WORK"
mkdir -p "$WORK"
# proto/dataplane/ is our own API (the container catalogue), not Envoy's.
OWN=$(cd "$PROTO" && find . -path ./dataplane -prune -o -name '*.proto' -print | sed 's|^\./||' | LC_ALL=C sort)
REAL_I="-I$DEPS/envoy-api -I$DEPS/xds -I$DEPS/googleapis -I$PGV_COMPAT -I$DEPS/protoc-gen-validate -I$WKT_DIR"

# Our files have Envoy's paths, so the same list names Envoy's originals.
# shellcheck disable=SC2086
if ! protoc $REAL_I --include_imports --descriptor_set_out="$WORK/real.pb" $OWN 2>"$WORK/real.err"; then
    echo "cannot compile Envoy's protos:"
    cat "$WORK/real.err"
    exit 1
fi
# shellcheck disable=SC2086
if ! (cd "$PROTO" && protoc -I. -I$WKT_DIR --include_imports --descriptor_set_out="$WORK/ours.pb" $OWN $WKTS) \
    2>"$WORK/ours.err"; then
    echo "cannot compile proto/:"
    cat "$WORK/ours.err"
    exit 1
fi
for s in real ours; do
    protoc -I$WKT_DIR --decode=google.protobuf.FileDescriptorSet google/protobuf/descriptor.proto \
        <"$WORK/$s.pb" | awk -f "$HERE/descset.awk" | LC_ALL=C sort -u >"$WORK/$s.flat" || exit 1
done

# --- structure --------------------------------------------------------------
LC_ALL=C comm -23 "$WORK/ours.flat" "$WORK/real.flat" >"$WORK/structure.diff"
if [ -s "$WORK/structure.diff" ]; then
    bad "structure: not as in Envoy's protos (M=message F=field E=enum value):"
    sed 's/^/    /' "$WORK/structure.diff"
else
    ok
fi

# --- registry ---------------------------------------------------------------
awk '$1 == "M" { print $2 }' "$WORK/ours.flat" | LC_ALL=C sort >"$WORK/messages"
"$PBC" list | grep -v '^dataplane\.' | LC_ALL=C sort >"$WORK/registry"
if ! diff -u "$WORK/messages" "$WORK/registry" >"$WORK/registry.diff"; then
    bad "registry: xds/typereg.c differs from the messages of proto/ (- missing, + extra):"
    sed 's/^/    /' "$WORK/registry.diff"
else
    ok
fi

# --- field names ------------------------------------------------------------
if ! bash "$HERE/gen_fields.sh" "$DEPS" >"$WORK/envoy_fields.inc" 2>"$WORK/envoy_fields.err"; then
    bad "field names: gen_fields.sh failed: $(cat "$WORK/envoy_fields.err")"
elif ! diff -u "$HERE/../../xds/envoy_fields.inc" "$WORK/envoy_fields.inc" >"$WORK/envoy_fields.diff"; then
    bad "field names: xds/envoy_fields.inc is stale, regenerate it with" \
        "'bash tests/conformance/gen_fields.sh $DEPS > xds/envoy_fields.inc' (- committed, + generated):"
    sed 's/^/    /' "$WORK/envoy_fields.diff"
else
    ok
fi

# --- one sample per modelled message ----------------------------------------
missing=""
for m in $(awk '$1 == "M" && $3 == 0 && $2 !~ /^google\.protobuf\./ { print $2 }' "$WORK/ours.flat"); do
    ls "$HERE/samples/" | grep -qE "^${m//./\\.}(\\.[0-9]+)?\\.txtpb\$" || missing="$missing $m"
done
if [ -n "$missing" ]; then
    bad "samples: no sample for:$missing"
else
    ok
fi

type_of() { # samples/<type>[.N].txtpb -> <type>
    basename "$1" .txtpb | sed -E 's/\.[0-9]+$//'
}

# --- round trips ------------------------------------------------------------
: >"$WORK/coverage.in"
for f in "$HERE"/samples/*.txtpb; do
    t=$(type_of "$f")
    n=$(basename "$f" .txtpb)
    if ! protoc --descriptor_set_in="$WORK/real.pb" --encode="$t" <"$f" >"$WORK/$n.orig.bin" 2>"$WORK/$n.err"; then
        bad "$n: protoc cannot encode the sample with Envoy's protos: $(cat "$WORK/$n.err")"
        continue
    fi
    "$PBC" decode "$t" <"$WORK/$n.orig.bin" >"$WORK/$n.ours.bin" 2>"$WORK/$n.err"
    rc=$?
    if [ $rc -ne 0 ]; then
        bad "$n: pbconform exit $rc: $(cat "$WORK/$n.err")"
        continue
    fi
    protoc --descriptor_set_in="$WORK/real.pb" --decode="$t" <"$WORK/$n.orig.bin" >"$WORK/$n.orig.txt" 2>"$WORK/$n.err" &&
        protoc --descriptor_set_in="$WORK/real.pb" --decode="$t" <"$WORK/$n.ours.bin" >"$WORK/$n.ours.txt" 2>>"$WORK/$n.err"
    if [ $? -ne 0 ]; then
        bad "$n: protoc cannot decode: $(cat "$WORK/$n.err")"
        continue
    fi
    if ! diff -u "$WORK/$n.orig.txt" "$WORK/$n.ours.txt" >"$WORK/$n.diff"; then
        bad "$n: our re-encoding differs from Envoy's (- Envoy, + ours):"
        sed 's/^/    /' "$WORK/$n.diff"
        continue
    fi
    { echo "@@ $t"; cat "$WORK/$n.orig.txt"; } >>"$WORK/coverage.in"
    ok
done

# --- coverage ---------------------------------------------------------------
awk -f "$HERE/coverage.awk" "$WORK/ours.flat" "$WORK/coverage.in" >"$WORK/uncovered"
if [ -s "$WORK/uncovered" ]; then
    bad "coverage: no sample sets:$(tr '\n' ' ' <"$WORK/uncovered" | sed 's/^/ /')"
else
    ok
fi

# --- omitted fields are refused ---------------------------------------------
for f in "$HERE"/negative/*.txtpb; do
    t=$(type_of "$f")
    n=neg-$(basename "$f" .txtpb)
    if ! grep -q '^# expect: ' "$f"; then
        bad "$n: no '# expect:' line"
        continue
    fi
    if ! protoc --descriptor_set_in="$WORK/real.pb" --encode="$t" <"$f" >"$WORK/$n.bin" 2>"$WORK/$n.err"; then
        bad "$n: protoc cannot encode the sample with Envoy's protos: $(cat "$WORK/$n.err")"
        continue
    fi
    "$PBC" decode "$t" <"$WORK/$n.bin" >/dev/null 2>"$WORK/$n.err"
    rc=$?
    if [ $rc -ne 2 ]; then
        bad "$n: pbconform exit $rc, expected 2 (unknown field): $(cat "$WORK/$n.err")"
        continue
    fi
    good=1
    while IFS= read -r want; do
        if ! grep -qF -- "$want" "$WORK/$n.err"; then
            bad "$n: got '$(cat "$WORK/$n.err")', expected '$want'"
            good=0
        fi
    done < <(sed -n 's/^# expect: //p' "$f")
    [ $good -eq 1 ] && ok
done

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
