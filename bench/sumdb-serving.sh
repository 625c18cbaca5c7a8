#!/usr/bin/env bash
# Checksum-database serving (issue 4): modgate's answers under /sumdb/ from
# its own checksum database against a cached .info, with wrk at 64
# connections in one run. (Answers proxied from another database come from
# the same store and memory cache as .info files.)
#
# Needs: cargo, python3, wrk, curl.
# Usage: bench/sumdb-serving.sh [duration, default 10s]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10s}
CONNS=64
for tool in wrk python3 cargo curl; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install wrk curl)" >&2; exit 1; }
done

cargo build --release -q -p modgate
WORK=$(mktemp -d /tmp/modgate-sumdb-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$WORK"' EXIT

MODULE=example.com/bench/small
VERSION=v1.0.0
python3 - "$WORK/mirror" "$MODULE" "$VERSION" <<'PY'
import os, sys, zipfile
root, module, version = sys.argv[1:4]
d = os.path.join(root, module, "@v")
os.makedirs(d)
gomod = f"module {module}\n\ngo 1.21\n"
open(os.path.join(d, version + ".mod"), "w").write(gomod)
open(os.path.join(d, version + ".info"), "w").write('{"Version":"%s","Time":"2024-01-01T00:00:00Z"}' % version)
with zipfile.ZipFile(os.path.join(d, version + ".zip"), "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr(f"{module}@{version}/go.mod", gomod)
    z.writestr(f"{module}@{version}/small.go", "package small\n")
PY

NAME=sum.bench.example
target/release/modgate sumdb keygen --name $NAME --out "$WORK/key" >/dev/null
PORT=$((20000 + RANDOM % 10000))
target/release/modgate serve --listen 127.0.0.1:$PORT --storage "$WORK/store" \
    --upstream "file://$WORK/mirror" --sumdb off --private-sumdb-key "$WORK/key" \
    >"$WORK/modgate.out" 2>"$WORK/modgate.err" &
for _ in $(seq 50); do grep -q listening "$WORK/modgate.out" 2>/dev/null && break; sleep 0.1; done

BASE=http://127.0.0.1:$PORT
INFO=/$MODULE/@v/$VERSION.info
LOOKUP=/sumdb/$NAME/lookup/$MODULE@$VERSION
# Warm: the version is fetched, stored and logged.
curl -sf -o /dev/null "$BASE$INFO"
curl -sf -o /dev/null "$BASE$LOOKUP"
TILE=/sumdb/$NAME/tile/8/0/000.p/1
curl -sf -o /dev/null "$BASE$TILE"

printf '%-34s %12s %10s\n' "path" "requests/s" "p99"
for path in "$INFO" "$LOOKUP" "$TILE" "/sumdb/$NAME/latest"; do
    out=$(wrk -t2 -c$CONNS -d"$DURATION" --latency "$BASE$path")
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
    [ -z "$non2xx" ] || { echo "bench: $path answered $non2xx errors" >&2; exit 1; }
    printf '%-34s %12s %10s\n' "${path:0:34}" "$rps" "$p99"
done
