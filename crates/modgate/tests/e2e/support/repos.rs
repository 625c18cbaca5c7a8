//! Local git repositories for the direct-mode tests: every layout the go
//! command's direct mode has a rule for (subdirectory modules and prefixed
//! tags, major versions in subdirectories and on branches, +incompatible,
//! pseudo-versions, vendor directories, .gitattributes, symbolic links,
//! LICENSE copying, missing go.mod, case collisions, module path mismatch,
//! upper case), with fixed dates.
//!
//! The repositories live under `scratch()/direct-repos/OWNER/NAME`; the
//! gitconfig from [`Repos::gitconfig`] rewrites `https://github.com/OWNER/`
//! to them (`url.<file://…>.insteadOf`), for the reference go command and
//! for modgate's git alike.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::git::Repo;
use super::scratch;

/// Root module of a repository with subdirectory modules.
pub const MULTI: &str = "github.com/modgate-direct/multi";
/// Subdirectory module, tagged `sub/v1.0.0` and `sub/v1.1.0`; no LICENSE of its own.
pub const MULTI_SUB: &str = "github.com/modgate-direct/multi/sub";
/// Subdirectory module with its own LICENSE, tagged `tools/v0.1.0`.
pub const MULTI_TOOLS: &str = "github.com/modgate-direct/multi/tools";
/// Major version 2 in a `v2/` subdirectory.
pub const MAJOR_SUBDIR: &str = "github.com/modgate-direct/majorsub";
pub const MAJOR_SUBDIR_V2: &str = "github.com/modgate-direct/majorsub/v2";
/// Major version 3 on a branch, where the root go.mod says `/v3`.
pub const MAJOR_BRANCH: &str = "github.com/modgate-direct/majorbranch";
pub const MAJOR_BRANCH_V3: &str = "github.com/modgate-direct/majorbranch/v3";
/// No go.mod at all: v1.0.0, v2.0.0, v2.1.0, v3.0.0-rc.1 (+incompatible).
pub const INCOMPAT: &str = "github.com/modgate-direct/incompat";
/// v2.0.0 without go.mod, but the latest v1 has one: +incompatible not listed.
pub const INCOMPAT_HIDDEN: &str = "github.com/modgate-direct/incompathidden";
/// No tags at all.
pub const UNTAGGED: &str = "github.com/modgate-direct/untagged";
/// Tags, annotated tags, a pre-release, branches ahead of them, odd tags.
pub const PSEUDO: &str = "github.com/modgate-direct/pseudo";
/// vendor/ directories at the root and nested.
pub const VENDORED: &str = "github.com/modgate-direct/vendored";
/// .gitattributes: export-ignore, export-subst, eol=crlf, ident.
pub const ATTRS: &str = "github.com/modgate-direct/attrs";
pub const ATTRS_SUB: &str = "github.com/modgate-direct/attrs/sub";
/// Symbolic links to a file and to a directory.
pub const LINKS: &str = "github.com/modgate-direct/links";
/// `A.go` and `a.go` at v1.0.0 (refused), only `a.go` at v1.1.0.
pub const COLLIDE: &str = "github.com/modgate-direct/collide";
/// go.mod says `module example.com/other`.
pub const MISMATCH: &str = "github.com/modgate-direct/mismatch";
pub const MISMATCH_DECLARED: &str = "example.com/other";
/// Upper case in the owner and the repository name.
pub const UPPER: &str = "github.com/ModgateDirect/Upper";
/// The case-encoded form of [`UPPER`], as in GOPROXY URLs.
pub const UPPER_ESCAPED: &str = "github.com/!modgate!direct/!upper";
/// For `--private github.com/modgate-private/*`.
pub const PRIVATE: &str = "github.com/modgate-private/secret";
/// No repository behind it.
pub const MISSING: &str = "github.com/modgate-direct/missing";
/// Served from `https://github.com/modgate-direct/gopkgin` (via `--repo-map`).
pub const GOPKGIN: &str = "gopkg.in/modgate.v1";
pub const GOPKGIN_REPO: &str = "https://github.com/modgate-direct/gopkgin";
/// Served from `https://github.com/modgate-corp/widget` (via `corp.example/*`).
pub const CORP: &str = "corp.example/widget";
pub const CORP_REPO: &str = "https://github.com/modgate-corp/widget";

