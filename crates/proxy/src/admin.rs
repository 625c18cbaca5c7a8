//! `POST /admin/api/{quarantine,remove,refresh,prefetch}`: the operator's
//! actions on the cache, for admins (everyone without an auth file, as
//! `/metrics`), each audited. The module a request names passes the one
//! parser ([`Request::parse`], so `Key::parse`) and the gate like any
//! other; a prefetch fetches through the GOPROXY handler itself, so access,
//! policy and verification apply to every version it names.
//!
//! Browsers send cached Basic credentials with cross-site form posts, so a
//! request is accepted only from modgate's own pages or a non-browser
//! client: see [`cross_site_refusal`].

use std::net::IpAddr;
use std::sync::{Arc, LazyLock};

use axum::body::Body as HttpBody;
use axum::extract::{Path, Request as HttpRequest, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use futures::StreamExt as _;
use modgate_auth::Right;
use modgate_module::escape::{escape_path, escape_version};
use modgate_module::gosum::{SumEntry, parse_go_sum};
use serde_json::json;
use sha2::{Digest as _, Sha256};

use crate::access::Authenticated;
use crate::gate;
use crate::protocol::{Kind, Request};
use crate::server::{AppState, authenticated, goproxy, not_admin, with_endpoint};
use crate::store::{Ext, Key};
use crate::workers::{ClientAddr, ViaTls};
use crate::{TakeOut, TakeOutError};
use modgate_redact::Chain;

/// Largest request body: the go.sum of a large program is a few hundred KiB.
pub const MAX_BODY: usize = 1 << 20;
/// Most module versions one prefetch fetches.
pub const MAX_PREFETCH: usize = 2000;
/// Versions a prefetch fetches at once.
const PREFETCH_PARALLEL: usize = 4;
/// The header modgate's clients send: a cross-site page cannot send it
/// without a CORS preflight, which modgate never approves.
pub const ADMIN_HEADER: &str = "X-Modgate-Admin";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Quarantine,
    Remove,
    Refresh,
    Prefetch,
}

impl Action {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "quarantine" => Action::Quarantine,
            "remove" => Action::Remove,
            "refresh" => Action::Refresh,
            "prefetch" => Action::Prefetch,
            _ => return None,
        })
    }

    /// Its name in the audit log.
    fn name(self) -> &'static str {
        match self {
            Action::Quarantine => "quarantine",
            Action::Remove => "remove",
            Action::Refresh => "refresh",
            Action::Prefetch => "prefetch",
        }
    }
}

/// What an admin request carries, as JSON or as a form.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    module: Option<String>,
    version: Option<String>,
    /// go.sum text, for a prefetch.
    gosum: Option<String>,
    /// [`form_token`], for a form post.
    token: Option<String>,
}

/// A refusal or failure: its status and the reason.
struct Failed(StatusCode, String);

