//! `/catalog` and `/index`: what the cache holds, in Athens's and
//! index.golang.org's formats, behind the access rules.

use std::process::Command;

use crate::support::fixture::{ALPHA, Fixture};
use crate::support::go::{Go, download};
use crate::support::mirror::Mirror;
use crate::support::modgate::Modgate;
use crate::support::{fresh_dir, http, output_with_stdin};

fn json(resp: &http::Response) -> serde_json::Value {
    assert_eq!(resp.status, 200, "{}", resp.text());
    serde_json::from_slice(&resp.body).unwrap_or_else(|e| panic!("{e}: {}", resp.text()))
}

/// Every `module@version` of the catalog, page by page.
fn whole_catalog(addr: &str, headers: &[(&str, &str)]) -> (Vec<String>, usize) {
    let (mut all, mut pages, mut token) = (Vec::new(), 0, String::new());
    loop {
        let path = format!("/catalog?pagesize=3&token={token}");
        let page = json(&http::request(addr, "GET", &path, headers));
        pages += 1;
        let modules = page["modules"].as_array().unwrap();
        assert!(modules.len() <= 3, "{page}");
        for m in modules {
            all.push(format!(
                "{}@{}",
                m["module"].as_str().unwrap(),
                m["version"].as_str().unwrap()
            ));
        }
        match page["next"].as_str() {
            Some(next) => token = url_escape(next),
            None => break,
        }
    }
    (all, pages)
}

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A store holding every fixture target.
fn filled_store() -> (std::path::PathBuf, Vec<String>) {
    let fx = Fixture::get();
    let mirror = Mirror::serving(fx.tree.clone());
    let storage = fresh_dir("storage");
    let modgate = Modgate::start(&storage, &mirror.url);
    let targets = fx.resolved_targets();
    let refs: Vec<&str> = targets.iter().map(String::as_str).collect();
    download(&Go::new(&modgate.url), &fresh_dir("app"), &refs);
    let mut targets = targets;
    targets.sort();
    (storage, targets)
}

#[test]
fn catalog_pages_and_index_lines_list_every_cached_version() {
    let (storage, targets) = filled_store();
    let modgate = Modgate::start(&storage, "off");
    let (mut all, pages) = whole_catalog(&modgate.addr, &[]);
    all.sort();
    assert_eq!(all, targets);
    assert_eq!(pages, targets.len().div_ceil(3));

    let index = http::get(&modgate.addr, "/index");
    assert_eq!(index.status, 200, "{}", index.text());
    let lines: Vec<serde_json::Value> = index
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut listed: Vec<String> = lines
        .iter()
        .map(|l| {
            format!(
                "{}@{}",
                l["Path"].as_str().unwrap(),
                l["Version"].as_str().unwrap()
            )
        })
        .collect();
    listed.sort();
    assert_eq!(listed, targets);
    let times: Vec<&str> = lines
        .iter()
        .map(|l| l["Timestamp"].as_str().unwrap())
        .collect();
    let parsed: Vec<jiff::Timestamp> = times.iter().map(|t| t.parse().unwrap()).collect();
    assert!(
        parsed.windows(2).all(|w| w[0] <= w[1]),
        "oldest first: {times:?}"
    );
    // Following from the last Timestamp seen repeats at most what shared it.
    let last = times.last().unwrap();
    let after = http::get(&modgate.addr, &format!("/index?since={}", url_escape(last)));
    let after_lines = after.text().lines().count();
    assert!((1..lines.len()).contains(&after_lines), "{}", after.text());
    assert_eq!(
        http::get(&modgate.addr, "/index?limit=2")
            .text()
            .lines()
            .count(),
        2
    );

    for bad in [
        "/catalog?pagesize=0",
        "/catalog?pagesize=x",
        "/index?limit=99999",
        "/index?since=yesterday",
    ] {
        let resp = http::get(&modgate.addr, bad);
        assert_eq!(resp.status, 400, "{bad}: {}", resp.text());
    }
}

#[test]
fn catalog_and_index_show_only_what_the_identity_may_read() {
    let (storage, targets) = filled_store();
    let file = fresh_dir("auth").join("auth.toml");
    let add = |args: &[&str], stdin: &str| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_modgate"));
        cmd.arg("auth")
            .args(args)
            .args(["--auth-file", file.to_str().unwrap()]);
        let out = output_with_stdin(cmd, stdin);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    add(&["add-user", "alice", "--groups", "dev"], "alice-pw\n");
    add(&["add-user", "bob"], "bob-pw\n");
    let token = |user: &str| {
        add(&["add-token", user], "")
            .lines()
            .last()
            .unwrap()
            .trim()
            .to_owned()
    };
    let (alice, bob) = (token("alice"), token("bob"));
    let mut text = fs_err::read_to_string(&file).unwrap();
    text.push_str(&format!(
        "\n[[access]]\npatterns = [\"{ALPHA}\"]\ngroups = [\"dev\"]\nallow = [\"read\"]\n"
    ));
    fs_err::write(&file, text).unwrap();
    let modgate = Modgate::start_args(&[
        "--storage",
        storage.to_str().unwrap(),
        "--upstream",
        "off",
        "--auth-file",
        file.to_str().unwrap(),
    ]);
    let bearer = |t: &str| format!("Bearer {t}");
    let (alice, bob) = (bearer(&alice), bearer(&bob));
    let (mut seen, _) = whole_catalog(&modgate.addr, &[("Authorization", &alice)]);
    seen.sort();
    assert_eq!(seen, targets, "alice reads everything");
    let public: Vec<String> = targets
        .iter()
        .filter(|t| !t.starts_with(&format!("{ALPHA}@")))
        .cloned()
        .collect();
    for who in [vec![("Authorization", bob.as_str())], vec![]] {
        let (mut seen, _) = whole_catalog(&modgate.addr, &who);
        seen.sort();
        assert_eq!(seen, public, "alpha is dev's only");
        let index = http::request(&modgate.addr, "GET", "/index", &who);
        assert_eq!(index.status, 200);
        assert!(!index.text().contains(ALPHA), "{}", index.text());
        assert_eq!(index.text().lines().count(), public.len());
    }
}
