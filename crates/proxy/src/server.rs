//! HTTP: the GOPROXY endpoints, health, readiness and metrics.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body as HttpBody;
use axum::extract::{Path, Request as HttpRequest, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use metrics_exporter_prometheus::PrometheusHandle;
use modgate_redact::Chain;

use crate::access::{Access, AuditEntry, AuditLog, Authenticated, Refused};
use crate::gate;
use crate::policy::{Decision, Policy};
use crate::protocol::{Kind, ParseError, Request};
use crate::store::{Body, Object};
use crate::sumdb::SumdbError;
use crate::telemetry::{self, metric};
use crate::upstream::BreakerState;
use crate::vulndb::{self, VulnDb, VulnDbError};
use crate::workers::ClientAddr;
use crate::{Answer, Proxy, ProxyError, PublishError, Published, catalog, console, ingest};
use modgate_auth::Right;
use modgate_module::modfile::Retraction;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const SHORT: &str = "public, max-age=60";
/// Bytes a stored file is read and sent in: with one chunk being read and
/// one queued in hyper, memory grows by a quarter MiB per client at most.
const FILE_CHUNK: usize = 128 << 10;
/// Longest a refused upload is read before the refusal is sent.
const LINGER: std::time::Duration = std::time::Duration::from_secs(30);

pub struct AppState {
    pub proxy: Proxy,
    pub metrics: PrometheusHandle,
    /// `--auth-file`: who may read what. Without it everyone reads
    /// everything, as on a laptop.
    pub access: Option<Access>,
    /// `--audit-log`: private reads and publishes, one JSON line each.
    pub audit: Option<AuditLog>,
    /// An upstream failure in words, for the status page (the binary
    /// passes the `explain` classifier).
    pub explain: fn(&str) -> Option<String>,
    /// `/dl/`: the Go release mirror, unless `--dl-upstream off`.
    pub dl: Option<Arc<crate::dl::ReleaseMirror>>,
    /// `--vulndb`: the vulnerability database mirror at `/vuln/`.
    pub vulndb: Option<Arc<VulnDb>>,
    /// `[[policy]]`: module versions denied at the proxy.
    pub policy: Option<Policy>,
    /// The operator console's settings and memory.
    pub console: crate::console::Console,
}

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(console::overview))
        .route("/favicon.ico", get(console::favicon))
        .route("/favicon.svg", get(console::favicon))
        .route("/-/console.css", get(console::style))
        .route("/-/console.js", get(console::script))
        .route("/-/modules", get(console::search))
        .route("/-/module/{*path}", get(console::module))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/sumdb/{*rest}", get(sumdb))
        .route("/dl/", get(dl_list))
        .route("/dl/{file}", get(dl_archive))
        .route("/catalog", get(catalog))
        .route("/index", get(index))
        .route("/vuln/{*rest}", get(vuln))
        .route("/admin/api/{action}", post(crate::admin::api))
        .fallback(goproxy)
        // One layer, not two: each costs every request a boxed future and a
        // clone of the service below.
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// With an auth file, every request but `/healthz` is authenticated first;
/// the handlers then authorize what it asks for.
async fn authenticate(state: &AppState, mut req: HttpRequest, next: Next) -> Response {
    let Some(access) = &state.access else {
        return next.run(req).await;
    };
    if req.uri().path() == "/healthz" {
        return next.run(req).await;
    }
    // A header that is not text cannot be a credential: refused as malformed.
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or("\u{1}"));
    let client = req.extensions().get::<ClientAddr>().map(|c| c.0.ip());
    match access.authenticate(header, client).await {
        Ok(auth) => {
            req.extensions_mut().insert(Arc::new(auth));
            next.run(req).await
        }
        Err(refused) => {
            if req.method() == Method::PUT {
                linger(req.into_body()).await;
            }
            with_endpoint("auth", auth_refusal(refused, client))
        }
    }
}

fn auth_refusal(refused: Refused, client: Option<std::net::IpAddr>) -> Response {
    let (status, retry_after, message) = match refused {
        Refused::Failed { failure, attempts } => {
            tracing::warn!(client = ?client, reason = %failure, attempts, "authentication failed");
            metric::auth_failure();
            return unauthorized(failure.client_message());
        }
        Refused::Throttled { retry_after } => {
            tracing::warn!(client = ?client, "authentication throttled: too many attempts");
            metric::auth_refused("throttled");
            (
                StatusCode::TOO_MANY_REQUESTS,
                retry_after,
                "modgate: too many failed authentication attempts; retry later",
            )
        }
        Refused::Busy => {
            tracing::warn!(client = ?client, "authentication refused: password verifiers busy");
            metric::auth_refused("busy");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Duration::from_secs(1),
                "modgate: too many password checks under way; retry shortly",
            )
        }
    };
    let mut resp = text(status, &format!("{message}\n"));
    // Whole seconds, rounded up.
    let secs = retry_after.as_millis().div_ceil(1000).max(1);
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs as u64));
    resp
}

