//! Slowing down clients that keep failing to authenticate.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Failures answered at once before the delay starts.
const FREE_FAILURES: u32 = 5;
/// The first delay, doubled with each further failure...
const FIRST_DELAY: Duration = Duration::from_millis(250);
/// ...up to this.
const MAX_DELAY: Duration = Duration::from_secs(5);
/// A client's failures are forgotten this long after its last one.
const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Clients remembered at most.
const CAPACITY: usize = 10_000;

/// Failed authentications per client address, and how long the server
/// should wait before answering the next failure with 401: nothing for the
/// first five failures within 15 minutes, then 250 ms doubling to 5 s. A
/// success forgets the client's failures.
///
/// Pure: the caller passes the time and does the waiting. IPv6 clients are
/// counted by /64, the block one host is usually given. Memory is bounded:
/// past 10 000 addresses the oldest are forgotten.
#[derive(Debug)]
pub struct Throttle {
    clients: Mutex<HashMap<IpAddr, Failures>>,
    /// Clients in the map, read without the lock so that the common case
    /// (no failures anywhere) costs a success nothing.
    len: AtomicUsize,
    capacity: usize,
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle::with_capacity(CAPACITY)
    }
}

impl Throttle {
    pub fn new() -> Throttle {
        Throttle::default()
    }

    fn with_capacity(capacity: usize) -> Throttle {
        Throttle {
            clients: Mutex::new(HashMap::new()),
            len: AtomicUsize::new(0),
            capacity,
        }
    }

    /// Records a failed authentication from `client` at `now`; returns how
    /// long to wait before answering it.
    pub fn failure(&self, client: IpAddr, now: Instant) -> Duration {
        let client = bucket(client);
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if !clients.contains_key(&client) && clients.len() >= self.capacity {
            evict(&mut clients, now, self.capacity);
        }
        let entry = clients.entry(client).or_insert(Failures {
            count: 0,
            last: now,
        });
        if now.saturating_duration_since(entry.last) > WINDOW {
            entry.count = 0;
        }
        entry.count = entry.count.saturating_add(1);
        entry.last = now;
        let count = entry.count;
        self.len.store(clients.len(), Ordering::Relaxed);
        delay(count)
    }

    /// Forgets `client`'s failures after it authenticated.
    pub fn success(&self, client: IpAddr) {
        if self.len.load(Ordering::Relaxed) == 0 {
            return;
        }
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        clients.remove(&bucket(client));
        self.len.store(clients.len(), Ordering::Relaxed);
    }
}

/// The wait after the `count`th failure in a row.
fn delay(count: u32) -> Duration {
    let Some(over) = count.checked_sub(FREE_FAILURES + 1) else {
        return Duration::ZERO;
    };
    // 2^5 * 250 ms is past the cap already.
    FIRST_DELAY.saturating_mul(1 << over.min(5)).min(MAX_DELAY)
}

/// The key a client is counted under: IPv4 (also when IPv4-mapped) as it
/// is, IPv6 by its /64.
fn bucket(client: IpAddr) -> IpAddr {
    match client {
        IpAddr::V4(_) => client,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(v6.to_bits() & !u128::from(u64::MAX))),
        },
    }
}

/// Makes room in a full map: drops clients whose window has passed, and if
/// that is not enough the oldest tenth, so that eviction runs rarely.
fn evict(clients: &mut HashMap<IpAddr, Failures>, now: Instant, capacity: usize) {
    clients.retain(|_, f| now.saturating_duration_since(f.last) <= WINDOW);
    if clients.len() < capacity {
        return;
    }
    let mut lasts: Vec<Instant> = clients.values().map(|f| f.last).collect();
    let drop = (capacity / 10).max(1);
    let (_, &mut cutoff, _) = lasts.select_nth_unstable(drop - 1);
    clients.retain(|_, f| f.last > cutoff);
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))
    }

    #[test]
    fn delay_grows_to_the_cap() {
        let throttle = Throttle::new();
        let t0 = Instant::now();
        let delays: Vec<u128> = (0..13)
            .map(|i| {
                throttle
                    .failure(ip(1), t0 + Duration::from_secs(i))
                    .as_millis()
            })
            .collect();
        assert_eq!(
            delays,
            [0, 0, 0, 0, 0, 250, 500, 1000, 2000, 4000, 5000, 5000, 5000]
        );
        // Another client is not slowed down.
        assert_eq!(throttle.failure(ip(2), t0), Duration::ZERO);
    }

    #[test]
    fn success_resets_and_the_window_forgets() {
        let throttle = Throttle::new();
        let t0 = Instant::now();
        for _ in 0..7 {
            throttle.failure(ip(1), t0);
        }
        assert_eq!(throttle.failure(ip(1), t0), Duration::from_secs(1));
        throttle.success(ip(1));
        assert_eq!(throttle.failure(ip(1), t0), Duration::ZERO);
        for _ in 0..6 {
            throttle.failure(ip(1), t0);
        }
        let later = t0 + WINDOW + Duration::from_secs(1);
        assert_eq!(throttle.failure(ip(1), later), Duration::ZERO);
    }

    #[test]
    fn ipv6_counts_by_64_and_mapped_ipv4_as_ipv4() {
        let throttle = Throttle::new();
        let t0 = Instant::now();
        for i in 0..6u16 {
            let addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, i);
            throttle.failure(IpAddr::V6(addr), t0);
        }
        let same_64 = Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0xffff, 1, 2, 3);
        assert_eq!(throttle.failure(IpAddr::V6(same_64), t0), FIRST_DELAY * 2);
        let other_64 = Ipv6Addr::new(0x2001, 0xdb8, 0, 2, 0, 0, 0, 1);
        assert_eq!(throttle.failure(IpAddr::V6(other_64), t0), Duration::ZERO);

        for _ in 0..6 {
            throttle.failure(ip(9), t0);
        }
        let mapped = Ipv4Addr::new(192, 0, 2, 9).to_ipv6_mapped();
        assert_eq!(throttle.failure(IpAddr::V6(mapped), t0), FIRST_DELAY * 2);
    }

    #[test]
    fn memory_is_bounded_and_the_oldest_go_first() {
        let throttle = Throttle::with_capacity(100);
        let t0 = Instant::now();
        for _ in 0..9 {
            throttle.failure(ip(0), t0);
        }
        for i in 0..500u32 {
            let addr = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
            throttle.failure(addr, t0 + Duration::from_millis(u64::from(i) + 1));
            assert!(throttle.clients.lock().unwrap().len() <= 100);
        }
        // The oldest client was dropped: it starts again.
        assert_eq!(
            throttle.failure(ip(0), t0 + Duration::from_secs(1)),
            Duration::ZERO
        );
        // A recent one is still counted.
        let recent = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + 499));
        for _ in 0..3 {
            throttle.failure(recent, t0 + Duration::from_secs(1));
        }
        assert_eq!(
            throttle.failure(recent, t0 + Duration::from_secs(1)),
            Duration::ZERO
        );
        assert_eq!(
            throttle.failure(recent, t0 + Duration::from_secs(1)),
            FIRST_DELAY
        );
    }
}
