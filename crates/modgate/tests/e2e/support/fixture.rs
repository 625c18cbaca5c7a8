//! The shared fixture: local git repositories for a handful of modules, and
//! the GOPROXY tree the go command builds from them in direct mode. That tree
//! (a GOMODCACHE's `cache/download`) carries the true artifacts and hashes
//! that modgate must reproduce.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::git::Repo;
use super::go::{self, Downloaded, Go};
use super::{fresh_dir, scratch};

pub const ALPHA: &str = "github.com/modgate-test/alpha";
pub const BETA: &str = "github.com/modgate-test/beta";
pub const UPPER: &str = "github.com/Modgate-Test/Upper";
pub const GAMMA: &str = "github.com/modgate-test/gamma";
pub const GAMMA_V2: &str = "github.com/modgate-test/gamma/v2";
pub const LEGACY: &str = "github.com/modgate-test/legacy";
pub const UNTAGGED: &str = "github.com/modgate-test/untagged";

/// Every module version the fixture downloads (`untagged` at its pseudo-version).
pub const TARGETS: &[&str] = &[
    "github.com/modgate-test/alpha@v1.0.0",
    "github.com/modgate-test/alpha@v1.1.0",
    "github.com/modgate-test/alpha@v1.2.0-rc.1",
    "github.com/modgate-test/beta@v0.1.0",
    "github.com/modgate-test/beta@v0.2.0",
    "github.com/Modgate-Test/Upper@v1.0.0",
    "github.com/modgate-test/gamma@v1.0.0",
    "github.com/modgate-test/gamma/v2@v2.0.0",
    "github.com/modgate-test/gamma/v2@v2.1.0",
    "github.com/modgate-test/legacy@v1.0.0",
    "github.com/modgate-test/legacy@v2.0.0+incompatible",
    "github.com/modgate-test/untagged@latest",
];

pub struct Fixture {
    /// A GOPROXY tree (`cache/download` layout) with every target.
    pub tree: PathBuf,
    /// What the go command computed in direct mode, per target.
    pub downloads: Vec<Downloaded>,
}

impl Fixture {
    pub fn get() -> &'static Fixture {
        static FIXTURE: OnceLock<Fixture> = OnceLock::new();
        FIXTURE.get_or_init(build)
    }

    pub fn download(&self, path: &str, version: &str) -> &Downloaded {
        self.downloads
            .iter()
            .find(|d| d.path == path && d.version == version)
            .unwrap_or_else(|| panic!("{path}@{version} is not in the fixture"))
    }

    /// The untagged module's pseudo-version.
    pub fn untagged_version(&self) -> &str {
        &self
            .downloads
            .iter()
            .find(|d| d.path == UNTAGGED)
            .expect("untagged module downloaded")
            .version
    }

    /// Every target at its resolved version (`path@version`).
    pub fn resolved_targets(&self) -> Vec<String> {
        self.downloads
            .iter()
            .map(|d| format!("{}@{}", d.path, d.version))
            .collect()
    }
}

fn go_file(pkg: &str, body: &str) -> String {
    format!("package {pkg}\n\n{body}\n")
}

fn build() -> Fixture {
    let repos = scratch().join("repos");
    make_repos(&repos);
    let gitconfig = scratch().join("gitconfig");
    fs_err::write(
        &gitconfig,
        format!(
            "[url \"file://{r}/modgate-test/\"]\n\tinsteadOf = https://github.com/modgate-test/\n\
             [url \"file://{r}/Modgate-Test/\"]\n\tinsteadOf = https://github.com/Modgate-Test/\n\
             [protocol \"file\"]\n\tallow = always\n",
            r = repos.display()
        ),
    )
    .unwrap();
    let go = Go::new("direct")
        .env("GIT_CONFIG_GLOBAL", gitconfig.to_str().unwrap())
        .env("GIT_CONFIG_NOSYSTEM", "1");
    let downloads = go::download(&go, &fresh_dir("fixture-work"), TARGETS);
    assert_eq!(downloads.len(), TARGETS.len());
    Fixture {
        tree: go.modcache().join("cache/download"),
        downloads,
    }
}

