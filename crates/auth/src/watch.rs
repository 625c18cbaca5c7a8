//! The auth file of a running server, reloaded when it changes.

use std::io::Read as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use crate::{AuthConfig, Error};

/// The configuration in force, and the file it came from.
///
/// [`Watched::current`] is a read lock held for one `Arc` clone: requests
/// never wait for a reload, which parses outside the lock.
#[derive(Debug)]
pub struct Watched {
    path: PathBuf,
    current: RwLock<Arc<AuthConfig>>,
    /// The file as last looked at, loaded or not (`None`: it could not be
    /// read), so that a broken file is reported once, not at every poll.
    seen: Mutex<Option<Stamp>>,
}

/// What tells a changed file: an editor writes in place (mtime, length) or
/// renames a new file over it (inode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    dev: u64,
    ino: u64,
}

impl Stamp {
    fn of(meta: &std::fs::Metadata) -> Stamp {
        Stamp {
            modified: meta.modified().ok(),
            len: meta.len(),
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }
}

impl Watched {
    /// Loads the file at `path`; it must be valid.
    pub fn load(path: &Path) -> Result<Watched, Error> {
        let (stamp, config) = read(path)?;
        Ok(Watched {
            path: path.to_owned(),
            current: RwLock::new(Arc::new(config)),
            seen: Mutex::new(Some(stamp)),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The configuration in force.
    pub fn current(&self) -> Arc<AuthConfig> {
        Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Reloads the file if its mtime, length or inode changed since it was
    /// last looked at: `Ok(true)` if a new configuration is in force. A
    /// file that fails to load leaves the previous configuration in force
    /// and is reported once: until it changes again, `Ok(false)`.
    pub fn reload_if_changed(&self) -> Result<bool, Error> {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let now = fs_err::metadata(&self.path).map(|m| Stamp::of(&m));
        match now {
            Ok(stamp) if *seen == Some(stamp) => return Ok(false),
            Err(_) if seen.is_none() => return Ok(false),
            _ => {}
        }
        match read(&self.path) {
            Ok((stamp, config)) => {
                *seen = Some(stamp);
                *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(config);
                Ok(true)
            }
            Err(e) => {
                *seen = now.ok();
                Err(e)
            }
        }
    }

    /// Reloads the file whether it seems changed or not (SIGHUP); on error
    /// the previous configuration stays in force.
    pub fn reload(&self) -> Result<(), Error> {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let (stamp, config) = read(&self.path)?;
        *seen = Some(stamp);
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(config);
        Ok(())
    }
}

/// The file's stamp and configuration, both from one open file so that
/// they agree even if the file is replaced meanwhile.
fn read(path: &Path) -> Result<(Stamp, AuthConfig), Error> {
    let read_err = |source| Error::Read {
        path: path.to_owned(),
        source,
    };
    let mut file = fs_err::File::open(path).map_err(read_err)?;
    let stamp = Stamp::of(&file.metadata().map_err(read_err)?);
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(read_err)?;
    Ok((stamp, AuthConfig::parse(&text, path)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AuthFile, Decision, Identity, Right};

    fn decision(watched: &Watched) -> Decision {
        watched
            .current()
            .authorize(&Identity::ANONYMOUS, "rsc.io/quote", Right::Read, false)
    }

    #[test]
    fn reload_picks_up_changes_and_keeps_the_old_config_on_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.toml");
        fs_err::write(&path, "[defaults]\npublic = \"anonymous\"\n").unwrap();
        let watched = Watched::load(&path).unwrap();
        let first = watched.current().generation();
        assert_eq!(decision(&watched), Decision::Allow);
        assert!(!watched.reload_if_changed().unwrap());
        assert_eq!(watched.current().generation(), first);

        // Written in place (another length).
        fs_err::write(&path, "[defaults]\npublic = \"closed\"\n").unwrap();
        assert!(watched.reload_if_changed().unwrap());
        assert!(matches!(decision(&watched), Decision::Deny(_)));

        // Replaced by a rename (another inode), as `modgate auth` does.
        let mut file = AuthFile::load_or_default(&path).unwrap();
        file.add_user("alice", None).unwrap();
        file.save(&path).unwrap();
        assert!(watched.reload_if_changed().unwrap());
        let before = watched.current().generation();

        // Broken: reported once, the previous configuration stays.
        fs_err::write(&path, "[defaults]\npublic = \"nobody\"\n").unwrap();
        let e = watched.reload_if_changed().unwrap_err();
        assert!(e.to_string().contains("auth.toml:2:"), "{e}");
        assert!(!watched.reload_if_changed().unwrap());
        assert!(watched.reload().is_err());
        assert_eq!(watched.current().generation(), before);
        assert!(matches!(decision(&watched), Decision::Deny(_)));

        // Gone: the same.
        fs_err::remove_file(&path).unwrap();
        assert!(matches!(
            watched.reload_if_changed(),
            Err(Error::Read { .. })
        ));
        assert!(!watched.reload_if_changed().unwrap());
        assert_eq!(watched.current().generation(), before);

        // Fixed.
        fs_err::write(&path, "[defaults]\npublic = \"anonymous\"\n").unwrap();
        assert!(watched.reload_if_changed().unwrap());
        assert_eq!(decision(&watched), Decision::Allow);
        watched.reload().unwrap();
        assert!(watched.current().generation() > before);
    }

    #[test]
    fn the_first_load_must_succeed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.toml");
        assert!(matches!(Watched::load(&path), Err(Error::Read { .. })));
        fs_err::write(&path, "[users]\n").unwrap();
        assert!(matches!(Watched::load(&path), Err(Error::Parse { .. })));
    }
}
