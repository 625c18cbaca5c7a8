//! A local disk tier in front of a remote store (`--cache-dir`): objects
//! read from the bucket are kept on local disk, least recently used ones
//! evicted past `--cache-max-size`, so hot artifacts cost no round trip.
//! The remote store stays the only authority: writes go there alone, and
//! the tier only ever holds copies of what it returned. A zip is kept only
//! when it hashes to the `.ziphash` stored beside it: a byte flipped in the
//! bucket or on the way would otherwise be served from the tier even after
//! the bucket is repaired.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use modgate_redact::Chain;
use tempfile::NamedTempFile;

use modgate_module::escape::{unescape_path, unescape_version};

use super::{Body, DiskStore, Ext, Key, Object, Stat, Store, StoreError};
use crate::lock;

pub struct DiskTier {
    local: Local,
    back: Arc<dyn Store>,
}

/// The tier's own side, shared with the copies running in the background.
#[derive(Clone)]
struct Local {
    cache: DiskStore,
    max: u64,
    index: Arc<Mutex<Index>>,
}

#[derive(Default)]
struct Index {
    /// Key -> (size, last use).
    entries: HashMap<String, (u64, u64)>,
    /// Last use -> key: the least recently used first.
    by_use: BTreeMap<u64, String>,
    total: u64,
    clock: u64,
    /// Keys being copied in from a remote body.
    copying: HashSet<String>,
}

impl Index {
    /// Marks `key` (of `size` bytes) used now, adding it if new.
    fn use_now(&mut self, key: &str, size: u64) {
        self.clock += 1;
        let now = self.clock;
        match self.entries.insert(key.to_owned(), (size, now)) {
            Some((old_size, used)) => {
                self.by_use.remove(&used);
                self.total = self.total - old_size + size;
            }
            None => self.total += size,
        }
        self.by_use.insert(now, key.to_owned());
    }

    fn remove(&mut self, key: &str) -> bool {
        let Some((size, used)) = self.entries.remove(key) else {
            return false;
        };
        self.by_use.remove(&used);
        self.total -= size;
        true
    }

    /// Removes the least recently used entries until `max` holds; their keys.
    fn evict(&mut self, max: u64) -> Vec<String> {
        let mut evicted = Vec::new();
        while self.total > max {
            let Some((_, key)) = self.by_use.pop_first() else {
                break;
            };
            let (size, _) = self.entries.remove(&key).expect("indexed both ways");
            self.total -= size;
            evicted.push(key);
        }
        evicted
    }
}

impl DiskTier {
    /// A tier in `dir` of at most `max` bytes. The directory starts empty:
    /// what a previous run kept is not trusted to be what the back store
    /// holds now.
    pub fn open(dir: &Path, max: u64, back: Arc<dyn Store>) -> Result<Self, StoreError> {
        if dir.exists() {
            fs_err::remove_dir_all(dir)?;
        }
        Ok(Self {
            local: Local {
                cache: DiskStore::open(dir)?,
                max,
                index: Arc::default(),
            },
            back,
        })
    }
}

impl Local {
    fn touch(&self, key: &Key) {
        let mut index = lock(&self.index);
        if let Some(&(size, _)) = index.entries.get(key.as_str()) {
            index.use_now(key.as_str(), size);
        }
    }

    /// Copies `obj` into the tier, then evicts the least recently used
    /// entries past the bound. Best effort: the answer never waits on it
    /// failing. A remote body, and any zip (hashed before it is kept), is
    /// copied in the background while the answer goes out: its first byte
    /// does not wait for the whole object.
    async fn keep(&self, key: &Key, obj: &Object, back: &Arc<dyn Store>) {
        if obj.size > self.max {
            return;
        }
        let zip = zip_of(key);
        match &obj.body {
            Body::Bytes(b) if zip.is_none() => {
                let kept = self.cache.put(key, b.clone()).await;
                self.kept(key, obj.size, kept).await;
            }
            Body::File(_) if zip.is_none() => {
                let kept = self.copy(key, obj.clone(), None).await;
                self.kept(key, obj.size, kept).await;
            }
            _ => {
                if !lock(&self.index).copying.insert(key.as_str().to_owned()) {
                    return;
                }
                let (this, key, obj, back) = (self.clone(), key.clone(), obj.clone(), back.clone());
                tokio::spawn(async move {
                    let size = obj.size;
                    let kept = match zip {
                        Some(zip) => this.copy_zip(&key, obj, &zip, &back).await,
                        None => this.copy(&key, obj, None).await,
                    };
                    this.kept(&key, size, kept).await;
                    lock(&this.index).copying.remove(key.as_str());
                });
            }
        }
    }

