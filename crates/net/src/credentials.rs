//! Credentials for a remote, found as the go command finds them: the
//! `user:pass@` of its URL, else `~/.netrc` (or `$NETRC`), where
//! (cmd/go/internal/auth/netrc.go) the first complete `machine` entry whose
//! name is the request's host wins.

use std::path::PathBuf;

use percent_encoding::percent_decode_str;

/// A `login`/`password` pair for one machine.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub login: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("login", &self.login)
            .field("password", &"***")
            .finish()
    }
}

/// One complete entry: machine, login and password all given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub machine: String,
    pub credentials: Credentials,
}

/// The entries of a netrc file, as go reads them: `macdef` bodies run to
/// the next empty line, nothing after `default` counts (go ignores the
/// default entry itself), incomplete entries are dropped.
pub fn parse(data: &str) -> Vec<Entry> {
    let mut entries = Vec::new();
    let (mut machine, mut login, mut password) = (String::new(), String::new(), String::new());
    let mut in_macro = false;
    for line in data.split('\n') {
        if in_macro {
            in_macro = !line.is_empty();
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let mut i = 0;
        while i + 1 < fields.len() {
            match fields[i] {
                "machine" => {
                    machine = fields[i + 1].to_owned();
                    login.clear();
                    password.clear();
                }
                "login" => login = fields[i + 1].to_owned(),
                "password" => password = fields[i + 1].to_owned(),
                "macdef" => in_macro = true,
                _ => {}
            }
            if !machine.is_empty() && !login.is_empty() && !password.is_empty() {
                entries.push(Entry {
                    machine: std::mem::take(&mut machine),
                    credentials: Credentials {
                        login: std::mem::take(&mut login),
                        password: std::mem::take(&mut password),
                    },
                });
            }
            i += 2;
        }
        if fields.get(i) == Some(&"default") {
            break;
        }
    }
    entries
}

/// The netrc file go would read: `$NETRC`, else `~/.netrc`.
pub fn path() -> Option<PathBuf> {
    match std::env::var_os(modgate_env::NETRC) {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => std::env::var_os(modgate_env::HOME)
            .filter(|h| !h.is_empty())
            .map(|h| PathBuf::from(h).join(".netrc")),
    }
}

/// The entries of the netrc file go would read; none when it is missing
/// or unreadable.
pub fn load() -> Vec<Entry> {
    path()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .map(|data| parse(&data))
        .unwrap_or_default()
}

/// The credentials for `host` (`name` or `name:port`, as in a URL's
/// authority, which is what go compares): the first entry naming it.
pub fn lookup<'a>(entries: &'a [Entry], host: &str) -> Option<&'a Credentials> {
    entries
        .iter()
        .find(|e| e.machine == host)
        .map(|e| &e.credentials)
}

/// `scheme://user:pass@host/…` as the URL without its userinfo and the
/// (percent-decoded) credentials; other strings come back unchanged.
pub fn split_userinfo(url: &str) -> (String, Option<Credentials>) {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return (url.to_owned(), None);
    };
    if parsed.username().is_empty() && parsed.password().is_none() {
        return (url.to_owned(), None);
    }
    let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
    let credentials = Credentials {
        login: decode(parsed.username()),
        password: parsed.password().map(decode).unwrap_or_default(),
    };
    // Cannot fail: the URL has a host, as it has userinfo.
    let _ = parsed.set_username("");
    let _ = parsed.set_password(None);
    let bare = parsed.as_str();
    // Url adds a `/` to an empty path; keep the caller's spelling.
    let bare = if url.ends_with('/') {
        bare
    } else {
        bare.trim_end_matches('/')
    };
    (bare.to_owned(), Some(credentials))
}

/// `host` or `host:port` of `url`: what a netrc `machine` names.
pub fn authority(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let host = parsed.host_str()?;
    Some(match parsed.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// cmd/go/internal/auth's TestParseNetrc.
    #[test]
    fn parses_as_go_does() {
        let data = "
machine incomplete
password none

machine api.github.com
  login user
  password pwd

machine incomlete.host
  login justlogin

machine test.host
login user2
password pwd2

machine oneline login user3 password pwd3

machine ignore.host macdef ignore
  login nobody
  password nothing

machine hasmacro.too macdef ignore-next-lines login user4 password pwd4
  login nobody
  password nothing

default
login anonymous
password gopher@golang.org

machine after.default
login oops
password too-late-in-file
";
        let got: Vec<(String, String, String)> = parse(data)
            .into_iter()
            .map(|e| (e.machine, e.credentials.login, e.credentials.password))
            .collect();
        let want = [
            ("api.github.com", "user", "pwd"),
            ("test.host", "user2", "pwd2"),
            ("oneline", "user3", "pwd3"),
            ("hasmacro.too", "user4", "pwd4"),
        ]
        .map(|(m, l, p)| (m.to_owned(), l.to_owned(), p.to_owned()));
        assert_eq!(got, want);
    }

    #[test]
    fn userinfo_is_split_off_and_decoded() {
        let (bare, c) = split_userinfo("https://ci:p%40ss%2Fw@proxy.example:8443/go?x=1");
        assert_eq!(bare, "https://proxy.example:8443/go?x=1");
        let c = c.unwrap();
        assert_eq!((c.login.as_str(), c.password.as_str()), ("ci", "p@ss/w"));
        assert_eq!(split_userinfo("https://h/go").0, "https://h/go");
        assert!(split_userinfo("https://h/go").1.is_none());
        assert_eq!(split_userinfo("https://tok@h").0, "https://h");
        assert_eq!(authority("https://h:8443/x").as_deref(), Some("h:8443"));
        assert_eq!(authority("https://h/x").as_deref(), Some("h"));
    }

    #[test]
    fn lookup_matches_the_authority_exactly_and_hides_the_password() {
        let entries =
            parse("machine h:8443 login a password s3cret\nmachine h login b password p\n");
        assert_eq!(lookup(&entries, "h:8443").unwrap().login, "a");
        assert_eq!(lookup(&entries, "h").unwrap().login, "b");
        assert!(lookup(&entries, "other").is_none());
        assert!(!format!("{entries:?}").contains("s3cret"));
    }
}
