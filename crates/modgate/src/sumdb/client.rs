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
use std::future::Future;
use std::io::Read as _;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use modgate_module::{escape_path, escape_version, unescape_path, unescape_version};
use modgate_sumdb::note::{self, Ed25519Verifier, Verifier as _, VerifierList};
use modgate_sumdb::tlog::{self, HASH_SIZE, Hash, Tile, TileHashReader, TileReader, Tree};
use tokio::sync::{OnceCell, watch};
use tracing::{error, warn};

use super::SumdbSpec;
use crate::store::{Body, Key, Store};
use crate::telemetry::metric;
use crate::upstream::describe_http_error;

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
    #[error("{0}")]
    NotFound(String),
    /// The database could not be asked: verification could not be done.
    #[error("{0}")]
    Unavailable(String),
    /// Bad signature, bad proof, or a tree inconsistent with one verified
    /// before: a security failure, logged at error level.
    #[error("{0}")]
    Corrupt(String),
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum SumdbError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unavailable(String),
}

/// A file of the database, for a client.
#[derive(Debug, Clone)]
pub struct SumdbAnswer {
    pub body: Bytes,
    /// Tiles and lookups never change; `latest` does.
    pub immutable: bool,
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
        if name
            .split('/')
            .any(|e| e.is_empty() || e == "." || e == "..")
            || name.contains('\\')
        {
            return Err(bad(format!(
                "checksum database name {name:?} is not a clean relative path"
            )));
        }
        let base = url.clone().unwrap_or_else(|| format!("https://{name}"));
        // The error would show the URL, credentials and all.
        let parsed = url::Url::parse(&base)
            .map_err(|_| bad(format!("checksum database {name}: invalid URL")))?;
        let shown = redact(&parsed);
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

    /// The key's name, e.g. sum.golang.org.
    pub fn name(&self) -> &str {
        &self.inner.name
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
            Err(VerifyError::NotFound(_)) => "not_found",
            Err(VerifyError::Unavailable(_)) => "unavailable",
            Err(VerifyError::Corrupt(_)) => "corrupt",
        });
        result
    }

    /// A client's request under /sumdb/<name>/, `path` after that prefix:
    /// `latest`, `lookup/<escaped module>@<escaped version>`,
    /// `tile/<H>/<L>/<N>[.p/<W>]` or `tile/<H>/data/<N>[.p/<W>]`.
    pub async fn answer(&self, path: &str) -> Result<SumdbAnswer, SumdbError> {
        let inner = &self.inner;
        if path == "latest" {
            return inner.answer_latest().await;
        }
        if let Some(lookup) = path.strip_prefix("lookup/") {
            let (module, version) = parse_lookup(lookup).map_err(SumdbError::BadRequest)?;
            let body = inner
                .lookup(&module, &version)
                .await
                .map_err(|f| inner.answer_error(f))?;
            return Ok(SumdbAnswer {
                body,
                immutable: true,
            });
        }
        if path.starts_with("tile/") {
            let tile =
                tlog::parse_tile_path(path).map_err(|e| SumdbError::BadRequest(e.to_string()))?;
            return inner
                .answer_tile(tile)
                .await
                .map_err(|f| inner.answer_error(f));
        }
        Err(SumdbError::BadRequest(format!(
            "no checksum database file {path:?}"
        )))
    }
}

