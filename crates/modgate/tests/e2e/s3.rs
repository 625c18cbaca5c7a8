//! Object storage: modgate on an S3 bucket (a real S3 API server on
//! loopback), alone and as replicas sharing the bucket.

use crate::support::fixture::Fixture;
use crate::support::go::{self, Go};
use crate::support::mirror::{self, Mirror};
use crate::support::modgate::Modgate;
use crate::support::relay::{Mode, Relay};
use crate::support::s3::{BUCKET, S3Server};
use crate::support::terminal::Terminal;
use crate::support::{fresh_dir, http};

fn on_bucket(s3: &S3Server, prefix: &str, upstream: &str, extra: &[&str]) -> Modgate {
    let env = s3.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let storage = format!("s3://{BUCKET}/{prefix}");
    let vcs = fresh_dir("vcs");
    let args = [
        &[
            "--storage",
            &storage,
            "--upstream",
            upstream,
            "--vcs-dir",
            vcs.to_str().unwrap(),
        ][..],
        extra,
    ]
    .concat();
    Modgate::start_env(&args, &env)
}

/// Every download went through, with the hash go computed in direct mode.
fn assert_sums(fx: &Fixture, got: &[go::Downloaded]) {
    for d in got {
        assert!(d.error.is_none(), "{}@{}: {:?}", d.path, d.version, d.error);
        assert_eq!(
            d.sum,
            fx.download(&d.path, &d.version).sum,
            "{}@{}",
            d.path,
            d.version
        );
    }
}

#[test]
fn replicas_on_one_bucket_serve_every_hash_right_and_fetch_once() {
    let fx = Fixture::get();
    let s3 = S3Server::start();
    let mirror = Mirror::serving(fx.tree.clone());
    let a = on_bucket(&s3, "cache", &mirror.url, &[]);
    let b = on_bucket(&s3, "cache", &mirror.url, &["--memory-cache", "0B"]);
    let targets = fx.resolved_targets();
    let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
    let (first, second) = targets.split_at(targets.len() / 2);

    // Half through each replica, then everything through the other one.
    let check = |got: &[go::Downloaded]| assert_sums(fx, got);
    check(&go::download(&Go::new(&a.url), &fresh_dir("work"), first));
    check(&go::download(&Go::new(&b.url), &fresh_dir("work"), second));
    let fetched = mirror.hits();
    check(&go::download(
        &Go::new(&b.url),
        &fresh_dir("work"),
        &targets,
    ));
    check(&go::download(
        &Go::new(&a.url),
        &fresh_dir("work"),
        &targets,
    ));
    assert_eq!(
        mirror.hits(),
        fetched,
        "a version one replica stored was fetched again"
    );

    // The bucket holds the GOPROXY layout, zips with their hashes.
    let keys = s3.keys("cache");
    assert!(
        keys.iter().any(|k| k.ends_with("/@v/v1.0.0.zip")),
        "{keys:?}"
    );
    assert_eq!(
        keys.iter().filter(|k| k.ends_with(".zip")).count(),
        keys.iter().filter(|k| k.ends_with(".ziphash")).count(),
        "{keys:?}"
    );
    for m in [&a, &b] {
        assert!(!m.logs().contains("panicked"), "{}", m.logs());
    }
}

