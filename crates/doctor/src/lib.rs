//! modgate's client-side diagnosis, run where the go command runs: `doctor`
//! tells why the go command cannot download modules here (it reads the Go
//! environment as go does, never the proxy server's configuration, then
//! checks the settings and probes every GOPROXY entry, the checksum database
//! and private repositories concurrently, layer by layer), and [`explain`]
//! gives the cause and the fix of go command errors; [`publish`] uploads a
//! module version built from a directory; [`admin`] asks a modgate for an
//! operator's action; [`audit`] checks a module's build
//! list for vulnerable, retracted and deprecated modules. It depends on the domain crates
//! and the network plumbing only (modgate-module, modgate-zip,
//! modgate-sumdb, modgate-redact, modgate-net, modgate-env), never on the
//! server crate, modgate-proxy.

pub mod admin;
pub mod audit;
mod check;
mod checksum_db;
mod compare;
mod config;
mod error;
pub mod explain;
mod goenv;
mod mirror;
mod probe;
mod proxyenv;
pub mod publish;
mod report;
mod tls;
mod vcs;

/// GOPROXY as the go command parses it: what `explain` fits its advice to.
pub use config::ProxyList;

use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::time::Duration;

pub use error::Error;

use check::{Category, Check, Status};
use config::{goproxy_command, goproxy_value};
use probe::{Outcome, Prober};
use report::Report;

/// Skew above this (local clock against servers' `Date`) is reported: the
/// checksum database and TLS both care about time.
const MAX_CLOCK_SKEW_SECS: f64 = 90.0;

/// What `modgate doctor` checks, and how it reports.
#[derive(Debug, Clone)]
pub struct DoctorOptions {
    /// Print the checks as JSON rather than a table.
    pub json: bool,
    /// Bound of every probe (DNS, connect, TLS and answer together).
    pub timeout: Duration,
    /// Module whose version list (`<proxy>/<module>/@v/list`) the probes fetch.
    pub module: String,
    /// Probe each mirror several times and recommend the fastest order.
    pub compare: bool,
    /// Probes per mirror for `compare`.
    pub rounds: u32,
}

