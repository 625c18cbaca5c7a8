//! Creating module zips from a list of files, as x/mod's `zip.Create` does.

use std::collections::HashSet;
use std::io::{self, Read, Seek, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use crate::rules::{self, Collisions};
use crate::{Error, FileError, MAX_ZIP_FILE, Problem};

/// One file to put in a module zip.
pub struct ZipFile<R> {
    /// Slash-separated path relative to the module root.
    pub path: String,
    /// Declared size, used for the size limits; the content may not be longer.
    pub size: u64,
    /// The content, read only when the file is written (so a lazy reader
    /// keeps omitted files unread). `None` marks a symbolic link: Go checks
    /// its name, then omits it.
    pub content: Option<R>,
}

impl<R> ZipFile<R> {
    /// A regular file.
    pub fn new(path: impl Into<String>, size: u64, content: R) -> Self {
        ZipFile {
            path: path.into(),
            size,
            content: Some(content),
        }
    }

    /// A symbolic link, which is never included.
    pub fn symlink(path: impl Into<String>) -> Self {
        ZipFile {
            path: path.into(),
            size: 0,
            content: None,
        }
    }
}

/// How x/mod's `CheckFiles` sorts a list of files.
#[derive(Debug, Default)]
pub struct CheckedFiles {
    /// Paths that go in the zip, in the given order.
    pub valid: Vec<String>,
    /// Files left out: vendored packages, nested modules, symlinks...
    pub omitted: Vec<FileError>,
    /// Files that make the zip impossible to create.
    pub invalid: Vec<FileError>,
    /// The valid files add up to more than [`MAX_ZIP_FILE`].
    pub too_large: bool,
}

/// Sorts `files` into valid, omitted and invalid ones. As in Go, a path
/// is reported at most once: a third copy of a duplicate is not listed.
/// `go` is the root go.mod's go directive (see [`create_zip`]).
pub fn check_files<R>(files: &[ZipFile<R>], go: Option<&str>) -> CheckedFiles {
    classify(files, go).0
}

/// Writes the zip of `module_path@version` holding `files`, applying
/// x/mod's `zip.Create` rules: invalid files are an error, nested modules,
/// vendored packages and symlinks are omitted. Valid files are stored
/// deflated, in the order given. `go` is the go directive of the root
/// go.mod (`modgate_module::modfile::go_directive`): from Go 1.24 on, the
/// vendor rules change.
pub fn create_zip<W, R>(
    w: W,
    module_path: &str,
    version: &str,
    files: impl IntoIterator<Item = ZipFile<R>>,
    go: Option<&str>,
) -> Result<(), Error>
where
    W: Write + Seek,
    R: Read,
{
    rules::check_module(module_path, version)?;
    let mut files: Vec<_> = files.into_iter().collect();
    let (checked, valid) = classify(&files, go);
    if checked.too_large {
        return Err(Error::SourceTooLarge);
    }
    if !checked.invalid.is_empty() {
        return Err(Error::Invalid(checked.invalid));
    }

    let prefix = rules::prefix(module_path, version);
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(DateTime::default());
    let mut zip = ZipWriter::new(w);
    let mut buf = vec![0; 64 << 10];
    for i in valid {
        let ZipFile {
            path,
            size,
            content,
        } = &mut files[i];
        let Some(content) = content else { continue };
        zip.start_file(format!("{prefix}{path}"), options)
            .map_err(write_error)?;
        copy(path, content, &mut zip, *size, &mut buf)?;
    }
    zip.finish().map_err(write_error)?;
    Ok(())
}

/// Copies the content of the file at `path`, which must not be longer
/// than `size`. Source failures name the file; sink failures are plain I/O.
fn copy(
    path: &str,
    r: &mut impl Read,
    w: &mut impl Write,
    size: u64,
    buf: &mut [u8],
) -> Result<(), Error> {
    let bad = |problem| Error::Content(FileError::new(path, problem));
    let mut r = r.take(size.saturating_add(1));
    let mut copied = 0u64;
    loop {
        let n = match r.read(buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(bad(Problem::Read(e))),
        };
        copied += n as u64;
        if copied > size {
            return Err(bad(Problem::LargerThanDeclared(size)));
        }
        w.write_all(&buf[..n])?;
    }
}

fn write_error(e: zip::result::ZipError) -> Error {
    match e {
        zip::result::ZipError::Io(e) => Error::Io(e),
        e => Error::Io(io::Error::other(e)),
    }
}

/// x/mod's checkFiles: the report, and the indices of the valid files.
fn classify<R>(files: &[ZipFile<R>], go: Option<&str>) -> (CheckedFiles, Vec<usize>) {
    // Directories (other than the root) holding a go.mod are other modules.
    let go_mod_dirs: HashSet<&str> = files
        .iter()
        .filter(|f| f.content.is_some())
        .filter_map(|f| {
            let (dir, base) = f.path.rsplit_once('/')?;
            (rules::str_to_fold(base) == "go.mod").then_some(dir)
        })
        .collect();
    let mut rules = Rules {
        go124: rules::is_go124(go),
        go_mod_dirs,
        collisions: Collisions::default(),
        remaining: MAX_ZIP_FILE,
        too_large: false,
    };

    let mut checked = CheckedFiles::default();
    let mut valid = Vec::new();
    let mut reported = HashSet::new();
    for (i, f) in files.iter().enumerate() {
        let verdict = rules.verdict(&f.path, f.size, f.content.is_some());
        let (list, problem) = match verdict {
            Verdict::Valid => {
                checked.valid.push(f.path.clone());
                valid.push(i);
                continue;
            }
            Verdict::Omit(problem) => (&mut checked.omitted, problem),
            Verdict::Invalid(problem) => (&mut checked.invalid, problem),
        };
        if reported.insert(f.path.as_str()) {
            list.push(FileError::new(f.path.as_str(), problem));
        }
    }
    checked.too_large = rules.too_large;
    (checked, valid)
}

enum Verdict {
    Valid,
    Omit(Problem),
    Invalid(Problem),
}

struct Rules<'a> {
    go124: bool,
    go_mod_dirs: HashSet<&'a str>,
    collisions: Collisions,
    remaining: u64,
    too_large: bool,
}

