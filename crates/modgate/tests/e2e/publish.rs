//! Publishing attacked: conflicting uploads, versions the repository has,
//! a kill at every step, and two replicas racing for one version; and a
//! go.mod no repository stands behind (an upload's, a `file://` tree's)
//! naming another module.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::access::{PRIVATE_DB, auth, module_dir, private_db, verifying_go};
use crate::support::fresh_dir;
use crate::support::go;
use crate::support::http::{self, Response};
use crate::support::mirror::write_version;
use crate::support::modgate::Modgate;
use crate::support::relay::{Mode, Relay};
use crate::support::repos::{PRIVATE, Repos};
use crate::support::s3::{BUCKET, S3Server};

const LIB: &str = "corp.example/lib";

/// An auth file in `dir` where `ci` may read and publish `pattern` and
/// anyone may read it; with ci's token.
fn publisher(dir: &Path, pattern: &str) -> (PathBuf, String) {
    let file = dir.join("auth.toml");
    auth(&file, &["add-user", "ci"], "\n");
    let token = auth(&file, &["add-token", "ci"], "");
    let token = token.lines().last().unwrap().trim().to_owned();
    let mut rules = fs_err::read_to_string(&file).unwrap();
    rules.push_str(&format!(
        "\n[[access]]\npatterns = [\"{pattern}\"]\nusers = [\"ci\"]\nallow = [\"read\", \"publish\"]\n\
         \n[[access]]\npatterns = [\"{pattern}\"]\nusers = [\"anonymous\"]\nallow = [\"read\"]\n",
    ));
    fs_err::write(&file, rules).unwrap();
    (file, token)
}

/// The module zip of `dir` as `module@version`.
fn zip_of(dir: &Path, module: &str, version: &str) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    modgate_zip::create_zip_from_dir(&mut out, dir, module, version).unwrap();
    out.into_inner()
}

/// A module directory of LIB answering `answer`, with `mib` MiB of
/// incompressible bytes, so that its zip is that large.
fn large_module_dir(answer: u32, mib: usize) -> PathBuf {
    let dir = module_dir(LIB, answer);
    let mut state = 0x9e37_79b9_7f4a_7c15_u64 ^ u64::from(answer);
    let noise: Vec<u8> = (0..mib << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    fs_err::write(dir.join("noise.bin"), noise).unwrap();
    dir
}

/// `PUT /module/@v/version.zip`, as `modgate publish` sends it.
fn put(addr: &str, module: &str, version: &str, token: &str, zip: &[u8]) -> Response {
    let bearer = format!("Bearer {token}");
    http::request_body(
        addr,
        "PUT",
        &format!("/{module}/@v/{version}.zip"),
        &[("Authorization", bearer.as_str())],
        zip,
    )
}

/// Every stored file and its bytes, but for modgate's own bookkeeping
/// (staging, access markers) under dot directories.
fn snapshot(storage: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in fs_err::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if dir == root && path.file_name().unwrap().to_string_lossy().starts_with('.') {
                continue;
            }
            if path.is_dir() {
                walk(&path, root, out);
            } else {
                let bytes = fs_err::read(&path).unwrap();
                out.insert(path.strip_prefix(root).unwrap().to_owned(), bytes);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(storage, storage, &mut out);
    out
}

fn serve(storage: &Path, private: &str, key: &str, auth_file: &Path) -> Modgate {
    Modgate::start_args(&[
        "--storage",
        storage.to_str().unwrap(),
        "--upstream",
        "off",
        "--private",
        private,
        "--private-sumdb-key",
        key,
        "--auth-file",
        auth_file.to_str().unwrap(),
    ])
}

fn copy_tree(from: &Path, to: &Path) {
    fs_err::create_dir_all(to).unwrap();
    for entry in fs_err::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let dest = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_tree(&path, &dest);
        } else {
            fs_err::copy(&path, &dest).unwrap();
        }
    }
}

/// Waits for the start-up check of private modules to finish.
fn repaired(modgate: &Modgate) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !modgate
        .logs()
        .contains("start-up check of private modules' versions done")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no start-up check: {}",
            modgate.logs()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The same files with the same bytes; else the paths that differ.
