//! The fetcher: upstream sources in GOPROXY syntax, tried in order.
//!
//! Fall-through follows the go command, hardened for a proxy that must stay
//! available: 404/410 always go on to the next entry; network errors,
//! timeouts, 429 and 5xx (and artifacts that fail validation) also always go
//! on; any other 4xx stops a `,` chain and goes on through a `|`.

mod file;
mod health;
mod http;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tempfile::NamedTempFile;
use tokio::sync::Semaphore;

pub use health::BreakerState;
use health::{Breaker, Skip};

use crate::direct::{Built, Direct, DirectError};
use crate::protocol::Request;
use crate::telemetry::metric;

/// A parsed upstream list, before any client is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamSpec {
    entries: Vec<SpecEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct SpecEntry {
    source: SourceSpec,
    /// Followed by `|`: any error goes on to the next entry.
    fall_through_on_error: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum SourceSpec {
    Http(String),
    File(PathBuf),
    Direct,
    Off,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SpecError {
    #[error("empty upstream list")]
    Empty,
    #[error("unsupported upstream {0:?}: want an http(s):// or file:// URL, direct or off")]
    Unsupported(String),
    #[error("file upstream {0:?} must be an absolute path (file:///dir)")]
    RelativeFile(String),
}

/// The entries of a list in GOPROXY syntax, trimmed, empty ones skipped,
/// each with whether a `|` follows it.
pub fn goproxy_entries(list: &str) -> impl Iterator<Item = (&str, bool)> {
    let mut rest = list;
    std::iter::from_fn(move || {
        while !rest.is_empty() {
            let (item, sep, tail) = match rest.find([',', '|']) {
                Some(i) => (&rest[..i], Some(rest.as_bytes()[i]), &rest[i + 1..]),
                None => (rest, None, ""),
            };
            rest = tail;
            let item = item.trim();
            if !item.is_empty() {
                return Some((item, sep == Some(b'|')));
            }
        }
        None
    })
}

impl FromStr for UpstreamSpec {
    type Err = SpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut entries = Vec::new();
        for (item, fall_through_on_error) in goproxy_entries(s) {
            let source = match item {
                "direct" => SourceSpec::Direct,
                "off" => SourceSpec::Off,
                u if u.starts_with("http://") || u.starts_with("https://") => {
                    SourceSpec::Http(u.trim_end_matches('/').to_owned())
                }
                u if u.starts_with("file://") => {
                    let path = PathBuf::from(&u["file://".len()..]);
                    if !path.is_absolute() {
                        return Err(SpecError::RelativeFile(u.to_owned()));
                    }
                    SourceSpec::File(path)
                }
                // As in the go command, a bare host name means https.
                u if !u.contains(":/") && !u.starts_with('/') && !u.contains(' ') => {
                    SourceSpec::Http(format!("https://{}", u.trim_end_matches('/')))
                }
                u => return Err(SpecError::Unsupported(u.to_owned())),
            };
            let terminal = matches!(source, SourceSpec::Direct | SourceSpec::Off);
            entries.push(SpecEntry {
                source,
                fall_through_on_error,
            });
            // The go command ignores whatever follows direct or off.
            if terminal {
                break;
            }
        }
        if entries.is_empty() {
            return Err(SpecError::Empty);
        }
        Ok(Self { entries })
    }
}

impl UpstreamSpec {
    /// Whether the list fetches from version control.
    pub fn has_direct(&self) -> bool {
        self.entries
            .iter()
            .any(|e| matches!(e.source, SourceSpec::Direct))
    }
}

impl fmt::Display for UpstreamSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.entries.iter().enumerate() {
            if i > 0 {
                let sep = if self.entries[i - 1].fall_through_on_error {
                    "|"
                } else {
                    ","
                };
                f.write_str(sep)?;
            }
            match &e.source {
                SourceSpec::Http(u) => f.write_str(&http::redact(u))?,
                SourceSpec::File(p) => write!(f, "file://{}", p.display())?,
                SourceSpec::Direct => f.write_str("direct")?,
                SourceSpec::Off => f.write_str("off")?,
            }
        }
        Ok(())
    }
}

pub(crate) use http::describe as describe_http_error;

/// An HTTP client with the upstream timeouts, for other remote services
/// (the checksum database).
pub fn http_client(policy: &Policy) -> Result<reqwest::Client, reqwest::Error> {
    http::client(policy)
}