#[test]
fn a_large_zip_goes_up_in_parts_and_leaves_nothing_staged() {
    let s3 = S3Server::start();
    let tree = fresh_dir("big-tree");
    let (module, version) = ("example.com/big", "v1.0.0");
    let zip = mirror::big_module(&tree, module, version, 20);
    let mirror = Mirror::serving(tree);
    let modgate = on_bucket(&s3, "", &mirror.url, &["--memory-cache", "0B"]);
    let got = go::download(
        &Go::new(&modgate.url),
        &fresh_dir("work"),
        &[&format!("{module}@{version}")],
    );
    assert_eq!(got[0].sum, crate::support::checksum_db::h1_of_zip(&zip));
    // Stored behind the answer.
    crate::support::eventually(
        std::time::Duration::from_secs(30),
        "the zip in the bucket",
        || s3.keys("").iter().any(|k| k.ends_with(".ziphash")),
    );
    let keys = s3.keys("");
    assert!(
        keys.iter().any(|k| k == "example.com/big/@v/v1.0.0.zip"),
        "{keys:?}"
    );
    assert!(
        !keys.iter().any(|k| k.starts_with(".tmp")),
        "staged parts left: {keys:?}"
    );

    // Served again from the bucket by a fresh replica, whole.
    let other = on_bucket(&s3, "", "off", &["--memory-cache", "0B"]);
    let again = crate::support::http::get(&other.addr, &format!("/{module}/@v/{version}.zip"));
    assert_eq!(again.status, 200);
    assert!(again.body == zip, "the zip read back differs");
}

/// A large zip in the bucket is streamed from it, not downloaded first: a
/// client's range is one ranged GET, exactly its bytes; HEAD and
/// conditional requests are answered from the metadata.
#[test]
fn a_range_of_a_zip_in_the_bucket_is_a_ranged_get_of_exactly_its_bytes() {
    use crate::support::http::request;
    let s3 = S3Server::start();
    let tree = fresh_dir("big-tree");
    let (module, version) = ("example.com/ranged", "v1.0.0");
    let zip = mirror::big_module(&tree, module, version, 20);
    let mirror = Mirror::serving(tree);
    let filler = on_bucket(&s3, "", &mirror.url, &["--memory-cache", "0B"]);
    let got = go::download(
        &Go::new(&filler.url),
        &fresh_dir("work"),
        &[&format!("{module}@{version}")],
    );
    assert_eq!(got[0].sum, crate::support::checksum_db::h1_of_zip(&zip));

    let modgate = on_bucket(&s3, "", "off", &["--memory-cache", "0B"]);
    let path = format!("/{module}/@v/{version}.zip");
    let key = "example.com/ranged/@v/v1.0.0.zip";
    let before = s3.gets(key).len();
    let (start, end) = (13 << 20 | 12345, (13 << 20) + 99_999);
    let part = request(
        &modgate.addr,
        "GET",
        &path,
        &[("Range", &format!("bytes={start}-{end}"))],
    );
    assert_eq!(part.status, 206, "{}", part.text());
    assert_eq!(
        part.header("content-range"),
        Some(format!("bytes {start}-{end}/{}", zip.len()).as_str())
    );
    assert!(part.body == zip[start..=end], "wrong bytes for the range");
    // The first bytes with the metadata, then the range: both ranged, and
    // nowhere near the 20 MiB a whole download would take in 8 MiB GETs.
    let gets = s3.gets(key)[before..].to_vec();
    assert_eq!(gets, [206, 206], "GETs of the zip for one range");

    let tail = request(&modgate.addr, "GET", &path, &[("Range", "bytes=-70000")]);
    assert_eq!(tail.status, 206);
    assert!(tail.body == zip[zip.len() - 70000..]);
    let head = request(&modgate.addr, "HEAD", &path, &[]);
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("content-length"),
        Some(zip.len().to_string().as_str())
    );
    let etag = head.header("etag").expect("an ETag").to_owned();
    let unchanged = request(&modgate.addr, "GET", &path, &[("If-None-Match", &etag)]);
    assert_eq!(unchanged.status, 304);
    assert!(unchanged.body.is_empty());
    let whole = crate::support::http::get(&modgate.addr, &path);
    assert_eq!(whole.status, 200);
    assert!(
        whole.body == zip,
        "the zip streamed from the bucket differs"
    );
    assert!(!modgate.logs().contains("panicked"), "{}", modgate.logs());

    // `verify` hashes the zip again, read from the bucket.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_modgate"))
        .args(["verify", "--storage", &format!("s3://{BUCKET}"), "--json"])
        .envs(s3.env())
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report.contains(r#""zips":1"#), "{report}");
}

