//! Module path → repository, as the go command finds it in direct mode
//! (`GOPROXY=direct`): `RepoRootForImportPath` in cmd/go/internal/vcs,
//! Go 1.23, in module mode.
//!
//! Order: the longest matching `--repo-map` rule; else go's static table of
//! code hosts (no network); else `?go-get=1` discovery over HTTPS (plain
//! HTTP too for paths matching the insecure patterns, as with GOINSECURE).
//! Repository URLs are byte-identical to go's, because users' git
//! `url.<base>.insteadOf` rules are written against them.

mod discovery;
mod known_hosts;
mod meta;
mod repo_map;
#[cfg(test)]
mod tests;

use modgate_net::DestinationPolicy;
use modgate_redact::redact_url as redact;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use repo_map::RepoMapRule;

/// How long a discovered repository is remembered.
const RESOLVED_TTL: Duration = Duration::from_secs(10 * 60);
/// How long a failed discovery is remembered, so that a storm of requests
/// for one path asks its host once.
const FAILED_TTL: Duration = Duration::from_secs(30);
const CACHE_ENTRIES: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Vcs {
    Git,
    /// The go-import "mod" VCS: a GOPROXY-protocol server holding the module.
    ModProxy,
    /// hg, svn, bzr, fossil: named for the error.
    Other(String),
}

impl Vcs {
    /// The version control systems go knows by command name (`vcsByCmd`).
    fn by_cmd(cmd: &str) -> Option<Vcs> {
        match cmd {
            "git" => Some(Vcs::Git),
            "hg" | "svn" | "bzr" | "fossil" => Some(Vcs::Other(cmd.to_owned())),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoRoot {
    /// The import-path prefix the repository holds.
    pub root: String,
    pub url: String,
    /// The module root's directory in the repository, from a go-import
    /// tag's fourth field (Go 1.25); `""`: the repository's root.
    pub subdir: String,
    pub vcs: Vcs,
    /// The URL comes from a go-get page on a host the operator did not
    /// name, which the request's path chose: it gets the destination
    /// policy, not the operator's trust.
    pub guarded: bool,
}

/// Whether `?go-get=1` discovery runs: for every host (go's way), for
/// none, or for the listed hosts only (`--go-get on|off|HOST,HOST…`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum GoGet {
    #[default]
    On,
    Off,
    Hosts(Vec<String>),
}

impl GoGet {
    fn allows(&self, host: &str) -> bool {
        match self {
            GoGet::On => true,
            GoGet::Off => false,
            GoGet::Hosts(hosts) => hosts.iter().any(|h| h == host),
        }
    }
}

impl FromStr for GoGet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "on" => Ok(GoGet::On),
            "off" => Ok(GoGet::Off),
            list => {
                let hosts: Vec<String> = list
                    .split(',')
                    .map(|h| h.trim().to_ascii_lowercase())
                    .filter(|h| !h.is_empty())
                    .collect();
                if hosts.is_empty() {
                    return Err("want on, off or a comma-separated list of hosts".to_owned());
                }
                if let Some(bad) = hosts.iter().find(|h| {
                    !h.contains('.')
                        || !h
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'))
                }) {
                    return Err(format!(
                        "{bad:?} is not a host name; want on, off or a comma-separated list of hosts"
                    ));
                }
                Ok(GoGet::Hosts(hosts))
            }
        }
    }
}

impl fmt::Display for GoGet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GoGet::On => f.write_str("on"),
            GoGet::Off => f.write_str("off"),
            GoGet::Hosts(hosts) => f.write_str(&hosts.join(",")),
        }
    }
}

impl<'de> serde::Deserialize<'de> for GoGet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone)]
pub struct ResolverSettings {
    pub repo_map: Vec<RepoMapRule>,
    /// GOINSECURE-style glob patterns: for matching paths, go-get discovery
    /// may fall back to plain http.
    pub insecure: Vec<String>,
    pub timeout: Duration,
    /// Where discovery, and what its pages name, may connect.
    pub policy: Arc<DestinationPolicy>,
    pub go_get: GoGet,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ResolveError {
    /// A `--repo-map` rule that cannot work; `rule` has credentials redacted.
    #[error("invalid repo-map rule {rule:?}: {reason}")]
    InvalidRule { rule: String, reason: String },
    #[error(transparent)]
    Module(#[from] modgate_module::Error),
    /// A path the go command rejects without asking the network, e.g. too
    /// short for its code host.
    #[error("cannot resolve {path:?}: {reason}")]
    InvalidPath { path: String, reason: String },
    /// Not on a known code host, and `?go-get=1` discovery failed.
    #[error(
        "unrecognized import path {path:?}: {reason} (not on a known code host and go-get \
         discovery failed; if you know its repository, map it with \
         --repo-map '{path}=URL')"
    )]
    Discovery { path: String, reason: String },
    /// Not on a known code host, not mapped, and `--go-get` rules out
    /// asking its host.
    #[error(
        "unrecognized import path {path:?}: not on a known code host, not mapped by --repo-map, \
         and go-get discovery is {why} (--go-get {setting})"
    )]
    DiscoveryOff {
        path: String,
        why: &'static str,
        setting: String,
    },
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

