//! The checksum database client: module hashes verified against GOSUMDB as
//! the go command verifies them (x/mod/sumdb/client.go), and the database's
//! files served to go commands under /sumdb/<name>/, checked and cached.
//!
//! Only proven data is stored: a lookup once its signed tree is consistent
//! with every tree verified before and its record is proven in that tree, a
//! hash tile once it hashes up to a verified tree. Stored files are trusted
//! from then on, so verification goes on while the database is down. The
//! newest verified tree's signed note is kept as `verified/<N>`, so a
//! restarted modgate still notices a database that forks its log.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use modgate_module::{escape_path, escape_version};
use modgate_redact::Chain;
use modgate_sumdb::note::{self, Ed25519Verifier, Verifier as _, VerifierList};
use modgate_sumdb::tlog::{
    self, HASH_SIZE, Hash, HashReader as _, Tile, TileHashReader, TileReader, Tree,
};
use tokio::sync::OnceCell;
use tracing::{error, warn};

use async_trait::async_trait;
use modgate_sumdb::{SumdbPath, SumdbSpec};

use super::{Database, SumdbAnswer, SumdbError};
use crate::flights::Flights;
use crate::lock;
use crate::store::{Key, Store};
use crate::telemetry::metric;

/// The go command's tile height, and sum.golang.org's.
const TILE_HEIGHT: u32 = 8;
/// How long an answer to `latest` is served from memory.
const LATEST_TTL: Duration = Duration::from_secs(10);
/// The caller's client bounds connects and pauses; this bounds a trickle.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Far more than any lookup or tile.
const MAX_BODY: usize = 4 << 20;
/// A proof reads its hashes in one pass, so two rounds of tile fetches
/// suffice; more means bad math, not a slow database.
const MAX_TILE_ROUNDS: usize = 4;

/// The configured checksum database (GOSUMDB), verified and cached.
pub struct Checksums {
    inner: Arc<Inner>,
}

/// The hash to check, of a module zip or of its go.mod (`h1:…`).
#[derive(Debug, Clone, Copy)]
pub enum Checked<'a> {
    Zip(&'a str),
    Mod(&'a str),
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum VerifyError {
    /// The database's hash differs: never store such an artifact.
    #[error(
        "verifying {module}@{version}: checksum mismatch for the {file}: downloaded {received}, checksum database {database} has {expected}"
    )]
    Mismatch {
        module: String,
        version: String,
        /// `zip` or `go.mod`.
        file: &'static str,
        database: String,
        expected: String,
        received: String,
    },
    /// The database has no record: go would fail too.
    #[error(
        "verifying {module}@{version}: not found in checksum database {database}: {detail} (a private module? list it in --private)"
    )]
    NotFound {
        module: String,
        version: String,
        database: String,
        detail: String,
    },
    /// The database could not be asked: verification could not be done.
    #[error("verifying {module}@{version}: checksum database {database} is unavailable: {detail}")]
    Unavailable {
        module: String,
        version: String,
        database: String,
        detail: String,
    },
    /// Bad signature, bad proof, or a tree inconsistent with one verified
    /// before: a security failure, logged at error level.
    #[error(
        "verifying {module}@{version}: checksum database {database} is serving a forked or corrupt log: {detail}"
    )]
    Corrupt {
        module: String,
        version: String,
        database: String,
        detail: String,
    },
}

impl Checksums {
    /// None when the spec is off.
    pub fn new(
        spec: &SumdbSpec,
        store: Arc<dyn Store>,
        client: reqwest::Client,
    ) -> Result<Option<Self>, SumdbError> {
        let SumdbSpec::Database { key, url } = spec else {
            return Ok(None);
        };
        let bad = SumdbError::BadRequest;
        let verifier = Ed25519Verifier::new(key)
            .map_err(|e| bad(format!("checksum database key {key:?}: {e}")))?;
        let name = verifier.name().to_owned();
        // The name becomes directories of the store.
        if Key::sumdb(&name, "verified").is_err() {
            return Err(bad(format!(
                "checksum database name {name:?} is not a clean relative path"
            )));
        }
        let base = url.clone().unwrap_or_else(|| format!("https://{name}"));
        // The error would show the URL, credentials and all.
        let parsed = url::Url::parse(&base)
            .map_err(|_| bad(format!("checksum database {name}: invalid URL")))?;
        let shown = modgate_redact::redact_url(parsed.as_str())
            .trim_end_matches('/')
            .to_owned();
        if !matches!(parsed.scheme(), "http" | "https")
            || parsed.query().is_some()
            || parsed.fragment().is_some()
        {
            return Err(bad(format!(
                "checksum database URL {shown}: want http(s)://host[/path], without query"
            )));
        }
        Ok(Some(Self {
            inner: Arc::new(Inner {
                base: parsed.as_str().trim_end_matches('/').to_owned(),
                shown,
                name,
                verifiers: VerifierList::new([verifier]),
                opened: Mutex::default(),
                store,
                client,
                loaded: OnceCell::new(),
                head: Mutex::new(None),
                latest: Mutex::new(None),
                files: Flights::new(),
                tiles: Flights::new(),
            }),
        }))
    }

