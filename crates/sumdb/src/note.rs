//! Signed notes, the format of the checksum database's tree heads
//! (golang.org/x/mod/sumdb/note).
//!
//! A note is text ending in a newline, a blank line, then one line per
//! signature: `— <name> <base64(key hash || signature)>`. Keys are named; a
//! verifier key is `<name>+<hash>+<base64(0x01 || Ed25519 public key)>` and a
//! signer key `PRIVATE+KEY+<name>+<hash>+<base64(0x01 || Ed25519 seed)>`,
//! where the hash is the first four bytes of SHA-256(name, "\n", the 33 key
//! bytes), in hex.

use std::collections::{HashMap, HashSet};

use ed25519_dalek::{Signature as Ed25519Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest as _, Sha256};

use crate::{Error, decode_base64, encode_base64};

/// The only algorithm there is.
const ALG_ED25519: u8 = 1;
/// Notes with more signature lines are rejected, so none takes forever to open.
const MAX_SIGNATURES: usize = 100;

/// Checks signatures by one named key.
pub trait Verifier {
    fn name(&self) -> &str;
    fn key_hash(&self) -> u32;
    /// Whether `sig` is a valid signature of `msg` by this key.
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool;
}

/// Signs with one named key.
pub trait Signer {
    fn name(&self) -> &str;
    fn key_hash(&self) -> u32;
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, Error>;
}

/// The keys a reader of notes trusts.
pub trait Verifiers {
    /// The verifier for the key named `name` with hash `hash`. Unknown keys
    /// must give [`Error::UnknownVerifier`], so that [`open`] can record
    /// their signatures as unverified; any other error stops [`open`].
    fn verifier(&self, name: &str, hash: u32) -> Result<&dyn Verifier, Error>;
}

/// A text and its signatures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Note {
    /// The signed text, ending in a newline.
    pub text: String,
    /// Signatures checked by a known key.
    pub sigs: Vec<Signature>,
    /// Signatures by keys the reader does not know.
    pub unverified_sigs: Vec<Signature>,
}

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub name: String,
    pub hash: u32,
    /// The signature as it appears on the line: base64 of the key hash and
    /// the signature bytes.
    pub base64: String,
}

/// An Ed25519 verifier key, parsed from `name+hash+key`.
#[derive(Debug, Clone)]
pub struct Ed25519Verifier {
    name: String,
    hash: u32,
    /// None for 32 bytes that are not a curve point: Go accepts such a key
    /// and it verifies nothing.
    key: Option<VerifyingKey>,
}

impl Ed25519Verifier {
    pub fn new(vkey: &str) -> Result<Self, Error> {
        let (name, rest) = chop(vkey);
        let (hash16, key64) = chop(rest);
        let (Some(hash), Some(key)) = (parse_key_hash(hash16), decode_base64(key64)) else {
            return Err(Error::MalformedKey);
        };
        if !is_valid_name(name) || key.is_empty() {
            return Err(Error::MalformedKey);
        }
        if hash != key_hash(name, &key) {
            return Err(Error::KeyHashMismatch);
        }
        if key[0] != ALG_ED25519 {
            return Err(Error::UnknownAlgorithm);
        }
        let key: [u8; 32] = key[1..].try_into().map_err(|_| Error::MalformedKey)?;
        Ok(Self {
            name: name.to_owned(),
            hash,
            key: VerifyingKey::from_bytes(&key).ok(),
        })
    }
}

impl Verifier for Ed25519Verifier {
    fn name(&self) -> &str {
        &self.name
    }

    fn key_hash(&self) -> u32 {
        self.hash
    }

    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        let (Some(key), Ok(sig)) = (&self.key, Ed25519Signature::from_slice(sig)) else {
            return false;
        };
        // Not verify_strict: Go's crypto/ed25519 accepts small-order keys.
        ed25519_dalek::Verifier::verify(key, msg, &sig).is_ok()
    }
}

/// An Ed25519 signer key, parsed from `PRIVATE+KEY+name+hash+key`.
#[derive(Debug)]
pub struct Ed25519Signer {
    name: String,
    hash: u32,
    key: SigningKey,
}

