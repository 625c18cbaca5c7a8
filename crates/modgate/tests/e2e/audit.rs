//! `modgate audit`: a fixture app's build list, computed through modgate as
//! the proxy (no go toolchain), is what `go list -m all` prints; its
//! vulnerable, retracted and deprecated modules are found, with the fixed
//! versions, from modgate's vulnerability database mirror. No network.

use std::process::Output;
use std::time::Duration;

use crate::support::eventually;
use crate::support::go::Go;
use crate::support::mirror::Mirror;
use crate::support::modgate::{self, Modgate, text};
use crate::support::vulndb::{self, DEPRECATED, RETRACTED, VULNERABLE};
use crate::support::{fresh_dir, http};

fn audit(args: &[&str]) -> Output {
    let home = fresh_dir("audit-home");
    let args: Vec<&str> = std::iter::once("audit")
        .chain(args.iter().copied())
        .collect();
    modgate::run(&args, &[("HOME", home.to_str().unwrap())])
}

#[test]
fn finds_vulnerable_retracted_and_deprecated_modules_through_modgate() {
    let tree = fresh_dir("audit-tree");
    let advisories = vulndb::governance_tree(&tree);
    let db = fresh_dir("audit-db");
    vulndb::write(&db, &advisories, "2025-01-01T00:00:00Z");
    let db_server = Mirror::serving(db);
    let storage = fresh_dir("audit-storage");
    let modgate = Modgate::start_args(&[
        "--storage",
        storage.to_str().unwrap(),
        "--upstream",
        &format!("file://{}", tree.display()),
        "--vulndb",
        &db_server.url,
    ]);
    eventually(Duration::from_secs(30), "the mirror", || {
        http::get(&modgate.addr, "/vuln/index/db.json").status == 200
    });
    let app = fresh_dir("audit-app");
    vulndb::app(&app);
    let vuln_url = format!("{}/vuln", modgate.url);
    let app_dir = app.to_str().unwrap();

    let out = audit(&[app_dir, "--proxy", &modgate.url, "--vulndb", &vuln_url]);
    let table = text(&out);
    assert!(out.status.success(), "{table}");
    let vulnerable_row = table
        .lines()
        .find(|l| l.starts_with(VULNERABLE))
        .unwrap_or_else(|| panic!("{table}"));
    for want in [
        "v1.1.0",
        "vulnerable",
        "GO-2025-0001",
        "CVE-2025-0001",
        "fixed in v1.2.0",
    ] {
        assert!(vulnerable_row.contains(want), "{want}: {table}");
    }
    assert!(!table.contains("GO-2025-0003"), "{table}");
    assert!(
        table.contains("retracted: Published with a broken API."),
        "{table}"
    );
    assert!(
        table.contains("deprecated: use example.com/new instead."),
        "{table}"
    );
    assert!(
        table.contains("4 modules in the build list of example.com/app: 1 vulnerable, 1 retracted, 1 deprecated"),
        "{table}"
    );
    assert!(
        table.contains(&format!("newer major: {DEPRECATED}/v2@v2.0.0")),
        "{table}"
    );
    assert!(table.contains("module-level"), "{table}");

    // --fail-on sets the exit status for CI.
    let out = audit(&[
        app_dir,
        "--proxy",
        &modgate.url,
        "--vulndb",
        &vuln_url,
        "--fail-on",
        "vuln",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    // The JSON build list is the go command's.
    let out = audit(&[
        &format!("{app_dir}/go.mod"),
        "--proxy",
        &modgate.url,
        "--vulndb",
        &vuln_url,
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ours: Vec<String> = report["build_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap().to_owned())
        .collect();
    let go = Go::new(&modgate.url).env("GOFLAGS", "-modcacherw -mod=mod");
    let listed = go.run(&app, &["list", "-m", "all"]);
    let theirs: Vec<String> = listed
        .lines()
        .skip(1) // the main module
        .map(|l| l.replacen(' ', "@", 1))
        .collect();
    assert_eq!(ours, theirs);
    let kinds: Vec<(&str, &str)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["module"].as_str().unwrap(), f["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            (DEPRECATED, "deprecated"),
            (DEPRECATED, "major"),
            (RETRACTED, "retracted"),
            (VULNERABLE, "vuln")
        ]
    );
    let vuln = &report["findings"][3];
    assert_eq!(vuln["fixed"], "v1.2.0");
    assert_eq!(vuln["id"], "GO-2025-0001");

    // The go.sum the go command wrote gives the same build list.
    let out = audit(&[
        &format!("{app_dir}/go.sum"),
        "--proxy",
        &modgate.url,
        "--vulndb",
        &vuln_url,
        "--json",
        "--fail-on",
        "retracted",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["build_list"].as_array().unwrap().len(), ours.len());

    // SARIF for code scanning, with modules unreleased for a year (the
    // fixture's versions are all from 2025-01-01).
    let out = audit(&[
        app_dir,
        "--proxy",
        &modgate.url,
        "--vulndb",
        &vuln_url,
        "--sarif",
        "--stale",
        "365d",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let vuln = results
        .iter()
        .find(|r| r["ruleId"] == "GO-2025-0001")
        .unwrap_or_else(|| panic!("{sarif}"));
    assert_eq!(vuln["level"], "error");
    assert!(
        vuln["message"]["text"]
            .as_str()
            .unwrap()
            .contains("fixed in v1.2.0"),
        "{vuln}"
    );
    let stale = results.iter().filter(|r| r["ruleId"] == "stale").count();
    assert_eq!(stale, ours.len(), "{sarif}");
    let out = audit(&[
        app_dir,
        "--proxy",
        &modgate.url,
        "--vulndb",
        &vuln_url,
        "--stale",
        "1826d",
    ]);
    assert!(!text(&out).contains("stale"), "{}", text(&out));

    // Without --proxy, GOPROXY's first URL is asked, as by bundle and
    // prefetch (the test's environment has no GOPROXY: run removes it).
    let home = fresh_dir("audit-home");
    let goproxy = format!("{},direct", modgate.url);
    let out = modgate::run(
        &["audit", app_dir, "--vulndb", &vuln_url, "--json"],
        &[("HOME", home.to_str().unwrap()), ("GOPROXY", &goproxy)],
    );
    assert!(out.status.success(), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["id"] == "GO-2025-0001"),
        "{report}"
    );

    // Bad input and an unreachable database are clear errors, not panics.
    let missing = audit(&["/nonexistent/go.mod", "--proxy", &modgate.url]);
    assert!(!missing.status.success());
    assert!(
        text(&missing).contains("/nonexistent/go.mod"),
        "{}",
        text(&missing)
    );
    let out = audit(&[
        app_dir,
        "--proxy",
        &modgate.url,
        "--vulndb",
        "http://user:secret@127.0.0.1:9/vuln",
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("index/modules.json") && !text(&out).contains("secret"),
        "{}",
        text(&out)
    );
}