/// Reads and drops an upload that is refused before it is read, as
/// nginx's lingering close does: a client still sending would otherwise
/// see a broken pipe instead of the refusal. At most a zip's size limit,
/// for at most [`LINGER`].
async fn linger(body: HttpBody) {
    use futures::StreamExt as _;
    let drain = async {
        let mut stream = body.into_data_stream();
        let mut left = ingest::MAX_ZIP;
        while let Some(Ok(chunk)) = stream.next().await {
            left = left.saturating_sub(chunk.len() as u64);
            if left == 0 {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(LINGER, drain).await;
}

pub(crate) fn unauthorized(message: &str) -> Response {
    let mut resp = text(StatusCode::UNAUTHORIZED, &format!("{message}\n"));
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(modgate_auth::WWW_AUTHENTICATE),
    );
    resp
}

/// A refusal: 401 for anonymous requests (so that go retries with its
/// netrc credentials), 403 naming the identity and the pattern otherwise.
pub(crate) fn denied(denial: &modgate_auth::Denial) -> Response {
    if denial.anonymous {
        unauthorized(&denial.to_string())
    } else {
        text(StatusCode::FORBIDDEN, &format!("{denial}\n"))
    }
}

pub(crate) fn authenticated(req: &HttpRequest) -> Option<Arc<Authenticated>> {
    req.extensions().get::<Arc<Authenticated>>().cloned()
}

/// The query string's parameters (the last of each name).
pub(crate) fn query_params(req: &HttpRequest) -> std::collections::HashMap<String, String> {
    url::form_urlencoded::parse(req.uri().query().unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

/// `pagesize` or `limit`: a count from 1 to [`catalog::MAX_PAGE`], or
/// why not.
fn page_size(value: Option<&String>, name: &str, default: usize) -> Result<usize, String> {
    match value {
        None => Ok(default),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=catalog::MAX_PAGE).contains(&n) => Ok(n),
            _ => Err(format!(
                "{name}: want a number from 1 to {}\n",
                catalog::MAX_PAGE
            )),
        },
    }
}

/// The versions `req`'s identity may read, or the answer for a store
/// that cannot be listed or an anonymous client that must sign in first.
async fn readable_held(
    state: &AppState,
    auth: Option<Arc<Authenticated>>,
) -> Result<(Arc<Vec<catalog::Held>>, Option<Arc<Authenticated>>), Response> {
    if let Some(a) = &auth
        && a.identity.is_anonymous()
        && !a.config.reads_public(&a.identity)
    {
        return Err(unauthorized(modgate_auth::CREDENTIALS_REQUIRED));
    }
    match state.proxy.held().await {
        Ok(held) => Ok((held, auth)),
        Err(e) => {
            tracing::error!(error = %Chain(&e), "listing the store");
            metric::storage_failure("list");
            Err(text(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("modgate's storage is failing: {}\n", e.kind_text()),
            ))
        }
    }
}

fn json_response(body: String, content_type: &'static str) -> Response {
    let mut resp = (StatusCode::OK, body).into_response();
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

/// `/catalog?token=&pagesize=`: Athens's catalog of cached versions,
/// `{"modules":[{"module","version"}],"next":TOKEN}`, `next` absent on
/// the last page; only versions the client may read.
async fn catalog(State(state): State<Arc<AppState>>, req: HttpRequest) -> Response {
    let params = query_params(&req);
    let resp = match page_size(params.get("pagesize"), "pagesize", catalog::DEFAULT_PAGE) {
        Err(why) => text(StatusCode::BAD_REQUEST, &why),
        Ok(size) => match readable_held(&state, authenticated(&req)).await {
            Err(resp) => resp,
            Ok((held, auth)) => {
                let visible = held
                    .iter()
                    .filter(|h| gate::may_read(&state, auth.as_deref(), &h.module));
                let token = params
                    .get("token")
                    .map(String::as_str)
                    .filter(|t| !t.is_empty());
                let (entries, next) = catalog::page(visible, token, size);
                let modules: Vec<_> = entries
                    .iter()
                    .map(|h| serde_json::json!({"module": h.module, "version": h.version}))
                    .collect();
                let mut body = serde_json::json!({ "modules": modules });
                if let Some(next) = next {
                    body["next"] = next.into();
                }
                json_response(body.to_string(), "application/json")
            }
        },
    };
    with_endpoint("catalog", resp)
}

/// `/index?since=&limit=`: index.golang.org's feed of versions as they
/// were stored, oldest first from `since` (RFC 3339), one JSON object
/// `{"Path","Version","Timestamp"}` a line; a follower asks again with the
/// last Timestamp it saw.
async fn index(State(state): State<Arc<AppState>>, req: HttpRequest) -> Response {
    let params = query_params(&req);
    let since = match params.get("since").filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s
            .parse::<jiff::Timestamp>()
            .map(|t| Some(std::time::SystemTime::from(t)))
            .map_err(|e| {
                text(
                    StatusCode::BAD_REQUEST,
                    &format!("since: want an RFC 3339 time (2019-04-10T19:08:52.997264Z): {e}\n"),
                )
            }),
    };
    let limit = page_size(params.get("limit"), "limit", catalog::MAX_PAGE)
        .map_err(|why| text(StatusCode::BAD_REQUEST, &why));
    let resp = match (since, limit) {
        (Err(resp), _) | (_, Err(resp)) => resp,
        (Ok(since), Ok(limit)) => match readable_held(&state, authenticated(&req)).await {
            Err(resp) => resp,
            Ok((held, auth)) => {
                let visible = held
                    .iter()
                    .filter(|h| gate::may_read(&state, auth.as_deref(), &h.module));
                let mut body = String::new();
                for h in catalog::since(visible, since, limit) {
                    let time = jiff::Timestamp::try_from(h.stored)
                        .map_or_else(|_| String::new(), |t| t.to_string());
                    let line = serde_json::json!({"Path": h.module, "Version": h.version, "Timestamp": time});
                    body.push_str(&line.to_string());
                    body.push('\n');
                }
                json_response(body, "application/json; charset=utf-8")
            }
        },
    };
    with_endpoint("index", resp)
}

/// The refusal for a client that may not read public content (Go
/// releases are public): as the proxied public checksum database.
fn public_refusal(auth: Option<&Authenticated>) -> Option<Response> {
    let auth = auth?;
    if auth.config.reads_public(&auth.identity) {
        return None;
    }
    Some(if auth.identity.is_anonymous() {
        unauthorized(modgate_auth::CREDENTIALS_REQUIRED)
    } else {
        text(
            StatusCode::FORBIDDEN,
            &format!("modgate: {} may not read public content\n", auth.identity),
        )
    })
}

fn dl_error(e: crate::dl::DlError) -> Response {
    use crate::dl::DlError;
    let status = match &e {
        DlError::BadRequest(_) => StatusCode::BAD_REQUEST,
        DlError::NotFound(_) => StatusCode::NOT_FOUND,
        DlError::Upstream(_) | DlError::Mismatch { .. } => StatusCode::BAD_GATEWAY,
        DlError::Storage(_) => StatusCode::SERVICE_UNAVAILABLE,
    };
    text(status, &format!("{e}\n"))
}

/// `/dl/?mode=json[&include=all]`: the release list, passed through.
async fn dl_list(State(state): State<Arc<AppState>>, req: HttpRequest) -> Response {
    let resp = match (&state.dl, public_refusal(authenticated(&req).as_deref())) {
        (None, _) => text(
            StatusCode::NOT_FOUND,
            "the Go release mirror is off (--dl-upstream off)\n",
        ),
        (_, Some(refused)) => refused,
        (Some(dl), None) => {
            let params = query_params(&req);
            if params.get("mode").map(String::as_str) != Some("json") {
                text(
                    StatusCode::NOT_FOUND,
                    "only the release list is mirrored here: /dl/?mode=json[&include=all]\n",
                )
            } else {
                match dl
                    .list(params.get("include").map(String::as_str) == Some("all"))
                    .await
                {
                    Ok(list) => json_response_bytes(list),
                    Err(e) => dl_error(e),
                }
            }
        }
    };
    with_endpoint("dl", resp)
}

/// `/dl/<file>`: a Go release archive, checked against the release list.
async fn dl_archive(
    State(state): State<Arc<AppState>>,
    Path(file): Path<String>,
    method: Method,
    req: HttpRequest,
) -> Response {
    let resp = match (&state.dl, public_refusal(authenticated(&req).as_deref())) {
        (None, _) => text(
            StatusCode::NOT_FOUND,
            "the Go release mirror is off (--dl-upstream off)\n",
        ),
        (_, Some(refused)) => refused,
        (Some(dl), None) => match dl.archive(&file).await {
            Ok(obj) => {
                let content = if file.ends_with(".zip") {
                    "application/zip"
                } else {
                    "application/octet-stream"
                };
                stored(content, obj, req.headers(), method == Method::HEAD).await
            }
            Err(e) => dl_error(e),
        },
    };
    with_endpoint("dl", resp)
}

fn json_response_bytes(body: Bytes) -> Response {
    let mut resp = (StatusCode::OK, body).into_response();
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(SHORT));
    resp
}

/// Admin pages: anyone without an auth file, else admins only; the
/// refusal for anyone else.
pub(crate) fn not_admin(auth: Option<&Authenticated>) -> Option<Response> {
    match auth {
        None => None,
        Some(a) if a.identity.is_admin() => None,
        Some(a) if a.identity.is_anonymous() => {
            Some(unauthorized(modgate_auth::CREDENTIALS_REQUIRED))
        }
        Some(a) => Some(text(
            StatusCode::FORBIDDEN,
            &format!("modgate: {} is not an admin\n", a.identity),
        )),
    }
}

/// Which endpoint answered, for metrics and logs (never the module path).
#[derive(Clone, Copy)]
struct Endpoint(&'static str);

pub(crate) fn with_endpoint(endpoint: &'static str, mut resp: Response) -> Response {
    resp.extensions_mut().insert(Endpoint(endpoint));
    resp
}

async fn healthz() -> Response {
    with_endpoint("healthz", text(StatusCode::OK, "ok\n"))
}

/// Ready when storage works. Upstreams being down does not make modgate
/// unready (it still serves its cache), but the body says so, line by line.
/// How long `/readyz` waits for the storage check.
const READY_STORAGE_CHECK: std::time::Duration = std::time::Duration::from_millis(800);

async fn readyz(State(state): State<Arc<AppState>>, req: HttpRequest) -> Response {
    // Upstream names and states are for admins only when there is an auth file.
    let detailed = not_admin(authenticated(&req).as_deref()).is_none();
    // Sick storage degrades modgate but leaves it ready: memory hits and
    // verified fetches are still answered, and a load balancer that pulled
    // every replica off a shared bucket would fail every build.
    // A bucket that never answers must not hold the probe past its own
    // timeout (a second in deploy/): every replica would go unready at once.
    let check = tokio::time::timeout(READY_STORAGE_CHECK, state.proxy.store().check()).await;
    let mut body = match check {
        Ok(Ok(())) => "storage: ok\n".to_owned(),
        Err(_) => {
            metric::storage_failure("check");
            "storage: unavailable: no answer within 0.8 s\ndegraded: answering from memory and upstream without storing\n".to_owned()
        }
        Ok(Err(e)) => {
            tracing::error!(error = %Chain(&e), "storage check failed");
            metric::storage_failure("check");
            format!(
                "storage: unavailable: {}\ndegraded: answering from memory and upstream without storing\n",
                e.kind_text()
            )
        }
    };
    let health = if detailed {
        state.proxy.upstreams().health()
    } else {
        Vec::new()
    };
    for u in &health {
        body.push_str(&format!("upstream {}: {}\n", u.name, u.state.as_str()));
    }
    if !health.is_empty() && health.iter().all(|u| u.state == BreakerState::Open) {
        body.push_str("degraded: every upstream is down; serving from the cache\n");
    }
    if let Some(db) = &state.vulndb {
        body.push_str(&vulndb_line(&db.status(), detailed));
    }
    if let Some(why) = state.proxy.log().and_then(|log| log.forked()) {
        body.push_str("checksum database: forked, not appending: ");
        body.push_str(if detailed { &why } else { "see the log" });
        body.push('\n');
    }
    with_endpoint("readyz", text(StatusCode::OK, &body))
}

async fn metrics(State(state): State<Arc<AppState>>, req: HttpRequest) -> Response {
    if let Some(resp) = not_admin(authenticated(&req).as_deref()) {
        return with_endpoint("metrics", resp);
    }
    let mut resp = state.metrics.render().into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    with_endpoint("metrics", resp)
}

pub(crate) async fn goproxy(
    State(state): State<Arc<AppState>>,
    method: Method,
    req: HttpRequest,
) -> Response {
    let allowed = match method {
        Method::GET | Method::HEAD => true,
        Method::PUT => is_zip_path(req.uri().path()),
        _ => false,
    };
    if !allowed {
        let mut resp = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
        let allow = if is_zip_path(req.uri().path()) {
            "GET, HEAD, PUT"
        } else {
            "GET, HEAD"
        };
        resp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static(allow));
        return with_endpoint("invalid", resp);
    }
    let parsed = match Request::parse(req.uri().path()) {
        Ok(r) => r,
        Err(e) => {
            let status = match e {
                ParseError::NotFound(_) => StatusCode::NOT_FOUND,
                ParseError::BadRequest(_) => StatusCode::BAD_REQUEST,
            };
            return with_endpoint("invalid", text(status, &format!("{e}\n")));
        }
    };
    let auth = authenticated(&req);
    let client = req.extensions().get::<ClientAddr>().map(|c| c.0.ip());
    let publishing = method == Method::PUT;
    let right = if publishing {
        Right::Publish
    } else {
        Right::Read
    };
    let refused = gate::refusal(&state, auth.as_deref(), &parsed.module, right).or_else(|| {
        // Reading everything without an auth file suits a laptop; letting
        // anyone who can reach the port add versions does not.
        (publishing && auth.is_none()).then(|| {
            text(
                StatusCode::FORBIDDEN,
                "publishing needs an auth file (serve --auth-file) that grants the publish right\n",
            )
        })
    });
    let mut ruled = None;
    let resp = match refused {
        Some(resp) if publishing => {
            Box::pin(linger(req.into_body())).await;
            resp
        }
        Some(resp) => resp,
        None if publishing => Box::pin(publish(&state, &parsed, req)).await,
        None => {
            let head = method == Method::HEAD;
            let fetch = Fetch::of(req.headers());
            match &state.policy {
                Some(policy) => {
                    // Boxed: the policy's future is large, and worker stacks are not.
                    let (resp, decision) = Box::pin(governed(
                        &state,
                        policy,
                        &parsed,
                        req.headers(),
                        head,
                        fetch,
                    ))
                    .await;
                    ruled = decision;
                    resp
                }
                None => plain(&state, &parsed, req.headers(), head, fetch).await,
            }
        }
    };
    let endpoint = if publishing {
        "publish"
    } else {
        parsed.endpoint()
    };
    gate::audit(
        &state,
        auth.as_deref(),
        client,
        &gate::Audited {
            action: if publishing { "publish" } else { "read" },
            module: &parsed.module,
            version: parsed.canonical_version(),
            endpoint,
            status: resp.status(),
        },
    );
    if let Some((version, line)) = &ruled
        && let Some(audit) = &state.audit
    {
        audit.record(&AuditEntry {
            time: jiff::Timestamp::now().to_string(),
            action: "policy",
            identity: auth.as_ref().map_or("anonymous", |a| a.identity.name()),
            client: client.map(|ip| ip.to_string()),
            module: &parsed.module,
            version: Some(version),
            endpoint,
            status: resp.status().as_u16(),
            policy: Some(line),
        });
    }
    with_endpoint(endpoint, resp)
}

/// Whether a request lets modgate fetch what it does not hold: not with
/// `Disable-Module-Fetch: true`, as proxy.golang.org honours it (pkgsite and
/// careful CI jobs send it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fetch {
    Allowed,
    Disabled,
}

