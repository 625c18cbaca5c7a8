//! Coalescing: concurrent requests for the same missing thing share one
//! upstream fetch. The fetch runs as its own task, so a client that goes
//! away does not cancel it for the others.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use crate::telemetry::metric;

pub struct Flights<T> {
    inflight: Arc<Mutex<HashMap<String, watch::Receiver<Option<T>>>>>,
}

/// The task running a flight died (it panicked or the runtime stopped).
#[derive(Debug)]
pub struct Lost;

impl<T: Clone + Send + Sync + 'static> Flights<T> {
    pub fn new() -> Self {
        Self {
            inflight: Arc::default(),
        }
    }

    /// The result of `work` for `key`: started now, or joined if under way.
    pub async fn run<F>(&self, key: &str, kind: &'static str, work: F) -> Result<T, Lost>
    where
        F: Future<Output = T> + Send + 'static,
    {
        let mut rx = {
            let mut inflight = self.inflight.lock().unwrap_or_else(|e| e.into_inner());
            match inflight.get(key) {
                Some(rx) => {
                    metric::coalesced(kind);
                    rx.clone()
                }
                None => {
                    let (tx, rx) = watch::channel(None);
                    inflight.insert(key.to_owned(), rx.clone());
                    let (map, key) = (self.inflight.clone(), key.to_owned());
                    tokio::spawn(async move {
                        let result = work.await;
                        // Late joiners between these two lines see the result at once.
                        let _ = tx.send(Some(result));
                        map.lock().unwrap_or_else(|e| e.into_inner()).remove(&key);
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
    use std::sync::atomic::{AtomicUsize, Ordering};
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
}
