//! The checksum database setting (GOSUMDB syntax).

pub mod client;

pub mod private;

use std::fmt;
use std::str::FromStr;

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

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("unknown checksum database {0:?}: give its key, as in GOSUMDB=\"name+hash+key [url]\"")]
    UnknownName(String),
    #[error("malformed checksum database key {0:?}: want name+hash+key")]
    MalformedKey(String),
    #[error("malformed GOSUMDB value {0:?}: want off, a name or \"key [url]\"")]
    Malformed(String),
}

impl SumdbSpec {
    pub fn is_off(&self) -> bool {
        matches!(self, Self::Off)
    }
}

impl FromStr for SumdbSpec {
    type Err = SpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let fields: Vec<&str> = s.split_whitespace().collect();
        let (key, url) = match fields.as_slice() {
            ["off"] => return Ok(Self::Off),
            [key] => (*key, None),
            [key, url] => (*key, Some((*url).to_owned())),
            _ => return Err(SpecError::Malformed(s.to_owned())),
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
            k if !k.contains('+') => return Err(SpecError::UnknownName(k.to_owned())),
            k => {
                // The key's base64 may itself hold `+`: let the note rules judge.
                modgate_sumdb::note::Ed25519Verifier::new(k)
                    .map_err(|_| SpecError::MalformedKey(k.to_owned()))?;
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
}