fn make_repos(root: &std::path::Path) {
    let alpha = Repo::init(&root.join("modgate-test/alpha"));
    alpha
        .write("go.mod", &format!("module {ALPHA}\n\ngo 1.21\n"))
        .write(
            "alpha.go",
            &go_file("alpha", "func Name() string { return \"alpha v1.0.0\" }"),
        )
        .commit("v1.0.0", "2023-01-01T10:00:00Z")
        .tag("v1.0.0")
        .write(
            "alpha.go",
            &go_file("alpha", "func Name() string { return \"alpha v1.1.0\" }"),
        )
        .write("LICENSE", "Public domain, for tests.\n")
        .commit("v1.1.0", "2023-01-02T10:00:00Z")
        .tag("v1.1.0")
        .write(
            "alpha.go",
            &go_file(
                "alpha",
                "func Name() string { return \"alpha v1.2.0-rc.1\" }",
            ),
        )
        .commit("v1.2.0-rc.1", "2023-01-03T10:00:00Z")
        .tag("v1.2.0-rc.1");

    let beta = Repo::init(&root.join("modgate-test/beta"));
    beta.write("go.mod", &format!("module {BETA}\n\ngo 1.21\n"))
        .write("beta.go", &go_file("beta", "func Name() string { return \"beta v0.1.0\" }"))
        .commit("v0.1.0", "2023-02-01T10:00:00Z")
        .tag("v0.1.0")
        .write(
            "go.mod",
            &format!("module {BETA}\n\ngo 1.21\n\nrequire {ALPHA} v1.1.0\n"),
        )
        .write(
            "beta.go",
            &go_file(
                "beta",
                &format!("import \"{ALPHA}\"\n\nfunc Name() string {{ return \"beta v0.2.0 with \" + alpha.Name() }}"),
            ),
        )
        .write("internal/doc/doc.go", &go_file("doc", "// Nested directories are zipped too."))
        .commit("v0.2.0", "2023-02-02T10:00:00Z")
        .tag("v0.2.0");

    let upper = Repo::init(&root.join("Modgate-Test/Upper"));
    upper
        .write("go.mod", &format!("module {UPPER}\n\ngo 1.21\n"))
        .write(
            "upper.go",
            &go_file("upper", "func Name() string { return \"Upper v1.0.0\" }"),
        )
        .write(
            "README.md",
            "Upper case in a module path is escaped as !u.\n",
        )
        .commit("v1.0.0", "2023-03-01T10:00:00Z")
        .tag("v1.0.0");

    let gamma = Repo::init(&root.join("modgate-test/gamma"));
    gamma
        .write("go.mod", &format!("module {GAMMA}\n\ngo 1.21\n"))
        .write(
            "gamma.go",
            &go_file("gamma", "func Name() string { return \"gamma v1.0.0\" }"),
        )
        .commit("v1.0.0", "2023-04-01T10:00:00Z")
        .tag("v1.0.0")
        .write("go.mod", &format!("module {GAMMA_V2}\n\ngo 1.21\n"))
        .write(
            "gamma.go",
            &go_file("gamma", "func Name() string { return \"gamma v2.0.0\" }"),
        )
        .commit("v2.0.0", "2023-04-02T10:00:00Z")
        .tag("v2.0.0")
        .write(
            "gamma.go",
            &go_file("gamma", "func Name() string { return \"gamma v2.1.0\" }"),
        )
        .commit("v2.1.0", "2023-04-03T10:00:00Z")
        .tag("v2.1.0");

    let legacy = Repo::init(&root.join("modgate-test/legacy"));
    legacy
        .write(
            "legacy.go",
            &go_file("legacy", "func Name() string { return \"legacy v1\" }"),
        )
        .commit("v1.0.0", "2023-05-01T10:00:00Z")
        .tag("v1.0.0")
        .write(
            "legacy.go",
            &go_file("legacy", "func Name() string { return \"legacy v2\" }"),
        )
        .commit("v2.0.0", "2023-05-02T10:00:00Z")
        .tag("v2.0.0");

    let untagged = Repo::init(&root.join("modgate-test/untagged"));
    untagged
        .write("go.mod", &format!("module {UNTAGGED}\n\ngo 1.21\n"))
        .write(
            "untagged.go",
            &go_file("untagged", "func Name() string { return \"untagged\" }"),
        )
        .commit("first", "2023-06-01T10:00:00Z")
        .write(
            "untagged.go",
            &go_file("untagged", "func Name() string { return \"untagged tip\" }"),
        )
        .commit("second", "2023-06-02T10:00:00Z");
}

/// A program importing four fixture modules (and alpha through beta).
const APP_MAIN: &str = r#"package main

import (
	"fmt"

	"github.com/Modgate-Test/Upper"
	"github.com/modgate-test/beta"
	gamma "github.com/modgate-test/gamma/v2"
	"github.com/modgate-test/legacy"
)

func main() {
	fmt.Println(beta.Name(), "|", upper.Name(), "|", gamma.Name(), "|", legacy.Name())
}
"#;

/// A project of the fixture's modules: its go.mod and main.go.
pub fn write_app(dir: &Path) {
    fs_err::write(
        dir.join("go.mod"),
        "module example.com/app\n\ngo 1.21\n\nrequire (\n\
         \tgithub.com/Modgate-Test/Upper v1.0.0\n\
         \tgithub.com/modgate-test/beta v0.2.0\n\
         \tgithub.com/modgate-test/gamma/v2 v2.0.0\n\
         \tgithub.com/modgate-test/legacy v2.0.0+incompatible\n)\n",
    )
    .unwrap();
    fs_err::write(dir.join("main.go"), APP_MAIN).unwrap();
}

/// Builds the app and returns what it prints.
pub fn build_and_run(go: &Go, dir: &Path) -> String {
    go.run(dir, &["build", "-o", "app", "."]);
    let out = std::process::Command::new(dir.join("app"))
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}
