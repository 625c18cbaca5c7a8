//! The vulnerability database mirror: `/vuln/` serves a local database,
//! written by the test in vuln.go.dev's layout, byte for byte; keeps
//! serving it with the upstream gone, across a restart too; and picks up a
//! changed entry at the next refresh, fetching only what changed.

use std::time::Duration;

use crate::support::mirror::Mirror;
use crate::support::modgate::{self, Modgate};
use crate::support::vulndb::{self, Advisory, eventually};
use crate::support::{fresh_dir, http};

fn advisories() -> Vec<Advisory> {
    vec![
        Advisory::new(
            "GO-2025-0001",
            "example.com/vulnerable",
            &[("v0", Some("v1.2.0"))],
        ),
        Advisory::new(
            "GO-2025-0002",
            "example.com/other",
            &[("v1.0.0", Some("v1.0.5")), ("v1.1.0", None)],
        ),
    ]
}

fn start(storage: &std::path::Path, vulndb: &str) -> Modgate {
    Modgate::start_args(&[
        "--storage",
        storage.to_str().unwrap(),
        "--upstream",
        "off",
        "--vulndb",
        vulndb,
        "--vulndb-refresh",
        "300ms",
    ])
}

fn same_as(addr: &str, root: &std::path::Path) -> Result<(), String> {
    for (path, want) in vulndb::files(root) {
        let got = http::get(addr, &format!("/vuln/{path}"));
        if got.status != 200 || got.body != want {
            return Err(format!("{path}: {} {}", got.status, got.text()));
        }
    }
    Ok(())
}

#[test]
fn mirrors_byte_for_byte_refreshes_and_outlives_its_upstream() {
    let root = fresh_dir("vulndb-upstream");
    let mut entries = advisories();
    vulndb::write(&root, &entries, "2025-01-01T00:00:00Z");
    let mut upstream = Mirror::serving(root.clone());
    let storage = fresh_dir("vulndb-storage");
    let mut modgate = start(&storage, &upstream.url);

    eventually(Duration::from_secs(30), "first mirror", || {
        http::get(&modgate.addr, "/vuln/index/db.json").status == 200
    });
    same_as(&modgate.addr, &root).unwrap();
    let entry = http::get(&modgate.addr, "/vuln/ID/GO-2025-0001.json");
    assert_eq!(entry.header("content-type"), Some("application/json"));
    assert!(entry.header("age").is_some(), "{:?}", entry.headers);
    // What govulncheck asks for: the same bytes, gzipped.
    let gz = http::get(&modgate.addr, "/vuln/index/modules.json.gz");
    assert_eq!(gz.status, 200);
    assert_eq!(gz.header("content-type"), Some("application/gzip"));
    let mut unzipped = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&gz.body[..]),
        &mut unzipped,
    )
    .unwrap();
    assert_eq!(
        unzipped,
        fs_err::read(root.join("index/modules.json")).unwrap()
    );
    let etag = entry.header("etag").unwrap().to_owned();
    let again = http::request(
        &modgate.addr,
        "GET",
        "/vuln/ID/GO-2025-0001.json",
        &[("If-None-Match", &etag)],
    );
    assert_eq!(again.status, 304);
    for bad in [
        "/vuln/ID/GO-2025-9999.json",
        "/vuln/ID/../index/db.json",
        "/vuln/index/other.json",
        "/vuln/",
    ] {
        let resp = http::get(&modgate.addr, bad);
        assert!(
            resp.status == 404 || resp.status == 400,
            "{bad}: {}",
            resp.status
        );
    }
    let ready = http::get(&modgate.addr, "/readyz").text();
    assert!(ready.contains("vulndb: ok, synced"), "{ready}");

    // An entry changes upstream; the next refresh serves it, fetching it alone.
    entries[1].summary = "A flaw in example.com/other, now understood".to_owned();
    entries[1].modified = "2025-02-01T00:00:00Z".to_owned();
    vulndb::write(&root, &entries, "2025-02-01T00:00:00Z");
    let want = entries[1].osv().into_bytes();
    eventually(Duration::from_secs(30), "the changed entry", || {
        http::get(&modgate.addr, "/vuln/ID/GO-2025-0002.json").body == want
    });
    same_as(&modgate.addr, &root).unwrap();
    eventually(Duration::from_secs(10), "the refresh's log line", || {
        modgate.logs().contains("fetched=1")
    });

    // Upstream gone: still served, and /readyz says how old it is.
    upstream.stop();
    eventually(Duration::from_secs(30), "the failure on /readyz", || {
        http::get(&modgate.addr, "/readyz")
            .text()
            .contains("vulndb: upstream failing, serving what is stored")
    });
    same_as(&modgate.addr, &root).unwrap();

    // And after a restart, from storage alone.
    modgate.stop();
    let modgate = start(&storage, &upstream.url);
    eventually(Duration::from_secs(30), "the stored snapshot", || {
        same_as(&modgate.addr, &root).is_ok()
    });
    let ready = http::get(&modgate.addr, "/readyz").text();
    assert!(ready.contains("(age "), "{ready}");
}

#[test]
fn off_means_no_mirror_and_a_bad_upstream_is_a_clear_error() {
    let storage = fresh_dir("vulndb-off");
    let modgate = Modgate::start_args(&[
        "--storage",
        storage.to_str().unwrap(),
        "--upstream",
        "off",
        "--vulndb",
        "off",
    ]);
    let resp = http::get(&modgate.addr, "/vuln/index/db.json");
    assert_eq!(resp.status, 404);
    assert!(resp.text().contains("--vulndb"), "{}", resp.text());

    // An upstream that answers, but not with a database: nothing is served.
    let junk = fresh_dir("vulndb-junk");
    fs_err::create_dir_all(junk.join("index")).unwrap();
    fs_err::write(junk.join("index/db.json"), "<html>not json</html>").unwrap();
    let upstream = Mirror::serving(junk);
    let modgate = start(&storage, &upstream.url);
    eventually(Duration::from_secs(30), "the refusal on /readyz", || {
        http::get(&modgate.addr, "/readyz")
            .text()
            .contains("vulndb: upstream failing")
    });
    let resp = http::get(&modgate.addr, "/vuln/index/db.json");
    assert_eq!(resp.status, 503, "{}", resp.text());
    assert!(
        resp.text().contains("not been mirrored yet"),
        "{}",
        resp.text()
    );

    let out = modgate::run(&["serve", "--vulndb", "ftp://user:secret@host/db"], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("http(s) URL or off") && !err.contains("secret"),
        "{err}"
    );
}
