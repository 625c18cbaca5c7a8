//! `--compare`: probe each mirror several times and recommend the fastest
//! healthy GOPROXY order.

use modgate_redact::redact_url;
use serde::Serialize;

use super::check::{Category, Check};
use super::config::{ProxyList, goproxy_command, goproxy_value};
use super::mirror::list_url;
use super::probe::Prober;

#[derive(Debug, Clone, Serialize)]
pub struct MirrorStats {
    pub url: String,
    pub rounds: u32,
    /// Rounds answered with 2xx, 404 or 410 (the proxy works).
    pub ok_rounds: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p50_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p95_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub mirrors: Vec<MirrorStats>,
    /// The command to paste, `null` when no mirror is healthy.
    pub recommended: Option<String>,
}

pub async fn compare(prober: &Prober, list: &ProxyList, escaped: &str, rounds: u32) -> Comparison {
    let mirrors: Vec<_> = list
        .proxies()
        .filter(|e| e.url.starts_with("http"))
        .collect();
    let stats = futures::future::join_all(mirrors.iter().map(|entry| async move {
        let url = list_url(&entry.url, escaped);
        let mut times = Vec::new();
        let mut error = None;
        // Sequential rounds: concurrent ones would measure the mirror's
        // parallelism, not what one go command sees.
        for _ in 0..rounds {
            let outcome = prober.get(&url).await;
            match &outcome.result {
                Ok(a) if (200..300).contains(&a.status) || a.status == 404 || a.status == 410 => {
                    times.push(outcome.timings.total_ms);
                }
                Ok(a) => error = Some(format!("{} {}", a.status, a.reason)),
                Err(f) => error = Some(format!("{}: {}", f.category.as_str(), f.detail)),
            }
        }
        times.sort_by(f64::total_cmp);
        MirrorStats {
            url: entry.url.clone(),
            rounds,
            ok_rounds: u32::try_from(times.len()).unwrap_or(u32::MAX),
            p50_ms: percentile(&times, 50),
            p95_ms: percentile(&times, 95),
            error,
        }
    }))
    .await;
    let mut healthy: Vec<&MirrorStats> = stats.iter().filter(|s| s.ok_rounds == s.rounds).collect();
    healthy.sort_by(|a, b| {
        a.p50_ms
            .unwrap_or(f64::MAX)
            .total_cmp(&b.p50_ms.unwrap_or(f64::MAX))
            .then(
                a.p95_ms
                    .unwrap_or(f64::MAX)
                    .total_cmp(&b.p95_ms.unwrap_or(f64::MAX)),
            )
    });
    let recommended = (!healthy.is_empty()).then(|| {
        goproxy_command(&goproxy_value(
            healthy.iter().map(|s| s.url.as_str()),
            list.has_direct(),
        ))
    });
    let mirrors = stats
        .into_iter()
        .map(|mut s| {
            s.url = redact_url(&s.url);
            s
        })
        .collect();
    Comparison {
        mirrors,
        recommended,
    }
}

/// The check summarising a comparison against the current order.
pub fn check(cmp: &Comparison, current: &ProxyList) -> Check {
    let current_cmd = goproxy_command(&goproxy_value(
        current.proxies().map(|e| e.url.as_str()),
        current.has_direct(),
    ));
    let summary: Vec<String> = cmp
        .mirrors
        .iter()
        .map(|m| match (m.p50_ms, m.p95_ms) {
            (Some(p50), Some(p95)) if m.ok_rounds == m.rounds => {
                format!("{} p50 {p50:.1}ms p95 {p95:.1}ms", m.url)
            }
            _ => format!(
                "{} failed {}/{} rounds ({})",
                m.url,
                m.rounds - m.ok_rounds,
                m.rounds,
                m.error.as_deref().unwrap_or("unknown error")
            ),
        })
        .collect();
    let detail = summary.join("; ");
    match &cmp.recommended {
        None => Check::fail(
            "GOPROXY order",
            Category::Config,
            format!("no mirror answered every round: {detail}"),
            if current.public_advice_fits() {
                goproxy_command(super::config::FALLBACK_MIRRORS)
            } else {
                "reach the proxies GOPROXY names (VPN, HTTPS_PROXY) or ask their operators; \
                 public mirrors cannot stand in for your organisation's proxy"
                    .to_owned()
            },
        ),
        Some(cmd) if *cmd == current_cmd => Check::ok(
            "GOPROXY order",
            format!("already the fastest healthy order: {detail}"),
        ),
        Some(cmd) => Check::warn(
            "GOPROXY order",
            Category::Config,
            format!("a faster healthy order exists: {detail}"),
            cmd.clone(),
        ),
    }
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: usize) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(percentile(&v, 50), Some(3.0));
        assert_eq!(percentile(&v, 95), Some(5.0));
        assert_eq!(percentile(&[7.0], 95), Some(7.0));
        assert_eq!(percentile(&[], 50), None);
    }

    #[test]
    fn recommends_against_current_order() {
        let stat = |url: &str, p50: f64| MirrorStats {
            url: url.to_owned(),
            rounds: 3,
            ok_rounds: 3,
            p50_ms: Some(p50),
            p95_ms: Some(p50),
            error: None,
        };
        let cmp = Comparison {
            mirrors: vec![
                stat("https://a.example", 9.0),
                stat("https://b.example", 1.0),
            ],
            recommended: Some(
                "go env -w GOPROXY=https://b.example|https://a.example,direct".to_owned(),
            ),
        };
        let current = ProxyList::parse("https://a.example|https://b.example,direct");
        let c = check(&cmp, &current);
        assert_eq!(c.status, super::super::check::Status::Warn);
        assert_eq!(c.fix, cmp.recommended);
    }
}