/// What a fetch should produce.
pub enum Want<'a> {
    /// A small body, read into memory.
    Bytes { max: u64 },
    /// A large body, streamed into a fresh temporary file from `temp`.
    File {
        max: u64,
        temp: &'a (dyn Fn() -> std::io::Result<NamedTempFile> + Sync),
    },
}

impl Want<'_> {
    fn max(&self) -> u64 {
        match self {
            Want::Bytes { max } | Want::File { max, .. } => *max,
        }
    }
}

pub enum Fetched {
    Bytes(Bytes),
    File(NamedTempFile),
}

/// Why one upstream did not deliver.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// 404 or 410: the upstream does not have it.
    #[error("{0}")]
    NotFound(String),
    /// Network failure, timeout, 429 or 5xx: the upstream cannot answer now.
    #[error("{0}")]
    Unavailable(String),
    /// Any other 4xx.
    #[error("{0}")]
    Rejected(String),
    /// What the upstream sent failed validation.
    #[error("{0}")]
    Invalid(String),
}

/// Why the whole chain did not deliver.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// Every upstream tried said not found (or the chain is `off`).
    #[error("{0}")]
    NotFound(String),
    /// At least one upstream failed for another reason.
    #[error("{0}")]
    Failed(String),
}

/// How upstreams are asked: timeouts, retries, breakers, concurrency.
#[derive(Debug, Clone)]
pub struct Policy {
    /// TCP connect and TLS handshake.
    pub connect_timeout: Duration,
    /// From sending the request to the response headers.
    pub header_timeout: Duration,
    /// Longest wait for the next body bytes.
    pub idle_timeout: Duration,
    /// Extra tries of one upstream after a quick failure.
    pub retries: u32,
    pub breaker_threshold: u32,
    pub breaker_cooldown: Duration,
    /// Upstream fetches under way at once.
    pub max_fetches: usize,
}

/// A failure slower than this is not retried on the same upstream: a second
/// wait would cost the client more than moving on.
const QUICK_FAILURE: Duration = Duration::from_secs(1);
/// How often open breakers are probed in the background.
const PROBE_INTERVAL: Duration = Duration::from_secs(2);

enum Source {
    Http(http::HttpUpstream),
    File(file::FileUpstream),
    Direct(Arc<Direct>),
    Off,
}

struct Entry {
    source: Source,
    fall_through_on_error: bool,
    /// Only remote upstreams can be down.
    breaker: Option<Breaker>,
}

/// The upstream chain, ready to fetch.
pub struct Upstreams {
    entries: Vec<Entry>,
    /// The chain of `--private` modules: direct alone.
    private: Option<Entry>,
    fetches: Semaphore,
    retries: u32,
    /// For module proxies named by go-import `mod` entries.
    client: reqwest::Client,
    policy: Policy,
}

impl Upstreams {
    /// `direct` is required when the list has `direct` or there are
    /// private modules.
    pub fn new(
        spec: &UpstreamSpec,
        policy: &Policy,
        direct: Option<Arc<Direct>>,
    ) -> Result<Self, reqwest::Error> {
        let client = http::client(policy)?;
        let direct_entry = |d: Arc<Direct>| Entry {
            source: Source::Direct(d),
            fall_through_on_error: false,
            breaker: None,
        };
        let entries = spec
            .entries
            .iter()
            .map(|e| {
                let (source, breaker) = match &e.source {
                    SourceSpec::Http(u) => (
                        Source::Http(http::HttpUpstream::new(u, client.clone(), policy)),
                        Some(Breaker::new(
                            policy.breaker_threshold,
                            policy.breaker_cooldown,
                        )),
                    ),
                    SourceSpec::File(p) => (Source::File(file::FileUpstream::new(p.clone())), None),
                    SourceSpec::Direct => (
                        Source::Direct(direct.clone().expect("direct is built for a list with it")),
                        None,
                    ),
                    SourceSpec::Off => (Source::Off, None),
                };
                Entry {
                    source,
                    fall_through_on_error: e.fall_through_on_error,
                    breaker,
                }
            })
            .collect();
        Ok(Self {
            entries,
            private: direct.map(direct_entry),
            fetches: Semaphore::new(policy.max_fetches),
            retries: policy.retries,
            client,
            policy: policy.clone(),
        })
    }

    /// Whether the chain can ever reach beyond the cache.
    pub fn is_off(&self) -> bool {
        matches!(self.entries.first().map(|e| &e.source), Some(Source::Off))
    }