impl Ed25519Signer {
    pub fn new(skey: &str) -> Result<Self, Error> {
        let (priv1, rest) = chop(skey);
        let (priv2, rest) = chop(rest);
        let (name, rest) = chop(rest);
        let (hash16, key64) = chop(rest);
        let (Some(hash), Some(key)) = (parse_key_hash(hash16), decode_base64(key64)) else {
            return Err(Error::MalformedKey);
        };
        if priv1 != "PRIVATE" || priv2 != "KEY" || !is_valid_name(name) || key.is_empty() {
            return Err(Error::MalformedKey);
        }
        if key[0] != ALG_ED25519 {
            return Err(Error::UnknownAlgorithm);
        }
        let seed: [u8; 32] = key[1..].try_into().map_err(|_| Error::MalformedKey)?;
        // The hash is of the public key, so it can only be checked now.
        let signer = Self::from_seed(name, &seed);
        if signer.hash != hash {
            return Err(Error::KeyHashMismatch);
        }
        Ok(signer)
    }

    fn from_seed(name: &str, seed: &[u8; 32]) -> Self {
        let key = SigningKey::from_bytes(seed);
        Self {
            name: name.to_owned(),
            hash: key_hash(name, &public_key_bytes(&key)),
            key,
        }
    }

    /// The verifier key (`name+hash+key`) that checks this signer's signatures.
    pub fn verifier_key(&self) -> String {
        let public = encode_base64(&public_key_bytes(&self.key));
        format!("{}+{:08x}+{public}", self.name, self.hash)
    }
}

impl Signer for Ed25519Signer {
    fn name(&self) -> &str {
        &self.name
    }

