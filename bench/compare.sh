#!/usr/bin/env bash
# Regression guard: BASE_REV's modgate against this checkout's, measured in
# one run on this machine. Warm serving (.info and a 16 MiB .zip, wrk at 64
# connections) in alternating rounds, with nginx serving the same files
# beside them when it is installed; then the cold 34-module graph
# (bench/cold.sh with both binaries, alternating). Prints medians and the
# head/base ratios.
#
# BASE_REV is built once in a git worktree and its binary cached per
# revision under $MODGATE_BENCH_CACHE (default ~/.cache/modgate-bench).
#
# Needs: cargo, git, curl, python3, wrk (and nginx, go, Debian's
# golang-golang-x-mod-dev for the cold part: see bench/cold.sh).
# Usage: bench/compare.sh BASE_REV [duration, default 10s]
#   ROUNDS=N warm rounds per server (default 5); RUNS=N cold runs (default 5);
#   SKIP_COLD=1 measures warm serving only.
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=${1:?usage: bench/compare.sh BASE_REV [duration]}
DURATION=${2:-10s}
ROUNDS=${ROUNDS:-5}
CONNS=64
for tool in wrk python3 cargo git curl; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install wrk nginx-light)" >&2; exit 1; }
done
NGINX=$(command -v nginx || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true)

SHA=$(git rev-parse --verify "$BASE^{commit}")
CACHE=${MODGATE_BENCH_CACHE:-$HOME/.cache/modgate-bench}
BASE_BIN=$CACHE/$SHA/modgate
if [ ! -x "$BASE_BIN" ]; then
    echo "building $BASE ($SHA) once; cached in $CACHE" >&2
    mkdir -p "$CACHE"
    SRC=$CACHE/src-$SHA
    [ -d "$SRC" ] || git worktree add -q --detach "$SRC" "$SHA"
    # One target directory for every base revision: dependencies build once.
    (cd "$SRC" && CARGO_TARGET_DIR=$CACHE/target cargo build --release -q -p modgate)
    mkdir -p "$CACHE/$SHA"
    cp "$CACHE/target/release/modgate" "$BASE_BIN"
    git worktree remove --force "$SRC"
fi
cargo build --release -q -p modgate
WORK=$(mktemp -d /tmp/modgate-compare.XXXXXX)
# The servers are started in command substitutions, so they are no jobs of
# this shell: their pids are kept in files.
trap 'for p in "$WORK"/*.pid; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null; done; rm -rf "$WORK"' EXIT
HEAD_BIN=$WORK/head-modgate
cp target/release/modgate "$HEAD_BIN"

MODULE=example.com/bench/big
VERSION=v1.0.0
python3 bench/big-module.py "$WORK/mirror" "$MODULE" "$VERSION" 16
INFO=/$MODULE/@v/$VERSION.info
ZIP=/$MODULE/@v/$VERSION.zip

start() { # name binary -> URL, a warm modgate
    "$2" serve --listen 127.0.0.1:0 --storage "$WORK/store-$1" --upstream "file://$WORK/mirror" \
        --sumdb off >"$WORK/$1.out" 2>"$WORK/$1.err" &
    echo $! >"$WORK/$1.pid"
    for _ in $(seq 100); do grep -q listening "$WORK/$1.out" 2>/dev/null && break; sleep 0.1; done
    local url
    url=$(sed -n 's/^modgate listening on //p' "$WORK/$1.out")
    [ -n "$url" ] || { echo "bench: $1 did not start: $(cat "$WORK/$1.err")" >&2; exit 1; }
    curl -sf -o /dev/null "$url$INFO" && curl -sf -o /dev/null "$url$ZIP"
    echo "$url"
}
declare -A URL
URL[base]=$(start base "$BASE_BIN")
URL[head]=$(start head "$HEAD_BIN")
SERVERS="base head"
if [ -n "$NGINX" ]; then
    # One worker, the same bytes from the same disk as head's store.
    PORT=$((30000 + RANDOM % 5000))
    cat >"$WORK/nginx.conf" <<CONF
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx.err;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    keepalive_requests 1000000;
    types { application/zip zip; application/json info; }
    server { listen 127.0.0.1:$PORT; root $WORK/store-head; }
}
CONF
    chmod 755 "$WORK" && chmod -R a+rX "$WORK/store-head"
    "$NGINX" -c "$WORK/nginx.conf" -p "$WORK"
    sleep 0.5
    URL[nginx]=http://127.0.0.1:$PORT
    curl -sf -o /dev/null "${URL[nginx]}$ZIP" || { echo "bench: nginx cannot serve the store" >&2; exit 1; }
    SERVERS="base head nginx"
fi

echo "wrk -t2 -c$CONNS -d$DURATION, $ROUNDS alternating rounds; base $BASE ($SHA), head $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo '+changes')"
declare -A RPS
for kind in info zip; do
    path=$INFO
    [ "$kind" = zip ] && path=$ZIP
    for i in $(seq "$ROUNDS"); do
        for s in $SERVERS; do
            wrk -t2 -c$CONNS -d"$DURATION" --latency "${URL[$s]}$path" >"$WORK/$s-$kind-$i.wrk"
            RPS[$s-$kind]+="$(awk '/Requests\/sec/ {print $2}' "$WORK/$s-$kind-$i.wrk") "
        done
    done
done
python3 - "$SERVERS" "${RPS[base-info]}" "${RPS[head-info]}" "${RPS[nginx-info]:-}" \
    "${RPS[base-zip]}" "${RPS[head-zip]}" "${RPS[nginx-zip]:-}" <<'PY'
import statistics, sys
servers = sys.argv[1].split()
cols = dict(zip(["base-info", "head-info", "nginx-info", "base-zip", "head-zip", "nginx-zip"], sys.argv[2:]))
med = {k: statistics.median(map(float, v.split())) for k, v in cols.items() if v.strip()}
for kind in ("info", "zip"):
    line = f".{kind:4}  " + "  ".join(f"{s} {med[f'{s}-{kind}']:9.0f} req/s" for s in servers if f"{s}-{kind}" in med)
    line += f"   head/base {med[f'head-{kind}'] / med[f'base-{kind}']:.2f}"
    if f"nginx-{kind}" in med:
        line += f"   head/nginx {med[f'head-{kind}'] / med[f'nginx-{kind}']:.2f}"
    print(line)
PY

if [ -z "${SKIP_COLD:-}" ]; then
    RUNS=${RUNS:-5} BINS="base=$BASE_BIN head=$HEAD_BIN" bench/cold.sh | tee "$WORK/cold.out" | grep -v '^cold '
    python3 - "$WORK/cold.out" <<'PY'
import sys
rows = {l.split()[1]: l.split()[2:] for l in open(sys.argv[1]) if l.startswith("cold ")}
(bs, br), (hs, hr) = map(float, rows["base"]), map(float, rows["head"])
print(f"cold: head/base time {hs / bs:.2f}, RSS after: base {br:.1f} MiB, head {hr:.1f} MiB")
PY
fi
