//! The fetchers: every upstream kind (HTTP mirror, `file://` tree, modules
//! built from git) implements [`Fetcher`]; a [`Chain`] tries them in
//! GOPROXY order with the fall-through policy, breakers, retries and
//! metrics; [`Upstreams`] picks the chain for a module (private modules
//! have their own, built at start-up).
//!
//! Fall-through follows the go command, hardened for a proxy that must stay
//! available: 404/410 always go on to the next entry; network errors,
//! timeouts, 429 and 5xx (and artifacts that fail validation) also always go
//! on; any other 4xx stops a `,` chain and goes on through a `|`. A failure
//! of modgate's own storage while staging stops the chain and counts
//! against no upstream.

mod direct;
mod file;
mod health;
mod hedge;
pub(crate) mod http;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use modgate_module::goproxy::{self, ProxyList};
use modgate_vcs::Direct;
use tempfile::NamedTempFile;
use tokio::sync::Semaphore;

use health::{Breaker, Skipped};
pub use health::{BreakerState, Event as UpstreamEvent};
use hedge::Hedge;
pub use hedge::HedgePolicy;

use crate::ingest::Invalid;
use crate::moved::{MovedTag, MovedTags};
use crate::protocol::Request;
use crate::telemetry::metric;

/// A parsed upstream list (GOPROXY syntax, read as the go command reads
/// it), before any client is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamSpec(ProxyList);

impl FromStr for UpstreamSpec {
    type Err = modgate_module::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ProxyList::parse(s).map(Self)
    }
}

impl UpstreamSpec {
    /// Whether the list fetches from version control.
    pub fn has_direct(&self) -> bool {
        self.0.has_direct()
    }
}

impl fmt::Display for UpstreamSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entries = &self.0.entries;
        for (i, e) in entries.iter().enumerate() {
            if i > 0 {
                f.write_str(if entries[i - 1].fall_through_on_error {
                    "|"
                } else {
                    ","
                })?;
            }
            match &e.proxy {
                goproxy::Proxy::Http(u) => f.write_str(&modgate_redact::redact_url(u))?,
                goproxy::Proxy::File(p) => write!(f, "file://{}", p.display())?,
                goproxy::Proxy::Direct => f.write_str("direct")?,
                goproxy::Proxy::Off => f.write_str("off")?,
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

    /// A staging file for a large body. Failing to make one is modgate's
    /// own storage failing, never the upstream's.
    fn stage(&self) -> Result<Option<NamedTempFile>, FetchError> {
        match self {
            Want::Bytes { .. } => Ok(None),
            Want::File { temp, .. } => temp().map(Some).map_err(FetchError::Staging),
        }
    }
}

/// What an upstream delivered, before it is checked.
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
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// modgate's own disk failed while staging the answer (full, read-only):
    /// the upstream is not to blame, and no other upstream would fare better.
    #[error("staging the download")]
    Staging(#[source] std::io::Error),
}

impl FetchError {
    /// A metric label for the kind of failure.
    fn label(&self) -> &'static str {
        match self {
            FetchError::NotFound(_) => "not_found",
            FetchError::Unavailable(_) => "unavailable",
            FetchError::Rejected(_) => "rejected",
            FetchError::Invalid(_) => "invalid",
            FetchError::Staging(_) => "staging",
        }
    }
}

/// One upstream source, whatever its kind.
#[async_trait]
pub trait Fetcher: Send + Sync {
    /// A name safe for logs and metric labels: credentials removed.
    fn name(&self) -> &str;
    /// Whether it is remote and can be down: remote fetchers get a breaker.
    fn remote(&self) -> bool;
    /// What `req` asks for. `answered` is called once the source has
    /// started answering (response headers), for the breaker's silence clock.
    async fn fetch(
        &self,
        req: &Request,
        want: &Want<'_>,
        answered: &mut (dyn FnMut() + Send),
    ) -> Result<Fetched, FetchError>;
    /// Whether it answers at all now (probes of an open breaker).
    async fn probe(&self) -> bool {
        true
    }
    /// A local fetcher's (one without a breaker) reason it cannot answer
    /// now, for the status page and `/readyz`.
    fn unavailable(&self) -> Option<String> {
        None
    }
}

/// Why the whole chain did not deliver: each upstream tried, with why.
#[derive(Debug, thiserror::Error)]
pub struct ChainError {
    pub failures: Vec<(String, Failure)>,
}

