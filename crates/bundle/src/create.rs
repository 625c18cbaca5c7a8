//! `modgate bundle create` (and the fetching half of `modgate prefetch`):
//! the versions a go.sum, a list or a store names, fetched through a
//! GOPROXY or read from a store, checked against the checksum database and
//! written with its proofs as one bundle.

use std::collections::{BTreeMap, HashSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt as _;
use modgate_module::escape::{escape_path, unescape_path, unescape_version};
use modgate_module::mvs::{Graph, ModVer, Summary};
use modgate_module::{Info, gosum, modfile, version};
use modgate_redact::Chain;
use modgate_sumdb::SumdbSpec;
use modgate_sumdb::tlog::Tree;
use sha2::{Digest, Sha256};

use super::{
    Artifact, BundleError, Entry, FORMAT, File, MANIFEST, Manifest, Progress, SIGNATURE, SumdbHead,
    TreeRef, hex,
};
use modgate_proxy::sumdb::client::Checksums;
use modgate_store::protocol::{Kind, Request};
use modgate_store::{Body, DiskStore, Ext, FileReader, Key, Store, StoreError};
use modgate_sumdb_server::Database as _;
use modgate_zip::ingest;

/// What names the versions to bundle.
#[derive(Debug, Clone)]
pub enum Source {
    /// Every version a go.sum lists; those with only a `/go.mod` line get
    /// their go.mod alone.
    GoSum(PathBuf),
    /// Lines `module@version` or `module@latest`.
    List(PathBuf),
    /// The module graph the go command loads for this go.mod: the go.mod of
    /// every version it reads, the zip of every version it selects.
    GoMod(PathBuf),
    /// Every version the store holds a zip of, whose module path matches
    /// the glob (as GOPRIVATE's) when one is given.
    Store { pattern: Option<String> },
    /// The `golang.org/toolchain` versions the go command switches to for
    /// `go` release `release` (`go1.23.4`) on each `goos/goarch`.
    Toolchain {
        release: String,
        platforms: Vec<String>,
    },
}

/// The module the go command downloads toolchains as (GOTOOLCHAIN).
const TOOLCHAIN_MODULE: &str = "golang.org/toolchain";

/// The `golang.org/toolchain` version of Go `release` for `platform`
/// (`goos/goarch`), as the go command names it:
/// `v0.0.1-go1.23.4.linux-amd64`.
pub fn toolchain_version(release: &str, platform: &str) -> Result<String, String> {
    let word = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    let numbered = release
        .strip_prefix("go1")
        .is_some_and(|rest| rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.'));
    if !numbered || release.ends_with('.') || release.contains("..") {
        return Err(format!(
            "{release:?} is not a Go release (such as go1.23.4)"
        ));
    }
    match platform.split_once('/') {
        Some((os, arch)) if word(os) && word(arch) => Ok(format!("v0.0.1-{release}.{os}-{arch}")),
        _ => Err(format!(
            "{platform:?} is not a platform (such as linux/amd64)"
        )),
    }
}

impl Source {
    /// `--from FILE`: a go.sum or a go.mod by its name, otherwise a list.
    pub fn from_file(path: PathBuf) -> Self {
        match path.file_name().and_then(|n| n.to_str()) {
            Some("go.sum") => Source::GoSum(path),
            Some("go.mod") => Source::GoMod(path),
            _ => Source::List(path),
        }
    }
}

/// Where artifacts come from.
#[derive(Clone)]
pub enum Origin {
    /// A GOPROXY URL (a modgate, a mirror, proxy.golang.org).
    Proxy {
        url: String,
        client: reqwest::Client,
    },
    Store(Arc<dyn Store>),
}

pub struct CreateOptions {
    pub sources: Vec<Source>,
    pub origin: Origin,
    /// The checksum database (`GOSUMDB`'s form); without a URL, the
    /// proxy's `/sumdb/` when it passes the database on.
    pub sumdb: SumdbSpec,
    pub out: PathBuf,
    /// Signer key text.
    pub sign: Option<String>,
    /// The manifest of the bundle this one follows: what it has is left out.
    pub since: Option<Manifest>,
    /// A snapshot of this vulnerability database goes in too.
    pub vulndb: Option<VulndbSnapshot>,
}

/// `--vulndb URL`: the database mirrored as `serve --vulndb` mirrors it,
/// its newest snapshot carried for the site's `/vuln/`.
pub struct VulndbSnapshot {
    pub url: String,
    pub policy: modgate_proxy::upstream::Policy,
}

impl VulndbSnapshot {
    /// The database at `url`, asked with serve's defaults and time for a
    /// large index on a slow link.
    pub fn new(url: String) -> Self {
        VulndbSnapshot {
            url,
            policy: modgate_proxy::upstream::Policy {
                connect_timeout: Duration::from_secs(10),
                header_timeout: Duration::from_secs(30),
                idle_timeout: Duration::from_secs(60),
                retries: 2,
                breaker_threshold: 3,
                breaker_cooldown: Duration::from_secs(10),
                max_fetches: 8,
                hedge: modgate_proxy::upstream::HedgePolicy::Off,
            },
        }
    }
}

/// A version wanted, and the hashes its source expects.
#[derive(Debug, Clone)]
struct Wanted {
    module: String,
    version: String,
    zip: bool,
    expect_zip: Option<String>,
    expect_mod: Option<String>,
}

/// A file staged for the bundle: on disk, or small and in memory.
enum Content {
    Disk(PathBuf),
    Memory(Bytes),
}

struct Staged {
    path: String,
    size: u64,
    sha256: String,
    content: Content,
}

/// One version fetched and checked.
struct Fetched {
    entry: Entry,
    files: Vec<Staged>,
}

/// The checksum database a bundle is proven by: `arg` (`--sumdb`), else
/// GOSUMDB, else sum.golang.org, as the go command picks it.
pub fn sumdb_from(arg: Option<String>) -> Result<SumdbSpec, BundleError> {
    let sumdb = arg
        .or_else(|| {
            std::env::var(modgate_env::GOSUMDB)
                .ok()
                .filter(|v| !v.is_empty())
        })
        .unwrap_or_else(|| "sum.golang.org".to_owned());
    sumdb
        .parse()
        .map_err(|e: modgate_sumdb::Error| BundleError::Setting {
            what: format!("invalid --sumdb {sumdb:?}"),
            reason: Chain(&e).to_string(),
        })
}

/// The first HTTP proxy of GOPROXY (default proxy.golang.org's, as go's),
/// for commands without `--proxy`.
pub fn proxy_from_env() -> Result<String, BundleError> {
    let list = std::env::var(modgate_env::GOPROXY)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "https://proxy.golang.org,direct".to_owned());
    let parsed =
        modgate_module::goproxy::ProxyList::parse(&list).map_err(|e| BundleError::Setting {
            what: "invalid GOPROXY".to_owned(),
            reason: Chain(&e).to_string(),
        })?;
    match parsed.first_http() {
        Some(url) => Ok(url.to_owned()),
        None => Err(BundleError::Setting {
            what: "GOPROXY names no HTTP proxy to fetch through".to_owned(),
            reason: "give --proxy URL or --storage DIR".to_owned(),
        }),
    }
}

/// Writes the bundle and `<out>.manifest.json` beside it; fails, writing
/// nothing, when anything asked for cannot be had, naming every such version.
pub async fn create(
    opts: CreateOptions,
    progress: &mut (dyn FnMut(&Progress) + Send),
) -> Result<Manifest, BundleError> {
    let (wanted, sumdb_spec, staging, fetched) = fetch_all(&opts, progress).await?;
    let sumdb = staging.checksums;
    let mut since_tree = None;
    if let Some(old) = &opts.since {
        let tree = tree_of(&old.sumdb.tree)?;
        let ids = old.modules.iter().map(|e| e.record).collect();
        since_tree = Some((tree, ids));
    }
    let versions: Vec<(String, String)> = fetched
        .iter()
        .map(|f| (f.entry.module.clone(), f.entry.version.clone()))
        .collect();
    if versions.is_empty() {
        return Err(BundleError::Source {
            what: "bundle".to_owned(),
            reason: if wanted == 0 {
                "the sources name no module versions".to_owned()
            } else {
                "every version asked for is in the --since bundle already".to_owned()
            },
        });
    }
    progress(&Progress {
        phase: "proving",
        ..Progress::default()
    });
    let carried = sumdb.carry(&versions, since_tree).await?;
    let name = sumdb.name().to_owned();
    let mut fetched = fetched;
    let mut lookups = Vec::new();
    for (f, record) in fetched.iter_mut().zip(&carried.records) {
        let e = &mut f.entry;
        let r = &record.record;
        let wrong = |file: &str, have: &str, db: &str| BundleError::Mismatch {
            what: e.name(),
            detail: format!(
                "checksum mismatch for the {file}: downloaded {have}, checksum database {name} has {db}"
            ),
        };
        if e.go_mod.h1 != r.mod_hash {
            return Err(wrong("go.mod", &e.go_mod.h1, &r.mod_hash));
        }
        if let Some(zip) = &e.zip
            && zip.h1 != r.zip_hash
        {
            return Err(wrong("zip", &zip.h1, &r.zip_hash));
        }
        e.record = record.id;
        let key = Key::sumdb_lookup(&name, &e.module, &e.version)
            .ok_or_else(|| BundleError::Key(format!("{}: no checksum database key", e.name())))?;
        lookups.push(staged_bytes(key, Bytes::from(carried.lookup(record))));
    }
    let mut files: Vec<Staged> = carried
        .tiles
        .iter()
        .map(|(tile, data)| {
            Key::sumdb(&name, &tile.path())
                .map(|key| staged_bytes(key, data.clone()))
                .map_err(StoreError::from)
        })
        .collect::<Result<_, _>>()?;
    let mut modules = Vec::new();
    for f in fetched {
        modules.push(f.entry);
        files.extend(f.files);
    }
    files.extend(lookups);
    if let Some(v) = &opts.vulndb {
        progress(&Progress {
            phase: "vulndb",
            ..Progress::default()
        });
        for (key, data) in vulndb_snapshot(v, staging.dir.path()).await? {
            files.push(staged_bytes(key, data));
        }
    }
    let SumdbSpec::Database { key, .. } = &sumdb_spec else {
        unreachable!("checked when fetching")
    };
    let manifest = Manifest {
        format: FORMAT.to_owned(),
        created: jiff::Timestamp::now().to_string(),
        sumdb: SumdbHead {
            name,
            key: key.clone(),
            tree: TreeRef {
                size: carried.tree.n,
                hash: carried.tree.hash.to_string(),
            },
            note: String::from_utf8_lossy(&carried.note).into_owned(),
        },
        since: opts.since.as_ref().map(|m| m.sumdb.tree.clone()),
        modules,
        files: files
            .iter()
            .map(|s| File {
                path: s.path.clone(),
                size: s.size,
                sha256: s.sha256.clone(),
            })
            .collect(),
    };
    let bytes = write_bundle(&opts, &manifest, files, progress).await?;
    tracing::debug!(bytes, "bundle written");
    drop(staging.dir);
    Ok(manifest)
}

/// The files of a fresh mirror of `v`'s database, made in `staging`.
async fn vulndb_snapshot(
    v: &VulndbSnapshot,
    staging: &Path,
) -> Result<Vec<(Key, Bytes)>, BundleError> {
    let fail = |reason: String| BundleError::Fetch {
        what: format!("--vulndb {}", modgate_redact::redact_url(&v.url)),
        reason,
    };
    let store: Arc<dyn Store> = Arc::new(DiskStore::open(&staging.join("vulndb"))?);
    let client = v
        .policy
        .http_client()
        .map_err(|e| fail(modgate_net::describe(e)))?;
    let db = modgate_proxy::vulndb::VulnDb::new(
        &v.url,
        client,
        &v.policy,
        &[],
        store.clone(),
        std::time::Duration::MAX,
    );
    db.refresh()
        .await
        .map_err(|e| fail(Chain(&e).to_string()))?;
    modgate_proxy::vulndb::snapshot_files(store.as_ref())
        .await
        .map_err(|e| fail(Chain(&e).to_string()))
}

/// The checksum database client and where create stages files.
struct Staging {
    checksums: Checksums,
    dir: tempfile::TempDir,
}

/// Resolves the sources, then fetches and checks every version; the
/// number of versions named, the database, the staging area and what was
/// fetched (in the sources' order).
async fn fetch_all(
    opts: &CreateOptions,
    progress: &mut (dyn FnMut(&Progress) + Send),
) -> Result<(usize, SumdbSpec, Staging, Vec<Fetched>), BundleError> {
    let parent = opts
        .out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let dir = tempfile::Builder::new()
        .prefix(".modgate-bundle-")
        .tempdir_in(parent)
        .map_err(BundleError::io(format!("staging in {}", parent.display())))?;
    let mut wanted = wanted_versions(&opts.sources, &opts.origin).await?;
    let named = wanted.len();
    if let Some(old) = &opts.since {
        let had: HashSet<(&str, &str, bool)> = old
            .modules
            .iter()
            .map(|e| (e.module.as_str(), e.version.as_str(), e.zip.is_some()))
            .collect();
        // A version the old bundle has with a zip, or as wanted here, is left out.
        wanted.retain(|w| {
            let (m, v) = (w.module.as_str(), w.version.as_str());
            !had.contains(&(m, v, true)) && (w.zip || !had.contains(&(m, v, false)))
        });
    }
    let spec = sumdb_spec(&opts.sumdb, &opts.origin).await?;
    if let (Some(old), SumdbSpec::Database { key, .. }) = (&opts.since, &spec)
        && &old.sumdb.key != key
    {
        return Err(BundleError::Source {
            what: "--since".to_owned(),
            reason: format!(
                "that bundle is proven by checksum database {}, not {key}",
                old.sumdb.key
            ),
        });
    }
    // Proven lookups and tiles land in the store read from, or in staging.
    let sumdb_store: Arc<dyn Store> = match &opts.origin {
        Origin::Store(store) => store.clone(),
        Origin::Proxy { .. } => Arc::new(DiskStore::open(&dir.path().join("sumdb"))?),
    };
    let client = match &opts.origin {
        Origin::Proxy { client, .. } => client.clone(),
        Origin::Store(_) => modgate_net::client(
            std::time::Duration::from_secs(10),
            std::time::Duration::from_secs(30),
        )
        .map_err(|e| BundleError::Fetch {
            what: "HTTP client".to_owned(),
            reason: modgate_net::describe(e),
        })?,
    };
    let checksums = Checksums::new(&spec, sumdb_store, client)
        .map_err(|e| BundleError::Source {
            what: "--sumdb".to_owned(),
            reason: Chain(&e).to_string(),
        })?
        .ok_or_else(|| BundleError::Source {
            what: "--sumdb".to_owned(),
            reason: "a bundle carries the checksum database's proofs: it cannot be off".to_owned(),
        })?;
    let files_dir = dir.path().join("files");
    let fetched = fetch_versions(&opts.origin, &wanted, &files_dir, progress).await?;
    Ok((named, spec, Staging { checksums, dir }, fetched))
}

/// Fetches and checks every version into `dir`, in order; fails naming
/// every version that could not be had.
async fn fetch_versions(
    origin: &Origin,
    wanted: &[Wanted],
    dir: &Path,
    progress: &mut (dyn FnMut(&Progress) + Send),
) -> Result<Vec<Fetched>, BundleError> {
    fs_err::create_dir_all(dir).map_err(BundleError::io("staging"))?;
    let mut done = Progress {
        phase: "fetching",
        modules_total: wanted.len() as u64,
        ..Progress::default()
    };
    progress(&done);
    let mut results: Vec<Option<Fetched>> = (0..wanted.len()).map(|_| None).collect();
    let mut missing = Vec::new();
    let mut jobs = futures::stream::iter(wanted.iter().enumerate())
        .map(|(i, w)| {
            let dir = dir.join(i.to_string());
            async move { (i, fetch_version(origin, w, &dir).await) }
        })
        .buffer_unordered(FETCHES_AT_ONCE);
    while let Some((i, got)) = jobs.next().await {
        let w = &wanted[i];
        match got? {
            Ok(f) => {
                done.bytes += f.files.iter().map(|s| s.size).sum::<u64>();
                results[i] = Some(f);
            }
            Err(why) => missing.push(format!("{}@{} ({why})", w.module, w.version)),
        }
        done.modules += 1;
        done.current = format!("{}@{}", w.module, w.version);
        progress(&done);
    }
    drop(jobs);
    if !missing.is_empty() {
        missing.sort();
        return Err(BundleError::Missing(missing));
    }
    Ok(results.into_iter().flatten().collect())
}

/// What `modgate prefetch` warmed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Prefetched {
    pub modules: u64,
    pub bytes: u64,
}

