#!/usr/bin/env bash
# Direct-mode benchmark (the "direct" issue): modgate building module zips
# straight from git, against the go command's own direct mode.
#
# 1. Cold dependency graph: ~40 local git repositories (tagged v1.0.0..v1.3.0,
#    /v2 major versions in a branch and in a subdirectory, subdirectory modules
#    with prefixed tags, untagged repositories resolved to pseudo-versions,
#    a few hundred KB of Go source each, some testdata) and an app requiring
#    them all. hyperfine times `go mod download all` with GOPROXY=direct against
#    the same through a modgate started on empty storage and an empty VCS
#    directory for each run (its start-up is in the timing). Target: ratio
#    modgate/go <= 1.0 (aim 0.5).
# 2. A 200 MB module of incompressible files: cold `go mod download` through a
#    fresh modgate (it builds the zip from git), then the zip again with curl
#    (warm, from storage). Target: modgate's peak RSS (VmHWM) < 100 MB.
#
# 3. One tagged version of a repository with 1 GiB of history (1,000 commits
#    each rewriting a 1 MiB incompressible file; the tip is small): cold
#    `go mod download M@v1.0.0`, direct against through a modgate started
#    on empty directories just before (its start-up is not timed).
#    Targets: ratio <= 0.5, the mirror far smaller than the history.
#
# Everything runs on 127.0.0.1: git's url.<base>.insteadOf maps
# https://github.com/bench/NAME to file:// repositories, for the go command
# and for the git that modgate runs alike.
#
# Needs: cargo, go (Go 1.23: /usr/lib/go-1.23/bin), git, hyperfine, curl.
# Usage: bench/direct.sh [--runs N (5)] [--work DIR] [--only graph|big|history]
#                        [--modgate BINARY (skips the release build)]
#   --work DIR  keeps the generated repositories there and reuses them on the
#               next run (default: a temporary directory, removed at exit).
set -euo pipefail

GO=${GO:-/usr/lib/go-1.23/bin/go}
[ -x "$GO" ] || GO=$(command -v go || true)

# The go command with an isolated environment (as the e2e tests run it).
goenv() { # gomodcache goproxy command...
    local cache=$1 proxy=$2
    shift 2
    env -i PATH="$(dirname "$GO"):$PATH" HOME="$WORK/home" GOPATH="$WORK/gopath" GOMODCACHE="$cache" \
        GOCACHE="$WORK/gocache" GOENV=off GOTOOLCHAIN=local GOTELEMETRY=off GOFLAGS="${BENCH_GOFLAGS:--mod=mod -modcacherw}" \
        GOSUMDB=off GOPROXY="$proxy" GIT_CONFIG_GLOBAL="$WORK/gitconfig" GIT_CONFIG_NOSYSTEM=1 "$@"
}

# modgate serve in direct mode on fresh directories; sets MG_PID and MG_URL.
start_modgate() { # dir (storage, vcs dir and logs go there) log-file
    local dir=$1 log=$2
    mkdir -p "$dir"
    env -i PATH="$PATH" HOME="$WORK/home" GIT_CONFIG_GLOBAL="$WORK/gitconfig" GIT_CONFIG_NOSYSTEM=1 \
        MODGATE_LOG="${MODGATE_LOG:-info}" \
        "$MODGATE" serve --listen 127.0.0.1:0 --storage "$dir/store" --vcs-dir "$dir/vcs" \
        --sumdb off --upstream direct >"$dir/stdout" 2>>"$log" </dev/null &
    MG_PID=$!
    MG_URL=
    local _
    for _ in $(seq 1000); do
        MG_URL=$(sed -n 's/^modgate listening on //p' "$dir/stdout")
        [ -n "$MG_URL" ] && return 0
        kill -0 "$MG_PID" 2>/dev/null || break
        sleep 0.01
    done
    echo "bench: modgate did not start:" >&2
    tail -n 20 "$log" >&2
    return 1
}

stop_modgate() {
    [ -n "${MG_PID:-}" ] || return 0
    kill "$MG_PID" 2>/dev/null || true
    wait "$MG_PID" 2>/dev/null || true
    MG_PID=
}

