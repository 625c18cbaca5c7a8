//! The lists of module versions a bundle or a prefetch starts from: go.sum
//! files and `module@version` lists.

use std::collections::BTreeMap;

use crate::{Error, version};

/// A module version a go.sum names, with the hashes it lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SumEntry {
    pub module: String,
    pub version: String,
    /// `h1:` of the zip; none for a version whose go.mod alone is listed
    /// (a module in the graph whose code the build never needs).
    pub zip: Option<String>,
    /// `h1:` of its go.mod.
    pub go_mod: Option<String>,
}

/// Parses go.sum text, one entry per module version in the order first
/// named. Lines with hashes other than `h1:` are skipped, as the go command
/// skips what it cannot check; a malformed line is an error.
pub fn parse_go_sum(text: &str) -> Result<Vec<SumEntry>, Error> {
    let mut entries: Vec<SumEntry> = Vec::new();
    let mut at: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let bad = |reason: String| Error::BadListLine {
            line: i + 1,
            reason,
        };
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [module, v, hash] = fields[..] else {
            return Err(bad(format!("want \"module version hash\", have {line:?}")));
        };
        let (v, is_mod) = match v.strip_suffix("/go.mod") {
            Some(v) => (v, true),
            None => (v, false),
        };
        version::check(module, v).map_err(|e| bad(e.to_string()))?;
        if !hash.starts_with("h1:") {
            continue;
        }
        let slot = *at
            .entry((module.to_owned(), v.to_owned()))
            .or_insert_with(|| {
                entries.push(SumEntry {
                    module: module.to_owned(),
                    version: v.to_owned(),
                    zip: None,
                    go_mod: None,
                });
                entries.len() - 1
            });
        let entry = &mut entries[slot];
        let field = if is_mod {
            &mut entry.go_mod
        } else {
            &mut entry.zip
        };
        match field {
            Some(seen) if seen != hash => {
                return Err(bad(format!("{module}@{v} is listed with two hashes")));
            }
            _ => *field = Some(hash.to_owned()),
        }
    }
    Ok(entries)
}

/// A line of a module list: a version, or `latest` to be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub module: String,
    /// None for `@latest`.
    pub version: Option<String>,
}

/// Parses lines `module@version` or `module@latest`; blank lines and `#`
/// comments are skipped.
pub fn parse_list(text: &str) -> Result<Vec<Wanted>, Error> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let bad = |reason: String| Error::BadListLine {
            line: i + 1,
            reason,
        };
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let Some((module, v)) = line.split_once('@') else {
            return Err(bad(format!("want module@version, have {line:?}")));
        };
        let version = if v == "latest" {
            crate::check_path(module).map_err(|e| bad(e.to_string()))?;
            None
        } else {
            version::check(module, v).map_err(|e| bad(e.to_string()))?;
            Some(v.to_owned())
        };
        out.push(Wanted {
            module: module.to_owned(),
            version,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_sum_entries() {
        let got = parse_go_sum(
            "example.com/a v1.0.0 h1:zip=\n\
             example.com/a v1.0.0/go.mod h1:mod=\n\
             example.com/b v0.1.0/go.mod h1:bmod=\n\
             \n\
             example.com/c v1.0.0 h2:future\n",
        )
        .unwrap();
        assert_eq!(
            got,
            [
                SumEntry {
                    module: "example.com/a".into(),
                    version: "v1.0.0".into(),
                    zip: Some("h1:zip=".into()),
                    go_mod: Some("h1:mod=".into()),
                },
                SumEntry {
                    module: "example.com/b".into(),
                    version: "v0.1.0".into(),
                    zip: None,
                    go_mod: Some("h1:bmod=".into()),
                },
            ]
        );
        for bad in [
            "example.com/a v1.0.0\n",
            "example.com/a v1 h1:x\n",
            "example.com/a v1.0.0 h1:x extra\n",
            "example.com/a v1.0.0 h1:x\nexample.com/a v1.0.0 h1:y\n",
            "Example..com v1.0.0 h1:x\n",
        ] {
            assert!(parse_go_sum(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn list_lines() {
        let got =
            parse_list("# deps\nexample.com/a@v1.0.0\n\nexample.com/b@latest # newest\n").unwrap();
        assert_eq!(
            got,
            [
                Wanted {
                    module: "example.com/a".into(),
                    version: Some("v1.0.0".into())
                },
                Wanted {
                    module: "example.com/b".into(),
                    version: None
                },
            ]
        );
        for bad in [
            "example.com/a",
            "example.com/a@v1",
            "example.com/a@",
            "@v1.0.0",
        ] {
            assert!(parse_list(bad).is_err(), "{bad:?}");
        }
    }
}
