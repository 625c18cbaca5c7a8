//! The cryptography of credentials: tokens (random, stored as a SHA-256
//! digest) and passwords (argon2id PHC strings).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::Error;

/// What every modgate token starts with, so that scanners and people can
/// tell one apart from a password.
pub(crate) const TOKEN_PREFIX: &str = "mgt_";

/// Random bytes of a token's secret part.
const TOKEN_SECRET_BYTES: usize = 32;

/// Random bytes of a token's public id (hex-encoded: no `_` in it, so the
/// id ends at the first `_` after the prefix).
const TOKEN_ID_BYTES: usize = 4;

pub(crate) fn random<const N: usize>() -> Result<[u8; N], Error> {
    let mut bytes = [0; N];
    getrandom::fill(&mut bytes).map_err(Error::Random)?;
    Ok(bytes)
}

/// A new token whose id `taken` rejects not: `(id, token, stored hash)`.
pub(crate) fn new_token(taken: impl Fn(&str) -> bool) -> Result<(String, String, String), Error> {
    let id = loop {
        let id = hex(&random::<TOKEN_ID_BYTES>()?);
        if !taken(&id) {
            break id;
        }
    };
    let secret = URL_SAFE_NO_PAD.encode(random::<TOKEN_SECRET_BYTES>()?);
    let token = format!("{TOKEN_PREFIX}{id}_{secret}");
    let hash = format_digest(&token_digest(&token));
    Ok((id, token, hash))
}

/// The id of a credential shaped like a token (`mgt_<id>_<secret>`).
pub(crate) fn token_id(credential: &str) -> Option<&str> {
    let rest = credential.strip_prefix(TOKEN_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    (valid_token_id(id) && !secret.is_empty()).then_some(id)
}

pub(crate) fn valid_token_id(id: &str) -> bool {
    (1..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

pub(crate) fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// `sha256:<hex>`, as the auth file stores a token.
pub(crate) fn format_digest(digest: &[u8; 32]) -> String {
    format!("sha256:{}", hex(digest))
}

pub(crate) fn parse_digest(stored: &str) -> Option<[u8; 32]> {
    let hex = stored.strip_prefix("sha256:")?;
    // from_str_radix alone would take a `+` sign.
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut digest = [0; 32];
    for (byte, pair) in digest.iter_mut().zip(hex.as_bytes().chunks(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(digest)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An argon2id PHC string of `password` with a fresh salt and argon2's
/// default (OWASP-recommended) cost.
pub(crate) fn hash_password(password: &str) -> Result<String, Error> {
    let salt = SaltString::encode_b64(&random::<16>()?).map_err(Error::Hash)?;
    let hash = Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(Error::Hash)?;
    Ok(hash.to_string())
}

/// Why a stored password is not one argon2 can verify.
pub(crate) fn check_phc(phc: &str) -> Result<(), &'static str> {
    const WHY: &str = "not an argon2 PHC string ($argon2id$v=19$m=...,t=...,p=...$salt$hash)";
    let hash = PasswordHash::new(phc).map_err(|_| WHY)?;
    Algorithm::try_from(hash.algorithm).map_err(|_| WHY)?;
    Params::try_from(&hash).map_err(|_| "argon2 parameters out of range")?;
    if hash.hash.is_none() || hash.salt.is_none() {
        return Err(WHY);
    }
    Ok(())
}

/// Whether `password` is the one `phc` (checked by [`check_phc`]) hashes.
/// The comparison inside argon2 is constant-time.
pub(crate) fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_the_documented_shape() {
        let (id, token, hash) = new_token(|_| false).unwrap();
        assert_eq!(token_id(&token), Some(id.as_str()));
        let secret = token.strip_prefix(&format!("mgt_{id}_")).unwrap();
        // 32 bytes of base64url without padding.
        assert_eq!(secret.len(), 43);
        assert_eq!(parse_digest(&hash), Some(token_digest(&token)));
        let (other_id, other, _) = new_token(|candidate| candidate == id).unwrap();
        assert_ne!(other_id, id);
        assert_ne!(other, token);
    }

    #[test]
    fn token_shapes() {
        assert_eq!(token_id("mgt_ab12_secret"), Some("ab12"));
        assert_eq!(token_id("mgt_ab12_se_cr_et"), Some("ab12"));
        assert_eq!(token_id("mgt_ab12_"), None);
        assert_eq!(token_id("mgt__secret"), None);
        assert_eq!(token_id("mgt_a-b_secret"), None);
        assert_eq!(token_id("hunter2"), None);
    }

    #[test]
    fn digests_parse_only_in_full() {
        let digest = token_digest("x");
        assert_eq!(parse_digest(&format_digest(&digest)), Some(digest));
        assert_eq!(parse_digest("sha256:00"), None);
        assert_eq!(parse_digest(&format!("sha256:{}", "g".repeat(64))), None);
        assert_eq!(parse_digest(&format!("md5:{}", "0".repeat(64))), None);
        assert_eq!(parse_digest(&format!("sha256:{}é", "0".repeat(62))), None);
        assert_eq!(parse_digest(&format!("sha256:+1{}", "0".repeat(62))), None);
    }

    #[test]
    fn passwords_round_trip() {
        let phc = hash_password("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        check_phc(&phc).unwrap();
        assert!(verify_password("correct horse", &phc));
        assert!(!verify_password("correct horse ", &phc));
        assert!(check_phc("hunter2").is_err());
        assert!(check_phc("$5$rounds=5000$salt$hash").is_err());
    }
}
