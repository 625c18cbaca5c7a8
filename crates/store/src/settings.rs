//! What modgate is told about storage: where (a directory or a bucket),
//! the mode of the files it writes, the disk tier in front of a bucket and
//! the memory cache; their defaults and checks, and the stores they open.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use serde::Deserialize;

use crate::{DiskStore, DiskTier, MemoryCached, S3Location, S3Store, Store, StoreError};

/// In-memory cache of hot artifacts, in MiB.
pub const DEFAULT_MEMORY_CACHE: u64 = 256 << 20;
/// Bytes the disk tier in front of a bucket may hold.
pub const DEFAULT_CACHE_MAX_SIZE: u64 = 10 << 30;

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("no storage directory given and no user data directory found; pass --storage")]
    NoStorage,
    #[error("--storage {0}: a directory or s3://BUCKET[/PREFIX]")]
    StorageScheme(String),
    #[error("--storage {0}")]
    StorageUrl(String),
    /// A disk tier that may hold nothing would only churn.
    #[error("--cache-max-size must be more than 0")]
    ZeroTier,
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot open storage {at}")]
    Open {
        at: String,
        #[source]
        source: StoreError,
    },
    #[error("{flag} {}: no storage directory there (only serve creates one)", dir.display())]
    Missing { flag: &'static str, dir: PathBuf },
    #[error("cannot write to bucket {bucket:?} (--storage {at}){hint}")]
    Bucket {
        bucket: String,
        at: String,
        hint: &'static str,
        #[source]
        source: StoreError,
    },
    #[error("cannot open the disk tier {}", dir.display())]
    Tier {
        dir: PathBuf,
        #[source]
        source: StoreError,
    },
    #[error("cannot start the bucket check")]
    Runtime(#[source] std::io::Error),
}

/// Permission bits written in octal, as chmod takes them (`0644`, `640`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mode(pub u32);

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match u32::from_str_radix(s.trim(), 8) {
            Ok(m) if m <= 0o777 && m & 0o600 == 0o600 => Ok(Mode(m)),
            Ok(_) => Err(format!(
                "{s:?}: permission bits 0000-0777 that keep the owner's read and write (0600)"
            )),
            Err(_) => Err(format!("{s:?} is not an octal mode such as 0644")),
        }
    }
}

impl<'de> Deserialize<'de> for Mode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// Where artifacts are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// The embedded disk store.
    Disk(PathBuf),
    /// An S3-compatible bucket.
    S3(S3Location),
}

impl Storage {
    /// `--storage`, or the default directory (the user's data directory's
    /// `modgate`).
    pub fn resolve(value: Option<PathBuf>) -> Result<Self, SettingsError> {
        match value {
            Some(v) => Storage::parse(v),
            None => Ok(Storage::Disk(
                dirs::data_dir()
                    .map(|d| d.join("modgate"))
                    .ok_or(SettingsError::NoStorage)?,
            )),
        }
    }

    /// A path, or `s3://`; any other `SCHEME://` is refused rather than
    /// taken for a directory named `SCHEME:`.
    fn parse(value: PathBuf) -> Result<Self, SettingsError> {
        let Some(text) = value.to_str().filter(|t| t.contains("://")) else {
            return Ok(Storage::Disk(value));
        };
        match S3Location::parse(text) {
            Some(Ok(at)) => Ok(Storage::S3(at)),
            Some(Err(e)) => Err(SettingsError::StorageUrl(e)),
            None => Err(SettingsError::StorageScheme(modgate_redact::redact_url(
                text,
            ))),
        }
    }
}

impl fmt::Display for Storage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Storage::Disk(dir) => write!(f, "{}", dir.display()),
            Storage::S3(at) => write!(f, "{at}"),
        }
    }
}

impl Storage {
    /// The store there, its files written with `mode`.
    pub fn open(&self, mode: u32) -> Result<Arc<dyn Store>, OpenError> {
        let at = |source| OpenError::Open {
            at: self.to_string(),
            source,
        };
        Ok(match self {
            Storage::Disk(dir) => Arc::new(DiskStore::open(dir).map_err(at)?.with_mode(mode)),
            Storage::S3(s3) => Arc::new(S3Store::open(s3).map_err(at)?),
        })
    }

    /// The store for a command that works on what it holds (verify, gc,
    /// the source of a copy), `flag` naming it: opening a disk store
    /// creates its directory, so a mistyped path would look like an empty
    /// store; refused instead.
    pub fn open_existing(&self, flag: &'static str) -> Result<Arc<dyn Store>, OpenError> {
        if let Storage::Disk(dir) = self
            && !dir.is_dir()
        {
            return Err(OpenError::Missing {
                flag,
                dir: dir.clone(),
            });
        }
        self.open(crate::DEFAULT_FILE_MODE)
    }
}

