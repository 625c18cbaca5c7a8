//! The embedded default store: a directory on local disk.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::UNIX_EPOCH;

use async_trait::async_trait;
use bytes::Bytes;
use tempfile::NamedTempFile;

use super::{Body, Key, Object, Stat, Store, StoreError};

/// Objects up to this size are read into memory at once; larger ones are streamed.
const READ_WHOLE_LIMIT: u64 = 64 * 1024;
/// Staging area; a leading dot can never start an escaped module path.
pub(crate) const TMP_DIR: &str = ".tmp";
/// In [`TMP_DIR`]: tells whether another process has the store open.
const TMP_LOCK: &str = ".lock";

#[derive(Debug, Clone)]
pub struct DiskStore {
    root: PathBuf,
    /// Permission bits of stored files.
    mode: u32,
    /// Directories made for new objects whose own entry in their parent
    /// may not be durable yet; `sync` makes it so, or a power loss could
    /// forget an object `sync` said was durable.
    created: Arc<Mutex<HashSet<PathBuf>>>,
    /// `.tmp/.lock`, held shared while the store is open.
    _lock: Arc<std::fs::File>,
}

/// Stored files are private code: readable by modgate's user only, unless
/// the operator serves the tree with another reader ([`DiskStore::with_mode`]).
pub const DEFAULT_MODE: u32 = 0o600;

impl DiskStore {
    /// Opens (creating) the store and removes staging files a crash left
    /// behind, unless another process has the store open (a server while
    /// `gc` or `verify` runs, a replica): those files may be its downloads
    /// under way. Every process holds `.tmp/.lock` shared; the one that
    /// gets it exclusively is alone, and may clean.
    pub fn open(root: &Path) -> Result<Self, StoreError> {
        let tmp = root.join(TMP_DIR);
        fs_err::create_dir_all(&tmp)?;
        let lock = fs_err::File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(tmp.join(TMP_LOCK))?
            .into_parts()
            .0;
        match lock.try_lock() {
            Ok(()) => {
                for entry in fs_err::read_dir(&tmp)? {
                    let path = entry?.path();
                    if path.file_name().is_some_and(|n| n == TMP_LOCK) {
                        continue;
                    }
                    if path.is_dir() {
                        fs_err::remove_dir_all(&path)?;
                    } else {
                        fs_err::remove_file(&path)?;
                    }
                }
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                tracing::debug!(root = %root.display(), "the store is open elsewhere: leaving its staging files alone");
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(fs_err_wrap(e, &tmp).into()),
        }
        // Shared from now on (converting the exclusive lock, if held).
        lock.lock_shared().map_err(|e| fs_err_wrap(e, &tmp))?;
        Ok(Self {
            root: root.to_owned(),
            mode: DEFAULT_MODE,
            created: Arc::default(),
            _lock: Arc::new(lock),
        })
    }

    /// Stored files get the permission bits `mode` (e.g. 0o644 for an
    /// nginx or `file://` reader running as another user).
    pub fn with_mode(mut self, mode: u32) -> Self {
        self.mode = mode & 0o777;
        self
    }

    /// Where `key` lives: below the root, whatever the key holds (keys are
    /// checked when built; this holds even if one were not).
    fn path(&self, key: &Key) -> Result<PathBuf, StoreError> {
        use std::path::Component;
        let rel = Path::new(key.as_str());
        if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
            return Err(StoreError::Outside(key.as_str().to_owned()));
        }
        Ok(self.root.join(rel))
    }
}

/// A weak-looking but sufficient validator, like nginx's: stored files never change.
fn etag(meta: &std::fs::Metadata) -> String {
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    format!("\"{mtime:x}-{:x}\"", meta.len())
}

fn read_object(path: &Path) -> std::io::Result<Option<Object>> {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(fs_err_wrap(e, path)),
    };
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Ok(None);
    }
    let size = meta.len();
    let body = if size <= READ_WHOLE_LIMIT {
        let mut buf = Vec::with_capacity(size as usize);
        file.read_to_end(&mut buf)?;
        Body::Bytes(Bytes::from(buf))
    } else {
        Body::File(Arc::new(file))
    };
    Ok(Some(Object {
        size,
        etag: etag(&meta),
        body,
    }))
}

fn fs_err_wrap(e: std::io::Error, path: &Path) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("{e} (path {})", path.display()))
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    fs_err::File::open(dir)?.sync_all()
}