# hyperfine runs this script again for each timed command (and its --prepare).
if [ "${1:-}" = __run ]; then
    R=$WORK/runs
    case $2 in
    prepare-direct | prepare-modgate)
        rm -rf "$R/${2#prepare-}"
        mkdir -p "$R/${2#prepare-}"
        cp "$WORK/app/go.sum.orig" "$WORK/app/go.sum"
        cp "$WORK/app/go.mod.orig" "$WORK/app/go.mod"
        sync # no write-back of the previous run during this one
        ;;
    direct)
        cd "$WORK/app"
        goenv "$R/direct/modcache" direct "$GO" mod download all 2>"$R/direct/go.err"
        ;;
    modgate)
        trap stop_modgate EXIT
        start_modgate "$R/modgate" "$WORK/logs/modgate-graph.log"
        cd "$WORK/app"
        rc=0
        goenv "$R/modgate/modcache" "$MG_URL" "$GO" mod download all 2>"$R/modgate/go.err" || rc=$?
        stop_modgate
        exit $rc
        ;;
    prepare-hdirect)
        rm -rf "$R/hdirect"
        mkdir -p "$R/hdirect/nomodule"
        sync
        ;;
    hdirect)
        cd "$R/hdirect/nomodule"
        BENCH_GOFLAGS=-modcacherw goenv "$R/hdirect/modcache" direct "$GO" mod download -json github.com/bench/history@v1.0.0 >"$R/hdirect/download.json"
        ;;
    prepare-hmodgate)
        # A server is started before it is asked: its start-up is not timed.
        [ -s "$R/hmodgate.pid" ] && kill "$(cat "$R/hmodgate.pid")" 2>/dev/null
        rm -rf "$R/hmodgate"
        mkdir -p "$R/hmodgate/nomodule"
        sync
        start_modgate "$R/hmodgate" "$WORK/logs/modgate-history.log"
        echo "$MG_PID" >"$R/hmodgate.pid"
        echo "$MG_URL" >"$R/hmodgate.url"
        ;;
    hmodgate)
        cd "$R/hmodgate/nomodule"
        BENCH_GOFLAGS=-modcacherw goenv "$R/hmodgate/modcache" "$(cat "$R/hmodgate.url")" "$GO" mod download -json github.com/bench/history@v1.0.0 >"$R/hmodgate/download.json"
        ;;
    *) exit 2 ;;
    esac
    exit 0
fi

RUNS=5 WORK= KEEP= ONLY= MODGATE=
while [ $# -gt 0 ]; do
    case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --work) WORK=$2 KEEP=1; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --modgate) MODGATE=$(realpath "$2"); shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
    *) echo "bench: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
case $ONLY in "" | graph | big | history) ;; *) echo "bench: --only graph, big or history" >&2; exit 2 ;; esac

[ -n "$GO" ] || { echo "bench: go is missing (Go 1.23: apt-get install -t bookworm-backports golang-1.23-go, or set GO=)" >&2; exit 1; }
for tool in git hyperfine curl; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install $tool)" >&2; exit 1; }
done
"$GO" version >/dev/null || { echo "bench: $GO does not run" >&2; exit 1; }

SELF=$(realpath "$0")
cd "$(dirname "$SELF")/.."
if [ -z "$MODGATE" ]; then
    command -v cargo >/dev/null || { echo "bench: cargo is missing (or pass --modgate BINARY)" >&2; exit 1; }
    cargo build --release -q -p modgate
    MODGATE=$PWD/target/release/modgate
fi
HELP=$("$MODGATE" serve --help 2>&1 || true)
grep -q -- --vcs-dir <<<"$HELP" || { echo "bench: $MODGATE has no direct mode (serve --vcs-dir)" >&2; exit 1; }

