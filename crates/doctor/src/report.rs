//! Output: a table for people (coloured on a terminal), JSON for machines.

use std::fmt::Write as _;

use serde::Serialize;

use super::check::{Check, Status, Timings};
use super::compare::Comparison;

#[derive(Debug, Serialize)]
pub struct Report {
    pub checks: Vec<Check>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compare: Option<Comparison>,
}

impl Report {
    pub fn failed(&self) -> bool {
        self.checks.iter().any(|c| c.status == Status::Fail)
    }

    pub fn json(&self) -> String {
        // Serialising plain data to a string cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    pub fn table(&self, colour: bool) -> String {
        let paint = |s: &str, code: &str| {
            if colour {
                format!("\x1b[{code}m{s}\x1b[0m")
            } else {
                s.to_owned()
            }
        };
        // Every row's columns line up: the widths are the widest cell's
        // (a long URL widens the table rather than shifting its row).
        let width = self
            .checks
            .iter()
            .map(|c| c.target.chars().count())
            .chain(["TARGET".len()])
            .max()
            .unwrap_or(0);
        let cat_width = self
            .checks
            .iter()
            .map(|c| category_cell(c).len())
            .chain(["CATEGORY".len()])
            .max()
            .unwrap_or(0);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<6} {:<cat_width$} {:<width$} DETAIL",
            "STATUS", "CATEGORY", "TARGET"
        );
        // The fix goes under the detail, after "fix: ".
        let pad = " ".repeat(6 + 1 + cat_width + 1 + width + 1);
        for c in &self.checks {
            let status = format!("{:<6}", c.status.as_str());
            let status = match c.status {
                Status::Ok => paint(&status, "32"),
                Status::Warn => paint(&status, "33"),
                Status::Fail => paint(&status, "1;31"),
            };
            let timings = c.timings.as_ref().map(show_timings).unwrap_or_default();
            let target = format!("{:<width$}", c.target);
            let _ = writeln!(
                out,
                "{status} {:<cat_width$} {target} {}{timings}",
                category_cell(c),
                c.detail
            );
            if let Some(fix) = &c.fix {
                let _ = writeln!(out, "{pad}{} {fix}", paint("fix:", "36"));
            }
        }
        if let Some(cmp) = &self.compare {
            let _ = writeln!(out, "\nMIRROR COMPARISON");
            for m in &cmp.mirrors {
                let stats = match (m.p50_ms, m.p95_ms) {
                    (Some(p50), Some(p95)) => format!("p50 {p50:>8.1}ms  p95 {p95:>8.1}ms"),
                    _ => "unreachable".to_owned(),
                };
                let _ = writeln!(
                    out,
                    "  {:<width$} {stats}  ({}/{} rounds ok)",
                    m.url, m.ok_rounds, m.rounds
                );
            }
            match &cmp.recommended {
                Some(cmd) => {
                    let _ = writeln!(out, "recommended:\n  {}", paint(cmd, "1"));
                }
                None => {
                    let _ = writeln!(out, "no mirror answered every round");
                }
            }
        }
        let (fails, warns) = self.checks.iter().fold((0, 0), |(f, w), c| match c.status {
            Status::Fail => (f + 1, w),
            Status::Warn => (f, w + 1),
            Status::Ok => (f, w),
        });
        let _ = writeln!(
            out,
            "\n{} checks: {fails} failed, {warns} {}",
            self.checks.len(),
            if warns == 1 { "warning" } else { "warnings" }
        );
        out
    }
}

/// A passing row has no category of failure to show.
fn category_cell(c: &Check) -> &'static str {
    if c.status == Status::Ok {
        ""
    } else {
        c.category.as_str()
    }
}

fn show_timings(t: &Timings) -> String {
    let mut parts = Vec::new();
    for (name, v) in [
        ("dns", t.dns_ms),
        ("connect", t.connect_ms),
        ("tls", t.tls_ms),
        ("ttfb", t.ttfb_ms),
    ] {
        if let Some(v) = v {
            parts.push(format!("{name} {v}ms"));
        }
    }
    parts.push(format!("total {}ms", t.total_ms));
    format!(" [{}]", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Category;

    #[test]
    fn table_and_json() {
        let report = Report {
            checks: vec![
                Check::ok("GOPROXY", "fine"),
                Check::fail(
                    "https://x",
                    Category::Dns,
                    "lookup x: no such host",
                    "do this",
                )
                .with_timings(Timings {
                    dns_ms: Some(1.5),
                    total_ms: 1.6,
                    ..Timings::default()
                }),
                Check::warn(
                    "https://goproxy.a-long-internal-name.corp.example.com/artifactory/api/go",
                    Category::Config,
                    "slow",
                    "wait",
                ),
            ],
            compare: None,
        };
        assert!(report.failed());
        let table = report.table(false);
        assert!(table.contains("fail   dns"), "{table}");
        assert!(table.contains("fix: do this"));
        assert!(
            table.ends_with("3 checks: 1 failed, 1 warning\n"),
            "{table}"
        );
        assert!(table.contains("[dns 1.5ms, total 1.6ms]"));
        assert!(!table.contains('\x1b'));
        // Passing rows show no category; every row's target starts in one column.
        let rows: Vec<&str> = table
            .lines()
            .filter(|l| !l.contains("fix:"))
            .take(4)
            .collect();
        assert!(rows[1].starts_with("ok     "), "{table}");
        assert!(!rows[1].contains(" ok "), "{table}");
        let column = |row: &str, word: &str| row.find(word).unwrap();
        assert_eq!(
            column(rows[0], "TARGET"),
            column(rows[1], "GOPROXY"),
            "{table}"
        );
        assert_eq!(
            column(rows[0], "TARGET"),
            column(rows[2], "https://x"),
            "{table}"
        );
        assert_eq!(
            column(rows[2], "lookup x"),
            column(rows[3], "slow"),
            "{table}"
        );
        let fix = table.lines().find(|l| l.contains("fix: do this")).unwrap();
        assert_eq!(fix.find("fix:"), rows[2].find("lookup x"), "{table}");
        assert!(report.table(true).contains('\x1b'));
        let v: serde_json::Value = serde_json::from_str(&report.json()).unwrap();
        assert_eq!(v["checks"][1]["timings"]["dns_ms"], 1.5);
    }
}
