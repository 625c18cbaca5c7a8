//! The checksum database's tamper-evident log (golang.org/x/mod/sumdb/tlog):
//! an RFC 6962 Merkle tree over records, compatible with Certificate
//! Transparency's proofs.
//!
//! A log stores every hash of the tree once, in the dense order of
//! [`stored_hash_index`]; [`HashReader`] reads them back, from memory or from
//! tiles fetched from a server ([`TileHashReader`]), which it authenticates
//! against a signed [`Tree`] as it goes.

mod tile;

use std::fmt;
use std::str::FromStr;

use sha2::{Digest as _, Sha256};

use crate::{Error, decode_base64, encode_base64};

pub use tile::{
    Tile, TileHashReader, TileReader, hash_from_tile, new_tiles, parse_tile_path, read_tile_data,
    tile_for_index,
};

pub const HASH_SIZE: usize = 32;

/// The largest tree size. Go's sizes are int64: larger ones are its negative
/// numbers, which it rejects or fails on.
pub const MAX_TREE_SIZE: u64 = i64::MAX as u64;

/// A SHA-256 hash of a record or of a subtree; base64 when displayed.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Hash(pub [u8; HASH_SIZE]);

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&encode_base64(&self.0))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({self})")
    }
}

impl FromStr for Hash {
    type Err = Error;

    /// Go's `ParseHash`: base64 of exactly 32 bytes.
    fn from_str(s: &str) -> Result<Self, Error> {
        decode_base64(s)
            .and_then(|h| h.try_into().ok())
            .map(Hash)
            .ok_or(Error::MalformedHash)
    }
}

/// The hash of a record: SHA-256(0x00 || data).
pub fn record_hash(data: &[u8]) -> Hash {
    Hash(
        Sha256::new()
            .chain_update([0])
            .chain_update(data)
            .finalize()
            .into(),
    )
}

/// The hash of an interior node: SHA-256(0x01 || left || right).
pub fn node_hash(left: Hash, right: Hash) -> Hash {
    Hash(
        Sha256::new()
            .chain_update([1])
            .chain_update(left.0)
            .chain_update(right.0)
            .finalize()
            .into(),
    )
}

/// Where the `n`th hash at `level` is stored. Each record appends its own
/// hash, then the hashes of the subtrees it completes, lowest first (Crosby
/// and Wallach, "Efficient Data Structures for Tamper-Evident Logging", 3.3).
pub fn stored_hash_index(level: u32, n: u64) -> u64 {
    // Level L's nth hash comes right after level L+1's (2n+1)th hash, so go
    // down to level 0, then add back one hash per level.
    // Out-of-range values wrap as Go's int64 arithmetic does; no real tree
    // gets near them, but tile paths from a client can ask.
    let n = n
        .wrapping_add(1)
        .checked_shl(level)
        .unwrap_or(0)
        .wrapping_sub(1);
    // Level 0's nth hash is at n + n/2 + n/4 + ...
    let mut i = 0u64;
    let mut m = n;
    while m > 0 {
        i = i.wrapping_add(m);
        m >>= 1;
    }
    i.wrapping_add(u64::from(level))
}

/// The inverse of [`stored_hash_index`]: the (level, n) stored at `index`.
pub fn split_stored_hash_index(index: u64) -> (u32, u64) {
    // stored_hash_index(0, n) < 2n, so the last record stored before index
    // is in [index/2, index/2 + log₂ index].
    let mut n = index / 2;
    let mut index_n = stored_hash_index(0, n);
    debug_assert!(
        index_n <= index,
        "tlog: bad math in split_stored_hash_index"
    );
    loop {
        // Record n+1 adds 1 + trailing_zeros(n+1) hashes.
        match index_n.checked_add(1 + u64::from(n.trailing_ones())) {
            Some(x) if x <= index => {
                n += 1;
                index_n = x;
            }
            _ => break,
        }
    }
    // The hash was stored with record n: it is (0, n), (1, n/2), (2, n/4)...
    let level = (index - index_n) as u32;
    (level, n >> level)
}

