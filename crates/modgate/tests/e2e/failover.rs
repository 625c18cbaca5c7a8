//! A dead, slow or lying mirror never makes a build wait long: faults are
//! routed around, concurrent misses coalesce, and kill -9 loses nothing.

use std::time::Duration;

use crate::goproxy::assert_downloads_match_direct;
use crate::support::faulty::{Fault, Faulty};
use crate::support::fixture::{BETA, Fixture};
use crate::support::go::{self, Go};
use crate::support::mirror::{Behaviour, Mirror};
use crate::support::modgate::Modgate;
use crate::support::{fresh_dir, http};

const ZIP: &str = "/github.com/modgate-test/beta/@v/v0.2.0.zip";

/// With `fault` in the first mirror and a healthy second one, the go command
/// downloads the whole fixture with the true hashes, and the bad mirror is
/// contacted a bounded number of times.
fn routes_around(fault: Fault) {
    // Short enough for a quick suite; the defaults are benchmarked.
    let (bad, good, modgate) =
        bad_then_good(fault, &["--header-timeout", "3s", "--idle-timeout", "3s"]);
    assert_downloads_match_direct(&Go::new(&modgate.url));
    assert!(
        bad.connections() > 0,
        "{fault:?}: the bad mirror was never asked"
    );
    // A mirror that lies about zips answers the rest well: count its lies.
    let seen = match fault {
        Fault::GarbageZip => bad.zip_requests(),
        _ => bad.connections(),
    };
    assert!(
        seen <= 12,
        "{fault:?}: the bad mirror saw {seen} connections\n{}",
        modgate.logs()
    );
    assert!(good.hits() > 0);
    let metrics = http::get(&modgate.addr, "/metrics").text();
    assert!(
        metrics.contains("modgate_upstream_failovers_total"),
        "{metrics}"
    );
}

/// modgate on fresh storage with a mirror that has `fault` first and a
/// healthy one second, both serving the fixture, plus `args`.
fn bad_then_good(fault: Fault, args: &[&str]) -> (Faulty, Mirror, Modgate) {
    let fx = Fixture::get();
    let bad = Faulty::start(fault, fx.tree.clone());
    let good = Mirror::serving(fx.tree.clone());
    let storage = fresh_dir("storage");
    let upstream = format!("{},{}", bad.url, good.url);
    let mut all = vec![
        "--storage",
        storage.to_str().unwrap(),
        "--upstream",
        &upstream,
    ];
    all.extend_from_slice(args);
    let modgate = Modgate::start_args(&all);
    (bad, good, modgate)
}

macro_rules! fault_tests {
    ($($name:ident: $fault:expr,)*) => {$(
        #[test]
        fn $name() {
            routes_around($fault);
        }
    )*};
}

fault_tests! {
    hanging_mirror: Fault::Hang,
    resetting_mirror: Fault::Reset,
    mirror_answering_429: Fault::Status(429),
    mirror_answering_500: Fault::Status(500),
    mirror_answering_502: Fault::Status(502),
    mirror_answering_503: Fault::Status(503),
    mirror_answering_504: Fault::Status(504),
    trickling_mirror: Fault::Trickle,
    truncating_mirror: Fault::Truncate,
    mirror_with_wrong_content_length: Fault::WrongLength,
    mirror_serving_garbage_zips: Fault::GarbageZip,
}

#[test]
fn concurrent_misses_make_one_upstream_request_even_when_a_client_leaves() {
    let fx = Fixture::get();
    let mirror = Mirror::start(Behaviour {
        root: Some(fx.tree.clone()),
        delay: Some(Duration::from_millis(500)),
        ..Default::default()
    });
    let modgate = Modgate::start(&fresh_dir("storage"), &mirror.url);
    // The first client hangs up at once: the fetch goes on for the others.
    {
        use std::io::Write;
        let mut s = std::net::TcpStream::connect(&modgate.addr).unwrap();
        write!(s, "GET {ZIP} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    }
    std::thread::sleep(Duration::from_millis(50));
    let bodies: Vec<Vec<u8>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..50)
            .map(|_| scope.spawn(|| http::get(&modgate.addr, ZIP)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                let resp = h.join().unwrap();
                assert_eq!(resp.status, 200, "{}", resp.text());
                resp.body
            })
            .collect()
    });
    let want = fs_err::read(fx.tree.join("github.com/modgate-test/beta/@v/v0.2.0.zip")).unwrap();
    assert!(bodies.iter().all(|b| *b == want), "identical, true bytes");
    assert_eq!(mirror.hits(), 1, "one upstream request for 51 clients");
    let metrics = http::get(&modgate.addr, "/metrics").text();
    assert!(
        metrics.contains(r#"modgate_coalesced_waits_total{kind="zip"}"#),
        "{metrics}"
    );
}

