//! What the server and its fill path are told, with their defaults and
//! checks: upstream timeouts, retries, breaker and hedging; how long
//! answers stay fresh; connection limits; the `/dl/` and `/vuln/` mirrors'
//! upstreams; the dependency policy. The binary maps flags, environment
//! and the config file onto [`Given`].

use std::str::FromStr;
use std::time::Duration;

use modgate_env::value::Dur;
use serde::Deserialize;

use crate::CachePolicy;
use crate::policy::{Policy as DependencyPolicy, PolicyError, RuleSpec};
use crate::upstream::{HedgePolicy, Policy};
use crate::workers::Limits;

const DEFAULT_DL_UPSTREAM: &str = "https://go.dev/dl";
const DEFAULT_VULNDB: &str = "https://vuln.go.dev";

/// `--hedge-delay`: `auto`, `off` or a duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hedge(pub HedgePolicy);

impl FromStr for Hedge {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Hedge(match s.trim() {
            "auto" => HedgePolicy::Auto,
            "off" => HedgePolicy::Off,
            d => HedgePolicy::Fixed(
                d.parse::<Dur>()
                    .map_err(|e| format!("{e} (or auto, off)"))?
                    .0,
            ),
        }))
    }
}

impl<'de> Deserialize<'de> for Hedge {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A timeout, interval or count of 0: every upstream call would time
    /// out, nothing would be admitted, or a loop would spin.
    #[error("--{0} must be more than 0")]
    Zero(&'static str),
    /// A timeout or interval so short that every call would time out, or
    /// a loop would spin: `1ns` is a typo, not a setting.
    #[error("--{0} must be at least {MIN_DURATION:?}")]
    TooShort(&'static str),
    #[error(
        "--hedge-delay 0: hedging at once doubles every upstream request; use off or e.g. 500ms"
    )]
    HedgeZero,
    #[error("--dl-upstream {0}: an http(s) URL or off")]
    DlUpstream(String),
    #[error("--vulndb {0}: an http(s) URL or off")]
    Vulndb(String),
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error(
        "[[policy]] denies vulnerable versions, which needs the vulnerability database mirror (--vulndb is off)"
    )]
    PolicyNeedsVulndb,
}

/// The settings as given: `None` where nothing was.
#[derive(Debug, Default)]
pub struct Given {
    pub connect_timeout: Option<Duration>,
    pub header_timeout: Option<Duration>,
    pub idle_timeout: Option<Duration>,
    pub retries: Option<u32>,
    pub breaker_threshold: Option<u32>,
    pub breaker_cooldown: Option<Duration>,
    pub max_upstream_fetches: Option<usize>,
    pub hedge_delay: Option<HedgePolicy>,
    pub negative_ttl: Option<Duration>,
    pub list_ttl: Option<Duration>,
    pub max_connections: Option<usize>,
    pub max_connections_per_client: Option<usize>,
    pub request_header_timeout: Option<Duration>,
    pub shutdown_timeout: Option<Duration>,
    pub dl_upstream: Option<String>,
    pub vulndb: Option<String>,
    pub vulndb_refresh: Option<Duration>,
    pub policy: Option<Vec<RuleSpec>>,
}

/// The server's settings, defaulted and checked.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub policy: Policy,
    pub cache: CachePolicy,
    pub limits: Limits,
    /// `--dl-upstream`; `None` when `off`.
    pub dl_upstream: Option<url::Url>,
    /// `--vulndb`: the upstream of the vulnerability database mirror; `None` when off.
    pub vulndb: Option<String>,
    pub vulndb_refresh: Duration,
    /// `[[policy]]`, when there is one.
    pub dependency_policy: Option<DependencyPolicy>,
}

/// `d`, else `default` seconds.
fn secs(d: Option<Duration>, default: u64) -> Duration {
    d.unwrap_or(Duration::from_secs(default))
}

