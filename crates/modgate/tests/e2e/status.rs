//! The status page at `/`, loaded in headless Chromium: the DOM it renders
//! holds the upstream table and the counters, and a screenshot is kept.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::fixture::{BETA, Fixture};
use crate::support::go::{Go, download};
use crate::support::mirror::Mirror;
use crate::support::modgate::Modgate;
use crate::support::{fresh_dir, http};

/// Debian's `chromium` (or `MODGATE_TEST_CHROMIUM`); missing, the test
/// fails saying how to install it.
fn chromium() -> PathBuf {
    let path = std::env::var_os("MODGATE_TEST_CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
                .map(|dir| dir.join("chromium"))
                .find(|p| p.exists())
        });
    path.unwrap_or_else(|| {
        panic!(
            "the status page test needs Chromium: run `sudo scripts/install-test-deps` \
             (Debian's chromium) or set MODGATE_TEST_CHROMIUM"
        )
    })
}

/// Headless Chromium on `url` with a fresh profile: `--dump-dom` (the DOM
/// after rendering) or `--screenshot=PATH`.
fn headless(url: &str, mode: &str) -> String {
    let profile = fresh_dir("chromium-profile");
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--window-size=1280,1600",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(mode)
        .arg(url)
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium {mode} {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The text of the element with `id` in serialized DOM (`<dd id="x">text</dd>`).
fn by_id<'a>(dom: &'a str, id: &str) -> &'a str {
    let start = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in the page:\n{dom}"));
    let rest = &dom[start..];
    let text = &rest[rest.find('>').unwrap() + 1..];
    &text[..text.find('<').unwrap()]
}

/// The `<tr data-upstream="NAME">` row's serialized HTML.
fn upstream_row<'a>(dom: &'a str, name: &str) -> &'a str {
    let start = dom
        .find(&format!("data-upstream=\"{name}\""))
        .unwrap_or_else(|| panic!("no row for upstream {name}:\n{dom}"));
    let row = &dom[start..];
    &row[..row.find("</tr>").unwrap()]
}

fn number(text: &str) -> u64 {
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("not a count: {text:?}"))
}

#[test]
fn status_page_shows_upstreams_and_counters_in_a_real_browser() {
    let fx = Fixture::get();
    let good = Mirror::serving(fx.tree.clone());
    let bad = Mirror::failing(500);
    let storage = fresh_dir("storage");
    // The failing mirror first, falling through on any error to the good one.
    let modgate = Modgate::start(&storage, &format!("{}|{}", bad.url, good.url));
    let targets = [format!("{BETA}@v0.1.0"), format!("{BETA}@v0.2.0")];
    let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
    download(&Go::new(&modgate.url), &fresh_dir("app"), &targets);
    // Again from a fresh module cache: every artifact a hit.
    download(&Go::new(&modgate.url), &fresh_dir("app"), &targets);
    // A miss that fails everywhere.
    let missing = http::get(&modgate.addr, "/example.com/nowhere/@v/v1.0.0.mod");
    assert!(missing.status >= 400);

    let url = format!("{}/", modgate.url);
    let dom = headless(&url, "--dump-dom");
    assert!(dom.contains("<h1>modgate status</h1>"), "{dom}");

    let failing = upstream_row(&dom, &bad.url);
    assert!(
        failing.contains("class=\"down\"") || failing.contains("class=\"trying\""),
        "the failing mirror is not up: {failing}"
    );
    assert!(
        failing.contains("failing for") && failing.contains("500"),
        "{failing}"
    );
    // In words, from the explain classifier.
    assert!(
        failing.contains("<em>") && failing.contains("5xx"),
        "{failing}"
    );
    let healthy = upstream_row(&dom, &good.url);
    assert!(healthy.contains("class=\"up\""), "{healthy}");
    assert!(
        healthy.contains("<td class=\"error\">none</td>"),
        "{healthy}"
    );
    assert!(
        healthy.contains(" ms</td>"),
        "latency percentiles: {healthy}"
    );

    assert_eq!(by_id(&dom, "storage-health"), "ok");
    assert_eq!(number(by_id(&dom, "versions")), 2);
    assert_eq!(number(by_id(&dom, "modules")), 1);
    assert!(
        number(by_id(&dom, "objects")) >= 6,
        "info, mod, zip and hash of each"
    );
    let (hits, misses) = (number(by_id(&dom, "hits")), number(by_id(&dom, "misses")));
    assert!(hits >= 6 && misses >= 6, "hits {hits}, misses {misses}");
    let ratio = by_id(&dom, "hit-ratio");
    assert!(ratio.ends_with('%'), "{ratio}");
    assert_eq!(by_id(&dom, "private-log"), "off");
    assert!(
        dom.contains("example.com/nowhere@v1.0.0 mod"),
        "recent misses: {dom}"
    );
    assert!(dom.contains("failed: "), "a failed miss is shown: {dom}");

    let shot = fresh_dir("status-page").join("status.png");
    headless(&url, &format!("--screenshot={}", shot.display()));
    assert_png(&shot);
    eprintln!("status page screenshot: {}", shot.display());
}

