//! One remote repository and its bare mirror: go's `gitRepo`.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{self, AtomicBool, AtomicU64};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use modgate_redact::Chain;
use tokio::io::AsyncWriteExt;
use tokio::sync::{Mutex, RwLock};

use super::batch::{self, Batch, Object};
use super::run::{Cmd, Finished, Runner};
use super::{
    Admitted, GUARDED_LS_REMOTE_TIMEOUT, GitFailure, Guard, INIT_PREFIX, Refs, RevInfo, VcsError,
    all_hex, redact,
};

/// A remote with this many tags or fewer has them all fetched together.
const TAGS_TOGETHER: usize = 16;

/// One fetch in this many lets git check whether the mirror needs upkeep.
const MAINTENANCE_EVERY: u64 = 16;

/// Shorter hex strings are not taken for hashes (go's `minHashDigits`).
const MIN_HASH_DIGITS: usize = 7;

pub struct GitRepo {
    url: String,
    redacted: String,
    /// The bare mirror.
    dir: PathBuf,
    workdir: PathBuf,
    refs_ttl: Duration,
    runner: Arc<Runner>,
    /// The last `ls-remote`; held while one runs, so callers share it.
    refs: Mutex<Option<RefsAnswer>>,
    /// How much of the remote the mirror holds; held while fetching, so
    /// fetches of one repository run one at a time, as go's `r.mu`.
    fetched: Mutex<Fetched>,
    /// Reads of the mirror share it, fetches hold it alone: a read never
    /// sees a fetch half done (a branch written, its tag not yet).
    generation: RwLock<()>,
    /// Answers read from the mirror, which only change when it is fetched:
    /// go's per-process stat and file caches, emptied on every fetch.
    local: std::sync::Mutex<LocalCache>,
    /// Reads commits and files of the mirror.
    batch: Arc<Batch>,
    /// Fetches run, for [`MAINTENANCE_EVERY`].
    fetches: AtomicU64,
    /// A fetch of all tags together failed once: from then on each is
    /// fetched alone, rather than failing first every time.
    alone: AtomicBool,
    /// Milliseconds (of the process's clock) at the last use, for eviction.
    last_used: AtomicU64,
    /// The mirror was found corrupt and set aside once: a second time is
    /// an error, not another fetch.
    set_aside: AtomicBool,
    /// The mirrors' budget, enforced after each fetch.
    git: Weak<super::Inner>,
    /// For a URL a request chose.
    guard: Option<Guard>,
}

/// Commits by the revision that named them, and small files by `hash:path`.
#[derive(Default)]
struct LocalCache {
    commits: HashMap<String, RevInfo>,
    files: HashMap<String, Option<Bytes>>,
    /// The mirror's tags by the commit they point at (peeled), as `git
    /// log`'s decorations list them; read once per state of the mirror.
    tags: Option<Arc<HashMap<String, Vec<String>>>>,
}

/// Entries kept per repository before the cache starts over.
const LOCAL_CACHE_ENTRIES: usize = 4096;
/// Larger files are read from git every time.
const CACHED_FILE_MAX: usize = 64 << 10;

struct RefsAnswer {
    at: Instant,
    refs: Result<Arc<Refs>, VcsError>,
}

/// go's `fetchLevel`: nothing yet, some refs alone (shallow), or every
/// branch and tag with their whole history (for these refs).
#[derive(Default)]
enum Fetched {
    #[default]
    Nothing,
    Some,
    All(Arc<Refs>),
}

impl GitRepo {
    pub(super) fn new(
        url: &str,
        dir: PathBuf,
        workdir: PathBuf,
        refs_ttl: Duration,
        runner: Arc<Runner>,
        git: Weak<super::Inner>,
        guard: Option<Guard>,
    ) -> Self {
        Self {
            url: url.to_owned(),
            redacted: redact(url),
            dir,
            workdir,
            refs_ttl,
            refs: Mutex::new(None),
            fetched: Mutex::new(Fetched::Nothing),
            generation: RwLock::new(()),
            local: std::sync::Mutex::default(),
            batch: Batch::new(runner.timeout()),
            runner,
            fetches: AtomicU64::new(0),
            alone: AtomicBool::new(false),
            last_used: AtomicU64::new(0),
            set_aside: AtomicBool::new(false),
            git,
            guard,
        }
    }

    pub(super) fn dir(&self) -> &Path {
        &self.dir
    }

    pub(super) fn last_used(&self) -> u64 {
        self.last_used.load(atomic::Ordering::Relaxed)
    }

    fn touch(&self) {
        static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        let millis = START.get_or_init(Instant::now).elapsed().as_millis() as u64;
        self.last_used.store(millis, atomic::Ordering::Relaxed);
    }

