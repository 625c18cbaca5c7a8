//! The syntax of setting values given as flags, environment variables or
//! file keys: durations and sizes, as every crate's settings and modgate's
//! commands take them. One grammar for each, everywhere:
//!
//! - a duration is Go's `time.ParseDuration` syntax (`300ms`, `1m30s`,
//!   `2h`, `1.5h`; units `ns`, `us`/`µs`, `ms`, `s`, `m`, `h`) plus `d` for
//!   24 hours. A bare number is refused: `5` could be seconds or minutes.
//! - a size is a whole number and a unit: `B`, the decimal `KB`, `MB`, `GB`,
//!   `TB` (powers of 1000) or the binary `KiB`, `MiB`, `GiB`, `TiB` (powers
//!   of 1024). A bare number is refused; bytes are written `512B`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;

const EXAMPLES: &str = "want e.g. 300ms, 1m30s, 2h or 90d";

/// A duration in Go's syntax plus `d` (see the module's documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dur(pub Duration);

/// Nanoseconds per unit, longest names first where one prefixes another.
const UNITS: &[(&str, u128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("μs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
    ("d", 86_400_000_000_000),
];

/// Go's limit: what an int64 of nanoseconds holds (about 292 years).
const MAX_NANOS: u128 = i64::MAX as u128;

impl FromStr for Dur {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let s = text.trim();
        let bad = || format!("invalid duration {s:?}: {EXAMPLES}");
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return Err(format!("invalid duration {s:?}: give a unit, e.g. {s}s"));
        }
        let mut rest = s.strip_prefix('+').unwrap_or(s);
        if rest.starts_with('-') {
            return Err(format!("invalid duration {s:?}: must not be negative"));
        }
        if rest.is_empty() {
            return Err(bad());
        }
        let mut total: u128 = 0;
        while !rest.is_empty() {
            let int_len = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            let (int, after) = rest.split_at(int_len);
            let (frac, after) = match after.strip_prefix('.') {
                Some(after) => {
                    let len = after
                        .find(|c: char| !c.is_ascii_digit())
                        .unwrap_or(after.len());
                    after.split_at(len)
                }
                None => ("", after),
            };
            if int.is_empty() && frac.is_empty() {
                return Err(bad());
            }
            let unit_len = after
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(after.len());
            let (unit, after) = after.split_at(unit_len);
            if unit.is_empty() {
                return Err(format!(
                    "invalid duration {s:?}: give each number a unit, e.g. 1m30s"
                ));
            }
            let Some(&(_, per)) = UNITS.iter().find(|(name, _)| *name == unit) else {
                return Err(format!(
                    "invalid duration {s:?}: unknown unit {unit:?} (ns, us, ms, s, m, h or d)"
                ));
            };
            let too_long = || format!("invalid duration {s:?}: longer than 292 years");
            let mut whole: u128 = 0;
            for digit in int.bytes() {
                whole = whole * 10 + u128::from(digit - b'0');
                if whole > MAX_NANOS {
                    return Err(too_long());
                }
            }
            // As Go does: the fraction's digits while they fit an int64,
            // scaled in floating point (so 0.3333333333333333333h is 20m).
            let (mut part, mut scale) = (0u64, 1f64);
            for digit in frac.bytes() {
                match part
                    .checked_mul(10)
                    .and_then(|p| p.checked_add(u64::from(digit - b'0')))
                    .filter(|&p| p <= i64::MAX as u64)
                {
                    Some(p) => {
                        part = p;
                        scale *= 10.0;
                    }
                    None => break,
                }
            }
            let fraction = (part as f64 * (per as f64 / scale)) as u128;
            total = whole
                .checked_mul(per)
                .map(|n| n + fraction)
                .and_then(|n| total.checked_add(n))
                .filter(|&n| n <= MAX_NANOS)
                .ok_or_else(too_long)?;
            rest = after;
        }
        Ok(Dur(Duration::from_nanos(total as u64)))
    }
}

