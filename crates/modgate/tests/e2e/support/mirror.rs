//! A local upstream mirror on loopback: serves a GOPROXY tree from disk,
//! or fails in a chosen way, and counts the requests it sees.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

#[derive(Clone, Default)]
pub struct Behaviour {
    /// Directory served as the GOPROXY tree.
    pub root: Option<PathBuf>,
    /// Answer every request with this status.
    pub status: Option<u16>,
    /// Serve these bytes for paths ending with the suffix.
    pub overrides: Vec<(String, Vec<u8>)>,
    /// Wait this long before answering.
    pub delay: Option<std::time::Duration>,
    /// Answer 401 unless the request carries exactly this `Authorization`.
    pub authorization: Option<String>,
}

struct Shared {
    behaviour: Behaviour,
    hits: AtomicUsize,
}

pub struct Mirror {
    pub url: String,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Mirror {
    pub fn serving(root: PathBuf) -> Self {
        Self::start(Behaviour {
            root: Some(root),
            ..Default::default()
        })
    }

    pub fn failing(status: u16) -> Self {
        Self::start(Behaviour {
            status: Some(status),
            ..Default::default()
        })
    }

    pub fn start(behaviour: Behaviour) -> Self {
        let shared = Arc::new(Shared {
            behaviour,
            hits: AtomicUsize::new(0),
        });
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let addr: SocketAddr = std_listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let state = shared.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
                let app = axum::Router::new().fallback(serve).with_state(state);
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = rx.await;
                    })
                    .await
                    .unwrap();
            });
        });
        Self {
            url: format!("http://{addr}"),
            shared,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    pub fn hits(&self) -> usize {
        self.shared.hits.load(Ordering::SeqCst)
    }

    pub fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Mirror {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn serve(State(shared): State<Arc<Shared>>, headers: HeaderMap, uri: Uri) -> Response {
    shared.hits.fetch_add(1, Ordering::SeqCst);
    let b = &shared.behaviour;
    if let Some(want) = &b.authorization
        && headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(want.as_str())
    {
        return (StatusCode::UNAUTHORIZED, "mirror wants credentials\n").into_response();
    }
    if let Some(d) = b.delay {
        tokio::time::sleep(d).await;
    }
    if let Some(status) = b.status {
        let code = StatusCode::from_u16(status).unwrap();
        return (code, format!("mirror says {status}\n")).into_response();
    }
    let path = uri.path().trim_start_matches('/');
    if let Some((_, bytes)) = b.overrides.iter().find(|(s, _)| path.ends_with(s.as_str())) {
        return bytes.clone().into_response();
    }
    let Some(root) = &b.root else {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    };
    if path.split('/').any(|e| e == ".." || e.is_empty()) {
        return (StatusCode::BAD_REQUEST, "bad path\n").into_response();
    }
    match tokio::fs::read(root.join(path)).await {
        Ok(bytes) => bytes.into_response(),
        Err(_) => (StatusCode::NOT_FOUND, format!("not found: {path}\n")).into_response(),
    }
}

/// Writes `module@version` into the GOPROXY tree at `root`: its go.mod,
/// an .info, a zip of `files` (named below `module@version/`, compressed
/// with `method`), and the version added to the list. Returns the zip's path.
pub fn write_version(
    root: &Path,
    module: &str,
    version: &str,
    go_mod: &str,
    files: &[(&str, &[u8])],
    method: zip::CompressionMethod,
) -> PathBuf {
    let dir = root
        .join(modgate_module::escape_path(module).unwrap())
        .join("@v");
    fs_err::create_dir_all(&dir).unwrap();
    fs_err::write(dir.join(format!("{version}.mod")), go_mod).unwrap();
    fs_err::write(
        dir.join(format!("{version}.info")),
        format!(r#"{{"Version":"{version}","Time":"2025-01-01T00:00:00Z"}}"#),
    )
    .unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(method);
    for (name, body) in files {
        out.start_file(format!("{module}@{version}/{name}"), options)
            .unwrap();
        out.write_all(body).unwrap();
    }
    let zip = dir.join(format!("{version}.zip"));
    fs_err::write(&zip, out.finish().unwrap().into_inner()).unwrap();
    let list = dir.join("list");
    let mut versions = fs_err::read_to_string(&list).unwrap_or_default();
    versions.push_str(&format!("{version}\n"));
    fs_err::write(list, versions).unwrap();
    zip
}

/// Writes `module@version` into the GOPROXY tree at `root`: a go.mod and
/// `mib` MiB of one stored (uncompressed) file; returns the zip.
pub fn big_module(root: &Path, module: &str, version: &str, mib: usize) -> Vec<u8> {
    let gomod = format!("module {module}\n\ngo 1.21\n");
    let blob = vec![7u8; mib << 20];
    let zip = write_version(
        root,
        module,
        version,
        &gomod,
        &[("go.mod", gomod.as_bytes()), ("blob.bin", &blob)],
        zip::CompressionMethod::Stored,
    );
    fs_err::read(zip).unwrap()
}
