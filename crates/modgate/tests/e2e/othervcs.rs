//! Direct mode for modules on Mercurial, Subversion, Bazaar and Fossil:
//! repositories made here, served on loopback by each system's own server
//! (`hg serve`, `svnserve`, `bzr serve`, `fossil server`) and found through
//! a go-import page, must give through modgate exactly what the go
//! command's own GOPROXY=direct mode gives: versions, `.info` (byte for
//! byte, `Origin` included), go.sum hashes of go.mod files and zips, lists,
//! branch and commit queries and pseudo-versions. Also: revisions a tool
//! could read as options run nothing, and GOVCS refuses what go refuses.
//!
//! The go-get pages are served by a forward HTTP proxy (both go and modgate
//! reach `http://vcs.example/...` through it, `GOINSECURE`/`--insecure`);
//! the repositories are on 127.0.0.1, which `NO_PROXY` keeps off the proxy
//! and `--allow-network` opens to modgate.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
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

/// A FOSSIL_HOME whose global settings say "no HTTP proxy".
fn fossil_home() -> PathBuf {
    static HOME: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    HOME.get_or_init(|| {
        let home = scratch_home();
        run(&home, "fossil", &["settings", "proxy", "off", "--global"]);
        home
    })
    .clone()
}

/// A server process, killed with the test.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `name args(port)` on a free port and waits until it listens
/// there; the port. A port found free can be taken by another test's server
/// before the tool binds it (then the tool exits, and a connection would
/// reach the other server): only a listening socket of the tool's own counts,
/// and a lost port is picked again.
fn serve(dir: &Path, name: &str, args: &dyn Fn(u16) -> Vec<String>) -> (Server, u16) {
    for _ in 0..5 {
        let port = closed_port();
        let args = args(port);
        let mut cmd = Command::new(tool(name));
        cmd.args(&args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        tool_env(&mut cmd, &scratch_home());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let mut exited = false;
        for _ in 0..600 {
            if listens(child.id(), port) {
                return (Server(child), port);
            }
            if let Ok(Some(_)) = child.try_wait() {
                exited = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        assert!(exited, "{name} {} never listened on {port}", args.join(" "));
    }
    panic!("{name} could not bind a free port in 5 tries");
}

/// Whether process `pid` holds a socket listening on 127.0.0.1:`port`.
fn listens(pid: u32, port: u16) -> bool {
    let Ok(table) = std::fs::read_to_string("/proc/net/tcp") else {
        return false;
    };
    let local = format!("0100007F:{port:04X}");
    let inodes: Vec<String> = table
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            // local address, state (0A: LISTEN), inode
            (f.get(1) == Some(&local.as_str()) && f.get(3) == Some(&"0A"))
                .then(|| f.get(9).map(|i| format!("socket:[{i}]")))
                .flatten()
        })
        .collect();
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten().any(|fd| {
        std::fs::read_link(fd.path())
            .is_ok_and(|target| inodes.iter().any(|i| target.as_os_str() == i.as_str()))
    })
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| (*a).to_owned()).collect()
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
        // fossil ignores NO_PROXY: its global settings turn the proxy off.
        env.push(("FOSSIL_HOME", fossil_home().display().to_string()));
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

/// What one `go mod download -json M@Q` gives: the version, both hashes
/// and the `.info` go wrote to its module cache.
type Got = (String, String, String, String);

/// What one `go mod download -json M@Q` gives, or that it failed.
fn download(go: &Go, target: &str) -> Result<Got, String> {
    let dir = fresh_dir("work");
    let (found, out) = go::try_download(go, &dir, &[target]);
    match found.first() {
        Some(d) if d.error.is_none() && out.status.success() => {
            let info = fs_err::read_to_string(&d.info)
                .unwrap_or_else(|e| panic!("the .info go wrote for {target}: {e}"));
            Ok((d.version.clone(), d.sum.clone(), d.go_mod_sum.clone(), info))
        }
        Some(d) => Err(d.error.clone().unwrap_or_default()),
        None => Err(String::from_utf8_lossy(&out.stderr).into_owned()),
    }
}

/// What `go list -m M@Q` resolves (the `.info` alone, no zip).
fn resolve(go: &Go, target: &str) -> Result<String, String> {
    let dir = fresh_dir("work");
    let out = go.try_run(&dir, &["list", "-m", target]);
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
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

/// Every list of `modules`, then every `targets` (M@Q) in order, direct and
/// through modgate, must agree, down to the bytes of the `.info` go writes
/// to its module cache, which modgate's own answers (the query's and the
/// resolved version's) must be too; returns the direct results by target.
/// Lists come first: modgate lists the versions it has stored too (as
/// proxy.golang.org does), which go's direct mode may not list (fossil).
fn compare(
    pages: &Pages,
    modgate: &Modgate,
    modules: &[&str],
    targets: &[String],
) -> HashMap<String, Result<Got, String>> {
    let direct = go_with("direct", pages);
    let proxied = go_with(&modgate.url, pages);
    let mut problems = Vec::new();
    let mut results = HashMap::new();
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
        if let Ok((version, .., info)) = &want {
            let (module, query) = target.split_once('@').unwrap();
            let query = match query {
                "latest" => "@latest".to_owned(),
                q => format!("@v/{q}.info"),
            };
            for path in [query, format!("@v/{version}.info")] {
                let resp = http::get(&modgate.addr, &format!("/{module}/{path}"));
                if resp.status != 200 || resp.text() != *info {
                    problems.push(format!(
                        "GET {module}/{path}: {} {}\n  go direct wrote {info}",
                        resp.status,
                        resp.text()
                    ));
                }
            }
        }
        results.insert(target.clone(), want);
        let want = resolve(&direct, target);
        let got = resolve(&proxied, target);
        if want.is_ok() != got.is_ok() || (want.is_ok() && want != got) {
            problems.push(format!(
                "go list -m {target}:\n  go direct: {want:?}\n  modgate:   {got:?}"
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

fn ok<'a>(results: &'a HashMap<String, Result<Got, String>>, target: &str) -> &'a Got {
    results[target]
        .as_ref()
        .unwrap_or_else(|e| panic!("{target} failed in go's own direct mode: {e}"))
}

/// The `Origin` go's direct mode wrote for `target` (which `compare` found
/// modgate to serve too): the system, the repository's URL, the module's
/// directory, and the commit's hash where the system has one (hg, fossil;
/// not the revision numbers of svn and bzr); no ref, no tag sums.
fn assert_origin(
    results: &HashMap<String, Result<Got, String>>,
    target: &str,
    vcs: &str,
    url: &str,
    subdir: &str,
    hashed: bool,
) {
    let info = &ok(results, target).3;
    let info: serde_json::Value = serde_json::from_str(info).unwrap();
    let origin = info["Origin"]
        .as_object()
        .unwrap_or_else(|| panic!("go direct wrote no Origin for {target}: {info}"));
    let mut keys: Vec<&str> = vec!["VCS", "URL"];
    if !subdir.is_empty() {
        keys.push("Subdir");
    }
    if hashed {
        keys.push("Hash");
    }
    keys.sort();
    // serde_json's map is sorted: the order is `compare`'s business.
    assert_eq!(
        origin.keys().map(String::as_str).collect::<Vec<_>>(),
        keys,
        "{target}: {info}"
    );
    if hashed {
        assert_eq!(
            origin["Hash"].as_str().map(str::len),
            Some(40),
            "{target}: {info}"
        );
    }
    assert_eq!(
        (&origin["VCS"], &origin["URL"]),
        (&vcs.into(), &url.into()),
        "{target}: {info}"
    );
    if !subdir.is_empty() {
        assert_eq!(origin["Subdir"], subdir, "{target}: {info}");
    }
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
    write(&dir, "a.go", "package m\n\nconst V = 22\n");
    write(&dir, "sub/go.mod", &go_mod(&format!("{module}/sub")));
    write(&dir, "sub/s.go", "package sub\n");
    hg(&["add", "-q"]);
    hg(&[&["commit", "-m", "two"][..], &who].concat());
    hg(&[&["tag", "-r", "."][..], &who, &["v1.1.0"]].concat());
    hg(&[&["tag", "-r", "-2"][..], &who, &["sub/v0.1.0"]].concat());
    hg(&["branch", "-q", "feature"]);
    write(&dir, "a.go", "package m\n\nconst V = 333\n");
    hg(&[&["commit", "-m", "three"][..], &who].concat());
    let hash = hg(&["log", "-r", ".", "--template", "{node}"]);
    let (server, port) = serve(&dir, "hg", &|port| {
        strings(&[
            "serve",
            "-a",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "--config",
            "ui.interactive=false",
        ])
    });
    (
        server,
        format!("http://127.0.0.1:{port}/"),
        hash.trim().to_owned(),
    )
}

/// A Mercurial repository without a go.mod: v1.0.0, then v2.0.0, which go
/// serves as v2.0.0+incompatible. Returns the server and its URL.
fn hg_legacy_repo() -> (Server, String) {
    let dir = fresh_dir("hg");
    let hg = |args: &[&str]| run(&dir, "hg", args);
    let who = ["-u", "test", "-d", "2020-01-02 03:04:05 +0000"];
    hg(&["init", "."]);
    write(&dir, "old.go", "package old\n");
    hg(&["add", "-q"]);
    hg(&[&["commit", "-m", "one"][..], &who].concat());
    hg(&[&["tag"][..], &who, &["v1.0.0"]].concat());
    write(&dir, "old.go", "package old\n\nconst Two = 2\n");
    hg(&[&["commit", "-m", "two"][..], &who].concat());
    hg(&[&["tag"][..], &who, &["v2.0.0"]].concat());
    let (server, port) = serve(&dir, "hg", &|port| {
        strings(&["serve", "-a", "127.0.0.1", "-p", &port.to_string()])
    });
    (server, format!("http://127.0.0.1:{port}/"))
}

/// A Fossil repository (SHA-1 hashes: go reads no others): v1.0.0, then
/// v1.1.0 with a module in `sub/` (sub/v0.1.0), then a commit on branch
/// `feature`; served by `fossil server`. Returns the server, its URL and
/// the feature commit's hash.
fn fossil_repo(module: &str) -> (Server, String, String) {
    let dir = fresh_dir("fossil");
    let work = dir.join("work");
    fs_err::create_dir_all(&work).unwrap();
    let fossil = |args: &[&str]| run(&work, "fossil", args);
    run(&dir, "fossil", &["init", "r.fossil"]);
    run(&dir, "fossil", &["hash-policy", "sha1", "-R", "r.fossil"]);
    fossil(&["open", "../r.fossil"]);
    write(&work, "go.mod", &go_mod(module));
    write(&work, "a.go", "package m\n\nconst V = 1\n");
    write(&work, "LICENSE", "MIT\n");
    fossil(&["add", "."]);
    fossil(&["commit", "-m", "one", "--no-warnings"]);
    fossil(&["tag", "add", "v1.0.0", "current"]);
    write(&work, "a.go", "package m\n\nconst V = 22\n");
    write(&work, "sub/go.mod", &go_mod(&format!("{module}/sub")));
    write(&work, "sub/s.go", "package sub\n");
    fossil(&["add", "."]);
    fossil(&["commit", "-m", "two", "--no-warnings"]);
    fossil(&["tag", "add", "v1.1.0", "current"]);
    fossil(&["tag", "add", "sub/v0.1.0", "current"]);
    write(&work, "a.go", "package m\n\nconst V = 333\n");
    fossil(&[
        "commit",
        "-m",
        "three",
        "--branch",
        "feature",
        "--no-warnings",
    ]);
    let info = fossil(&["info", "current"]);
    let hash = info
        .lines()
        .find_map(|l| l.strip_prefix("hash:"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_owned();
    fossil(&["close", "--force"]);
    let (server, port) = serve(&dir, "fossil", &|port| {
        strings(&[
            "server",
            "--localhost",
            "--port",
            &port.to_string(),
            "r.fossil",
        ])
    });
    (server, format!("http://127.0.0.1:{port}/"), hash)
}

/// A Subversion repository with go's layout (trunk/, tags/): go.mod and a
/// module in `sub/` in r2, a tag copy in r3, a change in r4; served by
/// `svnserve`. Returns the server and trunk's URL.
fn svn_repo(module: &str) -> (Server, String) {
    let dir = fresh_dir("svn");
    run(&dir, "svnadmin", &["create", "r"]);
    let root = format!("file://{}", dir.join("r").display());
    let (trunk, tags) = (format!("{root}/trunk"), format!("{root}/tags"));
    run(&dir, "svn", &["mkdir", "-q", &trunk, &tags, "-m", "layout"]);
    run(&dir, "svn", &["checkout", "-q", &trunk, "w"]);
    let work = dir.join("w");
    write(&work, "go.mod", &go_mod(module));
    write(&work, "a.go", "package m\n\nconst V = 1\n");
    write(&work, "LICENSE", "MIT\n");
    write(&work, "sub/go.mod", &go_mod(&format!("{module}/sub")));
    write(&work, "sub/s.go", "package sub\n");
    run(
        &work,
        "svn",
        &["add", "-q", "go.mod", "a.go", "LICENSE", "sub"],
    );
    run(&work, "svn", &["commit", "-q", "-m", "one"]);
    run(
        &dir,
        "svn",
        &["copy", "-q", &trunk, &format!("{tags}/v1.0.0"), "-m", "tag"],
    );
    write(&work, "a.go", "package m\n\nconst V = 22\n");
    run(&work, "svn", &["commit", "-q", "-m", "two"]);
    let (server, port) = serve(&dir, "svnserve", &|port| {
        strings(&[
            "-d",
            "--foreground",
            "-r",
            "r",
            "--listen-host",
            "127.0.0.1",
            "--listen-port",
            &port.to_string(),
        ])
    });
    (server, format!("svn://127.0.0.1:{port}/trunk"))
}

/// A Bazaar branch: v1.0.0 (revno 1), v1.1.0 and sub/v0.1.0 with a module
/// in `sub/` (revno 2), then revno 3; served by `bzr serve`.
fn bzr_repo(module: &str) -> (Server, String) {
    let dir = fresh_dir("bzr");
    let bzr = |args: &[&str]| run(&dir, "bzr", args);
    let time = ["--commit-time", "2020-01-02 03:04:05 +0000"];
    bzr(&["init", "-q", "."]);
    write(&dir, "go.mod", &go_mod(module));
    write(&dir, "a.go", "package m\n\nconst V = 1\n");
    write(&dir, "LICENSE", "MIT\n");
    bzr(&["add", "-q"]);
    bzr(&[&["commit", "-q", "-m", "one"][..], &time].concat());
    bzr(&["tag", "-q", "v1.0.0"]);
    write(&dir, "a.go", "package m\n\nconst V = 22\n");
    write(&dir, "sub/go.mod", &go_mod(&format!("{module}/sub")));
    write(&dir, "sub/s.go", "package sub\n");
    bzr(&["add", "-q"]);
    bzr(&[&["commit", "-q", "-m", "two"][..], &time].concat());
    bzr(&["tag", "-q", "v1.1.0"]);
    bzr(&["tag", "-q", "sub/v0.1.0"]);
    write(&dir, "a.go", "package m\n\nconst V = 333\n");
    bzr(&[&["commit", "-q", "-m", "three"][..], &time].concat());
    let (server, port) = serve(&dir, "bzr", &|port| {
        strings(&[
            "serve",
            "--listen",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--directory",
            dir.to_str().unwrap(),
        ])
    });
    (server, format!("bzr://127.0.0.1:{port}/"))
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
    for query in ["v1.0.0", "feature", "latest"] {
        let target = format!("{module}@{query}");
        assert_origin(&results, &target, "hg", &url, "", true);
    }
    assert_origin(&results, &format!("{sub}@v0.1.0"), "hg", &url, "sub", true);
    // The branch query is a pseudo-version of the feature commit, which
    // both must then serve by that name too.
    let (pseudo, ..) = ok(&results, &format!("{module}@feature"));
    assert!(
        pseudo.starts_with("v0.0.0-20200102030405-") && pseudo.ends_with(&feature[..12]),
        "{pseudo}"
    );
    compare(&pages, &modgate, &[], &[format!("{module}@{pseudo}")]);
    assert_eq!(ok(&results, &format!("{module}@latest")).0, "v1.1.0");

    // Without a go.mod, v2 tags are +incompatible versions of the v0/v1 path.
    let legacy = format!("{HOST}/hg/legacy");
    let (_legacy, url) = hg_legacy_repo();
    pages.add(&legacy, "hg", &url);
    let results = compare(
        &pages,
        &modgate,
        &[&legacy],
        &[
            format!("{legacy}@latest"),
            format!("{legacy}@v2.0.0"),
            format!("{legacy}@v2.0.0+incompatible"),
            format!("{legacy}@v1.0.0"),
        ],
    );
    assert_eq!(
        ok(&results, &format!("{legacy}@v2.0.0")).0,
        "v2.0.0+incompatible"
    );
}

#[test]
fn fossil_modules_match_the_go_commands_direct_mode() {
    let pages = Pages::start();
    let module = format!("{HOST}/fossil/m");
    let (_server, url, feature) = fossil_repo(&module);
    pages.add(&module, "fossil", &url);
    let modgate = start_modgate(&pages, &["--govcs", "*:all"]);
    let sub = format!("{module}/sub");
    // @latest before any tag is stored (see compare).
    let targets: Vec<String> = [
        format!("{module}@latest"),
        format!("{module}@v1.0.0"),
        format!("{module}@v1.1.0"),
        format!("{module}@trunk"),
        format!("{module}@feature"),
        format!("{module}@{}", &feature[..12]),
        format!("{sub}@v0.1.0"),
    ]
    .into();
    let results = compare(&pages, &modgate, &[&module, &sub], &targets);
    for query in ["v1.0.0", "feature", "latest"] {
        let target = format!("{module}@{query}");
        assert_origin(&results, &target, "fossil", &url, "", true);
    }
    assert_origin(
        &results,
        &format!("{sub}@v0.1.0"),
        "fossil",
        &url,
        "sub",
        true,
    );
    // go reads fossil tags when named, though it lists none.
    assert_eq!(ok(&results, &format!("{module}@v1.1.0")).0, "v1.1.0");
    let (pseudo, ..) = ok(&results, &format!("{module}@feature"));
    assert!(pseudo.ends_with(&feature[..12]), "{pseudo}");
    compare(&pages, &modgate, &[], &[format!("{module}@{pseudo}")]);
}

#[test]
fn svn_modules_match_the_go_commands_direct_mode() {
    let pages = Pages::start();
    let module = format!("{HOST}/svn/m");
    let (_server, url) = svn_repo(&module);
    pages.add(&module, "svn", &url);
    let modgate = start_modgate(&pages, &["--govcs", "*:all"]);
    let sub = format!("{module}/sub");
    let targets: Vec<String> = [
        format!("{module}@latest"),
        format!("{module}@2"),
        format!("{module}@000000000004"),
        format!("{module}@v1.0.0"),
        format!("{sub}@latest"),
    ]
    .into();
    let results = compare(&pages, &modgate, &[&module, &sub], &targets);
    // No tag: go cannot name one (below).
    for query in ["2", "000000000004", "latest"] {
        let target = format!("{module}@{query}");
        assert_origin(&results, &target, "svn", &url, "", false);
    }
    assert_origin(
        &results,
        &format!("{sub}@latest"),
        "svn",
        &url,
        "sub",
        false,
    );
    // go resolves svn revisions (numbers, latest) to pseudo-versions, and
    // zips what `svn export` writes; tags are listed with a `/` that keeps
    // them from being versions, and cannot be asked for.
    let (latest, ..) = ok(&results, &format!("{module}@latest"));
    assert!(latest.ends_with("-000000000004"), "{latest}");
    ok(&results, &format!("{sub}@latest"));
    assert!(results[&format!("{module}@v1.0.0")].is_err());
    let proxied = go_with(&modgate.url, &pages);
    let two = resolve(&proxied, &format!("{module}@2")).unwrap();
    assert!(two.ends_with("-000000000002"), "{two}");
    let pseudo = two.split_whitespace().nth(1).unwrap();
    assert_eq!(
        resolve(&go_with("direct", &pages), &format!("{module}@{pseudo}")),
        resolve(&proxied, &format!("{module}@{pseudo}")),
    );
    let latest = resolve(&proxied, &format!("{module}@latest")).unwrap();
    assert!(latest.ends_with("-000000000004"), "{latest}");
}

#[test]
fn bzr_modules_match_the_go_commands_direct_mode() {
    let pages = Pages::start();
    let module = format!("{HOST}/bzr/m");
    let (_server, url) = bzr_repo(&module);
    pages.add(&module, "bzr", &url);
    let modgate = start_modgate(&pages, &["--govcs", "*:all"]);
    let sub = format!("{module}/sub");
    let targets: Vec<String> = [
        format!("{module}@v1.0.0"),
        format!("{module}@v1.1.0"),
        format!("{module}@latest"),
        format!("{module}@3"),
        format!("{sub}@v0.1.0"),
    ]
    .into();
    let results = compare(&pages, &modgate, &[&module, &sub], &targets);
    for query in ["v1.0.0", "3", "latest"] {
        let target = format!("{module}@{query}");
        assert_origin(&results, &target, "bzr", &url, "", false);
    }
    assert_origin(
        &results,
        &format!("{sub}@v0.1.0"),
        "bzr",
        &url,
        "sub",
        false,
    );
    assert_eq!(ok(&results, &format!("{module}@v1.1.0")).0, "v1.1.0");
    let (pseudo, ..) = ok(&results, &format!("{module}@3"));
    assert!(pseudo.ends_with("-000000000003"), "{pseudo}");
    compare(&pages, &modgate, &[], &[format!("{module}@{pseudo}")]);
}

/// A go-import page may name a repository URL with credentials: the
/// Origin modgate serves (and stores) masks them as it does for git, where
/// go's direct mode writes them to its module cache as given.
#[test]
fn origin_urls_carry_no_credentials() {
    let pages = Pages::start();
    let module = format!("{HOST}/hg/creds");
    let (_server, url, _) = hg_repo(&module);
    pages.add(
        &module,
        "hg",
        &url.replacen("http://", "http://who:hunter2@", 1),
    );
    let modgate = start_modgate(&pages, &[]);
    let masked = url.replacen("http://", "http://***@", 1);
    for path in ["@latest", "@v/v1.0.0.info"] {
        let resp = http::get(&modgate.addr, &format!("/{module}/{path}"));
        let text = resp.text();
        assert_eq!(resp.status, 200, "{path}: {text}");
        assert!(
            text.contains(&format!(
                r#""Origin":{{"VCS":"hg","URL":"{masked}","Hash":""#
            )),
            "{path}: {text}"
        );
        assert!(!text.contains("hunter2"), "{path}: {text}");
    }
    assert!(!modgate.logs().contains("hunter2"), "{}", modgate.logs());
}

/// Revisions a tool would read as an option (go's CVE-2025-68119 was such
/// an injection through hg), revsets and ranges, asked of every system:
/// each is a 4xx, and no tool ever sees them.
#[test]
fn option_like_revisions_run_nothing() {
    let pages = Pages::start();
    let hg = format!("{HOST}/hg/inject");
    let (_hg, url, _) = hg_repo(&hg);
    pages.add(&hg, "hg", &url);
    let fossil = format!("{HOST}/fossil/inject");
    let (_fossil, url, _) = fossil_repo(&fossil);
    pages.add(&fossil, "fossil", &url);
    let bzr = format!("{HOST}/bzr/inject");
    let (_bzr, url) = bzr_repo(&bzr);
    pages.add(&bzr, "bzr", &url);
    let svn = format!("{HOST}/svn/inject");
    let (_svn, url) = svn_repo(&svn);
    pages.add(&svn, "svn", &url);
    let modgate = start_modgate(&pages, &["--govcs", "*:all"]);
    let marker = fresh_dir("marker").join("injected");
    let touch = format!("--config=alias.log=!touch%20{}", marker.display()).replace('/', "%2F");
    let attempts = [
        touch.as_str(),
        "--config=ui.editor=sh",
        "-rtip",
        "--debugger",
        "-R..",
        "--cwd=..",
        "-h",
        "tip%20and%20file('x')",
        "ancestors(all())",
        "1:3",
        "v1.0.0..v1.1.0",
    ];
    for module in [&hg, &fossil, &bzr, &svn] {
        // A real version first, so the clone exists and each tool is ready.
        let real = http::get(&modgate.addr, &format!("/{module}/@v/latest.info"));
        assert_eq!(real.status, 200, "{module}@latest: {}", real.text());
        for rev in attempts {
            let resp = http::get(&modgate.addr, &format!("/{module}/@v/{rev}.info"));
            assert!(
                (400..500).contains(&resp.status),
                "{module}@{rev}: {} {}",
                resp.status,
                resp.text()
            );
        }
    }
    assert!(!marker.exists(), "a tool ran an injected command");
    let logs = modgate.logs();
    for line in logs.lines().filter(|l| l.contains("vcs command command=")) {
        let command = line.split("vcs command command=").nth(1).unwrap();
        let command = command.split(" in ").next().unwrap_or_default();
        for word in command.split_whitespace() {
            let seen = attempts
                .iter()
                .filter(|rev| !rev.contains("%20"))
                .any(|rev| word == *rev || word.ends_with(&format!("@{rev}")))
                || word.starts_with("file('x')")
                || word.starts_with("--config=alias")
                || word.starts_with("--config=ui.editor");
            assert!(!seen, "a tool saw {word:?}: {line}");
        }
    }
}

/// GOVCS as go applies it: by default public modules come from git and hg
/// only, with go's words for a refusal; `--govcs` rules come first.
#[test]
fn govcs_refuses_what_go_refuses() {
    let pages = Pages::start();
    let fossil = format!("{HOST}/fossil/public");
    let (_fossil, url, _) = fossil_repo(&fossil);
    pages.add(&fossil, "fossil", &url);
    let hg = format!("{HOST}/hg/public");
    let (_hg, url, _) = hg_repo(&hg);
    pages.add(&hg, "hg", &url);

    // The default: fossil is refused for a public module, hg is not.
    let modgate = start_modgate(&pages, &[]);
    let refused = http::get(&modgate.addr, &format!("/{fossil}/@v/latest.info"));
    assert_eq!(refused.status, 404, "{}", refused.text());
    let want = format!("GOVCS disallows using fossil for public {fossil}");
    assert!(refused.text().contains(&want), "{}", refused.text());
    // go's own words, with its default GOVCS.
    let go = Go::new("direct")
        .env("GOINSECURE", HOST)
        .env("GOSUMDB", "off");
    let go = pages.env().into_iter().fold(go, |go, (k, v)| go.env(k, &v));
    let err = resolve(&go, &format!("{fossil}@latest")).unwrap_err();
    assert!(err.contains(&want), "{err}");
    let ok = http::get(&modgate.addr, &format!("/{hg}/@v/latest.info"));
    assert_eq!(ok.status, 200, "{}", ok.text());

    // --private modules may use any system; --govcs rules come first.
    let modgate = start_modgate(
        &pages,
        &["--private", &fossil, "--govcs", &format!("{HOST}/hg:git")],
    );
    let allowed = http::get(&modgate.addr, &format!("/{fossil}/@v/latest.info"));
    assert_eq!(allowed.status, 200, "{}", allowed.text());
    let refused = http::get(&modgate.addr, &format!("/{hg}/@v/latest.info"));
    assert_eq!(refused.status, 404, "{}", refused.text());
    assert!(
        refused
            .text()
            .contains(&format!("GOVCS disallows using hg for public {hg}")),
        "{}",
        refused.text()
    );

    // A setting go would refuse does not start.
    let out = crate::support::modgate::run(&["serve", "--govcs", "a.com:hg,a.com:git"], &[]);
    assert!(!out.status.success());
    assert!(
        crate::support::modgate::text(&out).contains("unreachable pattern in GOVCS"),
        "{}",
        crate::support::modgate::text(&out)
    );
}
