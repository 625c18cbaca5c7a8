//! From `git archive` to a module zip: the tar is indexed on disk, then
//! each file is copied from it into the zip, so memory stays flat however
//! large the module is.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use modgate_module::modfile;
use modgate_zip::{MAX_GO_MOD, ZipFile, create_zip};

use super::Error;
use crate::git::{TreeEntry, TreeKind};

/// Applies the zip rules to a commit's tree before anything is archived:
/// a tree whose module files add up past the zip limit, or that holds paths
/// no module zip may (`..`, `.git`), is refused without staging its
/// archive. `dir` is the module's directory, `go_mod` its go.mod.
pub fn precheck(tree: &[TreeEntry], dir: &str, go_mod: Option<&[u8]>) -> Result<(), Error> {
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    let files: Vec<ZipFile<io::Empty>> = tree
        .iter()
        .filter_map(|e| {
            let path = e.path.strip_prefix(&prefix)?;
            Some(match e.kind {
                TreeKind::File(size) => ZipFile::new(path, size, io::empty()),
                TreeKind::Symlink => ZipFile::symlink(path),
            })
        })
        .collect();
    let go = go_mod.and_then(modfile::go_directive);
    let checked = modgate_zip::check_files(&files, go.as_deref());
    let refused = if checked.too_large {
        modgate_zip::Error::SourceTooLarge
    } else if !checked.invalid.is_empty() {
        modgate_zip::Error::Invalid(checked.invalid)
    } else {
        return Ok(());
    };
    Err(Error::NoVersion(format!("create zip: {refused}")))
}

/// One entry of the archive, relative to the module's directory.
struct Entry {
    path: String,
    kind: Kind,
}

enum Kind {
    /// Content at `offset` in the tar, `size` bytes long.
    File {
        offset: u64,
        size: u64,
    },
    Symlink,
}

/// A version's files read from the archive its system wrote (git's tar,
/// the other systems' zip), ready to become the module zip.
pub trait Archived: Send + 'static {
    fn has(&self, path: &str) -> bool;
    /// Writes the module zip of `module@version` from these files and
    /// `license` (the repository root's LICENSE, for a module in a
    /// subdirectory without one), with x/mod's rules.
    fn write_zip(
        &self,
        out: impl Write + io::Seek,
        module: &str,
        version: &str,
        license: Option<Bytes>,
    ) -> Result<(), Error>;
}

/// The files of a `git archive` tar that lie under `dir`, in archive order.
pub struct Index {
    tar: Arc<File>,
    entries: Vec<Entry>,
}

impl Index {
    pub fn read(tar_path: &Path, dir: &str) -> Result<Self, Error> {
        let file = fs_err::File::open(tar_path).map_err(io_error)?;
        let tar = Arc::new(file.into_parts().0);
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let mut archive = tar::Archive::new(&*tar);
        let mut entries = Vec::new();
        for entry in archive.entries().map_err(tar_error)? {
            let entry = entry.map_err(tar_error)?;
            let kind = match entry.header().entry_type() {
                tar::EntryType::Regular | tar::EntryType::Continuous => Kind::File {
                    offset: entry.raw_file_position(),
                    size: entry.size(),
                },
                tar::EntryType::Symlink => Kind::Symlink,
                // Directories, submodules and pax headers hold no files.
                _ => continue,
            };
            // Paths that are not UTF-8 become invalid file paths, which
            // the zip rules then reject, as go does.
            let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let Some(path) = path.strip_prefix(&prefix) else {
                continue;
            };
            if path.is_empty() || path.ends_with('/') {
                continue;
            }
            entries.push(Entry {
                path: path.to_owned(),
                kind,
            });
        }
        Ok(Self { tar, entries })
    }

    /// The module's own go.mod, for its go directive.
    fn go_mod(&self) -> Option<Vec<u8>> {
        let entry = self.entries.iter().find(|e| e.path == "go.mod")?;
        let Kind::File { offset, size } = entry.kind else {
            return None;
        };
        let mut data = Vec::new();
        section(&self.tar, offset, size.min(MAX_GO_MOD))
            .read_to_end(&mut data)
            .ok()?;
        Some(data)
    }
}

impl Archived for Index {
    fn has(&self, path: &str) -> bool {
        self.entries.iter().any(|e| e.path == path)
    }

    fn write_zip(
        &self,
        out: impl Write + io::Seek,
        module: &str,
        version: &str,
        license: Option<Bytes>,
    ) -> Result<(), Error> {
        let go_mod = self.go_mod();
        let go = go_mod.as_deref().and_then(modfile::go_directive);
        let files = self
            .entries
            .iter()
            .map(|e| match e.kind {
                Kind::File { offset, size } => ZipFile::new(
                    e.path.clone(),
                    size,
                    Content::Tar(section(&self.tar, offset, size)),
                ),
                Kind::Symlink => ZipFile::symlink(e.path.clone()),
            })
            .chain(license.map(|data| {
                ZipFile::new(
                    "LICENSE",
                    data.len() as u64,
                    Content::Memory(io::Cursor::new(data)),
                )
            }));
        create_zip(out, module, version, files, go.as_deref())
            .map_err(|e| Error::NoVersion(format!("create zip: {}", modgate_redact::Chain(&e))))
    }
}

