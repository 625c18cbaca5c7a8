//! The operator console's pages: what each shows is gathered here and
//! rendered by `modgate-console`. The overview at `/` is for admins; the
//! module browser (`/-/modules`, `/-/module/<path>`) is for readers, and
//! passes the one gate for every module it names: a module the viewer may
//! not read is answered as one the cache does not hold, in search results,
//! requirements and dependents too.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::extract::{Path, Request as HttpRequest, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use modgate_console::{history, html, modules, overview};
use modgate_module::escape::{escape_path, unescape_path};
use modgate_module::modfile::{self, Require};
use modgate_module::semver;
use modgate_redact::Chain;

use crate::access::Authenticated;
use crate::catalog::Held;
use crate::gate;
use crate::protocol::{Kind, Request};
use crate::server::{AppState, authenticated, not_admin, query_params, with_endpoint};
use crate::store::{Body, FileReader, Store, StoredFile, StoredVersion};

/// Search results, and a module's dependents, shown at most.
const SHOWN: usize = 200;
/// New versions whose go.mod a page reads itself for the dependents index;
/// more are left to [`Console::watch`].
const INLINE_INDEX: usize = 256;
/// Versions whose facts (`.info`, license) stay in memory: stored objects
/// never change, so they need no refresh.
const FACTS_KEPT: usize = 20_000;

/// A version's `.info`: its time and origin.
struct InfoFacts {
    time: Option<String>,
    origin: Option<modgate_module::info::Origin>,
}

/// Cached module versions whose go.mod requires a module: by required
/// path, (module, version, required version).
type Dependents = HashMap<String, Vec<(String, String, String)>>;

/// The license files of a version's zip, or why they are not known.
type Licenses = Arc<Result<Vec<String>, String>>;

#[derive(Default)]
struct Index {
    /// The catalog snapshot the index was built from.
    built_from: Option<Arc<Vec<Held>>>,
    /// Requirements by `(module, version)`; stored go.mods never change.
    requires: HashMap<(String, String), Arc<Vec<Require>>>,
}

pub struct Console {
    version: String,
    /// The effective configuration, secrets redacted.
    config: Vec<(String, String)>,
    started: SystemTime,
    infos: quick_cache::sync::Cache<(String, String), Arc<InfoFacts>>,
    licenses: quick_cache::sync::Cache<(String, String), Licenses>,
    /// Held while the dependents index is brought up to date.
    index: tokio::sync::Mutex<Index>,
    dependents: Mutex<Arc<Dependents>>,
    /// The last day each version was served, from gc's day markers.
    last_days: Mutex<Arc<HashMap<(String, String), u64>>>,
}

/// How often [`Console::watch`] reads the day markers again.
const MARKERS_EVERY: u32 = 12;

impl Console {
    /// `version`: what `--version` says; `config`: the settings `config
    /// check` prints, secrets redacted.
    pub fn new(version: &str, config: Vec<(String, String)>) -> Self {
        Self {
            version: format!("modgate {version}"),
            config,
            started: SystemTime::now(),
            infos: quick_cache::sync::Cache::new(FACTS_KEPT),
            licenses: quick_cache::sync::Cache::new(FACTS_KEPT),
            index: tokio::sync::Mutex::default(),
            dependents: Mutex::default(),
            last_days: Mutex::default(),
        }
    }

    /// Keeps the dependents index in step with the catalog's listings
    /// (the pages make them: this walks no store), however many versions
    /// are new, and reads the day markers every minute; runs forever.
    pub async fn watch(&self, proxy: &crate::Proxy) {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        for n in 0u32.. {
            tick.tick().await;
            if n % MARKERS_EVERY == 0 {
                match crate::gc::last_served(proxy.store().as_ref()).await {
                    Ok(days) => *crate::lock(&self.last_days) = Arc::new(days),
                    Err(e) => {
                        tracing::debug!(error = %Chain(&e), "console: reading the day markers")
                    }
                }
            }
            if let Some(held) = proxy.last_held() {
                let mut index = self.index.lock().await;
                self.update(&mut index, proxy.store().as_ref(), held, usize::MAX)
                    .await;
            }
        }
    }

