//! Where modgate may connect when a client's request chose the destination
//! (go-get discovery, the `mod` proxies and git URLs its pages name): never
//! into the internal network — loopback, private, link-local and the other
//! special-purpose ranges, also inside IPv4-mapped/compatible IPv6 and
//! NAT64 — unless the operator allows it, by network (`--allow-network`)
//! or by host name (hosts the operator named, in `--repo-map` rules and
//! `--private` patterns).
//!
//! Names are checked after every DNS resolution (the HTTP client resolves
//! through [`DestinationPolicy`], so a name that answers a public address
//! first and an internal one later cannot pass), IP literals before the
//! request, and both again on every redirect.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect;

/// Go's `http.Client` gives up after this many requests in one chain.
const MAX_REDIRECTS: usize = 10;

/// Why an address is internal: the special-purpose range it lies in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Loopback,
    /// RFC 1918, and IPv6 site-local (deprecated).
    Private,
    LinkLocal,
    /// fc00::/7.
    UniqueLocal,
    /// 100.64.0.0/10, carrier-grade NAT.
    SharedAddressSpace,
    Unspecified,
    Multicast,
    Broadcast,
    Documentation,
    Benchmarking,
    /// IETF protocol assignments, future use, discard, transition relays.
    Reserved,
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Class::Loopback => "loopback",
            Class::Private => "private",
            Class::LinkLocal => "link-local",
            Class::UniqueLocal => "unique-local",
            Class::SharedAddressSpace => "shared address space",
            Class::Unspecified => "unspecified",
            Class::Multicast => "multicast",
            Class::Broadcast => "broadcast",
            Class::Documentation => "documentation",
            Class::Benchmarking => "benchmarking",
            Class::Reserved => "reserved",
        })
    }
}

/// The special-purpose range `ip` is in, `None` for a global address. An
/// IPv6 address that carries an IPv4 one (mapped, compatible, NAT64, 6to4)
/// is judged by the IPv4 address too.
pub fn classify(ip: IpAddr) -> Option<Class> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<Class> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        _ if ip == Ipv4Addr::BROADCAST => Class::Broadcast,
        (0, _, _) => Class::Unspecified,
        (10, _, _) | (172, 16..=31, _) | (192, 168, _) => Class::Private,
        (100, 64..=127, _) => Class::SharedAddressSpace,
        (127, _, _) => Class::Loopback,
        (169, 254, _) => Class::LinkLocal,
        // 192.0.0.0/24 (protocol assignments), 192.88.99.0/24 (6to4 relays).
        (192, 0, 0) | (192, 88, 99) => Class::Reserved,
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => Class::Documentation,
        (198, 18..=19, _) => Class::Benchmarking,
        (224..=239, _, _) => Class::Multicast,
        (240..=255, _, _) => Class::Reserved,
        _ => return None,
    })
}

fn classify_v6(ip: Ipv6Addr) -> Option<Class> {
    if let Some(v4) = embedded_v4(ip) {
        return classify_v4(v4);
    }
    let s = ip.segments();
    Some(match s {
        [0, 0, 0, 0, 0, 0, 0, 0] => Class::Unspecified,
        [0, 0, 0, 0, 0, 0, 0, 1] => Class::Loopback,
        // 64:ff9b:1::/48, NAT64 for local use (RFC 8215).
        [0x64, 0xff9b, 1, ..] => Class::Private,
        // 100::/64, discard-only.
        [0x100, 0, 0, 0, ..] => Class::Reserved,
        [0x2001, 0x2, 0, ..] => Class::Benchmarking,
        [0x2001, 0xdb8, ..] => Class::Documentation,
        // The rest of 2001::/23 (Teredo, ORCHID, …): no git host lives there.
        [0x2001, 0..=0x1ff, ..] => Class::Reserved,
        [0x3fff, 0..=0x0fff, ..] => Class::Documentation,
        _ if s[0] & 0xfe00 == 0xfc00 => Class::UniqueLocal,
        _ if s[0] & 0xffc0 == 0xfe80 => Class::LinkLocal,
        _ if s[0] & 0xffc0 == 0xfec0 => Class::Private,
        _ if s[0] & 0xff00 == 0xff00 => Class::Multicast,
        _ => return None,
    })
}

