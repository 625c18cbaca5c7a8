use super::*;
use modgate_net::DestinationPolicy;

#[test]
fn option_like_and_revset_like_revisions_are_refused() {
    for rev in [
        "--config=alias.log=!touch /tmp/x",
        "-rtip",
        "--debugger",
        "-",
        "tip and file('x')",
        "ancestors(all())",
        "v1..v2",
        "1:3",
        "{2020-01-01}",
        "../x",
        "/abs",
        ".hidden",
        "a b",
        "x\n--config=y",
        "",
    ] {
        assert!(
            matches!(check_rev(rev), Err(VcsError::UnknownRevision { .. })),
            "{rev:?}"
        );
    }
    for rev in [
        "v1.0.0",
        "sub/v0.1.0",
        "feature",
        "0af9fb82d9bb",
        "000000000002",
        "v1.0.0-pre+meta",
        "release_2",
    ] {
        assert!(check_rev(rev).is_ok(), "{rev:?}");
    }
}

#[test]
fn paths_are_plain() {
    for path in [
        "-x/go.mod",
        "/etc/passwd",
        "a/../b",
        "glob:*.go",
        "re:.*",
        "a\nb",
        "x[1]",
    ] {
        assert!(check_path(path).is_err(), "{path:?}");
    }
    for path in ["", "go.mod", "sub/go.mod", "v2/go.mod", "LICENSE"] {
        assert!(check_path(path).is_ok(), "{path:?}");
    }
}

#[test]
fn hg_log_as_go_reads_it() {
    let hash = "7ca250a1884162b263aa6629a4362c4ba2c76743";
    let info = parse::stat(
        Kind::Hg,
        "7ca250a18841",
        &format!("{hash} 1577934245 0 tip v1.1.0 sub/v0.1.0"),
    )
    .unwrap();
    assert_eq!(info.hash, hash);
    assert_eq!(info.time, 1577934245);
    assert_eq!(info.tags, ["sub/v0.1.0", "v1.1.0"]);
    // A prefix of the hash is extended to it; any other name is kept.
    assert_eq!(info.version.as_deref(), Some(hash));
    assert_eq!(info.short(), "7ca250a18841");
    let named = parse::stat(Kind::Hg, "v1.1.0", &format!("{hash} 1577934245 0 v1.1.0")).unwrap();
    assert_eq!(named.version.as_deref(), Some("v1.1.0"));
    assert!(parse::stat(Kind::Hg, "x", "abort: unknown revision").is_err());
    assert!(parse::stat(Kind::Hg, "x", &format!("{hash} soon 0")).is_err());
}

#[test]
fn svn_log_as_go_reads_it() {
    let out = r#"<?xml version="1.0" encoding="UTF-8"?>
<log>
<logentry
   revision="2">
<author>test</author>
<date>2020-01-02T03:04:05.123456Z</date>
<msg>two</msg>
</logentry>
</log>
"#;
    let info = parse::stat(Kind::Svn, "latest", out).unwrap();
    assert_eq!(info.hash, "2");
    assert_eq!((info.time, info.nanos), (1577934245, 123_456_000));
    assert_eq!(info.short(), "000000000002");
    assert_eq!(info.version.as_deref(), Some("latest"));
    assert!(parse::stat(Kind::Svn, "1", "<log></log>").is_err());
}

#[test]
fn svn_list_as_go_unmarshals_it() {
    let wrapped = r#"<?xml version="1.0"?>
<lists>
<entry kind="file"><name>go.mod</name><size>27</size></entry>
<entry kind="dir"><name>sub</name></entry>
<entry kind="file"><name>a &amp; b.go</name><size>3</size></entry>
</lists>"#;
    let entries = parse::svn_list(wrapped).unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[2].name, "a & b.go");
    assert_eq!(entries[0].size, 27);
    // A list cut short is refused, as go's decoder refuses it.
    let unclosed = r#"<list
   path="svn://h/r/trunk">
<entry kind="file"><name>go.mod</name><size>27</size></entry>
"#;
    assert!(
        parse::svn_list(unclosed)
            .unwrap_err()
            .contains("unexpected EOF")
    );
    // Without the list: the first entry is the document, holding none.
    let incremental = r#"<entry kind="file"><name>go.mod</name><size>27</size></entry>
<entry kind="file"><name>a.go</name><size>3</size></entry>"#;
    assert_eq!(parse::svn_list(incremental).unwrap(), []);
    assert!(parse::svn_list("").is_err());
}