    /// The dependents index for `held`: brought up to date here when few
    /// versions are new and no update is under way, else as it stands.
    async fn dependents(&self, store: &dyn Store, held: Arc<Vec<Held>>) -> Arc<Dependents> {
        if let Ok(mut index) = self.index.try_lock() {
            self.update(&mut index, store, held, INLINE_INDEX).await;
        }
        crate::lock(&self.dependents).clone()
    }

    /// Reads the go.mod of each version new in `held` (unless more than
    /// `at_most` are) and rebuilds the reverse map.
    async fn update(
        &self,
        index: &mut Index,
        store: &dyn Store,
        held: Arc<Vec<Held>>,
        at_most: usize,
    ) {
        if index
            .built_from
            .as_ref()
            .is_some_and(|b| Arc::ptr_eq(b, &held))
        {
            return;
        }
        let new: Vec<&Held> = held
            .iter()
            .filter(|h| {
                !index
                    .requires
                    .contains_key(&(h.module.clone(), h.version.clone()))
            })
            .collect();
        if new.len() > at_most {
            return;
        }
        for h in new {
            let Some(key) = Request::new(&h.module, Kind::Mod(h.version.clone())).key() else {
                continue;
            };
            let requires = match store.read_small(&key).await {
                Ok(Some(data)) => modfile::requirements(&data).unwrap_or_default(),
                // Absent (a zip-only version) or unreadable now: none.
                Ok(None) | Err(_) => Vec::new(),
            };
            index
                .requires
                .insert((h.module.clone(), h.version.clone()), Arc::new(requires));
        }
        let present: std::collections::HashSet<(&str, &str)> = held
            .iter()
            .map(|h| (h.module.as_str(), h.version.as_str()))
            .collect();
        index
            .requires
            .retain(|(m, v), _| present.contains(&(m.as_str(), v.as_str())));
        let mut reverse = Dependents::new();
        for ((m, v), requires) in &index.requires {
            for r in requires.iter() {
                reverse.entry(r.path.clone()).or_default().push((
                    m.clone(),
                    v.clone(),
                    r.version.clone(),
                ));
            }
        }
        for list in reverse.values_mut() {
            list.sort();
        }
        *crate::lock(&self.dependents) = Arc::new(reverse);
        index.built_from = Some(held);
    }

    async fn info(&self, store: &dyn Store, module: &str, v: &StoredVersion) -> Arc<InfoFacts> {
        let id = (module.to_owned(), v.version.clone());
        if let Some(facts) = self.infos.get(&id) {
            return facts;
        }
        let key = v.files.iter().find(|(k, ..)| *k == StoredFile::Info);
        let data = match key {
            Some((_, key, _)) => store.read_small(key).await.ok().flatten(),
            None => None,
        };
        let info = data.and_then(|d| modgate_module::info::Info::parse(module, None, &d).ok());
        let facts = Arc::new(InfoFacts {
            time: info.as_ref().map(|i| format!("{:.0}", i.time)),
            origin: info.and_then(|i| i.origin),
        });
        self.infos.insert(id, facts.clone());
        facts
    }

    /// The license files at the root of `v`'s zip, from its central
    /// directory.
    async fn license(&self, store: &dyn Store, module: &str, v: &StoredVersion) -> Licenses {
        let id = (module.to_owned(), v.version.clone());
        if let Some(found) = self.licenses.get(&id) {
            return found;
        }
        let found = match v.files.iter().find(|(k, ..)| *k == StoredFile::Zip) {
            None => Err("no zip cached for the latest version".to_owned()),
            Some((_, key, _)) => match store.get(key).await {
                Ok(Some(obj)) => {
                    let (m, ver) = (module.to_owned(), v.version.clone());
                    let size = obj.size;
                    let read = tokio::task::spawn_blocking(move || match obj.body {
                        Body::Bytes(b) => {
                            modgate_zip::root_licenses(std::io::Cursor::new(b), &m, &ver)
                                .map_err(|e| e.to_string())
                        }
                        Body::File(f) => {
                            modgate_zip::root_licenses(FileReader::new(f, size), &m, &ver)
                                .map_err(|e| e.to_string())
                        }
                        // Reading a bucket's zip for a page costs a download.
                        Body::Remote(_) => Err("not read from bucket storage".to_owned()),
                    });
                    read.await
                        .unwrap_or_else(|e| Err(format!("reading the zip: {e}")))
                }
                Ok(None) => Err("no zip cached for the latest version".to_owned()),
                Err(e) => Err(format!("storage: {}", e.kind_text())),
            },
        };
        let found = Arc::new(found);
        self.licenses.insert(id, found.clone());
        found
    }
}

