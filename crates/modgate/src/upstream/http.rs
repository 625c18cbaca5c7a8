//! An upstream GOPROXY over HTTP(S).

use std::error::Error as _;
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::io::AsyncWriteExt;

use super::{FetchError, Fetched, Policy, Want};

/// A body slower than this, once past [`SLOW_GRACE`], is abandoned: a
/// trickling mirror must not hold a build hostage.
const MIN_RATE: u64 = 4 << 10;
const SLOW_GRACE: Duration = Duration::from_secs(5);

pub fn client(policy: &Policy) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .user_agent(concat!("modgate/", env!("CARGO_PKG_VERSION")))
        // reqwest's connect timeout covers TCP and the TLS handshake.
        .connect_timeout(policy.connect_timeout)
        // Per read: bounds both the wait for headers and any pause in the body.
        .read_timeout(policy.idle_timeout)
        .build()
}

/// The URL without credentials or query, for logs, errors and metric labels.
pub fn redact(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let host = match authority.rsplit_once('@') {
        Some((_, host)) => format!("***@{host}"),
        None => authority.to_owned(),
    };
    format!("{scheme}://{host}{path}")
}

pub struct HttpUpstream {
    /// The URL without its query, which goes after each request path.
    base: String,
    query: Option<String>,
    name: String,
    client: reqwest::Client,
    header_timeout: Duration,
}

impl HttpUpstream {
    pub fn new(base: &str, client: reqwest::Client, policy: &Policy) -> Self {
        Self {
            base: base
                .split_once('?')
                .map_or(base, |(b, _)| b)
                .trim_end_matches('/')
                .to_owned(),
            query: base.split_once('?').map(|(_, q)| q.to_owned()),
            name: redact(base),
            client,
            header_timeout: policy.header_timeout,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Fetches `path`; `answered` is called when response headers arrive.
    pub async fn fetch(
        &self,
        path: &str,
        want: &Want<'_>,
        answered: &mut (dyn FnMut() + Send),
    ) -> Result<Fetched, FetchError> {
        let url = match &self.query {
            Some(q) => format!("{}/{path}?{q}", self.base),
            None => format!("{}/{path}", self.base),
        };
        let resp =
            match tokio::time::timeout(self.header_timeout, self.client.get(&url).send()).await {
                Ok(sent) => sent.map_err(|e| FetchError::Unavailable(describe(e)))?,
                Err(_) => {
                    return Err(FetchError::Unavailable(format!(
                        "{path}: no response within {:?}",
                        self.header_timeout
                    )));
                }
            };
        answered();
        let started = Instant::now();
        let status = resp.status();
        if !status.is_success() {
            let reason = first_line(resp).await;
            let message = format!("{path}: {status}{reason}");
            return Err(match status.as_u16() {
                404 | 410 => FetchError::NotFound(message),
                429 | 500..=599 => FetchError::Unavailable(message),
                400..=499 => FetchError::Rejected(message),
                _ => FetchError::Unavailable(message),
            });
        }
        let max = want.max();
        if let Some(len) = resp.content_length().filter(|&len| len > max) {
            return Err(FetchError::Invalid(format!(
                "{path}: {len} bytes exceeds the limit of {max}"
            )));
        }
        let mut body = resp.bytes_stream();
        let mut total = 0u64;
        let mut check = |len: usize| {
            total += len as u64;
            let elapsed = started.elapsed();
            if total > max {
                Err(FetchError::Invalid(format!(
                    "{path}: body exceeds the limit of {max} bytes"
                )))
            } else if elapsed > SLOW_GRACE && total < MIN_RATE * elapsed.as_secs() {
                Err(FetchError::Unavailable(format!(
                    "{path}: too slow ({total} bytes in {elapsed:.0?})"
                )))
            } else {
                Ok(())
            }
        };
        let broken =
            |e: reqwest::Error| FetchError::Unavailable(format!("{path}: {}", describe(e)));
        match want {
            Want::Bytes { .. } => {
                let mut buf = Vec::new();
                while let Some(chunk) = body.next().await {
                    let chunk = chunk.map_err(broken)?;
                    check(chunk.len())?;
                    buf.extend_from_slice(&chunk);
                }
                Ok(Fetched::Bytes(buf.into()))
            }
            Want::File { temp, .. } => {
                let staged = temp().map_err(|e| FetchError::Unavailable(e.to_string()))?;
                let io =
                    |e: std::io::Error| FetchError::Unavailable(format!("staging {path}: {e}"));
                let mut file = tokio::fs::File::from_std(staged.as_file().try_clone().map_err(io)?);
                while let Some(chunk) = body.next().await {
                    let chunk = chunk.map_err(broken)?;
                    check(chunk.len())?;
                    file.write_all(&chunk).await.map_err(io)?;
                }
                file.flush().await.map_err(io)?;
                Ok(Fetched::File(staged))
            }
        }
    }
}

impl HttpUpstream {
    /// Whether the upstream answers HTTP at all: any status but a 5xx or a 429.
    pub async fn probe(&self) -> bool {
        let request = self.client.get(format!("{}/", self.base)).send();
        match tokio::time::timeout(self.header_timeout, request).await {
            Ok(Ok(resp)) => {
                let status = resp.status();
                !status.is_server_error() && status.as_u16() != 429
            }
            _ => false,
        }
    }
}

/// The first line of an error body, which GOPROXY servers use for the reason.
async fn first_line(resp: reqwest::Response) -> String {
    let Ok(body) = resp.bytes().await else {
        return String::new();
    };
    let text = String::from_utf8_lossy(&body[..body.len().min(512)]);
    match text.lines().map(str::trim).find(|l| !l.is_empty()) {
        Some(line) => format!(": {line}"),
        None => String::new(),
    }
}

/// The error and its causes, without the URL (which may carry credentials).
pub(crate) fn describe(e: reqwest::Error) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_userinfo_and_query() {
        assert_eq!(
            redact("https://user:pw@corp.example:8443/go?token=x"),
            "https://***@corp.example:8443/go"
        );
        assert_eq!(redact("http://127.0.0.1:1"), "http://127.0.0.1:1");
    }
}
