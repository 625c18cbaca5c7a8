//! Checksum databases: modgate verifies every public version against one
//! before storing it, proxies and caches `/sumdb/NAME/…` for the go
//! command, and runs a private database of its own that go verifies.
//!
//! The reference database is x/mod's own server (support/checksum_db.rs).
//! Its name does not resolve and the go command's HTTPS proxy is a closed
//! port, so the go command reaches a database only through modgate's
//! `/sumdb/` (GOSUMDB names a key without a URL).

use std::path::Path;
use std::process::{Command, Output};

use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::support::checksum_db::{
    self, ChecksumDb, NAME, Options, prebuild, sumdb_go, tampered, tree_of,
};
use crate::support::fixture::{ALPHA, BETA, Fixture, GAMMA, GAMMA_V2, LEGACY, UNTAGGED, UPPER};
use crate::support::go::{self, Downloaded, Go};
use crate::support::mirror::{Behaviour, Mirror};
use crate::support::modgate::Modgate;
use crate::support::{fresh_dir, http};

/// The private database's name.
const PRIVATE: &str = "sumdb.private.modgate.test";

// ---------------------------------------------------------------------------
// Helpers

/// The shared fixture, while the reference database builds alongside.
fn fixture() -> &'static Fixture {
    prebuild();
    Fixture::get()
}

/// modgate checking public versions against `gosumdb`.
fn start_verifying(storage: &Path, upstream: &str, gosumdb: &str) -> Modgate {
    Modgate::start_args_raw(&[
        "--storage",
        storage.to_str().unwrap(),
        "--upstream",
        upstream,
        "--sumdb",
        gosumdb,
    ])
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn output_text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn find<'a>(got: &'a [Downloaded], target: &str) -> Option<&'a Downloaded> {
    got.iter()
        .find(|d| format!("{}@{}", d.path, d.version) == target)
}

/// `go mod download` of `targets` verifies every one, with the true hashes.
fn assert_verified(go: &Go, targets: &[&str], modgate: &Modgate) {
    let fx = Fixture::get();
    let (got, out) = go::try_download(go, &fresh_dir("work"), targets);
    let mut problems = Vec::new();
    for target in targets {
        let Some(d) = find(&got, target) else {
            problems.push(format!("{target}: go reported nothing"));
            continue;
        };
        if let Some(e) = &d.error {
            problems.push(format!("{target}: {e}"));
            continue;
        }
        let want = fx.download(&d.path, &d.version);
        if d.sum != want.sum || d.go_mod_sum != want.go_mod_sum {
            problems.push(format!(
                "{target}: hashes {} {}, want {} {}",
                d.sum, d.go_mod_sum, want.sum, want.go_mod_sum
            ));
        }
    }
    assert!(
        problems.is_empty() && out.status.success(),
        "go mod download through modgate (GOSUMDB={:?}):\n{}\n\ngo's stderr:\n{}\n\nmodgate's log:\n{}",
        go_env(go, "GOSUMDB"),
        problems.join("\n"),
        String::from_utf8_lossy(&out.stderr),
        tail(&modgate.logs(), 60)
    );
}

fn go_env(go: &Go, key: &str) -> String {
    let out = go.try_run(&fresh_dir("work"), &["env", key]);
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The tree head the go command keeps for database `name` in its GOPATH.
fn cached_tree(gopath: &Path, name: &str) -> (u64, String) {
    let file = gopath.join("pkg/sumdb").join(name).join("latest");
    let note = fs_err::read_to_string(&file).unwrap_or_else(|e| {
        panic!("the go command kept no tree head of {name} ({e}): it never talked to it")
    });
    tree_of(&note)
}

fn assert_no_panic(modgate: &Modgate) {
    let logs = modgate.logs();
    assert!(!logs.contains("panicked"), "modgate panicked:\n{logs}");
}

/// Every file under `dir` whose content is `bytes`.
fn files_holding(dir: &Path, bytes: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs_err::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if fs_err::read(&p).is_ok_and(|b| b == bytes) {
                found.push(p.display().to_string());
            }
        }
    }
    found
}

fn is_not_found(status: u16) -> bool {
    status == 404 || status == 410
}

/// `modgate sumdb keygen`.
fn keygen_command(name: &str, out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_modgate"))
        .args(["sumdb", "keygen", "--name", name, "--out"])
        .arg(out)
        .env_remove("MODGATE_CONFIG")
        .output()
        .expect("run modgate sumdb keygen")
}

/// A new signer key in `out`; returns the verifier key modgate printed.
fn keygen(name: &str, out: &Path) -> String {
    let run = keygen_command(name, out);
    assert!(
        run.status.success(),
        "modgate sumdb keygen --name {name} failed:\n{}",
        output_text(&run)
    );
    let stdout = String::from_utf8_lossy(&run.stdout);
    let key = stdout
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(&format!("{name}+")))
        .unwrap_or_else(|| panic!("no verifier key `{name}+…` printed:\n{stdout}"))
        .to_owned();
    check_verifier_key(&key, name);
    key
}

