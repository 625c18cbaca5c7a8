//! One HTTP GET, layer by layer, timed like curl: DNS, TCP connect, TLS
//! handshake, first byte. A failure names the first layer that failed.
//!
//! The request is written by hand (HTTP/1.1, `Connection: close`) so that
//! every phase is observable on its own; a general HTTP client hides them.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use modgate_redact::redact_url;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout_at};
use url::{Host, Url};

use super::check::{Address, Category, CertInfo, Timings, TlsInfo, millis};
use super::proxyenv::{ProxyEnv, ProxyServer};
use super::tls::{TlsSetup, classify_error, summarize};
use crate::error::Error;

/// Bodies are read for small documents only (version lists, tree heads).
const MAX_BODY: usize = 1 << 20;
const MAX_HEAD: usize = 64 << 10;
const MAX_REDIRECTS: usize = 5;
/// Addresses tried per name: enough to see both families.
const MAX_ADDRESSES: usize = 6;

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// What the probes share.
pub struct Prober {
    pub tls: TlsSetup,
    pub proxies: ProxyEnv,
    pub timeout: Duration,
    /// Credentials for URLs without their own `user:pass@`, as go's.
    pub auth: modgate_net::goauth::GoAuth,
}

#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Local clock minus the server's `Date`, in seconds.
    pub skew: Option<f64>,
    /// Redirects followed, redacted.
    pub redirects: Vec<String>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub category: Category,
    pub detail: String,
}

