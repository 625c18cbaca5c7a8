//! The auth file as written on disk, and the edits of `modgate auth ...`.

use std::fmt;
use std::io::Write as _;
use std::path::Path;

use jiff::Timestamp;
use modgate_env::value::Dur;
use serde::{Deserialize, Deserializer, Serialize};

use crate::identity::{check_group_name, check_user_name};
use crate::{Error, secret};

/// The contents of an auth file, for editing. Every edit keeps the file
/// valid: [`AuthFile::save`] writes only what [`AuthConfig`](crate::AuthConfig) accepts.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthFile {
    #[serde(default)]
    pub(crate) defaults: Defaults,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) users: Vec<UserEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) tokens: Vec<TokenEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) access: Vec<AccessRule>,
}

#[derive(Clone, Default, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Defaults {
    #[serde(default)]
    pub(crate) public: PublicDefault,
}

/// Who may read a public module that no `[[access]]` rule's pattern matches.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PublicDefault {
    /// Every request, with or without credentials.
    #[default]
    Anonymous,
    /// Any request with valid credentials.
    Authenticated,
    /// Admins only.
    Closed,
}

/// What an `[[access]]` rule may allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Right {
    /// Fetch a module's list, versions, go.mod, zip and checksums.
    Read,
    /// Add versions of a module.
    Publish,
}

impl fmt::Display for Right {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Right::Read => "read",
            Right::Publish => "publish",
        })
    }
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserEntry {
    pub(crate) name: String,
    #[serde(
        default,
        deserialize_with = "phc_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) password: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) groups: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) admin: bool,
}

impl fmt::Debug for UserEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserEntry")
            .field("name", &self.name)
            .field("password", &self.password.as_ref().map(|_| "<hash>"))
            .field("groups", &self.groups)
            .field("admin", &self.admin)
            .finish()
    }
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TokenEntry {
    pub(crate) id: String,
    pub(crate) user: String,
    pub(crate) hash: String,
    #[serde(deserialize_with = "timestamp")]
    pub(crate) created: Timestamp,
    #[serde(
        default,
        deserialize_with = "optional_timestamp",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) expires: Option<Timestamp>,
}

impl fmt::Debug for TokenEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenEntry")
            .field("id", &self.id)
            .field("user", &self.user)
            .field("created", &self.created)
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AccessRule {
    pub(crate) patterns: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) users: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) groups: Vec<String>,
    /// Required, so that a ban (`allow = []`) is always written out.
    pub(crate) allow: Vec<Right>,
}

/// A password field: a string, and a type error that does not quote a
/// value someone may have written in clear (serde's would: "invalid type:
/// integer `1234`").
fn phc_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct Phc;
    impl serde::de::Visitor<'_> for Phc {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an argon2 PHC string")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_owned())
        }
        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<String, E> {
            Err(E::custom("password must be an argon2 PHC string"))
        }
        fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<String, E> {
            Err(E::custom("password must be an argon2 PHC string"))
        }
        fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<String, E> {
            Err(E::custom("password must be an argon2 PHC string"))
        }
        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<String, E> {
            Err(E::custom("password must be an argon2 PHC string"))
        }
    }
    d.deserialize_any(Phc).map(Some)
}

/// A timestamp as a string (`"2027-01-01T00:00:00Z"`, as modgate writes
/// it) or as a TOML offset date-time (unquoted, as people may write it).
fn timestamp<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
    #[derive(Deserialize)]
    #[serde(
        untagged,
        expecting = "an RFC 3339 timestamp such as \"2027-01-01T00:00:00Z\""
    )]
    enum Written {
        String(String),
        Toml(toml::value::Datetime),
    }
    let text = match Written::deserialize(d)? {
        Written::String(s) => s,
        Written::Toml(dt) => dt.to_string(),
    };
    text.parse()
        .map_err(|e| serde::de::Error::custom(format!("invalid timestamp {text:?}: {e}")))
}

fn optional_timestamp<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
    timestamp(d).map(Some)
}

/// One line of [`AuthFile::list`]: what may be shown of an entry (never a
/// password hash or a token hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Row {
    User {
        name: String,
        groups: Vec<String>,
        admin: bool,
        /// Whether the user may log in with a password (else tokens only).
        has_password: bool,
    },
    Token {
        id: String,
        user: String,
        created: Timestamp,
        expires: Option<Timestamp>,
    },
}

