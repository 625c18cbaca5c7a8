//! Object storage: an S3-compatible bucket (AWS S3, MinIO, Ceph RGW,
//! Garage, R2…) through `object_store`, holding the same keys as the disk
//! store, under an optional prefix.
//!
//! Every write is create-only (`If-None-Match: *`), so nothing stored is
//! ever replaced and replicas sharing the bucket agree on every object:
//! the first writer wins, the others find it there. A large zip is
//! uploaded in parts to a staging key under `.tmp/` and copied into place
//! create-only; an interrupted upload leaves nothing under a real key (a
//! bucket lifecycle rule should expire `.tmp/` and abandoned multipart
//! uploads).
//!
//! Reads stream: a large object is served straight from the bucket with
//! ranged GETs, so its first byte does not wait for the whole object, a
//! client's `Range:` becomes a ranged GET, and nothing is spooled locally.

use std::io::{Read as _, Seek as _};
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt as _;
use futures::stream::BoxStream;
use modgate_redact::Chain;
use object_store::aws::{AmazonS3Builder, S3CopyIfNotExists};
use object_store::path::Path as ObjectPath;
use object_store::{
    ClientOptions, GetOptions, GetRange, ObjectMeta, ObjectStore, ObjectStoreExt as _, PutMode,
    PutOptions, PutPayload, RetryConfig,
};
use tempfile::NamedTempFile;

use super::{Body, Key, Object, Stat, Store, StoreError};

/// Every read asks for the first this many bytes: an object up to this size
/// comes whole in one GET; of a larger one they are kept with its
/// metadata, and the rest is streamed from the bucket when served.
const FIRST_BYTES: u64 = 64 * 1024;
/// Bytes asked for per GET while streaming. Each GET's timeout covers one
/// window, not the whole object, so a slow client is not cut off, and a
/// window that breaks is resumed where it broke.
const WINDOW: u64 = 8 << 20;
/// Files up to this size are uploaded in one create-only PUT; larger ones
/// in parts of this size (S3's parts are at least 5 MiB), so memory holds
/// one part at a time.
const PART_SIZE: usize = 8 << 20;
/// How long serving waits for the bucket to answer a small read (the first
/// bytes of an object, a HEAD, a listing): a bucket that hangs makes a hit
/// a miss within this, answered from the tiers or a fresh fetch.
const READ_DEADLINE: Duration = Duration::from_secs(5);
/// How long a one-PUT write may take before it counts as failed (a
/// verified answer then goes out unstored, and a log append fails).
const WRITE_DEADLINE: Duration = Duration::from_secs(20);
/// Each request's own limit (a window of a streamed read, a part of an
/// upload): slow is fine, a bucket that stopped answering is not.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Where multipart uploads are staged before their create-only copy.
const STAGING: &str = ".tmp";

/// Local staging directories are `$TMPDIR/modgate-s3-XXXXXX`.
const STAGING_PREFIX: &str = "modgate-s3-";
/// The file in a local staging directory that its store keeps locked.
const STAGING_LOCK: &str = ".lock";
/// A staging directory younger than this is never removed: its store may
/// not have locked it yet.
const STAGING_GRACE: Duration = Duration::from_secs(60);

/// Removes the local staging directories that processes killed before
/// they could remove their own left in `tmp`: those whose lock file
/// nobody holds. Replicas on one machine share `tmp`, so a directory
/// still locked, or too young to be locked yet, is left alone.
fn remove_stale_staging(tmp: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with(STAGING_PREFIX) {
            continue;
        }
        let dir = entry.path();
        let old = std::fs::symlink_metadata(&dir).is_ok_and(|m| {
            m.is_dir()
                && m.modified()
                    .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > STAGING_GRACE))
        });
        if !old {
            continue;
        }
        let unheld = match std::fs::File::open(dir.join(STAGING_LOCK)) {
            Ok(lock) => lock.try_lock().is_ok(),
            // Never locked: its process died while starting.
            Err(e) => e.kind() == std::io::ErrorKind::NotFound,
        };
        if unheld {
            match std::fs::remove_dir_all(&dir) {
                Ok(()) => {
                    tracing::info!(dir = %dir.display(), "removed a staging directory a killed modgate left")
                }
                Err(e) => {
                    tracing::warn!(dir = %dir.display(), error = %Chain(&e), "could not remove a stale staging directory")
                }
            }
        }
    }
}