impl Failure {
    fn new(category: Category, detail: impl Into<String>) -> Self {
        Self {
            category,
            detail: detail.into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub timings: Timings,
    pub addresses: Vec<Address>,
    pub tls: Option<TlsInfo>,
    /// The proxy server the request went through, redacted.
    pub via: Option<String>,
    pub result: Result<Answer, Failure>,
}

impl Prober {
    /// GET `url`, following redirects, all within one `timeout`.
    pub async fn get(&self, url: &str) -> Outcome {
        let start = Instant::now();
        let deadline = start + self.timeout;
        let mut out = Outcome {
            timings: Timings::default(),
            addresses: Vec::new(),
            tls: None,
            via: None,
            result: Err(Failure::new(Category::Config, "not probed")),
        };
        let mut url = match Url::parse(url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => u,
            Ok(_) | Err(_) => {
                out.result = Err(Failure::new(
                    Category::Config,
                    format!("not an http(s) URL: {}", redact_url(url)),
                ));
                return out;
            }
        };
        let mut redirects = Vec::new();
        loop {
            // Phase timings describe the first hop, where most trouble is;
            // the total covers every hop.
            let first = redirects.is_empty();
            let mut hop_out = Outcome {
                timings: Timings::default(),
                addresses: Vec::new(),
                tls: None,
                via: None,
                result: Err(Failure::new(Category::Config, "not probed")),
            };
            let result = self.hop(&url, deadline, &mut hop_out).await;
            if first {
                out.timings = hop_out.timings;
                out.addresses = hop_out.addresses;
                out.tls = hop_out.tls;
                out.via = hop_out.via;
            }
            match result {
                Ok(mut answer) if (300..400).contains(&answer.status) => {
                    let next = answer.header("location").and_then(|loc| url.join(loc).ok());
                    match next {
                        Some(next) if redirects.len() < MAX_REDIRECTS => {
                            redirects.push(redact_url(next.as_str()));
                            url = next;
                        }
                        _ => {
                            answer.redirects = redirects;
                            out.result = Ok(answer);
                            break;
                        }
                    }
                }
                Ok(mut answer) => {
                    answer.redirects = redirects;
                    out.result = Ok(answer);
                    break;
                }
                Err(f) => {
                    out.result = Err(f);
                    break;
                }
            }
        }
        out.timings.total_ms = millis(start.elapsed());
        out
    }

    async fn hop(
        &self,
        url: &Url,
        deadline: Instant,
        out: &mut Outcome,
    ) -> Result<Answer, Failure> {
        let host = match url.host() {
            Some(Host::Domain(d)) => d.to_owned(),
            Some(Host::Ipv4(ip)) => ip.to_string(),
            Some(Host::Ipv6(ip)) => ip.to_string(),
            None => return Err(Failure::new(Category::Config, "URL without a host")),
        };
        let port = url.port_or_known_default().unwrap_or(443);
        // SOCKS proxies are reported by the environment check; probe direct.
        let proxy = self
            .proxies
            .for_url(url)
            .filter(|p| matches!(p.url.scheme(), "http" | "https"));
        out.via = proxy.as_ref().map(ProxyServer::display);
        let through_proxy = |f: Failure| match &proxy {
            Some(p) => Failure::new(
                Category::ProxyEnv,
                format!("proxy {}={}: {}", p.var, p.display(), f.detail),
            ),
            None => f,
        };

        let (conn_host, conn_port) = match &proxy {
            Some(p) => (
                p.url
                    .host_str()
                    .unwrap_or_default()
                    .trim_matches(['[', ']'])
                    .to_owned(),
                p.url.port_or_known_default().unwrap_or(80),
            ),
            None => (host.clone(), port),
        };
        let addrs = self
            .resolve(&conn_host, conn_port, deadline, out)
            .await
            .map_err(through_proxy)?;
        let tcp = self
            .connect(&addrs, deadline, out)
            .await
            .map_err(through_proxy)?;
        let mut io: Box<dyn Io> = Box::new(tcp);

        if let Some(p) = &proxy {
            if p.url.scheme() == "https" {
                let proxy_host = conn_host.clone();
                io = self
                    .handshake(io, &proxy_host, deadline, &mut None)
                    .await
                    .map_err(through_proxy)?;
            }
            if url.scheme() == "https" {
                io = self
                    .tunnel(io, &host, port, p, deadline)
                    .await
                    .map_err(through_proxy)?;
            }
        }
        if url.scheme() == "https" {
            let start = Instant::now();
            let mut info = None;
            let handshake = self.handshake(io, &host, deadline, &mut info).await;
            // Timed even when it fails: a slow failure says something too.
            out.timings.tls_ms = Some(millis(start.elapsed()));
            out.tls = info;
            io = handshake?;
        }
        // Through an HTTP proxy, a plain-HTTP request names the whole URL.
        let target = match &proxy {
            Some(_) if url.scheme() == "http" => {
                let mut u = url.clone();
                let _ = u.set_username("");
                let _ = u.set_password(None);
                u.to_string()
            }
            _ => match url.query() {
                Some(q) => format!("{}?{q}", url.path()),
                None => url.path().to_owned(),
            },
        };
        let goauth = if url.username().is_empty() {
            self.auth.headers(url.as_str())
        } else {
            Vec::new()
        };
        let mut headers: Vec<(&str, String)> = goauth
            .iter()
            .map(|(name, value)| (name.as_str(), value.clone()))
            .collect();
        if !url.username().is_empty() {
            headers.push(("Authorization", basic_auth(url)));
        }
        if let Some(p) = &proxy
            && url.scheme() == "http"
            && !p.url.username().is_empty()
        {
            headers.push(("Proxy-Authorization", basic_auth(&p.url)));
        }
        let host_header = match url.port() {
            Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_owned(),
        };
        self.request(io, &host_header, &target, &headers, deadline, out)
            .await
    }

    async fn resolve(
        &self,
        host: &str,
        port: u16,
        deadline: Instant,
        out: &mut Outcome,
    ) -> Result<Vec<SocketAddr>, Failure> {
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        let start = Instant::now();
        let looked_up = timeout_at(deadline, tokio::net::lookup_host((host, port))).await;
        out.timings.dns_ms = Some(millis(start.elapsed()));
        let mut addrs: Vec<SocketAddr> = match looked_up {
            Err(_) => {
                return Err(Failure::new(
                    Category::Dns,
                    format!(
                        "lookup {host}: no answer from the resolver within {}",
                        show(self.timeout)
                    ),
                ));
            }
            Ok(Err(e)) => {
                return Err(Failure::new(Category::Dns, format!("lookup {host}: {e}")));
            }
            Ok(Ok(found)) => found.collect(),
        };
        let mut seen = Vec::new();
        addrs.retain(|a| {
            let new = !seen.contains(a);
            seen.push(*a);
            new
        });
        addrs.truncate(MAX_ADDRESSES);
        if addrs.is_empty() {
            return Err(Failure::new(
                Category::Dns,
                format!("lookup {host}: no addresses"),
            ));
        }
        Ok(addrs)
    }

    /// Tries the addresses in order; each but the last gets a share of the
    /// time left, so a dead IPv6 route does not hide a working IPv4 one.
    async fn connect(
        &self,
        addrs: &[SocketAddr],
        deadline: Instant,
        out: &mut Outcome,
    ) -> Result<TcpStream, Failure> {
        let mut timed_out = false;
        let mut errors = Vec::new();
        for (i, addr) in addrs.iter().enumerate() {
            let left = addrs.len() - i;
            let now = Instant::now();
            let share = deadline.saturating_duration_since(now) / u32::try_from(left).unwrap_or(1);
            let mut entry = Address {
                ip: addr.ip().to_string(),
                family: if addr.is_ipv4() { "ipv4" } else { "ipv6" },
                connect_ms: None,
                error: None,
            };
            match timeout_at(now + share, TcpStream::connect(addr)).await {
                Ok(Ok(stream)) => {
                    let ms = millis(now.elapsed());
                    entry.connect_ms = Some(ms);
                    out.addresses.push(entry);
                    out.timings.connect_ms = Some(ms);
                    let _ = stream.set_nodelay(true);
                    return Ok(stream);
                }
                Ok(Err(e)) => {
                    let msg = format!("dial tcp {addr}: connect: {}", io_text(&e));
                    entry.error = Some(msg.clone());
                    errors.push(msg);
                }
                Err(_) => {
                    timed_out = true;
                    let msg = format!(
                        "dial tcp {addr}: i/o timeout (no answer within {})",
                        show(share)
                    );
                    entry.error = Some(msg.clone());
                    errors.push(msg);
                }
            }
            out.addresses.push(entry);
        }
        let category = if timed_out {
            Category::ConnectTimeout
        } else {
            Category::ConnectRefused
        };
        Err(Failure::new(category, errors.join("; ")))
    }

    async fn handshake(
        &self,
        io: Box<dyn Io>,
        host: &str,
        deadline: Instant,
        info: &mut Option<TlsInfo>,
    ) -> Result<Box<dyn Io>, Failure> {
        let (config, recorder) = self
            .tls
            .client()
            .map_err(|e| Failure::new(Category::TlsHandshake, format!("TLS set-up: {e}")))?;
        let name = rustls::pki_types::ServerName::try_from(host.to_owned()).map_err(|e| {
            Failure::new(
                Category::TlsHandshake,
                format!("bad TLS server name {host:?}: {e}"),
            )
        })?;
        let connector = tokio_rustls::TlsConnector::from(config);
        let tls = match timeout_at(deadline, connector.connect(name, io)).await {
            Err(_) => {
                return Err(Failure::new(
                    Category::TlsHandshake,
                    format!(
                        "connected, but the TLS handshake did not finish within {} \
                         (net/http: TLS handshake timeout)",
                        show(self.timeout)
                    ),
                ));
            }
            Ok(Err(e)) => {
                let (category, detail) = classify_error(&e, &recorder.chain());
                return Err(Failure::new(category, detail));
            }
            Ok(Ok(tls)) => tls,
        };
        let conn = tls.get_ref().1;
        let now = jiff::Timestamp::now().as_second();
        let chain: Vec<_> = conn
            .peer_certificates()
            .unwrap_or_default()
            .iter()
            .filter_map(summarize)
            .collect();
        *info = Some(TlsInfo {
            version: match conn.protocol_version() {
                Some(rustls::ProtocolVersion::TLSv1_3) => "TLS 1.3".to_owned(),
                Some(rustls::ProtocolVersion::TLSv1_2) => "TLS 1.2".to_owned(),
                Some(v) => format!("{v:?}"),
                None => "unknown".to_owned(),
            },
            cipher: conn
                .negotiated_cipher_suite()
                .map(|c| format!("{:?}", c.suite()))
                .unwrap_or_default(),
            leaf_expires_in: chain.first().map(|c| c.not_after - now),
            chain: chain
                .iter()
                .map(|c| CertInfo {
                    subject: c.subject.clone(),
                    issuer: c.issuer.clone(),
                    not_after: jiff::Timestamp::from_second(c.not_after)
                        .map(|t| t.to_string())
                        .unwrap_or_default(),
                })
                .collect(),
        });
        Ok(Box::new(tls))
    }

    /// `CONNECT host:port` through an HTTP proxy.
    async fn tunnel(
        &self,
        mut io: Box<dyn Io>,
        host: &str,
        port: u16,
        proxy: &ProxyServer,
        deadline: Instant,
    ) -> Result<Box<dyn Io>, Failure> {
        let authority = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let mut req = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
        if !proxy.url.username().is_empty() {
            req.push_str(&format!(
                "Proxy-Authorization: {}\r\n",
                basic_auth(&proxy.url)
            ));
        }
        req.push_str("\r\n");
        let head = async {
            io.write_all(req.as_bytes()).await?;
            read_head(&mut io).await
        };
        let (head, _) = match timeout_at(deadline, head).await {
            Err(_) => {
                return Err(Failure::new(
                    Category::ProxyEnv,
                    format!(
                        "no answer to CONNECT {authority} within {}",
                        show(self.timeout)
                    ),
                ));
            }
            Ok(Err(e)) => {
                return Err(Failure::new(
                    Category::ProxyEnv,
                    format!("CONNECT {authority}: {}", io_text(&e)),
                ));
            }
            Ok(Ok(h)) => h,
        };
        let (status, reason, _) =
            parse_head(&head).map_err(|e| Failure::new(Category::ProxyEnv, e.to_string()))?;
        if status != 200 {
            return Err(Failure::new(
                Category::ProxyEnv,
                format!("CONNECT {authority}: {status} {reason}"),
            ));
        }
        Ok(io)
    }

    async fn request(
        &self,
        mut io: Box<dyn Io>,
        host_header: &str,
        target: &str,
        headers: &[(&str, String)],
        deadline: Instant,
        out: &mut Outcome,
    ) -> Result<Answer, Failure> {
        let mut req = format!(
            "GET {target} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: modgate-doctor/{}\r\n\
             Accept: */*\r\nConnection: close\r\n",
            env!("CARGO_PKG_VERSION")
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        let sent = Instant::now();
        let exchange = async {
            io.write_all(req.as_bytes()).await?;
            io.flush().await?;
            let mut first = [0u8; 1];
            let n = io.read(&mut first).await?;
            let ttfb = sent.elapsed();
            if n == 0 {
                return Ok((Vec::new(), Vec::new(), ttfb));
            }
            let (mut head, rest) = read_head(&mut io).await?;
            head.insert(0, first[0]);
            Ok::<_, std::io::Error>((head, rest, ttfb))
        };
        let (head, rest, ttfb) = match timeout_at(deadline, exchange).await {
            Err(_) => {
                return Err(Failure::new(
                    Category::HttpTimeout,
                    format!(
                        "connected and sent GET {}, but no answer within {}",
                        redact_target(target),
                        show(self.timeout)
                    ),
                ));
            }
            Ok(Err(e)) => {
                return Err(Failure::new(
                    Category::HttpStatus,
                    format!(
                        "the connection failed while waiting for the answer: {}",
                        io_text(&e)
                    ),
                ));
            }
            Ok(Ok(x)) => x,
        };
        out.timings.ttfb_ms = Some(millis(ttfb));
        if head.is_empty() {
            return Err(Failure::new(
                Category::HttpStatus,
                "the server closed the connection without an HTTP answer",
            ));
        }
        let (status, reason, headers) = parse_head(&head).map_err(|e| {
            let detail = if head.first() == Some(&0x15) || head.first() == Some(&0x16) {
                "the server answered with TLS, not plain HTTP: use https://".to_owned()
            } else {
                e.to_string()
            };
            Failure::new(Category::HttpStatus, detail)
        })?;
        let skew = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("date"))
            .and_then(|(_, v)| httpdate::parse_http_date(v).ok())
            .map(|date| {
                let now = SystemTime::now();
                match now.duration_since(date) {
                    Ok(d) => d.as_secs_f64(),
                    Err(e) => -e.duration().as_secs_f64(),
                }
            });
        let mut answer = Answer {
            status,
            reason,
            headers,
            body: Vec::new(),
            skew,
            redirects: Vec::new(),
        };
        // A late or broken body still leaves the status: keep what arrived.
        let _ = timeout_at(deadline, read_body(&mut io, rest, &mut answer)).await;
        Ok(answer)
    }
}

/// Reads up to the end of the header block; returns it and any bytes after.
async fn read_head(io: &mut Box<dyn Io>) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            return Ok((buf, rest));
        }
        if buf.len() > MAX_HEAD {
            // Not HTTP: hand back what came for the error message.
            return Ok((buf, Vec::new()));
        }
        let n = io.read(&mut chunk).await?;
        if n == 0 {
            return Ok((buf, Vec::new()));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

type Head = (u16, String, Vec<(String, String)>);

fn parse_head(head: &[u8]) -> Result<Head, Error> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let status = parts.next().and_then(|s| s.parse::<u16>().ok());
    let (true, Some(status)) = (version.starts_with("HTTP/"), status) else {
        return Err(Error::NotHttp(text.chars().take(40).collect()));
    };
    let reason = parts.next().unwrap_or_default().to_owned();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Ok((status, reason, headers))
}

async fn read_body(io: &mut Box<dyn Io>, mut body: Vec<u8>, answer: &mut Answer) {
    let length = answer
        .header("content-length")
        .and_then(|v| v.parse::<usize>().ok());
    let chunked = answer
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let mut chunk = [0u8; 8192];
    loop {
        if length.is_some_and(|n| body.len() >= n) || body.len() >= MAX_BODY {
            break;
        }
        if chunked && body.windows(5).any(|w| w == b"0\r\n\r\n") {
            break;
        }
        match io.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    if let Some(n) = length {
        body.truncate(n);
    }
    answer.body = if chunked { dechunk(&body) } else { body };
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = data.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&data[..eol]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let Ok(size) = usize::from_str_radix(size_text, 16) else {
            break;
        };
        let start = eol + 2;
        if size == 0 || start + size > data.len() {
            break;
        }
        out.extend_from_slice(&data[start..start + size]);
        data = data.get(start + size + 2..).unwrap_or_default();
    }
    out
}

fn basic_auth(url: &Url) -> String {
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let creds = format!(
        "{}:{}",
        decode(url.username()),
        decode(url.password().unwrap_or_default())
    );
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(creds)
    )
}

