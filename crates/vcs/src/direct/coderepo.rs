//! A module inside a repository (git, hg, svn, bzr, fossil), versioned by the go command's rules
//! (cmd/go/internal/modfetch/coderepo.go): tags to versions, major-version
//! subdirectories and branches, `+incompatible`, pseudo-versions, and where
//! a version's go.mod and files live.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use modgate_module::{modfile, path, pseudo, semver, version};

use super::Error;
use crate::git::{RevInfo, VcsError};
use crate::host::CodeHost;
use modgate_zip::MAX_GO_MOD as MAX_MOD;

/// A resolved version: its commit and canonical version.
pub struct Resolved {
    pub version: String,
    pub info: RevInfo,
    /// The ref that named the commit, none for a hash: go's `Origin.Ref`.
    pub reference: Option<String>,
}

/// Where a version's files are: the commit, the module's directory in the
/// repository, and its go.mod if it has one there.
pub struct Located {
    pub hash: String,
    pub dir: String,
    pub go_mod: Option<Bytes>,
}

pub struct CodeRepo<H> {
    module: String,
    repo: Arc<H>,
    code_root: String,
    /// The module's directory in the repository, `""` at the root.
    code_dir: String,
    path_prefix: String,
    /// `""`, `/vN` or gopkg.in's `.vN`.
    path_major: String,
    /// The major version pseudo-versions get: `""` or `vN`.
    pseudo_major: String,
}

impl<H: CodeHost> CodeRepo<H> {
    /// `module` in the repository whose tree at `subdir` (a go-import
    /// tag's fourth field, `""` for none) is the import path `code_root`.
    pub fn new(module: &str, code_root: &str, subdir: &str, repo: Arc<H>) -> Result<Self, Error> {
        if !has_path_prefix(module, code_root) {
            return Err(Error::NoVersion(format!(
                "mismatched repo: found {code_root} for {module}"
            )));
        }
        let (mut path_prefix, path_major) = path::split_path_version(module)
            .ok_or_else(|| Error::NoVersion(format!("invalid module path {module:?}")))?;
        if code_root == module {
            path_prefix = module;
        }
        let mut code_dir = String::new();
        if code_root != module {
            if !has_path_prefix(path_prefix, code_root) {
                return Err(Error::NoVersion(format!(
                    "repository rooted at {code_root} cannot contain module {module}"
                )));
            }
            code_dir = path_prefix[code_root.len()..].trim_matches('/').to_owned();
        }
        // Go 1.25: the go-import subdirectory holds the prefix's tree, and
        // prefixes its tags as a subdirectory module's.
        if !subdir.is_empty() {
            code_dir = join(subdir, &code_dir).trim_end_matches('/').to_owned();
        }
        Ok(Self {
            module: module.to_owned(),
            repo,
            code_root: code_root.to_owned(),
            code_dir,
            path_prefix: path_prefix.to_owned(),
            path_major: path_major.to_owned(),
            pseudo_major: path_major_prefix(path_major),
        })
    }

    fn tag_prefix(&self) -> String {
        if self.code_dir.is_empty() {
            String::new()
        } else {
            format!("{}/", self.code_dir)
        }
    }

