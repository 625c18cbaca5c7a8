//! The checksum database check: reach it the way the go command does
//! (through the first GOPROXY entry that supports it, else directly) and
//! verify its signed tree head with the known key.

use modgate_redact::redact_url;
use modgate_sumdb::note::{self, Ed25519Verifier, Verifier as _, VerifierList};
use modgate_sumdb::tlog;

use super::check::{Category, Check};
use super::config::{EntryKind, ProxyList, SumdbTarget};
use super::probe::{Outcome, Prober};

const TARGET: &str = "GOSUMDB";
/// A mirror of sum.golang.org the go command knows by name, reachable where
/// sum.golang.org is not.
const MIRROR_FIX: &str = "go env -w GOSUMDB=sum.golang.google.cn";

/// The way to an unreachable checksum database: sum.golang.org's public
/// mirror only where no proxy of the organisation's is configured (that
/// proxy is the way: it can serve the database, as modgate does).
fn unreachable_fix(db: &SumdbTarget, list: &ProxyList) -> String {
    match list.own_proxies().next() {
        Some(own) => format!(
            "ask the operators of {} to serve /sumdb/{}/ (modgate does), or reach {} (VPN, \
             HTTPS_PROXY)",
            redact_url(&own.url),
            db.name,
            redact_url(&db.url)
        ),
        None if db.name == "sum.golang.org" => MIRROR_FIX.to_owned(),
        None => format!(
            "reach {} (VPN, HTTPS_PROXY), or ask its operators",
            redact_url(&db.url)
        ),
    }
}

/// Returns the check and every answer seen (for the clock-skew check).
pub async fn check(prober: &Prober, db: &SumdbTarget, list: &ProxyList) -> (Check, Vec<Outcome>) {
    let mut seen = Vec::new();
    let verifier = match Ed25519Verifier::new(&db.key) {
        Ok(v) => v,
        Err(e) => {
            let check = Check::fail(
                TARGET,
                Category::Config,
                format!("GOSUMDB key {:?}: {e}", db.key),
                "go env -w GOSUMDB=sum.golang.org",
            );
            return (check, seen);
        }
    };

    // As in the go command (modfetch.dbClient.initBase): the first proxy
    // that answers /sumdb/<name>/supported is used; 404/410 (or any error
    // after a '|') moves on; reaching direct, off or the end goes direct.
    let mut base = db.url.trim_end_matches('/').to_owned();
    let mut via = format!("directly at {}", redact_url(&base));
    for entry in &list.entries {
        if entry.kind != EntryKind::Http {
            break;
        }
        let proxy = entry.url.trim_end_matches('/');
        let supported = format!("{proxy}/sumdb/{}/supported", db.name);
        let outcome = prober.get(&supported).await;
        let result = outcome.result.clone();
        seen.push(outcome);
        match result {
            Ok(a) if (200..300).contains(&a.status) => {
                base = format!("{proxy}/sumdb/{}", db.name);
                via = format!("through {}", redact_url(proxy));
                break;
            }
            Ok(a) if a.status == 404 || a.status == 410 => {}
            _ if entry.fall_through => {}
            Ok(a) => {
                let check = Check::fail(
                    TARGET,
                    Category::Sumdb,
                    format!(
                        "the go command reaches {} through {}, which answered {} {} to \
                         /sumdb/{}/supported",
                        db.name,
                        redact_url(proxy),
                        a.status,
                        a.reason,
                        db.name
                    ),
                    unreachable_fix(db, list),
                );
                return (check, seen);
            }
            Err(f) => {
                let check = Check::fail(
                    TARGET,
                    f.category,
                    format!(
                        "the go command reaches {} through {}, which failed: {}",
                        db.name,
                        redact_url(proxy),
                        f.detail
                    ),
                    unreachable_fix(db, list),
                );
                return (check, seen);
            }
        }
    }

    let latest = prober.get(&format!("{base}/latest")).await;
    let timings = latest.timings.clone();
    let check = match &latest.result {
        Err(f) => Check::fail(
            TARGET,
            f.category,
            format!("{} {via}: {}", db.name, f.detail),
            unreachable_fix(db, list),
        ),
        Ok(a) if !(200..300).contains(&a.status) => Check::fail(
            TARGET,
            Category::Sumdb,
            format!(
                "{} {via}: /latest answered {} {}",
                db.name, a.status, a.reason
            ),
            unreachable_fix(db, list),
        ),
        Ok(a) => {
            let key = verifier.name().to_owned();
            let who = format!("{key}+{:08x}", verifier.key_hash());
            match note::open(&a.body, &VerifierList::new([verifier])) {
                Ok(signed) => match tlog::parse_tree(&signed.text) {
                    Ok(tree) => Check::ok(
                        TARGET,
                        format!(
                            "{} {via}: signed tree head verified with key {key}+…, tree size {}",
                            db.name, tree.n
                        ),
                    ),
                    Err(_) => Check::fail(
                        TARGET,
                        Category::Sumdb,
                        format!("{} {via}: the signed note is not a tree head", db.name),
                        unreachable_fix(db, list),
                    ),
                },
                Err(e) => Check::fail(
                    TARGET,
                    Category::Sumdb,
                    format!(
                        "{} {via}: the signed tree head does not verify: {} (a wrong key in \
                         GOSUMDB, or something between here and the database altered it)",
                        db.name,
                        match e {
                            // Name the key that should have signed it.
                            modgate_sumdb::Error::UnverifiedNote(_) => {
                                format!("note has no signature by {who}")
                            }
                            e => e.to_string(),
                        }
                    ),
                    "go env -w GOSUMDB=sum.golang.org",
                ),
            }
        }
    };
    seen.push(latest);
    (check.with_timings(timings), seen)
}
