//! Real go command error lines: quoted in blog posts about module download
//! failures, in the go command's own test scripts (cmd/go/testdata/script)
//! and sources, and in issue reports.

use super::*;

/// The go command's default GOPROXY: public mirrors.
fn public() -> ProxyList {
    ProxyList::parse("https://proxy.golang.org,direct")
}

fn explain(text: &str) -> Vec<Explanation> {
    super::explain(text, &public())
}

/// (line, expected category)
const CORPUS: &[(&str, &str)] = &[
    // dns
    (
        "go: golang.org/x/text@v0.14.0: Get \"https://proxy.golang.org/golang.org/x/text/@v/v0.14.0.mod\": dial tcp: lookup proxy.golang.org: no such host",
        "dns",
    ),
    (
        "dial tcp: lookup proxy.golang.org on 127.0.0.53:53: server misbehaving",
        "dns",
    ),
    (
        "go: github.com/gin-gonic/gin@v1.9.1: Get \"https://goproxy.cn/github.com/gin-gonic/gin/@v/v1.9.1.info\": dial tcp: lookup goproxy.cn on 8.8.8.8:53: read udp 192.168.1.5:50514->8.8.8.8:53: i/o timeout",
        "dns",
    ),
    (
        "dial tcp: lookup proxy.golang.org on [::1]:53: read udp [::1]:51234->[::1]:53: read: connection refused",
        "dns",
    ),
    (
        "go: example.com/m@v1.0.0: Get \"https://goproxy.corp.example.com/example.com/m/@v/v1.0.0.info\": dial tcp: lookup goproxy.corp.example.com: Temporary failure in name resolution",
        "dns",
    ),
    (
        "fatal: unable to access 'https://git.corp.example.com/team/lib.git/': Could not resolve host: git.corp.example.com",
        "dns",
    ),
    (
        "verifying github.com/pkg/errors@v0.9.1: github.com/pkg/errors@v0.9.1: Get \"https://sum.golang.org/lookup/github.com/pkg/errors@v0.9.1\": dial tcp: lookup sum.golang.org: no such host",
        "dns",
    ),
    (
        "dial tcp: lookup proxy.golang.org: getaddrinfow: The requested name is valid, but no data of the requested type was found.",
        "dns",
    ),
    // connect_refused
    (
        "go: github.com/spf13/cobra@v1.8.0: Get \"http://127.0.0.1:3000/github.com/spf13/cobra/@v/v1.8.0.info\": dial tcp 127.0.0.1:3000: connect: connection refused",
        "connect_refused",
    ),
    (
        "Get \"https://goproxy.io/golang.org/x/sys/@v/list\": dial tcp 127.0.0.1:443: connectex: No connection could be made because the target machine actively refused it.",
        "connect_refused",
    ),
    (
        "dial tcp [2607:f8b0:4004:c07::8d]:443: connect: network is unreachable",
        "connect_refused",
    ),
    (
        "dial tcp 10.0.0.7:443: connect: no route to host",
        "connect_refused",
    ),
    (
        "read tcp 192.168.1.2:51234->142.251.42.17:443: read: connection reset by peer",
        "connect_refused",
    ),
    ("connect: connection refused", "connect_refused"),
    // connect_timeout
    ("dial tcp 142.251.42.17:443: i/o timeout", "connect_timeout"),
    (
        "go get golang.org/x/example: module golang.org/x/example: Get \"https://proxy.golang.org/golang.org/x/example/@v/v0.1.0.info\": dial tcp 142.251.42.17:443: i/o timeout",
        "connect_timeout",
    ),
    (
        "go: failed to fetch module info: Get https://proxy.golang.org/...: dial tcp: i/o timeout",
        "connect_timeout",
    ),
    (
        "go mod tidy: go get example.com/pkg@latest: Get \"https://example.com/pkg?go-get=1\": dial tcp: i/o timeout",
        "connect_timeout",
    ),
    (
        "go: golang.org/x/net@v0.17.0: Get \"https://proxy.golang.org/golang.org/x/net/@v/v0.17.0.zip\": dial tcp 172.217.160.81:443: connect: connection timed out",
        "connect_timeout",
    ),
    (
        "dial tcp 216.58.200.49:443: connectex: A connection attempt failed because the connected party did not properly respond after a period of time, or established connection failed because connected host has failed to respond.",
        "connect_timeout",
    ),
    (
        "Get \"https://proxy.golang.org/github.com/x/y/@v/list\": net/http: request canceled while waiting for connection (Client.Timeout exceeded while awaiting headers)",
        "connect_timeout",
    ),
    (
        "unrecognized import path \"golang.org/x/sys\": https fetch: Get \"https://golang.org/x/sys?go-get=1\": dial tcp 216.239.37.1:443: i/o timeout",
        "connect_timeout",
    ),
    (
        "verifying module: github.com/stretchr/testify@v1.8.4: Get \"https://sum.golang.org/lookup/github.com/stretchr/testify@v1.8.4\": dial tcp 142.251.43.17:443: i/o timeout",
        "connect_timeout",
    ),
    (
        "fatal: unable to access 'https://github.com/org/repo/': Failed to connect to github.com port 443 after 21045 ms: Timed out",
        "connect_timeout",
    ),
    // tls_handshake_timeout
    ("net/http: TLS handshake timeout", "tls_handshake_timeout"),
    (
        "Fetching https://proxy.golang.org/...: net/http: TLS handshake timeout",
        "tls_handshake_timeout",
    ),
    (
        "go: golang.org/x/crypto@v0.14.0: Get \"https://proxy.golang.org/golang.org/x/crypto/@v/v0.14.0.zip\": net/http: TLS handshake timeout",
        "tls_handshake_timeout",
    ),
    // tls_certificate
    (
        "x509: certificate signed by unknown authority",
        "tls_certificate",
    ),
    (
        "go: github.com/sirupsen/logrus@v1.9.3: Get \"https://proxy.golang.org/github.com/sirupsen/logrus/@v/v1.9.3.mod\": tls: failed to verify certificate: x509: certificate signed by unknown authority",
        "tls_certificate",
    ),
    (
        "Get \"https://goproxy.corp.example.com/golang.org/x/text/@v/list\": x509: certificate has expired or is not yet valid: current time 2024-03-01T10:00:00+08:00 is after 2024-02-28T23:59:59Z",
        "tls_certificate",
    ),
    (
        "x509: certificate is valid for *.example.net, example.net, not goproxy.example.com",
        "tls_certificate",
    ),
    (
        "tls: failed to verify certificate: x509: certificate signed by unknown authority (possibly because of \"crypto/rsa: verification error\" while trying to verify candidate authority certificate \"corp-proxy-ca\")",
        "tls_certificate",
    ),
    (
        "fatal: unable to access 'https://git.corp.example.com/lib.git/': SSL certificate problem: self-signed certificate in certificate chain",
        "tls_certificate",
    ),
    (
        "server certificate verification failed. CAfile: none CRLfile: none",
        "tls_certificate",
    ),
    // tls_handshake
    (
        "Get \"https://127.0.0.1:3000/golang.org/x/text/@v/list\": http: server gave HTTP response to HTTPS client",
        "tls_handshake",
    ),
    (
        "tls: first record does not look like a TLS handshake",
        "tls_handshake",
    ),
    ("remote error: tls: handshake failure", "tls_handshake"),
    // not_found
    (
        "go: rsc.io/quote@v1.999.999: reading https://proxy.golang.org/rsc.io/quote/@v/v1.999.999.info: 404 Not Found",
        "not_found",
    ),
    (
        "go: example.com/cmd@v1.1.0-doesnotexist: reading http://127.0.0.1:8080/mod/example.com/cmd/@v/v1.1.0-doesnotexist.info: 404 Not Found",
        "not_found",
    ),
    ("\tserver response: 404 page not found", "not_found"),
    (
        "go: module example.net/directnotfound: reading https://goproxy.io/example.net/directnotfound/@v/list: 404 Not Found",
        "not_found",
    ),
    (
        "go: github.com/nonexistent/pkg@latest: reading https://goproxy.cn/github.com/nonexistent/pkg/@v/list: 410 Gone",
        "not_found",
    ),
    (
        "cannot find module providing package example.net/indirectnotfound: module example.net/indirectnotfound: reading http://127.0.0.1:3000/example.net/indirectnotfound/@v/list: 404 Not Found",
        "not_found",
    ),
    (
        "unrecognized import path \"example.com/nope\": reading https://example.com/nope?go-get=1: 404 Not Found",
        "not_found",
    ),
    (
        "go: example.com/m: unrecognized import path \"example.com/m\": parse https://example.com/m?go-get=1: no go-import meta tags ()",
        "not_found",
    ),
    ("404 Not Found", "not_found"),
    // forbidden
    (
        "go: github.com/corp/lib@v1.2.0: reading https://goproxy.corp.example.com/github.com/corp/lib/@v/v1.2.0.info: 403 Forbidden",
        "forbidden",
    ),
    ("403 Forbidden", "forbidden"),
    (
        "go: example.com/private@v0.1.0: reading https://athens.corp.example.com/example.com/private/@v/v0.1.0.mod: 401 Unauthorized",
        "forbidden",
    ),
    (
        "go: golang.org/x/tools@v0.15.0: reading https://goproxy.io/golang.org/x/tools/@v/v0.15.0.zip: 429 Too Many Requests",
        "forbidden",
    ),
    // upstream_5xx
    ("502 Bad Gateway", "upstream_5xx"),
    (
        "go: github.com/labstack/echo/v4@v4.11.3: reading https://goproxy.cn/github.com/labstack/echo/v4/@v/v4.11.3.zip: 502 Bad Gateway",
        "upstream_5xx",
    ),
    (
        "go: golang.org/x/text@v0.14.0: reading https://mirrors.aliyun.com/goproxy/golang.org/x/text/@v/v0.14.0.info: 504 Gateway Timeout",
        "upstream_5xx",
    ),
    (
        "go: k8s.io/api@v0.28.3: reading https://goproxy.io/k8s.io/api/@v/v0.28.3.mod: 503 Service Unavailable",
        "upstream_5xx",
    ),
    (
        "go: example.com/m@v1.0.0: reading http://127.0.0.1:3000/example.com/m/@v/v1.0.0.zip: 500 Internal Server Error",
        "upstream_5xx",
    ),
    // checksum_mismatch
    ("SECURITY ERROR", "checksum_mismatch"),
    (
        "verifying github.com/foo/bar@v1.2.3: checksum mismatch",
        "checksum_mismatch",
    ),
    (
        "go: verifying module: checksum mismatch",
        "checksum_mismatch",
    ),
    (
        "This download does NOT match the one reported by the checksum server.",
        "sumdb_mismatch",
    ),
    (
        "verifying github.com/foo/bar@v1.2.3/go.mod: checksum mismatch",
        "checksum_mismatch",
    ),
    (
        "go.sum database server misbehavior detected!",
        "sumdb_mismatch",
    ),
    // sumdb_private
    (
        "verifying github.com/acme/private@v0.1.0: github.com/acme/private@v0.1.0: reading https://sum.golang.org/lookup/github.com/acme/private@v0.1.0: 404 Not Found",
        "sumdb_private",
    ),
    (
        "go: git.corp.example.com/team/lib@v1.0.0: verifying module: git.corp.example.com/team/lib@v1.0.0: reading https://sum.golang.org/lookup/git.corp.example.com/team/lib@v1.0.0: 410 Gone",
        "sumdb_private",
    ),
    (
        "verifying go.mod: gitlab.corp.example.com/g/m@v1.0.0/go.mod: reading https://goproxy.cn/sumdb/sum.golang.org/lookup/gitlab.corp.example.com/g/m@v1.0.0: 404 Not Found",
        "sumdb_private",
    ),
    // vcs_auth
    (
        "fatal: could not read Username for 'https://github.com': terminal prompts disabled",
        "vcs_auth",
    ),
    (
        "go: github.com/acme/private@v0.0.0-20240101000000-abcdefabcdef: invalid version: git ls-remote -q origin in /home/u/go/pkg/mod/cache/vcs/0123: exit status 128:",
        "vcs_auth",
    ),
    (
        "\tfatal: could not read Username for 'https://gitlab.corp.example.com': terminal prompts disabled",
        "vcs_auth",
    ),
    ("git@github.com: Permission denied (publickey).", "vcs_auth"),
    (
        "fatal: Authentication failed for 'https://gitlab.corp.example.com/team/lib.git/'",
        "vcs_auth",
    ),
    ("remote: HTTP Basic: Access denied", "vcs_auth"),
    (
        "If this is a private repository, see https://golang.org/doc/faq#git_https for additional information.",
        "vcs_auth",
    ),
    ("Host key verification failed.", "vcs_auth"),
    // proxy_env
    (
        "proxyconnect tcp: dial tcp 127.0.0.1:7890: connect: connection refused",
        "proxy_env",
    ),
    (
        "go: golang.org/x/text@v0.14.0: Get \"https://proxy.golang.org/golang.org/x/text/@v/v0.14.0.info\": proxyconnect tcp: dial tcp 10.0.0.1:3128: i/o timeout",
        "proxy_env",
    ),
    (
        "Get \"https://proxy.golang.org/golang.org/x/text/@v/list\": Proxy Authentication Required",
        "proxy_env",
    ),
    (
        "Get \"https://proxy.golang.org/x\": socks connect tcp 127.0.0.1:1080->proxy.golang.org:443: dial tcp 127.0.0.1:1080: connect: connection refused",
        "proxy_env",
    ),
    // proxy_off
    (
        "go: golang.org/x/text: module lookup disabled by GOPROXY=off",
        "proxy_off",
    ),
    (
        "doc: cannot find module providing package example.com/hello: module lookup disabled by GOPROXY=off",
        "proxy_off",
    ),
    (
        "go: upgraded rsc.io/quote v1.0.0 => v1.5.2: error finding sum for rsc.io/quote@v1.5.2: module lookup disabled by GOPROXY=off",
        "proxy_off",
    ),
    // unknown_revision
    (
        "go: github.com/golang/term@86186f3aba07ed0212cfb944f3398997d2d07c6b: invalid version: unknown revision 86186f3aba07ed0212cfb944f3398997d2d07c6b",
        "unknown_revision",
    ),
    (
        "go: github.com/foo/bar@v1.2.3: invalid version: unknown revision v1.2.3",
        "unknown_revision",
    ),
    (
        "\tserver response: not found: github.com/foo/bar@v9.9.9: invalid version: unknown revision v9.9.9",
        "unknown_revision",
    ),
    (
        "go: module github.com/foo/bar: no matching versions for query \"v1.5.0\"",
        "unknown_revision",
    ),
    (
        "go: toolchain@go1.24: no matching versions for query \"go1.24\"",
        "unknown_revision",
    ),
    (
        "fatal: couldn't find remote ref refs/heads/feature-x",
        "unknown_revision",
    ),
    // module_path_mismatch
    ("go: github.com/old/name@v1.0.0: parsing go.mod:", "other"),
    (
        "\tmodule declares its path as: github.com/new/name",
        "module_path_mismatch",
    ),
    (
        "\t        but was required as: github.com/old/name",
        "module_path_mismatch",
    ),
    (
        "go: github.com/pierrec/lz4@v2.0.8+incompatible: invalid version: module contains a go.mod file, so module path must match major version (\"github.com/pierrec/lz4/v2\")",
        "module_path_mismatch",
    ),
    (
        "go: gopkg.in/src-d/go-git.v3@v3.2.0 (replaced by gopkg.in/src-d/go-git.v3@v3.0.0-20190801152248-0d1a009cbb60): version \"v3.0.0-20190801152248-0d1a009cbb60\" invalid: go.mod has non-....v3 module path \"gopkg.in/src-d/go-git.v4\" at revision 0d1a009cbb60",
        "module_path_mismatch",
    ),
    // missing_go_sum
    (
        "main.go:5:2: missing go.sum entry for module providing package github.com/gin-gonic/gin (imported by example.com/app); to add:",
        "missing_go_sum",
    ),
    (
        "go: rsc.io/quote@v1.5.2: missing go.sum entry for go.mod file; to add it:",
        "missing_go_sum",
    ),
    (
        "go: updates to go.sum needed, disabled by -mod=readonly",
        "missing_go_sum",
    ),
    (
        "../m2/q/q_test.go:3:8: example.com/generics@v1.0.0: missing go.sum entry for go.mod file; to add it:",
        "missing_go_sum",
    ),
    // toolchain
    (
        "go: download go1.22.0 for linux/amd64: toolchain not available",
        "toolchain",
    ),
    (
        "go: rsc.io/needgo122@v0.0.1 requires go >= 1.22 (running go 1.21; GOTOOLCHAIN=local)",
        "toolchain",
    ),
    (
        "go: go.mod requires go >= 1.23.0 (running go 1.21.5; GOTOOLCHAIN=local)",
        "toolchain",
    ),
    ("go: errors parsing go.mod:\n", "other"),
    (
        "/home/u/app/go.mod:3: invalid go version '1.21.0': must match format 1.23",
        "toolchain",
    ),
    ("go.mod:5: unknown directive: toolchain", "toolchain"),
    ("note: module requires Go 1.22", "toolchain"),
    (
        "compile: version \"go1.22.1\" does not match go tool version \"go1.21.6\"",
        "toolchain",
    ),
    // others worth explaining
    (
        "go: go.mod file not found in current directory or any parent directory; see 'go help modules'",
        "go_mod_missing",
    ),
    (
        "main.go:4:2: no required module provides package github.com/google/uuid; to add it:",
        "missing_requirement",
    ),
    (
        "go: updates to go.mod needed; to update it:",
        "go_mod_outdated",
    ),
    ("go: inconsistent vendoring in /home/u/app:", "vendor"),
    (
        "go: modules disabled by GO111MODULE=off; see 'go help modules'",
        "module_mode",
    ),
    (
        "go: cannot use path@version syntax in GOPATH mode",
        "module_mode",
    ),
    (
        "go: bad/path@latest: malformed module path \"bad/path\": missing dot in first path element",
        "invalid_module_path",
    ),
    (
        "go: github.com/foo/bar@v1.0.0: git ls-remote -q origin in /tmp/x: exec: \"git\": executable file not found in $PATH",
        "vcs_missing",
    ),
    (
        "go: module github.com/foo/bar: git ls-remote -q origin: GOVCS disallows using git for public github.com/foo/bar; see 'go help vcs'",
        "govcs",
    ),
    (
        "go: golang.org/x/text@v0.3.2: verifying module: invalid GOSUMDB: malformed verifier id",
        "sumdb",
    ),
    (
        "go: writing go.mod cache: mkdir /root/go/pkg/mod/cache/download/github.com: permission denied",
        "module_cache",
    ),
    (
        "go: rsc.io/quote@1.5.2: invalid version: invalid response from proxy \"http://127.0.0.1:3000\": invalid character 'i' looking for beginning of value",
        "invalid_proxy_response",
    ),
    (
        "go: github.com/x/y@v1.0.0: Get \"https://proxy.golang.org/github.com/x/y/@v/v1.0.0.zip\": unexpected EOF",
        "connect_refused",
    ),
    (
        "go: module github.com/x/y@latest found (v1.2.0), but does not contain package github.com/x/y/z",
        "not_found",
    ),
    (
        "fatal: repository 'https://github.com/x/gone/' not found",
        "not_found",
    ),
    (
        "go: github.com/x/y@v1.0.0: verifying go.mod: github.com/x/y@v1.0.0/go.mod: reading https://sum.golang.org/tile/8/0/x082/512: 502 Bad Gateway",
        "upstream_5xx",
    ),
    (
        "go: github.com/x/y@v1.0.0: verifying module: github.com/x/y@v1.0.0: Get \"https://sum.golang.org/lookup/github.com/x/y@v1.0.0\": net/http: TLS handshake timeout",
        "tls_handshake_timeout",
    ),
    (
        "go: github.com/x/y@v1.0.0: reading github.com/x/y/go.mod at revision v1.0.0: unknown revision v1.0.0",
        "unknown_revision",
    ),
];

