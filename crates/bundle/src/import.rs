//! `modgate bundle import`: a bundle checked whole (signature, every file's
//! path as a storage key and its hash, every zip and go.mod against the
//! manifest and its module, every manifest entry against its lookup and the
//! tiles proving it in the signed tree head, and that tree against the one
//! the store knows, every vulnerability database file against its name),
//! then stored. Files are staged in the store's temporary area first, so a
//! bundle that fails any check leaves nothing visible; a file the store
//! holds already must be the bundle's byte for byte, and is skipped, so an
//! interrupted import resumes.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use modgate_module::Info;
use modgate_redact::Chain;
use modgate_sumdb::note::{self, Ed25519Verifier, Verifier as _, VerifierList};
use modgate_sumdb::tlog::{self, HASH_SIZE, Tile, TileHashReader, TileReader, Tree};
use sha2::{Digest, Sha256};
use tempfile::TempPath;

use super::{
    BundleError, Entry, MANIFEST, MAX_MANIFEST, MAX_SIGNATURE, Manifest, Progress, SIGNATURE,
    TreeRef, hex, parse_manifest, tar_reader,
};
use modgate_store::protocol::{Kind, Request};
use modgate_store::{Ext, Key, Store};
use modgate_zip::ingest;

/// Whom the bundle must come from.
#[derive(Debug, Clone)]
pub enum Trust {
    /// Signed by this verifier key (`name+hash+key`).
    Key(String),
    /// Signed or not, by anyone: the checksum database's proofs still hold,
    /// under the database key the manifest names.
    Unsigned,
}

