//! The metrics of modgate's own checksum database (listed, with every
//! other, in the README's table).

use metrics::{counter, gauge};

/// Records in modgate's own checksum database (its latest signed tree).
pub fn sumdb_private_records(n: u64) {
    gauge!("modgate_sumdb_private_records").set(n as f64);
}

/// modgate's own checksum database found its log forked in storage.
pub fn sumdb_private_fork() {
    counter!("modgate_sumdb_private_forks_total").increment(1);
}
