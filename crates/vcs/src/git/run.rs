//! Running git: its environment, the process limit, timeouts and logging.

use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use modgate_redact::Chain;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::sync::Semaphore;

use super::{GitFailure, VcsError, redact};

/// Enough of git's stderr for any message; the rest is read and dropped.
const STDERR_MAX: u64 = 64 << 10;

/// Variables that would point git at another repository than the mirror.
const REPO_LOCATION_VARS: &[&str] = &[
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
];

pub struct Runner {
    permits: Semaphore,
    timeout: Duration,
}

/// The transports git may use for a URL a request chose (git's names:
/// `git+ssh://` is `ssh`): never `file`, `ext`, `git`, `http` or a helper.
const GUARDED_PROTOCOLS: &str = "https:ssh";

/// One git command line in one repository.
pub struct Cmd<'a> {
    /// The bare repository (`GIT_DIR`).
    pub dir: &'a Path,
    /// The repository's redacted URL, for messages.
    pub url: &'a str,
    pub args: &'a [&'a str],
    /// The URL is one a request chose: git may use https and ssh only.
    pub guarded: bool,
    /// Shorter than the runner's timeout, if set.
    pub timeout: Option<Duration>,
    /// A descriptor git keeps open (modgate's lock of the mirrors, for a
    /// command that writes one).
    pub inherit: Option<std::os::fd::RawFd>,
}

impl Cmd<'_> {
    /// The command line for logs and errors, as go's `RunError` shows it.
    pub fn display(&self) -> String {
        let line = redact(&format!("git {}", self.args.join(" ")));
        // `git ls-remote -- URL` names its URL already.
        if line.contains(self.url) {
            line
        } else {
            format!("{line} in {}", self.url)
        }
    }

    /// The error for a command that exited unsuccessfully: what git said
    /// is logged, and the error has modgate's words for it.
    pub fn failed(&self, finished: &Finished) -> VcsError {
        match self.failure(finished) {
            GitFailure::Corrupt => VcsError::Corrupt {
                command: self.display(),
            },
            failure => VcsError::Git {
                command: self.display(),
                detail: failure.to_string(),
            },
        }
    }

    /// Classifies and logs what git said.
    pub fn failure(&self, finished: &Finished) -> GitFailure {
        let failure = GitFailure::classify(&finished.stderr);
        tracing::info!(command = %self.display(), status = %finished.status, stderr = ?finished.detail(), %failure, "git failed");
        failure
    }
}

pub struct Finished {
    pub status: ExitStatus,
    /// Bytes git wrote to stdout; more than the limit given means it was killed.
    pub stdout_len: u64,
    pub stderr: String,
}

impl Finished {
    /// Stderr fit for a message: trimmed, credentials removed.
    pub fn detail(&self) -> String {
        let detail = redact(self.stderr.trim());
        if detail.is_empty() {
            format!("git exited with {}", self.status)
        } else {
            detail
        }
    }
}

/// A finished command whose stdout was collected.
pub struct Collected {
    pub finished: Finished,
    pub stdout: Vec<u8>,
}

impl Runner {
    pub fn new(max_processes: usize, timeout: Duration) -> Self {
        Self {
            // Zero permits would wait forever.
            permits: Semaphore::new(max_processes.max(1)),
            timeout,
        }
    }

    /// Longest run of one command.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Runs `cmd` to the end and collects its stdout, whatever its exit status.
    pub async fn collect(&self, cmd: &Cmd<'_>) -> Result<Collected, VcsError> {
        let mut stdout = Vec::new();
        let finished = self.run(cmd, &mut stdout, u64::MAX).await?;
        Ok(Collected { finished, stdout })
    }

    /// Runs `cmd` to the end, or until it has written more than `max` bytes
    /// to `out` (then it is killed and `stdout_len` says so).
    pub async fn run(
        &self,
        cmd: &Cmd<'_>,
        out: &mut (dyn AsyncWrite + Unpin + Send),
        max: u64,
    ) -> Result<Finished, VcsError> {
        let timeout = cmd.timeout.map_or(self.timeout, |t| t.min(self.timeout));
        self.exec(command(cmd), &cmd.display(), timeout, out, max)
            .await
            .map_err(|e| match e {
                // current_dir() failing reports NotFound too.
                Exec::NotFound(e) if !cmd.dir.is_dir() => VcsError::Io(e),
                Exec::NotFound(_) => VcsError::GitNotFound,
                Exec::Failed(e) => e,
            })
    }

