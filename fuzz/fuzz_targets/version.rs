//! Semantic versions and pseudo-versions.
#![no_main]

use std::cmp::Ordering;

use libfuzzer_sys::fuzz_target;
use modgate_module::{PseudoTime, pseudo, semver, version};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let (v, w) = s.split_once('\0').unwrap_or((s, "v1.2.3"));
    let _ = (semver::major(v), semver::major_minor(v), semver::build(v));
    let _ = (semver::prerelease(v), version::canonical_version(v));
    if semver::is_valid(v) {
        let c = semver::canonical(v);
        assert!(semver::is_valid(&c), "{v:?} → {c:?}");
        assert_eq!(semver::compare(v, &c), Ordering::Equal, "{v:?} vs {c:?}");
    } else {
        assert_eq!(semver::canonical(v), "");
    }
    if version::is_canonical(v) {
        assert_eq!(version::canonical_version(v), v);
    }
    // compare is a total order.
    assert_eq!(semver::compare(v, w), semver::compare(w, v).reverse());
    let m = semver::max(v, w);
    assert!(m.is_empty() || semver::is_valid(&m));
    if pseudo::is_pseudo_version(v) {
        assert!(semver::is_valid(v), "{v:?}");
        let _ = pseudo::pseudo_version_base(v);
        if let (Ok(t), Ok(rev)) = (
            pseudo::pseudo_version_time(v),
            pseudo::pseudo_version_rev(v),
        ) {
            assert!(!rev.is_empty());
            let _ = t.to_string();
        }
    } else {
        assert!(pseudo::pseudo_version_rev(v).is_err());
    }
    // Bytes of the input as a commit time; building never panics.
    let b = |i: usize| data.get(i).copied().unwrap_or(0);
    let t = PseudoTime {
        year: 1900 + u16::from(b(0)) * 2,
        month: b(1) % 13,
        day: b(2) % 32,
        hour: b(3) % 25,
        minute: b(4) % 61,
        second: b(5) % 61,
    };
    let _ = pseudo::pseudo_version(semver::major(w).as_str(), v, t, w);
});
