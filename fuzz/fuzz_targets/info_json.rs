//! `.info` and `@latest` answers from an upstream.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modgate_module::{Info, version};

fuzz_target!(|data: &[u8]| {
    for (module, requested) in [
        ("example.com/m", None),
        ("example.com/m", Some("v1.0.0")),
        ("example.com/m/v2", Some("master")),
    ] {
        if let Ok(info) = Info::parse(module, requested, data) {
            // What is accepted is what modgate would store and serve again.
            version::check(module, &info.version).expect("accepted versions are valid");
            let json = info.to_json();
            assert_eq!(
                Info::parse(module, requested, &json).expect("reparses"),
                info
            );
        }
    }
});
