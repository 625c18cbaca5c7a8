//! Module code straight from git, as the go command's direct mode gets it
//! (cmd/go/internal/modfetch/codehost/git.go): which commit a revision names,
//! its time and tags, files and archives of it must come out exactly as go
//! computes them, or hashes and versions would not match.
//!
//! We run the `git` binary, in the user's environment, so that their
//! configuration applies: `url.insteadOf`, credential helpers, ssh, `.netrc`.
//! Each remote gets one bare mirror under the work directory, readable by
//! modgate's user alone (a mirror's config holds its URL, credentials too).
//!
//! A URL a request chose (one a go-get page named) is held to more: https
//! or ssh only, no option-like parts, its host's addresses checked against
//! the destination policy before every remote command (and pinned for
//! https), a short `ls-remote`, and few git processes per host, so that no
//! host can take the whole `--max-git-processes`.

mod batch;
mod error;
mod repo;
pub(crate) mod run;
#[cfg(test)]
mod tests;

pub(crate) use modgate_redact::redact_text as redact;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use modgate_net::DestinationPolicy;
use modgate_redact::Chain;
use sha2::{Digest, Sha256};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub use error::{GitFailure, VcsError};
pub use repo::{GitRepo, TreeEntry, TreeKind};
pub(crate) use run::Runner;

/// git processes at once for one host whose URL a request chose.
const PER_GUARDED_HOST: usize = 2;
/// `ls-remote` of such a URL: a real host answers in seconds.
const GUARDED_LS_REMOTE_TIMEOUT: Duration = Duration::from_secs(30);

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
    /// Where git may connect for URLs a request chose.
    pub policy: Arc<DestinationPolicy>,
}

/// All repositories. Cheap to clone and share.
#[derive(Clone)]
pub struct Git {
    inner: Arc<Inner>,
}