/// How many hashes a tree of `n` records stores.
pub fn stored_hash_count(n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    // The hashes up to the last record's, and the subtrees it completes.
    stored_hash_index(0, n - 1) + 1 + u64::from((n - 1).trailing_ones())
}

/// Reads stored hashes by index (see [`stored_hash_index`]).
pub trait HashReader {
    /// The hashes at `indexes`, in order: exactly one per index, or an
    /// error. The functions here ask for indexes in increasing order.
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, Error>;
}

/// All of a log's stored hashes, in order.
impl HashReader for [Hash] {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, Error> {
        indexes
            .iter()
            .map(|&i| {
                usize::try_from(i)
                    .ok()
                    .and_then(|i| self.get(i).copied())
                    .ok_or(Error::MissingHash(i))
            })
            .collect()
    }
}

/// Reads `indexes`, holding the reader to one hash per index.
fn read_exactly(r: &(impl HashReader + ?Sized), indexes: &[u64]) -> Result<Vec<Hash>, Error> {
    let hashes = r.read_hashes(indexes)?;
    if hashes.len() != indexes.len() {
        return Err(Error::HashCount {
            want: indexes.len(),
            got: hashes.len(),
        });
    }
    Ok(hashes)
}

/// The hashes to store, starting at `stored_hash_index(0, n)`, when
/// appending record `n` with `data`. Reads up to log₂ n earlier hashes.
pub fn stored_hashes(
    n: u64,
    data: &[u8],
    r: &(impl HashReader + ?Sized),
) -> Result<Vec<Hash>, Error> {
    stored_hashes_for_record_hash(n, record_hash(data), r)
}

/// [`stored_hashes`] given the record's hash rather than its data.
pub fn stored_hashes_for_record_hash(
    n: u64,
    h: Hash,
    r: &(impl HashReader + ?Sized),
) -> Result<Vec<Hash>, Error> {
    // Each trailing 1 bit of n completes a subtree, whose left half is an
    // earlier hash. Ask for those in increasing order.
    let m = n.trailing_ones();
    let indexes: Vec<u64> = (0..m)
        .rev()
        .map(|i| stored_hash_index(i, (n >> i) - 1))
        .collect();
    let old = read_exactly(r, &indexes)?;
    let mut hashes = vec![h];
    let mut h = h;
    for left in old.iter().rev() {
        h = node_hash(*left, h);
        hashes.push(h);
    }
    Ok(hashes)
}

/// The root hash of the tree of the first `n` records, from one read of at
/// most 1 + log₂ n hashes. The empty tree's hash is all zeros.
pub fn tree_hash(n: u64, r: &(impl HashReader + ?Sized)) -> Result<Hash, Error> {
    if n > MAX_TREE_SIZE {
        return Err(Error::InvalidInputs("TreeHash"));
    }
    if n == 0 {
        return Ok(Hash::default());
    }
    let mut indexes = Vec::new();
    sub_tree_index(0, n, &mut indexes);
    let hashes = read_exactly(r, &indexes)?;
    let (hash, rest) = sub_tree_hash(0, n, &hashes);
    debug_assert!(rest.is_empty(), "tlog: bad index math in tree_hash");
    Ok(hash)
}

/// k, the largest power of two smaller than n (for n ≥ 2), and log₂ k.
fn maxpow2(n: u64) -> (u64, u32) {
    let mut l = 0;
    while l < 63 && 1u64 << (l + 1) < n {
        l += 1;
    }
    (1 << l, l)
}

/// Appends the indexes of the hashes that make up the subtree of records
/// [lo, hi): its complete subtrees, largest first (RFC 6962, 2.1).
fn sub_tree_index(mut lo: u64, hi: u64, need: &mut Vec<u64>) {
    while lo < hi {
        let (k, level) = maxpow2(hi - lo + 1);
        debug_assert!(lo & (k - 1) == 0, "tlog: bad math in sub_tree_index");
        need.push(stored_hash_index(level, lo >> level));
        lo += k;
    }
}

