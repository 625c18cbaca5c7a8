//! `/dl/`: Go release archives mirrored from a local go.dev/dl-like
//! upstream, each checked against the release list's SHA-256.

use crate::support::mirror::{Behaviour, Mirror};
use crate::support::modgate::Modgate;
use crate::support::{fresh_dir, http};

const GOOD: &str = "go1.99.0.linux-amd64.tar.gz";
const TAMPERED: &str = "go1.99.0.darwin-arm64.tar.gz";

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    format!("{:x}", sha2::Sha256::digest(bytes))
}

/// A release site: the list, a good archive, and one whose bytes are not
/// those the list vouches for.
fn release_site() -> (Mirror, String, Vec<u8>) {
    let root = fresh_dir("dl-site");
    fs_err::create_dir_all(root.join("dl")).unwrap();
    let good: Vec<u8> = (0..300_000u32).flat_map(|i| i.to_le_bytes()).collect();
    fs_err::write(root.join("dl").join(GOOD), &good).unwrap();
    fs_err::write(root.join("dl").join(TAMPERED), b"not what was released").unwrap();
    let list = serde_json::json!([{
        "version": "go1.99.0",
        "stable": true,
        "files": [
            {"filename": GOOD, "os": "linux", "arch": "amd64", "version": "go1.99.0",
             "sha256": sha256_hex(&good), "size": good.len(), "kind": "archive"},
            {"filename": TAMPERED, "os": "darwin", "arch": "arm64", "version": "go1.99.0",
             "sha256": sha256_hex(b"what was released"), "size": 21, "kind": "archive"},
        ]
    }])
    .to_string();
    let mirror = Mirror::start(Behaviour {
        root: Some(root),
        overrides: vec![("dl/".to_owned(), list.clone().into_bytes())],
        ..Default::default()
    });
    (mirror, list, good)
}

#[test]
fn release_archives_are_checked_stored_and_served_and_tampered_ones_refused() {
    let (site, list, good) = release_site();
    let storage = fresh_dir("storage");
    let dl_upstream = format!("{}/dl", site.url);
    let modgate = Modgate::start_args(&[
        "--storage",
        storage.to_str().unwrap(),
        "--upstream",
        "off",
        "--dl-upstream",
        &dl_upstream,
    ]);
    let json = http::get(&modgate.addr, "/dl/?mode=json");
    assert_eq!(json.status, 200, "{}", json.text());
    assert_eq!(json.text(), list);
    assert_eq!(json.header("content-type"), Some("application/json"));
    let asked = site.hits();
    assert_eq!(http::get(&modgate.addr, "/dl/?mode=json").text(), list);
    assert_eq!(site.hits(), asked, "the list is kept a while");

    // Five installers at once: one upstream fetch.
    let before = site.hits();
    let path = format!("/dl/{GOOD}");
    std::thread::scope(|s| {
        let got: Vec<_> = (0..5)
            .map(|_| s.spawn(|| http::get(&modgate.addr, &path)))
            .collect();
        for g in got {
            let resp = g.join().unwrap();
            assert_eq!(resp.status, 200, "{}", resp.text());
            assert!(resp.body == good, "archive bytes differ");
        }
    });
    // The full list (include=all) and the archive, once each.
    assert_eq!(site.hits() - before, 2);
    assert_eq!(fs_err::read(storage.join(".dl").join(GOOD)).unwrap(), good);
    let again = http::get(&modgate.addr, &path);
    assert_eq!(
        (again.status, site.hits() - before),
        (200, 2),
        "served from the store"
    );
    let ranged = http::request(&modgate.addr, "GET", &path, &[("Range", "bytes=0-3")]);
    assert_eq!((ranged.status, &ranged.body[..]), (206, &good[..4]));

    let tampered = http::get(&modgate.addr, &format!("/dl/{TAMPERED}"));
    assert_eq!(tampered.status, 502, "{}", tampered.text());
    assert!(
        tampered.text().contains("SECURITY ERROR"),
        "{}",
        tampered.text()
    );
    assert!(
        !storage.join(".dl").join(TAMPERED).exists(),
        "nothing unverified is stored"
    );

    let unknown = http::get(&modgate.addr, "/dl/go1.99.0.plan9-386.tar.gz");
    assert_eq!(unknown.status, 404, "{}", unknown.text());
    for bad in ["/dl/..%2f..%2fetc", "/dl/.hidden", "/dl/x.tar.gz"] {
        let resp = http::get(&modgate.addr, bad);
        assert!(
            matches!(resp.status, 400 | 404),
            "{bad}: {} {}",
            resp.status,
            resp.text()
        );
    }
    assert_eq!(
        http::get(&modgate.addr, "/dl/").status,
        404,
        "only the JSON list is mirrored"
    );
}

#[test]
fn the_release_mirror_can_be_turned_off() {
    let modgate = Modgate::start_args(&[
        "--storage",
        fresh_dir("storage").to_str().unwrap(),
        "--upstream",
        "off",
        "--dl-upstream",
        "off",
    ]);
    let resp = http::get(&modgate.addr, "/dl/?mode=json");
    assert_eq!(resp.status, 404);
    assert!(resp.text().contains("--dl-upstream off"), "{}", resp.text());
}
