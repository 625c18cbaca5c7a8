//! Checks of the Go settings themselves, before any network: GOPROXY syntax
//! and fail-over, GOSUMDB, private patterns, GOVCS, GOFLAGS, GO111MODULE.

use std::path::PathBuf;

use modgate_module::pattern::{check_glob, match_prefix_patterns};
use modgate_redact::redact_url;
use modgate_sumdb::{SUM_GOLANG_ORG_KEY, SumdbSpec};

use super::check::{Category, Check};
use super::goenv::GoEnv;

/// A mirror set that works from most networks, suggested when none of the
/// user's own entries does, and only when those are public mirrors too.
pub const FALLBACK_MIRRORS: &str = "https://goproxy.io|https://proxy.golang.org,direct";

/// Hosts of public module mirrors. Advice names public mirrors only where
/// the configuration already uses one: a proxy of the user's organisation
/// is never to be replaced by them (they lack its private modules, and the
/// network may forbid them).
const PUBLIC_MIRROR_HOSTS: &[&str] = &[
    "proxy.golang.org",
    "goproxy.io",
    "goproxy.cn",
    "proxy.golang.com.cn",
    "goproxy.dev",
    "mirrors.aliyun.com",
    "mirrors.tencent.com",
    "repo.huaweicloud.com",
];

/// Whether `url` is one of the public module mirrors.
pub fn is_public_mirror(url: &str) -> bool {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .is_some_and(|h| PUBLIC_MIRROR_HOSTS.contains(&h.as_str()))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    Http,
    File(PathBuf),
    Direct,
    Off,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyEntry {
    /// The entry as written (with the go command's implicit `https://`).
    pub url: String,
    pub kind: EntryKind,
    /// Followed by `|`: the go command moves on after any error, not only
    /// after 404/410.
    pub fall_through: bool,
}

/// GOPROXY parsed the way the go command parses it (`modfetch.proxyList`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyList {
    /// The entries the go command uses.
    pub entries: Vec<ProxyEntry>,
    /// Entries after `direct` or `off`, which the go command never reaches.
    pub ignored: Vec<String>,
    /// Entries the go command rejects.
    pub errors: Vec<String>,
}

impl ProxyList {
    pub fn parse(goproxy: &str) -> Self {
        use modgate_module::goproxy::{Item, Proxy, parse_entries};
        let mut list = Self::default();
        for item in parse_entries(goproxy) {
            let entry = match item {
                Item::Ignored(shown) => {
                    list.ignored.push(shown);
                    continue;
                }
                Item::Entry(Err(e)) => {
                    list.errors.push(e.to_string());
                    continue;
                }
                Item::Entry(Ok(e)) => e,
            };
            let (url, kind) = match entry.proxy {
                Proxy::Http(u) => (u, EntryKind::Http),
                Proxy::File(p) => (format!("file://{}", p.display()), EntryKind::File(p)),
                Proxy::Direct => ("direct".to_owned(), EntryKind::Direct),
                Proxy::Off => ("off".to_owned(), EntryKind::Off),
            };
            list.entries.push(ProxyEntry {
                url,
                kind,
                fall_through: entry.fall_through_on_error,
            });
        }
        list
    }

    pub fn proxies(&self) -> impl Iterator<Item = &ProxyEntry> {
        self.entries
            .iter()
            .filter(|e| matches!(e.kind, EntryKind::Http | EntryKind::File(_)))
    }

    pub fn has_direct(&self) -> bool {
        self.entries.iter().any(|e| e.kind == EntryKind::Direct)
    }

    /// HTTP entries that are not public mirrors: the organisation's own.
    pub fn own_proxies(&self) -> impl Iterator<Item = &ProxyEntry> {
        self.entries
            .iter()
            .filter(|e| e.kind == EntryKind::Http && !is_public_mirror(&e.url))
    }

    /// Public mirrors may be suggested: the list uses one, and no proxy of
    /// the organisation's.
    pub fn public_advice_fits(&self) -> bool {
        self.proxies().any(|e| is_public_mirror(&e.url)) && self.own_proxies().next().is_none()
    }
}

