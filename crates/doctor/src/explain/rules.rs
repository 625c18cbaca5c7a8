//! The classification table: what a go command error line means and what to
//! run about it.
//!
//! Rules are ordered from the most specific cause to the least: go wraps
//! errors (`go: m@v: reading URL: 404 Not Found` around `server response:
//! … terminal prompts disabled`), and the innermost, most specific cause is
//! the useful one. The first rule that matches wins.

use crate::config::ProxyList;

/// A cause and a fix may name `{host}` (the server in the error), `{githost}`
/// (the repository's host), `{module}`, `{private}` (the module's private
/// prefix for GOPRIVATE), `{package}` and `{mirrors}` (the way around a
/// failing proxy that fits the user's GOPROXY), filled in by [`Facts`].
pub struct Rule {
    pub category: &'static str,
    pub cause: &'static str,
    pub fix: &'static str,
    /// Tested against the lower-cased line.
    matches: fn(&str) -> bool,
}

fn any(s: &str, needles: &[&str]) -> bool {
    needles.iter().any(|n| s.contains(n))
}

/// An HTTP status in go's and git's wordings: `: 404 Not Found`,
/// `returned error: 502`, `unexpected status (URL): 403 Forbidden`, or a
/// bare `410 Gone` line.
pub fn http_status(s: &str) -> Option<u16> {
    let b = s.as_bytes();
    (0..b.len().saturating_sub(2)).find_map(|i| {
        let digits = &b[i..i + 3];
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let before_ok = i == 0
            || s[..i].ends_with(": ")
            || s[..i].ends_with("error: ")
            || s[..i].ends_with("status ")
            || s[..i].ends_with("code ")
            || s[..i].ends_with("\t");
        let after = &s[i + 3..];
        let after_ok = after.is_empty()
            || after.starts_with(' ') && after[1..].starts_with(|c: char| c.is_ascii_alphabetic())
            || after.starts_with([')', ',', ';', '\n']);
        let code: u16 = s[i..i + 3].parse().ok()?;
        (before_ok && after_ok && (400..600).contains(&code)).then_some(code)
    })
}

/// Go's DNS errors read `lookup <name>[ on <server>]: <reason>`.
fn dns_lookup(s: &str) -> bool {
    s.match_indices("lookup ").any(|(i, _)| {
        let name = s[i + 7..].split([' ', ':']).next().unwrap_or_default();
        (i == 0 || s[..i].ends_with(' '))
            && (name.contains('.') || name == "localhost")
            && !name.contains('/')
    }) || any(
        s,
        &[
            "no such host",
            "server misbehaving",
            "temporary failure in name resolution",
            "name or service not known",
            "nodename nor servname provided",
            "could not resolve host",
            "getaddrinfow",
            "no such host is known",
            "dnsquery",
        ],
    )
}

fn sumdb_lookup(s: &str) -> bool {
    s.contains("/lookup/") && (s.contains("sum.golang") || s.contains("/sumdb/"))
}

