#!/usr/bin/env bash
# Warm-serving benchmark (issue 2): modgate serving a warm cache against nginx
# serving the very same files from disk, with wrk at 64 connections, measured
# in one run. Also reports p99 latency of .info under load and idle RSS.
#
# Needs: cargo, python3, wrk, nginx (apt-get install wrk nginx-light).
# Usage: bench/warm-serving.sh [duration, default 10s] [zip MiB, default 16]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10s}
ZIP_MIB=${2:-16}
CONNS=64

for tool in wrk nginx python3 cargo; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install wrk nginx-light)" >&2; exit 1; }
done

cargo build --release -q -p modgate
WORK=$(mktemp -d /tmp/modgate-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null; rm -rf "$WORK"' EXIT

# A mirror tree with one module version whose zip is large and incompressible.
MODULE=example.com/bench/big
VERSION=v1.0.0
python3 bench/big-module.py "$WORK/mirror" "$MODULE" "$VERSION" "$ZIP_MIB"

PORT_MG=$((20000 + RANDOM % 10000))
PORT_NG=$((PORT_MG + 1))
target/release/modgate serve --listen 127.0.0.1:$PORT_MG --storage "$WORK/store" \
    --upstream "file://$WORK/mirror" --sumdb off >"$WORK/modgate.out" 2>"$WORK/modgate.err" &
MG_PID=$!
for _ in $(seq 50); do grep -q listening "$WORK/modgate.out" 2>/dev/null && break; sleep 0.1; done
sleep 0.5
IDLE_RSS_KB=$(awk '/VmRSS/ {print $2}' /proc/$MG_PID/status)

INFO=/$MODULE/@v/$VERSION.info
ZIP=/$MODULE/@v/$VERSION.zip
# Warm the cache: the files are now in modgate's storage.
curl -sf -o /dev/null "http://127.0.0.1:$PORT_MG$INFO"
curl -sf -o /dev/null "http://127.0.0.1:$PORT_MG$ZIP"

# nginx serves modgate's own storage directory: the same bytes from the same disk.
mkdir -p "$WORK/nginx"
cat >"$WORK/nginx/nginx.conf" <<CONF
user root;
worker_processes auto;
pid $WORK/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path $WORK/nginx;
    types { application/zip zip; application/json info; }
    server {
        listen 127.0.0.1:$PORT_NG;
        root $WORK/store;
    }
}
CONF
nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx"
sleep 0.5
curl -sf -o /dev/null "http://127.0.0.1:$PORT_NG$ZIP" || { echo "bench: nginx cannot serve the store" >&2; exit 1; }

ROUNDS=${ROUNDS:-3}
# wrk and both servers share the machine's cores, so single runs are noisy:
# alternate the two servers for several rounds and compare medians.
run() { # name url -> prints the median req/s; keeps the median run's output
    local i
    for i in $(seq "$ROUNDS"); do
        wrk -t2 -c$CONNS -d"$DURATION" --latency "$2" >"$WORK/$1.$i.wrk"
        echo "$(awk '/Requests\/sec/ {print $2}' "$WORK/$1.$i.wrk") $i"
    done | sort -n | awk -v n="$ROUNDS" 'NR == int((n + 1) / 2) {print $2}' >"$WORK/$1.median"
    cp "$WORK/$1.$(cat "$WORK/$1.median").wrk" "$WORK/$1.wrk"
    local rps p99
    rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/$1.wrk")
    p99=$(awk '$1 == "99%" {print $2}' "$WORK/$1.wrk")
    printf '%-14s %12s req/s   p99 %s   (median of %s)\n' "$1" "$rps" "$p99" "$ROUNDS" >&2
    echo "$rps"
}

echo "wrk -t2 -c$CONNS -d$DURATION x $ROUNDS rounds; zip $(stat -c %s "$WORK/mirror/$MODULE/@v/$VERSION.zip") bytes" >&2
NG_INFO=$(run nginx-info "http://127.0.0.1:$PORT_NG$INFO")
MG_INFO=$(run modgate-info "http://127.0.0.1:$PORT_MG$INFO")
NG_ZIP=$(run nginx-zip "http://127.0.0.1:$PORT_NG$ZIP")
MG_ZIP=$(run modgate-zip "http://127.0.0.1:$PORT_MG$ZIP")
MG_INFO_P99=$(awk '$1 == "99%" {print $2}' "$WORK/modgate-info.wrk")

python3 - "$NG_INFO" "$MG_INFO" "$NG_ZIP" "$MG_ZIP" "$MG_INFO_P99" "$IDLE_RSS_KB" <<'PY'
import sys
ng_info, mg_info, ng_zip, mg_zip = map(float, sys.argv[1:5])
p99, rss_kb = sys.argv[5], int(sys.argv[6])
def ms(s):
    for unit, f in (("us", 1e-3), ("ms", 1.0), ("s", 1e3)):
        if s.endswith(unit):
            return float(s[: -len(unit)]) * f
    return float(s)
rows = [
    (".info ratio (modgate/nginx)", mg_info / ng_info, ">= 0.8", mg_info / ng_info >= 0.8),
    (".zip ratio (modgate/nginx)", mg_zip / ng_zip, ">= 0.8", mg_zip / ng_zip >= 0.8),
    (".info p99 under load (ms)", ms(p99), "< 5", ms(p99) < 5),
    ("idle RSS (MB)", rss_kb / 1024, "< 50", rss_kb / 1024 < 50),
]
ok = True
for name, value, target, good in rows:
    ok &= good
    print(f"{name:32} {value:10.2f}   target {target:7} {'ok' if good else 'MISSED'}")
sys.exit(0 if ok else 1)
PY
