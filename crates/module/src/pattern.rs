//! Glob patterns over module paths: GOPRIVATE-style prefix patterns
//! (x/mod's `module.MatchPrefixPatterns`) built on Go's `path.Match`.
//!
//! modgate compares module paths with its own patterns (`--private`,
//! `[[access]]`, `[[policy]]`) ignoring ASCII case ([`match_prefix_patterns_any_case`]):
//! code hosts resolve names case-insensitively, so a case variant of a
//! guarded path names the same repository and must meet the same rule.

/// Reports whether any of the comma-separated `globs` matches a prefix of
/// `target`: a glob of N path elements is matched against the first N
/// elements of `target`. Empty and malformed globs match nothing.
pub fn match_prefix_patterns(globs: &str, target: &str) -> bool {
    prefix_match(globs, target, false)
}

/// [`match_prefix_patterns`] with ASCII case ignored in both.
pub fn match_prefix_patterns_any_case(globs: &str, target: &str) -> bool {
    prefix_match(globs, target, true)
}

fn prefix_match(globs: &str, target: &str, fold: bool) -> bool {
    globs.split(',').any(|glob| {
        let glob = glob.strip_suffix('/').unwrap_or(glob);
        if glob.is_empty() {
            return false;
        }
        let elems = glob.matches('/').count() + 1;
        let mut ends = target.match_indices('/').map(|(i, _)| i);
        let prefix = match ends.nth(elems - 1) {
            Some(end) => &target[..end],
            None if target.split('/').count() >= elems => target,
            None => return false,
        };
        glob_match(glob, prefix, fold)
    })
}

/// The syntax error of a `path.Match` pattern, if any (Go's ErrBadPattern).
pub fn check_glob(glob: &str) -> Result<(), String> {
    let chars: Vec<char> = glob.chars().collect();
    if well_formed(&chars) {
        Ok(())
    } else {
        Err(format!(
            "bad pattern {glob:?}: unclosed or empty [...] class, or a trailing \\"
        ))
    }
}

/// Why `glob` can never match a module path, if it cannot: malformed, an
/// empty element (`a//b`), an element beginning or ending with a dot, or a character no module path has outside the
/// glob syntax — `!` above all, which only the escaped form of a path
/// (`github.com/!burnt!sushi`) holds, never the path compared.
pub fn check_module_pattern(glob: &str) -> Result<(), String> {
    check_glob(glob)?;
    let glob = glob.strip_suffix('/').unwrap_or(glob);
    if glob.split('/').any(str::is_empty) {
        return Err(format!("{glob:?} has an empty path element"));
    }
    // Go's module.CheckPath refuses an element with a leading or trailing
    // dot (`.`, `..`, `.git`, `x.`), so a literal one matches nothing.
    if let Some(elem) = glob
        .split('/')
        .find(|e| e.starts_with('.') || e.ends_with('.'))
    {
        return Err(format!(
            "{glob:?} has the element {elem:?}, which begins or ends with a dot as no module path element does"
        ));
    }
    if glob.contains('!') {
        return Err(format!(
            "{glob:?} looks escaped: write the module path as go prints it \
             (github.com/BurntSushi/toml, not github.com/!burnt!sushi/toml)"
        ));
    }
    match glob
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || "-._~/*?[]^\\".contains(c)))
    {
        Some(c) => Err(format!("{glob:?} has {c:?}, which no module path has")),
        None => Ok(()),
    }
}

/// Go's `path.Match`: `*` matches any run of non-`/` characters, `?` one
/// non-`/` character, `[...]` a character class (`^` negates, `a-z`
/// ranges) and `\` escapes. A malformed pattern matches nothing.
pub fn path_match(pattern: &str, name: &str) -> bool {
    glob_match(pattern, name, false)
}

fn glob_match(pattern: &str, name: &str, fold: bool) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    well_formed(&pattern) && matches(&pattern, &name, fold)
}

fn matches(p: &[char], n: &[char], fold: bool) -> bool {
    match p.first() {
        None => n.is_empty(),
        Some('*') => {
            // Try every split of the non-`/` run the star may take.
            let run = n.iter().take_while(|&&c| c != '/').count();
            (0..=run).any(|k| matches(&p[1..], &n[k..], fold))
        }
        Some(_) => {
            let Some((&c, rest)) = n.split_first() else {
                return false;
            };
            match single(p, c, fold) {
                Some((true, len)) => matches(&p[len..], rest, fold),
                _ => false,
            }
        }
    }
}

