//! Pseudo-versions (golang.org/x/mod/module/pseudo.go): versions like
//! `v0.0.0-20191109021931-daa7c04131f5` that name an untagged commit by its
//! UTC commit time and a revision prefix, ordered after the base tag they
//! were derived from. The three forms are:
//!
//! - `vX.0.0-yyyymmddhhmmss-rev` when no earlier tag exists;
//! - `vX.Y.(Z+1)-0.yyyymmddhhmmss-rev` after the release tag `vX.Y.Z`;
//! - `vX.Y.Z-pre.0.yyyymmddhhmmss-rev` after the prerelease tag `vX.Y.Z-pre`.
//!
//! Each may carry the base tag's build suffix, such as `+incompatible`.

use std::fmt;

use crate::error::Error;
use crate::semver;

/// A UTC time with one-second resolution, as encoded in pseudo-versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PseudoTime {
    pub year: u16,
    /// 1 to 12.
    pub month: u8,
    /// 1 to the length of the month.
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
}

impl PseudoTime {
    /// Converts seconds since the Unix epoch (such as a commit time) to UTC.
    /// Returns `None` outside the years 0 to 9999, which the fixed-width
    /// timestamp cannot represent.
    pub fn from_unix(secs: i64) -> Option<PseudoTime> {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        Some(PseudoTime {
            year: u16::try_from(year).ok().filter(|&y| y <= 9999)?,
            month,
            day,
            hour: (rem / 3600) as u8,
            minute: (rem / 60 % 60) as u8,
            second: (rem % 60) as u8,
        })
    }

    /// Parses `yyyymmddhhmmss`, validating ranges the way Go's time.Parse does.
    fn parse(s: &str) -> Option<PseudoTime> {
        if s.len() != 14 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let num = |r: std::ops::Range<usize>| s[r].parse::<u16>().ok();
        let t = PseudoTime {
            year: num(0..4)?,
            month: u8::try_from(num(4..6)?).ok()?,
            day: u8::try_from(num(6..8)?).ok()?,
            hour: u8::try_from(num(8..10)?).ok()?,
            minute: u8::try_from(num(10..12)?).ok()?,
            second: u8::try_from(num(12..14)?).ok()?,
        };
        let valid = (1..=12).contains(&t.month)
            && (1..=days_in_month(t.year, t.month)).contains(&t.day)
            && t.hour < 24
            && t.minute < 60
            && t.second < 60;
        valid.then_some(t)
    }
}

/// Formats as `yyyymmddhhmmss`, the form used inside pseudo-versions.
impl fmt::Display for PseudoTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}{:02}{:02}{:02}{:02}{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

// u16::is_multiple_of needs Rust 1.87; the workspace supports 1.85.
#[allow(clippy::manual_is_multiple_of)]
fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day),
/// after Howard Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Returns the pseudo-version for commit `rev` made at time `t`.
///
/// `older` is the most recent tag reachable from the commit, or `""` if
/// there is none; `major` (like `"v2"`, default `"v0"`) is then used for
/// the `vX.0.0` form.
pub fn pseudo_version(major: &str, older: &str, t: PseudoTime, rev: &str) -> String {
    let major = if major.is_empty() { "v0" } else { major };
    let segment = format!("{t}-{rev}");
    let build = semver::build(older);
    let older = semver::canonical(older);
    if older.is_empty() {
        return format!("{major}.0.0-{segment}");
    }
    if !semver::prerelease(&older).is_empty() {
        return format!("{older}.0.{segment}{build}");
    }
    // Order after vX.Y.Z by claiming to be a prerelease of vX.Y.(Z+1).
    let (minor, patch) = older.rsplit_once('.').unwrap_or((older.as_str(), ""));
    format!("{minor}.{}-0.{segment}{build}", inc_decimal(patch))
}

/// Reports whether `v` has the syntax of a pseudo-version.
pub fn is_pseudo_version(v: &str) -> bool {
    v.matches('-').count() >= 2 && semver::is_valid(v) && matches_pseudo_syntax(v)
}

