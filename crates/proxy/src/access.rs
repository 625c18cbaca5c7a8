//! Who asks, and what they may see: the auth file (`--auth-file`) applied
//! to every request, and the audit log of private reads and publishes.

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use modgate_auth::{AuthConfig, AuthFailure, Authenticator, Identity, Throttle, Watched};

use crate::lock;

/// How often the auth file is checked for changes.
const RELOAD_EVERY: Duration = Duration::from_secs(2);

/// The auth file and what authenticating against it remembers.
pub struct Access {
    watched: Watched,
    authenticator: Arc<Authenticator>,
    throttle: Throttle,
}

/// What authentication decided for one request.
pub struct Authenticated {
    pub identity: Identity,
    /// The configuration it was decided with: the rest of the request is
    /// authorized by the same one, even if the file is reloaded meanwhile.
    pub config: Arc<AuthConfig>,
}

/// Refused credentials: the client is told only that, after `delay`.
pub struct Refused {
    pub failure: AuthFailure,
    pub delay: Duration,
}

impl Access {
    pub fn load(path: &Path) -> Result<Self, modgate_auth::Error> {
        Ok(Self {
            watched: Watched::load(path)?,
            authenticator: Arc::new(Authenticator::new()?),
            throttle: Throttle::new(),
        })
    }

    /// Authenticates a request's `Authorization` header. A password not
    /// verified before runs argon2 on a blocking thread, never the
    /// workers' event loops.
    pub async fn authenticate(
        &self,
        authorization: Option<&str>,
        client: Option<IpAddr>,
    ) -> Result<Authenticated, Refused> {
        let config = self.watched.current();
        let now = jiff::Timestamp::now();
        let result = match self
            .authenticator
            .authenticate_cached(&config, authorization, now)
        {
            Some(result) => result,
            None => {
                let (authenticator, cfg) = (self.authenticator.clone(), config.clone());
                let header = authorization.map(str::to_owned);
                tokio::task::spawn_blocking(move || {
                    authenticator.authenticate(&cfg, header.as_deref(), now)
                })
                .await
                .unwrap_or(Err(AuthFailure::Malformed("verification was interrupted")))
            }
        };
        // Throttled per address; without one (never on TCP) all share one.
        let ip = client.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        match result {
            Ok(identity) => {
                self.throttle.success(ip);
                Ok(Authenticated { identity, config })
            }
            Err(failure) => Err(Refused {
                delay: self.throttle.failure(ip, Instant::now()),
                failure,
            }),
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
                Err(e) => {
                    tracing::error!(error = %e, "auth file not reloaded; the previous rules stay")
                }
            }
        }
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
            tracing::error!(error = %e, "audit log write failed");
        }
    }
}
