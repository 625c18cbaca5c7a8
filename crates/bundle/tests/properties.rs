//! Properties of the parsers of what clients and bundles send, as the
//! goproxy_request, bundle_manifest and bundle_tar fuzz targets in fuzz/
//! check them, for a few hundred cases in every test run.

use std::sync::LazyLock;

use modgate_bundle::import::check_manifest;
use modgate_bundle::{
    Artifact, Entry, FORMAT, File, Manifest, SumdbHead, TreeRef, manifest_from_reader,
};
use modgate_module::check_path;
use modgate_store::protocol::{Kind, Request};
use modgate_sumdb::note::{self, Ed25519Signer};
use modgate_sumdb::tlog::{self, Tree};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use proptest::prelude::*;

/// Everything but letters, digits and slashes, percent-encoded.
const URL_PATH: &AsciiSet = &NON_ALPHANUMERIC.remove(b'/');

/// Pieces of escaped paths and versions, with what attacks them.
const PIECES: &[&str] = &[
    "example.com",
    "/",
    "m",
    "M",
    "!m",
    "!",
    "@v/",
    "@v",
    "@latest",
    "/@v/",
    "list",
    ".info",
    ".mod",
    ".zip",
    "v1.0.0",
    "v2.0.0",
    "+incompatible",
    "-pre",
    ".",
    "..",
    "%2e",
    "%2E",
    "%2f",
    "%2F",
    "%00",
    "%5c",
    "\\",
    "%",
    "%ff",
    "%c3%a9",
    "é",
    "~",
    "_",
    "-",
    ":",
    "sumdb/",
    "vulndb/",
    "blob/",
    "tile/8/0/000",
    ".p/3",
];

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::collection::vec(prop::sample::select(PIECES), 0..10).prop_map(|p| p.concat()),
        1 => any::<String>(),
    ]
}

const SKEY: &str =
    "PRIVATE+KEY+localhost.localdev/sumdb+00000c67+AXu6+oaVaOYuQOFrf1V59JK1owcFlJcHwwXHDfDGxSPk";
const DB: &str = "localhost.localdev/sumdb";

/// A manifest that passes the checks: one version, its files, a tile.
static MANIFEST: LazyLock<Manifest> = LazyLock::new(|| {
    let signer = Ed25519Signer::new(SKEY).unwrap();
    let tree = Tree {
        n: 3,
        hash: tlog::record_hash(b"any tree"),
    };
    let note = note::sign(
        &note::Note {
            text: tlog::format_tree(&tree),
            ..note::Note::default()
        },
        &[&signer],
    )
    .unwrap();
    let file = |path: &str, size| File {
        path: path.to_owned(),
        size,
        sha256: "0".repeat(64),
    };
    let artifact = |size| Artifact {
        h1: "h1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=".to_owned(),
        size,
    };
    let manifest = Manifest {
        format: FORMAT.to_owned(),
        created: "2026-12-07T00:00:00Z".to_owned(),
        sumdb: SumdbHead {
            name: DB.to_owned(),
            key: signer.verifier_key(),
            tree: TreeRef {
                size: tree.n,
                hash: tree.hash.to_string(),
            },
            note: String::from_utf8(note).unwrap(),
        },
        since: None,
        modules: vec![Entry {
            module: "example.com/M".to_owned(),
            version: "v1.0.0".to_owned(),
            record: 0,
            go_mod: artifact(30),
            zip: Some(artifact(100)),
        }],
        files: vec![
            file(&format!("sumdb/{DB}/tile/8/0/000.p/3"), 96),
            file(&format!("sumdb/{DB}/lookup/example.com/!m@v1.0.0"), 300),
            file("example.com/!m/@v/v1.0.0.info", 50),
            file("example.com/!m/@v/v1.0.0.mod", 30),
            file("example.com/!m/@v/v1.0.0.zip", 100),
            file(&format!("vulndb/blob/{}", "0".repeat(64)), 10),
        ],
    };
    let json = serde_json::to_vec(&manifest).unwrap();
    check_manifest(&json, None).expect("the fixture passes");
    manifest
});

