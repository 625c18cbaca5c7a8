//! `modgate bundle`: the wiring of create, import and keygen, and their
//! progress (a bar on a terminal, plain lines otherwise).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use modgate_bundle::create::{self, CreateOptions, Origin, Source, VulndbSnapshot};
use modgate_bundle::import::{self, ImportOptions, Trust};
use modgate_bundle::progress::Shown;
use modgate_bundle::{self as format};

use modgate_cli::LogFormat;
use modgate_cli::{BundleCommand, BundleCreateArgs, BundleImportArgs, PrefetchArgs};
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
                None => create::proxy_from_env()?,
            };
            Origin::Proxy {
                url: modgate_net::goauth::url_with_credentials(&url)?,
                client: modgate_net::client(Duration::from_secs(10), Duration::from_secs(60))
                    .context("cannot build the HTTP client")?,
            }
        }
    };
    let sumdb = create::sumdb_from(args.sumdb)?;
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
            let e = anyhow::Error::from(e);
            println!(
                "{}",
                serde_json::json!({ "error": format!("{e:#}"), "missing": missing })
            );
            return Err(e);
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

pub fn prefetch(args: PrefetchArgs) -> anyhow::Result<ExitCode> {
    crate::init_logging(LogFormat::Text);
    let url = match args.proxy {
        Some(url) => url,
        None => create::proxy_from_env()?,
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

/// `prefetch --storage`: through the proxy into the store, with the checks
/// of `bundle create` and `bundle import`.
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
    let mut shown = Shown::new("prefetch");
    let imported = runtime()?.block_on(import::prefetch_into(
        sources,
        origin,
        create::sumdb_from(sumdb)?,
        store,
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