    /// The tagged versions, sorted, `+incompatible` ones as go lists them.
    pub async fn versions(&self) -> Result<Vec<String>, Error> {
        if self.module.starts_with("gopkg.in/") && self.module.ends_with("-unstable") {
            return Ok(Vec::new());
        }
        let prefix = self.tag_prefix();
        let tags = self.repo.tags(&prefix).await?;
        let mut list = Vec::new();
        let mut incompatible = Vec::new();
        for tag in tags {
            let v = &tag[prefix.len()..];
            if v.is_empty() || v != semver::canonical(v) || pseudo::is_pseudo_version(v) {
                continue;
            }
            if !path::match_path_major(v, &self.path_major) {
                if self.code_dir.is_empty()
                    && self.path_major.is_empty()
                    && semver::major(v).as_str() > "v1"
                {
                    incompatible.push(v.to_owned());
                }
                continue;
            }
            list.push(v.to_owned());
        }
        semver::sort(&mut list);
        semver::sort(&mut incompatible);
        if incompatible.is_empty() || !self.path_major.is_empty() {
            return Ok(list);
        }
        // +incompatible versions are listed only while the module has no
        // go.mod: not if the latest compatible version has one, and not for
        // a major version whose latest tag has one.
        if let Some(last) = list.last()
            && self.has_go_mod_at(last).await?
        {
            return Ok(list);
        }
        let mut i = 0;
        while i < incompatible.len() {
            let major = semver::major(&incompatible[i]);
            let end = incompatible[i..]
                .iter()
                .position(|v| semver::major(v) != major)
                .map_or(incompatible.len(), |n| i + n);
            if !self.has_go_mod_at(&incompatible[end - 1]).await? {
                list.extend(
                    incompatible[i..end]
                        .iter()
                        .map(|v| format!("{v}+incompatible")),
                );
            }
            i = end;
        }
        Ok(list)
    }

    /// Whether the root go.mod exists at the tag `v` (the module is at the
    /// repository root here).
    async fn has_go_mod_at(&self, v: &str) -> Result<bool, Error> {
        let info = self.repo.stat(v).await?;
        Ok(self
            .repo
            .read_file(&info.hash, "go.mod", MAX_MOD)
            .await?
            .is_some())
    }

    /// Resolves a revision (tag, branch, commit, `latest`, a version) to a
    /// canonical version, as `go list -m M@rev` does in direct mode.
    pub async fn stat(&self, rev: &str) -> Result<Resolved, Error> {
        if rev == "latest" {
            let info = self.repo.latest().await?;
            let resolved = self.convert(info, "", "").await?;
            return Ok(Resolved {
                reference: Some("HEAD".to_owned()),
                ..resolved
            });
        }
        let code_rev = self.rev_to_rev(rev);
        let (info, reference) = match self.repo.stat_ref(&code_rev).await {
            Ok(found) => found,
            Err(e @ VcsError::UnknownRevision { .. }) => {
                return Err(Error::NoVersion(format!("invalid version: {e}")));
            }
            Err(e) => return Err(e.into()),
        };
        let resolved = self.convert(info, rev, &code_rev).await?;
        Ok(Resolved {
            reference,
            ..resolved
        })
    }

    /// `@latest`: the highest release, else pre-release, else a
    /// pseudo-version of the default branch's head.
    pub async fn latest(&self) -> Result<Resolved, Error> {
        let versions = self.versions().await?;
        match modgate_module::version::pick_latest(versions.iter().map(String::as_str)) {
            Some(v) => self.stat(v).await,
            None => self.stat("latest").await,
        }
    }

    fn rev_to_rev(&self, rev: &str) -> String {
        if !semver::is_valid(rev) {
            return rev.to_owned();
        }
        if pseudo::is_pseudo_version(rev) {
            return pseudo::pseudo_version_rev(rev)
                .map(str::to_owned)
                .unwrap_or_default();
        }
        let rev = rev.strip_suffix("+incompatible").unwrap_or(rev);
        if self.code_dir.is_empty() {
            rev.to_owned()
        } else {
            format!("{}/{rev}", self.code_dir)
        }
    }

