//! Serving on worker threads, like nginx's worker processes: one acceptor
//! hands connections round-robin to single-threaded runtimes, and a
//! connection stays on its worker, so the hot path has no cross-thread
//! wake-ups and the load is spread evenly.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::serve::Listener;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};

type Conn = (std::net::TcpStream, SocketAddr);

/// Serves `app` on `workers` threads (the calling one included). `main` runs
/// on the calling thread; when it returns, modgate stops accepting and every
/// worker finishes its in-flight requests.
pub fn run(
    listener: std::net::TcpListener,
    app: Router,
    workers: usize,
    main: impl Future<Output = ()>,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let local = listener.local_addr()?;
    let (stop, stopped) = watch::channel(false);
    let mut senders = Vec::new();
    let mut threads = Vec::new();
    for i in 1..workers.max(1) {
        let (tx, rx) = mpsc::unbounded_channel();
        senders.push(tx);
        let handoff = Handoff { rx, local };
        let (app, stopped) = (app.clone(), stopped.clone());
        threads.push(
            std::thread::Builder::new()
                .name(format!("modgate-worker-{i}"))
                .spawn(move || runtime()?.block_on(serve(handoff, app, stopped)))?,
        );
    }
    let (tx, rx) = mpsc::unbounded_channel();
    senders.push(tx);
    let result = runtime()?.block_on(async {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let serving = tokio::spawn(serve(Handoff { rx, local }, app, stopped.clone()));
        tokio::spawn(accept(listener, senders, stopped));
        main.await;
        let _ = stop.send(true);
        serving.await.map_err(std::io::Error::other)?
    });
    for t in threads {
        t.join()
            .map_err(|_| std::io::Error::other("a worker thread panicked"))??;
    }
    result
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

async fn serve(
    handoff: Handoff,
    app: Router,
    mut stopped: watch::Receiver<bool>,
) -> std::io::Result<()> {
    axum::serve(handoff, app)
        .with_graceful_shutdown(async move {
            let _ = stopped.wait_for(|s| *s).await;
        })
        .await
}

/// Accepts connections and deals them to the workers in turn.
async fn accept(
    listener: tokio::net::TcpListener,
    workers: Vec<mpsc::UnboundedSender<Conn>>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut next = 0;
    loop {
        let accepted = tokio::select! {
            _ = stopped.wait_for(|s| *s) => return,
            accepted = listener.accept() => accepted,
        };
        match accepted.and_then(|(tcp, addr)| Ok((tcp.into_std()?, addr))) {
            Ok(conn) => {
                let _ = workers[next].send(conn);
                next = (next + 1) % workers.len();
            }
            Err(e) if is_per_connection(&e) => {}
            Err(e) => {
                // Typically out of file descriptors: back off instead of spinning.
                tracing::error!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

fn is_per_connection(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}

/// A worker's side of the hand-off: the connections dealt to it.
struct Handoff {
    rx: mpsc::UnboundedReceiver<Conn>,
    local: SocketAddr,
}

impl Listener for Handoff {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        loop {
            // After shutdown no more connections come; graceful shutdown ends the loop.
            let Some((tcp, addr)) = self.rx.recv().await else {
                return std::future::pending().await;
            };
            match TcpStream::from_std(tcp) {
                Ok(tcp) => {
                    // Small answers must not wait for Nagle's algorithm.
                    let _ = tcp.set_nodelay(true);
                    return (tcp, addr);
                }
                Err(e) => tracing::debug!(error = %e, "cannot adopt a connection"),
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local)
    }
}
