//! Who a request comes from.

use std::fmt;
use std::sync::Arc;

/// The client of a request: anonymous, or a user of the auth file.
///
/// Cheap to clone (one reference count). Displays as the name only
/// (`alice`, `anonymous`), which is what denials and logs show; it holds no
/// secret, so its Debug output is safe to log too.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Identity(Option<Arc<Principal>>);

#[derive(Debug, PartialEq, Eq)]
struct Principal {
    name: String,
    groups: Vec<String>,
    admin: bool,
    /// The public id of the token that authenticated the request.
    token: Option<String>,
}

/// The name of the identity of requests without credentials; no user may
/// take it, and in an `[[access]]` rule's `users` it names every request.
pub const ANONYMOUS: &str = "anonymous";

/// The group every authenticated user belongs to, for `[[access]]` rules.
pub const AUTHENTICATED: &str = "authenticated";

impl Identity {
    /// The identity of a request without credentials.
    pub const ANONYMOUS: Identity = Identity(None);

    /// A user as the auth file describes them (the authenticator builds
    /// these; this constructor serves callers that test authorization).
    pub fn user(name: impl Into<String>, groups: Vec<String>, admin: bool) -> Identity {
        Identity(Some(Arc::new(Principal {
            name: name.into(),
            groups,
            admin,
            token: None,
        })))
    }

    /// The same user, authenticated by the token `id`.
    pub(crate) fn with_token(&self, id: &str) -> Identity {
        match &self.0 {
            None => Identity::ANONYMOUS,
            Some(p) => Identity(Some(Arc::new(Principal {
                name: p.name.clone(),
                groups: p.groups.clone(),
                admin: p.admin,
                token: Some(id.to_owned()),
            }))),
        }
    }

    /// The user's name, or `anonymous`.
    pub fn name(&self) -> &str {
        self.0.as_ref().map_or(ANONYMOUS, |p| &p.name)
    }

    pub fn is_anonymous(&self) -> bool {
        self.0.is_none()
    }

    /// Whether the user may do everything: every module, `/metrics`,
    /// detailed readiness and admin pages.
    pub fn is_admin(&self) -> bool {
        self.0.as_ref().is_some_and(|p| p.admin)
    }

    /// The user's groups as the auth file lists them (without the implied
    /// `authenticated`); empty for anonymous.
    pub fn groups(&self) -> &[String] {
        self.0.as_ref().map_or(&[], |p| &p.groups)
    }

    /// The public id of the token the request came with, for audit logs.
    pub fn token_id(&self) -> Option<&str> {
        self.0.as_ref().and_then(|p| p.token.as_deref())
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

fn name_chars(name: &str) -> bool {
    name.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'@' | b'-'))
}

/// User names: 1 to 128 of `[A-Za-z0-9._@-]`, not `anonymous`.
pub(crate) fn check_user_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() || name.len() > 128 {
        return Err("must be 1 to 128 characters");
    }
    if !name_chars(name) {
        return Err("may hold only letters, digits and . _ @ -");
    }
    if name == ANONYMOUS {
        return Err("\"anonymous\" is the identity of requests without credentials");
    }
    Ok(())
}

/// Group names: as user names, but `authenticated` (every user is in it).
pub(crate) fn check_group_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() || name.len() > 128 {
        return Err("must be 1 to 128 characters");
    }
    if !name_chars(name) {
        return Err("may hold only letters, digits and . _ @ -");
    }
    if name == AUTHENTICATED {
        return Err("every user is in \"authenticated\" already");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_the_name_only() {
        let alice = Identity::user("alice", vec!["dev".into()], true);
        assert_eq!(alice.to_string(), "alice");
        assert_eq!(alice.with_token("k3j4h5").to_string(), "alice");
        assert_eq!(alice.with_token("k3j4h5").token_id(), Some("k3j4h5"));
        assert_eq!(Identity::ANONYMOUS.to_string(), "anonymous");
        assert!(Identity::ANONYMOUS.groups().is_empty());
        assert!(!Identity::ANONYMOUS.is_admin());
    }
}
