//! Tags that moved. A stored version's `.info` Origin names the tag and the
//! commit it was built from (`Ref`, `Hash`). When git later lists that tag
//! on another commit, or not at all, the stored bytes stand (a module
//! version never changes, and go.sum files hold its hashes) and the move
//! is reported: logged once, counted (`modgate_vcs_moved_tags_total`),
//! listed on the status page, and found again by `modgate verify --origin`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use modgate_module::{Info, Origin, escape};
use modgate_net::DestinationPolicy;
use modgate_redact::Chain;
use modgate_vcs::git::{Git, Refs};

use crate::store::{Ext, Key, Store, StoreError};

/// A stored version whose tag names another commit now, or is gone.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MovedTag {
    pub module: String,
    pub version: String,
    /// The repository, as the Origin records it.
    pub url: String,
    pub tag: String,
    /// The commit the stored version was built from.
    pub old: String,
    /// The commit the tag names now; `None`: the tag is gone.
    pub new: Option<String>,
    #[serde(skip)]
    pub seen: Option<SystemTime>,
}

impl std::fmt::Display for MovedTag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let MovedTag {
            module,
            version,
            url,
            tag,
            old,
            ..
        } = self;
        match &self.new {
            Some(new) => write!(
                f,
                "{module}@{version}: tag {tag} of {url} moved from {old} to {new}"
            ),
            None => write!(
                f,
                "{module}@{version}: tag {tag} of {url} (was {old}) is gone"
            ),
        }
    }
}

/// The move of the tag `origin` was built from, if the refs of the
/// repository at `url` name another commit for it, or none.
pub fn moved(
    module: &str,
    version: &str,
    origin: &Origin,
    url: &str,
    refs: &Refs,
) -> Option<MovedTag> {
    if origin.vcs != "git" || origin.url != url || origin.hash.is_empty() {
        return None;
    }
    let tag = origin.tag()?;
    let now = refs.get(&origin.r#ref);
    if now == Some(origin.hash.as_str()) {
        return None;
    }
    Some(MovedTag {
        module: module.to_owned(),
        version: version.to_owned(),
        url: url.to_owned(),
        tag: tag.to_owned(),
        old: origin.hash.clone(),
        new: now.map(str::to_owned),
        seen: None,
    })
}

/// Stored versions' Origins kept in memory.
const ORIGINS_KEPT: usize = 100_000;

/// The moves seen while serving.
pub struct MovedTags {
    store: Arc<dyn Store>,
    /// Stored versions' tag Origins by `module@version` (`None`: nothing
    /// to check), so a list reads each stored .info once.
    origins: quick_cache::sync::Cache<String, Option<Arc<Origin>>>,
    /// By module and version.
    reported: Mutex<BTreeMap<(String, String), MovedTag>>,
}

impl MovedTags {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            origins: quick_cache::sync::Cache::new(ORIGINS_KEPT),
            reported: Mutex::new(BTreeMap::new()),
        }
    }

    /// Checks the stored versions of `module` against the `refs` git just
    /// listed for the repository at `url`. Failing to read storage here is
    /// not the request's problem: the next list checks again.
    pub async fn check(&self, module: &str, url: &str, refs: &Refs) {
        let stored = match stored_versions(self.store.as_ref(), module).await {
            Ok(stored) => stored,
            Err(e) => {
                tracing::debug!(module, error = %Chain(&e), "checking stored tags: listing the store");
                return;
            }
        };
        for version in stored {
            let key = format!("{module}@{version}");
            let origin = match self.origins.get(&key) {
                Some(origin) => origin,
                None => {
                    let origin = match stored_origin(self.store.as_ref(), module, &version).await {
                        Ok(origin) => origin.filter(|o| o.tag().is_some()).map(Arc::new),
                        Err(e) => {
                            tracing::debug!(module, version, error = %Chain(&e), "checking stored tags: reading the .info");
                            continue;
                        }
                    };
                    self.origins.insert(key, origin.clone());
                    origin
                }
            };
            if let Some(m) = origin.and_then(|o| moved(module, &version, &o, url, refs)) {
                self.report(m);
            }
        }
    }

    /// Logs and counts a move once (again if the tag moves again).
    fn report(&self, mut m: MovedTag) {
        let mut reported = crate::lock(&self.reported);
        let key = (m.module.clone(), m.version.clone());
        if reported.get(&key).is_some_and(|seen| seen.new == m.new) {
            return;
        }
        tracing::warn!(
            module = %m.module,
            version = %m.version,
            tag = %m.tag,
            old = %m.old,
            new = m.new.as_deref().unwrap_or("(deleted)"),
            repo = %m.url,
            "the tag of a stored version moved: still serving the stored version"
        );
        crate::telemetry::metric::moved_tag();
        m.seen = Some(SystemTime::now());
        reported.insert(key, m);
    }

    /// Every move seen since start, by module and version.
    pub fn list(&self) -> Vec<MovedTag> {
        crate::lock(&self.reported).values().cloned().collect()
    }
}

