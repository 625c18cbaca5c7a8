//! Ports of x/mod's tlog_test.go, tile_test.go, note_test.go and ct_test.go,
//! plus vectors computed by x/mod itself.

use std::cell::Cell;
use std::collections::HashMap;

use super::*;

/// Stored hashes, like x/mod's testHashStorage: checks that the code under
/// test asks for indexes in increasing order.
struct Storage(Vec<Hash>);

impl HashReader for Storage {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, Error> {
        assert!(
            indexes.windows(2).all(|w| w[0] < w[1]),
            "indexes out of order: {indexes:?}"
        );
        self.0.read_hashes(indexes)
    }
}

/// Serves tiles from a map, counting tiles read but not yet saved.
struct TileStorage {
    tiles: HashMap<Tile, Vec<u8>>,
    unsaved: Cell<usize>,
}

impl TileReader for TileStorage {
    fn height(&self) -> u32 {
        2
    }

    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, Error> {
        self.unsaved.set(self.unsaved.get() + tiles.len());
        Ok(tiles
            .iter()
            .map(|t| self.tiles.get(t).cloned().unwrap_or_default())
            .collect())
    }

    fn save_tiles(&self, tiles: &[Tile], _: &[Vec<u8>]) {
        self.unsaved.set(self.unsaved.get() - tiles.len());
    }
}

fn leaf(i: u64) -> Vec<u8> {
    format!("leaf {i}").into_bytes()
}

/// The stored hashes of a log of `leaf(0)..leaf(n)`.
fn build(n: u64) -> Vec<Hash> {
    let mut storage = Vec::new();
    for i in 0..n {
        let hashes = stored_hashes(i, &leaf(i), storage.as_slice()).unwrap();
        storage.extend(hashes);
    }
    storage
}

fn hash(s: &str) -> Hash {
    s.parse().unwrap()
}

// TestTree.
#[test]
fn tree() {
    const H: u32 = 2;
    let mut trees = Vec::new();
    let mut leaf_hashes = Vec::new();
    let mut storage = Storage(Vec::new());
    let mut tiles: HashMap<Tile, Vec<u8>> = HashMap::new();
    for i in 0..100u64 {
        let hashes = stored_hashes(i, &leaf(i), &storage).unwrap();
        leaf_hashes.push(record_hash(&leaf(i)));
        let old_storage = storage.0.len();
        storage.0.extend(hashes);
        assert_eq!(stored_hash_count(i + 1), storage.0.len() as u64);
        let th = tree_hash(i + 1, &storage).unwrap();

        for tile in new_tiles(H, i, i + 1) {
            let data = read_tile_data(&tile, &storage).unwrap();
            let old = Tile {
                w: tile.w - 1,
                ..tile
            };
            let old_data = tiles.get(&old).map_or(&[][..], Vec::as_slice);
            assert_eq!(
                old_data,
                &data[..data.len() - HASH_SIZE],
                "tile {tile} not extending earlier tile {old}"
            );
            tiles.insert(tile, data);
        }
        for tile in new_tiles(H, 0, i + 1)
            .into_iter()
            .chain(new_tiles(H, i / 2, i + 1))
        {
            assert_eq!(
                tiles[&tile],
                read_tile_data(&tile, &storage).unwrap(),
                "{tile}"
            );
        }

        // All the new hashes are readable from their tiles.
        for j in old_storage as u64..storage.0.len() as u64 {
            let tile = tile_for_index(H, j);
            let data = tiles
                .get(&tile)
                .unwrap_or_else(|| panic!("tile_for_index({H}, {j}) = {tile}, not yet stored"));
            assert_eq!(
                hash_from_tile(&tile, data, j).unwrap(),
                storage.0[j as usize]
            );
        }

        trees.push(th);

        // Record proofs, for all leaves so far; corrupting any hash breaks them.
        for j in 0..=i {
            let mut p = prove_record(i + 1, j, &storage).unwrap();
            check_record(&p, i + 1, th, j, leaf_hashes[j as usize]).unwrap();
            for k in 0..p.len() {
                p[k].0[0] ^= 1;
                assert!(check_record(&p, i + 1, th, j, leaf_hashes[j as usize]).is_err());
                p[k].0[0] ^= 1;
            }
        }

        // Through tiles, proving a record is reading its hash.
        let tile_storage = TileStorage {
            tiles: tiles.clone(),
            unsaved: Cell::new(0),
        };
        let thr = TileHashReader::new(Tree { n: i + 1, hash: th }, &tile_storage);
        for j in 0..=i {
            let h = thr.read_hashes(&[stored_hash_index(0, j)]).unwrap();
            assert_eq!(h, [leaf_hashes[j as usize]]);
            // The proof can be made from tiles too.
            let p = prove_record(i + 1, j, &thr).unwrap();
            check_record(&p, i + 1, th, j, leaf_hashes[j as usize]).unwrap();
        }
        assert_eq!(tile_storage.unsaved.get(), 0, "tiles not saved");

        // An index outside the tree is an error.
        assert!(matches!(
            thr.read_hashes(&[(i + 1) * 2]),
            Err(Error::IndexNotInTree)
        ));
        assert_eq!(tile_storage.unsaved.get(), 0, "tiles not saved");

        // Tree proofs through tiles, for all trees so far.
        for j in 0..=i {
            assert_eq!(tree_hash(j + 1, &thr).unwrap(), trees[j as usize]);
            let mut p = prove_tree(i + 1, j + 1, &thr).unwrap();
            check_tree(&p, i + 1, th, j + 1, trees[j as usize]).unwrap();
            for k in 0..p.len() {
                p[k].0[0] ^= 1;
                assert!(check_tree(&p, i + 1, th, j + 1, trees[j as usize]).is_err());
                p[k].0[0] ^= 1;
            }
        }
        assert_eq!(tile_storage.unsaved.get(), 0, "tiles not saved");
    }
}