/// Why one entry of the chain gave nothing.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("{0}")]
    Skipped(Skipped),
    #[error(transparent)]
    Fetch(FetchError),
    #[error("upstream is off")]
    Off,
}

impl fmt::Display for ChainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (name, failure)) in self.failures.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            // Several upstreams failed, so no one source: each failure is
            // shown whole.
            let shown = modgate_redact::Chain(failure);
            match failure {
                Failure::Off => write!(f, "{shown}")?,
                _ => write!(f, "{name}: {shown}")?,
            }
        }
        Ok(())
    }
}

impl ChainError {
    /// Every upstream said not found (or the chain is `off`): the module or
    /// version does not exist as far as modgate can tell.
    pub fn is_not_found(&self) -> bool {
        self.failures
            .iter()
            .all(|(_, f)| matches!(f, Failure::Fetch(FetchError::NotFound(_)) | Failure::Off))
    }

    /// The chain stopped because modgate's own storage failed.
    pub fn staging(&self) -> Option<&std::io::Error> {
        self.failures.iter().find_map(|(_, f)| match f {
            Failure::Fetch(FetchError::Staging(e)) => Some(e),
            _ => None,
        })
    }
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
    /// When a request to a silent upstream also goes to the next one.
    pub hedge: HedgePolicy,
}

impl Policy {
    /// An HTTP client with these timeouts, for every remote service
    /// (mirrors, the checksum database).
    pub fn http_client(&self) -> reqwest::Result<reqwest::Client> {
        modgate_net::client(self.connect_timeout, self.idle_timeout)
    }
}

/// A failure slower than this is not retried on the same upstream: a second
/// wait would cost the client more than moving on.
const QUICK_FAILURE: Duration = Duration::from_secs(1);
/// How often open breakers are probed in the background.
const PROBE_INTERVAL: Duration = Duration::from_secs(2);

struct Entry {
    fetcher: Box<dyn Fetcher>,
    fall_through_on_error: bool,
    /// Only remote upstreams can be down, or be hedged.
    breaker: Option<Breaker>,
    hedge: Hedge,
}

/// Fetchers tried in order.
pub struct Chain {
    entries: Vec<Entry>,
    /// The list ends with `off`.
    ends_off: bool,
    retries: u32,
    /// Upstream fetches under way at once, shared by every chain.
    fetches: Arc<Semaphore>,
}

impl Chain {
    fn new(
        spec: &ProxyList,
        policy: &Policy,
        fetches: &Arc<Semaphore>,
        build: &dyn Fn(&goproxy::Proxy) -> Option<Box<dyn Fetcher>>,
    ) -> Self {
        let mut ends_off = false;
        let mut entries = Vec::new();
        for e in &spec.entries {
            let Some(fetcher) = build(&e.proxy) else {
                ends_off = true;
                break;
            };
            let breaker = fetcher
                .remote()
                .then(|| Breaker::new(policy.breaker_threshold, policy.breaker_cooldown));
            let hedge = Hedge::new(if breaker.is_some() {
                policy.hedge
            } else {
                HedgePolicy::Off
            });
            entries.push(Entry {
                fetcher,
                fall_through_on_error: e.fall_through_on_error,
                breaker,
                hedge,
            });
        }
        Self {
            entries,
            ends_off,
            retries: policy.retries,
            fetches: fetches.clone(),
        }
    }