/// A console page: HTML that loads nothing from elsewhere, never cached.
fn html_page(status: StatusCode, body: String) -> Response {
    let mut resp = (status, body).into_response();
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(html::CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    with_endpoint("console", resp)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut resp = body.into_response();
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    with_endpoint("console", resp)
}

/// `/favicon.svg` and `/favicon.ico` (browsers take an SVG there too).
pub(crate) async fn favicon() -> Response {
    asset("image/svg+xml", html::FAVICON)
}

pub(crate) async fn style() -> Response {
    asset("text/css; charset=utf-8", html::STYLE)
}

pub(crate) async fn script() -> Response {
    asset("text/javascript; charset=utf-8", html::SCRIPT)
}

/// `/`: the overview, for admins when there is an auth file.
pub(crate) async fn overview(State(state): State<Arc<AppState>>, req: HttpRequest) -> Response {
    if let Some(resp) = not_admin(authenticated(&req).as_deref()) {
        return with_endpoint("status", resp);
    }
    let proxy = &state.proxy;
    let storage = match proxy.store().check().await {
        Ok(()) => Ok(()),
        Err(e) => {
            crate::telemetry::metric::storage_failure("check");
            Err(e.kind_text())
        }
    };
    let held = proxy.held().await;
    if let Err(e) = &held {
        tracing::warn!(error = %Chain(&e), "status page: listing the store");
    }
    let now = SystemTime::now();
    let held = held.ok().map(|held| {
        let grown = |within: Duration| -> u64 {
            held.iter()
                .filter(|h| now.duration_since(h.stored).is_ok_and(|age| age <= within))
                .map(|h| h.bytes)
                .sum()
        };
        overview::Holdings {
            modules: held
                .iter()
                .map(|v| v.module.as_str())
                .collect::<std::collections::BTreeSet<_>>()
                .len(),
            versions: held.len(),
            objects: held.iter().map(|v| v.objects).sum(),
            bytes: held.iter().map(|v| v.bytes).sum(),
            grown_hour: grown(Duration::from_secs(3600)),
            grown_day: grown(Duration::from_secs(86_400)),
        }
    });
    let metrics = state.metrics.render();
    let console = &state.console;
    let gc_run = |dry_run| async move {
        match crate::gc::last_run(proxy.store().as_ref(), dry_run).await {
            Ok(run) => run.map(|run| overview::GcRun {
                at: std::time::UNIX_EPOCH + Duration::from_millis(run.at),
                versions: run.versions,
                removed: run.removed,
                freed: run.freed,
            }),
            Err(e) => {
                tracing::debug!(error = %Chain(&e), "status page: reading gc's last run");
                None
            }
        }
    };
    let (gc, gc_would) = (gc_run(false).await, gc_run(true).await);
    let page = overview::render(&overview::Overview {
        version: &console.version,
        started: console.started,
        config: &console.config,
        hour: history::global().window(60, 1),
        day: history::global().window(history::MINUTES, 15),
        storage,
        held,
        upstreams: proxy
            .upstreams()
            .health()
            .into_iter()
            .map(|u| overview::Upstream {
                explained: u
                    .failing
                    .as_ref()
                    .filter(|(for_, _)| !for_.is_zero())
                    .and_then(|(_, e)| (state.explain)(e)),
                state: u.state.as_str(),
                failing: u.failing,
                events: u
                    .events
                    .into_iter()
                    .map(|e| overview::UpstreamEvent {
                        at: e.at,
                        what: e.what,
                        cause: e.cause,
                    })
                    .collect(),
                name: u.name,
            })
            .collect(),
        private_log: proxy.log().map(|l| overview::PrivateLog {
            name: l.name().to_owned(),
            size: l.size(),
            signed_at: l.signed_at(),
        }),
        sumdb: proxy
            .checksums()
            .map(|c| crate::sumdb::Database::name(c).to_owned()),
        misses: proxy
            .misses()
            .into_iter()
            .map(|m| overview::Miss {
                at: m.at,
                what: m.what,
                took: m.took,
                error: m.error,
            })
            .collect(),
        moved_tags: proxy
            .upstreams()
            .moved_tags()
            .into_iter()
            .map(|m| overview::MovedTag {
                seen: m.seen,
                module: m.module,
                version: m.version,
                tag: m.tag,
                url: m.url,
                old: m.old,
                new: m.new,
            })
            .collect(),
        vulndb: state.vulndb.as_ref().map(|db| {
            let status = db.status();
            overview::VulnMirror {
                upstream: db.upstream().to_owned(),
                synced: status.synced.map(SystemTime::from),
                failing: status.failing,
            }
        }),
        gc,
        gc_would,
        metrics: &metrics,
    });
    let resp = html_page(StatusCode::OK, page);
    with_endpoint("status", resp)
}

/// The name admin form tokens are made for, as the admin API checks them.
fn identity(auth: Option<&Authenticated>) -> &str {
    auth.map_or("anonymous", |a| a.identity.name())
}

/// Whether the admin API takes this viewer's forms: an admin of the auth
/// file (without one, nobody).
fn may_act(auth: Option<&Authenticated>) -> bool {
    auth.is_some() && not_admin(auth).is_none()
}

/// Whether the viewer may browse at all: anonymous viewers only when the
/// auth file lets anonymous clients read.
fn may_browse(auth: Option<&Authenticated>) -> Option<Response> {
    let a = auth?;
    (a.identity.is_anonymous() && !a.config.reads_public(&a.identity))
        .then(|| crate::server::unauthorized(modgate_auth::CREDENTIALS_REQUIRED))
}

/// `/-/modules?q=`: the cached modules the viewer may read whose path
/// contains `q` (ASCII case ignored).
pub(crate) async fn search(State(state): State<Arc<AppState>>, req: HttpRequest) -> Response {
    let auth = authenticated(&req);
    let q = query_params(&req).remove("q").unwrap_or_default();
    if let Some(resp) = may_browse(auth.as_deref()) {
        return with_endpoint("console", resp);
    }
    let held = match state.proxy.held_soon().await {
        Ok(held) => held,
        Err(e) => {
            tracing::error!(error = %Chain(&e), "listing the store");
            crate::telemetry::metric::storage_failure("list");
            return with_endpoint(
                "console",
                crate::server::text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &format!("modgate's storage is failing: {}\n", e.kind_text()),
                ),
            );
        }
    };
    let needle = q.trim().to_ascii_lowercase();
    let mut found = Vec::new();
    let mut matched = 0;
    for versions in held.chunk_by(|a, b| a.module == b.module) {
        let module = &versions[0].module;
        if !module.to_ascii_lowercase().contains(&needle)
            || !gate::may_read(&state, auth.as_deref(), module)
        {
            continue;
        }
        matched += 1;
        if found.len() >= SHOWN {
            continue;
        }
        let latest = versions
            .iter()
            .map(|v| v.version.as_str())
            .reduce(|a, b| if semver::compare(a, b).is_lt() { b } else { a })
            .unwrap_or_default();
        found.push(modules::Found {
            path: module.clone(),
            escaped: escape_path(module).unwrap_or_default(),
            versions: versions.len(),
            latest: latest.to_owned(),
            bytes: versions.iter().map(|v| v.bytes).sum(),
            stored: versions
                .iter()
                .map(|v| v.stored)
                .max()
                .unwrap_or(SystemTime::UNIX_EPOCH),
        });
    }
    // An admin may prefetch the versions a go.sum names from here.
    let prefetch =
        may_act(auth.as_deref()).then(|| crate::admin::form_token(identity(auth.as_deref())));
    html_page(
        StatusCode::OK,
        modules::search(&q, &found, matched, prefetch.as_deref()),
    )
}

