//! Serving on worker threads, like nginx's worker processes: one acceptor
//! hands connections round-robin to single-threaded runtimes, and a
//! connection stays on its worker, so the hot path has no cross-thread
//! wake-ups and the load is spread evenly. Also the inbound limits:
//! concurrent connections, request-header time and size, shutdown drain;
//! and TLS, whose handshake runs on the worker under the same time limit
//! as the request headers.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::response::Response;
use hyper::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use modgate_redact::Chain;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::task::AbortHandle;
use tower::ServiceExt;

/// Request line and headers larger than this are refused.
const MAX_HEADER_BYTES: usize = 64 << 10;

/// A request extension: the address of the client that sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub SocketAddr);

/// A request extension present when the request came over TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViaTls;

#[derive(Debug, Clone)]
pub struct Limits {
    /// At this many connections, idle kept-alive ones are closed to make
    /// room; if none is idle, new connections wait in the backlog.
    pub max_connections: usize,
    /// Connections open at once from one client address (IPv6: one /64);
    /// more are closed as soon as they are accepted.
    pub max_connections_per_client: usize,
    /// Slow clients (slowloris) lose their connection after this.
    pub header_read_timeout: Duration,
    /// How long shutdown waits for in-flight requests.
    pub shutdown_timeout: Duration,
    /// Run on every worker thread every few seconds: the binary's allocator
    /// hands back the memory that a burst of clients left in its heaps.
    pub release_memory: fn(),
}

/// Work the server still does after its last answer (storing what it
/// answered): each worker waits for it before it stops.
pub type Settle = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// An accepted connection and its places under the connection limits.
type Conn = (
    std::net::TcpStream,
    SocketAddr,
    (OwnedSemaphorePermit, ClientSlot),
);