/// The repositories, built once per test run.
pub struct Repos {
    /// `…/direct-repos`, holding `OWNER/NAME` directories.
    pub root: PathBuf,
    /// A gitconfig with the insteadOf rules (and `protocol.file.allow`).
    pub gitconfig: PathBuf,
    /// Commit hashes by name (`"pseudo:C"`, …), for hash queries.
    commits: BTreeMap<String, String>,
}

impl Repos {
    pub fn get() -> &'static Repos {
        static REPOS: OnceLock<Repos> = OnceLock::new();
        REPOS.get_or_init(build)
    }

    /// The full hash of a named commit (see the repository builders).
    pub fn commit(&self, name: &str) -> &str {
        self.commits
            .get(name)
            .unwrap_or_else(|| panic!("no commit named {name}"))
    }

    /// The first 12 hex digits of a named commit, as in pseudo-versions.
    pub fn short(&self, name: &str) -> &str {
        &self.commit(name)[..12]
    }

    /// The environment that points git at the local repositories.
    pub fn git_env(&self) -> [(&'static str, String); 2] {
        [
            (
                "GIT_CONFIG_GLOBAL",
                self.gitconfig.to_str().unwrap().to_owned(),
            ),
            ("GIT_CONFIG_NOSYSTEM", "1".to_owned()),
        ]
    }

    /// A new repository under the root (for tests that change or remove it);
    /// reachable as `https://github.com/modgate-direct/NAME`.
    pub fn scratch_repo(&self, name: &str) -> Repo {
        Repo::init(&self.root.join("modgate-direct").join(name))
    }
}

fn go_file(pkg: &str, body: &str) -> String {
    format!("package {pkg}\n\n{body}\n")
}

fn name_func(pkg: &str, text: &str) -> String {
    go_file(pkg, &format!("func Name() string {{ return {text:?} }}"))
}

fn go_mod(path: &str) -> String {
    format!("module {path}\n\ngo 1.21\n")
}

const OWNERS: &[&str] = &[
    "modgate-direct",
    "ModgateDirect",
    "modgate-private",
    "modgate-corp",
];

fn build() -> Repos {
    let root = scratch().join("direct-repos");
    let mut commits = BTreeMap::new();
    multi(&root);
    major_subdir(&root);
    major_branch(&root);
    incompat(&root);
    incompat_hidden(&root);
    untagged(&root, &mut commits);
    pseudo(&root, &mut commits);
    vendored(&root);
    attrs(&root);
    links(&root);
    collide(&root);
    mismatch(&root);
    upper(&root, &mut commits);
    private(&root);
    gopkgin(&root);
    corp(&root);

    let gitconfig = scratch().join("direct-gitconfig");
    let mut config = String::new();
    for owner in OWNERS {
        config.push_str(&format!(
            "[url \"file://{}/{owner}/\"]\n\tinsteadOf = https://github.com/{owner}/\n",
            root.display()
        ));
    }
    config.push_str("[protocol \"file\"]\n\tallow = always\n");
    fs_err::write(&gitconfig, config).unwrap();
    Repos {
        root,
        gitconfig,
        commits,
    }
}

fn init(root: &Path, module_path: &str) -> Repo {
    let rel = module_path
        .strip_prefix("github.com/")
        .unwrap_or_else(|| panic!("{module_path} is not on github.com"));
    Repo::init(&root.join(rel))
}

/// (a) and (i): a root module, two subdirectory modules, prefixed tags; the
/// root LICENSE is the only one `sub` has, `tools` has its own.
fn multi(root: &Path) {
    let r = init(root, MULTI);
    r.write("go.mod", &go_mod(MULTI))
        .write("multi.go", &name_func("multi", "multi v1.0.0"))
        .write("LICENSE", "Root licence of multi.\n")
        .write("README.md", "A repository with three modules.\n")
        .write("sub/go.mod", &go_mod(MULTI_SUB))
        .write("sub/sub.go", &name_func("sub", "sub v1.0.0"))
        .write("tools/go.mod", &go_mod(MULTI_TOOLS))
        .write("tools/tools.go", &name_func("tools", "tools v0.1.0"))
        .write("tools/LICENSE", "The tools' own licence.\n")
        .commit("three modules", "2024-01-01T10:00:00Z")
        .tag("v1.0.0")
        .tag("sub/v1.0.0")
        .tag("tools/v0.1.0")
        .write("multi.go", &name_func("multi", "multi v1.5.0"))
        .write("sub/sub.go", &name_func("sub", "sub v1.1.0"))
        .write(
            "sub/internal/deep/deep.go",
            &go_file("deep", "// Deep inside sub."),
        )
        .commit("sub v1.1.0", "2024-01-02T10:00:00Z")
        .tag("sub/v1.1.0")
        .tag("v1.5.0")
        // Untagged work on a branch: pseudo-versions of all three modules,
        // each based on its own (prefixed) tags.
        .branch("next")
        .write("sub/sub.go", &name_func("sub", "sub next"))
        .write("tools/tools.go", &name_func("tools", "tools next"))
        .commit("next", "2024-01-03T10:00:00Z")
        .checkout("main");
}

