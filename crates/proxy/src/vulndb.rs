//! A mirror of a Go vulnerability database (vuln.go.dev's layout:
//! `index/db.json`, `index/modules.json`, `index/vulns.json`,
//! `ID/<id>.json`), served at `/vuln/` byte for byte as the upstream sent it.
//!
//! The store never replaces an object, but the database changes, so files
//! are kept content-addressed (`vulndb/blob/<sha256>`) and each synced state
//! is a manifest (`vulndb/snapshot/<millis>`, the newest wins) naming the
//! blob of every path. A refresh fetches `index/db.json` first and stops
//! there when it is unchanged; otherwise it fetches the two indexes and
//! only the entries whose `modified` differs from the stored snapshot's.
//! Nothing is served from a snapshot until all its files are stored and
//! parse as what they claim to be.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::{StreamExt as _, TryStreamExt as _};
use modgate_module::osv;
use modgate_redact::Chain;
// The server asks whether a path is the database's as the mirror does.
pub use modgate_module::vulndb::is_db_path;
use modgate_module::vulndb::{
    BlobHash, DB, DbMeta, MODULES, Manifest, ModuleMeta, OsvHead, VULNS, VulnMeta, check_time,
    id_path, is_id, parse_manifest, snapshot_time,
};
use serde::Deserialize;

use crate::lock;
use crate::store::{Key, KeyError, Store, StoreError};
use crate::upstream::http::HttpUpstream;
use crate::upstream::{FetchError, Fetched, Policy, Want};

/// Largest index or entry accepted (vuln.go.dev's modules.json is a few MiB).
const MAX_FILE: u64 = 64 << 20;
/// Entries fetched at once during a refresh.
const FETCHES: usize = 8;
#[derive(Debug, thiserror::Error)]
pub enum VulnDbError {
    /// The upstream could not be read.
    #[error("vulnerability database {upstream}")]
    Fetch {
        upstream: String,
        #[source]
        source: FetchError,
    },
    /// The upstream sent something that is not the database's format.
    #[error("vulnerability database {upstream}: {path}: {reason}")]
    Invalid {
        upstream: String,
        path: String,
        reason: String,
    },
    #[error("vulnerability database storage ({key})")]
    Store {
        key: String,
        #[source]
        source: StoreError,
    },
    /// No snapshot is stored yet (the first refresh has not succeeded).
    #[error("the vulnerability database has not been mirrored yet")]
    NotSynced,
    /// The refresh under way when this one was asked for, which it
    /// waited for, failed so.
    #[error("{0}")]
    Shared(String),
}

/// Where the blob named `hash` is stored.
fn blob_at(hash: &BlobHash) -> Result<Key, KeyError> {
    Key::vulndb(&format!("blob/{}", hash.as_str()))
}

fn blob_key(hash: &BlobHash) -> Result<Key, VulnDbError> {
    blob_at(hash).map_err(|e| store_error_at(&format!("blob/{}", hash.as_str()), e.into()))
}

fn snapshot_key(at: jiff::Timestamp) -> Result<Key, VulnDbError> {
    let path = format!("snapshot/{:020}", at.as_millisecond());
    Key::vulndb(&path).map_err(|e| store_error_at(&path, e.into()))
}

/// Module path → the ids of the entries naming it.
type ModuleIndex = HashMap<String, Vec<String>>;

/// How the mirror stands, for `/readyz` and the `Age` header.
#[derive(Debug, Clone, Default)]
pub struct Status {
    /// When the upstream last confirmed the served files.
    pub synced: Option<jiff::Timestamp>,
    /// The last refresh's failure, if it failed.
    pub failing: Option<String>,
}

impl Status {
    /// Seconds since the upstream last confirmed the served files.
    pub fn age(&self) -> Option<u64> {
        let synced = self.synced?;
        let secs = jiff::Timestamp::now().as_second() - synced.as_second();
        Some(secs.max(0) as u64)
    }
}

/// What a refresh did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refreshed {
    /// `index/db.json` was unchanged.
    Unchanged,
    /// A new snapshot, with this many entries fetched anew.
    Updated { fetched: usize },
}

