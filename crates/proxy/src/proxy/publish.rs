//! Publishing a private module version without git: the zip `modgate
//! publish` uploads is checked with the module zip rules, stored like a
//! fetched version (and so logged in modgate's own checksum database), and
//! never replaced.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use modgate_module::{Info, modfile, pseudo, version};
use tempfile::NamedTempFile;

use super::{Proxy, ProxyError, read_error, vanished};
use crate::flights::{Lost, Then};
use crate::ingest;
use crate::protocol::{Kind, Request};
use crate::store::{Ext, Key};

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
    /// The zip breaks the module zip rules.
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
    #[error(transparent)]
    Proxy(#[from] ProxyError),
}

impl Proxy {
    /// Publishes `zip` (staged with the store's `temp_file`) as
    /// `module@version`. The version's files are written inside the zip's
    /// fill flight, so a concurrent fetch of the same version cannot mix
    /// its files with these.
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
        let (owned_module, owned_v) = (module.to_owned(), v.to_owned());
        // The reason a zip is refused is all the client needs.
        let (zip, h1, go_mod) = tokio::task::spawn_blocking(move || {
            let h1 = ingest::check_zip(&owned_module, &owned_v, zip.path())
                .map_err(|e| e.to_string())?;
            let go_mod = modgate_zip::zip_go_mod(zip.path(), &owned_module, &owned_v)
                .map_err(|e| e.to_string())?
                // Go synthesizes this go.mod for a module zip without one.
                .unwrap_or_else(|| modfile::legacy_go_mod(&owned_module).into_bytes());
            ingest::check_mod(&owned_module, &owned_v, &go_mod).map_err(|e| e.to_string())?;
            Ok((zip, h1, Bytes::from(go_mod)))
        })
        .await
        .map_err(|e| PublishError::Invalid(format!("checking the zip: {e}")))?
        .map_err(PublishError::Invalid)?;

        let zip_req = Request::new(module, Kind::Zip(v.to_owned()));
        let zip_key = zip_req.key().expect("canonical versions have keys");
        let mod_key = Request::new(module, Kind::Mod(v.to_owned()))
            .key()
            .expect("valid key");
        let info_key = Request::new(module, Kind::Info(v.to_owned()))
            .key()
            .expect("valid key");
        let hash_key = Key::version_file(module, v, Ext::ZipHash).expect("valid key");
        let stored_new = Arc::new(AtomicBool::new(false));
        let work = {
            let (this, h1, go_mod, stored_new) =
                (self.clone(), h1.clone(), go_mod.clone(), stored_new.clone());
            let (module, v, zip_key) = (module.to_owned(), v.to_owned(), zip_key.clone());
            let (mod_key, hash_key) = (mod_key.clone(), hash_key.clone());
            async move {
                let result = async {
                    let store = &this.inner.store;
                    let write = |k: &Key| ProxyError::storage(format!("writing {k}"));
                    if let Some(obj) = store.get(&zip_key).await.map_err(read_error(&zip_key))? {
                        return Ok(obj); // compared with the upload below
                    }
                    let info = Info {
                        version: v.clone(),
                        time: jiff::Timestamp::now(),
                    };
                    // As for a fetch: the zip before its hash (the commit
                    // mark), each put never replacing what is there.
                    store
                        .put(&info_key, info.to_json().into())
                        .await
                        .map_err(write(&info_key))?;
                    store.put(&mod_key, go_mod).await.map_err(write(&mod_key))?;
                    store
                        .put_file(&zip_key, zip)
                        .await
                        .map_err(write(&zip_key))?;
                    store
                        .put(&hash_key, Bytes::from(format!("{h1}\n")))
                        .await
                        .map_err(write(&hash_key))?;
                    stored_new.store(true, Ordering::Release);
                    store
                        .get(&zip_key)
                        .await
                        .map_err(read_error(&zip_key))?
                        .ok_or_else(|| vanished(&zip_key))
                }
                .await;
                let then = result.is_ok().then(|| {
                    let this = this.clone();
                    Box::pin(async move {
                        for key in [&info_key, &mod_key, &zip_key] {
                            if let Err(e) = this.inner.store.sync(key).await {
                                tracing::warn!(%key, error = %e, "syncing the store");
                                return;
                            }
                        }
                        this.after_store(&module, &v);
                    }) as Then
                });
                (result, then)
            }
        };
        self.inner
            .fills
            .run_then(zip_req.upstream_path(), "publish", work)
            .await
            .map_err(|Lost| super::interrupted(&zip_req))??;
        // Whoever stored the version, it must be these bytes.
        let store = &self.inner.store;
        let stored_h1 = store
            .read_small(&hash_key)
            .await
            .map_err(read_error(&hash_key))?;
        let stored_mod = store
            .read_small(&mod_key)
            .await
            .map_err(read_error(&mod_key))?;
        let stored_h1 = stored_h1.map(|b| String::from_utf8_lossy(&b).trim().to_owned());
        let mod_h1 = modgate_zip::dirhash::hash_go_mod(&go_mod);
        let stored_mod_h1 = stored_mod.map(|m| modgate_zip::dirhash::hash_go_mod(&m));
        if stored_h1.as_deref() != Some(h1.as_str())
            || stored_mod_h1.as_deref() != Some(mod_h1.as_str())
        {
            return Err(PublishError::Conflict {
                module: module.to_owned(),
                version: v.to_owned(),
                stored: stored_h1.unwrap_or_else(|| "no hash".to_owned()),
                uploaded: h1,
            });
        }
        // Lists and @latest answered before now did not have this version.
        for kind in [Kind::List, Kind::Latest] {
            self.inner
                .recent
                .remove(Request::new(module, kind).upstream_path());
        }
        if stored_new.load(Ordering::Acquire) {
            tracing::info!(module, version = v, %h1, "published");
            Ok(Published::New { h1 })
        } else {
            Ok(Published::Identical { h1 })
        }
    }
}
