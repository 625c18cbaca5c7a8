//! Reading the tools' output as go's codehost reads it (hgParseStat,
//! svnParseStat, bzrParseStat, fossilParseStat and the tag patterns).

use super::Kind;
use crate::git::RevInfo;

/// go's tag patterns: hg, a tag a line but `tip`; bzr, the first field of
/// each line; svn, each line (with its `/`, as go's pattern keeps it);
/// fossil, none.
pub fn tags(kind: Kind, out: &str) -> Vec<String> {
    let lines = out.lines().filter(|l| !l.is_empty());
    match kind {
        Kind::Hg => lines
            .filter(|l| !kind.bad_local(l))
            .map(str::to_owned)
            .collect(),
        Kind::Bzr => lines
            .filter(|l| !l.starts_with(char::is_whitespace))
            .filter_map(|l| l.split_whitespace().next())
            .filter(|t| !kind.bad_local(t))
            .map(str::to_owned)
            .collect(),
        Kind::Svn => lines.map(str::to_owned).collect(),
        Kind::Fossil => Vec::new(),
    }
}

/// The commit the stat command printed for `rev`.
pub fn stat(kind: Kind, rev: &str, out: &str) -> Result<RevInfo, String> {
    match kind {
        Kind::Hg => hg_stat(rev, out),
        Kind::Svn => svn_stat(rev, out),
        Kind::Bzr => bzr_stat(rev, out),
        Kind::Fossil => fossil_stat(rev, out),
    }
}

/// `{node} {date|hgdate} {tags}`.
fn hg_stat(rev: &str, out: &str) -> Result<RevInfo, String> {
    let f: Vec<&str> = out.split_whitespace().collect();
    let unexpected = || format!("unexpected response from hg log: {out:?}");
    if f.len() < 3 || !is_hex(f[0]) {
        return Err(unexpected());
    }
    let time: i64 = f[1]
        .parse()
        .map_err(|_| format!("invalid time from hg log: {out:?}"))?;
    let mut tags: Vec<String> = f[3..]
        .iter()
        .filter(|t| **t != "tip")
        .map(|t| (*t).to_owned())
        .collect();
    tags.sort();
    Ok(RevInfo {
        hash: f[0].to_owned(),
        time,
        nanos: 0,
        tags,
        version: Some(extend(rev, f[0])),
    })
}

/// A revision that is a prefix of the hash becomes the hash.
fn extend(rev: &str, hash: &str) -> String {
    if hash.starts_with(rev) {
        hash.to_owned()
    } else {
        rev.to_owned()
    }
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `svn log -l1 --xml`: the revision attribute and date of the log entry.
fn svn_stat(rev: &str, out: &str) -> Result<RevInfo, String> {
    let unexpected = |what: &str| format!("unexpected response from svn log --xml: {what}");
    let entry = out
        .find("<logentry")
        .map(|i| &out[i..])
        .ok_or_else(|| unexpected("no log entry"))?;
    let revision: i64 = attribute(entry, "revision")
        .and_then(|r| r.parse().ok())
        .ok_or_else(|| unexpected("no revision"))?;
    let date = element(entry, "date").ok_or_else(|| unexpected("no date"))?;
    let time: jiff::Timestamp = date.parse().map_err(|_| unexpected("bad date"))?;
    if revision <= 0 {
        return Err(unexpected("bad revision"));
    }
    Ok(RevInfo {
        hash: revision.to_string(),
        time: time.as_second(),
        nanos: time.subsec_nanosecond(),
        tags: Vec::new(),
        version: Some(rev.to_owned()),
    })
}

/// The value of `name="…"` in the first tag of `xml`.
fn attribute<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let tag = &xml[..xml.find('>')?];
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let len = tag[start..].find('"')?;
    Some(&tag[start..start + len])
}