/// `modgate prefetch`: every version the sources name asked of a running
/// modgate (`url`), which fetches, verifies and stores each, so no build
/// waits on a first miss. Each answer is checked here as `create` checks
/// it (go.sum's hashes included), then dropped.
pub async fn prefetch(
    sources: &[Source],
    url: &str,
    client: reqwest::Client,
    progress: &mut (dyn FnMut(&Progress) + Send),
) -> Result<Prefetched, BundleError> {
    let origin = Origin::Proxy {
        url: url.to_owned(),
        client,
    };
    let wanted = wanted_versions(sources, &origin).await?;
    let dir = tempfile::Builder::new()
        .prefix("modgate-prefetch-")
        .tempdir()
        .map_err(BundleError::io("a temporary directory"))?;
    let fetched = fetch_versions(&origin, &wanted, dir.path(), progress).await?;
    Ok(Prefetched {
        modules: fetched.len() as u64,
        bytes: fetched.iter().flat_map(|f| &f.files).map(|s| s.size).sum(),
    })
}

const FETCHES_AT_ONCE: usize = 8;

/// The versions the sources name, merged: a zip wanted by any source is
/// fetched, and `@latest` is resolved through the origin.
async fn wanted_versions(sources: &[Source], origin: &Origin) -> Result<Vec<Wanted>, BundleError> {
    let mut order: Vec<Wanted> = Vec::new();
    let mut at: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut add = |w: Wanted| -> Result<(), BundleError> {
        match at.get(&(w.module.clone(), w.version.clone())) {
            Some(&i) => {
                let seen = &mut order[i];
                seen.zip |= w.zip;
                for (mine, theirs) in [
                    (&mut seen.expect_zip, w.expect_zip),
                    (&mut seen.expect_mod, w.expect_mod),
                ] {
                    match (&mine, theirs) {
                        (Some(a), Some(b)) if *a != b => {
                            return Err(BundleError::Mismatch {
                                what: format!("{}@{}", w.module, w.version),
                                detail: format!("the sources list two hashes: {a} and {b}"),
                            });
                        }
                        (None, Some(b)) => *mine = Some(b),
                        _ => {}
                    }
                }
            }
            None => {
                at.insert((w.module.clone(), w.version.clone()), order.len());
                order.push(w);
            }
        }
        Ok(())
    };
    for source in sources {
        match source {
            Source::GoSum(path) => {
                let text = read_text(path)?;
                let entries = gosum::parse_go_sum(&text).map_err(|e| BundleError::Source {
                    what: path.display().to_string(),
                    reason: Chain(&e).to_string(),
                })?;
                for e in entries {
                    add(Wanted {
                        zip: e.zip.is_some(),
                        module: e.module,
                        version: e.version,
                        expect_zip: e.zip,
                        expect_mod: e.go_mod,
                    })?;
                }
            }
            Source::List(path) => {
                let text = read_text(path)?;
                let lines = gosum::parse_list(&text).map_err(|e| BundleError::Source {
                    what: path.display().to_string(),
                    reason: Chain(&e).to_string(),
                })?;
                for line in lines {
                    let version = match line.version {
                        Some(v) => v,
                        None => latest(origin, &line.module).await?,
                    };
                    add(Wanted {
                        module: line.module,
                        version,
                        zip: true,
                        expect_zip: None,
                        expect_mod: None,
                    })?;
                }
            }
            Source::Store { pattern } => {
                let Origin::Store(store) = origin else {
                    return Err(BundleError::Source {
                        what: "--from-store".to_owned(),
                        reason: "needs --storage, the store to read".to_owned(),
                    });
                };
                for (module, version) in stored_versions(store, pattern.as_deref()).await? {
                    add(Wanted {
                        module,
                        version,
                        zip: true,
                        expect_zip: None,
                        expect_mod: None,
                    })?;
                }
            }
            Source::GoMod(path) => {
                for w in graph_versions(path, origin).await? {
                    add(w)?;
                }
            }
            Source::Toolchain { release, platforms } => {
                for platform in platforms {
                    let version = toolchain_version(release, platform).map_err(|reason| {
                        BundleError::Source {
                            what: "--toolchain".to_owned(),
                            reason,
                        }
                    })?;
                    add(Wanted {
                        module: TOOLCHAIN_MODULE.to_owned(),
                        version,
                        zip: true,
                        expect_zip: None,
                        expect_mod: None,
                    })?;
                }
            }
        }
    }
    Ok(order)
}

