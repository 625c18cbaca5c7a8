//! modgate's own checksum database: a transparency log in the format of
//! sum.golang.org (golang.org/x/mod/sumdb), signed with modgate's key, for
//! the modules no public database knows.
//!
//! The log lives in the store and is append-only: record `id` is the
//! immutable object `sumdb/<name>/log/record/<id>`, the signed head of the
//! tree of `N` records `sumdb/<name>/log/tree/<N>`. Clients remember tree
//! heads and check each new one against the old, so the log must never be
//! rewritten: a restart recomputes the tree from the records and refuses a
//! store whose records do not hash to the newest signed head.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::Path;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use bytes::Bytes;
use fs_err::os::unix::fs::OpenOptionsExt as _;
use futures::{StreamExt as _, TryStreamExt as _};
use modgate_redact::Chain;
use modgate_sumdb::SumdbPath;
use modgate_sumdb::note::{self, Ed25519Signer, Ed25519Verifier, Note, Signer as _, VerifierList};
use modgate_sumdb::tlog::{self, Hash, Tile, Tree};
use modgate_sumdb::{format_sum_record, parse_sum_record};

use async_trait::async_trait;

use crate::metric;
use crate::{Database, SumdbAnswer, SumdbError};
use modgate_store::{Key, Store, StoreError};

/// The tile height the go command reads (sum.golang.org's).
const TILE_HEIGHT: u32 = 8;
/// Records read at once when reopening a log.
const OPEN_READS: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum PrivateError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Key(String),
    #[error("checksum database storage: {key}")]
    Store {
        key: String,
        #[source]
        source: StoreError,
    },
    /// The task appending a record died.
    #[error("checksum database append failed")]
    Append(#[source] tokio::task::JoinError),
    #[error("checksum database log is corrupt: {0}")]
    Corrupt(String),
    /// Another writer replaced what this replica wrote: it appends no more.
    #[error("checksum database log forked, appending stopped: {0}")]
    Forked(String),
}

/// `modgate sumdb keygen`: writes the signer key to `out` (mode 0600,
/// refusing to overwrite an existing file) and returns the verifier key
/// `NAME+hash+key`.
pub fn keygen(name: &str, out: &Path) -> Result<String, PrivateError> {
    check_name(name)?;
    let (skey, vkey) = note::generate_key(name).map_err(|e| PrivateError::Key(e.to_string()))?;
    let mut file = fs_err::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(out)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => PrivateError::Key(format!(
                "{} already exists: not overwriting it (a new key starts a new database)",
                out.display()
            )),
            _ => PrivateError::Key(e.to_string()),
        })?;
    let written = file
        .write_all(format!("{skey}\n").as_bytes())
        .and_then(|()| file.sync_all());
    if let Err(e) = written {
        // A partial key would make the next keygen refuse to run.
        let _ = fs_err::remove_file(out);
        return Err(PrivateError::Key(e.to_string()));
    }
    Ok(vkey)
}

/// The name is a key name, a store directory and part of URLs: keep it to
/// host-and-path characters, without empty, `.` or `..` elements.
fn check_name(name: &str) -> Result<(), PrivateError> {
    let element_ok = |e: &str| {
        !e.is_empty()
            && e != "."
            && e != ".."
            && e.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
    };
    if name.split('/').all(element_ok) {
        Ok(())
    } else {
        Err(PrivateError::Key(format!(
            "invalid checksum database name {name:?}: want a host name and path, such as sumdb.example.com"
        )))
    }
}

/// Reads a signer key file; no error quotes the key.
fn read_signer(key_file: &Path) -> Result<Ed25519Signer, PrivateError> {
    let text = match fs_err::read_to_string(key_file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(PrivateError::Key(format!(
                "signer key file {} does not exist: create one with `modgate sumdb keygen`",
                key_file.display()
            )));
        }
        Err(e) => return Err(PrivateError::Key(format!("reading the signer key: {e}"))),
    };
    let signer = Ed25519Signer::new(text.trim()).map_err(|e| {
        PrivateError::Key(format!(
            "{} is not a signer key ({e}): want the one line PRIVATE+KEY+name+hash+key that `modgate sumdb keygen` writes",
            key_file.display()
        ))
    })?;
    check_name(signer.name())?;
    Ok(signer)
}

/// modgate's own checksum database: a transparency log in Go's format.
pub struct PrivateLog {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    signer: Ed25519Signer,
    store: Arc<dyn Store>,
    /// Held by the append under way.
    append: tokio::sync::Mutex<()>,
    state: RwLock<State>,
    /// The records and heads this replica stored in the last
    /// [`FORK_WATCH`], each checked again on every refresh.
    written: std::sync::Mutex<Vec<Written>>,
    /// Why the log is known to have forked: then nothing more is appended,
    /// and what was verified is still served.
    forked: std::sync::Mutex<Option<String>>,
}

/// How long a replica keeps checking what it stored. Another replica that
/// has not yet read a record may write the same index until its refresh
/// comes round, or its slow write to the store lands: two minutes cover
/// both with room to spare (the S3 store gives up on a request in 75 s).
const FORK_WATCH: std::time::Duration = std::time::Duration::from_secs(120);

/// An object of the log this replica stored: what the store must still hold.
struct Written {
    key: Key,
    bytes: Bytes,
    at: std::time::Instant,
    /// Names it in the reason a fork is reported with.
    what: String,
}

/// How often a replica reads the records other replicas appended.
const REFRESH_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// The log in memory. Only appends change it, under `Inner::append`.
/// Readers see the records of the signed tree only, so a record whose head
/// is not signed and stored yet stays invisible.
struct State {
    /// Record texts, by id.
    records: Vec<String>,
    /// The stored hashes of all the records, by `tlog::stored_hash_index`.
    hashes: Vec<Hash>,
    /// `module@version` → id.
    index: HashMap<String, u64>,
    /// The newest signed and stored tree head, and its note (empty until
    /// the first is signed).
    tree: Tree,
    signed: Bytes,
    /// When that head was stored, if the store says.
    signed_at: Option<std::time::SystemTime>,
}

impl PrivateLog {
    /// Reads the signer key file (`PRIVATE+KEY+name+hash+…`) and reopens the
    /// log from `store`.
    pub async fn open(key_file: &Path, store: Arc<dyn Store>) -> Result<PrivateLog, PrivateError> {
        let signer = read_signer(key_file)?;
        let name = signer.name().to_owned();
        let verifier = Ed25519Verifier::new(&signer.verifier_key())
            .map_err(|e| PrivateError::Key(format!("the signer key's verifier: {e}")))?;
        probe_create_only(&name, store.as_ref()).await?;
        let state = load(&name, &VerifierList::new([verifier]), store.as_ref()).await?;
        let unsigned = state.signed.is_empty() || state.tree.n < state.records.len() as u64;
        let log = PrivateLog {
            inner: Arc::new(Inner {
                name,
                signer,
                store,
                append: tokio::sync::Mutex::new(()),
                state: RwLock::new(state),
                written: std::sync::Mutex::default(),
                forked: std::sync::Mutex::default(),
            }),
        };
        if unsigned {
            // A new log, or a crash between storing a record and its head.
            log.inner.sign_head().await?;
        }
        metric::sumdb_private_records(log.size());
        Ok(log)
    }

    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Takes in, every [`REFRESH_EVERY`], what other replicas sharing the
    /// storage appended: they see each other's records within that bound
    /// (sooner for a lookup of a version they store, which appends it).
    pub async fn watch(&self) {
        let mut tick = tokio::time::interval(REFRESH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = self.inner.refresh().await {
                tracing::error!(error = %Chain(&e), "checksum database: reading other replicas' records");
            }
        }
    }