    /// Fetches what `req` asks for from the first upstream that delivers
    /// something `validate` accepts.
    pub async fn fetch<T, F, Fut>(
        &self,
        req: &Request,
        want: Want<'_>,
        validate: F,
    ) -> Result<T, ChainError>
    where
        F: Fn(Fetched) -> Fut,
        Fut: Future<Output = Result<T, Invalid>>,
    {
        // Never closed, so acquiring cannot fail.
        let _permit = self
            .fetches
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let path = req.upstream_path();
        let mut failures = Vec::new();
        let mut i = 0;
        while let Some(entry) = self.entries.get(i) {
            let (tried, result) = if entry.breaker.is_some() && i + 1 < self.entries.len() {
                self.hedged(i, req, &want, &validate).await
            } else {
                let result = self.try_entry(entry, req, &want, &validate, None).await;
                (vec![i], result.map_err(|e| vec![e]))
            };
            let errors = match result {
                Ok(v) => return Ok(v),
                Err(errors) => errors,
            };
            i = tried.last().map_or(i, |last| last + 1);
            let mut stop = false;
            for (at, failure) in tried.into_iter().zip(errors) {
                let entry = &self.entries[at];
                let name = entry.fetcher.name();
                let err = match failure {
                    Failure::Skipped(skipped) => {
                        metric::failover(name, skipped.skip.label());
                        failures.push((name.to_owned(), Failure::Skipped(skipped)));
                        continue;
                    }
                    Failure::Fetch(e) => e,
                    Failure::Off => unreachable!("off is not an entry"),
                };
                tracing::debug!(upstream = %name, path, error = %modgate_redact::Chain(&err), "upstream did not deliver");
                stop |= match &err {
                    FetchError::NotFound(_) => false,
                    FetchError::Unavailable(_) | FetchError::Invalid(_) => {
                        metric::failover(name, err.label());
                        false
                    }
                    FetchError::Rejected(_) => !entry.fall_through_on_error,
                    FetchError::Staging(_) => true,
                };
                failures.push((name.to_owned(), Failure::Fetch(err)));
            }
            if stop {
                return Err(ChainError { failures });
            }
        }
        if self.ends_off || self.entries.is_empty() {
            failures.push(("off".to_owned(), Failure::Off));
        }
        Err(ChainError { failures })
    }

    /// Entry `i`, hedged by entry `i + 1` when `i` sends no headers within
    /// its hedge delay: the first good answer wins and the other request
    /// is dropped. Returns the entries tried, in order, and their failures.
    async fn hedged<T, F, Fut>(
        &self,
        i: usize,
        req: &Request,
        want: &Want<'_>,
        validate: &F,
    ) -> (Vec<usize>, Result<T, Vec<Failure>>)
    where
        F: Fn(Fetched) -> Fut,
        Fut: Future<Output = Result<T, Invalid>>,
    {
        let (entry, next) = (&self.entries[i], &self.entries[i + 1]);
        let Some(delay) = entry.hedge.delay() else {
            let result = self.try_entry(entry, req, want, validate, None).await;
            return (vec![i], result.map_err(|e| vec![e]));
        };
        let answered = AtomicBool::new(false);
        let hedging = AtomicBool::new(false);
        let first = self.try_entry(entry, req, want, validate, Some(&answered));
        let second = async {
            tokio::time::sleep(delay).await;
            if answered.load(Ordering::Relaxed) || !entry.hedge.spend() {
                return None;
            }
            hedging.store(true, Ordering::Relaxed);
            tracing::debug!(upstream = %entry.fetcher.name(), ?delay, "no headers yet: hedging to the next upstream");
            Some(self.try_entry(next, req, want, validate, None).await)
        };
        tokio::pin!(first, second);
        let (mut first_failed, mut second_done) = (None, false);
        loop {
            tokio::select! {
                r = &mut first, if first_failed.is_none() => match r {
                    Ok(v) => {
                        if hedging.load(Ordering::Relaxed) {
                            metric::hedge(next.fetcher.name(), "lost");
                        }
                        return (vec![i], Ok(v));
                    }
                    // Not hedged (yet): the chain goes on as usual.
                    Err(e) if !hedging.load(Ordering::Relaxed) => return (vec![i], Err(vec![e])),
                    Err(e) => first_failed = Some(e),
                },
                r = &mut second, if !second_done => match r {
                    None => second_done = true,
                    Some(Ok(v)) => {
                        metric::hedge(next.fetcher.name(), "won");
                        if let Some(b) = &entry.breaker {
                            b.silent(&format!("no response headers within {delay:?}; the next upstream answered"));
                        }
                        return (vec![i, i + 1], Ok(v));
                    }
                    Some(Err(e)) => {
                        if let Some(first) = first_failed.take() {
                            return (vec![i, i + 1], Err(vec![first, e]));
                        }
                        // The hedge failed: what the first one says decides.
                        let r = (&mut first).await;
                        return match r {
                            Ok(v) => (vec![i], Ok(v)),
                            Err(first) => (vec![i, i + 1], Err(vec![first, e])),
                        };
                    }
                },
            }
        }
    }

