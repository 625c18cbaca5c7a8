//! Modules on Mercurial, Subversion, Bazaar and Fossil, read as the go
//! command reads them (cmd/go/internal/modfetch/codehost/vcs.go): the same
//! commands of each system's own binary, the same parsing of their output
//! and the same archives, so that versions and hashes are go's.
//!
//! Like git, they run under the one process limit and timeout (git's
//! [`Runner`]), each in a session of its own, with no prompts; revisions and
//! paths that could be read as options are refused, only go's transports
//! are used (plain ones for `--insecure` paths only), and the destination
//! of a URL a request chose is checked before every command that reaches
//! it. hg, bzr and fossil keep a local clone under the work directory,
//! built aside and renamed into place; svn reads the remote every time, as
//! in go.

mod parse;
mod target;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use modgate_redact::Chain;
use sha2::{Digest, Sha256};

use crate::git::run::{Exec, Finished, Runner};
use crate::git::{GitFailure, RevInfo, Shared, VcsError, redact};
use crate::host::CodeHost;
use target::Target;

/// Enough of the stdout of a command that only reports (clone, pull,
/// archive); the rest is an error.
const CHATTER: u64 = 1 << 20;

/// Where a clone is built before it is renamed into place (`Git::new`
/// removes leftovers of a crash, as for git mirrors).
const INIT_PREFIX: &str = ".init-";

/// A version control system other than git.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Hg,
    Svn,
    Bzr,
    Fossil,
}

impl Kind {
    /// The system go-import names `cmd` (`vcsByCmd`).
    pub fn from_cmd(cmd: &str) -> Option<Kind> {
        match cmd {
            "hg" => Some(Kind::Hg),
            "svn" => Some(Kind::Svn),
            "bzr" => Some(Kind::Bzr),
            "fossil" => Some(Kind::Fossil),
            _ => None,
        }
    }

    /// The command, and go's name for the system.
    pub fn cmd(self) -> &'static str {
        match self {
            Kind::Hg => "hg",
            Kind::Svn => "svn",
            Kind::Bzr => "bzr",
            Kind::Fossil => "fossil",
        }
    }

    /// go's `latest` revision of the system.
    fn latest(self) -> &'static str {
        match self {
            Kind::Hg => "tip",
            Kind::Svn => "latest",
            Kind::Bzr => "revno:-1",
            Kind::Fossil => "trunk",
        }
    }

    /// go's `badLocalRevRE`: names that must not be answered from the
    /// clone before it is brought up to date.
    fn bad_local(self, rev: &str) -> bool {
        match self {
            Kind::Hg => rev == "tip",
            Kind::Bzr => rev.starts_with("revno:-"),
            Kind::Svn | Kind::Fossil => false,
        }
    }

    /// Whether go's `Origin.Hash` names the commit: hg's node and fossil's
    /// hash do; svn and bzr revision numbers go leaves out.
    pub fn origin_hash(self) -> bool {
        matches!(self, Kind::Hg | Kind::Fossil)
    }

    /// Whether the system keeps a local clone (svn does not, as in go).
    fn clones(self) -> bool {
        self != Kind::Svn
    }
}

/// Every repository of the other systems. Cheap to share.
pub struct Others {
    shared: Shared,
    repos: Mutex<HashMap<String, Arc<OtherRepo>>>,
}

impl Others {
    pub(crate) fn new(shared: Shared) -> Others {
        Others {
            shared,
            repos: Mutex::new(HashMap::new()),
        }
    }

