//! Glob patterns over module paths: GOPRIVATE-style prefix patterns
//! (x/mod's `module.MatchPrefixPatterns`) built on Go's `path.Match`.

/// Reports whether any of the comma-separated `globs` matches a prefix of
/// `target`: a glob of N path elements is matched against the first N
/// elements of `target`. Empty and malformed globs match nothing.
pub fn match_prefix_patterns(globs: &str, target: &str) -> bool {
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
        path_match(glob, prefix)
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

/// Go's `path.Match`: `*` matches any run of non-`/` characters, `?` one
/// non-`/` character, `[...]` a character class (`^` negates, `a-z`
/// ranges) and `\` escapes. A malformed pattern matches nothing.
pub fn path_match(pattern: &str, name: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    well_formed(&pattern) && matches(&pattern, &name)
}

fn matches(p: &[char], n: &[char]) -> bool {
    match p.first() {
        None => n.is_empty(),
        Some('*') => {
            // Try every split of the non-`/` run the star may take.
            let run = n.iter().take_while(|&&c| c != '/').count();
            (0..=run).any(|k| matches(&p[1..], &n[k..]))
        }
        Some(_) => {
            let Some((&c, rest)) = n.split_first() else {
                return false;
            };
            match single(p, c) {
                Some((true, len)) => matches(&p[len..], rest),
                _ => false,
            }
        }
    }
}

/// Matches the one-character pattern item at the start of `p` against `c`:
/// whether it matched, and the item's length.
fn single(p: &[char], c: char) -> Option<(bool, usize)> {
    match p[0] {
        '?' => Some((c != '/', 1)),
        '\\' => Some((p.get(1) == Some(&c), 2)),
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
                hit |= lo <= c && c <= hi;
            }
            Some((hit != negated, i + 1))
        }
        other => Some((other == c, 1)),
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
            _ => match single(&p[i..], '\0') {
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
}
