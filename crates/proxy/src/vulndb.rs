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
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::lock;
use crate::store::{Key, Store, StoreError};
use crate::upstream::http::HttpUpstream;
use crate::upstream::{FetchError, Fetched, Policy, Want};

/// Largest index or entry accepted (vuln.go.dev's modules.json is a few MiB).
const MAX_FILE: u64 = 64 << 20;
/// Entries fetched at once during a refresh.
const FETCHES: usize = 8;
const DB: &str = "index/db.json";
const MODULES: &str = "index/modules.json";
const VULNS: &str = "index/vulns.json";

#[derive(Debug, thiserror::Error)]
pub enum VulnDbError {
    /// The upstream could not be read.
    #[error("vulnerability database {upstream}: {source}")]
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
    #[error("vulnerability database storage ({key}): {source}")]
    Store {
        key: String,
        #[source]
        source: StoreError,
    },
    /// No snapshot is stored yet (the first refresh has not succeeded).
    #[error("the vulnerability database has not been mirrored yet")]
    NotSynced,
}

/// The stored state of the mirror: every path and the SHA-256 of its bytes.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Manifest {
    /// When the upstream last confirmed these files.
    synced: jiff::Timestamp,
    files: BTreeMap<String, String>,
}

/// What `index/db.json` says.
#[derive(Deserialize)]
struct DbMeta {
    modified: String,
}

/// An entry of `index/vulns.json`.
#[derive(Deserialize)]
struct VulnMeta {
    id: String,
    modified: String,
}

/// An entry of `index/modules.json` (checked for shape only).
#[derive(Deserialize)]
struct ModuleMeta {
    #[serde(rename = "path")]
    _path: String,
}