/// The shape Go checks with the regular expression
/// `^v[0-9]+\.(0\.0-|\d+\.\d+-([^+]*\.)?0\.)\d{14}-[A-Za-z0-9]+(\+build)?$`,
/// for a `v` already known to be a valid semantic version.
fn matches_pseudo_syntax(v: &str) -> bool {
    let Some(pre) = semver::prerelease(v).strip_prefix('-') else {
        return false;
    };
    // `vX.0.0-time-rev`: the core before the first dash is vX.0.0.
    let no_base = v
        .split_once('-')
        .is_some_and(|(core, _)| core.ends_with(".0.0"));
    if no_base && is_time_and_rev(pre) {
        return true;
    }
    // `0.time-rev` or `anything.0.time-rev`.
    match pre.rsplit_once('.') {
        Some((head, tail)) => is_time_and_rev(tail) && (head == "0" || head.ends_with(".0")),
        None => false,
    }
}

/// `\d{14}-[A-Za-z0-9]+`
fn is_time_and_rev(s: &str) -> bool {
    match s.split_at_checked(14) {
        Some((time, rest)) => {
            time.bytes().all(|b| b.is_ascii_digit())
                && rest.strip_prefix('-').is_some_and(|rev| {
                    !rev.is_empty() && rev.bytes().all(|b| b.is_ascii_alphanumeric())
                })
        }
        None => false,
    }
}

/// The parts of a pseudo-version: base (`vX.0.0`, `vX.Y.(Z+1)-0` or
/// `vX.Y.Z-pre.0`), timestamp, revision and build suffix.
fn parse(v: &str) -> Result<(&str, &str, &str, &str), Error> {
    if !is_pseudo_version(v) {
        return Err(Error::pseudo(v, "syntax error"));
    }
    let build = semver::build(v);
    let rest = &v[..v.len() - build.len()];
    let syntax = || Error::pseudo(v, "syntax error");
    let (rest, rev) = rest.rsplit_once('-').ok_or_else(syntax)?;
    let dash = rest.rfind('-').ok_or_else(syntax)?;
    let (base, timestamp) = match rest.rfind('.') {
        Some(dot) if dot > dash => (&rest[..dot], &rest[dot + 1..]),
        _ => (&rest[..dash], &rest[dash + 1..]),
    };
    Ok((base, timestamp, rev, build))
}

/// Returns the commit time recorded in a pseudo-version.
pub fn pseudo_version_time(v: &str) -> Result<PseudoTime, Error> {
    let (_, timestamp, _, _) = parse(v)?;
    PseudoTime::parse(timestamp)
        .ok_or_else(|| Error::pseudo(v, format!("malformed time {timestamp:?}")))
}

/// Returns the revision identifier recorded in a pseudo-version.
pub fn pseudo_version_rev(v: &str) -> Result<&str, Error> {
    parse(v).map(|(_, _, rev, _)| rev)
}

/// Returns the tag a pseudo-version was derived from, with its build
/// suffix, or `""` for the `vX.0.0-...` form that has none.
pub fn pseudo_version_base(v: &str) -> Result<String, Error> {
    let (base, _, _, build) = parse(v)?;
    match semver::prerelease(base) {
        "" if !build.is_empty() => {
            // `vX.0.0-` claims there is no tag, while the build suffix
            // claims something about one: contradictory.
            Err(Error::pseudo(
                v,
                format!("lacks base version, but has build metadata {build:?}"),
            ))
        }
        "" => Ok(String::new()),
        "-0" => {
            let release = &base[..base.len() - 2];
            let (minor, patch) = release
                .rsplit_once('.')
                .ok_or_else(|| Error::pseudo(v, "syntax error"))?;
            let patch = dec_decimal(patch);
            if patch.is_empty() {
                return Err(Error::pseudo(
                    v,
                    format!("version before {release} would have negative patch number"),
                ));
            }
            Ok(format!("{minor}.{patch}{build}"))
        }
        _ => base
            .strip_suffix(".0")
            .map(|tag| format!("{tag}{build}"))
            .ok_or_else(|| Error::pseudo(v, "syntax error")),
    }
}

