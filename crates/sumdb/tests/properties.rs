//! Properties of the checksum database's parsers and tile authentication,
//! as the fuzz targets in fuzz/ check them, for a few hundred cases in
//! every test run.

use std::sync::LazyLock;

use modgate_sumdb::note::{self, Ed25519Signer, Ed25519Verifier, VerifierList};
use modgate_sumdb::tlog::{self, Hash, HashReader as _, Tile, TileHashReader, TileReader, Tree};
use modgate_sumdb::{Error, SumdbPath, parse_sum_record};
use proptest::prelude::*;

const SKEY: &str =
    "PRIVATE+KEY+localhost.localdev/sumdb+00000c67+AXu6+oaVaOYuQOFrf1V59JK1owcFlJcHwwXHDfDGxSPk";

const PIECES: &[&str] = &[
    "go.sum database tree\n",
    "\n",
    "\n\n",
    "— ",
    "localhost.localdev/sumdb ",
    "AAAMZw",
    "=",
    "+",
    "1",
    "0",
    "-1",
    "18446744073709551616",
    "tile/",
    "8/",
    "data/",
    "x001/",
    "000",
    ".p/",
    "256",
    "lookup/",
    "example.com/m@v1.0.0",
    " h1:",
    "/go.mod",
    " ",
    "\0",
    "\r",
    "é",
    "\u{FFFD}",
];

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(prop::sample::select(PIECES), 0..12).prop_map(|p| p.concat()),
        any::<String>(),
    ]
}

/// The stored hashes of a log of `n` (at most 70) records: a prefix of
/// the hashes of the longest log, since a log only grows.
fn log(n: u64) -> &'static [Hash] {
    static LOG: LazyLock<Vec<Hash>> = LazyLock::new(|| {
        let mut hashes = Vec::new();
        for i in 0..70 {
            let record = format!("record {i}\n");
            let new = tlog::stored_hashes(i, record.as_bytes(), hashes.as_slice()).unwrap();
            hashes.extend(new);
        }
        hashes
    });
    &LOG[..tlog::stored_hash_index(0, n) as usize]
}

/// How a server forges one of the tiles it is asked for.
#[derive(Debug, Clone)]
struct Forgery {
    /// Which tile of the request.
    tile: prop::sample::Index,
    byte: prop::sample::Index,
    xor: u8,
    /// Cut the last byte instead, or add one.
    resize: Option<bool>,
}

/// A server that serves a log's tiles, one of them forged.
struct Forger<'a> {
    height: u32,
    hashes: &'a [Hash],
    forgery: Forgery,
}

impl TileReader for Forger<'_> {
    fn height(&self) -> u32 {
        self.height
    }

    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, Error> {
        let f = &self.forgery;
        let forged = f.tile.index(tiles.len());
        let mut data = Vec::new();
        for (i, t) in tiles.iter().enumerate() {
            let mut d = tlog::read_tile_data(t, self.hashes)?;
            if i == forged {
                match f.resize {
                    Some(true) => d.push(0),
                    Some(false) => _ = d.pop(),
                    None => {
                        let at = f.byte.index(d.len());
                        d[at] ^= f.xor;
                    }
                }
            }
            data.push(d);
        }
        Ok(data)
    }

    fn save_tiles(&self, tiles: &[Tile], data: &[Vec<u8>]) {
        for (t, d) in tiles.iter().zip(data) {
            assert_eq!(
                *d,
                tlog::read_tile_data(t, self.hashes).unwrap(),
                "forged {t} saved"
            );
        }
    }
}

fn forgery() -> impl Strategy<Value = Forgery> {
    (
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
        1u8..,
        prop::option::weighted(0.1, any::<bool>()),
    )
        .prop_map(|(tile, byte, xor, resize)| Forgery {
            tile,
            byte,
            xor,
            resize,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn texts_and_paths_parse_back(s in text()) {
        let _ = tlog::parse_record(s.as_bytes());
        let _ = SumdbPath::parse(&s);
        if let Ok(tree) = tlog::parse_tree(&s) {
            prop_assert_eq!(tlog::parse_tree(&tlog::format_tree(&tree)).unwrap(), tree);
        }
        if let Ok(r) = parse_sum_record(&s) {
            prop_assert!(!r.module.is_empty() && !r.version.is_empty());
        }
        if let Ok(tile) = tlog::parse_tile_path(&s) {
            prop_assert_eq!(tile.path(), s);
            let _ = tlog::read_tile_data(&tile, log(20));
        }
    }

    #[test]
    fn tile_paths_round_trip(h in 1u32..=30, l in -1i32..=63, n in any::<u64>(), w in 1u32..=256) {
        let tile = Tile { h, l, n, w: w.min(1 << h) };
        prop_assert_eq!(tlog::parse_tile_path(&tile.path()).unwrap(), tile);
    }

    #[test]
    fn forged_tiles_never_pass(
        height in 1u32..=4,
        n in 1u64..=70,
        picks in prop::collection::vec(any::<prop::sample::Index>(), 1..4),
        forgery in forgery(),
    ) {
        let hashes = log(n);
        let tree = Tree { n, hash: tlog::tree_hash(n, hashes).unwrap() };
        let stored = tlog::stored_hash_index(0, n) as usize;
        let mut indexes: Vec<u64> = picks.iter().map(|p| p.index(stored) as u64).collect();
        indexes.sort_unstable();
        let forger = Forger { height, hashes, forgery };
        if let Ok(got) = TileHashReader::new(tree, &forger).read_hashes(&indexes) {
            prop_assert_eq!(got, hashes.read_hashes(&indexes).unwrap());
        }
    }
}

proptest! {
    // ed25519 unoptimized takes milliseconds a signature.
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn notes_open_only_when_signed(text in text(), flip in any::<prop::sample::Index>()) {
        let signer = Ed25519Signer::new(SKEY).unwrap();
        let known = VerifierList::new([Ed25519Verifier::new(&signer.verifier_key()).unwrap()]);
        let _ = note::open(text.as_bytes(), &known);
        // Notes hold no control characters but newlines (sign, as Go's,
        // does not check: what it signs is modgate's own text).
        let mut text = text.replace(|c: char| c < ' ', " ");
        text.push('\n');
        let Ok(signed) = note::sign(&note::Note { text: text.clone(), ..Default::default() }, &[&signer])
        else {
            return Ok(());
        };
        prop_assert_eq!(note::open(&signed, &known).unwrap().text, text);
        // Any change to one byte is refused, or the note does not change.
        let mut forged = signed.clone();
        let i = flip.index(forged.len());
        forged[i] ^= 1;
        if let Ok(opened) = note::open(&forged, &known) {
            prop_assert_eq!(opened.text, note::open(&signed, &known).unwrap().text);
        }
    }
}
