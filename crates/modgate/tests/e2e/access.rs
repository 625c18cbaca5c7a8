//! Who may read and publish what: publishing private modules without git,
//! credentials for upstreams.

use std::path::Path;
use std::process::{Command, Output};

use crate::support::fresh_dir;
use crate::support::go::Go;
use crate::support::mirror::{Behaviour, Mirror};
use crate::support::modgate::{self, Modgate, text};
use crate::support::tls::Ca;

pub(crate) const PRIVATE_DB: &str = "sum.corp.test";
const LIB: &str = "corp.example/lib";

/// `modgate sumdb keygen`: the verifier key for GOSUMDB.
pub(crate) fn private_db(dir: &Path) -> (String, String) {
    let key = dir.join("signer.key");
    let out = modgate::run(
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

/// A module's directory: go.mod and one package returning `answer`.
pub(crate) fn module_dir(module: &str, answer: u32) -> std::path::PathBuf {
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

/// `modgate publish DIR --module M --version V --to URL`.
pub(crate) fn publish(
    dir: &Path,
    module: &str,
    version: &str,
    to: &str,
    env: &[(&str, &str)],
) -> Output {
    modgate::run(
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
pub(crate) fn verifying_go(proxy: &str, vkey: &str) -> Go {
    Go::new(proxy)
        .env("GOSUMDB", vkey)
        .env("GOFLAGS", "-modcacherw -mod=mod")
        .env("GONOSUMDB", "")
        .env("GOPRIVATE", "")
}

pub(crate) fn app(requires: &str) -> std::path::PathBuf {
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
    // ci (an admin: past the rules, to the server's own checks) may
    // publish; everyone may read.
    let auth_file = keys.join("auth.toml");
    auth(&auth_file, &["add-user", "ci", "--admin"], "\n");
    let token = auth(&auth_file, &["add-token", "ci"], "");
    let token = token.lines().last().unwrap().trim().to_owned();
    let mut rules = fs_err::read_to_string(&auth_file).unwrap();
    rules.push_str(concat!(
        "\n[[access]]\npatterns = [\"corp.example/*\"]\nusers = [\"ci\"]\nallow = [\"read\", \"publish\"]\n",
        "\n[[access]]\npatterns = [\"corp.example/*\"]\nusers = [\"anonymous\"]\nallow = [\"read\"]\n",
    ));
    fs_err::write(&auth_file, rules).unwrap();
    let ci = [("MODGATE_TOKEN", token.as_str())];
    let args = [
        "--storage",
        storage.to_str().unwrap(),
        "--upstream",
        "off",
        "--private",
        "corp.example/*",
        "--private-sumdb-key",
        &key,
    ];
    let modgate =
        Modgate::start_args(&[&args[..], &["--auth-file", auth_file.to_str().unwrap()]].concat());
    let lib = module_dir(LIB, 42);
    let out = publish(&lib, LIB, "v1.0.0", &modgate.url, &ci);
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
    let again = publish(&lib, LIB, "v1.0.0", &modgate.url, &ci);
    assert!(again.status.success(), "{}", text(&again));
    assert!(
        text(&again).contains("already published"),
        "{}",
        text(&again)
    );
    let changed = module_dir(LIB, 43);
    let refused = publish(&changed, LIB, "v1.0.0", &modgate.url, &ci);
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
        &ci,
    );
    assert!(
        !out.status.success()
            && text(&out).contains("403")
            && text(&out).contains("not a private module"),
        "{}",
        text(&out)
    );
    let out = publish(&lib, LIB, "v1.0", &modgate.url, &ci);
    assert!(!out.status.success(), "{}", text(&out));
    let bearer = format!("Bearer {token}");
    let garbage = crate::support::http::request_body(
        &modgate.addr,
        "PUT",
        &format!("/{LIB}/@v/v1.1.0.zip"),
        &[("Authorization", bearer.as_str())],
        b"not a zip",
    );
    assert_eq!(garbage.status, 400, "{}", garbage.text());
    let missing = crate::support::http::get(&modgate.addr, &format!("/{LIB}/@v/v1.1.0.info"));
    assert_eq!(missing.status, 404, "nothing of a refused upload is stored");
    assert!(!modgate.logs().contains("panicked"), "{}", modgate.logs());

    // Without an auth file nobody publishes.
    drop(modgate);
    let open = Modgate::start_args(&args);
    let out = publish(&module_dir(LIB, 44), LIB, "v1.2.0", &open.url, &ci);
    assert!(
        !out.status.success() && text(&out).contains("403") && text(&out).contains("auth file"),
        "{}",
        text(&out)
    );
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

/// `modgate auth --auth-file FILE …`, with `stdin` piped in.
/// `modgate auth ARGS --auth-file FILE` with `stdin`: its stdout.
pub(crate) fn auth(file: &Path, args: &[&str], stdin: &str) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_modgate"));
    cmd.arg("auth")
        .args(args)
        .args(["--auth-file", file.to_str().unwrap()]);
    let out = crate::support::output_with_stdin(cmd, stdin);
    assert!(
        out.status.success(),
        "modgate auth {args:?}: {}",
        text(&out)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn netrc_home(addr: &str, login: &str, password: &str) -> std::path::PathBuf {
    let home = fresh_dir("netrc-home");
    fs_err::write(
        home.join(".netrc"),
        format!("machine {addr}\nlogin {login}\npassword {password}\n"),
    )
    .unwrap();
    home
}

/// curl trusting the test CA at `ca`.
fn curl(ca: &Path, args: &[&str]) -> (u16, String) {
    let out = Command::new("curl")
        .args([
            "-s",
            "-o",
            "-",
            "-w",
            "\n%{http_code}",
            "--cacert",
            ca.to_str().unwrap(),
        ])
        .args(args)
        .output()
        .expect("curl is needed (scripts/install-test-deps installs it)");
    let body = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = body.rsplit_once('\n').unwrap();
    (code.parse().unwrap(), body.to_owned())
}

#[test]
fn identities_read_exactly_what_the_rules_give_them() {
    const ALICE_PW: &str = "alice-correct-horse";
    const BOB_PW: &str = "bob-battery-staple";
    let dir = fresh_dir("auth");
    let file = dir.join("auth.toml");
    auth(
        &file,
        &["add-user", "alice", "--groups", "dev"],
        &format!("{ALICE_PW}\n"),
    );
    auth(&file, &["add-user", "bob"], &format!("{BOB_PW}\n"));
    auth(&file, &["add-user", "root", "--admin"], "root-pw\n");
    let out = auth(&file, &["add-token", "alice", "--expires", "30d"], "");
    let token = out.lines().last().unwrap().trim().to_owned();
    assert!(token.starts_with("mgt_"), "{out}");
    let mut text_file = fs_err::read_to_string(&file).unwrap();
    assert!(
        !text_file.contains(&token) && !text_file.contains(ALICE_PW),
        "secrets stored in clear"
    );
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        fs_err::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    text_file.push_str(
        "\n[[access]]\npatterns = [\"corp.example/*\"]\ngroups = [\"dev\"]\nallow = [\"read\", \"publish\"]\n",
    );
    fs_err::write(&file, text_file).unwrap();
    let listed = auth(&file, &["list"], "");
    assert!(
        listed.contains("user  alice") && listed.contains("token "),
        "{listed}"
    );

    let keys = fresh_dir("keys");
    let (key, vkey) = private_db(&keys);
    let mirror = Mirror::serving(crate::support::fixture::Fixture::get().tree.clone());
    let audit = dir.join("audit.log");
    // Over TLS, as the go command sends credentials over https only.
    let test_ca = Ca::new("modgate access CA");
    let issued = test_ca.issue(1);
    let (ca, cert, tls_key) = (
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    );
    fs_err::write(&ca, &test_ca.pem).unwrap();
    fs_err::write(&cert, &issued.cert_pem).unwrap();
    fs_err::write(&tls_key, &issued.key_pem).unwrap();
    let ssl = ("SSL_CERT_FILE", ca.to_str().unwrap());
    let modgate = Modgate::start_args(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        tls_key.to_str().unwrap(),
        "--storage",
        fresh_dir("storage").to_str().unwrap(),
        "--upstream",
        &mirror.url,
        "--private",
        "corp.example/*",
        "--private-sumdb-key",
        &key,
        "--auth-file",
        file.to_str().unwrap(),
        "--audit-log",
        audit.to_str().unwrap(),
    ]);

    // Publishing takes the publish right: alice's token has it, bob not.
    let lib = module_dir(LIB, 7);
    let bob_url = format!("https://bob:{BOB_PW}@{}", modgate.addr);
    let out = publish(&lib, LIB, "v1.0.0", &bob_url, &[ssl]);
    assert!(
        !out.status.success() && text(&out).contains("403"),
        "{}",
        text(&out)
    );
    let out = publish(
        &lib,
        LIB,
        "v1.0.0",
        &modgate.url,
        &[("MODGATE_TOKEN", &token), ssl],
    );
    assert!(out.status.success(), "{}", text(&out));

    // The go command with alice's ~/.netrc entry reads the private module,
    // verified by the private checksum database (also behind the rules).
    let app = app(LIB);
    let netrc =
        |login: &str, password: &str| netrc_home(&modgate.addr, login, password).join(".netrc");
    let alice_netrc = netrc("alice", ALICE_PW);
    let alice = verifying_go(&modgate.url, &vkey)
        .env("SSL_CERT_FILE", ca.to_str().unwrap())
        .env("NETRC", alice_netrc.to_str().unwrap());
    alice.run(&app, &["get", &format!("{LIB}@v1.0.0")]);
    // So does GOPROXY=https://alice:TOKEN@host.
    let with_token = verifying_go(&format!("https://alice:{token}@{}", modgate.addr), &vkey)
        .env("SSL_CERT_FILE", ca.to_str().unwrap());
    with_token.run(&app_dir(), &["mod", "download", &format!("{LIB}@v1.0.0")]);

    // Without credentials go fails with modgate's 401 line.
    let anonymous = verifying_go(&modgate.url, &vkey).env("SSL_CERT_FILE", ca.to_str().unwrap());
    let out = anonymous
        .command(&app_dir(), &["mod", "download", &format!("{LIB}@v1.0.0")])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("401") && err.contains("modgate"),
        "{err}"
    );

    // bob: 403 for the private pattern, public modules still open.
    let bob_netrc = netrc("bob", BOB_PW);
    let bob = Go::new(&modgate.url)
        .env("SSL_CERT_FILE", ca.to_str().unwrap())
        .env("NETRC", bob_netrc.to_str().unwrap());
    let out = bob
        .command(&app_dir(), &["mod", "download", &format!("{LIB}@v1.0.0")])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("403") && err.contains("bob"),
        "{err}"
    );
    assert!(
        err.contains("corp.example/*"),
        "the refusal names the pattern: {err}"
    );
    bob.run(
        &app_dir(),
        &["mod", "download", "github.com/modgate-test/alpha@v1.0.0"],
    );
    // The private database's lookups name private modules: not for bob.
    let (status, _) = curl(
        &ca,
        &[
            "-u",
            &format!("bob:{BOB_PW}"),
            &format!("{}/sumdb/{PRIVATE_DB}/lookup/{LIB}@v1.0.0", modgate.url),
        ],
    );
    assert_eq!(status, 403);

    // A bearer token works with curl; a wrong one, a wrong password and a
    // nonexistent module behind the pattern get the same answers as ever.
    let list = format!("{}/{LIB}/@v/list", modgate.url);
    let (status, body) = curl(
        &ca,
        &["-H", &format!("Authorization: Bearer {token}"), &list],
    );
    assert_eq!((status, body.as_str()), (200, "v1.0.0\n"));
    let (status, body) = curl(&ca, &["-H", "Authorization: Bearer mgt_nope_nope", &list]);
    assert_eq!(status, 401, "{body}");
    let (status, _) = curl(&ca, &["-u", "alice:wrong", &list]);
    assert_eq!(status, 401);
    let hidden = |module: &str| {
        curl(
            &ca,
            &[
                "-u",
                &format!("bob:{BOB_PW}"),
                &format!("{}/{module}/@v/list", modgate.url),
            ],
        )
    };
    let (a, b) = (hidden(LIB), hidden("corp.example/does-not-exist"));
    assert_eq!(a.0, 403);
    assert_eq!(
        a,
        (b.0, b.1.replace("corp.example/does-not-exist", LIB)),
        "a refusal never tells whether the module exists"
    );

    // Admin pages.
    let metrics = format!("{}/metrics", modgate.url);
    assert_eq!(curl(&ca, &[&metrics]).0, 401);
    assert_eq!(
        curl(&ca, &["-u", &format!("alice:{ALICE_PW}"), &metrics]).0,
        403
    );
    let readyz = format!("{}/readyz", modgate.url);
    let (status, body) = curl(&ca, &["-u", &format!("alice:{ALICE_PW}"), &readyz]);
    assert!(
        status == 200 && !body.contains("upstream"),
        "upstream details for a user: {body}"
    );
    let (status, body) = curl(&ca, &["-u", "root:root-pw", &readyz]);
    assert!(
        status == 200 && body.contains("upstream"),
        "upstream details for an admin: {body}"
    );
    let (status, body) = curl(&ca, &["-u", "root:root-pw", &metrics]);
    assert_eq!(status, 200);
    assert!(body.contains("modgate_auth_failures_total"), "{body}");
    for secret in [ALICE_PW, BOB_PW, token.as_str(), "root-pw"] {
        assert!(!body.contains(secret), "a secret in the metrics");
        assert!(!modgate.logs().contains(secret), "a secret in the log");
    }

    // The audit log: who read and published what, from where.
    let audit_text = fs_err::read_to_string(&audit).unwrap();
    let entries: Vec<serde_json::Value> = audit_text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        entries
            .iter()
            .any(|e| e["action"] == "publish" && e["identity"] == "alice" && e["status"] == 201)
    );
    assert!(
        entries
            .iter()
            .any(|e| e["action"] == "publish" && e["identity"] == "bob" && e["status"] == 403)
    );
    assert!(entries.iter().any(|e| e["action"] == "read"
        && e["identity"] == "alice"
        && e["endpoint"] == "zip"
        && e["client"] == "127.0.0.1"));
    for secret in [ALICE_PW, BOB_PW, token.as_str()] {
        assert!(!audit_text.contains(secret), "a secret in the audit log");
    }

    // Revoking the token takes effect without a restart.
    let id = token.split('_').nth(1).unwrap();
    auth(&file, &["revoke", id], "");
    let revoked = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        curl(
            &ca,
            &["-H", &format!("Authorization: Bearer {token}"), &list],
        )
        .0 == 401
    });
    assert!(revoked, "the revoked token still works");
    assert!(!modgate.logs().contains("panicked"));
}