/// Creates `dir` and the ancestors it lacks, noting each made in `created`
/// (before it is made: a concurrent writer that finds it must not miss it).
fn make_dirs(dir: &Path, created: &Mutex<HashSet<PathBuf>>) -> std::io::Result<()> {
    let mut missing = Vec::new();
    let mut d = dir;
    while !d.is_dir() {
        missing.push(d.to_owned());
        d = d.parent().expect("the store's root exists");
    }
    for m in missing.into_iter().rev() {
        crate::lock(created).insert(m.clone());
        match std::fs::create_dir(&m) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                crate::lock(created).remove(&m);
                return Err(fs_err_wrap(e, &m));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Moves a fully written temp file, synced first, to `dest` unless `dest`
/// exists, with permission bits `mode`; true if it did. Its name becomes
/// durable with `sync`.
fn commit(
    file: NamedTempFile,
    dest: &Path,
    mode: u32,
    created: &Mutex<HashSet<PathBuf>>,
) -> std::io::Result<bool> {
    use std::os::unix::fs::PermissionsExt as _;
    if mode != DEFAULT_MODE {
        file.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))?;
    }
    file.as_file().sync_all()?;
    let parent = dest.parent().expect("store keys have a parent");
    make_dirs(parent, created)?;
    match file.persist_noclobber(dest) {
        Ok(_) => Ok(true),
        // Someone stored it first; stored objects never change, so theirs stands.
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(fs_err_wrap(e.error, dest)),
    }
}

#[async_trait]
impl Store for DiskStore {
    async fn get(&self, key: &Key) -> Result<Option<Object>, StoreError> {
        let path = self.path(key)?;
        Ok(tokio::task::spawn_blocking(move || read_object(&path)).await??)
    }

    async fn put(&self, key: &Key, data: Bytes) -> Result<(), StoreError> {
        let mut file = self.temp_file()?;
        let (dest, mode, created) = (self.path(key)?, self.mode, self.created.clone());
        tokio::task::spawn_blocking(move || {
            file.write_all(&data)?;
            commit(file, &dest, mode, &created)
        })
        .await??;
        Ok(())
    }

    async fn create_file(&self, key: &Key, file: NamedTempFile) -> Result<bool, StoreError> {
        let (dest, mode, created) = (self.path(key)?, self.mode, self.created.clone());
        Ok(tokio::task::spawn_blocking(move || commit(file, &dest, mode, &created)).await??)
    }

    async fn sync(&self, key: &Key) -> Result<(), StoreError> {
        let path = self.path(key)?;
        let leaf = path.parent().expect("store keys have a parent").to_owned();
        // The leaf's entry for the object, and every new ancestor's entry
        // in its parent.
        let new: Vec<PathBuf> = {
            let created = crate::lock(&self.created);
            leaf.ancestors()
                .take_while(|a| *a != self.root)
                .filter(|a| created.contains(*a))
                .map(Path::to_owned)
                .collect()
        };
        let dirs = new.clone();
        tokio::task::spawn_blocking(move || {
            sync_dir(&leaf)?;
            dirs.iter()
                .try_for_each(|d| sync_dir(d.parent().expect("below the root")))
        })
        .await??;
        let mut created = crate::lock(&self.created);
        for d in &new {
            created.remove(d);
        }
        Ok(())
    }