#[test]
fn kill_9_mid_transfer_leaves_nothing_partial() {
    let fx = Fixture::get();
    let storage = fresh_dir("storage");
    let slow = Faulty::start(Fault::Trickle, fx.tree.clone());
    let mut modgate = Modgate::start(&storage, &slow.url);
    let addr = modgate.addr.clone();
    let client = std::thread::spawn(move || {
        // Dies with modgate; its answer does not matter.
        let _ = std::panic::catch_unwind(|| http::get(&addr, ZIP));
    });
    // Wait until part of the zip is staged, then kill.
    let staging = storage.join(".tmp");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let staged = fs_err::read_dir(&staging)
            .unwrap()
            .filter_map(Result::ok)
            .any(|e| e.metadata().is_ok_and(|m| m.len() > 0));
        if staged {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "nothing was staged");
        std::thread::sleep(Duration::from_millis(50));
    }
    modgate.kill9();
    let _ = client.join();
    assert!(
        !storage
            .join("github.com/modgate-test/beta/@v/v0.2.0.zip")
            .exists()
    );

    let good = Mirror::serving(fx.tree.clone());
    let modgate = Modgate::start(&storage, &good.url);
    let leftovers = fs_err::read_dir(&staging)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name() != ".lock")
        .count();
    assert_eq!(leftovers, 0, "staging files are cleaned at start-up");
    let got = go::download(
        &Go::new(&modgate.url),
        &fresh_dir("work"),
        &["github.com/modgate-test/beta@v0.2.0"],
    );
    assert_eq!(got[0].sum, fx.download(BETA, "v0.2.0").sum);
}

/// A miss is answered from the verified bytes while they are stored behind
/// the answer: a kill -9 right after the answer, at varying moments of that
/// store, leaves each file whole (the true bytes) or absent, never partial,
/// and the hash mark only beside a whole zip.
#[test]
fn kill_9_right_after_a_miss_is_answered_leaves_whole_files_or_none() {
    let fx = Fixture::get();
    let mirror = Mirror::serving(fx.tree.clone());
    let base = "github.com/modgate-test/beta/@v/v0.2.0";
    let mut seen_stored = 0;
    for round in 0..8u64 {
        let storage = fresh_dir("storage");
        let mut modgate = Modgate::start(&storage, &mirror.url);
        for ext in ["info", "mod", "zip"] {
            let resp = http::get(&modgate.addr, &format!("/{base}.{ext}"));
            assert_eq!(resp.status, 200, "{}", resp.text());
        }
        std::thread::sleep(Duration::from_micros(round * 700));
        modgate.kill9();
        for ext in ["info", "mod", "zip"] {
            let path = storage.join(format!("{base}.{ext}"));
            if let Ok(stored) = std::fs::read(&path) {
                let want = fs_err::read(fx.tree.join(format!("{base}.{ext}"))).unwrap();
                if ext == "info" {
                    // Rewritten canonical JSON: same version and time.
                    let (a, b): (serde_json::Value, serde_json::Value) = (
                        serde_json::from_slice(&stored).unwrap(),
                        serde_json::from_slice(&want).unwrap(),
                    );
                    assert_eq!(a["Version"], b["Version"], "round {round}");
                } else {
                    assert!(
                        stored == want,
                        "round {round}: {ext} stored partial or wrong"
                    );
                }
                seen_stored += 1;
            }
        }
        let hash = storage.join(format!("{base}.ziphash"));
        if hash.exists() {
            assert!(
                storage.join(format!("{base}.zip")).exists(),
                "round {round}"
            );
            assert_eq!(
                fs_err::read_to_string(&hash).unwrap().trim(),
                fx.download(BETA, "v0.2.0").sum,
                "round {round}"
            );
        }
        // What remains is served whole after a restart.
        let modgate = Modgate::start(&storage, &mirror.url);
        let zip = http::get(&modgate.addr, &format!("/{base}.zip"));
        assert_eq!(zip.status, 200);
        assert!(zip.body == fs_err::read(fx.tree.join(format!("{base}.zip"))).unwrap());
    }
    // Not a vacuous pass: some rounds stored something before the kill.
    assert!(seen_stored > 0, "no round stored anything before the kill");
}

#[test]
fn not_found_is_remembered_and_lists_are_fresh_for_a_while() {
    let fx = Fixture::get();
    let mirror = Mirror::serving(fx.tree.clone());
    let modgate = Modgate::start(&fresh_dir("storage"), &mirror.url);
    for _ in 0..5 {
        let r = http::get(
            &modgate.addr,
            "/github.com/modgate-test/nosuch/@v/v1.0.0.info",
        );
        assert_eq!(r.status, 404);
    }
    assert_eq!(mirror.hits(), 1, "a storm of lookups for a missing module");
    for _ in 0..5 {
        let r = http::get(&modgate.addr, "/github.com/modgate-test/beta/@v/list");
        assert_eq!(r.text(), "v0.1.0\nv0.2.0\n");
    }
    assert_eq!(mirror.hits(), 2, "the list is fetched once while fresh");
    let metrics = http::get(&modgate.addr, "/metrics").text();
    assert!(
        metrics.contains("modgate_negative_cache_hits_total"),
        "{metrics}"
    );
    assert!(
        metrics.contains("modgate_recent_answers_total"),
        "{metrics}"
    );
}

