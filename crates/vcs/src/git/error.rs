//! What can go wrong talking to git.

use std::fmt;
use std::time::Duration;

/// What git's stderr says went wrong, in a few words: the errors that
/// reach clients carry this, never git's own text (which can hold what an
/// internal server answered); the text goes to modgate's log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GitFailure {
    NotFound,
    AuthRequired,
    /// The host name did not resolve.
    Unresolved,
    ConnectionRefused,
    TimedOut,
    /// The server's TLS certificate is not trusted.
    Certificate,
    /// `GIT_ALLOW_PROTOCOL` (or git itself) refused the transport.
    ProtocolNotAllowed,
    /// The mirror's own objects or refs are unreadable.
    Corrupt,
    Other,
}

/// git's answers when it has no (usable) credentials; lower case, as the
/// matching is case-insensitive.
const AUTH_REQUIRED: &[&str] = &[
    "could not read username",
    "could not read password",
    "terminal prompts disabled",
    "authentication failed",
    "invalid username or password",
    "permission denied (publickey",
    "host key verification failed",
    "access denied",
    "returned error: 401",
    "returned error: 403",
];
const NOT_FOUND: &[&str] = &[
    "not found",
    "does not appear to be a git repository",
    "returned error: 404",
];
/// A tool missing is not a repository missing (`sh: 1: ssh: not found`).
const TOOL_NOT_FOUND: &[&str] = &["command not found", "sh: 1: "];
const PROTOCOL_NOT_ALLOWED: &[&str] = &[
    "' not allowed",
    "unable to find remote helper",
    "unsupported protocol",
];
const UNRESOLVED: &[&str] = &[
    "could not resolve host",
    "name or service not known",
    "temporary failure in name resolution",
];
const CERTIFICATE: &[&str] = &["ssl certificate problem", "certificate verification failed"];
/// git's words for a repository of its own it cannot read: a mirror a
/// crash or a full disk left broken. What the remote says (`remote: …`)
/// is its own business.
const CORRUPT: &[&str] = &[
    "is corrupt",
    "is empty",
    "bad object",
    "inflate: data stream error",
    "does not match index",
    "index file",
    "packfile",
    "not a git repository",
    "bad config",
    "unable to read tree",
    "invalid sha1 pointer",
    "bad ref",
    // Objects gone (a mirror's loose objects deleted), a damaged `shallow`.
    "not a tree object",
    "unable to read sha1 file",
    "missing blob",
    "missing tree",
    "bad shallow line",
];

impl GitFailure {
    /// The failure git's `stderr` describes.
    pub fn classify(stderr: &str) -> GitFailure {
        let e = stderr.to_ascii_lowercase();
        let says = |patterns: &[&str]| patterns.iter().any(|p| e.contains(p));
        if says(PROTOCOL_NOT_ALLOWED) {
            GitFailure::ProtocolNotAllowed
        } else if says(AUTH_REQUIRED) {
            GitFailure::AuthRequired
        } else if says(UNRESOLVED) {
            GitFailure::Unresolved
        } else if e.contains("connection refused") {
            GitFailure::ConnectionRefused
        } else if e.contains("timed out") {
            GitFailure::TimedOut
        } else if says(CERTIFICATE) {
            GitFailure::Certificate
        } else if says(NOT_FOUND) && !says(TOOL_NOT_FOUND) {
            GitFailure::NotFound
        } else if e
            .lines()
            .filter(|l| !l.starts_with("remote:"))
            .any(|l| CORRUPT.iter().any(|p| l.contains(p)))
        {
            GitFailure::Corrupt
        } else {
            GitFailure::Other
        }
    }
}

impl fmt::Display for GitFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GitFailure::NotFound => "not found",
            GitFailure::AuthRequired => "authentication required",
            GitFailure::Unresolved => "could not connect: the host name does not resolve",
            GitFailure::ConnectionRefused => "could not connect: connection refused",
            GitFailure::TimedOut => "timed out",
            GitFailure::Certificate => "could not connect: TLS certificate not trusted",
            GitFailure::ProtocolNotAllowed => "protocol not allowed",
            GitFailure::Corrupt => "the git mirror is corrupt",
            GitFailure::Other => "git failed (the details are in modgate's log)",
        })
    }
}

