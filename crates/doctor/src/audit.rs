//! `modgate audit`: what a module builds with, checked without a go
//! toolchain. The build list (`go list -m all`) is computed by MVS from
//! go.mod files fetched through a GOPROXY (or read from a go.sum), then
//! every module in it is checked against a Go vulnerability database
//! (OSV `affected` ranges, at module level), its latest go.mod's `retract`
//! directives and its `// Deprecated:` comment.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use modgate_module::mvs::{Graph, ModVer, Summary};
use modgate_module::{escape, modfile, osv, version};
use modgate_net::credentials::{self, Credentials};
use modgate_net::goauth::GoAuth;
use serde::Serialize;

use crate::Error;

/// go.mod files fetched at once.
const FETCHES: usize = 16;

/// The notice every report carries: what module-level matching means.
pub const MODULE_LEVEL: &str = "matching is module-level: a module is reported when its version is in an advisory's affected ranges, whether or not the code reaches the vulnerable symbols (govulncheck checks that)";

#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// A module directory, its go.mod, or a go.sum.
    pub input: PathBuf,
    /// The GOPROXY the go.mod files are fetched from (`user:pass@` allowed).
    pub proxy: String,
    /// The vulnerability database (vuln.go.dev, or modgate's `/vuln`).
    pub vulndb: String,
    /// Report modules whose latest version is older than this.
    pub stale: Option<std::time::Duration>,
}

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Vuln,
    Retracted,
    Deprecated,
    Stale,
    /// A newer major version of the module (its `/vN+1` path) has a release.
    Major,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "vuln" | "vulnerable" => Some(Kind::Vuln),
            "retracted" => Some(Kind::Retracted),
            "deprecated" => Some(Kind::Deprecated),
            "stale" => Some(Kind::Stale),
            "major" => Some(Kind::Major),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Kind::Vuln => "vulnerable",
            Kind::Retracted => "retracted",
            Kind::Deprecated => "deprecated",
            Kind::Stale => "stale",
            Kind::Major => "major",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub module: String,
    pub version: String,
    pub kind: Kind,
    /// The advisory (vulnerabilities).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// The lowest version that fixes it (vulnerabilities).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    /// The advisory's summary, the retraction's rationale or the
    /// deprecation message.
    pub detail: String,
    /// Where the `.info` the finding rests on says its version came from
    /// (stale: the latest version's), as the proxy served it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<modgate_module::Origin>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The main module.
    pub module: String,
    /// The build list, `module@version`.
    pub build_list: Vec<String>,
    pub findings: Vec<Finding>,
    /// Modules that could not be checked, and why.
    pub unchecked: Vec<String>,
    pub note: &'static str,
}

/// Runs the audit on a runtime of its own.
pub fn run(opts: &AuditOptions) -> Result<Report, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?
        .block_on(audit(opts))
}

async fn audit(opts: &AuditOptions) -> Result<Report, Error> {
    let auth = Arc::new(GoAuth::from_env()?);
    let proxy = Remote::new(&opts.proxy, &auth)?;
    let vulndb = Remote::new(&opts.vulndb, &auth)?;
    let (module, list) = build_list(&opts.input, &proxy).await?;
    let mut findings = Vec::new();
    let mut unchecked = Vec::new();
    vulnerabilities(&vulndb, &list, &mut findings).await?;
    let checks: Vec<_> = futures::stream::iter(&list)
        .map(|m| latest_go_mod(&proxy, m, opts.stale))
        .buffered(FETCHES)
        .collect()
        .await;
    for (m, checked) in list.iter().zip(checks) {
        match checked {
            Ok(found) => findings.extend(found),
            Err(e) => unchecked.push(format!("{m}: {}", e.detail())),
        }
    }
    findings.sort_by(|a, b| (&a.module, a.kind, &a.id).cmp(&(&b.module, b.kind, &b.id)));
    Ok(Report {
        module,
        build_list: list.iter().map(ToString::to_string).collect(),
        findings,
        unchecked,
        note: MODULE_LEVEL,
    })
}

