//! `modgate gc`: retention for a store that would otherwise only grow.
//! Removes the least recently served versions (by the day markers the
//! server writes, [`Key::access`]) past an age or a size bound, never a
//! version a kept go.sum pins nor one modgate's own checksum database
//! records (its log is append-only and vouches for exactly those bytes: a
//! version fetched again could differ, and nothing would notice).
//!
//! Safe while a server runs on the same store: stored objects never
//! change, so a reader that got one keeps it, and a reader after its
//! removal misses and fetches it again, checked as any miss. The zip's
//! hash, the commit mark that the store hook trusts, goes first and again
//! last, so a hash never outlives its zip.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use modgate_module::escape::{unescape_path, unescape_version};

use crate::store::{ACCESS, Key, Store, StoreError, StoredFile};

const DAY: u64 = 86_400;

/// Days since the Unix epoch, now.
pub fn today() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / DAY)
}

/// What to remove.
#[derive(Debug, Default)]
pub struct Options {
    /// Remove versions until the store's versions total at most this many bytes.
    pub max_size: Option<u64>,
    /// Remove versions not served for this long (whole days).
    pub unused_for: Option<Duration>,
    /// `module@version`s never removed (from `--keep` go.sum files).
    pub keep: HashSet<(String, String)>,
    /// Report what would go, and remove nothing.
    pub dry_run: bool,
}

/// One version removed (or, in a dry run, that would be).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Removed {
    pub module: String,
    pub version: String,
    pub bytes: u64,
    /// Days since it was last served.
    pub unused_days: u64,
}

#[derive(Debug, Default, serde::Serialize)]
pub struct Report {
    pub dry_run: bool,
    /// Versions stored before.
    pub versions: usize,
    /// Bytes they held.
    pub bytes: u64,
    pub removed: Vec<Removed>,
    /// Bytes removed.
    pub freed: u64,
    /// Versions kept because a `--keep` file pins them.
    pub pinned: usize,
    /// Versions kept because modgate's checksum database records them.
    pub logged: usize,
    /// Vulnerability database blobs no snapshot names, removed.
    pub vulndb_blobs_removed: usize,
}

impl Report {
    /// What `modgate gc` prints for `storage`: a line per version removed,
    /// then the totals.
    pub fn text(&self, storage: &dyn std::fmt::Display) -> String {
        use std::fmt::Write as _;
        let bytes = modgate_console::html::bytes;
        let verb = if self.dry_run {
            "would remove"
        } else {
            "removed"
        };
        let mut out = String::new();
        for r in &self.removed {
            let _ = writeln!(
                out,
                "{verb} {}@{} ({}, unused for {} days)",
                r.module,
                r.version,
                bytes(r.bytes),
                r.unused_days
            );
        }
        let _ = writeln!(
            out,
            "{storage}: {} versions ({}); {verb} {} ({} freed); kept {} pinned by --keep, {} in the checksum database",
            self.versions,
            bytes(self.bytes),
            self.removed.len(),
            bytes(self.freed),
            self.pinned,
            self.logged
        );
        if self.vulndb_blobs_removed > 0 {
            let _ = writeln!(
                out,
                "{verb} {} vulnerability database blobs no snapshot names",
                self.vulndb_blobs_removed
            );
        }
        out
    }
}

struct Version {
    module: String,
    version: String,
    /// The escaped keys of its files, the zip's hash first.
    files: Vec<Key>,
    bytes: u64,
    /// The day it was last served.
    used: u64,
}

