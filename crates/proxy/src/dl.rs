//! `/dl/`: a mirror of Go release archives (`--dl-upstream`, go.dev/dl by
//! default), for installers that fetch Go itself (setup-go, CI images
//! without GOTOOLCHAIN). `/dl/?mode=json` is passed through and kept a
//! while; an archive is fetched once, its SHA-256 checked against that
//! JSON before it is stored, and served from the store after.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt as _;
use modgate_redact::Chain;
use sha2::{Digest as _, Sha256};

use crate::flights::{Flights, Lost};
use crate::lock;
use crate::store::{Key, Object, Store, StoreError};
use crate::upstream::Policy;

/// How long a release list answers before it is fetched again; when the
/// upstream fails or hangs, the last one is served however old.
const LIST_TTL: Duration = Duration::from_secs(300);
/// Largest release list and archive taken.
const MAX_LIST: usize = 32 << 20;
const MAX_ARCHIVE: u64 = 1 << 31;
/// Where archives are stored; a leading dot keeps them out of module listings.
const DIR: &str = ".dl";

#[derive(Debug, Clone, thiserror::Error)]
pub enum DlError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("release mirror upstream: {0}")]
    Upstream(String),
    /// The archive's bytes are not the ones the release list vouches for.
    #[error("SECURITY ERROR: {file}: SHA-256 {got}, the release list says {want}: refused")]
    Mismatch {
        file: String,
        want: String,
        got: String,
    },
    #[error("storage: {0}")]
    Storage(String),
}

/// One file of a release, as go.dev/dl's JSON lists it.
#[derive(Debug, serde::Deserialize)]
struct File {
    filename: String,
    sha256: String,
    #[serde(default)]
    size: Option<u64>,
}

#[derive(Debug, serde::Deserialize)]
struct Release {
    files: Vec<File>,
}

pub struct ReleaseMirror {
    base: url::Url,
    /// Bounds the connection and every wait for body bytes.
    client: reqwest::Client,
    /// From sending a request to its response headers.
    header_timeout: Duration,
    store: Arc<dyn Store>,
    /// Query (`mode=json`, `mode=json&include=all`) → when fetched, and the list.
    lists: Mutex<HashMap<&'static str, (Instant, Bytes)>>,
    list_ttl: Duration,
    list_fetches: Flights<Result<Bytes, DlError>>,
    fills: Flights<Result<Object, DlError>>,
}

impl ReleaseMirror {
    /// Asks `base` with the upstream timeouts of `policy`.
    pub fn new(base: url::Url, store: Arc<dyn Store>, policy: &Policy) -> reqwest::Result<Self> {
        Ok(Self {
            base,
            client: policy.http_client()?,
            header_timeout: policy.header_timeout,
            store,
            lists: Mutex::new(HashMap::new()),
            list_ttl: LIST_TTL,
            list_fetches: Flights::new(),
            fills: Flights::new(),
        })
    }

    fn url(&self, tail: &str) -> String {
        format!("{}/{tail}", self.base.as_str().trim_end_matches('/'))
    }

    /// `/dl/?mode=json[&include=all]`: the release list, checked to be one.
    /// Concurrent requests share one fetch; when it fails or times out, the
    /// last list fetched is served.
    pub async fn list(self: &Arc<Self>, all: bool) -> Result<Bytes, DlError> {
        let query = if all {
            "mode=json&include=all"
        } else {
            "mode=json"
        };
        if let Some((at, list)) = lock(&self.lists).get(query)
            && at.elapsed() < self.list_ttl
        {
            return Ok(list.clone());
        }
        let this = self.clone();
        let fetch = async move {
            let list = this.fetch_list(query).await?;
            lock(&this.lists).insert(query, (Instant::now(), list.clone()));
            Ok(list)
        };
        let fetched = self
            .list_fetches
            .run(query, "dl_list", fetch)
            .await
            .unwrap_or_else(|Lost| {
                Err(DlError::Upstream(
                    "release list: the fetch was interrupted".to_owned(),
                ))
            });
        match fetched {
            Ok(list) => Ok(list),
            Err(e) => match lock(&self.lists).get(query) {
                Some((_, list)) => {
                    tracing::warn!(error = %Chain(&e), "release list upstream failing: serving the last one");
                    Ok(list.clone())
                }
                None => Err(e),
            },
        }
    }

