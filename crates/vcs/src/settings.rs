//! The direct fetcher's settings as given, with their defaults and checks.

use std::path::PathBuf;
use std::time::Duration;

use modgate_net::Cidr;

use crate::DirectSettings;
use crate::resolve::{GoGet, RepoMapRule};

/// Disk the git mirrors may use before the least recently used are evicted.
pub const DEFAULT_VCS_MAX_SIZE: u64 = 20 << 30;

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// No git command could finish, or none could run.
    #[error("--{0} must be more than 0")]
    Zero(&'static str),
}

/// The settings as given: `None` (or empty) where nothing was.
#[derive(Debug, Default)]
pub struct Given {
    pub vcs_dir: Option<PathBuf>,
    pub insecure: Option<String>,
    pub repo_map: Option<Vec<RepoMapRule>>,
    pub git_timeout: Option<Duration>,
    pub max_git: Option<usize>,
    pub refs_ttl: Option<Duration>,
    pub vcs_max_size: Option<u64>,
    pub private: Option<String>,
    pub allow_network: Option<Vec<Cidr>>,
    pub go_get: Option<GoGet>,
    pub govcs: Option<crate::GoVcs>,
}

impl DirectSettings {
    /// `vcs_dir` is where the mirrors go unless `given` names a directory.
    pub fn resolve(given: Given, vcs_dir: PathBuf) -> Result<Self, SettingsError> {
        let git_timeout = given.git_timeout.unwrap_or(Duration::from_secs(600));
        if git_timeout.is_zero() {
            return Err(SettingsError::Zero("git-timeout"));
        }
        Ok(DirectSettings {
            vcs_dir: given.vcs_dir.unwrap_or(vcs_dir),
            insecure: given.insecure.unwrap_or_default(),
            repo_map: given.repo_map.unwrap_or_default(),
            git_timeout,
            max_git: match given.max_git {
                Some(0) => return Err(SettingsError::Zero("max-git-processes")),
                n => n.unwrap_or(16),
            },
            refs_ttl: given.refs_ttl.unwrap_or(Duration::from_secs(30)),
            vcs_max_size: given.vcs_max_size.unwrap_or(DEFAULT_VCS_MAX_SIZE),
            private: given.private.unwrap_or_default(),
            allow_network: given.allow_network.unwrap_or_default(),
            go_get: given.go_get.unwrap_or_default(),
            govcs: given.govcs.unwrap_or_default(),
        })
    }
}