    /// coderepo.go's convert: the canonical version naming `info`, given the
    /// revision the caller asked for (`stat_vers`, `""` for `latest`) and
    /// the repository revision it became (`code_rev`).
    async fn convert(
        &self,
        info: RevInfo,
        stat_vers: &str,
        code_rev: &str,
    ) -> Result<Resolved, Error> {
        let mut incompatible_ok = IncompatibleCache::default();

        if pseudo::is_pseudo_version(stat_vers) {
            let resolved = self
                .check_canonical(&info, stat_vers, stat_vers, &mut incompatible_ok)
                .await?;
            self.validate_pseudo_version(&info, stat_vers).await?;
            return Ok(resolved);
        }

        let tag_prefix = self.tag_prefix();
        let retracted = self.retracted_versions().await.unwrap_or_default();
        let is_retracted = |v: &str| {
            retracted.iter().any(|(low, high)| {
                semver::compare(low, v).is_le() && semver::compare(v, high).is_le()
            })
        };

        // A canonical tag on the commit, named by the caller, wins (go's
        // info.Version, which other systems than git report).
        let named_tag = match &info.version {
            Some(version) => Some(version),
            None => info.tags.iter().find(|t| *t == code_rev),
        };
        if let Some((v, true)) = named_tag.and_then(|t| tag_to_version(&tag_prefix, t))
            && let Ok(r) = self
                .check_canonical(&info, &v, stat_vers, &mut incompatible_ok)
                .await
        {
            return Ok(r);
        }

        let mut highest_canonical = String::new();
        let mut pseudo_base = String::new();
        for tag in &info.tags {
            let Some((v, canonical)) = tag_to_version(&tag_prefix, tag) else {
                continue;
            };
            if !stat_vers.is_empty() && semver::compare(&v, stat_vers).is_eq() {
                if canonical {
                    return self
                        .check_canonical(&info, &v, stat_vers, &mut incompatible_ok)
                        .await;
                }
                pseudo_base = v.clone();
            }
            if canonical
                && semver::compare(&highest_canonical, &v).is_lt()
                && !is_retracted(&v)
                && (path::match_path_major(&v, &self.path_major)
                    || self
                        .can_use_incompatible(&info, &v, stat_vers, &mut incompatible_ok)
                        .await)
            {
                highest_canonical = v;
            }
        }
        if !highest_canonical.is_empty() {
            return self
                .check_canonical(&info, &highest_canonical, stat_vers, &mut incompatible_ok)
                .await;
        }

        if pseudo_base.is_empty() {
            // Which tags may serve as a base depends on go.mod files at this
            // commit; settle those before filtering synchronously.
            let root_ok = self
                .can_use_incompatible(&info, "", stat_vers, &mut incompatible_ok)
                .await;
            // The answers land in incompatible_ok, by major version.
            if root_ok && !stat_vers.ends_with("+incompatible") {
                for tag in self.repo.tags(&tag_prefix).await? {
                    if let Some((v, _)) = tag_to_version(&tag_prefix, &tag) {
                        self.can_use_incompatible(&info, &v, stat_vers, &mut incompatible_ok)
                            .await;
                    }
                }
            }
            let allowed = |tag: &str| {
                let Some((v, _)) = tag_to_version(&tag_prefix, tag) else {
                    return false;
                };
                if !path::match_path_major(&v, &self.path_major) {
                    let ok = root_ok
                        && self.code_dir.is_empty()
                        && self.path_major.is_empty()
                        && (stat_vers.ends_with("+incompatible")
                            || incompatible_ok.0.get(&semver::major(&v)) == Some(&true));
                    if !ok {
                        return false;
                    }
                }
                !is_retracted(&v)
            };
            if let Some(tag) = self
                .repo
                .recent_tag(&info.hash, &tag_prefix, &allowed)
                .await?
                && let Some((v, _)) = tag_to_version(&tag_prefix, &tag)
            {
                pseudo_base = v;
            }
        }

        let time = pseudo::PseudoTime::from_unix(info.time).ok_or_else(|| {
            Error::NoVersion(format!("commit {} has an invalid time", info.short()))
        })?;
        let v = pseudo::pseudo_version(&self.pseudo_major, &pseudo_base, time, &info.short());
        self.check_canonical(&info, &v, stat_vers, &mut incompatible_ok)
            .await
    }