impl Fetch {
    fn of(headers: &HeaderMap) -> Self {
        match headers.get("disable-module-fetch") {
            Some(v) if v.as_bytes().eq_ignore_ascii_case(b"true") => Fetch::Disabled,
            _ => Fetch::Allowed,
        }
    }
}

/// The answer, as without a policy.
async fn plain(
    state: &AppState,
    parsed: &Request,
    headers: &HeaderMap,
    head: bool,
    fetch: Fetch,
) -> Response {
    let answer = match fetch {
        Fetch::Allowed => state.proxy.answer(parsed).await,
        // Rare: boxed, so the hot path's future does not grow.
        Fetch::Disabled => Box::pin(state.proxy.answer_cached(parsed)).await,
    };
    match answer {
        Ok(Answer::Stored(obj)) => stored(content_type(parsed), obj, headers, head).await,
        Ok(Answer::Fresh(bytes)) => fresh(parsed, bytes, headers, head),
        Err(e) => proxy_error(e),
    }
}

/// The decision on `module@version`, logged and counted unless it allows.
/// `retracted` is what [`retractions`] gave for the module.
async fn decide(
    state: &AppState,
    policy: &Policy,
    module: &str,
    version: &str,
    retracted: &[Retraction],
    fetch: Fetch,
) -> Decision {
    let mut decision =
        Box::pin(policy.decide(module, version, state.vulndb.as_deref(), retracted)).await;
    if decision == Decision::Allow && modgate_module::pseudo::is_pseudo_version(version) {
        decision = Box::pin(as_commit(state, policy, module, version, retracted, fetch)).await;
    }
    metric::policy_decision(decision.label());
    match &decision {
        Decision::Allow => {}
        Decision::Deny(line) => tracing::info!(module, version, reason = %line, "policy denies"),
        Decision::WouldDeny(line) => {
            tracing::info!(module, version, reason = %line, "policy would deny (dry run)");
        }
        Decision::Waived(line) => tracing::info!(module, version, reason = %line, "policy waiver"),
    }
    decision
}

