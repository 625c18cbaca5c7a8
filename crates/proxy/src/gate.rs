//! The one gate: every entry point that names a module (the GOPROXY
//! endpoints, publish, `/catalog`, `/index`, lookups in the checksum
//! databases) asks here whether the caller may, with one notion of module
//! identity: the path as go escapes it, matched against `--private`,
//! `[[access]]` and `[[policy]]` patterns with ASCII case ignored. A path
//! that is private only when case is ignored is a case variant: on a
//! case-insensitive code host it is the private repository, so it is
//! refused for everyone and never resolved.

use std::net::IpAddr;

use axum::http::StatusCode;
use axum::response::Response;
use modgate_auth::{Decision, Denial, Right};
use modgate_sumdb::SumdbPath;

use crate::ProxyError;
use crate::access::{AuditEntry, Authenticated};
use crate::server::{AppState, denied, text, unauthorized};
use crate::upstream::Privacy;

enum Verdict {
    Allow,
    Deny(Denial),
    CaseVariant,
}

fn verdict(state: &AppState, auth: Option<&Authenticated>, module: &str, right: Right) -> Verdict {
    let privacy = state.proxy.upstreams().privacy(module);
    if let Some(auth) = auth
        && let Decision::Deny(d) =
            auth.config
                .authorize(&auth.identity, module, right, privacy != Privacy::Public)
    {
        return Verdict::Deny(d);
    }
    match privacy {
        Privacy::CaseVariant => Verdict::CaseVariant,
        Privacy::Public | Privacy::Private => Verdict::Allow,
    }
}

/// The refusal, if `auth` (None: no auth file) may not exercise `right` on
/// `module`: 401/403 from the rules, else 404 for a case variant. Neither
/// depends on whether the module exists.
pub(crate) fn refusal(
    state: &AppState,
    auth: Option<&Authenticated>,
    module: &str,
    right: Right,
) -> Option<Response> {
    match verdict(state, auth, module, right) {
        Verdict::Allow => None,
        Verdict::Deny(d) => Some(denied(&d)),
        Verdict::CaseVariant => Some(text(
            StatusCode::NOT_FOUND,
            &format!(
                "not found: {}\n",
                ProxyError::CaseVariant(module.to_owned())
            ),
        )),
    }
}

/// Whether `auth` (None: no auth file) may read `module`.
pub(crate) fn may_read(state: &AppState, auth: Option<&Authenticated>, module: &str) -> bool {
    matches!(verdict(state, auth, module, Right::Read), Verdict::Allow)
}

/// What the gate decided for `/sumdb/<rest>`.
pub(crate) struct SumdbGate {
    /// The answer instead of the database's.
    pub refused: Option<Response>,
    /// The module version a lookup in modgate's own database names: audited.
    pub own_lookup: Option<(String, String)>,
}

/// `/sumdb/<name>/<path>`. modgate's own database names private modules:
/// it is for those who may read some, and a lookup for those who may read
/// its module. The proxied public one follows the public default, and is
/// never asked about a private path.
pub(crate) fn sumdb(state: &AppState, auth: Option<&Authenticated>, rest: &str) -> SumdbGate {
    let (name, path) = rest.split_once('/').unwrap_or((rest, ""));
    let own = state.proxy.log().is_some_and(|log| log.name() == name);
    let lookup = match SumdbPath::parse(path) {
        Ok(SumdbPath::Lookup { module, version }) => Some((module, version)),
        _ => None,
    };
    let refused = database_refusal(auth, own).or_else(|| {
        let (module, _) = lookup.as_ref()?;
        if !own && state.proxy.upstreams().is_private(module) {
            return Some(text(
                StatusCode::NOT_FOUND,
                &format!(
                    "modgate: {module} is private (--private); it is not looked up in {name}\n"
                ),
            ));
        }
        refusal(state, auth, module, Right::Read)
    });
    SumdbGate {
        refused,
        own_lookup: lookup.filter(|_| own),
    }
}

fn database_refusal(auth: Option<&Authenticated>, own: bool) -> Option<Response> {
    let auth = auth?;
    let allowed = if own {
        auth.config.reads_guarded(&auth.identity)
    } else {
        auth.config.reads_public(&auth.identity)
    };
    if allowed {
        None
    } else if auth.identity.is_anonymous() {
        Some(unauthorized(modgate_auth::CREDENTIALS_REQUIRED))
    } else {
        Some(text(
            StatusCode::FORBIDDEN,
            &format!(
                "modgate: {} may not read this checksum database\n",
                auth.identity
            ),
        ))
    }
}

/// One read or publish of `module`, as the audit log records it.
pub(crate) struct Audited<'a> {
    pub action: &'static str,
    pub module: &'a str,
    pub version: Option<&'a str>,
    pub endpoint: &'static str,
    pub status: StatusCode,
}

/// Records `what` in the audit log (if there is one): every publish, and
/// the reads of private modules, of modules an `[[access]]` rule guards,
/// and every refused read.
pub(crate) fn audit(
    state: &AppState,
    auth: Option<&Authenticated>,
    client: Option<IpAddr>,
    what: &Audited<'_>,
) {
    let Some(log) = &state.audit else {
        return;
    };
    let worth = what.action != "read"
        || matches!(
            what.status,
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
        )
        || state.proxy.upstreams().is_private(what.module)
        || auth.is_some_and(|a| a.config.guards(what.module));
    if !worth {
        return;
    }
    log.record(&AuditEntry {
        time: jiff::Timestamp::now().to_string(),
        action: what.action,
        identity: auth.map_or("anonymous", |a| a.identity.name()),
        client: client.map(|ip| ip.to_string()),
        module: what.module,
        version: what.version,
        endpoint: what.endpoint,
        status: what.status.as_u16(),
        policy: None,
    });
}