/// Canonical versions of `module` with a stored .info.
async fn stored_versions(store: &dyn Store, module: &str) -> Result<Vec<String>, StoreError> {
    let Some(dir) = Key::versions_dir(module) else {
        return Ok(Vec::new());
    };
    Ok(store
        .list(&dir)
        .await?
        .iter()
        .filter_map(|name| name.strip_suffix(".info"))
        .filter_map(|v| escape::unescape_version(v).ok())
        .filter(|v| modgate_module::is_canonical(v))
        .collect())
}

/// The Origin of the stored .info of `module@version`, if it has one.
async fn stored_origin(
    store: &dyn Store,
    module: &str,
    version: &str,
) -> Result<Option<Origin>, StoreError> {
    let Some(key) = Key::version_file(module, version, Ext::Info) else {
        return Ok(None);
    };
    let Some(data) = store.read_small(&key).await? else {
        return Ok(None);
    };
    Ok(Info::parse(module, Some(version), &data)
        .ok()
        .and_then(|i| i.origin))
}

/// What `modgate verify --origin` found.
#[derive(Debug, Default, serde::Serialize)]
pub struct OriginReport {
    /// Stored versions whose tag was checked.
    pub checked: usize,
    pub moved: Vec<MovedTag>,
    /// Versions that could not be checked, and why.
    pub unchecked: Vec<String>,
}

impl OriginReport {
    /// What `modgate verify --origin` prints: a line per move, then the totals.
    pub fn text(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        for m in &self.moved {
            let what = if m.new.is_some() { "MOVED" } else { "GONE " };
            let _ = writeln!(out, "{what} {m}");
        }
        for u in &self.unchecked {
            let _ = writeln!(out, "SKIP  {u}");
        }
        let _ = writeln!(
            out,
            "{} tags checked against their repositories: {} moved or gone, {} not checked",
            self.checked,
            self.moved.len(),
            self.unchecked.len()
        );
        out
    }
}