if [ -z "$WORK" ]; then
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/modgate-direct.XXXXXX")
fi
mkdir -p "$WORK"
WORK=$(realpath "$WORK")
MG_PID=
cleanup() {
    stop_modgate
    if [ -z "$KEEP" ]; then
        chmod -R u+w "$WORK" 2>/dev/null || true
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
export WORK GO MODGATE
mkdir -p "$WORK/home" "$WORK/logs"

export GIT_CONFIG_GLOBAL=$WORK/gitconfig GIT_CONFIG_NOSYSTEM=1
if [ ! -f "$WORK/gitconfig" ]; then
    git config --global url."file://$WORK/repos/".insteadOf https://github.com/bench/
    git config --global protocol.file.allow always
    git config --global user.name bench
    git config --global user.email bench@modgate.invalid
    git config --global init.defaultBranch main
    git config --global advice.detachedHead false
fi

# ---------------------------------------------------------------------------
# Generation (once per work directory).

# Go-looking source of about `bytes` bytes, different for every seed.
gen_go() { # file package seed bytes
    mkdir -p "$(dirname "$1")"
    awk -v pkg="$2" -v seed="$3" -v want="$4" '
    function pick(a, n) { return a[1 + int(rand() * n)] }
    function cap(s) { return toupper(substr(s, 1, 1)) substr(s, 2) }
    function out(s) { printf "%s", s; size += length(s) }
    BEGIN {
        srand(seed)
        nn = split("buffer client config context cursor decoder encoder entry frame handler header index item key layer lease limit list manager node option parser peer pool reader record request response result scanner schema segment session shard state store stream table token value window writer", N, " ")
        nv = split("build check close compute decode drain encode fetch flush format grow handle load lookup merge normalize parse read register reset resolve rotate scan seal split store sync trim update validate write", V, " ")
        nt = split("int int64 uint32 string []byte bool time.Duration float64 map[string]int []string", T, " ")
        nw = split("the a an this each every returned given current pending stale cached remote local first last next previous upstream downstream caller value entry is are when if unless after before until so that it its and or not only also must should may never always", W, " ")
        out(sprintf("// Copyright 2024 The Bench Authors. All rights reserved.\n// Use of this source code is governed by a BSD-style license.\n\npackage %s\n\nimport (\n\t\"errors\"\n\t\"fmt\"\n\t\"strings\"\n\t\"time\"\n)\n\nvar _ = time.Second\n\n", pkg))
        ntypes = 0
        while (size < want) {
            if (ntypes == 0 || rand() < 0.2) {
                ty = cap(pick(N, nn)) cap(pick(N, nn)) int(rand() * 100)
                types[++ntypes] = ty
                s = "// " ty " holds the " pick(N, nn) " state of a " pick(N, nn) ".\n// " cap(pick(W, nw))
                for (i = 0; i < 8 + rand() * 10; i++) s = s " " pick(W, nw)
                s = s ".\ntype " ty " struct {\n"
                nf = 3 + int(rand() * 8)
                for (i = 0; i < nf; i++) s = s "\t" pick(N, nn) cap(pick(N, nn)) i "\t" pick(T, nt) "\n"
                out(s "\tmu\tchan struct{}\n}\n\n")
                continue
            }
            ty = types[1 + int(rand() * ntypes)]
            fn = cap(pick(V, nv)) cap(pick(N, nn)) int(rand() * 1000)
            lim = int(rand() * 65536)
            s = "// " fn " " pick(V, nv) "s the " pick(N, nn) " of t.\n// It returns an error when"
            for (i = 0; i < 6 + rand() * 12; i++) s = s " " pick(W, nw)
            s = s ".\nfunc (t *" ty ") " fn "(in []byte, limit int) (int, error) {\n"
            s = s "\tif len(in) > limit || limit > " lim " {\n\t\treturn 0, fmt.Errorf(\"" pkg ": " pick(N, nn) " too large: %d > %d\", len(in), limit)\n\t}\n"
            s = s "\ttotal := " int(rand() * 10000) "\n"
            nb = 1 + int(rand() * 4)
            for (b = 0; b < nb; b++) {
                r = rand()
                if (r < 0.4) {
                    s = s "\tfor i := 0; i < len(in); i++ {\n\t\tif in[i] == " int(rand() * 256) " {\n\t\t\ttotal += i * " int(rand() * 97) "\n\t\t} else {\n\t\t\ttotal ^= int(in[i]) << " int(rand() * 13) "\n\t\t}\n\t}\n"
                } else if (r < 0.7) {
                    s = s "\tswitch total % " 3 + int(rand() * 9) " {\n"
                    nc = 2 + int(rand() * 4)
                    for (c = 0; c < nc; c++) s = s "\tcase " c ":\n\t\ttotal += " int(rand() * 5000) "\n"
                    s = s "\tdefault:\n\t\treturn total, errors.New(\"" pkg ": " pick(W, nw) " " pick(N, nn) " " pick(W, nw) " " pick(V, nv) "\")\n\t}\n"
                } else {
                    s = s "\tif s := strings.TrimSpace(string(in)); strings.HasPrefix(s, \"" pick(N, nn) "\") {\n\t\ttotal += len(s) * " int(rand() * 31) "\n\t}\n"
                }
            }
            out(s "\treturn total, nil\n}\n\n")
        }
    }' >"$1"
}

# A text fixture (testdata/*.golden).
gen_text() { # file seed lines
    mkdir -p "$(dirname "$1")"
    awk -v seed="$2" -v n="$3" 'BEGIN {
        srand(seed)
        for (i = 0; i < n; i++) printf "%06d %s=%d %x %s\n", i, substr("abcdefghijklmnopqrstuvwxyz", 1 + int(rand() * 20), 1 + int(rand() * 6)), int(rand() * 1e6), int(rand() * 2^31), (rand() < 0.5 ? "ok" : "fail")
    }' >"$1"
}

# Commits everything with the same author and committer date (epoch seconds).
commit() { # dir epoch message
    git -C "$1" add -A
    GIT_AUTHOR_DATE="$2 +0000" GIT_COMMITTER_DATE="$2 +0000" git -C "$1" commit -q -m "$3"
}

# Pseudo-version of a commit of a repository without tags.
pseudo() { # dir rev
    local t h
    t=$(TZ=UTC git -C "$1" log -1 --format=%cd --date=format-local:%Y%m%d%H%M%S "$2")
    h=$(git -C "$1" rev-parse "$2")
    echo "v0.0.0-$t-${h:0:12}"
}