pub struct ImportOptions {
    pub file: std::path::PathBuf,
    pub store: Arc<dyn Store>,
    pub trust: Trust,
    /// The database key the bundle must be proven by, when given.
    pub sumdb: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Imported {
    pub modules: u64,
    /// Files written now.
    pub stored: u64,
    /// Files the store had already.
    pub present: u64,
    pub bytes: u64,
    pub sumdb: String,
    pub tree: TreeRef,
}

/// The tile height of the go command and sum.golang.org.
const TILE_HEIGHT: u32 = 8;
/// A consistency proof against the store's tree reads its tiles in a few rounds.
const MAX_TILE_ROUNDS: usize = 4;

pub async fn import(
    opts: ImportOptions,
    progress: &mut (dyn FnMut(&Progress) + Send),
) -> Result<Imported, BundleError> {
    let what = opts.file.display().to_string();
    let file = fs_err::File::open(&opts.file).map_err(BundleError::io(&what))?;
    let mut archive = tar_reader(file).map_err(BundleError::io(&what))?;
    let mut entries = archive.entries().map_err(BundleError::io(&what))?;
    let (name, manifest_json) = next_entry(&mut entries, &what, MAX_MANIFEST)?
        .ok_or_else(|| BundleError::refused(&what, "empty bundle"))?;
    if name != MANIFEST {
        return Err(BundleError::refused(
            &what,
            "the first entry is not manifest.json",
        ));
    }
    let manifest = parse_manifest(&manifest_json).map_err(|e| BundleError::refused(&what, e))?;
    let plan = Plan::new(&manifest, opts.sumdb.as_deref())?;

    // The signature, if any, is the next entry.
    let mut staging = Staging::new(&manifest, opts.store.as_ref());
    let mut first = entries.next();
    let signature = match &mut first {
        Some(Ok(entry)) if entry_path(entry).as_deref() == Some(SIGNATURE) => {
            let sig = read_limited(entry, MAX_SIGNATURE, &what)?;
            first = None;
            Some(sig)
        }
        _ => None,
    };
    match (&opts.trust, &signature) {
        (Trust::Key(vkey), Some(sig)) => super::check_signature(&manifest_json, sig, vkey)?,
        (Trust::Key(_), None) => {
            return Err(BundleError::refused(
                &what,
                "the bundle is not signed (import it with --allow-unsigned to trust the checksum database's proofs alone)",
            ));
        }
        (Trust::Unsigned, _) => {}
    }

    let mut done = Progress {
        phase: "checking",
        modules_total: manifest.modules.len() as u64,
        bytes_total: manifest.files.iter().map(|f| f.size).sum(),
        ..Progress::default()
    };
    progress(&done);
    if let Some(entry) = first {
        staging.stage(entry, &what)?;
    }
    for entry in entries.by_ref() {
        staging.stage(entry, &what)?;
        done.bytes = staging.position;
        done.current = staging.current.clone();
        progress(&done);
    }
    let staged = staging.finish()?;

    check_versions(&manifest, &plan, &staged, &mut |n, current| {
        done.modules = n;
        done.current = current.to_owned();
        progress(&done);
    })?;
    check_vulndb(&manifest.files, &plan, &staged, opts.store.as_ref()).await?;
    let stored_head = stored_head(opts.store.as_ref(), &plan).await?;
    if let Some(head) = &stored_head {
        check_consistent(opts.store.as_ref(), &plan, &staged, head).await?;
    }
    let present = check_present(&manifest, &plan, opts.store.as_ref()).await?;

    // Everything checked: store it, each version's zip hash after its zip,
    // the tree head last.
    let mut result = Imported {
        modules: manifest.modules.len() as u64,
        stored: 0,
        present: 0,
        bytes: 0,
        sumdb: plan.name.clone(),
        tree: manifest.sumdb.tree.clone(),
    };
    let mut done = Progress {
        phase: "storing",
        modules_total: manifest.modules.len() as u64,
        bytes_total: manifest.files.iter().map(|f| f.size).sum(),
        ..Progress::default()
    };
    let store = &opts.store;
    let mut staged = staged;
    for (i, f) in manifest.files.iter().enumerate() {
        let key = &plan.keys[i];
        let temp = staged.paths[i].take().expect("every file staged");
        if present[i] {
            result.present += 1;
        } else {
            let file = fs_err::File::open(&*temp)
                .map_err(BundleError::io(format!("reopening the staged {}", f.path)))?;
            let named = tempfile::NamedTempFile::from_parts(file.into_parts().0, temp);
            store.put_file(key, named).await?;
            store.sync(key).await?;
            result.stored += 1;
            result.bytes += f.size;
        }
        if let Some(entry) = plan.zip_of.get(&i).map(|&e| &manifest.modules[e]) {
            let zip = entry.zip.as_ref().expect("a zip's entry has a zip");
            let mark = Key::version_file(&entry.module, &entry.version, Ext::ZipHash)
                .expect("checked version");
            if store.get(&mark).await?.is_none() {
                store
                    .put(&mark, Bytes::from(format!("{}\n", zip.h1)))
                    .await?;
                store.sync(&mark).await?;
            }
            done.modules += 1;
            done.current = entry.name();
        } else if let Some(&e) = plan.mod_only.get(&i) {
            done.modules += 1;
            done.current = manifest.modules[e].name();
        }
        done.bytes += f.size;
        progress(&done);
    }
    if stored_head.is_none_or(|h| h.tree.n < plan.tree.n) {
        let key = Key::sumdb(&plan.name, &format!("verified/{}", plan.tree.n))?;
        if store.get(&key).await?.is_none() {
            store.put(&key, Bytes::from(plan.note.clone())).await?;
        }
        store.sync(&key).await?;
    }
    Ok(result)
}

/// Checks a manifest as [`import`] does before it reads any file: its JSON,
/// its tree head signed by its own key (`sumdb`, when given), and that its
/// versions and database explain every file it lists. Public for fuzzing.
pub fn check_manifest(data: &[u8], sumdb: Option<&str>) -> Result<Manifest, BundleError> {
    let manifest = parse_manifest(data).map_err(|e| BundleError::refused(MANIFEST, e))?;
    Plan::new(&manifest, sumdb)?;
    Ok(manifest)
}

/// What the manifest says the bundle holds, checked for shape: every path
/// one the manifest's versions or database explain.
struct Plan {
    name: String,
    verifiers: VerifierList<Ed25519Verifier>,
    tree: Tree,
    note: Vec<u8>,
    /// File index → the module entry whose zip it is.
    zip_of: HashMap<usize, usize>,
    /// go.mod file index → a module entry without a zip.
    mod_only: HashMap<usize, usize>,
    /// Per module entry: the file indexes of its info, mod, zip and lookup.
    files_of: Vec<[Option<usize>; 4]>,
    /// File index → tile.
    tiles: HashMap<usize, Tile>,
    /// Each file's key, checked.
    keys: Vec<Key>,
    /// File path → index.
    index: HashMap<String, usize>,
    /// The vulnerability database's files (checked with their contents).
    vulndb: Vec<usize>,
}

const INFO: usize = 0;
const MOD: usize = 1;
const ZIP: usize = 2;

impl Plan {
    fn new(manifest: &Manifest, want_key: Option<&str>) -> Result<Self, BundleError> {
        let refused = |detail: String| BundleError::refused(MANIFEST, detail);
        let db = &manifest.sumdb;
        if let Some(want) = want_key
            && want.trim() != db.key
        {
            return Err(refused(format!(
                "proven by checksum database key {}, not {}",
                db.key,
                want.trim()
            )));
        }
        let verifier =
            Ed25519Verifier::new(&db.key).map_err(|e| refused(format!("sumdb key: {e}")))?;
        // The name becomes directories of the store.
        if verifier.name() != db.name || Key::sumdb(&db.name, "verified").is_err() {
            return Err(refused(format!(
                "sumdb name {:?} does not fit its key",
                db.name
            )));
        }
        let verifiers = VerifierList::new([verifier]);
        let opened = note::open(db.note.as_bytes(), &verifiers)
            .map_err(|e| refused(format!("the tree head's signature: {e}")))?;
        let tree =
            tlog::parse_tree(&opened.text).map_err(|e| refused(format!("the tree head: {e}")))?;
        if tree.n != db.tree.size || tree.hash.to_string() != db.tree.hash {
            return Err(refused(
                "the tree head's note holds another tree".to_owned(),
            ));
        }

        let mut index: HashMap<String, usize> = HashMap::new();
        let mut keys = Vec::with_capacity(manifest.files.len());
        for (i, f) in manifest.files.iter().enumerate() {
            keys.push(Key::parse(&f.path).map_err(|e| refused(Chain(&e).to_string()))?);
            if index.insert(f.path.clone(), i).is_some() {
                return Err(refused(format!("{} is listed twice", f.path)));
            }
        }
        let mut explained = vec![false; manifest.files.len()];
        let mut plan = Plan {
            name: db.name.clone(),
            verifiers,
            tree,
            note: db.note.as_bytes().to_vec(),
            zip_of: HashMap::new(),
            mod_only: HashMap::new(),
            files_of: Vec::new(),
            tiles: HashMap::new(),
            keys,
            index: HashMap::new(),
            vulndb: Vec::new(),
        };
        let mut seen = HashSet::new();
        for (e, entry) in manifest.modules.iter().enumerate() {
            let name = entry.name();
            modgate_module::check(&entry.module, &entry.version)
                .map_err(|err| BundleError::refused(&name, Chain(&err).to_string()))?;
            if !seen.insert((&entry.module, &entry.version)) {
                return Err(BundleError::refused(&name, "listed twice"));
            }
            let paths = entry_paths(&db.name, entry);
            let mut files = [None; 4];
            for (slot, path) in paths.iter().enumerate() {
                let Some(path) = path else { continue };
                match index.get(path.as_str()) {
                    Some(&i) => {
                        files[slot] = Some(i);
                        explained[i] = true;
                    }
                    None if slot == INFO => {}
                    None => {
                        return Err(BundleError::refused(
                            &name,
                            format!("{path} is not in the manifest"),
                        ));
                    }
                }
            }
            if let Some(z) = files[ZIP] {
                plan.zip_of.insert(z, e);
            } else if let Some(m) = files[MOD] {
                plan.mod_only.insert(m, e);
            }
            plan.files_of.push(files);
        }
        let tile_prefix = format!("sumdb/{}/", db.name);
        let vulndb_prefix = format!("{}/", modgate_store::VULNDB);
        for (i, f) in manifest.files.iter().enumerate() {
            if explained[i] {
                continue;
            }
            // Checked with their contents, once staged (check_vulndb).
            if f.path.starts_with(&vulndb_prefix) {
                plan.vulndb.push(i);
                continue;
            }
            // Only a tile's own path, as the tile names it.
            let tile = f
                .path
                .strip_prefix(&tile_prefix)
                .and_then(|p| tlog::parse_tile_path(p).ok())
                .filter(|t| {
                    t.l >= 0 && t.h == TILE_HEIGHT && f.path == format!("{tile_prefix}{}", t.path())
                });
            let Some(tile) = tile else {
                return Err(refused(format!(
                    "{} is neither a listed version's file nor a hash tile",
                    f.path
                )));
            };
            if f.size != u64::from(tile.w) * HASH_SIZE as u64 {
                return Err(BundleError::refused(&f.path, "not the size of its tile"));
            }
            plan.tiles.insert(i, tile);
        }
        plan.index = index;
        Ok(plan)
    }
}

/// An entry's info, mod, zip and lookup paths (the zip when it has one).
fn entry_paths(db: &str, entry: &Entry) -> [Option<String>; 4] {
    let (m, v) = (entry.module.as_str(), entry.version.as_str());
    let key = |kind| Request::new(m, kind).key().map(|k| k.as_str().to_owned());
    let lookup = Key::sumdb_lookup(db, m, v).map(|k| k.as_str().to_owned());
    [
        entry
            .zip
            .as_ref()
            .and(Key::version_file(m, v, Ext::Info))
            .map(|k| k.as_str().to_owned()),
        key(Kind::Mod(v.to_owned())),
        entry.zip.as_ref().and(key(Kind::Zip(v.to_owned()))),
        lookup,
    ]
}

/// Files written to the store's temporary area as they stream in.
struct Staging<'a> {
    manifest: &'a Manifest,
    index: HashMap<&'a str, usize>,
    paths: Vec<Option<TempPath>>,
    store: &'a dyn Store,
    /// The module version of the last file staged.
    current: String,
    position: u64,
}