/// The decision on the commit a pseudo-version names, which a denied
/// release must not be reachable by: the decision on the version it was
/// derived from (for ranges and advisories), else that on a tagged version
/// of the same commit (whose `.info` has the pseudo-version's commit time,
/// and its hash when the upstream gives an `Origin`).
async fn as_commit(
    state: &AppState,
    policy: &Policy,
    module: &str,
    version: &str,
    retracted: &[Retraction],
    fetch: Fetch,
) -> Decision {
    use modgate_module::pseudo;
    let db = state.vulndb.as_deref();
    let about = |decision: Decision, what: String| {
        let line = |l: String| format!("{l}; {module}@{version} is {what}");
        match decision {
            Decision::Allow => Decision::Allow,
            Decision::Deny(l) => Decision::Deny(line(l)),
            Decision::WouldDeny(l) => Decision::WouldDeny(line(l)),
            Decision::Waived(l) => Decision::Waived(line(l)),
        }
    };
    if let Ok(base) = pseudo::pseudo_version_base(version)
        && !base.is_empty()
    {
        let decision = Box::pin(policy.decide_base(module, &base, db)).await;
        if decision != Decision::Allow {
            return about(decision, format!("a commit after {base}"));
        }
    }
    let (Ok(time), Ok(rev)) = (
        pseudo::pseudo_version_time(version),
        pseudo::pseudo_version_rev(version),
    ) else {
        return Decision::Allow;
    };
    let time = time.to_string();
    let listed = answer_bytes(state, &Request::new(module, Kind::List), fetch)
        .await
        .ok()
        .map(|(_, list)| {
            String::from_utf8_lossy(&list)
                .split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        });
    let mut tagged_versions = listed.clone().unwrap_or_default();
    for named in policy.named_versions(module) {
        if !tagged_versions.contains(&named) {
            tagged_versions.push(named);
        }
    }
    // A gate that opens when its data is missing is no gate: a denied
    // release whose commit cannot be compared keeps the commit out too.
    let mut unknown = None;
    for tagged in &tagged_versions {
        let decision = Box::pin(policy.decide(module, tagged, db, retracted)).await;
        if decision == Decision::Allow {
            continue;
        }
        let info = Request::new(module, Kind::Info(tagged.clone()));
        match answer_bytes(state, &info, fetch).await {
            Ok((_, info)) if same_commit(module, tagged, &info, &time, rev) => {
                return about(decision, format!("the commit of {tagged}"));
            }
            Ok(_) => {}
            Err(_) => {
                unknown.get_or_insert((decision, tagged.clone()));
            }
        }
    }
    if let Some((decision, tagged)) = unknown {
        return about(
            decision,
            format!("perhaps the commit of {tagged}, whose .info cannot be read now"),
        );
    }
    if listed.is_none()
        && let Some(dry_only) = Box::pin(policy.may_deny_unlisted(module, db)).await
    {
        let line = format!(
            "modgate policy: cannot tell whether {module}@{version} is the commit of a denied release: the list of {module}'s versions cannot be read now"
        );
        return if dry_only {
            Decision::WouldDeny(line)
        } else {
            Decision::Deny(line)
        };
    }
    Decision::Allow
}

/// Whether the `.info` of `tagged` names the commit of a pseudo-version
/// with commit time `time` (`yyyymmddhhmmss`) and revision `rev`.
fn same_commit(module: &str, tagged: &str, info: &[u8], time: &str, rev: &str) -> bool {
    let Ok(parsed) = modgate_module::Info::parse(module, Some(tagged), info) else {
        return false;
    };
    let origin: Option<String> = serde_json::from_slice::<serde_json::Value>(info)
        .ok()
        .and_then(|v| v.pointer("/Origin/Hash")?.as_str().map(str::to_owned));
    match origin {
        Some(hash) => hash.starts_with(rev),
        None => parsed.time.strftime("%Y%m%d%H%M%S").to_string() == time,
    }
}

/// The `retract` directives of the go.mod of the module's latest version
/// (the highest in its list, retracted or not, as go reads them), when a
/// rule denies retracted versions; none when they cannot be read.
async fn retractions(
    state: &AppState,
    policy: &Policy,
    module: &str,
    fetch: Fetch,
) -> Vec<Retraction> {
    if !policy.needs_retractions() {
        return Vec::new();
    }
    let Ok((_, list)) = answer_bytes(state, &Request::new(module, Kind::List), fetch).await else {
        return Vec::new();
    };
    let list = String::from_utf8_lossy(&list);
    let Some(latest) = modgate_module::version::pick_latest(list.split_whitespace()) else {
        return Vec::new();
    };
    match answer_bytes(
        state,
        &Request::new(module, Kind::Mod(latest.to_owned())),
        fetch,
    )
    .await
    {
        Ok((_, go_mod)) => modgate_module::modfile::retracted(&go_mod),
        Err(_) => Vec::new(),
    }
}

/// What a decision other than allow puts in the audit log.
fn note(version: &str, decision: &Decision) -> Option<(String, String)> {
    match decision {
        Decision::Allow => None,
        Decision::Deny(l) | Decision::WouldDeny(l) | Decision::Waived(l) => {
            Some((version.to_owned(), l.clone()))
        }
    }
}

