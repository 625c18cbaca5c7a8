//! `<meta name="go-import" content="prefix vcs repo-root [subdir]">` tags
//! (cmd/go/internal/vcs/discovery.go; the subdirectory since Go 1.25). Go reads them with its non-strict
//! XML decoder; a small tag scanner does here, more tolerant than that
//! decoder (stray `<`, unquoted values) and never failing.

use std::fmt;

use super::has_path_prefix;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct MetaImport {
    pub prefix: String,
    pub vcs: String,
    pub repo_root: String,
    /// Where in the repository the prefix's tree is; `""`: its root.
    pub subdir: String,
}

/// The go-import entries of a page in the order go weighs them in module
/// mode: `mod` entries first, then the others whose prefix has no `mod`
/// entry. Scanning ends at `<body>` or `</head>`; go-source and other
/// tags are ignored.
pub(super) fn parse(html: &str) -> Vec<MetaImport> {
    let all: Vec<MetaImport> = go_import_contents(html)
        .iter()
        .filter_map(
            |content| match content.split_whitespace().collect::<Vec<_>>()[..] {
                [prefix, vcs, repo_root] => Some(MetaImport {
                    prefix: prefix.to_owned(),
                    vcs: vcs.to_owned(),
                    repo_root: repo_root.to_owned(),
                    subdir: String::new(),
                }),
                [prefix, vcs, repo_root, subdir] => Some(MetaImport {
                    prefix: prefix.to_owned(),
                    vcs: vcs.to_owned(),
                    repo_root: repo_root.to_owned(),
                    subdir: subdir.to_owned(),
                }),
                _ => None,
            },
        )
        .collect();
    let (mods, others): (Vec<_>, Vec<_>) = all.into_iter().partition(|m| m.vcs == "mod");
    let superseded = |m: &MetaImport| mods.iter().any(|x| x.prefix == m.prefix);
    let others: Vec<_> = others.into_iter().filter(|m| !superseded(m)).collect();
    mods.into_iter().chain(others).collect()
}

#[derive(Debug, PartialEq, Eq)]
pub(super) enum MatchError {
    /// The prefixes of the entries, none of which covers the path.
    Mismatch {
        path: String,
        prefixes: Vec<String>,
    },
    Multiple {
        path: String,
    },
}

impl fmt::Display for MatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MatchError::Mismatch { path, prefixes } => {
                for (i, prefix) in prefixes.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    write!(f, "{sep}meta tag {prefix} did not match import path {path}")?;
                }
                Ok(())
            }
            MatchError::Multiple { path } => {
                write!(f, "multiple meta tags match import path {path:?}")
            }
        }
    }
}

/// Go's `matchGoImport`: the one entry whose prefix covers `path`. A `mod`
/// entry wins over the non-`mod` ones after it; otherwise two matches are
/// an error (nested repositories).
pub(super) fn match_go_import<'a>(
    imports: &'a [MetaImport],
    path: &str,
) -> Result<&'a MetaImport, MatchError> {
    let mut found: Option<&MetaImport> = None;
    let mut prefixes = Vec::new();
    for im in imports {
        if !has_path_prefix(path, &im.prefix) {
            prefixes.push(im.prefix.clone());
            continue;
        }
        if let Some(first) = found {
            if first.vcs == "mod" && im.vcs != "mod" {
                break;
            }
            return Err(MatchError::Multiple {
                path: path.to_owned(),
            });
        }
        found = Some(im);
    }
    found.ok_or_else(|| MatchError::Mismatch {
        path: path.to_owned(),
        prefixes,
    })
}

/// Checks a go-import subdirectory: a relative path inside the repository,
/// `/`-separated, with no empty, `.` or `..` element, which git reads as
/// written (no `\`, no control characters, no leading `-` or `:`).
pub(super) fn check_subdir(subdir: &str) -> Result<(), &'static str> {
    if subdir.starts_with('/') {
        return Err("an absolute path");
    }
    if subdir.starts_with(['-', ':']) {
        return Err("it starts with - or :");
    }
    if subdir
        .chars()
        .any(|c| c.is_control() || c == '\\' || c == '"')
    {
        return Err("control characters, \\ or \"");
    }
    if subdir
        .split('/')
        .any(|e| e.is_empty() || e == "." || e == "..")
    {
        return Err("not a clean relative path (empty, . or .. elements)");
    }
    Ok(())
}

