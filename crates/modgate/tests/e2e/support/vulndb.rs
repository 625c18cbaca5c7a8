//! A local Go vulnerability database in vuln.go.dev's current layout
//! (`index/db.json`, `index/modules.json`, `index/vulns.json`,
//! `ID/<id>.json`), written by the tests, served by a [`Mirror`].
//!
//! [`Mirror`]: super::mirror::Mirror

use std::path::{Path, PathBuf};

use serde_json::json;

/// One advisory: a module and its SEMVER ranges (`introduced`, `fixed`;
/// `fixed` None for "every version since").
#[derive(Debug, Clone)]
pub struct Advisory {
    pub id: String,
    pub module: String,
    pub ranges: Vec<(String, Option<String>)>,
    pub summary: String,
    pub aliases: Vec<String>,
    pub modified: String,
}

impl Advisory {
    pub fn new(id: &str, module: &str, ranges: &[(&str, Option<&str>)]) -> Self {
        Self {
            id: id.to_owned(),
            module: module.to_owned(),
            ranges: ranges
                .iter()
                .map(|(i, f)| ((*i).to_owned(), f.map(str::to_owned)))
                .collect(),
            summary: format!("A flaw in {module}"),
            aliases: vec![format!("CVE-2025-{}", &id[id.len() - 4..])],
            modified: "2025-01-01T00:00:00Z".to_owned(),
        }
    }

    /// The OSV entry, as the Go database writes it (indented JSON).
    pub fn osv(&self) -> String {
        let events: Vec<serde_json::Value> = self
            .ranges
            .iter()
            .flat_map(|(introduced, fixed)| {
                let mut e = vec![json!({ "introduced": introduced.trim_start_matches('v') })];
                if let Some(f) = fixed {
                    e.push(json!({ "fixed": f.trim_start_matches('v') }));
                }
                e
            })
            .collect();
        let entry = json!({
            "schema_version": "1.3.1",
            "id": self.id,
            "modified": self.modified,
            "published": "2025-01-01T00:00:00Z",
            "aliases": self.aliases,
            "summary": self.summary,
            "details": format!("{} in detail.", self.summary),
            "affected": [{
                "package": { "name": self.module, "ecosystem": "Go" },
                "ranges": [{ "type": "SEMVER", "events": events }],
                "ecosystem_specific": {
                    "imports": [{ "path": self.module, "symbols": ["Do"] }]
                }
            }],
            "database_specific": { "url": format!("https://pkg.go.dev/vuln/{}", self.id) }
        });
        serde_json::to_string_pretty(&entry).unwrap() + "\n"
    }
}

