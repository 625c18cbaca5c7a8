//! Who a request comes from: its `Authorization` header against the auth
//! file, with argon2 run once per credential and configuration.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use jiff::Timestamp;
use quick_cache::sync::Cache;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::{AuthConfig, UserRecord};
use crate::{Error, Identity, secret};

/// The `WWW-Authenticate` value of a 401 answer: the go command then sends
/// the credentials ~/.netrc (or GOAUTH) holds for the host.
pub const WWW_AUTHENTICATE: &str = "Basic realm=\"modgate\"";

/// The body of a 401 answer to bad credentials, whatever was wrong with
/// them (the log says what: [`AuthFailure`]'s Display).
pub const AUTHENTICATION_FAILED: &str = "modgate: authentication failed";

/// The body of a 401 answer to a request without credentials for something
/// only users may see.
pub const CREDENTIALS_REQUIRED: &str = "modgate: credentials required";

/// Successful password verifications remembered.
const VERIFIED_CAPACITY: usize = 4096;

/// Failed password verifications remembered; apart from the successes, so
/// that a flood of wrong passwords cannot evict the right ones.
const FAILED_CAPACITY: usize = 1024;

/// Why a request's credentials were refused. Display is for the server's
/// log (user names and token ids, never a secret); the client is told only
/// [`AUTHENTICATION_FAILED`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    #[error("malformed Authorization header: {0}")]
    Malformed(&'static str),
    #[error("unknown user {0:?}")]
    UnknownUser(String),
    #[error("wrong password for user {0:?}")]
    WrongPassword(String),
    #[error("user {0:?} has no password, only tokens")]
    NoPassword(String),
    #[error("unknown token id {0:?}")]
    UnknownToken(String),
    #[error("wrong secret for token {0:?}")]
    WrongToken(String),
    #[error("token {id:?} of user {user:?} expired at {expires}")]
    TokenExpired {
        id: String,
        user: String,
        expires: Timestamp,
    },
    #[error("token {id:?} of user {owner:?} sent as user {user:?}")]
    TokenUserMismatch {
        id: String,
        owner: String,
        user: String,
    },
}

impl AuthFailure {
    /// The one line for the client.
    pub fn client_message(&self) -> &'static str {
        AUTHENTICATION_FAILED
    }
}

/// Authenticates requests against an [`AuthConfig`], remembering which
/// password credentials argon2 accepted or refused under which configuration.
pub struct Authenticator {
    /// Keys the cache so that its keys say nothing about the credentials.
    key: [u8; 32],
    verified: Cache<[u8; 32], Identity>,
    failed: Cache<[u8; 32], ()>,
    hashes: AtomicU64,
    /// What a password for a user without one (unknown, or tokens only)
    /// is verified against, so that it costs what a wrong password costs
    /// and user names cannot be told apart by the answer's time. Made by
    /// the first verification that needs it, on the thread verifying.
    dummy: OnceLock<Option<String>>,
}

/// A credential as the header carries it.
enum Credential<'h> {
    Basic { user: String, secret: String },
    Bearer(&'h str),
}

/// Where authentication stands before any argon2 work.
enum Step<'c> {
    Done(Result<Identity, AuthFailure>),
    /// A password argon2 has not judged under this configuration.
    Hash {
        /// `None`: no user with a password by this name; the password is
        /// verified against the dummy.
        user: Option<&'c UserRecord>,
        secret: String,
        key: [u8; 32],
        failure: AuthFailure,
    },
}

impl Authenticator {
    pub fn new() -> Result<Authenticator, Error> {
        Ok(Authenticator {
            key: secret::random()?,
            verified: Cache::new(VERIFIED_CAPACITY),
            failed: Cache::new(FAILED_CAPACITY),
            hashes: AtomicU64::new(0),
            dummy: OnceLock::new(),
        })
    }

