//! The classification table: what a go command error line means and what to
//! run about it.
//!
//! Rules are ordered from the most specific cause to the least: go wraps
//! errors (`go: m@v: reading URL: 404 Not Found` around `server response:
//! … terminal prompts disabled`), and the innermost, most specific cause is
//! the useful one. The first rule that matches wins.

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
        category: "checksum_mismatch",
        cause: "the downloaded module does not match the checksum in go.sum or the checksum \
                database: the content changed (a re-tagged version, a corrupted cache, or a \
                tampering mirror)",
        fix: "go clean -modcache && go mod download; if it persists, do not edit go.sum: ask the \
              module's author whether the tag was moved, and check your GOPROXY",
        matches: |s| {
            any(
                s,
                &[
                    "checksum mismatch",
                    "security error",
                    "does not match the one reported by the checksum server",
                    "server misbehavior detected",
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
        fix: "go env -w GOPRIVATE=your.private.host  (or GONOSUMDB=your.private.host)",
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
              HTTP_PROXY), or exempt hosts: export NO_PROXY=goproxy.example.com",
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
        fix: "go env -w GOPROXY=https://proxy.golang.org,direct",
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
        fix: "go mod tidy  (or: go mod download <module>)",
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
        fix: "use a reachable mirror: go env -w GOPROXY=https://goproxy.io|https://proxy.golang.org,direct \
              (or set HTTPS_PROXY); modgate doctor shows which layer stalls",
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
        fix: "check the resolver: getent hosts proxy.golang.org; cat /etc/resolv.conf; or use a \
              mirror you can resolve: go env -w GOPROXY=https://goproxy.io|https://proxy.golang.org,direct",
        matches: dns_lookup,
    },
    Rule {
        category: "connect_refused",
        cause: "the connection was refused or dropped: nothing listens on that port, or the route \
                to the host is missing",
        fix: "check the URL and port in GOPROXY (go env GOPROXY) and that the proxy is running; \
              or use another mirror: go env -w GOPROXY=https://goproxy.io|https://proxy.golang.org,direct",
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
        fix: "use a reachable mirror with fail-over: go env -w \
              GOPROXY=https://goproxy.cn|https://goproxy.io|https://proxy.golang.org,direct \
              (or set HTTPS_PROXY)",
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
        fix: "git config --global url.\"git@github.com:\".insteadOf https://github.com/ (SSH \
              keys) or store a token: git config --global credential.helper store; and mark the \
              modules private: go env -w GOPRIVATE=github.com/yourorg",
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
        fix: "list the versions that exist: go list -m -versions <module>; then go get \
              <module>@<existing version>",
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
        fix: "for a private proxy add credentials to ~/.netrc (machine HOST login USER password \
              TOKEN); otherwise use another mirror: go env -w \
              GOPROXY=https://goproxy.io|https://proxy.golang.org,direct",
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
        fix: "retry later, or list a fallback joined with '|': go env -w \
              GOPROXY=https://goproxy.io|https://proxy.golang.org,direct",
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
        fix: "check the import path; for private modules: go env -w GOPRIVATE=your.host/org; \
              list versions with: go list -m -versions <module>",
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
        fix: "sudo apt-get install git  (or fetch through a proxy: go env -w \
              GOPROXY=https://proxy.golang.org,direct)",
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
        fix: "go get <package>  (or: go mod tidy)",
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
              list -m -versions <module>",
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
