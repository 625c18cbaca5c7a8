//! Who asks, and what they may see: the auth file (`--auth-file`) applied
//! to every request, and the audit log of private reads and publishes.

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use crate::{Admission, AuthConfig, AuthFailure, Authenticator, Identity, Throttle, Watched};
use tokio::sync::oneshot;

/// Locks `mutex` whatever a panicking holder left: a queue or a writer is
/// never left half-updated between statements.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// How often the auth file is checked for changes.
const RELOAD_EVERY: Duration = Duration::from_secs(2);

/// Password verifications waiting for a verifier thread, per thread; more
/// are refused at once.
const QUEUE_PER_VERIFIER: usize = 4;

/// The auth file and what authenticating against it remembers.
pub struct Access {
    watched: Watched,
    authenticator: Arc<Authenticator>,
    throttle: Throttle,
    verifiers: Verifiers,
}

/// What authentication decided for one request.
pub struct Authenticated {
    pub identity: Identity,
    /// The configuration it was decided with: the rest of the request is
    /// authorized by the same one, even if the file is reloaded meanwhile.
    pub config: Arc<AuthConfig>,
}

/// Why a request was not authenticated.
pub enum Refused {
    /// Bad credentials: the client is told only that. `attempts`: how many
    /// in a row its user or address has made (for the log).
    Failed { failure: AuthFailure, attempts: u32 },
    /// Too many attempts of its user or address are queued: not tried.
    Throttled { retry_after: Duration },
    /// Every password verifier is busy and their queue full: not tried.
    Busy,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Auth(#[from] crate::Error),
    #[error("cannot start the password verifier threads")]
    Verifiers(#[source] std::io::Error),
}

impl Access {
    pub fn load(path: &Path) -> Result<Self, LoadError> {
        let authenticator = Arc::new(Authenticator::new()?);
        let verifiers = Verifiers::start(verifier_threads()).map_err(LoadError::Verifiers)?;
        let prepared = authenticator.clone();
        // Queued first, so it runs before any request's verification.
        let _ = verifiers
            .jobs
            .try_send(Box::new(move || prepared.prepare()));
        Ok(Self {
            watched: Watched::load(path)?,
            authenticator,
            throttle: Throttle::new(),
            verifiers,
        })
    }

    /// Authenticates a request's `Authorization` header from `client`.
    ///
    /// A credential already known to be good (and an anonymous request)
    /// answers at once. Anything else is an attempt that may fail: it
    /// waits its turn under the [`Throttle`], and a password not verified
    /// before then runs argon2 on one of a few verifier threads, never the
    /// workers' event loops, so that guessing costs a bounded memory.
    pub async fn authenticate(
        &self,
        authorization: Option<&str>,
        client: Option<IpAddr>,
    ) -> Result<Authenticated, Refused> {
        let config = self.watched.current();
        let now = jiff::Timestamp::now();
        let cached = self
            .authenticator
            .authenticate_cached(&config, authorization, now);
        if let Some(Ok(identity)) = cached {
            return Ok(Authenticated { identity, config });
        }
        // Throttled per address; without one (never on TCP) all share one.
        let ip = client.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let user = authorization.and_then(crate::claimed_user);
        let attempts = match self.throttle.admit(ip, user.as_deref(), Instant::now()) {
            Admission::Refused { retry_after } => return Err(Refused::Throttled { retry_after }),
            Admission::Admitted { wait, attempts } => {
                tokio::time::sleep(wait).await;
                attempts
            }
        };
        let result = match cached {
            Some(result) => result,
            None => {
                let (authenticator, cfg) = (self.authenticator.clone(), config.clone());
                let header = authorization.map(str::to_owned);
                let verified = self
                    .verifiers
                    .run(move || authenticator.authenticate(&cfg, header.as_deref(), now))
                    .ok_or(Refused::Busy)?;
                verified
                    .await
                    .unwrap_or(Err(AuthFailure::Malformed("verification was interrupted")))
            }
        };
        match result {
            Ok(identity) => {
                self.throttle.success(ip, user.as_deref());
                Ok(Authenticated { identity, config })
            }
            Err(failure) => Err(Refused::Failed { failure, attempts }),
        }
    }

    /// Reloads the auth file when it changes (polled) or on SIGHUP; a file
    /// that fails to load leaves the previous rules in force.
    pub async fn watch(&self) {
        let mut hangup =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        let mut tick = tokio::time::interval(RELOAD_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let forced = tokio::select! {
                _ = tick.tick() => false,
                Some(()) = async {
                    match &mut hangup {
                        Some(h) => h.recv().await,
                        None => std::future::pending().await,
                    }
                } => true,
            };
            let result = if forced {
                self.watched.reload().map(|()| true)
            } else {
                self.watched.reload_if_changed()
            };
            match result {
                Ok(true) => tracing::info!("auth file reloaded"),
                Ok(false) => {}
                Err(e) => tracing::error!(
                    error = %modgate_redact::Chain(&e),
                    "auth file not reloaded; the previous rules stay"
                ),
            }
        }
    }
}

/// argon2 verifications run at once: as many as the cores, 2 to 3. Each
/// holds its hash's memory cost (19 MiB by default) while it runs, so this
/// bounds what guessing costs in memory as well as CPU; a verification
/// takes tens of milliseconds and is remembered, so real logins need few.
fn verifier_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 3))
}