    /// Fetches and proves the record `verify` will read, so that it
    /// overlaps the download; a failure shows again in `verify`.
    pub async fn prefetch(&self, module: &str, version: &str) {
        let _ = self.inner.lookup(module, version).await;
    }

    /// Checks `file`'s hash against the database's record of `module@version`.
    pub async fn verify(
        &self,
        module: &str,
        version: &str,
        file: Checked<'_>,
    ) -> Result<(), VerifyError> {
        let result = self.inner.verify(module, version, file).await;
        metric::sumdb_verification(match &result {
            Ok(()) => "ok",
            Err(VerifyError::Mismatch { .. }) => "mismatch",
            Err(VerifyError::NotFound { .. }) => "not_found",
            Err(VerifyError::Unavailable { .. }) => "unavailable",
            Err(VerifyError::Corrupt { .. }) => "corrupt",
        });
        result
    }
}

/// What proves a set of versions without the database: each one's record,
/// all proven in one signed tree, and the tiles those proofs read.
#[derive(Debug, Clone)]
pub struct Carried {
    pub tree: Tree,
    /// The tree's signed note.
    pub note: Bytes,
    /// In the order asked for.
    pub records: Vec<CarriedRecord>,
    /// Every tile the proofs read, each proven part of `tree`.
    pub tiles: Vec<(Tile, Bytes)>,
}

#[derive(Debug, Clone)]
pub struct CarriedRecord {
    pub id: u64,
    /// The record text (its two go.sum lines).
    pub text: String,
    pub record: modgate_sumdb::SumRecord,
}

impl Carried {
    /// The lookup answer for `record` signed by the one carried tree: any
    /// signed tree that holds a record proves it, and one tree for all
    /// spares the go command a consistency proof between every two.
    pub fn lookup(&self, record: &CarriedRecord) -> Vec<u8> {
        let head = tlog::format_record(record.id, &record.text)
            .expect("record text came from a parsed lookup");
        [head.as_bytes(), &self.note].concat()
    }
}

