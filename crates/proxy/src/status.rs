//! The status page at `/`: the proxy's state at a glance, server-rendered
//! HTML readable without JavaScript. Counters and latencies come from the
//! same series `/metrics` exports, so the page and a dashboard agree.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use crate::Miss;
use crate::catalog::Held;
use crate::moved::MovedTag;
use crate::upstream::UpstreamHealth;

/// Everything the page shows, gathered by the server.
pub struct Status<'a> {
    pub upstreams: Vec<UpstreamHealth>,
    /// `None` while the store cannot be listed.
    pub held: Option<&'a [Held]>,
    /// `Err`: why storage cannot be written and read now.
    pub storage: Result<(), String>,
    /// Records in modgate's own checksum database, when it has one.
    pub private_log: Option<(String, u64)>,
    /// The public checksum database verified against, when on.
    pub sumdb: Option<String>,
    pub misses: Vec<Miss>,
    /// Stored versions whose tag git now lists on another commit, or not.
    pub moved_tags: Vec<MovedTag>,
    /// The Prometheus text of `/metrics`.
    pub metrics: &'a str,
    /// A failure in words (the `explain` classifier), when one applies.
    pub explain: fn(&str) -> Option<String>,
}

/// One sample of the Prometheus text: labels and value.
struct Sample<'a> {
    labels: Vec<(&'a str, &'a str)>,
    value: f64,
}

impl Sample<'_> {
    fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| *v)
    }
}

/// The samples of the series `name` (label values have no escapes in
/// modgate's own series: upstream names and fixed words).
fn samples<'a>(metrics: &'a str, name: &str) -> Vec<Sample<'a>> {
    let mut out = Vec::new();
    for line in metrics.lines() {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        let (labels, value) = match rest.strip_prefix('{') {
            Some(rest) => match rest.split_once("} ") {
                Some((labels, value)) => (labels, value),
                None => continue,
            },
            None => match rest.strip_prefix(' ') {
                Some(value) => ("", value),
                None => continue,
            },
        };
        let Ok(value) = value.trim().parse::<f64>() else {
            continue;
        };
        let labels = labels
            .split(',')
            .filter_map(|kv| {
                let (k, v) = kv.split_once('=')?;
                Some((k, v.trim_matches('"')))
            })
            .collect();
        out.push(Sample { labels, value });
    }
    out
}

/// A counter summed over its labels, as a whole number.
fn total(metrics: &str, name: &str) -> u64 {
    samples(metrics, name)
        .iter()
        .map(|s| s.value)
        .sum::<f64>()
        .max(0.0) as u64
}

/// The latency quantiles `qs` of one upstream from its histogram's
/// buckets, interpolated within a bucket as Prometheus's
/// `histogram_quantile` does; `None` before any request.
fn quantiles(metrics: &str, upstream: &str, qs: &[f64]) -> Option<Vec<Option<f64>>> {
    let mut buckets: Vec<(f64, f64)> =
        samples(metrics, "modgate_upstream_request_duration_seconds_bucket")
            .into_iter()
            .filter(|s| s.label("upstream") == Some(upstream))
            .filter_map(|s| {
                let le = s.label("le")?;
                let bound = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().ok()?
                };
                Some((bound, s.value))
            })
            .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let count = buckets.last()?.1;
    if count == 0.0 {
        return None;
    }
    Some(
        qs.iter()
            .map(|q| {
                let rank = q * count;
                let (mut lower, mut below) = (0.0, 0.0);
                for &(bound, cumulative) in &buckets {
                    if cumulative >= rank {
                        if bound.is_infinite() {
                            // Beyond the largest bucket: no estimate.
                            return None;
                        }
                        let within = cumulative - below;
                        let frac = if within > 0.0 {
                            (rank - below) / within
                        } else {
                            1.0
                        };
                        return Some(lower + (bound - lower) * frac);
                    }
                    (lower, below) = (bound, cumulative);
                }
                None
            })
            .collect(),
    )
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `n` bytes in binary units, for people.
pub(crate) fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn millis(seconds: Option<f64>) -> String {
    match seconds {
        Some(s) if s < 1.0 => format!("{:.1} ms", s * 1000.0),
        Some(s) => format!("{s:.2} s"),
        None => "> 30 s".to_owned(),
    }
}

fn ago(d: Duration) -> String {
    match d.as_secs() {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s => format!("{} h", s / 3600),
    }
}