/// `POST /admin/api/<action>`.
pub(crate) async fn api(
    State(state): State<Arc<AppState>>,
    Path(action): Path<String>,
    req: HttpRequest,
) -> Response {
    let auth = authenticated(&req);
    let client = req.extensions().get::<ClientAddr>().map(|c| c.0.ip());
    let Some(action) = Action::parse(&action) else {
        return with_endpoint(
            "admin",
            json_error(&Failed(
                StatusCode::NOT_FOUND,
                format!("no admin action {action:?}: want quarantine, remove, refresh or prefetch"),
            )),
        );
    };
    let audit = |module: &str, version: Option<&str>, status: StatusCode| {
        gate::audit(
            &state,
            auth.as_deref(),
            client,
            &gate::Audited {
                action: action.name(),
                module,
                version,
                endpoint: "admin",
                status,
            },
        );
    };
    if let Some(refusal) = not_admin(auth.as_deref()) {
        audit("", None, refusal.status());
        return with_endpoint("admin", jsonify(refusal).await);
    }
    if let Some(reason) = auth.is_none().then(|| unsigned_refusal(client)).flatten() {
        audit("", None, StatusCode::FORBIDDEN);
        return with_endpoint("admin", json_error(&Failed(StatusCode::FORBIDDEN, reason)));
    }
    let (parts, body) = req.into_parts();
    let input = match read_input(&parts.headers, body).await {
        Ok(input) => input,
        Err(failed) => {
            audit("", None, failed.0);
            return with_endpoint("admin", json_error(&failed));
        }
    };
    let identity = auth.as_ref().map_or("anonymous", |a| a.identity.name());
    // As the client sent them, so bounded: they may be anything.
    let bounded = |s: Option<&str>| s.map(|s| s.chars().take(300).collect::<String>());
    let module = bounded(input.module.as_deref()).unwrap_or_default();
    let version = bounded(input.version.as_deref());
    let (module, version) = (module.as_str(), version.as_deref());
    if let Some(reason) = cross_site_refusal(&Sent::of(&parts, input.token.as_deref()), identity) {
        tracing::warn!(identity, client = ?client, action = action.name(), reason, "admin action refused");
        audit(module, version, StatusCode::FORBIDDEN);
        return with_endpoint("admin", json_error(&Failed(StatusCode::FORBIDDEN, reason)));
    }
    let resp = match action {
        Action::Prefetch => {
            let resp = prefetch(&state, auth.as_ref(), client, input.gosum.as_deref()).await;
            // Each version's outcome is audited on its own; a refused go.sum here.
            if resp.status() != StatusCode::OK {
                audit("", None, resp.status());
            }
            resp
        }
        _ => {
            let done = Box::pin(on_module(&state, auth.as_deref(), action, &input)).await;
            let status = done.as_ref().map_or_else(|f| f.0, |_| StatusCode::OK);
            audit(module, version, status);
            match done {
                Ok(body) => json(StatusCode::OK, &body),
                Err(failed) => json_error(&failed),
            }
        }
    };
    with_endpoint("admin", resp)
}

/// Without an auth file nobody has signed in, and the actions take cached
/// versions out of service: only the machine itself may ask.
pub(crate) fn unsigned_refusal(client: Option<std::net::IpAddr>) -> Option<String> {
    (!client.is_some_and(|ip| ip.to_canonical().is_loopback())).then(|| {
        "admin actions from other machines need an auth file (--auth-file) and an admin's credentials"
            .to_owned()
    })
}

/// Quarantine, remove or refresh, past the cross-site check.
async fn on_module(
    state: &AppState,
    auth: Option<&Authenticated>,
    action: Action,
    input: &Input,
) -> Result<serde_json::Value, Failed> {
    let req = target(input, action != Action::Refresh)?;
    if let Some(refusal) = gate::refusal(state, auth, &req.module, Right::Read) {
        let status = refusal.status();
        return Err(Failed(status, body_text(refusal).await));
    }
    let module = req.module.as_str();
    let how = match action {
        Action::Refresh => {
            state.proxy.forget_lists(module).await;
            return Ok(json!({ "action": "refresh", "module": module }));
        }
        Action::Quarantine => TakeOut::Quarantine,
        _ => TakeOut::Remove,
    };
    let version = req.canonical_version().unwrap_or_default();
    match state.proxy.take_out(module, version, how).await {
        Ok(0) => Err(Failed(
            StatusCode::NOT_FOUND,
            format!("{module}@{version} is not stored"),
        )),
        Ok(files) => {
            tracing::info!(
                module,
                version,
                files,
                action = action.name(),
                "admin action"
            );
            Ok(json!({
                "action": action.name(),
                "module": module,
                "version": version,
                "files": files,
            }))
        }
        Err(e @ TakeOutError::Vouched { .. }) => Err(Failed(StatusCode::CONFLICT, e.to_string())),
        Err(e) => {
            tracing::error!(error = %Chain(&e), "admin action failed");
            Err(Failed(
                StatusCode::SERVICE_UNAVAILABLE,
                Chain(&e).to_string(),
            ))
        }
    }
}

