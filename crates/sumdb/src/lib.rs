//! The formats and proofs of Go's checksum database (sum.golang.org, or any
//! GOSUMDB), following golang.org/x/mod/sumdb's note and tlog packages.
//!
//! [`note`] signs and opens signed notes (the database's signed tree heads);
//! [`tlog`] is its transparency log: record and tree hashes, inclusion and
//! consistency proofs, tiles, and the text of tree heads and lookup records.
//! The go.sum lines that make up a module's record are formatted and parsed
//! here by [`format_sum_record`] and [`parse_sum_record`].
//!
//! There is no I/O here beyond what the caller's [`tlog::HashReader`] or
//! [`tlog::TileReader`] does (and the randomness of [`note::generate_key`]).
//! Parsers accept and reject what x/mod's do (deliberate differences are
//! noted where they occur) and do not panic on any input.
//!
//! One difference matters for security: x/mod's `TileHashReader`, as
//! vendored in Go 1.23, fails to authenticate some tiles it reads, so forged
//! tiles can pass; [`tlog::TileHashReader`] checks every one.

mod gosumdb;
pub mod note;
pub mod tlog;

pub use gosumdb::{SUM_GOLANG_ORG_KEY, SumdbPath, SumdbSpec};

use base64::Engine as _;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};

use tlog::Tile;

/// Everything that can go wrong. Messages follow x/mod's wording.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // Keys. Go reports signer keys with the verifier wording too.
    #[error("malformed verifier id")]
    MalformedKey,
    #[error("unknown verifier algorithm")]
    UnknownAlgorithm,
    /// The key's hash is not the hash of its name and public key.
    #[error("invalid verifier hash")]
    KeyHashMismatch,
    #[error("invalid key name {0:?}: must be non-empty, without spaces or '+'")]
    InvalidName(String),
    #[error("generating key: {0}")]
    Random(getrandom::Error),

    // Notes.
    #[error("malformed note")]
    MalformedNote,
    /// A signer's name is not a valid key name.
    #[error("invalid signer")]
    InvalidSigner,
    /// [`note::Verifiers::verifier`] knows no such key; [`note::open`]
    /// records the signature as unverified.
    #[error("unknown key {name}+{hash:08x}")]
    UnknownVerifier { name: String, hash: u32 },
    /// Several known keys share the name and hash.
    #[error("ambiguous key {name}+{hash:08x}")]
    AmbiguousVerifier { name: String, hash: u32 },
    #[error("verifier name or hash doesn't match signature")]
    MismatchedVerifier,
    #[error("invalid signature for key {name}+{hash:08x}")]
    InvalidSignature { name: String, hash: u32 },
    /// The note parsed but no known key signed it; the note is inside.
    #[error("note has no verifiable signatures")]
    UnverifiedNote(Box<note::Note>),

    // The log.
    #[error("malformed hash")]
    MalformedHash,
    #[error("malformed tree note")]
    MalformedTree,
    #[error("malformed record data")]
    MalformedRecord,
    #[error("malformed tile path {0:?}")]
    MalformedTilePath(String),
    /// A proof was asked for or checked with impossible sizes or indexes.
    #[error("tlog: invalid inputs in {0}")]
    InvalidInputs(&'static str),
    #[error("invalid transparency proof")]
    ProofFailed,
    /// A [`tlog::HashReader`] answered with the wrong number of hashes.
    #[error("tlog: ReadHashes({want} indexes) = {got} hashes")]
    HashCount { want: usize, got: usize },
    /// The in-memory hash list has no hash at this index.
    #[error("tlog: hash index {0} not stored")]
    MissingHash(u64),
    #[error("invalid tile {0}")]
    InvalidTile(Tile),
    #[error("data len {len} too short for tile {tile}")]
    ShortTile { len: usize, tile: Tile },
    #[error("index {index} is in {actual} not {tile}")]
    IndexNotInTile {
        index: u64,
        actual: Tile,
        tile: Tile,
    },
    #[error("indexes not in tree")]
    IndexNotInTree,
    #[error("TileReader returned bad result slice (len={got}, want {want})")]
    TileCount { got: usize, want: usize },
    #[error("TileReader returned bad result slice ({tile} len={got}, want {want})")]
    TileSize { tile: Tile, got: usize, want: usize },
    /// Tile data does not hash up to the signed tree: the server lied.
    #[error("downloaded inconsistent tile")]
    InconsistentTile,

    #[error("malformed go.sum record")]
    MalformedSumRecord,

    // Settings and paths.
    #[error("unknown checksum database {0:?}: give its key, as in GOSUMDB=\"name+hash+key [url]\"")]
    UnknownDatabase(String),
    #[error("malformed checksum database key {0:?}: want name+hash+key")]
    MalformedDatabaseKey(String),
    #[error("malformed GOSUMDB value {0:?}: want off, a name or \"key [url]\"")]
    MalformedGosumdb(String),
    #[error("invalid lookup {lookup:?}: {reason}")]
    MalformedLookup { lookup: String, reason: String },
    #[error("no checksum database file {0:?}")]
    UnknownSumdbPath(String),

    /// An error from a caller's [`note::Signer`], [`tlog::HashReader`] or
    /// [`tlog::TileReader`], passed through unchanged as Go does.
    #[error(transparent)]
    Other(Box<dyn std::error::Error + Send + Sync>),
}

