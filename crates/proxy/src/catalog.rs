//! What the cache holds, for other mirrors, bundle tools and dashboards to
//! follow: `/catalog` (Athens's paginated JSON) and `/index`
//! (index.golang.org's JSON lines), both from one snapshot of the store.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use modgate_module::escape::unescape_path;

use crate::store::{Store, StoreError, StoredFile};

/// How long a snapshot answers before the store is walked again: a
/// follower paging through sees one consistent listing.
pub(crate) const FRESH: Duration = Duration::from_secs(10);
/// `pagesize` / `limit` when none is given, and the most either may ask.
pub const DEFAULT_PAGE: usize = 1000;
pub const MAX_PAGE: usize = 2000;

/// One module version with a go.mod or zip stored.
#[derive(Debug, Clone)]
pub struct Held {
    pub module: String,
    pub version: String,
    /// When its first artifact was stored.
    pub stored: SystemTime,
    /// Its stored objects (.info, .mod, .zip, the zip's hash) and their bytes.
    pub objects: usize,
    pub bytes: u64,
}

#[derive(Default)]
pub struct Catalog {
    snapshot: tokio::sync::Mutex<Option<(Instant, Arc<Vec<Held>>)>>,
}

impl Catalog {
    /// Every version held, by module then version; walked again once
    /// [`FRESH`] has passed (concurrent askers wait for one walk).
    pub async fn held(&self, store: &dyn Store) -> Result<Arc<Vec<Held>>, StoreError> {
        let mut snapshot = self.snapshot.lock().await;
        if let Some((at, held)) = snapshot.as_ref()
            && at.elapsed() < FRESH
        {
            return Ok(held.clone());
        }
        let held = Arc::new(walk(store).await?);
        *snapshot = Some((Instant::now(), held.clone()));
        Ok(held)
    }

    /// Drops the snapshot: the store changed by hand (an admin action).
    pub async fn forget(&self) {
        *self.snapshot.lock().await = None;
    }
}

impl Catalog {
    /// The last snapshot taken, however old, and when, without walking
    /// the store.
    pub fn last(&self) -> Option<(Instant, Arc<Vec<Held>>)> {
        self.snapshot.try_lock().ok().and_then(|s| s.clone())
    }
}

async fn walk(store: &dyn Store) -> Result<Vec<Held>, StoreError> {
    let mut held = Vec::new();
    for escaped in store.modules().await? {
        let Ok(module) = unescape_path(&escaped) else {
            continue;
        };
        for v in store.versions(&escaped).await? {
            // An .info alone (from @latest) is not the version's content.
            let stored = v
                .files
                .iter()
                .filter(|(kind, _, _)| matches!(kind, StoredFile::Mod | StoredFile::Zip))
                .map(|(_, _, stat)| stat.stored)
                .min();
            if let Some(stored) = stored {
                held.push(Held {
                    module: module.clone(),
                    version: v.version,
                    stored,
                    objects: v.files.len(),
                    bytes: v.files.iter().map(|(_, _, stat)| stat.size).sum(),
                });
            }
        }
    }
    held.sort_by(|a, b| (&a.module, &a.version).cmp(&(&b.module, &b.version)));
    Ok(held)
}

/// A page of `/catalog`: the entries after `token` (the last entry of the
/// previous page, `module@version`), and the token of the next page.
pub fn page<'a>(
    held: impl Iterator<Item = &'a Held>,
    token: Option<&str>,
    size: usize,
) -> (Vec<&'a Held>, Option<String>) {
    let after = token.and_then(|t| t.rsplit_once('@'));
    let mut entries: Vec<&Held> = held
        .filter(|h| after.is_none_or(|(m, v)| (h.module.as_str(), h.version.as_str()) > (m, v)))
        .take(size + 1)
        .collect();
    let next = (entries.len() > size).then(|| {
        entries.truncate(size);
        let last = entries[size - 1];
        format!("{}@{}", last.module, last.version)
    });
    (entries, next)
}

/// `/index`: the entries stored at or after `since`, oldest first, at most `limit`.
pub fn since<'a>(
    held: impl Iterator<Item = &'a Held>,
    since: Option<SystemTime>,
    limit: usize,
) -> Vec<&'a Held> {
    let mut entries: Vec<&Held> = held
        .filter(|h| since.is_none_or(|s| h.stored >= s))
        .collect();
    entries
        .sort_by(|a, b| (a.stored, &a.module, &a.version).cmp(&(b.stored, &b.module, &b.version)));
    entries.truncate(limit);
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(n: u64) -> Vec<Held> {
        (0..n)
            .map(|i| Held {
                module: format!("example.com/m{}", i / 2),
                version: format!("v1.0.{}", i % 2),
                stored: SystemTime::UNIX_EPOCH + Duration::from_secs(100 - i),
                objects: 3,
                bytes: 10,
            })
            .collect()
    }

    #[test]
    fn pages_follow_each_other_to_the_end() {
        let all = held(5);
        let (first, next) = page(all.iter(), None, 2);
        assert_eq!(first.len(), 2);
        assert_eq!(next.as_deref(), Some("example.com/m0@v1.0.1"));
        let (second, next) = page(all.iter(), next.as_deref(), 2);
        assert_eq!(second[0].module, "example.com/m1");
        let (last, next) = page(all.iter(), next.as_deref(), 2);
        assert_eq!((last.len(), next), (1, None));
    }

    #[test]
    fn the_index_is_oldest_first_from_since() {
        let all = held(5);
        let from = SystemTime::UNIX_EPOCH + Duration::from_secs(97);
        let got = since(all.iter(), Some(from), 10);
        let secs: Vec<u64> = got
            .iter()
            .map(|h| {
                h.stored
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap()
                    .as_secs()
            })
            .collect();
        assert_eq!(secs, vec![97, 98, 99, 100]);
        assert_eq!(since(all.iter(), None, 2).len(), 2);
    }
}
