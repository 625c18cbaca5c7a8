//! Publishing a private module version without git: the zip `modgate
//! publish` uploads is checked with the module zip rules, stored like a
//! fetched version (and so logged in modgate's own checksum database), and
//! never replaced.
//!
//! One commit order, shared by every replica on the store: the zip first,
//! create-only (whoever creates it owns the version; any other upload of
//! it writes nothing more), then `.mod`, `.info` and the zip's hash (the
//! commit mark, as for fetched zips), each create-only and durable, then
//! the log record. A version without its mark is never listed, and
//! [`Proxy::repair_private`] finishes it at start-up, from the stored zip.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use modgate_module::{Info, escape, modfile, pseudo, version};
use modgate_redact::Chain;
use modgate_zip::dirhash::hash_go_mod;
use tempfile::NamedTempFile;

use super::{Proxy, ProxyError, chain_error, check_info, read_error, rehash, vanished};
use crate::ingest;
use crate::protocol::{Kind, Request};
use crate::store::{Ext, Key, StoredFile};
use crate::upstream::Want;

/// What a publish did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published {
    /// The version is new: stored, with this `h1:` hash.
    New { h1: String },
    /// The same bytes were published before: nothing changed.
    Identical { h1: String },
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// Only modules under `--private` can be published: anything else
    /// would shadow a public module that the checksum database vouches for.
    #[error(
        "{module} is not a private module of this server (see --private); only private modules can be published"
    )]
    NotPrivate { module: String },
    #[error("{0}")]
    BadVersion(String),
    /// The zip breaks the module zip rules, or its go.mod names another module.
    #[error("invalid module zip: {0}")]
    Invalid(String),
    /// Versions are immutable.
    #[error(
        "{module}@{version} is already published with other content ({stored}; this upload is {uploaded}): versions never change"
    )]
    Conflict {
        module: String,
        version: String,
        stored: String,
        uploaded: String,
    },
    /// The module's repository (or an upstream) has the version: a
    /// published one would shadow it.
    #[error(
        "{module}@{version} exists in the module's repository or an upstream: publishing it would shadow that code"
    )]
    Upstream { module: String, version: String },
    /// modgate holds a file of the version but not its zip: it came from
    /// somewhere else, and an upload never completes it.
    #[error(
        "modgate already holds a .{file} of {module}@{version}, from elsewhere: publish another version"
    )]
    Held {
        module: String,
        version: String,
        file: &'static str,
    },
    #[error(transparent)]
    Proxy(#[from] ProxyError),
}

/// The storage keys of a version's files.
struct Files {
    zip: Key,
    go_mod: Key,
    info: Key,
    hash: Key,
}

impl Files {
    fn of(module: &str, v: &str) -> Option<Self> {
        let key = |kind| Request::new(module, kind).key();
        Some(Self {
            zip: key(Kind::Zip(v.to_owned()))?,
            go_mod: key(Kind::Mod(v.to_owned()))?,
            info: Key::version_file(module, v, Ext::Info)?,
            hash: Key::version_file(module, v, Ext::ZipHash)?,
        })
    }
}

/// Checks a module zip at `path` as `module@version`: its `h1:` hash and
/// go.mod (the one Go synthesizes when it has none). `own`: the go.mod
/// must declare `module` itself, as an upload's must.
fn check_zip_file(
    module: &str,
    v: &str,
    path: &Path,
    own: bool,
) -> Result<(String, Bytes), String> {
    let h1 = ingest::check_zip(module, v, path).map_err(|e| Chain(&e).to_string())?;
    let go_mod = modgate_zip::zip_go_mod(path, module, v)
        .map_err(|e| Chain(&e).to_string())?
        .unwrap_or_else(|| modfile::legacy_go_mod(module).into_bytes());
    let check = if own {
        ingest::check_own_mod
    } else {
        ingest::check_mod
    };
    check(module, v, &go_mod).map_err(|e| Chain(&e).to_string())?;
    Ok((h1, Bytes::from(go_mod)))
}