/// The hash of the subtree [lo, hi) from the hashes [`sub_tree_index`] names,
/// and the hashes left over.
fn sub_tree_hash(mut lo: u64, hi: u64, hashes: &[Hash]) -> (Hash, &[Hash]) {
    let mut num_tree = 0;
    while lo < hi {
        let (k, _) = maxpow2(hi - lo + 1);
        debug_assert!(lo & (k - 1) == 0, "tlog: bad math in sub_tree_hash");
        num_tree += 1;
        lo += k;
    }
    let (trees, rest) = hashes.split_at(num_tree);
    let (last, init) = trees.split_last().expect("tlog: empty subtree");
    let h = init.iter().rev().fold(*last, |h, left| node_hash(*left, h));
    (h, rest)
}

/// The proof that the tree of `t` records contains record `n`
/// (RFC 6962's audit path).
pub fn prove_record(t: u64, n: u64, r: &(impl HashReader + ?Sized)) -> Result<Vec<Hash>, Error> {
    if t > MAX_TREE_SIZE || n >= t {
        return Err(Error::InvalidInputs("ProveRecord"));
    }
    let mut indexes = Vec::new();
    leaf_proof_index(0, t, n, &mut indexes);
    if indexes.is_empty() {
        return Ok(Vec::new());
    }
    let hashes = read_exactly(r, &indexes)?;
    let (proof, rest) = leaf_proof(0, t, n, &hashes);
    debug_assert!(rest.is_empty(), "tlog: bad index math in prove_record");
    Ok(proof)
}

/// Appends the indexes [`leaf_proof`] needs for leaf n in [lo, hi).
fn leaf_proof_index(lo: u64, hi: u64, n: u64, need: &mut Vec<u64>) {
    debug_assert!(lo <= n && n < hi, "tlog: bad math in leaf_proof_index");
    if lo + 1 == hi {
        return;
    }
    let (k, _) = maxpow2(hi - lo);
    if n < lo + k {
        leaf_proof_index(lo, lo + k, n, need);
        sub_tree_index(lo + k, hi, need);
    } else {
        sub_tree_index(lo, lo + k, need);
        leaf_proof_index(lo + k, hi, n, need);
    }
}

/// The proof that leaf n is in the subtree [lo, hi): the hashes of the
/// branches not taken on the way down, deepest first.
fn leaf_proof(lo: u64, hi: u64, n: u64, hashes: &[Hash]) -> (Vec<Hash>, &[Hash]) {
    if lo + 1 == hi {
        // The verifier knows the leaf hash.
        return (Vec::new(), hashes);
    }
    let (k, _) = maxpow2(hi - lo);
    let (mut proof, th, rest) = if n < lo + k {
        let (proof, rest) = leaf_proof(lo, lo + k, n, hashes);
        let (th, rest) = sub_tree_hash(lo + k, hi, rest);
        (proof, th, rest)
    } else {
        let (th, rest) = sub_tree_hash(lo, lo + k, hashes);
        let (proof, rest) = leaf_proof(lo + k, hi, n, rest);
        (proof, th, rest)
    };
    proof.push(th);
    (proof, rest)
}

/// Checks that `proof` shows the tree of `t` records with hash `th` has
/// record `n` with hash `h`.
pub fn check_record(proof: &[Hash], t: u64, th: Hash, n: u64, h: Hash) -> Result<(), Error> {
    if t > MAX_TREE_SIZE || n >= t {
        return Err(Error::InvalidInputs("CheckRecord"));
    }
    if run_record_proof(proof, 0, t, n, h)? == th {
        Ok(())
    } else {
        Err(Error::ProofFailed)
    }
}