# The repositories: name kind [testdata]. Dependencies only point down the list.
#   tag: v1.0.0..v1.3.0;  v2root: then module .../v2 at the root, v2.0.0 v2.1.0;
#   v2sub: .../v2 in v2/, tags v2.0.0 v2.1.0;  multi: a second module in SUB/
#   with tags SUB/v1.0.0..SUB/v1.2.0;  pseudo: no tags, three commits.
REPOS=(
    "api tag" "server tag" "client tag" "cli tag" "config v2root" "storage tag testdata"
    "cache tag" "queue tag" "auth multi:jwt" "metrics tag" "tracing tag" "log v2root"
    "router tag" "middleware tag" "codec tag testdata" "proto multi:gen" "schema tag testdata"
    "validate tag" "sqlx tag" "migrate tag testdata" "retry tag" "ratelimit tag" "pool tag"
    "uuid v2sub" "yaml tag testdata" "toml tag testdata" "jsonx tag testdata" "text tag"
    "color tag" "flags tag" "semver tag" "clock tag" "errorsx tag" "bytesx tag" "hash tag"
    "compress tag testdata" "testkit pseudo" "ansi tag" "fsutil pseudo" "assert tag"
)
NREPOS=${#REPOS[@]}
BASE_DATE=1704067200 # 2024-01-01T00:00:00Z

# The package files of one module version: about `kb` KB over a root package and
# an internal one; a new version rewrites two files and adds one.
write_module_files() { # dir pkg seed kb version-index
    local dir=$1 pkg=$2 seed=$3 kb=$4 k=$5 nfiles i f
    nfiles=$((kb / 30 + 1))
    for i in $(seq 1 "$nfiles"); do
        if [ $((i % 2)) = 0 ]; then f=$dir/internal/core/core$i.go; else f=$dir/${pkg}_$i.go; fi
        local p=$pkg
        if [ $((i % 2)) = 0 ]; then p=core; fi
        if [ "$k" = 0 ] || [ "$i" = "$k" ] || [ "$i" = $((k + 1)) ] || [ ! -f "$f" ]; then
            gen_go "$f" "$p" $((seed * 1000 + i * 10 + k)) $((20000 + (seed * 7919 + i * 104729) % 20000))
        fi
    done
    if [ "$k" -gt 0 ]; then
        gen_go "$dir/${pkg}_v$k.go" "$pkg" $((seed * 1000 + 900 + k)) 15000
    fi
    gen_go "$dir/${pkg}_test.go" "$pkg" $((seed * 1000 + 990 + k)) 12000
}

write_gomod() { # dir module-path requirements...
    local dir=$1 path=$2
    shift 2
    {
        printf 'module %s\n\ngo %s\n' "$path" "${GODIRECTIVE:-1.21}"
        if [ $# -gt 0 ]; then
            printf '\nrequire (\n'
            printf '\t%s\n' "$@"
            printf ')\n'
        fi
    } >"$dir/go.mod"
}

# deps.go importing the packages of the requirements.
write_deps() { # dir pkg import-paths...
    local dir=$1 pkg=$2 n=0 p
    shift 2
    {
        printf 'package %s\n\nimport (\n' "$pkg"
        for p in "$@"; do n=$((n + 1)); printf '\td%d "%s"\n' "$n" "$p"; done
        printf ')\n\nvar deps = []func() string{\n'
        for n in $(seq 1 $#); do printf '\td%d.Name,\n' "$n"; done
        printf '}\n\n'
        if [ "$pkg" = main ]; then
            printf 'func main() {\n\tfor _, f := range deps {\n\t\tprintln(f())\n\t}\n}\n'
        else
            printf '// Name is the name of this package.\nfunc Name() string { return "%s" }\n' "$pkg"
        fi
    } >"$dir/deps.go"
}

# Requirements of repository i at version k: "path version" and import paths.
REQS=() IMPORTS=()
deps_of() { # index k
    local i=$1 k=$2 j spec name kind v
    REQS=() IMPORTS=()
    for j in $((i + 1 + i % 3)) $((i + 3 + i % 5)) $((i + 6 + i % 7)); do
        [ "$j" -lt "$NREPOS" ] || continue
        spec=${REPOS[$j]}
        name=${spec%% *} kind=${spec#* }
        kind=${kind%% *}
        v=v1.$((k > 0 ? k - 1 : 0)).0
        case $kind in
        tag) REQS+=("github.com/bench/$name $v") IMPORTS+=("github.com/bench/$name") ;;
        v2root | v2sub)
            if [ $((i % 2)) = 0 ]; then
                REQS+=("github.com/bench/$name/v2 v2.0.0") IMPORTS+=("github.com/bench/$name/v2")
            else
                REQS+=("github.com/bench/$name $v") IMPORTS+=("github.com/bench/$name")
            fi
            ;;
        multi:*)
            REQS+=("github.com/bench/$name/${kind#multi:} v1.$((k > 2 ? 1 : (k > 0 ? k - 1 : 0))).0")
            IMPORTS+=("github.com/bench/$name/${kind#multi:}")
            ;;
        pseudo)
            REQS+=("github.com/bench/$name $(cat "$WORK/repos/$name.first-pseudo")")
            IMPORTS+=("github.com/bench/$name")
            ;;
        esac
    done
}

