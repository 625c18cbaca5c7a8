//! `[[policy]]` at the proxy, judged by the real go command: with vulnerable
//! versions denied, `go get M@latest` resolves to the highest version with
//! no known vulnerability, and downloading a denied version prints
//! modgate's one-line reason; dry-run rules and waivers let versions
//! through and say so in the audit log and the metrics.

use std::path::Path;
use std::time::Duration;

use crate::support::eventually;
use crate::support::go::Go;
use crate::support::mirror::{self, Mirror};
use crate::support::modgate::Modgate;
use crate::support::vulndb::{self, DEPRECATED, RETRACTED, VULNERABLE};
use crate::support::{files_under, fresh_dir, http};

#[test]
fn denies_vulnerable_versions_so_go_picks_the_highest_compliant_one() {
    let tree = fresh_dir("policy-tree");
    let advisories = vulndb::governance_tree(&tree);
    let db = fresh_dir("policy-db");
    vulndb::write(&db, &advisories, "2025-01-01T00:00:00Z");
    let db_server = Mirror::serving(db);
    let dir = fresh_dir("policy-config");
    let config = dir.join("modgate.toml");
    fs_err::write(
        &config,
        format!(
            "[[policy]]\n\
             deny = [\"vulnerable\", \"{RETRACTED}@<v1.0.1\"]\n\
             waive = [{{ module = \"{RETRACTED}@v1.0.0\", expires = \"2999-12-31\", reason = \"migration in progress\" }}]\n\
             \n\
             [[policy]]\n\
             dry-run = true\n\
             deny = [\"{DEPRECATED}\"]\n"
        ),
    )
    .unwrap();
    let audit_log = dir.join("audit.log");
    let storage = fresh_dir("policy-storage");
    let modgate = Modgate::start_args(&[
        "--config",
        config.to_str().unwrap(),
        "--storage",
        storage.to_str().unwrap(),
        "--upstream",
        &format!("file://{}", tree.display()),
        "--vulndb",
        &db_server.url,
        "--audit-log",
        audit_log.to_str().unwrap(),
    ]);
    struct Logs<'a>(&'a Modgate);
    impl Drop for Logs<'_> {
        fn drop(&mut self) {
            if std::thread::panicking() {
                eprintln!("{}", self.0.logs());
            }
        }
    }
    let _logs = Logs(&modgate);
    eventually(Duration::from_secs(30), "the mirror", || {
        http::get(&modgate.addr, "/vuln/index/db.json").status == 200
    });

    let list = http::get(&modgate.addr, &format!("/{VULNERABLE}/@v/list"));
    assert_eq!(list.status, 200);
    assert_eq!(list.text(), "v1.2.0\n");

    let go = Go::new(&modgate.url);
    let app = fresh_dir("policy-app");
    fs_err::write(app.join("go.mod"), "module example.com/app\n\ngo 1.21\n").unwrap();
    go.run(&app, &["get", &format!("{VULNERABLE}@latest")]);
    let go_mod = fs_err::read_to_string(app.join("go.mod")).unwrap();
    assert!(go_mod.contains(&format!("{VULNERABLE} v1.2.0")), "{go_mod}");

    let out = go.try_run(&app, &["mod", "download", &format!("{VULNERABLE}@v1.1.0")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("403 Forbidden"), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "modgate policy: {VULNERABLE}@v1.1.0 is denied (rule \"vulnerable\"): GO-2025-0001 (CVE-2025-0001); fixed in v1.2.0"
        )),
        "{stderr}"
    );
    let zip = http::get(&modgate.addr, &format!("/{VULNERABLE}/@v/v1.3.0.zip"));
    assert_eq!(zip.status, 403);
    assert!(zip.text().contains("GO-2025-0003"), "{}", zip.text());

    // A waiver and a dry run let their versions through, and say so.
    go.run(&app, &["mod", "download", &format!("{RETRACTED}@v1.0.0")]);
    go.run(&app, &["mod", "download", &format!("{DEPRECATED}@v1.0.0")]);
    let log = fs_err::read_to_string(&audit_log).unwrap();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|e: &serde_json::Value| e["action"] == "policy")
        .collect();
    let said = |module: &str, status: u64, text: &str| {
        lines.iter().any(|e| {
            e["module"] == module
                && e["status"] == status
                && e["policy"].as_str().is_some_and(|p| p.contains(text))
        })
    };
    assert!(said(VULNERABLE, 403, "GO-2025-0001"), "{log}");
    assert!(
        said(
            RETRACTED,
            200,
            "waived until 2999-12-31: migration in progress"
        ),
        "{log}"
    );
    assert!(said(DEPRECATED, 200, "is denied"), "{log}");
    let metrics = http::get(&modgate.addr, "/metrics").text();
    for decision in ["deny", "waived", "would_deny"] {
        assert!(
            metrics.contains(&format!(
                "modgate_policy_decisions_total{{decision=\"{decision}\"}}"
            )),
            "{decision}: {metrics}"
        );
    }
}