    fn key_hash(&self) -> u32 {
        self.hash
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, Error> {
        Ok(self.key.sign(msg).to_bytes().to_vec())
    }
}

/// A new random key pair for the server `name`: the signer key, to keep
/// secret, and the verifier key, to give to readers.
pub fn generate_key(name: &str) -> Result<(String, String), Error> {
    // Go accepts any name here, making keys its own parsers then reject.
    if !is_valid_name(name) {
        return Err(Error::InvalidName(name.to_owned()));
    }
    let mut seed = [0; 32];
    getrandom::fill(&mut seed).map_err(Error::Random)?;
    let signer = Ed25519Signer::from_seed(name, &seed);
    let mut private = vec![ALG_ED25519];
    private.extend_from_slice(&seed);
    let skey = format!(
        "PRIVATE+KEY+{name}+{:08x}+{}",
        signer.hash,
        encode_base64(&private)
    );
    Ok((skey, signer.verifier_key()))
}

/// The known keys, looked up by name and hash.
#[derive(Debug, Clone)]
pub struct VerifierList<V> {
    keys: HashMap<(String, u32), Vec<V>>,
}

impl<V: Verifier> VerifierList<V> {
    pub fn new(verifiers: impl IntoIterator<Item = V>) -> Self {
        let mut keys: HashMap<_, Vec<V>> = HashMap::new();
        for v in verifiers {
            keys.entry((v.name().to_owned(), v.key_hash()))
                .or_default()
                .push(v);
        }
        Self { keys }
    }
}

impl<V: Verifier> Verifiers for VerifierList<V> {
    fn verifier(&self, name: &str, hash: u32) -> Result<&dyn Verifier, Error> {
        let name = name.to_owned();
        match self.keys.get(&(name.clone(), hash)).map(Vec::as_slice) {
            Some([v]) => Ok(v),
            // Two keys with one name and hash: the list has been tampered with.
            Some(_) => Err(Error::AmbiguousVerifier { name, hash }),
            None => Err(Error::UnknownVerifier { name, hash }),
        }
    }
}

/// Parses the signed note `msg` and checks its signatures by known keys.
///
/// Signatures by unknown keys are kept in [`Note::unverified_sigs`]; a bad
/// signature by a known key is an error. Repeated signatures are dropped. A
/// note no known key signed is [`Error::UnverifiedNote`], which carries it.
pub fn open(msg: &[u8], known: &(impl Verifiers + ?Sized)) -> Result<Note, Error> {
    // Valid UTF-8, without control characters other than newline.
    let msg = std::str::from_utf8(msg).map_err(|_| Error::MalformedNote)?;
    if msg.contains(|c: char| c < ' ' && c != '\n') {
        return Err(Error::MalformedNote);
    }
    // The signatures follow the last blank line.
    let split = msg.rfind("\n\n").ok_or(Error::MalformedNote)?;
    let (text, sigs) = (&msg[..split + 1], &msg[split + 2..]);
    let sigs = sigs.strip_suffix('\n').ok_or(Error::MalformedNote)?;

    let mut note = Note {
        text: text.to_owned(),
        ..Note::default()
    };
    let mut seen = HashSet::new();
    let mut seen_unverified = HashSet::new();
    for (i, line) in sigs.split('\n').enumerate() {
        let line = line.strip_prefix("— ").ok_or(Error::MalformedNote)?;
        let (name, b64) = line.split_once(' ').unwrap_or((line, ""));
        let sig = decode_base64(b64)
            .filter(|sig| sig.len() >= 5 && is_valid_name(name))
            .ok_or(Error::MalformedNote)?;
        if i >= MAX_SIGNATURES {
            return Err(Error::MalformedNote);
        }
        let hash = u32::from_be_bytes([sig[0], sig[1], sig[2], sig[3]]);
        let signature = Signature {
            name: name.to_owned(),
            hash,
            base64: b64.to_owned(),
        };

        let verifier = match known.verifier(name, hash) {
            Ok(v) => v,
            Err(Error::UnknownVerifier { .. }) => {
                if seen_unverified.insert(line) {
                    note.unverified_sigs.push(signature);
                }
                continue;
            }
            Err(e) => return Err(e),
        };
        if verifier.name() != name || verifier.key_hash() != hash {
            return Err(Error::MismatchedVerifier);
        }
        // Only the first signature by a key counts.
        if !seen.insert((name, hash)) {
            continue;
        }
        if !verifier.verify(text.as_bytes(), &sig[4..]) {
            return Err(Error::InvalidSignature {
                name: name.to_owned(),
                hash,
            });
        }
        note.sigs.push(signature);
    }

    if note.sigs.is_empty() {
        return Err(Error::UnverifiedNote(Box::new(note)));
    }
    Ok(note)
}

/// Signs `note.text` with each signer and returns the signed note.
///
/// The note's existing signatures come first, except those by one of the
/// signers' keys, which the new signatures replace.
pub fn sign(note: &Note, signers: &[&dyn Signer]) -> Result<Vec<u8>, Error> {
    if !note.text.ends_with('\n') {
        return Err(Error::MalformedNote);
    }
    let mut new_sigs = String::new();
    let mut replaced = HashSet::new();
    for signer in signers {
        let (name, hash) = (signer.name(), signer.key_hash());
        replaced.insert((name, hash));
        if !is_valid_name(name) {
            return Err(Error::InvalidSigner);
        }
        let mut sig = hash.to_be_bytes().to_vec();
        sig.extend(signer.sign(note.text.as_bytes())?);
        new_sigs.push_str(&format!("— {name} {}\n", encode_base64(&sig)));
    }

    let mut out = format!("{}\n", note.text);
    for sig in note.sigs.iter().chain(&note.unverified_sigs) {
        if !is_valid_name(&sig.name) {
            return Err(Error::MalformedNote);
        }
        if replaced.contains(&(sig.name.as_str(), sig.hash)) {
            continue;
        }
        // The line carries the hash too; they must agree.
        match decode_base64(&sig.base64) {
            Some(raw) if raw.len() >= 4 && raw[..4] == sig.hash.to_be_bytes() => {}
            _ => return Err(Error::MalformedNote),
        }
        out.push_str(&format!("— {} {}\n", sig.name, sig.base64));
    }
    out.push_str(&new_sigs);
    Ok(out.into_bytes())
}

/// A key name is non-empty, with neither Unicode spaces nor '+'.
fn is_valid_name(name: &str) -> bool {
    // char::is_whitespace and Go's unicode.IsSpace are both Unicode White_Space.
    !name.is_empty() && !name.contains(|c: char| c.is_whitespace() || c == '+')
}

fn key_hash(name: &str, key: &[u8]) -> u32 {
    let sum = Sha256::new()
        .chain_update(name)
        .chain_update("\n")
        .chain_update(key)
        .finalize();
    u32::from_be_bytes([sum[0], sum[1], sum[2], sum[3]])
}

fn public_key_bytes(key: &SigningKey) -> Vec<u8> {
    let mut bytes = vec![ALG_ED25519];
    bytes.extend_from_slice(key.verifying_key().as_bytes());
    bytes
}

/// Eight hex digits, as strconv.ParseUint(s, 16, 32) with a length check
/// reads them (from_str_radix alone would also take a leading '+').
fn parse_key_hash(s: &str) -> Option<u32> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(s, 16).ok()
}

