//! Direct mode: modgate builds module versions straight from git, and they
//! must be hash-identical to what the go command's own GOPROXY=direct mode
//! builds from the same repositories (support/repos.rs).

mod reference;

use reference::Reference;

/// The reference itself (no modgate): prints what go computed.
#[test]
fn direct_reference_dump() {
    let r = Reference::get();
    eprintln!("{:#?}", r.observed.queries);
    eprintln!("{:#?}", r.observed.lists);
    eprintln!("{:#?}", r.observed.module_queries);
    for (k, v) in &r.observed.downloads {
        match v {
            Ok(a) => eprintln!("{k}: {} {} {} {} files={:?}\n  mod={:?}", a.version, a.time, a.sum, a.go_mod_sum, a.files.keys().collect::<Vec<_>>(), String::from_utf8_lossy(&a.go_mod)),
            Err(e) => eprintln!("{k}: ERROR {e}"),
        }
    }
}