/// `NAME+HASH+KEY` as golang.org/x/mod/sumdb/note writes it: HASH is the
/// first 4 bytes of SHA-256(NAME "\n" KEY), KEY is 0x01 and an Ed25519
/// public key.
fn check_verifier_key(key: &str, name: &str) {
    // The name has no '+'; the base64 key may.
    let parts: Vec<&str> = key.splitn(3, '+').collect();
    assert_eq!(parts.len(), 3, "verifier key {key:?}");
    let (got_name, hash, b64) = (parts[0], parts[1], parts[2]);
    assert_eq!(got_name, name, "verifier key {key:?}");
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap_or_else(|e| panic!("verifier key {key:?}: {e}"));
    assert_eq!(raw.len(), 33, "verifier key {key:?}: 1 + 32 bytes");
    assert_eq!(raw[0], 1, "verifier key {key:?}: algorithm 1 (Ed25519)");
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update(&raw);
    let sum = h.finalize();
    assert_eq!(
        hash,
        format!("{:02x}{:02x}{:02x}{:02x}", sum[0], sum[1], sum[2], sum[3]),
        "verifier key {key:?}: key hash"
    );
}

fn sumdb_get(modgate: &Modgate, name: &str, rest: &str) -> http::Response {
    http::get(&modgate.addr, &format!("/sumdb/{name}/{rest}"))
}

// ---------------------------------------------------------------------------
// The reference database itself

/// The fixture for everything below: go itself verifies the fixture against
/// the reference database, and catches the tampered zip (which is therefore
/// a valid module zip that only the database tells apart).
#[test]
fn reference_database_verifies_the_fixture_and_catches_the_tampered_zip() {
    let fx = fixture();
    let db = ChecksumDb::for_fixture(Options {
        pad: 300,
        preload: false,
        ..Default::default()
    });
    let targets = fx.resolved_targets();
    let tree = format!("file://{}", fx.tree.display());
    let go = sumdb_go(&tree, &db.gosumdb());
    let got = go::download(&go, &fresh_dir("work"), &strs(&targets));
    for d in &got {
        let want = fx.download(&d.path, &d.version);
        assert_eq!(d.sum, want.sum, "{}@{}", d.path, d.version);
    }
    let (n, _) = cached_tree(&go.home.join("gopath"), NAME);
    assert_eq!(n, 300 + targets.len() as u64, "{}", db.logs());
    assert!(db.stats().lookup >= targets.len() as u64);

    let t = tampered();
    let mirror = Mirror::start(Behaviour {
        root: Some(fx.tree.clone()),
        overrides: vec![(t.zip_path.clone(), t.zip.clone())],
        ..Default::default()
    });
    let go = sumdb_go(&mirror.url, &db.gosumdb());
    let target = format!("{}@{}", t.path, t.version);
    let (got, out) = go::try_download(&go, &fresh_dir("work"), &[&target]);
    assert!(!out.status.success());
    let err = find(&got, &target)
        .and_then(|d| d.error.clone())
        .unwrap_or_else(|| panic!("no error for {target}:\n{}", output_text(&out)));
    assert!(
        err.contains("checksum mismatch") && err.contains(&t.sum) && err.contains(&t.true_sum),
        "go's error for the tampered zip: {err}"
    );
}

// ---------------------------------------------------------------------------
// Verification of public versions

