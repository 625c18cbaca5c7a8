//! Bad input gets a clear 4xx, never a 5xx, a hang or a file outside the store.

use crate::support::fixture::Fixture;
use crate::support::mirror::Mirror;
use crate::support::modgate::Modgate;
use crate::support::{fresh_dir, http};

const SECRET: &str = "content outside the store";

#[test]
fn malformed_and_traversal_requests_get_4xx() {
    let mirror = Mirror::serving(Fixture::get().tree.clone());
    let storage = fresh_dir("storage");
    // A file next to the store that no request may reach.
    fs_err::write(storage.parent().unwrap().join("secret.zip"), SECRET).unwrap();
    let modgate = Modgate::start(&storage, &mirror.url);
    let long = format!("/{}/@v/list", "a".repeat(5000));
    // Each fits a request line, but no file system holds such a name.
    let long_version = format!(
        "/github.com/modgate-test/alpha/@v/v1.0.0-{}.info",
        "a".repeat(300)
    );
    let long_element = format!("/github.com/{}/alpha/@v/list", "b".repeat(300));
    let deep = format!("/github.com/{}alpha/@v/list", "c/".repeat(2100));
    let cases: &[&str] = &[
        "/../secret.zip",
        "/github.com/modgate-test/alpha/@v/../../../../secret.zip",
        "/github.com/modgate-test/alpha/@v/..%2f..%2f..%2fsecret.zip",
        "/%2e%2e/%2e%2e/secret.zip",
        "/%2E%2E/@v/list",
        "/github.com/modgate-test/alpha/@v/%2e%2e.info",
        "/github.com\\modgate-test/alpha/@v/list",
        "/github.com/modgate-test/alpha%00/@v/list",
        "/github.com/modgate-test/alpha/@v/v1.0.0%00.zip",
        "/github.com/Modgate-Test/Upper/@v/list",
        "/github.com/!modgate-!test/!!upper/@v/list",
        "/github.com/modgate-test/alpha/@v/v1.0.zip",
        "/github.com/modgate-test/alpha/@v/v1.0.0+build.zip",
        "/github.com/modgate-test/alpha/@v/v2.0.0.mod",
        "/github.com/modgate-test/alpha/@v/V1.0.0.info",
        "/github.com/modgate-test/alpha/@v/v1.0.0.tar",
        "/github.com/modgate-test/alpha/@v/v1.0.0",
        "/github.com/modgate-test/alpha/@v/",
        "/github.com/modgate-test/alpha/@latest/extra",
        "/github.com/modgate-test/alpha",
        "/.tmp/@v/list",
        "/-bad/@v/list",
        "/example.com/%ff/@v/list",
        "/x/@v/list",
        &long,
        &long_version,
        &long_element,
        &deep,
    ];
    for path in cases {
        let resp = http::get(&modgate.addr, path);
        assert!(
            (400..500).contains(&resp.status),
            "{path}: want 4xx, got {} {}",
            resp.status,
            resp.text()
        );
        assert!(!resp.text().contains(SECRET), "{path}: {}", resp.text());
        // Client-facing messages never name server paths.
        let storage_path = storage.to_string_lossy();
        assert!(
            !resp.text().contains(&*storage_path),
            "{path}: {}",
            resp.text()
        );
    }
    for method in ["POST", "PUT", "DELETE"] {
        let resp = http::request(
            &modgate.addr,
            method,
            "/github.com/modgate-test/alpha/@v/list",
            &[],
        );
        assert_eq!(resp.status, 405, "{method}");
        assert_eq!(resp.header("allow"), Some("GET, HEAD"));
    }
    // Unknown modules and versions are a plain 404 with a reason.
    for path in [
        "/github.com/modgate-test/alpha/@v/v9.9.9.info",
        "/github.com/modgate-test/alpha/@v/v9.9.9.zip",
        "/github.com/modgate-test/nosuch/@v/list",
        "/github.com/modgate-test/nosuch/@latest",
    ] {
        let resp = http::get(&modgate.addr, path);
        assert_eq!(resp.status, 404, "{path}: {}", resp.text());
        assert_eq!(
            resp.header("content-type"),
            Some("text/plain; charset=utf-8")
        );
        assert!(
            resp.text().starts_with("not found: "),
            "{path}: {}",
            resp.text()
        );
    }
    assert!(!modgate.logs().contains("panicked"), "{}", modgate.logs());
}