/// The IPv4 address inside an IPv4-mapped (::ffff:0:0/96), IPv4-compatible
/// (::/96, deprecated), IPv4-translated (::ffff:0:0:0/96), NAT64
/// (64:ff9b::/96) or 6to4 (2002::/16) address; `::` and `::1` are no
/// IPv4 addresses.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        [0, 0, 0, 0, 0, 0, 0, 0 | 1] => None,
        [0, 0, 0, 0, 0, 0xffff, _, _]
        | [0, 0, 0, 0, 0, 0, _, _]
        | [0, 0, 0, 0, 0xffff, 0, _, _]
        | [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(low),
        [0x2002, hi, lo, ..] => Some(Ipv4Addr::new(
            (hi >> 8) as u8,
            hi as u8,
            (lo >> 8) as u8,
            lo as u8,
        )),
        _ => None,
    }
}

/// A network, `a.b.c.d/n` or `v6::/n`; a bare address is the network of
/// that address alone. Bits past the prefix are ignored, as Go's
/// `net.ParseCIDR` ignores them for the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix_eq(u32::from(net).into(), u32::from(ip).into(), self.prefix, 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq(u128::from(net), u128::from(ip), self.prefix, 128)
            }
            _ => false,
        }
    }
}

fn prefix_eq(a: u128, b: u128, prefix: u8, bits: u8) -> bool {
    let shift = u32::from(bits - prefix);
    shift >= 128 || (a >> shift) == (b >> shift)
}

impl FromStr for Cidr {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let invalid = |reason: &str| Error::InvalidNetwork {
            text: s.to_owned(),
            reason: reason.to_owned(),
        };
        let (addr, prefix) = match s.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| {
            invalid("want an address and prefix length, e.g. 10.1.0.0/16 or fd00::/8")
        })?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|n| *n <= max && p.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| invalid(&format!("prefix length must be 0 to {max}")))?,
        };
        Ok(Cidr { addr, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl<'de> serde::Deserialize<'de> for Cidr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// An internal address the policy does not allow.
    #[error(
        "refusing to connect to {host}{shown} ({class}{inside}): internal addresses are off \
         limits for destinations a request names; allow with --allow-network {addr}/{bits}",
        shown = if host == &addr.to_string() { String::new() } else { format!(" at {addr}") },
        inside = if embedded_v4(as_v6(*addr)).is_some() && addr.is_ipv6() { ", inside IPv6" } else { "" },
        bits = if addr.is_ipv4() { 32 } else { 128 },
    )]
    Refused {
        host: String,
        addr: IpAddr,
        class: Class,
    },
    #[error("refusing to follow a redirect from https to http ({to})")]
    Downgrade { to: String },
    #[error("stopped after {MAX_REDIRECTS} redirects")]
    TooManyRedirects,
    #[error("cannot resolve {host}: {reason}")]
    Unresolved { host: String, reason: String },
    #[error("invalid network {text:?}: {reason}")]
    InvalidNetwork { text: String, reason: String },
}

/// Whether `host` names hosts of one operator: a literal name, or `*.`
/// before a literal domain of two labels or more.
fn names_hosts(host: &str) -> bool {
    let literal = |s: &str| !s.is_empty() && !s.contains(['*', '?', '[', '\\']);
    literal(host)
        || host
            .strip_prefix("*.")
            .is_some_and(|domain| literal(domain) && domain.contains('.'))
}

