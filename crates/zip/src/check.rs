//! Checking and hashing module zips in one streaming pass.

use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use sha2::{Digest as _, Sha256};
use zip::read::Config;
use zip::unstable::read::ZipIterable;
use zip::{CompressionMethod, ExtraField, ZipReadOptions};

use crate::dirhash::{self, FileDigest};
use crate::rules::{self, Collisions};
use crate::{Error, FileError, MAX_ZIP_FILE, Problem};

/// A module zip that passed every check of x/mod's `zip.Unzip`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedZip {
    /// The `h1:` hash `dirhash.HashZip` gives, as recorded in go.sum.
    pub h1: String,
    /// Number of file entries (directory entries not counted).
    pub files: usize,
    /// Total uncompressed size of the files.
    pub uncompressed_size: u64,
}

/// Validates the zip at `zip_path` as the zip of `module_path@version`,
/// applying every rule x/mod's `zip.Unzip` enforces, and hashes it.
///
/// Entry contents are streamed through the hasher, never held in memory,
/// and never read past their declared sizes (which must add up to at most
/// [`MAX_ZIP_FILE`]), so hostile zips cost bounded time and memory.
pub fn check_zip(zip_path: &Path, module_path: &str, version: &str) -> Result<CheckedZip, Error> {
    let file = fs_err::File::open(zip_path)?;
    let size = file.metadata()?.len();
    check_zip_reader(BufReader::new(file), size, module_path, version)
}

/// `dirhash.HashZip`: the h1 hash of every entry of the zip at `path`,
/// without the module rules. Still refuses zips over [`MAX_ZIP_FILE`]
/// (compressed or declared uncompressed), as no module zip can be larger.
pub fn hash_zip_file(path: &Path) -> Result<String, Error> {
    let file = fs_err::File::open(path)?;
    let size = file.metadata()?.len();
    check_size(size)?;
    let mut zip = open(BufReader::new(file))?;
    let entries = zip.files().map_err(Error::NotZip)?;
    let mut digests = Vec::new();
    let mut total = 0u64;
    while let Some(entry) = entries.next() {
        let entry = entry.map_err(Error::NotZip)?;
        // Go hashes names as raw bytes, valid UTF-8 or not.
        let raw = entry.name_raw().to_vec();
        let name = String::from_utf8_lossy(&raw).into_owned();
        dirhash::check_name(&name)?;
        if !raw.ends_with(b"/") {
            total = add_size(total, entry.size())?;
        }
        let digest = hash_entry(entry, entries.reader_mut(), &name)?;
        digests.push((raw, digest));
    }
    // HashZip opens entries by name, so duplicates all hash the last one.
    digests.sort_by(|a, b| a.0.cmp(&b.0)); // stable: zip order within a name
    for i in (1..digests.len()).rev() {
        if digests[i - 1].0 == digests[i].0 {
            digests[i - 1].1 = digests[i].1;
        }
    }
    Ok(dirhash::summarize(&mut digests))
}

/// [`check_zip`] of a zip read from `reader` (`size` bytes long).
pub fn check_zip_reader<R: Read + Seek>(
    reader: R,
    size: u64,
    module_path: &str,
    version: &str,
) -> Result<CheckedZip, Error> {
    rules::check_module(module_path, version)?;
    check_size(size)?;
    let prefix = rules::prefix(module_path, version);
    let mut zip = open(reader)?;
    let entries = zip.files().map_err(Error::NotZip)?;

    let mut invalid = Vec::new();
    let mut collisions = Collisions::default();
    let mut digests = Vec::new();
    let mut total = 0u64;
    let mut files = 0;
    let mut broken = None;
    while let Some(entry) = entries.next() {
        let entry = entry.map_err(Error::NotZip)?;
        let raw = entry.name_raw();
        let Ok(name) = std::str::from_utf8(raw) else {
            let problem = match raw.starts_with(prefix.as_bytes()) {
                true => Problem::NotUtf8,
                false => Problem::MissingPrefix(prefix.clone()),
            };
            invalid.push(FileError::new(String::from_utf8_lossy(raw), problem));
            continue;
        };
        let name = name.to_owned();
        let declared = entry.size();
        let file = match check_name(&name, &prefix, &mut collisions) {
            Ok(file) => file,
            Err(problem) => {
                invalid.push(FileError::new(name, problem));
                continue;
            }
        };
        if let Some(rel) = file {
            total = add_size(total, declared)?;
            if let Some(problem) = rules::size_problem(rel, declared) {
                invalid.push(FileError::new(name, problem));
                continue;
            }
            files += 1;
        }
        // Once the zip is known to be bad, only the names and sizes matter:
        // like Unzip, report those before any error in the data.
        if invalid.is_empty() && broken.is_none() {
            match hash_entry(entry, entries.reader_mut(), &name) {
                Ok(digest) => digests.push((name, digest)),
                Err(e) => broken = Some(e),
            }
        }
    }
    if !invalid.is_empty() {
        return Err(Error::Invalid(invalid));
    }
    if let Some(e) = broken {
        return Err(e);
    }
    Ok(CheckedZip {
        h1: dirhash::summarize(&mut digests),
        files,
        uncompressed_size: total,
    })
}