/// A file's content: a slice of the tar, or bytes read from git.
enum Content {
    Tar(Section),
    Memory(io::Cursor<Bytes>),
}

impl Read for Content {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Content::Tar(s) => s.read(buf),
            Content::Memory(c) => c.read(buf),
        }
    }
}

/// `size` bytes at `offset` of a shared file, read with positioned reads
/// so many sections can share one descriptor.
struct Section {
    file: Arc<File>,
    pos: u64,
    end: u64,
}

fn section(file: &Arc<File>, offset: u64, size: u64) -> Section {
    Section {
        file: Arc::clone(file),
        pos: offset,
        end: offset + size,
    }
}

impl Read for Section {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = usize::try_from(self.end - self.pos).unwrap_or(usize::MAX);
        let want = buf.len().min(left);
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "git archive ended early",
            ));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

/// One file of the zip another system wrote, relative to the module.
struct ZipEntry {
    path: String,
    index: usize,
    size: u64,
    /// Not a regular file (a symbolic link): named, then left out, as go's
    /// zip rules do.
    irregular: bool,
}

/// The files of the zip hg, bzr or fossil wrote (or go's own zip of an
/// svn export) that lie under the module's directory, read as go's
/// coderepo reads them: one top-level directory, then the module's files.
pub struct ZipSource {
    zip: Arc<std::path::PathBuf>,
    vcs: &'static str,
    entries: Vec<ZipEntry>,
}

impl ZipSource {
    pub fn read(zip_path: &Path, dir: &str, vcs: &'static str) -> Result<Self, Error> {
        let vcs_error = |what, source| Error::VcsArchive { what, vcs, source };
        let file = fs_err::File::open(zip_path).map_err(|e| vcs_error("reading", e))?;
        let mut archive = zip::ZipArchive::new(io::BufReader::new(file))
            .map_err(|e| vcs_error("malformed", io::Error::other(e)))?;
        let subdir = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let invalid = |msg: &str| Error::NoVersion(msg.to_owned());
        let mut top: Option<String> = None;
        let mut entries = Vec::new();
        for index in 0..archive.len() {
            let file = archive
                .by_index_raw(index)
                .map_err(|e| vcs_error("malformed", io::Error::other(e)))?;
            // Names that are not UTF-8 become invalid paths for the zip rules.
            let name = String::from_utf8_lossy(file.name_raw()).into_owned();
            let top = match &top {
                Some(top) => top.clone(),
                None => {
                    let i = name
                        .find('/')
                        .ok_or_else(|| invalid("missing top-level directory prefix"))?;
                    top.insert(name[..=i].to_owned()).clone()
                }
            };
            let Some(rest) = name.strip_prefix(&top) else {
                return Err(invalid(
                    "zip file contains more than one top-level directory",
                ));
            };
            let Some(path) = rest.strip_prefix(&subdir) else {
                continue;
            };
            if path.is_empty() || path.ends_with('/') {
                continue;
            }
            let irregular = file
                .unix_mode()
                .is_some_and(|m| !matches!(m & 0o170000, 0 | 0o100000));
            entries.push(ZipEntry {
                path: path.to_owned(),
                index,
                size: file.size(),
                irregular,
            });
        }
        Ok(Self {
            zip: Arc::new(zip_path.to_owned()),
            vcs,
            entries,
        })
    }

    fn entry(&self, e: &ZipEntry) -> ZipContent {
        ZipContent::Lazy {
            zip: self.zip.clone(),
            vcs: self.vcs,
            index: e.index,
            size: e.size,
        }
    }
}

impl Archived for ZipSource {
    fn has(&self, path: &str) -> bool {
        self.entries.iter().any(|e| e.path == path)
    }

    fn write_zip(
        &self,
        out: impl Write + io::Seek,
        module: &str,
        version: &str,
        license: Option<Bytes>,
    ) -> Result<(), Error> {
        let go_mod = self
            .entries
            .iter()
            .find(|e| e.path == "go.mod" && !e.irregular)
            .and_then(|e| {
                let mut data = Vec::new();
                self.entry(e).take(MAX_GO_MOD).read_to_end(&mut data).ok()?;
                Some(data)
            });
        let go = go_mod.as_deref().and_then(modfile::go_directive);
        let files = self
            .entries
            .iter()
            .map(|e| {
                if e.irregular {
                    ZipFile::symlink(e.path.clone())
                } else {
                    ZipFile::new(e.path.clone(), e.size, self.entry(e))
                }
            })
            .chain(license.map(|data| {
                ZipFile::new(
                    "LICENSE",
                    data.len() as u64,
                    ZipContent::Memory(io::Cursor::new(data.to_vec())),
                )
            }));
        create_zip(out, module, version, files, go.as_deref())
            .map_err(|e| Error::NoVersion(format!("create zip: {}", modgate_redact::Chain(&e))))
    }
}

