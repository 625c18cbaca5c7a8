//! Who may read and publish what: publishing private modules without git,
//! credentials for upstreams.

use std::path::Path;
use std::process::{Command, Output};

use crate::support::fresh_dir;
use crate::support::go::Go;
use crate::support::mirror::{Behaviour, Mirror};
use crate::support::modgate::Modgate;

const PRIVATE_DB: &str = "sum.corp.test";
const LIB: &str = "corp.example/lib";

fn modgate_command(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_modgate"))
        .args(args)
        .env_remove("MODGATE_TOKEN")
        .envs(env.iter().copied())
        .output()
        .expect("run modgate")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `modgate sumdb keygen`: the verifier key for GOSUMDB.
fn private_db(dir: &Path) -> (String, String) {
    let key = dir.join("signer.key");
    let out = modgate_command(
        &[
            "sumdb",
            "keygen",
            "--name",
            PRIVATE_DB,
            "--out",
            key.to_str().unwrap(),
        ],
        &[],
    );
    assert!(out.status.success(), "keygen: {}", text(&out));
    let vkey = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    (key.to_str().unwrap().to_owned(), vkey)
}

fn module_dir(module: &str, answer: u32) -> std::path::PathBuf {
    let dir = fresh_dir("published");
    fs_err::write(dir.join("go.mod"), format!("module {module}\n\ngo 1.21\n")).unwrap();
    fs_err::write(
        dir.join("lib.go"),
        format!("package lib\n\nfunc Answer() int {{ return {answer} }}\n"),
    )
    .unwrap();
    fs_err::create_dir_all(dir.join(".git")).unwrap();
    fs_err::write(dir.join(".git/HEAD"), "not part of the module\n").unwrap();
    dir
}

fn publish(dir: &Path, module: &str, version: &str, to: &str, env: &[(&str, &str)]) -> Output {
    modgate_command(
        &[
            "publish",
            dir.to_str().unwrap(),
            "--module",
            module,
            "--version",
            version,
            "--to",
            to,
        ],
        env,
    )
}

/// The go command verifying everything against modgate's own database.
fn verifying_go(proxy: &str, vkey: &str) -> Go {
    Go::new(proxy)
        .env("GOSUMDB", vkey)
        .env("GOFLAGS", "-modcacherw -mod=mod")
        .env("GONOSUMDB", "")
        .env("GOPRIVATE", "")
}

fn app(requires: &str) -> std::path::PathBuf {
    let dir = fresh_dir("app");
    fs_err::write(dir.join("go.mod"), "module example.com/app\n\ngo 1.21\n").unwrap();
    fs_err::write(
        dir.join("main.go"),
        format!(
            "package main\n\nimport \"{requires}\"\n\nfunc main() {{ println(lib.Answer()) }}\n"
        ),
    )
    .unwrap();
    dir
}

#[test]
fn published_versions_are_served_verified_and_never_replaced() {
    let keys = fresh_dir("keys");
    let (key, vkey) = private_db(&keys);
    let storage = fresh_dir("storage");
    let modgate = Modgate::start_args(&[
        "--storage",
        storage.to_str().unwrap(),
        "--upstream",
        "off",
        "--private",
        "corp.example/*",
        "--private-sumdb-key",
        &key,
    ]);
    let lib = module_dir(LIB, 42);
    let out = publish(&lib, LIB, "v1.0.0", &modgate.url, &[]);
    assert!(out.status.success(), "publish: {}", text(&out));
    assert!(
        text(&out).contains(&format!("published {LIB}@v1.0.0 h1:")),
        "{}",
        text(&out)
    );

    // go gets it through modgate, checked by modgate's own database.
    let go = verifying_go(&modgate.url, &vkey);
    let app = app(LIB);
    go.run(&app, &["get", &format!("{LIB}@v1.0.0")]);
    go.run(&app, &["build", "-o", "app", "."]);
    let gosum = fs_err::read_to_string(app.join("go.sum")).unwrap();
    let line = gosum
        .lines()
        .find(|l| l.starts_with(&format!("{LIB} v1.0.0 h1:")))
        .unwrap_or_else(|| panic!("go.sum: {gosum}"));
    assert!(
        text(&out).contains(line.rsplit(' ').next().unwrap()),
        "the hash publish printed"
    );
    let list = crate::support::http::get(&modgate.addr, &format!("/{LIB}/@v/list"));
    assert_eq!(list.text(), "v1.0.0\n");
    let sumdb = crate::support::http::get(
        &modgate.addr,
        &format!("/sumdb/{PRIVATE_DB}/lookup/{LIB}@v1.0.0"),
    );
    assert_eq!(sumdb.status, 200, "{}", sumdb.text());
    assert!(sumdb.text().contains(line), "{}", sumdb.text());
    // The VCS directory of the module tree is not in the zip.
    let zip = crate::support::http::get(&modgate.addr, &format!("/{LIB}/@v/v1.0.0.zip"));
    assert_eq!(zip.status, 200);
    assert!(
        !zip.body.windows(4).any(|w| w == b".git"),
        "a .git entry was zipped"
    );

    // The same bytes again: fine. Other bytes: refused, and nothing changes.
    let again = publish(&lib, LIB, "v1.0.0", &modgate.url, &[]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(
        text(&again).contains("already published"),
        "{}",
        text(&again)
    );
    let changed = module_dir(LIB, 43);
    let refused = publish(&changed, LIB, "v1.0.0", &modgate.url, &[]);
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("409") && text(&refused).contains("versions never change"),
        "{}",
        text(&refused)
    );
    let zip_after = crate::support::http::get(&modgate.addr, &format!("/{LIB}/@v/v1.0.0.zip"));
    assert_eq!(
        zip_after.body, zip.body,
        "a published version never changes"
    );

    // Public module paths cannot be shadowed; bad versions and zips are 4xx.
    let public = module_dir("github.com/someone/lib", 1);
    let out = publish(
        &public,
        "github.com/someone/lib",
        "v1.0.0",
        &modgate.url,
        &[],
    );
    assert!(
        !out.status.success()
            && text(&out).contains("403")
            && text(&out).contains("not a private module"),
        "{}",
        text(&out)
    );
    let out = publish(&lib, LIB, "v1.0", &modgate.url, &[]);
    assert!(!out.status.success(), "{}", text(&out));
    let garbage = crate::support::http::request_body(
        &modgate.addr,
        "PUT",
        &format!("/{LIB}/@v/v1.1.0.zip"),
        &[],
        b"not a zip",
    );
    assert_eq!(garbage.status, 400, "{}", garbage.text());
    let missing = crate::support::http::get(&modgate.addr, &format!("/{LIB}/@v/v1.1.0.info"));
    assert_eq!(missing.status, 404, "nothing of a refused upload is stored");
    assert!(!modgate.logs().contains("panicked"), "{}", modgate.logs());
}

#[test]
fn upstream_credentials_come_from_the_url_or_netrc_and_are_never_logged() {
    let tree = crate::support::fixture::Fixture::get().tree.clone();
    const SECRET: &str = "s3cr3t-pa55";
    // Basic ci:SECRET
    let expected = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("ci:{SECRET}")
        )
    );
    let mirror = Mirror::start(Behaviour {
        root: Some(tree),
        authorization: Some(expected),
        ..Default::default()
    });
    let target = "github.com/modgate-test/alpha@v1.0.0";
    let mirror_authority = mirror.url.trim_start_matches("http://").to_owned();

    // Without credentials the mirror refuses.
    let bare = Modgate::start(&fresh_dir("storage"), &mirror.url);
    let go = Go::new(&bare.url);
    let out = go
        .command(&app_dir(), &["mod", "download", target])
        .output()
        .unwrap();
    assert!(!out.status.success());

    // In the URL.
    let with_userinfo = format!("http://ci:{SECRET}@{mirror_authority}");
    let modgate = Modgate::start(&fresh_dir("storage"), &with_userinfo);
    Go::new(&modgate.url).run(&app_dir(), &["mod", "download", target]);
    assert!(
        !modgate.logs().contains(SECRET),
        "the password is in the log"
    );
    let metrics = crate::support::http::get(&modgate.addr, "/metrics").text();
    assert!(!metrics.contains(SECRET), "the password is in the metrics");

    // From netrc, as go finds it.
    let home = fresh_dir("home");
    fs_err::write(
        home.join(".netrc"),
        format!("machine {mirror_authority}\nlogin ci\npassword {SECRET}\n"),
    )
    .unwrap();
    let modgate = Modgate::start_env(
        &[
            "--storage",
            fresh_dir("storage").to_str().unwrap(),
            "--upstream",
            &mirror.url,
        ],
        &[("HOME", home.to_str().unwrap()), ("NETRC", "")],
    );
    Go::new(&modgate.url).run(&app_dir(), &["mod", "download", target]);
    assert!(!modgate.logs().contains(SECRET));
}

fn app_dir() -> std::path::PathBuf {
    let dir = fresh_dir("app");
    fs_err::write(dir.join("go.mod"), "module example.com/app\n\ngo 1.21\n").unwrap();
    dir
}
