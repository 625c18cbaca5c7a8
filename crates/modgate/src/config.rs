//! Resolved configuration: flag > environment > file > default.

use std::path::{Path, PathBuf};

use modgate_cli::{LogFormat, Settings};
use modgate_env::value::Dur;
use modgate_net::tls::CertFiles;
use modgate_proxy::settings::{self as server, ServerSettings};
use modgate_proxy::upstream::UpstreamSpec;
use modgate_store::settings::{Storage, StoreSettings};
use modgate_sumdb::SumdbSpec;
use modgate_vcs::DirectSettings;

const DEFAULT_LISTEN: &str = "127.0.0.1:3000";
pub const DEFAULT_UPSTREAM: &str = "https://proxy.golang.org,direct";
pub const DEFAULT_SUMDB: &str = "sum.golang.org";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Read(#[from] std::io::Error),
    /// The file's line of the offending key or value: what an editor jumps to.
    #[error("{}:{line}: {message}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("invalid upstream list")]
    Upstream(#[source] modgate_module::Error),
    #[error("invalid sumdb")]
    Sumdb(#[source] modgate_sumdb::Error),
    #[error(transparent)]
    Storage(#[from] modgate_store::settings::SettingsError),
    #[error(transparent)]
    Server(#[from] server::SettingsError),
    #[error(transparent)]
    Direct(#[from] modgate_vcs::settings::SettingsError),
    #[error(transparent)]
    Tls(#[from] modgate_net::tls::Unpaired),
}

/// The settings in the `--config` file at `path`.
fn load(path: &Path) -> Result<Settings, ConfigError> {
    let text = fs_err::read_to_string(path)?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.to_owned(),
        line: e.span().map_or(1, |span| line_of(&text, span.start)),
        message: e.message().trim_end().to_owned(),
    })
}

/// The 1-based line of byte `offset` in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: String,
    pub store: StoreSettings,
    pub upstream: UpstreamSpec,
    pub sumdb: SumdbSpec,
    pub log_format: LogFormat,
    pub server: ServerSettings,
    pub access_log: bool,
    pub direct: DirectSettings,
    /// `--private`: GOPRIVATE-style patterns of modules built from git only.
    pub private: String,
    pub private_sumdb_key: Option<PathBuf>,
    /// `--tls-cert` and `--tls-key`: serve HTTPS.
    pub tls: Option<CertFiles>,
    pub auth_file: Option<PathBuf>,
    pub audit_log: Option<PathBuf>,
}

impl ServeConfig {
    /// clap has already applied flag > environment; the file and defaults fill the rest.
    pub fn resolve(file: Option<&Path>, settings: Settings) -> Result<Self, ConfigError> {
        let file = match file {
            Some(path) => load(path)?,
            None => Settings::default(),
        };
        let s = settings.over(file);
        let dur = |d: Option<Dur>| d.map(|d| d.0);
        let store = StoreSettings::resolve(
            s.storage,
            s.storage_mode,
            s.cache_dir,
            s.cache_max_size.map(|m| m.0),
            s.memory_cache.map(|s| s.0),
        )?;
        // git mirrors are local whatever holds the artifacts.
        let vcs_dir = match &store.storage {
            Storage::Disk(dir) => dir.join(".vcs"),
            Storage::S3(_) => dirs::data_dir()
                .map(|d| d.join("modgate").join("vcs"))
                .ok_or(modgate_store::settings::SettingsError::NoStorage)?,
        };
        let direct = DirectSettings::resolve(
            modgate_vcs::settings::Given {
                vcs_dir: s.vcs_dir,
                insecure: s.insecure,
                repo_map: s.repo_map,
                git_timeout: dur(s.git_timeout),
                max_git: s.max_git_processes,
                refs_ttl: dur(s.list_ttl),
                vcs_max_size: s.vcs_max_size.map(|s| s.0),
                private: s.private.clone(),
                allow_network: s.allow_network,
                go_get: s.go_get,
                govcs: s.govcs,
            },
            vcs_dir,
        )?;
        let tls = CertFiles::pair(s.tls_cert, s.tls_key)?;
        let server = ServerSettings::resolve(
            server::Given {
                connect_timeout: dur(s.connect_timeout),
                header_timeout: dur(s.header_timeout),
                idle_timeout: dur(s.idle_timeout),
                retries: s.retries,
                breaker_threshold: s.breaker_threshold,
                breaker_cooldown: dur(s.breaker_cooldown),
                max_upstream_fetches: s.max_upstream_fetches,
                hedge_delay: s.hedge_delay.map(|h| h.0),
                negative_ttl: dur(s.negative_ttl),
                list_ttl: dur(s.list_ttl),
                max_connections: s.max_connections,
                max_connections_per_client: s.max_connections_per_client,
                request_header_timeout: dur(s.request_header_timeout),
                shutdown_timeout: dur(s.shutdown_timeout),
                dl_upstream: s.dl_upstream,
                vulndb: s.vulndb,
                vulndb_refresh: dur(s.vulndb_refresh),
                policy: s.policy,
            },
            crate::release_memory,
        )?;
        Ok(Self {
            listen: s.listen.unwrap_or_else(|| DEFAULT_LISTEN.to_owned()),
            store,
            server,
            tls,
            direct,
            private: s.private.unwrap_or_default(),
            private_sumdb_key: s.private_sumdb_key,
            auth_file: s.auth_file,
            audit_log: s.audit_log,
            upstream: s
                .upstream
                .as_deref()
                .unwrap_or(DEFAULT_UPSTREAM)
                .parse()
                .map_err(ConfigError::Upstream)?,
            sumdb: s
                .sumdb
                .as_deref()
                .unwrap_or(DEFAULT_SUMDB)
                .parse()
                .map_err(ConfigError::Sumdb)?,
            log_format: s.log_format.unwrap_or_default(),
            access_log: s.access_log.unwrap_or(false),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use modgate_env::value::Size;

    use super::*;

    /// What `modgate serve` hands over: the `--config` file and the flags.
    #[derive(Default)]
    struct ServeArgs {
        config: Option<PathBuf>,
        settings: Settings,
    }

    fn resolve(args: ServeArgs) -> Result<ServeConfig, ConfigError> {
        ServeConfig::resolve(args.config.as_deref(), args.settings)
    }

    /// Each crate refuses its zeros by the setting's name (all of them:
    /// crates/proxy/tests/settings.rs); the flags reach them.
    #[test]
    fn zero_timeouts_intervals_and_counts_are_refused_by_name() {
        let zero = Some(Dur(Duration::ZERO));
        let cases: Vec<(&str, Settings)> = vec![
            (
                "connect-timeout",
                Settings {
                    connect_timeout: zero,
                    ..Default::default()
                },
            ),
            (
                "git-timeout",
                Settings {
                    git_timeout: zero,
                    ..Default::default()
                },
            ),
            (
                "max-git-processes",
                Settings {
                    max_git_processes: Some(0),
                    ..Default::default()
                },
            ),
            (
                "cache-max-size",
                Settings {
                    cache_dir: Some("/tmp/tier".into()),
                    cache_max_size: Some(Size(0)),
                    ..Default::default()
                },
            ),
            (
                "hedge-delay",
                Settings {
                    hedge_delay: Some("0s".parse().unwrap()),
                    ..Default::default()
                },
            ),
        ];
        for (name, mut settings) in cases {
            settings.storage = Some("/tmp/store".into());
            let e = resolve(ServeArgs {
                config: None,
                settings,
            })
            .unwrap_err()
            .to_string();
            assert!(e.starts_with(&format!("--{name} ")), "{name}: {e}");
        }
        // Off stays off, and 0 of what means "none" stays allowed.
        let fine = Settings {
            storage: Some("/tmp/store".into()),
            hedge_delay: Some("off".parse().unwrap()),
            memory_cache: Some(Size(0)),
            retries: Some(0),
            negative_ttl: zero,
            vcs_max_size: Some(Size(0)),
            ..Default::default()
        };
        resolve(ServeArgs {
            config: None,
            settings: fine,
        })
        .unwrap();
    }

    #[test]
    fn flag_beats_file_beats_default() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("modgate.toml");
        fs_err::write(
            &path,
            "listen = '127.0.0.1:9999'\nupstream = 'off'\nlog-format = 'json'\nsumdb = 'off'\n\
             header_timeout = '2s'\nidle-timeout = '7s'\nnegative_ttl = '500ms'\n",
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(path),
            settings: Settings {
                upstream: Some("file:///tmp/mirror".into()),
                storage: Some("/tmp/store".into()),
                header_timeout: Some(Dur(Duration::from_secs(3))),
                ..Default::default()
            },
        };
        let config = resolve(args).unwrap();
        assert_eq!(config.listen, "127.0.0.1:9999");
        assert_eq!(config.upstream.to_string(), "file:///tmp/mirror");
        assert_eq!(config.log_format, LogFormat::Json);
        assert!(config.sumdb.is_off());
        assert_eq!(
            config.store.memory_cache_bytes,
            modgate_store::settings::DEFAULT_MEMORY_CACHE
        );
        assert_eq!(config.server.policy.header_timeout, Duration::from_secs(3));
        assert_eq!(config.server.policy.idle_timeout, Duration::from_secs(7));
        assert_eq!(config.server.policy.connect_timeout, Duration::from_secs(5));
        assert_eq!(config.server.cache.negative_ttl, Duration::from_millis(500));
    }

    #[test]
    fn a_bare_word_upstream_is_refused_as_go_refuses_it() {
        let args = ServeArgs {
            settings: Settings {
                upstream: Some("corp-proxy".into()),
                storage: Some("/tmp/store".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let err = anyhow::Error::from(resolve(args).unwrap_err());
        assert_eq!(
            format!("{err:#}"),
            "invalid upstream list: invalid proxy URL missing scheme: corp-proxy"
        );
    }

    #[test]
    fn unknown_file_key_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("modgate.toml");
        fs_err::write(&path, "upstreams = 'off'\n").unwrap();
        let args = ServeArgs {
            config: Some(path.clone()),
            ..Default::default()
        };
        let err = format!("{:#}", anyhow::Error::from(resolve(args).unwrap_err()));
        assert!(err.contains("modgate.toml"), "{err}");
        assert!(err.contains("upstreams"), "{err}");
    }

    #[test]
    fn direct_settings_from_file_and_flags() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("modgate.toml");
        fs_err::write(
            &path,
            "private = 'corp.example/*'\n\
             [[repo_map]]\nprefix = 'gopkg.in/yaml.v3'\nurl = 'https://github.com/go-yaml/yaml'\n",
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(path),
            settings: Settings {
                storage: Some("/tmp/store".into()),
                ..Default::default()
            },
        };
        let config = resolve(args).unwrap();
        assert_eq!(config.private, "corp.example/*");
        assert_eq!(config.direct.repo_map.len(), 1);
        assert_eq!(config.direct.repo_map[0].prefix, "gopkg.in/yaml.v3");
        assert_eq!(config.direct.vcs_dir, PathBuf::from("/tmp/store/.vcs"));
    }

    #[test]
    fn govcs_from_the_file_with_gos_default_behind_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("modgate.toml");
        fs_err::write(&path, "govcs = 'corp.example:svn'\n").unwrap();
        let args = ServeArgs {
            config: Some(path.clone()),
            settings: Settings {
                storage: Some("/tmp/store".into()),
                ..Default::default()
            },
        };
        let govcs = resolve(args).unwrap().direct.govcs;
        assert!(govcs.allows("corp.example/x", false, "svn"));
        assert!(!govcs.allows("corp.example/x", false, "git"));
        assert!(govcs.allows("example.com/x", false, "hg"));
        fs_err::write(&path, "govcs = 'corp.example'\n").unwrap();
        let args = ServeArgs {
            config: Some(path),
            ..Default::default()
        };
        let err = anyhow::Error::new(resolve(args).unwrap_err());
        assert!(format!("{err:#}").contains("missing colon"), "{err:#}");
    }

    #[test]
    fn errors_say_each_thing_once() {
        let upstream = || ConfigError::Upstream(modgate_module::check_path("a//b").unwrap_err());
        let errors: Vec<Box<dyn std::error::Error>> = vec![
            Box::new(upstream()),
            Box::new(ConfigError::Sumdb(
                modgate_sumdb::parse_sum_record("nonsense").unwrap_err(),
            )),
            Box::new(crate::check::CheckError::AtLine {
                path: "modgate.toml".into(),
                line: 3,
                source: upstream(),
            }),
        ];
        for e in errors {
            modgate_redact::says_each_thing_once(&*e).unwrap();
        }
    }
}