/// The request target without credentials or query (which may carry a
/// token). Without a proxy it is a path, whose query redact_url keeps.
fn redact_target(target: &str) -> String {
    redact_url(target.split('?').next().unwrap_or(target))
}

/// An I/O error in Go's words where they differ from Rust's.
fn io_text(e: &std::io::Error) -> String {
    use std::io::ErrorKind::*;
    match e.kind() {
        ConnectionRefused => "connection refused".to_owned(),
        ConnectionReset => "connection reset by peer".to_owned(),
        HostUnreachable => "no route to host".to_owned(),
        NetworkUnreachable => "network is unreachable".to_owned(),
        _ => e.to_string(),
    }
}

pub fn show(d: Duration) -> String {
    if d.subsec_millis() == 0 && d.as_secs() > 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_heads() {
        let (status, reason, headers) =
            parse_head(b"HTTP/1.1 404 Not Found\r\nDate: x\r\nContent-Length: 3\r\n\r\n").unwrap();
        assert_eq!((status, reason.as_str()), (404, "Not Found"));
        assert_eq!(headers.len(), 2);
        assert!(parse_head(b"\x15\x03\x01\x00\x02").is_err());
        assert!(parse_head(b"SSH-2.0-OpenSSH\r\n").is_err());
    }

    #[test]
    fn redacts_request_targets() {
        assert_eq!(redact_target("/m/@v/list?token=x"), "/m/@v/list");
        assert_eq!(
            redact_target("http://u:p@h/m/@v/list?t=x"),
            "http://***@h/m/@v/list"
        );
    }

    #[test]
    fn dechunks() {
        assert_eq!(dechunk(b"3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n"), b"abcde");
        assert_eq!(dechunk(b"zz\r\n"), b"");
        assert_eq!(dechunk(b"10\r\nshort"), b"");
    }

    #[test]
    fn basic_auth_decodes_userinfo() {
        let url = Url::parse("https://me:p%40ss@goproxy.corp/").unwrap();
        assert_eq!(basic_auth(&url), "Basic bWU6cEBzcw==");
    }

    #[test]
    fn shows_durations() {
        assert_eq!(show(Duration::from_secs(2)), "2s");
        assert_eq!(show(Duration::from_millis(500)), "500ms");
    }
}