    /// Copies a zip whose hash must be `.ziphash`'s; one that is not is
    /// read from the bucket once more (a flip on the way), then given up
    /// on: the bucket's copy itself is damaged.
    async fn copy_zip(
        &self,
        key: &Key,
        obj: Object,
        zip: &(String, String),
        back: &Arc<dyn Store>,
    ) -> Result<(), StoreError> {
        let (module, version) = zip;
        let hash_key = Key::version_file(module, version, Ext::ZipHash)
            .ok_or_else(|| std::io::Error::other("not a module version"))?;
        let Some(want) = back.read_small(&hash_key).await? else {
            // Not committed yet (its hash is written last): nothing to check against.
            return Err(std::io::Error::other("no stored hash to check the zip against").into());
        };
        let want = String::from_utf8_lossy(&want).trim().to_owned();
        let mut obj = Some(obj);
        for attempt in 1..=2 {
            let body = match obj.take() {
                Some(obj) => obj,
                None => match back.get(key).await? {
                    Some(obj) => obj,
                    None => return Err(std::io::Error::other("gone from the bucket").into()),
                },
            };
            match self.copy(key, body, Some((zip, &want))).await {
                Err(StoreError::Mismatch(problem)) => {
                    crate::metric::disk_tier_rejected();
                    tracing::error!(%key, attempt, problem, "a zip read from the bucket does not match its stored hash: not kept in the disk tier (modgate verify --quarantine sets such a zip aside)");
                }
                other => return other,
            }
        }
        Err(StoreError::Mismatch("damaged in the bucket".to_owned()))
    }

    /// Copies the whole body through a staging file: a body that breaks
    /// off (or, given a zip's module, version and hash, does not hash to
    /// it) leaves nothing in the tier.
    async fn copy(
        &self,
        key: &Key,
        obj: Object,
        zip: Option<(&(String, String), &str)>,
    ) -> Result<(), StoreError> {
        let size = obj.size;
        let staged = obj.write_into(self.cache.temp_file()?).await?;
        if let Some(((module, version), want)) = zip {
            let (file, module, version) = (staged.reopen()?, module.clone(), version.clone());
            let checked = tokio::task::spawn_blocking(move || {
                modgate_zip::check_zip_reader(
                    std::io::BufReader::new(file),
                    size,
                    &module,
                    &version,
                )
            })
            .await?;
            match checked {
                Ok(checked) if checked.h1 == want => {}
                Ok(checked) => {
                    return Err(StoreError::Mismatch(format!(
                        "hashes to {}, the stored hash says {want}",
                        checked.h1
                    )));
                }
                Err(e) => {
                    return Err(StoreError::Mismatch(format!(
                        "fails the zip rules: {}",
                        Chain(&e)
                    )));
                }
            }
        }
        self.cache.put_file(key, staged).await
    }

    async fn kept(&self, key: &Key, size: u64, kept: Result<(), StoreError>) {
        if let Err(e) = kept {
            tracing::warn!(%key, error = %Chain(&e), "not kept in the disk tier");
            return;
        }
        let evict = {
            let mut index = lock(&self.index);
            index.use_now(key.as_str(), size);
            index.evict(self.max)
        };
        for key in evict {
            // Readers holding it open keep reading: unlinking is safe.
            let removed = match Key::parse(&key) {
                Ok(k) => self.cache.remove(&k).await,
                Err(e) => Err(e.into()),
            };
            if let Err(e) = removed {
                tracing::warn!(key, error = %Chain(&e), "evicting from the disk tier");
            }
        }
        crate::metric::disk_tier_bytes(lock(&self.index).total);
    }