/// The hashes of one module version, as its checksum database record (and
/// go.sum) lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SumRecord {
    pub module: String,
    pub version: String,
    /// `h1:` hash of the module zip.
    pub zip_hash: String,
    /// `h1:` hash of the go.mod file.
    pub mod_hash: String,
}

/// The record text the database stores for a module version: its two go.sum
/// lines, `"<module> <version> <h1_zip>\n<module> <version>/go.mod <h1_mod>\n"`.
pub fn format_sum_record(module: &str, version: &str, h1_zip: &str, h1_mod: &str) -> String {
    format!("{module} {version} {h1_zip}\n{module} {version}/go.mod {h1_mod}\n")
}

/// Parses record text as [`format_sum_record`] writes it.
///
/// Like the go command, which keeps every line naming the module version,
/// this skips lines with hashes other than `h1:` (a future algorithm), but
/// it insists on exactly one `h1:` line for the zip and one for go.mod.
pub fn parse_sum_record(text: &str) -> Result<SumRecord, Error> {
    let bad = || Error::MalformedSumRecord;
    let body = text.strip_suffix('\n').ok_or_else(bad)?;
    let mut record: Option<SumRecord> = None;
    let (mut zip_hash, mut mod_hash) = (None, None);
    for line in body.split('\n') {
        let mut fields = line.split(' ');
        let (Some(module), Some(version), Some(hash), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(bad());
        };
        let (version, slot) = match version.strip_suffix("/go.mod") {
            Some(v) => (v, &mut mod_hash),
            None => (version, &mut zip_hash),
        };
        if module.is_empty() || version.is_empty() || hash.is_empty() {
            return Err(bad());
        }
        let r = record.get_or_insert_with(|| SumRecord {
            module: module.to_owned(),
            version: version.to_owned(),
            zip_hash: String::new(),
            mod_hash: String::new(),
        });
        if r.module != module || r.version != version {
            return Err(bad());
        }
        if hash.starts_with("h1:") && slot.replace(hash).is_some() {
            return Err(bad());
        }
    }
    let (Some(mut record), Some(zip_hash), Some(mod_hash)) = (record, zip_hash, mod_hash) else {
        return Err(bad());
    };
    record.zip_hash = zip_hash.to_owned();
    record.mod_hash = mod_hash.to_owned();
    Ok(record)
}

/// Decodes like Go's `base64.StdEncoding`, which the formats are defined by:
/// padding required, stray bits in the last character allowed, and `\r` and
/// `\n` skipped wherever they appear.
pub(crate) fn decode_base64(s: &str) -> Option<Vec<u8>> {
    const GO_STD: GeneralPurpose = GeneralPurpose::new(
        &alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
    );
    if s.contains(['\r', '\n']) {
        GO_STD.decode(s.replace(['\r', '\n'], "")).ok()
    } else {
        GO_STD.decode(s).ok()
    }
}

