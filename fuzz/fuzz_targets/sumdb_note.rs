//! Signed notes (tree heads, bundle signatures) and the keys that verify them.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use modgate_sumdb::note::{self, Ed25519Signer, Ed25519Verifier, VerifierList};

/// The signer of the tests' local checksum database.
const SKEY: &str =
    "PRIVATE+KEY+localhost.localdev/sumdb+00000c67+AXu6+oaVaOYuQOFrf1V59JK1owcFlJcHwwXHDfDGxSPk";

static KNOWN: LazyLock<VerifierList<Ed25519Verifier>> = LazyLock::new(|| {
    let vkey = Ed25519Signer::new(SKEY).expect("test key").verifier_key();
    VerifierList::new([Ed25519Verifier::new(&vkey).expect("its verifier")])
});

fuzz_target!(|data: &[u8]| {
    match note::open(data, &*KNOWN) {
        Ok(opened) => {
            // A verified note is well-formed text that signing again reproduces.
            assert!(opened.text.ends_with('\n'));
            let signer = Ed25519Signer::new(SKEY).expect("test key");
            assert_eq!(opened.sigs.len(), 1, "one known key");
            let again = note::sign(
                &note::Note {
                    text: opened.text.clone(),
                    ..note::Note::default()
                },
                &[&signer],
            )
            .expect("a note that opened signs");
            note::open(&again, &*KNOWN).expect("a freshly signed note opens");
        }
        Err(modgate_sumdb::Error::UnverifiedNote(n)) => assert!(n.sigs.is_empty()),
        Err(_) => {}
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = (Ed25519Verifier::new(text), Ed25519Signer::new(text));
    }
});