impl Checksums {
    /// The records of `versions` (fetched and proven as [`Checksums::verify`]
    /// does), proven again in the newest tree verified here, with the tiles
    /// that prove them. With `since` (an older bundle's tree and records),
    /// also the tiles proving that tree a prefix of the newest and reading
    /// its records in the newest: a go command that has seen the newest
    /// tree checks an older lookup's record in it.
    pub async fn carry(
        &self,
        versions: &[(String, String)],
        since: Option<(Tree, Vec<u64>)>,
    ) -> Result<Carried, CarryError> {
        use futures::StreamExt as _;
        let inner = &self.inner;
        let mut records: Vec<Option<CarriedRecord>> = vec![None; versions.len()];
        let mut fetched = futures::stream::iter(versions.iter().enumerate())
            .map(|(i, (module, version))| async move {
                let body = inner.lookup(module, version).await;
                (i, module, version, body)
            })
            .buffer_unordered(LOOKUPS_AT_ONCE);
        while let Some((i, module, version, body)) = fetched.next().await {
            let failed = |detail: String| CarryError::Version {
                module: module.clone(),
                version: version.clone(),
                database: inner.name.clone(),
                detail,
            };
            let body = body.map_err(|f| failed(fail_text(f)))?;
            let lookup = inner.parse_lookup(&body, module, version).map_err(failed)?;
            let (_, text, _) = tlog::parse_record(&body).map_err(|e| failed(e.to_string()))?;
            records[i] = Some(CarriedRecord {
                id: lookup.id,
                text: text.to_owned(),
                record: lookup.record,
            });
        }
        drop(fetched);
        let records: Vec<CarriedRecord> = records.into_iter().flatten().collect();
        let tree_failed = |detail: String| CarryError::Tree {
            database: inner.name.clone(),
            detail,
        };
        let head = match inner.head().await {
            Ok(Some(head)) => head,
            Ok(None) => match since {
                // Nothing looked up: the old tree is still the newest known.
                Some(_) => return Err(tree_failed("no verified tree head".to_owned())),
                None => return Err(tree_failed("no versions to prove".to_owned())),
            },
            Err(f) => return Err(tree_failed(fail_text(f))),
        };
        if let Some((old, _)) = &since
            && old.n > head.tree.n
        {
            return Err(tree_failed(format!(
                "the old tree ({}) is newer than any verified here ({})",
                old.n, head.tree.n
            )));
        }
        let leaves: Vec<(u64, Hash)> = records
            .iter()
            .map(|r| (r.id, tlog::record_hash(r.text.as_bytes())))
            .collect();
        let tree = head.tree;
        let (proven, tiles) = inner
            .with_tiles_read(move |tiles| {
                let reader = TileHashReader::new(tree, tiles);
                // Every proof runs, so one round gathers every missing tile.
                let mut first = Ok(());
                for &(id, leaf) in &leaves {
                    let proven = tlog::prove_record(tree.n, id, &reader)
                        .and_then(|p| tlog::check_record(&p, tree.n, tree.hash, id, leaf))
                        // What the go command reads: the leaf's own tile,
                        // authenticated up to the tree hash (in a tree of
                        // one record, the proof above reads nothing).
                        .and_then(|()| reader.read_hashes(&[tlog::stored_hash_index(0, id)]))
                        .and_then(|read| {
                            if read.first() == Some(&leaf) {
                                Ok(())
                            } else {
                                Err(modgate_sumdb::Error::ProofFailed)
                            }
                        });
                    if first.is_ok() {
                        first = proven;
                    }
                }
                if let Some((old, ids)) = &since {
                    let proven = tlog::prove_tree(tree.n, old.n, &reader)
                        .and_then(|p| tlog::check_tree(&p, tree.n, tree.hash, old.n, old.hash));
                    if first.is_ok() {
                        first = proven;
                    }
                    for &id in ids {
                        let read = reader.read_hashes(&[tlog::stored_hash_index(0, id)]);
                        if first.is_ok() {
                            first = read.map(drop);
                        }
                    }
                }
                first
            })
            .await
            .map_err(|f| tree_failed(fail_text(f)))?;
        proven.map_err(|e| {
            tree_failed(format!(
                "proving the records in tree {} ({}): {e}",
                tree.n, tree.hash
            ))
        })?;
        let mut tiles: Vec<(Tile, Bytes)> = tiles.into_iter().collect();
        tiles.sort_by_key(|(t, _)| (t.l, t.n, t.w));
        Ok(Carried {
            tree,
            note: head.note,
            records,
            tiles,
        })
    }
}

/// Lookups fetched at once while carrying proofs.
const LOOKUPS_AT_ONCE: usize = 8;

/// Why [`Checksums::carry`] could not prove a set of versions.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CarryError {
    #[error("{module}@{version}: checksum database {database}: {detail}")]
    Version {
        module: String,
        version: String,
        database: String,
        detail: String,
    },
    #[error("checksum database {database}: {detail}")]
    Tree { database: String, detail: String },
}

fn fail_text(fail: Fail) -> String {
    match fail {
        Fail::NotFound(d) => format!("not found: {d}"),
        Fail::Unavailable(d) => format!("unavailable: {d}"),
        Fail::Corrupt(d) => format!("serving a forked or corrupt log: {d}"),
    }
}

#[async_trait]
impl Database for Checksums {
    fn name(&self) -> &str {
        &self.inner.name
    }

    async fn answer(&self, path: &SumdbPath) -> Result<SumdbAnswer, SumdbError> {
        let inner = &self.inner;
        match path {
            SumdbPath::Latest => inner.answer_latest().await,
            SumdbPath::Lookup { module, version } => {
                let body = inner
                    .lookup(module, version)
                    .await
                    .map_err(|f| inner.answer_error(f))?;
                Ok(SumdbAnswer {
                    body,
                    immutable: true,
                })
            }
            SumdbPath::Tile(tile) => inner
                .answer_tile(*tile)
                .await
                .map_err(|f| inner.answer_error(f)),
            SumdbPath::Supported => Ok(SumdbAnswer {
                body: Bytes::new(),
                immutable: false,
            }),
        }
    }
}

