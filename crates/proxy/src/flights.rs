//! Coalescing: concurrent requests for the same missing thing (an artifact,
//! a list, a checksum database lookup or tile) share one fetch. The fetch
//! runs as its own task, so a client that goes away does not cancel it for
//! the others. A fetch that panics or is cancelled releases its key: its
//! waiters get [`Lost`], and the next request starts a new fetch.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use crate::lock;
use crate::telemetry::metric;

pub struct Flights<T> {
    inflight: Arc<Mutex<HashMap<String, Flight<T>>>>,
    next_id: AtomicU64,
}

struct Flight<T> {
    /// Tells this flight from a later one under the same key.
    id: u64,
    /// `None` until the result lands.
    rx: watch::Receiver<Option<T>>,
}

/// The task running a flight died before it landed (it panicked, or the
/// runtime is shutting down).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the fetch was interrupted")]
pub struct Lost;

/// Removes its flight from the map when the task ends, however it ends:
/// a panic unwinds through this drop too.
struct Release<T> {
    inflight: Arc<Mutex<HashMap<String, Flight<T>>>>,
    key: String,
    id: u64,
}

impl<T> Drop for Release<T> {
    fn drop(&mut self) {
        let mut map = lock(&self.inflight);
        if map.get(&self.key).is_some_and(|f| f.id == self.id) {
            map.remove(&self.key);
        }
    }
}

impl<T: Clone + Send + Sync + 'static> Default for Flights<T> {
    fn default() -> Self {
        Self {
            inflight: Arc::default(),
            next_id: AtomicU64::new(0),
        }
    }
}

impl<T: Clone + Send + Sync + 'static> Flights<T> {
    pub fn new() -> Self {
        Self::default()
    }

    /// The result of `work` for `key`: started now, or joined if under way.
    /// `kind` labels the coalesced-waits metric.
    pub async fn run<F>(&self, key: &str, kind: &'static str, work: F) -> Result<T, Lost>
    where
        F: Future<Output = T> + Send + 'static,
    {
        let mut rx = {
            let mut inflight = lock(&self.inflight);
            match inflight.get(key) {
                // A flight whose sender is gone without landing is dead.
                Some(f) if f.rx.has_changed().is_ok() => {
                    metric::coalesced(kind);
                    f.rx.clone()
                }
                _ => {
                    let id = self.next_id.fetch_add(1, Ordering::Relaxed);
                    let (tx, rx) = watch::channel(None);
                    inflight.insert(key.to_owned(), Flight { id, rx: rx.clone() });
                    let release = Release {
                        inflight: Arc::clone(&self.inflight),
                        key: key.to_owned(),
                        id,
                    };
                    tokio::spawn(async move {
                        let release = release;
                        let result = work.await;
                        // Late joiners between these two lines see the result at once.
                        let _ = tx.send(Some(result));
                        drop(release);
                    });
                    rx
                }
            }
        };
        let done = rx.wait_for(Option::is_some).await.map_err(|_| Lost)?;
        Ok(done.clone().expect("waited for Some"))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn concurrent_callers_share_one_run_that_outlives_them() {
        let flights = Arc::new(Flights::<usize>::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let work = |runs: Arc<AtomicUsize>| async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            runs.fetch_add(1, Ordering::SeqCst) + 41
        };
        // One caller gives up at once: the run must go on for the rest.
        let quitter = {
            let (f, r) = (flights.clone(), runs.clone());
            tokio::spawn(async move { f.run("k", "test", work(r)).await })
        };
        tokio::task::yield_now().await;
        quitter.abort();
        let mut waiters = Vec::new();
        for _ in 0..10 {
            let (f, r) = (flights.clone(), runs.clone());
            waiters.push(tokio::spawn(async move {
                f.run("k", "test", work(r)).await.unwrap()
            }));
        }
        for w in waiters {
            assert_eq!(w.await.unwrap(), 41);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        // Once done, the next call runs again.
        assert_eq!(
            flights.run("k", "test", work(runs.clone())).await.unwrap(),
            42
        );
    }

    #[tokio::test]
    async fn a_fill_that_panics_does_not_poison_its_key() {
        let flights = Arc::new(Flights::<u32>::new());
        let panicking = async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            panic!("fill failed badly");
        };
        // The starter and a joiner both learn that the flight was lost.
        let joiner = {
            let f = flights.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(5)).await;
                f.run("k", "test", async { 1 }).await
            })
        };
        assert!(flights.run("k", "test", panicking).await.is_err());
        assert!(joiner.await.unwrap().is_err());
        // The next request starts a new fetch, which succeeds.
        assert_eq!(flights.run("k", "test", async { 7 }).await.unwrap(), 7);
        assert!(lock(&flights.inflight).is_empty());
    }
}
