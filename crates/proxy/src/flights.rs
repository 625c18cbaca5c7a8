//! Coalescing: concurrent requests for the same missing thing (an artifact,
//! a list, a checksum database lookup or tile) share one fetch. The fetch
//! runs as its own task, so a client that goes away does not cancel it for
//! the others. A fetch that panics or is cancelled releases its key: its
//! waiters get [`Lost`], and the next request starts a new fetch.
//!
//! A fetch may publish its result before it ends ([`Flights::run_then`]):
//! a verified artifact is answered while it is being made durable, and the
//! key stays taken until then, so a request in that window gets the
//! published result rather than a second fetch.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
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
    rx: watch::Receiver<Slot<T>>,
}

struct Slot<T> {
    /// `None` until the result lands.
    result: Option<T>,
    /// The work after the result (making it durable) is done too.
    settled: bool,
}

/// What a flight still does after publishing its result.
pub type Then = Pin<Box<dyn Future<Output = ()> + Send>>;

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
    /// `kind` labels the coalesced-waits metric. The work is spawned (or
    /// dropped, when joining) before this returns, so the future waited on
    /// is small whatever the work's size: the request futures holding it
    /// stay small.
    pub fn run<F>(
        &self,
        key: &str,
        kind: &'static str,
        work: F,
    ) -> impl Future<Output = Result<T, Lost>> + Send + use<T, F>
    where
        F: Future<Output = T> + Send + 'static,
    {
        self.run_then(key, kind, async move { (work.await, None) })
    }

    /// Like [`Flights::run`], for work that publishes its result and then
    /// goes on with [`Then`]; the key stays taken until that is done.
    pub fn run_then<F>(
        &self,
        key: &str,
        kind: &'static str,
        work: F,
    ) -> impl Future<Output = Result<T, Lost>> + Send + use<T, F>
    where
        F: Future<Output = (T, Option<Then>)> + Send + 'static,
    {
        let mut inflight = lock(&self.inflight);
        let rx = match inflight.get(key) {
            // A flight whose sender is gone without landing is dead.
            Some(f) if f.rx.has_changed().is_ok() => {
                metric::coalesced(kind);
                f.rx.clone()
            }
            _ => {
                let id = self.next_id.fetch_add(1, Ordering::Relaxed);
                let (tx, rx) = watch::channel(Slot {
                    result: None,
                    settled: false,
                });
                inflight.insert(key.to_owned(), Flight { id, rx: rx.clone() });
                let release = Release {
                    inflight: Arc::clone(&self.inflight),
                    key: key.to_owned(),
                    id,
                };
                tokio::spawn(async move {
                    let release = release;
                    let (result, then) = work.await;
                    // Late joiners between these lines see the result at once.
                    tx.send_modify(|slot| slot.result = Some(result));
                    if let Some(then) = then {
                        then.await;
                    }
                    tx.send_modify(|slot| slot.settled = true);
                    drop(release);
                });
                rx
            }
        };
        drop(inflight);
        landed(rx)
    }

    /// Waits until no flight holds `key`: what it published is durable (or
    /// it died).
    pub async fn settled(&self, key: &str) {
        let rx = lock(&self.inflight).get(key).map(|f| f.rx.clone());
        if let Some(mut rx) = rx {
            let _ = rx.wait_for(|slot| slot.settled).await;
        }
    }

    /// Waits until every flight under way now has settled (for shutdown).
    pub async fn settle_all(&self) {
        let all: Vec<_> = lock(&self.inflight)
            .values()
            .map(|f| f.rx.clone())
            .collect();
        for mut rx in all {
            let _ = rx.wait_for(|slot| slot.settled).await;
        }
    }
}

/// The result a flight publishes, once it has.
async fn landed<T: Clone>(mut rx: watch::Receiver<Slot<T>>) -> Result<T, Lost> {
    let slot = rx
        .wait_for(|slot| slot.result.is_some())
        .await
        .map_err(|_| Lost)?;
    Ok(slot.result.clone().expect("waited for Some"))
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
    async fn a_published_result_is_shared_until_the_flight_settles() {
        let flights = Arc::new(Flights::<u32>::new());
        let (go_on, wait) = tokio::sync::oneshot::channel::<()>();
        let then: Then = Box::pin(async move {
            let _ = wait.await;
        });
        // The starter has its answer while the work goes on.
        let first = flights
            .run_then("k", "test", async move { (1, Some(then)) })
            .await;
        assert_eq!(first.unwrap(), 1);
        // A request meanwhile gets the published result, not a new run.
        assert_eq!(flights.run("k", "test", async { 2 }).await.unwrap(), 1);
        let settled = {
            let f = flights.clone();
            tokio::spawn(async move { f.settled("k").await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!settled.is_finished(), "settled before the work ended");
        go_on.send(()).unwrap();
        settled.await.unwrap();
        flights.settle_all().await;
        // Settled: the next request runs again.
        assert_eq!(flights.run("k", "test", async { 3 }).await.unwrap(), 3);
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
