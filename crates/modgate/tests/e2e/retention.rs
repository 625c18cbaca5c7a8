//! `modgate gc`: least recently served versions go, pinned ones stay, a
//! dry run removes nothing, and the go command keeps downloading correct
//! modules while gc runs against the store a server is using.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::support::fixture::{ALPHA, BETA, Fixture};
use crate::support::go::{Go, download};
use crate::support::mirror::Mirror;
use crate::support::modgate::Modgate;
use crate::support::{fresh_dir, http};

fn today() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 86_400
}

fn access_dir(storage: &Path, day: u64) -> PathBuf {
    storage.join(".access").join(day.to_string())
}

fn markers(storage: &Path, day: u64) -> Vec<String> {
    match fs_err::read_dir(access_dir(storage, day)) {
        Ok(entries) => entries
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Waits for the server's background markers of `n` versions today.
fn wait_for_markers(storage: &Path, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while markers(storage, today()).len() < n {
        assert!(
            Instant::now() < deadline,
            "access markers never written: {:?}",
            markers(storage, today())
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Moves every marker of today 100 days back: everything looks long unused.
fn age_markers(storage: &Path) {
    let (from, to) = (
        access_dir(storage, today()),
        access_dir(storage, today() - 100),
    );
    fs_err::create_dir_all(&to).unwrap();
    for name in markers(storage, today()) {
        fs_err::rename(from.join(&name), to.join(&name)).unwrap();
    }
}

fn gc(args: &[&str]) -> (serde_json::Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_modgate"))
        .arg("gc")
        .args(args)
        .env_remove("MODGATE_CONFIG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "modgate gc {args:?}: {stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = if args.contains(&"--json") {
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
    } else {
        serde_json::Value::String(stdout.into_owned())
    };
    (report, stderr)
}

fn removed(report: &serde_json::Value) -> Vec<String> {
    let mut names: Vec<String> = report["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}@{}",
                r["module"].as_str().unwrap(),
                r["version"].as_str().unwrap()
            )
        })
        .collect();
    names.sort();
    names
}

fn stored_files(storage: &Path) -> usize {
    fn walk(dir: &Path, n: &mut usize) {
        for e in fs_err::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let name = e.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            if e.file_type().unwrap().is_dir() {
                walk(&e.path(), n);
            } else {
                *n += 1;
            }
        }
    }
    let mut n = 0;
    walk(storage, &mut n);
    n
}

#[test]
fn gc_removes_least_recently_served_versions_but_never_pinned_ones() {
    let fx = Fixture::get();
    let mirror = Mirror::serving(fx.tree.clone());
    let storage = fresh_dir("storage");
    let mut modgate = Modgate::start(&storage, &mirror.url);
    let targets = fx.resolved_targets();
    let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
    download(&Go::new(&modgate.url), &fresh_dir("app"), &targets);
    wait_for_markers(&storage, targets.len());
    age_markers(&storage);
    // A server remembers what it marked today: a new one, as if 100 days on.
    modgate.stop();
    let modgate = Modgate::start(&storage, &mirror.url);
    // beta v0.2.0 served again today; alpha v1.0.0 pinned by a go.sum.
    let hit = http::get(&modgate.addr, "/github.com/modgate-test/beta/@v/v0.2.0.mod");
    assert_eq!(hit.status, 200);
    wait_for_markers(&storage, 1);
    let pinned = fx.download(ALPHA, "v1.0.0");
    let keep = fresh_dir("keep").join("go.sum");
    fs_err::write(
        &keep,
        format!(
            "{ALPHA} v1.0.0 {}\n{ALPHA} v1.0.0/go.mod {}\n",
            pinned.sum, pinned.go_mod_sum
        ),
    )
    .unwrap();
    let store = storage.to_str().unwrap();
    let keep = keep.to_str().unwrap();
    let mut want: Vec<String> = targets
        .iter()
        .filter(|t| **t != format!("{BETA}@v0.2.0") && **t != format!("{ALPHA}@v1.0.0"))
        .map(|t| t.to_string())
        .collect();
    want.sort();

    let files = stored_files(&storage);
    let (dry, _) = gc(&[
        "--storage",
        store,
        "--unused-for",
        "90d",
        "--keep",
        keep,
        "--dry-run",
        "--json",
    ]);
    assert_eq!(removed(&dry), want, "{dry}");
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["pinned"], 1);
    assert!(dry["freed"].as_u64().unwrap() > 0, "{dry}");
    assert_eq!(stored_files(&storage), files, "a dry run removes nothing");

    let (done, _) = gc(&[
        "--storage",
        store,
        "--unused-for",
        "90d",
        "--keep",
        keep,
        "--json",
    ]);
    assert_eq!(removed(&done), want, "{done}");
    assert_eq!(done["freed"], dry["freed"]);
    let left =
        |module: &str, v: &str| storage.join(format!("{}/@v/{v}.mod", module.to_lowercase()));
    assert!(left(ALPHA, "v1.0.0").exists() && left(ALPHA, "v1.0.0").with_extension("zip").exists());
    assert!(left(BETA, "v0.2.0").exists());
    assert!(
        !left(ALPHA, "v1.1.0").exists() && !left(ALPHA, "v1.1.0").with_extension("zip").exists()
    );
    assert!(
        !storage
            .join("github.com/modgate-test/alpha/@v/v1.1.0.ziphash")
            .exists()
    );
    // Only the survivors' markers remain.
    let mut marked = markers(&storage, today());
    marked.sort();
    assert_eq!(marked.len(), 1, "{marked:?}");
    assert!(
        markers(&storage, today() - 100)
            .iter()
            .all(|m| m.contains("alpha@v1.0.0"))
    );

    // A size bound: everything unpinned goes, the text report says so.
    let (text, _) = gc(&["--storage", store, "--max-size", "1B", "--keep", keep]);
    let text = text.as_str().unwrap().to_owned();
    assert!(text.contains(&format!("removed {BETA}@v0.2.0")), "{text}");
    assert!(left(ALPHA, "v1.0.0").exists(), "{text}");

    // What went is fetched again, whole, on the next build.
    let again = download(&Go::new(&modgate.url), &fresh_dir("app"), &targets);
    for d in &again {
        let truth = fx.download(&d.path, &d.version);
        assert_eq!((&d.sum, &d.go_mod_sum), (&truth.sum, &truth.go_mod_sum));
    }
}

#[test]
fn gc_under_concurrent_downloads_leaves_every_build_and_the_store_correct() {
    let fx = Fixture::get();
    let mirror = Mirror::serving(fx.tree.clone());
    let storage = fresh_dir("storage");
    let modgate = Modgate::start(&storage, &mirror.url);
    let targets = fx.resolved_targets();
    let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
    download(&Go::new(&modgate.url), &fresh_dir("app"), &targets);
    wait_for_markers(&storage, targets.len());
    let store = storage.to_str().unwrap();
    std::thread::scope(|s| {
        let builds: Vec<_> = (0..3)
            .map(|_| {
                s.spawn(|| {
                    for _ in 0..3 {
                        for d in download(&Go::new(&modgate.url), &fresh_dir("app"), &targets) {
                            let truth = fx.download(&d.path, &d.version);
                            assert_eq!((&d.sum, &d.go_mod_sum), (&truth.sum, &truth.go_mod_sum));
                        }
                    }
                })
            })
            .collect();
        for _ in 0..5 {
            age_markers(&storage);
            gc(&["--storage", store, "--max-size", "1B"]);
        }
        for b in builds {
            b.join().unwrap();
        }
    });
    // Whatever is stored now is whole and matches its hash.
    let out = Command::new(env!("CARGO_BIN_EXE_modgate"))
        .args(["verify", "--storage", store, "--sumdb", "off"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // And no hash outlived its zip.
    for module in [
        "github.com/modgate-test/alpha",
        "github.com/modgate-test/beta",
    ] {
        for e in fs_err::read_dir(storage.join(module).join("@v")).unwrap() {
            let path = e.unwrap().path();
            if path.extension().is_some_and(|x| x == "ziphash") {
                assert!(path.with_extension("zip").exists(), "{}", path.display());
            }
        }
    }
}

#[test]
fn gc_never_removes_what_modgates_own_checksum_database_records() {
    let fx = Fixture::get();
    let mirror = Mirror::serving(fx.tree.clone());
    let storage = fresh_dir("storage");
    let key = fresh_dir("keys").join("signer.key");
    let out = Command::new(env!("CARGO_BIN_EXE_modgate"))
        .args([
            "sumdb",
            "keygen",
            "--name",
            "sum.gc.test",
            "--out",
            key.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let modgate = Modgate::start_args(&[
        "--storage",
        storage.to_str().unwrap(),
        "--upstream",
        &mirror.url,
        "--private-sumdb-key",
        key.to_str().unwrap(),
    ]);
    let targets = fx.resolved_targets();
    let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
    download(&Go::new(&modgate.url), &fresh_dir("app"), &targets);
    // Each version is logged in the background once its files are durable.
    let records = storage.join("sumdb/sum.gc.test/log/record");
    let deadline = Instant::now() + Duration::from_secs(30);
    while fs_err::read_dir(&records).map_or(0, |d| d.count()) < targets.len() {
        assert!(Instant::now() < deadline, "versions never logged");
        std::thread::sleep(Duration::from_millis(50));
    }
    let files = stored_files(&storage);
    let (report, _) = gc(&[
        "--storage",
        storage.to_str().unwrap(),
        "--max-size",
        "1B",
        "--json",
    ]);
    assert_eq!(removed(&report), Vec::<String>::new(), "{report}");
    assert_eq!(report["logged"], targets.len(), "{report}");
    assert_eq!(stored_files(&storage), files);
}