/// The `content` of each `<meta name="go-import">` in the head.
fn go_import_contents(html: &str) -> Vec<String> {
    let mut contents = Vec::new();
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        rest = &rest[lt + 1..];
        if let Some(after) = rest.strip_prefix("!--") {
            rest = after.find("-->").map_or("", |i| &after[i + 3..]);
        } else if let Some(after) = rest.strip_prefix("![CDATA[") {
            rest = after.find("]]>").map_or("", |i| &after[i + 3..]);
        } else if rest.starts_with(['!', '?']) {
            rest = rest.find('>').map_or("", |i| &rest[i + 1..]);
        } else if let Some(after) = rest.strip_prefix('/') {
            let (name, after) = tag_name(after);
            if name.eq_ignore_ascii_case("head") {
                break;
            }
            rest = after.find('>').map_or("", |i| &after[i + 1..]);
        } else {
            let (name, after) = tag_name(rest);
            if name.is_empty() {
                // A lone `<` in text.
                continue;
            }
            if name.eq_ignore_ascii_case("body") {
                break;
            }
            let (attrs, after) = attributes(after);
            rest = after;
            if ["script", "style"]
                .iter()
                .any(|raw| name.eq_ignore_ascii_case(raw))
            {
                // Raw text: a `<` in a script is no tag.
                let end = format!("</{}", name.to_ascii_lowercase());
                rest = rest
                    .to_ascii_lowercase()
                    .find(&end)
                    .map_or("", |i| &rest[i..]);
                continue;
            }
            let value = |key: &str| {
                // Go takes the first attribute of that name, any case.
                attrs
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                    .map(|(_, v)| v.as_str())
            };
            if name.eq_ignore_ascii_case("meta") && value("name") == Some("go-import") {
                contents.push(value("content").unwrap_or_default().to_owned());
            }
        }
    }
    contents
}

/// The element name at the start of `s` (empty if `s` does not start with
/// a name), and what follows it.
fn tag_name(s: &str) -> (&str, &str) {
    if !s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == ':') {
        return ("", s);
    }
    let end = s
        .find(|c: char| c.is_whitespace() || c == '/' || c == '>')
        .unwrap_or(s.len());
    s.split_at(end)
}

/// The attributes of a start tag, and what follows its `>`. An attribute
/// without a value gets its name as value, as in Go's decoder.
fn attributes(mut s: &str) -> (Vec<(String, String)>, &str) {
    let mut attrs = Vec::new();
    loop {
        s = s.trim_start();
        let Some(c) = s.chars().next() else {
            return (attrs, s);
        };
        match c {
            '>' => return (attrs, &s[1..]),
            '/' | '=' | '"' | '\'' => {
                s = &s[1..];
                continue;
            }
            _ => {}
        }
        let end = s
            .find(|c: char| c.is_whitespace() || matches!(c, '=' | '>' | '/'))
            .unwrap_or(s.len());
        let (name, after) = s.split_at(end);
        s = after.trim_start();
        let value = match s.strip_prefix('=') {
            Some(v) => {
                let v = v.trim_start();
                match v.chars().next() {
                    Some(q @ ('"' | '\'')) => {
                        let Some(close) = v[1..].find(q) else {
                            // Unterminated: the tag runs to the end.
                            return (attrs, "");
                        };
                        s = &v[close + 2..];
                        decode_entities(&v[1..close + 1])
                    }
                    _ => {
                        let end = v
                            .find(|c: char| c.is_whitespace() || c == '>')
                            .unwrap_or(v.len());
                        s = &v[end..];
                        decode_entities(&v[..end])
                    }
                }
            }
            None => name.to_owned(),
        };
        attrs.push((name.to_owned(), value));
    }
}

/// Replaces the XML character references; unknown entities stay as they
/// are, as in Go's non-strict decoder.
fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp + 1..];
        let decoded = rest
            .find(';')
            .and_then(|semi| entity(&rest[..semi]).map(|c| (c, semi + 1)));
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => out.push('&'),
        }
    }
    out.push_str(rest);
    out
}