struct Staged {
    paths: Vec<Option<TempPath>>,
}

impl<'a> Staging<'a> {
    fn new(manifest: &'a Manifest, store: &'a dyn Store) -> Self {
        Self {
            manifest,
            index: manifest
                .files
                .iter()
                .enumerate()
                .map(|(i, f)| (f.path.as_str(), i))
                .collect(),
            paths: (0..manifest.files.len()).map(|_| None).collect(),
            store,
            current: String::new(),
            position: 0,
        }
    }

    fn stage<R: Read>(
        &mut self,
        entry: std::io::Result<tar::Entry<'_, R>>,
        what: &str,
    ) -> Result<(), BundleError> {
        let mut entry = entry.map_err(|e| truncated(what, e))?;
        let path = entry_path(&entry)
            .ok_or_else(|| BundleError::refused(what, "an entry's path is not UTF-8"))?;
        let Some(&i) = self.index.get(path.as_str()) else {
            return Err(BundleError::refused(
                &path,
                "in the bundle but not in its manifest",
            ));
        };
        if self.paths[i].is_some() {
            return Err(BundleError::refused(&path, "in the bundle twice"));
        }
        let want = &self.manifest.files[i];
        if entry.header().entry_type() != tar::EntryType::Regular || entry.size() != want.size {
            return Err(BundleError::refused(
                owner(&path),
                format!(
                    "{path}: {} bytes, the manifest says {}",
                    entry.size(),
                    want.size
                ),
            ));
        }
        let mut temp = self.store.temp_file()?;
        let mut hash = Sha256::new();
        let mut buf = vec![0u8; 256 << 10];
        let mut size = 0u64;
        loop {
            let n = entry.read(&mut buf).map_err(|e| truncated(what, e))?;
            if n == 0 {
                break;
            }
            size += n as u64;
            hash.update(&buf[..n]);
            std::io::Write::write_all(&mut temp, &buf[..n])
                .map_err(BundleError::io("staging the bundle"))?;
        }
        if size != want.size || hex(&hash.finalize()) != want.sha256 {
            return Err(BundleError::refused(
                owner(&path),
                format!("{path} differs from the manifest (sha256 mismatch)"),
            ));
        }
        self.position += size;
        self.current = owner(&path);
        self.paths[i] = Some(temp.into_temp_path());
        Ok(())
    }

