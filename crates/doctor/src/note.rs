//! Signed notes (golang.org/x/mod/sumdb/note), enough to verify a checksum
//! database's signed tree head with its verifier key.
//!
//! A note is UTF-8 text ending in a newline, a blank line, then signature
//! lines `— <name> <base64(4-byte key hash ‖ signature)>`. A verifier key is
//! `<name>+<hex key hash>+<base64(algorithm byte ‖ public key)>`, where the
//! key hash is the first 4 bytes of SHA-256(name ‖ "\n" ‖ algorithm ‖ key).

use base64::Engine as _;
use sha2::{Digest, Sha256};

const ALG_ED25519: u8 = 1;
const SIG_PREFIX: &str = "\u{2014} ";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("malformed verifier key {0:?}")]
    MalformedKey(String),
    #[error("verifier key {0:?}: its hash does not match its name and key")]
    KeyHashMismatch(String),
    #[error("malformed note")]
    Malformed,
    #[error("note has no signature by {0}")]
    Unsigned(String),
    #[error("invalid signature for key {0}")]
    BadSignature(String),
}

#[derive(Debug, Clone)]
pub struct Verifier {
    pub name: String,
    hash: u32,
    key: ed25519_dalek::VerifyingKey,
}

impl Verifier {
    pub fn new(vkey: &str) -> Result<Self, NoteError> {
        let bad = || NoteError::MalformedKey(vkey.to_owned());
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(hash_hex), Some(key64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        if name.is_empty() || hash_hex.len() != 8 {
            return Err(bad());
        }
        let hash = u32::from_str_radix(hash_hex, 16).map_err(|_| bad())?;
        let key = base64::engine::general_purpose::STANDARD
            .decode(key64)
            .map_err(|_| bad())?;
        let (&[ALG_ED25519], raw) = key.split_at(1.min(key.len())) else {
            return Err(bad());
        };
        let raw: [u8; 32] = raw.try_into().map_err(|_| bad())?;
        if key_hash(name, &key) != hash {
            return Err(NoteError::KeyHashMismatch(vkey.to_owned()));
        }
        let key = ed25519_dalek::VerifyingKey::from_bytes(&raw).map_err(|_| bad())?;
        Ok(Self {
            name: name.to_owned(),
            hash,
            key,
        })
    }

    /// Checks that `msg` carries a valid signature by this key; returns the
    /// signed text.
    pub fn open<'a>(&self, msg: &'a str) -> Result<&'a str, NoteError> {
        if msg.chars().any(|c| c < ' ' && c != '\n') {
            return Err(NoteError::Malformed);
        }
        let split = msg.rfind("\n\n").ok_or(NoteError::Malformed)?;
        let (text, sigs) = (&msg[..=split], &msg[split + 2..]);
        if !sigs.ends_with('\n') {
            return Err(NoteError::Malformed);
        }
        let who = format!("{}+{:08x}", self.name, self.hash);
        for line in sigs.lines() {
            let line = line.strip_prefix(SIG_PREFIX).ok_or(NoteError::Malformed)?;
            let (name, b64) = line.split_once(' ').ok_or(NoteError::Malformed)?;
            let sig = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|_| NoteError::Malformed)?;
            if sig.len() < 5 {
                return Err(NoteError::Malformed);
            }
            let hash = u32::from_be_bytes([sig[0], sig[1], sig[2], sig[3]]);
            if name != self.name || hash != self.hash {
                continue;
            }
            let sig = ed25519_dalek::Signature::from_slice(&sig[4..])
                .map_err(|_| NoteError::BadSignature(who.clone()))?;
            return self
                .key
                .verify_strict(text.as_bytes(), &sig)
                .map(|()| text)
                .map_err(|_| NoteError::BadSignature(who));
        }
        Err(NoteError::Unsigned(who))
    }
}

fn key_hash(name: &str, key: &[u8]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update(key);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// A checksum database's tree head: `go.sum database tree`, size, root hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeHead {
    pub size: u64,
    pub hash: String,
}

pub fn parse_tree(text: &str) -> Option<TreeHead> {
    let mut lines = text.lines();
    if lines.next()? != "go.sum database tree" {
        return None;
    }
    let size = lines.next()?.parse().ok()?;
    let hash = lines.next()?.to_owned();
    Some(TreeHead { size, hash })
}

#[cfg(test)]
mod tests {
    use super::*;

    // From golang.org/x/mod/sumdb/note/note_test.go.
    const PETER_KEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                        then you don't know what your problem is.\n";
    const PETER_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    const ENOCH_SIG: &str = "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

    #[test]
    fn verifies_the_x_mod_vector() {
        let v = Verifier::new(PETER_KEY).unwrap();
        let msg = format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}");
        assert_eq!(v.open(&msg).unwrap(), TEXT);
        let msg = format!("{TEXT}\n{ENOCH_SIG}");
        assert!(matches!(v.open(&msg), Err(NoteError::Unsigned(_))));
        let tampered = format!("{}\n{PETER_SIG}", TEXT.replace("answer", "Answer"));
        assert!(matches!(v.open(&tampered), Err(NoteError::BadSignature(_))));
        assert_eq!(v.open(TEXT), Err(NoteError::Malformed));
        assert_eq!(
            v.open(&format!("{TEXT}\nno dash\n")),
            Err(NoteError::Malformed)
        );
    }

    #[test]
    fn rejects_bad_keys() {
        // From TestNewVerifier: wrong length, unknown algorithm, wrong hash.
        for bad in [
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
            "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann",
            "",
        ] {
            assert!(Verifier::new(bad).is_err(), "{bad}");
        }
        assert!(Verifier::new(modgate_sumdb::SUM_GOLANG_ORG_KEY).is_ok());
    }

    #[test]
    fn parses_tree_heads() {
        let t = parse_tree("go.sum database tree\n42\nabc=\n").unwrap();
        assert_eq!((t.size, t.hash.as_str()), (42, "abc="));
        assert!(parse_tree("hello\n").is_none());
    }
}