/// The shortest text this grammar reads back as the same duration:
/// `90d`, `1h30m`, `1.5s`, `300ms`, `0s`.
impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = self.0.as_nanos();
        if nanos == 0 {
            return f.write_str("0s");
        }
        let mut out = String::new();
        let second = 1_000_000_000u128;
        if nanos < second {
            let (per, unit) = match nanos {
                n if n < 1_000 => (1, "ns"),
                n if n < 1_000_000 => (1_000, "us"),
                _ => (1_000_000, "ms"),
            };
            push_decimal(&mut out, nanos / per, nanos % per, per);
            out.push_str(unit);
            return f.write_str(&out);
        }
        let (days, rest) = (nanos / (86_400 * second), nanos % (86_400 * second));
        let (hours, rest) = (rest / (3_600 * second), rest % (3_600 * second));
        let (minutes, rest) = (rest / (60 * second), rest % (60 * second));
        for (n, unit) in [(days, "d"), (hours, "h"), (minutes, "m")] {
            if n > 0 {
                out.push_str(&format!("{n}{unit}"));
            }
        }
        if rest > 0 {
            push_decimal(&mut out, rest / second, rest % second, second);
            out.push('s');
        }
        f.write_str(&out)
    }
}

/// `whole.fraction` with the fraction's trailing zeros left out.
fn push_decimal(out: &mut String, whole: u128, fraction: u128, per: u128) {
    out.push_str(&whole.to_string());
    if fraction > 0 {
        let width = per.ilog10() as usize;
        let digits = format!("{fraction:0width$}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
}

/// A TOML string in the grammar; a TOML number is refused as a bare number is.
impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Raw::deserialize(d)? {
            Raw::Number(n) => Err(serde::de::Error::custom(format!(
                "invalid duration {n}: give a unit, as a string, e.g. \"{n}s\""
            ))),
            Raw::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// A setting's value as TOML gives it, before the grammar reads it.
#[derive(Deserialize)]
#[serde(untagged)]
enum Raw {
    Number(toml_number::Number),
    Text(String),
}

mod toml_number {
    use serde::Deserialize;

    /// An integer or a float: shown back as written, in the hint.
    #[derive(Deserialize)]
    #[serde(untagged)]
    pub(super) enum Number {
        Int(i64),
        Float(f64),
    }

    impl std::fmt::Display for Number {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match self {
                Number::Int(n) => write!(f, "{n}"),
                Number::Float(n) => write!(f, "{n}"),
            }
        }
    }
}

/// A size in bytes: a whole number and a unit (see the module's documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size(pub u64);

const SIZE_UNITS: &[(&str, u64)] = &[
    ("B", 1),
    ("KB", 1_000),
    ("MB", 1_000_000),
    ("GB", 1_000_000_000),
    ("TB", 1_000_000_000_000),
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
    ("TiB", 1 << 40),
];

impl FromStr for Size {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let s = text.trim();
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (num, unit) = s.split_at(split);
        let unit = unit.trim_start();
        if !num.is_empty() && unit.is_empty() {
            return Err(format!(
                "invalid size {s:?}: give a unit, e.g. {num}B, {num}MiB or {num}GiB"
            ));
        }
        let bad = || format!("invalid size {s:?}: want e.g. 512B, 500MiB, 20GiB or 20GB");
        let n: u64 = num.parse().map_err(|_| bad())?;
        let Some(&(_, per)) = SIZE_UNITS.iter().find(|(name, _)| *name == unit) else {
            return Err(format!(
                "invalid size {s:?}: unknown unit {unit:?} (B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)"
            ));
        };
        n.checked_mul(per)
            .map(Size)
            .ok_or_else(|| format!("invalid size {s:?}: more than 2^64 bytes"))
    }
}

/// The exact text this grammar reads back: the largest binary unit that
/// divides it, else bytes.
impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        for (unit, per) in SIZE_UNITS.iter().rev().take(4) {
            if n != 0 && n.is_multiple_of(*per) {
                return write!(f, "{}{unit}", n / per);
            }
        }
        write!(f, "{n}B")
    }
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Raw::deserialize(d)? {
            Raw::Number(n) => Err(serde::de::Error::custom(format!(
                "invalid size {n}: give a unit, as a string, e.g. \"{n}MiB\""
            ))),
            Raw::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// An age (audit's `--stale`): a duration more than 0, e.g. `1095d` for
/// three years. Years and months are not units: their length varies.
pub fn parse_age(s: &str) -> Result<Duration, String> {
    let d = s.parse::<Dur>()?.0;
    if d.is_zero() {
        return Err(format!("invalid age {:?}: must be more than 0", s.trim()));
    }
    Ok(d)
}

/// A duration ([`Dur`]'s syntax) more than 0.
pub fn parse_timeout(s: &str) -> Result<Duration, String> {
    let d = s.parse::<Dur>()?.0;
    if d.is_zero() {
        return Err("the timeout must be more than 0".to_owned());
    }
    Ok(d)
}

/// gc's age: a duration of whole days, at least one. Access is recorded per
/// day, so a shorter age would read as 0 days and remove versions served
/// minutes ago.
pub fn parse_days(s: &str) -> Result<Duration, String> {
    const DAY: u128 = 86_400_000_000_000;
    let d = s
        .parse::<Dur>()
        .ok()
        .map(|d| d.0)
        .filter(|d| d.as_nanos() % DAY == 0)
        .ok_or_else(|| format!("{:?}: want whole days, e.g. 30d", s.trim()))?;
    if d.is_zero() {
        return Err(format!(
            "{s:?} would remove every version, even those served today: want at least 1d, e.g. 30d"
        ));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nanos(n: u64) -> Result<Dur, String> {
        Ok(Dur(Duration::from_nanos(n)))
    }

    const S: u64 = 1_000_000_000;
    const MS: u64 = 1_000_000;

    /// Go's own table (time_test.go, TestParseDuration) less its negatives
    /// and bare zeros, plus days.
    #[test]
    fn durations_read_as_go_reads_them() {
        let table: &[(&str, u64)] = &[
            ("5s", 5 * S),
            ("30s", 30 * S),
            ("1478s", 1478 * S),
            ("+5s", 5 * S),
            ("5.0s", 5 * S),
            ("5.6s", 5 * S + 600 * MS),
            ("5.s", 5 * S),
            (".5s", 500 * MS),
            ("1.004s", S + 4 * MS),
            ("1.0040s", S + 4 * MS),
            ("100.00100s", 100 * S + MS),
            ("10ns", 10),
            ("11us", 11_000),
            ("12µs", 12_000),
            ("12μs", 12_000),
            ("13ms", 13 * MS),
            ("15m", 15 * 60 * S),
            ("16h", 16 * 3600 * S),
            ("3h30m", (3 * 3600 + 30 * 60) * S),
            ("10.5s4m", 4 * 60 * S + 10 * S + 500 * MS),
            ("1h2m3s4ms5us6ns", 3723 * S + 4 * MS + 5_000 + 6),
            ("39h9m14.425s", (39 * 3600 + 9 * 60 + 14) * S + 425 * MS),
            ("52763797000ns", 52_763_797_000),
            ("0.3333333333333333333h", 20 * 60 * S),
            ("9007199254740993ns", (1 << 53) + 1),
            ("9223372036854775807ns", i64::MAX as u64),
            ("9223372036854775.807us", i64::MAX as u64),
            ("9223372036s854ms775us807ns", i64::MAX as u64),
            ("0.100000000000000000000h", 6 * 60 * S),
            ("0.830103483285477580700h", (49 * 60 + 48) * S + 372_539_827),
            ("0s", 0),
            ("90d", 90 * 86_400 * S),
            ("1d12h", 36 * 3600 * S),
            ("1.5d", 36 * 3600 * S),
            (" 2m ", 120 * S),
        ];
        for &(text, want) in table {
            assert_eq!(text.parse(), nanos(want), "{text}");
        }
    }

    #[test]
    fn bad_durations_are_refused_with_a_hint() {
        // Go's error table, less "1d" (a day here) and the negatives that
        // are refused anyway.
        for bad in [
            "",
            "-",
            "s",
            ".",
            "-.",
            ".s",
            "+.s",
            "\u{FFFD}",
            "hello world",
            "5 parsecs",
            "1y",
            "18mo",
            "-1s",
            "-0s",
            "1h-1m",
            "1..5s",
            "9223372036854775810ns",
            "9223372036854775808ns",
            "9223372036854776us",
            "3000000h",
            "9223372036854775.808us",
            "9223372036854ms775us808ns",
        ] {
            let e = bad.parse::<Dur>().unwrap_err();
            assert!(e.starts_with("invalid duration"), "{bad}: {e}");
        }
        assert_eq!(
            "5".parse::<Dur>(),
            Err(r#"invalid duration "5": give a unit, e.g. 5s"#.to_owned())
        );
        assert!("0".parse::<Dur>().unwrap_err().contains("e.g. 0s"));
        assert!("1h30".parse::<Dur>().unwrap_err().contains("1m30s"));
        assert!("3y".parse::<Dur>().unwrap_err().contains(r#"unit "y""#));
    }

    #[test]
    fn durations_print_as_they_read() {
        for (text, shown) in [
            ("0s", "0s"),
            ("90d", "90d"),
            ("1h30m", "1h30m"),
            ("90m", "1h30m"),
            ("1.5s", "1.5s"),
            ("300ms", "300ms"),
            ("1.5ms", "1.5ms"),
            ("7ns", "7ns"),
            ("1d0h1.25s", "1d1.25s"),
        ] {
            let d: Dur = text.parse().unwrap();
            assert_eq!(d.to_string(), shown);
            assert_eq!(shown.parse(), Ok(d));
        }
    }

    #[test]
    fn toml_numbers_are_refused_as_bare_numbers() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct File {
            d: Option<Dur>,
            s: Option<Size>,
        }
        let e = toml::from_str::<File>("d = 5").unwrap_err().to_string();
        assert!(e.contains(r#"give a unit, as a string, e.g. "5s""#), "{e}");
        let e = toml::from_str::<File>("s = 512").unwrap_err().to_string();
        assert!(e.contains(r#"e.g. "512MiB""#), "{e}");
        let f: File = toml::from_str("d = \"1m30s\"\ns = \"20GB\"").unwrap();
        assert_eq!(f.d, Some(Dur(Duration::from_secs(90))));
        assert_eq!(f.s, Some(Size(20_000_000_000)));
    }

    #[test]
    fn sizes_mean_what_their_units_say() {
        assert_eq!("20GiB".parse::<Size>(), Ok(Size(20 << 30)));
        assert_eq!("20GB".parse::<Size>(), Ok(Size(20_000_000_000)));
        assert_eq!("500 MiB".parse::<Size>(), Ok(Size(500 << 20)));
        assert_eq!("64KB".parse::<Size>(), Ok(Size(64_000)));
        assert_eq!("64KiB".parse::<Size>(), Ok(Size(64 << 10)));
        assert_eq!("2TiB".parse::<Size>(), Ok(Size(2 << 40)));
        assert_eq!("512B".parse::<Size>(), Ok(Size(512)));
        assert_eq!("0B".parse::<Size>(), Ok(Size(0)));
        assert_eq!(
            "123".parse::<Size>(),
            Err(r#"invalid size "123": give a unit, e.g. 123B, 123MiB or 123GiB"#.to_owned())
        );
        for bad in [
            "lots",
            "64k",
            "1G",
            "5gb",
            "1.5GiB",
            "-1B",
            "GiB",
            "99999999999TiB",
        ] {
            let e = bad.parse::<Size>().unwrap_err();
            assert!(e.starts_with("invalid size"), "{bad}: {e}");
        }
        for n in [0, 512, 64_000, 20 << 30, 3 << 20] {
            assert_eq!(Size(n).to_string().parse(), Ok(Size(n)));
        }
        assert_eq!(Size(20 << 30).to_string(), "20GiB");
    }

    #[test]
    fn ages_are_durations_more_than_zero() {
        assert_eq!(parse_age("1095d"), Ok(Duration::from_secs(1095 * 86_400)));
        assert_eq!(parse_age("12h"), Ok(Duration::from_secs(12 * 3600)));
        for bad in ["3y", "18mo", "0d", "3", "3 years"] {
            assert!(parse_age(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parses_timeouts() {
        assert_eq!(parse_timeout("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_timeout("500ms"), Ok(Duration::from_millis(500)));
        assert!(parse_timeout("0s").is_err());
        assert!(parse_timeout("5").is_err());
        assert!(parse_timeout("soon").is_err());
    }

    #[test]
    fn gc_ages_are_whole_days_of_at_least_one() {
        assert_eq!(parse_days("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse_days("48h"), Ok(Duration::from_secs(2 * 86_400)));
        for bad in ["0d", "12h", "500ms", "1", "d", "-1d", "1.25d"] {
            let e = parse_days(bad).unwrap_err();
            assert!(e.contains("30d") && !e.contains("500ms,"), "{bad}: {e}");
        }
    }
}
