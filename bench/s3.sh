#!/usr/bin/env bash
# modgate on an S3 bucket (issue 13), measured in one run:
#   1. warm hits from the memory tier, against nginx serving the same files
#      from disk (wrk, 64 connections; target >= 0.8x);
#   2. memory-tier misses served from the bucket: `.info` p99 at 64
#      connections with --memory-cache 0B, so every request is a GET to
#      the bucket (target < 20 ms);
#   3. a 200 MB zip streamed from the bucket: time to its first byte and
#      modgate's peak RSS (target < 100 MB);
#   4. whether the bucket honours create-only writes (`If-None-Match: *`),
#      as modgate's start-up probe for its own checksum database sees it.
# The bucket is on 127.0.0.1, served by one of:
#   moto    moto's S3 server (moto[server] from PyPI), a Python server, so
#           (2) measures moto as much as modgate;
#   garage  Garage, a distributed object store run in production, as a
#           single-node cluster (installed with cargo when missing: a long
#           build, at low priority).
#
# Needs: cargo, python3, wrk, nginx, curl, openssl; moto_server or garage.
# Usage: bench/s3.sh [moto|garage, default moto] [duration, default 5s] [zip MiB, default 200]
set -euo pipefail
cd "$(dirname "$0")/.."
SERVER=${1:-moto}
DURATION=${2:-5s}
ZIP_MIB=${3:-200}
case $SERVER in
moto) NEEDS=moto_server ;;
garage) NEEDS= ;;
*) echo "usage: bench/s3.sh [moto|garage] [duration] [zip MiB]" >&2; exit 2 ;;
esac
for tool in wrk nginx python3 cargo curl openssl $NEEDS; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (scripts/install-test-deps; apt-get install wrk nginx-light)" >&2; exit 1; }
done
if [ "$SERVER" = garage ] && ! command -v garage >/dev/null; then
    echo "bench: installing garage with cargo (a long build)" >&2
    nice -n 19 cargo install garage --version 2.5.0 --locked --no-default-features --features bundled-libs,lmdb
fi
cargo build --release -q -p modgate
WORK=$(mktemp -d /tmp/modgate-s3.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT

MODULE=example.com/bench/s3
VERSION=v1.0.0
python3 bench/big-module.py "$WORK/mirror" "$MODULE" "$VERSION" "$ZIP_MIB"
PORT_S3=$((20000 + RANDOM % 10000))

moto_up() {
    moto_server -H 127.0.0.1 -p "$PORT_S3" >"$WORK/moto.log" 2>&1 &
    for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT_S3/" && break; sleep 0.1; done
    curl -sf -X PUT -o /dev/null "http://127.0.0.1:$PORT_S3/bench"
    export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1
}

garage_up() { # one node holding every partition, one key, bucket "bench"
    local dir=$WORK/garage
    mkdir -p "$dir"
    cat >"$dir/garage.toml" <<CONF
metadata_dir = "$dir/meta"
data_dir = "$dir/data"
db_engine = "lmdb"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:$((PORT_S3 + 2))"
rpc_public_addr = "127.0.0.1:$((PORT_S3 + 2))"
rpc_secret = "$(openssl rand -hex 32)"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:$PORT_S3"
root_domain = ".s3.garage.localhost"
CONF
    chmod 600 "$dir/garage.toml"
    local g="garage -c $dir/garage.toml"
    $g server >"$dir/server.log" 2>&1 &
    for _ in $(seq 100); do $g status >/dev/null 2>&1 && break; sleep 0.2; done
    $g layout assign -z dc1 -c 10G "$($g node id -q 2>/dev/null | cut -d@ -f1)" >/dev/null
    $g layout apply --version 1 >/dev/null
    export AWS_ACCESS_KEY_ID=GK$(openssl rand -hex 12) AWS_SECRET_ACCESS_KEY=$(openssl rand -hex 32) AWS_REGION=garage
    $g key import --yes -n bench "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >/dev/null
    $g bucket create bench >/dev/null
    $g bucket allow --read --write --owner bench --key bench >/dev/null
    for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$PORT_S3/" && break; sleep 0.1; done
}
"${SERVER}_up"
export AWS_ENDPOINT_URL=http://127.0.0.1:$PORT_S3

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
[ -n "$WARM" ] || { echo "bench: modgate did not start: $(cat "$WORK/warm.err")" >&2; exit 1; }
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
p50() { awk '$1 == "50%" { print $2 }' "$1"; }
p99() { awk '$1 == "99%" { print $2 }' "$1"; }
wrk -t2 -c64 -d"$DURATION" --latency "http://127.0.0.1:$PORT_NG$INFO" >"$WORK/nginx.wrk"
wrk -t2 -c64 -d"$DURATION" --latency "$WARM$INFO" >"$WORK/warm.wrk"

start cold --memory-cache 0B
COLD=$(cat "$WORK/cold.url")
wrk -t2 -c64 -d"$DURATION" --latency "$COLD$INFO" >"$WORK/cold.wrk"
grep -q "Non-2xx" "$WORK/cold.wrk" && { echo "bench: misses failed: $(cat "$WORK/cold.wrk")" >&2; exit 1; }
hwm() { awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$(cat "$WORK/cold.pid")/status"; }
HWM_BEFORE=$(hwm)
FIRST=$(curl -sf -o "$WORK/zip" -w '%{time_starttransfer} %{time_total}' "$COLD$ZIP")
cmp -s "$WORK/zip" "$WORK/mirror/$MODULE/@v/$VERSION.zip" || { echo "bench: the zip from the bucket differs" >&2; exit 1; }
HWM=$(hwm)

# modgate's own checksum database refuses a store whose writes replace.
target/release/modgate sumdb keygen --name sum.bench.test --out "$WORK/signer.key" >/dev/null
start log --private-sumdb-key "$WORK/signer.key"
if [ -s "$WORK/log.url" ]; then
    CREATE_ONLY="honoured (modgate's checksum database runs on it)"
else
    CREATE_ONLY="not honoured: $(grep -o 'this storage replaces objects[^"]*' "$WORK/log.err" | head -1)"
fi

echo "bucket: $SERVER"
echo "memory-tier hits: nginx $(rps "$WORK/nginx.wrk") req/s, modgate $(rps "$WORK/warm.wrk") req/s, ratio $(python3 -c "print(f'{$(rps "$WORK/warm.wrk") / $(rps "$WORK/nginx.wrk"):.2f}')") (target >= 0.8)"
echo "misses from the bucket (.info, --memory-cache 0B): $(rps "$WORK/cold.wrk") req/s, p50 $(p50 "$WORK/cold.wrk"), p99 $(p99 "$WORK/cold.wrk") (target < 20ms)"
echo "$ZIP_MIB MiB zip from the bucket: first byte after ${FIRST% *} s, whole after ${FIRST#* } s; modgate peak RSS $HWM MiB (target < 100; $HWM_BEFORE before the zip)"
echo "create-only writes (If-None-Match: *): $CREATE_ONLY"