    fn finish(self) -> Result<Staged, BundleError> {
        for (i, p) in self.paths.iter().enumerate() {
            if p.is_none() {
                let path = &self.manifest.files[i].path;
                return Err(BundleError::refused(
                    owner(path),
                    format!("{path} is missing from the bundle (truncated?)"),
                ));
            }
        }
        Ok(Staged { paths: self.paths })
    }
}

/// The module version a bundle path belongs to, for messages.
fn owner(path: &str) -> String {
    let path = path
        .strip_prefix("sumdb/")
        .and_then(|p| p.split_once("/lookup/"))
        .map_or(path, |(_, l)| l);
    if let Some((m, rest)) = path.split_once("/@v/").or_else(|| path.rsplit_once('@')) {
        let v = rest.rsplit_once('.').map_or(rest, |(v, ext)| {
            if matches!(ext, "info" | "mod" | "zip") {
                v
            } else {
                rest
            }
        });
        if let (Ok(m), Ok(v)) = (
            modgate_module::unescape_path(m),
            modgate_module::unescape_version(v),
        ) {
            return format!("{m}@{v}");
        }
    }
    path.to_owned()
}

fn truncated(what: &str, e: std::io::Error) -> BundleError {
    BundleError::refused(what, format!("truncated or corrupt: {e}"))
}