/// x/mod's checkZip rules for one entry name. Returns the path relative to
/// the module root for a file, None for a directory (or the root entry).
fn check_name<'a>(
    name: &'a str,
    prefix: &str,
    collisions: &mut Collisions,
) -> Result<Option<&'a str>, Problem> {
    let Some(rel) = name.strip_prefix(prefix) else {
        return Err(Problem::MissingPrefix(prefix.to_owned()));
    };
    if rel.is_empty() {
        return Ok(None); // Go skips the `module@version/` entry itself
    }
    let (rel, is_dir) = match rel.strip_suffix('/') {
        Some(dir) => (dir, true),
        None => (rel, false),
    };
    if !rules::is_clean(rel) {
        return Err(Problem::NotClean);
    }
    rules::check_file_path(rel)?;
    collisions.check(rel, is_dir)?;
    if is_dir {
        return Ok(None);
    }
    let base = rel.rsplit('/').next().unwrap_or(rel);
    if rules::str_to_fold(base) == "go.mod" {
        if base != rel {
            return Err(Problem::GoModNotInRoot);
        }
        if rel != "go.mod" {
            return Err(Problem::GoModCase);
        }
    }
    Ok(Some(rel))
}

fn check_size(size: u64) -> Result<(), Error> {
    if size > MAX_ZIP_FILE {
        return Err(Error::ZipTooLarge { size });
    }
    Ok(())
}

fn add_size(total: u64, size: u64) -> Result<u64, Error> {
    total
        .checked_add(size)
        .filter(|&t| t <= MAX_ZIP_FILE)
        .ok_or(Error::ContentsTooLarge)
}

/// The license files at the root of a module zip (`LICENSE`, `COPYING`,
/// `LICENCE`, `UNLICENSE`, with any extension, any case), read from its
/// central directory only.
pub fn root_licenses<R: Read + Seek>(
    reader: R,
    module_path: &str,
    version: &str,
) -> Result<Vec<String>, Error> {
    let prefix = rules::prefix(module_path, version);
    let mut zip = open(reader)?;
    let mut found = Vec::new();
    for entry in zip.files().map_err(Error::NotZip)? {
        let entry = entry.map_err(Error::NotZip)?;
        let Some(name) = std::str::from_utf8(entry.name_raw())
            .ok()
            .and_then(|n| n.strip_prefix(prefix.as_str()))
        else {
            continue;
        };
        let stem = name
            .split('.')
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let stem = stem.trim_end_matches(['-', '_']);
        if !name.contains('/')
            && ["LICENSE", "LICENCE", "COPYING", "UNLICENSE"]
                .iter()
                .any(|l| stem == *l || stem.starts_with(&format!("{l}-")))
        {
            found.push(name.to_owned());
        }
    }
    found.sort();
    Ok(found)
}

fn open<R: Read + Seek>(reader: R) -> Result<ZipIterable<R>, Error> {
    ZipIterable::try_new(reader, Config::default()).map_err(Error::NotZip)
}