/// `s3://BUCKET[/PREFIX]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    pub prefix: String,
}

impl S3Location {
    /// The bucket and prefix of an `s3://` URL; `None` for other strings.
    pub fn parse(url: &str) -> Option<Result<Self, String>> {
        let rest = url.strip_prefix("s3://")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Some(Err(format!("{url}: no bucket (s3://BUCKET[/PREFIX])")));
        }
        Some(Ok(Self {
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
        }))
    }
}

impl std::fmt::Display for S3Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.prefix.as_str() {
            "" => write!(f, "s3://{}", self.bucket),
            prefix => write!(f, "s3://{}/{prefix}", self.bucket),
        }
    }
}

pub struct S3Store {
    bucket: Arc<dyn ObjectStore>,
    prefix: String,
    /// Local staging for downloads, uploads and zips read to be hashed again.
    staging: tempfile::TempDir,
    /// `staging`'s lock file, locked while this store is open.
    _held: std::fs::File,
    /// Where `check` writes: `.check/<this staging directory's name>`.
    check_key: String,
}

impl S3Store {
    /// The bucket at `location`, with credentials, region and endpoint from
    /// the standard AWS variables (`AWS_ACCESS_KEY_ID`, `AWS_REGION`,
    /// `AWS_ENDPOINT_URL`, web identity…). An `http://` endpoint is used
    /// only when named explicitly. Calls time out and are retried briefly:
    /// a sick bucket must not hold a build for minutes.
    pub fn open(location: &S3Location) -> Result<Self, StoreError> {
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(&location.bucket);
        let plain =
            std::env::var(modgate_env::AWS_ENDPOINT_URL).is_ok_and(|e| e.starts_with("http://"));
        if std::env::var_os(modgate_env::AWS_COPY_IF_NOT_EXISTS).is_none() {
            // What AWS S3 (and most compatible stores) do natively.
            builder = builder.with_copy_if_not_exists(S3CopyIfNotExists::Multipart);
        }
        let bucket = builder
            .with_client_options(
                ClientOptions::new()
                    .with_allow_http(plain)
                    .with_connect_timeout(Duration::from_secs(5))
                    .with_timeout(REQUEST_TIMEOUT),
            )
            .with_retry(RetryConfig {
                max_retries: 3,
                retry_timeout: Duration::from_secs(15),
                ..RetryConfig::default()
            })
            .build()
            .map_err(|e| io_error(format!("{location}: {e}")))?;
        let tmp = std::env::temp_dir();
        remove_stale_staging(&tmp);
        let staging = tempfile::Builder::new()
            .prefix(STAGING_PREFIX)
            .tempdir_in(&tmp)
            .map_err(StoreError::Io)?;
        let held = std::fs::File::create(staging.path().join(STAGING_LOCK))?;
        held.try_lock().map_err(std::io::Error::other)?;
        // The staging directory's random name tells replicas apart.
        let check_key = format!(
            ".check/{}",
            staging
                .path()
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("replica")
        );
        Ok(Self {
            bucket: Arc::new(bucket),
            prefix: location.prefix.clone(),
            staging,
            _held: held,
            check_key,
        })
    }

    fn path(&self, key: &str) -> ObjectPath {
        match self.prefix.as_str() {
            "" => ObjectPath::from(key),
            prefix => ObjectPath::from(format!("{prefix}/{key}")),
        }
    }

    /// Writes `data` under `path` unless something is there; true if this
    /// call stored it.
    async fn create(&self, path: &ObjectPath, data: PutPayload) -> Result<bool, StoreError> {
        let opts = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        match self.bucket.put_opts(path, data, opts).await {
            Ok(_) => Ok(true),
            // Stored objects never change: the first writer's stands.
            Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(e) => Err(bucket_error(e)),
        }
    }

