//! `modgate explain`: the cause and the fix of go command errors.
//!
//! Reads go command output (stdin or a file), groups each error line with
//! its indented continuation lines (go nests `server response:` and git's
//! `fatal:` under the line that wraps them), classifies the group by its
//! most specific cause, and prints cause and fix for every recognised line.

mod rules;

use std::io::Read as _;
use std::path::Path;
use std::process::ExitCode;

use serde::Serialize;

use crate::error::Error;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    pub line: String,
    pub category: &'static str,
    pub cause: &'static str,
    pub fix: &'static str,
}

/// `modgate explain [FILE] [--json]`: reads `file` (stdin when `None` or
/// `-`) and prints each explanation.
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
    let found = explain(&text);
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

/// Every recognised line of `text`, each with the most specific cause of
/// the group (a line and its indented continuation lines) it belongs to.
pub fn explain(text: &str) -> Vec<Explanation> {
    let mut out = Vec::new();
    let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
    let mut start = 0;
    while start < lines.len() {
        let mut end = start + 1;
        while end < lines.len() && is_continuation(lines[end]) {
            end += 1;
        }
        let group = &lines[start..end];
        // Everything from a `server response:` on is the proxy's own
        // failure, reported back to the go command.
        let mut remote = false;
        let matched: Vec<(usize, Option<(usize, &rules::Rule)>)> = group
            .iter()
            .enumerate()
            .map(|(i, l)| {
                remote |= l.contains("server response:");
                (i, rules::classify(l, remote))
            })
            .collect();
        let best = matched
            .iter()
            .filter_map(|(_, m)| *m)
            .min_by_key(|(rank, _)| *rank)
            .map(|(_, rule)| rule);
        if let Some(rule) = best {
            for (i, m) in &matched {
                if m.is_some() {
                    out.push(Explanation {
                        line: group[*i].to_owned(),
                        category: rule.category,
                        cause: rule.cause,
                        fix: rule.fix,
                    });
                }
            }
        }
        start = end;
    }
    out
}

/// go indents nested errors with a tab; a few tools use spaces.
fn is_continuation(line: &str) -> bool {
    line.starts_with('\t') || line.starts_with("  ")
}

#[cfg(test)]
mod tests;