impl Rules<'_> {
    /// The checks of x/mod's checkFiles, in its order.
    fn verdict(&mut self, path: &str, size: u64, regular: bool) -> Verdict {
        use Verdict::{Invalid, Omit};
        if !rules::is_clean(path) {
            return Invalid(Problem::NotClean);
        }
        if path.starts_with('/') {
            return Invalid(Problem::NotRelative);
        }
        if rules::is_vendored_package(path, self.go124) {
            return Omit(Problem::Vendored);
        }
        if self.in_submodule(path) {
            return Omit(Problem::InSubmodule);
        }
        if path == ".hg_archival.txt" {
            return Omit(Problem::HgArchival);
        }
        if let Err(problem) = rules::check_file_path(path) {
            return Invalid(problem);
        }
        if path != "go.mod" && path.to_lowercase() == "go.mod" {
            return Invalid(Problem::GoModCase);
        }
        if let Err(problem) = self.collisions.check(path, false) {
            return Invalid(problem);
        }
        if !regular {
            return Omit(Problem::Symlink);
        }
        match self.remaining.checked_sub(size) {
            Some(rest) => self.remaining = rest,
            None => self.too_large = true,
        }
        match rules::size_problem(path, size) {
            Some(problem) => Invalid(problem),
            None => Verdict::Valid,
        }
    }

    fn in_submodule(&self, path: &str) -> bool {
        std::iter::successors(rules::parent(path), |dir| rules::parent(dir))
            .any(|dir| self.go_mod_dirs.contains(dir))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;
    use crate::check::check_zip_reader;
    use crate::testutil::{Vector, vectors};

    fn files_of(v: &Vector) -> Vec<ZipFile<&[u8]>> {
        v.files
            .iter()
            .map(|(name, data)| ZipFile::new(name.as_str(), data.len() as u64, data.as_slice()))
            .collect()
    }

    fn create<R: Read>(
        module_path: &str,
        version: &str,
        files: impl IntoIterator<Item = ZipFile<R>>,
    ) -> Result<Vec<u8>, Error> {
        let mut out = Cursor::new(Vec::new());
        create_zip(&mut out, module_path, version, files, None)?;
        Ok(out.into_inner())
    }

    /// Runs a create vector: the error Go reports, or the h1 of the zip.
    fn run_create_vector(v: &Vector) {
        let module_path = String::from_utf8_lossy(&v.path);
        let got = create(&module_path, &v.version, files_of(v));
        if !v.path.is_ascii() {
            // Not UTF-8, so not representable as &str; U+FFFD is invalid too.
            assert!(got.is_err(), "{}: non-UTF-8 module path accepted", v.name);
        } else if !v.want_err.is_empty() {
            let err = got.expect_err(&v.name).to_string();
            assert!(err.contains(&v.want_err), "{}: {err:?}", v.name);
        } else {
            let zip = got.unwrap_or_else(|e| panic!("{}: {e}", v.name));
            let checked = check_zip_reader(
                Cursor::new(&zip),
                zip.len() as u64,
                &module_path,
                &v.version,
            )
            .unwrap_or_else(|e| panic!("{}: created zip fails check: {e}", v.name));
            assert_eq!(checked.h1, v.hash, "{}", v.name);
        }
    }

    /// x/mod's testdata/create.
    #[test]
    fn create_vectors() {
        for v in vectors("create") {
            run_create_vector(&v);
        }
    }

    /// x/mod's testdata/check_files: the exact report, one line per file.
    #[test]
    fn check_files_vectors() {
        for mut v in vectors("check_files") {
            let want = v.files.iter().position(|(n, _)| n == "want").unwrap();
            let want = String::from_utf8(v.files.remove(want).1).unwrap();
            let checked = check_files(&files_of(&v), None);
            let mut got = String::from("valid:\n");
            for p in &checked.valid {
                got += &format!("{p}\n");
            }
            got += "\nomitted:\n";
            for e in &checked.omitted {
                got += &format!("{e}\n");
            }
            got += "\ninvalid:\n";
            for e in &checked.invalid {
                got += &format!("{e}\n");
            }
            assert_eq!(got, want, "{}", v.name);
        }
    }

    /// A reader of `len` zero bytes that fails the test if it is ever read
    /// when `readable` is false.
    struct Zeros {
        left: u64,
        readable: bool,
    }

    impl Read for Zeros {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            assert!(self.readable, "an omitted or rejected file was read");
            let n = buf
                .len()
                .min(usize::try_from(self.left).unwrap_or(usize::MAX));
            buf[..n].fill(0);
            self.left -= n as u64;
            Ok(n)
        }
    }

    fn zeros(path: &str, size: u64) -> ZipFile<Zeros> {
        ZipFile::new(
            path,
            size,
            Zeros {
                left: size,
                readable: false,
            },
        )
    }

    const M: &str = "example.com/large";
    const V: &str = "v1.0.0";

    /// TestCreateSizeLimits' failing cases: rejected before reading anything.
    #[test]
    fn size_limits() {
        let cases: Vec<(Vec<ZipFile<Zeros>>, &str)> = vec![
            (
                vec![zeros("large.go", MAX_ZIP_FILE + 1)],
                "module source tree too large",
            ),
            (
                vec![zeros("small.go", 10), zeros("large.go", MAX_ZIP_FILE - 9)],
                "module source tree too large",
            ),
            (
                vec![zeros("go.mod", crate::MAX_GO_MOD + 1)],
                "go.mod file too large",
            ),
            (
                vec![zeros("LICENSE", crate::MAX_LICENSE + 1)],
                "LICENSE file too large",
            ),
            (
                vec![zeros("neg.go", 1 << 63)],
                "module source tree too large",
            ),
        ];
        for (files, want) in cases {
            let err = create(M, V, files).unwrap_err().to_string();
            assert!(err.contains(want), "{err:?} does not contain {want:?}");
        }
    }

    /// TestCreateSizeLimits' passing go.mod and LICENSE cases, at the limit.
    #[test]
    fn files_at_the_limits() {
        for name in ["go.mod", "LICENSE"] {
            let mut file = zeros(name, crate::MAX_GO_MOD);
            file.content.as_mut().unwrap().readable = true;
            let zip = create(M, V, [file]).unwrap();
            let checked = check_zip_reader(Cursor::new(&zip), zip.len() as u64, M, V).unwrap();
            assert_eq!(checked.uncompressed_size, crate::MAX_GO_MOD);
        }
    }

    #[test]
    fn content_longer_than_declared() {
        let err = create(M, V, [ZipFile::new("lie.go", 1, &b"package large"[..])]).unwrap_err();
        assert!(
            err.to_string().contains("larger than declared size"),
            "{err}"
        );
        assert!(matches!(err, Error::Content(e) if e.path == "lie.go"));
    }

    #[test]
    fn omitted_files_are_never_read() {
        let mut files = vec![
            zeros("sub/go.mod", 1),
            zeros("sub/x.go", 1),
            zeros("vendor/a/b.go", 1),
            zeros(".hg_archival.txt", 1),
            ZipFile::symlink("link.go"),
            zeros("a.go", 2),
        ];
        files.last_mut().unwrap().content.as_mut().unwrap().readable = true;
        let checked = check_files(&files, None);
        assert_eq!(checked.valid, ["a.go"]);
        let omitted: Vec<_> = checked.omitted.iter().map(ToString::to_string).collect();
        assert_eq!(
            omitted,
            [
                "sub/go.mod: file is in another module",
                "sub/x.go: file is in another module",
                "vendor/a/b.go: file is in vendor directory",
                ".hg_archival.txt: file is inserted by 'hg archive' and is always omitted",
                "link.go: file is a symbolic link",
            ]
        );
        create(M, V, files).unwrap();
    }

    #[test]
    fn symlinks_still_collide_and_do_not_mark_submodules() {
        let err = create(
            M,
            V,
            [ZipFile::new("a.go", 0, &b""[..]), ZipFile::symlink("A.go")],
        )
        .unwrap_err();
        assert!(err.to_string().contains("case-insensitive"), "{err}");

        let checked = check_files(
            &[
                ZipFile::symlink("sub/go.mod"),
                ZipFile::new("sub/a.go", 0, &b""[..]),
            ],
            None,
        );
        assert_eq!(checked.valid, ["sub/a.go"]);
    }

    #[test]
    fn entries_are_deflated_in_order() {
        let files = [
            ZipFile::new("z.go", 9, &b"package z"[..]),
            ZipFile::new("go.mod", 18, &b"module example.com"[..]),
            ZipFile::new("a/a.go", 9, &b"package a"[..]),
        ];
        let zip = create("example.com", V, files).unwrap();
        let mut archive = zip::ZipArchive::new(Cursor::new(zip)).unwrap();
        let names: Vec<_> = (0..archive.len())
            .map(|i| {
                let f = archive.by_index(i).unwrap();
                assert_eq!(f.compression(), CompressionMethod::Deflated);
                f.name().unwrap().into_owned()
            })
            .collect();
        assert_eq!(
            names,
            [
                "example.com@v1.0.0/z.go",
                "example.com@v1.0.0/go.mod",
                "example.com@v1.0.0/a/a.go"
            ]
        );
    }

    #[test]
    fn go_1_24_vendor_rules_follow_the_go_directive() {
        let files = || {
            [
                ZipFile::new("go.mod", 0, &b""[..]),
                ZipFile::new("vendor/modules.txt", 0, &b""[..]),
                ZipFile::new("pkg/vendor/v.go", 0, &b""[..]),
                ZipFile::new("a/b/vendor/c/d.go", 0, &b""[..]),
            ]
        };
        let old = check_files(&files(), Some("1.23"));
        assert_eq!(old.valid, ["go.mod", "vendor/modules.txt"]);
        let new = check_files(&files(), Some("1.24"));
        assert_eq!(new.valid, ["go.mod", "pkg/vendor/v.go"]);
        let mut out = Cursor::new(Vec::new());
        create_zip(&mut out, M, V, files(), Some("1.24.2")).unwrap();
        let archive = zip::ZipArchive::new(Cursor::new(out.into_inner())).unwrap();
        assert_eq!(archive.len(), 2);
    }
}
