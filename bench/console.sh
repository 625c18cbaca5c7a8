#!/usr/bin/env bash
# The console's pages with 10,000 cached versions (issue 27: each answered
# in <= 50 ms server time): a store filled through modgate from a file://
# tree of 450 modules x 20 versions and one module of 1,000 versions, every
# go.mod requiring one module (9,999 dependents); then each page's time
# (curl's total on loopback: the server's time and a local round trip),
# the first load and the median of 10 after it.
#
# Needs: cargo, python3, curl.
# Usage: bench/console.sh   (MODGATE=path/to/modgate to time another build)
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in python3 cargo curl; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing" >&2; exit 1; }
done
if [ -z "${MODGATE:-}" ]; then
    cargo build --release -q -p modgate
    MODGATE=target/release/modgate
fi
WORK=$(mktemp -d /tmp/modgate-console.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$WORK"' EXIT

python3 bench/console-tree.py "$WORK/mirror" 450 20 1000 >"$WORK/versions"
echo "versions in the tree: $(wc -l <"$WORK/versions")"
"$MODGATE" serve --listen 127.0.0.1:0 --storage "$WORK/store" --upstream "file://$WORK/mirror" \
    --sumdb off --vulndb off >"$WORK/out" 2>"$WORK/err" &
for _ in $(seq 50); do grep -q listening "$WORK/out" 2>/dev/null && break; sleep 0.1; done
URL=$(sed -n 's/^modgate listening on //p' "$WORK/out")

# Fill: each version's .info, .mod and .zip, 8 at a time.
started=$(date +%s)
sed 's|\(.*\)@\(.*\)|\1/@v/\2.info\n\1/@v/\2.mod\n\1/@v/\2.zip|' "$WORK/versions" |
    xargs -P 8 -I{} curl -sf -o /dev/null "$URL/{}"
echo "filled in $(($(date +%s) - started)) s"

ms() { # path -> milliseconds of one request
    curl -sf -o /dev/null -w '%{time_total}\n' "$URL$1" | awk '{ printf "%.1f\n", $1 * 1000 }'
}
median() { python3 -c "import statistics, sys; print(f'{statistics.median(map(float, sys.argv[1:])):.1f}')" "$@"; }
# The dependents index is built in the background after a listing: wait for it.
curl -sf -o /dev/null "$URL/-/modules"
sleep 8
for page in / /-/modules "/-/modules?q=m04" /-/module/example.com/bench/m0123 \
    /-/module/example.com/bench/big /-/module/example.com/bench/m0000; do
    first=$(ms "$page")
    runs=()
    for _ in $(seq 10); do runs+=("$(ms "$page")"); done
    printf '%-40s first %6s ms, then median %6s ms (target <= 50)\n' "$page" "$first" "$(median "${runs[@]}")"
done