#[test]
fn classifies_the_corpus() {
    let mut wrong = Vec::new();
    for (line, want) in CORPUS {
        let got = explain(line);
        let got = got.first().map_or("other", |e| e.category);
        if got != *want {
            wrong.push(format!("{want:>22} ≠ {got:<22} {line}"));
        }
    }
    assert!(wrong.is_empty(), "misclassified:\n{}", wrong.join("\n"));
}

#[test]
fn covers_every_issue_category() {
    for cat in [
        "dns",
        "connect_refused",
        "connect_timeout",
        "tls_handshake_timeout",
        "tls_certificate",
        "not_found",
        "forbidden",
        "upstream_5xx",
        "checksum_mismatch",
        "sumdb_private",
        "vcs_auth",
        "proxy_env",
        "proxy_off",
        "unknown_revision",
        "module_path_mismatch",
        "missing_go_sum",
        "toolchain",
    ] {
        assert!(
            CORPUS.iter().filter(|(_, c)| *c == cat).count() >= 3,
            "too few lines for {cat}"
        );
    }
}

#[test]
fn nested_errors_take_the_most_specific_cause() {
    // A private module asked of the public proxy and checksum database: the
    // 404 wraps git's prompt failure, which wraps nothing; the lookup URL
    // says where it went wrong.
    let sumdb = "go: github.com/acme/private@v0.1.0: verifying module: github.com/acme/private@v0.1.0: reading https://sum.golang.org/lookup/github.com/acme/private@v0.1.0: 404 Not Found\n\
                 \tserver response:\n\
                 \tnot found: github.com/acme/private@v0.1.0: invalid version: git ls-remote -q origin in /tmp/gopath/pkg/mod/cache/vcs/91b3: exit status 128:\n\
                 \t\tfatal: could not read Username for 'https://github.com': terminal prompts disabled\n\
                 \tConfirm the import path was typed correctly.\n\
                 \tIf this is a private repository, see https://golang.org/doc/faq#git_https for additional information.\n";
    let got = explain(sumdb);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].category, "sumdb_private", "{got:?}");
    assert!(
        got[0].fix.contains("GOPRIVATE=github.com/acme "),
        "{}",
        got[0].fix
    );

    let proxy = "go: github.com/acme/private@v0.1.0: reading https://proxy.golang.org/github.com/acme/private/@v/v0.1.0.info: 410 Gone\n\
                 \tserver response: not found: github.com/acme/private@v0.1.0: invalid version: git ls-remote -q origin in /tmp/x: exit status 128:\n\
                 \t\tfatal: could not read Username for 'https://github.com': terminal prompts disabled\n";
    let got = explain(proxy);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].category, "vcs_auth", "{got:?}");

    let revision = "go: example.com/m@v9.0.0: reading https://proxy.golang.org/example.com/m/@v/v9.0.0.info: 404 Not Found\n\
                    \tserver response: not found: example.com/m@v9.0.0: invalid version: unknown revision v9.0.0\n";
    assert!(
        explain(revision)
            .iter()
            .all(|e| e.category == "unknown_revision")
    );

    // The proxy's own DNS failure, reported back: the module is private or
    // gone, nothing is wrong with the local network.
    let remote = "go: example.com/private@v1.0.0: reading https://proxy.golang.org/example.com/private/@v/v1.0.0.mod: 404 Not Found\n\
                  \tserver response: not found: example.com/private@v1.0.0: unrecognized import path \"example.com/private\": https fetch: Get \"https://example.com/private?go-get=1\": dial tcp: lookup example.com on 8.8.8.8:53: no such host\n";
    let got = explain(remote);
    assert!(got.iter().all(|e| e.category == "not_found"), "{got:?}");

    let mismatch = "go: github.com/old/name@v1.0.0: parsing go.mod:\n\
                    \tmodule declares its path as: github.com/new/name\n\
                    \t        but was required as: github.com/old/name\n";
    let got = explain(mismatch);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].category, "module_path_mismatch");
}

