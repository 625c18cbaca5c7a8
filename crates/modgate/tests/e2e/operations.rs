//! HTTP semantics (headers, ranges, validators), health, metrics, shutdown.

use crate::support::fixture::Fixture;
use crate::support::mirror::Mirror;
use crate::support::modgate::Modgate;
use crate::support::{fresh_dir, http};

const ZIP: &str = "/github.com/modgate-test/beta/@v/v0.2.0.zip";

#[test]
fn artifacts_carry_protocol_headers_ranges_and_validators() {
    let fx = Fixture::get();
    let mirror = Mirror::serving(fx.tree.clone());
    let storage = fresh_dir("storage");
    let mut modgate = Modgate::start(&storage, &mirror.url);
    let want = fs_err::read(fx.tree.join("github.com/modgate-test/beta/@v/v0.2.0.zip")).unwrap();

    let zip = http::get(&modgate.addr, ZIP);
    assert_eq!(zip.status, 200, "{}", zip.text());
    assert_eq!(zip.body, want);
    assert_eq!(zip.header("content-type"), Some("application/zip"));
    assert_eq!(
        zip.header("content-length"),
        Some(want.len().to_string().as_str())
    );
    assert_eq!(
        zip.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(zip.header("accept-ranges"), Some("bytes"));
    // A miss is answered before it is stored, with no validator; the stored
    // object has one, and keeps it.
    assert_eq!(zip.header("etag"), None);
    let stored = storage.join("github.com/modgate-test/beta/@v/v0.2.0.ziphash");
    crate::support::eventually(std::time::Duration::from_secs(30), "the stored zip", || {
        stored.exists()
    });
    let hit = http::get(&modgate.addr, ZIP);
    let etag = hit.header("etag").expect("etag").to_owned();
    assert_eq!(
        http::get(&modgate.addr, ZIP).header("etag"),
        Some(etag.as_str())
    );

    let again = http::request(&modgate.addr, "GET", ZIP, &[("If-None-Match", &etag)]);
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());

    let part = http::request(&modgate.addr, "GET", ZIP, &[("Range", "bytes=10-19")]);
    assert_eq!(part.status, 206);
    assert_eq!(part.body, want[10..20]);
    assert_eq!(
        part.header("content-range"),
        Some(format!("bytes 10-19/{}", want.len()).as_str())
    );
    let tail = http::request(&modgate.addr, "GET", ZIP, &[("Range", "bytes=-5")]);
    assert_eq!(tail.body, want[want.len() - 5..]);
    let beyond = format!("bytes={}-", want.len());
    let bad = http::request(&modgate.addr, "GET", ZIP, &[("Range", &beyond)]);
    assert_eq!(bad.status, 416);

    let head = http::request(&modgate.addr, "HEAD", ZIP, &[]);
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("content-length"),
        Some(want.len().to_string().as_str())
    );

    let info = http::get(
        &modgate.addr,
        "/github.com/modgate-test/beta/@v/v0.2.0.info",
    );
    assert_eq!(info.status, 200);
    assert_eq!(info.header("content-type"), Some("application/json"));
    // The mirror's .info, with the Origin go's direct mode recorded, kept.
    let mirrored: serde_json::Value = serde_json::from_slice(
        &fs_err::read(fx.tree.join("github.com/modgate-test/beta/@v/v0.2.0.info")).unwrap(),
    )
    .unwrap();
    let served: serde_json::Value = serde_json::from_str(&info.text()).unwrap();
    assert_eq!(served, mirrored);
    assert!(
        info.text()
            .starts_with(r#"{"Version":"v0.2.0","Time":"2023-02-02T10:00:00Z""#),
        "{}",
        info.text()
    );
    let m = http::get(&modgate.addr, "/github.com/modgate-test/beta/@v/v0.2.0.mod");
    assert_eq!(m.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(
        m.body,
        fs_err::read(fx.tree.join("github.com/modgate-test/beta/@v/v0.2.0.mod")).unwrap()
    );

    let list = http::get(&modgate.addr, "/github.com/modgate-test/beta/@v/list");
    assert_eq!(list.text(), "v0.1.0\nv0.2.0\n");
    assert_eq!(list.header("cache-control"), Some("public, max-age=60"));
    let latest = http::get(&modgate.addr, "/github.com/modgate-test/beta/@latest");
    assert_eq!(latest.header("cache-control"), Some("public, max-age=60"));
    assert!(latest.text().contains(r#""Version":"v0.2.0""#));
    assert!(latest.header("x-request-id").is_some());

    // Health, readiness and metrics.
    assert_eq!(http::get(&modgate.addr, "/healthz").status, 200);
    assert_eq!(http::get(&modgate.addr, "/readyz").status, 200);
    let metrics = http::get(&modgate.addr, "/metrics").text();
    for want in [
        r#"modgate_http_requests_total{endpoint="zip",status="200"}"#,
        r#"modgate_http_requests_total{endpoint="zip",status="304"}"#,
        r#"modgate_cache_hits_total{kind="zip"}"#,
        r#"modgate_cache_misses_total{kind="zip"}"#,
        "modgate_upstream_request_duration_seconds_bucket",
    ] {
        assert!(metrics.contains(want), "metrics lack {want}:\n{metrics}");
    }
    assert!(
        !metrics.contains("modgate-test"),
        "no module paths in labels"
    );

    // SIGTERM: a graceful, successful exit.
    assert!(modgate.stop().success(), "{}", modgate.logs());
}

/// Transparent huge pages stay resident while any byte of them is used:
/// modgate keeps them out, so memory goes back after a burst.
#[test]
fn huge_pages_are_off_for_the_server() {
    let fx = Fixture::get();
    let mirror = Mirror::serving(fx.tree.clone());
    let modgate = Modgate::start(&fresh_dir("storage"), &mirror.url);
    let status = fs_err::read_to_string(format!("/proc/{}/status", modgate.pid())).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("THP_enabled:"))
        .expect("this kernel reports THP_enabled in /proc/PID/status (Linux 5.0 and later)");
    assert_eq!(line.split_whitespace().nth(1), Some("0"), "{line}");
}

#[test]
fn cached_artifacts_survive_a_restart_and_serve_without_upstream() {
    let fx = Fixture::get();
    let storage = fresh_dir("storage");
    let want = fs_err::read(fx.tree.join("github.com/modgate-test/beta/@v/v0.2.0.zip")).unwrap();
    {
        let mirror = Mirror::serving(fx.tree.clone());
        let modgate = Modgate::start(&storage, &mirror.url);
        assert_eq!(http::get(&modgate.addr, ZIP).body, want);
    }
    // The mirror is gone and the address refuses connections.
    let modgate = Modgate::start(&storage, "http://127.0.0.1:9");
    assert_eq!(http::get(&modgate.addr, ZIP).body, want);
    let list = http::get(&modgate.addr, "/github.com/modgate-test/beta/@v/list");
    assert_eq!(list.status, 200, "{}", list.text());
    assert_eq!(list.text(), "v0.2.0\n");
    let missing = http::get(&modgate.addr, "/github.com/modgate-test/beta/@v/v0.1.0.zip");
    assert_eq!(
        missing.status,
        502,
        "upstream failures are a 502: {}",
        missing.text()
    );
}

#[test]
fn credentials_never_reach_answers_or_logs_and_json_logs_parse() {
    let storage = fresh_dir("storage");
    let modgate = Modgate::start_args(&[
        "--storage",
        storage.to_str().unwrap(),
        "--upstream",
        "http://builder:s3cret-token@127.0.0.1:9/go?token=s3cret-query",
        "--log-format",
        "json",
    ]);
    let resp = http::get(&modgate.addr, ZIP);
    assert_eq!(resp.status, 502, "{}", resp.text());
    assert!(resp.text().contains("127.0.0.1:9"), "{}", resp.text());
    let logs = modgate.logs();
    for secret in ["s3cret-token", "s3cret-query"] {
        assert!(
            !resp.text().contains(secret),
            "answer leaks {secret}: {}",
            resp.text()
        );
        assert!(!logs.contains(secret), "logs leak {secret}:\n{logs}");
    }
    let mut lines = 0;
    for line in logs.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(v.get("level").is_some(), "{line}");
        lines += 1;
    }
    assert!(lines > 0);
    assert!(
        logs.contains("request failed"),
        "5xx answers are logged:\n{logs}"
    );
}

/// `--version`, the start-up line and `/metrics` name the same build: the
/// version and the commit it was built from.
#[test]
fn the_build_is_named_alike_everywhere() {
    let out = crate::support::modgate::run(&["--version"], &[]);
    assert!(out.status.success());
    let version = String::from_utf8(out.stdout).unwrap();
    let (commit, date) = version
        .split("(commit ")
        .nth(1)
        .and_then(|rest| rest.trim_end().strip_suffix(')'))
        .and_then(|rest| rest.split_once(", "))
        .map(|(c, d)| (c.to_owned(), d.to_owned()))
        .unwrap_or_else(|| panic!("no commit and date in {version:?}"));
    // The commit's date (YYYY-MM-DD), not the clock's.
    assert!(
        date.len() == 10 && date.bytes().filter(|&b| b == b'-').count() == 2,
        "{version:?}"
    );
    // The tests run in a checkout: the commit is known.
    assert!(
        commit.len() == 12 && commit.bytes().all(|b| b.is_ascii_hexdigit()),
        "{version:?}"
    );
    let storage = fresh_dir("storage");
    let modgate = Modgate::start(&storage, "off");
    let metrics = http::get(&modgate.addr, "/metrics").text();
    assert!(
        metrics.lines().any(|l| l.starts_with("modgate_build_info")
            && l.contains(&format!("commit=\"{commit}\""))
            && l.contains(&format!("date=\"{date}\""))
            && l.ends_with(" 1")),
        "{metrics}"
    );
    assert!(
        modgate.logs().contains(&commit) && modgate.logs().contains(&date),
        "{}",
        modgate.logs()
    );
}

/// Shell completions and the manual page come from the CLI definition, so
/// they name every subcommand; bash's script is valid bash.
#[test]
fn completions_and_the_manual_page_come_from_the_cli() {
    for shell in ["bash", "zsh", "fish"] {
        let out = crate::support::modgate::run(&["completions", shell], &[]);
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        for sub in ["serve", "doctor", "bundle", "publish", "completions"] {
            assert!(script.contains(sub), "{shell}: no {sub}");
        }
        if shell == "bash" {
            let file = fresh_dir("completions").join("modgate.bash");
            fs_err::write(&file, &script).unwrap();
            let check = std::process::Command::new("bash")
                .arg("-n")
                .arg(&file)
                .status()
                .unwrap();
            assert!(check.success(), "bash -n refused the completion script");
        }
    }
    let out = crate::support::modgate::run(&["man"], &[]);
    assert!(out.status.success());
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.contains(".TH modgate 1"), "{page}");
    for sub in ["serve", "gc", "verify", "audit"] {
        assert!(page.contains(sub), "the manual page names no {sub}");
    }
    let bad = crate::support::modgate::run(&["completions", "tcsh"], &[]);
    assert!(!bad.status.success());
}

