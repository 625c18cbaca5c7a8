//! The deployment files in deploy/: what systemd and Kubernetes are given
//! must be valid for them.

use std::path::Path;
use std::process::Command;

use crate::support::fresh_dir;

/// The image `Containerfile` is built as (the container test builds it so).
pub const IMAGE: &str = "localhost/modgate:latest";

fn deploy(file: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy")
        .join(file)
}

#[test]
fn the_systemd_units_pass_systemd_analyze_verify() {
    let dir = fresh_dir("unit");
    let mut paths = Vec::new();
    for unit in ["modgate.service", "modgate-gc.service", "modgate-gc.timer"] {
        let text = fs_err::read_to_string(deploy(&format!("systemd/{unit}"))).unwrap();
        // As installed: the binary where ExecStart names it.
        let text = text.replace("/usr/local/bin/modgate", env!("CARGO_BIN_EXE_modgate"));
        let path = dir.join(unit);
        fs_err::write(&path, text).unwrap();
        paths.push(path);
    }
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .args(&paths)
        .output()
        .expect(
            "systemd-analyze is needed (Debian's systemd; scripts/install-test-deps installs it)",
        );
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{said}");
    let about_us: Vec<&str> = said.lines().filter(|l| l.contains("modgate")).collect();
    assert!(about_us.is_empty(), "systemd-analyze warns: {about_us:?}");
}

/// The unit lets the configuration file decide: it passes no flag but
/// `--config` and sets no `MODGATE_*` variable, either of which would beat
/// the file's key of the same name; and the gc service cleans the storage
/// the example configuration serves.
#[test]
fn the_systemd_unit_leaves_every_setting_to_the_configuration_file() {
    let unit = fs_err::read_to_string(deploy("systemd/modgate.service")).unwrap();
    let exec: Vec<&str> = unit
        .lines()
        .filter_map(|l| l.strip_prefix("ExecStart="))
        .collect();
    assert_eq!(
        exec,
        ["/usr/local/bin/modgate serve --config /etc/modgate/modgate.toml"]
    );
    assert!(
        !unit
            .lines()
            .any(|l| l.starts_with("Environment") && l.contains("MODGATE_")),
        "the unit sets a MODGATE_ variable, which beats the file"
    );
    let example = fs_err::read_to_string(deploy("modgate.toml")).unwrap();
    let storage = example
        .lines()
        .find_map(|l| l.strip_prefix("storage = "))
        .expect("the example names its storage");
    let gc = fs_err::read_to_string(deploy("systemd/modgate-gc.service")).unwrap();
    assert!(
        gc.contains(&format!("gc --storage {} ", storage.trim_matches('"'))),
        "modgate-gc.service cleans another storage than {storage}"
    );
}

/// Starts `modgate serve` with `args` (and `envs`) and returns its first
/// line of output: "modgate listening on …" when the configuration was accepted.
fn first_line_of_serve(args: &[&str], envs: Vec<(String, String)>) -> String {
    let mut run = Command::new(env!("CARGO_BIN_EXE_modgate"))
        .arg("serve")
        .args(args)
        .args(["--listen", "127.0.0.1:0"])
        .envs(envs)
        .env("MODGATE_SHUTDOWN_TIMEOUT", "1s")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(run.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let _ = run.kill();
    let _ = run.wait();
    line
}

/// The example configuration is one the real binary accepts as shipped
/// (only the storage moved to a scratch directory).
#[test]
fn the_example_configuration_starts_modgate() {
    let dir = fresh_dir("example-config");
    let line = first_line_of_serve(
        &[
            "--config",
            deploy("modgate.toml").to_str().unwrap(),
            "--storage",
            dir.to_str().unwrap(),
        ],
        Vec::new(),
    );
    assert!(
        line.starts_with("modgate listening on "),
        "deploy/modgate.toml was refused: {line:?}"
    );
    // config check, which the deployment guide runs before starting, agrees.
    let out = crate::support::modgate::run(
        &[
            "config",
            "check",
            "--config",
            deploy("modgate.toml").to_str().unwrap(),
        ],
        &[],
    );
    let said = crate::support::modgate::text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("vcs_max_size = 20GiB  (file)"), "{said}");
}

