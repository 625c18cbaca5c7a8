//! `modgate config check`: the configuration `serve` would run with, read
//! by the same resolve path (file, environment, flags), plus the auth file
//! and policies it names; errors name the file's line, success prints every
//! setting with where it came from, credentials redacted.

use std::path::Path;

use clap::ArgMatches;
use clap::parser::ValueSource;
use modgate_proxy::policy::PolicyError;
use modgate_proxy::settings::SettingsError;
use toml::de::{DeTable, DeValue};

use crate::config::{ConfigError, ServeConfig, line_of};
use modgate_cli::ServeArgs;

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// A setting the file gave, at its line (the cause says what is wrong).
    #[error("{}:{line}", path.display())]
    AtLine {
        path: std::path::PathBuf,
        line: usize,
        #[source]
        source: ConfigError,
    },
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Auth(#[from] modgate_auth::Error),
}

/// Checks `args` (with the `matches` clap parsed them from, which say
/// whether each came from a flag or the environment) and prints the
/// effective settings.
pub fn run(args: ServeArgs, matches: &ArgMatches) -> Result<(), CheckError> {
    let file_text = match &args.config {
        Some(path) => Some(fs_err::read_to_string(path).map_err(ConfigError::Read)?),
        None => None,
    };
    let config = match ServeConfig::resolve(args.config.as_deref(), args.settings) {
        Ok(config) => config,
        Err(e) => {
            return Err(at_line(
                e,
                args.config.as_deref(),
                file_text.as_deref(),
                matches,
            ));
        }
    };
    if let Some(path) = &config.auth_file {
        modgate_auth::AuthConfig::load(path)?;
    }
    if let Some(path) = &args.config {
        println!("# {}: ok", path.display());
    }
    if let Some(path) = &config.auth_file {
        println!("# auth file {}: ok", path.display());
    }
    println!("# every setting: value  (where it came from)");
    for (id, value, source) in effective(file_text.as_deref(), matches) {
        println!("{id} = {value}  ({source})");
    }
    let file = file_text
        .as_deref()
        .and_then(|text| DeTable::parse(text).ok());
    let rules = file
        .as_ref()
        .and_then(|t| file_key(t.get_ref(), "policy"))
        .map_or(0, |(_, v)| match v.get_ref() {
            DeValue::Array(tables) => tables.len(),
            _ => 0,
        });
    println!("# [[policy]] tables: {rules}, checked");
    Ok(())
}

/// Every setting `serve` runs with, from a flag, the environment, the
/// config file (`file_text`) or its default: its name, its value with
/// credentials redacted, and where it came from. `config check` prints
/// them; the console shows them.
pub fn effective(file_text: Option<&str>, matches: &ArgMatches) -> Vec<(String, String, String)> {
    let file = file_text.and_then(|text| DeTable::parse(text).ok());
    settings_args()
        .into_iter()
        .map(|arg| {
            let id = arg.get_id().as_str();
            let (value, source) = match matches.value_source(id) {
                Some(ValueSource::CommandLine) => (raw(matches, id), "flag".to_owned()),
                Some(ValueSource::EnvVariable) => (
                    raw(matches, id),
                    arg.get_env()
                        .map_or("env".to_owned(), |e| e.to_string_lossy().into_owned()),
                ),
                _ => match file.as_ref().and_then(|t| file_key(t.get_ref(), id)) {
                    Some((_, value)) => (
                        match value.get_ref() {
                            DeValue::String(s) => s.to_string(),
                            _ => file_text.map_or(String::new(), |t| t[value.span()].to_owned()),
                        },
                        "file".to_owned(),
                    ),
                    None => (default_of(&arg), "default".to_owned()),
                },
            };
            (id.to_owned(), modgate_redact::redact_text(&value), source)
        })
        .collect()
}

/// The `[default: …]` a setting's help names, or `none`.
fn default_of(arg: &clap::Arg) -> String {
    let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
    help.split_once("[default: ")
        .and_then(|(_, rest)| rest.split_once(']'))
        .map_or("none".to_owned(), |(d, _)| d.to_owned())
}

/// A flag's or variable's text as given, list items joined by commas.
fn raw(matches: &ArgMatches, id: &str) -> String {
    matches
        .get_raw(id)
        .map(|values| {
            values
                .map(|v| v.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

/// `serve`'s settings as clap declares them, but `--config` itself.
fn settings_args() -> Vec<clap::Arg> {
    use clap::Args as _;
    modgate_cli::Settings::augment_args(clap::Command::new("check"))
        .get_arguments()
        .filter(|a| a.get_long().is_some())
        .cloned()
        .collect()
}

/// The file's key for setting `id`, written with `_` or `-`.
fn file_key<'t, 'i>(
    table: &'t DeTable<'i>,
    id: &str,
) -> Option<(
    &'t toml::Spanned<toml::de::DeString<'i>>,
    &'t toml::Spanned<DeValue<'i>>,
)> {
    table
        .iter()
        .find(|(key, _)| key.get_ref().replace('-', "_") == id)
}

/// `e` at the file's line of the setting it is about, when the file gave
/// that setting (a flag's or variable's own value has no line).
fn at_line(
    e: ConfigError,
    path: Option<&Path>,
    text: Option<&str>,
    matches: &ArgMatches,
) -> CheckError {
    let (Some(path), Some(text)) = (path, text) else {
        return e.into();
    };
    let Ok(table) = DeTable::parse(text) else {
        return e.into();
    };
    let table = table.get_ref();
    let span = match &e {
        ConfigError::Server(SettingsError::Policy(
            PolicyError::Deny { rule: text, .. } | PolicyError::Waive { module: text, .. },
        )) => file_key(table, "policy").and_then(|(_, v)| string_in(v, text)),
        _ => setting_named(&e.to_string())
            .filter(|id| {
                !matches!(
                    matches.value_source(id),
                    Some(ValueSource::CommandLine | ValueSource::EnvVariable)
                )
            })
            .and_then(|id| file_key(table, &id))
            .map(|(key, _)| key.span()),
    };
    match span {
        Some(span) => CheckError::AtLine {
            path: path.to_owned(),
            line: line_of(text, span.start),
            source: e,
        },
        None => e.into(),
    }
}

/// The setting an error starts with, `--connect-timeout …` or
/// `[[policy]] …`, as its file key.
fn setting_named(message: &str) -> Option<String> {
    let name = message.strip_prefix("--")?;
    let end = name
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .unwrap_or(name.len());
    Some(name[..end].replace('-', "_"))
}

/// The span of the first string equal to `want` anywhere in `value`.
fn string_in(value: &toml::Spanned<DeValue<'_>>, want: &str) -> Option<std::ops::Range<usize>> {
    match value.get_ref() {
        DeValue::String(s) if s.as_ref() == want => Some(value.span()),
        DeValue::Array(items) => items.iter().find_map(|v| string_in(v, want)),
        DeValue::Table(table) => table.values().find_map(|v| string_in(v, want)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_their_setting() {
        assert_eq!(
            setting_named("--connect-timeout must be more than 0").as_deref(),
            Some("connect_timeout")
        );
        assert_eq!(
            setting_named("--dl-upstream ftp://x: an http(s) URL or off").as_deref(),
            Some("dl_upstream")
        );
        assert_eq!(setting_named("[[policy]] deny \"x\": …"), None);
    }
}
