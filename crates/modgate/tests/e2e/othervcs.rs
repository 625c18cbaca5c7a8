//! Direct mode for modules on Mercurial, Subversion, Bazaar and Fossil:
//! repositories made here, served on loopback by each system's own server
//! (`hg serve`, `svnserve`, `bzr serve`, `fossil server`) and found through
//! a go-import page, must give through modgate exactly what the go
//! command's own GOPROXY=direct mode gives: versions, `.info`, go.sum
//! hashes of go.mod files and zips, lists, branch and commit queries and
//! pseudo-versions. Also: revisions a tool could read as options run
//! nothing, and GOVCS refuses what go refuses.
//!
//! The go-get pages are served by a forward HTTP proxy (both go and modgate
//! reach `http://vcs.example/...` through it, `GOINSECURE`/`--insecure`);
//! the repositories are on 127.0.0.1, which `NO_PROXY` keeps off the proxy
//! and `--allow-network` opens to modgate.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use crate::support::go::{self, Go};
use crate::support::loopback::closed_port;
use crate::support::modgate::Modgate;
use crate::support::{fresh_dir, http};

const HOST: &str = "vcs.example";

// ---------------------------------------------------------------------------
// Tools and servers

/// The path of `tool`, or a failure that says how to install it.
fn tool(name: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "the direct-mode tests of other version control systems need `{name}` \
             (Debian's mercurial, subversion, brz and fossil): run `sudo scripts/install-test-deps`"
        )
    })
}

/// The environment every tool runs with here: its own home, a fixed user.
fn tool_env(cmd: &mut Command, home: &Path) {
    cmd.env("HOME", home)
        .env("USER", "modgate-test")
        .env("HGPLAIN", "1")
        .env("HGUSER", "test <test@example.com>")
        .env("BRZ_EMAIL", "test <test@example.com>")
        .env("BZR_EMAIL", "test <test@example.com>")
        .env("FOSSIL_HOME", home)
        .env("LC_ALL", "C");
}

/// Runs `name args` in `dir`; its stdout. Fails the test if it fails.
fn run(dir: &Path, name: &str, args: &[&str]) -> String {
    let mut cmd = Command::new(tool(name));
    cmd.args(args).current_dir(dir);
    tool_env(&mut cmd, &scratch_home());
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {name}: {e}"));
    assert!(
        out.status.success(),
        "{name} {} failed:\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn scratch_home() -> PathBuf {
    static HOME: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    HOME.get_or_init(|| fresh_dir("vcs-home")).clone()
}

/// A server process, killed with the test.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `name args` and waits until `port` accepts connections.
fn serve(dir: &Path, name: &str, args: &[&str], port: u16) -> Server {
    let mut cmd = Command::new(tool(name));
    cmd.args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    tool_env(&mut cmd, &scratch_home());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
    for _ in 0..600 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Server(child);
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{name} {} exited: {status}", args.join(" "));
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    panic!("{name} {} never listened on {port}", args.join(" "));
}

fn write(dir: &Path, file: &str, content: &str) {
    let path = dir.join(file);
    fs_err::create_dir_all(path.parent().unwrap()).unwrap();
    fs_err::write(path, content).unwrap();
}

/// The forward HTTP proxy serving go-import pages: a path under a
/// registered prefix gets that prefix's tag.
struct Pages {
    port: u16,
    imports: Arc<Mutex<Vec<(String, String)>>>,
}

impl Pages {
    fn start() -> Pages {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let imports: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let shared = imports.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let imports = shared.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(conn.try_clone().unwrap());
                    let mut request = String::new();
                    let _ = reader.read_line(&mut request);
                    let mut line = String::new();
                    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                        line.clear();
                    }
                    let target = request.split_whitespace().nth(1).unwrap_or_default();
                    let path = target
                        .strip_prefix("http://")
                        .and_then(|t| t.strip_suffix("?go-get=1"));
                    let found = path.and_then(|path| {
                        imports
                            .lock()
                            .unwrap()
                            .iter()
                            .find(|(prefix, _)| {
                                path == prefix || path.starts_with(&format!("{prefix}/"))
                            })
                            .map(|(prefix, rest)| format!("{prefix} {rest}"))
                    });
                    let reply = match found {
                        Some(content) if request.starts_with("GET ") => {
                            let body = format!(
                                "<html><head><meta name=\"go-import\" content=\"{content}\"></head></html>"
                            );
                            format!(
                                "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                                body.len()
                            )
                        }
                        _ => "HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                            .to_owned(),
                    };
                    let _ = conn.write_all(reply.as_bytes());
                });
            }
        });
        Pages { port, imports }
    }

    /// `prefix VCS URL` from now on.
    fn add(&self, prefix: &str, vcs: &str, url: &str) {
        self.imports
            .lock()
            .unwrap()
            .push((prefix.to_owned(), format!("{vcs} {url}")));
    }

    fn proxy_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The environment that sends go-get requests to this proxy and keeps
    /// the repositories on 127.0.0.1 off it.
    fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = Vec::new();
        for var in ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"] {
            env.push((var, self.proxy_url()));
        }
        for var in ["NO_PROXY", "no_proxy"] {
            env.push((var, "127.0.0.1".to_owned()));
        }
        env.push(("USER", "modgate-test".to_owned()));
        env
    }
}

