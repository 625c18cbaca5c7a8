//! One gate: every entry point that names a module (the GOPROXY endpoints,
//! lookups in modgate's own and in the proxied checksum database, errors)
//! asks one access check, with module paths compared as go escapes them and
//! case-insensitively against `--private` and `[[access]]` patterns.
//! Each test is an attack: it counts what reached an upstream, a checksum
//! database or the store, and what a refusal tells.

use std::path::Path;

use crate::access::{PRIVATE_DB, auth, module_dir, private_db, publish};
use crate::support::checksum_db::{ChecksumDb, NAME, Options, prebuild, sumdb_go};
use crate::support::faulty::{Fault, Faulty};
use crate::support::fixture::{ALPHA, BETA, Fixture};
use crate::support::go::Go;
use crate::support::mirror::Mirror;
use crate::support::modgate::{Modgate, text};
use crate::support::repos::{PRIVATE, Repos};
use crate::support::{fresh_dir, http};

/// A user with a token, added to the auth file: the token.
fn user_with_token(file: &Path, name: &str) -> String {
    auth(file, &["add-user", name], "pw-of-no-use\n");
    let out = auth(file, &["add-token", name], "");
    out.lines().last().unwrap().trim().to_owned()
}

fn add_rule(file: &Path, pattern: &str, user: &str) {
    let mut text = fs_err::read_to_string(file).unwrap();
    text.push_str(&format!(
        "\n[[access]]\npatterns = [\"{pattern}\"]\nusers = [\"{user}\"]\nallow = [\"read\"]\n"
    ));
    fs_err::write(file, text).unwrap();
}

fn get_as(modgate: &Modgate, token: Option<&str>, path: &str) -> http::Response {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = bearer
        .iter()
        .map(|b| ("Authorization", b.as_str()))
        .collect();
    http::request(&modgate.addr, "GET", path, &headers)
}

fn assert_no_panic(modgate: &Modgate) {
    let logs = modgate.logs();
    assert!(!logs.contains("panicked"), "{logs}");
}

