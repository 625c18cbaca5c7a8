//! Semantic versions as the go command understands them (golang.org/x/mod/semver).
//!
//! Versions must start with `v`. `vMAJOR` and `vMAJOR.MINOR` are accepted as
//! shorthands for `vMAJOR.0.0` and `vMAJOR.MINOR.0`, but only without
//! prerelease or build suffixes. Functions taking a version treat an invalid
//! one as the empty string would be treated: they never panic.

use std::cmp::Ordering;

/// The pieces of a valid version, each borrowed from the input.
struct Parsed<'a> {
    major: &'a str,
    minor: &'a str,
    patch: &'a str,
    /// What a shorthand lacks to be complete (`".0.0"`, `".0"` or `""`).
    short: &'static str,
    /// Including the leading `-`, or empty.
    prerelease: &'a str,
    /// Including the leading `+`, or empty.
    build: &'a str,
}

fn parse(v: &str) -> Option<Parsed<'_>> {
    let rest = v.strip_prefix('v')?;
    let (major, rest) = parse_int(rest)?;
    let mut p = Parsed {
        major,
        minor: "0",
        patch: "0",
        short: ".0.0",
        prerelease: "",
        build: "",
    };
    if rest.is_empty() {
        return Some(p);
    }
    let (minor, rest) = parse_int(rest.strip_prefix('.')?)?;
    p.minor = minor;
    p.short = ".0";
    if rest.is_empty() {
        return Some(p);
    }
    let (patch, mut rest) = parse_int(rest.strip_prefix('.')?)?;
    p.patch = patch;
    p.short = "";
    if rest.starts_with('-') {
        (p.prerelease, rest) = parse_prerelease(rest)?;
    }
    if rest.starts_with('+') {
        (p.build, rest) = parse_build(rest)?;
    }
    rest.is_empty().then_some(p)
}

/// Splits off a decimal number without leading zeros.
fn parse_int(v: &str) -> Option<(&str, &str)> {
    let end = v
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(v.len());
    if end == 0 || (end > 1 && v.starts_with('0')) {
        return None;
    }
    Some(v.split_at(end))
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

fn is_num(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

/// A numeric identifier with a leading zero, which SemVer forbids in prereleases.
fn is_bad_num(s: &str) -> bool {
    s.len() > 1 && s.starts_with('0') && is_num(s)
}

/// Splits `-ident.ident...` off `v`, stopping at `+`.
fn parse_prerelease(v: &str) -> Option<(&str, &str)> {
    let end = v.find('+').unwrap_or(v.len());
    let pre = v.get(1..end)?;
    let ok = pre
        .split('.')
        .all(|id| !id.is_empty() && !is_bad_num(id) && id.bytes().all(is_ident_char));
    ok.then(|| v.split_at(end))
}

/// Splits `+ident.ident...` off `v`; build identifiers may be anything non-empty.
fn parse_build(v: &str) -> Option<(&str, &str)> {
    let ok = v
        .get(1..)?
        .split('.')
        .all(|id| !id.is_empty() && id.bytes().all(is_ident_char));
    ok.then_some((v, ""))
}

/// Reports whether `v` is a valid semantic version string.
pub fn is_valid(v: &str) -> bool {
    parse(v).is_some()
}

/// Returns the canonical form of `v`: shorthands are completed and build
/// metadata is dropped (`v1.2` → `v1.2.0`, `v1.2.3+meta` → `v1.2.3`).
/// Returns the empty string for an invalid version.
pub fn canonical(v: &str) -> String {
    match parse(v) {
        None => String::new(),
        Some(p) if !p.build.is_empty() => v[..v.len() - p.build.len()].to_owned(),
        Some(p) => format!("{v}{}", p.short),
    }
}

/// Returns the major version prefix, like `v2`, or `""` if `v` is invalid.
pub fn major(v: &str) -> String {
    parse(v)
        .map(|p| format!("v{}", p.major))
        .unwrap_or_default()
}

/// Returns the `vMAJOR.MINOR` prefix, or `""` if `v` is invalid.
pub fn major_minor(v: &str) -> String {
    parse(v)
        .map(|p| format!("v{}.{}", p.major, p.minor))
        .unwrap_or_default()
}

/// Returns the prerelease suffix including its `-`, or `""`.
pub fn prerelease(v: &str) -> &str {
    parse(v).map_or("", |p| p.prerelease)
}

/// Returns the build suffix including its `+`, or `""`.
pub fn build(v: &str) -> &str {
    parse(v).map_or("", |p| p.build)
}

/// Compares two versions by SemVer precedence, ignoring build metadata.
/// An invalid version sorts before every valid one and equal to other invalid ones.
pub fn compare(v: &str, w: &str) -> Ordering {
    match (parse(v), parse(w)) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(a), Some(b)) => compare_int(a.major, b.major)
            .then_with(|| compare_int(a.minor, b.minor))
            .then_with(|| compare_int(a.patch, b.patch))
            .then_with(|| compare_prerelease(a.prerelease, b.prerelease)),
    }
}

