//! A checksum database for tests, answering over HTTP on 127.0.0.1 as
//! x/mod's sumdb server does, with faults to inject (down, lagging,
//! tampered tiles).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use modgate_module::{escape_path, escape_version};
use modgate_sumdb::SumdbSpec;
use modgate_sumdb::note::{self, Ed25519Signer, Note};
use modgate_sumdb::tlog::{self, Hash, Tile, Tree};

pub(crate) use crate::lock;
use crate::store::{DiskStore, Key, Store};
use crate::sumdb::client::{Checked, Checksums};

pub(crate) const NAME: &str = "sum.example";

pub(crate) fn zip_hash(module: &str) -> String {
    format!("h1:zip-of-{module}=")
}

pub(crate) fn mod_hash(module: &str) -> String {
    format!("h1:mod-of-{module}=")
}

/// A checksum database, answering as x/mod's sumdb server does.
pub(crate) struct Db {
    pub(crate) signer: Ed25519Signer,
    pub(crate) records: Vec<String>,
    /// `<escaped path>@<escaped version>` → record id.
    pub(crate) ids: HashMap<String, u64>,
    pub(crate) hashes: Vec<Hash>,
    /// Signs trees of this size instead of the whole log: a lagging replica.
    pub(crate) tree_n: Option<u64>,
    /// Answers everything with 503.
    pub(crate) down: bool,
    /// Flips a bit in every hash tile.
    pub(crate) tamper: bool,
    pub(crate) lookups: usize,
}

pub(crate) type SharedDb = Arc<Mutex<Db>>;

impl Db {
    pub(crate) fn add(&mut self, module: &str, version: &str) {
        let (zip, m) = (zip_hash(module), mod_hash(module));
        self.add_record(module, version, &zip, &m);
    }

    pub(crate) fn add_record(&mut self, module: &str, version: &str, zip: &str, m: &str) {
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

    pub(crate) fn n(&self) -> u64 {
        self.tree_n.unwrap_or(self.records.len() as u64)
    }

    pub(crate) fn signed(&self) -> Vec<u8> {
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

    pub(crate) fn tile(&self, tile: &Tile) -> Option<Vec<u8>> {
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
        if !tile.covered_by(records) {
            return None;
        }
        let mut data = tlog::read_tile_data(tile, self.hashes.as_slice()).unwrap();
        if self.tamper {
            data[0] ^= 1;
        }
        Some(data)
    }
}

pub(crate) async fn serve(State(db): State<SharedDb>, uri: Uri) -> Response {
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
pub(crate) async fn database(skey: &str, modules: &[&str]) -> (SharedDb, String) {
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

pub(crate) fn checksums(vkey: &str, url: &str, store: &Arc<dyn Store>) -> Checksums {
    let spec = SumdbSpec::Database {
        key: vkey.to_owned(),
        url: Some(url.to_owned()),
    };
    Checksums::new(&spec, store.clone(), reqwest::Client::new())
        .unwrap()
        .unwrap()
}

pub(crate) fn disk_store() -> (tempfile::TempDir, Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(DiskStore::open(dir.path()).unwrap());
    (dir, store)
}

pub(crate) async fn ok(sums: &Checksums, module: &str) {
    let (zip, m) = (zip_hash(module), mod_hash(module));
    sums.verify(module, "v1.0.0", Checked::Zip(&zip))
        .await
        .unwrap_or_else(|e| panic!("{module}: {e}"));
    sums.verify(module, "v1.0.0", Checked::Mod(&m))
        .await
        .unwrap_or_else(|e| panic!("{module}: {e}"));
}

pub(crate) async fn stored(store: &Arc<dyn Store>, path: &str) -> Option<Bytes> {
    let object = store.get(&Key::sumdb(NAME, path).ok()?).await.unwrap()?;
    Some(object.read_small().await.unwrap())
}

/// A URL nothing listens on.
pub(crate) fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}

/// A path under `/sumdb/<name>/`, parsed as the server parses it.
pub(crate) fn path(p: &str) -> modgate_sumdb::SumdbPath {
    modgate_sumdb::SumdbPath::parse(p).unwrap_or_else(|e| panic!("{p}: {e}"))
}
