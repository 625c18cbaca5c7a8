//! Direct mode: modgate builds module versions straight from git, and they
//! must be identical to what the go command's own GOPROXY=direct mode builds
//! from the same repositories (support/repos.rs): resolved versions, `.info`
//! times, go.mod bytes, zip hashes, version lists and queries.
//!
//! The reference is computed once (direct/reference.rs); each test starts its
//! own modgate, makes the same observations through it with a fresh module
//! cache, and reports every difference at once.

mod goimport_subdir;
mod origin;
mod reference;

use std::collections::BTreeSet;
use std::path::Path;

use reference::{APP_PRINTS, Case, Observed, Reference, case, direct_go, observe, proxied_go};

use crate::support::go::{self, Go};
use crate::support::loopback::closed_port;
use crate::support::mirror::Mirror;
use crate::support::modgate::Modgate;
use crate::support::repos::*;
use crate::support::{fresh_dir, http};

// ---------------------------------------------------------------------------
// Helpers

/// modgate with git pointed at the local repositories, on fresh storage.
fn start(args: &[&str]) -> Modgate {
    start_on(&fresh_dir("storage"), args)
}

fn start_on(storage: &Path, args: &[&str]) -> Modgate {
    let env = Repos::get().git_env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut all = vec!["--storage", storage.to_str().unwrap()];
    all.extend_from_slice(args);
    Modgate::start_env(&all, &env)
}

fn start_direct() -> Modgate {
    start(&["--upstream", "direct"])
}