    /// A large file: parts to a staging key, then a create-only copy; true
    /// if this call stored it.
    async fn create_large(
        &self,
        path: &ObjectPath,
        file: NamedTempFile,
    ) -> Result<bool, StoreError> {
        let staged = self.path(&format!(
            "{STAGING}/{}",
            file.path()
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("upload")
        ));
        let mut upload = self
            .bucket
            .put_multipart(&staged)
            .await
            .map_err(bucket_error)?;
        let mut file = file.into_file();
        file.rewind()?;
        let result = async {
            loop {
                let (part, f) = tokio::task::spawn_blocking(move || {
                    let mut part = vec![0; PART_SIZE];
                    let mut filled = 0;
                    while filled < part.len() {
                        match file.read(&mut part[filled..])? {
                            0 => break,
                            n => filled += n,
                        }
                    }
                    part.truncate(filled);
                    Ok::<_, std::io::Error>((part, file))
                })
                .await??;
                file = f;
                if part.is_empty() {
                    break;
                }
                upload
                    .put_part(PutPayload::from(part))
                    .await
                    .map_err(bucket_error)?;
            }
            upload.complete().await.map_err(bucket_error)
        }
        .await;
        if let Err(e) = result {
            let _ = upload.abort().await;
            return Err(e);
        }
        let copied = match self.bucket.copy_if_not_exists(&staged, path).await {
            Ok(()) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(e) => Err(bucket_error(e)),
        };
        if let Err(e) = self.bucket.delete(&staged).await {
            let e = modgate_redact::redact_text(&Chain(&e).to_string());
            tracing::warn!(key = %staged, error = %e, "staged upload not deleted");
        }
        copied
    }

    /// An empty object, which a ranged GET of the first bytes failed on;
    /// else that GET's error.
    async fn get_empty(
        &self,
        path: &ObjectPath,
        ranged: object_store::Error,
    ) -> Result<Option<Object>, StoreError> {
        match self.bucket.head(path).await {
            Ok(meta) if meta.size == 0 => Ok(Some(Object {
                size: 0,
                etag: http_etag(&meta),
                body: Body::Bytes(Bytes::new()),
            })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            _ => Err(bucket_error(ranged)),
        }
    }
}

/// A large object in the bucket, read when it is served: each reader
/// streams the bytes it asks for with ranged GETs of its own, so clones
/// share nothing but the first bytes.
#[derive(Debug, Clone)]
pub struct Remote {
    bucket: Arc<dyn ObjectStore>,
    path: ObjectPath,
    size: u64,
    /// The ETag the object was first read with. Every GET must match it
    /// (`If-Match`, and checked here): stored objects never change, so an
    /// object replaced in between fails the read rather than mixing bytes
    /// of two objects into one answer.
    e_tag: Option<String>,
    /// The first [`FIRST_BYTES`], read with the metadata.
    head: Bytes,
}

impl Remote {
    /// Bytes `start..start + len` (within the object), a chunk at a time
    /// as the reader asks for them: memory holds what is in flight, never
    /// the object. A failure ends the stream with an error, so a reader
    /// never takes a short stream for a whole one.
    pub fn chunks(&self, start: u64, len: u64) -> BoxStream<'static, std::io::Result<Bytes>> {
        let end = start.saturating_add(len).min(self.size);
        let in_head = (self.head.len() as u64).min(end);
        let first =
            (start < in_head).then(|| Ok(self.head.slice(start as usize..in_head as usize)));
        let rest = Reading {
            remote: self.clone(),
            pos: start.max(in_head),
            end,
            window: None,
            resumable: false,
        };
        futures::stream::iter(first)
            .chain(futures::stream::unfold(rest, Reading::next))
            .boxed()
    }

