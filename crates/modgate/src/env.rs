//! Every environment variable modgate reads, in one place.

/// Path of the TOML configuration file.
pub const CONFIG: &str = "MODGATE_CONFIG";
/// Address to listen on.
pub const LISTEN: &str = "MODGATE_LISTEN";
/// Directory of the embedded disk storage.
pub const STORAGE: &str = "MODGATE_STORAGE";
/// Upstream list in GOPROXY syntax.
pub const UPSTREAM: &str = "MODGATE_UPSTREAM";
/// Checksum database in GOSUMDB syntax.
pub const SUMDB: &str = "MODGATE_SUMDB";
/// `text` or `json`.
pub const LOG_FORMAT: &str = "MODGATE_LOG_FORMAT";
/// Log filter in `tracing_subscriber::EnvFilter` syntax (e.g. `info,modgate=debug`).
pub const LOG: &str = "MODGATE_LOG";
/// Size of the in-memory cache of hot artifacts, in MiB.
pub const MEMORY_CACHE_MB: &str = "MODGATE_MEMORY_CACHE_MB";