/// The shortest timeout or interval taken: nothing answers sooner over a
/// network, not even loopback under load.
const MIN_DURATION: Duration = Duration::from_millis(100);

/// `d`, else `default` seconds; under [`MIN_DURATION`] is refused, naming
/// the setting.
fn positive(
    name: &'static str,
    d: Option<Duration>,
    default: u64,
) -> Result<Duration, SettingsError> {
    Some(secs(d, default))
        .filter(|d| *d >= MIN_DURATION)
        .ok_or(SettingsError::TooShort(name))
}

/// `n`, else `default`; 0 is refused, naming the setting.
fn count(name: &'static str, n: Option<usize>, default: usize) -> Result<usize, SettingsError> {
    match n {
        Some(0) => Err(SettingsError::Zero(name)),
        n => Ok(n.unwrap_or(default)),
    }
}

impl ServerSettings {
    /// `release_memory` is run by every worker now and then (see [`Limits`]).
    pub fn resolve(g: Given, release_memory: fn()) -> Result<Self, SettingsError> {
        let vulndb = match g.vulndb.as_deref().unwrap_or(DEFAULT_VULNDB).trim() {
            "off" => None,
            url if url.starts_with("https://") || url.starts_with("http://") => {
                Some(url.to_owned())
            }
            other => return Err(SettingsError::Vulndb(modgate_redact::redact_url(other))),
        };
        let vulndb_refresh = positive("vulndb-refresh", g.vulndb_refresh, 3600)?;
        if g.breaker_threshold == Some(0) {
            return Err(SettingsError::Zero("breaker-threshold"));
        }
        if g.hedge_delay == Some(HedgePolicy::Fixed(Duration::ZERO)) {
            return Err(SettingsError::HedgeZero);
        }
        let dependency_policy = match g.policy.as_deref() {
            Some(specs) if !specs.is_empty() => Some(DependencyPolicy::new(specs)?),
            _ => None,
        };
        if vulndb.is_none() && dependency_policy.as_ref().is_some_and(|p| p.needs_vulndb()) {
            return Err(SettingsError::PolicyNeedsVulndb);
        }
        Ok(ServerSettings {
            dependency_policy,
            vulndb,
            vulndb_refresh,
            dl_upstream: match g.dl_upstream.as_deref().unwrap_or(DEFAULT_DL_UPSTREAM) {
                "off" => None,
                given => Some(
                    url::Url::parse(given)
                        .ok()
                        .filter(|u| matches!(u.scheme(), "http" | "https"))
                        .ok_or_else(|| SettingsError::DlUpstream(given.to_owned()))?,
                ),
            },
            policy: Policy {
                connect_timeout: positive("connect-timeout", g.connect_timeout, 5)?,
                header_timeout: positive("header-timeout", g.header_timeout, 10)?,
                idle_timeout: positive("idle-timeout", g.idle_timeout, 10)?,
                retries: g.retries.unwrap_or(1),
                breaker_threshold: g.breaker_threshold.unwrap_or(3),
                breaker_cooldown: positive("breaker-cooldown", g.breaker_cooldown, 10)?,
                max_fetches: count("max-upstream-fetches", g.max_upstream_fetches, 32)?,
                hedge: g.hedge_delay.unwrap_or(HedgePolicy::Auto),
            },
            cache: CachePolicy {
                negative_ttl: secs(g.negative_ttl, 30),
                list_ttl: secs(g.list_ttl, 30),
            },
            limits: Limits {
                max_connections: count("max-connections", g.max_connections, 4096)?,
                max_connections_per_client: count(
                    "max-connections-per-client",
                    g.max_connections_per_client,
                    64,
                )?,
                header_read_timeout: positive(
                    "request-header-timeout",
                    g.request_header_timeout,
                    10,
                )?,
                shutdown_timeout: positive("shutdown-timeout", g.shutdown_timeout, 30)?,
                release_memory,
            },
        })
    }
}