    /// coderepo.go's canUseIncompatible: whether `v` (or, for `""`, any
    /// version) may be `+incompatible` at this commit.
    async fn can_use_incompatible(
        &self,
        info: &RevInfo,
        v: &str,
        stat_vers: &str,
        cache: &mut IncompatibleCache,
    ) -> bool {
        if !self.code_dir.is_empty() || !self.path_major.is_empty() {
            return false;
        }
        let root_ok = match cache.0.get("") {
            Some(ok) => *ok,
            None => {
                // Any failure to read counts as "no go.mod", as in go.
                let ok = !matches!(
                    self.repo.read_file(&info.hash, "go.mod", MAX_MOD).await,
                    Ok(Some(_))
                );
                cache.0.insert(String::new(), ok);
                ok
            }
        };
        if !root_ok {
            return false;
        }
        if !v.is_empty() && !stat_vers.ends_with("+incompatible") {
            let major = semver::major(v);
            let ok = match cache.0.get(&major) {
                Some(ok) => *ok,
                None => {
                    let ok = !matches!(
                        self.repo
                            .read_file(&info.hash, &format!("{major}/go.mod"), MAX_MOD)
                            .await,
                        Ok(Some(_))
                    );
                    cache.0.insert(major, ok);
                    ok
                }
            };
            if !ok {
                return false;
            }
        }
        true
    }

    /// coderepo.go's checkCanonical: `v` is right for this module at this
    /// commit (its go.mod is where the version says, the major version
    /// matches or may be `+incompatible`).
    async fn check_canonical(
        &self,
        info: &RevInfo,
        v: &str,
        stat_vers: &str,
        cache: &mut IncompatibleCache,
    ) -> Result<Resolved, Error> {
        if let Err(e) = self.find_dir_at(info, v).await {
            return Err(Error::NoVersion(format!("invalid version: {e}")));
        }
        let invalid = |msg: String| Error::NoVersion(format!("invalid version: {msg}"));
        let mut v = v.to_owned();
        if v == stat_vers.strip_suffix("+incompatible").unwrap_or(stat_vers) {
            v = stat_vers.to_owned();
        }
        let base = v.strip_suffix("+incompatible").unwrap_or(&v).to_owned();
        let mut incompatible_err = None;
        if !path::match_path_major(&base, &self.path_major) {
            if self
                .can_use_incompatible(info, &base, stat_vers, cache)
                .await
            {
                v = format!("{base}+incompatible");
            } else if !self.path_major.is_empty() {
                incompatible_err = Some(invalid(
                    "module path includes a major version suffix, so major version must match"
                        .into(),
                ));
            } else {
                incompatible_err = Some(invalid(format!(
                    "module contains a go.mod file, so module path must match major version (\"{}/{}\")",
                    self.path_prefix,
                    semver::major(&v)
                )));
            }
        } else if v.ends_with("+incompatible") {
            incompatible_err = Some(invalid(format!(
                "+incompatible suffix not allowed: major version {} is compatible",
                semver::major(&v)
            )));
        }
        if !stat_vers.is_empty() && stat_vers == version::canonical_version(stat_vers) {
            let stat_base = stat_vers.strip_suffix("+incompatible").unwrap_or(stat_vers);
            if stat_base != base {
                return Err(Error::NoVersion(format!(
                    "invalid version: resolves to version {v} ({stat_base} is not a tag)"
                )));
            }
        }
        if let Some(e) = incompatible_err {
            return Err(e);
        }
        Ok(Resolved {
            version: v,
            info: info.clone(),
            reference: None,
        })
    }