pub fn run(args: DoctorOptions) -> Result<ExitCode, Error> {
    let escaped =
        modgate_module::escape::escape_path(&args.module).map_err(|source| Error::Module {
            module: args.module.clone(),
            source,
        })?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    let report = runtime.block_on(diagnose(&args, &escaped));
    // A lookup still stuck in the resolver must not hold the exit.
    runtime.shutdown_background();
    let report = report?;
    if args.json {
        println!("{}", report.json());
    } else {
        print!("{}", report.table(colour()));
    }
    Ok(if report.failed() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Whether to colour the tables: on a terminal, unless NO_COLOR is set.
fn colour() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os(modgate_env::NO_COLOR).is_none()
}

async fn diagnose(args: &DoctorOptions, escaped: &str) -> Result<Report, Error> {
    let env = goenv::load().await;
    // GOAUTH as the go command reads it, its env file too; a go before
    // 1.24 does not report it, so the process's comes next (default netrc).
    let auth = match env.get("GOAUTH") {
        "" => modgate_net::goauth::GoAuth::from_env()?,
        spec => modgate_net::goauth::GoAuth::new(spec)?,
    };
    let prober = Prober {
        tls: tls::TlsSetup::new()?,
        proxies: proxyenv::ProxyEnv::from_process(),
        timeout: args.timeout,
        auth,
    };
    let mut checks = vec![match &env.go_error {
        None => Check::ok("go env", format!("settings from {}", env.source)),
        Some(e) => Check::warn(
            "go env",
            Category::Config,
            format!("{e}; using {} instead", env.source),
            "go env  # fix the error it prints first",
        ),
    }];
    checks.extend(config::check_goproxy(&env));
    checks.extend(prober.proxies.checks());
    let (sumdb_check, sumdb_target) = config::check_gosumdb(&env);
    let list = ProxyList::parse(env.get("GOPROXY"));

    // Everything on the network at once: a dead mirror costs one timeout.
    let mirrors = futures::future::join_all(
        list.entries
            .iter()
            .map(|e| mirror::check_entry(&prober, e, &args.module, escaped)),
    );
    let sumdb = async {
        match &sumdb_target {
            Some(db) => Some(checksum_db::check(&prober, db, &list).await),
            None => None,
        }
    };
    let repos = vcs::private_repos(&env);
    let private = futures::future::join_all(repos.iter().map(|r| vcs::check_repo(r, args.timeout)));
    let comparison = async {
        if args.compare {
            Some(compare::compare(&prober, &list, escaped, args.rounds).await)
        } else {
            None
        }
    };
    let (mirror_results, sumdb_result, private_checks, comparison) =
        tokio::join!(mirrors, sumdb, private, comparison);

    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut mirror_checks = Vec::new();
    for (check, outcome) in mirror_results {
        mirror_checks.push(check);
        outcomes.extend(outcome);
    }
    complete_fixes(&mut mirror_checks, &list);
    checks.extend(mirror_checks);

    checks.push(sumdb_check);
    if let Some((check, seen)) = sumdb_result {
        checks.push(check);
        outcomes.extend(seen);
    }
    checks.extend(config::check_private(&env, sumdb_target.is_some()));
    checks.extend(private_checks);
    checks.extend(config::check_govcs(env.get("GOVCS")));
    checks.extend(config::check_goflags(env.get("GOFLAGS")));
    checks.extend(config::check_go111module(env.get("GO111MODULE")));
    checks.push(clock_check(&outcomes));
    if let Some(cmp) = &comparison {
        checks.push(compare::check(cmp, &list));
    }
    Ok(Report {
        checks,
        compare: comparison,
    })
}

/// Fixes of failing entries end with the way around them, once every
/// entry's health is known: a failing public mirror may be dropped (the
/// command keeps the healthy entries and every proxy of the organisation's,
/// healthy or not); the organisation's own proxy is never replaced by
/// public mirrors: it is to be reached, or fixed by its operators.
fn complete_fixes(checks: &mut [Check], list: &ProxyList) {
    // One check per entry, in GOPROXY order.
    let keep: Vec<&str> = list
        .entries
        .iter()
        .zip(checks.iter())
        .filter(|(e, c)| match &e.kind {
            config::EntryKind::Http => {
                c.status != Status::Fail || !config::is_public_mirror(&e.url)
            }
            config::EntryKind::File(_) => c.status != Status::Fail,
            _ => false,
        })
        .map(|(e, _)| e.url.as_str())
        .collect();
    let drop_it = if !keep.is_empty() {
        format!(
            "or drop it: {}",
            goproxy_command(&goproxy_value(keep, list.has_direct()))
        )
    } else if list.public_advice_fits() {
        format!(
            "or use mirrors that answer from most networks: {}",
            goproxy_command(config::FALLBACK_MIRRORS)
        )
    } else {
        "or name a proxy that answers: go env -w GOPROXY=URL".to_owned()
    };
    for (entry, c) in list.entries.iter().zip(checks.iter_mut()) {
        if let Some(fix) = &mut c.fix {
            let way_around =
                if entry.kind == config::EntryKind::Http && !config::is_public_mirror(&entry.url) {
                    own_proxy_advice(&entry.url)
                } else {
                    drop_it.clone()
                };
            *fix = fix.replace(mirror::ALTERNATIVE, &way_around);
            if fix.contains(mirror::PLAIN_HTTP) {
                let plain = entry.url.replacen("https://", "http://", 1);
                let value = goproxy_value(
                    list.proxies().map(|e| {
                        if e == entry {
                            plain.as_str()
                        } else {
                            e.url.as_str()
                        }
                    }),
                    list.has_direct(),
                );
                *fix = fix.replace(mirror::PLAIN_HTTP, &goproxy_command(&value));
            }
        }
    }
}

/// The way around a failing proxy of the organisation's own.
fn own_proxy_advice(url: &str) -> String {
    let host = url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| modgate_redact::redact_url(url));
    format!(
        "{host} is the proxy your GOPROXY names, which public mirrors cannot stand in for \
         (they lack its private modules, and this network may forbid them): reach it (VPN, \
         HTTPS_PROXY) or ask its operators to fix it"
    )
}

