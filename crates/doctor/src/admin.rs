//! `modgate admin`: the operator's actions on a running modgate
//! (`POST <server>/admin/api/<action>`), with the credentials `publish`
//! uses: a bearer token, else the URL's, else GOAUTH's methods.

use std::time::Duration;

use modgate_net::credentials;
use modgate_net::goauth::{self, GoAuth};
use serde_json::{Value, json};

use crate::Error;

/// One admin action.
#[derive(Debug, Clone)]
pub enum Action {
    /// Set `module@version` aside, to be fetched again.
    Quarantine { module: String, version: String },
    /// Delete `module@version`'s files.
    Remove { module: String, version: String },
    /// Forget `module`'s list and @latest.
    Refresh { module: String },
    /// Fetch every version a go.sum (its text) names.
    Prefetch { gosum: String },
}

impl Action {
    fn name(&self) -> &'static str {
        match self {
            Action::Quarantine { .. } => "quarantine",
            Action::Remove { .. } => "remove",
            Action::Refresh { .. } => "refresh",
            Action::Prefetch { .. } => "prefetch",
        }
    }

    fn body(&self) -> Value {
        match self {
            Action::Quarantine { module, version } | Action::Remove { module, version } => {
                json!({ "module": module, "version": version })
            }
            Action::Refresh { module } => json!({ "module": module }),
            Action::Prefetch { gosum } => json!({ "gosum": gosum }),
        }
    }
}

/// `module@version` as the command line names it: the module, and the
/// version if there is one.
pub fn split_target(target: &str) -> (String, Option<String>) {
    match target.rsplit_once('@') {
        Some((module, version)) => (module.to_owned(), Some(version.to_owned())),
        None => (target.to_owned(), None),
    }
}

/// The go.sum at `path`, or stdin's for `-`.
pub fn read_gosum(path: &std::path::Path) -> Result<String, Error> {
    if path == std::path::Path::new("-") {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .map_err(Error::ReadStdin)?;
        return Ok(text);
    }
    std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })
}

/// What the server did, in lines, and whether all of it succeeded (a
/// prefetch may fail for some versions).
#[derive(Debug)]
pub struct Done {
    pub text: String,
    pub all_ok: bool,
}

/// Sends `action` to the modgate at `proxy` (`user:token@` allowed).
pub fn run(proxy: &str, token: Option<&str>, action: &Action) -> Result<Done, Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    let answer = runtime.block_on(send(proxy, token, action))?;
    Ok(words(action, &answer))
}

async fn send(proxy: &str, token: Option<&str>, action: &Action) -> Result<Value, Error> {
    let (base, userinfo) = credentials::split_userinfo(proxy.trim_end_matches('/'));
    let url = format!("{base}/admin/api/{}", action.name());
    // A prefetch answers once every version is fetched.
    let wait = match action {
        Action::Prefetch { .. } => Duration::from_secs(3600),
        _ => Duration::from_secs(300),
    };
    let client = modgate_net::client(Duration::from_secs(30), wait)
        .map_err(|e| Error::Admin(modgate_net::describe(e)))?;
    let body = action.body().to_string();
    let auth = GoAuth::from_env()?;
    let post = |headers| {
        let request = client
            .post(&url)
            .header("content-type", "application/json")
            .header("x-modgate-admin", "1")
            .body(body.clone());
        let request = match (token, &userinfo) {
            (Some(token), _) => request.bearer_auth(token),
            (None, Some(c)) => request.basic_auth(&c.login, Some(&c.password)),
            (None, None) => goauth::with_headers(request, headers),
        };
        async {
            request.send().await.map_err(|e| {
                Error::Admin(format!(
                    "{}: {}",
                    modgate_redact::redact_url(&url),
                    modgate_net::describe(e)
                ))
            })
        }
    };
    let mut resp = post(auth.headers(&url)).await?;
    let by_goauth = token.is_none() && userinfo.is_none();
    // As go: the GOAUTH methods run again for the URL that refused, once.
    if by_goauth
        && resp.status() == reqwest::StatusCode::UNAUTHORIZED
        && let Some(headers) =
            auth.after_unauthorized(&url, &format!("{:?} {}\n\n", resp.version(), resp.status()))
    {
        resp = post(headers).await?;
    }
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    let answer: Option<Value> = serde_json::from_str(&text).ok();
    if status.is_success()
        && let Some(answer) = answer
    {
        return Ok(answer);
    }
    // The server's reason, else the first line of whatever answered.
    let reason = answer
        .as_ref()
        .and_then(|a| a["error"].as_str())
        .unwrap_or_else(|| text.lines().next().unwrap_or("").trim())
        .to_owned();
    let reason = modgate_redact::redact_text(&reason);
    let hint = if status == reqwest::StatusCode::UNAUTHORIZED && by_goauth {
        auth.unauthorized_hint()
    } else {
        String::new()
    };
    Err(Error::Admin(format!("{status}: {reason}{hint}")))
}

