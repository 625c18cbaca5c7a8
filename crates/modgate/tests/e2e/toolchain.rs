//! Go toolchains as modules: `GOTOOLCHAIN=go1.99.0` makes the go command
//! download `golang.org/toolchain@v0.0.1-go1.99.0.GOOS-GOARCH` through
//! GOPROXY, checked against the checksum database, and run its `bin/go`.
//! A synthetic toolchain (a zip whose `bin/go` is a script) goes through
//! modgate online, and through a bundle into an offline site.

use std::path::Path;

use crate::support::checksum_db::{ChecksumDb, Options, prebuild, sumdb_go};
use crate::support::fresh_dir;
use crate::support::go::Go;
use crate::support::mirror::{self, Mirror};
use crate::support::modgate::{self, Modgate};

const RELEASE: &str = "go1.99.0";
const MODULE: &str = "golang.org/toolchain";

/// `GOOS/GOARCH` of the go command under test: the platform it switches for.
fn platform() -> String {
    let out = Go::new("off").run(&fresh_dir("goenv"), &["env", "GOOS", "GOARCH"]);
    let mut lines = out.lines();
    format!("{}/{}", lines.next().unwrap(), lines.next().unwrap())
}

/// Writes the toolchain module of [`RELEASE`] for `platform` into the
/// GOPROXY tree at `root`; returns its go.sum lines.
fn synthetic_toolchain(root: &Path, platform: &str) -> String {
    let version = format!("v0.0.1-{RELEASE}.{}", platform.replace('/', "-"));
    let gomod = format!("module {MODULE}\n");
    // What the go command touches after the download: bin/go (run),
    // bin/gofmt and pkg/tool (made executable).
    let script = format!("#!/bin/sh\necho \"go version {RELEASE} {platform} (synthetic)\"\n");
    let tool = format!("pkg/tool/{}/vet", platform.replace('/', "_"));
    let zip_path = mirror::write_version(
        root,
        MODULE,
        &version,
        &gomod,
        &[
            ("bin/go", script.as_bytes()),
            ("bin/gofmt", b"#!/bin/sh\n"),
            (&tool, b"#!/bin/sh\n"),
            ("VERSION", RELEASE.as_bytes()),
        ],
        zip::CompressionMethod::Deflated,
    );
    format!(
        "{MODULE} {version} {}\n{MODULE} {version}/go.mod {}\n",
        modgate_zip::hash_zip_file(&zip_path).unwrap(),
        modgate_zip::dirhash::hash_go_mod(gomod.as_bytes())
    )
}

