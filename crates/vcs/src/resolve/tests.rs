//! End to end: discovery against a local server. The resolver sends every
//! request through it as an HTTP forward proxy; it serves plain-http pages
//! for any host and refuses CONNECT, so https fails at once and only paths
//! matching the insecure patterns (corp.example) get their pages.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::*;

struct Site {
    /// host + path → (status, content type, body)
    pages: HashMap<String, (u16, &'static str, String)>,
    gets: AtomicUsize,
}

impl Site {
    fn gets(&self) -> usize {
        self.gets.load(Ordering::SeqCst)
    }
}

async fn serve(site: State<Arc<Site>>, req: Request) -> Response {
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
    let site = Arc::new(Site {
        pages: pages
            .iter()
            .map(|(key, status, body)| ((*key).to_owned(), (*status, "text/html", body.clone())))
            .collect(),
        gets: AtomicUsize::new(0),
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
        insecure: vec!["other.example".to_owned(), "corp.example".to_owned()],
        timeout: Duration::from_secs(10),
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

fn git(root: &str, url: &str) -> RepoRoot {
    RepoRoot {
        root: root.to_owned(),
        url: url.to_owned(),
        vcs: Vcs::Git,
    }
}

#[tokio::test]
async fn discovers_over_http_for_insecure_paths() {
    let page = html(&["corp.example/foo git https://git.corp.example/foo.git"]);
    let (resolver, site) = setup(&[("corp.example/foo", 200, page)], "").await;
    assert_eq!(
        resolver.resolve("corp.example/foo").await.unwrap(),
        git("corp.example/foo", "https://git.corp.example/foo.git")
    );
    assert_eq!(site.gets(), 1);
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
        git("corp.example/foo", "https://git.corp.example/foo.git")
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
            root: "corp.example/m".to_owned(),
            url: "https://proxy.corp.example".to_owned(),
            vcs: Vcs::ModProxy,
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
         http://corp.example/missing/v2?go-get=1: 404 Not Found; server response: no such page \
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
            root: "corp.example/x".to_owned(),
            url: "https://hg.corp.example/x".to_owned(),
            vcs: Vcs::Other("hg".to_owned()),
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
    };
    let err = Resolver::new(settings).err().unwrap().to_string();
    assert_eq!(
        err,
        "invalid repo-map rule \"corp.example/x=https://***@h/*\": URL has a `*` but PREFIX does \
         not end in /*"
    );
}
