//! Operators cannot hurt themselves by accident: gc ages in whole days,
//! maintenance commands that never take a mistyped storage path for an
//! empty store, git mirrors inside a store that verify and gc step over,
//! settings that would silently disable a rule or every upstream refused
//! at start, a bucket that cannot be used refused at start, and git
//! mirrors that heal after a kill -9 in the middle of a first fetch.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::fixture::Fixture;
use crate::support::loopback::closed_port;
use crate::support::modgate::{Modgate, run, text};
use crate::support::repos::Repos;
use crate::support::s3::S3Server;
use crate::support::{files_under, fresh_dir, http};

/// A disk store holding every fixture version (copied with `storage copy`).
fn filled_store() -> PathBuf {
    let storage = fresh_dir("storage");
    let from = Fixture::get().tree.to_str().unwrap().to_owned();
    let out = run(
        &[
            "storage",
            "copy",
            "--storage",
            &from,
            "--to",
            storage.to_str().unwrap(),
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        files_under(&storage).iter().any(|f| f.ends_with(".zip")),
        "nothing copied: {}",
        text(&out)
    );
    storage
}

/// `modgate serve` that must refuse to start: its stderr. Fails if it
/// prints its listening line instead.
fn refused_at_start(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_modgate"))
        .args(["serve", "--listen", "127.0.0.1:0", "--vulndb", "off"])
        .args(args)
        .env_remove("MODGATE_CONFIG")
        .env_remove("MODGATE_STORAGE")
        // Only the credentials a test gives.
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_PROFILE")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    if line.starts_with("modgate listening") {
        let _ = child.kill();
        let out = child.wait_with_output().unwrap();
        panic!(
            "modgate {args:?} started: {line}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

fn assert_failed(out: &Output, wants: &[&str]) -> String {
    let said = text(out);
    assert!(!out.status.success(), "succeeded: {said}");
    for want in wants {
        assert!(said.contains(want), "no {want:?} in: {said}");
    }
    assert!(!said.contains("panicked"), "{said}");
    said
}

// ---------------------------------------------------------------------------
// gc ages

#[test]
fn gc_refuses_ages_shorter_than_a_day_and_zero_and_removes_nothing() {
    let storage = filled_store();
    let before = files_under(&storage);
    let store = storage.to_str().unwrap();
    for age in ["12h", "0d", "500ms", "90m", "1.5d"] {
        let out = run(&["gc", "--storage", store, "--unused-for", age], &[]);
        let said = assert_failed(&out, &["--unused-for", "30d"]);
        assert!(!said.contains("500ms, "), "suggests sub-day units: {said}");
        assert_eq!(
            files_under(&storage),
            before,
            "gc --unused-for {age} removed files"
        );
    }
    // Whole days still work.
    let out = run(
        &["gc", "--storage", store, "--unused-for", "1d", "--dry-run"],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
}

// ---------------------------------------------------------------------------
// Storage paths

#[test]
fn verify_gc_and_copy_refuse_a_storage_path_that_does_not_exist_and_create_nothing() {
    let root = fresh_dir("mistyped");
    let missing = root.join("no-such-store");
    let path = missing.to_str().unwrap();
    let dest = root.join("copy-dest");
    let dest = dest.to_str().unwrap();
    let commands: [&[&str]; 4] = [
        &["verify", "--storage", path, "--sumdb", "off"],
        &["gc", "--storage", path, "--unused-for", "30d"],
        &["gc", "--storage", path, "--max-size", "1GiB", "--dry-run"],
        &["storage", "copy", "--storage", path, "--to", dest],
    ];
    for args in commands {
        let out = run(args, &[]);
        assert_failed(&out, &[path]);
        assert!(
            fs_err::read_dir(&root).unwrap().next().is_none(),
            "modgate {args:?} created {:?}",
            fs_err::read_dir(&root).unwrap().collect::<Vec<_>>()
        );
    }
    // A file is not a store either.
    let file = root.join("a-file");
    fs_err::write(&file, "x").unwrap();
    let out = run(
        &[
            "verify",
            "--storage",
            file.to_str().unwrap(),
            "--sumdb",
            "off",
        ],
        &[],
    );
    assert_failed(&out, &[file.to_str().unwrap()]);
}

/// A bare mirror of a fixture repository at `dir`, as modgate keeps them.
fn git_mirror(dir: &Path) {
    let repos = Repos::get();
    let source = repos.root.join("modgate-direct").join("pseudo");
    let out = Command::new("git")
        .args(["clone", "-q", "--mirror"])
        .arg(&source)
        .arg(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn verify_and_gc_step_over_git_mirrors_inside_the_store() {
    let storage = filled_store();
    // serve's defaults: STORAGE/.vcs on disk; DATA/modgate/vcs for s3 mode,
    // which is inside the default disk store.
    git_mirror(
        &storage
            .join(".vcs")
            .join("0123456789abcdef0123456789abcdef"),
    );
    git_mirror(&storage.join("vcs").join("fedcba9876543210fedcba9876543210"));
    let store = storage.to_str().unwrap();

    let out = run(
        &["verify", "--storage", store, "--sumdb", "off", "--json"],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["zips"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(report["failures"], serde_json::json!([]), "{report}");

    let before = files_under(&storage.join("vcs"));
    let out = run(
        &["gc", "--storage", store, "--max-size", "1B", "--json"],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["removed"].as_array().unwrap().len(),
        report["versions"].as_u64().unwrap() as usize,
        "a 1-byte bound removes every version: {report}"
    );
    assert_eq!(
        files_under(&storage.join("vcs")),
        before,
        "gc touched a mirror"
    );
}

// ---------------------------------------------------------------------------
// Settings refused at start

#[test]
fn a_misspelt_policy_kind_is_refused_at_start_with_the_closest_kind() {
    let config = fresh_dir("config").join("modgate.toml");
    fs_err::write(&config, "[[policy]]\ndeny = [\"vulnerabel\"]\n").unwrap();
    let storage = fresh_dir("storage");
    let stderr = refused_at_start(
        &[
            "--config",
            config.to_str().unwrap(),
            "--storage",
            storage.to_str().unwrap(),
            "--upstream",
            "off",
        ],
        &[],
    );
    assert!(
        stderr.contains("vulnerabel") && stderr.contains("did you mean \"vulnerable\""),
        "{stderr}"
    );
    // A pattern that can match module paths is still a pattern.
    fs_err::write(
        &config,
        "[[policy]]\ndeny = [\"example.com/*@<v1.2.0\", \"*.corp/x\"]\n",
    )
    .unwrap();
    let modgate = Modgate::start_args(&[
        "--config",
        config.to_str().unwrap(),
        "--storage",
        storage.to_str().unwrap(),
        "--upstream",
        "off",
    ]);
    assert_eq!(http::get(&modgate.addr, "/healthz").status, 200);
}

#[test]
fn zero_timeouts_are_refused_at_start() {
    let storage = fresh_dir("storage");
    let store = storage.to_str().unwrap();
    for flag in [
        "--connect-timeout",
        "--header-timeout",
        "--idle-timeout",
        "--breaker-cooldown",
        "--request-header-timeout",
        "--git-timeout",
        "--vulndb-refresh",
    ] {
        let stderr = refused_at_start(&["--storage", store, flag, "0s"], &[]);
        let said = match flag {
            "--git-timeout" => "more than 0",
            _ => "at least 100ms",
        };
        assert!(
            stderr.contains(flag.trim_start_matches('-')) && stderr.contains(said),
            "{flag} 0s: {stderr}"
        );
    }
    // A typo as short as a nanosecond would time every call out.
    let stderr = refused_at_start(&["--storage", store, "--connect-timeout", "1ns"], &[]);
    assert!(
        stderr.contains("connect-timeout must be at least 100ms"),
        "{stderr}"
    );
    let stderr = refused_at_start(&["--storage", store, "--max-connections", "0"], &[]);
    assert!(stderr.contains("max-connections"), "{stderr}");
}

// ---------------------------------------------------------------------------
// S3 checked at start

#[test]
fn a_bucket_that_cannot_be_used_is_refused_at_start() {
    let s3 = S3Server::start();
    let env = s3.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let vcs = fresh_dir("vcs");
    let vcs_args = ["--vcs-dir", vcs.to_str().unwrap()];

    let mut args = vec![
        "--storage",
        "s3://no-such-bucket/cache",
        "--upstream",
        "off",
    ];
    args.extend(&vcs_args);
    let stderr = refused_at_start(&args, &env);
    assert!(
        stderr.contains("bucket \"no-such-bucket\"") && stderr.contains("does not exist"),
        "{stderr}"
    );

    // No credentials anywhere: the metadata service is a closed port here.
    let metadata = format!("http://127.0.0.1:{}", closed_port());
    let no_keys: Vec<(&str, &str)> = env
        .iter()
        .copied()
        .filter(|(k, _)| !k.starts_with("AWS_ACCESS_KEY") && !k.starts_with("AWS_SECRET"))
        .chain([("AWS_METADATA_ENDPOINT", metadata.as_str())])
        .collect();
    let mut args = vec!["--storage", "s3://modgate-test/cache", "--upstream", "off"];
    args.extend(&vcs_args);
    let stderr = refused_at_start(&args, &no_keys);
    assert!(
        stderr.contains("bucket \"modgate-test\"") && stderr.contains("no usable credentials"),
        "{stderr}"
    );
}

// ---------------------------------------------------------------------------
// Git mirrors heal

/// An `uploadpack` for file:// remotes that passes git upload-pack through,
/// except when `MODGATE_TEST_STALL` names a directory: then it stops right
/// after the pack's section header (the client has read the shallow
/// information and holds `shallow.lock`), says so in `DIR/stalled`, and
/// waits to be killed.
const STALLING_UPLOAD_PACK: &str = r#"#!/usr/bin/env python3
import os, subprocess, sys, threading, time
p = subprocess.Popen(["git", "upload-pack"] + sys.argv[1:], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
def feed():
    while True:
        data = os.read(0, 65536)
        if not data:
            break
        p.stdin.write(data)
        p.stdin.flush()
    p.stdin.close()
threading.Thread(target=feed, daemon=True).start()
stall = os.environ.get("MODGATE_TEST_STALL")
seen = b""
marker = b"000dpackfile\n"
while True:
    data = os.read(p.stdout.fileno(), 65536)
    if not data:
        break
    if stall:
        seen += data
        at = seen.find(marker)
        if at >= 0:
            head = data[: len(data) - (len(seen) - at - len(marker))]
            os.write(1, head)
            open(os.path.join(stall, "stalled"), "w").close()
            time.sleep(3600)
        seen = seen[-len(marker):]
    os.write(1, data)
sys.exit(p.wait())
"#;

/// Processes whose parent is `pid`.
fn children(pid: u32) -> Vec<i32> {
    let mut found = Vec::new();
    for entry in fs_err::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid …": comm may hold spaces.
        let Some((_, after)) = stat.rsplit_once(") ") else {
            continue;
        };
        if after.split(' ').nth(1).and_then(|p| p.parse::<u32>().ok()) == Some(pid) {
            found.push(child);
        }
    }
    found
}

/// Whether a process of group `pgid` lives (a zombie holds no files).
fn group_alive(pgid: i32) -> bool {
    fs_err::read_dir("/proc").unwrap().flatten().any(|entry| {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            return false;
        };
        // "pid (comm) state ppid pgrp …"
        let Some((_, after)) = stat.rsplit_once(") ") else {
            return false;
        };
        let mut fields = after.split(' ');
        let state = fields.next();
        fields.nth(1).and_then(|p| p.parse::<i32>().ok()) == Some(pgid) && state != Some("Z")
    })
}

/// The one mirror under `vcs`.
fn mirror_in(vcs: &Path) -> PathBuf {
    let mirrors: Vec<PathBuf> = fs_err::read_dir(vcs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("objects").is_dir())
        .collect();
    assert_eq!(mirrors.len(), 1, "{mirrors:?}");
    mirrors.into_iter().next().unwrap()
}

#[test]
fn a_mirror_killed_during_its_first_fetch_works_after_a_restart_and_fetches_shallow() {
    let repos = Repos::get();
    let module = "github.com/modgate-direct/interrupted";
    let repo = repos.scratch_repo("interrupted");
    repo.write("go.mod", &format!("module {module}\n\ngo 1.21\n"))
        .write("a.go", "package interrupted\n")
        .commit("first", "2025-04-01T10:00:00Z")
        .write("b.go", "package interrupted\n\nconst B = 1\n")
        .commit("v1.0.0", "2025-04-02T10:00:00Z")
        .tag("v1.0.0");

    let scratch = fresh_dir("interrupted");
    let upload_pack = scratch.join("upload-pack");
    fs_err::write(&upload_pack, STALLING_UPLOAD_PACK).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        fs_err::set_permissions(&upload_pack, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let gitconfig = scratch.join("gitconfig");
    fs_err::write(
        &gitconfig,
        format!(
            "[include]\n\tpath = {}\n[remote \"origin\"]\n\tuploadpack = {}\n",
            repos.gitconfig.display(),
            upload_pack.display()
        ),
    )
    .unwrap();
    let stall = scratch.join("stall");
    fs_err::create_dir_all(&stall).unwrap();
    let (storage, vcs) = (fresh_dir("storage"), fresh_dir("vcs"));
    let args = [
        "--storage",
        storage.to_str().unwrap(),
        "--vcs-dir",
        vcs.to_str().unwrap(),
        "--upstream",
        "direct",
    ];
    let info = format!("/{module}/@v/v1.0.0.info");

    let mut modgate = Modgate::start_env(
        &args,
        &[
            ("GIT_CONFIG_GLOBAL", gitconfig.to_str().unwrap()),
            ("GIT_CONFIG_NOSYSTEM", "1"),
            ("MODGATE_TEST_STALL", stall.to_str().unwrap()),
        ],
    );
    // Answered by no one: modgate is killed under it.
    let mut request = std::net::TcpStream::connect(&modgate.addr).unwrap();
    write!(request, "GET {info} HTTP/1.1\r\nHost: modgate\r\n\r\n").unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !stall.join("stalled").exists() {
        assert!(
            Instant::now() < deadline,
            "the fetch never reached the pack: {}",
            modgate.logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // As a container's kill does: modgate and the git it runs, at once.
    let gits = children(modgate.pid());
    assert!(!gits.is_empty(), "no git under modgate");
    modgate.kill9();
    for &git in &gits {
        // SAFETY: kill(2) on a process group we saw modgate start.
        unsafe { libc::kill(-git, libc::SIGKILL) };
    }
    // SIGKILL is delivered, not awaited: a dying git still holds the
    // mirrors' lock, and the next modgate would rightly leave its lock
    // files alone. A container restarts only once all of them are gone.
    let deadline = Instant::now() + Duration::from_secs(30);
    while gits.iter().any(|&g| group_alive(g)) {
        assert!(Instant::now() < deadline, "the killed gits live on");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mirror = mirror_in(&vcs);
    assert!(
        mirror.join("shallow.lock").exists(),
        "the kill left no shallow.lock: the test proves nothing ({:?})",
        files_under(&mirror)
    );

    let modgate = Modgate::start_env(
        &args,
        &repos.git_env().each_ref().map(|(k, v)| (*k, v.as_str())),
    );
    let resp = http::get(&modgate.addr, &info);
    assert_eq!(resp.status, 200, "{}\n{}", resp.text(), modgate.logs());
    let zip = http::get(&modgate.addr, &format!("/{module}/@v/v1.0.0.zip"));
    assert_eq!(zip.status, 200, "{}", zip.text());
    let mirror = mirror_in(&vcs);
    assert!(
        !mirror.join("shallow.lock").exists(),
        "{:?}\n{}",
        files_under(&mirror),
        modgate.logs()
    );
    assert!(
        mirror.join("shallow").exists(),
        "the mirror was fetched whole, not shallow: {}",
        modgate.logs()
    );
    assert!(!modgate.logs().contains("panicked"), "{}", modgate.logs());
}