/// The answer under the policy: a denied `.info`, `.mod` or `.zip` is a
/// 403 with the reason; `@v/list` leaves denied versions out, and a denied
/// `@latest` becomes the highest allowed version, so `go get M@latest`
/// picks a compliant one. Returns the (version, reason) to audit.
async fn governed(
    state: &AppState,
    policy: &Policy,
    parsed: &Request,
    headers: &HeaderMap,
    head: bool,
    fetch: Fetch,
) -> (Response, Option<(String, String)>) {
    let forbidden = |line: &str| text(StatusCode::FORBIDDEN, &format!("{line}\n"));
    match &parsed.kind {
        Kind::Mod(v) | Kind::Zip(v) => {
            let retracted = retractions(state, policy, &parsed.module, fetch).await;
            let decision = decide(state, policy, &parsed.module, v, &retracted, fetch).await;
            let noted = note(v, &decision);
            if let Decision::Deny(line) = decision {
                return (forbidden(&line), noted);
            }
            match answer_of(state, parsed, fetch).await {
                Ok(answer) => (respond(parsed, answer, headers, head).await, noted),
                Err(resp) => (resp, noted),
            }
        }
        Kind::Info(_) | Kind::Latest => {
            // The version may be a query: decided on what it resolves to.
            let (answer, bytes) = match answer_bytes(state, parsed, fetch).await {
                Ok(got) => got,
                Err(resp) => return (resp, None),
            };
            let Ok(info) = modgate_module::Info::parse(&parsed.module, None, &bytes) else {
                return (respond(parsed, answer, headers, head).await, None);
            };
            let retracted = retractions(state, policy, &parsed.module, fetch).await;
            let decision = decide(
                state,
                policy,
                &parsed.module,
                &info.version,
                &retracted,
                fetch,
            )
            .await;
            let noted = note(&info.version, &decision);
            let Decision::Deny(line) = decision else {
                return (respond(parsed, answer, headers, head).await, noted);
            };
            if parsed.kind != Kind::Latest {
                return (forbidden(&line), noted);
            }
            match highest_allowed(state, policy, &parsed.module, fetch).await {
                Some(v) => {
                    let req = Request::new(&parsed.module, Kind::Info(v));
                    match answer_bytes(state, &req, fetch).await {
                        Ok((_, bytes)) => (fresh(parsed, bytes, headers, head), noted),
                        Err(resp) => (resp, noted),
                    }
                }
                None => (
                    forbidden(&format!(
                        "{line}; no version of {} is allowed",
                        parsed.module
                    )),
                    noted,
                ),
            }
        }
        Kind::List => {
            let (_, bytes) = match answer_bytes(state, parsed, fetch).await {
                Ok(got) => got,
                Err(resp) => return (resp, None),
            };
            let allowed = allowed_versions(state, policy, &parsed.module, &bytes, fetch).await;
            let mut body = allowed.join("\n");
            if !body.is_empty() {
                body.push('\n');
            }
            (fresh(parsed, Bytes::from(body), headers, head), None)
        }
    }
}

/// The versions of a list answer the policy allows.
async fn allowed_versions(
    state: &AppState,
    policy: &Policy,
    module: &str,
    list: &[u8],
    fetch: Fetch,
) -> Vec<String> {
    let retracted = retractions(state, policy, module, fetch).await;
    let mut allowed = Vec::new();
    for v in String::from_utf8_lossy(list).split_whitespace() {
        if !decide(state, policy, module, v, &retracted, fetch)
            .await
            .denied()
        {
            allowed.push(v.to_owned());
        }
    }
    allowed
}

async fn highest_allowed(
    state: &AppState,
    policy: &Policy,
    module: &str,
    fetch: Fetch,
) -> Option<String> {
    let list = Request::new(module, Kind::List);
    let (_, bytes) = answer_bytes(state, &list, fetch).await.ok()?;
    let allowed = allowed_versions(state, policy, module, &bytes, fetch).await;
    modgate_module::version::pick_latest(allowed.iter().map(String::as_str)).map(str::to_owned)
}

/// The answer, or the error response. It runs as a task of its own: in
/// debug builds its future takes most of a worker's stack, which the
/// policy's frames above it would overflow.
async fn answer_of(state: &AppState, req: &Request, fetch: Fetch) -> Result<Answer, Response> {
    let (proxy, owned) = (state.proxy.clone(), req.clone());
    tokio::spawn(async move {
        match fetch {
            Fetch::Allowed => proxy.answer(&owned).await,
            Fetch::Disabled => proxy.answer_cached(&owned).await,
        }
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %Chain(&e), "answering failed");
        text(StatusCode::INTERNAL_SERVER_ERROR, "answering failed\n")
    })?
    .map_err(proxy_error)
}

/// The answer and its bytes (list and .info answers are small).
async fn answer_bytes(
    state: &AppState,
    req: &Request,
    fetch: Fetch,
) -> Result<(Answer, Bytes), Response> {
    let answer = answer_of(state, req, fetch).await?;
    let bytes = match &answer {
        Answer::Fresh(b) => b.clone(),
        Answer::Stored(obj) => obj.clone().read_small().await.map_err(|e| {
            tracing::error!(error = %Chain(&e), "reading a stored object failed");
            text(
                StatusCode::SERVICE_UNAVAILABLE,
                "modgate's storage is failing (reading)\n",
            )
        })?,
    };
    Ok((answer, bytes))
}

async fn respond(req: &Request, answer: Answer, headers: &HeaderMap, head: bool) -> Response {
    match answer {
        Answer::Stored(obj) => stored(content_type(req), obj, headers, head).await,
        Answer::Fresh(bytes) => fresh(req, bytes, headers, head),
    }
}

fn is_zip_path(path: &str) -> bool {
    path.ends_with(".zip") && path.contains("/@v/")
}

/// `PUT /<module>/@v/<version>.zip`: `modgate publish`. The body is staged
/// to disk (never held in memory), at most a module zip's size limit.
async fn publish(state: &AppState, req: &Request, http: HttpRequest) -> Response {
    let Kind::Zip(v) = &req.kind else {
        return text(
            StatusCode::METHOD_NOT_ALLOWED,
            "only a .zip can be published\n",
        );
    };
    let staged = match stage_body(state, http.into_body()).await {
        Ok(file) => file,
        Err(resp) => return resp,
    };
    match state.proxy.publish(&req.module, v, staged).await {
        Ok(Published::New { h1 }) => text(
            StatusCode::CREATED,
            &format!("published {}@{v} {h1}\n", req.module),
        ),
        Ok(Published::Identical { h1 }) => text(
            StatusCode::OK,
            &format!(
                "{}@{v} is already published with these bytes {h1}\n",
                req.module
            ),
        ),
        Err(PublishError::Proxy(e)) => proxy_error(e),
        Err(e) => {
            let status = match e {
                PublishError::NotPrivate { .. } => StatusCode::FORBIDDEN,
                PublishError::Conflict { .. }
                | PublishError::Upstream { .. }
                | PublishError::Held { .. }
                | PublishError::Busy { .. } => StatusCode::CONFLICT,
                _ => StatusCode::BAD_REQUEST,
            };
            text(status, &format!("{e}\n"))
        }
    }
}

