#!/usr/bin/env bash
# Cold misses through a mirror (issue 11): the go command downloads a graph
# of 34 real-shaped modules (the real code go vendors in cmd/vendor and
# packages of the standard library, 10 KB to 5 MB zips) through a fresh
# modgate, with the checksum database on, against the floor: the go command
# fetching the same modules straight from the mirror, checking the same
# database. Target: within 1.3x of the floor. Also modgate's RSS after the
# cold run with the memory cache off (target <= 30 MiB).
#
# The mirror is nginx serving a GOPROXY tree; the checksum database is
# x/mod's reference server (the e2e tests' sumdb-server). Everything runs on
# 127.0.0.1 with local git repositories.
#
# Needs: cargo, go (Go 1.23), git, nginx, python3, Debian's
# golang-golang-x-mod-dev. RUNS=N sets the runs per side (median; default 7).
# BINS="name=path …" measures these modgate binaries instead of this
# checkout's release build, in alternating runs (bench/compare.sh uses it).
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-/usr/lib/go-1.23/bin/go}
GOROOT_SRC=$("$GO" env GOROOT)/src
RUNS=${RUNS:-7}
for tool in "$GO" git python3 cargo nginx; do
    command -v "$tool" >/dev/null || [ -x "$tool" ] || [ -x "/usr/sbin/$tool" ] || { echo "bench: $tool is missing" >&2; exit 1; }
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -f /usr/share/gocode/src/golang.org/x/mod/sumdb/server.go ] \
    || { echo "bench: golang.org/x/mod is missing (Debian's golang-golang-x-mod-dev)" >&2; exit 1; }
if [ -z "${BINS:-}" ]; then
    cargo build --release -q -p modgate
    BINS="modgate=$PWD/target/release/modgate"
