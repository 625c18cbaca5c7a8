//! `/dl/`: Go release archives mirrored from a local go.dev/dl-like
//! upstream, each checked against the release list's SHA-256.

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use crate::support::mirror::{Behaviour, Mirror};
use crate::support::modgate::Modgate;
use crate::support::{fresh_dir, http};

const GOOD: &str = "go1.99.0.linux-amd64.tar.gz";
const TAMPERED: &str = "go1.99.0.darwin-arm64.tar.gz";

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    format!("{:x}", sha2::Sha256::digest(bytes))
}

/// A release on disk: the site's root, its list, and the good archive's
/// bytes; the list also names a tampered archive, whose bytes are not
/// those it vouches for.
fn release() -> (std::path::PathBuf, String, Vec<u8>) {
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
    (root, list, good)
}

/// A release site serving [`release`].
fn release_site() -> (Mirror, String, Vec<u8>) {
    let (root, list, good) = release();
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

/// A release site on loopback that misbehaves: while `hang_lists` is set it
/// reads a list request and never answers; an archive gets its headers and
/// its first 1,000 bytes, then nothing. Counts the requests for each.
struct StallingSite {
    url: String,
    hang_lists: Arc<AtomicBool>,
    lists: Arc<AtomicUsize>,
    archives: Arc<AtomicUsize>,
}

impl StallingSite {
    fn start(list: String, archive: Vec<u8>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/dl", listener.local_addr().unwrap());
        let hang_lists = Arc::new(AtomicBool::new(false));
        let (lists, archives) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (hang, l, a) = (hang_lists.clone(), lists.clone(), archives.clone());
        // Accepts for the whole test run; stalled connections are dropped
        // with the process.
        std::thread::spawn(move || {
            for tcp in listener.incoming() {
                let Ok(mut tcp) = tcp else { continue };
                let (hang, l, a) = (hang.clone(), l.clone(), a.clone());
                let (list, archive) = (list.clone(), archive.clone());
                std::thread::spawn(move || {
                    let mut head = Vec::new();
                    let mut buf = [0; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match tcp.read(&mut buf) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let stall = || std::thread::sleep(Duration::from_secs(600));
                    // One request per connection, and said so: a client
                    // must not send the next on a socket closed under it.
                    let ok = |len: usize| {
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
                        )
                    };
                    if String::from_utf8_lossy(&head).contains("mode=json") {
                        l.fetch_add(1, Ordering::SeqCst);
                        if hang.load(Ordering::SeqCst) {
                            return stall();
                        }
                        let _ = tcp.write_all((ok(list.len()) + &list).as_bytes());
                    } else {
                        a.fetch_add(1, Ordering::SeqCst);
                        let _ = tcp.write_all(ok(archive.len()).as_bytes());
                        let _ = tcp.write_all(&archive[..1000]);
                        stall();
                    }
                });
            }
        });
        Self {
            url,
            hang_lists,
            lists,
            archives,
        }
    }
}

/// An upstream that hangs costs a bounded wait and one upstream request,
/// however many installers ask at once; an archive that stalls midway is
/// a clean failure and nothing is stored.
#[test]
fn a_stalling_release_site_fails_within_the_timeouts_and_is_asked_once() {
    let (_, list, good) = release();
    let site = StallingSite::start(list, good);
    let storage = fresh_dir("storage");
    let modgate = Modgate::start_args(&[
        "--storage",
        storage.to_str().unwrap(),
        "--upstream",
        "off",
        "--dl-upstream",
        &site.url,
        "--header-timeout",
        "2s",
        "--idle-timeout",
        "2s",
    ]);

    site.hang_lists.store(true, Ordering::SeqCst);
    std::thread::scope(|s| {
        let asks: Vec<_> = (0..3)
            .map(|_| s.spawn(|| http::get(&modgate.addr, "/dl/?mode=json")))
            .collect();
        for ask in asks {
            let resp = ask.join().unwrap();
            assert_eq!(resp.status, 502, "{}", resp.text());
        }
    });
    assert_eq!(
        site.lists.load(Ordering::SeqCst),
        1,
        "the hanging list was asked once per request"
    );

    site.hang_lists.store(false, Ordering::SeqCst);
    let resp = http::get(&modgate.addr, &format!("/dl/{GOOD}"));
    assert_eq!(resp.status, 502, "{}", resp.text());
    assert_eq!(site.archives.load(Ordering::SeqCst), 1, "{}", resp.text());
    assert!(
        !storage.join(".dl").join(GOOD).exists(),
        "a partial archive was stored"
    );
    assert!(!modgate.logs().contains("panicked"));
}
