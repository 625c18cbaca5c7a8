//! Module path and version pairs (golang.org/x/mod/module.Check, CanonicalVersion).

use crate::error::Error;
use crate::path::{check_path, check_path_major, split_path_version};
use crate::semver;

/// Checks that `version` is a version the go command could resolve for the
/// module `path`: the path is valid, the version is a canonical semantic
/// version, and its major version matches the path's major version suffix.
///
/// This is Go's `module.Check` plus two rules the go command applies when
/// resolving versions, so that a proxy never serves what `go` would refuse:
/// the version must be canonical (see [`is_canonical`]), and `+incompatible`
/// is only allowed for major versions ≥ 2 of paths without a major suffix.
pub fn check(path: &str, version: &str) -> Result<(), Error> {
    check_path(path)?;
    check_version(path, version).map_err(|e| e.in_module(path))
}

/// [`check`] for a path that has passed [`check_path`] already (a parsed
/// request's): the version rules alone, without checking the path again.
pub fn check_of_checked_path(path: &str, version: &str) -> Result<(), Error> {
    check_version(path, version).map_err(|e| e.in_module(path))
}

fn check_version(path: &str, version: &str) -> Result<(), Error> {
    if !semver::is_valid(version) {
        return Err(Error::version(version, "not a semantic version"));
    }
    if !is_canonical(version) {
        return Err(Error::version(version, "must be of the form v1.2.3"));
    }
    // check_path has accepted the path, so it splits.
    let (_, path_major) = split_path_version(path).unwrap_or((path, ""));
    check_path_major(version, path_major)?;
    if semver::build(version) == "+incompatible" {
        if !path_major.is_empty() {
            return Err(Error::version(
                version,
                "+incompatible suffix not allowed: module path includes a major version suffix, so major version must match",
            ));
        }
        let major = semver::major(version);
        if major == "v0" || major == "v1" {
            return Err(Error::version(
                version,
                format!("+incompatible suffix not allowed: major version {major} is compatible"),
            ));
        }
    }
    Ok(())
}

/// Returns the canonical form of `v` like [`semver::canonical`], except that
/// the `+incompatible` build suffix is kept (Go's `module.CanonicalVersion`).
pub fn canonical_version(v: &str) -> String {
    let mut cv = semver::canonical(v);
    if semver::build(v) == "+incompatible" {
        cv.push_str("+incompatible");
    }
    cv
}

/// Reports whether `v` is a valid version already in canonical form:
/// `vMAJOR.MINOR.PATCH[-PRERELEASE][+incompatible]`.
pub fn is_canonical(v: &str) -> bool {
    !v.is_empty() && canonical_version(v) == v
}

/// Sorts and dedupes versions, Go's semver order.
pub fn sort_versions(versions: &mut Vec<String>) {
    crate::semver::sort(versions);
    versions.dedup();
}