/// GitHub resolves owners and repositories case-insensitively: a case
/// variant of a private path is the private repository. modgate refuses it
/// with a 404 that says why, and asks no upstream proxy and no git.
#[test]
fn a_case_variant_of_a_private_path_reaches_no_upstream_and_no_git() {
    let repos = Repos::get();
    // Where git would fetch the case variant from (GitHub would serve the
    // private repository there): it counts connections.
    let variant_host = Faulty::start(Fault::Reset, fresh_dir("gate-empty"));
    let gitconfig = fresh_dir("gate-git").join("gitconfig");
    let mut config = fs_err::read_to_string(&repos.gitconfig).unwrap();
    config.push_str(&format!(
        "[url \"https://{}/modgate-private/\"]\n\tinsteadOf = https://github.com/Modgate-Private/\n",
        variant_host.url.trim_start_matches("http://")
    ));
    fs_err::write(&gitconfig, config).unwrap();
    let mirror = Mirror::failing(404);
    let storage = fresh_dir("storage");
    let modgate = Modgate::start_env(
        &[
            "--storage",
            storage.to_str().unwrap(),
            "--upstream",
            &format!("{},direct", mirror.url),
            "--private",
            "github.com/modgate-private/*",
        ],
        &[
            ("GIT_CONFIG_GLOBAL", gitconfig.to_str().unwrap()),
            ("GIT_CONFIG_NOSYSTEM", "1"),
        ],
    );
    // The private module itself comes from git.
    let ok = http::get(&modgate.addr, &format!("/{PRIVATE}/@v/list"));
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(mirror.hits(), 0);

    let variant = "github.com/Modgate-Private/secret";
    let escaped = "github.com/!modgate-!private/secret";
    for rest in [
        "@v/list",
        "@latest",
        "@v/v1.0.0.info",
        "@v/v1.0.0.mod",
        "@v/v1.0.0.zip",
        "@v/main.info",
    ] {
        let resp = http::get(&modgate.addr, &format!("/{escaped}/{rest}"));
        assert_eq!(resp.status, 404, "{rest}: {}", resp.text());
        assert!(
            resp.text().contains(variant) && resp.text().contains("--private"),
            "{rest}: the refusal says why: {}",
            resp.text()
        );
    }
    // Publishing one asks the same gate.
    let put = http::request_body(
        &modgate.addr,
        "PUT",
        &format!("/{escaped}/@v/v1.0.1.zip"),
        &[],
        b"PK\x03\x04 not read",
    );
    assert_eq!(put.status, 404, "{}", put.text());
    // The go command, which escapes the path itself, gets the same.
    let app = fresh_dir("gate-app");
    fs_err::write(app.join("go.mod"), "module example.com/app\n\ngo 1.21\n").unwrap();
    let out =
        Go::new(&modgate.url).try_run(&app, &["mod", "download", &format!("{variant}@v1.0.0")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("404") && err.contains("--private"),
        "{err}"
    );
    assert_eq!(mirror.hits(), 0, "a case variant was asked of the upstream");
    assert!(!storage.join(escaped).exists(), "a case variant was stored");
    assert_eq!(
        variant_host.connections(),
        0,
        "git was asked for the case variant"
    );
    assert_no_panic(&modgate);
}

/// A lookup in modgate's own checksum database names a module: it is
/// answered only to who may read that module, fetches nothing otherwise,
/// tells nothing about existence, and is audited.
#[test]
fn own_database_lookups_answer_only_what_the_caller_may_read() {
    let fx = Fixture::get();
    let mirror = Mirror::serving(fx.tree.clone());
    let dir = fresh_dir("gate-auth");
    let file = dir.join("auth.toml");
    let bob = user_with_token(&file, "bob");
    let _carol = user_with_token(&file, "carol");
    add_rule(&file, ALPHA, "bob");
    add_rule(&file, BETA, "carol");
    let (key, _) = private_db(&dir);
    let audit = dir.join("audit.log");
    let storage = fresh_dir("storage");
    let modgate = Modgate::start_args(&[
        "--storage",
        storage.to_str().unwrap(),
        "--upstream",
        &mirror.url,
        "--private-sumdb-key",
        &key,
        "--auth-file",
        file.to_str().unwrap(),
        "--audit-log",
        audit.to_str().unwrap(),
    ]);
    let lookup = |module: &str, version: &str| {
        get_as(
            &modgate,
            Some(&bob),
            &format!("/sumdb/{PRIVATE_DB}/lookup/{module}@{version}"),
        )
    };
    // bob may read alpha: its lookup is answered (and fetched).
    let ok = lookup(ALPHA, "v1.0.0");
    assert_eq!(ok.status, 200, "{}", ok.text());
    let hits = mirror.hits();
    assert!(hits > 0);

    // Not beta: existing or not, the same refusal, and nothing fetched.
    let existing = lookup(BETA, "v0.1.0");
    let missing = lookup(BETA, "v0.99.0");
    let variant = lookup("github.com/!modgate-!test/beta", "v0.1.0");
    assert_eq!(existing.status, 403, "{}", existing.text());
    assert_eq!(
        (existing.status, existing.text()),
        (missing.status, missing.text()),
        "a refusal tells whether the version exists"
    );
    assert!(
        variant.status == 403 || variant.status == 404,
        "{} {}",
        variant.status,
        variant.text()
    );
    // Anonymous: the rule guards the case variant too.
    let anonymous = get_as(&modgate, None, "/github.com/!modgate-!test/beta/@v/list");
    assert_eq!(anonymous.status, 401, "{}", anonymous.text());
    assert_eq!(mirror.hits(), hits, "a refused lookup reached the upstream");
    assert!(
        !storage.join("github.com/modgate-test/beta").exists()
            && !storage.join("github.com/!modgate-!test/beta").exists(),
        "a refused lookup stored the version"
    );

    let audit_text = fs_err::read_to_string(&audit).unwrap();
    let entries: Vec<serde_json::Value> = audit_text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for (module, version, status) in [
        (ALPHA, "v1.0.0", 200),
        (BETA, "v0.1.0", 403),
        (BETA, "v0.99.0", 403),
    ] {
        assert!(
            entries.iter().any(|e| e["action"] == "read"
                && e["endpoint"] == "sumdb-lookup"
                && e["identity"] == "bob"
                && e["module"] == module
                && e["version"] == version
                && e["status"] == status),
            "{module}@{version} not audited: {audit_text}"
        );
    }
    assert_no_panic(&modgate);
}

/// A private path is never sent to the public checksum database, whoever
/// forgot GONOSUMDB: 404 with the reason, which go shows.
#[test]
fn private_paths_are_never_looked_up_in_the_public_database() {
    const PAYROLL: &str = "corp.example/internal/payroll";
    prebuild();
    let fx = Fixture::get();
    let db = ChecksumDb::for_fixture(Options::default());
    let dir = fresh_dir("gate-auth");
    let file = dir.join("auth.toml");
    auth(&file, &["add-user", "ci", "--admin"], "\n");
    let out = auth(&file, &["add-token", "ci"], "");
    let token = out.lines().last().unwrap().trim().to_owned();
    add_rule(&file, "corp.example/internal", "anonymous");
    let modgate = Modgate::start_args_raw(&[
        "--storage",
        fresh_dir("storage").to_str().unwrap(),
        "--upstream",
        &format!("file://{}", fx.tree.display()),
        "--sumdb",
        &db.gosumdb(),
        "--private",
        "corp.example/internal",
        "--auth-file",
        file.to_str().unwrap(),
    ]);
    let out = publish(
        &module_dir(PAYROLL, 1),
        PAYROLL,
        "v1.2.3",
        &modgate.url,
        &[("MODGATE_TOKEN", &token)],
    );
    assert!(out.status.success(), "{}", text(&out));
    for (escaped, path) in [
        (PAYROLL, PAYROLL),
        (
            "corp.example/!internal/payroll",
            "corp.example/Internal/payroll",
        ),
    ] {
        let resp = http::get(
            &modgate.addr,
            &format!("/sumdb/{NAME}/lookup/{escaped}@v1.2.3"),
        );
        assert_eq!(resp.status, 404, "{path}: {}", resp.text());
        assert!(
            resp.text().contains(&format!(
                "{path} is private (--private); it is not looked up in {NAME}"
            )),
            "{}",
            resp.text()
        );
    }
    // A developer who forgot GONOSUMDB: go asks modgate's /sumdb/ and
    // prints why it got nothing.
    let app = fresh_dir("gate-app");
    fs_err::write(app.join("go.mod"), "module example.com/app\n\ngo 1.21\n").unwrap();
    let go = sumdb_go(&modgate.url, &db.key);
    let out = go.try_run(&app, &["mod", "download", &format!("{PAYROLL}@v1.2.3")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("is private (--private)"),
        "{err}"
    );
    assert_eq!(
        db.stats().lookup,
        0,
        "a private path reached the public checksum database"
    );
    // Public modules are still looked up.
    let ok = http::get(
        &modgate.addr,
        &format!("/sumdb/{NAME}/lookup/{ALPHA}@v1.0.0"),
    );
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert!(db.stats().lookup > 0);
    assert_no_panic(&modgate);
}

/// An upstream's last failure, shown to the next client while it is
/// skipped, and /readyz name no module path another client asked for.
#[test]
fn errors_and_health_name_no_module_path_of_another_client() {
    const SECRET: &str = "example.com/secret-project";
    let mirror = Mirror::failing(500);
    let dir = fresh_dir("gate-auth");
    let file = dir.join("auth.toml");
    let alice = user_with_token(&file, "alice");
    add_rule(&file, "example.com/secret-*", "alice");
    let modgate = Modgate::start_args(&[
        "--storage",
        fresh_dir("storage").to_str().unwrap(),
        "--upstream",
        &mirror.url,
        "--private",
        "corp.example/*",
        "--auth-file",
        file.to_str().unwrap(),
    ]);
    // alice's requests fail until the upstream is skipped.
    let skipped = (0..10).any(|_| {
        let resp = get_as(&modgate, Some(&alice), &format!("/{SECRET}/@v/list"));
        assert!(resp.status >= 500, "{}", resp.text());
        resp.text().contains("skipped")
    });
    assert!(skipped, "the failing upstream is never skipped");
    let resp = get_as(&modgate, None, "/example.com/public/@v/list");
    assert!(resp.status >= 500, "{}", resp.text());
    assert!(
        resp.text().contains("skipped, failing for"),
        "the skip still says since when: {}",
        resp.text()
    );
    assert!(
        !resp.text().contains(SECRET),
        "another client's module path in an error: {}",
        resp.text()
    );
    for page in ["/readyz", "/"] {
        let resp = get_as(&modgate, None, page);
        assert!(
            !resp.text().contains(SECRET),
            "{page} names a module path: {}",
            resp.text()
        );
    }
    assert_no_panic(&modgate);
}
