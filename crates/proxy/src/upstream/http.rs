//! An upstream GOPROXY over HTTP(S).

use std::time::{Duration, Instant};

use async_trait::async_trait;
use std::sync::Arc;

use futures::StreamExt;
use modgate_net::credentials::{self, Credentials};
use modgate_net::{DestinationPolicy, describe, first_line};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use tokio::io::AsyncWriteExt;

use super::{FetchError, Fetched, Fetcher, Policy, Want};
use crate::ingest::Invalid;
use crate::protocol::Request;

/// A body slower than this, once past [`SLOW_GRACE`], is abandoned: a
/// trickling mirror must not hold a build hostage.
const MIN_RATE: u64 = 4 << 10;
const SLOW_GRACE: Duration = Duration::from_secs(5);

pub struct HttpUpstream {
    /// The URL without its query and userinfo; the query goes after each
    /// request path.
    base: String,
    query: Option<String>,
    name: String,
    /// Basic credentials: the URL's `user:pass@`, else a netrc entry.
    credentials: Option<Credentials>,
    client: reqwest::Client,
    header_timeout: Duration,
    /// For a proxy a request chose (a go-import `mod` entry): the policy
    /// its URL must pass, and its error bodies are not relayed.
    guard: Option<Arc<DestinationPolicy>>,
}

impl HttpUpstream {
    /// An upstream at `base`, sending the credentials of its userinfo.
    pub fn new(base: &str, client: reqwest::Client, policy: &Policy) -> Self {
        let (base, query) = match base.split_once('?') {
            Some((b, q)) => (b, Some(q.to_owned())),
            None => (base, None),
        };
        let (base, credentials) = credentials::split_userinfo(base.trim_end_matches('/'));
        Self {
            name: modgate_redact::redact_url(&base),
            base,
            query,
            credentials,
            client,
            header_timeout: policy.header_timeout,
            guard: None,
        }
    }

    /// A module proxy a go-import `mod` entry named, reached with `client`
    /// (built on `guard`'s policy).
    pub fn discovered(
        base: &str,
        client: reqwest::Client,
        guard: Arc<DestinationPolicy>,
        policy: &Policy,
    ) -> Self {
        Self {
            guard: Some(guard),
            ..Self::new(base, client, policy)
        }
    }

    /// Without credentials in its URL, an operator's upstream takes the
    /// netrc entry of its host, as the go command would (never a
    /// discovered proxy: the operator's secrets are not for hosts a client
    /// names).
    pub fn with_netrc(mut self, netrc: &[credentials::Entry]) -> Self {
        if self.credentials.is_none()
            && let Some(authority) = credentials::authority(&self.base)
        {
            self.credentials = credentials::lookup(netrc, &authority).cloned();
        }
        self
    }

    /// Fetches `path`; `answered` is called when response headers arrive.
    pub async fn fetch_path(
        &self,
        path: &str,
        want: &Want<'_>,
        answered: &mut (dyn FnMut() + Send),
    ) -> Result<Fetched, FetchError> {
        let url = request_url(&self.base, path, self.query.as_deref());
        if let Some(guard) = &self.guard {
            let parsed = reqwest::Url::parse(&url)
                .map_err(|e| FetchError::NotFound(format!("{}: {e}", self.name)))?;
            guard
                .check_url(&parsed)
                .map_err(|e| FetchError::NotFound(format!("{}: {e}", self.name)))?;
        }
        let resp = match tokio::time::timeout(self.header_timeout, self.get(&url).send()).await {
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
            // What a proxy a request chose says could be an internal
            // service's answer: logged, not relayed.
            let reason = match &self.guard {
                None => first_line(resp).await,
                Some(_) => {
                    let said = first_line(resp).await;
                    tracing::info!(upstream = %self.name, path, %status, reason = ?said, "module proxy of a go-import");
                    String::new()
                }
            };
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
            return Err(FetchError::Invalid(Invalid::TooLarge {
                path: format!("{path} ({len} bytes)"),
                max,
            }));
        }
        let mut body = resp.bytes_stream();
        let mut total = 0u64;
        let mut check = |len: usize| {
            total += len as u64;
            let elapsed = started.elapsed();
            if total > max {
                Err(FetchError::Invalid(Invalid::TooLarge {
                    path: path.to_owned(),
                    max,
                }))
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
            Want::File { .. } => {
                let staged = want.stage()?.expect("a file is wanted");
                let io = FetchError::Staging;
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
    fn get(&self, url: &str) -> reqwest::RequestBuilder {
        let request = self.client.get(url);
        match &self.credentials {
            Some(c) => request.basic_auth(&c.login, Some(&c.password)),
            None => request,
        }
    }
}

#[async_trait]
impl Fetcher for HttpUpstream {
    fn name(&self) -> &str {
        &self.name
    }

    fn remote(&self) -> bool {
        true
    }

    async fn fetch(
        &self,
        req: &Request,
        want: &Want<'_>,
        answered: &mut (dyn FnMut() + Send),
    ) -> Result<Fetched, FetchError> {
        self.fetch_path(req.upstream_path(), want, answered).await
    }

    /// Whether the upstream answers HTTP at all: any status but a 5xx or a 429.
    async fn probe(&self) -> bool {
        let request = self.get(&format!("{}/", self.base)).send();
        match tokio::time::timeout(self.header_timeout, request).await {
            Ok(Ok(resp)) => {
                let status = resp.status();
                !status.is_server_error() && status.as_u16() != 429
            }
            _ => false,
        }
    }
}

/// The URL of `path` (decoded, as [`Request::upstream_path`] gives it)
/// under `base`: percent-encoded, so that a `%`, `#` or `?` in a version
/// query asks for that version, not another path.
fn request_url(base: &str, path: &str, query: Option<&str>) -> String {
    // The URL standard's path set, and `%` itself.
    const PATH: &AsciiSet = &CONTROLS
        .add(b' ')
        .add(b'"')
        .add(b'#')
        .add(b'%')
        .add(b'<')
        .add(b'>')
        .add(b'?')
        .add(b'`')
        .add(b'{')
        .add(b'}');
    let path = utf8_percent_encode(path, PATH);
    match query {
        Some(q) => format!("{base}/{path}?{q}"),
        None => format!("{base}/{path}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the goproxy_request fuzz target: a query such as `a#b`
    /// (`a%23b` in the client's URL) went upstream as `a#b.info`, which
    /// asks for `.../@v/a`.
    #[test]
    fn request_paths_are_percent_encoded() {
        let path = |v| format!("example.com/m/@v/{v}.info");
        assert_eq!(
            request_url("https://p.example/sub", &path("v1.0.0-!r!c1"), None),
            "https://p.example/sub/example.com/m/@v/v1.0.0-!r!c1.info"
        );
        assert_eq!(
            request_url("https://p.example", &path("a#b%c?d é"), Some("x=1")),
            "https://p.example/example.com/m/@v/a%23b%25c%3Fd%20%C3%A9.info?x=1"
        );
        for v in ["a#b", "a%2", "a?b", "é"] {
            let url =
                reqwest::Url::parse(&request_url("https://p.example", &path(v), None)).unwrap();
            let got = percent_encoding::percent_decode_str(url.path())
                .decode_utf8()
                .unwrap();
            assert_eq!(got, format!("/{}", path(v)), "{v:?}");
        }
    }
}
