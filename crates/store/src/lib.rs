//! Where artifacts live: a small storage trait and its implementations.
//!
//! Keys mirror the GOPROXY layout with escaped paths and versions
//! (`github.com/!azure/go/@v/v1.0.0.zip`), so a disk store is itself a valid
//! `file://` GOPROXY tree. Every key, whatever it is built from (a
//! request's path in [`protocol`], a bundle, an upstream's JSON, a
//! listing), passes [`Key::parse`].

pub mod copy;
mod disk;
mod memory;
pub mod metric;
pub mod protocol;
mod s3;
pub mod settings;
mod tiered;

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use bytes::Bytes;
use tempfile::NamedTempFile;

pub use disk::{DEFAULT_MODE as DEFAULT_FILE_MODE, DiskStore};
pub use memory::MemoryCached;
pub use s3::{Remote, S3Location, S3Store};
pub use settings::{Storage, StoreSettings};
pub use tiered::DiskTier;

/// Locks `mutex` whatever a panicking holder left: nothing a store keeps
/// behind a mutex is left half-updated between statements.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("storage task failed")]
    Task(#[from] tokio::task::JoinError),
    /// Stored bytes that are not what their hash says.
    #[error("stored object damaged: {0}")]
    Mismatch(String),
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A key whose path would leave the store's root (never built by
    /// [`Key::parse`]; refused again where the path is made).
    #[error("{0:?} is outside the store")]
    Outside(String),
}