/// The request for `module` (a zip of `module@version` when `versioned`),
/// through the one parser every GOPROXY path passes.
fn target(input: &Input, versioned: bool) -> Result<Request, Failed> {
    let bad = |message: String| Failed(StatusCode::BAD_REQUEST, message);
    let module = input
        .module
        .as_deref()
        .filter(|m| !m.is_empty())
        .ok_or_else(|| bad("module: missing".to_owned()))?;
    let escaped = escape_path(module).map_err(|e| bad(format!("module {module:?}: {e}")))?;
    let path = match (
        versioned,
        input.version.as_deref().filter(|v| !v.is_empty()),
    ) {
        (true, Some(v)) => {
            let v = escape_version(v).map_err(|e| bad(format!("version {v:?}: {e}")))?;
            format!("/{escaped}/@v/{v}.zip")
        }
        (true, None) => return Err(bad("version: missing".to_owned())),
        (false, None) => format!("/{escaped}/@v/list"),
        (false, Some(_)) => return Err(bad("version: refresh takes a module only".to_owned())),
    };
    Request::parse(&path).map_err(|e| bad(e.to_string()))
}

/// The body, as JSON or a form, at most [`MAX_BODY`] bytes.
async fn read_input(headers: &HeaderMap, body: HttpBody) -> Result<Input, Failed> {
    let bytes = axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| {
        Failed(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body over {MAX_BODY} bytes, or cut short"),
        )
    })?;
    let kind = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let kind = kind.split(';').next().unwrap_or_default().trim();
    let bad = |e: &dyn std::fmt::Display| Failed(StatusCode::BAD_REQUEST, e.to_string());
    if kind.eq_ignore_ascii_case("application/json") {
        serde_json::from_slice(&bytes).map_err(|e| bad(&format!("the JSON body: {e}")))
    } else if kind.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        let mut input = Input::default();
        for (name, value) in url::form_urlencoded::parse(&bytes) {
            let slot = match &*name {
                "module" => &mut input.module,
                "version" => &mut input.version,
                "gosum" => &mut input.gosum,
                "token" => &mut input.token,
                _ => return Err(bad(&format!("the form: unknown field {name:?}"))),
            };
            *slot = Some(value.into_owned());
        }
        Ok(input)
    } else {
        Err(Failed(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "want a body of application/json or application/x-www-form-urlencoded".to_owned(),
        ))
    }
}

/// What one go.sum entry's prefetch came to.
#[derive(Debug, serde::Serialize)]
struct Outcome {
    module: String,
    version: String,
    /// `cached` (held already), `fetched`, `mismatch` (held, with hashes
    /// other than the go.sum's) or `failed`.
    outcome: &'static str,
    /// The HTTP status of the failing fetch.
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

/// Fetches every version `gosum` names (its go.mod, and its .info and zip
/// when the go.sum lists the zip's hash) as the caller would, then compares the
/// hashes modgate holds with the go.sum's.
async fn prefetch(
    state: &Arc<AppState>,
    auth: Option<&Arc<Authenticated>>,
    client: Option<IpAddr>,
    gosum: Option<&str>,
) -> Response {
    let bad = |status: StatusCode, message: String| json_error(&Failed(status, message));
    let Some(gosum) = gosum else {
        return bad(StatusCode::BAD_REQUEST, "gosum: missing".to_owned());
    };
    let entries = match parse_go_sum(gosum) {
        Ok(entries) => entries,
        Err(e) => return bad(StatusCode::BAD_REQUEST, format!("gosum: {e}")),
    };
    if entries.is_empty() {
        return bad(
            StatusCode::BAD_REQUEST,
            "gosum: names no module version".to_owned(),
        );
    }
    if entries.len() > MAX_PREFETCH {
        return bad(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "gosum names {} module versions; a prefetch takes at most {MAX_PREFETCH}",
                entries.len()
            ),
        );
    }
    let outcomes: Vec<Outcome> = futures::stream::iter(entries)
        .map(|entry| prefetch_one(state, auth, client, entry))
        .buffered(PREFETCH_PARALLEL)
        .collect()
        .await;
    for o in &outcomes {
        gate::audit(
            state,
            auth.map(Arc::as_ref),
            client,
            &gate::Audited {
                action: "prefetch",
                module: &o.module,
                version: Some(&o.version),
                endpoint: "admin",
                status: o
                    .status
                    .and_then(|s| StatusCode::from_u16(s).ok())
                    .unwrap_or(StatusCode::OK),
            },
        );
    }
    let count = |what: &str| outcomes.iter().filter(|o| o.outcome == what).count();
    json(
        StatusCode::OK,
        &json!({
            "action": "prefetch",
            "fetched": count("fetched"),
            "cached": count("cached"),
            "mismatch": count("mismatch"),
            "failed": count("failed"),
            "versions": outcomes,
        }),
    )
}