    pub fn verifier_key(&self) -> String {
        self.inner.signer.verifier_key()
    }

    /// Appends the record `"M V h1:zip\nM V/go.mod h1:mod\n"` unless M@V is
    /// there. There with the same hashes: Ok; with others: `Conflict`, as the
    /// log is never rewritten. Returns once the record and a signed tree head
    /// covering it are stored.
    pub async fn add(
        &self,
        module: &str,
        version: &str,
        zip_h1: &str,
        mod_h1: &str,
    ) -> Result<(), PrivateError> {
        modgate_module::check(module, version)
            .map_err(|e| PrivateError::BadRequest(e.to_string()))?;
        for h in [zip_h1, mod_h1] {
            if !is_h1(h) {
                return Err(PrivateError::BadRequest(format!(
                    "{module}@{version}: malformed hash {h:?}: want h1: and base64 of 32 bytes"
                )));
            }
        }
        let text = format_sum_record(module, version, zip_h1, mod_h1);
        let key = index_key(module, version);
        let inner = Arc::clone(&self.inner);
        // A task of its own, so that a caller giving up (a client hanging up)
        // cannot stop an append between its record and its head.
        tokio::spawn(async move { inner.add(key, text).await })
            .await
            .map_err(PrivateError::Append)?
    }

    /// Whether M@V is in the log.
    pub fn contains(&self, module: &str, version: &str) -> bool {
        let st = self.inner.read();
        st.index
            .get(&index_key(module, version))
            .is_some_and(|&id| id < st.tree.n)
    }

    /// M@V's record (its zip's and go.mod's hashes), if it is in the log.
    pub fn recorded(&self, module: &str, version: &str) -> Option<modgate_sumdb::SumRecord> {
        let st = self.inner.read();
        let id = *st.index.get(&index_key(module, version))?;
        (id < st.tree.n)
            .then(|| parse_sum_record(&st.records[id as usize]).ok())
            .flatten()
    }

    /// Records in the log (its signed tree).
    pub fn size(&self) -> u64 {
        self.inner.read().tree.n
    }

    /// When the newest signed tree head was stored, if known.
    pub fn signed_at(&self) -> Option<std::time::SystemTime> {
        self.inner.read().signed_at
    }

    /// Why the log stopped appending, if it found its storage forked.
    pub fn forked(&self) -> Option<String> {
        crate::lock(&self.inner.forked).clone()
    }
}

#[async_trait]
impl Database for PrivateLog {
    fn name(&self) -> &str {
        PrivateLog::name(self)
    }

    /// Lookups and tiles of height 8; only full tiles are immutable.
    async fn answer(&self, path: &SumdbPath) -> Result<SumdbAnswer, SumdbError> {
        let answer = || {
            let st = self.inner.read();
            match path {
                SumdbPath::Latest | SumdbPath::Supported => Ok((st.signed.clone(), false)),
                SumdbPath::Lookup { module, version } => Ok((st.lookup(module, version)?, false)),
                SumdbPath::Tile(t) => st.tile(t),
            }
        };
        let (body, immutable) = match answer() {
            // A client that saw a newer tree through another replica asks
            // for tiles this one has not read yet: read them, then answer.
            Err(PrivateError::NotFound(_)) if matches!(path, SumdbPath::Tile(_)) => {
                self.inner.refresh().await?;
                answer()?
            }
            other => other?,
        };
        Ok(SumdbAnswer { body, immutable })
    }
}

impl From<PrivateError> for SumdbError {
    fn from(e: PrivateError) -> Self {
        match e {
            PrivateError::NotFound(m) => SumdbError::NotFound(m),
            PrivateError::BadRequest(m) => SumdbError::BadRequest(m),
            other => SumdbError::Internal(Chain(&other).to_string()),
        }
    }
}

impl Inner {
    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    async fn add(&self, key: String, text: String) -> Result<(), PrivateError> {
        let _append = self.append.lock().await;
        if let Some(why) = crate::lock(&self.forked).clone() {
            return Err(PrivateError::Forked(why));
        }
        let existing = {
            let st = self.read();
            st.index
                .get(&key)
                .map(|&id| (id, st.records[id as usize].clone(), st.tree.n))
        };
        if let Some((id, have, signed)) = existing {
            if have != text {
                return Err(conflict(&self.name, &key, &have));
            }
            if id >= signed {
                // Stored by an add that failed to store its head: finish it.
                self.sign_head().await?;
            }
            return Ok(());
        }
        loop {
            let id = self.read().records.len() as u64;
            let record = record_key(&self.name, id)?;
            if self.put_or_read(&record, Bytes::from(text.clone())).await? == text.as_bytes() {
                self.wrote(record, Bytes::from(text.clone()), format!("record {id}"));
                self.write().append(key, text)?;
                return self.sign_head().await;
            }
            // Another replica on this storage took the index: read what it
            // appended, then this record is there already or goes next.
            self.catch_up().await?;
            let existing = {
                let st = self.read();
                st.index
                    .get(&key)
                    .map(|&id| st.records[id as usize].clone())
            };
            if let Some(have) = existing {
                if have != text {
                    return Err(conflict(&self.name, &key, &have));
                }
                return self.sign_head().await;
            }
        }
    }

    /// Appends the records other replicas stored beyond this one's, checked
    /// as at start; true if there were any. Under `append`.
    async fn catch_up(&self) -> Result<bool, PrivateError> {
        let mut id = self.read().records.len() as u64;
        let start = id;
        while let Some(data) = read_small(self.store.as_ref(), &record_key(&self.name, id)?).await?
        {
            let (key, text) = parse_record(id, &data)?;
            let mut st = self.write();
            if let Some(first) = st.index.get(&key) {
                return Err(PrivateError::Corrupt(format!(
                    "records {first} and {id} are both for {key}"
                )));
            }
            st.append(key, text)?;
            id += 1;
        }
        Ok(id > start)
    }

    /// Takes in what other replicas appended, and signs (or finds signed:
    /// heads are deterministic) the head covering it.
    async fn refresh(&self) -> Result<(), PrivateError> {
        let _append = self.append.lock().await;
        if crate::lock(&self.forked).is_some() {
            return Ok(());
        }
        if let Some(why) = self.check_fork().await? {
            self.forked(why);
            return Ok(());
        }
        if self.catch_up().await? {
            self.sign_head().await?;
        }
        Ok(())
    }

