//! Bundles for air-gapped sites: made from a project's go.sum through an
//! online modgate, imported into a fresh store, and served with every
//! upstream and the checksum database gone, while the go command keeps
//! GOSUMDB on. Tampered bundles are refused whole.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support::checksum_db::{ChecksumDb, NAME, Options, prebuild, sumdb_go, tree_of};
use crate::support::fixture::{ALPHA, BETA, Fixture, GAMMA_V2, build_and_run, write_app};
use crate::support::mirror::Mirror;
use crate::support::modgate::{self, Modgate, text};
use crate::support::terminal::Terminal;
use crate::support::{files_under, fresh_dir};

const PRINTED: &str = "beta v0.2.0 with alpha v1.1.0 | Upper v1.0.0 | gamma v2.0.0 | legacy v2";

fn modgate(args: &[&str]) -> Output {
    modgate::run(args, &[])
}

fn ok(out: Output, what: &str) -> String {
    assert!(out.status.success(), "{what} failed:\n{}", text(&out));
    text(&out)
}

/// The checksum database, a mirror of the fixture and a modgate verifying
/// against the database: the online side.
struct Online {
    db: ChecksumDb,
    mirror: Mirror,
    modgate: Modgate,
    storage: PathBuf,
}

impl Online {
    fn start() -> Self {
        prebuild();
        let fx = Fixture::get();
        // Versions are appended as they are first looked up, so lookups
        // carry trees of different sizes; the padding makes tiles of two levels.
        let db = ChecksumDb::for_fixture(Options {
            pad: 1000,
            ..Default::default()
        });
        let mirror = Mirror::serving(fx.tree.clone());
        let storage = fresh_dir("online-storage");
        let modgate = Modgate::start_args_raw(&[
            "--storage",
            storage.to_str().unwrap(),
            "--upstream",
            &mirror.url,
            "--sumdb",
            &db.gosumdb(),
        ]);
        Self {
            db,
            mirror,
            modgate,
            storage,
        }
    }

    /// A project tidied through the online modgate: go.mod, go.sum, main.go.
    fn project(&self) -> PathBuf {
        let app = fresh_dir("app");
        write_app(&app);
        sumdb_go(&self.modgate.url, &self.db.key).run(&app, &["mod", "tidy"]);
        app
    }

