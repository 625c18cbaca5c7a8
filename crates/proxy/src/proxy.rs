//! The core: answer from the store (the cacher), fill misses from the
//! upstream chain (the fetcher), and check everything before it is stored.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use modgate_module::{Info, escape, pseudo, version};
use modgate_redact::Chain;
use modgate_sumdb::SumdbPath;
use quick_cache::sync::Cache;
use tracing::Instrument;

use crate::flights::{Flights, Lost, Then};
use crate::ingest::{self, Invalid};
use crate::protocol::{Kind, Request};
use crate::store::{Body, Ext, FileReader, Key, Object, Store, StoreError};
use crate::sumdb::client::{Checked, Checksums, VerifyError};
use crate::sumdb::private::{PrivateError, PrivateLog};
use crate::sumdb::{Database, SumdbAnswer, SumdbError};
use crate::telemetry::{self, metric};
use crate::upstream::{ChainError, Fetched, Privacy, Upstreams, Want};

mod admin;
mod publish;
pub use admin::{TakeOut, TakeOutError};
pub use publish::{PublishError, Published};

/// An answer to a protocol request.
pub enum Answer {
    /// A stored, immutable artifact.
    Stored(Object),
    /// A list, `@latest` or query answer: valid for a short while only.
    Fresh(Bytes),
}

/// Why a request got no answer. Clone: one fill's error goes to every
/// request that waited for it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProxyError {
    /// The request names nothing that can exist.
    #[error("{0}")]
    BadRequest(String),
    /// Every upstream said not found (`what`: module or module@version).
    #[error("{what}")]
    NotFound {
        what: String,
        #[source]
        cause: Arc<ChainError>,
    },
    /// An upstream failed, and none delivered.
    #[error("{what}")]
    Upstream {
        what: String,
        #[source]
        cause: Arc<ChainError>,
    },
    /// The fetch that this request waited for died.
    #[error("{what}: the upstream fetch was interrupted")]
    Interrupted { what: String },
    /// The checksum database refused or could not vouch for an artifact.
    #[error("{}", verify_message(.0))]
    Verify(#[source] VerifyError),
    /// modgate's own storage failed (`what`: what it was doing).
    #[error("storage: {what}")]
    Storage {
        what: String,
        #[source]
        cause: Arc<StoreError>,
    },
    /// modgate's own disk failed while staging a download.
    #[error("{what}")]
    Staging {
        what: String,
        #[source]
        cause: Arc<ChainError>,
    },
    /// A checksum database's answer.
    #[error(transparent)]
    Sumdb(SumdbError),
    /// modgate's own checksum database could not take a version.
    #[error("checksum database")]
    Log(#[source] Arc<PrivateError>),
    /// The request forbade fetching (`Disable-Module-Fetch: true`) and the
    /// cache does not hold the answer.
    #[error(
        "{0}: not in modgate's cache, and the request disabled fetching (Disable-Module-Fetch: true)"
    )]
    NotCached(String),
    /// The path matches `--private` only when case is ignored: resolving
    /// it would fetch a private repository under a path no one publishes.
    #[error(
        "{0} differs only in case from a private module path (--private); case variants are not resolved"
    )]
    CaseVariant(String),
}

/// What a failed verification means; the source says what happened.
fn verify_message(e: &VerifyError) -> &'static str {
    match e {
        VerifyError::Mismatch { .. } | VerifyError::Corrupt { .. } => "SECURITY ERROR",
        VerifyError::NotFound { .. } | VerifyError::Unavailable { .. } => "cannot verify",
    }
}

impl ProxyError {
    fn storage(what: impl Into<String>) -> impl FnOnce(StoreError) -> ProxyError {
        let what = what.into();
        move |e| ProxyError::Storage {
            what,
            cause: Arc::new(e),
        }
    }
}

/// How long answers that can change are kept in memory.
#[derive(Debug, Clone)]
pub struct CachePolicy {
    /// A not-found answer from every upstream is remembered this long.
    pub negative_ttl: Duration,
    /// A list, @latest or query answer is fresh this long; then it is still
    /// served for [`STALE_WINDOW`] while a refresh runs in the background.
    pub list_ttl: Duration,
}

const STALE_WINDOW: Duration = Duration::from_secs(600);
const MEMORY_ENTRIES: usize = 10_000;

#[derive(Clone)]
pub struct Proxy {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    upstreams: Upstreams,
    /// The checksum database public modules are verified against.
    checksums: Option<Checksums>,
    /// modgate's own checksum database: every version served goes in.
    log: Option<PrivateLog>,
    /// `module@version`s being published or taken out now: the two never
    /// overlap on one version, which would leave it half there.
    busy: Mutex<std::collections::HashSet<String>>,
    policy: CachePolicy,
    fills: Flights<Result<Object, ProxyError>>,
    answers: Flights<Result<Bytes, ProxyError>>,
    /// Upstream path -> when the not-found answer expires, and the answer.
    negative: Cache<String, (Instant, Arc<ChainError>)>,
    /// Upstream path -> when it was fetched, and the answer.
    recent: Cache<String, (Instant, Bytes)>,
    /// The day (since the epoch) and the versions whose access markers were
    /// written that day, by module: each version's at most once a day.
    touched: Mutex<(u64, HashMap<String, HashSet<String>>)>,
    /// Zip answers since start by module and version, and the last one's
    /// time, for the console.
    served: Mutex<HashMap<String, Served>>,
    catalog: crate::catalog::Catalog,
    /// The latest misses, newest last, for the status page.
    misses: Mutex<std::collections::VecDeque<Miss>>,
}

