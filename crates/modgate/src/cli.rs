//! Command-line interface.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::Settings;
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
    Serve(Box<ServeArgs>),
    /// Check, layer by layer, why the go command cannot download modules here.
    Doctor(crate::doctor::DoctorArgs),
    /// Read go command output and explain each failure: cause and fix.
    Explain(crate::explain::ExplainArgs),
    /// modgate's own checksum database.
    #[command(subcommand)]
    Sumdb(SumdbCommand),
}

#[derive(Debug, Subcommand)]
pub enum SumdbCommand {
    /// Write a new signer key for `serve --private-sumdb-key` and print its
    /// verifier key (for the go command's GOSUMDB).
    Keygen {
        /// The database's name, e.g. sum.corp.example.
        #[arg(long)]
        name: String,
        /// Where to write the signer key (created with mode 0600).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

/// Every setting is also an environment variable and a key of the `--config`
/// file; a flag beats the environment, which beats the file, which beats the
/// default.
#[derive(Debug, Args, Default)]
pub struct ServeArgs {
    /// TOML configuration file.
    #[arg(long, env = env::CONFIG, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub settings: Settings,
}
