//! The `h1:` hash of golang.org/x/mod/sumdb/dirhash, as recorded in go.sum.
//!
//! h1 is SHA-256 over a summary with one line per file, sorted by name:
//! the hex SHA-256 of the content, two spaces, the name and a newline.

use std::io::{self, Read};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest as _, Sha256};

use crate::Error;

/// SHA-256 of one file's content.
pub(crate) type FileDigest = [u8; 32];

/// Go's `dirhash.Hash1` over `(name, content)` pairs given in any order.
pub fn hash1<I, N, R>(files: I) -> Result<String, Error>
where
    I: IntoIterator<Item = (N, R)>,
    N: Into<String>,
    R: Read,
{
    let mut digests = Vec::new();
    for (name, mut content) in files {
        let name = name.into();
        check_name(&name)?;
        let digest = digest_reader(&mut content)?;
        digests.push((name, digest));
    }
    Ok(summarize(&mut digests))
}

/// The `/go.mod h1:` hash of a go.mod file: Hash1 over one file named "go.mod".
pub fn hash_go_mod(content: &[u8]) -> String {
    summarize(&mut [("go.mod".to_owned(), Sha256::digest(content).into())])
}

/// Rejects names dirhash cannot put on one summary line.
pub(crate) fn check_name(name: &str) -> Result<(), Error> {
    if name.contains('\n') {
        return Err(Error::NewlineInName(name.to_owned()));
    }
    Ok(())
}

/// Hashes all of `r`, returning the digest.
pub(crate) fn digest_reader(r: &mut impl Read) -> io::Result<FileDigest> {
    let mut hasher = Sha256::new();
    io::copy(r, &mut hasher)?;
    Ok(hasher.finalize().into())
}

/// The h1 hash of digests whose names passed [`check_name`]. Sorts by name
/// bytewise, like Go's sort.Strings. Names are bytes because Go's are.
pub(crate) fn summarize<N: AsRef<[u8]>>(files: &mut [(N, FileDigest)]) -> String {
    files.sort_by(|a, b| a.0.as_ref().cmp(b.0.as_ref()));
    let mut summary = Sha256::new();
    for (name, digest) in files.iter() {
        summary.update(hex(digest));
        summary.update(b"  ");
        summary.update(name.as_ref());
        summary.update(b"\n");
    }
    format!("h1:{}", STANDARD.encode(summary.finalize()))
}

fn hex(digest: &FileDigest) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> String {
        hex(&Sha256::digest(s).into())
    }

    fn htop(s: &str) -> String {
        format!("h1:{}", STANDARD.encode(Sha256::digest(s)))
    }

    // TestHash1 from x/mod/sumdb/dirhash/hash_test.go.
    #[test]
    fn hash1_go_vector() {
        let open = |name: &'static str| (name, format!("data for {name}").into_bytes());
        let files = [open("xyz"), open("abc")];
        let want = htop(&format!(
            "{}  abc\n{}  xyz\n",
            h("data for abc"),
            h("data for xyz")
        ));
        let got = hash1(files.iter().map(|(n, d)| (*n, d.as_slice()))).unwrap();
        assert_eq!(got, want);

        let err = hash1([("xyz", &b""[..]), ("a\nbc", &b""[..])]).unwrap_err();
        assert!(matches!(err, Error::NewlineInName(n) if n == "a\nbc"));
    }

    // TestHashDir / TestHashZip: same content under "prefix/".
    #[test]
    fn hash1_with_prefix() {
        let want = htop(&format!(
            "{}  prefix/abc\n{}  prefix/xyz\n",
            h("data for abc"),
            h("data for xyz")
        ));
        let got = hash1([
            ("prefix/xyz", &b"data for xyz"[..]),
            ("prefix/abc", &b"data for abc"[..]),
        ])
        .unwrap();
        assert_eq!(got, want);
    }

    #[test]
    fn empty_is_hash_of_empty_summary() {
        let none: [(&str, &[u8]); 0] = [];
        // The hash of the empty module zip in x/mod's create/empty.txt.
        assert_eq!(
            hash1(none).unwrap(),
            "h1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }

    #[test]
    fn go_mod_hash() {
        let content = b"module example.com/m\n";
        assert_eq!(
            hash_go_mod(content),
            hash1([("go.mod", &content[..])]).unwrap()
        );
        assert_eq!(
            hash_go_mod(content),
            htop(&format!("{}  go.mod\n", h("module example.com/m\n")))
        );
    }
}
