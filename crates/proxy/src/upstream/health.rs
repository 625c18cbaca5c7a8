//! Health of one upstream, learned from its answers: a circuit breaker that
//! also bounds what an unproven upstream is trusted with.
//!
//! - An upstream is *proven* once it answers well; then it takes any load.
//! - Until then (at start, and after a cool-down) it is *trying*: at most
//!   [`TRIALS`] requests at once; others wait briefly for a slot, then move on.
//! - After `threshold` consecutive failures it is *open*: skipped for a
//!   cool-down that doubles while it stays broken; background probes can
//!   end the cool-down early.
//! - Whatever the state, an upstream that has had requests outstanding with
//!   no response at all for [`SILENCE`] is skipped: a mirror that hangs costs
//!   the requests already sent one timeout, and nothing more.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

/// Concurrent requests an unproven upstream is trusted with.
const TRIALS: usize = 2;
/// How long requests wait for a trial slot, and how long outstanding
/// requests may go without any response before the upstream is skipped.
const SILENCE: Duration = Duration::from_secs(2);
/// The longest an upstream stays skipped between tries.
const MAX_COOLDOWN: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Proven: answering well.
    Closed,
    /// Not proven yet, or trying again after a cool-down.
    Trying,
    /// Skipped until its cool-down ends.
    Open,
}

impl BreakerState {
    /// The value of the `modgate_upstream_breaker_state` gauge.
    pub fn gauge(self) -> f64 {
        match self {
            BreakerState::Closed => 0.0,
            BreakerState::Trying => 1.0,
            BreakerState::Open => 2.0,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "up",
            BreakerState::Trying => "trying",
            BreakerState::Open => "down",
        }
    }
}

#[derive(Debug)]
enum Mode {
    Proven {
        failures: u32,
    },
    Trying {
        failures: u32,
    },
    /// `probed`: a background probe may end the cool-down early (not when
    /// the upstream served bad content: answering proves nothing then).
    Open {
        until: Instant,
        probed: bool,
    },
}

#[derive(Debug)]
struct Inner {
    mode: Mode,
    /// Consecutive openings, for an exponential cool-down.
    openings: u32,
    /// Requests sent and not yet answered (headers not received).
    waiting: usize,
    /// Since when requests have been waiting with no answer in between.
    silent_since: Option<Instant>,
    /// The failures since the last success: when they began, and the last
    /// (in full, for the status page) with its kind (for clients).
    failing: Option<(Instant, String, Fault)>,
    /// Openings and the first failures of streaks, newest last, for the
    /// console's timeline.
    events: std::collections::VecDeque<Event>,
}

/// How many of a breaker's events the console's timeline keeps.
const EVENTS_KEPT: usize = 20;

/// A change the console's timeline shows.
#[derive(Debug, Clone)]
pub struct Event {
    pub at: std::time::SystemTime,
    /// `failing` (a streak began) or `opened` (the breaker opened).
    pub what: &'static str,
    pub cause: String,
}

impl Inner {
    fn event(&mut self, what: &'static str, cause: &dyn std::fmt::Display) {
        if self.events.len() == EVENTS_KEPT {
            self.events.pop_front();
        }
        self.events.push_back(Event {
            at: std::time::SystemTime::now(),
            what,
            cause: cause.to_string(),
        });
    }
}

#[derive(Debug)]
pub struct Breaker {
    inner: Mutex<Inner>,
    trials: Arc<Semaphore>,
    changed: Notify,
    threshold: u32,
    cooldown: Duration,
}

/// Why a request does not go to this upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    Open,
    Silent,
    Busy,
}

/// The kind of an upstream's failure. Clients skipping it are told only
/// this: the failure itself came from another client's request and may
/// name a module that client may not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Unavailable,
    Invalid,
    Silent,
}

impl Fault {
    fn words(self) -> &'static str {
        match self {
            Fault::Unavailable => "unavailable (network failure, timeout, 429 or 5xx)",
            Fault::Invalid => "served content that failed validation",
            Fault::Silent => "no response headers in time",
        }
    }
}

/// A skip, with the kind of the upstream's last real failure when it has
/// one: what a client is told instead of only "circuit open".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub skip: Skip,
    /// How long the upstream has been failing, and how it last failed.
    pub failing: Option<(Duration, Fault)>,
}

