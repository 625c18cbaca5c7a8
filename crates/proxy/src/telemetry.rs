//! Request ids and metrics (the binary sets up the log output).

tokio::task_local! {
    /// The id of the request being answered (also its `x-request-id` header).
    pub static REQUEST_ID: axum::http::HeaderValue;
}

/// The current request's id, or an empty string outside a request.
pub fn request_id() -> String {
    REQUEST_ID
        .try_with(|id| id.to_str().unwrap_or_default().to_owned())
        .unwrap_or_default()
}

/// Every metric modgate exports but the git mirrors' own (`modgate_vcs_*`
/// but moved tags, recorded where they are measured, in modgate-vcs). Labels never carry
/// module paths: their number is unbounded.
pub mod metric {
    use std::time::Duration;

    use metrics::{counter, gauge, histogram};
    use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

    const LATENCY_BUCKETS: &[f64] = &[
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    ];

    pub fn install() -> Result<PrometheusHandle, metrics_exporter_prometheus::BuildError> {
        PrometheusBuilder::new()
            .set_buckets(LATENCY_BUCKETS)?
            .install_recorder()
    }

    /// Which build is running: 1, labelled with its version, commit and date.
    pub fn build_info(version: &'static str, commit: &'static str, date: &'static str) {
        gauge!("modgate_build_info", "version" => version, "commit" => commit, "date" => date)
            .set(1.0);
    }

