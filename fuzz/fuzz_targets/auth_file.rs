//! The auth file: TOML, then every entry checked and compiled into rules.
#![no_main]

use std::path::Path;

use jiff::Timestamp;
use libfuzzer_sys::fuzz_target;
use modgate_auth::{AuthConfig, AuthFile, Identity, Right};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("fuzz.toml");
    let file = AuthFile::parse(text, path);
    let Ok(config) = AuthConfig::parse(text, path) else {
        assert!(file.is_err(), "AuthFile and AuthConfig agree");
        return;
    };
    let file = file.expect("AuthFile and AuthConfig agree");
    let _ = file.list();
    let _ = config.check(Timestamp::UNIX_EPOCH);
    for identity in [
        Identity::ANONYMOUS,
        Identity::user("alice", vec!["dev".to_owned()], false),
    ] {
        for module in ["example.com/m", "git.corp.example/x/y", "a"] {
            for right in [Right::Read, Right::Publish] {
                let _ = config.authorize(&identity, module, right, module.starts_with("git."));
            }
        }
        let _ = (
            config.reads_public(&identity),
            config.reads_guarded(&identity),
        );
    }
});