    /// Removes the mirror if nothing reads or fetches it now; the next use
    /// starts it anew. Returns whether it went.
    pub(super) async fn evict(&self) -> bool {
        let (Ok(mut fetched), Ok(_write)) = (self.fetched.try_lock(), self.generation.try_write())
        else {
            return false;
        };
        if fs_err::remove_dir_all(&self.dir).is_err() {
            return false;
        }
        *fetched = Fetched::Nothing;
        self.cached(|c| *c = LocalCache::default());
        self.batch.stop().await;
        true
    }

    fn cached<T>(&self, f: impl FnOnce(&mut LocalCache) -> T) -> T {
        let mut cache = super::lock(&self.local);
        if cache.commits.len() + cache.files.len() > LOCAL_CACHE_ENTRIES {
            *cache = LocalCache::default();
        }
        f(&mut cache)
    }

    /// The URL as given: it may hold credentials, so never log it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The URL without credentials.
    pub fn redacted(&self) -> String {
        self.redacted.clone()
    }

    /// The remote's branches and tags (`git ls-remote`), taken as current for
    /// the refs TTL; concurrent callers share one `ls-remote`.
    pub async fn refs(&self) -> Result<Arc<Refs>, VcsError> {
        let asked = Instant::now();
        let mut last = self.refs.lock().await;
        if let Some(answer) = &*last {
            // An answer that came while we waited is ours too, even a failure.
            let fresh = answer.refs.is_ok() && answer.at.elapsed() < self.refs_ttl;
            if answer.at >= asked || fresh {
                return answer.refs.clone();
            }
        }
        let refs = self.ls_remote().await.map(Arc::new);
        *last = Some(RefsAnswer {
            at: Instant::now(),
            refs: refs.clone(),
        });
        refs
    }

    /// Asks the remote by URL, so that a repository that does not exist (a
    /// wildcard `--repo-map` miss) never gets a mirror.
    async fn ls_remote(&self) -> Result<Refs, VcsError> {
        let admitted = self.admit().await?;
        let args = admitted.args(&["ls-remote", "-q", "--", self.url()]);
        let cmd = Cmd {
            dir: &self.workdir,
            url: &self.redacted,
            args: &args,
            guarded: self.guard.is_some(),
            timeout: self.guard.as_ref().map(|_| GUARDED_LS_REMOTE_TIMEOUT),
            inherit: None,
        };
        let out = self.runner.collect(&cmd).await?;
        if !out.finished.status.success() {
            return Err(self.classify(&cmd, &out.finished));
        }
        Ok(Refs::parse(&String::from_utf8_lossy(&out.stdout)))
    }

    /// The commit `rev` (hash or prefix, tag, branch, `HEAD`) names, as go's
    /// `gitRepo.stat` finds it: locally if it can; else the one ref it names
    /// is fetched alone, shallow; only when that fails, everything.
    pub async fn stat(&self, rev: &str) -> Result<RevInfo, VcsError> {
        Ok(self.stat_ref(rev).await?.0)
    }

    /// [`Self::stat`], with the ref that named the commit (`refs/tags/v1`,
    /// `refs/heads/main`, `HEAD`), none for a hash: go's `Origin.Ref`.
    pub async fn stat_ref(&self, rev: &str) -> Result<(RevInfo, Option<String>), VcsError> {
        match self.stat_once(rev).await {
            Err(VcsError::Corrupt { .. }) if self.set_aside().await => self.stat_once(rev).await,
            answer => answer,
        }
    }

    async fn stat_once(&self, rev: &str) -> Result<(RevInfo, Option<String>), VcsError> {
        self.touch();
        let hashlike = (MIN_HASH_DIGITS..=40).contains(&rev.len()) && all_hex(rev);
        // Fast paths without the network: a hash, or a tag (tags are taken
        // not to move, branches may have), already in the mirror.
        if hashlike && let Some(info) = self.stat_local(rev).await? {
            return Ok((info, None));
        }
        let tag_ref = format!("refs/tags/{rev}");
        if is_ref_name(rev)
            && let Some(info) = self.stat_local(&tag_ref).await?
        {
            return Ok((info, Some(tag_ref)));
        }

        let refs = self.refs().await?;
        let (target, named) = resolve(&refs, rev)?;
        if let Some(info) = self.stat_local(&target).await? {
            // The commit is here without the tag the remote has on it: tag
            // it locally, as go does.
            match named.as_deref().and_then(|r| r.strip_prefix("refs/tags/")) {
                Some(tag) if !info.tags.iter().any(|t| t == tag) => {
                    self.tag(tag, &info.hash).await?;
                    return Ok((self.stat_fresh(&target, rev).await?, named));
                }
                _ => return Ok((info, named)),
            }
        }
        if let Some(name) = &named
            && self.fetch_one(name, &target, &refs).await?
            && let Some(info) = self.stat_fresh(&target, rev).await.ok()
        {
            return Ok((info, named));
        }
        // Last resort, as go: every branch and tag, and their history.
        self.fetch_all(&refs).await?;
        Ok((self.stat_fresh(&target, rev).await?, named))
    }