#[test]
fn denies_retracted_versions_with_their_rationale() {
    let tree = fresh_dir("policy-retracted-tree");
    vulndb::governance_tree(&tree);
    let dir = fresh_dir("policy-retracted");
    let config = dir.join("modgate.toml");
    fs_err::write(
        &config,
        "vulndb = 'off'\n\n[[policy]]\ndeny = ['retracted']\n",
    )
    .unwrap();
    let modgate = Modgate::start_args(&[
        "--config",
        config.to_str().unwrap(),
        "--storage",
        fresh_dir("policy-retracted-storage").to_str().unwrap(),
        "--upstream",
        &format!("file://{}", tree.display()),
    ]);
    let list = http::get(&modgate.addr, &format!("/{RETRACTED}/@v/list"));
    assert_eq!(list.text(), "v1.0.1\n");
    let go = Go::new(&modgate.url);
    let app = fresh_dir("policy-retracted-app");
    fs_err::write(app.join("go.mod"), "module example.com/app\n\ngo 1.21\n").unwrap();
    let out = go.try_run(&app, &["mod", "download", &format!("{RETRACTED}@v1.0.0")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "modgate policy: {RETRACTED}@v1.0.0 is denied (rule \"retracted\"): retracted by its author: Published with a broken API."
        )),
        "{stderr}"
    );
    go.run(&app, &["mod", "download", &format!("{RETRACTED}@v1.0.1")]);
}

#[test]
fn a_rule_may_name_the_advisories_it_denies() {
    let tree = fresh_dir("policy-ids-tree");
    let db = fresh_dir("policy-ids-db");
    vulndb::write(&db, &vulndb::governance_tree(&tree), "2025-01-01T00:00:00Z");
    let db_server = Mirror::serving(db);
    let config = fresh_dir("policy-ids").join("modgate.toml");
    fs_err::write(&config, "[[policy]]\ndeny = ['vulnerable:CVE-2025-0003']\n").unwrap();
    let modgate = Modgate::start_args(&[
        "--config",
        config.to_str().unwrap(),
        "--storage",
        fresh_dir("policy-ids-storage").to_str().unwrap(),
        "--upstream",
        &format!("file://{}", tree.display()),
        "--vulndb",
        &db_server.url,
    ]);
    eventually(Duration::from_secs(30), "the mirror", || {
        http::get(&modgate.addr, "/vuln/index/db.json").status == 200
    });
    let list = http::get(&modgate.addr, &format!("/{VULNERABLE}/@v/list"));
    assert_eq!(list.text(), "v1.0.0\nv1.1.0\nv1.2.0\n");
    let info = http::get(&modgate.addr, &format!("/{VULNERABLE}/@v/v1.3.0.info"));
    assert_eq!(info.status, 403);
    assert!(
        info.text()
            .contains("(rule \"vulnerable:CVE-2025-0003\"): GO-2025-0003"),
        "{}",
        info.text()
    );
}