    /// The identity of a request with this `Authorization` header (`None`:
    /// anonymous) at `now` (token expiry).
    ///
    /// A password credential not seen under this configuration costs an
    /// argon2 verification, tens of milliseconds of CPU: call this on a
    /// blocking thread, after [`Authenticator::authenticate_cached`] said
    /// it is needed. Concurrent requests with the same credential wait for
    /// one verification.
    pub fn authenticate(
        &self,
        config: &AuthConfig,
        authorization: Option<&str>,
        now: Timestamp,
    ) -> Result<Identity, AuthFailure> {
        match self.step(config, authorization, now) {
            Step::Done(outcome) => outcome,
            Step::Hash {
                user,
                secret,
                key,
                failure,
            } => self.verified.get_or_insert_with(&key, || {
                // Another request may have failed while this one waited.
                if self.failed.get(&key).is_some() {
                    return Err(failure);
                }
                // A user without a password: the dummy, with a random salt,
                // so that no name costs less than another.
                let phc = user
                    .and_then(|u| u.password.as_deref())
                    .or_else(|| self.dummy());
                let matched = phc.is_some_and(|phc| {
                    self.hashes.fetch_add(1, Ordering::Relaxed);
                    secret::verify_password(&secret, phc)
                });
                if let Some(user) = user
                    && matched
                {
                    return Ok(user.identity.clone());
                }
                self.failed.insert(key, ());
                Err(failure)
            }),
        }
    }

    /// As [`Authenticator::authenticate`] without argon2: `None` when the
    /// answer needs a password verification (then call `authenticate` on
    /// a blocking thread). Cheap: a header parse, a SHA-256 and a lookup.
    pub fn authenticate_cached(
        &self,
        config: &AuthConfig,
        authorization: Option<&str>,
        now: Timestamp,
    ) -> Option<Result<Identity, AuthFailure>> {
        match self.step(config, authorization, now) {
            Step::Done(outcome) => Some(outcome),
            Step::Hash { .. } => None,
        }
    }

    /// Makes the dummy hash that users without a password are verified
    /// against (one argon2 hash), so that the first such attempt costs no
    /// more than later ones. Call it on the thread that verifies.
    pub fn prepare(&self) {
        self.dummy();
    }

    /// argon2 verifications run so far (a metric: each is expensive).
    pub fn password_hashes_verified(&self) -> u64 {
        self.hashes.load(Ordering::Relaxed)
    }

    fn step<'c>(
        &self,
        config: &'c AuthConfig,
        authorization: Option<&str>,
        now: Timestamp,
    ) -> Step<'c> {
        let Some(header) = authorization else {
            return Step::Done(Ok(Identity::ANONYMOUS));
        };
        let (user, secret) = match parse(header) {
            Err(e) => return Step::Done(Err(e)),
            Ok(Credential::Bearer(token)) => {
                return Step::Done(verify_token(config, token, None, now));
            }
            Ok(Credential::Basic { user, secret }) => (user, secret),
        };
        if secret::token_id(&secret).is_some() {
            return Step::Done(verify_token(config, &secret, Some(&user), now));
        }
        // A user without a password takes the same steps as a wrong
        // password, argon2 against the dummy included.
        let key = self.cache_key(config.generation(), &user, &secret);
        let (record, failure) = match config.users.get(&user) {
            None => (None, AuthFailure::UnknownUser(user)),
            Some(r) if r.password.is_none() => (None, AuthFailure::NoPassword(user)),
            Some(r) => (Some(r), AuthFailure::WrongPassword(user)),
        };
        if let Some(identity) = self.verified.get(&key) {
            return Step::Done(Ok(identity));
        }
        if self.failed.get(&key).is_some() {
            return Step::Done(Err(failure));
        }
        Step::Hash {
            user: record,
            secret,
            key,
            failure,
        }
    }

    fn dummy(&self) -> Option<&str> {
        self.dummy
            // What it hashes does not matter: a match is still a failure.
            .get_or_init(|| secret::hash_password("modgate: no password").ok())
            .as_deref()
    }

    /// A keyed digest of a credential under a configuration generation: a
    /// reload starts afresh, and the key is unguessable so that the cache's
    /// keys are no offline target.
    fn cache_key(&self, generation: u64, user: &str, secret: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.key);
        h.update(generation.to_le_bytes());
        h.update((user.len() as u64).to_le_bytes());
        h.update(user.as_bytes());
        h.update([0]);
        h.update(secret.as_bytes());
        h.finalize().into()
    }
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("verified", &self.verified.len())
            .field("failed", &self.failed.len())
            .field("hashes", &self.hashes)
            .finish_non_exhaustive()
    }
}

