#!/usr/bin/env bash
# Memory while many clients download one large stored zip (issue 11): 200
# connections fetching a 30 MiB zip for 15 s with the memory cache off,
# modgate's RSS sampled throughout, then again once idle.
#
# Needs: cargo, python3, wrk, curl (apt-get install wrk curl).
# Usage: bench/zip-clients.sh [connections, default 200] [zip MiB, default 30]
set -euo pipefail
cd "$(dirname "$0")/.."
CONNS=${1:-200}
ZIP_MIB=${2:-30}

for tool in wrk python3 cargo curl; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install wrk curl)" >&2; exit 1; }
done

cargo build --release -q -p modgate
WORK=$(mktemp -d /tmp/modgate-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$WORK"' EXIT

MODULE=example.com/bench/huge
VERSION=v1.0.0
python3 bench/big-module.py "$WORK/mirror" "$MODULE" "$VERSION" "$ZIP_MIB"

PORT=$((20000 + RANDOM % 10000))
target/release/modgate serve --listen 127.0.0.1:$PORT --storage "$WORK/store" \
    --upstream "file://$WORK/mirror" --sumdb off --memory-cache 0B \
    --max-connections-per-client $((CONNS + 8)) >"$WORK/out" 2>"$WORK/err" &
PID=$!
for _ in $(seq 50); do grep -q listening "$WORK/out" 2>/dev/null && break; sleep 0.1; done
ZIP="http://127.0.0.1:$PORT/$MODULE/@v/$VERSION.zip"
curl -sf -o /dev/null "$ZIP"
rss() { awk '/VmRSS/ {print $2}' /proc/$PID/status; }
BEFORE=$(rss)

wrk -t2 -c"$CONNS" -d15s "$ZIP" >"$WORK/wrk" &
WRK=$!
PEAK=0
while kill -0 $WRK 2>/dev/null; do
    now=$(rss); [ "$now" -gt "$PEAK" ] && PEAK=$now
    sleep 0.2
done
sleep 5
AFTER=$(rss)
echo "$CONNS clients x ${ZIP_MIB} MiB zip, 15 s: $(awk '/Requests\/sec/ {print $2}' "$WORK/wrk") req/s"
python3 - "$BEFORE" "$PEAK" "$AFTER" <<'PY'
import sys
before, peak, after = (int(x) / 1024 for x in sys.argv[1:4])
rows = [
    ("RSS before (MB)", before, "", True),
    ("peak RSS above before (MB)", peak - before, "< 150", peak - before < 150),
    ("RSS 5 s after (MB)", after, "< before + 30", after < before + 30),
]
ok = True
for name, value, target, good in rows:
    ok &= good
    print(f"{name:32} {value:10.2f}   target {target:14} {'ok' if good or not target else 'MISSED'}")
sys.exit(0 if ok else 1)
PY
