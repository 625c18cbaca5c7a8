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

use std::io::{Read as _, Seek as _, Write as _};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt as _;
use object_store::aws::{AmazonS3Builder, S3CopyIfNotExists};
use object_store::path::Path as ObjectPath;
use object_store::{
    ClientOptions, ObjectStore, ObjectStoreExt as _, PutMode, PutOptions, PutPayload, RetryConfig,
};
use tempfile::NamedTempFile;

use super::{Body, Key, Object, Stat, Store, StoreError};

/// Objects up to this size are read into memory; larger ones are spooled
/// to a local file and served from there.
const READ_WHOLE_LIMIT: u64 = 64 * 1024;
/// Files up to this size are uploaded in one create-only PUT; larger ones
/// in parts of this size (S3's parts are at least 5 MiB), so memory holds
/// one part at a time.
const PART_SIZE: usize = 8 << 20;
/// Where multipart uploads are staged before their create-only copy.
const STAGING: &str = ".tmp";

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
    /// Local staging for downloads and spooled reads.
    staging: tempfile::TempDir,
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
                    .with_timeout(Duration::from_secs(300)),
            )
            .with_retry(RetryConfig {
                max_retries: 3,
                retry_timeout: Duration::from_secs(15),
                ..RetryConfig::default()
            })
            .build()
            .map_err(|e| io_error(format!("{location}: {e}")))?;
        let staging = tempfile::Builder::new()
            .prefix("modgate-s3-")
            .tempdir()
            .map_err(StoreError::Io)?;
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

    /// A large file: parts to a staging key, then a create-only copy.
    async fn create_large(&self, path: &ObjectPath, file: NamedTempFile) -> Result<(), StoreError> {
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
            Ok(()) | Err(object_store::Error::AlreadyExists { .. }) => Ok(()),
            Err(e) => Err(bucket_error(e)),
        };
        if let Err(e) = self.bucket.delete(&staged).await {
            tracing::warn!(key = %staged, error = %e, "staged upload not deleted");
        }
        copied
    }
}

fn io_error(message: String) -> StoreError {
    StoreError::Io(std::io::Error::other(message))
}

fn bucket_error(e: object_store::Error) -> StoreError {
    io_error(modgate_redact::redact_text(&e.to_string()))
}

#[async_trait]
impl Store for S3Store {
    async fn get(&self, key: &Key) -> Result<Option<Object>, StoreError> {
        let got = match self.bucket.get(&self.path(key.as_str())).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(bucket_error(e)),
        };
        let size = got.meta.size;
        let etag = format!(
            "\"{}\"",
            got.meta
                .e_tag
                .as_deref()
                .unwrap_or_default()
                .trim_matches('"')
        );
        if size <= READ_WHOLE_LIMIT {
            let body = got.bytes().await.map_err(bucket_error)?;
            return Ok(Some(Object {
                size: body.len() as u64,
                etag,
                body: Body::Bytes(body),
            }));
        }
        // Spooled to an unnamed local file: served with ranges, never held
        // in memory, gone when the last reader drops it.
        let mut spool = tempfile::tempfile_in(self.staging.path())?;
        let mut stream = got.into_stream();
        let mut written = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(bucket_error)?;
            written += chunk.len() as u64;
            spool = tokio::task::spawn_blocking(move || spool.write_all(&chunk).map(|()| spool))
                .await??;
        }
        if written != size {
            return Err(io_error(format!("{key}: read {written} of {size} bytes")));
        }
        Ok(Some(Object {
            size,
            etag,
            body: Body::File(Arc::new(spool)),
        }))
    }

    async fn put(&self, key: &Key, data: Bytes) -> Result<(), StoreError> {
        self.create(&self.path(key.as_str()), PutPayload::from(data))
            .await
            .map(drop)
    }

    async fn put_file(&self, key: &Key, file: NamedTempFile) -> Result<(), StoreError> {
        let path = self.path(key.as_str());
        let size = file.as_file().metadata()?.len();
        if size > PART_SIZE as u64 {
            return self.create_large(&path, file).await;
        }
        let data = tokio::task::spawn_blocking(move || fs_err::read(file.path())).await??;
        self.create(&path, PutPayload::from(data)).await.map(drop)
    }

    /// An object is durable once its PUT returns.
    async fn sync(&self, _key: &Key) -> Result<(), StoreError> {
        Ok(())
    }

    async fn list(&self, dir: &Key) -> Result<Vec<String>, StoreError> {
        let listed = self
            .bucket
            .list_with_delimiter(Some(&self.path(dir.as_str())))
            .await
            .map_err(bucket_error)?;
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
        match self.bucket.head(&self.path(key.as_str())).await {
            Ok(meta) => Ok(Some(Stat {
                size: meta.size,
                stored: meta.last_modified.into(),
            })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(bucket_error(e)),
        }
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
}