/// The main module's path and its build list.
async fn build_list(input: &Path, proxy: &Remote) -> Result<(String, Vec<ModVer>), Error> {
    let is_sum = input.file_name().is_some_and(|n| n == "go.sum");
    let file = if input.is_dir() {
        input.join("go.mod")
    } else {
        input.to_owned()
    };
    let bad = |reason: String| Error::AuditInput {
        path: file.clone(),
        reason,
    };
    let data = fs_err::read(&file).map_err(|e| bad(e.to_string()))?;
    if is_sum {
        let text = String::from_utf8(data).map_err(|_| bad("not UTF-8".to_owned()))?;
        let main = file
            .parent()
            .map(|d| d.join("go.mod"))
            .and_then(|m| fs_err::read(m).ok())
            .and_then(|d| modfile::module_path(&d))
            .unwrap_or_default();
        return Ok((main, sum_build_list(&text).map_err(bad)?));
    }
    modfile::check_syntax(&data).map_err(|e| bad(e.to_string()))?;
    let main = modfile::module_path(&data).ok_or_else(|| bad("no module directive".to_owned()))?;
    let replaces = modfile::replacements(&data).unwrap_or_default();
    let summary =
        Summary::of_go_mod(&data).ok_or_else(|| bad("malformed require directive".to_owned()))?;
    let dir = file.parent().unwrap_or(Path::new(".")).to_owned();
    let mut graph = Graph::new(&main, &summary);
    loop {
        let want = graph.pending();
        if want.is_empty() {
            break;
        }
        let loaded: Vec<_> = futures::stream::iter(want)
            .map(|m| {
                let (replaces, dir) = (&replaces, &dir);
                async move {
                    let s = load_summary(proxy, replaces, dir, &m).await;
                    (m, s)
                }
            })
            .buffered(FETCHES)
            .collect()
            .await;
        for (m, s) in loaded {
            graph.add(m, s?);
        }
    }
    // The replacement is what is built, so it is what is checked.
    let list = graph
        .build_list()
        .into_iter()
        .filter_map(
            |m| match modfile::replacement(&replaces, &m.path, &m.version) {
                None => Some(m),
                Some(r) => r.new_version.as_ref().map(|v| ModVer::new(&r.new, v)),
            },
        )
        .collect();
    Ok((main, list))
}

/// The requirements of `m`: its go.mod from the proxy, or from its
/// replacement (a module version, or a directory next to the main module).
async fn load_summary(
    proxy: &Remote,
    replaces: &[modfile::Replace],
    dir: &Path,
    m: &ModVer,
) -> Result<Summary, Error> {
    let (data, from) = match modfile::replacement(replaces, &m.path, &m.version) {
        Some(r) if r.new_version.is_none() => {
            let path = dir.join(&r.new).join("go.mod");
            match fs_err::read(&path) {
                Ok(d) => (d, path.display().to_string()),
                // A directory without go.mod has no requirements.
                Err(_) => return Ok(Summary::default()),
            }
        }
        Some(r) => {
            let target = ModVer::new(&r.new, r.new_version.as_deref().unwrap_or_default());
            (go_mod(proxy, &target).await?, target.to_string())
        }
        None => (go_mod(proxy, m).await?, m.to_string()),
    };
    Summary::of_go_mod(&data).ok_or_else(|| Error::AuditFetch {
        url: from,
        reason: "malformed require directive in go.mod".to_owned(),
    })
}

async fn go_mod(proxy: &Remote, m: &ModVer) -> Result<Vec<u8>, Error> {
    let path = module_file(m, "mod")?;
    proxy.get(&path).await?.ok_or_else(|| Error::AuditFetch {
        url: format!("{}/{path}", proxy.name),
        reason: "not found".to_owned(),
    })
}