    /// coderepo.go's validatePseudoVersion.
    async fn validate_pseudo_version(&self, info: &RevInfo, v: &str) -> Result<(), Error> {
        let invalid = |msg: String| Error::NoVersion(format!("invalid pseudo-version: {msg}"));
        let rev = pseudo::pseudo_version_rev(v).map_err(|e| invalid(e.to_string()))?;
        let short = info.short();
        if rev != short {
            return Err(invalid(if rev.starts_with(&short) {
                format!("revision is longer than canonical (expected {short})")
            } else if short.starts_with(rev) {
                format!("revision is shorter than canonical (expected {short})")
            } else {
                format!("does not match short name of revision (expected {short})")
            }));
        }
        let t = pseudo::pseudo_version_time(v).map_err(|e| invalid(e.to_string()))?;
        let want = pseudo::PseudoTime::from_unix(info.time);
        if Some(t) != want {
            let expected = want.map(|w| w.to_string()).unwrap_or_default();
            return Err(invalid(format!(
                "does not match version-control timestamp (expected {expected})"
            )));
        }
        let tag_prefix = self.tag_prefix();
        let base = pseudo::pseudo_version_base(v.strip_suffix("+incompatible").unwrap_or(v))
            .map_err(|e| invalid(e.to_string()))?;
        if base.is_empty() {
            if self.pseudo_major.is_empty() && semver::major(v) == "v1" {
                return Err(invalid(
                    "major version without preceding tag must be v0, not v1".into(),
                ));
            }
            return Ok(());
        }
        for tag in &info.tags {
            if tag.strip_prefix(&tag_prefix).unwrap_or(tag) == base {
                return Err(invalid(format!(
                    "tag ({tag}) found on revision {rev} is already canonical, so should not be replaced with a pseudo-version derived from that tag"
                )));
            }
        }
        let mut last_tag = None;
        // As go: a system that cannot tell (hg, svn...) makes it an error.
        let mut unsupported = None;
        for tag in self.repo.tags(&format!("{tag_prefix}{base}")).await? {
            let version_only = tag.strip_prefix(&tag_prefix).unwrap_or(&tag);
            if semver::compare(version_only, &base).is_eq() {
                match self.repo.descends_from(&info.hash, &tag).await {
                    Ok(true) => return Ok(()),
                    Ok(false) => {}
                    Err(e @ VcsError::Unsupported { .. }) => unsupported = Some(e),
                    Err(e) => return Err(e.into()),
                }
                last_tag = Some(tag);
            }
        }
        match (last_tag, unsupported) {
            (None, _) => Err(invalid(format!("preceding tag ({base}) not found"))),
            (Some(_), Some(e)) => Err(invalid(e.to_string())),
            (Some(tag), None) => Err(invalid(format!(
                "revision {rev} is not a descendent of preceding tag ({tag})"
            ))),
        }
    }

    /// The highest release version's retractions, as go reads them to pick
    /// a tag. Errors mean nothing is retracted.
    async fn retracted_versions(&self) -> Result<Vec<(String, String)>, Error> {
        let mut versions = self.versions().await?;
        if let Some(i) = versions.iter().position(|v| v.ends_with("+incompatible")) {
            versions.truncate(i);
        }
        let Some(highest) = versions
            .iter()
            .rev()
            .find(|v| semver::prerelease(v).is_empty())
            .or(versions.last())
        else {
            return Ok(Vec::new());
        };
        let data = self.go_mod(highest).await?;
        Ok(modfile::retractions(&data))
    }

    /// The go.mod of canonical version `v`: the file, or the one go
    /// synthesizes for a module without one.
    pub async fn go_mod(&self, v: &str) -> Result<Bytes, Error> {
        let located = self.locate(v).await?;
        if let Some(data) = located.go_mod {
            return Ok(data);
        }
        let file = join(&located.dir, "go.mod");
        match self.repo.read_file(&located.hash, &file, MAX_MOD).await? {
            Some(data) => Ok(data),
            None => Ok(Bytes::from(modfile::legacy_go_mod(&self.module))),
        }
    }

    /// Where canonical version `v` lives, after checking a pseudo-version
    /// names a real commit as go would.
    pub async fn locate(&self, v: &str) -> Result<Located, Error> {
        if v != version::canonical_version(v) {
            return Err(Error::NoVersion(format!("version {v} is not canonical")));
        }
        let info = if pseudo::is_pseudo_version(v) {
            // Boxed: stat reads go.mod files through here.
            Box::pin(self.stat(v)).await?.info
        } else {
            self.repo
                .stat(&self.rev_to_rev(v))
                .await
                .map_err(|e| match e {
                    VcsError::UnknownRevision { .. } => {
                        Error::NoVersion(format!("invalid version: {e}"))
                    }
                    e => e.into(),
                })?
        };
        self.find_dir_at(&info, v)
            .await
            .map_err(|e| Error::NoVersion(format!("invalid version: {e}")))
    }

