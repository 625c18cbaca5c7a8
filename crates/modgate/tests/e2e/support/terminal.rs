//! A command on a real terminal (a detached tmux session, 160x20), for
//! what modgate draws only on one: progress bars.

use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

pub struct Terminal {
    session: String,
}

fn tmux(args: &[&str]) -> Output {
    Command::new("tmux")
        .args(args)
        .output()
        .expect("tmux is needed (Debian's tmux)")
}

impl Terminal {
    /// Runs the shell `command` on a new terminal; the session stays
    /// (follow the command with `; sleep 30` to keep its last screen).
    pub fn start(command: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let session = format!(
            "modgate-e2e-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let started = tmux(&[
            "new-session",
            "-d",
            "-s",
            &session,
            "-x",
            "160",
            "-y",
            "20",
            command,
        ]);
        assert!(
            started.status.success(),
            "tmux new-session: {}",
            String::from_utf8_lossy(&started.stderr)
        );
        Self { session }
    }

    /// What the terminal shows now.
    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", &self.session]).stdout)
            .into_owned()
    }

    /// Screens until `done` says so of one (that one is returned), or 30 s.
    pub fn watch(&self, mut done: impl FnMut(&str) -> bool) -> String {
        let mut screen = String::new();
        for _ in 0..600 {
            screen = self.screen();
            if done(&screen) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        screen
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        tmux(&["kill-session", "-t", &self.session]);
    }
}