/// A decision's words for the module page.
fn decision(d: &crate::policy::Decision) -> (&'static str, String) {
    use crate::policy::Decision::*;
    let why = match d {
        Allow => String::new(),
        Deny(w) | WouldDeny(w) | Waived(w) => w.clone(),
    };
    (d.label(), why)
}

/// `/-/module/<escaped path>`.
pub(crate) async fn module(
    State(state): State<Arc<AppState>>,
    Path(escaped): Path<String>,
    req: HttpRequest,
) -> Response {
    let auth = authenticated(&req);
    if let Some(resp) = may_browse(auth.as_deref()) {
        return with_endpoint("console", resp);
    }
    let escaped = escaped.trim_end_matches('/');
    let not_found = |shown: &str| html_page(StatusCode::NOT_FOUND, modules::not_found(shown));
    // Through the checked key constructor, as a GOPROXY path would be.
    let Ok(path) = unescape_path(escaped) else {
        return not_found(escaped);
    };
    let Some(_) = crate::store::Key::versions_dir(&path) else {
        return not_found(escaped);
    };
    // The same answer for a module the viewer may not read as for one
    // that is not cached, so the page tells nothing of either.
    let client = req
        .extensions()
        .get::<crate::ClientAddr>()
        .map(|c| c.0.ip());
    let audit = |status| {
        gate::audit(
            &state,
            auth.as_deref(),
            client,
            &gate::Audited {
                action: "read",
                module: &path,
                version: None,
                endpoint: "console",
                status,
            },
        );
    };
    if !gate::may_read(&state, auth.as_deref(), &path) {
        audit(StatusCode::NOT_FOUND);
        return not_found(&path);
    }
    let proxy = &state.proxy;
    let store = proxy.store().as_ref();
    let canonical = escape_path(&path).unwrap_or_default();
    let mut versions: Vec<StoredVersion> = match store.versions(&canonical).await {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(error = %Chain(&e), "console: listing a module's versions");
            return with_endpoint(
                "console",
                crate::server::text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &format!("modgate's storage is failing: {}\n", e.kind_text()),
                ),
            );
        }
    };
    // An .info alone (from @latest) is not a cached version.
    versions.retain(|v| {
        v.files
            .iter()
            .any(|(k, ..)| matches!(k, StoredFile::Mod | StoredFile::Zip))
    });
    if versions.is_empty() {
        return not_found(&path);
    }
    versions.sort_by(|a, b| semver::compare(&b.version, &a.version));
    audit(StatusCode::OK);
    let latest = &versions[0];
    let go_mod = match latest.files.iter().find(|(k, ..)| *k == StoredFile::Mod) {
        Some((_, key, _)) => store.read_small(key).await.ok().flatten(),
        None => None,
    };
    let go_mod = go_mod.as_deref().unwrap_or_default();
    let retracted = modfile::retracted(go_mod);
    let advisories = match &state.vulndb {
        None => Err("No vulnerability database is mirrored (--vulndb).".to_owned()),
        Some(db) => db
            .advisories(&path)
            .await
            .map_err(|e| format!("The vulnerability database cannot be read now: {e}")),
    };
    let served = proxy.served(&path);
    let last_days = crate::lock(&state.console.last_days).clone();
    let held = proxy.held_soon().await.ok();
    let mut rows = Vec::with_capacity(versions.len());
    // Read a few at a time: a module's first view reads each `.info`.
    let infos: Vec<Arc<InfoFacts>> = {
        use futures::StreamExt as _;
        let reads: Vec<_> = versions
            .iter()
            .map(|v| state.console.info(store, &path, v))
            .collect();
        futures::stream::iter(reads).buffered(16).collect().await
    };
    for (v, info) in versions.iter().zip(infos) {
        let policy = match &state.policy {
            Some(p) => Some(decision(
                &p.decide(&path, &v.version, state.vulndb.as_deref(), &retracted)
                    .await,
            )),
            None => None,
        };
        let (count, last) = served
            .get(&v.version)
            .copied()
            .unwrap_or((0, SystemTime::UNIX_EPOCH));
        rows.push(modules::Version {
            version: v.version.clone(),
            time: info.time.clone(),
            bytes: v.files.iter().map(|(.., stat)| stat.size).sum(),
            origin: info.origin.as_ref().map(|o| modules::Origin {
                vcs: o.vcs.clone(),
                url: modgate_redact::redact_url(&o.url),
                hash: o.hash.clone(),
                subdir: o.subdir.clone(),
                reference: o.r#ref.clone(),
            }),
            served: count,
            last_served: if count > 0 {
                Some(html::time(last))
            } else {
                last_days
                    .get(&(path.clone(), v.version.clone()))
                    .and_then(|&day| jiff::Timestamp::from_second(day as i64 * 86_400).ok())
                    .map(|t| format!("{} (day marker)", t.strftime("%Y-%m-%d")))
            },
            retracted: retracted.iter().find(|r| r.covers(&v.version)).map(|r| {
                if r.rationale.is_empty() {
                    "no reason given".to_owned()
                } else {
                    r.rationale.clone()
                }
            }),
            vulnerable: advisories
                .as_ref()
                .map(|list| {
                    list.iter()
                        .filter(|a| a.affects(&path, &v.version))
                        .map(|a| a.id.clone())
                        .collect()
                })
                .unwrap_or_default(),
            policy,
            recorded: proxy.log().is_some_and(|l| l.contains(&path, &v.version)),
        });
    }
    // Cached modules the viewer may read, by path.
    let readable = |m: &str| gate::may_read(&state, auth.as_deref(), m);
    let cached: BTreeMap<&str, ()> = held
        .as_deref()
        .map(|h| h.iter().map(|v| (v.module.as_str(), ())).collect())
        .unwrap_or_default();
    let requires = modfile::requirements(go_mod)
        .unwrap_or_default()
        .into_iter()
        .map(|r| modules::Requirement {
            cached: (cached.contains_key(r.path.as_str()) && readable(&r.path))
                .then(|| escape_path(&r.path).unwrap_or_default()),
            path: r.path,
            version: r.version,
            indirect: r.indirect,
        })
        .collect();
    let mut required_by: Vec<modules::Dependent> = match &held {
        Some(held) => state
            .console
            .dependents(store, held.clone())
            .await
            .get(&path)
            .into_iter()
            .flatten()
            .filter(|(m, ..)| readable(m))
            .map(|(m, v, requires)| modules::Dependent {
                escaped: escape_path(m).unwrap_or_default(),
                path: m.clone(),
                version: v.clone(),
                requires: requires.clone(),
            })
            .collect(),
        None => Vec::new(),
    };
    let dependents = required_by.len();
    required_by.truncate(SHOWN);
    // Admins act on the cache from here: forms posting to the admin API
    // with their identity's token.
    let (mut actions, mut module_actions) = (Vec::new(), Vec::new());
    let admin = may_act(auth.as_deref());
    if admin {
        let token = crate::admin::form_token(identity(auth.as_deref()));
        let form = |action: &str, label: &str, version: Option<&str>, danger| modules::Action {
            action: format!("/admin/api/{action}"),
            label: label.to_owned(),
            fields: [("module", path.as_str()), ("token", token.as_str())]
                .into_iter()
                .chain(version.map(|v| ("version", v)))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            danger,
        };
        module_actions.push(form("refresh", "Refresh the version list", None, false));
        for v in &versions {
            // Refused by the API: modgate's own checksum database vouches
            // for every version stored.
            if proxy.log().is_some() {
                continue;
            }
            actions.push((
                v.version.clone(),
                vec![
                    form("quarantine", "Quarantine", Some(&v.version), false),
                    form("remove", "Remove", Some(&v.version), true),
                ],
            ));
        }
    }
    let page = modules::Module {
        deprecated: modfile::deprecation(go_mod),
        latest: Some(latest.version.clone()),
        license: (*state.console.license(store, &path, latest).await).clone(),
        advisories: advisories.map(|list| {
            list.iter()
                .map(|a| modules::Advisory {
                    id: a.id.clone(),
                    summary: a.summary.clone(),
                    aliases: a.aliases.clone(),
                })
                .collect()
        }),
        versions: rows,
        requires,
        required_by,
        dependents,
        admin,
        actions,
        module_actions,
        path,
    };
    html_page(StatusCode::OK, modules::module(&page))
}