#[test]
fn with_every_upstream_down_the_cache_serves_and_readyz_says_so() {
    let fx = Fixture::get();
    let storage = fresh_dir("storage");
    {
        let good = Mirror::serving(fx.tree.clone());
        let warm = Modgate::start(&storage, &good.url);
        assert_eq!(http::get(&warm.addr, ZIP).status, 200);
    }
    let down = Faulty::start(Fault::Status(502), fx.tree.clone());
    let modgate = Modgate::start_args(&[
        "--storage",
        storage.to_str().unwrap(),
        "--upstream",
        &down.url,
        "--list-ttl",
        "0s",
    ]);
    for _ in 0..4 {
        let list = http::get(&modgate.addr, "/github.com/modgate-test/beta/@v/list");
        assert_eq!(list.status, 200, "{}", list.text());
        assert_eq!(list.text(), "v0.2.0\n");
    }
    assert_eq!(http::get(&modgate.addr, ZIP).status, 200);
    // Stale lists were served at once; their background refreshes may still
    // be failing against the dead mirror: wait for them to have counted.
    let down_line = format!("upstream {}: down", down.url);
    let mut ready = http::get(&modgate.addr, "/readyz");
    for _ in 0..50 {
        if ready.text().contains(&down_line) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        ready = http::get(&modgate.addr, "/readyz");
    }
    assert_eq!(ready.status, 200, "the cache still serves");
    let text = ready.text();
    assert!(text.contains(&down_line), "{text}");
    assert!(text.contains("degraded"), "{text}");
    let seen = down.connections();
    assert!(seen <= 8, "the dead mirror saw {seen} connections");
}

#[test]
fn inbound_limits_slow_clients_and_graceful_drain() {
    use std::io::{Read, Write};
    let fx = Fixture::get();
    let mirror = Mirror::start(Behaviour {
        root: Some(fx.tree.clone()),
        delay: Some(Duration::from_millis(800)),
        ..Default::default()
    });
    let mut modgate = Modgate::start_args(&[
        "--storage",
        fresh_dir("storage").to_str().unwrap(),
        "--upstream",
        &mirror.url,
        "--request-header-timeout",
        "1s",
        "--max-connections",
        "2",
    ]);
    let read_all = |s: &mut std::net::TcpStream| {
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).map(|_| buf)
    };

    // Slowloris: half a request line, then silence. modgate hangs up.
    let mut slow = std::net::TcpStream::connect(&modgate.addr).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    assert!(
        read_all(&mut slow).is_ok(),
        "the connection is closed, not left open"
    );
    drop(slow);

    // Two connections open: a third waits for one of them to close.
    let first = std::net::TcpStream::connect(&modgate.addr).unwrap();
    let _second = std::net::TcpStream::connect(&modgate.addr).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let mut third = std::net::TcpStream::connect(&modgate.addr).unwrap();
    third
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    assert!(read_all(&mut third).is_err(), "over the connection limit");
    drop(first);
    third
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let answer = read_all(&mut third).expect("answered once a slot frees");
    assert!(answer.starts_with(b"HTTP/1.1 200"));
    drop(_second);
    std::thread::sleep(Duration::from_millis(100));

    // SIGTERM during a slow download: the download completes, then modgate exits.
    let addr = modgate.addr.clone();
    let download = std::thread::spawn(move || http::get(&addr, ZIP));
    std::thread::sleep(Duration::from_millis(300));
    assert!(modgate.stop().success(), "{}", modgate.logs());
    let resp = download.join().unwrap();
    assert_eq!(resp.status, 200, "{}", resp.text());
    let want = fs_err::read(fx.tree.join("github.com/modgate-test/beta/@v/v0.2.0.zip")).unwrap();
    assert_eq!(resp.body, want);
}

/// A first mirror that accepts and never answers costs a build no header
/// timeout: requests waiting on it are hedged to the next mirror, which
/// wins, and the hashes are the true ones.
#[test]
fn a_silent_first_mirror_is_hedged() {
    // Without hedging, the first requests would wait out the header timeout.
    let (silent, _good, modgate) = bad_then_good(
        Fault::Hang,
        &["--header-timeout", "120s", "--hedge-delay", "300ms"],
    );
    assert_downloads_match_direct(&Go::new(&modgate.url));
    let metrics = http::get(&modgate.addr, "/metrics").text();
    let won = metrics
        .lines()
        .find(|l| l.starts_with("modgate_upstream_hedges_total") && l.contains("outcome=\"won\""))
        .unwrap_or_else(|| panic!("no hedge won:\n{metrics}"));
    assert!(!won.ends_with(" 0"), "{won}");
    assert!(silent.connections() > 0, "the silent mirror was asked");
}
