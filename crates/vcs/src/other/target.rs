//! Which URLs hg, svn, bzr and fossil may be run on.

use std::net::IpAddr;

use modgate_net::DestinationPolicy;

use super::Kind;

/// The host a repository URL makes the tool connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// As in the URL: a name, or an IP literal (`[…]` for IPv6).
    pub host: String,
    pub port: u16,
}

impl Kind {
    /// go's transports for the system (vcs.go's `Scheme` lists), and the
    /// port each uses by default.
    fn schemes(self) -> &'static [(&'static str, u16)] {
        match self {
            Kind::Hg => &[("https", 443), ("http", 80), ("ssh", 22)],
            Kind::Svn => &[("https", 443), ("http", 80), ("svn", 3690), ("svn+ssh", 22)],
            Kind::Bzr => &[("https", 443), ("http", 80), ("bzr", 4155), ("bzr+ssh", 22)],
            Kind::Fossil => &[("https", 443), ("http", 80)],
        }
    }
}

/// go's `defaultSecureScheme`.
fn secure(scheme: &str) -> bool {
    matches!(scheme, "https" | "ssh" | "svn+ssh" | "bzr+ssh")
}

impl Target {
    /// The target of `url` for system `kind`, or why the tool must not be
    /// run on it. `insecure`: the module matches `--insecure`, so plain
    /// transports (http, svn://, bzr://) are allowed, as GOINSECURE does.
    /// `policy`: the URL is one a request chose, so an IP-literal host
    /// must be allowed by it (names are checked before each command).
    pub fn parse(
        kind: Kind,
        url: &str,
        insecure: bool,
        policy: Option<&DestinationPolicy>,
    ) -> Result<Target, String> {
        // Tools read a leading `-` as an option, whatever `--` is for.
        if url.starts_with('-') {
            return Err("it starts with `-`".to_owned());
        }
        // Where the url crate and the tools' parsers might read different
        // hosts, refuse rather than guess.
        if url.chars().any(|c| !c.is_ascii_graphic() || c == '\\') {
            return Err(
                "it has spaces, control characters, `\\` or non-ASCII characters".to_owned(),
            );
        }
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| "it is not a URL with a scheme".to_owned())?;
        let scheme = scheme.to_ascii_lowercase();
        let allowed: Vec<&str> = kind
            .schemes()
            .iter()
            .map(|(s, _)| *s)
            .filter(|s| insecure || secure(s))
            .collect();
        let Some(&(_, default_port)) = kind
            .schemes()
            .iter()
            .find(|(s, _)| *s == scheme && allowed.contains(s))
        else {
            let plain = if insecure {
                ""
            } else {
                " (plain transports only for modules matching --insecure)"
            };
            return Err(format!(
                "protocol {scheme:?} not allowed for {}: only {}{plain}",
                kind.cmd(),
                allowed.join(", ")
            ));
        };
        let (parsed, host) = crate::git::plain_host(url, rest)?;
        // hg reads `#name` as a branch to clone, svn `@rev` as a peg revision.
        if url.contains(['#', '?']) || parsed.path().contains('@') {
            return Err("it has a fragment, a query or `@` in its path".to_owned());
        }
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let (Some(policy), Ok(ip)) = (policy, bare.parse::<IpAddr>()) {
            policy.check_addr(bare, ip).map_err(|e| e.to_string())?;
        }
        Ok(Target {
            host: host.to_ascii_lowercase(),
            port: parsed.port().unwrap_or(default_port),
        })
    }
}
