//! The reference: what the real go command computes in its own direct mode
//! (GOPROXY=direct, git through the insteadOf gitconfig) for every case, and
//! the same observations made through modgate, so the two can be compared.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::de::DeserializeOwned;

use crate::support::fresh_dir;
use crate::support::go::Go;
use crate::support::mirror::{Behaviour, Mirror};
use crate::support::repos::*;

/// One group of observations: downloads, version lists and queries.
#[derive(Clone, Debug, Default)]
pub struct Case {
    pub name: &'static str,
    /// `path@query`: resolved with `go list -m`, then fetched with
    /// `go mod download` at the resolved version. Either may fail; modgate
    /// must fail where go fails.
    pub downloads: Vec<String>,
    /// Modules listed with `go list -m -versions`.
    pub lists: Vec<&'static str>,
    /// `path@query` resolved with `go list -m` (Version and Time compared).
    pub queries: Vec<String>,
    /// Queries resolved inside a main module with these requirements
    /// (`upgrade`, `patch`): `(path, required version, query)`.
    pub module_queries: Vec<(&'static str, String, &'static str)>,
    /// Modules whose `@latest` endpoint must answer what `go list -m
    /// M@latest` does (the highest release, else pre-release, else the
    /// default branch's pseudo-version), as proxy.golang.org answers it.
    pub http_latest: Vec<&'static str>,
}

fn at(path: &str, query: &str) -> String {
    format!("{path}@{query}")
}