/// Splits at the first '+'; without one, everything is before it.
fn chop(s: &str) -> (&str, &str) {
    s.split_once('+').unwrap_or((s, ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PETER_SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
    const TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                        then you don't know what your problem is.\n";
    const PETER_SIG: &str = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    const ENOCH_SIG: &str = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

    fn peter() -> Signature {
        sig(
            "PeterNeumann",
            0xc74f20a3,
            "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=",
        )
    }

    fn enoch() -> Signature {
        sig(
            "EnochRoot",
            0xaf0cfe78,
            "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=",
        )
    }

    fn sig(name: &str, hash: u32, base64: &str) -> Signature {
        Signature {
            name: name.into(),
            hash,
            base64: base64.into(),
        }
    }

    fn verifier(vkey: &str) -> Ed25519Verifier {
        Ed25519Verifier::new(vkey).unwrap()
    }

    fn list(vkeys: &[&str]) -> VerifierList<Ed25519Verifier> {
        VerifierList::new(vkeys.iter().map(|k| verifier(k)))
    }

    fn note(text: &str) -> Note {
        Note {
            text: text.into(),
            ..Note::default()
        }
    }

    /// Every proper substring and every single-byte increment of `key`.
    fn manglings(key: &str) -> Vec<Vec<u8>> {
        let b = key.as_bytes();
        let mut out = Vec::new();
        for i in 0..=b.len() {
            for j in i + 1..=b.len() {
                if i != 0 || j != b.len() {
                    out.push(b[i..j].to_vec());
                }
            }
        }
        for i in 0..b.len() {
            let mut m = b.to_vec();
            m[i] += 1;
            out.push(m);
        }
        out
    }

    // TestNewVerifier.
    #[test]
    fn new_verifier() {
        let v = verifier(PETER_VKEY);
        assert_eq!((v.name(), v.key_hash()), ("PeterNeumann", 0xc74f20a3));
        for bad in manglings(PETER_VKEY) {
            // Go feeds the bytes as a string; ours must be UTF-8, and all manglings are ASCII.
            let bad = String::from_utf8(bad).unwrap();
            assert!(Ed25519Verifier::new(&bad).is_err(), "{bad:?}");
        }
        // Wrong key length, with adjusted key hash.
        assert!(matches!(
            Ed25519Verifier::new(
                "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
            ),
            Err(Error::MalformedKey)
        ));
        // Unknown algorithm, with adjusted key hash.
        assert!(matches!(
            Ed25519Verifier::new(
                "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
            ),
            Err(Error::UnknownAlgorithm)
        ));
        assert!(matches!(
            Ed25519Verifier::new(
                "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
            ),
            Err(Error::KeyHashMismatch)
        ));
        // Go's ParseUint takes no sign; Rust's from_str_radix would.
        assert!(
            Ed25519Verifier::new(
                "PeterNeumann++74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
            )
            .is_err()
        );
        // The key of x/mod's sumdb tests and sum.golang.org's own.
        verifier("localhost.localdev/sumdb+00000c67+AcTrnkbUA+TU4heY3hkjiSES/DSQniBqIeQ/YppAUtK6");
        verifier("sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8");
    }

    // TestNewSigner.
    #[test]
    fn new_signer() {
        let s = Ed25519Signer::new(PETER_SKEY).unwrap();
        assert_eq!((s.name(), s.key_hash()), ("PeterNeumann", 0xc74f20a3));
        assert_eq!(s.verifier_key(), PETER_VKEY);
        for bad in manglings(PETER_SKEY) {
            let bad = String::from_utf8(bad).unwrap();
            assert!(Ed25519Signer::new(&bad).is_err(), "{bad:?}");
        }
        let test = Ed25519Signer::new(
            "PRIVATE+KEY+localhost.localdev/sumdb+00000c67+AXu6+oaVaOYuQOFrf1V59JK1owcFlJcHwwXHDfDGxSPk",
        )
        .unwrap();
        assert_eq!(
            test.verifier_key(),
            "localhost.localdev/sumdb+00000c67+AcTrnkbUA+TU4heY3hkjiSES/DSQniBqIeQ/YppAUtK6"
        );
    }

    fn check_signer_and_verifier(name: &str, signer: &dyn Signer, verifier: &dyn Verifier) {
        assert_eq!(signer.name(), name);
        assert_eq!(verifier.name(), name);
        assert_eq!(signer.key_hash(), verifier.key_hash());
        let mut msg = b"hi".to_vec();
        let mut sig = signer.sign(&msg).unwrap();
        assert!(verifier.verify(&msg, &sig));
        sig[0] += 1;
        assert!(!verifier.verify(&msg, &sig), "corrupt signature verified");
        sig[0] -= 1;
        msg[0] += 1;
        assert!(!verifier.verify(&msg, &sig), "corrupt message verified");
    }

    // TestGenerateKey.
    #[test]
    fn generate_key_pair() {
        let (skey, vkey) = generate_key("EnochRoot").unwrap();
        let signer = Ed25519Signer::new(&skey).unwrap();
        let verifier = Ed25519Verifier::new(&vkey).unwrap();
        check_signer_and_verifier("EnochRoot", &signer, &verifier);
        assert_eq!(signer.verifier_key(), vkey);
        assert_ne!(generate_key("EnochRoot").unwrap().0, skey);
        for bad in ["", "a+b", "a b", "a\u{2028}b"] {
            assert!(matches!(generate_key(bad), Err(Error::InvalidName(_))));
        }
    }

    // The key ExampleSign_add_signatures generates from a reader of zeros.
    #[test]
    fn zero_seed_key() {
        let signer = Ed25519Signer::new(
            "PRIVATE+KEY+EnochRoot+af0cfe78+AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        )
        .unwrap();
        assert_eq!(signer.verifier_key(), ENOCH_VKEY);
        check_signer_and_verifier("EnochRoot", &signer, &verifier(ENOCH_VKEY));

        // Opening Peter's note and adding Enoch's signature.
        let n = open(
            format!("{TEXT}\n{PETER_SIG}").as_bytes(),
            &list(&[PETER_VKEY]),
        )
        .unwrap();
        let msg = sign(&n, &[&signer]).unwrap();
        assert_eq!(
            String::from_utf8(msg).unwrap(),
            format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}")
        );
    }

    struct BadName<'a>(&'a Ed25519Signer);

    impl Signer for BadName<'_> {
        fn name(&self) -> &str {
            "bad name"
        }
        fn key_hash(&self) -> u32 {
            self.0.key_hash()
        }
        fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, Error> {
            self.0.sign(msg)
        }
    }

    #[derive(Debug, thiserror::Error)]
    #[error("surprise!")]
    struct Surprise;

    struct Failing<'a>(&'a Ed25519Signer);

    impl Signer for Failing<'_> {
        fn name(&self) -> &str {
            self.0.name()
        }
        fn key_hash(&self) -> u32 {
            self.0.key_hash()
        }
        fn sign(&self, _: &[u8]) -> Result<Vec<u8>, Error> {
            Err(Error::Other(Box::new(Surprise)))
        }
    }

    // TestSign.
    #[test]
    fn sign_notes() {
        let signer = Ed25519Signer::new(PETER_SKEY).unwrap();
        let want = format!("{TEXT}\n{PETER_SIG}");
        assert_eq!(sign(&note(TEXT), &[&signer]).unwrap(), want.as_bytes());

        // An existing signature by the same key is replaced.
        let n = Note {
            sigs: vec![sig("PeterNeumann", 0xc74f20a3, "BADSIGN=")],
            ..note(TEXT)
        };
        assert_eq!(sign(&n, &[&signer]).unwrap(), want.as_bytes());

        let err = sign(&note("abc"), &[&signer]).unwrap_err();
        assert_eq!(err.to_string(), "malformed note");
        let n = Note {
            sigs: vec![sig("a+b", 0, "ABCD")],
            ..note(TEXT)
        };
        assert_eq!(sign(&n, &[]).unwrap_err().to_string(), "malformed note");
        let n = Note {
            sigs: vec![sig("PeterNeumann", 0xc74f20a3, "BADHASH=")],
            ..note(TEXT)
        };
        assert_eq!(sign(&n, &[]).unwrap_err().to_string(), "malformed note");
        let err = sign(&note(TEXT), &[&BadName(&signer)]).unwrap_err();
        assert_eq!(err.to_string(), "invalid signer");
        let err = sign(&note(TEXT), &[&Failing(&signer)]).unwrap_err();
        assert!(matches!(err, Error::Other(e) if e.is::<Surprise>()));
    }

    // TestVerifierList.
    #[test]
    fn verifier_list() {
        let list = VerifierList::new([
            verifier(PETER_VKEY),
            verifier(ENOCH_VKEY),
            verifier(ENOCH_VKEY),
        ]);
        let v = list.verifier("PeterNeumann", 0xc74f20a3).unwrap();
        assert_eq!((v.name(), v.key_hash()), ("PeterNeumann", 0xc74f20a3));
        let msg = |name, hash| list.verifier(name, hash).err().unwrap().to_string();
        assert_eq!(
            msg("PeterNeumann", 0xc74f20a4),
            "unknown key PeterNeumann+c74f20a4"
        );
        assert_eq!(
            msg("PeterNeuman", 0xc74f20a3),
            "unknown key PeterNeuman+c74f20a3"
        );
        assert_eq!(
            msg("EnochRoot", 0xaf0cfe78),
            "ambiguous key EnochRoot+af0cfe78"
        );
    }

    /// Answers every lookup with one verifier, whatever the name and hash.
    struct Fixed(Ed25519Verifier);

    impl Verifiers for Fixed {
        fn verifier(&self, _: &str, _: u32) -> Result<&dyn Verifier, Error> {
            Ok(&self.0)
        }
    }

    // TestOpen.
    #[test]
    fn open_notes() {
        let both = format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}");

        // One signature verified, one not.
        let n = open(both.as_bytes(), &list(&[PETER_VKEY])).unwrap();
        assert_eq!(n.text, TEXT);
        assert_eq!(n.sigs, [peter()]);
        assert_eq!(n.unverified_sigs, [enoch()]);

        // Both verified.
        let n = open(both.as_bytes(), &list(&[PETER_VKEY, ENOCH_VKEY])).unwrap();
        assert_eq!(n.sigs, [peter(), enoch()]);
        assert!(n.unverified_sigs.is_empty());

        // Both unverified: the note is in the error.
        let err = open(both.as_bytes(), &list(&[])).unwrap_err();
        assert_eq!(err.to_string(), "note has no verifiable signatures");
        let Error::UnverifiedNote(n) = err else {
            panic!("want UnverifiedNote, got {err:?}");
        };
        assert!(n.sigs.is_empty());
        assert_eq!(n.unverified_sigs, [peter(), enoch()]);

        // A duplicated verifier that is used, and one that is not.
        let dup = list(&[ENOCH_VKEY, PETER_VKEY, ENOCH_VKEY]);
        let err = open(format!("{TEXT}\n{ENOCH_SIG}").as_bytes(), &dup).unwrap_err();
        assert_eq!(err.to_string(), "ambiguous key EnochRoot+af0cfe78");
        open(format!("{TEXT}\n{PETER_SIG}").as_bytes(), &dup).unwrap();

        // Too many signatures, verified or not.
        let many = format!("{TEXT}\n{}", PETER_SIG.repeat(101));
        for known in [list(&[PETER_VKEY]), list(&[])] {
            let err = open(many.as_bytes(), &known).unwrap_err();
            assert_eq!(err.to_string(), "malformed note");
        }
        let enough = format!("{TEXT}\n{}", PETER_SIG.repeat(100));
        assert_eq!(
            open(enough.as_bytes(), &list(&[PETER_VKEY])).unwrap().sigs,
            [peter()]
        );

        // Invalid signature. Offset 60 is a byte offset, past the em dash.
        let corrupt = |s: &str| format!("{}ABCD{}", &s[..60], &s[60..]);
        let err = open(
            format!("{TEXT}\n{}", corrupt(PETER_SIG)).as_bytes(),
            &list(&[PETER_VKEY]),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid signature for key PeterNeumann+c74f20a3"
        );

        // Repeated verified and unverified signatures are dropped.
        let enoch_abcd = sig(
            "EnochRoot",
            0xaf0cfe78,
            "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5nABCD2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=",
        );
        let msg = format!(
            "{TEXT}\n{PETER_SIG}{PETER_SIG}{ENOCH_SIG}{ENOCH_SIG}{}",
            corrupt(ENOCH_SIG)
        );
        let n = open(msg.as_bytes(), &list(&[PETER_VKEY])).unwrap();
        assert_eq!(n.sigs, [peter()]);
        assert_eq!(n.unverified_sigs, [enoch(), enoch_abcd]);

        // Malformed messages.
        let bad_msgs = [
            TEXT.to_owned(),
            format!("{TEXT}\n"),
            format!("{TEXT}\n{}", &PETER_SIG[..PETER_SIG.len() - 1]),
            format!("\x01{TEXT}\n{PETER_SIG}"),
            format!(
                "{TEXT}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
            ),
            format!("{TEXT}\n{PETER_SIG}Unexpected line.\n"),
            format!("{TEXT}\n{PETER_SIG}\n"),
            format!("{TEXT}\n— PeterNeumann\n"),
            format!("{TEXT}\n— PeterNeumann \n"),
            format!("{TEXT}\n— PeterNeumann AAAAAA==\n"),
        ];
        let mut bad_msgs: Vec<Vec<u8>> = bad_msgs.into_iter().map(String::into_bytes).collect();
        bad_msgs.push([b"\xff", TEXT.as_bytes(), b"\n", PETER_SIG.as_bytes()].concat());
        for msg in bad_msgs {
            let err = open(&msg, &list(&[PETER_VKEY])).unwrap_err();
            assert_eq!(err.to_string(), "malformed note", "{msg:?}");
        }

        // A Verifiers that answers with the wrong key.
        let fixed = Fixed(verifier(PETER_VKEY));
        for msg in [
            PETER_SIG.replace("PeterNeumann", "CarmenSandiego"),
            PETER_SIG.replace("x08g", "xxxx"),
        ] {
            let err = open(format!("{TEXT}\n{msg}").as_bytes(), &fixed).unwrap_err();
            assert!(matches!(err, Error::MismatchedVerifier), "{err:?}");
        }
    }

    // ExampleOpen, with the signature of x/mod's example.
    #[test]
    fn example_open() {
        let n = open(
            format!("{TEXT}\n{PETER_SIG}").as_bytes(),
            &list(&[PETER_VKEY]),
        )
        .unwrap();
        assert_eq!(
            format!("{} ({:08x}):\n{}", n.sigs[0].name, n.sigs[0].hash, n.text),
            format!("PeterNeumann (c74f20a3):\n{TEXT}")
        );
    }

    #[test]
    fn no_panics_on_arbitrary_input() {
        let pieces = [
            "—",
            " ",
            "\n",
            "\n\n",
            "+",
            "PRIVATE",
            "KEY",
            "PeterNeumann",
            "c74f20a3",
            "A",
            "AQ==",
            "=",
            "é",
            "\u{FFFD}",
            "\0",
            "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=",
        ];
        let known = list(&[PETER_VKEY]);
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        for _ in 0..20_000 {
            let s: String = (0..next(12)).map(|_| pieces[next(pieces.len())]).collect();
            let _ = (Ed25519Verifier::new(&s), Ed25519Signer::new(&s));
            let _ = open(s.as_bytes(), &known);
            let _ = open(&s.as_bytes()[..s.len().saturating_sub(1)], &known);
        }
    }
}
