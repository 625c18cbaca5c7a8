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