pub struct VulnDb {
    upstream: HttpUpstream,
    store: Arc<dyn Store>,
    interval: Duration,
    state: Mutex<State>,
    /// One refresh at a time, holding how many have finished and the last
    /// one's outcome: a caller that waited behind a refresh takes its
    /// outcome rather than asking the upstream again.
    refreshing: tokio::sync::Mutex<(u64, Option<Result<Refreshed, String>>)>,
    /// Refreshes finished (read without waiting for the one under way).
    finished: std::sync::atomic::AtomicU64,
    /// For the proxy's policy: `index/modules.json` as module → entry ids,
    /// for the blob it was read from.
    modules: Mutex<Option<(String, Arc<ModuleIndex>)>>,
    /// Parsed entries by blob hash (blobs never change, so neither do these).
    entries: Mutex<HashMap<String, Arc<osv::Entry>>>,
}

#[derive(Default)]
struct State {
    manifest: Option<Arc<Manifest>>,
    status: Status,
}

impl VulnDb {
    /// The mirror of the database at `url`; [`VulnDb::watch`] loads the
    /// newest snapshot in `store`, then refreshes it every `interval`.
    pub fn new(
        url: &str,
        client: reqwest::Client,
        policy: &Policy,
        netrc: &[modgate_net::credentials::Entry],
        store: Arc<dyn Store>,
        interval: Duration,
    ) -> Self {
        Self {
            upstream: HttpUpstream::new(url, client, policy).with_netrc(netrc),
            store,
            interval,
            state: Mutex::new(State::default()),
            refreshing: tokio::sync::Mutex::new((0, None)),
            finished: std::sync::atomic::AtomicU64::new(0),
            modules: Mutex::new(None),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Serves the newest stored snapshot, if there is one. Failing storage
    /// leaves the mirror empty until a refresh succeeds: it must not keep
    /// modgate from serving modules.
    async fn load(&self) {
        match newest_manifest(self.store.as_ref()).await {
            Ok(Some(manifest)) => {
                let mut state = lock(&self.state);
                if state.manifest.is_none() {
                    state.status.synced = Some(manifest.synced);
                    state.manifest = Some(Arc::new(manifest));
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %Chain(&e), "cannot read the stored vulnerability database")
            }
        }
    }

    /// The upstream's URL, without credentials.
    pub fn upstream(&self) -> &str {
        crate::upstream::Fetcher::name(&self.upstream)
    }

    pub fn status(&self) -> Status {
        lock(&self.state).status.clone()
    }

    /// The stored bytes of `path` (`index/modules.json`, `ID/GO-2024-0001.json`),
    /// with their SHA-256 in hex; `None` when the database has no such file.
    pub async fn get(&self, path: &str) -> Result<Option<(Bytes, String)>, VulnDbError> {
        let manifest = lock(&self.state).manifest.clone();
        let manifest = manifest.ok_or(VulnDbError::NotSynced)?;
        let Some(hash) = manifest.files.get(path) else {
            return Ok(None);
        };
        let key = blob_key(hash)?;
        let bytes = self
            .store
            .read_small(&key)
            .await
            .map_err(|source| store_error(&key, source))?
            .ok_or_else(|| VulnDbError::Store {
                key: key.to_string(),
                source: StoreError::Io(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "a file of the snapshot is missing",
                )),
            })?;
        Ok(Some((bytes, hash.as_str().to_owned())))
    }

    /// The advisories of the served snapshot that name `module`.
    pub async fn advisories(&self, module: &str) -> Result<Vec<Arc<osv::Entry>>, VulnDbError> {
        let manifest = lock(&self.state).manifest.clone();
        let manifest = manifest.ok_or(VulnDbError::NotSynced)?;
        let modules_hash = manifest
            .files
            .get(MODULES)
            .map(|h| h.as_str().to_owned())
            .unwrap_or_default();
        let cached = lock(&self.modules)
            .as_ref()
            .filter(|(hash, _)| *hash == modules_hash)
            .map(|(_, index)| index.clone());
        let index = match cached {
            Some(index) => index,
            None => {
                let (bytes, _) = self.get(MODULES).await?.ok_or(VulnDbError::NotSynced)?;
                #[derive(Deserialize)]
                struct Module {
                    path: String,
                    #[serde(default)]
                    vulns: Vec<Vuln>,
                }
                #[derive(Deserialize)]
                struct Vuln {
                    id: String,
                }
                let modules: Vec<Module> = self.parse(MODULES, &bytes)?;
                let index: ModuleIndex = modules
                    .into_iter()
                    .map(|m| (m.path, m.vulns.into_iter().map(|v| v.id).collect()))
                    .collect();
                let index = Arc::new(index);
                *lock(&self.modules) = Some((modules_hash, index.clone()));
                index
            }
        };
        let mut out = Vec::new();
        for id in index.get(module).into_iter().flatten() {
            let path = id_path(id);
            let Some(hash) = manifest.files.get(&path) else {
                continue;
            };
            let cached = lock(&self.entries).get(hash.as_str()).cloned();
            let entry = match cached {
                Some(e) => e,
                None => {
                    let (bytes, _) = self.get(&path).await?.ok_or(VulnDbError::NotSynced)?;
                    let entry: Arc<osv::Entry> = Arc::new(self.parse(&path, &bytes)?);
                    lock(&self.entries).insert(hash.as_str().to_owned(), entry.clone());
                    entry
                }
            };
            out.push(entry);
        }
        Ok(out)
    }

    /// Refreshes now, then every interval; runs forever. Failures are
    /// logged and kept for `/readyz`; the stored snapshot keeps being served.
    pub async fn watch(&self) {
        self.load().await;
        loop {
            match self.refresh().await {
                Ok(Refreshed::Unchanged) => {
                    tracing::debug!(
                        upstream = self.upstream(),
                        "vulnerability database unchanged"
                    );
                }
                Ok(Refreshed::Updated { fetched }) => {
                    tracing::info!(
                        upstream = self.upstream(),
                        fetched,
                        "vulnerability database mirrored"
                    );
                }
                Err(e) if self.status().synced.is_some() => {
                    tracing::warn!(error = %Chain(&e), "vulnerability database refresh failed; serving the stored snapshot");
                }
                // A fresh store has no snapshot to fall back on: /vuln/ answers
                // "not mirrored yet" until a refresh succeeds.
                Err(e) => {
                    tracing::warn!(error = %Chain(&e), "vulnerability database refresh failed; nothing is mirrored yet");
                }
            }
            tokio::time::sleep(self.interval).await;
        }
    }

    /// Brings the mirror up to date with the upstream.
    pub async fn refresh(&self) -> Result<Refreshed, VulnDbError> {
        use std::sync::atomic::Ordering;
        let seen = self.finished.load(Ordering::SeqCst);
        let mut one = self.refreshing.lock().await;
        if one.0 != seen
            && let Some(last) = &one.1
        {
            return last.clone().map_err(VulnDbError::Shared);
        }
        let result = self.sync().await;
        {
            let mut state = lock(&self.state);
            match &result {
                Ok(_) => {
                    state.status.failing = None;
                    crate::telemetry::metric::vulndb_refresh("ok");
                }
                Err(e) => {
                    state.status.failing = Some(Chain(e).to_string());
                    crate::telemetry::metric::vulndb_refresh("failed");
                }
            }
        }
        *one = (
            one.0 + 1,
            Some(result.as_ref().copied().map_err(|e| Chain(e).to_string())),
        );
        self.finished.store(one.0, Ordering::SeqCst);
        result
    }

    async fn sync(&self) -> Result<Refreshed, VulnDbError> {
        let old = lock(&self.state).manifest.clone();
        let db = self.fetch(DB).await?;
        let db_meta: DbMeta = self.parse(DB, &db)?;
        check_time(&db_meta.modified).map_err(|reason| self.invalid(DB, reason))?;
        let db_hash = BlobHash::of(&db);
        if let Some(old) = &old
            && old.files.get(DB) == Some(&db_hash)
        {
            let mut state = lock(&self.state);
            state.status.synced = Some(jiff::Timestamp::now());
            return Ok(Refreshed::Unchanged);
        }
        let modules = self.fetch(MODULES).await?;
        let _: Vec<ModuleMeta> = self.parse(MODULES, &modules)?;
        let vulns = self.fetch(VULNS).await?;
        let metas: Vec<VulnMeta> = self.parse(VULNS, &vulns)?;

        // What the stored snapshot has of each entry, by `modified`.
        let mut had: HashMap<String, (String, BlobHash)> = HashMap::new();
        if let Some(old) = &old
            && let Some((bytes, _)) = self.get(VULNS).await?
            && let Ok(old_metas) = serde_json::from_slice::<Vec<VulnMeta>>(&bytes)
        {
            for m in old_metas {
                if let Some(hash) = old.files.get(&id_path(&m.id)) {
                    had.insert(m.id, (m.modified, hash.clone()));
                }
            }
        }

        let mut files = BTreeMap::new();
        let mut wanted = Vec::new();
        for m in &metas {
            if !is_id(&m.id) {
                return Err(self.invalid(VULNS, format!("{:?} is not an entry id", m.id)));
            }
            let path = id_path(&m.id);
            match had.get(&m.id) {
                Some((modified, hash)) if *modified == m.modified => {
                    files.insert(path, hash.clone());
                }
                _ => wanted.push((m, path)),
            }
        }
        let fetched = wanted.len();
        let got: Vec<(String, BlobHash)> = futures::stream::iter(wanted)
            .map(|(m, path)| async move {
                let bytes = self.fetch(&path).await?;
                let head: OsvHead = self.parse(&path, &bytes)?;
                if head.id != m.id || head.modified != m.modified {
                    return Err(self.invalid(
                        &path,
                        format!(
                            "is {} modified {}, but index/vulns.json says {} modified {}",
                            head.id, head.modified, m.id, m.modified
                        ),
                    ));
                }
                let hash = self.put_blob(bytes).await?;
                Ok::<_, VulnDbError>((path, hash))
            })
            .buffer_unordered(FETCHES)
            .try_collect()
            .await?;
        files.extend(got);
        for (path, bytes) in [(DB, db), (MODULES, modules), (VULNS, vulns)] {
            let hash = self.put_blob(bytes).await?;
            files.insert(path.to_owned(), hash);
        }
        let manifest = Manifest {
            synced: jiff::Timestamp::now(),
            files,
        };
        let key = snapshot_key(manifest.synced)?;
        let text = serde_json::to_vec(&manifest).expect("a manifest serializes");
        self.store
            .put(&key, text.into())
            .await
            .map_err(|source| store_error(&key, source))?;
        self.store
            .sync(&key)
            .await
            .map_err(|source| store_error(&key, source))?;
        let mut state = lock(&self.state);
        state.status.synced = Some(manifest.synced);
        state.manifest = Some(Arc::new(manifest));
        Ok(Refreshed::Updated { fetched })
    }

    async fn fetch(&self, path: &str) -> Result<Bytes, VulnDbError> {
        let fetched = self
            .upstream
            .fetch_path(path, &Want::Bytes { max: MAX_FILE }, &mut || {})
            .await
            .map_err(|source| VulnDbError::Fetch {
                upstream: self.upstream().to_owned(),
                source,
            })?;
        match fetched {
            Fetched::Bytes(b) => Ok(b),
            Fetched::File(_) => unreachable!("bytes were wanted"),
        }
    }

    fn parse<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        bytes: &[u8],
    ) -> Result<T, VulnDbError> {
        serde_json::from_slice(bytes).map_err(|e| self.invalid(path, e.to_string()))
    }

