//! Abuse: guessing passwords and user names in sequence and in
//! parallel, holding connections open.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::access::auth;
use crate::support::fresh_dir;
use crate::support::http::{self, Response};
use crate::support::modgate::Modgate;

const ALICE_PW: &str = "alice-correct-horse";

/// An auth file with one user, alice, with a password.
fn auth_file() -> PathBuf {
    let file = fresh_dir("auth").join("auth.toml");
    auth(&file, &["add-user", "alice"], &format!("{ALICE_PW}\n"));
    file
}

fn serve(file: &std::path::Path) -> Modgate {
    Modgate::start_args(&[
        "--storage",
        fresh_dir("storage").to_str().unwrap(),
        "--upstream",
        "off",
        "--auth-file",
        file.to_str().unwrap(),
        // Every guesser comes from 127.0.0.1.
        "--max-connections-per-client",
        "1000",
    ])
}

fn as_user(addr: &str, path: &str, user_password: &str) -> Response {
    let basic = format!("Basic {}", STANDARD.encode(user_password));
    http::request(addr, "GET", path, &[("Authorization", &basic)])
}

/// The `attempts=N` of the log's last "authentication failed" line.
fn last_attempts(modgate: &Modgate) -> u32 {
    let logs = modgate.logs();
    let line = logs
        .lines()
        .rev()
        .find(|l| l.contains("authentication failed"))
        .unwrap_or_else(|| panic!("no failure logged:\n{logs}"));
    let n = line
        .split_once("attempts=")
        .unwrap_or_else(|| panic!("no attempts in {line:?}"))
        .1;
    n.split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// The answer without what differs between any two answers (the date,
/// the request id).
fn answer(resp: &Response) -> (u16, Vec<(String, String)>, String) {
    let headers = resp
        .headers
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("date") && !k.eq_ignore_ascii_case("x-request-id"))
        .cloned()
        .collect();
    (resp.status, headers, resp.text())
}

/// Guessing in sequence: an anonymous request between guesses resets
/// nothing, and an unknown user is answered exactly as a wrong password.
#[test]
fn guesses_stay_counted_and_user_names_stay_hidden() {
    let file = auth_file();
    let modgate = serve(&file);
    let addr = &modgate.addr;

    let wrong = as_user(addr, "/readyz", "alice:guess-0");
    let unknown = as_user(addr, "/readyz", "mallory:guess-0");
    assert_eq!(wrong.status, 401, "{}", wrong.text());
    assert_eq!(
        answer(&wrong),
        answer(&unknown),
        "an unknown user is told apart from a wrong password"
    );
    assert_eq!(last_attempts(&modgate), 2);

    for i in 1..5 {
        assert_eq!(
            as_user(addr, "/readyz", &format!("alice:guess-{i}")).status,
            401
        );
    }
    assert_eq!(last_attempts(&modgate), 6);
    // An anonymous request is no attempt: it resets nothing.
    assert_eq!(http::get(addr, "/readyz").status, 200);
    assert_eq!(as_user(addr, "/readyz", "alice:guess-5").status, 401);
    assert_eq!(
        last_attempts(&modgate),
        7,
        "the anonymous request reset the count of guesses"
    );
    // Neither does alice's right password reset her guesser's address.
    assert_eq!(
        as_user(addr, "/readyz", &format!("alice:{ALICE_PW}")).status,
        200
    );
    assert_eq!(as_user(addr, "/readyz", "mallory:guess-1").status, 401);
    assert_eq!(last_attempts(&modgate), 8);
    assert!(!modgate.logs().contains(ALICE_PW), "a password in the log");
}

