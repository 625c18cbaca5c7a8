//! The upstream chain: fall-through rules and integrity on ingest.

use crate::support::fixture::{ALPHA, Fixture};
use crate::support::go::{self, Go};
use crate::support::mirror::{Behaviour, Mirror};
use crate::support::modgate::Modgate;
use crate::support::{fresh_dir, http};

const ALPHA_ZIP: &str = "/github.com/modgate-test/alpha/@v/v1.0.0.zip";

fn healthy() -> Mirror {
    Mirror::serving(Fixture::get().tree.clone())
}

/// The go command downloads alpha@v1.0.0 through modgate with `upstream`.
fn go_download_ok(upstream: &str) {
    let modgate = Modgate::start(&fresh_dir("storage"), upstream);
    download_alpha(&modgate);
}

/// The go command downloads alpha@v1.0.0 through `modgate`, with the true hash.
fn download_alpha(modgate: &Modgate) {
    let go = Go::new(&modgate.url);
    let got = go::download(
        &go,
        &fresh_dir("work"),
        &["github.com/modgate-test/alpha@v1.0.0"],
    );
    assert_eq!(got[0].sum, Fixture::get().download(ALPHA, "v1.0.0").sum);
}

#[test]
fn unavailable_and_not_found_always_fall_through() {
    let good = healthy();
    for status in [404, 410, 429, 500, 502, 503, 504] {
        let bad = Mirror::failing(status);
        go_download_ok(&format!("{},{}", bad.url, good.url));
        assert!(bad.hits() > 0, "{status}: the first mirror was asked");
    }
    // A closed port: connection refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    go_download_ok(&format!("{closed_url},{}", good.url));
}

#[test]
fn other_client_errors_stop_a_comma_chain_but_not_a_pipe_chain() {
    let good = healthy();
    let forbidden = Mirror::failing(403);
    let modgate = Modgate::start(
        &fresh_dir("storage"),
        &format!("{},{}", forbidden.url, good.url),
    );
    let resp = http::get(&modgate.addr, ALPHA_ZIP);
    assert_eq!(resp.status, 502, "{}", resp.text());
    assert!(resp.text().contains("403"), "{}", resp.text());
    let hits_before = good.hits();
    assert_eq!(hits_before, 0, "a , chain stops at the 403");

    go_download_ok(&format!("{}|{}", forbidden.url, good.url));
    assert!(good.hits() > 0);
}

