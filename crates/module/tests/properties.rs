//! Properties of the parsers of untrusted text, as the fuzz targets in
//! fuzz/ check them, run for a few hundred cases in every test run.

use std::cmp::Ordering;

use modgate_module::{
    Info, check, check_file_path, check_import_path, check_path, escape_path, escape_version,
    gosum, modfile, osv, path, pseudo, semver, unescape_path, unescape_version, version,
};
use proptest::prelude::*;

/// Pieces of module paths, versions and go.mod syntax, with the characters
/// that break parsers: NUL, control and multi-byte characters, U+FFFD.
const PIECES: &[&str] = &[
    "example.com",
    "gopkg.in",
    "/",
    ".",
    "..",
    "v",
    "v1",
    "v2",
    "1",
    "0",
    ".0",
    "-",
    "+",
    "!",
    "a",
    "Z",
    "~",
    "_",
    ".v3",
    "-unstable",
    "+incompatible",
    "-0.20060102150405-abcdefabcdef",
    "20060102150405",
    "\0",
    "\n",
    "\t",
    " ",
    "é",
    "€",
    "😀",
    "\u{FFFD}",
    "\u{200B}",
    "\\",
    "\"",
    "`",
    "(",
    ")",
    "//",
    "/*",
    ":",
    "%",
    "@",
    "module ",
    "require ",
    "replace ",
    "retract ",
    "go 1.21\n",
    "=>",
    "[",
    "]",
    ",",
];

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(prop::sample::select(PIECES), 0..12).prop_map(|p| p.concat()),
        any::<String>(),
    ]
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        text().prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..256),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn checked_paths_are_clean_and_escape_one_to_one(p in text(), v in text()) {
        let _ = (check_import_path(&p), check_file_path(&p), path::check_path_major(&v, &p));
        if check_path(&p).is_ok() {
            prop_assert!(p.split('/').all(|e| !e.is_empty() && e != "." && e != ".."), "{:?}", p);
            prop_assert!(!p.contains(|c: char| c.is_control() || c == '\\' || c == ':'), "{:?}", p);
            let escaped = escape_path(&p).unwrap();
            prop_assert!(!escaped.bytes().any(|b| b.is_ascii_uppercase()));
            prop_assert_eq!(unescape_path(&escaped).unwrap(), p.clone());
            if let Some((prefix, major)) = path::split_path_version(&p) {
                prop_assert_eq!(format!("{prefix}{major}"), p.clone());
            }
        }
        if let Ok(unescaped) = unescape_path(&p) {
            prop_assert_eq!(escape_path(&unescaped).unwrap(), p.clone());
        }
        if let Ok(unescaped) = unescape_version(&v) {
            prop_assert_eq!(escape_version(&unescaped).unwrap(), v.clone());
        }
        if check(&p, &v).is_ok() {
            prop_assert_eq!(unescape_version(&escape_version(&v).unwrap()).unwrap(), v);
        }
    }

    #[test]
    fn escape_round_trips_upper_case_paths(p in "[a-z]{1,5}\\.com(/[A-Za-z0-9]{1,6}){0,3}") {
        prop_assume!(check_path(&p).is_ok());
        prop_assert_eq!(unescape_path(&escape_path(&p).unwrap()).unwrap(), p);
    }

    #[test]
    fn versions_order_and_canonicalize(v in text(), w in text()) {
        if semver::is_valid(&v) {
            let c = semver::canonical(&v);
            prop_assert!(semver::is_valid(&c));
            prop_assert_eq!(semver::compare(&v, &c), Ordering::Equal);
        } else {
            prop_assert_eq!(semver::canonical(&v), "");
        }
        if version::is_canonical(&v) {
            prop_assert_eq!(version::canonical_version(&v), v.clone());
        }
        prop_assert_eq!(semver::compare(&v, &w), semver::compare(&w, &v).reverse());
        if pseudo::is_pseudo_version(&v) {
            prop_assert!(semver::is_valid(&v));
            let _ = (pseudo::pseudo_version_base(&v), pseudo::pseudo_version_time(&v));
        } else {
            prop_assert!(pseudo::pseudo_version_rev(&v).is_err());
        }
    }

    #[test]
    fn go_mod_and_go_sum_parsers_never_panic(data in bytes()) {
        let parsed = modfile::check_syntax(&data).is_ok();
        let _ = (modfile::module_path(&data), modfile::deprecation(&data), modfile::retracted(&data));
        let (go, requires, replaces) =
            (modfile::go_directive(&data), modfile::requirements(&data), modfile::replacements(&data));
        if !parsed {
            prop_assert!(go.is_none() && requires.is_none() && replaces.is_none());
        }
        if let Ok(text) = std::str::from_utf8(&data) {
            let _ = (gosum::parse_go_sum(text), gosum::parse_list(text));
        }
    }

    #[test]
    fn info_answers_reparse(data in bytes(), v in text()) {
        let json = format!(r#"{{"Version":{v:?},"Time":"2006-01-02T15:04:05Z"}}"#);
        for data in [data.as_slice(), json.as_bytes()] {
            if let Ok(info) = Info::parse("example.com/m", None, data) {
                prop_assert!(check("example.com/m", &info.version).is_ok());
                prop_assert_eq!(Info::parse("example.com/m", None, &info.to_json()).unwrap(), info);
            }
        }
    }

    #[test]
    fn osv_fixes_come_after(data in bytes(), fixed in text(), version in text()) {
        let json = format!(
            r#"{{"id":"GO-1","affected":[{{"package":{{"name":"m"}},"ranges":[{{"type":"SEMVER","events":[{{"introduced":"0"}},{{"fixed":{fixed:?}}}]}}]}}]}}"#
        );
        for data in [data.as_slice(), json.as_bytes()] {
            if let Ok(entry) = serde_json::from_slice::<osv::Entry>(data) {
                let _ = entry.affects("m", &version);
                if let Some(f) = entry.fixed_after("m", &version) {
                    prop_assert!(semver::compare(&f, &version).is_gt());
                }
            }
        }
    }
}