/// A GOPROXY value: mirrors joined by `|` (so a timeout fails over), then
/// `,direct` when the user had direct.
pub fn goproxy_value<'a>(mirrors: impl IntoIterator<Item = &'a str>, direct: bool) -> String {
    let mut value = mirrors.into_iter().collect::<Vec<_>>().join("|");
    if direct {
        if !value.is_empty() {
            value.push(',');
        }
        value.push_str("direct");
    }
    value
}

pub fn goproxy_command(value: &str) -> String {
    format!("go env -w GOPROXY={value}")
}

pub fn check_goproxy(env: &GoEnv) -> Vec<Check> {
    let raw = env.get("GOPROXY");
    let list = ProxyList::parse(raw);
    let mut checks = Vec::new();
    let healthy_syntax: Vec<&str> = list.proxies().map(|e| e.url.as_str()).collect();
    // Without a usable entry: the go command's default, not a mirror of
    // modgate's choosing.
    let suggested = if healthy_syntax.is_empty() {
        "go env -u GOPROXY".to_owned()
    } else {
        goproxy_command(&goproxy_value(
            healthy_syntax.iter().copied(),
            list.has_direct(),
        ))
    };
    for error in &list.errors {
        checks.push(Check::fail(
            "GOPROXY",
            Category::Config,
            format!("the go command rejects GOPROXY: {error}"),
            suggested.clone(),
        ));
    }
    if list.entries.is_empty() && list.errors.is_empty() {
        checks.push(Check::fail(
            "GOPROXY",
            Category::Config,
            "GOPROXY has no entries",
            "go env -u GOPROXY  (the go command's default), or name your proxy: go env -w GOPROXY=URL",
        ));
    }
    if list
        .entries
        .first()
        .is_some_and(|e| e.kind == EntryKind::Off)
    {
        checks.push(Check::warn(
            "GOPROXY",
            Category::Config,
            "GOPROXY=off: the go command downloads nothing, only the module cache is used",
            "to download, name the proxy modules come from: go env -w GOPROXY=URL (your \
             organisation's, or go env -u GOPROXY for the go command's default)",
        ));
    }
    if !list.ignored.is_empty() {
        checks.push(Check::warn(
            "GOPROXY",
            Category::Config,
            format!(
                "entries after direct/off are never used: {}",
                list.ignored.join(", ")
            ),
            suggested.clone(),
        ));
    }
    let comma_between_mirrors = list.entries.windows(2).any(|w| {
        !w[0].fall_through
            && matches!(w[0].kind, EntryKind::Http | EntryKind::File(_))
            && matches!(w[1].kind, EntryKind::Http | EntryKind::File(_))
    });
    if comma_between_mirrors {
        checks.push(Check::warn(
            "GOPROXY",
            Category::Config,
            "mirrors are joined by ',': the go command moves on only after 404/410, so a \
             mirror that times out or fails stops the download; '|' fails over on any error",
            suggested.clone(),
        ));
    }
    if checks.is_empty() {
        let shown: Vec<String> = list.entries.iter().map(|e| redact_url(&e.url)).collect();
        checks.push(Check::ok(
            "GOPROXY",
            format!("{} (from {})", shown.join(" → "), env.source),
        ));
    }
    checks
}

/// The checksum database named by GOSUMDB, when it is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SumdbTarget {
    pub name: String,
    /// Verifier key `name+hash+base64`.
    pub key: String,
    /// Base URL for direct access.
    pub url: String,
}

pub fn check_gosumdb(env: &GoEnv) -> (Check, Option<SumdbTarget>) {
    let raw = env.get("GOSUMDB");
    match raw.parse::<SumdbSpec>() {
        Ok(SumdbSpec::Off) => (
            Check::warn(
                "GOSUMDB",
                Category::Config,
                "GOSUMDB=off: downloaded modules are not checked against the checksum \
                 database, so a tampered mirror goes unnoticed (use GOPRIVATE/GONOSUMDB for \
                 private modules instead)",
                "go env -w GOSUMDB=sum.golang.org",
            ),
            None,
        ),
        Ok(SumdbSpec::Database { key, url }) => {
            let name = key.split('+').next().unwrap_or_default().to_owned();
            let key = if name == "sum.golang.org" {
                SUM_GOLANG_ORG_KEY.to_owned()
            } else {
                key
            };
            let url = url
                .map(|u| {
                    if u.contains("://") {
                        u
                    } else {
                        format!("https://{u}")
                    }
                })
                .unwrap_or_else(|| format!("https://{name}"));
            (
                Check::ok("GOSUMDB", format!("checksum database {name}")),
                Some(SumdbTarget { name, key, url }),
            )
        }
        Err(e) => (
            Check::fail(
                "GOSUMDB",
                Category::Config,
                format!("the go command rejects GOSUMDB: {e}"),
                "go env -w GOSUMDB=sum.golang.org",
            ),
            None,
        ),
    }
}

