//! HTTP_PROXY, HTTPS_PROXY and NO_PROXY, chosen per request the way the go
//! command's HTTP client chooses (`golang.org/x/net/http/httpproxy`).

use std::net::IpAddr;

use modgate_redact::redact_url;
use url::Url;

use super::check::{Category, Check};
use crate::error::Error;

#[derive(Debug, Clone, Default)]
pub struct ProxyEnv {
    http: Option<(String, String)>,
    https: Option<(String, String)>,
    no_proxy: String,
}

/// The proxy server a request goes through.
#[derive(Debug, Clone)]
pub struct ProxyServer {
    /// The variable that named it, for the report.
    pub var: String,
    pub url: Url,
}

impl ProxyServer {
    pub fn display(&self) -> String {
        redact_url(self.url.as_str())
    }
}

/// The first non-empty variable among `names` (upper case wins, as in Go).
fn first_var(names: &[&str], lookup: &dyn Fn(&str) -> Option<String>) -> Option<(String, String)> {
    names.iter().find_map(|n| {
        lookup(n)
            .filter(|v| !v.trim().is_empty())
            .map(|v| ((*n).to_owned(), v.trim().to_owned()))
    })
}

impl ProxyEnv {
    pub fn from_process() -> Self {
        Self::from_lookup(&|k| std::env::var(k).ok())
    }

    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Self {
        Self {
            http: first_var(&modgate_env::HTTP_PROXY, lookup),
            https: first_var(&modgate_env::HTTPS_PROXY, lookup),
            no_proxy: first_var(&modgate_env::NO_PROXY, lookup)
                .map(|(_, v)| v)
                .unwrap_or_default(),
        }
    }

    /// The proxy for `url`, or `None` to connect directly.
    pub fn for_url(&self, url: &Url) -> Option<ProxyServer> {
        let (var, value) = match url.scheme() {
            "https" => self.https.as_ref()?,
            "http" => self.http.as_ref()?,
            _ => return None,
        };
        let host = url.host_str()?;
        if !self.use_proxy(host, url.port_or_known_default()) {
            return None;
        }
        parse_proxy_url(value).ok().map(|url| ProxyServer {
            var: var.clone(),
            url,
        })
    }

    fn use_proxy(&self, host: &str, port: Option<u16>) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.eq_ignore_ascii_case("localhost") {
            return false;
        }
        let ip = host.parse::<IpAddr>().ok();
        if ip.is_some_and(|ip| ip.is_loopback()) {
            return false;
        }
        let host = host.to_ascii_lowercase();
        for entry in self.no_proxy.split(',').map(str::trim) {
            if entry.is_empty() {
                continue;
            }
            if entry == "*" {
                return false;
            }
            if let Some((net, bits)) = entry.split_once('/')
                && let (Ok(net), Ok(bits), Some(ip)) = (net.parse::<IpAddr>(), bits.parse(), ip)
            {
                if in_cidr(ip, net, bits) {
                    return false;
                }
                continue;
            }
            if let Ok(e) = entry.parse::<IpAddr>() {
                if Some(e) == ip {
                    return false;
                }
                continue;
            }
            let (name, entry_port) = match entry.rsplit_once(':') {
                Some((n, p)) if p.parse::<u16>().is_ok() => (n, p.parse::<u16>().ok()),
                _ => (entry, None),
            };
            if entry_port.is_some() && entry_port != port {
                continue;
            }
            let name = name.to_ascii_lowercase();
            let name = name.trim_start_matches('*');
            let matched = if let Some(suffix) = name.strip_prefix('.') {
                host.ends_with(&format!(".{suffix}"))
            } else {
                host == name || host.ends_with(&format!(".{name}"))
            };
            if matched {
                return false;
            }
        }
        true
    }

    /// Checks of the variables themselves: syntax of each set variable.
    pub fn checks(&self) -> Vec<Check> {
        let mut checks = Vec::new();
        for (var, value) in [&self.https, &self.http].into_iter().flatten() {
            match parse_proxy_url(value) {
                Ok(url) if !matches!(url.scheme(), "http" | "https") => checks.push(Check::warn(
                    var.as_str(),
                    Category::ProxyEnv,
                    format!(
                        "{var} is a {} proxy ({}): the doctor probes only HTTP(S) proxies, so \
                         the mirror probes below went direct",
                        url.scheme(),
                        redact_url(url.as_str())
                    ),
                    format!("export {var}=http://proxy.example.com:3128"),
                )),
                Ok(url) => checks.push(Check::ok(
                    var.as_str(),
                    format!(
                        "{var}={} (NO_PROXY={:?}); mirror probes go through it",
                        redact_url(url.as_str()),
                        self.no_proxy
                    ),
                )),
                Err(e) => checks.push(Check::fail(
                    var.as_str(),
                    Category::ProxyEnv,
                    format!("{var} is not a proxy URL: {}", e.detail()),
                    format!("export {var}=http://proxy.example.com:3128  # or: unset {var}"),
                )),
            }
        }
        checks
    }
}