/// The first run of `n` words said twice in `text`, if any: a message that
/// repeats its cause ("X: Y: X: Y") or its subject ("git … URL in URL").
fn repeated_phrase(text: &str, n: usize) -> Option<String> {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || matches!(c, ':' | '`' | '"' | '\''))
        .filter(|w| !w.is_empty())
        .collect();
    let mut seen = std::collections::HashSet::new();
    words
        .windows(n)
        .map(|w| w.join(" "))
        .find(|phrase| !seen.insert(phrase.clone()))
}

/// Bad invocations fail with a message that says each thing once.
#[test]
fn error_messages_of_bad_invocations_say_each_thing_once() {
    let dir = fresh_dir("bad-invocations");
    let d = |name: &str| dir.join(name).to_str().unwrap().to_owned();
    fs_err::write(d("bad.toml"), "nonsense\n").unwrap();
    fs_err::write(d("unknown-key.toml"), "upstreams = 'off'\n").unwrap();
    fs_err::write(d("auth.toml"), "users = 3\n").unwrap();
    fs_err::write(d("list"), "not a module version\n").unwrap();
    let storage = d("storage");
    let serve = |extra: &[&str]| {
        let mut args = vec!["serve", "--listen", "127.0.0.1:0", "--storage", &storage];
        args.extend_from_slice(extra);
        args.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()
    };
    let owned = |args: &[&str]| args.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let cases: Vec<Vec<String>> = vec![
        serve(&["--upstream", "bogus"]),
        serve(&["--sumdb", "bogus+x"]),
        serve(&["--auth-file", &d("auth.toml")]),
        serve(&["--auth-file", &d("missing.toml")]),
        serve(&["--config", &d("bad.toml")]),
        serve(&["--config", &d("unknown-key.toml")]),
        serve(&["--config", &d("missing.toml")]),
        serve(&["--tls-cert", &d("missing.pem")]),
        owned(&["serve", "--listen", "127.0.0.1:0", "--storage", "ftp://x/y"]),
        owned(&[
            "prefetch",
            "--proxy",
            "http://127.0.0.1:9",
            "--from",
            &d("missing.sum"),
        ]),
        owned(&[
            "prefetch",
            "--proxy",
            "http://127.0.0.1:9",
            "--from",
            &d("list"),
        ]),
        owned(&["auth", "--auth-file", "/nonexistent-dir/auth.toml", "list"]),
        owned(&["auth", "--auth-file", &d("auth.toml"), "list"]),
        owned(&["gc", "--storage", &d("no-store"), "--unused-for", "30d"]),
        owned(&["verify", "--storage", &d("no-store")]),
        owned(&[
            "bundle",
            "import",
            &d("missing.bundle"),
            "--storage",
            &storage,
        ]),
    ];
    let mut repeated = Vec::new();
    for args in &cases {
        // A case that wrongly starts serving is stopped rather than hung on.
        let out = std::process::Command::new("timeout")
            .arg("20")
            .arg(env!("CARGO_BIN_EXE_modgate"))
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!out.status.success(), "modgate {args:?} succeeded: {said}");
        assert!(
            said.starts_with("modgate: ") || said.contains("error:"),
            "{args:?}: {said}"
        );
        if let Some(phrase) = repeated_phrase(&said, 4) {
            repeated.push(format!(
                "modgate {}: {phrase:?} twice in {said}",
                args.join(" ")
            ));
        }
    }
    assert!(repeated.is_empty(), "{}", repeated.join("\n"));
}