    /// Runs `command` (any program, set up as [`command`] sets up git: its
    /// own process group, piped output) under the same process limit: to the
    /// end, for at most `timeout`, or until it has written more than `max`
    /// bytes to `out`. `display` names it in logs and errors.
    pub async fn exec(
        &self,
        mut command: tokio::process::Command,
        display: &str,
        timeout: Duration,
        out: &mut (dyn AsyncWrite + Unpin + Send),
        max: u64,
    ) -> Result<Finished, Exec> {
        let _permit = self.permits.acquire().await.expect("never closed");
        let timeout = timeout.min(self.timeout);
        let shown = display;
        let started = Instant::now();
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Exec::NotFound(e)),
            Err(e) => return Err(Exec::Failed(e.into())),
        };
        let mut stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let work = async {
            let copy = async {
                let copied =
                    tokio::io::copy(&mut (&mut stdout).take(max.saturating_add(1)), out).await;
                if !matches!(copied, Ok(n) if n <= max) {
                    // Stop it now: left alone it would block on a full pipe.
                    let _ = child.start_kill();
                }
                copied
            };
            let (copied, stderr) = tokio::join!(copy, read_capped(stderr));
            let status = child.wait().await?;
            Ok::<_, std::io::Error>(Finished {
                status,
                stdout_len: copied?,
                stderr: String::from_utf8_lossy(&stderr).into_owned(),
            })
        };
        let result = tokio::time::timeout(timeout, work).await;
        let elapsed = started.elapsed();
        match result {
            Ok(Ok(finished)) => {
                tracing::debug!(command = %shown, ?elapsed, status = %finished.status, "vcs command");
                Ok(finished)
            }
            Ok(Err(e)) => {
                tracing::debug!(command = %shown, ?elapsed, error = %Chain(&e), "vcs command");
                Err(Exec::Failed(e.into()))
            }
            Err(_) => {
                kill_group(&child);
                let _ = child.start_kill();
                tracing::debug!(command = %shown, ?elapsed, "vcs command timed out");
                Err(Exec::Failed(VcsError::Timeout {
                    command: display.to_owned(),
                    after: timeout,
                }))
            }
        }
    }
}

/// Why [`Runner::exec`] failed.
pub enum Exec {
    /// The program (or the directory to run it in) is not there.
    NotFound(std::io::Error),
    Failed(VcsError),
}

/// `git` with `cmd`'s arguments in its repository, in the environment every
/// git modgate runs gets: no prompts, English messages, its own process
/// group, killed when dropped.
pub fn command(cmd: &Cmd<'_>) -> tokio::process::Command {
    let mut command = tokio::process::Command::new("git");
    command
        .args(cmd.args)
        .current_dir(cmd.dir)
        // As go does: also works under safe.bareRepository=explicit.
        .env("GIT_DIR", cmd.dir)
        // Nobody is at the terminal of a server: fail instead of asking.
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GCM_INTERACTIVE", "never")
        // English messages, which classify() matches.
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so a timeout ends git's helpers
        // (remote-https, ssh, credential helpers) with it.
        .process_group(0)
        .kill_on_drop(true);
    for var in REPO_LOCATION_VARS {
        command.env_remove(var);
    }
    if let Some(fd) = cmd.inherit {
        // SAFETY: fcntl(2) is async-signal-safe and touches no memory; it
        // clears close-on-exec in the child only.
        unsafe {
            command.pre_exec(move || {
                if libc::fcntl(fd, libc::F_SETFD, 0) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    if cmd.guarded {
        command
            .env("GIT_ALLOW_PROTOCOL", GUARDED_PROTOCOLS)
            .env("GIT_PROTOCOL_FROM_USER", "0");
    }
    // go's default: no shared ssh connections, no password prompts.
    if std::env::var_os(modgate_env::GIT_SSH).is_none()
        && std::env::var_os(modgate_env::GIT_SSH_COMMAND).is_none()
    {
        command.env(
            "GIT_SSH_COMMAND",
            "ssh -o ControlMaster=no -o BatchMode=yes",
        );
    }
    command
}

/// SIGKILL to the child's whole process group (its id: see `process_group(0)`).
pub fn kill_group(child: &tokio::process::Child) {
    if let Some(pid) = child.id().and_then(|p| libc::pid_t::try_from(p).ok()) {
        // SAFETY: kill(2) with a negative pid signals that process group; no
        // memory is involved.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
}

/// The first [`STDERR_MAX`] bytes of `r`, read to its end.
async fn read_capped(mut r: impl AsyncRead + Unpin) -> Vec<u8> {
    let mut buf = Vec::new();
    // A broken stderr pipe only costs the message.
    let _ = (&mut r).take(STDERR_MAX).read_to_end(&mut buf).await;
    let _ = tokio::io::copy(&mut r, &mut tokio::io::sink()).await;
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A command line names its repository once: `ls-remote` carries the
    /// URL among its arguments, a fetch in a mirror does not.
    #[test]
    fn a_command_names_its_repository_once() {
        let url = "https://git.example/r.git";
        let shown = |args: &[&str]| {
            Cmd {
                dir: Path::new("/m"),
                url,
                args,
                guarded: false,
                timeout: None,
                inherit: None,
            }
            .display()
        };
        assert_eq!(
            shown(&["ls-remote", "-q", "--", url]),
            "git ls-remote -q -- https://git.example/r.git"
        );
        assert_eq!(
            shown(&["fetch", "origin"]),
            "git fetch origin in https://git.example/r.git"
        );
    }
}
