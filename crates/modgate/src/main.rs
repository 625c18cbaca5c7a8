//! modgate: a Go module proxy. The binary is the CLI (`cli`), the
//! configuration (`config`: flag > environment > file > default) and the
//! wiring of `modgate serve`; the work is done by the library crates
//! (`modgate-proxy`, `modgate-vcs`, `modgate-doctor` and the domain crates).

mod auth;
mod bundle;
mod check;
mod config;
#[cfg(test)]
mod reference;

// Many small allocations per request; mimalloc serves them faster than glibc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{CommandFactory as _, FromArgMatches as _};
use modgate_net::tls;
use modgate_proxy::{server, sumdb, telemetry, upstream, workers};
use modgate_redact::Chain;

use crate::config::ServeConfig;
use modgate_cli::LogFormat;
use modgate_cli::{
    AuditArgs, Cli, Command, ConfigCommand, GcArgs, ServeArgs, StorageCommand, SumdbCommand,
    VerifyArgs,
};
use modgate_store::Storage;

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let result = match cli.command {
        Command::Serve(args) => {
            let serve_matches = matches.subcommand_matches("serve");
            serve(*args, serve_matches.unwrap_or(&clap::ArgMatches::default()))
                .map(|()| ExitCode::SUCCESS)
        }
        Command::Doctor(args) => modgate_doctor::run(modgate_doctor::DoctorOptions {
            json: args.json,
            timeout: args.timeout,
            module: args.module,
            compare: args.compare,
            rounds: args.rounds,
        })
        .map_err(anyhow::Error::from),
        Command::Explain(args) => modgate_doctor::explain::run(args.file.as_deref(), args.json)
            .map_err(anyhow::Error::from),
        Command::Sumdb(SumdbCommand::Keygen { name, out }) => {
            modgate_sumdb_server::private::keygen(&name, &out)
                .map(|vkey| {
                    println!("{vkey}");
                    ExitCode::SUCCESS
                })
                .map_err(anyhow::Error::from)
        }
        Command::Auth(args) => auth::run(args).map(|()| ExitCode::SUCCESS),
        Command::Verify(args) => verify(args),
        Command::Gc(args) => gc(args).map(|()| ExitCode::SUCCESS),
        Command::Bundle(command) => bundle::run(command),
        Command::Prefetch(args) => bundle::prefetch(args),
        Command::Storage(StorageCommand::Copy { from, to }) => {
            copy_storage(from, to).map(|()| ExitCode::SUCCESS)
        }
        Command::Audit(args) => audit(args),
        Command::Config(ConfigCommand::Check(args)) => {
            let check = matches
                .subcommand_matches("config")
                .and_then(|m| m.subcommand_matches("check"));
            check::run(*args, check.unwrap_or(&clap::ArgMatches::default()))
                .map(|()| ExitCode::SUCCESS)
                .map_err(anyhow::Error::from)
        }
        Command::Completions { shell } => {
            let mut cli = modgate_cli::Cli::command();
            clap_complete::generate(shell, &mut cli, "modgate", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Man => clap_mangen::Man::new(modgate_cli::Cli::command())
            .render(&mut std::io::stdout())
            .map(|()| ExitCode::SUCCESS)
            .context("writing the manual page"),
        Command::Admin(command) => admin(command),
        Command::Publish(args) => {
            modgate_doctor::publish::run(&modgate_doctor::publish::PublishOptions {
                dir: args.dir,
                module: args.module,
                version: args.version,
                to: args.to,
                token: args.token,
            })
            .map(|answer| {
                println!("{answer}");
                ExitCode::SUCCESS
            })
            .map_err(anyhow::Error::from)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("modgate: {}", Chain(e.as_ref()));
            ExitCode::FAILURE
        }
    }
}

/// `modgate admin`: the action, sent to the server named.
fn admin(command: modgate_cli::AdminCommand) -> anyhow::Result<ExitCode> {
    use modgate_cli::AdminCommand as C;
    use modgate_doctor::admin::{self, Action};
    let versioned = |args: modgate_cli::AdminVersionArgs, remove: bool| {
        let (module, version) = admin::split_target(&args.target);
        let version = version.with_context(|| format!("{}: want MODULE@VERSION", args.target))?;
        let action = if remove {
            Action::Remove { module, version }
        } else {
            Action::Quarantine { module, version }
        };
        anyhow::Ok((args.server, action))
    };
    let (server, action) = match command {
        C::Quarantine(args) => versioned(args, false)?,
        C::Remove(args) => versioned(args, true)?,
        C::Refresh(args) => (
            args.server,
            Action::Refresh {
                module: args.module,
            },
        ),
        C::Prefetch(args) => {
            let gosum = admin::read_gosum(&args.gosum)?;
            (args.server, Action::Prefetch { gosum })
        }
    };
    let done = admin::run(&server.proxy, server.token.as_deref(), &action)?;
    println!("{}", done.text);
    Ok(if done.all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn serve(args: ServeArgs, matches: &clap::ArgMatches) -> anyhow::Result<()> {
    // The console's configuration summary: what `config check` prints.
    let file_text = args
        .config
        .as_deref()
        .and_then(|p| fs_err::read_to_string(p).ok());
    let summary = check::effective(file_text.as_deref(), matches)
        .into_iter()
        .map(|(id, value, source)| (id, format!("{value}  ({source})")))
        .collect();
    let config = ServeConfig::resolve(args.config.as_deref(), args.settings)?;
    init_logging(config.log_format);
    server::log_every_request(config.access_log);
    let modgate_store::settings::Opened {
        serving: store,
        storage,
    } = config.store.open()?;
    let direct = if config.upstream.has_direct() || !config.private.is_empty() {
        let direct = modgate_vcs::Direct::new(&config.direct)
            .context("cannot set up fetching from version control")?;
        Some(Arc::new(direct))
    } else {
        None
    };
    let moved = direct
        .as_ref()
        .map(|_| Arc::new(modgate_proxy::moved::MovedTags::new(store.clone())));
    let upstreams = upstream::Upstreams::new(
        &config.upstream,
        &config.server.policy,
        direct,
        &config.private,
        moved,
    )
    .context("cannot build the HTTP client")?;
    let checksums = sumdb::client::Checksums::new(
        &config.sumdb,
        store.clone(),
        config
            .server
            .policy
            .http_client()
            .context("cannot build the HTTP client")?,
    )
    .context("invalid checksum database")?;
    if config.sumdb.is_off() {
        tracing::warn!(
            "checksum database verification is off (--sumdb off): public modules are checked against the module zip rules only"
        );
    }
    let log = match &config.private_sumdb_key {
        Some(key) => Some(
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
                .block_on(modgate_sumdb_server::private::PrivateLog::open(
                    key,
                    // It checks that what it stored is what other replicas
                    // read, and a tier would show it its own copy.
                    storage,
                ))
                .context("cannot open the private checksum database")?,
        ),
        None => None,
    };
    if let Some(log) = &log {
        tracing::info!(
            records = log.size(),
            "private checksum database: clients set GOSUMDB=\"{}\"",
            log.verifier_key()
        );
    }
    // Before the listener: a bad certificate or key stops start-up.
    let tls = match &config.tls {
        Some(files) => Some(tls::server_config(files.clone()).context("cannot serve TLS")?),
        None => None,
    };
    let access = match &config.auth_file {
        Some(path) => {
            Some(modgate_auth::access::Access::load(path).context("cannot load the auth file")?)
        }
        None => None,
    };
    let audit = match &config.audit_log {
        Some(path) => Some(
            modgate_auth::access::AuditLog::open(path)
                .with_context(|| format!("cannot open the audit log {}", path.display()))?,
        ),
        None => None,
    };
    let dl = match &config.server.dl_upstream {
        Some(base) => Some(Arc::new(
            modgate_proxy::dl::ReleaseMirror::new(
                base.clone(),
                store.clone(),
                &config.server.policy,
            )
            .context("cannot set up the Go release mirror")?,
        )),
        None => None,
    };
    let vulndb = match &config.server.vulndb {
        Some(url) => Some(Arc::new(modgate_proxy::vulndb::VulnDb::new(
            url,
            config
                .server
                .policy
                .http_client()
                .context("cannot build the HTTP client")?,
            &config.server.policy,
            &modgate_net::credentials::load(),
            store.clone(),
            config.server.vulndb_refresh,
        ))),
        None => None,
    };
    let metrics = telemetry::metric::install().context("cannot install the metrics recorder")?;
    telemetry::metric::build_info(
        env!("CARGO_PKG_VERSION"),
        modgate_cli::COMMIT,
        modgate_cli::COMMIT_DATE,
    );
    let state = Arc::new(server::AppState {
        proxy: modgate_proxy::Proxy::new(
            store,
            upstreams,
            config.server.cache.clone(),
            checksums,
            log,
        ),
        metrics: metrics.clone(),
        access,
        audit,
        explain: explain_failure,
        dl,
        vulndb,
        policy: config.server.dependency_policy.clone(),
        console: modgate_proxy::console::Console::new(modgate_cli::VERSION, summary),
    });
    let listener = std::net::TcpListener::bind(&config.listen)
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(version = modgate_cli::VERSION, %addr, tls = tls.is_some(), storage = %config.store.storage, upstream = %config.upstream, "modgate serving");
    // Scripts and tests read the bound address (useful with port 0) from stdout.
    let mut stdout = std::io::stdout();
    let scheme = if tls.is_some() { "https" } else { "http" };
    writeln!(stdout, "modgate listening on {scheme}://{addr}")?;
    stdout.flush()?;
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    let proxy = state.proxy.clone();
    let watching = state.clone();
    let settling = proxy.clone();
    let settle: workers::Settle = Arc::new(move || {
        let proxy = settling.clone();
        Box::pin(async move { proxy.settle().await })
    });
    workers::run(
        listener,
        server::router(state),
        tls,
        workers,
        config.server.limits.clone(),
        async {
            tokio::select! {
                () = shutdown() => {},
                () = telemetry::metric::upkeep(metrics) => {},
                () = proxy.upstreams().watch() => {},
                () = watching.console.watch(&watching.proxy) => {},
                () = async {
                    match &watching.access {
                        Some(access) => access.watch().await,
                        None => std::future::pending().await,
                    }
                } => {},
                () = async {
                    match &watching.vulndb {
                        Some(db) => db.watch().await,
                        None => std::future::pending().await,
                    }
                } => {},
                () = async {
                    // Beside serving: a version it has not finished is not listed meanwhile.
                    if !config.private.is_empty() {
                        match watching.proxy.repair_private().await {
                            Ok(()) => tracing::info!("start-up check of private modules' versions done"),
                            Err(e) => tracing::error!(error = %Chain(&e), "start-up check of private modules' versions failed"),
                        }
                    }
                    std::future::pending().await
                } => {},
                () = async {
                    match watching.proxy.log() {
                        Some(log) => log.watch().await,
                        None => std::future::pending().await,
                    }
                } => {},
            }
        },
        settle,
    )?;
    close(proxy.store().as_ref());
    tracing::info!("modgate stopped");
    Ok(())
}

/// How long a command waits at its end for the storage to close.
const STORE_CLOSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Removes what only a running process keeps in `store` (a bucket's write
/// probe), when a command that opened it ends; a failure only warns.
fn close(store: &dyn modgate_store::Store) {
    let closed = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        // The timer needs the runtime: made inside it.
        .map(|rt| {
            rt.block_on(async { tokio::time::timeout(STORE_CLOSE_TIMEOUT, store.close()).await })
        });
    match closed {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => tracing::warn!(error = %Chain(&e), "could not close the storage"),
        Ok(Err(_)) => tracing::warn!("could not close the storage: it did not answer in time"),
        Err(e) => tracing::warn!(error = %Chain(&e), "could not close the storage"),
    }
}

/// An upstream failure in words: the cause `modgate explain` gives for it.
fn explain_failure(error: &str) -> Option<String> {
    // Only the cause is used, which names no proxy: any GOPROXY does.
    modgate_doctor::explain::explain(error, &modgate_doctor::ProxyList::default())
        .into_iter()
        .next()
        .map(|e| e.cause)
}

/// `modgate storage copy`, with a progress bar on a terminal.
fn copy_storage(from: std::path::PathBuf, to: std::path::PathBuf) -> anyhow::Result<()> {
    init_logging(LogFormat::Text);
    let (from, to) = (Storage::resolve(Some(from))?, Storage::resolve(Some(to))?);
    // The source first: a mistyped one must not leave a new destination behind.
    let source = from.open_existing("--storage")?;
    let dest = to.open(modgate_store::DEFAULT_FILE_MODE)?;
    let bar = indicatif::ProgressBar::new_spinner().with_style(
        indicatif::ProgressStyle::with_template("{spinner} {elapsed} {msg}")
            .expect("a valid template"),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    let done = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(modgate_store::copy::copy(&source, &dest, |module, c| {
            bar.set_message(format!(
                "{} copied ({}), {} already there — {module}",
                c.objects,
                indicatif::HumanBytes(c.bytes),
                c.skipped
            ));
        }));
    close(source.as_ref());
    close(dest.as_ref());
    let done = done.with_context(|| format!("copying {from} to {to}"))?;
    bar.finish_and_clear();
    println!(
        "copied {} objects ({}) from {from} to {to}; {} were there already",
        done.objects,
        indicatif::HumanBytes(done.bytes),
        done.skipped
    );
    Ok(())
}

/// `modgate audit`: exit status 1 when a finding of a `--fail-on` kind is reported.
fn audit(args: AuditArgs) -> anyhow::Result<ExitCode> {
    let go_mod = if args.input.is_dir() {
        args.input.join("go.mod")
    } else {
        args.input.clone()
    };
    let report = modgate_doctor::audit::run(&modgate_doctor::audit::AuditOptions {
        input: args.input,
        proxy: match args.proxy {
            Some(proxy) => proxy,
            None => modgate_bundle::create::proxy_from_env()?,
        },
        vulndb: args.vulndb,
        stale: args.stale,
    })?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else if args.sarif {
        let sarif = report.sarif(&go_mod.display().to_string());
        println!("{}", serde_json::to_string_pretty(&sarif)?);
    } else {
        print!("{}", report.table());
    }
    Ok(if report.fails(&args.fail_on) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `modgate verify`: exit status 1 when anything failed.
fn verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    init_logging(LogFormat::Text);
    let storage = Storage::resolve(args.storage)?;
    let store = storage.open_store("--storage")?;
    let sumdb = (args.sumdb != "off").then_some(args.sumdb.as_str());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let checked = (|| {
        let report = runtime
            .block_on(modgate_proxy::verify::verify(
                &store,
                sumdb,
                args.quarantine,
            ))
            .with_context(|| format!("cannot read storage {storage}"))?;
        let origins = if args.origin {
            let private = args.private.as_deref().unwrap_or_default();
            let checked = runtime
                .block_on(modgate_proxy::moved::verify_origins_of(&store, private))
                .with_context(|| format!("checking the tags of {storage}"))?;
            Some(checked)
        } else {
            None
        };
        anyhow::Ok((report, origins))
    })();
    close(store.as_ref());
    let (report, origins) = checked?;
    let moved = origins.as_ref().map_or(0, |o| o.moved.len());
    if args.json {
        let mut json = serde_json::to_value(&report)?;
        if let Some(origins) = &origins {
            json["origins"] = serde_json::to_value(origins)?;
        }
        println!("{json}");
    } else {
        print!("{}", report.text(&storage));
        if let Some(origins) = &origins {
            print!("{}", origins.text());
        }
    }
    Ok(if report.failures.is_empty() && moved == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `modgate gc`.
fn gc(args: GcArgs) -> anyhow::Result<()> {
    init_logging(LogFormat::Text);
    let mut keep = std::collections::HashSet::new();
    for file in &args.keep {
        let text = fs_err::read_to_string(file)?;
        let entries = modgate_module::gosum::parse_go_sum(&text)
            .with_context(|| format!("--keep {}", file.display()))?;
        keep.extend(entries.into_iter().map(|e| (e.module, e.version)));
    }
    let storage = Storage::resolve(args.storage)?;
    let store = storage.open_store("--storage")?;
    let opts = modgate_proxy::gc::Options {
        max_size: args.max_size.map(|s| s.0),
        unused_for: args.unused_for,
        keep,
        dry_run: args.dry_run,
    };
    let report = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(modgate_proxy::gc::gc(store.as_ref(), &opts));
    close(store.as_ref());
    let report = report.with_context(|| format!("cleaning storage {storage}"))?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{}", report.text(&storage));
    }
    Ok(())
}

fn init_logging(format: LogFormat) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_env(modgate_env::LOG)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

/// Keeps transparent huge pages out of this process: mimalloc asks for
/// them on its arenas, and a 2 MiB page stays resident while any of it is
/// used, so a cold run of 34 modules kept 55 MiB after the burst against
/// 15 MiB without (same speed, measured with bench/cold.sh and
/// bench/warm-serving.sh). It runs as a constructor ordered before
/// mimalloc's (priority 101), whose arena's first pages were otherwise
/// faulted in huge before `main`: 4 MiB of an idle server.
#[used]
#[unsafe(link_section = ".init_array.00100")]
static DISABLE_HUGE_PAGES: extern "C" fn() = disable_huge_pages;

extern "C" fn disable_huge_pages() {
    // SAFETY: PR_SET_THP_DISABLE takes no pointers.
    unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
}

/// Gives back to the system what this thread's allocator heap holds free:
/// mimalloc purges only as it allocates again, so an idle server would
/// keep what a burst of clients made it take.
fn release_memory() {
    // SAFETY: mi_collect only frees this thread's unused pages.
    unsafe { libmimalloc_sys::mi_collect(false) }
}

/// Resolves on SIGINT or SIGTERM; in-flight requests then finish.
async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