/// Why `modgate verify --origin` could not check.
#[derive(Debug, thiserror::Error)]
pub enum OriginsError {
    #[error("cannot create a directory for git")]
    Scratch(#[source] std::io::Error),
    #[error("cannot set up git")]
    Git(#[source] modgate_vcs::git::VcsError),
    #[error("cannot read the store")]
    Store(#[source] StoreError),
}

/// [`verify_origins`] with a git of its own in a scratch directory; the
/// hosts of `private` (GOPRIVATE-style patterns) are the operator's.
pub async fn verify_origins_of(
    store: &Arc<dyn Store>,
    private: &str,
) -> Result<OriginReport, OriginsError> {
    let workdir = tempfile::tempdir().map_err(OriginsError::Scratch)?;
    let hosts = private
        .split(',')
        .filter_map(|p| p.trim().split('/').next())
        .filter(|h| !h.is_empty())
        .map(str::to_owned)
        .collect();
    let policy = Arc::new(DestinationPolicy::new(Vec::new(), hosts));
    let git = Git::new(modgate_vcs::git::GitSettings {
        workdir: workdir.path().to_owned(),
        max_processes: 4,
        timeout: std::time::Duration::from_secs(120),
        refs_ttl: std::time::Duration::from_secs(3600),
        max_size: 0,
        policy: policy.clone(),
    })
    .map_err(OriginsError::Git)?;
    verify_origins(store, &git, &policy)
        .await
        .map_err(OriginsError::Store)
}

/// Checks the tag of every stored version whose .info Origin names one
/// against its repository now (one `git ls-remote` per repository). The
/// URLs come from storage, upstream proxies' answers among them: only the
/// hosts `policy` names as the operator's are asked as they are; the
/// others as a go-get page's, on public addresses only.
pub async fn verify_origins(
    store: &Arc<dyn Store>,
    git: &Git,
    policy: &DestinationPolicy,
) -> Result<OriginReport, StoreError> {
    let mut by_url: BTreeMap<String, Vec<(String, String, Origin)>> = BTreeMap::new();
    for escaped in store.modules().await? {
        let Ok(module) = escape::unescape_path(&escaped) else {
            continue;
        };
        for version in stored_versions(store.as_ref(), &module).await? {
            if let Some(origin) = stored_origin(store.as_ref(), &module, &version).await?
                && origin.vcs == "git"
                && origin.tag().is_some()
            {
                by_url.entry(origin.url.clone()).or_default().push((
                    module.clone(),
                    version,
                    origin,
                ));
            }
        }
    }
    let mut report = OriginReport::default();
    for (url, versions) in by_url {
        let host = url::Url::parse(&url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned));
        let repo = match host {
            Some(host) if policy.host_allowed(&host) => Ok(git.repo(&url)),
            _ => git.guarded_repo(&url),
        };
        let why = if !checkable(&url) {
            Some("not an https or ssh URL modgate lists tags of".to_owned())
        } else {
            let refs = match repo {
                Ok(repo) => repo.refs().await,
                Err(e) => Err(e),
            };
            match refs {
                Ok(refs) => {
                    for (module, version, origin) in &versions {
                        report.checked += 1;
                        report
                            .moved
                            .extend(moved(module, version, origin, &url, &refs));
                    }
                    None
                }
                Err(e) => Some(format!("listing its tags: {}", Chain(&e))),
            }
        };
        if let Some(why) = why {
            report.unchecked.extend(
                versions
                    .iter()
                    .map(|(m, v, _)| format!("{m}@{v}: {url}: {why}")),
            );
        }
    }
    Ok(report)
}

/// A URL whose tags `verify --origin` asks git for: a plain https or ssh
/// one (credentials in an Origin are masked, so unusable).
fn checkable(url: &str) -> bool {
    let scheme_ok = ["https://", "ssh://", "git+ssh://"]
        .iter()
        .any(|s| url.starts_with(s));
    scheme_ok && !url.contains("***@")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(r: &str, hash: &str) -> Origin {
        Origin {
            vcs: "git".into(),
            url: "https://example.com/r".into(),
            hash: hash.into(),
            r#ref: r.into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_tag_on_another_commit_or_gone_is_a_move() {
        let refs = Refs::parse("aaaa\trefs/tags/v1.0.0\ncccc\trefs/tags/sub/v1.0.0\n");
        let url = "https://example.com/r";
        let same = origin("refs/tags/v1.0.0", "aaaa");
        assert_eq!(moved("m", "v1.0.0", &same, url, &refs), None);
        let m = moved(
            "m",
            "v1.0.0",
            &origin("refs/tags/sub/v1.0.0", "bbbb"),
            url,
            &refs,
        )
        .unwrap();
        assert_eq!(
            (m.tag.as_str(), m.new.as_deref()),
            ("sub/v1.0.0", Some("cccc"))
        );
        assert!(m.to_string().contains("moved from bbbb to cccc"), "{m}");
        let gone = moved(
            "m",
            "v1.1.0",
            &origin("refs/tags/v1.1.0", "dddd"),
            url,
            &refs,
        )
        .unwrap();
        assert_eq!(gone.new, None);
        assert!(gone.to_string().contains("is gone"), "{gone}");
        // Branches move by design; another repository is another question.
        assert_eq!(
            moved(
                "m",
                "v1.0.0",
                &origin("refs/heads/main", "bbbb"),
                url,
                &refs
            ),
            None
        );
        let elsewhere = origin("refs/tags/v1.0.0", "bbbb");
        assert_eq!(
            moved("m", "v1.0.0", &elsewhere, "https://other/r", &refs),
            None
        );
    }

    #[test]
    fn only_plain_https_and_ssh_urls_are_listed() {
        assert!(checkable("https://github.com/a/b"));
        assert!(checkable("ssh://git@host/a"));
        assert!(!checkable("https://***@host/a"));
        assert!(!checkable("file:///srv/repo"));
        assert!(!checkable("-uupload-pack=x"));
    }
}
