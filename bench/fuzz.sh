#!/usr/bin/env bash
# Fuzzes every parser of untrusted bytes (issue 22): each cargo-fuzz target
# in fuzz/ runs alone for SECONDS (one libFuzzer process, one core), from a
# corpus seeded with the test vectors below, and the script reports per
# target the executions, the CPU time and the findings (crash, timeout and
# out-of-memory inputs in fuzz/artifacts/<target>/).
#
# Needs: cargo-fuzz (cargo install cargo-fuzz), python3, zstd. Only stable
# Rust is needed: RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its nightly flags.
# Usage: bench/fuzz.sh [SECONDS per target, default 60] [TARGET...]
# The corpora stay in fuzz/corpus/ (not committed) and grow across runs.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
SECONDS_EACH=${1:-60}
shift || true

for tool in cargo-fuzz python3 zstd; do
    command -v "$tool" >/dev/null || { echo "fuzz: $tool is missing (cargo install cargo-fuzz; apt-get install zstd)" >&2; exit 1; }
done

# No sanitizer: the code is safe Rust, and the findings wanted are panics,
# overflows (debug assertions are on), hangs and runaway memory.
export CARGO_TARGET_DIR=$PWD/target
RUSTC_BOOTSTRAP=1 cargo fuzz build -s none >&2
BIN=$CARGO_TARGET_DIR/$(rustc -vV | sed -n 's/^host: //p')/release

TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || mapfile -t TARGETS < <(cargo fuzz list)

# Seeds: the vectors of the unit tests, written afresh each run.
python3 - <<'PY'
import io, json, os, subprocess, tarfile, zipfile, base64