/// The hash of subtree [lo, hi) implied by `proof` and leaf n's hash.
fn run_record_proof(proof: &[Hash], lo: u64, hi: u64, n: u64, leaf: Hash) -> Result<Hash, Error> {
    if lo + 1 == hi {
        // A proof with hashes to spare is no proof.
        return if proof.is_empty() {
            Ok(leaf)
        } else {
            Err(Error::ProofFailed)
        };
    }
    let (last, proof) = proof.split_last().ok_or(Error::ProofFailed)?;
    let (k, _) = maxpow2(hi - lo);
    if n < lo + k {
        Ok(node_hash(
            run_record_proof(proof, lo, lo + k, n, leaf)?,
            *last,
        ))
    } else {
        Ok(node_hash(
            *last,
            run_record_proof(proof, lo + k, hi, n, leaf)?,
        ))
    }
}

/// The proof that the tree of `t` records extends the tree of its first `n`
/// (RFC 6962's consistency proof).
pub fn prove_tree(t: u64, n: u64, r: &(impl HashReader + ?Sized)) -> Result<Vec<Hash>, Error> {
    if t > MAX_TREE_SIZE || n < 1 || n > t {
        return Err(Error::InvalidInputs("ProveTree"));
    }
    let mut indexes = Vec::new();
    tree_proof_index(0, t, n, &mut indexes);
    if indexes.is_empty() {
        return Ok(Vec::new());
    }
    let hashes = read_exactly(r, &indexes)?;
    let (proof, rest) = tree_proof(0, t, n, &hashes);
    debug_assert!(rest.is_empty(), "tlog: bad index math in prove_tree");
    Ok(proof)
}

/// Appends the indexes [`tree_proof`] needs for subtree [lo, hi).
fn tree_proof_index(lo: u64, hi: u64, n: u64, need: &mut Vec<u64>) {
    debug_assert!(lo < n && n <= hi, "tlog: bad math in tree_proof_index");
    if n == hi {
        if lo != 0 {
            sub_tree_index(lo, hi, need);
        }
        return;
    }
    let (k, _) = maxpow2(hi - lo);
    if n <= lo + k {
        tree_proof_index(lo, lo + k, n, need);
        sub_tree_index(lo + k, hi, need);
    } else {
        sub_tree_index(lo, lo + k, need);
        tree_proof_index(lo + k, hi, n, need);
    }
}

/// The part of the consistency proof for subtree [lo, hi) of the new tree.
fn tree_proof(lo: u64, hi: u64, n: u64, hashes: &[Hash]) -> (Vec<Hash>, &[Hash]) {
    if n == hi {
        if lo == 0 {
            // This is the old tree, whose hash the verifier knows.
            return (Vec::new(), hashes);
        }
        let (th, rest) = sub_tree_hash(lo, hi, hashes);
        return (vec![th], rest);
    }
    let (k, _) = maxpow2(hi - lo);
    let (mut proof, th, rest) = if n <= lo + k {
        let (proof, rest) = tree_proof(lo, lo + k, n, hashes);
        let (th, rest) = sub_tree_hash(lo + k, hi, rest);
        (proof, th, rest)
    } else {
        let (th, rest) = sub_tree_hash(lo, lo + k, hashes);
        let (proof, rest) = tree_proof(lo + k, hi, n, rest);
        (proof, th, rest)
    };
    proof.push(th);
    (proof, rest)
}

/// Checks that `proof` shows the tree of `t` records with hash `th` extends
/// the tree of `n` records with hash `h`.
pub fn check_tree(proof: &[Hash], t: u64, th: Hash, n: u64, h: Hash) -> Result<(), Error> {
    if t > MAX_TREE_SIZE || n < 1 || n > t {
        return Err(Error::InvalidInputs("CheckTree"));
    }
    let (h2, th2) = run_tree_proof(proof, 0, t, n, h)?;
    if th2 == th && h2 == h {
        Ok(())
    } else {
        Err(Error::ProofFailed)
    }
}

