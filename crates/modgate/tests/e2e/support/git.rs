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

    /// git with `input` on its stdin (plumbing: mktree, hash-object).
    pub fn git_stdin(&self, args: &[&str], input: impl std::io::Read + Send + 'static) -> String {
        let mut cmd = self.command(args);
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().expect("run git");
        let mut stdin = child.stdin.take().unwrap();
        let feed = std::thread::spawn(move || {
            let mut input = input;
            std::io::copy(&mut input, &mut stdin).map(|_| ())
        });
        let out = child.wait_with_output().unwrap();
        feed.join().unwrap().unwrap();
        assert!(
            out.status.success(),
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
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

    /// Commits everything with distinct author and committer dates.
    pub fn commit_dated(&self, message: &str, author_date: &str, committer_date: &str) -> &Self {
        self.git(&["add", "-A"]);
        let mut cmd = self.command(&["commit", "-q", "-m", message]);
        cmd.env("GIT_AUTHOR_DATE", author_date)
            .env("GIT_COMMITTER_DATE", committer_date);
        self.run(cmd, "commit");
        self
    }

    /// An annotated tag on HEAD, with its own (tagger) date.
    pub fn annotated_tag(&self, name: &str, message: &str, date: &str) -> &Self {
        let mut cmd = self.command(&["tag", "-a", "-m", message, name]);
        cmd.env("GIT_COMMITTER_DATE", date);
        self.run(cmd, "tag -a");
        self
    }

    /// A new branch at HEAD, checked out.
    pub fn branch(&self, name: &str) -> &Self {
        self.git(&["checkout", "-q", "-b", name]);
        self
    }

    /// Checks out an existing branch (or any revision).
    pub fn checkout(&self, rev: &str) -> &Self {
        self.git(&["checkout", "-q", rev]);
        self
    }

    /// A symbolic link at `path` pointing to `target`.
    pub fn symlink(&self, path: &str, target: &str) -> &Self {
        let full = self.dir.join(path);
        fs_err::create_dir_all(full.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, full).unwrap();
        self
    }

    /// Removes a file from the working tree (the next commit records it).
    pub fn remove(&self, path: &str) -> &Self {
        fs_err::remove_file(self.dir.join(path)).unwrap();
        self
    }

    /// The full commit hash of `rev`.
    pub fn rev_parse(&self, rev: &str) -> String {
        self.git(&["rev-parse", &format!("{rev}^{{commit}}")])
            .trim()
            .to_owned()
    }
}