/// Matches the one-character pattern item at the start of `p` against `c`
/// (`fold`: either ASCII case of `c`): whether it matched, and the item's length.
fn single(p: &[char], c: char, fold: bool) -> Option<(bool, usize)> {
    let same = |a: char| a == c || (fold && a.eq_ignore_ascii_case(&c));
    match p[0] {
        '?' => Some((c != '/', 1)),
        '\\' => Some((p.get(1).is_some_and(|&a| same(a)), 2)),
        '[' => {
            let mut i = 1;
            let negated = p.get(i) == Some(&'^');
            if negated {
                i += 1;
            }
            let mut hit = false;
            loop {
                if p.get(i) == Some(&']') && i > 1 + usize::from(negated) {
                    break;
                }
                let (lo, next) = class_char(p, i)?;
                i = next;
                let mut hi = lo;
                if p.get(i) == Some(&'-') {
                    (hi, i) = class_char(p, i + 1)?;
                }
                let within = |c: char| lo <= c && c <= hi;
                hit |= within(c)
                    || (fold && (within(c.to_ascii_lowercase()) || within(c.to_ascii_uppercase())));
            }
            Some((hit != negated, i + 1))
        }
        other => Some((same(other), 1)),
    }
}

/// A character inside `[...]` at `i` (escapes resolved), and the index after it.
fn class_char(p: &[char], i: usize) -> Option<(char, usize)> {
    match p.get(i)? {
        '-' | ']' => None,
        '\\' => Some((*p.get(i + 1)?, i + 2)),
        &c => Some((c, i + 1)),
    }
}