/// The bucket going away while a zip streams from it breaks the transfer
/// off short of its length: never a complete-looking wrong body. The disk
/// tier, copying the zip in meanwhile, holds it whole or not at all.
#[test]
fn a_bucket_stopped_mid_stream_breaks_the_transfer_off() {
    use std::io::{Read as _, Write as _};
    let mut s3 = S3Server::start();
    let tree = fresh_dir("big-tree");
    let (module, version) = ("example.com/broken", "v1.0.0");
    let zip = mirror::big_module(&tree, module, version, 48);
    let mirror = Mirror::serving(tree);
    let path = format!("/{module}/@v/{version}.zip");
    let filler = on_bucket(&s3, "", &mirror.url, &["--memory-cache", "0B"]);
    assert_eq!(crate::support::http::get(&filler.addr, &path).status, 200);
    drop(filler);

    let tier = fresh_dir("tier").join("cache");
    let modgate = on_bucket(
        &s3,
        "",
        "off",
        &[
            "--memory-cache",
            "0B",
            "--cache-dir",
            tier.to_str().unwrap(),
            "--cache-max-size",
            "64MiB",
        ],
    );
    let mut stream = std::net::TcpStream::connect(&modgate.addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut first = vec![0; 1 << 20];
    stream.read_exact(&mut first).unwrap();
    let text = String::from_utf8_lossy(&first);
    assert!(text.starts_with("HTTP/1.1 200"), "{}", &text[..200]);
    assert!(
        text.contains(&format!("content-length: {}", zip.len())),
        "{}",
        &text[..400]
    );
    s3.stop();
    let mut rest = Vec::new();
    // A broken connection or an early end: either way, short.
    let _ = stream.read_to_end(&mut rest);
    let header_end = text.find("\r\n\r\n").unwrap() + 4;
    let body = first.len() - header_end + rest.len();
    assert!(
        body < zip.len(),
        "the whole length arrived with the bucket stopped mid-stream"
    );
    let logs = modgate.logs();
    assert!(logs.contains("reading from the bucket failed"), "{logs}");
    // The copy, if it was still under way, fails as the bucket is gone.
    let staged = || {
        fs_err::read_dir(tier.join(".tmp"))
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name() != ".lock")
            .count()
    };
    for _ in 0..100 {
        if staged() == 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(staged(), 0, "staging left in the tier");
    let kept = tier.join("example.com/broken/@v/v1.0.0.zip");
    if kept.exists() {
        assert!(
            fs_err::read(&kept).unwrap() == zip,
            "a partial zip in the tier"
        );
    }
    assert!(!logs.contains("panicked"), "{logs}");
}

#[test]
fn storage_urls_other_than_s3_are_refused_at_start() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_modgate"))
        .args([
            "serve",
            "--storage",
            "ftp://mods/cache",
            "--listen",
            "127.0.0.1:0",
        ])
        .current_dir(fresh_dir("cwd"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("s3://BUCKET"),
        "{err}"
    );
}

#[test]
fn a_build_goes_on_while_the_bucket_is_down_and_stores_again_when_it_is_back() {
    let fx = Fixture::get();
    let mut s3 = S3Server::start();
    let mirror = Mirror::serving(fx.tree.clone());
    let modgate = on_bucket(&s3, "", &mirror.url, &[]);
    let targets = fx.resolved_targets();
    let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
    let (first, second) = targets.split_at(targets.len() / 2);
    let check = |got: &[go::Downloaded]| assert_sums(fx, got);
    check(&go::download(
        &Go::new(&modgate.url),
        &fresh_dir("work"),
        first,
    ));

    // Down: what the memory tier holds and what upstream has, verified.
    s3.stop();
    check(&go::download(
        &Go::new(&modgate.url),
        &fresh_dir("work"),
        &targets,
    ));
    let ready = crate::support::http::get(&modgate.addr, "/readyz");
    // Degraded, not unready: a load balancer keeps sending builds here.
    assert_eq!(ready.status, 200, "{}", ready.text());
    assert!(
        ready.text().contains("storage: unavailable"),
        "{}",
        ready.text()
    );
    assert!(
        modgate.logs().contains("answered without storing"),
        "{}",
        modgate.logs()
    );
    let metrics = crate::support::http::get(&modgate.addr, "/metrics").text();
    assert!(
        metrics.contains("modgate_unstored_answers_total"),
        "{metrics}"
    );

    // Back (empty, as moto keeps nothing): misses are stored again.
    s3.restart();
    check(&go::download(
        &Go::new(&modgate.url),
        &fresh_dir("work"),
        second,
    ));
    let keys = s3.keys("");
    assert!(
        keys.iter().any(|k| k.ends_with(".zip")),
        "nothing stored after the restart: {keys:?}"
    );
    assert_eq!(
        crate::support::http::get(&modgate.addr, "/readyz").status,
        200
    );
    assert!(!modgate.logs().contains("panicked"));
}

#[test]
fn a_replica_killed_mid_upload_leaves_nothing_partial_in_the_bucket() {
    let s3 = S3Server::start();
    let tree = fresh_dir("big-tree");
    let (module, version) = ("example.com/killed", "v1.0.0");
    let zip = mirror::big_module(&tree, module, version, 24);
    let mirror = Mirror::serving(tree);
    let path = format!("/{module}/@v/{version}.zip");
    let bucket = s3.bucket();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // Killed at points all along the fill: whatever is visible is whole.
    for (i, ms) in [20u64, 150, 400, 800, 1500].into_iter().enumerate() {
        let prefix = format!("kill{i}");
        let mut modgate = on_bucket(&s3, &prefix, &mirror.url, &["--memory-cache", "0B"]);
        let addr = modgate.addr.clone();
        let p = path.clone();
        let client = std::thread::spawn(move || {
            let _ = std::panic::catch_unwind(|| crate::support::http::get(&addr, &p));
        });
        std::thread::sleep(std::time::Duration::from_millis(ms));
        modgate.kill9();
        let _ = client.join();
        let key =
            object_store::path::Path::from(format!("{prefix}/example.com/killed/@v/v1.0.0.zip"));
        use object_store::ObjectStoreExt as _;
        if let Ok(got) = rt.block_on(bucket.get(&key)) {
            let bytes = rt.block_on(got.bytes()).unwrap();
            assert!(
                bytes == zip,
                "killed after {ms} ms: a partial zip is visible"
            );
        }
        // A replica started afterwards serves it whole.
        let next = on_bucket(&s3, &prefix, &mirror.url, &["--memory-cache", "0B"]);
        let got = crate::support::http::get(&next.addr, &path);
        assert!(
            got.status == 200 && got.body == zip,
            "after a kill at {ms} ms"
        );
    }
}

#[test]
fn storage_copy_moves_a_disk_store_into_a_bucket_and_resumes() {
    let fx = Fixture::get();
    let s3 = S3Server::start();
    let disk = fresh_dir("storage");
    let upstream = format!("file://{}", fx.tree.display());
    let targets = fx.resolved_targets();
    let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
    let filler = Modgate::start(&disk, &upstream);
    go::download(&Go::new(&filler.url), &fresh_dir("work"), &targets);
    drop(filler);

    let env = s3.env();
    let copy = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_modgate"))
            .args([
                "storage",
                "copy",
                "--storage",
                disk.to_str().unwrap(),
                "--to",
                &format!("s3://{BUCKET}/moved"),
            ])
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        text
    };
    let first = copy();
    assert!(first.contains("; 0 were there already"), "{first}");
    let again = copy();
    assert!(
        again.starts_with("copied 0 objects"),
        "nothing to copy twice: {again}"
    );

    // The bucket alone (no upstream) serves every version with go's hashes.
    let served = on_bucket(&s3, "moved", "off", &[]);
    assert_sums(
        fx,
        &go::download(&Go::new(&served.url), &fresh_dir("work"), &targets),
    );
}

