//! The workspace's shape, so that it cannot drift: docs/architecture.md
//! names exactly the crates there are, no crate holds more than a quarter
//! of the code, the binary stays a thin layer, and no crate depends on
//! itself through others.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The workspace root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Each crate's directory name under `crates/`.
fn crate_dirs() -> BTreeSet<String> {
    std::fs::read_dir(root().join("crates"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("Cargo.toml").is_file())
        .map(|p| p.file_name().unwrap().to_str().unwrap().to_owned())
        .collect()
}

/// Lines of every `.rs` file under `dir`.
fn lines(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            if p.is_dir() {
                lines(&p)
            } else if p.extension().is_some_and(|e| e == "rs") {
                std::fs::read_to_string(&p).unwrap().lines().count()
            } else {
                0
            }
        })
        .sum()
}

/// The value of `key = "…"` in a manifest's `[package]`.
fn package_name(manifest: &str) -> String {
    manifest
        .lines()
        .find_map(|l| l.strip_prefix("name = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .expect("a package name")
        .to_owned()
}

/// The workspace crates a manifest's `[dependencies]` names (dev
/// dependencies may go up: tests use what is built on a crate).
fn dependencies(manifest: &str, crates: &BTreeSet<String>) -> BTreeSet<String> {
    let mut in_deps = false;
    let mut deps = BTreeSet::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_deps = line == "[dependencies]";
        } else if in_deps
            && let Some(name) = line.split(['=', '.', ' ']).next()
            && crates.contains(name)
        {
            deps.insert(name.to_owned());
        }
    }
    deps
}

#[test]
fn the_architecture_document_names_every_crate_and_no_other() {
    let doc = std::fs::read_to_string(root().join("docs/architecture.md")).unwrap();
    let named: BTreeSet<String> = doc
        .split("`crates/")
        .skip(1)
        .map(|rest| rest.split(['`', '/']).next().unwrap().to_owned())
        .collect();
    let dirs = crate_dirs();
    assert!(dirs.len() > 10, "{dirs:?}");
    for dir in &dirs {
        assert!(
            named.contains(dir),
            "docs/architecture.md does not describe crates/{dir}"
        );
    }
    for name in &named {
        assert!(
            dirs.contains(name),
            "docs/architecture.md names crates/{name}, which does not exist"
        );
    }
}

#[test]
fn no_crate_holds_more_than_a_quarter_of_the_code_and_the_binary_stays_thin() {
    let sizes: BTreeMap<String, usize> = crate_dirs()
        .into_iter()
        .map(|dir| {
            let n = lines(&root().join("crates").join(&dir).join("src"));
            (dir, n)
        })
        .collect();
    let total: usize = sizes.values().sum();
    for (dir, &n) in &sizes {
        assert!(
            n * 4 <= total,
            "crates/{dir} holds {n} of {total} lines, over a quarter: split it"
        );
    }
    let binary = sizes["modgate"];
    assert!(
        binary <= 2000,
        "the binary holds {binary} lines: settings and logic belong in the crates they configure"
    );
}

#[test]
fn no_crate_depends_on_itself_through_others() {
    let dirs = crate_dirs();
    let manifests: BTreeMap<String, String> = dirs
        .iter()
        .map(|d| {
            let text = std::fs::read_to_string(root().join("crates").join(d).join("Cargo.toml"));
            let text = text.unwrap();
            (package_name(&text), text)
        })
        .collect();
    let names: BTreeSet<String> = manifests.keys().cloned().collect();
    let graph: BTreeMap<&str, BTreeSet<String>> = manifests
        .iter()
        .map(|(name, text)| (name.as_str(), dependencies(text, &names)))
        .collect();
    assert!(graph["modgate"].contains("modgate-proxy"), "{graph:?}");
    // Depth-first: a crate met again while its own dependencies are being
    // walked is a circle.
    fn walk<'a>(
        at: &'a str,
        graph: &'a BTreeMap<&str, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) {
        if done.contains(at) {
            return;
        }
        if let Some(i) = path.iter().position(|p| *p == at) {
            panic!(
                "crates depend on each other: {} -> {at}",
                path[i..].join(" -> ")
            );
        }
        path.push(at);
        for dep in &graph[at] {
            walk(dep, graph, path, done);
        }
        path.pop();
        done.insert(at);
    }
    let mut done = BTreeSet::new();
    for name in graph.keys() {
        walk(name, &graph, &mut Vec::new(), &mut done);
    }
}