pub static RULES: &[Rule] = &[
    Rule {
        category: "go_sum_mismatch",
        cause: "{module} as downloaded now does not match the hash recorded in your go.sum: the \
                content changed since go.sum was written (a re-tagged version, a corrupted \
                cache, a tampering mirror), or go.sum was edited by hand",
        fix: "go clean -modcache && go mod download {module}; if it persists, do not edit go.sum: \
              ask the module's author whether the tag was moved (git history of go.sum shows \
              who recorded the hash), and check your GOPROXY",
        matches: |s| {
            any(
                s,
                &[
                    "does not match an earlier download recorded in go.sum",
                    "\tgo.sum:",
                    "go.sum:     h1:",
                ],
            )
        },
    },
    Rule {
        category: "sumdb_mismatch",
        cause: "{module} as downloaded does not match the hash the checksum database (GOSUMDB) \
                publishes for it: the proxy or the origin served other bytes than everyone \
                else got (a re-tagged version or tampering), or GOSUMDB names the wrong database",
        fix: "go clean -modcache && go mod download {module}; if it persists, the proxy you \
              download through serves altered content: report it to its operators (go env \
              GOPROXY), and do not turn the checksum database off",
        matches: |s| {
            any(
                s,
                &[
                    "does not match the one reported by the checksum server",
                    "server misbehavior detected",
                ],
            ) || (s.starts_with('\t')
                && s.contains(": h1:")
                && !s.contains("downloaded:")
                && !s.contains("go.sum:"))
        },
    },
    Rule {
        category: "checksum_mismatch",
        cause: "the downloaded module does not match a recorded checksum (in go.sum or the \
                checksum database): the content changed (a re-tagged version, a corrupted cache, \
                or a tampering mirror)",
        fix: "go clean -modcache && go mod download {module}; if it persists, do not edit go.sum: \
              ask the module's author whether the tag was moved, and check your GOPROXY",
        matches: |s| {
            any(
                s,
                &[
                    "checksum mismatch",
                    "security error",
                    "dir has been modified",
                    "this download does not match",
                ],
            )
        },
    },
    Rule {
        category: "sumdb_private",
        cause: "a private module was looked up in the public checksum database, which cannot \
                see it (404/410 from sum.golang.org/lookup)",
        fix: "go env -w GOPRIVATE={private}  (or GONOSUMDB={private} to keep fetching it \
              through GOPROXY)",
        matches: |s| {
            sumdb_lookup(s)
                && (matches!(http_status(s), Some(404 | 410))
                    || any(
                        s,
                        &[
                            "not found",
                            "gone",
                            "unrecognized import path",
                            "terminal prompts disabled",
                        ],
                    ))
        },
    },
    Rule {
        category: "proxy_env",
        cause: "the HTTP(S) proxy from HTTP_PROXY/HTTPS_PROXY failed: unreachable, refused or \
                wants credentials",
        fix: "check the proxy: echo $HTTPS_PROXY; fix it or unset it (unset HTTPS_PROXY \
              HTTP_PROXY), or exempt the host: export NO_PROXY={host}",
        matches: |s| {
            any(
                s,
                &[
                    "proxyconnect",
                    "proxy authentication required",
                    "socks connect",
                    "received http code 407",
                    "407 proxy",
                    "failed to connect to proxy",
                    "unable to connect to proxy",
                ],
            ) || http_status(s) == Some(407)
        },
    },
    Rule {
        category: "proxy_off",
        cause: "GOPROXY=off forbids downloading modules; only the module cache is used",
        fix: "to download, name the proxy modules come from: go env -w GOPROXY=URL (your \
              organisation's, or go env -u GOPROXY for the go command's default)",
        matches: |s| {
            any(
                s,
                &[
                    "disabled by goproxy=off",
                    "goproxy list is not the empty string, but contains no entries",
                ],
            )
        },
    },
    Rule {
        category: "toolchain",
        cause: "the module needs a newer Go toolchain than the one running, and it could not be \
                switched to or downloaded",
        fix: "install the Go version go.mod asks for, or let go fetch it: go env -w \
              GOTOOLCHAIN=auto (and make sure GOPROXY can serve golang.org/toolchain)",
        matches: |s| {
            any(
                s,
                &[
                    "toolchain not available",
                    "requires go >=",
                    "unknown directive: toolchain",
                    "invalid go version",
                    "note: module requires go",
                    "does not match go tool version",
                    "gotoolchain",
                    "cannot find goroot directory",
                    "go.mod requires go",
                    "switching to go",
                ],
            ) && !s.contains("go: added toolchain")
        },
    },
    Rule {
        category: "module_path_mismatch",
        cause: "the module's go.mod declares a different path than the one it was required by \
                (a fork, a renamed repository, or a missing /vN major-version suffix)",
        fix: "require the path the go.mod declares, or keep the fork with a replace: go mod edit \
              -replace=old/path=new/path@version && go mod tidy",
        matches: |s| {
            any(
                s,
                &[
                    "module declares its path as",
                    "but was required as",
                    "has post-v1 module path",
                    "module path must match major version",
                    "has non-...",
                    "has malformed module path",
                    "unexpected module path",
                ],
            )
        },
    },
    Rule {
        category: "missing_go_sum",
        cause: "go.sum lacks the checksum of a module the build needs (and -mod=readonly, the \
                default, forbids adding it)",
        fix: "go mod tidy  (or: go mod download {module})",
        matches: |s| {
            any(
                s,
                &[
                    "missing go.sum entry",
                    "updates to go.sum needed",
                    "to add module requirements and sums",
                ],
            )
        },
    },
    Rule {
        category: "tls_handshake_timeout",
        cause: "the TCP connection was made but the TLS handshake did not finish in time: a \
                slow or filtering network (often a firewall that lets SYN through and drops TLS)",
        fix: "modgate doctor shows which layer stalls; if this network needs an HTTP proxy, set \
              HTTPS_PROXY; {mirrors}",
        matches: |s| s.contains("tls handshake timeout"),
    },
    Rule {
        category: "tls_certificate",
        cause: "the server's certificate could not be verified: an unknown CA (often a corporate \
                TLS-intercepting proxy), an expired certificate or a wrong host name",
        fix: "install the CA certificate: sudo cp ca.crt /usr/local/share/ca-certificates/ && \
              sudo update-ca-certificates (or export SSL_CERT_FILE=/path/to/ca.pem); check the \
              clock with date",
        matches: |s| {
            any(
                s,
                &[
                    "x509:",
                    "certificate signed by unknown authority",
                    "certificate has expired",
                    "certificate is valid for",
                    "certificate is not valid",
                    "failed to verify certificate",
                    "ssl certificate problem",
                    "server certificate verification failed",
                    "unable to get local issuer certificate",
                    "self signed certificate",
                    "self-signed certificate",
                ],
            )
        },
    },
    Rule {
        category: "tls_handshake",
        cause: "the TLS handshake failed: the server speaks plain HTTP where https:// was used, \
                or something in between broke the handshake",
        fix: "if the proxy serves plain HTTP, write http:// in GOPROXY (go env -w \
              GOPROXY=http://host:port,direct); otherwise check with: modgate doctor",
        matches: |s| {
            any(
                s,
                &[
                    "first record does not look like a tls handshake",
                    "tls: handshake failure",
                    "remote error: tls",
                    "server gave http response to https client",
                    "tls: protocol version not supported",
                    "gnutls_handshake() failed",
                    "ssl_error_syscall",
                    "wrong version number",
                    "tls: unsupported",
                    "ssl routines",
                ],
            )
        },
    },
    Rule {
        category: "dns",
        cause: "the host name could not be resolved: a typo, no network, a broken resolver, or \
                a name only reachable on a VPN",
        fix: "check the name and the resolver: getent hosts {host}; cat /etc/resolv.conf (a \
              name only a VPN resolves needs the VPN); {mirrors}",
        matches: dns_lookup,
    },
    Rule {
        category: "connect_refused",
        cause: "the connection was refused or dropped: nothing listens on that port, or the route \
                to the host is missing",
        fix: "check the URL and port of {host} in GOPROXY (go env GOPROXY) and that the proxy \
              runs; {mirrors}",
        matches: |s| {
            any(
                s,
                &[
                    "connection refused",
                    "actively refused",
                    "network is unreachable",
                    "no route to host",
                    "host is unreachable",
                    "connection reset by peer",
                    "forcibly closed by the remote host",
                    "could not connect to server",
                    "unexpected eof",
                    ": eof",
                ],
            )
        },
    },
    Rule {
        category: "connect_timeout",
        cause: "no answer in time: a firewall drops the packets (common for proxy.golang.org \
                and golang.org from mainland China) or the host is down",
        fix: "if this network needs an HTTP proxy to reach {host}, set HTTPS_PROXY; {mirrors}",
        matches: |s| {
            any(
                s,
                &[
                    "i/o timeout",
                    "connection timed out",
                    "operation timed out",
                    "connection attempt failed",
                    "client.timeout exceeded",
                    "timeout awaiting response headers",
                    "deadline exceeded",
                    "timed out",
                    "did not properly respond after a period of time",
                ],
            ) || matches!(http_status(s), Some(408))
        },
    },
    Rule {
        category: "vcs_auth",
        cause: "git needs credentials for a private repository and may not prompt (the go \
                command sets GIT_TERMINAL_PROMPT=0)",
        fix: "use SSH keys: git config --global url.\"git@{githost}:\".insteadOf \
              https://{githost}/; or keep a token where git asks for it without writing it in \
              plain text: git config --global credential.helper cache (or the OS keychain: \
              libsecret, osxkeychain, manager), or ~/.netrc with chmod 600 ~/.netrc; and mark \
              the modules private: go env -w GOPRIVATE={private}",
        matches: |s| {
            any(
                s,
                &[
                    "terminal prompts disabled",
                    "could not read username",
                    "could not read password",
                    "authentication failed",
                    "permission denied (publickey",
                    "host key verification failed",
                    "access denied",
                    "invalid username or password",
                    "if this is a private repository",
                    "could not read from remote repository",
                    "returned error: 401",
                    "returned error: 403",
                    "password authentication was removed",
                    "invalid credentials",
                    "git_https",
                    "confirm the import path was typed correctly",
                    // git's exit status when it could not authenticate;
                    // network causes in the same error rank higher.
                    "exit status 128",
                ],
            )
        },
    },
    Rule {
        category: "unknown_revision",
        cause: "the requested version, tag, branch or commit does not exist in the repository \
                (a typo, a deleted tag, or a commit not pushed)",
        fix: "list the versions that exist: go list -m -versions {module}; then go get \
              {module}@VERSION with one of them",
        matches: |s| {
            any(
                s,
                &[
                    "unknown revision",
                    "couldn't find remote ref",
                    "no matching versions for query",
                    "invalid pseudo-version",
                    "unknown commit",
                    "reference not found",
                    "bad revision",
                ],
            )
        },
    },
    Rule {
        category: "forbidden",
        cause: "the server refused the request (401/403/429): credentials needed, an IP block, \
                rate limiting, or a module the mirror will not serve",
        fix: "if {host} needs credentials, put them in ~/.netrc (machine {host} login USER \
              password TOKEN; chmod 600 ~/.netrc) or GOAUTH; {mirrors}",
        matches: |s| {
            matches!(http_status(s), Some(401 | 403 | 429))
                || any(
                    s,
                    &["403 forbidden", "401 unauthorized", "too many requests"],
                )
        },
    },
    Rule {
        category: "upstream_5xx",
        cause: "the proxy (or the server behind it) failed with a 5xx error: an outage or \
                overload on its side",
        fix: "retry later; {mirrors}",
        matches: |s| {
            matches!(http_status(s), Some(500..=599))
                || any(
                    s,
                    &[
                        "bad gateway",
                        "service unavailable",
                        "gateway timeout",
                        "internal server error",
                    ],
                )
        },
    },
    Rule {
        category: "not_found",
        cause: "the module, version or package does not exist at that path (404/410): a typo, a \
                private module asked of a public proxy, or a removed repository",
        fix: "check the import path; if {module} is private: go env -w GOPRIVATE={private}; \
              list its versions with: go list -m -versions {module}",
        matches: |s| {
            matches!(http_status(s), Some(404 | 410))
                || (s.contains("fatal: repository '") && s.contains("not found"))
                || any(
                    s,
                    &[
                        "404 not found",
                        "410 gone",
                        "repository not found",
                        "unrecognized import path",
                        "cannot find module providing package",
                        "but does not contain package",
                        "no go-import meta tags",
                        "does not appear to be a git repository",
                        "not found:",
                    ],
                )
        },
    },
    Rule {
        category: "vcs_missing",
        cause: "the version control tool the go command needs for a direct download is not \
                installed",
        fix: "install it (sudo apt-get install git), or fetch {module} through a proxy that \
              has it instead of directly (go env GOPROXY)",
        matches: |s| {
            s.contains("executable file not found")
                && any(s, &["git", "hg", "svn", "bzr", "fossil"])
        },
    },
    Rule {
        category: "govcs",
        cause: "GOVCS forbids the version control system this module needs",
        fix: "go env -w GOVCS=private:all,public:git|hg",
        matches: |s| s.contains("govcs disallows"),
    },
    Rule {
        category: "missing_requirement",
        cause: "an imported package is not provided by any module in go.mod",
        fix: "go get {package}  (or: go mod tidy)",
        matches: |s| {
            any(
                s,
                &[
                    "no required module provides package",
                    "is not in goroot",
                    "is not in std",
                ],
            )
        },
    },
    Rule {
        category: "go_mod_outdated",
        cause: "go.mod needs updating and the command may not change it (-mod=readonly)",
        fix: "go mod tidy",
        matches: |s| s.contains("updates to go.mod needed"),
    },
    Rule {
        category: "vendor",
        cause: "the vendor directory does not match go.mod, or -mod=vendor forbids the lookup",
        fix: "go mod vendor  (or build with -mod=mod)",
        matches: |s| any(s, &["inconsistent vendoring", "disabled by -mod=vendor"]),
    },
    Rule {
        category: "go_mod_missing",
        cause: "the command runs outside any module: no go.mod in this directory or its parents",
        fix: "cd to the module, or create one: go mod init example.com/yourmodule",
        matches: |s| any(s, &["go.mod file not found", "cannot find main module"]),
    },
    Rule {
        category: "module_mode",
        cause: "modules are disabled (GO111MODULE=off or GOPATH mode), so go.mod and GOPROXY are \
                ignored",
        fix: "go env -w GO111MODULE=on",
        matches: |s| {
            any(
                s,
                &[
                    "disabled by go111module=off",
                    "in gopath mode",
                    "go111module=off",
                ],
            )
        },
    },
    Rule {
        category: "invalid_module_path",
        cause: "the module path is malformed",
        fix: "use a path with a dot in its first element, e.g. go mod init example.com/name, and \
              check the import path for typos",
        matches: |s| {
            any(
                s,
                &[
                    "malformed module path",
                    "invalid module path",
                    "malformed import path",
                    "missing dot in first path element",
                ],
            )
        },
    },
    Rule {
        category: "sumdb",
        cause: "the checksum database setting is invalid or the database misbehaved",
        fix: "go env -w GOSUMDB=sum.golang.org",
        matches: |s| {
            any(
                s,
                &[
                    "invalid gosumdb",
                    "missing gosumdb",
                    "checksum database disabled",
                    "malformed verifier id",
                ],
            )
        },
    },
    Rule {
        category: "module_cache",
        cause: "the module cache cannot be written: permissions or a full disk",
        fix: "check the owner and free space of $(go env GOMODCACHE); sudo chown -R $USER \
              $(go env GOMODCACHE)",
        matches: |s| {
            any(
                s,
                &[
                    "permission denied",
                    "no space left on device",
                    "read-only file system",
                    "module cache not found",
                ],
            )
        },
    },
    Rule {
        category: "invalid_proxy_response",
        cause: "the proxy answered something that is not the GOPROXY protocol (an HTML page, a \
                login portal, or a broken mirror)",
        fix: "check the URL in GOPROXY is a module proxy: curl -s \"$(go env GOPROXY | cut -d, \
              -f1)/golang.org/x/text/@v/list\"",
        matches: |s| {
            any(
                s,
                &[
                    "invalid response from proxy",
                    "zip: not a valid zip file",
                    "unexpected status",
                ],
            )
        },
    },
    Rule {
        category: "invalid_version",
        cause: "the version string is not valid for this module",
        fix: "use a semantic version (v1.2.3) matching the module's major version suffix: go \
              list -m -versions {module}",
        matches: |s| {
            any(
                s,
                &[
                    "invalid version",
                    "version \"",
                    "should be v0 or v1",
                    "+incompatible",
                ],
            ) && s.contains("invalid")
        },
    },
];