/// (a) Every good version verifies, through modgate, for modgate and for
/// the go command; the tampered zip is refused with both hashes and never
/// stored.
#[test]
fn public_versions_are_verified_and_a_tampered_zip_is_never_stored() {
    let fx = fixture();
    let t = tampered();
    let db = ChecksumDb::for_fixture(Options {
        pad: 300,
        preload: false,
        ..Default::default()
    });
    let mirror = Mirror::start(Behaviour {
        root: Some(fx.tree.clone()),
        overrides: vec![(t.zip_path.clone(), t.zip.clone())],
        ..Default::default()
    });
    let storage = fresh_dir("storage");
    let modgate = start_verifying(&storage, &mirror.url, &db.gosumdb());
    let go = sumdb_go(&modgate.url, &db.key);

    let targets = fx.resolved_targets();
    let bad = format!("{}@{}", t.path, t.version);
    let (got, out) = go::try_download(&go, &fresh_dir("work"), &strs(&targets));
    let mut problems = Vec::new();
    for target in &targets {
        let Some(d) = find(&got, target) else {
            problems.push(format!("{target}: go reported nothing"));
            continue;
        };
        if *target == bad {
            match &d.error {
                None => problems.push(format!("{target}: the tampered zip was accepted")),
                Some(e) => {
                    eprintln!("go's error for the tampered zip:\n{e}");
                    for part in [t.path, t.version, &t.true_sum, &t.sum] {
                        if !e.contains(part) {
                            problems.push(format!("{target}: the error does not name {part}: {e}"));
                        }
                    }
                }
            }
            continue;
        }
        let want = fx.download(&d.path, &d.version);
        match &d.error {
            Some(e) => problems.push(format!("{target}: {e}")),
            None if d.sum != want.sum || d.go_mod_sum != want.go_mod_sum => {
                problems.push(format!("{target}: hashes {} {}", d.sum, d.go_mod_sum))
            }
            None => {}
        }
    }
    assert!(
        problems.is_empty(),
        "{}\n\ngo's stderr:\n{}\n\nmodgate's log:\n{}",
        problems.join("\n"),
        String::from_utf8_lossy(&out.stderr),
        tail(&modgate.logs(), 80)
    );
    assert!(!out.status.success(), "go mod download must fail for {bad}");

    // Never stored, not even under another name.
    assert!(
        !storage.join(&t.zip_path).exists(),
        "the tampered zip is in modgate's storage"
    );
    assert_eq!(files_holding(&storage, &t.zip), Vec::<String>::new());

    // Asked again, still refused, still not stored.
    let resp = http::get(&modgate.addr, &format!("/{}", t.zip_path));
    assert!(resp.status >= 400, "{}: {}", resp.status, resp.text());
    assert!(!storage.join(&t.zip_path).exists());
    assert_eq!(files_holding(&storage, &t.zip), Vec::<String>::new());

    // The go command's database traffic went through modgate (it has a tree
    // head of NAME, which it can reach only there), and modgate answered
    // its lookups from its cache: the database saw each version once.
    let (n, _) = cached_tree(&go.home.join("gopath"), NAME);
    assert!(n > 300, "tree size {n}");
    let stats = db.stats();
    assert!(
        stats.lookup >= 1 && stats.lookup <= targets.len() as u64,
        "the database answered {} lookups for {} versions:\n{}",
        stats.lookup,
        targets.len(),
        db.logs()
    );
    assert_no_panic(&modgate);

    // Asked directly (the first request of a fresh modgate), modgate says
    // why: module, version, expected and received hash.
    let storage = fresh_dir("storage");
    let modgate = start_verifying(&storage, &mirror.url, &db.gosumdb());
    let resp = http::get(&modgate.addr, &format!("/{}", t.zip_path));
    let body = resp.text();
    assert!(resp.status >= 400, "{}: {}", resp.status, body);
    for part in [t.path, t.version, &t.true_sum, &t.sum] {
        assert!(
            body.contains(part),
            "the refusal of the tampered zip does not name {part}: {} {body}",
            resp.status
        );
    }
    assert!(!storage.join(&t.zip_path).exists());
    assert_eq!(files_holding(&storage, &t.zip), Vec::<String>::new());
    assert_no_panic(&modgate);
}

/// (b) With the database gone, versions verified earlier still verify for
/// a fresh go command: lookups and tiles come from modgate's cache, and
/// from its storage after a restart.
#[test]
fn verified_versions_and_their_proofs_are_served_while_the_database_is_down() {
    let fx = fixture();
    let mut db = ChecksumDb::for_fixture(Options {
        pad: 1000,
        preload: true,
        ..Default::default()
    });
    let mirror = Mirror::serving(fx.tree.clone());
    let storage = fresh_dir("storage");
    let modgate = start_verifying(&storage, &mirror.url, &db.gosumdb());
    // All but one version, which is never verified.
    let unseen = format!("{LEGACY}@v1.0.0");
    let targets: Vec<String> = fx
        .resolved_targets()
        .into_iter()
        .filter(|t| *t != unseen)
        .collect();
    let targets = strs(&targets);

    assert_verified(&sumdb_go(&modgate.url, &db.key), &targets, &modgate);
    let seen = db.stats();
    assert!(
        seen.lookup > 0 && seen.tile > 0,
        "modgate verified nothing against the database: {seen:?}"
    );

    db.stop();
    let go = sumdb_go(&modgate.url, &db.key);
    assert_verified(&go, &targets, &modgate);
    assert_eq!(
        cached_tree(&go.home.join("gopath"), NAME).0,
        1000 + fx.downloads.len() as u64
    );
    // A version it could not verify is not served (fail closed).
    let zip = format!("{LEGACY}/@v/v1.0.0.zip");
    let resp = http::get(&modgate.addr, &format!("/{zip}"));
    assert!(
        resp.status >= 400,
        "unverifiable {unseen}: {} {}",
        resp.status,
        resp.text()
    );
    assert!(!storage.join(&zip).exists(), "{unseen} stored unverified");

    drop(modgate);
    let modgate = start_verifying(&storage, &mirror.url, &db.gosumdb());
    assert_verified(&sumdb_go(&modgate.url, &db.key), &targets, &modgate);
    assert_no_panic(&modgate);
}

/// A go.mod that differs from the published one is refused like a zip.
#[test]
fn a_tampered_go_mod_is_refused_and_not_stored() {
    let fx = fixture();
    let db = ChecksumDb::for_fixture(Options::default());
    let (path, version) = (BETA, "v0.1.0");
    let mod_path = format!("{path}/@v/{version}.mod");
    let real = fs_err::read_to_string(fx.tree.join(&mod_path)).unwrap();
    let mirror = Mirror::start(Behaviour {
        root: Some(fx.tree.clone()),
        overrides: vec![(
            mod_path.clone(),
            format!("{real}\nrequire {ALPHA} v1.0.0\n").into_bytes(),
        )],
        ..Default::default()
    });
    let storage = fresh_dir("storage");
    let modgate = start_verifying(&storage, &mirror.url, &db.gosumdb());
    let resp = http::get(&modgate.addr, &format!("/{mod_path}"));
    let body = resp.text();
    assert!(resp.status >= 400, "{}: {body}", resp.status);
    let true_sum = &fx.download(path, version).go_mod_sum;
    for part in [path, version, true_sum.as_str()] {
        assert!(
            body.contains(part),
            "the refusal of the tampered go.mod does not name {part}: {} {body}",
            resp.status
        );
    }
    assert!(!storage.join(&mod_path).exists(), "tampered go.mod stored");

    // go fails for it, and only for it.
    let go = sumdb_go(&modgate.url, &db.key);
    let target = format!("{path}@{version}");
    let good = format!("{path}@v0.2.0");
    let (got, out) = go::try_download(&go, &fresh_dir("work"), &[&target, &good]);
    assert!(!out.status.success(), "{}", output_text(&out));
    assert!(
        find(&got, &target).is_some_and(|d| d.error.is_some()),
        "{}",
        output_text(&out)
    );
    assert!(
        find(&got, &good).is_some_and(|d| d.error.is_none()),
        "{}",
        output_text(&out)
    );
    assert!(!storage.join(&mod_path).exists(), "tampered go.mod stored");
    assert_no_panic(&modgate);
}