/// Adds one to a decimal string of any length.
fn inc_decimal(decimal: &str) -> String {
    let mut digits = decimal.as_bytes().to_vec();
    for d in digits.iter_mut().rev() {
        if *d == b'9' {
            *d = b'0';
        } else {
            *d += 1;
            return String::from_utf8_lossy(&digits).into_owned();
        }
    }
    // All nines (or empty): carry into a new leading digit.
    digits.insert(0, b'1');
    String::from_utf8_lossy(&digits).into_owned()
}

/// Subtracts one from a decimal string, or returns `""` if it is zero.
fn dec_decimal(decimal: &str) -> String {
    let mut digits = decimal.as_bytes().to_vec();
    let Some(i) = digits.iter().rposition(|&d| d != b'0') else {
        return String::new();
    };
    for d in &mut digits[i + 1..] {
        *d = b'9';
    }
    if i == 0 && digits[0] == b'1' && digits.len() > 1 {
        digits.remove(0);
    } else {
        digits[i] -= 1;
    }
    String::from_utf8_lossy(&digits).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIME: PseudoTime = PseudoTime {
        year: 2006,
        month: 1,
        day: 2,
        hour: 15,
        minute: 4,
        second: 5,
    };

    /// pseudo_test.go's pseudoTests: (major, older, version).
    const PSEUDO_TESTS: &[(&str, &str, &str)] = &[
        ("", "", "v0.0.0-20060102150405-hash"),
        ("v0", "", "v0.0.0-20060102150405-hash"),
        ("v1", "", "v1.0.0-20060102150405-hash"),
        ("v2", "", "v2.0.0-20060102150405-hash"),
        ("unused", "v0.0.0", "v0.0.1-0.20060102150405-hash"),
        ("unused", "v1.2.3", "v1.2.4-0.20060102150405-hash"),
        (
            "unused",
            "v1.2.99999999999999999",
            "v1.2.100000000000000000-0.20060102150405-hash",
        ),
        ("unused", "v1.2.3-pre", "v1.2.3-pre.0.20060102150405-hash"),
        ("unused", "v1.3.0-pre", "v1.3.0-pre.0.20060102150405-hash"),
        ("unused", "v0.0.0--", "v0.0.0--.0.20060102150405-hash"),
        (
            "unused",
            "v1.0.0+metadata",
            "v1.0.1-0.20060102150405-hash+metadata",
        ),
        (
            "unused",
            "v2.0.0+incompatible",
            "v2.0.1-0.20060102150405-hash+incompatible",
        ),
        (
            "unused",
            "v2.3.0-pre+incompatible",
            "v2.3.0-pre.0.20060102150405-hash+incompatible",
        ),
    ];

    #[test]
    fn pseudo_version_table() {
        for &(major, older, version) in PSEUDO_TESTS {
            assert_eq!(
                pseudo_version(major, older, TIME, "hash"),
                version,
                "({major:?}, {older:?})"
            );
        }
    }

    #[test]
    fn is_pseudo_version_table() {
        for &(_, older, version) in PSEUDO_TESTS {
            assert!(is_pseudo_version(version), "{version:?}");
            assert!(!is_pseudo_version(older), "{older:?}");
        }
    }

    #[test]
    fn pseudo_version_time_table() {
        for &(_, older, version) in PSEUDO_TESTS {
            assert_eq!(pseudo_version_time(version), Ok(TIME), "{version:?}");
            assert!(pseudo_version_time(older).is_err(), "{older:?}");
        }
        assert!(pseudo_version_time("---").is_err());
    }

    #[test]
    fn pseudo_version_rev_table() {
        for &(_, older, version) in PSEUDO_TESTS {
            assert_eq!(pseudo_version_rev(version), Ok("hash"), "{version:?}");
            assert!(pseudo_version_rev(older).is_err(), "{older:?}");
        }
    }

    #[test]
    fn pseudo_version_base_table() {
        for &(_, older, version) in PSEUDO_TESTS {
            assert_eq!(
                pseudo_version_base(version).as_deref(),
                Ok(older),
                "{version:?}"
            );
        }
        let invalid = [
            "v0.0.0",
            "v0.0.0-",                                 // empty prerelease
            "v0.0.0-0.20060102150405-hash",            // Z+1 == 0
            "v0.1.0-0.20060102150405-hash",            // Z+1 == 0
            "v1.0.0-0.20060102150405-hash",            // Z+1 == 0
            "v0.0.0-20060102150405-hash+incompatible", // +incompatible without base
            "v0.0.0-20060102150405-hash+metadata",     // metadata without base
        ];
        for v in invalid {
            assert!(pseudo_version_base(v).is_err(), "{v:?}");
        }
    }

    #[test]
    fn inc_decimal_table() {
        let cases = [
            ("0", "1"),
            ("1", "2"),
            ("99", "100"),
            ("100", "101"),
            ("101", "102"),
        ];
        for (input, want) in cases {
            assert_eq!(inc_decimal(input), want, "inc_decimal({input:?})");
        }
    }

    #[test]
    fn dec_decimal_table() {
        let cases = [
            ("", ""),
            ("0", ""),
            ("00", ""),
            ("1", "0"),
            ("2", "1"),
            ("99", "98"),
            ("100", "99"),
            ("101", "100"),
        ];
        for (input, want) in cases {
            assert_eq!(dec_decimal(input), want, "dec_decimal({input:?})");
        }
    }

    #[test]
    fn syntax_edges() {
        let yes = [
            "v1.0.0-20060102150405-abcdef123456",
            "v1.2.3-pre.0.20060102150405-abc",
            "v1.2.3-a.b.0.20060102150405-abc",
            "v3.0.0-20060102150405-abc+incompatible",
        ];
        for v in yes {
            assert!(is_pseudo_version(v), "{v:?}");
        }
        let no = [
            "v1.2.0-20060102150405-abc",      // vX.Y.0 needs Y == 0
            "v1.0.0-2006010215040-abc",       // 13 digits
            "v1.0.0-200601021504050-abc",     // 15 digits
            "v1.0.0-20060102150405-",         // empty rev
            "v1.0.0-20060102150405-ab-c",     // rev with dash
            "v1.2.3-1.20060102150405-abc",    // 1. instead of 0.
            "v1.2.3-pre0.20060102150405-abc", // 0 not its own identifier
            "v1.0.0-20060102150405-abc\0",
            "v1.0.0-2006010215040é-abc",
            "",
            "-",
        ];
        for v in no {
            assert!(!is_pseudo_version(v), "{v:?}");
        }
    }

    #[test]
    fn time_ranges() {
        let cases = [
            ("v0.0.0-20240229235959-abc", true),
            ("v0.0.0-20230229000000-abc", false),
            ("v0.0.0-20000229000000-abc", true),
            ("v0.0.0-21000229000000-abc", false),
            ("v0.0.0-20061302150405-abc", false),
            ("v0.0.0-20060100150405-abc", false),
            ("v0.0.0-20060431150405-abc", false),
            ("v0.0.0-20060102240405-abc", false),
            ("v0.0.0-20060102156005-abc", false),
            ("v0.0.0-20060102150460-abc", false),
            ("v0.0.0-00000101000000-abc", true),
        ];
        for (v, ok) in cases {
            assert_eq!(pseudo_version_time(v).is_ok(), ok, "{v:?}");
        }
        assert_eq!(
            pseudo_version_time("v0.0.0-20061302150405-abc").map_err(|e| e.to_string()),
            Err("pseudo-version \"v0.0.0-20061302150405-abc\" invalid: malformed time \"20061302150405\"".to_owned())
        );
    }

    #[test]
    fn from_unix() {
        let cases = [
            (0, Some("19700101000000")),
            (1_136_214_245, Some("20060102150405")),
            (951_782_400, Some("20000229000000")),
            (-1, Some("19691231235959")),
            (253_402_300_799, Some("99991231235959")),
            (253_402_300_800, None),
            (-62_167_219_200, Some("00000101000000")),
            (-62_167_219_201, None),
            (i64::MIN, None),
            (i64::MAX, None),
        ];
        for (secs, want) in cases {
            let got = PseudoTime::from_unix(secs).map(|t| t.to_string());
            assert_eq!(got.as_deref(), want, "from_unix({secs})");
        }
    }
}