fn time(at: SystemTime) -> String {
    jiff::Timestamp::try_from(at).map_or_else(|_| String::new(), |t| format!("{t:.0}"))
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin-bottom:1.5em}\
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}\
th{background:#f3f3f3}.up,.ok{color:#060}.trying{color:#a60}.down,.failed{color:#b00}\
dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:bold}";

pub fn render(s: &Status<'_>) -> String {
    let m = s.metrics;
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"30\"><title>modgate status</title>\
         <style>{STYLE}</style></head><body><h1>modgate status</h1>\
         <p>As of <time id=\"now\">{}</time>; refreshes every 30 s.</p>",
        time(SystemTime::now())
    );

    h.push_str("<h2>Storage</h2><dl id=\"storage\">");
    match &s.storage {
        Ok(()) => h.push_str("<dt>health</dt><dd id=\"storage-health\" class=\"ok\">ok</dd>"),
        Err(why) => {
            let _ = write!(
                h,
                "<dt>health</dt><dd id=\"storage-health\" class=\"failed\">unavailable: {}</dd>",
                escape(why)
            );
        }
    }
    match s.held {
        Some(held) => {
            let modules = held
                .iter()
                .map(|v| v.module.as_str())
                .collect::<std::collections::BTreeSet<_>>()
                .len();
            let objects: usize = held.iter().map(|v| v.objects).sum();
            let size: u64 = held.iter().map(|v| v.bytes).sum();
            let _ = write!(
                h,
                "<dt>modules</dt><dd id=\"modules\">{modules}</dd>\
                 <dt>versions</dt><dd id=\"versions\">{}</dd>\
                 <dt>objects</dt><dd id=\"objects\">{objects}</dd>\
                 <dt>cache size</dt><dd id=\"cache-size\" data-bytes=\"{size}\">{}</dd>",
                held.len(),
                bytes(size)
            );
        }
        None => h.push_str("<dt>contents</dt><dd id=\"versions\">cannot be listed now</dd>"),
    }
    h.push_str("</dl>");

    let hits = total(m, "modgate_cache_hits_total");
    let misses = total(m, "modgate_cache_misses_total");
    let ratio = if hits + misses > 0 {
        format!("{:.1}%", 100.0 * hits as f64 / (hits + misses) as f64)
    } else {
        "no requests yet".to_owned()
    };
    h.push_str("<h2>Requests</h2><dl id=\"counters\">");
    for (id, label, value) in [
        ("hits", "cache hits", hits.to_string()),
        ("misses", "cache misses", misses.to_string()),
        ("hit-ratio", "hit ratio", ratio),
        (
            "negative-hits",
            "not-found answers from memory",
            total(m, "modgate_negative_cache_hits_total").to_string(),
        ),
        (
            "stale-answers",
            "answered from the cache, every upstream failing",
            total(m, "modgate_stale_answers_total").to_string(),
        ),
        (
            "rejected",
            "artifacts refused (bad zip, checksum mismatch)",
            total(m, "modgate_rejected_artifacts_total").to_string(),
        ),
        (
            "storage-failures",
            "storage failures",
            total(m, "modgate_storage_failures_total").to_string(),
        ),
        (
            "unstored",
            "answered without storing",
            total(m, "modgate_unstored_answers_total").to_string(),
        ),
    ] {
        let _ = write!(h, "<dt>{label}</dt><dd id=\"{id}\">{}</dd>", escape(&value));
    }
    h.push_str("</dl>");

    h.push_str(
        "<h2>Upstreams</h2><table id=\"upstreams\"><thead><tr><th>upstream</th><th>state</th>\
         <th>requests</th><th>p50</th><th>p90</th><th>p99</th><th>last error</th></tr></thead><tbody>",
    );
    if s.upstreams.is_empty() {
        h.push_str("<tr><td colspan=\"7\">none: serving from the cache only</td></tr>");
    }
    for u in &s.upstreams {
        let requests = samples(m, "modgate_upstream_requests_total")
            .iter()
            .filter(|x| x.label("upstream") == Some(u.name.as_str()))
            .map(|x| x.value)
            .sum::<f64>()
            .max(0.0) as u64;
        let qs = quantiles(m, &u.name, &[0.5, 0.9, 0.99]);
        let cells: Vec<String> = match qs {
            Some(qs) => qs.into_iter().map(millis).collect(),
            None => vec!["–".to_owned(); 3],
        };
        let error = match &u.failing {
            None => "none".to_owned(),
            // A local upstream's, seen now: no time to tell.
            Some((for_, e)) if for_.is_zero() => escape(e),
            Some((for_, e)) => {
                let words = (s.explain)(e)
                    .map(|w| format!("<br><em>{}</em>", escape(&w)))
                    .unwrap_or_default();
                format!("failing for {}: {}{words}", ago(*for_), escape(e))
            }
        };
        let state = u.state.as_str();
        let _ = write!(
            h,
            "<tr data-upstream=\"{name}\"><td>{name}</td><td class=\"{state}\">{state}</td>\
             <td class=\"requests\">{requests}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td class=\"error\">{error}</td></tr>",
            cells[0],
            cells[1],
            cells[2],
            name = escape(&u.name),
        );
    }
    h.push_str("</tbody></table>");

    h.push_str(
        "<h2>Recent misses</h2><table id=\"misses\"><thead><tr><th>when</th><th>what</th>\
         <th>took</th><th>outcome</th></tr></thead><tbody>",
    );
    if s.misses.is_empty() {
        h.push_str("<tr><td colspan=\"4\">none since start</td></tr>");
    }
    for miss in &s.misses {
        let outcome = match &miss.error {
            None => "<td class=\"ok\">fetched and stored</td>".to_owned(),
            Some(e) => format!("<td class=\"failed\">failed: {}</td>", escape(e)),
        };
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td>{outcome}</tr>",
            time(miss.at),
            escape(&miss.what),
            millis(Some(miss.took.as_secs_f64()))
        );
    }
    h.push_str("</tbody></table>");

    h.push_str(
        "<h2>Moved tags</h2><p>Stored versions whose tag names another commit now, or is \
         gone; the stored version is still served.</p><table id=\"moved-tags\"><thead><tr>\
         <th>seen</th><th>version</th><th>tag</th><th>built from</th><th>now</th></tr>\
         </thead><tbody>",
    );
    if s.moved_tags.is_empty() {
        h.push_str("<tr><td colspan=\"5\">none seen since start</td></tr>");
    }
    for m in &s.moved_tags {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}@{}</td><td>{} of {}</td><td>{}</td><td>{}</td></tr>",
            m.seen.map(time).unwrap_or_default(),
            escape(&m.module),
            escape(&m.version),
            escape(&m.tag),
            escape(&m.url),
            escape(&m.old),
            escape(m.new.as_deref().unwrap_or("deleted")),
        );
    }
    h.push_str("</tbody></table>");

    h.push_str("<h2>Checksum databases</h2><dl id=\"sumdb\">");
    let verified = s.sumdb.as_deref().unwrap_or("off");
    let _ = write!(h, "<dt>verified against</dt><dd>{}</dd>", escape(verified));
    match &s.private_log {
        Some((name, n)) => {
            let _ = write!(
                h,
                "<dt>own database</dt><dd>{}</dd><dt>records</dt><dd id=\"private-log\">{n}</dd>",
                escape(name)
            );
        }
        None => h.push_str("<dt>own database</dt><dd id=\"private-log\">off</dd>"),
    }
    let mut results: BTreeMap<&str, f64> = BTreeMap::new();
    let verifications = samples(m, "modgate_sumdb_verifications_total");
    for v in &verifications {
        *results.entry(v.label("result").unwrap_or("?")).or_default() += v.value;
    }
    for (result, n) in results {
        let _ = write!(h, "<dt>verifications: {}</dt><dd>{n}</dd>", escape(result));
    }
    h.push_str("</dl></body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    const METRICS: &str = "\
# TYPE modgate_cache_hits_total counter
modgate_cache_hits_total{kind=\"zip\"} 3
modgate_cache_hits_total{kind=\"mod\"} 1
modgate_upstream_request_duration_seconds_bucket{upstream=\"a\",le=\"0.01\"} 5
modgate_upstream_request_duration_seconds_bucket{upstream=\"a\",le=\"0.1\"} 9
modgate_upstream_request_duration_seconds_bucket{upstream=\"a\",le=\"+Inf\"} 10
";

    #[test]
    fn counters_sum_their_labels_and_quantiles_interpolate() {
        assert_eq!(total(METRICS, "modgate_cache_hits_total"), 4);
        assert_eq!(total(METRICS, "modgate_absent_total"), 0);
        let qs = quantiles(METRICS, "a", &[0.5, 0.9, 0.99]).unwrap();
        assert_eq!(qs[0], Some(0.01));
        assert!((qs[1].unwrap() - 0.1).abs() < 1e-9);
        assert_eq!(qs[2], None, "beyond the largest bucket");
        assert!(quantiles(METRICS, "b", &[0.5]).is_none());
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape("<a href='x'>&"), "&lt;a href=&#39;x&#39;&gt;&amp;");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(3 << 20), "3.0 MiB");
    }
}