fn entry_path<R: Read>(entry: &tar::Entry<'_, R>) -> Option<String> {
    entry
        .path()
        .ok()
        .and_then(|p| p.to_str().map(str::to_owned))
}

fn read_limited(r: &mut impl Read, max: u64, what: &str) -> Result<Vec<u8>, BundleError> {
    let mut data = Vec::new();
    r.take(max + 1)
        .read_to_end(&mut data)
        .map_err(|e| truncated(what, e))?;
    if data.len() as u64 > max {
        return Err(BundleError::refused(
            what,
            format!("an entry over {max} bytes"),
        ));
    }
    Ok(data)
}

/// The next entry's path and contents, up to `max` bytes.
pub(super) fn next_entry<R: Read>(
    entries: &mut tar::Entries<'_, R>,
    what: &str,
    max: u64,
) -> Result<Option<(String, Vec<u8>)>, BundleError> {
    let Some(entry) = entries.next() else {
        return Ok(None);
    };
    let mut entry = entry.map_err(|e| truncated(what, e))?;
    let path = entry_path(&entry).unwrap_or_default();
    let data = read_limited(&mut entry, max, what)?;
    Ok(Some((path, data)))
}

fn read_staged(path: &Path, what: &str) -> Result<Vec<u8>, BundleError> {
    fs_err::read(path).map_err(BundleError::io(format!("reading the staged {what}")))
}