#[test]
fn skips_progress_lines_and_keeps_lines_verbatim() {
    let out = "go: downloading golang.org/x/text v0.14.0\n\
               go: finding module for package github.com/x/y\r\n\
               go: golang.org/x/text@v0.14.0: Get \"https://proxy.golang.org/golang.org/x/text/@v/v0.14.0.zip\": dial tcp 142.251.42.17:443: i/o timeout\r\n\
               go: added toolchain go1.22.1\n";
    let got = explain(out);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].line.ends_with("i/o timeout"));
    assert!(explain("").is_empty());
    assert!(explain("\u{0}\u{ffff}garbage\t\t\n\n").is_empty());
}

#[test]
fn json_shape() {
    let got = explain("403 Forbidden\n");
    let v = serde_json::to_value(&got).unwrap();
    assert_eq!(v[0]["line"], "403 Forbidden");
    assert_eq!(v[0]["category"], "forbidden");
    assert!(v[0]["cause"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(v[0]["fix"].as_str().is_some_and(|s| !s.is_empty()));
}

/// go's whole checksum-mismatch report, SECURITY ERROR paragraph and all,
/// is one failure; a go.sum mismatch and a checksum-database mismatch are
/// told apart, and the fix names the module.
#[test]
fn a_checksum_mismatch_is_one_failure_of_the_right_kind() {
    let go_sum = "verifying github.com/foo/bar@v1.2.3: checksum mismatch\n\
                  \tdownloaded: h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\
                  \tgo.sum:     h1:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB=\n\
                  \n\
                  SECURITY ERROR\n\
                  This download does NOT match an earlier download recorded in go.sum.\n\
                  The bits may have been replaced on the origin server, or an attacker may\n\
                  have intercepted the download attempt.\n\
                  \n\
                  For more information, see 'go help module-auth'.\n";
    let got = explain(go_sum);
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0].category, "go_sum_mismatch");
    assert!(
        got[0].fix.contains("go mod download github.com/foo/bar"),
        "{}",
        got[0].fix
    );

    let sumdb = "verifying github.com/foo/bar@v1.2.3/go.mod: checksum mismatch\n\
                 \tdownloaded:     h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\
                 \tsum.golang.org: h1:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB=\n\
                 \n\
                 SECURITY ERROR\n\
                 This download does NOT match the one reported by the checksum server.\n\
                 The bits may have been replaced on the origin server, or an attacker may\n\
                 have intercepted the download attempt.\n\
                 \n\
                 For more information, see 'go help module-auth'.\n\
                 go: rsc.io/quote@v1.5.2: missing go.sum entry for go.mod file; to add it:\n";
    let got = explain(sumdb);
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_eq!(got[0].category, "sumdb_mismatch");
    assert_eq!(got[1].category, "missing_go_sum");
    assert!(
        got[1].fix.contains("go mod download rsc.io/quote"),
        "{}",
        got[1].fix
    );
}

