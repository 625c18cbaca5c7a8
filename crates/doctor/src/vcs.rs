//! Private modules: can git reach each concrete GOPRIVATE/GONOPROXY path,
//! and are credentials available without a prompt (the go command runs git
//! with GIT_TERMINAL_PROMPT=0, so a prompt is a failure)?

use std::time::Duration;

use modgate_redact::redact_text;
use modgate_vcs::git::GitFailure;

use super::check::{Category, Check};
use super::goenv::{GoEnv, find_in_path};
use super::probe::show;

/// Code hosts whose repositories are `host/owner/repo`.
const THREE_ELEMENT_HOSTS: &[&str] = &["github.com", "gitlab.com", "bitbucket.org"];

/// The concrete (glob-free) private paths worth a `git ls-remote`.
pub fn private_repos(env: &GoEnv) -> Vec<String> {
    let mut repos: Vec<String> = Vec::new();
    for var in ["GOPRIVATE", "GONOPROXY"] {
        for pat in env
            .get(var)
            .split(',')
            .map(|p| p.trim().trim_end_matches('/'))
        {
            if pat.is_empty() || pat.contains(['*', '?', '[', '\\']) || pat.contains("://") {
                continue;
            }
            let host = pat.split('/').next().unwrap_or_default();
            if !host.contains('.') || pat == "none" {
                continue;
            }
            let repo = if THREE_ELEMENT_HOSTS.contains(&host) {
                pat.split('/').take(3).collect::<Vec<_>>().join("/")
            } else {
                pat.to_owned()
            };
            if !repos.contains(&repo) {
                repos.push(repo);
            }
        }
    }
    repos
}

pub async fn check_repo(repo: &str, timeout: Duration) -> Check {
    let target = format!("GOPRIVATE {repo}");
    let Some(git) = find_in_path("git") else {
        return Check::warn(
            target,
            Category::Config,
            "git is not on PATH: the go command needs it to fetch private modules",
            "sudo apt-get install git",
        );
    };
    let url = format!("https://{repo}");
    let mut cmd = tokio::process::Command::new(git);
    cmd.args(["ls-remote", "-q", &url, "HEAD"])
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GCM_INTERACTIVE", "never")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    // SSH (through an insteadOf rewrite) must not prompt either; as the go
    // command does, keep the user's own ssh when there is one.
    if std::env::var_os(modgate_env::GIT_SSH).is_none()
        && std::env::var_os(modgate_env::GIT_SSH_COMMAND).is_none()
    {
        cmd.env(modgate_env::GIT_SSH_COMMAND, "ssh -o BatchMode=yes");
    }
    let out = match tokio::time::timeout(timeout, cmd.output()).await {
        Err(_) => {
            return Check::fail(
                target,
                Category::ConnectTimeout,
                format!("git ls-remote {url}: no answer within {}", show(timeout)),
                format!("check that {} is reachable from here (VPN?)", host(repo)),
            );
        }
        Ok(Err(e)) => {
            return Check::warn(
                target,
                Category::Config,
                format!("cannot run git: {e}"),
                "sudo apt-get install git",
            );
        }
        Ok(Ok(out)) => out,
    };
    if out.status.success() {
        return Check::ok(
            target,
            format!("git ls-remote {url}: reachable, credentials available without a prompt"),
        );
    }
    // git may echo URLs with credentials in its errors.
    let stderr = redact_text(&String::from_utf8_lossy(&out.stderr));
    let (category, fix) = classify_git_error(&stderr, repo);
    let detail = format!(
        "git ls-remote {url}: {}",
        stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect::<Vec<_>>()
            .join(" / ")
    );
    match category {
        // Reached, but the pattern names a host or group, not a repository.
        Category::Ok => Check::warn(target, Category::Config, detail, fix),
        c => Check::fail(target, c, detail, fix),
    }
}

fn host(repo: &str) -> &str {
    repo.split('/').next().unwrap_or(repo)
}

/// git's messages, by layer (the classifier direct mode uses too), with
/// the fix for each. `Category::Ok` means "reachable, not a repo".
pub fn classify_git_error(stderr: &str, repo: &str) -> (Category, String) {
    let host = host(repo);
    let auth_fix = || {
        format!(
            "git config --global url.\"git@{host}:\".insteadOf https://{host}/  (use SSH keys), or \
             keep a token where git finds it without writing it in plain text: git config \
             --global credential.helper cache (or the OS keychain: libsecret, osxkeychain, \
             manager), or ~/.netrc with chmod 600 ~/.netrc"
        )
    };
    match GitFailure::classify(stderr) {
        GitFailure::Unresolved => (
            Category::Dns,
            format!("getent hosts {host}  # check the name, VPN or /etc/hosts"),
        ),
        GitFailure::ConnectionRefused => (
            Category::ConnectRefused,
            format!("check that {host} serves git over HTTPS on port 443"),
        ),
        GitFailure::TimedOut => (
            Category::ConnectTimeout,
            format!("check that {host} is reachable from here (VPN?)"),
        ),
        GitFailure::Certificate => (
            Category::TlsCertificate,
            format!(
                "sudo cp ca.crt /usr/local/share/ca-certificates/{host}.crt && sudo update-ca-certificates"
            ),
        ),
        GitFailure::NotFound => (
            Category::Ok,
            format!(
                "list module paths, not only hosts, to have them checked: go env -w GOPRIVATE={repo}/yourmodule"
            ),
        ),
        // Credentials are what most often stand between git and a private host.
        GitFailure::AuthRequired
        | GitFailure::ProtocolNotAllowed
        | GitFailure::Corrupt
        | GitFailure::Other => (Category::VcsAuth, auth_fix()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_concrete_private_paths() {
        let env = GoEnv::from_pairs(&[
            (
                "GOPRIVATE",
                "*.corp.example.com,github.com/acme/secret/sub,git.corp.example.com/",
            ),
            ("GONOPROXY", "git.corp.example.com,localonly"),
        ]);
        assert_eq!(
            private_repos(&env),
            ["github.com/acme/secret", "git.corp.example.com"]
        );
    }

    #[test]
    fn classifies_git_errors() {
        let prompt =
            "fatal: could not read Username for 'https://github.com': terminal prompts disabled";
        let (c, fix) = classify_git_error(prompt, "github.com/acme/secret");
        assert_eq!(c, Category::VcsAuth);
        assert!(fix.contains("url.\"git@github.com:\".insteadOf https://github.com/"));
        let dns = "fatal: unable to access 'https://x.invalid/': Could not resolve host: x.invalid";
        assert_eq!(classify_git_error(dns, "x.invalid").0, Category::Dns);
        let tls = "fatal: unable to access 'https://h/': SSL certificate problem: self-signed certificate";
        assert_eq!(classify_git_error(tls, "h").0, Category::TlsCertificate);
        assert_eq!(
            classify_git_error("remote: Repository not found.", "h/x").0,
            Category::Ok
        );
    }
}