    /// [`Self::stat_local`] that must find `target`, named `rev` in errors.
    async fn stat_fresh(&self, target: &str, rev: &str) -> Result<RevInfo, VcsError> {
        self.stat_local(target)
            .await?
            .ok_or_else(|| VcsError::UnknownRevision {
                rev: rev.to_owned(),
            })
    }

    /// The commit of the remote's `HEAD`.
    pub async fn latest(&self) -> Result<RevInfo, VcsError> {
        let refs = self.refs().await?;
        let head = refs.head().ok_or(VcsError::NoCommits)?;
        self.stat(head).await
    }

    /// The blob at `path` in commit `hash` (which [`Self::stat`] brought into
    /// the mirror), or `None` if there is none; go takes any failure of
    /// `git cat-file` for that.
    pub async fn read_file(
        &self,
        hash: &str,
        path: &str,
        max: u64,
    ) -> Result<Option<Bytes>, VcsError> {
        check_hash(hash)?;
        let object = format!("{hash}:{path}");
        // Only a full hash names the same content forever.
        let immutable = hash.len() >= 40;
        if immutable
            && let Some(found) = self.cached(|c| c.files.get(&object).cloned())
            && found.as_ref().is_none_or(|b| b.len() as u64 <= max)
        {
            return Ok(found);
        }
        let read = {
            let _read = self.generation.read().await;
            self.read_object(&object, max).await?
        };
        let found: Option<Bytes> = match read {
            Object::TooLarge => return Err(VcsError::TooLarge { what: object, max }),
            Object::Found { kind, data, .. } if kind == "blob" => Some(data.into()),
            // As `git cat-file blob` failing: a tree, a submodule, nothing.
            _ => None,
        };
        if immutable && found.as_ref().is_none_or(|b| b.len() <= CACHED_FILE_MAX) {
            self.cached(|c| c.files.insert(object, found.clone()));
        }
        Ok(found)
    }

