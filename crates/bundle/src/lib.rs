//! Bundles for air-gapped sites: module versions carried by hand in one
//! file, with the checksum database's proofs, so that the site keeps
//! GOSUMDB on.
//!
//! A bundle is a zstd-compressed tar stream. Its first entry is
//! `manifest.json` ([`Manifest`]); a signed bundle's second is
//! `manifest.sig`, a signed note over the manifest's SHA-256; then come the
//! files of a GOPROXY tree, exactly those the manifest lists, in its order:
//! the checksum database's tiles and lookups under `sumdb/<name>/` (where
//! modgate's store keeps them, and `/sumdb/` serves them) and each
//! version's `.info`, `.mod` and `.zip`. Every lookup is signed by the one
//! tree head in the manifest, which the tiles prove every record in.
//!
//! [`create`] writes bundles, [`import`] checks one whole before any of it
//! goes into a store.

pub mod create;
pub mod import;
pub mod progress;

use std::io::Read;

use modgate_sumdb::note::{self, Ed25519Signer, Ed25519Verifier, VerifierList};
use sha2::{Digest, Sha256};

use modgate_proxy::sumdb::client::CarryError;
use modgate_store::StoreError;

/// The `format` of the manifests this version writes and reads.
pub const FORMAT: &str = "modgate-bundle/1";
/// The first entry of every bundle.
pub const MANIFEST: &str = "manifest.json";
/// The second entry of a signed bundle.
pub const SIGNATURE: &str = "manifest.sig";
/// Far more than the manifest of any real bundle (about 400 bytes a version).
const MAX_MANIFEST: u64 = 256 << 20;
/// A signed note over one hash.
const MAX_SIGNATURE: u64 = 64 << 10;
/// The first line of the signed text.
const SIGNED_TITLE: &str = "modgate bundle manifest";

/// What a bundle holds, as `manifest.json`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: String,
    /// When it was made (RFC 3339, UTC).
    pub created: String,
    pub sumdb: SumdbHead,
    /// For a differential bundle: the tree of the bundle it follows; the
    /// tiles proving that tree a prefix of this one are included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<TreeRef>,
    pub modules: Vec<Entry>,
    /// Every file after the manifest (and signature), in the order stored.
    pub files: Vec<File>,
}

/// The checksum database every version is proven in.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SumdbHead {
    /// The key's name, as in `/sumdb/<name>/`.
    pub name: String,
    /// The verifier key, `name+hash+key`.
    pub key: String,
    pub tree: TreeRef,
    /// The signed tree note (`go.sum database tree`…), as the database signed it.
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TreeRef {
    pub size: u64,
    /// The tree hash, base64.
    pub hash: String,
}

/// One module version.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub module: String,
    pub version: String,
    /// Its record's number in the checksum database's log.
    pub record: u64,
    pub go_mod: Artifact,
    /// None for a version of which only go.mod is needed (go.sum's `/go.mod` lines).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip: Option<Artifact>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Artifact {
    /// `h1:` hash, as in go.sum.
    pub h1: String,
    pub size: u64,
}

/// One file of the GOPROXY tree.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    /// Escaped, as a GOPROXY URL path (and a modgate store key).
    pub path: String,
    pub size: u64,
    /// Hex.
    pub sha256: String,
}