    fn invalid(&self, path: &str, reason: String) -> VulnDbError {
        VulnDbError::Invalid {
            upstream: self.upstream().to_owned(),
            path: path.to_owned(),
            reason,
        }
    }

    async fn put_blob(&self, bytes: Bytes) -> Result<BlobHash, VulnDbError> {
        let hash = BlobHash::of(&bytes);
        let key = blob_key(&hash)?;
        self.store
            .put(&key, bytes)
            .await
            .map_err(|source| store_error(&key, source))?;
        self.store
            .sync(&key)
            .await
            .map_err(|source| store_error(&key, source))?;
        Ok(hash)
    }
}

/// The gzip of `bytes`: govulncheck asks for `<path>.json.gz`, which the
/// upstream serves too; the mirror keeps the JSON and compresses it.
pub fn gzip(bytes: &[u8]) -> Bytes {
    use std::io::Write as _;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).expect("writing to memory");
    enc.finish().expect("writing to memory").into()
}

fn store_error(key: &Key, source: StoreError) -> VulnDbError {
    store_error_at(key.as_str(), source)
}

fn store_error_at(key: &str, source: StoreError) -> VulnDbError {
    VulnDbError::Store {
        key: key.to_owned(),
        source,
    }
}

/// The names of the snapshots in `store` the mirror could have written,
/// newest first.
async fn snapshot_names(store: &dyn Store) -> Result<Vec<(String, Key)>, VulnDbError> {
    let dir = Key::vulndb("snapshot").map_err(|e| store_error_at("snapshot", e.into()))?;
    let mut names: Vec<(String, Key)> = store
        .list(&dir)
        .await
        .map_err(|source| store_error(&dir, source))?
        .into_iter()
        .filter(|name| {
            let sane = snapshot_time(name).is_some();
            if !sane {
                tracing::warn!(%dir, name, "skipping a vulnerability database snapshot the mirror did not name");
            }
            sane
        })
        .filter_map(|name| dir.join(&name).ok().map(|key| (name, key)))
        .collect();
    names.sort_by(|a, b| b.0.cmp(&a.0));
    Ok(names)
}