fn module_file(m: &ModVer, ext: &str) -> Result<String, Error> {
    let invalid = |e: modgate_module::Error| Error::Module {
        module: m.to_string(),
        source: e,
    };
    Ok(format!(
        "{}/@v/{}.{ext}",
        escape::escape_path(&m.path).map_err(invalid)?,
        escape::escape_version(&m.version).map_err(invalid)?
    ))
}

/// The build list a go.sum implies: the highest version of each module it
/// names (the versions MVS selected, when go.sum is tidy).
fn sum_build_list(text: &str) -> Result<Vec<ModVer>, String> {
    let entries = modgate_module::gosum::parse_go_sum(text).map_err(|e| e.to_string())?;
    let mut best: BTreeMap<&str, &str> = BTreeMap::new();
    for e in &entries {
        let slot = best.entry(&e.module).or_insert(&e.version);
        if modgate_module::semver::compare(&e.version, slot).is_gt() {
            *slot = &e.version;
        }
    }
    Ok(best.into_iter().map(|(m, v)| ModVer::new(m, v)).collect())
}

/// An entry of the database's `index/modules.json`.
#[derive(serde::Deserialize)]
struct ModuleIndex {
    path: String,
    #[serde(default)]
    vulns: Vec<IndexVuln>,
}

#[derive(serde::Deserialize)]
struct IndexVuln {
    id: String,
}

async fn vulnerabilities(
    db: &Remote,
    list: &[ModVer],
    findings: &mut Vec<Finding>,
) -> Result<(), Error> {
    let index_path = "index/modules.json";
    let unreadable = |reason: String| Error::AuditFetch {
        url: format!("{}/{index_path}", db.name),
        reason,
    };
    let index = db
        .get(index_path)
        .await?
        .ok_or_else(|| unreadable("not found".to_owned()))?;
    let index: Vec<ModuleIndex> =
        serde_json::from_slice(&index).map_err(|e| unreadable(e.to_string()))?;
    let by_path: HashMap<&str, &ModuleIndex> = index.iter().map(|m| (m.path.as_str(), m)).collect();
    let mut ids: Vec<&str> = list
        .iter()
        .filter_map(|m| by_path.get(m.path.as_str()))
        .flat_map(|m| m.vulns.iter().map(|v| v.id.as_str()))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let entries: Vec<Result<osv::Entry, Error>> = futures::stream::iter(ids)
        .map(|id| async move {
            let path = format!("ID/{id}.json");
            let bad = |reason: String| Error::AuditFetch {
                url: format!("{}/{path}", db.name),
                reason,
            };
            let bytes = db
                .get(&path)
                .await?
                .ok_or_else(|| bad("not found".to_owned()))?;
            serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))
        })
        .buffered(FETCHES)
        .collect()
        .await;
    for entry in entries {
        let entry = entry?;
        for m in list.iter().filter(|m| entry.affects(&m.path, &m.version)) {
            findings.push(Finding {
                module: m.path.clone(),
                version: m.version.clone(),
                kind: Kind::Vuln,
                id: Some(entry.id.clone()),
                aliases: entry.aliases.clone(),
                fixed: entry.fixed_after(&m.path, &m.version),
                detail: entry.summary.clone(),
                origin: None,
            });
        }
    }
    Ok(())
}