/// A file of the tool's zip, decompressed when first read (so files the
/// zip rules leave out are never read).
enum ZipContent {
    Lazy {
        zip: Arc<std::path::PathBuf>,
        vcs: &'static str,
        index: usize,
        size: u64,
    },
    Memory(io::Cursor<Vec<u8>>),
}

impl Read for ZipContent {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let ZipContent::Lazy {
            zip,
            vcs,
            index,
            size,
        } = self
        {
            let file = std::fs::File::open(&**zip)?;
            let mut archive = zip::ZipArchive::new(io::BufReader::new(file))
                .map_err(|e| io::Error::other(format!("the {vcs} archive: {e}")))?;
            let mut entry = archive
                .by_index(*index)
                .map_err(|e| io::Error::other(format!("the {vcs} archive: {e}")))?;
            let mut data = Vec::new();
            (&mut entry).take(*size + 1).read_to_end(&mut data)?;
            *self = ZipContent::Memory(io::Cursor::new(data));
        }
        match self {
            ZipContent::Memory(c) => c.read(buf),
            ZipContent::Lazy { .. } => unreachable!("read into memory above"),
        }
    }
}

fn io_error(source: io::Error) -> Error {
    Error::Archive {
        what: "reading",
        source,
    }
}

fn tar_error(source: io::Error) -> Error {
    Error::Archive {
        what: "malformed",
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tar built by the `tar` crate stands in for git's.
    fn tar_of(entries: &[(&str, Option<&[u8]>)]) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        let mut b = tar::Builder::new(file.reopen().unwrap());
        for (path, data) in entries {
            let mut h = tar::Header::new_gnu();
            match data {
                Some(d) => {
                    h.set_entry_type(tar::EntryType::Regular);
                    h.set_size(d.len() as u64);
                    h.set_mode(0o644);
                    b.append_data(&mut h, path, *d).unwrap();
                }
                None => {
                    h.set_entry_type(tar::EntryType::Symlink);
                    h.set_size(0);
                    b.append_link(&mut h, path, "target").unwrap();
                }
            }
        }
        b.finish().unwrap();
        file
    }

    fn zip_names(data: Vec<u8>) -> Vec<String> {
        let mut z = zip::ZipArchive::new(io::Cursor::new(data)).unwrap();
        (0..z.len())
            .map(|i| z.by_index(i).unwrap().name().unwrap().into_owned())
            .collect()
    }

    #[test]
    fn subdirectory_module_with_root_license() {
        let tar = tar_of(&[
            ("sub/go.mod", Some(b"module example.com/r/sub\n\ngo 1.21\n")),
            ("sub/a.go", Some(b"package sub\n")),
            ("sub/link.go", None),
            (
                "sub/nested/go.mod",
                Some(b"module example.com/r/sub/nested\n"),
            ),
            ("sub/nested/n.go", Some(b"package nested\n")),
        ]);
        let index = Index::read(tar.path(), "sub").unwrap();
        assert!(!index.has("LICENSE"));
        let mut out = io::Cursor::new(Vec::new());
        index
            .write_zip(
                &mut out,
                "example.com/r/sub",
                "v1.0.0",
                Some(Bytes::from_static(b"MIT\n")),
            )
            .unwrap();
        let p = "example.com/r/sub@v1.0.0/";
        assert_eq!(
            zip_names(out.into_inner()),
            [
                format!("{p}go.mod"),
                format!("{p}a.go"),
                format!("{p}LICENSE")
            ]
        );
    }

    #[test]
    fn go_1_24_directive_drops_vendor_modules_txt() {
        let tar = tar_of(&[
            ("go.mod", Some(b"module example.com/m\n\ngo 1.24\n")),
            ("vendor/modules.txt", Some(b"# x\n")),
        ]);
        let index = Index::read(tar.path(), "").unwrap();
        let mut out = io::Cursor::new(Vec::new());
        index
            .write_zip(&mut out, "example.com/m", "v1.0.0", None)
            .unwrap();
        assert_eq!(zip_names(out.into_inner()), ["example.com/m@v1.0.0/go.mod"]);
    }

    #[test]
    fn case_collisions_are_refused() {
        let tar = tar_of(&[
            ("A.go", Some(b"package a\n")),
            ("a.go", Some(b"package a\n")),
        ]);
        let index = Index::read(tar.path(), "").unwrap();
        let err = index
            .write_zip(io::Cursor::new(Vec::new()), "example.com/m", "v1.0.0", None)
            .unwrap_err();
        assert!(err.to_string().contains("case-insensitive"), "{err}");
    }
}
