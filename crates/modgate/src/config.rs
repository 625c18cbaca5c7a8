//! Resolved configuration: flag > environment > file > default.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;

use modgate_env as env;
use modgate_net::Cidr;
use modgate_proxy::CachePolicy;
use modgate_proxy::policy::{Policy as DependencyPolicy, PolicyError, RuleSpec};
use modgate_proxy::store::S3Location;
use modgate_proxy::tls::CertFiles;
use modgate_proxy::upstream::{HedgePolicy, Policy, UpstreamSpec};
use modgate_proxy::workers::Limits;
use modgate_sumdb::SumdbSpec;
use modgate_vcs::resolve::{GoGet, RepoMapRule};
use modgate_vcs::{DirectSettings, GoVcs};

const DEFAULT_DL_UPSTREAM: &str = "https://go.dev/dl";
const DEFAULT_LISTEN: &str = "127.0.0.1:3000";
pub const DEFAULT_UPSTREAM: &str = "https://proxy.golang.org,direct";
pub const DEFAULT_SUMDB: &str = "sum.golang.org";
pub const DEFAULT_MEMORY_CACHE_MB: u64 = 256;
pub const DEFAULT_VCS_MAX_SIZE: u64 = 20 << 30;
pub const DEFAULT_CACHE_MAX_SIZE: u64 = 10 << 30;
pub const DEFAULT_VULNDB: &str = "https://vuln.go.dev";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Permission bits written in octal, as chmod takes them (`0644`, `640`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mode(pub u32);

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match u32::from_str_radix(s.trim(), 8) {
            Ok(m) if m <= 0o777 && m & 0o600 == 0o600 => Ok(Mode(m)),
            Ok(_) => Err(format!(
                "{s:?}: permission bits 0000-0777 that keep the owner's read and write (0600)"
            )),
            Err(_) => Err(format!("{s:?} is not an octal mode such as 0644")),
        }
    }
}

impl<'de> Deserialize<'de> for Mode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// A duration written `500ms`, `5s`, `2m`, `1h` or `90d` (a bare number is seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dur(pub Duration);

impl FromStr for Dur {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (num, unit) = s.split_at(split);
        let n: u64 = num
            .parse()
            .map_err(|_| format!("invalid duration {s:?}: want e.g. 500ms, 5s, 2m, 90d"))?;
        let d = match unit {
            "ms" => Duration::from_millis(n),
            "" | "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.saturating_mul(60)),
            "h" => Duration::from_secs(n.saturating_mul(3600)),
            "d" => Duration::from_secs(n.saturating_mul(86_400)),
            _ => {
                return Err(format!(
                    "invalid duration {s:?}: want e.g. 500ms, 5s, 2m, 90d"
                ));
            }
        };
        Ok(Dur(d))
    }
}

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ms", self.0.as_millis())
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Secs(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Secs(n) => Ok(Dur(Duration::from_secs(n))),
            Raw::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// A size written `20GiB`, `500MiB`, `64KiB` or a number of bytes (the
/// units are powers of 1024; `G`, `M`, `K` and `GB`… mean the same).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size(pub u64);

impl FromStr for Size {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (num, unit) = s.split_at(split);
        let bad = || format!("invalid size {s:?}: want e.g. 20GiB, 500MiB or bytes");
        let n: u64 = num.parse().map_err(|_| bad())?;
        let shift = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 0,
            "k" | "kb" | "kib" => 10,
            "m" | "mb" | "mib" => 20,
            "g" | "gb" | "gib" => 30,
            "t" | "tb" | "tib" => 40,
            _ => return Err(bad()),
        };
        n.checked_mul(1 << shift).map(Size).ok_or_else(bad)
    }
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bytes(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Bytes(n) => Ok(Size(n)),
            Raw::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// `--hedge-delay`: `auto`, `off` or a duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hedge(pub HedgePolicy);

impl FromStr for Hedge {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Hedge(match s.trim() {
            "auto" => HedgePolicy::Auto,
            "off" | "0" => HedgePolicy::Off,
            d => HedgePolicy::Fixed(
                d.parse::<Dur>()
                    .map_err(|_| {
                        format!("invalid hedge delay {s:?}: want auto, off or e.g. 500ms")
                    })?
                    .0,
            ),
        }))
    }
}