/// (b): `v2/go.mod` says `M/v2`; v2.0.0 and v1.1.0 tag the same commit.
fn major_subdir(root: &Path) {
    let r = init(root, MAJOR_SUBDIR);
    r.write("go.mod", &go_mod(MAJOR_SUBDIR))
        .write("majorsub.go", &name_func("majorsub", "majorsub v1"))
        .commit("v1", "2024-02-01T10:00:00Z")
        .tag("v1.0.0")
        .write("v2/go.mod", &go_mod(MAJOR_SUBDIR_V2))
        .write("v2/majorsub.go", &name_func("majorsub", "majorsub v2"))
        .commit("v2 in a subdirectory", "2024-02-02T10:00:00Z")
        .tag("v1.1.0")
        .tag("v2.0.0");
}

/// (c): v3 lives on branch `release-v3`, whose root go.mod says `M/v3`.
fn major_branch(root: &Path) {
    let r = init(root, MAJOR_BRANCH);
    r.write("go.mod", &go_mod(MAJOR_BRANCH))
        .write(
            "majorbranch.go",
            &name_func("majorbranch", "majorbranch v1.0.0"),
        )
        .commit("v1", "2024-03-01T10:00:00Z")
        .tag("v1.0.0")
        .branch("release-v3")
        .write("go.mod", &go_mod(MAJOR_BRANCH_V3))
        .write(
            "majorbranch.go",
            &name_func("majorbranch", "majorbranch v3"),
        )
        .commit("v3 on a branch", "2024-03-05T10:00:00Z")
        .tag("v3.0.0")
        .checkout("main")
        .write(
            "majorbranch.go",
            &name_func("majorbranch", "majorbranch v1.1.0"),
        )
        .commit("v1.1.0", "2024-03-10T10:00:00Z")
        .tag("v1.1.0");
}

/// (d) and (j): never a go.mod.
fn incompat(root: &Path) {
    let r = init(root, INCOMPAT);
    for (i, (tag, date)) in [
        ("v1.0.0", "2024-04-01T10:00:00Z"),
        ("v2.0.0", "2024-04-02T10:00:00Z"),
        ("v2.1.0", "2024-04-03T10:00:00Z"),
        ("v3.0.0-rc.1", "2024-04-04T10:00:00Z"),
    ]
    .into_iter()
    .enumerate()
    {
        r.write(
            "incompat.go",
            &name_func("incompat", &format!("incompat {tag}")),
        );
        if i == 0 {
            r.write("doc/README", "No go.mod here, ever.\n");
        }
        r.commit(tag, date).tag(tag);
    }
}

/// (d): v1.0.0 and v2.0.0 without go.mod, then v1.1.0 adds one.
fn incompat_hidden(root: &Path) {
    let r = init(root, INCOMPAT_HIDDEN);
    r.write("hidden.go", &name_func("hidden", "hidden v1.0.0"))
        .commit("v1.0.0", "2024-04-10T10:00:00Z")
        .tag("v1.0.0")
        .write("hidden.go", &name_func("hidden", "hidden v2.0.0"))
        .commit("v2.0.0", "2024-04-11T10:00:00Z")
        .tag("v2.0.0")
        .write("go.mod", &go_mod(INCOMPAT_HIDDEN))
        .write("hidden.go", &name_func("hidden", "hidden v1.1.0"))
        .commit("v1.1.0 with go.mod", "2024-04-12T10:00:00Z")
        .tag("v1.1.0");
}