    /// Fetches what `req` asks for from the first upstream that delivers
    /// something `validate` accepts. Private modules only come from direct.
    pub async fn fetch<T, F, Fut>(
        &self,
        req: &Request,
        want: Want<'_>,
        validate: F,
    ) -> Result<T, ChainError>
    where
        F: Fn(Fetched) -> Fut,
        Fut: Future<Output = Result<T, String>>,
    {
        let _permit = self
            .fetches
            .acquire()
            .await
            .map_err(|e| ChainError::Failed(e.to_string()))?;
        let path = req.upstream_path();
        let entries = match &self.private {
            Some(direct) if self.is_private(&req.module) => std::slice::from_ref(direct),
            _ => &self.entries[..],
        };
        let mut errors: Vec<String> = Vec::new();
        let mut only_not_found = true;
        for entry in entries {
            let name = entry.name();
            if let Source::Off = entry.source {
                errors.push("upstream is off".into());
                break;
            }
            let mut attempt = 0;
            let result = loop {
                let mut ticket = match &entry.breaker {
                    Some(b) => match b.admit().await {
                        Ok(t) => Some(t),
                        Err(skip) => break Err(Failure::Skipped(skip)),
                    },
                    None => None,
                };
                let started = Instant::now();
                let result = {
                    let mut answered = || {
                        if let Some(t) = ticket.as_mut() {
                            t.answered();
                        }
                    };
                    match &entry.source {
                        Source::Http(h) => h.fetch(path, &want, &mut answered).await,
                        Source::File(f) => f.fetch(path, &want).await,
                        Source::Direct(d) => self.fetch_direct(d, req, &want).await,
                        Source::Off => unreachable!("off ends the chain above"),
                    }
                };
                let result = match result {
                    Ok(fetched) => validate(fetched).await.map_err(FetchError::Invalid),
                    Err(e) => Err(e),
                };
                metric::upstream_request(&name, outcome(&result), started.elapsed());
                if let Some(t) = ticket {
                    match &result {
                        Ok(_) | Err(FetchError::NotFound(_) | FetchError::Rejected(_)) => {
                            t.success()
                        }
                        Err(FetchError::Unavailable(e) | FetchError::Invalid(e)) => {
                            let opened = match &result {
                                Err(FetchError::Invalid(_)) => t.invalid(),
                                _ => t.failure(),
                            };
                            if opened {
                                tracing::warn!(upstream = %name, error = %e, "upstream failing: skipping it for a while");
                            }
                        }
                    }
                }
                match result {
                    Err(FetchError::Unavailable(e))
                        if started.elapsed() < QUICK_FAILURE && attempt < self.retries =>
                    {
                        attempt += 1;
                        tracing::debug!(upstream = %name, path, error = %e, attempt, "retrying");
                        tokio::time::sleep(backoff(attempt)).await;
                    }
                    r => break r.map_err(Failure::Fetch),
                }
            };
            let err = match result {
                Ok(v) => return Ok(v),
                Err(Failure::Skipped(skip)) => {
                    metric::failover(&name, skip.label());
                    errors.push(format!("{name}: skipped: {}", skip.reason()));
                    only_not_found = false;
                    continue;
                }
                Err(Failure::Fetch(e)) => e,
            };
            tracing::debug!(upstream = %name, path, error = %err, "upstream did not deliver");
            let go_on = match &err {
                FetchError::NotFound(_) => true,
                FetchError::Unavailable(_) | FetchError::Invalid(_) => {
                    metric::failover(&name, err.label());
                    true
                }
                FetchError::Rejected(_) => entry.fall_through_on_error,
            };
            only_not_found &= matches!(err, FetchError::NotFound(_));
            errors.push(format!("{name}: {err}"));
            if !go_on {
                break;
            }
        }
        let message = errors.join("; ");
        if only_not_found {
            Err(ChainError::NotFound(message))
        } else {
            Err(ChainError::Failed(message))
        }
    }

    /// Whether `module` matches `--private`.
    pub fn is_private(&self, module: &str) -> bool {
        match &self.private {
            Some(Entry {
                source: Source::Direct(d),
                ..
            }) => d.is_private(module),
            _ => false,
        }
    }