/// The versions of `--from go.mod`: minimal version selection with Go
/// 1.17's graph pruning over go.mod files fetched from `origin`, its
/// `replace` directives applied (a directory replacement has nothing to
/// bundle). The go.mod of every version read; the zip of every one selected.
async fn graph_versions(path: &Path, origin: &Origin) -> Result<Vec<Wanted>, BundleError> {
    let data = fs_err::read(path).map_err(BundleError::io(path.display().to_string()))?;
    let bad = |reason: &str| BundleError::Source {
        what: path.display().to_string(),
        reason: reason.to_owned(),
    };
    let main = modfile::module_path(&data).ok_or_else(|| bad("no module line"))?;
    let replaces = modfile::replacements(&data).ok_or_else(|| bad("malformed replace"))?;
    let summary = Summary::of_go_mod(&data).ok_or_else(|| bad("malformed require"))?;
    let replaced = |m: &ModVer| -> Option<ModVer> {
        match modfile::replacement(&replaces, &m.path, &m.version) {
            None => Some(m.clone()),
            Some(r) => r.new_version.as_ref().map(|v| ModVer::new(&r.new, v)),
        }
    };
    let mut graph = Graph::new(&main, &summary);
    let mut read = Vec::new();
    loop {
        let pending = graph.pending();
        if pending.is_empty() {
            break;
        }
        let loaded: Vec<_> = futures::stream::iter(pending)
            .map(|m| async {
                let target = replaced(&m);
                let summary = match &target {
                    None => Summary::default(),
                    Some(t) => {
                        let kind = Kind::Mod(t.version.clone());
                        let data = small(origin, &t.path, &t.version, kind, ingest::MAX_MOD)
                            .await?
                            .ok_or_else(|| {
                                BundleError::Missing(vec![format!("{t} (no go.mod)")])
                            })?;
                        Summary::of_go_mod(&data).ok_or_else(|| BundleError::Fetch {
                            what: t.to_string(),
                            reason: "malformed go.mod".to_owned(),
                        })?
                    }
                };
                Ok::<_, BundleError>((m, target, summary))
            })
            .buffer_unordered(FETCHES_AT_ONCE)
            .collect()
            .await;
        for got in loaded {
            let (m, target, summary) = got?;
            read.extend(target);
            graph.add(m, summary);
        }
    }
    let wanted = |m: ModVer, zip: bool| Wanted {
        module: m.path,
        version: m.version,
        zip,
        expect_zip: None,
        expect_mod: None,
    };
    read.sort();
    let mut out: Vec<Wanted> = read.into_iter().map(|m| wanted(m, false)).collect();
    out.extend(
        graph
            .build_list()
            .iter()
            .filter_map(replaced)
            .map(|m| wanted(m, true)),
    );
    Ok(out)
}