gen_repo() { # index
    local i=$1 spec name kind dir k when kb
    spec=${REPOS[$i]}
    name=${spec%% *} kind=${spec#* }
    kind=${kind%% *}
    dir=$WORK/repos/$name
    kb=$((150 + (i * 131) % 350))
    # A third of the modules predate module graph pruning (go < 1.17): the go
    # command then reads the go.mod files of their whole requirement graph.
    local GODIRECTIVE=1.21
    if [ $((i % 3)) = 1 ]; then GODIRECTIVE=1.16; fi
    git init -q "$dir"
    printf 'BSD-3-Clause\n\nCopyright 2024 The Bench Authors.\n' >"$dir/LICENSE"
    printf '# %s\n\nPart of the modgate direct-mode benchmark.\n' "$name" >"$dir/README.md"
    if [ "$kind" = pseudo ]; then
        for k in 0 1 2; do
            write_module_files "$dir" "$name" "$i" "$kb" "$k"
            write_deps "$dir" "$name"
            write_gomod "$dir" "github.com/bench/$name"
            commit "$dir" $((BASE_DATE + i * 3600 + k * 86400 * 30)) "commit $k"
            if [ "$k" = 0 ]; then pseudo "$dir" HEAD >"$WORK/repos/$name.first-pseudo"; fi
        done
        return
    fi
    for k in 0 1 2 3; do
        write_module_files "$dir" "$name" "$i" "$kb" "$k"
        deps_of "$i" "$k"
        write_deps "$dir" "$name" "${IMPORTS[@]}"
        write_gomod "$dir" "github.com/bench/$name" "${REQS[@]}"
        if [[ $spec == *testdata* ]]; then
            gen_text "$dir/testdata/case$k.golden" $((i * 10 + k)) 1500
            head -c $((16384 * (1 + (i + k) % 6))) /dev/urandom >"$dir/testdata/fixture$k.bin"
        fi
        case $kind in
        multi:*)
            local sub=${kind#multi:}
            if [ "$k" -le 2 ]; then
                write_module_files "$dir/$sub" "$sub" $((i + 500)) 120 "$k"
                write_deps "$dir/$sub" "$sub"
                write_gomod "$dir/$sub" "github.com/bench/$name/$sub"
            fi
            ;;
        esac
        when=$((BASE_DATE + i * 3600 + k * 86400 * 30))
        commit "$dir" "$when" "v1.$k.0"
        git -C "$dir" tag "v1.$k.0"
        if [[ $kind == multi:* && $k -le 2 ]]; then git -C "$dir" tag "${kind#multi:}/v1.$k.0"; fi
    done
    case $kind in
    v2root)
        for k in 0 1; do
            write_module_files "$dir" "$name" $((i + 700)) "$kb" $((k + 4))
            write_deps "$dir" "$name"
            write_gomod "$dir" "github.com/bench/$name/v2"
            commit "$dir" $((BASE_DATE + i * 3600 + (k + 4) * 86400 * 30)) "v2.$k.0"
            git -C "$dir" tag "v2.$k.0"
        done
        ;;
    v2sub)
        for k in 0 1; do
            write_module_files "$dir/v2" "$name" $((i + 700)) "$kb" "$k"
            write_deps "$dir/v2" "$name"
            write_gomod "$dir/v2" "github.com/bench/$name/v2"
            commit "$dir" $((BASE_DATE + i * 3600 + (k + 4) * 86400 * 30)) "v2.$k.0"
            git -C "$dir" tag "v2.$k.0"
        done
        ;;
    esac
}

gen_graph() {
    local i spec name kind
    rm -rf "$WORK/repos" "$WORK/app"
    mkdir -p "$WORK/repos" "$WORK/app"
    for ((i = NREPOS - 1; i >= 0; i--)); do gen_repo "$i"; done
    # Packed, as on a git server.
    for spec in "${REPOS[@]}"; do git -C "$WORK/repos/${spec%% *}" repack -adq; done

    # The app imports every module at its latest version; go writes go.mod/go.sum.
    local imports=()
    for spec in "${REPOS[@]}"; do
        name=${spec%% *} kind=${spec#* }
        kind=${kind%% *}
        case $kind in
        v2root | v2sub) imports+=("github.com/bench/$name/v2") ;;
        multi:*) imports+=("github.com/bench/$name" "github.com/bench/$name/${kind#multi:}") ;;
        *) imports+=("github.com/bench/$name") ;;
        esac
    done
    write_deps "$WORK/app" main "${imports[@]}"
    printf 'module example.com/benchapp\n\ngo 1.21\n' >"$WORK/app/go.mod"
    (cd "$WORK/app" && goenv "$WORK/tidy-cache" direct "$GO" mod tidy) >"$WORK/logs/tidy.log" 2>&1 ||
        { echo "bench: go mod tidy in direct mode failed:" >&2; tail -n 30 "$WORK/logs/tidy.log" >&2; exit 1; }
    rm -rf "$WORK/tidy-cache"
    cp "$WORK/app/go.mod" "$WORK/app/go.mod.orig"
    cp "$WORK/app/go.sum" "$WORK/app/go.sum.orig"
}

# One module of 40 x 5 MiB of random bytes (incompressible), tagged v1.0.0.
gen_big() {
    local dir=$WORK/repos/bigdata i
    rm -rf "$dir"
    git init -q "$dir"
    printf 'module github.com/bench/bigdata\n\ngo 1.21\n' >"$dir/go.mod"
    printf 'package bigdata\n\n// Dir is where the data files are.\nconst Dir = "data"\n' >"$dir/bigdata.go"
    printf '*.bin binary -delta\n' >"$dir/.gitattributes"
    mkdir -p "$dir/data"
    for i in $(seq -w 1 40); do head -c $((5 << 20)) /dev/urandom >"$dir/data/blob$i.bin"; done
    git -C "$dir" -c core.compression=1 add -A
    GIT_AUTHOR_DATE="$BASE_DATE +0000" GIT_COMMITTER_DATE="$BASE_DATE +0000" git -C "$dir" commit -q -m v1.0.0
    git -C "$dir" tag v1.0.0
    git -C "$dir" -c pack.compression=1 repack -adq --window=0
}