    /// One entry, with its breaker and quick retries. `headers` is set once
    /// the upstream answers (for hedging).
    async fn try_entry<T, F, Fut>(
        &self,
        entry: &Entry,
        req: &Request,
        want: &Want<'_>,
        validate: &F,
        headers: Option<&AtomicBool>,
    ) -> Result<T, Failure>
    where
        F: Fn(Fetched) -> Fut,
        Fut: Future<Output = Result<T, Invalid>>,
    {
        let name = entry.fetcher.name();
        let mut attempt = 0;
        loop {
            let mut ticket = match &entry.breaker {
                Some(b) => Some(b.admit().await.map_err(Failure::Skipped)?),
                None => None,
            };
            let started = Instant::now();
            let mut answered = || {
                if let Some(t) = ticket.as_mut() {
                    t.answered();
                }
                if let Some(h) = headers {
                    h.store(true, Ordering::Relaxed);
                }
                entry.hedge.observe(started.elapsed());
            };
            let result = match entry.fetcher.fetch(req, want, &mut answered).await {
                Ok(fetched) => validate(fetched).await.map_err(FetchError::Invalid),
                Err(e) => Err(e),
            };
            metric::upstream_request(name, outcome(&result), started.elapsed());
            if let Some(t) = ticket {
                match &result {
                    Ok(_) | Err(FetchError::NotFound(_) | FetchError::Rejected(_)) => t.success(),
                    Err(e @ FetchError::Invalid(_)) => {
                        if t.invalid(&modgate_redact::Chain(e)) {
                            tracing::warn!(upstream = %name, error = %modgate_redact::Chain(&e), "upstream failing: skipping it for a while");
                        }
                    }
                    Err(e @ FetchError::Unavailable(_)) => {
                        if t.failure(&modgate_redact::Chain(e)) {
                            tracing::warn!(upstream = %name, error = %modgate_redact::Chain(&e), "upstream failing: skipping it for a while");
                        }
                    }
                    // Dropped unreported: says nothing about the upstream.
                    Err(FetchError::Staging(_)) => drop(t),
                }
            }
            match result {
                Err(FetchError::Unavailable(e))
                    if started.elapsed() < QUICK_FAILURE && attempt < self.retries =>
                {
                    attempt += 1;
                    tracing::debug!(upstream = %name, path = req.upstream_path(), error = %e, attempt, "retrying");
                    tokio::time::sleep(backoff(attempt)).await;
                }
                r => return r.map_err(Failure::Fetch),
            }
        }
    }
}

/// A remote upstream as its breaker sees it.
#[derive(Debug, Clone)]
pub struct UpstreamHealth {
    pub name: String,
    pub state: BreakerState,
    /// How long it has been failing, and its last failure.
    pub failing: Option<(Duration, String)>,
    /// Its breaker's openings and failure streaks, oldest first.
    pub events: Vec<UpstreamEvent>,
}

/// How a module path stands to the `--private` patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Privacy {
    Public,
    Private,
    /// Matches only when ASCII case is ignored: on a case-insensitive code
    /// host it names a private repository, under a path no one publishes.
    CaseVariant,
}

/// The upstream chains, ready to fetch.
pub struct Upstreams {
    public: Chain,
    /// `--private` patterns and their chain: direct alone.
    private: Option<(String, Chain)>,
    /// The tags of stored versions that direct found moved.
    moved: Option<Arc<MovedTags>>,
}