/// A log of `leaf(0)..leaf(n)` serving its own tiles, and checking that the
/// tiles it is told to save are the true ones (x/mod's testTree).
struct TestTree {
    hashes: Vec<Hash>,
    /// The stored index whose tile hashes are zeroed when served.
    tampered: Option<u64>,
}

impl TileReader for TestTree {
    fn height(&self) -> u32 {
        2
    }

    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, Error> {
        let zero = self
            .tampered
            .map(|x| tile::tile_and_range_for_index(self.height(), x));
        tiles
            .iter()
            .map(|tile| {
                let mut data = read_tile_data(tile, self.hashes.as_slice())?;
                // Zero the hashes the tampered one is computed from.
                if let Some((t, start, end)) = zero
                    && (tile.h, tile.l, tile.n) == (t.h, t.l, t.n)
                    && end <= data.len()
                {
                    data[start..end].fill(0);
                }
                Ok(data)
            })
            .collect()
    }

    fn save_tiles(&self, tiles: &[Tile], data: &[Vec<u8>]) {
        assert_eq!(tiles.len(), data.len());
        for (tile, data) in tiles.iter().zip(data) {
            let want = read_tile_data(tile, self.hashes.as_slice()).unwrap();
            assert_eq!(*data, want, "saved data of {tile} does not match the tree");
        }
    }
}

// TestTileHashReader (x/mod after Go 1.23): every stored hash reads back
// through tiles, and tampering with any of them is caught.
#[test]
fn tile_hash_reader() {
    for n in 1..=100u64 {
        let hashes = build(n);
        let tree = Tree {
            n,
            hash: tree_hash(n, hashes.as_slice()).unwrap(),
        };
        let honest = TestTree {
            hashes: hashes.clone(),
            tampered: None,
        };
        let thr = TileHashReader::new(tree, &honest);
        let all: Vec<u64> = (0..stored_hash_index(0, n)).collect();
        for &i in &all {
            assert_eq!(thr.read_hashes(&[i]).unwrap(), [hashes[i as usize]]);
        }
        assert_eq!(thr.read_hashes(&all).unwrap(), hashes[..all.len()]);

        for &i in &all {
            let liar = TestTree {
                hashes: hashes.clone(),
                tampered: Some(i),
            };
            let thz = TileHashReader::new(tree, &liar);
            assert!(thz.read_hashes(&[i]).is_err(), "N={n} tampered={i}");
            assert!(thz.read_hashes(&all).is_err(), "N={n} tampered={i}");
        }
    }
}

// The tiles Go 1.23's TileHashReader accepts: with 19 records and height 2,
// two of the tree's subtree hashes share tile/2/0/004.p/3, and Go then skips
// authenticating tile/2/1/000, so a record can be replaced along with the
// hashes above it.
#[test]
fn forged_tiles_are_rejected() {
    let hashes = build(19);
    let tree = Tree {
        n: 19,
        hash: tree_hash(19, hashes.as_slice()).unwrap(),
    };
    let mut tiles: HashMap<Tile, Vec<u8>> = new_tiles(2, 0, 19)
        .into_iter()
        .map(|t| (t, read_tile_data(&t, hashes.as_slice()).unwrap()))
        .collect();
    let fake = record_hash(b"forged");
    let t0 = Tile {
        h: 2,
        l: 0,
        n: 0,
        w: 4,
    };
    tiles.get_mut(&t0).unwrap()[..HASH_SIZE].copy_from_slice(&fake.0);
    let at = |level, n| hashes[stored_hash_index(level, n) as usize];
    let forged_root = node_hash(node_hash(fake, at(0, 1)), at(1, 1));
    let t1 = Tile { l: 1, ..t0 };
    tiles.get_mut(&t1).unwrap()[..HASH_SIZE].copy_from_slice(&forged_root.0);

    let storage = TileStorage {
        tiles,
        unsaved: Cell::new(0),
    };
    let thr = TileHashReader::new(tree, &storage);
    assert!(matches!(
        thr.read_hashes(&[stored_hash_index(0, 0)]),
        Err(Error::InconsistentTile)
    ));
    assert_eq!(storage.unsaved.get(), 4, "forged tiles were saved");
}

#[test]
fn tile_reader_misbehaving() {
    let hashes = build(5);
    let tree = Tree {
        n: 5,
        hash: tree_hash(5, hashes.as_slice()).unwrap(),
    };
    let storage = TileStorage {
        tiles: HashMap::new(),
        unsaved: Cell::new(0),
    };
    let thr = TileHashReader::new(tree, &storage);
    assert_eq!(
        thr.read_hashes(&[0]).unwrap_err().to_string(),
        "TileReader returned bad result slice (tile/2/1/000.p/1 len=0, want 32)"
    );
    // An empty tree holds nothing; too large a tree is not a tree.
    let empty = TileHashReader::new(Tree::default(), &storage);
    assert!(matches!(
        empty.read_hashes(&[0]),
        Err(Error::IndexNotInTree)
    ));
    assert!(empty.read_hashes(&[]).unwrap().is_empty());
    let huge = TileHashReader::new(
        Tree {
            n: MAX_TREE_SIZE + 1,
            hash: tree.hash,
        },
        &storage,
    );
    assert!(matches!(huge.read_hashes(&[0]), Err(Error::IndexNotInTree)));
}

