//! Logs and metrics.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;
use crate::env;

pub fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_env(env::LOG).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

/// Every metric modgate exports. Labels never carry module paths: their
/// number is unbounded.
pub mod metric {
    use std::time::Duration;

    use metrics::{counter, histogram};
    use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

    const LATENCY_BUCKETS: &[f64] = &[
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    ];

    pub fn install() -> Result<PrometheusHandle, metrics_exporter_prometheus::BuildError> {
        let handle = PrometheusBuilder::new()
            .set_buckets(LATENCY_BUCKETS)?
            .install_recorder()?;
        let upkeep = handle.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tick.tick().await;
                upkeep.run_upkeep();
            }
        });
        Ok(handle)
    }

    pub fn http_request(endpoint: &'static str, status: u16, elapsed: Duration) {
        counter!("modgate_http_requests_total", "endpoint" => endpoint, "status" => status.to_string())
            .increment(1);
        histogram!("modgate_http_request_duration_seconds", "endpoint" => endpoint)
            .record(elapsed.as_secs_f64());
    }

    /// A lookup of a stored artifact (`kind`: info, mod, zip).
    pub fn cache_lookup(kind: &'static str, hit: bool) {
        let name = if hit {
            "modgate_cache_hits_total"
        } else {
            "modgate_cache_misses_total"
        };
        counter!(name, "kind" => kind).increment(1);
    }

    pub fn upstream_request(upstream: &str, outcome: &'static str, elapsed: Duration) {
        counter!("modgate_upstream_requests_total", "upstream" => upstream.to_owned(), "outcome" => outcome)
            .increment(1);
        histogram!("modgate_upstream_request_duration_seconds", "upstream" => upstream.to_owned())
            .record(elapsed.as_secs_f64());
    }

    /// An answer served from the cache because every upstream failed.
    pub fn stale_answer(endpoint: &'static str) {
        counter!("modgate_stale_answers_total", "endpoint" => endpoint).increment(1);
    }

    /// An artifact an upstream sent that failed validation.
    pub fn rejected_artifact(kind: &'static str) {
        counter!("modgate_rejected_artifacts_total", "kind" => kind).increment(1);
    }
}
