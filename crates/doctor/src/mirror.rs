//! The check of one GOPROXY entry: probe `<proxy>/<module>/@v/list` layer by
//! layer and say which layer failed and what to run about it.

use modgate_redact::redact_url;

use super::check::{Category, Check, Status};
use super::config::{EntryKind, ProxyEntry};
use super::goenv::find_in_path;
use super::probe::{Outcome, Prober, show};

/// A certificate expiring sooner than this is worth a warning.
const EXPIRY_WARNING_SECS: i64 = 14 * 24 * 3600;

/// The version-list URL of `module` on the proxy at `base`.
pub fn list_url(base: &str, escaped_module: &str) -> String {
    // The query (some private proxies take a token there) goes after the path.
    let (base, query) = match base.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (base, None),
    };
    let mut url = format!("{}/{escaped_module}/@v/list", base.trim_end_matches('/'));
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    url
}

/// Probes one entry. Fixes may hold the placeholders below, which the
/// caller fills in once every entry's health is known.
pub async fn check_entry(
    prober: &Prober,
    entry: &ProxyEntry,
    module: &str,
    escaped: &str,
) -> (Check, Option<Outcome>) {
    match &entry.kind {
        EntryKind::Direct => (check_direct(), None),
        EntryKind::Off => (
            Check::warn(
                "off",
                Category::Config,
                "off: modules not found before this entry are not downloaded at all",
                "put the proxy modules should come from before off: go env -w GOPROXY=URL,off",
            ),
            None,
        ),
        EntryKind::File(path) => (check_file(&entry.url, path, module), None),
        EntryKind::Http => {
            let outcome = prober.get(&list_url(&entry.url, escaped)).await;
            (judge(&entry.url, module, &outcome, prober), Some(outcome))
        }
    }
}

fn check_direct() -> Check {
    match find_in_path("git") {
        Some(git) => Check::ok(
            "direct",
            format!(
                "direct: modules not found earlier are fetched from version control ({})",
                git.display()
            ),
        ),
        None => Check::warn(
            "direct",
            Category::Config,
            "direct is in GOPROXY but git is not on PATH: modules reached directly cannot be fetched",
            "sudo apt-get install git",
        ),
    }
}

fn check_file(url: &str, path: &std::path::Path, module: &str) -> Check {
    if !path.is_dir() {
        return Check::fail(
            redact_url(url),
            Category::Config,
            format!("{} is not a directory", path.display()),
            format!(
                "point the file:// entry at an existing GOPROXY tree (e.g. one made by modgate \
                 prefetch --storage), or remove it: go env GOPROXY shows {}",
                redact_url(url)
            ),
        );
    }
    let list = path
        .join(modgate_module::escape::escape_path(module).unwrap_or_default())
        .join("@v")
        .join("list");
    Check::ok(
        redact_url(url),
        if list.is_file() {
            format!("local tree {}: has {module}", path.display())
        } else {
            format!(
                "local tree {}: readable (no {module} in it)",
                path.display()
            )
        },
    )
}

/// The check for a probed entry, from its outcome.
pub fn judge(url: &str, module: &str, outcome: &Outcome, prober: &Prober) -> Check {
    let target = redact_url(url);
    let via = outcome
        .via
        .as_ref()
        .map(|p| format!(" (through proxy {p})"))
        .unwrap_or_default();
    let mut check = match &outcome.result {
        Err(f) => Check::fail(
            target.clone(),
            f.category,
            format!("{}{via}", f.detail),
            fix_for(f.category, url, prober),
        ),
        Ok(answer) => {
            let tls = outcome
                .tls
                .as_ref()
                .map(|t| format!(", {}", t.version))
                .unwrap_or_default();
            let redirected = answer
                .redirects
                .last()
                .map(|r| format!(" (redirected to {r})"))
                .unwrap_or_default();
            match answer.status {
                200..=299 if answer.body.trim_ascii_start().starts_with(b"<") => Check::fail(
                    target.clone(),
                    Category::HttpStatus,
                    format!(
                        "answered {} with an HTML page instead of a version list{redirected}{via}: \
                         a web server, portal or login page, not a GOPROXY",
                        answer.status
                    ),
                    fix_for(Category::HttpStatus, url, prober),
                ),
                200..=299 => {
                    let versions = String::from_utf8_lossy(&answer.body)
                        .lines()
                        .filter(|l| !l.trim().is_empty())
                        .count();
                    Check::ok(
                        target.clone(),
                        format!(
                            "{} {}: {versions} versions of {module}{tls}{redirected}{via}",
                            answer.status, answer.reason
                        ),
                    )
                }
                // The proxy works; it just does not have the probe module,
                // and the go command moves on to the next entry.
                404 | 410 => Check::ok(
                    target.clone(),
                    format!(
                        "reachable, speaks GOPROXY: {} {} for {module} (the go command moves on to \
                         the next entry){tls}{redirected}{via}",
                        answer.status, answer.reason
                    ),
                ),
                status => {
                    let said = String::from_utf8_lossy(&answer.body)
                        .lines()
                        .find(|l| !l.trim().is_empty())
                        .map(|l| format!(": {}", l.chars().take(160).collect::<String>()))
                        .unwrap_or_default();
                    Check::fail(
                        target.clone(),
                        Category::HttpStatus,
                        format!("{status} {}{said}{redirected}{via}", answer.reason),
                        status_fix(status, url, prober),
                    )
                }
            }
        }
    };
    if check.status == Status::Ok
        && let Some(left) = outcome.tls.as_ref().and_then(|t| t.leaf_expires_in)
        && left < EXPIRY_WARNING_SECS
    {
        check = Check::warn(
            target,
            Category::TlsCertificate,
            format!(
                "{}; but its certificate expires in {} days",
                check.detail,
                left / 86_400
            ),
            "tell the mirror's operators to renew the certificate, or list another mirror after it with '|'",
        );
    }
    check.timings = Some(outcome.timings.clone());
    check.addresses.clone_from(&outcome.addresses);
    check.tls.clone_from(&outcome.tls);
    check
}

fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| redact_url(url))
}

/// The concrete next step per failing layer. Fixes that replace GOPROXY are
/// completed by the caller, which knows the healthy entries.
fn fix_for(category: Category, url: &str, prober: &Prober) -> String {
    let host = host_of(url);
    match category {
        Category::Dns => {
            format!("check the name and the resolver: getent hosts {host}; {ALTERNATIVE}")
        }
        Category::ConnectRefused => {
            format!("nothing listens there: check the port and that the proxy runs; {ALTERNATIVE}")
        }
        Category::ConnectTimeout => format!(
            "a firewall drops the connection or the host is down; if this network needs an \
             HTTP proxy, set it: export HTTPS_PROXY=http://PROXY:PORT; {ALTERNATIVE}"
        ),
        Category::TlsHandshake => {
            if url.starts_with("https://") {
                format!("if {host} speaks plain HTTP there: {PLAIN_HTTP}; otherwise {ALTERNATIVE}")
            } else {
                ALTERNATIVE.to_owned()
            }
        }
        Category::TlsCertificate => format!(
            "trust the CA that signed {host}'s certificate: sudo cp ca.crt \
             /usr/local/share/ca-certificates/{host}.crt && sudo update-ca-certificates \
             (or export SSL_CERT_FILE=/path/to/ca.pem); {ALTERNATIVE}"
        ),
        Category::HttpTimeout => format!(
            "{host} accepts connections but does not answer within {}: it is overloaded or \
             stuck; {ALTERNATIVE}",
            show(prober.timeout)
        ),
        Category::ProxyEnv => {
            "fix or unset the proxy variable (unset HTTPS_PROXY HTTP_PROXY), or exempt the \
             mirror: export NO_PROXY=<host>"
                .to_owned()
        }
        _ => ALTERNATIVE.to_owned(),
    }
}

fn status_fix(status: u16, url: &str, prober: &Prober) -> String {
    let host = host_of(url);
    match status {
        401 | 403 | 407 => format!(
            "the mirror refuses this client: if it needs credentials add them to ~/.netrc \
             (machine {host} login USER password TOKEN, chmod 600 ~/.netrc); {ALTERNATIVE}"
        ),
        429 => format!("the mirror rate-limits this client; {ALTERNATIVE}"),
        500..=599 => format!("the mirror (or its own upstream) is failing; {ALTERNATIVE}"),
        _ => fix_for(Category::HttpStatus, url, prober),
    }
}

/// Placeholder in fixes, replaced once every probe is done by the way
/// around a failing entry: for a public mirror, dropping it (the command
/// keeping the healthy entries and the organisation's own); for the
/// organisation's own proxy, reaching it or asking its operators.
pub const ALTERNATIVE: &str = "{WAY_AROUND}";
/// Placeholder in fixes, replaced by the user's GOPROXY with this entry's
/// https:// turned into http://.
pub const PLAIN_HTTP: &str = "{GOPROXY_WITH_PLAIN_HTTP}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_urls_keep_queries_after_the_path() {
        assert_eq!(
            list_url("https://goproxy.corp/", "golang.org/x/text"),
            "https://goproxy.corp/golang.org/x/text/@v/list"
        );
        assert_eq!(
            list_url(
                "https://goproxy.corp/go?token=1",
                "github.com/!burnt!sushi/toml"
            ),
            "https://goproxy.corp/go/github.com/!burnt!sushi/toml/@v/list?token=1"
        );
    }
}