// TestSplitStoredHashIndex.
#[test]
fn split_stored_hash_index_inverts() {
    for l in 0..10 {
        for n in 0..100 {
            let x = stored_hash_index(l, n);
            assert_eq!(split_stored_hash_index(x), (l, n), "index {x}");
        }
    }
    // The dense order itself: record 3 stores (0,3), (1,1), (2,0).
    let order: Vec<_> = (0..11).map(split_stored_hash_index).collect();
    assert_eq!(
        order,
        [
            (0, 0),
            (0, 1),
            (1, 0),
            (0, 2),
            (0, 3),
            (1, 1),
            (2, 0),
            (0, 4),
            (0, 5),
            (1, 2),
            (0, 6)
        ]
    );
    assert_eq!(stored_hash_count(0), 0);
    assert_eq!(stored_hash_count(4), 7);
}

// TestTilePath.
#[test]
fn tile_paths() {
    let tile = |h, l, n, w| Tile { h, l, n, w };
    let good = [
        ("tile/4/0/001", tile(4, 0, 1, 16)),
        ("tile/4/0/001.p/5", tile(4, 0, 1, 5)),
        ("tile/3/5/x123/x456/078", tile(3, 5, 123456078, 8)),
        ("tile/3/5/x123/x456/078.p/2", tile(3, 5, 123456078, 2)),
        ("tile/1/0/x003/x057/500", tile(1, 0, 3057500, 2)),
        ("tile/1/data/x003/x057/500", tile(1, -1, 3057500, 2)),
        ("tile/8/data/000.p/1", tile(8, -1, 0, 1)),
        ("tile/3/4/x001/x234/067.p/1", tile(3, 4, 1234067, 1)),
        ("tile/30/63/999", tile(30, 63, 999, 1 << 30)),
        (
            "tile/8/0/x018/x446/x744/x073/x709/x551/615",
            tile(8, 0, u64::MAX, 256),
        ),
    ];
    for (path, t) in good {
        assert_eq!(t.path(), path);
        assert_eq!(t.to_string(), path);
        assert_eq!(parse_tile_path(path).unwrap(), t, "{path}");
    }
    for bad in [
        "tile/3/5/123/456/078",
        "tile/3/-1/123/456/078",
        "tile/3/5/x123/x456/78",
        "tile/3/5/x123/456/078",
        "tile/3/5/xx123/x456/078",
        "tile/3/5/x123/x456/078.p/8",
        "tile/3/5/x123/x456/078.p/0",
        "tile/3/5/x123/x456/078.p/-1",
        "tile/3/5/x123/x456/078.p/02",
        "tile/3/5/x123/x456/078.p",
        "tile/3/5/x123/x456/.p/2",
        "tile/3/5/x000/078",
        "tile/3/5/+78",
        "tile/+3/5/078",
        "tile/03/5/078",
        "tile/0/0/000",
        "tile/31/0/000",
        "tile/3/64/000",
        "tile/3/data.p/000",
        "tile/3/5/000/",
        "tile/3/5",
        "tile/3/5/",
        "/tile/3/5/000",
        "tiles/3/5/000",
        "tile/8/0/x018/x446/x744/x073/x709/x551/616",
    ] {
        assert!(
            matches!(parse_tile_path(bad), Err(Error::MalformedTilePath(p)) if p == bad),
            "{bad}"
        );
    }
}

// TestNewTilesForSize (x/mod after Go 1.23).
#[test]
fn new_tiles_for_size() {
    for (old, new, want) in [
        (1, 1, 0),
        (100, 101, 1),
        (1023, 1025, 3),
        (1024, 1030, 1),
        (1030, 2000, 1),
        (1030, 10000, 10),
        (49516517, 49516586, 3),
    ] {
        assert_eq!(new_tiles(10, old, new).len(), want, "{old}-{new}");
    }
}

#[test]
fn tile_errors() {
    let hashes = build(8);
    let t = tile_for_index(2, 0);
    assert_eq!(
        t,
        Tile {
            h: 2,
            l: 0,
            n: 0,
            w: 1
        }
    );
    let data = read_tile_data(&t, hashes.as_slice()).unwrap();
    assert_eq!(
        hash_from_tile(&t, &data[..10], 0).unwrap_err().to_string(),
        "data len 10 too short for tile tile/2/0/000.p/1"
    );
    assert_eq!(
        hash_from_tile(&t, &data, 1).unwrap_err().to_string(),
        "index 1 is in tile/2/0/000.p/2 not tile/2/0/000.p/1"
    );
    for bad in [
        Tile { h: 0, ..t },
        Tile { h: 31, ..t },
        Tile { l: -1, ..t },
        Tile { l: 64, ..t },
        Tile { w: 0, ..t },
        Tile { w: 5, ..t },
    ] {
        assert!(matches!(
            hash_from_tile(&bad, &data, 0),
            Err(Error::InvalidTile(_))
        ));
        assert!(matches!(
            read_tile_data(&bad, hashes.as_slice()),
            Err(Error::InvalidTile(_))
        ));
    }
    // Beyond the stored hashes.
    let far = Tile { n: 5, ..t };
    assert!(matches!(
        read_tile_data(&far, hashes.as_slice()),
        Err(Error::MissingHash(_))
    ));
}