/// The answer in lines.
fn words(action: &Action, answer: &Value) -> Done {
    let files = answer["files"].as_u64().unwrap_or(0);
    let text = match action {
        Action::Quarantine { module, version } => {
            format!("{module}@{version}: {files} files set aside (storage's .quarantine/)")
        }
        Action::Remove { module, version } => format!("{module}@{version}: {files} files removed"),
        Action::Refresh { module } => {
            format!("{module}: list and @latest forgotten; the next request asks the upstreams")
        }
        Action::Prefetch { .. } => return prefetched(answer),
    };
    Done { text, all_ok: true }
}

fn prefetched(answer: &Value) -> Done {
    use std::fmt::Write as _;
    let mut text = String::new();
    let mut all_ok = true;
    for v in answer["versions"].as_array().into_iter().flatten() {
        let outcome = v["outcome"].as_str().unwrap_or("failed");
        let ok = matches!(outcome, "fetched" | "cached");
        all_ok &= ok;
        let _ = write!(
            text,
            "{:<9}{}@{}",
            if ok {
                outcome.to_owned()
            } else {
                outcome.to_uppercase()
            },
            v["module"].as_str().unwrap_or_default(),
            v["version"].as_str().unwrap_or_default()
        );
        if let Some(message) = v["message"].as_str() {
            let _ = write!(text, ": {message}");
        }
        text.push('\n');
    }
    let count = |what: &str| answer[what].as_u64().unwrap_or(0);
    let _ = write!(
        text,
        "{} fetched, {} cached, {} failed, {} with other hashes than the go.sum's",
        count("fetched"),
        count("cached"),
        count("failed"),
        count("mismatch")
    );
    Done { text, all_ok }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_split_at_the_last_at() {
        assert_eq!(
            split_target("example.com/lib@v1.0.0"),
            ("example.com/lib".to_owned(), Some("v1.0.0".to_owned()))
        );
        assert_eq!(
            split_target("example.com/lib"),
            ("example.com/lib".to_owned(), None)
        );
    }

    #[test]
    fn a_prefetch_with_a_failure_is_not_all_ok() {
        let answer = json!({
            "fetched": 1, "cached": 0, "failed": 1, "mismatch": 0,
            "versions": [
                {"module": "a.example/x", "version": "v1.0.0", "outcome": "fetched"},
                {"module": "b.example/y", "version": "v1.0.0", "outcome": "failed",
                 "status": 403, "message": "alice may not read b.example/y"},
            ],
        });
        let done = prefetched(&answer);
        assert!(!done.all_ok);
        assert!(
            done.text.contains("fetched  a.example/x@v1.0.0\n"),
            "{}",
            done.text
        );
        assert!(
            done.text
                .contains("FAILED   b.example/y@v1.0.0: alice may not read b.example/y"),
            "{}",
            done.text
        );
        assert!(prefetched(&json!({"versions": [{"outcome": "cached"}]})).all_ok);
    }
}