/// A module's versions: how often each had its zip served, and when last.
pub type Served = HashMap<String, (u64, std::time::SystemTime)>;

/// How many misses the status page shows.
const MISSES_KEPT: usize = 20;

/// A miss filled (or not) from upstream.
#[derive(Debug, Clone)]
pub struct Miss {
    pub at: std::time::SystemTime,
    /// `module@version` and the file (`.info`, `.mod`, `.zip`).
    pub what: String,
    pub took: Duration,
    /// Why it failed; `None` when it was filled.
    pub error: Option<String>,
}

impl Proxy {
    pub fn new(
        store: Arc<dyn Store>,
        upstreams: Upstreams,
        policy: CachePolicy,
        checksums: Option<Checksums>,
        log: Option<PrivateLog>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                upstreams,
                checksums,
                log,
                busy: Mutex::default(),
                policy,
                fills: Flights::new(),
                answers: Flights::new(),
                negative: Cache::new(MEMORY_ENTRIES),
                recent: Cache::new(MEMORY_ENTRIES),
                touched: Mutex::new((0, HashMap::new())),
                served: Mutex::new(HashMap::new()),
                catalog: crate::catalog::Catalog::default(),
                misses: Mutex::new(std::collections::VecDeque::with_capacity(MISSES_KEPT)),
            }),
        }
    }

    /// Holds `module@v` for a publish or a take-out until dropped; `None`
    /// while another holds it.
    pub(crate) fn claim(&self, module: &str, v: &str) -> Option<Claimed> {
        let at = format!("{module}@{v}");
        crate::lock(&self.inner.busy)
            .insert(at.clone())
            .then(|| Claimed {
                proxy: self.clone(),
                at,
            })
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    pub fn upstreams(&self) -> &Upstreams {
        &self.inner.upstreams
    }

    pub fn checksums(&self) -> Option<&Checksums> {
        self.inner.checksums.as_ref()
    }

    /// Every version the store holds (a snapshot a few seconds old at most).
    pub async fn held(&self) -> Result<Arc<Vec<crate::catalog::Held>>, StoreError> {
        self.inner.catalog.held(self.inner.store.as_ref()).await
    }

    /// The last listing [`Proxy::held`] made, without listing anew.
    pub fn last_held(&self) -> Option<Arc<Vec<crate::catalog::Held>>> {
        self.inner.catalog.last().map(|(_, held)| held)
    }

    /// The last listing at once, a new one started behind it when it is
    /// stale (the console's pages: a walk of a large store takes longer
    /// than a page may); the first call waits for one.
    pub async fn held_soon(&self) -> Result<Arc<Vec<crate::catalog::Held>>, StoreError> {
        match self.inner.catalog.last() {
            Some((at, held)) => {
                if at.elapsed() >= crate::catalog::FRESH {
                    let proxy = self.clone();
                    tokio::spawn(async move {
                        if let Err(e) = proxy.held().await {
                            tracing::warn!(error = %modgate_redact::Chain(&e), "listing the store");
                        }
                    });
                }
                Ok(held)
            }
            None => self.held().await,
        }
    }

    /// The latest misses, newest first.
    pub fn misses(&self) -> Vec<Miss> {
        crate::lock(&self.inner.misses)
            .iter()
            .rev()
            .cloned()
            .collect()
    }

    fn record_miss(&self, req: &Request, took: Duration, result: &Result<Object, ProxyError>) {
        let mut misses = crate::lock(&self.inner.misses);
        if misses.len() == MISSES_KEPT {
            misses.pop_front();
        }
        misses.push_back(Miss {
            at: std::time::SystemTime::now(),
            what: format!("{} {}", what(req), req.endpoint()),
            took,
            error: result.as_ref().err().map(|e| Chain(e).to_string()),
        });
    }

    pub fn log(&self) -> Option<&PrivateLog> {
        self.inner.log.as_ref()
    }

    /// The checksum database that vouches for `req`'s module: none for
    /// private modules, which have no public record.
    fn checksums_for(&self, req: &Request) -> Option<&Checksums> {
        let checksums = self.inner.checksums.as_ref()?;
        (!self.inner.upstreams.is_private(&req.module)).then_some(checksums)
    }

    /// Fetches an artifact while the checksum database record it will be
    /// verified against is fetched too.
    async fn fetch_verifiable<T, F, Fut>(
        &self,
        req: &Request,
        v: &str,
        want: Want<'_>,
        validate: F,
    ) -> Result<T, Arc<ChainError>>
    where
        F: Fn(Fetched) -> Fut,
        Fut: Future<Output = Result<T, Invalid>>,
    {
        let record = async {
            if let Some(checksums) = self.checksums_for(req) {
                checksums.prefetch(&req.module, v).await;
            }
        };
        let (fetched, ()) = tokio::join!(self.fetch(req, want, validate), record);
        fetched
    }

    /// Verifies a public module's file against the checksum database before
    /// it is stored.
    async fn verify(&self, req: &Request, v: &str, file: Checked<'_>) -> Result<(), ProxyError> {
        let Some(checksums) = self.checksums_for(req) else {
            return Ok(());
        };
        checksums.verify(&req.module, v, file).await.map_err(|e| {
            if let VerifyError::Mismatch { .. } = e {
                tracing::error!(module = %req.module, version = v, error = %Chain(&e), "refused: checksum mismatch");
                metric::rejected_artifact("sumdb");
            }
            ProxyError::Verify(e)
        })
    }

    /// The store hook: once a version's go.mod and zip (with its hash) are
    /// stored, it goes into modgate's own checksum database. Reads the store
    /// only, never fetches, so only checked (and, for public modules,
    /// verified) files are ever logged.
    async fn log_stored(&self, module: &str, v: &str) -> Result<(), ProxyError> {
        let Some(log) = &self.inner.log else {
            return Ok(());
        };
        if log.contains(module, v) {
            return Ok(());
        }
        let mod_key = Request::new(module, Kind::Mod(v.to_owned())).key();
        let zip_key = Request::new(module, Kind::Zip(v.to_owned())).key();
        let hash_key = Key::version_file(module, v, Ext::ZipHash);
        let (Some(mod_key), Some(zip_key), Some(hash_key)) = (mod_key, zip_key, hash_key) else {
            return Ok(());
        };
        let store = &self.inner.store;
        let read = |key: Key| async move { store.read_small(&key).await.map_err(read_error(&key)) };
        let Some(go_mod) = read(mod_key).await? else {
            return Ok(());
        };
        let Some(zip) = store.get(&zip_key).await.map_err(read_error(&zip_key))? else {
            return Ok(());
        };
        // The hash is stored after the zip, as its commit mark. A zip
        // without one (a crash in between) is stored whole, as every put
        // is: it is hashed again and the mark written.
        let zip_h1 = match read(hash_key.clone()).await? {
            Some(h1) => String::from_utf8_lossy(&h1).trim().to_owned(),
            None => {
                let h1 = rehash(store.as_ref(), module, v, zip).await?;
                store
                    .put(&hash_key, Bytes::from(format!("{h1}\n")))
                    .await
                    .map_err(ProxyError::storage(format!("writing {hash_key}")))?;
                tracing::info!(module, version = v, %h1, "restored a stored zip's hash");
                h1
            }
        };
        let mod_h1 = modgate_zip::dirhash::hash_go_mod(&go_mod);
        log.add(module, v, &zip_h1, &mod_h1)
            .await
            .map_err(|e| ProxyError::Log(Arc::new(e)))
    }

    /// Runs the store hook in the background: a miss is not kept waiting
    /// for the log's fsyncs.
    fn after_store(&self, module: &str, v: &str) {
        if self.inner.log.is_none() {
            return;
        }
        let (this, module, v) = (self.clone(), module.to_owned(), v.to_owned());
        tokio::spawn(async move {
            if let Err(e) = this.log_stored(&module, &v).await {
                tracing::warn!(module, version = %v, error = %Chain(&e), "not added to the checksum database");
            }
        });
    }

    /// Refuses a case variant of a private path, whoever asks: the server's
    /// gate refuses it first, this covers callers that skip the gate.
    fn unresolvable(&self, module: &str) -> Option<ProxyError> {
        (self.inner.upstreams.privacy(module) == Privacy::CaseVariant)
            .then(|| ProxyError::CaseVariant(module.to_owned()))
    }

    /// Stores `module@v`'s go.mod and zip (fetching what is missing), so
    /// that it is in modgate's own checksum database.
    async fn log_version(&self, module: &str, v: &str) -> Result<(), ProxyError> {
        if let Some(refused) = self.unresolvable(module) {
            return Err(refused);
        }
        if self
            .inner
            .log
            .as_ref()
            .is_none_or(|l| l.contains(module, v))
        {
            return Ok(());
        }
        self.artifact(&Request::new(module, Kind::Mod(v.to_owned())))
            .await?;
        self.artifact(&Request::new(module, Kind::Zip(v.to_owned())))
            .await?;
        self.durable(module, v).await;
        self.log_stored(module, v).await
    }

    /// `/sumdb/<name>/<path>`, `rest` being `<name>/<path>`: the configured
    /// checksum database (proxied, cached) or modgate's own. A lookup in
    /// modgate's own of a version not logged yet fetches and checks it
    /// first, as sum.golang.org fetches from its proxy.
    pub async fn sumdb(&self, rest: &str) -> Result<SumdbAnswer, ProxyError> {
        let under = |name: &str| rest.strip_prefix(name).and_then(|p| p.strip_prefix('/'));
        let own = self.inner.log.as_ref().map(|l| l as &dyn Database);
        let proxied = self.inner.checksums.as_ref().map(|c| c as &dyn Database);
        let Some((db, path)) = [own, proxied]
            .into_iter()
            .flatten()
            .find_map(|db| Some((db, under(db.name())?)))
        else {
            return Err(ProxyError::Sumdb(SumdbError::NotFound(
                "no such checksum database here".to_owned(),
            )));
        };
        let path = SumdbPath::parse(path).map_err(|e| ProxyError::BadRequest(e.to_string()))?;
        if path == SumdbPath::Supported {
            return Ok(SumdbAnswer {
                body: Bytes::new(),
                immutable: false,
            });
        }
        if let (Some(log), SumdbPath::Lookup { module, version }) = (&self.inner.log, &path)
            && db.name() == log.name()
        {
            self.log_version(module, version).await?;
        }
        db.answer(&path).await.map_err(ProxyError::Sumdb)
    }

    pub async fn answer(&self, req: &Request) -> Result<Answer, ProxyError> {
        if let Some(refused) = self.unresolvable(&req.module) {
            return Err(refused);
        }
        if let Kind::Info(v) | Kind::Mod(v) | Kind::Zip(v) = &req.kind
            && version::is_canonical(v)
            && version::check_of_checked_path(&req.module, v).is_ok()
        {
            return self.artifact(req).await.map(Answer::Stored);
        }
        let path = req.upstream_path();
        if let Some((at, bytes)) = self.inner.recent.get(path) {
            let age = at.elapsed();
            if age < self.inner.policy.list_ttl {
                metric::recent_answer(req.endpoint(), "fresh");
                return Ok(Answer::Fresh(bytes));
            }
            if age < self.inner.policy.list_ttl + STALE_WINDOW {
                metric::recent_answer(req.endpoint(), "stale");
                let (this, req) = (self.clone(), req.clone());
                tokio::spawn(async move {
                    if let Err(e) = this.refresh(&req).await {
                        tracing::debug!(path = req.upstream_path(), error = %Chain(&e), "background refresh failed");
                    }
                });
                return Ok(Answer::Fresh(bytes));
            }
        }
        self.refresh(req).await.map(Answer::Fresh)
    }

    /// The answer from what modgate holds alone, contacting no upstream
    /// (`Disable-Module-Fetch: true`): stored artifacts, the list of the
    /// stored versions, the latest stored one, a query answered lately.
    pub async fn answer_cached(&self, req: &Request) -> Result<Answer, ProxyError> {
        if let Some(refused) = self.unresolvable(&req.module) {
            return Err(refused);
        }
        let missing = || ProxyError::NotCached(what(req));
        match &req.kind {
            Kind::Info(v) | Kind::Mod(v) | Kind::Zip(v)
                if version::is_canonical(v)
                    && version::check_of_checked_path(&req.module, v).is_ok() =>
            {
                let key = req.key().ok_or_else(missing)?;
                let obj = self.inner.store.get(&key).await.map_err(read_error(&key))?;
                metric::cache_lookup(req.endpoint(), obj.is_some());
                let obj = obj.ok_or_else(missing)?;
                self.touch(req);
                Ok(Answer::Stored(obj))
            }
            Kind::List => {
                let mut tagged: Vec<String> = self
                    .cached_versions(&req.module)
                    .await?
                    .into_iter()
                    .map(|(v, _)| v)
                    .filter(|v| !pseudo::is_pseudo_version(v))
                    .collect();
                if tagged.is_empty() {
                    return Err(missing());
                }
                version::sort_versions(&mut tagged);
                let mut text = tagged.join("\n");
                text.push('\n');
                Ok(Answer::Fresh(text.into()))
            }
            Kind::Latest => self
                .cached_latest(&req.module)
                .await?
                .map(Answer::Fresh)
                .ok_or_else(missing),
            Kind::Info(_) | Kind::Mod(_) | Kind::Zip(_) => self
                .inner
                .recent
                .get(req.upstream_path())
                .filter(|(at, _)| at.elapsed() < self.inner.policy.list_ttl + STALE_WINDOW)
                .map(|(_, bytes)| Answer::Fresh(bytes))
                .ok_or_else(missing),
        }
    }

    /// A list, @latest or query answer from the upstreams (coalesced), remembered.
    async fn refresh(&self, req: &Request) -> Result<Bytes, ProxyError> {
        let (this, owned) = (self.clone(), req.clone());
        let work = async move {
            let answer = this.ask_upstream(&owned).await?;
            this.inner.recent.insert(
                owned.upstream_path().to_owned(),
                (Instant::now(), answer.clone()),
            );
            Ok(answer)
        }
        .instrument(span(req));
        self.inner
            .answers
            .run(req.upstream_path(), req.endpoint(), work)
            .await
            .map_err(|Lost| interrupted(req))?
    }

    async fn ask_upstream(&self, req: &Request) -> Result<Bytes, ProxyError> {
        match &req.kind {
            Kind::List => self.list(&req.module).await.map(|versions| {
                let mut text = versions.join("\n");
                if !text.is_empty() {
                    text.push('\n');
                }
                text.into()
            }),
            Kind::Latest => self.latest(req).await,
            Kind::Info(_) | Kind::Mod(_) | Kind::Zip(_) => self.query(req).await,
        }
    }

    /// The upstream chain behind the negative cache.
    async fn fetch<T, F, Fut>(
        &self,
        req: &Request,
        want: Want<'_>,
        validate: F,
    ) -> Result<T, Arc<ChainError>>
    where
        F: Fn(Fetched) -> Fut,
        Fut: Future<Output = Result<T, Invalid>>,
    {
        let path = req.upstream_path();
        if let Some((expires, answer)) = self.inner.negative.get(path) {
            if Instant::now() < expires {
                metric::negative_hit(req.endpoint());
                return Err(answer);
            }
            self.inner.negative.remove(path);
        }
        let result = self
            .inner
            .upstreams
            .chain_for(&req.module)
            .fetch(req, want, validate)
            .await
            .map_err(Arc::new);
        if let Err(e) = &result
            && e.is_not_found()
            && !self.inner.upstreams.is_off()
        {
            let expires = Instant::now() + self.inner.policy.negative_ttl;
            self.inner
                .negative
                .insert(path.to_owned(), (expires, e.clone()));
        }
        result
    }

    /// Records that `req`'s version was served today, for `modgate gc`'s
    /// least-recently-served order: one empty object a day per version,
    /// written in the background (an answer never waits on it); a zip's
    /// answer is counted for the console.
    fn touch(&self, req: &Request) {
        let (Kind::Info(v) | Kind::Mod(v) | Kind::Zip(v)) = &req.kind else {
            return;
        };
        if matches!(req.kind, Kind::Zip(_)) {
            self.count_served(&req.module, v);
        }
        let day = crate::gc::today();
        {
            // Looked up before any key is built: this runs on every hit.
            let mut touched = crate::lock(&self.inner.touched);
            if touched.0 != day {
                *touched = (day, HashMap::new());
            }
            if touched.1.get(&req.module).is_some_and(|vs| vs.contains(v)) {
                return;
            }
            touched
                .1
                .entry(req.module.clone())
                .or_default()
                .insert(v.clone());
        }
        let Some(key) = Key::access(day, &req.module, v) else {
            return;
        };
        let store = self.inner.store.clone();
        tokio::spawn(async move {
            if let Err(e) = store.put(&key, Bytes::new()).await {
                tracing::debug!(%key, error = %Chain(&e), "access not recorded");
            }
        });
    }

    fn count_served(&self, module: &str, version: &str) {
        let now = std::time::SystemTime::now();
        let mut served = crate::lock(&self.inner.served);
        // Found without allocating: this runs on every hit.
        if let Some(seen) = served.get_mut(module).and_then(|vs| vs.get_mut(version)) {
            *seen = (seen.0 + 1, now);
            return;
        }
        served
            .entry(module.to_owned())
            .or_default()
            .insert(version.to_owned(), (1, now));
    }

    /// How often each version of `module` had its zip served since start,
    /// and when last.
    pub fn served(&self, module: &str) -> Served {
        crate::lock(&self.inner.served)
            .get(module)
            .cloned()
            .unwrap_or_default()
    }

    /// A canonical .info, .mod or .zip: from the store, else fetched,
    /// checked, stored and answered while its name is made durable.
    async fn artifact(&self, req: &Request) -> Result<Object, ProxyError> {
        let obj = self.stored_or_filled(req).await?;
        self.touch(req);
        Ok(obj)
    }

    async fn stored_or_filled(&self, req: &Request) -> Result<Object, ProxyError> {
        let key = req.key().expect("canonical artifact requests have a key");
        match self.inner.store.get(&key).await {
            Ok(Some(obj)) => {
                metric::cache_lookup(req.endpoint(), true);
                return Ok(obj);
            }
            Ok(None) => {}
            // Fetched and verified instead: storage being down must not fail a build.
            Err(e) => {
                tracing::warn!(%key, error = %Chain(&e), "storage failing: fetching from upstream");
                metric::storage_failure("read");
            }
        }
        metric::cache_lookup(req.endpoint(), false);
        let (this, owned, span) = (self.clone(), req.clone(), span(req));
        let work = async move {
            let started = Instant::now();
            let filled = this.fill(&owned, key).instrument(span.clone()).await;
            let (result, then) = match filled {
                Ok((obj, commit)) => (Ok(obj), Some(Box::pin(commit.instrument(span)) as Then)),
                Err(e) => (Err(e), None),
            };
            this.record_miss(&owned, started.elapsed(), &result);
            (result, then)
        };
        self.inner
            .fills
            .run_then(req.upstream_path(), req.endpoint(), work)
            .await
            .map_err(|Lost| interrupted(req))?
    }

    /// Waits until everything answered so far is durable (for shutdown).
    pub async fn settle(&self) {
        self.inner.fills.settle_all().await;
    }

    /// Waits until the fills of `module@v`'s artifacts under way are durable.
    pub(crate) async fn durable(&self, module: &str, v: &str) {
        for kind in [Kind::Mod(v.to_owned()), Kind::Zip(v.to_owned())] {
            let req = Request::new(module, kind);
            self.inner.fills.settled(req.upstream_path()).await;
        }
    }

    /// Fetches and checks one artifact: the object to answer with, made of
    /// the verified bytes, and what follows the answer: storing it (written
    /// and synced before its name appears, so a crash leaves it whole or
    /// absent), the fsync of its directory, and the store hook, which must
    /// see durable artifacts only. Until that is done the flight holds the
    /// key, so requests meanwhile get the same answer.
    async fn fill(&self, req: &Request, key: Key) -> Result<(Object, Then), ProxyError> {
        let module = req.module.as_str();
        let store = &self.inner.store;
        let (answer, stored): (Object, Stored) = match &req.kind {
            Kind::Info(v) => {
                let info = self
                    .fetch(
                        req,
                        Want::Bytes {
                            max: ingest::MAX_INFO,
                        },
                        |f| async move { check_info(module, Some(v), f) },
                    )
                    .await
                    .map_err(|e| chain_error(req, e))?;
                let data = Bytes::from(info.to_json());
                (small_object(data.clone()), Stored::Bytes(data))
            }
            Kind::Mod(v) => {
                let data = self
                    .fetch_verifiable(
                        req,
                        v,
                        Want::Bytes {
                            max: ingest::MAX_MOD,
                        },
                        |f| async move {
                            let data = bytes_of(f)?;
                            ingest::check_mod(module, v, &data)?;
                            Ok(data)
                        },
                    )
                    .await
                    .map_err(|e| chain_error(req, e))?;
                let h1 = modgate_zip::dirhash::hash_go_mod(&data);
                self.verify(req, v, Checked::Mod(&h1)).await?;
                (small_object(data.clone()), Stored::Bytes(data))
            }
            Kind::Zip(v) => {
                let temp = || store.temp_file().map_err(std::io::Error::other);
                let want = Want::File {
                    max: ingest::MAX_ZIP,
                    temp: &temp,
                };
                let (file, h1) = self
                    .fetch_verifiable(req, v, want, |f| async move {
                        let Fetched::File(file) = f else {
                            return Err(Invalid::Shape("zip was not staged to disk"));
                        };
                        let (module, v) = (module.to_owned(), v.to_owned());
                        tokio::task::spawn_blocking(move || {
                            ingest::check_zip(&module, &v, file.path()).map(|h1| (file, h1))
                        })
                        .await
                        .map_err(|e| Invalid::Check(e.into()))?
                        .inspect_err(|_| metric::rejected_artifact("zip"))
                    })
                    .await
                    .map_err(|e| chain_error(req, e))?;
                self.verify(req, v, Checked::Zip(&h1)).await?;
                // The staged file answers; it stays readable when it is
                // renamed into the store.
                let staged = file.reopen().map_err(|e| {
                    ProxyError::storage(format!("reopening the staged {key}"))(e.into())
                })?;
                let size = staged
                    .metadata()
                    .map_err(|e| {
                        ProxyError::storage(format!("reading the staged {key}"))(e.into())
                    })?
                    .len();
                let answer = Object {
                    size,
                    // No validator yet, as for small answers.
                    etag: String::new(),
                    body: Body::File(Arc::new(staged)),
                };
                let hash_key = Key::version_file(module, v, Ext::ZipHash).expect("valid key");
                (answer, Stored::Zip { file, h1, hash_key })
            }
            Kind::List | Kind::Latest => unreachable!("only artifacts are filled"),
        };
        let (this, req) = (self.clone(), req.clone());
        let then: Then = Box::pin(async move { this.keep(&req, key, stored).await });
        Ok((answer, then))
    }

    /// Stores what [`Proxy::fill`] answered with, makes it durable and runs
    /// the store hook. A failure costs a fetch next time, never the answer
    /// already given.
    async fn keep(&self, req: &Request, key: Key, stored: Stored) {
        let store = &self.inner.store;
        let put = match stored {
            Stored::Bytes(data) => store.put(&key, data).await.map_err(|e| (key.clone(), e)),
            // The zip's own bytes land first; its hash, last, is the commit
            // mark the private log trusts.
            Stored::Zip { file, h1, hash_key } => {
                async {
                    let created = store
                        .create_file(&key, file)
                        .await
                        .map_err(|e| (key.clone(), e))?;
                    if !created {
                        // Another writer (a replica) stored this zip first,
                        // and its hash is the mark: ours would describe other
                        // bytes if the two fetches disagreed. Missing after a
                        // crash, the mark is made from the stored zip.
                        tracing::info!(%key, "stored by another writer first; its zip stands");
                        return Ok(());
                    }
                    store
                        .put(&hash_key, Bytes::from(format!("{h1}\n")))
                        .await
                        .map_err(|e| (hash_key.clone(), e))?;
                    // `modgate gc` removing the version between the two
                    // writes (the hash first, then the zip) would leave a
                    // hash without its zip: it goes too.
                    if store.stat(&key).await.is_ok_and(|s| s.is_none()) {
                        store.remove(&hash_key).await.map_err(|e| (hash_key, e))?;
                        tracing::info!(%key, "removed by gc while being stored");
                        return Ok(());
                    }
                    tracing::info!(module = %req.module, %key, %h1, "stored module zip");
                    Ok(())
                }
                .await
            }
        };
        if let Err((what, e)) = put {
            // Verified, so answered; a build must not fail because storage
            // is sick. It is fetched again next time.
            tracing::warn!(key = %what, error = %Chain(&e), "storage failing: answered without storing");
            metric::unstored_answer(req.endpoint());
            return;
        }
        if let Err(e) = store.sync(&key).await {
            tracing::warn!(%key, error = %Chain(&e), "syncing the store");
            return;
        }
        if let Kind::Mod(v) | Kind::Zip(v) = &req.kind {
            self.after_store(&req.module, v);
        }
    }

    /// Versions merged from the upstreams and the store; the store alone when
    /// every upstream fails.
    async fn list(&self, module: &str) -> Result<Vec<String>, ProxyError> {
        let req = Request::new(module, Kind::List);
        let cached = self.cached_versions(module).await?;
        let mut tagged: Vec<String> = cached
            .iter()
            .filter(|(v, _)| !pseudo::is_pseudo_version(v))
            .map(|(v, _)| v.clone())
            .collect();
        let fetched = self
            .fetch(
                &req,
                Want::Bytes {
                    max: ingest::MAX_LIST,
                },
                |f| async move { Ok(ingest::parse_list(module, &bytes_of(f)?)) },
            )
            .await;
        // A module with only pseudo-versions cached is known: its list is empty.
        match fetched {
            Ok(upstream) => tagged.extend(upstream),
            Err(e) if cached.is_empty() => return Err(chain_error(&req, e)),
            Err(e) if e.is_not_found() => {}
            Err(e) => {
                tracing::warn!(module, error = %Chain(&e), "every upstream failed; answering the list from the cache");
                metric::stale_answer("list");
            }
        }
        version::sort_versions(&mut tagged);
        Ok(tagged)
    }

    async fn latest(&self, req: &Request) -> Result<Bytes, ProxyError> {
        let module = req.module.as_str();
        match self.fetch_info(req).await {
            Ok(info) => {
                self.remember_info(module, &info).await;
                Ok(info.to_json().into())
            }
            // Like the go command, a proxy without @latest is asked for its list.
            Err(e) if e.is_not_found() => {
                let versions = match self.list(module).await {
                    Ok(v) => v,
                    Err(ProxyError::NotFound { .. }) => Vec::new(),
                    Err(e) => return Err(e),
                };
                if let Some(best) = version::pick_latest(versions.iter().map(String::as_str)) {
                    let info = Request::new(module, Kind::Info(best.to_owned()));
                    let obj = self.artifact(&info).await?;
                    return obj
                        .read_small()
                        .await
                        .map_err(ProxyError::storage(format!("reading {module}@{best}.info")));
                }
                match self.cached_latest(module).await? {
                    Some(info) => Ok(info),
                    None => Err(chain_error(req, e)),
                }
            }
            Err(e) => match self.cached_latest(module).await? {
                Some(info) => {
                    tracing::warn!(module, error = %Chain(&e), "every upstream failed; answering @latest from the cache");
                    metric::stale_answer("latest");
                    Ok(info)
                }
                None => Err(chain_error(req, e)),
            },
        }
    }

    /// A query (branch, tag, commit, partial version) resolved upstream.
    async fn query(&self, req: &Request) -> Result<Bytes, ProxyError> {
        let info = self
            .fetch_info(req)
            .await
            .map_err(|e| chain_error(req, e))?;
        self.remember_info(&req.module, &info).await;
        Ok(info.to_json().into())
    }

    /// An .info naming any version of the module: @latest or a query's answer.
    async fn fetch_info(&self, req: &Request) -> Result<Info, Arc<ChainError>> {
        let module = req.module.as_str();
        let want = Want::Bytes {
            max: ingest::MAX_INFO,
        };
        self.fetch(req, want, |f| async move { check_info(module, None, f) })
            .await
    }

    /// Stores an .info learned from @latest or a query, so the version is
    /// known offline later. Failing to remember is not the client's problem.
    async fn remember_info(&self, module: &str, info: &Info) {
        let Some(key) = Key::version_file(module, &info.version, Ext::Info) else {
            return;
        };
        if let Err(e) = self.inner.store.put(&key, info.to_json().into()).await {
            tracing::warn!(module, version = %info.version, error = %Chain(&e), "could not store .info");
        }
    }

    /// Canonical versions with something stored, each with whether its
    /// .info is stored. A zip without its hash, the commit mark, is a store
    /// under way or interrupted (see `publish`): its version is not counted.
    async fn cached_versions(&self, module: &str) -> Result<Vec<(String, bool)>, ProxyError> {
        let Some(dir) = Key::versions_dir(module) else {
            return Ok(Vec::new());
        };
        let names = self
            .inner
            .store
            .list(&dir)
            .await
            .map_err(ProxyError::storage(format!("listing {dir}")))?;
        #[derive(Default)]
        struct Seen {
            info: bool,
            go_mod: bool,
            zip: bool,
            hash: bool,
        }
        let mut found: Vec<(String, Seen)> = Vec::new();
        for name in names {
            let Some((escaped, ext)) = name.rsplit_once('.') else {
                continue;
            };
            if !matches!(ext, "info" | "mod" | "zip" | "ziphash") {
                continue;
            }
            let Ok(v) = escape::unescape_version(escaped) else {
                continue;
            };
            if !version::is_canonical(&v) || version::check(module, &v).is_err() {
                continue;
            }
            let i = match found.iter().position(|(seen, _)| *seen == v) {
                Some(i) => i,
                None => {
                    found.push((v, Seen::default()));
                    found.len() - 1
                }
            };
            let seen = &mut found[i].1;
            match ext {
                "info" => seen.info = true,
                "mod" => seen.go_mod = true,
                "zip" => seen.zip = true,
                _ => seen.hash = true,
            }
        }
        Ok(found
            .into_iter()
            .filter(|(_, s)| (s.info || s.go_mod || s.zip) && (!s.zip || s.hash))
            .map(|(v, seen)| (v, seen.info))
            .collect())
    }

    /// `@latest` from the store alone.
    async fn cached_latest(&self, module: &str) -> Result<Option<Bytes>, ProxyError> {
        let cached = self.cached_versions(module).await?;
        let with_info = cached
            .iter()
            .filter(|(_, info)| *info)
            .map(|(v, _)| v.as_str());
        let Some(best) = version::pick_latest(with_info) else {
            return Ok(None);
        };
        let key = Key::version_file(module, best, Ext::Info).expect("valid key");
        self.inner
            .store
            .read_small(&key)
            .await
            .map_err(read_error(&key))
    }
}