fn assert_unchanged(before: &BTreeMap<PathBuf, Vec<u8>>, storage: &Path, what: &str) {
    let after = snapshot(storage);
    let changed: Vec<&PathBuf> = before
        .keys()
        .chain(after.keys())
        .filter(|p| before.get(*p) != after.get(*p))
        .collect();
    assert!(changed.is_empty(), "{what} changed the store: {changed:?}");
}

fn assert_no_panic(modgate: &Modgate) {
    assert!(!modgate.logs().contains("panicked"), "{}", modgate.logs());
}

#[test]
fn a_refused_publish_stores_nothing_and_logs_nothing() {
    let keys = fresh_dir("keys");
    let (key, _) = private_db(&keys);
    let (auth_file, token) = publisher(&keys, "corp.example/*");
    let storage = fresh_dir("storage");
    let modgate = serve(&storage, "corp.example/*", &key, &auth_file);
    let zip = |answer, v| zip_of(&module_dir(LIB, answer), LIB, v);

    let first = put(&modgate.addr, LIB, "v1.0.0", &token, &zip(42, "v1.0.0"));
    assert_eq!(first.status, 201, "{}", first.text());
    let before = snapshot(&storage);
    let again = put(&modgate.addr, LIB, "v1.0.0", &token, &zip(42, "v1.0.0"));
    assert_eq!(again.status, 200, "the same bytes again: {}", again.text());
    let other = put(&modgate.addr, LIB, "v1.0.0", &token, &zip(43, "v1.0.0"));
    assert_eq!(other.status, 409, "{}", other.text());
    assert_unchanged(&before, &storage, "other bytes for a published version");

    // A version modgate holds a file of (a go.mod fetched, say) but no
    // zip: an upload never completes it with its own zip.
    let seeded = storage.join("corp.example/lib/@v/v1.1.0.mod");
    fs_err::write(&seeded, "module corp.example/lib\n\ngo 1.20\n").unwrap();
    let before = snapshot(&storage);
    let partial = put(&modgate.addr, LIB, "v1.1.0", &token, &zip(42, "v1.1.0"));
    assert_eq!(partial.status, 409, "{}", partial.text());
    assert_unchanged(&before, &storage, "an upload for a version held");

    // A go.mod naming another module is refused before anything is stored.
    let other_module = zip_of(&module_dir("corp.example/other", 1), LIB, "v1.2.0");
    let renamed = put(&modgate.addr, LIB, "v1.2.0", &token, &other_module);
    assert_eq!(renamed.status, 400, "{}", renamed.text());
    assert!(
        renamed.text().contains("corp.example/other"),
        "{}",
        renamed.text()
    );
    assert_unchanged(&before, &storage, "an upload naming another module");

    // Collected (as `modgate gc` removes a version; restarted, so that
    // nothing is remembered), then other bytes: the log still vouches for
    // the first ones.
    drop(modgate);
    for ext in ["ziphash", "zip", "mod", "info"] {
        fs_err::remove_file(storage.join(format!("corp.example/lib/@v/v1.0.0.{ext}"))).unwrap();
    }
    let modgate = serve(&storage, "corp.example/*", &key, &auth_file);
    let before = snapshot(&storage);
    let replaced = put(&modgate.addr, LIB, "v1.0.0", &token, &zip(43, "v1.0.0"));
    assert_eq!(replaced.status, 409, "{}", replaced.text());
    assert_unchanged(&before, &storage, "other bytes for a collected version");
    let restored = put(&modgate.addr, LIB, "v1.0.0", &token, &zip(42, "v1.0.0"));
    assert!(
        [200, 201].contains(&restored.status),
        "the logged bytes again: {}",
        restored.text()
    );

    // The held go.mod lists its version, as any fetched one.
    let list = http::get(&modgate.addr, &format!("/{LIB}/@v/list"));
    assert_eq!(list.text(), "v1.0.0\nv1.1.0\n");
    assert_no_panic(&modgate);
}