/// Hashes one entry's content as Go's `zip.File.Open` would deliver it:
/// directories must be empty, files must decompress to exactly their
/// declared size with a matching CRC-32.
fn hash_entry<R: Read + Seek>(
    entry: zip::read::ZipFileEntry<'_>,
    reader: &mut R,
    name: &str,
) -> Result<FileDigest, Error> {
    let bad = |problem| Error::Content(FileError::new(name, problem));
    let declared = entry.size();
    let method = entry.compression();
    let crc = entry.crc32();
    let descriptor = entry.flags().is_using_data_descriptor();
    // Go ignores the encryption flag, and without a data descriptor skips
    // the CRC check when the header's CRC is zero.
    let options = ZipReadOptions::new()
        .ignore_encryption_flag(true)
        .ignore_crc32(crc == 0 && !descriptor);
    let mut file = entry
        .with_reader(&mut *reader, options)
        .map_err(|e| bad(Problem::Zip(e)))?;
    if file
        .extra_data_fields()
        .any(|f| matches!(f, ExtraField::UnicodePath(_)))
    {
        return Err(Error::Invalid(vec![FileError::new(
            name,
            Problem::UnicodePathField,
        )]));
    }
    if name.ends_with('/') {
        if declared != 0 {
            return Err(bad(Problem::DirectoryWithData(declared)));
        }
        return Ok(Sha256::digest(b"").into());
    }
    if !matches!(
        method,
        CompressionMethod::Stored | CompressionMethod::Deflated
    ) {
        return Err(bad(Problem::Compression(method)));
    }
    let data_end = file
        .data_start()
        .and_then(|start| start.checked_add(file.compressed_size()));
    let mut hasher = Sha256::new();
    // One byte past the declared size is enough to catch a lie.
    let mut limited = (&mut file).take(declared.saturating_add(1));
    let actual = io::copy(&mut limited, &mut hasher).map_err(|e| bad(Problem::Read(e)))?;
    if actual > declared {
        return Err(bad(Problem::LargerThanDeclared(declared)));
    }
    if actual < declared {
        return Err(bad(Problem::SmallerThanDeclared { declared, actual }));
    }
    drop(file);
    if descriptor {
        let at = data_end.ok_or_else(|| bad(Problem::Descriptor))?;
        check_descriptor(reader, at, crc).map_err(bad)?;
    }
    Ok(hasher.finalize().into())
}

