//! What the go command's coderepo asks of a version control system (go's
//! `codehost.Repo`), so that `direct::coderepo` versions modules the same
//! way over git and over hg, svn, bzr and fossil.

use std::future::Future;

use bytes::Bytes;

use crate::git::{GitRepo, RevInfo, VcsError};

/// One remote repository, as coderepo reads it.
pub trait CodeHost: Send + Sync + 'static {
    /// The tags starting with `prefix`, sorted by name.
    fn tags(&self, prefix: &str) -> impl Future<Output = Result<Vec<String>, VcsError>> + Send;

    /// The commit `rev` names (a tag, a branch, a hash or a prefix of one).
    fn stat(&self, rev: &str) -> impl Future<Output = Result<RevInfo, VcsError>> + Send;

    /// [`Self::stat`], with the ref that named the commit, as go's
    /// `Origin.Ref` records it (git only; others name none).
    fn stat_ref(
        &self,
        rev: &str,
    ) -> impl Future<Output = Result<(RevInfo, Option<String>), VcsError>> + Send {
        async move { Ok((self.stat(rev).await?, None)) }
    }

    /// The head of the default branch.
    fn latest(&self) -> impl Future<Output = Result<RevInfo, VcsError>> + Send;

    /// The file at `path` in commit `hash` (from [`Self::stat`]), `None` if
    /// there is none; more than `max` bytes is an error.
    fn read_file(
        &self,
        hash: &str,
        path: &str,
        max: u64,
    ) -> impl Future<Output = Result<Option<Bytes>, VcsError>> + Send;

    /// The highest tag `prefix`+version on `hash` or before it that
    /// `allowed` accepts; `None` where the system cannot tell (as go's
    /// `ErrUnsupported`, which gives pseudo-versions no base).
    fn recent_tag(
        &self,
        hash: &str,
        prefix: &str,
        allowed: &(dyn Fn(&str) -> bool + Sync),
    ) -> impl Future<Output = Result<Option<String>, VcsError>> + Send;

    /// Whether `hash` descends from (or is) the commit of `tag`;
    /// [`VcsError::Unsupported`] where the system cannot tell.
    fn descends_from(
        &self,
        hash: &str,
        tag: &str,
    ) -> impl Future<Output = Result<bool, VcsError>> + Send;
}

impl CodeHost for GitRepo {
    async fn tags(&self, prefix: &str) -> Result<Vec<String>, VcsError> {
        let refs = self.refs().await?;
        Ok(refs.tags(prefix).into_iter().map(|(tag, _)| tag).collect())
    }

    async fn stat(&self, rev: &str) -> Result<RevInfo, VcsError> {
        GitRepo::stat(self, rev).await
    }

    async fn stat_ref(&self, rev: &str) -> Result<(RevInfo, Option<String>), VcsError> {
        GitRepo::stat_ref(self, rev).await
    }

    async fn latest(&self) -> Result<RevInfo, VcsError> {
        GitRepo::latest(self).await
    }

    async fn read_file(&self, hash: &str, path: &str, max: u64) -> Result<Option<Bytes>, VcsError> {
        GitRepo::read_file(self, hash, path, max).await
    }

    async fn recent_tag(
        &self,
        hash: &str,
        prefix: &str,
        allowed: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<Option<String>, VcsError> {
        GitRepo::recent_tag(self, hash, prefix, allowed).await
    }

    async fn descends_from(&self, hash: &str, tag: &str) -> Result<bool, VcsError> {
        GitRepo::descends_from(self, hash, tag).await
    }
}
