#!/usr/bin/env bash
# modgate on an S3 bucket (issue 13), measured in one run:
#   1. warm hits from the memory tier, against nginx serving the same files
#      from disk (wrk, 64 connections; target >= 0.8x);
#   2. memory-tier misses served from the bucket: `.info` p99 at 64
#      connections with --memory-cache-mb 0 (target < 20 ms);
#   3. a 200 MB zip served from the bucket: modgate's peak RSS (target < 100 MB).
# The bucket is moto's S3 server on 127.0.0.1 (moto[server] from PyPI), so
# (2) measures moto, a Python server, as much as modgate.
#
# Needs: cargo, python3, wrk, nginx, curl, moto_server.
# Usage: bench/s3.sh [duration, default 5s] [zip MiB, default 200]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-5s}
ZIP_MIB=${2:-200}
for tool in wrk nginx python3 cargo curl moto_server; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (scripts/install-test-deps; apt-get install wrk nginx-light)" >&2; exit 1; }
done
cargo build --release -q -p modgate
WORK=$(mktemp -d /tmp/modgate-s3.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null; rm -rf "$WORK"' EXIT

MODULE=example.com/bench/s3
VERSION=v1.0.0
python3 bench/big-module.py "$WORK/mirror" "$MODULE" "$VERSION" "$ZIP_MIB"
PORT_S3=$((20000 + RANDOM % 10000))
moto_server -H 127.0.0.1 -p "$PORT_S3" >"$WORK/moto.log" 2>&1 &
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT_S3/" && break; sleep 0.1; done
curl -sf -X PUT -o /dev/null "http://127.0.0.1:$PORT_S3/bench"
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1 AWS_ENDPOINT_URL=http://127.0.0.1:$PORT_S3

start() { # name extra-args...: modgate on the bucket, its URL in $WORK/name.url, pid in $WORK/name.pid
    local name=$1
    shift
    target/release/modgate serve --listen 127.0.0.1:0 --storage s3://bench/cache --upstream "file://$WORK/mirror" \
        --sumdb off --vcs-dir "$WORK/vcs-$name" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    echo $! >"$WORK/$name.pid"
    for _ in $(seq 50); do grep -q listening "$WORK/$name.out" 2>/dev/null && break; sleep 0.1; done
    sed -n 's/^modgate listening on //p' "$WORK/$name.out" >"$WORK/$name.url"
}
start warm
WARM=$(cat "$WORK/warm.url")
INFO=/$MODULE/@v/$VERSION.info
ZIP=/$MODULE/@v/$VERSION.zip
curl -sf -o /dev/null "$WARM$INFO"
curl -sf -o /dev/null "$WARM$ZIP"

PORT_NG=$((PORT_S3 + 1))
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
    keepalive_requests 1000000;
    client_body_temp_path $WORK/nginx;
    types { application/json info; }
    server { listen 127.0.0.1:$PORT_NG; root $WORK/mirror; }
}
CONF
nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx"
sleep 0.5

rps() { awk '/Requests\/sec/ { print $2 }' "$1"; }
p99() { awk '$1 == "99%" { print $2 }' "$1"; }
wrk -t2 -c64 -d"$DURATION" --latency "http://127.0.0.1:$PORT_NG$INFO" >"$WORK/nginx.wrk"
wrk -t2 -c64 -d"$DURATION" --latency "$WARM$INFO" >"$WORK/warm.wrk"

start cold --memory-cache-mb 0
COLD=$(cat "$WORK/cold.url")
wrk -t2 -c64 -d"$DURATION" --latency "$COLD$INFO" >"$WORK/cold.wrk"
curl -sf -o "$WORK/zip" "$COLD$ZIP"
cmp -s "$WORK/zip" "$WORK/mirror/$MODULE/@v/$VERSION.zip" || { echo "bench: the zip from the bucket differs" >&2; exit 1; }
HWM=$(awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$(cat "$WORK/cold.pid")/status")

echo "memory-tier hits: nginx $(rps "$WORK/nginx.wrk") req/s, modgate $(rps "$WORK/warm.wrk") req/s, ratio $(python3 -c "print(f'{$(rps "$WORK/warm.wrk") / $(rps "$WORK/nginx.wrk"):.2f}')") (target >= 0.8)"
echo "misses from the bucket (.info, --memory-cache-mb 0): $(rps "$WORK/cold.wrk") req/s, p99 $(p99 "$WORK/cold.wrk") (target < 20ms)"
echo "$ZIP_MIB MiB zip from the bucket: modgate peak RSS $HWM MiB (target < 100)"
