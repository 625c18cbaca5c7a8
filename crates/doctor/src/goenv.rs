//! The Go environment as the go command sees it: `go env -json` when a go
//! binary is on PATH, otherwise the process environment over the go env
//! file, over the go command's defaults.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::Error;

/// The go command's defaults (from `$GOROOT/go.env` in Go ≥ 1.21).
const DEFAULT_GOPROXY: &str = "https://proxy.golang.org,direct";
const DEFAULT_GOSUMDB: &str = "sum.golang.org";

/// `go env -json` may have to start a toolchain; do not let it hang the doctor.
const GO_ENV_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, Default)]
pub struct GoEnv {
    vars: BTreeMap<String, String>,
    /// Where the values came from, for the report.
    pub source: String,
    /// Why `go env -json` could not be used, when a go binary was found.
    pub go_error: Option<String>,
}

impl GoEnv {
    pub fn get(&self, key: &str) -> &str {
        self.vars.get(key).map_or("", String::as_str)
    }

    /// Builds an environment from explicit values (tests), with defaults.
    #[cfg(test)]
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        let mut vars = BTreeMap::new();
        for (k, v) in pairs {
            vars.insert((*k).to_owned(), (*v).to_owned());
        }
        let mut env = Self {
            vars,
            source: "test".to_owned(),
            go_error: None,
        };
        env.apply_defaults();
        env
    }

    fn apply_defaults(&mut self) {
        let mut default = |k: &str, v: String| {
            let slot = self.vars.entry(k.to_owned()).or_default();
            if slot.is_empty() {
                *slot = v;
            }
        };
        default("GOPROXY", DEFAULT_GOPROXY.to_owned());
        default("GOSUMDB", DEFAULT_GOSUMDB.to_owned());
        let private = self.get("GOPRIVATE").to_owned();
        let mut default = |k: &str| {
            let slot = self.vars.entry(k.to_owned()).or_default();
            if slot.is_empty() {
                slot.clone_from(&private);
            }
        };
        default("GONOPROXY");
        default("GONOSUMDB");
    }
}

/// Reads the environment the go command would use.
pub async fn load() -> GoEnv {
    let Some(go) = find_in_path("go") else {
        let mut env = from_process_and_file();
        env.source = format!("{}; no go binary on PATH", env.source);
        return env;
    };
    match go_env_json(&go).await {
        Ok(vars) => {
            let version = vars.get("GOVERSION").cloned().unwrap_or_default();
            let mut env = GoEnv {
                vars,
                source: format!("go env -json ({}, {version})", go.display()),
                go_error: None,
            };
            env.apply_defaults();
            env
        }
        Err(e) => {
            let mut env = from_process_and_file();
            env.go_error = Some(format!("{} env -json: {}", go.display(), e.detail()));
            env
        }
    }
}

async fn go_env_json(go: &Path) -> Result<BTreeMap<String, String>, Error> {
    let mut cmd = tokio::process::Command::new(go);
    // Outside any module, so that a go.mod asking for a newer Go does not
    // make the go command download a toolchain just to print its settings.
    cmd.args(["env", "-json"])
        .current_dir(std::env::temp_dir())
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let out = tokio::time::timeout(GO_ENV_TIMEOUT, cmd.output())
        .await
        .map_err(|_| Error::GoEnvTimeout(GO_ENV_TIMEOUT))?
        .map_err(Error::GoEnvStart)?;
    if !out.status.success() {
        return Err(Error::GoEnvFailed {
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    parse_go_env_json(&out.stdout)
}

/// `go env -json` prints one JSON object of strings.
pub fn parse_go_env_json(data: &[u8]) -> Result<BTreeMap<String, String>, Error> {
    serde_json::from_slice(data).map_err(Error::GoEnvOutput)
}

fn from_process_and_file() -> GoEnv {
    let file = env_file();
    let mut vars = match &file {
        Some(path) => std::fs::read_to_string(path)
            .map(|text| parse_env_file(&text))
            .unwrap_or_default(),
        None => BTreeMap::new(),
    };
    // As in the go command, a non-empty process variable beats the file.
    for key in modgate_env::GO_SETTINGS {
        if let Some(v) = std::env::var(key).ok().filter(|v| !v.is_empty()) {
            vars.insert((*key).to_owned(), v);
        }
    }
    let source = match &file {
        Some(path) => format!("process environment over {}", path.display()),
        None => "process environment, GOENV=off".to_owned(),
    };
    let mut env = GoEnv {
        vars,
        source,
        go_error: None,
    };
    env.apply_defaults();
    env
}

/// `$GOENV`, or `os.UserConfigDir()/go/env`; `None` when GOENV=off.
fn env_file() -> Option<PathBuf> {
    match std::env::var_os(modgate_env::GOENV) {
        Some(v) if v == "off" => None,
        Some(v) if !v.is_empty() => Some(PathBuf::from(v)),
        _ => dirs::config_dir().map(|d| d.join("go").join("env")),
    }
}

/// The go env file: `KEY=VALUE` lines, as written by `go env -w`.
pub fn parse_env_file(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

/// The first executable `name` in PATH, as a shell would find it.
pub fn find_in_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os(modgate_env::PATH)?;
    std::env::split_paths(&path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(name))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_env_file_like_go_env_w_writes_it() {
        let vars = parse_env_file(
            "GOPROXY=https://goproxy.cn,direct\n# comment\n\nGOPRIVATE=corp.example.com\nbroken\n",
        );
        assert_eq!(vars["GOPROXY"], "https://goproxy.cn,direct");
        assert_eq!(vars["GOPRIVATE"], "corp.example.com");
        assert_eq!(vars.len(), 2);
    }

    #[test]
    fn parses_go_env_json() {
        let vars =
            parse_go_env_json(br#"{"GOPROXY": "off", "GOSUMDB": "sum.golang.org"}"#).unwrap();
        assert_eq!(vars["GOPROXY"], "off");
        assert!(parse_go_env_json(b"go: unknown flag").is_err());
    }

    #[test]
    fn private_patterns_default_the_no_variables() {
        let env = GoEnv::from_pairs(&[("GOPRIVATE", "corp.example.com")]);
        assert_eq!(env.get("GONOPROXY"), "corp.example.com");
        assert_eq!(env.get("GONOSUMDB"), "corp.example.com");
        assert_eq!(env.get("GOPROXY"), DEFAULT_GOPROXY);
        assert_eq!(env.get("GOSUMDB"), DEFAULT_GOSUMDB);
    }
}
