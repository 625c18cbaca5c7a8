//! The operator console after real go traffic (a module built from a local
//! git repository, a mirror, a dead mirror before it, a version the policy
//! denies), looked at in Chromium through playwright-core by an admin, a
//! user who may read public modules only and an anonymous viewer
//! (console.cjs): what it shows is compared with what happened and with
//! the store, axe-core finds no serious violation, and no request leaves
//! the server. The raw-HTTP attacks on the module pages run here.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::support::go::{Go, download};
use crate::support::mirror::Mirror;
use crate::support::modgate::Modgate;
use crate::support::repos::Repos;
use crate::support::vulndb::{self, DEP, DEPRECATED, RETRACTED, VULNERABLE};
use crate::support::{eventually, fresh_dir, http};

/// Built from git (`direct`), and readable by admins only.
const GUARDED: &str = "github.com/modgate-direct/console";

/// The directory holding `playwright-core` and `axe-core` (see
/// scripts/install-test-deps); missing, the test fails saying how to
/// install them.
fn node_modules() -> PathBuf {
    let candidates: Vec<PathBuf> = match std::env::var_os("MODGATE_TEST_NODE_MODULES") {
        Some(dir) => vec![dir.into()],
        None => {
            let mut c = vec![PathBuf::from("/usr/local/lib/modgate-test/node_modules")];
            if let Some(home) = std::env::var_os("HOME") {
                c.push(Path::new(&home).join(".local/lib/modgate-test/node_modules"));
            }
            c
        }
    };
    candidates
        .into_iter()
        .find(|d| {
            d.join("playwright-core/package.json").is_file()
                && d.join("axe-core/axe.min.js").is_file()
        })
        .unwrap_or_else(|| {
            panic!(
                "the console test needs playwright-core and axe-core from npm: run \
                 scripts/install-test-deps (or set MODGATE_TEST_NODE_MODULES)"
            )
        })
}

fn auth(file: &Path, args: &[&str], stdin: &str) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_modgate"));
    cmd.arg("auth")
        .args(args)
        .args(["--auth-file", file.to_str().unwrap()]);
    let out = crate::support::output_with_stdin(cmd, stdin);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn token(file: &Path, user: &str) -> String {
    auth(file, &["add-token", user], "")
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_owned()
}