/// Fixes name the host and module of the failure, never placeholders, and
/// recommend no credential helper that stores tokens in plain text.
#[test]
fn fixes_name_the_real_host_and_module() {
    let auth = "go: git.corp.example/team/lib@v1.4.0: git ls-remote -q -- https://git.corp.example/team/lib in /tmp/x: exit status 128:\n\
                \tfatal: could not read Username for 'https://git.corp.example': terminal prompts disabled\n";
    let got = explain(auth);
    assert_eq!(got.len(), 1, "{got:#?}");
    let fix = &got[0].fix;
    assert!(fix.contains("git@git.corp.example:"), "{fix}");
    assert!(fix.contains("GOPRIVATE=git.corp.example"), "{fix}");
    assert!(!fix.contains("credential.helper store"), "{fix}");
    for e in explain(auth).iter().chain(&explain(
        CORPUS
            .iter()
            .map(|(l, _)| *l)
            .collect::<Vec<_>>()
            .join("\n")
            .as_str(),
    )) {
        for placeholder in ["your.private.host", "<module>", "yourorg", "your.host", "{"] {
            assert!(!e.fix.contains(placeholder), "{placeholder} in {e:#?}");
        }
    }
    let dns = explain(
        "go: example.com/m@v1.0.0: Get \"https://goproxy.corp.example/example.com/m/@v/v1.0.0.info\": dial tcp: lookup goproxy.corp.example: no such host\n",
    );
    assert!(
        dns[0].fix.contains("getent hosts goproxy.corp.example"),
        "{}",
        dns[0].fix
    );
}