/// Retraction and deprecation, from the go.mod of the module's latest
/// version (the highest release, retracted or not, as go reads it).
async fn latest_go_mod(
    proxy: &Remote,
    m: &ModVer,
    stale: Option<Duration>,
) -> Result<Vec<Finding>, Error> {
    let invalid = |e: modgate_module::Error| Error::Module {
        module: m.path.clone(),
        source: e,
    };
    let escaped = escape::escape_path(&m.path).map_err(invalid)?;
    let list = proxy
        .get(&format!("{escaped}/@v/list"))
        .await?
        .unwrap_or_default();
    let list = String::from_utf8_lossy(&list);
    let latest = match version::pick_latest(list.split_whitespace()) {
        Some(v) => v.to_owned(),
        None => {
            // Only pseudo-versions: @latest names one.
            let Some(info) = proxy.get(&format!("{escaped}/@latest")).await? else {
                return Ok(Vec::new());
            };
            match modgate_module::Info::parse(&m.path, None, &info) {
                Ok(info) => info.version,
                Err(_) => return Ok(Vec::new()),
            }
        }
    };
    let data = go_mod(proxy, &ModVer::new(&m.path, &latest)).await?;
    let mut found = Vec::new();
    for r in modfile::retracted(&data)
        .iter()
        .filter(|r| r.covers(&m.version))
    {
        found.push(Finding {
            module: m.path.clone(),
            version: m.version.clone(),
            kind: Kind::Retracted,
            id: None,
            aliases: Vec::new(),
            fixed: None,
            detail: if r.rationale.is_empty() {
                format!("retracted in {latest}'s go.mod")
            } else {
                r.rationale.clone()
            },
            origin: None,
        });
    }
    if let Some(stale) = stale
        && let Some(info) = proxy.get(&format!("{escaped}/@v/{latest}.info")).await?
        && let Ok(info) = modgate_module::Info::parse(&m.path, Some(&latest), &info)
    {
        let age = jiff::Timestamp::now().as_second() - info.time.as_second();
        if age > i64::try_from(stale.as_secs()).unwrap_or(i64::MAX) {
            found.push(Finding {
                module: m.path.clone(),
                version: m.version.clone(),
                kind: Kind::Stale,
                id: None,
                aliases: Vec::new(),
                fixed: None,
                detail: format!(
                    "no release since {} (latest {latest})",
                    info.time.strftime("%Y-%m-%d")
                ),
                origin: info.origin.clone(),
            });
        }
    }
    if let Some(newer) = newer_major(proxy, &m.path).await {
        found.push(Finding {
            module: m.path.clone(),
            version: m.version.clone(),
            kind: Kind::Major,
            id: None,
            aliases: Vec::new(),
            fixed: None,
            detail: newer,
            origin: None,
        });
    }
    if let Some(message) = modfile::deprecation(&data) {
        found.push(Finding {
            module: m.path.clone(),
            version: m.version.clone(),
            kind: Kind::Deprecated,
            id: None,
            aliases: Vec::new(),
            fixed: None,
            detail: message,
            origin: None,
        });
    }
    Ok(found)
}

/// `path`'s next major version (`/v2` after none, `/vN+1` after `/vN`,
/// gopkg.in's `.vN+1`) as `path@version`, when the proxy has a release of
/// it. A hint: a failure to ask is no finding.
async fn newer_major(proxy: &Remote, path: &str) -> Option<String> {
    let (prefix, major) = modgate_module::path::split_path_version(path)?;
    let next = match major {
        "" => format!("{prefix}/v2"),
        _ => {
            let n: u64 = major[2..].trim_end_matches("-unstable").parse().ok()?;
            format!("{prefix}{}v{}", &major[..1], n + 1)
        }
    };
    let escaped = escape::escape_path(&next).ok()?;
    let list = proxy.get(&format!("{escaped}/@v/list")).await.ok()??;
    let list = String::from_utf8_lossy(&list);
    let latest = version::pick_latest(list.split_whitespace())?;
    Some(format!("{next}@{latest}"))
}

/// A server read over HTTP: a GOPROXY or a vulnerability database.
struct Remote {
    base: String,
    /// The base without credentials, for messages.
    name: String,
    /// The URL's own; else GOAUTH's, per request.
    credentials: Option<Credentials>,
    auth: Arc<GoAuth>,
    client: reqwest::Client,
}