/// The text of the first `<name>…</name>` in `xml`, unescaped.
fn element(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let len = xml[start..].find(&format!("</{name}>"))?;
    Some(unescape(&xml[start..start + len]))
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(end) = rest.find(';') else { break };
        let entity = &rest[1..end];
        let c = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match c {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// One file or directory `svn list --xml` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SvnEntry {
    pub kind: String,
    pub name: String,
    pub size: u64,
}

/// `svn list --xml --incremental`, read as go's `xml.Unmarshal` reads it
/// into `struct { Entries []listEntry "xml:entry" }`: the entries inside
/// the document's first element (`<list>`), which must be closed, as go's
/// decoder requires.
pub fn svn_list(out: &str) -> Result<Vec<SvnEntry>, String> {
    let body = out.trim_start();
    let body = match body.strip_prefix("<?xml") {
        Some(rest) => rest[rest.find("?>").map_or(0, |i| i + 2)..].trim_start(),
        None => body,
    };
    if body.is_empty() {
        return Err("unexpected response from svn list --xml: EOF".to_owned());
    }
    if !body.starts_with('<') {
        return Err("unexpected response from svn list --xml: not XML".to_owned());
    }
    // The root's name, and where its content ends.
    let root_end = body.find(['>', ' ', '\n', '\t', '/']).unwrap_or(body.len());
    let root = &body[1..root_end];
    let Some(close) = body.find(&format!("</{root}>")) else {
        return Err("unexpected response from svn list --xml: unexpected EOF".to_owned());
    };
    let inner = &body[body.find('>').map_or(0, |i| i + 1)..close];
    if root == "entry" {
        return Ok(Vec::new());
    }
    let mut entries = Vec::new();
    let mut rest = inner;
    while let Some(i) = rest.find("<entry") {
        let entry = &rest[i..];
        let end = entry.find("</entry>").ok_or("unterminated entry")?;
        let entry = &entry[..end];
        entries.push(SvnEntry {
            kind: attribute(entry, "kind").unwrap_or_default().to_owned(),
            name: element(entry, "name").unwrap_or_default(),
            size: element(entry, "size")
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0),
        });
        rest = &rest[i + end..];
    }
    Ok(entries)
}

/// `bzr log -l1 --long --show-ids`: the header's revno and timestamp.
fn bzr_stat(rev: &str, out: &str) -> Result<RevInfo, String> {
    let mut revno: i64 = 0;
    let mut time: Option<i64> = None;
    for line in out.split('\n') {
        if line.is_empty() || line.starts_with([' ', '\t']) {
            break;
        }
        if line.starts_with('-') {
            continue;
        }
        let Some((key, val)) = line.split_once(':') else {
            break;
        };
        let val = val.trim();
        match key {
            "revno" => {
                let val = val.split(' ').next().unwrap_or_default();
                revno = val
                    .parse()
                    .map_err(|_| format!("unexpected revno from bzr log: {line:?}"))?;
            }
            "timestamp" => {
                let bad = || format!("unexpected timestamp from bzr log: {line:?}");
                let (_, stamp) = val.split_once(' ').ok_or_else(bad)?;
                let zoned = jiff::fmt::strtime::parse("%Y-%m-%d %H:%M:%S %z", stamp)
                    .and_then(|t| t.to_timestamp())
                    .map_err(|_| bad())?;
                time = Some(zoned.as_second());
            }
            _ => {}
        }
    }
    match time {
        Some(time) if revno != 0 => Ok(RevInfo {
            hash: revno.to_string(),
            time,
            nanos: 0,
            tags: Vec::new(),
            version: Some(rev.to_owned()),
        }),
        _ => Err(format!("unexpected response from bzr log: {out:?}")),
    }
}

/// `fossil info`: the `hash:` (or `uuid:`) line, `HASH DATE TIME UTC`.
fn fossil_stat(rev: &str, out: &str) -> Result<RevInfo, String> {
    for line in out.split('\n') {
        if !(line.starts_with("uuid:") || line.starts_with("hash:")) {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        let unexpected = || format!("unexpected response from fossil info: {line:?}");
        if f.len() != 5 || f[1].len() != 40 || !is_hex(f[1]) || f[4] != "UTC" {
            return Err(unexpected());
        }
        let time: jiff::civil::DateTime = format!("{}T{}", f[2], f[3])
            .parse()
            .map_err(|_| unexpected())?;
        let time = time
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map_err(|_| unexpected())?
            .timestamp()
            .as_second();
        return Ok(RevInfo {
            hash: f[1].to_owned(),
            time,
            nanos: 0,
            tags: Vec::new(),
            version: Some(extend(rev, f[1])),
        });
    }
    Err(format!("unexpected response from fossil info: {out:?}"))
}
