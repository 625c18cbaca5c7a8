//! Naming rules shared by checking and creating zips, following x/mod/zip.

use std::collections::HashMap;

use modgate_module::version::{canonical_version, check};

use crate::{Error, MAX_GO_MOD, MAX_LICENSE, Problem};

/// The module path must be valid and the version canonical, as zip.Create
/// and zip.Unzip require before looking at any file.
pub(crate) fn check_module(path: &str, version: &str) -> Result<(), Error> {
    let canonical = canonical_version(version);
    if canonical != version {
        return Err(Error::NotCanonical {
            version: version.to_owned(),
            canonical,
        });
    }
    check(path, version)?;
    Ok(())
}

/// The `module@version/` prefix every zip entry must start with.
pub(crate) fn prefix(path: &str, version: &str) -> String {
    format!("{path}@{version}/")
}

/// Reports whether Go's `path.Clean(p) == p`.
pub(crate) fn is_clean(p: &str) -> bool {
    clean(p) == p
}

/// Go's `path.Clean`: lexical cleanup of a slash-separated path.
fn clean(p: &str) -> String {
    let rooted = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for elem in p.split('/') {
        match elem {
            "" | "." => {}
            ".." if out.last().is_some_and(|e| *e != "..") => {
                out.pop();
            }
            ".." if rooted => {}
            e => out.push(e),
        }
    }
    let body = out.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".to_owned(),
        (false, false) => body,
    }
}

/// Checks a (clean) file path relative to the module root.
pub(crate) fn check_file_path(p: &str) -> Result<(), Problem> {
    modgate_module::path::check_file_path(p).map_err(Problem::BadPath)
}

/// x/mod's isVendoredPackage. Before Go 1.24 (`go124` false) with its bug:
/// for a nested `/vendor/` it skips only `len("/vendor/")` bytes from the
/// start of the path, not from the match (golang.org/issue/31562); fixing
/// it for older modules would change their hashes. From Go 1.24, keyed on
/// the root go.mod's go directive, the offset is right and
/// `vendor/modules.txt` is left out too.
pub(crate) fn is_vendored_package(name: &str, go124: bool) -> bool {
    if go124 && name == "vendor/modules.txt" {
        return true;
    }
    let skip = if name.starts_with("vendor/") {
        "vendor/".len()
    } else if let Some(j) = name.find("/vendor/") {
        if go124 { j } else { 0 }.saturating_add("/vendor/".len())
    } else {
        return false;
    };
    // Bytes, not chars: Go slices at a byte offset that may split a rune.
    name.as_bytes()[skip..].contains(&b'/')
}

/// Whether a go directive (`1.24`, `1.24.1`, `1.25rc1`) is Go 1.24 or later,
/// comparing language versions as x/mod's `version.Lang` does.
pub(crate) fn is_go124(go: Option<&str>) -> bool {
    let Some(go) = go else { return false };
    let number = |s: &str| -> u64 {
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        s[..digits].parse().unwrap_or(0)
    };
    let mut parts = go.split('.');
    let major = parts.next().map_or(0, number);
    let minor = parts.next().map_or(0, number);
    (major, minor) >= (1, 24)
}

/// Size limits that apply to particular files in the module root.
pub(crate) fn size_problem(name: &str, size: u64) -> Option<Problem> {
    match name {
        "go.mod" if size > MAX_GO_MOD => Some(Problem::GoModTooLarge),
        "LICENSE" if size > MAX_LICENSE => Some(Problem::LicenseTooLarge),
        _ => None,
    }
}

/// The parent directory of a clean path, or None at the top level.
pub(crate) fn parent(p: &str) -> Option<&str> {
    p.rsplit_once('/').map(|(dir, _)| dir)
}

/// Finds paths equal under Unicode case folding, and paths used both as a
/// file and as a directory (x/mod's collisionChecker).
#[derive(Default)]
pub(crate) struct Collisions {
    seen: HashMap<String, (String, bool)>,
}

impl Collisions {
    /// Records `p` and its parent directories.
    pub(crate) fn check(&mut self, p: &str, is_dir: bool) -> Result<(), Problem> {
        let mut p = p;
        let mut is_dir = is_dir;
        loop {
            match self.seen.get(&str_to_fold(p)) {
                Some((other, _)) if other != p => {
                    return Err(Problem::CaseCollision(other.clone(), p.to_owned()));
                }
                Some((_, other_dir)) if *other_dir != is_dir => {
                    return Err(Problem::FileAndDirectory(p.to_owned()));
                }
                Some(_) if !is_dir => return Err(Problem::Duplicate(p.to_owned())),
                // A directory seen again is fine; its parents are rechecked
                // as Go does.
                Some(_) => {}
                None => {
                    self.seen.insert(str_to_fold(p), (p.to_owned(), is_dir));
                }
            }
            match parent(p) {
                Some(dir) => (p, is_dir) = (dir, true),
                None => return Ok(()),
            }
        }
    }
}

