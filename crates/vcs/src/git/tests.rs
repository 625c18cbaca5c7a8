//! Against real repositories made with the `git` binary in a temporary
//! directory, reached over file:// URLs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::*;

/// Runs git in `dir`, isolated from the user's configuration, with fixed
/// identities and dates `at` seconds after 2023-01-01; returns its stdout.
fn git_at(dir: &Path, at: i64, args: &[&str]) -> String {
    let date = format!("@{} +0000", 1_672_531_200 + at);
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "A")
        .env("GIT_AUTHOR_EMAIL", "a@example.com")
        .env("GIT_COMMITTER_NAME", "C")
        .env("GIT_COMMITTER_EMAIL", "c@example.com")
        .env("GIT_AUTHOR_DATE", &date)
        .env("GIT_COMMITTER_DATE", &date)
        .output()
        .expect("the vcs tests need git on PATH: install git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A source repository and a [`Git`] with its work directory.
struct Fixture {
    tmp: TempDir,
    src: PathBuf,
    git: Git,
}

impl Fixture {
    fn new(timeout: Duration) -> Fixture {
        Self::with_policy(timeout, DestinationPolicy::default())
    }

    fn with_policy(timeout: Duration, policy: DestinationPolicy) -> Fixture {
        let tmp = TempDir::new().unwrap();
        let src = tmp.path().join("src");
        fs_err::create_dir(&src).unwrap();
        git_at(&src, 0, &["init", "-q", "-b", "main"]);
        let git = Git::new(GitSettings {
            workdir: tmp.path().join("work"),
            max_processes: 8,
            timeout,
            refs_ttl: Duration::ZERO,
            max_size: 0,
            policy: Arc::new(policy),
        })
        .unwrap();
        Fixture { tmp, src, git }
    }

    fn url(&self) -> String {
        format!("file://{}", self.src.display())
    }

    fn repo(&self) -> Arc<GitRepo> {
        self.git.repo(&self.url())
    }

    /// Commits `files` at time `at`; returns the commit hash.
    fn commit(&self, at: i64, files: &[(&str, &str)]) -> String {
        for (name, text) in files {
            let path = self.src.join(name);
            fs_err::create_dir_all(path.parent().unwrap()).unwrap();
            fs_err::write(&path, text).unwrap();
        }
        git_at(&self.src, at, &["add", "-A"]);
        git_at(&self.src, at, &["commit", "-q", "-m", &format!("at {at}")]);
        git_at(&self.src, at, &["rev-parse", "HEAD"])
    }

    fn git(&self, args: &[&str]) -> String {
        git_at(&self.src, 0, args)
    }
}

/// c1 (v1.0.0, sub/v2.0.0) <- c2 (annotated v1.1.0, v1.1.0-alias) <- c3 (main), and
/// c4 on branch `side` off c1, tagged v1.5.0.
struct History {
    f: Fixture,
    c1: String,
    c2: String,
    c3: String,
    c4: String,
}

fn history() -> History {
    let f = Fixture::new(Duration::from_secs(20));
    let c1 = f.commit(10, &[("go.mod", "module example.com/m\n")]);
    f.git(&["tag", "v1.0.0"]);
    f.git(&["tag", "sub/v2.0.0"]);
    let c2 = f.commit(20, &[("a.go", "package m\n")]);
    git_at(&f.src, 20, &["tag", "-a", "-m", "release", "v1.1.0"]);
    f.git(&["tag", "v1.1.0-alias"]);
    // A tag of a tag decorates the commit too; a tag of a tree, none.
    git_at(
        &f.src,
        20,
        &["tag", "-a", "-m", "again", "rel-of-tag", "v1.1.0"],
    );
    f.git(&["tag", "tree-tag", "HEAD^{tree}"]);
    let c3 = f.commit(30, &[("b.go", "package m\n")]);
    f.git(&["checkout", "-q", "-b", "side", &c1]);
    let c4 = f.commit(40, &[("side.go", "package m\n")]);
    f.git(&["tag", "v1.5.0"]);
    f.git(&["checkout", "-q", "main"]);
    History { f, c1, c2, c3, c4 }
}

#[tokio::test]
async fn refs_peel_annotated_tags() {
    let h = history();
    let refs = h.f.repo().refs().await.unwrap();
    assert_eq!(refs.head(), Some(h.c3.as_str()));
    assert_eq!(refs.get("refs/heads/main"), Some(h.c3.as_str()));
    assert_eq!(refs.get("refs/heads/side"), Some(h.c4.as_str()));
    let tag_object = h.f.git(&["rev-parse", "v1.1.0"]);
    assert_ne!(tag_object, h.c2, "v1.1.0 must be an annotated tag");
    assert_eq!(refs.get("refs/tags/v1.1.0"), Some(h.c2.as_str()));
    assert_eq!(refs.get("refs/tags/v1.1.0^{}"), None);
    assert_eq!(
        refs.tags("v1."),
        vec![
            ("v1.0.0".to_owned(), h.c1.clone()),
            ("v1.1.0".to_owned(), h.c2.clone()),
            ("v1.1.0-alias".to_owned(), h.c2.clone()),
            ("v1.5.0".to_owned(), h.c4.clone()),
        ]
    );
    assert_eq!(
        refs.tags("sub/"),
        vec![("sub/v2.0.0".to_owned(), h.c1.clone())]
    );
    assert!(refs.tags("nope").is_empty());
}

#[tokio::test]
async fn stat_resolves_like_go() {
    let h = history();
    let repo = h.f.repo();

    let info = repo.stat("v1.1.0").await.unwrap();
    assert_eq!(info.hash, h.c2);
    assert_eq!(info.time, 1_672_531_200 + 20);
    assert_eq!(info.tags, ["rel-of-tag", "v1.1.0", "v1.1.0-alias"]);
    assert_eq!(info.short(), h.c2[..12]);

    assert_eq!(repo.stat("main").await.unwrap().hash, h.c3);
    assert_eq!(repo.stat("side").await.unwrap().hash, h.c4);
    assert_eq!(repo.stat("HEAD").await.unwrap().hash, h.c3);
    assert_eq!(repo.latest().await.unwrap().hash, h.c3);
    assert_eq!(repo.stat(&h.c1[..7]).await.unwrap().hash, h.c1);
    let c1 = repo.stat(&h.c1).await.unwrap();
    assert_eq!(c1.tags, ["sub/v2.0.0", "v1.0.0"]);

    for rev in [
        "nope",
        "tree-tag",
        "v9.9.9",
        "0000000",
        &"0".repeat(40),
        "a..b",
        "-x",
    ] {
        match repo.stat(rev).await {
            Err(VcsError::UnknownRevision { .. }) => {}
            other => panic!("stat {rev:?}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn latest_of_an_empty_repository() {
    let f = Fixture::new(Duration::from_secs(20));
    match f.repo().latest().await {
        Err(VcsError::NoCommits) => {}
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn stat_finds_what_was_pushed_after_a_fetch() {
    let h = history();
    let repo = h.f.repo();
    assert_eq!(repo.stat("v1.0.0").await.unwrap().hash, h.c1);

    let c5 = h.f.commit(50, &[("c.go", "package m\n")]);
    h.f.git(&["tag", "v1.2.0"]);
    // A new tag on a commit the mirror has: go tags it locally, we fetch.
    h.f.git(&["tag", "v0.9.0", &h.c1]);

    assert_eq!(repo.stat("v1.2.0").await.unwrap().hash, c5);
    assert_eq!(repo.stat("main").await.unwrap().hash, c5);
    let c1 = repo.stat("v0.9.0").await.unwrap();
    assert_eq!(c1.tags, ["sub/v2.0.0", "v0.9.0", "v1.0.0"]);

    // Gone from the remote, the branch no longer resolves.
    h.f.git(&["branch", "-D", "side"]);
    match repo.stat("side").await {
        Err(VcsError::UnknownRevision { rev }) => assert_eq!(rev, "side"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn read_file_present_absent_too_large() {
    let h = history();
    let repo = h.f.repo();
    repo.stat(&h.c3).await.unwrap();
    let go_mod = repo.read_file(&h.c3, "go.mod", 1 << 20).await.unwrap();
    assert_eq!(go_mod.as_deref(), Some(&b"module example.com/m\n"[..]));
    assert_eq!(
        repo.read_file(&h.c3, "nope.go", 1 << 20).await.unwrap(),
        None
    );
    assert_eq!(repo.read_file(&h.c1, "a.go", 1 << 20).await.unwrap(), None);
    match repo.read_file(&h.c3, "go.mod", 5).await {
        Err(VcsError::TooLarge { max: 5, .. }) => {}
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn recent_tag_and_descends_from() {
    let h = history();
    let repo = h.f.repo();
    repo.stat(&h.c3).await.unwrap();
    let any = |_: &str| true;

    let recent = repo.recent_tag(&h.c3, "", &any).await.unwrap();
    assert_eq!(recent.as_deref(), Some("v1.1.0"));
    let no_v11 = |tag: &str| !tag.starts_with("v1.1.");
    let recent = repo.recent_tag(&h.c3, "", &no_v11).await.unwrap();
    assert_eq!(recent.as_deref(), Some("v1.0.0"));
    let recent = repo.recent_tag(&h.c3, "sub/", &any).await.unwrap();
    assert_eq!(recent.as_deref(), Some("sub/v2.0.0"));
    assert_eq!(repo.recent_tag(&h.c3, "other/", &any).await.unwrap(), None);
    // v1.5.0 is on another branch.
    let recent = repo.recent_tag(&h.c4, "", &any).await.unwrap();
    assert_eq!(recent.as_deref(), Some("v1.5.0"));

    assert!(repo.descends_from(&h.c3, "v1.0.0").await.unwrap());
    assert!(repo.descends_from(&h.c2, "v1.1.0").await.unwrap());
    assert!(!repo.descends_from(&h.c1, "v1.1.0").await.unwrap());
    assert!(!repo.descends_from(&h.c3, "v1.5.0").await.unwrap());
    assert!(!repo.descends_from(&h.c3, "v7.0.0").await.unwrap());
}

/// The names in a tar file, without the pax global header.
fn tar_names(path: &Path) -> Vec<String> {
    let out = Command::new("tar").arg("-tf").arg(path).output().unwrap();
    assert!(out.status.success());
    let mut names: Vec<_> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn archive_ignores_export_attributes() {
    let f = Fixture::new(Duration::from_secs(20));
    let hash = f.commit(
        10,
        &[
            (
                ".gitattributes",
                "ignored.txt export-ignore\nsubst.txt export-subst\n",
            ),
            ("go.mod", "module example.com/m\n"),
            ("ignored.txt", "still here\n"),
            ("subst.txt", "$Format:%H$\n"),
            ("sub/go.mod", "module example.com/m/sub\n"),
            ("sub/x.go", "package sub\n"),
        ],
    );
    let repo = f.repo();
    repo.stat(&hash).await.unwrap();
    let dest = f.tmp.path().join("out.tar");

    repo.archive(&hash, "", &dest, 1 << 20).await.unwrap();
    assert_eq!(
        tar_names(&dest),
        [
            ".gitattributes",
            "go.mod",
            "ignored.txt",
            "sub/",
            "sub/go.mod",
            "sub/x.go",
            "subst.txt"
        ]
    );
    let out = Command::new("tar")
        .arg("-xOf")
        .arg(&dest)
        .arg("subst.txt")
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"$Format:%H$\n");

    repo.archive(&hash, "sub", &dest, 1 << 20).await.unwrap();
    assert_eq!(tar_names(&dest), ["sub/", "sub/go.mod", "sub/x.go"]);

    match repo.archive(&hash, "nope", &dest, 1 << 20).await {
        Err(VcsError::PathNotFound { path }) => assert_eq!(path, "nope"),
        other => panic!("{other:?}"),
    }
    assert_eq!(fs_err::metadata(&dest).unwrap().len(), 0);
    match repo.archive(&hash, "", &dest, 1000).await {
        Err(VcsError::TooLarge { max: 1000, .. }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(fs_err::metadata(&dest).unwrap().len(), 0);
    let attributes = fs_err::read_to_string(repo_dir(&f, &repo).join("info/attributes")).unwrap();
    assert_eq!(attributes, "\n* -export-subst -export-ignore\n");
}

/// The mirror of `repo`, the only directory in the work directory.
fn repo_dir(f: &Fixture, repo: &GitRepo) -> PathBuf {
    let dirs: Vec<_> = fs_err::read_dir(f.tmp.path().join("work"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    assert!(!dirs[0].to_string_lossy().contains("src"));
    assert_eq!(repo.url(), f.url());
    dirs[0].clone()
}

#[tokio::test]
async fn same_repo_for_same_url() {
    let f = Fixture::new(Duration::from_secs(20));
    assert!(Arc::ptr_eq(&f.repo(), &f.repo()));
    assert!(!Arc::ptr_eq(&f.repo(), &f.git.repo("file:///elsewhere")));
}

#[tokio::test]
async fn missing_repository() {
    let f = Fixture::new(Duration::from_secs(20));
    let url = format!("file://{}/nonexistent", f.tmp.path().display());
    match f.git.repo(&url).refs().await {
        Err(VcsError::RepoNotFound { url: u, .. }) => assert_eq!(u, url),
        other => panic!("{other:?}"),
    }
    match f.git.repo(&url).stat("v1.0.0").await {
        Err(VcsError::RepoNotFound { .. }) => {}
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn credentials_never_in_errors() {
    let f = Fixture::new(Duration::from_secs(20));
    let repo = f.git.repo("https://user:secret@127.0.0.1:1/x");
    assert_eq!(repo.redacted(), "https://***@127.0.0.1:1/x");
    let err = repo.refs().await.unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("secret"), "{shown}");
    assert!(shown.contains("127.0.0.1:1"), "{shown}");
}

#[tokio::test]
async fn timeout_kills_git() {
    // Accepts connections (the kernel does) but never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/x", listener.local_addr().unwrap());
    let f = Fixture::new(Duration::from_millis(500));
    let started = Instant::now();
    match f.git.repo(&url).refs().await {
        Err(VcsError::Timeout { command, after }) => {
            assert!(command.contains("ls-remote"), "{command}");
            assert_eq!(after, Duration::from_millis(500));
        }
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn redacts_every_url() {
    assert_eq!(
        redact("fatal: unable to access 'https://user:pw@host:8443/x/': 401"),
        "fatal: unable to access 'https://***@host:8443/x/': 401"
    );
    assert_eq!(
        redact("ssh://git@a/x and https://tok@b"),
        "ssh://***@a/x and https://***@b"
    );
    assert_eq!(redact("https://u:p@ss@h/x@y"), "https://***@h/x@y");
    assert_eq!(redact("https://host/path@v1"), "https://host/path@v1");
    assert_eq!(redact("no url at all"), "no url at all");
}

#[test]
fn parses_ls_remote() {
    let refs = Refs::parse(
        "aaaaaaa\tHEAD\n\
         aaaaaaa\trefs/heads/main\n\
         bbbbbbb\trefs/tags/v1\n\
         ccccccc\trefs/tags/v1^{}\n\
         ddddddd\trefs/pull/1/head\n\
         zzz\trefs/tags/bad\n",
    );
    assert_eq!(refs.head(), Some("aaaaaaa"));
    assert_eq!(refs.get("refs/tags/v1"), Some("ccccccc"));
    assert_eq!(refs.get("refs/pull/1/head"), None);
    assert_eq!(refs.get("refs/tags/bad"), None);
}

/// A loopback listener that accepts and holds connections, and counts them.
struct Listener {
    port: u16,
    accepted: Arc<std::sync::atomic::AtomicUsize>,
}

impl Listener {
    fn start() -> Listener {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = accepted.clone();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for conn in listener.incoming() {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                held.push(conn);
            }
        });
        Listener { port, accepted }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[tokio::test]
async fn guarded_urls_git_must_not_run_on() {
    let f = Fixture::new(Duration::from_secs(20));
    let l = Listener::start();
    let p = l.port;
    let refused = [
        "file:///srv/x".to_owned(),
        "ext::sh -c touch% /tmp/pwned".to_owned(),
        "ext::sh".to_owned(),
        "fd::7".to_owned(),
        format!("http://127.0.0.1:{p}/x"),
        format!("git://127.0.0.1:{p}/x"),
        format!("ftp://127.0.0.1:{p}/x"),
        "localhost:/srv/x".to_owned(),
        "git@localhost:x.git".to_owned(),
        "-uhttps://h/x".to_owned(),
        "ssh://-oProxyCommand=touch%20x/x".to_owned(),
        "ssh://-oProxyCommand=x@h/x".to_owned(),
        format!("ssh://127.0.0.1:{p}/x"),
        format!("https://127.1:{p}/x"),
        format!("https://0177.0.0.1:{p}/x"),
        format!("https://[::1]:{p}/x"),
        format!("https://[::ffff:127.0.0.1]:{p}/x"),
        "https://169.254.169.254/x".to_owned(),
        format!("https://h\\@127.0.0.1:{p}/"),
        "https://h/x y".to_owned(),
    ];
    for url in &refused {
        match f.git.guarded_repo(url) {
            Err(VcsError::Refused { .. }) => {}
            Err(e) => panic!("{url}: {e:?}"),
            Ok(_) => panic!("{url}: accepted"),
        }
    }
    // Names are resolved before git runs, and their internal addresses refused.
    for url in [
        format!("https://localhost:{p}/x"),
        format!("ssh://git@localhost:{p}/x"),
        format!("ssh://127.1:{p}/x"),
    ] {
        let repo = f.git.guarded_repo(&url).unwrap();
        let err = repo.refs().await.unwrap_err();
        assert!(matches!(err, VcsError::Refused { .. }), "{url}: {err:?}");
        assert!(err.to_string().contains("(loopback)"), "{url}: {err}");
        let err = repo.stat("v1.0.0").await.unwrap_err();
        assert!(matches!(err, VcsError::Refused { .. }), "{url}: {err:?}");
    }
    assert_eq!(l.accepted(), 0);
    // The operator's own URLs are not held to this.
    assert!(f.git.repo("file:///srv/x").url() == "file:///srv/x");
}

#[tokio::test]
async fn allowed_networks_let_guarded_urls_through() {
    let l = Listener::start();
    let allow = DestinationPolicy::new(vec!["127.0.0.0/8".parse().unwrap()], vec![]);
    let f = Fixture::with_policy(Duration::from_millis(500), allow);
    let url = format!("https://127.0.0.1:{}/x", l.port);
    let err = f.git.guarded_repo(&url).unwrap().refs().await.unwrap_err();
    assert!(matches!(err, VcsError::Timeout { .. }), "{err:?}");
    assert!(l.accepted() >= 1);
}

/// git's own rewriting (`insteadOf`) cannot take a guarded URL to a local
/// transport, while the operator's URLs keep their rewrites.
#[tokio::test]
async fn guarded_urls_get_https_and_ssh_only() {
    let named = DestinationPolicy::new(vec![], vec!["localhost".to_owned()]);
    let f = Fixture::with_policy(Duration::from_secs(20), named);
    f.commit(10, &[("go.mod", "module example.com/m\n")]);
    f.git(&["tag", "v1.0.0"]);
    // ls-remote runs with the work directory as GIT_DIR: its config applies.
    let work = f.tmp.path().join("work");
    fs_err::write(
        work.join("config"),
        format!("[url \"{}\"]\n\tinsteadOf = https://localhost/x\n", f.url()),
    )
    .unwrap();
    let plain = f.git.repo("https://localhost/x").refs().await.unwrap();
    assert!(plain.get("refs/tags/v1.0.0").is_some());
    let err = f
        .git
        .guarded_repo("https://localhost/x")
        .unwrap()
        .refs()
        .await
        .unwrap_err();
    let shown = err.to_string();
    assert!(shown.ends_with(": protocol not allowed"), "{shown}");
    assert!(!shown.contains("transport"), "{shown}");
}

#[tokio::test]
async fn mirrors_are_for_modgate_alone() {
    use std::os::unix::fs::PermissionsExt;
    let f = Fixture::new(Duration::from_secs(20));
    let c1 = f.commit(10, &[("go.mod", "module example.com/m\n")]);
    f.repo().stat(&c1).await.unwrap();
    let work = f.tmp.path().join("work");
    let mode = |p: &Path| fs_err::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&work), 0o700);
    let mirror = repo_dir(&f, &f.repo());
    assert_eq!(mode(&mirror), 0o700);
    for file in ["config", "HEAD", "info/attributes"] {
        assert_eq!(mode(&mirror.join(file)), 0o600, "{file}");
    }
}

/// One host whose URLs requests chose gets two git processes at once, so
/// that a host that stalls cannot take them all (here 8 processes, of
/// which 4 for guarded URLs).
#[tokio::test]
async fn few_git_processes_per_guarded_host() {
    let l = Listener::start();
    let allow = DestinationPolicy::new(vec!["127.0.0.0/8".parse().unwrap()], vec![]);
    let f = Fixture::with_policy(Duration::from_millis(1500), allow);
    let repos: Vec<_> = (0..4)
        .map(|i| {
            f.git
                .guarded_repo(&format!("https://127.0.0.1:{}/r{i}", l.port))
                .unwrap()
        })
        .collect();
    let all = futures::future::join_all(repos.iter().map(|r| r.refs()));
    let watch = async {
        tokio::time::sleep(Duration::from_millis(1000)).await;
        l.accepted()
    };
    let (results, during) = tokio::join!(all, watch);
    assert!(during <= 2, "{during} connections at once");
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Err(VcsError::Timeout { .. })))
    );
    assert_eq!(l.accepted(), 4);
}

/// A [`Git`] on the fixture's work directory, as another start of modgate.
fn restart(tmp: &Path) -> Git {
    Git::new(GitSettings {
        workdir: tmp.join("work"),
        max_processes: 8,
        timeout: Duration::from_secs(20),
        refs_ttl: Duration::ZERO,
        max_size: 0,
        policy: Arc::new(DestinationPolicy::default()),
    })
    .unwrap()
}

/// The lock files a git killed mid-fetch leaves.
const LEFT_LOCKS: &[&str] = &[
    "shallow.lock",
    "packed-refs.lock",
    "config.lock",
    "HEAD.lock",
    "index.lock",
    "refs/tags/v1.0.0.lock",
    "refs/heads/deep/branch.lock",
    "objects/info/commit-graph.lock",
    "objects/pack/tmp_pack_Xy12ab",
    // Not a lock: another repository's objects, which no mirror reads.
    "objects/info/alternates",
];

#[tokio::test]
async fn a_start_removes_what_killed_gits_left_unless_a_live_modgate_shares_the_mirrors() {
    let f = Fixture::new(Duration::from_secs(20));
    let c1 = f.commit(10, &[("go.mod", "module example.com/m\n")]);
    f.git(&["tag", "v1.0.0"]);
    let c2 = f.commit(20, &[("a.go", "package m\n")]);
    f.git(&["tag", "v1.1.0"]);
    assert_eq!(f.repo().stat("v1.0.0").await.unwrap().hash, c1);
    let mirror = repo_dir(&f, &f.repo());
    for lock in LEFT_LOCKS {
        let path = mirror.join(lock);
        fs_err::create_dir_all(path.parent().unwrap()).unwrap();
        fs_err::write(&path, "").unwrap();
    }
    let half_built = f.tmp.path().join("work").join(format!("{INIT_PREFIX}x"));
    fs_err::create_dir_all(&half_built).unwrap();

    // f.git still runs: another replica on the same directory leaves all.
    let second = restart(f.tmp.path());
    for lock in LEFT_LOCKS {
        assert!(
            mirror.join(lock).exists(),
            "{lock} removed under a live modgate"
        );
    }
    assert!(half_built.exists());
    drop(second);

    // What a start that finds no live modgate does (whether none is live is
    // the flock's to tell, between processes: a test's threads fork).
    heal(&f.tmp.path().join("work")).unwrap();
    for lock in LEFT_LOCKS {
        assert!(!mirror.join(lock).exists(), "{lock} left");
    }
    assert!(!half_built.exists());
    // A shallow fetch works again (a refused one would fetch everything,
    // unshallowing the mirror).
    let c3 = f.commit(30, &[("b.go", "package m\n")]);
    f.git(&["tag", "v1.2.0"]);
    let repo = f.repo();
    assert_eq!(repo.stat("v1.2.0").await.unwrap().hash, c3);
    assert_eq!(repo.stat("v1.1.0").await.unwrap().hash, c2);
    assert!(mirror.join("shallow").exists());
}

#[tokio::test]
async fn a_corrupt_mirror_is_set_aside_and_fetched_again_once() {
    let f = Fixture::new(Duration::from_secs(20));
    let c1 = f.commit(10, &[("go.mod", "module example.com/m\n")]);
    f.git(&["tag", "v1.0.0"]);
    let c2 = f.commit(20, &[("a.go", "package m\n")]);
    f.git(&["tag", "v1.1.0"]);
    assert_eq!(f.repo().stat("v1.0.0").await.unwrap().hash, c1);
    let mirror = repo_dir(&f, &f.repo());
    // A disk that lost what it was writing: every object file empty.
    let broken = || {
        let mut emptied = 0;
        for entry in walk(&mirror.join("objects")) {
            let name = entry.file_name().unwrap().to_string_lossy().into_owned();
            if name.ends_with(".pack") || name.len() == 38 {
                std::fs::set_permissions(
                    &entry,
                    std::os::unix::fs::PermissionsExt::from_mode(0o600),
                )
                .unwrap();
                fs_err::write(&entry, "").unwrap();
                emptied += 1;
            }
        }
        assert!(emptied > 0);
    };
    broken();
    let url = f.url();
    let Fixture {
        tmp, git: first, ..
    } = f;
    drop(first);
    let git = restart(tmp.path());
    let repo = git.repo(&url);
    assert_eq!(repo.stat("v1.1.0").await.unwrap().hash, c2);
    assert_eq!(repo.stat("v1.0.0").await.unwrap().hash, c1);
    assert!(
        !tmp.path()
            .join("work")
            .join(format!(
                "{INIT_PREFIX}aside-{}",
                mirror.file_name().unwrap().to_string_lossy()
            ))
            .exists()
    );
}

/// Commits that read fine over blobs git cannot inflate: `stat` succeeds,
/// and only `git archive` finds the damage. The mirror is set aside and
/// fetched again there too, not left answering errors forever.
#[tokio::test]
async fn a_mirror_whose_blobs_are_damaged_is_fetched_again_when_archiving() {
    let f = Fixture::new(Duration::from_secs(20));
    // Hex of a pseudo-random sequence: hardly compressible, so the blob
    // is most of the pack.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let big: String = (0..40_000)
        .map(|_| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            format!("{:016x}\n", x >> 1)
        })
        .collect();
    let hash = f.commit(
        10,
        &[("go.mod", "module example.com/m\n"), ("data.txt", &big)],
    );
    f.git(&["tag", "v1.0.0"]);
    let repo = f.repo();
    assert_eq!(repo.stat("v1.0.0").await.unwrap().hash, hash);
    let mirror = repo_dir(&f, &repo);
    // Bytes flipped in the middle of each large object file: the big
    // blob's compressed data, past the commits and trees.
    let mut damaged = 0;
    for entry in walk(&mirror.join("objects")) {
        let mut bytes = fs_err::read(&entry).unwrap();
        if bytes.len() < 100_000 {
            continue;
        }
        let middle = bytes.len() / 2;
        for b in &mut bytes[middle..middle + 4096] {
            *b ^= 0xff;
        }
        std::fs::set_permissions(&entry, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
        fs_err::write(&entry, bytes).unwrap();
        damaged += 1;
    }
    assert!(damaged > 0);
    let dest = f.tmp.path().join("out.tar");
    repo.archive(&hash, "", &dest, 1 << 22).await.unwrap();
    let out = Command::new("tar")
        .arg("-xOf")
        .arg(&dest)
        .arg("data.txt")
        .output()
        .unwrap();
    assert!(
        out.stdout == big.as_bytes(),
        "the archive is not the commit's tree"
    );
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs_err::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