#[test]
fn hash_reader_errors() {
    struct Short;
    impl HashReader for Short {
        fn read_hashes(&self, _: &[u64]) -> Result<Vec<Hash>, Error> {
            Ok(Vec::new())
        }
    }
    let err = tree_hash(3, &Short).unwrap_err();
    assert_eq!(err.to_string(), "tlog: ReadHashes(2 indexes) = 0 hashes");
    assert!(matches!(
        stored_hashes(1, b"x", &Short),
        Err(Error::HashCount { want: 1, got: 0 })
    ));
    assert!(matches!(
        prove_record(3, 0, &Short),
        Err(Error::HashCount { .. })
    ));
    assert!(matches!(
        prove_tree(3, 1, &Short),
        Err(Error::HashCount { .. })
    ));
    // Sizes that need no hashes read none.
    assert_eq!(tree_hash(0, &Short).unwrap(), Hash::default());
    assert!(prove_record(1, 0, &Short).unwrap().is_empty());
    assert!(prove_tree(5, 5, &Short).unwrap().is_empty());
    assert_eq!(stored_hashes(0, b"x", &Short).unwrap(), [record_hash(b"x")]);
}

#[test]
fn invalid_proof_inputs() {
    let h = Hash::default();
    let msg = |e: Error| e.to_string();
    assert_eq!(
        msg(prove_record(3, 3, [].as_slice()).unwrap_err()),
        "tlog: invalid inputs in ProveRecord"
    );
    assert_eq!(
        msg(check_record(&[], 0, h, 0, h).unwrap_err()),
        "tlog: invalid inputs in CheckRecord"
    );
    assert_eq!(
        msg(prove_tree(3, 0, [].as_slice()).unwrap_err()),
        "tlog: invalid inputs in ProveTree"
    );
    assert_eq!(
        msg(check_tree(&[], 3, h, 4, h).unwrap_err()),
        "tlog: invalid inputs in CheckTree"
    );
    let huge = MAX_TREE_SIZE + 1;
    assert!(tree_hash(huge, [].as_slice()).is_err());
    assert!(prove_record(huge, 0, [].as_slice()).is_err());
    assert!(check_record(&[], huge, h, 0, h).is_err());
    assert!(prove_tree(huge, 1, [].as_slice()).is_err());
    assert!(check_tree(&[], huge, h, 1, h).is_err());

    // Proofs of the wrong length fail rather than panic.
    let hashes = build(5);
    let th = tree_hash(5, hashes.as_slice()).unwrap();
    let mut p = prove_record(5, 2, hashes.as_slice()).unwrap();
    p.push(h);
    assert!(matches!(
        check_record(&p, 5, th, 2, record_hash(&leaf(2))),
        Err(Error::ProofFailed)
    ));
    assert!(check_record(&[], 5, th, 2, record_hash(&leaf(2))).is_err());
    let old = tree_hash(3, hashes.as_slice()).unwrap();
    let mut p = prove_tree(5, 3, hashes.as_slice()).unwrap();
    check_tree(&p, 5, th, 3, old).unwrap();
    assert!(check_tree(&p, 5, th, 3, h).is_err());
    p.push(h);
    assert!(check_tree(&p, 5, th, 3, old).is_err());
    assert!(check_tree(&[], 5, th, 3, old).is_err());
    assert!(check_tree(&[h], 5, th, 5, th).is_err());
    check_tree(&[], 5, th, 5, th).unwrap();
}

// Values computed by x/mod's tlog for the log of "leaf 0".."leaf 99".
#[test]
fn go_vectors() {
    let hashes = build(100);
    for (n, want) in [
        (1, "G7l9zCFjXUfiZj79/QoXRobZjdcBNS3SzQbotD/T0wU="),
        (2, "/F9riP+FVPdbsvnm85wxsZNtRLaSdu33sSBalVuXYeM="),
        (3, "1Pksj7uJcg6ztVZ3x9fvrd/rENEaGoSguo8aIzN/qpU="),
        (7, "WmH8K1T5z6cXdPJDIUPdQMbLKxGUf69lp9PaXLZRmcg="),
        (8, "xcLIIO00L92ozolra5z1uMAKIcxLIHFMxuXTwFw1JAs="),
        (100, "E/iJFcVg3JEaHaD7IJ2EoglxBR8pTr60KPs/wpOvJ0M="),
    ] {
        assert_eq!(
            tree_hash(n, hashes.as_slice()).unwrap().to_string(),
            want,
            "tree {n}"
        );
    }
    let shared = [
        "OFkRC2Ia2bvMlPrsumkqr45ay32xXRqkGmqk4mmKIGk=",
        "W+d7jKTb7oTFmtC8yxfVbHM3UNCm0beA3j2Olp3QMWI=",
        "IFQ7jalskgBDvkqooacH36ByRDZ2D7pWPDROL9wwqIU=",
        "nElKb1se8i1C8FCfRZNrilwF6OoGvvi0IyTxX9Usl9Y=",
        "mltaKilXHK09gVVfNL8yVv2lYnlpHN7DT1fI9ISss/o=",
        "Ww8HmgYW6QBAbUdlvADEdLQtGc3Ps/Qs678QKnwkB/w=",
    ];
    let first = "s0iJOUVkKQwAxsx9UEPV48IZlITDAcEYKvNGdY3fEbQ=";
    let record_proof: Vec<Hash> = [first].iter().chain(&shared).map(|s| hash(s)).collect();
    assert_eq!(
        prove_record(100, 37, hashes.as_slice()).unwrap(),
        record_proof
    );
    let tree_proof: Vec<Hash> = [first, "kAI2mHOU4t9fH4VMoQP22+YMp8FQ8JRBQSq7mpXSV4Q="]
        .iter()
        .chain(&shared)
        .map(|s| hash(s))
        .collect();
    assert_eq!(prove_tree(100, 37, hashes.as_slice()).unwrap(), tree_proof);

    // SHA-256 over each tile's path, a newline and its data.
    let mut all = Vec::new();
    let tiles = new_tiles(2, 0, 100);
    for t in &tiles {
        all.extend(t.path().into_bytes());
        all.push(b'\n');
        all.extend(read_tile_data(t, hashes.as_slice()).unwrap());
    }
    assert_eq!(tiles.len(), 35);
    assert_eq!(
        format!("{:x}", Sha256::digest(&all)),
        "465312edcf2f0b5a3f7a5f57047f1ddafd9ead62a4f793ebf43e35734c2135eb"
    );
    let paths: Vec<String> = new_tiles(3, 5, 70).iter().map(Tile::path).collect();
    assert_eq!(
        paths,
        [
            "tile/3/0/000",
            "tile/3/0/001",
            "tile/3/0/002",
            "tile/3/0/003",
            "tile/3/0/004",
            "tile/3/0/005",
            "tile/3/0/006",
            "tile/3/0/007",
            "tile/3/0/008.p/6",
            "tile/3/1/000",
            "tile/3/2/000.p/1",
        ]
    );
}