async fn stage_body(state: &AppState, body: HttpBody) -> Result<tempfile::NamedTempFile, Response> {
    use futures::StreamExt as _;
    use tokio::io::AsyncWriteExt as _;
    let failing = |e: &dyn std::error::Error| {
        tracing::error!(error = %Chain(&e), "staging an upload failed");
        text(
            StatusCode::SERVICE_UNAVAILABLE,
            "modgate's storage is failing (staging the upload)\n",
        )
    };
    let staged = state.proxy.store().temp_file().map_err(|e| failing(&e))?;
    let mut file = tokio::fs::File::from_std(staged.reopen().map_err(|e| failing(&e))?);
    let mut stream = body.into_data_stream();
    let mut size = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            text(
                StatusCode::BAD_REQUEST,
                &format!("reading the upload: {e}\n"),
            )
        })?;
        size += chunk.len() as u64;
        if size > ingest::MAX_ZIP {
            return Err(text(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("module zip too large (limit {} bytes)\n", ingest::MAX_ZIP),
            ));
        }
        file.write_all(&chunk).await.map_err(|e| failing(&e))?;
    }
    file.flush().await.map_err(|e| failing(&e))?;
    Ok(staged)
}

/// `/sumdb/<name>/…`: the configured checksum database, proxied and
/// cached, and modgate's own. go asks `supported` first, then sends all its
/// checksum database traffic here.
async fn sumdb(
    State(state): State<Arc<AppState>>,
    Path(rest): Path<String>,
    req: HttpRequest,
) -> Response {
    let auth = authenticated(&req);
    let gated = gate::sumdb(&state, auth.as_deref(), &rest);
    let resp = match gated.refused {
        Some(refused) => refused,
        None => match Box::pin(denied_lookup(&state, gated.own_lookup.as_ref())).await {
            Some(denied) => denied,
            None => sumdb_answer(&state, &rest).await,
        },
    };
    if let Some((module, version)) = &gated.own_lookup {
        let client = req.extensions().get::<ClientAddr>().map(|c| c.0.ip());
        gate::audit(
            &state,
            auth.as_deref(),
            client,
            &gate::Audited {
                action: "read",
                module,
                version: Some(version),
                endpoint: "sumdb-lookup",
                status: resp.status(),
            },
        );
    }
    with_endpoint("sumdb", resp)
}

/// The refusal of a lookup in modgate's own database of a version the
/// policy denies: answering it would fetch, store and log that version.
async fn denied_lookup(state: &AppState, lookup: Option<&(String, String)>) -> Option<Response> {
    let (policy, (module, version)) = (state.policy.as_ref()?, lookup?);
    let retracted = retractions(state, policy, module, Fetch::Allowed).await;
    match Box::pin(decide(
        state,
        policy,
        module,
        version,
        &retracted,
        Fetch::Allowed,
    ))
    .await
    {
        Decision::Deny(line) => Some(text(StatusCode::FORBIDDEN, &format!("{line}\n"))),
        _ => None,
    }
}

/// The checksum database's answer to `/sumdb/<rest>`, past the gate.
async fn sumdb_answer(state: &AppState, rest: &str) -> Response {
    match state.proxy.sumdb(rest).await {
        Ok(answer) => {
            let mut resp = (StatusCode::OK, answer.body).into_response();
            let headers = resp.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static(if answer.immutable {
                    IMMUTABLE
                } else {
                    "no-cache"
                }),
            );
            resp
        }
        Err(e) => proxy_error(e),
    }
}

/// The `/readyz` line of the vulnerability database mirror; why the upstream
/// fails is for admins only, as upstream states are.
fn vulndb_line(status: &vulndb::Status, detailed: bool) -> String {
    let age = match (status.synced, status.age()) {
        (Some(at), Some(age)) => format!("synced {at} (age {age}s)"),
        _ => "not mirrored yet".to_owned(),
    };
    match &status.failing {
        None => format!("vulndb: ok, {age}\n"),
        Some(why) if detailed => {
            format!("vulndb: upstream failing, serving what is stored, {age}: {why}\n")
        }
        Some(_) => format!("vulndb: upstream failing, serving what is stored, {age}\n"),
    }
}

/// `/vuln/<path>`: the mirrored vulnerability database. It is public data,
/// so it is read under the auth file's `defaults.public`, as the proxied
/// public checksum database is. `Age` says how long ago the upstream last
/// confirmed it.
async fn vuln(
    State(state): State<Arc<AppState>>,
    Path(rest): Path<String>,
    req: HttpRequest,
) -> Response {
    let auth = authenticated(&req);
    let head = req.method() == Method::HEAD;
    let resp = vuln_answer(&state, &rest, auth.as_deref(), req.headers(), head).await;
    with_endpoint("vuln", resp)
}

async fn vuln_answer(
    state: &AppState,
    rest: &str,
    auth: Option<&Authenticated>,
    headers: &HeaderMap,
    head: bool,
) -> Response {
    let Some(db) = &state.vulndb else {
        return text(
            StatusCode::NOT_FOUND,
            "the vulnerability database mirror is off (serve --vulndb)\n",
        );
    };
    if let Some(auth) = auth
        && !auth.config.reads_public(&auth.identity)
    {
        return if auth.identity.is_anonymous() {
            unauthorized(modgate_auth::CREDENTIALS_REQUIRED)
        } else {
            text(
                StatusCode::FORBIDDEN,
                &format!(
                    "modgate: {} may not read the vulnerability database\n",
                    auth.identity
                ),
            )
        };
    }
    // govulncheck reads `<file>.json.gz`.
    let (path, gzipped) = match rest.strip_suffix(".gz") {
        Some(json) => (json, true),
        None => (rest, false),
    };
    if !vulndb::is_db_path(path) {
        return text(
            StatusCode::NOT_FOUND,
            &format!("not found: {rest} is not a file of the vulnerability database\n"),
        );
    }
    let (bytes, hash) = match db.get(path).await {
        Ok(Some(found)) => found,
        Ok(None) => return text(StatusCode::NOT_FOUND, &format!("not found: {rest}\n")),
        Err(VulnDbError::NotSynced) => {
            let why = db
                .status()
                .failing
                .map(|_| ": its upstream is failing")
                .unwrap_or("");
            return text(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("the vulnerability database has not been mirrored yet{why}\n"),
            );
        }
        Err(e) => {
            tracing::error!(error = %Chain(&e), "reading the vulnerability database failed");
            return text(
                StatusCode::SERVICE_UNAVAILABLE,
                "modgate's storage is failing (reading the vulnerability database)\n",
            );
        }
    };
    let (bytes, etag, content_type) = if gzipped {
        let Ok(bytes) = tokio::task::spawn_blocking(move || vulndb::gzip(&bytes)).await else {
            return text(StatusCode::SERVICE_UNAVAILABLE, "compressing failed\n");
        };
        (bytes, format!("\"{}.gz\"", &hash[..32]), "application/gzip")
    } else {
        (bytes, format!("\"{}\"", &hash[..32]), "application/json")
    };
    let mut resp = if not_modified(headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else if head {
        let mut resp = StatusCode::OK.into_response();
        resp.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
        resp
    } else {
        (StatusCode::OK, bytes).into_response()
    };
    // Entries change upstream: clients revalidate with the ETag.
    base_headers(&mut resp, content_type, "no-cache", &etag);
    if let Some(age) = db.status().age() {
        resp.headers_mut()
            .insert(header::AGE, HeaderValue::from(age));
    }
    resp
}

fn content_type(req: &Request) -> &'static str {
    match req.kind {
        Kind::Info(_) | Kind::Latest => "application/json",
        Kind::Mod(_) | Kind::List => "text/plain; charset=utf-8",
        Kind::Zip(_) => "application/zip",
    }
}

