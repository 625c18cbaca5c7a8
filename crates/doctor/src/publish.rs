//! `modgate publish`: a private module version from a directory, without
//! git. The zip is built here with the module zip rules (as `go mod
//! download` would unpack it), checked, and uploaded with
//! `PUT <server>/<module>/@v/<version>.zip`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use modgate_module::{escape, modfile};
use modgate_net::credentials;
use modgate_net::goauth::{self, GoAuth};

use crate::Error;

/// What `modgate publish` does.
#[derive(Debug, Clone)]
pub struct PublishOptions {
    pub dir: PathBuf,
    pub module: String,
    pub version: String,
    /// The modgate server, e.g. `https://goproxy.corp.example`; may carry
    /// `user:token@`.
    pub to: String,
    /// A bearer token (`MODGATE_TOKEN`); else the URL's userinfo, else netrc.
    pub token: Option<String>,
}

/// Builds, checks and uploads the zip; returns the server's answer line.
pub fn run(opts: &PublishOptions) -> Result<String, Error> {
    let staged = build_zip(&opts.dir, &opts.module, &opts.version)?;
    let h1 = modgate_zip::check_zip(staged.path(), &opts.module, &opts.version)
        .map_err(|e| Error::PublishZip(modgate_redact::Chain(&e).to_string()))?
        .h1;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    let answer = runtime.block_on(upload(opts, staged.path()))?;
    Ok(format!("{} ({h1})", answer.trim_end()))
}

fn build_zip(dir: &Path, module: &str, version: &str) -> Result<tempfile::NamedTempFile, Error> {
    let go_mod = dir.join("go.mod");
    let data = fs_err::read(&go_mod).map_err(|e| {
        Error::PublishZip(format!(
            "{}: {e} (a published module needs its go.mod)",
            go_mod.display()
        ))
    })?;
    match modfile::module_path(&data) {
        Some(declared) if declared == module => {}
        Some(declared) => {
            return Err(Error::PublishZip(format!(
                "{} declares module {declared}, not {module}",
                go_mod.display()
            )));
        }
        None => {
            return Err(Error::PublishZip(format!(
                "{} has no module directive",
                go_mod.display()
            )));
        }
    }
    let staged = tempfile::NamedTempFile::new()
        .map_err(|e| Error::PublishZip(format!("staging the zip: {e}")))?;
    modgate_zip::create_zip_from_dir(staged.as_file(), dir, module, version)
        .map_err(|e| Error::PublishZip(modgate_redact::Chain(&e).to_string()))?;
    Ok(staged)
}

async fn upload(opts: &PublishOptions, zip: &Path) -> Result<String, Error> {
    let module = escape::escape_path(&opts.module).map_err(|e| Error::Module {
        module: opts.module.clone(),
        source: e,
    })?;
    let version = escape::escape_version(&opts.version).map_err(|e| Error::Module {
        module: opts.module.clone(),
        source: e,
    })?;
    let (base, userinfo) = credentials::split_userinfo(opts.to.trim_end_matches('/'));
    let url = format!("{base}/{module}/@v/{version}.zip");
    let client = modgate_net::client(Duration::from_secs(30), Duration::from_secs(300))
        .map_err(|e| Error::Publish(modgate_net::describe(e)))?;
    let auth = GoAuth::from_env()?;
    let put = |headers| async {
        let file = tokio::fs::File::open(zip)
            .await
            .map_err(|e| Error::PublishZip(format!("reading the staged zip: {e}")))?;
        let request = client
            .put(&url)
            .header("content-type", "application/zip")
            .body(reqwest::Body::from(file));
        let request = match (&opts.token, &userinfo) {
            (Some(token), _) => request.bearer_auth(token),
            (None, Some(c)) => request.basic_auth(&c.login, Some(&c.password)),
            (None, None) => goauth::with_headers(request, headers),
        };
        request.send().await.map_err(|e| {
            Error::Publish(format!(
                "{}: {}",
                modgate_redact::redact_url(&url),
                modgate_net::describe(e)
            ))
        })
    };
    let mut resp = put(auth.headers(&url)).await?;
    let by_goauth = opts.token.is_none() && userinfo.is_none();
    // As go: the GOAUTH methods run again for the URL that refused, once.
    if by_goauth
        && resp.status() == reqwest::StatusCode::UNAUTHORIZED
        && let Some(headers) =
            auth.after_unauthorized(&url, &format!("{:?} {}\n\n", resp.version(), resp.status()))
    {
        resp = put(headers).await?;
    }
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    let line = modgate_redact::redact_text(body.lines().next().unwrap_or("").trim());
    if status.is_success() {
        Ok(line)
    } else if status == reqwest::StatusCode::UNAUTHORIZED && by_goauth {
        Err(Error::Publish(format!(
            "{status}: {line}{}",
            auth.unauthorized_hint()
        )))
    } else {
        Err(Error::Publish(format!("{status}: {line}")))
    }
}