/// A change an attacker makes to a manifest.
#[derive(Debug, Clone)]
enum Change {
    Module(String),
    Version(String),
    Path(prop::sample::Index, String),
    Sha256(prop::sample::Index, String),
    DbName(String),
    /// A vulnerability database blob, which is named by its hash.
    Blob(String),
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        text().prop_map(Change::Module),
        text().prop_map(Change::Version),
        (any::<prop::sample::Index>(), text()).prop_map(|(i, p)| Change::Path(i, p)),
        (any::<prop::sample::Index>(), text()).prop_map(|(i, p)| Change::Sha256(i, p)),
        text().prop_map(Change::DbName),
        text().prop_map(Change::Blob),
    ]
}

fn is_clean(path: &str) -> bool {
    !path.contains('\\')
        && path
            .split('/')
            .all(|e| !e.is_empty() && e != "." && e != "..")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn requests_name_valid_modules_and_clean_keys(raw in text()) {
        for raw in [raw.clone(), format!("/{raw}"), format!("example.com/{raw}/@v/v1.0.0.zip")] {
            let Ok(request) = Request::parse(&raw) else { continue };
            prop_assert!(check_path(&request.module).is_ok(), "{:?}", raw);
            if let Some(key) = request.key() {
                prop_assert!(is_clean(key.as_str()), "{:?} → {:?}", raw, key);
            }
            if let Kind::Mod(v) | Kind::Zip(v) = &request.kind {
                prop_assert!(modgate_module::check(&request.module, v).is_ok());
            }
            // The upstream path, percent-encoded into a URL, is the same request.
            let encoded = utf8_percent_encode(request.upstream_path(), URL_PATH);
            prop_assert_eq!(Request::parse(&encoded.to_string()), Ok(request));
        }
    }

    #[test]
    fn manifests_and_bundles_never_panic(
        data in prop::collection::vec(any::<u8>(), 0..512),
        name in prop::sample::select(&["manifest.json", "manifest.sig", "./manifest.json"][..]),
        cut in any::<prop::sample::Index>(),
    ) {
        let _ = check_manifest(&data, None);
        let _ = manifest_from_reader(data.as_slice(), "bundle");
        // The bytes as a bundle's first entry, whole and cut short.
        let json = serde_json::to_vec(&*MANIFEST).unwrap();
        for content in [data.as_slice(), json.as_slice()] {
            let mut tar = tar::Builder::new(Vec::new());
            let mut header = tar::Header::new_gnu();
            header.set_size(content.len() as u64);
            header.set_mode(0o644);
            tar.append_data(&mut header, name, content).unwrap();
            let bundle = zstd::encode_all(tar.into_inner().unwrap().as_slice(), 1).unwrap();
            let read = manifest_from_reader(bundle.as_slice(), "bundle");
            if content == json.as_slice() && name == "manifest.json" {
                prop_assert!(read.is_ok(), "{:?}", read.err());
            }
            let _ = manifest_from_reader(&bundle[..cut.index(bundle.len())], "bundle");
        }
    }
}

proptest! {
    // Each case checks a signature, milliseconds unoptimized.
    #![proptest_config(ProptestConfig::with_cases(100))]

    #[test]
    fn accepted_manifests_list_clean_paths(changes in prop::collection::vec(change(), 1..4)) {
        let mut m = MANIFEST.clone();
        for change in changes {
            match change {
                Change::Module(s) => m.modules[0].module = s,
                Change::Version(s) => m.modules[0].version = s,
                Change::Path(i, s) => m.files[i.index(6)].path = s,
                Change::Sha256(i, s) => m.files[i.index(6)].sha256 = s,
                Change::DbName(s) => m.sumdb.name = s,
                Change::Blob(s) => {
                    m.files[5].path = format!("vulndb/blob/{s}");
                    m.files[5].sha256 = s;
                }
            }
        }
        let json = serde_json::to_vec(&m).unwrap();
        if let Ok(m) = check_manifest(&json, None) {
            for f in &m.files {
                prop_assert!(is_clean(&f.path), "{:?}", f.path);
            }
        }
    }
}
