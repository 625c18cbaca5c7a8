//! Slowing down guessing: failed authentications counted per claimed user
//! name and per client address.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Attempts let through at once before the delay starts.
const FREE_FAILURES: u32 = 5;
/// The first delay, doubled with each further attempt...
const FIRST_DELAY: Duration = Duration::from_millis(250);
/// ...up to this.
const MAX_DELAY: Duration = Duration::from_secs(5);
/// An attempt that would have to wait longer than this (others are queued
/// ahead of it) is refused at once rather than held.
const MAX_WAIT: Duration = MAX_DELAY;
/// A key's attempts are forgotten this long after its last one.
const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Keys remembered at most, per kind.
const CAPACITY: usize = 10_000;

/// Authentication attempts that may fail (every one but a credential the
/// server already knows to be good), counted per claimed user name and per
/// client address, and when the next may run: the first five within 15
/// minutes at once, then each waits 250 ms more than the last, doubling to
/// 5 s, after the one before it. An attempt is counted when it is admitted,
/// so concurrent guesses queue behind one another like sequential ones; one
/// that would wait more than 5 s is refused. Only a success resets, and only
/// its user's count: anonymous requests and other users' logins change
/// nothing.
///
/// Pure: the caller passes the time and does the waiting. IPv6 clients are
/// counted by /64, the block one host is usually given. Memory is bounded:
/// past 10 000 users or addresses the oldest are forgotten.
#[derive(Debug, Default)]
pub struct Throttle {
    /// Keyed by a hash of the name: any string a client sends is one key,
    /// whether or not such a user exists.
    users: Counts<u64>,
    clients: Counts<IpAddr>,
    hasher: RandomState,
}

/// What to do with an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Run it after `wait`; it is the `attempts`th in a row of its user or
    /// address, whichever is more.
    Admitted { wait: Duration, attempts: u32 },
    /// Too many attempts queued: refuse it without trying; the next may
    /// run after this long.
    Refused { retry_after: Duration },
}

impl Throttle {
    pub fn new() -> Throttle {
        Throttle::default()
    }

    /// Admits an attempt from `client` for the user named `user` (a Basic
    /// credential's) at `now`, and counts it as a failure until
    /// [`Throttle::success`] says otherwise.
    pub fn admit(&self, client: IpAddr, user: Option<&str>, now: Instant) -> Admission {
        let user = user.map(|u| self.hasher.hash_one(u));
        let mut users = lock(&self.users.map);
        let mut clients = lock(&self.clients.map);
        let ready = [
            user.and_then(|u| self.users.ready(&users, &u, now)),
            self.clients.ready(&clients, &bucket(client), now),
        ]
        .into_iter()
        .flatten()
        .fold(now, Instant::max);
        let wait = ready - now;
        if wait > MAX_WAIT {
            return Admission::Refused { retry_after: wait };
        }
        let mut attempts = self.clients.count(&mut clients, bucket(client), now, ready);
        if let Some(u) = user {
            attempts = attempts.max(self.users.count(&mut users, u, now, ready));
        }
        Admission::Admitted { wait, attempts }
    }

