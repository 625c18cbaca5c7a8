//! The layout and formats of a Go vulnerability database (vuln.go.dev's:
//! `index/db.json`, `index/modules.json`, `index/vulns.json`,
//! `ID/<id>.json`) and of the snapshots modgate's mirror keeps of one
//! (`vulndb/snapshot/<millis>`, naming content-addressed
//! `vulndb/blob/<sha256>`): what the mirror and bundles check them by.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Where the mirror keeps its files: like `sumdb`, a first path element
/// without a dot, which no module path has.
pub const PREFIX: &str = "vulndb";
pub const DB: &str = "index/db.json";
pub const MODULES: &str = "index/modules.json";
pub const VULNS: &str = "index/vulns.json";

/// The stored state of the mirror: every path and the SHA-256 of its bytes.
/// Read only through [`parse_manifest`]: whatever wrote a snapshot, it
/// names files of the layout and blobs by hash, nothing else.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// When the upstream last confirmed these files.
    pub synced: jiff::Timestamp,
    pub files: BTreeMap<String, BlobHash>,
}

/// The name of a blob: a SHA-256 in lowercase hex, checked when parsed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BlobHash(String);

impl TryFrom<String> for BlobHash {
    type Error = String;

    fn try_from(hash: String) -> Result<Self, String> {
        if hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(BlobHash(hash))
        } else {
            Err(format!("{hash:?} is not a SHA-256 in lowercase hex"))
        }
    }
}

impl From<BlobHash> for String {
    fn from(hash: BlobHash) -> String {
        hash.0
    }
}