struct Inner {
    workdir: PathBuf,
    /// The work directory, open and locked (flock) shared until the
    /// process ends, as by every modgate using it: whoever gets it alone at
    /// start knows no live modgate, and no git of one, writes a mirror.
    /// Every git that writes a mirror holds it too ([`run::Cmd::inherit`]),
    /// so one that outlives a killed modgate keeps its lock files.
    lock: std::fs::File,
    refs_ttl: Duration,
    max_size: u64,
    runner: Arc<Runner>,
    repos: Mutex<HashMap<String, Arc<GitRepo>>>,
    /// One budget check at a time.
    budget: tokio::sync::Mutex<()>,
    policy: Arc<DestinationPolicy>,
    /// Half the git processes, at most, for URLs a request chose...
    guarded_pool: Arc<Semaphore>,
    /// ...and [`PER_GUARDED_HOST`] of those per host.
    guarded_hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl Git {
    /// Creates the work directory and, unless another live modgate uses
    /// it, heals what a crash (a kill -9, a power cut) left: mirrors half
    /// built, and the lock files of a killed git, which would refuse every
    /// later fetch (`shallow.lock`: every shallow one). Runs no git.
    pub fn new(settings: GitSettings) -> Result<Git, VcsError> {
        fs_err::create_dir_all(&settings.workdir)?;
        {
            use std::os::unix::fs::PermissionsExt;
            fs_err::set_permissions(&settings.workdir, std::fs::Permissions::from_mode(0o700))?;
        }
        // The directory itself: a lock file would be one more entry among
        // the mirrors.
        let lock = fs_err::File::open(&settings.workdir)?.into_parts().0;
        match flock(&lock, libc::LOCK_EX | libc::LOCK_NB) {
            Ok(()) => heal(&settings.workdir)?,
            Err(e) if e.raw_os_error() == Some(libc::EWOULDBLOCK) => {
                tracing::info!(workdir = %settings.workdir.display(), "another modgate uses these git mirrors: leaving their lock files alone");
            }
            Err(e) => return Err(e.into()),
        }
        // Shared from now on (after a healing one, if another is at it).
        flock(&lock, libc::LOCK_SH)?;
        Ok(Git {
            inner: Arc::new(Inner {
                lock,
                workdir: settings.workdir,
                refs_ttl: settings.refs_ttl,
                max_size: settings.max_size,
                runner: Arc::new(Runner::new(settings.max_processes, settings.timeout)),
                repos: Mutex::new(HashMap::new()),
                budget: tokio::sync::Mutex::new(()),
                policy: settings.policy,
                guarded_pool: Arc::new(Semaphore::new((settings.max_processes / 2).max(1))),
                guarded_hosts: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The repository at `url`, a URL of the operator's (the known code
    /// hosts, `--repo-map`): the same one for the same URL.
    pub fn repo(&self, url: &str) -> Arc<GitRepo> {
        self.repo_with(url.to_owned(), url, None)
    }

    /// The repository at `url`, which a request chose (a go-get page named
    /// it): refused unless it is an https or ssh URL git reads as we do,
    /// with no part git could take for an option, on no internal address.
    pub fn guarded_repo(&self, url: &str) -> Result<Arc<GitRepo>, VcsError> {
        let target = Target::parse(url, &self.inner.policy).map_err(|reason| {
            tracing::info!(url = %redact(url), %reason, "refused a git URL a go-get page named");
            VcsError::Refused {
                url: redact(url),
                reason,
            }
        })?;
        let guard = Guard {
            policy: self.inner.policy.clone(),
            pool: self.inner.guarded_pool.clone(),
            slots: self.host_slots(&target.host),
            target,
        };
        // Apart from the operator's repository of the same URL: the
        // mirrors differ in how git may reach them.
        Ok(self.repo_with(format!("guarded {url}"), url, Some(guard)))
    }

    /// What the other version control systems share with git: the process
    /// limit and timeout, the work directory (open and locked, see
    /// `Inner::lock`) and the destination policy.
    pub(crate) fn shared(&self) -> Shared {
        Shared {
            runner: self.inner.runner.clone(),
            workdir: self.inner.workdir.clone(),
            lock: std::os::fd::AsRawFd::as_raw_fd(&self.inner.lock),
            policy: self.inner.policy.clone(),
            refs_ttl: self.inner.refs_ttl,
            max_size: self.inner.max_size,
            guarded_pool: self.inner.guarded_pool.clone(),
            owner: self.clone(),
        }
    }

    /// The processes one host whose URLs a request chose may run at once,
    /// shared by git and the other systems.
    pub(crate) fn host_slots(&self, host: &str) -> Arc<Semaphore> {
        lock(&self.inner.guarded_hosts)
            .entry(host.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(PER_GUARDED_HOST)))
            .clone()
    }

    fn repo_with(&self, key: String, url: &str, guard: Option<Guard>) -> Arc<GitRepo> {
        let mut repos = lock(&self.inner.repos);
        repos
            .entry(key)
            .or_insert_with_key(|key| {
                // Named by a hash: the URL may hold credentials.
                let name = format!("{:x}", Sha256::digest(key.as_bytes()));
                Arc::new(GitRepo::new(
                    url,
                    self.inner.workdir.join(&name[..32]),
                    self.inner.workdir.clone(),
                    self.inner.refs_ttl,
                    self.inner.runner.clone(),
                    Arc::downgrade(&self.inner),
                    guard,
                ))
            })
            .clone()
    }
}

/// See [`Git::shared`].
pub(crate) struct Shared {
    pub runner: Arc<Runner>,
    pub workdir: PathBuf,
    pub lock: std::os::fd::RawFd,
    pub policy: Arc<DestinationPolicy>,
    pub refs_ttl: Duration,
    pub max_size: u64,
    /// The processes all URLs a request chose may run at once (half).
    pub guarded_pool: Arc<Semaphore>,
    /// Keeps `lock` open.
    pub owner: Git,
}

/// The host git will connect to for a guarded URL.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    /// As in the URL: a name, or a checked IP literal (`[…]` for IPv6).
    host: String,
    port: u16,
    https: bool,
}

impl Target {
    /// The target of `url`, or why git must not be run on it.
    fn parse(url: &str, policy: &DestinationPolicy) -> Result<Target, String> {
        // git reads a leading `-` as an option, whatever `--` is for.
        if url.starts_with('-') {
            return Err("it starts with `-`".to_owned());
        }
        // Anything where the url crate and git's (or curl's) parsers might
        // read different hosts is refused rather than guessed at.
        if url.chars().any(|c| !c.is_ascii_graphic() || c == '\\') {
            return Err(
                "it has spaces, control characters, `\\` or non-ASCII characters".to_owned(),
            );
        }
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            "only https:// and ssh:// URLs are allowed for repositories a go-get page names"
                .to_owned()
        })?;
        let scheme = scheme.to_ascii_lowercase();
        let (https, default_port) = match scheme.as_str() {
            "https" => (true, 443),
            "ssh" | "git+ssh" | "ssh+git" => (false, 22),
            _ => {
                return Err(format!(
                    "protocol {scheme:?} not allowed: only https:// and ssh:// for repositories \
                     a go-get page names"
                ));
            }
        };
        let (parsed, host) = plain_host(url, rest)?;
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            policy.check_addr(bare, ip).map_err(|e| e.to_string())?;
        }
        Ok(Target {
            host: host.to_ascii_lowercase(),
            port: parsed.port().unwrap_or(default_port),
            https,
        })
    }
}

/// `url` (`rest` being what follows its `://`) parsed, and its host, when
/// the url crate reads the host written there plainly and neither the host
/// nor the user name starts with `-`: where the url crate and a tool's own
/// parser might read different hosts, the URL is refused, not guessed at.
pub(crate) fn plain_host(url: &str, rest: &str) -> Result<(url::Url, String), String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("invalid URL: {e}"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let (user, host_port) = match authority.rsplit_once('@') {
        Some((user, host)) => (user, host),
        None => ("", authority),
    };
    let raw_host = match host_port.strip_prefix('[') {
        Some(v6) => &host_port[..v6.find(']').map_or(host_port.len(), |i| i + 2)],
        None => host_port.split(':').next().unwrap_or_default(),
    };
    let host = parsed.host_str().unwrap_or_default().to_owned();
    if host.is_empty() || !raw_host.eq_ignore_ascii_case(&host) {
        return Err(format!(
            "its host {raw_host:?} is not written plainly (read as {host:?})"
        ));
    }
    if host.starts_with('-') || user.starts_with('-') {
        return Err("its host or user name starts with `-`".to_owned());
    }
    Ok((parsed, host))
}

/// What git on a guarded URL is held to.
struct Guard {
    target: Target,
    policy: Arc<DestinationPolicy>,
    pool: Arc<Semaphore>,
    slots: Arc<Semaphore>,
}

/// Leave to run one remote git command (on a guarded URL: its permits).
#[derive(Default)]
struct Admitted {
    _slot: Option<OwnedSemaphorePermit>,
    _pool: Option<OwnedSemaphorePermit>,
    /// `-c` options to put before the command: the checked addresses,
    /// pinned, so that git's own DNS answer cannot differ (https; ssh
    /// resolves by itself).
    config: Vec<String>,
}

impl Guard {
    async fn admit(&self, redacted: &str) -> Result<Admitted, VcsError> {
        // The host's slot first: a host that stalls waits on its own.
        let slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .expect("never closed");
        let pool = self
            .pool
            .clone()
            .acquire_owned()
            .await
            .expect("never closed");
        let Target { host, port, https } = &self.target;
        let addrs = self.policy.resolve(host, *port).await.map_err(|e| {
            tracing::info!(url = %redacted, reason = %Chain(&e), "refused git on a URL a go-get page named");
            VcsError::Refused {
                url: redacted.to_owned(),
                reason: e.to_string(),
            }
        })?;
        let mut config = Vec::new();
        if *https && !host.starts_with('[') && host.parse::<IpAddr>().is_err() {
            let pinned: Vec<String> = addrs
                .iter()
                .map(|a| match a.ip() {
                    IpAddr::V4(v4) => v4.to_string(),
                    IpAddr::V6(v6) => format!("[{v6}]"),
                })
                .collect();
            config.push("-c".to_owned());
            config.push(format!(
                "http.curloptResolve={host}:{port}:{}",
                pinned.join(",")
            ));
        }
        Ok(Admitted {
            _slot: Some(slot),
            _pool: Some(pool),
            config,
        })
    }
}

impl Admitted {
    /// `args` after the `-c` options.
    fn args<'a>(&'a self, args: &[&'a str]) -> Vec<&'a str> {
        self.config
            .iter()
            .map(String::as_str)
            .chain(args.iter().copied())
            .collect()
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
        let mirrors_gauge = metrics::gauge!("modgate_vcs_mirrors");
        mirrors_gauge.set(mirrors.len() as f64);
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
                mirrors_gauge.decrement(1.0);
                metrics::counter!("modgate_vcs_evictions_total").increment(1);
                tracing::info!(mirror = %path.display(), bytes = size, "evicted a git mirror (--vcs-max-size)");
            }
        }
        metrics::gauge!("modgate_vcs_mirrors_bytes").set(total as f64);
    }
}