/// A lookup path's module and version, which must be valid and escaped as
/// the go command escapes them: one spelling per stored file.
fn parse_lookup(lookup: &str) -> Result<(String, String), String> {
    let bad = |why: &dyn std::fmt::Display| format!("invalid lookup {lookup:?}: {why}");
    let (em, ev) = lookup
        .split_once('@')
        .ok_or_else(|| bad(&"want <module>@<version>"))?;
    let module = unescape_path(em).map_err(|e| bad(&e))?;
    let version = unescape_version(ev).map_err(|e| bad(&e))?;
    modgate_module::check(&module, &version).map_err(|e| bad(&e))?;
    if escape_path(&module).ok().as_deref() != Some(em)
        || escape_version(&version).ok().as_deref() != Some(ev)
    {
        return Err(bad(&"not escaped as the go command escapes it"));
    }
    Ok((module, version))
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
    store: Arc<dyn Store>,
    client: reqwest::Client,
    /// Whether `head` has been read from the store.
    loaded: OnceCell<()>,
    head: Mutex<Option<Head>>,
    /// The last `latest` fetched, and when.
    latest: Mutex<Option<(Instant, Bytes)>>,
    /// Lookups (keyed by path) and `latest`.
    files: Flights<Bytes>,
    /// Hash tiles, and whether they came from the network.
    tiles: Flights<(Bytes, bool)>,
}