pub async fn gc(store: &dyn Store, opts: &Options) -> Result<Report, StoreError> {
    let today = today();
    let (last_use, markers) = access_markers(store).await?;
    let logged = logged_versions(store).await?;
    let mut report = Report {
        dry_run: opts.dry_run,
        ..Report::default()
    };
    let mut candidates = Vec::new();
    let mut total = 0u64;
    for escaped in store.modules().await? {
        let Ok(module) = unescape_path(&escaped) else {
            continue;
        };
        for mut v in versions(store, &escaped, &module).await? {
            report.versions += 1;
            total += v.bytes;
            let id = (v.module.clone(), v.version.clone());
            match last_use.get(&id) {
                Some(&day) => v.used = day,
                // Never served since markers were written (stored before
                // this release, or by a bundle import): its clock starts now.
                None => {
                    v.used = today;
                    if !opts.dry_run
                        && let Some(key) = Key::access(today, &v.module, &v.version)
                    {
                        store.put(&key, Bytes::new()).await?;
                    }
                }
            }
            if opts.keep.contains(&id) {
                report.pinned += 1;
            } else if logged.contains(&id) {
                report.logged += 1;
            } else {
                candidates.push(v);
            }
        }
    }
    report.bytes = total;
    // Least recently served first; ties in a stable, readable order.
    candidates
        .sort_by(|a, b| (a.used, &a.module, &a.version).cmp(&(b.used, &b.module, &b.version)));
    let max_age = opts.unused_for.map(|d| d.as_secs() / DAY);
    let mut removed_ids = HashSet::new();
    for v in candidates {
        let unused_days = today.saturating_sub(v.used);
        let too_old = max_age.is_some_and(|days| unused_days >= days);
        let too_big = opts.max_size.is_some_and(|max| total > max);
        if !too_old && !too_big {
            continue;
        }
        if !opts.dry_run {
            remove_version(store, &v).await?;
        }
        total -= v.bytes;
        report.freed += v.bytes;
        removed_ids.insert((v.module.clone(), v.version.clone()));
        report.removed.push(Removed {
            module: v.module,
            version: v.version,
            bytes: v.bytes,
            unused_days,
        });
    }
    if !opts.dry_run {
        prune_markers(store, &markers, &last_use, &removed_ids).await?;
    }
    report.vulndb_blobs_removed = crate::vulndb::remove_orphan_blobs(store, opts.dry_run).await?;
    // A dry run changes nothing but its record (what it would free, for
    // the console), and a store it cannot write is no reason to fail.
    match record_run(store, &report).await {
        Err(e) if opts.dry_run => {
            tracing::warn!(error = %modgate_redact::Chain(&e), "gc --dry-run: its summary not recorded");
        }
        recorded => recorded?,
    }
    Ok(report)
}

/// Where each run's summary is kept, for the console: `.gc/<unix millis>`
/// (stored objects never change, so each run writes its own and removes
/// the older ones).
const RUNS: &str = ".gc";

/// What the console shows of the last gc run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LastRun {
    /// Milliseconds since the Unix epoch.
    pub at: u64,
    pub versions: usize,
    pub removed: usize,
    pub freed: u64,
    /// A `--dry-run`: what the run would have removed and freed.
    #[serde(default)]
    pub dry_run: bool,
}

/// A run's record name: `<unix millis>`, or `dry-<unix millis>`.
fn run_name(dry_run: bool, at: u64) -> String {
    if dry_run {
        format!("dry-{at}")
    } else {
        at.to_string()
    }
}

async fn record_run(store: &dyn Store, report: &Report) -> Result<(), StoreError> {
    let at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let run = LastRun {
        at,
        versions: report.versions,
        removed: report.removed.len(),
        freed: report.freed,
        dry_run: report.dry_run,
    };
    let dir = Key::parse(RUNS)?;
    let older = store.list(&dir).await?;
    let json = serde_json::to_vec(&run).map_err(std::io::Error::other)?;
    let name = run_name(run.dry_run, at);
    store.put(&dir.join(&name)?, Bytes::from(json)).await?;
    // The older records of the same kind.
    for old in older
        .into_iter()
        .filter(|n| *n != name && n.starts_with("dry-") == run.dry_run)
    {
        store.remove(&dir.join(&old)?).await?;
    }
    Ok(())
}

/// The newest gc run's summary, if one was recorded: of a run, or of a
/// dry run (what it would free).
pub async fn last_run(store: &dyn Store, dry_run: bool) -> Result<Option<LastRun>, StoreError> {
    let dir = Key::parse(RUNS)?;
    let newest = store
        .list(&dir)
        .await?
        .into_iter()
        .filter_map(|n| match n.strip_prefix("dry-") {
            Some(at) if dry_run => at.parse::<u64>().ok(),
            None if !dry_run => n.parse::<u64>().ok(),
            _ => None,
        })
        .max();
    let Some(at) = newest else {
        return Ok(None);
    };
    let data = store.read_small(&dir.join(&run_name(dry_run, at))?).await?;
    Ok(data.and_then(|d| serde_json::from_slice(&d).ok()))
}

/// A version's files go hash first (so the store hook never trusts a
/// hash whose zip is going) and the hash again last, in case a fill of
/// the same version wrote it back meanwhile.
async fn remove_version(store: &dyn Store, v: &Version) -> Result<(), StoreError> {
    for key in &v.files {
        store.remove(key).await?;
    }
    if let Some(hash) = v.files.first().filter(|k| k.as_str().ends_with(".ziphash")) {
        let zip = hash
            .as_str()
            .strip_suffix("hash")
            .expect("ends with .ziphash");
        if store.stat(&Key::parse(zip)?).await?.is_none() {
            store.remove(hash).await?;
        }
    }
    Ok(())
}