    /// An admitted attempt succeeded: `user`'s count starts again, and the
    /// address's loses this attempt.
    pub fn success(&self, client: IpAddr, user: Option<&str>) {
        if let Some(u) = user {
            lock(&self.users.map).remove(&self.hasher.hash_one(u));
        }
        if let Some(f) = lock(&self.clients.map).get_mut(&bucket(client)) {
            f.count = f.count.saturating_sub(1);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Attempts per key of one kind.
#[derive(Debug)]
struct Counts<K> {
    map: Mutex<HashMap<K, Failures>>,
    capacity: usize,
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
    /// When the next attempt may run.
    next: Instant,
}

impl<K: Hash + Eq + Copy> Default for Counts<K> {
    fn default() -> Self {
        Counts::with_capacity(CAPACITY)
    }
}

impl<K: Hash + Eq + Copy> Counts<K> {
    fn with_capacity(capacity: usize) -> Self {
        Counts {
            map: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    /// When `key`'s next attempt may run, if it is counted at all.
    fn ready(&self, map: &HashMap<K, Failures>, key: &K, now: Instant) -> Option<Instant> {
        map.get(key)
            .filter(|f| now.saturating_duration_since(f.last) <= WINDOW)
            .map(|f| f.next)
    }

    /// Counts an attempt run at `ready`; returns its number.
    fn count(&self, map: &mut HashMap<K, Failures>, key: K, now: Instant, ready: Instant) -> u32 {
        if !map.contains_key(&key) && map.len() >= self.capacity {
            evict(map, now, self.capacity);
        }
        let f = map.entry(key).or_insert(Failures {
            count: 0,
            last: now,
            next: now,
        });
        if now.saturating_duration_since(f.last) > WINDOW {
            f.count = 0;
        }
        f.count = f.count.saturating_add(1);
        f.last = now;
        f.next = f.next.max(ready + delay(f.count));
        f.count
    }
}

/// The wait after the `count`th attempt in a row before the next.
fn delay(count: u32) -> Duration {
    let Some(over) = count.checked_sub(FREE_FAILURES + 1) else {
        return Duration::ZERO;
    };
    // 2^5 * 250 ms is past the cap already.
    FIRST_DELAY.saturating_mul(1 << over.min(5)).min(MAX_DELAY)
}

/// The key a client is counted under: IPv4 (also when IPv4-mapped) as it
/// is, IPv6 by its /64.
pub fn bucket(client: IpAddr) -> IpAddr {
    match client {
        IpAddr::V4(_) => client,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(v6.to_bits() & !u128::from(u64::MAX))),
        },
    }
}

/// Makes room in a full map: drops keys whose window has passed, and if
/// that is not enough the oldest tenth, so that eviction runs rarely.
fn evict<K: Hash + Eq>(map: &mut HashMap<K, Failures>, now: Instant, capacity: usize) {
    map.retain(|_, f| now.saturating_duration_since(f.last) <= WINDOW);
    if map.len() < capacity {
        return;
    }
    let mut lasts: Vec<Instant> = map.values().map(|f| f.last).collect();
    let drop = (capacity / 10).max(1);
    let (_, &mut cutoff, _) = lasts.select_nth_unstable(drop - 1);
    map.retain(|_, f| f.last > cutoff);
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))
    }

    fn wait(a: Admission) -> Duration {
        match a {
            Admission::Admitted { wait, .. } => wait,
            Admission::Refused { .. } => panic!("refused"),
        }
    }

    /// Sequential attempts, each long after the one before: the wait
    /// each had to respect.
    #[test]
    fn delay_grows_to_the_cap() {
        let throttle = Throttle::new();
        let t0 = Instant::now();
        let mut at = t0;
        let mut waits = Vec::new();
        for _ in 0..13 {
            let w = wait(throttle.admit(ip(1), None, at));
            waits.push(w.as_millis());
            // The client comes back at once after each answer.
            at += w;
        }
        assert_eq!(
            waits,
            [0, 0, 0, 0, 0, 0, 250, 500, 1000, 2000, 4000, 5000, 5000]
        );
        // Another client is not slowed down.
        assert_eq!(wait(throttle.admit(ip(2), None, at)), Duration::ZERO);
    }