/// Every `[...]` class closed and well formed, no trailing backslash.
fn well_formed(p: &[char]) -> bool {
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '*' => i += 1,
            _ => match single(&p[i..], '\0', false) {
                Some((_, len)) if i + len <= p.len() => i += len,
                _ => return false,
            },
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_patterns_table() {
        // x/mod's TestMatchPrefixPatterns.
        let cases = [
            ("", "rsc.io/quote", false),
            ("/", "rsc.io/quote", false),
            ("*/quote", "rsc.io/quote", true),
            ("*/quo", "rsc.io/quote", false),
            ("*/quo??", "rsc.io/quote", true),
            ("*/quo*", "rsc.io/quote", true),
            ("*quo*", "rsc.io/quote", false),
            ("rsc.io", "rsc.io/quote", true),
            ("*.io", "rsc.io/quote", true),
            ("rsc.io/", "rsc.io/quote", true),
            ("rsc", "rsc.io/quote", false),
            ("rsc*", "rsc.io/quote", true),
            ("rsc.io", "rsc.io/quote/v3", true),
            ("*/quote", "rsc.io/quote/v3", true),
            ("*/quote/", "rsc.io/quote/v3", true),
            ("*/quote/*", "rsc.io/quote/v3", true),
            ("*/quote/*/", "rsc.io/quote/v3", true),
            ("*/v3", "rsc.io/quote/v3", false),
            ("*/*/v3", "rsc.io/quote/v3", true),
            ("*/*/*", "rsc.io/quote/v3", true),
            ("*/*/*/", "rsc.io/quote/v3", true),
            ("*/*/*", "rsc.io/quote", false),
            ("*/*/*/", "rsc.io/quote", false),
            ("*/*/*,,", "rsc.io/quote", false),
            ("*/*/*,,*/quote", "rsc.io/quote", true),
            (",,*/quote", "rsc.io/quote", true),
        ];
        for (globs, target, want) in cases {
            assert_eq!(
                match_prefix_patterns(globs, target),
                want,
                "{globs:?} {target:?}"
            );
        }
    }

    #[test]
    fn any_case_prefix_patterns() {
        let cases = [
            ("github.com/spf13/*", "github.com/Spf13/pflag", true),
            ("github.com/spf13/*", "GitHub.com/SPF13/pflag/v2", true),
            ("github.com/Spf13", "github.com/spf13/pflag", true),
            ("corp.example/*", "Corp.Example/x", true),
            ("*.corp.example", "GIT.corp.EXAMPLE/x", true),
            ("github.com/spf13/*", "github.com/spf14/pflag", false),
            ("github.com/spf13/*", "github.com/Spf13", false),
            ("github.com/[s]pf13", "github.com/Spf13/x", true),
            ("github.com/[a-z]pf13", "github.com/Spf13/x", true),
            ("github.com/[^s]pf13", "github.com/Spf13/x", false),
            ("github.com/\\spf13", "github.com/Spf13/x", true),
            ("github.com/sp?13", "github.com/SPF13/x", true),
        ];
        for (globs, target, want) in cases {
            assert_eq!(
                match_prefix_patterns_any_case(globs, target),
                want,
                "{globs:?} {target:?}"
            );
        }
        // Go's own matching (GOPRIVATE, GOINSECURE) keeps case.
        assert!(!match_prefix_patterns(
            "github.com/spf13/*",
            "github.com/Spf13/pflag"
        ));
        assert!(match_prefix_patterns_any_case("[A-Z]x", "ax"));
        assert!(!path_match("[A-Z]x", "ax"));
    }

    #[test]
    fn bad_globs() {
        assert!(check_glob("corp.example.com/[a").is_err());
        assert!(check_glob("a\\").is_err());
        assert!(check_glob("[]a]").is_err());
        assert!(check_glob("*.corp.example.com").is_ok());
        assert!(check_glob("[\\]a]").is_ok());
    }

    #[test]
    fn path_match_table() {
        // From Go's path.TestMatch.
        let cases = [
            ("abc", "abc", true),
            ("*", "abc", true),
            ("*c", "abc", true),
            ("a*", "a", true),
            ("a*", "abc", true),
            ("a*", "ab/c", false),
            ("a*/b", "abc/b", true),
            ("a*/b", "a/c/b", false),
            ("a*b*c*d*e*/f", "axbxcxdxe/f", true),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/f", true),
            ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", false),
            ("a*b?c*x", "abxbbxdbxebxczzx", true),
            ("a*b?c*x", "abxbbxdbxebxczzy", false),
            ("ab[c]", "abc", true),
            ("ab[b-d]", "abc", true),
            ("ab[e-g]", "abc", false),
            ("ab[^c]", "abc", false),
            ("ab[^b-d]", "abc", false),
            ("ab[^e-g]", "abc", true),
            ("a\\*b", "a*b", true),
            ("a\\*b", "ab", false),
            ("a?b", "a☺b", true),
            ("a[^a]b", "a☺b", true),
            ("a???b", "a☺b", false),
            ("a[^a][^a][^a]b", "a☺b", false),
            ("[a-ζ]*", "α", true),
            ("*[a-ζ]", "A", false),
            ("a?b", "a/b", false),
            ("a*b", "a/b", false),
            ("[\\]a]", "]", true),
            ("[\\-]", "-", true),
            ("[x\\-]", "x", true),
            ("[x\\-]", "-", true),
            ("[x\\-]", "z", false),
            ("[\\-x]", "x", true),
            ("[\\-x]", "-", true),
            ("[\\-x]", "a", false),
            ("[]a]", "]", false),
            ("[-]", "-", false),
            ("[x-]", "x", false),
            ("[x-]", "-", false),
            ("[x-]", "z", false),
            ("[-x]", "x", false),
            ("[-x]", "-", false),
            ("[-x]", "a", false),
            ("\\", "a", false),
            ("[a-b-c]", "a", false),
            ("[", "a", false),
            ("[^", "a", false),
            ("[^bc", "a", false),
            ("a[", "a", false),
            ("a[", "ab", false),
            ("a[", "x", false),
            ("a/b[", "x", false),
            ("*x", "xxx", true),
        ];
        for (pattern, name, want) in cases {
            assert_eq!(path_match(pattern, name), want, "{pattern:?} {name:?}");
        }
    }

    #[test]
    fn module_patterns_that_can_never_match_are_errors() {
        for ok in [
            "github.com/spf13/*",
            "github.com/spf13/pflag/",
            "*.corp.example",
            "corp.example/[a-z]*",
            "example.com/x~y_z-1.2",
        ] {
            assert!(check_module_pattern(ok).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("github.com/!burnt!sushi/toml", "looks escaped"),
            ("github.com//toml", "empty path element"),
            ("github.com/a b", "which no module path has"),
            ("github.com/a,b", "which no module path has"),
            ("github.com/[a", "bad pattern"),
            ("./gated", "begins or ends with a dot"),
            ("example.com/../x", "begins or ends with a dot"),
            ("example.com/.hidden", "begins or ends with a dot"),
            ("example.com/x.", "begins or ends with a dot"),
        ] {
            let err = check_module_pattern(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }
}
