//! GOAUTH, read as Go 1.24's go command reads it (cmd/go/internal/auth):
//! `;`-separated methods, `off`, `netrc` (the default: `$NETRC` or
//! `~/.netrc`), `git DIR` (`git credential fill` run in DIR) or a command.
//! A command is run without arguments first, and again with the URL after
//! a 401 (the response's status line and headers on its stdin); it prints
//! blocks of URL prefixes, an empty line, HTTP header lines, an empty line.
//! Credentials are HTTP headers kept by URL prefix (host and path, no
//! scheme); a request gets those of its longest matching prefix. Methods
//! are applied last to first, so that the first one named wins.
//!
//! Header values are credentials: they are never logged nor shown in
//! errors (a command's failure shows its stderr, not its output).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;

use base64::Engine as _;

use crate::credentials;

/// Why GOAUTH cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum GoAuthError {
    #[error("GOAUTH has an empty method (GOAUTH={0})")]
    Empty(String),
    #[error("GOAUTH=off cannot be combined with other methods (GOAUTH={0})")]
    OffCombined(String),
    #[error("GOAUTH=git needs an absolute path to a git working directory (GOAUTH={0})")]
    GitDir(String),
    #[error("cannot parse the GOAUTH command {command:?}: {reason}")]
    Quoting { command: String, reason: String },
    /// `prefetch` and `bundle create` send Basic credentials only.
    #[error(
        "GOAUTH gives other credentials than Basic ones for {0}: this command sends Basic credentials only (a user:pass@ in the URL, netrc, or a command's Authorization: Basic header)"
    )]
    NotBasic(String),
}

/// `url` with GOAUTH's credentials for it as its `user:pass@`, for
/// commands that derive every URL they ask from it (a proxy's paths, its
/// `/sumdb/`) and ask other servers (a checksum database) with the same
/// client: the credentials then go to that proxy alone. A URL with its own
/// userinfo comes back as it is; credentials other than Basic are refused.
pub fn url_with_credentials(url: &str) -> Result<String, GoAuthError> {
    with_credentials(&GoAuth::from_env()?, url)
}

fn with_credentials(auth: &GoAuth, url: &str) -> Result<String, GoAuthError> {
    if credentials::split_userinfo(url).1.is_some() {
        return Ok(url.to_owned());
    }
    let headers = auth.headers(url);
    if headers.is_empty() {
        return Ok(url.to_owned());
    }
    let not_basic = || GoAuthError::NotBasic(modgate_redact::redact_url(url));
    let [(name, value)] = &headers[..] else {
        return Err(not_basic());
    };
    let decoded = value
        .strip_prefix("Basic ")
        .filter(|_| name.eq_ignore_ascii_case("authorization"))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|d| String::from_utf8(d).ok())
        .ok_or_else(not_basic)?;
    let (login, password) = decoded.split_once(':').ok_or_else(not_basic)?;
    let mut parsed = url::Url::parse(url).map_err(|_| not_basic())?;
    if parsed.set_username(login).is_err() || parsed.set_password(Some(password)).is_err() {
        return Err(not_basic());
    }
    let with = parsed.to_string();
    // Url adds a `/` to an empty path; keep the caller's spelling.
    Ok(if url.ends_with('/') {
        with
    } else {
        with.trim_end_matches('/').to_owned()
    })
}

/// One GOAUTH method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    Netrc,
    /// `git credential fill` in this working directory.
    Git(PathBuf),
    /// A program and its arguments.
    Command(Vec<String>),
}

/// Headers (name, value) for one URL prefix.
type Headers = Vec<(String, String)>;

/// The credentials of one process's client commands.
pub struct GoAuth {
    /// None: `GOAUTH=off`.
    methods: Option<Vec<Method>>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Whether every method ran once without a URL.
    started: bool,
    /// By prefix: `host[:port][/path]`, no trailing `/`.
    cache: BTreeMap<String, Headers>,
    /// Why methods failed on their last run (no credentials in these).
    failures: Vec<String>,
}

impl std::fmt::Debug for GoAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the cached headers: they are credentials.
        f.debug_struct("GoAuth")
            .field("methods", &self.methods)
            .finish_non_exhaustive()
    }
}

