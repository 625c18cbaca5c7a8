//! Progress of a bundle's creation or import on stderr, for the commands
//! that run them.

use std::io::IsTerminal as _;
use std::time::{Duration, Instant};

use crate::Progress;

/// Progress on stderr: a bar on a terminal, else a line per phase and at
/// most one a second.
pub struct Shown {
    what: &'static str,
    bar: Option<indicatif::ProgressBar>,
    phase: &'static str,
    last: Option<Instant>,
    pending: Option<Progress>,
}

impl Shown {
    pub fn new(what: &'static str) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(0).with_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} {prefix} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} {msg}",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Self {
            what,
            bar,
            phase: "",
            last: None,
            pending: None,
        }
    }

    pub fn show(&mut self, p: &Progress) {
        if let Some(bar) = &self.bar {
            bar.set_prefix(format!(
                "{} {}/{} modules",
                p.phase, p.modules, p.modules_total
            ));
            bar.set_length(p.bytes_total.max(p.bytes));
            bar.set_position(p.bytes);
            bar.set_message(p.current.clone());
            return;
        }
        let due = self.phase != p.phase
            || self
                .last
                .is_none_or(|t| t.elapsed() >= Duration::from_secs(1));
        if due {
            self.line(p);
        } else {
            self.pending = Some(p.clone());
        }
    }

    fn line(&mut self, p: &Progress) {
        self.phase = p.phase;
        self.last = Some(Instant::now());
        self.pending = None;
        let total = if p.bytes_total > 0 {
            format!("/{}", indicatif::HumanBytes(p.bytes_total))
        } else {
            String::new()
        };
        eprintln!(
            "{}: {} {}/{} modules, {}{total}{}",
            self.what,
            p.phase,
            p.modules,
            p.modules_total,
            indicatif::HumanBytes(p.bytes),
            if p.current.is_empty() {
                String::new()
            } else {
                format!(" — {}", p.current)
            }
        );
    }

    /// Shows what is still pending; a bar stays with its totals.
    pub fn finish(&mut self) {
        // The bar stays, with the totals, above the summary.
        if let Some(bar) = self.bar.take() {
            bar.finish();
        }
        if let Some(p) = self.pending.take() {
            self.line(&p);
        }
    }
}