pub(crate) fn encode_base64(data: &[u8]) -> String {
    STANDARD.encode(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::{Ed25519Verifier, VerifierList};

    const SUM_GOLANG_ORG_KEY: &str =
        "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8";

    // A real answer of https://sum.golang.org/lookup/github.com/google/uuid@v1.2.0.
    const UUID_LOOKUP: &str = "2580307\n\
        github.com/google/uuid v1.2.0 h1:qJYtXnJRWmpe7m/3XlyhrsLrEURqHRM2kxzoxXqyUDs=\n\
        github.com/google/uuid v1.2.0/go.mod h1:TIyPZe4MgqvfeYDBFedMoGGpEw/LqOeaOT+nhxU+yHo=\n\
        \n\
        go.sum database tree\n\
        3935567\n\
        SapHtgdNCeF00Cx8kqztePV24kgzNg++Xovae42HAMw=\n\
        \n\
        — sum.golang.org Az3grsm7Wm4CVNR1RHq9BFnu9jzcRlU2uw7lr0gfUWgO6+rqPNjT+fUTl9gH0NRTgdwW9nItuQSMbhSaLCsk8YeYSAs=\n";

    #[test]
    fn real_sum_golang_org_lookup() {
        let (id, text, signed) = tlog::parse_record(UUID_LOOKUP.as_bytes()).unwrap();
        assert_eq!(id, 2580307);
        let record = parse_sum_record(text).unwrap();
        assert_eq!(
            record,
            SumRecord {
                module: "github.com/google/uuid".into(),
                version: "v1.2.0".into(),
                zip_hash: "h1:qJYtXnJRWmpe7m/3XlyhrsLrEURqHRM2kxzoxXqyUDs=".into(),
                mod_hash: "h1:TIyPZe4MgqvfeYDBFedMoGGpEw/LqOeaOT+nhxU+yHo=".into(),
            }
        );
        assert_eq!(
            format_sum_record(
                &record.module,
                &record.version,
                &record.zip_hash,
                &record.mod_hash
            ),
            text
        );

        let known = VerifierList::new([Ed25519Verifier::new(SUM_GOLANG_ORG_KEY).unwrap()]);
        let note = note::open(signed, &known).unwrap();
        assert_eq!(note.sigs.len(), 1);
        assert_eq!(note.sigs[0].hash, 0x033de0ae);
        let tree = tlog::parse_tree(&note.text).unwrap();
        assert_eq!(tree.n, 3935567);
        assert_eq!(
            tree.hash.to_string(),
            "SapHtgdNCeF00Cx8kqztePV24kgzNg++Xovae42HAMw="
        );

        // One flipped bit in the tree head breaks the signature.
        let forged = String::from_utf8(signed.to_vec())
            .unwrap()
            .replace("3935567", "3935568");
        assert!(matches!(
            note::open(forged.as_bytes(), &known),
            Err(Error::InvalidSignature {
                hash: 0x033de0ae,
                ..
            })
        ));
    }

    /// Tiles of height 8 (sum.golang.org's), served from a log's hashes.
    struct Served(Vec<tlog::Hash>);

    impl tlog::TileReader for Served {
        fn height(&self) -> u32 {
            8
        }

        fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, Error> {
            tiles
                .iter()
                .map(|t| tlog::read_tile_data(t, self.0.as_slice()))
                .collect()
        }

        fn save_tiles(&self, _: &[Tile], _: &[Vec<u8>]) {}
    }

    // A private database's lookup answer, byte for byte what x/mod's sumdb
    // server writes for the same records and key, then checked as the go
    // command checks it.
    #[test]
    fn private_database_round_trip() {
        use tlog::HashReader as _;

        let records = [
            format_sum_record(
                "golang.org/x/text",
                "v0.3.0",
                "h1:g61tztE5qeGQ89tm6NTjjM9VPIm088od1l6aSorWRWg=",
                "h1:NqM8EUOU14njkJ3fqMW+pc6Ldnwhi/IjpwHt7yyuwOQ=",
            ),
            format_sum_record(
                "rsc.io/quote",
                "v1.5.2",
                "h1:w5fcysjrx7yqtD/aO+QwRjYZOKnaM9Uh2b40tElTs3Y=",
                "h1:LzX7hefJvL54yjefDEDHNONDjII0t9xZLPXsUe+TKr0=",
            ),
            format_sum_record(
                "rsc.io/sampler",
                "v1.3.0",
                "h1:7uVkIFmeBqHfdjD+gZwtXXI+RODJ2Wc4O7MPEh/QiW4=",
                "h1:T1hPZKmBbMNahiBKFy5HrXp6adAjACjK9JXDnKaTXpA=",
            ),
        ];
        // Server: append the records, sign the tree, answer a lookup.
        let mut hashes = Vec::new();
        for (id, record) in records.iter().enumerate() {
            let new = tlog::stored_hashes(id as u64, record.as_bytes(), hashes.as_slice()).unwrap();
            hashes.extend(new);
        }
        let tree = tlog::Tree {
            n: 3,
            hash: tlog::tree_hash(3, hashes.as_slice()).unwrap(),
        };
        let signer = note::Ed25519Signer::new(
            "PRIVATE+KEY+localhost.localdev/sumdb+00000c67+AXu6+oaVaOYuQOFrf1V59JK1owcFlJcHwwXHDfDGxSPk",
        )
        .unwrap();
        let signed = note::sign(
            &note::Note {
                text: tlog::format_tree(&tree),
                ..note::Note::default()
            },
            &[&signer],
        )
        .unwrap();
        let answer = [
            tlog::format_record(1, &records[1]).unwrap().into_bytes(),
            signed,
        ]
        .concat();
        assert_eq!(
            String::from_utf8(answer.clone()).unwrap(),
            "1\n\
             rsc.io/quote v1.5.2 h1:w5fcysjrx7yqtD/aO+QwRjYZOKnaM9Uh2b40tElTs3Y=\n\
             rsc.io/quote v1.5.2/go.mod h1:LzX7hefJvL54yjefDEDHNONDjII0t9xZLPXsUe+TKr0=\n\
             \n\
             go.sum database tree\n\
             3\n\
             zFPc8TLjDWsJQOeLzQprJq8W0+4PLuj/nlw2+xRheQE=\n\
             \n\
             — localhost.localdev/sumdb AAAMZwW98NWnSqLYOUDnQ5pw9ye1n+38x4Sn3UM/Pybx8TFrpC3TrclNEzpnAdo/yQ2x+YPWwTH5oDp+JnJiPX4z8Qo=\n"
        );

        // Client: check the signature, then the record against the tree's tiles.
        let (id, text, signed) = tlog::parse_record(&answer).unwrap();
        let known = VerifierList::new([Ed25519Verifier::new(&signer.verifier_key()).unwrap()]);
        let tree = tlog::parse_tree(&note::open(signed, &known).unwrap().text).unwrap();
        let served = Served(hashes);
        let reader = tlog::TileHashReader::new(tree, &served);
        let stored = reader
            .read_hashes(&[tlog::stored_hash_index(0, id)])
            .unwrap();
        assert_eq!(stored, [tlog::record_hash(text.as_bytes())]);
        assert_eq!(parse_sum_record(text).unwrap().module, "rsc.io/quote");

        // A record the tree does not hold fails the same check.
        let forged = text.replace("h1:w5", "h1:w6");
        assert_ne!(stored, [tlog::record_hash(forged.as_bytes())]);
    }

    #[test]
    fn sum_records() {
        let z = "h1:g61tztE5qeGQ89tm6NTjjM9VPIm088od1l6aSorWRWg=";
        let m = "h1:NqM8EUOU14njkJ3fqMW+pc6Ldnwhi/IjpwHt7yyuwOQ=";
        let text = format_sum_record("golang.org/x/text", "v0.3.0", z, m);
        assert_eq!(
            text,
            format!("golang.org/x/text v0.3.0 {z}\ngolang.org/x/text v0.3.0/go.mod {m}\n")
        );
        let r = parse_sum_record(&text).unwrap();
        assert_eq!((r.zip_hash.as_str(), r.mod_hash.as_str()), (z, m));

        // Order does not matter, and lines with other hash algorithms are skipped.
        let r = parse_sum_record(&format!(
            "a v1.0.0/go.mod {m}\na v1.0.0 h2:future\na v1.0.0 {z}\n"
        ))
        .unwrap();
        assert_eq!((r.module.as_str(), r.version.as_str()), ("a", "v1.0.0"));
        assert_eq!((r.zip_hash.as_str(), r.mod_hash.as_str()), (z, m));

        for bad in [
            String::new(),
            "\n".into(),
            format!("a v1.0.0 {z}\n"),
            format!("a v1.0.0/go.mod {m}\n"),
            format!("a v1.0.0 {z}\na v1.0.0/go.mod {m}"),
            format!("a v1.0.0 {z}\nb v1.0.0/go.mod {m}\n"),
            format!("a v1.0.0 {z}\na v1.0.1/go.mod {m}\n"),
            format!("a v1.0.0 {z}\na v1.0.0 {z}\na v1.0.0/go.mod {m}\n"),
            format!("a v1.0.0 {z}\n\na v1.0.0/go.mod {m}\n"),
            format!("a v1.0.0  {z}\na v1.0.0/go.mod {m}\n"),
            format!("a v1.0.0 {z} x\na v1.0.0/go.mod {m}\n"),
            format!("a /go.mod {z}\na v1.0.0/go.mod {m}\n"),
        ] {
            assert!(parse_sum_record(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn base64_like_go() {
        assert_eq!(decode_base64("AQID").unwrap(), [1, 2, 3]);
        assert_eq!(decode_base64("AQ\r\nID").unwrap(), [1, 2, 3]);
        assert_eq!(decode_base64("").unwrap(), [0u8; 0]);
        // Non-zero bits after the last byte are ignored, as in Go's non-strict decoding.
        assert_eq!(decode_base64("AR==").unwrap(), [1]);
        for bad in ["AQ", "AQ=", "AQI", "A QID", "AQID=", "AQ==AQID", "AQ-_"] {
            assert!(decode_base64(bad).is_none(), "{bad:?}");
        }
    }
}
