//! modgate serving HTTPS itself: the go command through it, HTTP/2 by
//! ALPN, certificates rotated on disk without a restart, and handshakes
//! under the request-header timeout.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

use crate::support::fixture::{BETA, Fixture};
use crate::support::fresh_dir;
use crate::support::go::{self, Go};
use crate::support::mirror::Mirror;
use crate::support::modgate::Modgate;
use crate::support::tls::{Ca, Issued};

struct Files {
    cert: PathBuf,
    key: PathBuf,
}

impl Files {
    fn in_dir(dir: &Path) -> Self {
        Self {
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        }
    }

    /// As certbot or cert-manager do: each file renamed into place whole,
    /// the key first (in between, the pair does not match).
    fn install(&self, issued: &Issued) {
        for (path, text) in [(&self.key, &issued.key_pem), (&self.cert, &issued.cert_pem)] {
            let tmp = path.with_extension("tmp");
            fs_err::write(&tmp, text).unwrap();
            fs_err::rename(&tmp, path).unwrap();
        }
    }

    fn args<'a>(&'a self, storage: &'a Path, upstream: &'a str) -> Vec<&'a str> {
        vec![
            "--storage",
            storage.to_str().unwrap(),
            "--upstream",
            upstream,
            "--tls-cert",
            self.cert.to_str().unwrap(),
            "--tls-key",
            self.key.to_str().unwrap(),
        ]
    }
}

/// A TLS client trusting `cas`, without session resumption (a resumed
/// session would report the certificate of the first handshake).
fn client(cas: &[&Ca]) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for ca in cas {
        roots
            .add(CertificateDer::from_pem_slice(ca.pem.as_bytes()).unwrap())
            .unwrap();
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.resumption = rustls::client::Resumption::disabled();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Arc::new(config)
}

/// A full, verified handshake: the certificate served and the protocol
/// ALPN chose.
fn handshake(addr: &str, config: &Arc<rustls::ClientConfig>) -> (CertificateDer<'static>, Vec<u8>) {
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let mut conn = rustls::ClientConnection::new(config.clone(), name).unwrap();
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp)
            .unwrap_or_else(|e| panic!("TLS handshake with {addr}: {e}"));
    }
    let cert = conn.peer_certificates().expect("a certificate")[0].clone();
    (cert, conn.alpn_protocol().unwrap_or_default().to_vec())
}

/// curl's `%{http_version}` for a GET of `url` (`2` or `1.1`).
fn curl_http_version(url: &str, ca: &Path, extra: &[&str]) -> String {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "60", "-o", "/dev/null"])
        .args(["-w", "%{http_code} %{http_version}", "--cacert"])
        .arg(ca)
        .args(extra)
        .arg(url)
        .output()
        .expect("the TLS tests need curl");
    assert!(
        out.status.success(),
        "curl {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let version = text
        .strip_prefix("200 ")
        .unwrap_or_else(|| panic!("{text}"));
    version.to_owned()
}