/// Serves `app` on `workers` threads (the calling one included), over TLS
/// with `tls` (see [`modgate_net::tls::server_config`]), else plain HTTP. `main`
/// runs on the calling thread; when it returns, modgate stops accepting and
/// every worker finishes its in-flight requests and then `settle`, for at
/// most the shutdown timeout.
pub fn run(
    listener: std::net::TcpListener,
    app: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    workers: usize,
    limits: Limits,
    main: impl Future<Output = ()>,
    settle: Settle,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let (stop, stopped) = watch::channel(false);
    let (reclaim, reclaimed) = watch::channel(0u64);
    let mut senders = Vec::new();
    let mut threads = Vec::new();
    for i in 1..workers.max(1) {
        let (tx, rx) = mpsc::unbounded_channel();
        senders.push(tx);
        let (app, stopped, limits) = (app.clone(), stopped.clone(), limits.clone());
        let (tls, settle, reclaimed) = (tls.clone(), settle.clone(), reclaimed.clone());
        threads.push(
            std::thread::Builder::new()
                .name(format!("modgate-worker-{i}"))
                .spawn(move || {
                    let signals = Signals { stopped, reclaimed };
                    runtime(limits.release_memory)?
                        .block_on(serve(rx, app, tls, signals, limits, settle));
                    Ok::<_, std::io::Error>(())
                })?,
        );
    }
    let (tx, rx) = mpsc::unbounded_channel();
    senders.push(tx);
    let limit = Limit {
        permits: Arc::new(Semaphore::new(limits.max_connections)),
        per_client: Arc::new(PerClient::new(limits.max_connections_per_client)),
        reclaim,
    };
    runtime(limits.release_memory)?.block_on(async {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let signals = Signals {
            stopped: stopped.clone(),
            reclaimed,
        };
        let serving = tokio::spawn(serve(rx, app, tls, signals, limits, settle));
        tokio::spawn(accept(listener, senders, limit, stopped));
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

/// Blocking-pool threads per runtime: file reads, zip checks and staging
/// queue for these rather than start hundreds of threads, each of which
/// would keep an allocator heap of its own.
const BLOCKING_THREADS: usize = 32;

/// How long an idle blocking-pool thread lives (tokio's default is 10 s):
/// each keeps an allocator heap and a stack, which a burst of misses
/// leaves behind.
const BLOCKING_KEEP_ALIVE: Duration = Duration::from_secs(2);

fn runtime(release_memory: fn()) -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(BLOCKING_THREADS)
        .thread_keep_alive(BLOCKING_KEEP_ALIVE)
        // What the thread's heap holds free goes back as it ends.
        .on_thread_stop(release_memory)
        .build()
}

/// What a worker is told by the acceptor.
struct Signals {
    /// Shutting down.
    stopped: watch::Receiver<bool>,
    /// Bumped while the connection limit keeps a new client waiting: close
    /// the idlest connection.
    reclaimed: watch::Receiver<u64>,
}

/// One worker: serves the connections dealt to it until shutdown, then drains.
async fn serve(
    mut conns: mpsc::UnboundedReceiver<Conn>,
    app: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    signals: Signals,
    limits: Limits,
    settle: Settle,
) {
    let Signals {
        mut stopped,
        mut reclaimed,
    } = signals;
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // No header_read_timeout here: hyper arms a timer for every request,
    // which costs a sixth of the hot path; the sweeper below does it cheaply.
    builder.http1().max_buf_size(MAX_HEADER_BYTES);
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    let tls = tls.map(tokio_rustls::TlsAcceptor::from);
    let graceful = GracefulShutdown::new();
    let clock = Clock::new();
    let mut watched: Vec<(Weak<ConnState>, AbortHandle)> = Vec::new();
    let mut sweep = tokio::time::interval(SWEEP_INTERVAL);
    let mut ticks = 0u32;
    loop {
        let (tcp, addr, permit) = tokio::select! {
            _ = stopped.wait_for(|s| *s) => break,
            Ok(()) = reclaimed.changed() => {
                close_idlest(&mut watched);
                continue;
            }
            _ = sweep.tick() => {
                sweep_slow(&mut watched, &clock, &limits);
                ticks = ticks.wrapping_add(1);
                if ticks.is_multiple_of(RELEASE_EVERY) {
                    (limits.release_memory)();
                }
                continue;
            }
            conn = conns.recv() => match conn {
                Some(conn) => conn,
                None => break,
            },
        };
        let tcp = match TcpStream::from_std(tcp) {
            Ok(tcp) => tcp,
            Err(e) => {
                tracing::debug!(error = %Chain(&e), "cannot adopt a connection");
                continue;
            }
        };
        // Small answers must not wait for Nagle's algorithm.
        let _ = tcp.set_nodelay(true);
        let state = Arc::new(ConnState::new(clock.now()));
        let service = TowerToHyperService::new(conn_service(
            app.clone(),
            state.clone(),
            clock.clone(),
            addr,
            tls.is_some(),
        ));
        let task = match &tls {
            None => {
                let io = Watched::new(tcp, state.clone(), clock.clone());
                let conn = builder
                    .serve_connection(TokioIo::new(io), service)
                    .into_owned();
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %Chain(&*e), "connection ended with an error");
                    }
                    drop(permit);
                })
            }
            Some(acceptor) => {
                // The sweeper bounds the handshake: the connection owes a
                // request from its start, so a client that never sends its
                // ClientHello is closed at the request-header timeout.
                let handshake = acceptor.accept(tcp);
                let (builder, mut stopped) = (builder.clone(), stopped.clone());
                let (state, clock) = (state.clone(), clock.clone());
                // Taken now, so that shutdown waits for handshakes under way.
                let watcher = graceful.watcher();
                tokio::spawn(async move {
                    let tls = tokio::select! {
                        tls = handshake => match tls {
                            Ok(tls) => tls,
                            Err(e) => {
                                tracing::debug!(error = %Chain(&e), "TLS handshake failed");
                                return;
                            }
                        },
                        _ = stopped.wait_for(|s| *s) => return,
                    };
                    let io = Watched::new(tls, state, clock);
                    let conn = builder.serve_connection(TokioIo::new(io), service);
                    if let Err(e) = watcher.watch(conn).await {
                        tracing::debug!(error = %Chain(&*e), "connection ended with an error");
                    }
                    drop(permit);
                })
            }
        };
        watched.push((Arc::downgrade(&state), task.abort_handle()));
    }
    let deadline = tokio::time::Instant::now() + limits.shutdown_timeout;
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep_until(deadline) => {
            tracing::warn!("shutdown timeout: closing the connections still open");
        }
    }
    if tokio::time::timeout_at(deadline, settle()).await.is_err() {
        tracing::warn!("shutdown timeout: some answered artifacts were not stored");
    }
}

/// A connection's service: notes for the sweeper when a request's headers
/// are all in and while it is answered, and tells the app who asks.
fn conn_service(
    app: Router,
    state: Arc<ConnState>,
    clock: Clock,
    client: SocketAddr,
    tls: bool,
) -> impl tower::Service<
    Request<Incoming>,
    Response = Response,
    Error = Infallible,
    Future: Send + 'static,