    /// The highest semantic version among the tags `prefix`+version on
    /// commit `hash` or before it that `allowed` accepts: go's `RecentTag`.
    /// Returns the full tag name. The history is fetched only when the
    /// mirror cannot tell and the remote has such tags at all.
    pub async fn recent_tag(
        &self,
        hash: &str,
        prefix: &str,
        allowed: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<Option<String>, VcsError> {
        check_hash(hash)?;
        if let Some(tag) = self.describe(hash, prefix, allowed).await?
            && !all_hex(&tag)
        {
            return Ok(Some(tag));
        }
        let refs = self.refs().await?;
        if refs.tags(&format!("{prefix}v")).is_empty() {
            return Ok(None);
        }
        self.fetch_all(&refs).await?;
        self.describe(hash, prefix, allowed).await
    }

    async fn describe(
        &self,
        hash: &str,
        prefix: &str,
        allowed: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<Option<String>, VcsError> {
        let args = [
            "for-each-ref",
            "--format",
            "%(refname)",
            "refs/tags",
            "--merged",
            hash,
        ];
        if !self.exists() {
            return Ok(None);
        }
        let out = self.read_output(&args).await?;
        let out = String::from_utf8_lossy(&out);
        let mut highest = "";
        for line in out.lines() {
            let Some(tag) = line.trim().strip_prefix("refs/tags/") else {
                continue;
            };
            let Some(version) = tag.strip_prefix(prefix) else {
                continue;
            };
            // An invalid version never compares greater, not even to "".
            if allowed(tag)
                && modgate_module::semver::compare(version, highest) == Ordering::Greater
            {
                highest = version;
            }
        }
        Ok((!highest.is_empty()).then(|| format!("{prefix}{highest}")))
    }

    /// Whether commit `hash` descends from (or is) the commit of `tag`: go's
    /// `DescendsFrom`. A shallow mirror can answer no wrongly, so a no is
    /// asked again after the whole history is fetched.
    pub async fn descends_from(&self, hash: &str, tag: &str) -> Result<bool, VcsError> {
        check_hash(hash)?;
        let args = ["merge-base", "--is-ancestor", "--", tag, hash];
        let cmd = self.cmd(&args);
        let is_ancestor = || async {
            let _read = self.generation.read().await;
            self.runner.collect(&cmd).await
        };
        if self.exists() && is_ancestor().await?.finished.status.success() {
            return Ok(true);
        }
        let refs = self.refs().await?;
        if refs.tags(tag).is_empty() {
            return Ok(false);
        }
        self.stat(hash).await?;
        self.fetch_all(&refs).await?;
        let out = is_ancestor().await?;
        match out.finished.status.code() {
            Some(0) => Ok(true),
            Some(1) => Ok(false),
            _ => Err(cmd.failed(&out.finished)),
        }
    }

    /// The files of commit `hash` under `subdir` (all, if empty), paths
    /// relative to the repository root, from `git ls-tree -r -l`: what an
    /// archive would hold, learnt without writing it.
    pub async fn tree(&self, hash: &str, subdir: &str) -> Result<Vec<TreeEntry>, VcsError> {
        check_hash(hash)?;
        let mut args = vec!["ls-tree", "-r", "-l", "-z", "--full-tree", hash];
        if !subdir.is_empty() {
            args.extend(["--", subdir]);
        }
        let out = self.read_output(&args).await?;
        let mut entries = Vec::new();
        for record in out.split(|&b| b == 0).filter(|r| !r.is_empty()) {
            // "<mode> <type> <object> <size>\t<path>"
            let Some(tab) = record.iter().position(|&b| b == b'\t') else {
                return Err(VcsError::Git {
                    command: self.cmd(&args).display(),
                    detail: "unexpected ls-tree output".to_owned(),
                });
            };
            let meta = String::from_utf8_lossy(&record[..tab]);
            let mut fields = meta.split_whitespace();
            let (mode, size) = (fields.next(), fields.nth(2));
            let path = String::from_utf8_lossy(&record[tab + 1..]).into_owned();
            let kind = match mode {
                Some("120000") => TreeKind::Symlink,
                // Submodules (160000) hold no files of this repository.
                Some("160000") => continue,
                _ => TreeKind::File(size.and_then(|s| s.parse().ok()).unwrap_or(0)),
            };
            entries.push(TreeEntry { path, kind });
        }
        Ok(entries)
    }

    /// The stdout of a git command that reads the mirror (sharing it with
    /// other reads, never with a fetch); failing is an error.
    async fn read_output(&self, args: &[&str]) -> Result<Vec<u8>, VcsError> {
        let cmd = self.cmd(args);
        let out = {
            let _read = self.generation.read().await;
            self.runner.collect(&cmd).await?
        };
        if !out.finished.status.success() {
            let e = cmd.failed(&out.finished);
            if matches!(e, VcsError::Corrupt { .. }) {
                // This answer is lost; the next stat fetches anew.
                self.set_aside().await;
            }
            return Err(e);
        }
        Ok(out.stdout)
    }

    /// Moves a mirror git cannot read out of the way, so that the next use
    /// fetches it anew: once per process, so that a remote that keeps
    /// sending what git cannot read is not fetched in a loop. Returns
    /// whether it did.
    async fn set_aside(&self) -> bool {
        if self.set_aside.swap(true, atomic::Ordering::Relaxed) {
            return false;
        }
        let mut fetched = self.fetched.lock().await;
        let _write = self.generation.write().await;
        // Renamed first, so that no reader sees it half removed; a crash
        // before the removal leaves a name `Git::new` removes.
        let name = self.dir.file_name().unwrap_or_default().to_string_lossy();
        let aside = self.workdir.join(format!("{INIT_PREFIX}aside-{name}"));
        let _ = fs_err::remove_dir_all(&aside);
        if let Err(e) = fs_err::rename(&self.dir, &aside) {
            tracing::warn!(repo = %self.redacted, error = %Chain(&e), "a corrupt git mirror could not be set aside");
            return false;
        }
        let _ = fs_err::remove_dir_all(&aside);
        *fetched = Fetched::Nothing;
        self.cached(|c| *c = LocalCache::default());
        self.batch.stop().await;
        metrics::counter!("modgate_vcs_corrupt_mirrors_total").increment(1);
        tracing::warn!(repo = %self.redacted, "the git mirror was corrupt: set aside, fetching it again");
        true
    }

    /// Writes a tar of commit `hash` (of its directory `subdir` only, unless
    /// empty) to `dest`, as go's `ReadZip` asks git for it; more than `max`
    /// bytes is an error. On any error `dest` is left empty.
    pub async fn archive(
        &self,
        hash: &str,
        subdir: &str,
        dest: &Path,
        max: u64,
    ) -> Result<(), VcsError> {
        check_hash(hash)?;
        match self.archive_once(hash, subdir, dest, max).await {
            // Blobs git cannot read (commits may still read fine): the
            // mirror is fetched anew, as when `stat` finds the damage.
            Err(VcsError::Corrupt { .. }) if self.set_aside().await => {
                self.stat(hash).await?;
                self.archive_once(hash, subdir, dest, max).await
            }
            answer => answer,
        }
    }

    async fn archive_once(
        &self,
        hash: &str,
        subdir: &str,
        dest: &Path,
        max: u64,
    ) -> Result<(), VcsError> {
        // go's comment: git otherwise turns line endings into the local
        // platform's, so archives would differ between systems.
        let mut args = vec![
            "-c",
            "core.autocrlf=input",
            "-c",
            "core.eol=lf",
            "archive",
            "--format=tar",
            hash,
        ];
        if !subdir.is_empty() {
            args.extend(["--", subdir]);
        }
        let cmd = self.cmd(&args);
        let (file, _) = fs_err::File::create(dest)?.into_parts();
        let mut file = tokio::fs::File::from_std(file);
        let written = async {
            let _read = self.generation.read().await;
            let finished = self.runner.run(&cmd, &mut file, max).await?;
            file.flush().await?;
            Ok::<_, VcsError>(finished)
        }
        .await;
        let result = match written {
            Ok(finished) if finished.stdout_len > max => Err(VcsError::TooLarge {
                what: format!("archive of {hash}"),
                max,
            }),
            Ok(finished) if finished.status.success() => Ok(()),
            Ok(finished) if finished.stderr.contains("did not match any files") => {
                Err(VcsError::PathNotFound {
                    path: subdir.to_owned(),
                })
            }
            Ok(finished) if finished.stderr.contains("invalid path") => {
                tracing::info!(command = %cmd.display(), stderr = ?finished.detail(), "git archive refused a path");
                Err(VcsError::InvalidTree {
                    detail: "an invalid path git will not archive (such as .git/…)".to_owned(),
                })
            }
            Ok(finished) if finished.stderr.contains("not a valid object name") => {
                Err(VcsError::UnknownRevision {
                    rev: hash.to_owned(),
                })
            }
            Ok(finished) => Err(cmd.failed(&finished)),
            Err(e) => Err(e),
        };
        if result.is_err() {
            // Best effort: the error that got us here is the one to report.
            let _ = file.set_len(0).await;
        }
        result
    }

    /// `git log` of one revision in the mirror; `None` if it is not there.
    async fn stat_local(&self, rev: &str) -> Result<Option<RevInfo>, VcsError> {
        if let Some(info) = self.cached(|c| c.commits.get(rev).cloned()) {
            return Ok(Some(info));
        }
        if !self.exists() {
            return Ok(None);
        }
        // Held until the answer is cached: a fetch empties the cache after.
        let _read = self.generation.read().await;
        let info = self.log_one(rev).await?;
        if let Some(info) = &info {
            self.cached(|c| c.commits.insert(rev.to_owned(), info.clone()));
        }
        Ok(info)
    }

    /// The commit `rev` names, with its committer time and tags: what
    /// `git log -n1 --format=%H %ct %D rev` tells go. The caller holds the
    /// read lock.
    async fn log_one(&self, rev: &str) -> Result<Option<RevInfo>, VcsError> {
        let Object::Found { id, data, .. } = self
            .read_object(&format!("{rev}^{{commit}}"), u64::MAX)
            .await?
        else {
            // Not a commit (a ref to a tree or a blob, an unknown hash): not
            // a revision of this repository, which is its answer.
            return Ok(None);
        };
        let time = batch::committer_time(&data).ok_or_else(|| VcsError::Git {
            command: format!("git cat-file --batch in {}", self.redacted),
            detail: format!("commit {id} has no committer time"),
        })?;
        let tags = self.tags().await?.get(&id).cloned().unwrap_or_default();
        Ok(Some(RevInfo {
            hash: id,
            time,
            nanos: 0,
            tags,
            version: None,
        }))
    }

    /// One object of the mirror, through its `cat-file --batch`.
    async fn read_object(&self, spec: &str, max: u64) -> Result<Object, VcsError> {
        self.batch.read(&self.dir, &self.redacted, spec, max).await
    }

    /// The mirror's tags by peeled commit, sorted; the caller holds the
    /// read lock.
    async fn tags(&self) -> Result<Arc<HashMap<String, Vec<String>>>, VcsError> {
        if let Some(tags) = self.cached(|c| c.tags.clone()) {
            return Ok(tags);
        }
        let args = [
            "for-each-ref",
            "--format=%(objectname) %(objecttype) %(*objectname) %(*objecttype) %(refname)",
            "refs/tags",
        ];
        let cmd = self.cmd(&args);
        let out = self.runner.collect(&cmd).await?;
        if !out.finished.status.success() {
            return Err(cmd.failed(&out.finished));
        }
        let mut tags: HashMap<String, Vec<String>> = HashMap::new();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let fields: Vec<&str> = line.split(' ').collect();
            let (commit, name) = match fields[..] {
                [id, "commit", "", "", name] => (id.to_owned(), name),
                [_, "tag", id, "commit", name] => (id.to_owned(), name),
                // A tag of a tag: git log peels to the end.
                [_, "tag", _, "tag", name] => {
                    match self
                        .read_object(&format!("{name}^{{commit}}"), u64::MAX)
                        .await?
                    {
                        Object::Found { id, .. } => (id, name),
                        _ => continue,
                    }
                }
                // Tags of trees and blobs decorate no commit.
                _ => continue,
            };
            let Some(tag) = name.strip_prefix("refs/tags/") else {
                continue;
            };
            tags.entry(commit).or_default().push(tag.to_owned());
        }
        for names in tags.values_mut() {
            names.sort();
        }
        let tags = Arc::new(tags);
        self.cached(|c| c.tags = Some(tags.clone()));
        Ok(tags)
    }

    /// Fetches the ref `name` (of commit `hash`) shallow, as go does first:
    /// `HEAD` by its hash. A tag of a remote with few tags comes with all
    /// of them (still shallow): a build asks for several versions of a
    /// module, and one fetch costs about what each would. Returns whether
    /// the fetch worked; a remote that refuses it gets the whole fetch
    /// instead.
    async fn fetch_one(&self, name: &str, hash: &str, refs: &Refs) -> Result<bool, VcsError> {
        let mut fetched = self.fetched.lock().await;
        if matches!(*fetched, Fetched::All(_)) {
            return Ok(false);
        }
        // A fetch that ran while we waited may have brought it.
        let local = if name == "HEAD" { hash } else { name };
        if self
            .stat_local(local)
            .await?
            .is_some_and(|i| i.hash == hash)
        {
            return Ok(true);
        }
        self.ready().await?;
        // HEAD gets a local name that triggers git's tag following for its
        // commit; nothing reads refs/dummy.
        let mut refspecs = vec![if name == "HEAD" {
            format!("{hash}:refs/dummy")
        } else {
            format!("{name}:{name}")
        }];
        let tags = refs.tags("");
        if name.starts_with("refs/tags/")
            && tags.len() <= TAGS_TOGETHER
            && !self.alone.load(atomic::Ordering::Relaxed)
        {
            refspecs.extend(
                tags.iter()
                    .map(|(tag, _)| format!("refs/tags/{tag}"))
                    .filter(|r| r != name)
                    .map(|r| format!("{r}:{r}")),
            );
        }
        let mut out = self.fetch_shallow(&refspecs).await?;
        if !out.status.success() && refspecs.len() > 1 {
            // Another tag may be gone, or its tree unreadable: this one
            // alone, as go would.
            self.alone.store(true, atomic::Ordering::Relaxed);
            out = self.fetch_shallow(&refspecs[..1]).await?;
        }
        if !out.status.success() {
            tracing::debug!(repo = %self.redacted, detail = %out.detail(), "shallow fetch refused: fetching all");
            return Ok(false);
        }
        *fetched = Fetched::Some;
        drop(fetched);
        self.fetched_more().await;
        Ok(true)
    }

    /// `git fetch --depth=1` of `refspecs`.
    async fn fetch_shallow(&self, refspecs: &[String]) -> Result<Finished, VcsError> {
        // protocol v2 works around git 2.21's missed tags (go.dev/issue/56881).
        let mut args = vec![
            "-c",
            "protocol.version=2",
            "fetch",
            "-f",
            "--depth=1",
            "origin",
        ];
        args.extend(refspecs.iter().map(String::as_str));
        self.fetch(&args).await
    }

    /// Fetches every branch and tag with their whole history (unshallowing
    /// what shallow fetches left), unless the mirror holds all of these
    /// refs already: at most one such fetch per state of the remote.
    async fn fetch_all(&self, refs: &Arc<Refs>) -> Result<(), VcsError> {
        let mut fetched = self.fetched.lock().await;
        if matches!(&*fetched, Fetched::All(r) if r == refs) {
            return Ok(());
        }
        self.ready().await?;
        // Branches and tags only, never other commits the server may hold
        // (rejected pull requests), as go. Forced and pruned: the remote's
        // state is the truth.
        let args = [
            "fetch",
            "-f",
            "--prune",
            "--prune-tags",
            "origin",
            "+refs/heads/*:refs/heads/*",
            "+refs/tags/*:refs/tags/*",
        ];
        let out = self.fetch(&args).await?;
        if !out.status.success() {
            return Err(self.classify(&self.cmd(&args), &out));
        }
        // Separately, as go does (golang.org/issue/34266).
        if self.dir.join("shallow").exists() {
            let args = ["fetch", "--unshallow", "-f", "origin"];
            let out = self.fetch(&args).await?;
            if !out.status.success() {
                return Err(self.classify(&self.cmd(&args), &out));
            }
        }
        *fetched = Fetched::All(refs.clone());
        drop(fetched);
        self.fetched_more().await;
        Ok(())
    }

    /// Tags `hash` locally, as go does for a commit fetched under another name.
    async fn tag(&self, tag: &str, hash: &str) -> Result<(), VcsError> {
        check_hash(hash)?;
        if !is_ref_name(tag) {
            return Err(VcsError::UnknownRevision {
                rev: tag.to_owned(),
            });
        }
        let args = ["tag", "-f", "--", tag, hash];
        let out = self.exclusive(&args).await?;
        if out.status.success() {
            Ok(())
        } else {
            Err(self.cmd(&args).failed(&out))
        }
    }

    /// Leave to reach the remote: always, for the operator's URLs; for a
    /// guarded one, a slot of its host and addresses the policy allows.
    async fn admit(&self) -> Result<Admitted, VcsError> {
        match &self.guard {
            Some(guard) => guard.admit(&self.redacted).await,
            None => Ok(Admitted::default()),
        }
    }

    /// A `git fetch` (`args`) from the remote into the mirror. git's own
    /// upkeep (`maintenance run --auto`, a process of its own) runs after
    /// one fetch in [`MAINTENANCE_EVERY`]: mirrors grow a few objects a
    /// fetch.
    async fn fetch(&self, args: &[&str]) -> Result<Finished, VcsError> {
        let admitted = self.admit().await?;
        let n = self.fetches.fetch_add(1, atomic::Ordering::Relaxed) + 1;
        let mut args = args.to_vec();
        if !n.is_multiple_of(MAINTENANCE_EVERY) {
            args.splice(0..0, ["-c", "maintenance.auto=false"]);
        }
        self.exclusive(&admitted.args(&args)).await
    }

    /// Runs a command that changes the mirror, with no read under way, and
    /// forgets what was read before it.
    async fn exclusive(&self, args: &[&str]) -> Result<Finished, VcsError> {
        let _write = self.generation.write().await;
        // Held while git runs, and by git: see `Inner::lock`.
        let git = self.git.upgrade();
        let cmd = Cmd {
            inherit: git
                .as_ref()
                .map(|g| std::os::fd::AsRawFd::as_raw_fd(&g.lock)),
            ..self.cmd(args)
        };
        let out = self.runner.collect(&cmd).await;
        self.cached(|c| *c = LocalCache::default());
        self.batch.stop().await;
        Ok(out?.finished)
    }

    /// Whether the mirror has been created.
    fn exists(&self) -> bool {
        self.dir.join("objects").is_dir()
    }

    /// Creates the mirror on first use (the caller holds `fetched`): what
    /// go's `git init --bare` and `git remote add origin` make.
    async fn ready(&self) -> Result<(), VcsError> {
        if !self.exists() {
            // Built aside and renamed into place: a crash half-way
            // leaves no mirror without its remote.
            let tmp = tempfile::Builder::new()
                .prefix(INIT_PREFIX)
                .tempdir_in(&self.workdir)?;
            write_bare_repository(tmp.path(), self.url())?;
            if self.dir.exists() {
                fs_err::remove_dir_all(&self.dir)?;
            }
            fs_err::rename(tmp.keep(), &self.dir)?;
        }
        ensure_git_attributes(&self.dir)?;
        Ok(())
    }

    /// After a fetch: the mirror grew, so the budget is checked.
    async fn fetched_more(&self) {
        if let Some(git) = self.git.upgrade() {
            git.enforce_budget().await;
        }
    }

    fn cmd<'a>(&'a self, args: &'a [&'a str]) -> Cmd<'a> {
        Cmd {
            dir: &self.dir,
            url: &self.redacted,
            args,
            guarded: self.guard.is_some(),
            timeout: None,
            inherit: None,
        }
    }

    /// The error for a failed `ls-remote` or `fetch`, from git's stderr.
    fn classify(&self, cmd: &Cmd<'_>, finished: &Finished) -> VcsError {
        match cmd.failure(finished) {
            GitFailure::AuthRequired => VcsError::AuthRequired {
                url: self.redacted(),
            },
            GitFailure::NotFound => VcsError::RepoNotFound {
                url: self.redacted(),
            },
            GitFailure::Corrupt => VcsError::Corrupt {
                command: cmd.display(),
            },
            failure => VcsError::Git {
                command: cmd.display(),
                detail: failure.to_string(),
            },
        }
    }
}