impl Upstreams {
    /// `direct` is required when the list has `direct` or there are
    /// `private` patterns (GOPRIVATE syntax); `moved` is where direct
    /// reports the stored versions whose tags moved.
    pub fn new(
        spec: &UpstreamSpec,
        policy: &Policy,
        direct: Option<Arc<Direct>>,
        private: &str,
        moved: Option<Arc<MovedTags>>,
    ) -> Result<Self, reqwest::Error> {
        let client = policy.http_client()?;
        let netrc = modgate_net::credentials::load();
        let guarded = match &direct {
            Some(d) => Some(direct::DirectFetcher::guarded_client(d, policy)?),
            None => None,
        };
        let direct_fetcher = |d: &Arc<Direct>| -> Box<dyn Fetcher> {
            let guarded = guarded.clone().expect("built with direct");
            Box::new(direct::DirectFetcher::new(
                d.clone(),
                client.clone(),
                guarded,
                policy,
                moved.clone(),
            ))
        };
        let build = |p: &goproxy::Proxy| -> Option<Box<dyn Fetcher>> {
            Some(match p {
                goproxy::Proxy::Http(u) => {
                    Box::new(http::HttpUpstream::new(u, client.clone(), policy).with_netrc(&netrc))
                }
                goproxy::Proxy::File(root) => Box::new(file::FileUpstream::new(root.clone())),
                goproxy::Proxy::Direct => {
                    direct_fetcher(direct.as_ref().expect("direct is built for a list with it"))
                }
                goproxy::Proxy::Off => return None,
            })
        };
        let fetches = Arc::new(Semaphore::new(policy.max_fetches));
        let public = Chain::new(&spec.0, policy, &fetches, &build);
        let private = match (&direct, private.trim()) {
            (Some(d), patterns) if !patterns.is_empty() => {
                let only_direct = ProxyList {
                    entries: vec![goproxy::Entry {
                        proxy: goproxy::Proxy::Direct,
                        fall_through_on_error: false,
                    }],
                    ignored: Vec::new(),
                };
                let chain =
                    Chain::new(&only_direct, policy, &fetches, &|_| Some(direct_fetcher(d)));
                Some((patterns.to_owned(), chain))
            }
            _ => None,
        };
        Ok(Self {
            public,
            private,
            moved,
        })
    }

    /// The stored versions whose tags direct found moved.
    pub fn moved_tags(&self) -> Vec<MovedTag> {
        self.moved.as_ref().map(|m| m.list()).unwrap_or_default()
    }

    /// Whether the chain can ever reach beyond the cache.
    pub fn is_off(&self) -> bool {
        self.public.entries.is_empty()
    }

    /// Whether `module` matches `--private`, case ignored: only ever built
    /// from its repository, never asked of a proxy or a public checksum
    /// database (a case variant is refused before; see [`Privacy`]).
    pub fn is_private(&self, module: &str) -> bool {
        self.privacy(module) != Privacy::Public
    }

    /// How `module` stands to `--private`.
    pub fn privacy(&self, module: &str) -> Privacy {
        use modgate_module::pattern::{match_prefix_patterns, match_prefix_patterns_any_case};
        match &self.private {
            Some((patterns, _)) if match_prefix_patterns(patterns, module) => Privacy::Private,
            Some((patterns, _)) if match_prefix_patterns_any_case(patterns, module) => {
                Privacy::CaseVariant
            }
            _ => Privacy::Public,
        }
    }

    /// The chain that fetches `module`: its own for private modules.
    pub fn chain_for(&self, module: &str) -> &Chain {
        match &self.private {
            Some((_, chain)) if self.is_private(module) => chain,
            _ => &self.public,
        }
    }

    /// Every upstream, `direct` (also the `--private` one) and `file://`
    /// included, with its state and its failure: a remote one's from its
    /// breaker, a local one's from a look at it now.
    pub fn health(&self) -> Vec<UpstreamHealth> {
        let private = self.private.iter().flat_map(|(_, chain)| &chain.entries);
        let mut seen = std::collections::HashSet::new();
        self.public
            .entries
            .iter()
            .chain(private)
            .filter(|e| seen.insert(e.fetcher.name()))
            .map(|e| {
                let name = e.fetcher.name().to_owned();
                match &e.breaker {
                    Some(breaker) => UpstreamHealth {
                        name,
                        state: breaker.state(),
                        failing: breaker.failing(),
                        events: breaker.events(),
                    },
                    None => {
                        let failing = e.fetcher.unavailable();
                        UpstreamHealth {
                            name,
                            state: match failing {
                                Some(_) => BreakerState::Open,
                                None => BreakerState::Closed,
                            },
                            failing: failing.map(|why| (Duration::ZERO, why)),
                            events: Vec::new(),
                        }
                    }
                }
            })
            .collect()
    }

    /// Probes upstreams whose breaker is open, so they come back as soon as
    /// they answer again, and keeps the breaker gauges current. Runs forever.
    pub async fn watch(&self) {
        let mut tick = tokio::time::interval(PROBE_INTERVAL);
        loop {
            tick.tick().await;
            for entry in &self.public.entries {
                let Some(b) = &entry.breaker else {
                    continue;
                };
                let name = entry.fetcher.name();
                if b.state() == BreakerState::Open && entry.fetcher.probe().await {
                    tracing::info!(upstream = %name, "upstream answers again");
                    b.probe_succeeded();
                }
                metric::breaker_state(name, b.state().gauge());
            }
        }
    }
}