/// Returns the larger of the canonical forms of `v` and `w` (`w` on a tie).
pub fn max(v: &str, w: &str) -> String {
    let (v, w) = (canonical(v), canonical(w));
    if compare(&v, &w) == Ordering::Greater {
        v
    } else {
        w
    }
}

/// Sorts versions by [`compare`], breaking ties by plain string order so
/// that the result is deterministic.
pub fn sort(list: &mut [String]) {
    list.sort_by(|a, b| compare(a, b).then_with(|| a.cmp(b)));
}

/// Compares decimal strings without leading zeros: longer means larger.
fn compare_int(x: &str, y: &str) -> Ordering {
    x.len().cmp(&y.len()).then_with(|| x.cmp(y))
}

fn compare_prerelease(x: &str, y: &str) -> Ordering {
    // A release ranks above all of its prereleases.
    match (x.is_empty(), y.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        (false, false) => {}
    }
    let mut xs = x[1..].split('.');
    let mut ys = y[1..].split('.');
    loop {
        match (xs.next(), ys.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(dx), Some(dy)) if dx == dy => {}
            (Some(dx), Some(dy)) => {
                return match (is_num(dx), is_num(dy)) {
                    (true, true) => compare_int(dx, dy),
                    // Numeric identifiers rank below alphanumeric ones.
                    (true, false) => Ordering::Less,
                    (false, true) => Ordering::Greater,
                    (false, false) => dx.cmp(dy),
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// semver_test.go's table, in increasing order; `out` is the canonical
    /// form, empty for invalid input.
    const TESTS: &[(&str, &str)] = &[
        ("bad", ""),
        ("v1-alpha.beta.gamma", ""),
        ("v1-pre", ""),
        ("v1+meta", ""),
        ("v1-pre+meta", ""),
        ("v1.2-pre", ""),
        ("v1.2+meta", ""),
        ("v1.2-pre+meta", ""),
        ("v1.0.0-alpha", "v1.0.0-alpha"),
        ("v1.0.0-alpha.1", "v1.0.0-alpha.1"),
        ("v1.0.0-alpha.beta", "v1.0.0-alpha.beta"),
        ("v1.0.0-beta", "v1.0.0-beta"),
        ("v1.0.0-beta.2", "v1.0.0-beta.2"),
        ("v1.0.0-beta.11", "v1.0.0-beta.11"),
        ("v1.0.0-rc.1", "v1.0.0-rc.1"),
        ("v1", "v1.0.0"),
        ("v1.0", "v1.0.0"),
        ("v1.0.0", "v1.0.0"),
        ("v1.2", "v1.2.0"),
        ("v1.2.0", "v1.2.0"),
        ("v1.2.3-456", "v1.2.3-456"),
        ("v1.2.3-456.789", "v1.2.3-456.789"),
        ("v1.2.3-456-789", "v1.2.3-456-789"),
        ("v1.2.3-456a", "v1.2.3-456a"),
        ("v1.2.3-pre", "v1.2.3-pre"),
        ("v1.2.3-pre+meta", "v1.2.3-pre"),
        ("v1.2.3-pre.1", "v1.2.3-pre.1"),
        ("v1.2.3-zzz", "v1.2.3-zzz"),
        ("v1.2.3", "v1.2.3"),
        ("v1.2.3+meta", "v1.2.3"),
        ("v1.2.3+meta-pre", "v1.2.3"),
        ("v1.2.3+meta-pre.sha.256a", "v1.2.3"),
    ];

    #[test]
    fn is_valid_table() {
        for &(input, out) in TESTS {
            assert_eq!(is_valid(input), !out.is_empty(), "is_valid({input:?})");
        }
    }

    #[test]
    fn canonical_table() {
        for &(input, out) in TESTS {
            assert_eq!(canonical(input), out, "canonical({input:?})");
        }
    }

    #[test]
    fn major_table() {
        for &(input, out) in TESTS {
            let want = out.find('.').map_or("", |i| &out[..i]);
            assert_eq!(major(input), want, "major({input:?})");
        }
    }

    #[test]
    fn major_minor_table() {
        for &(input, out) in TESTS {
            let mut want = String::new();
            if !out.is_empty() {
                let mut w = input;
                if let Some(i) = w.find('+') {
                    w = &w[..i];
                }
                if let Some(i) = w.find('-') {
                    w = &w[..i];
                }
                want = match w.matches('.').count() {
                    0 => format!("{w}.0"),
                    1 => w.to_owned(),
                    _ => w[..w.rfind('.').unwrap_or(w.len())].to_owned(),
                };
            }
            assert_eq!(major_minor(input), want, "major_minor({input:?})");
        }
    }

    #[test]
    fn prerelease_table() {
        for &(input, out) in TESTS {
            let want = out.find('-').map_or("", |i| &out[i..]);
            assert_eq!(prerelease(input), want, "prerelease({input:?})");
        }
    }

    #[test]
    fn build_table() {
        for &(input, out) in TESTS {
            let want = match input.find('+') {
                Some(i) if !out.is_empty() => &input[i..],
                _ => "",
            };
            assert_eq!(build(input), want, "build({input:?})");
        }
    }

    #[test]
    fn compare_table() {
        for (i, &(vi, oi)) in TESTS.iter().enumerate() {
            for (j, &(vj, oj)) in TESTS.iter().enumerate() {
                let want = if oi == oj { Ordering::Equal } else { i.cmp(&j) };
                assert_eq!(compare(vi, vj), want, "compare({vi:?}, {vj:?})");
            }
        }
    }

    #[test]
    fn max_table() {
        for (i, &(vi, _)) in TESTS.iter().enumerate() {
            for (j, &(vj, _)) in TESTS.iter().enumerate() {
                let want = if i < j { canonical(vj) } else { canonical(vi) };
                assert_eq!(max(vi, vj), want, "max({vi:?}, {vj:?})");
            }
        }
    }

    #[test]
    fn sort_orders_like_go() {
        // The table is already in order, so any permutation must sort back to
        // it, except that ties keep string order.
        let mut want: Vec<String> = TESTS.iter().map(|&(v, _)| v.to_owned()).collect();
        want.sort_by(|a, b| compare(a, b).then_with(|| a.cmp(b)));
        let mut got = want.clone();
        got.reverse();
        got.rotate_left(7);
        sort(&mut got);
        assert_eq!(got, want);
        assert!(
            got.windows(2)
                .all(|w| compare(&w[0], &w[1]) != Ordering::Greater)
        );
        // Invalid versions first, equal versions by string.
        let mut list: Vec<String> = ["v1.0.0+b", "v1.0.0", "x", "v0.9", "v1.0.0+a"]
            .map(String::from)
            .into();
        sort(&mut list);
        assert_eq!(list, ["x", "v0.9", "v1.0.0", "v1.0.0+a", "v1.0.0+b"]);
    }

    #[test]
    fn extra_edge_cases() {
        let invalid = [
            "",
            "v",
            "v01",
            "v1.01",
            "v1.0.01",
            "1.0.0",
            "v1.0.0-",
            "v1.0.0+",
            "v1.0.0-01",
            "v1.0.0-a..b",
            "v1.0.0+a..b",
            "v1.0.0-é",
            "v1.0.0+é",
            "v1.0.0 ",
            "v1.0.0\0",
            "V1.0.0",
            "v1.0.0-a+b+c",
            "vé",
            "v1.é",
        ];
        for v in invalid {
            assert!(!is_valid(v), "{v:?}");
            assert_eq!(canonical(v), "");
            assert_eq!(major(v), "");
            assert_eq!(major_minor(v), "");
            assert_eq!(prerelease(v), "");
            assert_eq!(build(v), "");
        }
        assert!(is_valid("v0.0.0-0"));
        assert!(
            is_valid("v1.0.0+01"),
            "build identifiers may have leading zeros"
        );
        assert!(is_valid("v1.0.0-a-+-"));
        assert_eq!(compare("v1.0.0-2", "v1.0.0-10"), Ordering::Less);
        assert_eq!(compare("v1.0.0-a", "v1.0.0-a.0"), Ordering::Less);
        assert_eq!(compare("v10.0.0", "v9.0.0"), Ordering::Greater);
        assert_eq!(compare("v1.0.0+a", "v1.0.0+b"), Ordering::Equal);
        assert_eq!(compare("", "bad"), Ordering::Equal);
    }
}