/// A public version the database does not have is refused (as the go
/// command refuses it); a `--private` one is never looked up.
#[test]
fn versions_the_database_lacks_are_refused_unless_private() {
    let fx = fixture();
    let gosum: String = checksum_db::fixture_gosum()
        .lines()
        .filter(|l| !l.starts_with(&format!("{BETA} ")))
        .map(|l| format!("{l}\n"))
        .collect();
    let db = ChecksumDb::start(&gosum, Options::default());
    let mirror = Mirror::serving(fx.tree.clone());
    let zip = format!("{BETA}/@v/v0.1.0.zip");

    let storage = fresh_dir("storage");
    let modgate = start_verifying(&storage, &mirror.url, &db.gosumdb());
    let resp = http::get(&modgate.addr, &format!("/{zip}"));
    assert!(
        resp.status >= 400,
        "a version the database lacks: {} {}",
        resp.status,
        resp.text()
    );
    assert!(!storage.join(&zip).exists(), "stored unverified");
    let alpha = http::get(&modgate.addr, &format!("/{ALPHA}/@v/v1.0.0.zip"));
    assert_eq!(alpha.status, 200, "{}", alpha.text());
    assert_no_panic(&modgate);
    drop(modgate);

    // Private: built from git, never looked up.
    let looked_up = db.logs().lines().count();
    let gitconfig = crate::support::scratch().join("gitconfig");
    let storage = fresh_dir("storage");
    let modgate = Modgate::start_env_raw(
        &[
            "--storage",
            storage.to_str().unwrap(),
            "--upstream",
            &mirror.url,
            "--sumdb",
            &db.gosumdb(),
            "--private",
            BETA,
        ],
        &[
            ("GIT_CONFIG_GLOBAL", gitconfig.to_str().unwrap()),
            ("GIT_CONFIG_NOSYSTEM", "1"),
        ],
    );
    let go = sumdb_go(&modgate.url, &db.key).env("GONOSUMDB", BETA);
    let targets = [format!("{BETA}@v0.1.0"), format!("{ALPHA}@v1.0.0")];
    assert_verified(&go, &strs(&targets), &modgate);
    let later: Vec<String> = db
        .logs()
        .lines()
        .skip(looked_up)
        .filter(|l| l.contains("modgate-test/beta"))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        later,
        Vec::<String>::new(),
        "a private module was looked up"
    );
    assert_no_panic(&modgate);
}

/// A database answering with another key's signatures is not trusted.
#[test]
fn a_database_signing_with_another_key_is_refused() {
    let fx = fixture();
    let trusted = ChecksumDb::for_fixture(Options::default());
    let impostor = ChecksumDb::for_fixture(Options::default());
    assert_ne!(trusted.key, impostor.key);
    let mirror = Mirror::serving(fx.tree.clone());
    let storage = fresh_dir("storage");
    let gosumdb = format!("{} {}", trusted.key, impostor.url);
    let modgate = start_verifying(&storage, &mirror.url, &gosumdb);
    let zip = format!("{ALPHA}/@v/v1.0.0.zip");
    let resp = http::get(&modgate.addr, &format!("/{zip}"));
    assert!(
        resp.status >= 400,
        "verified against a note of another key: {} {}",
        resp.status,
        resp.text()
    );
    assert!(impostor.stats().lookup > 0, "the database was not asked");
    assert!(!storage.join(&zip).exists(), "stored unverified");
    assert_no_panic(&modgate);
}