fn outcome<T>(result: &Result<T, FetchError>) -> &'static str {
    result.as_ref().err().map_or("ok", FetchError::label)
}

/// 100–200 ms, doubling per attempt, jittered so retries of many requests
/// do not arrive together.
fn backoff(attempt: u32) -> Duration {
    use std::hash::{BuildHasher, RandomState};
    let jitter = RandomState::new().hash_one(Instant::now()) % 100;
    Duration::from_millis((100 + jitter) << attempt.min(4).saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::protocol::Kind;

    /// A remote upstream that stages what it is asked for, and counts calls.
    struct Staging(Arc<AtomicUsize>, &'static str);

    #[async_trait]
    impl Fetcher for Staging {
        fn name(&self) -> &str {
            self.1
        }
        fn remote(&self) -> bool {
            true
        }
        async fn fetch(
            &self,
            _: &Request,
            want: &Want<'_>,
            answered: &mut (dyn FnMut() + Send),
        ) -> Result<Fetched, FetchError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            answered();
            Ok(Fetched::File(want.stage()?.expect("a zip is staged")))
        }
    }

    fn empty_chain() -> Chain {
        Chain {
            entries: Vec::new(),
            ends_off: true,
            retries: 0,
            fetches: Arc::new(Semaphore::new(1)),
        }
    }

    /// A path private only when case is ignored is a case variant: never
    /// public (it would go to the public proxies), never plainly private.
    #[test]
    fn privacy_ignores_case_and_names_case_variants() {
        let upstreams = Upstreams {
            public: empty_chain(),
            private: Some((
                "github.com/modgate-private/*,corp.example".into(),
                empty_chain(),
            )),
            moved: None,
        };
        for (module, want) in [
            ("github.com/modgate-private/secret", Privacy::Private),
            ("corp.example/x/v2", Privacy::Private),
            ("github.com/Modgate-Private/secret", Privacy::CaseVariant),
            ("github.com/modgate-private/Secret", Privacy::Private),
            ("corp.example/X", Privacy::Private),
            ("github.com/modgate-public/x", Privacy::Public),
        ] {
            assert_eq!(upstreams.privacy(module), want, "{module}");
            assert_eq!(upstreams.is_private(module), want != Privacy::Public);
        }
        let none = Upstreams {
            public: empty_chain(),
            private: None,
            moved: None,
        };
        assert_eq!(none.privacy("corp.example/x"), Privacy::Public);
    }

    /// modgate's own disk failing (full, read-only) is no upstream's fault:
    /// no breaker opens, no other upstream is tried, and the chain says so.
    #[tokio::test]
    async fn a_local_staging_failure_blames_no_upstream() {
        let calls: Vec<Arc<AtomicUsize>> = (0..2).map(|_| Arc::default()).collect();
        let chain = Chain {
            entries: ["https://a.example", "https://b.example"]
                .into_iter()
                .zip(&calls)
                .map(|(name, calls)| Entry {
                    fetcher: Box::new(Staging(calls.clone(), name)),
                    fall_through_on_error: true,
                    breaker: Some(Breaker::new(1, Duration::from_secs(60))),
                    hedge: Hedge::new(HedgePolicy::Off),
                })
                .collect(),
            ends_off: false,
            retries: 1,
            fetches: Arc::new(Semaphore::new(4)),
        };
        let req = Request::new("example.com/m", Kind::Zip("v1.0.0".into()));
        let disk_full = || Err(std::io::Error::from(std::io::ErrorKind::StorageFull));
        for _ in 0..3 {
            let want = Want::File {
                max: 1 << 20,
                temp: &disk_full,
            };
            let err = chain
                .fetch(&req, want, |_| async { Ok(()) })
                .await
                .unwrap_err();
            assert!(err.staging().is_some(), "{err}");
            assert!(!err.is_not_found());
        }
        for e in &chain.entries {
            assert_ne!(e.breaker.as_ref().unwrap().state(), BreakerState::Open);
        }
        assert_eq!(calls[0].load(Ordering::SeqCst), 3);
        assert_eq!(
            calls[1].load(Ordering::SeqCst),
            0,
            "no other upstream is tried"
        );
    }

    #[test]
    fn display_is_the_list_without_credentials() {
        let s: UpstreamSpec =
            "https://a.example,  http://u:s3cret@b.example/sub/ |file:///srv/mirror,direct,https://ignored"
                .parse()
                .unwrap();
        assert_eq!(
            s.to_string(),
            "https://a.example,http://***@b.example/sub|file:///srv/mirror,direct"
        );
        assert_eq!("off".parse::<UpstreamSpec>().unwrap().to_string(), "off");
        assert!("corp-proxy".parse::<UpstreamSpec>().is_err());
    }

    /// An upstream that sends headers after `headers` (never, if `None`),
    /// then a body after `body`; counts its calls.
    struct Timed {
        name: &'static str,
        headers: Option<Duration>,
        body: Duration,
        calls: Arc<AtomicUsize>,
    }

    #[async_trait]
    impl Fetcher for Timed {
        fn name(&self) -> &str {
            self.name
        }
        fn remote(&self) -> bool {
            true
        }
        async fn fetch(
            &self,
            _: &Request,
            _: &Want<'_>,
            answered: &mut (dyn FnMut() + Send),
        ) -> Result<Fetched, FetchError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let Some(headers) = self.headers else {
                std::future::pending::<()>().await;
                unreachable!()
            };
            tokio::time::sleep(headers).await;
            answered();
            tokio::time::sleep(self.body).await;
            Ok(Fetched::Bytes(Bytes::from_static(self.name.as_bytes())))
        }
    }

    fn hedged_chain(
        first: Option<Duration>,
        first_body: Duration,
    ) -> (Chain, [Arc<AtomicUsize>; 2]) {
        let calls = [Arc::default(), Arc::default()];
        let timed = [
            Timed {
                name: "https://first.example",
                headers: first,
                body: first_body,
                calls: Arc::clone(&calls[0]),
            },
            Timed {
                name: "https://second.example",
                headers: Some(Duration::ZERO),
                body: Duration::ZERO,
                calls: Arc::clone(&calls[1]),
            },
        ];
        let chain = Chain {
            entries: timed
                .into_iter()
                .map(|t| Entry {
                    fetcher: Box::new(t),
                    fall_through_on_error: false,
                    breaker: Some(Breaker::new(3, Duration::from_secs(60))),
                    hedge: Hedge::new(HedgePolicy::Fixed(Duration::from_millis(100))),
                })
                .collect(),
            ends_off: false,
            retries: 0,
            fetches: Arc::new(Semaphore::new(4)),
        };
        (chain, calls)
    }

    async fn body(chain: &Chain) -> Bytes {
        let req = Request::new("example.com/m", Kind::Info("v1.0.0".into()));
        let want = Want::Bytes { max: 1 << 10 };
        chain
            .fetch(&req, want, |f| async move {
                match f {
                    Fetched::Bytes(b) => Ok(b),
                    Fetched::File(_) => Err(Invalid::Shape("bytes wanted")),
                }
            })
            .await
            .unwrap()
    }

    /// A silent first upstream is hedged: the next one answers, and the
    /// silent one is marked failing.
    #[tokio::test]
    async fn a_silent_upstream_is_hedged_to_the_next() {
        let (chain, calls) = hedged_chain(None, Duration::ZERO);
        assert_eq!(&body(&chain).await[..], b"https://second.example");
        assert_eq!(calls[1].load(Ordering::SeqCst), 1);
        let breaker = chain.entries[0].breaker.as_ref().unwrap();
        let shown = breaker.admit().await.err().unwrap();
        assert!(
            shown.to_string().contains("no response headers in time"),
            "{shown}"
        );
        let (_, failure) = breaker.failing().unwrap();
        assert!(failure.contains("no response headers within"), "{failure}");
    }

    /// An upstream that answers in time is never hedged, however long its
    /// body takes.
    #[tokio::test]
    async fn an_answering_upstream_is_not_hedged() {
        let (chain, calls) =
            hedged_chain(Some(Duration::from_millis(10)), Duration::from_millis(400));
        assert_eq!(&body(&chain).await[..], b"https://first.example");
        assert_eq!(calls[1].load(Ordering::SeqCst), 0, "no hedge");
    }
}
