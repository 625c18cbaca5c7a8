//! `--repo-map PREFIX=URL` rules: the user's own module → repository map,
//! consulted before anything else.

use std::fmt;
use std::str::FromStr;

use super::{RepoRoot, ResolveError, Vcs, has_path_prefix, is_scheme, redact};

const EXAMPLE: &str = "corp.example/*=https://git.corp.example/go/*.git";

/// One `--repo-map PREFIX=URL` rule. PREFIX is a module path prefix; a
/// PREFIX ending in `/*` binds exactly one more path element, which
/// replaces every `*` in URL. E.g. `gopkg.in/yaml.v3=https://github.com/go-yaml/yaml`
/// maps gopkg.in/yaml.v3 (root gopkg.in/yaml.v3);
/// `corp.example/*=https://git.corp.example/go/*.git` maps corp.example/foo/bar
/// to root corp.example/foo, url https://git.corp.example/go/foo.git.
/// Always git.
///
/// In a configuration file, a rule is a `"PREFIX=URL"` string or a
/// `{ prefix, url }` table; either way it is checked as it is read.
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "RawRule")]
pub struct RepoMapRule {
    pub prefix: String,
    pub url: String,
}

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum RawRule {
    Text(String),
    Table { prefix: String, url: String },
}

impl TryFrom<RawRule> for RepoMapRule {
    type Error = ResolveError;

    fn try_from(raw: RawRule) -> Result<Self, Self::Error> {
        match raw {
            RawRule::Text(text) => text.parse(),
            RawRule::Table { prefix, url } => {
                let rule = RepoMapRule { prefix, url };
                rule.validate()?;
                Ok(rule)
            }
        }
    }
}

impl FromStr for RepoMapRule {
    type Err = ResolveError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let Some((prefix, url)) = s.split_once('=') else {
            return Err(ResolveError::InvalidRule {
                rule: redact(s),
                reason: format!("want PREFIX=URL, as in {EXAMPLE}"),
            });
        };
        let rule = RepoMapRule {
            prefix: prefix.trim().to_owned(),
            url: url.trim().to_owned(),
        };
        rule.validate()?;
        Ok(rule)
    }
}

impl fmt::Display for RepoMapRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.prefix, redact(&self.url))
    }
}

// By hand, so that credentials in URL never reach a log.
impl fmt::Debug for RepoMapRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RepoMapRule")
            .field("prefix", &self.prefix)
            .field("url", &redact(&self.url))
            .finish()
    }
}

impl RepoMapRule {
    pub(super) fn validate(&self) -> Result<(), ResolveError> {
        let fail = |reason: &str| {
            Err(ResolveError::InvalidRule {
                rule: self.to_string(),
                reason: reason.to_owned(),
            })
        };
        if self.prefix.is_empty() {
            return fail(&format!("empty PREFIX; want PREFIX=URL, as in {EXAMPLE}"));
        }
        if self.url.is_empty() {
            return fail(&format!("empty URL; want PREFIX=URL, as in {EXAMPLE}"));
        }
        let (base, wildcard) = self.split();
        if base.contains('*') {
            return fail("`*` can only be the last element of PREFIX, as in corp.example/*");
        }
        if let Err(e) = modgate_module::check_import_path(base) {
            return fail(&format!("PREFIX is not a module path prefix: {e}"));
        }
        if !base.split('/').next().unwrap_or_default().contains('.') {
            return fail("PREFIX must start with a domain name, as module paths do");
        }
        match (wildcard, self.url.contains('*')) {
            (false, true) => return fail("URL has a `*` but PREFIX does not end in /*"),
            (true, false) => {
                return fail("PREFIX ends in /* but URL has no `*` to put the element in");
            }
            _ => {}
        }
        if self
            .url
            .contains(|c: char| c.is_whitespace() || c.is_control())
        {
            return fail("URL contains spaces or control characters");
        }
        if !has_scheme(&self.url) && !is_scp_like(&self.url) {
            return fail("URL needs a scheme (https://, ssh://, …) or the form user@host:path");
        }
        Ok(())
    }

