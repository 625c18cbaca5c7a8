//! `?go-get=1` discovery (`repoRootForImportDynamic` in
//! cmd/go/internal/vcs/vcs.go, and cmd/go/internal/web for the HTTP side).

use std::sync::Arc;
use std::time::Duration;

use modgate_net::DestinationPolicy;

use super::meta::{self, MatchError, MetaImport};
use super::{RepoRoot, Resolver, Vcs, is_scheme, redact};

/// Go gives the https try of an insecure path this long ("impatient").
const INSECURE_HTTPS_TIMEOUT: Duration = Duration::from_secs(5);
/// More than any real `<head>`; the rest of a page is not read.
const MAX_PAGE: usize = 1 << 20;

/// The verifying client, which refuses https → http redirects as go does,
/// and the one for the https try of insecure paths; both keep to `policy`.
pub(super) fn clients(
    policy: &Arc<DestinationPolicy>,
    timeout: Duration,
    proxy: Option<&str>,
) -> Result<(reqwest::Client, reqwest::Client), reqwest::Error> {
    let builder = |timeout, downgrade| {
        let builder = policy.client_builder(downgrade).timeout(timeout);
        match proxy {
            Some(proxy) => Ok(builder.proxy(reqwest::Proxy::all(proxy)?)),
            None => Ok::<_, reqwest::Error>(builder),
        }
    };
    let secure = builder(timeout, false)?.build()?;
    let insecure = builder(timeout.min(INSECURE_HTTPS_TIMEOUT), true)?
        .tls_danger_accept_invalid_certs(true)
        .build()?;
    Ok((secure, insecure))
}

pub(super) use modgate_net::describe;

/// A `?go-get=1` page, read as far as discovery needs.
struct Page {
    /// The URL asked for (before redirects), as go reports it.
    url: String,
    status: reqwest::StatusCode,
    imports: Vec<MetaImport>,
}

impl Page {
    /// Go's `web.HTTPError` text, for a page that is not 200 OK, without
    /// the body's reason go adds: what a host the request chose says is
    /// not relayed (it could be an internal service's answer), only logged.
    fn error(&self) -> Option<String> {
        (self.status != reqwest::StatusCode::OK)
            .then(|| format!("reading {}: {}", self.url, self.status))
    }
}

impl Resolver {
    /// The repository of `path` by its go-import meta tags; the error is
    /// the reason, as go words it.
    pub(super) async fn discover(&self, path: &str) -> Result<RepoRoot, String> {
        let insecure = modgate_module::pattern::match_prefix_patterns(&self.insecure, path);
        let page = self.page(path, insecure).await.map_err(|e| {
            let schemes = if insecure { "http/https" } else { "https" };
            format!("{schemes} fetch: {e}")
        })?;
        if page.imports.is_empty()
            && let Some(e) = page.error()
        {
            // A 404 page may carry the tags, so the status only counts without them.
            return Err(e);
        }
        let chosen = meta::match_go_import(&page.imports, path).map_err(|e| match e {
            MatchError::Mismatch { .. } => {
                format!("parse {}: no go-import meta tags ({e})", page.url)
            }
            MatchError::Multiple { .. } => format!("parse {}: {e}", page.url),
        })?;
        // A page for uni.edu/bob/project may claim all of uni.edu: believe
        // it only if uni.edu's own page says the same.
        if chosen.prefix != path {
            let prefix = &chosen.prefix;
            let own = self
                .page(prefix, insecure)
                .await
                .map_err(|e| format!("fetching {prefix}: {e}"))?;
            if own.imports.is_empty() {
                let why = own
                    .error()
                    .unwrap_or_else(|| format!("no go-import meta tag found in {}", own.url));
                return Err(format!("fetching {prefix}: {why}"));
            }
            if meta::match_go_import(&own.imports, path).ok() != Some(chosen) {
                return Err(format!(
                    "{} and {} disagree about go-import for {prefix}",
                    page.url, own.url
                ));
            }
        }
        validate_repo_root(&chosen.repo_root).map_err(|e| {
            let root = redact(&chosen.repo_root);
            format!("{}: invalid repo root {root:?}: {e}", page.url)
        })?;
        if !chosen.subdir.is_empty() {
            meta::check_subdir(&chosen.subdir).map_err(|e| {
                format!(
                    "{}: invalid subdirectory {:?}: {e}",
                    page.url, chosen.subdir
                )
            })?;
        }
        let vcs = match chosen.vcs.as_str() {
            "mod" => Vcs::ModProxy,
            cmd => Vcs::by_cmd(cmd).ok_or_else(|| format!("{}: unknown vcs {cmd:?}", page.url))?,
        };
        // A page on a host the operator named speaks for the operator.
        let host = path.split('/').next().unwrap_or_default();
        Ok(RepoRoot {
            root: chosen.prefix.clone(),
            url: chosen.repo_root.clone(),
            subdir: chosen.subdir.clone(),
            vcs,
            guarded: !self.policy.host_allowed(host),
        })
    }

