//! Module zips from an upstream or a bundle: checked and hashed in one pass.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // bench/fuzz.sh seeds zips of this module version.
    let size = data.len() as u64;
    if let Ok(checked) =
        modgate_zip::check_zip_reader(Cursor::new(data), size, "example.com/m", "v1.0.0")
    {
        assert!(checked.h1.starts_with("h1:"), "{}", checked.h1);
        assert!(checked.uncompressed_size <= modgate_zip::MAX_ZIP_FILE);
    }
});
