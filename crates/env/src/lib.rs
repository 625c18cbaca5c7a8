//! Every environment variable modgate reads, in one place.
//!
//! modgate's own settings come first (`MODGATE_*`, each the twin of a
//! `modgate serve` flag); then the variables of other tools that modgate
//! honours as those tools do. No crate reads a variable not named here;
//! `docs/reference/environment.md` is rendered from these lists. The syntax
//! of their values (durations, sizes) is [`value`]'s.

pub mod value;

/// Declares each of modgate's own variables as a constant, and all of them
/// in [`OWN`], from which the environment reference is rendered.
macro_rules! own_variables {
    ($($(#[doc = $doc:literal])+ $name:ident = $value:literal;)+) => {
        $($(#[doc = $doc])+ pub const $name: &str = $value;)+
        /// Every `MODGATE_*` variable, with what it does.
        pub const OWN: &[(&str, &str)] = &[$(($value, concat!($($doc),+))),+];
    };
}

own_variables! {
    /// Path of the TOML configuration file.
    CONFIG = "MODGATE_CONFIG";
    /// Address to listen on.
    LISTEN = "MODGATE_LISTEN";
    /// Directory of the embedded disk storage.
    STORAGE = "MODGATE_STORAGE";
    /// Permission bits of stored files (octal, default 0600).
    STORAGE_MODE = "MODGATE_STORAGE_MODE";
    /// Local disk tier in front of an s3:// store.
    CACHE_DIR = "MODGATE_CACHE_DIR";
    /// Bytes the disk tier may hold.
    CACHE_MAX_SIZE = "MODGATE_CACHE_MAX_SIZE";
    /// Upstream list in GOPROXY syntax.
    UPSTREAM = "MODGATE_UPSTREAM";
    /// Checksum database in GOSUMDB syntax.
    SUMDB = "MODGATE_SUMDB";
    /// `text` or `json`.
    LOG_FORMAT = "MODGATE_LOG_FORMAT";
    /// Log every answered request at info level, not only failures.
    ACCESS_LOG = "MODGATE_ACCESS_LOG";
    /// Log filter in `tracing_subscriber::EnvFilter` syntax (e.g. `info,modgate=debug`).
    LOG = "MODGATE_LOG";
    /// Size of the in-memory cache of hot artifacts, in MiB.
    MEMORY_CACHE = "MODGATE_MEMORY_CACHE";
    /// Upstream connect timeout (TCP and TLS).
    CONNECT_TIMEOUT = "MODGATE_CONNECT_TIMEOUT";
    /// Upstream response-header timeout.
    HEADER_TIMEOUT = "MODGATE_HEADER_TIMEOUT";
    /// Upstream idle-body timeout.
    IDLE_TIMEOUT = "MODGATE_IDLE_TIMEOUT";
    /// Extra tries of an upstream after a quick failure.
    RETRIES = "MODGATE_RETRIES";
    /// How long an upstream may stay silent before the next one is also asked.
    HEDGE_DELAY = "MODGATE_HEDGE_DELAY";
    /// Consecutive failures that open an upstream's circuit breaker.
    BREAKER_THRESHOLD = "MODGATE_BREAKER_THRESHOLD";
    /// How long an open breaker skips its upstream (doubling while it stays broken).
    BREAKER_COOLDOWN = "MODGATE_BREAKER_COOLDOWN";
    /// Upstream fetches under way at once.
    MAX_UPSTREAM_FETCHES = "MODGATE_MAX_UPSTREAM_FETCHES";
    /// How long a not-found answer is remembered.
    NEGATIVE_TTL = "MODGATE_NEGATIVE_TTL";
    /// How long a list or @latest answer is fresh.
    LIST_TTL = "MODGATE_LIST_TTL";
    /// Client connections open at once.
    MAX_CONNECTIONS = "MODGATE_MAX_CONNECTIONS";
    /// Client connections open at once from one address.
    MAX_CONNECTIONS_PER_CLIENT = "MODGATE_MAX_CONNECTIONS_PER_CLIENT";
    /// How long a client may take to send its request headers.
    REQUEST_HEADER_TIMEOUT = "MODGATE_REQUEST_HEADER_TIMEOUT";
    /// How long shutdown waits for in-flight downloads.
    SHUTDOWN_TIMEOUT = "MODGATE_SHUTDOWN_TIMEOUT";
    /// Module path patterns fetched only from their repository (GOPRIVATE syntax).
    PRIVATE = "MODGATE_PRIVATE";
    /// Repository mappings, `PREFIX=URL`, comma-separated.
    REPO_MAP = "MODGATE_REPO_MAP";
    /// Module path patterns whose go-get discovery may use plain http (GOINSECURE syntax).
    INSECURE = "MODGATE_INSECURE";
    /// Directory of the bare git mirrors.
    VCS_DIR = "MODGATE_VCS_DIR";
    /// Longest one git command may run.
    GIT_TIMEOUT = "MODGATE_GIT_TIMEOUT";
    /// Disk the git mirrors may use before the least recently used are evicted.
    VCS_MAX_SIZE = "MODGATE_VCS_MAX_SIZE";
    /// git processes running at once.
    MAX_GIT_PROCESSES = "MODGATE_MAX_GIT_PROCESSES";
    /// Signer key file of modgate's own checksum database.
    PRIVATE_SUMDB_KEY = "MODGATE_PRIVATE_SUMDB_KEY";
    /// Bearer token `modgate publish` sends.
    TOKEN = "MODGATE_TOKEN";
    /// Users, tokens and access rules (TOML); reloaded when it changes.
    AUTH_FILE = "MODGATE_AUTH_FILE";
    /// PEM certificate chain (server certificate first) for serving HTTPS; reloaded when it changes.
    TLS_CERT = "MODGATE_TLS_CERT";
    /// PEM private key of the `MODGATE_TLS_CERT` certificate.
    TLS_KEY = "MODGATE_TLS_KEY";
    /// Audit log of private reads and publishes: a file, or `-` for stderr.
    AUDIT_LOG = "MODGATE_AUDIT_LOG";
    /// Where `/dl/` mirrors Go release archives from, or `off`.
    DL_UPSTREAM = "MODGATE_DL_UPSTREAM";
    /// Internal networks (CIDR, comma-separated) that destinations a request chose may be in.
    ALLOW_NETWORK = "MODGATE_ALLOW_NETWORK";
    /// go-get discovery: `on`, `off`, or the hosts it runs for, comma-separated.
    GO_GET = "MODGATE_GO_GET";
    /// Which version control systems may serve which modules, as go's GOVCS.
    GOVCS = "MODGATE_GOVCS";
    /// Vulnerability database mirrored at `/vuln/` (a URL, or `off`).
    VULNDB = "MODGATE_VULNDB";
    /// How often the vulnerability database mirror is refreshed.
    VULNDB_REFRESH = "MODGATE_VULNDB_REFRESH";
}

// Variables of other tools, read as those tools read them.

/// Declares each variable of another tool that modgate reads as a constant,
/// and all of them in [`OTHER`], for the environment reference.
macro_rules! other_variables {
    ($($(#[doc = $doc:literal])+ $name:ident = $value:literal;)+) => {
        $($(#[doc = $doc])+ pub const $name: &str = $value;)+
        /// Every single-name variable of another tool, with what modgate does with it.
        pub const OTHER: &[(&str, &str)] = &[$(($value, concat!($($doc),+))),+];
    };
}

other_variables! {
    /// Disables colour in `doctor` and `explain` tables (no-color.org).
    NO_COLOR = "NO_COLOR";
    /// Where `doctor` finds `go` and `git`, as a shell would.
    PATH = "PATH";
    /// The go command's env file (`off` disables it), read by `doctor` as go reads it.
    GOENV = "GOENV";
    /// git's ssh program; when neither it nor `GIT_SSH_COMMAND` is set, modgate
    /// makes ssh non-interactive, as the go command does.
    GIT_SSH = "GIT_SSH";
    /// git's ssh command line; see `GIT_SSH`.
    GIT_SSH_COMMAND = "GIT_SSH_COMMAND";
    /// The S3 endpoint (`--storage s3://…`), as every AWS tool reads it; the
    /// other `AWS_*` settings (`AWS_REGION`, `AWS_ACCESS_KEY_ID`, …) are read by `object_store` itself.
    AWS_ENDPOINT_URL = "AWS_ENDPOINT_URL";
    /// `object_store`'s setting for create-only copies; when unset, modgate
    /// uses the conditional multipart upload that AWS S3 supports.
    AWS_COPY_IF_NOT_EXISTS = "AWS_COPY_IF_NOT_EXISTS";
    /// The go command's netrc file (default `~/.netrc`): credentials for
    /// upstream proxies and for `modgate publish`.
    NETRC = "NETRC";
    /// The home directory, where `.netrc` lives.
    HOME = "HOME";
    /// The go command's credential methods (Go 1.24): `off`, `netrc`, `git
    /// DIR` or commands, `;`-separated; modgate's client commands read it as go.
    GOAUTH = "GOAUTH";
    /// The go command's proxy list: `bundle create` fetches through its first
    /// URL unless `--proxy` names one.
    GOPROXY = "GOPROXY";
    /// The go command's checksum database: `bundle create`'s default `--sumdb`.
    GOSUMDB = "GOSUMDB";
    /// Read when building modgate: the build date `--version` and
    /// `modgate_build_info` name (reproducible-builds.org); unset, the commit's date.
    SOURCE_DATE_EPOCH = "SOURCE_DATE_EPOCH";
    /// The user name fossil needs to clone; modgate sets one when it is unset.
    USER = "USER";
    /// Where fossil keeps its global settings and list of clones; unset, modgate
    /// gives fossil a directory of its own in `--vcs-dir`.
    FOSSIL_HOME = "FOSSIL_HOME";
}

/// Set (to anything) when running modgate's tests, this rewrites the
/// generated reference in `docs/reference/` instead of comparing with it.
pub const BLESS: &str = "MODGATE_BLESS";

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
    "GOAUTH",
];

/// Proxy settings `doctor` honours as Go's net/http does (upper case wins);
/// direct mode lets their hosts be internal (they are the operator's).
pub const HTTP_PROXY: [&str; 2] = ["HTTP_PROXY", "http_proxy"];
/// See [`HTTP_PROXY`].
pub const HTTPS_PROXY: [&str; 2] = ["HTTPS_PROXY", "https_proxy"];
/// See [`HTTP_PROXY`].
pub const NO_PROXY: [&str; 2] = ["NO_PROXY", "no_proxy"];
/// The proxy for every scheme, as modgate's HTTP client (reqwest) reads it.
pub const ALL_PROXY: [&str; 2] = ["ALL_PROXY", "all_proxy"];

#[cfg(test)]
mod tests {
    use std::path::Path;

    fn workspace() -> &'static Path {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap()
            .parent()
            .unwrap()
    }

    /// No crate reads a variable by a string of its own: every read names
    /// one of the constants here.
    #[test]
    fn no_crate_reads_an_undeclared_variable() {
        let mut offenders = Vec::new();
        let mut dirs = vec![workspace().join("crates")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    if !path.ends_with("tests") {
                        dirs.push(path);
                    }
                    continue;
                }
                if path.extension().is_none_or(|e| e != "rs") || path.ends_with("tests.rs") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                for (n, line) in text.lines().enumerate() {
                    let code = line.split("//").next().unwrap_or("");
                    for read in ["env::var(\"", "env::var_os(\"", "env = \""] {
                        if code.contains(read) {
                            offenders.push(format!(
                                "{}:{}: {}",
                                path.display(),
                                n + 1,
                                line.trim()
                            ));
                        }
                    }
                }
            }
        }
        assert!(
            offenders.is_empty(),
            "read through modgate_env constants:\n{}",
            offenders.join("\n")
        );
    }
}