#[test]
fn a_version_its_repository_has_is_never_shadowed() {
    let repos = Repos::get();
    let keys = fresh_dir("keys");
    let (key, _) = private_db(&keys);
    let (auth_file, token) = publisher(&keys, "github.com/modgate-private/*");
    let storage = fresh_dir("storage");
    let env = repos.git_env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let modgate = Modgate::start_env(
        &[
            "--storage",
            storage.to_str().unwrap(),
            "--upstream",
            "off",
            "--private",
            "github.com/modgate-private/*",
            "--private-sumdb-key",
            &key,
            "--auth-file",
            auth_file.to_str().unwrap(),
            "--vcs-dir",
            fresh_dir("vcs").to_str().unwrap(),
        ],
        &env,
    );
    let mine = module_dir(PRIVATE, 7);
    let refused = put(
        &modgate.addr,
        PRIVATE,
        "v1.0.0",
        &token,
        &zip_of(&mine, PRIVATE, "v1.0.0"),
    );
    assert_eq!(refused.status, 409, "{}", refused.text());
    assert!(
        refused.text().contains("repository"),
        "the reason: {}",
        refused.text()
    );
    // What modgate serves for it is the repository's code.
    let zip = http::get(&modgate.addr, &format!("/{PRIVATE}/@v/v1.0.0.zip"));
    assert_eq!(zip.status, 200, "{}", zip.text());
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip.body)).unwrap();
    let mut source = String::new();
    std::io::Read::read_to_string(
        &mut archive
            .by_name(&format!("{PRIVATE}@v1.0.0/secret.go"))
            .unwrap(),
        &mut source,
    )
    .unwrap();
    assert!(source.contains("secret v1.0.0"), "{source}");

    // A version the repository does not have is published.
    let new = put(
        &modgate.addr,
        PRIVATE,
        "v1.1.0",
        &token,
        &zip_of(&mine, PRIVATE, "v1.1.0"),
    );
    assert_eq!(new.status, 201, "{}", new.text());
    assert_no_panic(&modgate);
}

/// A version is listed only with all its files, and then go verifies it
/// with modgate's own checksum database, with the hash publish stored.
fn assert_consistent(modgate: &Modgate, storage: &Path, vkey: &str, step: &str) {
    let dir = storage.join("corp.example/lib/@v");
    let list = http::get(&modgate.addr, &format!("/{LIB}/@v/list"));
    let listed = list.text().lines().any(|l| l == "v1.0.0");
    for ext in ["zip", "mod", "info", "ziphash"] {
        let path = dir.join(format!("v1.0.0.{ext}"));
        assert!(
            !listed || path.exists(),
            "{step}: v1.0.0 is listed without its .{ext}"
        );
    }
    assert!(listed, "{step}: not completed at start-up: {}", list.text());
    let latest = http::get(&modgate.addr, &format!("/{LIB}/@latest"));
    assert!(
        latest.text().contains("v1.0.0"),
        "{step}: {}",
        latest.text()
    );
    let got = go::download(
        &verifying_go(&modgate.url, vkey),
        &fresh_dir("work"),
        &[&format!("{LIB}@v1.0.0")],
    );
    let stored = fs_err::read_to_string(dir.join("v1.0.0.ziphash")).unwrap();
    assert_eq!(got[0].sum, stored.trim(), "{step}");
    assert_no_panic(modgate);
}