/// The one place where an error becomes what a client sees: the status
/// from the variant, and a plain-text line the go command prints. Storage
/// failures are logged in full here and shown without server paths.
fn proxy_error(e: ProxyError) -> Response {
    let (status, message) = match &e {
        ProxyError::BadRequest(_) => (StatusCode::BAD_REQUEST, e.to_string()),
        ProxyError::NotFound { .. } | ProxyError::CaseVariant(_) | ProxyError::NotCached(_) => {
            (StatusCode::NOT_FOUND, format!("not found: {}", Chain(&e)))
        }
        ProxyError::Upstream { .. } | ProxyError::Interrupted { .. } | ProxyError::Verify(_) => {
            (StatusCode::BAD_GATEWAY, Chain(&e).to_string())
        }
        ProxyError::Sumdb(s) => (
            match s {
                SumdbError::NotFound(_) => StatusCode::NOT_FOUND,
                SumdbError::BadRequest(_) => StatusCode::BAD_REQUEST,
                SumdbError::Unavailable(_) => StatusCode::BAD_GATEWAY,
                SumdbError::Internal(_) => StatusCode::SERVICE_UNAVAILABLE,
            },
            e.to_string(),
        ),
        ProxyError::Storage { cause, .. } => {
            tracing::error!(error = %Chain(&e), "storage failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("modgate's storage is failing ({})", cause.kind_text()),
            )
        }
        ProxyError::Staging { .. } => {
            tracing::error!(error = %Chain(&e), "staging a download failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "modgate's storage is failing (staging the download)".to_owned(),
            )
        }
        ProxyError::Log(_) => {
            tracing::error!(error = %Chain(&e), "checksum database append failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "modgate's checksum database cannot take the version now".to_owned(),
            )
        }
    };
    let mut resp = text(status, &format!("{message}\n"));
    if status.is_server_error() {
        resp.extensions_mut().insert(Cause(Chain(&e).to_string()));
    }
    resp
}

pub(crate) fn text(status: StatusCode, body: &str) -> Response {
    let mut resp = (status, body.to_owned()).into_response();
    if status.is_server_error() {
        // What the client is told is the cause, unless the caller knows more.
        resp.extensions_mut()
            .insert(Cause(body.trim_end().to_owned()));
    }
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    if !status.is_success() {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

/// The validator of an answer no store names: part of its digest.
fn digest_etag(data: &[u8]) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(data);
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// Whether `If-None-Match` names `etag` (empty: the answer has none yet,
/// and only `*` matches).
fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim() == "*" || (!etag.is_empty() && t.trim() == etag))
        })
}

fn base_headers(resp: &mut Response, content_type: &'static str, cache: &'static str, etag: &str) {
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if !etag.is_empty()
        && let Ok(v) = HeaderValue::from_str(etag)
    {
        headers.insert(header::ETAG, v);
    }
}

fn fresh(req: &Request, bytes: Bytes, headers: &HeaderMap, head: bool) -> Response {
    let etag = digest_etag(&bytes);
    let (status, body, len) = if not_modified(headers, &etag) {
        (StatusCode::NOT_MODIFIED, Bytes::new(), None)
    } else {
        let len = bytes.len() as u64;
        (
            StatusCode::OK,
            if head { Bytes::new() } else { bytes },
            Some(len),
        )
    };
    let mut resp = (status, body).into_response();
    base_headers(&mut resp, content_type(req), SHORT, &etag);
    if let Some(len) = len {
        resp.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    }
    resp
}

/// A byte range the client asked for, resolved against the object's size.
#[derive(Debug, PartialEq, Eq)]
enum Range {
    Full,
    Part { start: u64, end: u64 },
    Unsatisfiable,
}

fn parse_range(headers: &HeaderMap, size: u64, etag: &str) -> Range {
    let Some(spec) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return Range::Full;
    };
    // If-Range with another validator means the client's copy is stale: send it all.
    if let Some(if_range) = headers.get(header::IF_RANGE).and_then(|v| v.to_str().ok())
        && if_range.trim() != etag
    {
        return Range::Full;
    }
    let Some(spec) = spec.trim().strip_prefix("bytes=") else {
        return Range::Full;
    };
    // Multiple ranges are legal to ignore; one whole answer serves them.
    if spec.contains(',') {
        return Range::Full;
    }
    let Some((first, last)) = spec.split_once('-') else {
        return Range::Full;
    };
    let (first, last) = (first.trim(), last.trim());
    let parsed = match (first.is_empty(), last.is_empty()) {
        (true, false) => last.parse::<u64>().ok().map(|n| {
            if n == 0 {
                None
            } else {
                Some((size.saturating_sub(n), size.saturating_sub(1)))
            }
        }),
        (false, _) => first.parse::<u64>().ok().and_then(|s| {
            let e = if last.is_empty() {
                Some(size.saturating_sub(1))
            } else {
                last.parse::<u64>()
                    .ok()
                    .map(|e| e.min(size.saturating_sub(1)))
            };
            e.map(|e| {
                if s < size && s <= e {
                    Some((s, e))
                } else {
                    None
                }
            })
        }),
        (true, true) => None,
    };
    match parsed {
        None => Range::Full,
        Some(None) => Range::Unsatisfiable,
        Some(Some(_)) if size == 0 => Range::Unsatisfiable,
        Some(Some((start, end))) => Range::Part { start, end },
    }
}

async fn stored(content: &'static str, obj: Object, headers: &HeaderMap, head: bool) -> Response {
    let etag = obj.etag.clone();
    if not_modified(headers, &etag) {
        let mut resp = StatusCode::NOT_MODIFIED.into_response();
        base_headers(&mut resp, content, IMMUTABLE, &etag);
        return resp;
    }
    let size = obj.size;
    let (status, start, len) = match parse_range(headers, size, &etag) {
        Range::Full => (StatusCode::OK, 0, size),
        Range::Part { start, end } => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
        Range::Unsatisfiable => {
            let mut resp = text(StatusCode::RANGE_NOT_SATISFIABLE, "range not satisfiable\n");
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                resp.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return resp;
        }
    };
    let body = if head {
        HttpBody::empty()
    } else {
        match body_of(obj.body, start, len).await {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %Chain(&e), "reading a stored object failed");
                return text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "modgate's storage is failing (reading)\n",
                );
            }
        }
    };
    let mut resp = (status, body).into_response();
    base_headers(&mut resp, content, IMMUTABLE, &etag);
    let h = resp.headers_mut();
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{}/{size}", start + len - 1))
    {
        h.insert(header::CONTENT_RANGE, v);
    }
    resp
}