fn read_error(key: &Key) -> impl FnOnce(StoreError) -> ProxyError {
    ProxyError::storage(format!("reading {key}"))
}

/// An object the store lost between storing and reading it back.
fn vanished(key: &Key) -> ProxyError {
    read_error(key)(StoreError::Io(std::io::Error::new(
        std::io::ErrorKind::NotFound,
        "vanished right after it was stored",
    )))
}

/// What a fill keeps once it has answered.
/// A version held by [`Proxy::claim`].
pub(crate) struct Claimed {
    proxy: Proxy,
    at: String,
}

impl Drop for Claimed {
    fn drop(&mut self) {
        crate::lock(&self.proxy.inner.busy).remove(&self.at);
    }
}

enum Stored {
    Bytes(Bytes),
    Zip {
        file: tempfile::NamedTempFile,
        h1: String,
        hash_key: Key,
    },
}

/// A small verified answer, before it is stored: with no validator, as
/// the store gives the stored object its own (a client revalidates
/// against that one).
fn small_object(data: Bytes) -> Object {
    Object {
        size: data.len() as u64,
        etag: String::new(),
        body: Body::Bytes(data),
    }
}

/// The `h1:` hash of a stored zip of `store`, checked again with the zip
/// rules (a zip in a bucket is downloaded to its staging first: the zip
/// reader seeks).
pub(crate) async fn rehash(
    store: &dyn Store,
    module: &str,
    v: &str,
    zip: Object,
) -> Result<String, ProxyError> {
    let (module, v) = (module.to_owned(), v.to_owned());
    let zip = zip
        .local(|| store.temp_file())
        .await
        .map_err(ProxyError::storage("reading a stored zip"))?;
    let size = zip.size;
    tokio::task::spawn_blocking(move || match zip.body {
        Body::Bytes(b) => modgate_zip::check_zip_reader(std::io::Cursor::new(b), size, &module, &v),
        Body::File(f) => modgate_zip::check_zip_reader(
            std::io::BufReader::new(FileReader::new(f, size)),
            size,
            &module,
            &v,
        ),
        Body::Remote(_) => unreachable!("made local above"),
    })
    .await
    .map_err(|e| {
        ProxyError::storage("hashing a stored zip")(StoreError::Io(std::io::Error::other(e)))
    })?
    .map(|checked| checked.h1)
    .map_err(|e| {
        ProxyError::storage("hashing a stored zip")(StoreError::Io(std::io::Error::other(e)))
    })
}

