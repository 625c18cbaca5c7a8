//! Module, import and file path rules (golang.org/x/mod/module).
//!
//! Paths are slash-separated elements. Module paths are the strictest: ASCII
//! letters, digits and `-._~` only, a lower-case domain-like first element,
//! and a well-formed major version suffix. Import paths also allow `+` and
//! leading dots; file paths allow Unicode letters and more punctuation.
//! Every kind rejects Windows reserved names such as `aux` or `COM1.txt`.

use crate::error::{Error, PathKind};
use crate::{semver, unicode_tables};

/// Checks that `path` is a valid module path.
///
/// Beyond the import path rules, the first element must be a lower-case
/// domain name containing a dot, no element may start with a dot, and a
/// trailing `/vN` must be a valid major version (N ≥ 2, no leading zero),
/// or `.vN` for `gopkg.in/` paths.
pub fn check_path(path: &str) -> Result<(), Error> {
    check_module_path(path).map_err(|reason| invalid(PathKind::Module, path, reason))
}

fn check_module_path(path: &str) -> Result<(), String> {
    check(path, PathKind::Module)?;
    let first = path.split('/').next().unwrap_or_default();
    if first.is_empty() {
        return Err("leading slash".into());
    }
    if !first.contains('.') {
        return Err("missing dot in first path element".into());
    }
    if first.starts_with('-') {
        return Err("leading dash in first path element".into());
    }
    // A domain name, lower case only so that case-insensitive hosts can't collide.
    if let Some(c) = first
        .chars()
        .find(|&c| !(c == '-' || c == '.' || c.is_ascii_digit() || c.is_ascii_lowercase()))
    {
        return Err(format!("invalid char {c:?} in first path element"));
    }
    if split_path_version(path).is_none() {
        return Err("invalid version".into());
    }
    Ok(())
}

/// Checks that `path` is a valid package import path.
pub fn check_import_path(path: &str) -> Result<(), Error> {
    check(path, PathKind::Import).map_err(|reason| invalid(PathKind::Import, path, reason))
}

/// Checks that `path` is a valid slash-separated file path, as found in
/// module zip files. Elements may contain Unicode letters, ASCII digits,
/// spaces and `!#$%&()+,-.=@[]^_{}~`.
pub fn check_file_path(path: &str) -> Result<(), Error> {
    check(path, PathKind::File).map_err(|reason| invalid(PathKind::File, path, reason))
}

fn invalid(kind: PathKind, path: &str, reason: String) -> Error {
    Error::InvalidPath {
        kind,
        path: path.to_owned(),
        reason,
    }
}

/// The rules shared by all path kinds; returns the bare reason on failure.
fn check(path: &str, kind: PathKind) -> Result<(), String> {
    // (Go also rejects invalid UTF-8 here; a &str cannot hold any.)
    if path.is_empty() {
        return Err("empty string".into());
    }
    if path.starts_with('-') && kind != PathKind::File {
        return Err("leading dash".into());
    }
    if path.contains("//") {
        return Err("double slash".into());
    }
    if path.ends_with('/') {
        return Err("trailing slash".into());
    }
    path.split('/').try_for_each(|elem| check_elem(elem, kind))
}

/// Checks one path element. Also used for versions in proxy URLs, which
/// must be valid file names.
pub(crate) fn check_elem(elem: &str, kind: PathKind) -> Result<(), String> {
    if elem.is_empty() {
        return Err("empty path element".into());
    }
    if elem.bytes().all(|b| b == b'.') {
        return Err(format!("invalid path element {elem:?}"));
    }
    if elem.starts_with('.') && kind == PathKind::Module {
        return Err("leading dot in path element".into());
    }
    if elem.ends_with('.') {
        return Err("trailing dot in path element".into());
    }
    let char_ok = match kind {
        PathKind::Module => module_char_ok,
        PathKind::Import => import_char_ok,
        PathKind::File => file_char_ok,
    };
    if let Some(c) = elem.chars().find(|&c| !char_ok(c)) {
        return Err(format!("invalid char {c:?}"));
    }

    // Windows reserves these names whatever the case or extension. ASCII
    // case folding suffices: none of their letters has a non-ASCII fold.
    let short = elem.split('.').next().unwrap_or_default();
    if BAD_WINDOWS_NAMES
        .iter()
        .any(|bad| bad.eq_ignore_ascii_case(short))
    {
        return Err(format!(
            "{short:?} disallowed as path element component on Windows"
        ));
    }

    // Windows short names (`PROGRA~1`) matter for import paths only.
    let short_name = short
        .rsplit_once('~')
        .is_some_and(|(_, d)| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()));
    if short_name && kind != PathKind::File {
        return Err("trailing tilde and digits in path element".into());
    }
    Ok(())
}

