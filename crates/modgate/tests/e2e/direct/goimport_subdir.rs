//! Go 1.25's go-import fourth field: the module root is that subdirectory
//! of the repository, its tags prefixed with it, exactly as a module that
//! lives in that subdirectory by its path (here through `--repo-map`).
//! Go 1.23 cannot judge this; modgate's own subdirectory module can.

use std::collections::HashMap;

use super::get;
use crate::support::fresh_dir;
use crate::support::modgate::Modgate;
use crate::support::repos::Repos;

const MODULE: &str = "corp.example/sub";
const REPO: &str = "https://github.com/modgate-direct/subdirrepo";

#[test]
fn a_go_import_subdirectory_is_the_module_root() {
    let repo = Repos::get().scratch_repo("subdirrepo");
    repo.write("LICENSE", "The repository's licence.\n")
        .write("root.go", "package root\n")
        .write("sub/go.mod", &format!("module {MODULE}\n\ngo 1.21\n"))
        .write("sub/s.go", "package sub\n\nconst Name = \"sub\"\n")
        .write("sub/inner/i.go", "package inner\n")
        .commit("one", "2025-06-01T10:00:00Z")
        .tag("sub/v1.0.0")
        .tag("v9.0.0");

    // Discovered: the page names the repository and its subdirectory.
    let pages = HashMap::from([(MODULE.to_owned(), format!("{MODULE} git {REPO} sub"))]);
    let proxy = crate::ssrf::page_proxy(pages);
    let proxy_url = format!("http://127.0.0.1:{}", proxy.port);
    let mut env: Vec<(&str, String)> = Repos::get().git_env().into_iter().collect();
    for var in ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"] {
        env.push((var, proxy_url.clone()));
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let discovered = Modgate::start_env(
        &[
            "--storage",
            fresh_dir("storage").to_str().unwrap(),
            "--upstream",
            "direct",
            "--insecure",
            "corp.example",
            "--private",
            "corp.example",
        ],
        &env,
    );
    // Mapped: corp.example is the repository, so corp.example/sub is its
    // subdirectory sub.
    let mapped = super::start(&[
        "--upstream",
        "direct",
        "--repo-map",
        &format!("corp.example={REPO}"),
    ]);

    for rest in [
        "@v/list",
        "@v/v1.0.0.info",
        "@v/v1.0.0.mod",
        "@v/v1.0.0.zip",
        "@latest",
    ] {
        let (a, b) = (get(&discovered, MODULE, rest), get(&mapped, MODULE, rest));
        assert_eq!(
            (a.status, &a.body),
            (200, &b.body),
            "{rest}: through the go-import subdirectory {} {}, mapped {} {}\n{}",
            a.status,
            a.text(),
            b.status,
            b.text(),
            discovered.logs()
        );
    }
    let list = get(&discovered, MODULE, "@v/list").text();
    assert_eq!(list, "v1.0.0\n", "only the subdirectory's tags");
    let info = get(&discovered, MODULE, "@v/v1.0.0.info").text();
    assert!(
        info.contains(r#""Subdir":"sub""#) && info.contains(r#""Ref":"refs/tags/sub/v1.0.0""#),
        "{info}"
    );
    let zip = get(&discovered, MODULE, "@v/v1.0.0.zip").body;
    let names = zip_names(&zip);
    assert_eq!(
        names,
        [
            format!("{MODULE}@v1.0.0/LICENSE"),
            format!("{MODULE}@v1.0.0/go.mod"),
            format!("{MODULE}@v1.0.0/inner/i.go"),
            format!("{MODULE}@v1.0.0/s.go"),
        ],
        "the subdirectory's files (and the root licence), nothing else"
    );
}

fn zip_names(zip: &[u8]) -> Vec<String> {
    let archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    let mut names: Vec<String> = archive
        .file_names()
        .map(|n| n.unwrap().into_owned())
        .collect();
    names.sort();
    names
}