/// A database that rewrites its history (same key, a tree that does not
/// contain the one modgate saw) is caught by modgate.
#[test]
fn a_forked_database_is_detected_by_modgate() {
    let fx = fixture();
    let signer = fresh_dir("sumdb-fork").join("signer.key");
    let mut first = ChecksumDb::for_fixture(Options {
        signer: Some(signer.clone()),
        ..Default::default()
    });
    let mirror = Mirror::serving(fx.tree.clone());
    let storage = fresh_dir("storage");
    let modgate = start_verifying(&storage, &mirror.url, &first.gosumdb());
    for v in ["v1.0.0", "v1.1.0"] {
        let resp = http::get(&modgate.addr, &format!("/{ALPHA}/@v/{v}.zip"));
        assert_eq!(resp.status, 200, "{}", resp.text());
    }
    let key = first.key.clone();
    let addr = first.addr.clone();
    first.stop();

    // Same key, same address, another history.
    let forked = ChecksumDb::for_fixture(Options {
        pad: 5,
        signer: Some(signer),
        listen: Some(addr),
        ..Default::default()
    });
    assert_eq!(forked.key, key);
    let refused = |modgate: &Modgate, version: &str| {
        let zip = format!("{BETA}/@v/{version}.zip");
        let resp = http::get(&modgate.addr, &format!("/{zip}"));
        assert!(
            resp.status >= 400,
            "{BETA}@{version} verified against a forked database: {} {}\n{}",
            resp.status,
            resp.text(),
            forked.logs()
        );
        assert!(!storage.join(&zip).exists(), "stored unverified");
    };
    refused(&modgate, "v0.1.0");
    assert!(
        forked.stats().lookup > 0,
        "the forked database was not asked"
    );
    assert_no_panic(&modgate);

    // The tree head it verified is kept in storage: a restart remembers it.
    drop(modgate);
    let modgate = start_verifying(&storage, &mirror.url, &forked.gosumdb());
    refused(&modgate, "v0.2.0");
    assert_no_panic(&modgate);
}

// ---------------------------------------------------------------------------
// /sumdb/ endpoints

/// (d) The proxied database answers byte for byte as the database does;
/// other names are not found; malformed paths are 400 or 404, never 5xx.
#[test]
fn sumdb_proxy_endpoints_answer_like_the_database_and_refuse_bad_paths() {
    let fx = fixture();
    let db = ChecksumDb::for_fixture(Options {
        pad: 0,
        preload: true,
        ..Default::default()
    });
    let mirror = Mirror::serving(fx.tree.clone());
    let modgate = start_verifying(&fresh_dir("storage"), &mirror.url, &db.gosumdb());

    let supported = sumdb_get(&modgate, NAME, "supported");
    assert_eq!(supported.status, 200, "{}", supported.text());
    for other in ["sum.golang.org", "other.example.com"] {
        let resp = sumdb_get(&modgate, other, "supported");
        assert!(
            is_not_found(resp.status),
            "/sumdb/{other}/supported: {} {}",
            resp.status,
            resp.text()
        );
    }

    // Byte for byte what the database answers (its tree does not grow).
    let n = Fixture::get().downloads.len();
    for rest in [
        "latest".to_owned(),
        "lookup/github.com/!modgate-!test/!upper@v1.0.0".to_owned(),
        "lookup/github.com/modgate-test/gamma/v2@v2.1.0".to_owned(),
        format!("tile/8/0/000.p/{n}"),
        format!("tile/8/0/000.p/{}", n - 1),
        format!("tile/8/data/000.p/{n}"),
    ] {
        let want = http::get(&db.addr, &format!("/{rest}"));
        assert_eq!(want.status, 200, "the database: /{rest}: {}", want.text());
        let got = sumdb_get(&modgate, NAME, &rest);
        assert_eq!(got.status, 200, "/sumdb/{NAME}/{rest}: {}", got.text());
        assert!(
            got.body == want.body,
            "/sumdb/{NAME}/{rest}: {:?}, the database: {:?}",
            got.text(),
            want.text()
        );
    }
    let upper = sumdb_get(
        &modgate,
        NAME,
        "lookup/github.com/!modgate-!test/!upper@v1.0.0",
    )
    .text();
    let want = fx.download(UPPER, "v1.0.0");
    assert!(
        upper.contains(&format!("{UPPER} v1.0.0 {}\n", want.sum))
            && upper.contains(&format!("{UPPER} v1.0.0/go.mod {}\n", want.go_mod_sum)),
        "{upper}"
    );

    // Not in the database.
    let resp = sumdb_get(&modgate, NAME, "lookup/example.com/unknown@v1.0.0");
    assert!(
        is_not_found(resp.status),
        "lookup of an unknown version: {} {}",
        resp.status,
        resp.text()
    );

    // Malformed.
    for rest in [
        "tile/8/0/x",
        "tile/8/0/000.p/0",
        "tile/8/0/000.p/257",
        "tile/8/0/000.p/x",
        "tile/99/0/000",
        "tile/8/-1/000",
        "tile/8/0",
        "tile/",
        "tile/8/0/1000",
        "tile/8/0/000.p/200",
        "tile/8/0/../../../../../../etc/passwd",
        "tile/8/0/%2e%2e/%2e%2e/latest",
        "lookup/not-a-module",
        "lookup/github.com/modgate-test/alpha@latest",
        "lookup/github.com/modgate-test/alpha@v1.0.0/../../x",
        "lookup/../../../etc/passwd",
        "../../../../etc/passwd",
        "nonsense",
    ] {
        let resp = sumdb_get(&modgate, NAME, rest);
        assert!(
            resp.status == 400 || is_not_found(resp.status),
            "/sumdb/{NAME}/{rest}: {} {}",
            resp.status,
            resp.text()
        );
        assert!(!resp.text().contains("root:"), "{rest}");
    }
    let resp = http::get(&modgate.addr, "/sumdb/../../etc/passwd");
    assert!(resp.status == 400 || is_not_found(resp.status));
    assert!(!resp.text().contains("root:"));
    assert_no_panic(&modgate);
}

