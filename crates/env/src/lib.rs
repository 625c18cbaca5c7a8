//! Every environment variable modgate reads, in one place.
//!
//! modgate's own settings come first (`MODGATE_*`, each the twin of a
//! `modgate serve` flag); then the variables of other tools that modgate
//! honours as those tools do. No crate reads a variable not named here: a
//! test checks the README's configuration table against this list.

/// Path of the TOML configuration file.
pub const CONFIG: &str = "MODGATE_CONFIG";
/// Address to listen on.
pub const LISTEN: &str = "MODGATE_LISTEN";
/// Directory of the embedded disk storage.
pub const STORAGE: &str = "MODGATE_STORAGE";
/// Upstream list in GOPROXY syntax.
pub const UPSTREAM: &str = "MODGATE_UPSTREAM";
/// Checksum database in GOSUMDB syntax.
pub const SUMDB: &str = "MODGATE_SUMDB";
/// `text` or `json`.
pub const LOG_FORMAT: &str = "MODGATE_LOG_FORMAT";
/// Log filter in `tracing_subscriber::EnvFilter` syntax (e.g. `info,modgate=debug`).
pub const LOG: &str = "MODGATE_LOG";
/// Size of the in-memory cache of hot artifacts, in MiB.
pub const MEMORY_CACHE_MB: &str = "MODGATE_MEMORY_CACHE_MB";
/// Upstream connect timeout (TCP and TLS).
pub const CONNECT_TIMEOUT: &str = "MODGATE_CONNECT_TIMEOUT";
/// Upstream response-header timeout.
pub const HEADER_TIMEOUT: &str = "MODGATE_HEADER_TIMEOUT";
/// Upstream idle-body timeout.
pub const IDLE_TIMEOUT: &str = "MODGATE_IDLE_TIMEOUT";
/// Extra tries of an upstream after a quick failure.
pub const RETRIES: &str = "MODGATE_RETRIES";
/// Consecutive failures that open an upstream's circuit breaker.
pub const BREAKER_THRESHOLD: &str = "MODGATE_BREAKER_THRESHOLD";
/// How long an open breaker skips its upstream (doubling while it stays broken).
pub const BREAKER_COOLDOWN: &str = "MODGATE_BREAKER_COOLDOWN";
/// Upstream fetches under way at once.
pub const MAX_UPSTREAM_FETCHES: &str = "MODGATE_MAX_UPSTREAM_FETCHES";
/// How long a not-found answer is remembered.
pub const NEGATIVE_TTL: &str = "MODGATE_NEGATIVE_TTL";
/// How long a list or @latest answer is fresh.
pub const LIST_TTL: &str = "MODGATE_LIST_TTL";
/// Client connections open at once.
pub const MAX_CONNECTIONS: &str = "MODGATE_MAX_CONNECTIONS";
/// How long a client may take to send its request headers.
pub const REQUEST_HEADER_TIMEOUT: &str = "MODGATE_REQUEST_HEADER_TIMEOUT";
/// How long shutdown waits for in-flight downloads.
pub const SHUTDOWN_TIMEOUT: &str = "MODGATE_SHUTDOWN_TIMEOUT";
/// Module path patterns fetched only from their repository (GOPRIVATE syntax).
pub const PRIVATE: &str = "MODGATE_PRIVATE";
/// Repository mappings, `PREFIX=URL`, comma-separated.
pub const REPO_MAP: &str = "MODGATE_REPO_MAP";
/// Module path patterns whose go-get discovery may use plain http (GOINSECURE syntax).
pub const INSECURE: &str = "MODGATE_INSECURE";
/// Directory of the bare git mirrors.
pub const VCS_DIR: &str = "MODGATE_VCS_DIR";
/// Longest one git command may run.
pub const GIT_TIMEOUT: &str = "MODGATE_GIT_TIMEOUT";
/// git processes running at once.
pub const MAX_GIT_PROCESSES: &str = "MODGATE_MAX_GIT_PROCESSES";
/// Signer key file of modgate's own checksum database.
pub const PRIVATE_SUMDB_KEY: &str = "MODGATE_PRIVATE_SUMDB_KEY";

// Variables of other tools, read as those tools read them.

/// Disables colour in `doctor` and `explain` tables (no-color.org).
pub const NO_COLOR: &str = "NO_COLOR";
/// Where `doctor` finds `go` and `git`, as a shell would.
pub const PATH: &str = "PATH";
/// The go command's env file (`off` disables it), read by `doctor` as go reads it.
pub const GOENV: &str = "GOENV";
/// git's ssh program; when neither it nor [`GIT_SSH_COMMAND`] is set, modgate
/// makes ssh non-interactive, as the go command does.
pub const GIT_SSH: &str = "GIT_SSH";
/// git's ssh command line; see [`GIT_SSH`].
pub const GIT_SSH_COMMAND: &str = "GIT_SSH_COMMAND";

/// The go command's settings that `doctor` reads from the process (a
/// non-empty value beats the go env file, as in go).
pub const GO_SETTINGS: &[&str] = &[
    "GOPROXY",
    "GOSUMDB",
    "GOPRIVATE",
    "GONOPROXY",
    "GONOSUMDB",
    "GOINSECURE",
    "GOVCS",
    "GOFLAGS",
    "GO111MODULE",
    "GOTOOLCHAIN",
];

/// Proxy settings `doctor` honours as Go's net/http does (upper case wins).
pub const HTTP_PROXY: [&str; 2] = ["HTTP_PROXY", "http_proxy"];
/// See [`HTTP_PROXY`].
pub const HTTPS_PROXY: [&str; 2] = ["HTTPS_PROXY", "https_proxy"];
/// See [`HTTP_PROXY`].
pub const NO_PROXY: [&str; 2] = ["NO_PROXY", "no_proxy"];