/// flock(2), retried when a signal interrupts it.
fn flock(file: &std::fs::File, op: libc::c_int) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    loop {
        // SAFETY: flock(2) on a descriptor `file` owns; no memory involved.
        if unsafe { libc::flock(file.as_raw_fd(), op) } == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// What crashed modgates and their gits left in `workdir`, which no live
/// one uses: half-built mirrors go; in each mirror, git's lock files
/// (`shallow.lock`, `packed-refs.lock`, `config.lock`, `HEAD.lock`,
/// `index.lock`, `refs/**.lock`, `objects/info/*.lock`) and the temporary
/// packs of an unfinished fetch; and alternates, which no mirror has. Only modgate writes its mirrors, so none
/// of these belongs to a git still running.
fn heal(workdir: &std::path::Path) -> Result<(), VcsError> {
    let mut removed = 0;
    for entry in fs_err::read_dir(workdir)? {
        let path = entry?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name.starts_with(INIT_PREFIX) {
            fs_err::remove_dir_all(&path)?;
        } else if path.join("objects").is_dir() {
            removed += remove_matching(&path, false, &|n| n.ends_with(".lock"))?;
            removed += remove_matching(&path.join("refs"), true, &|n| n.ends_with(".lock"))?;
            // Alternates would make git read another repository's objects:
            // modgate never writes them.
            removed += remove_matching(&path.join("objects/info"), false, &|n| {
                n.ends_with(".lock") || n == "alternates" || n == "http-alternates"
            })?;
            removed += remove_matching(&path.join("objects/pack"), false, &|n| {
                n.starts_with("tmp_") || n.ends_with(".lock")
            })?;
        }
    }
    if removed > 0 {
        tracing::warn!(workdir = %workdir.display(), files = removed, "removed the lock and temporary files of git processes killed with an earlier modgate");
    }
    Ok(())
}

/// Removes the files in `dir` (and its subdirectories, if `deep`) whose
/// names `matches`; how many.
fn remove_matching(
    dir: &std::path::Path,
    deep: bool,
    matches: &dyn Fn(&str) -> bool,
) -> std::io::Result<usize> {
    let entries = match fs_err::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            if deep {
                removed += remove_matching(&path, deep, matches)?;
            }
        } else if matches(&entry.file_name().to_string_lossy()) {
            fs_err::remove_file(&path)?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Bytes under `dir`, recursively (a mirror's packs, refs and config, or
/// another system's clone).
pub(crate) fn disk_usage(dir: &std::path::Path) -> u64 {
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
    /// The time's fraction of a second: svn's log has microseconds, which
    /// go keeps in `.info`; 0 for the others.
    pub nanos: i32,
    /// Tags pointing at the commit, sorted.
    pub tags: Vec<String>,
    /// The revision asked for, as go's `RevInfo.Version` for the other
    /// version control systems (hg, svn, bzr, fossil), whose tags are
    /// recognised by it; `None` for git, whose tags are in `tags`.
    pub version: Option<String>,
}

impl RevInfo {
    /// The name pseudo-versions use: go's `ShortenSHA1` (12 digits of a
    /// SHA-1), or a revision number zero-padded to 12 digits (svn, bzr).
    pub fn short(&self) -> String {
        if self.hash.len() == 40 && all_hex(&self.hash) {
            self.hash[..12].to_owned()
        } else if !self.hash.is_empty() && self.hash.bytes().all(|b| b.is_ascii_digit()) {
            format!("{:0>12}", self.hash)
        } else {
            self.hash.clone()
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
    pub fn parse(out: &str) -> Refs {
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
