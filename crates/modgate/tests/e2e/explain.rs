//! `modgate explain` on real go command output, from stdin and from a file.

use std::process::Command;

use serde_json::Value;

use crate::support::fresh_dir;

const OUTPUT: &str = "go: downloading golang.org/x/text v0.14.0
go: golang.org/x/text@v0.14.0: Get \"https://proxy.golang.org/golang.org/x/text/@v/v0.14.0.zip\": dial tcp 142.251.42.17:443: i/o timeout
go: github.com/acme/private@v0.1.0: verifying module: github.com/acme/private@v0.1.0: reading https://sum.golang.org/lookup/github.com/acme/private@v0.1.0: 404 Not Found
\tserver response:
\tnot found: github.com/acme/private@v0.1.0: invalid version: git ls-remote -q origin in /tmp/gopath/pkg/mod/cache/vcs/91b3: exit status 128:
\t\tfatal: could not read Username for 'https://github.com': terminal prompts disabled
go: rsc.io/quote@v1.5.2: missing go.sum entry for go.mod file; to add it:
\tgo mod download rsc.io/quote
";

fn explain(args: &[&str], stdin: &str) -> (Value, bool) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_modgate"));
    cmd.arg("explain").args(args);
    let out = crate::support::output_with_stdin(cmd, stdin);
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    (json, out.status.success())
}

#[test]
fn explain_classifies_go_output_from_stdin() {
    let (json, ok) = explain(&["--json"], OUTPUT);
    assert!(ok);
    let entries = json.as_array().unwrap();
    let categories: Vec<&str> = entries
        .iter()
        .map(|e| e["category"].as_str().unwrap())
        .collect();
    assert_eq!(
        categories,
        // Each failure once, however many lines go spends on it.
        ["connect_timeout", "sumdb_private", "missing_go_sum"],
        "{json:#}"
    );
    for e in entries {
        assert!(OUTPUT.lines().any(|l| l == e["line"]), "{e:#}");
        assert!(e["cause"].as_str().is_some_and(|s| !s.is_empty()));
        assert!(e["fix"].as_str().is_some_and(|s| !s.is_empty()));
    }
}

#[test]
fn explain_reads_a_file_and_prints_text() {
    let file = fresh_dir("explain").join("build.log");
    fs_err::write(
        &file,
        "go: golang.org/x/text: module lookup disabled by GOPROXY=off\n",
    )
    .unwrap();
    let (json, _) = explain(&["--json", file.to_str().unwrap()], "");
    assert_eq!(json[0]["category"], "proxy_off", "{json:#}");

    let out = Command::new(env!("CARGO_BIN_EXE_modgate"))
        .args(["explain", file.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("proxy_off"), "{text}");
    assert!(text.contains("go env -w GOPROXY="), "{text}");

    let out = Command::new(env!("CARGO_BIN_EXE_modgate"))
        .args(["explain", "/nonexistent/build.log"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
}

#[test]
fn explain_prints_an_empty_array_for_clean_output() {
    let (json, ok) = explain(&["--json"], "go: downloading rsc.io/quote v1.5.2\n");
    assert!(ok);
    assert_eq!(json, serde_json::json!([]));
}