/// As `modgate auth list` prints it.
impl fmt::Display for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Row::User {
                name,
                groups,
                admin,
                has_password,
            } => write!(
                f,
                "user  {name}  groups={}  admin={admin}  password={}",
                groups.join(","),
                if *has_password { "set" } else { "none" }
            ),
            Row::Token {
                id,
                user,
                created,
                expires,
            } => write!(
                f,
                "token {id}  user={user}  created={created}  expires={}",
                expires.map_or_else(|| "never".to_owned(), |e| e.to_string())
            ),
        }
    }
}

/// A token's expiry: `2027-01-31T00:00:00Z`, or a duration from now in
/// modgate's one grammar ([`modgate_env::value::Dur`]), e.g. `90d` or `12h`.
pub fn parse_expiry(text: &str) -> Result<Timestamp, Error> {
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Ok(ts);
    }
    let bad = || Error::Expiry(text.to_owned());
    let Dur(span) = text.parse().map_err(|_| bad())?;
    let span = jiff::SignedDuration::try_from(span).map_err(|_| bad())?;
    Timestamp::now().checked_add(span).map_err(|_| bad())
}

impl AuthFile {
    /// Parses auth-file text without checking its entries.
    pub(crate) fn from_toml(text: &str, path: &Path) -> Result<AuthFile, Error> {
        toml::from_str(text).map_err(|e| {
            let (line, column) = e
                .span()
                .map_or((0, 0), |span| line_column(text, span.start));
            Error::Parse {
                path: path.to_owned(),
                line,
                column,
                message: e.message().trim_end().to_owned(),
            }
        })
    }

    /// Adds a user without groups, not admin; `password` `None` makes a
    /// user who logs in with tokens only.
    pub fn add_user(&mut self, name: &str, password: Option<&str>) -> Result<(), Error> {
        check_user_name(name).map_err(|reason| Error::InvalidName {
            name: name.to_owned(),
            reason,
        })?;
        if self.users.iter().any(|u| u.name == name) {
            return Err(Error::UserExists(name.to_owned()));
        }
        let password = password.map(hash_new_password).transpose()?;
        self.users.push(UserEntry {
            name: name.to_owned(),
            password,
            groups: Vec::new(),
            admin: false,
        });
        Ok(())
    }

    /// Sets (`Some`) or removes (`None`: tokens only) a user's password.
    pub fn set_password(&mut self, name: &str, password: Option<&str>) -> Result<(), Error> {
        let password = password.map(hash_new_password).transpose()?;
        self.user_mut(name)?.password = password;
        Ok(())
    }

    /// Replaces a user's groups.
    pub fn set_groups(&mut self, name: &str, groups: Vec<String>) -> Result<(), Error> {
        for group in &groups {
            check_group_name(group).map_err(|reason| Error::InvalidGroup {
                name: group.clone(),
                reason,
            })?;
        }
        self.user_mut(name)?.groups = groups;
        Ok(())
    }

    pub fn set_admin(&mut self, name: &str, admin: bool) -> Result<(), Error> {
        self.user_mut(name)?.admin = admin;
        Ok(())
    }

    /// Creates a token acting as `user` and returns it: this is the only
    /// time it is seen, the file keeps its SHA-256 digest.
    pub fn add_token(&mut self, user: &str, expires: Option<Timestamp>) -> Result<String, Error> {
        self.user_mut(user)?;
        // Whole seconds, as people write them in the file.
        let now = Timestamp::from_second(Timestamp::now().as_second()).expect("now is in range");
        if let Some(expires) = expires
            && expires <= now
        {
            return Err(Error::ExpiryInPast { expires, now });
        }
        let (id, token, hash) = secret::new_token(|id| self.tokens.iter().any(|t| t.id == id))?;
        self.tokens.push(TokenEntry {
            id,
            user: user.to_owned(),
            hash,
            created: now,
            expires,
        });
        Ok(token)
    }

    pub fn revoke_token(&mut self, id: &str) -> Result<(), Error> {
        let before = self.tokens.len();
        self.tokens.retain(|t| t.id != id);
        if self.tokens.len() == before {
            return Err(Error::NoSuchToken(id.to_owned()));
        }
        Ok(())
    }

