//! Who a GOPROXY client is, and which modules it may read or publish.
//!
//! modgate serves private modules; the auth file (`--auth-file`,
//! `MODGATE_AUTH_FILE`) names the users, their tokens, and the module
//! patterns each may read or publish. This crate loads and edits that
//! file, authenticates requests and decides them; it does no network I/O
//! ([`access`], which the server asks for each request, sleeps the
//! [`Throttle`]'s delays, reloads the [`Watched`] file and writes the
//! audit log).
//!
//! # The auth file
//!
//! ```toml
//! [defaults]
//! public = "anonymous"     # or "authenticated", "closed"
//!
//! [[users]]
//! name = "alice"           # 1-128 of [A-Za-z0-9._@-], not "anonymous"
//! password = "$argon2id$v=19$m=19456,t=2,p=1$..."   # optional: tokens only
//! groups = ["dev"]
//! admin = false
//!
//! [[tokens]]
//! id = "1a2b3c4d"          # public: listed, and named by revoke
//! user = "alice"           # the token acts as this user
//! hash = "sha256:<hex>"    # of the whole token, never the token itself
//! created = "2026-12-02T01:00:00Z"
//! expires = "2027-01-01T00:00:00Z"   # optional
//!
//! [[access]]
//! patterns = ["git.corp.example/*"]  # GOPRIVATE globs, one per string
//! users = ["alice"]                  # "anonymous": every request
//! groups = ["dev"]                   # "authenticated": every user
//! allow = ["read"]                   # "read", "publish"; [] bans
//! ```
//!
//! Unknown keys, unknown rights, malformed names, globs or hashes, a
//! password that is not an argon2 PHC string, duplicate user names or
//! token ids, and tokens of users not in the file are load errors that
//! name the file and the entry (and never quote a password). A rule that
//! names a user or group that does not exist loads; [`AuthConfig::check`]
//! reports it. Rewriting the file ([`AuthFile::save`]) keeps every entry but
//! not comments.
//!
//! # Decisions
//!
//! [`AuthConfig::authorize`]`(identity, module, right, private)`:
//!
//! 1. An admin may do everything.
//! 2. Rules are walked in file order. The first rule one of whose patterns
//!    matches the module (x/mod's `MatchPrefixPatterns`, as GOPRIVATE) and
//!    whose `users` or `groups` include the identity decides: allowed iff
//!    the right is in its `allow` (so `allow = []` bans).
//! 3. If rules matched the module but none includes the identity, denied,
//!    naming the first such rule's matching pattern: a rule keeps its
//!    modules for the identities it lists.
//! 4. If no rule matches: a private module (the caller says whether it
//!    matches the server's `--private` patterns) is denied (no `[[access]]`
//!    rule grants it); so is `publish` of any module; `read` of a public
//!    one follows `defaults.public`.
//!
//! A [`Denial`] displays as one line for the client with the identity's
//! name and the deciding pattern, never whether the module exists. A
//! denied anonymous request should be answered 401 with
//! [`WWW_AUTHENTICATE`], so that the go command retries with credentials.
//!
//! # Credentials
//!
//! `Authorization: Basic base64(user:secret)` (what the go command sends
//! from ~/.netrc or `GOPROXY=https://user:secret@host/`), where the secret
//! is the user's password or one of the user's tokens; `Authorization:
//! Bearer TOKEN`; or none: anonymous. Tokens are `mgt_<id>_<secret>` (32
//! random bytes, base64url) and checked by a constant-time comparison of
//! SHA-256 digests; a secret shaped like a token is only ever taken as one.
//! Passwords are argon2id: the [`Authenticator`] verifies a credential once
//! per loaded configuration and remembers the outcome (successes and
//! failures in separate bounded caches, keyed by a per-process keyed
//! digest, never the secret). A user name that does not exist, or has no
//! password, is verified against a dummy hash: it costs what a wrong
//! password costs, so answers do not tell which names exist.

pub mod access;
mod authn;
mod config;
mod error;
mod file;
mod identity;
mod secret;
mod throttle;
mod watch;

pub use authn::{
    AUTHENTICATION_FAILED, AuthFailure, Authenticator, CREDENTIALS_REQUIRED, WWW_AUTHENTICATE,
    claimed_user,
};
pub use config::{AuthConfig, Decision, Denial, DenyReason, Warning};
pub use error::Error;
pub use file::{AuthFile, PublicDefault, Right, Row, parse_expiry};
pub use identity::{ANONYMOUS, AUTHENTICATED, Identity};
pub use throttle::{Admission, Throttle, bucket as address_block};
pub use watch::Watched;