impl BlobHash {
    pub fn of(bytes: &[u8]) -> Self {
        BlobHash(sha256_hex(bytes))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A snapshot's manifest, checked: every path one of the layout's, every
/// blob named by its hash, the three indexes present.
pub fn parse_manifest(bytes: &[u8]) -> Result<Manifest, String> {
    let manifest: Manifest = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    if let Some(path) = manifest.files.keys().find(|p| !is_db_path(p)) {
        return Err(format!("{path:?} is not a file of the database"));
    }
    if let Some(missing) = [DB, MODULES, VULNS]
        .iter()
        .find(|p| !manifest.files.contains_key(**p))
    {
        return Err(format!("{missing} is missing"));
    }
    Ok(manifest)
}

/// Snapshot names more than this ahead of the clock are not the mirror's
/// (a name far ahead would otherwise sort newest forever).
const MAX_SKEW: Duration = Duration::from_secs(86_400);

/// The time a snapshot's name says it was made (`{millis:020}`), if it is
/// one the mirror could have written: 20 digits, not far ahead of now.
pub fn snapshot_time(name: &str) -> Option<jiff::Timestamp> {
    if name.len() != 20 || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let millis: i64 = name.parse().ok()?;
    let at = jiff::Timestamp::from_millisecond(millis).ok()?;
    let latest = jiff::Timestamp::now().checked_add(MAX_SKEW).ok()?;
    (at <= latest).then_some(at)
}

/// What `index/db.json` says.
#[derive(Deserialize)]
pub struct DbMeta {
    pub modified: String,
}

/// An entry of `index/vulns.json`.
#[derive(Deserialize)]
pub struct VulnMeta {
    pub id: String,
    pub modified: String,
}

/// An entry of `index/modules.json` (checked for shape only).
#[derive(Deserialize)]
pub struct ModuleMeta {
    #[serde(rename = "path")]
    _path: String,
}

/// The fields of an OSV entry the mirror checks.
#[derive(Deserialize)]
pub struct OsvHead {
    pub id: String,
    pub modified: String,
}

/// Whether `path` names a file of the database's layout.
pub fn is_db_path(path: &str) -> bool {
    match path
        .strip_prefix("ID/")
        .and_then(|f| f.strip_suffix(".json"))
    {
        Some(id) => is_id(id),
        None => [DB, MODULES, VULNS].contains(&path),
    }
}

/// Entry ids as the Go database writes them (`GO-2024-1234`); anything else
/// could not be a file name here.
pub fn is_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

pub fn id_path(id: &str) -> String {
    format!("ID/{id}.json")
}

pub fn check_time(t: &str) -> Result<(), String> {
    t.parse::<jiff::Timestamp>()
        .map(drop)
        .map_err(|e| format!("modified {t:?}: {e}"))
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What a bundle's vulnerability database file is, once checked.
pub enum BundledFile {
    /// `vulndb/blob/<sha256>`, holding what its name says.
    Blob,
    /// `vulndb/snapshot/<millis>`: the blobs it names, each with the path
    /// it is served at (to be checked as that file).
    Snapshot(Vec<(String, String)>),
}

/// Checks a file a bundle would store under `vulndb/`: a blob must be
/// named by its content's hash; a snapshot must have a name the mirror
/// writes (the time it was made, not ahead of the clock) and parse as one.
pub fn check_bundled(path: &str, bytes: &[u8]) -> Result<BundledFile, String> {
    let rest = path
        .strip_prefix(PREFIX)
        .and_then(|r| r.strip_prefix('/'))
        .ok_or_else(|| "not a vulnerability database file".to_owned())?;
    match rest.split_once('/') {
        Some(("blob", hash)) => {
            let hash = BlobHash::try_from(hash.to_owned())?;
            if hash != BlobHash::of(bytes) {
                return Err("the blob's content is not what its name says".to_owned());
            }
            Ok(BundledFile::Blob)
        }
        Some(("snapshot", name)) => {
            let at = snapshot_time(name).ok_or_else(|| {
                format!("{name:?} is not a snapshot name (the time it was made, in milliseconds, 20 digits, not ahead of now)")
            })?;
            let manifest = parse_manifest(bytes).map_err(|e| format!("the snapshot: {e}"))?;
            if manifest.synced.as_millisecond() != at.as_millisecond() {
                return Err(format!(
                    "the snapshot says it was made {}, not at its name",
                    manifest.synced
                ));
            }
            Ok(BundledFile::Snapshot(
                manifest
                    .files
                    .into_iter()
                    .map(|(path, hash)| (path, format!("{}/blob/{}", PREFIX, hash.0)))
                    .collect(),
            ))
        }
        _ => Err("not a vulnerability database file".to_owned()),
    }
}

/// Checks that `bytes` parse as the database file `path` (as a refresh
/// does what it fetches).
pub fn check_db_file(path: &str, bytes: &[u8]) -> Result<(), String> {
    let shape = |e: serde_json::Error| e.to_string();
    match path {
        DB => check_time(
            &serde_json::from_slice::<DbMeta>(bytes)
                .map_err(shape)?
                .modified,
        ),
        MODULES => serde_json::from_slice::<Vec<ModuleMeta>>(bytes)
            .map(drop)
            .map_err(shape),
        VULNS => serde_json::from_slice::<Vec<VulnMeta>>(bytes)
            .map(drop)
            .map_err(shape),
        _ => {
            let head: OsvHead = serde_json::from_slice(bytes).map_err(shape)?;
            if id_path(&head.id) == path {
                Ok(())
            } else {
                Err(format!("holds entry {}", head.id))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_layouts_paths_are_served() {
        for ok in [
            "index/db.json",
            "index/modules.json",
            "index/vulns.json",
            "ID/GO-2024-0001.json",
        ] {
            assert!(is_db_path(ok), "{ok}");
        }
        for bad in [
            "ID/../x.json",
            "ID/.json",
            "ID/a/b.json",
            "index/other.json",
            "ID/GO-1",
            "snapshot/1",
        ] {
            assert!(!is_db_path(bad), "{bad}");
        }
    }

    fn manifest_with(path: &str, hash: &str) -> Vec<u8> {
        let ok = "a".repeat(64);
        serde_json::to_vec(&serde_json::json!({
            "synced": "2025-01-01T00:00:00Z",
            "files": { DB: ok, MODULES: ok, VULNS: ok, path: hash },
        }))
        .unwrap()
    }

    #[test]
    fn a_snapshot_names_files_of_the_layout_by_hash_only() {
        let ok = "b".repeat(64);
        assert!(parse_manifest(&manifest_with("ID/GO-2025-0001.json", &ok)).is_ok());
        for (path, hash) in [
            ("ID/GO-2025-0001.json", "../../../etc/shadow".to_owned()),
            ("ID/GO-2025-0001.json", "B".repeat(64)),
            ("ID/GO-2025-0001.json", "b".repeat(63)),
            ("ID/GO-2025-0001.json", format!("{}/x", "b".repeat(62))),
            ("ID/GO-2025-0001.json", String::new()),
            ("../../x", ok.clone()),
            ("snapshot/1", ok.clone()),
        ] {
            assert!(
                parse_manifest(&manifest_with(path, &hash)).is_err(),
                "{path} {hash}"
            );
        }
        let no_index = serde_json::json!({ "synced": "2025-01-01T00:00:00Z", "files": {} });
        assert!(parse_manifest(&serde_json::to_vec(&no_index).unwrap()).is_err());
    }

    #[test]
    fn snapshot_names_are_times_the_mirror_could_have_written() {
        let now = jiff::Timestamp::now();
        assert_eq!(
            snapshot_time(&format!("{:020}", now.as_millisecond())),
            Some(jiff::Timestamp::from_millisecond(now.as_millisecond()).unwrap())
        );
        for bad in [
            "99999999999999999999".to_owned(),
            format!("{:020}", now.as_millisecond() + 2 * 86_400_000),
            "1".to_owned(),
            format!("{:021}", 1),
            "0000000000000000000a".to_owned(),
            "-0000000000000000001".to_owned(),
        ] {
            assert_eq!(snapshot_time(&bad), None, "{bad}");
        }
    }

    #[test]
    fn bundled_files_are_checked_against_their_names() {
        let blob = b"{}";
        let hash = sha256_hex(blob);
        assert!(matches!(
            check_bundled(&format!("vulndb/blob/{hash}"), blob),
            Ok(BundledFile::Blob)
        ));
        assert!(check_bundled(&format!("vulndb/blob/{hash}"), b"{ }").is_err());
        assert!(check_bundled("vulndb/blob/../../x", blob).is_err());
        let manifest = manifest_with("ID/GO-2025-0001.json", &hash);
        let synced = "2025-01-01T00:00:00Z"
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_millisecond();
        let Ok(BundledFile::Snapshot(named)) =
            check_bundled(&format!("vulndb/snapshot/{synced:020}"), &manifest)
        else {
            panic!("a genuine snapshot");
        };
        assert!(named.contains(&(
            "ID/GO-2025-0001.json".to_owned(),
            format!("vulndb/blob/{hash}")
        )));
        // Named for another time than it holds.
        assert!(check_bundled(&format!("vulndb/snapshot/{:020}", synced + 1), &manifest).is_err());
        assert!(check_bundled("vulndb/other/x", blob).is_err());
        assert!(
            check_db_file(
                "ID/GO-2025-0001.json",
                br#"{"id":"GO-2025-0002","modified":"x"}"#
            )
            .is_err()
        );
        assert!(check_db_file(DB, br#"{"modified":"2025-01-01T00:00:00Z"}"#).is_ok());
        assert!(check_db_file(DB, b"[]").is_err());
    }
}
