//! Module paths: the checks, escaping and major-version suffixes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modgate_module::{
    check, check_file_path, check_import_path, check_path, escape_path, escape_version, path,
    unescape_path, unescape_version,
};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    // A path, then optionally a version after a NUL.
    let (p, v) = s.split_once('\0').unwrap_or((s, "v1.0.0"));
    let _ = (
        check_import_path(p),
        check_file_path(p),
        path::check_path_major(v, p),
    );
    if check_path(p).is_ok() {
        // A checked module path becomes a store directory: no element that
        // climbs or aliases, nothing a file system or URL treats specially.
        assert!(
            p.split('/').all(|e| !e.is_empty() && e != "." && e != ".."),
            "{p:?}"
        );
        assert!(
            !p.contains(|c: char| c.is_control() || c == '\\' || c == ':'),
            "{p:?}"
        );
        let escaped = escape_path(p).expect("a valid path escapes");
        assert!(
            !escaped.bytes().any(|b| b.is_ascii_uppercase()),
            "{escaped:?}"
        );
        assert_eq!(unescape_path(&escaped).expect("its escape unescapes"), p);
        if let Some((prefix, major)) = path::split_path_version(p) {
            assert_eq!(format!("{prefix}{major}"), p);
        }
    }
    if let Ok(unescaped) = unescape_path(p) {
        // Escaping is one-to-one: one spelling per module.
        assert_eq!(
            escape_path(&unescaped).expect("unescaped paths are valid"),
            p
        );
    }
    if let Ok(unescaped) = unescape_version(v) {
        assert_eq!(
            escape_version(&unescaped).expect("unescaped versions escape"),
            v
        );
    }
    if check(p, v).is_ok() {
        let escaped = escape_version(v).expect("a checked version escapes");
        assert_eq!(unescape_version(&escaped).expect("its escape unescapes"), v);
    }
});
