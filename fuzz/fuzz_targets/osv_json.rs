//! OSV entries of a vulnerability database, and the paths it serves.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modgate_module::osv;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = modgate_module::vulndb::is_db_path(text);
    }
    let Ok(entry) = serde_json::from_slice::<osv::Entry>(data) else {
        return;
    };
    let modules: Vec<&str> = entry
        .affected
        .iter()
        .map(|a| a.package.name.as_str())
        .collect();
    for module in modules.into_iter().chain(["example.com/m"]) {
        for version in [
            "v0.0.0-00000000000000-000000000000",
            "v1.0.0",
            "v1.2.3-pre",
            "v2.0.0+incompatible",
        ] {
            let _ = entry.affects(module, version);
            if let Some(fixed) = entry.fixed_after(module, version) {
                assert!(
                    modgate_module::semver::compare(&fixed, version).is_gt(),
                    "{fixed} after {version}"
                );
            }
        }
    }
});