/// A module path or version as in GOPROXY URLs (`!x` for `X`).
fn escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_uppercase() {
            out.push('!');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn get(modgate: &Modgate, path: &str, rest: &str) -> http::Response {
    http::get(&modgate.addr, &format!("/{}/{rest}", escape(path)))
}

fn is_not_found(status: u16) -> bool {
    status == 404 || status == 410
}

/// `v0.0.0-yyyymmddhhmmss-abcdefabcdef`, `vX.Y.Z-0.yyyymmddhhmmss-…` and
/// `vX.Y.Z-pre.0.yyyymmddhhmmss-…`.
fn is_pseudo(v: &str) -> bool {
    let v = v.strip_suffix("+incompatible").unwrap_or(v);
    let Some((rest, hash)) = v.rsplit_once('-') else {
        return false;
    };
    let stamp = rest.len() >= 15 && rest.is_char_boundary(rest.len() - 14) && {
        let (head, digits) = rest.split_at(rest.len() - 14);
        digits.bytes().all(|b| b.is_ascii_digit())
            && (head.ends_with('.') || head.ends_with("0.0.0-"))
    };
    stamp && hash.len() == 12 && hash.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A query that names a revision (tag, branch, hash), which a proxy answers
/// at `@v/QUERY.info`; `latest`, `upgrade`, comparisons and version
/// prefixes such as `v1.2` are the go command's business.
fn is_revision(q: &str) -> bool {
    if matches!(q, "latest" | "upgrade" | "patch") || q.starts_with(['<', '>']) {
        return false;
    }
    let prefix = q.strip_prefix('v').is_some_and(|r| {
        r.split('.').count() < 3 && r.split('.').all(|p| p.parse::<u64>().is_ok())
    });
    !prefix
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InfoJson {
    version: String,
    time: String,
}

fn same_time(a: &str, b: &str) -> bool {
    match (a.parse::<jiff::Timestamp>(), b.parse::<jiff::Timestamp>()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

fn show(bytes: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(bytes))
}

/// Every difference between the reference and what go saw through modgate.
fn compare(case: &Case, want: &Observed, got: &Observed) -> Vec<String> {
    let mut problems = Vec::new();
    for target in &case.downloads {
        let w = &want.downloads[target];
        let g = &got.downloads[target];
        match (w, g) {
            (Ok(w), Ok(g)) => {
                let mut p = |what: &str, a: String, b: String| {
                    if a != b {
                        problems.push(format!(
                            "{target}: {what}: go direct {a}, through modgate {b}"
                        ));
                    }
                };
                p("version", w.version.clone(), g.version.clone());
                p(".info Time", w.time.clone(), g.time.clone());
                p("go.mod", show(&w.go_mod), show(&g.go_mod));
                p("go.mod hash", w.go_mod_sum.clone(), g.go_mod_sum.clone());
                p("zip hash", w.sum.clone(), g.sum.clone());
                if w.sum != g.sum {
                    problems.push(format!("{target}: zip content: {}", diff_files(w, g)));
                }
            }
            (Err(_), Err(_)) => {}
            (Ok(w), Err(e)) => problems.push(format!(
                "{target}: go direct gets {} ({}), through modgate: {e}",
                w.version, w.sum
            )),
            (Err(e), Ok(g)) => problems.push(format!(
                "{target}: go direct refuses it ({e}), modgate serves {} ({})",
                g.version, g.sum
            )),
        }
    }
    for module in &case.lists {
        match (&want.lists[*module], &got.lists[*module]) {
            (Ok(w), Ok(g)) if w == g => {}
            (Err(_), Err(_)) => {}
            (w, g) => problems.push(format!(
                "{module}: go list -m -versions: go direct {w:?}, through modgate {g:?}"
            )),
        }
    }
    let mut queries: Vec<(&String, _, _)> = case
        .queries
        .iter()
        .map(|q| (q, &want.queries[q], &got.queries[q]))
        .collect();
    let module_keys: Vec<String> = case
        .module_queries
        .iter()
        .map(|(p, v, q)| format!("{p}@{q} from {v}"))
        .collect();
    for k in &module_keys {
        queries.push((k, &want.module_queries[k], &got.module_queries[k]));
    }
    for (q, w, g) in queries {
        match (w, g) {
            (Ok(w), Ok(g)) if w == g => {}
            (Err(_), Err(_)) => {}
            (w, g) => problems.push(format!(
                "{q}: go list -m: go direct {w:?}, through modgate {g:?}"
            )),
        }
    }
    problems
}

fn diff_files(w: &reference::Artifact, g: &reference::Artifact) -> String {
    let names: BTreeSet<&String> = w.files.keys().chain(g.files.keys()).collect();
    let mut out = Vec::new();
    for n in names {
        match (w.files.get(n), g.files.get(n)) {
            (Some(_), None) => out.push(format!("{n} only from go direct")),
            (None, Some(_)) => out.push(format!("{n} only through modgate")),
            (Some(a), Some(b)) if a != b => out.push(format!(
                "{n} differs: go direct {}, through modgate {}",
                show(a),
                show(b)
            )),
            _ => {}
        }
    }
    if out.is_empty() {
        "same files and bytes (so the zip itself differs, e.g. in names or directories)".into()
    } else {
        out.join("; ")
    }
}

/// modgate's own endpoints against the reference: `@v/list`, `@latest`
/// and `@v/REVISION.info`.
fn http_checks(modgate: &Modgate, case: &Case, want: &Observed) -> Vec<String> {
    let mut problems = Vec::new();
    for module in &case.lists {
        let resp = get(modgate, module, "@v/list");
        match &want.lists[*module] {
            Ok(versions) => {
                if resp.status != 200 {
                    problems.push(format!(
                        "GET {module}/@v/list: {} {}",
                        resp.status,
                        resp.text()
                    ));
                    continue;
                }
                let mut listed: Vec<String> = resp
                    .text()
                    .lines()
                    .filter_map(|l| l.split_whitespace().next())
                    .filter(|v| !is_pseudo(v))
                    .map(str::to_owned)
                    .collect();
                listed.sort();
                let mut versions = versions.clone();
                versions.sort();
                if listed != versions {
                    problems.push(format!(
                        "GET {module}/@v/list: want {versions:?}, got {listed:?}"
                    ));
                }
            }
            Err(_) if is_not_found(resp.status) => {}
            Err(e) => problems.push(format!(
                "GET {module}/@v/list: go direct fails ({e}); modgate answers {} {}",
                resp.status,
                resp.text()
            )),
        }
    }
    for q in &case.queries {
        let (module, rev) = q.split_once('@').unwrap();
        if !is_revision(rev) {
            continue;
        }
        let resp = get(modgate, module, &format!("@v/{}.info", escape(rev)));
        match &want.queries[q] {
            Ok(w) => {
                if resp.status != 200 {
                    problems.push(format!(
                        "GET {module}/@v/{rev}.info: {} {}",
                        resp.status,
                        resp.text()
                    ));
                    continue;
                }
                match serde_json::from_slice::<InfoJson>(&resp.body) {
                    Ok(info) if info.version == w.version && same_time(&info.time, &w.time) => {}
                    _ => problems.push(format!(
                        "GET {module}/@v/{rev}.info: want {} at {}, got {}",
                        w.version,
                        w.time,
                        resp.text()
                    )),
                }
            }
            // An unknown revision must be named in the answer.
            Err(e)
                if is_not_found(resp.status)
                    && (!e.contains("unknown revision") || resp.text().contains(rev)) => {}
            Err(e) => problems.push(format!(
                "GET {module}/@v/{rev}.info: go direct fails ({e}); modgate answers {} {} \
                 (want 404 or 410{})",
                resp.status,
                resp.text(),
                if e.contains("unknown revision") {
                    format!(" naming {rev:?}")
                } else {
                    String::new()
                }
            )),
        }
    }
    for module in &case.http_latest {
        let want_latest = want.queries[&format!("{module}@latest")].as_ref().unwrap();
        let resp = get(modgate, module, "@latest");
        match serde_json::from_slice::<InfoJson>(&resp.body) {
            Ok(info)
                if resp.status == 200
                    && info.version == want_latest.version
                    && same_time(&info.time, &want_latest.time) => {}
            _ => problems.push(format!(
                "GET {module}/@latest: want {} at {}, got {} {}",
                want_latest.version,
                want_latest.time,
                resp.status,
                resp.text()
            )),
        }
    }
    problems
}

/// Panics with every problem, and the end of modgate's log.
fn assert_no_problems(what: &str, problems: &[String], modgate: &Modgate) {
    if problems.is_empty() {
        return;
    }
    let logs = modgate.logs();
    let tail: Vec<&str> = logs.lines().rev().take(30).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    panic!(
        "{what}: {} difference(s) from the go command's direct mode:\n  - {}\n\
         --- end of modgate's log ---\n{}",
        problems.len(),
        problems.join("\n  - "),
        tail.join("\n")
    );
}

/// Observes `case` through `modgate` and compares it with the reference,
/// through the go command and through modgate's endpoints.
fn check_case_with(modgate: &Modgate, case: &Case) {
    let reference = Reference::get();
    // modgate's endpoints first, on a cold cache (lists then hold only what
    // git says, nothing merged from the cache), then the go command.
    let mut problems = http_checks(modgate, case, &reference.observed);
    let got = observe(&proxied_go(&modgate.url), std::slice::from_ref(case));
    problems.extend(compare(case, &reference.observed, &got));
    assert_no_problems(case.name, &problems, modgate);
}

/// A fresh `--upstream direct` modgate, checked on the named case.
fn check_case(name: &str) -> Modgate {
    let modgate = start_direct();
    check_case_with(&modgate, &case(name));
    modgate
}

fn assert_no_panic(modgate: &Modgate) {
    let logs = modgate.logs();
    assert!(!logs.contains("panicked"), "modgate panicked:\n{logs}");
    assert_eq!(
        http::get(&modgate.addr, "/healthz").status,
        200,
        "modgate still serves"
    );
}

// ---------------------------------------------------------------------------
// The reference itself

/// What the go command's direct mode does with these repositories; these
/// facts are what modgate must reproduce (and they check the repositories).
/// `cargo test -p modgate --test e2e direct::reference -- --nocapture`
/// prints the whole reference.
#[test]
fn reference_facts_of_the_go_command_direct_mode() {
    let r = Reference::get();
    let repos = Repos::get();
    let o = &r.observed;
    eprintln!("{o:#?}");
    let version = |t: &str| r.artifact(t).version.clone();
    let query = |t: &str| r.query(t).as_ref().unwrap().version.clone();
    let err = |t: &str| match r.download(t) {
        Err(e) => e.clone(),
        Ok(a) => panic!("{t} should fail in go direct mode, got {}", a.version),
    };
    let files = |t: &str| -> Vec<String> { r.artifact(t).files.keys().cloned().collect() };
    let file = |t: &str, f: &str| -> Vec<u8> {
        r.artifact(t)
            .files
            .get(f)
            .unwrap_or_else(|| panic!("{t} has no {f}"))
            .clone()
    };

    // (a) prefixed tags only: the root's v1.0.0 and v1.5.0 are not sub's.
    assert_eq!(
        r.list(MULTI_SUB),
        &Ok(vec!["v1.0.0".into(), "v1.1.0".into()])
    );
    assert_eq!(r.list(MULTI), &Ok(vec!["v1.0.0".into(), "v1.5.0".into()]));
    // Pseudo-versions of subdirectory modules build on their own tags.
    assert!(query(&format!("{MULTI_SUB}@next")).starts_with("v1.1.1-0.20240103100000-"));
    assert!(query(&format!("{MULTI_TOOLS}@next")).starts_with("v0.1.1-0.20240103100000-"));
    assert!(query(&format!("{MULTI}@next")).starts_with("v1.5.1-0.20240103100000-"));
    // Nested modules are not part of the root module's zip.
    assert_eq!(
        files(&format!("{MULTI}@v1.0.0")),
        ["LICENSE", "README.md", "go.mod", "multi.go"]
    );
    // (i) the root LICENSE is copied into a subdirectory module that has none.
    assert_eq!(
        file(&format!("{MULTI_SUB}@v1.0.0"), "LICENSE"),
        b"Root licence of multi.\n"
    );
    assert_eq!(
        file(&format!("{MULTI_TOOLS}@v0.1.0"), "LICENSE"),
        b"The tools' own licence.\n"
    );
    // (b) and (c) major versions.
    assert_eq!(r.list(MAJOR_SUBDIR_V2), &Ok(vec!["v2.0.0".into()]));
    assert_eq!(
        files(&format!("{MAJOR_SUBDIR}@v1.1.0")),
        ["go.mod", "majorsub.go"]
    );
    assert!(
        err(&format!("{MAJOR_SUBDIR}@v2.0.0+incompatible"))
            .contains("module contains a go.mod file, so module path must match major version")
    );
    assert_eq!(
        r.list(MAJOR_BRANCH),
        &Ok(vec!["v1.0.0".into(), "v1.1.0".into()])
    );
    assert_eq!(r.list(MAJOR_BRANCH_V3), &Ok(vec!["v3.0.0".into()]));
    assert!(
        err(&format!("{MAJOR_BRANCH}@v3.0.0+incompatible"))
            .contains("go.mod has post-v3 module path")
    );
    // (d) +incompatible, and (j) the synthesized go.mod.
    assert_eq!(
        r.list(INCOMPAT),
        &Ok(vec![
            "v1.0.0".into(),
            "v2.0.0+incompatible".into(),
            "v2.1.0+incompatible".into(),
            "v3.0.0-rc.1+incompatible".into()
        ])
    );
    assert_eq!(
        r.artifact(&format!("{INCOMPAT}@v1.0.0")).go_mod,
        format!("module {INCOMPAT}\n").as_bytes()
    );
    assert_eq!(
        version(&format!("{INCOMPAT}@v2.0.0")),
        "v2.0.0+incompatible"
    );
    assert_eq!(query(&format!("{INCOMPAT}@latest")), "v2.1.0+incompatible");
    assert_eq!(
        r.list(INCOMPAT_HIDDEN),
        &Ok(vec!["v1.0.0".into(), "v1.1.0".into()])
    );
    assert_eq!(
        version(&format!("{INCOMPAT_HIDDEN}@v2.0.0+incompatible")),
        "v2.0.0+incompatible",
        "unlisted, but still served when asked for"
    );
    // (e) pseudo-versions: committer time in UTC, base from the newest tag.
    assert_eq!(
        query(&format!("{PSEUDO}@main")),
        format!("v1.3.0-beta.1.0.20240606170000-{}", repos.short("pseudo:E"))
    );
    assert_eq!(
        query(&format!("{PSEUDO}@feature")),
        format!("v1.2.4-0.20240604100000-{}", repos.short("pseudo:F"))
    );
    assert_eq!(
        query(&format!("{PSEUDO}@{}", repos.short("pseudo:C"))),
        format!("v1.2.4-0.20240603100000-{}", repos.short("pseudo:C")),
        "committer date, not author date"
    );
    assert_eq!(
        query(&format!("{PSEUDO}@{}", repos.short("pseudo:B"))),
        "v1.2.3"
    );
    assert_eq!(query(&format!("{PSEUDO}@release-1")), "v1.0.0");
    assert_eq!(query(&format!("{PSEUDO}@latest")), "v1.2.3");
    assert_eq!(query(&format!("{PSEUDO}@>v1.2.3")), "v1.3.0-beta.1");
    assert_eq!(
        r.list(PSEUDO),
        &Ok(vec![
            "v1.0.0".into(),
            "v1.2.2".into(),
            "v1.2.3".into(),
            "v1.3.0-beta.1".into()
        ]),
        "v1.0 and release-1 are not versions"
    );
    assert_eq!(
        r.artifact(&format!("{PSEUDO}@v1.2.3")).time,
        "2024-06-02T10:00:00Z",
        "the commit's time, not the annotated tag's"
    );
    assert_eq!(
        query(&format!("{UNTAGGED}@latest")),
        format!("v0.0.0-20240502103000-{}", repos.short("untagged:tip"))
    );
    assert_eq!(r.list(UNTAGGED), &Ok(vec![]));
    let nosuch = r
        .query(&format!("{PSEUDO}@nosuchbranch"))
        .as_ref()
        .unwrap_err();
    assert!(nosuch.contains("unknown revision nosuchbranch"), "{nosuch}");
    assert!(err(&format!("{PSEUDO}@v9.9.9")).contains("unknown revision v9.9.9"));
    assert!(
        err(&format!(
            "{PSEUDO}@v1.2.4-0.20990101000000-{}",
            repos.short("pseudo:C")
        ))
        .contains("does not match version-control timestamp (expected 20240603100000)")
    );
    // A pseudo-version on an older base than necessary is still valid.
    assert_eq!(
        version(&format!(
            "{PSEUDO}@v1.0.1-0.20240603100000-{}",
            repos.short("pseudo:C")
        )),
        format!("v1.0.1-0.20240603100000-{}", repos.short("pseudo:C"))
    );
    // (f) vendor directories: only vendor/modules.txt survives (x/mod's
    // isVendoredPackage: every nested vendor/ file is dropped).
    assert_eq!(
        files(&format!("{VENDORED}@v1.0.0")),
        ["go.mod", "pkg/pkg.go", "vendor/modules.txt", "vendored.go"]
    );
    // (g) .gitattributes: export-ignore and export-subst are switched off
    // (info/attributes), but git archive still applies eol and ident.
    let attrs = format!("{ATTRS}@v1.0.0");
    assert_eq!(
        files(&attrs),
        [
            ".gitattributes",
            "LICENSE",
            "attrs.go",
            "crlf.txt",
            "go.mod",
            "ident.txt",
            "ignored.txt",
            "subst.txt"
        ]
    );
    assert_eq!(file(&attrs, "subst.txt"), b"commit $Format:%H$\n");
    assert_eq!(file(&attrs, "crlf.txt"), b"line one\r\nline two\r\n");
    let ident = String::from_utf8(file(&attrs, "ident.txt")).unwrap();
    assert!(
        ident.starts_with("$Id: ") && ident.len() == "$Id: $\n".len() + 41,
        "{ident:?}"
    );
    assert_eq!(
        file(&attrs, "LICENSE"),
        b"Root licence,\r\nwith LF line endings in git.\r\n"
    );
    // ... while the LICENSE copied into a subdirectory module is the raw blob.
    let attrs_sub = format!("{ATTRS_SUB}@v1.0.0");
    assert_eq!(
        files(&attrs_sub),
        ["LICENSE", "go.mod", "ignored.txt", "sub.go"]
    );
    assert_eq!(
        file(&attrs_sub, "LICENSE"),
        b"Root licence,\nwith LF line endings in git.\n"
    );
    // (h) symbolic links are left out.
    assert_eq!(
        files(&format!("{LINKS}@v1.0.0")),
        ["go.mod", "links.go", "pkg/pkg.go"]
    );
    // (k) case-insensitive collisions.
    assert!(
        err(&format!("{COLLIDE}@v1.0.0"))
            .contains(r#"case-insensitive file name collision: "A.go" and "a.go""#)
    );
    // (l) go mod download serves a mismatched go.mod; only using it fails.
    assert_eq!(
        r.artifact(&format!("{MISMATCH}@v1.0.0")).go_mod,
        format!("module {MISMATCH_DECLARED}\n\ngo 1.21\n").as_bytes()
    );
    assert!(
        r.mismatch_error
            .contains(&format!("module declares its path as: {MISMATCH_DECLARED}")),
        "{}",
        r.mismatch_error
    );
    // (m) upper case.
    assert_eq!(r.list(UPPER), &Ok(vec!["v1.0.0".into()]));
    // Missing repositories.
    assert!(err(&format!("{MISSING}@v1.0.0")).contains("does not appear to be a git repository"));
    // Paths not on a known host, resolved through go-import meta tags.
    assert_eq!(r.list(GOPKGIN), &Ok(vec!["v1.0.0".into(), "v1.1.0".into()]));
    assert!(
        r.query(&format!("{GOPKGIN}@main"))
            .as_ref()
            .unwrap_err()
            .contains("go.mod has non-....v1 module path \"gopkg.in/modgate.v2\"")
    );
    assert_eq!(r.list(CORP), &Ok(vec!["v0.1.0".into(), "v0.2.0".into()]));
    // The app's go.sum holds hashes of what go downloaded in direct mode.
    let sum = fs_err::read_to_string(r.app.join("go.sum")).unwrap();
    assert!(
        sum.contains(&format!(
            "{MULTI_SUB} v1.1.0 {}",
            r.artifact(&format!("{MULTI_SUB}@v1.1.0")).sum
        )),
        "{sum}"
    );
}

// ---------------------------------------------------------------------------
// Layouts

#[test]
fn subdirectory_modules_prefixed_tags_and_the_root_license() {
    check_case("multi");
}

#[test]
fn major_version_in_a_subdirectory() {
    check_case("major_subdir");
}

#[test]
fn major_version_on_a_branch() {
    check_case("major_branch");
}

#[test]
fn incompatible_versions_and_synthesized_go_mod() {
    check_case("incompatible");
}

#[test]
fn pseudo_versions_branches_hashes_tags_and_queries() {
    check_case("pseudo");
}

#[test]
fn vendor_directories() {
    check_case("vendor");
}

#[test]
fn gitattributes_as_git_archive_applies_them() {
    check_case("attrs");
}

#[test]
fn symbolic_links_are_left_out() {
    check_case("links");
}

#[test]
fn upper_case_module_paths() {
    let modgate = check_case("upper");
    let resp = http::get(&modgate.addr, &format!("/{UPPER_ESCAPED}/@v/v1.0.0.mod"));
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(
        resp.body,
        Reference::get().artifact(&format!("{UPPER}@v1.0.0")).go_mod
    );
}

// ---------------------------------------------------------------------------
// Refusals and errors

#[test]
fn case_insensitive_collision_is_refused() {
    let modgate = check_case("collision");
    let resp = get(&modgate, COLLIDE, "@v/v1.0.0.zip");
    assert!(
        resp.status >= 400,
        "a zip with A.go and a.go must not be served: {} ({} bytes)",
        resp.status,
        resp.body.len()
    );
    assert!(
        resp.text().to_lowercase().contains("collision"),
        "the error says why: {} {}",
        resp.status,
        resp.text()
    );
    // Asked again (from whatever modgate remembers): still refused.
    assert!(get(&modgate, COLLIDE, "@v/v1.0.0.zip").status >= 400);
    assert_no_panic(&modgate);
}

#[test]
fn module_path_mismatch_is_served_as_go_serves_it_and_fails_on_use() {
    // go direct hands out the artifacts (go mod download succeeds: a fork
    // used through `replace` declares the path it replaces) and fails only
    // when a build requires it under the wrong path. modgate does the same.
    let reference = Reference::get();
    let modgate = start_direct();
    let mut problems = Vec::new();
    for ext in ["info", "mod", "zip"] {
        let resp = get(&modgate, MISMATCH, &format!("@v/v1.0.0.{ext}"));
        if resp.status != 200 {
            problems.push(format!(
                "GET {MISMATCH}/@v/v1.0.0.{ext}: want 200 as go direct, got {} {}",
                resp.status,
                resp.text().trim()
            ));
        } else if ext == "mod" && !resp.text().contains(MISMATCH_DECLARED) {
            problems.push(format!("{MISMATCH} .mod: {}", resp.text()));
        }
    }
    // The go command fails through modgate as it does in direct mode
    // (where it says: {reference.mismatch_error}).
    let go = proxied_go(&modgate.url);
    let dir = fresh_dir("mismatch");
    fs_err::write(dir.join("go.mod"), "module example.com/m\n\ngo 1.21\n").unwrap();
    let out = go
        .command(&dir, &["get", &format!("{MISMATCH}@v1.0.0")])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() || !stderr.contains(MISMATCH_DECLARED) {
        problems.push(format!(
            "go get through modgate: want a failure naming {MISMATCH_DECLARED} (go direct: {}), \
             got {}: {stderr}",
            reference.mismatch_error.trim(),
            out.status
        ));
    }
    assert_no_problems("mismatch", &problems, &modgate);
    assert_no_panic(&modgate);
}

#[test]
fn unknown_revisions_versions_and_repositories_are_not_found() {
    let repos = Repos::get();
    let modgate = start_direct();
    check_case_with(&modgate, &case("missing"));
    let bad_stamp = format!("v1.2.4-0.20990101000000-{}", repos.short("pseudo:C"));
    for (module, rest, must_name) in [
        (PSEUDO, "@v/nosuchbranch.info".to_owned(), "nosuchbranch"),
        (PSEUDO, "@v/v9.9.9.info".to_owned(), "v9.9.9"),
        (PSEUDO, "@v/v9.9.9.mod".to_owned(), "v9.9.9"),
        (PSEUDO, "@v/v9.9.9.zip".to_owned(), "v9.9.9"),
        (PSEUDO, format!("@v/{bad_stamp}.info"), ""),
        (PSEUDO, format!("@v/{bad_stamp}.zip"), ""),
        (MISSING, "@v/list".to_owned(), ""),
        (MISSING, "@latest".to_owned(), ""),
        (MISSING, "@v/v1.0.0.info".to_owned(), ""),
        (MISSING, "@v/main.info".to_owned(), ""),
        // No repository serves toolchains: the answer says what does.
        (
            "golang.org/toolchain",
            "@v/v0.0.1-go1.99.0.linux-amd64.info".to_owned(),
            "keep a proxy upstream",
        ),
    ] {
        let resp = get(&modgate, module, &rest);
        assert!(
            is_not_found(resp.status),
            "GET {module}/{rest}: want 404 or 410, got {} {}",
            resp.status,
            resp.text()
        );
        assert!(
            resp.text().contains(must_name),
            "GET {module}/{rest}: the answer names {must_name:?}: {}",
            resp.text()
        );
        assert!(
            !resp.text().trim().is_empty(),
            "GET {module}/{rest}: empty error"
        );
    }
    // The repository is still fine for real versions.
    let ok = get(&modgate, PSEUDO, "@v/v1.2.3.info");
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_no_panic(&modgate);
}

#[test]
fn credentials_in_repo_map_urls_never_leak() {
    let port = closed_port();
    let rule = format!("secret.example/x=https://builder:s3cret-pass@127.0.0.1:{port}/x.git");
    let modgate = start(&["--upstream", "direct", "--repo-map", &rule]);
    for rest in [
        "@v/list",
        "@latest",
        "@v/v1.0.0.info",
        "@v/v1.0.0.zip",
        "@v/main.info",
    ] {
        let resp = get(&modgate, "secret.example/x", rest);
        assert!(
            resp.status >= 400,
            "GET secret.example/x/{rest}: {} {}",
            resp.status,
            resp.text()
        );
        assert!(
            !resp.text().contains("s3cret-pass"),
            "GET secret.example/x/{rest} leaks the password: {}",
            resp.text()
        );
    }
    let logs = modgate.logs();
    assert!(
        !logs.contains("s3cret-pass"),
        "logs leak the password:\n{logs}"
    );
    assert_no_panic(&modgate);
}

// ---------------------------------------------------------------------------
// Configuration: private modules, repository maps, the VCS directory

#[test]
fn private_modules_come_from_git_and_never_from_upstreams() {
    let mirror = Mirror::failing(500);
    let modgate = start(&[
        "--upstream",
        &mirror.url,
        "--private",
        "github.com/modgate-private/*",
    ]);
    check_case_with(&modgate, &case("private"));
    assert_eq!(
        mirror.hits(),
        0,
        "a private module was asked of the upstream proxy"
    );
    // Anything else goes to the (failing) upstream only: no git.
    let resp = get(&modgate, UNTAGGED, "@v/list");
    assert_ne!(resp.status, 200, "{}", resp.text());
    let resp = get(&modgate, PSEUDO, "@v/v1.2.3.info");
    assert_ne!(resp.status, 200, "{}", resp.text());
    assert!(mirror.hits() > 0, "non-private modules go to the upstream");
}

#[test]
fn private_modules_from_the_environment() {
    let mirror = Mirror::failing(500);
    let env = Repos::get().git_env();
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.push(("MODGATE_PRIVATE", "github.com/modgate-private"));
    let storage = fresh_dir("storage");
    let modgate = Modgate::start_env(
        &[
            "--storage",
            storage.to_str().unwrap(),
            "--upstream",
            &mirror.url,
        ],
        &env,
    );
    let resp = get(&modgate, PRIVATE, "@v/v1.0.0.info");
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(mirror.hits(), 0);
}

#[test]
fn repo_map_for_a_path_on_no_known_host() {
    let rule = format!("{GOPKGIN}={GOPKGIN_REPO}");
    let modgate = start(&["--upstream", "direct", "--repo-map", &rule]);
    check_case_with(&modgate, &case("gopkgin"));
    assert_no_panic(&modgate);
}

#[test]
fn repo_map_wildcard_from_the_config_file() {
    let config = fresh_dir("config").join("modgate.toml");
    fs_err::write(
        &config,
        "upstream = \"direct\"\n\n\
         [[repo_map]]\n\
         prefix = \"corp.example/*\"\n\
         url = \"https://github.com/modgate-corp/*\"\n",
    )
    .unwrap();
    let modgate = start(&["--config", config.to_str().unwrap()]);
    check_case_with(&modgate, &case("corp"));
    // `*` binds another name to another repository, which does not exist.
    let resp = get(&modgate, "corp.example/nosuch", "@v/list");
    assert!(
        is_not_found(resp.status),
        "corp.example/nosuch: {} {}",
        resp.status,
        resp.text()
    );
    assert_no_panic(&modgate);
}

#[test]
fn a_proxy_that_lacks_the_module_falls_through_to_direct() {
    let mirror = Mirror::failing(404);
    let modgate = start(&["--upstream", &format!("{},direct", mirror.url)]);
    let fallthrough = Case {
        name: "fallthrough",
        downloads: vec![
            format!("{PSEUDO}@v1.2.3"),
            format!("{UNTAGGED}@latest"),
            format!("{MULTI_SUB}@v1.1.0"),
        ],
        lists: vec![PSEUDO, MULTI_SUB],
        queries: vec![format!("{PSEUDO}@main"), format!("{PSEUDO}@latest")],
        ..Default::default()
    };
    check_case_with(&modgate, &fallthrough);
    assert!(mirror.hits() > 0, "the proxy was asked first");
}

#[test]
fn cached_artifacts_outlive_the_repository_and_mirrors_live_in_vcs_dir() {
    let repos = Repos::get();
    let module = "github.com/modgate-direct/ephemeral";
    let repo = repos.scratch_repo("ephemeral");
    repo.write("go.mod", &format!("module {module}\n\ngo 1.21\n"))
        .write("e.go", "package ephemeral\n")
        .commit("v1.0.0", "2025-04-01T10:00:00Z")
        .tag("v1.0.0");
    let target = format!("{module}@v1.0.0");
    let want = go::download(&direct_go(), &fresh_dir("work"), &[&target]);

    let storage = fresh_dir("storage");
    let vcs = fresh_dir("vcs");
    let args = ["--upstream", "direct", "--vcs-dir", vcs.to_str().unwrap()];
    {
        let modgate = start_on(&storage, &args);
        let got = go::download(&proxied_go(&modgate.url), &fresh_dir("work"), &[&target]);
        assert_eq!(got[0].sum, want[0].sum, "zip hash");
        assert_eq!(got[0].go_mod_sum, want[0].go_mod_sum, "go.mod hash");
    }
    assert!(
        fs_err::read_dir(&vcs).unwrap().next().is_some(),
        "--vcs-dir {} holds modgate's git mirrors",
        vcs.display()
    );
    fs_err::remove_dir_all(&repo.dir).unwrap();
    let modgate = start_on(&storage, &args);
    let got = go::download(&proxied_go(&modgate.url), &fresh_dir("work"), &[&target]);
    assert_eq!(got[0].sum, want[0].sum, "zip hash from the cache");
    assert_no_panic(&modgate);
}

// ---------------------------------------------------------------------------
// Concurrency and a whole build

#[test]
fn concurrent_requests_agree() {
    let reference = Reference::get();
    let modgate = start_direct();
    let want = reference.artifact(&format!("{PSEUDO}@v1.2.3")).clone();
    let main = reference.query(&format!("{PSEUDO}@main")).clone().unwrap();
    let addr = modgate.addr.clone();
    let zip_path = format!("/{PSEUDO}/@v/v1.2.3.zip");
    let info_path = format!("/{PSEUDO}/@v/main.info");
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let addr = addr.clone();
            let path = if i % 4 == 3 {
                info_path.clone()
            } else {
                zip_path.clone()
            };
            std::thread::spawn(move || (path.clone(), http::get(&addr, &path)))
        })
        .collect();
    let mut zips = Vec::new();
    for t in threads {
        let (path, resp) = t.join().unwrap();
        assert_eq!(resp.status, 200, "GET {path}: {}", resp.text());
        if path == info_path {
            let info: InfoJson = serde_json::from_slice(&resp.body).unwrap();
            assert_eq!(info.version, main.version);
        } else {
            zips.push(resp.body);
        }
    }
    for z in &zips[1..] {
        assert!(z == &zips[0], "concurrent answers differ");
    }
    let file = fresh_dir("zip").join("m.zip");
    fs_err::write(&file, &zips[0]).unwrap();
    let checked = modgate_zip::check_zip(&file, PSEUDO, "v1.2.3")
        .unwrap_or_else(|e| panic!("modgate's zip breaks the module zip rules: {e}"));
    assert_eq!(checked.h1, want.sum);
}

#[test]
fn multi_module_project_builds_against_its_direct_mode_go_sum() {
    let reference = Reference::get();
    let modgate = start_direct();
    let app = fresh_dir("app");
    for f in ["go.mod", "go.sum", "main.go", "internal/more/more.go"] {
        let to = app.join(f);
        fs_err::create_dir_all(to.parent().unwrap()).unwrap();
        fs_err::copy(reference.app.join(f), to).unwrap();
    }
    // go.sum from direct mode and no checksum database: the go command
    // verifies every download through modgate against go.sum.
    let go = Go::new(&modgate.url).env("GOFLAGS", "-modcacherw -mod=readonly");
    go.run(&app, &["build", "./..."]);
    go.run(&app, &["build", "-o", "app", "."]);
    let out = std::process::Command::new(app.join("app"))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), APP_PRINTS);
    let verified = go.run(&app, &["mod", "verify"]);
    assert!(verified.contains("all modules verified"), "{verified}");
    let sum_after = fs_err::read_to_string(app.join("go.sum")).unwrap();
    assert_eq!(
        sum_after,
        fs_err::read_to_string(reference.app.join("go.sum")).unwrap(),
        "go.sum unchanged"
    );
}

// ---------------------------------------------------------------------------
// Fetching as little as go does

/// Bytes under `dir`, recursively.
fn disk_usage(dir: &Path) -> u64 {
    let mut total = 0;
    for entry in fs_err::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let meta = entry.metadata().unwrap();
        total += if meta.is_dir() {
            disk_usage(&entry.path())
        } else {
            meta.len()
        };
    }
    total
}

