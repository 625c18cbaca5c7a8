//! A bundle's manifest.json, checked as import checks it before reading files.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modgate_bundle::import::check_manifest;

fuzz_target!(|data: &[u8]| {
    if let Ok(manifest) = check_manifest(data, None) {
        // Every file it lists is a clean relative path.
        for f in &manifest.files {
            assert!(
                f.path
                    .split('/')
                    .all(|e| !e.is_empty() && e != "." && e != ".."),
                "{:?}",
                f.path
            );
            assert!(!f.path.contains('\\'), "{:?}", f.path);
        }
    }
});