fn assert_png(path: &Path) {
    let bytes = fs_err::read(path).unwrap();
    assert!(
        bytes.len() > 1000 && bytes.starts_with(b"\x89PNG"),
        "not a screenshot: {}",
        path.display()
    );
}

#[test]
fn status_page_is_for_admins_when_access_control_is_on() {
    let file = fresh_dir("auth").join("auth.toml");
    let add = |args: &[&str], stdin: &str| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_modgate"));
        cmd.arg("auth")
            .args(args)
            .args(["--auth-file", file.to_str().unwrap()]);
        let out = crate::support::output_with_stdin(cmd, stdin);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    add(&["add-user", "bob"], "bob-pw\n");
    add(&["add-user", "root", "--admin"], "root-pw\n");
    let token = |user: &str| {
        let out = add(&["add-token", user], "");
        format!("Bearer {}", out.lines().last().unwrap().trim())
    };
    let (bob, root) = (token("bob"), token("root"));
    let modgate = Modgate::start_args(&[
        "--storage",
        fresh_dir("storage").to_str().unwrap(),
        "--upstream",
        "off",
        "--auth-file",
        file.to_str().unwrap(),
    ]);
    assert_eq!(http::get(&modgate.addr, "/").status, 401);
    let as_bob = http::request(&modgate.addr, "GET", "/", &[("Authorization", &bob)]);
    assert_eq!(as_bob.status, 403, "{}", as_bob.text());
    let as_root = http::request(&modgate.addr, "GET", "/", &[("Authorization", &root)]);
    assert_eq!(as_root.status, 200);
    assert!(as_root.text().contains("id=\"upstreams\""));
}

/// `direct` and `file://` have no breaker, yet every request may go to
/// them: the page and /readyz list them, with their health.
#[test]
fn status_page_and_readyz_list_direct_and_file_upstreams() {
    let fx = Fixture::get();
    let missing = fresh_dir("gone").join("tree");
    let (tree, gone) = (
        format!("file://{}", fx.tree.display()),
        format!("file://{}", missing.display()),
    );
    let modgate = Modgate::start(&fresh_dir("storage"), &format!("{gone}|{tree},direct"));
    let ready = http::get(&modgate.addr, "/readyz");
    assert_eq!(ready.status, 200, "{}", ready.text());
    let ready = ready.text();
    for line in [
        format!("upstream {tree}: up"),
        format!("upstream {gone}: down"),
        "upstream direct: up".to_owned(),
    ] {
        assert!(ready.contains(&line), "no {line:?} in:\n{ready}");
    }

    let dom = headless(&format!("{}/", modgate.url), "--dump-dom");
    assert!(!dom.contains("none: serving from the cache only"), "{dom}");
    assert!(
        upstream_row(&dom, "direct").contains("class=\"up\""),
        "{dom}"
    );
    assert!(upstream_row(&dom, &tree).contains("class=\"up\""), "{dom}");
    let down = upstream_row(&dom, &gone);
    assert!(
        down.contains("class=\"down\"") && down.contains("is not a directory"),
        "{down}"
    );
}