/// Why a file could not be had, before it is worded for a caller.
#[derive(Debug, Clone)]
enum Fail {
    NotFound(String),
    Unavailable(String),
    /// Already logged.
    Corrupt(String),
}

/// The newest verified tree and its signed note.
#[derive(Debug, Clone)]
struct Head {
    tree: Tree,
    note: Bytes,
}

/// A lookup answer, parsed and its signature checked.
struct Lookup {
    id: u64,
    leaf: Hash,
    tree: Tree,
    note: Bytes,
    record: modgate_sumdb::SumRecord,
}

struct Inner {
    name: String,
    /// Without a trailing slash; may hold credentials.
    base: String,
    /// `base` without credentials, for messages and logs.
    shown: String,
    verifiers: VerifierList<Ed25519Verifier>,
    /// Notes whose signature checked out lately, with their trees: every
    /// lookup carries the same signed head until the log grows.
    opened: Mutex<std::collections::VecDeque<(Bytes, Tree)>>,
    store: Arc<dyn Store>,
    client: reqwest::Client,
    /// Whether `head` has been read from the store.
    loaded: OnceCell<()>,
    head: Mutex<Option<Head>>,
    /// The last `latest` fetched, and when.
    latest: Mutex<Option<(Instant, Bytes)>>,
    /// Lookups (keyed by path) and `latest`.
    files: Flights<Result<Bytes, Fail>>,
    /// Hash tiles, and whether they came from the network.
    tiles: Flights<Result<(Bytes, bool), Fail>>,
}

impl Inner {
    async fn verify(
        self: &Arc<Self>,
        module: &str,
        version: &str,
        file: Checked<'_>,
    ) -> Result<(), VerifyError> {
        let fail = |f| {
            let (module, version, database) =
                (module.to_owned(), version.to_owned(), self.name.clone());
            match f {
                Fail::NotFound(detail) => VerifyError::NotFound {
                    module,
                    version,
                    database,
                    detail,
                },
                Fail::Unavailable(detail) => VerifyError::Unavailable {
                    module,
                    version,
                    database,
                    detail,
                },
                Fail::Corrupt(detail) => VerifyError::Corrupt {
                    module,
                    version,
                    database,
                    detail,
                },
            }
        };
        let body = self.lookup(module, version).await.map_err(fail)?;
        // Proven (or stored once proven), so this only fails on a damaged store.
        let record = self
            .parse_lookup(&body, module, version)
            .map_err(|e| fail(self.corrupt(e)))?
            .record;
        let (file, expected, received) = match file {
            Checked::Zip(h) => ("zip", record.zip_hash, h),
            Checked::Mod(h) => ("go.mod", record.mod_hash, h),
        };
        if expected == received {
            return Ok(());
        }
        Err(VerifyError::Mismatch {
            module: module.to_owned(),
            version: version.to_owned(),
            file,
            database: self.name.clone(),
            expected,
            received: received.to_owned(),
        })
    }

    fn answer_error(&self, fail: Fail) -> SumdbError {
        match fail {
            Fail::NotFound(d) => SumdbError::NotFound(d),
            Fail::Unavailable(d) => SumdbError::Unavailable(d),
            Fail::Corrupt(d) => SumdbError::Unavailable(format!(
                "checksum database {} is serving a forked or corrupt log: {d}",
                self.name
            )),
        }
    }

    /// Logs a security failure: the database lied.
    fn corrupt(&self, detail: String) -> Fail {
        error!(
            url = %self.shown,
            "checksum database {} is serving a forked or corrupt log: {detail}",
            self.name
        );
        Fail::Corrupt(detail)
    }

    /// Where `path` (made of parsed parts) is kept; the name was checked
    /// at start, so only a bad path fails.
    fn key(&self, path: &str) -> Result<Key, Fail> {
        Key::sumdb(&self.name, path).map_err(|e| Fail::NotFound(e.to_string()))
    }

