//! Module path patterns as in GOPRIVATE, GONOPROXY, GONOSUMDB and GOINSECURE:
//! comma-separated `path.Match` globs matched against path prefixes
//! (`module.MatchPrefixPatterns` in golang.org/x/mod).

/// Whether any glob of the comma-separated list matches a prefix of `target`.
pub fn match_prefix_patterns(globs: &str, target: &str) -> bool {
    globs
        .split(',')
        .map(|g| g.trim_end_matches('/'))
        .filter(|g| !g.is_empty())
        .any(|glob| {
            // A glob of N+1 elements is matched against the first N+1
            // elements of the target.
            let n = glob.matches('/').count();
            let elems: Vec<&str> = target.split('/').collect();
            if elems.len() <= n {
                return false;
            }
            glob_match(glob, &elems[..=n].join("/")).unwrap_or(false)
        })
}

/// The syntax error of a `path.Match` pattern, if any.
pub fn check_glob(glob: &str) -> Result<(), String> {
    glob_match(glob, "").map(|_| ())
}

/// Go's `path.Match`: `*` and `?` never match `/`; `[...]` classes with
/// ranges and `^` negation; `\` escapes. Errors on a malformed pattern,
/// whatever the name.
fn glob_match(pattern: &str, name: &str) -> Result<bool, String> {
    let p: Vec<char> = pattern.chars().collect();
    // Validate the whole pattern first, as Go does (ErrBadPattern).
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '\\' => {
                if i + 1 >= p.len() {
                    return Err(format!("bad pattern {pattern:?}: trailing backslash"));
                }
                i += 2;
            }
            '[' => i = class_end(&p, i).ok_or_else(|| format!("bad pattern {pattern:?}"))?,
            _ => i += 1,
        }
    }
    let n: Vec<char> = name.chars().collect();
    Ok(match_from(&p, &n))
}

/// Index just past the `]` closing the class starting at `p[start]`.
fn class_end(p: &[char], start: usize) -> Option<usize> {
    let mut i = start + 1;
    if p.get(i) == Some(&'^') {
        i += 1;
    }
    let mut first = true;
    loop {
        match p.get(i)? {
            ']' if !first => return Some(i + 1),
            '\\' => i += 2,
            _ => i += 1,
        }
        first = false;
        if i > p.len() {
            return None;
        }
    }
}

fn class_matches(class: &[char], c: char) -> bool {
    let (negate, body) = match class.first() {
        Some('^') => (true, &class[1..]),
        _ => (false, class),
    };
    let mut i = 0;
    let mut matched = false;
    while i < body.len() {
        let mut lo = body[i];
        if lo == '\\' && i + 1 < body.len() {
            i += 1;
            lo = body[i];
        }
        let mut hi = lo;
        if body.get(i + 1) == Some(&'-') && i + 2 < body.len() {
            hi = body[i + 2];
            if hi == '\\' && i + 3 < body.len() {
                hi = body[i + 3];
                i += 1;
            }
            i += 2;
        }
        if lo <= c && c <= hi {
            matched = true;
        }
        i += 1;
    }
    matched != negate
}

fn match_from(p: &[char], n: &[char]) -> bool {
    match p.first() {
        None => n.is_empty(),
        Some('*') => (0..=n.len())
            .take_while(|&k| k == 0 || n[k - 1] != '/')
            .any(|k| match_from(&p[1..], &n[k..])),
        Some('?') => n.first().is_some_and(|&c| c != '/') && match_from(&p[1..], &n[1..]),
        Some('[') => {
            let Some(end) = class_end(p, 0) else {
                return false;
            };
            n.first()
                .is_some_and(|&c| c != '/' && class_matches(&p[1..end - 1], c))
                && match_from(&p[end..], &n[1..])
        }
        Some('\\') if p.len() > 1 => n.first() == Some(&p[1]) && match_from(&p[2..], &n[1..]),
        Some(&c) => n.first() == Some(&c) && match_from(&p[1..], &n[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_prefixes_like_x_mod() {
        // Cases from golang.org/x/mod/module TestMatchPrefixPatterns.
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
            ("corp.[a-c]x.com", "corp.bx.com/m", true),
            ("corp.[^a-c]x.com", "corp.bx.com/m", false),
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
    fn rejects_bad_globs() {
        assert!(check_glob("corp.example.com/[a").is_err());
        assert!(check_glob("a\\").is_err());
        assert!(check_glob("*.corp.example.com").is_ok());
        assert!(check_glob("[]a]").is_ok());
    }
}
