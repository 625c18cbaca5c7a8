//! `direct`: module versions built from their version control repository,
//! as the go command's GOPROXY=direct mode builds them, so every hash is
//! the one go computes. The answers are GOPROXY artifacts, checked and
//! stored like any upstream's.

mod archive;
mod coderepo;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tempfile::NamedTempFile;

use self::coderepo::CodeRepo;
use crate::git::{Git, GitRepo, GitSettings, Refs, VcsError};
use crate::govcs::GoVcs;
use crate::host::CodeHost;
use crate::other::{Kind, OtherRepo, Others};
use crate::resolve::{GoGet, RepoMapRule, ResolveError, Resolver, ResolverSettings, Vcs};
use modgate_module::Info;
use modgate_net::{Cidr, DestinationPolicy};

/// The module the go command downloads toolchains as (GOTOOLCHAIN).
const TOOLCHAIN_MODULE: &str = "golang.org/toolchain";

/// Settings of the direct fetcher.
#[derive(Debug, Clone)]
pub struct DirectSettings {
    /// Where the bare git mirrors live.
    pub vcs_dir: PathBuf,
    /// GOINSECURE-style patterns: discovery may use plain http for these.
    pub insecure: String,
    pub repo_map: Vec<RepoMapRule>,
    /// Longest any one git command may run.
    pub git_timeout: Duration,
    /// git processes running at once.
    pub max_git: usize,
    /// How long a repository's list of refs is reused.
    pub refs_ttl: Duration,
    /// Bytes the mirrors may hold (least recently used ones are evicted); 0: no bound.
    pub vcs_max_size: u64,
    /// GOPRIVATE-style patterns of modules built from git only: their
    /// hosts are the operator's, and may be internal.
    pub private: String,
    /// Internal networks that destinations a request chose may still be in.
    pub allow_network: Vec<Cidr>,
    /// Whether `?go-get=1` discovery runs, and for which hosts.
    pub go_get: GoGet,
    /// Which version control systems may serve which modules (GOVCS).
    pub govcs: GoVcs,
}