/// Threads that verify passwords, and a bounded queue of verifications.
/// Dedicated threads rather than the blocking pool: argon2's memory then
/// lives in a few threads' heaps, not in those of every pool thread.
struct Verifiers {
    jobs: mpsc::SyncSender<Box<dyn FnOnce() + Send>>,
}

impl Verifiers {
    fn start(threads: usize) -> std::io::Result<Self> {
        let (jobs, queue) =
            mpsc::sync_channel::<Box<dyn FnOnce() + Send>>(threads * QUEUE_PER_VERIFIER);
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..threads {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("modgate-verifier-{i}"))
                .spawn(move || {
                    // Ends when the Access, and so the sender, is dropped.
                    loop {
                        // The lock is released before the job runs.
                        let Ok(job) = lock(&queue).recv() else {
                            return;
                        };
                        job();
                    }
                })?;
        }
        Ok(Self { jobs })
    }

    /// Runs `work` on a verifier thread; `None` when the queue is full.
    fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Option<oneshot::Receiver<T>> {
        let (tx, rx) = oneshot::channel();
        let job = Box::new(move || {
            // A client that left while queued costs no verification.
            if !tx.is_closed() {
                let _ = tx.send(work());
            }
        });
        self.jobs.try_send(job).ok().map(|()| rx)
    }
}

/// One JSON line per read of a private module and per publish: who, what,
/// from where, and the answer's status. Never a credential.
pub struct AuditLog {
    out: Mutex<Box<dyn std::io::Write + Send>>,
}

#[derive(serde::Serialize)]
pub struct AuditEntry<'a> {
    pub time: String,
    pub action: &'static str,
    pub identity: &'a str,
    pub client: Option<String>,
    pub module: &'a str,
    pub version: Option<&'a str>,
    pub endpoint: &'static str,
    pub status: u16,
    /// A policy decision other than allow: the line that says why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<&'a str>,
}

impl AuditLog {
    /// `-` is stderr; anything else a file appended to (created 0600).
    pub fn open(target: &Path) -> std::io::Result<Self> {
        let out: Box<dyn std::io::Write + Send> = if target == Path::new("-") {
            Box::new(std::io::stderr())
        } else {
            use fs_err::os::unix::fs::OpenOptionsExt as _;
            Box::new(
                fs_err::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .mode(0o600)
                    .open(PathBuf::from(target))?,
            )
        };
        Ok(Self {
            out: Mutex::new(out),
        })
    }

    pub fn record(&self, entry: &AuditEntry<'_>) {
        let Ok(mut line) = serde_json::to_vec(entry) else {
            return;
        };
        line.push(b'\n');
        // One write per line, appended whole.
        if let Err(e) = lock(&self.out).write_all(&line) {
            tracing::error!(
                error = &e as &dyn std::error::Error,
                "audit log write failed"
            );
        }
    }
}
