//! `modgate verify`: every stored zip and go.mod checked again, against
//! the hash stored beside the zip and the checksum database's proven
//! records kept in the store; what fails can be set aside, to be fetched
//! again.

use std::sync::Arc;

use bytes::Bytes;
use modgate_module::escape::{unescape_path, unescape_version};
use modgate_redact::Chain;

use crate::ingest;
use crate::proxy::rehash;
use crate::store::{Ext, Key, QUARANTINE, Store, StoreError};

/// One stored file that failed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Failure {
    pub module: String,
    pub version: String,
    /// `zip` or `mod`.
    pub file: &'static str,
    pub problem: String,
    /// Whether it was set aside.
    pub quarantined: bool,
}

#[derive(Debug, Default, serde::Serialize)]
pub struct Report {
    pub zips: usize,
    pub mods: usize,
    pub failures: Vec<Failure>,
}

impl Report {
    /// What `modgate verify` prints for `storage`: a line per failure,
    /// then the totals.
    pub fn text(&self, storage: &dyn std::fmt::Display) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        for f in &self.failures {
            let moved = if f.quarantined { " (set aside)" } else { "" };
            let _ = writeln!(
                out,
                "FAIL  {}@{} {}: {}{moved}",
                f.module, f.version, f.file, f.problem
            );
        }
        let _ = writeln!(
            out,
            "{} zips and {} go.mod files checked in {storage}: {} failed",
            self.zips,
            self.mods,
            self.failures.len()
        );
        out
    }
}

/// Checks every version under the store's root. `sumdb` names the checksum
/// database whose kept lookups the hashes are compared with.
pub async fn verify(
    store: &Arc<dyn Store>,
    sumdb: Option<&str>,
    quarantine: bool,
) -> Result<Report, StoreError> {
    let mut report = Report::default();
    for module in store.modules().await? {
        versions(store, &module, sumdb, quarantine, &mut report).await?;
    }
    report
        .failures
        .sort_by(|a, b| (&a.module, &a.version, a.file).cmp(&(&b.module, &b.version, b.file)));
    Ok(report)
}

async fn versions(
    store: &Arc<dyn Store>,
    escaped_module: &str,
    sumdb: Option<&str>,
    quarantine: bool,
    report: &mut Report,
) -> Result<(), StoreError> {
    let Ok(module) = unescape_path(escaped_module) else {
        return Ok(());
    };
    let dir = Key::parse(escaped_module)?.join("@v")?;
    for name in store.list(&dir).await? {
        let (stem, file) = match name.rsplit_once('.') {
            Some((stem, "zip")) => (stem, "zip"),
            Some((stem, "mod")) => (stem, "mod"),
            _ => continue,
        };
        let Ok(version) = unescape_version(stem) else {
            continue;
        };
        let key = dir.join(&name)?;
        let Some(obj) = store.get(&key).await? else {
            continue;
        };
        let record = match sumdb {
            Some(db) => {
                lookup_line(store, db, escaped_module, stem, &module, &version, file).await?
            }
            None => None,
        };
        let problem = if file == "zip" {
            report.zips += 1;
            match rehash(store.as_ref(), &module, &version, obj).await {
                Err(e) => Some(format!("fails the zip rules: {}", Chain(&e))),
                Ok(h1) => {
                    let hash_key =
                        Key::version_file(&module, &version, Ext::ZipHash).expect("valid key");
                    let stored = store.read_small(&hash_key).await?;
                    let stored = stored.map(|b| String::from_utf8_lossy(&b).trim().to_owned());
                    if stored.as_deref().is_some_and(|s| s != h1) {
                        Some(format!(
                            "hashes to {h1}, the stored hash says {}",
                            stored.unwrap_or_default()
                        ))
                    } else {
                        mismatch(&h1, record.as_deref())
                    }
                }
            }
        } else {
            report.mods += 1;
            let data: Bytes = obj.read_small().await?;
            match ingest::check_mod(&module, &version, &data) {
                Err(e) => Some(format!("invalid go.mod: {}", Chain(&e))),
                Ok(()) => mismatch(&modgate_zip::dirhash::hash_go_mod(&data), record.as_deref()),
            }
        };
        if let Some(problem) = problem {
            if quarantine {
                store.set_aside(&key).await?;
                if file == "zip"
                    && let Some(hash_key) = Key::version_file(&module, &version, Ext::ZipHash)
                    && store.get(&hash_key).await?.is_some()
                {
                    store.set_aside(&hash_key).await?;
                }
                tracing::warn!(module, version, file, problem, "set aside in {QUARANTINE}");
            }
            report.failures.push(Failure {
                module: module.clone(),
                version,
                file,
                problem,
                quarantined: quarantine,
            });
        }
    }
    Ok(())
}

fn mismatch(got: &str, record: Option<&str>) -> Option<String> {
    match record {
        Some(want) if want != got => Some(format!(
            "hashes to {got}, the checksum database says {want}"
        )),
        _ => None,
    }
}

/// The hash the kept, proven lookup of `module@version` records for the
/// zip or the go.mod.
async fn lookup_line(
    store: &Arc<dyn Store>,
    db: &str,
    escaped_module: &str,
    escaped_version: &str,
    module: &str,
    version: &str,
    file: &str,
) -> Result<Option<String>, StoreError> {
    let key = Key::sumdb(db, &format!("lookup/{escaped_module}@{escaped_version}"))?;
    let Some(body) = store.read_small(&key).await? else {
        return Ok(None);
    };
    let want = match file {
        "zip" => format!("{module} {version} "),
        _ => format!("{module} {version}/go.mod "),
    };
    Ok(String::from_utf8_lossy(&body)
        .lines()
        .find_map(|l| l.strip_prefix(&want).map(str::to_owned)))
}
