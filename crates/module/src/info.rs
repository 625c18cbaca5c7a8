//! A version's metadata, as the GOPROXY protocol serves it at `.info` and
//! `@latest`: `{"Version":…,"Time":…,"Origin":{…}}`.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{Error, version};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    pub version: String,
    pub time: Timestamp,
    /// Where the version came from, as the go command's direct mode
    /// records it; kept as an upstream sent it.
    pub origin: Option<Origin>,
}

/// cmd/go's `codehost.Origin`: the fields in its order, each left out when
/// empty, so that the JSON is byte for byte what the go command writes.
/// Unknown fields are dropped, as go drops them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Origin {
    #[serde(rename = "VCS", skip_serializing_if = "String::is_empty")]
    pub vcs: String,
    #[serde(rename = "URL", skip_serializing_if = "String::is_empty")]
    pub url: String,
    /// The module's directory in the repository.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub subdir: String,
    /// The commit.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub hash: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tag_prefix: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tag_sum: String,
    /// The ref that named the commit (`refs/tags/v1.2.3`); go leaves it out
    /// of pseudo-versions.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub r#ref: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub repo_sum: String,
}

impl Origin {
    /// The tag this origin vouches for (`Ref` of `refs/tags/…`), if any.
    pub fn tag(&self) -> Option<&str> {
        self.r#ref.strip_prefix("refs/tags/")
    }
}

#[derive(Deserialize)]
struct RawInfo {
    #[serde(rename = "Version")]
    version: String,
    #[serde(rename = "Time")]
    time: String,
    #[serde(rename = "Origin", default)]
    origin: Option<Origin>,
}

impl Info {
    /// `{"Version":…,"Time":…,"Origin":…}` with the time in UTC, as the go
    /// command writes it.
    pub fn to_json(&self) -> Vec<u8> {
        #[derive(serde::Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Out<'a> {
            version: &'a str,
            time: String,
            #[serde(skip_serializing_if = "Option::is_none")]
            origin: Option<&'a Origin>,
        }
        let out = Out {
            version: &self.version,
            time: self.time.to_string(),
            origin: self.origin.as_ref(),
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
            origin: raw.origin,
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
            br#"{"Version":"v1.0.0","Time":"2019-10-01T12:00:00+02:00"}"#,
        )
        .unwrap();
        assert_eq!(
            &info.to_json()[..],
            br#"{"Version":"v1.0.0","Time":"2019-10-01T10:00:00Z"}"#
        );
    }

    #[test]
    fn origin_is_kept_in_the_go_commands_order() {
        // As proxy.golang.org serves it, fields out of order, one unknown.
        let data = br#"{"Version":"v1.0.0","Time":"2019-10-01T10:00:00Z","Origin":{"Ref":"refs/tags/sub/v1.0.0","Hash":"0123456789abcdef0123456789abcdef01234567","Future":1,"Subdir":"sub","URL":"https://github.com/a/b","VCS":"git"}}"#;
        let info = Info::parse("example.com/m", Some("v1.0.0"), data).unwrap();
        let origin = info.origin.as_ref().unwrap();
        assert_eq!(origin.tag(), Some("sub/v1.0.0"));
        assert_eq!(
            String::from_utf8(info.to_json()).unwrap(),
            r#"{"Version":"v1.0.0","Time":"2019-10-01T10:00:00Z","Origin":{"VCS":"git","URL":"https://github.com/a/b","Subdir":"sub","Hash":"0123456789abcdef0123456789abcdef01234567","Ref":"refs/tags/sub/v1.0.0"}}"#
        );
        // go refuses an .info whose Origin is not an object.
        let bad = br#"{"Version":"v1.0.0","Time":"2019-10-01T10:00:00Z","Origin":"git"}"#;
        assert!(Info::parse("example.com/m", None, bad).is_err());
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