async fn prefetch_one(
    state: &Arc<AppState>,
    auth: Option<&Arc<Authenticated>>,
    client: Option<IpAddr>,
    entry: SumEntry,
) -> Outcome {
    let SumEntry {
        module,
        version,
        zip,
        go_mod,
    } = entry;
    let outcome = |outcome, status: Option<StatusCode>, message: Option<String>| Outcome {
        module: module.clone(),
        version: version.clone(),
        outcome,
        status: status.map(|s| s.as_u16()),
        message,
    };
    // What go downloads: the go.mod alone for a version the go.sum lists
    // only by its go.mod, else its .info and zip too.
    let mut kinds = vec![Kind::Mod(version.clone())];
    if zip.is_some() {
        kinds.extend([Kind::Info(version.clone()), Kind::Zip(version.clone())]);
    }
    let mut fetched = false;
    for kind in kinds {
        let req = Request::new(&module, kind);
        if let Some(key) = req.key()
            && matches!(state.proxy.store().stat(&key).await, Ok(Some(_)))
        {
            continue;
        }
        fetched = true;
        let resp = fetch_through(state, auth, client, &req).await;
        if !resp.status().is_success() {
            let status = resp.status();
            return outcome("failed", Some(status), Some(body_text(resp).await));
        }
    }
    // The fetches answered before storing; the hashes are read once stored.
    state.proxy.durable(&module, &version).await;
    let mut mismatches = Vec::new();
    if let Some(want) = &zip {
        let held = stored_text(state, Key::version_file(&module, &version, Ext::ZipHash)).await;
        if held.as_deref().map(str::trim) != Some(want.as_str()) {
            mismatches.push(format!(
                "zip: go.sum says {want}, modgate holds {}",
                held.as_deref().map_or("nothing", str::trim)
            ));
        }
    }
    if let Some(want) = &go_mod {
        let key = Request::new(&module, Kind::Mod(version.clone())).key();
        let held = stored_text(state, key)
            .await
            .map(|m| modgate_zip::dirhash::hash_go_mod(m.as_bytes()));
        if held.as_deref() != Some(want.as_str()) {
            mismatches.push(format!(
                "go.mod: go.sum says {want}, modgate holds {}",
                held.as_deref().unwrap_or("nothing")
            ));
        }
    }
    if !mismatches.is_empty() {
        return outcome("mismatch", None, Some(mismatches.join("; ")));
    }
    outcome(if fetched { "fetched" } else { "cached" }, None, None)
}

async fn stored_text(state: &AppState, key: Option<Key>) -> Option<String> {
    let bytes = state.proxy.store().read_small(&key?).await.ok()??;
    String::from_utf8(bytes.to_vec()).ok()
}

/// `HEAD` of `req` through the GOPROXY handler, as the caller.
async fn fetch_through(
    state: &Arc<AppState>,
    auth: Option<&Arc<Authenticated>>,
    client: Option<IpAddr>,
    req: &Request,
) -> Response {
    let built = axum::http::Request::builder()
        .method(Method::HEAD)
        .uri(format!("/{}", req.upstream_path()))
        .body(HttpBody::empty());
    let mut inner = match built {
        Ok(inner) => inner,
        Err(e) => return json_error(&Failed(StatusCode::BAD_REQUEST, e.to_string())),
    };
    if let Some(auth) = auth {
        inner.extensions_mut().insert(auth.clone());
    }
    if let Some(ip) = client {
        inner
            .extensions_mut()
            .insert(ClientAddr(std::net::SocketAddr::new(ip, 0)));
    }
    Box::pin(goproxy(State(state.clone()), Method::HEAD, inner)).await
}

