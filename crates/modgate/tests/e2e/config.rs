//! `modgate config check`: a mistake in the file is named by its line and
//! stops the check; a good file prints every setting with its source and
//! no credential.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support::fresh_dir;
use crate::support::modgate::{run, text};

/// A config file of `lines` (storage first, so nothing defaults to $HOME).
fn config(lines: &str) -> PathBuf {
    let dir = fresh_dir("config");
    let path = dir.join("modgate.toml");
    let storage = dir.join("store");
    std::fs::write(
        &path,
        format!(
            "storage = \"{}\"\nvulndb = \"off\"\n{lines}",
            storage.display()
        ),
    )
    .unwrap();
    path
}

fn check(path: &Path, env: &[(&str, &str)]) -> Output {
    run(
        &["config", "check", "--config", path.to_str().unwrap()],
        env,
    )
}

/// Fails, saying `wants`, with the file's name and line first.
fn assert_refused_at(out: &Output, line: usize, wants: &[&str]) {
    let said = text(out);
    assert!(!out.status.success(), "succeeded: {said}");
    assert!(
        said.contains(&format!("modgate.toml:{line}: ")),
        "no line {line} in: {said}"
    );
    for want in wants {
        assert!(said.contains(want), "no {want:?} in: {said}");
    }
    assert!(!said.contains("panicked"), "{said}");
}

#[test]
fn a_typo_in_a_policy_is_named_by_its_line() {
    let path = config(
        "upstream = \"off\"\n\n[[policy]]\ndeny = [\n  \"retracted\",\n  \"vulnerabel\",\n]\n",
    );
    assert_refused_at(
        &check(&path, &[]),
        8,
        &["vulnerabel", "did you mean \"vulnerable\"?"],
    );
    // A misspelt key of a policy table too.
    let path = config("[[policy]]\ndeni = [\"retracted\"]\n");
    assert_refused_at(&check(&path, &[]), 4, &["deni"]);
}

#[test]
fn a_zero_timeout_is_named_by_its_line() {
    let path = config("listen = \"127.0.0.1:0\"\nconnect_timeout = \"0s\"\n");
    assert_refused_at(
        &check(&path, &[]),
        4,
        &["connect-timeout", "at least 100ms"],
    );
    // The same zero from the environment has no line in the file to name.
    let path = config("");
    let out = check(&path, &[("MODGATE_HEADER_TIMEOUT", "0s")]);
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("--header-timeout"), "{said}");
    assert!(!said.contains("modgate.toml:"), "{said}");
}

#[test]
fn a_bad_duration_is_named_by_its_line() {
    // A bare number: seconds or minutes? The hint says how to write it.
    let path = config("\nidle-timeout = 5\n");
    assert_refused_at(&check(&path, &[]), 4, &["give a unit", "\"5s\""]);
    let path = config("negative_ttl = \"5\"\n");
    assert_refused_at(
        &check(&path, &[]),
        3,
        &["invalid duration \"5\"", "e.g. 5s"],
    );
    let path = config("list_ttl = \"3mo\"\n");
    assert_refused_at(&check(&path, &[]), 3, &["unknown unit \"mo\""]);
    let path = config("cache_dir = \"/tmp/x\"\ncache_max_size = \"20G\"\n");
    assert_refused_at(&check(&path, &[]), 4, &["invalid size \"20G\""]);
}

#[test]
fn a_good_file_prints_every_setting_with_its_source_and_no_password() {
    let path = config(
        "upstream = \"https://alice:hunter2@proxy.corp.example,direct\"\n\
         connect-timeout = \"1m30s\"\n\
         vcs_max_size = \"4GiB\"\n\n\
         [[policy]]\ndeny = [\"retracted\"]\n",
    );
    let out = check(&path, &[("MODGATE_LIST_TTL", "2m")]);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(!said.contains("hunter2"), "password shown: {said}");
    for want in [
        "upstream = https://***@proxy.corp.example,direct  (file)",
        "connect_timeout = 1m30s  (file)",
        "vcs_max_size = 4GiB  (file)",
        "list_ttl = 2m  (MODGATE_LIST_TTL)",
        "header_timeout = 10s  (default)",
        "[[policy]] tables: 1",
    ] {
        assert!(said.contains(want), "no {want:?} in: {said}");
    }
    // A flag beats the file, as for serve.
    let out = run(
        &[
            "config",
            "check",
            "--config",
            path.to_str().unwrap(),
            "--connect-timeout",
            "2s",
        ],
        &[],
    );
    assert!(
        text(&out).contains("connect_timeout = 2s  (flag)"),
        "{}",
        text(&out)
    );
}