    /// The lookup answer for `module@version`, proven: from the store, or
    /// fetched, proven and stored. Concurrent calls share one fetch.
    async fn lookup(self: &Arc<Self>, module: &str, version: &str) -> Result<Bytes, Fail> {
        let (em, ev) = match (escape_path(module), escape_version(version)) {
            (Ok(m), Ok(v)) => (m, v),
            (Err(e), _) | (_, Err(e)) => return Err(Fail::NotFound(e.to_string())),
        };
        let path = format!("lookup/{em}@{ev}");
        let (this, module, version) = (Arc::clone(self), module.to_owned(), version.to_owned());
        let work = async move { this.fetch_lookup(&em, &ev, &module, &version).await };
        self.files
            .run(&path, "sumdb_lookup", work)
            .await
            .unwrap_or_else(|lost| Err(Fail::Unavailable(lost.to_string())))
    }

    async fn fetch_lookup(
        self: &Arc<Self>,
        em: &str,
        ev: &str,
        module: &str,
        version: &str,
    ) -> Result<Bytes, Fail> {
        let path = format!("lookup/{em}@{ev}");
        let key = self.key(&path)?;
        if let Some(body) = self.stored(&key).await {
            match self.parse_lookup(&body, module, version) {
                Ok(_) => {
                    metric::sumdb_cache("lookup", true);
                    return Ok(body);
                }
                // Stored files never change: this one will be fetched each time.
                Err(e) => warn!(%key, "stored checksum database lookup is damaged: {e}"),
            }
        }
        metric::sumdb_cache("lookup", false);
        let body = self.get(&path).await?;
        let lookup = self
            .parse_lookup(&body, module, version)
            .map_err(|e| self.corrupt(e))?;
        self.merge(Head {
            tree: lookup.tree,
            note: lookup.note,
        })
        .await?;
        let Lookup { id, leaf, tree, .. } = lookup;
        let proven = self
            .with_tiles(move |tiles| {
                let reader = TileHashReader::new(tree, tiles);
                let proof = tlog::prove_record(tree.n, id, &reader)?;
                tlog::check_record(&proof, tree.n, tree.hash, id, leaf)
            })
            .await?;
        proven.map_err(|e| {
            self.corrupt(format!(
                "{path}: record {id} is not in tree {} ({}): {e}",
                tree.n, tree.hash
            ))
        })?;
        self.put(&key, body.clone()).await;
        Ok(body)
    }

    /// Everything about a lookup answer that needs no tiles: syntax, the
    /// signature, and that it is the record of `module@version`.
    fn parse_lookup(&self, body: &Bytes, module: &str, version: &str) -> Result<Lookup, String> {
        let at = format!("lookup of {module}@{version}");
        let (id, text, signed) = tlog::parse_record(body).map_err(|e| format!("{at}: {e}"))?;
        let tree = self.open_tree(signed).map_err(|e| format!("{at}: {e}"))?;
        if id >= tree.n {
            return Err(format!(
                "{at}: record {id} is outside the signed tree of size {}",
                tree.n
            ));
        }
        let record = modgate_sumdb::parse_sum_record(text).map_err(|e| format!("{at}: {e}"))?;
        // Go keeps only the lines naming the module version, and so would
        // accept any hash if the database answered another record.
        if record.module != module || record.version != version {
            return Err(format!(
                "{at}: answered the record of {}@{}",
                record.module, record.version
            ));
        }
        Ok(Lookup {
            id,
            leaf: tlog::record_hash(text.as_bytes()),
            tree,
            note: body.slice_ref(signed),
            record,
        })
    }

    /// The tree a signed note holds, if the database's key signed it.
    fn open_tree(&self, note: &[u8]) -> Result<Tree, String> {
        const KEPT: usize = 8;
        if let Some((_, tree)) = lock(&self.opened).iter().find(|(n, _)| n == note) {
            return Ok(*tree);
        }
        let opened = note::open(note, &self.verifiers).map_err(|e| format!("tree note: {e}"))?;
        let tree = tlog::parse_tree(&opened.text).map_err(|e| format!("tree note: {e}"))?;
        let mut kept = lock(&self.opened);
        if kept.len() == KEPT {
            kept.pop_front();
        }
        kept.push_back((Bytes::copy_from_slice(note), tree));
        Ok(tree)
    }

    /// The newest verified tree, read from the store on first use.
    async fn head(&self) -> Result<Option<Head>, Fail> {
        self.loaded.get_or_try_init(|| self.load_head()).await?;
        Ok(lock(&self.head).clone())
    }