fi
WORK=$(mktemp -d /tmp/modgate-cold.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null; [ -n "${KEEP:-}" ] || { chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"; }' EXIT

export GIT_CONFIG_GLOBAL=$WORK/gitconfig GIT_CONFIG_NOSYSTEM=1
git config --global url."file://$WORK/repos/".insteadOf https://github.com/modgate-bench/
git config --global protocol.file.allow always
git config --global user.name bench && git config --global user.email bench@modgate.invalid

# The graph: 12 vendored modules of cmd and 22 standard-library trees.
SOURCES=()
for d in "$GOROOT_SRC"/cmd/vendor/golang.org/x/* "$GOROOT_SRC"/cmd/vendor/github.com/*/* "$GOROOT_SRC"/cmd/vendor/rsc.io/*; do
    SOURCES+=("$d")
done
for p in net/http crypto/tls encoding/json go/types regexp compress/flate text/template image/png \
    database/sql archive/tar math/big html/template net/url log/slog crypto/x509 sort bufio \
    container/heap unicode/utf8 embed strconv flag; do
    SOURCES+=("$GOROOT_SRC/$p")
done
N=${#SOURCES[@]}
mkdir -p "$WORK/app"
printf 'module example.com/app\n\ngo 1.21\n\nrequire (\n' >"$WORK/app/go.mod"
i=0
for src in "${SOURCES[@]}"; do
    i=$((i + 1))
    name=m$(printf %02d $i)-$(basename "$src")
    d=$WORK/repos/$name
    mkdir -p "$d"
    cp -r "$src"/. "$d"/
    find "$d" -name go.mod -delete
    # Test data is left out: some of it is not valid in a module zip.
    find "$d" -name testdata -type d -prune -exec rm -rf {} +
    printf 'module github.com/modgate-bench/%s\n\ngo 1.21\n' "$name" >"$d/go.mod"
    (cd "$d" && git init -q -b main && git add -A && git commit -qm v1 && git tag v1.0.0)
    printf '\tgithub.com/modgate-bench/%s v1.0.0\n' "$name" >>"$WORK/app/go.mod"
done
printf ')\n' >>"$WORK/app/go.mod"

goenv() { # modcache proxy sumdb command...
    local cache=$1 proxy=$2 sumdb=$3
    shift 3
    env -i PATH="$PATH" HOME="$WORK" GOPATH="$WORK/gopath" GOMODCACHE="$cache" GOCACHE="$WORK/gocache" \
        GOENV=off GOTOOLCHAIN=local GOTELEMETRY=off GOFLAGS="-modcacherw -mod=mod" GOSUMDB="$sumdb" \
        GOPROXY="$proxy" GONOSUMDB= GOPRIVATE= GIT_CONFIG_GLOBAL="$GIT_CONFIG_GLOBAL" GIT_CONFIG_NOSYSTEM=1 "$@"
}
(cd "$WORK/app" && goenv "$WORK/direct" direct off "$GO" mod download -x 2>/dev/null && goenv "$WORK/direct" direct off "$GO" mod verify >/dev/null) \
    || { echo "bench: building the mirror tree in direct mode failed" >&2; exit 1; }
TREE=$WORK/direct/cache/download
[ "$(ls "$TREE/github.com/modgate-bench" | wc -l)" = "$N" ] || { echo "bench: mirror tree incomplete" >&2; exit 1; }
# The go.sum lines the checksum database holds.
(cd "$WORK/app" && goenv "$WORK/direct" direct off "$GO" mod download -json) | python3 -c '
import json, sys
dec, text = json.JSONDecoder(), sys.stdin.read()
i = 0
while i < len(text):
    while i < len(text) and text[i].isspace(): i += 1
    if i >= len(text): break
    m, i = dec.raw_decode(text, i)
    print(m["Path"], m["Version"], m["Sum"]); print(m["Path"], m["Version"] + "/go.mod", m["GoModSum"])
' >"$WORK/go.sum"
echo "graph: $N modules, $(du -sh "$TREE" | cut -f1) of zips" >&2

# The checksum database: x/mod's reference server, every version preloaded.
(cd crates/modgate/tests/e2e/support/sumdb-server && env -i PATH="$PATH" HOME="$WORK" GO111MODULE=off \
    GOPATH=/usr/share/gocode GOCACHE="$WORK/gocache" GOTOOLCHAIN=local GOTELEMETRY=off CGO_ENABLED=0 \
    "$GO" build -o "$WORK/sumdb-server" main.go) || { echo "bench: building sumdb-server failed" >&2; exit 1; }
"$WORK/sumdb-server" -gosum "$WORK/go.sum" -preload -pad 5000 >"$WORK/sumdb.out" 2>"$WORK/sumdb.err" &
for _ in $(seq 50); do grep -q '^URL' "$WORK/sumdb.out" 2>/dev/null && break; sleep 0.1; done
KEY=$(sed -n 's/^VERIFIER //p' "$WORK/sumdb.out")
SUMDB_URL=$(sed -n 's/^URL //p' "$WORK/sumdb.out")
[ -n "$KEY" ] || { echo "bench: the checksum database did not start" >&2; cat "$WORK/sumdb.err" >&2; exit 1; }

# The mirror: nginx serving the tree (its workers may run as another user).
chmod 755 "$WORK" "$WORK/direct" "$WORK/direct/cache" && chmod -R a+rX "$TREE"
PORT=$((30000 + RANDOM % 5000))
cat >"$WORK/nginx.conf" <<EOF
worker_processes 2;
pid $WORK/nginx.pid;
error_log $WORK/nginx.err;
events { worker_connections 1024; }
http {
    access_log off;
    default_type application/octet-stream;
    server { listen 127.0.0.1:$PORT; root $TREE; }
}
EOF
"$NGINX" -c "$WORK/nginx.conf" -p "$WORK"
MIRROR=http://127.0.0.1:$PORT
for _ in $(seq 50); do [ -f "$WORK/nginx.pid" ] && break; sleep 0.1; done

elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$@"; }
median() { python3 -c "import statistics, sys; print(f'{statistics.median(map(float, sys.argv[1:])):.3f}')" "$@"; }
rss_mib() { awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

floor_run() { # n -> seconds
    local start
    start=$(date +%s.%N)
    (cd "$WORK/app" && goenv "$WORK/cache-floor-$1" "$MIRROR" "$KEY $SUMDB_URL" "$GO" mod download >/dev/null 2>"$WORK/go-floor.err") \
        || { echo "bench: go failed straight from the mirror:" >&2; cat "$WORK/go-floor.err" >&2; exit 1; }
    elapsed "$start" "$(date +%s.%N)"
}

# The memory cache off, as the binary spells it (builds before the one
# size grammar took --memory-cache-mb N).
no_memory_cache() { # binary -> flags
    if "$1" serve --help 2>/dev/null | grep -q -- '--memory-cache-mb'; then
        echo "--memory-cache-mb 0"
    else
        echo "--memory-cache 0B"
    fi
}

modgate_run() { # binary n -> "seconds rss-after idle-rss-before"
    local bin=$1 out=$WORK/modgate-$2.out
    "$bin" serve --listen 127.0.0.1:0 --storage "$WORK/store-$2" --upstream "$MIRROR" \
        --sumdb "$KEY $SUMDB_URL" $(no_memory_cache "$bin") >"$out" 2>"$WORK/modgate-$2.err" &
    local pid=$!
    for _ in $(seq 50); do grep -q listening "$out" 2>/dev/null && break; sleep 0.1; done
    local url idle start secs
    url=$(sed -n 's/^modgate listening on //p' "$out")
    idle=$(rss_mib $pid)
    start=$(date +%s.%N)
    (cd "$WORK/app" && goenv "$WORK/cache-$2" "$url" "$KEY" "$GO" mod download >/dev/null 2>"$WORK/go-$2.err") \
        || { echo "bench: go failed through modgate:" >&2; cat "$WORK/go-$2.err" "$WORK/modgate-$2.err" >&2; kill $pid; exit 1; }
    secs=$(elapsed "$start" "$(date +%s.%N)")
    # After the run: once the workers' periodic memory release has run.
    sleep 6
    echo "$secs $(rss_mib $pid) $idle"
    kill $pid
    wait $pid 2>/dev/null || true
}

declare -A SECS RSS IDLE
FLOORS=()
for n in $(seq "$RUNS"); do
    FLOORS+=("$(floor_run "$n")")
    for bin in $BINS; do
        read -r secs rss idle <<<"$(modgate_run "${bin#*=}" "${bin%%=*}-$n")"
        SECS[${bin%%=*}]+="$secs " RSS[${bin%%=*}]+="$rss " IDLE[${bin%%=*}]+="$idle "
    done
done
F=$(median "${FLOORS[@]}")
echo "go straight from the mirror (GOSUMDB on): median ${F}s of $RUNS (${FLOORS[*]})"
for bin in $BINS; do
    name=${bin%%=*}
    # shellcheck disable=SC2086
    M=$(median ${SECS[$name]})
    # shellcheck disable=SC2086
    R=$(median ${RSS[$name]})
    echo "$name: cold median ${M}s (${SECS[$name]% }), ratio to the floor $(python3 -c "print(f'{$M / $F:.2f}')")x (target <= 1.3)"
    # shellcheck disable=SC2086
    echo "$name: RSS after the cold run, memory cache off: median ${R} MiB (idle before: $(median ${IDLE[$name]}) MiB)"
    echo "cold $name $M $R"
done