/// Every case, by name. The reference covers them all at once.
pub fn cases() -> Vec<Case> {
    let r = Repos::get();
    vec![
        Case {
            name: "multi",
            downloads: vec![
                at(MULTI, "v1.0.0"),
                at(MULTI, "v1.5.0"),
                at(MULTI_SUB, "v1.0.0"),
                at(MULTI_SUB, "v1.1.0"),
                at(MULTI_TOOLS, "v0.1.0"),
                at(MULTI_SUB, "next"),
            ],
            lists: vec![MULTI, MULTI_SUB, MULTI_TOOLS],
            queries: vec![
                at(MULTI, "latest"),
                at(MULTI_SUB, "latest"),
                at(MULTI_SUB, "main"),
                at(MULTI_SUB, "v1.0"),
                at(MULTI_TOOLS, "latest"),
                at(MULTI, "next"),
                at(MULTI_SUB, "next"),
                at(MULTI_TOOLS, "next"),
            ],
            http_latest: vec![MULTI, MULTI_SUB, MULTI_TOOLS],
            ..Default::default()
        },
        Case {
            name: "major_subdir",
            downloads: vec![
                at(MAJOR_SUBDIR, "v1.0.0"),
                at(MAJOR_SUBDIR, "v1.1.0"),
                at(MAJOR_SUBDIR_V2, "v2.0.0"),
                at(MAJOR_SUBDIR, "v2.0.0+incompatible"),
            ],
            lists: vec![MAJOR_SUBDIR, MAJOR_SUBDIR_V2],
            queries: vec![
                at(MAJOR_SUBDIR, "latest"),
                at(MAJOR_SUBDIR_V2, "latest"),
                at(MAJOR_SUBDIR_V2, "main"),
            ],
            http_latest: vec![MAJOR_SUBDIR, MAJOR_SUBDIR_V2],
            ..Default::default()
        },
        Case {
            name: "major_branch",
            downloads: vec![
                at(MAJOR_BRANCH, "v1.0.0"),
                at(MAJOR_BRANCH, "v1.1.0"),
                at(MAJOR_BRANCH_V3, "v3.0.0"),
                at(MAJOR_BRANCH, "v3.0.0+incompatible"),
            ],
            lists: vec![MAJOR_BRANCH, MAJOR_BRANCH_V3],
            queries: vec![
                at(MAJOR_BRANCH, "latest"),
                at(MAJOR_BRANCH_V3, "latest"),
                at(MAJOR_BRANCH_V3, "release-v3"),
                at(MAJOR_BRANCH, "main"),
            ],
            http_latest: vec![MAJOR_BRANCH, MAJOR_BRANCH_V3],
            ..Default::default()
        },
        Case {
            name: "incompatible",
            downloads: vec![
                at(INCOMPAT, "v1.0.0"),
                at(INCOMPAT, "v2.0.0+incompatible"),
                at(INCOMPAT, "v2.1.0+incompatible"),
                at(INCOMPAT, "v3.0.0-rc.1+incompatible"),
                at(INCOMPAT, "v2.0.0"),
                at(INCOMPAT_HIDDEN, "v1.0.0"),
                at(INCOMPAT_HIDDEN, "v1.1.0"),
                at(INCOMPAT_HIDDEN, "v2.0.0+incompatible"),
            ],
            lists: vec![INCOMPAT, INCOMPAT_HIDDEN],
            queries: vec![
                at(INCOMPAT, "latest"),
                at(INCOMPAT, "main"),
                at(INCOMPAT, "v2"),
                at(INCOMPAT_HIDDEN, "latest"),
                at(INCOMPAT_HIDDEN, "main"),
            ],
            module_queries: vec![(INCOMPAT, "v2.0.0+incompatible".into(), "upgrade")],
            http_latest: vec![INCOMPAT, INCOMPAT_HIDDEN],
        },
        Case {
            name: "pseudo",
            downloads: vec![
                at(PSEUDO, "v1.0.0"),
                at(PSEUDO, "v1.2.2"),
                at(PSEUDO, "v1.2.3"),
                at(PSEUDO, "v1.3.0-beta.1"),
                at(PSEUDO, "main"),
                at(PSEUDO, "feature"),
                at(PSEUDO, r.commit("pseudo:C")),
                at(UNTAGGED, "latest"),
                at(UNTAGGED, r.short("untagged:first")),
                // Well-formed pseudo-versions that do not match the commit.
                at(
                    PSEUDO,
                    &format!("v1.2.4-0.20990101000000-{}", r.short("pseudo:C")),
                ),
                at(
                    PSEUDO,
                    &format!("v1.0.1-0.20240603100000-{}", r.short("pseudo:C")),
                ),
                at(
                    PSEUDO,
                    &format!("v1.2.4-0.20240603100000-{}", r.short("pseudo:A")),
                ),
                at(PSEUDO, "v9.9.9"),
            ],
            lists: vec![PSEUDO, UNTAGGED],
            queries: vec![
                at(PSEUDO, "latest"),
                at(PSEUDO, "v1"),
                at(PSEUDO, "v1.2"),
                at(PSEUDO, "v1.0"),
                at(PSEUDO, "<v1.2.3"),
                at(PSEUDO, ">v1.2.3"),
                at(PSEUDO, "v1.2.3"),
                at(PSEUDO, "main"),
                at(PSEUDO, "HEAD"),
                at(PSEUDO, "feature"),
                at(PSEUDO, "release-1"),
                at(PSEUDO, r.short("pseudo:B")),
                at(PSEUDO, r.short("pseudo:C")),
                at(PSEUDO, r.commit("pseudo:D")),
                at(PSEUDO, r.commit("pseudo:F")),
                at(PSEUDO, &r.commit("pseudo:C")[..7]),
                at(PSEUDO, "nosuchbranch"),
                at(UNTAGGED, "latest"),
                at(UNTAGGED, "main"),
                at(UNTAGGED, r.short("untagged:first")),
            ],
            module_queries: vec![
                (PSEUDO, "v1.2.2".into(), "upgrade"),
                (PSEUDO, "v1.2.2".into(), "patch"),
                (MULTI_SUB, "v1.0.0".into(), "upgrade"),
            ],
            http_latest: vec![UNTAGGED, PSEUDO],
        },
        Case {
            name: "vendor",
            downloads: vec![at(VENDORED, "v1.0.0")],
            lists: vec![VENDORED],
            ..Default::default()
        },
        Case {
            name: "attrs",
            downloads: vec![at(ATTRS, "v1.0.0"), at(ATTRS_SUB, "v1.0.0")],
            lists: vec![ATTRS, ATTRS_SUB],
            ..Default::default()
        },
        Case {
            name: "links",
            downloads: vec![at(LINKS, "v1.0.0")],
            ..Default::default()
        },
        Case {
            name: "collision",
            downloads: vec![at(COLLIDE, "v1.0.0"), at(COLLIDE, "v1.1.0")],
            lists: vec![COLLIDE],
            ..Default::default()
        },
        Case {
            name: "mismatch",
            downloads: vec![at(MISMATCH, "v1.0.0")],
            lists: vec![MISMATCH],
            queries: vec![at(MISMATCH, "latest")],
            ..Default::default()
        },
        Case {
            name: "upper",
            downloads: vec![at(UPPER, "v1.0.0"), at(UPPER, "main")],
            lists: vec![UPPER],
            queries: vec![
                at(UPPER, "latest"),
                at(UPPER, "main"),
                at(UPPER, r.short("upper:tip")),
            ],
            http_latest: vec![UPPER],
            ..Default::default()
        },
        Case {
            name: "missing",
            downloads: vec![at(MISSING, "v1.0.0")],
            queries: vec![at(MISSING, "latest")],
            ..Default::default()
        },
        Case {
            name: "private",
            downloads: vec![at(PRIVATE, "v1.0.0")],
            lists: vec![PRIVATE],
            queries: vec![at(PRIVATE, "latest")],
            http_latest: vec![PRIVATE],
            ..Default::default()
        },
        Case {
            name: "gopkgin",
            downloads: vec![at(GOPKGIN, "v1.0.0"), at(GOPKGIN, "v1.1.0")],
            lists: vec![GOPKGIN],
            queries: vec![at(GOPKGIN, "latest"), at(GOPKGIN, "main")],
            http_latest: vec![GOPKGIN],
            ..Default::default()
        },
        Case {
            name: "corp",
            downloads: vec![at(CORP, "v0.1.0"), at(CORP, "v0.2.0")],
            lists: vec![CORP],
            queries: vec![at(CORP, "latest"), at(CORP, "main")],
            http_latest: vec![CORP],
            ..Default::default()
        },
    ]
}