fn read_text(path: &Path) -> Result<String, BundleError> {
    fs_err::read_to_string(path).map_err(BundleError::io(path.display().to_string()))
}

/// Every version with a zip and its commit mark in `store`.
async fn stored_versions(
    store: &Arc<dyn Store>,
    pattern: Option<&str>,
) -> Result<Vec<(String, String)>, BundleError> {
    let mut out = Vec::new();
    for escaped in store.modules().await? {
        let Ok(module) = unescape_path(&escaped) else {
            continue;
        };
        if pattern.is_some_and(|p| !modgate_module::pattern::match_prefix_patterns(p, &module)) {
            continue;
        }
        let names = store.list(&Key::parse(&escaped)?.join("@v")?).await?;
        let marked: HashSet<&str> = names
            .iter()
            .filter_map(|n| n.strip_suffix(".ziphash"))
            .collect();
        let mut versions: Vec<String> = names
            .iter()
            .filter_map(|n| n.strip_suffix(".zip"))
            .filter(|v| marked.contains(v))
            .filter_map(|v| unescape_version(v).ok())
            .filter(|v| version::check(&module, v).is_ok())
            .collect();
        version::sort_versions(&mut versions);
        out.extend(versions.into_iter().map(|v| (module.clone(), v)));
    }
    Ok(out)
}

