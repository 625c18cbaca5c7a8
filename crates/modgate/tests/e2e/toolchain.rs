//! Go toolchains as modules: `GOTOOLCHAIN=go1.99.0` makes the go command
//! download `golang.org/toolchain@v0.0.1-go1.99.0.GOOS-GOARCH` through
//! GOPROXY, checked against the checksum database, and run its `bin/go`.
//! A synthetic toolchain (a zip whose `bin/go` is a script) goes through
//! modgate online, and through a bundle into an offline site.

use std::io::Write as _;
use std::path::Path;

use crate::support::checksum_db::{ChecksumDb, Options, prebuild, sumdb_go};
use crate::support::fresh_dir;
use crate::support::go::Go;
use crate::support::mirror::Mirror;
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
    let dir = root.join(MODULE).join("@v");
    fs_err::create_dir_all(&dir).unwrap();
    let gomod = format!("module {MODULE}\n");
    fs_err::write(dir.join(format!("{version}.mod")), &gomod).unwrap();
    fs_err::write(
        dir.join(format!("{version}.info")),
        format!(r#"{{"Version":"{version}","Time":"2030-01-01T00:00:00Z"}}"#),
    )
    .unwrap();
    fs_err::write(dir.join("list"), format!("{version}\n")).unwrap();
    // What the go command touches after the download: bin/go (run),
    // bin/gofmt and pkg/tool (made executable).
    let script = format!("#!/bin/sh\necho \"go version {RELEASE} {platform} (synthetic)\"\n");
    let tool = format!("pkg/tool/{}/vet", platform.replace('/', "_"));
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    for (name, body) in [
        ("bin/go", script.as_str()),
        ("bin/gofmt", "#!/bin/sh\n"),
        (tool.as_str(), "#!/bin/sh\n"),
        ("VERSION", RELEASE),
    ] {
        zip.start_file(format!("{MODULE}@{version}/{name}"), options)
            .unwrap();
        zip.write_all(body.as_bytes()).unwrap();
    }
    let zip_path = dir.join(format!("{version}.zip"));
    fs_err::write(&zip_path, zip.finish().unwrap().into_inner()).unwrap();
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