impl<'de> Deserialize<'de> for Hedge {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Read(#[from] std::io::Error),
    #[error("{path}: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("invalid upstream list: {0}")]
    Upstream(#[source] modgate_module::Error),
    #[error("--dl-upstream {0}: an http(s) URL or off")]
    DlUpstream(String),
    #[error("invalid sumdb: {0}")]
    Sumdb(#[source] modgate_sumdb::Error),
    #[error("no storage directory given and no user data directory found; pass --storage")]
    NoStorage,
    #[error("--storage {0}: a directory or s3://BUCKET[/PREFIX]")]
    StorageScheme(String),
    #[error("--storage {0}")]
    StorageUrl(String),

    #[error("--vulndb {0}: an http(s) URL or off")]
    Vulndb(String),
    /// A timeout, interval or count of 0: every upstream call would time
    /// out, nothing would be admitted, or a loop would spin.
    #[error("--{0} must be more than 0")]
    Zero(&'static str),
    #[error(
        "--hedge-delay 0: hedging at once doubles every upstream request; use off or e.g. 500ms"
    )]
    HedgeZero,
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error(
        "[[policy]] denies vulnerable versions, which needs the vulnerability database mirror (--vulndb is off)"
    )]
    PolicyNeedsVulndb,

    #[error("{given} is set but {missing} is not: TLS needs both")]
    TlsPair {
        given: &'static str,
        missing: &'static str,
    },
}

/// The settings of `modgate serve`: flags (with their environment variables)
/// and the keys of the `--config` file, with `_` or `-`.
#[derive(Debug, Default, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address to listen on [default: 127.0.0.1:3000].
    #[arg(long, env = env::LISTEN, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Storage directory [default: the user's data directory, e.g. ~/.local/share/modgate].
    #[arg(long, env = env::STORAGE, value_name = "DIR")]
    pub storage: Option<PathBuf>,
    /// Upstreams in GOPROXY syntax [default: https://proxy.golang.org,direct].
    #[arg(long, env = env::UPSTREAM, value_name = "LIST")]
    pub upstream: Option<String>,
    /// Checksum database in GOSUMDB syntax, or `off` [default: sum.golang.org].
    #[arg(long, env = env::SUMDB, value_name = "GOSUMDB")]
    pub sumdb: Option<String>,
    /// Log format [default: text].
    #[arg(long, env = env::LOG_FORMAT, value_enum)]
    #[serde(alias = "log-format")]
    pub log_format: Option<LogFormat>,
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
    /// past it; 0 for no bound [default: 20GiB].
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
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source: Box::new(source),
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

/// Where artifacts are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// The embedded disk store.
    Disk(PathBuf),
    /// An S3-compatible bucket.
    S3(S3Location),
}

impl Storage {
    /// `--storage`, or the default directory.
    pub fn resolve(value: Option<PathBuf>) -> Result<Self, ConfigError> {
        match value {
            Some(v) => Storage::parse(v),
            None => Ok(Storage::Disk(
                dirs::data_dir()
                    .map(|d| d.join("modgate"))
                    .ok_or(ConfigError::NoStorage)?,
            )),
        }
    }

    /// A path, or `s3://`; any other `SCHEME://` is refused rather than
    /// taken for a directory named `SCHEME:`.
    fn parse(value: PathBuf) -> Result<Self, ConfigError> {
        let Some(text) = value.to_str().filter(|t| t.contains("://")) else {
            return Ok(Storage::Disk(value));
        };
        match S3Location::parse(text) {
            Some(Ok(at)) => Ok(Storage::S3(at)),
            Some(Err(e)) => Err(ConfigError::StorageUrl(e)),
            None => Err(ConfigError::StorageScheme(modgate_redact::redact_url(text))),
        }
    }
}

impl fmt::Display for Storage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Storage::Disk(dir) => write!(f, "{}", dir.display()),
            Storage::S3(at) => write!(f, "{at}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: String,
    pub storage: Storage,
    pub upstream: UpstreamSpec,
    pub sumdb: SumdbSpec,
    pub log_format: LogFormat,
    pub memory_cache_bytes: u64,
    pub policy: Policy,
    pub cache: CachePolicy,
    pub limits: Limits,
    pub direct: DirectSettings,
    /// `--private`: GOPRIVATE-style patterns of modules built from git only.
    pub private: String,
    pub private_sumdb_key: Option<PathBuf>,
    /// `--tls-cert` and `--tls-key`: serve HTTPS.
    pub tls: Option<CertFiles>,
    /// Permission bits of stored files.
    pub storage_mode: u32,
    /// `--cache-dir` and its bound in bytes.
    pub disk_tier: Option<(PathBuf, u64)>,
    pub auth_file: Option<PathBuf>,
    pub audit_log: Option<PathBuf>,
    /// `--dl-upstream`; `None` when `off`.
    pub dl_upstream: Option<url::Url>,
    /// `--vulndb`: the upstream of the vulnerability database mirror; None when off.
    pub vulndb: Option<String>,
    pub vulndb_refresh: Duration,
    /// `[[policy]]`, when there is one.
    pub dependency_policy: Option<DependencyPolicy>,
}