/// The storage `modgate serve` answers from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreSettings {
    pub storage: Storage,
    /// Permission bits of stored files.
    pub mode: u32,
    /// `--cache-dir` and its bound in bytes.
    pub disk_tier: Option<(PathBuf, u64)>,
    /// 0: no memory cache.
    pub memory_cache_bytes: u64,
}

impl StoreSettings {
    /// The settings given, defaulted and checked.
    pub fn resolve(
        storage: Option<PathBuf>,
        mode: Option<Mode>,
        cache_dir: Option<PathBuf>,
        cache_max_size: Option<u64>,
        memory_cache: Option<u64>,
    ) -> Result<Self, SettingsError> {
        if cache_dir.is_some() && cache_max_size == Some(0) {
            return Err(SettingsError::ZeroTier);
        }
        Ok(StoreSettings {
            storage: Storage::resolve(storage)?,
            mode: mode.map_or(crate::DEFAULT_FILE_MODE, |m| m.0),
            disk_tier: cache_dir.map(|dir| (dir, cache_max_size.unwrap_or(DEFAULT_CACHE_MAX_SIZE))),
            memory_cache_bytes: memory_cache.unwrap_or(DEFAULT_MEMORY_CACHE),
        })
    }

    /// The storage (a bucket checked writable), under the disk tier and
    /// the memory cache when they are on.
    pub fn open(&self) -> Result<Opened, OpenError> {
        let storage = self.storage.open(self.mode)?;
        if let Storage::S3(at) = &self.storage {
            check_bucket(storage.as_ref(), at)?;
        }
        let mut opened = storage.clone();
        if let Some((dir, max)) = &self.disk_tier {
            opened =
                Arc::new(
                    DiskTier::open(dir, *max, opened).map_err(|source| OpenError::Tier {
                        dir: dir.clone(),
                        source,
                    })?,
                );
        }
        let serving = if self.memory_cache_bytes > 0 {
            Arc::new(MemoryCached::new(opened, self.memory_cache_bytes))
        } else {
            opened
        };
        Ok(Opened { serving, storage })
    }
}

/// What `modgate serve` opened.
pub struct Opened {
    /// The store answers come from: the storage under its tiers.
    pub serving: Arc<dyn Store>,
    /// The storage alone, for what must see other replicas' writes as they
    /// land: a tier answers from the copy it kept.
    pub storage: Arc<dyn Store>,
}

/// A bucket that cannot be written at start is refused: with no usable
/// credentials or no such bucket, modgate would start, answer ready, and
/// fail every fill with only its log saying why. Later outages only
/// degrade it (`/readyz`).
fn check_bucket(store: &dyn Store, at: &S3Location) -> Result<(), OpenError> {
    let checked = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(OpenError::Runtime)?
        .block_on(store.check());
    checked.map_err(|e| {
        let cause = modgate_redact::Chain(&e).to_string();
        let hint = if cause.contains("NoSuchBucket") {
            ": it does not exist"
        } else if [
            "credential",
            // The instance metadata service: what is asked when no keys are set.
            "/latest/api/token",
            "/latest/meta-data",
            "InvalidAccessKeyId",
            "SignatureDoesNotMatch",
            "AccessDenied",
            "403 Forbidden",
        ]
        .iter()
        .any(|c| cause.contains(c))
        {
            ": no usable credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or a role) or they are refused"
        } else {
            ""
        };
        OpenError::Bucket {
            bucket: at.bucket.clone(),
            at: at.to_string(),
            hint,
            source: e,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_modes_are_octal_and_keep_the_owners_access() {
        assert_eq!("0644".parse::<Mode>(), Ok(Mode(0o644)));
        assert_eq!("640".parse::<Mode>(), Ok(Mode(0o640)));
        assert!(
            "0400".parse::<Mode>().is_err(),
            "modgate must write its own files"
        );
        assert!("0888".parse::<Mode>().is_err());
        assert!("1777".parse::<Mode>().is_err());
        assert!("rw-r--r--".parse::<Mode>().is_err());
    }

    #[test]
    fn storage_is_a_directory_or_a_bucket_and_nothing_else() {
        let with = |storage: &str| Storage::resolve(Some(storage.into()));
        assert_eq!(
            with("/tmp/store").unwrap(),
            Storage::Disk("/tmp/store".into())
        );
        assert_eq!(
            with("s3://mods/cache").unwrap().to_string(),
            "s3://mods/cache"
        );
        let refused = with("ftp://user:secret@host/x").unwrap_err().to_string();
        assert!(
            refused.contains("s3://BUCKET") && !refused.contains("secret"),
            "{refused}"
        );
        assert!(with("s3:///x").is_err());
    }

    #[test]
    fn a_disk_tier_that_may_hold_nothing_is_refused() {
        let tier = |max| StoreSettings::resolve(None, None, Some("/tmp/tier".into()), max, None);
        assert!(matches!(tier(Some(0)), Err(SettingsError::ZeroTier)));
        assert_eq!(
            tier(None).unwrap().disk_tier.unwrap().1,
            DEFAULT_CACHE_MAX_SIZE
        );
    }
}
