//! A local disk tier in front of a remote store (`--cache-dir`): objects
//! read from the bucket are kept on local disk, least recently used ones
//! evicted past `--cache-max-size`, so hot artifacts cost no round trip.
//! The remote store stays the only authority: writes go there alone, and
//! the tier only ever holds copies of what it returned.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use tempfile::NamedTempFile;

use super::{Body, DiskStore, Key, Object, Stat, Store, StoreError};
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
    /// failing. A remote body is copied in the background, while the
    /// answer streams from the bucket: its first byte does not wait for
    /// the whole object.
    async fn keep(&self, key: &Key, obj: &Object) {
        if obj.size > self.max {
            return;
        }
        match &obj.body {
            Body::Bytes(b) => {
                let kept = self.cache.put(key, b.clone()).await;
                self.kept(key, obj.size, kept).await;
            }
            Body::File(_) => self.copy(key, obj.clone()).await,
            Body::Remote(_) => {
                if !lock(&self.index).copying.insert(key.as_str().to_owned()) {
                    return;
                }
                let (this, key, obj) = (self.clone(), key.clone(), obj.clone());
                tokio::spawn(async move {
                    this.copy(&key, obj).await;
                    lock(&this.index).copying.remove(key.as_str());
                });
            }
        }
    }

    /// Copies the whole body through a staging file: a body that breaks
    /// off leaves nothing in the tier.
    async fn copy(&self, key: &Key, obj: Object) {
        let size = obj.size;
        let kept = match self.cache.temp_file() {
            Ok(staged) => match obj.write_into(staged).await {
                Ok(staged) => self.cache.put_file(key, staged).await,
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        self.kept(key, size, kept).await;
    }

    async fn kept(&self, key: &Key, size: u64, kept: Result<(), StoreError>) {
        if let Err(e) = kept {
            tracing::warn!(%key, error = %e, "not kept in the disk tier");
            return;
        }
        let evict = {
            let mut index = lock(&self.index);
            index.use_now(key.as_str(), size);
            index.evict(self.max)
        };
        for key in evict {
            // Readers holding it open keep reading: unlinking is safe.
            if let Err(e) = self.cache.remove(&Key::from_escaped_path(&key)).await {
                tracing::warn!(key, error = %e, "evicting from the disk tier");
            }
        }
        crate::telemetry::metric::disk_tier_bytes(lock(&self.index).total);
    }

    async fn forget(&self, key: &Key) {
        let removed = lock(&self.index).remove(key.as_str());
        if removed {
            let _ = self.cache.remove(key).await;
        }
    }
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
            local.keep(key, obj).await;
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
}
