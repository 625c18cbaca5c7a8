//! `modgate storage copy`: every module version of one store into another
//! (disk to bucket, bucket to disk…). Resumable: what the destination
//! holds is skipped, and each version's zip hash, its commit mark, is
//! copied last, so an interrupted copy never leaves a mark without its zip.

use std::sync::Arc;

use crate::{Body, Key, Store, StoreError};

/// What a copy did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Copied {
    pub objects: u64,
    pub bytes: u64,
    pub skipped: u64,
}

/// The order a version's files are copied in: its artifacts, then the mark.
const ORDER: [&str; 4] = ["info", "mod", "zip", "ziphash"];

/// Copies every module version of `from` into `to`; `progress` is called
/// before and after each object with the module's escaped path and the
/// totals so far.
pub async fn copy(
    from: &Arc<dyn Store>,
    to: &Arc<dyn Store>,
    mut progress: impl FnMut(&str, Copied),
) -> Result<Copied, StoreError> {
    let mut done = Copied::default();
    for module in from.modules().await? {
        let dir = Key::parse(&module)?.join("@v")?;
        let mut names = from.list(&dir).await?;
        let rank = |n: &str| {
            let ext = n.rsplit_once('.').map_or("", |(_, e)| e);
            ORDER.iter().position(|e| *e == ext).unwrap_or(ORDER.len())
        };
        names.sort_by_key(|n| (rank(n), n.clone()));
        for name in names {
            if rank(&name) == ORDER.len() {
                continue; // nothing modgate stores
            }
            let key = dir.join(&name)?;
            progress(&module, done);
            if to.get(&key).await?.is_some() {
                done.skipped += 1;
            } else if let Some(obj) = from.get(&key).await? {
                done.bytes += obj.size;
                match obj.body {
                    Body::Bytes(b) => to.put(&key, b).await?,
                    _ => {
                        to.put_file(&key, obj.write_into(to.temp_file()?).await?)
                            .await?
                    }
                }
                to.sync(&key).await?;
                done.objects += 1;
            }
            progress(&module, done);
        }
    }
    Ok(done)
}