def seed(target, name, data):
    d = os.path.join("corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)

for i, p in enumerate(["golang.org/x/text", "github.com/Azure/azure-sdk-for-go/sdk/azcore",
                       "gopkg.in/yaml.v3\0v3.0.1", "example.com/m/v2\0v2.0.0",
                       "github.com/!azure/go\0v1.0.0-!r!c1", "example.com/m\0v2.0.0+incompatible",
                       "gopkg.in/check.v1-unstable", "example.com/a/../b", "example.com/~x/y_z.w"]):
    seed("module_path", str(i), p)
for i, v in enumerate(["v1.2.3", "v1.2.3-pre.1+build.5", "v1.2", "v0.0.0-20191109021931-daa7c04131f5",
                       "v1.2.4-0.20191109021931-daa7c04131f5\0v1.2.3",
                       "v2.0.0-pre.0.20191109021931-daa7c04131f5+incompatible",
                       "v2.0.0+incompatible\0v2.0.1", "v01.2.3"]):
    seed("version", str(i), v)

GO_MOD = """// Deprecated: use example.com/m/v2.
module example.com/m

go 1.21.3

toolchain go1.22.0

require (
\tgolang.org/x/text v0.3.0 // indirect
\t"example.com/quoted" v1.0.0
)

replace example.com/old v1.0.0 => ../old

replace (
\texample.com/x => example.com/y v1.2.3
)

exclude example.com/bad v0.1.0

// Broken release.
retract [v1.0.0, v1.0.5]
retract v0.9.0 // Published by mistake.
"""
seed("modfile", "go.mod", GO_MOD)
seed("modfile", "legacy", "module \"example.com/legacy\"\n")
seed("modfile", "go.sum",
     "golang.org/x/text v0.3.0 h1:g61tztE5qeGQ89tm6NTjjM9VPIm088od1l6aSorWRWg=\n"
     "golang.org/x/text v0.3.0/go.mod h1:NqM8EUOU14njkJ3fqMW+pc6Ldnwhi/IjpwHt7yyuwOQ=\n")
seed("modfile", "list", "# wanted\nrsc.io/quote@v1.5.2\ngolang.org/x/text@latest\n")

def module_zip(files, prefix="example.com/m@v1.0.0/", method=zipfile.ZIP_DEFLATED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in files:
            z.writestr(prefix + name if not name.startswith("/") else name[1:], data)
    return buf.getvalue()
seed("zip_check", "valid", module_zip([("go.mod", "module example.com/m\n"), ("LICENSE", "MIT\n"),
                                       ("m.go", "package m\n"), ("sub/s.go", "package sub\n")]))
seed("zip_check", "stored", module_zip([("go.mod", "module example.com/m\n")], method=zipfile.ZIP_STORED))
seed("zip_check", "dirs", module_zip([("a/", ""), ("a/b.go", "package a\n")]))
seed("zip_check", "collision", module_zip([("A.go", "x"), ("a.go", "y")]))
seed("zip_check", "vendor", module_zip([("vendor/modules.txt", ""), ("sub/go.mod", "module x\n")]))
seed("zip_check", "outside", module_zip([("/example.com/m@v1.0.1/x.go", "x"), ("/../x", "y")]))

SIGNED_TREE = ("go.sum database tree\n3\nzFPc8TLjDWsJQOeLzQprJq8W0+4PLuj/nlw2+xRheQE=\n\n"
               "\u2014 localhost.localdev/sumdb AAAMZwW98NWnSqLYOUDnQ5pw9ye1n+38x4Sn3UM/Pybx8TFrpC3TrclNEzpnAdo/yQ2x+YPWwTH5oDp+JnJiPX4z8Qo=\n")
RECORD = ("rsc.io/quote v1.5.2 h1:w5fcysjrx7yqtD/aO+QwRjYZOKnaM9Uh2b40tElTs3Y=\n"
          "rsc.io/quote v1.5.2/go.mod h1:LzX7hefJvL54yjefDEDHNONDjII0t9xZLPXsUe+TKr0=\n")
VKEY = "localhost.localdev/sumdb+00000c67+AcTrnkbUA+TU4heY3hkjiSES/DSQniBqIeQ/YppAUtK6"
seed("sumdb_note", "tree", SIGNED_TREE)
seed("sumdb_note", "two-sigs", SIGNED_TREE + "\u2014 other.example AAAAAQ" + "A" * 86 + "\n")
seed("sumdb_note", "vkey", VKEY)
seed("sumdb_note", "skey", "PRIVATE+KEY+localhost.localdev/sumdb+00000c67+AXu6+oaVaOYuQOFrf1V59JK1owcFlJcHwwXHDfDGxSPk")
seed("sumdb_tlog", "lookup", "1\n" + RECORD + "\n" + SIGNED_TREE)
seed("sumdb_tlog", "tree", "go.sum database tree\n3935567\nSapHtgdNCeF00Cx8kqztePV24kgzNg++Xovae42HAMw=\n")
seed("sumdb_tlog", "record", RECORD)
for i, p in enumerate(["tile/8/0/000", "tile/8/0/x001/234.p/5", "tile/8/data/000.p/3", "tile/2/1/007",
                       "tile/8/3/x123/x456/789", "lookup/rsc.io/quote@v1.5.2",
                       "lookup/github.com/!azure/go@v1.0.0", "supported", "latest"]):
    seed("sumdb_tlog", "path%d" % i, p)
for i, b in enumerate([b"\x07\x00\xff\x01\x00\x05", b"\x03\x01\x2c\x03\x00\x01\x00\x40\x01\x2b\x00\x10\x01\x03\x07",
                       b"\x01\x00\x45\x00\x00\x00\x00\x01\x00\x05\x02\x00\xff"]):
    seed("sumdb_tiles", str(i), b)

DB = "localhost.localdev/sumdb"
manifest = {
    "format": "modgate-bundle/1",
    "created": "2026-12-07T00:00:00Z",
    "sumdb": {"name": DB, "key": VKEY,
              "tree": {"size": 3, "hash": "zFPc8TLjDWsJQOeLzQprJq8W0+4PLuj/nlw2+xRheQE="},
              "note": SIGNED_TREE},
    "modules": [{"module": "rsc.io/quote", "version": "v1.5.2", "record": 1,
                 "go_mod": {"h1": "h1:LzX7hefJvL54yjefDEDHNONDjII0t9xZLPXsUe+TKr0=", "size": 30},
                 "zip": {"h1": "h1:w5fcysjrx7yqtD/aO+QwRjYZOKnaM9Uh2b40tElTs3Y=", "size": 100}}],
    "files": [{"path": p, "size": s, "sha256": "0" * 64} for p, s in [
        ("sumdb/%s/tile/8/0/000.p/3" % DB, 96), ("sumdb/%s/lookup/rsc.io/quote@v1.5.2" % DB, 300),
        ("rsc.io/quote/@v/v1.5.2.info", 50), ("rsc.io/quote/@v/v1.5.2.mod", 30),
        ("rsc.io/quote/@v/v1.5.2.zip", 100), ("vulndb/blob/" + "0" * 64, 10),
        ("vulndb/snapshot/1", 10)]],
}
manifest_json = json.dumps(manifest).encode()
seed("bundle_manifest", "valid", manifest_json)
seed("bundle_manifest", "since", json.dumps(dict(manifest, since={"size": 1, "hash": "x"})))
seed("bundle_tar", "bare", manifest_json)
for name, entries in [("bundle", [("manifest.json", manifest_json), ("manifest.sig", SIGNED_TREE.encode()),
                                  ("rsc.io/quote/@v/v1.5.2.mod", b"module rsc.io/quote\n")]),
                      ("other-first", [("x.json", b"{}")])]:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        for path, data in entries:
            info = tarfile.TarInfo(path)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    seed("bundle_tar", name, subprocess.run(["zstd", "-q", "-c"], input=buf.getvalue(),
                                            stdout=subprocess.PIPE, check=True).stdout)

b64 = lambda s: base64.b64encode(s.encode()).decode()
for i, h in enumerate(["Basic " + b64("alice:s3cret pass"), "Basic " + b64("bob:mgt_1a2b3c4d_c2VjcmV0"),
                       "Bearer mgt_1a2b3c4d_c2VjcmV0", "bearer   mgt_1a2b3c4d_", "Basic YWxpY2U",
                       "Digest x=y", "Basic " + b64("mgt_1a2b3c4d_c2VjcmV0:x")]):
    seed("auth_header", str(i), h)
seed("auth_file", "full", """[defaults]
public = "anonymous"

[[users]]
name = "alice"
password = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Y2h1bmt5IGJhY29uIGNodW5reSBiYWNvbiBjaHVua3kgYg"
groups = ["dev"]
admin = false

[[users]]
name = "bob"

[[tokens]]
id = "1a2b3c4d"
user = "bob"
hash = "sha256:0000000000000000000000000000000000000000000000000000000000000000"
created = "2026-12-02T01:00:00Z"
expires = "2027-01-01T00:00:00Z"

[[access]]
patterns = ["git.corp.example/*", "example.com/private"]
users = ["alice", "anonymous"]
groups = ["dev", "authenticated"]
allow = ["read", "publish"]
""")
for i, p in enumerate(["/golang.org/x/text/@v/list", "/golang.org/x/text/@latest",
                       "/github.com/!azure/go/@v/v1.0.0.zip", "/example.com/m/@v/v1.0.0.mod",
                       "/example.com/m/@v/master.info", "/example.com/m/v2/@v/v2.0.0.info",
                       "/example.com/m/@v/v2.0.0%2Bincompatible.zip", "/example.com/%2e%2e/@v/list",
                       "/gopkg.in/yaml.v3/@v/v3.0.1.mod"]):
    seed("goproxy_request", str(i), p)
seed("info_json", "0", '{"Version":"v1.0.0","Time":"2019-11-09T02:19:31Z"}')
seed("info_json", "1", '{"Version":"v2.0.0+incompatible","Time":"2019-11-09T02:19:31.123+01:00","Origin":{"VCS":"git"}}')
seed("osv_json", "0", json.dumps({
    "id": "GO-2021-0113", "modified": "2023-06-12T18:45:41Z", "aliases": ["CVE-2021-38561"],
    "summary": "Out-of-bounds read in golang.org/x/text/language",
    "affected": [{"package": {"name": "golang.org/x/text", "ecosystem": "Go"},
                  "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "0.3.7"},
                                                          {"introduced": "0.4.0"}, {"fixed": "0.4.1"}]}]}]}))
seed("osv_json", "1", "index/db.json")
PY

printf '%-16s %12s %10s %9s  %s\n' target executions cpu_s exec/s findings
for t in "${TARGETS[@]}"; do
    mkdir -p "artifacts/$t"
    before=$(ls "artifacts/$t" | wc -l)
    log=$(mktemp)
    # Per input: a hang over 10 s or 2 GiB of memory is a finding too.
    /usr/bin/time -f '%U %S' -o "$log.time" "$BIN/$t" "corpus/$t" \
        -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="artifacts/$t/" >"$log" 2>&1 || true
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    # time(1) puts "Command exited with non-zero status" first after a finding.
    cpu=$(tail -n 1 "$log.time" | awk '{printf "%.0f", $1 + $2}')
    found=$(( $(ls "artifacts/$t" | wc -l) - before ))
    rate=$(( ${execs:-0} / (cpu > 0 ? cpu : 1) ))
    printf '%-16s %12s %10s %9s  %s\n' "$t" "${execs:-?}" "$cpu" "$rate" \
        "$found$( [ "$found" -gt 0 ] && echo " (fuzz/artifacts/$t/; first: $(grep -m1 -E 'panicked|ERROR' "$log"))")"
    rm -f "$log" "$log.time"
done
