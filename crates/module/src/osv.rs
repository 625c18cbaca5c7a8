//! OSV entries of the Go vulnerability database, matched at module level:
//! whether a module version is in an entry's `affected` SEMVER ranges, and
//! the lowest version that fixes it. (Which symbols a program reaches is
//! govulncheck's business.)

use serde::Deserialize;

use crate::semver;

/// The fields of an OSV entry that module-level matching reads.
#[derive(Debug, Clone, Deserialize)]
pub struct Entry {
    pub id: String,
    #[serde(default)]
    pub modified: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub affected: Vec<Affected>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Affected {
    pub package: Package,
    #[serde(default)]
    pub ranges: Vec<Range>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Package {
    pub name: String,
    #[serde(default)]
    pub ecosystem: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Range {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub events: Vec<Event>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Event {
    pub introduced: Option<String>,
    pub fixed: Option<String>,
}

/// `1.2.3` as the database writes versions, `v1.2.3` as Go does; `0`
/// (introduced at the start) is the lowest version.
fn go_version(osv: &str) -> String {
    if osv == "0" {
        return "v0.0.0-00000000000000-000000000000".to_owned();
    }
    format!("v{}", osv.trim_start_matches('v'))
}

impl Entry {
    /// Whether `version` of `module` is affected.
    pub fn affects(&self, module: &str, version: &str) -> bool {
        self.affected
            .iter()
            .filter(|a| a.package.name == module)
            .any(|a| a.affects(version))
    }

    /// The lowest fixed version above `version` of `module`, if any range
    /// that affects it has one.
    pub fn fixed_after(&self, module: &str, version: &str) -> Option<String> {
        let mut fixes: Vec<String> = self
            .affected
            .iter()
            .filter(|a| a.package.name == module)
            .flat_map(|a| a.ranges.iter().filter(|r| r.kind == "SEMVER"))
            .flat_map(|r| r.events.iter().filter_map(|e| e.fixed.as_deref()))
            .map(go_version)
            .filter(|f| semver::compare(f, version).is_gt())
            .collect();
        semver::sort(&mut fixes);
        fixes.into_iter().next()
    }
}

impl Affected {
    /// In one of the SEMVER ranges: at or after an `introduced` and before
    /// the next `fixed`. An entry with no SEMVER range affects every version.
    pub fn affects(&self, version: &str) -> bool {
        let semver_ranges: Vec<&Range> =
            self.ranges.iter().filter(|r| r.kind == "SEMVER").collect();
        if semver_ranges.is_empty() {
            return true;
        }
        semver_ranges.iter().any(|r| r.affects(version))
    }
}

impl Range {
    fn affects(&self, version: &str) -> bool {
        // Events sorted by version; the last one at or below `version` decides.
        let mut events: Vec<(String, bool)> = self
            .events
            .iter()
            .filter_map(|e| match (&e.introduced, &e.fixed) {
                (Some(i), _) => Some((go_version(i), true)),
                (None, Some(f)) => Some((go_version(f), false)),
                (None, None) => None,
            })
            .collect();
        events.sort_by(|a, b| semver::compare(&a.0, &b.0));
        events
            .iter()
            .rev()
            .find(|(v, _)| semver::compare(v, version).is_le())
            .is_some_and(|(_, introduced)| *introduced)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(events: &str) -> Entry {
        serde_json::from_str(&format!(
            r#"{{"id":"GO-2025-0001","aliases":["CVE-2025-0001"],"summary":"s",
                "affected":[{{"package":{{"name":"example.com/m","ecosystem":"Go"}},
                "ranges":[{{"type":"SEMVER","events":{events}}}]}}]}}"#
        ))
        .unwrap()
    }

    #[test]
    fn ranges_are_introduced_to_fixed() {
        let e = entry(
            r#"[{"introduced":"0"},{"fixed":"1.2.0"},{"introduced":"1.3.0"},{"fixed":"1.3.4"}]"#,
        );
        for v in ["v0.1.0", "v1.1.9", "v1.2.0-rc.1", "v1.3.0", "v1.3.3"] {
            assert!(e.affects("example.com/m", v), "{v}");
        }
        for v in ["v1.2.0", "v1.2.9", "v1.3.4", "v2.0.0"] {
            assert!(!e.affects("example.com/m", v), "{v}");
        }
        assert!(!e.affects("example.com/other", "v0.1.0"));
        assert_eq!(
            e.fixed_after("example.com/m", "v1.0.0").as_deref(),
            Some("v1.2.0")
        );
        assert_eq!(
            e.fixed_after("example.com/m", "v1.3.1").as_deref(),
            Some("v1.3.4")
        );
        assert!(
            e.affects("example.com/m", "v0.0.0-20200101000000-abcdefabcdef"),
            "pseudo-versions too"
        );
    }

    #[test]
    fn unfixed_ranges_affect_everything_after() {
        let e = entry(r#"[{"introduced":"1.1.0"}]"#);
        assert!(!e.affects("example.com/m", "v1.0.9"));
        assert!(e.affects("example.com/m", "v1.1.0"));
        assert!(e.affects("example.com/m", "v9.0.0"));
        assert_eq!(e.fixed_after("example.com/m", "v1.1.0"), None);
    }
}