    /// A ranged GET of `range`, of this very object.
    async fn open(
        &self,
        range: Range<u64>,
    ) -> std::io::Result<BoxStream<'static, object_store::Result<Bytes>>> {
        let opts = GetOptions {
            range: Some(GetRange::Bounded(range)),
            if_match: self.e_tag.clone(),
            ..GetOptions::default()
        };
        let got = self
            .bucket
            .get_opts(&self.path, opts)
            .await
            .map_err(bucket_io)?;
        if got.meta.size != self.size || got.meta.e_tag != self.e_tag {
            return Err(std::io::Error::other(format!(
                "{}: the object changed while it was read",
                self.path
            )));
        }
        Ok(got.into_stream())
    }
}

/// Where a [`Remote::chunks`] stream is.
struct Reading {
    remote: Remote,
    pos: u64,
    end: u64,
    /// The GET under way, and where its window ends.
    window: Option<(BoxStream<'static, object_store::Result<Bytes>>, u64)>,
    /// Bytes came since the GET under way was opened: one that breaks is
    /// opened again from where it broke (object_store retries within a
    /// request's first seconds only, and a slow client's window lasts
    /// longer); one that breaks before any byte fails the stream.
    resumable: bool,
}

impl Reading {
    async fn next(mut self) -> Option<(std::io::Result<Bytes>, Self)> {
        loop {
            let (mut body, window_end) = match self.window.take() {
                Some(open) => open,
                None if self.pos >= self.end => return None,
                None => {
                    let window_end = self.end.min(self.pos + WINDOW);
                    match self.remote.open(self.pos..window_end).await {
                        Ok(body) => {
                            self.resumable = false;
                            (body, window_end)
                        }
                        Err(e) => return Some(self.fail(e)),
                    }
                }
            };
            let broke = match body.next().await {
                Some(Ok(chunk)) => {
                    self.pos += chunk.len() as u64;
                    if self.pos > window_end {
                        let e = std::io::Error::other("the bucket sent more than was asked for");
                        return Some(self.fail(e));
                    }
                    self.resumable = true;
                    self.window = Some((body, window_end));
                    return Some((Ok(chunk), self));
                }
                None if self.pos == window_end => continue,
                None => std::io::Error::other("the bucket's answer ended early"),
                Some(Err(e)) => bucket_io(e),
            };
            if !self.resumable {
                return Some(self.fail(broke));
            }
            tracing::info!(key = %self.remote.path, at = self.pos, error = %Chain(&broke), "resuming a read from the bucket");
        }
    }

    /// Ends the stream with `e`: the reader's answer breaks off.
    fn fail(mut self, e: std::io::Error) -> (std::io::Result<Bytes>, Self) {
        tracing::warn!(key = %self.remote.path, at = self.pos, error = %Chain(&e), "reading from the bucket failed");
        crate::metric::storage_failure("read");
        self.pos = self.end;
        self.window = None;
        (Err(e), self)
    }
}

/// The HTTP validator of a stored object: the bucket's ETag, quoted.
fn http_etag(meta: &ObjectMeta) -> String {
    format!(
        "\"{}\"",
        meta.e_tag.as_deref().unwrap_or_default().trim_matches('"')
    )
}

/// The request never got an answer (connect, timeout, reset): as opposed
/// to the store answering with an error.
fn transport_failure(e: &object_store::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<object_store::client::HttpError>() {
            return true;
        }
        source = err.source();
    }
    false
}

fn bucket_io(e: object_store::Error) -> std::io::Error {
    std::io::Error::other(modgate_redact::redact_text(&Chain(&e).to_string()))
}

fn io_error(message: String) -> StoreError {
    StoreError::Io(std::io::Error::other(message))
}

fn bucket_error(e: object_store::Error) -> StoreError {
    StoreError::Io(bucket_io(e))
}

/// `call`, or a timeout error once `limit` has passed.
async fn within<T>(
    limit: Duration,
    call: impl std::future::Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    tokio::time::timeout(limit, call).await.unwrap_or_else(|_| {
        Err(StoreError::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("the bucket did not answer within {} s", limit.as_secs()),
        )))
    })
}

