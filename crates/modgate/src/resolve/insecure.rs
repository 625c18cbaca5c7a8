//! GOINSECURE-style patterns: `module.MatchPrefixPatterns` of
//! golang.org/x/mod, comma-separated `path.Match` globs matched against
//! path prefixes.

/// Whether a glob of the comma-separated list matches a prefix of `target`
/// with as many elements as the glob.
pub(super) fn match_prefix_patterns(globs: &str, target: &str) -> bool {
    globs
        .split(',')
        .map(|g| g.strip_suffix('/').unwrap_or(g))
        .filter(|g| !g.is_empty())
        .any(|glob| {
            let n = glob.matches('/').count();
            let prefix: Vec<&str> = target.split('/').take(n + 1).collect();
            if prefix.len() <= n {
                return false;
            }
            let glob: Vec<char> = glob.chars().collect();
            let name: Vec<char> = prefix.join("/").chars().collect();
            path_match(&glob, &name)
        })
}

/// Go's `path.Match`: `*` and `?` never match `/`; `[...]` classes with
/// ranges and `^` negation; `\` escapes. A malformed pattern matches
/// nothing (Go returns an error, which MatchPrefixPatterns ignores).
fn path_match(pattern: &[char], name: &[char]) -> bool {
    let Some((&p, rest)) = pattern.split_first() else {
        return name.is_empty();
    };
    match p {
        '*' => {
            let run = name.iter().take_while(|&&c| c != '/').count();
            (0..=run).any(|skip| path_match(rest, &name[skip..]))
        }
        '?' => name.first().is_some_and(|&c| c != '/') && path_match(rest, &name[1..]),
        '[' => {
            let Some((&c, name_rest)) = name.split_first() else {
                return false;
            };
            match class(rest, c) {
                Some((true, after)) => path_match(after, name_rest),
                _ => false,
            }
        }
        '\\' => match rest.split_first() {
            Some((&lit, rest)) => name.first() == Some(&lit) && path_match(rest, &name[1..]),
            None => false,
        },
        lit => name.first() == Some(&lit) && path_match(rest, &name[1..]),
    }
}

/// Whether `c` is in the class whose body (after `[`) starts `pattern`,
/// and the pattern after the closing `]`; `None` if malformed.
fn class(pattern: &[char], c: char) -> Option<(bool, &[char])> {
    let (negated, mut p) = match pattern.split_first() {
        Some(('^', rest)) => (true, rest),
        _ => (false, pattern),
    };
    let mut matched = false;
    let mut ranges = 0;
    loop {
        if let Some((']', rest)) = p.split_first()
            && ranges > 0
        {
            return Some((matched != negated, rest));
        }
        let lo;
        (lo, p) = class_char(p)?;
        let mut hi = lo;
        if let Some(('-', rest)) = p.split_first() {
            (hi, p) = class_char(rest)?;
        }
        matched |= lo <= c && c <= hi;
        ranges += 1;
    }
}

/// A possibly escaped character of a class (Go's `getEsc`), and the rest,
/// which must not be empty.
fn class_char(p: &[char]) -> Option<(char, &[char])> {
    let p = match p {
        [] | ['-' | ']', ..] => return None,
        ['\\', rest @ ..] => rest,
        _ => p,
    };
    match p {
        [c, rest @ ..] if !rest.is_empty() => Some((*c, rest)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_prefixes() {
        let cases = [
            ("corp.example", "corp.example", true),
            ("corp.example", "corp.example/x/y", true),
            ("corp.example", "corp.examplex/y", false),
            ("*.corp.example", "git.corp.example/x", true),
            ("*.corp.example", "corp.example/x", false),
            ("corp.example/team", "corp.example/team/x", true),
            ("corp.example/team", "corp.example", false),
            ("corp.example/team/", "corp.example/team/x", true),
            ("corp.example/t?am", "corp.example/team", true),
            ("corp.example/*", "corp.example/a/b", true),
            ("corp.example/[a-c]x", "corp.example/bx/y", true),
            ("corp.example/[^a-c]x", "corp.example/bx/y", false),
            ("corp.example/[^a-c]x", "corp.example/dx", true),
            ("corp.example/\\*", "corp.example/*", true),
            ("corp.example/\\*", "corp.example/x", false),
            ("other.example,corp.example", "corp.example/x", true),
            (",,corp.example", "corp.example/x", true),
            ("", "corp.example", false),
            // Malformed patterns match nothing.
            ("corp.example/[", "corp.example/[", false),
            ("corp.example/[]", "corp.example/]", false),
            ("corp.example/x\\", "corp.example/x\\", false),
        ];
        for (globs, target, want) in cases {
            assert_eq!(match_prefix_patterns(globs, target), want, "{globs} {target}");
        }
    }
}