    async fn fetch_list(&self, query: &str) -> Result<Bytes, DlError> {
        let url = self.url(&format!("?{query}"));
        let resp = self.get(&url).await?;
        let mut body = Vec::new();
        let mut stream = resp.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| upstream(&url, e))?;
            if body.len() + chunk.len() > MAX_LIST {
                return Err(DlError::Upstream(format!(
                    "{url}: release list over {MAX_LIST} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice::<Vec<Release>>(&body)
            .map_err(|e| DlError::Upstream(format!("{url}: not a release list: {e}")))?;
        Ok(body.into())
    }

    async fn get(&self, url: &str) -> Result<reqwest::Response, DlError> {
        let resp = tokio::time::timeout(self.header_timeout, self.client.get(url).send())
            .await
            .map_err(|_| {
                DlError::Upstream(format!(
                    "{}: no response within {:?}",
                    modgate_redact::redact_text(url),
                    self.header_timeout
                ))
            })?
            .map_err(|e| upstream(url, e))?;
        match resp.status() {
            s if s.is_success() => Ok(resp),
            reqwest::StatusCode::NOT_FOUND | reqwest::StatusCode::GONE => Err(DlError::NotFound(
                format!("{}: not found upstream", modgate_redact::redact_text(url)),
            )),
            s => Err(DlError::Upstream(format!(
                "{}: {s}",
                modgate_redact::redact_text(url)
            ))),
        }
    }

    /// `/dl/<file>`: from the store, else fetched, checked and stored.
    pub async fn archive(self: &Arc<Self>, file: &str) -> Result<Object, DlError> {
        if !is_archive_name(file) {
            return Err(DlError::BadRequest(format!(
                "{file:?} is not a Go release file name (go1.N.N.os-arch.tar.gz, .zip, …)"
            )));
        }
        let key =
            Key::parse(&format!("{DIR}/{file}")).map_err(|e| DlError::BadRequest(e.to_string()))?;
        match self.store.get(&key).await {
            Ok(Some(obj)) => return Ok(obj),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(%key, error = %Chain(&e), "storage failing: fetching the archive")
            }
        }
        let (this, owned, flight) = (self.clone(), file.to_owned(), key.to_string());
        let work = async move { this.fill(&owned, &key).await };
        self.fills
            .run(&flight, "dl", work)
            .await
            .map_err(|Lost| DlError::Upstream(format!("{file}: the fetch was interrupted")))?
    }

    async fn fill(self: &Arc<Self>, file: &str, key: &Key) -> Result<Object, DlError> {
        let list = self.list(true).await?;
        let releases: Vec<Release> = serde_json::from_slice(&list)
            .map_err(|e| DlError::Upstream(format!("release list: {e}")))?;
        let Some(entry) = releases
            .iter()
            .flat_map(|r| &r.files)
            .find(|f| f.filename == file)
        else {
            return Err(DlError::NotFound(format!(
                "{file}: no such file in the release list"
            )));
        };
        let want = entry.sha256.to_ascii_lowercase();
        let max = entry.size.unwrap_or(MAX_ARCHIVE).min(MAX_ARCHIVE);
        let url = self.url(file);
        let resp = self.get(&url).await?;
        let storage = |e: StoreError| DlError::Storage(e.kind_text());
        let mut staged = self.store.temp_file().map_err(storage)?;
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut stream = resp.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| upstream(&url, e))?;
            size += chunk.len() as u64;
            if size > max {
                return Err(DlError::Upstream(format!(
                    "{file}: larger than the {max} bytes the release list says"
                )));
            }
            hasher.update(&chunk);
            staged = tokio::task::spawn_blocking(move || staged.write_all(&chunk).map(|()| staged))
                .await
                .map_err(|e| storage(e.into()))?
                .map_err(|e| storage(e.into()))?;
        }
        let got = format!("{:x}", hasher.finalize());
        if got != want {
            tracing::error!(file, %got, %want, "refused: release archive checksum mismatch");
            crate::telemetry::metric::rejected_artifact("dl");
            return Err(DlError::Mismatch {
                file: file.to_owned(),
                want,
                got,
            });
        }
        self.store.put_file(key, staged).await.map_err(storage)?;
        self.store.sync(key).await.map_err(storage)?;
        tracing::info!(file, sha256 = %got, "stored Go release archive");
        self.store
            .get(key)
            .await
            .map_err(storage)?
            .ok_or_else(|| DlError::Storage(format!("{file} vanished right after it was stored")))
    }
}