/// Problems of one pattern list (GOPRIVATE and friends).
pub fn check_patterns(var: &str, value: &str) -> Vec<Check> {
    let mut checks = Vec::new();
    let mut cleaned = Vec::new();
    let mut problems = Vec::new();
    let mut fatal = false;
    for raw in value.split(',') {
        let pat = raw.trim();
        if pat.is_empty() {
            continue;
        }
        if pat != raw {
            problems.push(format!(
                "{raw:?} has spaces, which the go command keeps: it matches no module path"
            ));
        }
        let mut fixed = pat.to_owned();
        if let Some((_, rest)) = pat.split_once("://") {
            // Patterns are module path prefixes; a URL never matches.
            problems.push(format!(
                "{pat:?} is a URL: patterns are module path prefixes"
            ));
            fixed = rest.split('@').next_back().unwrap_or(rest).to_owned();
            fatal = true;
        }
        if let Err(e) = check_glob(&fixed) {
            problems.push(e);
            fatal = true;
            continue;
        }
        if fixed == "*" || fixed == "*/*" {
            problems.push(format!(
                "{pat:?} matches every module: all of them bypass the proxy and the checksum database"
            ));
        }
        let fixed = fixed.trim_end_matches('/').to_owned();
        if !fixed.is_empty() {
            cleaned.push(fixed);
        }
    }
    if problems.is_empty() {
        if !value.trim().is_empty() {
            checks.push(Check::ok(var, format!("{var}={value}")));
        }
        return checks;
    }
    let fix = format!("go env -w {var}={}", cleaned.join(","));
    let detail = problems.join("; ");
    checks.push(if fatal {
        Check::fail(var, Category::Config, detail, fix)
    } else {
        Check::warn(var, Category::Config, detail, fix)
    });
    checks
}

/// Every pattern check plus their consistency: modules that skip the proxy
/// but are still looked up in the public checksum database.
pub fn check_private(env: &GoEnv, sumdb_on: bool) -> Vec<Check> {
    let private = env.get("GOPRIVATE");
    let mut checks = check_patterns("GOPRIVATE", private);
    // GONOPROXY and GONOSUMDB default to GOPRIVATE: check them only when
    // they say something else.
    for var in ["GONOPROXY", "GONOSUMDB"] {
        if env.get(var) != private {
            checks.extend(check_patterns(var, env.get(var)));
        }
    }
    let nosumdb = env.get("GONOSUMDB");
    if sumdb_on {
        let leaking: Vec<&str> = env
            .get("GONOPROXY")
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty() && *p != "off" && *p != "none")
            .filter(|p| {
                !match_prefix_patterns(nosumdb, p) && !nosumdb.split(',').any(|q| q.trim() == *p)
            })
            .collect();
        if !leaking.is_empty() {
            let mut all: Vec<&str> = nosumdb.split(',').filter(|p| !p.is_empty()).collect();
            all.extend(&leaking);
            checks.push(Check::warn(
                "GONOSUMDB",
                Category::Config,
                format!(
                    "{} skip the proxy (GONOPROXY) but are still looked up in the public \
                     checksum database, which cannot see private modules and learns their paths",
                    leaking.join(", ")
                ),
                format!("go env -w GONOSUMDB={}", all.join(",")),
            ));
        }
    }
    let insecure = env.get("GOINSECURE");
    if !insecure.trim().is_empty() {
        let mut c = check_patterns("GOINSECURE", insecure);
        if c.iter().all(|c| c.status == super::check::Status::Ok) {
            c = vec![Check::warn(
                "GOINSECURE",
                Category::Config,
                format!(
                    "GOINSECURE={insecure}: these modules are fetched over plain HTTP or with \
                     unverified certificates"
                ),
                "install the server's CA certificate instead, then: go env -u GOINSECURE",
            )];
        }
        checks.extend(c);
    }
    checks
}