    /// Stops appending for good: the log in storage is not the one this
    /// replica signed. Logged and counted once.
    fn forked(&self, why: String) -> PrivateError {
        let mut forked = crate::lock(&self.forked);
        if forked.is_none() {
            tracing::error!(
                reason = %why,
                "checksum database log FORKED: another writer replaced what this replica stored \
                 (does the storage ignore create-only writes?); appending stopped, serving the verified log"
            );
            metric::sumdb_private_fork();
            *forked = Some(why.clone());
        }
        PrivateError::Forked(why)
    }

    /// Whether what this replica stored is still what the store holds: the
    /// records it wrote since the last check, and the head it serves. A
    /// store that stops honouring create-only writes lets another replica
    /// replace them, and the two then serve different logs. Under `append`.
    async fn check_fork(&self) -> Result<Option<String>, PrivateError> {
        let recent: Vec<_> = {
            let mut written = crate::lock(&self.written);
            written.retain(|w| w.at.elapsed() < FORK_WATCH);
            written
                .iter()
                .map(|w| (w.key.clone(), w.bytes.clone(), w.what.clone()))
                .collect()
        };
        for (key, bytes, what) in recent {
            let stored = read_small(self.store.as_ref(), &key).await?;
            if stored.as_ref() != Some(&bytes) {
                return Ok(Some(format!(
                    "{what}, stored by this replica, was replaced"
                )));
            }
        }
        let (n, signed) = {
            let st = self.read();
            (st.tree.n, st.signed.clone())
        };
        if signed.is_empty() {
            return Ok(None);
        }
        let key = tree_key(&self.name, n)?;
        let stored = read_small(self.store.as_ref(), &key).await?;
        if stored.as_deref() != Some(&signed[..]) {
            return Ok(Some(format!(
                "the signed head of the tree of {n} records was replaced by another one of the same size"
            )));
        }
        Ok(None)
    }

    /// Keeps checking, for [`FORK_WATCH`], that the store holds `bytes` at `key`.
    fn wrote(&self, key: Key, bytes: Bytes, what: String) {
        crate::lock(&self.written).push(Written {
            key,
            bytes,
            at: std::time::Instant::now(),
            what,
        });
    }

    /// Signs and stores the head of the tree of all the records, then serves it.
    async fn sign_head(&self) -> Result<(), PrivateError> {
        let tree = {
            let st = self.read();
            let n = st.records.len() as u64;
            let hash = tlog::tree_hash(n, st.hashes.as_slice()).map_err(internal)?;
            Tree { n, hash }
        };
        let note = Note {
            text: tlog::format_tree(&tree),
            ..Note::default()
        };
        let signed = note::sign(&note, &[&self.signer])
            .map_err(|e| PrivateError::Key(format!("signing the tree head: {e}")))?;
        let signed = Bytes::from(signed);
        let key = tree_key(&self.name, tree.n)?;
        self.put_once(&key, signed.clone()).await?;
        self.wrote(
            key,
            signed.clone(),
            format!("the signed head of the tree of {} records", tree.n),
        );
        let mut st = self.write();
        st.tree = tree;
        st.signed = signed;
        st.signed_at = Some(std::time::SystemTime::now());
        metric::sumdb_private_records(tree.n);
        Ok(())
    }

    /// Stores an object of the log, and makes sure the store holds these very
    /// bytes: `put` keeps whatever is there, and something else there means
    /// another writer has forked the log. (Signatures are deterministic, so a
    /// head signed again is the same bytes.)
    async fn put_once(&self, key: &Key, data: Bytes) -> Result<(), PrivateError> {
        if self.put_or_read(key, data.clone()).await? == data {
            Ok(())
        } else {
            Err(self.forked(format!(
                "{key} already holds another head of that size: another writer's log (with \
                 another key, or on storage that replaced a record) has forked from this one"
            )))
        }
    }

    /// Stores `data` under `key` unless something is there (the store's
    /// writes are create-only), and returns what the store holds now.
    async fn put_or_read(&self, key: &Key, data: Bytes) -> Result<Bytes, PrivateError> {
        self.store
            .put(key, data)
            .await
            .map_err(|e| store_error(key, e))?;
        // The log is the truth: nothing of it may be forgotten once served.
        self.store
            .sync(key)
            .await
            .map_err(|e| store_error(key, e))?;
        read_small(self.store.as_ref(), key)
            .await?
            .ok_or_else(|| PrivateError::Corrupt(format!("{key} missing right after storing it")))
    }
}

impl State {
    fn append(&mut self, key: String, text: String) -> Result<(), PrivateError> {
        let id = self.records.len() as u64;
        let new =
            tlog::stored_hashes(id, text.as_bytes(), self.hashes.as_slice()).map_err(internal)?;
        self.hashes.extend(new);
        self.index.insert(key, id);
        self.records.push(text);
        Ok(())
    }

    /// The answer to a lookup, as x/mod's server writes it: the record,
    /// then the signed tree head.
    fn lookup(&self, module: &str, version: &str) -> Result<Bytes, PrivateError> {
        let id = self
            .index
            .get(&index_key(module, version))
            .copied()
            .filter(|&id| id < self.tree.n)
            .ok_or_else(|| {
                PrivateError::NotFound(format!("{module}@{version}: not in the checksum database"))
            })?;
        let record = tlog::format_record(id, &self.records[id as usize]).map_err(internal)?;
        Ok([record.as_bytes(), &self.signed].concat().into())
    }

    /// A hash or data tile of the signed tree, and whether it is immutable.
    fn tile(&self, t: &Tile) -> Result<(Bytes, bool), PrivateError> {
        let path = &t.path();
        if t.h != TILE_HEIGHT {
            return Err(PrivateError::NotFound(format!(
                "{path}: only tiles of height {TILE_HEIGHT} are served"
            )));
        }
        // The tile holds entries start..end of its level: hashes of the
        // tree level h*l, or records for data tiles (l = -1).
        let level = u32::try_from(t.l).map_or(0, |l| l * t.h);
        let in_tree = self.tree.n.checked_shr(level).unwrap_or(0);
        let start = t.n.checked_mul(1 << t.h);
        let Some((start, end)) = start.and_then(|s| Some((s, s.checked_add(t.w.into())?))) else {
            return Err(beyond(path, self.tree.n));
        };
        if end > in_tree {
            return Err(beyond(path, self.tree.n));
        }
        let data = if t.l < 0 {
            (start..end)
                .map(|id| tlog::format_record(id, &self.records[id as usize]))
                .collect::<Result<String, _>>()
                .map_err(internal)?
                .into_bytes()
        } else {
            tlog::read_tile_data(t, self.hashes.as_slice()).map_err(internal)?
        };
        // Servers may drop a partial tile once it is complete (clients then
        // read the full one), so only full tiles are final.
        Ok((data.into(), t.w == 1 << t.h))
    }
}

