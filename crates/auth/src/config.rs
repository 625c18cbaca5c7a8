//! A loaded, checked auth file, and the access decision.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use jiff::Timestamp;
use modgate_module::pattern::{check_glob, match_prefix_patterns_any_case};

use crate::file::{AccessRule, AuthFile, PublicDefault, Right};
use crate::identity::{ANONYMOUS, AUTHENTICATED, check_group_name, check_user_name};
use crate::{Error, Identity, secret};

/// Numbers each loaded configuration, so that caches of what an older one
/// said can tell they are stale.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// A checked auth file, ready to authenticate and authorize requests.
pub struct AuthConfig {
    path: PathBuf,
    generation: u64,
    public: PublicDefault,
    pub(crate) users: HashMap<String, UserRecord>,
    pub(crate) tokens: HashMap<String, TokenRecord>,
    rules: Vec<Rule>,
}

pub(crate) struct UserRecord {
    pub(crate) identity: Identity,
    /// argon2 PHC string, checked at load.
    pub(crate) password: Option<String>,
}

pub(crate) struct TokenRecord {
    /// The owner's identity, marked with the token's id.
    pub(crate) identity: Identity,
    pub(crate) digest: [u8; 32],
    pub(crate) expires: Option<Timestamp>,
}

#[derive(Debug)]
struct Rule {
    patterns: Vec<String>,
    users: Vec<String>,
    groups: Vec<String>,
    allow: Vec<Right>,
}

impl Rule {
    /// Case ignored: a case variant of a guarded path names the same
    /// repository on case-insensitive code hosts.
    fn matching_pattern(&self, module: &str) -> Option<&str> {
        self.patterns
            .iter()
            .find(|p| match_prefix_patterns_any_case(p, module))
            .map(String::as_str)
    }

    fn names(&self, identity: &Identity) -> bool {
        self.users
            .iter()
            .any(|u| u == ANONYMOUS || (!identity.is_anonymous() && u == identity.name()))
            || (!identity.is_anonymous()
                && self
                    .groups
                    .iter()
                    .any(|g| g == AUTHENTICATED || identity.groups().contains(g)))
    }
}

/// The answer of [`AuthConfig::authorize`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny(Denial),
}

/// Why a request was refused. Its Display is the one line for the client
/// (the go command prints it): the identity's name and the pattern that
/// decided, never whether the module exists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denial {
    /// The identity's display name.
    pub identity: String,
    /// The request had no credentials: the server should answer 401 with
    /// [`WWW_AUTHENTICATE`](crate::WWW_AUTHENTICATE) so that the client
    /// retries with some, rather than 403.
    pub anonymous: bool,
    pub right: Right,
    pub reason: DenyReason,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DenyReason {
    /// The first rule matching the module that names the identity does not
    /// allow the right (an empty `allow` bans). `rule` counts from 1.
    NotAllowed { rule: usize, pattern: String },
    /// Rules match the module but none names the identity: the first one.
    NotListed { rule: usize, pattern: String },
    /// No rule matches, and the module is private or the right is publish.
    NoRule,
    /// No rule matches a public module and `defaults.public` asks for
    /// credentials.
    CredentialsRequired,
    /// No rule matches a public module and `defaults.public` is `closed`.
    Closed,
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Denial {
            identity, right, ..
        } = self;
        match &self.reason {
            DenyReason::NotAllowed { pattern, .. } | DenyReason::NotListed { pattern, .. } => {
                write!(
                    f,
                    "modgate: {identity} may not {right} modules matching {pattern:?}"
                )
            }
            DenyReason::NoRule => write!(
                f,
                "modgate: no [[access]] rule lets {identity} {right} this module"
            ),
            DenyReason::CredentialsRequired => write!(
                f,
                "modgate: {identity} may not {right} this module: credentials required"
            ),
            DenyReason::Closed => write!(
                f,
                "modgate: {identity} may not {right} this module: only admins may"
            ),
        }
    }
}

/// Something in the auth file that is allowed but probably a mistake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Warning {
    /// A rule names a user the file does not define. `rule` counts from 1.
    UnknownUser { rule: usize, user: String },
    /// A rule names a group no user is in.
    UnknownGroup { rule: usize, group: String },
    /// A token that can no longer be used.
    ExpiredToken { id: String, user: String },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::UnknownUser { rule, user } => {
                write!(f, "[[access]] #{rule}: no user {user:?}")
            }
            Warning::UnknownGroup { rule, group } => {
                write!(f, "[[access]] #{rule}: no user is in group {group:?}")
            }
            Warning::ExpiredToken { id, user } => {
                write!(f, "token {id:?} of {user:?} has expired")
            }
        }
    }
}

