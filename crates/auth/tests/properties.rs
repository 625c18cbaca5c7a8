//! Properties of the auth file and `Authorization` header parsers, as the
//! auth_file and auth_header fuzz targets in fuzz/ check them, for a few
//! hundred cases in every test run.

use std::path::Path;
use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jiff::Timestamp;
use modgate_auth::{AuthConfig, AuthFailure, AuthFile, Authenticator, Identity, Right};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

const TOKEN: &str = "mgt_1a2b3c4d_c2VjcmV0";
const PHC: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Y2h1bmt5IGJhY29uIGNodW5reSBiYWNvbiBjaHVua3kgYg";

fn auth_file() -> String {
    let hash: String = Sha256::digest(TOKEN)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!(
        "[defaults]\npublic = \"authenticated\"\n\
         [[users]]\nname = \"alice\"\npassword = \"{PHC}\"\ngroups = [\"dev\"]\n\
         [[users]]\nname = \"bob\"\n\
         [[tokens]]\nid = \"1a2b3c4d\"\nuser = \"bob\"\nhash = \"sha256:{hash}\"\n\
         created = \"2026-01-01T00:00:00Z\"\nexpires = \"2027-01-01T00:00:00Z\"\n\
         [[access]]\npatterns = [\"git.corp.example/*\"]\ngroups = [\"dev\"]\nallow = [\"read\", \"publish\"]\n"
    )
}

static AUTH: LazyLock<(AuthConfig, Authenticator)> = LazyLock::new(|| {
    let config = AuthConfig::parse(&auth_file(), Path::new("auth.toml")).unwrap();
    (config, Authenticator::new().unwrap())
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

const CREDENTIAL_PIECES: &[&str] = &[
    "alice", "bob", "carol", ":", TOKEN, "mgt_", "1a2b3c4d", "_", "x", " ", "\0", "é", "",
];

fn credential() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(CREDENTIAL_PIECES), 0..5).prop_map(|p| p.concat())
}

fn header() -> impl Strategy<Value = String> {
    prop_oneof![
        credential().prop_map(|c| format!("Basic {}", STANDARD.encode(c))),
        (credential(), credential())
            .prop_map(|(u, p)| format!("Basic {}", STANDARD.encode(format!("{u}:{p}")))),
        credential().prop_map(|c| format!("Bearer {c}")),
        (
            prop::sample::select(&["Basic", "bearer", "BASIC", "Digest", ""][..]),
            any::<String>()
        )
            .prop_map(|(s, v)| format!("{s} {v}")),
        any::<String>(),
    ]
}

/// Auth file text: the valid file with one line replaced or cut short.
fn auth_text() -> impl Strategy<Value = String> {
    let lines: Vec<String> = auth_file().lines().map(str::to_owned).collect();
    (
        any::<prop::sample::Index>(),
        any::<String>(),
        any::<prop::sample::Index>(),
    )
        .prop_map(move |(line, with, cut)| {
            let mut lines = lines.clone();
            let i = line.index(lines.len());
            lines[i] = with;
            let text = lines.join("\n");
            let cut = cut.index(text.len() + 1);
            text.char_indices()
                .map(|(i, _)| i)
                .chain([text.len()])
                .find(|&i| i >= cut)
                .map_or(text.clone(), |i| text[..i].to_owned())
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn headers_authenticate_without_argon2_or_leaking(header in header()) {
        let (config, authn) = &*AUTH;
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        match authn.authenticate_cached(config, Some(&header), now) {
            Some(Ok(identity)) => prop_assert_eq!(identity.name(), "bob"),
            Some(Err(failure)) => {
                let logged = failure.to_string();
                for token in tokens_sent(&header) {
                    prop_assert!(!logged.contains(&token), "{:?} logs {:?}", header, logged);
                }
                prop_assert!(!matches!(failure, AuthFailure::WrongPassword(_)));
            }
            None => {}
        }
        prop_assert_eq!(authn.password_hashes_verified(), 0);
    }

    #[test]
    fn auth_files_load_or_fail_alike(text in prop_oneof![auth_text(), any::<String>()]) {
        let path = Path::new("auth.toml");
        let file = AuthFile::parse(&text, path);
        let Ok(config) = AuthConfig::parse(&text, path) else {
            prop_assert!(file.is_err());
            return Ok(());
        };
        prop_assert!(file.is_ok());
        let _ = config.check(Timestamp::UNIX_EPOCH);
        let alice = Identity::user("alice", vec!["dev".to_owned()], false);
        for identity in [Identity::ANONYMOUS, alice] {
            for right in [Right::Read, Right::Publish] {
                let _ = config.authorize(&identity, "git.corp.example/x", right, true);
            }
        }
    }
}