/// What a request tells of where it came from.
#[derive(Debug, Default)]
pub struct Sent<'a> {
    /// `Sec-Fetch-Site`, which browsers send and pages cannot forge.
    pub sec_fetch_site: Option<&'a str>,
    pub origin: Option<&'a str>,
    /// `scheme://host[:port]` the request was sent to, when it names a host.
    pub own_origin: Option<String>,
    /// Whether it carries [`ADMIN_HEADER`].
    pub admin_header: bool,
    /// The form's token.
    pub token: Option<&'a str>,
}

impl<'a> Sent<'a> {
    fn of(parts: &'a Parts, token: Option<&'a str>) -> Self {
        let headers = &parts.headers;
        let value = |name| {
            headers
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
        };
        // Behind a proxy that ends TLS, the scheme the browser used is the
        // proxy's word: a page elsewhere cannot add this header to a post
        // without a preflight, so it cannot make its own origin match.
        let forwarded = value("x-forwarded-proto").filter(|p| matches!(*p, "http" | "https"));
        let scheme = match forwarded {
            Some(scheme) => scheme,
            None if parts.extensions.get::<ViaTls>().is_some() => "https",
            None => "http",
        };
        let host =
            value(header::HOST.as_str()).or_else(|| parts.uri.authority().map(|a| a.as_str()));
        Sent {
            sec_fetch_site: value("sec-fetch-site"),
            origin: value(header::ORIGIN.as_str()),
            own_origin: host.map(|h| format!("{scheme}://{h}")),
            admin_header: headers.contains_key(ADMIN_HEADER),
            token,
        }
    }
}

/// Why a request that may come from another site's page is refused, or
/// `None`. Browsers attach cached credentials to cross-site posts, so an
/// admin request must (a) not be marked cross-site by `Sec-Fetch-Site`,
/// (b) come from this server's origin if it names one, and (c) carry
/// either [`ADMIN_HEADER`], which a page elsewhere cannot send without a
/// preflight, or the form token of the identity it is authenticated as.
pub fn cross_site_refusal(sent: &Sent<'_>, identity: &str) -> Option<String> {
    if let Some(site) = sent.sec_fetch_site
        && !matches!(site, "same-origin" | "none")
    {
        return Some(format!(
            "Sec-Fetch-Site: {site}: admin actions are taken from modgate's own pages only"
        ));
    }
    if let Some(origin) = sent.origin {
        match &sent.own_origin {
            Some(own) if own.eq_ignore_ascii_case(origin) => {}
            Some(own) => {
                return Some(format!(
                    "Origin {origin} is not this server's ({own}): admin actions are taken from modgate's own pages only"
                ));
            }
            None => {
                return Some(format!(
                    "Origin {origin} cannot be compared with this server's: the request names no host"
                ));
            }
        }
    }
    let token_ok = sent.token.is_some_and(|t| token_matches(t, identity));
    if !sent.admin_header && !token_ok {
        return Some(format!(
            "an admin action needs the {ADMIN_HEADER} header, or a form's token for {identity}"
        ));
    }
    None
}

/// This process's key for form tokens: a restart invalidates every form.
static FORM_KEY: LazyLock<[u8; 32]> = LazyLock::new(|| {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).expect("the operating system's random source works");
    key
});

/// The token the console's forms carry for `identity` (its name, or
/// `anonymous` without an auth file): HMAC-SHA256 with this process's key,
/// so a page elsewhere cannot make one, and one user's is no other's.
pub fn form_token(identity: &str) -> String {
    let message = [b"modgate admin form\0".as_slice(), identity.as_bytes()].concat();
    let mac = hmac_sha256(FORM_KEY.as_slice(), &message);
    mac.iter().map(|b| format!("{b:02x}")).collect()
}

fn token_matches(token: &str, identity: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    form_token(identity)
        .as_bytes()
        .ct_eq(token.as_bytes())
        .into()
}

