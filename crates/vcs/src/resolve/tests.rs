//! End to end: discovery against a local server. The resolver sends every
//! request through it as an HTTP forward proxy; it serves plain-http pages
//! for any host and refuses CONNECT, so https fails at once and only paths
//! matching the insecure patterns (corp.example) get their pages. Host
//! names go to the proxy unresolved, as with any forward proxy; IP-literal
//! hosts are checked before anything is sent, and so are redirects.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::*;

struct Site {
    /// host + path → (status, content type, body); a 302's body is its Location.
    pages: HashMap<String, (u16, &'static str, String)>,
    gets: AtomicUsize,
    /// Every request, CONNECT too.
    requests: AtomicUsize,
}

impl Site {
    fn gets(&self) -> usize {
        self.gets.load(Ordering::SeqCst)
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

async fn serve(site: State<Arc<Site>>, req: Request) -> Response {
    site.requests.fetch_add(1, Ordering::SeqCst);
    if req.method() == Method::CONNECT {
        return StatusCode::BAD_GATEWAY.into_response();
    }
    site.gets.fetch_add(1, Ordering::SeqCst);
    let uri = req.uri();
    if uri.query() != Some("go-get=1") {
        return StatusCode::BAD_REQUEST.into_response();
    }
    let key = format!("{}{}", uri.host().unwrap_or_default(), uri.path());
    match site.pages.get(&key) {
        Some((302, _, location)) => {
            (StatusCode::FOUND, [(header::LOCATION, location.clone())]).into_response()
        }
        Some((status, content_type, body)) => (
            StatusCode::from_u16(*status).unwrap(),
            [(header::CONTENT_TYPE, *content_type)],
            body.clone(),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such page\n\nmore").into_response(),
    }
}

/// The site serving `pages`, and a resolver using it with `repo_map`.
async fn setup(pages: &[(&str, u16, String)], repo_map: &str) -> (Resolver, Arc<Site>) {
    setup_with(pages, repo_map, DestinationPolicy::default(), GoGet::On).await
}

async fn setup_with(
    pages: &[(&str, u16, String)],
    repo_map: &str,
    policy: DestinationPolicy,
    go_get: GoGet,
) -> (Resolver, Arc<Site>) {
    let site = Arc::new(Site {
        pages: pages
            .iter()
            .map(|(key, status, body)| ((*key).to_owned(), (*status, "text/html", body.clone())))
            .collect(),
        gets: AtomicUsize::new(0),
        requests: AtomicUsize::new(0),
    });
    let app = axum::Router::new().fallback(serve).with_state(site.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let settings = ResolverSettings {
        repo_map: repo_map
            .split([',', ' '])
            .filter(|r| !r.is_empty())
            .map(|r| r.parse::<RepoMapRule>().unwrap())
            .collect(),
        insecure: vec![
            "other.example".to_owned(),
            "corp.example".to_owned(),
            "*.*.*.*".to_owned(),
        ],
        timeout: Duration::from_secs(10),
        policy: Arc::new(policy),
        go_get,
    };
    let resolver = Resolver::via_proxy(settings, &format!("http://{addr}")).unwrap();
    (resolver, site)
}

fn html(metas: &[&str]) -> String {
    let tags: String = metas
        .iter()
        .map(|content| format!("<meta name=\"go-import\" content=\"{content}\">\n"))
        .collect();
    format!("<!DOCTYPE html>\n<html><head>\n{tags}</head><body>hello</body></html>")
}

/// The operator's repository (repo map, known hosts).
fn git(root: &str, url: &str) -> RepoRoot {
    RepoRoot {
        subdir: String::new(),
        root: root.to_owned(),
        url: url.to_owned(),
        vcs: Vcs::Git,
        guarded: false,
    }
}

/// A repository a go-get page on a host the operator did not name found.
fn discovered(root: &str, url: &str) -> RepoRoot {
    RepoRoot {
        subdir: String::new(),
        guarded: true,
        ..git(root, url)
    }
}

#[tokio::test]
async fn discovers_over_http_for_insecure_paths() {
    let page = html(&["corp.example/foo git https://git.corp.example/foo.git"]);
    let (resolver, site) = setup(&[("corp.example/foo", 200, page)], "").await;
    assert_eq!(
        resolver.resolve("corp.example/foo").await.unwrap(),
        discovered("corp.example/foo", "https://git.corp.example/foo.git")
    );
    assert_eq!(site.gets(), 1);
}

/// Go 1.25's fourth field: the module root is that subdirectory; a page
/// for a shorter prefix must name the same one.
#[tokio::test]
async fn a_subdirectory_comes_from_the_fourth_field() {
    let tag = "corp.example/sub git https://git.corp.example/r.git go/sub";
    let other = "corp.example/sub git https://git.corp.example/r.git go/else";
    let (resolver, _) = setup(
        &[
            ("corp.example/sub", 200, html(&[tag])),
            ("corp.example/sub/pkg", 200, html(&[tag])),
            ("corp.example/sub/lie", 200, html(&[other])),
        ],
        "",
    )
    .await;
    let want = RepoRoot {
        subdir: "go/sub".into(),
        ..discovered("corp.example/sub", "https://git.corp.example/r.git")
    };
    assert_eq!(resolver.resolve("corp.example/sub").await.unwrap(), want);
    assert_eq!(
        resolver.resolve("corp.example/sub/pkg").await.unwrap(),
        want
    );
    let err = resolver.resolve("corp.example/sub/lie").await.unwrap_err();
    assert!(err.to_string().contains("disagree"), "{err}");
}

#[tokio::test]
async fn verifies_a_shorter_prefix_with_its_own_page() {
    let tag = "corp.example/foo git https://git.corp.example/foo.git";
    let (resolver, site) = setup(
        &[
            ("corp.example/foo/bar", 200, html(&[tag])),
            ("corp.example/foo", 200, html(&[tag])),
        ],
        "",
    )
    .await;
    assert_eq!(
        resolver.resolve("corp.example/foo/bar").await.unwrap(),
        discovered("corp.example/foo", "https://git.corp.example/foo.git")
    );
    assert_eq!(site.gets(), 2);
}

#[tokio::test]
async fn refuses_a_prefix_its_own_page_disowns() {
    let (resolver, _) = setup(
        &[
            (
                "corp.example/evil/x",
                200,
                html(&["corp.example/evil git https://evil.example/x"]),
            ),
            (
                "corp.example/evil",
                200,
                html(&["corp.example/evil git https://good.example/x"]),
            ),
        ],
        "",
    )
    .await;
    let err = resolver
        .resolve("corp.example/evil/x")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "http://corp.example/evil/x?go-get=1 and http://corp.example/evil?go-get=1 \
             disagree about go-import for corp.example/evil"
        ),
        "{err}"
    );
}

#[tokio::test]
async fn prefers_mod_entries() {
    let page = html(&[
        "corp.example git https://git.corp.example/mono",
        "corp.example/m mod https://proxy.corp.example",
        "corp.example/m git https://git.corp.example/m",
    ]);
    let (resolver, _) = setup(
        &[
            ("corp.example/m", 200, page.clone()),
            ("corp.example/n", 200, page),
        ],
        "",
    )
    .await;
    assert_eq!(
        resolver.resolve("corp.example/m").await.unwrap(),
        RepoRoot {
            subdir: String::new(),
            root: "corp.example/m".to_owned(),
            url: "https://proxy.corp.example".to_owned(),
            vcs: Vcs::ModProxy,
            guarded: true,
        }
    );
    // corp.example/n falls to the git entry for corp.example, whose own page
    // (not served here) must confirm it.
    let err = resolver
        .resolve("corp.example/n")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("fetching corp.example: reading http://corp.example/?go-get=1: 404 Not Found"),
        "{err}"
    );
}

#[tokio::test]
async fn not_found_suggests_repo_map() {
    let (resolver, _) = setup(&[], "").await;
    let err = resolver
        .resolve("corp.example/missing/v2")
        .await
        .unwrap_err();
    assert!(matches!(err, ResolveError::Discovery { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "unrecognized import path \"corp.example/missing/v2\": reading \
         http://corp.example/missing/v2?go-get=1: 404 Not Found \
         (not on a known code host and go-get discovery failed; if you know its repository, \
         map it with --repo-map 'corp.example/missing/v2=URL')"
    );
}

#[tokio::test]
async fn tags_in_an_error_page_count() {
    let page = html(&["corp.example/x hg https://hg.corp.example/x"]);
    let (resolver, _) = setup(&[("corp.example/x", 404, page)], "").await;
    assert_eq!(
        resolver.resolve("corp.example/x").await.unwrap(),
        RepoRoot {
            subdir: String::new(),
            root: "corp.example/x".to_owned(),
            url: "https://hg.corp.example/x".to_owned(),
            vcs: Vcs::Other("hg".to_owned()),
            guarded: true,
        }
    );
}

#[tokio::test]
async fn bad_pages() {
    let (resolver, _) = setup(
        &[
            ("corp.example/none", 200, html(&[])),
            (
                "corp.example/other",
                200,
                html(&["corp.example/else git https://h/else"]),
            ),
            (
                "corp.example/two",
                200,
                html(&[
                    "corp.example/two git https://h/a",
                    "corp.example/two git https://h/b",
                ]),
            ),
            (
                "corp.example/file",
                200,
                html(&["corp.example/file git file:///srv/x"]),
            ),
            (
                "corp.example/creds",
                200,
                html(&["corp.example/creds git file://me:s3cret@h/x"]),
            ),
            (
                "corp.example/scp",
                200,
                html(&["corp.example/scp git git@h:x.git"]),
            ),
            (
                "corp.example/cvs",
                200,
                html(&["corp.example/cvs cvs https://h/x"]),
            ),
            (
                "corp.example/up",
                200,
                html(&["corp.example/up git https://h/x ../x"]),
            ),
            (
                "corp.example/abs",
                200,
                html(&["corp.example/abs git https://h/x /etc"]),
            ),
        ],
        "",
    )
    .await;
    let cases = [
        (
            "corp.example/none",
            "parse http://corp.example/none?go-get=1: no go-import meta tags ()",
        ),
        (
            "corp.example/other",
            "parse http://corp.example/other?go-get=1: no go-import meta tags (meta tag \
             corp.example/else did not match import path corp.example/other)",
        ),
        (
            "corp.example/two",
            "multiple meta tags match import path \"corp.example/two\"",
        ),
        (
            "corp.example/file",
            "invalid repo root \"file:///srv/x\": file scheme disallowed",
        ),
        (
            "corp.example/creds",
            "invalid repo root \"file://***@h/x\": file scheme disallowed",
        ),
        (
            "corp.example/scp",
            "invalid repo root \"git@h:x.git\": no scheme",
        ),
        (
            "corp.example/cvs",
            "http://corp.example/cvs?go-get=1: unknown vcs \"cvs\"",
        ),
        (
            "corp.example/up",
            "invalid subdirectory \"../x\": not a clean relative path",
        ),
        (
            "corp.example/abs",
            "invalid subdirectory \"/etc\": an absolute path",
        ),
    ];
    for (path, want) in cases {
        let err = resolver.resolve(path).await.unwrap_err().to_string();
        assert!(err.contains(want), "{path}: {err}");
        assert!(err.contains("--repo-map"), "{path}: {err}");
        assert!(!err.contains("s3cret"), "{path}: {err}");
    }
}

#[tokio::test]
async fn secure_paths_never_fall_back_to_http() {
    let page = html(&["secure.example/x git https://git.secure.example/x"]);
    let (resolver, site) = setup(&[("secure.example/x", 200, page)], "").await;
    let err = resolver
        .resolve("secure.example/x")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(
            "unrecognized import path \"secure.example/x\": https fetch: GET \
             https://secure.example/x?go-get=1: "
        ),
        "{err}"
    );
    assert!(err.contains("--repo-map 'secure.example/x=URL'"), "{err}");
    assert_eq!(site.gets(), 0);
}

#[tokio::test]
async fn caches_answers_and_failures() {
    let page = html(&["corp.example/foo git https://git.corp.example/foo.git"]);
    let (resolver, site) = setup(&[("corp.example/foo", 200, page)], "").await;
    for _ in 0..3 {
        resolver.resolve("corp.example/foo").await.unwrap();
    }
    assert_eq!(site.gets(), 1);
    for _ in 0..3 {
        resolver.resolve("corp.example/gone").await.unwrap_err();
    }
    assert_eq!(site.gets(), 2);
}

#[tokio::test]
async fn repo_map_and_known_hosts_need_no_network() {
    let page = html(&["corp.example/foo git https://git.corp.example/foo.git"]);
    let (resolver, site) = setup(
        &[("corp.example/foo", 200, page)],
        "corp.example/*=ssh://git@git.corp.example/go/*.git github.com/corp/*=https://ghe.corp.example/*",
    )
    .await;
    assert_eq!(
        resolver.resolve("corp.example/foo/v2").await.unwrap(),
        git("corp.example/foo", "ssh://git@git.corp.example/go/foo.git")
    );
    assert_eq!(
        resolver.resolve("github.com/corp/lib/sub").await.unwrap(),
        git("github.com/corp/lib", "https://ghe.corp.example/lib")
    );
    assert_eq!(
        resolver.resolve("github.com/owner/repo/sub").await.unwrap(),
        git("github.com/owner/repo", "https://github.com/owner/repo")
    );
    assert_eq!(
        resolver
            .resolve("other.example/repo.git/sub")
            .await
            .unwrap(),
        git("other.example/repo.git", "https://other.example/repo")
    );
    assert_eq!(site.gets(), 0);
}

#[tokio::test]
async fn rejects_bad_paths_and_rules() {
    let (resolver, site) = setup(&[], "").await;
    for path in [
        "",
        "corp",
        "Corp.example/x",
        "corp.example/x?go-get=1",
        "https://corp.example/x",
    ] {
        let err = resolver.resolve(path).await.unwrap_err();
        assert!(matches!(err, ResolveError::Module(_)), "{path}: {err:?}");
    }
    let err = resolver.resolve("github.com/owner").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot resolve \"github.com/owner\": invalid github.com import path"
    );
    assert_eq!(site.gets(), 0);
    let settings = ResolverSettings {
        repo_map: vec![RepoMapRule {
            prefix: "corp.example/x".to_owned(),
            url: "https://tok@h/*".to_owned(),
        }],
        insecure: vec![],
        timeout: Duration::from_secs(1),
        policy: Arc::default(),
        go_get: GoGet::On,
    };
    let err = Resolver::new(settings).err().unwrap().to_string();
    assert_eq!(
        err,
        "invalid repo-map rule \"corp.example/x=https://***@h/*\": URL has a `*` but PREFIX does \
         not end in /*"
    );
}

/// Paths whose host is an internal IP literal, however spelled, are never
/// asked for: not even the forward proxy hears of them.
#[tokio::test]
async fn internal_literal_hosts_are_refused_before_any_request() {
    let (resolver, site) = setup(&[], "").await;
    for path in [
        "127.0.0.1/mp",
        "127.1/mp",
        "0177.0.0.1/mp",
        "0x7f.0.0.1/mp",
        "0.0.0.0/mp",
        "10.0.0.1/mp",
        "169.254.169.254/latest",
        "192.168.1.1/x",
    ] {
        let err = resolver.resolve(path).await.unwrap_err().to_string();
        assert!(err.contains("refusing to connect to "), "{path}: {err}");
        assert!(err.contains("--allow-network"), "{path}: {err}");
    }
    assert_eq!(site.requests(), 0);
}

/// The allow list lets an internal literal host be asked.
#[tokio::test]
async fn allowed_networks_are_asked() {
    let page = html(&["10.1.2.3/mp git https://10.1.2.3/mp.git"]);
    let allow = DestinationPolicy::new(vec!["10.0.0.0/8".parse().unwrap()], vec![]);
    let (resolver, site) = setup_with(&[("10.1.2.3/mp", 200, page)], "", allow, GoGet::On).await;
    assert_eq!(
        resolver.resolve("10.1.2.3/mp").await.unwrap(),
        discovered("10.1.2.3/mp", "https://10.1.2.3/mp.git")
    );
    assert_eq!(site.gets(), 1);
}

#[tokio::test]
async fn redirects_to_internal_addresses_are_refused() {
    let (resolver, site) = setup(
        &[(
            "corp.example/r",
            302,
            "http://127.0.0.1:9/r?go-get=1".to_owned(),
        )],
        "",
    )
    .await;
    let err = resolver
        .resolve("corp.example/r")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("refusing to connect to 127.0.0.1 (loopback)"),
        "{err}"
    );
    // The http page was asked for; the redirect was not followed (through
    // the proxy, it would be a second GET).
    assert_eq!(site.gets(), 1);
}

/// What a host's error page says is not relayed: it could be an internal
/// service's answer.
#[tokio::test]
async fn error_pages_are_not_relayed() {
    let (resolver, _) = setup(&[], "").await;
    let err = resolver
        .resolve("corp.example/gone")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("404 Not Found"), "{err}");
    assert!(!err.contains("no such page"), "{err}");
}

