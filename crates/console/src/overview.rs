//! The overview at `/`: the proxy's state at a glance and its last hour
//! and day. Counters since start and upstream latencies come from the same
//! series `/metrics` exports, so the page and a dashboard agree; the hour
//! and day come from [`crate::history`].

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use crate::history::Window;
use crate::html::{Nav, ago, bytes, chart, escape, millis, page, time, time_el};

/// Everything the overview shows, gathered by the server.
pub struct Overview<'a> {
    /// `modgate 0.1.0 (commit …, built …)`.
    pub version: &'a str,
    pub started: SystemTime,
    /// The effective configuration, secrets redacted: (setting, value).
    pub config: &'a [(String, String)],
    pub hour: Window,
    pub day: Window,
    /// `Err`: why storage cannot be written and read now.
    pub storage: Result<(), String>,
    /// `None` while the store cannot be listed.
    pub held: Option<Holdings>,
    pub upstreams: Vec<Upstream>,
    /// modgate's own checksum database, when it has one.
    pub private_log: Option<PrivateLog>,
    /// The public checksum database verified against, when on.
    pub sumdb: Option<String>,
    pub misses: Vec<Miss>,
    pub moved_tags: Vec<MovedTag>,
    pub vulndb: Option<VulnMirror>,
    /// The last `modgate gc` run on this storage, if one was recorded.
    pub gc: Option<GcRun>,
    /// The last `modgate gc --dry-run`: what gc would free.
    pub gc_would: Option<GcRun>,
    /// The Prometheus text of `/metrics`.
    pub metrics: &'a str,
}

/// What the store holds.
pub struct Holdings {
    pub modules: usize,
    pub versions: usize,
    pub objects: usize,
    pub bytes: u64,
    /// Bytes of the versions stored in the last hour and day.
    pub grown_hour: u64,
    pub grown_day: u64,
}

pub struct Upstream {
    pub name: String,
    /// up, trying, down.
    pub state: &'static str,
    /// How long it has been failing (zero: a local upstream, seen now) and
    /// its last failure.
    pub failing: Option<(Duration, String)>,
    /// The failure in words (the `explain` classifier), when one applies.
    pub explained: Option<String>,
    /// Breaker openings and the first failures of streaks, oldest first.
    pub events: Vec<UpstreamEvent>,
}

pub struct UpstreamEvent {
    pub at: SystemTime,
    pub what: &'static str,
    pub cause: String,
}

pub struct Miss {
    pub at: SystemTime,
    pub what: String,
    pub took: Duration,
    pub error: Option<String>,
}

pub struct MovedTag {
    pub seen: Option<SystemTime>,
    pub module: String,
    pub version: String,
    pub tag: String,
    pub url: String,
    pub old: String,
    pub new: Option<String>,
}

pub struct PrivateLog {
    pub name: String,
    /// Records in its signed tree.
    pub size: u64,
    /// When its newest tree head was signed and stored, if known.
    pub signed_at: Option<SystemTime>,
}

pub struct GcRun {
    pub at: SystemTime,
    /// Versions the store held.
    pub versions: usize,
    pub removed: usize,
    pub freed: u64,
}

pub struct VulnMirror {
    pub upstream: String,
    pub synced: Option<SystemTime>,
    pub failing: Option<String>,
}

/// One sample of the Prometheus text: labels and value.
struct Sample<'a> {
    labels: Vec<(&'a str, &'a str)>,
    value: f64,
}

impl<'a> Sample<'a> {
    fn label(&self, name: &str) -> Option<&'a str> {
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

/// A counter's values summed by one label.
fn by_label<'a>(metrics: &'a str, name: &str, label: &str) -> BTreeMap<&'a str, u64> {
    let mut out = BTreeMap::new();
    for s in samples(metrics, name) {
        *out.entry(s.label(label).unwrap_or("?")).or_default() += s.value.max(0.0) as u64;
    }
    out
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