/// (e): no tags; the tip's committer date has a +02:00 offset.
fn untagged(root: &Path, commits: &mut BTreeMap<String, String>) {
    let r = init(root, UNTAGGED);
    r.write("go.mod", &go_mod(UNTAGGED))
        .write("untagged.go", &name_func("untagged", "untagged first"))
        .commit("first", "2024-05-01T10:00:00Z");
    commits.insert("untagged:first".into(), r.rev_parse("HEAD"));
    r.write("untagged.go", &name_func("untagged", "untagged tip"))
        .commit("tip", "2024-05-02T12:30:00+02:00");
    commits.insert("untagged:tip".into(), r.rev_parse("HEAD"));
}

/// (e): the pseudo-version zoo.
///
/// ```text
/// A  v1.0.0 (lightweight), v1.0 (incomplete), release-1 (not semver)
/// B  v1.2.3 (annotated, tagged later than committed), v1.2.2 (lightweight)
/// |\
/// | F  branch feature (not merged)
/// C  author date months before its committer date
/// D  v1.3.0-beta.1 (annotated)
/// E  main
/// ```
fn pseudo(root: &Path, commits: &mut BTreeMap<String, String>) {
    let r = init(root, PSEUDO);
    let mut mark = |name: &str, r: &Repo| {
        commits.insert(format!("pseudo:{name}"), r.rev_parse("HEAD"));
    };
    r.write("go.mod", &go_mod(PSEUDO))
        .write("pseudo.go", &name_func("pseudo", "pseudo A"))
        .commit("A", "2024-06-01T10:00:00Z")
        .tag("v1.0.0")
        .tag("v1.0")
        .tag("release-1");
    mark("A", &r);
    r.write("pseudo.go", &name_func("pseudo", "pseudo B"))
        .commit("B", "2024-06-02T10:00:00Z")
        .annotated_tag("v1.2.3", "release v1.2.3", "2024-07-15T08:00:00Z")
        .tag("v1.2.2");
    mark("B", &r);
    r.branch("feature")
        .write(
            "feature.go",
            &go_file("pseudo", "// Only on the feature branch."),
        )
        .commit("F", "2024-06-04T10:00:00Z");
    mark("F", &r);
    r.checkout("main")
        .write("pseudo.go", &name_func("pseudo", "pseudo C"))
        .commit_dated("C", "2024-01-01T00:00:00Z", "2024-06-03T10:00:00Z");
    mark("C", &r);
    r.write("pseudo.go", &name_func("pseudo", "pseudo D"))
        .commit("D", "2024-06-05T10:00:00Z")
        .annotated_tag("v1.3.0-beta.1", "beta", "2024-06-05T11:00:00Z");
    mark("D", &r);
    r.write("pseudo.go", &name_func("pseudo", "pseudo E"))
        .commit("E", "2024-06-06T10:00:00-07:00");
    mark("E", &r);
}

/// (f): vendor directories, at the root and nested.
fn vendored(root: &Path) {
    let r = init(root, VENDORED);
    r.write("go.mod", &go_mod(VENDORED))
        .write("vendored.go", &name_func("vendored", "vendored v1.0.0"))
        .write(
            "vendor/modules.txt",
            "# example.com/x v1.0.0\n## explicit\nexample.com/x\n",
        )
        .write("vendor/example.com/x/x.go", &go_file("x", "// Vendored."))
        .write(
            "pkg/pkg.go",
            &go_file(
                "pkg",
                "// Doc: this package has a vendor directory.\nconst Doc = \"pkg\"",
            ),
        )
        .write("pkg/vendor/y.go", &go_file("vendor", "// y"))
        .write("pkg/vendor/z/z.go", &go_file("z", "// z"))
        .commit("vendor", "2024-07-01T10:00:00Z")
        .tag("v1.0.0");
}

/// (g): .gitattributes that `git archive` would act on, and (i) again: the
/// root LICENSE is converted to CRLF by `git archive` (root module) but
/// copied raw into `sub` (the go command reads it with `git cat-file`).
fn attrs(root: &Path) {
    let r = init(root, ATTRS);
    r.write(
        ".gitattributes",
        "ignored.txt export-ignore\n\
         sub/ignored.txt export-ignore\n\
         subst.txt export-subst\n\
         crlf.txt text eol=crlf\n\
         ident.txt ident\n\
         LICENSE text eol=crlf\n",
    )
    .write("go.mod", &go_mod(ATTRS))
    .write("attrs.go", &name_func("attrs", "attrs v1.0.0"))
    .write("ignored.txt", "export-ignore would drop me.\n")
    .write("subst.txt", "commit $Format:%H$\n")
    .write("crlf.txt", "line one\nline two\n")
    .write("ident.txt", "$Id$\n")
    .write("LICENSE", "Root licence,\nwith LF line endings in git.\n")
    .write("sub/go.mod", &go_mod(ATTRS_SUB))
    .write("sub/sub.go", &name_func("sub", "attrs/sub v1.0.0"))
    .write("sub/ignored.txt", "export-ignore would drop me too.\n")
    .commit("attributes", "2024-08-01T10:00:00Z")
    .tag("v1.0.0")
    .tag("sub/v1.0.0");
}

