//! Where artifacts live: a small storage trait and its implementations.
//!
//! Keys mirror the GOPROXY layout with escaped paths and versions
//! (`github.com/!azure/go/@v/v1.0.0.zip`), so a disk store is itself a valid
//! `file://` GOPROXY tree.

mod disk;
mod memory;
mod s3;
mod tiered;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use tempfile::NamedTempFile;

pub use disk::{DEFAULT_MODE as DEFAULT_FILE_MODE, DiskStore};
pub use memory::MemoryCached;
pub use s3::{Remote, S3Location, S3Store};
pub use tiered::DiskTier;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("storage task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl StoreError {
    /// What went wrong without where (file systems name server paths):
    /// fit for clients.
    pub fn kind_text(&self) -> String {
        match self {
            StoreError::Io(e) => e.kind().to_string(),
            StoreError::Task(_) => "task failed".to_owned(),
        }
    }
}

/// Where [`Store::set_aside`] moves objects; a leading dot can never start
/// an escaped module path.
pub const QUARANTINE: &str = ".quarantine";

/// Where the server records which versions it served, a day at a time
/// ([`Key::access`]).
pub const ACCESS: &str = ".access";
/// Where the vulnerability database mirror keeps its files: like `sumdb`,
/// a first path element without a dot, which no module path has.
pub const VULNDB: &str = "vulndb";

/// Files modgate names itself beside a version's artifacts (requests name
/// the others: see `protocol::Request::key`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ext {
    Info,
    /// The `h1:` hash of the zip, computed at ingest.
    ZipHash,
}

impl Ext {
    pub fn as_str(self) -> &'static str {
        match self {
            Ext::Info => "info",
            Ext::ZipHash => "ziphash",
        }
    }
}

/// A storage key. Built only from escaped, validated module paths and
/// versions, so it can never name a file outside the store.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key(String);

impl Key {
    /// `module/@v/version.ext`, from an already validated module path and version.
    pub fn version_file(module: &str, version: &str, ext: Ext) -> Option<Self> {
        let m = modgate_module::escape::escape_path(module).ok()?;
        let v = modgate_module::escape::escape_version(version).ok()?;
        Some(Key(format!("{m}/@v/{v}.{}", ext.as_str())))
    }

    /// The key of a validated, escaped GOPROXY path (`m/@v/v1.0.0.zip`).
    pub(crate) fn from_escaped_path(path: &str) -> Self {
        Key(path.to_owned())
    }

    /// The directory holding a module's versions.
    /// A checksum database file, where a GOMODCACHE keeps it
    /// (`sumdb/<name>/lookup/…`, `sumdb/<name>/tile/…`). `path` must be
    /// relative, clean and free of `..`: callers build it from parsed parts.
    pub fn sumdb(name: &str, path: &str) -> Self {
        Key(format!("sumdb/{name}/{path}"))
    }

    /// The marker saying `module@version` was served on `day` (days since
    /// the Unix epoch), for `modgate gc`: `.access/<day>/<module>@<version>`,
    /// escaped, with the module's slashes as colons (which no module path
    /// holds), so that a day is one flat directory.
    pub fn access(day: u64, module: &str, version: &str) -> Option<Self> {
        let m = modgate_module::escape::escape_path(module).ok()?;
        let v = modgate_module::escape::escape_version(version).ok()?;
        Some(Key(format!("{ACCESS}/{day}/{}@{v}", m.replace('/', ":"))))
    }

    /// A file of the vulnerability database mirror (`vulndb/…`); `path`
    /// is built by the mirror from validated parts, as for [`Key::sumdb`].
    pub fn vulndb(path: &str) -> Self {
        Key(format!("{VULNDB}/{path}"))
    }