#[test]
fn a_publish_killed_at_any_step_leaves_nothing_half_listed() {
    let keys = fresh_dir("keys");
    let (key, vkey) = private_db(&keys);
    let (auth_file, token) = publisher(&keys, "corp.example/*");

    // The files of one publish, in the order they are written.
    let whole = fresh_dir("storage");
    let mut modgate = serve(&whole, "corp.example/*", &key, &auth_file);
    let zip = zip_of(&module_dir(LIB, 42), LIB, "v1.0.0");
    let first = put(&modgate.addr, LIB, "v1.0.0", &token, &zip);
    assert_eq!(first.status, 201, "{}", first.text());
    modgate.stop();
    let files: Vec<(&str, Vec<u8>)> = ["zip", "mod", "info", "ziphash"]
        .into_iter()
        .map(|ext| {
            let path = whole.join(format!("corp.example/lib/@v/v1.0.0.{ext}"));
            (ext, fs_err::read(path).unwrap())
        })
        .collect();

    // Killed after each file (the last: before the log took the record);
    // and killed after the .mod, once a lookup in the log had marked and
    // logged the zip.
    let mut states: Vec<(Vec<&str>, bool)> = (1..=files.len())
        .map(|n| (files[..n].iter().map(|(ext, _)| *ext).collect(), false))
        .collect();
    states.push((vec!["zip", "mod", "ziphash"], true));
    for (written, logged) in states {
        let storage = fresh_dir("storage");
        let dir = storage.join("corp.example/lib/@v");
        fs_err::create_dir_all(&dir).unwrap();
        for (ext, bytes) in files.iter().filter(|(ext, _)| written.contains(ext)) {
            fs_err::write(dir.join(format!("v1.0.0.{ext}")), bytes).unwrap();
        }
        if logged {
            copy_tree(&whole.join("sumdb"), &storage.join("sumdb"));
        }
        let modgate = serve(&storage, "corp.example/*", &key, &auth_file);
        repaired(&modgate);
        let step = format!("killed with {written:?} written (logged: {logged})");
        assert_consistent(&modgate, &storage, &vkey, &step);
    }

    // Killed while a large upload streams in: nothing of it anywhere.
    let storage = fresh_dir("storage");
    let mut modgate = serve(&storage, "corp.example/*", &key, &auth_file);
    let big = large_module_dir(1, 24);
    let body = zip_of(&big, LIB, "v1.5.0");
    let mut stream = std::net::TcpStream::connect(&modgate.addr).unwrap();
    write!(
        stream,
        "PUT /{LIB}/@v/v1.5.0.zip HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nContent-Length: {}\r\n\r\n",
        modgate.addr,
        body.len()
    )
    .unwrap();
    stream.write_all(&body[..body.len() / 2]).unwrap();
    stream.flush().unwrap();
    modgate.kill9();
    drop(stream);
    let modgate = serve(&storage, "corp.example/*", &key, &auth_file);
    repaired(&modgate);
    let list = http::get(&modgate.addr, &format!("/{LIB}/@v/list"));
    assert!(!list.text().contains("v1.5.0"), "{}", list.text());
    let left: Vec<PathBuf> = snapshot(&storage)
        .into_keys()
        .filter(|p| p.starts_with("corp.example"))
        .collect();
    assert!(left.is_empty(), "a killed upload left {left:?}");
    assert_no_panic(&modgate);
}

#[test]
fn replicas_publishing_one_version_at_once_agree_on_one_winner() {
    let s3 = S3Server::start();
    let keys = fresh_dir("keys");
    let (key, vkey) = private_db(&keys);
    let (auth_file, token) = publisher(&keys, "corp.example/*");
    let env = s3.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let storage = format!("s3://{BUCKET}/race");
    let replica = || {
        Modgate::start_env(
            &[
                "--storage",
                &storage,
                "--upstream",
                "off",
                "--private",
                "corp.example/*",
                "--private-sumdb-key",
                &key,
                "--auth-file",
                auth_file.to_str().unwrap(),
            ],
            &env,
        )
    };
    let (r1, r2) = (replica(), replica());
    let versions: Vec<String> = (0..10).map(|i| format!("v1.0.{i}")).collect();
    let uploads: Vec<[Vec<u8>; 2]> = versions
        .iter()
        .enumerate()
        .map(|(i, v)| {
            [100, 200].map(|base| {
                // One-PUT uploads only: moto checks If-None-Match on a
                // multipart upload's completion and then completes it, not
                // atomically, so two completions racing may both land
                // (AWS S3 decides them atomically). The parts path is
                // raced by a_publish_killed… and the S3 tests.
                zip_of(&module_dir(LIB, base + i as u32), LIB, v)
            })
        })
        .collect();

    // Each version: different bytes through r1 and r2 at the same moment.
    let answers: Vec<[Response; 2]> = std::thread::scope(|s| {
        let running: Vec<_> = versions
            .iter()
            .zip(&uploads)
            .map(|(v, zips)| {
                let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
                [(&r1, &zips[0]), (&r2, &zips[1])].map(|(r, zip)| {
                    let (barrier, token) = (barrier.clone(), &token);
                    s.spawn(move || {
                        barrier.wait();
                        put(&r.addr, LIB, v, token, zip)
                    })
                })
            })
            .collect();
        running
            .into_iter()
            .map(|sides| sides.map(|t| t.join().unwrap()))
            .collect()
    });
    let mut winners = BTreeMap::new();
    for (v, [a, b]) in versions.iter().zip(&answers) {
        let mut statuses = [a.status, b.status];
        statuses.sort_unstable();
        assert_eq!(statuses, [201, 409], "{v}: {} / {}", a.text(), b.text());
        let won = if a.status == 201 { a } else { b };
        let h1 = won.text().trim().rsplit(' ').next().unwrap().to_owned();
        winners.insert(format!("{LIB}@{v}"), h1);
    }

    // Every version verifies through both replicas, as its winner's bytes.
    let targets: Vec<&str> = winners.keys().map(String::as_str).collect();
    for r in [&r1, &r2] {
        let got = go::download(&verifying_go(&r.url, &vkey), &fresh_dir("work"), &targets);
        assert_eq!(got.len(), targets.len());
        for d in got {
            assert_eq!(d.sum, winners[&format!("{}@{}", d.path, d.version)]);
        }
        assert_no_panic(r);
    }
    let records = s3.keys(&format!("race/sumdb/{PRIVATE_DB}/log/record"));
    assert_eq!(records.len(), versions.len(), "{records:?}");
}