/// Go reads the data descriptor that flag bit 3 promises after the data,
/// and requires its CRC-32 to match the central directory's.
fn check_descriptor<R: Read + Seek>(reader: &mut R, at: u64, crc: u32) -> Result<(), Problem> {
    const SIGNATURE: u32 = 0x0807_4b50; // optional
    let mut buf = [0; 12];
    reader.seek(SeekFrom::Start(at)).map_err(Problem::Read)?;
    reader.read_exact(&mut buf[..4]).map_err(Problem::Read)?;
    let rest = match u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]) {
        SIGNATURE => 0,
        _ => 4,
    };
    reader.read_exact(&mut buf[rest..]).map_err(Problem::Read)?;
    match u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]) == crc {
        true => Ok(()),
        false => Err(Problem::Descriptor),
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Write as _};

    use super::*;
    use crate::testutil::{RawEntry, TempFile, Vector, raw_zip, vectors};

    fn check(zip: &[u8], module_path: &str, version: &str) -> Result<CheckedZip, Error> {
        check_zip_reader(Cursor::new(zip), zip.len() as u64, module_path, version)
    }

    fn zip_of(files: &[(String, Vec<u8>)]) -> Vec<u8> {
        let entries: Vec<_> = files.iter().map(|(n, d)| RawEntry::new(n, d)).collect();
        raw_zip(&entries)
    }

    /// The vector's module path; the one that is not UTF-8 cannot reach our
    /// `&str` API, so it becomes U+FFFD, which is just as invalid.
    fn module_path(v: &Vector) -> String {
        String::from_utf8_lossy(&v.path).into_owned()
    }

    fn invalid_lines(err: &Error) -> Vec<String> {
        match err {
            Error::Invalid(list) => list.iter().map(ToString::to_string).collect(),
            other => panic!("want Error::Invalid, got {other:?}"),
        }
    }

    /// x/mod's testdata/check_zip: which entries CheckZip calls invalid.
    #[test]
    fn licenses_are_found_at_the_root_only() {
        let zip = raw_zip(&[
            RawEntry::new("example.com/m@v1.0.0/go.mod", "module example.com/m\n"),
            RawEntry::new("example.com/m@v1.0.0/LICENSE.md", "MIT"),
            RawEntry::new("example.com/m@v1.0.0/copying", "GPL"),
            RawEntry::new("example.com/m@v1.0.0/LICENSES/x", "no"),
            RawEntry::new("example.com/m@v1.0.0/sub/LICENSE", "no"),
            RawEntry::new("example.com/m@v1.0.0/licensed.go", "no"),
            RawEntry::new("example.com/other@v1.0.0/LICENSE", "no"),
        ]);
        let found = root_licenses(std::io::Cursor::new(zip), "example.com/m", "v1.0.0").unwrap();
        assert_eq!(found, ["LICENSE.md", "copying"]);
        assert!(root_licenses(std::io::Cursor::new(b"nope".to_vec()), "a.b/c", "v1.0.0").is_err());
    }

    #[test]
    fn check_zip_vectors() {
        for mut v in vectors("check_zip") {
            let want = v.files.iter().position(|(n, _)| n == "want").unwrap();
            let want = String::from_utf8(v.files.remove(want).1).unwrap();
            let section = |name: &str| -> Vec<String> {
                let rest = want.split(&format!("{name}:\n")).nth(1).unwrap();
                rest.lines()
                    .take_while(|l| !l.is_empty())
                    .map(str::to_owned)
                    .collect()
            };
            let (valid, invalid) = (section("valid"), section("invalid"));
            assert!(section("omitted").is_empty(), "CheckZip never omits");

            let got = check(&zip_of(&v.files), &module_path(&v), &v.version);
            match got {
                Ok(checked) => {
                    assert!(invalid.is_empty(), "{}: unexpected success", v.name);
                    assert_eq!(checked.files, valid.len(), "{}", v.name);
                }
                Err(err) => assert_eq!(invalid_lines(&err), invalid, "{}", v.name),
            }
        }
    }

    /// x/mod's testdata/unzip: Unzip's error, or the hash of what it extracts.
    #[test]
    fn unzip_vectors() {
        for v in vectors("unzip") {
            let zip = zip_of(&v.files);
            let got = check(&zip, &module_path(&v), &v.version);
            if !v.path.is_ascii() {
                assert!(got.is_err(), "{}: non-UTF-8 module path accepted", v.name);
            } else if !v.want_err.is_empty() {
                let err = got.expect_err(&v.name).to_string();
                assert!(err.contains(&v.want_err), "{}: {err:?}", v.name);
            } else {
                let checked = got.unwrap_or_else(|e| panic!("{}: {e}", v.name));
                assert_eq!(checked.h1, v.hash, "{}", v.name);
                let file = TempFile::new(&zip);
                assert_eq!(hash_zip_file(&file.0).unwrap(), v.hash, "{}", v.name);
            }
        }
    }

    #[test]
    fn check_zip_reads_a_file() {
        let zip = raw_zip(&[
            RawEntry::new("example.com/m@v1.0.0/go.mod", "module example.com/m\n"),
            RawEntry::new("example.com/m@v1.0.0/m.go", "package m\n"),
        ]);
        let file = TempFile::new(&zip);
        let got = check_zip(&file.0, "example.com/m", "v1.0.0").unwrap();
        assert_eq!(got.files, 2);
        assert_eq!(got.uncompressed_size, 31);
        assert_eq!(got.h1, hash_zip_file(&file.0).unwrap());

        let missing = file.0.with_extension("missing");
        let err = check_zip(&missing, "example.com/m", "v1.0.0").unwrap_err();
        assert!(matches!(err, Error::Io(_)));
        assert!(
            err.to_string().contains(&*missing.to_string_lossy()),
            "{err}"
        );
    }

    const M: &str = "example.com/m";
    const V: &str = "v1.0.0";

    fn entry(rel: &str, data: &str) -> RawEntry {
        RawEntry::new(format!("{M}@{V}/{rel}"), data)
    }

    fn check_entries(entries: &[RawEntry]) -> Result<CheckedZip, Error> {
        check(&raw_zip(entries), M, V)
    }

    fn invalid(entries: &[RawEntry]) -> Vec<String> {
        invalid_lines(&check_entries(entries).unwrap_err())
    }

    fn content_problem(entries: &[RawEntry]) -> Problem {
        match check_entries(entries) {
            Err(Error::Content(e)) => e.problem,
            other => panic!("want a content error, got {other:?}"),
        }
    }

    #[test]
    fn garbage_is_not_a_zip() {
        for data in [&b""[..], b"PK", b"hello, world", &[0xff; 4096]] {
            let err = check(data, M, V).unwrap_err();
            assert!(matches!(err, Error::NotZip(_)), "{err:?}");
        }
    }

    #[test]
    fn every_truncation_fails_cleanly() {
        let zip = raw_zip(&[
            entry("go.mod", "module example.com/m\n"),
            entry("a.go", "package a\n"),
        ]);
        check(&zip, M, V).unwrap();
        for len in 0..zip.len() {
            assert!(check(&zip[..len], M, V).is_err(), "truncated to {len}");
        }
        // Flipping any byte must not panic either (most flips are errors).
        for i in 0..zip.len() {
            let mut bad = zip.clone();
            bad[i] ^= 0xff;
            let _ = check(&bad, M, V);
        }
    }

    #[test]
    fn names_outside_the_module() {
        assert_eq!(
            invalid(&[RawEntry::new("other.com/m@v1.0.0/a.go", "")]),
            [r#"other.com/m@v1.0.0/a.go: path does not have prefix "example.com/m@v1.0.0/""#]
        );
        assert_eq!(
            invalid(&[entry("a/../../b.go", ""), entry("./c.go", "")]),
            [
                "example.com/m@v1.0.0/a/../../b.go: file path is not clean",
                "example.com/m@v1.0.0/./c.go: file path is not clean",
            ]
        );
        // "../a.go" is clean; the file path rules reject it.
        let up = invalid(&[entry("../a.go", "")]);
        assert!(
            up[0].starts_with(r#"example.com/m@v1.0.0/../a.go: malformed file path "../a.go""#)
        );
        // Windows separators and absolute paths are not module file paths.
        assert_eq!(invalid(&[entry("/etc/passwd", "")]).len(), 1);
        assert_eq!(invalid(&[entry("a\\b.go", "")]).len(), 1);
    }

    #[test]
    fn collisions_and_duplicates() {
        assert_eq!(
            invalid(&[entry("a.go", ""), entry("A.go", "")]),
            [
                r#"example.com/m@v1.0.0/A.go: case-insensitive file name collision: "a.go" and "A.go""#
            ]
        );
        assert_eq!(
            invalid(&[entry("dir/a.go", ""), entry("DIR/b.go", "")]),
            [
                r#"example.com/m@v1.0.0/DIR/b.go: case-insensitive file name collision: "dir" and "DIR""#
            ]
        );
        assert_eq!(
            invalid(&[entry("a.go", "1"), entry("a.go", "2")]),
            [r#"example.com/m@v1.0.0/a.go: multiple entries for file "a.go""#]
        );
        assert_eq!(
            invalid(&[entry("a", ""), entry("a/b.go", "")]),
            [r#"example.com/m@v1.0.0/a/b.go: entry "a" is both a file and a directory"#]
        );
    }

    #[test]
    fn go_mod_rules() {
        assert_eq!(
            invalid(&[entry("sub/go.mod", ""), entry("Go.Mod", "")]),
            [
                "example.com/m@v1.0.0/sub/go.mod: go.mod file not in module root directory",
                "example.com/m@v1.0.0/Go.Mod: go.mod files must have lowercase names",
            ]
        );
        // vendor/ gets no special treatment in zips: nested go.mod files are
        // rejected there too, and vendored files are kept.
        assert!(check_entries(&[entry("vendor/x/go.mod", "")]).is_err());
        check_entries(&[entry("vendor/x/y/z.go", "")]).unwrap();
    }

    #[test]
    fn non_utf8_names() {
        let mut name = format!("{M}@{V}/").into_bytes();
        name.extend_from_slice(b"caf\xe9.go");
        assert_eq!(
            invalid(&[RawEntry::new(&name, "")]),
            ["example.com/m@v1.0.0/caf\u{fffd}.go: malformed file path: invalid UTF-8"]
        );
        assert_eq!(
            invalid(&[RawEntry::new(b"\xff/a.go", "")]),
            ["\u{fffd}/a.go: path does not have prefix \"example.com/m@v1.0.0/\""]
        );
    }

    #[test]
    fn declared_sizes_must_hold() {
        let mut short = entry("a.go", "package a\n");
        short.declared = Some(3);
        assert!(matches!(
            content_problem(&[short]),
            Problem::Read(_) | Problem::LargerThanDeclared(3)
        ));

        let mut long = entry("a.go", "package a\n");
        long.declared = Some(100);
        assert!(matches!(
            content_problem(&[long]),
            Problem::SmallerThanDeclared {
                declared: 100,
                actual: 10
            } | Problem::Read(_)
        ));

        let mut crc = entry("a.go", "package a\n");
        crc.crc = Some(1);
        assert!(matches!(content_problem(&[crc]), Problem::Read(_)));

        // Go takes a zero CRC-32 to mean "not set".
        let mut crc = entry("a.go", "package a\n");
        crc.crc = Some(0);
        check_entries(&[crc]).unwrap();
    }

    #[test]
    fn size_limits_use_declared_sizes() {
        let declaring = |rel: &str, size: u64| {
            let mut e = entry(rel, "");
            e.declared = Some(u32::try_from(size).unwrap());
            e
        };
        assert_eq!(
            invalid(&[declaring("go.mod", crate::MAX_GO_MOD + 1)]),
            ["example.com/m@v1.0.0/go.mod: go.mod file too large (max size is 16777216 bytes)"]
        );
        assert_eq!(
            invalid(&[declaring("LICENSE", crate::MAX_LICENSE + 1)]),
            ["example.com/m@v1.0.0/LICENSE: LICENSE file too large (max size is 16777216 bytes)"]
        );
        // Both limits are on the exact size, and only in the module root.
        assert!(matches!(
            content_problem(&[declaring("go.mod", crate::MAX_GO_MOD)]),
            Problem::SmallerThanDeclared { .. }
        ));
        assert!(matches!(
            content_problem(&[declaring("sub/LICENSE", crate::MAX_LICENSE + 1)]),
            Problem::SmallerThanDeclared { .. }
        ));

        let half = MAX_ZIP_FILE / 2;
        let err = check_entries(&[declaring("a", half), declaring("b", half + 1)]).unwrap_err();
        assert!(matches!(err, Error::ContentsTooLarge), "{err:?}");
        let err = check_entries(&[declaring("a", u64::from(u32::MAX))]).unwrap_err();
        assert!(matches!(err, Error::ContentsTooLarge), "{err:?}");
    }

    #[test]
    fn zip_file_size_limit() {
        let file = TempFile::new(b"");
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&file.0)
            .unwrap();
        f.set_len(MAX_ZIP_FILE + 1).unwrap(); // sparse: cheap
        let err = check_zip(&file.0, M, V).unwrap_err();
        assert!(matches!(err, Error::ZipTooLarge { .. }), "{err:?}");
        f.set_len(MAX_ZIP_FILE).unwrap();
        let err = check_zip(&file.0, M, V).unwrap_err();
        assert!(matches!(err, Error::NotZip(_)), "{err:?}");
    }

    /// A deflated entry that inflates far past its declared size is cut off
    /// one byte after it, not inflated in full.
    #[test]
    fn deflate_bomb_is_cut_off() {
        let real = 0x0A_BCDE_usize;
        let mut buf = Cursor::new(Vec::new());
        let mut w = zip::ZipWriter::new(&mut buf);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated);
        w.start_file(format!("{M}@{V}/bomb.go"), options).unwrap();
        w.write_all(&vec![0; real]).unwrap();
        w.finish().unwrap();
        let mut zip = buf.into_inner();
        let (from, to) = ((real as u32).to_le_bytes(), 100u32.to_le_bytes());
        let at: Vec<_> = (0..zip.len() - 4)
            .filter(|&i| zip[i..i + 4] == from)
            .collect();
        assert_eq!(at.len(), 2, "size in local and central header");
        for i in at {
            zip[i..i + 4].copy_from_slice(&to);
        }
        let err = check(&zip, M, V).unwrap_err();
        let Error::Content(e) = err else {
            panic!("{err:?}")
        };
        assert!(
            matches!(
                e.problem,
                Problem::Read(_) | Problem::LargerThanDeclared(100)
            ),
            "{e}"
        );
    }

    /// With flag bit 3, Go checks the CRC-32 in the data descriptor that
    /// follows the data, with or without its signature.
    #[test]
    fn data_descriptors() {
        let with_descriptor = |descriptor: &[u8]| {
            let mut e = entry("a.go", "package a\n");
            e.flags |= 8;
            e.crc = Some(crate::testutil::crc32(&e.data));
            e.data.extend_from_slice(descriptor);
            e.declared = Some(10); // the descriptor is not data
            let mut zip = raw_zip(&[e]);
            // Point the compressed sizes back at the data alone.
            let (from, to) = (20u32.to_le_bytes(), 10u32.to_le_bytes());
            for i in 0..zip.len() - 4 {
                if zip[i..i + 4] == from {
                    zip[i..i + 4].copy_from_slice(&to);
                }
            }
            check(&zip, M, V)
        };
        let crc = crate::testutil::crc32(b"package a\n").to_le_bytes();
        let signed: Vec<u8> = [&0x0807_4b50u32.to_le_bytes()[..], &crc, &[0; 2]].concat();
        with_descriptor(&signed).unwrap();
        let unsigned: Vec<u8> = [&crc[..], &[0; 6]].concat();
        with_descriptor(&unsigned).unwrap();
        let wrong: Vec<u8> = [&[0; 4][..], &[0; 6]].concat();
        let err = with_descriptor(&wrong).unwrap_err();
        assert!(
            matches!(&err, Error::Content(e) if matches!(e.problem, Problem::Descriptor)),
            "{err:?}"
        );
    }

    #[test]
    fn directories_are_hashed_like_hashzip() {
        let entries = [
            RawEntry::new(format!("{M}@{V}/"), ""),
            entry("dir/", ""),
            entry("dir/a.go", "package a\n"),
        ];
        let got = check_entries(&entries).unwrap();
        assert_eq!(got.files, 1);
        // HashZip opens directory entries too, as empty files.
        let want = crate::dirhash::hash1([
            (format!("{M}@{V}/"), &b""[..]),
            (format!("{M}@{V}/dir/"), b""),
            (format!("{M}@{V}/dir/a.go"), b"package a\n"),
        ])
        .unwrap();
        assert_eq!(got.h1, want);

        let mut full = entry("dir/", "data");
        full.declared = Some(4);
        assert!(matches!(
            content_problem(&[full]),
            Problem::DirectoryWithData(4)
        ));
    }

    #[test]
    fn unsupported_entries() {
        let mut bzip2 = entry("a.go", "x");
        bzip2.method = 12;
        assert!(matches!(
            check_entries(&[bzip2]),
            Err(Error::Content(_) | Error::NotZip(_))
        ));

        // Go ignores the encryption flag and reads the data as is.
        let mut encrypted = entry("a.go", "x");
        encrypted.flags |= 1;
        check_entries(&[encrypted]).unwrap();

        // Info-ZIP Unicode Path (0x7075) renames the entry for some readers, not for Go.
        let mut renamed = entry("a.go", "x");
        let real_name = format!("{M}@{V}/b.go");
        let mut field = vec![1];
        field.extend_from_slice(&crate::testutil::crc32(&renamed.name).to_le_bytes());
        field.extend_from_slice(real_name.as_bytes());
        renamed.extra = [0x75, 0x70]
            .into_iter()
            .chain(u16::try_from(field.len()).unwrap().to_le_bytes())
            .chain(field)
            .collect();
        assert_eq!(
            invalid(&[renamed]),
            [
                "example.com/m@v1.0.0/b.go: entry carries an Info-ZIP Unicode Path extra field, which Go ignores"
            ]
        );
    }

    #[test]
    fn bad_module_or_version() {
        let zip = raw_zip(&[]);
        assert!(matches!(check(&zip, "cache", V), Err(Error::Module(_))));
        let err = check(&zip, M, "v1.0.0+meta").unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"version "v1.0.0+meta" is not canonical (should be "v1.0.0")"#
        );
    }

    #[test]
    fn hash_zip_file_duplicates_hash_the_last() {
        let file = TempFile::new(&raw_zip(&[
            RawEntry::new("p/a", "first"),
            RawEntry::new("p/a", "last"),
        ]));
        let want = crate::dirhash::hash1([("p/a", &b"last"[..]), ("p/a", b"last")]).unwrap();
        assert_eq!(hash_zip_file(&file.0).unwrap(), want);
    }
}
