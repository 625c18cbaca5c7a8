//! The crate's single error type.

use std::fmt;

/// Why a path, version, escaped string or go.mod file was rejected.
///
/// The messages follow the wording of golang.org/x/mod so that they read
/// the same as the go command's diagnostics.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A module, import or file path breaks a naming rule.
    #[error("malformed {kind} path {path:?}: {reason}")]
    InvalidPath {
        kind: PathKind,
        path: String,
        reason: String,
    },

    /// A version is malformed or does not suit its module path.
    /// `path` is set when the module path is known.
    #[error("{}", version_message(.path.as_deref(), .version, *.pseudo, .reason))]
    InvalidVersion {
        path: Option<String>,
        version: String,
        pseudo: bool,
        reason: String,
    },

    /// An escaped module path or version (as found in proxy URLs) is invalid.
    #[error("invalid escaped {what} {escaped:?}{}", detail(.reason.as_deref()))]
    InvalidEscape {
        /// `"module path"` or `"version"`.
        what: &'static str,
        escaped: String,
        reason: Option<String>,
    },

    /// A GOPROXY entry the go command refuses (`url` is redacted).
    #[error("{reason}: {url}")]
    InvalidProxyUrl { url: String, reason: &'static str },

    /// A GOPROXY entry that is no URL at all (Go's url.Parse error).
    #[error("parse {url:?}: {reason}")]
    ProxyUrlSyntax { url: String, reason: String },

    /// A GOPROXY list of nothing but separators.
    #[error("GOPROXY list is not the empty string, but contains no entries")]
    EmptyProxyList,

    /// A `.info` or `@latest` answer that is not a version's metadata.
    #[error("{module}: {reason}")]
    InvalidInfo { module: String, reason: String },

    /// go.mod text that golang.org/x/mod/modfile's parser rejects.
    #[error("{}: {message}", position(*.line, *.column))]
    Syntax {
        line: usize,
        /// Counted in characters, starting at 1.
        column: usize,
        message: String,
    },

    /// A go.sum or module list line that names no module version.
    #[error("line {line}: {reason}")]
    BadListLine { line: usize, reason: String },
}

/// Which set of path rules was applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PathKind {
    Module,
    Import,
    File,
}

impl fmt::Display for PathKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathKind::Module => "module",
            PathKind::Import => "import",
            PathKind::File => "file",
        })
    }
}

impl Error {
    pub(crate) fn version(version: &str, reason: impl Into<String>) -> Self {
        Error::InvalidVersion {
            path: None,
            version: version.to_owned(),
            pseudo: false,
            reason: reason.into(),
        }
    }

    pub(crate) fn pseudo(version: &str, reason: impl Into<String>) -> Self {
        Error::InvalidVersion {
            path: None,
            version: version.to_owned(),
            pseudo: true,
            reason: reason.into(),
        }
    }

    /// Attaches the module path to a version error, as Go's ModuleError does.
    pub(crate) fn in_module(self, module: &str) -> Self {
        match self {
            Error::InvalidVersion {
                path: None,
                version,
                pseudo,
                reason,
            } => Error::InvalidVersion {
                path: Some(module.to_owned()),
                version,
                pseudo,
                reason,
            },
            other => other,
        }
    }
}

fn version_message(path: Option<&str>, version: &str, pseudo: bool, reason: &str) -> String {
    let noun = if pseudo { "pseudo-version" } else { "version" };
    match path {
        Some(path) => format!("{path}@{version}: invalid {noun}: {reason}"),
        None => format!("{noun} {version:?} invalid: {reason}"),
    }
}

/// Like modfile, leaves out the column when it is 1 (the common case).
fn position(line: usize, column: usize) -> String {
    if column > 1 {
        format!("go.mod:{line}:{column}")
    } else {
        format!("go.mod:{line}")
    }
}

fn detail(reason: Option<&str>) -> String {
    reason.map(|r| format!(": {r}")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        let cases = [
            (
                Error::InvalidPath {
                    kind: PathKind::Module,
                    path: "x".into(),
                    reason: "missing dot in first path element".into(),
                },
                r#"malformed module path "x": missing dot in first path element"#,
            ),
            (
                Error::version("v1", "not a semantic version"),
                r#"version "v1" invalid: not a semantic version"#,
            ),
            (
                Error::pseudo("v1", "syntax error"),
                r#"pseudo-version "v1" invalid: syntax error"#,
            ),
            (
                Error::version("v2.0.0", "should be v0 or v1, not v2").in_module("x.y/z"),
                "x.y/z@v2.0.0: invalid version: should be v0 or v1, not v2",
            ),
            (
                Error::InvalidEscape {
                    what: "version",
                    escaped: "!".into(),
                    reason: None,
                },
                r#"invalid escaped version "!""#,
            ),
            (
                Error::InvalidEscape {
                    what: "module path",
                    escaped: "x".into(),
                    reason: Some("boom".into()),
                },
                r#"invalid escaped module path "x": boom"#,
            ),
            (
                Error::Syntax {
                    line: 2,
                    column: 3,
                    message: "unexpected newline in string".into(),
                },
                "go.mod:2:3: unexpected newline in string",
            ),
            (
                Error::Syntax {
                    line: 4,
                    column: 1,
                    message: "unexpected EOF in string".into(),
                },
                "go.mod:4: unexpected EOF in string",
            ),
        ];
        for (err, want) in cases {
            assert_eq!(err.to_string(), want);
        }
    }

    #[test]
    fn in_module_keeps_other_errors() {
        let err = Error::InvalidPath {
            kind: PathKind::File,
            path: "a".into(),
            reason: "r".into(),
        };
        assert_eq!(err.clone().in_module("x.y"), err);
    }
}
