//! modgate's GOPROXY server. A request's one path: [`workers`] accepts the
//! connection (over [`tls`] if configured), [`server`] parses it into a
//! [`protocol::Request`] (or a [`modgate_sumdb::SumdbPath`]) and asks the
//! [`Proxy`], which answers from the [`store`] (the cacher) or fills the
//! miss through the [`upstream`] chain (the fetchers: HTTP mirrors,
//! `file://` trees, modules built from git by `modgate-vcs`), coalesced by
//! [`flights`]; everything fetched is checked by [`ingest`] and, for public
//! modules, verified by [`sumdb::client`] before it is stored, and every
//! stored version goes into modgate's own log ([`sumdb::private`]) when one
//! is configured.

pub mod access;
pub mod bundle;
pub mod catalog;
pub mod copy;
pub mod dl;
pub mod flights;
mod gate;
pub mod gc;
pub mod ingest;
pub mod moved;
pub mod policy;
pub mod protocol;
mod proxy;
pub mod server;
pub mod status;
pub mod store;
pub mod sumdb;
pub mod telemetry;
pub mod tls;
pub mod upstream;
pub mod verify;
pub mod vulndb;
pub mod workers;

pub use proxy::{Answer, CachePolicy, Miss, Proxy, ProxyError, PublishError, Published};
pub use workers::{ClientAddr, ViaTls};

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `mutex` whatever a panicking holder left: nothing modgate keeps
/// behind a mutex is left half-updated between statements.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