/// The stored zip's hash is not the upload's.
fn conflict(module: &str, v: &str, stored: &str, h1: &str) -> PublishError {
    PublishError::Conflict {
        module: module.to_owned(),
        version: v.to_owned(),
        stored: stored.to_owned(),
        uploaded: h1.to_owned(),
    }
}

impl Proxy {
    /// Publishes `zip` (staged with the store's `temp_file`) as
    /// `module@version`: refused when anything of the version exists, in
    /// the store or upstream, unless it is these very bytes; answered once
    /// the version and its log record are durable.
    pub async fn publish(
        &self,
        module: &str,
        v: &str,
        zip: NamedTempFile,
    ) -> Result<Published, PublishError> {
        if let Some(refused) = self.unresolvable(module) {
            return Err(PublishError::Proxy(refused));
        }
        if !self.inner.upstreams.is_private(module) {
            return Err(PublishError::NotPrivate {
                module: module.to_owned(),
            });
        }
        if !version::is_canonical(v) || pseudo::is_pseudo_version(v) {
            return Err(PublishError::BadVersion(format!(
                "{v:?} is not a canonical release version such as v1.2.3 (pseudo-versions are not published)"
            )));
        }
        version::check(module, v).map_err(|e| PublishError::BadVersion(e.to_string()))?;
        let files = Files::of(module, v).expect("checked versions have keys");
        let (owned_module, owned_v) = (module.to_owned(), v.to_owned());
        // The reason a zip is refused is all the client needs.
        let (zip, h1, go_mod) = tokio::task::spawn_blocking(move || {
            check_zip_file(&owned_module, &owned_v, zip.path(), true)
                .map(|(h1, go_mod)| (zip, h1, go_mod))
        })
        .await
        .map_err(|e| PublishError::Invalid(format!("checking the zip: {e}")))?
        .map_err(PublishError::Invalid)?;

        let store = &self.inner.store;
        if let Some(obj) = store
            .get(&files.zip)
            .await
            .map_err(read_error(&files.zip))?
        {
            let stored = match store
                .read_small(&files.hash)
                .await
                .map_err(read_error(&files.hash))?
            {
                Some(mark) => String::from_utf8_lossy(&mark).trim().to_owned(),
                None => rehash(store.as_ref(), module, v, obj).await?,
            };
            if stored != h1 {
                return Err(conflict(module, v, &stored, &h1));
            }
            // Finishes what an interrupted store of these bytes left.
            self.fill_known(module, v).await?;
            self.complete(module, v, &files, &h1, go_mod, None).await?;
            return Ok(Published::Identical { h1 });
        }
        for (key, file) in [
            (&files.go_mod, "mod"),
            (&files.info, "info"),
            (&files.hash, "ziphash"),
        ] {
            if store.stat(key).await.map_err(read_error(key))?.is_some() {
                return Err(PublishError::Held {
                    module: module.to_owned(),
                    version: v.to_owned(),
                    file,
                });
            }
        }
        // A version collected from the store stays in the log, which
        // vouches for its first bytes only.
        if let Some(r) = self.inner.log.as_ref().and_then(|l| l.recorded(module, v))
            && (r.zip_hash != h1 || r.mod_hash != hash_go_mod(&go_mod))
        {
            return Err(conflict(module, v, &r.zip_hash, &h1));
        }
        // Asked as a fill would ask: a version that resolves there must
        // not be shadowed, and one that cannot be told is not published.
        let info_req = Request::new(module, Kind::Info(v.to_owned()));
        let want = Want::Bytes {
            max: ingest::MAX_INFO,
        };
        match self
            .fetch(&info_req, want, |f| async move {
                check_info(module, Some(v), f)
            })
            .await
        {
            Ok(_) => {
                return Err(PublishError::Upstream {
                    module: module.to_owned(),
                    version: v.to_owned(),
                });
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(chain_error(&info_req, e).into()),
        }

        // A task of its own: a client hanging up must not stop the writes
        // midway (a kill may; start-up repair finishes what it leaves).
        let zip_req = Request::new(module, Kind::Zip(v.to_owned()));
        let (this, module, v) = (self.clone(), module.to_owned(), v.to_owned());
        tokio::spawn(async move {
            let store = &this.inner.store;
            // The commit point: whoever creates the zip owns the version.
            let won = store
                .create_file(&files.zip, zip)
                .await
                .map_err(ProxyError::storage(format!("writing {}", files.zip)))?;
            if !won {
                let obj = store
                    .get(&files.zip)
                    .await
                    .map_err(read_error(&files.zip))?
                    .ok_or_else(|| vanished(&files.zip))?;
                let stored = rehash(store.as_ref(), &module, &v, obj).await?;
                if stored != h1 {
                    return Err(conflict(&module, &v, &stored, &h1));
                }
            }
            this.complete(&module, &v, &files, &h1, go_mod, None)
                .await?;
            if won {
                tracing::info!(module, version = v, %h1, "published");
                Ok(Published::New { h1 })
            } else {
                Ok(Published::Identical { h1 })
            }
        })
        .await
        .map_err(|_| super::interrupted(&zip_req))?
    }

    /// Completes `module@v` around its stored zip, whose hash is `h1` and
    /// go.mod `go_mod`: the `.mod`, the `.info` (published at `time`, or
    /// now), then the commit mark, each create-only and durable, then the
    /// log record. What an earlier, interrupted attempt stored stays when
    /// it agrees; a disagreement stops before the mark.
    async fn complete(
        &self,
        module: &str,
        v: &str,
        files: &Files,
        h1: &str,
        go_mod: Bytes,
        time: Option<jiff::Timestamp>,
    ) -> Result<(), PublishError> {
        let store = &self.inner.store;
        let write = |key: &Key| ProxyError::storage(format!("writing {key}"));
        let sync = |key: &Key| ProxyError::storage(format!("syncing {key}"));
        let mod_h1 = hash_go_mod(&go_mod);
        store
            .put(&files.go_mod, go_mod)
            .await
            .map_err(write(&files.go_mod))?;
        let stored_mod = store
            .read_small(&files.go_mod)
            .await
            .map_err(read_error(&files.go_mod))?
            .ok_or_else(|| vanished(&files.go_mod))?;
        let stored_mod_h1 = hash_go_mod(&stored_mod);
        if stored_mod_h1 != mod_h1 {
            return Err(PublishError::Conflict {
                module: module.to_owned(),
                version: v.to_owned(),
                stored: format!("go.mod {stored_mod_h1}"),
                uploaded: format!("go.mod {mod_h1}"),
            });
        }
        // A stored .info stands: it says when the version first appeared.
        let info = Info {
            version: v.to_owned(),
            time: time.unwrap_or_else(jiff::Timestamp::now),
            origin: None,
        };
        store
            .put(&files.info, info.to_json().into())
            .await
            .map_err(write(&files.info))?;
        for key in [&files.zip, &files.go_mod, &files.info] {
            store.sync(key).await.map_err(sync(key))?;
        }
        store
            .put(&files.hash, Bytes::from(format!("{h1}\n")))
            .await
            .map_err(write(&files.hash))?;
        let mark = store
            .read_small(&files.hash)
            .await
            .map_err(read_error(&files.hash))?
            .ok_or_else(|| vanished(&files.hash))?;
        let mark = String::from_utf8_lossy(&mark);
        if mark.trim() != h1 {
            return Err(conflict(module, v, mark.trim(), h1));
        }
        store.sync(&files.hash).await.map_err(sync(&files.hash))?;
        if let Some(log) = &self.inner.log {
            log.add(module, v, h1, &mod_h1)
                .await
                .map_err(|e| ProxyError::Log(Arc::new(e)))?;
        }
        // Lists and @latest answered before now did not have this version.
        for kind in [Kind::List, Kind::Latest] {
            self.inner
                .recent
                .remove(Request::new(module, kind).upstream_path());
        }
        Ok(())
    }

    /// Finishes what a kill left in private modules: a zip without its
    /// commit mark (a publish or a fetch interrupted) is completed from
    /// the zip itself, and a committed version missing from the log is
    /// logged. Run at start-up; safe beside writers on other replicas, as
    /// every write is create-only and agrees with the stored zip.
    pub async fn repair_private(&self) -> Result<(), ProxyError> {
        let store = &self.inner.store;
        let listing = ProxyError::storage("listing the store");
        let modules = store.modules().await.map_err(listing)?;
        for escaped in modules {
            let Ok(module) = escape::unescape_path(&escaped) else {
                continue;
            };
            if !self.inner.upstreams.is_private(&module) {
                continue;
            }
            let versions = store
                .versions(&escaped)
                .await
                .map_err(ProxyError::storage(format!("listing {escaped}")))?;
            for stored in versions {
                let has = |f| stored.files.iter().any(|(kind, _, _)| *kind == f);
                let v = stored.version.as_str();
                let logged = self
                    .inner
                    .log
                    .as_ref()
                    .is_none_or(|l| l.contains(&module, v));
                // Publishing writes the .mod before the mark: a committed
                // zip without one is a fetch's, logged once its .mod comes.
                let unmarked = !has(StoredFile::ZipHash);
                let unlogged = has(StoredFile::Mod) && !logged;
                // A lookup in the log marks a zip with its .mod (see
                // `log_stored`), which may come before a publish's .info.
                let no_info = has(StoredFile::Mod) && !has(StoredFile::Info);
                if !has(StoredFile::Zip) || !(unmarked || unlogged || no_info) {
                    continue;
                }
                match self.repair_version(&module, v).await {
                    Ok(()) => tracing::info!(module, version = v, "completed an interrupted store"),
                    Err(e) => {
                        tracing::error!(module, version = v, error = %Chain(&e), "cannot complete an interrupted store")
                    }
                }
            }
        }
        Ok(())
    }

    async fn repair_version(&self, module: &str, v: &str) -> Result<(), PublishError> {
        if !version::is_canonical(v) || version::check(module, v).is_err() {
            return Ok(());
        }
        let files = Files::of(module, v).expect("checked versions have keys");
        let store = &self.inner.store;
        let Some(zip) = store
            .get(&files.zip)
            .await
            .map_err(read_error(&files.zip))?
        else {
            return Ok(());
        };
        let stored_at = store
            .stat(&files.zip)
            .await
            .map_err(read_error(&files.zip))?
            .and_then(|s| jiff::Timestamp::try_from(s.stored).ok());
        let staging = ProxyError::storage(format!("reading {}", files.zip));
        let staged = store.temp_file().map_err(ProxyError::storage("staging"))?;
        let staged = zip.write_into(staged).await.map_err(staging)?;
        let (owned_module, owned_v) = (module.to_owned(), v.to_owned());
        let (h1, go_mod) = tokio::task::spawn_blocking(move || {
            check_zip_file(&owned_module, &owned_v, staged.path(), false)
        })
        .await
        .map_err(|e| PublishError::Invalid(format!("checking {}: {e}", files.zip)))?
        .map_err(PublishError::Invalid)?;
        self.fill_known(module, v).await?;
        self.complete(module, v, &files, &h1, go_mod, stored_at)
            .await
    }

    /// A version its repository (or an upstream) has gets its .info and
    /// .mod from there, as any fill; a published one's come from its zip.
    async fn fill_known(&self, module: &str, v: &str) -> Result<(), ProxyError> {
        for kind in [Kind::Info(v.to_owned()), Kind::Mod(v.to_owned())] {
            match self.stored_or_filled(&Request::new(module, kind)).await {
                Ok(_) | Err(ProxyError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}