fn as_v6(ip: IpAddr) -> Ipv6Addr {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

/// The destination policy: internal addresses are refused unless a listed
/// network holds them or the host is one the operator named.
#[derive(Debug, Clone, Default)]
pub struct DestinationPolicy {
    allow: Vec<Cidr>,
    /// Host names, or `*.DOMAIN` globs of them (from `--private`).
    hosts: Vec<String>,
}

impl DestinationPolicy {
    /// `hosts` that are globs naming hosts beyond one domain (`*`,
    /// `*internal*`, `git.*`) are dropped: a `--private '*/internal/*'`
    /// would otherwise let any host's go-get page reach internal addresses.
    pub fn new(allow: Vec<Cidr>, hosts: Vec<String>) -> Self {
        let hosts = hosts
            .into_iter()
            .map(|h| h.trim().trim_end_matches('.').to_ascii_lowercase())
            .filter(|h| names_hosts(h))
            .collect();
        Self { allow, hosts }
    }

    /// Whether the operator named `host`: then any of its addresses is fine.
    pub fn host_allowed(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.hosts
            .iter()
            .any(|h| *h == host || modgate_module::pattern::path_match(h, &host))
    }

    /// Whether `addr` (of `host`) may be connected to.
    pub fn check_addr(&self, host: &str, addr: IpAddr) -> Result<(), Error> {
        let Some(class) = classify(addr) else {
            return Ok(());
        };
        let v4 = match addr {
            IpAddr::V6(v6) => embedded_v4(v6).map(IpAddr::V4),
            IpAddr::V4(_) => None,
        };
        let listed = |ip: IpAddr| self.allow.iter().any(|net| net.contains(ip));
        if listed(addr) || v4.is_some_and(listed) {
            return Ok(());
        }
        Err(Error::Refused {
            host: host.to_owned(),
            addr,
            class,
        })
    }

    /// The check that needs no DNS: an IP-literal host must be allowed
    /// (the HTTP client resolves names only, never literals).
    pub fn check_url(&self, url: &Url) -> Result<(), Error> {
        match url.host() {
            Some(url::Host::Ipv4(v4)) => self.check_addr(&v4.to_string(), IpAddr::V4(v4)),
            Some(url::Host::Ipv6(v6)) => self.check_addr(&v6.to_string(), IpAddr::V6(v6)),
            Some(url::Host::Domain(_)) | None => Ok(()),
        }
    }

    /// The addresses of `host` that may be connected to: the internal ones
    /// are dropped, and if none is left, the first refusal is the error.
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, Error> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            self.check_addr(host, ip)?;
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        let found: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| Error::Unresolved {
                host: host.to_owned(),
                reason: e.to_string(),
            })?
            .collect();
        if self.host_allowed(host) {
            return Ok(found);
        }
        let mut refused = None;
        let allowed: Vec<SocketAddr> = found
            .into_iter()
            .filter(|a| match self.check_addr(host, a.ip()) {
                Ok(()) => true,
                Err(e) => {
                    refused.get_or_insert(e);
                    false
                }
            })
            .collect();
        match (allowed.is_empty(), refused) {
            (true, Some(e)) => Err(e),
            (true, None) => Err(Error::Unresolved {
                host: host.to_owned(),
                reason: "no addresses".to_owned(),
            }),
            (false, _) => Ok(allowed),
        }
    }

    /// A client builder that applies the policy: modgate's user agent, DNS
    /// through [`DestinationPolicy::resolve`], and redirects checked hop by
    /// hop (at most 10; from https to http only if `downgrade`). The first
    /// request's URL is the caller's to check ([`DestinationPolicy::check_url`]).
    pub fn client_builder(self: &Arc<Self>, downgrade: bool) -> reqwest::ClientBuilder {
        let policy = self.clone();
        crate::builder()
            .dns_resolver(Arc::new(Guarded(self.clone())))
            .redirect(redirect::Policy::custom(move |attempt| {
                let secure_before = attempt.previous().iter().any(|u| u.scheme() == "https");
                if attempt.previous().len() >= MAX_REDIRECTS {
                    attempt.error(Error::TooManyRedirects)
                } else if !downgrade && secure_before && attempt.url().scheme() != "https" {
                    let to = modgate_redact::redact_url(attempt.url().as_str());
                    attempt.error(Error::Downgrade { to })
                } else if let Err(e) = policy.check_url(attempt.url()) {
                    attempt.error(e)
                } else {
                    attempt.follow()
                }
            }))
    }
}

/// The HTTP client's resolver.
struct Guarded(Arc<DestinationPolicy>);