impl AuthConfig {
    /// Reads and checks the auth file at `path`.
    pub fn load(path: &Path) -> Result<AuthConfig, Error> {
        let text = fs_err::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })?;
        AuthConfig::parse(&text, path)
    }

    /// Checks auth-file text; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<AuthConfig, Error> {
        AuthConfig::compile(&AuthFile::from_toml(text, path)?, path)
    }

    pub(crate) fn compile(file: &AuthFile, path: &Path) -> Result<AuthConfig, Error> {
        let invalid = |entry: String, reason: String| Error::Invalid {
            path: path.to_owned(),
            entry,
            reason,
        };
        let mut users = HashMap::new();
        for (i, user) in file.users.iter().enumerate() {
            let entry = || format!("[[users]] #{} {:?}", i + 1, user.name);
            check_user_name(&user.name).map_err(|r| invalid(entry(), r.to_owned()))?;
            for group in &user.groups {
                check_group_name(group)
                    .map_err(|r| invalid(entry(), format!("group {group:?}: {r}")))?;
            }
            if let Some(phc) = &user.password {
                secret::check_phc(phc).map_err(|r| invalid(entry(), format!("password: {r}")))?;
            }
            let record = UserRecord {
                identity: Identity::user(&user.name, user.groups.clone(), user.admin),
                password: user.password.clone(),
            };
            if users.insert(user.name.clone(), record).is_some() {
                return Err(invalid(entry(), "duplicate user name".into()));
            }
        }
        let mut tokens = HashMap::new();
        for (i, token) in file.tokens.iter().enumerate() {
            let entry = || format!("[[tokens]] #{} {:?}", i + 1, token.id);
            if !secret::valid_token_id(&token.id) {
                return Err(invalid(
                    entry(),
                    "id must be 1 to 32 letters or digits".into(),
                ));
            }
            let owner = users.get(&token.user).ok_or_else(|| {
                invalid(
                    entry(),
                    format!("user {:?} is not in [[users]]", token.user),
                )
            })?;
            let digest = secret::parse_digest(&token.hash)
                .ok_or_else(|| invalid(entry(), "hash must be sha256:<64 hex digits>".into()))?;
            let record = TokenRecord {
                identity: owner.identity.with_token(&token.id),
                digest,
                expires: token.expires,
            };
            if tokens.insert(token.id.clone(), record).is_some() {
                return Err(invalid(entry(), "duplicate token id".into()));
            }
        }
        let rules = file
            .access
            .iter()
            .enumerate()
            .map(|(i, rule)| {
                compile_rule(rule).map_err(|r| invalid(format!("[[access]] #{}", i + 1), r))
            })
            .collect::<Result<_, _>>()?;
        Ok(AuthConfig {
            path: path.to_owned(),
            generation: GENERATION.fetch_add(1, Ordering::Relaxed),
            public: file.defaults.public,
            users,
            tokens,
            rules,
        })
    }

    /// The file this configuration was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Distinct for every configuration loaded by this process.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Whether `identity` may exercise `right` on `module`; `private` says
    /// whether the module matches the server's private patterns. See the
    /// crate documentation for the rules.
    pub fn authorize(
        &self,
        identity: &Identity,
        module: &str,
        right: Right,
        private: bool,
    ) -> Decision {
        if identity.is_admin() {
            return Decision::Allow;
        }
        let deny = |reason| {
            Decision::Deny(Denial {
                identity: identity.name().to_owned(),
                anonymous: identity.is_anonymous(),
                right,
                reason,
            })
        };
        let mut first_match = None;
        for (i, rule) in self.rules.iter().enumerate() {
            let Some(pattern) = rule.matching_pattern(module) else {
                continue;
            };
            if rule.names(identity) {
                if rule.allow.contains(&right) {
                    return Decision::Allow;
                }
                return deny(DenyReason::NotAllowed {
                    rule: i + 1,
                    pattern: pattern.to_owned(),
                });
            }
            first_match.get_or_insert((i + 1, pattern));
        }
        if let Some((rule, pattern)) = first_match {
            return deny(DenyReason::NotListed {
                rule,
                pattern: pattern.to_owned(),
            });
        }
        if private || right == Right::Publish {
            return deny(DenyReason::NoRule);
        }
        match self.public {
            PublicDefault::Anonymous => Decision::Allow,
            PublicDefault::Authenticated if !identity.is_anonymous() => Decision::Allow,
            PublicDefault::Authenticated => deny(DenyReason::CredentialsRequired),
            PublicDefault::Closed => deny(DenyReason::Closed),
        }
    }

    /// Whether some `[[access]]` rule matches `module`: reads of it are
    /// worth an audit line, as reads of private modules are.
    pub fn guards(&self, module: &str) -> bool {
        self.rules
            .iter()
            .any(|r| r.matching_pattern(module).is_some())
    }

    /// Whether `identity` may read modules that no rule guards (the
    /// `defaults.public` setting); for endpoints that serve no one module,
    /// such as the proxied public checksum database.
    pub fn reads_public(&self, identity: &Identity) -> bool {
        match self.public {
            _ if identity.is_admin() => true,
            PublicDefault::Anonymous => true,
            PublicDefault::Authenticated => !identity.is_anonymous(),
            PublicDefault::Closed => false,
        }
    }

    /// Whether some rule lets `identity` read the modules it guards. modgate's
    /// own checksum database names every module version it holds, private
    /// ones too, so it is served to these identities (and admins) only.
    pub fn reads_guarded(&self, identity: &Identity) -> bool {
        identity.is_admin()
            || self
                .rules
                .iter()
                .any(|r| r.names(identity) && r.allow.contains(&Right::Read))
    }

    /// What the file allows but is probably a mistake: rules naming users
    /// or groups that do not exist, tokens that have expired by `now`.
    pub fn check(&self, now: Timestamp) -> Vec<Warning> {
        let groups: HashSet<&str> = self
            .users
            .values()
            .flat_map(|u| u.identity.groups())
            .map(String::as_str)
            .collect();
        let mut warnings = Vec::new();
        for (i, rule) in self.rules.iter().enumerate() {
            let rule_no = i + 1;
            for user in &rule.users {
                if user != ANONYMOUS && !self.users.contains_key(user) {
                    warnings.push(Warning::UnknownUser {
                        rule: rule_no,
                        user: user.clone(),
                    });
                }
            }
            for group in &rule.groups {
                if group != AUTHENTICATED && !groups.contains(group.as_str()) {
                    warnings.push(Warning::UnknownGroup {
                        rule: rule_no,
                        group: group.clone(),
                    });
                }
            }
        }
        let mut expired: Vec<_> = self
            .tokens
            .iter()
            .filter(|(_, t)| t.expires.is_some_and(|e| e <= now))
            .collect();
        expired.sort_unstable_by_key(|(id, _)| *id);
        warnings.extend(expired.into_iter().map(|(id, t)| Warning::ExpiredToken {
            id: id.clone(),
            user: t.identity.name().to_owned(),
        }));
        warnings
    }
}