/// A page on a host the operator named (`--private`, `--repo-map`) speaks
/// for the operator: its repositories are not guarded.
#[tokio::test]
async fn pages_of_operator_hosts_are_trusted() {
    let page = html(&["corp.example/foo git https://git.corp.example/foo.git"]);
    let named = DestinationPolicy::new(vec![], vec!["corp.example".to_owned()]);
    let (resolver, _) = setup_with(&[("corp.example/foo", 200, page)], "", named, GoGet::On).await;
    assert_eq!(
        resolver.resolve("corp.example/foo").await.unwrap(),
        git("corp.example/foo", "https://git.corp.example/foo.git")
    );
}

#[tokio::test]
async fn go_get_off_or_for_some_hosts() {
    let page = html(&["corp.example/foo git https://git.corp.example/foo.git"]);
    let pages = [("corp.example/foo", 200, page)];
    let (resolver, site) = setup_with(
        &pages,
        "github.com/x/*=https://h/*",
        DestinationPolicy::default(),
        GoGet::Off,
    )
    .await;
    let err = resolver.resolve("corp.example/foo").await.unwrap_err();
    assert!(matches!(err, ResolveError::DiscoveryOff { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "unrecognized import path \"corp.example/foo\": not on a known code host, not mapped \
         by --repo-map, and go-get discovery is off (--go-get off)"
    );
    // Known hosts and the repo map need no discovery.
    resolver.resolve("github.com/owner/repo").await.unwrap();
    resolver.resolve("github.com/x/y").await.unwrap();
    assert_eq!(site.requests(), 0);

    let hosts: GoGet = "corp.example, Other.example".parse().unwrap();
    assert_eq!(hosts.to_string(), "corp.example,other.example");
    let (resolver, site) = setup_with(&pages, "", DestinationPolicy::default(), hosts).await;
    resolver.resolve("corp.example/foo").await.unwrap();
    let err = resolver
        .resolve("else.example/foo")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "go-get discovery is not on for its host (--go-get corp.example,other.example)"
        ),
        "{err}"
    );
    assert_eq!(site.gets(), 1);
}

#[test]
fn go_get_settings() {
    assert_eq!("on".parse::<GoGet>().unwrap(), GoGet::On);
    assert_eq!("off".parse::<GoGet>().unwrap(), GoGet::Off);
    for bad in ["", ",", "localhost", "a.example,b example"] {
        assert!(bad.parse::<GoGet>().is_err(), "{bad:?}");
    }
}