/// The stored versions of a module, with their files (the zip's hash
/// first) and sizes.
async fn versions(
    store: &dyn Store,
    escaped_module: &str,
    module: &str,
) -> Result<Vec<Version>, StoreError> {
    Ok(store
        .versions(escaped_module)
        .await?
        .into_iter()
        .map(|stored| {
            let mut files = stored.files;
            files.sort_by_key(|(kind, _, _)| *kind != StoredFile::ZipHash);
            Version {
                module: module.to_owned(),
                version: stored.version,
                bytes: files.iter().map(|(_, _, stat)| stat.size).sum(),
                files: files.into_iter().map(|(_, key, _)| key).collect(),
                used: 0,
            }
        })
        .collect())
}

type Markers = Vec<(u64, (String, String), Key)>;

/// The last day (since the epoch) each version was served, from the day
/// markers: for the console's "last served" of versions not served since
/// start.
pub async fn last_served(store: &dyn Store) -> Result<HashMap<(String, String), u64>, StoreError> {
    Ok(access_markers(store).await?.0)
}

/// The last day each version was served, and every marker.
async fn access_markers(
    store: &dyn Store,
) -> Result<(HashMap<(String, String), u64>, Markers), StoreError> {
    let mut last = HashMap::new();
    let mut markers = Vec::new();
    let access = Key::parse(ACCESS)?;
    for day_name in store.list(&access).await? {
        let Ok(day) = day_name.parse::<u64>() else {
            continue;
        };
        let dir = access.join(&day_name)?;
        for name in store.list(&dir).await? {
            let Some((m, v)) = name.rsplit_once('@') else {
                continue;
            };
            let (Ok(module), Ok(version)) =
                (unescape_path(&m.replace(':', "/")), unescape_version(v))
            else {
                continue;
            };
            let id = (module, version);
            let newest = last.entry(id.clone()).or_insert(day);
            *newest = (*newest).max(day);
            markers.push((day, id, dir.join(&name)?));
        }
    }
    Ok((last, markers))
}

/// Markers older than their version's newest, and those of removed versions.
async fn prune_markers(
    store: &dyn Store,
    markers: &Markers,
    last_use: &HashMap<(String, String), u64>,
    removed: &HashSet<(String, String)>,
) -> Result<(), StoreError> {
    for (day, id, key) in markers {
        if removed.contains(id) || last_use.get(id).is_some_and(|newest| newest > day) {
            store.remove(key).await?;
        }
    }
    Ok(())
}

/// Every `module@version` a checksum database log in the store records
/// (`sumdb/<name>/log/record/<id>`: modgate's own).
async fn logged_versions(store: &dyn Store) -> Result<HashSet<(String, String)>, StoreError> {
    let mut logged = HashSet::new();
    for name in store.list(&Key::parse("sumdb")?).await? {
        // Not a name modgate writes: no log of its own.
        let Ok(dir) = Key::sumdb(&name, "log/record") else {
            continue;
        };
        for id in store.list(&dir).await? {
            let key = dir.join(&id)?;
            let Some(text) = store.read_small(&key).await? else {
                continue;
            };
            if let Ok(record) = modgate_sumdb::parse_sum_record(&String::from_utf8_lossy(&text)) {
                logged.insert((record.module, record.version));
            }
        }
    }
    Ok(logged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_run_leaves_its_summary_and_only_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let store = modgate_store::DiskStore::open(dir.path()).unwrap();
        assert_eq!(last_run(&store, false).await.unwrap(), None);
        let dry_run = Options {
            dry_run: true,
            ..Options::default()
        };
        gc(&store, &dry_run).await.unwrap();
        assert_eq!(
            last_run(&store, false).await.unwrap(),
            None,
            "a dry run is no run"
        );
        let would = last_run(&store, true)
            .await
            .unwrap()
            .expect("what it would free");
        assert!(would.dry_run);
        let report = gc(&store, &Options::default()).await.unwrap();
        let first = last_run(&store, false).await.unwrap().expect("recorded");
        assert_eq!(
            (first.versions, first.removed, first.freed),
            (report.versions, 0, 0)
        );
        // The next run's replaces it.
        gc(&store, &Options::default()).await.unwrap();
        let second = last_run(&store, false).await.unwrap().expect("recorded");
        assert!(second.at >= first.at);
        // The newest of each kind.
        assert_eq!(
            store.list(&Key::parse(RUNS).unwrap()).await.unwrap().len(),
            2
        );
        assert_eq!(last_run(&store, true).await.unwrap(), Some(would));
    }
}