    /// `bundle create --from <from> --proxy <modgate> --sumdb KEY -o <out>` plus `extra`.
    fn create(&self, from: &Path, out: &Path, extra: &[&str]) -> Output {
        let mut args = vec![
            "bundle",
            "create",
            "--from",
            from.to_str().unwrap(),
            "--proxy",
            &self.modgate.url,
            "--sumdb",
            &self.db.key,
            "-o",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        modgate(&args)
    }

    /// Stops the online side, then builds `app` offline from `storage`
    /// (see [`assert_builds_offline`]).
    fn stop_then_build_offline(self, storage: &Path, app: &Path, tree: u64) {
        let key = self.db.key.clone();
        let gosumdb = self.stop();
        assert_builds_offline(storage, &gosumdb, &key, app, tree, PRINTED);
    }

    /// Stops the database, the mirror and the online modgate.
    fn stop(mut self) -> String {
        self.db.stop();
        self.mirror.stop();
        let gosumdb = self.db.gosumdb();
        drop(self.modgate);
        gosumdb
    }
}

fn import(bundle: &Path, storage: &Path, trust: &[&str]) -> Output {
    let mut args = vec![
        "bundle",
        "import",
        bundle.to_str().unwrap(),
        "--storage",
        storage.to_str().unwrap(),
    ];
    args.extend_from_slice(trust);
    modgate(&args)
}

/// A copy of the project's sources (go.mod, main.go and, if `with_sum`, go.sum).
fn copy_project(app: &Path, with_sum: bool) -> PathBuf {
    let dir = fresh_dir("offline-app");
    for name in ["go.mod", "main.go"] {
        fs_err::copy(app.join(name), dir.join(name)).unwrap();
    }
    if with_sum {
        fs_err::copy(app.join("go.sum"), dir.join("go.sum")).unwrap();
    }
    dir
}

/// With every upstream and the database gone, modgate serves the store:
/// the go command downloads, builds and verifies with GOSUMDB on, and, for
/// a project without go.sum, checks every version against the database
/// through modgate's /sumdb/ and ends with the same go.sum.
fn assert_builds_offline(
    storage: &Path,
    gosumdb: &str,
    key: &str,
    app: &Path,
    tree: u64,
    printed: &str,
) {
    let offline = Modgate::start_args_raw(&[
        "--storage",
        storage.to_str().unwrap(),
        "--upstream",
        "off",
        "--sumdb",
        gosumdb,
    ]);
    let go = sumdb_go(&offline.url, key);
    let with_sum = copy_project(app, true);
    go.run(&with_sum, &["mod", "download"]);
    assert_eq!(build_and_run(&go, &with_sum).trim(), printed);
    let verified = go.run(&with_sum, &["mod", "verify"]);
    assert!(verified.contains("all modules verified"), "{verified}");

    let go = sumdb_go(&offline.url, key);
    let without_sum = copy_project(app, false);
    let out = go.try_run(&without_sum, &["mod", "download"]);
    assert!(
        out.status.success(),
        "go mod download without go.sum, offline:\n{}\nmodgate:\n{}",
        text(&out),
        offline.logs()
    );
    assert_eq!(build_and_run(&go, &without_sum).trim(), printed);
    // `go get` keeps the sums of versions it left; the rest is the same.
    let (wrote, had) = (
        fs_err::read_to_string(without_sum.join("go.sum")).unwrap(),
        fs_err::read_to_string(app.join("go.sum")).unwrap(),
    );
    assert!(
        !wrote.is_empty() && wrote.lines().all(|l| had.lines().any(|h| h == l)),
        "go wrote another go.sum from the database's records:\n{wrote}\nnot in:\n{had}"
    );
    let note = fs_err::read_to_string(go.home.join("gopath/pkg/sumdb").join(NAME).join("latest"))
        .expect("the go command checked versions against the database");
    assert_eq!(tree_of(&note).0, tree, "go's tree head is the bundle's");
    let logs = offline.logs();
    assert!(!logs.contains("panicked"), "{logs}");
}

fn manifest(bundle: &Path) -> serde_json::Value {
    let mut name = bundle.as_os_str().to_owned();
    name.push(".manifest.json");
    serde_json::from_slice(&fs_err::read(PathBuf::from(name)).unwrap()).unwrap()
}

#[test]
fn a_bundle_from_go_sum_builds_offline_with_gosumdb_on() {
    let online = Online::start();
    let app = online.project();
    let bundle = fresh_dir("bundle").join("deps.bundle");
    let created = ok(
        online.create(&app.join("go.sum"), &bundle, &["--json"]),
        "bundle create",
    );
    let summary: serde_json::Value = serde_json::from_str(
        created
            .lines()
            .find(|l| l.starts_with('{'))
            .unwrap_or_else(|| panic!("no JSON summary:\n{created}")),
    )
    .unwrap();
    let m = manifest(&bundle);
    let modules = m["modules"].as_array().unwrap();
    let go_sum = fs_err::read_to_string(app.join("go.sum")).unwrap();
    let named: std::collections::BTreeSet<String> = go_sum
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            format!("{}@{}", f[0], f[1].trim_end_matches("/go.mod"))
        })
        .collect();
    assert_eq!(modules.len(), named.len(), "{m:#}");
    assert_eq!(summary["modules"], modules.len());
    for e in modules {
        let zip = e["zip"]["h1"].as_str();
        let line = format!(
            "{} {} {}",
            e["module"].as_str().unwrap(),
            e["version"].as_str().unwrap(),
            zip.unwrap_or_default()
        );
        assert!(
            zip.is_none() || go_sum.contains(&line),
            "{line} not in go.sum:\n{go_sum}"
        );
    }
    let tree = m["sumdb"]["tree"]["size"].as_u64().unwrap();

    let storage = fresh_dir("imported");
    let imported = ok(
        import(&bundle, &storage, &["--allow-unsigned", "--json"]),
        "bundle import",
    );
    let result: serde_json::Value =
        serde_json::from_str(imported.lines().find(|l| l.starts_with('{')).unwrap()).unwrap();
    assert_eq!(result["modules"], modules.len());
    // Again: everything is there already.
    let again = ok(
        import(&bundle, &storage, &["--allow-unsigned", "--json"]),
        "second import",
    );
    let again: serde_json::Value =
        serde_json::from_str(again.lines().find(|l| l.starts_with('{')).unwrap()).unwrap();
    assert_eq!(again["stored"], 0, "{again}");

    online.stop_then_build_offline(&storage, &app, tree);
}

