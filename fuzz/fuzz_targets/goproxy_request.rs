//! GOPROXY request paths as clients send them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modgate_module::check_path;
use modgate_store::protocol::{Kind, Request};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything but letters, digits and slashes, percent-encoded.
const URL_PATH: &AsciiSet = &NON_ALPHANUMERIC.remove(b'/');

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(request) = Request::parse(raw) else {
        return;
    };
    // Whatever parses names a valid module, and its storage key, if it
    // has one, stays inside the module's directory.
    check_path(&request.module).expect("a parsed request's module is valid");
    if let Some(key) = request.key() {
        let key = key.as_str();
        assert!(
            key.split('/')
                .all(|e| !e.is_empty() && e != "." && e != ".."),
            "{raw:?} → {key:?}"
        );
        assert!(!key.contains(['\\', '\0']), "{raw:?} → {key:?}");
    }
    if let Kind::Mod(v) | Kind::Zip(v) = &request.kind {
        modgate_module::check(&request.module, v).expect("mod and zip versions are checked");
    }
    // The path modgate asks an upstream for, percent-encoded into a URL,
    // is this same request.
    let encoded = utf8_percent_encode(request.upstream_path(), URL_PATH);
    let again = Request::parse(&encoded.to_string()).expect("the upstream path parses");
    assert_eq!(again, request);
});