    /// Removes a user and their tokens. `[[access]]` rules that name them
    /// stay (see [`AuthConfig::check`](crate::AuthConfig::check)).
    pub fn remove_user(&mut self, name: &str) -> Result<(), Error> {
        self.user_mut(name)?;
        self.users.retain(|u| u.name != name);
        self.tokens.retain(|t| t.user != name);
        Ok(())
    }

    /// Users, then tokens, in file order.
    pub fn list(&self) -> Vec<Row> {
        let users = self.users.iter().map(|u| Row::User {
            name: u.name.clone(),
            groups: u.groups.clone(),
            admin: u.admin,
            has_password: u.password.is_some(),
        });
        let tokens = self.tokens.iter().map(|t| Row::Token {
            id: t.id.clone(),
            user: t.user.clone(),
            created: t.created,
            expires: t.expires,
        });
        users.chain(tokens).collect()
    }

    /// Writes the file unchecked ([`AuthFile::save`] checks it first).
    pub(crate) fn write(&self, path: &Path) -> Result<(), Error> {
        let text = toml::to_string(self).expect("the auth file model serializes");
        let write_err = |source| Error::Write {
            path: path.to_owned(),
            source,
        };
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        // tempfile creates it 0600 and removes it if anything below fails.
        let mut tmp = tempfile::Builder::new()
            .prefix(".modgate-auth")
            .tempfile_in(dir)
            .map_err(write_err)?;
        tmp.write_all(text.as_bytes()).map_err(write_err)?;
        tmp.as_file().sync_all().map_err(write_err)?;
        tmp.persist(path).map_err(|e| write_err(e.error))?;
        fs_err::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(write_err)
    }

    fn user_mut(&mut self, name: &str) -> Result<&mut UserEntry, Error> {
        self.users
            .iter_mut()
            .find(|u| u.name == name)
            .ok_or_else(|| Error::NoSuchUser(name.to_owned()))
    }
}

fn hash_new_password(password: &str) -> Result<String, Error> {
    if password.is_empty() {
        return Err(Error::InvalidPassword("empty"));
    }
    if secret::token_id(password).is_some() {
        // It would be taken for a token and never reach the password check.
        return Err(Error::InvalidPassword(
            "shaped like a modgate token (mgt_...)",
        ));
    }
    secret::hash_password(password)
}

/// 1-based line and column (in characters) of byte `offset` of `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (
        before.matches('\n').count() + 1,
        before[line_start..].chars().count() + 1,
    )
}

impl fmt::Debug for AuthFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthFile")
            .field("defaults", &self.defaults)
            .field("users", &self.users)
            .field("tokens", &self.tokens)
            .field("access", &self.access)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    /// `--expires` takes modgate's one duration grammar: days and Go's
    /// units, never months or a bare number.
    #[test]
    fn expiry_is_a_date_time_or_a_duration_from_now() {
        let now = Timestamp::now();
        let in_90d = parse_expiry("90d").unwrap();
        let hours = in_90d.duration_since(now).as_hours();
        assert!((2159..=2160).contains(&hours), "{hours}");
        assert!(parse_expiry("1h30m").unwrap() > now);
        assert_eq!(
            parse_expiry("2027-01-31T00:00:00Z").unwrap().to_string(),
            "2027-01-31T00:00:00Z"
        );
        for bad in ["3mo", "90", "P90D", "-1h", "soon"] {
            assert!(parse_expiry(bad).is_err(), "{bad}");
        }
    }
    use crate::{AuthConfig, Decision, Identity};

    const RULES: &str = r#"
[defaults]
public = "closed"

[[users]]
name = "alice"
groups = ["dev"]

# comments are not kept
[[access]]
patterns = ["git.corp.example/*", "corp.example/private"]
users = ["alice", "ghost"]
groups = ["dev"]
allow = ["read", "publish"]