#[test]
fn a_tree_go_mod_naming_another_module_is_never_stored() {
    let tree = fresh_dir("tree");
    for (module, declared) in [
        ("example.com/fake", "example.com/real"),
        ("example.com/fine", "example.com/fine"),
    ] {
        let go_mod = format!("module {declared}\n\ngo 1.21\n");
        write_version(
            &tree,
            module,
            "v1.0.0",
            &go_mod,
            &[("go.mod", go_mod.as_bytes())],
            zip::CompressionMethod::Deflated,
        );
    }
    let storage = fresh_dir("storage");
    let modgate = Modgate::start(&storage, &format!("file://{}", tree.display()));
    let fine = http::get(&modgate.addr, "/example.com/fine/@v/v1.0.0.mod");
    assert_eq!(fine.status, 200, "{}", fine.text());
    let fake = http::get(&modgate.addr, "/example.com/fake/@v/v1.0.0.mod");
    assert_ne!(fake.status, 200, "{}", fake.text());
    assert!(
        fake.text().contains("declares module example.com/real"),
        "{}: {}",
        fake.status,
        fake.text()
    );
    assert!(
        !storage.join("example.com/fake").exists(),
        "the go.mod was stored"
    );
    assert_no_panic(&modgate);
}

/// Three replicas on one bucket, `corp.example/*` published through each.
fn replicas_args(storage: &str, key: &str, auth_file: &Path) -> Vec<String> {
    [
        "--storage",
        storage,
        "--upstream",
        "off",
        "--private",
        "corp.example/*",
        "--private-sumdb-key",
        key,
        "--auth-file",
        auth_file.to_str().unwrap(),
    ]
    .map(str::to_owned)
    .to_vec()
}

