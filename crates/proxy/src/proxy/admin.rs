//! The operator's actions on what the cache holds (`/admin/api/…`):
//! taking a version out (set aside or removed) and forgetting a module's
//! list. A version modgate's own checksum database records stays: its
//! hash is vouched for forever, and serving other bytes would fork the log.

use super::Proxy;
use crate::protocol::{Kind, Request};
use crate::store::{Ext, Key, StoreError};

/// How a version is taken out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TakeOut {
    /// Moved to `.quarantine/`, kept for inspection ([`Store::set_aside`](crate::store::Store::set_aside)).
    Quarantine,
    /// Deleted.
    Remove,
}

/// Why a version was not taken out.
#[derive(Debug, thiserror::Error)]
pub enum TakeOutError {
    #[error(
        "{module}@{version} is recorded in modgate's checksum database {database}: its hashes are vouched for forever, so it stays"
    )]
    Vouched {
        module: String,
        version: String,
        database: String,
    },
    #[error("taking {key} out of storage")]
    Storage {
        key: Key,
        #[source]
        source: StoreError,
    },
}

impl Proxy {
    /// Takes `module@version` (valid, canonical) out of what is served:
    /// each of its stored files set aside or deleted (the memory cache and
    /// the disk tier forget them too), and its module's list forgotten, so
    /// that the next request fetches it again. The zip's hash goes first:
    /// without it the version is no longer listed, so an interrupted take
    /// out never leaves it half-listed. Answers how many files it took.
    pub async fn take_out(
        &self,
        module: &str,
        version: &str,
        how: TakeOut,
    ) -> Result<usize, TakeOutError> {
        if let Some(log) = self.log()
            && log.recorded(module, version).is_some()
        {
            return Err(TakeOutError::Vouched {
                module: module.to_owned(),
                version: version.to_owned(),
                database: log.name().to_owned(),
            });
        }
        // A fill under way stores after its answer: taken out after it.
        self.durable(module, version).await;
        let keys = [
            Key::version_file(module, version, Ext::ZipHash),
            Key::version_file(module, version, Ext::Info),
            Request::new(module, Kind::Mod(version.to_owned())).key(),
            Request::new(module, Kind::Zip(version.to_owned())).key(),
        ];
        let store = self.store();
        let mut taken = 0;
        for key in keys.into_iter().flatten() {
            let storage = |source| TakeOutError::Storage {
                key: key.clone(),
                source,
            };
            if store.stat(&key).await.map_err(storage)?.is_none() {
                continue;
            }
            match how {
                TakeOut::Quarantine => store.set_aside(&key).await,
                TakeOut::Remove => store.remove(&key).await,
            }
            .map_err(storage)?;
            taken += 1;
        }
        self.forget_lists(module).await;
        Ok(taken)
    }

    /// Forgets `module`'s list and `@latest` answers (and a remembered
    /// not-found), so that the next request for them asks the upstreams.
    pub async fn forget_lists(&self, module: &str) {
        for kind in [Kind::List, Kind::Latest] {
            let req = Request::new(module, kind);
            self.inner.recent.remove(req.upstream_path());
            self.inner.negative.remove(req.upstream_path());
        }
        self.inner.catalog.forget().await;
    }
}