/// `module@latest` through the origin.
async fn latest(origin: &Origin, module: &str) -> Result<String, BundleError> {
    let what = format!("{module}@latest");
    let data = match origin {
        Origin::Proxy { .. } => {
            let em = escape_path(module).map_err(|e| BundleError::Source {
                what: what.clone(),
                reason: Chain(&e).to_string(),
            })?;
            get(origin, &format!("{em}/@latest"), ingest::MAX_INFO).await?
        }
        Origin::Store(store) => {
            let versions = stored_versions(store, None)
                .await?
                .into_iter()
                .filter(|(m, _)| m == module)
                .map(|(_, v)| v)
                .collect::<Vec<_>>();
            let best = version::pick_latest(versions.iter().map(String::as_str));
            return best
                .map(str::to_owned)
                .ok_or_else(|| BundleError::Missing(vec![format!("{what} (no version stored)")]));
        }
    };
    let data = data.ok_or_else(|| BundleError::Missing(vec![format!("{what} (not found)")]))?;
    Info::parse(module, None, &data)
        .map(|info| info.version)
        .map_err(|e| BundleError::Fetch {
            what,
            reason: Chain(&e).to_string(),
        })
}

/// The checksum database to ask: `spec`'s URL, else the proxy's `/sumdb/`
/// when it passes the database on (as the go command decides), else the
/// database's own host.
async fn sumdb_spec(spec: &SumdbSpec, origin: &Origin) -> Result<SumdbSpec, BundleError> {
    let SumdbSpec::Database { key, url: None } = spec else {
        return Ok(spec.clone());
    };
    let Origin::Proxy { url, client } = origin else {
        return Ok(spec.clone());
    };
    let name = key.split('+').next().unwrap_or_default();
    let base = format!("{}/sumdb/{name}", url.trim_end_matches('/'));
    let supported = client
        .get(format!("{base}/supported"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success());
    Ok(SumdbSpec::Database {
        key: key.clone(),
        url: supported.then_some(base),
    })
}

/// GET `path` from the proxy: None on 404 or 410.
async fn get(origin: &Origin, path: &str, max: u64) -> Result<Option<Bytes>, BundleError> {
    let mut body = Vec::new();
    let found = stream(origin, path, max, |chunk| {
        body.extend_from_slice(chunk);
        Ok(())
    })
    .await?;
    Ok(found.then(|| body.into()))
}

/// GET `path` from the proxy, handing each chunk of the body to `each`;
/// false on 404 or 410, an error past `max` bytes.
async fn stream(
    origin: &Origin,
    path: &str,
    max: u64,
    mut each: impl FnMut(&[u8]) -> Result<(), BundleError>,
) -> Result<bool, BundleError> {
    let Origin::Proxy { url, client } = origin else {
        unreachable!("only proxies are asked over HTTP")
    };
    let shown = format!(
        "{}/{path}",
        modgate_redact::redact_url(url).trim_end_matches('/')
    );
    let fail = |reason: String| BundleError::Fetch {
        what: shown.clone(),
        reason,
    };
    let mut resp = client
        .get(format!("{}/{path}", url.trim_end_matches('/')))
        .send()
        .await
        .map_err(|e| fail(modgate_net::describe(e)))?;
    let status = resp.status();
    if matches!(status.as_u16(), 404 | 410) {
        return Ok(false);
    }
    if !status.is_success() {
        let line = modgate_net::first_line(resp).await;
        return Err(fail(format!("{status}{line}")));
    }
    let mut size = 0u64;
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| fail(modgate_net::describe(e)))?
    {
        size += chunk.len() as u64;
        if size > max {
            return Err(fail(format!("more than {max} bytes")));
        }
        each(&chunk)?;
    }
    Ok(true)
}