// TestCertificateTransparency, with x/mod's saved answers of Google's Argon
// 2020 log: RFC 6962 proofs check out here too.
#[test]
fn certificate_transparency() {
    use base64::Engine as _;
    let leaf = base64::engine::general_purpose::STANDARD
        .decode(CT_LEAF)
        .unwrap();
    let root = Tree {
        n: 961984013,
        hash: hash("dwlueapdd7LaOEnX2W2Wp9v2XE+KzejHRQGHwEx0oaM="),
    };
    let proof: Vec<Hash> = CT_AUDIT_PATH.iter().map(|s| hash(s)).collect();
    check_record(&proof, root.n, root.hash, 10000, record_hash(&leaf)).unwrap();
    assert!(check_record(&proof, root.n, root.hash, 10001, record_hash(&leaf)).is_err());

    let old = hash("AuIZ5V6sDUj1vn3Y1K85oOaQ7y+FJJKtyRTl1edIKBQ=");
    let proof: Vec<Hash> = CT_CONSISTENCY.iter().map(|s| hash(s)).collect();
    check_tree(&proof, root.n, root.hash, 3654490, old).unwrap();
    assert!(check_tree(&proof, root.n, root.hash, 3654491, old).is_err());
}

// TestFormatTree.
#[test]
fn format_tree_golden() {
    let tree = Tree {
        n: 123456789012,
        hash: record_hash(b"hello world"),
    };
    assert_eq!(
        format_tree(&tree),
        "go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n"
    );
}

// TestParseTree.
#[test]
fn parse_tree_golden() {
    let text = "go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n";
    let want = Tree {
        n: 123456789012,
        hash: record_hash(b"hello world"),
    };
    assert_eq!(parse_tree(text).unwrap(), want);
    for bad in [
        format!("not-{text}"),
        "go.sum database tree\n0xabcdef\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n".into(),
        "go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBTOOBIG=\n"
            .into(),
        text.replace("123456789012", "+123456789012"),
        text.replace("123456789012", "0123456789012"),
        text.replace("123456789012", "-1"),
        text.replace("123456789012", "9223372036854775808"),
        text.strip_suffix('\n').unwrap().into(),
        format!("{text}{}", "x".repeat(1_000_000)),
    ] {
        assert!(
            matches!(parse_tree(&bad), Err(Error::MalformedTree)),
            "{bad:.80?}"
        );
    }
    // Extra lines are ignored.
    for good in [
        format!("{text}JOE"),
        format!("{text}JOE\n"),
        format!("{text}{}", "JOE\n".repeat(1000)),
    ] {
        assert_eq!(parse_tree(&good).unwrap(), want);
    }
    let max = text.replace("123456789012", "9223372036854775807");
    assert_eq!(parse_tree(&max).unwrap().n, MAX_TREE_SIZE);
}

// TestFormatRecord.
#[test]
fn format_record_golden() {
    assert_eq!(
        format_record(123456789012, "hello, world\n").unwrap(),
        "123456789012\nhello, world\n\n"
    );
    for bad in ["", "hello\nworld", "hello\n\nworld\n", "hello\x01world\n"] {
        assert!(
            matches!(format_record(1, bad), Err(Error::MalformedRecord)),
            "{bad:?}"
        );
    }
}

// TestParseRecord.
#[test]
fn parse_record_golden() {
    let (id, text, rest) =
        parse_record(b"123456789012\nhello, world\n\njunk on end\x01\xff").unwrap();
    assert_eq!(
        (id, text, rest),
        (123456789012, "hello, world\n", &b"junk on end\x01\xff"[..])
    );
    let (id, text, rest) = parse_record(b"123456789012\nhello, world\n\n").unwrap();
    assert_eq!((id, text, rest), (123456789012, "hello, world\n", &b""[..]));
    // A sign is fine, as for Go's ParseInt.
    assert_eq!(parse_record(b"+7\nx\n\n").unwrap().0, 7);
    for bad in [
        &b"not-123456789012\nhello, world\n\n"[..],
        b"123\nhello\x01world\n\n",
        b"123\nhello\xffworld\n\n",
        b"123\nhello world\n",
        b"0x123\nhello world\n\n",
        b"-1\nhello world\n\n",
        b"123",
        b"\n\n\n",
    ] {
        assert!(
            matches!(parse_record(bad), Err(Error::MalformedRecord)),
            "{bad:?}"
        );
    }
}