/// A history of `commits` commits written with `git fast-import` (fast),
/// each of the first `fat` carrying its own incompressible 1 MiB blob, then
/// a small tip tagged `v1.0.0`; returns the repository.
fn long_history(name: &str, module: &str, commits: usize, fat: usize) -> crate::support::git::Repo {
    use std::io::Write as _;
    let repo = Repos::get().scratch_repo(name);
    let mut stream = Vec::new();
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    for i in 0..commits {
        write!(
            stream,
            "commit refs/heads/main\ncommitter t <t@x> {} +0000\n",
            1_600_000_000 + i * 60
        )
        .unwrap();
        let msg = format!("c{i}");
        write!(stream, "data {}\n{msg}\n", msg.len()).unwrap();
        let counter = format!("{i}\n");
        write!(
            stream,
            "M 644 inline counter.txt\ndata {}\n{counter}\n",
            counter.len()
        )
        .unwrap();
        if i < fat {
            let blob: Vec<u8> = (0..1 << 20)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect();
            write!(
                stream,
                "M 644 inline old/blob-{i}.bin\ndata {}\n",
                blob.len()
            )
            .unwrap();
            stream.extend_from_slice(&blob);
            stream.push(b'\n');
        } else if i == fat {
            stream.extend_from_slice(b"D old\n");
        }
    }
    let gomod = format!("module {module}\n\ngo 1.21\n");
    write!(
        stream,
        "commit refs/heads/main\ncommitter t <t@x> 1700000000 +0000\ndata 3\ntip\n"
    )
    .unwrap();
    write!(
        stream,
        "M 644 inline go.mod\ndata {}\n{gomod}\n",
        gomod.len()
    )
    .unwrap();
    write!(stream, "M 644 inline lib.go\ndata 12\npackage lib\n\n").unwrap();
    let mut child = std::process::Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(&repo.dir)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&stream).unwrap();
    assert!(child.wait().unwrap().success(), "git fast-import");
    repo.git(&["tag", "v1.0.0", "main"]);
    repo
}

