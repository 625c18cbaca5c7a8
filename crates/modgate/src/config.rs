//! Resolved configuration: flag > environment > file > default.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use modgate_env as env;
use modgate_env::value::{Dur, Size};
use modgate_net::Cidr;
use modgate_net::tls::CertFiles;
use modgate_proxy::policy::RuleSpec;
use modgate_proxy::settings::{self as server, Hedge, ServerSettings};
use modgate_proxy::upstream::UpstreamSpec;
use modgate_store::settings::{Mode, Storage, StoreSettings};
use modgate_sumdb::SumdbSpec;
use modgate_vcs::resolve::{GoGet, RepoMapRule};
use modgate_vcs::{DirectSettings, GoVcs};

const DEFAULT_LISTEN: &str = "127.0.0.1:3000";
pub const DEFAULT_UPSTREAM: &str = "https://proxy.golang.org,direct";
pub const DEFAULT_SUMDB: &str = "sum.golang.org";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

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

/// The settings of `modgate serve`: flags (with their environment variables)
/// and the keys of the `--config` file, with `_` or `-`.
#[derive(Debug, Default, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address to listen on [default: 127.0.0.1:3000].
    #[arg(long, env = env::LISTEN, value_name = "ADDR")]
    pub listen: Option<String>,
    /// The embedded disk store's directory, or an S3-compatible bucket
    /// (s3://BUCKET[/PREFIX], endpoint and credentials from the AWS_*
    /// variables) [default: the user's data directory, e.g. ~/.local/share/modgate].
    #[arg(long, env = env::STORAGE, value_name = "DIR|URL")]
    pub storage: Option<PathBuf>,
    /// Upstreams in GOPROXY syntax [default: https://proxy.golang.org,direct].
    #[arg(long, env = env::UPSTREAM, value_name = "LIST")]
    pub upstream: Option<String>,
    /// Checksum database in GOSUMDB syntax (`name+hash+key [url]`), or `off` [default: sum.golang.org].
    #[arg(long, env = env::SUMDB, value_name = "GOSUMDB")]
    pub sumdb: Option<String>,
    /// Log format [default: text].
    #[arg(long, env = env::LOG_FORMAT, value_enum)]
    #[serde(alias = "log-format")]
    pub log_format: Option<LogFormat>,
    /// Log every answered request (method, path, status, ms) at info level;
    /// without it only failures are logged [default: false].
    #[arg(long, env = env::ACCESS_LOG, num_args = 0..=1, default_missing_value = "true", value_name = "true|false")]
    #[serde(alias = "access-log")]
    pub access_log: Option<bool>,
    /// In-memory cache of hot artifacts, in MiB; 0 disables it [default: 256].
    #[arg(long, env = env::MEMORY_CACHE_MB, value_name = "MIB")]
    #[serde(alias = "memory-cache-mb")]
    pub memory_cache_mb: Option<u64>,
    /// Upstream connect timeout, TCP and TLS [default: 5s].
    #[arg(long, env = env::CONNECT_TIMEOUT, value_name = "DUR")]
    #[serde(alias = "connect-timeout")]
    pub connect_timeout: Option<Dur>,
    /// Upstream response-header timeout [default: 10s].
    #[arg(long, env = env::HEADER_TIMEOUT, value_name = "DUR")]
    #[serde(alias = "header-timeout")]
    pub header_timeout: Option<Dur>,
    /// Upstream idle-body timeout: no byte for this long fails the fetch [default: 10s].
    #[arg(long, env = env::IDLE_TIMEOUT, value_name = "DUR")]
    #[serde(alias = "idle-timeout")]
    pub idle_timeout: Option<Dur>,
    /// Extra tries of an upstream after a quick failure (reset, 5xx) [default: 1].
    #[arg(long, env = env::RETRIES, value_name = "N")]
    pub retries: Option<u32>,
    /// Consecutive failures that open an upstream's circuit breaker [default: 3].
    #[arg(long, env = env::BREAKER_THRESHOLD, value_name = "N")]
    #[serde(alias = "breaker-threshold")]
    pub breaker_threshold: Option<u32>,
    /// How long an open breaker skips its upstream, doubling while it stays broken [default: 10s].
    #[arg(long, env = env::BREAKER_COOLDOWN, value_name = "DUR")]
    #[serde(alias = "breaker-cooldown")]
    pub breaker_cooldown: Option<Dur>,
    /// Upstream fetches under way at once [default: 32].
    #[arg(long, env = env::MAX_UPSTREAM_FETCHES, value_name = "N")]
    #[serde(alias = "max-upstream-fetches")]
    pub max_upstream_fetches: Option<usize>,
    /// How long a not-found answer is remembered [default: 30s].
    #[arg(long, env = env::NEGATIVE_TTL, value_name = "DUR")]
    #[serde(alias = "negative-ttl")]
    pub negative_ttl: Option<Dur>,
    /// How long a list or @latest answer is fresh; older ones are served while refreshed [default: 30s].
    #[arg(long, env = env::LIST_TTL, value_name = "DUR")]
    #[serde(alias = "list-ttl")]
    pub list_ttl: Option<Dur>,
    /// Client connections open at once [default: 4096].
    #[arg(long, env = env::MAX_CONNECTIONS, value_name = "N")]
    #[serde(alias = "max-connections")]
    pub max_connections: Option<usize>,
    /// Client connections open at once from one address [default: 64].
    #[arg(long, env = env::MAX_CONNECTIONS_PER_CLIENT, value_name = "N")]
    #[serde(alias = "max-connections-per-client")]
    pub max_connections_per_client: Option<usize>,
    /// How long a client may take to send its request headers [default: 10s].
    #[arg(long, env = env::REQUEST_HEADER_TIMEOUT, value_name = "DUR")]
    #[serde(alias = "request-header-timeout")]
    pub request_header_timeout: Option<Dur>,
    /// How long shutdown waits for in-flight downloads [default: 30s].
    #[arg(long, env = env::SHUTDOWN_TIMEOUT, value_name = "DUR")]
    #[serde(alias = "shutdown-timeout")]
    pub shutdown_timeout: Option<Dur>,
    /// Modules fetched only from their repository, never from an upstream
    /// proxy (GOPRIVATE syntax: comma-separated path globs).
    #[arg(long, env = env::PRIVATE, value_name = "PATTERNS")]
    pub private: Option<String>,
    /// Where a module path's repository is, for vanity paths and internal
    /// hosts: PREFIX=URL, repeatable; PREFIX/* binds one element, which
    /// replaces * in URL.
    #[arg(long = "repo-map", env = env::REPO_MAP, value_name = "PREFIX=URL", value_delimiter = ',')]
    #[serde(alias = "repo-map")]
    pub repo_map: Option<Vec<RepoMapRule>>,
    /// Module paths whose go-get discovery may use plain http (GOINSECURE syntax).
    #[arg(long, env = env::INSECURE, value_name = "PATTERNS")]
    pub insecure: Option<String>,
    /// Directory of the bare git mirrors [default: STORAGE/.vcs].
    #[arg(long, env = env::VCS_DIR, value_name = "DIR")]
    #[serde(alias = "vcs-dir")]
    pub vcs_dir: Option<PathBuf>,
    /// Longest one git command may run [default: 10m].
    #[arg(long, env = env::GIT_TIMEOUT, value_name = "DUR")]
    #[serde(alias = "git-timeout")]
    pub git_timeout: Option<Dur>,
    /// Disk the git mirrors may use; the least recently used are evicted
    /// past it; 0B for no bound [default: 20GiB].
    #[arg(long, env = env::VCS_MAX_SIZE, value_name = "SIZE")]
    #[serde(alias = "vcs-max-size")]
    pub vcs_max_size: Option<Size>,
    /// When an upstream has sent no response headers for this long, the
    /// request also goes to the next upstream: `auto` (from its latency,
    /// 0.25-2s), `off`, or a duration [default: auto].
    #[arg(long, env = env::HEDGE_DELAY, value_name = "auto|off|DUR")]
    #[serde(alias = "hedge-delay")]
    pub hedge_delay: Option<Hedge>,
    /// Signer key of modgate's own checksum database (from `modgate sumdb
    /// keygen`), served at /sumdb/NAME/.
    #[arg(long, env = env::PRIVATE_SUMDB_KEY, value_name = "FILE")]
    #[serde(alias = "private-sumdb-key")]
    pub private_sumdb_key: Option<PathBuf>,
    /// git processes running at once [default: 16].
    #[arg(long, env = env::MAX_GIT_PROCESSES, value_name = "N")]
    #[serde(alias = "max-git-processes")]
    pub max_git_processes: Option<usize>,
    /// Serve HTTPS with this PEM certificate chain (server certificate
    /// first; with --tls-key). A changed file is reloaded without a restart.
    #[arg(long, env = env::TLS_CERT, value_name = "FILE")]
    #[serde(alias = "tls-cert")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert: PKCS#8, RSA or EC.
    #[arg(long, env = env::TLS_KEY, value_name = "FILE")]
    #[serde(alias = "tls-key")]
    pub tls_key: Option<PathBuf>,
    /// Permission bits of stored files, octal [default: 0600: private code];
    /// e.g. 0644 when nginx or a `file://` reader running as another user
    /// serves the storage directory.
    #[arg(long, env = env::STORAGE_MODE, value_name = "MODE")]
    #[serde(alias = "storage-mode")]
    pub storage_mode: Option<Mode>,
    /// A local disk tier in front of an s3:// store: objects read from the
    /// bucket are kept here, least recently used evicted past --cache-max-size.
    #[arg(long, env = env::CACHE_DIR, value_name = "DIR")]
    #[serde(alias = "cache-dir")]
    pub cache_dir: Option<PathBuf>,
    /// Bytes the --cache-dir tier may hold [default: 10GiB].
    #[arg(long, env = env::CACHE_MAX_SIZE, value_name = "SIZE")]
    #[serde(alias = "cache-max-size")]
    pub cache_max_size: Option<Size>,
    /// Users, tokens and access rules (TOML; see `modgate auth`); reloaded
    /// when it changes and on SIGHUP. Without it, everyone reads everything.
    #[arg(long, env = env::AUTH_FILE, value_name = "FILE")]
    #[serde(alias = "auth-file")]
    pub auth_file: Option<PathBuf>,
    /// Audit log of private reads and publishes (JSON lines): a file, or `-` for stderr.
    #[arg(long, env = env::AUDIT_LOG, value_name = "FILE")]
    #[serde(alias = "audit-log")]
    pub audit_log: Option<PathBuf>,
    /// Go release archives for `/dl/`: the go.dev/dl-like site they are
    /// mirrored from, or `off` [default: https://go.dev/dl].
    #[arg(long, env = env::DL_UPSTREAM, value_name = "URL|off")]
    #[serde(alias = "dl-upstream")]
    pub dl_upstream: Option<String>,
    /// Internal networks (CIDR, comma-separated) that go-get discovery, the
    /// proxies and git URLs its pages name may still reach; by default
    /// every loopback, private, link-local and reserved address is refused.
    #[arg(long, env = env::ALLOW_NETWORK, value_name = "CIDR", value_delimiter = ',')]
    #[serde(alias = "allow-network")]
    pub allow_network: Option<Vec<Cidr>>,
    /// go-get discovery for paths on no known code host and no --repo-map
    /// rule: on, off, or only for the listed hosts [default: on].
    #[arg(long, env = env::GO_GET, value_name = "on|off|HOST,…")]
    #[serde(alias = "go-get")]
    pub go_get: Option<GoGet>,
    /// Which version control systems may serve which modules, with go's
    /// GOVCS syntax (`PATTERN:git|hg,…`; `private`: the --private modules)
    /// [default: public:git|hg,private:all].
    #[arg(long, env = env::GOVCS, value_name = "PATTERN:VCS|…,…")]
    pub govcs: Option<GoVcs>,
    /// Vulnerability database mirrored at /vuln/ (vuln.go.dev's layout),
    /// or `off` [default: https://vuln.go.dev].
    #[arg(long, env = env::VULNDB, value_name = "URL|off")]
    pub vulndb: Option<String>,
    /// How often the vulnerability database mirror asks its upstream what
    /// changed [default: 1h].
    #[arg(long, env = env::VULNDB_REFRESH, value_name = "DUR")]
    #[serde(alias = "vulndb-refresh")]
    pub vulndb_refresh: Option<Dur>,
    /// `[[policy]]` tables: module versions denied at the proxy (config file only).
    #[arg(skip)]
    pub policy: Option<Vec<RuleSpec>>,
}