/// The version `@latest` picks among known ones, as the go command does:
/// the highest release, else the highest pre-release, else the highest
/// pseudo-version.
pub fn pick_latest<'a>(versions: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let rank = |v: &str| {
        if crate::pseudo::is_pseudo_version(v) {
            0
        } else if crate::semver::prerelease(v).is_empty() {
            2
        } else {
            1
        }
    };
    versions.into_iter().max_by(|a, b| {
        rank(a)
            .cmp(&rank(b))
            .then_with(|| crate::semver::compare(a, b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_table() {
        // module_test.go's checkTests.
        let cases = [
            ("rsc.io/quote", "0.1.0", false),
            ("rsc io/quote", "v1.0.0", false),
            ("github.com/go-yaml/yaml", "v0.8.0", true),
            ("github.com/go-yaml/yaml", "v1.0.0", true),
            ("github.com/go-yaml/yaml", "v2.0.0", false),
            ("github.com/go-yaml/yaml", "v2.1.5", false),
            ("github.com/go-yaml/yaml", "v3.0.0", false),
            ("github.com/go-yaml/yaml/v2", "v1.0.0", false),
            ("github.com/go-yaml/yaml/v2", "v2.0.0", true),
            ("github.com/go-yaml/yaml/v2", "v2.1.5", true),
            ("github.com/go-yaml/yaml/v2", "v3.0.0", false),
            ("gopkg.in/yaml.v0", "v0.8.0", true),
            ("gopkg.in/yaml.v0", "v1.0.0", false),
            ("gopkg.in/yaml.v0", "v2.0.0", false),
            ("gopkg.in/yaml.v0", "v2.1.5", false),
            ("gopkg.in/yaml.v0", "v3.0.0", false),
            ("gopkg.in/yaml.v1", "v0.8.0", false),
            ("gopkg.in/yaml.v1", "v1.0.0", true),
            ("gopkg.in/yaml.v1", "v2.0.0", false),
            ("gopkg.in/yaml.v1", "v2.1.5", false),
            ("gopkg.in/yaml.v1", "v3.0.0", false),
            // .v1 means v1, but early v0 pseudo-versions are still accepted.
            ("gopkg.in/check.v1", "v0.0.0", false),
            (
                "gopkg.in/check.v1",
                "v0.0.0-20160102150405-abcdef123456",
                true,
            ),
            ("gopkg.in/yaml.v2", "v1.0.0", false),
            ("gopkg.in/yaml.v2", "v2.0.0", true),
            ("gopkg.in/yaml.v2", "v2.1.5", true),
            ("gopkg.in/yaml.v2", "v3.0.0", false),
            ("rsc.io/quote", "v17.0.0", false),
            ("rsc.io/quote", "v17.0.0+incompatible", true),
        ];
        for (path, version, ok) in cases {
            assert_eq!(
                check(path, version).is_ok(),
                ok,
                "check({path:?}, {version:?})"
            );
        }
    }

    #[test]
    fn check_stricter_than_module_check() {
        // Go's module.Check accepts these; the go command never resolves them.
        let cases = [
            ("rsc.io/quote", "v1"),
            ("rsc.io/quote", "v1.2"),
            ("rsc.io/quote", "v1.2.3+meta"),
            ("rsc.io/quote", "v1.2.3+incompatible"),
            ("rsc.io/quote", "v0.1.0+incompatible"),
            ("rsc.io/quote/v2", "v2.0.0+incompatible"),
            ("gopkg.in/yaml.v2", "v2.0.0+incompatible"),
            (
                "gopkg.in/check.v1",
                "v0.0.0-20160102150405-abcdef123456+incompatible",
            ),
        ];
        for (path, version) in cases {
            assert!(
                check(path, version).is_err(),
                "check({path:?}, {version:?})"
            );
        }
        assert!(
            check(
                "rsc.io/quote",
                "v2.0.0-20160102150405-abcdef123456+incompatible"
            )
            .is_ok()
        );
    }

    #[test]
    fn check_messages() {
        let cases = [
            (
                "rsc io/quote",
                "v1.0.0",
                "malformed module path \"rsc io/quote\": invalid char ' '",
            ),
            (
                "rsc.io/quote",
                "0.1.0",
                "rsc.io/quote@0.1.0: invalid version: not a semantic version",
            ),
            (
                "rsc.io/quote",
                "v1.2",
                "rsc.io/quote@v1.2: invalid version: must be of the form v1.2.3",
            ),
            (
                "rsc.io/quote",
                "v2.0.0",
                "rsc.io/quote@v2.0.0: invalid version: should be v0 or v1, not v2",
            ),
            (
                "rsc.io/quote",
                "v1.0.0+incompatible",
                "rsc.io/quote@v1.0.0+incompatible: invalid version: +incompatible suffix not allowed: major version v1 is compatible",
            ),
        ];
        for (path, version, want) in cases {
            assert_eq!(
                check(path, version).map_err(|e| e.to_string()),
                Err(want.to_owned())
            );
        }
    }

    #[test]
    fn canonical_versions() {
        let cases = [
            ("v1", "v1.0.0", false),
            ("v1.2.3", "v1.2.3", true),
            ("v1.2.3-pre", "v1.2.3-pre", true),
            ("v1.2.3+meta", "v1.2.3", false),
            ("v2.0.0+incompatible", "v2.0.0+incompatible", true),
            ("v2+incompatible", "", false),
            ("v1.2.3-pre+incompatible", "v1.2.3-pre+incompatible", true),
            ("", "", false),
            ("bad", "", false),
            ("v1.2.3\0", "", false),
        ];
        for (v, want, canonical) in cases {
            assert_eq!(canonical_version(v), want, "canonical_version({v:?})");
            assert_eq!(is_canonical(v), canonical, "is_canonical({v:?})");
        }
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