fn beyond(path: &str, n: u64) -> PrivateError {
    PrivateError::NotFound(format!("{path}: beyond the tree of {n} records"))
}

/// `h1:` and the base64 of a SHA-256 hash, which is what go.sum holds.
fn is_h1(h: &str) -> bool {
    h.strip_prefix("h1:").is_some_and(|b64| {
        b64.len() == 44
            && b64
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
            && b64.parse::<Hash>().is_ok()
    })
}

fn index_key(module: &str, version: &str) -> String {
    format!("{module}@{version}")
}

fn record_key(name: &str, id: u64) -> Result<Key, PrivateError> {
    log_key(name, &format!("log/record/{id}"))
}

fn tree_key(name: &str, n: u64) -> Result<Key, PrivateError> {
    log_key(name, &format!("log/tree/{n}"))
}

/// A key of the log; the name was checked when the key file was read.
fn log_key(name: &str, path: &str) -> Result<Key, PrivateError> {
    Key::sumdb(name, path).map_err(|e| PrivateError::Key(e.to_string()))
}

fn conflict(name: &str, key: &str, have: &str) -> PrivateError {
    let hashes = parse_sum_record(have)
        .map(|r| format!(" ({} and go.mod {})", r.zip_hash, r.mod_hash))
        .unwrap_or_default();
    PrivateError::Conflict(format!(
        "{key} is in checksum database {name} with other hashes{hashes}; its log is append-only, so they stay"
    ))
}

fn store_error(key: &Key, source: StoreError) -> PrivateError {
    PrivateError::Store {
        key: key.to_string(),
        source,
    }
}

/// A tlog error on the log's own hashes: a bug rather than bad input.
fn internal(e: modgate_sumdb::Error) -> PrivateError {
    PrivateError::Corrupt(e.to_string())
}

async fn read_small(store: &dyn Store, key: &Key) -> Result<Option<Bytes>, PrivateError> {
    store.read_small(key).await.map_err(|e| store_error(key, e))
}

