//! No way into the internal network: a request's module path chooses where
//! direct mode connects (the go-get page of its host, and the `mod` proxy
//! or git URL that page names), so none of these may be internal unless
//! the operator allows it.
//!
//! The setup mirrors a deployment behind an egress proxy: modgate's
//! environment names a forward proxy on loopback (the operator's choice,
//! so loopback is fine for it), which serves the go-get pages of
//! `corp.example` over plain http (`--insecure corp.example`) and refuses
//! CONNECT. Names travel to that proxy unresolved; IP literals are checked
//! before anything is sent. `NO_PROXY=localhost` makes modgate itself
//! resolve `localhost`, so the DNS-time check is exercised too. The
//! internal service is another loopback listener: whatever the page says,
//! it must never see a connection. Where a path itself names an internal
//! host, the proxy is the listener that must hear nothing (modgate would
//! send such a request there); for what pages name, `NO_PROXY` also has
//! 127.0.0.1, so that a connection would reach the internal service.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::support::fresh_dir;
use crate::support::http;
use crate::support::modgate::Modgate;
use crate::support::repos::{PSEUDO, Repos};

/// A loopback HTTP server that counts connections and answers each request
/// with `respond(request line)`.
pub(crate) struct Server {
    pub(crate) port: u16,
    connections: Arc<AtomicUsize>,
}

impl Server {
    fn start(respond: impl Fn(&str) -> String + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = connections.clone();
        let respond = Arc::new(respond);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                counter.fetch_add(1, Ordering::SeqCst);
                let respond = respond.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(conn.try_clone().unwrap());
                    let mut request_line = String::new();
                    let _ = reader.read_line(&mut request_line);
                    // The headers, up to the blank line.
                    let mut line = String::new();
                    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                        line.clear();
                    }
                    let _ = conn.write_all(respond(request_line.trim()).as_bytes());
                });
            }
        });
        Server { port, connections }
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

fn reply(status: &str, content_type: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{body}",
        body.len()
    )
}

/// The forward proxy serving go-get pages: `http://HOST/PATH?go-get=1` →
/// the page of `HOST/PATH` in `pages`, as one go-import tag.
pub(crate) fn page_proxy(pages: HashMap<String, String>) -> Server {
    Server::start(move |request_line| {
        let target = request_line.split_whitespace().nth(1).unwrap_or_default();
        let key = target
            .strip_prefix("http://")
            .and_then(|t| t.strip_suffix("?go-get=1"));
        match key.and_then(|k| pages.get(k)) {
            Some(content) if request_line.starts_with("GET ") => reply(
                "200 OK",
                "text/html",
                &format!(
                    "<html><head><meta name=\"go-import\" content=\"{content}\"></head></html>"
                ),
            ),
            _ => reply("502 Bad Gateway", "text/plain", "no\n"),
        }
    })
}

/// The internal service: it answers, with a line that must never reach a
/// client.
fn internal_service() -> Server {
    Server::start(|_| reply("404 Not Found", "text/plain", "INTERNAL-SECRET-LINE\n"))
}