/// A small file of a version from the origin: None when it has none.
async fn small(
    origin: &Origin,
    module: &str,
    version: &str,
    kind: Kind,
    max: u64,
) -> Result<Option<Bytes>, BundleError> {
    let req = Request::new(module, kind);
    match origin {
        Origin::Proxy { .. } => get(origin, req.upstream_path(), max).await,
        Origin::Store(store) => {
            let key = match req.kind {
                Kind::Info(_) => Key::version_file(module, version, Ext::Info),
                _ => req.key(),
            };
            let Some(key) = key else {
                return Ok(None);
            };
            Ok(store.read_small(&key).await?)
        }
    }
}

/// Fetches and checks one version into `dir`; the inner error says why it
/// is missing.
async fn fetch_version(
    origin: &Origin,
    w: &Wanted,
    dir: &Path,
) -> Result<Result<Fetched, String>, BundleError> {
    let (module, v) = (w.module.as_str(), w.version.as_str());
    let name = format!("{module}@{v}");
    fs_err::create_dir_all(dir).map_err(BundleError::io("staging"))?;
    let Some(go_mod) = small(origin, module, v, Kind::Mod(v.to_owned()), ingest::MAX_MOD).await?
    else {
        return Ok(Err("no go.mod".to_owned()));
    };
    ingest::check_mod(module, v, &go_mod).map_err(|e| BundleError::Fetch {
        what: name.clone(),
        reason: Chain(&e).to_string(),
    })?;
    let mod_h1 = modgate_zip::dirhash::hash_go_mod(&go_mod);
    expect(&name, "go.mod", w.expect_mod.as_deref(), &mod_h1)?;
    let mut files = Vec::new();
    let mut zip = None;
    if w.zip {
        // The .info is served from the store offline; one that cannot be
        // had is made from the zip's version, as modgate answers it.
        if let Some(info) = small(
            origin,
            module,
            v,
            Kind::Info(v.to_owned()),
            ingest::MAX_INFO,
        )
        .await?
        {
            Info::parse(module, Some(v), &info).map_err(|e| BundleError::Fetch {
                what: name.clone(),
                reason: Chain(&e).to_string(),
            })?;
            let key = Key::version_file(module, v, Ext::Info).expect("checked version");
            files.push(staged_bytes(key, info));
        }
        let staged = dir.join("zip");
        let Some((size, sha256)) = fetch_zip(origin, module, v, &staged).await? else {
            return Ok(Err("no zip".to_owned()));
        };
        let (m, ver, path) = (module.to_owned(), v.to_owned(), staged.clone());
        let h1 = tokio::task::spawn_blocking(move || ingest::check_zip(&m, &ver, &path))
            .await
            .map_err(|e| BundleError::Fetch {
                what: name.clone(),
                reason: Chain(&e).to_string(),
            })?
            .map_err(|e| BundleError::Fetch {
                what: name.clone(),
                reason: Chain(&e).to_string(),
            })?;
        expect(&name, "zip", w.expect_zip.as_deref(), &h1)?;
        let key = Request::new(module, Kind::Zip(v.to_owned()))
            .key()
            .expect("checked version");
        files.push(Staged {
            path: key.as_str().to_owned(),
            size,
            sha256,
            content: Content::Disk(staged),
        });
        zip = Some(Artifact { h1, size });
    }
    let key = Request::new(module, Kind::Mod(v.to_owned()))
        .key()
        .expect("checked version");
    let mod_size = go_mod.len() as u64;
    // go.mod before the zip: the order import stores them in.
    files.insert(
        files.len().saturating_sub(usize::from(zip.is_some())),
        staged_bytes(key, go_mod),
    );
    Ok(Ok(Fetched {
        entry: Entry {
            module: module.to_owned(),
            version: v.to_owned(),
            record: 0,
            go_mod: Artifact {
                h1: mod_h1,
                size: mod_size,
            },
            zip,
        },
        files,
    }))
}