impl Resolve for Guarded {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.0.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            // Port 0: the client puts the URL's port in.
            let addrs = policy.resolve(&host, 0).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn classifies_every_range() {
        let cases = [
            ("127.0.0.1", Some(Class::Loopback)),
            ("127.255.255.254", Some(Class::Loopback)),
            ("10.0.0.1", Some(Class::Private)),
            ("172.16.0.1", Some(Class::Private)),
            ("172.31.255.255", Some(Class::Private)),
            ("172.32.0.1", None),
            ("172.15.255.255", None),
            ("192.168.1.1", Some(Class::Private)),
            ("169.254.169.254", Some(Class::LinkLocal)),
            ("100.64.0.1", Some(Class::SharedAddressSpace)),
            ("100.127.255.255", Some(Class::SharedAddressSpace)),
            ("100.128.0.1", None),
            ("0.0.0.0", Some(Class::Unspecified)),
            ("0.1.2.3", Some(Class::Unspecified)),
            ("224.0.0.1", Some(Class::Multicast)),
            ("239.255.255.255", Some(Class::Multicast)),
            ("255.255.255.255", Some(Class::Broadcast)),
            ("240.0.0.1", Some(Class::Reserved)),
            ("192.0.0.8", Some(Class::Reserved)),
            ("192.0.2.1", Some(Class::Documentation)),
            ("198.51.100.1", Some(Class::Documentation)),
            ("203.0.113.1", Some(Class::Documentation)),
            ("198.18.0.1", Some(Class::Benchmarking)),
            ("198.19.255.255", Some(Class::Benchmarking)),
            ("198.20.0.1", None),
            ("8.8.8.8", None),
            ("1.1.1.1", None),
            ("::", Some(Class::Unspecified)),
            ("::1", Some(Class::Loopback)),
            ("fe80::1", Some(Class::LinkLocal)),
            ("febf::1", Some(Class::LinkLocal)),
            ("fec0::1", Some(Class::Private)),
            ("fc00::1", Some(Class::UniqueLocal)),
            ("fd12:3456::1", Some(Class::UniqueLocal)),
            ("ff02::1", Some(Class::Multicast)),
            ("2001:db8::1", Some(Class::Documentation)),
            ("2001:2::1", Some(Class::Benchmarking)),
            ("2001::1", Some(Class::Reserved)),
            ("100::1", Some(Class::Reserved)),
            ("64:ff9b:1::1", Some(Class::Private)),
            ("2606:4700::1111", None),
            ("2a00:1450:4001::1", None),
        ];
        for (addr, want) in cases {
            assert_eq!(classify(ip(addr)), want, "{addr}");
        }
    }

    #[test]
    fn ipv4_inside_ipv6_is_judged_as_ipv4() {
        let cases = [
            ("::ffff:127.0.0.1", Some(Class::Loopback)),
            ("::ffff:7f00:1", Some(Class::Loopback)),
            ("::ffff:10.0.0.1", Some(Class::Private)),
            ("::ffff:169.254.169.254", Some(Class::LinkLocal)),
            ("::ffff:8.8.8.8", None),
            ("::127.0.0.1", Some(Class::Loopback)),
            ("::10.1.2.3", Some(Class::Private)),
            ("::ffff:0:127.0.0.1", Some(Class::Loopback)),
            ("64:ff9b::127.0.0.1", Some(Class::Loopback)),
            ("64:ff9b::a00:1", Some(Class::Private)),
            ("64:ff9b::808:808", None),
            ("2002:7f00:1::", Some(Class::Loopback)),
            ("2002:c0a8:101::1", Some(Class::Private)),
            ("2002:808:808::1", None),
        ];
        for (addr, want) in cases {
            assert_eq!(classify(ip(addr)), want, "{addr}");
        }
    }