/// A rolling restart: each of three replicas in turn is stopped and
/// started again while the others take a stream of publishes. Every start
/// opens the live log, every publish lands once, and every version
/// verifies through every replica.
#[test]
fn a_rolling_restart_under_a_publish_storm_loses_nothing() {
    let s3 = S3Server::start();
    let keys = fresh_dir("keys");
    let (key, vkey) = private_db(&keys);
    let (auth_file, token) = publisher(&keys, "corp.example/*");
    let env = s3.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let args = replicas_args(&format!("s3://{BUCKET}/rolling"), &key, &auth_file);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let start = || Modgate::start_env(&args, &env);
    let mut replicas = [start(), start(), start()];
    let up: std::sync::Mutex<Vec<String>> =
        std::sync::Mutex::new(replicas.iter().map(|r| r.addr.clone()).collect());
    let done = std::sync::atomic::AtomicBool::new(false);
    let versions: Vec<String> = (0..36).map(|i| format!("v1.1.{i}")).collect();
    let zips: Vec<Vec<u8>> = versions
        .iter()
        .enumerate()
        .map(|(i, v)| zip_of(&module_dir(LIB, 500 + i as u32), LIB, v))
        .collect();

    std::thread::scope(|s| {
        let storm = s.spawn(|| {
            for (i, (v, zip)) in versions.iter().zip(&zips).enumerate() {
                // A replica being restarted is taken out of the rotation
                // first, as a load balancer would; one stopping mid-request
                // is retried on another.
                let answer = loop {
                    let addr = {
                        let up = up.lock().unwrap();
                        up[i % up.len()].clone()
                    };
                    let got = std::panic::catch_unwind(|| put(&addr, LIB, v, &token, zip));
                    if let Ok(got) = got
                        && got.status != 502
                        && got.status != 503
                    {
                        break got;
                    }
                };
                assert!(
                    answer.status == 201 || answer.status == 200,
                    "{v}: {} {}",
                    answer.status,
                    answer.text()
                );
            }
            done.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        for r in replicas.iter_mut() {
            up.lock().unwrap().retain(|a| *a != r.addr);
            r.stop();
            // Restarting while the others append: the log is live.
            *r = start();
            assert_no_panic(r);
            up.lock().unwrap().push(r.addr.clone());
        }
        storm.join().unwrap();
    });
    assert!(done.load(std::sync::atomic::Ordering::SeqCst));

    let targets: Vec<String> = versions.iter().map(|v| format!("{LIB}@{v}")).collect();
    let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
    for r in &replicas {
        let got = go::download(&verifying_go(&r.url, &vkey), &fresh_dir("work"), &targets);
        assert_eq!(got.len(), targets.len());
        for d in &got {
            assert!(d.error.is_none(), "{}@{}: {:?}", d.path, d.version, d.error);
        }
    }
    let records = s3.keys(&format!("rolling/sumdb/{PRIVATE_DB}/log/record"));
    assert_eq!(records.len(), versions.len(), "{records:?}");
}

/// A bucket that stops honouring create-only writes after start-up lets
/// two replicas replace each other's log records: one of them notices,
/// says so on /readyz and in the log, and appends no more.
#[test]
fn a_log_forked_by_a_bucket_that_ignores_create_only_writes_is_noticed() {
    let s3 = S3Server::start();
    let relay = Relay::start(s3.endpoint.trim_start_matches("http://"));
    let keys = fresh_dir("keys");
    let (key, _) = private_db(&keys);
    let (auth_file, token) = publisher(&keys, "corp.example/*");
    let env = relay.env(s3.env());
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let args = replicas_args(&format!("s3://{BUCKET}/forked"), &key, &auth_file);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // Both start on a bucket that honours them: their probes pass.
    let (r1, r2) = (
        Modgate::start_env(&args, &env),
        Modgate::start_env(&args, &env),
    );
    relay.set(Mode::IgnoreCreateOnly);
    let forked = |r: &Modgate| http::get(&r.addr, "/readyz").text().contains("forked");
    let mut i = 0;
    while !(forked(&r1) || forked(&r2)) {
        assert!(
            i < 30,
            "no fork noticed after {i} rounds of racing publishes\n{}\n{}",
            r1.logs(),
            r2.logs()
        );
        std::thread::scope(|s| {
            for (r, base) in [(&r1, 1000), (&r2, 2000)] {
                let (token, v) = (&token, format!("v1.{i}.0"));
                s.spawn(move || {
                    let module = format!("corp.example/m{base}-{i}");
                    let zip = zip_of(&module_dir(&module, base + i), &module, &v);
                    // Published, or refused once the log has forked.
                    let put = put(&r.addr, &module, &v, token, &zip);
                    assert!(
                        put.status == 201 || put.status == 503,
                        "{module}@{v}: {} {}",
                        put.status,
                        put.text()
                    );
                });
            }
        });
        // Faster than the replicas read each other's records (every 2 s):
        // one appends where the other already did, and the relay lands the
        // second write after the first was read back. Each checks what it
        // stored at that same pace.
        std::thread::sleep(std::time::Duration::from_millis(300));
        i += 1;
    }
    let noticed = if forked(&r1) { &r1 } else { &r2 };
    assert!(noticed.logs().contains("FORKED"), "{}", noticed.logs());
    // It appends no more.
    let module = "corp.example/after";
    let zip = zip_of(&module_dir(module, 7), module, "v1.0.0");
    let refused = put(&noticed.addr, module, "v1.0.0", &token, &zip);
    assert!(
        refused.status >= 500,
        "{} {}",
        refused.status,
        refused.text()
    );
}
