//! The operator's admin actions (`POST /admin/api/…`, `modgate admin`):
//! only admins, never from another site's page, audited; what they change
//! is checked in the store, and with the real go command.

use std::path::{Path, PathBuf};

use crate::access::{PRIVATE_DB, auth, module_dir, private_db, publish};
use crate::support::go::{Go, download};
use crate::support::mirror::{Mirror, write_version};
use crate::support::modgate::{self, Modgate, text};
use crate::support::{files_under, fresh_dir, http};

const LIB: &str = "example.com/lib";
const BOBS: &str = "corp.example/bob";

/// A mirror with two versions of [`LIB`] and one of [`BOBS`], and modgate
/// in front of it with an auth file: `root` is an admin, `alice` and
/// `bob` are not, and only `bob` may read [`BOBS`].
struct Site {
    modgate: Modgate,
    mirror: Mirror,
    upstream: PathBuf,
    storage: PathBuf,
    audit: PathBuf,
    root: String,
    alice: String,
}

fn user(file: &Path, name: &str, admin: bool) -> String {
    let args: &[&str] = if admin {
        &["add-user", name, "--admin"]
    } else {
        &["add-user", name]
    };
    auth(file, args, "pw-of-no-use\n");
    let out = auth(file, &["add-token", name], "");
    out.lines().last().unwrap().trim().to_owned()
}

fn site() -> Site {
    site_with(&[])
}

/// [`site`], with `extra` arguments for modgate.
fn site_with(extra: &[&str]) -> Site {
    let upstream = fresh_dir("admin-upstream");
    for v in ["v1.0.0", "v1.1.0"] {
        write_version(
            &upstream,
            LIB,
            v,
            &format!("module {LIB}\n\ngo 1.21\n"),
            &[(
                "lib.go",
                format!("package lib\n\nconst V = \"{v}\"\n").as_bytes(),
            )],
            zip::CompressionMethod::Deflated,
        );
    }
    write_version(
        &upstream,
        BOBS,
        "v1.0.0",
        &format!("module {BOBS}\n\ngo 1.21\n"),
        &[("bob.go", b"package bob\n")],
        zip::CompressionMethod::Deflated,
    );
    let mirror = Mirror::serving(upstream.clone());
    let keys = fresh_dir("admin-keys");
    let file = keys.join("auth.toml");
    let root = user(&file, "root", true);
    let alice = user(&file, "alice", false);
    user(&file, "bob", false);
    let mut rules = fs_err::read_to_string(&file).unwrap();
    rules.push_str(&format!(
        "\n[[access]]\npatterns = [\"{BOBS}\"]\nusers = [\"bob\"]\nallow = [\"read\"]\n"
    ));
    fs_err::write(&file, rules).unwrap();
    let storage = fresh_dir("admin-storage");
    let audit = keys.join("audit.log");
    let args = [
        "--storage",
        storage.to_str().unwrap(),
        "--upstream",
        &mirror.url,
        "--private",
        BOBS,
        "--auth-file",
        file.to_str().unwrap(),
        "--audit-log",
        audit.to_str().unwrap(),
    ];
    let modgate = Modgate::start_args(&[&args[..], extra].concat());
    Site {
        modgate,
        mirror,
        upstream,
        storage,
        audit,
        root,
        alice,
    }
}

impl Site {
    /// `POST /admin/api/<action>` with `body` as JSON, as `token` (none:
    /// anonymous), with `headers` besides.
    fn post(
        &self,
        action: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: &str,
    ) -> http::Response {
        self.post_as(action, token, "application/json", headers, body)
    }

