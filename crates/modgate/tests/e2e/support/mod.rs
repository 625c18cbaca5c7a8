//! Helpers for the end-to-end tests: the real go command, the real modgate
//! binary, local git repositories and local mirrors, all on loopback.

pub mod checksum_db;
pub mod faulty;
pub mod fixture;
pub mod git;
pub mod go;
pub mod http;
pub mod loopback;
pub mod mirror;
pub mod modgate;
pub mod relay;
pub mod repos;
pub mod s3;
pub mod terminal;
pub mod tls;
pub mod vulndb;

use std::path::PathBuf;
use std::sync::OnceLock;

/// A scratch directory kept for the whole test run (fixtures are shared).
pub fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        tempfile::Builder::new()
            .prefix("modgate-e2e-")
            .tempdir()
            .expect("create scratch dir")
            .keep()
    })
}

/// A fresh directory inside the scratch directory.
pub fn fresh_dir(name: &str) -> PathBuf {
    tempfile::Builder::new()
        .prefix(&format!("{name}-"))
        .tempdir_in(scratch())
        .expect("create dir")
        .keep()
}

/// Polls `check` until it holds, for at most `limit` (what happens behind
/// an answer: storing a miss, a background refresh).
pub fn eventually(limit: std::time::Duration, what: &str, mut check: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !check() {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Every regular file under `dir`, as paths relative to it, sorted.
pub fn files_under(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_owned()];
    while let Some(d) = dirs.pop() {
        for entry in fs_err::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                out.push(path.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

/// Runs `cmd` with `stdin` written to its standard input; its output.
pub fn output_with_stdin(mut cmd: std::process::Command, stdin: &str) -> std::process::Output {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}