#[test]
fn the_disk_tier_serves_what_was_read_from_the_bucket_while_it_is_down() {
    let fx = Fixture::get();
    let mut s3 = S3Server::start();
    let mirror = Mirror::serving(fx.tree.clone());
    let tier = fresh_dir("tier");
    let tier_arg = tier.join("cache");
    let modgate = on_bucket(
        &s3,
        "",
        &mirror.url,
        &[
            "--memory-cache",
            "0B",
            "--cache-dir",
            tier_arg.to_str().unwrap(),
            "--cache-max-size",
            "64MiB",
        ],
    );
    let targets = fx.resolved_targets();
    let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
    go::download(&Go::new(&modgate.url), &fresh_dir("work"), &targets);
    // Stored in the bucket behind the answers.
    crate::support::eventually(
        std::time::Duration::from_secs(30),
        "every file in the bucket",
        || {
            let keys = s3.keys("");
            let missing: Vec<String> = targets
                .iter()
                .flat_map(|t| {
                    let (path, version) = t.split_once('@').unwrap();
                    let path = modgate_module::escape_path(path).unwrap();
                    ["info", "mod", "ziphash"].map(|ext| format!("{path}/@v/{version}.{ext}"))
                })
                .filter(|k| !keys.contains(k))
                .collect();
            missing.is_empty()
        },
    );
    // Read back once: now in the tier (copied behind the answers).
    go::download(&Go::new(&modgate.url), &fresh_dir("work"), &targets);
    crate::support::eventually(
        std::time::Duration::from_secs(30),
        "every zip in the tier",
        || {
            targets.iter().all(|t| {
                let (path, version) = t.split_once('@').unwrap();
                let path = modgate_module::escape_path(path).unwrap();
                tier_arg.join(format!("{path}/@v/{version}.zip")).exists()
            })
        },
    );
    let fetched = mirror.hits();
    s3.stop();
    assert_sums(
        fx,
        &go::download(&Go::new(&modgate.url), &fresh_dir("work"), &targets),
    );
    assert_eq!(
        mirror.hits(),
        fetched,
        "with the bucket down, the tier did not answer"
    );
    let metrics = crate::support::http::get(&modgate.addr, "/metrics").text();
    assert!(metrics.contains("modgate_disk_tier_bytes"), "{metrics}");
}