    /// Waits until no background copy of `key` is under way.
    #[cfg(test)]
    async fn settled(&self, key: &Key) {
        while lock(&self.index).copying.contains(key.as_str()) {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    async fn forget(&self, key: &Key) {
        let removed = lock(&self.index).remove(key.as_str());
        if removed {
            let _ = self.cache.remove(key).await;
        }
    }
}

/// The module and version of a zip's key (`m/@v/v.zip`).
fn zip_of(key: &Key) -> Option<(String, String)> {
    let (module, file) = key.as_str().rsplit_once("/@v/")?;
    let version = file.strip_suffix(".zip")?;
    Some((unescape_path(module).ok()?, unescape_version(version).ok()?))
}

#[async_trait]
impl Store for DiskTier {
    async fn get(&self, key: &Key) -> Result<Option<Object>, StoreError> {
        let local = &self.local;
        if lock(&local.index).entries.contains_key(key.as_str()) {
            match local.cache.get(key).await {
                Ok(Some(obj)) => {
                    local.touch(key);
                    return Ok(Some(obj));
                }
                _ => local.forget(key).await,
            }
        }
        let got = self.back.get(key).await?;
        if let Some(obj) = &got {
            local.keep(key, obj, &self.back).await;
        }
        Ok(got)
    }

    async fn put(&self, key: &Key, data: Bytes) -> Result<(), StoreError> {
        self.back.put(key, data).await
    }

    async fn create_file(&self, key: &Key, file: NamedTempFile) -> Result<bool, StoreError> {
        self.back.create_file(key, file).await
    }

    async fn sync(&self, key: &Key) -> Result<(), StoreError> {
        self.back.sync(key).await
    }

    async fn list(&self, dir: &Key) -> Result<Vec<String>, StoreError> {
        self.back.list(dir).await
    }

    async fn check(&self) -> Result<(), StoreError> {
        self.back.check().await
    }

    async fn list_files(&self, dir: &Key) -> Result<Vec<(String, Stat)>, StoreError> {
        self.back.list_files(dir).await
    }

    async fn stat(&self, key: &Key) -> Result<Option<Stat>, StoreError> {
        self.back.stat(key).await
    }

    async fn remove(&self, key: &Key) -> Result<(), StoreError> {
        self.local.forget(key).await;
        self.back.remove(key).await
    }

    async fn set_aside(&self, key: &Key) -> Result<(), StoreError> {
        self.local.forget(key).await;
        self.back.set_aside(key).await
    }

    fn temp_file(&self) -> Result<NamedTempFile, StoreError> {
        self.back.temp_file()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_are_kept_and_the_least_recently_used_evicted() {
        let dir = tempfile::tempdir().unwrap();
        let back: Arc<dyn Store> = Arc::new(DiskStore::open(&dir.path().join("back")).unwrap());
        let key = |v: &str| Key::version_file("example.com/m", v, super::super::Ext::Info).unwrap();
        for v in ["v1.0.0", "v1.1.0", "v1.2.0"] {
            back.put(&key(v), Bytes::from(vec![b'x'; 400]))
                .await
                .unwrap();
        }
        let tier = DiskTier::open(&dir.path().join("tier"), 1000, back).unwrap();
        let cached = |v: &str| dir.path().join("tier").join(key(v).as_str()).exists();
        tier.get(&key("v1.0.0")).await.unwrap().unwrap();
        tier.get(&key("v1.1.0")).await.unwrap().unwrap();
        assert!(cached("v1.0.0") && cached("v1.1.0"));
        // v1.0.0 used again: v1.1.0 is the least recently used when v1.2.0 comes.
        tier.get(&key("v1.0.0")).await.unwrap().unwrap();
        tier.get(&key("v1.2.0")).await.unwrap().unwrap();
        assert!(cached("v1.0.0") && !cached("v1.1.0") && cached("v1.2.0"));
        assert!(lock(&tier.local.index).total <= 1000);
        // Served from the tier even when the back store lost it.
        std::fs::remove_file(dir.path().join("back").join(key("v1.2.0").as_str())).unwrap();
        assert!(tier.get(&key("v1.2.0")).await.unwrap().is_some());
    }

    /// A valid module zip of `example.com/m@v1.0.0` and its `h1:` hash.
    fn module_zip(text: &str) -> (Bytes, String) {
        let mut out = std::io::Cursor::new(Vec::new());
        let files = [("go.mod", "module example.com/m\n"), ("a.go", text)].map(|(name, body)| {
            modgate_zip::ZipFile::new(name, body.len() as u64, body.as_bytes())
        });
        modgate_zip::create_zip(&mut out, "example.com/m", "v1.0.0", files, None).unwrap();
        let zip = out.into_inner();
        let size = zip.len() as u64;
        let h1 = modgate_zip::check_zip_reader(
            std::io::Cursor::new(&zip),
            size,
            "example.com/m",
            "v1.0.0",
        )
        .unwrap()
        .h1;
        (Bytes::from(zip), h1)
    }

    #[tokio::test]
    async fn a_zip_that_does_not_match_its_stored_hash_is_served_but_never_kept() {
        let dir = tempfile::tempdir().unwrap();
        let back: Arc<dyn Store> = Arc::new(DiskStore::open(&dir.path().join("back")).unwrap());
        let zip_key = Key::parse("example.com/m/@v/v1.0.0.zip").unwrap();
        let hash_key =
            Key::version_file("example.com/m", "v1.0.0", super::super::Ext::ZipHash).unwrap();
        let (good, h1) = module_zip("package m\n");
        let (damaged, _) = module_zip("package m // flipped\n");
        back.put(&hash_key, Bytes::from(h1)).await.unwrap();
        back.put(&zip_key, damaged.clone()).await.unwrap();
        let tier = DiskTier::open(&dir.path().join("tier"), 1 << 20, back.clone()).unwrap();
        let kept = dir.path().join("tier").join(zip_key.as_str());

        let served = tier.get(&zip_key).await.unwrap().unwrap();
        assert_eq!(served.read_small().await.unwrap(), damaged);
        tier.local.settled(&zip_key).await;
        assert!(!kept.exists(), "a damaged zip was kept in the tier");

        // The bucket repaired: the good copy is kept, and served from the tier.
        std::fs::remove_file(dir.path().join("back").join(zip_key.as_str())).unwrap();
        back.put(&zip_key, good.clone()).await.unwrap();
        tier.get(&zip_key).await.unwrap().unwrap();
        tier.local.settled(&zip_key).await;
        assert!(kept.exists());
        std::fs::remove_file(dir.path().join("back").join(zip_key.as_str())).unwrap();
        let from_tier = tier.get(&zip_key).await.unwrap().unwrap();
        assert_eq!(from_tier.read_small().await.unwrap(), good);
    }
}