    /// PREFIX without its `/*`, and whether it had one.
    fn split(&self) -> (&str, bool) {
        match self.prefix.strip_suffix("/*") {
            Some(base) => (base, true),
            None => (&self.prefix, false),
        }
    }

    /// The repository of `path` under this rule, if the rule covers it.
    fn apply(&self, path: &str) -> Option<RepoRoot> {
        let (root, url) = match self.split() {
            (base, true) => {
                let elem = path
                    .strip_prefix(base)?
                    .strip_prefix('/')?
                    .split('/')
                    .next()?;
                if elem.is_empty() {
                    return None;
                }
                (format!("{base}/{elem}"), self.url.replace('*', elem))
            }
            (prefix, false) => {
                if !has_path_prefix(path, prefix) {
                    return None;
                }
                (prefix.to_owned(), self.url.clone())
            }
        };
        Some(RepoRoot {
            subdir: String::new(),
            root,
            url,
            vcs: Vcs::Git,
            guarded: false,
        })
    }
}

/// The repository of `path` under the rule with the longest root; on a
/// tie an exact PREFIX beats a `/*` one, then the earlier rule wins.
pub(super) fn lookup(rules: &[RepoMapRule], path: &str) -> Option<RepoRoot> {
    let mut best: Option<(RepoRoot, bool)> = None;
    for rule in rules {
        let Some(found) = rule.apply(path) else {
            continue;
        };
        let exact = !rule.split().1;
        let better = best
            .as_ref()
            .is_none_or(|(b, b_exact)| (found.root.len(), exact) > (b.root.len(), *b_exact));
        if better {
            best = Some((found, exact));
        }
    }
    best.map(|(found, _)| found)
}

fn has_scheme(url: &str) -> bool {
    url.split_once("://")
        .is_some_and(|(scheme, rest)| is_scheme(scheme) && !rest.is_empty())
}