    /// The go-get page of `import_path` over https, or for an insecure
    /// path, https without certificate checks and then plain http.
    async fn page(&self, import_path: &str, insecure: bool) -> Result<Page, String> {
        let target = url_for_import_path(import_path)?;
        let https = format!("https://{target}");
        if !insecure {
            return self.get(&self.client, https).await;
        }
        match self.get(&self.insecure_client, https).await {
            Ok(page) => Ok(page),
            Err(https_err) => self
                .get(&self.client, format!("http://{target}"))
                .await
                .map_err(|http_err| format!("{https_err}; {http_err}")),
        }
    }

    async fn get(&self, client: &reqwest::Client, url: String) -> Result<Page, String> {
        let fail = |e| format!("GET {url}: {}", describe(e));
        let parsed = reqwest::Url::parse(&url).map_err(|e| format!("GET {url}: {e}"))?;
        self.policy
            .check_url(&parsed)
            .map_err(|e| format!("GET {url}: {e}"))?;
        let mut resp = client.get(parsed).send().await.map_err(fail)?;
        let status = resp.status();
        let plain = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("text/plain")
            });
        let mut body = Vec::new();
        let mut broken = None;
        while body.len() < MAX_PAGE {
            match resp.chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) => {
                    broken = Some(e);
                    break;
                }
            }
        }
        let text = String::from_utf8_lossy(&body);
        let imports = meta::parse(&text);
        // Tags read before the body broke off are as good as go's, which
        // stops reading at </head>.
        if imports.is_empty()
            && let Some(e) = broken
        {
            return Err(fail(e));
        }
        if !status.is_success()
            && plain
            && let Some(line) = text.lines().map(str::trim).find(|l| !l.is_empty())
        {
            let line: String = line.chars().take(200).collect();
            tracing::info!(url = %redact(&url), %status, response = ?modgate_redact::redact_text(&line), "go-get page");
        }
        Ok(Page {
            url,
            status,
            imports,
        })
    }
}

/// `host/path?go-get=1`, without the scheme (go's `urlForImportPath`).
fn url_for_import_path(import_path: &str) -> Result<String, String> {
    let (host, path) = import_path.split_at(import_path.find('/').unwrap_or(import_path.len()));
    if !host.contains('.') {
        return Err(format!(
            "import path {import_path:?} does not begin with hostname"
        ));
    }
    let path = if path.is_empty() { "/" } else { path };
    Ok(format!("{host}{path}?go-get=1"))
}

/// Go's `validateRepoRoot`: a URL with a scheme, not `file`.
fn validate_repo_root(repo_root: &str) -> Result<(), &'static str> {
    if repo_root.contains(|c: char| c.is_ascii_control()) {
        return Err("invalid control character in URL");
    }
    match repo_root.split_once(':') {
        Some(("", _)) => Err("missing protocol scheme"),
        Some((scheme, _)) if is_scheme(scheme) => {
            if scheme.eq_ignore_ascii_case("file") {
                Err("file scheme disallowed")
            } else {
                Ok(())
            }
        }
        _ => Err("no scheme"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// TestValidateRepoRoot (vcs_test.go).
    #[test]
    fn go_validate_repo_root() {
        let cases = [
            ("", false),
            ("http://", true),
            ("git+ssh://", true),
            ("http#://", false),
            ("-config", false),
            ("-config://", false),
            ("file:///srv/x.git", false),
            ("FILE:///srv/x.git", false),
            ("git@github.com:x/y", false),
            ("https://example.com/x\u{7f}", false),
        ];
        for (root, ok) in cases {
            assert_eq!(validate_repo_root(root).is_ok(), ok, "{root:?}");
        }
    }

    #[test]
    fn discovery_urls() {
        assert_eq!(
            url_for_import_path("corp.example").unwrap(),
            "corp.example/?go-get=1"
        );
        assert_eq!(
            url_for_import_path("corp.example/a/b").unwrap(),
            "corp.example/a/b?go-get=1"
        );
        assert!(url_for_import_path("").is_err());
        assert!(url_for_import_path("localhost/x").is_err());
    }
}