const BAD_WINDOWS_NAMES: [&str; 22] = [
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// ASCII only, avoiding anything with a meaning in URLs (`%`, `+`, ...).
fn module_char_ok(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')
}

/// `+` is allowed for historical binaries like `g++`.
fn import_char_ok(c: char) -> bool {
    module_char_ok(c) || c == '+'
}

/// Shell and OS special characters (`"'*<>?`|/\:`) stay excluded.
fn file_char_ok(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || "!#$%&()+,-.=@[]^_{}~ ".contains(c)
    } else {
        unicode_tables::contains(unicode_tables::LETTER, c)
    }
}

/// Splits a module path into its prefix and major version suffix, so that
/// `prefix + path_major == path`.
///
/// `path_major` is empty or `/vN` with N ≥ 2; for `gopkg.in/` paths it is
/// `.vN` for any N, optionally followed by `-unstable`. Returns `None` when
/// the last element looks like a malformed major version (`/v1`, `/v0`,
/// `/v2.0`, `/v02`), or when a `gopkg.in/` path has no `.vN`.
pub fn split_path_version(path: &str) -> Option<(&str, &str)> {
    if path.starts_with("gopkg.in/") {
        return split_gopkg_in(path);
    }
    let bytes = path.as_bytes();
    let digits = bytes
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_digit() || **b == b'.')
        .count();
    let i = path.len() - digits;
    if i <= 1 || digits == 0 || bytes[i - 1] != b'v' || bytes[i - 2] != b'/' {
        return Some((path, ""));
    }
    let (prefix, path_major) = path.split_at(i - 2);
    let number = &path_major[2..];
    if number.contains('.') || number.starts_with('0') || number == "1" {
        return None;
    }
    Some((prefix, path_major))
}

fn split_gopkg_in(path: &str) -> Option<(&str, &str)> {
    let stem = path.strip_suffix("-unstable").unwrap_or(path);
    let digits = stem.bytes().rev().take_while(u8::is_ascii_digit).count();
    let i = stem.len() - digits;
    let bytes = path.as_bytes();
    if i <= 1 || bytes[i - 1] != b'v' || bytes[i - 2] != b'.' {
        // Every gopkg.in path ends in .vN.
        return None;
    }
    let (prefix, path_major) = path.split_at(i - 2);
    // Note that `.v-unstable` passes and `.v0-unstable` does not, as in Go.
    if path_major.len() <= 2 || (bytes[i] == b'0' && path_major != ".v0") {
        return None;
    }
    Some((prefix, path_major))
}

/// Reports whether the semantic version `v` suits the path major version
/// suffix `path_major` (as returned by [`split_path_version`]).
pub fn match_path_major(v: &str, path_major: &str) -> bool {
    check_path_major(v, path_major).is_ok()
}

