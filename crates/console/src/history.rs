//! The last day of traffic in memory: a ring of per-minute buckets
//! (requests, cache hits and misses, errors, a latency histogram), written
//! with atomics from the request hook and read by the overview. No
//! database: a restart starts an empty day.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Minutes kept: one day.
pub const MINUTES: u64 = 24 * 60;

/// The latency histogram's upper bounds in seconds (the last bucket holds
/// everything slower), as `/metrics` buckets its request durations.
pub const BOUNDS: [f64; 15] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
const SLOTS: usize = BOUNDS.len() + 1;

#[derive(Default)]
struct Bucket {
    /// The minute (since the epoch) the counts are of.
    minute: AtomicU64,
    requests: AtomicU64,
    errors: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
    latency: [AtomicU64; SLOTS],
}

impl Bucket {
    /// The bucket for `minute`, emptied if it still holds a day-old minute.
    /// A request counted by another thread between the swap and the reset
    /// may be lost: a count off by one on a chart, for no lock.
    fn at(&self, minute: u64) -> &Self {
        let seen = self.minute.load(Relaxed);
        if seen != minute
            && self
                .minute
                .compare_exchange(seen, minute, Relaxed, Relaxed)
                .is_ok()
        {
            for c in [&self.requests, &self.errors, &self.hits, &self.misses]
                .into_iter()
                .chain(&self.latency)
            {
                c.store(0, Relaxed);
            }
        }
        self
    }
}

pub struct History {
    buckets: Box<[Bucket]>,
}

impl Default for History {
    fn default() -> Self {
        Self {
            buckets: (0..MINUTES).map(|_| Bucket::default()).collect(),
        }
    }
}

/// The process's history, which the request hook writes.
pub fn global() -> &'static History {
    static HISTORY: OnceLock<History> = OnceLock::new();
    HISTORY.get_or_init(History::default)
}

fn minute_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 60)
}

/// Totals over a window, and per-step counts to chart.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Window {
    pub minutes: u64,
    pub requests: u64,
    /// Answers with a 5xx status.
    pub errors: u64,
    pub hits: u64,
    pub misses: u64,
    latency: [u64; SLOTS],
    /// Oldest first: (first minute of the step, requests, errors).
    pub steps: Vec<(u64, u64, u64)>,
}

impl Window {
    /// The latency quantile `q` (0–1), interpolated within its bucket as
    /// Prometheus's `histogram_quantile` does; `None` without requests or
    /// beyond the largest bound.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let count: u64 = self.latency.iter().sum();
        if count == 0 {
            return None;
        }
        let rank = q * count as f64;
        let (mut lower, mut below) = (0.0, 0.0);
        for (i, &n) in self.latency.iter().enumerate() {
            let cumulative = below + n as f64;
            if cumulative >= rank && n > 0 {
                let bound = *BOUNDS.get(i)?;
                return Some(lower + (bound - lower) * ((rank - below) / n as f64));
            }
            below = cumulative;
            lower = BOUNDS.get(i).copied().unwrap_or(lower);
        }
        None
    }

    /// Hits among cache lookups, when there were any.
    pub fn hit_ratio(&self) -> Option<f64> {
        let lookups = self.hits + self.misses;
        (lookups > 0).then(|| self.hits as f64 / lookups as f64)
    }
}

impl History {
    /// One answered request (5xx counts as an error).
    pub fn request(&self, status: u16, elapsed: Duration) {
        self.request_at(minute_now(), status, elapsed);
    }

    /// One lookup of a stored artifact.
    pub fn lookup(&self, hit: bool) {
        self.lookup_at(minute_now(), hit);
    }

    fn lookup_at(&self, minute: u64, hit: bool) {
        let b = self.bucket(minute);
        if hit { &b.hits } else { &b.misses }.fetch_add(1, Relaxed);
    }

    fn bucket(&self, minute: u64) -> &Bucket {
        self.buckets[(minute % MINUTES) as usize].at(minute)
    }