/// With a company proxy in GOPROXY, no fix names a public mirror; with
/// public mirrors only, a failing one may be replaced by others.
#[test]
fn public_mirrors_only_where_goproxy_uses_them() {
    let corp = ProxyList::parse("https://goproxy.corp.example,direct");
    let text = CORPUS
        .iter()
        .map(|(l, _)| *l)
        .collect::<Vec<_>>()
        .join("\n");
    for e in super::explain(&text, &corp) {
        // The failing host may be a public mirror; suggesting one is what must not happen.
        for public in [
            "GOPROXY=https://goproxy",
            "GOPROXY=https://proxy.golang.org",
            "GOSUMDB=sum.golang.google.cn",
        ] {
            assert!(
                !e.fix.contains(public),
                "{public} suggested with a company proxy: {e:#?}"
            );
        }
    }
    let timeout = "go: golang.org/x/text@v0.14.0: Get \"https://goproxy.corp.example/golang.org/x/text/@v/v0.14.0.zip\": dial tcp 10.1.2.3:443: i/o timeout\n";
    let got = super::explain(timeout, &corp);
    assert!(
        got[0]
            .fix
            .contains("goproxy.corp.example is the proxy your GOPROXY names"),
        "{}",
        got[0].fix
    );
    let got = explain(timeout);
    assert!(got[0].fix.contains("goproxy.io"), "{}", got[0].fix);
}
