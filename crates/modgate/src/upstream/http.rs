//! An upstream GOPROXY over HTTP(S).

use std::error::Error as _;
use std::time::Duration;

use futures::StreamExt;
use tokio::io::AsyncWriteExt;

use super::{FetchError, Fetched, Want};

pub fn client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .user_agent(concat!("modgate/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(Duration::from_secs(30))
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
}

impl HttpUpstream {
    pub fn new(base: &str, client: reqwest::Client) -> Self {
        Self {
            base: base
                .split_once('?')
                .map_or(base, |(b, _)| b)
                .trim_end_matches('/')
                .to_owned(),
            query: base.split_once('?').map(|(_, q)| q.to_owned()),
            name: redact(base),
            client,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub async fn fetch(&self, path: &str, want: &Want<'_>) -> Result<Fetched, FetchError> {
        let url = match &self.query {
            Some(q) => format!("{}/{path}?{q}", self.base),
            None => format!("{}/{path}", self.base),
        };
        let resp = self
            .client
            .get(&url)
            .send()
            .await
            .map_err(|e| FetchError::Unavailable(describe(e)))?;
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
            if total > max {
                Err(FetchError::Invalid(format!(
                    "{path}: body exceeds the limit of {max} bytes"
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
fn describe(e: reqwest::Error) -> String {
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
