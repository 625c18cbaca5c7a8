//! A bundle file (zstd-compressed tar) or bare manifest, as `modgate bundle
//! import` and `inspect` read its first entry.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modgate_bundle::manifest_from_reader;

fuzz_target!(|data: &[u8]| {
    let _ = manifest_from_reader(data, "fuzz.bundle");
});