impl Remote {
    fn new(url: &str, auth: &Arc<GoAuth>) -> Result<Self, Error> {
        let (base, credentials) = credentials::split_userinfo(url.trim_end_matches('/'));
        let client = modgate_net::client(Duration::from_secs(10), Duration::from_secs(60))
            .map_err(|e| Error::AuditFetch {
                url: modgate_redact::redact_url(&base),
                reason: modgate_net::describe(e),
            })?;
        Ok(Self {
            name: modgate_redact::redact_url(&base),
            base,
            credentials,
            auth: auth.clone(),
            client,
        })
    }

    /// The body at `path`, or `None` on 404 or 410.
    async fn get(&self, path: &str) -> Result<Option<Vec<u8>>, Error> {
        let url = format!("{}/{path}", self.base);
        let failed = |reason: String| Error::AuditFetch {
            url: format!("{}/{path}", self.name),
            reason,
        };
        let sent = match &self.credentials {
            Some(c) => {
                self.client
                    .get(&url)
                    .basic_auth(&c.login, Some(&c.password))
                    .send()
                    .await
            }
            None => self.auth.send(&url, || self.client.get(&url)).await,
        };
        let resp = sent.map_err(|e| failed(modgate_net::describe(e)))?;
        let status = resp.status();
        if status.as_u16() == 404 || status.as_u16() == 410 {
            return Ok(None);
        }
        if !status.is_success() {
            let said = modgate_net::first_line(resp).await;
            let hint = match status {
                reqwest::StatusCode::UNAUTHORIZED if self.credentials.is_none() => {
                    self.auth.unauthorized_hint()
                }
                _ => String::new(),
            };
            return Err(failed(format!("{status}{said}{hint}")));
        }
        let body = resp
            .bytes()
            .await
            .map_err(|e| failed(modgate_net::describe(e)))?;
        Ok(Some(body.to_vec()))
    }
}

impl Report {
    /// Whether a finding of one of `kinds` is in the report.
    pub fn fails(&self, kinds: &[Kind]) -> bool {
        self.findings.iter().any(|f| kinds.contains(&f.kind))
    }

    /// The report as SARIF 2.1.0, for code-scanning tools: one result per
    /// finding, located at `go_mod` (the path scanners show).
    pub fn sarif(&self, go_mod: &str) -> serde_json::Value {
        use serde_json::json;
        let rule_of = |f: &Finding| match (&f.kind, &f.id) {
            (Kind::Vuln, Some(id)) => id.clone(),
            (kind, _) => kind.as_str().to_owned(),
        };
        let mut rules: Vec<serde_json::Value> = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for f in &self.findings {
            let id = rule_of(f);
            if seen.insert(id.clone()) {
                let text = match f.kind {
                    Kind::Vuln => f.detail.clone(),
                    Kind::Retracted => "retracted module version".to_owned(),
                    Kind::Deprecated => "deprecated module".to_owned(),
                    Kind::Stale => "module without a recent release".to_owned(),
                    Kind::Major => "newer major version available".to_owned(),
                };
                let mut rule = json!({ "id": id, "shortDescription": { "text": text } });
                if f.kind == Kind::Vuln {
                    rule["helpUri"] = json!(format!("https://pkg.go.dev/vuln/{id}"));
                }
                rules.push(rule);
            }
        }
        let results: Vec<serde_json::Value> = self
            .findings
            .iter()
            .map(|f| {
                let level = match f.kind {
                    Kind::Vuln => "error",
                    Kind::Retracted => "warning",
                    Kind::Deprecated | Kind::Stale | Kind::Major => "note",
                };
                let fix = f
                    .fixed
                    .as_ref()
                    .map(|v| format!("; fixed in {v}"))
                    .unwrap_or_default();
                json!({
                    "ruleId": rule_of(f),
                    "level": level,
                    "message": { "text": format!("{}@{} is {}: {}{fix}", f.module, f.version, f.kind.as_str(), f.detail) },
                    "locations": [{ "physicalLocation": { "artifactLocation": { "uri": go_mod } } }],
                })
            })
            .collect();
        json!({
            "version": "2.1.0",
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "runs": [{
                "tool": { "driver": {
                    "name": "modgate audit",
                    "informationUri": "https://go.dev/ref/mod",
                    "rules": rules,
                } },
                "results": results,
                "properties": { "note": self.note },
            }],
        })
    }