/// `1 answer`, `3 answers`.
fn answers(n: usize) -> String {
    if n == 1 {
        "1 answer".to_owned()
    } else {
        format!("{n} answers")
    }
}

/// The local clock against the `Date` of every answer (median, so one odd
/// server does not decide).
fn clock_check(outcomes: &[Outcome]) -> Check {
    let mut skews: Vec<f64> = outcomes
        .iter()
        .filter_map(|o| o.result.as_ref().ok().and_then(|a| a.skew))
        .collect();
    if skews.is_empty() {
        return Check::ok(
            "clock",
            "not measured: no server answered with a Date header",
        );
    }
    skews.sort_by(f64::total_cmp);
    let median = skews[skews.len() / 2];
    if median.abs() > MAX_CLOCK_SKEW_SECS {
        let dir = if median > 0.0 { "ahead of" } else { "behind" };
        Check::warn(
            "clock",
            Category::ClockSkew,
            format!(
                "the local clock is {:.0}s {dir} the servers' (median of {}): \
                 certificates and checksum database timestamps may be rejected",
                median.abs(),
                answers(skews.len())
            ),
            "sudo timedatectl set-ntp true",
        )
    } else {
        Check::ok(
            "clock",
            format!(
                "within {:.0}s of the servers' Date ({})",
                median.abs(),
                answers(skews.len())
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixes_name_the_healthy_entries() {
        let list = ProxyList::parse("https://proxy.golang.org,https://goproxy.io,direct");
        let mut checks = vec![
            Check::fail(
                "https://proxy.golang.org",
                Category::Dns,
                "x",
                mirror::ALTERNATIVE,
            ),
            Check::ok("https://goproxy.io", "fine"),
            Check::ok("direct", "git"),
        ];
        complete_fixes(&mut checks, &list);
        assert_eq!(
            checks[0].fix.as_deref(),
            Some("or drop it: go env -w GOPROXY=https://goproxy.io,direct")
        );
    }

    /// A company proxy that fails is to be reached or fixed, never replaced
    /// by public mirrors; a failing public mirror next to it may be dropped,
    /// but the company proxy stays in the suggested list.
    #[test]
    fn a_failing_company_proxy_is_never_replaced_by_public_mirrors() {
        for goproxy in [
            "https://goproxy.corp.example,direct",
            "https://goproxy.corp.example|https://proxy.golang.org,direct",
            "https://goproxy.corp.example",
        ] {
            let list = ProxyList::parse(goproxy);
            let mut checks: Vec<Check> = list
                .entries
                .iter()
                .map(|e| Check::fail(e.url.clone(), Category::Dns, "x", mirror::ALTERNATIVE))
                .collect();
            complete_fixes(&mut checks, &list);
            let corp = checks[0].fix.as_deref().unwrap();
            assert!(
                corp.contains("goproxy.corp.example is the proxy your GOPROXY names"),
                "{corp}"
            );
            for c in &checks {
                let fix = c.fix.as_deref().unwrap();
                assert!(!fix.contains("goproxy.io"), "{goproxy}: {fix}");
                if fix.contains("GOPROXY=") {
                    assert!(fix.contains("goproxy.corp.example"), "{goproxy}: {fix}");
                }
            }
        }
    }

    /// Where the configuration uses only public mirrors and all fail, other
    /// public mirrors may be suggested.
    #[test]
    fn public_mirrors_are_suggested_where_public_mirrors_are_used() {
        let list = ProxyList::parse("https://proxy.golang.org,direct");
        let mut checks = vec![
            Check::fail(
                "https://proxy.golang.org",
                Category::Dns,
                "x",
                mirror::ALTERNATIVE,
            ),
            Check::ok("direct", "git"),
        ];
        complete_fixes(&mut checks, &list);
        assert!(
            checks[0]
                .fix
                .as_deref()
                .unwrap()
                .contains(config::FALLBACK_MIRRORS),
            "{:?}",
            checks[0].fix
        );
    }
}