/// `go version` with GOTOOLCHAIN asking for [`RELEASE`], through `proxy`,
/// checked against the database `key`: what the switched-to go printed.
fn switched_go_version(proxy: &str, key: &str) -> String {
    let go = sumdb_go(proxy, key).env("GOTOOLCHAIN", RELEASE);
    let out = go.try_run(&fresh_dir("nomodule"), &["version"]);
    assert!(
        out.status.success(),
        "GOTOOLCHAIN={RELEASE} go version through {proxy}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn succeeded(out: std::process::Output, what: &str) {
    assert!(out.status.success(), "{what}:\n{}", modgate::text(&out));
}

/// The go command switches toolchains through modgate with the checksum
/// database on; `bundle create --toolchain` carries that toolchain to an
/// offline site, where the switch works with every upstream gone.
#[test]
fn gotoolchain_switches_through_modgate_online_and_from_a_bundle() {
    prebuild();
    let platform = platform();
    let tree = fresh_dir("toolchain-tree");
    let gosum = synthetic_toolchain(&tree, &platform);
    let mut db = ChecksumDb::start(&gosum, Options::default());
    let mut mirror = Mirror::serving(tree);
    let online = Modgate::start_args_raw(&[
        "--storage",
        fresh_dir("toolchain-online").to_str().unwrap(),
        "--upstream",
        &mirror.url,
        "--sumdb",
        &db.gosumdb(),
    ]);
    let want = format!("go version {RELEASE} {platform} (synthetic)");
    assert_eq!(switched_go_version(&online.url, &db.key), want);

    let bundle = fresh_dir("toolchain-bundle").join("toolchain.bundle");
    let bundle_create = |platforms: &str| {
        modgate::run(
            &[
                "bundle",
                "create",
                "--toolchain",
                RELEASE,
                "--platform",
                platforms,
                "--proxy",
                &online.url,
                "--sumdb",
                &db.gosumdb(),
                "-o",
                bundle.to_str().unwrap(),
            ],
            &[],
        )
    };
    let refused = bundle_create(&format!("{platform},plan9/386"));
    let said = String::from_utf8_lossy(&refused.stderr).into_owned();
    assert!(
        !refused.status.success() && said.contains(&format!("{MODULE}@v0.0.1-{RELEASE}.plan9-386")),
        "a toolchain nobody serves must fail the bundle, named:\n{said}"
    );
    assert!(!bundle.exists(), "no bundle is written when one is missing");
    succeeded(bundle_create(&platform), "bundle create --toolchain");
    let storage = fresh_dir("toolchain-offline");
    succeeded(
        modgate::run(
            &[
                "bundle",
                "import",
                bundle.to_str().unwrap(),
                "--storage",
                storage.to_str().unwrap(),
                "--allow-unsigned",
            ],
            &[],
        ),
        "bundle import",
    );

    let (key, gosumdb) = (db.key.clone(), db.gosumdb());
    drop(online);
    mirror.stop();
    db.stop();
    let offline = Modgate::start_args_raw(&[
        "--storage",
        storage.to_str().unwrap(),
        "--upstream",
        "off",
        "--sumdb",
        &gosumdb,
    ]);
    assert_eq!(switched_go_version(&offline.url, &key), want);
}

/// Peak resident memory of process `pid` (`VmHWM`), in bytes.
fn peak_rss(pid: u32) -> u64 {
    let status = fs_err::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status");
    kib << 10
}

/// Toolchain zips are 60–80 MB: twenty clients asking for one at once make
/// one upstream fetch, and modgate never holds the zip in memory (its peak
/// memory grows by far less than the zip's size).
#[test]
fn twenty_concurrent_fetches_of_a_large_toolchain_zip_make_one_upstream_fetch() {
    const MIB: usize = 60;
    let version = format!("v0.0.1-{RELEASE}.linux-amd64");
    let tree = fresh_dir("big-toolchain");
    let zip = crate::support::mirror::big_module(&tree, MODULE, &version, MIB);
    let mirror = Mirror::serving(tree);
    let modgate = Modgate::start(&fresh_dir("storage"), &mirror.url);
    let path = format!("/{MODULE}/@v/{version}.zip");
    // Warm up the server (allocator, runtime) on something small first.
    let info = crate::support::http::get(&modgate.addr, &format!("/{MODULE}/@v/{version}.info"));
    assert_eq!(info.status, 200, "{}", info.text());
    let before = peak_rss(modgate.pid());
    let hits = mirror.hits();
    std::thread::scope(|s| {
        let clients: Vec<_> = (0..20)
            .map(|_| s.spawn(|| crate::support::http::get(&modgate.addr, &path)))
            .collect();
        for c in clients {
            let resp = c.join().unwrap();
            assert_eq!(resp.status, 200, "{}", resp.text());
            assert_eq!(resp.body.len(), zip.len());
            assert!(resp.body == zip, "zip bytes differ");
        }
    });
    assert_eq!(
        mirror.hits() - hits,
        1,
        "one upstream fetch for twenty clients"
    );
    let grew = peak_rss(modgate.pid()).saturating_sub(before);
    eprintln!(
        "peak RSS {} MiB before, grew by {} MiB serving a {MIB} MiB zip to 20 clients",
        before >> 20,
        grew >> 20
    );
    assert!(
        grew < (MIB as u64) << 20,
        "peak memory grew by {} MiB serving a {MIB} MiB zip twenty times",
        grew >> 20
    );
}
