//! Serving on worker threads, like nginx's worker processes: one acceptor
//! hands connections round-robin to single-threaded runtimes, and a
//! connection stays on its worker, so the hot path has no cross-thread
//! wake-ups and the load is spread evenly. Also the inbound limits:
//! concurrent connections, request-header time and size, shutdown drain.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};

/// Request line and headers larger than this are refused.
const MAX_HEADER_BYTES: usize = 64 << 10;

#[derive(Debug, Clone)]
pub struct Limits {
    pub max_connections: usize,
    /// Slow clients (slowloris) lose their connection after this.
    pub header_read_timeout: Duration,
    /// How long shutdown waits for in-flight requests.
    pub shutdown_timeout: Duration,
}

/// An accepted connection and its place under the connection limit.
type Conn = (std::net::TcpStream, SocketAddr, OwnedSemaphorePermit);

/// Serves `app` on `workers` threads (the calling one included). `main` runs
/// on the calling thread; when it returns, modgate stops accepting and every
/// worker finishes its in-flight requests, for at most the shutdown timeout.
pub fn run(
    listener: std::net::TcpListener,
    app: Router,
    workers: usize,
    limits: Limits,
    main: impl Future<Output = ()>,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let (stop, stopped) = watch::channel(false);
    let mut senders = Vec::new();
    let mut threads = Vec::new();
    for i in 1..workers.max(1) {
        let (tx, rx) = mpsc::unbounded_channel();
        senders.push(tx);
        let (app, stopped, limits) = (app.clone(), stopped.clone(), limits.clone());
        threads.push(
            std::thread::Builder::new()
                .name(format!("modgate-worker-{i}"))
                .spawn(move || {
                    runtime()?.block_on(serve(rx, app, stopped, limits));
                    Ok::<_, std::io::Error>(())
                })?,
        );
    }
    let (tx, rx) = mpsc::unbounded_channel();
    senders.push(tx);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    runtime()?.block_on(async {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let serving = tokio::spawn(serve(rx, app, stopped.clone(), limits));
        tokio::spawn(accept(listener, senders, permits, stopped));
        main.await;
        let _ = stop.send(true);
        serving.await.map_err(std::io::Error::other)
    })?;
    for t in threads {
        t.join()
            .map_err(|_| std::io::Error::other("a worker thread panicked"))??;
    }
    Ok(())
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// One worker: serves the connections dealt to it until shutdown, then drains.
async fn serve(
    mut conns: mpsc::UnboundedReceiver<Conn>,
    app: Router,
    mut stopped: watch::Receiver<bool>,
    limits: Limits,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(MAX_HEADER_BYTES);
    builder.http2().timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
    loop {
        let (tcp, _addr, permit) = tokio::select! {
            _ = stopped.wait_for(|s| *s) => break,
            conn = conns.recv() => match conn {
                Some(conn) => conn,
                None => break,
            },
        };
        let tcp = match TcpStream::from_std(tcp) {
            Ok(tcp) => tcp,
            Err(e) => {
                tracing::debug!(error = %e, "cannot adopt a connection");
                continue;
            }
        };
        // Small answers must not wait for Nagle's algorithm.
        let _ = tcp.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let conn = builder
            .serve_connection(TokioIo::new(tcp), service)
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(permit);
        });
    }
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.shutdown_timeout) => {
            tracing::warn!("shutdown timeout: closing the connections still open");
        }
    }
}

/// Accepts connections, under the connection limit, and deals them to the
/// workers in turn.
async fn accept(
    listener: tokio::net::TcpListener,
    workers: Vec<mpsc::UnboundedSender<Conn>>,
    permits: Arc<Semaphore>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut next = 0;
    loop {
        // At the limit, new connections wait in the kernel's backlog.
        let permit = tokio::select! {
            _ = stopped.wait_for(|s| *s) => return,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => return,
            },
        };
        let accepted = tokio::select! {
            _ = stopped.wait_for(|s| *s) => return,
            accepted = listener.accept() => accepted,
        };
        match accepted.and_then(|(tcp, addr)| Ok((tcp.into_std()?, addr))) {
            Ok((tcp, addr)) => {
                let _ = workers[next].send((tcp, addr, permit));
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