async fn body_of(body: Body, start: u64, len: u64) -> std::io::Result<HttpBody> {
    Ok(match body {
        Body::Bytes(b) => HttpBody::from(b.slice(start as usize..(start + len) as usize)),
        Body::File(file) => HttpBody::from_stream(file_chunks(file, start, len)),
        // A failure mid-stream breaks the connection off short of its
        // Content-Length: the client never takes it for the whole body.
        Body::Remote(remote) => HttpBody::from_stream(remote.chunks(start, len)),
    })
}

/// Bytes `start..start + len` of a stored file, read a chunk at a time with
/// positioned reads on the blocking pool, only when hyper asks for more: a
/// slow client holds one chunk, not a growing buffer.
fn file_chunks(
    file: Arc<std::fs::File>,
    start: u64,
    len: u64,
) -> impl futures::Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    futures::stream::unfold((file, start, len), |(file, pos, left)| async move {
        if left == 0 {
            return None;
        }
        let n = left.min(FILE_CHUNK as u64) as usize;
        let reader = Arc::clone(&file);
        // Allocated here, on the worker, whose allocator heap it returns to.
        let mut buf = vec![0; n];
        let read = tokio::task::spawn_blocking(move || {
            use std::os::unix::fs::FileExt;
            reader
                .read_exact_at(&mut buf, pos)
                .map(|()| Bytes::from(buf))
        })
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        Some(match read {
            Ok(chunk) => (Ok(chunk), (file, pos + n as u64, left - n as u64)),
            // One error ends the body.
            Err(e) => (Err(e), (file, pos, 0)),
        })
    })
}

/// `--access-log`: every answered request is logged at info level, not
/// only failures (set once at start).
static ACCESS_LOG: AtomicBool = AtomicBool::new(false);

/// Logs every answered request at info level (`serve --access-log`).
pub fn log_every_request(on: bool) {
    ACCESS_LOG.store(on, Ordering::Relaxed);
}

/// Why a request failed with a 5xx, for the log line of [`observe`]: the
/// whole error chain, which the client is not shown.
#[derive(Clone)]
struct Cause(String);

/// Gives every request an id, logs it and counts it. No span is made here:
/// hits are the hot path, and the code that logs while answering (upstream
/// fetches) opens its own span with [`telemetry::request_id`].
async fn observe(State(state): State<Arc<AppState>>, req: HttpRequest, next: Next) -> Response {
    static NEXT_ID: AtomicU64 = AtomicU64::new(1);
    let id = req
        .headers()
        .get("x-request-id")
        .filter(|v| {
            v.len() <= 64
                && v.as_bytes()
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .cloned()
        .unwrap_or_else(|| HeaderValue::from(NEXT_ID.fetch_add(1, Ordering::Relaxed)));
    let method = req.method().clone();
    let uri = req.uri().clone();
    let started = Instant::now();
    let mut resp = telemetry::REQUEST_ID
        .scope(id.clone(), authenticate(&state, req, next))
        .await;
    let elapsed = started.elapsed();
    let endpoint = resp.extensions().get::<Endpoint>().map_or("other", |e| e.0);
    let status = resp.status().as_u16();
    metric::http_request(endpoint, status, elapsed);
    // Milliseconds with two decimals: enough to read, nothing to squint at.
    let ms = (elapsed.as_secs_f64() * 100_000.0).round() / 100.0;
    let id_text = id.to_str().unwrap_or_default();
    let path = uri.path();
    if status >= 500 {
        let cause = resp
            .extensions()
            .get::<Cause>()
            .map_or("", |c| c.0.as_str());
        tracing::warn!(id = id_text, %method, path, status, ms, cause, "request failed");
    } else if status >= 400 || ACCESS_LOG.load(Ordering::Relaxed) {
        tracing::info!(id = id_text, %method, path, status, ms, "request");
    } else {
        tracing::debug!(id = id_text, %method, path, status, ms, "request");
    }
    resp.headers_mut().insert("x-request-id", id);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request's future is moved as it is set up (axum, hyper, tower
    /// layers): one that holds every rare path (fills, publish, policy)
    /// inline cost more in `memmove` than the answer of a hit (131 KB for
    /// the GOPROXY handler once). Rare paths are boxed or spawned; this
    /// keeps the next change from growing the hot path unseen. Sizes are
    /// those of this (debug) build; release builds are smaller.
    #[test]
    fn request_futures_stay_small() {
        fn of3<A, B, C, F>(_: impl FnOnce(A, B, C) -> F) -> usize {
            std::mem::size_of::<F>()
        }
        const LIMIT: usize = 4096;
        for (handler, size) in [
            ("goproxy", of3(goproxy)),
            ("sumdb", of3(sumdb)),
            ("vuln", of3(vuln)),
            ("authenticate", of3(authenticate)),
            ("observe", of3(observe)),
        ] {
            assert!(
                size <= LIMIT,
                "the {handler} handler's future is {size} bytes (at most {LIMIT}): box or spawn its rare paths"
            );
        }
    }

    fn range(spec: &str, size: u64) -> Range {
        let mut h = HeaderMap::new();
        h.insert(header::RANGE, HeaderValue::from_str(spec).unwrap());
        parse_range(&h, size, "\"e\"")
    }

    #[test]
    fn ranges() {
        assert_eq!(range("bytes=0-9", 100), Range::Part { start: 0, end: 9 });
        assert_eq!(range("bytes=90-", 100), Range::Part { start: 90, end: 99 });
        assert_eq!(range("bytes=-10", 100), Range::Part { start: 90, end: 99 });
        assert_eq!(range("bytes=-1000", 100), Range::Part { start: 0, end: 99 });
        assert_eq!(
            range("bytes=50-1000", 100),
            Range::Part { start: 50, end: 99 }
        );
        assert_eq!(range("bytes=100-", 100), Range::Unsatisfiable);
        assert_eq!(range("bytes=-0", 100), Range::Unsatisfiable);
        assert_eq!(range("bytes=9-1", 100), Range::Unsatisfiable);
        assert_eq!(range("bytes=0-1,5-6", 100), Range::Full);
        assert_eq!(range("items=0-1", 100), Range::Full);
        assert_eq!(range("bytes=x-y", 100), Range::Full);
        let mut h = HeaderMap::new();
        h.insert(header::RANGE, HeaderValue::from_static("bytes=0-9"));
        h.insert(header::IF_RANGE, HeaderValue::from_static("\"old\""));
        assert_eq!(parse_range(&h, 100, "\"e\""), Range::Full);
    }
}
