//! A real S3 API server on loopback: moto's server mode (`moto[server]`
//! from PyPI, which implements conditional writes), one process per test.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;

use super::fresh_dir;

pub const BUCKET: &str = "modgate-test";

pub struct S3Server {
    child: Child,
    /// moto's request log (its stderr).
    log: PathBuf,
    pub endpoint: String,
    port: u16,
}

/// moto on `port`, listening, with [`BUCKET`] created. Fails, never skips,
/// when moto is missing. Its log too.
fn spawn(port: u16) -> (Child, PathBuf) {
    let log = fresh_dir("moto").join("moto.log");
    let child = Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs_err::File::create(&log).unwrap().into_parts().0)
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start moto_server ({e}): scripts/install-test-deps installs moto[server] from PyPI")
        });
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "moto_server did not listen within 30 s: {}",
            fs_err::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let created = super::http::request(
        &format!("127.0.0.1:{port}"),
        "PUT",
        &format!("/{BUCKET}"),
        &[],
    );
    assert_eq!(
        created.status,
        200,
        "creating the bucket: {}",
        created.text()
    );
    (child, log)
}

impl S3Server {
    /// Starts moto on a free port and creates [`BUCKET`]. Fails, never
    /// skips, when moto is missing.
    pub fn start() -> Self {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let (child, log) = spawn(port);
        Self {
            child,
            log,
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
        }
    }

    /// Stops the server: the bucket is down (and, moto keeping objects in
    /// memory, gone).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// A new server on the same endpoint, with an empty bucket.
    pub fn restart(&mut self) {
        self.stop();
        (self.child, self.log) = spawn(self.port);
    }

    /// The status of every GET of `key` moto answered so far, in order.
    pub fn gets(&self, key: &str) -> Vec<u16> {
        let wanted = format!("\"GET /{BUCKET}/{key} ");
        fs_err::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let (_, after) = l.split_once(&wanted)?;
                let (_, status) = after.split_once("\" ")?;
                status.split_whitespace().next()?.parse().ok()
            })
            .collect()
    }

    /// The environment modgate (and any AWS tool) finds the bucket with.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "modgate-test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "modgate-test-secret".to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
        ]
    }

    /// The bucket, for looking at what modgate stored.
    pub fn bucket(&self) -> Arc<dyn ObjectStore> {
        Arc::new(
            AmazonS3Builder::new()
                .with_bucket_name(BUCKET)
                .with_endpoint(&self.endpoint)
                .with_allow_http(true)
                .with_region("us-east-1")
                .with_access_key_id("modgate-test")
                .with_secret_access_key("modgate-test-secret")
                .build()
                .unwrap(),
        )
    }

    /// Every key under `prefix`.
    pub fn keys(&self, prefix: &str) -> Vec<String> {
        use futures::TryStreamExt as _;
        let bucket = self.bucket();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let prefix = object_store::path::Path::from(prefix);
            bucket
                .list(Some(&prefix))
                .map_ok(|m| m.location.to_string())
                .try_collect()
                .await
                .unwrap()
        })
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}
