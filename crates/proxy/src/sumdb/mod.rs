//! Checksum databases at the proxy: [`client`] verifies public modules
//! against the configured GOSUMDB and passes its files on to go commands;
//! [`private`] is modgate's own log. Both answer `/sumdb/<name>/…` through
//! [`Database`], one parsed [`SumdbPath`] in, one [`SumdbError`] out.

pub mod client;
pub mod private;

use async_trait::async_trait;
use bytes::Bytes;
use modgate_sumdb::SumdbPath;

/// A file of a database, for a client.
#[derive(Debug, Clone)]
pub struct SumdbAnswer {
    pub body: Bytes,
    /// Full tiles and proxied lookups never change; `latest` does.
    pub immutable: bool,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum SumdbError {
    /// No such record or tile.
    #[error("{0}")]
    NotFound(String),
    /// A path no database serves.
    #[error("{0}")]
    BadRequest(String),
    /// The database could not be asked, or lied (already logged).
    #[error("{0}")]
    Unavailable(String),
    /// modgate's own log cannot answer (its storage failed).
    #[error("{0}")]
    Internal(String),
}

/// A checksum database modgate answers for.
#[async_trait]
pub trait Database: Send + Sync {
    /// The key's name, e.g. sum.golang.org: the database's place under `/sumdb/`.
    fn name(&self) -> &str;
    /// The answer to `path`; [`SumdbPath::Supported`] never comes here.
    async fn answer(&self, path: &SumdbPath) -> Result<SumdbAnswer, SumdbError>;
}

#[cfg(test)]
mod testdb;
