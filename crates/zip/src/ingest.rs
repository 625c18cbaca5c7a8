//! Integrity on ingest: what an upstream sends is checked before it is stored.

use std::path::Path;

use modgate_module::{modfile, pseudo, version};

/// Largest `.info` accepted from an upstream.
pub const MAX_INFO: u64 = 64 << 10;
/// Largest go.mod, as x/mod/zip's MaxGoMod.
pub const MAX_MOD: u64 = crate::MAX_GO_MOD;
/// Largest zip, as x/mod/zip's MaxZipFile.
pub const MAX_ZIP: u64 = crate::MAX_ZIP_FILE;
/// Largest `@v/list`.
pub const MAX_LIST: u64 = 16 << 20;

/// Why what an upstream sent is refused.
#[derive(Debug, thiserror::Error)]
pub enum Invalid {
    /// A malformed `.info` or `@latest` answer.
    #[error(transparent)]
    Info(Box<modgate_module::Error>),
    #[error("{module}@{version}: go.mod")]
    GoModSyntax {
        module: String,
        version: String,
        #[source]
        source: Box<modgate_module::Error>,
    },
    #[error("{module}@{version}: go.mod has no module directive")]
    NoModuleDirective { module: String, version: String },
    #[error("{module}@{version}: go.mod declares module {declared}")]
    OtherModule {
        module: String,
        version: String,
        declared: String,
    },
    #[error("{module}@{version}: invalid module zip")]
    Zip {
        module: String,
        version: String,
        #[source]
        source: Box<crate::Error>,
    },
    /// A body over the limit for its kind.
    #[error("{path}: body exceeds the limit of {max} bytes")]
    TooLarge { path: String, max: u64 },
    /// An answer of the wrong shape (in memory where a file was wanted, or
    /// the reverse): a fetcher's bug, refused rather than trusted.
    #[error("{0}")]
    Shape(&'static str),
    /// The task checking the zip panicked or was cancelled.
    #[error("checking the zip failed")]
    Check(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Checks an upstream's go.mod: it must parse and declare a module. The
/// path may differ from the requested one, as the go command allows: a fork
/// used through a `replace` directive declares the path it replaces.
pub fn check_mod(module: &str, version: &str, data: &[u8]) -> Result<(), Invalid> {
    modfile::check_syntax(data).map_err(|source| Invalid::GoModSyntax {
        module: module.to_owned(),
        version: version.to_owned(),
        source: Box::new(source),
    })?;
    match modfile::module_path(data) {
        Some(_) => Ok(()),
        None => Err(Invalid::NoModuleDirective {
            module: module.to_owned(),
            version: version.to_owned(),
        }),
    }
}

/// [`check_mod`], and the go.mod must declare `module` itself: for go.mod
/// files no repository stands behind (an upload, a `file://` tree), where a
/// fork's go.mod naming the module it replaces cannot be told from a
/// module passing itself off as another.
pub fn check_own_mod(module: &str, version: &str, data: &[u8]) -> Result<(), Invalid> {
    check_mod(module, version, data)?;
    match modfile::module_path(data) {
        Some(declared) if declared == module => Ok(()),
        declared => Err(Invalid::OtherModule {
            module: module.to_owned(),
            version: version.to_owned(),
            declared: declared.unwrap_or_default(),
        }),
    }
}

/// Checks a zip against the module zip rules and returns its `h1:` hash.
pub fn check_zip(module: &str, version: &str, path: &Path) -> Result<String, Invalid> {
    crate::check_zip(path, module, version)
        .map(|checked| checked.h1)
        .map_err(|source| Invalid::Zip {
            module: module.to_owned(),
            version: version.to_owned(),
            source: Box::new(source),
        })
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn an_own_mod_declares_the_module_itself() {
        let own = |m, data: &[u8]| check_own_mod(m, "v1.0.0", data);
        assert!(own("example.com/m", b"module example.com/m\n").is_ok());
        assert!(own("example.com/m", b"module \"example.com/m\" // c\n").is_ok());
        let err = own("example.com/fork", b"module example.com/m\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "example.com/fork@v1.0.0: go.mod declares module example.com/m"
        );
        assert!(own("example.com/m/v2", b"module example.com/m\n").is_err());
        assert!(own("example.com/m", b"go 1.21\n").is_err());
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
    fn errors_say_each_thing_once() {
        let not_zip = crate::Error::NotZip(
            ::zip::ZipArchive::new(std::io::Cursor::new(b"not a zip".to_vec())).unwrap_err(),
        );
        let go_mod = modgate_module::modfile::check_syntax(b"module (").unwrap_err();
        let errors: Vec<Box<dyn std::error::Error>> = vec![
            Box::new(Invalid::GoModSyntax {
                module: "example.com/m".into(),
                version: "v1.0.0".into(),
                source: Box::new(go_mod),
            }),
            Box::new(Invalid::Zip {
                module: "example.com/m".into(),
                version: "v1.0.0".into(),
                source: Box::new(not_zip),
            }),
            Box::new(Invalid::Check(Box::new(std::io::Error::other("disk gone")))),
            Box::new(crate::Error::Content(crate::FileError {
                path: "m@v1.0.0/a.go".into(),
                problem: crate::Problem::Read(std::io::Error::other("disk gone")),
            })),
        ];
        for e in errors {
            modgate_redact::says_each_thing_once(&*e).unwrap();
        }
    }
}