/// The methods `spec` names, in order; `None` for `off`.
pub fn parse(spec: &str) -> Result<Option<Vec<Method>>, GoAuthError> {
    let parts: Vec<&str> = spec.split(';').map(str::trim).collect();
    let mut methods = Vec::new();
    for part in &parts {
        let words: Vec<&str> = part.split_whitespace().collect();
        match words.first().copied() {
            None => return Err(GoAuthError::Empty(spec.to_owned())),
            Some("off") if parts.len() != 1 => {
                return Err(GoAuthError::OffCombined(spec.to_owned()));
            }
            Some("off") => return Ok(None),
            Some("netrc") => methods.push(Method::Netrc),
            Some("git") => {
                let dir = match words[..] {
                    [_, dir] if std::path::Path::new(dir).is_absolute() => dir,
                    _ => return Err(GoAuthError::GitDir(spec.to_owned())),
                };
                methods.push(Method::Git(PathBuf::from(dir)));
            }
            Some(_) => methods.push(Method::Command(split_quoted(part).map_err(|reason| {
                GoAuthError::Quoting {
                    command: (*part).to_owned(),
                    reason,
                }
            })?)),
        }
    }
    Ok(Some(methods))
}

/// cmd/internal/quoted's Split: fields separated by white space, each
/// either bare or wholly in `'` or `"` quotes (no escapes).
fn split_quoted(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut rest = s.trim_start();
    while !rest.is_empty() {
        let quote = rest.chars().next().filter(|c| matches!(c, '\'' | '"'));
        let (word, after) = match quote {
            Some(q) => {
                let end = rest[1..]
                    .find(q)
                    .ok_or_else(|| format!("unterminated {q} string"))?;
                let after = &rest[end + 2..];
                if after.starts_with(|c: char| !c.is_whitespace()) {
                    return Err(format!("unterminated {q} string"));
                }
                (&rest[1..end + 1], after)
            }
            None => {
                let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                (&rest[..end], &rest[end..])
            }
        };
        words.push(word.to_owned());
        rest = after.trim_start();
    }
    Ok(words)
}

/// A GOAUTH command's output: header blocks by URL prefix (`userauth.go`'s
/// parseUserAuth). The error never quotes header values.
pub fn parse_command_output(data: &str) -> Result<Vec<(String, Headers)>, String> {
    fn cut<'a>(data: &mut &'a str, what: &str) -> Result<&'a str, String> {
        let (line, rest) = data
            .split_once('\n')
            .ok_or_else(|| format!("invalid format: missing empty line after {what}"))?;
        *data = rest;
        Ok(line)
    }
    let mut data = data;
    let mut found = Vec::new();
    while !data.is_empty() {
        let mut prefixes = Vec::new();
        loop {
            let line = cut(&mut data, "URLs")?;
            if line.is_empty() {
                break;
            }
            let url = url::Url::parse(line).map_err(|e| {
                format!(
                    "could not parse URL {}: {e}",
                    modgate_redact::redact_url(line)
                )
            })?;
            prefixes.push(prefix_of(url.as_str()));
        }
        let mut headers = Vec::new();
        loop {
            let line = cut(&mut data, "headers")?;
            if line.is_empty() {
                break;
            }
            let (name, value) = line
                .split_once(": ")
                .map(|(n, v)| (n, v.trim()))
                .filter(|(n, v)| valid_name(n) && valid_value(v))
                .ok_or("invalid format: invalid header line")?;
            headers.push((name.to_owned(), value.to_owned()));
        }
        for p in prefixes {
            found.push((p, headers.clone()));
        }
    }
    Ok(found)
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn valid_value(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

/// The key credentials are kept under: the URL without its scheme,
/// userinfo, query and fragment, and without a trailing `/`.
fn prefix_of(url: &str) -> String {
    let bare = match url::Url::parse(url) {
        Ok(u) => match (u.host_str(), u.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}{}", u.path()),
            (Some(host), None) => format!("{host}{}", u.path()),
            _ => url.to_owned(),
        },
        Err(_) => url.to_owned(),
    };
    bare.trim_end_matches('/').to_owned()
}