/// Failures of the network between here and a server. Inside a proxy's
/// `server response:` they happened on the proxy's side, not here.
const LOCAL_NETWORK: &[&str] = &[
    "proxy_env",
    "tls_handshake_timeout",
    "tls_certificate",
    "tls_handshake",
    "dns",
    "connect_refused",
    "connect_timeout",
];

/// The first rule that matches the line, if any. `remote`: the line is
/// (part of) a proxy's `server response:`.
pub fn classify(line: &str, remote: bool) -> Option<(usize, &'static Rule)> {
    let lower = line.to_ascii_lowercase();
    RULES
        .iter()
        .enumerate()
        .filter(|(_, r)| !(remote && LOCAL_NETWORK.contains(&r.category)))
        .find(|(_, r)| (r.matches)(&lower))
}

/// What one failure's text says about itself, to fill in its cause and fix.
pub struct Facts {
    host: Option<String>,
    githost: Option<String>,
    module: Option<String>,
    package: Option<String>,
    mirrors: String,
}

impl Facts {
    pub fn find(text: &str, goproxy: &ProxyList) -> Self {
        let module = text.lines().find_map(module_version).map(|(m, _)| m);
        // git names its remote in quotes: `for 'https://github.com'`,
        // `repository 'https://…/'`, `unable to access 'https://…/'`.
        let quoted = text.split('\'').skip(1).step_by(2).find_map(url_host);
        let host = text
            .split(|c: char| c.is_whitespace() || c == '"' || c == '\'')
            .find_map(url_host)
            .or_else(|| lookup_host(text));
        let githost = quoted.or_else(|| {
            module
                .as_deref()
                .map(|m| m.split('/').next().unwrap_or(m).to_owned())
        });
        let package = text.split("provides package ").nth(1).map(|rest| {
            rest.split([' ', ';', '"', '\n'])
                .next()
                .unwrap_or_default()
                .to_owned()
        });
        Self {
            host,
            githost,
            module,
            package,
            mirrors: mirrors_advice(goproxy),
        }
    }