impl Inner {
    async fn verify(
        self: &Arc<Self>,
        module: &str,
        version: &str,
        file: Checked<'_>,
    ) -> Result<(), VerifyError> {
        let at = format!("verifying {module}@{version}");
        let name = &self.name;
        let fail = |f| match f {
            Fail::NotFound(d) => {
                VerifyError::NotFound(format!("{at}: not found in checksum database {name}: {d}"))
            }
            Fail::Unavailable(d) => VerifyError::Unavailable(format!(
                "{at}: checksum database {name} is unavailable: {d}"
            )),
            Fail::Corrupt(d) => VerifyError::Corrupt(format!(
                "{at}: checksum database {name} is serving a forked or corrupt log: {d}"
            )),
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

    fn key(&self, path: &str) -> Key {
        Key::sumdb(&self.name, path)
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
        self.files.run(path, "sumdb_lookup", work).await
    }

    async fn fetch_lookup(
        self: &Arc<Self>,
        em: &str,
        ev: &str,
        module: &str,
        version: &str,
    ) -> Result<Bytes, Fail> {
        let path = format!("lookup/{em}@{ev}");
        let key = self.key(&path);
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
        let opened = note::open(note, &self.verifiers).map_err(|e| format!("tree note: {e}"))?;
        tlog::parse_tree(&opened.text).map_err(|e| format!("tree note: {e}"))
    }

    /// The newest verified tree, read from the store on first use.
    async fn head(&self) -> Result<Option<Head>, Fail> {
        self.loaded.get_or_try_init(|| self.load_head()).await?;
        Ok(lock(&self.head).clone())
    }

    async fn load_head(&self) -> Result<(), Fail> {
        let dir = self.key("verified");
        let names = self
            .store
            .list(&dir)
            .await
            .map_err(|e| Fail::Unavailable(format!("reading {dir}: {e}")))?;
        let Some(n) = names.iter().filter_map(|n| n.parse::<u64>().ok()).max() else {
            return Ok(());
        };
        let key = self.key(&format!("verified/{n}"));
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
            self.put(&self.key(&format!("verified/{}", new.tree.n)), new.note)
                .await;
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
                    self.put(&self.key(&tile.path()), data).await;
                }
                return Ok(result);
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
        self.tiles.run(tile.path(), "sumdb_tile", work).await
    }

    async fn fetch_tile(&self, tile: Tile) -> Result<(Bytes, bool), Fail> {
        let size = tile.w as usize * HASH_SIZE;
        let full = Tile {
            w: 1 << tile.h,
            ..tile
        };
        if let Some(data) = self.stored(&self.key(&tile.path())).await
            && data.len() == size
        {
            metric::sumdb_cache("tile", true);
            return Ok((data, false));
        }
        // Only proven tiles are stored, so a prefix of a stored one is proven.
        if full != tile
            && let Some(data) = self.stored(&self.key(&full.path())).await
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
        let key = self.key(&path);
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
            && covers(head.tree.n, &tile)
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
            .run("latest".to_owned(), "sumdb_latest", work)
            .await
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
            .map_err(|e| unavailable(describe_http_error(e)))?;
        let status = resp.status();
        if !status.is_success() {
            let message = format!("{shown}: {status}{}", first_line(resp).await);
            return Err(match status.as_u16() {
                404 | 410 => Fail::NotFound(message),
                _ => Fail::Unavailable(message),
            });
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| unavailable(describe_http_error(e)))?
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
        let object = match self.store.get(key).await {
            Ok(object) => object?,
            Err(e) => {
                warn!(%key, "reading the store: {e}");
                return None;
            }
        };
        match object.body {
            Body::Bytes(body) => Some(body),
            Body::File(mut file) => {
                let read = tokio::task::spawn_blocking(move || {
                    let mut body = Vec::new();
                    file.read_to_end(&mut body).map(|_| Bytes::from(body))
                })
                .await
                .map_err(std::io::Error::other)
                .and_then(|read| read);
                read.inspect_err(|e| warn!(%key, "reading the store: {e}"))
                    .ok()
            }
        }
    }

    /// Stores a proven file; failing to is logged, not fatal: it will be
    /// fetched and proven again.
    async fn put(&self, key: &Key, data: Bytes) {
        if let Err(e) = self.store.put(key, data).await {
            warn!(%key, "storing a checksum database file: {e}");
        }
    }
}

/// Whether the tree of `n` records holds all of hash tile `tile`'s hashes.
fn covers(n: u64, tile: &Tile) -> bool {
    let level = tile.h * tile.l as u32;
    1u64.checked_shl(tile.h)
        .and_then(|width| tile.n.checked_mul(width))
        .and_then(|first| first.checked_add(u64::from(tile.w)))
        .and_then(|end| end.checked_mul(1u64.checked_shl(level)?))
        .is_some_and(|records| records <= n)
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

/// Concurrent requests for one file share one fetch, run as a task of its
/// own so that a caller going away does not cancel it for the others (as
/// proxy::flights does for artifacts).
struct Flights<T> {
    inflight: Arc<Mutex<HashMap<String, Landing<T>>>>,
}

/// Where a flight's result lands: `None` until it does.
type Landing<T> = watch::Receiver<Option<Result<T, Fail>>>;

impl<T: Clone + Send + Sync + 'static> Flights<T> {
    fn new() -> Self {
        Self {
            inflight: Arc::default(),
        }
    }

    async fn run(
        &self,
        key: String,
        kind: &'static str,
        work: impl Future<Output = Result<T, Fail>> + Send + 'static,
    ) -> Result<T, Fail> {
        let mut rx = {
            let mut inflight = lock(&self.inflight);
            match inflight.get(&key) {
                // A flight whose task died is not joined: it would never land.
                Some(rx) if rx.has_changed().is_ok() => {
                    metric::coalesced(kind);
                    rx.clone()
                }
                _ => {
                    let (tx, rx) = watch::channel(None);
                    inflight.insert(key.clone(), rx.clone());
                    let map = Arc::clone(&self.inflight);
                    tokio::spawn(async move {
                        let result = work.await;
                        // Late joiners between these two lines see the result at once.
                        let _ = tx.send(Some(result));
                        lock(&map).remove(&key);
                    });
                    rx
                }
            }
        };
        match rx.wait_for(Option::is_some).await {
            Ok(done) => done.clone().expect("waited for Some"),
            Err(_) => Err(Fail::Unavailable("the fetch task failed".to_owned())),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The URL without credentials or query, for messages and logs.
fn redact(url: &url::Url) -> String {
    let mut url = url.clone();
    // Only fails for URLs that cannot have credentials.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_query(None);
    url.set_fragment(None);
    url.as_str().trim_end_matches('/').to_owned()
}

/// `: <first line>` of an error body, which says why (x/mod's server
/// writes "not found: …").
async fn first_line(mut resp: reqwest::Response) -> String {
    let mut body = Vec::new();
    while body.len() < 512 {
        match resp.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(512)]);
    match text.lines().map(str::trim).find(|l| !l.is_empty()) {
        Some(line) => format!(": {line}"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use axum::extract::State;
    use axum::http::{StatusCode, Uri};
    use axum::response::{IntoResponse, Response};
    use modgate_sumdb::note::{Ed25519Signer, Note};

    use super::*;
    use crate::store::DiskStore;

    const NAME: &str = "sum.example";

    fn zip_hash(module: &str) -> String {
        format!("h1:zip-of-{module}=")
    }

    fn mod_hash(module: &str) -> String {
        format!("h1:mod-of-{module}=")
    }

    /// A checksum database, answering as x/mod's sumdb server does.
    struct Db {
        signer: Ed25519Signer,
        records: Vec<String>,
        /// `<escaped path>@<escaped version>` → record id.
        ids: HashMap<String, u64>,
        hashes: Vec<Hash>,
        /// Signs trees of this size instead of the whole log: a lagging replica.
        tree_n: Option<u64>,
        /// Answers everything with 503.
        down: bool,
        /// Flips a bit in every hash tile.
        tamper: bool,
        lookups: usize,
    }

    type SharedDb = Arc<Mutex<Db>>;

    impl Db {
        fn add(&mut self, module: &str, version: &str) {
            let (zip, m) = (zip_hash(module), mod_hash(module));
            self.add_record(module, version, &zip, &m);
        }

        fn add_record(&mut self, module: &str, version: &str, zip: &str, m: &str) {
            let text = modgate_sumdb::format_sum_record(module, version, zip, m);
            let id = self.records.len() as u64;
            let new = tlog::stored_hashes(id, text.as_bytes(), self.hashes.as_slice()).unwrap();
            self.hashes.extend(new);
            let key = format!(
                "{}@{}",
                escape_path(module).unwrap(),
                escape_version(version).unwrap()
            );
            self.ids.insert(key, id);
            self.records.push(text);
        }

        fn n(&self) -> u64 {
            self.tree_n.unwrap_or(self.records.len() as u64)
        }

        fn signed(&self) -> Vec<u8> {
            let n = self.n();
            let tree = Tree {
                n,
                hash: tlog::tree_hash(n, self.hashes.as_slice()).unwrap(),
            };
            let text = tlog::format_tree(&tree);
            note::sign(
                &Note {
                    text,
                    ..Note::default()
                },
                &[&self.signer],
            )
            .unwrap()
        }

        fn tile(&self, tile: &Tile) -> Option<Vec<u8>> {
            let records = self.records.len() as u64;
            if tile.l == -1 {
                let start = tile.n << tile.h;
                let end = start + u64::from(tile.w);
                return (end <= records).then(|| {
                    (start..end)
                        .flat_map(|id| {
                            tlog::format_record(id, &self.records[id as usize])
                                .unwrap()
                                .into_bytes()
                        })
                        .collect()
                });
            }
            if !covers(records, tile) {
                return None;
            }
            let mut data = tlog::read_tile_data(tile, self.hashes.as_slice()).unwrap();
            if self.tamper {
                data[0] ^= 1;
            }
            Some(data)
        }
    }

    async fn serve(State(db): State<SharedDb>, uri: Uri) -> Response {
        let mut db = lock(&db);
        let path = uri.path();
        if db.down {
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
        if path == "/latest" {
            return db.signed().into_response();
        }
        if let Some(key) = path.strip_prefix("/lookup/") {
            db.lookups += 1;
            let Some(&id) = db.ids.get(key).filter(|&&id| id < db.n()) else {
                return (StatusCode::NOT_FOUND, format!("not found: {key}\n")).into_response();
            };
            let mut body = tlog::format_record(id, &db.records[id as usize])
                .unwrap()
                .into_bytes();
            body.extend(db.signed());
            return body.into_response();
        }
        match tlog::parse_tile_path(&path[1..]).map(|t| db.tile(&t)) {
            Ok(Some(data)) => data.into_response(),
            Ok(None) => StatusCode::NOT_FOUND.into_response(),
            Err(_) => StatusCode::BAD_REQUEST.into_response(),
        }
    }

    /// A database holding `modules` at v1.0.0, signing with `skey`, and its URL.
    async fn database(skey: &str, modules: &[&str]) -> (SharedDb, String) {
        let mut db = Db {
            signer: Ed25519Signer::new(skey).unwrap(),
            records: Vec::new(),
            ids: HashMap::new(),
            hashes: Vec::new(),
            tree_n: None,
            down: false,
            tamper: false,
            lookups: 0,
        };
        for m in modules {
            db.add(m, "v1.0.0");
        }
        let db = Arc::new(Mutex::new(db));
        let app = axum::Router::new().fallback(serve).with_state(db.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (db, url)
    }

    fn checksums(vkey: &str, url: &str, store: &Arc<dyn Store>) -> Checksums {
        let spec = SumdbSpec::Database {
            key: vkey.to_owned(),
            url: Some(url.to_owned()),
        };
        Checksums::new(&spec, store.clone(), reqwest::Client::new())
            .unwrap()
            .unwrap()
    }

    fn disk_store() -> (tempfile::TempDir, Arc<dyn Store>) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(DiskStore::open(dir.path()).unwrap());
        (dir, store)
    }

    async fn ok(sums: &Checksums, module: &str) {
        let (zip, m) = (zip_hash(module), mod_hash(module));
        sums.verify(module, "v1.0.0", Checked::Zip(&zip))
            .await
            .unwrap_or_else(|e| panic!("{module}: {e}"));
        sums.verify(module, "v1.0.0", Checked::Mod(&m))
            .await
            .unwrap_or_else(|e| panic!("{module}: {e}"));
    }

    async fn stored(store: &Arc<dyn Store>, path: &str) -> Option<Bytes> {
        let object = store.get(&Key::sumdb(NAME, path)).await.unwrap()?;
        match object.body {
            Body::Bytes(b) => Some(b),
            Body::File(_) => panic!("small files are read whole"),
        }
    }

    /// A URL nothing listens on.
    fn dead_url() -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    }

    #[tokio::test]
    async fn verifies_hashes_and_names_mismatches() {
        let (skey, vkey) = note::generate_key(NAME).unwrap();
        let (db, url) =
            database(&skey, &["example.com/a", "example.com/b", "example.com/Up"]).await;
        let (_dir, store) = disk_store();
        let sums = checksums(&vkey, &url, &store);
        assert_eq!(sums.name(), NAME);

        ok(&sums, "example.com/a").await;
        ok(&sums, "example.com/Up").await;
        // Both hashes of a version come from one lookup.
        assert_eq!(lock(&db).lookups, 2);
        assert!(
            stored(&store, "lookup/example.com/!up@v1.0.0")
                .await
                .is_some()
        );
        assert_eq!(
            stored(&store, "verified/3").await.unwrap(),
            Bytes::from(lock(&db).signed())
        );

        for (file, checked) in [
            ("zip", Checked::Zip("h1:forged=")),
            ("go.mod", Checked::Mod("h1:forged=")),
        ] {
            let err = sums
                .verify("example.com/a", "v1.0.0", checked)
                .await
                .unwrap_err();
            let VerifyError::Mismatch { file: f, .. } = &err else {
                panic!("{err}");
            };
            assert_eq!(*f, file);
            let msg = err.to_string();
            let expected = match file {
                "zip" => zip_hash("example.com/a"),
                _ => mod_hash("example.com/a"),
            };
            for part in ["example.com/a@v1.0.0", file, "h1:forged=", &expected, NAME] {
                assert!(msg.contains(part), "{part:?} not in {msg}");
            }
        }

        let err = sums
            .verify("example.com/missing", "v1.0.0", Checked::Zip("h1:x="))
            .await
            .unwrap_err();
        assert!(matches!(err, VerifyError::NotFound(_)), "{err}");
        assert!(err.to_string().contains("not found"), "{err}");
        assert!(
            stored(&store, "lookup/example.com/missing@v1.0.0")
                .await
                .is_none()
        );
    }

    #[tokio::test]
    async fn proves_a_growing_tree_and_older_trees() {
        let (skey, vkey) = note::generate_key(NAME).unwrap();
        let (db, url) = database(&skey, &["example.com/a", "example.com/b", "example.com/c"]).await;
        let (_dir, store) = disk_store();
        let sums = checksums(&vkey, &url, &store);
        ok(&sums, "example.com/a").await;

        // Past a full tile at level 0 and into level 1.
        for i in 0..300 {
            lock(&db).add(&format!("example.com/m{i}"), "v1.0.0");
        }
        ok(&sums, "example.com/m150").await;
        assert!(stored(&store, "verified/303").await.is_some());
        assert!(stored(&store, "tile/8/0/000").await.is_some());

        // A restarted modgate asking a lagging replica: its older tree must be
        // a prefix of the newest verified one.
        lock(&db).tree_n = Some(3);
        let sums = checksums(&vkey, &url, &store);
        ok(&sums, "example.com/b").await;
        assert_eq!(lock(&sums.inner.head).as_ref().unwrap().tree.n, 303);
    }

    #[tokio::test]
    async fn forked_or_tampered_logs_are_corrupt() {
        let (skey, vkey) = note::generate_key(NAME).unwrap();
        let modules = ["example.com/a", "example.com/b", "example.com/c"];
        let (_db, url) = database(&skey, &modules).await;
        let (_dir, store) = disk_store();
        ok(&checksums(&vkey, &url, &store), "example.com/a").await;

        // The same size, another b: a fork. So is a longer log without our tree.
        let (fork, fork_url) = database(&skey, &[]).await;
        lock(&fork).add("example.com/a", "v1.0.0");
        lock(&fork).add_record("example.com/b", "v1.0.0", "h1:other=", "h1:other=");
        lock(&fork).add("example.com/c", "v1.0.0");
        let sums = checksums(&vkey, &fork_url, &store);
        for n in [3, 4] {
            lock(&fork).tree_n = Some(n);
            if n == 4 {
                lock(&fork).add("example.com/d", "v1.0.0");
            }
            let err = sums
                .verify(
                    "example.com/c",
                    "v1.0.0",
                    Checked::Zip(&zip_hash("example.com/c")),
                )
                .await
                .unwrap_err();
            assert!(matches!(err, VerifyError::Corrupt(_)), "{err}");
            assert!(err.to_string().contains("forked or corrupt"), "{err}");
        }
        assert!(
            stored(&store, "lookup/example.com/c@v1.0.0")
                .await
                .is_none()
        );
        assert_eq!(lock(&sums.inner.head).as_ref().unwrap().tree.n, 3);
        let err = sums
            .answer("lookup/example.com/c@v1.0.0")
            .await
            .unwrap_err();
        assert!(matches!(err, SumdbError::Unavailable(_)), "{err}");

        // Tiles that do not hash up to the signed tree.
        let (db, url) = database(&skey, &modules).await;
        lock(&db).tamper = true;
        let (_dir, store) = disk_store();
        let err = checksums(&vkey, &url, &store)
            .verify(
                "example.com/b",
                "v1.0.0",
                Checked::Zip(&zip_hash("example.com/b")),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, VerifyError::Corrupt(_)), "{err}");
        assert!(stored(&store, "tile/8/0/000.p/3").await.is_none());

        // A signature by another key.
        let (other_skey, _) = note::generate_key(NAME).unwrap();
        let (_db, url) = database(&other_skey, &modules).await;
        let err = checksums(&vkey, &url, &store)
            .verify(
                "example.com/b",
                "v1.0.0",
                Checked::Zip(&zip_hash("example.com/b")),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, VerifyError::Corrupt(_)), "{err}");
    }

    #[tokio::test]
    async fn a_database_outage_is_served_from_the_store() {
        let (skey, vkey) = note::generate_key(NAME).unwrap();
        let (db, url) = database(&skey, &["example.com/a", "example.com/b"]).await;
        let (_dir, store) = disk_store();
        let sums = checksums(&vkey, &url, &store);
        ok(&sums, "example.com/a").await;
        let latest = sums.answer("latest").await.unwrap();
        assert!(!latest.immutable);
        assert_eq!(latest.body, Bytes::from(lock(&db).signed()));

        lock(&db).down = true;
        ok(&sums, "example.com/a").await;
        let err = sums
            .verify(
                "example.com/b",
                "v1.0.0",
                Checked::Zip(&zip_hash("example.com/b")),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, VerifyError::Unavailable(_)), "{err}");
        let lookup = sums.answer("lookup/example.com/a@v1.0.0").await.unwrap();
        assert!(lookup.immutable);
        assert!(lookup.body.starts_with(b"0\nexample.com/a v1.0.0 "));
        let tile = sums.answer("tile/8/0/000.p/2").await.unwrap();
        assert_eq!(tile.body.len(), 2 * HASH_SIZE);
        let err = sums
            .answer("lookup/example.com/b@v1.0.0")
            .await
            .unwrap_err();
        assert!(matches!(err, SumdbError::Unavailable(_)), "{err}");
        // Past its time to live, the last latest is better than none.
        *lock(&sums.inner.latest) = Some((Instant::now() - LATEST_TTL, latest.body.clone()));
        assert_eq!(sums.answer("latest").await.unwrap().body, latest.body);

        // Restarted, with the database gone altogether.
        let sums = checksums(&vkey, &dead_url(), &store);
        ok(&sums, "example.com/a").await;
        assert_eq!(sums.answer("latest").await.unwrap().body, latest.body);
        assert_eq!(
            sums.answer("tile/8/0/000.p/2").await.unwrap().body,
            tile.body
        );
        // Cut from the stored, proven tile.
        let narrower = sums.answer("tile/8/0/000.p/1").await.unwrap();
        assert_eq!(narrower.body, tile.body.slice(..HASH_SIZE));
        let err = sums.answer("tile/8/data/000.p/2").await.unwrap_err();
        assert!(matches!(err, SumdbError::Unavailable(_)), "{err}");
    }

    #[tokio::test]
    async fn answers_are_proven_before_they_are_stored() {
        let (skey, vkey) = note::generate_key(NAME).unwrap();
        let (db, url) = database(&skey, &["example.com/a", "example.com/b", "example.com/c"]).await;
        let (_dir, store) = disk_store();
        let sums = checksums(&vkey, &url, &store);

        let lookup = sums.answer("lookup/example.com/b@v1.0.0").await.unwrap();
        let mut want = tlog::format_record(1, &lock(&db).records[1])
            .unwrap()
            .into_bytes();
        want.extend(lock(&db).signed());
        assert_eq!(lookup.body, Bytes::from(want));
        assert!(lookup.immutable);
        assert_eq!(
            stored(&store, "lookup/example.com/b@v1.0.0").await.unwrap(),
            lookup.body
        );
        let err = sums
            .answer("lookup/example.com/z@v1.0.0")
            .await
            .unwrap_err();
        assert!(matches!(err, SumdbError::NotFound(_)), "{err}");

        // Inside the verified tree: proven and stored.
        let tile = sums.answer("tile/8/0/000.p/2").await.unwrap();
        let want = tlog::read_tile_data(
            &tlog::parse_tile_path("tile/8/0/000.p/2").unwrap(),
            lock(&db).hashes.as_slice(),
        )
        .unwrap();
        assert_eq!(tile.body, want);
        assert!(stored(&store, "tile/8/0/000.p/2").await.is_some());

        // Beyond it: served as the database sent it, not stored.
        lock(&db).add("example.com/d", "v1.0.0");
        let tile = sums.answer("tile/8/0/000.p/4").await.unwrap();
        assert_eq!(tile.body.len(), 4 * HASH_SIZE);
        assert!(stored(&store, "tile/8/0/000.p/4").await.is_none());
        let err = sums.answer("tile/8/0/000.p/5").await.unwrap_err();
        assert!(matches!(err, SumdbError::NotFound(_)), "{err}");

        let data = sums.answer("tile/8/data/000.p/3").await.unwrap();
        assert!(data.body.starts_with(b"0\nexample.com/a v1.0.0 "));
        assert!(stored(&store, "tile/8/data/000.p/3").await.is_some());

        let latest = sums.answer("latest").await.unwrap();
        assert_eq!(latest.body, Bytes::from(lock(&db).signed()));
    }

    #[tokio::test]
    async fn concurrent_lookups_share_one_fetch() {
        let (skey, vkey) = note::generate_key(NAME).unwrap();
        let (db, url) = database(&skey, &["example.com/a", "example.com/b"]).await;
        let (_dir, store) = disk_store();
        let sums = Arc::new(checksums(&vkey, &url, &store));
        let mut waiters = Vec::new();
        for _ in 0..8 {
            let sums = sums.clone();
            waiters.push(tokio::spawn(
                async move { ok(&sums, "example.com/b").await },
            ));
        }
        let answer = {
            let sums = sums.clone();
            tokio::spawn(async move { sums.answer("lookup/example.com/b@v1.0.0").await })
        };
        for w in waiters {
            w.await.unwrap();
        }
        assert!(answer.await.unwrap().unwrap().immutable);
        assert_eq!(lock(&db).lookups, 1);
    }

    #[tokio::test]
    async fn rejects_bad_paths_and_settings() {
        let (_, vkey) = note::generate_key(NAME).unwrap();
        let (_dir, store) = disk_store();
        let sums = checksums(&vkey, &dead_url(), &store);
        for path in [
            "",
            "/latest",
            "latest/",
            "supported",
            "lookup/",
            "lookup/example.com/a",
            "lookup/example.com/a@",
            "lookup/example.com/a@v1.0",
            "lookup/example.com/a@latest",
            "lookup/example.com/a@v1.0.0@v1.0.0",
            "lookup/Example.com/a@v1.0.0",
            "lookup/example.com/a@v1.0.0-RC1",
            "lookup/example.com/a/v2@v1.0.0",
            "lookup/example.com/a@v1.0.0+incompatible",
            "lookup/../a@v1.0.0",
            "lookup/example.com/../a@v1.0.0",
            "tile/8/0/0000",
            "tile/8/0/x001",
            "tile/8/0/001/002",
            "tile/8/0/000.p/0",
            "tile/8/0/000.p/256",
            "tile/31/0/000",
            "tile/8//000",
            "tile/8/0/../000",
            "tile/8/-1/000",
        ] {
            match sums.answer(path).await {
                Err(SumdbError::BadRequest(_)) => {}
                other => panic!("{path:?}: {other:?}"),
            }
        }

        let spec = |key: &str, url: Option<&str>| SumdbSpec::Database {
            key: key.to_owned(),
            url: url.map(str::to_owned),
        };
        let new = |spec| Checksums::new(&spec, store.clone(), reqwest::Client::new());
        assert!(new(SumdbSpec::Off).unwrap().is_none());
        let (_, dots) = note::generate_key("a/../b").unwrap();
        for bad in [
            spec("sum.example+00000000+AAAA", None),
            spec(&dots, None),
            spec(&vkey, Some("ftp://sum.example")),
            spec(&vkey, Some("https://sum.example/?key=secret")),
            spec(&vkey, Some("not a url")),
        ] {
            let Err(SumdbError::BadRequest(msg)) = new(bad.clone()) else {
                panic!("{bad:?} accepted");
            };
            assert!(!msg.contains("secret"), "{msg}");
        }
        let sums = new(spec(&vkey, Some("https://user:secret@sum.example/db/")))
            .unwrap()
            .unwrap();
        assert_eq!(sums.inner.shown, "https://sum.example/db");
    }
}