/// Writes the database for `advisories` into `root` (replacing what is
/// there); `modified` is the database's own modification time.
pub fn write(root: &Path, advisories: &[Advisory], modified: &str) {
    fs_err::create_dir_all(root.join("ID")).unwrap();
    fs_err::create_dir_all(root.join("index")).unwrap();
    for a in advisories {
        fs_err::write(root.join("ID").join(format!("{}.json", a.id)), a.osv()).unwrap();
    }
    let vulns: Vec<serde_json::Value> = advisories
        .iter()
        .map(|a| json!({ "id": a.id, "modified": a.modified, "aliases": a.aliases }))
        .collect();
    let mut modules: Vec<&str> = advisories.iter().map(|a| a.module.as_str()).collect();
    modules.sort();
    modules.dedup();
    let modules: Vec<serde_json::Value> = modules
        .iter()
        .map(|m| {
            let vulns: Vec<serde_json::Value> = advisories
                .iter()
                .filter(|a| a.module == *m)
                .map(|a| {
                    let mut v = json!({ "id": a.id, "modified": a.modified });
                    if let Some(fixed) = a.ranges.iter().filter_map(|r| r.1.as_ref()).next_back() {
                        v["fixed"] = json!(fixed.trim_start_matches('v'));
                    }
                    v
                })
                .collect();
            json!({ "path": m, "vulns": vulns })
        })
        .collect();
    fs_err::write(
        root.join("index/vulns.json"),
        serde_json::to_string(&vulns).unwrap(),
    )
    .unwrap();
    fs_err::write(
        root.join("index/modules.json"),
        serde_json::to_string(&modules).unwrap(),
    )
    .unwrap();
    fs_err::write(
        root.join("index/db.json"),
        format!(r#"{{"modified":"{modified}"}}"#),
    )
    .unwrap();
}

/// Every file of the database at `root`, as (path under root, bytes).
pub fn files(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for dir in ["index", "ID"] {
        let mut names: Vec<PathBuf> = fs_err::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        for p in names {
            let name = p.file_name().unwrap().to_str().unwrap().to_owned();
            out.push((format!("{dir}/{name}"), fs_err::read(&p).unwrap()));
        }
    }
    out
}

/// Adds `module@version` to the GOPROXY tree at `root`: its go.mod
/// (`go_mod`), .info, a zip with the go.mod and one Go file, and the list.
pub fn add_version(root: &Path, module: &str, version: &str, go_mod: &str) {
    let package = module.rsplit('/').next().unwrap();
    let source =
        format!("package {package}\n\n// Version is the version.\nconst Version = \"{version}\"\n");
    super::mirror::write_version(
        root,
        module,
        version,
        go_mod,
        &[
            ("go.mod", go_mod.as_bytes()),
            (&format!("{package}.go"), source.as_bytes()),
        ],
        zip::CompressionMethod::Deflated,
    );
}

pub const VULNERABLE: &str = "example.com/vulnerable";
pub const RETRACTED: &str = "example.com/retracted";
pub const DEPRECATED: &str = "example.com/old";
pub const DEP: &str = "example.com/dep";

/// The governance fixture: a GOPROXY tree of test modules and the
/// advisories about them.
/// - example.com/vulnerable v1.0.0-v1.3.0: GO-2025-0001 affects < v1.2.0,
///   GO-2025-0003 affects >= v1.3.0 (no fix), so v1.2.0 is the highest
///   version with no known vulnerability;
/// - example.com/retracted: v1.0.1's go.mod retracts v1.0.0, with a rationale;
/// - example.com/old: deprecated;
/// - example.com/dep v1.0.0 requires example.com/vulnerable v1.1.0 (MVS
///   selects it over the app's v1.0.0).
pub fn governance_tree(root: &Path) -> Vec<Advisory> {
    for v in ["v1.0.0", "v1.1.0", "v1.2.0", "v1.3.0"] {
        add_version(
            root,
            VULNERABLE,
            v,
            &format!("module {VULNERABLE}\n\ngo 1.21\n"),
        );
    }
    add_version(
        root,
        RETRACTED,
        "v1.0.0",
        &format!("module {RETRACTED}\n\ngo 1.21\n"),
    );
    add_version(
        root,
        RETRACTED,
        "v1.0.1",
        &format!(
            "module {RETRACTED}\n\ngo 1.21\n\n// Published with a broken API.\nretract v1.0.0\n"
        ),
    );
    add_version(
        root,
        DEPRECATED,
        "v1.0.0",
        &format!("// Deprecated: use example.com/new instead.\nmodule {DEPRECATED}\n\ngo 1.21\n"),
    );
    // Its next major version has a release: audit points at it.
    add_version(
        root,
        &format!("{DEPRECATED}/v2"),
        "v2.0.0",
        &format!("module {DEPRECATED}/v2\n\ngo 1.21\n"),
    );
    add_version(
        root,
        DEP,
        "v1.0.0",
        &format!("module {DEP}\n\ngo 1.21\n\nrequire {VULNERABLE} v1.1.0\n"),
    );
    let mut unfixed = Advisory::new("GO-2025-0003", VULNERABLE, &[("v1.3.0", None)]);
    unfixed.summary = "Another flaw, not fixed yet".to_owned();
    vec![
        Advisory::new("GO-2025-0001", VULNERABLE, &[("v0", Some("v1.2.0"))]),
        unfixed,
    ]
}

/// The app that uses them: a directory with its go.mod.
pub fn app(dir: &Path) {
    fs_err::create_dir_all(dir).unwrap();
    fs_err::write(
        dir.join("go.mod"),
        format!(
            "module example.com/app\n\ngo 1.21\n\nrequire (\n\t{DEP} v1.0.0\n\t{VULNERABLE} v1.0.0\n\t{RETRACTED} v1.0.0\n\t{DEPRECATED} v1.0.0\n)\n"
        ),
    )
    .unwrap();
}
