//! An upstream GOPROXY tree on the local file system (`file://`), such as a
//! GOMODCACHE's `cache/download` directory.

use std::io::Read;
use std::path::PathBuf;

use bytes::Bytes;

use super::{FetchError, Fetched, Want};

pub struct FileUpstream {
    root: PathBuf,
}

impl FileUpstream {
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    pub fn name(&self) -> String {
        format!("file://{}", self.root.display())
    }

    pub async fn fetch(&self, path: &str, want: &Want<'_>) -> Result<Fetched, FetchError> {
        // `path` is built from validated, escaped module paths and versions only.
        let full = self.root.join(path);
        let max = want.max();
        let staged = match want {
            Want::Bytes { .. } => None,
            Want::File { temp, .. } => {
                Some(temp().map_err(|e| FetchError::Unavailable(e.to_string()))?)
            }
        };
        let path = path.to_owned();
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
                return Err(FetchError::Invalid(format!(
                    "{path}: {len} bytes exceeds the limit of {max}"
                )));
            }
            match staged {
                None => {
                    let mut buf = Vec::with_capacity(len as usize);
                    file.read_to_end(&mut buf).map_err(io)?;
                    Ok(Fetched::Bytes(Bytes::from(buf)))
                }
                Some(mut staged) => {
                    std::io::copy(&mut file.take(max), &mut staged).map_err(io)?;
                    Ok(Fetched::File(staged))
                }
            }
        })
        .await
        .map_err(|e| FetchError::Unavailable(e.to_string()))?
    }
}