    async fn fetch_direct(
        &self,
        direct: &Direct,
        req: &Request,
        want: &Want<'_>,
    ) -> Result<Fetched, FetchError> {
        let no_file = || {
            Err(std::io::Error::other(
                "a small answer is not staged to disk",
            ))
        };
        let temp: &(dyn Fn() -> std::io::Result<NamedTempFile> + Sync) = match want {
            Want::File { temp, .. } => *temp,
            Want::Bytes { .. } => &no_file,
        };
        match direct.fetch(req, temp).await {
            Ok(Built::Bytes(b)) => Ok(Fetched::Bytes(b)),
            Ok(Built::File(f)) => Ok(Fetched::File(f)),
            Err(DirectError::NotFound(m)) => Err(FetchError::NotFound(m)),
            Err(DirectError::Unavailable(m)) => Err(FetchError::Unavailable(m)),
            // A go-import `mod` entry: the module lives on that proxy.
            Err(DirectError::Proxy(url)) => {
                let proxy = http::HttpUpstream::new(&url, self.client.clone(), &self.policy);
                proxy.fetch(req.upstream_path(), want, &mut || {}).await
            }
        }
    }

    /// Every remote upstream with its breaker's state.
    pub fn health(&self) -> Vec<(String, BreakerState)> {
        self.entries
            .iter()
            .filter_map(|e| Some((e.name(), e.breaker.as_ref()?.state())))
            .collect()
    }

    /// Probes upstreams whose breaker is open, so they come back as soon as
    /// they answer again, and keeps the breaker gauges current. Runs forever.
    pub async fn watch(&self) {
        let mut tick = tokio::time::interval(PROBE_INTERVAL);
        loop {
            tick.tick().await;
            for entry in &self.entries {
                let (Source::Http(h), Some(b)) = (&entry.source, &entry.breaker) else {
                    continue;
                };
                if b.state() == BreakerState::Open && h.probe().await {
                    tracing::info!(upstream = %h.name(), "upstream answers again");
                    b.probe_succeeded();
                }
                metric::breaker_state(h.name(), b.state().gauge());
            }
        }
    }
}

/// Why one entry of the chain gave nothing.
enum Failure {
    Skipped(Skip),
    Fetch(FetchError),
}

fn outcome<T>(result: &Result<T, FetchError>) -> &'static str {
    result.as_ref().err().map_or("ok", FetchError::label)
}

impl FetchError {
    /// A metric label for the kind of failure.
    fn label(&self) -> &'static str {
        match self {
            FetchError::NotFound(_) => "not_found",
            FetchError::Unavailable(_) => "unavailable",
            FetchError::Rejected(_) => "rejected",
            FetchError::Invalid(_) => "invalid",
        }
    }
}

/// 100–200 ms, doubling per attempt, jittered so retries of many requests
/// do not arrive together.
fn backoff(attempt: u32) -> Duration {
    use std::hash::{BuildHasher, RandomState};
    let jitter = RandomState::new().hash_one(Instant::now()) % 100;
    Duration::from_millis((100 + jitter) << attempt.min(4).saturating_sub(1))
}

impl Entry {
    /// A name safe for logs and metric labels: credentials removed.
    fn name(&self) -> String {
        match &self.source {
            Source::Http(h) => h.name().to_owned(),
            Source::File(f) => f.name(),
            Source::Direct(_) => "direct".into(),
            Source::Off => "off".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_goproxy_syntax() {
        let s: UpstreamSpec =
            "https://a.example,  http://b.example/sub/ |file:///srv/mirror,direct,https://ignored"
                .parse()
                .unwrap();
        assert_eq!(
            s.to_string(),
            "https://a.example,http://b.example/sub|file:///srv/mirror,direct"
        );
        assert!(!s.entries[0].fall_through_on_error);
        assert!(s.entries[1].fall_through_on_error);
        let s: UpstreamSpec = "goproxy.example".parse().unwrap();
        assert_eq!(s.to_string(), "https://goproxy.example");
        assert_eq!("off".parse::<UpstreamSpec>().unwrap().to_string(), "off");
        assert_eq!(" , ".parse::<UpstreamSpec>(), Err(SpecError::Empty));
        assert!(matches!(
            "ftp://x".parse::<UpstreamSpec>(),
            Err(SpecError::Unsupported(_))
        ));
        assert!(matches!(
            "file://rel/dir".parse::<UpstreamSpec>(),
            Err(SpecError::RelativeFile(_))
        ));
    }

    #[test]
    fn display_redacts_credentials() {
        let s: UpstreamSpec = "https://user:s3cret@corp.example/go".parse().unwrap();
        assert!(!s.to_string().contains("s3cret"), "{s}");
    }
}
