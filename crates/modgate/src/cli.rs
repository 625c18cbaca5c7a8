//! Command-line interface.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::LogFormat;
use crate::env;

#[derive(Debug, Parser)]
#[command(
    name = "modgate",
    version,
    about = "A Go module proxy that keeps builds working"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the GOPROXY protocol from the cache, fetching misses from upstream.
    Serve(ServeArgs),
}

/// Every option is also an environment variable and a key of the `--config` file;
/// a flag beats the environment, which beats the file, which beats the default.
#[derive(Debug, Args, Default)]
pub struct ServeArgs {
    /// TOML configuration file.
    #[arg(long, env = env::CONFIG, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:3000].
    #[arg(long, env = env::LISTEN, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Storage directory [default: the user's data directory, e.g. ~/.local/share/modgate].
    #[arg(long, env = env::STORAGE, value_name = "DIR")]
    pub storage: Option<PathBuf>,
    /// Upstreams in GOPROXY syntax [default: https://proxy.golang.org,direct].
    #[arg(long, env = env::UPSTREAM, value_name = "LIST")]
    pub upstream: Option<String>,
    /// Checksum database in GOSUMDB syntax, or `off` [default: sum.golang.org].
    #[arg(long, env = env::SUMDB, value_name = "GOSUMDB")]
    pub sumdb: Option<String>,
    /// Log format [default: text].
    #[arg(long, env = env::LOG_FORMAT, value_enum)]
    pub log_format: Option<LogFormat>,
    /// In-memory cache of hot artifacts, in MiB; 0 disables it [default: 256].
    #[arg(long, env = env::MEMORY_CACHE_MB, value_name = "MIB")]
    pub memory_cache_mb: Option<u64>,
}
