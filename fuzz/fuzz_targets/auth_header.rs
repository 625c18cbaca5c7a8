//! `Authorization` headers against an auth file with a password user and
//! a token, up to (never into) the argon2 verification.
#![no_main]

use std::path::Path;
use std::sync::LazyLock;

use base64::Engine as _;
use jiff::Timestamp;
use libfuzzer_sys::fuzz_target;
use modgate_auth::{AuthConfig, AuthFailure, Authenticator};
use sha2::{Digest, Sha256};

const TOKEN: &str = "mgt_1a2b3c4d_c2VjcmV0";

static AUTH: LazyLock<(AuthConfig, Authenticator)> = LazyLock::new(|| {
    let hash: String = Sha256::digest(TOKEN)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let text = format!(
        r#"
[[users]]
name = "alice"
password = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Y2h1bmt5IGJhY29uIGNodW5reSBiYWNvbiBjaHVua3kgYg"
[[users]]
name = "bob"
[[tokens]]
id = "1a2b3c4d"
user = "bob"
hash = "sha256:{hash}"
created = "2026-01-01T00:00:00Z"
expires = "2027-01-01T00:00:00Z"
"#
    );
    let config = AuthConfig::parse(&text, Path::new("fuzz.toml")).expect("valid auth file");
    (config, Authenticator::new().expect("randomness"))
});

fuzz_target!(|data: &[u8]| {
    let Ok(header) = std::str::from_utf8(data) else {
        return;
    };
    let (config, authn) = &*AUTH;
    let now = Timestamp::from_second(1_800_000_000).expect("in range");
    match authn.authenticate_cached(config, Some(header), now) {
        Some(Ok(identity)) => assert_eq!(identity.name(), "bob", "{header:?}"),
        Some(Err(failure)) => {
            // The log line names users and token ids, never a whole token.
            let logged = failure.to_string();
            for token in tokens_sent(header) {
                assert!(!logged.contains(&token), "{header:?} logs {logged:?}");
            }
            assert!(
                !matches!(failure, AuthFailure::WrongPassword(_)),
                "no argon2 here"
            );
        }
        None => {}
    }
    assert_eq!(authn.password_hashes_verified(), 0);
});

/// Whether `s` is shaped like a token, `mgt_<id>_<secret>` with an id of
/// 1 to 32 letters and digits.
fn is_token(s: &str) -> bool {
    s.strip_prefix("mgt_")
        .and_then(|rest| rest.split_once('_'))
        .is_some_and(|(id, secret)| {
            (1..=32).contains(&id.len())
                && id.bytes().all(|b| b.is_ascii_alphanumeric())
                && !secret.is_empty()
        })
}

/// The parts of `header` shaped like tokens: a Bearer credential, or the
/// user or password of Basic ones. A password the user name repeats is
/// left out: user names are logged, by design.
fn tokens_sent(header: &str) -> Vec<String> {
    let Some((scheme, value)) = header.trim().split_once(' ') else {
        return Vec::new();
    };
    let value = value.trim_start();
    let sent = if scheme.eq_ignore_ascii_case("Basic") {
        let decoded = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(value.trim_end_matches('='))
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        match decoded.as_deref().and_then(|t| t.split_once(':')) {
            Some((user, secret)) if user.contains(secret) => vec![user.to_owned()],
            Some((user, secret)) => vec![user.to_owned(), secret.to_owned()],
            None => Vec::new(),
        }
    } else {
        vec![value.to_owned()]
    };
    sent.into_iter().filter(|s| is_token(s)).collect()
}