/// Maps `s` so that two strings map alike exactly when Go's
/// `strings.EqualFold` says they are equal.
pub(crate) fn str_to_fold(s: &str) -> String {
    if s.bytes().all(|b| !b.is_ascii_uppercase() && b.is_ascii()) {
        return s.to_owned();
    }
    s.chars().map(fold_char).collect()
}

/// A representative of `c`'s simple case-folding orbit. Upper- then
/// lower-casing merges orbits like {k, K, U+212A} and {s, S, U+017F}; dotless
/// ı is the one letter whose uppercase (I) is outside its orbit. Checked
/// against Go 1.23's unicode.SimpleFold for every code point; letters added
/// after Unicode 15 may fold here but not in older Go releases.
fn fold_char(c: char) -> char {
    fn single(mut it: impl Iterator<Item = char>) -> Option<char> {
        let c = it.next()?;
        it.next().is_none().then_some(c)
    }
    if c == 'ı' {
        return c;
    }
    let upper = single(c.to_uppercase()).unwrap_or(c);
    single(upper.to_lowercase()).unwrap_or(upper)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_matches_go() {
        for (p, want) in [
            ("", "."),
            (".", "."),
            ("a/b", "a/b"),
            ("a//b", "a/b"),
            ("a/./b", "a/b"),
            ("a/../b", "b"),
            ("a/../..", ".."),
            ("../a", "../a"),
            ("/../a", "/a"),
            ("a/", "a"),
            ("/", "/"),
        ] {
            assert_eq!(clean(p), want, "clean({p:?})");
        }
    }

    #[test]
    fn vendored() {
        for (p, want) in [
            ("vendor/modules.txt", false),
            ("vendor/example.com/x/x.go", true),
            ("sub/vendor/sub.txt", true),
            ("x/vendor/y", true),
            ("a/b/vendor/c", true), // the x/mod offset bug: "c" is not in a package
            ("abcdefgh/vendor/c", true),
            ("a.go", false),
        ] {
            assert_eq!(is_vendored_package(p, false), want, "{p}");
        }
        // Go 1.24: modules.txt goes, the nested offset is right.
        for (p, want) in [
            ("vendor/modules.txt", true),
            ("vendor/example.com/x/x.go", true),
            ("sub/vendor/sub.txt", false),
            ("a/b/vendor/c", false),
            ("a/b/vendor/c/d.go", true),
            ("vendor.go", false),
        ] {
            assert_eq!(is_vendored_package(p, true), want, "{p}");
        }
    }

    #[test]
    fn go124_from_directive() {
        for (go, want) in [
            (None, false),
            (Some("1.23"), false),
            (Some("1.23.5"), false),
            (Some("1.24"), true),
            (Some("1.24rc1"), true),
            (Some("1.24.0"), true),
            (Some("1.100"), true),
            (Some("2.0"), true),
        ] {
            assert_eq!(is_go124(go), want, "{go:?}");
        }
    }

    #[test]
    fn folding() {
        assert_eq!(str_to_fold("abc"), "abc");
        assert_eq!(str_to_fold("ABC"), str_to_fold("abc"));
        assert_eq!(str_to_fold("\u{212A}"), str_to_fold("k"));
        assert_eq!(str_to_fold("ſ"), str_to_fold("S"));
        assert_eq!(str_to_fold("ς"), str_to_fold("Σ"));
        assert_eq!(str_to_fold("ẞ"), str_to_fold("ß"));
        assert_ne!(str_to_fold("ı"), str_to_fold("i"));
        assert_ne!(str_to_fold("İ"), str_to_fold("i"));
    }

    #[test]
    fn collisions() {
        let mut c = Collisions::default();
        c.check("a/b.go", false).unwrap();
        c.check("a/c.go", false).unwrap();
        assert!(
            matches!(c.check("A/d.go", false), Err(Problem::CaseCollision(a, b)) if a == "a" && b == "A")
        );
        assert!(matches!(c.check("a", false), Err(Problem::FileAndDirectory(p)) if p == "a"));
        assert!(matches!(c.check("a/b.go", false), Err(Problem::Duplicate(p)) if p == "a/b.go"));
        c.check("a", true).unwrap();
    }
}
