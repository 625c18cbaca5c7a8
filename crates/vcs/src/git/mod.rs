//! Module code straight from git, as the go command's direct mode gets it
//! (cmd/go/internal/modfetch/codehost/git.go): which commit a revision names,
//! its time and tags, files and archives of it must come out exactly as go
//! computes them, or hashes and versions would not match.
//!
//! We run the `git` binary, in the user's environment, so that their
//! configuration applies: `url.insteadOf`, credential helpers, ssh, `.netrc`.
//! Each remote gets one bare mirror under the work directory.

mod error;
mod repo;
mod run;
#[cfg(test)]
mod tests;

pub(crate) use modgate_redact::redact_text as redact;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};

pub use error::VcsError;
pub use repo::{GitRepo, TreeEntry, TreeKind};
use run::Runner;

/// Where a mirror is built before it is renamed into place; removed at start.
const INIT_PREFIX: &str = ".init-";

pub struct GitSettings {
    /// Holds one bare mirror per remote URL.
    pub workdir: PathBuf,
    /// git processes running at once, over every repository.
    pub max_processes: usize,
    /// Longest run of one git command.
    pub timeout: Duration,
    /// How long the refs a remote advertised are taken as current.
    pub refs_ttl: Duration,
    /// Bytes all mirrors may hold; past it the least recently used ones not
    /// in use are removed whole. 0: no bound.
    pub max_size: u64,
}

/// All repositories. Cheap to clone and share.
#[derive(Clone)]
pub struct Git {
    inner: Arc<Inner>,
}

struct Inner {
    workdir: PathBuf,
    refs_ttl: Duration,
    max_size: u64,
    runner: Arc<Runner>,
    repos: Mutex<HashMap<String, Arc<GitRepo>>>,
    /// One budget check at a time.
    budget: tokio::sync::Mutex<()>,
}

