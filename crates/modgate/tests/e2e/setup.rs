//! The set-up as a newcomer meets it: README's install command run as root
//! in a fresh debootstrap chroot of bookworm (no sudo in it), then every
//! tool it promises working there, offline, and README's serve command (the
//! binary under test for its cargo build) answering on the address README
//! names. `scripts/setup-chroot` does it; the installed chroot is kept per
//! machine, keyed by what the install runs, so only a changed script pays
//! for the downloads again.

use std::path::Path;
use std::process::Command;

use crate::support::modgate::text;

#[test]
fn the_readme_set_up_works_in_a_fresh_debian_chroot() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/setup-chroot");
    // A chroot needs root: as a user, through sudo, whose credentials
    // scripts/test has just used for the install step (never a prompt here).
    // SAFETY: geteuid(2) has no preconditions.
    let mut command = if unsafe { libc::geteuid() } == 0 {
        Command::new(&script)
    } else {
        let mut sudo = Command::new("sudo");
        sudo.arg("-n").arg(&script);
        sudo
    };
    let out = command
        .arg(env!("CARGO_BIN_EXE_modgate"))
        .output()
        .expect("scripts/setup-chroot runs (bash; as a user, through sudo)");
    let said = text(&out);
    // The install's apt output is long: what failed is at the end.
    let lines: Vec<&str> = said.lines().collect();
    let tail = lines[lines.len().saturating_sub(60)..].join("\n");
    assert!(
        out.status.success(),
        "scripts/setup-chroot (needs root, or as a user sudo credentials that scripts/test refreshed; debootstrap, unshare and the machine's Debian mirror) failed:\n{tail}"
    );
    assert!(
        said.lines().any(|l| l == "setup-chroot: ok"),
        "scripts/setup-chroot did not finish its checks:\n{tail}"
    );
}