pub struct Resolver {
    repo_map: Vec<RepoMapRule>,
    /// The insecure patterns, comma-separated as in GOINSECURE.
    insecure: String,
    /// Verifies certificates and refuses https → http redirects, as go does.
    client: reqwest::Client,
    /// For the https try of insecure paths: no certificate checks.
    insecure_client: reqwest::Client,
    policy: Arc<DestinationPolicy>,
    go_get: GoGet,
    cache: quick_cache::sync::Cache<String, Cached>,
}

#[derive(Clone)]
struct Cached {
    until: Instant,
    result: Result<RepoRoot, ResolveError>,
}

impl Resolver {
    pub fn new(settings: ResolverSettings) -> Result<Resolver, ResolveError> {
        Self::build(settings, None)
    }

    /// A resolver whose requests all go through the HTTP proxy at
    /// `proxy`, so that tests can serve any host from 127.0.0.1.
    #[cfg(test)]
    pub(crate) fn via_proxy(settings: ResolverSettings, proxy: &str) -> Result<Self, ResolveError> {
        Self::build(settings, Some(proxy))
    }

    fn build(settings: ResolverSettings, proxy: Option<&str>) -> Result<Resolver, ResolveError> {
        for rule in &settings.repo_map {
            rule.validate()?;
        }
        let (client, insecure_client) =
            discovery::clients(&settings.policy, settings.timeout, proxy)
                .map_err(|e| ResolveError::Client(discovery::describe(e)))?;
        Ok(Resolver {
            repo_map: settings.repo_map,
            insecure: settings.insecure.join(","),
            client,
            insecure_client,
            policy: settings.policy,
            go_get: settings.go_get,
            cache: quick_cache::sync::Cache::new(CACHE_ENTRIES),
        })
    }

    pub async fn resolve(&self, module_path: &str) -> Result<RepoRoot, ResolveError> {
        modgate_module::check_path(module_path)?;
        let found = self.lookup(module_path).await?;
        // As go: a `...` in the path must not become part of a repository root.
        if module_path.contains("...") && found.root.contains("...") {
            return Err(ResolveError::InvalidPath {
                path: module_path.to_owned(),
                reason: "cannot expand ... in import path".to_owned(),
            });
        }
        Ok(found)
    }

    async fn lookup(&self, path: &str) -> Result<RepoRoot, ResolveError> {
        if let Some(found) = repo_map::lookup(&self.repo_map, path) {
            return Ok(found);
        }
        match known_hosts::lookup(path) {
            Ok(Some(found)) => return Ok(found),
            Ok(None) => {}
            Err(reason) => {
                return Err(ResolveError::InvalidPath {
                    path: path.to_owned(),
                    reason,
                });
            }
        }
        let host = path.split('/').next().unwrap_or_default();
        if !self.go_get.allows(host) {
            return Err(ResolveError::DiscoveryOff {
                path: path.to_owned(),
                why: match self.go_get {
                    GoGet::Off => "off",
                    _ => "not on for its host",
                },
                setting: self.go_get.to_string(),
            });
        }
        if let Some(hit) = self.cache.get(path)
            && hit.until > Instant::now()
        {
            return hit.result;
        }
        let result = self
            .discover(path)
            .await
            .map_err(|reason| ResolveError::Discovery {
                path: path.to_owned(),
                reason,
            });
        let ttl = if result.is_ok() {
            RESOLVED_TTL
        } else {
            FAILED_TTL
        };
        // Keyed by the requested path, not the root found: a page may map a
        // sub-path elsewhere (e.g. a `mod` entry for a longer prefix).
        self.cache.insert(
            path.to_owned(),
            Cached {
                until: Instant::now() + ttl,
                result: result.clone(),
            },
        );
        result
    }
}

/// Go's `str.HasPathPrefix`: whether `s` is `prefix` or lies under it.
fn has_path_prefix(s: &str, prefix: &str) -> bool {
    match s.strip_prefix(prefix) {
        Some("") => true,
        Some(rest) => prefix.is_empty() || prefix.ends_with('/') || rest.starts_with('/'),
        None => false,
    }
}

/// Whether `s` is a URL scheme by Go's `net/url` rules: a letter, then
/// letters, digits and `+-.`.
fn is_scheme(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}
