//! GOAUTH for modgate's own client commands, read as Go 1.24's go command
//! reads it: a command printing URL prefixes and headers, netrc (the
//! default), and `off` (a clear 401). Credentials never show in output.

use std::process::Output;

use crate::access::auth;
use crate::support::fixture::{ALPHA, Fixture};
use crate::support::fresh_dir;
use crate::support::mirror::Mirror;
use crate::support::modgate::{self, Modgate, text};
use crate::support::vulndb;

const PASSWORD: &str = "goauth-s3cret";

/// A modgate that answers only user ci (password [`PASSWORD`]), and its
/// upstream.
fn guarded_modgate() -> (Modgate, Mirror) {
    let dir = fresh_dir("goauth");
    let file = dir.join("auth.toml");
    auth(&file, &["add-user", "ci"], &format!("{PASSWORD}\n"));
    let rules = fs_err::read_to_string(&file)
        .unwrap()
        .replace("public = \"anonymous\"", "public = \"authenticated\"");
    fs_err::write(&file, rules).unwrap();
    let mirror = Mirror::serving(Fixture::get().tree.clone());
    let modgate = Modgate::start_args(&[
        "--storage",
        fresh_dir("storage").to_str().unwrap(),
        "--upstream",
        &mirror.url,
        "--auth-file",
        file.to_str().unwrap(),
    ]);
    (modgate, mirror)
}

/// `modgate ARGS` with only `env` (and a fresh HOME without a .netrc).
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let home = fresh_dir("goauth-home");
    let mut all = vec![("HOME", home.to_str().unwrap().to_owned())];
    all.extend(env.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let all: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
    modgate::run(args, &[&[("GOAUTH", ""), ("NETRC", "")], &all[..]].concat())
}

fn prefetch(modgate: &Modgate, env: &[(&str, &str)]) -> Output {
    let list = fresh_dir("goauth-list").join("versions.txt");
    fs_err::write(&list, format!("{ALPHA}@v1.0.0\n")).unwrap();
    run(
        &[
            "prefetch",
            "--from",
            list.to_str().unwrap(),
            "--proxy",
            &modgate.url,
        ],
        env,
    )
}

fn audit(modgate: &Modgate, env: &[(&str, &str)]) -> Output {
    let app = fresh_dir("goauth-app");
    fs_err::write(
        app.join("go.mod"),
        format!("module example.com/app\n\ngo 1.21\n\nrequire {ALPHA} v1.0.0\n"),
    )
    .unwrap();
    let db = fresh_dir("goauth-vulndb");
    vulndb::write(&db, &[], "2025-01-01T00:00:00Z");
    let db_server = Mirror::serving(db);
    run(
        &[
            "audit",
            app.to_str().unwrap(),
            "--proxy",
            &modgate.url,
            "--vulndb",
            &db_server.url,
        ],
        env,
    )
}

fn assert_ok(what: &str, out: &Output) {
    assert!(out.status.success(), "{what}: {}", text(out));
    assert!(!text(out).contains(PASSWORD), "{what} shows the password");
}

#[test]
fn client_commands_take_credentials_from_goauth() {
    let (modgate, _upstream) = guarded_modgate();
    let authority = modgate.url.trim_start_matches("http://").to_owned();

    // Anonymous: refused, and the message says why.
    for (what, out) in [
        ("prefetch", prefetch(&modgate, &[("GOAUTH", "off")])),
        ("audit", audit(&modgate, &[("GOAUTH", "off")])),
    ] {
        assert!(!out.status.success(), "{what} without credentials");
        let said = text(&out);
        assert!(
            said.contains("401") && said.contains("GOAUTH=off: no credentials were sent"),
            "{what}: {said}"
        );
    }

    // A GOAUTH command: it prints a prefix and its headers.
    let dir = fresh_dir("goauth-cmd");
    let script = dir.join("creds.sh");
    let basic = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("ci:{PASSWORD}"),
    );
    fs_err::write(
        &script,
        format!(
            "#!/bin/sh\nprintf 'http://{authority}/\\n\\nAuthorization: Basic {basic}\\n\\n'\n"
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    fs_err::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let command = [("GOAUTH", script.to_str().unwrap())];
    assert_ok(
        "prefetch with a GOAUTH command",
        &prefetch(&modgate, &command),
    );
    assert_ok("audit with a GOAUTH command", &audit(&modgate, &command));

    // netrc, GOAUTH's default.
    let netrc = dir.join("netrc");
    fs_err::write(
        &netrc,
        format!("machine {authority}\nlogin ci\npassword {PASSWORD}\n"),
    )
    .unwrap();
    let netrc_env = [("NETRC", netrc.to_str().unwrap())];
    assert_ok("prefetch with netrc", &prefetch(&modgate, &netrc_env));
    assert_ok("audit with netrc", &audit(&modgate, &netrc_env));

    // A malformed GOAUTH is refused up front.
    let out = audit(&modgate, &[("GOAUTH", "off;netrc")]);
    assert!(
        !out.status.success() && text(&out).contains("GOAUTH=off cannot be combined"),
        "{}",
        text(&out)
    );
}

/// `doctor` probes the GOPROXY with GOAUTH's credentials.
#[test]
fn doctor_probes_with_goauth_credentials() {
    let (modgate, _upstream) = guarded_modgate();
    let authority = modgate.url.trim_start_matches("http://").to_owned();
    let netrc = fresh_dir("goauth-doctor").join("netrc");
    fs_err::write(
        &netrc,
        format!("machine {authority}\nlogin ci\npassword {PASSWORD}\n"),
    )
    .unwrap();
    let probe = |goauth: &str| {
        let out = run(
            &["doctor", "--json", "--timeout", "5s"],
            &[
                ("GOPROXY", &format!("{},off", modgate.url)),
                ("GOSUMDB", "off"),
                ("GOENV", "off"),
                ("GOAUTH", goauth),
                ("NETRC", netrc.to_str().unwrap()),
            ],
        );
        let report: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("doctor --json: {e}: {}", text(&out)));
        assert!(!text(&out).contains(PASSWORD), "doctor shows the password");
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["target"] == modgate.url.as_str())
            .cloned()
            .unwrap_or_else(|| panic!("no check of {}: {report}", modgate.url))
    };
    let with = probe("netrc");
    assert_eq!(with["status"], "ok", "{with}");
    let without = probe("off");
    assert_ne!(without["status"], "ok", "{without}");
    assert!(without.to_string().contains("401"), "{without}");
}