/// URLs in these are always redacted (see [`super::redact`]); git's own
/// output never is in them, only [`GitFailure`]'s words for it.
#[derive(Debug, thiserror::Error)]
pub enum VcsError {
    #[error("unknown revision {rev}")]
    UnknownRevision { rev: String },
    #[error("ambiguous revision {rev}")]
    AmbiguousRevision { rev: String },
    #[error("repository {url} not found")]
    RepoNotFound { url: String },
    #[error(
        "authentication required for {url}: configure a git credential helper (or ssh key / .netrc) \
         for the user modgate runs as, or map the module to a reachable URL with --repo-map"
    )]
    AuthRequired { url: String },
    /// A URL a request chose that git is not run on: its protocol, its
    /// form, or its destination (the destination policy).
    #[error("refusing to fetch from {url}: {reason}")]
    Refused { url: String, reason: String },
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
    /// hg, svn, bzr or fossil is not installed.
    #[error("{tool} not found on PATH: install it to serve modules from {tool} repositories")]
    ToolNotFound { tool: &'static str },
    /// What go's code host for this version control system cannot do
    /// either (`what`: go's words, e.g. `vcs hg: DescendsFrom`).
    #[error("{what}: unsupported operation")]
    Unsupported { what: String },
    /// `detail` is modgate's wording ([`GitFailure`]), not git's.
    #[error("{command}: {detail}")]
    Git { command: String, detail: String },
    /// git cannot read the mirror: it is set aside and fetched again, once.
    #[error("{command}: the git mirror is corrupt")]
    Corrupt { command: String },
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
            Self::RepoNotFound { url } => Self::RepoNotFound { url: url.clone() },
            Self::AuthRequired { url } => Self::AuthRequired { url: url.clone() },
            Self::Refused { url, reason } => Self::Refused {
                url: url.clone(),
                reason: reason.clone(),
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
            Self::ToolNotFound { tool } => Self::ToolNotFound { tool },
            Self::Unsupported { what } => Self::Unsupported { what: what.clone() },
            Self::Git { command, detail } => Self::Git {
                command: command.clone(),
                detail: detail.clone(),
            },
            Self::Corrupt { command } => Self::Corrupt {
                command: command.clone(),
            },
            Self::Io(e) => Self::Io(std::io::Error::new(e.kind(), e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_git_stderr() {
        let cases = [
            (
                "fatal: could not read Username for 'https://h': terminal prompts disabled",
                GitFailure::AuthRequired,
            ),
            (
                "git@h: Permission denied (publickey).",
                GitFailure::AuthRequired,
            ),
            (
                "fatal: unable to access 'https://h/x/': The requested URL returned error: 403",
                GitFailure::AuthRequired,
            ),
            (
                "remote: Repository not found.\nfatal: repository 'https://h/x/' not found",
                GitFailure::NotFound,
            ),
            (
                "fatal: '/srv/x' does not appear to be a git repository",
                GitFailure::NotFound,
            ),
            ("sh: 1: ssh: not found", GitFailure::Other),
            (
                "error: object file ./objects/ab/cdef is empty\nfatal: loose object abcdef (stored in ./objects/ab/cdef) is corrupt",
                GitFailure::Corrupt,
            ),
            ("fatal: bad object refs/tags/v1.0.0", GitFailure::Corrupt),
            (
                "fatal: not a tree object: 8ded2214c95d3e7d1c71465a0ca17dc8ec75d566",
                GitFailure::Corrupt,
            ),
            ("fatal: bad shallow line: xx", GitFailure::Corrupt),
            (
                "fatal: not a git repository: '/var/lib/modgate/vcs/0123'",
                GitFailure::Corrupt,
            ),
            // The remote's trouble is not the mirror's.
            (
                "remote: fatal: bad object 0123\nfatal: early EOF",
                GitFailure::Other,
            ),
            (
                "fatal: unable to access 'https://x.invalid/': Could not resolve host: x.invalid",
                GitFailure::Unresolved,
            ),
            (
                "ssh: Could not resolve hostname h: Name or service not known",
                GitFailure::Unresolved,
            ),
            (
                "fatal: unable to access 'https://h/': Failed to connect to h port 443: Connection refused",
                GitFailure::ConnectionRefused,
            ),
            (
                "ssh: connect to host h port 22: Connection timed out",
                GitFailure::TimedOut,
            ),
            (
                "fatal: unable to access 'https://h/': SSL certificate problem: self-signed certificate",
                GitFailure::Certificate,
            ),
            (
                "fatal: transport 'file' not allowed",
                GitFailure::ProtocolNotAllowed,
            ),
            (
                "fatal: transport 'ext' not allowed",
                GitFailure::ProtocolNotAllowed,
            ),
            (
                "git: 'remote-fd' is not a git command. fatal: unable to find remote helper for 'fd'",
                GitFailure::ProtocolNotAllowed,
            ),
            (
                "fatal: protocol error: bad line length character: SSH-",
                GitFailure::Other,
            ),
            ("", GitFailure::Other),
        ];
        for (stderr, want) in cases {
            assert_eq!(GitFailure::classify(stderr), want, "{stderr}");
        }
    }
}