/// Every version's files against the manifest and the manifest against
/// the checksum database's proofs; every tile against the tree head.
fn check_versions(
    manifest: &Manifest,
    plan: &Plan,
    staged: &Staged,
    progress: &mut dyn FnMut(u64, &str),
) -> Result<(), BundleError> {
    let tiles = StagedTiles::new(plan, staged);
    let reader = TileHashReader::new(plan.tree, &tiles);
    let path_of = |i: usize| -> &Path { staged.paths[i].as_deref().expect("staged") };
    for (e, entry) in manifest.modules.iter().enumerate() {
        let name = entry.name();
        let refused = |detail: String| BundleError::refused(&name, detail);
        let [info, go_mod, zip, lookup] = plan.files_of[e];
        let go_mod = read_staged(path_of(go_mod.expect("planned")), &name)?;
        let mod_h1 = modgate_zip::dirhash::hash_go_mod(&go_mod);
        if mod_h1 != entry.go_mod.h1 || go_mod.len() as u64 != entry.go_mod.size {
            return Err(refused(format!(
                "go.mod hash {mod_h1}, the manifest says {}",
                entry.go_mod.h1
            )));
        }
        ingest::check_mod(&entry.module, &entry.version, &go_mod)
            .map_err(|e| refused(Chain(&e).to_string()))?;
        // The go command refuses such a go.mod ("module declares its path
        // as"): stored, it would only answer requests for another module.
        match modgate_module::modfile::module_path(&go_mod) {
            Some(declared) if declared == entry.module => {}
            declared => {
                return Err(refused(format!(
                    "its go.mod declares module {}",
                    declared.unwrap_or_default()
                )));
            }
        }
        if let (Some(z), Some(want)) = (zip, &entry.zip) {
            let h1 = ingest::check_zip(&entry.module, &entry.version, path_of(z))
                .map_err(|e| refused(Chain(&e).to_string()))?;
            if h1 != want.h1 {
                return Err(refused(format!(
                    "zip hash {h1}, the manifest says {}",
                    want.h1
                )));
            }
        }
        if let Some(i) = info {
            Info::parse(
                &entry.module,
                Some(&entry.version),
                &read_staged(path_of(i), &name)?,
            )
            .map_err(|e| refused(format!(".info: {e}")))?;
        }
        let body = read_staged(path_of(lookup.expect("planned")), &name)?;
        let (id, text, signed) =
            tlog::parse_record(&body).map_err(|e| refused(format!("lookup: {e}")))?;
        if signed != plan.note.as_slice() {
            return Err(refused(
                "the lookup is not signed by the bundle's tree head".to_owned(),
            ));
        }
        let record =
            modgate_sumdb::parse_sum_record(text).map_err(|e| refused(format!("lookup: {e}")))?;
        if record.module != entry.module || record.version != entry.version {
            return Err(refused(format!(
                "the lookup is the record of {}@{}",
                record.module, record.version
            )));
        }
        if id != entry.record || record.mod_hash != entry.go_mod.h1 {
            return Err(refused(format!(
                "checksum database {} has go.mod {} as record {id}, the manifest says {} as record {}",
                plan.name, record.mod_hash, entry.go_mod.h1, entry.record
            )));
        }
        if let Some(zip) = &entry.zip
            && record.zip_hash != zip.h1
        {
            return Err(refused(format!(
                "checksum database {} has zip {}, the manifest says {}",
                plan.name, record.zip_hash, zip.h1
            )));
        }
        let leaf = tlog::record_hash(text.as_bytes());
        let proven = if id < plan.tree.n {
            tlog::prove_record(plan.tree.n, id, &reader)
                .and_then(|p| tlog::check_record(&p, plan.tree.n, plan.tree.hash, id, leaf))
        } else {
            Err(modgate_sumdb::Error::IndexNotInTree)
        };
        proven.map_err(|e| {
            refused(format!(
                "record {id} is not proven in tree {} of {}: {e}",
                plan.tree.n, plan.name
            ))
        })?;
        progress(e as u64 + 1, &name);
    }
    // A stored tile is trusted by every later proof: each must hash up to the tree.
    for (&i, tile) in &plan.tiles {
        let path = &manifest.files[i].path;
        let fits = tile.covered_by(plan.tree.n);
        let data = tlog::read_tile_data(tile, &reader);
        match (fits, data) {
            (true, Ok(data)) if data == read_staged(path_of(i), path)? => {}
            (_, Err(e)) => {
                return Err(BundleError::refused(
                    path,
                    format!("not proven in the tree head: {e}"),
                ));
            }
            _ => return Err(BundleError::refused(path, "not a tile of the tree head")),
        }
    }
    Ok(())
}

/// The bundle's tiles, read from where they are staged.
struct StagedTiles<'a> {
    by_tile: HashMap<Tile, &'a Path>,
}