fn upstream(url: &str, e: reqwest::Error) -> DlError {
    DlError::Upstream(format!(
        "{}: {}",
        modgate_redact::redact_text(url),
        modgate_net::describe(e)
    ))
}

/// A release file name: `go` then letters, digits, dots, dashes and
/// underscores only, so it can name nothing but a file in the store's
/// `.dl/`.
fn is_archive_name(name: &str) -> bool {
    name.starts_with("go")
        && name.len() < 128
        && !name.contains("..")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};

    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;
    use crate::store::DiskStore;
    use crate::upstream::HedgePolicy;

    const LIST: &str = r#"[{"version":"go1.99.0","files":[]}]"#;

    /// A release site on loopback that serves [`LIST`] to every request
    /// until `hang` is set, then answers none; `hits` counts requests.
    async fn site(hang: Arc<AtomicBool>, hits: Arc<AtomicUsize>) -> url::Url {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut tcp, _)) = listener.accept().await {
                hits.fetch_add(1, SeqCst);
                let hang = hang.load(SeqCst);
                tokio::spawn(async move {
                    let _ = tcp.read(&mut [0; 4096]).await;
                    if hang {
                        std::future::pending::<()>().await;
                    }
                    let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", LIST.len());
                    let _ = tcp.write_all((head + LIST).as_bytes()).await;
                });
            }
        });
        format!("http://{addr}/dl").parse().unwrap()
    }

    #[tokio::test]
    async fn a_hanging_site_is_asked_once_and_the_last_list_served() {
        let (hang, hits) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicUsize::new(0)),
        );
        let base = site(hang.clone(), hits.clone()).await;
        let dir = tempfile::tempdir().unwrap();
        let policy = Policy {
            connect_timeout: Duration::from_secs(5),
            header_timeout: Duration::from_millis(300),
            idle_timeout: Duration::from_millis(300),
            retries: 0,
            breaker_threshold: 3,
            breaker_cooldown: Duration::from_secs(10),
            max_fetches: 4,
            hedge: HedgePolicy::Off,
        };
        let mut mirror = ReleaseMirror::new(
            base,
            Arc::new(DiskStore::open(dir.path()).unwrap()),
            &policy,
        )
        .unwrap();
        // Every list is stale at once.
        mirror.list_ttl = Duration::ZERO;
        let mirror = Arc::new(mirror);

        // Hanging with no list to fall back on: an error, after one request.
        hang.store(true, SeqCst);
        let three = futures::future::join_all((0..3).map(|_| mirror.list(false))).await;
        for got in three {
            assert!(
                matches!(&got, Err(DlError::Upstream(e)) if e.contains("time")),
                "{got:?}"
            );
        }
        assert_eq!(hits.load(SeqCst), 1);

        hang.store(false, SeqCst);
        assert_eq!(mirror.list(false).await.unwrap(), LIST);
        // Hanging again: the last list, to all three, after one request.
        hang.store(true, SeqCst);
        let three = futures::future::join_all((0..3).map(|_| mirror.list(false))).await;
        for got in three {
            assert_eq!(got.unwrap(), LIST);
        }
        assert_eq!(hits.load(SeqCst), 3);
    }

    #[test]
    fn only_release_file_names_pass() {
        for ok in ["go1.23.4.linux-amd64.tar.gz", "go1.22rc1.windows-arm64.zip"] {
            assert!(super::is_archive_name(ok), "{ok}");
        }
        for bad in [
            "",
            "..",
            "go1/../x",
            "go1..tar",
            "x.tar.gz",
            "go1.2 .zip",
            "go%2f",
        ] {
            assert!(!super::is_archive_name(bad), "{bad}");
        }
    }
}