    #[test]
    fn networks() {
        let net: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(net.contains(ip("10.1.2.3")));
        assert!(!net.contains(ip("10.2.0.1")));
        assert!(!net.contains(ip("::ffff:10.1.2.3")));
        let one: Cidr = "127.0.0.1".parse().unwrap();
        assert_eq!(one.to_string(), "127.0.0.1/32");
        assert!(one.contains(ip("127.0.0.1")) && !one.contains(ip("127.0.0.2")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("127.0.0.1")) && !all.contains(ip("::1")));
        let v6: Cidr = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fc00::1")));
        let all6: Cidr = "::/0".parse().unwrap();
        assert!(all6.contains(ip("::1")));
        // Host bits are ignored, as Go's ParseCIDR ignores them for the network.
        let loose: Cidr = "192.168.1.77/24".parse().unwrap();
        assert!(loose.contains(ip("192.168.1.1")));
        for bad in [
            "",
            "10.0.0.0/33",
            "::/129",
            "10.0.0/8",
            "host/8",
            "10.0.0.0/",
            "10.0.0.0/-1",
            "10.0.0.0/+8",
        ] {
            let err = bad.parse::<Cidr>().unwrap_err().to_string();
            assert!(err.starts_with("invalid network"), "{bad}: {err}");
        }
    }

    #[test]
    fn allow_list_and_hosts() {
        let policy = DestinationPolicy::default();
        let err = policy.check_addr("127.0.0.1", ip("127.0.0.1")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "refusing to connect to 127.0.0.1 (loopback): internal addresses are off limits for \
             destinations a request names; allow with --allow-network 127.0.0.1/32"
        );
        let err = policy.check_addr("localhost", ip("::1")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("refusing to connect to localhost at ::1 (loopback)"),
            "{err}"
        );
        let err = policy.check_addr("x", ip("::ffff:10.0.0.1")).unwrap_err();
        assert!(err.to_string().contains("(private, inside IPv6)"), "{err}");
        assert!(policy.check_addr("x", ip("8.8.8.8")).is_ok());

        let policy = DestinationPolicy::new(
            vec!["10.0.0.0/8".parse().unwrap(), "fd00::/8".parse().unwrap()],
            vec![
                "git.corp.example".to_owned(),
                "*.internal.example".to_owned(),
            ],
        );
        assert!(policy.check_addr("x", ip("10.9.8.7")).is_ok());
        // The mapped form of an allowed IPv4 address is allowed too.
        assert!(policy.check_addr("x", ip("::ffff:10.9.8.7")).is_ok());
        assert!(policy.check_addr("x", ip("fd00::1")).is_ok());
        assert!(policy.check_addr("x", ip("192.168.0.1")).is_err());
        assert!(policy.check_addr("x", ip("127.0.0.1")).is_err());
        assert!(policy.host_allowed("git.corp.example"));
        assert!(policy.host_allowed("GIT.corp.example."));
        assert!(policy.host_allowed("a.internal.example"));
        assert!(!policy.host_allowed("internal.example"));
        assert!(!policy.host_allowed("evil.example"));

        // Globs that name any host (from `--private '*/internal*'` and the
        // like) are no operator's hosts.
        let policy = DestinationPolicy::new(
            vec![],
            ["*", "*internal*", "git.*", "*.example", "[a-z]*", "?", ""]
                .map(str::to_owned)
                .to_vec(),
        );
        for host in ["localhost", "internal.example", "git.corp", "a.example"] {
            assert!(!policy.host_allowed(host), "{host}");
        }
    }

    /// The `url` crate reads the host as browsers (and curl) do: every
    /// spelling of loopback is the IP literal, which is checked.
    #[test]
    fn literal_hosts_are_normalized_and_checked() {
        let policy = DestinationPolicy::default();
        for url in [
            "https://127.0.0.1/x",
            "https://127.1/x",
            "https://0177.0.0.1/x",
            "https://0x7f.0.0.1/x",
            "https://2130706433/x",
            "https://127.0.0.1.:8443/x",
            "https://0.0.0.0/x",
            "https://0/x",
            "https://[::1]/x",
            "https://[::ffff:127.0.0.1]/x",
            "https://[0:0:0:0:0:0:0:1]/x",
            "https://169.254.169.254/latest/meta-data",
            "http://10.1.2.3:9999/",
        ] {
            let parsed = Url::parse(url).unwrap();
            let err = policy.check_url(&parsed).unwrap_err();
            assert!(matches!(err, Error::Refused { .. }), "{url}: {err}");
        }
        for url in [
            "https://8.8.8.8/x",
            "https://example.com/x",
            "https://[2606:4700::1111]/",
        ] {
            assert!(policy.check_url(&Url::parse(url).unwrap()).is_ok(), "{url}");
        }
    }

