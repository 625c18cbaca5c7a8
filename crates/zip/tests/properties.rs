//! Properties of the module zip check on hostile zips, as the zip_check
//! fuzz target in fuzz/ checks them, for a few hundred cases in every run.

use std::io::Cursor;
use std::sync::LazyLock;

use modgate_zip::{MAX_ZIP_FILE, ZipFile, check_zip_reader, create_zip};
use proptest::prelude::*;

const MODULE: &str = "example.com/m";
const VERSION: &str = "v1.0.0";

/// A valid zip of a few files, to corrupt.
static ZIP: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let files = [
        ("go.mod", "module example.com/m\n\ngo 1.21\n"),
        ("LICENSE", "public domain\n"),
        ("m.go", "package m\n\nfunc F() int { return 1 }\n"),
        ("sub/dir/s.go", "package dir\n"),
    ]
    .map(|(path, content)| ZipFile {
        path: path.to_owned(),
        size: content.len() as u64,
        content: Some(content.as_bytes()),
    });
    let mut zip = Cursor::new(Vec::new());
    create_zip(&mut zip, MODULE, VERSION, files, Some("1.21")).unwrap();
    zip.into_inner()
});

fn check(data: &[u8]) -> Result<modgate_zip::CheckedZip, modgate_zip::Error> {
    check_zip_reader(Cursor::new(data), data.len() as u64, MODULE, VERSION)
}

/// A change to the valid zip: bytes overwritten, or the zip cut short.
#[derive(Debug, Clone)]
enum Corruption {
    Write(Vec<(prop::sample::Index, u8)>),
    Truncate(prop::sample::Index),
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn corrupt_zips_are_refused_or_hash_their_bytes(
        corruption in prop_oneof![
            prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)
                .prop_map(Corruption::Write),
            any::<prop::sample::Index>().prop_map(Corruption::Truncate),
        ]
    ) {
        let mut data = ZIP.clone();
        match corruption {
            Corruption::Write(writes) => {
                for (at, b) in writes {
                    let at = at.index(data.len());
                    data[at] = b;
                }
            }
            Corruption::Truncate(at) => data.truncate(at.index(data.len())),
        }
        if let Ok(checked) = check(&data) {
            prop_assert!(checked.h1.starts_with("h1:"));
            prop_assert!(checked.uncompressed_size <= MAX_ZIP_FILE);
        }
    }

    #[test]
    fn arbitrary_bytes_are_refused(data in prop::collection::vec(any::<u8>(), 0..512)) {
        prop_assert!(check(&data).is_err());
    }
}

#[test]
fn the_valid_zip_checks() {
    assert_eq!(check(&ZIP).unwrap().files, 4);
}
