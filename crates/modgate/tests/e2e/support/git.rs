//! Building local git repositories with fixed dates.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Repo {
    pub dir: PathBuf,
}

impl Repo {
    pub fn init(dir: &Path) -> Self {
        fs_err::create_dir_all(dir).unwrap();
        let repo = Self {
            dir: dir.to_owned(),
        };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    /// git in this repository, isolated from the user's configuration.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("git");
        cmd.args(args)
            .current_dir(&self.dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "modgate test")
            .env("GIT_AUTHOR_EMAIL", "test@modgate.invalid")
            .env("GIT_COMMITTER_NAME", "modgate test")
            .env("GIT_COMMITTER_EMAIL", "test@modgate.invalid");
        cmd
    }

    fn run(&self, mut cmd: Command, what: &str) -> String {
        let out = cmd.output().unwrap_or_else(|e| {
            panic!("cannot run git ({e}); the end-to-end tests need git: run `sudo scripts/install-test-deps`")
        });
        assert!(
            out.status.success(),
            "git {what} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn git(&self, args: &[&str]) -> String {
        self.run(self.command(args), &args.join(" "))
    }

    pub fn write(&self, path: &str, content: &str) -> &Self {
        let full = self.dir.join(path);
        fs_err::create_dir_all(full.parent().unwrap()).unwrap();
        fs_err::write(full, content).unwrap();
        self
    }

    /// Commits everything with a fixed author and commit date (RFC 3339).
    pub fn commit(&self, message: &str, date: &str) -> &Self {
        self.git(&["add", "-A"]);
        let mut cmd = self.command(&["commit", "-q", "-m", message]);
        cmd.env("GIT_AUTHOR_DATE", date)
            .env("GIT_COMMITTER_DATE", date);
        self.run(cmd, "commit");
        self
    }

    pub fn tag(&self, name: &str) -> &Self {
        self.git(&["tag", name]);
        self
    }
}