/// `350 ms`, `12 s`, `4 min 10 s`: a failing span in words a person reads.
fn span(d: Duration) -> String {
    match d.as_secs() {
        0 => format!("{} ms", d.as_millis()),
        s @ 1..60 => format!("{s} s"),
        s => format!("{} min {} s", s / 60, s % 60),
    }
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.skip, &self.failing) {
            (Skip::Open, Some((for_, fault))) => {
                write!(f, "skipped, failing for {}: {}", span(*for_), fault.words())
            }
            (skip, _) => write!(f, "skipped: {}", skip.reason()),
        }
    }
}

impl Skip {
    pub fn label(self) -> &'static str {
        match self {
            Skip::Open => "circuit_open",
            Skip::Silent => "not_answering",
            Skip::Busy => "unproven_busy",
        }
    }

    pub fn reason(self) -> &'static str {
        match self {
            Skip::Open => "failing recently (circuit open)",
            Skip::Silent => "not answering requests already sent",
            Skip::Busy => "still unproven and busy with trial requests",
        }
    }
}

impl Breaker {
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            inner: Mutex::new(Inner {
                mode: Mode::Trying { failures: 0 },
                openings: 0,
                waiting: 0,
                silent_since: None,
                failing: None,
                events: std::collections::VecDeque::with_capacity(EVENTS_KEPT),
            }),
            trials: Arc::new(Semaphore::new(TRIALS)),
            changed: Notify::new(),
            threshold: threshold.max(1),
            cooldown,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        crate::lock(&self.inner)
    }

    /// Lets a request go to this upstream, or says why not.
    pub async fn admit(&self) -> Result<Ticket<'_>, Skipped> {
        let deadline = tokio::time::Instant::now() + SILENCE;
        loop {
            // Register before looking, so no change is missed.
            let changed = self.changed.notified();
            let trying = {
                let mut inner = self.lock();
                let now = Instant::now();
                let skipped = |skip| Skipped {
                    skip,
                    failing: inner
                        .failing
                        .as_ref()
                        .map(|(since, _, fault)| (now - *since, *fault)),
                };
                if inner.silent_since.is_some_and(|t| now - t > SILENCE) {
                    return Err(skipped(Skip::Silent));
                }
                match inner.mode {
                    Mode::Open { until, .. } if now < until => return Err(skipped(Skip::Open)),
                    Mode::Open { .. } => {
                        // One more failure reopens it.
                        inner.mode = Mode::Trying {
                            failures: self.threshold - 1,
                        };
                        true
                    }
                    Mode::Trying { .. } => true,
                    Mode::Proven { .. } => false,
                }
            };
            if !trying {
                return Ok(self.start(None));
            }
            if let Ok(permit) = self.trials.clone().try_acquire_owned() {
                return Ok(self.start(Some(permit)));
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return Err(Skipped {
                    skip: Skip::Busy,
                    failing: None,
                });
            }
        }
    }

    fn start(&self, trial: Option<OwnedSemaphorePermit>) -> Ticket<'_> {
        let mut inner = self.lock();
        inner.waiting += 1;
        inner.silent_since.get_or_insert_with(Instant::now);
        Ticket {
            breaker: self,
            trial,
            answered: false,
        }
    }

    /// A background probe saw the upstream answer: let trials start now.
    pub fn probe_succeeded(&self) {
        let mut inner = self.lock();
        if let Mode::Open { probed: true, .. } = inner.mode {
            inner.mode = Mode::Trying {
                failures: self.threshold - 1,
            };
        }
        drop(inner);
        self.changed.notify_waiters();
    }

    /// A request went unanswered while the next upstream answered it (a
    /// hedge won): a failure with no answer.
    pub fn silent(&self, error: &dyn std::fmt::Display) {
        if self.failed(false, true, error, Fault::Silent) {
            tracing::warn!(error = %error, "upstream silent: skipping it for a while");
        }
    }

    /// Counts a failure; returns true when it opened the breaker.
    fn failed(
        &self,
        answered: bool,
        probed: bool,
        error: &dyn std::fmt::Display,
        fault: Fault,
    ) -> bool {
        let mut inner = self.lock();
        let streak = inner.failing.take();
        if streak.is_none() {
            inner.event("failing", error);
        }
        let since = streak.map_or_else(Instant::now, |(since, ..)| since);
        inner.failing = Some((since, error.to_string(), fault));
        let failures = match inner.mode {
            // An unproven upstream that gave no answer at all (refused, reset,
            // timed out) gets no second trial: each would cost a timeout.
            Mode::Trying { .. } if !answered => self.threshold,
            Mode::Proven { failures } | Mode::Trying { failures } => failures + 1,
            // Sent before the breaker opened: nothing new.
            Mode::Open { .. } => return false,
        };
        if failures < self.threshold {
            inner.mode = match inner.mode {
                Mode::Proven { .. } => Mode::Proven { failures },
                _ => Mode::Trying { failures },
            };
            return false;
        }
        let factor = 1u32 << inner.openings.min(8);
        let cooldown = self.cooldown.saturating_mul(factor).min(MAX_COOLDOWN);
        inner.mode = Mode::Open {
            until: Instant::now() + cooldown,
            probed,
        };
        inner.openings += 1;
        inner.event("opened", error);
        true
    }

    /// How long the upstream has been failing, and its last failure;
    /// `None` since its last success.
    pub fn failing(&self) -> Option<(Duration, String)> {
        self.lock()
            .failing
            .as_ref()
            .map(|(since, error, _)| (since.elapsed(), error.clone()))
    }

    /// The latest openings and failure streaks, oldest first.
    pub fn events(&self) -> Vec<Event> {
        self.lock().events.iter().cloned().collect()
    }

    pub fn state(&self) -> BreakerState {
        match self.lock().mode {
            Mode::Proven { .. } => BreakerState::Closed,
            Mode::Trying { .. } => BreakerState::Trying,
            Mode::Open { .. } => BreakerState::Open,
        }
    }
}

