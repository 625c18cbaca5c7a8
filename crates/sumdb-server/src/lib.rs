//! Checksum databases modgate answers for: [`private`] is modgate's own
//! log; the proxy's client of the configured GOSUMDB passes that
//! database's files on. Both answer `/sumdb/<name>/…` through
//! [`Database`], one parsed [`SumdbPath`] in, one [`SumdbError`] out.

mod metric;
pub mod private;

use std::sync::{Mutex, MutexGuard, PoisonError};

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

/// Locks `mutex` whatever a panicking holder left: nothing the log keeps
/// behind a mutex is left half-updated between statements.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
