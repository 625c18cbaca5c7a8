//! The crate's error type: loading, editing and saving the auth file.
//!
//! A failed authentication is not an error of this kind but an outcome, an
//! [`AuthFailure`](crate::AuthFailure). No message here quotes a password,
//! a token or a hash: file positions and entry names say where the problem is.

use std::path::PathBuf;

/// Why the auth file could not be read, understood, changed or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("reading auth file {}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// TOML syntax, an unknown key or a value of the wrong kind. The message
    /// is the parser's without its quote of the line, which could hold a
    /// password someone wrote in clear.
    #[error("{}:{line}:{column}: {message}", .path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },

    /// An entry breaks a rule of the format (a duplicate user, a rule
    /// without patterns, a token for a user who is not there...).
    #[error("{}: {entry}: {reason}", .path.display())]
    Invalid {
        path: PathBuf,
        /// Which entry, e.g. `[[users]] #2 "alice"`.
        entry: String,
        reason: String,
    },

    #[error("writing auth file {}", .path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("invalid user name {name:?}: {reason}")]
    InvalidName { name: String, reason: &'static str },

    #[error("invalid group name {name:?}: {reason}")]
    InvalidGroup { name: String, reason: &'static str },

    #[error("user {0:?} already exists")]
    UserExists(String),

    #[error("no user {0:?}")]
    NoSuchUser(String),

    #[error("no token with id {0:?}")]
    NoSuchToken(String),

    /// The reason never includes the password.
    #[error("unusable password: {0}")]
    InvalidPassword(&'static str),

    #[error(
        "--expires {0:?}: a date-time (2027-01-31T00:00:00Z) or a duration from now (90d, 12h)"
    )]
    Expiry(String),
    #[error("a token's expiry {expires} is not after now ({now})")]
    ExpiryInPast {
        expires: jiff::Timestamp,
        now: jiff::Timestamp,
    },

    /// argon2 refused to hash (its parameters or salt); no password inside.
    #[error("hashing password: {0}")]
    Hash(argon2::password_hash::Error),

    #[error("reading the OS random number generator: {0}")]
    Random(getrandom::Error),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::LoadError;

    #[test]
    fn errors_say_each_thing_once() {
        let io = || std::io::Error::other("Permission denied");
        let errors: Vec<Box<dyn std::error::Error>> = vec![
            Box::new(Error::Read {
                path: "auth.toml".into(),
                source: io(),
            }),
            Box::new(Error::Write {
                path: "auth.toml".into(),
                source: io(),
            }),
            Box::new(LoadError::Verifiers(io())),
            Box::new(LoadError::Auth(Error::Read {
                path: "auth.toml".into(),
                source: io(),
            })),
        ];
        for e in errors {
            modgate_redact::says_each_thing_once(&*e).unwrap();
        }
    }
}