/// The traffic panel of one window: numbers, then its chart.
fn traffic(h: &mut String, name: &str, label: &str, w: &Window, step: u64) {
    let ratio = w
        .hit_ratio()
        .map_or("–".to_owned(), |r| format!("{:.1}%", r * 100.0));
    let error_rate = if w.requests > 0 {
        format!("{:.1}%", 100.0 * w.errors as f64 / w.requests as f64)
    } else {
        "–".to_owned()
    };
    let q = |p| {
        if w.requests == 0 {
            "–".to_owned()
        } else {
            millis(w.quantile(p))
        }
    };
    let _ = write!(
        h,
        "<section class=\"window\" data-window=\"{name}\" data-label=\"{label}\" \
         aria-label=\"{label}\"><h3>{label}</h3><div class=\"cards\">\
         <div class=\"card\">requests<b id=\"{name}-requests\">{}</b></div>\
         <div class=\"card\">hit ratio<b id=\"{name}-hit-ratio\">{ratio}</b></div>\
         <div class=\"card\">errors (5xx)<b id=\"{name}-errors\">{}</b><span class=\"muted\">{error_rate}</span></div>\
         <div class=\"card\">p50<b id=\"{name}-p50\">{}</b></div>\
         <div class=\"card\">p90<b id=\"{name}-p90\">{}</b></div>\
         <div class=\"card\">p99<b id=\"{name}-p99\">{}</b></div></div>{}</section>",
        w.requests,
        w.errors,
        q(0.5),
        q(0.9),
        q(0.99),
        chart(
            &format!("{name}-chart"),
            &format!("requests and errors, {label}"),
            &w.steps,
            step
        ),
    );
}