    /// Drains histograms into their buckets now and then; runs forever.
    pub async fn upkeep(handle: PrometheusHandle) {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            handle.run_upkeep();
        }
    }

    /// A labelled series' handle is looked up in the recorder's registry by
    /// hashing its name and labels, which costs more than the count itself
    /// on every hit; each worker thread keeps the handles it has used.
    type Series = (&'static str, u16, metrics::Counter, metrics::Histogram);

    thread_local! {
        static REQUEST_SERIES: std::cell::RefCell<Vec<Series>> = const { std::cell::RefCell::new(Vec::new()) };
        static LOOKUP_SERIES: std::cell::RefCell<Vec<(&'static str, bool, metrics::Counter)>> = const { std::cell::RefCell::new(Vec::new()) };
    }

    /// An answered request, for `/metrics` and the console's history.
    pub fn http_request(endpoint: &'static str, status: u16, elapsed: Duration) {
        modgate_console::history::global().request(status, elapsed);
        REQUEST_SERIES.with_borrow_mut(|series| {
            let i = match series
                .iter()
                .position(|(e, s, ..)| *s == status && *e == endpoint)
            {
                Some(i) => i,
                None => {
                    series.push((
                        endpoint,
                        status,
                        counter!("modgate_http_requests_total", "endpoint" => endpoint, "status" => status_label(status)),
                        histogram!("modgate_http_request_duration_seconds", "endpoint" => endpoint),
                    ));
                    series.len() - 1
                }
            };
            let (.., requests, duration) = &series[i];
            requests.increment(1);
            duration.record(elapsed.as_secs_f64());
        });
    }

    /// The common statuses without an allocation per request.
    fn status_label(status: u16) -> metrics::SharedString {
        let s = match status {
            200 => "200",
            206 => "206",
            304 => "304",
            400 => "400",
            404 => "404",
            405 => "405",
            410 => "410",
            416 => "416",
            500 => "500",
            502 => "502",
            503 => "503",
            504 => "504",
            _ => return status.to_string().into(),
        };
        s.into()
    }

    /// A lookup of a stored artifact (`kind`: info, mod, zip).
    pub fn cache_lookup(kind: &'static str, hit: bool) {
        modgate_console::history::global().lookup(hit);
        LOOKUP_SERIES.with_borrow_mut(|series| {
            if let Some((.., lookups)) = series.iter().find(|(k, h, _)| *h == hit && *k == kind) {
                lookups.increment(1);
                return;
            }
            let name = if hit {
                "modgate_cache_hits_total"
            } else {
                "modgate_cache_misses_total"
            };
            let lookups = counter!(name, "kind" => kind);
            lookups.increment(1);
            series.push((kind, hit, lookups));
        });
    }

    pub fn upstream_request(upstream: &str, outcome: &'static str, elapsed: Duration) {
        counter!("modgate_upstream_requests_total", "upstream" => upstream.to_owned(), "outcome" => outcome)
            .increment(1);
        histogram!("modgate_upstream_request_duration_seconds", "upstream" => upstream.to_owned())
            .record(elapsed.as_secs_f64());
    }

    /// A chain moved past an upstream that failed (`reason`: the failure kind
    /// or `circuit_open`).
    pub fn failover(upstream: &str, reason: &'static str) {
        counter!("modgate_upstream_failovers_total", "upstream" => upstream.to_owned(), "reason" => reason)
            .increment(1);
    }

    /// A request hedged to `upstream` (the next in the chain) because the
    /// one before sent no headers in time (`outcome`: won, lost).
    pub fn hedge(upstream: &str, outcome: &'static str) {
        counter!("modgate_upstream_hedges_total", "upstream" => upstream.to_owned(), "outcome" => outcome)
            .increment(1);
    }

    /// 0 closed (up), 1 half-open (trying), 2 open (skipped).
    pub fn breaker_state(upstream: &str, state: f64) {
        metrics::gauge!("modgate_upstream_breaker_state", "upstream" => upstream.to_owned())
            .set(state);
    }

    /// A request that waited for a fetch another request had started.
    pub fn coalesced(kind: &'static str) {
        counter!("modgate_coalesced_waits_total", "kind" => kind).increment(1);
    }

    /// A not-found answer served from the negative cache.
    pub fn negative_hit(kind: &'static str) {
        counter!("modgate_negative_cache_hits_total", "kind" => kind).increment(1);
    }

    /// A list or @latest answer served from memory (`state`: fresh or stale).
    pub fn recent_answer(kind: &'static str, state: &'static str) {
        counter!("modgate_recent_answers_total", "kind" => kind, "state" => state).increment(1);
    }

    /// An answer served from the cache because every upstream failed.
    pub fn stale_answer(endpoint: &'static str) {
        counter!("modgate_stale_answers_total", "endpoint" => endpoint).increment(1);
    }

    /// A stored version whose tag git now lists on another commit, or
    /// not at all (see `moved`): counted once per move.
    pub fn moved_tag() {
        counter!("modgate_vcs_moved_tags_total").increment(1);
    }

    pub use modgate_store::metric::storage_failure;

    /// A verified artifact answered without being stored: storage failed.
    pub fn unstored_answer(endpoint: &'static str) {
        storage_failure("write");
        counter!("modgate_unstored_answers_total", "endpoint" => endpoint).increment(1);
    }

    /// A request whose credentials were refused.
    pub fn auth_failure() {
        counter!("modgate_auth_failures_total").increment(1);
    }

    /// A request whose credentials were not even tried (`reason`:
    /// throttled, busy).
    pub fn auth_refused(reason: &'static str) {
        counter!("modgate_auth_refused_total", "reason" => reason).increment(1);
    }

    /// An artifact an upstream sent that failed validation.
    pub fn rejected_artifact(kind: &'static str) {
        counter!("modgate_rejected_artifacts_total", "kind" => kind).increment(1);
    }

    /// A module hash checked against the checksum database (`result`: ok,
    /// mismatch, not_found, unavailable, corrupt).
    pub fn sumdb_verification(result: &'static str) {
        counter!("modgate_sumdb_verifications_total", "result" => result).increment(1);
    }

    /// A checksum database file (`kind`: lookup, tile, latest) looked for in
    /// the store or memory.
    pub fn sumdb_cache(kind: &'static str, hit: bool) {
        let hit = if hit { "true" } else { "false" };
        counter!("modgate_sumdb_cache_total", "kind" => kind, "hit" => hit).increment(1);
    }

    /// A refresh of the vulnerability database mirror (`result`: ok, failed).
    pub fn vulndb_refresh(result: &'static str) {
        counter!("modgate_vulndb_refreshes_total", "result" => result).increment(1);
    }

    /// A policy decision on a module version (`decision`: allow, deny,
    /// would_deny, waived).
    pub fn policy_decision(decision: &'static str) {
        counter!("modgate_policy_decisions_total", "decision" => decision).increment(1);
    }
}