    /// `template` with this failure's facts in place of `{host}`, …; a fact
    /// the text does not give is described, never invented.
    pub fn fill(&self, template: &str) -> String {
        let or = |v: &Option<String>, described: &str| v.clone().unwrap_or(described.to_owned());
        let private = match (&self.module, &self.githost) {
            (Some(m), _) => private_prefix(m),
            (None, Some(h)) => h.clone(),
            (None, None) => "PATH-PREFIX-OF-YOUR-PRIVATE-MODULES".to_owned(),
        };
        template
            .replace("{host}", &or(&self.host, "the server"))
            .replace("{githost}", &or(&self.githost, "your git host"))
            .replace("{module}", &or(&self.module, "the module"))
            .replace("{package}", &or(&self.package, "the package"))
            .replace("{private}", &private)
            .replace("{mirrors}", &self.mirrors)
    }
}

/// The way around a failing proxy that fits the user's GOPROXY: public
/// mirrors only where GOPROXY already uses them; the organisation's own
/// proxy is to be reached or fixed, never replaced.
fn mirrors_advice(goproxy: &ProxyList) -> String {
    let own: Vec<String> = goproxy
        .own_proxies()
        .map(|e| url_host(&e.url).unwrap_or_else(|| modgate_redact::redact_url(&e.url)))
        .collect();
    if !own.is_empty() {
        format!(
            "{} is the proxy your GOPROXY names, which public mirrors cannot stand in for: reach \
             it (VPN, HTTPS_PROXY) or ask its operators",
            own.join(", ")
        )
    } else if goproxy.public_advice_fits() {
        format!(
            "or list mirrors joined with '|' so that a failing one is skipped: {}",
            crate::config::goproxy_command(crate::config::FALLBACK_MIRRORS)
        )
    } else {
        "or name a proxy that answers: go env -w GOPROXY=URL".to_owned()
    }
}