#[test]
fn off_serves_only_the_cache() {
    let storage = fresh_dir("storage");
    {
        let good = healthy();
        download_alpha(&Modgate::start(&storage, &good.url));
    }
    let modgate = Modgate::start(&storage, "off");
    download_alpha(&modgate);
    let resp = http::get(&modgate.addr, "/github.com/modgate-test/alpha/@v/list");
    assert_eq!(resp.status, 200);
    assert_eq!(resp.text(), "v1.0.0\n");
    let resp = http::get(
        &modgate.addr,
        "/github.com/modgate-test/alpha/@v/v1.1.0.info",
    );
    assert_eq!(resp.status, 404, "{}", resp.text());
    let resp = http::get(&modgate.addr, "/github.com/modgate-test/beta/@v/list");
    assert_eq!(resp.status, 404, "{}", resp.text());
    assert_eq!(
        resp.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
}

/// Serves the real v1.1.0 zip (entries under `alpha@v1.1.0/`) for v1.0.0,
/// plus a garbage zip and a go.mod that does not parse.
fn tampering() -> Mirror {
    let fx = Fixture::get();
    let zip_v110 =
        fs_err::read(fx.tree.join("github.com/modgate-test/alpha/@v/v1.1.0.zip")).unwrap();
    Mirror::start(Behaviour {
        root: Some(fx.tree.clone()),
        overrides: vec![
            ("alpha/@v/v1.0.0.zip".into(), zip_v110),
            (
                "beta/@v/v0.1.0.zip".into(),
                b"PK\x03\x04 this is not a zip".to_vec(),
            ),
            (
                "beta/@v/v0.1.0.mod".into(),
                b"module github.com/modgate-test/beta\nrequire (\n".to_vec(),
            ),
        ],
        ..Default::default()
    })
}

#[test]
fn invalid_artifacts_are_never_stored_and_fall_through_to_a_good_mirror() {
    let bad = tampering();
    let storage = fresh_dir("storage");
    for (path, reason) in [
        (ALPHA_ZIP, "github.com/modgate-test/alpha@v1.0.0"),
        (
            "/github.com/modgate-test/beta/@v/v0.1.0.zip",
            "invalid module zip",
        ),
        (
            "/github.com/modgate-test/beta/@v/v0.1.0.mod",
            "unterminated block",
        ),
    ] {
        // A fresh process each time: one bad artifact makes modgate distrust the mirror.
        let modgate = Modgate::start(&storage, &bad.url);
        let resp = http::get(&modgate.addr, path);
        assert_eq!(resp.status, 502, "{path}: {}", resp.text());
        assert!(resp.text().contains(reason), "{path}: {}", resp.text());
        // Skipped now, with the kind of the mirror's last real failure and
        // how long ago (not the failure: it may name another client's module).
        let again = http::get(&modgate.addr, path).text();
        assert!(again.contains(": skipped, failing for "), "{again}");
        assert!(
            again.contains("served content that failed validation"),
            "{again}"
        );
    }
    for stored in [
        "github.com/modgate-test/alpha/@v/v1.0.0.zip",
        "github.com/modgate-test/beta/@v/v0.1.0.zip",
        "github.com/modgate-test/beta/@v/v0.1.0.mod",
    ] {
        assert!(
            !storage.join(stored).exists(),
            "{stored} must not be stored"
        );
    }
    let leftovers: Vec<_> = fs_err::read_dir(storage.join(".tmp"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != ".lock")
        .collect();
    assert!(
        leftovers.is_empty(),
        "staging files are removed: {leftovers:?}"
    );

    // With a good mirror behind it, the go command gets the true bytes.
    let good = healthy();
    let modgate = Modgate::start(&storage, &format!("{},{}", bad.url, good.url));
    let go = Go::new(&modgate.url);
    let fx = Fixture::get();
    let got = go::download(
        &go,
        &fresh_dir("work"),
        &[
            "github.com/modgate-test/alpha@v1.0.0",
            "github.com/modgate-test/beta@v0.1.0",
        ],
    );
    for d in got {
        let want = fx.download(&d.path, &d.version);
        assert_eq!(
            (d.sum, d.go_mod_sum),
            (want.sum.clone(), want.go_mod_sum.clone())
        );
    }
    let mark = storage.join("github.com/modgate-test/alpha/@v/v1.0.0.ziphash");
    crate::support::eventually(std::time::Duration::from_secs(30), "the stored zip", || {
        mark.exists()
    });
    let hash = fs_err::read_to_string(&mark).unwrap();
    assert_eq!(hash.trim(), fx.download(ALPHA, "v1.0.0").sum);
}

/// `Disable-Module-Fetch: true`, as proxy.golang.org honours it: answered
/// from the cache alone; a miss is a 404 saying so, and no upstream is asked.
#[test]
fn disable_module_fetch_answers_from_the_cache_only() {
    let mirror = healthy();
    let modgate = Modgate::start(&fresh_dir("storage"), &mirror.url);
    let beta = "/github.com/modgate-test/beta/@v";
    let cache_only = |path: &str| {
        http::request(
            &modgate.addr,
            "GET",
            path,
            &[("Disable-Module-Fetch", "true")],
        )
    };
    for path in [
        format!("{beta}/v0.2.0.zip"),
        format!("{beta}/v0.2.0.info"),
        format!("{beta}/list"),
        "/github.com/modgate-test/beta/@latest".to_owned(),
        format!("{beta}/main.info"),
    ] {
        let resp = cache_only(&path);
        assert_eq!(resp.status, 404, "{path}: {}", resp.text());
        assert!(
            resp.text().contains("Disable-Module-Fetch"),
            "{}",
            resp.text()
        );
    }
    assert_eq!(mirror.hits(), 0, "a cache-only request reached the mirror");

    let zip = http::get(&modgate.addr, &format!("{beta}/v0.2.0.zip"));
    assert_eq!(zip.status, 200);
    assert_eq!(
        http::get(&modgate.addr, &format!("{beta}/v0.2.0.info")).status,
        200
    );
    let hits = mirror.hits();
    let cached = cache_only(&format!("{beta}/v0.2.0.zip"));
    assert_eq!(cached.status, 200, "{}", cached.text());
    assert!(cached.body == zip.body);
    // The list and @latest of what is held: v0.1.0 is not.
    assert_eq!(cache_only(&format!("{beta}/list")).text(), "v0.2.0\n");
    let latest = cache_only("/github.com/modgate-test/beta/@latest");
    assert_eq!(latest.status, 200, "{}", latest.text());
    assert!(latest.text().contains("v0.2.0"), "{}", latest.text());
    // Any other value of the header fetches as usual.
    assert_eq!(
        http::request(
            &modgate.addr,
            "GET",
            &format!("{beta}/v0.1.0.mod"),
            &[("Disable-Module-Fetch", "false")],
        )
        .status,
        200
    );
    assert_eq!(mirror.hits(), hits + 1);
}