/// modgate in direct mode behind `proxy`, except for the hosts of `no_proxy`.
fn start(proxy: &Server, no_proxy: &str, extra: &[&str]) -> Modgate {
    let proxy_url = format!("http://127.0.0.1:{}", proxy.port);
    let mut env: Vec<(&str, String)> = Repos::get().git_env().into_iter().collect();
    for var in ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"] {
        env.push((var, proxy_url.clone()));
    }
    env.push(("NO_PROXY", no_proxy.to_owned()));
    env.push(("no_proxy", no_proxy.to_owned()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let storage = fresh_dir("storage");
    let mut args = vec![
        "--storage",
        storage.to_str().unwrap(),
        "--upstream",
        "direct",
        "--insecure",
        "corp.example",
    ];
    args.extend_from_slice(extra);
    Modgate::start_env(&args, &env)
}

/// What no answer may hold: the internal service's reply or git's own text.
fn assert_nothing_relayed(what: &str, resp: &http::Response) {
    let text = resp.text();
    for raw in [
        "INTERNAL-SECRET-LINE",
        "fatal:",
        "transport '",
        "remote helper",
    ] {
        assert!(!text.contains(raw), "{what}: relays {raw:?}: {text}");
    }
}

/// GETs `path` and checks it is refused (any 4xx or 5xx); `what` names it.
fn refused(modgate: &Modgate, path: &str, what: &dyn std::fmt::Display) -> http::Response {
    let resp = http::get(&modgate.addr, path);
    assert!(
        resp.status >= 400,
        "{what}: {} {}",
        resp.status,
        resp.text()
    );
    resp
}

#[test]
fn internal_hosts_are_never_reached() {
    let internal = internal_service();
    let v = internal.port;
    let mut pages = HashMap::new();
    let mut page = |path: &str, content: String| {
        pages.insert(path.to_owned(), content);
        path.to_owned()
    };
    let mod_literal = page(
        "corp.example/modlit",
        format!("corp.example/modlit mod http://127.0.0.1:{v}"),
    );
    let mod_name = page(
        "corp.example/modname",
        format!("corp.example/modname mod http://localhost:{v}"),
    );
    let git_entries = [
        format!("http://127.0.0.1:{v}/x"),
        format!("https://127.0.0.1:{v}/x"),
        format!("https://127.1:{v}/x"),
        format!("https://[::1]:{v}/x"),
        format!("ssh://127.0.0.1:{v}/x"),
        format!("ssh://git@localhost:{v}/x"),
        format!("https://localhost:{v}/x"),
        format!("git://127.0.0.1:{v}/x"),
        format!("ftp://127.0.0.1:{v}/x"),
        "localhost:/srv/x".to_owned(),
        "file:///etc".to_owned(),
        "ext::sh".to_owned(),
        "fd::7".to_owned(),
    ];
    let git_paths: Vec<(String, String)> = git_entries
        .iter()
        .enumerate()
        .map(|(i, url)| {
            let path = format!("corp.example/g{i}");
            (page(&path, format!("{path} git {url}")), url.clone())
        })
        .collect();
    // A page claiming a repository the operator's git configuration can
    // read (insteadOf → file://): a request must not get it through a
    // path of its choosing.
    let pseudo_url = format!("https://{PSEUDO}");
    let steal = page(
        "corp.example/steal",
        format!("corp.example/steal git {pseudo_url}"),
    );
    let proxy = page_proxy(pages);
    let modgate = start(&proxy, "localhost", &[]);

    // Every spelling of an internal host in the path itself: refused before
    // anything is sent, to the proxy or anywhere.
    for host in [
        "127.0.0.1",
        "127.1",
        "0177.0.0.1",
        "0x7f.0.0.1",
        "0.0.0.0",
        "169.254.169.254",
    ] {
        let resp = refused(&modgate, &format!("/{host}/mp/@v/list"), &host);
        assert!(
            resp.text().contains("refusing to connect to ")
                && resp.text().contains("--allow-network"),
            "{host}: {}",
            resp.text()
        );
    }
    for path in [
        "/[::1]/mp/@v/list",
        "/localhost/mp/@v/list",
        "/localhost./mp/@v/list",
    ] {
        refused(&modgate, path, &path);
    }
    assert_eq!(
        proxy.connections(),
        0,
        "a path's internal host reached the proxy"
    );

    for path in [&mod_literal, &mod_name] {
        let resp = refused(&modgate, &format!("/{path}/@v/list"), &path);
        assert!(
            resp.text().contains("refusing to connect to "),
            "{path}: {}",
            resp.text()
        );
        assert_nothing_relayed(path, &resp);
    }
    for (path, url) in &git_paths {
        // Completing at all is the point for ext:: and fd:: (no hang until
        // the git timeout).
        let resp = refused(&modgate, &format!("/{path}/@v/list"), &url);
        let text = resp.text();
        assert!(
            text.contains("refusing")
                || text.contains("not allowed")
                || text.contains("disallowed"),
            "{url}: {text}"
        );
        assert_nothing_relayed(url, &resp);
    }
    let resp = refused(&modgate, &format!("/{steal}/@v/list"), &steal);
    assert_nothing_relayed(&steal, &resp);

    assert_eq!(
        internal.connections(),
        0,
        "the internal service was reached"
    );
    // The operator's own repositories keep the operator's git configuration.
    let ok = http::get(&modgate.addr, &format!("/{PSEUDO}/@v/list"));
    assert_eq!(ok.status, 200, "{}", ok.text());
    let logs = modgate.logs();
    assert!(!logs.contains("panicked"), "{logs}");
}

/// `--allow-network` lets a page name an internal proxy or repository; what
/// they answer still stays in modgate's log.
#[test]
fn allowed_networks_are_reached_and_still_not_relayed() {
    let internal = internal_service();
    let v = internal.port;
    let pages = HashMap::from([
        (
            "corp.example/mod".to_owned(),
            format!("corp.example/mod mod http://127.0.0.1:{v}"),
        ),
        (
            "corp.example/git".to_owned(),
            format!("corp.example/git git https://127.0.0.1:{v}/x"),
        ),
    ]);
    let proxy = page_proxy(pages);
    let modgate = start(
        &proxy,
        "localhost,127.0.0.1",
        &["--allow-network", "127.0.0.1/32"],
    );
    for path in ["corp.example/mod", "corp.example/git"] {
        let resp = refused(&modgate, &format!("/{path}/@v/list"), &path);
        assert_nothing_relayed(path, &resp);
    }
    assert!(
        internal.connections() >= 2,
        "the allowed service was not asked"
    );
    // What the proxy said is for the operator.
    assert!(
        modgate.logs().contains("INTERNAL-SECRET-LINE"),
        "{}",
        modgate.logs()
    );
}

/// `--go-get off`: a path on no known host and no repo-map rule gets a
/// not-found naming the setting, and no page is asked for.
#[test]
fn go_get_off_asks_no_page() {
    let proxy = page_proxy(HashMap::new());
    let modgate = start(&proxy, "localhost", &["--go-get", "off"]);
    let resp = http::get(&modgate.addr, "/corp.example/x/@v/list");
    assert!(
        resp.status == 404 || resp.status == 410,
        "{} {}",
        resp.status,
        resp.text()
    );
    assert!(resp.text().contains("--go-get off"), "{}", resp.text());
    assert_eq!(proxy.connections(), 0);
    let ok = http::get(&modgate.addr, &format!("/{PSEUDO}/@v/list"));
    assert_eq!(ok.status, 200, "{}", ok.text());
}

/// A `--private` pattern whose host is a wildcard names no host: it does
/// not make every host's go-get page the operator's, so what such a page
/// names is still checked.
#[test]
fn a_wildcard_private_host_lifts_no_destination_check() {
    let internal = internal_service();
    let v = internal.port;
    let pages = HashMap::from([
        (
            "corp.example/internal-mod".to_owned(),
            format!("corp.example/internal-mod mod http://localhost:{v}"),
        ),
        (
            "corp.example/internal-git".to_owned(),
            format!("corp.example/internal-git git https://localhost:{v}/x"),
        ),
    ]);
    let proxy = page_proxy(pages);
    let modgate = start(&proxy, "localhost", &["--private", "*/internal*"]);
    for path in ["corp.example/internal-mod", "corp.example/internal-git"] {
        let resp = refused(&modgate, &format!("/{path}/@v/list"), &path);
        assert!(
            resp.text().contains("refusing"),
            "{path}: {} {}",
            resp.status,
            resp.text()
        );
        assert_nothing_relayed(path, &resp);
    }
    assert_eq!(
        internal.connections(),
        0,
        "the internal service was reached"
    );
}