#[test]
fn hashes_parse_and_print() {
    let h = record_hash(b"hello world");
    assert_eq!(
        h.to_string(),
        "TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0="
    );
    assert_eq!(
        format!("{h:?}"),
        "Hash(TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=)"
    );
    assert_eq!(hash(&h.to_string()), h);
    for bad in [
        "",
        "AAAA",
        "TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0",
        "TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=AAAA",
    ] {
        assert!(matches!(bad.parse::<Hash>(), Err(Error::MalformedHash)));
    }
    // RFC 6962's hashes of the empty leaf and of two of them.
    assert_eq!(record_hash(b"").0[..], Sha256::digest([0u8])[..]);
    let e = record_hash(b"");
    let mut node = vec![1u8];
    node.extend(e.0);
    node.extend(e.0);
    assert_eq!(node_hash(e, e).0[..], Sha256::digest(&node)[..]);
}

#[test]
fn no_panics_on_arbitrary_input() {
    let pieces = [
        "tile",
        "/",
        "data",
        ".p",
        "x",
        "0",
        "1",
        "3",
        "8",
        "30",
        "31",
        "63",
        "64",
        "999",
        "-",
        "+",
        "\n",
        "go.sum database tree\n",
        "9223372036854775807",
        "18446744073709551615",
        "TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=",
        "=",
        "é",
        "\u{1}",
    ];
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let hashes = build(10);
    let data = vec![7u8; 32 << 8];
    for _ in 0..20_000 {
        let s: String = (0..next() % 10)
            .map(|_| pieces[(next() % pieces.len() as u64) as usize])
            .collect();
        let _ = (parse_tile_path(&s), parse_tree(&s), s.parse::<Hash>());
        let _ = parse_record(s.as_bytes());
        // Extremes and random values for every number.
        let mut num = || match next() % 4 {
            0 => next() % 300,
            1 => u64::MAX - next() % 300,
            2 => MAX_TREE_SIZE - next() % 300,
            _ => next(),
        };
        let tile = Tile {
            h: (num() % 40) as u32,
            l: (num() % 140) as i32 - 2,
            n: num(),
            w: (num() % 300) as u32,
        };
        let (a, b, c) = (num(), num(), num());
        let _ = tile.path();
        let _ = (
            hash_from_tile(&tile, &data, a),
            read_tile_data(&tile, hashes.as_slice()),
        );
        let _ = (
            split_stored_hash_index(a),
            stored_hash_index((b % 200) as u32, c),
        );
        let _ = (stored_hash_count(a), tile_for_index(1 + (b % 30) as u32, a));
        let _ = new_tiles(1 + (c % 30) as u32, a, a.saturating_add(b % 1000));
        let _ = stored_hashes(a, b"x", hashes.as_slice());
        let _ = (
            tree_hash(a, hashes.as_slice()),
            prove_record(a, b, hashes.as_slice()),
        );
        let _ = prove_tree(a, b, hashes.as_slice());
        let proof = &hashes[..(c % 10) as usize];
        let _ = check_record(proof, a, hashes[0], b, hashes[1]);
        let _ = check_tree(proof, a, hashes[0], b, hashes[1]);
        let storage = TileStorage {
            tiles: HashMap::new(),
            unsaved: Cell::new(0),
        };
        let tree = Tree {
            n: a,
            hash: hashes[0],
        };
        let _ = TileHashReader::new(tree, &storage).read_hashes(&[b % 1000, c]);
    }
}

