//! The GOPROXY protocol's request paths: parsing what clients ask for and
//! building the same paths for upstream proxies.

use modgate_module::{escape, semver, version};
use percent_encoding::percent_decode_str;

use crate::Key;

/// Longest request path served.
const MAX_PATH: usize = 4096;
/// Longest path element (a file name on most file systems).
const MAX_ELEMENT: usize = 255;

/// What a client asks of a module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    List,
    Latest,
    /// A canonical version, or a query (branch, tag, commit) resolved upstream.
    Info(String),
    Mod(String),
    Zip(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub module: String,
    pub kind: Kind,
    /// The escaped GOPROXY path, without a leading slash.
    path: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    /// A path no GOPROXY endpoint answers to.
    #[error("not found: {0}")]
    NotFound(String),
    /// A protocol path with a malformed module path or version.
    #[error("{0}")]
    BadRequest(String),
}

impl Request {
    /// Parses a raw (percent-encoded) URL path such as `/golang.org/x/text/@v/list`.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let decoded = percent_decode_str(raw)
            .decode_utf8()
            .map_err(|_| ParseError::BadRequest("path is not valid UTF-8".into()))?;
        if decoded.contains(['\0', '\\']) {
            return Err(ParseError::BadRequest(
                "path contains a NUL byte or a backslash".into(),
            ));
        }
        let path = decoded.strip_prefix('/').unwrap_or(&decoded);
        // Longer paths or elements name nothing that can be stored (file
        // systems refuse them); say so rather than fail in storage.
        if path.len() > MAX_PATH {
            return Err(ParseError::BadRequest(format!(
                "request path is longer than {MAX_PATH} bytes"
            )));
        }
        if path.split('/').any(|e| e.len() > MAX_ELEMENT) {
            return Err(ParseError::BadRequest(format!(
                "a path element is longer than {MAX_ELEMENT} bytes"
            )));
        }
        if let Some(escaped) = path.strip_suffix("/@latest") {
            let module = unescape_module(escaped)?;
            return Ok(Self {
                module,
                kind: Kind::Latest,
                path: path.to_owned(),
            });
        }
        let Some((escaped, file)) = path.split_once("/@v/") else {
            return Err(ParseError::NotFound(format!("unknown path {path:?}")));
        };
        let module = unescape_module(escaped)?;
        if file == "list" {
            return Ok(Self {
                module,
                kind: Kind::List,
                path: path.to_owned(),
            });
        }
        let Some((escaped_version, ext)) = file.rsplit_once('.') else {
            return Err(ParseError::NotFound(format!("unknown path {path:?}")));
        };
        let make: fn(String) -> Kind = match ext {
            "info" => Kind::Info,
            "mod" => Kind::Mod,
            "zip" => Kind::Zip,
            _ => return Err(ParseError::NotFound(format!("unknown path {path:?}"))),
        };
        let v = escape::unescape_version(escaped_version).map_err(|e| {
            ParseError::BadRequest(format!("invalid version {escaped_version:?}: {e}"))
        })?;
        let kind = make(v);
        if let Kind::Mod(v) | Kind::Zip(v) = &kind
            && !version::is_canonical(v)
        {
            return Err(ParseError::BadRequest(format!(
                "{module}@{v}: version must be canonical (e.g. {})",
                suggest_canonical(v)
            )));
        }
        // A well-formed version the module path cannot have (v2.0.0 of a
        // path without /v2) names no file: not found, as proxy.golang.org
        // says. As an .info it is a query, which may resolve to
        // v2.0.0+incompatible (go accepts that answer).
        if let Kind::Mod(v) | Kind::Zip(v) = &kind {
            // The path was checked as it was unescaped.
            version::check_of_checked_path(&module, v)
                .map_err(|e| ParseError::NotFound(e.to_string()))?;
        }
        // Escaping is one-to-one, so the validated path is the canonical one.
        Ok(Self {
            module,
            kind,
            path: path.to_owned(),
        })
    }

    /// A request built by modgate itself, for a module path and version
    /// already known to be valid.
    pub fn new(module: &str, kind: Kind) -> Self {
        // Validated inputs escape without error.
        let m = escape::escape_path(module).unwrap_or_default();
        let v = |v: &str| escape::escape_version(v).unwrap_or_default();
        let path = match &kind {
            Kind::List => format!("{m}/@v/list"),
            Kind::Latest => format!("{m}/@latest"),
            Kind::Info(ver) => format!("{m}/@v/{}.info", v(ver)),
            Kind::Mod(ver) => format!("{m}/@v/{}.mod", v(ver)),
            Kind::Zip(ver) => format!("{m}/@v/{}.zip", v(ver)),
        };
        Self {
            module: module.to_owned(),
            kind,
            path,
        }
    }

    /// The version named, when it is canonical (so its answer is immutable).
    pub fn canonical_version(&self) -> Option<&str> {
        match &self.kind {
            Kind::Info(v) | Kind::Mod(v) | Kind::Zip(v) if version::is_canonical(v) => Some(v),
            _ => None,
        }
    }

    /// Where a canonical answer is stored: the store mirrors the GOPROXY layout.
    pub fn key(&self) -> Option<Key> {
        match self.kind {
            Kind::Info(_) | Kind::Mod(_) | Kind::Zip(_) => {
                self.canonical_version()?;
                Key::parse(&self.path).ok()
            }
            Kind::List | Kind::Latest => None,
        }
    }

    /// The same request's path on an upstream proxy, without a leading slash.
    pub fn upstream_path(&self) -> &str {
        &self.path
    }

    /// A short name for metrics and logs: never the module path.
    pub fn endpoint(&self) -> &'static str {
        match self.kind {
            Kind::List => "list",
            Kind::Latest => "latest",
            Kind::Info(_) => "info",
            Kind::Mod(_) => "mod",
            Kind::Zip(_) => "zip",
        }
    }
}