/// A denied release cannot be had by another name for its commit: not by a
/// pseudo-version of that commit, nor by a pseudo-version derived from a
/// version a range denies. And a lookup in modgate's own checksum database
/// of a denied version fetches, stores and logs nothing.
#[test]
fn denied_versions_are_not_reachable_by_pseudo_versions_or_lookups() {
    const M: &str = "example.com/gated";
    const RANGED: &str = "example.com/ranged";
    // Every pseudo-version's commit time is its .info time, as go writes it.
    let same = "v0.0.0-20250101000000-0123456789ab";
    let after_tag = "v1.7.4-0.20250101000000-0123456789ab";
    let after_denied_base = "v1.2.1-0.20240301000000-aaaaaaaaaaaa";
    let unrelated = "v0.0.0-20240901000000-bbbbbbbbbbbb";
    let tree = fresh_dir("policy-pseudo-tree");
    let write = |module: &str, versions: &[(&str, &str)], tagged: &str| {
        write_versions(&tree, module, versions, Some(tagged));
    };
    write(
        M,
        &[
            ("v1.7.2", "2024-06-01T00:00:00Z"),
            ("v1.7.3", "2025-01-01T00:00:00Z"),
            (same, "2025-01-01T00:00:00Z"),
            (after_tag, "2025-01-01T00:00:00Z"),
            (unrelated, "2024-09-01T00:00:00Z"),
        ],
        "v1.7.2\nv1.7.3\n",
    );
    write(
        RANGED,
        &[
            ("v1.2.0", "2024-01-01T00:00:00Z"),
            ("v1.3.0", "2024-06-01T00:00:00Z"),
            (after_denied_base, "2024-03-01T00:00:00Z"),
        ],
        "v1.2.0\nv1.3.0\n",
    );
    let mirror = Mirror::serving(tree);
    let dir = fresh_dir("policy-pseudo-config");
    let config = dir.join("modgate.toml");
    fs_err::write(
        &config,
        format!("[[policy]]\ndeny = [\"{M}@v1.7.3\", \"{RANGED}@<=v1.2.0\"]\n"),
    )
    .unwrap();
    let (key, _) = crate::access::private_db(&dir);
    let storage = fresh_dir("policy-pseudo-storage");
    let modgate = Modgate::start_args(&[
        "--config",
        config.to_str().unwrap(),
        "--storage",
        storage.to_str().unwrap(),
        "--upstream",
        &mirror.url,
        "--private-sumdb-key",
        &key,
    ]);
    let go = Go::new(&modgate.url);
    let app = fresh_dir("policy-pseudo-app");
    let download = |module: &str, version: &str| {
        go.try_run(
            &app,
            &["mod", "download", "-json", &format!("{module}@{version}")],
        )
    };
    for (module, version, why) in [
        (M, same, "is the commit of v1.7.3"),
        (M, after_tag, "is the commit of v1.7.3"),
        (RANGED, after_denied_base, "is a commit after v1.2.0"),
    ] {
        let out = download(module, version);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!out.status.success(), "{version} was served: {stdout}");
        assert!(stdout.contains("403 Forbidden"), "{version}: {stdout}");
        assert!(stdout.contains(why), "{version}: {stdout}");
    }
    let out = download(M, unrelated);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // The own database's lookups: a denied version is neither fetched nor logged.
    let zips = mirror.hits();
    for version in ["v1.7.3", same] {
        let lookup = http::get(
            &modgate.addr,
            &format!("/sumdb/{}/lookup/{M}@{version}", crate::access::PRIVATE_DB),
        );
        assert_eq!(lookup.status, 403, "{version}: {}", lookup.text());
    }
    let stored: Vec<_> = files_under(&storage)
        .into_iter()
        .filter(|p| p.ends_with("/v1.7.3.zip") || p.ends_with(&format!("/{same}.zip")))
        .collect();
    assert!(stored.is_empty(), "a denied version was stored: {stored:?}");
    let allowed = http::get(
        &modgate.addr,
        &format!("/sumdb/{}/lookup/{M}@v1.7.2", crate::access::PRIVATE_DB),
    );
    assert_eq!(allowed.status, 200, "{}", allowed.text());
    assert!(mirror.hits() > zips);
}