impl<'a> StagedTiles<'a> {
    fn new(plan: &Plan, staged: &'a Staged) -> Self {
        Self {
            by_tile: plan
                .tiles
                .iter()
                .map(|(&i, &t)| (t, staged.paths[i].as_deref().expect("staged")))
                .collect(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("tile {0} is not in the bundle")]
struct NoTile(Tile);

impl TileReader for StagedTiles<'_> {
    fn height(&self) -> u32 {
        TILE_HEIGHT
    }

    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, modgate_sumdb::Error> {
        tiles
            .iter()
            .map(|t| {
                let path = self
                    .by_tile
                    .get(t)
                    .ok_or_else(|| modgate_sumdb::Error::Other(Box::new(NoTile(*t))))?;
                std::fs::read(path).map_err(|e| modgate_sumdb::Error::Other(Box::new(e)))
            })
            .collect()
    }

    fn save_tiles(&self, _: &[Tile], _: &[Vec<u8>]) {}
}

/// Every vulnerability database file against its name: blobs hold what
/// their names say; a snapshot is named as the mirror names them and names
/// only blobs of the database's files, each in the bundle or the store and
/// parsing as the file it is served as. A snapshot from storage is checked
/// again when read; this keeps a bad one out of the store in the first place.
async fn check_vulndb(
    files: &[super::File],
    plan: &Plan,
    staged: &Staged,
    store: &dyn Store,
) -> Result<(), BundleError> {
    let path_of = |i: usize| -> &Path { staged.paths[i].as_deref().expect("staged") };
    for &i in &plan.vulndb {
        let path = &files[i].path;
        let bytes = read_staged(path_of(i), path)?;
        let checked = modgate_module::vulndb::check_bundled(path, &bytes)
            .map_err(|e| BundleError::refused(path, e))?;
        let modgate_module::vulndb::BundledFile::Snapshot(named) = checked else {
            continue;
        };
        for (served, blob) in named {
            let bytes = match plan.index.get(&blob) {
                Some(&b) => Bytes::from(read_staged(path_of(b), &blob)?),
                None => {
                    let stored = store.read_small(&Key::parse(&blob)?).await?;
                    // A stored blob is held to its name as a bundled one is.
                    stored
                        .filter(|b| modgate_module::vulndb::check_bundled(&blob, b).is_ok())
                        .ok_or_else(|| {
                            BundleError::refused(
                                path,
                                format!(
                                    "names {blob} for {served}: not in the bundle, nor stored intact"
                                ),
                            )
                        })?
                }
            };
            modgate_module::vulndb::check_db_file(&served, &bytes).map_err(|e| {
                BundleError::refused(path, format!("{blob}, named for {served}: {e}"))
            })?;
        }
    }
    Ok(())
}

/// Which files the store holds already, each compared with the bundle's:
/// a stored object never changes, so one that differs (tampered with, or
/// corrupt) would stay served whatever the bundle proves. Any difference
/// refuses the bundle before anything is stored.
async fn check_present(
    manifest: &Manifest,
    plan: &Plan,
    store: &dyn Store,
) -> Result<Vec<bool>, BundleError> {
    let mut present = Vec::with_capacity(manifest.files.len());
    for (i, f) in manifest.files.iter().enumerate() {
        let key = &plan.keys[i];
        let there = match store.get(key).await? {
            Some(obj) => {
                if hex(&obj.sha256().await?) != f.sha256 {
                    return Err(BundleError::refused(
                        key.as_str(),
                        "the store holds other bytes under this key than the bundle (tampered with or corrupt: see `modgate verify --quarantine`)",
                    ));
                }
                true
            }
            None => false,
        };
        present.push(there);
        if let Some(entry) = plan.zip_of.get(&i).map(|&e| &manifest.modules[e]) {
            let zip = entry.zip.as_ref().expect("a zip's entry has a zip");
            let mark = Key::version_file(&entry.module, &entry.version, Ext::ZipHash)
                .expect("checked version");
            if let Some(stored) = store.read_small(&mark).await?
                && stored != format!("{}\n", zip.h1).as_bytes()
            {
                return Err(BundleError::refused(
                    mark.as_str(),
                    format!(
                        "the store holds another zip hash than the bundle's {}",
                        zip.h1
                    ),
                ));
            }
        }
    }
    Ok(present)
}

/// The newest tree of the database the store has verified.
struct Head {
    tree: Tree,
}

async fn stored_head(store: &dyn Store, plan: &Plan) -> Result<Option<Head>, BundleError> {
    let dir = Key::sumdb(&plan.name, "verified")?;
    let newest = store
        .list(&dir)
        .await?
        .iter()
        .filter_map(|n| n.parse::<u64>().ok())
        .max();
    let Some(n) = newest else {
        return Ok(None);
    };
    let key = Key::sumdb(&plan.name, &format!("verified/{n}"))?;
    let Some(note) = store.read_small(&key).await? else {
        return Ok(None);
    };
    // As the proxy does: a note that does not open (another key) is ignored.
    let Ok(opened) = note::open(&note, &plan.verifiers) else {
        return Ok(None);
    };
    Ok(tlog::parse_tree(&opened.text)
        .ok()
        .filter(|t| t.n == n)
        .map(|tree| Head { tree }))
}

/// Proves the bundle's tree and the store's on one timeline, with the
/// bundle's tiles and the store's.
async fn check_consistent(
    store: &dyn Store,
    plan: &Plan,
    staged: &Staged,
    head: &Head,
) -> Result<(), BundleError> {
    let (ours, theirs) = (plan.tree, head.tree);
    let refused = |detail: String| {
        BundleError::refused(
            format!("checksum database {}", plan.name),
            format!(
                "the bundle's tree {} ({}) and the store's tree {} ({}) {detail}",
                ours.n, ours.hash, theirs.n, theirs.hash
            ),
        )
    };
    if ours.n == theirs.n {
        return if ours == theirs {
            Ok(())
        } else {
            Err(refused("differ: a forked log".to_owned()))
        };
    }
    let (newer, older) = if ours.n > theirs.n {
        (ours, theirs)
    } else {
        (theirs, ours)
    };
    let bundled = StagedTiles::new(plan, staged);
    let mut layered = Layered {
        bundled: &bundled,
        stored: HashMap::new(),
        missing: Default::default(),
    };
    for _ in 0..MAX_TILE_ROUNDS {
        let proven = tlog::prove_tree(newer.n, older.n, &TileHashReader::new(newer, &layered))
            .and_then(|p| tlog::check_tree(&p, newer.n, newer.hash, older.n, older.hash));
        let missing: Vec<Tile> = layered.missing.take().into_iter().collect();
        if missing.is_empty() {
            return proven.map_err(|e| refused(format!("are not one log: {e}")));
        }
        for tile in missing {
            let full = Tile {
                w: 1 << tile.h,
                ..tile
            };
            let size = tile.w as usize * HASH_SIZE;
            let mut found = None;
            for t in [tile, full] {
                if let Some(data) = store
                    .read_small(&Key::sumdb(&plan.name, &t.path())?)
                    .await?
                    && data.len() == t.w as usize * HASH_SIZE
                {
                    found = Some(data.slice(..size));
                    break;
                }
            }
            let Some(data) = found else {
                return Err(refused(format!(
                    "cannot be proven one log with what the bundle and the store hold (tile {tile} is in neither): \
                     build the bundle with --since the manifest of the bundle imported last"
                )));
            };
            layered.stored.insert(tile, data);
        }
    }
    Err(refused(
        "could not be compared: a proof kept asking for tiles".to_owned(),
    ))
}

/// The bundle's tiles, then the store's as they are read.
struct Layered<'a> {
    bundled: &'a StagedTiles<'a>,
    stored: HashMap<Tile, Bytes>,
    missing: std::cell::RefCell<HashSet<Tile>>,
}

impl TileReader for Layered<'_> {
    fn height(&self) -> u32 {
        TILE_HEIGHT
    }

    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, modgate_sumdb::Error> {
        let mut out = Vec::new();
        let mut missing = false;
        for t in tiles {
            let full = Tile { w: 1 << t.h, ..*t };
            let bundled = [t, &full].into_iter().find_map(|x| {
                let data = self.bundled.read_tiles(&[*x]).ok()?.pop()?;
                Some(data[..t.w as usize * HASH_SIZE].to_vec())
            });
            match bundled.or_else(|| self.stored.get(t).map(|d| d.to_vec())) {
                Some(data) => out.push(data),
                None => {
                    self.missing.borrow_mut().insert(*t);
                    missing = true;
                }
            }
        }
        if missing {
            return Err(modgate_sumdb::Error::Other(Box::new(NoTile(tiles[0]))));
        }
        Ok(out)
    }

    fn save_tiles(&self, _: &[Tile], _: &[Vec<u8>]) {}
}

/// Warms `store` with `sources` fetched through the proxy of `origin`: a
/// bundle made into a scratch directory and imported at once, so that a
/// store gets exactly the checks and atomicity of `bundle create` and
/// `bundle import` (`modgate prefetch --storage`).
pub async fn prefetch_into(
    sources: Vec<crate::create::Source>,
    origin: crate::create::Origin,
    sumdb: modgate_sumdb::SumdbSpec,
    store: std::sync::Arc<dyn modgate_store::Store>,
    progress: &mut (dyn FnMut(&Progress) + Send),
) -> Result<Imported, BundleError> {
    let scratch = tempfile::tempdir().map_err(BundleError::io("a scratch directory"))?;
    let file = scratch.path().join("prefetch.bundle");
    crate::create::create(
        crate::create::CreateOptions {
            sources,
            origin,
            sumdb,
            out: file.clone(),
            sign: None,
            since: None,
            vulndb: None,
        },
        progress,
    )
    .await?;
    import(
        ImportOptions {
            file,
            store,
            // Made just now, by this process.
            trust: Trust::Unsigned,
            sumdb: None,
        },
        progress,
    )
    .await
}
