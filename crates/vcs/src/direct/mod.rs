//! `direct`: module versions built from their version control repository,
//! as the go command's GOPROXY=direct mode builds them, so every hash is
//! the one go computes. The answers are GOPROXY artifacts, checked and
//! stored like any upstream's.

mod archive;
mod coderepo;

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use tempfile::NamedTempFile;

use self::coderepo::CodeRepo;
use crate::git::{Git, GitSettings, VcsError};
use crate::resolve::{RepoMapRule, ResolveError, Resolver, ResolverSettings, Vcs};
use modgate_module::Info;

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
}

#[derive(Debug, thiserror::Error)]
pub enum DirectError {
    /// The module or version does not exist, or cannot be built: a 404.
    #[error("{0}")]
    NotFound(String),
    /// A failure that may pass: timeouts, unreachable hosts.
    #[error("{0}")]
    Unavailable(String),
    /// The module is served by a GOPROXY-protocol server (a `mod` go-import).
    #[error("served by the module proxy {0}")]
    Proxy(String),
    /// The local disk failed while staging the archive or the zip.
    #[error("staging: {0}")]
    Staging(#[source] std::io::Error),
}

impl DirectError {
    fn invalid(msg: String) -> Self {
        DirectError::NotFound(msg)
    }
}

impl From<VcsError> for DirectError {
    fn from(e: VcsError) -> Self {
        match e {
            VcsError::Timeout { .. }
            | VcsError::Git { .. }
            | VcsError::GitNotFound
            | VcsError::Io(_) => DirectError::Unavailable(e.to_string()),
            _ => DirectError::NotFound(e.to_string()),
        }
    }
}

impl From<ResolveError> for DirectError {
    fn from(e: ResolveError) -> Self {
        DirectError::NotFound(e.to_string())
    }
}

pub struct Direct {
    git: Git,
    resolver: Resolver,
}

impl Direct {
    pub fn new(settings: &DirectSettings) -> Result<Self, DirectError> {
        let git = Git::new(GitSettings {
            workdir: settings.vcs_dir.clone(),
            max_processes: settings.max_git,
            timeout: settings.git_timeout,
            refs_ttl: settings.refs_ttl,
        })
        .map_err(|e| DirectError::Unavailable(e.to_string()))?;
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
        })?;
        Ok(Self { git, resolver })
    }

    /// The code repository of `module`, or where else it is served.
    async fn code(&self, module: &str) -> Result<CodeRepo, DirectError> {
        let root = self.resolver.resolve(module).await?;
        match root.vcs {
            Vcs::Git => {}
            Vcs::ModProxy => return Err(DirectError::Proxy(root.url)),
            Vcs::Other(vcs) => {
                return Err(DirectError::NotFound(format!(
                    "unsupported VCS {vcs} for {} (modgate fetches git repositories only)",
                    root.root
                )));
            }
        }
        Ok(CodeRepo::new(module, &root.root, self.git.repo(&root.url))?)
    }

    /// `@v/list`: the module's tagged versions, one a line.
    pub async fn list(&self, module: &str) -> Result<Bytes, DirectError> {
        let mut text = self.code(module).await?.versions().await?.join("\n");
        if !text.is_empty() {
            text.push('\n');
        }
        Ok(text.into())
    }

    /// `@latest`: the highest release, else pre-release, else a
    /// pseudo-version of the default branch.
    pub async fn latest(&self, module: &str) -> Result<Info, DirectError> {
        Ok(info_of(self.code(module).await?.latest().await?))
    }

    /// `.info` of a version or a query (branch, tag, commit prefix).
    pub async fn stat(&self, module: &str, rev: &str) -> Result<Info, DirectError> {
        Ok(info_of(self.code(module).await?.stat(rev).await?))
    }

    /// The go.mod of canonical version `v`.
    pub async fn go_mod(&self, module: &str, v: &str) -> Result<Bytes, DirectError> {
        let code = self.code(module).await?;
        exact(&code, v).await?;
        code.go_mod(v).await
    }

    /// The zip of canonical version `v`, written to a file from `temp`.
    pub async fn zip(
        &self,
        module: &str,
        v: &str,
        temp: &(dyn Fn() -> std::io::Result<NamedTempFile> + Sync),
    ) -> Result<NamedTempFile, DirectError> {
        let code = self.code(module).await?;
        exact(&code, v).await?;
        zip(&code, v, temp).await
    }
}

/// Checks `v` resolves to itself, as `go mod download` stats a version
/// before reading its files, so no file is served for a version whose
/// .info would be refused.
async fn exact(code: &CodeRepo, v: &str) -> Result<(), DirectError> {
    let resolved = code.stat(v).await?;
    if resolved.version != v {
        return Err(DirectError::NotFound(format!(
            "invalid version: resolves to {}",
            resolved.version
        )));
    }
    Ok(())
}

async fn zip(
    code: &CodeRepo,
    v: &str,
    temp: &(dyn Fn() -> std::io::Result<NamedTempFile> + Sync),
) -> Result<NamedTempFile, DirectError> {
    let located = code.locate(v).await?;
    let staging = DirectError::Staging;
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
        .map_err(|e| DirectError::Unavailable(e.to_string()))??;
    // go copies the repository's LICENSE into modules below the root.
    let license = if !located.dir.is_empty() && !index.has("LICENSE") {
        code.repo()
            .read_file(&located.hash, "LICENSE", modgate_zip::MAX_LICENSE)
            .await
            .unwrap_or(None)
    } else {
        None
    };
    let out = temp().map_err(staging)?;
    let (module, version) = (code.module().to_owned(), v.to_owned());
    tokio::task::spawn_blocking(move || {
        let file = out.reopen().map_err(staging)?;
        index.write_zip(std::io::BufWriter::new(file), &module, &version, license)?;
        drop(tar);
        Ok(out)
    })
    .await
    .map_err(|e| DirectError::Unavailable(e.to_string()))?
}

fn info_of(r: coderepo::Resolved) -> Info {
    let time = jiff::Timestamp::from_second(r.info.time).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    Info {
        version: r.version,
        time,
    }
}