/// As in Go: a proxy without a scheme is an http:// proxy.
fn parse_proxy_url(value: &str) -> Result<Url, Error> {
    let with_scheme = if value.contains("://") {
        value.to_owned()
    } else {
        format!("http://{value}")
    };
    // Redacted with the scheme, without which redact_url sees no userinfo.
    let url = Url::parse(&with_scheme).map_err(|source| Error::ProxyUrl {
        value: redact_url(&with_scheme),
        source,
    })?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Error::ProxyNoHost {
            value: redact_url(&with_scheme),
        });
    }
    match url.scheme() {
        "http" | "https" | "socks5" | "socks5h" => Ok(url),
        other => Err(Error::ProxyScheme(other.to_owned())),
    }
}

fn in_cidr(ip: IpAddr, net: IpAddr, bits: u32) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(a) & mask == u32::from(b) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(b)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(a) & mask == u128::from(b) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> ProxyEnv {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ProxyEnv::from_lookup(&move |k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
    }

    #[test]
    fn chooses_proxy_like_httpproxy() {
        let e = env(&[
            ("HTTPS_PROXY", "proxy.corp:3128"),
            ("NO_PROXY", ".internal,10.0.0.0/8,goproxy.corp:443"),
        ]);
        let u = |s: &str| Url::parse(s).unwrap();
        let p = e.for_url(&u("https://proxy.golang.org/x")).unwrap();
        assert_eq!(p.url.as_str(), "http://proxy.corp:3128/");
        assert!(e.for_url(&u("http://proxy.golang.org/x")).is_none());
        assert!(e.for_url(&u("https://127.0.0.1:8443/")).is_none());
        assert!(e.for_url(&u("https://localhost/")).is_none());
        assert!(e.for_url(&u("https://a.internal/")).is_none());
        assert!(e.for_url(&u("https://10.1.2.3/")).is_none());
        assert!(e.for_url(&u("https://goproxy.corp/")).is_none());
        assert!(e.for_url(&u("https://goproxy.corp:8443/")).is_some());
        assert!(env(&[]).for_url(&u("https://proxy.golang.org/")).is_none());
    }

    #[test]
    fn checks_proxy_syntax_and_redacts() {
        let c = env(&[("HTTPS_PROXY", "http://user:secret@proxy.corp:3128")]).checks();
        assert!(!c[0].detail.contains("secret"), "{}", c[0].detail);
        let c = env(&[("http_proxy", "ftp://proxy.corp")]).checks();
        assert_eq!(c[0].category, Category::ProxyEnv);
        assert_eq!(c[0].status, crate::check::Status::Fail);
        assert_eq!(
            c[0].detail,
            "http_proxy is not a proxy URL: unsupported proxy scheme \"ftp\""
        );
        // Without a scheme, and unparsable: still no password in the report.
        let c = env(&[("HTTPS_PROXY", "user:secret@proxy.corp:99999")]).checks();
        assert_eq!(
            c[0].detail,
            "HTTPS_PROXY is not a proxy URL: cannot parse http://***@proxy.corp:99999: \
             invalid port number"
        );
    }
}