/// The host of an `http(s)://` URL at the start of `word`.
fn url_host(word: &str) -> Option<String> {
    let start = word.find("https://").or_else(|| word.find("http://"))?;
    let url = url::Url::parse(word[start..].trim_end_matches([':', ',', ')', '.'])).ok()?;
    url.host_str().map(str::to_owned)
}

/// `lookup HOST` in go's DNS errors.
fn lookup_host(text: &str) -> Option<String> {
    text.split("lookup ").skip(1).find_map(|rest| {
        let name = rest.split([' ', ':']).next()?;
        (name.contains('.') && !name.contains('/')).then(|| name.to_owned())
    })
}

/// The GOPRIVATE pattern for `module`: its host, plus the owner on the big
/// code hosts (a whole github.com is never private).
fn private_prefix(module: &str) -> String {
    let mut parts = module.split('/');
    let host = parts.next().unwrap_or(module);
    match parts.next() {
        Some(owner) if ["github.com", "gitlab.com", "bitbucket.org"].contains(&host) => {
            format!("{host}/{owner}")
        }
        _ => host.to_owned(),
    }
}

/// The first `module@version` in `line` (`go: m@v: …`, `verifying m@v/go.mod`,
/// a checksum-database lookup URL), as the go command writes them.
pub fn module_version(line: &str) -> Option<(String, String)> {
    line.match_indices("@v").find_map(|(at, _)| {
        let before = &line[..at];
        let start = before
            .rfind(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '(' | ','))
            .map_or(0, |i| i + 1);
        let mut module = &before[start..];
        if let Some(i) = module.find("/lookup/") {
            module = &module[i + "/lookup/".len()..];
        }
        let version: String = line[at + 1..]
            .chars()
            .take_while(|c| !(c.is_whitespace() || matches!(c, ':' | '/' | '"' | ')' | ',')))
            .collect();
        let first = module.split('/').next().unwrap_or_default();
        (first.contains('.') && !module.contains("://") && version.len() > 1)
            .then(|| (module.to_owned(), version))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_http_statuses() {
        assert_eq!(
            http_status("reading https://x/@v/list: 404 Not Found"),
            Some(404)
        );
        assert_eq!(
            http_status("The requested URL returned error: 502"),
            Some(502)
        );
        assert_eq!(http_status("410 Gone"), Some(410));
        assert_eq!(
            http_status("unexpected status (https://x): 403 Forbidden"),
            Some(403)
        );
        assert_eq!(http_status("dial tcp 142.251.42.17:443: i/o timeout"), None);
        assert_eq!(http_status("v0.0.0-20200404041234-e2f9c7f1fc8e"), None);
        assert_eq!(http_status("go: github.com/a/b@v1.404.0: reading"), None);
    }

    #[test]
    fn every_category_has_a_cause_and_fix() {
        for r in RULES {
            assert!(!r.cause.is_empty() && !r.fix.is_empty(), "{}", r.category);
        }
    }
}