impl StoreError {
    /// What went wrong without where (file systems name server paths):
    /// fit for clients.
    pub fn kind_text(&self) -> String {
        match self {
            StoreError::Io(e) => e.kind().to_string(),
            StoreError::Task(_) => "task failed".to_owned(),
            StoreError::Mismatch(_) => "damaged object".to_owned(),
            StoreError::Key(_) | StoreError::Outside(_) => "invalid key".to_owned(),
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
pub const VULNDB: &str = modgate_module::vulndb::PREFIX;

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

/// Why a path is not a storage key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("{0:?} is not a storage key: an empty, `.` or `..` element")]
    Element(String),
    #[error("{0:?} is not a storage key: a character outside [A-Za-z0-9._~!+@:-]")]
    Character(String),
    #[error("storage key of {0} bytes, over {MAX_KEY}")]
    TooLong(usize),
}

/// Longest key: S3's limit, and far beyond any module path.
const MAX_KEY: usize = 1024;
/// Longest element: what file systems name.
const MAX_ELEMENT: usize = 255;

/// A storage key: a relative path of non-empty elements, none `.` or
/// `..`, of escaped-path characters only (no separators but `/`, no
/// control, space or backslash), so that it can never name a file outside
/// the store. Every constructor checks it ([`Key::parse`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key(String);

impl Key {
    /// The one check every key passes, whatever it is built from (a
    /// request, a bundle, an upstream's JSON, a listing).
    pub fn parse(path: &str) -> Result<Self, KeyError> {
        if path.len() > MAX_KEY {
            return Err(KeyError::TooLong(path.len()));
        }
        for element in path.split('/') {
            if element.is_empty()
                || element == "."
                || element == ".."
                || element.len() > MAX_ELEMENT
            {
                return Err(KeyError::Element(path.to_owned()));
            }
            if !element.bytes().all(is_key_byte) {
                return Err(KeyError::Character(path.to_owned()));
            }
        }
        Ok(Key(path.to_owned()))
    }

    /// The store's top directory, to list it.
    pub fn root() -> Self {
        Key(String::new())
    }

    /// `self/name`: an object or directory listed under `self`.
    pub fn join(&self, name: &str) -> Result<Self, KeyError> {
        if self.0.is_empty() {
            return Key::parse(name);
        }
        Key::parse(&format!("{}/{name}", self.0))
    }

    /// `module/@v/version.ext`, from an already validated module path and version.
    pub fn version_file(module: &str, version: &str, ext: Ext) -> Option<Self> {
        let m = modgate_module::escape::escape_path(module).ok()?;
        let v = modgate_module::escape::escape_version(version).ok()?;
        Key::parse(&format!("{m}/@v/{v}.{}", ext.as_str())).ok()
    }

    /// A checksum database file, where a GOMODCACHE keeps it
    /// (`sumdb/<name>/lookup/…`, `sumdb/<name>/tile/…`).
    pub fn sumdb(name: &str, path: &str) -> Result<Self, KeyError> {
        Key::parse(&format!("sumdb/{name}/{path}"))
    }

    /// The lookup of `module@version` in checksum database `name`
    /// (`sumdb/<name>/lookup/<module>@<version>`, escaped).
    pub fn sumdb_lookup(name: &str, module: &str, version: &str) -> Option<Self> {
        let m = modgate_module::escape::escape_path(module).ok()?;
        let v = modgate_module::escape::escape_version(version).ok()?;
        Key::sumdb(name, &format!("lookup/{m}@{v}")).ok()
    }

    /// The marker saying `module@version` was served on `day` (days since
    /// the Unix epoch), for `modgate gc`: `.access/<day>/<module>@<version>`,
    /// escaped, with the module's slashes as colons (which no module path
    /// holds), so that a day is one flat directory.
    pub fn access(day: u64, module: &str, version: &str) -> Option<Self> {
        let m = modgate_module::escape::escape_path(module).ok()?;
        let v = modgate_module::escape::escape_version(version).ok()?;
        Key::parse(&format!("{ACCESS}/{day}/{}@{v}", m.replace('/', ":"))).ok()
    }

    /// A file of the vulnerability database mirror (`vulndb/…`).
    pub fn vulndb(path: &str) -> Result<Self, KeyError> {
        Key::parse(&format!("{VULNDB}/{path}"))
    }

    /// The directory holding a module's versions.
    pub fn versions_dir(module: &str) -> Option<Self> {
        let m = modgate_module::escape::escape_path(module).ok()?;
        Key::parse(&format!("{m}/@v")).ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What escaped module paths and versions, checksum database and
/// vulnerability database paths and modgate's own names are made of.
fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"._~!+@:-".contains(&b)
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

    /// The SHA-256 of the whole body, read through (to compare a stored
    /// object with other bytes without holding it in memory).
    pub async fn sha256(self) -> Result<[u8; 32], StoreError> {
        use sha2::Digest as _;
        let size = self.size;
        match self.body {
            Body::Bytes(b) => Ok(sha2::Sha256::digest(&b).into()),
            Body::File(f) => Ok(tokio::task::spawn_blocking(move || {
                let mut hash = sha2::Sha256::new();
                std::io::copy(&mut FileReader::new(f, size), &mut hash)?;
                Ok::<_, std::io::Error>(hash.finalize().into())
            })
            .await??),
            Body::Remote(remote) => {
                use futures::TryStreamExt as _;
                let mut hash = sha2::Sha256::new();
                let mut chunks = remote.chunks(0, size);
                while let Some(chunk) = chunks.try_next().await? {
                    hash.update(&chunk);
                }
                Ok(hash.finalize().into())
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
    /// staging, quarantine, checksum-database proofs, the vulnerability
    /// database and whatever else cannot be a module path: git mirrors an
    /// operator put inside the store (`--vcs-dir`), say.
    pub async fn modules(&self) -> Result<Vec<String>, StoreError> {
        let mut modules = Vec::new();
        let mut dirs = vec![Key::root()];
        while let Some(dir) = dirs.pop() {
            for name in self.list(&dir).await? {
                // No module path element starts with a dot; the first is a
                // lower-case domain name (`sumdb` and the vulnerability
                // database have no dot).
                let first_element = || {
                    name.contains('.')
                        && name.bytes().all(|b| {
                            b == b'-' || b == b'.' || b.is_ascii_lowercase() || b.is_ascii_digit()
                        })
                };
                if name.starts_with('.') || (dir.as_str().is_empty() && !first_element()) {
                    continue;
                }
                if name == "@v" {
                    modules.push(dir.as_str().to_owned());
                } else if let Ok(sub) = dir.join(&name) {
                    // Anything else is no module path element.
                    dirs.push(sub);
                }
            }
        }
        modules.sort();
        Ok(modules)
    }

    /// The versions of the module stored under `escaped_module` (from
    /// [`modules`](Self::modules)) with their artifacts, by version.
    pub async fn versions(&self, escaped_module: &str) -> Result<Vec<StoredVersion>, StoreError> {
        let dir = Key::parse(escaped_module)?.join("@v")?;
        let mut by_version: std::collections::BTreeMap<String, StoredVersion> =
            std::collections::BTreeMap::new();
        for (name, stat) in self.list_files(&dir).await? {
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
            let Ok(key) = dir.join(&name) else {
                continue;
            };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_relative_clean_paths_of_escaped_characters() {
        for ok in [
            "github.com/!azure/go/@v/v1.0.0+incompatible.zip",
            "sumdb/sum.golang.org/tile/8/0/x001/234.p/5",
            ".access/20000/example.com:a@v1.0.0",
            "vulndb/snapshot/00000001733600000000",
        ] {
            assert_eq!(Key::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "",
            "/etc/passwd",
            "a/../b",
            "..",
            "a/./b",
            "a//b",
            "a/",
            "a\\..\\b",
            "a/b\0c",
            "a/b\nc",
            "a b",
            "a/%2e%2e/b",
            "ä",
            "C:x",
        ] {
            if bad == "C:x" {
                // A drive prefix means nothing on Unix: one element.
                assert!(Key::parse(bad).is_ok());
                continue;
            }
            assert!(Key::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Key::parse(&"a/".repeat(600)).is_err());
        assert!(Key::parse(&"a".repeat(256)).is_err());
        assert!(Key::sumdb("sum.golang.org", "../../x").is_err());
        assert!(Key::sumdb("..", "lookup/x@v1.0.0").is_err());
        assert!(Key::vulndb("blob/../../../etc/shadow").is_err());
        assert!(Key::root().join("../x").is_err());
        assert!(Key::root().join("a/b").is_ok());
        assert_eq!(Key::parse("a").unwrap().join("b").unwrap().as_str(), "a/b");
    }

    proptest::proptest! {
        /// Whatever the input, a key that is built names a path below the
        /// store's root: no `..`, `.` or empty element, nothing absolute.
        #[test]
        fn no_key_escapes_the_store(
            path in "[a-z./\\\\:@!~+%\\x00\\n -]{0,40}",
            name in proptest::prelude::any::<String>(),
            raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
        ) {
            let raw = String::from_utf8_lossy(&raw).into_owned();
            let built = [
                Key::parse(&path),
                Key::parse(&name),
                Key::parse(&raw),
                Key::sumdb(&name, &path),
                Key::vulndb(&path),
                Key::vulndb(&format!("blob/{raw}")),
                Key::parse("a").and_then(|k| k.join(&name)),
            ];
            for key in built.into_iter().flatten() {
                let s = key.as_str();
                proptest::prop_assert!(!s.is_empty());
                proptest::prop_assert!(s.split('/').all(|e| !e.is_empty() && e != "." && e != ".."));
                let below = std::path::Path::new(s)
                    .components()
                    .all(|c| matches!(c, std::path::Component::Normal(_)));
                proptest::prop_assert!(below, "{s:?}");
                proptest::prop_assert!(s.bytes().all(|b| b == b'/' || is_key_byte(b)));
            }
        }
    }

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

    #[test]
    fn errors_say_each_thing_once() {
        use crate::settings::OpenError;
        let disk_full = || StoreError::Io(std::io::Error::other("No space left on device"));
        let errors: Vec<Box<dyn std::error::Error>> = vec![
            Box::new(StoreError::Task(cancelled())),
            Box::new(disk_full()),
            Box::new(OpenError::Open {
                at: "/srv/modgate".into(),
                source: disk_full(),
            }),
            Box::new(OpenError::Bucket {
                bucket: "b".into(),
                at: "s3://b".into(),
                hint: "",
                source: disk_full(),
            }),
            Box::new(OpenError::Tier {
                dir: "/tier".into(),
                source: StoreError::Task(cancelled()),
            }),
            Box::new(OpenError::Runtime(std::io::Error::other("no threads"))),
        ];
        for e in errors {
            modgate_redact::says_each_thing_once(&*e).unwrap();
        }
    }
}