/// A token, sent as a Bearer credential or as the secret of Basic ones
/// (then `basic_user` must be its owner).
fn verify_token(
    config: &AuthConfig,
    token: &str,
    basic_user: Option<&str>,
    now: Timestamp,
) -> Result<Identity, AuthFailure> {
    let id = secret::token_id(token).ok_or(AuthFailure::Malformed(
        "Bearer credential is not a modgate token",
    ))?;
    let record = config
        .tokens
        .get(id)
        .ok_or_else(|| AuthFailure::UnknownToken(id.to_owned()))?;
    if !bool::from(secret::token_digest(token).ct_eq(&record.digest)) {
        return Err(AuthFailure::WrongToken(id.to_owned()));
    }
    let owner = record.identity.name();
    if let Some(user) = basic_user
        && user != owner
    {
        return Err(AuthFailure::TokenUserMismatch {
            id: id.to_owned(),
            owner: owner.to_owned(),
            user: user.to_owned(),
        });
    }
    if let Some(expires) = record.expires
        && expires <= now
    {
        return Err(AuthFailure::TokenExpired {
            id: id.to_owned(),
            user: owner.to_owned(),
            expires,
        });
    }
    Ok(record.identity.clone())
}

/// The user name a Basic credential claims, whether or not it exists (what
/// failed attempts are counted under); `None` for other credentials.
pub fn claimed_user(authorization: &str) -> Option<String> {
    match parse(authorization) {
        Ok(Credential::Basic { user, .. }) => Some(user),
        _ => None,
    }
}