    async fn load_head(&self) -> Result<(), Fail> {
        let dir = self.key("verified")?;
        let names = self
            .store
            .list(&dir)
            .await
            .map_err(|e| Fail::Unavailable(format!("reading {dir}: {e}")))?;
        let Some(n) = names.iter().filter_map(|n| n.parse::<u64>().ok()).max() else {
            return Ok(());
        };
        let key = self.key(&format!("verified/{n}"))?;
        let Some(note) = self.stored(&key).await else {
            return Err(Fail::Unavailable(format!("reading {key}")));
        };
        match self.open_tree(&note) {
            Ok(tree) if tree.n == n => *lock(&self.head) = Some(Head { tree, note }),
            // A changed key, say: start over as the go command does with no go.sum cache.
            Ok(_) => warn!(%key, "verified tree note is for another size; ignoring it"),
            Err(e) => warn!(%key, "verified tree note does not open: {e}; ignoring it"),
        }
        Ok(())
    }

    /// Makes `new` part of the verified timeline: the newest tree if it is
    /// newer and extends the newest, else it must be a prefix of the newest
    /// (Go's mergeLatestMem).
    async fn merge(self: &Arc<Self>, new: Head) -> Result<(), Fail> {
        let mut seen = self.head().await?;
        loop {
            if let Some(head) = &seen {
                if new.tree.n <= head.tree.n {
                    return self.check_trees(&new, head).await;
                }
                self.check_trees(head, &new).await?;
            }
            // Install unless another merge moved the head meanwhile.
            {
                let mut head = lock(&self.head);
                if head.as_ref().map(|h| h.tree) != seen.as_ref().map(|h| h.tree) {
                    seen = head.clone();
                    continue;
                }
                *head = Some(new.clone());
            }
            let key = self.key(&format!("verified/{}", new.tree.n))?;
            self.put(&key, new.note).await;
            // Forgetting it would let a fork of the log pass after a crash.
            if let Err(e) = self.store.sync(&key).await {
                warn!(%key, "storing a checksum database file: {}", Chain(&e));
            }
            return Ok(());
        }
    }

    /// Proves that `older` is a prefix of `newer`.
    async fn check_trees(self: &Arc<Self>, older: &Head, newer: &Head) -> Result<(), Fail> {
        let (old, new) = (older.tree, newer.tree);
        if old == new {
            return Ok(());
        }
        let proven = self
            .with_tiles(move |tiles| {
                let reader = TileHashReader::new(new, tiles);
                let proof = tlog::prove_tree(new.n, old.n, &reader)?;
                tlog::check_tree(&proof, new.n, new.hash, old.n, old.hash)
            })
            .await?;
        proven.map_err(|e| {
            self.corrupt(format!(
                "tree {} ({}) is not a prefix of tree {} ({}): {e}",
                old.n, old.hash, new.n, new.hash
            ))
        })
    }

    /// Runs the synchronous `proof` over tiles, fetching those it turns out
    /// to need and running it again. The outer error is a failed fetch; the
    /// inner result is the proof's. Fetched tiles the proof authenticated
    /// are stored.
    async fn with_tiles<T: Send>(
        self: &Arc<Self>,
        proof: impl Fn(&Gathered) -> Result<T, modgate_sumdb::Error> + Send,
    ) -> Result<Result<T, modgate_sumdb::Error>, Fail> {
        self.with_tiles_read(proof).await.map(|(result, _)| result)
    }

    /// [`Inner::with_tiles`], also giving back every tile the proof read.
    async fn with_tiles_read<T: Send>(
        self: &Arc<Self>,
        proof: impl Fn(&Gathered) -> Result<T, modgate_sumdb::Error> + Send,
    ) -> Result<(Result<T, modgate_sumdb::Error>, HashMap<Tile, Bytes>), Fail> {
        let mut gathered = Gathered::default();
        let mut fetched = HashSet::new();
        for _ in 0..MAX_TILE_ROUNDS {
            let result = proof(&gathered);
            let missing: HashSet<Tile> = gathered.missing.take().into_iter().collect();
            if missing.is_empty() {
                let proven: Vec<(Tile, Bytes)> = gathered
                    .proven
                    .take()
                    .into_iter()
                    .filter(|t| fetched.contains(t))
                    .map(|t| (t, gathered.have[&t].clone()))
                    .collect();
                for (tile, data) in proven {
                    self.put(&self.key(&tile.path())?, data).await;
                }
                return Ok((result, gathered.have));
            }
            drop(result);
            let missing: Vec<Tile> = missing.into_iter().collect();
            let got = futures::future::try_join_all(missing.iter().map(|&t| self.tile(t))).await?;
            for (tile, (data, from_network)) in missing.into_iter().zip(got) {
                if from_network {
                    fetched.insert(tile);
                }
                gathered.have.insert(tile, data);
            }
        }
        Err(Fail::Unavailable(
            "a proof kept asking for more tiles".to_owned(),
        ))
    }