/// What to look `rev` up as in the mirror, and which ref of the remote
/// names it (to fetch that ref alone), given the remote's refs: go's `stat`
/// choosing between a tag, a branch, `HEAD` and hashes.
fn resolve(refs: &Refs, rev: &str) -> Result<(String, Option<String>), VcsError> {
    for name in [format!("refs/tags/{rev}"), format!("refs/heads/{rev}")] {
        if let Some(hash) = refs.get(&name) {
            return Ok((hash.to_owned(), Some(name)));
        }
    }
    if rev == "HEAD"
        && let Some(hash) = refs.head()
    {
        return Ok((hash.to_owned(), Some("HEAD".to_owned())));
    }
    if !((MIN_HASH_DIGITS..=40).contains(&rev.len()) && all_hex(rev)) {
        return Err(VcsError::UnknownRevision {
            rev: rev.to_owned(),
        });
    }
    let mut found: Option<(&str, &str)> = None;
    for (name, hash) in refs.iter() {
        if hash.starts_with(rev) {
            match found {
                // More commits will not make it less ambiguous.
                Some((_, f)) if f != hash => {
                    return Err(VcsError::AmbiguousRevision {
                        rev: rev.to_owned(),
                    });
                }
                // Ties go to the smallest name, as in go.
                Some((n, _)) if n <= name => {}
                _ => found = Some((name, hash)),
            }
        }
    }
    Ok(match found {
        Some((name, hash)) => (hash.to_owned(), Some(name.to_owned())),
        // An unnamed hash (prefix) may still turn up in the history.
        None => (rev.to_owned(), None),
    })
}

