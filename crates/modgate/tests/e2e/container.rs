//! The container image as `Containerfile` builds it: built with podman
//! from the binary under test on a base made from the machine's Debian
//! mirror (no registry is reachable), then run: `--version`, and a
//! `go mod download` through the container, published on 127.0.0.1.

use std::path::Path;
use std::process::{Command, Output};

use crate::deploy::IMAGE;
use crate::support::go::{Go, download};
use crate::support::mirror::write_version;
use crate::support::{fresh_dir, scratch};

fn workspace() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// `program` as root: itself when the tests run as root, else through
/// `sudo -n` with the credentials scripts/test has just used for the
/// install step (rootless podman needs a set-up a fresh machine lacks).
/// podman reads the containers.conf written in the scratch directory.
fn as_root(program: &str) -> Command {
    let conf = scratch().join("containers.conf");
    if !conf.exists() {
        fs_err::write(&conf, "[containers]\ndefault_ulimits = []\n").unwrap();
    }
    // SAFETY: geteuid(2) has no preconditions.
    let mut command = if unsafe { libc::geteuid() } == 0 {
        Command::new("env")
    } else {
        let mut sudo = Command::new("sudo");
        sudo.args(["-n", "env"]);
        sudo
    };
    command
        .arg(format!("CONTAINERS_CONF={}", conf.display()))
        .arg(program);
    command
}

/// podman as it works on this kind of machine: runc, cgroupfs, and no
/// default ulimits.
fn podman(args: &[&str]) -> Output {
    as_root("podman")
        .args(["--runtime", "runc", "--cgroup-manager", "cgroupfs"])
        .args(args)
        .output()
        .expect(
            "podman is needed (Debian's podman and runc; scripts/install-test-deps installs them)",
        )
}

fn ok(what: &str, out: Output) -> String {
    assert!(
        out.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Removes the container when the test ends, however it ends.
struct Running(String);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = podman(&["rm", "--force", "--volumes", "--time", "1", &self.0]);
    }
}

#[test]
fn the_container_image_builds_and_serves_go_mod_download() {
    // The base image (cached on this machine by the script).
    let base = as_root(workspace().join("scripts/container-base").to_str().unwrap())
        .output()
        .expect("scripts/container-base runs");
    ok(
        "scripts/container-base (needs root, podman and debootstrap)",
        base,
    );

    // The build context: the binary under test, stripped of its debug
    // information (the image needs none of it, and it is most of the bytes).
    let context = fresh_dir("container");
    let binary = context.join("modgate");
    let strip = Command::new("strip")
        .args(["--strip-debug", "-o"])
        .arg(&binary)
        .arg(env!("CARGO_BIN_EXE_modgate"))
        .status()
        .expect("strip (binutils) is needed");
    assert!(strip.success());
    let containerfile = workspace().join("Containerfile");
    ok(
        "podman build",
        podman(&[
            "build",
            "--pull=never",
            "--network",
            "host",
            "--build-arg",
            "MODGATE_BINARY=modgate",
            "--label",
            "modgate.test=1",
            "--file",
            containerfile.to_str().unwrap(),
            "--tag",
            IMAGE,
            context.to_str().unwrap(),
        ]),
    );

    // The context's copy of the binary is in the image now; the disk is shared.
    fs_err::remove_dir_all(&context).unwrap();
    // The image this build replaced is kept by nothing: give its disk back.
    let _ = podman(&[
        "image",
        "prune",
        "--force",
        "--filter",
        "label=modgate.test=1",
    ]);

    let version = ok("--version", podman(&["run", "--rm", IMAGE, "--version"]));
    let here = Command::new(env!("CARGO_BIN_EXE_modgate"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(version, String::from_utf8_lossy(&here.stdout));

    // A GOPROXY tree mounted read-only as the container's upstream: the
    // container reaches nothing else.
    let tree = fresh_dir("container-tree");
    write_version(
        &tree,
        "example.com/boxed",
        "v1.0.0",
        "module example.com/boxed\n\ngo 1.21\n",
        &[("boxed.go", b"package boxed\n")],
        zip::CompressionMethod::Deflated,
    );
    // The image's user (65532) reads it.
    ok(
        "chmod",
        Command::new("chmod")
            .args(["-R", "a+rX"])
            .arg(scratch())
            .output()
            .unwrap(),
    );
    let mount = format!("{}:/srv/tree:ro", tree.display());
    let id = ok(
        "podman run",
        podman(&[
            "run",
            "--detach",
            "--publish",
            "127.0.0.1::3000",
            "--volume",
            &mount,
            IMAGE,
            "serve",
            "--listen",
            "0.0.0.0:3000",
            "--storage",
            "/var/lib/modgate",
            "--upstream",
            "file:///srv/tree",
            "--sumdb",
            "off",
            "--vulndb",
            "off",
            "--dl-upstream",
            "off",
        ]),
    );
    let running = Running(id.trim().to_owned());
    let port = ok("podman port", podman(&["port", &running.0, "3000"]));
    // "127.0.0.1:PORT"
    let addr = port.lines().next().unwrap_or_default().trim().to_owned();
    assert!(addr.starts_with("127.0.0.1:"), "published on {addr:?}");
    // Ready when it answers: the first line of its log says so.
    let mut ready = false;
    for _ in 0..100 {
        let logs = podman(&["logs", &running.0]);
        if String::from_utf8_lossy(&logs.stdout).contains("modgate listening on ") {
            ready = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let logs = podman(&["logs", &running.0]);
    assert!(
        ready,
        "the container did not start serving: {}",
        String::from_utf8_lossy(&logs.stderr)
    );

    let go = Go::new(&format!("http://{addr}")).env("GOSUMDB", "off");
    let work = fresh_dir("container-go");
    let got = download(&go, &work, &["example.com/boxed@v1.0.0"]);
    assert_eq!(got.len(), 1);
    assert!(
        got[0].go_mod_sum.starts_with("h1:"),
        "{:?}",
        got[0].go_mod_sum
    );
}
