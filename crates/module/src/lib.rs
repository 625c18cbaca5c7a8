//! Go module paths and versions, following the rules of golang.org/x/mod.
//!
//! The go command is the reference: whatever it accepts or rejects as a
//! module path, version, escaped proxy URL component or go.mod file, so do
//! these functions. None of them panics, whatever the input.

pub mod error;
pub mod escape;
pub mod goproxy;
pub mod gosum;
pub mod info;
pub mod modfile;
pub mod mvs;
pub mod osv;
pub mod path;
pub mod pattern;
pub mod pseudo;
pub mod semver;
mod unicode_tables;
pub mod version;
pub mod vulndb;

pub use error::{Error, PathKind};
pub use escape::{escape_path, escape_version, unescape_path, unescape_version};
pub use info::{Info, Origin};
pub use path::{check_file_path, check_import_path, check_path};
pub use pseudo::PseudoTime;
pub use version::{check, is_canonical};

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds every public function strings mixing ASCII syntax with NUL,
    /// multi-byte characters and U+FFFD at all positions, to show that none
    /// of them panics (e.g. by slicing inside a character); a panic fails the test.
    #[test]
    fn no_panics_on_arbitrary_input() {
        let pieces = [
            "v",
            "1",
            "0",
            ".",
            "-",
            "+",
            "/",
            "!",
            "a",
            "Z",
            "~",
            "gopkg.in/",
            ".v",
            "-unstable",
            "incompatible",
            "20060102150405",
            "\0",
            "é",
            "€",
            "😀",
            "\u{FFFD}",
            "\u{200B}",
            "\\",
            "\"",
            "`",
            "(",
            ")",
            "\n",
            "//",
            "/*",
            "module ",
            " ",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let time = PseudoTime {
            year: 2006,
            month: 1,
            day: 2,
            hour: 15,
            minute: 4,
            second: 5,
        };
        for _ in 0..20_000 {
            let s: String = (0..next(9)).map(|_| pieces[next(pieces.len())]).collect();
            let t: String = (0..next(5)).map(|_| pieces[next(pieces.len())]).collect();
            let _ = (
                semver::is_valid(&s),
                semver::canonical(&s),
                semver::major(&s),
            );
            let _ = (
                semver::major_minor(&s),
                semver::prerelease(&s),
                semver::build(&s),
            );
            let _ = (semver::compare(&s, &t), semver::max(&s, &t));
            let _ = (check_path(&s), check_import_path(&s), check_file_path(&s));
            let _ = (path::split_path_version(&s), path::check_path_major(&s, &t));
            let _ = (
                check(&s, &t),
                is_canonical(&s),
                version::canonical_version(&s),
            );
            let _ = (
                escape_path(&s),
                unescape_path(&s),
                escape_version(&s),
                unescape_version(&s),
            );
            let _ = (
                pseudo::is_pseudo_version(&s),
                pseudo::pseudo_version_base(&s),
            );
            let _ = (
                pseudo::pseudo_version_time(&s),
                pseudo::pseudo_version_rev(&s),
            );
            let _ = pseudo::pseudo_version(&t, &s, time, &t);
            let _ = (
                modfile::module_path(s.as_bytes()),
                modfile::check_syntax(s.as_bytes()),
            );
            // Truncating mid-character gives invalid UTF-8 for the byte-level readers.
            let cut = &s.as_bytes()[..s.len().saturating_sub(1)];
            let _ = (modfile::module_path(cut), modfile::check_syntax(cut));
        }
    }
}
