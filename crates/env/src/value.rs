//! The syntax of setting values given as flags, environment variables or
//! file keys: durations, sizes and ages, as every crate's settings and
//! modgate's commands take them.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;

/// A duration written `500ms`, `5s`, `2m`, `1h` or `90d` (a bare number is seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dur(pub Duration);

impl FromStr for Dur {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (num, unit) = s.split_at(split);
        let n: u64 = num
            .parse()
            .map_err(|_| format!("invalid duration {s:?}: want e.g. 500ms, 5s, 2m, 90d"))?;
        let d = match unit {
            "ms" => Duration::from_millis(n),
            "" | "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.saturating_mul(60)),
            "h" => Duration::from_secs(n.saturating_mul(3600)),
            "d" => Duration::from_secs(n.saturating_mul(86_400)),
            _ => {
                return Err(format!(
                    "invalid duration {s:?}: want e.g. 500ms, 5s, 2m, 90d"
                ));
            }
        };
        Ok(Dur(d))
    }
}

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ms", self.0.as_millis())
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Secs(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Secs(n) => Ok(Dur(Duration::from_secs(n))),
            Raw::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// A size written `20GiB`, `500MiB`, `64KiB` or a number of bytes (the
/// units are powers of 1024; `G`, `M`, `K` and `GB`… mean the same).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size(pub u64);

impl FromStr for Size {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (num, unit) = s.split_at(split);
        let bad = || format!("invalid size {s:?}: want e.g. 20GiB, 500MiB or bytes");
        let n: u64 = num.parse().map_err(|_| bad())?;
        let shift = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 0,
            "k" | "kb" | "kib" => 10,
            "m" | "mb" | "mib" => 20,
            "g" | "gb" | "gib" => 30,
            "t" | "tb" | "tib" => 40,
            _ => return Err(bad()),
        };
        n.checked_mul(1 << shift).map(Size).ok_or_else(bad)
    }
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bytes(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Bytes(n) => Ok(Size(n)),
            Raw::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// `3y`, `18mo`, `90d`, `2w`: a year is 365 days, a month 30.
pub fn parse_age(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("{s:?}: want e.g. 3y, 18mo or 90d"))?;
    let days = match unit {
        "y" => 365,
        "mo" => 30,
        "w" => 7,
        "d" => 1,
        _ => return Err(format!("{s:?}: want e.g. 3y, 18mo or 90d")),
    };
    Ok(Duration::from_secs(n.saturating_mul(days * 86_400)))
}

/// A duration ([`Dur`]'s syntax) more than 0.
pub fn parse_timeout(s: &str) -> Result<Duration, String> {
    let d = s.parse::<Dur>()?.0;
    if d.is_zero() {
        return Err("the timeout must be more than 0".to_owned());
    }
    Ok(d)
}

/// gc's age: whole days, at least one. Access is recorded per day, so a
/// shorter age would read as 0 days and remove versions served minutes ago.
pub fn parse_days(s: &str) -> Result<Duration, String> {
    let days: u64 = s
        .trim()
        .strip_suffix('d')
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("{s:?}: want whole days, e.g. 30d"))?;
    if days == 0 {
        return Err(format!(
            "{s:?} would remove every version, even those served today: want at least 1d, e.g. 30d"
        ));
    }
    Ok(Duration::from_secs(days.saturating_mul(86_400)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!("500ms".parse(), Ok(Dur(Duration::from_millis(500))));
        assert_eq!("5".parse(), Ok(Dur(Duration::from_secs(5))));
        assert_eq!("2m".parse(), Ok(Dur(Duration::from_secs(120))));
        assert_eq!("90d".parse(), Ok(Dur(Duration::from_secs(90 * 86_400))));
        assert!("5 parsecs".parse::<Dur>().is_err());
        assert!("".parse::<Dur>().is_err());
        assert!("-1s".parse::<Dur>().is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!("20GiB".parse::<Size>(), Ok(Size(20 << 30)));
        assert_eq!("500 MiB".parse::<Size>(), Ok(Size(500 << 20)));
        assert_eq!("64k".parse::<Size>(), Ok(Size(64 << 10)));
        assert_eq!("123".parse::<Size>(), Ok(Size(123)));
        assert!("lots".parse::<Size>().is_err());
        assert!("99999999999T".parse::<Size>().is_err());
    }

    #[test]
    fn parses_ages() {
        assert_eq!(parse_age("3y"), Ok(Duration::from_secs(3 * 365 * 86_400)));
        assert_eq!(parse_age("18mo"), Ok(Duration::from_secs(18 * 30 * 86_400)));
        assert_eq!(parse_age("90d"), Ok(Duration::from_secs(90 * 86_400)));
        assert!(parse_age("3 years").is_err());
        assert!(parse_age("y").is_err());
    }

    #[test]
    fn parses_timeouts() {
        assert_eq!(parse_timeout("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_timeout("500ms"), Ok(Duration::from_millis(500)));
        assert!(parse_timeout("0s").is_err());
        assert!(parse_timeout("soon").is_err());
    }

    #[test]
    fn gc_ages_are_whole_days_of_at_least_one() {
        assert_eq!(parse_days("30d"), Ok(Duration::from_secs(30 * 86_400)));
        for bad in ["0d", "12h", "500ms", "1", "d", "-1d", "1.5d"] {
            let e = parse_days(bad).unwrap_err();
            assert!(e.contains("30d") && !e.contains("500ms,"), "{bad}: {e}");
        }
    }
}
