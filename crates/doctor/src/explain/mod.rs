//! `modgate explain`: the cause and the fix of go command errors.
//!
//! Reads go command output (stdin or a file), groups each error line with
//! its indented continuation lines (go nests `server response:` and git's
//! `fatal:` under the line that wraps them), classifies each failure by its
//! most specific cause, and prints cause and fix once per failure, with the
//! failure's own host and module in the fix.

mod rules;

use std::io::Read as _;
use std::path::Path;
use std::process::ExitCode;

use serde::Serialize;

use crate::config::ProxyList;
use crate::error::Error;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// The first line of the failure (the one naming the module, usually).
    pub line: String,
    pub category: &'static str,
    pub cause: String,
    /// What to run, with the host and module of this failure filled in.
    pub fix: String,
}

/// `modgate explain [FILE] [--json]`: reads `file` (stdin when `None` or
/// `-`) and prints each explanation. Fixes fit the go settings in force
/// (read as `doctor` reads them): public mirrors are suggested only where
/// GOPROXY already uses them.
pub fn run(file: Option<&Path>, json: bool) -> Result<ExitCode, Error> {
    let mut input = Vec::new();
    match file {
        Some(path) if path.as_os_str() != "-" => {
            input = std::fs::read(path).map_err(|source| Error::Read {
                path: path.to_owned(),
                source,
            })?;
        }
        _ => {
            std::io::stdin()
                .read_to_end(&mut input)
                .map_err(Error::ReadStdin)?;
        }
    }
    let text = String::from_utf8_lossy(&input);
    let env = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?
        .block_on(crate::goenv::load());
    let found = explain(&text, &ProxyList::parse(env.get("GOPROXY")));
    if json {
        // Serialising plain data to a string cannot fail.
        println!(
            "{}",
            serde_json::to_string_pretty(&found).unwrap_or_default()
        );
    } else if found.is_empty() {
        println!("no known go error found in the input");
    } else {
        let colour = crate::colour();
        let paint = |s: &str, code: &str| {
            if colour {
                format!("\x1b[{code}m{s}\x1b[0m")
            } else {
                s.to_owned()
            }
        };
        for e in &found {
            println!("{}", e.line.trim());
            println!("  {} {}: {}", paint("cause", "1;33"), e.category, e.cause);
            println!("  {}   {}\n", paint("fix", "1;36"), e.fix);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One explanation per failure in `text`, with the most specific cause of
/// any of its lines. A failure is a line, its indented continuation lines
/// (go nests `server response:` and git's `fatal:` under the line that
/// wraps them), and the lines after it that start no failure of their own
/// (go's `SECURITY ERROR` paragraph after a checksum mismatch).
pub fn explain(text: &str, goproxy: &ProxyList) -> Vec<Explanation> {
    let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
    let mut failures: Vec<Vec<&str>> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let continues = i > 0 && (is_continuation(line) || !starts_a_failure(line));
        match failures.last_mut() {
            Some(failure) if continues => failure.push(line),
            _ => failures.push(vec![line]),
        }
    }
    failures
        .iter()
        .filter_map(|failure| {
            // Everything from a `server response:` on is the proxy's own
            // failure, reported back to the go command.
            let mut remote = false;
            let rule = failure
                .iter()
                .filter_map(|l| {
                    remote |= l.contains("server response:");
                    rules::classify(l, remote)
                })
                .min_by_key(|(rank, _)| *rank)
                .map(|(_, rule)| rule)?;
            let whole = failure.join("\n");
            let facts = rules::Facts::find(&whole, goproxy);
            Some(Explanation {
                line: failure[0].to_owned(),
                category: rule.category,
                cause: facts.fill(rule.cause),
                fix: facts.fill(rule.fix),
            })
        })
        .collect()
}

/// A line that begins a failure of its own: go's and git's error lines, or
/// any line naming a module version. Other lines (prose, blank lines) belong
/// to the failure before them.
fn starts_a_failure(line: &str) -> bool {
    let l = line.trim_start().to_ascii_lowercase();
    [
        "go: ",
        "go get",
        "go mod",
        "go build",
        "verifying ",
        "fatal:",
        "error:",
        "warning:",
    ]
    .iter()
    .any(|p| l.starts_with(p))
        || rules::module_version(line).is_some()
}

/// go indents nested errors with a tab; a few tools use spaces.
fn is_continuation(line: &str) -> bool {
    line.starts_with('\t') || line.starts_with("  ")
}

#[cfg(test)]
mod tests;