> + Clone
+ Send
+ 'static {
    tower::service_fn(move |mut req: Request<Incoming>| {
        // Reaching the service means the request headers are all in.
        state.reading_since.store(0, Ordering::Relaxed);
        let extensions = req.extensions_mut();
        extensions.insert(ClientAddr(client));
        if tls {
            extensions.insert(ViaTls);
        }
        // A request being answered (a slow miss) is not idleness.
        let answering = Answering::start(&state, &clock);
        let answer = app.clone().oneshot(req);
        let sending = state.clone();
        async move {
            let resp = answer.await;
            drop(answering);
            // Nor is an answer's body still going out (a download).
            sending.sending.fetch_add(1, Ordering::Relaxed);
            resp.map(|resp| {
                resp.map(|body| {
                    axum::body::Body::new(Sending {
                        body,
                        _state: SendingGuard(sending),
                    })
                })
            })
        }
    })
}

/// A response body, counted in its connection's `sending` until it ends
/// (hyper drops it then) or the connection does.
struct Sending<B> {
    body: B,
    _state: SendingGuard,
}

struct SendingGuard(Arc<ConnState>);

impl Drop for SendingGuard {
    fn drop(&mut self) {
        self.0.sending.fetch_sub(1, Ordering::Relaxed);
    }
}

impl<B: hyper::body::Body + Unpin> hyper::body::Body for Sending<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<B::Data>, B::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

/// How often connections are checked for slow requests and idleness.
const SWEEP_INTERVAL: Duration = Duration::from_millis(250);
/// Sweeps between two calls of `release_memory` (5 s).
const RELEASE_EVERY: u32 = 20;
/// A kept-alive connection with no traffic for this long is closed.
const IDLE_CONNECTION: Duration = Duration::from_secs(60);

/// Milliseconds since the worker started: cheap to store in atomics.
#[derive(Clone)]
struct Clock(Instant);

impl Clock {
    fn new() -> Self {
        Clock(Instant::now())
    }

    /// Never 0, which means "not set" below.
    fn now(&self) -> u64 {
        self.0.elapsed().as_millis() as u64 + 1
    }
}

/// What the sweeper knows of a connection.
struct ConnState {
    /// When the client began sending a request not yet read whole; 0 if none.
    reading_since: AtomicU64,
    last_activity: AtomicU64,
    /// Requests read whose answer has not started yet.
    answering: AtomicU32,
    /// Answers whose body is still being sent.
    sending: AtomicU32,
}

impl ConnState {
    fn new(now: u64) -> Self {
        // A new connection owes a request.
        Self {
            reading_since: AtomicU64::new(now),
            last_activity: AtomicU64::new(now),
            answering: AtomicU32::new(0),
            sending: AtomicU32::new(0),
        }
    }
}

/// Counts a request as being answered until dropped (its response is ready,
/// or the request was abandoned); then the idle clock starts anew.
struct Answering {
    state: Arc<ConnState>,
    clock: Clock,
}

impl Answering {
    fn start(state: &Arc<ConnState>, clock: &Clock) -> Self {
        state.answering.fetch_add(1, Ordering::Relaxed);
        Self {
            state: state.clone(),
            clock: clock.clone(),
        }
    }
}