# 1,000 commits rewriting old/blob.bin (1 MiB of random bytes each: 1 GiB of
# history), v0.9.0 half-way, then a small tip tagged v1.0.0.
gen_history() {
    local dir=$WORK/repos/history
    rm -rf "$dir"
    git init -q "$dir"
    python3 - "$BASE_DATE" <<'PY' | git -C "$dir" -c pack.compression=0 fast-import --quiet
import os, sys
out = sys.stdout.buffer
t = int(sys.argv[1])
def commit(i, files, deletes=()):
    out.write(b"commit refs/heads/main\ncommitter bench <bench@modgate.invalid> %d +0000\ndata 4\nc%03d\n" % (t + i * 60, i % 1000))
    for d in deletes:
        out.write(b"D %s\n" % d)
    for name, data in files:
        out.write(b"M 644 inline %s\ndata %d\n" % (name, len(data)) + data + b"\n")
    out.write(b"\n")
gomod = b"module github.com/bench/history\n\ngo 1.21\n"
for i in range(1000):
    commit(i, [(b"go.mod", gomod), (b"old/blob.bin", os.urandom(1 << 20)), (b"counter.txt", b"%d\n" % i)])
    if i == 500:
        out.write(b"reset refs/tags/v0.9.0\nfrom refs/heads/main\n\n")
commit(1000, [(b"history.go", b"package history\n\n// Version is this module's version.\nconst Version = \"v1.0.0\"\n")], [b"old"])
out.write(b"reset refs/tags/v1.0.0\nfrom refs/heads/main\n\n")
PY
}

GEN_STAMP=graph-4
if [ "$ONLY" != big ] && [ "$ONLY" != history ] && [ "$(cat "$WORK/generated" 2>/dev/null)" != "$GEN_STAMP" ]; then
    echo "bench: generating $NREPOS git repositories and the app in $WORK" >&2
    t0=$(date +%s.%N)
    gen_graph
    echo "$GEN_STAMP" >"$WORK/generated"
    echo "bench: generated in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s ($(du -sh "$WORK/repos" | cut -f1) of repositories)" >&2
fi

# Where a log stays (only with --work), and its warnings and errors on stderr.
lognote() { # log-file
    local n
    n=$(grep -cE ' (WARN|ERROR) ' "$1" || true)
    if [ "$n" -gt 0 ]; then
        echo "bench: modgate logged $n warning/error line(s), the first ones:" >&2
        grep -m 10 -E ' (WARN|ERROR) ' "$1" >&2
    fi
    printf 'modgate logged %d warning/error line(s)%s' "$n" "$([ -n "$KEEP" ] && echo " ($1)")"
}
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
FAIL=0
SUMMARY=()

# ---------------------------------------------------------------------------
# 1. Cold dependency graph: go direct against a cold modgate.
q() { printf '%q' "$1"; }
if [ "$ONLY" != big ] && [ "$ONLY" != history ]; then
    : >"$WORK/logs/modgate-graph.log"
    echo "bench: hyperfine, $RUNS runs each: go mod download all, direct vs a cold modgate" >&2
    hyperfine --runs "$RUNS" --style basic --export-csv "$WORK/logs/graph.csv" \
        --prepare "$(q "$SELF") __run prepare-direct" --command-name "go direct" "$(q "$SELF") __run direct" \
        --prepare "$(q "$SELF") __run prepare-modgate" --command-name "cold modgate" "$(q "$SELF") __run modgate" >&2 ||
        {
            for m in direct modgate; do
                if [ -s "$WORK/runs/$m/go.err" ]; then
                    echo "--- go mod download all ($m) said:" >&2
                    head -n 20 "$WORK/runs/$m/go.err" >&2
                fi
            done
            echo "--- modgate's log (warnings and errors, else its end):" >&2
            grep -m 20 -E ' (WARN|ERROR) ' "$WORK/logs/modgate-graph.log" >&2 || tail -n 5 "$WORK/logs/modgate-graph.log" >&2
            exit 1
        }
    GO_MEAN=$(awk -F, '$1 == "go direct" { print $2 }' "$WORK/logs/graph.csv")
    MG_MEAN=$(awk -F, '$1 == "cold modgate" { print $2 }' "$WORK/logs/graph.csv")

    # What one run downloads, and whether modgate's answers match the go command's.
    D=$WORK/runs/direct/modcache/cache/download
    M=$WORK/runs/modgate/modcache/cache/download
    NMOD=$(find "$D" -type d -name @v | wc -l)
    NVER=$(find "$D" -name '*.mod' | wc -l)
    NZIP=$(find "$D" -name '*.zip' | wc -l)
    list() { (cd "$1" && find . -name '*.mod' -o -name '*.zip' -o -name '*.ziphash' -o -name '*.info' | sort); }
    ONLY_ONE=$(diff <(list "$D") <(list "$M") | grep '^[<>]' || true)
    if [ -n "$ONLY_ONE" ]; then
        echo "bench: files in one module cache only (< direct mode, > modgate):" >&2
        head -n 10 <<<"$ONLY_ONE" >&2
    fi
    DIFFS=$(grep -c . <<<"$ONLY_ONE" || true)
    for f in $(cd "$D" && find . -name '*.mod' -o -name '*.ziphash' | sort); do
        if [ -f "$M/$f" ] && ! cmp -s "$D/$f" "$M/$f"; then
            DIFFS=$((DIFFS + 1))
            echo "bench: differs from direct mode: $f" >&2
        fi
    done
    info() { sed -E 's/.*"Version":"([^"]*)".*"Time":"([^"]*)".*/\1 \2/' "$1"; }
    for f in $(cd "$D" && find . -name '*.info' | sort); do
        if [ -f "$M/$f" ] && [ "$(info "$D/$f")" != "$(info "$M/$f")" ]; then
            DIFFS=$((DIFFS + 1))
            echo "bench: .info differs: $f: direct $(info "$D/$f"), modgate $(info "$M/$f")" >&2
        fi
    done
    LOGNOTE=$(lognote "$WORK/logs/modgate-graph.log")
    RATIO=$(awk -v a="$MG_MEAN" -v b="$GO_MEAN" 'BEGIN { printf "%.2f", a / b }')
    GOOD=$(awk -v r="$RATIO" 'BEGIN { print (r <= 1.0 ? "ok" : "MISSED") }')
    [ "$GOOD" = ok ] || FAIL=1
    SUMMARY+=("$(printf 'cold dependency graph (%d modules, %d versions, %d zips): go direct %.2f s, modgate %.2f s, ratio %s (target <= 1.0, aim 0.5) %s' \
        "$NMOD" "$NVER" "$NZIP" "$GO_MEAN" "$MG_MEAN" "$RATIO" "$GOOD")")
    SUMMARY+=("  module caches: $DIFFS file(s) differ from direct mode's; $LOGNOTE")
