//! modgate's command line: every subcommand, flag and setting, from which
//! `--help`, the manual page, the completions and the reference in
//! `docs/reference/` are made.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use modgate_env as env;

use modgate_env::value::Size;

mod settings;
pub use settings::{LogFormat, Settings};

/// The commit and its date this build was made from (see build.rs).
pub const COMMIT: &str = env!("MODGATE_COMMIT");
pub const COMMIT_DATE: &str = env!("MODGATE_COMMIT_DATE");

/// `0.1.0 (commit 0123456789ab, 2026-12-07)`: what `--version`, the
/// start-up line and `modgate_build_info` say.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("MODGATE_COMMIT"),
    ", ",
    env!("MODGATE_COMMIT_DATE"),
    ")"
);

#[derive(Debug, Parser)]
#[command(
    name = "modgate",
    version = VERSION,
    about = "A Go module proxy that keeps builds working"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the GOPROXY protocol from the cache, fetching misses from upstream.
    ///
    /// Every setting is a flag, an environment variable and a key of the
    /// --config file: a flag beats its variable, which beats the file, which
    /// beats the default. Durations are Go's (300ms, 1m30s, 2h) plus d for
    /// days; sizes are 512B, 64KB or 64KiB, 20GB or 20GiB. What is logged is
    /// MODGATE_LOG's filter, in tracing's EnvFilter syntax (e.g.
    /// `info,modgate=debug`) [default: info]. Other tools' variables, read as
    /// those tools read them: AWS_ENDPOINT_URL, AWS_COPY_IF_NOT_EXISTS and the
    /// other AWS_* settings (s3:// storage); NETRC (else HOME's .netrc) for
    /// upstream credentials; GIT_SSH and GIT_SSH_COMMAND for git over ssh;
    /// USER and FOSSIL_HOME for fossil.
    Serve(Box<ServeArgs>),
    /// Check, layer by layer, why the go command cannot download modules here.
    ///
    /// The go command's settings are read as go reads them (GOENV's file,
    /// then GOPROXY, GOSUMDB, GOPRIVATE, GOAUTH… from the environment), go
    /// and git are found on PATH, and NO_COLOR turns colour off.
    Doctor(DoctorArgs),
    /// Read go command output and explain each failure: cause and fix.
    ///
    /// NO_COLOR turns colour off.
    Explain(ExplainArgs),
    /// modgate's own checksum database.
    #[command(subcommand)]
    Sumdb(SumdbCommand),
    /// Move or check storage.
    #[command(subcommand)]
    Storage(StorageCommand),
    /// Check every stored zip and go.mod again: the zip rules, the stored
    /// hash, the checksum database's kept records.
    Verify(VerifyArgs),
    /// Remove the least recently served versions from storage, past an age
    /// or a size; never those a --keep go.sum pins nor those modgate's own
    /// checksum database records. Safe while modgate serves the storage.
    Gc(GcArgs),
    /// Edit the auth file: users, groups, tokens (access rules are edited by hand).
    Auth(AuthArgs),
    /// Carry module versions into an air-gapped site as one file, with the
    /// checksum database's proofs, so that go keeps GOSUMDB on there.
    #[command(subcommand)]
    Bundle(BundleCommand),
    /// Ask a running modgate for every version a go.sum or list names, so
    /// that it fetches, verifies and stores each before a build does.
    Prefetch(PrefetchArgs),
    /// Publish a private module version from a directory (no git needed):
    /// builds its zip with the module zip rules and uploads it to a modgate
    /// server, which needs the `publish` right on the module's pattern.
    ///
    /// Credentials: --token, else the URL's, else GOAUTH's methods (by
    /// default netrc: NETRC's file, else HOME's .netrc), as go finds them.
    Publish(PublishArgs),
    /// An operator's action on a running modgate (the admin right): take a
    /// version out, forget a module's list, prefetch a go.sum. Each is
    /// audited. Credentials as for publish: --token, else the URL's, else
    /// GOAUTH's methods. Exits 1 with the server's reason when it refuses.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Check a module's build list (computed from go.mod files through a
    /// proxy, no go toolchain needed) for vulnerable, retracted and
    /// deprecated modules. Matching is module-level.
    Audit(AuditArgs),
    /// Check the configuration `serve` would run with (file, environment,
    /// flags; the auth file and policies it names): errors name the file's
    /// line; otherwise every setting is printed with its source, credentials
    /// redacted.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print the shell completion script for bash, zsh, fish, elvish or
    /// powershell (e.g. `modgate completions bash > /etc/bash_completion.d/modgate`).
    Completions {
        /// The shell the script is for.
        shell: clap_complete::Shell,
    },
    /// Print the manual page, in roff (`modgate man | man -l -`).
    Man,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// A module directory, its go.mod, or a go.sum.
    #[arg(value_name = "DIR|go.mod|go.sum", default_value = ".")]
    pub input: PathBuf,
    /// The GOPROXY the go.mod files are fetched from, e.g. modgate's URL
    /// (`user:token@` allowed); default the first URL of GOPROXY, as for
    /// `bundle create` and `prefetch`.
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,
    /// Vulnerability database, e.g. modgate's mirror: http://modgate:3000/vuln.
    #[arg(long, default_value = "https://vuln.go.dev", value_name = "URL")]
    pub vulndb: String,
    /// Print the report as JSON: {"module","build_list","findings":[{"module","version","kind","id","aliases","fixed","detail"}],"unchecked","note"}.
    #[arg(long)]
    pub json: bool,
    /// Print the report as SARIF 2.1.0, for code-scanning tools.
    #[arg(long, conflicts_with = "json")]
    pub sarif: bool,
    /// Also report modules whose latest version is older than this: a
    /// duration, e.g. 365d or 1095d (years and months vary in length, so
    /// they are not units).
    #[arg(long, value_name = "DUR", value_parser = modgate_env::value::parse_age)]
    pub stale: Option<Duration>,
    /// Exit with status 1 when a finding of these kinds is in the report.
    #[arg(long, value_delimiter = ',', value_name = "vuln,retracted,deprecated,stale,major",
          value_parser = parse_kind)]
    pub fail_on: Vec<modgate_doctor::audit::Kind>,
}

