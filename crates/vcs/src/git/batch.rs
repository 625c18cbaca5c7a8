//! One long-lived `git cat-file --batch` per mirror: the commits and small
//! files every version needs (its time, go.mod, LICENSE) are read through a
//! pipe, not a git process each. Answers are the ones `git log -n1` and
//! `git cat-file blob` would give, since it is the same object lookup.

use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use modgate_redact::Chain;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout};
use tokio::sync::Mutex;

use super::VcsError;
use super::run::{self, Cmd};

/// A process unused this long ends: one per recently used mirror, not per mirror.
const IDLE: Duration = Duration::from_secs(20);
/// Longest header line git writes: `<spec> missing` echoes the spec, which
/// is a hash and a module-relative path.
const HEADER_MAX: u64 = 8 << 10;

pub(super) struct Batch {
    process: Mutex<Option<Process>>,
    timeout: Duration,
}

struct Process {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    last_used: Instant,
}

/// What `cat-file --batch` said of one object name.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Object {
    /// No object by that name (or an ambiguous one), as a failing
    /// `git cat-file`/`git log` would say.
    Missing,
    /// Larger than the reader's limit: its bytes were skipped.
    TooLarge,
    Found {
        /// The full hash.
        id: String,
        kind: String,
        data: Vec<u8>,
    },
}

impl Batch {
    pub(super) fn new(timeout: Duration) -> Arc<Self> {
        Arc::new(Self {
            process: Mutex::new(None),
            timeout,
        })
    }

    /// Reads the object `spec` names (`<hash>:<path>`, `<rev>^{commit}`)
    /// from the mirror at `cmd.dir`, starting git if it is not running.
    /// The caller holds the mirror's read lock, so no fetch runs meanwhile.
    pub(super) async fn read(
        self: &Arc<Self>,
        dir: &Path,
        url: &str,
        spec: &str,
        max: u64,
    ) -> Result<Object, VcsError> {
        // A newline would be a second request; git reads no other separator.
        if spec.is_empty() || spec.contains('\n') {
            return Ok(Object::Missing);
        }
        let mut slot = self.process.lock().await;
        if slot.is_none() {
            *slot = Some(self.spawn(dir, url)?);
        }
        let process = slot.as_mut().expect("just started");
        let answer = tokio::time::timeout(self.timeout, process.ask(spec, max)).await;
        match answer {
            Ok(Ok(object)) => {
                process.last_used = Instant::now();
                Ok(object)
            }
            // Whatever went wrong, the pipe's state is unknown: start over.
            // git ends `cat-file --batch` early only when it cannot read
            // the mirror (a missing object is an answer, not an end).
            Ok(Err(e)) => {
                stop(slot.take());
                tracing::warn!(command = %batch_display(url), error = %Chain(&e), "git could not read the mirror");
                Err(VcsError::Corrupt {
                    command: batch_display(url),
                })
            }
            Err(_) => {
                stop(slot.take());
                Err(VcsError::Timeout {
                    command: batch_display(url),
                    after: self.timeout,
                })
            }
        }
    }

    /// Ends the process: the mirror changed (git could hold a stale view of
    /// its refs and packs) or went.
    pub(super) async fn stop(&self) {
        stop(self.process.lock().await.take());
    }

    fn spawn(self: &Arc<Self>, dir: &Path, url: &str) -> Result<Process, VcsError> {
        let args = ["cat-file", "--batch"];
        let cmd = Cmd {
            dir,
            url,
            args: &args,
            guarded: false,
            timeout: None,
            inherit: None,
        };
        let mut command = run::command(&cmd);
        command.stdin(Stdio::piped()).stderr(Stdio::null());
        let mut child = command.spawn().map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound && dir.is_dir() {
                VcsError::GitNotFound
            } else {
                VcsError::Io(e)
            }
        })?;
        let stdin = child.stdin.take().expect("stdin is piped");
        let stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        tokio::spawn(reap(Arc::downgrade(self)));
        Ok(Process {
            child,
            stdin,
            stdout,
            last_used: Instant::now(),
        })
    }
}

impl Process {
    async fn ask(&mut self, spec: &str, max: u64) -> std::io::Result<Object> {
        self.stdin.write_all(format!("{spec}\n").as_bytes()).await?;
        self.stdin.flush().await?;
        let mut header = Vec::new();
        (&mut self.stdout)
            .take(HEADER_MAX)
            .read_until(b'\n', &mut header)
            .await?;
        let header = String::from_utf8_lossy(&header);
        let Some(header) = header.strip_suffix('\n') else {
            return Err(unexpected("git cat-file --batch ended"));
        };
        if header.ends_with(" missing") || header.ends_with(" ambiguous") {
            return Ok(Object::Missing);
        }
        // "<id> <type> <size>"
        let fields: Vec<&str> = header.split(' ').collect();
        let [id, kind, size] = fields[..] else {
            return Err(unexpected("unexpected git cat-file --batch output"));
        };
        let size: u64 = size
            .parse()
            .map_err(|_| unexpected("unexpected git cat-file --batch output"))?;
        let (id, kind) = (id.to_owned(), kind.to_owned());
        // The object and the newline after it.
        let mut body = (&mut self.stdout).take(size + 1);
        if size > max {
            tokio::io::copy(&mut body, &mut tokio::io::sink()).await?;
            return Ok(Object::TooLarge);
        }
        let mut data = Vec::with_capacity(size as usize + 1);
        body.read_to_end(&mut data).await?;
        if data.pop() != Some(b'\n') || data.len() as u64 != size {
            return Err(unexpected("git cat-file --batch ended"));
        }
        Ok(Object::Found { id, kind, data })
    }
}

fn unexpected(what: &str) -> std::io::Error {
    std::io::Error::other(what.to_owned())
}

fn batch_display(url: &str) -> String {
    super::redact(&format!("git cat-file --batch in {url}"))
}

fn stop(process: Option<Process>) {
    if let Some(process) = process {
        run::kill_group(&process.child);
        // kill_on_drop: tokio reaps it.
        drop(process);
    }
}

/// Ends the process once it has been idle for [`IDLE`], and stops watching
/// when it is gone.
async fn reap(batch: Weak<Batch>) {
    loop {
        tokio::time::sleep(IDLE).await;
        let Some(batch) = batch.upgrade() else {
            return;
        };
        let mut slot = batch.process.lock().await;
        match &*slot {
            None => return,
            Some(p) if p.last_used.elapsed() >= IDLE => {
                stop(slot.take());
                return;
            }
            Some(_) => {}
        }
    }
}

/// The committer time of a commit object (`%ct`): the number before the
/// zone on its `committer` line.
pub(super) fn committer_time(commit: &[u8]) -> Option<i64> {
    let text = String::from_utf8_lossy(commit);
    let header = text.split("\n\n").next()?;
    let line = header.lines().find_map(|l| l.strip_prefix("committer "))?;
    let mut fields = line.rsplit(' ');
    let _zone = fields.next()?;
    fields.next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::committer_time;

    #[test]
    fn committer_times() {
        let commit = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nparent 1111111111111111111111111111111111111111\nauthor A U Thor <a@example.com> 1600000000 +0200\ncommitter C O Mitter <c@example.com> 1700000000 -0700\n\nmessage\ncommitter not this 5 +0000\n";
        assert_eq!(committer_time(commit), Some(1_700_000_000));
        assert_eq!(committer_time(b"tree x\n\ncommitter a <b> 1 +0000\n"), None);
        assert_eq!(committer_time(b"committer a <b> x +0000\n"), None);
    }
}