fi

# ---------------------------------------------------------------------------
# 2. A 200 MB module: cold build from git, warm serve, modgate's peak RSS.
if [ "$ONLY" != graph ] && [ "$ONLY" != history ]; then
    if [ "$(cat "$WORK/generated-big" 2>/dev/null)" != big-1 ]; then
        echo "bench: generating the 200 MB repository" >&2
        gen_big
        echo big-1 >"$WORK/generated-big"
    fi
    B=$WORK/runs/big
    rm -rf "$B"
    mkdir -p "$B/nomodule"
    # The go command's own direct mode, once per work directory: the reference
    # h1: hash (and time, for context).
    if [ ! -s "$WORK/bigdata.ref" ]; then
        echo "bench: go mod download github.com/bench/bigdata@v1.0.0 in direct mode (reference hash)" >&2
        t0=$(date +%s.%N)
        (cd "$B/nomodule" && BENCH_GOFLAGS=-modcacherw goenv "$B/direct" direct "$GO" mod download -json github.com/bench/bigdata@v1.0.0) \
            >"$B/direct.json" 2>&1 || { echo "bench: go direct failed on the 200 MB module:" >&2; cat "$B/direct.json" >&2; exit 1; }
        t1=$(date +%s.%N)
        echo "$(sed -n 's/.*"Sum": "\(.*\)".*/\1/p' "$B/direct.json") $(secs "$t0" "$t1")" >"$WORK/bigdata.ref"
        rm -rf "$B/direct"
    fi
    read -r REF_SUM REF_SECS <"$WORK/bigdata.ref"
    : >"$WORK/logs/modgate-big.log"
    sync
    start_modgate "$B/modgate" "$WORK/logs/modgate-big.log"
    echo "bench: go mod download github.com/bench/bigdata@v1.0.0 through a cold modgate" >&2
    t0=$(date +%s.%N)
    (cd "$B/nomodule" && BENCH_GOFLAGS=-modcacherw goenv "$B/modcache" "$MG_URL" "$GO" mod download -json github.com/bench/bigdata@v1.0.0) \
        >"$B/download.json" 2>"$B/go.err" ||
        { echo "bench: go mod download failed:" >&2; cat "$B/download.json" "$B/go.err" >&2; tail -n 30 "$WORK/logs/modgate-big.log" >&2; exit 1; }
    t1=$(date +%s.%N)
    COLD=$(secs "$t0" "$t1")
    kill -0 "$MG_PID" 2>/dev/null || { echo "bench: modgate exited:" >&2; tail -n 20 "$WORK/logs/modgate-big.log" >&2; exit 1; }
    HWM_COLD=$(awk '/VmHWM/ { print $2 }' "/proc/$MG_PID/status")
    ZIP=$B/modcache/cache/download/github.com/bench/bigdata/@v/v1.0.0.zip
    ZIP_BYTES=$(stat -c %s "$ZIP")
    SUM=$(sed -n 's/.*"Sum": "\(.*\)".*/\1/p' "$B/download.json")
    if [ "$SUM" = "$REF_SUM" ]; then
        SUM="$SUM as in direct mode"
    else
        SUM="hash $SUM DIFFERS from direct mode's $REF_SUM"
        FAIL=1
    fi
    t0=$(date +%s.%N)
    WARM_SHA=$(curl -sSf "$MG_URL/github.com/bench/bigdata/@v/v1.0.0.zip" | sha256sum | cut -d' ' -f1) ||
        { echo "bench: fetching the zip again from modgate failed" >&2; exit 1; }
    t1=$(date +%s.%N)
    WARM=$(secs "$t0" "$t1")
    # Peak RSS of modgate itself (not of the git processes it runs).
    HWM=$(awk '/VmHWM/ { print $2 }' "/proc/$MG_PID/status")
    stop_modgate
    SAME="same bytes as"
    if [ "$WARM_SHA" != "$(sha256sum <"$ZIP" | cut -d' ' -f1)" ]; then SAME="DIFFERENT bytes from" FAIL=1; fi
    LOGNOTE=$(lognote "$WORK/logs/modgate-big.log")
    GOOD=$(awk -v k="$HWM" 'BEGIN { print (k / 1024 < 100 ? "ok" : "MISSED") }')
    [ "$GOOD" = ok ] || FAIL=1
    SUMMARY+=("$(awk -v t="$COLD" -v z="$ZIP_BYTES" -v k="$HWM" -v g="$GOOD" 'BEGIN {
        printf "200 MB module: cold build %.2f s, zip %.1f MB, modgate peak RSS %.1f MB (target < 100 MB) %s", t, z / 1e6, k / 1024, g }')")
    SUMMARY+=("$(awk -v w="$WARM" -v k="$HWM_COLD" -v same="$SAME" -v r="$REF_SECS" 'BEGIN {
        printf "  peak RSS after the cold build %.1f MB; warm zip with curl %.2f s, %s the cold one; go direct took %.2f s", k / 1024, w, same, r }')")
    SUMMARY+=("  $SUM; $LOGNOTE")