/// GOVCS, with the go command's own error messages (`vcs.parseGOVCS`).
pub fn check_govcs(value: &str) -> Option<Check> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    let fail = |detail: String| {
        Some(Check::fail(
            "GOVCS",
            Category::Config,
            detail,
            "go env -w GOVCS=private:all,public:git|hg",
        ))
    };
    let mut seen = Vec::new();
    for item in value.split(',') {
        let item = item.trim();
        if item.is_empty() {
            return fail("empty entry in GOVCS".to_owned());
        }
        let Some((pattern, list)) = item.split_once(':') else {
            return fail(format!(
                "malformed entry in GOVCS (missing colon): {item:?}"
            ));
        };
        let (pattern, list) = (pattern.trim(), list.trim());
        if pattern.is_empty() {
            return fail(format!("empty pattern in GOVCS: {item:?}"));
        }
        if list.is_empty() {
            return fail(format!("empty VCS list in GOVCS: {item:?}"));
        }
        if pattern.starts_with('.') {
            return fail(format!(
                "relative pattern not allowed in GOVCS: {pattern:?}"
            ));
        }
        if seen.contains(&pattern) {
            return fail(format!("unreachable pattern in GOVCS: {item:?}"));
        }
        seen.push(pattern);
        for vcs in list.split('|').map(str::trim) {
            if vcs.is_empty() {
                return fail(format!("empty VCS name in GOVCS: {item:?}"));
            }
            if !["git", "hg", "svn", "bzr", "fossil", "all", "off"].contains(&vcs) {
                return fail(format!(
                    "unknown version control system {vcs:?} in GOVCS: want git, hg, svn, bzr, fossil, all or off"
                ));
            }
        }
    }
    Some(Check::ok("GOVCS", format!("GOVCS={value}")))
}

/// GOFLAGS: space-separated flags the go command applies to every command.
pub fn check_goflags(value: &str) -> Option<Check> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    for flag in value.split_whitespace() {
        if !flag.starts_with('-') {
            return Some(Check::fail(
                "GOFLAGS",
                Category::Config,
                format!("go: parsing $GOFLAGS: non-flag {flag:?}"),
                "go env -u GOFLAGS",
            ));
        }
        let name = flag.trim_start_matches('-');
        if name == "insecure" || name.starts_with("insecure=") {
            return Some(Check::fail(
                "GOFLAGS",
                Category::Config,
                "-insecure is no longer supported by the go command",
                "go env -u GOFLAGS && go env -w GOINSECURE=your.host",
            ));
        }
        if let Some(mode) = name.strip_prefix("mod=")
            && !["readonly", "vendor", "mod"].contains(&mode)
        {
            return Some(Check::fail(
                "GOFLAGS",
                Category::Config,
                format!("-mod={mode}: want readonly, vendor or mod"),
                "go env -w GOFLAGS=-mod=readonly",
            ));
        }
    }
    Some(Check::ok("GOFLAGS", format!("GOFLAGS={value}")))
}

