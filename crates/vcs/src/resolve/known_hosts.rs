//! The go command's static table of code hosts (`vcsPaths` in
//! cmd/go/internal/vcs/vcs.go, Go 1.23): paths there map to a repository
//! without any network access. Go matches them with regular expressions;
//! each is spelled out by hand here, next to the expression it mirrors.

use super::{RepoRoot, Vcs};

/// The VCS suffixes of the general `host/path.vcs` syntax, which are also
/// the ones `noVCSSuffix` refuses in GitHub-style repository names.
const VCS_SUFFIXES: [&str; 5] = ["hg", "git", "svn", "bzr", "fossil"];

/// The repository holding `path` by the static table: `Ok(None)` when no
/// entry applies (go then asks the host with `?go-get=1`), `Err` with go's
/// reason when the path is on a listed host but does not fit its pattern.
pub(super) fn lookup(path: &str) -> Result<Option<RepoRoot>, String> {
    let elems: Vec<&str> = path.split('/').collect();
    let invalid = |prefix: &str| Err(format!("invalid {prefix} import path"));
    let root = |n: usize| elems[..n].join("/");
    let found = match (elems[0], elems.get(1).copied()) {
        // ^(?P<root>github\.com/[\w.\-]+/[\w.\-]+)(/[\w.\-]+)*$, and
        // ^(?P<root>bitbucket\.org/(?P<bitname>[\w.\-]+/[\w.\-]+))(/[\w.\-]+)*$
        // (in Go 1.23 Bitbucket is git only: no API call, no Mercurial).
        (host @ ("github.com" | "bitbucket.org"), _) => {
            if elems.len() < 3 || !elems[1..].iter().all(|e| is_word(e)) {
                return invalid(host);
            }
            no_vcs_suffix(host, root(3))?
        }
        // ^(?P<root>hub\.jazz\.net/git/[a-z0-9]+/[\w.\-]+)(/[\w.\-]+)*$
        ("hub.jazz.net", Some("git")) => {
            let user_ok = |u: &str| {
                !u.is_empty()
                    && u.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            };
            if elems.len() < 4 || !user_ok(elems[2]) || !elems[3..].iter().all(|e| is_word(e)) {
                return invalid("hub.jazz.net/git");
            }
            no_vcs_suffix("hub.jazz.net/git", root(4))?
        }
        // ^(?P<root>git\.apache\.org/[a-z0-9_.\-]+\.git)(/[\w.\-]+)*$
        ("git.apache.org", _) => {
            let repo_ok = |r: &str| {
                r.strip_suffix(".git").is_some_and(|name| {
                    !name.is_empty()
                        && name.bytes().all(|b| {
                            b.is_ascii_lowercase()
                                || b.is_ascii_digit()
                                || matches!(b, b'_' | b'.' | b'-')
                        })
                })
            };
            if elems.len() < 2 || !repo_ok(elems[1]) || !elems[2..].iter().all(|e| is_word(e)) {
                return invalid("git.apache.org");
            }
            git(root(2))
        }
        // ^(?P<root>git\.openstack\.org/[\w.\-]+/[\w.\-]+)(\.git)?(/[\w.\-]+)*$
        // The greedy second element keeps a `.git` suffix inside the root.
        ("git.openstack.org", _) => {
            if elems.len() < 3 || !elems[1..].iter().all(|e| is_word(e)) {
                return invalid("git.openstack.org");
            }
            git(root(3))
        }
        // ^(?P<root>chiselapp\.com/user/[A-Za-z0-9]+/repository/[\w.\-]+)$
        ("chiselapp.com", _) => match elems[1..] {
            ["user", user, "repository", repo]
                if !user.is_empty()
                    && user.bytes().all(|b| b.is_ascii_alphanumeric())
                    && is_word(repo) =>
            {
                RepoRoot {
                    subdir: String::new(),
                    url: format!("https://{path}"),
                    root: path.to_owned(),
                    vcs: Vcs::Other("fossil".to_owned()),
                    guarded: false,
                }
            }
            _ => return invalid("chiselapp.com"),
        },
        _ => return Ok(qualified(&elems)),
    };
    Ok(Some(found))
}

fn git(root: String) -> RepoRoot {
    RepoRoot {
        subdir: String::new(),
        url: format!("https://{root}"),
        root,
        vcs: Vcs::Git,
        guarded: false,
    }
}

/// Go's `noVCSSuffix`: `github.com/user/repo.git` is a mistake for
/// `github.com/user/repo`, not a repository name.
fn no_vcs_suffix(prefix: &str, root: String) -> Result<RepoRoot, String> {
    if VCS_SUFFIXES.iter().any(|v| vcs_stem(&root, v).is_some()) {
        return Err(format!("invalid version control suffix in {prefix}/ path"));
    }
    Ok(git(root))
}