/// One tagged version of a repository with a long, heavy history is built
/// from that tag alone: go's hashes, a fraction of the history on disk.
#[test]
fn a_tagged_version_is_fetched_without_the_history() {
    let module = "github.com/modgate-direct/longhistory";
    let repo = long_history("longhistory", module, 2000, 40);
    let history = disk_usage(&repo.dir.join(".git"));
    assert!(history > 40 << 20, "the history holds {history} bytes");

    let target = format!("{module}@v1.0.0");
    let want = go::download(&direct_go(), &fresh_dir("work"), &[&target]);
    let vcs = fresh_dir("vcs");
    let modgate = start(&["--upstream", "direct", "--vcs-dir", vcs.to_str().unwrap()]);
    let got = go::download(&proxied_go(&modgate.url), &fresh_dir("work"), &[&target]);
    assert_eq!(got[0].sum, want[0].sum, "zip hash");
    assert_eq!(got[0].go_mod_sum, want[0].go_mod_sum, "go.mod hash");
    let mirror = disk_usage(&vcs);
    assert!(
        mirror < history / 20,
        "the mirror holds {mirror} bytes of a {history}-byte history"
    );
    assert_no_panic(&modgate);
}

/// A repository whose old history lost an object (a blob only an old commit
/// references) still serves its tagged version, with go's hashes, as go's
/// direct mode does: nothing outside the version's tree is fetched, even
/// where another tag's tree holds the lost object.
#[test]
fn a_damaged_history_still_serves_its_tags() {
    let module = "github.com/modgate-direct/damaged";
    let repo = Repos::get().scratch_repo("damaged");
    repo.write("go.mod", &format!("module {module}\n\ngo 1.21\n"))
        .write("lost.txt", "this blob goes missing\n")
        .commit("old", "2025-01-01T10:00:00Z")
        // Fetched together with v1.0.0 (few tags), this one fails: then
        // v1.0.0 alone must still be served.
        .tag("v0.9.0")
        .remove("lost.txt")
        .write("lib.go", "package damaged\n")
        .commit("v1.0.0", "2025-02-01T10:00:00Z")
        .tag("v1.0.0");
    // Repack every object but the lost blob, and drop the rest.
    let lost = repo
        .git(&["rev-parse", "HEAD~1:lost.txt"])
        .trim()
        .to_owned();
    repo.git(&["repack", "-a", "-d", "-q"]);
    let keep: String = repo
        .git(&["rev-list", "--objects", "--all"])
        .lines()
        .filter(|l| !l.starts_with(&lost))
        .map(|l| l.split(' ').next().unwrap().to_owned() + "\n")
        .collect();
    let packs = repo.dir.join(".git/objects/pack");
    let old: Vec<_> = fs_err::read_dir(&packs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let mut pack = std::process::Command::new("git")
        .args(["pack-objects", "-q", ".git/objects/pack/pack"])
        .current_dir(&repo.dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut pack.stdin.take().unwrap(), keep.as_bytes()).unwrap();
    assert!(pack.wait().unwrap().success());
    for p in old {
        fs_err::remove_file(p).unwrap();
    }
    let fsck = std::process::Command::new("git")
        .args(["cat-file", "-e", &lost])
        .current_dir(&repo.dir)
        .status()
        .unwrap();
    assert!(!fsck.success(), "the blob is gone");

    let target = format!("{module}@v1.0.0");
    let want = go::download(&direct_go(), &fresh_dir("work"), &[&target]);
    let modgate = start_direct();
    let got = go::download(&proxied_go(&modgate.url), &fresh_dir("work"), &[&target]);
    assert_eq!(got[0].sum, want[0].sum, "zip hash");
    assert_eq!(got[0].go_mod_sum, want[0].go_mod_sum, "go.mod hash");
    let list = get(&modgate, module, "@v/list");
    assert_eq!(list.text(), "v0.9.0\nv1.0.0\n");
    assert_no_panic(&modgate);
}

/// Pseudo-versions and branch queries after a shallow start (a tag fetched
/// alone first) still equal go's direct mode.
#[test]
fn queries_after_a_shallow_start_equal_direct_mode() {
    let module = "github.com/modgate-direct/shallowstart";
    let repo = Repos::get().scratch_repo("shallowstart");
    repo.write("go.mod", &format!("module {module}\n\ngo 1.21\n"))
        .write("a.go", "package shallowstart\n")
        .commit("v1.0.0", "2025-01-01T10:00:00Z")
        .tag("v1.0.0")
        .write("b.go", "package shallowstart\n")
        .commit("v1.1.0", "2025-01-02T10:00:00Z")
        .tag("v1.1.0")
        .write("c.go", "package shallowstart\n")
        .commit("after", "2025-01-03T10:00:00Z")
        .branch("dev")
        .write("d.go", "package shallowstart\n")
        .commit("dev tip", "2025-01-04T10:00:00Z");
    let dev_tip = repo.rev_parse("HEAD");
    let modgate = start_direct();
    // The shallow start: one tag, alone.
    assert_eq!(get(&modgate, module, "@v/v1.0.0.info").status, 200);
    for query in ["dev", "main", &dev_tip[..12], "latest"] {
        let target = format!("{module}@{query}");
        let want = go::download(&direct_go(), &fresh_dir("work"), &[&target]);
        let got = go::download(&proxied_go(&modgate.url), &fresh_dir("work"), &[&target]);
        assert_eq!(got[0].version, want[0].version, "{target}");
        assert_eq!(got[0].sum, want[0].sum, "{target}");
    }
    assert_no_panic(&modgate);
}

/// A module path under a wildcard `--repo-map` whose repository does not
/// exist leaves no mirror behind: the mirror is made once the remote answers.
#[test]
fn a_missing_repository_leaves_no_mirror() {
    let vcs = fresh_dir("vcs");
    let root = Repos::get().root.join("modgate-direct");
    let map = format!("nosuch.example/*=file://{}/*", root.display());
    let modgate = start(&[
        "--upstream",
        "direct",
        "--vcs-dir",
        vcs.to_str().unwrap(),
        "--repo-map",
        &map,
    ]);
    for name in ["gone1", "gone2", "gone3"] {
        let resp = get(&modgate, &format!("nosuch.example/{name}"), "@v/list");
        assert_eq!(resp.status, 404, "{name}: {}", resp.text());
    }
    let left: Vec<_> = fs_err::read_dir(&vcs)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "mirrors left behind: {left:?}");
    assert_no_panic(&modgate);
}