fn compile_rule(rule: &AccessRule) -> Result<Rule, String> {
    if rule.patterns.is_empty() {
        return Err("patterns is empty".into());
    }
    for pattern in &rule.patterns {
        if pattern.is_empty() || pattern.contains(',') {
            return Err(format!(
                "pattern {pattern:?}: must be one non-empty glob (list several as separate strings)"
            ));
        }
        check_glob(pattern).map_err(|e| format!("pattern {pattern:?}: {e}"))?;
    }
    Ok(Rule {
        patterns: rule.patterns.clone(),
        users: rule.users.clone(),
        groups: rule.groups.clone(),
        allow: rule.allow.clone(),
    })
}

/// The auth file's checked reads and writes: here, beside the checks,
/// so that the file's model does not depend on what is compiled from it.
impl AuthFile {
    /// Parses auth-file text; `path` names it in errors. Checks everything
    /// [`AuthConfig`] checks.
    pub fn parse(text: &str, path: &Path) -> Result<AuthFile, Error> {
        let file = AuthFile::from_toml(text, path)?;
        AuthConfig::compile(&file, path)?;
        Ok(file)
    }

    /// The file at `path`, or an empty one (which [`AuthFile::save`] then
    /// creates) if there is none.
    pub fn load_or_default(path: &Path) -> Result<AuthFile, Error> {
        match fs_err::read_to_string(path) {
            Ok(text) => AuthFile::parse(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(AuthFile::default()),
            Err(source) => Err(Error::Read {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Replaces the file at `path` atomically: a temporary file in the same
    /// directory (mode 0600), written and synced, renamed over `path`, and
    /// the directory synced. The result is mode 0600 whatever the old file's
    /// mode was. Comments of the old file are not kept.
    pub fn save(&self, path: &Path) -> Result<(), Error> {
        AuthConfig::compile(self, path)?;
        self.write(path)
    }
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut users: Vec<_> = self.users.values().map(|u| &u.identity).collect();
        users.sort_by_key(|u| u.name());
        let mut tokens: Vec<_> = self.tokens.keys().collect();
        tokens.sort();
        f.debug_struct("AuthConfig")
            .field("path", &self.path)
            .field("generation", &self.generation)
            .field("public", &self.public)
            .field("users", &users)
            .field("tokens", &tokens)
            .field("rules", &self.rules)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> AuthConfig {
        AuthConfig::parse(text, Path::new("auth.toml")).unwrap()
    }

    fn load_error(text: &str) -> String {
        AuthConfig::parse(text, Path::new("auth.toml"))
            .unwrap_err()
            .to_string()
    }

    const USERS: &str = r#"
        [[users]]
        name = "alice"
        groups = ["dev"]
        [[users]]
        name = "bob"
        groups = ["ops"]
        [[users]]
        name = "root"
        admin = true
    "#;

    fn alice() -> Identity {
        Identity::user("alice", vec!["dev".into()], false)
    }
    fn bob() -> Identity {
        Identity::user("bob", vec!["ops".into()], false)
    }
    fn root() -> Identity {
        Identity::user("root", vec![], true)
    }

    fn reason(decision: Decision) -> DenyReason {
        match decision {
            Decision::Deny(d) => d.reason,
            Decision::Allow => panic!("allowed"),
        }
    }

    #[test]
    fn who_reads_guarded_modules_and_public_ones() {
        let c = config(&format!(
            r#"{USERS}
            [defaults]
            public = "authenticated"
            [[access]]
            patterns = ["corp.example/*"]
            users = ["alice"]
            allow = ["read"]
            [[access]]
            patterns = ["corp.example/*"]
            users = ["bob"]
            allow = ["publish"]
            "#
        ));
        assert!(c.reads_guarded(&alice()));
        assert!(!c.reads_guarded(&bob()), "publish alone reads nothing");
        assert!(!c.reads_guarded(&Identity::ANONYMOUS));
        assert!(c.reads_guarded(&root()));
        assert!(c.reads_public(&bob()));
        assert!(!c.reads_public(&Identity::ANONYMOUS));
        let closed = config(&format!("{USERS}\n[defaults]\npublic = \"closed\"\n"));
        assert!(!closed.reads_public(&alice()));
        assert!(closed.reads_public(&root()));
    }

    /// A case variant names the same repository on a case-insensitive
    /// code host: the rule guarding the path guards it too.
    #[test]
    fn rules_match_case_variants() {
        let c = config(&format!(
            r#"{USERS}
            [[access]]
            patterns = ["github.com/spf13/*"]
            users = ["alice"]
            allow = ["read"]
            "#
        ));
        for module in ["github.com/Spf13/pflag", "github.com/spf13/PFlag/v2"] {
            assert!(c.guards(module), "{module}");
            assert_eq!(
                c.authorize(&alice(), module, Right::Read, false),
                Decision::Allow
            );
            assert!(matches!(
                reason(c.authorize(&bob(), module, Right::Read, false)),
                DenyReason::NotListed { rule: 1, .. }
            ));
        }
        assert!(!c.guards("github.com/spf14/pflag"));
    }

    #[test]
    fn first_rule_naming_the_identity_decides() {
        let c = config(&format!(
            r#"{USERS}
            [[access]]
            patterns = ["corp.example/secret"]
            users = ["alice"]
            allow = []
            [[access]]
            patterns = ["corp.example"]
            groups = ["dev"]
            allow = ["read", "publish"]
            [[access]]
            patterns = ["corp.example/*"]
            users = ["bob"]
            allow = ["read"]
            "#
        ));
        let read = Right::Read;
        // The ban comes first for alice, the group rule for the rest.
        assert_eq!(
            reason(c.authorize(&alice(), "corp.example/secret/v2", read, true)),
            DenyReason::NotAllowed {
                rule: 1,
                pattern: "corp.example/secret".into()
            }
        );
        assert_eq!(
            c.authorize(&alice(), "corp.example/open", Right::Publish, true),
            Decision::Allow
        );
        // bob is not named by rule 1 or 2; rule 3 names him.
        assert_eq!(
            c.authorize(&bob(), "corp.example/open", read, true),
            Decision::Allow
        );
        assert_eq!(
            reason(c.authorize(&bob(), "corp.example/open", Right::Publish, true)),
            DenyReason::NotAllowed {
                rule: 3,
                pattern: "corp.example/*".into()
            }
        );
        // Rules matched but none names carol: the first match is named.
        let carol = Identity::user("carol", vec![], false);
        assert_eq!(
            reason(c.authorize(&carol, "corp.example/secret", read, false)),
            DenyReason::NotListed {
                rule: 1,
                pattern: "corp.example/secret".into()
            }
        );
        assert_eq!(
            c.authorize(&root(), "corp.example/secret", Right::Publish, true),
            Decision::Allow
        );
    }

    #[test]
    fn anonymous_and_authenticated_subjects() {
        let c = config(&format!(
            r#"{USERS}
            [[access]]
            patterns = ["open.example"]
            users = ["anonymous"]
            allow = ["read"]
            [[access]]
            patterns = ["staff.example"]
            groups = ["authenticated"]
            allow = ["read"]
            "#
        ));
        let anon = Identity::ANONYMOUS;
        assert_eq!(
            c.authorize(&anon, "open.example/m", Right::Read, true),
            Decision::Allow
        );
        assert_eq!(
            c.authorize(&bob(), "open.example/m", Right::Read, true),
            Decision::Allow
        );
        assert_eq!(
            c.authorize(&bob(), "staff.example/m", Right::Read, true),
            Decision::Allow
        );
        let Decision::Deny(denial) = c.authorize(&anon, "staff.example/m", Right::Read, true)
        else {
            panic!("anonymous allowed")
        };
        assert!(denial.anonymous);
        assert_eq!(
            denial.to_string(),
            r#"modgate: anonymous may not read modules matching "staff.example""#
        );
        // "anonymous" in users does not match a user merely named so in a
        // group list, and a user cannot be named "anonymous" anyway.
        assert!(
            load_error(
                r#"[[users]]
            name = "anonymous""#
            )
            .contains("identity of requests without credentials")
        );
    }

    #[test]
    fn unmatched_modules_follow_the_defaults() {
        let rules = r#"
            [[access]]
            patterns = ["corp.example"]
            users = ["alice"]
            allow = ["read"]
        "#;
        let open = config(&format!("{USERS}{rules}"));
        let anon = Identity::ANONYMOUS;
        assert_eq!(
            open.authorize(&anon, "rsc.io/quote", Right::Read, false),
            Decision::Allow
        );
        let Decision::Deny(private) = open.authorize(&bob(), "other.corp/x", Right::Read, true)
        else {
            panic!("private module allowed")
        };
        assert_eq!(private.reason, DenyReason::NoRule);
        assert_eq!(
            private.to_string(),
            "modgate: no [[access]] rule lets bob read this module"
        );
        assert_eq!(
            reason(open.authorize(&bob(), "rsc.io/quote", Right::Publish, false)),
            DenyReason::NoRule
        );

        let authenticated = config(&format!(
            "[defaults]\npublic = \"authenticated\"\n{USERS}{rules}"
        ));
        assert_eq!(
            reason(authenticated.authorize(&anon, "rsc.io/quote", Right::Read, false)),
            DenyReason::CredentialsRequired
        );
        assert_eq!(
            authenticated.authorize(&bob(), "rsc.io/quote", Right::Read, false),
            Decision::Allow
        );

        let closed = config(&format!("[defaults]\npublic = \"closed\"\n{USERS}{rules}"));
        assert_eq!(
            reason(closed.authorize(&bob(), "rsc.io/quote", Right::Read, false)),
            DenyReason::Closed
        );
        assert_eq!(
            closed.authorize(&root(), "rsc.io/quote", Right::Read, false),
            Decision::Allow
        );
        // A rule still opens what it matches.
        assert_eq!(
            closed.authorize(&alice(), "corp.example/x", Right::Read, false),
            Decision::Allow
        );
    }

    #[test]
    fn load_errors_name_the_file_and_entry() {
        let e = load_error("[defaults]\npublic = \"anonymous\"\n\n[extra]\nx = 1\n");
        assert!(e.starts_with("auth.toml:4:"), "{e}");
        assert!(e.contains("unknown field `extra`"), "{e}");

        let e = load_error("[[access]]\npatterns = [\"a\"]\nallow = [\"reed\"]\n");
        assert!(e.starts_with("auth.toml:3:"), "{e}");
        assert!(e.contains("reed"), "{e}");

        let e = load_error("[[access]]\npatterns = [\"a\"]\nusers = [\"x\"]\n");
        assert!(e.contains("allow"), "a rule without allow: {e}");

        let e = load_error("[[users]]\nname = \"alice\"\n[[users]]\nname = \"alice\"\n");
        assert_eq!(e, r#"auth.toml: [[users]] #2 "alice": duplicate user name"#);

        let e = load_error(&format!(
            "[[tokens]]\nid = \"ab12\"\nuser = \"zed\"\nhash = \"sha256:{}\"\ncreated = \"2026-01-01T00:00:00Z\"\n",
            "0".repeat(64)
        ));
        assert_eq!(
            e,
            r#"auth.toml: [[tokens]] #1 "ab12": user "zed" is not in [[users]]"#
        );

        let e = load_error("[[access]]\npatterns = [\"a,b\"]\nallow = []\n");
        assert!(
            e.starts_with("auth.toml: [[access]] #1: pattern \"a,b\""),
            "{e}"
        );
        let e = load_error("[[access]]\npatterns = [\"corp/[a\"]\nallow = []\n");
        assert!(e.contains("bad pattern"), "{e}");
        let e = load_error("[[access]]\npatterns = []\nallow = []\n");
        assert!(e.contains("patterns is empty"), "{e}");

        let e = load_error("[[users]]\nname = \"bad name\"\n");
        assert!(e.contains("letters, digits"), "{e}");
        let e = load_error("[[users]]\nname = \"a\"\ngroups = [\"authenticated\"]\n");
        assert!(e.contains("already"), "{e}");
    }

    #[test]
    fn password_errors_do_not_quote_the_password() {
        let e = load_error("[[users]]\nname = \"alice\"\npassword = \"hunter2\"\n");
        assert!(e.contains("not an argon2 PHC string"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
        let e = load_error("[[users]]\nname = \"alice\"\npassword = 987654321\n");
        assert!(e.starts_with("auth.toml:3:"), "{e}");
        assert!(!e.contains("987654321"), "{e}");
        // A TOML syntax error on the line: the parser's quote of it is dropped.
        let e = load_error("[[users]]\nname = \"alice\"\npassword = hunter2\n");
        assert!(e.starts_with("auth.toml:3:"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn check_reports_probable_mistakes() {
        let c = config(&format!(
            r#"{USERS}
            [[tokens]]
            id = "old1"
            user = "bob"
            hash = "sha256:{zero}"
            created = "2026-01-01T00:00:00Z"
            expires = "2026-02-01T00:00:00Z"
            [[tokens]]
            id = "new1"
            user = "bob"
            hash = "sha256:{zero}"
            created = "2026-01-01T00:00:00Z"
            [[access]]
            patterns = ["corp.example"]
            users = ["alice", "anonymous", "alcie"]
            groups = ["dev", "authenticated", "devs"]
            allow = ["read"]
            "#,
            zero = "0".repeat(64)
        ));
        let now: Timestamp = "2026-12-02T00:00:00Z".parse().unwrap();
        let warnings: Vec<String> = c.check(now).iter().map(ToString::to_string).collect();
        assert_eq!(
            warnings,
            [
                r#"[[access]] #1: no user "alcie""#,
                r#"[[access]] #1: no user is in group "devs""#,
                r#"token "old1" of "bob" has expired"#,
            ]
        );
    }

    #[test]
    fn debug_shows_no_hashes() {
        let phc = crate::secret::hash_password("pw").unwrap();
        let text = format!(
            "[[users]]\nname = \"alice\"\npassword = \"{phc}\"\n[[tokens]]\nid = \"ab12\"\nuser = \"alice\"\nhash = \"sha256:{}\"\ncreated = \"2026-01-01T00:00:00Z\"\n",
            "7".repeat(64)
        );
        let c = config(&text);
        let file = AuthFile::parse(&text, Path::new("auth.toml")).unwrap();
        for debug in [format!("{c:?}"), format!("{file:?}")] {
            assert!(debug.contains("alice"), "{debug}");
            assert!(!debug.contains("argon2"), "{debug}");
            assert!(!debug.contains("7777"), "{debug}");
        }
    }
}
