//! The case-safe encoding of module paths and versions used in proxy URLs
//! and the module cache: each upper-case letter becomes `!` plus its
//! lower-case form (`github.com/Azure` → `github.com/!azure`), so that the
//! protocol can be served from case-insensitive file systems.

use crate::error::{Error, PathKind};
use crate::path::{check_elem, check_path};

/// Returns the escaped form of a module path, which must be valid.
pub fn escape_path(path: &str) -> Result<String, Error> {
    check_path(path)?;
    // A valid module path is ASCII without `!`, so escaping cannot fail.
    Ok(escape(path))
}

/// Returns the escaped form of a version. Versions need not be semantic
/// versions (they may be branch names), but must be valid file names and
/// contain no `!`.
pub fn escape_version(v: &str) -> Result<String, Error> {
    // File names may contain Unicode letters, which the encoding can't express.
    if check_elem(v, PathKind::File).is_err() || v.contains('!') || !v.is_ascii() {
        return Err(Error::version(v, "disallowed version string"));
    }
    Ok(escape(v))
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_uppercase() {
            out.push('!');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Returns the module path for an escaped path, rejecting malformed
/// escapes (upper case, `!` not followed by a lower-case letter) and
/// escapes of invalid module paths.
pub fn unescape_path(escaped: &str) -> Result<String, Error> {
    let invalid = |reason| Error::InvalidEscape {
        what: "module path",
        escaped: escaped.to_owned(),
        reason,
    };
    let path = unescape(escaped).ok_or_else(|| invalid(None))?;
    check_path(&path).map_err(|e| invalid(Some(e.to_string())))?;
    Ok(path)
}

/// Returns the version for an escaped version, rejecting malformed escapes
/// and results that are not valid file names.
pub fn unescape_version(escaped: &str) -> Result<String, Error> {
    let v = unescape(escaped).ok_or_else(|| Error::InvalidEscape {
        what: "version",
        escaped: escaped.to_owned(),
        reason: None,
    })?;
    // Go reports the unescaped form here.
    check_elem(&v, PathKind::File).map_err(|reason| Error::InvalidEscape {
        what: "version",
        escaped: v.clone(),
        reason: Some(reason),
    })?;
    Ok(v)
}

/// Undoes [`escape`], or returns `None` if `escaped` could not have come
/// from it: only ASCII, no upper case, and every `!` before a lower-case letter.
fn unescape(escaped: &str) -> Option<String> {
    let mut out = String::with_capacity(escaped.len());
    let mut chars = escaped.chars();
    while let Some(c) = chars.next() {
        match c {
            '!' => match chars.next() {
                Some(l) if l.is_ascii_lowercase() => out.push(l.to_ascii_uppercase()),
                _ => return None,
            },
            c if !c.is_ascii() || c.is_ascii_uppercase() => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::tests::CHECK_PATH_TESTS;

    /// module_test.go's escapeTests: (path, escaped); empty means unchanged.
    const ESCAPE_TESTS: &[(&str, &str)] = &[
        ("ascii.com/abcdefghijklmnopqrstuvwxyz.-/~_0123456789", ""),
        (
            "github.com/GoogleCloudPlatform/omega",
            "github.com/!google!cloud!platform/omega",
        ),
    ];

    #[test]
    fn escape_path_table() {
        for &(path, ok, ..) in CHECK_PATH_TESTS {
            if !ok {
                assert!(escape_path(path).is_err(), "escape_path({path:?})");
            }
        }
        for &(path, esc) in ESCAPE_TESTS {
            let want = if esc.is_empty() { path } else { esc };
            assert_eq!(
                escape_path(path).as_deref(),
                Ok(want),
                "escape_path({path:?})"
            );
        }
    }

    #[test]
    fn unescape_path_table() {
        let bad = [
            "github.com/GoogleCloudPlatform/omega",
            "github.com/!google!cloud!platform!/omega",
            "github.com/!0google!cloud!platform/omega",
            "github.com/!_google!cloud!platform/omega",
            "github.com/!!google!cloud!platform/omega",
            "",
        ];
        for escaped in bad {
            assert!(
                unescape_path(escaped).is_err(),
                "unescape_path({escaped:?})"
            );
        }
        for &(path, ok, ..) in CHECK_PATH_TESTS {
            if !ok {
                assert!(unescape_path(path).is_err(), "unescape_path({path:?})");
            }
        }
        for &(path, esc) in ESCAPE_TESTS {
            let esc = if esc.is_empty() { path } else { esc };
            assert_eq!(
                unescape_path(esc).as_deref(),
                Ok(path),
                "unescape_path({esc:?})"
            );
        }
    }

    #[test]
    fn unescape_path_edges() {
        let cases = [
            ("github.com/!azure/x", Ok("github.com/Azure/x")),
            ("github.com/!a!b!c", Ok("github.com/ABC")),
            (
                "github.com/x!",
                Err("invalid escaped module path \"github.com/x!\""),
            ),
            (
                "github.com/é",
                Err("invalid escaped module path \"github.com/é\""),
            ),
            (
                "github.com/!é",
                Err("invalid escaped module path \"github.com/!é\""),
            ),
            (
                "github.com/x\0",
                Err(
                    "invalid escaped module path \"github.com/x\\0\": malformed module path \"github.com/x\\0\": invalid char '\\0'",
                ),
            ),
            (
                "!github.com/x",
                Err(
                    "invalid escaped module path \"!github.com/x\": malformed module path \"Github.com/x\": invalid char 'G' in first path element",
                ),
            ),
        ];
        for (escaped, want) in cases {
            let got = unescape_path(escaped);
            let got = got.as_deref().map_err(|e| e.to_string());
            assert_eq!(
                got,
                want.map_err(str::to_owned),
                "unescape_path({escaped:?})"
            );
        }
    }

    #[test]
    fn versions() {
        let cases = [
            ("v1.2.3", "v1.2.3"),
            ("v1.2.3-Pre", "v1.2.3-!pre"),
            ("master", "master"),
            ("Feature-X", "!feature-!x"),
            ("v1.0.0+incompatible", "v1.0.0+incompatible"),
            ("a b", "a b"),
        ];
        for (v, esc) in cases {
            assert_eq!(
                escape_version(v).as_deref(),
                Ok(esc),
                "escape_version({v:?})"
            );
            assert_eq!(
                unescape_version(esc).as_deref(),
                Ok(v),
                "unescape_version({esc:?})"
            );
        }
        let bad_escape = [
            "", "..", ".", "a!", "a!b", "v1/2", "a:b", "a*", "é", "x.", "con", "LPT1.txt", "a\0",
            "!é",
        ];
        for v in bad_escape {
            assert!(escape_version(v).is_err(), "escape_version({v:?})");
        }
        let bad_unescape = [
            "", "V1.0.0", "!", "v!", "!!a", "!1", "é", "a/b", "..", "a\0", "a\"", "aux", "!a!u!x",
        ];
        for esc in bad_unescape {
            assert!(unescape_version(esc).is_err(), "unescape_version({esc:?})");
        }
        // Leading dots and ~digits are fine in file names, unlike module paths.
        assert_eq!(unescape_version(".hidden~1").as_deref(), Ok(".hidden~1"));
        assert_eq!(
            unescape_version("a!b*").map_err(|e| e.to_string()),
            Err("invalid escaped version \"aB*\": invalid char '*'".to_owned())
        );
        assert_eq!(
            escape_version("a!").map_err(|e| e.to_string()),
            Err("version \"a!\" invalid: disallowed version string".to_owned())
        );
    }
}
