//! `modgate auth`: edits of the auth file, each an atomic rewrite (0600).

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::Path;

use anyhow::{Context as _, bail};
use modgate_auth::AuthFile;

use modgate_cli::{AuthArgs, AuthCommand};

pub fn run(args: AuthArgs) -> anyhow::Result<()> {
    let Some(path) = args.auth_file else {
        bail!("name the auth file with --auth-file FILE or MODGATE_AUTH_FILE");
    };
    let mut file = AuthFile::load_or_default(&path)?;
    match args.command {
        AuthCommand::AddUser {
            name,
            groups,
            admin,
        } => {
            let password = read_password(&format!("password for {name}"))?;
            file.add_user(&name, password.as_deref())?;
            file.set_groups(&name, groups)?;
            file.set_admin(&name, admin)?;
            save(&file, &path)?;
            println!("added user {name}");
        }
        AuthCommand::Passwd { name } => {
            let password = read_password(&format!("new password for {name}"))?;
            file.set_password(&name, password.as_deref())?;
            save(&file, &path)?;
            println!("password of {name} set");
        }
        AuthCommand::AddToken { name, expires } => {
            let expires = expires
                .as_deref()
                .map(modgate_auth::parse_expiry)
                .transpose()?;
            let token = file.add_token(&name, expires)?;
            save(&file, &path)?;
            println!("token for {name} (shown only now):");
            println!("{token}");
        }
        AuthCommand::List => {
            // Listing creates nothing: a file that is not there is a
            // mistaken path, not an empty list.
            if !path.exists() {
                bail!(
                    "{} does not exist (modgate auth add-user creates it)",
                    path.display()
                );
            }
            for row in file.list() {
                println!("{row}");
            }
        }
        AuthCommand::Revoke { id } => {
            file.revoke_token(&id)?;
            save(&file, &path)?;
            println!("revoked token {id}");
        }
        AuthCommand::RemoveUser { name } => {
            file.remove_user(&name)?;
            save(&file, &path)?;
            println!("removed user {name} and their tokens");
        }
    }
    Ok(())
}

fn save(file: &AuthFile, path: &Path) -> anyhow::Result<()> {
    file.save(path)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// The password from stdin: one line when piped, typed without echo on a
/// terminal. An empty line means none (tokens only); no line at all (a
/// closed stdin) is an error, not a user without a password by accident.
fn read_password(prompt: &str) -> anyhow::Result<Option<String>> {
    let stdin = std::io::stdin();
    let line = if stdin.is_terminal() {
        eprint!("{prompt}: ");
        std::io::stderr().flush()?;
        let _echo = EchoOff::new();
        let mut line = String::new();
        stdin.lock().read_line(&mut line)?;
        eprintln!();
        line
    } else {
        let mut line = String::new();
        stdin.lock().read_line(&mut line)?;
        line
    };
    if line.is_empty() {
        bail!(
            "no {prompt} on stdin (it is closed): pipe one line, or an empty line for a user \
             who logs in with tokens only"
        );
    }
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    Ok((!password.is_empty()).then_some(password))
}

/// Terminal echo off while it lives.
struct EchoOff(Option<libc::termios>);

impl EchoOff {
    fn new() -> Self {
        // SAFETY: tcgetattr/tcsetattr on stdin with a zeroed termios to fill.
        unsafe {
            let mut term: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(libc::STDIN_FILENO, &mut term) != 0 {
                return EchoOff(None);
            }
            let saved = term;
            term.c_lflag &= !libc::ECHO;
            libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &term);
            EchoOff(Some(saved))
        }
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        if let Some(saved) = &self.0 {
            // SAFETY: restores the attributes read in `new`.
            unsafe {
                libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, saved);
            }
        }
    }
}
