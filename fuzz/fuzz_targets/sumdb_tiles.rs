//! A client reading a signed tree's hashes from tiles a server may forge:
//! whatever the tiles hold, every hash returned is the log's, and only
//! authentic tiles are saved.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use modgate_sumdb::Error;
use modgate_sumdb::tlog::{self, Hash, HashReader as _, Tile, TileHashReader, TileReader, Tree};

/// The longest log; shorter ones are prefixes of its hashes.
const MAX_RECORDS: u64 = 300;

static LOG: LazyLock<Vec<Hash>> = LazyLock::new(|| {
    let mut hashes = Vec::new();
    for i in 0..MAX_RECORDS {
        let record = format!("record {i}\n");
        let new = tlog::stored_hashes(i, record.as_bytes(), hashes.as_slice()).expect("in memory");
        hashes.extend(new);
    }
    hashes
});

/// Serves the honest tiles of `hashes`, with the bytes at `forge[i]` of
/// tile `i` XORed with `forge[i]`'s value, or the tile cut or lengthened.
struct Forger<'a> {
    height: u32,
    hashes: &'a [Hash],
    forge: &'a [[u8; 3]],
}

impl TileReader for Forger<'_> {
    fn height(&self) -> u32 {
        self.height
    }

    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, Error> {
        let mut out = Vec::new();
        for (i, t) in tiles.iter().enumerate() {
            let mut data = tlog::read_tile_data(t, self.hashes)?;
            for &[tile, at, xor] in self.forge {
                if usize::from(tile) != i {
                    continue;
                }
                match xor {
                    0 => _ = data.pop(),
                    0xff => data.push(at),
                    _ => {
                        let at = usize::from(at) * 7 % data.len().max(1);
                        if let Some(b) = data.get_mut(at) {
                            *b ^= xor;
                        }
                    }
                }
            }
            out.push(data);
        }
        Ok(out)
    }

    fn save_tiles(&self, tiles: &[Tile], data: &[Vec<u8>]) {
        for (t, d) in tiles.iter().zip(data) {
            let honest = tlog::read_tile_data(t, self.hashes).expect("the log has it");
            assert!(*d == honest, "forged tile {t} saved as authentic");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let [height, size_hi, size_lo, index_count, rest @ ..] = data else {
        return;
    };
    let height = u32::from(height % 8) + 1;
    let n = u64::from(u16::from_be_bytes([*size_hi, *size_lo])) % MAX_RECORDS + 1;
    let count = usize::from(index_count % 4) + 1;
    if rest.len() < 2 * count {
        return;
    }
    let (picks, forge) = rest.split_at(2 * count);
    let (forge, _) = forge.as_chunks::<3>();

    let stored = tlog::stored_hash_index(0, n);
    let hashes = &LOG[..stored as usize];
    let tree = Tree {
        n,
        hash: tlog::tree_hash(n, hashes).expect("in memory"),
    };
    let mut indexes: Vec<u64> = picks
        .chunks(2)
        .map(|p| u64::from(u16::from_be_bytes([p[0], p[1]])) % stored)
        .collect();
    indexes.sort_unstable();
    let forger = Forger {
        height,
        hashes,
        forge,
    };
    if let Ok(got) = TileHashReader::new(tree, &forger).read_hashes(&indexes) {
        let want = hashes.read_hashes(&indexes).expect("in memory");
        assert_eq!(got, want, "forged hashes accepted for {indexes:?}");
    }
});