/// A go.sum's hash against the one computed.
fn expect(name: &str, file: &str, want: Option<&str>, have: &str) -> Result<(), BundleError> {
    match want {
        Some(want) if want != have => Err(BundleError::Mismatch {
            what: name.to_owned(),
            detail: format!(
                "checksum mismatch for the {file}: downloaded {have}, go.sum has {want}"
            ),
        }),
        _ => Ok(()),
    }
}

/// Streams a zip into `to`, hashing it; None when the origin has none.
async fn fetch_zip(
    origin: &Origin,
    module: &str,
    v: &str,
    to: &Path,
) -> Result<Option<(u64, String)>, BundleError> {
    let req = Request::new(module, Kind::Zip(v.to_owned()));
    let staging = BundleError::io(format!("staging {}", to.display()));
    let mut out = std::io::BufWriter::new(fs_err::File::create(to).map_err(staging)?);
    let mut hash = Sha256::new();
    let mut size = 0u64;
    let write_err = || BundleError::io(format!("staging {}", to.display()));
    match origin {
        Origin::Proxy { .. } => {
            let found = stream(origin, req.upstream_path(), ingest::MAX_ZIP, |chunk| {
                size += chunk.len() as u64;
                hash.update(chunk);
                out.write_all(chunk).map_err(write_err())
            })
            .await?;
            if !found {
                return Ok(None);
            }
        }
        Origin::Store(store) => {
            let key = req.key().expect("checked version");
            let Some(obj) = store.get(&key).await? else {
                return Ok(None);
            };
            let mut reader: Box<dyn std::io::Read + Send> = match obj.body {
                Body::Bytes(b) => Box::new(std::io::Cursor::new(b)),
                Body::File(f) => Box::new(FileReader::new(f, obj.size)),
                Body::Remote(remote) => {
                    use futures::TryStreamExt as _;
                    let mut chunks = remote.chunks(0, obj.size);
                    while let Some(chunk) = chunks.try_next().await.map_err(write_err())? {
                        size += chunk.len() as u64;
                        hash.update(&chunk);
                        out.write_all(&chunk).map_err(write_err())?;
                    }
                    Box::new(std::io::empty())
                }
            };
            let mut buf = vec![0u8; 256 << 10];
            loop {
                let n = reader.read(&mut buf).map_err(write_err())?;
                if n == 0 {
                    break;
                }
                size += n as u64;
                hash.update(&buf[..n]);
                out.write_all(&buf[..n]).map_err(write_err())?;
            }
        }
    }
    out.into_inner()
        .map_err(|e| write_err()(e.into_error()))?
        .sync_data()
        .map_err(write_err())?;
    Ok(Some((size, hex(&hash.finalize()))))
}

