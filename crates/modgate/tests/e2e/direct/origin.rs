//! The `Origin` of `.info` files: byte for byte what the go command's own
//! direct mode writes to its module cache, for tags, a subdirectory
//! module, a major version, `+incompatible`, a branch (a pseudo-version)
//! and `@latest`; kept through a GOPROXY-protocol upstream.

use std::collections::BTreeMap;
use std::time::Duration;

use super::reference::{direct_go, proxied_go};
use super::{escape, get, start_direct};
use crate::support::go::Go;
use crate::support::mirror::{Behaviour, Mirror};
use crate::support::modgate::Modgate;
use crate::support::repos::*;
use crate::support::{files_under, fresh_dir};

/// One target per module and kind of resolution, distinct versions each
/// (go rewrites a version's .info for every query that resolves to it).
fn targets() -> Vec<String> {
    [
        (MULTI, "v1.0.0"),
        (MAJOR_BRANCH, "latest"),
        (MULTI_SUB, "v1.1.0"),
        (MAJOR_SUBDIR_V2, "v2.0.0"),
        (INCOMPAT, "v2.0.0+incompatible"),
        (PSEUDO, "main"),
        (UNTAGGED, "latest"),
    ]
    .iter()
    .map(|(m, q)| format!("{m}@{q}"))
    .collect()
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Downloaded {
    path: String,
    version: String,
    #[serde(default)]
    info: String,
    #[serde(default)]
    error: String,
}

/// `go mod download -json` of `targets` with a fresh module cache: each
/// target's resolved version and the bytes of the .info go wrote.
fn download(go: &Go, targets: &[String]) -> BTreeMap<String, (String, Vec<u8>)> {
    let mut args = vec!["mod", "download", "-json"];
    args.extend(targets.iter().map(String::as_str));
    let out = go.command(&fresh_dir("origin"), &args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let items: Vec<Downloaded> = serde_json::Deserializer::from_str(&stdout)
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("go mod download -json: {e}:\n{stdout}"));
    let mut found = BTreeMap::new();
    for target in targets {
        let path = target.split_once('@').unwrap().0;
        let d = items
            .iter()
            .find(|d| d.path == path)
            .unwrap_or_else(|| panic!("go mod download printed nothing for {target}:\n{stdout}"));
        assert!(
            d.error.is_empty(),
            "go (GOPROXY={}) fails {target}: {}",
            go.proxy,
            d.error
        );
        found.insert(
            target.clone(),
            (d.version.clone(), fs_err::read(&d.info).unwrap()),
        );
    }
    found
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// modgate's .info answers (the query's, then the resolved version's) and
/// what go writes through modgate equal what go writes in direct mode.
#[test]
fn info_origin_is_what_go_direct_mode_writes() {
    let targets = targets();
    let want = download(&direct_go(), &targets);
    for (target, (_, info)) in &want {
        assert!(
            text(info).contains(r#","Origin":{"VCS":"git","URL":"https://github.com/"#),
            "go direct wrote no Origin for {target}: {}",
            text(info)
        );
    }
    let modgate = start_direct();
    let mut problems = Vec::new();
    for target in &targets {
        let (module, query) = target.split_once('@').unwrap();
        let (version, info) = &want[target];
        let query_path = match query {
            "latest" => "@latest".to_owned(),
            q => format!("@v/{}.info", escape(q)),
        };
        for path in [query_path, format!("@v/{}.info", escape(version))] {
            let resp = get(&modgate, module, &path);
            if resp.status != 200 || resp.body != *info {
                problems.push(format!(
                    "GET {module}/{path}: {} {}\n      go direct wrote {}",
                    resp.status,
                    resp.text(),
                    text(info)
                ));
            }
        }
    }
    let through = download(&proxied_go(&modgate.url), &targets);
    for (target, (version, info)) in &through {
        if (version, info) != (&want[target].0, &want[target].1) {
            problems.push(format!(
                "{target} through modgate: {version} {}\n      go direct wrote {}",
                text(info),
                text(&want[target].1)
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} .info difference(s):\n  - {}\n{}",
        problems.len(),
        problems.join("\n  - "),
        modgate.logs()
    );
}

/// An upstream proxy's Origin is kept (go's field order, nothing dropped
/// that go knows), both answered and stored.
#[test]
fn an_upstream_proxys_origin_is_kept() {
    const MODULE: &str = "example.com/origin/kept";
    let sent = br#"{"Version":"v1.0.0","Time":"2024-01-02T03:04:05Z","Origin":{"VCS":"git","URL":"https://example.com/origin/kept","Hash":"0123456789abcdef0123456789abcdef01234567","Ref":"refs/tags/v1.0.0"}}"#;
    let upstream = Mirror::start(Behaviour {
        overrides: vec![("/@v/v1.0.0.info".to_owned(), sent.to_vec())],
        ..Default::default()
    });
    let storage = fresh_dir("origin-kept");
    let modgate = Modgate::start(&storage, &upstream.url);
    let resp = get(&modgate, MODULE, "@v/v1.0.0.info");
    assert_eq!((resp.status, resp.text()), (200, text(sent)));
    // Stored once answered, in the background.
    let stored = || -> Vec<String> {
        files_under(&storage)
            .into_iter()
            .filter(|p| p.ends_with("v1.0.0.info"))
            .collect()
    };
    crate::support::eventually(
        std::time::Duration::from_secs(30),
        "the stored .info",
        || !stored().is_empty(),
    );
    let stored = stored();
    assert_eq!(stored.len(), 1, "one stored .info: {stored:?}");
    let data = fs_err::read(storage.join(&stored[0])).unwrap();
    assert_eq!(text(&data), text(sent));
}

/// A tag moved (deleted, re-made on another commit, force-pushed) or
/// deleted after modgate stored its version: the stored bytes are still
/// served, the next version list from git reports each move once (log,
/// metric, status page), and `verify --origin` finds them again.
#[test]
fn moved_and_deleted_tags_keep_the_stored_version_and_are_reported() {
    let module = "github.com/modgate-direct/movingtags";
    let repo = Repos::get().scratch_repo("movingtags");
    repo.write("go.mod", &format!("module {module}\n\ngo 1.21\n"))
        .write("m.go", "package movingtags\n")
        .commit("one", "2025-05-01T10:00:00Z")
        .tag("v1.0.0")
        .write("m.go", "package movingtags // two\n")
        .commit("two", "2025-05-02T10:00:00Z")
        .tag("v1.1.0");
    let (built, gone) = (repo.rev_parse("v1.0.0"), repo.rev_parse("v1.1.0"));

    let storage = fresh_dir("moving-storage");
    let storage_arg = storage.to_str().unwrap().to_owned();
    let mut modgate = super::start_on(&storage, &["--upstream", "direct", "--list-ttl", "1ms"]);
    let mut zip = Vec::new();
    for v in ["v1.0.0", "v1.1.0"] {
        for ext in ["info", "mod", "zip"] {
            let resp = get(&modgate, module, &format!("@v/{v}.{ext}"));
            assert_eq!(resp.status, 200, "{v}.{ext}: {}", resp.text());
            if (v, ext) == ("v1.0.0", "zip") {
                zip = resp.body;
            }
        }
    }
    // Stored once answered, in the background.
    crate::support::eventually(Duration::from_secs(30), "both versions stored", || {
        let files = files_under(&storage);
        let count = |ext: &str| files.iter().filter(|f| f.ends_with(ext)).count();
        count(".info") == 2 && count(".ziphash") == 2
    });
    let env = Repos::get().git_env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let verify = |env: &[(&str, &str)]| {
        crate::support::modgate::run(
            &[
                "verify",
                "--storage",
                &storage_arg,
                "--sumdb",
                "off",
                "--origin",
                "--private",
                "github.com",
            ],
            env,
        )
    };
    let out = verify(&env);
    let said = crate::support::modgate::text(&out);
    assert!(out.status.success(), "nothing moved yet:\n{said}");
    assert!(said.contains("2 tags checked"), "{said}");

    // Moved the way a force-push does it, and one deleted.
    repo.git(&["tag", "-d", "v1.0.0"]);
    repo.git(&["tag", "-f", "v1.0.0", "HEAD"]);
    repo.git(&["tag", "-d", "v1.1.0"]);
    let moved_to = repo.rev_parse("v1.0.0");
    assert_ne!(moved_to, built);

    for _ in 0..3 {
        let list = get(&modgate, module, "@v/list");
        assert_eq!(list.status, 200, "{}", list.text());
    }
    let resp = get(&modgate, module, "@v/v1.0.0.zip");
    assert_eq!(resp.status, 200);
    assert!(resp.body == zip, "the stored zip is still served");

    let logs = modgate.logs();
    let lines: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("the tag of a stored version moved"))
        .collect();
    assert_eq!(lines.len(), 2, "one warning per move:\n{logs}");
    let line = |v: &str| lines.iter().find(|l| l.contains(v)).copied().unwrap_or("");
    let moved_line = line("version=v1.0.0");
    assert!(
        moved_line.contains(&built) && moved_line.contains(&moved_to),
        "names the old and the new commit: {moved_line}"
    );
    assert!(
        line("version=v1.1.0").contains(&gone) && line("version=v1.1.0").contains("deleted"),
        "{lines:?}"
    );
    let metrics = crate::support::http::get(&modgate.addr, "/metrics").text();
    assert!(
        metrics.contains("modgate_vcs_moved_tags_total 2"),
        "{}",
        metrics
            .lines()
            .filter(|l| l.contains("moved"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let page = crate::support::http::get(&modgate.addr, "/").text();
    let section = page
        .split("id=\"moved-tags\"")
        .nth(1)
        .and_then(|s| s.split("</table>").next())
        .unwrap_or_else(|| panic!("no moved tags section:\n{page}"));
    for want in [
        format!("{module}@v1.0.0"),
        moved_to.clone(),
        format!("{module}@v1.1.0"),
        "deleted".to_owned(),
    ] {
        assert!(section.contains(&want), "{want} in {section}");
    }
    modgate.stop();

    let out = verify(&env);
    let said = crate::support::modgate::text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains(&format!(
            "MOVED {module}@v1.0.0: tag v1.0.0 of https://github.com/modgate-direct/movingtags moved from {built} to {moved_to}"
        )),
        "{said}"
    );
    assert!(
        said.contains(&format!("GONE  {module}@v1.1.0: tag v1.1.0")),
        "{said}"
    );

    // An Origin from storage (an upstream proxy's, say) naming an internal
    // address is not asked.
    let internal = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    internal.set_nonblocking(true).unwrap();
    let planted = storage.join("example.com/planted/@v");
    fs_err::create_dir_all(&planted).unwrap();
    fs_err::write(
        planted.join("v1.0.0.info"),
        format!(
            r#"{{"Version":"v1.0.0","Time":"2025-01-01T00:00:00Z","Origin":{{"VCS":"git","URL":"https://{}/x","Hash":"{built}","Ref":"refs/tags/v1.0.0"}}}}"#,
            internal.local_addr().unwrap()
        ),
    )
    .unwrap();
    let out = verify(&env);
    let said = crate::support::modgate::text(&out);
    assert!(
        said.contains("SKIP  example.com/planted@v1.0.0"),
        "not checked, and said so: {said}"
    );
    assert!(
        internal.accept().is_err(),
        "verify --origin connected to an internal address"
    );
}

/// `audit --json` shows the Origin of the .info it reads (the latest
/// version's, for `--stale`).
#[test]
fn audit_shows_the_origin_of_the_info_it_reads() {
    let modgate = start_direct();
    let app = fresh_dir("origin-audit-app");
    fs_err::write(
        app.join("go.mod"),
        format!("module example.com/app\n\ngo 1.21\n\nrequire {MULTI} v1.0.0\n"),
    )
    .unwrap();
    let db = fresh_dir("origin-audit-vulndb");
    crate::support::vulndb::write(&db, &[], "2025-01-01T00:00:00Z");
    let db_server = Mirror::serving(db);
    let home = fresh_dir("origin-audit-home");
    let out = crate::support::modgate::run(
        &[
            "audit",
            app.to_str().unwrap(),
            "--proxy",
            &modgate.url,
            "--vulndb",
            &db_server.url,
            "--stale",
            "1d",
            "--json",
        ],
        &[("HOME", home.to_str().unwrap())],
    );
    let said = crate::support::modgate::text(&out);
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("audit --json: {e}: {said}"));
    let stale = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["module"] == MULTI && f["kind"] == "stale")
        .unwrap_or_else(|| panic!("no stale finding: {said}"));
    let origin = &stale["origin"];
    assert_eq!(origin["VCS"], "git", "{stale}");
    assert_eq!(origin["URL"], format!("https://{MULTI}"), "{stale}");
    assert_eq!(origin["Ref"], "refs/tags/v1.5.0", "{stale}");
    assert_eq!(origin["Hash"].as_str().map(str::len), Some(40), "{stale}");
}
