//! The fetcher: upstream sources in GOPROXY syntax, tried in order.
//!
//! Fall-through follows the go command, hardened for a proxy that must stay
//! available: 404/410 always go on to the next entry; network errors,
//! timeouts, 429 and 5xx (and artifacts that fail validation) also always go
//! on; any other 4xx stops a `,` chain and goes on through a `|`.

mod file;
mod http;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Instant;

use bytes::Bytes;
use tempfile::NamedTempFile;

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

impl FromStr for UpstreamSpec {
    type Err = SpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut entries = Vec::new();
        let mut rest = s;
        while !rest.is_empty() {
            let (item, sep, tail) = match rest.find([',', '|']) {
                Some(i) => (&rest[..i], Some(rest.as_bytes()[i]), &rest[i + 1..]),
                None => (rest, None, ""),
            };
            rest = tail;
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
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
                fall_through_on_error: sep == Some(b'|'),
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

enum Source {
    Http(http::HttpUpstream),
    File(file::FileUpstream),
    Direct,
    Off,
}

struct Entry {
    source: Source,
    fall_through_on_error: bool,
}

/// The upstream chain, ready to fetch.
pub struct Upstreams {
    entries: Vec<Entry>,
}

impl Upstreams {
    pub fn new(spec: &UpstreamSpec) -> Result<Self, reqwest::Error> {
        let client = http::client()?;
        let entries = spec
            .entries
            .iter()
            .map(|e| Entry {
                source: match &e.source {
                    SourceSpec::Http(u) => Source::Http(http::HttpUpstream::new(u, client.clone())),
                    SourceSpec::File(p) => Source::File(file::FileUpstream::new(p.clone())),
                    SourceSpec::Direct => Source::Direct,
                    SourceSpec::Off => Source::Off,
                },
                fall_through_on_error: e.fall_through_on_error,
            })
            .collect();
        Ok(Self { entries })
    }

    /// Fetches `path` from the first upstream that delivers something `validate` accepts.
    pub async fn fetch<T, F, Fut>(
        &self,
        path: &str,
        want: Want<'_>,
        validate: F,
    ) -> Result<T, ChainError>
    where
        F: Fn(Fetched) -> Fut,
        Fut: Future<Output = Result<T, String>>,
    {
        let mut errors: Vec<String> = Vec::new();
        let mut only_not_found = true;
        for entry in &self.entries {
            let name = entry.name();
            let started = Instant::now();
            let result = match &entry.source {
                Source::Http(h) => h.fetch(path, &want).await,
                Source::File(f) => f.fetch(path, &want).await,
                Source::Direct => Err(FetchError::Unavailable(
                    "direct: fetching modules from version control is not supported yet".into(),
                )),
                Source::Off => {
                    errors.push("upstream is off".into());
                    break;
                }
            };
            let result = match result {
                Ok(fetched) => validate(fetched).await.map_err(FetchError::Invalid),
                Err(e) => Err(e),
            };
            let outcome = match &result {
                Ok(_) => "ok",
                Err(FetchError::NotFound(_)) => "not_found",
                Err(FetchError::Unavailable(_)) => "unavailable",
                Err(FetchError::Rejected(_)) => "rejected",
                Err(FetchError::Invalid(_)) => "invalid",
            };
            metric::upstream_request(&name, outcome, started.elapsed());
            let err = match result {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            tracing::debug!(upstream = %name, path, error = %err, "upstream did not deliver");
            let go_on = match &err {
                FetchError::NotFound(_) | FetchError::Unavailable(_) | FetchError::Invalid(_) => {
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
}

impl Entry {
    /// A name safe for logs and metric labels: credentials removed.
    fn name(&self) -> String {
        match &self.source {
            Source::Http(h) => h.name().to_owned(),
            Source::File(f) => f.name(),
            Source::Direct => "direct".into(),
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