pub fn check_go111module(value: &str) -> Option<Check> {
    (value.trim() == "off").then(|| {
        Check::warn(
            "GO111MODULE",
            Category::Config,
            "GO111MODULE=off: the go command works in GOPATH mode and ignores go.mod and GOPROXY",
            "go env -w GO111MODULE=on",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Status;

    #[test]
    fn parses_goproxy_like_the_go_command() {
        let l = ProxyList::parse("goproxy.cn|https://proxy.golang.org,direct,https://x.example");
        assert_eq!(l.entries.len(), 3);
        assert_eq!(l.entries[0].url, "https://goproxy.cn");
        assert!(l.entries[0].fall_through);
        assert!(!l.entries[1].fall_through);
        assert_eq!(l.entries[2].kind, EntryKind::Direct);
        assert_eq!(l.ignored, ["https://x.example"]);
        assert!(l.errors.is_empty());

        let l = ProxyList::parse("ftp://mirror.example, goproxy ,file:///srv/tree");
        assert_eq!(l.errors.len(), 2, "{l:?}");
        assert_eq!(
            l.entries[0].kind,
            EntryKind::File(PathBuf::from("/srv/tree"))
        );
        assert!(ProxyList::parse(",,").entries.is_empty());
    }

    #[test]
    fn goproxy_checks_warn_about_comma_between_mirrors() {
        let env = GoEnv::from_pairs(&[("GOPROXY", "https://a.example,https://b.example,direct")]);
        let checks = check_goproxy(&env);
        assert_eq!(checks.len(), 1);
        assert_eq!(checks[0].status, Status::Warn);
        assert_eq!(
            checks[0].fix.as_deref(),
            Some("go env -w GOPROXY=https://a.example|https://b.example,direct")
        );
        let env = GoEnv::from_pairs(&[("GOPROXY", "https://goproxy.cn,direct")]);
        assert_eq!(check_goproxy(&env)[0].status, Status::Ok);
        let env = GoEnv::from_pairs(&[("GOPROXY", "off")]);
        assert_eq!(check_goproxy(&env)[0].status, Status::Warn);
        let env = GoEnv::from_pairs(&[("GOPROXY", "goproxy")]);
        let c = &check_goproxy(&env)[0];
        assert_eq!((c.status, c.category), (Status::Fail, Category::Config));
        let env = GoEnv::from_pairs(&[("GOPROXY", "direct,https://a.example")]);
        assert!(check_goproxy(&env)[0].detail.contains("never used"));
    }

    #[test]
    fn gosumdb_off_is_a_warning() {
        let (c, t) = check_gosumdb(&GoEnv::from_pairs(&[("GOSUMDB", "off")]));
        assert_eq!(c.status, Status::Warn);
        assert!(t.is_none());
        let (c, t) = check_gosumdb(&GoEnv::from_pairs(&[]));
        assert_eq!(c.status, Status::Ok);
        assert_eq!(t.unwrap().url, "https://sum.golang.org");
        let (c, _) = check_gosumdb(&GoEnv::from_pairs(&[("GOSUMDB", "corp.example.com")]));
        assert_eq!(c.status, Status::Fail);
    }

    #[test]
    fn private_patterns() {
        let c = check_patterns(
            "GOPRIVATE",
            "https://git.corp.example.com,corp.example.com/",
        );
        assert_eq!(c[0].status, Status::Fail);
        assert_eq!(
            c[0].fix.as_deref(),
            Some("go env -w GOPRIVATE=git.corp.example.com,corp.example.com")
        );
        assert_eq!(
            check_patterns("GOPRIVATE", "*.corp.example.com")[0].status,
            Status::Ok
        );
        assert_eq!(
            check_patterns("GOPRIVATE", "a.example, b.example")[0].status,
            Status::Warn
        );
        assert!(check_patterns("GOPRIVATE", "").is_empty());

        let env = GoEnv::from_pairs(&[("GONOPROXY", "git.corp.example.com")]);
        let c = check_private(&env, true);
        assert_eq!(c.last().unwrap().target, "GONOSUMDB");
        assert_eq!(c.last().unwrap().status, Status::Warn);
        let env = GoEnv::from_pairs(&[("GOPRIVATE", "git.corp.example.com")]);
        assert!(
            check_private(&env, true)
                .iter()
                .all(|c| c.status == Status::Ok)
        );
        let env = GoEnv::from_pairs(&[("GOINSECURE", "git.corp.example.com")]);
        assert_eq!(check_private(&env, true)[0].status, Status::Warn);
    }

    #[test]
    fn govcs_and_goflags() {
        assert_eq!(
            check_govcs("private:all,public:git|hg").unwrap().status,
            Status::Ok
        );
        assert!(check_govcs("").is_none());
        let c = check_govcs("github.com").unwrap();
        assert!(c.detail.contains("missing colon"));
        assert_eq!(check_govcs("a:git,a:hg").unwrap().status, Status::Fail);
        assert_eq!(check_govcs("a:cvs").unwrap().status, Status::Fail);
        assert_eq!(
            check_goflags("-mod=mod -modcacherw").unwrap().status,
            Status::Ok
        );
        assert_eq!(check_goflags("mod=mod").unwrap().status, Status::Fail);
        assert_eq!(check_goflags("-insecure").unwrap().status, Status::Fail);
        assert_eq!(check_goflags("-mod=vendr").unwrap().status, Status::Fail);
        assert!(check_go111module("off").is_some());
        assert!(check_go111module("on").is_none());
    }
}
