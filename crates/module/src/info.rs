//! A version's metadata, as the GOPROXY protocol serves it at `.info` and
//! `@latest`: `{"Version":…,"Time":…}`.

use jiff::Timestamp;
use serde::Deserialize;

use crate::{Error, version};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    pub version: String,
    pub time: Timestamp,
}

#[derive(Deserialize)]
struct RawInfo {
    #[serde(rename = "Version")]
    version: String,
    #[serde(rename = "Time")]
    time: String,
}

impl Info {
    /// `{"Version":…,"Time":…}` with the time in UTC, as the go command writes it.
    pub fn to_json(&self) -> Vec<u8> {
        #[derive(serde::Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Out<'a> {
            version: &'a str,
            time: String,
        }
        let out = Out {
            version: &self.version,
            time: self.time.to_string(),
        };
        serde_json::to_vec(&out).expect("plain strings serialize")
    }

    /// Reads a `.info` (or `@latest`) answer for `module`. The version must
    /// be canonical and valid for the module; when `requested` is a
    /// canonical version, the answer must name it.
    pub fn parse(module: &str, requested: Option<&str>, data: &[u8]) -> Result<Info, Error> {
        let bad = |reason: String| Error::InvalidInfo {
            module: module.to_owned(),
            reason,
        };
        let raw: RawInfo =
            serde_json::from_slice(data).map_err(|e| bad(format!("malformed .info JSON: {e}")))?;
        if !version::is_canonical(&raw.version) {
            return Err(bad(format!(
                ".info names non-canonical version {:?}",
                raw.version
            )));
        }
        version::check(module, &raw.version)?;
        if let Some(want) = requested.filter(|v| version::is_canonical(v))
            && raw.version != want
        {
            return Err(bad(format!(
                ".info for {want} names version {}",
                raw.version
            )));
        }
        let time: Timestamp = raw.time.parse().map_err(|e| {
            bad(format!(
                "{}: .info has an invalid Time {:?}: {e}",
                raw.version, raw.time
            ))
        })?;
        Ok(Info {
            version: raw.version,
            time,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_is_normalized_to_utc() {
        let info = Info::parse(
            "example.com/m",
            Some("v1.0.0"),
            br#"{"Version":"v1.0.0","Time":"2019-10-01T12:00:00+02:00","Origin":{"VCS":"git"}}"#,
        )
        .unwrap();
        assert_eq!(
            &info.to_json()[..],
            br#"{"Version":"v1.0.0","Time":"2019-10-01T10:00:00Z"}"#
        );
    }

    #[test]
    fn info_must_match_the_request() {
        let data = br#"{"Version":"v1.0.1","Time":"2019-10-01T12:00:00Z"}"#;
        assert!(Info::parse("example.com/m", Some("v1.0.0"), data).is_err());
        assert!(Info::parse("example.com/m", Some("master"), data).is_ok());
        assert!(Info::parse("example.com/m", None, b"not json").is_err());
        let bad_time = br#"{"Version":"v1.0.0","Time":"yesterday"}"#;
        assert!(Info::parse("example.com/m", None, bad_time).is_err());
        let wrong_major = br#"{"Version":"v2.0.0","Time":"2019-10-01T12:00:00Z"}"#;
        assert!(Info::parse("example.com/m", None, wrong_major).is_err());
    }
}