/// RFC 2104 with SHA-256, for keys of a block or less.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let (mut inner, mut outer) = ([0x36u8; 64], [0x5cu8; 64]);
    for (i, k) in key.iter().take(64).enumerate() {
        inner[i] ^= k;
        outer[i] ^= k;
    }
    let inner = Sha256::new()
        .chain_update(inner)
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(outer)
        .chain_update(inner)
        .finalize()
        .into()
}

fn json(status: StatusCode, body: &serde_json::Value) -> Response {
    let mut resp = (status, format!("{body}\n")).into_response();
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

fn json_error(failed: &Failed) -> Response {
    json(failed.0, &json!({ "error": failed.1 }))
}

/// A plain-text refusal of the shared helpers, as JSON (its status and
/// headers, such as `WWW-Authenticate`, kept).
async fn jsonify(resp: Response) -> Response {
    let (mut parts, body) = resp.into_parts();
    let text = String::from_utf8_lossy(
        &axum::body::to_bytes(body, 64 << 10)
            .await
            .unwrap_or_default(),
    )
    .trim()
    .to_owned();
    let body = format!("{}\n", json!({ "error": text }));
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, HttpBody::from(body))
}

async fn body_text(resp: Response) -> String {
    let bytes = axum::body::to_bytes(resp.into_body(), 64 << 10)
        .await
        .unwrap_or_default();
    String::from_utf8_lossy(&bytes).trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWN: &str = "http://modgate.example:8080";

    fn sent<'a>(f: impl FnOnce(&mut Sent<'a>)) -> Sent<'a> {
        let mut s = Sent {
            own_origin: Some(OWN.to_owned()),
            admin_header: true,
            ..Sent::default()
        };
        f(&mut s);
        s
    }

    #[test]
    fn a_client_with_the_header_and_no_browser_marks_is_accepted() {
        assert_eq!(cross_site_refusal(&sent(|_| {}), "alice"), None);
        let own_page = sent(|s| {
            s.sec_fetch_site = Some("same-origin");
            s.origin = Some("HTTP://modgate.example:8080");
        });
        assert_eq!(cross_site_refusal(&own_page, "alice"), None);
        let typed = sent(|s| s.sec_fetch_site = Some("none"));
        assert_eq!(cross_site_refusal(&typed, "alice"), None);
    }

    #[test]
    fn cross_site_and_same_site_requests_are_refused_whatever_they_carry() {
        for site in ["cross-site", "same-site", "bogus"] {
            let s = sent(|s| {
                s.sec_fetch_site = Some(site);
                s.token = None;
            });
            let why = cross_site_refusal(&s, "alice").expect("refused");
            assert!(why.contains(site), "{why}");
        }
        let token = form_token("alice");
        let with_token = sent(|s| {
            s.sec_fetch_site = Some("cross-site");
            s.admin_header = false;
            s.token = Some(&token);
        });
        assert!(cross_site_refusal(&with_token, "alice").is_some());
    }

    #[test]
    fn an_origin_other_than_the_servers_is_refused() {
        for origin in [
            "http://evil.example",
            "https://modgate.example:8080",
            "http://modgate.example:8081",
            "http://modgate.example",
            "null",
        ] {
            let s = sent(|s| s.origin = Some(origin));
            let why = cross_site_refusal(&s, "alice").expect("refused");
            assert!(why.contains(origin), "{why}");
        }
        let hostless = sent(|s| {
            s.origin = Some(OWN);
            s.own_origin = None;
        });
        assert!(cross_site_refusal(&hostless, "alice").is_some());
    }

    #[test]
    fn a_form_needs_the_token_of_its_own_identity() {
        let form = |token: Option<&'static str>| {
            sent(move |s| {
                s.admin_header = false;
                s.sec_fetch_site = Some("same-origin");
                s.origin = Some(OWN);
                s.token = token;
            })
        };
        let why = cross_site_refusal(&form(None), "alice").expect("refused");
        assert!(why.contains(ADMIN_HEADER), "{why}");
        let alices: &'static str = Box::leak(form_token("alice").into_boxed_str());
        assert_eq!(cross_site_refusal(&form(Some(alices)), "alice"), None);
        assert!(cross_site_refusal(&form(Some(alices)), "bob").is_some());
        assert!(cross_site_refusal(&form(Some("")), "alice").is_some());
        let mut forged = alices.to_owned();
        forged.replace_range(..1, if alices.starts_with('0') { "1" } else { "0" });
        let forged: &'static str = Box::leak(forged.into_boxed_str());
        assert!(cross_site_refusal(&form(Some(forged)), "alice").is_some());
    }

    #[test]
    fn the_own_origin_is_the_host_asked_with_the_scheme_used() {
        let parts = |headers: &[(&str, &str)], tls: bool| {
            let mut req = axum::http::Request::builder().uri("/admin/api/remove");
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            let (mut parts, ()) = req.body(()).unwrap().into_parts();
            if tls {
                parts.extensions.insert(ViaTls);
            }
            parts
        };
        let own = |p: &Parts| Sent::of(p, None).own_origin;
        let host = ("host", "modgate.example:8080");
        assert_eq!(own(&parts(&[host], false)).as_deref(), Some(OWN));
        assert_eq!(
            own(&parts(&[host], true)).as_deref(),
            Some("https://modgate.example:8080")
        );
        let forwarded = parts(&[host, ("x-forwarded-proto", "https")], false);
        assert_eq!(
            own(&forwarded).as_deref(),
            Some("https://modgate.example:8080")
        );
        let bogus = parts(&[host, ("x-forwarded-proto", "evil://x")], false);
        assert_eq!(own(&bogus).as_deref(), Some(OWN));
        assert_eq!(own(&parts(&[], false)), None);
        let p = parts(
            &[host, ("sec-fetch-site", "cross-site"), (ADMIN_HEADER, "1")],
            false,
        );
        let sent = Sent::of(&p, None);
        assert_eq!(sent.sec_fetch_site, Some("cross-site"));
        assert!(sent.admin_header);
    }

    #[test]
    fn tokens_are_per_identity_and_stable_within_the_process() {
        assert_eq!(form_token("alice"), form_token("alice"));
        assert_ne!(form_token("alice"), form_token("bob"));
        assert_ne!(form_token("alice"), form_token("alice "));
        assert_eq!(form_token("alice").len(), 64);
    }

    #[test]
    fn without_an_auth_file_only_the_machine_itself_may_act() {
        for local in ["127.0.0.1", "127.3.2.1", "::1", "::ffff:127.0.0.1"] {
            assert_eq!(
                unsigned_refusal(Some(local.parse().unwrap())),
                None,
                "{local}"
            );
        }
        for remote in ["10.0.0.8", "192.168.1.2", "::ffff:10.0.0.8", "fe80::1"] {
            let why = unsigned_refusal(Some(remote.parse().unwrap())).expect(remote);
            assert!(why.contains("--auth-file"), "{why}");
        }
        assert!(unsigned_refusal(None).is_some());
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 2.
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn targets_pass_the_one_parser() {
        let input = |m: &str, v: Option<&str>| Input {
            module: Some(m.to_owned()),
            version: v.map(str::to_owned),
            ..Input::default()
        };
        let req = target(&input("example.com/Lib", Some("v1.0.0")), true)
            .ok()
            .unwrap();
        assert_eq!(
            req.key().unwrap().as_str(),
            "example.com/!lib/@v/v1.0.0.zip"
        );
        for (m, v) in [
            ("example.com/../etc", Some("v1.0.0")),
            ("../etc", Some("v1.0.0")),
            ("example.com/lib", Some("../../x")),
            ("example.com/lib", Some("v1.0")),
            ("example.com/lib", Some("%2e%2e")),
            ("example.com/lib", None),
            ("", Some("v1.0.0")),
            ("example.com/lib\\x", Some("v1.0.0")),
        ] {
            let got = target(&input(m, v), true);
            assert!(
                matches!(&got, Err(Failed(StatusCode::BAD_REQUEST, _))),
                "{m}@{v:?}"
            );
        }
        assert!(target(&input("example.com/lib", Some("v1.0.0")), false).is_err());
        assert!(target(&input("example.com/lib", None), false).is_ok());
    }
}