/// The newest snapshot in `store` and every blob it names, as (key,
/// bytes): what a bundle carries to an offline site's mirror.
pub async fn snapshot_files(store: &dyn Store) -> Result<Vec<(Key, Bytes)>, VulnDbError> {
    let Some((_, key)) = snapshot_names(store).await?.into_iter().next() else {
        return Err(VulnDbError::NotSynced);
    };
    let read = |key: Key| async move {
        match store.read_small(&key).await {
            Ok(Some(bytes)) => Ok((key, bytes)),
            Ok(None) => Err(VulnDbError::NotSynced),
            Err(source) => Err(store_error(&key, source)),
        }
    };
    let (key, bytes) = read(key).await?;
    let manifest = parse_manifest(&bytes).map_err(|_| VulnDbError::NotSynced)?;
    let mut out = vec![(key, bytes)];
    let blobs: std::collections::BTreeSet<&BlobHash> = manifest.files.values().collect();
    for hash in blobs {
        out.push(read(blob_key(hash)?).await?);
    }
    Ok(out)
}

/// The newest stored snapshot whose manifest reads and checks, if any.
async fn newest_manifest(store: &dyn Store) -> Result<Option<Manifest>, VulnDbError> {
    for (_, key) in snapshot_names(store).await? {
        let Some(bytes) = store
            .read_small(&key)
            .await
            .map_err(|source| store_error(&key, source))?
        else {
            continue;
        };
        match parse_manifest(&bytes) {
            Ok(m) => return Ok(Some(m)),
            Err(e) => {
                tracing::warn!(%key, error = %e, "skipping an unreadable vulnerability database snapshot")
            }
        }
    }
    Ok(None)
}

