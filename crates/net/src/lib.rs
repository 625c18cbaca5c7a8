//! modgate's HTTP plumbing, shared by the server, the VCS code and the
//! client tools: the HTTP client as modgate builds it, one wording of
//! HTTP failures, with credentials redacted (`modgate-redact`), and the
//! policy for destinations a request chose ([`DestinationPolicy`]), and
//! the server's own TLS ([`tls`]).

mod destination;

pub use destination::{Cidr, Class, DestinationPolicy, Error, classify};

pub mod credentials;
pub mod goauth;
pub mod tls;

use std::error::Error as _;
use std::time::Duration;

use modgate_redact::redact_text;

/// An HTTP client with modgate's user agent, the platform's roots (rustls)
/// and the two timeouts every remote call needs.
pub fn client(
    connect_timeout: Duration,
    read_timeout: Duration,
) -> reqwest::Result<reqwest::Client> {
    builder()
        // reqwest's connect timeout covers TCP and the TLS handshake.
        .connect_timeout(connect_timeout)
        // Per read: bounds both the wait for headers and any pause in the body.
        .read_timeout(read_timeout)
        .build()
}

/// A client builder with modgate's user agent.
pub fn builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().user_agent(concat!("modgate/", env!("CARGO_PKG_VERSION")))
}

/// The error and its causes, without the URL (which may carry credentials).
pub fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut msg = if e.is_timeout() {
        "timed out".to_owned()
    } else {
        e.to_string()
    };
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !msg.contains(&s_text) {
            msg.push_str(": ");
            msg.push_str(&s_text);
        }
        source = s.source();
    }
    msg
}

/// `: <first line>` of an error body, which GOPROXY servers and checksum
/// databases use for the reason; empty when there is none. Reads at most a
/// few hundred bytes, whatever the body's size.
pub async fn first_line(mut resp: reqwest::Response) -> String {
    const MAX: usize = 512;
    let mut body = Vec::new();
    while body.len() < MAX {
        match resp.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(MAX)]);
    match text.lines().map(str::trim).find(|l| !l.is_empty()) {
        Some(line) => format!(": {}", redact_text(line)),
        None => String::new(),
    }
}
