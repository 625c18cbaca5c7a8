//! Integrity on ingest: what an upstream sends is checked before it is stored.

use std::path::Path;

use bytes::Bytes;
use jiff::Timestamp;
use modgate_module::{modfile, pseudo, semver, version};
use serde::Deserialize;

/// Largest `.info` accepted from an upstream.
pub const MAX_INFO: u64 = 64 << 10;
/// Largest go.mod, as x/mod/zip's MaxGoMod.
pub const MAX_MOD: u64 = 16 << 20;
/// Largest zip, as x/mod/zip's MaxZipFile.
pub const MAX_ZIP: u64 = 500 << 20;
/// Largest `@v/list`.
pub const MAX_LIST: u64 = 16 << 20;

/// A version's metadata, as served at `.info` and `@latest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    pub version: String,
    pub time: Timestamp,
}

impl Info {
    /// `{"Version":…,"Time":…}` with the time in UTC, as the go command writes it.
    pub fn to_json(&self) -> Bytes {
        #[derive(serde::Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Out<'a> {
            version: &'a str,
            time: String,
        }
        let out = Out {
            version: &self.version,
            time: self.time.to_string(),
        };
        Bytes::from(serde_json::to_vec(&out).expect("plain strings serialize"))
    }
}

#[derive(Deserialize)]
struct RawInfo {
    #[serde(rename = "Version")]
    version: String,
    #[serde(rename = "Time")]
    time: String,
}

/// Checks an upstream's `.info` (or `@latest`) answer for `module`; when
/// `requested` is a canonical version the answer must name it.
pub fn check_info(module: &str, requested: Option<&str>, data: &[u8]) -> Result<Info, String> {
    let raw: RawInfo =
        serde_json::from_slice(data).map_err(|e| format!("{module}: malformed .info JSON: {e}"))?;
    if !version::is_canonical(&raw.version) {
        return Err(format!(
            "{module}: .info names non-canonical version {:?}",
            raw.version
        ));
    }
    version::check(module, &raw.version).map_err(|e| e.to_string())?;
    if let Some(want) = requested.filter(|v| version::is_canonical(v))
        && raw.version != want
    {
        return Err(format!(
            "{module}@{want}: .info names version {}",
            raw.version
        ));
    }
    let time: Timestamp = raw.time.parse().map_err(|e| {
        format!(
            "{module}@{}: .info has an invalid Time {:?}: {e}",
            raw.version, raw.time
        )
    })?;
    Ok(Info {
        version: raw.version,
        time,
    })
}

/// Checks an upstream's go.mod: it must parse and declare a module. The
/// path may differ from the requested one, as the go command allows: a fork
/// used through a `replace` directive declares the path it replaces.
pub fn check_mod(module: &str, version: &str, data: &[u8]) -> Result<(), String> {
    modfile::check_syntax(data).map_err(|e| format!("{module}@{version}: go.mod: {e}"))?;
    match modfile::module_path(data) {
        Some(_) => Ok(()),
        None => Err(format!(
            "{module}@{version}: go.mod has no module directive"
        )),
    }
}

/// Checks a zip against the module zip rules and returns its `h1:` hash.
pub fn check_zip(module: &str, version: &str, path: &Path) -> Result<String, String> {
    modgate_zip::check_zip(path, module, version)
        .map(|checked| checked.h1)
        .map_err(|e| format!("{module}@{version}: invalid module zip: {e}"))
}

/// Parses an upstream `@v/list`: the first field of each line that is a valid,
/// canonical, non-pseudo version of `module` (the go command ignores the rest).
pub fn parse_list(module: &str, data: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(data)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|v| {
            version::is_canonical(v)
                && !pseudo::is_pseudo_version(v)
                && version::check(module, v).is_ok()
        })
        .map(str::to_owned)
        .collect()
}

/// Sorts and dedupes versions, Go's semver order.
pub fn sort_versions(versions: &mut Vec<String>) {
    semver::sort(versions);
    versions.dedup();
}

/// The version `@latest` picks among known ones, as the go command does:
/// the highest release, else the highest pre-release, else the highest
/// pseudo-version.
pub fn pick_latest<'a>(versions: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let rank = |v: &str| {
        if pseudo::is_pseudo_version(v) {
            0
        } else if semver::prerelease(v).is_empty() {
            2
        } else {
            1
        }
    };
    versions
        .into_iter()
        .max_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| semver::compare(a, b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_is_normalized_to_utc() {
        let info = check_info(
            "example.com/m",
            Some("v1.0.0"),
            br#"{"Version":"v1.0.0","Time":"2019-10-01T12:00:00+02:00","Origin":{"VCS":"git"}}"#,
        )
        .unwrap();
        assert_eq!(
            &info.to_json()[..],
            br#"{"Version":"v1.0.0","Time":"2019-10-01T10:00:00Z"}"#
        );
    }

    #[test]
    fn info_must_match_the_request() {
        let data = br#"{"Version":"v1.0.1","Time":"2019-10-01T12:00:00Z"}"#;
        assert!(check_info("example.com/m", Some("v1.0.0"), data).is_err());
        assert!(check_info("example.com/m", Some("master"), data).is_ok());
        assert!(check_info("example.com/m", None, b"not json").is_err());
        let bad_time = br#"{"Version":"v1.0.0","Time":"yesterday"}"#;
        assert!(check_info("example.com/m", None, bad_time).is_err());
        let wrong_major = br#"{"Version":"v2.0.0","Time":"2019-10-01T12:00:00Z"}"#;
        assert!(check_info("example.com/m", None, wrong_major).is_err());
    }

    #[test]
    fn mod_must_parse_and_declare_a_module() {
        assert!(
            check_mod(
                "example.com/m",
                "v1.0.0",
                b"module example.com/m\n\ngo 1.21\n"
            )
            .is_ok()
        );
        assert!(
            check_mod(
                "example.com/m",
                "v1.0.0",
                b"module \"example.com/m\" // c\n"
            )
            .is_ok()
        );
        // A fork's go.mod declares the module it replaces.
        assert!(check_mod("example.com/fork", "v1.0.0", b"module example.com/m\n").is_ok());
        assert!(check_mod("example.com/m", "v1.0.0", b"go 1.21\n").is_err());
        assert!(
            check_mod(
                "example.com/m",
                "v1.0.0",
                b"module example.com/m\nrequire (\n"
            )
            .is_err()
        );
    }

    #[test]
    fn list_keeps_valid_versions_of_the_module() {
        let got = parse_list(
            "example.com/m",
            b"v1.0.0\nv1.1.0 2019-01-01T00:00:00Z\nbogus\nv2.0.0\nv2.0.0+incompatible\nv0.0.0-20190101000000-abcdefabcdef\n\n",
        );
        assert_eq!(got, ["v1.0.0", "v1.1.0", "v2.0.0+incompatible"]);
    }

    #[test]
    fn latest_prefers_releases_then_prereleases_then_pseudo() {
        assert_eq!(
            pick_latest(["v1.0.0", "v1.1.0-rc.1", "v0.9.0"]),
            Some("v1.0.0")
        );
        assert_eq!(
            pick_latest(["v1.1.0-rc.1", "v1.2.0-0.20190101000000-abcdefabcdef"]),
            Some("v1.1.0-rc.1")
        );
        assert_eq!(
            pick_latest([
                "v0.0.0-20190101000000-abcdefabcdef",
                "v0.0.0-20200101000000-abcdefabcdef"
            ]),
            Some("v0.0.0-20200101000000-abcdefabcdef")
        );
        assert_eq!(pick_latest([]), None);
    }
}