/// Blobs younger than this are kept even if no snapshot names them: a
/// refresh stores its blobs before the snapshot naming them.
const ORPHAN_GRACE: Duration = Duration::from_secs(86_400);

/// Removes the blobs no snapshot names (a failed refresh's, or those of
/// entries changed since), but none younger than [`ORPHAN_GRACE`]; with
/// `dry_run`, only counts them. For `modgate gc`.
pub async fn remove_orphan_blobs(store: &dyn Store, dry_run: bool) -> Result<usize, StoreError> {
    let dir = Key::vulndb("blob")?;
    let cutoff = std::time::SystemTime::now() - ORPHAN_GRACE;
    let named = named_blobs(store).await?;
    let mut orphans: Vec<(Key, BlobHash)> = Vec::new();
    for (name, stat) in store.list_files(&dir).await? {
        let Ok(hash) = BlobHash::try_from(name) else {
            continue;
        };
        if stat.stored < cutoff && !named.contains(&hash) {
            orphans.push((blob_at(&hash)?, hash));
        }
    }
    // A snapshot stored meanwhile may name a blob again (stored objects are
    // not rewritten, so an old blob can be a new snapshot's).
    let named = named_blobs(store).await?;
    orphans.retain(|(_, hash)| !named.contains(hash));
    if !dry_run {
        for (key, _) in &orphans {
            store.remove(key).await?;
        }
    }
    Ok(orphans.len())
}