impl Git {
    /// Creates the work directory and removes mirrors a crash left half-built.
    /// Runs no git.
    pub fn new(settings: GitSettings) -> Result<Git, VcsError> {
        fs_err::create_dir_all(&settings.workdir)?;
        for entry in fs_err::read_dir(&settings.workdir)? {
            let entry = entry?;
            if entry.file_name().to_string_lossy().starts_with(INIT_PREFIX) {
                fs_err::remove_dir_all(entry.path())?;
            }
        }
        Ok(Git {
            inner: Arc::new(Inner {
                workdir: settings.workdir,
                refs_ttl: settings.refs_ttl,
                max_size: settings.max_size,
                runner: Arc::new(Runner::new(settings.max_processes, settings.timeout)),
                repos: Mutex::new(HashMap::new()),
                budget: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// The repository at `url`: the same one for the same URL.
    pub fn repo(&self, url: &str) -> Arc<GitRepo> {
        let mut repos = lock(&self.inner.repos);
        repos
            .entry(url.to_owned())
            .or_insert_with(|| {
                // Named by a hash: the URL may hold credentials.
                let name = format!("{:x}", Sha256::digest(url.as_bytes()));
                Arc::new(GitRepo::new(
                    url,
                    self.inner.workdir.join(&name[..32]),
                    self.inner.workdir.clone(),
                    self.inner.refs_ttl,
                    self.inner.runner.clone(),
                    Arc::downgrade(&self.inner),
                ))
            })
            .clone()
    }
}

impl Inner {
    /// Keeps the mirrors within `max_size`: removes whole mirrors, least
    /// recently used first, never one in use (a request holds it, or a read
    /// or fetch is under way). Called after every fetch.
    async fn enforce_budget(&self) {
        let Ok(_one) = self.budget.try_lock() else {
            return;
        };
        let mut mirrors = Vec::new();
        let Ok(entries) = fs_err::read_dir(&self.workdir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if name.starts_with(INIT_PREFIX) || !path.join("objects").is_dir() {
                continue;
            }
            mirrors.push((disk_usage(&path), path));
        }
        let total: u64 = mirrors.iter().map(|(size, _)| size).sum();
        metrics::gauge!("modgate_vcs_mirrors_bytes").set(total as f64);
        if self.max_size == 0 || total <= self.max_size {
            return;
        }
        let known: Vec<Arc<GitRepo>> = lock(&self.repos).values().cloned().collect();
        let used = |path: &PathBuf| {
            known
                .iter()
                .find(|r| r.dir() == path.as_path())
                .map_or(0, |r| r.last_used())
        };
        mirrors.sort_by_key(|(_, path)| used(path));
        let mut total = total;
        for (size, path) in mirrors {
            if total <= self.max_size {
                break;
            }
            let repo = known.iter().find(|r| r.dir() == path.as_path());
            // The map holds one reference; any other is a request using it.
            let evicted = match repo {
                Some(repo) if Arc::strong_count(repo) > 2 => false,
                Some(repo) => repo.evict().await,
                None => fs_err::remove_dir_all(&path).is_ok(),
            };
            if evicted {
                total -= size;
                metrics::counter!("modgate_vcs_evictions_total").increment(1);
                tracing::info!(mirror = %path.display(), bytes = size, "evicted a git mirror (--vcs-max-size)");
            }
        }
        metrics::gauge!("modgate_vcs_mirrors_bytes").set(total as f64);
    }
}

/// Bytes under `dir`, recursively (a mirror's packs, refs and config).
fn disk_usage(dir: &std::path::Path) -> u64 {
    let Ok(entries) = fs_err::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => disk_usage(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevInfo {
    /// Full hex hash.
    pub hash: String,
    /// Committer time, in seconds since the Unix epoch.
    pub time: i64,
    /// Tags pointing at the commit, sorted.
    pub tags: Vec<String>,
}

impl RevInfo {
    /// The hash shortened as go's `ShortenSHA1` does: 12 digits of a SHA-1.
    pub fn short(&self) -> &str {
        if self.hash.len() == 40 {
            &self.hash[..12]
        } else {
            &self.hash
        }
    }
}

/// The branches and tags a remote advertised: `HEAD`, `refs/heads/x` and
/// `refs/tags/y`, each naming a commit (annotated tags peeled), as go's
/// `loadRefs` records them.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Refs {
    refs: BTreeMap<String, String>,
}

impl Refs {
    /// Parses `git ls-remote` output.
    fn parse(out: &str) -> Refs {
        let mut refs = BTreeMap::new();
        let mut peeled = Vec::new();
        for line in out.lines() {
            let mut fields = line.split_whitespace();
            let (Some(hash), Some(name), None) = (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            let wanted =
                name == "HEAD" || name.starts_with("refs/heads/") || name.starts_with("refs/tags/");
            // Hashes end up on git command lines.
            if !wanted || !all_hex(hash) {
                continue;
            }
            match name.strip_suffix("^{}") {
                Some(tag) => peeled.push((tag, hash)),
                None => {
                    refs.insert(name.to_owned(), hash.to_owned());
                }
            }
        }
        // The commit an annotated tag points at, not the tag object.
        for (tag, hash) in peeled {
            refs.insert(tag.to_owned(), hash.to_owned());
        }
        Refs { refs }
    }

    /// The commit of the remote's default branch.
    pub fn head(&self) -> Option<&str> {
        self.get("HEAD")
    }

    /// The commit `name` (`HEAD`, `refs/heads/x`, `refs/tags/y`) names.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.refs.get(name).map(String::as_str)
    }

    /// Tags starting with `prefix`, as (name without `refs/tags/`, commit),
    /// sorted by name.
    pub fn tags(&self, prefix: &str) -> Vec<(String, String)> {
        let start = format!("refs/tags/{prefix}");
        self.refs
            .range(start.clone()..)
            .take_while(|(name, _)| name.starts_with(&start))
            .map(|(name, hash)| (name["refs/tags/".len()..].to_owned(), hash.clone()))
            .collect()
    }

    fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.refs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// Lower-case hex only, as go's `AllHex`.
fn all_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}
