//! Which version control systems may serve which modules: go's GOVCS
//! (`go help vcs`), with its syntax and its default. modgate's
//! `--private` patterns decide what `private` matches.

use std::fmt;
use std::str::FromStr;

/// A parsed GOVCS setting, go's default rules appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoVcs {
    /// As given (without the default), for display.
    text: String,
    rules: Vec<(String, Vec<String>)>,
}

/// go's `defaultGOVCS`: hg and git have been hardened as clients of
/// untrusted servers, the others mostly used on trusted ones.
const DEFAULT: &[(&str, &[&str])] = &[("private", &["all"]), ("public", &["git", "hg"])];

impl Default for GoVcs {
    fn default() -> Self {
        "".parse().expect("the default parses")
    }
}

impl FromStr for GoVcs {
    type Err = String;

    /// go's `parseGOVCS`, with its messages.
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let mut rules: Vec<(String, Vec<String>)> = Vec::new();
        if !s.is_empty() {
            let mut have: Vec<(&str, &str)> = Vec::new();
            for item in s.split(',') {
                let item = item.trim();
                if item.is_empty() {
                    return Err("empty entry in GOVCS".to_owned());
                }
                let Some((pattern, list)) = item.split_once(':') else {
                    return Err(format!(
                        "malformed entry in GOVCS (missing colon): {item:?}"
                    ));
                };
                let (pattern, list) = (pattern.trim(), list.trim());
                if pattern.is_empty() {
                    return Err(format!("empty pattern in GOVCS: {item:?}"));
                }
                if list.is_empty() {
                    return Err(format!("empty VCS list in GOVCS: {item:?}"));
                }
                if is_relative(pattern) {
                    return Err(format!(
                        "relative pattern not allowed in GOVCS: {pattern:?}"
                    ));
                }
                if let Some((_, old)) = have.iter().find(|(p, _)| *p == pattern) {
                    return Err(format!(
                        "unreachable pattern in GOVCS: {item:?} after {old:?}"
                    ));
                }
                have.push((pattern, item));
                let mut allowed = Vec::new();
                for a in list.split('|') {
                    let a = a.trim();
                    if a.is_empty() {
                        return Err(format!("empty VCS name in GOVCS: {item:?}"));
                    }
                    allowed.push(a.to_owned());
                }
                rules.push((pattern.to_owned(), allowed));
            }
        }
        rules.extend(DEFAULT.iter().map(|(p, list)| {
            (
                (*p).to_owned(),
                list.iter().map(|s| (*s).to_owned()).collect(),
            )
        }));
        Ok(GoVcs {
            text: s.to_owned(),
            rules,
        })
    }
}

/// go's `search.IsRelativePath`.
fn is_relative(pattern: &str) -> bool {
    pattern == "." || pattern == ".." || pattern.starts_with("./") || pattern.starts_with("../")
}

impl fmt::Display for GoVcs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for GoVcs {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

impl GoVcs {
    /// Whether `vcs` may serve the repository rooted at `root` (`private`:
    /// it matches the private patterns): the first rule matching decides;
    /// none, nothing is allowed.
    pub fn allows(&self, root: &str, private: bool, vcs: &str) -> bool {
        for (pattern, allowed) in &self.rules {
            let matched = match pattern.as_str() {
                "private" => private,
                "public" => !private,
                pattern => modgate_module::pattern::match_prefix_patterns(pattern, root),
            };
            if matched {
                return allowed.iter().any(|a| a == vcs || a == "all");
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_allows_git_and_hg_for_public_and_all_for_private() {
        let g = GoVcs::default();
        assert!(g.allows("github.com/a/b", false, "git"));
        assert!(g.allows("example.com/x", false, "hg"));
        for vcs in ["svn", "bzr", "fossil"] {
            assert!(!g.allows("example.com/x", false, vcs), "{vcs}");
            assert!(g.allows("corp.example/x", true, vcs), "{vcs}");
        }
    }

    #[test]
    fn rules_come_before_the_default_and_the_first_match_decides() {
        let g: GoVcs = "github.com:git,evil.com:off,*:git|hg".parse().unwrap();
        assert!(g.allows("github.com/a/b", false, "git"));
        assert!(!g.allows("github.com/a/b", false, "hg"));
        assert!(!g.allows("evil.com/x", false, "git"));
        assert!(g.allows("example.com/x", true, "hg"));
        assert!(!g.allows("example.com/x", true, "svn"));
        let all: GoVcs = "*:all".parse().unwrap();
        assert!(all.allows("example.com/x", false, "bzr"));
        let private: GoVcs = "public:hg".parse().unwrap();
        assert!(!private.allows("example.com/x", false, "git"));
    }

    #[test]
    fn go_refuses_these_and_so_do_we() {
        for (text, want) in [
            (
                "github.com:hg,github.com:git",
                "unreachable pattern in GOVCS: \"github.com:git\" after \"github.com:hg\"",
            ),
            (
                "github.com",
                "malformed entry in GOVCS (missing colon): \"github.com\"",
            ),
            ("a.com:git,,b.com:hg", "empty entry in GOVCS"),
            (":git", "empty pattern in GOVCS: \":git\""),
            ("a.com:", "empty VCS list in GOVCS: \"a.com:\""),
            (
                "a.com:git||hg",
                "empty VCS name in GOVCS: \"a.com:git||hg\"",
            ),
            ("./x:git", "relative pattern not allowed in GOVCS: \"./x\""),
        ] {
            assert_eq!(text.parse::<GoVcs>().unwrap_err(), want, "{text}");
        }
    }
}
