//! The GOSUMDB setting (`off`, a known name, or `name+hash+key [url]`) and
//! the paths a checksum database serves (`/sumdb/<name>/…`).

use std::fmt;
use std::str::FromStr;

use crate::Error;
use crate::tlog::{self, Tile};

/// The public key of sum.golang.org, as the go command knows it.
pub const SUM_GOLANG_ORG_KEY: &str =
    "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SumdbSpec {
    Off,
    Database {
        /// Verifier key `name+hash+key`.
        key: String,
        /// Base URL; the default is `https://<name>`.
        url: Option<String>,
    },
}

impl SumdbSpec {
    pub fn is_off(&self) -> bool {
        matches!(self, Self::Off)
    }
}

impl FromStr for SumdbSpec {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let fields: Vec<&str> = s.split_whitespace().collect();
        let (key, url) = match fields.as_slice() {
            ["off"] => return Ok(Self::Off),
            [key] => (*key, None),
            [key, url] => (*key, Some((*url).to_owned())),
            _ => return Err(Error::MalformedGosumdb(s.to_owned())),
        };
        let key = match key {
            "sum.golang.org" => SUM_GOLANG_ORG_KEY.to_owned(),
            // The go command knows this mirror of sum.golang.org by name.
            "sum.golang.google.cn" => {
                return Ok(Self::Database {
                    key: SUM_GOLANG_ORG_KEY.to_owned(),
                    url: url.or_else(|| Some("https://sum.golang.google.cn".to_owned())),
                });
            }
            k if !k.contains('+') => return Err(Error::UnknownDatabase(k.to_owned())),
            k => {
                // The key's base64 may itself hold `+`: let the note rules judge.
                crate::note::Ed25519Verifier::new(k)
                    .map_err(|_| Error::MalformedDatabaseKey(k.to_owned()))?;
                k.to_owned()
            }
        };
        Ok(Self::Database { key, url })
    }
}

impl fmt::Display for SumdbSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Off => f.write_str("off"),
            Self::Database { key, url: None } => f.write_str(key),
            Self::Database { key, url: Some(u) } => write!(f, "{key} {u}"),
        }
    }
}

/// A file of a checksum database, as a client asks for it under
/// `/sumdb/<name>/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SumdbPath {
    /// `supported`: whether a proxy passes the database's traffic on.
    Supported,
    /// `latest`: the signed tree head.
    Latest,
    /// `lookup/M@V`, module and version unescaped and valid.
    Lookup { module: String, version: String },
    /// `tile/H/L/N[.p/W]` or `tile/H/data/N[.p/W]`.
    Tile(Tile),
}

impl SumdbPath {
    /// Parses `path`, what follows `/sumdb/<name>/`. Lookups must be escaped
    /// as the go command escapes them: one spelling per stored file.
    pub fn parse(path: &str) -> Result<Self, Error> {
        match path {
            "supported" => return Ok(Self::Supported),
            "latest" => return Ok(Self::Latest),
            _ => {}
        }
        if let Some(lookup) = path.strip_prefix("lookup/") {
            return parse_lookup(lookup);
        }
        if path.starts_with("tile/") {
            return tlog::parse_tile_path(path).map(Self::Tile);
        }
        Err(Error::UnknownSumdbPath(path.to_owned()))
    }
}

fn parse_lookup(lookup: &str) -> Result<SumdbPath, Error> {
    use modgate_module::{escape_path, escape_version, unescape_path, unescape_version};
    let bad = |why: String| Error::MalformedLookup {
        lookup: lookup.to_owned(),
        reason: why,
    };
    let (em, ev) = lookup
        .split_once('@')
        .ok_or_else(|| bad("want <module>@<version>".into()))?;
    let module = unescape_path(em).map_err(|e| bad(e.to_string()))?;
    let version = unescape_version(ev).map_err(|e| bad(e.to_string()))?;
    modgate_module::check(&module, &version).map_err(|e| bad(e.to_string()))?;
    if escape_path(&module).ok().as_deref() != Some(em)
        || escape_version(&version).ok().as_deref() != Some(ev)
    {
        return Err(bad("not escaped as the go command escapes it".into()));
    }
    Ok(SumdbPath::Lookup { module, version })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_gosumdb_forms() {
        assert!("off".parse::<SumdbSpec>().unwrap().is_off());
        let db: SumdbSpec = "sum.golang.org".parse().unwrap();
        assert_eq!(db.to_string(), SUM_GOLANG_ORG_KEY);
        // A real key whose base64 holds `+` (as most do).
        let key = "sumdb.modgate.test+b290dfb2+ASgXpgeoxjYvLuHjjhAzZLYktnwtrjv+5IFczjmgXS+1";
        let db: SumdbSpec = format!("{key} http://127.0.0.1:1").parse().unwrap();
        assert_eq!(db.to_string(), format!("{key} http://127.0.0.1:1"));
        assert!("corp+abcd1234+AAAA".parse::<SumdbSpec>().is_err());
        assert!("example.com".parse::<SumdbSpec>().is_err());
        assert!("a+b c d".parse::<SumdbSpec>().is_err());
        assert!("a++b".parse::<SumdbSpec>().is_err());
    }

    #[test]
    fn parses_database_paths() {
        assert_eq!(SumdbPath::parse("supported").unwrap(), SumdbPath::Supported);
        assert_eq!(SumdbPath::parse("latest").unwrap(), SumdbPath::Latest);
        assert_eq!(
            SumdbPath::parse("lookup/github.com/!azure/go@v1.0.0").unwrap(),
            SumdbPath::Lookup {
                module: "github.com/Azure/go".into(),
                version: "v1.0.0".into()
            }
        );
        assert!(matches!(
            SumdbPath::parse("tile/8/0/001").unwrap(),
            SumdbPath::Tile(_)
        ));
        for bad in [
            "lookup/github.com/Azure/go@v1.0.0",
            "lookup/example.com/m",
            "lookup/example.com/m@v1",
            "lookup/example.com/m@v2.0.0",
            "tile/8/0/x",
            "lookup/../x@v1.0.0",
            "other",
            "",
        ] {
            assert!(SumdbPath::parse(bad).is_err(), "{bad}");
        }
    }
}