/// The fields of an OSV entry the mirror checks.
#[derive(Deserialize)]
struct OsvHead {
    id: String,
    modified: String,
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
    /// One refresh at a time.
    refreshing: tokio::sync::Mutex<()>,
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
            refreshing: tokio::sync::Mutex::new(()),
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
            Err(e) => tracing::warn!(error = %e, "cannot read the stored vulnerability database"),
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
        let key = blob_key(hash);
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
        Ok(Some((bytes, hash.clone())))
    }

    /// The advisories of the served snapshot that name `module`.
    pub async fn advisories(&self, module: &str) -> Result<Vec<Arc<osv::Entry>>, VulnDbError> {
        let manifest = lock(&self.state).manifest.clone();
        let manifest = manifest.ok_or(VulnDbError::NotSynced)?;
        let modules_hash = manifest.files.get(MODULES).cloned().unwrap_or_default();
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
            let cached = lock(&self.entries).get(hash).cloned();
            let entry = match cached {
                Some(e) => e,
                None => {
                    let (bytes, _) = self.get(&path).await?.ok_or(VulnDbError::NotSynced)?;
                    let entry: Arc<osv::Entry> = Arc::new(self.parse(&path, &bytes)?);
                    lock(&self.entries).insert(hash.clone(), entry.clone());
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
                Err(e) => {
                    tracing::warn!(error = %e, "vulnerability database refresh failed; serving the stored snapshot");
                }
            }
            tokio::time::sleep(self.interval).await;
        }
    }

    /// Brings the mirror up to date with the upstream.
    pub async fn refresh(&self) -> Result<Refreshed, VulnDbError> {
        let _one = self.refreshing.lock().await;
        let result = self.sync().await;
        let mut state = lock(&self.state);
        match &result {
            Ok(_) => {
                state.status.failing = None;
                crate::telemetry::metric::vulndb_refresh("ok");
            }
            Err(e) => {
                state.status.failing = Some(e.to_string());
                crate::telemetry::metric::vulndb_refresh("failed");
            }
        }
        result
    }

    async fn sync(&self) -> Result<Refreshed, VulnDbError> {
        let old = lock(&self.state).manifest.clone();
        let db = self.fetch(DB).await?;
        let db_meta: DbMeta = self.parse(DB, &db)?;
        check_time(&db_meta.modified).map_err(|reason| self.invalid(DB, reason))?;
        let db_hash = sha256_hex(&db);
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
        let mut had: HashMap<String, (String, String)> = HashMap::new();
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
        let got: Vec<(String, String)> = futures::stream::iter(wanted)
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
        let key = Key::vulndb(&format!(
            "snapshot/{:020}",
            manifest.synced.as_millisecond()
        ));
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

    async fn put_blob(&self, bytes: Bytes) -> Result<String, VulnDbError> {
        let hash = sha256_hex(&bytes);
        let key = blob_key(&hash);
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

/// Whether `path` names a file of the database's layout.
pub fn is_db_path(path: &str) -> bool {
    match path
        .strip_prefix("ID/")
        .and_then(|f| f.strip_suffix(".json"))
    {
        Some(id) => is_id(id),
        None => [DB, MODULES, VULNS].contains(&path),
    }
}

/// Entry ids as the Go database writes them (`GO-2024-1234`); anything else
/// could not be a file name here.
fn is_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

fn id_path(id: &str) -> String {
    format!("ID/{id}.json")
}

fn check_time(t: &str) -> Result<(), String> {
    t.parse::<jiff::Timestamp>()
        .map(drop)
        .map_err(|e| format!("modified {t:?}: {e}"))
}

fn blob_key(hash: &str) -> Key {
    Key::vulndb(&format!("blob/{hash}"))
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn store_error(key: &Key, source: StoreError) -> VulnDbError {
    VulnDbError::Store {
        key: key.to_string(),
        source,
    }
}

/// The newest snapshot in `store` and every blob it names, as (key,
/// bytes): what a bundle carries to an offline site's mirror.
pub async fn snapshot_files(store: &dyn Store) -> Result<Vec<(Key, Bytes)>, VulnDbError> {
    let dir = Key::vulndb("snapshot");
    let mut names = store
        .list(&dir)
        .await
        .map_err(|source| store_error(&dir, source))?;
    names.sort();
    let Some(name) = names.last() else {
        return Err(VulnDbError::NotSynced);
    };
    let mut out = Vec::new();
    let key = Key::vulndb(&format!("snapshot/{name}"));
    let read = |key: Key| async move {
        match store.read_small(&key).await {
            Ok(Some(bytes)) => Ok((key, bytes)),
            Ok(None) => Err(VulnDbError::NotSynced),
            Err(source) => Err(store_error(&key, source)),
        }
    };
    let (key, bytes) = read(key).await?;
    let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|_| VulnDbError::NotSynced)?;
    out.push((key, bytes));
    let blobs: std::collections::BTreeSet<&String> = manifest.files.values().collect();
    for hash in blobs {
        out.push(read(blob_key(hash)).await?);
    }
    Ok(out)
}

/// Whether `path` (a store key), with content of SHA-256 `sha256`, is a
/// file the mirror stores: a blob named by its own hash, or a snapshot.
pub fn is_bundled_file(path: &str, sha256: &str) -> bool {
    let Some(rest) = path
        .strip_prefix(crate::store::VULNDB)
        .and_then(|r| r.strip_prefix('/'))
    else {
        return false;
    };
    match rest.split_once('/') {
        // The manifest names both, so the name alone must be a hash.
        Some(("blob", hash)) => {
            hash == sha256
                && hash.len() == 64
                && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        }
        Some(("snapshot", n)) => !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()),
        _ => false,
    }
}

/// The newest stored snapshot whose manifest reads, if any.
async fn newest_manifest(store: &dyn Store) -> Result<Option<Manifest>, VulnDbError> {
    let dir = Key::vulndb("snapshot");
    let mut names = store
        .list(&dir)
        .await
        .map_err(|source| store_error(&dir, source))?;
    names.sort();
    for name in names.iter().rev() {
        let key = Key::vulndb(&format!("snapshot/{name}"));
        let Some(bytes) = store
            .read_small(&key)
            .await
            .map_err(|source| store_error(&key, source))?
        else {
            continue;
        };
        match serde_json::from_slice(&bytes) {
            Ok(m) => return Ok(Some(m)),
            Err(e) => {
                tracing::warn!(%key, error = %e, "skipping an unreadable vulnerability database snapshot")
            }
        }
    }
    Ok(None)
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

    #[test]
    fn only_the_layouts_paths_are_served() {
        for ok in [
            "index/db.json",
            "index/modules.json",
            "index/vulns.json",
            "ID/GO-2024-0001.json",
        ] {
            assert!(is_db_path(ok), "{ok}");
        }
        for bad in [
            "ID/../x.json",
            "ID/.json",
            "ID/a/b.json",
            "index/other.json",
            "ID/GO-1",
            "snapshot/1",
        ] {
            assert!(!is_db_path(bad), "{bad}");
        }
    }

    /// Found by the bundle manifest property: a blob path was accepted
    /// whenever it repeated the manifest's own sha256 field, which a forged
    /// manifest sets to anything (`..` included); only the content check at
    /// staging refused it.
    #[test]
    fn bundled_blobs_are_named_by_a_hash() {
        let hash = "0123456789abcdef".repeat(4);
        assert!(is_bundled_file(&format!("vulndb/blob/{hash}"), &hash));
        assert!(is_bundled_file("vulndb/snapshot/12", &hash));
        for bad in ["", "..", "../../x", "a/b", &hash.to_uppercase(), &hash[1..]] {
            assert!(
                !is_bundled_file(&format!("vulndb/blob/{bad}"), bad),
                "{bad:?}"
            );
        }
        assert!(!is_bundled_file(
            &format!("vulndb/blob/{hash}"),
            &hash.replace('0', "1")
        ));
    }
}