    pub fn versions_dir(module: &str) -> Option<Self> {
        let m = modgate_module::escape::escape_path(module).ok()?;
        Some(Key(format!("{m}/@v")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A version's artifacts in a store, from [`Store::versions`](trait.Store.html).
#[derive(Debug, Clone)]
pub struct StoredVersion {
    pub version: String,
    pub files: Vec<(StoredFile, Key, Stat)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredFile {
    Info,
    Mod,
    Zip,
    ZipHash,
}

/// What [`Store::stat`] tells of an object.
#[derive(Debug, Clone, Copy)]
pub struct Stat {
    pub size: u64,
    /// When it was stored (objects never change after).
    pub stored: std::time::SystemTime,
}

/// A stored object ready to be served (cloned to serve it again: a file is
/// read with positioned reads and a remote object with GETs of each
/// reader's own, so clones share them safely).
#[derive(Debug, Clone)]
pub struct Object {
    pub size: u64,
    /// Strong validator; stored objects never change, so it never goes stale.
    pub etag: String,
    pub body: Body,
}

#[derive(Debug, Clone)]
pub enum Body {
    Bytes(Bytes),
    File(Arc<std::fs::File>),
    /// In a bucket, streamed from there when read.
    Remote(Remote),
}

/// Reads a stored file from its start with positioned reads, whatever
/// other readers of the same descriptor do (and wherever a writer left its
/// offset).
pub struct FileReader {
    file: Arc<std::fs::File>,
    pos: u64,
    size: u64,
}

impl FileReader {
    pub fn new(file: Arc<std::fs::File>, size: u64) -> Self {
        Self { file, pos: 0, size }
    }
}

impl std::io::Read for FileReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::os::unix::fs::FileExt as _;
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl std::io::Seek for FileReader {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        let pos = match to {
            std::io::SeekFrom::Start(p) => Some(p),
            std::io::SeekFrom::End(d) => self.size.checked_add_signed(d),
            std::io::SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = pos.ok_or_else(|| std::io::Error::other("seek out of range"))?;
        Ok(self.pos)
    }
}

impl Object {
    /// The whole body in memory: for objects known to be small (.info,
    /// go.mod, hashes, checksum database files).
    pub async fn read_small(self) -> Result<Bytes, StoreError> {
        let size = usize::try_from(self.size).map_err(std::io::Error::other)?;
        match self.body {
            Body::Bytes(b) => Ok(b),
            Body::File(file) => Ok(tokio::task::spawn_blocking(move || {
                use std::os::unix::fs::FileExt;
                let mut buf = vec![0; size];
                file.read_exact_at(&mut buf, 0).map(|()| Bytes::from(buf))
            })
            .await??),
            Body::Remote(remote) => {
                use futures::TryStreamExt as _;
                let mut buf = bytes::BytesMut::with_capacity(size);
                let mut chunks = remote.chunks(0, self.size);
                while let Some(chunk) = chunks.try_next().await? {
                    buf.extend_from_slice(&chunk);
                }
                Ok(buf.freeze())
            }
        }
    }

    /// Writes the whole body into `file` (staging a copy in another store).
    pub async fn write_into(self, file: NamedTempFile) -> Result<NamedTempFile, StoreError> {
        use std::io::Write as _;
        let size = self.size;
        match self.body {
            Body::Bytes(b) => Ok(tokio::task::spawn_blocking(move || {
                let mut file = file;
                file.write_all(&b)?;
                file.flush().map(|()| file)
            })
            .await??),
            Body::File(f) => Ok(tokio::task::spawn_blocking(move || {
                let mut file = file;
                std::io::copy(&mut FileReader::new(f, size), &mut file)?;
                file.flush().map(|()| file)
            })
            .await??),
            Body::Remote(remote) => {
                use futures::TryStreamExt as _;
                use tokio::io::AsyncWriteExt as _;
                let mut out = tokio::fs::File::from_std(file.reopen()?);
                let mut chunks = remote.chunks(0, size);
                while let Some(chunk) = chunks.try_next().await? {
                    out.write_all(&chunk).await?;
                }
                out.flush().await?;
                Ok(file)
            }
        }
    }

    /// The object with a body blocking readers can read ([`FileReader`]):
    /// a remote one is downloaded to a file from `staging` first.
    pub async fn local(
        self,
        staging: impl FnOnce() -> Result<NamedTempFile, StoreError>,
    ) -> Result<Object, StoreError> {
        if !matches!(self.body, Body::Remote(_)) {
            return Ok(self);
        }
        let (size, etag) = (self.size, self.etag.clone());
        let file = self.write_into(staging()?).await?;
        Ok(Object {
            size,
            etag,
            // Unnamed: gone when the last reader drops it.
            body: Body::File(Arc::new(file.into_file())),
        })
    }
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// The object, or `None` when it is not stored.
    async fn get(&self, key: &Key) -> Result<Option<Object>, StoreError>;
    /// Stores `data` under `key` atomically, unless something is stored there already:
    /// stored objects never change.
    async fn put(&self, key: &Key, data: Bytes) -> Result<(), StoreError>;
    /// Like `put`, for a file written through [`Store::temp_file`].
    async fn put_file(&self, key: &Key, file: NamedTempFile) -> Result<(), StoreError> {
        self.create_file(key, file).await.map(drop)
    }
    /// [`Store::put_file`], telling whether this call stored the object
    /// (false: something was there first, and stays), so that of writers
    /// racing for one key, on any replica, exactly one knows it won.
    async fn create_file(&self, key: &Key, file: NamedTempFile) -> Result<bool, StoreError>;
    /// Makes what `put` stored under `key` durable by name: once `put`
    /// returns, the object is visible (to this and every later process)
    /// with its contents durable; only a crash of the machine before `sync`
    /// may forget it, never leave it partial.
    async fn sync(&self, key: &Key) -> Result<(), StoreError>;
    /// Names of the objects directly under `dir`.
    async fn list(&self, dir: &Key) -> Result<Vec<String>, StoreError>;
    /// The objects (not directories) directly under `dir`, with what
    /// [`Store::stat`] tells of each: one listing, not a call per object.
    async fn list_files(&self, dir: &Key) -> Result<Vec<(String, Stat)>, StoreError>;
    /// Whether the store can be written and read now.
    async fn check(&self) -> Result<(), StoreError>;
    /// Moves the object under `key` to `.quarantine/<key>`, out of what is
    /// served, so that it is fetched again (`modgate verify --quarantine`).
    async fn set_aside(&self, key: &Key) -> Result<(), StoreError>;
    /// The size and time of storing of the object under `key`, or `None`
    /// when it is not stored; never reads it.
    async fn stat(&self, key: &Key) -> Result<Option<Stat>, StoreError>;
    /// Deletes the object under `key` (none there: done). Only `modgate gc`
    /// deletes: stored objects never change, so a reader holding one open
    /// keeps reading what it had, and a reader after it fetches it again.
    async fn remove(&self, key: &Key) -> Result<(), StoreError>;
    /// A temporary file for staging a large artifact before `put_file`.
    fn temp_file(&self) -> Result<NamedTempFile, StoreError>;
}

impl dyn Store {
    /// The escaped paths of every module with a `@v` directory, skipping
    /// staging, quarantine, mirrors, checksum-database proofs and the
    /// vulnerability database. Outside
    /// `@v` a store holds only directories: module path elements.
    pub async fn modules(&self) -> Result<Vec<String>, StoreError> {
        let mut modules = Vec::new();
        let mut dirs = vec![String::new()];
        while let Some(dir) = dirs.pop() {
            for name in self.list(&Key::from_escaped_path(&dir)).await? {
                if dir.is_empty() && (name.starts_with('.') || name == "sumdb" || name == VULNDB) {
                    continue;
                }
                if name == "@v" {
                    modules.push(dir.clone());
                } else if dir.is_empty() {
                    dirs.push(name);
                } else {
                    dirs.push(format!("{dir}/{name}"));
                }
            }
        }
        modules.sort();
        Ok(modules)
    }

    /// The versions of the module stored under `escaped_module` (from
    /// [`modules`](Self::modules)) with their artifacts, by version.
    pub async fn versions(&self, escaped_module: &str) -> Result<Vec<StoredVersion>, StoreError> {
        let dir = format!("{escaped_module}/@v");
        let mut by_version: std::collections::BTreeMap<String, StoredVersion> =
            std::collections::BTreeMap::new();
        for (name, stat) in self.list_files(&Key::from_escaped_path(&dir)).await? {
            let Some((stem, ext)) = name.rsplit_once('.') else {
                continue;
            };
            let ext = match ext {
                "info" => StoredFile::Info,
                "mod" => StoredFile::Mod,
                "zip" => StoredFile::Zip,
                "ziphash" => StoredFile::ZipHash,
                _ => continue,
            };
            let Ok(version) = modgate_module::escape::unescape_version(stem) else {
                continue;
            };
            let key = Key::from_escaped_path(&format!("{dir}/{name}"));
            by_version
                .entry(version.clone())
                .or_insert_with(|| StoredVersion {
                    version,
                    files: Vec::new(),
                })
                .files
                .push((ext, key, stat));
        }
        Ok(by_version.into_values().collect())
    }

    /// The object under `key` in memory, or `None`; see [`Object::read_small`].
    pub async fn read_small(&self, key: &Key) -> Result<Option<Bytes>, StoreError> {
        match self.get(key).await? {
            Some(obj) => obj.read_small().await.map(Some),
            None => Ok(None),
        }
    }
}
