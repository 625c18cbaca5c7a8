//! `modgate bundle`: the wiring of create, import and keygen, and their
//! progress (a bar on a terminal, plain lines otherwise).

use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use modgate_bundle::create::{self, CreateOptions, Origin, Source, VulndbSnapshot};
use modgate_bundle::import::{self, ImportOptions, Trust};
use modgate_bundle::{self as format, Progress};
use modgate_module::goproxy::ProxyList;
use modgate_sumdb::SumdbSpec;

use crate::cli::{BundleCommand, BundleCreateArgs, BundleImportArgs, PrefetchArgs};
use crate::config::LogFormat;
use modgate_store::Storage;

pub fn run(command: BundleCommand) -> anyhow::Result<ExitCode> {
    match command {
        BundleCommand::Create(args) => create(args),
        BundleCommand::Import(args) => import(args),
        BundleCommand::Keygen { name, out } => {
            let vkey = modgate_sumdb_server::private::keygen(&name, &out)?;
            println!("{vkey}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

fn create(args: BundleCreateArgs) -> anyhow::Result<ExitCode> {
    crate::init_logging(LogFormat::Text);
    let mut sources: Vec<Source> = args.from.into_iter().map(Source::from_file).collect();
    if args.from_store {
        sources.push(Source::Store {
            pattern: args.pattern,
        });
    }
    if let Some(release) = args.toolchain {
        sources.push(Source::Toolchain {
            release,
            platforms: args.platform,
        });
    }
    let origin = match (&args.storage, args.proxy) {
        (Some(storage), _) => {
            let storage = Storage::resolve(Some(storage.clone()))?;
            Origin::Store(storage.open(modgate_store::DEFAULT_FILE_MODE)?)
        }
        (None, proxy) => {
            let url = match proxy {
                Some(url) => url,
                None => proxy_from_env()?,
            };
            Origin::Proxy {
                url: modgate_net::goauth::url_with_credentials(&url)?,
                client: modgate_net::client(Duration::from_secs(10), Duration::from_secs(60))
                    .context("cannot build the HTTP client")?,
            }
        }
    };
    let sumdb = sumdb_spec(args.sumdb)?;
    let sign = match &args.sign {
        Some(path) => Some(
            fs_err::read_to_string(path)
                .with_context(|| format!("cannot read the signing key {}", path.display()))?,
        ),
        None => None,
    };
    let since = match &args.since {
        Some(path) => Some(format::read_manifest(path)?),
        None => None,
    };
    let out = args.out.clone();
    let mut shown = Shown::new("bundle create");
    let manifest = runtime()?.block_on(create::create(
        CreateOptions {
            sources,
            origin,
            sumdb,
            out: out.clone(),
            sign,
            since,
            vulndb: args.vulndb.map(VulndbSnapshot::new),
        },
        &mut |p| shown.show(p),
    ));
    shown.finish();
    let manifest = match manifest {
        Ok(manifest) => manifest,
        Err(e) if args.json => {
            // CI reads what failed, and which versions, from the summary too.
            let missing = match &e {
                format::BundleError::Missing(versions) => versions.clone(),
                _ => Vec::new(),
            };
            println!(
                "{}",
                serde_json::json!({ "error": e.to_string(), "missing": missing })
            );
            return Err(e.into());
        }
        Err(e) => return Err(e.into()),
    };
    let zips = manifest.modules.iter().filter(|e| e.zip.is_some()).count();
    let size = fs_err::metadata(&out).map(|m| m.len()).unwrap_or_default();
    if args.json {
        let summary = serde_json::json!({
            "bundle": out,
            "manifest": create::manifest_path(&out),
            "modules": manifest.modules.len(),
            "zips": zips,
            "bytes": size,
            "signed": args.sign.is_some(),
            "sumdb": manifest.sumdb.name,
            "tree": manifest.sumdb.tree,
            "since": manifest.since,
        });
        println!("{summary}");
    } else {
        println!(
            "wrote {} ({}): {} module versions ({zips} with zips), proven in tree {} of {}{}",
            out.display(),
            indicatif::HumanBytes(size),
            manifest.modules.len(),
            manifest.sumdb.tree.size,
            manifest.sumdb.name,
            if args.sign.is_some() { ", signed" } else { "" }
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `e`, and for a 401 from the proxy, where credentials come from.
fn auth_hint(e: format::BundleError) -> anyhow::Error {
    use format::BundleError;
    let unauthorized = matches!(&e, BundleError::Fetch { reason, .. } if reason.starts_with("401"));
    let e = anyhow::Error::from(e);
    match modgate_net::goauth::GoAuth::from_env() {
        Ok(auth) if unauthorized => e.context(format!(
            "the proxy wants credentials{}",
            auth.unauthorized_hint()
        )),
        _ => e,
    }
}

/// `--sumdb`, else GOSUMDB's, else sum.golang.org.
fn sumdb_spec(arg: Option<String>) -> anyhow::Result<SumdbSpec> {
    let sumdb = arg
        .or_else(|| {
            std::env::var(modgate_env::GOSUMDB)
                .ok()
                .filter(|v| !v.is_empty())
        })
        .unwrap_or_else(|| "sum.golang.org".to_owned());
    sumdb
        .parse()
        .with_context(|| format!("invalid --sumdb {sumdb:?}"))
}

pub fn prefetch(args: PrefetchArgs) -> anyhow::Result<ExitCode> {
    crate::init_logging(LogFormat::Text);
    let url = match args.proxy {
        Some(url) => url,
        None => proxy_from_env()?,
    };
    let sources: Vec<Source> = args.from.into_iter().map(Source::from_file).collect();
    let url = modgate_net::goauth::url_with_credentials(&url)?;
    let client = modgate_net::client(Duration::from_secs(10), Duration::from_secs(60))
        .context("cannot build the HTTP client")?;
    if let Some(storage) = args.storage {
        let origin = Origin::Proxy { url, client };
        return prefetch_store(sources, origin, storage, args.sumdb, args.json);
    }
    let mut shown = Shown::new("prefetch");
    let done = runtime()?.block_on(create::prefetch(&sources, &url, client, &mut |p| {
        shown.show(p)
    }));
    shown.finish();
    let done = done.map_err(auth_hint)?;
    if args.json {
        println!("{}", serde_json::to_string(&done)?);
    } else {
        println!(
            "prefetched {} module versions ({}) through {}",
            done.modules,
            indicatif::HumanBytes(done.bytes),
            modgate_redact::redact_url(&url)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `prefetch --storage`: a bundle made through `url` into a scratch
/// directory and imported at once, so that a store is warmed with exactly
/// the checks and atomicity of `bundle create` and `bundle import`.
fn prefetch_store(
    sources: Vec<Source>,
    origin: Origin,
    storage: std::path::PathBuf,
    sumdb: Option<String>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let Origin::Proxy { url, .. } = &origin else {
        bail!("prefetch fetches through a proxy")
    };
    let url = url.clone();
    let storage = Storage::resolve(Some(storage))?;
    let store = storage.open(modgate_store::DEFAULT_FILE_MODE)?;
    let scratch = tempfile::tempdir().context("cannot make a scratch directory")?;
    let file = scratch.path().join("prefetch.bundle");
    let runtime = runtime()?;
    let mut shown = Shown::new("prefetch");
    let created = runtime.block_on(create::create(
        CreateOptions {
            sources,
            origin,
            sumdb: sumdb_spec(sumdb)?,
            out: file.clone(),
            sign: None,
            since: None,
            vulndb: None,
        },
        &mut |p| shown.show(p),
    ));
    shown.finish();
    created?;
    let mut shown = Shown::new("prefetch");
    let imported = runtime.block_on(import::import(
        ImportOptions {
            file,
            store,
            // Made just now, by this process.
            trust: Trust::Unsigned,
            sumdb: None,
        },
        &mut |p| shown.show(p),
    ));
    shown.finish();
    let imported = imported?;
    if json {
        println!("{}", serde_json::to_string(&imported)?);
    } else {
        println!(
            "prefetched {} module versions through {} into {storage}: {} files stored ({}), {} there already",
            imported.modules,
            modgate_redact::redact_url(&url),
            imported.stored,
            indicatif::HumanBytes(imported.bytes),
            imported.present,
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The first HTTP proxy of GOPROXY (default proxy.golang.org's, as go's).
fn proxy_from_env() -> anyhow::Result<String> {
    let list = std::env::var(modgate_env::GOPROXY)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "https://proxy.golang.org,direct".to_owned());
    let parsed = ProxyList::parse(&list).context("invalid GOPROXY")?;
    let url = parsed.first_http().context(
        "GOPROXY names no HTTP proxy to fetch through: give --proxy URL or --storage DIR",
    )?;
    Ok(url.to_owned())
}

fn import(args: BundleImportArgs) -> anyhow::Result<ExitCode> {
    crate::init_logging(LogFormat::Text);
    let storage = Storage::resolve(args.storage)?;
    let store = storage.open(modgate_store::DEFAULT_FILE_MODE)?;
    let trust = match args.verify_key {
        Some(vkey) => Trust::Key(vkey),
        None => Trust::Unsigned,
    };
    let mut shown = Shown::new("bundle import");
    let imported = runtime()?.block_on(import::import(
        ImportOptions {
            file: args.file.clone(),
            store,
            trust,
            sumdb: args.sumdb,
        },
        &mut |p| shown.show(p),
    ));
    shown.finish();
    let imported = imported?;
    if args.json {
        println!("{}", serde_json::to_string(&imported)?);
    } else {
        println!(
            "imported {} module versions from {} into {storage}: {} files stored ({}), {} there already; proven in tree {} of {}",
            imported.modules,
            args.file.display(),
            imported.stored,
            indicatif::HumanBytes(imported.bytes),
            imported.present,
            imported.tree.size,
            imported.sumdb
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Progress on stderr: a bar on a terminal, else a line per phase and at
/// most one a second.
struct Shown {
    what: &'static str,
    bar: Option<indicatif::ProgressBar>,
    phase: &'static str,
    last: Option<Instant>,
    pending: Option<Progress>,
}

impl Shown {
    fn new(what: &'static str) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(0).with_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} {prefix} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} {msg}",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Self {
            what,
            bar,
            phase: "",
            last: None,
            pending: None,
        }
    }

    fn show(&mut self, p: &Progress) {
        if let Some(bar) = &self.bar {
            bar.set_prefix(format!(
                "{} {}/{} modules",
                p.phase, p.modules, p.modules_total
            ));
            bar.set_length(p.bytes_total.max(p.bytes));
            bar.set_position(p.bytes);
            bar.set_message(p.current.clone());
            return;
        }
        let due = self.phase != p.phase
            || self
                .last
                .is_none_or(|t| t.elapsed() >= Duration::from_secs(1));
        if due {
            self.line(p);
        } else {
            self.pending = Some(p.clone());
        }
    }

    fn line(&mut self, p: &Progress) {
        self.phase = p.phase;
        self.last = Some(Instant::now());
        self.pending = None;
        let total = if p.bytes_total > 0 {
            format!("/{}", indicatif::HumanBytes(p.bytes_total))
        } else {
            String::new()
        };
        eprintln!(
            "{}: {} {}/{} modules, {}{total}{}",
            self.what,
            p.phase,
            p.modules,
            p.modules_total,
            indicatif::HumanBytes(p.bytes),
            if p.current.is_empty() {
                String::new()
            } else {
                format!(" — {}", p.current)
            }
        );
    }

    fn finish(&mut self) {
        // The bar stays, with the totals, above the summary.
        if let Some(bar) = self.bar.take() {
            bar.finish();
        }
        if let Some(p) = self.pending.take() {
            self.line(&p);
        }
    }
}