/// `request` with `headers`, marked sensitive (kept out of debug output).
pub fn with_headers(
    mut request: reqwest::RequestBuilder,
    headers: Headers,
) -> reqwest::RequestBuilder {
    for (name, value) in headers {
        if let Ok(mut value) = reqwest::header::HeaderValue::from_str(&value) {
            value.set_sensitive(true);
            request = request.header(name, value);
        }
    }
    request
}

fn basic(login: &str, password: &str) -> Headers {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{login}:{password}"));
    vec![("Authorization".to_owned(), format!("Basic {token}"))]
}

impl GoAuth {
    /// GOAUTH from the environment (`netrc` when unset).
    pub fn from_env() -> Result<GoAuth, GoAuthError> {
        let spec = std::env::var(modgate_env::GOAUTH)
            .ok()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| "netrc".to_owned());
        Self::new(&spec)
    }

    pub fn new(spec: &str) -> Result<GoAuth, GoAuthError> {
        Ok(GoAuth {
            methods: parse(spec)?,
            state: Mutex::default(),
        })
    }

    /// Whether GOAUTH is `off`.
    pub fn is_off(&self) -> bool {
        self.methods.is_none()
    }

    /// The headers for a request to `url` (every method ran once first).
    pub fn headers(&self, url: &str) -> Headers {
        if self.is_off() {
            return Vec::new();
        }
        let started = self.lock().started;
        if !started {
            self.run(None);
            self.lock().started = true;
        }
        self.lookup(url)
    }

    /// After `url` answered 401 (`status`: its status line and headers):
    /// the methods run again for it; the headers to retry with, if any.
    pub fn after_unauthorized(&self, url: &str, status: &str) -> Option<Headers> {
        if self.is_off() {
            return None;
        }
        self.run(Some((url, status)));
        let headers = self.lookup(url);
        (!headers.is_empty()).then_some(headers)
    }

    /// Sends the request `build` makes to `url` with the credentials for
    /// `url`; after a 401 the methods run again for it (as go does) and
    /// the request goes once more with what they gave.
    pub async fn send(
        &self,
        url: &str,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> reqwest::Result<reqwest::Response> {
        let resp = with_headers(build(), self.headers(url)).send().await?;
        if resp.status() != reqwest::StatusCode::UNAUTHORIZED {
            return Ok(resp);
        }
        let mut status = format!("{:?} {}\n", resp.version(), resp.status());
        for (name, value) in resp.headers() {
            status.push_str(&format!(
                "{name}: {}\n",
                String::from_utf8_lossy(value.as_bytes())
            ));
        }
        status.push('\n');
        match self.after_unauthorized(url, &status) {
            Some(headers) => with_headers(build(), headers).send().await,
            None => Ok(resp),
        }
    }

    /// What to add to a 401's message: where credentials come from, and
    /// why none came.
    pub fn unauthorized_hint(&self) -> String {
        if self.is_off() {
            return " (GOAUTH=off: no credentials were sent)".to_owned();
        }
        let failures = self.failures();
        if failures.is_empty() {
            " (credentials come from user:pass@ in the URL, else GOAUTH: ~/.netrc by default)"
                .to_owned()
        } else {
            format!(" ({})", failures.join("; "))
        }
    }

    /// Why methods failed on their last run: for the message of a 401.
    pub fn failures(&self) -> Vec<String> {
        self.lock().failures.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn lookup(&self, url: &str) -> Headers {
        let state = self.lock();
        let mut prefix = prefix_of(url);
        loop {
            if let Some(headers) = state.cache.get(&prefix) {
                return headers.clone();
            }
            match prefix.rfind('/') {
                Some(i) => prefix.truncate(i),
                None => return Vec::new(),
            }
        }
    }

    /// Runs every method, last first, storing what each provides.
    fn run(&self, request: Option<(&str, &str)>) {
        let Some(methods) = &self.methods else {
            return;
        };
        self.lock().failures.clear();
        for method in methods.iter().rev() {
            let found: Vec<(String, Headers)> = match method {
                Method::Netrc => credentials::load()
                    .into_iter()
                    .rev()
                    .map(|e| {
                        let c = e.credentials;
                        (e.machine, basic(&c.login, &c.password))
                    })
                    .collect(),
                Method::Git(dir) => match request {
                    // git credential cannot list what it knows: it waits for a URL.
                    None => continue,
                    Some((url, _)) => match git_credential(dir, url) {
                        Ok(found) => vec![found],
                        Err(e) => {
                            self.lock().failures.push(format!("GOAUTH=git: {e}"));
                            continue;
                        }
                    },
                },
                Method::Command(words) => match run_command(words, request) {
                    Ok(found) => found,
                    Err(e) => {
                        self.lock().failures.push(format!("GOAUTH command {e}"));
                        continue;
                    }
                },
            };
            let mut state = self.lock();
            for (prefix, headers) in found {
                let prefix = prefix.trim_end_matches('/').to_owned();
                if headers.is_empty() {
                    state.cache.remove(&prefix);
                } else {
                    state.cache.insert(prefix, headers);
                }
            }
        }
    }
}

/// Runs a GOAUTH command (with the URL and the 401 on its stdin when
/// retrying) and parses what it printed.
fn run_command(
    words: &[String],
    request: Option<(&str, &str)>,
) -> Result<Vec<(String, Headers)>, String> {
    let shown = words.join(" ");
    let mut cmd = Command::new(&words[0]);
    cmd.args(&words[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some((url, _)) = request {
        cmd.arg(url);
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("could not run {shown}: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        let input = request.map(|(_, status)| status).unwrap_or_default();
        // A command that does not read its stdin is fine.
        let _ = stdin.write_all(input.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("could not run {shown}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{shown}: {}: {}",
            out.status,
            modgate_redact::redact_text(String::from_utf8_lossy(&out.stderr).trim())
        ));
    }
    parse_command_output(&String::from_utf8_lossy(&out.stdout))
        .map_err(|e| format!("cannot parse the output of {shown}: {e}"))
}

/// `git credential fill` for `url` in `dir`: the prefix git names (which
/// must be one of `url`) and its basic credentials.
fn git_credential(dir: &std::path::Path, url: &str) -> Result<(String, Headers), String> {
    let mut child = Command::new("git")
        .args(["credential", "fill"])
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("git credential fill: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = writeln!(stdin, "url={url}");
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("git credential fill: {e}"))?;
    if !out.status.success() {
        return Err(format!("git credential fill: {}", out.status));
    }
    let (mut scheme, mut host, mut path) = (String::new(), String::new(), String::new());
    let (mut login, mut password) = (String::new(), String::new());
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        match line.trim().split_once('=') {
            Some(("protocol", v)) => scheme = v.to_owned(),
            Some(("host", v)) => host = v.to_owned(),
            Some(("path", v)) => path = v.to_owned(),
            Some(("username", v)) => login = v.to_owned(),
            Some(("password", v)) => password = v.to_owned(),
            _ => {}
        }
    }
    let given = if path.is_empty() {
        format!("{scheme}://{host}")
    } else {
        format!("{scheme}://{host}/{}", path.trim_start_matches('/'))
    };
    if host.is_empty() || !url.starts_with(&given) {
        return Err(format!(
            "git credential fill answered for {} instead of {}",
            modgate_redact::redact_url(&given),
            modgate_redact::redact_url(url)
        ));
    }
    Ok((prefix_of(&given), basic(&login, &password)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_parse_as_go_reads_them() {
        assert_eq!(parse("off").unwrap(), None);
        assert_eq!(parse("netrc").unwrap(), Some(vec![Method::Netrc]));
        assert_eq!(
            parse("netrc; git /src/repo ;'/opt/my auth' --flag \"a b\"").unwrap(),
            Some(vec![
                Method::Netrc,
                Method::Git("/src/repo".into()),
                Method::Command(vec!["/opt/my auth".into(), "--flag".into(), "a b".into()]),
            ])
        );
        assert!(matches!(parse("netrc;;"), Err(GoAuthError::Empty(_))));
        assert!(matches!(
            parse("off;netrc"),
            Err(GoAuthError::OffCombined(_))
        ));
        assert!(matches!(parse("git"), Err(GoAuthError::GitDir(_))));
        assert!(matches!(parse("git relative"), Err(GoAuthError::GitDir(_))));
        assert!(matches!(
            parse("'unterminated"),
            Err(GoAuthError::Quoting { .. })
        ));
    }

    #[test]
    fn command_output_is_blocks_of_prefixes_then_headers() {
        let out = "https://a.example/go\nhttps://b.example:8443\n\nAuthorization: Basic eDp5\nX-Extra: 1\n\n\
                   https://c.example/\n\nAuthorization: Bearer t\n\n";
        let got = parse_command_output(out).unwrap();
        let prefixes: Vec<&str> = got.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(prefixes, ["a.example/go", "b.example:8443", "c.example"]);
        assert_eq!(got[0].1.len(), 2);
        assert_eq!(got[2].1, [("Authorization".into(), "Bearer t".into())]);
        assert_eq!(parse_command_output("").unwrap(), []);
        for bad in [
            "https://a.example\n",
            "https://a.example\n\nAuthorization: x\n",
            "https://a.example\n\nno colon here\n\n",
            "not a url\n\nA: b\n\n",
            "https://a.example\n\nBad Name: x\n\n",
        ] {
            let e = parse_command_output(bad).unwrap_err();
            assert!(!e.contains("Basic"), "{e}");
        }
    }

    #[test]
    fn the_longest_prefix_wins_and_the_first_method_named_wins() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("auth.sh");
        std::fs::write(
            &script,
            "#!/bin/sh\nprintf 'https://h.example\\n\\nAuthorization: Bearer host\\n\\n\
             https://h.example/deep/\\n\\nAuthorization: Bearer deep\\n\\n'\n",
        )
        .unwrap();
        let other = dir.path().join("other.sh");
        std::fs::write(
            &other,
            "#!/bin/sh\nprintf 'https://h.example\\n\\nAuthorization: Bearer other\\n\\n'\n",
        )
        .unwrap();
        for s in [&script, &other] {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(s, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let auth = GoAuth::new(&format!("{};{}", script.display(), other.display())).unwrap();
        let value = |url: &str| auth.headers(url).first().map(|(_, v)| v.clone());
        assert_eq!(
            value("http://h.example/x/@v/list").as_deref(),
            Some("Bearer host")
        );
        assert_eq!(
            value("https://h.example/deep/m/@v/list").as_deref(),
            Some("Bearer deep")
        );
        assert_eq!(value("https://h.example.evil/x"), None);
        assert!(!format!("{auth:?}").contains("Bearer"));
        assert!(
            GoAuth::new("off")
                .unwrap()
                .headers("https://h.example/")
                .is_empty()
        );
    }

    #[test]
    fn basic_credentials_travel_in_the_url_and_others_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("auth.sh");
        // ci:p@ss/w, and a bearer token for another prefix.
        std::fs::write(
            &script,
            "#!/bin/sh\nprintf 'https://p.example\\n\\nAuthorization: Basic Y2k6cEBzcy93\\n\\n\
             https://t.example\\n\\nAuthorization: Bearer tok\\n\\n'\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let auth = GoAuth::new(script.to_str().unwrap()).unwrap();
        let with = with_credentials(&auth, "https://p.example/go").unwrap();
        assert_eq!(with, "https://ci:p%40ss%2Fw@p.example/go");
        let (bare, c) = credentials::split_userinfo(&with);
        assert_eq!(bare, "https://p.example/go");
        assert_eq!(c.unwrap().password, "p@ss/w");
        // The URL's own credentials stand; no credentials, no change.
        let own = "https://me:pw@p.example/go";
        assert_eq!(with_credentials(&auth, own).unwrap(), own);
        assert_eq!(
            with_credentials(&auth, "https://n.example/").unwrap(),
            "https://n.example/"
        );
        let e = with_credentials(&auth, "https://t.example/go").unwrap_err();
        assert!(matches!(e, GoAuthError::NotBasic(_)), "{e}");
        assert!(!e.to_string().contains("tok"), "{e}");
    }
}
