//! The vulnerability database mirror: `/vuln/` serves a local database,
//! written by the test in vuln.go.dev's layout, byte for byte; keeps
//! serving it with the upstream gone, across a restart too; and picks up a
//! changed entry at the next refresh, fetching only what changed.

use std::time::Duration;

use crate::support::eventually;
use crate::support::mirror::Mirror;
use crate::support::modgate::{self, Modgate};
use crate::support::vulndb::{self, Advisory};
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

/// Mirrors `advisories()` into a fresh store and stops: the store, the
/// upstream's tree and the one snapshot written.
fn mirrored(name: &str) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let root = fresh_dir(&format!("{name}-upstream"));
    vulndb::write(&root, &advisories(), "2025-01-01T00:00:00Z");
    let mut upstream = Mirror::serving(root.clone());
    let storage = fresh_dir(&format!("{name}-storage"));
    let mut modgate = start(&storage, &upstream.url);
    eventually(Duration::from_secs(30), "first mirror", || {
        same_as(&modgate.addr, &root).is_ok()
    });
    modgate.stop();
    upstream.stop();
    let snapshots: Vec<_> = fs_err::read_dir(storage.join("vulndb/snapshot"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(snapshots.len(), 1, "{snapshots:?}");
    let snapshot = snapshots.into_iter().next().unwrap();
    (root, storage, snapshot)
}

fn gone() -> String {
    format!(
        "http://127.0.0.1:{}",
        crate::support::loopback::closed_port()
    )
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A snapshot in storage is not trusted either: one naming files outside
/// `vulndb/blob/` (written by anything, with a name that sorts newest) is
/// skipped, and the genuine one served.
#[test]
fn a_stored_snapshot_naming_files_outside_the_mirror_is_never_served() {
    let (root, storage, snapshot) = mirrored("vulndb-evil-snapshot");
    let secret = storage.parent().unwrap().join(format!(
        "{}-secret",
        storage.file_name().unwrap().to_str().unwrap()
    ));
    fs_err::write(&secret, "the host's secret\n").unwrap();
    fs_err::write(storage.join("inside-secret"), "the store's secret\n").unwrap();
    let mut evil: serde_json::Value =
        serde_json::from_slice(&fs_err::read(&snapshot).unwrap()).unwrap();
    evil["files"]["index/db.json"] =
        format!("../../../{}", secret.file_name().unwrap().to_str().unwrap()).into();
    evil["files"]["index/vulns.json"] = "../../inside-secret".into();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let dir = storage.join("vulndb/snapshot");
    for name in [
        "99999999999999999999".to_owned(),
        format!("{:020}", now + 5_000),
    ] {
        fs_err::write(dir.join(name), serde_json::to_vec(&evil).unwrap()).unwrap();
    }
    let modgate = start(&storage, &gone());
    eventually(Duration::from_secs(30), "the stored snapshot", || {
        http::get(&modgate.addr, "/vuln/index/db.json").status == 200
    });
    for path in ["/vuln/index/db.json", "/vuln/index/vulns.json"] {
        let got = http::get(&modgate.addr, path).text();
        assert!(!got.contains("secret"), "{path} served {got:?}");
    }
    same_as(&modgate.addr, &root).unwrap();
}

/// `modgate gc` removes blobs no snapshot names (a failed refresh's), but
/// not those of a refresh that may still be under way (recent ones), and
/// never one a snapshot names.
#[test]
fn gc_removes_orphan_vulndb_blobs_and_keeps_what_snapshots_name() {
    let (root, storage, snapshot) = mirrored("vulndb-gc");
    let blobs = storage.join("vulndb/blob");
    let orphan = blobs.join(sha256_hex(b"{\"orphan\":1}"));
    fs_err::write(&orphan, b"{\"orphan\":1}").unwrap();
    let two_days_ago = std::time::SystemTime::now() - Duration::from_secs(2 * 86_400);
    fs_err::File::options()
        .write(true)
        .open(&orphan)
        .unwrap()
        .set_modified(two_days_ago)
        .unwrap();
    let recent = blobs.join(sha256_hex(b"{\"recent\":1}"));
    fs_err::write(&recent, b"{\"recent\":1}").unwrap();
    // The snapshot's blobs, as old as the orphan: kept for being named.
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs_err::read(&snapshot).unwrap()).unwrap();
    let named: Vec<std::path::PathBuf> = manifest["files"]
        .as_object()
        .unwrap()
        .values()
        .map(|h| blobs.join(h.as_str().unwrap()))
        .collect();
    for blob in &named {
        fs_err::File::options()
            .write(true)
            .open(blob)
            .unwrap()
            .set_modified(two_days_ago)
            .unwrap();
    }

    let out = modgate::run(
        &[
            "gc",
            "--storage",
            storage.to_str().unwrap(),
            "--unused-for",
            "3650d",
            "--json",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", modgate::text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["vulndb_blobs_removed"], 1, "{report}");
    assert!(!orphan.exists(), "an orphan blob outlived gc");
    assert!(recent.exists(), "a blob of a refresh under way went");
    for blob in &named {
        assert!(blob.exists(), "{} is named by the snapshot", blob.display());
    }
    let modgate = start(&storage, &gone());
    eventually(Duration::from_secs(30), "the stored snapshot", || {
        same_as(&modgate.addr, &root).is_ok()
    });
}

/// An upstream that sends half a file and then nothing, the connection
/// open: the refresh fails (within the idle timeout, not never) and the
/// stored snapshot is still served.
#[test]
fn an_upstream_stalling_mid_body_fails_the_refresh_and_the_snapshot_stays() {
    use crate::support::faulty::{Fault, Faulty};
    let (root, storage, _) = mirrored("vulndb-stall");
    // Changed upstream, so that the refresh must read files anew.
    let mut entries = advisories();
    entries[0].modified = "2025-03-01T00:00:00Z".to_owned();
    let changed = fresh_dir("vulndb-stall-changed");
    vulndb::write(&changed, &entries, "2025-03-01T00:00:00Z");
    let stalling = Faulty::start(Fault::Stall, changed);
    let modgate = start(&storage, &stalling.url);
    eventually(
        Duration::from_secs(60),
        "the failed refresh on /readyz",
        || {
            http::get(&modgate.addr, "/readyz")
                .text()
                .contains("vulndb: upstream failing")
        },
    );
    assert!(stalling.connections() > 0);
    same_as(&modgate.addr, &root).unwrap();
}