/// A git command that times out takes its helpers (here an ssh that never
/// answers) down with it: none is left running.
#[test]
fn a_git_timeout_kills_the_helpers_too() {
    let dir = fresh_dir("hanging-ssh");
    let ssh = dir.join("ssh");
    // A sleep no other test runs, to find it afterwards.
    fs_err::write(&ssh, "#!/bin/sh\nexec sleep 3613\n").unwrap();
    fs_err::set_permissions(&ssh, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut env: Vec<(&str, String)> = Repos::get().git_env().into_iter().collect();
    env.push(("GIT_SSH_COMMAND", ssh.to_str().unwrap().to_owned()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let storage = fresh_dir("storage");
    let modgate = Modgate::start_env(
        &[
            "--storage",
            storage.to_str().unwrap(),
            "--upstream",
            "direct",
            "--git-timeout",
            "2s",
            "--repo-map",
            "hang.example/m=ssh://git@127.0.0.1/r.git",
        ],
        &env,
    );
    let resp = get(&modgate, "hang.example/m", "@v/list");
    assert_eq!(resp.status, 502, "{}", resp.text());
    assert!(resp.text().contains("timed out"), "{}", resp.text());
    // Processes whose command line is `sleep 3613`, read from /proc.
    let left = || {
        fs_err::read_dir("/proc")
            .unwrap()
            .filter_map(|e| fs_err::read(e.ok()?.path().join("cmdline")).ok())
            .filter(|cmdline| cmdline.as_slice() == b"sleep\x003613\x00")
            .count()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while left() > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(left(), 0, "git's helpers outlived the timeout");
    assert_no_panic(&modgate);
}

/// Past `--vcs-max-size`, the least recently used mirror not in use goes,
/// and what it served keeps working (its next use fetches anew).
#[test]
fn mirrors_beyond_the_size_budget_are_evicted() {
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut noise = |n: usize| -> String {
        (0..n)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                char::from(b'a' + (seed % 26) as u8)
            })
            .collect()
    };
    let modules: Vec<String> = ["evict-a", "evict-b"]
        .iter()
        .map(|name| {
            let module = format!("github.com/modgate-direct/{name}");
            // Letters drawn at random: ~4.7 bits a byte after compression.
            Repos::get()
                .scratch_repo(name)
                .write("go.mod", &format!("module {module}\n\ngo 1.21\n"))
                .write("data.txt", &noise(1 << 20))
                .commit("v1.0.0", "2025-03-01T10:00:00Z")
                .tag("v1.0.0");
            module
        })
        .collect();
    let vcs = fresh_dir("vcs");
    let modgate = start(&[
        "--upstream",
        "direct",
        "--vcs-dir",
        vcs.to_str().unwrap(),
        "--vcs-max-size",
        "1MiB",
    ]);
    for module in &modules {
        let resp = get(&modgate, module, "@v/v1.0.0.zip");
        assert_eq!(resp.status, 200, "{module}: {}", resp.text());
    }
    let mirrors = fs_err::read_dir(&vcs).unwrap().count();
    assert_eq!(mirrors, 1, "the older mirror went");
    let metrics = http::get(&modgate.addr, "/metrics").text();
    assert!(
        metrics.contains("modgate_vcs_evictions_total 1"),
        "{metrics}"
    );
    assert!(metrics.contains("modgate_vcs_mirrors_bytes"), "{metrics}");
    // The evicted repository still answers, from a new mirror.
    let resp = get(&modgate, &modules[0], "@v/main.info");
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_no_panic(&modgate);
}

/// Tags that name a tree or a blob are the repository's answer, not a
/// failure that may pass: 404 with the reason, as go says "unknown revision".
#[test]
fn tags_of_trees_and_blobs_are_not_found() {
    let module = "github.com/modgate-direct/oddtags";
    let repo = Repos::get().scratch_repo("oddtags");
    repo.write("go.mod", &format!("module {module}\n\ngo 1.21\n"))
        .write("a.go", "package oddtags\n")
        .commit("v1.0.0", "2025-05-01T10:00:00Z")
        .tag("v1.0.0");
    repo.git(&["tag", "treetag", "HEAD^{tree}"]);
    repo.git(&["tag", "blobtag", "HEAD:go.mod"]);
    let modgate = start_direct();
    for query in ["treetag", "blobtag"] {
        let resp = get(&modgate, module, &format!("@v/{query}.info"));
        assert_eq!(resp.status, 404, "{query}: {}", resp.text());
        assert!(resp.text().contains(query), "{query}: {}", resp.text());
    }
    // The good tag still serves, and the odd ones do not break the list.
    assert_eq!(get(&modgate, module, "@v/v1.0.0.info").status, 200);
    assert_eq!(get(&modgate, module, "@v/list").text(), "v1.0.0\n");
    assert_no_panic(&modgate);
}

/// Bytes under `dir` now, tolerating files that come and go meanwhile.
fn disk_usage_now(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => disk_usage_now(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Trees no module zip can come from are the repository's answer (404 with
/// the zip rule, remembered), found from the tree listing: a file past the
/// zip limit is refused without staging its archive, and paths such as
/// `..` or `.git` without running `git archive` on them.
#[test]
fn trees_no_zip_can_hold_are_refused_before_archiving() {
    let module = "github.com/modgate-direct/badtrees";
    let repo = Repos::get().scratch_repo("badtrees");
    repo.write("go.mod", &format!("module {module}\n\ngo 1.21\n"))
        .write("a.go", "package badtrees\n")
        .commit("v1.0.0", "2025-05-01T10:00:00Z")
        .tag("v1.0.0");
    let blob = |data: &'static [u8]| repo.git_stdin(&["hash-object", "-w", "--stdin"], data);
    let go_mod = blob(b"module github.com/modgate-direct/badtrees\n\ngo 1.21\n");
    let code = blob(b"package badtrees\n");
    let sub = repo.git_stdin(
        &["mktree"],
        std::io::Cursor::new(format!("100644 blob {code}\tx.go\n")),
    );
    // 501 MiB of zeros: a few hundred KiB in git, past the 500 MiB limit.
    let big = repo.git_stdin(
        &[
            "-c",
            "core.bigFileThreshold=1m",
            "hash-object",
            "-w",
            "--stdin",
        ],
        std::io::Read::take(std::io::repeat(0), 501 << 20),
    );
    // Each with what the 404 says: the zip rule, or git's refusal.
    let cases = [
        ("v1.1.0", format!("040000 tree {sub}\t..\n"), "create zip"),
        (
            "v1.2.0",
            format!("040000 tree {sub}\t.git\n"),
            "invalid path",
        ),
        (
            "v1.3.0",
            format!("100644 blob {big}\tbig.bin\n"),
            "too large",
        ),
    ];
    for (version, extra, _) in &cases {
        let tree = repo.git_stdin(
            &["mktree"],
            std::io::Cursor::new(format!("100644 blob {go_mod}\tgo.mod\n{extra}")),
        );
        let commit = repo.git(&["commit-tree", &tree, "-p", "HEAD", "-m", version]);
        repo.git(&["tag", version, commit.trim()]);
    }
    let storage = fresh_dir("storage");
    let modgate = start_on(&storage, &["--upstream", "direct"]);
    for (version, _, says) in &cases {
        let watching = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let peak = {
            let (watching, storage) = (watching.clone(), storage.clone());
            std::thread::spawn(move || {
                let mut peak = 0;
                while watching.load(std::sync::atomic::Ordering::Relaxed) {
                    peak = peak.max(disk_usage_now(&storage));
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                peak
            })
        };
        let resp = get(&modgate, module, &format!("@v/{version}.zip"));
        watching.store(false, std::sync::atomic::Ordering::Relaxed);
        let peak = peak.join().unwrap();
        assert_eq!(resp.status, 404, "{version}: {}", resp.text());
        assert!(resp.text().contains(says), "{version}: {}", resp.text());
        assert!(
            peak < 64 << 20,
            "{version}: {peak} bytes staged for a refused tree"
        );
        // Remembered: the second answer is the same 404, from the negative cache.
        let again = get(&modgate, module, &format!("@v/{version}.zip"));
        assert_eq!((again.status, again.text()), (404, resp.text()));
    }
    assert!(
        get(&modgate, module, "@v/v1.3.0.zip")
            .text()
            .contains("too large"),
        "the limit is named"
    );
    assert_eq!(get(&modgate, module, "@v/v1.0.0.zip").status, 200);
    let metrics = http::get(&modgate.addr, "/metrics").text();
    assert!(
        metrics.contains("modgate_negative_cache_hits_total"),
        "{metrics}"
    );
    assert_no_panic(&modgate);
}