#[test]
fn bzr_log_as_go_reads_it() {
    let out = "------------------------------------------------------------\n\
               revno: 3 [merge]\n\
               revision-id: test@example.com-20200102030405-abc\n\
               committer: test <test@example.com>\n\
               branch nick: r\n\
               timestamp: Thu 2020-01-02 04:04:05 +0100\n\
               message:\n  three\n";
    let info = parse::stat(Kind::Bzr, "revno:-1", out).unwrap();
    assert_eq!(info.hash, "3");
    assert_eq!(info.time, 1577934245);
    assert_eq!(info.short(), "000000000003");
    assert!(parse::stat(Kind::Bzr, "x", "bzr: ERROR: no such revision\n").is_err());
}

#[test]
fn fossil_info_as_go_reads_it() {
    let hash = "0123456789abcdef0123456789abcdef01234567";
    let out = format!("project-name: x\nhash:         {hash} 2020-01-02 03:04:05 UTC\nparent: y\n");
    let info = parse::stat(Kind::Fossil, "0123456789ab", &out).unwrap();
    assert_eq!(info.hash, hash);
    assert_eq!(info.time, 1577934245);
    assert_eq!(info.version.as_deref(), Some(hash));
    // go accepts SHA-1 hashes only.
    let sha3 = format!("hash: {}{} 2020-01-02 03:04:05 UTC\n", hash, &hash[..24]);
    assert!(parse::stat(Kind::Fossil, "trunk", &sha3).is_err());
}

#[test]
fn tags_as_go_lists_them() {
    assert_eq!(
        parse::tags(Kind::Hg, "tip\nv1.1.0\nsub/v0.1.0\n"),
        ["v1.1.0", "sub/v0.1.0"]
    );
    assert_eq!(
        parse::tags(
            Kind::Bzr,
            "v1.0.0               1\nv1.1.0               2\n"
        ),
        ["v1.0.0", "v1.1.0"]
    );
    // go's pattern keeps svn's trailing slash, so no tag is a version.
    assert_eq!(parse::tags(Kind::Svn, "v1.0.0/\n"), ["v1.0.0/"]);
    assert!(parse::tags(Kind::Fossil, "v1.0.0\n").is_empty());
}

#[test]
fn only_gos_transports_and_plain_ones_for_insecure_modules() {
    let open = DestinationPolicy::new(Vec::new(), Vec::new());
    let parse = |kind, url: &str, insecure| Target::parse(kind, url, insecure, Some(&open));
    let t = parse(Kind::Hg, "https://hg.example/r", false).unwrap();
    assert_eq!((t.host.as_str(), t.port), ("hg.example", 443));
    assert_eq!(
        parse(Kind::Bzr, "bzr+ssh://h.example/r", false)
            .unwrap()
            .port,
        22
    );
    assert_eq!(
        parse(Kind::Svn, "svn://h.example/r", true).unwrap().port,
        3690
    );
    for (kind, url, insecure) in [
        (Kind::Hg, "http://hg.example/r", false),
        (Kind::Svn, "svn://h.example/r", false),
        (Kind::Bzr, "bzr://h.example/r", false),
        (Kind::Fossil, "ssh://h.example/r", true),
        (Kind::Hg, "file:///etc", true),
        (Kind::Svn, "file:///srv/svn", true),
        (Kind::Hg, "ext::sh -c id", true),
        (Kind::Hg, "-ohg.example", true),
        (Kind::Hg, "ssh://-oProxyCommand=id/r", false),
        (Kind::Hg, "ssh://-oProxyCommand=id@h.example/r", false),
        (Kind::Hg, "https://hg.example/r#stable", false),
        (Kind::Svn, "https://h.example/r@5", false),
        (Kind::Hg, "https://hg.example/a b", false),
        // Internal addresses a request chose.
        (Kind::Hg, "https://127.0.0.1/r", false),
        (Kind::Fossil, "http://[::1]:8080/r", true),
        (Kind::Hg, "https://169.254.169.254/r", false),
    ] {
        assert!(parse(kind, url, insecure).is_err(), "{url}");
    }
    // The operator's URLs (not guarded) may be internal.
    assert!(Target::parse(Kind::Hg, "https://127.0.0.1/r", false, None).is_ok());
    let allowed = DestinationPolicy::new(vec!["127.0.0.0/8".parse().unwrap()], Vec::new());
    assert!(Target::parse(Kind::Hg, "http://127.0.0.1:8000/", true, Some(&allowed)).is_ok());
}

/// The other systems next to a fresh git work directory.
fn others(timeout: std::time::Duration) -> (tempfile::TempDir, Others) {
    let tmp = tempfile::TempDir::new().unwrap();
    let git = crate::git::Git::new(crate::git::GitSettings {
        workdir: tmp.path().join("vcs"),
        max_processes: 4,
        timeout,
        refs_ttl: std::time::Duration::ZERO,
        max_size: 0,
        policy: std::sync::Arc::new(DestinationPolicy::default()),
    })
    .unwrap();
    (tmp, Others::new(git.shared()))
}