/// `auth add-user` with a closed stdin creates nobody (a user without a
/// password by accident), while an empty line still makes a tokens-only
/// user; `auth list` of a file that is not there is an error, not an empty
/// list with exit 0.
#[test]
fn auth_refuses_a_closed_stdin_and_a_missing_file() {
    let file = fresh_dir("auth-closed").join("auth.toml");
    let run = |args: &[&str], stdin: &str| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_modgate"));
        cmd.arg("auth")
            .args(["--auth-file", file.to_str().unwrap()])
            .args(args);
        crate::support::output_with_stdin(cmd, stdin)
    };
    let closed = run(&["add-user", "mallory"], "");
    assert!(!closed.status.success(), "{}", text(&closed));
    assert!(text(&closed).contains("stdin"), "{}", text(&closed));
    assert!(!file.exists(), "a closed stdin wrote the auth file");

    let tokens_only = run(&["add-user", "ci"], "\n");
    assert!(tokens_only.status.success(), "{}", text(&tokens_only));
    let listed = run(&["list"], "");
    assert!(
        String::from_utf8_lossy(&listed.stdout)
            .contains("user  ci  groups=  admin=false  password=none"),
        "{}",
        text(&listed)
    );

    for missing in [
        "/nonexistent-dir/auth.toml",
        "/tmp/modgate-no-such-auth-file.toml",
    ] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_modgate"));
        cmd.args(["auth", "--auth-file", missing, "list"]);
        let out = crate::support::output_with_stdin(cmd, "");
        assert!(!out.status.success(), "{missing}: {}", text(&out));
        assert!(text(&out).contains(missing), "{}", text(&out));
    }
}