const CT_LEAF: &str = "AAAAAAFelPhqUwAAAAViMIIFXjCCBEagAwIBAgIRAOodHzZdqWIFzYyl/SovhCMwDQYJKoZIhvcNAQELBQAwgZAxCzAJBgNVBAYTAkdCMRswGQYDVQQIExJHcmVhdGVyIE1hbmNoZXN0ZXIxEDAOBgNVBAcTB1NhbGZvcmQxGjAYBgNVBAoTEUNPTU9ETyBDQSBMaW1pdGVkMTYwNAYDVQQDEy1DT01PRE8gUlNBIERvbWFpbiBWYWxpZGF0aW9uIFNlY3VyZSBTZXJ2ZXIgQ0EwHhcNMTcwMjE1MDAwMDAwWhcNMjAwNDE2MjM1OTU5WjBfMSEwHwYDVQQLExhEb21haW4gQ29udHJvbCBWYWxpZGF0ZWQxHTAbBgNVBAsTFFBvc2l0aXZlU1NMIFdpbGRjYXJkMRswGQYDVQQDDBIqLmxhbmRsb3Jkcy5jb20uYXUwggEiMA0GCSqGSIb3DQEBAQUAA4IBDwAwggEKAoIBAQCtPBKKHj4zdrGlCjgTHzb5gx9JCs97DwvBz60f14gDufF2haWbOxyJ0a3opAMsZnOr8HkARVCwxdqG/PTfACcb0QM7FOlzvxGqxataTYiChwvkkif8F9GlJw69HuHgzhusPf1Ytfk3ps1PRC14MkyrS4kwPrk/Le4XdkqRpRw62wG4V6IkbzsNMEOl1H8EgUbfyapdOcVxHjIzvBVy56fBRKG05Fr5wNq3Acak5kYZdNsLhhmlrqAfAjiombW3hb3V5blJdRC0BDdYHv2+zKey6LqJ1FDoXo6IzbzPpC+aifZy47YX+/N1U64Qn5xlDg7mOP8JXfkNJHbU1TJZHif5AgMBAAGjggHhMIIB3TAfBgNVHSMEGDAWgBSQr2o6lFoL2JDqElZz30O0Oija5zAdBgNVHQ4EFgQUNQSLjkoz01I+iuuoC5lgEp0anhcwDgYDVR0PAQH/BAQDAgWgMAwGA1UdEwEB/wQCMAAwHQYDVR0lBBYwFAYIKwYBBQUHAwEGCCsGAQUFBwMCME8GA1UdIARIMEYwOgYLKwYBBAGyMQECAgcwKzApBggrBgEFBQcCARYdaHR0cHM6Ly9zZWN1cmUuY29tb2RvLmNvbS9DUFMwCAYGZ4EMAQIBMFQGA1UdHwRNMEswSaBHoEWGQ2h0dHA6Ly9jcmwuY29tb2RvY2EuY29tL0NPTU9ET1JTQURvbWFpblZhbGlkYXRpb25TZWN1cmVTZXJ2ZXJDQS5jcmwwgYUGCCsGAQUFBwEBBHkwdzBPBggrBgEFBQcwAoZDaHR0cDovL2NydC5jb21vZG9jYS5jb20vQ09NT0RPUlNBRG9tYWluVmFsaWRhdGlvblNlY3VyZVNlcnZlckNBLmNydDAkBggrBgEFBQcwAYYYaHR0cDovL29jc3AuY29tb2RvY2EuY29tMC8GA1UdEQQoMCaCEioubGFuZGxvcmRzLmNvbS5hdYIQbGFuZGxvcmRzLmNvbS5hdTANBgkqhkiG9w0BAQsFAAOCAQEACyHqxUzrexToY7tOv4+kyGPP2D27P1tQpyzeAl1bPObiMhNK2b9vvBLDWAaqm8c0YL1h+DBdLoWzf3xFsIkTCVCjWJTNSNlcYtgRk6or1s7jWsfXzWqsnPjPPmTIOCw7EfH7Yme3oxPs3UUsmShAgPwNohAtL9GqlqMiKM6v1WU3NHt01jEoNP23LRa6KeNK6AH6WHJykzL223IlhgXjHTeuQj6lR+TNrQXJuhwTXYe+20rrpPQxc1Pn7AqnvfWgmicRQ7gdIcr4V6+ecTvLfNOaJ0ZYe5G5giuAAdTm7F57pk04f4gyZNYKrj88mvbkoriN8b6jcWExtrYO6bm2TwAA";

const CT_AUDIT_PATH: [&str; 30] = [
    "T46AmJsuOM/gFiGlUp+IJJebp+1Z5qratFNW7U0JyOQ=",
    "9Jj1Feodn42uRYEfffkV4HF/EIPFQ5Zo9IwkxbQ2uhk=",
    "D53/1oCNebF4J59HHgioovKZxrmrKcVuCVhy3Izg8Ck=",
    "wSFDgGSrsXRPA+1c8WHoAFCsWeUv8NDyP/Q/SgsyVyY=",
    "516/RcwsgdwdzHn18v1dJHqBkgFUbNhmCIWOGjsMJaE=",
    "naTFY2ajLFgrgs5XUl+zJYZnnlJksLGsA1VYwpLfqbY=",
    "mKBRJo6qao+0Kdh/rhGkZUbHUAxMhrtrclrTpIbNjIg=",
    "Co4ueOFE7lpifLio94irxxsv1wFMMaK3tPu2ZQkHlro=",
    "yRgy800K6JMYCC05sWfqF2kvCg2riT/pVM+nEa6V5+0=",
    "n2O38XJZC8/Wpbwi9HhgVizlUyeUHVZvYyQB1607MRc=",
    "go3tAjuNfNSCj87y2Rg1xOroDknGN1eaf3cgvzObf7Q=",
    "8D0Mj3/J7ySSnFb0afIHYXv6rlOhECnsebY6XKi1IR8=",
    "6rcez46ZU8M5vPiWVMAUfJfAOV0pPP/mch/lYzZhj/M=",
    "2rtIeXrPvSdUyHc5maIgSAVB2BzaKaupWxSAiVayDE4=",
    "nniW/IMFQPN5xw8UsHFn7CRStYbm1gLu7NNa6kkRqJQ=",
    "mRPPi7sQS22MduIEyvcNzCNFqIt6kLwYPkNKrVtIcu8=",
    "JvTivzESNS9wHI8aph5a7uieVmtS/p9PciMZ5D6GyOo=",
    "UTyQd+Ym0wY4zG+qK806bBORwi1CSVvFQ/KknnqoZj8=",
    "hXODrqN+ff+U6zPqRQ+ZQKs6im1fPcxIerDSfNwflhE=",
    "II6GE+WY/DrpZzfHztLwkR46o37zVkNLCyPYlf68zA0=",
    "d609kWWcNBllbA8Jb/ad4XAVVGnScLRmtP8FYyr+Dck=",
    "rikBsP0G0gioXRpBFED2CzQdSLrGPvRd0bEcbEZw1rI=",
    "GXIElfmnRuWfbA4z7ubV/UwlpSRUbUeec7oL5HDDnh0=",
    "pR0SH/NYP6s9+8azWwaeUXA4Ze/3WCIgMfh5YW6wvcE=",
    "f3GuAKYVrF8RBg3s15jvA/YvV9oAliWtzP/imwPhQVA=",
    "WHn8zDxlVgkV+lSlmzaOdfSBrTHoRr5nT3d76q0KKWE=",
    "f2uV2ZxVgULzLPKuZcowRY3ZY7fRlX59iDBjV1R8kNQ=",
    "NzQVjJsvQwbi7WStMr9oFkh9VbHfK7LB6o7WwAqwNTs=",
    "C0LttBeYHZHgL+032JIcJC3CTBIyza/hsbmJUgJfmDI=",
    "nixU5CWTFVDlF4BGdcU6kA7WSYurEpe9jRWc+F/7sOc=",
];

