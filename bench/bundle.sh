#!/usr/bin/env bash
# Air-gapped bundles (issue 14): `bundle import` of a bundle of cached
# artifacts (default 1 GiB: 128 versions of 8 MiB incompressible zips)
# into a fresh disk store, in MB/s of bundle content (target >= 100 MB/s)
# with its peak RSS (target < 100 MB); `bundle create` of the same through
# a modgate is timed too. The checksum database is x/mod's reference
# server (the e2e tests' sumdb-server), the mirror a file:// tree, all on
# 127.0.0.1.
#
# Needs: cargo, go (Go 1.23), python3, Debian's golang-golang-x-mod-dev,
# GNU time (/usr/bin/time). Usage: bench/bundle.sh [versions, default 128] [zip MiB, default 8]
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${1:-128}
MIB=${2:-8}
GO=${GO:-/usr/lib/go-1.23/bin/go}
for tool in "$GO" python3 cargo /usr/bin/time; do
    command -v "$tool" >/dev/null || [ -x "$tool" ] || { echo "bench: $tool is missing" >&2; exit 1; }
done
[ -f /usr/share/gocode/src/golang.org/x/mod/sumdb/server.go ] \
    || { echo "bench: golang.org/x/mod is missing (Debian's golang-golang-x-mod-dev)" >&2; exit 1; }
cargo build --release -q -p modgate
WORK=$(mktemp -d /tmp/modgate-bundle.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$WORK"' EXIT
MODGATE=target/release/modgate

python3 bench/bundle-tree.py "$WORK/tree" "$COUNT" "$MIB"
(cd crates/modgate/tests/e2e/support/sumdb-server && env -i PATH="$PATH" HOME="$WORK" GO111MODULE=off \
    GOPATH=/usr/share/gocode GOCACHE="$WORK/gocache" GOTOOLCHAIN=local GOTELEMETRY=off CGO_ENABLED=0 \
    "$GO" build -o "$WORK/sumdb-server" main.go) || { echo "bench: building sumdb-server failed" >&2; exit 1; }
"$WORK/sumdb-server" -gosum "$WORK/tree/go.sum" -preload -pad 5000 >"$WORK/sumdb.out" 2>"$WORK/sumdb.err" &
for _ in $(seq 50); do grep -q '^URL' "$WORK/sumdb.out" 2>/dev/null && break; sleep 0.1; done
KEY=$(sed -n 's/^VERIFIER //p' "$WORK/sumdb.out")
SUMDB_URL=$(sed -n 's/^URL //p' "$WORK/sumdb.out")
[ -n "$KEY" ] || { echo "bench: the checksum database did not start" >&2; cat "$WORK/sumdb.err" >&2; exit 1; }

$MODGATE serve --listen 127.0.0.1:0 --storage "$WORK/online" --upstream "file://$WORK/tree" \
    --sumdb "$KEY $SUMDB_URL" >"$WORK/serve.out" 2>"$WORK/serve.err" &
for _ in $(seq 50); do grep -q listening "$WORK/serve.out" 2>/dev/null && break; sleep 0.1; done
URL=$(sed -n 's/^modgate listening on //p' "$WORK/serve.out")

seconds() { awk -v s="$1" -v e="$2" 'BEGIN { printf "%.2f", e - s }'; }
start=$(date +%s.%N)
$MODGATE bundle create --from "$WORK/tree/go.sum" --proxy "$URL" --sumdb "$KEY" -o "$WORK/deps.bundle" >/dev/null 2>"$WORK/create.err" \
    || { cat "$WORK/create.err" >&2; exit 1; }
end=$(date +%s.%N)
CONTENT=$(python3 -c 'import json,sys; print(sum(f["size"] for f in json.load(open(sys.argv[1]))["files"]))' "$WORK/deps.bundle.manifest.json")
SIZE=$(stat -c %s "$WORK/deps.bundle")
echo "bundle: $COUNT versions, $((CONTENT >> 20)) MiB of files, $((SIZE >> 20)) MiB compressed"
echo "create through modgate (cold: modgate fetches, verifies and stores as it serves): $(seconds "$start" "$end") s"

sync
start=$(date +%s.%N)
/usr/bin/time -f '%M' -o "$WORK/import.rss" $MODGATE bundle import "$WORK/deps.bundle" --storage "$WORK/site" --allow-unsigned \
    >/dev/null 2>"$WORK/import.err" || { cat "$WORK/import.err" >&2; exit 1; }
end=$(date +%s.%N)
T=$(seconds "$start" "$end")
echo "import into a fresh store: $T s, $(awk -v b="$CONTENT" -v t="$T" 'BEGIN { printf "%.0f", b / 1e6 / t }') MB/s (target >= 100), peak RSS $(( $(cat "$WORK/import.rss") / 1024 )) MiB (target < 100)"
start=$(date +%s.%N)
$MODGATE bundle import "$WORK/deps.bundle" --storage "$WORK/site" --allow-unsigned >/dev/null 2>&1
end=$(date +%s.%N)
echo "import again (everything there): $(seconds "$start" "$end") s"