    /// Hash tile `tile` for a proof: from the store, or fetched (a partial
    /// tile that is gone from the database is cut from the full tile, as Go
    /// does). Concurrent calls share one fetch.
    async fn tile(self: &Arc<Self>, tile: Tile) -> Result<(Bytes, bool), Fail> {
        let this = Arc::clone(self);
        let work = async move { this.fetch_tile(tile).await };
        self.tiles
            .run(&tile.path(), "sumdb_tile", work)
            .await
            .unwrap_or_else(|lost| Err(Fail::Unavailable(lost.to_string())))
    }

    async fn fetch_tile(&self, tile: Tile) -> Result<(Bytes, bool), Fail> {
        let size = tile.w as usize * HASH_SIZE;
        let full = Tile {
            w: 1 << tile.h,
            ..tile
        };
        if let Ok(key) = self.key(&tile.path())
            && let Some(data) = self.stored(&key).await
            && data.len() == size
        {
            metric::sumdb_cache("tile", true);
            return Ok((data, false));
        }
        // Only proven tiles are stored, so a prefix of a stored one is proven.
        if full != tile
            && let Ok(key) = self.key(&full.path())
            && let Some(data) = self.stored(&key).await
            && data.len() == full.w as usize * HASH_SIZE
        {
            metric::sumdb_cache("tile", true);
            return Ok((data.slice(..size), false));
        }
        metric::sumdb_cache("tile", false);
        let data = match self.get_hash_tile(tile).await {
            Err(Fail::NotFound(_)) if full != tile => self
                .get_hash_tile(full)
                .await
                .map(|data| data.slice(..size)),
            fetched => fetched,
        };
        match data {
            Ok(data) => Ok((data, true)),
            // A database without a tile its tree needs is broken, not silent.
            Err(Fail::NotFound(d)) => Err(Fail::Unavailable(d)),
            Err(f) => Err(f),
        }
    }

    /// Hash tile `tile` from the database, which must be its size.
    async fn get_hash_tile(&self, tile: Tile) -> Result<Bytes, Fail> {
        let path = tile.path();
        let data = self.get(&path).await?;
        let want = tile.w as usize * HASH_SIZE;
        if data.len() != want {
            return Err(Fail::Unavailable(format!(
                "{}/{path}: {} bytes, want {want}",
                self.shown,
                data.len()
            )));
        }
        Ok(data)
    }

    async fn answer_tile(self: &Arc<Self>, tile: Tile) -> Result<SumdbAnswer, Fail> {
        let path = tile.path();
        let key = self.key(&path)?;
        let answer = |body| SumdbAnswer {
            body,
            immutable: true,
        };
        if let Some(body) = self.stored(&key).await {
            metric::sumdb_cache("tile", true);
            return Ok(answer(body));
        }
        metric::sumdb_cache("tile", false);
        // A hash tile inside the verified tree is read through it, proven.
        if tile.l >= 0
            && let Some(head) = self.head().await?
            && tile.covered_by(head.tree.n)
        {
            let tree = head.tree;
            let data = self
                .with_tiles(move |tiles| {
                    tlog::read_tile_data(&tile, &TileHashReader::new(tree, tiles))
                })
                .await?
                .map_err(|e| {
                    self.corrupt(format!(
                        "{path} does not hash up to tree {} ({}): {e}",
                        tree.n, tree.hash
                    ))
                })?;
            let data = Bytes::from(data);
            self.put(&key, data.clone()).await;
            return Ok(answer(data));
        }
        if tile.l >= 0 {
            // Newer than any tree verified here: served for the client to
            // prove, and not stored, where proofs would trust it.
            return self.get_hash_tile(tile).await.map(answer);
        }
        // Record data: no proof reads it, and the client checks it.
        let data = self.get(&path).await?;
        self.put(&key, data.clone()).await;
        Ok(answer(data))
    }

