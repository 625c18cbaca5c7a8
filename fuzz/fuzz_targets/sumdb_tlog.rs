//! The checksum database's texts and paths: tree heads, lookup records,
//! go.sum records, `/sumdb/<name>/…` paths, and the tiles a server cuts
//! for a client-chosen tile path.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use modgate_sumdb::tlog::{self, Hash};
use modgate_sumdb::{SumdbPath, parse_sum_record};

/// The stored hashes of a log of 300 records: more than one tile at
/// height 8 and several levels at small heights.
static LOG: LazyLock<Vec<Hash>> = LazyLock::new(|| {
    let mut hashes = Vec::new();
    for n in 0..300u64 {
        let record = format!("record {n}\n");
        let new = tlog::stored_hashes(n, record.as_bytes(), hashes.as_slice()).expect("in memory");
        hashes.extend(new);
    }
    hashes
});

fuzz_target!(|data: &[u8]| {
    let _ = tlog::parse_record(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(tree) = tlog::parse_tree(text) {
        assert_eq!(tlog::parse_tree(&tlog::format_tree(&tree)).ok(), Some(tree));
    }
    if let Ok(record) = parse_sum_record(text) {
        assert!(!record.module.is_empty() && !record.version.is_empty());
    }
    let _ = SumdbPath::parse(text);
    if let Ok(tile) = tlog::parse_tile_path(text) {
        // One spelling per tile: the path parsed is the path written.
        assert_eq!(tile.path(), text);
        // What a server answers for the path: the tile, or an error when
        // the log does not hold it.
        if let Ok(bytes) = tlog::read_tile_data(&tile, LOG.as_slice()) {
            assert_eq!(bytes.len(), tile.w as usize * tlog::HASH_SIZE);
            for i in [0, 1, 255, 256, 600] {
                let _ = tlog::hash_from_tile(&tile, &bytes, i);
            }
        }
    }
});
