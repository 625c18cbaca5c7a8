//! How an error is shown to a client or in a log: its message, then each
//! cause's, `a: b: c`. modgate's errors name only what failed and keep the
//! why in `source()`, so showing an error means showing its chain.

use std::error::Error;
use std::fmt;

/// `e` and its causes, `a: b: c`, each said once: a cause whose words are
/// already said (foreign errors such as io or HTTP ones that quote their
/// source and also return it) is not repeated.
pub struct Chain<'a>(pub &'a (dyn Error + 'a));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut said = self.0.to_string();
        let mut source = self.0.source();
        while let Some(cause) = source {
            let text = cause.to_string();
            if !said.contains(&text) {
                said.push_str(": ");
                said.push_str(&text);
            }
            source = cause.source();
        }
        f.write_str(&said)
    }
}

/// For tests of error types: the first error in `e`'s chain whose message
/// repeats its source's (`"storing x: disk full"` with source `"disk full"`),
/// as `Err("<message>" repeats its source "<source>")`.
pub fn says_each_thing_once(e: &dyn Error) -> Result<(), String> {
    let mut outer = (e.to_string(), e.source());
    while let (text, Some(source)) = outer {
        let cause = source.to_string();
        if !cause.is_empty() && text.contains(&cause) {
            return Err(format!("{text:?} repeats its source {cause:?}"));
        }
        outer = (cause, source.source());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Wrap(&'static str, Option<std::io::Error>);

    impl fmt::Display for Wrap {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl Error for Wrap {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            self.1.as_ref().map(|e| e as _)
        }
    }

    fn disk_full() -> Option<std::io::Error> {
        Some(std::io::Error::other("disk full"))
    }

    #[test]
    fn shows_each_cause_once() {
        assert_eq!(
            Chain(&Wrap("storing m@v1.0.0.zip", disk_full())).to_string(),
            "storing m@v1.0.0.zip: disk full"
        );
        assert_eq!(
            Chain(&Wrap("storing: disk full", disk_full())).to_string(),
            "storing: disk full"
        );
        assert_eq!(Chain(&Wrap("no cause", None)).to_string(), "no cause");
    }

    #[test]
    fn finds_a_message_that_repeats_its_source() {
        assert_eq!(
            says_each_thing_once(&Wrap("storing: disk full", disk_full())),
            Err(r#""storing: disk full" repeats its source "disk full""#.to_owned())
        );
        assert_eq!(says_each_thing_once(&Wrap("storing", disk_full())), Ok(()));
        assert_eq!(says_each_thing_once(&Wrap("no cause", None)), Ok(()));
    }
}