impl Drop for Answering {
    fn drop(&mut self) {
        self.state
            .last_activity
            .store(self.clock.now(), Ordering::Relaxed);
        self.state.answering.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Closes connections whose request headers take too long (slowloris) or
/// that have been idle too long, and forgets closed ones.
fn sweep_slow(watched: &mut Vec<(Weak<ConnState>, AbortHandle)>, clock: &Clock, limits: &Limits) {
    let now = clock.now();
    let header_limit = limits.header_read_timeout.as_millis() as u64;
    let idle_limit = IDLE_CONNECTION.as_millis() as u64;
    watched.retain(|(state, task)| {
        let Some(state) = state.upgrade() else {
            return false;
        };
        let reading = state.reading_since.load(Ordering::Relaxed);
        let slow = reading != 0 && now.saturating_sub(reading) > header_limit;
        let idle = state.answering.load(Ordering::Relaxed) == 0
            && now.saturating_sub(state.last_activity.load(Ordering::Relaxed)) > idle_limit;
        if slow || idle {
            tracing::debug!(slow, idle, "closing a connection");
            task.abort();
            return false;
        }
        true
    });
}

/// Closes the connection idle for longest, if one is idle (kept alive
/// between requests, none being read, answered or sent), to make room for
/// a new client at the connection limit. A client reopens a closed keep-alive
/// connection as it would after the idle timeout.
fn close_idlest(watched: &mut Vec<(Weak<ConnState>, AbortHandle)>) {
    let idlest = watched
        .iter()
        .enumerate()
        .filter_map(|(i, (state, _))| {
            let state = state.upgrade()?;
            let idle = state.answering.load(Ordering::Relaxed) == 0
                && state.sending.load(Ordering::Relaxed) == 0
                && state.reading_since.load(Ordering::Relaxed) == 0;
            idle.then(|| (state.last_activity.load(Ordering::Relaxed), i))
        })
        .min();
    if let Some((_, i)) = idlest {
        tracing::debug!("closing the idlest connection: at the connection limit");
        watched.swap_remove(i).1.abort();
    }
}

/// A connection's stream (a socket, or TLS over it), noting for the
/// sweeper when requests start and when answers go out.
struct Watched<IO> {
    io: IO,
    state: Arc<ConnState>,
    clock: Clock,
    framing: Framing,
}

/// What bytes from the client mean, known from the first of them.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Framing {
    Unknown,
    /// Bytes in begin a request (when none is being read).
    Http1,
    /// HTTP/2 (ALPN h2 or prior knowledge): clients send frames (window
    /// updates while an answer streams, pings) that begin no request, so
    /// bytes in do not start the request-header clock; only the first
    /// request is bounded, from the connection's start.
    Http2,
}

/// How every HTTP/2 connection begins (RFC 9113 3.4); no HTTP/1 method is PRI.
const HTTP2_PREFACE: &[u8] = b"PRI ";

impl<IO> Watched<IO> {
    fn new(io: IO, state: Arc<ConnState>, clock: Clock) -> Self {
        Self {
            io,
            state,
            clock,
            framing: Framing::Unknown,
        }
    }