fn staged_bytes(key: Key, data: Bytes) -> Staged {
    Staged {
        path: key.as_str().to_owned(),
        size: data.len() as u64,
        sha256: hex(&Sha256::digest(&data)),
        content: Content::Memory(data),
    }
}

fn tree_of(r: &TreeRef) -> Result<Tree, BundleError> {
    let hash = r.hash.parse().map_err(|_| BundleError::Source {
        what: "--since".to_owned(),
        reason: format!("malformed tree hash {:?}", r.hash),
    })?;
    Ok(Tree { n: r.size, hash })
}

/// Writes the tar stream, then moves it to `out`; returns its size.
async fn write_bundle(
    opts: &CreateOptions,
    manifest: &Manifest,
    files: Vec<Staged>,
    progress: &mut (dyn FnMut(&Progress) + Send),
) -> Result<u64, BundleError> {
    let manifest_json = serde_json::to_vec_pretty(manifest).expect("plain data serializes");
    let signature = match &opts.sign {
        Some(skey) => Some(super::sign(&manifest_json, skey)?),
        None => None,
    };
    let out = opts.out.clone();
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_owned();
    let what = out.display().to_string();
    let total: u64 = files.iter().map(|f| f.size).sum();
    let modules_total = manifest.modules.len() as u64;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Progress>();
    let writing = tokio::task::spawn_blocking(move || -> Result<u64, BundleError> {
        let io = |what: &str| BundleError::io(what.to_owned());
        let temp = tempfile::NamedTempFile::new_in(&parent).map_err(io(&what))?;
        let mut encoder =
            zstd::Encoder::new(std::io::BufWriter::new(temp), ZSTD_LEVEL).map_err(io(&what))?;
        {
            let mut tar = tar::Builder::new(&mut encoder);
            append(&mut tar, MANIFEST, &manifest_json).map_err(io(&what))?;
            if let Some(sig) = &signature {
                append(&mut tar, SIGNATURE, sig).map_err(io(&what))?;
            }
            let mut done = Progress {
                phase: "writing",
                bytes_total: total,
                modules_total,
                ..Progress::default()
            };
            for f in files {
                let mut header = header(f.size);
                match f.content {
                    Content::Memory(data) => tar.append_data(&mut header, &f.path, &data[..]),
                    Content::Disk(path) => {
                        let file = fs_err::File::open(&path).map_err(io(&what))?;
                        tar.append_data(&mut header, &f.path, file)
                    }
                }
                .map_err(io(&what))?;
                done.bytes += f.size;
                // Every version has one go.mod.
                if let Some(version) = f.path.strip_suffix(".mod") {
                    done.modules += 1;
                    done.current = version.replacen("/@v/", "@", 1);
                }
                let _ = tx.send(done.clone());
            }
            tar.finish().map_err(io(&what))?;
        }
        let temp = encoder
            .finish()
            .map_err(io(&what))?
            .into_inner()
            .map_err(|e| io(&what)(e.into_error()))?;
        temp.as_file().sync_all().map_err(io(&what))?;
        let size = temp.as_file().metadata().map_err(io(&what))?.len();
        temp.persist(&out).map_err(|e| io(&what)(e.error))?;
        Ok(size)
    });
    while let Some(p) = rx.recv().await {
        progress(&p);
    }
    let size = writing.await.map_err(|e| BundleError::Fetch {
        what: opts.out.display().to_string(),
        reason: Chain(&e).to_string(),
    })??;
    let beside = manifest_path(&opts.out);
    fs_err::write(
        &beside,
        serde_json::to_vec_pretty(manifest).expect("serializes"),
    )
    .map_err(BundleError::io(beside.display().to_string()))?;
    Ok(size)
}

/// Zips are compressed already: a fast level loses little.
const ZSTD_LEVEL: i32 = 3;

/// Where create writes a copy of the manifest, for `--since` later.
pub fn manifest_path(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".manifest.json");
    PathBuf::from(name)
}

fn header(size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_size(size);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    header
}

fn append<W: std::io::Write>(
    tar: &mut tar::Builder<W>,
    path: &str,
    data: &[u8],
) -> std::io::Result<()> {
    tar.append_data(&mut header(data.len() as u64), path, data)
}

#[cfg(test)]
mod tests {
    use super::toolchain_version;

    #[test]
    fn toolchain_versions_as_the_go_command_names_them() {
        assert_eq!(
            toolchain_version("go1.23.4", "linux/amd64").unwrap(),
            "v0.0.1-go1.23.4.linux-amd64"
        );
        assert_eq!(
            toolchain_version("go1.24rc1", "darwin/arm64").unwrap(),
            "v0.0.1-go1.24rc1.darwin-arm64"
        );
        for (release, platform) in [
            ("1.23.4", "linux/amd64"),
            ("go1.23.", "linux/amd64"),
            ("go1.23/x", "linux/amd64"),
            ("go1.23.4", "linux"),
            ("go1.23.4", "linux/AMD64"),
            ("go1.23.4", "linux/amd64/v3"),
        ] {
            assert!(
                toolchain_version(release, platform).is_err(),
                "{release} {platform}"
            );
        }
    }
}
