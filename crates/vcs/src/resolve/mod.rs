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

use modgate_redact::redact_url as redact;
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
    pub vcs: Vcs,
}

#[derive(Debug, Clone)]
pub struct ResolverSettings {
    pub repo_map: Vec<RepoMapRule>,
    /// GOINSECURE-style glob patterns: for matching paths, go-get discovery
    /// may fall back to plain http.
    pub insecure: Vec<String>,
    pub timeout: Duration,
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
        let (client, insecure_client) = discovery::clients(settings.timeout, proxy)
            .map_err(|e| ResolveError::Client(discovery::describe(e)))?;
        Ok(Resolver {
            repo_map: settings.repo_map,
            insecure: settings.insecure.join(","),
            client,
            insecure_client,
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