/// Handshakes until modgate serves `want`: it looks at the files at most
/// once a second, on a handshake.
fn wait_for_cert(addr: &str, config: &Arc<rustls::ClientConfig>, want: &CertificateDer<'_>) {
    for _ in 0..200 {
        if handshake(addr, config).0 == *want {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("modgate kept serving its old certificate");
}

fn started(url: &str) -> &str {
    url.strip_prefix("https://")
        .unwrap_or_else(|| panic!("modgate announced {url}, not https"))
}

#[test]
fn the_go_command_downloads_over_https_and_certificates_rotate_in_place() {
    let fx = Fixture::get();
    let mirror = Mirror::serving(fx.tree.clone());
    let dir = fresh_dir("tls");
    let (ca, next_ca) = (Ca::new("modgate test CA"), Ca::new("modgate next CA"));
    let bundle = dir.join("cas.pem");
    fs_err::write(&bundle, format!("{}{}", ca.pem, next_ca.pem)).unwrap();
    let files = Files::in_dir(&dir);
    let first = ca.issue(1);
    files.install(&first);
    let storage = fresh_dir("storage");
    let modgate = Modgate::start_args(&files.args(&storage, &mirror.url));
    let addr = started(&modgate.url).to_owned();
    let config = client(&[&ca, &next_ca]);

    // The go command trusts the CA through SSL_CERT_FILE, as in production.
    let go = Go::new(&modgate.url).env("SSL_CERT_FILE", bundle.to_str().unwrap());
    let got = go::download(&go, &fresh_dir("work"), &[&format!("{BETA}@v0.2.0")]);
    assert_eq!(got[0].sum, fx.download(BETA, "v0.2.0").sum);

    // ALPN: HTTP/2 is offered first and served; HTTP/1.1 when asked.
    let (served, alpn) = handshake(&addr, &config);
    assert_eq!(served, first.der);
    assert_eq!(alpn, b"h2");
    let healthz = format!("{}/healthz", modgate.url);
    assert_eq!(curl_http_version(&healthz, &bundle, &[]), "2");
    assert_eq!(curl_http_version(&healthz, &bundle, &["--http1.1"]), "1.1");

    // Renewed (a new key, serial and CA): new connections get it from the
    // process that served the first.
    let second = next_ca.issue(2);
    files.install(&second);
    wait_for_cert(&addr, &config, &second.der);
    let status = fs_err::read_to_string(format!("/proc/{}/status", modgate.pid())).unwrap();
    let state = status.lines().find(|l| l.starts_with("State:")).unwrap();
    assert!(!state.contains("zombie"), "modgate exited: {state}");
    assert!(
        modgate.logs().contains("TLS certificate reloaded"),
        "{}",
        modgate.logs()
    );
    let go = Go::new(&modgate.url).env("SSL_CERT_FILE", bundle.to_str().unwrap());
    let got = go::download(&go, &fresh_dir("work"), &[&format!("{BETA}@v0.1.0")]);
    assert_eq!(got[0].sum, fx.download(BETA, "v0.1.0").sum);

    // Half a certificate written in place: modgate warns and keeps the
    // one it has. Handshakes go on until it has looked at the file.
    let warned = |logs: String| logs.matches("TLS certificate not reloaded").count();
    let before = warned(modgate.logs());
    let third = ca.issue(3);
    fs_err::write(&files.cert, &third.cert_pem[..third.cert_pem.len() / 2]).unwrap();
    let mut seen = false;
    for _ in 0..200 {
        assert_eq!(handshake(&addr, &config).0, second.der);
        if warned(modgate.logs()) > before {
            seen = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        seen,
        "no warning for the half-written certificate:\n{}",
        modgate.logs()
    );
    assert_eq!(handshake(&addr, &config).0, second.der);

    // Once the files are whole again, they are served.
    files.install(&third);
    wait_for_cert(&addr, &config, &third.der);
    assert_eq!(curl_http_version(&healthz, &bundle, &[]), "2");
}

/// A client that connects and never sends its ClientHello loses its
/// connection, and its slot under the connection limit, at the
/// request-header timeout.
#[test]
fn a_silent_tls_client_is_closed_at_the_header_timeout() {
    let dir = fresh_dir("tls");
    let ca = Ca::new("modgate test CA");
    let files = Files::in_dir(&dir);
    files.install(&ca.issue(1));
    let ca_file = dir.join("ca.pem");
    fs_err::write(&ca_file, &ca.pem).unwrap();
    let storage = fresh_dir("storage");
    let mut args = files.args(&storage, "off");
    args.extend(["--request-header-timeout", "1s", "--max-connections", "1"]);
    let modgate = Modgate::start_args(&args);
    let addr = started(&modgate.url);

    let mut silent = TcpStream::connect(addr).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    // Waits for the silent client's slot (curl gives up after 60 s).
    let healthz = format!("{}/healthz", modgate.url);
    assert_eq!(curl_http_version(&healthz, &ca_file, &[]), "2");
    let mut buf = Vec::new();
    match silent.read_to_end(&mut buf) {
        Ok(_) => assert!(
            buf.is_empty(),
            "modgate sent {buf:?} before any ClientHello"
        ),
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
    }
}

/// HPACK integer with an `n`-bit prefix (RFC 7541 5.1), after `flags`.
fn hpack_int(out: &mut Vec<u8>, flags: u8, n: u32, mut v: usize) {
    let max = (1usize << n) - 1;
    if v < max {
        out.push(flags | v as u8);
        return;
    }
    out.push(flags | max as u8);
    v -= max;
    while v >= 128 {
        out.push((v % 128) as u8 | 0x80);
        v /= 128;
    }
    out.push(v as u8);
}

/// A header field literal without indexing, its name from the static table.
fn hpack_literal(out: &mut Vec<u8>, name_index: usize, value: &str) {
    hpack_int(out, 0x00, 4, name_index);
    hpack_int(out, 0x00, 7, value.len());
    out.extend_from_slice(value.as_bytes());
}

fn h2_frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut frame = len.to_be_bytes()[1..].to_vec();
    frame.extend_from_slice(&[kind, flags]);
    frame.extend_from_slice(&stream.to_be_bytes());
    frame.extend_from_slice(payload);
    frame
}

/// GETs `path` over HTTP/2 on `stream` as a slow reader: the default
/// 64 KiB windows, opened again 16 KiB at a time after a pause, so the
/// client sends WINDOW_UPDATE frames all through the answer. Returns the
/// body.
fn slow_h2_get(
    mut stream: impl Read + Write,
    scheme: &str,
    authority: &str,
    path: &str,
) -> Vec<u8> {
    const DATA: u8 = 0;
    const HEADERS: u8 = 1;
    const SETTINGS: u8 = 4;
    const PING: u8 = 6;
    const WINDOW_UPDATE: u8 = 8;
    const END_STREAM: u8 = 1;
    // :method GET, then :scheme http or https (static table 6, 7).
    let mut block = vec![0x82, if scheme == "https" { 0x87 } else { 0x86 }];
    hpack_literal(&mut block, 4, path);
    hpack_literal(&mut block, 1, authority);
    let mut hello = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    hello.extend(h2_frame(SETTINGS, 0, 0, &[]));
    hello.extend(h2_frame(HEADERS, END_STREAM | 0x4, 1, &block));
    stream.write_all(&hello).unwrap();
    let (mut body, mut unacked, mut status) = (Vec::new(), 0usize, None);
    loop {
        let mut head = [0u8; 9];
        stream.read_exact(&mut head).unwrap_or_else(|e| {
            panic!(
                "connection lost after {} bytes of the answer: {e}",
                body.len()
            )
        });
        let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
        let (kind, flags) = (head[3], head[4]);
        let mut payload = vec![0u8; len];
        stream.read_exact(&mut payload).unwrap();
        match kind {
            // hyper sends :status 200 as the static table's entry 8.
            HEADERS => status = Some(payload.first() == Some(&0x88)),
            DATA => {
                body.extend_from_slice(&payload);
                if flags & END_STREAM != 0 {
                    assert_eq!(status, Some(true), "not a 200");
                    return body;
                }
                unacked += len;
                if unacked >= 16 << 10 {
                    std::thread::sleep(Duration::from_millis(100));
                    let increment = (unacked as u32).to_be_bytes();
                    let mut update = h2_frame(WINDOW_UPDATE, 0, 0, &increment);
                    update.extend(h2_frame(WINDOW_UPDATE, 0, 1, &increment));
                    stream.write_all(&update).unwrap();
                    unacked = 0;
                }
            }
            SETTINGS if flags & 1 == 0 => stream.write_all(&h2_frame(SETTINGS, 1, 0, &[])).unwrap(),
            PING if flags & 1 == 0 => stream.write_all(&h2_frame(PING, 1, 0, &payload)).unwrap(),
            SETTINGS | PING | WINDOW_UPDATE => {}
            other => panic!("unexpected HTTP/2 frame type {other}: {payload:?}"),
        }
    }
}

/// An HTTP/2 client sends frames (window updates) while a large answer
/// streams to it: they begin no request, so a download longer than the
/// request-header timeout completes, over TLS and over plain HTTP/2
/// (prior knowledge, as from a load balancer).
#[test]
fn a_slow_http2_download_outlasts_the_header_timeout() {
    let dir = fresh_dir("tls");
    let ca = Ca::new("modgate test CA");
    let files = Files::in_dir(&dir);
    files.install(&ca.issue(1));
    let tree = fresh_dir("big-tree");
    let (module, version) = ("example.com/tls/big", "v1.0.0");
    let zip = crate::support::mirror::big_module(&tree, module, version, 1);
    let mirror = Mirror::serving(tree);
    let storage = fresh_dir("storage");
    let mut args = files.args(&storage, &mirror.url);
    args.extend(["--request-header-timeout", "1s"]);
    let path = format!("/{module}/@v/{version}.zip");
    let tls = Modgate::start_args(&args);
    let addr = started(&tls.url);
    let mut config = (*client(&[&ca])).clone();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    // 1 MiB, 16 KiB per 100 ms: some 6 s, well past the 1 s timeout.
    let stream = rustls::StreamOwned::new(conn, connect(addr));
    let got = slow_h2_get(stream, "https", addr, &path);
    assert!(got == zip, "the zip arrived whole over TLS");

    let storage = fresh_dir("storage");
    let plain = Modgate::start_args(&[
        "--storage",
        storage.to_str().unwrap(),
        "--upstream",
        &mirror.url,
        "--request-header-timeout",
        "1s",
    ]);
    let got = slow_h2_get(connect(&plain.addr), "http", &plain.addr, &path);
    assert!(got == zip, "the zip arrived whole over plain HTTP/2");
}

fn connect(addr: &str) -> TcpStream {
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    tcp
}

#[test]
fn a_bad_certificate_or_key_stops_start_up_naming_the_file() {
    let dir = fresh_dir("tls");
    let ca = Ca::new("modgate test CA");
    let files = Files::in_dir(&dir);
    let issued = ca.issue(1);
    files.install(&issued);
    let other = ca.issue(2);
    let storage = fresh_dir("storage");
    let start = |want: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_modgate"))
            .args(["serve", "--listen", "127.0.0.1:0", "--sumdb", "off"])
            .args(files.args(&storage, "off"))
            .env_remove("MODGATE_CONFIG")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "modgate started:\n{stderr}");
        assert!(
            String::from_utf8_lossy(&out.stdout).is_empty(),
            "no listening line"
        );
        assert!(stderr.contains(want), "want {want:?} in:\n{stderr}");
    };
    fs_err::write(&files.key, &other.key_pem).unwrap();
    start("does not match the certificate");
    fs_err::write(&files.key, &issued.key_pem).unwrap();
    fs_err::write(&files.cert, "not a certificate\n").unwrap();
    start("cert.pem: no certificate");
}
