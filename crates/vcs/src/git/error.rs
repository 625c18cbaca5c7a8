//! What can go wrong talking to git.

use std::time::Duration;

/// URLs and git's stderr in these are always redacted (see [`super::redact`]).
#[derive(Debug, thiserror::Error)]
pub enum VcsError {
    #[error("unknown revision {rev}")]
    UnknownRevision { rev: String },
    #[error("ambiguous revision {rev}")]
    AmbiguousRevision { rev: String },
    #[error("repository {url} not found: {detail}")]
    RepoNotFound { url: String, detail: String },
    #[error(
        "authentication required for {url}: configure a git credential helper (or ssh key / .netrc) \
         for the user modgate runs as, or map the module to a reachable URL with --repo-map \
         (git said: {detail})"
    )]
    AuthRequired { url: String, detail: String },
    #[error("no commits")]
    NoCommits,
    #[error("{path}: no such file or directory in the revision")]
    PathNotFound { path: String },
    /// A tree git itself will not check out or archive (`.git/…`).
    #[error("invalid tree in the revision: {detail}")]
    InvalidTree { detail: String },
    #[error("{command}: timed out after {after:?}")]
    Timeout { command: String, after: Duration },
    #[error("{what} is larger than {max} bytes")]
    TooLarge { what: String, max: u64 },
    #[error("git not found on PATH: install git")]
    GitNotFound,
    #[error("{command}: {detail}")]
    Git { command: String, detail: String },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// By hand: `std::io::Error` is not `Clone`, and one failed `ls-remote`
/// answers every caller that was waiting for it.
impl Clone for VcsError {
    fn clone(&self) -> Self {
        match self {
            Self::UnknownRevision { rev } => Self::UnknownRevision { rev: rev.clone() },
            Self::AmbiguousRevision { rev } => Self::AmbiguousRevision { rev: rev.clone() },
            Self::RepoNotFound { url, detail } => Self::RepoNotFound {
                url: url.clone(),
                detail: detail.clone(),
            },
            Self::AuthRequired { url, detail } => Self::AuthRequired {
                url: url.clone(),
                detail: detail.clone(),
            },
            Self::NoCommits => Self::NoCommits,
            Self::PathNotFound { path } => Self::PathNotFound { path: path.clone() },
            Self::InvalidTree { detail } => Self::InvalidTree {
                detail: detail.clone(),
            },
            Self::Timeout { command, after } => Self::Timeout {
                command: command.clone(),
                after: *after,
            },
            Self::TooLarge { what, max } => Self::TooLarge {
                what: what.clone(),
                max: *max,
            },
            Self::GitNotFound => Self::GitNotFound,
            Self::Git { command, detail } => Self::Git {
                command: command.clone(),
                detail: detail.clone(),
            },
            Self::Io(e) => Self::Io(std::io::Error::new(e.kind(), e.to_string())),
        }
    }
}