/// Whether `rev` can be a tag name; anything else could mean a revision
/// range or an option to git.
fn is_ref_name(rev: &str) -> bool {
    !rev.is_empty()
        && !rev.starts_with(['-', '.', '/'])
        && !rev.ends_with(['.', '/'])
        && !rev.ends_with(".lock")
        && !rev.contains("..")
        && !rev.contains("@{")
        && !rev.contains("//")
        && !rev
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || "~^:?*[\\".contains(c))
}

/// Hashes come from callers; anything else could be an option to git.
fn check_hash(hash: &str) -> Result<(), VcsError> {
    if (MIN_HASH_DIGITS..=64).contains(&hash.len()) && all_hex(hash) {
        Ok(())
    } else {
        Err(VcsError::UnknownRevision {
            rev: hash.to_owned(),
        })
    }
}

/// One file of a commit's tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeEntry {
    /// Relative to the repository root; not UTF-8 bytes are replaced.
    pub path: String,
    pub kind: TreeKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreeKind {
    /// A blob of this many bytes.
    File(u64),
    Symlink,
}

/// Writes the bare repository `git init --bare --shared=0600` and `git
/// remote add origin -- URL` would leave in `dir`, without running git
/// twice per repository, and without the user's init template (hooks run
/// on fetches). sharedRepository=0600: every file git writes later is for
/// modgate's user alone, whatever the umask (the config holds the URL).
fn write_bare_repository(dir: &Path, url: &str) -> std::io::Result<()> {
    use fs_err::os::unix::fs::OpenOptionsExt;
    use std::os::unix::fs::DirBuilderExt;
    if url.chars().any(char::is_control) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "a repository URL with control characters",
        ));
    }
    let quoted = url.replace('\\', "\\\\").replace('"', "\\\"");
    let config = format!(
        "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n\tsharedRepository = 0600\n\
         [remote \"origin\"]\n\turl = \"{quoted}\"\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n"
    );
    std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
    for sub in ["objects/info", "objects/pack", "refs/heads", "refs/tags"] {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir.join(sub))?;
    }
    for (name, contents) in [
        ("HEAD", "ref: refs/heads/main\n"),
        ("config", config.as_str()),
    ] {
        fs_err::OpenOptions::new()
            .create_new(true)
            .write(true)
            .mode(0o600)
            .open(dir.join(name))?
            .write_all(contents.as_bytes())?;
    }
    Ok(())
}

/// Turns off export-subst and export-ignore for every archive, exactly as
/// go's `ensureGitAttributes`: go's hashes are of archives made without them.
fn ensure_git_attributes(dir: &Path) -> std::io::Result<()> {
    const ATTR: &str = "\n* -export-subst -export-ignore\n";
    use fs_err::os::unix::fs::OpenOptionsExt;
    use std::os::unix::fs::DirBuilderExt;
    let info = dir.join("info");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&info)?;
    let path = info.join("attributes");
    let current = match fs_err::read(&path) {
        Ok(current) => current,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    if !current.ends_with(ATTR.as_bytes()) {
        fs_err::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&path)?
            .write_all(ATTR.as_bytes())?;
    }
    Ok(())
}
