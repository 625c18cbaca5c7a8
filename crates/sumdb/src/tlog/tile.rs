//! Tiles: the log's stored hashes cut into fixed-height subtrees, which a
//! server publishes at immutable URLs (<https://research.swtch.com/tlog#tiling_a_log>).

use std::collections::HashMap;
use std::fmt;

use super::{HASH_SIZE, Hash, HashReader, MAX_TREE_SIZE, Tree, node_hash, read_exactly};
use super::{split_stored_hash_index, stored_hash_index, sub_tree_index};
use crate::Error;

/// A tile of height `h` at level `l`, number `n`: the `w` consecutive hashes
/// at tree level `h * l` starting at `n << h`. A complete tile has `w == 1 << h`
/// and stands for the whole subtree of height `h` above them; a partial tile
/// has fewer. Level -1 holds record data instead of hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tile {
    /// 1 ≤ h ≤ 30.
    pub h: u32,
    /// -1 ≤ l ≤ 63.
    pub l: i32,
    pub n: u64,
    /// 1 ≤ w ≤ 2^h.
    pub w: u32,
}

/// Tile numbers are written three digits per path element, so that no
/// directory holds more than 3000 entries (xNNN, NNN and NNN.p).
const PATH_BASE: u64 = 1000;

impl Tile {
    /// The tile's path, `tile/H/L/NNN[.p/W]`, with N written as
    /// `x001/x234/067` and level -1 as `data`.
    pub fn path(&self) -> String {
        let mut n = self.n;
        let mut n_str = format!("{:03}", n % PATH_BASE);
        while n >= PATH_BASE {
            n /= PATH_BASE;
            n_str = format!("x{:03}/{n_str}", n % PATH_BASE);
        }
        let l = match self.l {
            -1 => "data".to_owned(),
            l => l.to_string(),
        };
        let partial = if Some(u64::from(self.w)) == 1u64.checked_shl(self.h) {
            String::new()
        } else {
            format!(".p/{}", self.w)
        };
        format!("tile/{}/{l}/{n_str}{partial}", self.h)
    }

    /// Whether the tree of `n` records holds all of this hash tile's hashes.
    pub fn covered_by(&self, n: u64) -> bool {
        let level = self.h * self.l as u32;
        1u64.checked_shl(self.h)
            .and_then(|width| self.n.checked_mul(width))
            .and_then(|first| first.checked_add(u64::from(self.w)))
            .and_then(|end| end.checked_mul(1u64.checked_shl(level)?))
            .is_some_and(|records| records <= n)
    }

    /// Whether this is a tile of hashes whose fields are in range.
    fn is_valid_hash_tile(&self) -> bool {
        (1..=30).contains(&self.h)
            && (0..=63).contains(&self.l)
            && self.w >= 1
            && self.w <= 1 << self.h
    }
}

impl fmt::Display for Tile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

/// Parses a tile path, accepting exactly what [`Tile::path`] writes.
///
/// Unlike Go, which takes any level, levels above 63 are rejected: no tree
/// has them, and reading one would mean shifting far past 64 bits.
pub fn parse_tile_path(path: &str) -> Result<Tile, Error> {
    let bad = || Error::MalformedTilePath(path.to_owned());
    let mut f: Vec<&str> = path.split('/').collect();
    if f.len() < 4 || f[0] != "tile" {
        return Err(bad());
    }
    let is_data = f[2] == "data";
    let (Ok(h), Ok(l)) = (
        f[1].parse::<i64>(),
        if is_data { Ok(0) } else { f[2].parse::<i64>() },
    ) else {
        return Err(bad());
    };
    if !(1..=30).contains(&h) || !(0..=63).contains(&l) {
        return Err(bad());
    }
    let mut w = 1 << h;
    let last = f.len() - 1;
    if let Some(n) = f[last - 1].strip_suffix(".p") {
        w = f[last]
            .parse::<i64>()
            .ok()
            .filter(|ww| (1..w).contains(ww))
            .ok_or_else(bad)?;
        f[last - 1] = n;
        f.pop();
    }
    let mut n = 0u64;
    for s in &f[3..] {
        let s = s.strip_prefix('x').unwrap_or(s);
        n = s
            .parse::<i64>()
            .ok()
            .and_then(|nn| u64::try_from(nn).ok())
            .filter(|&nn| nn < PATH_BASE)
            .and_then(|nn| n.checked_mul(PATH_BASE)?.checked_add(nn))
            .ok_or_else(bad)?;
    }
    let t = Tile {
        h: h as u32,
        l: if is_data { -1 } else { l as i32 },
        n,
        w: w as u32,
    };
    // Only the canonical spelling: no missing or extra x, leading signs or zeros.
    if t.path() != path {
        return Err(bad());
    }
    Ok(t)
}

/// The narrowest tile of height `h` holding the hash stored at `index`.
///
/// Panics unless 1 ≤ h ≤ 30.
pub fn tile_for_index(h: u32, index: u64) -> Tile {
    tile_and_range_for_index(h, index).0
}

