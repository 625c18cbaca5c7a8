//! The storage metrics (listed, with every other, in the README's table).

use metrics::{counter, gauge};

/// A storage call that failed (`op`: read, write, list, check), answered
/// around.
pub fn storage_failure(op: &'static str) {
    counter!("modgate_storage_failures_total", "op" => op).increment(1);
}

/// Bytes the local disk tier holds.
pub fn disk_tier_bytes(bytes: u64) {
    gauge!("modgate_disk_tier_bytes").set(bytes as f64);
}

/// A zip read from the bucket that did not hash to its stored hash,
/// so the disk tier did not keep it.
pub fn disk_tier_rejected() {
    counter!("modgate_disk_tier_rejected_total").increment(1);
}
