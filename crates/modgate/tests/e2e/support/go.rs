//! The real go command, isolated from the machine's settings.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use super::{fresh_dir, scratch};

/// The go binary: `MODGATE_TEST_GO`, else Debian's Go 1.23.
pub fn binary() -> &'static PathBuf {
    static GO: OnceLock<PathBuf> = OnceLock::new();
    GO.get_or_init(|| {
        let path = std::env::var_os("MODGATE_TEST_GO")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/usr/lib/go-1.23/bin/go"));
        assert!(
            path.exists(),
            "the end-to-end tests need Go 1.23 at {}: run `sudo scripts/install-test-deps` \
             (or set MODGATE_TEST_GO)",
            path.display()
        );
        path
    })
}

/// A go command environment with its own module cache.
pub struct Go {
    pub home: PathBuf,
    pub proxy: String,
    extra: Vec<(String, String)>,
}

impl Go {
    pub fn new(proxy: &str) -> Self {
        Self {
            home: fresh_dir("gohome"),
            proxy: proxy.to_owned(),
            extra: Vec::new(),
        }
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.extra.push((key.to_owned(), value.to_owned()));
        self
    }

    pub fn modcache(&self) -> PathBuf {
        self.home.join("modcache")
    }

    pub fn command(&self, dir: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(binary());
        cmd.args(args).current_dir(dir).env_clear();
        for key in ["PATH", "TMPDIR"] {
            if let Some(v) = std::env::var_os(key) {
                cmd.env(key, v);
            }
        }
        cmd.env("HOME", &self.home)
            .env("GOPATH", self.home.join("gopath"))
            .env("GOMODCACHE", self.modcache())
            // The build cache is shared: it holds no module content.
            .env("GOCACHE", scratch().join("gocache"))
            .env("GOENV", "off")
            .env("GOTOOLCHAIN", "local")
            .env("GOTELEMETRY", "off")
            .env("GOFLAGS", "-modcacherw")
            .env("GOPROXY", &self.proxy)
            .env("GOSUMDB", "off")
            .env("GONOSUMDB", "")
            .env("GOPRIVATE", "")
            .env("CGO_ENABLED", "0");
        for (k, v) in &self.extra {
            cmd.env(k, v);
        }
        cmd
    }

    fn output(&self, dir: &Path, args: &[&str]) -> Output {
        self.command(dir, args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary().display()))
    }

    /// Runs go and returns its stdout; panics with its stderr when it fails.
    pub fn run(&self, dir: &Path, args: &[&str]) -> String {
        let out = self.output(dir, args);
        assert!(
            out.status.success(),
            "go {} failed (GOPROXY={}):\n{}",
            args.join(" "),
            self.proxy,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

/// One module version as `go mod download -json` reports it.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Downloaded {
    pub path: String,
    pub version: String,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub sum: String,
    #[serde(default)]
    pub go_mod_sum: String,
    /// The .info go wrote to its module cache.
    #[serde(default)]
    pub info: String,
}

/// `go mod download -json` of `targets`; panics on any module's error.
pub fn download(go: &Go, dir: &Path, targets: &[&str]) -> Vec<Downloaded> {
    let mut args = vec!["mod", "download", "-json"];
    args.extend_from_slice(targets);
    let out = go.output(dir, &args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let found: Vec<Downloaded> = serde_json::Deserializer::from_str(&stdout)
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("bad go mod download output ({e}):\n{stdout}"));
    for d in &found {
        assert!(
            d.error.is_none(),
            "go mod download {}@{} (GOPROXY={}): {}",
            d.path,
            d.version,
            go.proxy,
            d.error.as_deref().unwrap_or_default()
        );
    }
    assert!(
        out.status.success(),
        "go mod download failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    found
}

impl Go {
    /// Runs go and returns its output, whatever its exit status.
    pub fn try_run(&self, dir: &Path, args: &[&str]) -> Output {
        self.output(dir, args)
    }
}

/// `go mod download -json` of `targets`: every module's result, errors
/// included, and go's output (which may be a failure).
pub fn try_download(go: &Go, dir: &Path, targets: &[&str]) -> (Vec<Downloaded>, Output) {
    let mut args = vec!["mod", "download", "-json"];
    args.extend_from_slice(targets);
    let out = go.output(dir, &args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let found: Vec<Downloaded> = serde_json::Deserializer::from_str(&stdout)
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| {
            panic!(
                "bad go mod download output ({e}):\n{stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    (found, out)
}