    fn request_at(&self, minute: u64, status: u16, elapsed: Duration) {
        let b = self.bucket(minute);
        b.requests.fetch_add(1, Relaxed);
        if status >= 500 {
            b.errors.fetch_add(1, Relaxed);
        }
        let secs = elapsed.as_secs_f64();
        let slot = BOUNDS
            .iter()
            .position(|&b| secs <= b)
            .unwrap_or(BOUNDS.len());
        b.latency[slot].fetch_add(1, Relaxed);
    }

    /// The last `minutes` (up to a day), charted in steps of `step` minutes.
    pub fn window(&self, minutes: u64, step: u64) -> Window {
        self.window_at(minute_now(), minutes, step)
    }

    fn window_at(&self, now: u64, minutes: u64, step: u64) -> Window {
        let minutes = minutes.clamp(1, MINUTES);
        let step = step.max(1);
        let first = now + 1 - minutes.min(now + 1);
        let mut w = Window {
            minutes,
            ..Window::default()
        };
        let mut at = first;
        while at <= now {
            let (mut requests, mut errors) = (0, 0);
            for minute in at..(at + step).min(now + 1) {
                let b = &self.buckets[(minute % MINUTES) as usize];
                // A slot not written since that minute holds an older one.
                if b.minute.load(Relaxed) != minute {
                    continue;
                }
                let r = b.requests.load(Relaxed);
                let e = b.errors.load(Relaxed);
                requests += r;
                errors += e;
                w.hits += b.hits.load(Relaxed);
                w.misses += b.misses.load(Relaxed);
                for (sum, c) in w.latency.iter_mut().zip(&b.latency) {
                    *sum += c.load(Relaxed);
                }
            }
            w.requests += requests;
            w.errors += errors;
            w.steps.push((at, requests, errors));
            at += step;
        }
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_sum_their_minutes_and_forget_a_day_ago() {
        let h = History::default();
        let now = 30_000_000;
        h.request_at(now, 200, Duration::from_millis(3));
        h.request_at(now, 502, Duration::from_millis(40));
        h.request_at(now - 30, 200, Duration::from_millis(3));
        h.request_at(now - 90, 200, Duration::from_millis(3));
        let hour = h.window_at(now, 60, 1);
        assert_eq!((hour.requests, hour.errors), (3, 1));
        assert_eq!(hour.steps.len(), 60);
        assert_eq!(hour.steps.last(), Some(&(now, 2, 1)));
        let day = h.window_at(now, MINUTES, 15);
        assert_eq!(day.requests, 4);
        assert_eq!(day.steps.len(), 96);
        // The same slot a day later: the old counts are gone.
        h.request_at(now + MINUTES, 200, Duration::from_millis(3));
        let next_day = h.window_at(now + MINUTES, MINUTES, 15);
        assert_eq!(
            next_day.requests, 1,
            "the reused slot was emptied; the other minutes are older than a day"
        );
    }

    #[test]
    fn quantiles_come_from_the_histogram() {
        let h = History::default();
        let now = 1000;
        for _ in 0..9 {
            h.request_at(now, 200, Duration::from_micros(800));
        }
        h.request_at(now, 200, Duration::from_secs(2));
        let w = h.window_at(now, 60, 1);
        let p50 = w.quantile(0.5).unwrap();
        assert!(p50 > 0.0005 && p50 <= 0.001, "{p50}");
        let p99 = w.quantile(0.99).unwrap();
        assert!(p99 > 1.0 && p99 <= 2.5, "{p99}");
        assert_eq!(History::default().window_at(now, 60, 1).quantile(0.5), None);
        h.request_at(now, 200, Duration::from_secs(60));
        assert_eq!(h.window_at(now, 60, 1).quantile(1.0), None, "beyond 30 s");
    }

    #[test]
    fn hit_ratio_counts_lookups() {
        let h = History::default();
        let now = 5000;
        h.lookup_at(now, true);
        h.lookup_at(now, true);
        h.lookup_at(now - 1, false);
        let w = h.window_at(now, 60, 1);
        assert_eq!((w.hits, w.misses), (2, 1));
        assert!((w.hit_ratio().unwrap() - 2.0 / 3.0).abs() < 1e-9);
    }
}