/// The general syntax for any server, a path element ending in a VCS name:
///
/// `(?P<root>(?P<repo>([a-z0-9.\-]+\.)+[a-z0-9.\-]+(:[0-9]+)?(/~?[\w.\-]+)+?)\.(?P<vcs>bzr|fossil|git|hg|svn))(/~?[\w.\-]+)*$`
///
/// The non-greedy repo group makes the first qualified element the root.
/// Go does not anchor the start; here the match starts at the host, which
/// is the same for every valid module path (whose first element is a
/// lower-case domain without a port).
///
/// The URL is `https://` + repo, *without* the `.vcs` suffix. Go pings the
/// VCS's schemes in order and takes the first that answers: for every VCS
/// the first secure one is https (`git ls-remote https://…`, which applies
/// the user's insteadOf rules). modgate does not ping; it takes https,
/// which is go's answer whenever that ping succeeds. (Go would then try
/// git+ssh:// and ssh://; with GOINSECURE, git:// and http:// first.)
fn qualified(elems: &[&str]) -> Option<RepoRoot> {
    let host = elems[0];
    let host_ok = host
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-'))
        && host.len() >= 3
        && host[1..host.len() - 1].contains('.');
    if !host_ok || !elems[1..].iter().all(|e| is_tilde_word(e)) {
        return None;
    }
    let (last, vcs, stem) = elems.iter().enumerate().skip(1).find_map(|(i, e)| {
        VCS_SUFFIXES.iter().find_map(|v| {
            vcs_stem(e, v)
                .filter(|s| is_tilde_word(s))
                .map(|s| (i, *v, s))
        })
    })?;
    let repo = [&elems[..last], &[stem]].concat().join("/");
    Some(RepoRoot {
        subdir: String::new(),
        url: format!("https://{repo}"),
        root: elems[..=last].join("/"),
        vcs: Vcs::by_cmd(vcs)?,
        guarded: false,
    })
}

/// `name` without its `.vcs` suffix.
fn vcs_stem<'a>(name: &'a str, vcs: &str) -> Option<&'a str> {
    name.strip_suffix(vcs)?.strip_suffix('.')
}