/// A loopback server that accepts connections and never answers.
fn silent_server() -> (std::net::TcpListener, u16) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

#[tokio::test]
async fn a_server_that_never_answers_is_a_timeout_not_a_hang() {
    let (tmp, others) = others(std::time::Duration::from_secs(2));
    let (_listener, port) = silent_server();
    let repo = others
        .repo(Kind::Hg, &format!("http://127.0.0.1:{port}/r"), false, true)
        .unwrap();
    let err = repo.stat("v1.0.0").await.unwrap_err();
    assert!(matches!(err, VcsError::Timeout { .. }), "{err}");
    // The clone was being built aside: nothing half made is in place.
    let left: Vec<_> = fs_err::read_dir(tmp.path().join("vcs"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("hg-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test]
async fn credentials_in_urls_never_reach_errors() {
    let (_tmp, others) = others(std::time::Duration::from_secs(30));
    let port = {
        let (listener, port) = silent_server();
        drop(listener);
        port
    };
    for kind in [Kind::Hg, Kind::Svn, Kind::Bzr, Kind::Fossil] {
        let url = format!("http://user:hunter2secret@127.0.0.1:{port}/r");
        let repo = others.repo(kind, &url, false, true).unwrap();
        let err = repo.stat("v1.0.0").await.unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(!text.contains("hunter2secret"), "{}: {text}", kind.cmd());
    }
    let refused = others
        .repo(
            Kind::Hg,
            "ftp://user:hunter2secret@h.example/r",
            false,
            true,
        )
        .err()
        .unwrap();
    assert!(!refused.to_string().contains("hunter2secret"), "{refused}");
}

/// An hg repository with one tagged commit, served by `hg serve` on
/// loopback; the server is killed on drop.
struct HgServed {
    _dir: tempfile::TempDir,
    child: std::process::Child,
    url: String,
}

impl Drop for HgServed {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn hg_served() -> HgServed {
    let dir = tempfile::TempDir::new().unwrap();
    let hg = |args: &[&str]| {
        let out = std::process::Command::new("hg")
            .args(args)
            .current_dir(dir.path())
            .env("HGPLAIN", "1")
            .env("HGUSER", "test")
            .output()
            .expect("these tests need hg (Debian's mercurial): run scripts/install-test-deps");
        assert!(out.status.success(), "hg {args:?}: {out:?}");
    };
    hg(&["init", "."]);
    fs_err::write(dir.path().join("go.mod"), "module example.com/m\n").unwrap();
    hg(&["add", "-q"]);
    hg(&["commit", "-m", "one"]);
    hg(&["tag", "v1.0.0"]);
    let port = {
        let (listener, port) = silent_server();
        drop(listener);
        port
    };
    let child = std::process::Command::new("hg")
        .args(["serve", "-a", "127.0.0.1", "-p", &port.to_string()])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    HgServed {
        _dir: dir,
        child,
        url: format!("http://127.0.0.1:{port}/"),
    }
}

#[tokio::test]
async fn clones_beyond_the_size_budget_are_evicted_and_made_again_on_use() {
    let tmp = tempfile::TempDir::new().unwrap();
    let workdir = tmp.path().join("vcs");
    let git = crate::git::Git::new(crate::git::GitSettings {
        workdir: workdir.clone(),
        max_processes: 4,
        timeout: std::time::Duration::from_secs(60),
        refs_ttl: std::time::Duration::ZERO,
        // Less than one clone: each new one evicts the others.
        max_size: 1,
        policy: std::sync::Arc::new(DestinationPolicy::default()),
    })
    .unwrap();
    let others = Others::new(git.shared());
    let (a, b) = (hg_served(), hg_served());
    let clones = || -> Vec<String> {
        let mut names: Vec<String> = fs_err::read_dir(&workdir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("hg-"))
            .collect();
        names.sort();
        names
    };
    let repo_a = others.repo(Kind::Hg, &a.url, false, true).unwrap();
    let first = repo_a.stat("v1.0.0").await.unwrap();
    let only_a = clones();
    assert_eq!(only_a.len(), 1, "{only_a:?}");
    let repo_b = others.repo(Kind::Hg, &b.url, false, true).unwrap();
    repo_b.stat("v1.0.0").await.unwrap();
    let only_b = clones();
    assert_eq!(only_b.len(), 1, "{only_b:?}");
    assert_ne!(only_a, only_b, "the older clone is the one evicted");
    // The evicted repository is cloned again for its next answer.
    let file = repo_a
        .read_file(&first.hash, "go.mod", 1 << 10)
        .await
        .unwrap();
    assert_eq!(file.as_deref(), Some(&b"module example.com/m\n"[..]));
}
