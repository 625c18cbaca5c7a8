//! The commit and build date `modgate --version`, the start-up line and
//! the `modgate_build_info` metric name: the checkout's, from git, or
//! "unknown" when built from a copy without history. The date is
//! SOURCE_DATE_EPOCH's when set (reproducible-builds.org), else the
//! commit's, never the clock's: the same source builds the same binary.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_owned())
}

fn main() {
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let date = std::env::var(modgate_env::SOURCE_DATE_EPOCH)
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .map(civil_date)
        .or_else(|| git(&["log", "-1", "--format=%cs"]))
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=MODGATE_COMMIT={commit}");
    println!("cargo:rustc-env=MODGATE_COMMIT_DATE={date}");
    // A new commit moves HEAD or the branch it names.
    if let Some(git_dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        for path in ["HEAD", "refs", "packed-refs"] {
            let path = std::path::Path::new(&git_dir).join(path);
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    println!("cargo:rerun-if-changed=build.rs");
}

/// `YYYY-MM-DD` (UTC) of a Unix time: Howard Hinnant's days-to-civil.
fn civil_date(secs: i64) -> String {
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}