/// [`tile_for_index`], with where in the tile's data lie the hashes whose
/// subtree hash is the one at `index`.
pub(super) fn tile_and_range_for_index(h: u32, index: u64) -> (Tile, usize, usize) {
    assert!((1..=30).contains(&h), "tlog: invalid tile height {h}");
    let (level, n) = split_stored_hash_index(index);
    let l = level / h;
    let level = level - l * h; // level within the tile
    let tile_n = n << level >> h;
    let n = n - (tile_n << h >> level); // n within the tile, at level
    let w = (n + 1) << level;
    let t = Tile {
        h,
        l: l as i32,
        n: tile_n,
        w: w as u32,
    };
    (t, (n << level) as usize * HASH_SIZE, w as usize * HASH_SIZE)
}

/// The hash stored at `index`, from the data of tile `t`, which must be
/// [`tile_for_index`]'s tile for it or a wider version of that tile.
pub fn hash_from_tile(t: &Tile, data: &[u8], index: u64) -> Result<Hash, Error> {
    if !t.is_valid_hash_tile() {
        return Err(Error::InvalidTile(*t));
    }
    if data.len() < t.w as usize * HASH_SIZE {
        return Err(Error::ShortTile {
            len: data.len(),
            tile: *t,
        });
    }
    let (t1, start, end) = tile_and_range_for_index(t.h, index);
    if t.l != t1.l || t.n != t1.n || t.w < t1.w {
        return Err(Error::IndexNotInTile {
            index,
            actual: t1,
            tile: *t,
        });
    }
    Ok(tile_hash(&data[start..end]))
}

/// The hash of the subtree over the 2^k hashes in `data`.
fn tile_hash(data: &[u8]) -> Hash {
    if data.len() == HASH_SIZE {
        return Hash(data.try_into().expect("one hash"));
    }
    let (left, right) = data.split_at(data.len() / 2);
    node_hash(tile_hash(left), tile_hash(right))
}

/// The tiles of height `h` to publish when the tree grows from
/// `old_tree_size` to `new_tree_size` records, assuming those of the old
/// tree were published: each tile that is new or has grown, at its new width.
///
/// This is x/mod's rule since go.dev/cl/570295. The copy vendored in Go 1.23
/// also lists every intermediate width of a growing partial tile and tiles
/// that did not grow; clients only ask for the widths of signed trees.
///
/// Panics unless 1 ≤ h ≤ 30.
pub fn new_tiles(h: u32, old_tree_size: u64, new_tree_size: u64) -> Vec<Tile> {
    assert!((1..=30).contains(&h), "tlog: invalid tile height {h}");
    let mut tiles = Vec::new();
    for level in (0..).take_while(|level| shr(new_tree_size, h * level) > 0) {
        let old_n = shr(old_tree_size, h * level);
        let new_n = shr(new_tree_size, h * level);
        if old_n == new_n {
            continue;
        }
        let tile = |n, w: u64| Tile {
            h,
            l: level as i32,
            n,
            w: w as u32,
        };
        tiles.extend((old_n >> h..new_n >> h).map(|n| tile(n, 1 << h)));
        let n = new_n >> h;
        let w = new_n - (n << h);
        if w > 0 {
            tiles.push(tile(n, w));
        }
    }
    tiles
}

/// The data of hash tile `t`: its `w` hashes, read from `r`.
pub fn read_tile_data(t: &Tile, r: &(impl HashReader + ?Sized)) -> Result<Vec<u8>, Error> {
    // Hashes above level 63 would need a tree of more than 2^63 records;
    // their indexes wrap around onto real ones.
    let level = t.h * t.l.max(0) as u32;
    if !t.is_valid_hash_tile() || level > 63 {
        return Err(Error::InvalidTile(*t));
    }
    let start = t.n << t.h;
    // In batches, so that a tile wider than the log (up to 2^30 hashes,
    // from a client's path) fails at the first missing batch rather than
    // after its indexes are all listed.
    let mut data = Vec::new();
    let w = u64::from(t.w);
    for first in (0..w).step_by(READ_BATCH) {
        let indexes: Vec<u64> = (first..w.min(first + READ_BATCH as u64))
            .map(|i| stored_hash_index(level, start.wrapping_add(i)))
            .collect();
        data.extend(read_exactly(r, &indexes)?.iter().flat_map(|h| h.0));
    }
    Ok(data)
}

/// Hashes [`read_tile_data`] asks its reader for at once: a whole tile of
/// sum.golang.org's height 8.
const READ_BATCH: usize = 256;

/// Go's `>>`: shifting by 64 or more gives zero.
fn shr(x: u64, s: u32) -> u64 {
    x.checked_shr(s).unwrap_or(0)
}

/// Fetches tiles from a checksum database.
///
/// Data fetched from a server is suspect: keep it out of any persistent
/// cache until [`save_tiles`](TileReader::save_tiles) says it has been
/// authenticated.
pub trait TileReader {
    /// The height of the tiles, 1 to 30 (sum.golang.org's is 8).
    fn height(&self) -> u32;

    /// The data of each tile, `tile.w * 32` bytes for each.
    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, Error>;