/// One request admitted to an upstream. Report its fate with `success` or
/// `failure`; dropping it unreported (a cancelled request) says nothing.
pub struct Ticket<'a> {
    breaker: &'a Breaker,
    trial: Option<OwnedSemaphorePermit>,
    answered: bool,
}

impl Ticket<'_> {
    /// The upstream sent response headers (or otherwise answered).
    pub fn answered(&mut self) {
        if self.answered {
            return;
        }
        self.answered = true;
        let mut inner = self.breaker.lock();
        inner.waiting -= 1;
        // Any answer restarts the silence clock for those still waiting.
        inner.silent_since = (inner.waiting > 0).then(Instant::now);
    }

    /// The upstream answered well (including a plain "not found").
    pub fn success(mut self) {
        self.answered();
        let mut inner = self.breaker.lock();
        inner.mode = Mode::Proven { failures: 0 };
        inner.openings = 0;
        inner.failing = None;
    }

    /// The upstream served something that failed validation: it is not to
    /// be trusted for a while, however well it answers otherwise.
    pub fn invalid(self, error: &dyn std::fmt::Display) -> bool {
        let b = self.breaker;
        b.lock().mode = Mode::Trying {
            failures: b.threshold - 1,
        };
        self.fail(false, error, Fault::Invalid)
    }

    /// The upstream failed; returns true when this failure opened the breaker.
    pub fn failure(self, error: &dyn std::fmt::Display) -> bool {
        self.fail(true, error, Fault::Unavailable)
    }

    fn fail(self, probed: bool, error: &dyn std::fmt::Display, fault: Fault) -> bool {
        self.breaker.failed(self.answered, probed, error, fault)
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if !self.answered {
            let mut inner = self.breaker.lock();
            inner.waiting -= 1;
            if inner.waiting == 0 {
                inner.silent_since = None;
            }
        }
        self.trial.take();
        self.breaker.changed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn opens_after_threshold_then_tries_again_after_cooldown() {
        let b = Breaker::new(3, Duration::from_millis(30));
        assert_eq!(b.state(), BreakerState::Trying);
        let answered_failure = async || {
            let mut t = b.admit().await.unwrap();
            t.answered();
            t.failure(&"boom")
        };
        assert!(!answered_failure().await, "a 5xx is one failure");
        assert!(!answered_failure().await);
        assert!(answered_failure().await, "the third failure opens it");
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(b.admit().await.err().map(|s| s.skip), Some(Skip::Open));
        // A skip tells the kind of the upstream's last real failure, not
        // only "open", and not the failure, which named another request's module.
        let shown = b.admit().await.err().unwrap().to_string();
        assert!(
            shown.starts_with("skipped, failing for ") && shown.contains(" ms: unavailable"),
            "{shown}"
        );
        assert!(!shown.contains(" 0 s"), "{shown}");
        assert!(!shown.contains("boom"), "{shown}");
        assert_eq!(b.failing().map(|f| f.1).as_deref(), Some("boom"));
        tokio::time::sleep(Duration::from_millis(40)).await;
        let trial = b.admit().await.unwrap();
        assert!(
            trial.failure(&"boom"),
            "one failure after a cool-down reopens it"
        );
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert_eq!(
            b.admit().await.err().map(|s| s.skip),
            Some(Skip::Open),
            "the cool-down doubled"
        );
        tokio::time::sleep(Duration::from_millis(30)).await;
        b.admit().await.unwrap().success();
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[tokio::test]
    async fn unproven_upstreams_get_few_requests_proven_ones_many() {
        let b = Breaker::new(3, Duration::from_secs(60));
        let t1 = b.admit().await.unwrap();
        let _t2 = b.admit().await.unwrap();
        let started = Instant::now();
        assert_eq!(
            b.admit().await.err().map(|s| s.skip),
            Some(Skip::Busy),
            "no third trial"
        );
        assert!(started.elapsed() >= SILENCE - Duration::from_millis(50));
        t1.success();
        let many: Vec<_> = futures::future::join_all((0..10).map(|_| b.admit())).await;
        assert!(
            many.iter().all(Result::is_ok),
            "a proven upstream takes any load"
        );
    }

    #[tokio::test]
    async fn waiting_requests_join_once_it_proves_itself() {
        let b = Arc::new(Breaker::new(3, Duration::from_secs(60)));
        let t1 = b.admit().await.unwrap();
        let _t2 = b.admit().await.unwrap();
        let waiter = {
            let b = b.clone();
            tokio::spawn(async move { b.admit().await.map(|mut t| t.answered()).is_ok() })
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        t1.success();
        assert!(waiter.await.unwrap());
    }

    #[tokio::test]
    async fn silence_skips_even_a_proven_upstream() {
        let b = Breaker::new(3, Duration::from_secs(60));
        b.admit().await.unwrap().success();
        let _hanging = b.admit().await.unwrap();
        tokio::time::sleep(SILENCE + Duration::from_millis(100)).await;
        assert_eq!(b.admit().await.err().map(|s| s.skip), Some(Skip::Silent));
        let mut answering = _hanging;
        answering.answered();
        assert!(b.admit().await.is_ok(), "an answer ends the silence");
    }

    #[tokio::test]
    async fn an_unproven_upstream_that_never_answers_opens_at_once() {
        let b = Breaker::new(3, Duration::from_secs(60));
        assert!(b.admit().await.unwrap().failure(&"boom"));
        assert_eq!(b.state(), BreakerState::Open);
        let b = Breaker::new(3, Duration::from_secs(60));
        b.admit().await.unwrap().success();
        assert!(
            !b.admit().await.unwrap().failure(&"boom"),
            "a proven one gets the threshold"
        );
    }

    #[tokio::test]
    async fn one_invalid_artifact_opens_it() {
        let b = Breaker::new(3, Duration::from_secs(60));
        b.admit().await.unwrap().success();
        assert!(b.admit().await.unwrap().invalid(&"bad zip"));
        assert_eq!(b.state(), BreakerState::Open);
        b.probe_succeeded();
        assert_eq!(b.state(), BreakerState::Open, "answering proves nothing");
    }

    #[tokio::test]
    async fn probes_end_the_cooldown() {
        let b = Breaker::new(1, Duration::from_secs(60));
        assert!(b.admit().await.unwrap().failure(&"boom"));
        assert_eq!(b.admit().await.err().map(|s| s.skip), Some(Skip::Open));
        b.probe_succeeded();
        assert_eq!(b.state(), BreakerState::Trying);
        assert!(b.admit().await.is_ok());
    }
}
