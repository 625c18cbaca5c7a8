//! The deployment files in deploy/: what systemd and Kubernetes are given
//! must be valid for them.

use std::path::Path;
use std::process::Command;

use crate::support::fresh_dir;

fn deploy(file: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy")
        .join(file)
}

#[test]
fn the_systemd_unit_passes_systemd_analyze_verify() {
    let unit = fs_err::read_to_string(deploy("systemd/modgate.service")).unwrap();
    // As installed: the binary where ExecStart names it.
    let unit = unit.replace("/usr/local/bin/modgate", env!("CARGO_BIN_EXE_modgate"));
    let dir = fresh_dir("unit");
    let path = dir.join("modgate.service");
    fs_err::write(&path, unit).unwrap();
    let out = Command::new("systemd-analyze")
        .args(["verify", path.to_str().unwrap()])
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
print(cm["data"]["modgate.toml"])
"#;
    let out = Command::new("python3")
        .args(["-c", check, manifest.to_str().unwrap()])
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
    let run = Command::new(env!("CARGO_BIN_EXE_modgate"))
        .args([
            "serve",
            "--config",
            config.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .args(["--vcs-dir", dir.join("vcs").to_str().unwrap()])
        .envs(s3.env())
        .env("MODGATE_SHUTDOWN_TIMEOUT", "1s")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut run = run;
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(run.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let _ = run.kill();
    let _ = run.wait();
    assert!(
        line.starts_with("modgate listening on "),
        "the mounted configuration was refused: {line:?}"
    );
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
fn the_grafana_dashboard_and_the_readme_cover_every_metric() {
    let mut exported = series_in_source("crates/proxy/src/telemetry.rs");
    exported.extend(series_in_source("crates/vcs/src/git/mod.rs"));
    exported.extend(series_in_source("crates/store/src/metric.rs"));
    exported.extend(series_in_source("crates/sumdb-server/src/metric.rs"));
    assert!(exported.len() > 15, "{exported:?}");
    let readme =
        fs_err::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
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
            readme.contains(&format!("| `{name}` |")),
            "{name} is not in the README's metric table"
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
