//! A reference checksum database on loopback: golang.org/x/mod/sumdb's own
//! server (support/sumdb-server/main.go, built once per run in GOPATH mode
//! against Debian's golang-golang-x-mod-dev) over the fixture's true
//! hashes. Also the fixture's tampered zip: a valid module zip of a fixture
//! version with one file changed, which only a checksum database catches.

use std::io::{BufRead, BufReader, Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::fixture::{Fixture, GAMMA};
use super::go::Go;
use super::loopback::closed_port;
use super::{fresh_dir, go, http, scratch};

/// Where Debian's golang-golang-x-mod-dev installs x/mod (a GOPATH).
const GOPATH: &str = "/usr/share/gocode";

/// The reference database's name (never resolvable: `.test`).
pub const NAME: &str = "sumdb.modgate.test";

/// Starts building the sumdb-server binary in the background (the first
/// build compiles net/http: about 25 s on 2 cores), so it overlaps the
/// fixture's build.
pub fn prebuild() {
    static STARTED: std::sync::Once = std::sync::Once::new();
    STARTED.call_once(|| {
        std::thread::spawn(|| {
            // A failure is reported again, with the build output, by the
            // test that needs the binary.
            let _ = std::panic::catch_unwind(binary);
        });
    });
}

/// The sumdb-server binary, built on first use. Go's build cache lives in
/// the target directory, so later runs take well under a second.
pub fn binary() -> &'static PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let x_mod = Path::new(GOPATH).join("src/golang.org/x/mod/sumdb/server.go");
        assert!(
            x_mod.exists(),
            "the checksum database tests need golang.org/x/mod at {GOPATH} (Debian's \
             golang-golang-x-mod-dev): run `sudo scripts/install-test-deps`"
        );
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/support/sumdb-server");
        let out = scratch().join("bin/sumdb-server");
        let mut cmd = Command::new(go::binary());
        cmd.args(["build", "-o"])
            .arg(&out)
            .arg("main.go")
            .current_dir(&src)
            .env_clear();
        for key in ["PATH", "TMPDIR"] {
            if let Some(v) = std::env::var_os(key) {
                cmd.env(key, v);
            }
        }
        let built = cmd
            .env("HOME", scratch())
            .env("GO111MODULE", "off")
            .env("GOPATH", GOPATH)
            .env("GOFLAGS", "")
            .env("GOENV", "off")
            .env(
                "GOCACHE",
                Path::new(env!("CARGO_TARGET_TMPDIR")).join("sumdb-server-gocache"),
            )
            .env("GOTOOLCHAIN", "local")
            .env("GOTELEMETRY", "off")
            .env("CGO_ENABLED", "0")
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", go::binary().display()));
        assert!(
            built.status.success() && out.exists(),
            "building the reference checksum database ({}) failed:\n{}{}",
            src.join("main.go").display(),
            String::from_utf8_lossy(&built.stdout),
            String::from_utf8_lossy(&built.stderr)
        );
        out
    })
}

/// How the reference database fills its log.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Made-up records appended first (full tiles, several tile levels).
    pub pad: usize,
    /// Append every fixture version at start (the tree never grows); else
    /// a version is appended at its first lookup, as sum.golang.org does.
    pub preload: bool,
    /// Keep the signer key in this file (reused if it exists): a second
    /// database with the same key and another history is a fork.
    pub signer: Option<PathBuf>,
    /// Listen here rather than on a free port (to take a stopped
    /// database's place).
    pub listen: Option<String>,
}

/// Requests the reference database has answered.
#[derive(Debug, Clone, Copy, serde::Deserialize)]
#[allow(dead_code)] // `latest` and `other` are shown in failure messages.
pub struct Stats {
    pub latest: u64,
    pub lookup: u64,
    pub tile: u64,
    pub other: u64,
}

pub struct ChecksumDb {
    child: Option<Child>,
    /// The verifier key, `NAME+HASH+KEY`.
    pub key: String,
    /// `http://127.0.0.1:PORT`
    pub url: String,
    /// `127.0.0.1:PORT`
    pub addr: String,
    log: PathBuf,
}

/// The go command through `proxy`, verifying against `gosumdb`, with every
/// other route to a checksum database closed.
pub fn sumdb_go(proxy: &str, gosumdb: &str) -> Go {
    let nowhere = format!("http://127.0.0.1:{}", closed_port());
    Go::new(proxy)
        .env("GOSUMDB", gosumdb)
        .env("GOFLAGS", "-modcacherw -mod=mod")
        .env("GONOSUMDB", "")
        .env("GONOSUMCHECK", "")
        .env("GOPRIVATE", "")
        .env("GOINSECURE", "")
        .env("HTTPS_PROXY", &nowhere)
        .env("HTTP_PROXY", &nowhere)
}

/// The fixture's go.sum lines: every target's true zip and go.mod hashes.
pub fn fixture_gosum() -> String {
    let mut out = String::new();
    for d in &Fixture::get().downloads {
        out.push_str(&format!("{} {} {}\n", d.path, d.version, d.sum));
        out.push_str(&format!(
            "{} {}/go.mod {}\n",
            d.path, d.version, d.go_mod_sum
        ));
    }
    out
}

impl ChecksumDb {
    /// A reference database of the fixture's true hashes.
    pub fn for_fixture(opts: Options) -> Self {
        prebuild();
        Self::start(&fixture_gosum(), opts)
    }