/// Why a module version could not be built: the crate's one error type.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Where the module's repository is could not be found out.
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// git failed, or said the repository or revision is not there.
    #[error(transparent)]
    Git(#[from] VcsError),
    /// The repository has no such version, or the go command's rules
    /// refuse it (the reason in go's words).
    #[error("{0}")]
    NoVersion(String),
    #[error("unsupported VCS {vcs} for {root}")]
    UnsupportedVcs { vcs: String, root: String },
    /// The GOVCS setting (`--govcs`) rules the system out for the module;
    /// `what`: public or private.
    #[error(
        "GOVCS disallows using {vcs} for {what} {root}; see --govcs (MODGATE_GOVCS), as 'go help vcs'"
    )]
    Disallowed {
        vcs: String,
        what: &'static str,
        root: String,
    },
    /// The module is served by a GOPROXY-protocol server (a `mod` go-import);
    /// `guarded`: a page the request's path chose named it (see
    /// [`crate::resolve::RepoRoot::guarded`]), so [`Direct::policy`] applies.
    #[error("served by the module proxy {url}")]
    Proxy { url: String, guarded: bool },
    /// The local disk failed while staging the archive or the zip.
    #[error("staging")]
    Staging(#[source] std::io::Error),
    /// `git archive`'s output could not be read (`what`: reading, parsing).
    #[error("{what} git archive")]
    Archive {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// The zip hg, svn, bzr or fossil wrote could not be read (`what`:
    /// reading, parsing).
    #[error("{what} the {vcs} archive")]
    VcsArchive {
        what: &'static str,
        vcs: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// A blocking task (reading the archive, writing the zip) died.
    #[error("building the zip")]
    Task(#[source] tokio::task::JoinError),
}

impl Error {
    /// The repository's own answer (a proxy's 404), as opposed to a
    /// failure that may pass (timeouts, unreachable hosts, local disk).
    pub fn is_not_found(&self) -> bool {
        match self {
            Error::Resolve(_)
            | Error::NoVersion(_)
            | Error::UnsupportedVcs { .. }
            | Error::Disallowed { .. } => true,
            Error::Git(e) => !matches!(
                e,
                VcsError::Timeout { .. }
                    | VcsError::Git { .. }
                    | VcsError::Corrupt { .. }
                    | VcsError::GitNotFound
                    | VcsError::ToolNotFound { .. }
                    | VcsError::Io(_)
            ),
            Error::Proxy { .. }
            | Error::Staging(_)
            | Error::Archive { .. }
            | Error::VcsArchive { .. }
            | Error::Task(_) => false,
        }
    }
}

/// A module's version list and what it was read from.
pub struct Listing {
    /// The `@v/list` answer.
    pub text: Bytes,
    /// From git: the repository's URL, as `.info` Origins record it, and
    /// its refs as listed.
    pub git: Option<(String, Arc<Refs>)>,
}

pub struct Direct {
    git: Git,
    others: Others,
    resolver: Resolver,
    policy: Arc<DestinationPolicy>,
    govcs: GoVcs,
    /// `--private` patterns, for GOVCS's `private`.
    private: String,
    /// `--insecure` patterns: plain transports for hg, svn, bzr and fossil.
    insecure: String,
}

/// A module's code repository, of whichever system.
enum Code {
    Git(CodeRepo<GitRepo>),
    Other(CodeRepo<OtherRepo>),
}

/// Runs `$body` with `$c` bound to the [`CodeRepo`] of either system.
macro_rules! with_code {
    ($code:expr, $c:ident => $body:expr) => {
        match $code {
            Code::Git($c) => $body,
            Code::Other($c) => $body,
        }
    };
}

impl Direct {
    pub fn new(settings: &DirectSettings) -> Result<Self, Error> {
        let policy = Arc::new(DestinationPolicy::new(
            settings.allow_network.clone(),
            operator_hosts(settings),
        ));
        let git = Git::new(GitSettings {
            workdir: settings.vcs_dir.clone(),
            max_processes: settings.max_git,
            timeout: settings.git_timeout,
            refs_ttl: settings.refs_ttl,
            max_size: settings.vcs_max_size,
            policy: policy.clone(),
        })
        .map_err(Error::Git)?;
        let resolver = Resolver::new(ResolverSettings {
            repo_map: settings.repo_map.clone(),
            insecure: settings
                .insecure
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect(),
            timeout: Duration::from_secs(30),
            policy: policy.clone(),
            go_get: settings.go_get.clone(),
        })?;
        let others = Others::new(git.shared());
        Ok(Self {
            git,
            others,
            resolver,
            policy,
            govcs: settings.govcs.clone(),
            private: settings.private.clone(),
            insecure: settings.insecure.clone(),
        })
    }

    /// Where a request may make modgate connect: for the HTTP clients of
    /// the module proxies that go-import `mod` entries name.
    pub fn policy(&self) -> &Arc<DestinationPolicy> {
        &self.policy
    }

    /// The code repository of `module`, or where else it is served.
    async fn code(&self, module: &str) -> Result<Code, Error> {
        let root = match self.resolver.resolve(module).await {
            Ok(root) => root,
            // Only module proxies serve toolchains (go.dev/dl/mod): say
            // what makes GOTOOLCHAIN switching work behind modgate.
            Err(e) if coderepo::has_path_prefix(module, TOOLCHAIN_MODULE) => {
                return Err(Error::NoVersion(format!(
                    "{e}: Go toolchains ({TOOLCHAIN_MODULE}) come from module proxies only; \
                     keep a proxy upstream (such as https://proxy.golang.org) ahead of direct"
                )));
            }
            Err(e) => return Err(e.into()),
        };
        let vcs = match &root.vcs {
            Vcs::ModProxy => {
                return Err(Error::Proxy {
                    url: root.url,
                    guarded: root.guarded,
                });
            }
            Vcs::Git => "git",
            Vcs::Other(vcs) => vcs.as_str(),
        };
        let private = modgate_module::pattern::match_prefix_patterns(&self.private, &root.root);
        if !self.govcs.allows(&root.root, private, vcs) {
            return Err(Error::Disallowed {
                vcs: vcs.to_owned(),
                what: if private { "private" } else { "public" },
                root: root.root,
            });
        }
        match &root.vcs {
            Vcs::Other(vcs) => {
                let kind = Kind::from_cmd(vcs).ok_or_else(|| Error::UnsupportedVcs {
                    vcs: vcs.clone(),
                    root: root.root.clone(),
                })?;
                let insecure =
                    modgate_module::pattern::match_prefix_patterns(&self.insecure, module);
                let repo = self.others.repo(kind, &root.url, root.guarded, insecure)?;
                Ok(Code::Other(CodeRepo::new(
                    module,
                    &root.root,
                    &root.subdir,
                    repo,
                )?))
            }
            _ => {
                let repo = if root.guarded {
                    self.git.guarded_repo(&root.url)?
                } else {
                    self.git.repo(&root.url)
                };
                Ok(Code::Git(CodeRepo::new(
                    module,
                    &root.root,
                    &root.subdir,
                    repo,
                )?))
            }
        }
    }

    /// `@v/list` (the module's tagged versions, one a line), with, for git,
    /// the refs of the repository as git listed them for it, against which
    /// the tags of stored versions are checked.
    pub async fn listing(&self, module: &str) -> Result<Listing, Error> {
        let (versions, git) = match self.code(module).await? {
            Code::Git(c) => {
                let refs = c.repo().refs().await?;
                (c.versions().await?, Some((c.repo().redacted(), refs)))
            }
            Code::Other(c) => (c.versions().await?, None),
        };
        let mut text = versions.join("\n");
        if !text.is_empty() {
            text.push('\n');
        }
        Ok(Listing {
            text: text.into(),
            git,
        })
    }

    /// `@latest`: the highest release, else pre-release, else a
    /// pseudo-version of the default branch.
    pub async fn latest(&self, module: &str) -> Result<Info, Error> {
        let code = self.code(module).await?;
        let resolved = with_code!(&code, c => c.latest().await?);
        Ok(info_of(&code, resolved))
    }

    /// `.info` of a version or a query (branch, tag, commit prefix).
    pub async fn stat(&self, module: &str, rev: &str) -> Result<Info, Error> {
        let code = self.code(module).await?;
        let resolved = with_code!(&code, c => c.stat(rev).await?);
        Ok(info_of(&code, resolved))
    }

    /// The go.mod of canonical version `v`.
    pub async fn go_mod(&self, module: &str, v: &str) -> Result<Bytes, Error> {
        with_code!(self.code(module).await?, c => {
            exact(&c, v).await?;
            c.go_mod(v).await
        })
    }

    /// The zip of canonical version `v`, written to a file from `temp`.
    pub async fn zip(
        &self,
        module: &str,
        v: &str,
        temp: &(dyn Fn() -> std::io::Result<NamedTempFile> + Sync),
    ) -> Result<NamedTempFile, Error> {
        match self.code(module).await? {
            Code::Git(c) => {
                exact(&c, v).await?;
                zip(&c, v, temp).await
            }
            Code::Other(c) => {
                exact(&c, v).await?;
                zip_other(&c, v, temp).await
            }
        }
    }
}

/// The hosts the operator named, which may be internal: those of the
/// `--repo-map` rules (their paths and URLs), of the `--private` patterns,
/// and the HTTP proxies of the environment, which the clients connect to
/// through the policy's DNS.
fn operator_hosts(settings: &DirectSettings) -> Vec<String> {
    let first = |path: &str| path.split('/').next().unwrap_or_default().to_owned();
    let mut hosts: Vec<String> = settings
        .private
        .split(',')
        .map(|p| first(p.trim()))
        .collect();
    for rule in &settings.repo_map {
        hosts.push(first(&rule.prefix));
        hosts.extend(url_host(&rule.url));
    }
    let proxies = [
        modgate_env::HTTP_PROXY,
        modgate_env::HTTPS_PROXY,
        modgate_env::ALL_PROXY,
    ];
    for var in proxies.iter().flatten() {
        if let Some(value) = std::env::var_os(var) {
            let value = value.to_string_lossy();
            let with_scheme = if value.contains("://") {
                value.into_owned()
            } else {
                format!("http://{value}")
            };
            hosts.extend(url_host(&with_scheme));
        }
    }
    hosts.retain(|h| !h.is_empty());
    hosts
}

/// The host of `scheme://[user@]host[:port]/…` or of scp-like
/// `user@host:path`; a `*` of a wildcard rule matches any one element.
fn url_host(url: &str) -> Option<String> {
    let authority = match url.split_once("://") {
        Some((_, rest)) => rest.split('/').next()?,
        None => url.split(':').next()?,
    };
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => host_port.split(':').next()?,
    };
    Some(host.to_ascii_lowercase())
}

/// Checks `v` resolves to itself, as `go mod download` stats a version
/// before reading its files, so no file is served for a version whose
/// .info would be refused.
async fn exact<H: CodeHost>(code: &CodeRepo<H>, v: &str) -> Result<(), Error> {
    let resolved = code.stat(v).await?;
    if resolved.version != v {
        return Err(Error::NoVersion(format!(
            "invalid version: resolves to {}",
            resolved.version
        )));
    }
    Ok(())
}

async fn zip(
    code: &CodeRepo<GitRepo>,
    v: &str,
    temp: &(dyn Fn() -> std::io::Result<NamedTempFile> + Sync),
) -> Result<NamedTempFile, Error> {
    let located = code.locate(v).await?;
    let tree = code.repo().tree(&located.hash, &located.dir).await?;
    let go_mod_path = match located.dir.as_str() {
        "" => "go.mod".to_owned(),
        dir => format!("{dir}/go.mod"),
    };
    // The go directive decides the vendor rules: without a definite answer
    // on the go.mod, the archive's own check decides.
    if let Ok(go_mod) = code
        .repo()
        .read_file(&located.hash, &go_mod_path, modgate_zip::MAX_GO_MOD)
        .await
    {
        archive::precheck(&tree, &located.dir, go_mod.as_deref())?;
    }
    let staging = Error::Staging;
    let tar = temp().map_err(staging)?;
    // A tar holds the content plus headers; go's own limit is on the
    // (compressed) archive, so leave room and let the zip rules decide.
    code.repo()
        .archive(
            &located.hash,
            &located.dir,
            tar.path(),
            2 * modgate_zip::MAX_ZIP_FILE,
        )
        .await?;
    let tar_path = tar.path().to_owned();
    let dir = located.dir.clone();
    let index = tokio::task::spawn_blocking(move || archive::Index::read(&tar_path, &dir))
        .await
        .map_err(Error::Task)??;
    zip_of(code, &located, v, index, tar, temp).await
}

/// The zip of `v` from the archive hg, svn, bzr or fossil writes, as go's
/// coderepo turns that archive into the module zip.
async fn zip_other(
    code: &CodeRepo<OtherRepo>,
    v: &str,
    temp: &(dyn Fn() -> std::io::Result<NamedTempFile> + Sync),
) -> Result<NamedTempFile, Error> {
    let located = code.locate(v).await?;
    let staging = Error::Staging;
    let staged = temp().map_err(staging)?;
    code.repo()
        .archive(
            &located.hash,
            &located.dir,
            staged.path(),
            modgate_zip::MAX_ZIP_FILE,
        )
        .await?;
    let vcs = code.repo().kind().cmd();
    let (path, dir) = (staged.path().to_owned(), located.dir.clone());
    let source = tokio::task::spawn_blocking(move || archive::ZipSource::read(&path, &dir, vcs))
        .await
        .map_err(Error::Task)??;
    zip_of(code, &located, v, source, staged, temp).await
}

/// The module zip of `v` from `archived`, its files as read from the
/// archive `staged` (kept until the zip is written). go copies the
/// repository's LICENSE into a module below the root that has none.
async fn zip_of<H: CodeHost>(
    code: &CodeRepo<H>,
    located: &coderepo::Located,
    v: &str,
    archived: impl archive::Archived,
    staged: NamedTempFile,
    temp: &(dyn Fn() -> std::io::Result<NamedTempFile> + Sync),
) -> Result<NamedTempFile, Error> {
    let license = if !located.dir.is_empty() && !archived.has("LICENSE") {
        CodeHost::read_file(
            &**code.repo(),
            &located.hash,
            "LICENSE",
            modgate_zip::MAX_LICENSE,
        )
        .await
        .unwrap_or(None)
    } else {
        None
    };
    let out = temp().map_err(Error::Staging)?;
    let (module, version) = (code.module().to_owned(), v.to_owned());
    tokio::task::spawn_blocking(move || {
        let file = out.reopen().map_err(Error::Staging)?;
        archived.write_zip(std::io::BufWriter::new(file), &module, &version, license)?;
        drop(staged);
        Ok(out)
    })
    .await
    .map_err(Error::Task)?
}

/// The .info of a resolved version, with the `Origin` the go command
/// writes to its module cache in direct mode: what its `writeDiskStat`
/// keeps (no tag sums; no ref for a pseudo-version, whose hash names it).
fn info_of(code: &Code, r: coderepo::Resolved) -> Info {
    let time =
        jiff::Timestamp::new(r.info.time, r.info.nanos).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let reference = match r.reference {
        Some(name) if !modgate_module::pseudo::is_pseudo_version(&r.version) => name,
        _ => String::new(),
    };
    let origin = match code {
        Code::Git(c) => Some(modgate_module::Origin {
            vcs: "git".to_owned(),
            // As given, credentials masked: the .info is served to anyone.
            url: c.repo().redacted(),
            subdir: c.code_dir().to_owned(),
            hash: r.info.hash,
            r#ref: reference,
            ..Default::default()
        }),
        // go's vcsRepo: the system and the remote, the commit where it has a
        // hash, never a ref or tag sums.
        Code::Other(c) => {
            let kind = c.repo().kind();
            Some(modgate_module::Origin {
                vcs: kind.cmd().to_owned(),
                url: c.repo().redacted().to_owned(),
                subdir: c.code_dir().to_owned(),
                hash: if kind.origin_hash() {
                    r.info.hash
                } else {
                    String::new()
                },
                ..Default::default()
            })
        }
    };
    Info {
        version: r.version,
        time,
        origin,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_say_each_thing_once() {
        let disk_full = || std::io::Error::other("No space left on device");
        let cancelled = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(async {
                let task = tokio::spawn(std::future::pending::<()>());
                task.abort();
                task.await.unwrap_err()
            });
        let errors = [
            Error::Staging(disk_full()),
            Error::Archive {
                what: "reading",
                source: disk_full(),
            },
            Error::VcsArchive {
                what: "reading",
                vcs: "hg",
                source: disk_full(),
            },
            Error::Task(cancelled),
            Error::Git(VcsError::Io(disk_full())),
        ];
        for e in errors {
            modgate_redact::says_each_thing_once(&e).unwrap();
        }
    }
}