fn parse_kind(s: &str) -> Result<modgate_doctor::audit::Kind, String> {
    modgate_doctor::audit::Kind::parse(s)
        .ok_or_else(|| format!("{s:?}: want vuln, retracted, deprecated, stale or major"))
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Load the configuration as `serve` does, check it, and print the
    /// effective settings; exits non-zero on the first error.
    Check(Box<ServeArgs>),
}

#[derive(Debug, Subcommand)]
pub enum StorageCommand {
    /// Copy every module version from one storage to another (a directory
    /// or s3://BUCKET[/PREFIX]); what the destination has is skipped, so an
    /// interrupted copy resumes.
    Copy {
        /// The storage to copy from: a directory or s3://BUCKET[/PREFIX]
        /// (named --storage as in every command that reads a store).
        #[arg(long = "storage", alias = "from", value_name = "DIR|URL")]
        from: PathBuf,
        /// The storage to copy to: a directory or s3://BUCKET[/PREFIX].
        #[arg(long, value_name = "DIR|URL")]
        to: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum BundleCommand {
    /// Write a bundle of the versions the sources name, fetched through a
    /// GOPROXY or read from a store and proven by the checksum database;
    /// fails, naming each, when any version cannot be had.
    Create(BundleCreateArgs),
    /// Check a bundle whole (signature, hashes, proofs) and store it; a
    /// bundle that fails any check leaves nothing in the store.
    Import(BundleImportArgs),
    /// Write a new signer key for `bundle create --sign` and print its
    /// verifier key (for `bundle import --verify-key`).
    Keygen {
        /// The key's name, e.g. bundles.corp.example.
        #[arg(long)]
        name: String,
        /// Where to write the signer key (created with mode 0600).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("sources").required(true).multiple(true).args(["from", "from_store", "toolchain"])))]
pub struct BundleCreateArgs {
    /// A go.sum (every version it names; go.mod alone for `/go.mod`-only
    /// lines), a go.mod (the module graph go loads for it: every go.mod it
    /// reads, the zip of every version it selects) or a list of
    /// `module@version` / `module@latest` lines. Repeatable.
    #[arg(long, value_name = "go.sum|go.mod|LIST")]
    pub from: Vec<PathBuf>,
    /// Every version the --storage store holds.
    #[arg(long, requires = "storage")]
    pub from_store: bool,
    /// With --from-store: only module paths matching these globs (GOPRIVATE syntax).
    #[arg(long, value_name = "GLOBS", requires = "from_store")]
    pub pattern: Option<String>,
    /// Add the golang.org/toolchain module of this Go release (go1.23.4),
    /// which GOTOOLCHAIN switching downloads, for each --platform.
    #[arg(long, value_name = "RELEASE", requires = "platform")]
    pub toolchain: Option<String>,
    /// With --toolchain: the platforms, as GOOS/GOARCH, comma-separated.
    #[arg(
        long,
        value_name = "GOOS/GOARCH,...",
        value_delimiter = ',',
        requires = "toolchain"
    )]
    pub platform: Vec<String>,
    /// The GOPROXY to fetch through; default the first URL of GOPROXY.
    #[arg(long, value_name = "URL", conflicts_with = "storage")]
    pub proxy: Option<String>,
    /// Read the artifacts from this store (a directory or s3://BUCKET[/PREFIX]) instead.
    #[arg(long, value_name = "DIR|URL")]
    pub storage: Option<PathBuf>,
    /// Checksum database in GOSUMDB syntax (`name+hash+key [url]`) [default: GOSUMDB's].
    #[arg(long, value_name = "GOSUMDB")]
    pub sumdb: Option<String>,
    /// The bundle to write; its manifest is also written to FILE.manifest.json.
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    pub out: PathBuf,
    /// Sign the manifest with this signer key file (`bundle keygen` or `sumdb keygen`).
    #[arg(long, value_name = "KEYFILE")]
    pub sign: Option<PathBuf>,
    /// Leave out what this earlier bundle (or its .manifest.json) holds.
    #[arg(long, value_name = "OLD.manifest.json")]
    pub since: Option<PathBuf>,
    /// Add a snapshot of this vulnerability database (vuln.go.dev's
    /// layout), for the site's `serve --vulndb` to serve offline.
    #[arg(long, value_name = "URL")]
    pub vulndb: Option<String>,
    /// Print a JSON summary at the end.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PrefetchArgs {
    /// A go.sum or a list of `module@version` / `module@latest` lines. Repeatable.
    #[arg(long, required = true, value_name = "go.sum|LIST")]
    pub from: Vec<PathBuf>,
    /// The modgate to warm; with --storage, the GOPROXY to fetch through.
    /// Default the first URL of GOPROXY.
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,
    /// Warm this store (a directory or s3://BUCKET[/PREFIX]) instead of a
    /// running modgate: every version is fetched, checked against the
    /// checksum database and stored with its proofs, as a bundle import would.
    #[arg(long, value_name = "DIR|URL")]
    pub storage: Option<PathBuf>,
    /// With --storage: checksum database in GOSUMDB syntax (`name+hash+key [url]`) [default: GOSUMDB's].
    #[arg(long, value_name = "GOSUMDB", requires = "storage")]
    pub sumdb: Option<String>,
    /// Print a JSON summary at the end.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("trust").required(true).args(["verify_key", "allow_unsigned"])))]
pub struct BundleImportArgs {
    /// The bundle.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The storage to fill: a directory or s3://BUCKET[/PREFIX] (as serve's).
    #[arg(long, env = env::STORAGE, value_name = "DIR|URL")]
    pub storage: Option<PathBuf>,
    /// The verifier key the bundle must be signed by (`name+hash+key`, as keygen prints it).
    #[arg(long, value_name = "VKEY")]
    pub verify_key: Option<String>,
    /// Import a bundle whoever made it: the checksum database's proofs are
    /// still checked, under the database key its manifest names.
    #[arg(long)]
    pub allow_unsigned: bool,
    /// Refuse a bundle proven by another checksum database key than this one.
    #[arg(long, value_name = "NAME+HASH+KEY")]
    pub sumdb: Option<String>,
    /// Print a JSON summary at the end.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The storage to check: a directory or s3://BUCKET[/PREFIX] (as serve's).
    #[arg(long, env = env::STORAGE, value_name = "DIR|URL")]
    pub storage: Option<PathBuf>,
    /// Name of the checksum database whose kept lookups the hashes are
    /// compared with; `off` compares with the stored hashes only.
    #[arg(long, default_value = "sum.golang.org", value_name = "NAME")]
    pub sumdb: String,
    /// Print the report as JSON: {"zips","mods","failures":[{"module","version","file","problem","quarantined"}]}.
    #[arg(long)]
    pub json: bool,
    /// Move what fails to .quarantine/ in the storage, so it is fetched again.
    #[arg(long)]
    pub quarantine: bool,
    /// Also ask each repository (git ls-remote) whether the tag every stored
    /// version was built from (its .info Origin) still names that commit:
    /// a tag moved or deleted since fails.
    #[arg(long)]
    pub origin: bool,
    /// With --origin: the repositories on the hosts of these patterns
    /// (GOPRIVATE syntax, as serve's) are the operator's, asked wherever
    /// they are; others only on public addresses.
    #[arg(long, env = env::PRIVATE, value_name = "PATTERNS", requires = "origin")]
    pub private: Option<String>,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("bound").required(true).multiple(true).args(["max_size", "unused_for"])))]
pub struct GcArgs {
    /// The storage to clean: a directory or s3://BUCKET[/PREFIX] (as serve's).
    #[arg(long, env = env::STORAGE, value_name = "DIR|URL")]
    pub storage: Option<PathBuf>,
    /// Remove least recently served versions until the versions total at
    /// most this size, e.g. 50GiB (2^30 bytes each) or 50GB (10^9 bytes each).
    #[arg(long, value_name = "SIZE")]
    pub max_size: Option<Size>,
    /// Remove versions not served for this long: a duration of whole days,
    /// at least 1d, e.g. 90d (access is recorded per day).
    #[arg(long, value_name = "DUR", value_parser = modgate_env::value::parse_days)]
    pub unused_for: Option<Duration>,
    /// Never remove a version this go.sum (or module@version list) names. Repeatable.
    #[arg(long, value_name = "go.sum")]
    pub keep: Vec<PathBuf>,
    /// Report what would be removed; remove nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the report as JSON: {"dry_run","versions","bytes","removed":[{"module","version","bytes","unused_days"}],"freed","pinned","logged","vulndb_blobs_removed"}.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AuthArgs {
    /// The auth file (created, mode 0600, when missing).
    #[arg(long, env = env::AUTH_FILE, value_name = "FILE", global = true)]
    pub auth_file: Option<PathBuf>,
    #[command(subcommand)]
    pub command: AuthCommand,
}

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Add a user; the password is read from stdin (prompted for on a
    /// terminal; an empty one makes a user who logs in with tokens only).
    AddUser {
        name: String,
        /// Groups the user belongs to, comma-separated.
        #[arg(long, value_delimiter = ',')]
        groups: Vec<String>,
        /// May read and publish everything, and see /metrics.
        #[arg(long)]
        admin: bool,
    },
    /// Set a user's password (read as for add-user).
    Passwd { name: String },
    /// Create an API token acting as a user; printed once, alone on the last line.
    AddToken {
        name: String,
        /// When it stops working: a date-time (2027-01-31T00:00:00Z) or a
        /// duration from now (90d, 12h, 1h30m).
        #[arg(long, value_name = "WHEN")]
        expires: Option<String>,
    },
    /// List users and tokens (never a secret or a hash).
    List,
    /// Revoke a token by its id (see list).
    Revoke { id: String },
    /// Remove a user and their tokens.
    RemoveUser { name: String },
}

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The module's root directory (its go.mod declares --module).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// The module path.
    #[arg(long, value_name = "PATH")]
    pub module: String,
    /// The version to publish, e.g. v1.2.3 (never replaced once published).
    #[arg(long, value_name = "VERSION")]
    pub version: String,
    /// The modgate server, e.g. https://goproxy.corp.example (`user:token@` allowed).
    #[arg(long, value_name = "URL")]
    pub to: String,
    /// A bearer token; without one, the URL's credentials or ~/.netrc are used.
    #[arg(long, env = env::TOKEN, hide_env_values = true, value_name = "TOKEN")]
    pub token: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Set a version aside (into storage's .quarantine/), out of what is
    /// served: the next request fetches it again. Refused for a version
    /// modgate's own checksum database records.
    Quarantine(AdminVersionArgs),
    /// Delete a version's files (list, @latest, memory cache and disk tier
    /// forget it): the next request fetches it again. Refused for a version
    /// modgate's own checksum database records.
    Remove(AdminVersionArgs),
    /// Forget a module's cached list and @latest: the next request asks the upstreams.
    Refresh(AdminModuleArgs),
    /// Fetch every version a go.sum names through modgate (access, policy
    /// and verification apply) and compare the hashes; prints each
    /// version's outcome and exits 1 if any failed.
    Prefetch(AdminPrefetchArgs),
}

/// The modgate an admin action goes to.
#[derive(Debug, Args)]
pub struct AdminServer {
    /// The modgate server, e.g. https://goproxy.corp.example (`user:token@` allowed).
    #[arg(long, value_name = "URL")]
    pub proxy: String,
    /// A bearer token; without one, the URL's credentials or ~/.netrc are used.
    #[arg(long, env = env::TOKEN, hide_env_values = true, value_name = "TOKEN")]
    pub token: Option<String>,
}

#[derive(Debug, Args)]
pub struct AdminVersionArgs {
    #[command(flatten)]
    pub server: AdminServer,
    /// The version, e.g. example.com/lib@v1.2.3.
    #[arg(value_name = "MODULE@VERSION")]
    pub target: String,
}

#[derive(Debug, Args)]
pub struct AdminModuleArgs {
    #[command(flatten)]
    pub server: AdminServer,
    /// The module path, e.g. example.com/lib.
    #[arg(value_name = "MODULE")]
    pub module: String,
}

#[derive(Debug, Args)]
pub struct AdminPrefetchArgs {
    #[command(flatten)]
    pub server: AdminServer,
    /// The go.sum, or - for stdin.
    #[arg(value_name = "go.sum|-")]
    pub gosum: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum SumdbCommand {
    /// Write a new signer key for `serve --private-sumdb-key` and print its
    /// verifier key (for the go command's GOSUMDB).
    Keygen {
        /// The database's name, e.g. sum.corp.example.
        #[arg(long)]
        name: String,
        /// Where to write the signer key (created with mode 0600).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

/// Every setting is also an environment variable and a key of the `--config`
/// file; a flag beats the environment, which beats the file, which beats the
/// default.
#[derive(Debug, Args, Default)]
pub struct ServeArgs {
    /// TOML configuration file.
    #[arg(long, env = env::CONFIG, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub settings: Settings,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print the checks as JSON: {"checks":[{"target","category","status","detail","fix",…}]}.
    #[arg(long)]
    pub json: bool,
    /// Bound every probe (DNS, connect, TLS and answer together), e.g. 2s or 500ms.
    #[arg(long, default_value = "5s", value_name = "DUR", value_parser = modgate_env::value::parse_timeout)]
    pub timeout: Duration,
    /// Module whose version list (`<proxy>/<module>/@v/list`) the probes fetch.
    #[arg(long, default_value = "golang.org/x/text", value_name = "PATH")]
    pub module: String,
    /// Probe each mirror several times and recommend the fastest healthy GOPROXY order.
    #[arg(long)]
    pub compare: bool,
    /// Probes per mirror for --compare.
    #[arg(long, default_value_t = 5, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub rounds: u32,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// File with go command output; stdin when absent or `-`.
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Print a JSON array of {"line","category","cause","fix"}.
    #[arg(long)]
    pub json: bool,
}