#[test]
fn the_kubernetes_manifests_run_three_ready_checked_replicas_behind_a_service() {
    let manifest = deploy("kubernetes/modgate.yaml");
    let check = r#"
import sys, yaml
docs = {d["kind"]: d for d in yaml.safe_load_all(open(sys.argv[1])) if d}
dep, svc, cm = docs["Deployment"], docs["Service"], docs["ConfigMap"]
spec = dep["spec"]
assert spec["replicas"] == 3, spec["replicas"]
labels = spec["template"]["metadata"]["labels"]
assert spec["selector"]["matchLabels"].items() <= labels.items()
assert svc["spec"]["selector"].items() <= labels.items(), "the Service selects no pod"
c = spec["template"]["spec"]["containers"][0]
assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
assert any(e.get("secretRef") for e in c["envFrom"]), "no S3 secret"
assert c["image"] == sys.argv[2], (c["image"], "is not the image Containerfile builds")
assert c["args"] == ["serve", "--config", "/etc/modgate/modgate.toml"], c["args"]
pod = spec["template"]["spec"]
sa = docs["ServiceAccount"]
assert pod["serviceAccountName"] == sa["metadata"]["name"]
assert pod["automountServiceAccountToken"] is False
spread = pod["topologySpreadConstraints"]
assert {t["topologyKey"] for t in spread} >= {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}
for t in spread:
    assert t["labelSelector"]["matchLabels"].items() <= labels.items()
pdb = docs["PodDisruptionBudget"]["spec"]
assert pdb["selector"]["matchLabels"].items() <= labels.items(), "the PDB selects no pod"
assert 1 <= pdb["minAvailable"] < spec["replicas"], "the PDB blocks every drain or guards nothing"
import tomllib
conf = tomllib.loads(cm["data"]["modgate.toml"])
def gib(s, units):
    for u, f in units.items():
        if s.endswith(u):
            return float(s[: -len(u)]) * f
    raise ValueError(s)
vcs = next(v for v in pod["volumes"] if v["name"] == "vcs")
mount = next(m for m in c["volumeMounts"] if m["name"] == "vcs")["mountPath"]
assert conf["vcs_dir"].startswith(mount + "/"), "the git mirrors are not on the vcs volume"
size_limit = gib(vcs["emptyDir"]["sizeLimit"], {"Gi": 1, "Mi": 1 / 1024})
vcs_max = gib(conf["vcs_max_size"], {"GiB": 1, "MiB": 1 / 1024})
assert vcs_max < size_limit, "the kubelet evicts the pod before modgate evicts a mirror"
limit_mib = gib(c["resources"]["limits"]["memory"], {"Gi": 1024, "Mi": 1})
# modgate itself (~64 MiB), its memory cache, and up to 48 MiB per git process.
need = 64 + int(conf["memory_cache"].removesuffix("MiB")) + 48 * conf["max_git_processes"]
assert need <= limit_mib, f"memory limit {limit_mib} MiB < {need} MiB the settings may use"
print(cm["data"]["modgate.toml"])
"#;
    let out = Command::new("python3")
        .args(["-c", check, manifest.to_str().unwrap(), IMAGE])
        .output()
        .expect("python3 with PyYAML is needed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The configuration it mounts is one modgate accepts, on a bucket of
    // that name (modgate checks at start that it can write to it).
    let s3 = crate::support::s3::S3Server::start();
    let bucket = crate::support::http::request(
        s3.endpoint.trim_start_matches("http://"),
        "PUT",
        "/modgate-cache",
        &[],
    );
    assert_eq!(bucket.status, 200, "{}", bucket.text());
    let dir = fresh_dir("k8s");
    let config = dir.join("modgate.toml");
    fs_err::write(&config, &out.stdout).unwrap();
    let line = first_line_of_serve(
        &[
            "--config",
            config.to_str().unwrap(),
            "--vcs-dir",
            dir.join("vcs").to_str().unwrap(),
        ],
        s3.env()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    );
    assert!(
        line.starts_with("modgate listening on "),
        "the mounted configuration was refused: {line:?}"
    );
}

/// Every series modgate exports: the names written where metrics are recorded.
fn exported_series() -> std::collections::BTreeSet<String> {
    let mut exported = std::collections::BTreeSet::new();
    for file in [
        "crates/proxy/src/telemetry.rs",
        "crates/vcs/src/git/mod.rs",
        "crates/store/src/metric.rs",
        "crates/sumdb-server/src/metric.rs",
    ] {
        exported.extend(series_in_source(file));
    }
    exported
}

/// Every `"modgate_…"` series name written in `file` (relative to the workspace).
fn series_in_source(file: &str) -> std::collections::BTreeSet<String> {
    let text = fs_err::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(file),
    )
    .unwrap();
    text.split('"')
        .skip(1)
        .step_by(2)
        .filter(|s| {
            s.starts_with("modgate_") && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_grafana_dashboard_and_the_metrics_reference_cover_every_metric() {
    let exported = exported_series();
    assert!(exported.len() > 15, "{exported:?}");
    let reference = fs_err::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/reference/metrics.md"),
    )
    .unwrap();
    let dashboard: serde_json::Value =
        serde_json::from_str(&fs_err::read_to_string(deploy("grafana/modgate.json")).unwrap())
            .unwrap();
    let mut charted = std::collections::BTreeSet::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        assert!(panel["title"].as_str().is_some_and(|t| !t.is_empty()));
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            for word in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                if let Some(name) = word.strip_prefix("modgate_") {
                    let base = ["_bucket", "_sum", "_count"]
                        .iter()
                        .find_map(|s| name.strip_suffix(s))
                        .unwrap_or(name);
                    charted.insert(format!("modgate_{base}"));
                }
            }
        }
    }
    for name in &exported {
        assert!(
            reference.contains(&format!("| `{name}` |")),
            "{name} is not in docs/reference/metrics.md"
        );
        assert!(charted.contains(name), "{name} is on no dashboard panel");
    }
    for name in &charted {
        assert!(
            exported.contains(name),
            "the dashboard charts {name}, which modgate does not export"
        );
    }
}

