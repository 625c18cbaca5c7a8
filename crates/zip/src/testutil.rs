//! Test helpers: the x/mod test vectors (txtar files) and a raw zip writer
//! that can produce the malformed archives a real writer refuses to.

use std::path::PathBuf;

/// Where Debian's golang-golang-x-mod-dev installs x/mod's zip test data.
const ZIP_TESTDATA: &str = "/usr/share/gocode/src/golang.org/x/mod/zip/testdata";

/// One x/mod zip test: `key=value` settings from the comment, and files.
#[derive(Debug)]
pub struct Vector {
    pub name: String,
    /// Raw bytes: one vector has a module path that is not UTF-8.
    pub path: Vec<u8>,
    pub version: String,
    pub want_err: String,
    pub hash: String,
    pub files: Vec<(String, Vec<u8>)>,
}

/// Loads every vector in `testdata/<dir>`, sorted by name. Fails (never
/// skips) if the data is not installed.
pub fn vectors(dir: &str) -> Vec<Vector> {
    let dir = PathBuf::from(ZIP_TESTDATA).join(dir);
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; install Debian's golang-golang-x-mod-dev for x/mod's test vectors",
            dir.display()
        )
    });
    let mut vectors: Vec<Vector> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            parse_vector(name, &std::fs::read(&p).unwrap())
        })
        .collect();
    assert!(!vectors.is_empty(), "no vectors in {}", dir.display());
    vectors.sort_by(|a, b| a.name.cmp(&b.name));
    vectors
}

fn parse_vector(name: String, data: &[u8]) -> Vector {
    let (comment, files) = parse_txtar(data);
    let mut v = Vector {
        name,
        path: Vec::new(),
        version: String::new(),
        want_err: String::new(),
        hash: String::new(),
        files,
    };
    for line in comment.split(|&b| b == b'\n') {
        let line = match line.iter().position(|&b| b == b'#') {
            Some(i) => &line[..i],
            None => line,
        };
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        let eq = line.iter().position(|&b| b == b'=').expect("key=value");
        let (key, value) = (line[..eq].trim_ascii(), line[eq + 1..].trim_ascii());
        let text = || String::from_utf8(value.to_vec()).unwrap();
        match key {
            b"path" => v.path = value.to_vec(),
            b"version" => v.version = text(),
            b"wantErr" => v.want_err = text(),
            b"hash" => v.hash = text(),
            _ => panic!("{}: unknown key {:?}", v.name, String::from_utf8_lossy(key)),
        }
    }
    v
}

/// golang.org/x/tools/txtar: a comment, then files introduced by
/// `-- name --` lines. Data that does not end in a newline gets one.
pub fn parse_txtar(data: &[u8]) -> (Vec<u8>, Vec<(String, Vec<u8>)>) {
    let mut comment = None;
    let mut files = Vec::new();
    let mut name: Option<String> = None;
    let mut body = Vec::new();
    let mut finish = |name: Option<String>, body: &mut Vec<u8>| {
        let data = std::mem::take(body);
        match name {
            None => comment = Some(data),
            Some(n) => files.push((n, data)),
        }
    };
    for line in data.split_inclusive(|&b| b == b'\n') {
        let text = line.strip_suffix(b"\n").unwrap_or(line);
        let marker = text
            .strip_prefix(b"-- ")
            .and_then(|t| t.strip_suffix(b" --"))
            .map(|m| m.trim_ascii())
            .filter(|m| !m.is_empty());
        if let Some(marker) = marker {
            finish(name.take(), &mut body);
            name = Some(String::from_utf8(marker.to_vec()).unwrap());
            continue;
        }
        body.extend_from_slice(line);
        if !line.ends_with(b"\n") {
            body.push(b'\n');
        }
    }
    finish(name, &mut body);
    (comment.unwrap_or_default(), files)
}

/// One entry for [`raw_zip`], stored (uncompressed) unless `method` says otherwise.
pub struct RawEntry {
    pub name: Vec<u8>,
    pub data: Vec<u8>,
    /// Uncompressed size to declare, if not the real one.
    pub declared: Option<u32>,
    /// CRC-32 to declare, if not the real one.
    pub crc: Option<u32>,
    /// Extra field bytes for both headers.
    pub extra: Vec<u8>,
    pub method: u16,
    pub flags: u16,
}

impl RawEntry {
    pub fn new(name: impl AsRef<[u8]>, data: impl AsRef<[u8]>) -> Self {
        RawEntry {
            name: name.as_ref().to_vec(),
            data: data.as_ref().to_vec(),
            declared: None,
            crc: None,
            extra: Vec::new(),
            method: 0,
            flags: 0x0800, // UTF-8 names
        }
    }
}

/// A zip written byte by byte, so tests control every field.
pub fn raw_zip(entries: &[RawEntry]) -> Vec<u8> {
    fn u16le(out: &mut Vec<u8>, v: usize) {
        out.extend_from_slice(&u16::try_from(v).unwrap().to_le_bytes());
    }
    fn u32le(out: &mut Vec<u8>, v: u32) {
        out.extend_from_slice(&v.to_le_bytes());
    }
    let mut out = Vec::new();
    let mut central = Vec::new();
    for e in entries {
        let offset = u32::try_from(out.len()).unwrap();
        let size = u32::try_from(e.data.len()).unwrap();
        let crc = e.crc.unwrap_or_else(|| crc32(&e.data));
        let declared = e.declared.unwrap_or(size);
        // Fields shared by the local and central headers, from "version needed".
        let mut common = Vec::new();
        u16le(&mut common, 20); // version needed
        u16le(&mut common, e.flags.into());
        u16le(&mut common, e.method.into());
        u16le(&mut common, 0); // time
        u16le(&mut common, 0x21); // date: 1980-01-01
        u32le(&mut common, crc);
        u32le(&mut common, size);
        u32le(&mut common, declared);
        u16le(&mut common, e.name.len());
        u16le(&mut common, e.extra.len());

        u32le(&mut out, 0x0403_4b50);
        out.extend_from_slice(&common);
        out.extend_from_slice(&e.name);
        out.extend_from_slice(&e.extra);
        out.extend_from_slice(&e.data);

        u32le(&mut central, 0x0201_4b50);
        u16le(&mut central, 20); // version made by
        central.extend_from_slice(&common);
        u16le(&mut central, 0); // comment length
        u16le(&mut central, 0); // disk
        u16le(&mut central, 0); // internal attributes
        u32le(&mut central, 0); // external attributes
        u32le(&mut central, offset);
        central.extend_from_slice(&e.name);
        central.extend_from_slice(&e.extra);
    }
    let cd_offset = u32::try_from(out.len()).unwrap();
    let cd_size = u32::try_from(central.len()).unwrap();
    out.extend_from_slice(&central);
    u32le(&mut out, 0x0605_4b50);
    u16le(&mut out, 0); // disk
    u16le(&mut out, 0); // disk with central directory
    u16le(&mut out, entries.len());
    u16le(&mut out, entries.len());
    u32le(&mut out, cd_size);
    u32le(&mut out, cd_offset);
    u16le(&mut out, 0); // comment length
    out
}

/// The IEEE CRC-32 zip uses, bit by bit: slow, but only for tests.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A file under the system temp directory, removed when dropped.
pub struct TempFile(pub PathBuf);

impl TempFile {
    pub fn new(contents: &[u8]) -> Self {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let n = COUNT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("modgate-zip-{}-{n}.zip", std::process::id()));
        std::fs::write(&path, contents).unwrap();
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