fn vm_kib(pid: u32, field: &str) -> u64 {
    let status = fs_err::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("no {field} in {status}"));
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// 64 clients guessing passwords at once, each one argon2 verification
/// (19 MiB) if let through: modgate's memory stays flat, the excess is
/// refused at once, and a user whose password modgate knows is answered
/// all along.
#[test]
fn parallel_guessing_is_bounded_and_real_users_still_get_in() {
    const GUESSERS: usize = 64;
    let file = auth_file();
    let modgate = serve(&file);
    let addr = modgate.addr.as_str();
    let alice = format!("alice:{ALICE_PW}");
    assert_eq!(as_user(addr, "/readyz", &alice).status, 200);
    // What the process holds before the attack: in a debug build, mostly
    // the binary's own pages, which have nothing to do with guessing.
    let before = vm_kib(modgate.pid(), "VmRSS:");

    let start = std::sync::Barrier::new(GUESSERS + 1);
    let statuses = std::thread::scope(|s| {
        let guessers: Vec<_> = (0..GUESSERS)
            .map(|i| {
                let start = &start;
                s.spawn(move || {
                    start.wait();
                    // Each guess another credential: none is remembered.
                    let user = if i % 2 == 0 {
                        "alice".to_owned()
                    } else {
                        format!("user{i}")
                    };
                    (0..2)
                        .map(|j| as_user(addr, "/readyz", &format!("{user}:guess-{i}-{j}")).status)
                        .collect::<Vec<u16>>()
                })
            })
            .collect();
        start.wait();
        for _ in 0..5 {
            let resp = as_user(addr, "/readyz", &alice);
            assert_eq!(resp.status, 200, "alice during the attack: {}", resp.text());
        }
        guessers
            .into_iter()
            .flat_map(|g| g.join().unwrap())
            .collect::<Vec<u16>>()
    });
    let refused = statuses.iter().filter(|&&s| s == 429 || s == 503).count();
    assert!(
        statuses.iter().all(|s| [401, 429, 503].contains(s)),
        "{statuses:?}"
    );
    // Unbounded, each guess was an argon2 run of 19 MiB at once (648 MiB
    // for this attack); bounded, a few verifier threads' worth.
    let peak = vm_kib(modgate.pid(), "VmHWM:");
    assert!(
        peak.saturating_sub(before) < 64 << 10,
        "modgate's memory grew from {} MiB to a peak of {} MiB under guessing",
        before >> 10,
        peak >> 10
    );
    assert!(refused > 0, "no guess was refused untried: {statuses:?}");
    assert!(!modgate.logs().contains("panicked"));
}

/// A kept-alive connection that has had one answer: `GET /healthz`, its
/// answer read whole, the socket left open.
fn kept_alive(addr: &str) -> TcpStream {
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0; 1024];
    // /healthz answers a short body with its length: read up to it.
    loop {
        let n = tcp.read(&mut buf).unwrap();
        assert!(n > 0, "closed before answering: {got:?}");
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            assert!(head.starts_with("HTTP/1.1 200"), "{head}");
            let len: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .expect("a content-length");
            if body.len() >= len {
                return tcp;
            }
        }
    }
}

/// `GET /healthz` on a new connection that waits at most 20 s for the
/// answer (an idle connection is closed after 60 s anyway): its bytes.
fn healthz_within_20s(addr: &str) -> std::io::Result<Vec<u8>> {
    let mut tcp = TcpStream::connect(addr)?;
    tcp.set_read_timeout(Some(Duration::from_secs(20)))?;
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
    let mut got = Vec::new();
    tcp.read_to_end(&mut got).map(|_| got)
}

/// Clients that keep connections open between requests fill the
/// connection limit; a new client still gets in, as an idle one gives way.
#[test]
fn idle_connections_give_way_at_the_connection_limit() {
    let modgate = Modgate::start_args(&[
        "--storage",
        fresh_dir("storage").to_str().unwrap(),
        "--upstream",
        "off",
        "--max-connections",
        "4",
    ]);
    let idle: Vec<TcpStream> = (0..4).map(|_| kept_alive(&modgate.addr)).collect();
    let answer = healthz_within_20s(&modgate.addr).expect("kept out by idle connections");
    assert!(answer.starts_with(b"HTTP/1.1 200"), "{answer:?}");
    // The idlest one, the first, was closed for it.
    let mut first = &idle[0];
    let mut buf = [0; 16];
    assert!(
        matches!(first.read(&mut buf), Ok(0) | Err(_)),
        "the idlest connection is still open"
    );
}

/// One client address may hold only so many connections; the next is
/// closed unanswered, and a slot given back serves a new one.
#[test]
fn the_per_client_cap_refuses_the_excess() {
    let modgate = Modgate::start_args(&[
        "--storage",
        fresh_dir("storage").to_str().unwrap(),
        "--upstream",
        "off",
        "--max-connections-per-client",
        "3",
    ]);
    let mut open: Vec<TcpStream> = (0..3).map(|_| kept_alive(&modgate.addr)).collect();
    match healthz_within_20s(&modgate.addr) {
        Ok(got) => assert!(got.is_empty(), "a 4th connection was answered: {got:?}"),
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
    }
    drop(open.pop());
    // The server sees the close soon; until then the slot is still taken.
    let served = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        healthz_within_20s(&modgate.addr).is_ok_and(|got| got.starts_with(b"HTTP/1.1 200"))
    });
    assert!(served, "the freed slot serves no new connection");
    // The others were never disturbed.
    drop(open);
    assert!(!modgate.logs().contains("panicked"));
}