impl S3Store {
    /// The object's first bytes, and the rest as a [`Remote`] body.
    async fn get_first(&self, key: &Key) -> Result<Option<Object>, StoreError> {
        let path = self.path(key.as_str());
        let first = GetOptions {
            range: Some(GetRange::Bounded(0..FIRST_BYTES)),
            ..GetOptions::default()
        };
        let got = match self.bucket.get_opts(&path, first).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            // An empty object has no byte to range over (416); a store
            // that answered, and not with an object, is asked once more.
            Err(e) if !transport_failure(&e) => return self.get_empty(&path, e).await,
            Err(e) => return Err(bucket_error(e)),
        };
        let meta = got.meta.clone();
        let head = got.bytes().await.map_err(bucket_error)?;
        if head.len() as u64 != meta.size.min(FIRST_BYTES) {
            return Err(io_error(format!(
                "{key}: read {} of the first bytes of {}",
                head.len(),
                meta.size
            )));
        }
        let etag = http_etag(&meta);
        let body = if head.len() as u64 == meta.size {
            Body::Bytes(head)
        } else {
            Body::Remote(Remote {
                bucket: Arc::clone(&self.bucket),
                path,
                size: meta.size,
                e_tag: meta.e_tag,
                head,
            })
        };
        Ok(Some(Object {
            size: meta.size,
            etag,
            body,
        }))
    }
}

#[async_trait]
impl Store for S3Store {
    async fn get(&self, key: &Key) -> Result<Option<Object>, StoreError> {
        within(READ_DEADLINE, self.get_first(key)).await
    }

    async fn put(&self, key: &Key, data: Bytes) -> Result<(), StoreError> {
        let path = self.path(key.as_str());
        within(WRITE_DEADLINE, self.create(&path, PutPayload::from(data)))
            .await
            .map(drop)
    }

    async fn create_file(&self, key: &Key, file: NamedTempFile) -> Result<bool, StoreError> {
        let path = self.path(key.as_str());
        let size = file.as_file().metadata()?.len();
        if size > PART_SIZE as u64 {
            return self.create_large(&path, file).await;
        }
        let data = tokio::task::spawn_blocking(move || fs_err::read(file.path())).await??;
        within(WRITE_DEADLINE, self.create(&path, PutPayload::from(data))).await
    }

    /// An object is durable once its PUT returns.
    async fn sync(&self, _key: &Key) -> Result<(), StoreError> {
        Ok(())
    }

    async fn list(&self, dir: &Key) -> Result<Vec<String>, StoreError> {
        let listed = within(READ_DEADLINE, async {
            let path = self.path(dir.as_str());
            self.bucket
                .list_with_delimiter(Some(&path))
                .await
                .map_err(bucket_error)
        })
        .await?;
        let objects = listed.objects.into_iter().map(|o| o.location);
        Ok(objects
            .chain(listed.common_prefixes)
            .filter_map(|p| p.filename().map(str::to_owned))
            .collect())
    }

    async fn list_files(&self, dir: &Key) -> Result<Vec<(String, Stat)>, StoreError> {
        let listed = self
            .bucket
            .list_with_delimiter(Some(&self.path(dir.as_str())))
            .await
            .map_err(bucket_error)?;
        Ok(listed
            .objects
            .into_iter()
            .filter_map(|o| {
                let stat = Stat {
                    size: o.size,
                    stored: o.last_modified.into(),
                };
                Some((o.location.filename()?.to_owned(), stat))
            })
            .collect())
    }

    async fn set_aside(&self, key: &Key) -> Result<(), StoreError> {
        let from = self.path(key.as_str());
        let to = self.path(&format!("{}/{key}", super::QUARANTINE));
        self.bucket.copy(&from, &to).await.map_err(bucket_error)?;
        self.bucket.delete(&from).await.map_err(bucket_error)
    }

    async fn stat(&self, key: &Key) -> Result<Option<Stat>, StoreError> {
        within(READ_DEADLINE, async {
            match self.bucket.head(&self.path(key.as_str())).await {
                Ok(meta) => Ok(Some(Stat {
                    size: meta.size,
                    stored: meta.last_modified.into(),
                })),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(bucket_error(e)),
            }
        })
        .await
    }

