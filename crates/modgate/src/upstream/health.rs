//! A circuit breaker per upstream: after consecutive failures the upstream is
//! skipped for a cool-down, then a single request (or a background probe)
//! tries it again. A broken mirror costs the first requests one timeout, not
//! every request.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The longest an upstream stays skipped between tries.
const MAX_COOLDOWN: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    HalfOpen,
    Open,
}

impl BreakerState {
    /// The value of the `modgate_upstream_breaker_state` gauge.
    pub fn gauge(self) -> f64 {
        match self {
            BreakerState::Closed => 0.0,
            BreakerState::HalfOpen => 1.0,
            BreakerState::Open => 2.0,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "up",
            BreakerState::HalfOpen => "recovering",
            BreakerState::Open => "down",
        }
    }
}

#[derive(Debug)]
enum Mode {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// One trial request is allowed; `trial` says whether it is under way.
    HalfOpen {
        trial: bool,
    },
}

#[derive(Debug)]
struct Inner {
    mode: Mode,
    /// Consecutive openings, for an exponential cool-down.
    openings: u32,
}

#[derive(Debug)]
pub struct Breaker {
    inner: Mutex<Inner>,
    threshold: u32,
    cooldown: Duration,
}

impl Breaker {
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            inner: Mutex::new(Inner {
                mode: Mode::Closed { failures: 0 },
                openings: 0,
            }),
            threshold: threshold.max(1),
            cooldown,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a request may go to this upstream now.
    pub fn admit(&self) -> bool {
        let mut inner = self.lock();
        match inner.mode {
            Mode::Closed { .. } => true,
            Mode::Open { until } if Instant::now() >= until => {
                inner.mode = Mode::HalfOpen { trial: true };
                true
            }
            Mode::Open { .. } => false,
            Mode::HalfOpen { trial: false } => {
                inner.mode = Mode::HalfOpen { trial: true };
                true
            }
            Mode::HalfOpen { trial: true } => false,
        }
    }

    /// The upstream answered (any answer but a 5xx, a 429 or garbage).
    pub fn success(&self) {
        let mut inner = self.lock();
        inner.mode = Mode::Closed { failures: 0 };
        inner.openings = 0;
    }

    /// The upstream failed; returns true when this failure opened the breaker.
    pub fn failure(&self) -> bool {
        let mut inner = self.lock();
        let open = match inner.mode {
            Mode::Closed { failures } if failures + 1 >= self.threshold => true,
            Mode::Closed { failures } => {
                inner.mode = Mode::Closed {
                    failures: failures + 1,
                };
                false
            }
            Mode::HalfOpen { .. } => true,
            // A request admitted before the breaker opened: nothing new.
            Mode::Open { .. } => false,
        };
        if open {
            let factor = 1u32 << inner.openings.min(8);
            let cooldown = self.cooldown.saturating_mul(factor).min(MAX_COOLDOWN);
            inner.mode = Mode::Open {
                until: Instant::now() + cooldown,
            };
            inner.openings += 1;
        }
        open
    }

    /// A background probe saw the upstream answer: let one request try it.
    pub fn probe_succeeded(&self) {
        let mut inner = self.lock();
        if let Mode::Open { .. } = inner.mode {
            inner.mode = Mode::HalfOpen { trial: false };
        }
    }

    pub fn state(&self) -> BreakerState {
        match self.lock().mode {
            Mode::Closed { .. } => BreakerState::Closed,
            Mode::HalfOpen { .. } => BreakerState::HalfOpen,
            Mode::Open { .. } => BreakerState::Open,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_and_admits_one_trial_after_cooldown() {
        let b = Breaker::new(3, Duration::from_millis(30));
        assert!(b.admit());
        assert!(!b.failure());
        assert!(!b.failure());
        assert_eq!(b.state(), BreakerState::Closed);
        assert!(b.failure(), "the third consecutive failure opens it");
        assert_eq!(b.state(), BreakerState::Open);
        assert!(!b.admit());
        std::thread::sleep(Duration::from_millis(40));
        assert!(b.admit(), "one trial after the cool-down");
        assert!(!b.admit(), "only one");
        assert!(b.failure(), "a failed trial opens it again");
        assert!(!b.admit());
        std::thread::sleep(Duration::from_millis(40));
        assert!(!b.admit(), "the cool-down doubled");
        std::thread::sleep(Duration::from_millis(30));
        assert!(b.admit());
        b.success();
        assert_eq!(b.state(), BreakerState::Closed);
        assert!(b.admit() && b.admit());
    }

    #[test]
    fn success_resets_the_count_and_probes_reopen_the_door() {
        let b = Breaker::new(2, Duration::from_secs(60));
        b.failure();
        b.success();
        assert!(!b.failure(), "failures must be consecutive");
        assert!(b.failure());
        assert!(!b.admit());
        b.probe_succeeded();
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert!(b.admit());
        assert!(!b.admit());
    }
}
