//! Credentials out of URLs and out of text that quotes them (git's errors,
//! upstream bodies): userinfo masked as `***@`, the query and the fragment
//! (where tokens such as `?private_token=` live) dropped. The one redaction
//! every modgate crate uses for logs, errors and metric labels, and the
//! one way an error is shown there ([`Chain`]).

mod chain;

pub use chain::{Chain, says_each_thing_once};

/// `url` fit for logs, errors and metric labels. A string that is not a
/// `scheme://` URL (an scp-like `user@host:path`, a path) carries no
/// password and comes back unchanged.
pub fn redact_url(url: &str) -> String {
    let Some(i) = url.find("://") else {
        return url.to_owned();
    };
    let (scheme, rest) = (&url[..i], &url[i + 3..]);
    let (masked, rest) = match userinfo_end(rest) {
        Some(at) => (true, &rest[at + 1..]),
        None => (false, rest),
    };
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let mask = if masked { "***@" } else { "" };
    format!("{scheme}://{mask}{rest}")
}

/// `text` with every `scheme://…` URL in it redacted as [`redact_url`] does.
/// A URL ends at white space or a quote.
pub fn redact_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        // The scheme: the letters (and `+-.`) just before `://`.
        let start = rest[..i]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
            .map_or(0, |j| j + 1);
        let end = rest[i + 3..]
            .find(|c: char| c.is_whitespace() || matches!(c, '\'' | '"' | '`' | '<' | '>'))
            .map_or(rest.len(), |j| i + 3 + j);
        out.push_str(&rest[..start]);
        if start == i {
            // No scheme: not a URL.
            out.push_str(&rest[i..end]);
        } else {
            out.push_str(&redact_url(&rest[start..end]));
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Where the userinfo of `rest` (a URL after `scheme://`) ends: the index
/// of its `@`. Passwords are often pasted unescaped, so a `/`, `?`, `#` or
/// `@` inside one must not let its tail through; `host:port/path/@v/…`
/// (module paths hold `@`) must not be taken for userinfo either.
fn userinfo_end(rest: &str) -> Option<usize> {
    let first_at = rest.find('@')?;
    let before = &rest[..first_at];
    if let Some(d) = before.find(['/', '?', '#']) {
        // Only `user:pass…` before the delimiter makes this userinfo.
        let (_, pass) = before[..d].split_once(':')?;
        if pass.is_empty() || pass.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
    }
    // An unescaped `@` in the password: the userinfo runs to the last `@`
    // before the host's end.
    let host_end = rest[first_at + 1..]
        .find(['/', '?', '#'])
        .map_or(rest.len(), |j| first_at + 1 + j);
    Some(rest[..host_end].rfind('@').unwrap_or(first_at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_userinfo_and_drops_query_and_fragment() {
        let cases = [
            ("https://proxy.example/go", "https://proxy.example/go"),
            (
                "https://user:pw@proxy.example/go",
                "https://***@proxy.example/go",
            ),
            ("https://token@proxy.example", "https://***@proxy.example"),
            (
                "https://h.example/r?private_token=SECRET",
                "https://h.example/r",
            ),
            ("https://h.example/r#frag-secret", "https://h.example/r"),
            ("https://u:pa/ss@h.example/x", "https://***@h.example/x"),
            ("https://u:pa#ss@h.example/x", "https://***@h.example/x"),
            ("https://u:pa?ss@h.example/x", "https://***@h.example/x"),
            ("https://u:p@ss@h.example/x", "https://***@h.example/x"),
            (
                "http://h.example:8080/m/@v/list",
                "http://h.example:8080/m/@v/list",
            ),
            (
                "https://h.example/m/@v/v1.0.0.zip",
                "https://h.example/m/@v/v1.0.0.zip",
            ),
            ("git@github.com:org/repo", "git@github.com:org/repo"),
            ("/srv/mirror", "/srv/mirror"),
        ];
        for (url, want) in cases {
            assert_eq!(redact_url(url), want, "{url}");
        }
    }

    #[test]
    fn redacts_every_url_in_text() {
        let text = "fatal: unable to access 'https://bob:hunter2@git.example/r.git/': 403\n\
                    remote: see https://git.example/help?token=abc and ssh://git@h/x";
        let out = redact_text(text);
        assert!(!out.contains("hunter2") && !out.contains("abc"), "{out}");
        assert!(out.contains("'https://***@git.example/r.git/'"), "{out}");
        assert!(out.contains("see https://git.example/help and"), "{out}");
        assert!(out.contains("ssh://***@h/x"), "{out}");
        assert_eq!(redact_text("no url here"), "no url here");
        assert_eq!(redact_text("odd ://thing"), "odd ://thing");
    }
}