pub fn render(s: &Overview<'_>) -> String {
    let m = s.metrics;
    let mut h = String::new();
    let uptime = s.started.elapsed().unwrap_or_default();
    let _ = write!(
        h,
        "<h1>modgate status</h1><p><span id=\"version\">{}</span> · up <span id=\"uptime\">{}</span> \
         (since {}) · as of <time id=\"now\">{}</time>.</p>",
        escape(s.version),
        ago(uptime),
        time_el(s.started),
        time(SystemTime::now())
    );

    h.push_str("<h2>Traffic</h2><div data-windows>");
    traffic(&mut h, "hour", "last hour", &s.hour, 1);
    traffic(&mut h, "day", "last day", &s.day, 15);
    h.push_str("</div>");

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
    match &s.held {
        Some(held) => {
            let _ = write!(
                h,
                "<dt>modules</dt><dd id=\"modules\">{}</dd>\
                 <dt>versions</dt><dd id=\"versions\">{}</dd>\
                 <dt>objects</dt><dd id=\"objects\">{}</dd>\
                 <dt>cache size</dt><dd id=\"cache-size\" data-bytes=\"{}\">{}</dd>\
                 <dt>growth</dt><dd id=\"growth\">{} in the last hour, {} in the last day</dd>",
                held.modules,
                held.versions,
                held.objects,
                held.bytes,
                bytes(held.bytes),
                bytes(held.grown_hour),
                bytes(held.grown_day),
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
    h.push_str("<h2>Since start</h2><dl id=\"counters\">");
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

    upstreams(&mut h, s);
    misses_table(&mut h, &s.misses);
    moved(&mut h, &s.moved_tags);
    databases(&mut h, s);

    h.push_str("<h2>Garbage collection</h2><dl id=\"gc\">");
    match &s.gc {
        None => h.push_str(
            "<dt>last run</dt><dd id=\"gc-last\">none recorded (<code>modgate gc</code> runs \
             beside the server)</dd>",
        ),
        Some(run) => {
            let _ = write!(
                h,
                "<dt>last run</dt><dd id=\"gc-last\">{}</dd><dt>removed</dt><dd>{} of {} versions, \
                 {} freed</dd>",
                time_el(run.at),
                run.removed,
                run.versions,
                bytes(run.freed)
            );
        }
    }
    match &s.gc_would {
        None => h.push_str(
            "<dt>would free</dt><dd id=\"gc-would\">unknown (<code>modgate gc --dry-run</code> \
             records it)</dd>",
        ),
        Some(run) => {
            let _ = write!(
                h,
                "<dt>would free</dt><dd id=\"gc-would\">{} in {} of {} versions (dry run {})</dd>",
                bytes(run.freed),
                run.removed,
                run.versions,
                time_el(run.at)
            );
        }
    }
    h.push_str("</dl>");

    h.push_str("<h2>Policy</h2><dl id=\"policy\">");
    let decisions = by_label(m, "modgate_policy_decisions_total", "decision");
    if decisions.is_empty() {
        h.push_str("<dt>decisions</dt><dd>none since start</dd>");
    }
    for (decision, n) in decisions {
        let _ = write!(
            h,
            "<dt>{}</dt><dd id=\"policy-{}\">{n}</dd>",
            escape(&decision.replace('_', " ")),
            escape(decision)
        );
    }
    h.push_str("</dl>");

    h.push_str("<h2>Version control mirrors</h2><dl id=\"vcs\">");
    let _ = write!(
        h,
        "<dt>git mirrors</dt><dd id=\"vcs-mirrors\">{}</dd>\
         <dt>disk</dt><dd id=\"vcs-bytes\">{}</dd><dt>evictions (--vcs-max-size)</dt>\
         <dd id=\"vcs-evictions\">{}</dd><dt>corrupt mirrors set aside</dt><dd>{}</dd></dl>",
        total(m, "modgate_vcs_mirrors"),
        bytes(total(m, "modgate_vcs_mirrors_bytes")),
        total(m, "modgate_vcs_evictions_total"),
        total(m, "modgate_vcs_corrupt_mirrors_total"),
    );

    h.push_str(
        "<h2>Configuration</h2><p class=\"note\">Effective settings, secrets redacted. \
        Also: <a href=\"/metrics\">/metrics</a>, <a href=\"/readyz\">/readyz</a>.</p>\
        <div class=\"scroll\" tabindex=\"0\"><table id=\"config\"><thead><tr><th scope=\"col\">setting</th>\
        <th scope=\"col\">value</th></tr></thead><tbody>",
    );
    for (k, v) in s.config {
        let _ = write!(
            h,
            "<tr><td><code>{}</code></td><td><code>{}</code></td></tr>",
            escape(k),
            escape(v)
        );
    }
    h.push_str("</tbody></table></div>");
    page("modgate status", Nav::Overview, Some(30), &h)
}

fn upstreams(h: &mut String, s: &Overview<'_>) {
    let m = s.metrics;
    h.push_str(
        "<h2>Upstreams</h2><div class=\"scroll\" tabindex=\"0\"><table id=\"upstreams\"><thead><tr>\
         <th scope=\"col\">upstream</th><th scope=\"col\">state</th><th scope=\"col\">requests</th>\
         <th scope=\"col\">p50</th><th scope=\"col\">p90</th><th scope=\"col\">p99</th>\
         <th scope=\"col\">last error</th></tr></thead><tbody>",
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
        let cells: Vec<String> = match quantiles(m, &u.name, &[0.5, 0.9, 0.99]) {
            Some(qs) => qs.into_iter().map(millis).collect(),
            None => vec!["–".to_owned(); 3],
        };
        let error = match &u.failing {
            None => "none".to_owned(),
            // A local upstream's, seen now: no time to tell.
            Some((for_, e)) if for_.is_zero() => escape(e),
            Some((for_, e)) => {
                let words = u
                    .explained
                    .as_ref()
                    .map(|w| format!("<br><em>{}</em>", escape(w)))
                    .unwrap_or_default();
                format!("failing for {}: {}{words}", ago(*for_), escape(e))
            }
        };
        let _ = write!(
            h,
            "<tr data-upstream=\"{name}\"><td>{name}</td><td class=\"{state}\">{state}</td>\
             <td class=\"requests\">{requests}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td class=\"error\">{error}</td></tr>",
            cells[0],
            cells[1],
            cells[2],
            name = escape(&u.name),
            state = u.state,
        );
    }
    h.push_str("</tbody></table></div>");
    h.push_str(
        "<h3>Upstream timeline</h3><div class=\"scroll\" tabindex=\"0\"><table id=\"upstream-events\"><thead><tr>\
         <th scope=\"col\">when</th><th scope=\"col\">upstream</th><th scope=\"col\">what</th>\
         <th scope=\"col\">cause</th></tr></thead><tbody>",
    );
    let mut events: Vec<(&Upstream, &UpstreamEvent)> = s
        .upstreams
        .iter()
        .flat_map(|u| u.events.iter().map(move |e| (u, e)))
        .collect();
    events.sort_by_key(|e| std::cmp::Reverse(e.1.at));
    if events.is_empty() {
        h.push_str("<tr><td colspan=\"4\">no failures since start</td></tr>");
    }
    for (u, e) in events {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td></tr>",
            time_el(e.at),
            escape(&u.name),
            if e.what == "opened" { "down" } else { "trying" },
            e.what,
            escape(&e.cause)
        );
    }
    h.push_str("</tbody></table></div>");
}

fn misses_table(h: &mut String, misses: &[Miss]) {
    h.push_str(
        "<h2>Recent misses</h2><div class=\"scroll\" tabindex=\"0\"><table id=\"recent-misses\"><thead><tr>\
         <th scope=\"col\">when</th><th scope=\"col\">what</th><th scope=\"col\">took</th>\
         <th scope=\"col\">outcome</th></tr></thead><tbody>",
    );
    if misses.is_empty() {
        h.push_str("<tr><td colspan=\"4\">none since start</td></tr>");
    }
    for miss in misses {
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
    h.push_str("</tbody></table></div>");
}

fn moved(h: &mut String, tags: &[MovedTag]) {
    h.push_str(
        "<h2>Moved tags</h2><p>Stored versions whose tag names another commit now, or is \
         gone; the stored version is still served.</p><div class=\"scroll\" tabindex=\"0\"><table id=\"moved-tags\">\
         <thead><tr><th scope=\"col\">seen</th><th scope=\"col\">version</th><th scope=\"col\">tag</th>\
         <th scope=\"col\">built from</th><th scope=\"col\">now</th></tr></thead><tbody>",
    );
    if tags.is_empty() {
        h.push_str("<tr><td colspan=\"5\">none seen since start</td></tr>");
    }
    for m in tags {
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
    h.push_str("</tbody></table></div>");
}

fn databases(h: &mut String, s: &Overview<'_>) {
    h.push_str("<h2>Checksum databases</h2><dl id=\"sumdb\">");
    let verified = s.sumdb.as_deref().unwrap_or("off");
    let _ = write!(h, "<dt>verified against</dt><dd>{}</dd>", escape(verified));
    match &s.private_log {
        Some(log) => {
            let _ = write!(
                h,
                "<dt>own database</dt><dd>{}</dd><dt>records (signed tree size)</dt>\
                 <dd id=\"private-log\">{}</dd><dt>last signed head</dt><dd id=\"private-log-signed\">{}</dd>",
                escape(&log.name),
                log.size,
                log.signed_at.map_or("unknown".to_owned(), time_el),
            );
        }
        None => h.push_str("<dt>own database</dt><dd id=\"private-log\">off</dd>"),
    }
    for (result, n) in by_label(s.metrics, "modgate_sumdb_verifications_total", "result") {
        let _ = write!(h, "<dt>verifications: {}</dt><dd>{n}</dd>", escape(result));
    }
    h.push_str("</dl><h2>Vulnerability database</h2><dl id=\"vulndb\">");
    match &s.vulndb {
        None => h.push_str("<dt>mirror</dt><dd id=\"vulndb-age\">off</dd>"),
        Some(v) => {
            let age = match v.synced {
                Some(at) => format!(
                    "{} old (synced {})",
                    ago(at.elapsed().unwrap_or_default()),
                    time(at)
                ),
                None => "not synced yet".to_owned(),
            };
            let _ = write!(
                h,
                "<dt>mirror of</dt><dd>{}</dd><dt>age</dt><dd id=\"vulndb-age\">{}</dd>",
                escape(&v.upstream),
                escape(&age)
            );
            if let Some(e) = &v.failing {
                let _ = write!(
                    h,
                    "<dt>last refresh</dt><dd class=\"failed\">failed: {}</dd>",
                    escape(e)
                );
            }
        }
    }
    h.push_str("</dl>");
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
modgate_policy_decisions_total{decision=\"deny\"} 2
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
    fn the_page_escapes_what_it_is_given() {
        let overview = Overview {
            version: "modgate <1>",
            started: SystemTime::now(),
            config: &[("upstream".into(), "https://<x>".into())],
            hour: Window::default(),
            day: Window::default(),
            storage: Ok(()),
            held: None,
            upstreams: vec![Upstream {
                name: "<u>".into(),
                state: "down",
                failing: Some((Duration::from_secs(5), "<e>".into())),
                explained: None,
                events: vec![UpstreamEvent {
                    at: SystemTime::now(),
                    what: "opened",
                    cause: "<c>".into(),
                }],
            }],
            private_log: None,
            sumdb: None,
            misses: Vec::new(),
            moved_tags: Vec::new(),
            vulndb: None,
            gc: None,
            gc_would: None,
            metrics: METRICS,
        };
        let html = render(&overview);
        for raw in ["<1>", "<x>", "<u>", "<e>", "<c>"] {
            assert!(!html.contains(raw), "{raw} unescaped");
        }
        assert!(html.contains("id=\"policy-deny\">2<"), "{html}");
    }
}