/// Versions of `module` in a GOPROXY tree, each `.info` with its time; the
/// list names `tagged` (tagged versions only, as go's proxies do), or is
/// missing.
fn write_versions(tree: &Path, module: &str, versions: &[(&str, &str)], tagged: Option<&str>) {
    let go_mod = format!("module {module}\n\ngo 1.21\n");
    for (version, time) in versions {
        let zip = mirror::write_version(
            tree,
            module,
            version,
            &go_mod,
            &[("go.mod", go_mod.as_bytes()), ("m.go", b"package m\n")],
            zip::CompressionMethod::Deflated,
        );
        fs_err::write(
            zip.with_extension("info"),
            format!(r#"{{"Version":"{version}","Time":"{time}"}}"#),
        )
        .unwrap();
    }
    let list = tree.join(module).join("@v/list");
    match tagged {
        Some(tagged) => fs_err::write(list, tagged).unwrap(),
        None => fs_err::remove_file(list).unwrap(),
    }
}

/// The pseudo-version check does not open when its data is missing: a
/// release denied by name is compared with the commit even when the list
/// leaves it out or cannot be read, and a module whose ranges or advisories
/// only its list could tell gets no pseudo-version then. Modules no rule
/// names are not affected.
#[test]
fn a_denied_commit_stays_out_when_the_list_cannot_tell() {
    const UNLISTED: &str = "example.com/unlisted";
    const LEFT_OUT: &str = "example.com/leftout";
    const RANGED: &str = "example.com/ranged";
    const FREE: &str = "example.com/free";
    let same = "v0.0.0-20250101000000-0123456789ab";
    let tree = fresh_dir("policy-nolist-tree");
    let tagged = [
        ("v1.7.2", "2024-06-01T00:00:00Z"),
        ("v1.7.3", "2025-01-01T00:00:00Z"),
        (same, "2025-01-01T00:00:00Z"),
    ];
    write_versions(&tree, UNLISTED, &tagged, None);
    write_versions(&tree, LEFT_OUT, &tagged, Some("v1.7.2\n"));
    write_versions(&tree, RANGED, &tagged, None);
    write_versions(&tree, FREE, &tagged, None);
    let mirror = Mirror::serving(tree);
    let dir = fresh_dir("policy-nolist-config");
    let config = dir.join("modgate.toml");
    fs_err::write(
        &config,
        format!(
            "[[policy]]\ndeny = [\"{UNLISTED}@v1.7.3\", \"{LEFT_OUT}@v1.7.3\", \"{RANGED}@>=v1.7.3\"]\n"
        ),
    )
    .unwrap();
    let storage = fresh_dir("policy-nolist-storage");
    let modgate = Modgate::start_args(&[
        "--config",
        config.to_str().unwrap(),
        "--storage",
        storage.to_str().unwrap(),
        "--upstream",
        &mirror.url,
    ]);
    for (module, why) in [
        (UNLISTED, "is the commit of v1.7.3"),
        (LEFT_OUT, "is the commit of v1.7.3"),
        (RANGED, "cannot tell whether"),
    ] {
        let got = http::get(&modgate.addr, &format!("/{module}/@v/{same}.zip"));
        assert_eq!(got.status, 403, "{module}: {}", got.text());
        assert!(got.text().contains(why), "{module}: {}", got.text());
    }
    let free = http::get(&modgate.addr, &format!("/{FREE}/@v/{same}.zip"));
    assert_eq!(free.status, 200, "{}", free.text());
    let stored: Vec<_> = files_under(&storage)
        .into_iter()
        .filter(|p| p.ends_with(&format!("/{same}.zip")) && !p.contains("/free/"))
        .collect();
    assert!(stored.is_empty(), "a denied commit was stored: {stored:?}");
}