/// The ids under `dir`, sorted; any other name is not the log's.
async fn list_ids(store: &dyn Store, dir: &Key) -> Result<Vec<u64>, PrivateError> {
    let names = store.list(dir).await.map_err(|e| store_error(dir, e))?;
    let mut ids = names
        .iter()
        .map(|name| {
            name.parse::<u64>()
                .ok()
                .filter(|id| id.to_string() == *name)
                .ok_or_else(|| PrivateError::Corrupt(format!("unexpected file {dir}/{name}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    ids.sort_unstable();
    Ok(ids)
}

/// Reads the log from the store and checks it against its newest head.
/// A stored record: exactly what `add` writes, or not modgate's. Its index
/// key and text.
/// Replicas keep one linear log only on a store whose writes never
/// replace: checked once at start, on a key of its own.
async fn probe_create_only(name: &str, store: &dyn Store) -> Result<(), PrivateError> {
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce).map_err(|e| PrivateError::Key(format!("no randomness: {e}")))?;
    let hex: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
    let key = log_key(name, &format!("probe/{hex}"))?;
    for data in [&b"first"[..], &b"second"[..]] {
        store
            .put(&key, Bytes::from_static(data))
            .await
            .map_err(|e| store_error(&key, e))?;
    }
    match read_small(store, &key).await?.as_deref() {
        Some(b"first") => Ok(()),
        _ => Err(PrivateError::Corrupt(
            "this storage replaces objects on write, so replicas could fork the log: modgate's checksum database cannot run on it".to_owned(),
        )),
    }
}

fn parse_record(id: u64, data: &[u8]) -> Result<(String, String), PrivateError> {
    let record = std::str::from_utf8(data)
        .ok()
        .and_then(|text| Some((text, parse_sum_record(text).ok()?)))
        .filter(|(text, r)| {
            format_sum_record(&r.module, &r.version, &r.zip_hash, &r.mod_hash) == *text
        });
    match record {
        Some((text, r)) => Ok((index_key(&r.module, &r.version), text.to_owned())),
        None => Err(PrivateError::Corrupt(format!(
            "record {id} is not a module's go.sum lines"
        ))),
    }
}

async fn load(
    name: &str,
    verifier: &VerifierList<Ed25519Verifier>,
    store: &dyn Store,
) -> Result<State, PrivateError> {
    // Heads first: a head is stored only after its records, so every
    // record a listed head covers is listed below, even while other
    // replicas append (records listed first could miss those of a head
    // signed in between).
    let heads = list_ids(store, &log_key(name, "log/tree")?).await?;
    let ids = list_ids(store, &log_key(name, "log/record")?).await?;
    if let Some((missing, _)) = ids.iter().enumerate().find(|&(i, &id)| i as u64 != id) {
        return Err(PrivateError::Corrupt(format!(
            "record {missing} is missing (records up to {} are stored)",
            ids[ids.len() - 1]
        )));
    }
    let texts: Vec<Bytes> = futures::stream::iter(ids)
        .map(|id| async move {
            let key = record_key(name, id)?;
            read_small(store, &key)
                .await?
                .ok_or_else(|| PrivateError::Corrupt(format!("{key} vanished")))
        })
        .buffered(OPEN_READS)
        .try_collect()
        .await?;
    let mut state = State {
        records: Vec::with_capacity(texts.len()),
        hashes: Vec::new(),
        index: HashMap::with_capacity(texts.len()),
        tree: Tree::default(),
        signed: Bytes::new(),
        signed_at: None,
    };
    for (id, data) in texts.iter().enumerate() {
        let (key, text) = parse_record(id as u64, data)?;
        if let Some(first) = state.index.get(&key) {
            return Err(PrivateError::Corrupt(format!(
                "records {first} and {id} are both for {key}"
            )));
        }
        state.append(key, text)?;
    }

    let Some(&n) = heads.last() else {
        return Ok(state);
    };
    let key = tree_key(name, n)?;
    let signed = read_small(store, &key)
        .await?
        .ok_or_else(|| PrivateError::Corrupt(format!("{key} vanished")))?;
    let tree = note::open(&signed, verifier)
        .ok()
        .and_then(|note| tlog::parse_tree(&note.text).ok())
        .ok_or_else(|| {
            PrivateError::Corrupt(format!(
                "{key} is not a tree head signed by this key (was the signer key replaced?)"
            ))
        })?;
    let stored = state.records.len() as u64;
    if tree.n != n {
        return Err(PrivateError::Corrupt(format!(
            "{key} is the head of a tree of {} records",
            tree.n
        )));
    }
    if n > stored {
        return Err(PrivateError::Corrupt(format!(
            "the newest signed tree head has {n} records, but only {stored} are stored"
        )));
    }
    if tlog::tree_hash(n, state.hashes.as_slice()).map_err(internal)? != tree.hash {
        return Err(PrivateError::Corrupt(format!(
            "the stored records do not hash to the newest signed tree head ({n} records): a record was changed"
        )));
    }
    state.tree = tree;
    state.signed = signed;
    state.signed_at = store.stat(&key).await.ok().flatten().map(|s| s.stored);
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client's request, parsed as the server parses it.
    async fn answer(log: &PrivateLog, path: &str) -> Result<(Bytes, bool), SumdbError> {
        let path = SumdbPath::parse(path).map_err(|e| SumdbError::BadRequest(e.to_string()))?;
        Database::answer(log, &path)
            .await
            .map(|a| (a.body, a.immutable))
    }
    use modgate_store::DiskStore;
    use modgate_sumdb::tlog::{HashReader as _, Tile, TileHashReader, TileReader};
    use std::os::unix::fs::PermissionsExt as _;

    const ZIP: &str = "h1:g61tztE5qeGQ89tm6NTjjM9VPIm088od1l6aSorWRWg=";
    const MOD: &str = "h1:NqM8EUOU14njkJ3fqMW+pc6Ldnwhi/IjpwHt7yyuwOQ=";
    const OTHER: &str = "h1:w5fcysjrx7yqtD/aO+QwRjYZOKnaM9Uh2b40tElTs3Y=";

    struct Fixture {
        dir: tempfile::TempDir,
        key_file: std::path::PathBuf,
        vkey: String,
    }

    impl Fixture {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let key_file = dir.path().join("sumdb.key");
            let vkey = keygen("sumdb.corp.example", &key_file).unwrap();
            Fixture {
                dir,
                key_file,
                vkey,
            }
        }

        fn store(&self) -> Arc<dyn Store> {
            Arc::new(DiskStore::open(&self.dir.path().join("store")).unwrap())
        }

        async fn open(&self) -> Result<PrivateLog, PrivateError> {
            PrivateLog::open(&self.key_file, self.store()).await
        }

        fn log_file(&self, path: &str) -> std::path::PathBuf {
            self.dir
                .path()
                .join("store/sumdb/sumdb.corp.example/log")
                .join(path)
        }
    }

    /// Reads tiles as a client would, through `answer`.
    struct Served<'a>(&'a PrivateLog);

    impl TileReader for Served<'_> {
        fn height(&self) -> u32 {
            8
        }

        fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, modgate_sumdb::Error> {
            tiles
                .iter()
                .map(|t| {
                    futures::executor::block_on(answer(self.0, &t.path()))
                        .map(|(data, _)| data.to_vec())
                        .map_err(|e| modgate_sumdb::Error::Other(e.into()))
                })
                .collect()
        }

        fn save_tiles(&self, _: &[Tile], _: &[Vec<u8>]) {}
    }

    fn verifiers(vkey: &str) -> VerifierList<Ed25519Verifier> {
        VerifierList::new([Ed25519Verifier::new(vkey).unwrap()])
    }

    /// The signed tree of `latest`, checked with `vkey`.
    async fn latest(log: &PrivateLog, vkey: &str) -> Tree {
        let (signed, immutable) = answer(log, "latest").await.unwrap();
        assert!(!immutable);
        latest_tree(&signed, vkey)
    }

    fn latest_tree(signed: &[u8], vkey: &str) -> Tree {
        tlog::parse_tree(&note::open(signed, &verifiers(vkey)).unwrap().text).unwrap()
    }

    /// Looks M@V up and checks the answer as the go command does: the
    /// signature, then the record against the tree, through served tiles.
    async fn verified_lookup(log: &PrivateLog, vkey: &str, escaped: &str) -> (u64, String) {
        let (body, immutable) = answer(log, &format!("lookup/{escaped}")).await.unwrap();
        assert!(!immutable);
        let (id, text, signed) = tlog::parse_record(&body).unwrap();
        assert_eq!(signed, &answer(log, "latest").await.unwrap().0[..]);
        let tree = latest_tree(signed, vkey);
        let served = Served(log);
        let hashes = TileHashReader::new(tree, &served)
            .read_hashes(&[tlog::stored_hash_index(0, id)])
            .unwrap();
        assert_eq!(hashes, [tlog::record_hash(text.as_bytes())]);
        (id, text.to_owned())
    }

    #[tokio::test]
    async fn keygen_writes_a_private_key_once() {
        let f = Fixture::new();
        let meta = fs_err::metadata(&f.key_file).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let skey = fs_err::read_to_string(&f.key_file).unwrap();
        assert!(skey.starts_with("PRIVATE+KEY+sumdb.corp.example+"));
        assert!(f.vkey.starts_with("sumdb.corp.example+"));
        Ed25519Verifier::new(&f.vkey).unwrap();

        let err = keygen("sumdb.corp.example", &f.key_file).unwrap_err();
        assert!(matches!(err, PrivateError::Key(_)), "{err}");
        assert!(err.to_string().contains("already exists"), "{err}");
        assert_eq!(fs_err::read_to_string(&f.key_file).unwrap(), skey);

        for bad in ["", "a b", "a+b", "../x", "a//b", "a/./b", "ünï"] {
            let out = f.dir.path().join("bad.key");
            assert!(keygen(bad, &out).is_err(), "{bad:?}");
            assert!(!out.exists());
        }

        let log = f.open().await.unwrap();
        assert_eq!(log.name(), "sumdb.corp.example");
        assert_eq!(log.verifier_key(), f.vkey);
    }

    #[tokio::test]
    async fn open_reports_key_problems_without_the_key() {
        let f = Fixture::new();
        let missing = f.dir.path().join("missing.key");
        let err = PrivateLog::open(&missing, f.store()).await.err().unwrap();
        assert!(matches!(err, PrivateError::Key(_)));
        assert!(err.to_string().contains("does not exist"), "{err}");

        // A verifier key, a truncated key, a key with a wrong hash.
        let skey = fs_err::read_to_string(&f.key_file).unwrap();
        let skey = skey.trim();
        let mut fields: Vec<&str> = skey.split('+').collect();
        fields[3] = if fields[3] == "00000000" {
            "00000001"
        } else {
            "00000000"
        };
        let wrong_hash = fields.join("+");
        for bad in [f.vkey.as_str(), &skey[..skey.len() - 8], &wrong_hash] {
            let file = f.dir.path().join("bad.key");
            fs_err::write(&file, bad).unwrap();
            let err = PrivateLog::open(&file, f.store()).await.err().unwrap();
            assert!(matches!(err, PrivateError::Key(_)), "{err}");
            let msg = err.to_string();
            assert!(msg.contains("is not a signer key"), "{msg}");
            let secret = skey.splitn(5, '+').last().unwrap();
            assert!(!msg.contains(&secret[..20]), "{msg}");
        }
    }

    /// Two replicas on one store: appends from both make one linear log,
    /// and each serves the other's records once it has read them.
    #[tokio::test]
    async fn replicas_on_one_store_keep_one_linear_log() {
        let f = Fixture::new();
        let (a, b) = (f.open().await.unwrap(), f.open().await.unwrap());
        let adds = (0..12).map(|i| {
            let log = if i % 2 == 0 { &a } else { &b };
            async move {
                let module = format!("git.corp.example/m{i}");
                log.add(&module, "v1.0.0", ZIP, MOD).await.map(|()| module)
            }
        });
        let modules = futures::future::try_join_all(adds).await.unwrap();
        // The same record added through the other replica is no new record.
        b.add(&modules[0], "v1.0.0", ZIP, MOD).await.unwrap();
        for log in [&a, &b] {
            log.inner.refresh().await.unwrap();
            assert_eq!(log.size(), 12);
        }
        assert_eq!(latest(&a, &f.vkey).await, latest(&b, &f.vkey).await);
        let mut ids: Vec<u64> = Vec::new();
        for m in &modules {
            let (id, _) = verified_lookup(&b, &f.vkey, &format!("{m}@v1.0.0")).await;
            ids.push(id);
        }
        ids.sort_unstable();
        assert_eq!(ids, (0..12).collect::<Vec<_>>(), "one record per index");
        // A third replica opening the store reads the same log.
        assert_eq!(f.open().await.unwrap().size(), 12);
        // A client that saw a newer tree through `a` gets its tiles from `b`.
        a.add("git.corp.example/m12", "v1.0.0", ZIP, MOD)
            .await
            .unwrap();
        assert_eq!(b.size(), 12);
        answer(&b, "tile/8/0/000.p/13").await.unwrap();
        assert_eq!(b.size(), 13);
    }

    #[tokio::test]
    async fn add_then_lookup_verifies() {
        let f = Fixture::new();
        let log = f.open().await.unwrap();
        assert_eq!(log.size(), 0);
        assert_eq!(latest(&log, &f.vkey).await, Tree::default());
        assert!(matches!(
            answer(&log, "lookup/git.corp.example/lib@v1.0.0").await,
            Err(SumdbError::NotFound(_))
        ));

        log.add("git.corp.example/lib", "v1.0.0", ZIP, MOD)
            .await
            .unwrap();
        log.add("git.corp.example/Upper", "v0.1.0-pre", OTHER, MOD)
            .await
            .unwrap();
        assert_eq!(log.size(), 2);
        assert!(log.contains("git.corp.example/lib", "v1.0.0"));
        assert!(!log.contains("git.corp.example/lib", "v1.0.1"));
        let r = log
            .recorded("git.corp.example/Upper", "v0.1.0-pre")
            .unwrap();
        assert_eq!((r.zip_hash.as_str(), r.mod_hash.as_str()), (OTHER, MOD));
        assert!(
            log.recorded("git.corp.example/upper", "v0.1.0-pre")
                .is_none()
        );

        let (id, text) = verified_lookup(&log, &f.vkey, "git.corp.example/lib@v1.0.0").await;
        assert_eq!(id, 0);
        assert_eq!(
            text,
            format_sum_record("git.corp.example/lib", "v1.0.0", ZIP, MOD)
        );
        // Escaped as the go command asks.
        let (id, text) = verified_lookup(&log, &f.vkey, "git.corp.example/!upper@v0.1.0-pre").await;
        assert_eq!(id, 1);
        assert!(text.starts_with("git.corp.example/Upper v0.1.0-pre "));

        // Byte for byte what x/mod's server writes: the record, then the note.
        let (body, _) = answer(&log, "lookup/git.corp.example/lib@v1.0.0")
            .await
            .unwrap();
        let (latest, _) = answer(&log, "latest").await.unwrap();
        let mut want = format!("0\n{}\n", text_of("git.corp.example/lib", ZIP)).into_bytes();
        want.extend_from_slice(&latest);
        assert_eq!(body, want);
        assert_eq!(latest_tree(&latest, &f.vkey).n, 2);

        for bad in [("a", "v1.0.0"), ("git.corp.example/x", "1.0.0")] {
            assert!(matches!(
                log.add(bad.0, bad.1, ZIP, MOD).await,
                Err(PrivateError::BadRequest(_))
            ));
        }
        for bad in [
            "h1:short",
            "h2:g61tztE5qeGQ89tm6NTjjM9VPIm088od1l6aSorWRWg=",
            "",
        ] {
            assert!(matches!(
                log.add("git.corp.example/x", "v1.0.0", bad, MOD).await,
                Err(PrivateError::BadRequest(_))
            ));
        }
        assert_eq!(log.size(), 2);
    }

    fn text_of(module: &str, zip: &str) -> String {
        format_sum_record(module, "v1.0.0", zip, MOD)
    }

    #[tokio::test]
    async fn reopen_continues_the_same_tree() {
        let f = Fixture::new();
        let log = f.open().await.unwrap();
        for m in ["a", "b", "c"] {
            log.add(&format!("corp.example/{m}"), "v1.0.0", ZIP, MOD)
                .await
                .unwrap();
        }
        let old = latest(&log, &f.vkey).await;
        let (old_signed, _) = answer(&log, "latest").await.unwrap();
        let signed_at = log.signed_at().expect("signed now");
        drop(log);

        let log = f.open().await.unwrap();
        assert_eq!(log.size(), 3);
        // Reopened: when the stored head was written (before it was
        // taken as signed), not now.
        let stored_at = log.signed_at().expect("the stored head's time");
        assert!(stored_at <= signed_at, "{stored_at:?} {signed_at:?}");
        assert_eq!(answer(&log, "latest").await.unwrap().0, old_signed);
        assert!(log.contains("corp.example/b", "v1.0.0"));
        for m in ["d", "e"] {
            log.add(&format!("corp.example/{m}"), "v1.0.0", ZIP, MOD)
                .await
                .unwrap();
        }
        let new = latest(&log, &f.vkey).await;
        assert_eq!(new.n, 5);
        let served = Served(&log);
        let proof = tlog::prove_tree(new.n, old.n, &TileHashReader::new(new, &served)).unwrap();
        tlog::check_tree(&proof, new.n, new.hash, old.n, old.hash).unwrap();
        let (id, _) = verified_lookup(&log, &f.vkey, "corp.example/e@v1.0.0").await;
        assert_eq!(id, 4);
        let (id, _) = verified_lookup(&log, &f.vkey, "corp.example/a@v1.0.0").await;
        assert_eq!(id, 0);

        // Every head is stored; a new key for the same name is refused.
        for n in 0..=5 {
            assert!(f.log_file(&format!("tree/{n}")).exists(), "{n}");
        }
        drop(log);
        fs_err::remove_file(&f.key_file).unwrap();
        keygen("sumdb.corp.example", &f.key_file).unwrap();
        let err = f.open().await.err().unwrap();
        assert!(matches!(err, PrivateError::Corrupt(_)), "{err}");
    }

    #[tokio::test]
    async fn duplicates_never_rewrite() {
        let f = Fixture::new();
        let log = f.open().await.unwrap();
        log.add("corp.example/a", "v1.0.0", ZIP, MOD).await.unwrap();
        let (before, _) = answer(&log, "latest").await.unwrap();
        log.add("corp.example/a", "v1.0.0", ZIP, MOD).await.unwrap();
        assert_eq!(log.size(), 1);
        assert_eq!(answer(&log, "latest").await.unwrap().0, before);

        let err = log
            .add("corp.example/a", "v1.0.0", OTHER, MOD)
            .await
            .unwrap_err();
        assert!(matches!(err, PrivateError::Conflict(_)), "{err}");
        assert!(err.to_string().contains(ZIP), "{err}");
        assert_eq!(log.size(), 1);
        let (_, text) = verified_lookup(&log, &f.vkey, "corp.example/a@v1.0.0").await;
        assert!(text.contains(ZIP));
    }

    #[tokio::test]
    async fn a_crash_between_record_and_head_is_finished_on_open() {
        let f = Fixture::new();
        let log = f.open().await.unwrap();
        log.add("corp.example/a", "v1.0.0", ZIP, MOD).await.unwrap();
        drop(log);
        // Record 1 stored, its head not.
        let store = f.store();
        store
            .put(
                &record_key("sumdb.corp.example", 1).unwrap(),
                text_of("corp.example/b", ZIP).into(),
            )
            .await
            .unwrap();
        let log = f.open().await.unwrap();
        assert_eq!(log.size(), 2);
        assert!(f.log_file("tree/2").exists());
        verified_lookup(&log, &f.vkey, "corp.example/b@v1.0.0").await;

        // A lost newest head is signed again, the same bytes.
        let head = fs_err::read(f.log_file("tree/2")).unwrap();
        drop(log);
        fs_err::remove_file(f.log_file("tree/2")).unwrap();
        let log = f.open().await.unwrap();
        assert_eq!(answer(&log, "latest").await.unwrap().0, head);
    }

    #[tokio::test]
    async fn a_replica_opens_the_log_while_another_appends() {
        let f = Fixture::new();
        let other = f.open().await.unwrap();
        for m in ["a", "b"] {
            other
                .add(&format!("corp.example/{m}"), "v1.0.0", ZIP, MOD)
                .await
                .unwrap();
        }
        let racing = Shared::new(f.store());
        *racing.appends_while_listed.lock().await = Some(other);
        let racing = Arc::new(racing);
        let log = PrivateLog::open(&f.key_file, racing).await.unwrap();
        assert!(log.size() >= 2, "{}", log.size());
        // It takes in the record appended meanwhile at its next refresh.
        log.inner.refresh().await.unwrap();
        assert_eq!(log.size(), 3);
        verified_lookup(&log, &f.vkey, "corp.example/late@v1.0.0").await;
    }

    /// The fixture's store, misbehaving as storage shared by replicas can.
    struct Shared {
        back: Arc<dyn Store>,
        /// Replaces what is there on every write, as a bucket ignoring
        /// `If-None-Match` does.
        overwrites: bool,
        /// Appends a record and its head through this other replica right
        /// after the log's records are listed, once.
        appends_while_listed: tokio::sync::Mutex<Option<PrivateLog>>,
    }

    impl Shared {
        fn new(back: Arc<dyn Store>) -> Self {
            Shared {
                back,
                overwrites: false,
                appends_while_listed: tokio::sync::Mutex::default(),
            }
        }
    }

    #[async_trait]
    impl Store for Shared {
        async fn get(&self, key: &Key) -> Result<Option<modgate_store::Object>, StoreError> {
            self.back.get(key).await
        }
        async fn put(&self, key: &Key, data: Bytes) -> Result<(), StoreError> {
            if self.overwrites {
                self.back.remove(key).await?;
            }
            self.back.put(key, data).await
        }
        async fn create_file(
            &self,
            key: &Key,
            file: tempfile::NamedTempFile,
        ) -> Result<bool, StoreError> {
            if self.overwrites {
                self.back.remove(key).await?;
            }
            self.back.create_file(key, file).await
        }
        async fn sync(&self, key: &Key) -> Result<(), StoreError> {
            self.back.sync(key).await
        }
        async fn list(&self, dir: &Key) -> Result<Vec<String>, StoreError> {
            let listed = self.back.list(dir).await?;
            if dir.as_str().ends_with("log/record")
                && let Some(other) = self.appends_while_listed.lock().await.take()
            {
                other
                    .add("corp.example/late", "v1.0.0", ZIP, MOD)
                    .await
                    .unwrap();
            }
            Ok(listed)
        }
        async fn list_files(
            &self,
            dir: &Key,
        ) -> Result<Vec<(String, modgate_store::Stat)>, StoreError> {
            self.back.list_files(dir).await
        }
        async fn check(&self) -> Result<(), StoreError> {
            self.back.check().await
        }
        async fn set_aside(&self, key: &Key) -> Result<(), StoreError> {
            self.back.set_aside(key).await
        }
        async fn stat(&self, key: &Key) -> Result<Option<modgate_store::Stat>, StoreError> {
            self.back.stat(key).await
        }
        async fn remove(&self, key: &Key) -> Result<(), StoreError> {
            self.back.remove(key).await
        }
        fn temp_file(&self) -> Result<tempfile::NamedTempFile, StoreError> {
            self.back.temp_file()
        }
    }

    #[tokio::test]
    async fn a_replica_that_finds_what_it_stored_replaced_stops_appending() {
        let f = Fixture::new();
        let a = f.open().await.unwrap();
        let b = f.open().await.unwrap();
        // The storage starts ignoring create-only writes after start-up
        // (its probe passed).
        let (a, b) = {
            let reopen = |log: PrivateLog| {
                let inner = Arc::into_inner(log.inner).unwrap();
                PrivateLog {
                    inner: Arc::new(Inner {
                        store: Arc::new(Shared {
                            overwrites: true,
                            ..Shared::new(inner.store)
                        }),
                        ..inner
                    }),
                }
            };
            (reopen(a), reopen(b))
        };
        a.add("corp.example/a", "v1.0.0", ZIP, MOD).await.unwrap();
        // a checks what it stored before the replacement lands.
        a.inner.refresh().await.unwrap();
        assert_eq!(a.forked(), None);
        // b has not read a's record: it writes its own as record 0 too
        // (its write was slow to land).
        b.add("corp.example/b", "v1.0.0", ZIP, MOD).await.unwrap();
        assert_eq!((a.size(), b.size()), (1, 1));

        a.inner.refresh().await.unwrap();
        let why = a.forked().expect("a fork was not noticed");
        assert!(why.contains("record 0"), "{why}");
        let err = a
            .add("corp.example/c", "v1.0.0", ZIP, MOD)
            .await
            .unwrap_err();
        assert!(matches!(err, PrivateError::Forked(_)), "{err}");
        // What it verified is still served.
        verified_lookup(&a, &f.vkey, "corp.example/a@v1.0.0").await;
    }

    #[tokio::test]
    async fn a_damaged_log_is_refused() {
        let f = Fixture::new();
        let log = f.open().await.unwrap();
        for m in ["a", "b", "c"] {
            log.add(&format!("corp.example/{m}"), "v1.0.0", ZIP, MOD)
                .await
                .unwrap();
        }
        drop(log);
        let corrupt = async || match f.open().await {
            Err(PrivateError::Corrupt(msg)) => msg,
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("opened a damaged log"),
        };

        // A changed hash, in well-formed record text.
        let record = f.log_file("record/1");
        let good = fs_err::read_to_string(&record).unwrap();
        fs_err::write(&record, good.replace(ZIP, OTHER)).unwrap();
        assert!(corrupt().await.contains("do not hash"));
        // Not a record at all.
        fs_err::write(&record, "garbage\n").unwrap();
        assert!(corrupt().await.contains("record 1"));
        // A gap.
        fs_err::remove_file(&record).unwrap();
        assert!(corrupt().await.contains("record 1 is missing"));
        // A stray file.
        fs_err::write(&record, &good).unwrap();
        fs_err::write(f.log_file("record/01"), &good).unwrap();
        assert!(corrupt().await.contains("unexpected file"));
        fs_err::remove_file(f.log_file("record/01")).unwrap();
        // A head over records that are gone.
        fs_err::remove_file(f.log_file("record/2")).unwrap();
        assert!(corrupt().await.contains("only 2 are stored"));
        fs_err::write(f.log_file("record/2"), text_of("corp.example/c", ZIP)).unwrap();
        // A forged head.
        let head = fs_err::read_to_string(f.log_file("tree/3")).unwrap();
        fs_err::write(f.log_file("tree/3"), head.replace("\n3\n", "\n4\n")).unwrap();
        assert!(
            corrupt()
                .await
                .contains("not a tree head signed by this key")
        );
        fs_err::write(f.log_file("tree/3"), head).unwrap();

        f.open().await.unwrap();
    }

    #[tokio::test]
    async fn tiles_of_a_300_record_log() {
        let f = Fixture::new();
        let log = Arc::new(f.open().await.unwrap());
        // Concurrent adds serialize.
        let adds = (0..300).map(|i| {
            let log = Arc::clone(&log);
            async move {
                log.add(&format!("corp.example/m{i}"), "v1.0.0", ZIP, MOD)
                    .await
            }
        });
        for r in futures::future::join_all(adds).await {
            r.unwrap();
        }
        assert_eq!(log.size(), 300);
        let tree = latest(&log, &f.vkey).await;
        assert_eq!(tree.n, 300);

        let tile = async |path: &str| answer(&log, path).await;
        let (full, immutable) = tile("tile/8/0/000").await.unwrap();
        assert_eq!(full.len(), 256 * 32);
        assert!(immutable);
        let (partial, immutable) = tile("tile/8/0/001.p/44").await.unwrap();
        assert_eq!(partial.len(), 44 * 32);
        assert!(!immutable);
        // An older tree's narrower tile is a prefix.
        let (narrow, immutable) = tile("tile/8/0/000.p/10").await.unwrap();
        assert_eq!(narrow, full[..10 * 32]);
        assert!(!immutable);
        // Level 1: the hash of the first 256 records.
        let (top, immutable) = tile("tile/8/1/000.p/1").await.unwrap();
        assert!(!immutable);
        let t = tlog::parse_tile_path("tile/8/0/000").unwrap();
        let half = |n| tlog::hash_from_tile(&t, &full, tlog::stored_hash_index(7, n)).unwrap();
        let first256 = tlog::node_hash(half(0), half(1));
        assert_eq!(top, first256.0[..]);

        // Data tiles hold the records the hash tiles hash.
        let (data, immutable) = tile("tile/8/data/000").await.unwrap();
        assert!(immutable);
        let mut rest = &data[..];
        for id in 0..256 {
            let (got, text, more) = tlog::parse_record(rest).unwrap();
            assert_eq!(got, id);
            let i = id as usize * 32;
            assert_eq!(tlog::record_hash(text.as_bytes()).0, full[i..i + 32]);
            rest = more;
        }
        assert!(rest.is_empty());
        let (data, immutable) = tile("tile/8/data/001.p/44").await.unwrap();
        assert!(!immutable);
        assert!(data.starts_with(b"256\n"));

        for beyond in [
            "tile/8/0/001",
            "tile/8/0/001.p/45",
            "tile/8/0/002.p/1",
            "tile/8/1/000",
            "tile/8/1/000.p/2",
            "tile/8/2/000.p/1",
            "tile/8/63/000",
            "tile/8/data/001",
            "tile/8/data/001.p/45",
            "tile/8/data/x018/x446/x744/x073/x709/x551/615",
            "tile/4/0/000",
        ] {
            assert!(
                matches!(tile(beyond).await, Err(SumdbError::NotFound(_))),
                "{beyond}"
            );
        }

        // Records prove into the tree through the served tiles.
        for m in [0, 1, 150, 299] {
            verified_lookup(&log, &f.vkey, &format!("corp.example/m{m}@v1.0.0")).await;
        }
    }

    #[tokio::test]
    async fn bad_paths() {
        let f = Fixture::new();
        let log = f.open().await.unwrap();
        log.add("corp.example/a", "v1.0.0", ZIP, MOD).await.unwrap();
        for bad in [
            "",
            "/latest",
            "latest/",
            "supported/x",
            "lookup/",
            "lookup/corp.example/a",
            "lookup/corp.example/a@",
            "lookup/@v1.0.0",
            "lookup/corp.example/a@1.0.0",
            "lookup/corp.example/a@v1.0",
            "lookup/corp.example/a@v1.0.0+meta",
            "lookup/corp.example/a@v1.0.0@v1.0.0",
            "lookup/corp.example/A@v1.0.0",
            "lookup/corp.example/!!a@v1.0.0",
            "lookup/corp.example/a@v1.0.0-!!",
            "tile/",
            "tile/8/0/00",
            "tile/8/0/000.p/0",
            "tile/8/0/000.p/256",
            "tile/8/0/x000/001",
            "tile/8/-1/000",
            "tile/8/0/000/",
            "tile/x/0/000",
        ] {
            assert!(
                matches!(answer(&log, bad).await, Err(SumdbError::BadRequest(_))),
                "{bad:?}"
            );
        }
        for absent in [
            "lookup/corp.example/a@v1.0.1",
            "lookup/corp.example/b@v1.0.0-pre",
            "lookup/corp.example/a@v2.0.0+incompatible",
        ] {
            assert!(
                matches!(answer(&log, absent).await, Err(SumdbError::NotFound(_))),
                "{absent:?}"
            );
        }
    }

    #[test]
    fn errors_say_each_thing_once() {
        let cancelled = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(async {
                let task = tokio::spawn(std::future::pending::<()>());
                task.abort();
                task.await.unwrap_err()
            });
        let errors = [
            PrivateError::Store {
                key: "sumdb/modgate.example/latest".into(),
                source: StoreError::Io(std::io::Error::other("No space left on device")),
            },
            PrivateError::Append(cancelled),
        ];
        for e in errors {
            modgate_redact::says_each_thing_once(&e).unwrap();
        }
    }
}