pub fn case(name: &str) -> Case {
    cases()
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no case {name}"))
}

/// A module version as the go command saw it: resolved, downloaded, extracted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Artifact {
    pub version: String,
    /// `.info` Time, as go stored it.
    pub time: String,
    pub go_mod: Vec<u8>,
    /// `h1:` of the zip.
    pub sum: String,
    pub go_mod_sum: String,
    /// The extracted module: every file and its bytes.
    pub files: BTreeMap<String, Vec<u8>>,
}

/// The version and time a query resolves to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub version: String,
    pub time: String,
}

/// Everything observed for a set of cases, through one GOPROXY.
#[derive(Clone, Debug, Default)]
pub struct Observed {
    /// By `path@query`: the resolved artifact, or the go command's error.
    pub downloads: BTreeMap<String, Result<Artifact, String>>,
    /// By module path: `go list -m -versions` (or its error).
    pub lists: BTreeMap<String, Result<Vec<String>, String>>,
    /// By `path@query`.
    pub queries: BTreeMap<String, Result<Resolved, String>>,
    /// By `path@query` (in a main module requiring `path@version`).
    pub module_queries: BTreeMap<String, Result<Resolved, String>>,
}

pub struct Reference {
    pub observed: Observed,
    /// The multi-module project, with the go.sum go wrote in direct mode.
    pub app: PathBuf,
    /// What `go get` of the mismatched module says in direct mode.
    pub mismatch_error: String,
}

impl Reference {
    pub fn get() -> &'static Reference {
        static REFERENCE: OnceLock<Reference> = OnceLock::new();
        REFERENCE.get_or_init(compute)
    }

    pub fn download(&self, target: &str) -> &Result<Artifact, String> {
        self.observed
            .downloads
            .get(target)
            .unwrap_or_else(|| panic!("{target} is not in the reference"))
    }

    pub fn artifact(&self, target: &str) -> &Artifact {
        match self.download(target) {
            Ok(a) => a,
            Err(e) => panic!("the reference failed {target}: {e}"),
        }
    }

    pub fn query(&self, target: &str) -> &Result<Resolved, String> {
        self.observed
            .queries
            .get(target)
            .unwrap_or_else(|| panic!("{target} is not in the reference queries"))
    }

    pub fn list(&self, path: &str) -> &Result<Vec<String>, String> {
        self.observed
            .lists
            .get(path)
            .unwrap_or_else(|| panic!("{path} is not in the reference lists"))
    }
}

/// The go command in direct mode, with git pointed at the local repositories.
pub fn direct_go() -> Go {
    let mut go = Go::new("direct").env("GOFLAGS", "-modcacherw -mod=mod");
    for (k, v) in Repos::get().git_env() {
        go = go.env(k, &v);
    }
    go
}

/// The go command with only `proxy` as its GOPROXY.
pub fn proxied_go(proxy: &str) -> Go {
    Go::new(proxy).env("GOFLAGS", "-modcacherw -mod=mod")
}