/// `[\w.\-]+`
fn is_word(elem: &str) -> bool {
    !elem.is_empty()
        && elem
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// `~?[\w.\-]+`
fn is_tilde_word(elem: &str) -> bool {
    is_word(elem.strip_prefix('~').unwrap_or(elem))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Some((url, vcs))` for a repository, `None` for an error.
    fn check(path: &str, want: Option<(&str, &str, Vcs)>) {
        let got = lookup(path);
        match want {
            Some((root, url, vcs)) => {
                let want = RepoRoot {
                    subdir: String::new(),
                    root: root.to_owned(),
                    url: url.to_owned(),
                    vcs,
                    guarded: false,
                };
                assert_eq!(got, Ok(Some(want)), "{path}");
            }
            None => assert!(got.is_err(), "{path}: {got:?}"),
        }
    }

    /// TestRepoRootForImportPath (vcs_test.go), the cases the static table
    /// decides; its other cases need the network and are `Ok(None)` here.
    #[test]
    fn go_repo_root_for_import_path() {
        use Vcs::Git;
        let fossil = || Vcs::Other("fossil".to_owned());
        let cases = [
            (
                "github.com/golang/groupcache",
                Some((
                    "github.com/golang/groupcache",
                    "https://github.com/golang/groupcache",
                    Git,
                )),
            ),
            ("github.com/user/unicode/испытание", None),
            (
                "hub.jazz.net/git/user1/pkgname",
                Some((
                    "hub.jazz.net/git/user1/pkgname",
                    "https://hub.jazz.net/git/user1/pkgname",
                    Git,
                )),
            ),
            (
                "hub.jazz.net/git/user1/pkgname/submodule/submodule/submodule",
                Some((
                    "hub.jazz.net/git/user1/pkgname",
                    "https://hub.jazz.net/git/user1/pkgname",
                    Git,
                )),
            ),
            ("hub.jazz.net/git/User 1/pkgname", None),
            ("hub.jazz.net/git/user1/pkg name", None),
            ("hub.jazz.net/git/user.1/pkgname", None),
            (
                "hub.jazz.net/git/user/pkg.name",
                Some((
                    "hub.jazz.net/git/user/pkg.name",
                    "https://hub.jazz.net/git/user/pkg.name",
                    Git,
                )),
            ),
            ("hub.jazz.net/git/USER/pkgname", None),
            (
                "git.openstack.org/openstack/swift",
                Some((
                    "git.openstack.org/openstack/swift",
                    "https://git.openstack.org/openstack/swift",
                    Git,
                )),
            ),
            (
                "git.openstack.org/openstack/swift.git",
                Some((
                    "git.openstack.org/openstack/swift.git",
                    "https://git.openstack.org/openstack/swift.git",
                    Git,
                )),
            ),
            (
                "git.openstack.org/openstack/swift/go/hummingbird",
                Some((
                    "git.openstack.org/openstack/swift",
                    "https://git.openstack.org/openstack/swift",
                    Git,
                )),
            ),
            ("git.openstack.org", None),
            ("git.openstack.org/openstack", None),
            ("git.apache.org/package name/path/to/lib", None),
            ("git.apache.org/package-name/path/to/lib", None),
            (
                "git.apache.org/package-name.git",
                Some((
                    "git.apache.org/package-name.git",
                    "https://git.apache.org/package-name.git",
                    Git,
                )),
            ),
            (
                "git.apache.org/package-name_2.x.git/path/to/lib",
                Some((
                    "git.apache.org/package-name_2.x.git",
                    "https://git.apache.org/package-name_2.x.git",
                    Git,
                )),
            ),
            (
                "chiselapp.com/user/kyle/repository/fossilgg",
                Some((
                    "chiselapp.com/user/kyle/repository/fossilgg",
                    "https://chiselapp.com/user/kyle/repository/fossilgg",
                    fossil(),
                )),
            ),
            ("chiselapp.com/kyle/repository/fossilgg", None),
            ("chiselapp.com/user/kyle/fossilgg", None),
            (
                "bitbucket.org/workspace/pkgname",
                Some((
                    "bitbucket.org/workspace/pkgname",
                    "https://bitbucket.org/workspace/pkgname",
                    Git,
                )),
            ),
        ];
        for (path, want) in cases {
            check(path, want);
        }
    }

    #[test]
    fn code_hosts() {
        check(
            "github.com/owner/repo/sub/pkg",
            Some((
                "github.com/owner/repo",
                "https://github.com/owner/repo",
                Vcs::Git,
            )),
        );
        check(
            "github.com/Owner/Repo.go/v2",
            Some((
                "github.com/Owner/Repo.go",
                "https://github.com/Owner/Repo.go",
                Vcs::Git,
            )),
        );
        check("github.com", None);
        check("github.com/owner", None);
        check("github.com/owner//x", None);
        check("bitbucket.org/ws", None);
        assert_eq!(
            lookup("github.com/owner/repo.git/sub"),
            Err("invalid version control suffix in github.com/ path".to_owned())
        );
        check("bitbucket.org/ws/repo.hg", None);
        check("hub.jazz.net/git/user/repo.git", None);
        // Only hub.jazz.net/git is in the table; the rest is discovered.
        for path in [
            "hub.jazz.net",
            "hub.jazz.net/someotherprefix/user1/pkgname",
            "hubajazz.net",
            "hub2.jazz.net",
        ] {
            assert_eq!(lookup(path), Ok(None), "{path}");
        }
        // A look-alike host is not the code host.
        assert_eq!(lookup("github.com.evil.example/a/b"), Ok(None));
    }

    #[test]
    fn vcs_qualified_paths() {
        // The URL drops the suffix, exactly as go's `{repo}` group does.
        check(
            "example.com/repo.git/sub/pkg",
            Some(("example.com/repo.git", "https://example.com/repo", Vcs::Git)),
        );
        check(
            "example.com/group/repo.git",
            Some((
                "example.com/group/repo.git",
                "https://example.com/group/repo",
                Vcs::Git,
            )),
        );
        // The first qualified element ends the root.
        check(
            "example.com/a.git/b.git",
            Some(("example.com/a.git", "https://example.com/a", Vcs::Git)),
        );
        check(
            "example.com/a.git.hg/b",
            Some((
                "example.com/a.git.hg",
                "https://example.com/a.git",
                Vcs::Other("hg".to_owned()),
            )),
        );
        check(
            "example.com/~user/repo.svn",
            Some((
                "example.com/~user/repo.svn",
                "https://example.com/~user/repo",
                Vcs::Other("svn".to_owned()),
            )),
        );
        check(
            "rsc.io/nonexist.fossil/foo",
            Some((
                "rsc.io/nonexist.fossil",
                "https://rsc.io/nonexist",
                Vcs::Other("fossil".to_owned()),
            )),
        );
        for unknown in [
            "example.com/repo",
            "example.com/.git",
            "example.com/repo.gitx/a",
            "example.com/a~b/repo.git",
            "example.com/repo.git/a+b",
            "localhost/repo.git",
            "golang.org/x/text",
        ] {
            assert_eq!(lookup(unknown), Ok(None), "{unknown}");
        }
    }
}