/// A bundle's entries, in order.
fn unpack(bundle: &Path) -> Vec<(String, Vec<u8>)> {
    let file = fs_err::File::open(bundle).unwrap();
    let mut archive = tar::Archive::new(zstd::Decoder::new(file).unwrap());
    let mut out = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_str().unwrap().to_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        out.push((path, data));
    }
    out
}

fn pack(entries: &[(String, Vec<u8>)], out: &Path) {
    let file = fs_err::File::create(out).unwrap();
    let mut tar = tar::Builder::new(zstd::Encoder::new(file, 3).unwrap().auto_finish());
    for (path, data) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        tar.append_data(&mut header, path, &data[..]).unwrap();
    }
    tar.into_inner().unwrap();
}

/// `import` refuses `bundle`, saying `says`, and leaves the store empty.
fn assert_refused(bundle: &Path, trust: &[&str], says: &str) {
    let storage = fresh_dir("refused");
    let out = import(bundle, &storage, trust);
    let shown = text(&out);
    assert!(!out.status.success(), "imported a bad bundle:\n{shown}");
    assert!(shown.contains(says), "want {says:?} in:\n{shown}");
    assert!(!shown.contains("panicked"), "{shown}");
    // The staging lock every open store holds is not a stored file.
    let stored: Vec<String> = files_under(&storage)
        .into_iter()
        .filter(|f| f != ".tmp/.lock")
        .collect();
    assert_eq!(stored, Vec::<String>::new(), "{shown}");
}