/// Checks that the semantic version `v` suits the path major version suffix
/// `path_major`: an empty suffix accepts v0, v1 and `+incompatible`
/// versions; `/vN` and `.vN` accept vN only.
pub fn check_path_major(v: &str, path_major: &str) -> Result<(), Error> {
    let mut path_major = path_major;
    if path_major.starts_with(".v") {
        path_major = path_major.strip_suffix("-unstable").unwrap_or(path_major);
    }
    // Early pseudo-versions of gopkg.in .v1 packages used v0; go.mod files
    // in the wild still require them.
    if v.starts_with("v0.0.0-") && path_major == ".v1" {
        return Ok(());
    }
    let m = semver::major(v);
    let want = if path_major.is_empty() {
        if m == "v0" || m == "v1" || semver::build(v) == "+incompatible" {
            return Ok(());
        }
        "v0 or v1"
    } else if let Some(suffix) = path_major.strip_prefix(['/', '.']) {
        if m == suffix {
            return Ok(());
        }
        suffix
    } else {
        path_major
    };
    Err(Error::version(v, format!("should be {want}, not {m}")))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// module_test.go's checkPathTests: (path, module ok, import ok, file ok).
    /// Go's row "x.y/\xFFz" (invalid UTF-8) cannot be a &str; it is checked
    /// here with U+FFFD, which is what a lossy decode of it would produce.
    pub(crate) const CHECK_PATH_TESTS: &[(&str, bool, bool, bool)] = &[
        ("x.y/z", true, true, true),
        ("x.y", true, true, true),
        ("", false, false, false),
        ("x.y/\u{FFFD}z", false, false, false),
        ("/x.y/z", false, false, false),
        ("x./z", false, false, false),
        (".x/z", false, true, true),
        ("-x/z", false, false, true),
        ("x..y/z", true, true, true),
        ("x.y/z/../../w", false, false, false),
        ("x.y//z", false, false, false),
        ("x.y/z//w", false, false, false),
        ("x.y/z/", false, false, false),
        ("x.y/z/v0", false, true, true),
        ("x.y/z/v1", false, true, true),
        ("x.y/z/v2", true, true, true),
        ("x.y/z/v2.0", false, true, true),
        ("X.y/z", false, true, true),
        ("!x.y/z", false, false, true),
        ("_x.y/z", false, true, true),
        ("x.y!/z", false, false, true),
        ("x.y\"/z", false, false, false),
        ("x.y#/z", false, false, true),
        ("x.y$/z", false, false, true),
        ("x.y%/z", false, false, true),
        ("x.y&/z", false, false, true),
        ("x.y'/z", false, false, false),
        ("x.y(/z", false, false, true),
        ("x.y)/z", false, false, true),
        ("x.y*/z", false, false, false),
        ("x.y+/z", false, true, true),
        ("x.y,/z", false, false, true),
        ("x.y-/z", true, true, true),
        ("x.y./zt", false, false, false),
        ("x.y:/z", false, false, false),
        ("x.y;/z", false, false, false),
        ("x.y</z", false, false, false),
        ("x.y=/z", false, false, true),
        ("x.y>/z", false, false, false),
        ("x.y?/z", false, false, false),
        ("x.y@/z", false, false, true),
        ("x.y[/z", false, false, true),
        ("x.y\\/z", false, false, false),
        ("x.y]/z", false, false, true),
        ("x.y^/z", false, false, true),
        ("x.y_/z", false, true, true),
        ("x.y`/z", false, false, false),
        ("x.y{/z", false, false, true),
        ("x.y}/z", false, false, true),
        ("x.y~/z", false, true, true),
        ("x.y/z!", false, false, true),
        ("x.y/z\"", false, false, false),
        ("x.y/z#", false, false, true),
        ("x.y/z$", false, false, true),
        ("x.y/z%", false, false, true),
        ("x.y/z&", false, false, true),
        ("x.y/z'", false, false, false),
        ("x.y/z(", false, false, true),
        ("x.y/z)", false, false, true),
        ("x.y/z*", false, false, false),
        ("x.y/z++", false, true, true),
        ("x.y/z,", false, false, true),
        ("x.y/z-", true, true, true),
        ("x.y/z.t", true, true, true),
        ("x.y/z/t", true, true, true),
        ("x.y/z:", false, false, false),
        ("x.y/z;", false, false, false),
        ("x.y/z<", false, false, false),
        ("x.y/z=", false, false, true),
        ("x.y/z>", false, false, false),
        ("x.y/z?", false, false, false),
        ("x.y/z@", false, false, true),
        ("x.y/z[", false, false, true),
        ("x.y/z\\", false, false, false),
        ("x.y/z]", false, false, true),
        ("x.y/z^", false, false, true),
        ("x.y/z_", true, true, true),
        ("x.y/z`", false, false, false),
        ("x.y/z{", false, false, true),
        ("x.y/z}", false, false, true),
        ("x.y/z~", true, true, true),
        ("x.y/x.foo", true, true, true),
        ("x.y/aux.foo", false, false, false),
        ("x.y/prn", false, false, false),
        ("x.y/prn2", true, true, true),
        ("x.y/com", true, true, true),
        ("x.y/com1", false, false, false),
        ("x.y/com1.txt", false, false, false),
        ("x.y/calm1", true, true, true),
        ("x.y/z~", true, true, true),
        ("x.y/z~0", false, false, true),
        ("x.y/z~09", false, false, true),
        ("x.y/z09", true, true, true),
        ("x.y/z09~", true, true, true),
        ("x.y/z09~09z", true, true, true),
        ("x.y/z09~09z~09", false, false, true),
        ("github.com/!123/logrus", false, false, true),
        // Non-ASCII letters are not (yet) allowed in module or import paths.
        ("github.com/user/unicode/испытание", false, false, true),
        ("../x", false, false, false),
        ("./y", false, false, false),
        ("x:y", false, false, false),
        ("\\temp\\foo", false, false, false),
        (".gitignore", false, true, true),
        (".github/ISSUE_TEMPLATE", false, true, true),
        ("x☺y", false, false, false),
    ];

    #[test]
    fn check_path_table() {
        for &(path, ok, import_ok, file_ok) in CHECK_PATH_TESTS {
            assert_eq!(check_path(path).is_ok(), ok, "check_path({path:?})");
            assert_eq!(
                check_import_path(path).is_ok(),
                import_ok,
                "check_import_path({path:?})"
            );
            assert_eq!(
                check_file_path(path).is_ok(),
                file_ok,
                "check_file_path({path:?})"
            );
        }
    }

    #[test]
    fn error_messages() {
        let cases = [
            (
                check_path("x"),
                "malformed module path \"x\": missing dot in first path element",
            ),
            (check_path(""), "malformed module path \"\": empty string"),
            (
                check_path("-x.y"),
                "malformed module path \"-x.y\": leading dash",
            ),
            (
                check_path("x.y//z"),
                "malformed module path \"x.y//z\": double slash",
            ),
            (
                check_path("x.y/"),
                "malformed module path \"x.y/\": trailing slash",
            ),
            (
                check_path("/x.y"),
                "malformed module path \"/x.y\": empty path element",
            ),
            (
                check_path("x.y/.."),
                "malformed module path \"x.y/..\": invalid path element \"..\"",
            ),
            (
                check_path("x.y/.z"),
                "malformed module path \"x.y/.z\": leading dot in path element",
            ),
            (
                check_path("x.y/z."),
                "malformed module path \"x.y/z.\": trailing dot in path element",
            ),
            (
                check_path("x.y/z+"),
                "malformed module path \"x.y/z+\": invalid char '+'",
            ),
            (
                check_path("X.y"),
                "malformed module path \"X.y\": invalid char 'X' in first path element",
            ),
            (
                check_path("x.y/v1"),
                "malformed module path \"x.y/v1\": invalid version",
            ),
            (
                check_import_path("x.y/Nul.go"),
                "malformed import path \"x.y/Nul.go\": \"Nul\" disallowed as path element component on Windows",
            ),
            (
                check_import_path("x.y/a~1"),
                "malformed import path \"x.y/a~1\": trailing tilde and digits in path element",
            ),
            (
                check_file_path("a/b*"),
                "malformed file path \"a/b*\": invalid char '*'",
            ),
        ];
        for (result, want) in cases {
            assert_eq!(result.map_err(|e| e.to_string()), Err(want.to_owned()));
        }
    }

    #[test]
    fn split_path_version_table() {
        let cases = [
            ("x.y/z", ""),
            ("x.y/z", "/v2"),
            ("x.y/z", "/v3"),
            ("x.y/v", ""),
            ("gopkg.in/yaml", ".v0"),
            ("gopkg.in/yaml", ".v1"),
            ("gopkg.in/yaml", ".v2"),
            ("gopkg.in/yaml", ".v3"),
        ];
        for (prefix, major) in cases {
            let path = format!("{prefix}{major}");
            assert_eq!(split_path_version(&path), Some((prefix, major)), "{path:?}");
        }
        // Whatever the verdict, the pieces must add up to the input.
        for &(path, ..) in CHECK_PATH_TESTS {
            if let Some((prefix, major)) = split_path_version(path) {
                assert_eq!(format!("{prefix}{major}"), path);
            }
        }
    }

    #[test]
    fn split_path_version_edges() {
        let cases = [
            ("x.y/z/v1", None),
            ("x.y/z/v0", None),
            ("x.y/z/v02", None),
            ("x.y/z/v2.0", None),
            ("x.y/z/v10", Some(("x.y/z", "/v10"))),
            ("x.y/zv2", Some(("x.y/zv2", ""))),
            ("x.y/z/2", Some(("x.y/z/2", ""))),
            ("v2", Some(("v2", ""))),
            ("/v2", Some(("", "/v2"))),
            ("x/v2", Some(("x", "/v2"))),
            (
                "gopkg.in/yaml.v2-unstable",
                Some(("gopkg.in/yaml", ".v2-unstable")),
            ),
            ("gopkg.in/yaml.v02", None),
            ("gopkg.in/yaml.v00", None),
            ("gopkg.in/yaml", None),
            ("gopkg.in/yaml.v", None),
            ("gopkg.in/yaml/v2", None),
            ("gopkg.in/", None),
            ("gopkg.in/-unstable", None),
            ("gopkg.in/.v1", Some(("gopkg.in/", ".v1"))),
            (
                "gopkg.in/yaml.v-unstable",
                Some(("gopkg.in/yaml", ".v-unstable")),
            ),
            ("gopkg.in/yaml.v0-unstable", None),
            ("gopkg.in/yaml.v0", Some(("gopkg.in/yaml", ".v0"))),
        ];
        for (path, want) in cases {
            assert_eq!(split_path_version(path), want, "{path:?}");
        }
    }

    #[test]
    fn match_path_major_table() {
        let cases = [
            ("v0.0.0", "", true),
            ("v0.0.0", "/v2", false),
            ("v0.0.0", ".v0", true),
            ("v0.0.0-20190510104115-cbcb75029529", ".v1", true),
            ("v1.0.0", "/v2", false),
            ("v1.0.0", ".v1", true),
            ("v1.0.0", ".v1-unstable", true),
            ("v2.0.0+incompatible", "", true),
            ("v2.0.0", "", false),
            ("v2.0.0", "/v2", true),
            ("v2.0.0", ".v2", true),
        ];
        for (v, path_major, want) in cases {
            assert_eq!(
                match_path_major(v, path_major),
                want,
                "({v:?}, {path_major:?})"
            );
            assert_eq!(check_path_major(v, path_major).is_ok(), want);
        }
    }

    #[test]
    fn check_path_major_messages() {
        let cases = [
            (
                "v2.0.0",
                "",
                "version \"v2.0.0\" invalid: should be v0 or v1, not v2",
            ),
            (
                "v1.0.0",
                "/v2",
                "version \"v1.0.0\" invalid: should be v2, not v1",
            ),
            (
                "v1.0.0",
                ".v2-unstable",
                "version \"v1.0.0\" invalid: should be v2, not v1",
            ),
            ("bad", "/v2", "version \"bad\" invalid: should be v2, not "),
            (
                "v1.0.0",
                "v2",
                "version \"v1.0.0\" invalid: should be v2, not v1",
            ),
        ];
        for (v, path_major, want) in cases {
            let got = check_path_major(v, path_major).map_err(|e| e.to_string());
            assert_eq!(got, Err(want.to_owned()));
        }
    }

    #[test]
    fn unicode_letters_in_file_paths() {
        // Letters per Go's unicode.IsLetter, not Rust's broader is_alphabetic.
        assert!(check_file_path("a/é/ß/ǅ/漢字").is_ok());
        for bad in [
            "a/\u{2160}",
            "a/\u{0345}",
            "a/\u{00A0}",
            "a/\u{200B}",
            "a/😀",
            "a/\0",
            "a/\t",
        ] {
            assert!(check_file_path(bad).is_err(), "{bad:?}");
        }
        // Case-insensitive Windows names, but only ASCII folds.
        assert!(check_file_path("cOn.txt").is_err());
        assert!(check_file_path("a/con~1").is_ok());
        assert!(check_file_path("a/b~1").is_ok());
    }
}