impl Settings {
    fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = fs_err::read_to_string(path)?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            line: e.span().map_or(1, |span| line_of(&text, span.start)),
            message: e.message().trim_end().to_owned(),
        })
    }

    /// Each setting of `self`, else of `lower`.
    fn over(self, lower: Settings) -> Settings {
        macro_rules! pick {
            ($($f:ident),*) => { Settings { $($f: self.$f.or(lower.$f)),* } };
        }
        pick!(
            listen,
            storage,
            upstream,
            sumdb,
            log_format,
            access_log,
            memory_cache_mb,
            connect_timeout,
            header_timeout,
            idle_timeout,
            retries,
            breaker_threshold,
            breaker_cooldown,
            max_upstream_fetches,
            negative_ttl,
            list_ttl,
            max_connections,
            max_connections_per_client,
            request_header_timeout,
            shutdown_timeout,
            private,
            repo_map,
            insecure,
            vcs_dir,
            git_timeout,
            vcs_max_size,
            hedge_delay,
            private_sumdb_key,
            max_git_processes,
            tls_cert,
            tls_key,
            storage_mode,
            cache_dir,
            cache_max_size,
            auth_file,
            audit_log,
            dl_upstream,
            allow_network,
            go_get,
            govcs,
            vulndb,
            vulndb_refresh,
            policy
        )
    }
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
            Some(path) => Settings::load(path)?,
            None => Settings::default(),
        };
        let s = settings.over(file);
        let dur = |d: Option<Dur>| d.map(|d| d.0);
        let store = StoreSettings::resolve(
            s.storage,
            s.storage_mode,
            s.cache_dir,
            s.cache_max_size.map(|m| m.0),
            s.memory_cache_mb,
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
            memory_cache_mb: Some(0),
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
            modgate_store::settings::DEFAULT_MEMORY_CACHE_MB << 20
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
}