    fn written(&self) {
        self.state
            .last_activity
            .store(self.clock.now(), Ordering::Relaxed);
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Watched<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if buf.filled().len() > before {
            if self.framing == Framing::Unknown {
                self.framing = if buf.filled()[before..].starts_with(HTTP2_PREFACE) {
                    Framing::Http2
                } else {
                    Framing::Http1
                };
            }
            let now = self.clock.now();
            self.state.last_activity.store(now, Ordering::Relaxed);
            if self.framing == Framing::Http1 {
                let _ = self.state.reading_since.compare_exchange(
                    0,
                    now,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                );
            }
        }
        polled
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Watched<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write(cx, data);
        self.written();
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.written();
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// How often the acceptor, waiting at the connection limit, asks the
/// workers again to close an idle connection.
const RECLAIM_EVERY: Duration = Duration::from_millis(100);

/// The connection limits, as the acceptor applies them.
struct Limit {
    permits: Arc<Semaphore>,
    per_client: Arc<PerClient>,
    reclaim: watch::Sender<u64>,
}

/// Accepts connections, under the connection limits, and deals them to the
/// workers in turn.
async fn accept(
    listener: tokio::net::TcpListener,
    workers: Vec<mpsc::UnboundedSender<Conn>>,
    limit: Limit,
    mut stopped: watch::Receiver<bool>,
) {
    let mut next = 0;
    loop {
        let accepted = tokio::select! {
            _ = stopped.wait_for(|s| *s) => return,
            accepted = listener.accept() => accepted,
        };
        match accepted.and_then(|(tcp, addr)| Ok((tcp.into_std()?, addr))) {
            Ok((tcp, addr)) => {
                let Some(slot) = limit.per_client.enter(addr.ip()) else {
                    tracing::debug!(client = %addr.ip(), "refused a connection: too many from this client");
                    continue;
                };
                // At the limit, this client waits while idle connections
                // are closed to make room; if none is idle, until one
                // ends. Later clients wait in the kernel's backlog.
                let permit = loop {
                    if let Ok(p) = limit.permits.clone().try_acquire_owned() {
                        break p;
                    }
                    limit.reclaim.send_modify(|n| *n = n.wrapping_add(1));
                    tokio::select! {
                        _ = stopped.wait_for(|s| *s) => return,
                        permit = limit.permits.clone().acquire_owned() => match permit {
                            Ok(p) => break p,
                            Err(_) => return,
                        },
                        () = tokio::time::sleep(RECLAIM_EVERY) => {}
                    }
                };
                let _ = workers[next].send((tcp, addr, (permit, slot)));
                next = (next + 1) % workers.len();
            }
            Err(e) if is_per_connection(&e) => {}
            Err(e) => {
                // Typically out of file descriptors: back off instead of spinning.
                tracing::error!(error = %Chain(&e), "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Connections open per client address.
struct PerClient {
    open: std::sync::Mutex<HashMap<IpAddr, usize>>,
    max: usize,
}

/// A connection's place under its client's cap, given back when dropped.
struct ClientSlot {
    per_client: Arc<PerClient>,
    client: IpAddr,
}

impl PerClient {
    fn new(max: usize) -> Self {
        Self {
            open: std::sync::Mutex::new(HashMap::new()),
            max,
        }
    }

    /// A place for one more connection from `client`, unless it has
    /// `max` open.
    fn enter(self: &Arc<Self>, client: IpAddr) -> Option<ClientSlot> {
        let client = modgate_auth::address_block(client);
        let mut open = crate::lock(&self.open);
        let n = open.entry(client).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(ClientSlot {
            per_client: self.clone(),
            client,
        })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut open = crate::lock(&self.per_client.open);
        if let Some(n) = open.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.client);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_per_client_cap_counts_addresses_and_ipv6_blocks() {
        let per_client = Arc::new(PerClient::new(2));
        let v4: IpAddr = "192.0.2.1".parse().unwrap();
        let (a, b) = (per_client.enter(v4).unwrap(), per_client.enter(v4).unwrap());
        assert!(per_client.enter(v4).is_none());
        assert!(per_client.enter("192.0.2.2".parse().unwrap()).is_some());
        drop(a);
        let c = per_client.enter(v4).unwrap();
        drop((b, c));
        assert!(crate::lock(&per_client.open).is_empty(), "slots given back");

        let _one = per_client.enter("2001:db8::1".parse().unwrap()).unwrap();
        let _two = per_client.enter("2001:db8::2:3".parse().unwrap()).unwrap();
        assert!(
            per_client
                .enter("2001:db8::ffff".parse().unwrap())
                .is_none()
        );
        assert!(
            per_client
                .enter("2001:db8:0:1::1".parse().unwrap())
                .is_some()
        );
    }

    /// At the limit, only a connection between requests is closed, the one
    /// idle longest; never one sending an answer, however long ago it last
    /// wrote, nor one with a request being read or answered.
    #[tokio::test]
    async fn only_the_idlest_idle_connection_gives_way() {
        let mut watched = Vec::new();
        let mut tasks = Vec::new();
        let mut states = Vec::new();
        for last in [1, 5, 1, 2, 9] {
            let state = Arc::new(ConnState::new(last));
            state.reading_since.store(0, Ordering::Relaxed);
            let task = tokio::spawn(std::future::pending::<()>());
            watched.push((Arc::downgrade(&state), task.abort_handle()));
            tasks.push(task);
            states.push(state);
        }
        states[0].sending.fetch_add(1, Ordering::Relaxed);
        states[2].answering.fetch_add(1, Ordering::Relaxed);
        states[3].reading_since.store(3, Ordering::Relaxed);
        for _ in 0..3 {
            close_idlest(&mut watched);
        }
        assert_eq!(watched.len(), 3);
        tokio::task::yield_now().await;
        let closed: Vec<bool> = tasks.iter().map(|t| t.is_finished()).collect();
        assert_eq!(closed, [false, true, false, false, true]);
    }

    /// A connection waiting on a slow miss (no bytes either way for longer
    /// than the idle limit) stays open; an idle one is closed.
    #[tokio::test]
    async fn a_request_in_flight_is_not_idleness() {
        let clock = Clock(Instant::now() - IDLE_CONNECTION * 2);
        let limits = Limits {
            max_connections: 1,
            max_connections_per_client: 1,
            header_read_timeout: Duration::from_secs(3600),
            shutdown_timeout: Duration::from_secs(1),
            release_memory: || {},
        };
        let mut watched = Vec::new();
        let mut tasks = Vec::new();
        let mut states = Vec::new();
        for _ in 0..2 {
            let state = Arc::new(ConnState::new(1));
            state.reading_since.store(0, Ordering::Relaxed);
            let task = tokio::spawn(std::future::pending::<()>());
            watched.push((Arc::downgrade(&state), task.abort_handle()));
            tasks.push(task);
            states.push(state);
        }
        // The first is answering a request that started long ago.
        states[0].answering.fetch_add(1, Ordering::Relaxed);
        sweep_slow(&mut watched, &clock, &limits);
        assert_eq!(watched.len(), 1, "only the idle connection is closed");
        let idle = tasks.pop().unwrap();
        assert!(idle.await.unwrap_err().is_cancelled());
        assert!(!tasks[0].is_finished());
    }
}