    /// coderepo.go's findDir at an already resolved commit. Plain `Err`
    /// strings are go's messages for a version the module cannot have.
    async fn find_dir_at(&self, info: &RevInfo, v: &str) -> Result<Located, String> {
        if !semver::is_valid(v) {
            return Err("syntax error".into());
        }
        let read = |file: String| async move {
            self.repo
                .read_file(&info.hash, &file, MAX_MOD)
                .await
                .map_err(|e| format!("reading {}/{file} at revision {v}: {e}", self.code_root))
        };
        let rev = self.rev_to_rev(v);
        let file1 = join(&self.code_dir, "go.mod");
        let gomod1 = read(file1.clone()).await?;
        let mpath1 = gomod1.as_deref().and_then(modfile::module_path);
        let found1 = gomod1.is_some()
            && (is_major(mpath1.as_deref(), &self.path_major)
                || (self.path_major.is_empty()
                    && mpath1
                        .as_deref()
                        .is_some_and(|m| m.starts_with("gopkg.in/"))));

        let mut file2 = String::new();
        if !self.path_major.is_empty()
            && self.code_root != self.module
            && !self.path_major.starts_with('.')
        {
            let dir2 = join(&self.code_dir, &self.path_major[1..]);
            file2 = join(&dir2, "go.mod");
            let gomod2 = read(file2.clone()).await?;
            let mpath2 = gomod2.as_deref().and_then(modfile::module_path);
            let found2 = gomod2.is_some() && is_major(mpath2.as_deref(), &self.path_major);
            if found1 && found2 {
                return Err(format!(
                    "{}/{file1} and ...{}/go.mod both have ...{} module paths at revision {rev}",
                    self.path_prefix, self.path_major, self.path_major
                ));
            }
            if found2 {
                return Ok(Located {
                    hash: info.hash.clone(),
                    dir: dir2,
                    go_mod: gomod2,
                });
            }
            if gomod2.is_some() {
                return Err(match mpath2 {
                    None => format!(
                        "{}/{file2} is missing module path at revision {rev}",
                        self.code_root
                    ),
                    Some(m) => format!(
                        "{}/{file2} has non-...{} module path \"{m}\" at revision {rev}",
                        self.code_root, self.path_major
                    ),
                });
            }
        }

        if found1 {
            return Ok(Located {
                hash: info.hash.clone(),
                dir: self.code_dir.clone(),
                go_mod: gomod1,
            });
        }
        if gomod1.is_some() {
            let suffix = if file2.is_empty() {
                String::new()
            } else {
                format!(" (and ...{}/go.mod does not exist)", self.path_major)
            };
            return Err(match mpath1 {
                None => format!("{file1} is missing module path{suffix} at revision {rev}"),
                Some(m) if !self.path_major.is_empty() => format!(
                    "{file1} has non-...{} module path \"{m}\"{suffix} at revision {rev}",
                    self.path_major
                ),
                Some(m) if path::split_path_version(&m).is_none() => {
                    format!("{file1} has malformed module path \"{m}\"{suffix} at revision {rev}")
                }
                Some(m) => format!(
                    "{file1} has post-{} module path \"{m}\"{suffix} at revision {rev}",
                    semver::major(v)
                ),
            });
        }
        if self.code_dir.is_empty()
            && (self.path_major.is_empty() || self.path_major.starts_with('.'))
        {
            return Ok(Located {
                hash: info.hash.clone(),
                dir: String::new(),
                go_mod: None,
            });
        }
        if !file2.is_empty() {
            return Err(format!(
                "missing {}/go.mod and ...{}/go.mod at revision {rev}",
                self.path_prefix, self.path_major
            ));
        }
        Err(format!(
            "missing {}/go.mod at revision {rev}",
            self.path_prefix
        ))
    }

    pub fn module(&self) -> &str {
        &self.module
    }

    /// The module's directory in the repository, `""` at the root.
    pub fn code_dir(&self) -> &str {
        &self.code_dir
    }

