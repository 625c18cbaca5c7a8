//! The GOPROXY list syntax, as cmd/go/internal/modfetch/proxy.go reads it:
//! entries separated by `,` (go on after not-found) or `|` (go on after any
//! error), `direct` and `off` ending the list, a bare host name taken as
//! `https://`, and only http, https and file URLs accepted.

use std::path::PathBuf;

use crate::Error;

/// One entry of a GOPROXY list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proxy {
    /// An `http://` or `https://` base URL, without a trailing slash. It may
    /// carry credentials: show it with `modgate_redact::redact_url`.
    Http(String),
    /// A `file://` GOPROXY tree.
    File(PathBuf),
    Direct,
    Off,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub proxy: Proxy,
    /// Followed by `|`: any error goes on to the next entry.
    pub fall_through_on_error: bool,
}

/// A GOPROXY list, as far as the go command reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyList {
    pub entries: Vec<Entry>,
    /// Entries after `direct` or `off`, which the go command never reaches
    /// (redacted).
    pub ignored: Vec<String>,
}

impl ProxyList {
    /// The first HTTP proxy of the list, if any.
    pub fn first_http(&self) -> Option<&str> {
        self.entries.iter().find_map(|e| match &e.proxy {
            Proxy::Http(url) => Some(url.as_str()),
            _ => None,
        })
    }

    /// Parses `list` as the go command does: the first invalid entry is an
    /// error, and so is a list without entries.
    pub fn parse(list: &str) -> Result<Self, Error> {
        let mut parsed = Self::default();
        for item in parse_entries(list) {
            match item {
                Item::Entry(e) => parsed.entries.push(e?),
                Item::Ignored(s) => parsed.ignored.push(s),
            }
        }
        if parsed.entries.is_empty() {
            return Err(Error::EmptyProxyList);
        }
        Ok(parsed)
    }

    pub fn has_direct(&self) -> bool {
        self.entries.iter().any(|e| e.proxy == Proxy::Direct)
    }
}

/// An entry of a list, or one past its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Entry(Result<Entry, Error>),
    /// After `direct` or `off`: never used (redacted).
    Ignored(String),
}

/// Every item of `list` in order, each valid or not: for tools that report
/// all the problems of a list rather than the first.
pub fn parse_entries(list: &str) -> Vec<Item> {
    let mut items = Vec::new();
    let mut ended = false;
    let mut rest = list;
    while !rest.is_empty() {
        let (item, sep, tail) = match rest.find([',', '|']) {
            Some(i) => (&rest[..i], Some(rest.as_bytes()[i]), &rest[i + 1..]),
            None => (rest, None, ""),
        };
        rest = tail;
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        if ended {
            items.push(Item::Ignored(modgate_redact::redact_url(item)));
            continue;
        }
        let entry = parse_proxy(item).map(|proxy| Entry {
            fall_through_on_error: sep == Some(b'|'),
            proxy,
        });
        ended = matches!(
            entry,
            Ok(Entry {
                proxy: Proxy::Direct | Proxy::Off,
                ..
            })
        );
        items.push(Item::Entry(entry));
    }
    items
}

fn parse_proxy(item: &str) -> Result<Proxy, Error> {
    match item {
        "direct" => return Ok(Proxy::Direct),
        "off" => return Ok(Proxy::Off),
        _ => {}
    }
    // Single words are reserved for built-in behaviours; anything with `:/`
    // or an absolute path must be a whole URL; other names get https://.
    let url = if item.contains(['.', ':', '/']) && !item.contains(":/") && !item.starts_with('/') {
        format!("https://{item}")
    } else {
        item.to_owned()
    };
    let bad = |reason| Error::InvalidProxyUrl {
        url: modgate_redact::redact_url(&url),
        reason,
    };
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (scheme, rest),
        None => match url.split_once(':') {
            // `scheme:rest`, which url.Parse reads with a scheme.
            Some((scheme, rest)) if is_scheme(scheme) => (scheme, rest),
            _ => return Err(bad("invalid proxy URL missing scheme")),
        },
    };
    match scheme.to_ascii_lowercase().as_str() {
        "http" | "https" if !rest.is_empty() => {
            check_port(&url, rest)?;
            Ok(Proxy::Http(url.trim_end_matches('/').to_owned()))
        }
        "http" | "https" => Err(bad("invalid proxy URL missing host")),
        // `file:/dir` (no `//`) is refused too, as go refuses it.
        "file" if url.contains("://") && rest.starts_with('/') && !rest.contains(['?', '#']) => {
            Ok(Proxy::File(PathBuf::from(rest)))
        }
        "file" => Err(bad("invalid file:// proxy URL with non-path elements")),
        _ => Err(bad("invalid proxy URL scheme (must be https, http, file)")),
    }
}