// ---------------------------------------------------------------------------
// The go command, direct and through modgate

fn start_modgate(pages: &Pages, extra: &[&str]) -> Modgate {
    let storage = fresh_dir("storage");
    let mut args = vec![
        "--storage",
        storage.to_str().unwrap(),
        "--upstream",
        "direct",
        "--insecure",
        HOST,
        "--allow-network",
        "127.0.0.0/8",
    ];
    args.extend_from_slice(extra);
    let env = pages.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Modgate::start_env(&args, &env)
}

fn go_with(proxy: &str, pages: &Pages) -> Go {
    let mut go = Go::new(proxy)
        .env("GOVCS", "*:all")
        .env("GOINSECURE", HOST)
        .env("GONOSUMDB", HOST)
        .env("GOSUMDB", "off")
        .env("GOFLAGS", "-modcacherw");
    for (k, v) in pages.env() {
        go = go.env(k, &v);
    }
    go
}

/// What one `go mod download -json M@Q` says: the version and both hashes,
/// or that it failed.
fn download(go: &Go, target: &str) -> Result<(String, String, String), String> {
    let dir = fresh_dir("work");
    let (found, out) = go::try_download(go, &dir, &[target]);
    match found.first() {
        Some(d) if d.error.is_none() && out.status.success() => {
            Ok((d.version.clone(), d.sum.clone(), d.go_mod_sum.clone()))
        }
        Some(d) => Err(d.error.clone().unwrap_or_default()),
        None => Err(String::from_utf8_lossy(&out.stderr).into_owned()),
    }
}

fn versions(go: &Go, module: &str) -> String {
    let dir = fresh_dir("work");
    let out = go.try_run(&dir, &["list", "-m", "-versions", module]);
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout).trim(),
        if out.status.success() {
            ""
        } else {
            " (failed)"
        }
    )
}

/// Every `targets` (M@Q) and every list of `modules`, direct and through
/// modgate, must agree; returns the direct results by target.
fn compare(
    pages: &Pages,
    modgate: &Modgate,
    modules: &[&str],
    targets: &[String],
) -> HashMap<String, Result<(String, String, String), String>> {
    let direct = go_with("direct", pages);
    let proxied = go_with(&modgate.url, pages);
    let mut problems = Vec::new();
    let mut results = HashMap::new();
    for target in targets {
        let want = download(&direct, target);
        let got = download(&proxied, target);
        let agree = match (&want, &got) {
            (Ok(w), Ok(g)) => w == g,
            (Err(_), Err(_)) => true,
            _ => false,
        };
        if !agree {
            problems.push(format!(
                "{target}:\n  go direct: {want:?}\n  modgate:   {got:?}"
            ));
        }
        results.insert(target.clone(), want);
    }
    for module in modules {
        let want = versions(&direct, module);
        let got = versions(&proxied, module);
        if want != got {
            problems.push(format!(
                "go list -m -versions {module}:\n  go direct: {want}\n  modgate:   {got}"
            ));
        }
        let list = http::get(&modgate.addr, &format!("/{module}/@v/list"));
        let listed: Vec<&str> = want.split_whitespace().skip(1).collect();
        let mut served: Vec<String> = list.text().lines().map(str::to_owned).collect();
        modgate_module::semver::sort(&mut served);
        if list.status != 200 || served != listed {
            problems.push(format!(
                "{module}/@v/list: {} {:?}, go lists {listed:?}",
                list.status, served
            ));
        }
    }
    // modgate may not fail where go did not (a fallback would hide it).
    let logs = modgate.logs();
    problems.extend(
        logs.lines()
            .filter(|l| l.contains("did not deliver"))
            .filter(|l| !l.contains("unknown revision") && !l.contains("invalid version"))
            .map(|l| format!("modgate failed: {l}")),
    );
    assert!(
        problems.is_empty(),
        "modgate differs from the go command's direct mode:\n{}\n--- modgate's log:\n{}",
        problems.join("\n"),
        modgate.logs()
    );
    results
}