    pub fn repo(&self) -> &Arc<H> {
        &self.repo
    }
}

/// Answers of canUseIncompatible at one commit, by major version (`""`:
/// whether the root has no go.mod).
#[derive(Default)]
struct IncompatibleCache(HashMap<String, bool>);

/// coderepo.go's tagToVersion: the version a tag names for a module whose
/// tags start with `prefix`, and whether the tag is exactly canonical.
fn tag_to_version(prefix: &str, tag: &str) -> Option<(String, bool)> {
    let trimmed = tag.strip_prefix(prefix)?;
    if pseudo::is_pseudo_version(tag) {
        return None;
    }
    let v = semver::canonical(trimmed);
    if v.is_empty() || !trimmed.starts_with(v.as_str()) {
        return None;
    }
    let canonical = v == trimmed;
    Some((v, canonical))
}

/// coderepo.go's isMajor.
fn is_major(mpath: Option<&str>, path_major: &str) -> bool {
    let Some(mpath) = mpath else { return false };
    let Some((_, mpath_major)) = path::split_path_version(mpath) else {
        return false;
    };
    if path_major.is_empty() {
        return matches!(path_major_prefix(mpath_major).as_str(), "" | "v0" | "v1");
    }
    if mpath_major.is_empty() {
        return false;
    }
    path_major[1..] == mpath_major[1..]
}

/// x/mod's PathMajorPrefix: `/v2`, `.v2` and `.v2-unstable` give `v2`.
fn path_major_prefix(path_major: &str) -> String {
    if path_major.is_empty() {
        return String::new();
    }
    let m = if path_major.starts_with(".v") {
        path_major.strip_suffix("-unstable").unwrap_or(path_major)
    } else {
        path_major
    };
    m[1..].to_owned()
}

/// Whether `s` starts with the path elements of `prefix`.
pub fn has_path_prefix(s: &str, prefix: &str) -> bool {
    if s.len() == prefix.len() {
        return s == prefix;
    }
    if s.len() < prefix.len() || !s.starts_with(prefix) {
        return false;
    }
    prefix.ends_with('/') || s.as_bytes()[prefix.len()] == b'/'
}

fn join(dir: &str, file: &str) -> String {
    if dir.is_empty() {
        file.to_owned()
    } else {
        format!("{dir}/{file}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_to_versions() {
        assert_eq!(tag_to_version("", "v1.2.3"), Some(("v1.2.3".into(), true)));
        // Incomplete versions name nothing.
        assert_eq!(tag_to_version("", "v1.2"), None);
        assert_eq!(
            tag_to_version("sub/", "sub/v1.0.0"),
            Some(("v1.0.0".into(), true))
        );
        assert_eq!(tag_to_version("sub/", "v1.0.0"), None);
        assert_eq!(tag_to_version("", "release-1"), None);
        assert_eq!(
            tag_to_version("", "v1.0.0+meta"),
            Some(("v1.0.0".into(), false))
        );
        assert_eq!(
            tag_to_version("", "v0.0.0-20230101000000-abcdefabcdef"),
            None
        );
    }

    #[test]
    fn majors() {
        assert!(is_major(Some("example.com/m"), ""));
        assert!(!is_major(Some("example.com/m/v2"), ""));
        assert!(is_major(Some("example.com/m/v2"), "/v2"));
        assert!(is_major(Some("gopkg.in/yaml.v2"), ".v2"));
        assert!(!is_major(Some("example.com/m"), "/v2"));
        assert!(!is_major(None, ""));
        assert_eq!(path_major_prefix(".v2-unstable"), "v2");
        assert_eq!(path_major_prefix("/v3"), "v3");
    }

    #[test]
    fn path_prefixes() {
        assert!(has_path_prefix("a/b/c", "a/b"));
        assert!(has_path_prefix("a/b", "a/b"));
        assert!(!has_path_prefix("a/bc", "a/b"));
        assert!(has_path_prefix("a/bc", "a/"));
        assert!(!has_path_prefix("a", "a/b"));
    }
}
