//! Resolved configuration: flag > environment > file > default.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::cli::ServeArgs;
use crate::sumdb::SumdbSpec;
use crate::upstream::UpstreamSpec;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:3000";
pub const DEFAULT_UPSTREAM: &str = "https://proxy.golang.org,direct";
pub const DEFAULT_SUMDB: &str = "sum.golang.org";
pub const DEFAULT_MEMORY_CACHE_MB: u64 = 256;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Read(#[from] std::io::Error),
    #[error("{path}: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("invalid upstream list: {0}")]
    Upstream(#[from] crate::upstream::SpecError),
    #[error("invalid sumdb: {0}")]
    Sumdb(#[from] crate::sumdb::SpecError),
    #[error("no storage directory given and no user data directory found; pass --storage")]
    NoStorage,
}

/// The keys of the `--config` TOML file: the flags' names, with `_` or `-`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    storage: Option<PathBuf>,
    upstream: Option<String>,
    sumdb: Option<String>,
    #[serde(alias = "log-format")]
    log_format: Option<LogFormat>,
    #[serde(alias = "memory-cache-mb")]
    memory_cache_mb: Option<u64>,
}

impl FileConfig {
    fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = fs_err::read_to_string(path)?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source: Box::new(source),
        })
    }
}

#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: String,
    pub storage: PathBuf,
    pub upstream: UpstreamSpec,
    pub sumdb: SumdbSpec,
    pub log_format: LogFormat,
    pub memory_cache_bytes: u64,
}

impl ServeConfig {
    /// clap has already applied flag > environment; the file and defaults fill the rest.
    pub fn resolve(args: ServeArgs) -> Result<Self, ConfigError> {
        let file = match &args.config {
            Some(path) => FileConfig::load(path)?,
            None => FileConfig::default(),
        };
        let storage = match args.storage.or(file.storage) {
            Some(dir) => dir,
            None => dirs::data_dir()
                .map(|d| d.join("modgate"))
                .ok_or(ConfigError::NoStorage)?,
        };
        let upstream = args
            .upstream
            .or(file.upstream)
            .unwrap_or_else(|| DEFAULT_UPSTREAM.to_owned());
        let sumdb = args
            .sumdb
            .or(file.sumdb)
            .unwrap_or_else(|| DEFAULT_SUMDB.to_owned());
        Ok(Self {
            listen: args
                .listen
                .or(file.listen)
                .unwrap_or_else(|| DEFAULT_LISTEN.to_owned()),
            storage,
            upstream: upstream.parse()?,
            sumdb: sumdb.parse()?,
            log_format: args.log_format.or(file.log_format).unwrap_or_default(),
            memory_cache_bytes: args
                .memory_cache_mb
                .or(file.memory_cache_mb)
                .unwrap_or(DEFAULT_MEMORY_CACHE_MB)
                .saturating_mul(1 << 20),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_beats_file_beats_default() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("modgate.toml");
        fs_err::write(
            &path,
            "listen = '127.0.0.1:9999'\nupstream = 'off'\nlog-format = 'json'\nsumdb = 'off'\n",
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(path),
            upstream: Some("file:///tmp/mirror".into()),
            storage: Some("/tmp/store".into()),
            ..Default::default()
        };
        let config = ServeConfig::resolve(args).unwrap();
        assert_eq!(config.listen, "127.0.0.1:9999");
        assert_eq!(config.upstream.to_string(), "file:///tmp/mirror");
        assert_eq!(config.log_format, LogFormat::Json);
        assert!(config.sumdb.is_off());
        assert_eq!(config.memory_cache_bytes, DEFAULT_MEMORY_CACHE_MB << 20);
    }

    #[test]
    fn unknown_file_key_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("modgate.toml");
        fs_err::write(&path, "upstreams = 'off'\n").unwrap();
        let args = ServeArgs {
            config: Some(path.clone()),
            ..Default::default()
        };
        let err = ServeConfig::resolve(args).unwrap_err().to_string();
        assert!(err.contains("modgate.toml"), "{err}");
        assert!(err.contains("upstreams"), "{err}");
    }
}