    /// The repository of system `kind` at `url`: refused unless `url` is
    /// one of go's transports for it (a plain one only if `insecure`), has
    /// no part the tool could read as an option, and (if `guarded`: a page
    /// a request chose named it) is on no internal address.
    pub fn repo(
        &self,
        kind: Kind,
        url: &str,
        guarded: bool,
        insecure: bool,
    ) -> Result<Arc<OtherRepo>, VcsError> {
        let policy = guarded.then_some(&*self.shared.policy);
        let target = Target::parse(kind, url, insecure, policy).map_err(|reason| {
            tracing::info!(url = %redact(url), vcs = kind.cmd(), %reason, "refused a repository URL");
            VcsError::Refused {
                url: redact(url),
                reason,
            }
        })?;
        let key = format!("{} {guarded} {url}", kind.cmd());
        let mut repos = crate::git::lock(&self.repos);
        if repos.len() > 4096 {
            repos.retain(|_, r| Arc::strong_count(r) > 1);
        }
        Ok(repos
            .entry(key)
            .or_insert_with_key(|key| {
                // Named by a hash: the URL may hold credentials.
                let name = format!("{:x}", Sha256::digest(key.as_bytes()));
                Arc::new(OtherRepo {
                    kind,
                    url: url.to_owned(),
                    redacted: redact(url),
                    dir: self
                        .shared
                        .workdir
                        .join(format!("{}-{}", kind.cmd(), &name[..32])),
                    workdir: self.shared.workdir.clone(),
                    runner: self.shared.runner.clone(),
                    lock: self.shared.lock,
                    refresh: self.shared.refs_ttl,
                    max_size: self.shared.max_size,
                    guard: guarded.then(|| Guard {
                        slots: self.shared.owner.host_slots(&target.host),
                        pool: self.shared.guarded_pool.clone(),
                        target,
                    }),
                    policy: self.shared.policy.clone(),
                    state: tokio::sync::Mutex::new(State::default()),
                    _owner: self.shared.owner.clone(),
                })
            })
            .clone())
    }
}

/// What commands on a URL a request chose are held to, as git's are.
struct Guard {
    target: Target,
    /// The host's processes (shared with git)...
    slots: Arc<tokio::sync::Semaphore>,
    /// ...within half of all processes.
    pool: Arc<tokio::sync::Semaphore>,
}

/// Leave for one command on a guarded URL.
type Admitted = Option<(
    tokio::sync::OwnedSemaphorePermit,
    tokio::sync::OwnedSemaphorePermit,
)>;

/// One remote repository of hg, svn, bzr or fossil: go's `vcsRepo`.
pub struct OtherRepo {
    kind: Kind,
    url: String,
    redacted: String,
    /// The local clone (hg, bzr: the repository; fossil: `.fossil` in
    /// it); for svn, where exports are staged.
    dir: PathBuf,
    workdir: PathBuf,
    runner: Arc<Runner>,
    /// The work directory's lock, held by every command that writes a clone.
    lock: std::os::fd::RawFd,
    /// How long a pull is taken as current.
    refresh: Duration,
    max_size: u64,
    /// For a URL a request chose: where its commands connect, checked
    /// before each one, and the processes they may take.
    guard: Option<Guard>,
    policy: Arc<modgate_net::DestinationPolicy>,
    /// Held by every command, as go's `r.mu`.
    state: tokio::sync::Mutex<State>,
    /// Keeps the work directory's lock open.
    _owner: crate::git::Git,
}

#[derive(Default)]
struct State {
    /// When the clone was last made or pulled (svn: when the tags were read).
    fetched: Option<Instant>,
    /// go's `tags` and `branches`, read once per fetch.
    tags: Option<Vec<String>>,
    branches: Option<HashSet<String>>,
    /// Answers of the clone, which only change when it is pulled (svn:
    /// those of revision numbers, which never change).
    stats: HashMap<String, RevInfo>,
    files: HashMap<(String, String), Option<Bytes>>,
}

/// Answers kept per repository before the cache starts over.
const CACHE_ENTRIES: usize = 4096;
/// Larger files are read again every time.
const CACHED_FILE_MAX: usize = 64 << 10;

impl State {
    /// Forgets what the clone said before it changed.
    fn forget(&mut self) {
        self.tags = None;
        self.branches = None;
        self.stats.clear();
        self.files.clear();
    }
}

impl OtherRepo {
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The URL, credentials masked.
    pub fn redacted(&self) -> &str {
        &self.redacted
    }

