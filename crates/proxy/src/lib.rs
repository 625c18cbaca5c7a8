//! modgate's GOPROXY server: serving and filling. A request's one path:
//! [`workers`] accepts the connection (over `modgate_net::tls` if
//! configured), [`server`] parses it into a
//! [`modgate_store::protocol::Request`] (or a [`modgate_sumdb::SumdbPath`])
//! and asks the [`Proxy`], which answers from the store ([`modgate_store`],
//! the cacher) or fills the miss through the [`upstream`] chain (the
//! fetchers: HTTP mirrors, `file://` trees, modules built from git by
//! `modgate-vcs`), coalesced by [`flights`]; everything fetched is checked
//! by [`modgate_zip::ingest`] and, for public modules, verified by
//! [`sumdb::client`] before it is stored, and every stored version goes
//! into modgate's own log ([`modgate_sumdb_server::private`]) when one is
//! configured. See docs/architecture.md for the crates around it.

pub mod admin;
pub mod catalog;
pub mod console;
pub mod dl;
pub mod flights;
mod gate;
pub mod gc;
pub mod moved;
pub mod policy;
mod proxy;
pub mod server;
pub mod settings;
pub mod sumdb;
pub mod telemetry;
pub mod upstream;
pub mod verify;
pub mod vulndb;
pub mod workers;

pub use proxy::{
    Answer, CachePolicy, Miss, Proxy, ProxyError, PublishError, Published, TakeOut, TakeOutError,
};
pub use workers::{ClientAddr, ViaTls};

// The lower crates' modules under the names the server and fill path use.
use modgate_auth::access;
use modgate_store::{self as store, protocol};
use modgate_zip::ingest;

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `mutex` whatever a panicking holder left: nothing modgate keeps
/// behind a mutex is left half-updated between statements.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