[[access]]
patterns = ["corp.example"]
allow = []
"#;

    fn mode(path: &Path) -> u32 {
        fs_err::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn save_and_load_keep_rules_and_make_the_file_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.toml");
        fs_err::write(&path, RULES).unwrap();
        fs_err::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();

        let mut file = AuthFile::load_or_default(&path).unwrap();
        file.add_user("bob", Some("pw")).unwrap();
        let token = file.add_token("alice", None).unwrap();
        file.save(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
        let text = fs_err::read_to_string(&path).unwrap();
        assert!(!text.contains(&token), "the token itself is never stored");

        let again = AuthFile::load_or_default(&path).unwrap();
        assert_eq!(again.list(), file.list());
        let before = format!("{:?}{:?}", file.defaults, file.access);
        assert_eq!(format!("{:?}{:?}", again.defaults, again.access), before);

        let config = AuthConfig::load(&path).unwrap();
        let alice = Identity::user("alice", vec!["dev".into()], false);
        let read = crate::Right::Read;
        assert_eq!(
            config.authorize(&alice, "git.corp.example/x", read, true),
            Decision::Allow
        );
        // The ban and the closed default survived.
        assert!(matches!(
            config.authorize(&alice, "corp.example/x", read, false),
            Decision::Deny(_)
        ));
        assert!(matches!(
            config.authorize(&alice, "rsc.io/quote", read, false),
            Decision::Deny(_)
        ));
        // No temporary file is left behind.
        let names: Vec<_> = fs_err::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["auth.toml"]);
    }

    #[test]
    fn a_missing_file_is_empty_and_save_creates_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.toml");
        let mut file = AuthFile::load_or_default(&path).unwrap();
        assert!(file.list().is_empty());
        file.add_user("alice", None).unwrap();
        file.save(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(AuthFile::load_or_default(&path).unwrap().list().len(), 1);
    }

    #[test]
    fn edits() {
        let mut file = AuthFile::default();
        file.add_user("alice@corp.example", Some("pw")).unwrap();
        assert!(matches!(
            file.add_user("alice@corp.example", None),
            Err(Error::UserExists(_))
        ));
        for bad in ["", "anonymous", "a b", "ålice", "a:b"] {
            assert!(
                matches!(file.add_user(bad, None), Err(Error::InvalidName { .. })),
                "{bad:?}"
            );
        }
        assert!(matches!(
            file.set_password("alice@corp.example", Some("mgt_ab12_looks-like-a-token")),
            Err(Error::InvalidPassword(_))
        ));
        assert!(matches!(
            file.set_password("alice@corp.example", Some("")),
            Err(Error::InvalidPassword(_))
        ));
        assert!(matches!(
            file.set_password("nobody", Some("pw")),
            Err(Error::NoSuchUser(_))
        ));
        assert!(matches!(
            file.set_groups("alice@corp.example", vec!["authenticated".into()]),
            Err(Error::InvalidGroup { .. })
        ));
        file.set_admin("alice@corp.example", true).unwrap();
        file.set_password("alice@corp.example", None).unwrap();
        file.add_user("bob", None).unwrap();
        let token = file.add_token("alice@corp.example", None).unwrap();
        file.add_token("bob", None).unwrap();
        assert!(matches!(
            file.add_token("nobody", None),
            Err(Error::NoSuchUser(_))
        ));
        assert_eq!(file.list().len(), 4);
        let Row::User {
            admin,
            has_password,
            ..
        } = &file.list()[0]
        else {
            panic!("users come first")
        };
        assert!(*admin && !has_password);

        file.remove_user("alice@corp.example").unwrap();
        let rows = file.list();
        assert_eq!(rows.len(), 2, "alice's token went with her: {rows:?}");
        assert!(
            rows.iter()
                .all(|r| !matches!(r, Row::Token { user, .. } if user != "bob"))
        );
        let id = crate::secret::token_id(&token).unwrap();
        assert!(matches!(file.revoke_token(id), Err(Error::NoSuchToken(_))));
        let Row::Token { id: bobs, .. } = &rows[1] else {
            panic!("{rows:?}")
        };
        file.revoke_token(&bobs.clone()).unwrap();
        assert_eq!(file.list().len(), 1);
    }

    #[test]
    fn list_and_debug_show_no_hashes() {
        let mut file = AuthFile::default();
        file.add_user("alice", Some("pw")).unwrap();
        let token = file.add_token("alice", None).unwrap();
        let shown = format!("{:?}{file:?}", file.list());
        assert!(!shown.contains("argon2"), "{shown}");
        assert!(!shown.contains("sha256"), "{shown}");
        assert!(!shown.contains(&token), "{shown}");
    }
}