    /// The report as a table, a summary line and the module-level notice.
    pub fn table(&self) -> String {
        let mut rows = vec![[
            "MODULE".to_owned(),
            "VERSION".to_owned(),
            "FINDING".to_owned(),
            "DETAIL".to_owned(),
        ]];
        for f in &self.findings {
            let detail = match f.kind {
                Kind::Vuln => {
                    let id = f.id.as_deref().unwrap_or_default();
                    let aliases = if f.aliases.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", f.aliases.join(", "))
                    };
                    let fix = match &f.fixed {
                        Some(v) => format!("; fixed in {v}"),
                        None => "; no fixed version".to_owned(),
                    };
                    format!("{id}{aliases}: {}{fix}", f.detail)
                }
                Kind::Retracted => format!("retracted: {}", f.detail),
                Kind::Deprecated => format!("deprecated: {}", f.detail),
                Kind::Stale => format!("stale: {}", f.detail),
                Kind::Major => format!("newer major: {}", f.detail),
            };
            rows.push([
                f.module.clone(),
                f.version.clone(),
                f.kind.as_str().to_owned(),
                detail,
            ]);
        }
        let mut out = String::new();
        if !self.findings.is_empty() {
            let widths: Vec<usize> = (0..3)
                .map(|i| rows.iter().map(|r| r[i].len()).max().unwrap_or(0))
                .collect();
            for r in &rows {
                out.push_str(&format!(
                    "{:w0$}  {:w1$}  {:w2$}  {}\n",
                    r[0],
                    r[1],
                    r[2],
                    r[3],
                    w0 = widths[0],
                    w1 = widths[1],
                    w2 = widths[2]
                ));
            }
        }
        for u in &self.unchecked {
            out.push_str(&format!("not checked: {u}\n"));
        }
        let count = |k: Kind| self.findings.iter().filter(|f| f.kind == k).count();
        let mut stale = match count(Kind::Stale) {
            0 => String::new(),
            n => format!(", {n} stale"),
        };
        if count(Kind::Major) > 0 {
            stale.push_str(&format!(
                ", {} with a newer major version",
                count(Kind::Major)
            ));
        }
        out.push_str(&format!(
            "{} modules in the build list of {}: {} vulnerable, {} retracted, {} deprecated{stale}\n",
            self.build_list.len(),
            if self.module.is_empty() {
                "go.sum"
            } else {
                &self.module
            },
            count(Kind::Vuln),
            count(Kind::Retracted),
            count(Kind::Deprecated)
        ));
        out.push_str(&format!("note: {}\n", self.note));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_sum_gives_the_highest_version_of_each_module() {
        let text = "example.com/a v1.0.0/go.mod h1:x=\nexample.com/a v1.2.0 h1:y=\nexample.com/a v1.2.0/go.mod h1:z=\nexample.com/b v0.1.0/go.mod h1:w=\n";
        let list: Vec<String> = sum_build_list(text)
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(list, ["example.com/a@v1.2.0", "example.com/b@v0.1.0"]);
        assert!(sum_build_list("example.com/a\n").is_err());
        assert!(sum_build_list("example.com/a 1.0 h1:x=\n").is_err());
    }

    #[test]
    fn fail_on_kinds() {
        assert_eq!(Kind::parse("vuln"), Some(Kind::Vuln));
        assert_eq!(Kind::parse("retracted"), Some(Kind::Retracted));
        assert_eq!(Kind::parse("deprecated"), Some(Kind::Deprecated));
        assert_eq!(Kind::parse("stale"), Some(Kind::Stale));
        assert_eq!(Kind::parse("old"), None);
    }
}