    #[tokio::test]
    async fn resolution_drops_internal_addresses() {
        let policy = DestinationPolicy::default();
        let err = policy.resolve("localhost", 80).await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::Refused {
                    class: Class::Loopback,
                    ..
                }
            ),
            "{err}"
        );
        let err = policy.resolve("127.0.0.1", 80).await.unwrap_err();
        assert!(matches!(err, Error::Refused { .. }), "{err}");
        let err = policy.resolve("[::1]", 80).await.unwrap_err();
        assert!(matches!(err, Error::Refused { .. }), "{err}");
        let allowed = DestinationPolicy::new(vec!["127.0.0.0/8".parse().unwrap()], vec![]);
        let addrs = allowed.resolve("127.0.0.1", 80).await.unwrap();
        assert_eq!(addrs, [SocketAddr::from(([127, 0, 0, 1], 80))]);
        let named = DestinationPolicy::new(vec![], vec!["localhost".to_owned()]);
        assert!(!named.resolve("localhost", 80).await.unwrap().is_empty());
    }

    /// A server on 127.0.0.1 that answers every request with `response`
    /// (`{port}` replaced by its own port), and counts the connections.
    async fn server(response: &'static str) -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf).await;
                let reply = response.replace("{port}", &port.to_string());
                let _ = conn.write_all(reply.as_bytes()).await;
            }
        });
        (port, seen)
    }

    fn connections(seen: &std::sync::atomic::AtomicUsize) -> usize {
        seen.load(std::sync::atomic::Ordering::SeqCst)
    }

    const OK: &str = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";

    #[tokio::test]
    async fn the_client_resolves_through_the_policy() {
        let (port, seen) = server(OK).await;
        let refuse = Arc::new(DestinationPolicy::default());
        let client = refuse.client_builder(false).no_proxy().build().unwrap();
        let err = client
            .get(format!("http://localhost:{port}/"))
            .send()
            .await
            .unwrap_err();
        let text = crate::describe(err);
        assert!(
            text.contains("refusing to connect to localhost at "),
            "{text}"
        );
        assert_eq!(connections(&seen), 0);

        let allow = Arc::new(DestinationPolicy::new(
            vec!["127.0.0.0/8".parse().unwrap(), "::1".parse().unwrap()],
            vec![],
        ));
        let client = allow.client_builder(false).no_proxy().build().unwrap();
        let resp = client
            .get(format!("http://localhost:{port}/"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.text().await.unwrap(), "ok");
        assert!(connections(&seen) >= 1);
    }

    #[tokio::test]
    async fn every_redirect_hop_is_checked() {
        let (target, seen) = server(OK).await;
        let to_literal: &'static str = Box::leak(
            format!("HTTP/1.1 302 Found\r\nlocation: http://127.1:{target}/\r\ncontent-length: 0\r\n\r\n")
                .into_boxed_str(),
        );
        let (first, _) = server(to_literal).await;
        // The first hop's host is one the operator named; the next is not.
        let policy = Arc::new(DestinationPolicy::new(vec![], vec!["localhost".to_owned()]));
        let client = policy.client_builder(false).no_proxy().build().unwrap();
        let err = client
            .get(format!("http://localhost:{first}/"))
            .send()
            .await
            .unwrap_err();
        let text = crate::describe(err);
        assert!(
            text.contains("refusing to connect to 127.0.0.1 (loopback)"),
            "{text}"
        );
        assert_eq!(connections(&seen), 0);

        let (looping, _) = server(
            "HTTP/1.1 302 Found\r\nlocation: http://localhost:{port}/again\r\ncontent-length: 0\r\n\r\n",
        )
        .await;
        let err = client
            .get(format!("http://localhost:{looping}/"))
            .send()
            .await
            .unwrap_err();
        assert!(crate::describe(err).contains("stopped after 10 redirects"));
    }
}