/// `<meta name="go-import">` answers for the module paths that are not on a
/// known host, so that the reference go command can resolve them: it asks
/// `https://HOST/PATH?go-get=1` through HTTPS_PROXY (refused, so it falls
/// back to plain HTTP, as GOINSECURE allows) and HTTP_PROXY (this server).
fn go_get_server() -> Mirror {
    let meta = |path: &str, repo: &str| {
        format!(
            "<!DOCTYPE html><html><head>\
             <meta name=\"go-import\" content=\"{path} git {repo}\">\
             </head><body></body></html>\n"
        )
        .into_bytes()
    };
    Mirror::start(Behaviour {
        overrides: vec![
            ("modgate.v1".to_owned(), meta(GOPKGIN, GOPKGIN_REPO)),
            ("widget".to_owned(), meta(CORP, CORP_REPO)),
        ],
        ..Default::default()
    })
}

fn compute() -> Reference {
    let started = std::time::Instant::now();
    let meta = go_get_server();
    let go = direct_go()
        .env("HTTP_PROXY", &meta.url)
        .env("HTTPS_PROXY", &meta.url)
        .env("GOINSECURE", "gopkg.in,corp.example");
    let observed = observe(&go, &cases());
    let app = write_app(&observed);
    go.run(&app, &["mod", "tidy"]);
    // go mod download takes a mismatched go.mod; using it fails.
    let dir = fresh_dir("mismatch-get");
    fs_err::write(dir.join("go.mod"), "module example.com/m\n\ngo 1.21\n").unwrap();
    let out = go
        .command(&dir, &["get", &at(MISMATCH, "v1.0.0")])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "go get of a mismatched module succeeded"
    );
    let mismatch_error = String::from_utf8_lossy(&out.stderr).into_owned();
    eprintln!(
        "direct-mode reference computed in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Reference {
        observed,
        app,
        mismatch_error,
    }
}

