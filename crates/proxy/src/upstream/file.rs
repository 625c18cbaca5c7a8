//! An upstream GOPROXY tree on the local file system (`file://`), such as a
//! GOMODCACHE's `cache/download` directory.

use std::io::Read;
use std::path::PathBuf;

use async_trait::async_trait;
use bytes::Bytes;

use super::{FetchError, Fetched, Fetcher, Want};
use crate::ingest::{self, Invalid};
use crate::protocol::{Kind, Request};

pub struct FileUpstream {
    root: PathBuf,
    name: String,
}

impl FileUpstream {
    pub fn new(root: PathBuf) -> Self {
        let name = format!("file://{}", root.display());
        Self { root, name }
    }
}

#[async_trait]
impl Fetcher for FileUpstream {
    fn name(&self) -> &str {
        &self.name
    }

    fn remote(&self) -> bool {
        false
    }

    fn unavailable(&self) -> Option<String> {
        (!self.root.is_dir()).then(|| format!("{} is not a directory", self.root.display()))
    }

    async fn fetch(
        &self,
        req: &Request,
        want: &Want<'_>,
        _answered: &mut (dyn FnMut() + Send),
    ) -> Result<Fetched, FetchError> {
        // Built from validated, escaped module paths and versions only.
        let path = req.upstream_path();
        let full = self.root.join(path);
        let max = want.max();
        let staged = want.stage()?;
        let path = path.to_owned();
        // No repository stands behind a tree's go.mod: it must be the
        // module's own (see `ingest::check_own_mod`).
        let own_mod = match &req.kind {
            Kind::Mod(v) => Some((req.module.clone(), v.clone())),
            _ => None,
        };
        tokio::task::spawn_blocking(move || {
            let mut file = match std::fs::File::open(&full) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(FetchError::NotFound(format!("{path}: not found")));
                }
                Err(e) => return Err(FetchError::Unavailable(format!("{}: {e}", full.display()))),
            };
            let io =
                |e: std::io::Error| FetchError::Unavailable(format!("{}: {e}", full.display()));
            let len = file.metadata().map_err(io)?.len();
            if len > max {
                return Err(FetchError::Invalid(Invalid::TooLarge {
                    path: format!("{path} ({len} bytes)"),
                    max,
                }));
            }
            match staged {
                None => {
                    let mut buf = Vec::with_capacity(len as usize);
                    file.read_to_end(&mut buf).map_err(io)?;
                    if let Some((module, v)) = own_mod {
                        ingest::check_own_mod(&module, &v, &buf).map_err(FetchError::Invalid)?;
                    }
                    Ok(Fetched::Bytes(Bytes::from(buf)))
                }
                Some(mut staged) => {
                    let mut buf = vec![0; 256 << 10];
                    let mut total = 0u64;
                    loop {
                        let n = file.read(&mut buf).map_err(io)?;
                        if n == 0 {
                            break;
                        }
                        total += n as u64;
                        if total > max {
                            return Err(FetchError::Invalid(Invalid::TooLarge {
                                path: path.clone(),
                                max,
                            }));
                        }
                        // Writing is modgate's own disk, not the tree's.
                        std::io::Write::write_all(&mut staged, &buf[..n])
                            .map_err(FetchError::Staging)?;
                    }
                    Ok(Fetched::File(staged))
                }
            }
        })
        .await
        .map_err(|e| FetchError::Unavailable(e.to_string()))?
    }
}