    /// A reference database of `gosum` (go.sum lines).
    pub fn start(gosum: &str, opts: Options) -> Self {
        let dir = fresh_dir("sumdb-server");
        let gosum_file = dir.join("go.sum");
        fs_err::write(&gosum_file, gosum).unwrap();
        let log = dir.join("stderr.log");
        let mut cmd = Command::new(binary());
        let listen = opts.listen.as_deref().unwrap_or("127.0.0.1:0");
        cmd.args(["-name", NAME, "-listen", listen, "-gosum"])
            .arg(&gosum_file)
            .args(["-pad", &opts.pad.to_string()]);
        if opts.preload {
            cmd.arg("-preload");
        }
        if let Some(signer) = &opts.signer {
            cmd.arg("-signer").arg(signer);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(fs_err::File::create(&log).unwrap().into_parts().0)
            .spawn()
            .expect("start the reference checksum database");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let (mut key, mut url) = (None, None);
        for _ in 0..2 {
            let mut line = String::new();
            stdout.read_line(&mut line).unwrap();
            if let Some(k) = line.trim().strip_prefix("VERIFIER ") {
                key = Some(k.to_owned());
            } else if let Some(u) = line.trim().strip_prefix("URL ") {
                url = Some(u.to_owned());
            }
        }
        let (Some(key), Some(url)) = (key, url) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the reference checksum database did not start:\n{}",
                fs_err::read_to_string(&log).unwrap_or_default()
            );
        };
        Self {
            child: Some(child),
            key,
            addr: url.trim_start_matches("http://").to_owned(),
            url,
            log,
        }
    }

    /// GOSUMDB naming this database and its URL: `NAME+HASH+KEY URL`.
    pub fn gosumdb(&self) -> String {
        format!("{} {}", self.key, self.url)
    }

    pub fn stats(&self) -> Stats {
        let resp = http::get(&self.addr, "/_stats");
        assert_eq!(resp.status, 200, "{}", resp.text());
        serde_json::from_slice(&resp.body).unwrap()
    }

    /// The requests it has answered, one per line.
    pub fn logs(&self) -> String {
        fs_err::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: the database is gone (connections are refused).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for ChecksumDb {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The `h1:` hash of a module zip (x/mod's dirhash.Hash1 over its files).
pub fn h1_of_zip(bytes: &[u8]) -> String {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).expect("a zip");
    let mut files = Vec::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let mut data = Vec::new();
        f.read_to_end(&mut data).unwrap();
        files.push((f.name().unwrap().into_owned(), hex(&Sha256::digest(&data))));
    }
    files.sort();
    let mut summary = String::new();
    for (name, sum) in files {
        summary.push_str(&format!("{sum}  {name}\n"));
    }
    format!(
        "h1:{}",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(summary.as_bytes()))
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One fixture version served with different content.
pub struct Tampered {
    pub path: &'static str,
    pub version: &'static str,
    /// The GOPROXY path of its zip, without the leading slash.
    pub zip_path: String,
    /// A valid module zip of `path@version` with one file changed.
    pub zip: Vec<u8>,
    /// Its `h1:` hash.
    pub sum: String,
    /// The true hash (what the checksum database has).
    pub true_sum: String,
}

/// `github.com/modgate-test/gamma@v1.0.0` with `gamma.go` changed: the
/// same file names, a valid module zip, only its hash differs.
pub fn tampered() -> &'static Tampered {
    static T: OnceLock<Tampered> = OnceLock::new();
    T.get_or_init(|| {
        prebuild();
        let fx = Fixture::get();
        let (path, version) = (GAMMA, "v1.0.0");
        let zip_path = format!("{path}/@v/{version}.zip");
        let real = fs_err::read(fx.tree.join(&zip_path)).unwrap();
        let mut src = zip::ZipArchive::new(Cursor::new(&real)).unwrap();
        let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        let mut changed = false;
        for i in 0..src.len() {
            let mut f = src.by_index(i).unwrap();
            let name = f.name().unwrap().into_owned();
            let mut data = Vec::new();
            f.read_to_end(&mut data).unwrap();
            if name == format!("{path}@{version}/gamma.go") {
                data.extend_from_slice(b"\n// Not what the author published.\n");
                changed = true;
            }
            out.start_file(name, opts).unwrap();
            out.write_all(&data).unwrap();
        }
        assert!(changed, "gamma.go is in the fixture's zip");
        let zip = out.finish().unwrap().into_inner();
        let true_sum = fx.download(path, version).sum.clone();
        let sum = h1_of_zip(&zip);
        assert_eq!(h1_of_zip(&real), true_sum, "h1_of_zip computes go's hash");
        assert_ne!(sum, true_sum);
        Tampered {
            path,
            version,
            zip_path,
            zip,
            sum,
            true_sum,
        }
    })
}

/// The tree and the size of a signed tree note (`go.sum database tree`).
pub fn tree_of(note: &str) -> (u64, String) {
    let mut lines = note.lines();
    assert_eq!(
        lines.next(),
        Some("go.sum database tree"),
        "not a tree note: {note:?}"
    );
    let n = lines
        .next()
        .and_then(|l| l.parse().ok())
        .unwrap_or_else(|| panic!("no tree size in {note:?}"));
    let hash = lines
        .next()
        .unwrap_or_else(|| panic!("no tree hash in {note:?}"));
    (n, hash.to_owned())
}