    /// Guesses sent all at once are queued like sequential ones, and those
    /// that would wait past the cap are refused without being counted.
    #[test]
    fn concurrent_attempts_wait_their_turn() {
        let throttle = Throttle::new();
        let t0 = Instant::now();
        let outcomes: Vec<Admission> = (0..64)
            .map(|_| throttle.admit(ip(1), Some("alice"), t0))
            .collect();
        let admitted: Vec<u128> = outcomes
            .iter()
            .filter_map(|a| match a {
                Admission::Admitted { wait, .. } => Some(wait.as_millis()),
                Admission::Refused { .. } => None,
            })
            .collect();
        assert_eq!(admitted, [0, 0, 0, 0, 0, 0, 250, 750, 1750, 3750]);
        assert!(matches!(
            outcomes[10],
            Admission::Refused { retry_after } if retry_after == Duration::from_millis(7750)
        ));
        // The same user from elsewhere waits too: the name is counted.
        assert!(matches!(
            throttle.admit(ip(2), Some("alice"), t0),
            Admission::Refused { .. }
        ));
        // A name that exists nowhere is counted the same way.
        for _ in 0..6 {
            throttle.admit(ip(3), Some("nobody"), t0);
        }
        assert_eq!(
            throttle.admit(ip(4), Some("nobody"), t0),
            Admission::Admitted {
                wait: FIRST_DELAY,
                attempts: 7
            }
        );
    }

    #[test]
    fn only_a_success_resets_and_only_its_user() {
        let throttle = Throttle::new();
        let t0 = Instant::now();
        for _ in 0..6 {
            throttle.admit(ip(1), Some("alice"), t0);
        }
        let later = t0 + Duration::from_secs(60);
        // Requests that are not attempts (anonymous ones) never reach the
        // throttle; a success of another user resets only that user.
        throttle.admit(ip(2), Some("bob"), later);
        throttle.success(ip(2), Some("bob"));
        assert_eq!(
            throttle.admit(ip(3), Some("alice"), later),
            Admission::Admitted {
                wait: Duration::ZERO,
                attempts: 7
            }
        );
        throttle.success(ip(3), Some("alice"));
        assert_eq!(
            throttle.admit(ip(3), Some("alice"), later),
            Admission::Admitted {
                wait: Duration::ZERO,
                attempts: 1
            }
        );
        // ip(1)'s own count stands: six attempts, none succeeded.
        assert_eq!(
            throttle.admit(ip(1), None, later),
            Admission::Admitted {
                wait: Duration::ZERO,
                attempts: 7
            }
        );
        let much_later = later + WINDOW + Duration::from_secs(1);
        assert_eq!(
            throttle.admit(ip(1), None, much_later),
            Admission::Admitted {
                wait: Duration::ZERO,
                attempts: 1
            }
        );
    }

    #[test]
    fn ipv6_counts_by_64_and_mapped_ipv4_as_ipv4() {
        let throttle = Throttle::new();
        let t0 = Instant::now();
        for i in 0..6u16 {
            let addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, i);
            throttle.admit(IpAddr::V6(addr), None, t0);
        }
        let same_64 = Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0xffff, 1, 2, 3);
        assert_eq!(
            wait(throttle.admit(IpAddr::V6(same_64), None, t0)),
            FIRST_DELAY
        );
        let other_64 = Ipv6Addr::new(0x2001, 0xdb8, 0, 2, 0, 0, 0, 1);
        assert_eq!(
            wait(throttle.admit(IpAddr::V6(other_64), None, t0)),
            Duration::ZERO
        );

        for _ in 0..6 {
            throttle.admit(ip(9), None, t0);
        }
        let mapped = Ipv4Addr::new(192, 0, 2, 9).to_ipv6_mapped();
        assert_eq!(
            wait(throttle.admit(IpAddr::V6(mapped), None, t0)),
            FIRST_DELAY
        );
    }

    #[test]
    fn memory_is_bounded_and_the_oldest_go_first() {
        let counts = Counts::<u32>::with_capacity(100);
        let t0 = Instant::now();
        let mut map = counts.map.lock().unwrap();
        for _ in 0..9 {
            counts.count(&mut map, 0, t0, t0);
        }
        for i in 1..=500u32 {
            let at = t0 + Duration::from_millis(u64::from(i));
            counts.count(&mut map, i, at, at);
            assert!(map.len() <= 100);
        }
        let t1 = t0 + Duration::from_secs(1);
        // The oldest key was dropped: it starts again.
        assert_eq!(counts.count(&mut map, 0, t1, t1), 1);
        // A recent one is still counted.
        assert_eq!(counts.count(&mut map, 500, t1, t1), 2);
    }
}