#[test]
fn tampered_bundles_are_refused_whole_and_signed_ones_checked() {
    let online = Online::start();
    let app = online.project();
    let keys = fresh_dir("keys");
    let skey = keys.join("bundle.key");
    let vkey = ok(
        modgate(&[
            "bundle",
            "keygen",
            "--name",
            "bundles.modgate.test",
            "--out",
            skey.to_str().unwrap(),
        ]),
        "bundle keygen",
    );
    let vkey = vkey.trim();
    let other = ok(
        modgate(&[
            "bundle",
            "keygen",
            "--name",
            "bundles.modgate.test",
            "--out",
            keys.join("other.key").to_str().unwrap(),
        ]),
        "bundle keygen",
    );
    let dir = fresh_dir("bundle");
    let bundle = dir.join("deps.bundle");
    ok(
        online.create(
            &app.join("go.sum"),
            &bundle,
            &["--sign", skey.to_str().unwrap()],
        ),
        "bundle create --sign",
    );
    let entries = unpack(&bundle);
    assert_eq!(entries[0].0, "manifest.json");
    assert_eq!(entries[1].0, "manifest.sig");
    let signed = ["--verify-key", vkey];

    // One flipped byte in a zip, the manifest and its signature untouched.
    let zip = entries
        .iter()
        .position(|(p, _)| p.ends_with("gamma/v2/@v/v2.0.0.zip"))
        .unwrap();
    let mut flipped = entries.clone();
    let mid = flipped[zip].1.len() / 2;
    flipped[zip].1[mid] ^= 0x20;
    let path = dir.join("flipped-zip.bundle");
    pack(&flipped, &path);
    assert_refused(&path, &signed, "github.com/modgate-test/gamma/v2@v2.0.0");

    // One flipped byte of the compressed file.
    let mut raw = fs_err::read(&bundle).unwrap();
    let at = raw.len() * 2 / 3;
    raw[at] ^= 0x01;
    let path = dir.join("flipped-file.bundle");
    fs_err::write(&path, &raw).unwrap();
    assert_refused(&path, &signed, "bundle refused");

    // A proof removed, from the files and the manifest (so unsigned).
    let mut m: serde_json::Value = serde_json::from_slice(&entries[0].1).unwrap();
    let tile = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .position(|f| f["path"].as_str().unwrap().contains("/tile/8/0/"))
        .unwrap();
    let removed = m["files"].as_array_mut().unwrap().remove(tile);
    let mut stripped: Vec<(String, Vec<u8>)> = entries
        .iter()
        .filter(|(p, _)| p != "manifest.sig" && p != removed["path"].as_str().unwrap())
        .cloned()
        .collect();
    stripped[0].1 = serde_json::to_vec(&m).unwrap();
    let path = dir.join("no-proof.bundle");
    pack(&stripped, &path);
    assert_refused(&path, &["--allow-unsigned"], "is not proven in tree");
    // ... and with the signature kept, the changed manifest fails it.
    let mut resigned = stripped.clone();
    resigned.insert(1, entries[1].clone());
    pack(&resigned, &path);
    assert_refused(&path, &signed, "the signature is of another manifest");

    // Another signer's key; an unsigned bundle where a key is required.
    assert_refused(&bundle, &["--verify-key", other.trim()], "signature");
    let unsigned: Vec<_> = entries
        .iter()
        .filter(|(p, _)| p != "manifest.sig")
        .cloned()
        .collect();
    let path = dir.join("unsigned.bundle");
    pack(&unsigned, &path);
    assert_refused(&path, &signed, "not signed");

    // Cut short.
    let raw = fs_err::read(&bundle).unwrap();
    let path = dir.join("truncated.bundle");
    fs_err::write(&path, &raw[..raw.len() / 2]).unwrap();
    assert_refused(&path, &signed, "bundle refused");

    // The genuine bundle, with its key: imported, with progress as plain lines.
    let storage = fresh_dir("imported");
    let out = import(&bundle, &storage, &signed);
    let shown = ok(out, "bundle import --verify-key");
    assert!(shown.contains("bundle import: storing"), "{shown}");
    assert!(!files_under(&storage).is_empty());
}