/// The alert rules load in Prometheus (`promtool check rules`), each fires
/// on the series that should raise it (`promtool test rules` with
/// alerts.test.yml), and they watch only series modgate exports.
#[test]
fn the_alert_rules_pass_promtool_and_watch_exported_series() {
    for args in [
        ["check", "rules", "alerts.yml"],
        ["test", "rules", "alerts.test.yml"],
    ] {
        let out = Command::new("promtool")
            .args(args)
            .current_dir(deploy("prometheus"))
            .output()
            .expect(
                "promtool is needed (Debian's prometheus; scripts/install-test-deps installs it)",
            );
        assert!(
            out.status.success(),
            "promtool {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let exported = exported_series();
    let rules = fs_err::read_to_string(deploy("prometheus/alerts.yml")).unwrap();
    let watched: std::collections::BTreeSet<&str> = rules
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("modgate_"))
        .collect();
    assert!(watched.len() >= 5, "{watched:?}");
    for name in watched {
        assert!(
            exported.contains(name),
            "alerts.yml watches {name}, which modgate does not export"
        );
    }
}

/// `scripts/build-deb` packages the binary under test with everything a
/// system needs to run it: the units, the example configuration as a
/// conffile, the manual page and completions; and the packaged units run
/// the packaged binary.
#[test]
fn the_debian_package_holds_the_binary_units_configuration_and_manual() {
    let out = fresh_dir("deb");
    let built = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/build-deb"))
        .arg(env!("CARGO_BIN_EXE_modgate"))
        .arg(&out)
        .output()
        .expect("scripts/build-deb runs (dpkg-deb, strip)");
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let deb = String::from_utf8(built.stdout).unwrap().trim().to_owned();
    // dpkg-deb ACTION DEB [ARGS…]
    let dpkg = |args: &[&str]| {
        let o = Command::new("dpkg-deb")
            .arg(args[0])
            .arg(&deb)
            .args(&args[1..])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    let listing = dpkg(&["--contents"]);
    for file in [
        "./usr/bin/modgate",
        "./lib/systemd/system/modgate.service",
        "./lib/systemd/system/modgate-gc.service",
        "./lib/systemd/system/modgate-gc.timer",
        "./etc/modgate/modgate.toml",
        "./usr/share/man/man1/modgate.1.gz",
        "./usr/share/bash-completion/completions/modgate",
        "./usr/share/zsh/vendor-completions/_modgate",
        "./usr/share/fish/vendor_completions.d/modgate.fish",
        "./usr/share/doc/modgate/copyright",
    ] {
        assert!(
            listing.lines().any(|l| l.ends_with(&format!(" {file}"))),
            "{file} is not in the package:\n{listing}"
        );
    }
    assert!(
        listing.lines().all(|l| l.contains(" root/root ")),
        "files not owned by root:\n{listing}"
    );
    for (field, want) in [
        ("Package", "modgate"),
        ("Version", env!("CARGO_PKG_VERSION")),
    ] {
        assert_eq!(dpkg(&["--field", field]).trim(), want, "{field}");
    }
    let depends = dpkg(&["--field", "Depends"]);
    assert!(depends.contains("git"), "Depends: {depends}");
    let root = fresh_dir("deb-root");
    let x = Command::new("dpkg-deb")
        .arg("--extract")
        .arg(&deb)
        .arg(&root)
        .status()
        .unwrap();
    assert!(x.success());
    let conffiles = Command::new("dpkg-deb")
        .args(["--info"])
        .arg(&deb)
        .arg("conffiles")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&conffiles.stdout).trim(),
        "/etc/modgate/modgate.toml"
    );
    let unit = fs_err::read_to_string(root.join("lib/systemd/system/modgate.service")).unwrap();
    assert!(
        unit.contains("ExecStart=/usr/bin/modgate serve --config /etc/modgate/modgate.toml"),
        "{unit}"
    );
    let version = Command::new(root.join("usr/bin/modgate"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&version.stdout).starts_with("modgate "),
        "the packaged binary does not run"
    );
    let man = Command::new("sh")
        .arg("-c")
        .arg("gzip -dc \"$1\" | head -c 200")
        .arg("sh")
        .arg(root.join("usr/share/man/man1/modgate.1.gz"))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&man.stdout).contains(".TH modgate"),
        "the manual page is not roff"
    );
    // Each holds a copy of the binary; the disk is shared.
    fs_err::remove_dir_all(&root).unwrap();
    fs_err::remove_dir_all(&out).unwrap();
}