/// Every blob a stored snapshot names (one that does not parse is never
/// served, so names nothing).
async fn named_blobs(store: &dyn Store) -> Result<std::collections::HashSet<BlobHash>, StoreError> {
    let dir = Key::vulndb("snapshot")?;
    let mut named = std::collections::HashSet::new();
    for name in store.list(&dir).await? {
        let Ok(key) = dir.join(&name) else {
            continue;
        };
        if let Some(bytes) = store.read_small(&key).await?
            && let Ok(manifest) = parse_manifest(&bytes)
        {
            named.extend(manifest.files.into_values());
        }
    }
    Ok(named)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_round_trips() {
        use std::io::Read as _;
        let mut out = String::new();
        flate2::read::GzDecoder::new(&gzip(b"{\"modified\":\"x\"}")[..])
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, "{\"modified\":\"x\"}");
    }

    fn manifest_with(path: &str, hash: &str) -> Vec<u8> {
        let ok = "a".repeat(64);
        serde_json::to_vec(&serde_json::json!({
            "synced": "2025-01-01T00:00:00Z",
            "files": { DB: ok, MODULES: ok, VULNS: ok, path: hash },
        }))
        .unwrap()
    }

    /// Blobs no snapshot names go, unless young; named ones stay.
    #[tokio::test]
    async fn gc_removes_old_orphan_blobs_only() {
        use crate::store::DiskStore;
        let dir = tempfile::tempdir().unwrap();
        let store = DiskStore::open(dir.path()).unwrap();
        let put = |bytes: &'static [u8]| {
            let store = store.clone();
            async move {
                let hash = BlobHash::of(bytes);
                store
                    .put(&blob_at(&hash).unwrap(), Bytes::from_static(bytes))
                    .await
                    .unwrap();
                hash
            }
        };
        let named = put(b"named").await;
        let orphan = put(b"orphan").await;
        let young = put(b"young").await;
        let text = manifest_with("ID/GO-2025-0001.json", named.as_str());
        let snapshot = Key::vulndb(&format!("snapshot/{:020}", 1_735_689_600_000u64)).unwrap();
        store.put(&snapshot, text.into()).await.unwrap();
        let old = std::time::SystemTime::now() - 2 * ORPHAN_GRACE;
        for hash in [&named, &orphan] {
            let path = dir.path().join(blob_at(hash).unwrap().as_str());
            fs_err::File::options()
                .write(true)
                .open(path)
                .unwrap()
                .set_modified(old)
                .unwrap();
        }
        assert_eq!(remove_orphan_blobs(&store, true).await.unwrap(), 1);
        assert!(
            store
                .get(&blob_at(&orphan).unwrap())
                .await
                .unwrap()
                .is_some(),
            "a dry run removes nothing"
        );
        assert_eq!(remove_orphan_blobs(&store, false).await.unwrap(), 1);
        assert!(
            store
                .get(&blob_at(&orphan).unwrap())
                .await
                .unwrap()
                .is_none()
        );
        for kept in [&named, &young] {
            assert!(store.get(&blob_at(kept).unwrap()).await.unwrap().is_some());
        }
    }

    /// Refreshes asked for while one is under way wait for it and share
    /// its outcome: the upstream is asked once.
    #[tokio::test]
    async fn concurrent_refreshes_share_one() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let asked = Arc::new(AtomicUsize::new(0));
        let counter = asked.clone();
        let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
            let counter = counter.clone();
            async move {
                match uri.path() {
                    "/index/db.json" => {
                        counter.fetch_add(1, Ordering::SeqCst);
                        r#"{"modified":"2025-01-01T00:00:00Z"}"#
                    }
                    _ => "[]",
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(crate::store::DiskStore::open(dir.path()).unwrap());
        let policy = Policy {
            connect_timeout: Duration::from_secs(5),
            header_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(5),
            retries: 0,
            breaker_threshold: 3,
            breaker_cooldown: Duration::from_secs(1),
            max_fetches: 4,
            hedge: crate::upstream::HedgePolicy::Off,
        };
        let db = VulnDb::new(
            &url,
            reqwest::Client::new(),
            &policy,
            &[],
            store,
            Duration::MAX,
        );
        let (a, b, c) = tokio::join!(db.refresh(), db.refresh(), db.refresh());
        for r in [a, b, c] {
            assert_eq!(r.unwrap(), Refreshed::Updated { fetched: 0 });
        }
        assert_eq!(asked.load(Ordering::SeqCst), 1);
        // Asked again once it is done: a refresh of its own.
        assert_eq!(db.refresh().await.unwrap(), Refreshed::Unchanged);
        assert_eq!(asked.load(Ordering::SeqCst), 2);
    }
}