    /// The tool with `args` in `dir`: no prompts, English messages, no user
    /// aliases or defaults (HGPLAIN), its own session.
    fn command(&self, dir: &Path, args: &[&str]) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(self.kind.cmd());
        match self.kind {
            Kind::Hg => {
                command
                    .args(["--config", "ui.interactive=false", "--noninteractive"])
                    .env("HGPLAIN", "1");
            }
            Kind::Svn => {
                command.arg("--non-interactive");
            }
            Kind::Bzr | Kind::Fossil => {}
        }
        if self.kind == Kind::Fossil && std::env::var_os(modgate_env::USER).is_none() {
            // fossil refuses to clone without a user name; any will do.
            command.env(modgate_env::USER, "modgate");
        }
        if self.kind == Kind::Fossil && std::env::var_os(modgate_env::FOSSIL_HOME).is_none() {
            // fossil keeps a global database of its clones: modgate's own.
            command.env(modgate_env::FOSSIL_HOME, self.workdir.join(".fossil-home"));
        }
        command
            .args(args)
            .current_dir(dir)
            .env("LC_ALL", "C")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        // A session of its own, so also its own process group (a timeout
        // ends the ssh it runs too), and no controlling terminal: ssh (for
        // ssh://, svn+ssh://, bzr+ssh://) fails rather than asks for a
        // password on modgate's terminal.
        // SAFETY: setsid(2) is async-signal-safe and touches no memory.
        unsafe {
            command.pre_exec(|| {
                if libc::setsid() == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        command
    }

    fn display(&self, args: &[&str]) -> String {
        redact(&format!(
            "{} {} in {}",
            self.kind.cmd(),
            args.join(" "),
            self.redacted
        ))
    }

    /// Runs the tool in `dir`; stdout (at most `max` bytes, else
    /// [`VcsError::TooLarge`]) and how it ended. `remote`: it reaches the
    /// remote, so a guarded URL's destination is checked first.
    async fn run(
        &self,
        dir: &Path,
        args: &[&str],
        max: u64,
        remote: bool,
        writes: bool,
    ) -> Result<(Vec<u8>, Finished), VcsError> {
        let _admitted = if remote { self.admit().await? } else { None };
        let mut command = self.command(dir, args);
        if writes {
            let fd = self.lock;
            // SAFETY: fcntl(2) is async-signal-safe and touches no memory;
            // it clears close-on-exec in the child only.
            unsafe {
                command.pre_exec(move || {
                    if libc::fcntl(fd, libc::F_SETFD, 0) == -1 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let display = self.display(args);
        let mut out = Vec::new();
        let finished = self
            .runner
            .exec(command, &display, self.runner.timeout(), &mut out, max)
            .await
            .map_err(|e| match e {
                Exec::NotFound(_) if dir.is_dir() => VcsError::ToolNotFound {
                    tool: self.kind.cmd(),
                },
                Exec::NotFound(e) => VcsError::Io(e),
                Exec::Failed(e) => e,
            })?;
        if finished.stdout_len > max {
            return Err(VcsError::TooLarge { what: display, max });
        }
        Ok((out, finished))
    }

    /// [`Self::run`] that must succeed: a failure is classified as git's
    /// are, and what the tool said goes to the log only.
    async fn output(
        &self,
        dir: &Path,
        args: &[&str],
        max: u64,
        remote: bool,
        writes: bool,
    ) -> Result<Vec<u8>, VcsError> {
        let (out, finished) = self.run(dir, args, max, remote, writes).await?;
        if finished.status.success() {
            return Ok(out);
        }
        Err(self.failed(args, &finished))
    }

    fn failed(&self, args: &[&str], finished: &Finished) -> VcsError {
        let command = self.display(args);
        let failure = GitFailure::classify(&finished.stderr);
        tracing::info!(%command, status = %finished.status, stderr = ?finished.detail(), %failure, "vcs command failed");
        match failure {
            GitFailure::AuthRequired => VcsError::AuthRequired {
                url: self.redacted.clone(),
            },
            GitFailure::NotFound => VcsError::RepoNotFound {
                url: self.redacted.clone(),
            },
            failure => VcsError::Git {
                command,
                detail: match failure {
                    GitFailure::Other | GitFailure::Corrupt => {
                        format!(
                            "{} failed (the details are in modgate's log)",
                            self.kind.cmd()
                        )
                    }
                    failure => failure.to_string(),
                },
            },
        }
    }

    /// For a guarded URL: a process slot of its host, then of the guarded
    /// pool, and its host resolving to allowed addresses only.
    async fn admit(&self) -> Result<Admitted, VcsError> {
        let Some(guard) = &self.guard else {
            return Ok(None);
        };
        // The host's slot first: a host that stalls waits on its own.
        let slot = guard
            .slots
            .clone()
            .acquire_owned()
            .await
            .expect("never closed");
        let pool = guard
            .pool
            .clone()
            .acquire_owned()
            .await
            .expect("never closed");
        let target = &guard.target;
        self.policy
            .resolve(&target.host, target.port)
            .await
            .map(|_| Some((slot, pool)))
            .map_err(|e| {
                tracing::info!(url = %self.redacted, reason = %Chain(&e), "refused a command on a URL a go-get page named");
                VcsError::Refused {
                    url: self.redacted.clone(),
                    reason: e.to_string(),
                }
            })
    }

    /// Marks the clone used now: eviction takes the least recently used
    /// first, by this time.
    fn touch(&self) {
        if let Ok(dir) = std::fs::File::open(&self.dir) {
            // Best effort: a clone not marked is only evicted sooner.
            let _ = dir.set_modified(std::time::SystemTime::now());
        }
    }

    /// Makes the clone, or pulls it if the last pull is older than the
    /// refresh time, or it is gone (evicted). The caller holds the state.
    async fn fetch(&self, state: &mut State) -> Result<(), VcsError> {
        let fresh = state.fetched.is_some_and(|at| at.elapsed() < self.refresh);
        if fresh && (!self.kind.clones() || self.exists()) {
            return Ok(());
        }
        if self.kind.clones() {
            if self.exists() {
                let pull: &[&str] = match self.kind {
                    Kind::Hg => &["pull", "-f"],
                    Kind::Bzr => &["pull", "--overwrite-tags"],
                    Kind::Fossil => &["pull", "-R", ".fossil"],
                    Kind::Svn => &[],
                };
                let (_, finished) = self.run(&self.dir, pull, CHATTER, true, true).await?;
                if !finished.status.success() {
                    let interrupted = match self.kind {
                        Kind::Hg => finished.stderr.contains("abandoned transaction"),
                        Kind::Bzr => finished.stderr.contains("Could not acquire lock"),
                        Kind::Svn | Kind::Fossil => false,
                    };
                    if interrupted {
                        // A pull killed with an earlier modgate: start over.
                        tracing::warn!(repo = %self.redacted, vcs = self.kind.cmd(), "an interrupted pull left the clone unusable: cloning again");
                        fs_err::remove_dir_all(&self.dir)?;
                        return Box::pin(self.fetch(state)).await;
                    }
                    return Err(self.failed(pull, &finished));
                }
            } else {
                self.clone_fresh().await?;
            }
        }
        state.fetched = Some(Instant::now());
        state.forget();
        self.enforce_budget().await;
        Ok(())
    }

    fn exists(&self) -> bool {
        match self.kind {
            Kind::Hg => self.dir.join(".hg").is_dir(),
            Kind::Bzr => self.dir.join(".bzr").is_dir(),
            Kind::Fossil => self.dir.join(".fossil").is_file(),
            Kind::Svn => true,
        }
    }

    /// go's `init` command, run in a directory of its own, renamed into
    /// place once complete.
    async fn clone_fresh(&self) -> Result<(), VcsError> {
        let tmp = tempfile::Builder::new()
            .prefix(&format!("{INIT_PREFIX}{}-", self.kind.cmd()))
            .tempdir_in(&self.workdir)?;
        let url = self.url.as_str();
        let args: Vec<&str> = match self.kind {
            Kind::Hg => vec!["clone", "-U", "--", url, "."],
            Kind::Bzr => vec!["branch", "--use-existing-dir", "--", url, "."],
            Kind::Fossil => vec!["clone", "--", url, ".fossil"],
            Kind::Svn => return Ok(()),
        };
        self.output(tmp.path(), &args, CHATTER, true, true).await?;
        if self.dir.exists() {
            fs_err::remove_dir_all(&self.dir)?;
        }
        fs_err::rename(tmp.keep(), &self.dir)?;
        Ok(())
    }

    /// Where svn exports are staged: created on first use.
    fn svn_dir(&self) -> Result<&Path, VcsError> {
        fs_err::create_dir_all(&self.dir)?;
        Ok(&self.dir)
    }

    /// go's `Tags`: the tag list, read once per fetch.
    async fn load_tags(&self, state: &mut State) -> Result<Vec<String>, VcsError> {
        if let Some(tags) = &state.tags {
            return Ok(tags.clone());
        }
        let tags_url;
        let args: Vec<&str> = match self.kind {
            Kind::Hg => vec!["tags", "-q"],
            Kind::Bzr => vec!["tags"],
            Kind::Svn => {
                tags_url = format!(
                    "{}/tags",
                    self.url.strip_suffix("/trunk").unwrap_or(&self.url)
                );
                vec!["list", "--", &tags_url]
            }
            // go's pattern for fossil's tags matches nothing.
            Kind::Fossil => {
                state.tags = Some(Vec::new());
                return Ok(Vec::new());
            }
        };
        let dir = if self.kind == Kind::Svn {
            self.svn_dir()?.to_owned()
        } else {
            self.dir.clone()
        };
        // As go: a failure lists no tags.
        let tags = match self
            .run(&dir, &args, 64 << 20, self.kind == Kind::Svn, false)
            .await
        {
            Ok((out, finished)) if finished.status.success() => {
                parse::tags(self.kind, &String::from_utf8_lossy(&out))
            }
            Ok((_, finished)) => {
                let _ = self.failed(&args, &finished);
                Vec::new()
            }
            Err(e @ (VcsError::ToolNotFound { .. } | VcsError::Refused { .. })) => return Err(e),
            Err(_) => Vec::new(),
        };
        state.tags = Some(tags.clone());
        Ok(tags)
    }

    async fn load_branches(&self, state: &mut State) -> HashSet<String> {
        if let Some(branches) = &state.branches {
            return branches.clone();
        }
        let branches = match self.kind {
            Kind::Hg => match self
                .run(&self.dir, &["branches", "-c", "-q"], CHATTER, false, false)
                .await
            {
                Ok((out, finished)) if finished.status.success() => String::from_utf8_lossy(&out)
                    .lines()
                    .filter(|l| !l.is_empty() && !self.kind.bad_local(l))
                    .map(str::to_owned)
                    .collect(),
                _ => HashSet::new(),
            },
            _ => HashSet::new(),
        };
        state.branches = Some(branches.clone());
        branches
    }

    /// Whether answers about `rev` hold until the next fetch.
    fn cacheable(&self, rev: &str) -> bool {
        self.kind.clones() || rev.bytes().all(|b| b.is_ascii_digit())
    }

    /// [`Self::stat_local`], remembered until the next fetch.
    async fn stat_cached(&self, state: &mut State, rev: &str) -> Result<RevInfo, VcsError> {
        if let Some(info) = state.stats.get(rev) {
            return Ok(info.clone());
        }
        let info = self.stat_local(rev).await?;
        if self.cacheable(rev) {
            if state.stats.len() > CACHE_ENTRIES {
                state.stats.clear();
            }
            state.stats.insert(rev.to_owned(), info.clone());
        }
        Ok(info)
    }

    /// go's `statLocal`: any failure is an unknown revision.
    async fn stat_local(&self, rev: &str) -> Result<RevInfo, VcsError> {
        let unknown = || VcsError::UnknownRevision {
            rev: rev.to_owned(),
        };
        let target;
        let (dir, args): (PathBuf, Vec<&str>) = match self.kind {
            Kind::Hg => (
                self.dir.clone(),
                vec![
                    "log",
                    "-l1",
                    "-r",
                    rev,
                    "--template",
                    "{node} {date|hgdate} {tags}",
                ],
            ),
            Kind::Svn => {
                target = if rev == "latest" {
                    self.url.clone()
                } else {
                    format!("{}@{rev}", self.url)
                };
                (
                    self.svn_dir()?.to_owned(),
                    vec!["log", "-l1", "--xml", "--", &target],
                )
            }
            Kind::Bzr => (
                self.dir.clone(),
                vec!["log", "-l1", "--long", "--show-ids", "-r", rev],
            ),
            Kind::Fossil => (self.dir.clone(), vec!["info", "-R", ".fossil", rev]),
        };
        let (out, finished) = match self
            .run(&dir, &args, CHATTER, self.kind == Kind::Svn, false)
            .await
        {
            Ok(ran) => ran,
            Err(
                e @ (VcsError::ToolNotFound { .. }
                | VcsError::Refused { .. }
                | VcsError::Timeout { .. }),
            ) => {
                return Err(e);
            }
            Err(_) => return Err(unknown()),
        };
        if !finished.status.success() {
            tracing::debug!(command = %self.display(&args), stderr = ?finished.detail(), "unknown revision");
            return Err(unknown());
        }
        let out = String::from_utf8_lossy(&out);
        parse::stat(self.kind, rev, &out).map_err(|detail| VcsError::Git {
            command: self.display(&args),
            detail,
        })
    }

    /// Writes the archive go's `ReadZip` makes of `rev` (`subdir` only,
    /// unless empty) to `dest`: a zip with every file under one top-level
    /// directory. More than `max` bytes is an error.
    pub async fn archive(
        &self,
        rev: &str,
        subdir: &str,
        dest: &Path,
        max: u64,
    ) -> Result<(), VcsError> {
        check_rev(rev)?;
        check_path(subdir)?;
        let mut state = self.state.lock().await;
        self.touch();
        if self.kind.clones() && !self.exists() {
            // Evicted since the stat that named `rev`.
            self.fetch(&mut state).await?;
        }
        let dest_str = dest
            .to_str()
            .ok_or_else(|| VcsError::Io(std::io::Error::other("staging path is not UTF-8")))?;
        let include;
        let fossil_repo;
        match self.kind {
            Kind::Hg => {
                let mut args = vec![
                    "archive",
                    "-t",
                    "zip",
                    "--no-decode",
                    "-r",
                    rev,
                    "--prefix=prefix/",
                ];
                if !subdir.is_empty() {
                    include = format!("{subdir}/**");
                    args.extend(["-I", &include]);
                }
                args.extend(["--", dest_str]);
                self.output(&self.dir, &args, CHATTER, false, false).await?;
            }
            Kind::Bzr => {
                let mut args = vec![
                    "export",
                    "--format=zip",
                    "-r",
                    rev,
                    "--root=prefix/",
                    "--",
                    dest_str,
                ];
                if !subdir.is_empty() {
                    include = format!("./{subdir}");
                    args.push(&include);
                }
                self.output(&self.dir, &args, CHATTER, false, false).await?;
            }
            Kind::Fossil => {
                // As go (fossil fails to write to another directory than
                // the one it runs in): run where `dest` is.
                fossil_repo = self.dir.join(".fossil");
                let repo = fossil_repo.to_str().ok_or_else(|| {
                    VcsError::Io(std::io::Error::other("work directory is not UTF-8"))
                })?;
                let name = dest
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default();
                let mut args = vec!["zip", "-R", repo, "--name", "prefix"];
                if !subdir.is_empty() && !subdir.contains(['*', '?', '[', ']', ',']) {
                    args.extend(["--include", subdir]);
                }
                args.extend(["--", rev, name]);
                let dir = dest.parent().unwrap_or(Path::new("."));
                self.output(dir, &args, CHATTER, false, false).await?;
            }
            Kind::Svn => self.svn_zip(rev, subdir, dest, max).await?,
        }
        let size = fs_err::metadata(dest)?.len();
        if size > max {
            let _ = fs_err::File::create(dest);
            return Err(VcsError::TooLarge {
                what: format!("archive of {rev}"),
                max,
            });
        }
        Ok(())
    }

    /// go's `svnReadZip`: `svn list` names the files, `svn export` writes
    /// them, and they are zipped under the remote's base name.
    async fn svn_zip(
        &self,
        rev: &str,
        subdir: &str,
        dest: &Path,
        max: u64,
    ) -> Result<(), VcsError> {
        let dir = self.svn_dir()?.to_owned();
        let remote = if subdir.is_empty() {
            self.url.clone()
        } else {
            format!("{}/{subdir}", self.url)
        };
        let list_args = [
            "list",
            "--xml",
            "--incremental",
            "--recursive",
            "--revision",
            rev,
            "--",
            &remote,
        ];
        let listed = self.output(&dir, &list_args, 64 << 20, true, false).await?;
        let entries =
            parse::svn_list(&String::from_utf8_lossy(&listed)).map_err(|detail| VcsError::Git {
                command: self.display(&list_args),
                detail,
            })?;
        let export = tempfile::Builder::new()
            .prefix(INIT_PREFIX)
            .tempdir_in(&self.workdir)?;
        let export_dir = export.path().join("export");
        let export_str = export_dir
            .to_str()
            .ok_or_else(|| VcsError::Io(std::io::Error::other("work directory is not UTF-8")))?;
        let export_args = [
            "export",
            "--quiet",
            "--native-eol",
            "LF",
            "--ignore-externals",
            "--ignore-keywords",
            "--revision",
            rev,
            "--",
            &remote,
            export_str,
        ];
        self.output(&dir, &export_args, CHATTER, true, false)
            .await?;
        let base = self
            .url
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or("svn")
            .to_owned();
        let prefix = if subdir.is_empty() {
            base
        } else {
            format!("{base}/{subdir}")
        };
        let dest = dest.to_owned();
        tokio::task::spawn_blocking(move || {
            write_svn_zip(&dest, &prefix, &export_dir, &entries, max)
        })
        .await
        .map_err(|e| VcsError::Io(std::io::Error::other(e)))?
    }

    /// Keeps the clones within the size budget: removes whole clones of
    /// these systems not in use, least recently used first, while the work
    /// directory holds more than `max_size`.
    async fn enforce_budget(&self) {
        if self.max_size == 0 {
            return;
        }
        let total = crate::git::disk_usage(&self.workdir);
        if total <= self.max_size {
            return;
        }
        let Ok(entries) = fs_err::read_dir(&self.workdir) else {
            return;
        };
        let mut clones: Vec<(std::time::SystemTime, PathBuf)> = entries
            .flatten()
            .filter(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                ["hg-", "bzr-", "fossil-"]
                    .iter()
                    .any(|p| name.starts_with(p))
            })
            .filter(|e| e.path() != self.dir)
            .map(|e| {
                let modified = e
                    .metadata()
                    .and_then(|m| m.modified())
                    .unwrap_or(std::time::UNIX_EPOCH);
                (modified, e.path())
            })
            .collect();
        clones.sort();
        let mut total = total;
        for (_, path) in clones {
            if total <= self.max_size {
                break;
            }
            let size = crate::git::disk_usage(&path);
            // Renamed first, so no command sees it half removed.
            let aside = self.workdir.join(format!(
                "{INIT_PREFIX}evicted-{}",
                path.file_name().unwrap_or_default().to_string_lossy()
            ));
            if fs_err::rename(&path, &aside).is_ok() && fs_err::remove_dir_all(&aside).is_ok() {
                total = total.saturating_sub(size);
                metrics::counter!("modgate_vcs_evictions_total").increment(1);
                tracing::info!(clone = %path.display(), bytes = size, "evicted a clone (--vcs-max-size)");
            }
        }
    }
}

impl CodeHost for OtherRepo {
    async fn tags(&self, prefix: &str) -> Result<Vec<String>, VcsError> {
        let mut state = self.state.lock().await;
        self.touch();
        self.fetch(&mut state).await?;
        let mut tags: Vec<String> = self
            .load_tags(&mut state)
            .await?
            .into_iter()
            .filter(|t| t.starts_with(prefix))
            .collect();
        tags.sort();
        tags.dedup();
        Ok(tags)
    }

    async fn stat(&self, rev: &str) -> Result<RevInfo, VcsError> {
        let rev = if rev == "latest" {
            self.kind.latest()
        } else {
            check_rev(rev)?;
            rev
        };
        let mut state = self.state.lock().await;
        self.touch();
        if self.kind.clones() && !self.exists() {
            self.fetch(&mut state).await?;
        }
        let branches = self.load_branches(&mut state).await;
        let rev_ok = !self.kind.bad_local(rev) && !branches.contains(rev);
        if rev_ok && let Ok(info) = self.stat_cached(&mut state, rev).await {
            return Ok(info);
        }
        self.fetch(&mut state).await?;
        let mut info = self.stat_cached(&mut state, rev).await?;
        if !rev_ok {
            info.version = Some(info.hash.clone());
        }
        Ok(info)
    }

    async fn latest(&self) -> Result<RevInfo, VcsError> {
        self.stat("latest").await
    }

    async fn read_file(&self, hash: &str, path: &str, max: u64) -> Result<Option<Bytes>, VcsError> {
        check_rev(hash)?;
        check_path(path)?;
        let mut state = self.state.lock().await;
        self.touch();
        let key = (hash.to_owned(), path.to_owned());
        if let Some(found) = state.files.get(&key)
            && found.as_ref().is_none_or(|b| b.len() as u64 <= max)
        {
            return Ok(found.clone());
        }
        let target;
        let (dir, args): (PathBuf, Vec<&str>) = match self.kind {
            Kind::Hg => (self.dir.clone(), vec!["cat", "-r", hash, "--", path]),
            Kind::Svn => {
                target = format!("{}/{path}@{hash}", self.url);
                (self.svn_dir()?.to_owned(), vec!["cat", "--", &target])
            }
            Kind::Bzr => (self.dir.clone(), vec!["cat", "-r", hash, "--", path]),
            Kind::Fossil => (
                self.dir.clone(),
                vec!["cat", "-R", ".fossil", "-r", hash, path],
            ),
        };
        if self.kind.clones() && !self.exists() {
            // Evicted since the stat that named `hash`.
            self.fetch(&mut state).await?;
        }
        let (out, finished) = self
            .run(&dir, &args, max, self.kind == Kind::Svn, false)
            .await?;
        if !finished.status.success() && self.kind.clones() && !self.exists() {
            // Not "no such file": the clone went while the tool read it.
            return Err(self.failed(&args, &finished));
        }
        // As go: any failure is "no such file".
        let found: Option<Bytes> = finished.status.success().then(|| out.into());
        // A failure of svn, which asks the remote, may pass: not kept.
        let keep = found.is_some() || self.kind.clones();
        if keep && self.cacheable(hash) && found.as_ref().is_none_or(|b| b.len() <= CACHED_FILE_MAX)
        {
            if state.files.len() > CACHE_ENTRIES {
                state.files.clear();
            }
            state.files.insert(key, found.clone());
        }
        Ok(found)
    }

    async fn recent_tag(
        &self,
        _hash: &str,
        _prefix: &str,
        _allowed: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<Option<String>, VcsError> {
        Ok(None)
    }

    async fn descends_from(&self, _hash: &str, _tag: &str) -> Result<bool, VcsError> {
        Err(VcsError::Unsupported {
            what: format!("vcs {}: DescendsFrom", self.kind.cmd()),
        })
    }
}

/// Revisions reach the tools' command lines: names and hashes only, never
/// anything a tool could take for an option (`--config=…`), a revset or
/// a range.
pub fn check_rev(rev: &str) -> Result<(), VcsError> {
    let ok = !rev.is_empty()
        && rev.len() <= 256
        && !rev.starts_with(['-', '.', '/'])
        && !rev.contains("..")
        && rev
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'+' | b'/'));
    if ok {
        Ok(())
    } else {
        Err(VcsError::UnknownRevision {
            rev: rev.to_owned(),
        })
    }
}

/// Paths in the repository (a module's directory, its go.mod): plain
/// relative paths only.
fn check_path(path: &str) -> Result<(), VcsError> {
    let ok = !path.starts_with(['-', '/'])
        && !path.split('/').any(|e| e == ".." || e == ".")
        && !path
            .chars()
            .any(|c| c.is_control() || "*?[]{}:\\,".contains(c));
    if ok {
        Ok(())
    } else {
        Err(VcsError::PathNotFound {
            path: path.to_owned(),
        })
    }
}

/// The zip go writes from an svn export: each listed file, in list order,
/// under `prefix`.
fn write_svn_zip(
    dest: &Path,
    prefix: &str,
    export: &Path,
    entries: &[parse::SvnEntry],
    max: u64,
) -> Result<(), VcsError> {
    use zip::write::SimpleFileOptions;
    let file = fs_err::File::create(dest)?;
    let mut zw = zip::ZipWriter::new(std::io::BufWriter::new(file));
    let mut total = 0u64;
    for e in entries.iter().filter(|e| e.kind == "file") {
        check_path(&e.name).map_err(|_| VcsError::InvalidTree {
            detail: format!("svn listed the path {:?}", e.name),
        })?;
        total += e.size;
        if total > max {
            return Err(VcsError::TooLarge {
                what: "svn export".to_owned(),
                max,
            });
        }
        zw.start_file(format!("{prefix}/{}", e.name), SimpleFileOptions::default())
            .map_err(zip_error)?;
        let mut f = fs_err::File::open(export.join(&e.name))?;
        let n = std::io::copy(&mut f, &mut zw)?;
        if n != e.size {
            return Err(VcsError::InvalidTree {
                detail: format!(
                    "file size differs between 'svn list' and 'svn export': file {} listed as {} bytes, but exported as {n} bytes",
                    e.name, e.size
                ),
            });
        }
    }
    zw.finish().map_err(zip_error)?;
    Ok(())
}

fn zip_error(e: zip::result::ZipError) -> VcsError {
    VcsError::Io(std::io::Error::other(e))
}