/// Runs the observations of `cases` with `go` (any GOPROXY).
pub fn observe(go: &Go, cases: &[Case]) -> Observed {
    let mut observed = Observed::default();
    let downloads: Vec<&str> = cases
        .iter()
        .flat_map(|c| c.downloads.iter().map(String::as_str))
        .collect();
    let queries: Vec<&str> = cases
        .iter()
        .flat_map(|c| c.queries.iter().map(String::as_str))
        .collect();
    let lists: Vec<&str> = cases.iter().flat_map(|c| c.lists.iter().copied()).collect();
    let module_queries: Vec<(&str, &str, &str)> = cases
        .iter()
        .flat_map(|c| {
            c.module_queries
                .iter()
                .map(|(p, v, q)| (*p, v.as_str(), *q))
        })
        .collect();

    // 1. Resolve the download targets and the queries in one go list.
    let mut to_resolve: Vec<&str> = downloads.clone();
    to_resolve.extend(&queries);
    to_resolve.sort();
    to_resolve.dedup();
    let resolved = resolve(go, &fresh_dir("work"), &to_resolve);
    for q in &queries {
        observed.queries.insert(q.to_string(), resolved[*q].clone());
    }

    // 2. Version lists.
    if !lists.is_empty() {
        observed.lists = list_versions(go, &lists);
    }

    // 3. Downloads at the resolved versions (or the target as given when it
    //    did not resolve, to record the download's own error).
    let mut fetch: Vec<String> = Vec::new();
    for d in &downloads {
        if let Ok(r) = &resolved[*d] {
            fetch.push(at(d.split_once('@').unwrap().0, &r.version));
        }
    }
    fetch.sort();
    fetch.dedup();
    let fetched = if fetch.is_empty() {
        BTreeMap::new()
    } else {
        let refs: Vec<&str> = fetch.iter().map(String::as_str).collect();
        download(go, &fresh_dir("work"), &refs)
    };
    for d in &downloads {
        let outcome = match &resolved[*d] {
            Err(e) => Err(e.clone()),
            Ok(r) => {
                let key = at(d.split_once('@').unwrap().0, &r.version);
                fetched
                    .get(&key)
                    .cloned()
                    .unwrap_or_else(|| Err(format!("go mod download reported nothing for {key}")))
            }
        };
        observed.downloads.insert(d.to_string(), outcome);
    }

    // 4. Queries inside a main module.
    if !module_queries.is_empty() {
        let dir = fresh_dir("module-queries");
        let mut go_mod = String::from("module example.com/queries\n\ngo 1.21\n\nrequire (\n");
        let mut required: Vec<(&str, &str)> =
            module_queries.iter().map(|(p, v, _)| (*p, *v)).collect();
        required.sort();
        required.dedup();
        for (p, v) in &required {
            go_mod.push_str(&format!("\t{p} {v}\n"));
        }
        go_mod.push_str(")\n");
        fs_err::write(dir.join("go.mod"), go_mod).unwrap();
        let qs: Vec<String> = module_queries.iter().map(|(p, _, q)| at(p, q)).collect();
        let refs: Vec<&str> = qs.iter().map(String::as_str).collect();
        let got = resolve(go, &dir, &refs);
        for (p, v, q) in &module_queries {
            observed
                .module_queries
                .insert(format!("{p}@{q} from {v}"), got[&at(p, q)].clone());
        }
    }
    observed
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct ListedModule {
    path: String,
    version: String,
    query: String,
    time: Option<String>,
    versions: Vec<String>,
    error: Option<ListError>,
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct ListError {
    err: String,
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct DownloadedModule {
    path: String,
    version: String,
    query: String,
    error: String,
    info: String,
    go_mod: String,
    dir: String,
    sum: String,
    go_mod_sum: String,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Info {
    version: String,
    time: String,
}

/// Runs go, returns the JSON objects on stdout and stderr (never panics on
/// go's failure: errors are part of the observation).
fn go_json<T: DeserializeOwned>(go: &Go, dir: &Path, args: &[&str]) -> (Vec<T>, String) {
    let out = go
        .command(dir, args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run go: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let items = serde_json::Deserializer::from_str(&stdout)
        .into_iter()
        .collect::<Result<Vec<T>, _>>()
        .unwrap_or_else(|e| {
            panic!(
                "go {} (GOPROXY={}): bad JSON ({e}):\n{stdout}\n{stderr}",
                args.join(" "),
                go.proxy
            )
        });
    (items, stderr)
}

/// `go list -m -json -e` of `targets` (`path@query`), by target.
fn resolve(go: &Go, dir: &Path, targets: &[&str]) -> BTreeMap<String, Result<Resolved, String>> {
    let mut args = vec!["list", "-m", "-json", "-e"];
    args.extend_from_slice(targets);
    let (items, stderr) = go_json::<ListedModule>(go, dir, &args);
    let mut out = BTreeMap::new();
    // go list prints one object per argument, in order.
    assert_eq!(
        items.len(),
        targets.len(),
        "go list -m -json -e {targets:?} (GOPROXY={}) printed {} objects:\n{stderr}",
        go.proxy,
        items.len()
    );
    for (target, item) in targets.iter().zip(items) {
        let (path, query) = target.split_once('@').unwrap();
        let outcome = match item.error {
            Some(e) => Err(e.err),
            None if item.path != path => Err(format!(
                "go list answered for {} instead of {path}",
                item.path
            )),
            None => Ok(Resolved {
                version: item.version,
                time: item.time.unwrap_or_default(),
            }),
        };
        let _ = (query, item.query);
        out.insert(target.to_string(), outcome);
    }
    out
}

/// `go list -m -versions -json -e` of each module, one go run for all.
fn list_versions(go: &Go, modules: &[&str]) -> BTreeMap<String, Result<Vec<String>, String>> {
    let mut args = vec!["list", "-m", "-versions", "-json", "-e"];
    args.extend_from_slice(modules);
    let (items, stderr) = go_json::<ListedModule>(go, &fresh_dir("work"), &args);
    assert_eq!(
        items.len(),
        modules.len(),
        "go list -m -versions {modules:?} (GOPROXY={}):\n{stderr}",
        go.proxy
    );
    modules
        .iter()
        .zip(items)
        .map(|(m, item)| {
            let outcome = match item.error {
                Some(e) => Err(e.err),
                None => Ok(item.versions),
            };
            (m.to_string(), outcome)
        })
        .collect()
}

/// `go mod download -json` of canonical `path@version` targets, by target.
fn download(go: &Go, dir: &Path, targets: &[&str]) -> BTreeMap<String, Result<Artifact, String>> {
    let mut args = vec!["mod", "download", "-json"];
    args.extend_from_slice(targets);
    let (items, stderr) = go_json::<DownloadedModule>(go, dir, &args);
    let mut out = BTreeMap::new();
    for d in items {
        let key = at(
            &d.path,
            if d.version.is_empty() {
                &d.query
            } else {
                &d.version
            },
        );
        let outcome = if !d.error.is_empty() {
            Err(d.error)
        } else {
            read_artifact(&d)
        };
        out.insert(key, outcome);
    }
    for t in targets {
        out.entry(t.to_string()).or_insert_with(|| {
            Err(format!(
                "go mod download printed nothing for {t}:\n{stderr}"
            ))
        });
    }
    out
}

fn read_artifact(d: &DownloadedModule) -> Result<Artifact, String> {
    let info: Info =
        serde_json::from_slice(&fs_err::read(&d.info).map_err(|e| format!("reading .info: {e}"))?)
            .map_err(|e| format!("parsing .info: {e}"))?;
    if info.version != d.version {
        return Err(format!(".info says {} for {}", info.version, d.version));
    }
    Ok(Artifact {
        version: d.version.clone(),
        time: info.time,
        go_mod: fs_err::read(&d.go_mod).map_err(|e| format!("reading .mod: {e}"))?,
        sum: d.sum.clone(),
        go_mod_sum: d.go_mod_sum.clone(),
        files: if d.dir.is_empty() {
            BTreeMap::new()
        } else {
            read_tree(Path::new(&d.dir))
        },
    })
}

/// Every file under `dir` (relative, `/`-separated) with its bytes.
fn read_tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let mut entries: Vec<_> = fs_err::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            let meta = fs_err::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).unwrap().to_str().unwrap();
                out.insert(rel.replace('\\', "/"), fs_err::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The multi-module project: requires modules of most cases, one of them at
/// a pseudo-version; go.sum is written by `go mod tidy` in direct mode.
fn write_app(observed: &Observed) -> PathBuf {
    let pseudo_main = observed.downloads[&at(PSEUDO, "main")]
        .as_ref()
        .expect("pseudo@main resolves")
        .version
        .clone();
    let dir = fresh_dir("direct-app");
    fs_err::write(
        dir.join("go.mod"),
        format!(
            "module example.com/directapp\n\ngo 1.21\n\nrequire (\n\
             \t{MULTI_SUB} v1.1.0\n\
             \t{MAJOR_SUBDIR_V2} v2.0.0\n\
             \t{MAJOR_BRANCH_V3} v3.0.0\n\
             \t{INCOMPAT} v2.1.0+incompatible\n\
             \t{PSEUDO} {pseudo_main}\n\
             \t{VENDORED} v1.0.0\n\
             \t{ATTRS} v1.0.0\n\
             \t{ATTRS_SUB} v1.0.0\n\
             \t{LINKS} v1.0.0\n\
             \t{UPPER} v1.0.0\n\
             )\n"
        ),
    )
    .unwrap();
    fs_err::write(dir.join("main.go"), APP_MAIN).unwrap();
    fs_err::create_dir_all(dir.join("internal/more")).unwrap();
    fs_err::write(
        dir.join("internal/more/more.go"),
        format!("package more\n\nimport \"{VENDORED}/pkg\"\n\nvar _ = pkg.Doc\n"),
    )
    .unwrap();
    dir
}

pub const APP_PRINTS: &str = "sub v1.1.0 | majorsub v2 | majorbranch v3 | incompat v2.1.0 | \
                              pseudo E | vendored v1.0.0 | attrs v1.0.0 | attrs/sub v1.0.0 | \
                              links v1.0.0 | Upper v1.0.0";

const APP_MAIN: &str = r#"package main

import (
	"fmt"
	"strings"

	"github.com/ModgateDirect/Upper"
	"github.com/modgate-direct/attrs"
	attrssub "github.com/modgate-direct/attrs/sub"
	"github.com/modgate-direct/incompat"
	majorbranch "github.com/modgate-direct/majorbranch/v3"
	majorsub "github.com/modgate-direct/majorsub/v2"
	"github.com/modgate-direct/links"
	"github.com/modgate-direct/multi/sub"
	"github.com/modgate-direct/pseudo"
	"github.com/modgate-direct/vendored"
	_ "example.com/directapp/internal/more"
)

func main() {
	fmt.Println(strings.Join([]string{
		sub.Name(), majorsub.Name(), majorbranch.Name(), incompat.Name(),
		pseudo.Name(), vendored.Name(), attrs.Name(), attrssub.Name(),
		links.Name(), upper.Name(),
	}, " | "))
}
"#;