    async fn remove(&self, key: &Key) -> Result<(), StoreError> {
        match self.bucket.delete(&self.path(key.as_str())).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(bucket_error(e)),
        }
    }

    async fn check(&self) -> Result<(), StoreError> {
        // A write, as every fill needs, to this replica's own key (rewritten
        // each time; replicas sharing the bucket never write the same one).
        self.bucket
            .put(&self.path(&self.check_key), PutPayload::from_static(b"ok"))
            .await
            .map(drop)
            .map_err(bucket_error)
    }

    fn temp_file(&self) -> Result<NamedTempFile, StoreError> {
        Ok(tempfile::Builder::new()
            .prefix("stage-")
            .tempfile_in(self.staging.path())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_staging_directories_are_removed_and_live_ones_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let make = |name: &str, lock: bool| {
            let dir = tmp.path().join(name);
            std::fs::create_dir(&dir).unwrap();
            std::fs::write(dir.join("part"), b"x").unwrap();
            let held = lock.then(|| {
                let f = std::fs::File::create(dir.join(STAGING_LOCK)).unwrap();
                f.try_lock().unwrap();
                f
            });
            let old = std::time::SystemTime::now() - 2 * STAGING_GRACE;
            std::fs::File::open(&dir)
                .unwrap()
                .set_modified(old)
                .unwrap();
            (dir, held)
        };
        let (live, _held) = make("modgate-s3-live", true);
        let (dead, released) = make("modgate-s3-dead", true);
        drop(released);
        let (unlocked, _) = make("modgate-s3-never", false);
        let (other, _) = make("someone-else", false);
        let young = tmp.path().join("modgate-s3-young");
        std::fs::create_dir(&young).unwrap();

        remove_stale_staging(tmp.path());
        assert!(live.exists() && other.exists() && young.exists());
        assert!(!dead.exists() && !unlocked.exists());
    }

    #[test]
    fn locations() {
        let at = |s: &str| S3Location::parse(s).map(|r| r.map(|l| l.to_string()));
        assert_eq!(at("s3://mods"), Some(Ok("s3://mods".to_owned())));
        assert_eq!(
            at("s3://mods/cache/"),
            Some(Ok("s3://mods/cache".to_owned()))
        );
        assert!(matches!(at("s3:///cache"), Some(Err(_))));
        assert_eq!(at("/var/lib/modgate"), None);
    }

    /// Ranges across the first bytes and the windows come out exact.
    #[tokio::test]
    async fn remote_ranges_cross_the_first_bytes_and_the_windows() {
        let bucket: Arc<dyn ObjectStore> = Arc::new(object_store::memory::InMemory::new());
        let data: Vec<u8> = (0..WINDOW * 2 + 1000).map(|i| (i % 251) as u8).collect();
        let path = ObjectPath::from("m/@v/v1.0.0.zip");
        bucket
            .put(&path, PutPayload::from(data.clone()))
            .await
            .unwrap();
        let meta = bucket.head(&path).await.unwrap();
        let remote = Remote {
            bucket,
            path,
            size: meta.size,
            e_tag: meta.e_tag,
            head: Bytes::copy_from_slice(&data[..FIRST_BYTES as usize]),
        };
        let read = |start: u64, len: u64| {
            let remote = remote.clone();
            async move {
                let chunks: Vec<Bytes> = remote
                    .chunks(start, len)
                    .map(Result::unwrap)
                    .collect()
                    .await;
                chunks.concat()
            }
        };
        let (first, window) = (FIRST_BYTES, WINDOW);
        for (start, len) in [
            (0, meta.size),
            (0, 10),
            (first - 5, 10),
            (first, 1),
            (window - 3, 7),
            (first + window - 3, 7),
            (meta.size - 1, 1),
            (5, window * 2),
        ] {
            let want = &data[start as usize..(start + len) as usize];
            assert!(read(start, len).await == want, "{start}+{len}");
        }
    }
}
