//! The go command downloads, lists, resolves and builds through modgate.

use std::path::Path;

use crate::support::fixture::{
    ALPHA, Fixture, GAMMA_V2, LEGACY, UNTAGGED, UPPER, build_and_run, write_app,
};
use crate::support::go::{self, Go};
use crate::support::mirror::Mirror;
use crate::support::modgate::Modgate;
use crate::support::{fresh_dir, http};

/// Every module the go command downloads through `proxy` hashes exactly as in direct mode.
pub fn assert_downloads_match_direct(go: &Go) {
    let fx = Fixture::get();
    let targets = fx.resolved_targets();
    let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
    let got = go::download(go, &fresh_dir("work"), &targets);
    assert_eq!(got.len(), targets.len());
    for d in &got {
        let want = fx.download(&d.path, &d.version);
        assert_eq!(d.sum, want.sum, "{}@{} zip hash", d.path, d.version);
        assert_eq!(
            d.go_mod_sum, want.go_mod_sum,
            "{}@{} go.mod hash",
            d.path, d.version
        );
    }
}

fn versions(go: &Go, module: &str) -> String {
    go.run(&fresh_dir("work"), &["list", "-m", "-versions", module])
        .trim()
        .to_owned()
}

fn latest(go: &Go, module: &str) -> String {
    go.run(
        &fresh_dir("work"),
        &[
            "list",
            "-m",
            "-f",
            "{{.Version}}",
            &format!("{module}@latest"),
        ],
    )
    .trim()
    .to_owned()
}

fn assert_lists_and_latest(go: &Go) {
    let fx = Fixture::get();
    assert_eq!(
        versions(go, ALPHA),
        format!("{ALPHA} v1.0.0 v1.1.0 v1.2.0-rc.1")
    );
    assert_eq!(versions(go, UPPER), format!("{UPPER} v1.0.0"));
    assert_eq!(versions(go, GAMMA_V2), format!("{GAMMA_V2} v2.0.0 v2.1.0"));
    assert_eq!(
        versions(go, LEGACY),
        format!("{LEGACY} v1.0.0 v2.0.0+incompatible")
    );
    assert_eq!(latest(go, ALPHA), "v1.1.0");
    assert_eq!(latest(go, UPPER), "v1.0.0");
    assert_eq!(latest(go, UNTAGGED), fx.untagged_version());
}

/// Every line of go.sum carries the hash the go command computed in direct mode.
fn assert_go_sum_matches_direct(dir: &Path) {
    let fx = Fixture::get();
    let sum = fs_err::read_to_string(dir.join("go.sum")).unwrap();
    assert!(!sum.is_empty());
    for line in sum.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (path, version, hash) = (f[0], f[1], f[2]);
        let d = match version.strip_suffix("/go.mod") {
            Some(v) => {
                let d = fx.download(path, v);
                assert_eq!(hash, d.go_mod_sum, "{line}");
                continue;
            }
            None => fx.download(path, version),
        };
        assert_eq!(hash, d.sum, "{line}");
    }
}

#[test]
fn go_command_through_modgate_matches_direct_mode_and_survives_the_mirror_going_away() {
    let fx = Fixture::get();
    let mut mirror = Mirror::serving(fx.tree.clone());
    let storage = fresh_dir("storage");
    let modgate = Modgate::start(&storage, &mirror.url);

    let go = Go::new(&modgate.url);
    assert_downloads_match_direct(&go);
    assert_lists_and_latest(&go);

    // A multi-module project: tidy, build, run, upgrade.
    let app = fresh_dir("app");
    write_app(&app);
    go.run(&app, &["mod", "tidy"]);
    assert_go_sum_matches_direct(&app);
    let printed = build_and_run(&go, &app);
    assert_eq!(
        printed.trim(),
        "beta v0.2.0 with alpha v1.1.0 | Upper v1.0.0 | gamma v2.0.0 | legacy v2"
    );
    go.run(&app, &["get", &format!("{GAMMA_V2}@latest")]);
    let go_mod = fs_err::read_to_string(app.join("go.mod")).unwrap();
    assert!(
        go_mod.contains("github.com/modgate-test/gamma/v2 v2.1.0"),
        "{go_mod}"
    );
    assert!(build_and_run(&go, &app).contains("gamma v2.1.0"));
    assert_go_sum_matches_direct(&app);

    // The mirror is gone: a fresh module cache rebuilds from modgate alone,
    // verified by the go.sum written above.
    let hits = mirror.hits();
    assert!(hits > 0);
    mirror.stop();
    // A restart too: nothing may come from memory, only from storage.
    drop(modgate);
    let modgate = Modgate::start(&storage, &mirror.url);
    let offline = Go::new(&modgate.url);
    assert_downloads_match_direct(&offline);
    assert!(build_and_run(&offline, &app).contains("gamma v2.1.0"));
    assert_lists_and_latest(&offline);
    assert!(
        modgate.logs().contains("answering the list from the cache"),
        "stale answers are logged"
    );
    // Case-encoded @latest straight from the cache.
    let resp = http::get(&modgate.addr, "/github.com/!modgate-!test/!upper/@latest");
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert!(
        resp.text().contains(r#""Version":"v1.0.0""#),
        "{}",
        resp.text()
    );
}

#[test]
fn file_upstream_serves_a_gomodcache_tree() {
    let fx = Fixture::get();
    let storage = fresh_dir("storage");
    let upstream = format!("file://{}", fx.tree.display());
    let modgate = Modgate::start(&storage, &upstream);
    let go = Go::new(&modgate.url);
    assert_downloads_match_direct(&go);
    assert_lists_and_latest(&go);
}