#[test]
fn the_console_shows_each_viewer_what_happened_in_a_real_browser() {
    let node_modules = node_modules();
    let tree = fresh_dir("console-tree");
    let advisories = vulndb::governance_tree(&tree);
    let db = fresh_dir("console-vulndb");
    vulndb::write(&db, &advisories, "2025-01-01T00:00:00Z");
    let db_server = Mirror::serving(db);
    let good = Mirror::serving(tree);
    let dead = Mirror::failing(500);
    let repos = Repos::get();
    repos
        .scratch_repo("console")
        .write(
            "go.mod",
            &format!("module {GUARDED}\n\ngo 1.21\n\nrequire {DEP} v1.0.0\n"),
        )
        .write("LICENSE", "MIT License\n")
        .write("console.go", "package console\n")
        .commit("v1.0.0", "2025-04-01T10:00:00Z")
        .tag("v1.0.0");

    let dir = fresh_dir("console-config");
    let file = dir.join("auth.toml");
    auth(&file, &["add-user", "root", "--admin"], "root-pw\n");
    auth(&file, &["add-user", "bob"], "bob-pw\n");
    auth(&file, &["add-user", "carol"], "carol-pw\n");
    let (root, bob) = (token(&file, "root"), token(&file, "bob"));
    let config = dir.join("modgate.toml");
    fs_err::write(
        &config,
        format!("[[policy]]\ndeny = [\"{VULNERABLE}@v1.1.0\"]\n"),
    )
    .unwrap();
    // Credentials in an upstream's URL: never shown.
    let secret = "console-s3cret";
    let dead_url = dead.url.replace("http://", &format!("http://u:{secret}@"));
    let storage = fresh_dir("console-storage");
    let env = repos.git_env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let modgate = Modgate::start_env(
        &[
            "--config",
            config.to_str().unwrap(),
            "--storage",
            storage.to_str().unwrap(),
            "--upstream",
            &format!("{dead_url}|{},direct", good.url),
            "--vulndb",
            &db_server.url,
            "--auth-file",
            file.to_str().unwrap(),
        ],
        &env,
    );
    eventually(Duration::from_secs(30), "the vulnerability mirror", || {
        http::get(&modgate.addr, "/vuln/index/db.json").status == 200
    });

    // The traffic, anonymous (go sends no credentials over plain HTTP), twice
    // from fresh module caches: misses, then hits.
    let targets = [
        format!("{DEP}@v1.0.0"),
        format!("{VULNERABLE}@v1.0.0"),
        format!("{RETRACTED}@v1.0.0"),
        format!("{RETRACTED}@v1.0.1"),
        format!("{DEPRECATED}@v1.0.0"),
        format!("{GUARDED}@v1.0.0"),
    ];
    let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
    let go = || Go::new(&modgate.url);
    download(&go(), &fresh_dir("console-app"), &targets);
    download(&go(), &fresh_dir("console-app"), &targets);
    let denied = go().try_run(
        &fresh_dir("console-app"),
        &["mod", "download", &format!("{VULNERABLE}@v1.1.0")],
    );
    let stderr = String::from_utf8_lossy(&denied.stderr);
    assert!(
        !denied.status.success() && stderr.contains("403"),
        "{stderr}"
    );

    // A miss that fails everywhere (its repository does not exist).
    let nowhere = http::get(
        &modgate.addr,
        "/github.com/modgate-direct/nowhere/@v/v1.0.0.mod",
    );
    assert!(nowhere.status >= 400);

    // Then the module built from git is guarded: carol's (and admins') only.
    let mut rules = fs_err::read_to_string(&file).unwrap();
    rules.push_str(
        "\n[[access]]\npatterns = [\"github.com/modgate-direct/*\"]\nusers = [\"carol\"]\nallow = [\"read\"]\n",
    );
    fs_err::write(&file, rules).unwrap();
    eventually(Duration::from_secs(30), "the auth file reloaded", || {
        let info = format!("/{GUARDED}/@v/v1.0.0.info");
        http::get(&modgate.addr, &info).status == 401
    });

    attacks(&modgate, &format!("Bearer {bob}"));

    // What the store holds of the version built from git.
    let at = storage.join(GUARDED).join("@v");
    let info: serde_json::Value =
        serde_json::from_slice(&fs_err::read(at.join("v1.0.0.info")).unwrap()).unwrap();
    let bytes: u64 = fs_err::read_dir(&at)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name().to_string_lossy().starts_with("v1.0.0."))
        .map(|e| e.metadata().unwrap().len())
        .sum();
    let origin = &info["Origin"];
    assert_eq!(origin["VCS"], "git", "{info}");
    let shots = fresh_dir("console-screenshots");
    let test = serde_json::json!({
        "base": modgate.url,
        "nodeModules": node_modules,
        "profile": fresh_dir("chromium-profile"),
        "shots": shots,
        "admin": format!("Bearer {root}"),
        "bob": format!("Bearer {bob}"),
        "expect": {
            "version": env!("CARGO_PKG_VERSION"),
            // Two downloads of six versions: at least .info, .mod, .zip each.
            "minRequests": 2 * 6 * 3,
            // Credentials are left out of its name.
            "dead": dead.url,
            "good": good.url,
            "secret": secret,
            "miss": "github.com/modgate-direct/nowhere@v1.0.0 mod",
            "modules": [DEP, DEPRECATED, RETRACTED, VULNERABLE, GUARDED],
            "missing": "github.com/modgate-direct/nothere",
            "direct": {
                "module": GUARDED,
                "version": "v1.0.0",
                "vcs": origin["VCS"],
                "url": origin["URL"],
                "hash": origin["Hash"],
                "ref": origin["Ref"].as_str().unwrap_or_default(),
                "time": info["Time"],
                "bytes": bytes,
                // Once per fresh module cache.
                "served": 2,
            },
        },
    });
    let out = Command::new("node")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/console.cjs"))
        .env("MODGATE_CONSOLE_TEST", test.to_string())
        .output()
        .expect("run node (scripts/install-test-deps installs it)");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{said}\n{}", modgate.logs());
    eprintln!("{said}\nconsole screenshots: {}", shots.display());
    for name in ["overview.png", "module.png", "module-dark-phone.png"] {
        let png = fs_err::read(shots.join(name)).unwrap();
        assert!(png.starts_with(b"\x89PNG") && png.len() > 1000, "{name}");
    }
    // What the admin quarantined left the served store; what bob tried to remove did not.
    assert!(!storage.join(DEPRECATED).join("@v/v1.0.0.zip").exists());
    assert!(storage.join(DEP).join("@v/v1.0.0.zip").exists());
    let logs = modgate.logs();
    assert!(!logs.contains(secret), "a credential in the log:\n{logs}");
    assert!(!logs.contains("panicked"), "{logs}");

    // After a restart, "last served" comes from gc's day markers; now the
    // auth file lets only signed-in users read public modules.
    drop(modgate);
    let rules = fs_err::read_to_string(&file).unwrap();
    let closed = rules.replace("public = \"anonymous\"", "public = \"authenticated\"");
    assert_ne!(closed, rules);
    fs_err::write(&file, closed).unwrap();
    let modgate = Modgate::start_args(&[
        "--storage",
        storage.to_str().unwrap(),
        "--upstream",
        "off",
        "--auth-file",
        file.to_str().unwrap(),
    ]);
    let (root, bob) = (format!("Bearer {root}"), format!("Bearer {bob}"));
    let get_as = |who: Option<&str>, path: &str| {
        let headers: Vec<(&str, &str)> = who.map(|w| ("Authorization", w)).into_iter().collect();
        http::request(&modgate.addr, "GET", path, &headers)
    };
    let dep = format!("/-/module/{DEP}");
    for path in ["/-/modules", dep.as_str(), "/-/modules?q=dep"] {
        let anonymous = get_as(None, path);
        assert_eq!(anonymous.status, 401, "{path}: {}", anonymous.text());
        assert!(
            !anonymous.text().contains(DEP),
            "{path}: {}",
            anonymous.text()
        );
    }
    assert_eq!(get_as(Some(&bob), &dep).status, 200);
    eventually(Duration::from_secs(30), "the day markers read", || {
        get_as(Some(&root), &dep).text().contains("(day marker)")
    });
    // And the overview tells of the last gc run beside it.
    let overview = get_as(Some(&root), "/").text();
    assert!(
        overview.contains("id=\"gc-last\">none recorded"),
        "{overview}"
    );
    let out = crate::support::modgate::run(
        &[
            "gc",
            "--storage",
            storage.to_str().unwrap(),
            "--unused-for",
            "3650d",
        ],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let overview = get_as(Some(&root), "/").text();
    assert!(
        overview.contains("id=\"gc-last\"><time") && overview.contains("<dd>0 of "),
        "{overview}"
    );
    // What gc would free, from the last dry run: here, everything.
    assert!(overview.contains("id=\"gc-would\">unknown"), "{overview}");
    let out = crate::support::modgate::run(
        &[
            "gc",
            "--storage",
            storage.to_str().unwrap(),
            "--max-size",
            "1B",
            "--dry-run",
        ],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let overview = get_as(Some(&root), "/").text();
    let would = overview
        .split("id=\"gc-would\">")
        .nth(1)
        .and_then(|rest| rest.split("</dd>").next())
        .unwrap_or_default();
    assert!(
        would.contains(" in ") && !would.starts_with("0 B") && would.contains("dry run"),
        "{would}"
    );
    // A dry run removed nothing.
    assert!(get_as(Some(&root), &dep).status == 200);
}

/// The module pages' one gate, in raw HTTP (a browser would normalise the
/// paths): for bob, a guarded module, its case variant, a `..` walk to it
/// and a percent-encoded one all read as a module the cache does not hold;
/// the search and the dependents of a public module leave it out.
fn attacks(modgate: &Modgate, bob: &str) {
    let get = |path: &str| {
        let r = http::request(&modgate.addr, "GET", path, &[("Authorization", bob)]);
        (r.status, r.text())
    };
    let missing = get("/-/module/github.com/modgate-direct/nothere");
    assert_eq!(missing.0, 404, "{}", missing.1);
    let as_missing = |text: &str, shown: &str| {
        text.replace(shown, "X") == missing.1.replace("github.com/modgate-direct/nothere", "X")
    };
    let hidden = get(&format!("/-/module/{GUARDED}"));
    assert_eq!(hidden.0, 404);
    assert!(as_missing(&hidden.1, GUARDED), "{}", hidden.1);
    for path in [
        "/-/module/github.com/!modgate-direct/console",
        "/-/module/github.com/Modgate-Direct/console",
        "/-/module/example.com/dep/../../github.com/modgate-direct/console",
        "/-/module/github.com%2fmodgate-direct%2fconsole",
        "/-/module/github.com/modgate-direct/%63onsole",
        "/-/module/../github.com/modgate-direct/console",
    ] {
        let (status, text) = get(path);
        assert!(status == 404 || status == 400, "{path}: {status} {text}");
        assert!(!text.contains("v1.0.0"), "{path}: {text}");
    }
    let (status, search) = get("/-/modules?q=console");
    assert_eq!(status, 200);
    assert!(!search.contains(GUARDED), "{search}");
    let (status, dep) = get(&format!("/-/module/{DEP}"));
    assert_eq!(status, 200, "{dep}");
    assert!(!dep.contains(GUARDED), "{dep}");
    // The page admins see, and the refusal for anyone else.
    assert_eq!(get("/").0, 403);
    assert_eq!(http::get(&modgate.addr, "/").status, 401);
    let icon = http::get(&modgate.addr, "/favicon.ico");
    assert_eq!(icon.status, 200);
    assert_eq!(icon.header("content-type"), Some("image/svg+xml"));
}