// ---------------------------------------------------------------------------
// modgate's own database

/// (e) keygen writes a 0600 signer key, prints a verifier key go can parse,
/// and never overwrites a key.
#[test]
fn keygen_writes_a_private_key_and_prints_the_verifier_key() {
    use std::os::unix::fs::PermissionsExt;

    let dir = fresh_dir("keygen");
    let file = dir.join("signer.key");
    let verifier = keygen(PRIVATE, &file);
    let mode = fs_err::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "signer key mode {mode:o}");
    let secret = fs_err::read(&file).unwrap();
    assert!(!secret.is_empty());
    assert!(
        !String::from_utf8_lossy(&secret).contains(&verifier),
        "the signer key file holds the verifier key only"
    );

    // Again: refused, the key is untouched.
    let again = keygen_command(PRIVATE, &file);
    assert!(
        !again.status.success(),
        "keygen overwrote {}: {}",
        file.display(),
        output_text(&again)
    );
    assert_eq!(fs_err::read(&file).unwrap(), secret);
    assert!(!output_text(&again).trim().is_empty(), "a refusal says why");

    // Another key is another key.
    let other = keygen(PRIVATE, &dir.join("other.key"));
    assert_ne!(other, verifier);
}

/// (c) go verifies everything modgate serves against modgate's own
/// database; a restart continues the same log; a database that forgot its
/// log (same key, empty storage) is caught by the go command.
#[test]
fn private_database_is_verified_by_go_continues_after_a_restart_and_a_fork_is_detected() {
    let fx = fixture();
    let key_file = fresh_dir("private-sumdb").join("signer.key");
    let verifier = keygen(PRIVATE, &key_file);
    let upstream = format!("file://{}", fx.tree.display());
    let start = |storage: &Path| {
        Modgate::start_args(&[
            "--storage",
            storage.to_str().unwrap(),
            "--upstream",
            &upstream,
            "--private-sumdb-key",
            key_file.to_str().unwrap(),
        ])
    };
    let head = |modgate: &Modgate| {
        let resp = sumdb_get(modgate, PRIVATE, "latest");
        assert_eq!(resp.status, 200, "{}", resp.text());
        let (n, hash) = tree_of(&resp.text());
        assert!(
            resp.text().contains(&format!("\n— {PRIVATE} ")),
            "signed by {PRIVATE}: {}",
            resp.text()
        );
        (n, hash)
    };
    let storage = fresh_dir("storage");
    let mut modgate = start(&storage);
    let resp = sumdb_get(&modgate, PRIVATE, "supported");
    assert_eq!(resp.status, 200, "{}", resp.text());

    let go = sumdb_go(&modgate.url, &verifier);
    let gopath = go.home.join("gopath");
    let alpha1 = format!("{ALPHA}@v1.0.0");
    let first = [
        alpha1.as_str(),
        "github.com/modgate-test/alpha@v1.1.0",
        "github.com/modgate-test/beta@v0.1.0",
    ];
    assert_verified(&go, &first, &modgate);
    assert!(cached_tree(&gopath, PRIVATE).0 >= 1);
    let (n1, hash1) = head(&modgate);
    assert_eq!(n1, 3, "one record per version served");

    // A crash and a restart: the same log goes on.
    modgate.kill9();
    let modgate = start(&storage);
    assert_eq!(head(&modgate), (n1, hash1), "the log after a restart");
    let go = sumdb_go(&modgate.url, &verifier).env("GOPATH", gopath.to_str().unwrap());
    let second = [
        format!("{BETA}@v0.2.0"),
        format!("{UPPER}@v1.0.0"),
        alpha1.clone(),
    ];
    assert_verified(&go, &strs(&second), &modgate);
    let (n2, _) = head(&modgate);
    assert_eq!(n2, 5, "two new versions appended, a known one not again");
    let (cached, _) = cached_tree(&gopath, PRIVATE);
    assert!(cached > n1, "the go command saw the log grow: {cached}");
    drop(modgate);

    // A fork: same key, empty storage, a different history. A go command
    // that has never seen this database trusts it...
    let forked = start(&fresh_dir("storage"));
    let newcomer = sumdb_go(&forked.url, &verifier);
    let history = [
        format!("{GAMMA}@v1.0.0"),
        format!("{LEGACY}@v1.0.0"),
        format!("{LEGACY}@v2.0.0+incompatible"),
        format!("{GAMMA_V2}@v2.0.0"),
        format!("{GAMMA_V2}@v2.1.0"),
        format!("{ALPHA}@v1.2.0-rc.1"),
    ];
    for target in &history {
        assert_verified(&newcomer, &[target.as_str()], &forked);
    }
    assert!(head(&forked).0 > cached);

    // ...but one that remembers the old tree head refuses it. With the
    // old tiles in its module cache, the new tree head is proven to fork.
    let remembers = sumdb_go(&forked.url, &verifier)
        .env("GOPATH", gopath.to_str().unwrap())
        .env("GOMODCACHE", go.modcache().to_str().unwrap());
    let untagged = format!("{UNTAGGED}@{}", fx.untagged_version());
    let (_, out) = go::try_download(&remembers, &fresh_dir("work"), &[&untagged]);
    let text = output_text(&out);
    assert!(
        !out.status.success(),
        "go accepted a forked database:\n{text}"
    );
    assert!(
        text.contains("SECURITY ERROR") && text.contains("misbehavior") && text.contains(PRIVATE),
        "go's error for a forked database:\n{text}"
    );
    eprintln!("go's error for a forked database:\n{text}");
    // With a fresh module cache, the old tree head itself fails to check
    // out against the new database's tiles.
    let fresh_cache = sumdb_go(&forked.url, &verifier).env("GOPATH", gopath.to_str().unwrap());
    let (_, out) = go::try_download(&fresh_cache, &fresh_dir("work"), &[&alpha1]);
    let text = output_text(&out);
    assert!(
        !out.status.success(),
        "go accepted a forked database:\n{text}"
    );
    assert!(
        text.contains("SECURITY ERROR") || text.contains("inconsistent"),
        "go's error for a forked database (fresh module cache):\n{text}"
    );
    eprintln!("go's error for a forked database (fresh module cache):\n{text}");
    assert_no_panic(&forked);
}

