//! Go module zips: the rules of golang.org/x/mod/zip and the `h1:` hash of
//! golang.org/x/mod/sumdb/dirhash.
//!
//! [`check_zip`] validates a module zip and hashes it in one streaming pass;
//! [`create_zip`] builds one the way `zip.Create` does. Both apply x/mod's
//! rules, so a zip checked here passes the go command's checks and a zip
//! created here has the hash Go would record in go.sum. [`ingest`] holds
//! every artifact an upstream or a bundle sends to these rules before it is
//! stored.
//!
//! Parsing the archive itself is left to the zip crate, which disagrees with
//! Go's archive/zip on a few corrupt end-of-central-directory records (each
//! accepts some the other rejects). Where both accept, the hashes agree.

mod check;
mod create;
mod dir;
pub mod dirhash;
pub mod ingest;
mod rules;
#[cfg(test)]
mod testutil;

use std::fmt;

pub use check::{CheckedZip, check_zip, check_zip_reader, hash_zip_file, root_licenses};
pub use create::{CheckedFiles, ZipFile, check_files, create_zip};
pub use dir::{create_zip_from_dir, zip_go_mod};

/// Largest module zip file, and largest total uncompressed size of its files.
pub const MAX_ZIP_FILE: u64 = 500 << 20;
/// Largest go.mod file in the module root.
pub const MAX_GO_MOD: u64 = 16 << 20;
/// Largest LICENSE file in the module root.
pub const MAX_LICENSE: u64 = 16 << 20;

/// Everything that can go wrong checking, creating or hashing a module zip.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading the zip or writing the output failed; fs-err names the file.
    #[error(transparent)]
    Io(#[from] std::io::Error),

    /// The module path or version breaks the module rules.
    #[error(transparent)]
    Module(#[from] modgate_module::Error),

    #[error("version {version:?} is not canonical (should be {canonical:?})")]
    NotCanonical { version: String, canonical: String },

    #[error("module zip file is too large ({size} bytes; limit is {MAX_ZIP_FILE} bytes)")]
    ZipTooLarge { size: u64 },

    /// The declared sizes of a zip's files add up to more than [`MAX_ZIP_FILE`].
    #[error(
        "total uncompressed size of module contents too large (max size is {MAX_ZIP_FILE} bytes)"
    )]
    ContentsTooLarge,

    /// The files given to [`create_zip`] add up to more than [`MAX_ZIP_FILE`].
    #[error("module source tree too large (max size is {MAX_ZIP_FILE} bytes)")]
    SourceTooLarge,

    /// The archive structure itself (central directory) could not be parsed.
    #[error("not a valid zip file")]
    NotZip(#[source] zip::result::ZipError),

    /// Files whose names or declared sizes break the module zip rules, one
    /// line each, like Go's `FileErrorList`.
    #[error("{}", FileErrors(.0))]
    Invalid(Vec<FileError>),

    /// A file's data is unreadable, corrupt, or disagrees with its declared size.
    #[error(transparent)]
    Content(FileError),

    /// dirhash cannot represent file names containing a newline.
    #[error("dirhash: file name {0:?} contains a newline")]
    NewlineInName(String),
}

/// A problem with one file, named by its path: the full entry name for zips,
/// the path relative to the module root for [`create_zip`].
#[derive(Debug, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct FileError {
    pub path: String,
    /// Part of the message (x/mod's `path: problem`), not a cause below it.
    pub problem: Problem,
}

/// Why a file is invalid, omitted or unreadable. Messages follow x/mod's.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    // Invalid: the module zip rules reject the file.
    #[error("path does not have prefix {0:?}")]
    MissingPrefix(String),
    #[error("malformed file path: invalid UTF-8")]
    NotUtf8,
    #[error("file path is not clean")]
    NotClean,
    #[error("file path is not relative")]
    NotRelative,
    #[error(transparent)]
    BadPath(modgate_module::Error),
    #[error("go.mod files must have lowercase names")]
    GoModCase,
    #[error("go.mod file not in module root directory")]
    GoModNotInRoot,
    #[error("case-insensitive file name collision: {0:?} and {1:?}")]
    CaseCollision(String, String),
    #[error("entry {0:?} is both a file and a directory")]
    FileAndDirectory(String),
    #[error("multiple entries for file {0:?}")]
    Duplicate(String),
    #[error("go.mod file too large (max size is {MAX_GO_MOD} bytes)")]
    GoModTooLarge,
    #[error("LICENSE file too large (max size is {MAX_LICENSE} bytes)")]
    LicenseTooLarge,
    /// Go ignores this field, so the name we were given may not be the name Go sees.
    #[error("entry carries an Info-ZIP Unicode Path extra field, which Go ignores")]
    UnicodePathField,

    // Omitted: create_zip leaves the file out, as zip.Create does.
    #[error("file is in vendor directory")]
    Vendored,
    #[error("file is in another module")]
    InSubmodule,
    #[error("file is inserted by 'hg archive' and is always omitted")]
    HgArchival,
    #[error("file is a symbolic link")]
    Symlink,

    // Content: the data does not match its header, or cannot be read.
    #[error("uncompressed data is larger than declared size ({0} bytes)")]
    LargerThanDeclared(u64),
    #[error("uncompressed data is smaller than declared size ({declared} bytes, got {actual})")]
    SmallerThanDeclared { declared: u64, actual: u64 },
    #[error("data descriptor CRC-32 does not match the central directory")]
    Descriptor,
    #[error("directory entry declares {0} bytes of data")]
    DirectoryWithData(u64),
    #[error("unsupported compression method {0}")]
    Compression(zip::CompressionMethod),
    #[error("{0}")]
    Zip(zip::result::ZipError),
    #[error("{0}")]
    Read(std::io::Error),
}

impl FileError {
    fn new(path: impl Into<String>, problem: Problem) -> Self {
        FileError {
            path: path.into(),
            problem,
        }
    }
}

/// Displays a list of file errors one per line.
struct FileErrors<'a>(&'a [FileError]);

impl fmt::Display for FileErrors<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}