impl ServeConfig {
    /// clap has already applied flag > environment; the file and defaults fill the rest.
    pub fn resolve(file: Option<&Path>, settings: Settings) -> Result<Self, ConfigError> {
        let file = match file {
            Some(path) => Settings::load(path)?,
            None => Settings::default(),
        };
        let s = settings.over(file);
        let secs = |d: Option<Dur>, default: u64| d.map_or(Duration::from_secs(default), |d| d.0);
        let positive = |name: &'static str, d: Option<Dur>, default: u64| {
            Some(secs(d, default))
                .filter(|d| !d.is_zero())
                .ok_or(ConfigError::Zero(name))
        };
        let count = |name: &'static str, n: Option<usize>, default: usize| match n {
            Some(0) => Err(ConfigError::Zero(name)),
            n => Ok(n.unwrap_or(default)),
        };
        let storage = Storage::resolve(s.storage)?;
        // git mirrors are local whatever holds the artifacts.
        let vcs_dir = match &storage {
            Storage::Disk(dir) => dir.join(".vcs"),
            Storage::S3(_) => dirs::data_dir()
                .map(|d| d.join("modgate").join("vcs"))
                .ok_or(ConfigError::NoStorage)?,
        };
        let direct = DirectSettings {
            vcs_dir: s.vcs_dir.unwrap_or(vcs_dir),
            insecure: s.insecure.unwrap_or_default(),
            repo_map: s.repo_map.unwrap_or_default(),
            git_timeout: positive("git-timeout", s.git_timeout, 600)?,
            max_git: count("max-git-processes", s.max_git_processes, 16)?,
            refs_ttl: secs(s.list_ttl, 30),
            vcs_max_size: s.vcs_max_size.map_or(DEFAULT_VCS_MAX_SIZE, |s| s.0),
            private: s.private.clone().unwrap_or_default(),
            allow_network: s.allow_network.unwrap_or_default(),
            go_get: s.go_get.unwrap_or_default(),
            govcs: s.govcs.unwrap_or_default(),
        };
        let tls = match (s.tls_cert, s.tls_key) {
            (Some(cert), Some(key)) => Some(CertFiles { cert, key }),
            (None, None) => None,
            (Some(_), None) => {
                return Err(ConfigError::TlsPair {
                    given: "tls-cert",
                    missing: "tls-key",
                });
            }
            (None, Some(_)) => {
                return Err(ConfigError::TlsPair {
                    given: "tls-key",
                    missing: "tls-cert",
                });
            }
        };
        let vulndb = match s.vulndb.as_deref().unwrap_or(DEFAULT_VULNDB).trim() {
            "off" => None,
            url if url.starts_with("https://") || url.starts_with("http://") => {
                Some(url.to_owned())
            }
            other => return Err(ConfigError::Vulndb(modgate_redact::redact_url(other))),
        };
        let vulndb_refresh = positive("vulndb-refresh", s.vulndb_refresh, 3600)?;
        if s.breaker_threshold == Some(0) {
            return Err(ConfigError::Zero("breaker-threshold"));
        }
        if s.hedge_delay == Some(Hedge(HedgePolicy::Fixed(Duration::ZERO))) {
            return Err(ConfigError::HedgeZero);
        }
        if s.cache_dir.is_some() && s.cache_max_size == Some(Size(0)) {
            return Err(ConfigError::Zero("cache-max-size"));
        }
        let dependency_policy = match s.policy.as_deref() {
            Some(specs) if !specs.is_empty() => Some(DependencyPolicy::new(specs)?),
            _ => None,
        };
        if vulndb.is_none() && dependency_policy.as_ref().is_some_and(|p| p.needs_vulndb()) {
            return Err(ConfigError::PolicyNeedsVulndb);
        }
        Ok(Self {
            dependency_policy,
            vulndb,
            vulndb_refresh,
            listen: s.listen.unwrap_or_else(|| DEFAULT_LISTEN.to_owned()),
            tls,
            direct,
            private: s.private.unwrap_or_default(),
            private_sumdb_key: s.private_sumdb_key,
            storage_mode: s
                .storage_mode
                .map_or(modgate_proxy::store::DEFAULT_FILE_MODE, |m| m.0),
            disk_tier: s.cache_dir.map(|dir| {
                (
                    dir,
                    s.cache_max_size.map_or(DEFAULT_CACHE_MAX_SIZE, |m| m.0),
                )
            }),
            auth_file: s.auth_file,
            audit_log: s.audit_log,
            dl_upstream: match s.dl_upstream.as_deref().unwrap_or(DEFAULT_DL_UPSTREAM) {
                "off" => None,
                given => Some(
                    url::Url::parse(given)
                        .ok()
                        .filter(|u| matches!(u.scheme(), "http" | "https"))
                        .ok_or_else(|| ConfigError::DlUpstream(given.to_owned()))?,
                ),
            },
            storage,
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
            memory_cache_bytes: s
                .memory_cache_mb
                .unwrap_or(DEFAULT_MEMORY_CACHE_MB)
                .saturating_mul(1 << 20),
            policy: Policy {
                connect_timeout: positive("connect-timeout", s.connect_timeout, 5)?,
                header_timeout: positive("header-timeout", s.header_timeout, 10)?,
                idle_timeout: positive("idle-timeout", s.idle_timeout, 10)?,
                retries: s.retries.unwrap_or(1),
                breaker_threshold: s.breaker_threshold.unwrap_or(3),
                breaker_cooldown: positive("breaker-cooldown", s.breaker_cooldown, 10)?,
                max_fetches: count("max-upstream-fetches", s.max_upstream_fetches, 32)?,
                hedge: s.hedge_delay.map_or(HedgePolicy::Auto, |h| h.0),
            },
            cache: CachePolicy {
                negative_ttl: secs(s.negative_ttl, 30),
                list_ttl: secs(s.list_ttl, 30),
            },
            limits: Limits {
                max_connections: count("max-connections", s.max_connections, 4096)?,
                max_connections_per_client: count(
                    "max-connections-per-client",
                    s.max_connections_per_client,
                    64,
                )?,
                header_read_timeout: positive(
                    "request-header-timeout",
                    s.request_header_timeout,
                    10,
                )?,
                shutdown_timeout: positive("shutdown-timeout", s.shutdown_timeout, 30)?,
                release_memory: crate::release_memory,
            },
        })
    }
}