/// Standard base64 as Go's net/http writes it, also accepted unpadded.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn parse(header: &str) -> Result<Credential<'_>, AuthFailure> {
    let malformed = AuthFailure::Malformed;
    let (scheme, value) = header
        .trim()
        .split_once(' ')
        .ok_or(malformed("no credentials after the scheme"))?;
    let value = value.trim_start();
    if scheme.eq_ignore_ascii_case("Basic") {
        let bytes = BASE64
            .decode(value)
            .map_err(|_| malformed("Basic credentials are not base64"))?;
        let text =
            String::from_utf8(bytes).map_err(|_| malformed("Basic credentials are not UTF-8"))?;
        let (user, secret) = text
            .split_once(':')
            .ok_or(malformed("Basic credentials have no ':'"))?;
        if user.is_empty() {
            return Err(malformed("Basic credentials have an empty user name"));
        }
        if secret.is_empty() {
            return Err(malformed("Basic credentials have an empty password"));
        }
        // A token is a secret wherever it is sent: never quoted in a log
        // line as an unknown user.
        if secret::token_id(user).is_some() {
            return Err(malformed("Basic credentials have a token as the user name"));
        }
        Ok(Credential::Basic {
            user: user.to_owned(),
            secret: secret.to_owned(),
        })
    } else if scheme.eq_ignore_ascii_case("Bearer") {
        if value.is_empty() {
            return Err(malformed("empty Bearer credential"));
        }
        Ok(Credential::Bearer(value))
    } else {
        Err(malformed("scheme is neither Basic nor Bearer"))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use base64::engine::general_purpose::STANDARD;

    use super::*;
    use crate::AuthFile;

    fn basic(user_secret: &str) -> String {
        format!("Basic {}", STANDARD.encode(user_secret))
    }

    fn now() -> Timestamp {
        Timestamp::now()
    }

    /// alice with a password and a token; bob with tokens only.
    fn fixture() -> (AuthFile, String, String) {
        let mut file = AuthFile::default();
        file.add_user("alice", Some("s3cret pass")).unwrap();
        file.set_groups("alice", vec!["dev".into()]).unwrap();
        file.add_user("bob", None).unwrap();
        let alice_token = file.add_token("alice", None).unwrap();
        let bob_token = file.add_token("bob", None).unwrap();
        (file, alice_token, bob_token)
    }

    fn compile(file: &AuthFile) -> AuthConfig {
        AuthConfig::compile(file, Path::new("auth.toml")).unwrap()
    }

    #[test]
    fn malformed_headers() {
        let (file, ..) = fixture();
        let c = compile(&file);
        let auth = Authenticator::new().unwrap();
        let fails = |header: &str| match auth.authenticate(&c, Some(header), now()) {
            Err(AuthFailure::Malformed(why)) => why,
            other => panic!("{header:?}: {other:?}"),
        };
        assert_eq!(fails("Basic !!!"), "Basic credentials are not base64");
        assert_eq!(fails(&basic("alice")), "Basic credentials have no ':'");
        assert_eq!(
            fails(&basic(":s3cret pass")),
            "Basic credentials have an empty user name"
        );
        assert_eq!(
            fails(&basic("alice:")),
            "Basic credentials have an empty password"
        );
        let latin1 = format!("Basic {}", STANDARD.encode(b"al\xefce:pw"));
        assert_eq!(fails(&latin1), "Basic credentials are not UTF-8");
        assert_eq!(fails("Basic"), "no credentials after the scheme");
        assert_eq!(fails(""), "no credentials after the scheme");
        assert_eq!(fails("Digest x=y"), "scheme is neither Basic nor Bearer");
        assert_eq!(
            fails("Bearer hunter2"),
            "Bearer credential is not a modgate token"
        );
        assert_eq!(auth.password_hashes_verified(), 0);
    }

    /// Found by the auth_header property: a token sent as the user name
    /// (`token:x`, as some clients are told to send one) was logged whole
    /// as an unknown user or a token's wrong user.
    #[test]
    fn a_token_as_the_user_name_is_refused_unquoted() {
        let (file, alice_token, _) = fixture();
        let c = compile(&file);
        let auth = Authenticator::new().unwrap();
        for credential in [
            format!("{alice_token}:x"),
            format!("{alice_token}:{alice_token}"),
        ] {
            let failure = auth
                .authenticate(&c, Some(&basic(&credential)), now())
                .unwrap_err();
            assert_eq!(
                failure,
                AuthFailure::Malformed("Basic credentials have a token as the user name")
            );
            assert!(!failure.to_string().contains(&alice_token));
        }
        assert_eq!(auth.password_hashes_verified(), 0);
    }

    #[test]
    fn basic_parsing_details() {
        let (file, ..) = fixture();
        let c = compile(&file);
        let auth = Authenticator::new().unwrap();
        // Valid UTF-8 that is no user name is an unknown user, not malformed.
        assert_eq!(
            auth.authenticate(&c, Some(&basic("ålice:pw")), now()),
            Err(AuthFailure::UnknownUser("ålice".into()))
        );
        // The scheme is case-insensitive, padding optional, and the secret
        // may hold colons and any characters.
        let unpadded = format!(
            "basic   {}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode("alice:s3cret pass")
        );
        assert_eq!(
            auth.authenticate(&c, Some(&unpadded), now())
                .unwrap()
                .name(),
            "alice"
        );
        assert_eq!(
            auth.authenticate(&c, Some(&basic("alice:a:b:ü")), now()),
            Err(AuthFailure::WrongPassword("alice".into()))
        );
        assert_eq!(auth.authenticate(&c, None, now()), Ok(Identity::ANONYMOUS));
    }

    #[test]
    fn tokens_as_bearer_and_basic() {
        let (mut file, alice_token, bob_token) = fixture();
        let c = compile(&file);
        let auth = Authenticator::new().unwrap();
        let id = secret::token_id(&alice_token).unwrap().to_owned();

        let me = auth
            .authenticate(&c, Some(&format!("Bearer {alice_token}")), now())
            .unwrap();
        assert_eq!(me.name(), "alice");
        assert_eq!(me.groups(), ["dev"]);
        assert_eq!(me.token_id(), Some(id.as_str()));
        let basic_token = basic(&format!("bob:{bob_token}"));
        assert_eq!(
            auth.authenticate(&c, Some(&basic_token), now())
                .unwrap()
                .name(),
            "bob"
        );
        // Someone else's token.
        assert_eq!(
            auth.authenticate(&c, Some(&basic(&format!("bob:{alice_token}"))), now()),
            Err(AuthFailure::TokenUserMismatch {
                id: id.clone(),
                owner: "alice".into(),
                user: "bob".into()
            })
        );
        // A known id with another secret.
        let forged = format!("mgt_{id}_{}", "A".repeat(43));
        assert_eq!(
            auth.authenticate(&c, Some(&format!("Bearer {forged}")), now()),
            Err(AuthFailure::WrongToken(id.clone()))
        );
        assert_eq!(
            auth.authenticate(&c, Some("Bearer mgt_ffff0000_x"), now()),
            Err(AuthFailure::UnknownToken("ffff0000".into()))
        );
        assert_eq!(auth.password_hashes_verified(), 0);
        // bob has no password: a non-token secret fails, after argon2 as
        // a wrong password would.
        assert_eq!(
            auth.authenticate(&c, Some(&basic("bob:guess")), now()),
            Err(AuthFailure::NoPassword("bob".into()))
        );
        assert_eq!(auth.password_hashes_verified(), 1);

        // Revoked: gone with the next configuration.
        file.revoke_token(&id).unwrap();
        let c = compile(&file);
        assert_eq!(
            auth.authenticate(&c, Some(&format!("Bearer {alice_token}")), now()),
            Err(AuthFailure::UnknownToken(id))
        );
        assert!(auth.authenticate(&c, Some(&basic_token), now()).is_ok());
    }

    #[test]
    fn tokens_expire() {
        let mut file = AuthFile::default();
        file.add_user("ci", None).unwrap();
        let expires = now() + jiff::SignedDuration::from_hours(1);
        let token = file.add_token("ci", Some(expires)).unwrap();
        let id = secret::token_id(&token).unwrap().to_owned();
        let c = compile(&file);
        let auth = Authenticator::new().unwrap();
        let header = format!("Bearer {token}");
        assert!(auth.authenticate(&c, Some(&header), now()).is_ok());
        assert_eq!(
            auth.authenticate(&c, Some(&header), expires),
            Err(AuthFailure::TokenExpired {
                id,
                user: "ci".into(),
                expires
            })
        );
        let past = now() - jiff::SignedDuration::from_hours(1);
        assert!(matches!(
            file.add_token("ci", Some(past)),
            Err(Error::ExpiryInPast { .. })
        ));
    }

    #[test]
    fn argon2_runs_once_per_credential_and_configuration() {
        let (file, ..) = fixture();
        let c = compile(&file);
        let auth = Authenticator::new().unwrap();
        let right = basic("alice:s3cret pass");
        let wrong = basic("alice:s3cret pas");

        assert_eq!(auth.authenticate_cached(&c, Some(&right), now()), None);
        let alice = auth.authenticate(&c, Some(&right), now()).unwrap();
        assert_eq!((alice.name(), alice.token_id()), ("alice", None));
        assert_eq!(auth.password_hashes_verified(), 1);
        assert_eq!(
            auth.authenticate(&c, Some(&right), now()),
            Ok(alice.clone())
        );
        assert_eq!(
            auth.authenticate_cached(&c, Some(&right), now()),
            Some(Ok(alice.clone()))
        );
        assert_eq!(auth.password_hashes_verified(), 1);

        // Failures are remembered too.
        for _ in 0..3 {
            assert_eq!(
                auth.authenticate(&c, Some(&wrong), now()),
                Err(AuthFailure::WrongPassword("alice".into()))
            );
        }
        assert_eq!(auth.password_hashes_verified(), 2);
        assert_eq!(
            auth.authenticate_cached(&c, Some(&wrong), now()),
            Some(Err(AuthFailure::WrongPassword("alice".into())))
        );

        // A reloaded file is judged afresh.
        let reloaded = compile(&file);
        assert_eq!(
            auth.authenticate_cached(&reloaded, Some(&right), now()),
            None
        );
        assert!(auth.authenticate(&reloaded, Some(&right), now()).is_ok());
        assert_eq!(auth.password_hashes_verified(), 3);
    }

    /// Guessing user names: an unknown user, a user with tokens only and a
    /// wrong password all cost one argon2 verification (against the same
    /// parameters) and are remembered alike.
    #[test]
    fn unknown_users_cost_what_wrong_passwords_cost() {
        let (file, ..) = fixture();
        let c = compile(&file);
        let auth = Authenticator::new().unwrap();
        let cases = [
            ("alice:wrong", AuthFailure::WrongPassword("alice".into())),
            ("mallory:wrong", AuthFailure::UnknownUser("mallory".into())),
            ("bob:wrong", AuthFailure::NoPassword("bob".into())),
        ];
        for (n, (credential, failure)) in cases.iter().enumerate() {
            let header = basic(credential);
            assert_eq!(auth.authenticate_cached(&c, Some(&header), now()), None);
            assert_eq!(
                auth.authenticate(&c, Some(&header), now()),
                Err(failure.clone())
            );
            assert_eq!(auth.password_hashes_verified(), n as u64 + 1);
            assert_eq!(
                auth.authenticate_cached(&c, Some(&header), now()),
                Some(Err(failure.clone()))
            );
        }
        let params = |phc: &str| phc.split('$').nth(3).unwrap().to_owned();
        let alice = c.users.get("alice").unwrap().password.as_deref().unwrap();
        assert_eq!(params(auth.dummy().unwrap()), params(alice));
        assert_eq!(
            claimed_user(&basic("mallory:x")).as_deref(),
            Some("mallory")
        );
        assert_eq!(claimed_user("Bearer mgt_ab_cd"), None);
    }

    #[test]
    fn concurrent_logins_share_one_verification() {
        let (file, ..) = fixture();
        let c = compile(&file);
        let auth = Authenticator::new().unwrap();
        let right = basic("alice:s3cret pass");
        let wrong = basic("alice:nope");
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| auth.authenticate(&c, Some(&right), now()).unwrap());
                s.spawn(|| auth.authenticate(&c, Some(&wrong), now()).unwrap_err());
            }
        });
        assert_eq!(auth.password_hashes_verified(), 2);
    }
}
