//! The server's settings: every zero that would make modgate time out at
//! once, admit nothing or spin is refused by the setting's name.

use std::time::Duration;

use modgate_proxy::settings::{Given, ServerSettings, SettingsError};
use modgate_proxy::upstream::HedgePolicy;

fn resolve(given: Given) -> Result<ServerSettings, SettingsError> {
    ServerSettings::resolve(given, || {})
}

#[test]
fn zero_timeouts_intervals_and_counts_are_refused_by_name() {
    let zero = Some(Duration::ZERO);
    let cases: Vec<(&str, Given)> = vec![
        (
            "connect-timeout",
            Given {
                connect_timeout: zero,
                ..Given::default()
            },
        ),
        (
            "header-timeout",
            Given {
                header_timeout: zero,
                ..Given::default()
            },
        ),
        (
            "idle-timeout",
            Given {
                idle_timeout: zero,
                ..Given::default()
            },
        ),
        (
            "breaker-cooldown",
            Given {
                breaker_cooldown: zero,
                ..Given::default()
            },
        ),
        (
            "request-header-timeout",
            Given {
                request_header_timeout: zero,
                ..Given::default()
            },
        ),
        (
            "shutdown-timeout",
            Given {
                shutdown_timeout: zero,
                ..Given::default()
            },
        ),
        (
            "vulndb-refresh",
            Given {
                vulndb_refresh: zero,
                ..Given::default()
            },
        ),
        (
            "breaker-threshold",
            Given {
                breaker_threshold: Some(0),
                ..Given::default()
            },
        ),
        (
            "max-connections",
            Given {
                max_connections: Some(0),
                ..Given::default()
            },
        ),
        (
            "max-connections-per-client",
            Given {
                max_connections_per_client: Some(0),
                ..Given::default()
            },
        ),
        (
            "max-upstream-fetches",
            Given {
                max_upstream_fetches: Some(0),
                ..Given::default()
            },
        ),
        (
            "hedge-delay",
            Given {
                hedge_delay: Some(HedgePolicy::Fixed(Duration::ZERO)),
                ..Given::default()
            },
        ),
    ];
    for (name, given) in cases {
        let e = resolve(given).unwrap_err().to_string();
        assert!(e.starts_with(&format!("--{name} ")), "{name}: {e}");
    }
    // A nanosecond is a typo: every call would time out.
    for tiny in [Duration::from_nanos(1), Duration::from_millis(1)] {
        let e = resolve(Given {
            connect_timeout: Some(tiny),
            ..Given::default()
        })
        .unwrap_err()
        .to_string();
        assert_eq!(e, "--connect-timeout must be at least 100ms");
    }
    // Off stays off, and 0 of what means "none" stays allowed.
    let fine = resolve(Given {
        hedge_delay: Some(HedgePolicy::Off),
        retries: Some(0),
        negative_ttl: zero,
        ..Given::default()
    })
    .unwrap();
    assert_eq!(fine.policy.retries, 0);
    assert_eq!(fine.cache.negative_ttl, Duration::ZERO);
}

#[test]
fn mirrors_take_http_urls_or_off() {
    let with = |dl: &str, vulndb: &str| {
        resolve(Given {
            dl_upstream: Some(dl.to_owned()),
            vulndb: Some(vulndb.to_owned()),
            ..Given::default()
        })
    };
    let off = with("off", "off").unwrap();
    assert!(off.dl_upstream.is_none() && off.vulndb.is_none());
    let e = with("ftp://mirror", "off").unwrap_err().to_string();
    assert!(e.starts_with("--dl-upstream "), "{e}");
    let e = with("off", "ftp://user:secret@host/x")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("--vulndb ") && !e.contains("secret"), "{e}");
}

#[test]
fn policy_tables_as_the_config_file_writes_them() {
    #[derive(serde::Deserialize)]
    struct File {
        vulndb: Option<String>,
        policy: Vec<modgate_proxy::policy::RuleSpec>,
    }
    let resolve_file = |text: &str| {
        let file: File = toml::from_str(text)?;
        Ok::<_, Box<dyn std::error::Error>>(resolve(Given {
            vulndb: file.vulndb,
            policy: Some(file.policy),
            ..Given::default()
        })?)
    };
    let settings = resolve_file(
        "[[policy]]\ndeny = ['vulnerable', 'example.com/m@<v1.2.0']\n\
         waive = [{ module = 'example.com/m@v1.1.0', expires = '2027-01-31', reason = 'fix pending' }]\n\
         [[policy]]\ndry-run = true\ndeny = ['example.com/old']\n",
    )
    .unwrap();
    assert!(settings.dependency_policy.unwrap().needs_vulndb());
    let err = resolve_file("vulndb = 'off'\n[[policy]]\ndeny = ['vulnerable']\n").unwrap_err();
    assert!(err.to_string().contains("--vulndb is off"), "{err}");
    let err = resolve_file("[[policy]]\ndeny = ['example.com/m@<1.2']\n").unwrap_err();
    assert!(err.to_string().contains("example.com/m@<1.2"), "{err}");
    assert!(resolve_file("[[policy]]\ndenny = ['x']\n").is_err());
}