const CT_CONSISTENCY: [&str; 30] = [
    "80Sfbj6UQEdVSZCSIgh9NMPj3vCBzcc1A48B2crJSWg=",
    "FZcrgAHUk6nNPviJZq8kEK6jCG1d18pJOFE45ZDc1TQ=",
    "Q67reWXmPBo1UfmwBap4Xi9PMPfFdUSSw3WGlRZdG7k=",
    "eJ7CyhR4PxzBxDIsWgrVYW1eFUb9ndgf46tFmiqVrxA=",
    "QrDwp062Grm5WY8KdrhFsBuuNjGzRox2Jb8PmVL5OYw=",
    "XM4YMjMEdLH/XJam/ZWyaP14k3cmsOtnPsOWQ54lW1s=",
    "SGiBh+jOTGccXU48ZzgQ88lRcBmtB4wz4oSDndv2QTg=",
    "WAS6txqNLYKGL1GdBdpqmV42TTfn6cJsuDsqLXuTCNI=",
    "QFmRS0rirUA7ZN3lxFjDncV+E1OCrn3NUB4RCp+5fzc=",
    "Hdbp7It2XBNZmNDBpCN/KPd7vfVqxgzwOosqVIaEA9E=",
    "mxvHL0ZiblBdD7j7pIa1jlfB0gSqfJ6oX0UGo7L0VsU=",
    "q5hjyvoW6TL/PThgcitpDcSTrnKX2p1+aqscqH2euRA=",
    "jTOWDqt3IHj2NVFeezyBz2ofpru+ztEywqKUAfFclKI=",
    "GIRn0w3HqJdvU9j1WVD//eR6lk2AaTVjyzjsJNP8U88=",
    "x52GJvxG81fnQBrgOTbll1A5tz95/LXK0Ag1NhB0r1I=",
    "6/0OqrcTgc3o5dD5PymmoC96lB9yLPFuTHVvLy8fSGk=",
    "Gf+iKLfcXO5l4JEFmsZvSdG5q1uEeWPfYLrds6pmjz0=",
    "DGuaco+McyM3AfRSF6qX7RwSetwe2ieYJmxw5e9rVx0=",
    "2tQJ9V32hnYp+fdpP6TcjmgJmLeNVOMKM0Ml1kk4cNU=",
    "3PapK+IkyJr8I9yAErAmzuZezzLMzsg+PfeRCgNW8NQ=",
    "s6xiYeejb+wtqHA+URJZ2I/SCPyIW8coP6aB00FJbMY=",
    "z9lSpmdTcr5M5ZzKlc4EPh3SrSypKFdk6JUF/UccaZU=",
    "GXIElfmnRuWfbA4z7ubV/UwlpSRUbUeec7oL5HDDnh0=",
    "pR0SH/NYP6s9+8azWwaeUXA4Ze/3WCIgMfh5YW6wvcE=",
    "f3GuAKYVrF8RBg3s15jvA/YvV9oAliWtzP/imwPhQVA=",
    "WHn8zDxlVgkV+lSlmzaOdfSBrTHoRr5nT3d76q0KKWE=",
    "f2uV2ZxVgULzLPKuZcowRY3ZY7fRlX59iDBjV1R8kNQ=",
    "NzQVjJsvQwbi7WStMr9oFkh9VbHfK7LB6o7WwAqwNTs=",
    "C0LttBeYHZHgL+032JIcJC3CTBIyza/hsbmJUgJfmDI=",
    "nixU5CWTFVDlF4BGdcU6kA7WSYurEpe9jRWc+F/7sOc=",
];

/// Found by the sumdb_tlog fuzz target: a client-chosen path such as
/// tile/30/1/011 made read_tile_data collect all 2^30 indexes (8 GiB)
/// before the reader could say it has none of them; tile/29/5/000 (level
/// 145) wrapped around to indexes the log has, and read 2^29 hashes.
#[test]
fn a_huge_tile_fails_without_allocating_it() {
    let hashes = build(20);
    let tile = parse_tile_path("tile/30/1/011").unwrap();
    assert!(matches!(
        read_tile_data(&tile, hashes.as_slice()),
        Err(Error::MissingHash(_))
    ));
    let tile = parse_tile_path("tile/29/5/000").unwrap();
    assert!(matches!(
        read_tile_data(&tile, hashes.as_slice()),
        Err(Error::InvalidTile(_))
    ));
}
