//! The real modgate binary, started on a free loopback port.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};

use super::fresh_dir;

pub struct Modgate {
    child: Child,
    /// `127.0.0.1:PORT`
    pub addr: String,
    /// `http://127.0.0.1:PORT`
    pub url: String,
    log: PathBuf,
}

impl Modgate {
    /// `modgate serve` on `storage` with the given upstream list.
    pub fn start(storage: &Path, upstream: &str) -> Self {
        Self::start_args(&[
            "--storage",
            storage.to_str().unwrap(),
            "--upstream",
            upstream,
        ])
    }

    /// `modgate serve --listen 127.0.0.1:0 --sumdb off` plus `args`.
    pub fn start_args(args: &[&str]) -> Self {
        Self::start_env(args, &[])
    }

    /// Like [`Modgate::start_args`], with extra environment variables
    /// (e.g. `GIT_CONFIG_GLOBAL` for the git that direct mode runs).
    pub fn start_env(args: &[&str], env: &[(&str, &str)]) -> Self {
        Self::spawn(&["--sumdb", "off"], args, env)
    }

    /// `modgate serve --listen 127.0.0.1:0` plus `args`: no `--sumdb off`,
    /// so modgate's default checksum database applies unless `args` name one.
    pub fn start_args_raw(args: &[&str]) -> Self {
        Self::spawn(&[], args, &[])
    }

    /// [`Modgate::start_args_raw`] with extra environment variables.
    pub fn start_env_raw(args: &[&str], env: &[(&str, &str)]) -> Self {
        Self::spawn(&[], args, env)
    }

    fn spawn(defaults: &[&str], args: &[&str], env: &[(&str, &str)]) -> Self {
        let log = fresh_dir("modgate-log").join("stderr.log");
        // No test reaches the real vulnerability database: it names its own or none.
        let vulndb: &[&str] = if args.contains(&"--vulndb") {
            &[]
        } else {
            &["--vulndb", "off"]
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_modgate"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(defaults)
            .args(vulndb)
            .args(args)
            .env_remove("MODGATE_CONFIG")
            .env("MODGATE_LOG", "info,modgate=debug")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(fs_err::File::create(&log).unwrap().into_parts().0)
            .spawn()
            .expect("start modgate");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let Some(url) = line.trim().strip_prefix("modgate listening on ") else {
            let _ = child.kill();
            panic!(
                "modgate did not start: {line:?}\n{}",
                fs_err::read_to_string(&log).unwrap_or_default()
            );
        };
        let url = url.to_owned();
        Self {
            addr: url
                .trim_start_matches("http://")
                .trim_start_matches("https://")
                .to_owned(),
            url,
            child,
            log,
        }
    }

    pub fn logs(&self) -> String {
        fs_err::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no chance to clean up.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then wait for a graceful exit.
    pub fn stop(&mut self) -> ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().unwrap()
    }
}

impl Drop for Modgate {
    /// As an operator stops it (SIGTERM): what it answered is stored by the
    /// time it exits. Killed if it has not exited within 10 s.
    fn drop(&mut self) {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: kill(2) on our own child, not yet waited for.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The modgate binary run once with `args` (a client command), outside the
/// go and modgate settings of the environment running the tests, plus `env`.
pub fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_modgate"))
        .args(args)
        .env_remove("GOPROXY")
        .env_remove("GOSUMDB")
        .env_remove("MODGATE_STORAGE")
        .env_remove("MODGATE_TOKEN")
        .envs(env.iter().copied())
        .output()
        .expect("run modgate")
}

/// What a command printed: stdout, then stderr.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
