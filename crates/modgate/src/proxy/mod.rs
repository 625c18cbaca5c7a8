//! The core: answer from the store (the cacher), fill misses from the
//! upstream chain (the fetcher), and check everything before it is stored.

mod flights;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use modgate_module::{escape, pseudo, version};
use quick_cache::sync::Cache;
use tracing::Instrument;

use self::flights::{Flights, Lost};

use crate::ingest::{self, Info};
use crate::protocol::{Kind, Request};
use crate::store::{Body, Ext, Key, Object, Store, StoreError};
use crate::sumdb::client::{Checked, Checksums, VerifyError};
use crate::sumdb::private::PrivateLog;
use crate::telemetry::{self, metric};
use crate::upstream::{ChainError, Fetched, Upstreams, Want};

/// An answer to a protocol request.
pub enum Answer {
    /// A stored, immutable artifact.
    Stored(Object),
    /// A list, `@latest` or query answer: valid for a short while only.
    Fresh(Bytes),
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ProxyError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Upstream(String),
    #[error("storage: {0}")]
    Store(String),
}

impl From<StoreError> for ProxyError {
    fn from(e: StoreError) -> Self {
        ProxyError::Store(e.to_string())
    }
}

impl From<Lost> for ProxyError {
    fn from(_: Lost) -> Self {
        ProxyError::Upstream("the upstream fetch was interrupted".into())
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
    policy: CachePolicy,
    fills: Flights<Result<(), ProxyError>>,
    answers: Flights<Result<Bytes, ProxyError>>,
    /// Upstream path -> when the not-found answer expires, and its message.
    negative: Cache<String, (Instant, String)>,
    /// Upstream path -> when it was fetched, and the answer.
    recent: Cache<String, (Instant, Bytes)>,
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
                policy,
                fills: Flights::new(),
                answers: Flights::new(),
                negative: Cache::new(MEMORY_ENTRIES),
                recent: Cache::new(MEMORY_ENTRIES),
            }),
        }
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

    pub fn log(&self) -> Option<&PrivateLog> {
        self.inner.log.as_ref()
    }

    /// Verifies a public module's file against the checksum database before
    /// it is stored; private modules have no public record.
    async fn verify(&self, req: &Request, v: &str, file: Checked<'_>) -> Result<(), ProxyError> {
        let Some(checksums) = &self.inner.checksums else {
            return Ok(());
        };
        if self.inner.upstreams.is_private(&req.module) {
            return Ok(());
        }
        checksums
            .verify(&req.module, v, file)
            .await
            .map_err(|e| match e {
                VerifyError::Mismatch { .. } => {
                    tracing::error!(module = %req.module, version = v, error = %e, "refused: checksum mismatch");
                    metric::rejected_artifact("sumdb");
                    ProxyError::Upstream(format!("SECURITY ERROR: {e}"))
                }
                VerifyError::Corrupt(_) => ProxyError::Upstream(format!("SECURITY ERROR: {e}")),
                VerifyError::NotFound(_) => ProxyError::Upstream(format!(
                    "cannot verify: {e} (a private module? list it in --private)"
                )),
                VerifyError::Unavailable(_) => ProxyError::Upstream(format!("cannot verify: {e}")),
            })
    }

    /// Adds a stored version to modgate's own checksum database. The
    /// hashes come from storage, so only checked (and, for public modules,
    /// verified) files are ever logged. Boxed: filling a zip spawns this,
    /// which may fill again.
    pub fn log_version<'a>(
        &'a self,
        module: &'a str,
        v: &'a str,
    ) -> futures::future::BoxFuture<'a, Result<(), ProxyError>> {
        Box::pin(async move {
            let Some(log) = &self.inner.log else {
                return Ok(());
            };
            if log.contains(module, v) {
                return Ok(());
            }
            let go_mod = read_small(
                self.artifact(&Request::new(module, Kind::Mod(v.to_owned())))
                    .await?,
            )
            .await?;
            self.artifact(&Request::new(module, Kind::Zip(v.to_owned())))
                .await?;
            let hash_key = Key::version_file(module, v, Ext::ZipHash).expect("valid key");
            let zip_h1 = match self.inner.store.get(&hash_key).await? {
                Some(obj) => String::from_utf8_lossy(&read_small(obj).await?)
                    .trim()
                    .to_owned(),
                None => return Err(ProxyError::Store(format!("{hash_key} is missing"))),
            };
            let mod_h1 = modgate_zip::dirhash::hash_go_mod(&go_mod);
            log.add(module, v, &zip_h1, &mod_h1)
                .await
                .map_err(|e| ProxyError::Store(e.to_string()))
        })
    }

    pub async fn answer(&self, req: &Request) -> Result<Answer, ProxyError> {
        if let Kind::Info(v) | Kind::Mod(v) | Kind::Zip(v) = &req.kind
            && version::is_canonical(v)
            && version::check(&req.module, v).is_ok()
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
                        tracing::debug!(path = req.upstream_path(), error = %e, "background refresh failed");
                    }
                });
                return Ok(Answer::Fresh(bytes));
            }
        }
        self.refresh(req).await.map(Answer::Fresh)
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
            .await?
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
    ) -> Result<T, ChainError>
    where
        F: Fn(Fetched) -> Fut,
        Fut: Future<Output = Result<T, String>>,
    {
        let path = req.upstream_path();
        if let Some((expires, msg)) = self.inner.negative.get(path) {
            if Instant::now() < expires {
                metric::negative_hit(req.endpoint());
                return Err(ChainError::NotFound(msg));
            }
            self.inner.negative.remove(path);
        }
        let result = self.inner.upstreams.fetch(req, want, validate).await;
        if let Err(ChainError::NotFound(msg)) = &result
            && !self.inner.upstreams.is_off()
        {
            let expires = Instant::now() + self.inner.policy.negative_ttl;
            self.inner
                .negative
                .insert(path.to_owned(), (expires, msg.clone()));
        }
        result
    }

    /// A canonical .info, .mod or .zip: from the store, else fetched and stored.
    async fn artifact(&self, req: &Request) -> Result<Object, ProxyError> {
        let key = req.key().expect("canonical artifact requests have a key");
        if let Some(obj) = self.inner.store.get(&key).await? {
            metric::cache_lookup(req.endpoint(), true);
            return Ok(obj);
        }
        metric::cache_lookup(req.endpoint(), false);
        let (this, owned, k) = (self.clone(), req.clone(), key.clone());
        let work = async move { this.fill(&owned, &k).await }.instrument(span(req));
        self.inner
            .fills
            .run(req.upstream_path(), req.endpoint(), work)
            .await??;
        self.inner
            .store
            .get(&key)
            .await?
            .ok_or_else(|| ProxyError::Store(format!("{key} vanished right after it was stored")))
    }

    async fn fill(&self, req: &Request, key: &Key) -> Result<(), ProxyError> {
        let module = req.module.as_str();
        match &req.kind {
            Kind::Info(v) => {
                let info = self
                    .fetch(
                        req,
                        Want::Bytes {
                            max: ingest::MAX_INFO,
                        },
                        |f| async move { ingest::check_info(module, Some(v), &bytes_of(f)?) },
                    )
                    .await
                    .map_err(|e| chain_error(req, e))?;
                self.inner.store.put(key, info.to_json()).await?;
            }
            Kind::Mod(v) => {
                let data = self
                    .fetch(
                        req,
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
                self.inner.store.put(key, data).await?;
            }
            Kind::Zip(v) => {
                let store = &self.inner.store;
                let temp = || store.temp_file().map_err(std::io::Error::other);
                let want = Want::File {
                    max: ingest::MAX_ZIP,
                    temp: &temp,
                };
                let (file, h1) = self
                    .fetch(req, want, |f| async move {
                        let Fetched::File(file) = f else {
                            return Err("zip was not staged to disk".to_owned());
                        };
                        let (module, v) = (module.to_owned(), v.to_owned());
                        tokio::task::spawn_blocking(move || {
                            ingest::check_zip(&module, &v, file.path()).map(|h1| (file, h1))
                        })
                        .await
                        .map_err(|e| e.to_string())?
                        .inspect_err(|_| metric::rejected_artifact("zip"))
                    })
                    .await
                    .map_err(|e| chain_error(req, e))?;
                self.verify(req, v, Checked::Zip(&h1)).await?;
                let hash_key = Key::version_file(module, v, Ext::ZipHash).expect("valid key");
                // The hash goes first: a stored zip always has its hash beside it.
                self.inner
                    .store
                    .put(&hash_key, Bytes::from(format!("{h1}\n")))
                    .await?;
                self.inner.store.put_file(key, file).await?;
                tracing::info!(module, version = %v, %h1, "stored module zip");
                if self.inner.log.is_some() {
                    // In the background: logging reads the .mod, which may
                    // need its own fetch.
                    let (this, module, v) = (self.clone(), module.to_owned(), v.clone());
                    tokio::spawn(async move {
                        if let Err(e) = this.log_version(&module, &v).await {
                            tracing::warn!(module, version = %v, error = %e, "not added to the checksum database");
                        }
                    });
                }
            }
            Kind::List | Kind::Latest => unreachable!("only artifacts are filled"),
        }
        Ok(())
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
            Err(ChainError::NotFound(msg)) if cached.is_empty() => {
                return Err(ProxyError::NotFound(format!("{module}: {msg}")));
            }
            Err(ChainError::Failed(msg)) if cached.is_empty() => {
                return Err(ProxyError::Upstream(format!("{module}: {msg}")));
            }
            Err(ChainError::NotFound(_)) => {}
            Err(ChainError::Failed(msg)) => {
                tracing::warn!(module, error = %msg, "every upstream failed; answering the list from the cache");
                metric::stale_answer("list");
            }
        }
        ingest::sort_versions(&mut tagged);
        Ok(tagged)
    }

    async fn latest(&self, req: &Request) -> Result<Bytes, ProxyError> {
        let module = req.module.as_str();
        match self.fetch_info(req).await {
            Ok(info) => {
                self.remember_info(module, &info).await;
                Ok(info.to_json())
            }
            // Like the go command, a proxy without @latest is asked for its list.
            Err(ChainError::NotFound(msg)) => {
                let versions = match self.list(module).await {
                    Ok(v) => v,
                    Err(ProxyError::NotFound(_)) => Vec::new(),
                    Err(e) => return Err(e),
                };
                if let Some(best) = ingest::pick_latest(versions.iter().map(String::as_str)) {
                    let info = Request::new(module, Kind::Info(best.to_owned()));
                    let obj = self.artifact(&info).await?;
                    return Ok(read_small(obj).await?);
                }
                match self.cached_latest(module).await? {
                    Some(info) => Ok(info),
                    None => Err(ProxyError::NotFound(format!("{module}: {msg}"))),
                }
            }
            Err(ChainError::Failed(msg)) => match self.cached_latest(module).await? {
                Some(info) => {
                    tracing::warn!(module, error = %msg, "every upstream failed; answering @latest from the cache");
                    metric::stale_answer("latest");
                    Ok(info)
                }
                None => Err(ProxyError::Upstream(format!("{module}: {msg}"))),
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
        Ok(info.to_json())
    }

    /// An .info naming any version of the module: @latest or a query's answer.
    async fn fetch_info(&self, req: &Request) -> Result<Info, ChainError> {
        let module = req.module.as_str();
        let want = Want::Bytes {
            max: ingest::MAX_INFO,
        };
        self.fetch(req, want, |f| async move {
            ingest::check_info(module, None, &bytes_of(f)?)
        })
        .await
    }

    /// Stores an .info learned from @latest or a query, so the version is
    /// known offline later. Failing to remember is not the client's problem.
    async fn remember_info(&self, module: &str, info: &Info) {
        let Some(key) = Key::version_file(module, &info.version, Ext::Info) else {
            return;
        };
        if let Err(e) = self.inner.store.put(&key, info.to_json()).await {
            tracing::warn!(module, version = %info.version, error = %e, "could not store .info");
        }
    }

    /// Canonical versions with something stored, each with whether its .info is stored.
    async fn cached_versions(&self, module: &str) -> Result<Vec<(String, bool)>, ProxyError> {
        let Some(dir) = Key::versions_dir(module) else {
            return Ok(Vec::new());
        };
        let mut found: Vec<(String, bool)> = Vec::new();
        for name in self.inner.store.list(&dir).await? {
            let Some((escaped, ext)) = name.rsplit_once('.') else {
                continue;
            };
            if !matches!(ext, "info" | "mod" | "zip") {
                continue;
            }
            let Ok(v) = escape::unescape_version(escaped) else {
                continue;
            };
            if !version::is_canonical(&v) || version::check(module, &v).is_err() {
                continue;
            }
            match found.iter_mut().find(|(seen, _)| *seen == v) {
                Some(entry) => entry.1 |= ext == "info",
                None => found.push((v, ext == "info")),
            }
        }
        Ok(found)
    }

    /// `@latest` from the store alone.
    async fn cached_latest(&self, module: &str) -> Result<Option<Bytes>, ProxyError> {
        let cached = self.cached_versions(module).await?;
        let with_info = cached
            .iter()
            .filter(|(_, info)| *info)
            .map(|(v, _)| v.as_str());
        let Some(best) = ingest::pick_latest(with_info) else {
            return Ok(None);
        };
        let key = Key::version_file(module, best, Ext::Info).expect("valid key");
        match self.inner.store.get(&key).await? {
            Some(obj) => Ok(Some(read_small(obj).await?)),
            None => Ok(None),
        }
    }
}

fn span(req: &Request) -> tracing::Span {
    tracing::info_span!("request", id = %telemetry::request_id(), path = req.upstream_path())
}

fn bytes_of(f: Fetched) -> Result<Bytes, String> {
    match f {
        Fetched::Bytes(b) => Ok(b),
        Fetched::File(_) => Err("expected a small answer in memory".to_owned()),
    }
}

async fn read_small(obj: Object) -> Result<Bytes, StoreError> {
    match obj.body {
        Body::Bytes(b) => Ok(b),
        Body::File(mut file) => Ok(tokio::task::spawn_blocking(move || {
            use std::io::Read;
            let mut buf = Vec::new();
            file.read_to_end(&mut buf).map(|_| Bytes::from(buf))
        })
        .await??),
    }
}

fn chain_error(req: &Request, e: ChainError) -> ProxyError {
    let what = match &req.kind {
        Kind::Info(v) | Kind::Mod(v) | Kind::Zip(v) => format!("{}@{v}", req.module),
        Kind::List | Kind::Latest => req.module.clone(),
    };
    match e {
        ChainError::NotFound(msg) => ProxyError::NotFound(format!("{what}: {msg}")),
        ChainError::Failed(msg) => ProxyError::Upstream(format!("{what}: {msg}")),
    }
}
