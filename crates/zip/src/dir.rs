//! Module zips from a directory, as x/mod's `zip.CreateFromDir` builds
//! them: what `modgate publish` uploads.

use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::create::{ZipFile, create_zip};
use crate::{Error, MAX_GO_MOD};

/// Writes the zip of `module_path@version` from the files under `dir`.
/// Like `listFilesInDir`, the walk is in lexical order, does not follow
/// symbolic links, and leaves out VCS directories (`.git`, `.hg`, `.svn`,
/// `.bzr`), nested modules (directories holding a go.mod) and irregular
/// files; `zip.Create`'s rules then apply to the rest.
pub fn create_zip_from_dir<W: Write + Seek>(
    w: W,
    dir: &Path,
    module_path: &str,
    version: &str,
) -> Result<(), Error> {
    let mut files = Vec::new();
    walk(dir, "", &mut files)?;
    // Only a regular go.mod counts (a directory of that name is just a directory).
    let go_mod = dir.join("go.mod");
    let go = match fs_err::symlink_metadata(&go_mod) {
        Ok(m) if m.is_file() => modgate_module::modfile::go_directive(&fs_err::read(&go_mod)?),
        _ => None,
    };
    create_zip(w, module_path, version, files, go.as_deref())
}

fn walk(dir: &Path, rel: &str, files: &mut Vec<ZipFile<LazyFile>>) -> Result<(), Error> {
    let mut entries = fs_err::read_dir(dir)?
        .map(|e| e.map(|e| (e.file_name(), e.path())))
        .collect::<Result<Vec<_>, _>>()?;
    // Go's filepath.Walk order: names sorted bytewise.
    entries.sort_by(|a, b| a.0.as_encoded_bytes().cmp(b.0.as_encoded_bytes()));
    for (name, path) in entries {
        let Some(name) = name.to_str() else {
            return Err(Error::Io(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: file name is not UTF-8", path.display()),
            )));
        };
        let slash = if rel.is_empty() {
            name.to_owned()
        } else {
            format!("{rel}/{name}")
        };
        let meta = fs_err::symlink_metadata(&path)?;
        if meta.is_dir() {
            if matches!(name, ".bzr" | ".git" | ".hg" | ".svn") {
                continue;
            }
            if fs_err::symlink_metadata(path.join("go.mod")).is_ok_and(|m| !m.is_dir()) {
                continue;
            }
            walk(&path, &slash, files)?;
        } else if meta.is_file() {
            files.push(ZipFile::new(slash, meta.len(), LazyFile::new(path)));
        }
    }
    Ok(())
}

/// A file opened only when the zip writer first reads it, so omitted files
/// stay unread and a large tree never holds every descriptor open.
struct LazyFile {
    path: PathBuf,
    file: Option<fs_err::File>,
}

impl LazyFile {
    fn new(path: PathBuf) -> Self {
        LazyFile { path, file: None }
    }
}

impl Read for LazyFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let file = match &mut self.file {
            Some(f) => f,
            None => self.file.insert(fs_err::File::open(&self.path)?),
        };
        file.read(buf)
    }
}

/// The go.mod in the root of a module zip that has passed
/// [`check_zip`](crate::check_zip), if it has one.
pub fn zip_go_mod(
    zip_path: &Path,
    module_path: &str,
    version: &str,
) -> Result<Option<Vec<u8>>, Error> {
    let file = io::BufReader::new(fs_err::File::open(zip_path)?);
    let mut zip = zip::ZipArchive::new(file).map_err(Error::NotZip)?;
    let name = format!("{}go.mod", crate::rules::prefix(module_path, version));
    let entry = match zip.by_name(&name) {
        Ok(entry) => entry,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(Error::NotZip(e)),
    };
    let mut data = Vec::new();
    entry.take(MAX_GO_MOD + 1).read_to_end(&mut data)?;
    if data.len() as u64 > MAX_GO_MOD {
        return Err(Error::Io(io::Error::new(
            io::ErrorKind::InvalidData,
            "go.mod file too large",
        )));
    }
    Ok(Some(data))
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;
    use crate::check::check_zip_reader;
    use crate::testutil::vectors;

    /// x/mod's testdata/create_from_dir, written out as real directories
    /// (with a .git directory and a nested module as the vectors name them).
    #[test]
    fn create_from_dir_vectors() {
        for v in vectors("create_from_dir") {
            let Ok(module_path) = std::str::from_utf8(&v.path) else {
                continue; // not representable as a &str module path
            };
            let dir = tempfile::tempdir().unwrap();
            for (name, data) in &v.files {
                let path = dir.path().join(name);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                if name.ends_with('/') {
                    std::fs::create_dir_all(&path).unwrap();
                } else {
                    std::fs::write(&path, data).unwrap();
                }
            }
            let mut zip = Cursor::new(Vec::new());
            let got = create_zip_from_dir(&mut zip, dir.path(), module_path, &v.version);
            if !v.want_err.is_empty() {
                let err = got.expect_err(&v.name).to_string();
                assert!(err.contains(&v.want_err), "{}: {err:?}", v.name);
                continue;
            }
            got.unwrap_or_else(|e| panic!("{}: {e}", v.name));
            let zip = zip.into_inner();
            let checked =
                check_zip_reader(Cursor::new(&zip), zip.len() as u64, module_path, &v.version)
                    .unwrap_or_else(|e| panic!("{}: created zip fails check: {e}", v.name));
            assert_eq!(checked.h1, v.hash, "{}", v.name);
        }
    }

    #[test]
    fn symlinks_are_left_out_and_go_mod_is_read_back() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("go.mod"), "module example.com/m\n").unwrap();
        std::fs::write(dir.path().join("a.go"), "package m\n").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("link.go")).unwrap();
        let out = tempfile::NamedTempFile::new().unwrap();
        create_zip_from_dir(out.as_file(), dir.path(), "example.com/m", "v1.0.0").unwrap();
        let checked = crate::check_zip(out.path(), "example.com/m", "v1.0.0").unwrap();
        assert_eq!(checked.files, 2);
        let go_mod = zip_go_mod(out.path(), "example.com/m", "v1.0.0").unwrap();
        assert_eq!(go_mod.as_deref(), Some(&b"module example.com/m\n"[..]));
    }
}
