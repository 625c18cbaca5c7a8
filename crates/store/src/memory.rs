//! An in-memory cache of hot objects in front of any store. Stored objects
//! never change, so nothing is ever invalidated: entries only age out.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use quick_cache::Weighter;
use quick_cache::sync::Cache;
use tempfile::NamedTempFile;

use super::{Body, Key, Object, Stat, Store, StoreError};

#[derive(Clone)]
struct Entry {
    bytes: Bytes,
    etag: Arc<str>,
}

#[derive(Clone)]
struct BySize;

impl Weighter<Key, Entry> for BySize {
    fn weight(&self, key: &Key, entry: &Entry) -> u64 {
        (key.as_str().len() + entry.bytes.len() + entry.etag.len()) as u64 + 64
    }
}

pub struct MemoryCached {
    inner: Arc<dyn Store>,
    cache: Cache<Key, Entry, BySize>,
    /// Larger objects are always streamed from the inner store.
    max_object: u64,
}

impl MemoryCached {
    pub fn new(inner: Arc<dyn Store>, capacity: u64) -> Self {
        Self {
            inner,
            // quick_cache sizes its tables from an item estimate; 16 KiB is a typical object.
            cache: Cache::with_weighter((capacity / (16 << 10)).max(16) as usize, capacity, BySize),
            max_object: capacity / 8,
        }
    }
}

#[async_trait]
impl Store for MemoryCached {
    async fn get(&self, key: &Key) -> Result<Option<Object>, StoreError> {
        if let Some(e) = self.cache.get(key) {
            return Ok(Some(Object {
                size: e.bytes.len() as u64,
                etag: e.etag.to_string(),
                body: Body::Bytes(e.bytes),
            }));
        }
        let Some(obj) = self.inner.get(key).await? else {
            return Ok(None);
        };
        if obj.size > self.max_object {
            return Ok(Some(obj));
        }
        let etag = obj.etag.clone();
        let bytes = obj.read_small().await?;
        self.cache.insert(
            key.clone(),
            Entry {
                bytes: bytes.clone(),
                etag: etag.as_str().into(),
            },
        );
        Ok(Some(Object {
            size: bytes.len() as u64,
            etag,
            body: Body::Bytes(bytes),
        }))
    }

    async fn put(&self, key: &Key, data: Bytes) -> Result<(), StoreError> {
        self.inner.put(key, data).await
    }

    async fn create_file(&self, key: &Key, file: NamedTempFile) -> Result<bool, StoreError> {
        self.inner.create_file(key, file).await
    }

    async fn sync(&self, key: &Key) -> Result<(), StoreError> {
        self.inner.sync(key).await
    }

    async fn list(&self, dir: &Key) -> Result<Vec<String>, StoreError> {
        self.inner.list(dir).await
    }

    async fn set_aside(&self, key: &Key) -> Result<(), StoreError> {
        self.cache.remove(key);
        self.inner.set_aside(key).await
    }

    async fn check(&self) -> Result<(), StoreError> {
        self.inner.check().await
    }

    async fn close(&self) -> Result<(), StoreError> {
        self.inner.close().await
    }

    async fn list_files(&self, dir: &Key) -> Result<Vec<(String, Stat)>, StoreError> {
        self.inner.list_files(dir).await
    }

    async fn stat(&self, key: &Key) -> Result<Option<Stat>, StoreError> {
        self.inner.stat(key).await
    }

    async fn remove(&self, key: &Key) -> Result<(), StoreError> {
        self.cache.remove(key);
        self.inner.remove(key).await
    }

    fn temp_file(&self) -> Result<NamedTempFile, StoreError> {
        self.inner.temp_file()
    }
}
