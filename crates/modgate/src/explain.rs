//! `modgate explain`: the cause and the fix of go command errors.

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {}

pub fn run(_args: ExplainArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("modgate explain is being written")
}