/// modgate's own checksum database on a bucket shared by two replicas:
/// appended from both at once, one linear log, verified by the go command
/// through either (go also checks each replica's tree against the other's).
#[test]
fn the_private_log_stays_linear_with_two_replicas_appending() {
    let fx = Fixture::get();
    let s3 = S3Server::start();
    let keys = fresh_dir("keys");
    let key = keys.join("signer.key");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_modgate"))
        .args([
            "sumdb",
            "keygen",
            "--name",
            "sum.replicas.test",
            "--out",
            key.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let vkey = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let upstream = format!("file://{}", fx.tree.display());
    let log_args = ["--private-sumdb-key", key.to_str().unwrap()];
    let a = on_bucket(&s3, "log", &upstream, &log_args);
    let b = on_bucket(&s3, "log", &upstream, &log_args);
    let verifying = |proxy: &str, gopath: &std::path::Path| {
        Go::new(proxy)
            .env("GOSUMDB", &vkey)
            .env("GONOSUMDB", "")
            .env("GOPRIVATE", "")
            .env("GOPATH", gopath.to_str().unwrap())
    };
    let targets = fx.resolved_targets();
    let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
    let check = |got: &[go::Downloaded]| assert_sums(fx, got);

    // Both replicas append at once, alternating targets.
    let even: Vec<&str> = targets.iter().copied().step_by(2).collect();
    let odd: Vec<&str> = targets.iter().copied().skip(1).step_by(2).collect();
    let ga = verifying(&a.url, &fresh_dir("gopath"));
    let gb = verifying(&b.url, &fresh_dir("gopath"));
    std::thread::scope(|s| {
        let ta = s.spawn(|| go::download(&ga, &fresh_dir("work"), &even));
        let tb = s.spawn(|| go::download(&gb, &fresh_dir("work"), &odd));
        check(&ta.join().unwrap());
        check(&tb.join().unwrap());
    });

    // Everything through one replica, then the other, with one GOPATH: go
    // keeps the tree it saw and proves the next one extends it.
    let gopath = fresh_dir("gopath");
    check(&go::download(
        &verifying(&a.url, &gopath),
        &fresh_dir("work"),
        &targets,
    ));
    check(&go::download(
        &verifying(&b.url, &gopath),
        &fresh_dir("work"),
        &targets,
    ));
    let heads = s3.keys("log/sumdb/sum.replicas.test/log/tree");
    let records = s3.keys("log/sumdb/sum.replicas.test/log/record");
    assert_eq!(
        records.len(),
        targets.len(),
        "one record per version: {records:?}"
    );
    assert!(!heads.is_empty());
    for m in [&a, &b] {
        assert!(
            !m.logs().contains("panicked") && !m.logs().contains("FORKED"),
            "{}",
            m.logs()
        );
    }
}

/// Replicas filling one version at once from upstreams that disagree (a
/// mirror that changed, a tag that moved): whichever zip the bucket kept,
/// its hash mark and its record in modgate's own checksum database describe
/// it, so go verifies it through every replica.
#[test]
fn replicas_filling_one_version_from_disagreeing_upstreams_store_one_consistent_version() {
    const M: &str = "example.com/split";
    let s3 = S3Server::start();
    let versions: Vec<String> = (0..30).map(|i| format!("v1.0.{i}")).collect();
    let trees = ["a", "b"].map(|side| {
        let tree = fresh_dir(&format!("split-{side}"));
        let go_mod = format!("module {M}\n\ngo 1.21\n");
        for v in &versions {
            let code = format!("package split\n\n// {side} {v}\n");
            mirror::write_version(
                &tree,
                M,
                v,
                &go_mod,
                &[("go.mod", go_mod.as_bytes()), ("s.go", code.as_bytes())],
                zip::CompressionMethod::Deflated,
            );
        }
        format!("file://{}", tree.display())
    });
    let keys = fresh_dir("keys");
    let (key, vkey) = crate::access::private_db(&keys);
    let args = ["--private-sumdb-key", &key];
    let a = on_bucket(&s3, "split", &trees[0], &args);
    let b = on_bucket(&s3, "split", &trees[1], &args);
    for v in &versions {
        std::thread::scope(|s| {
            for ext in ["mod", "zip"] {
                let path = format!("/{M}/@v/{v}.{ext}");
                for r in [&a, &b] {
                    let path = path.clone();
                    s.spawn(move || assert_eq!(http::get(&r.addr, &path).status, 200, "{path}"));
                }
            }
        });
    }
    let targets: Vec<String> = versions.iter().map(|v| format!("{M}@{v}")).collect();
    let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
    // Records are appended behind the answers.
    let records = format!("split/sumdb/{}/log/record", crate::access::PRIVATE_DB);
    crate::support::eventually(
        std::time::Duration::from_secs(60),
        "a record per version",
        || s3.keys(&records).len() == versions.len(),
    );
    for r in [&a, &b] {
        let go = Go::new(&r.url)
            .env("GOSUMDB", &vkey)
            .env("GONOSUMDB", "")
            .env("GOPRIVATE", "");
        for d in go::download(&go, &fresh_dir("work"), &targets) {
            assert!(d.error.is_none(), "{}@{}: {:?}", d.path, d.version, d.error);
        }
    }
}

/// `storage copy` on a terminal shows its progress, then its summary.
#[test]
fn storage_copy_shows_progress_on_a_terminal() {
    let s3 = S3Server::start();
    let tree = fresh_dir("big-tree");
    mirror::big_module(&tree, "example.com/progress", "v1.0.0", 48);
    let disk = fresh_dir("storage");
    let filler = Modgate::start(&disk, &format!("file://{}", tree.display()));
    let got = crate::support::http::get(&filler.addr, "/example.com/progress/@v/v1.0.0.zip");
    assert_eq!(got.status, 200);
    drop(filler);

    let env: String = s3.env().iter().map(|(k, v)| format!("{k}={v} ")).collect();
    let command = format!(
        "env {env}{} storage copy --from {} --to s3://{BUCKET}/tty; sleep 30",
        env!("CARGO_BIN_EXE_modgate"),
        disk.display()
    );
    let (mut progress, mut summary) = (false, String::new());
    Terminal::start(&command).watch(|pane| {
        progress |= pane.contains("already there — example.com/progress");
        match pane.lines().find(|l| l.starts_with("copied ")) {
            Some(line) => {
                summary = line.to_owned();
                true
            }
            None => false,
        }
    });
    assert!(
        summary.contains("copied 2 objects"),
        "no summary: {summary:?}"
    );
    assert!(progress, "no progress line was drawn");
}

#[test]
fn gc_and_the_catalog_work_on_a_bucket() {
    let fx = Fixture::get();
    let s3 = S3Server::start();
    let mirror = Mirror::serving(fx.tree.clone());
    let modgate = on_bucket(&s3, "gc", &mirror.url, &[]);
    let targets = fx.resolved_targets();
    let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
    assert_sums(
        fx,
        &go::download(&Go::new(&modgate.url), &fresh_dir("app"), &targets),
    );
    let catalog = crate::support::http::get(&modgate.addr, "/catalog?pagesize=100");
    let listed: serde_json::Value = serde_json::from_slice(&catalog.body).unwrap();
    assert_eq!(
        listed["modules"].as_array().unwrap().len(),
        targets.len(),
        "{listed}"
    );
    let index = crate::support::http::get(&modgate.addr, "/index");
    assert_eq!(
        index.text().lines().count(),
        targets.len(),
        "{}",
        index.text()
    );

    let gc = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_modgate"))
            .args(["gc", "--storage", &format!("s3://{BUCKET}/gc"), "--json"])
            .args(args)
            .envs(s3.env())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let dry = gc(&["--max-size", "1B", "--dry-run"]);
    assert_eq!(
        dry["removed"].as_array().unwrap().len(),
        targets.len(),
        "{dry}"
    );
    let artifacts = |keys: Vec<String>| keys.into_iter().filter(|k| k.contains("/@v/")).count();
    let before = artifacts(s3.keys("gc"));
    assert!(before >= targets.len() * 3, "{before}");
    let done = gc(&["--max-size", "1B"]);
    assert_eq!(done["freed"], dry["freed"]);
    assert_eq!(artifacts(s3.keys("gc")), 0, "{:?}", s3.keys("gc"));
    assert!(
        s3.keys("gc/.access").is_empty(),
        "markers of removed versions go too"
    );
    // Fetched again, whole, from the bucket-backed server.
    assert_sums(
        fx,
        &go::download(&Go::new(&modgate.url), &fresh_dir("app"), &targets),
    );
}

/// A bucket that accepts requests and never answers (a hung bucket or load
/// balancer): `/readyz` still answers, at once, saying so, and a stored
/// version is still served, from a fresh fetch, without waiting for the
/// bucket's own timeouts.
#[test]
fn a_hanging_bucket_neither_holds_readyz_nor_a_hit() {
    let fx = Fixture::get();
    let s3 = S3Server::start();
    let relay = Relay::start(s3.endpoint.trim_start_matches("http://"));
    let env = relay.env(s3.env());
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mirror = Mirror::serving(fx.tree.clone());
    let storage = format!("s3://{BUCKET}");
    let modgate = Modgate::start_env(
        &[
            "--storage",
            &storage,
            "--upstream",
            &mirror.url,
            "--memory-cache",
            "0B",
        ],
        &env,
    );
    let d = fx
        .downloads
        .iter()
        .find(|d| d.path == d.path.to_lowercase())
        .expect("a module path without upper case");
    let info = format!("/{}/@v/{}.info", d.path, d.version);
    let stored = crate::support::http::get(&modgate.addr, &info);
    assert_eq!(stored.status, 200, "{}", stored.text());
    assert!(!s3.keys(&d.path).is_empty(), "nothing stored in the bucket");

    relay.set(Mode::Hang);
    // The http helper gives up after 60 s; the bucket's own timeout is longer.
    let ready = crate::support::http::get(&modgate.addr, "/readyz");
    assert_eq!(ready.status, 200);
    assert!(
        ready.text().contains("storage: unavailable"),
        "{}",
        ready.text()
    );
    let fetched = mirror.hits();
    let again = crate::support::http::get(&modgate.addr, &info);
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(again.body, stored.body);
    assert!(
        mirror.hits() > fetched,
        "answered without the bucket or the mirror?"
    );
}

/// A zip damaged in the bucket is never kept by the disk tier: the tier
/// hashes what it reads against the stored hash, so once the bucket is
/// repaired the good bytes are served, from the tier too.
#[test]
fn a_zip_damaged_in_the_bucket_is_never_kept_by_the_disk_tier() {
    let fx = Fixture::get();
    let mut s3 = S3Server::start();
    let mirror = Mirror::serving(fx.tree.clone());
    let d = fx
        .downloads
        .iter()
        .find(|d| d.path == d.path.to_lowercase())
        .expect("a module path without upper case");
    let zip_path = format!("/{}/@v/{}.zip", d.path, d.version);
    let key = object_store::path::Path::from(zip_path.trim_start_matches('/'));
    // One replica fills the bucket.
    let filler = on_bucket(&s3, "", &mirror.url, &[]);
    let good = crate::support::http::get(&filler.addr, &zip_path);
    assert_eq!(good.status, 200);
    drop(filler);

    let put = |bytes: Vec<u8>| {
        use object_store::ObjectStoreExt as _;
        let bucket = s3.bucket();
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(bucket.put(&key, bytes.into()))
            .unwrap();
    };
    let mut damaged = good.body.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0x55;
    put(damaged.clone());

    let tier = fresh_dir("tier").join("cache");
    let modgate = on_bucket(
        &s3,
        "",
        &mirror.url,
        &[
            "--memory-cache",
            "0B",
            "--cache-dir",
            tier.to_str().unwrap(),
            "--cache-max-size",
            "64MiB",
        ],
    );
    let kept = tier.join(zip_path.trim_start_matches('/'));
    let rejected = || {
        crate::support::http::get(&modgate.addr, "/metrics")
            .text()
            .lines()
            .any(|l| l.starts_with("modgate_disk_tier_rejected_total ") && !l.ends_with(" 0"))
    };
    // The bucket's bytes go out as they are (go checks them against
    // go.sum), but the tier does not keep them.
    let served = crate::support::http::get(&modgate.addr, &zip_path);
    assert_eq!(served.body, damaged);
    crate::support::eventually(
        std::time::Duration::from_secs(20),
        "the tier's hash check",
        rejected,
    );
    assert!(!kept.exists(), "the damaged zip was kept in the tier");

    // Repaired: kept, and then served from the tier alone.
    put(good.body.clone());
    assert_eq!(
        crate::support::http::get(&modgate.addr, &zip_path).body,
        good.body
    );
    crate::support::eventually(
        std::time::Duration::from_secs(20),
        "the tier to keep the repaired zip",
        || kept.exists(),
    );
    s3.stop();
    assert_eq!(
        crate::support::http::get(&modgate.addr, &zip_path).body,
        good.body
    );
}