/// Git's scp-like syntax, `user@host:path` (go's `scpSyntaxRe`).
fn is_scp_like(url: &str) -> bool {
    let word = |s: &str, extra: &[u8]| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || extra.contains(&b))
    };
    url.split_once('@').is_some_and(|(user, rest)| {
        rest.split_once(':')
            .is_some_and(|(host, _)| word(user, b"") && word(host, b".-"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(prefix: &str, url: &str) -> RepoMapRule {
        RepoMapRule {
            prefix: prefix.to_owned(),
            url: url.to_owned(),
        }
    }

    fn reason(s: &str) -> String {
        match s.parse::<RepoMapRule>() {
            Err(ResolveError::InvalidRule { reason, .. }) => reason,
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn parses_rules() {
        assert_eq!(
            " gopkg.in/yaml.v3 = https://github.com/go-yaml/yaml "
                .parse::<RepoMapRule>()
                .unwrap(),
            rule("gopkg.in/yaml.v3", "https://github.com/go-yaml/yaml")
        );
        for ok in [
            "corp.example/*=https://git.corp.example/go/*.git",
            "corp.example=ssh://git@git.corp.example/mono.git",
            "corp.example/a/*=git@git.corp.example:go/*.git",
            "corp.example/x=https://h/x?token=a=b",
            "corp.example/x=file:///srv/git/x.git",
        ] {
            assert!(ok.parse::<RepoMapRule>().is_ok(), "{ok}");
        }
        assert!(reason("corp.example").contains("want PREFIX=URL"));
        assert!(reason("=https://h/x").contains("empty PREFIX"));
        assert!(reason("corp.example/x=").contains("empty URL"));
        assert!(reason("corp.example/*/x=https://h/*").contains("last element"));
        assert!(reason("corp.example/x*=https://h/*").contains("last element"));
        assert!(reason("*=https://h/*").contains("last element"));
        assert!(reason("corp.example/x=https://h/*.git").contains("does not end in /*"));
        assert!(reason("corp.example/*=https://h/x.git").contains("no `*`"));
        assert!(reason("corp.example/=https://h/x.git").contains("not a module path prefix"));
        assert!(
            reason("https://corp.example/x=https://h/x.git").contains("not a module path prefix")
        );
        assert!(reason("corp/x=https://h/x.git").contains("domain name"));
        assert!(reason("corp.example/x=h/x.git").contains("scheme"));
        assert!(reason("corp.example/x=://h/x.git").contains("scheme"));
    }

    #[test]
    fn errors_and_display_hide_credentials() {
        let r: RepoMapRule = "corp.example/*=https://me:s3cret@git.corp.example/*.git?t=tok"
            .parse()
            .unwrap();
        assert_eq!(
            r.to_string(),
            "corp.example/*=https://***@git.corp.example/*.git"
        );
        assert!(!format!("{r:?}").contains("s3cret"));
        let e = "corp.example/x=https://me:s3cret@h/*.git"
            .parse::<RepoMapRule>()
            .unwrap_err();
        assert!(!e.to_string().contains("s3cret"), "{e}");
        let e = "https://me:s3cret@h/x.git"
            .parse::<RepoMapRule>()
            .unwrap_err();
        assert!(!e.to_string().contains("s3cret"), "{e}");
    }

    #[test]
    fn deserializes_strings_and_tables() {
        #[derive(serde::Deserialize)]
        struct File {
            repo_map: Vec<RepoMapRule>,
        }
        let file: File = toml::from_str(
            r#"repo_map = ["a.example=https://h/a", { prefix = "b.example/*", url = "https://h/*" }]"#,
        )
        .unwrap();
        assert_eq!(
            file.repo_map,
            [
                rule("a.example", "https://h/a"),
                rule("b.example/*", "https://h/*")
            ]
        );
        let bad =
            toml::from_str::<File>(r#"repo_map = [{ prefix = "b.example", url = "https://h/*" }]"#);
        assert!(bad.is_err());
    }

    #[test]
    fn matches_on_element_boundaries() {
        let rules = [rule("corp.example/foo", "https://h/foo.git")];
        let root = |path| lookup(&rules, path).map(|r| r.root);
        assert_eq!(
            root("corp.example/foo"),
            Some("corp.example/foo".to_owned())
        );
        assert_eq!(
            root("corp.example/foo/v2"),
            Some("corp.example/foo".to_owned())
        );
        assert_eq!(root("corp.example/foobar"), None);
        assert_eq!(root("corp.example"), None);
    }

    #[test]
    fn wildcard_binds_one_element() {
        let rules = [rule("corp.example/*", "https://git.corp.example/go/*.git")];
        assert_eq!(
            lookup(&rules, "corp.example/foo/bar"),
            Some(RepoRoot {
                subdir: String::new(),
                root: "corp.example/foo".to_owned(),
                url: "https://git.corp.example/go/foo.git".to_owned(),
                vcs: Vcs::Git,
                guarded: false,
            })
        );
        assert_eq!(
            lookup(&rules, "corp.example/foo").unwrap().root,
            "corp.example/foo"
        );
        assert_eq!(lookup(&rules, "corp.example"), None);
        assert_eq!(lookup(&rules, "corp.examplex/foo"), None);
        let every = [rule("corp.example/*", "https://h/*/*.git")];
        assert_eq!(
            lookup(&every, "corp.example/a/b").unwrap().url,
            "https://h/a/a.git"
        );
    }

    #[test]
    fn longest_root_wins() {
        let rules = [
            rule("corp.example/*", "https://h/*"),
            rule("corp.example/team/*", "https://team/*"),
            rule("corp.example/team", "https://team/mono"),
            rule("corp.example/foo", "https://exact/foo"),
        ];
        let url = |path| lookup(&rules, path).map(|r| r.url);
        assert_eq!(
            url("corp.example/team/x/y"),
            Some("https://team/x".to_owned())
        );
        assert_eq!(
            url("corp.example/team"),
            Some("https://team/mono".to_owned())
        );
        // Same root from `/*` and an exact prefix: the exact one.
        assert_eq!(
            url("corp.example/foo/bar"),
            Some("https://exact/foo".to_owned())
        );
        assert_eq!(
            url("corp.example/other"),
            Some("https://h/other".to_owned())
        );
        // Equal rules: the first.
        let twice = [
            rule("a.example", "https://one"),
            rule("a.example", "https://two"),
        ];
        assert_eq!(lookup(&twice, "a.example/x").unwrap().url, "https://one");
    }
}