    async fn list(&self, dir: &Key) -> Result<Vec<String>, StoreError> {
        let path = self.path(dir)?;
        let names = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<String>> {
            let entries = match std::fs::read_dir(&path) {
                Ok(e) => e,
                // A file has nothing under it, as a bucket's object has not.
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                    ) =>
                {
                    return Ok(Vec::new());
                }
                Err(e) => return Err(fs_err_wrap(e, &path)),
            };
            let mut names = Vec::new();
            for entry in entries {
                if let Ok(name) = entry?.file_name().into_string() {
                    names.push(name);
                }
            }
            Ok(names)
        })
        .await??;
        Ok(names)
    }

    async fn list_files(&self, dir: &Key) -> Result<Vec<(String, Stat)>, StoreError> {
        let path = self.path(dir)?;
        let files = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<(String, Stat)>> {
            let entries = match std::fs::read_dir(&path) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
                Err(e) => return Err(fs_err_wrap(e, &path)),
            };
            let mut files = Vec::new();
            for entry in entries {
                let entry = entry?;
                // Removed since the listing (gc): not there.
                let Ok(meta) = entry.metadata() else {
                    continue;
                };
                if let (true, Ok(name)) = (meta.is_file(), entry.file_name().into_string()) {
                    let stored = meta.modified()?;
                    files.push((
                        name,
                        Stat {
                            size: meta.len(),
                            stored,
                        },
                    ));
                }
            }
            Ok(files)
        })
        .await??;
        Ok(files)
    }

    async fn set_aside(&self, key: &Key) -> Result<(), StoreError> {
        let from = self.path(key)?;
        let to = self.root.join(super::QUARANTINE).join(key.as_str());
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            fs_err::create_dir_all(to.parent().expect("store keys have a parent"))?;
            fs_err::rename(&from, &to)?;
            sync_dir(from.parent().expect("store keys have a parent"))
        })
        .await??;
        Ok(())
    }

    async fn stat(&self, key: &Key) -> Result<Option<Stat>, StoreError> {
        let path = self.path(key)?;
        Ok(
            tokio::task::spawn_blocking(move || match std::fs::metadata(&path) {
                Ok(meta) if meta.is_file() => Ok(Some(Stat {
                    size: meta.len(),
                    stored: meta.modified()?,
                })),
                Ok(_) => Ok(None),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(fs_err_wrap(e, &path)),
            })
            .await??,
        )
    }

    async fn remove(&self, key: &Key) -> Result<(), StoreError> {
        let path = self.path(key)?;
        tokio::task::spawn_blocking(move || match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(fs_err_wrap(e, &path)),
            _ => Ok(()),
        })
        .await??;
        Ok(())
    }

    async fn check(&self) -> Result<(), StoreError> {
        let mut file = self.temp_file()?;
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            file.write_all(b"ok")?;
            file.as_file().sync_all()?;
            Ok(())
        })
        .await??;
        Ok(())
    }

    fn temp_file(&self) -> Result<NamedTempFile, StoreError> {
        let dir = self.root.join(TMP_DIR);
        Ok(tempfile::Builder::new()
            .prefix("stage-")
            .tempfile_in(&dir)
            .map_err(|e| fs_err_wrap(e, &dir))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(ext: super::super::Ext) -> Key {
        Key::version_file("github.com/Azure/go", "v1.0.0", ext).unwrap()
    }

    /// `gc` or `verify` opening the store of a running server must not
    /// remove its downloads under way; once no process has the store
    /// open, the next one removes what a crash left.
    #[test]
    fn staging_files_are_cleaned_only_by_a_store_opened_alone() {
        let dir = tempfile::tempdir().unwrap();
        let server = DiskStore::open(dir.path()).unwrap();
        let staged = server.temp_file().unwrap();
        let left = server.temp_file().unwrap().into_temp_path().keep().unwrap();
        let gc = DiskStore::open(dir.path()).unwrap();
        assert!(staged.path().exists() && left.exists());
        drop((gc, staged, server));
        assert!(left.exists());
        let _next = DiskStore::open(dir.path()).unwrap();
        assert!(!left.exists(), "a crash's staging file is removed");
    }

    /// A new module's directories are made by the first put; until sync, their
    /// entries in their parents are owed an fsync, and sync pays it.
    #[tokio::test]
    async fn sync_makes_new_directories_durable_too() {
        let dir = tempfile::tempdir().unwrap();
        let store = DiskStore::open(dir.path()).unwrap();
        let info = key(super::super::Ext::Info);
        store.put(&info, Bytes::from_static(b"{}")).await.unwrap();
        let owed: HashSet<PathBuf> = [
            "github.com",
            "github.com/!azure",
            "github.com/!azure/go",
            "github.com/!azure/go/@v",
        ]
        .iter()
        .map(|d| dir.path().join(d))
        .collect();
        assert_eq!(*crate::lock(&store.created), owed);
        // A second object in the same directory owes nothing new.
        store
            .put(
                &key(super::super::Ext::ZipHash),
                Bytes::from_static(b"h1:x"),
            )
            .await
            .unwrap();
        assert_eq!(crate::lock(&store.created).len(), 4);
        store.sync(&info).await.unwrap();
        assert!(crate::lock(&store.created).is_empty());
        assert_eq!(fs_err::read(dir.path().join(info.as_str())).unwrap(), b"{}");
    }

    #[tokio::test]
    async fn modules_skip_the_vulnerability_database_and_checksum_proofs() {
        let dir = tempfile::tempdir().unwrap();
        let store: std::sync::Arc<dyn Store> =
            std::sync::Arc::new(DiskStore::open(dir.path()).unwrap());
        store
            .put(&key(super::super::Ext::Info), Bytes::from_static(b"x"))
            .await
            .unwrap();
        store
            .put(&Key::vulndb("blob/ab").unwrap(), Bytes::from_static(b"{}"))
            .await
            .unwrap();
        store
            .put(
                &Key::sumdb("sum.golang.org", "lookup/x@v1.0.0").unwrap(),
                Bytes::from_static(b"l"),
            )
            .await
            .unwrap();
        assert_eq!(store.modules().await.unwrap(), ["github.com/!azure/go"]);
    }

    #[tokio::test]
    async fn modules_step_over_git_mirrors_and_files_among_module_paths() {
        let dir = tempfile::tempdir().unwrap();
        let store: std::sync::Arc<dyn Store> =
            std::sync::Arc::new(DiskStore::open(dir.path()).unwrap());
        store
            .put(&key(super::super::Ext::Info), Bytes::from_static(b"x"))
            .await
            .unwrap();
        // serve's default --vcs-dir in s3 mode, inside the default disk store.
        for (path, data) in [
            ("vcs/0123abcd/HEAD", "ref: refs/heads/main\n"),
            ("vcs/0123abcd/objects/pack/pack-1.pack", "PACK"),
            ("mirrors.d/0123abcd/config", "[core]\n"),
            ("github.com/HEAD", "a file among module path elements"),
            ("github.com/.git/config", "[core]\n"),
        ] {
            let path = dir.path().join(path);
            fs_err::create_dir_all(path.parent().unwrap()).unwrap();
            fs_err::write(path, data).unwrap();
        }
        assert_eq!(store.modules().await.unwrap(), ["github.com/!azure/go"]);
    }

    #[tokio::test]
    async fn stored_files_are_private_unless_a_mode_is_given() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let k = key(super::super::Ext::Info);
        let mode_of = |store: &DiskStore| {
            std::fs::metadata(store.path(&k).unwrap())
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        let private = DiskStore::open(&dir.path().join("a")).unwrap();
        private.put(&k, Bytes::from_static(b"x")).await.unwrap();
        assert_eq!(mode_of(&private), 0o600);
        let shared = DiskStore::open(&dir.path().join("b"))
            .unwrap()
            .with_mode(0o644);
        let mut staged = shared.temp_file().unwrap();
        staged.write_all(b"y").unwrap();
        shared.put_file(&k, staged).await.unwrap();
        assert_eq!(mode_of(&shared), 0o644);
    }

    #[tokio::test]
    async fn put_get_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let store = DiskStore::open(dir.path()).unwrap();
        let k = key(super::super::Ext::Info);
        assert_eq!(k.as_str(), "github.com/!azure/go/@v/v1.0.0.info");
        assert!(store.get(&k).await.unwrap().is_none());
        store.put(&k, Bytes::from_static(b"first")).await.unwrap();
        store.put(&k, Bytes::from_static(b"second")).await.unwrap();
        let obj = store.get(&k).await.unwrap().unwrap();
        assert_eq!(obj.size, 5);
        match obj.body {
            Body::Bytes(b) => assert_eq!(&b[..], b"first"),
            _ => panic!("small objects are read whole"),
        }
        let names = store
            .list(&Key::versions_dir("github.com/Azure/go").unwrap())
            .await
            .unwrap();
        assert_eq!(names, vec!["v1.0.0.info".to_owned()]);
    }

    #[tokio::test]
    async fn of_racing_creates_exactly_one_wins() {
        let dir = tempfile::tempdir().unwrap();
        let store = DiskStore::open(dir.path()).unwrap();
        let k = key(super::super::Ext::Info);
        let staged = |data: &[u8]| {
            let mut f = store.temp_file().unwrap();
            f.write_all(data).unwrap();
            f
        };
        let (a, b) = tokio::join!(
            store.create_file(&k, staged(b"a")),
            store.create_file(&k, staged(b"b"))
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert!(a != b, "one create wins: {a} {b}");
        let stored = store.get(&k).await.unwrap().unwrap().read_small().await;
        assert_eq!(&stored.unwrap()[..], if a { b"a" } else { b"b" });
    }

    /// Defence in depth: a key that slipped past [`Key::parse`] still
    /// cannot reach outside the root, for any operation.
    #[tokio::test]
    async fn keys_outside_the_root_are_refused_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("store");
        fs_err::write(dir.path().join("secret"), "s").unwrap();
        let store = DiskStore::open(&root).unwrap();
        for bad in ["../secret", "/etc/passwd", "a/../../secret", "./x"] {
            let key = Key(bad.to_owned());
            let outside = |r: Result<(), StoreError>| {
                assert!(matches!(r, Err(StoreError::Outside(_))), "{bad}: {r:?}");
            };
            outside(store.get(&key).await.map(drop));
            outside(store.put(&key, Bytes::from_static(b"x")).await);
            outside(store.list(&key).await.map(drop));
            outside(store.stat(&key).await.map(drop));
            outside(store.remove(&key).await);
            outside(store.set_aside(&key).await);
            outside(store.sync(&key).await);
        }
        assert_eq!(
            fs_err::read_to_string(dir.path().join("secret")).unwrap(),
            "s"
        );
    }
}