#[cfg(test)]
mod tests {
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
                "header-timeout",
                Settings {
                    header_timeout: zero,
                    ..Default::default()
                },
            ),
            (
                "idle-timeout",
                Settings {
                    idle_timeout: zero,
                    ..Default::default()
                },
            ),
            (
                "breaker-cooldown",
                Settings {
                    breaker_cooldown: zero,
                    ..Default::default()
                },
            ),
            (
                "request-header-timeout",
                Settings {
                    request_header_timeout: zero,
                    ..Default::default()
                },
            ),
            (
                "shutdown-timeout",
                Settings {
                    shutdown_timeout: zero,
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
                "vulndb-refresh",
                Settings {
                    vulndb_refresh: zero,
                    ..Default::default()
                },
            ),
            (
                "breaker-threshold",
                Settings {
                    breaker_threshold: Some(0),
                    ..Default::default()
                },
            ),
            (
                "max-connections",
                Settings {
                    max_connections: Some(0),
                    ..Default::default()
                },
            ),
            (
                "max-upstream-fetches",
                Settings {
                    max_upstream_fetches: Some(0),
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
    fn storage_is_a_directory_or_a_bucket_and_nothing_else() {
        let with = |storage: &str| {
            resolve(ServeArgs {
                config: None,
                settings: Settings {
                    storage: Some(storage.into()),
                    ..Default::default()
                },
            })
        };
        let disk = with("/tmp/store").unwrap();
        assert_eq!(disk.storage, Storage::Disk("/tmp/store".into()));
        assert_eq!(disk.direct.vcs_dir, PathBuf::from("/tmp/store/.vcs"));
        let bucket = with("s3://mods/cache").unwrap();
        assert_eq!(bucket.storage.to_string(), "s3://mods/cache");
        assert!(
            !bucket.direct.vcs_dir.starts_with("s3:"),
            "git mirrors stay local"
        );
        let refused = with("ftp://user:secret@host/x").unwrap_err().to_string();
        assert!(
            refused.contains("s3://BUCKET") && !refused.contains("secret"),
            "{refused}"
        );
        assert!(with("s3:///x").is_err());
    }

    #[test]
    fn flag_beats_file_beats_default() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("modgate.toml");
        fs_err::write(
            &path,
            "listen = '127.0.0.1:9999'\nupstream = 'off'\nlog-format = 'json'\nsumdb = 'off'\n\
             header_timeout = '2s'\nidle-timeout = 7\nnegative_ttl = '500ms'\n",
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
        assert_eq!(config.memory_cache_bytes, DEFAULT_MEMORY_CACHE_MB << 20);
        assert_eq!(config.policy.header_timeout, Duration::from_secs(3));
        assert_eq!(config.policy.idle_timeout, Duration::from_secs(7));
        assert_eq!(config.policy.connect_timeout, Duration::from_secs(5));
        assert_eq!(config.cache.negative_ttl, Duration::from_millis(500));
    }

    #[test]
    fn storage_modes_are_octal_and_keep_the_owners_access() {
        assert_eq!("0644".parse::<Mode>(), Ok(Mode(0o644)));
        assert_eq!("640".parse::<Mode>(), Ok(Mode(0o640)));
        assert!(
            "0400".parse::<Mode>().is_err(),
            "modgate must write its own files"
        );
        assert!("0888".parse::<Mode>().is_err());
        assert!("1777".parse::<Mode>().is_err());
        assert!("rw-r--r--".parse::<Mode>().is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!("20GiB".parse::<Size>(), Ok(Size(20 << 30)));
        assert_eq!("500 MiB".parse::<Size>(), Ok(Size(500 << 20)));
        assert_eq!("64k".parse::<Size>(), Ok(Size(64 << 10)));
        assert_eq!("123".parse::<Size>(), Ok(Size(123)));
        assert!("lots".parse::<Size>().is_err());
        assert!("99999999999T".parse::<Size>().is_err());
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
        let err = resolve(args).unwrap_err().to_string();
        assert_eq!(
            err,
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
        let err = resolve(args).unwrap_err().to_string();
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
        let err = resolve(args).unwrap_err().to_string();
        assert!(err.contains("missing colon"), "{err}");
    }

    #[test]
    fn tls_cert_and_key_come_together_from_any_source() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("modgate.toml");
        fs_err::write(&path, "tls-key = '/etc/modgate/key.pem'\n").unwrap();
        let args = ServeArgs {
            config: Some(path.clone()),
            settings: Settings {
                storage: Some("/tmp/store".into()),
                tls_cert: Some("/etc/modgate/cert.pem".into()),
                ..Default::default()
            },
        };
        let tls = resolve(args).unwrap().tls.expect("TLS on");
        assert_eq!(tls.cert, PathBuf::from("/etc/modgate/cert.pem"));
        assert_eq!(tls.key, PathBuf::from("/etc/modgate/key.pem"));
        let args = ServeArgs {
            config: Some(path),
            settings: Settings {
                storage: Some("/tmp/store".into()),
                ..Default::default()
            },
        };
        let err = resolve(args).unwrap_err().to_string();
        assert_eq!(err, "tls-key is set but tls-cert is not: TLS needs both");
        let plain = ServeArgs {
            settings: Settings {
                storage: Some("/tmp/store".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(resolve(plain).unwrap().tls.is_none());
    }

    #[test]
    fn policy_tables_from_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("modgate.toml");
        let write = |text: &str| fs_err::write(&path, text).unwrap();
        let resolve_file = || {
            resolve(ServeArgs {
                config: Some(path.clone()),
                settings: Settings {
                    storage: Some("/tmp/store".into()),
                    ..Default::default()
                },
            })
        };
        write(
            "[[policy]]\ndeny = ['vulnerable', 'example.com/m@<v1.2.0']\n\
             waive = [{ module = 'example.com/m@v1.1.0', expires = '2027-01-31', reason = 'fix pending' }]\n\
             [[policy]]\ndry-run = true\ndeny = ['example.com/old']\n",
        );
        let config = resolve_file().unwrap();
        assert!(config.dependency_policy.unwrap().needs_vulndb());
        write("vulndb = 'off'\n[[policy]]\ndeny = ['vulnerable']\n");
        let err = resolve_file().unwrap_err().to_string();
        assert!(err.contains("--vulndb is off"), "{err}");
        write("[[policy]]\ndeny = ['example.com/m@<1.2']\n");
        let err = resolve_file().unwrap_err().to_string();
        assert!(err.contains("example.com/m@<1.2"), "{err}");
        write("[[policy]]\ndenny = ['x']\n");
        assert!(resolve_file().is_err());
    }

    #[test]
    fn durations() {
        assert_eq!("500ms".parse(), Ok(Dur(Duration::from_millis(500))));
        assert_eq!("5".parse(), Ok(Dur(Duration::from_secs(5))));
        assert_eq!("2m".parse(), Ok(Dur(Duration::from_secs(120))));
        assert_eq!("90d".parse(), Ok(Dur(Duration::from_secs(90 * 86_400))));
        assert!("5 parsecs".parse::<Dur>().is_err());
        assert!("".parse::<Dur>().is_err());
        assert!("-1s".parse::<Dur>().is_err());
    }
}