/// The hashes of subtree [lo, hi) in the old tree (of n records, hash old)
/// and in the new one, as `proof` implies them.
fn run_tree_proof(
    proof: &[Hash],
    lo: u64,
    hi: u64,
    n: u64,
    old: Hash,
) -> Result<(Hash, Hash), Error> {
    if n == hi {
        return match (lo, proof) {
            (0, []) => Ok((old, old)),
            (1.., [h]) => Ok((*h, *h)),
            _ => Err(Error::ProofFailed),
        };
    }
    let (last, proof) = proof.split_last().ok_or(Error::ProofFailed)?;
    let (k, _) = maxpow2(hi - lo);
    if n <= lo + k {
        let (oh, th) = run_tree_proof(proof, lo, lo + k, n, old)?;
        Ok((oh, node_hash(th, *last)))
    } else {
        let (oh, th) = run_tree_proof(proof, lo + k, hi, n, old)?;
        Ok((node_hash(*last, oh), node_hash(*last, th)))
    }
}

/// A tree head: the number of records and the root hash.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tree {
    pub n: u64,
    pub hash: Hash,
}

const TREE_PREFIX: &str = "go.sum database tree\n";

/// The text of a tree head, as the database signs it:
/// `"go.sum database tree\n<n>\n<base64 hash>\n"`.
pub fn format_tree(tree: &Tree) -> String {
    format!("{TREE_PREFIX}{}\n{}\n", tree.n, tree.hash)
}

/// Parses [`format_tree`]'s text. Lines after the third are ignored, for
/// forward compatibility.
pub fn parse_tree(text: &str) -> Result<Tree, Error> {
    let bad = || Error::MalformedTree;
    if text.len() > 1_000_000 || !text.starts_with(TREE_PREFIX) {
        return Err(bad());
    }
    let mut lines = text.splitn(4, '\n').skip(1);
    let (Some(n), Some(hash), Some(_)) = (lines.next(), lines.next(), lines.next()) else {
        return Err(bad());
    };
    // Canonical decimal, at most MAX_TREE_SIZE.
    let n = n
        .parse::<u64>()
        .ok()
        .filter(|v| *v <= MAX_TREE_SIZE && v.to_string() == n)
        .ok_or_else(bad)?;
    Ok(Tree {
        n,
        hash: hash.parse().map_err(|_| bad())?,
    })
}

/// A record as a lookup response or data tile serves it: its id, its text
/// and a blank line. The text must be valid record text: ending in a
/// newline, without blank lines or control characters other than newline.
pub fn format_record(id: u64, text: &str) -> Result<String, Error> {
    if !is_valid_record_text(text) {
        return Err(Error::MalformedRecord);
    }
    Ok(format!("{id}\n{text}\n"))
}

/// Parses the record at the start of `msg`, as [`format_record`] writes it,
/// returning its id, its text and the rest of `msg` (in a lookup response,
/// the signed tree head).
///
/// Go's parser also returns negative ids, which no record has; they are
/// malformed here.
pub fn parse_record(msg: &[u8]) -> Result<(u64, &str, &[u8]), Error> {
    let bad = || Error::MalformedRecord;
    let i = msg.iter().position(|&b| b == b'\n').ok_or_else(bad)?;
    // Parsed as Go's strconv.ParseInt does: a sign is allowed.
    let id = std::str::from_utf8(&msg[..i])
        .ok()
        .and_then(|id| id.parse::<i64>().ok())
        .and_then(|id| u64::try_from(id).ok())
        .ok_or_else(bad)?;
    let msg = &msg[i + 1..];
    let j = msg.windows(2).position(|w| w == b"\n\n").ok_or_else(bad)?;
    let (text, rest) = (&msg[..j + 1], &msg[j + 2..]);
    let text = std::str::from_utf8(text).map_err(|_| bad())?;
    if !is_valid_record_text(text) {
        return Err(bad());
    }
    Ok((id, text, rest))
}

fn is_valid_record_text(text: &str) -> bool {
    text.ends_with('\n') && !text.contains("\n\n") && !text.contains(|c: char| c < ' ' && c != '\n')
}

#[cfg(test)]
mod tests;