fn entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix('x') {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mi(prefix: &str, vcs: &str, repo_root: &str) -> MetaImport {
        MetaImport {
            subdir: String::new(),
            prefix: prefix.to_owned(),
            vcs: vcs.to_owned(),
            repo_root: repo_root.to_owned(),
        }
    }

    /// TestParseMetaGoImports (discovery_test.go), module mode
    /// (`PreferMod`) where the cases differ.
    #[test]
    fn go_parse_meta_go_imports() {
        let foo = || mi("foo/bar", "git", "https://github.com/rsc/foo/bar");
        let cases = [
            (
                r#"<meta name="go-import" content="foo/bar git https://github.com/rsc/foo/bar">"#,
                vec![foo()],
            ),
            (
                r#"<meta name="go-import" content="foo/bar git https://github.com/rsc/foo/bar">
                <meta name="go-import" content="baz/quux git http://github.com/rsc/baz/quux">"#,
                vec![
                    foo(),
                    mi("baz/quux", "git", "http://github.com/rsc/baz/quux"),
                ],
            ),
            (
                r#"<meta name="go-import" content="foo/bar git https://github.com/rsc/foo/bar">
                <meta name="go-import" content="foo/bar mod http://github.com/rsc/baz/quux">"#,
                vec![mi("foo/bar", "mod", "http://github.com/rsc/baz/quux")],
            ),
            (
                r#"<meta name="go-import" content="foo/bar mod http://github.com/rsc/baz/quux">
                <meta name="go-import" content="foo/bar git https://github.com/rsc/foo/bar">"#,
                vec![mi("foo/bar", "mod", "http://github.com/rsc/baz/quux")],
            ),
            (
                r#"<head>
                <meta name="go-import" content="foo/bar git https://github.com/rsc/foo/bar">
                </head>"#,
                vec![foo()],
            ),
            (
                r#"<meta name="go-import" content="foo/bar git https://github.com/rsc/foo/bar">
                <body>"#,
                vec![foo()],
            ),
            (
                r#"<!doctype html><meta name="go-import" content="foo/bar git https://github.com/rsc/foo/bar">"#,
                vec![foo()],
            ),
            (
                r#"<!doctype html><title>Page Not Found</title><meta name=go-import content="chitin.io/chitin git https://github.com/chitin-io/chitin"><div style=position:relative>DRAFT</div>"#,
                vec![mi(
                    "chitin.io/chitin",
                    "git",
                    "https://github.com/chitin-io/chitin",
                )],
            ),
            (
                r#"<meta name="go-import" content="myitcv.io git https://github.com/myitcv/x">
                <meta name="go-import" content="myitcv.io/blah2 mod https://raw.githubusercontent.com/myitcv/pubx/master">
                "#,
                vec![
                    mi(
                        "myitcv.io/blah2",
                        "mod",
                        "https://raw.githubusercontent.com/myitcv/pubx/master",
                    ),
                    mi("myitcv.io", "git", "https://github.com/myitcv/x"),
                ],
            ),
        ];
        for (html, want) in cases {
            assert_eq!(parse(html), want, "{html}");
        }
    }

    #[test]
    fn tolerant_scanning() {
        let x = || vec![mi("example.com/x", "git", "https://git.example.com/x")];
        let cases = [
            // Case-insensitive tag and attribute names, single quotes, self-closing.
            (
                r#"<META NAME="go-import" Content='example.com/x git https://git.example.com/x'/>"#,
                x(),
            ),
            // The attribute value stays case-sensitive.
            (
                r#"<meta name="GO-IMPORT" content="example.com/x git https://git.example.com/x">"#,
                vec![],
            ),
            // go-source, other metas and malformed contents are ignored.
            (
                r#"<meta name="go-source" content="example.com/x https://s/x https://s/x/tree{/dir} https://s/x/blob{/dir}/{file}#L{line}">
                <meta charset="utf-8"><meta name="go-import" content="example.com/y git">
                <meta name="go-import" content="example.com/y git https://a b c">
                <meta name="go-import">
                <meta content="example.com/z git https://z">
                <meta name="go-import" content="  example.com/x
                    git   https://git.example.com/x ">"#,
                x(),
            ),
            // Comments, scripts with `<`, attributes without values, entities.
            (
                r#"<html><head><!-- <meta name="go-import" content="example.com/x git https://evil"> -->
                <script>if (a < b && c<d) {}</script>
                <link rel=stylesheet href="/s.css" async>
                <meta data-x name="go-import" content="example.com/x git https://git.example.com/x&amp;">
                </head>"#,
                vec![mi("example.com/x", "git", "https://git.example.com/x&")],
            ),
            // Nothing after </head> or from <body> on counts.
            (
                r#"<head></head><meta name="go-import" content="example.com/x git https://git.example.com/x">"#,
                vec![],
            ),
            (
                r#"<body><meta name="go-import" content="example.com/x git https://git.example.com/x">"#,
                vec![],
            ),
            (
                r#"<meta name="go-import" content="example.com/x git https://git.example.com/x"><BODY class=x><meta name="go-import" content="example.com/x git https://evil">"#,
                x(),
            ),
            // Truncated pages keep what came before.
            (
                r#"<meta name="go-import" content="example.com/x git https://git.example.com/x"><meta name="go-import" content="example.com/y git"#,
                x(),
            ),
            ("", vec![]),
            ("<", vec![]),
            ("<meta", vec![]),
            ("<!--", vec![]),
            ("<meta name=", vec![]),
        ];
        for (html, want) in cases {
            assert_eq!(parse(html), want, "{html}");
        }
    }

    /// Go 1.25's optional fourth field: the module root's subdirectory.
    #[test]
    fn subdirectory_field() {
        let page = r#"<meta name="go-import" content="example.com/x git https://git.example.com/r foo/sub">
<meta name="go-import" content="example.com/y git https://git.example.com/y">
<meta name="go-import" content="example.com/z git https://git.example.com/z a b">"#;
        let got = parse(page);
        assert_eq!(got.len(), 2, "five fields name nothing: {got:?}");
        assert_eq!(
            got[0],
            MetaImport {
                subdir: "foo/sub".into(),
                ..mi("example.com/x", "git", "https://git.example.com/r")
            }
        );
        assert_eq!(
            got[1],
            mi("example.com/y", "git", "https://git.example.com/y")
        );
        for ok in ["sub", "foo/sub", "a.b/c-d", "v2"] {
            assert_eq!(check_subdir(ok), Ok(()), "{ok}");
        }
        for bad in [
            "../x", "x/../y", "/abs", "./x", "x/.", "x//y", "x/", "..", "-x", "a\\b", "a\nb",
        ] {
            assert!(check_subdir(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn entities() {
        assert_eq!(
            decode_entities("a&lt;b&gt;&quot;&apos;&#65;&#x42;"),
            "a<b>\"'AB"
        );
        assert_eq!(
            decode_entities("&nbsp; & &;&#xzz;x&"),
            "&nbsp; & &;&#xzz;x&"
        );
    }

    /// TestMatchGoImport (vcs_test.go).
    #[test]
    fn go_match_go_import() {
        let target = "https://example.com/repo/target";
        let foo = mi("example.com/user/foo", "git", target);
        let fooa = mi("example.com/user/fooa", "git", target);
        let bar = mi("example.com/user/foo/bar", "git", target);
        let blah2 = mi(
            "myitcv.io/blah2",
            "mod",
            "https://raw.githubusercontent.com/myitcv/pubx/master",
        );
        let myitcv = mi("myitcv.io", "git", "https://github.com/myitcv/x");
        let ok = [
            (vec![foo.clone()], "example.com/user/foo", &foo),
            (vec![foo.clone()], "example.com/user/foo/", &foo),
            (
                vec![foo.clone(), fooa.clone()],
                "example.com/user/foo",
                &foo,
            ),
            (
                vec![foo.clone(), fooa.clone()],
                "example.com/user/fooa",
                &fooa,
            ),
            (
                vec![blah2.clone(), myitcv.clone()],
                "myitcv.io/blah2/foo",
                &blah2,
            ),
            (
                vec![blah2.clone(), myitcv.clone()],
                "myitcv.io/other",
                &myitcv,
            ),
        ];
        for (imports, path, want) in ok {
            assert_eq!(match_go_import(&imports, path), Ok(want), "{path}");
        }
        let nested = [foo.clone(), bar];
        for path in [
            "example.com/user/foo/bar",
            "example.com/user/foo/bar/baz",
            "example.com/user/foo/bar/baz/qux",
            "example.com/user/foo/bar/baz/",
        ] {
            assert_eq!(
                match_go_import(&nested, path),
                Err(MatchError::Multiple {
                    path: path.to_owned()
                })
            );
        }
        let err = match_go_import(&nested, "example.com").unwrap_err();
        assert_eq!(
            err.to_string(),
            "meta tag example.com/user/foo did not match import path example.com, \
             meta tag example.com/user/foo/bar did not match import path example.com"
        );
        assert!(match_go_import(&[foo], "different.example.com/user/foo").is_err());
        assert!(match_go_import(&[], "example.com/x").is_err());
    }
}