/// As Go's url.Parse: a port after the host is digits only.
fn check_port(url: &str, rest: &str) -> Result<(), Error> {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    // An IPv6 literal holds colons of its own.
    let after_host = match host.rfind(']') {
        Some(i) => &host[i + 1..],
        None => host.find(':').map_or("", |i| &host[i..]),
    };
    match after_host.strip_prefix(':') {
        Some(port) if !port.bytes().all(|b| b.is_ascii_digit()) => Err(Error::ProxyUrlSyntax {
            url: modgate_redact::redact_url(url),
            reason: format!("invalid port {after_host:?} after host"),
        }),
        _ => Ok(()),
    }
}

fn is_scheme(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(u: &str, fall: bool) -> Entry {
        Entry {
            proxy: Proxy::Http(u.into()),
            fall_through_on_error: fall,
        }
    }

    #[test]
    fn reads_lists_as_the_go_command() {
        let l = ProxyList::parse(
            "https://a.example,  http://b.example/sub/ |file:///srv/m,goproxy.cn|direct,https://x",
        )
        .unwrap();
        assert_eq!(
            l.entries,
            [
                http("https://a.example", false),
                http("http://b.example/sub", true),
                Entry {
                    proxy: Proxy::File("/srv/m".into()),
                    fall_through_on_error: false
                },
                http("https://goproxy.cn", true),
                Entry {
                    proxy: Proxy::Direct,
                    fall_through_on_error: false
                },
            ]
        );
        assert_eq!(l.ignored, ["https://x"]);
        assert!(l.has_direct());
        assert_eq!(
            ProxyList::parse("off").unwrap().entries[0].proxy,
            Proxy::Off
        );
        assert_eq!(
            ProxyList::parse("localhost:3000").unwrap().entries[0].proxy,
            Proxy::Http("https://localhost:3000".into())
        );
        assert!(ProxyList::parse("http://[::1]:3000,https://u:p@h.example:443/x").is_ok());
    }

    #[test]
    fn refuses_what_the_go_command_refuses() {
        let cases = [
            ("corp-proxy", "invalid proxy URL missing scheme: corp-proxy"),
            (
                "ftp://x.example",
                "invalid proxy URL scheme (must be https, http, file): ftp://x.example",
            ),
            (
                "https://a.example,gopher:thing",
                r#"parse "https://gopher:thing": invalid port ":thing" after host"#,
            ),
            ("/srv/tree", "invalid proxy URL missing scheme: /srv/tree"),
            (
                "file://rel/dir",
                "invalid file:// proxy URL with non-path elements: file://rel/dir",
            ),
            (
                "file:/srv/tree",
                "invalid file:// proxy URL with non-path elements: file:/srv/tree",
            ),
            (
                "https://u:secret@x.example|ftp://u:secret@y.example",
                "invalid proxy URL scheme (must be https, http, file): ftp://***@y.example",
            ),
            (
                " , ",
                "GOPROXY list is not the empty string, but contains no entries",
            ),
        ];
        for (list, want) in cases {
            assert_eq!(
                ProxyList::parse(list).unwrap_err().to_string(),
                want,
                "{list}"
            );
        }
    }

    #[test]
    fn lenient_reading_reports_every_entry() {
        let items = parse_entries("bad-word,https://ok.example,direct,https://late");
        assert!(matches!(&items[0], Item::Entry(Err(_))));
        assert!(matches!(&items[1], Item::Entry(Ok(_))));
        assert!(matches!(&items[3], Item::Ignored(s) if s == "https://late"));
    }
}