fn span(req: &Request) -> tracing::Span {
    tracing::info_span!("request", id = %telemetry::request_id(), path = req.upstream_path())
}

fn bytes_of(f: Fetched) -> Result<Bytes, Invalid> {
    match f {
        Fetched::Bytes(b) => Ok(b),
        Fetched::File(_) => Err(Invalid::Shape("expected a small answer in memory")),
    }
}

fn check_info(module: &str, requested: Option<&str>, f: Fetched) -> Result<Info, Invalid> {
    Info::parse(module, requested, &bytes_of(f)?).map_err(|e| Invalid::Info(Box::new(e)))
}

/// What a request is about, for messages: the module, or module@version.
fn what(req: &Request) -> String {
    match &req.kind {
        Kind::Info(v) | Kind::Mod(v) | Kind::Zip(v) => format!("{}@{v}", req.module),
        Kind::List | Kind::Latest => req.module.clone(),
    }
}

fn interrupted(req: &Request) -> ProxyError {
    ProxyError::Interrupted { what: what(req) }
}

fn chain_error(req: &Request, cause: Arc<ChainError>) -> ProxyError {
    let what = what(req);
    if cause.is_not_found() {
        ProxyError::NotFound { what, cause }
    } else if cause.staging().is_some() {
        ProxyError::Staging { what, cause }
    } else {
        ProxyError::Upstream { what, cause }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::{Failure, FetchError};
    use crate::vulndb::VulnDbError;

    fn cancelled() -> tokio::task::JoinError {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let task = tokio::spawn(std::future::pending::<()>());
            task.abort();
            task.await.unwrap_err()
        })
    }

    fn disk_full() -> std::io::Error {
        std::io::Error::other("No space left on device")
    }

    fn chain(failure: FetchError) -> Arc<ChainError> {
        Arc::new(ChainError {
            failures: vec![("https://mirror.example".into(), Failure::Fetch(failure))],
        })
    }

    fn bad_zip() -> FetchError {
        FetchError::Invalid(Invalid::Zip {
            module: "example.com/m".into(),
            version: "v1.0.0".into(),
            source: Box::new(modgate_zip::Error::Io(disk_full())),
        })
    }

    #[test]
    fn errors_say_each_thing_once() {
        let what = || "example.com/m@v1.0.0".to_owned();
        let verify = VerifyError::NotFound {
            module: "example.com/m".into(),
            version: "v1.0.0".into(),
            database: "sum.golang.org".into(),
            detail: "not found".into(),
        };
        let errors: Vec<Box<dyn std::error::Error>> = vec![
            Box::new(ProxyError::NotFound {
                what: what(),
                cause: chain(FetchError::NotFound("not found".into())),
            }),
            Box::new(ProxyError::Upstream {
                what: what(),
                cause: chain(bad_zip()),
            }),
            Box::new(ProxyError::Staging {
                what: what(),
                cause: chain(FetchError::Staging(disk_full())),
            }),
            Box::new(ProxyError::Storage {
                what: "writing example.com/m/@v/v1.0.0.zip".into(),
                cause: Arc::new(StoreError::Task(cancelled())),
            }),
            Box::new(ProxyError::Log(Arc::new(PrivateError::Append(cancelled())))),
            Box::new(ProxyError::Verify(verify)),
            Box::new(FetchError::Staging(disk_full())),
            Box::new(bad_zip()),
            Box::new(VulnDbError::Fetch {
                upstream: "https://vuln.go.dev".into(),
                source: FetchError::Unavailable("503".into()),
            }),
            Box::new(VulnDbError::Store {
                key: "vulndb/index/db.json".into(),
                source: StoreError::Io(disk_full()),
            }),
            Box::new(crate::moved::OriginsError::Store(StoreError::Io(
                disk_full(),
            ))),
        ];
        for e in errors {
            modgate_redact::says_each_thing_once(&*e).unwrap();
        }
    }

    #[test]
    fn shown_errors_keep_their_causes() {
        let upstream = ProxyError::Upstream {
            what: "example.com/m@v1.0.0".into(),
            cause: chain(bad_zip()),
        };
        assert_eq!(
            Chain(&upstream).to_string(),
            "example.com/m@v1.0.0: https://mirror.example: example.com/m@v1.0.0: \
             invalid module zip: No space left on device"
        );
        let log = ProxyError::Log(Arc::new(PrivateError::Append(cancelled())));
        assert!(
            Chain(&log)
                .to_string()
                .starts_with("checksum database: checksum database append failed: task "),
            "{}",
            Chain(&log)
        );
    }
}