/// (d) modgate's own database: supported for its name only, and the same
/// refusals of malformed paths.
#[test]
fn private_database_endpoints() {
    let fx = fixture();
    // A key with a '+' in its base64 (the separator of NAME+HASH+KEY).
    let dir = fresh_dir("private-sumdb");
    let (key_file, verifier) = (0..64)
        .map(|i| {
            let file = dir.join(format!("signer-{i}.key"));
            let verifier = keygen(PRIVATE, &file);
            (file, verifier)
        })
        .find(|(_, v)| v.splitn(3, '+').nth(2).is_some_and(|k| k.contains('+')))
        .expect("a key with a '+' in 64 tries");
    let modgate = Modgate::start_args(&[
        "--storage",
        fresh_dir("storage").to_str().unwrap(),
        "--upstream",
        &format!("file://{}", fx.tree.display()),
        "--private-sumdb-key",
        key_file.to_str().unwrap(),
    ]);
    assert_eq!(sumdb_get(&modgate, PRIVATE, "supported").status, 200);
    for other in [NAME, "sum.golang.org"] {
        let resp = sumdb_get(&modgate, other, "supported");
        assert!(
            is_not_found(resp.status),
            "/sumdb/{other}/supported: {}",
            resp.status
        );
    }
    // An empty log is a valid one.
    let latest = sumdb_get(&modgate, PRIVATE, "latest");
    assert_eq!(latest.status, 200, "{}", latest.text());
    assert_eq!(tree_of(&latest.text()).0, 0);

    // Served once, then in the log, under its escaped path.
    let zip = http::get(
        &modgate.addr,
        "/github.com/!modgate-!test/!upper/@v/v1.0.0.zip",
    );
    assert_eq!(zip.status, 200, "{}", zip.text());
    let lookup = sumdb_get(
        &modgate,
        PRIVATE,
        "lookup/github.com/!modgate-!test/!upper@v1.0.0",
    );
    assert_eq!(lookup.status, 200, "{}", lookup.text());
    let want = fx.download(UPPER, "v1.0.0");
    let text = lookup.text();
    assert!(
        text.starts_with("0\n")
            && text.contains(&format!("{UPPER} v1.0.0 {}\n", want.sum))
            && text.contains(&format!("{UPPER} v1.0.0/go.mod {}\n", want.go_mod_sum))
            && text.contains("go.sum database tree\n1\n")
            && text.contains(&format!("\n— {PRIVATE} ")),
        "{text}"
    );
    let tile = sumdb_get(&modgate, PRIVATE, "tile/8/0/000.p/1");
    assert_eq!(tile.status, 200, "{}", tile.text());
    assert_eq!(tile.body.len(), 32);

    let resp = sumdb_get(&modgate, PRIVATE, "lookup/example.com/unknown@v1.0.0");
    assert!(
        resp.status == 400 || is_not_found(resp.status),
        "{} {}",
        resp.status,
        resp.text()
    );
    for rest in [
        "tile/8/0/x",
        "tile/8/0/000.p/0",
        "tile/8/0/000.p/257",
        "tile/8/0/000.p/2",
        "tile/8/0/000",
        "tile/8/1/000.p/1",
        "tile/99/0/000",
        "tile/8/0/../../../../../../etc/passwd",
        "lookup/not-a-module",
        "lookup/../../../etc/passwd",
        "nonsense",
    ] {
        let resp = sumdb_get(&modgate, PRIVATE, rest);
        assert!(
            resp.status == 400 || is_not_found(resp.status),
            "/sumdb/{PRIVATE}/{rest}: {} {}",
            resp.status,
            resp.text()
        );
        assert!(!resp.text().contains("root:"), "{rest}");
    }
    // Signed with the key keygen printed.
    let key_hash = verifier.split('+').nth(1).unwrap();
    let sig = text
        .lines()
        .find_map(|l| l.strip_prefix(&format!("— {PRIVATE} ")))
        .unwrap();
    let sig = base64::engine::general_purpose::STANDARD
        .decode(sig)
        .unwrap();
    assert_eq!(sig.len(), 4 + 64, "{text}");
    assert_eq!(
        format!("{:02x}{:02x}{:02x}{:02x}", sig[0], sig[1], sig[2], sig[3]),
        key_hash,
        "signed by the key keygen printed: {text}"
    );
    assert_no_panic(&modgate);
}

