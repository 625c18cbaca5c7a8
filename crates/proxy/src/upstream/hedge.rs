//! Hedged requests: when an upstream has sent no response headers after a
//! delay learned from its own latency, the same request also goes to the
//! next entry of the chain, and the first good answer wins. Bounded: one
//! hedge per request, and a per-upstream budget of a tenth of its requests
//! (with a small burst, so that the first wave to a silent mirror is saved).

use std::sync::Mutex;
use std::time::Duration;

/// How hedge delays are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HedgePolicy {
    Off,
    /// A multiple of the upstream's usual time to headers, clamped.
    Auto,
    Fixed(Duration),
}

const MIN_DELAY: Duration = Duration::from_millis(250);
const MAX_DELAY: Duration = Duration::from_secs(2);
/// The delay before any answer was timed.
const FIRST_DELAY: Duration = Duration::from_secs(1);
/// Hedges earned per request sent, and the most saved up.
const RATE: f64 = 0.1;
const BURST: f64 = 10.0;

/// One upstream's hedging state.
pub struct Hedge {
    policy: HedgePolicy,
    inner: Mutex<State>,
}

struct State {
    /// Smoothed time to response headers, in seconds; `None` before any.
    latency: Option<f64>,
    tokens: f64,
}

impl Hedge {
    pub fn new(policy: HedgePolicy) -> Self {
        Self {
            policy,
            inner: Mutex::new(State {
                latency: None,
                tokens: BURST,
            }),
        }
    }

    /// A request to this upstream answered (headers) after `took`.
    pub fn observe(&self, took: Duration) {
        let mut st = crate::lock(&self.inner);
        let t = took.as_secs_f64();
        st.latency = Some(st.latency.map_or(t, |l| 0.8 * l + 0.2 * t));
    }

    /// How long to wait for this upstream's headers before hedging, or
    /// `None` when hedging is off. Every call counts as a request sent.
    pub fn delay(&self) -> Option<Duration> {
        let mut st = crate::lock(&self.inner);
        st.tokens = (st.tokens + RATE).min(BURST);
        match self.policy {
            HedgePolicy::Off => None,
            HedgePolicy::Fixed(d) => Some(d),
            HedgePolicy::Auto => Some(st.latency.map_or(FIRST_DELAY, |l| {
                Duration::from_secs_f64(l * 3.0).clamp(MIN_DELAY, MAX_DELAY)
            })),
        }
    }

    /// Takes one hedge from the budget, if there is one.
    pub fn spend(&self) -> bool {
        let mut st = crate::lock(&self.inner);
        if st.tokens >= 1.0 {
            st.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_follow_latency_within_bounds_and_the_budget_holds() {
        let h = Hedge::new(HedgePolicy::Auto);
        assert_eq!(h.delay(), Some(FIRST_DELAY));
        h.observe(Duration::from_millis(10));
        assert_eq!(h.delay(), Some(MIN_DELAY));
        for _ in 0..20 {
            h.observe(Duration::from_secs(5));
        }
        assert_eq!(h.delay(), Some(MAX_DELAY));
        // A burst, then a tenth of the requests.
        let spent = (0..100).filter(|_| h.spend()).count();
        assert_eq!(spent, 10);
        let later = (0..100)
            .filter(|_| {
                h.delay();
                h.spend()
            })
            .count();
        assert!((9..=11).contains(&later), "{later}");
        assert_eq!(Hedge::new(HedgePolicy::Off).delay(), None);
    }
}
