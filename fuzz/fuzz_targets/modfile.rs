//! go.mod and go.sum text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modgate_module::{gosum, modfile};

fuzz_target!(|data: &[u8]| {
    let parsed = modfile::check_syntax(data).is_ok();
    if let Some(path) = modfile::module_path(data) {
        assert!(!path.is_empty());
    }
    let go = modfile::go_directive(data);
    let requires = modfile::requirements(data);
    let replaces = modfile::replacements(data);
    if !parsed {
        // What does not parse yields nothing.
        assert!(go.is_none() && requires.is_none() && replaces.is_none());
        assert!(modfile::retractions(data).is_empty());
    }
    for r in modfile::retracted(data) {
        let _ = r.covers("v1.0.0");
    }
    let _ = modfile::deprecation(data);
    if let Some(replaces) = replaces {
        for r in &replaces {
            let _ = modfile::replacement(&replaces, &r.path, "v1.0.0");
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = (gosum::parse_go_sum(text), gosum::parse_list(text));
    }
});