fn unescape_module(escaped: &str) -> Result<String, ParseError> {
    escape::unescape_path(escaped)
        .map_err(|e| ParseError::BadRequest(format!("invalid module path {escaped:?}: {e}")))
}

fn suggest_canonical(v: &str) -> String {
    let c = semver::canonical(v);
    if c.is_empty() { "v1.2.3".into() } else { c }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(path: &str) -> Request {
        Request::parse(path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn refuses_what_no_store_could_hold() {
        let long_version = format!("/example.com/m/@v/v1.0.0-{}.info", "a".repeat(300));
        let long_path = format!("/example.com/{}/@v/list", "a/".repeat(2100));
        for path in [long_version, long_path] {
            assert!(matches!(
                Request::parse(&path),
                Err(ParseError::BadRequest(_))
            ));
        }
    }

    #[test]
    fn parses_every_endpoint() {
        let r = ok("/github.com/!azure/azure-sdk-for-go/@v/list");
        assert_eq!(r.module, "github.com/Azure/azure-sdk-for-go");
        assert_eq!(r.kind, Kind::List);
        assert_eq!(
            r.upstream_path(),
            "github.com/!azure/azure-sdk-for-go/@v/list"
        );
        assert_eq!(ok("/golang.org/x/text/@latest").kind, Kind::Latest);
        let r = ok("/golang.org/x/text/@v/v0.3.0.zip");
        assert_eq!(r.kind, Kind::Zip("v0.3.0".into()));
        assert_eq!(r.key().unwrap().as_str(), "golang.org/x/text/@v/v0.3.0.zip");
        assert_eq!(
            ok("/golang.org/x/text/@v/master.info").kind,
            Kind::Info("master".into())
        );
        assert!(ok("/golang.org/x/text/@v/master.info").key().is_none());
        let r = ok("/example.com/m/@v/v1.0.0-!r!c1.mod");
        assert_eq!(r.kind, Kind::Mod("v1.0.0-RC1".into()));
        assert_eq!(r.upstream_path(), "example.com/m/@v/v1.0.0-!r!c1.mod");
        assert_eq!(
            ok("/example.com/m/@v/v2.0.0+incompatible.zip").kind,
            Kind::Zip("v2.0.0+incompatible".into())
        );
        assert_eq!(
            ok("/gopkg.in/yaml.v3/@v/v3.0.1.info").kind,
            Kind::Info("v3.0.1".into())
        );
    }

    #[test]
    fn rejects_malformed_and_traversal() {
        for bad in [
            "/../etc/passwd/@v/list",
            "/%2e%2e/%2e%2e/etc/@v/list",
            "/example.com/../m/@v/list",
            "/example.com/m/@v/..%2F..%2Fx.zip",
            "/example.com/m/@v/%2e%2e.info",
            "/example.com\\m/@v/list",
            "/example.com/m%00/@v/list",
            "/example.com/M/@v/list",
            "/example.com/m/@v/v1.0.zip",
            "/example.com/m/@v/v1.0.0+meta.mod",
            "/example.com/m/@v/V1.0.0.zip",
            "/%ff/@v/list",
            "//@v/list",
        ] {
            match Request::parse(bad) {
                Err(ParseError::BadRequest(_)) => {}
                other => panic!("{bad}: want BadRequest, got {other:?}"),
            }
        }
        for missing in [
            "/",
            "/@v/list",
            "/example.com/m",
            "/example.com/m/@v/v1.0.0.tar",
            "/example.com/m/@v/v1.0.0",
            "/example.com/m/@v/v2.0.0.mod",
            "/example.com/m/v2/@v/v1.0.0.zip",
        ] {
            match Request::parse(missing) {
                Err(ParseError::NotFound(_)) => {}
                other => panic!("{missing}: want NotFound, got {other:?}"),
            }
        }
    }
}