fi

# ---------------------------------------------------------------------------
# 3. One version of a repository with 1 GiB of history.
if [ "$ONLY" != graph ] && [ "$ONLY" != big ]; then
    if [ "$(cat "$WORK/generated-history" 2>/dev/null)" != history-1 ]; then
        echo "bench: generating the repository with 1 GiB of history" >&2
        t0=$(date +%s.%N)
        gen_history
        echo history-1 >"$WORK/generated-history"
        echo "bench: generated in $(secs "$t0" "$(date +%s.%N)") s" >&2
    fi
    HISTORY=$(du -sb "$WORK/repos/history/.git" | cut -f1)
    : >"$WORK/logs/modgate-history.log"
    echo "bench: hyperfine, $RUNS runs each: go mod download of one version, direct vs a cold modgate" >&2
    hyperfine --runs "$RUNS" --style basic --export-csv "$WORK/logs/history.csv" \
        --prepare "$(q "$SELF") __run prepare-hdirect" --command-name "go direct" "$(q "$SELF") __run hdirect" \
        --prepare "$(q "$SELF") __run prepare-hmodgate" --command-name "cold modgate" "$(q "$SELF") __run hmodgate" >&2 ||
        { tail -n 20 "$WORK/logs/modgate-history.log" >&2; exit 1; }
    kill "$(cat "$WORK/runs/hmodgate.pid")" 2>/dev/null || true
    GO_MEAN=$(awk -F, '$1 == "go direct" { print $2 }' "$WORK/logs/history.csv")
    MG_MEAN=$(awk -F, '$1 == "cold modgate" { print $2 }' "$WORK/logs/history.csv")
    H=$WORK/runs
    sum() { sed -n 's/.*"Sum": "\(.*\)".*/\1/p' "$1"; }
    SAME="the same hash as direct mode"
    if [ "$(sum "$H/hdirect/download.json")" != "$(sum "$H/hmodgate/download.json")" ] || [ -z "$(sum "$H/hmodgate/download.json")" ]; then
        SAME="a hash DIFFERENT from direct mode's" FAIL=1
    fi
    MIRROR=$(du -sb "$H/hmodgate/vcs" | cut -f1)
    GOMIRROR=$(du -sb "$H/hdirect/modcache/cache/vcs" | cut -f1)
    RATIO=$(awk -v a="$MG_MEAN" -v b="$GO_MEAN" 'BEGIN { printf "%.2f", a / b }')
    GOOD=$(awk -v r="$RATIO" -v m="$MIRROR" -v h="$HISTORY" 'BEGIN { print (r <= 0.5 && m * 20 < h ? "ok" : "MISSED") }')
    [ "$GOOD" = ok ] || FAIL=1
    SUMMARY+=("$(printf 'one version of a 1 GiB history: go direct %.2f s, modgate %.2f s, ratio %s (target <= 0.5) %s' "$GO_MEAN" "$MG_MEAN" "$RATIO" "$GOOD")")
    SUMMARY+=("$(awk -v m="$MIRROR" -v g="$GOMIRROR" -v h="$HISTORY" 'BEGIN { printf "  history %.0f MB; modgate'"'"'s mirror %.1f MB, the go command'"'"'s %.1f MB", h / 1e6, m / 1e6, g / 1e6 }'); $SAME; $(lognote "$WORK/logs/modgate-history.log")")
fi

echo
printf '%s\n' "${SUMMARY[@]}"
exit $FAIL
