#!/usr/bin/env bash
# What authentication costs warm hits (issue 12): `.info` requests/s from
# modgate without an auth file against the same with one, over a password
# (HTTP Basic, as go sends from ~/.netrc) and a token (Bearer), wrk at 64
# connections, interleaved runs in one go. Target: each at least 90% of
# the unauthenticated rate.
#
# Needs: cargo, python3, wrk, curl.
# Usage: bench/auth.sh [duration per run, default 5s] [runs, default 3]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-5s}
RUNS=${2:-3}
for tool in wrk python3 cargo curl; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install wrk curl)" >&2; exit 1; }
done
cargo build --release -q -p modgate
WORK=$(mktemp -d /tmp/modgate-auth.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$WORK"' EXIT

MODULE=example.com/bench/auth
VERSION=v1.0.0
python3 bench/big-module.py "$WORK/mirror" "$MODULE" "$VERSION" 1
MG=target/release/modgate
echo "bench-password" | "$MG" auth --auth-file "$WORK/auth.toml" add-user bench >/dev/null
TOKEN=$("$MG" auth --auth-file "$WORK/auth.toml" add-token bench | tail -n 1)
BASIC=$(printf 'bench:bench-password' | base64)

start() { # name extra-args...: starts modgate, its URL in $WORK/name.url
    local name=$1
    shift
    "$MG" serve --listen 127.0.0.1:0 --storage "$WORK/store-$name" --upstream "file://$WORK/mirror" \
        --sumdb off "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    for _ in $(seq 50); do grep -q listening "$WORK/$name.out" 2>/dev/null && break; sleep 0.1; done
    sed -n 's/^modgate listening on //p' "$WORK/$name.out" >"$WORK/$name.url"
}
start open
start auth --auth-file "$WORK/auth.toml"
OPEN=$(cat "$WORK/open.url") AUTH=$(cat "$WORK/auth.url")
INFO=/$MODULE/@v/$VERSION.info
curl -sf -o /dev/null "$OPEN$INFO"
curl -sf -o /dev/null -H "Authorization: Basic $BASIC" "$AUTH$INFO"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$AUTH$INFO" -u bench:wrong)" = 401 ] \
    || { echo "bench: the auth file is not in force" >&2; exit 1; }

rps() { # url [header] -> requests/s
    local url=$1
    shift
    wrk -t2 -c64 -d"$DURATION" "$@" "$url" | awk '/Requests\/sec/ { print $2 }'
}
median() { python3 -c "import statistics, sys; print(f'{statistics.median(map(float, sys.argv[1:])):.0f}')" "$@"; }
O=() B=() T=()
for _ in $(seq "$RUNS"); do
    O+=("$(rps "$OPEN$INFO")")
    B+=("$(rps "$AUTH$INFO" -H "Authorization: Basic $BASIC")")
    T+=("$(rps "$AUTH$INFO" -H "Authorization: Bearer $TOKEN")")
done
MO=$(median "${O[@]}") MB=$(median "${B[@]}") MT=$(median "${T[@]}")
echo "no auth file:        ${MO} requests/s (${O[*]})"
echo "Basic password:      ${MB} requests/s (${B[*]}), $(python3 -c "print(f'{100 * $MB / $MO:.0f}')")% (target >= 90%)"
echo "Bearer token:        ${MT} requests/s (${T[*]}), $(python3 -c "print(f'{100 * $MT / $MO:.0f}')")% (target >= 90%)"