    async fn answer_latest(self: &Arc<Self>) -> Result<SumdbAnswer, SumdbError> {
        let answer = |body| SumdbAnswer {
            body,
            immutable: false,
        };
        let recent = lock(&self.latest).clone();
        if let Some((at, body)) = &recent
            && at.elapsed() < LATEST_TTL
        {
            metric::sumdb_cache("latest", true);
            return Ok(answer(body.clone()));
        }
        metric::sumdb_cache("latest", false);
        let this = Arc::clone(self);
        let work = async move {
            let body = this.get("latest").await?;
            this.open_tree(&body)
                .map_err(|e| this.corrupt(format!("latest: {e}")))?;
            *lock(&this.latest) = Some((Instant::now(), body.clone()));
            Ok(body)
        };
        let fail = match self
            .files
            .run("latest", "sumdb_latest", work)
            .await
            .unwrap_or_else(|lost| Err(Fail::Unavailable(lost.to_string())))
        {
            Ok(body) => return Ok(answer(body)),
            Err(fail) => fail,
        };
        // An older signed tree is still true: better than no answer.
        let older = match recent {
            Some((_, body)) => Some(body),
            None => self.head().await.ok().flatten().map(|h| h.note),
        };
        match older {
            Some(body) => {
                warn!(url = %self.shown, "checksum database {}: serving an older latest: {fail:?}", self.name);
                metric::stale_answer("sumdb_latest");
                Ok(answer(body))
            }
            None => Err(self.answer_error(fail)),
        }
    }

    /// GET `path` from the database: 404 and 410 are NotFound, any other
    /// failure Unavailable.
    async fn get(&self, path: &str) -> Result<Bytes, Fail> {
        let shown = format!("{}/{path}", self.shown);
        let unavailable = |why: String| Fail::Unavailable(format!("{shown}: {why}"));
        let mut resp = self
            .client
            .get(format!("{}/{path}", self.base))
            .timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(|e| unavailable(modgate_net::describe(e)))?;
        let status = resp.status();
        if !status.is_success() {
            let message = format!("{shown}: {status}{}", modgate_net::first_line(resp).await);
            return Err(match status.as_u16() {
                404 | 410 => Fail::NotFound(message),
                _ => Fail::Unavailable(message),
            });
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| unavailable(modgate_net::describe(e)))?
        {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(unavailable(format!("more than {MAX_BODY} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.into())
    }

    /// A stored file; a store that fails to read is a miss, and logged.
    async fn stored(&self, key: &Key) -> Option<Bytes> {
        self.store
            .read_small(key)
            .await
            .inspect_err(|e| warn!(%key, "reading the store: {}", Chain(&e)))
            .ok()
            .flatten()
    }

    /// Stores a proven file; failing to is logged, not fatal: it will be
    /// fetched and proven again.
    async fn put(&self, key: &Key, data: Bytes) {
        if let Err(e) = self.store.put(key, data).await {
            warn!(%key, "storing a checksum database file: {}", Chain(&e));
        }
    }
}

/// Tiles for the synchronous [`TileHashReader`]: those fetched so far. A
/// read of others is recorded and fails, to be run again once they are in.
#[derive(Default)]
struct Gathered {
    have: HashMap<Tile, Bytes>,
    missing: RefCell<Vec<Tile>>,
    /// Tiles the reader authenticated.
    proven: RefCell<HashSet<Tile>>,
}

#[derive(Debug, thiserror::Error)]
#[error("tiles not fetched yet")]
struct NotFetched;

impl TileReader for Gathered {
    fn height(&self) -> u32 {
        TILE_HEIGHT
    }

    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, modgate_sumdb::Error> {
        let missing: Vec<Tile> = tiles
            .iter()
            .filter(|t| !self.have.contains_key(t))
            .copied()
            .collect();
        if !missing.is_empty() {
            self.missing.borrow_mut().extend(missing);
            return Err(modgate_sumdb::Error::Other(Box::new(NotFetched)));
        }
        Ok(tiles.iter().map(|t| self.have[t].to_vec()).collect())
    }

    fn save_tiles(&self, tiles: &[Tile], _: &[Vec<u8>]) {
        self.proven.borrow_mut().extend(tiles);
    }
}

#[cfg(test)]
mod tests;