/// Every 5xx is logged with its cause (the client sees only a line of it),
/// `--access-log` logs answered requests too, and durations are logged in
/// milliseconds with at most two decimals.
#[test]
fn every_5xx_is_logged_with_its_cause_and_the_access_log_logs_the_rest() {
    let failing = Mirror::failing(502);
    let storage = fresh_dir("access-log");
    let modgate = Modgate::start_args(&[
        "--storage",
        storage.to_str().unwrap(),
        "--upstream",
        &failing.url,
        "--access-log",
    ]);
    let bad = http::request(&modgate.addr, "GET", "/example.com/gone/@v/list", &[]);
    assert_eq!(bad.status, 502, "{}", bad.text());
    let ok = http::request(&modgate.addr, "GET", "/healthz", &[]);
    assert_eq!(ok.status, 200);
    let logs = modgate.logs();
    let failed = logs
        .lines()
        .find(|l| l.contains("request failed") && l.contains("/example.com/gone/@v/list"))
        .unwrap_or_else(|| panic!("the 502 is not logged:\n{logs}"));
    let cause = failed
        .split("cause=")
        .nth(1)
        .unwrap_or_else(|| panic!("no cause: {failed}"));
    assert!(
        cause.contains("502") && cause.contains(&failing.url.replace("http://", "")),
        "the cause does not name the upstream's failure: {failed}"
    );
    assert!(
        logs.lines().any(|l| l.contains(" request ")
            && l.contains(" INFO ")
            && l.contains("path=\"/healthz\"")
            && l.contains("status=200")),
        "--access-log did not log the 200:\n{logs}"
    );
    for ms in logs.split(" ms=").skip(1) {
        let ms = ms.split_whitespace().next().unwrap();
        let decimals = ms.split('.').nth(1).map_or(0, str::len);
        assert!(decimals <= 2, "ms={ms}");
    }

    // Without it, answered requests stay at debug level (which the tests'
    // MODGATE_LOG shows).
    let quiet = Modgate::start_args(&["--storage", storage.to_str().unwrap(), "--upstream", "off"]);
    assert_eq!(
        http::request(&quiet.addr, "GET", "/healthz", &[]).status,
        200
    );
    assert!(
        !quiet
            .logs()
            .lines()
            .any(|l| l.contains(" INFO ") && l.contains("path=\"/healthz\"")),
        "{}",
        quiet.logs()
    );
}