#[test]
fn a_differential_bundle_holds_only_the_new_versions() {
    let online = Online::start();
    let app = online.project();
    let dir = fresh_dir("bundle");
    let first = dir.join("first.bundle");
    ok(
        online.create(&app.join("go.sum"), &first, &[]),
        "first bundle",
    );

    // The project moves on; the database grows as go looks the new version up.
    let go = sumdb_go(&online.modgate.url, &online.db.key);
    go.run(&app, &["get", &format!("{GAMMA_V2}@v2.1.0")]);
    let second = dir.join("second.bundle");
    let mut since = first.as_os_str().to_owned();
    since.push(".manifest.json");
    ok(
        online.create(
            &app.join("go.sum"),
            &second,
            &["--since", since.to_str().unwrap()],
        ),
        "differential bundle",
    );
    let m = manifest(&second);
    let versions: Vec<String> = m["modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{}@{}",
                e["module"].as_str().unwrap(),
                e["version"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(versions, [format!("{GAMMA_V2}@v2.1.0")]);
    let old_tree = manifest(&first)["sumdb"]["tree"]["size"].as_u64().unwrap();
    let tree = m["sumdb"]["tree"]["size"].as_u64().unwrap();
    assert!(tree > old_tree, "the database grew: {old_tree} then {tree}");

    let storage = fresh_dir("imported");
    ok(
        import(&first, &storage, &["--allow-unsigned"]),
        "first import",
    );
    ok(
        import(&second, &storage, &["--allow-unsigned"]),
        "differential import",
    );
    let key = online.db.key.clone();
    let gosumdb = online.stop();
    assert_builds_offline(
        &storage,
        &gosumdb,
        &key,
        &app,
        tree,
        &PRINTED.replace("gamma v2.0.0", "gamma v2.1.0"),
    );
}

#[test]
fn create_names_what_is_missing_and_draws_progress_on_a_terminal() {
    let online = Online::start();
    let dir = fresh_dir("bundle");
    let list = dir.join("deps.txt");
    fs_err::write(
        &list,
        format!("# wanted\n{ALPHA}@latest\n{ALPHA}@v1.9.9\n{BETA}@v0.1.0\n"),
    )
    .unwrap();
    let bundle = dir.join("deps.bundle");
    let out = online.create(&list, &bundle, &["--json"]);
    assert!(!out.status.success(), "{}", text(&out));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON summary of the failure ({e}):\n{}", text(&out)));
    assert!(
        summary["missing"][0]
            .as_str()
            .is_some_and(|m| m.starts_with(&format!("{ALPHA}@v1.9.9"))),
        "{summary}"
    );
    assert!(
        text(&out).contains(&format!("not in the bundle: {ALPHA}@v1.9.9")),
        "{}",
        text(&out)
    );
    assert!(
        !bundle.exists(),
        "a bundle short of what was asked was written"
    );

    // Without the missing line, on a terminal: a bar, then the summary.
    fs_err::write(&list, format!("{ALPHA}@latest\n{BETA}@v0.1.0\n")).unwrap();
    let command = format!(
        "{} bundle create --from {} --proxy {} --sumdb {} -o {}; sleep 30",
        env!("CARGO_BIN_EXE_modgate"),
        list.display(),
        online.modgate.url,
        online.db.key,
        bundle.display()
    );
    let pane = Terminal::start(&command).watch(|screen| screen.contains("wrote "));
    assert!(pane.contains("wrote "), "no summary:\n{pane}");
    assert!(
        pane.contains("writing 2/2 modules [") && pane.contains("B/s"),
        "no progress bar:\n{pane}"
    );
    let m = manifest(&bundle);
    let versions: Vec<&str> = m["modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["version"].as_str().unwrap())
        .collect();
    assert_eq!(
        versions,
        ["v1.1.0", "v0.1.0"],
        "@latest is the newest release"
    );
}

#[test]
fn prefetch_warms_a_running_modgate_so_builds_never_miss() {
    let online = Online::start();
    // A project whose go.sum was written elsewhere: this modgate has seen none of it.
    let app = fresh_dir("app");
    write_app(&app);
    let elsewhere = Online::start();
    sumdb_go(&elsewhere.modgate.url, &elsewhere.db.key).run(&app, &["mod", "tidy"]);
    drop(elsewhere);
    let out = ok(
        modgate(&[
            "prefetch",
            "--from",
            app.join("go.sum").to_str().unwrap(),
            "--proxy",
            &online.modgate.url,
            "--json",
        ]),
        "prefetch",
    );
    let summary: serde_json::Value =
        serde_json::from_str(out.lines().find(|l| l.starts_with('{')).unwrap()).unwrap();
    let go_sum = fs_err::read_to_string(app.join("go.sum")).unwrap();
    let versions = go_sum.lines().filter(|l| l.contains("/go.mod ")).count();
    assert_eq!(summary["modules"], versions, "{out}");
    assert!(
        online
            .storage
            .join("github.com/modgate-test/gamma/v2/@v/v2.0.0.ziphash")
            .exists(),
        "prefetched versions are stored"
    );
    // The upstream and the database gone, a cold build needs nothing more.
    let Online {
        mut db,
        mut mirror,
        modgate,
        ..
    } = online;
    db.stop();
    mirror.stop();
    let go = sumdb_go(&modgate.url, &db.key);
    let cold = copy_project(&app, true);
    assert_eq!(build_and_run(&go, &cold).trim(), PRINTED);
}

/// `prefetch --storage` warms a store, not a server: every version of a
/// go.sum fetched through a proxy, checked and stored with its proofs, so a
/// modgate started later on that store serves a build offline.
#[test]
fn prefetch_into_a_store_serves_builds_offline() {
    let online = Online::start();
    let app = online.project();
    let storage = fresh_dir("prefetched-store");
    let out = ok(
        modgate(&[
            "prefetch",
            "--from",
            app.join("go.sum").to_str().unwrap(),
            "--proxy",
            &online.modgate.url,
            "--storage",
            storage.to_str().unwrap(),
            "--sumdb",
            &online.db.key,
            "--json",
        ]),
        "prefetch --storage",
    );
    let summary: serde_json::Value =
        serde_json::from_str(out.lines().find(|l| l.starts_with('{')).unwrap()).unwrap();
    let go_sum = fs_err::read_to_string(app.join("go.sum")).unwrap();
    let versions = go_sum.lines().filter(|l| l.contains("/go.mod ")).count();
    assert_eq!(summary["modules"], versions, "{out}");
    let tree = summary["tree"]["size"].as_u64().unwrap();
    online.stop_then_build_offline(&storage, &app, tree);
}

/// `--from go.mod`: the module graph loaded from go.mod files alone (no
/// go.sum, no go command) holds every version the go command's go.sum for
/// that project names, and the bundle builds the project offline.
#[test]
fn a_bundle_from_go_mod_holds_the_module_graph() {
    let online = Online::start();
    let app = online.project();
    let bundle = fresh_dir("bundle-gomod").join("graph.bundle");
    ok(
        online.create(&app.join("go.mod"), &bundle, &[]),
        "bundle create --from go.mod",
    );
    let m = manifest(&bundle);
    let modules = m["modules"].as_array().unwrap();
    let has = |module: &str, version: &str, zip: bool| {
        modules.iter().any(|e| {
            e["module"] == module && e["version"] == version && (!zip || e["zip"].is_object())
        })
    };
    let go_sum = fs_err::read_to_string(app.join("go.sum")).unwrap();
    for line in go_sum.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let (version, zip) = match f[1].strip_suffix("/go.mod") {
            Some(v) => (v, false),
            None => (f[1], true),
        };
        assert!(
            has(f[0], version, zip),
            "go.sum names {}@{version}{}, the graph bundle lacks it:\n{m:#}",
            f[0],
            if zip { " with its zip" } else { "" }
        );
    }
    let tree = m["sumdb"]["tree"]["size"].as_u64().unwrap();
    let storage = fresh_dir("imported-gomod");
    ok(
        import(&bundle, &storage, &["--allow-unsigned"]),
        "bundle import",
    );
    online.stop_then_build_offline(&storage, &app, tree);
}

/// `--vulndb URL`: the bundle carries a snapshot of the vulnerability
/// database, and the offline site's `/vuln/` serves it byte for byte with
/// that database out of reach.
#[test]
fn a_bundle_carries_a_vulnerability_database_snapshot() {
    use crate::support::vulndb::{self, Advisory};
    let online = Online::start();
    let app = online.project();
    let root = fresh_dir("bundle-vulndb-upstream");
    vulndb::write(
        &root,
        &[Advisory::new(
            "GO-2025-0101",
            "example.com/vulnerable",
            &[("v0", Some("v1.2.0"))],
        )],
        "2025-03-01T00:00:00Z",
    );
    let mut upstream = Mirror::serving(root.clone());
    let bundle = fresh_dir("bundle-vulndb").join("deps.bundle");
    ok(
        online.create(&app.join("go.sum"), &bundle, &["--vulndb", &upstream.url]),
        "bundle create --vulndb",
    );
    upstream.stop();
    let storage = fresh_dir("imported-vulndb");
    ok(
        import(&bundle, &storage, &["--allow-unsigned"]),
        "bundle import",
    );
    let gosumdb = online.stop();
    let gone = format!(
        "http://127.0.0.1:{}",
        crate::support::loopback::closed_port()
    );
    let offline = Modgate::start_args_raw(&[
        "--storage",
        storage.to_str().unwrap(),
        "--upstream",
        "off",
        "--sumdb",
        &gosumdb,
        "--vulndb",
        &gone,
    ]);
    for (path, want) in vulndb::files(&root) {
        let mut got = crate::support::http::get(&offline.addr, &format!("/vuln/{path}"));
        for _ in 0..100 {
            if got.status == 200 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
            got = crate::support::http::get(&offline.addr, &format!("/vuln/{path}"));
        }
        assert_eq!(got.status, 200, "/vuln/{path}: {}", got.text());
        assert_eq!(got.body, want, "/vuln/{path} differs from the upstream's");
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `entries` (unsigned) with the file at `path` renamed `to` holding
/// `data`, its manifest line to match.
fn with_file(
    entries: &[(String, Vec<u8>)],
    path: &str,
    to: &str,
    data: &[u8],
) -> Vec<(String, Vec<u8>)> {
    let mut m: serde_json::Value = serde_json::from_slice(&entries[0].1).unwrap();
    let file = m["files"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|f| f["path"] == path)
        .unwrap_or_else(|| panic!("{path} is not in the manifest"));
    file["path"] = to.into();
    file["size"] = data.len().into();
    file["sha256"] = sha256_hex(data).into();
    let mut out: Vec<(String, Vec<u8>)> = entries
        .iter()
        .filter(|(p, _)| p != "manifest.sig")
        .map(|(p, d)| {
            if p == path {
                (to.to_owned(), data.to_vec())
            } else {
                (p.clone(), d.clone())
            }
        })
        .collect();
    out[0].1 = serde_json::to_vec(&m).unwrap();
    out
}

/// A vulnerability database snapshot in a bundle is checked as the files
/// it names are: one naming paths outside `vulndb/blob/`, one whose name
/// (a time far ahead) would sort newest forever, and a blob that is not
/// what its name says are each refused whole, even unsigned bundles
/// imported with --allow-unsigned.
#[test]
fn crafted_vulndb_snapshots_in_a_bundle_are_refused_whole() {
    use crate::support::vulndb::{self, Advisory};
    let online = Online::start();
    let app = online.project();
    let root = fresh_dir("bundle-evil-vulndb-upstream");
    vulndb::write(
        &root,
        &[Advisory::new(
            "GO-2025-0101",
            "example.com/vulnerable",
            &[("v0", Some("v1.2.0"))],
        )],
        "2025-03-01T00:00:00Z",
    );
    let upstream = Mirror::serving(root.clone());
    let dir = fresh_dir("bundle-evil-vulndb");
    let bundle = dir.join("deps.bundle");
    ok(
        online.create(&app.join("go.sum"), &bundle, &["--vulndb", &upstream.url]),
        "bundle create --vulndb",
    );
    let entries = unpack(&bundle);
    let (snapshot, genuine) = entries
        .iter()
        .find(|(p, _)| p.starts_with("vulndb/snapshot/"))
        .cloned()
        .expect("a snapshot in the bundle");
    let allow = ["--allow-unsigned"];

    let mut traversal: serde_json::Value = serde_json::from_slice(&genuine).unwrap();
    traversal["files"]["index/db.json"] = "../../sumdb/x/../../../../etc/passwd".into();
    let path = dir.join("traversal.bundle");
    pack(
        &with_file(
            &entries,
            &snapshot,
            &snapshot,
            &serde_json::to_vec(&traversal).unwrap(),
        ),
        &path,
    );
    assert_refused(&path, &allow, &snapshot);

    // A well-formed hash of nothing bundled or stored; the index's blob
    // named as an entry.
    let db = traversal["files"]["index/vulns.json"].clone();
    for (file, hash, says) in [
        (
            "index/db.json",
            serde_json::Value::from("0".repeat(64)),
            "not in the bundle",
        ),
        ("ID/GO-2025-0101.json", db, "named for ID/GO-2025-0101.json"),
    ] {
        let mut named: serde_json::Value = serde_json::from_slice(&genuine).unwrap();
        named["files"][file] = hash;
        let path = dir.join("misnamed.bundle");
        pack(
            &with_file(
                &entries,
                &snapshot,
                &snapshot,
                &serde_json::to_vec(&named).unwrap(),
            ),
            &path,
        );
        assert_refused(&path, &allow, says);
    }

    let newest_forever = "vulndb/snapshot/99999999999999999999";
    let path = dir.join("far-ahead.bundle");
    pack(
        &with_file(&entries, &snapshot, newest_forever, &genuine),
        &path,
    );
    assert_refused(&path, &allow, newest_forever);

    let (blob, data) = entries
        .iter()
        .find(|(p, _)| p.starts_with("vulndb/blob/"))
        .cloned()
        .unwrap();
    let mut other = data.clone();
    other.extend_from_slice(b"\n");
    let path = dir.join("blob-mismatch.bundle");
    pack(&with_file(&entries, &blob, &blob, &other), &path);
    assert_refused(&path, &allow, &blob);
}

/// A file the store holds already is compared with the bundle's: a stored
/// zip that differs (tampered with, or corrupt) fails the import, named,
/// and nothing of the bundle is stored.
#[test]
fn an_import_over_a_stored_file_that_differs_is_refused() {
    let online = Online::start();
    let app = online.project();
    let bundle = fresh_dir("bundle-over").join("deps.bundle");
    ok(
        online.create(&app.join("go.sum"), &bundle, &[]),
        "bundle create",
    );
    let storage = fresh_dir("imported-over");
    ok(
        import(&bundle, &storage, &["--allow-unsigned"]),
        "bundle import",
    );
    let zip = "github.com/modgate-test/gamma/v2/@v/v2.0.0.zip";
    let mut bytes = fs_err::read(storage.join(zip)).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x20;
    fs_err::write(storage.join(zip), &bytes).unwrap();
    // A file of the bundle removed: an import that stored anything would put it back.
    let info = "github.com/modgate-test/gamma/v2/@v/v2.0.0.info";
    fs_err::remove_file(storage.join(info)).unwrap();
    let out = import(&bundle, &storage, &["--allow-unsigned"]);
    let shown = text(&out);
    assert!(
        !out.status.success(),
        "imported over a changed file:\n{shown}"
    );
    assert!(shown.contains(zip), "{shown}");
    assert!(
        !storage.join(info).exists(),
        "stored part of a refused bundle"
    );
}

/// A version whose go.mod declares another module path (recorded so in the
/// checksum database, so every hash agrees) is not imported.
#[test]
fn a_go_mod_naming_another_module_is_refused() {
    use crate::support::checksum_db::h1_of_zip;
    prebuild();
    let tree = fresh_dir("impostor-tree");
    let (module, version) = ("example.com/impostor", "v1.0.0");
    let go_mod = "module example.com/victim\n\ngo 1.21\n";
    let zip = crate::support::mirror::write_version(
        &tree,
        module,
        version,
        go_mod,
        &[
            ("go.mod", go_mod.as_bytes()),
            ("impostor.go", b"package impostor\n"),
        ],
        zip::CompressionMethod::Deflated,
    );
    let gosum = format!(
        "{module} {version} {}\n{module} {version}/go.mod {}\n",
        h1_of_zip(&fs_err::read(&zip).unwrap()),
        modgate_zip::dirhash::hash_go_mod(go_mod.as_bytes())
    );
    let db = ChecksumDb::start(&gosum, Options::default());
    let mirror = Mirror::serving(tree);
    let storage = fresh_dir("impostor-online");
    let online = Modgate::start_args_raw(&[
        "--storage",
        storage.to_str().unwrap(),
        "--upstream",
        &mirror.url,
        "--sumdb",
        &db.gosumdb(),
    ]);
    let dir = fresh_dir("impostor-bundle");
    let list = dir.join("deps.txt");
    fs_err::write(&list, format!("{module}@{version}\n")).unwrap();
    let bundle = dir.join("impostor.bundle");
    ok(
        modgate(&[
            "bundle",
            "create",
            "--from",
            list.to_str().unwrap(),
            "--proxy",
            &online.url,
            "--sumdb",
            &db.key,
            "-o",
            bundle.to_str().unwrap(),
        ]),
        "bundle create",
    );
    assert_refused(&bundle, &["--allow-unsigned"], "example.com/victim");
}