fn ok<'a>(
    results: &'a HashMap<String, Result<(String, String, String), String>>,
    target: &str,
) -> &'a (String, String, String) {
    results[target]
        .as_ref()
        .unwrap_or_else(|e| panic!("{target} failed in go's own direct mode: {e}"))
}

fn go_mod(module: &str) -> String {
    format!("module {module}\n\ngo 1.21\n")
}

// ---------------------------------------------------------------------------
// Repositories

/// A Mercurial repository: v1.0.0, v1.1.0 with a module in `sub/`
/// (sub/v0.1.0), then a commit on branch `feature`; served by `hg serve`.
/// Returns the server, its URL and the feature commit's hash.
fn hg_repo(module: &str) -> (Server, String, String) {
    let dir = fresh_dir("hg");
    let hg = |args: &[&str]| run(&dir, "hg", args);
    let who = ["-u", "test", "-d", "2020-01-02 03:04:05 +0000"];
    hg(&["init", "."]);
    write(&dir, "go.mod", &go_mod(module));
    write(&dir, "a.go", "package m\n\nconst V = 1\n");
    write(&dir, "LICENSE", "MIT\n");
    hg(&["add", "-q"]);
    hg(&[&["commit", "-m", "one"][..], &who].concat());
    hg(&[&["tag"][..], &who, &["v1.0.0"]].concat());
    write(&dir, "a.go", "package m\n\nconst V = 2\n");
    write(&dir, "sub/go.mod", &go_mod(&format!("{module}/sub")));
    write(&dir, "sub/s.go", "package sub\n");
    hg(&["add", "-q"]);
    hg(&[&["commit", "-m", "two"][..], &who].concat());
    hg(&[&["tag", "-r", "."][..], &who, &["v1.1.0"]].concat());
    hg(&[&["tag", "-r", "-2"][..], &who, &["sub/v0.1.0"]].concat());
    hg(&["branch", "-q", "feature"]);
    write(&dir, "a.go", "package m\n\nconst V = 3\n");
    hg(&[&["commit", "-m", "three"][..], &who].concat());
    let hash = hg(&["log", "-r", ".", "--template", "{node}"]);
    let port = closed_port();
    let server = serve(
        &dir,
        "hg",
        &[
            "serve",
            "-a",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "--config",
            "ui.interactive=false",
        ],
        port,
    );
    (
        server,
        format!("http://127.0.0.1:{port}/"),
        hash.trim().to_owned(),
    )
}

// ---------------------------------------------------------------------------
// Tests

#[test]
fn hg_modules_match_the_go_commands_direct_mode() {
    let pages = Pages::start();
    let module = format!("{HOST}/hg/m");
    let (_server, url, feature) = hg_repo(&module);
    pages.add(&module, "hg", &url);
    let modgate = start_modgate(&pages, &[]);
    let sub = format!("{module}/sub");
    let targets: Vec<String> = [
        format!("{module}@v1.0.0"),
        format!("{module}@v1.1.0"),
        format!("{module}@latest"),
        format!("{module}@feature"),
        format!("{module}@default"),
        format!("{module}@{}", &feature[..12]),
        format!("{module}@v1.9.0"),
        format!("{sub}@v0.1.0"),
        format!("{sub}@latest"),
    ]
    .into();
    let results = compare(&pages, &modgate, &[&module, &sub], &targets);
    // The branch query is a pseudo-version of the feature commit, which
    // both must then serve by that name too.
    let (pseudo, ..) = ok(&results, &format!("{module}@feature"));
    assert!(
        pseudo.starts_with("v0.0.0-20200102030405-") && pseudo.ends_with(&feature[..12]),
        "{pseudo}"
    );
    compare(&pages, &modgate, &[], &[format!("{module}@{pseudo}")]);
    assert_eq!(ok(&results, &format!("{module}@latest")).0, "v1.1.0");
}