    fn post_as(
        &self,
        action: &str,
        token: Option<&str>,
        content_type: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> http::Response {
        let bearer = token.map(|t| format!("Bearer {t}"));
        let mut all: Vec<(&str, &str)> = vec![("Content-Type", content_type)];
        all.extend(bearer.iter().map(|b| ("Authorization", b.as_str())));
        all.extend_from_slice(headers);
        http::request_body(
            &self.modgate.addr,
            "POST",
            &format!("/admin/api/{action}"),
            &all,
            body.as_bytes(),
        )
    }

    /// The module files in storage (not the access markers written
    /// behind hits).
    fn stored(&self) -> Vec<String> {
        files_under(&self.storage)
            .into_iter()
            .filter(|f| f.contains("/@v/") && !f.starts_with('.'))
            .collect()
    }

    /// `go mod download` of `targets` through modgate, anonymously (public
    /// modules are open), with a fresh module cache; once stored (the
    /// zip's hash is written last, behind the answer).
    fn download(&self, targets: &[&str]) {
        let go = Go::new(&self.modgate.url);
        for d in download(&go, &fresh_dir("admin-app"), targets) {
            let hash = format!("{}/@v/{}.ziphash", d.path, d.version);
            crate::support::eventually(std::time::Duration::from_secs(30), &hash, || {
                self.stored().contains(&hash)
            });
        }
    }

    fn audited(&self) -> Vec<serde_json::Value> {
        fs_err::read_to_string(&self.audit)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn modgate_admin(&self, token: &str, args: &[&str]) -> std::process::Output {
        let mut all = vec!["admin"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--proxy", &self.modgate.url]);
        modgate::run(&all, &[("MODGATE_TOKEN", token)])
    }
}

fn version_body(module: &str, version: &str) -> String {
    serde_json::json!({ "module": module, "version": version }).to_string()
}

const ADMIN: (&str, &str) = ("X-Modgate-Admin", "1");

#[test]
fn every_action_needs_the_admin_right_and_tells_nothing_of_what_is_stored() {
    let site = site();
    site.download(&[&format!("{LIB}@v1.0.0")]);
    let before = site.stored();
    assert!(
        before.iter().any(|f| f.ends_with("v1.0.0.zip")),
        "{before:?}"
    );
    let gosum = serde_json::json!({ "gosum": format!("{LIB} v1.1.0 h1:x=\n") }).to_string();
    // Stored, missing, another user's, a case variant of a private path,
    // a path out of the store.
    let targets = [
        version_body(LIB, "v1.0.0"),
        version_body("example.com/missing", "v1.0.0"),
        version_body(BOBS, "v1.0.0"),
        version_body("corp.example/BOB", "v1.0.0"),
        version_body("example.com/../../etc", "v1.0.0"),
        version_body(LIB, "../../v1.0.0"),
    ];
    for action in ["quarantine", "remove", "refresh", "prefetch"] {
        let mut answers = Vec::new();
        for body in targets.iter().chain([&gosum]) {
            let anonymous = site.post(action, None, &[ADMIN], body);
            assert_eq!(
                anonymous.status,
                401,
                "{action} {body}: {}",
                anonymous.text()
            );
            assert!(anonymous.header("www-authenticate").is_some());
            let alice = site.post(action, Some(&site.alice), &[ADMIN], body);
            assert_eq!(alice.status, 403, "{action} {body}: {}", alice.text());
            answers.push((anonymous.text(), alice.text()));
        }
        // The same refusal whatever the request names: no oracle.
        assert!(
            answers.windows(2).all(|w| w[0] == w[1]),
            "{action}: {answers:?}"
        );
        assert!(
            answers[0].1.contains("alice is not an admin"),
            "{answers:?}"
        );
        let target = match action {
            "refresh" => LIB.to_owned(),
            "prefetch" => {
                let file = fresh_dir("admin-gosum").join("go.sum");
                fs_err::write(&file, format!("{LIB} v1.1.0 h1:x=\n")).unwrap();
                file.to_str().unwrap().to_owned()
            }
            _ => format!("{LIB}@v1.0.0"),
        };
        let out = site.modgate_admin(&site.alice, &[action, &target]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(
            text(&out).contains("alice is not an admin"),
            "{}",
            text(&out)
        );
    }
    assert_eq!(site.stored(), before);
    let refused: Vec<_> = site
        .audited()
        .into_iter()
        .filter(|e| e["endpoint"] == "admin")
        .collect();
    assert!(
        refused
            .iter()
            .any(|e| e["identity"] == "alice" && e["action"] == "remove" && e["status"] == 403),
        "{refused:?}"
    );

    // An admin's attacks get a clear 4xx and change nothing either.
    for (body, status) in [
        (version_body("corp.example/BOB", "v1.0.0"), 404),
        (version_body("example.com/../../etc", "v1.0.0"), 400),
        (version_body(LIB, "../../v1.0.0"), 400),
        (version_body(LIB, "v1.0"), 400),
        (version_body("Example.com/lib", "v1.0.0"), 400),
        (version_body("example.com/LIB", "v1.0.0"), 404),
        ("{\"module\":1}".to_owned(), 400),
        ("not json".to_owned(), 400),
    ] {
        for action in ["quarantine", "remove"] {
            let resp = site.post(action, Some(&site.root), &[ADMIN], &body);
            assert_eq!(resp.status, status, "{action} {body}: {}", resp.text());
            let answer: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
            assert!(answer["error"].as_str().is_some(), "{answer}");
        }
    }
    assert_eq!(site.stored(), before);
    let logs = site.modgate.logs();
    assert!(!logs.contains("panicked"), "{logs}");
}

#[test]
fn forged_cross_site_requests_are_refused_and_change_nothing() {
    let site = site();
    site.download(&[&format!("{LIB}@v1.0.0")]);
    let before = site.stored();
    let body = version_body(LIB, "v1.0.0");
    let form = format!("module={LIB}&version=v1.0.0");
    let refusals = [
        // Another site's page: its origin, with or without the header.
        site.post(
            "remove",
            Some(&site.root),
            &[ADMIN, ("Origin", "http://evil.example")],
            &body,
        ),
        site.post(
            "remove",
            Some(&site.root),
            &[("Sec-Fetch-Site", "cross-site")],
            &body,
        ),
        site.post(
            "quarantine",
            Some(&site.root),
            &[ADMIN, ("Sec-Fetch-Site", "cross-site")],
            &body,
        ),
        // A form post, as a page elsewhere can send: no header, no token.
        site.post_as(
            "remove",
            Some(&site.root),
            "application/x-www-form-urlencoded",
            &[],
            &form,
        ),
        site.post_as(
            "remove",
            Some(&site.root),
            "application/x-www-form-urlencoded",
            &[
                ("Origin", site.modgate.url.as_str()),
                ("Sec-Fetch-Site", "same-origin"),
            ],
            &format!("{form}&token=00112233"),
        ),
    ];
    for resp in &refusals {
        assert_eq!(resp.status, 403, "{}", resp.text());
        let answer: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
        let reason = answer["error"].as_str().unwrap();
        assert!(
            reason.contains("Origin")
                || reason.contains("Sec-Fetch-Site")
                || reason.contains("X-Modgate-Admin"),
            "{reason}"
        );
    }
    assert_eq!(site.stored(), before);
    let audited = site.audited();
    let refused = audited
        .iter()
        .filter(|e| e["identity"] == "root" && e["status"] == 403 && e["endpoint"] == "admin")
        .count();
    assert_eq!(refused, refusals.len(), "{audited:?}");

    // The same request from modgate's own origin with the header is taken.
    let own = site.post(
        "remove",
        Some(&site.root),
        &[
            ADMIN,
            ("Origin", site.modgate.url.as_str()),
            ("Sec-Fetch-Site", "same-origin"),
        ],
        &body,
    );
    assert_eq!(own.status, 200, "{}", own.text());
    assert!(!site.stored().iter().any(|f| f.contains("v1.0.0")));
}

#[test]
fn a_removed_version_is_fetched_again_from_upstream() {
    let site = site();
    site.download(&[&format!("{LIB}@v1.0.0"), &format!("{LIB}@v1.1.0")]);
    let listed = |site: &Site| {
        http::request(
            &site.modgate.addr,
            "GET",
            &format!("/{LIB}/@v/list"),
            &[("Disable-Module-Fetch", "true")],
        )
        .text()
    };
    assert_eq!(listed(&site), "v1.0.0\nv1.1.0\n");

    let out = site.modgate_admin(&site.root, &["remove", &format!("{LIB}@v1.1.0")]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("{LIB}@v1.1.0: 4 files removed")),
        "{}",
        text(&out)
    );
    assert!(!site.stored().iter().any(|f| f.contains("v1.1.0")));
    assert_eq!(listed(&site), "v1.0.0\n");
    let latest = http::request(
        &site.modgate.addr,
        "GET",
        &format!("/{LIB}/@latest"),
        &[("Disable-Module-Fetch", "true")],
    );
    assert!(latest.text().contains("v1.0.0"), "{}", latest.text());
    let again = site.modgate_admin(&site.root, &["remove", &format!("{LIB}@v1.1.0")]);
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again).contains("is not stored"), "{}", text(&again));

    let hits = site.mirror.hits();
    site.download(&[&format!("{LIB}@v1.1.0")]);
    assert!(site.mirror.hits() > hits, "fetched again from the mirror");
    crate::support::eventually(std::time::Duration::from_secs(30), "stored again", || {
        site.stored().iter().any(|f| f.ends_with("v1.1.0.zip"))
    });

    // Quarantine sets the files aside instead; refresh forgets the list.
    let out = site.modgate_admin(&site.root, &["quarantine", &format!("{LIB}@v1.0.0")]);
    assert!(out.status.success(), "{}", text(&out));
    let aside = files_under(&site.storage.join(".quarantine"));
    assert!(aside.iter().any(|f| f.ends_with("v1.0.0.zip")), "{aside:?}");
    assert!(!site.stored().iter().any(|f| f.contains("v1.0.0")));
    // A version tagged upstream after the list was cached shows once the
    // list is refreshed.
    let list = || http::get(&site.modgate.addr, &format!("/{LIB}/@v/list")).text();
    assert_eq!(list(), "v1.0.0\nv1.1.0\n");
    write_version(
        &site.upstream,
        LIB,
        "v1.2.0",
        &format!("module {LIB}\n\ngo 1.21\n"),
        &[("lib.go", b"package lib\n")],
        zip::CompressionMethod::Deflated,
    );
    assert_eq!(list(), "v1.0.0\nv1.1.0\n", "cached");
    let out = site.modgate_admin(&site.root, &["refresh", LIB]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(list(), "v1.0.0\nv1.1.0\nv1.2.0\n");
    let actions: Vec<_> = site
        .audited()
        .into_iter()
        .filter(|e| e["identity"] == "root" && e["status"] == 200)
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    for action in ["remove", "quarantine", "refresh"] {
        assert!(actions.iter().any(|a| a == action), "{actions:?}");
    }
}

#[test]
fn a_version_modgates_checksum_database_records_stays() {
    let keys = fresh_dir("admin-sumdb");
    let (key, _vkey) = private_db(&keys);
    let file = keys.join("auth.toml");
    let root = user(&file, "ci", true);
    let mut rules = fs_err::read_to_string(&file).unwrap();
    rules.push_str(
        "\n[[access]]\npatterns = [\"corp.example/*\"]\nusers = [\"ci\"]\nallow = [\"read\", \"publish\"]\n",
    );
    fs_err::write(&file, rules).unwrap();
    let storage = fresh_dir("admin-storage");
    let modgate = Modgate::start_args(&[
        "--storage",
        storage.to_str().unwrap(),
        "--upstream",
        "off",
        "--private",
        "corp.example/*",
        "--private-sumdb-key",
        &key,
        "--auth-file",
        file.to_str().unwrap(),
    ]);
    let lib = "corp.example/lib";
    let out = publish(
        &module_dir(lib, 7),
        lib,
        "v1.0.0",
        &modgate.url,
        &[("MODGATE_TOKEN", &root)],
    );
    assert!(out.status.success(), "publish: {}", text(&out));
    let before = files_under(&storage);
    for action in ["quarantine", "remove"] {
        let out = modgate::run(
            &[
                "admin",
                action,
                "--proxy",
                &modgate.url,
                &format!("{lib}@v1.0.0"),
            ],
            &[("MODGATE_TOKEN", &root)],
        );
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        let said = text(&out);
        assert!(said.contains("409"), "{said}");
        assert!(
            said.contains(&format!(
                "{lib}@v1.0.0 is recorded in modgate's checksum database {PRIVATE_DB}"
            )),
            "{said}"
        );
    }
    assert_eq!(files_under(&storage), before);
}

#[test]
fn a_prefetched_go_sum_makes_its_versions_hits() {
    let site = site();
    // The go.sum lines, as go writes them from the mirror itself.
    let direct = Go::new(&site.mirror.url);
    let got = download(
        &direct,
        &fresh_dir("admin-sums"),
        &[&format!("{LIB}@v1.0.0")],
    );
    let mut gosum = String::new();
    for d in &got {
        gosum.push_str(&format!("{} {} {}\n", d.path, d.version, d.sum));
        gosum.push_str(&format!(
            "{} {}/go.mod {}\n",
            d.path, d.version, d.go_mod_sum
        ));
    }
    // A line whose hash is not what the upstream serves, and bob's module,
    // which alice may not read (below).
    let wrong = format!("{LIB} v1.1.0/go.mod h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n");
    let file = fresh_dir("admin-gosum").join("go.sum");
    fs_err::write(&file, format!("{gosum}{wrong}")).unwrap();
    let out = site.modgate_admin(&site.root, &["prefetch", file.to_str().unwrap()]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "the mismatch fails: {said}");
    assert!(said.contains(&format!("fetched  {LIB}@v1.0.0")), "{said}");
    assert!(
        said.contains(&format!(
            "MISMATCH {LIB}@v1.1.0: go.mod: go.sum says h1:AAAA"
        )),
        "{said}"
    );

    // Hits now: answered with fetching disabled, and go fetches nothing more.
    for file in ["v1.0.0.mod", "v1.0.0.zip"] {
        let resp = http::request(
            &site.modgate.addr,
            "GET",
            &format!("/{LIB}/@v/{file}"),
            &[("Disable-Module-Fetch", "true")],
        );
        assert_eq!(resp.status, 200, "{file}: {}", resp.text());
    }
    let hits = site.mirror.hits();
    site.download(&[&format!("{LIB}@v1.0.0")]);
    assert_eq!(site.mirror.hits(), hits, "served from the cache");
    let again = site.modgate_admin(&site.root, &["prefetch", file.to_str().unwrap()]);
    assert!(
        text(&again).contains(&format!("cached   {LIB}@v1.0.0")),
        "{}",
        text(&again)
    );

    // Each line passes the gate: a case variant of bob's private path is
    // refused, and nothing is fetched for it.
    let case = "corp.example/BOB v1.0.0/go.mod h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
    let resp = site.post(
        "prefetch",
        Some(&site.root),
        &[ADMIN],
        &serde_json::json!({ "gosum": case }).to_string(),
    );
    let answer: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
    assert_eq!(answer["versions"][0]["outcome"], "failed", "{answer}");
    assert_eq!(answer["versions"][0]["status"], 404, "{answer}");
    assert!(!site.stored().iter().any(|f| f.contains("!b!o!b")));

    // Bad go.sum text and too much of it: clear 4xx.
    for (gosum, status) in [
        ("not a go.sum line\n".to_owned(), 400),
        (String::new(), 400),
        (
            (0..2001)
                .map(|i| format!("example.com/m{i} v1.0.0 h1:x=\n"))
                .collect(),
            413,
        ),
    ] {
        let resp = site.post(
            "prefetch",
            Some(&site.root),
            &[ADMIN],
            &serde_json::json!({ "gosum": gosum }).to_string(),
        );
        assert_eq!(resp.status, status, "{}", resp.text());
    }
}

#[test]
fn a_prefetch_obeys_the_policy() {
    let config = fresh_dir("admin-policy").join("modgate.toml");
    fs_err::write(&config, format!("[[policy]]\ndeny = [\"{LIB}@<v1.1.0\"]\n")).unwrap();
    let site = site_with(&["--config", config.to_str().unwrap()]);
    let gosum = format!(
        "{LIB} v1.0.0/go.mod h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n{LIB} v1.1.0/go.mod h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
    );
    let resp = site.post(
        "prefetch",
        Some(&site.root),
        &[ADMIN],
        &serde_json::json!({ "gosum": gosum }).to_string(),
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    let answer: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
    let denied = &answer["versions"][0];
    assert_eq!(denied["outcome"], "failed", "{answer}");
    assert_eq!(denied["status"], 403, "{answer}");
    assert!(
        denied["message"].as_str().unwrap().contains("policy"),
        "{answer}"
    );
    // The other is fetched (its go.mod only: the go.sum lists no zip).
    assert_eq!(answer["versions"][1]["outcome"], "mismatch", "{answer}");
    let stored = site.stored();
    assert!(!stored.iter().any(|f| f.contains("v1.0.0")), "{stored:?}");
    assert!(
        stored.iter().any(|f| f.ends_with("v1.1.0.mod")),
        "{stored:?}"
    );
}