/// A zip's hash is written after the zip, as its commit mark; a crash in
/// between leaves a whole zip without one, which the log hashes again.
#[test]
fn a_zip_stored_without_its_hash_is_hashed_again_for_the_private_log() {
    let fx = fixture();
    let key_file = fresh_dir("private-sumdb").join("signer.key");
    keygen(PRIVATE, &key_file);
    let upstream = format!("file://{}", fx.tree.display());
    let storage = fresh_dir("storage");
    let args = [
        "--storage",
        storage.to_str().unwrap(),
        "--upstream",
        &upstream,
    ];
    let mut without_log = Modgate::start_args(&args);
    let path = format!("/{ALPHA}/@v/v1.0.0.zip");
    assert_eq!(http::get(&without_log.addr, &path).status, 200);
    let mark = storage.join(format!("{ALPHA}/@v/v1.0.0.ziphash"));
    crate::support::eventually(std::time::Duration::from_secs(30), "the stored zip", || {
        mark.exists()
    });
    without_log.kill9();
    fs_err::remove_file(&mark).unwrap();

    let with_log = Modgate::start_args(
        &[
            &args[..],
            &["--private-sumdb-key", key_file.to_str().unwrap()],
        ]
        .concat(),
    );
    let resp = sumdb_get(&with_log, PRIVATE, &format!("lookup/{ALPHA}@v1.0.0"));
    assert_eq!(resp.status, 200, "{}", resp.text());
    let sum = &fx.download(ALPHA, "v1.0.0").sum;
    assert!(
        resp.text().contains(&format!("{ALPHA} v1.0.0 {sum}")),
        "{}",
        resp.text()
    );
    assert_eq!(
        fs_err::read_to_string(&mark).unwrap().trim(),
        sum,
        "the mark is back"
    );
    assert_no_panic(&with_log);
}

/// `modgate verify`: stored files checked against their hashes and the
/// kept proofs of the checksum database; `--quarantine` sets failures aside
/// and they are fetched (and verified) again.
#[test]
fn verify_finds_corrupted_objects_and_quarantine_gets_them_fetched_again() {
    let fx = fixture();
    let db = ChecksumDb::for_fixture(Options::default());
    let upstream = format!("file://{}", fx.tree.display());
    let storage = fresh_dir("storage");
    let mut modgate = start_verifying(&storage, &upstream, &db.gosumdb());
    let targets = [
        format!("{ALPHA}@v1.0.0"),
        format!("{BETA}@v0.1.0"),
        format!("{BETA}@v0.2.0"),
    ];
    assert_verified(&sumdb_go(&modgate.url, &db.key), &strs(&targets), &modgate);
    modgate.stop();
    let verify = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_modgate"))
            .args([
                "verify",
                "--storage",
                storage.to_str().unwrap(),
                "--sumdb",
                NAME,
                "--json",
            ])
            .args(extra)
            .output()
            .unwrap();
        let report: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", output_text(&out)));
        (out.status.success(), report)
    };
    let (ok, report) = verify(&[]);
    assert!(ok, "a clean store fails: {report}");
    assert_eq!(
        (report["zips"].as_u64(), report["mods"].as_u64()),
        (Some(3), Some(3)),
        "{report}"
    );

    // Bit rot in a go.mod; a zip replaced by another module's (and its hash with it).
    let at = |rel: &str| storage.join(format!("github.com/modgate-test/{rel}"));
    let go_mod = at("alpha/@v/v1.0.0.mod");
    let mut text = fs_err::read_to_string(&go_mod).unwrap();
    text.push_str("// rot\n");
    fs_err::write(&go_mod, text).unwrap();
    fs_err::copy(at("beta/@v/v0.1.0.zip"), at("beta/@v/v0.2.0.zip")).unwrap();
    fs_err::copy(at("beta/@v/v0.1.0.ziphash"), at("beta/@v/v0.2.0.ziphash")).unwrap();
    let (ok, report) = verify(&[]);
    assert!(!ok);
    let failed: Vec<(String, String)> = report["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                format!(
                    "{}@{}",
                    f["module"].as_str().unwrap(),
                    f["version"].as_str().unwrap()
                ),
                f["file"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        failed,
        [
            (format!("{ALPHA}@v1.0.0"), "mod".to_owned()),
            (format!("{BETA}@v0.2.0"), "zip".to_owned())
        ],
        "{report}"
    );

    // Set aside, fetched again, verified, and the store is clean again.
    let (_, report) = verify(&["--quarantine"]);
    assert!(
        report["failures"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["quarantined"] == true)
    );
    assert!(
        storage
            .join(".quarantine/github.com/modgate-test/beta/@v/v0.2.0.zip")
            .exists()
    );
    let modgate = start_verifying(&storage, &upstream, &db.gosumdb());
    assert_verified(&sumdb_go(&modgate.url, &db.key), &strs(&targets), &modgate);
    drop(modgate);
    let (ok, report) = verify(&[]);
    assert!(ok, "{report}");
}
