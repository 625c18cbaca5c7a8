//! The settings of `modgate serve`: one struct that is at once its flags
//! (with their environment variables) and the keys of its `--config` file.

use std::path::PathBuf;

use serde::Deserialize;

use modgate_env as env;
use modgate_env::value::{Dur, Size};
use modgate_net::Cidr;
use modgate_proxy::policy::RuleSpec;
use modgate_proxy::settings::Hedge;
use modgate_store::settings::Mode;
use modgate_vcs::GoVcs;
use modgate_vcs::resolve::{GoGet, RepoMapRule};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
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
    /// In-memory cache of hot artifacts; 0B disables it [default: 256MiB].
    #[arg(long, env = env::MEMORY_CACHE, value_name = "SIZE")]
    #[serde(alias = "memory-cache")]
    pub memory_cache: Option<Size>,
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
    /// Each setting of `self`, else of `lower`.
    pub fn over(self, lower: Settings) -> Settings {
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
            memory_cache,
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