impl Entry {
    pub fn name(&self) -> String {
        format!("{}@{}", self.module, self.version)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("{what}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("storage")]
    Store(#[from] StoreError),
    /// A `--from` source that cannot be read as one.
    #[error("{what}: {reason}")]
    Source { what: String, reason: String },
    /// The proxy or store failed (not a not-found).
    #[error("{what}: {reason}")]
    Fetch { what: String, reason: String },
    /// What was asked for and could not be had; the bundle was not written.
    #[error("not in the bundle: {}", .0.join(", "))]
    Missing(Vec<String>),
    /// Hashes that disagree: the source serves other bytes than the module's.
    #[error("SECURITY ERROR: {what}: {detail}")]
    Mismatch { what: String, detail: String },
    #[error(transparent)]
    Sumdb(#[from] CarryError),
    /// A bundle that fails a check: nothing of it is imported.
    #[error("bundle refused: {what}: {detail}")]
    Refused { what: String, detail: String },
    #[error("{0}")]
    Key(String),
    /// A setting (a flag or the go command's variable) that cannot be used.
    #[error("{what}: {reason}")]
    Setting { what: String, reason: String },
}

impl From<modgate_store::KeyError> for BundleError {
    fn from(e: modgate_store::KeyError) -> Self {
        BundleError::Store(e.into())
    }
}

impl BundleError {
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let what = what.into();
        move |source| BundleError::Io { what, source }
    }

    pub(crate) fn refused(what: impl Into<String>, detail: impl Into<String>) -> Self {
        BundleError::Refused {
            what: what.into(),
            detail: detail.into(),
        }
    }
}

/// Where an operation is, for a progress bar or a log line.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Progress {
    /// `fetching`, `writing`, `checking`, `storing`.
    pub phase: &'static str,
    pub modules: u64,
    pub modules_total: u64,
    pub bytes: u64,
    pub bytes_total: u64,
    /// The module version being worked on.
    pub current: String,
}

/// The text signed for `manifest`: a title and its SHA-256.
fn signed_text(manifest: &[u8]) -> String {
    format!(
        "{SIGNED_TITLE}\nsha256 {}\n",
        hex(&Sha256::digest(manifest))
    )
}

/// `manifest.sig` for `manifest`, signed with `skey` (a signer key as
/// `modgate sumdb keygen` or `modgate bundle keygen` writes it).
pub fn sign(manifest: &[u8], skey: &str) -> Result<Vec<u8>, BundleError> {
    let signer = Ed25519Signer::new(skey.trim())
        .map_err(|e| BundleError::Key(format!("signing key: {e}")))?;
    let text = note::Note {
        text: signed_text(manifest),
        ..note::Note::default()
    };
    note::sign(&text, &[&signer]).map_err(|e| BundleError::Key(format!("signing: {e}")))
}

/// Checks `sig` is `vkey`'s signature of `manifest`.
pub fn check_signature(manifest: &[u8], sig: &[u8], vkey: &str) -> Result<(), BundleError> {
    let verifier = Ed25519Verifier::new(vkey.trim())
        .map_err(|e| BundleError::Key(format!("verifier key {vkey:?}: {e}")))?;
    let opened = note::open(sig, &VerifierList::new([verifier]))
        .map_err(|e| BundleError::refused(SIGNATURE, format!("signature: {e}")))?;
    if opened.text != signed_text(manifest) {
        return Err(BundleError::refused(
            SIGNATURE,
            "the signature is of another manifest",
        ));
    }
    Ok(())
}

/// A manifest from a file: a bundle's own (its first entry) or a
/// `.manifest.json` beside one.
pub fn read_manifest(path: &std::path::Path) -> Result<Manifest, BundleError> {
    let what = path.display().to_string();
    let file = fs_err::File::open(path).map_err(BundleError::io(&what))?;
    manifest_from_reader(file, &what)
}

/// [`read_manifest`] of a stream (`what` names it in errors): a bundle, or
/// a bare `manifest.json`.
pub fn manifest_from_reader(mut r: impl Read, what: &str) -> Result<Manifest, BundleError> {
    let mut magic = Vec::with_capacity(ZSTD_MAGIC.len());
    (&mut r)
        .take(ZSTD_MAGIC.len() as u64)
        .read_to_end(&mut magic)
        .map_err(BundleError::io(what))?;
    let r = magic.as_slice().chain(r);
    let data = if magic == ZSTD_MAGIC {
        let mut archive = tar_reader(r).map_err(BundleError::io(what))?;
        let mut entries = archive.entries().map_err(BundleError::io(what))?;
        let (name, data) = import::next_entry(&mut entries, what, MAX_MANIFEST)?
            .ok_or_else(|| BundleError::refused(what, "empty bundle"))?;
        if name != MANIFEST {
            return Err(BundleError::refused(
                what,
                "the first entry is not the manifest",
            ));
        }
        data
    } else {
        let mut data = Vec::new();
        r.take(MAX_MANIFEST)
            .read_to_end(&mut data)
            .map_err(BundleError::io(what))?;
        data
    };
    parse_manifest(&data).map_err(|e| BundleError::refused(what, e))
}

fn parse_manifest(data: &[u8]) -> Result<Manifest, String> {
    let manifest: Manifest =
        serde_json::from_slice(data).map_err(|e| format!("manifest.json: {e}"))?;
    if manifest.format != FORMAT {
        return Err(format!(
            "manifest.json: format {:?}, this modgate reads {FORMAT:?}",
            manifest.format
        ));
    }
    Ok(manifest)
}

const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

fn tar_reader<R: Read>(
    r: R,
) -> std::io::Result<tar::Archive<zstd::Decoder<'static, std::io::BufReader<R>>>> {
    Ok(tar::Archive::new(zstd::Decoder::new(r)?))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_cover_the_manifest() {
        let (skey, vkey) = note::generate_key("bundles.example").unwrap();
        let sig = sign(b"{}", &skey).unwrap();
        check_signature(b"{}", &sig, &vkey).unwrap();
        assert!(check_signature(b"{ }", &sig, &vkey).is_err());
        let (_, other) = note::generate_key("bundles.example").unwrap();
        assert!(check_signature(b"{}", &sig, &other).is_err());
        assert!(sign(b"{}", "not a key").is_err());
    }

    #[test]
    fn errors_say_each_thing_once() {
        let io = || std::io::Error::other("No space left on device");
        let errors = [
            BundleError::Io {
                what: "writing bundle.tar".into(),
                source: io(),
            },
            BundleError::Store(StoreError::Io(io())),
        ];
        for e in errors {
            modgate_redact::says_each_thing_once(&e).unwrap();
        }
    }
}