/// (h): symbolic links, to a file and to a directory.
fn links(root: &Path) {
    let r = init(root, LINKS);
    r.write("go.mod", &go_mod(LINKS))
        .write("links.go", &name_func("links", "links v1.0.0"))
        .write("pkg/pkg.go", &go_file("pkg", "// Real."))
        .symlink("alias.go.txt", "links.go")
        .symlink("pkglink", "pkg")
        .symlink("dangling", "nowhere")
        .commit("links", "2024-09-01T10:00:00Z")
        .tag("v1.0.0");
}

/// (k): `A.go` and `a.go` at v1.0.0.
fn collide(root: &Path) {
    let r = init(root, COLLIDE);
    r.write("go.mod", &go_mod(COLLIDE))
        .write("a.go", &go_file("collide", "func A() {}"))
        .write("A.go", &go_file("collide", "func B() {}"))
        .commit("collision", "2024-10-01T10:00:00Z")
        .tag("v1.0.0")
        .remove("A.go")
        .commit("no collision", "2024-10-02T10:00:00Z")
        .tag("v1.1.0");
}

/// (l): the go.mod declares another path.
fn mismatch(root: &Path) {
    let r = init(root, MISMATCH);
    r.write("go.mod", &go_mod(MISMATCH_DECLARED))
        .write("other.go", &go_file("other", "// Elsewhere."))
        .commit("mismatch", "2024-11-01T10:00:00Z")
        .tag("v1.0.0");
}

/// (m): upper case, a tag and an untagged tip.
fn upper(root: &Path, commits: &mut BTreeMap<String, String>) {
    let r = init(root, UPPER);
    r.write("go.mod", &go_mod(UPPER))
        .write("upper.go", &name_func("upper", "Upper v1.0.0"))
        .write("Docs/README.md", "Upper-case directory names are fine.\n")
        .commit("v1.0.0", "2024-12-01T10:00:00Z")
        .tag("v1.0.0")
        .write("upper.go", &name_func("upper", "Upper tip"))
        .commit("tip", "2024-12-02T10:00:00Z");
    commits.insert("upper:tip".into(), r.rev_parse("HEAD"));
}

fn private(root: &Path) {
    let r = init(root, PRIVATE);
    r.write("go.mod", &go_mod(PRIVATE))
        .write("secret.go", &name_func("secret", "secret v1.0.0"))
        .commit("v1.0.0", "2025-01-01T10:00:00Z")
        .tag("v1.0.0");
}

fn gopkgin(root: &Path) {
    let r = Repo::init(&root.join("modgate-direct/gopkgin"));
    r.write("go.mod", &go_mod(GOPKGIN))
        .write("modgate.go", &name_func("modgate", "gopkg.in v1.0.0"))
        .commit("v1.0.0", "2025-02-01T10:00:00Z")
        .tag("v1.0.0")
        .write("modgate.go", &name_func("modgate", "gopkg.in v1.1.0"))
        .write("extra/extra.go", &go_file("extra", "// More."))
        .commit("v1.1.0", "2025-02-02T10:00:00Z")
        .tag("v1.1.0")
        .write("go.mod", &go_mod("gopkg.in/modgate.v2"))
        .commit("v2.0.0", "2025-02-03T10:00:00Z")
        .tag("v2.0.0");
}

fn corp(root: &Path) {
    let r = Repo::init(&root.join("modgate-corp/widget"));
    r.write("go.mod", &go_mod(CORP))
        .write("widget.go", &name_func("widget", "widget v0.1.0"))
        .commit("v0.1.0", "2025-03-01T10:00:00Z")
        .tag("v0.1.0")
        .write("widget.go", &name_func("widget", "widget v0.2.0"))
        .commit("v0.2.0", "2025-03-02T10:00:00Z")
        .tag("v0.2.0");
}