    /// Tiles from [`read_tiles`](TileReader::read_tiles) that are now proven
    /// part of the tree, and safe to store.
    fn save_tiles(&self, tiles: &[Tile], data: &[Vec<u8>]);
}

/// A [`HashReader`] that reads the hashes of a signed tree from tiles, and
/// returns only hashes it has proven to be in that tree.
#[derive(Debug)]
pub struct TileHashReader<'a, R: ?Sized> {
    tree: Tree,
    reader: &'a R,
}

impl<'a, R: TileReader + ?Sized> TileHashReader<'a, R> {
    /// Reads hashes of `tree`, which the caller has checked the signature of.
    pub fn new(tree: Tree, reader: &'a R) -> Self {
        Self { tree, reader }
    }
}

/// Tile `t`'s `k`th parent in the tree of `n` records: the tile `k` levels
/// up that covers it, as wide as the tree makes it, if there is one.
fn tile_parent(t: Tile, k: u32, n: u64) -> Option<Tile> {
    let l = t.l + k as i32;
    let tile_n = shr(t.n, k * t.h);
    let max = shr(n, l as u32 * t.h);
    let start = tile_n << t.h;
    if start >= max {
        return None;
    }
    let w = (1u64 << t.h).min(max - start);
    Some(Tile {
        l,
        n: tile_n,
        w: w as u32,
        ..t
    })
}

impl<R: TileReader + ?Sized> HashReader for TileHashReader<'_, R> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, Error> {
        let h = self.reader.height();
        let size = self.tree.n;
        if size > MAX_TREE_SIZE || indexes.iter().any(|&x| x >= stored_hash_index(0, size)) {
            return Err(Error::IndexNotInTree);
        }
        if indexes.is_empty() {
            return Ok(Vec::new());
        }
        let parent = |t, k| tile_parent(t, k, size).expect("tlog: bad math in TileHashReader");

        let mut order: HashMap<Tile, usize> = HashMap::new();
        let mut tiles: Vec<Tile> = Vec::new();
        let mut plan = |tile: Tile| {
            *order.entry(tile).or_insert_with(|| {
                tiles.push(tile);
                tiles.len() - 1
            })
        };

        // The tiles that hash up to the tree hash: if they do, they are
        // authentic.
        let mut stx = Vec::new();
        sub_tree_index(0, size, &mut stx);
        let stx_tiles: Vec<usize> = stx
            .iter()
            .map(|&x| plan(parent(tile_for_index(h, x), 0)))
            .collect();
        // Go resumes at len(stx) below, which skips authenticating the first
        // tiles added here whenever two subtree hashes share a tile: forged
        // tiles then pass. Count the distinct tiles instead.
        let first_unproven = tiles.len();

        // The tiles holding the indexes, each after the parents that will
        // authenticate it, from the first already planned.
        let mut index_tiles = Vec::with_capacity(indexes.len());
        for &x in indexes {
            let tile = tile_for_index(h, x);
            let k = (0..64)
                .find(|&k| tile_parent(tile, k, size).is_some_and(|p| order.contains_key(&p)))
                .expect("tlog: bad math in TileHashReader: no planned parent");
            for k in (0..k).rev() {
                let p = parent(tile, k);
                // Only complete tiles have parents.
                assert_eq!(p.w, 1 << p.h, "tlog: bad math in TileHashReader");
                order.insert(p, tiles.len());
                tiles.push(p);
            }
            index_tiles.push(order[&parent(tile, 0)]);
        }

        let data = self.reader.read_tiles(&tiles)?;
        if data.len() != tiles.len() {
            return Err(Error::TileCount {
                got: data.len(),
                want: tiles.len(),
            });
        }
        for (tile, data) in tiles.iter().zip(&data) {
            let want = tile.w as usize * HASH_SIZE;
            if data.len() != want {
                return Err(Error::TileSize {
                    tile: *tile,
                    got: data.len(),
                    want,
                });
            }
        }

        // Authenticate the tree hash's tiles, then every later tile against
        // its parent, which comes before it.
        let from_tile = |i: usize, x: u64| hash_from_tile(&tiles[i], &data[i], x);
        let mut th = from_tile(stx_tiles[stx.len() - 1], stx[stx.len() - 1])?;
        for (&i, &x) in stx_tiles.iter().zip(&stx).rev().skip(1) {
            th = node_hash(from_tile(i, x)?, th);
        }
        if th != self.tree.hash {
            // At least one tile is wrong; which is unknowable.
            return Err(Error::InconsistentTile);
        }
        for (tile, data) in tiles.iter().zip(&data).skip(first_unproven) {
            let p = parent(*tile, 1);
            let index = stored_hash_index(p.l as u32 * p.h, tile.n);
            if from_tile(order[&p], index)? != tile_hash(data) {
                return Err(Error::InconsistentTile);
            }
        }
        self.reader.save_tiles(&tiles, &data);

        indexes
            .iter()
            .zip(index_tiles)
            .map(|(&x, i)| from_tile(i, x))
            .collect()
    }
}
